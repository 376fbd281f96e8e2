"""Every retriever behind the one interface: shapes, unknown movies, cold histories, top-k, plain-array round trip."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from movierec.retrievers import LOWEST, RETRIEVERS, History, histories_of, make_retriever
from movierec.retrievers.base import Retriever
from movierec.retrievers.source import Queries

NAMES = sorted(RETRIEVERS)


def fitted(name: str, world) -> Retriever:
    split, space = world
    return make_retriever(name).index(split.train, space)


@pytest.fixture(scope="module")
def retrievers(world):
    return {name: fitted(name, world) for name in NAMES}


def some_histories(world) -> list[History]:
    split, _ = world
    users = split.test["user_id"].drop_duplicates().to_numpy()[:6]
    return [*histories_of(split.train, users), History.empty(), History([split.test["movie_id"].iloc[0]], [4.0])]


def test_registry_names_the_seven_methods():
    assert set(RETRIEVERS) == {"popularity", "bias", "item_knn", "user_knn", "mf", "ease", "transitions"}
    assert all(cls.name == name for name, cls in RETRIEVERS.items())
    with pytest.raises(ValueError, match="unknown retriever 'svd'.*item_knn"):
        make_retriever("svd")


@pytest.mark.parametrize("name", NAMES)
def test_scores_shape_and_unknown_movies_lowest(name, retrievers, world):
    retriever, (split, space) = retrievers[name], world
    histories = some_histories(world)
    scores = retriever.scores(Queries.of(histories, space))
    assert scores.shape == (len(histories), space.n_catalog) and scores.dtype == np.float32
    unseen = ~np.isin(space.catalog_ids.classes_, split.train["movie_id"].to_numpy())
    assert unseen.any()  # the synthetic catalogue has movies nobody rated in the training period
    assert np.all(scores[:, unseen] == LOWEST)
    assert np.all(scores[:, ~unseen] > LOWEST) and np.all(np.isfinite(scores))


@pytest.mark.parametrize("name", NAMES)
def test_one_history_alone_scores_as_in_a_batch(name, retrievers, world):
    retriever, (_, space) = retrievers[name], world
    histories = some_histories(world)
    together = retriever.scores(Queries.of(histories, space))
    for i, history in enumerate(histories):  # one history takes the served path (movierec.retrievers.history.times)
        np.testing.assert_allclose(retriever.scores(Queries.of([history], space))[0], together[i], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_top_k_excludes_rated_best_first(name, retrievers, world):
    retriever, (_, space) = retrievers[name], world
    histories = some_histories(world)
    rows, values = retriever.top_k(Queries.of(histories, space), 25)
    scores = retriever.scores(Queries.of(histories, space))
    assert rows.shape == values.shape == (len(histories), 25)
    for i, history in enumerate(histories):
        rated = set(space.catalog_rows(history.movie_ids).tolist())
        assert not rated & set(rows[i].tolist())
        assert np.all(np.diff(values[i]) <= 0)
        assert np.array_equal(values[i], scores[i, rows[i]])
        # nothing eligible outside the list scores higher than its last entry
        outside = np.setdiff1d(np.arange(scores.shape[1]), [*rows[i], *rated])
        assert scores[i, outside].max() <= values[i, -1]
    kept, _ = retriever.top_k(Queries.of(histories, space), 25, exclude_rated=False)
    assert np.array_equal(kept, np.argsort(-scores, axis=1, kind="stable")[:, :25])


@pytest.mark.parametrize("name", ["item_knn", "user_knn", "mf", "ease", "popularity"])
def test_empty_history_falls_back_to_popularity(name, retrievers, world):
    split, space = world
    rows, _ = retrievers[name].top_k(Queries.of([History.empty()], space), 30)
    counts = np.bincount(space.catalog_rows(split.train["movie_id"].to_numpy()), minlength=space.n_catalog)
    assert rows[0].tolist() == np.argsort(-counts, kind="stable")[:30].tolist()
    # a history of movies unknown to training is no evidence either
    unseen = np.setdiff1d(space.catalog_ids.classes_, split.train["movie_id"].to_numpy())[:2]
    assert np.array_equal(
        retrievers[name].top_k(Queries.of([History(unseen, [5.0, 4.0])], space), 30)[0][0][:5], rows[0][:5]
    )


def test_cf_methods_use_the_history(retrievers, world):
    """Histories change the list (unlike popularity), and a user's own genre taste comes out first."""
    split, space = world
    histories = some_histories(world)[:6]
    for name in ("item_knn", "user_knn", "mf", "ease", "transitions"):
        rows, _ = retrievers[name].top_k(Queries.of(histories, space), 10)
        assert len({tuple(r) for r in rows.tolist()}) > 1, name
    popular, _ = retrievers["popularity"].top_k(Queries.of(histories, space), 10, exclude_rated=False)
    assert len({tuple(r) for r in popular.tolist()}) == 1


@pytest.mark.parametrize("name", NAMES)
def test_plain_arrays_round_trip(name, retrievers, world):
    retriever, (_, space) = retrievers[name], world
    arrays = retriever.to_arrays()
    assert all(isinstance(v, np.ndarray) and v.dtype != object for v in arrays.values())
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as stored:
        again = type(retriever).from_arrays(dict(stored), space)
    histories = some_histories(world)
    assert np.array_equal(again.scores(Queries.of(histories, space)), retriever.scores(Queries.of(histories, space)))


def test_from_arrays_refuses_bad_arrays(retrievers, world):
    space = world[1]
    arrays = retrievers["item_knn"].to_arrays()
    with pytest.raises(ValueError, match="arrays are of retriever 'item_knn', not 'ease'"):
        RETRIEVERS["ease"].from_arrays(arrays, space)
    with pytest.raises(ValueError, match="lack 'neighbour_sims'"):
        RETRIEVERS["item_knn"].from_arrays({k: v for k, v in arrays.items() if k != "neighbour_sims"}, space)
    with pytest.raises(ValueError, match="'popularity' has shape"):
        RETRIEVERS["item_knn"].from_arrays({**arrays, "popularity": arrays["popularity"][:-1]}, space)
    with pytest.raises(ValueError, match="outside"):
        RETRIEVERS["item_knn"].from_arrays({**arrays, "neighbour_rows": arrays["neighbour_rows"] + 10_000}, space)
    ease = retrievers["ease"].to_arrays()
    with pytest.raises(ValueError, match="'weights' has shape"):
        RETRIEVERS["ease"].from_arrays({**ease, "weights": ease["weights"][:5]}, space)
    chain = retrievers["transitions"].to_arrays()
    with pytest.raises(ValueError, match="'indptr' does not describe"):
        RETRIEVERS["transitions"].from_arrays({**chain, "indptr": chain["indptr"] * 2}, space)
    with pytest.raises(ValueError, match="'indices' holds rows outside"):
        RETRIEVERS["transitions"].from_arrays({**chain, "indices": chain["indices"] + 10_000}, space)
    with pytest.raises(ValueError, match="'values' must hold finite numbers"):
        RETRIEVERS["transitions"].from_arrays({**chain, "values": -chain["values"]}, space)
    with pytest.raises(ValueError, match="lags and window must be at least 1, got 3 and 0"):  # stored settings too
        RETRIEVERS["transitions"].from_arrays({**chain, "window": np.array(0)}, space)
    with pytest.raises(ValueError, match=r"decay and lag_decay must be in \(0, 1\]"):
        RETRIEVERS["transitions"].from_arrays({**chain, "decay": np.array(np.nan)}, space)


def test_bad_input_gets_clear_errors(retrievers, world):
    split, space = world
    retriever = retrievers["item_knn"]
    with pytest.raises(ValueError, match="movie_id 999999 in history 1 is not in the catalogue"):
        Queries.of([History.empty(), History([999999], [4.0])], space)
    with pytest.raises(TypeError, match="history 0 is a list"):
        Queries.of([[1, 2]], space)
    with pytest.raises(ValueError, match="k must be a positive integer"):
        retriever.top_k(Queries.of([History.empty()], space), 0)
    with pytest.raises(ValueError, match="one rating per movie"):
        History([1, 2], [4.0])
    with pytest.raises(ValueError, match="finite"):
        History([1], [float("nan")])
    with pytest.raises(ValueError, match="integers"):
        History(["a"], [4.0])
    with pytest.raises(RuntimeError, match="not indexed"):
        make_retriever("ease").scores(Queries.of([History.empty()], space))
    with pytest.raises(ValueError, match=r"lack the column\(s\) \['rating'\]"):
        make_retriever("mf").index(split.train.drop(columns="rating"), space)
    with pytest.raises(ValueError, match="empty training set"):
        make_retriever("mf").index(split.train.iloc[:0], space)
    stranger = pd.DataFrame({"user_id": [1], "movie_id": [999999], "rating": [4]})
    with pytest.raises(ValueError, match="training movie_id 999999 is not in the catalogue"):
        make_retriever("popularity").index(stranger, space)


def test_top_k_pads_when_too_few_movies_are_left(small):
    train, space, m = small
    retriever = make_retriever("item_knn").index(train, space)
    rows, values = retriever.top_k(Queries.of([History(m[:5], [4.0] * 5)], space), 3)
    assert rows.tolist() == [[5, -1, -1]]  # only the movie never rated in training is left, and it comes last
    assert values[0, 0] == LOWEST and np.all(np.isneginf(values[0, 1:]))


def test_histories_of_keeps_order_and_gives_empty_histories(small):
    train, _, m = small
    first, nobody = histories_of(train, [1, 77])
    assert first.movie_ids.tolist() == m[:3] and first.ratings.tolist() == [5.0, 4.0, 2.0]
    assert len(nobody) == 0


@pytest.mark.parametrize("histories", [[[3, 1, 3]], [[3, 1, 3], [], [0, 4]], [[]]])
def test_batch_times_a_matrix_is_its_binary_product(histories):
    from movierec.retrievers.history import HistoryBatch

    matrix = np.random.default_rng(0).standard_normal((5, 7)).astype(np.float32)
    batch = HistoryBatch.of(
        [History(np.array(h, np.int64), np.ones(len(h), np.float32)) for h in histories], lambda ids: ids
    )
    np.testing.assert_allclose(batch.times(matrix), batch.binary(5) @ matrix, rtol=1e-6, atol=1e-6)
