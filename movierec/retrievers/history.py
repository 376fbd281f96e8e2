"""A user's rating history as every retriever receives it, and the batch form the scoring code works on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class History:
    """One user's ratings in time order (oldest first); empty for a brand-new user."""

    movie_ids: np.ndarray
    ratings: np.ndarray

    def __post_init__(self) -> None:
        movie_ids = np.asarray(self.movie_ids)
        ratings = np.asarray(self.ratings, dtype=np.float32)
        if movie_ids.size == 0:
            movie_ids = movie_ids.astype(np.int64)
        if movie_ids.ndim != 1 or ratings.ndim != 1:
            raise ValueError(
                f"a history needs 1-d movie_ids and ratings, got shapes {movie_ids.shape}, {ratings.shape}"
            )
        if len(movie_ids) != len(ratings):
            raise ValueError(
                f"a history needs one rating per movie, got {len(movie_ids)} movies, {len(ratings)} ratings"
            )
        if movie_ids.dtype.kind not in "iu":
            raise ValueError(f"history movie_ids must be integers, got dtype {movie_ids.dtype}")
        if not np.all(np.isfinite(ratings)):
            raise ValueError("history ratings must be finite numbers")
        object.__setattr__(self, "movie_ids", movie_ids.astype(np.int64, copy=False))
        object.__setattr__(self, "ratings", ratings)

    @classmethod
    def empty(cls) -> History:
        return cls(np.zeros(0, np.int64), np.zeros(0, np.float32))

    def __len__(self) -> int:
        return len(self.movie_ids)


def histories_of(ratings: pd.DataFrame, user_ids) -> list[History]:
    """Each user's ratings in `ratings` (kept in the frame's order, which the split makes chronological); an empty
    history for a user with none."""
    user_ids = np.asarray(user_ids)
    frame = ratings.loc[ratings["user_id"].isin(user_ids), ["user_id", "movie_id", "rating"]]
    order = np.argsort(frame["user_id"].to_numpy(), kind="stable")
    users = frame["user_id"].to_numpy()[order]
    movies = frame["movie_id"].to_numpy()[order]
    values = frame["rating"].to_numpy(np.float32)[order]
    start = np.searchsorted(users, user_ids, side="left")
    stop = np.searchsorted(users, user_ids, side="right")
    return [History(movies[a:b], values[a:b]) for a, b in zip(start, stop, strict=True)]


def span_indices(starts, stops) -> tuple[np.ndarray, np.ndarray]:
    """(the indices starts[0]:stops[0], then starts[1]:stops[1], ... concatenated; each span's length)."""
    starts, stops = np.asarray(starts, np.int64), np.asarray(stops, np.int64)
    lengths = stops - starts
    return np.arange(int(lengths.sum())) + np.repeat(starts - (np.cumsum(lengths) - lengths), lengths), lengths


@dataclass(frozen=True)
class HistoryBatch:
    """Histories of a batch flattened to catalogue rows: element i is (batch row `owner[i]`, catalogue row `rows[i]`,
    rating `ratings[i]`), in each history's order; movies not in the catalogue are refused."""

    size: int
    owner: np.ndarray
    rows: np.ndarray
    ratings: np.ndarray

    @classmethod
    def of(cls, histories: Sequence[History], catalog_rows_of) -> HistoryBatch:
        for i, history in enumerate(histories):
            if not isinstance(history, History):
                raise TypeError(f"history {i} is a {type(history).__name__}, not a History")
        lengths = np.array([len(h) for h in histories], dtype=np.int64)
        if lengths.sum() == 0:
            return cls.empty(len(histories))
        movie_ids = np.concatenate([h.movie_ids for h in histories])
        rows = np.asarray(catalog_rows_of(movie_ids), dtype=np.int64)
        owner = np.repeat(np.arange(len(histories)), lengths)
        if np.any(rows < 0):
            bad = int(np.flatnonzero(rows < 0)[0])
            raise ValueError(f"movie_id {movie_ids[bad]} in history {owner[bad]} is not in the catalogue")
        return cls(len(histories), owner, rows, np.concatenate([h.ratings for h in histories]))

    @classmethod
    def empty(cls, size: int) -> HistoryBatch:
        """A batch of `size` empty histories (users whose histories no source needs)."""
        none = np.zeros(0, np.int64)
        return cls(size, none, none, np.zeros(0, np.float32))

    @classmethod
    def one(cls, rows: np.ndarray, ratings: np.ndarray) -> HistoryBatch:
        """A batch of one history: catalogue rows and ratings in time order (a served user's history)."""
        return cls(1, np.zeros(len(rows), np.int64), rows, ratings)

    @classmethod
    def spans(cls, starts: np.ndarray, stops: np.ndarray, rows: np.ndarray, ratings: np.ndarray) -> HistoryBatch:
        """History i = elements starts[i]:stops[i] of flat, time-ordered catalogue rows and ratings (users' blocks)."""
        taken, lengths = span_indices(starts, stops)
        owner = np.repeat(np.arange(len(lengths)), lengths)
        return cls(len(lengths), owner, np.asarray(rows)[taken], np.asarray(ratings, np.float32)[taken])

    def only(self, keep: np.ndarray) -> HistoryBatch:
        """The elements whose catalogue row is marked in `keep` (a per-row boolean mask)."""
        chosen = keep[self.rows]
        return HistoryBatch(self.size, self.owner[chosen], self.rows[chosen], self.ratings[chosen])

    def only_owners(self, keep: np.ndarray) -> HistoryBatch:
        """The histories marked in `keep` (a per-history boolean mask), renumbered in their order."""
        keep = np.asarray(keep, dtype=bool)
        number = np.cumsum(keep) - 1
        chosen = keep[self.owner]
        return HistoryBatch(int(keep.sum()), number[self.owner[chosen]], self.rows[chosen], self.ratings[chosen])

    def lengths(self) -> np.ndarray:
        return np.bincount(self.owner, minlength=self.size)

    def binary(self, n_columns: int, dtype=np.float32) -> np.ndarray:
        """(size, n_columns) matrix with 1 where the history holds the movie."""
        out = np.zeros((self.size, n_columns), dtype=dtype)
        out[self.owner, self.rows] = 1
        return out

    def times(self, matrix: np.ndarray) -> np.ndarray:
        """binary(len(matrix)) @ matrix: for one history (a served request) the sum of the matrix rows of its distinct
        movies, which reads only those rows instead of multiplying through the whole catalogue."""
        if self.size == 1:
            return matrix[np.unique(self.rows)].sum(axis=0, keepdims=True, dtype=np.float32)
        return self.binary(len(matrix)) @ matrix
