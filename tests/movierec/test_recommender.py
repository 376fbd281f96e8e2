"""The recommender's user contexts: dataset users, their live ratings on top of the training history, new users."""

import numpy as np
import pytest

from movierec.artifacts import load_bundle, recommender_from_bundle
from movierec.config import TrainConfig
from movierec.retrievers.history import HistoryBatch


@pytest.fixture(scope="module")
def rec(synthetic_bundle):
    return recommender_from_bundle(load_bundle(synthetic_bundle))


def one_history(user) -> HistoryBatch:
    return HistoryBatch.one(user.history_rows, user.history_ratings)


def warm_user(rec) -> int:
    counts = {int(u): len(rec.history(int(u))[0]) for u in rec.users["user_id"]}
    return max(counts, key=counts.get)


def test_live_ratings_follow_the_training_history(rec):
    uid = warm_user(rec)
    plain = rec.known_user(uid)
    rows, ratings = rec.history(uid)
    # the same history rebuilt through the live path gives the same vector as the precomputed one
    same = rec.known_user(uid, live=[])
    np.testing.assert_allclose(same.vector, plain.vector)
    unseen = [m for m in rec.movies["movie_id"] if rec.space.catalog_rows([m])[0] not in set(rows)][:3]
    live = rec.known_user(uid, live=[(m, 5.0) for m in unseen])
    assert live.user_id == uid and live.demographics == plain.demographics
    assert not np.allclose(live.vector, plain.vector)  # the vector follows the new ratings
    assert list(live.history_rows[-3:]) == list(rec.space.catalog_rows(unseen))  # newest last
    assert len(live.history_rows) == len(rows) + 3
    assert live.inputs["user_id"][0] == plain.inputs["user_id"][0] != 0  # still the known user's id embedding
    shown = {r.movie_id for r in rec.recommend(live, rec.space.n_catalog, 50)}
    assert not shown & set(unseen)  # live-rated movies are excluded like seen ones


def test_live_rating_of_a_training_movie_replaces_it(rec):
    uid = warm_user(rec)
    rows, ratings = rec.history(uid)
    first = int(rec.movies["movie_id"].iloc[rows[0]])
    new = 1.0 if ratings[0] >= 3 else 5.0
    user = rec.known_user(uid, live=[(first, new)])
    assert len(user.history_rows) == len(rows)
    assert user.history_rows[-1] == rows[0] and user.history_ratings[-1] == new


def test_new_user_with_id_label_is_an_unknown_user_to_the_model(rec):
    movie = int(rec.movies["movie_id"].iloc[0])
    user = rec.new_user("F", 25, 12, [(movie, 4.0)], user_id=10**6)
    assert user.user_id == 10**6 and user.inputs["user_id"][0] == 0
    with pytest.raises(KeyError, match="not in the catalogue"):
        rec.new_user(None, None, None, [(10**8, 4.0)])
    with pytest.raises(KeyError, match="not a dataset user"):
        rec.known_user(10**8)


def test_in_batches_gives_one_row_inputs_whole_to_every_batch():
    from movierec.recommender import in_batches

    seen = []

    def model(inputs):
        seen.append({k: len(v) for k, v in inputs.items()})
        return inputs["movie"] * inputs["user"][0]

    inputs = {"user": np.array([2.0]), "movie": np.arange(7.0)}
    np.testing.assert_array_equal(in_batches(model, inputs, 3), np.arange(7.0) * 2)
    assert seen == [{"user": 1, "movie": 3}, {"user": 1, "movie": 3}, {"user": 1, "movie": 1}]


def test_one_user_against_many_movies_matches_the_same_pairs_row_by_row(rec):
    """Serving sends the ranker one user row for all candidates; it must predict what aligned pairs predict, in
    one batch or in many."""
    user = rec.known_user(int(rec.users["user_id"].iloc[0]))
    rows = np.arange(rec.space.n_catalog)
    pair_inputs, pair_vectors = rec.pair_user_inputs(user.inputs, user.vector, np.zeros(len(rows), np.int64))
    aligned = rec.predict_ratings(pair_inputs, pair_vectors, rows)
    np.testing.assert_allclose(rec.predict_ratings(user.inputs, user.vector, rows), aligned, atol=1e-5)
    np.testing.assert_allclose(rec.predict_ratings(user.inputs, user.vector, rows, batch_size=7), aligned, atol=1e-5)


def test_users_with_live_ratings_are_retrieved_with_the_live_weight(rec):
    """Ratings given after the training cut-off (live, or a new user's) switch retrieval to the live weight; the
    training history alone keeps the trained weight; the ranker reads the unscaled vector either way."""
    assert rec.live_weight is not None and rec.live_weight.live_weight != rec.live_weight.weight
    uid = warm_user(rec)
    rows, _ = rec.history(uid)
    unseen = [m for m in rec.movies["movie_id"] if rec.space.catalog_rows([m])[0] not in set(rows)][:2]
    assert not rec.known_user(uid).live and not rec.known_user(uid, live=[]).live
    assert not rec.new_user("F", 25, 12).live and rec.new_user("F", 25, 12, [(unseen[0], 4.0)]).live
    user = rec.known_user(uid, live=[(m, 5.0) for m in unseen])
    assert user.live
    live_scores = rec.movie_vectors @ rec.live_weight.rescale(user.vector, [True])[0]
    assert not np.allclose(live_scores, rec.movie_vectors @ user.vector[0])
    live_scores = live_scores + rec.transitions.scores(one_history(user))[0]
    top = rec.recommend(user, 50, 10)
    rows_of = rec.space.catalog_rows([r.movie_id for r in top])
    np.testing.assert_allclose([r.retrieval_score for r in top], live_scores[rows_of], atol=1e-5)
    np.testing.assert_allclose(
        [r.predicted_rating for r in top], rec.predict_ratings(user.inputs, user.vector, rows_of), atol=1e-5
    )


def test_retrieval_adds_the_transition_term_of_live_users_latest_ratings(rec):
    """The bundle's transition term (its saved transitions peer, weighted) is added to the towers' score of a user
    with live ratings: their latest ratings lift what followed them in training. A user forecast from the training
    period gets the recent-popularity term instead."""
    assert rec.transitions is not None and rec.transitions.retriever is rec.peers["transitions"]
    uid = warm_user(rec)
    plain = rec.known_user(uid)
    top = rec.recommend(plain, 50, 10)
    rows = rec.space.catalog_rows([r.movie_id for r in top])
    forecast = rec.movie_vectors @ plain.vector[0] + rec.popularity.scores([False])[0]
    np.testing.assert_allclose([r.retrieval_score for r in top], forecast[rows], atol=1e-5)
    rated = set(plain.history_rows.tolist())
    unseen = [m for m in rec.movies["movie_id"] if rec.space.catalog_rows([m])[0] not in rated][:2]
    user = rec.known_user(uid, live=[(m, 4.0) for m in unseen])
    term = rec.transitions.scores(one_history(user))[0]
    assert term.max() > 0 and np.all(term >= 0)
    towers = rec.movie_vectors @ rec.live_weight.rescale(user.vector, [True])[0]
    both = rec.retrieval_scores(np.repeat(user.vector, 2, axis=0), [True, False], HistoryBatch(
        2, np.zeros(len(user.history_rows), np.int64), user.history_rows, user.history_ratings
    ))  # fmt: skip
    np.testing.assert_allclose(both[0], towers + term, atol=1e-5)
    not_live = rec.movie_vectors @ user.vector[0] + rec.popularity.scores([False])[0]  # no transition term
    np.testing.assert_allclose(both[1], not_live, atol=1e-5)


def test_users_forecast_from_the_training_period_get_the_recent_popularity_term(rec):
    """A dataset user with no live ratings and a new user with none get weight x log(1 + recent count) added to the
    towers' score; once a user has live ratings the term is gone."""
    assert rec.popularity is not None and rec.popularity.weight == TrainConfig().popularity.weight
    recent = rec.space.movie_statistic("log_count_recent")
    assert recent.max() > 0
    term = rec.popularity.weight * np.where(recent < 1e-4, 0.0, recent)
    uid = warm_user(rec)
    for user in (rec.known_user(uid), rec.new_user("F", 25, 12)):
        assert not user.live
        scores = rec.retrieval_scores(user.vector, [False], None)[0]
        np.testing.assert_allclose(scores, rec.movie_vectors @ user.vector[0] + term, atol=1e-5)
        top = rec.recommend(user, 50, 10)
        rows = rec.space.catalog_rows([r.movie_id for r in top])
        np.testing.assert_allclose([r.retrieval_score for r in top], scores[rows], atol=1e-5)
    live = rec.new_user("F", 25, 12, [(int(rec.movies["movie_id"].iloc[0]), 4.0)])
    towers = rec.movie_vectors @ rec.live_weight.rescale(live.vector, [True])[0]
    scores = rec.retrieval_scores(live.vector, [True], one_history(live))[0]
    np.testing.assert_allclose(scores, towers + rec.transitions.scores(one_history(live))[0], atol=1e-5)
