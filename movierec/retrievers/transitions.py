"""Sequential item-to-item transitions: the movies training users rated soon after the movies a history ends with.

A first-order Markov chain widened to a few steps (like the Markov part of FPMC, or the "sequential rules" of
session-based recommendation): for every training user, in time order, each rating counts towards the movies rated
1, 2, ... `lags` ratings later, the count of lag d weighted lag_decay ** (d - 1). Each movie's row is divided by its
total plus `smoothing` (a movie with few followers says less). A history is scored by its latest `window` known
movies, the j-th latest weighted decay ** j. Order matters here, unlike every other retriever: what a user rated
last says most about what they rate next. The matrix is kept as CSR arrays and scored with NumPy alone (serving
installs no SciPy).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from movierec.config import TransitionConfig
from movierec.retrievers.base import Retriever, require, scalar
from movierec.retrievers.history import HistoryBatch, span_indices

DEFAULTS = TransitionConfig()  # the settings live with the training config


def positions_from_end(owner: np.ndarray, size: int) -> np.ndarray:
    """For elements grouped by owner in order (as a HistoryBatch holds them): 0 for each owner's last element, 1 for
    the one before, and so on."""
    lengths = np.bincount(owner, minlength=size)
    ends = np.cumsum(lengths)
    return ends[owner] - 1 - np.arange(len(owner))


class TransitionRetriever(Retriever):
    """Scores = decay-weighted sum of the row-normalised lagged transition counts of the history's latest movies;
    movies that never followed them come after, in popularity order."""

    name = "transitions"

    def __init__(
        self,
        lags: int = DEFAULTS.lags,
        window: int = DEFAULTS.window,
        decay: float = DEFAULTS.decay,
        lag_decay: float = DEFAULTS.lag_decay,
        smoothing: float = DEFAULTS.smoothing,
    ):
        self._set(lags, window, decay, lag_decay, smoothing)

    def _set(self, lags, window, decay, lag_decay, smoothing) -> None:
        """Check and keep the settings (given, or read back from saved arrays)."""
        if lags < 1 or window < 1:
            raise ValueError(f"transitions: lags and window must be at least 1, got {lags} and {window}")
        if not (0.0 < decay <= 1.0 and 0.0 < lag_decay <= 1.0):
            raise ValueError(f"transitions: decay and lag_decay must be in (0, 1], got {decay} and {lag_decay}")
        if not (np.isfinite(smoothing) and smoothing >= 0):
            raise ValueError(f"transitions: smoothing must be at least 0, got {smoothing}")
        self.lags, self.window = int(lags), int(window)
        self.decay, self.lag_decay, self.smoothing = float(decay), float(lag_decay), float(smoothing)

    def _fit(self, train: pd.DataFrame, rows: np.ndarray) -> None:
        users = train["user_id"].to_numpy()
        keys = [np.arange(len(train)), users]  # lexsort: the last key sorts first; ties keep the frame's order
        if "timestamp" in train:
            keys.insert(1, train["timestamp"].to_numpy())
        order = np.lexsort(keys)  # each user's ratings in time order
        users, rows = users[order], rows[order]
        n = self.space.n_catalog
        pairs, weights = [], []
        for lag in range(1, self.lags + 1):
            same = users[lag:] == users[:-lag]
            pairs.append(rows[:-lag][same] * n + rows[lag:][same])  # (earlier movie, later movie) as one key
            weights.append(np.full(int(same.sum()), self.lag_decay ** (lag - 1)))
        keys, where = np.unique(np.concatenate(pairs), return_inverse=True)
        counts = np.bincount(where, weights=np.concatenate(weights), minlength=len(keys))
        source = keys // n
        totals = np.bincount(source, weights=counts, minlength=n) + self.smoothing
        self.indptr = np.concatenate([[0], np.cumsum(np.bincount(source, minlength=n))]).astype(np.int64)
        self.indices = (keys % n).astype(np.int32)
        self.values = (counts / totals[source]).astype(np.float32)

    @property
    def pairs(self) -> int:
        """Stored (movie, later movie) pairs."""
        return len(self.indices)

    def recent_scores(self, batch: HistoryBatch) -> np.ndarray:
        """(batch.size, n_catalog) transition scores of each history's latest `window` movies (0 where nothing
        followed them, and for an empty history). Movies unknown to training have no transitions."""
        batch = batch.only(self.known)
        back = positions_from_end(batch.owner, batch.size)
        latest = back < self.window
        rows = batch.rows[latest]
        taken, lengths = span_indices(self.indptr[rows], self.indptr[rows + 1])  # each movie's row of followers
        n = self.space.n_catalog
        cells = np.repeat(batch.owner[latest], lengths) * n + self.indices[taken]
        weights = np.repeat(self.decay ** back[latest], lengths) * self.values[taken]  # twice in the window: twice
        return np.bincount(cells, weights=weights, minlength=batch.size * n).reshape(batch.size, n).astype(np.float32)

    def _score(self, batch: HistoryBatch) -> np.ndarray:
        scores = self.recent_scores(batch)
        return np.where(scores > 0, scores, self.popularity_below_zero()[None, :])

    def _arrays(self) -> dict[str, np.ndarray]:
        return {
            "lags": np.array(self.lags),
            "window": np.array(self.window),
            "decay": np.array(self.decay),
            "lag_decay": np.array(self.lag_decay),
            "smoothing": np.array(self.smoothing),
            "indptr": self.indptr,
            "indices": self.indices,
            "values": self.values,
        }

    def _load(self, arrays: dict[str, np.ndarray]) -> None:
        n = len(self.popularity)
        self._set(
            *(scalar(arrays, key, int) for key in ("lags", "window")),
            *(scalar(arrays, key, float) for key in ("decay", "lag_decay", "smoothing")),
        )
        indptr = require(arrays, "indptr", (n + 1,), np.int64)
        indices = require(arrays, "indices", (None,), np.int32)
        values = require(arrays, "values", indices.shape, np.float32)
        if indptr[0] != 0 or indptr[-1] != len(indices) or np.any(np.diff(indptr) < 0):
            raise ValueError("retriever array 'indptr' does not describe the stored transitions")
        if len(indices) and (indices.min() < 0 or indices.max() >= n):
            raise ValueError(f"retriever array 'indices' holds rows outside 0..{n - 1}")
        if not np.all(np.isfinite(values)) or np.any(values < 0):
            raise ValueError("retriever array 'values' must hold finite numbers at least 0")
        self.indptr, self.indices, self.values = indptr, indices, values
