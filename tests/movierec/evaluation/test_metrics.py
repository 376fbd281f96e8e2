"""Metrics against hand-computed cases, and the bias baseline on a tiny example."""

import math

import numpy as np
import pandas as pd
import pytest

from movierec.evaluation.baselines import BiasModel, popularity_scores
from movierec.evaluation.metrics import mae, ndcg_at_k, precision_at_k, recall_curve, recall_per_user, rmse


def test_recall_by_hand():
    ranked = np.array([[1, 2, 3, 4], [5, 6, 7, 8]])
    relevant = [{2, 4, 9}, {5}]
    # user 1: hits at ranks 2 and 4 of 3 relevant; user 2: hit at rank 1 of 1
    assert recall_per_user(ranked, relevant, 1).tolist() == [0.0, 1.0]
    assert recall_per_user(ranked, relevant, 4).tolist() == pytest.approx([2 / 3, 1.0])
    assert recall_curve(ranked, relevant).tolist() == pytest.approx(
        [0.5, (1 / 3 + 1) / 2, (1 / 3 + 1) / 2, (2 / 3 + 1) / 2]
    )


def test_an_empty_group_of_users_gives_nan_recall_and_empty_per_user_arrays():
    # e.g. the unknown users of a dataset where every test user also rated in the training period
    empty = np.zeros((0, 4), dtype=np.int64)
    curve = recall_curve(empty, [])
    assert curve.shape == (4,) and np.isnan(curve).all()
    assert ndcg_at_k(empty, [], 3).shape == (0,) and precision_at_k(empty, [], 3).shape == (0,)


def test_ndcg_and_precision_by_hand():
    ranked = np.array([[10, 20, 30], [40, 50, 60]])
    relevant = [{20}, {40, 60, 99}]
    dcg_1 = 1 / math.log2(3)
    ideal_1 = 1.0
    dcg_2 = 1 / math.log2(2) + 1 / math.log2(4)
    ideal_2 = 1 / math.log2(2) + 1 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at_k(ranked, relevant, 3).tolist() == pytest.approx([dcg_1 / ideal_1, dcg_2 / ideal_2])
    assert precision_at_k(ranked, relevant, 3).tolist() == pytest.approx([1 / 3, 2 / 3])


def test_rating_errors():
    assert rmse([3, 4], [4, 4]) == pytest.approx(math.sqrt(0.5))
    assert mae([3, 5], [4, 4]) == pytest.approx(1.0)
    assert math.isnan(rmse([], []))


def test_popularity_counts_and_recent_window():
    train = pd.DataFrame(
        {"movie_id": [1, 1, 2, 3, 3, 3], "timestamp": [0, 86_400 * 40, 86_400 * 39, 0, 0, 86_400 * 40]}
    )
    rows = lambda ids: np.asarray(ids) - 1  # noqa: E731
    assert popularity_scores(train, rows, 4).tolist() == [2, 1, 3, 0]
    assert popularity_scores(train, rows, 4, days=30).tolist() == [1, 1, 1, 0]


def test_bias_model_learns_user_and_movie_offsets():
    train = pd.DataFrame({"user_id": [1, 1, 2, 2], "movie_id": [1, 2, 1, 2], "rating": [5, 4, 3, 2]})
    model = BiasModel(reg_user=0.0, reg_movie=0.0, iterations=50).fit(train)
    assert model.predict([1, 2], [1, 2], (1.0, 5.0)) == pytest.approx([5, 2], abs=1e-6)
    assert model.predict([1, 2], [1, 2], (2.5, 4.5)) == pytest.approx([4.5, 2.5])  # clipped to the scale given
    assert model.predict([99], [99], (1.0, 5.0)) == pytest.approx([3.5])  # unknown user and movie: the global mean
