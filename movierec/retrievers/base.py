"""The peer methods' common machinery: fit on training ratings, score any history, save as plain arrays."""

from __future__ import annotations

import abc
from typing import Self

import numpy as np
import pandas as pd

from movierec.features.space import FeatureSpace
from movierec.retrievers.history import HistoryBatch
from movierec.retrievers.source import CandidateSource, Queries

LOWEST = np.float32(np.finfo(np.float32).min)  # the score of movies the training period never saw
REQUIRED_COLUMNS = ("user_id", "movie_id", "rating")


class Retriever(CandidateSource):
    """A peer method: a candidate source fitted on training ratings alone, which reads only the queries' histories.

    `index` fits on training ratings only; `scores` answers for any rating histories (training users, users whose
    history goes on after training, brand-new users): columns are catalogue rows, higher is better, movies unknown
    to training get LOWEST, and a history with no movie known to training is scored by training popularity.
    Subclasses implement `_fit`, `_score` (histories with at least one known movie), `_arrays` and `_load`.
    """

    popularity: np.ndarray  # training ratings per catalogue row

    # ---- fitting -----------------------------------------------------------------------------------
    def index(self, train: pd.DataFrame, space: FeatureSpace) -> Self:
        """Fit on training ratings (columns user_id, movie_id, rating; timestamp for methods that validate)."""
        missing = [c for c in REQUIRED_COLUMNS if c not in train.columns]
        if missing:
            raise ValueError(
                f"{self.name}: training ratings lack the column(s) {missing}; need {list(REQUIRED_COLUMNS)}"
            )
        if len(train) == 0:
            raise ValueError(f"{self.name}: cannot index an empty training set")
        rows = space.catalog_rows(train["movie_id"].to_numpy())
        if np.any(rows < 0):
            bad = train["movie_id"].to_numpy()[rows < 0][0]
            raise ValueError(f"{self.name}: training movie_id {bad} is not in the catalogue")
        self.space = space
        self.popularity = np.bincount(rows, minlength=space.n_catalog).astype(np.float32)
        self._fit(train, rows.astype(np.int64))
        return self

    @abc.abstractmethod
    def _fit(self, train: pd.DataFrame, rows: np.ndarray) -> None:
        """Fit the method; rows = catalogue row of each training rating."""

    # ---- scoring -----------------------------------------------------------------------------------
    @property
    def known(self) -> np.ndarray:
        """Per catalogue row: was the movie rated in the training period."""
        return self.popularity > 0

    def scores(self, queries: Queries) -> np.ndarray:
        """(queries.size, n_catalog) float32 scores of the queries' histories, higher is better."""
        self._check_indexed()
        batch = queries.histories
        usable = batch.only(self.known)
        has_known = usable.lengths() > 0
        out = np.empty((batch.size, self.space.n_catalog), dtype=np.float32)
        if has_known.any():
            keep = np.flatnonzero(has_known)
            position = np.full(batch.size, -1, dtype=np.int64)
            position[keep] = np.arange(len(keep))
            sub = HistoryBatch(len(keep), position[usable.owner], usable.rows, usable.ratings)
            out[keep] = self._score(sub)
        if not has_known.all():
            out[~has_known] = self._cold_scores()
        out[:, ~self.known] = LOWEST
        return out

    @abc.abstractmethod
    def _score(self, batch: HistoryBatch) -> np.ndarray:
        """(batch.size, n_catalog) scores of histories that each hold at least one movie known to training (and
        only such movies)."""

    def _cold_scores(self) -> np.ndarray:
        """Scores for a history with no movie known to training: training popularity."""
        return self.popularity

    def popularity_below_zero(self) -> np.ndarray:
        """Popularity squeezed into (-1, 0): for methods whose scores are >= 0, the order of movies with no evidence
        (score 0) then follows popularity instead of catalogue order."""
        return (self.popularity / (self.popularity.max() + 1.0) - 1.0).astype(np.float32)

    # ---- plain arrays (how a bundle would store it: no pickle) ----------------------------------------
    def to_arrays(self) -> dict[str, np.ndarray]:
        """Named arrays from which from_arrays rebuilds this retriever over the same feature space."""
        self._check_indexed()
        return {"retriever": np.array(self.name), "popularity": self.popularity, **self._arrays()}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], space: FeatureSpace) -> Self:
        """Inverse of to_arrays; a clear ValueError for arrays of another method, a missing array or a wrong shape."""
        stored = str(np.asarray(arrays.get("retriever", ""))) if "retriever" in arrays else None
        if stored != cls.name:
            raise ValueError(f"these arrays are of retriever {stored!r}, not {cls.name!r}")
        obj = cls()
        obj.space = space
        obj.popularity = require(arrays, "popularity", (space.n_catalog,), np.float32)
        obj._load(arrays)
        return obj

    @abc.abstractmethod
    def _arrays(self) -> dict[str, np.ndarray]: ...

    @abc.abstractmethod
    def _load(self, arrays: dict[str, np.ndarray]) -> None: ...

    def _check_indexed(self) -> None:
        if not hasattr(self, "popularity"):
            raise RuntimeError(f"retriever {self.name!r} is not indexed: call index(train, space) or from_arrays first")


def require(arrays: dict[str, np.ndarray], key: str, shape: tuple[int | None, ...], dtype) -> np.ndarray:
    """arrays[key] as dtype, checked against shape (None: any size on that axis)."""
    if key not in arrays:
        raise ValueError(f"retriever arrays lack {key!r} (have {sorted(arrays)})")
    value = np.asarray(arrays[key])
    if value.ndim != len(shape) or any(s is not None and s != v for s, v in zip(shape, value.shape, strict=True)):
        raise ValueError(f"retriever array {key!r} has shape {value.shape}, expected {shape}")
    return value.astype(dtype, copy=False)


def scalar(arrays: dict[str, np.ndarray], key: str, kind: type) -> float | int:
    """A stored hyper-parameter (0-d array) as a Python number."""
    return kind(require(arrays, key, (), np.float64 if kind is float else np.int64))
