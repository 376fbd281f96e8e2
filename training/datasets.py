"""Training examples: batches built through the core FeatureSpace (the serving code path) and the windows' targets.

PyDatasets for the pooled retrieval towers and the ranker, and the causal windows' targets for the sequence branch.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import keras
import numpy as np
import pandas as pd

from movierec.config import SECONDS_PER_DAY
from movierec.features.pairs import RANKER_USER_KEYS, ranking_inputs
from movierec.features.sequences import Windows
from movierec.features.space import SECONDS_PER_YEAR, USER_TOWER_KEYS

# Threads that build batches ahead of the model. More than one makes Keras run them through its own enqueuer and turn
# tf.data autotuning off: with autotuning on, dropping an epoch's iterator waited for the autotune thread's timed sleep,
# which left training idle for tens of seconds at some epoch boundaries.
BATCH_WORKERS = 2


class _Batches(keras.utils.PyDataset):
    """Batches of rows 0..n-1 in a seeded order that changes every epoch; subclasses build a batch from its rows."""

    def __init__(self, n: int, batch_size: int, seed: int, shuffle: bool = True):
        super().__init__(workers=BATCH_WORKERS, use_multiprocessing=False)
        self.n, self.batch_size, self.seed, self.shuffle = n, batch_size, seed, shuffle
        self.epoch = 0
        self.order = self._order()

    def _order(self) -> np.ndarray:
        return np.random.default_rng((self.seed, self.epoch)).permutation(self.n) if self.shuffle else np.arange(self.n)

    def __len__(self) -> int:
        return math.ceil(self.n / self.batch_size)

    def _batch(self, index: int) -> tuple[np.ndarray, np.random.Generator]:
        idx = self.order[index * self.batch_size : (index + 1) * self.batch_size]
        return idx, np.random.default_rng((self.seed, self.epoch, index))

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self.order = self._order()


class _RatingBatches(_Batches):
    """Batches of (user, movie, time) rating rows, whose user-tower inputs come from the feature space."""

    def __init__(
        self,
        space,
        ratings: pd.DataFrame,
        batch_size: int,
        seed: int,
        shuffle: bool = True,
        use_example_age: bool = True,
    ):
        super().__init__(len(ratings), batch_size, seed, shuffle)
        self.space = space
        self.users = ratings["user_id"].to_numpy()
        self.movies = ratings["movie_id"].to_numpy()
        self.timestamps = ratings["timestamp"].to_numpy() if use_example_age else None

    def _user_inputs(self, idx: np.ndarray, cold: np.ndarray | None) -> dict:
        """User-tower inputs of rows idx: the target left out of the history, the example's age, cold rows as
        unknown users."""
        times = None if self.timestamps is None else self.timestamps[idx]
        return self.space.user_inputs(self.users[idx], exclude_movie_ids=self.movies[idx], cold=cold, timestamps=times)


class WindowBatches(_Batches):
    """(inputs, targets, weights) of the sequence branch's causal windows, a batch of windows at a time."""

    def __init__(self, inputs: dict, targets: np.ndarray, weights: np.ndarray, batch_size: int, seed: int):
        super().__init__(len(targets), batch_size, seed)
        self.inputs, self.targets, self.weights = inputs, targets, weights

    def __getitem__(self, index):
        idx = np.sort(self._batch(index)[0])  # sorted: gathers read memory in order
        return {key: value[idx] for key, value in self.inputs.items()}, self.targets[idx], self.weights[idx]


class RetrievalBatches(_RatingBatches):
    """(user-tower inputs with the target left out of the history, catalogue row of the target, weight)."""

    def __init__(self, space, ratings, batch_size, seed, cold_rate, weights=None, use_example_age=True):
        super().__init__(space, ratings, batch_size, seed, use_example_age=use_example_age)
        self.cold_rate = cold_rate
        self.targets = space.catalog_rows(self.movies).astype(np.int32)
        self.weights = np.ones(len(self.users), np.float32) if weights is None else weights.astype(np.float32)

    def __getitem__(self, index):
        idx, rng = self._batch(index)
        cold = rng.random(len(idx)) < self.cold_rate
        return self._user_inputs(idx, cold), self.targets[idx], self.weights[idx]


class RankerRows(NamedTuple):
    """Each rating row's ranker user inputs (RANKER_USER_KEYS) and frozen user-tower vector ("vector"), as a known
    user and (None: not computed) as an unknown one, in the order of the ratings frame they were computed for."""

    known: dict[str, np.ndarray]
    cold: dict[str, np.ndarray] | None

    @classmethod
    def compute(
        cls, space, ratings: pd.DataFrame, user_vectors_fn, cold: bool, use_example_age: bool = True, chunk: int = 8192
    ) -> RankerRows:
        rows = _RatingBatches(space, ratings, chunk, 0, shuffle=False, use_example_age=use_example_age)

        def per_row(as_unknown: bool) -> dict[str, np.ndarray]:
            parts = []
            for start in range(0, rows.n, chunk):
                idx = np.arange(start, min(start + chunk, rows.n))
                inputs = rows._user_inputs(idx, np.full(len(idx), as_unknown))
                vectors = np.asarray(user_vectors_fn(inputs), dtype=np.float32)
                parts.append({**{key: inputs[key] for key in RANKER_USER_KEYS}, "vector": vectors})
            return {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}

        return cls(per_row(False), per_row(True) if cold else None)

    def take(self, positions: np.ndarray, cold: bool = True) -> RankerRows:
        """The rows at these positions of the ratings frame (a part of it, in the part's order); cold=False leaves
        the unknown-user rows out."""

        def cut(values):
            return None if values is None else {key: value[positions] for key, value in values.items()}

        return RankerRows(cut(self.known), cut(self.cold) if cold else None)

    def as_unknown(self, rows: np.ndarray) -> RankerRows:
        """These rows with the marked ones (a boolean mask) as unknown users, how a period's new users are judged."""

        def pick(key: str, value: np.ndarray) -> np.ndarray:
            return np.where(rows.reshape(-1, *[1] * (value.ndim - 1)), self.cold[key], value)

        return RankerRows({key: pick(key, value) for key, value in self.known.items()}, None)


class RankingBatches(_RatingBatches):
    """(ranker inputs built from the frozen user tower and the precomputed movie vectors, true rating).

    The tower is frozen, so each row's ranker user inputs and vector as a known user and (with a cold rate) as an
    unknown one are computed once (RankerRows, which may be given: computed once for a whole period and cut for its
    parts); every epoch then only picks, per row, what its seeded draw asks for.
    """

    def __init__(
        self,
        space,
        ratings,
        batch_size,
        seed,
        cold_rate,
        user_vectors_fn,
        movie_vectors,
        shuffle=True,
        use_example_age=True,
        precomputed: RankerRows | None = None,
    ):
        super().__init__(space, ratings, batch_size, seed, shuffle=shuffle, use_example_age=use_example_age)
        self.cold_rate = cold_rate
        self.movie_vectors = movie_vectors
        self.rows = space.catalog_rows(self.movies)
        self.ratings = ratings["rating"].to_numpy().astype(np.float32)
        if precomputed is None:
            precomputed = RankerRows.compute(space, ratings, user_vectors_fn, cold_rate > 0, use_example_age)
        if len(precomputed.known["vector"]) != self.n or (cold_rate > 0 and precomputed.cold is None):
            raise ValueError("the precomputed ranker rows do not match these ratings and cold rate")
        self.known, self.cold = precomputed.known, precomputed.cold

    def __getitem__(self, index):
        idx, rng = self._batch(index)
        user = {key: value[idx] for key, value in self.known.items()}
        if self.cold_rate > 0:
            cold = rng.random(len(idx)) < self.cold_rate
            user = {
                key: np.where(cold.reshape(-1, *[1] * (value.ndim - 1)), self.cold[key][idx], value)
                for key, value in user.items()
            }
        vectors = user.pop("vector")
        return ranking_inputs(self.space, user, vectors, self.rows[idx], self.movie_vectors), self.ratings[idx]


def recency_weights(timestamps: np.ndarray, cutoff: int, half_life_days: float, floor: float) -> np.ndarray:
    """Example weights that decay with age before the cut-off (half-life in days), floored, mean 1."""
    if half_life_days <= 0:
        return np.ones(len(timestamps), np.float32)
    age_days = (cutoff - np.asarray(timestamps, np.float64)) / SECONDS_PER_DAY
    weights = np.maximum(0.5 ** (age_days / half_life_days), floor)
    return (weights / weights.mean()).astype(np.float32)


def retrieval_examples(space, windows: Windows, cfg, seed: int) -> tuple[dict, np.ndarray, np.ndarray]:
    """(inputs, targets (W, L + 1, 2): next and later catalogue rows, weights (W, L + 1)) for the sequence model;
    with cfg.mask_rated a third channel, the movie each position is the state after (losses.NextAndLaterLoss).

    A share of windows (cfg.cold_user_rate) drops the user id, which trains the unknown-user index; each position
    is told its target's age before the cut-off (serving asks for "now", age 0); recency weights favour targets
    near the cut-off.
    """
    inputs = {key: windows.inputs[key] for key in USER_TOWER_KEYS if key != "example_age"}
    drop = np.random.default_rng((seed, 17)).random(len(windows)) < cfg.cold_user_rate
    inputs["user_id"] = np.where(drop, 0, inputs["user_id"]).astype(np.int32)
    valid = windows.targets >= 0
    inputs["position_age"] = np.where(valid, (space.cutoff_timestamp - windows.target_time) / SECONDS_PER_YEAR, 0.0)
    inputs["position_age"] = inputs["position_age"].astype(np.float32)
    weights = valid.astype(np.float32)
    weights[valid] = recency_weights(
        windows.target_time[valid], space.cutoff_timestamp, cfg.recency_half_life_days, cfg.recency_floor
    )
    channels = [windows.targets, windows.future] + ([windows.rated] if cfg.mask_rated else [])
    return inputs, np.stack(channels, axis=-1).astype(np.int32), weights
