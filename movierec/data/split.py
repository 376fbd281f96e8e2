"""The global chronological train/test split every model and baseline is judged on."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from movierec.config import SECONDS_PER_DAY


@dataclass(frozen=True)
class Split:
    train: pd.DataFrame
    test: pd.DataFrame
    cutoff_timestamp: int  # timestamp of the last training rating

    @property
    def sizes(self) -> tuple[int, int]:
        return len(self.train), len(self.test)


def chronological_split(ratings: pd.DataFrame, test_fraction: float = 0.2) -> Split:
    """Stable sort by timestamp; the first floor((1 - test_fraction) * n) ratings train, the rest test."""
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be strictly between 0 and 1, got {test_fraction}")
    ordered = ratings.sort_values("timestamp", kind="stable").reset_index(drop=True)
    n_train = math.floor((1.0 - test_fraction) * len(ordered))
    if n_train == 0 or n_train == len(ordered):
        raise ValueError(f"{len(ordered)} ratings cannot be split with test_fraction={test_fraction}")
    train = ordered.iloc[:n_train].reset_index(drop=True)
    test = ordered.iloc[n_train:].reset_index(drop=True)
    return Split(train=train, test=test, cutoff_timestamp=int(train["timestamp"].iloc[-1]))


def evaluation_split(ratings: pd.DataFrame, test_fraction: float = 0.2, holdout_fraction: float = 0.0) -> Split:
    """The split a run is fitted and judged on: the test split, or, with holdout_fraction above 0, the held-out period:
    the training period split again the same way, its last holdout_fraction judged as the test split is. Settings are
    chosen there, so the test split (never read) stays an honest last measure."""
    if not 0.0 <= holdout_fraction < 1.0:
        raise ValueError(f"holdout_fraction must be at least 0 and below 1, got {holdout_fraction}")
    split = chronological_split(ratings, test_fraction)
    return chronological_split(split.train, holdout_fraction) if holdout_fraction > 0 else split


def validation_period(train: pd.DataFrame, fraction: float, min_ratings: int, min_users: int, max_fraction: float):
    """Which rows of the training period form its validation period: its end, cut by time (every rating at the cut's
    timestamp on the same side), holding at least `fraction` of its ratings, `min_ratings` ratings and `min_users`
    users, and at most `max_fraction` of its ratings (the fit part keeps the rest). A boolean mask in train's row order.

    Every stage's early stopping and every setting chosen by the code are judged there; the test split is not read.
    """
    if not 0.0 < fraction <= max_fraction < 1.0:
        raise ValueError(
            f"validation fractions must satisfy 0 < fraction <= max_fraction < 1, got {fraction}, {max_fraction}"
        )
    n = len(train)
    if n < 2:
        raise ValueError(f"a training period of {n} rating(s) has no validation period")
    order = np.argsort(train["timestamp"].to_numpy(), kind="stable")
    stamps = train["timestamp"].to_numpy()[order]
    users_from_end = train["user_id"].to_numpy()[order][::-1]
    _, first_from_end = np.unique(users_from_end, return_index=True)
    new_user = np.zeros(n, dtype=bool)
    new_user[first_from_end] = True
    distinct = np.cumsum(new_user)  # distinct users among the last i + 1 ratings
    by_users = int(np.searchsorted(distinct, min_users)) + 1 if distinct[-1] >= min_users else n
    size = max(math.ceil(fraction * n), min_ratings, by_users)
    size = min(size, math.floor(max_fraction * n))
    cut = n - max(size, 1)
    # by time: the ratings that share the cut's timestamp join the validation period, or (past its largest size) the
    # fit part; a positional cut only where one timestamp spans both
    first, after = (int(np.searchsorted(stamps, stamps[cut], side=side)) for side in ("left", "right"))
    if first > 0 and n - first <= max(math.floor(max_fraction * n), 1):
        cut = first
    elif after < n:
        cut = after
    mask = np.zeros(n, dtype=bool)
    mask[order[cut:]] = True
    return mask


def validation_mask(train: pd.DataFrame, validation) -> np.ndarray:
    """validation_period with a movierec.config.ValidationConfig's sizes: which rows of train are its validation
    period."""
    return validation_period(
        train, validation.fraction, validation.min_ratings, validation.min_users, validation.max_fraction
    )


def in_last_days(timestamps, days: float, end: int | None = None) -> np.ndarray:
    """Which timestamps fall in the `days` days before `end` (default: the latest timestamp)."""
    timestamps = np.asarray(timestamps)
    end = int(timestamps.max()) if end is None else end
    return timestamps > end - days * SECONDS_PER_DAY
