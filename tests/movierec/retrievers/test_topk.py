"""The one top-K: the k best of each row, best first, equal scores in column (catalogue) order."""

import numpy as np
import pytest

from movierec.retrievers.topk import padded_top_k, top_k_rows


def test_equal_scores_keep_column_order_also_at_the_cut():
    scores = np.array([[0.0, 2.0, 1.0, 2.0, 1.0, 1.0]])
    np.testing.assert_array_equal(top_k_rows(scores, 3), [[1, 3, 2]])
    np.testing.assert_array_equal(top_k_rows(scores, 4), [[1, 3, 2, 4]])
    np.testing.assert_array_equal(top_k_rows(scores, 99), [[1, 3, 2, 4, 5, 0]])  # k beyond the row: all of it


@pytest.mark.parametrize("seed", range(5))
def test_is_the_head_of_a_stable_sort_of_the_whole_row(seed):
    """Integer scores tie a lot, also across the cut: the result must not depend on the partial sort."""
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 6, size=(50, 40)).astype(np.float64)
    scores[rng.random(scores.shape) < 0.2] = -np.inf
    for k in (1, 7, 39):
        np.testing.assert_array_equal(top_k_rows(scores, k), np.argsort(-scores, axis=1, kind="stable")[:, :k])


def test_padded_marks_the_slots_of_excluded_movies():
    rows, values = padded_top_k(np.array([[3.0, -np.inf, 1.0, -np.inf]]), 3)
    np.testing.assert_array_equal(rows, [[0, 2, -1]])
    assert values[0, :2].tolist() == [3.0, 1.0] and np.isneginf(values[0, 2])
