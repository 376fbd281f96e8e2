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


def _ratings(n_users: int, per_user: int, seed: int = 0) -> pd.DataFrame:
    import numpy as np

    rng = np.random.default_rng(seed)
    n = n_users * per_user
    return pd.DataFrame(
        {
            "user_id": np.repeat(np.arange(1, n_users + 1), per_user),
            "movie_id": rng.integers(1, 50, n),
            "rating": rng.integers(1, 6, n),
            "timestamp": rng.integers(0, 1000, n),  # many ties
        }
    )


def test_validation_period_is_the_end_of_the_training_period_cut_by_time():
    from movierec.data.split import validation_period

    train = _ratings(40, 25)
    mask = validation_period(train, fraction=0.1, min_ratings=10, min_users=5, max_fraction=0.5)
    stamps = train["timestamp"].to_numpy()
    assert stamps[~mask].max() < stamps[mask].min()  # no timestamp on both sides
    assert 0.1 * len(train) <= mask.sum() <= 0.5 * len(train)
    assert train.loc[mask, "user_id"].nunique() >= 5


@pytest.mark.parametrize(
    ("kwargs", "at_least_ratings", "at_least_users"),
    [
        ({"fraction": 0.01, "min_ratings": 300, "min_users": 1}, 300, 1),  # the minimum number of ratings
        ({"fraction": 0.01, "min_ratings": 1, "min_users": 30}, 1, 30),  # the minimum number of users
    ],
)
def test_validation_period_grows_to_its_minimum_ratings_and_users(kwargs, at_least_ratings, at_least_users):
    from movierec.data.split import validation_period

    train = _ratings(60, 20).sort_values("user_id")  # users' ratings spread over time; any row order
    mask = validation_period(train, max_fraction=0.5, **kwargs)
    assert mask.sum() >= at_least_ratings and train.loc[mask, "user_id"].nunique() >= at_least_users
    assert mask.sum() <= 0.5 * len(train)


def test_validation_period_never_takes_more_than_its_largest_share():
    from movierec.data.split import validation_period

    train = _ratings(10, 10)
    mask = validation_period(train, fraction=0.1, min_ratings=10_000, min_users=1000, max_fraction=0.3)
    assert 0 < mask.sum() <= 30


@pytest.mark.parametrize("fractions", [(0.0, 0.5), (0.6, 0.5), (0.1, 1.0)])
def test_bad_validation_fractions_are_refused(fractions):
    from movierec.data.split import validation_period

    with pytest.raises(ValueError, match="validation fractions"):
        validation_period(_ratings(5, 5), fractions[0], 1, 1, fractions[1])
