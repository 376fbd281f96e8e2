"""Training batches: every row once per epoch in a seeded order, aligned rows, and no tf.data autotuning."""

from __future__ import annotations

import numpy as np
import pytest
from keras.src.trainers.data_adapters.py_dataset_adapter import PyDatasetAdapter

from movierec.data.split import chronological_split
from movierec.features.pairs import ranking_inputs
from movierec.features.space import FeatureSpace
from training.datasets import RankerRows, RankingBatches, WindowBatches


def windows(n: int = 10, batch_size: int = 4, seed: int = 3) -> WindowBatches:
    rows = np.arange(n)
    inputs = {"a": rows.astype(np.int32), "b": np.stack([rows, -rows], axis=1).astype(np.float32)}
    return WindowBatches(inputs, (rows * 10).astype(np.int32), (rows / 10).astype(np.float32), batch_size, seed)


def epoch_rows(batches: WindowBatches) -> list[np.ndarray]:
    return [batches[i][0]["a"] for i in range(len(batches))]


def test_every_row_once_per_epoch_in_a_seeded_order_that_changes_each_epoch():
    batches = windows()
    assert len(batches) == 3
    first = epoch_rows(batches)
    assert sorted(np.concatenate(first).tolist()) == list(range(10))
    assert [len(rows) for rows in first] == [4, 4, 2]
    assert [rows.tolist() for rows in epoch_rows(windows())] == [rows.tolist() for rows in first]  # same seed
    batches.on_epoch_end()
    second = epoch_rows(batches)
    assert sorted(np.concatenate(second).tolist()) == list(range(10))
    assert np.concatenate(second).tolist() != np.concatenate(first).tolist()
    other = epoch_rows(windows(seed=4))
    assert np.concatenate(other).tolist() != np.concatenate(first).tolist()


def test_window_batches_keep_inputs_targets_and_weights_of_one_row_together():
    batches = windows()
    for i in range(len(batches)):
        inputs, targets, weights = batches[i]
        rows = inputs["a"]
        np.testing.assert_array_equal(inputs["b"], np.stack([rows, -rows], axis=1))
        np.testing.assert_array_equal(targets, rows * 10)
        np.testing.assert_allclose(weights, rows / 10)


def test_keras_feeds_the_batches_without_tf_data_autotuning():
    """Autotuning's thread held each dropped epoch iterator for its timed sleep (training.datasets.BATCH_WORKERS)."""
    dataset = PyDatasetAdapter(windows(), shuffle=False).get_tf_dataset()
    assert dataset.options().autotune.enabled is False


def row_tower(inputs: dict) -> np.ndarray:
    """A stand-in for the frozen user tower: a different vector for every different input row it reads."""
    columns = [inputs["user_id"], inputs["history_movies"].sum(1), inputs["history_ratings"].sum(1)]
    return np.column_stack([*columns, inputs["example_age"], inputs["user_numeric"][:, 0]]).astype(np.float32)


def test_ranking_batches_hold_what_building_each_batch_through_the_feature_space_gives(synthetic_data):
    """Vectors and user inputs computed once per row, known and cold, then picked by each batch's seeded draw, are
    those of the batch built afresh (the draw, the target left out of the history, the example's age)."""
    train = chronological_split(synthetic_data.ratings).train
    space = FeatureSpace.fit(
        train, synthetic_data.users, synthetic_data.movies, history_length=6, description=synthetic_data.description
    )
    movie_vectors = np.random.default_rng(0).random((space.n_catalog, 4)).astype(np.float32)
    batches = RankingBatches(
        space, train, 64, seed=1, cold_rate=0.3, user_vectors_fn=row_tower, movie_vectors=movie_vectors
    )
    users, movies = train["user_id"].to_numpy(), train["movie_id"].to_numpy()
    cold_rows = 0
    for _ in range(2):
        for i in range(len(batches)):
            inputs, ratings = batches[i]
            idx, rng = batches._batch(i)
            cold = rng.random(len(idx)) < 0.3
            cold_rows += int(cold.sum())
            fresh = space.user_inputs(
                users[idx], exclude_movie_ids=movies[idx], cold=cold, timestamps=train["timestamp"].to_numpy()[idx]
            )
            expected = ranking_inputs(space, fresh, row_tower(fresh), space.catalog_rows(movies[idx]), movie_vectors)
            assert set(inputs) == set(expected)
            for key, value in expected.items():
                np.testing.assert_array_equal(inputs[key], value, err_msg=key)
            np.testing.assert_array_equal(ratings, train["rating"].to_numpy()[idx])
        batches.on_epoch_end()
    assert 0 < cold_rows < 2 * len(train)


def test_ranker_rows_computed_once_for_a_period_are_those_of_each_part(synthetic_data):
    """fit_ranker computes every training row's vectors once and cuts them for the fit part and the validation
    slice: each part's rows must be what computing them for that part alone gives."""
    train = chronological_split(synthetic_data.ratings).train
    space = FeatureSpace.fit(
        train, synthetic_data.users, synthetic_data.movies, history_length=6, description=synthetic_data.description
    )
    every = RankerRows.compute(space, train, row_tower, cold=True, chunk=50)
    late = np.flatnonzero(train["timestamp"].to_numpy() > np.quantile(train["timestamp"], 0.8))
    part = RankerRows.compute(space, train.iloc[late], row_tower, cold=True, chunk=64)
    taken = every.take(late)
    for side in ("known", "cold"):
        for key, value in getattr(part, side).items():
            np.testing.assert_array_equal(getattr(taken, side)[key], value, err_msg=f"{side} {key}")
    assert every.take(late, cold=False).cold is None
    with pytest.raises(ValueError, match="do not match"):
        RankingBatches(
            space, train, 64, 1, 0.3, row_tower, np.zeros((space.n_catalog, 4), np.float32), precomputed=taken
        )
