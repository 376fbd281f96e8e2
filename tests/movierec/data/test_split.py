"""Chronological split: stable order, sizes, cut-off, and bad fractions."""

import math

import pandas as pd
import pytest

from movierec.data.split import chronological_split


def test_split_is_chronological_and_sized(synthetic_data):
    split = chronological_split(synthetic_data.ratings)
    n = len(synthetic_data.ratings)
    assert split.sizes == (math.floor(0.8 * n), n - math.floor(0.8 * n))
    assert split.train["timestamp"].max() <= split.test["timestamp"].min()
    assert split.cutoff_timestamp == split.train["timestamp"].iloc[-1]


def test_split_is_stable_for_equal_timestamps():
    ratings = pd.DataFrame(
        {
            "user_id": [1, 2, 3, 4, 5],
            "movie_id": [10, 20, 30, 40, 50],
            "rating": [1, 2, 3, 4, 5],
            "timestamp": [7, 5, 5, 5, 9],
        }
    )
    split = chronological_split(ratings, test_fraction=0.4)
    assert split.train["user_id"].tolist() == [2, 3, 4]
    assert split.test["user_id"].tolist() == [1, 5]


def test_configurable_fraction(synthetic_data):
    split = chronological_split(synthetic_data.ratings, test_fraction=0.1)
    assert split.sizes[0] == math.floor(0.9 * len(synthetic_data.ratings))


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5])
def test_bad_fraction_is_refused(synthetic_data, fraction):
    with pytest.raises(ValueError, match="test_fraction"):
        chronological_split(synthetic_data.ratings, test_fraction=fraction)


def test_in_last_days():
    from movierec.data.split import in_last_days

    day = 86_400
    stamps = [0, 5 * day, 9 * day, 10 * day]
    assert in_last_days(stamps, 2).tolist() == [False, False, True, True]
    assert in_last_days(stamps, 5, end=9 * day).tolist() == [False, True, True, True]
