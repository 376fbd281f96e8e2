"""Each method's scores checked by hand on a six-movie world, and hyper-parameter validation on the training period."""

from __future__ import annotations

import math

import numpy as np
import pytest

from movierec.evaluation.baselines import BiasModel
from movierec.retrievers import LOWEST, History
from movierec.retrievers.bias import BiasRetriever
from movierec.retrievers.ease import DEFAULT_LAMBDA, EASERetriever, spd_inverse
from movierec.retrievers.item_knn import ItemKNNRetriever
from movierec.retrievers.mf import MFRetriever
from movierec.retrievers.source import Queries
from movierec.retrievers.transitions import TransitionRetriever, positions_from_end
from movierec.retrievers.user_knn import UserKNNRetriever
from movierec.retrievers.validation import choose, holdout

# the `small` world (conftest): users 1 and 2 rated rows {0, 1, 2}, user 3 {2, 3}, user 4 {3, 4}; row 5 never rated;
# training counts per row: 2, 2, 3, 2, 1, 0


def of(m, rows, ratings=None) -> History:
    return History([m[r] for r in rows], ratings if ratings is not None else [4.0] * len(rows))


def test_item_knn_cosine_by_hand(small):
    train, space, m = small
    knn = ItemKNNRetriever().index(train, space)
    scores = knn.scores(Queries.of([of(m, [0])], space))[0]
    assert scores[1] == pytest.approx(1.0) and scores[2] == pytest.approx(2 / math.sqrt(6))  # cos(0,1), cos(0,2)
    assert -1 < scores[3] < 0 and -1 < scores[4] < scores[3]  # no evidence: popularity order below it
    assert scores[5] == LOWEST
    assert knn.top_k(Queries.of([of(m, [0])], space), 5)[0].tolist() == [[1, 2, 3, 4, 5]]
    two = knn.scores(Queries.of([of(m, [0, 3])], space))[0]  # evidence adds up over the history
    assert two[2] == pytest.approx(2 / math.sqrt(6) + 1 / math.sqrt(6)) and two[4] == pytest.approx(1 / math.sqrt(2))
    nearest = ItemKNNRetriever(neighbours=1).index(train, space).scores(Queries.of([of(m, [0])], space))[0]
    assert nearest[1] == pytest.approx(1.0) and nearest[2] < 0  # row 2 is not row 0's single nearest neighbour


def test_user_knn_neighbours_by_hand(small):
    train, space, m = small
    knn = UserKNNRetriever(neighbours=2).index(train, space)
    scores = knn.scores(Queries.of([of(m, [0])], space))[0]
    assert scores[1] == pytest.approx(2 / math.sqrt(3)) == pytest.approx(scores[2])  # users 1 and 2, cosine 1/sqrt(3)
    assert knn.top_k(Queries.of([of(m, [0])], space), 5)[0].tolist() == [
        [1, 2, 3, 4, 5]
    ]  # tie in catalogue order, then popularity
    assert knn.top_k(Queries.of([of(m, [3])], space), 3)[0].tolist() == [
        [2, 4, 0]
    ]  # users 3 and 4 tie, then the most popular
    # with one neighbour, a history {3, 4} finds user 4 only, who rated nothing else: popularity decides
    single = UserKNNRetriever(neighbours=1).index(train, space)
    assert single.top_k(Queries.of([of(m, [3, 4])], space), 3)[0].tolist() == [[2, 0, 1]]


def test_ease_closed_form_by_hand(small):
    train, space, m = small
    lam = 1.0
    ease = EASERetriever(lam=lam).index(train, space)
    x = np.zeros((4, 5))
    for user, rows in enumerate([[0, 1, 2], [0, 1, 2], [2, 3], [3, 4]]):
        x[user, rows] = 1
    p = np.linalg.inv(x.T @ x + lam * np.eye(5))
    b = np.eye(5) - p / np.diag(p)[None, :]
    h = np.zeros(5)
    h[[0, 3]] = 1
    scores = ease.scores(Queries.of([of(m, [0, 3])], space))[0]
    assert np.allclose(scores[:5], h @ b, atol=1e-5) and scores[5] == LOWEST
    assert np.allclose(np.diag(ease.weights), 0.0)
    # too little data to validate lambda on: the documented default
    auto = EASERetriever().index(train, space)
    assert auto.lam == DEFAULT_LAMBDA and auto.validation == {}


def test_spd_inverse_inverts_in_the_matrix_precision_and_refuses_a_matrix_that_is_not_positive_definite():
    rng = np.random.default_rng(0)
    a = rng.random((40, 30))
    for dtype, tolerance in ((np.float64, 1e-10), (np.float32, 1e-4)):
        gram = (a.T @ a + 2.0 * np.eye(30)).astype(dtype)
        inverse = spd_inverse(gram)
        assert inverse.dtype == dtype
        np.testing.assert_allclose(inverse, inverse.T)
        np.testing.assert_allclose(inverse @ gram, np.eye(30), atol=tolerance)
    with pytest.raises(np.linalg.LinAlgError, match="not positive definite"):
        spd_inverse(-np.eye(3))


def test_mf_folds_any_history_in_by_projection(small):
    train, space, m = small
    mf = MFRetriever(factors=3).index(train, space)  # the interaction matrix has rank 3: exact
    v = mf.item_factors
    assert np.allclose(v.T @ v, np.eye(3), atol=1e-5)
    assert np.allclose(
        mf.scores(Queries.of([of(m, [2, 3])], space))[0][:5], [0, 0, 1, 1, 0], atol=1e-5
    )  # user 3's row comes back
    low = MFRetriever(factors=1).index(train, space)
    h = np.zeros(6, np.float32)
    h[[0, 4]] = 1
    assert np.allclose(
        low.scores(Queries.of([of(m, [0, 4])], space))[0][:5],
        (h @ low.item_factors @ low.item_factors.T)[:5],
        atol=1e-6,
    )


def test_bias_scores_are_predicted_ratings(small):
    train, space, m = small
    bias = BiasRetriever().index(train, space)
    model = BiasModel().fit(train)
    movie_bias = model.movie_bias.reindex(m[:5]).to_numpy()
    history = of(m, [0, 3], [5.0, 1.0])
    user_bias = ((5.0 - model.mean - movie_bias[0]) + (1.0 - model.mean - movie_bias[3])) / (2 + 5.0)
    assert np.allclose(bias.scores(Queries.of([history], space))[0][:5], model.mean + user_bias + movie_bias, atol=1e-5)
    assert np.allclose(bias.scores(Queries.of([History.empty()], space))[0][:5], model.mean + movie_bias, atol=1e-5)
    # a user's bias shifts their scores, never their order: the list is the movie-bias order
    top = bias.top_k(Queries.of([history, of(m, [0, 3], [1.0, 1.0])], space), 3)[0]
    expected = [r for r in np.argsort(-movie_bias, kind="stable").tolist() if r not in (0, 3)]
    assert top.tolist() == [expected, expected]


def test_holdout_and_choose_on_the_training_period(world):
    split, space = world
    fit, validation = holdout(split.train)
    assert len(fit) + len(validation) == len(split.train) and len(validation) > 0
    assert fit["timestamp"].max() < validation["timestamp"].min()  # cut by time
    best, scores = choose(lambda n: ItemKNNRetriever(neighbours=int(n)), (1.0, 50.0), split.train, space, default=9.0)
    assert set(scores) == {1.0, 50.0} and scores[best] == max(scores.values())
    assert all(0.0 <= value <= 1.0 for value in scores.values())
    assert choose(ItemKNNRetriever, (1.0,), split.train.drop(columns="timestamp"), space, default=9.0) == (9.0, {})


def test_transitions_by_hand_follow_the_latest_movies(small):
    """Users 1 and 2 rated rows 0, 1, 2 in that order, user 3 rows 2, 3, user 4 rows 3, 4 (conftest)."""
    train, space, m = small
    first = TransitionRetriever(lags=1, window=1, smoothing=0.0).index(train, space)
    assert first.scores(Queries.of([of(m, [0])], space))[0][1] == pytest.approx(1.0)  # 0 was always followed by 1
    assert first.scores(Queries.of([of(m, [2])], space))[0][3] == pytest.approx(1.0)
    after_3 = first.scores(Queries.of([of(m, [0, 3])], space))[0]  # a window of 1: only the latest movie counts
    assert after_3[4] == pytest.approx(1.0) and after_3[1] < 0 and after_3[5] == LOWEST
    assert first.scores(Queries.of([of(m, [3, 0])], space))[0][1] == pytest.approx(
        1.0
    )  # the order of the history matters
    chain = TransitionRetriever(lags=3, window=10, decay=0.8, lag_decay=0.5, smoothing=5.0).index(train, space)
    # row 0 is followed by 1 at lag 1 (twice) and by 2 at lag 2 (twice, weight 0.5): totals 3, divided by 3 + 5
    # row 3 is followed by 4 once: divided by 1 + 5; the history's latest movie (3) weighs 1, the one before 0.8
    scores = chain.scores(Queries.of([of(m, [0, 3])], space))[0]
    assert scores[1] == pytest.approx(0.8 * 2 / 8) and scores[2] == pytest.approx(0.8 * 1 / 8)
    assert scores[4] == pytest.approx(1 / 6)
    assert -1 < scores[0] < 0 and -1 < scores[3] < 0  # nothing follows into them: popularity order, below zero


def test_transitions_read_each_users_ratings_in_time_order_whatever_the_frame_order(small):
    train, space, m = small
    shuffled = train.sample(frac=1.0, random_state=3)
    as_given = TransitionRetriever().index(train, space).scores(Queries.of([of(m, [0, 3])], space))
    assert np.array_equal(
        TransitionRetriever().index(shuffled, space).scores(Queries.of([of(m, [0, 3])], space)), as_given
    )
    reversed_time = train.assign(timestamp=-train["timestamp"])  # later ratings first: 1 now precedes 0
    backwards = TransitionRetriever(lags=1, window=1, smoothing=0.0).index(reversed_time, space)
    assert backwards.scores(Queries.of([of(m, [1])], space))[0][0] == pytest.approx(1.0)


def test_transitions_refuse_bad_settings():
    with pytest.raises(ValueError, match="lags and window must be at least 1"):
        TransitionRetriever(lags=0)
    with pytest.raises(ValueError, match=r"decay and lag_decay must be in \(0, 1\]"):
        TransitionRetriever(decay=1.5)
    for smoothing in (-1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="smoothing must be at least 0"):
            TransitionRetriever(smoothing=smoothing)


def test_positions_from_end_count_back_from_each_owners_last_element():
    assert positions_from_end(np.array([0, 0, 0, 2, 2]), 3).tolist() == [2, 1, 0, 1, 0]
    assert positions_from_end(np.zeros(0, np.int64), 2).tolist() == []
