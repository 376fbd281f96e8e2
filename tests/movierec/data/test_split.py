"""Chronological split: stable order, sizes, cut-off, bad fractions, and the held-out period cut from the training period."""

import math

import pandas as pd
import pytest

from movierec.data.split import chronological_split, evaluation_split


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


def rows(frame: pd.DataFrame) -> set[tuple]:
    return set(frame[["user_id", "movie_id", "timestamp"]].itertuples(index=False, name=None))


def test_the_held_out_period_is_the_training_periods_last_part_and_never_reads_the_test_split(synthetic_data):
    ratings = synthetic_data.ratings
    test_split = chronological_split(ratings)
    held = evaluation_split(ratings, 0.2, holdout_fraction=0.25)
    n = len(test_split.train)
    assert held.sizes == (math.floor(0.75 * n), n - math.floor(0.75 * n))
    assert rows(held.train) | rows(held.test) == rows(test_split.train)
    assert not (rows(held.train) | rows(held.test)) & rows(test_split.test)
    assert held.train["timestamp"].max() <= held.test["timestamp"].min()
    assert held.test["timestamp"].max() <= test_split.cutoff_timestamp
    plain = evaluation_split(ratings, 0.2)  # no held-out fraction: the test split itself
    assert rows(plain.train) == rows(test_split.train) and rows(plain.test) == rows(test_split.test)


@pytest.mark.parametrize("fraction", [1.0, -0.1])
def test_a_bad_held_out_fraction_is_refused(synthetic_data, fraction):
    with pytest.raises(ValueError, match="holdout_fraction"):
        evaluation_split(synthetic_data.ratings, 0.2, fraction)
