"""User-KNN: movies rated by the training users whose ratings look most like the history (cosine)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from movierec.retrievers.base import Retriever, require, scalar
from movierec.retrievers.history import HistoryBatch
from movierec.retrievers.matrix import interactions

DEFAULT_NEIGHBOURS = 100


class UserKNNRetriever(Retriever):
    """The history's cosine similarity to every training user's rating vector (binary: which movies they rated), the
    `neighbours` most similar users kept. Score of a movie = the summed similarity of the neighbours who rated it;
    movies none of them rated follow, in popularity order. A training user queried with their own training history
    finds themselves first; that neighbour only adds movies they rated, which lists leave out."""

    name = "user_knn"

    def __init__(self, neighbours: int = DEFAULT_NEIGHBOURS):
        if neighbours < 1:
            raise ValueError(f"user_knn: neighbours must be at least 1, got {neighbours}")
        self.neighbours = int(neighbours)

    def _fit(self, train: pd.DataFrame, rows: np.ndarray) -> None:
        x = interactions(train, rows, self.space.n_catalog)
        self.user_indptr = x.indptr.astype(np.int64)
        self.user_rows = x.indices.astype(np.int32)
        self._dense = None

    @property
    def dense(self) -> np.ndarray:
        """(training users, n_catalog) binary rating matrix (built once)."""
        if getattr(self, "_dense", None) is None:
            n_users = len(self.user_indptr) - 1
            dense = np.zeros((n_users, len(self.popularity)), np.float32)
            dense[np.repeat(np.arange(n_users), np.diff(self.user_indptr)), self.user_rows] = 1.0
            self._dense = dense
            self._inverse_norms = (1.0 / np.sqrt(np.maximum(np.diff(self.user_indptr), 1))).astype(np.float32)
        return self._dense

    def _score(self, batch: HistoryBatch) -> np.ndarray:
        users = self.dense
        # cosine up to the query's own norm, which scales a whole row and changes neither neighbours nor order
        similarity = batch.times(users.T) * self._inverse_norms[None, :]
        keep = min(self.neighbours, users.shape[0])
        nearest = np.argpartition(-similarity, keep - 1, axis=1)[:, :keep]
        if batch.size == 1:  # a served request: read only the neighbours' rows
            scores = (similarity[0, nearest[0]] @ users[nearest[0]])[None, :]
        else:
            weights = np.zeros_like(similarity)
            np.put_along_axis(weights, nearest, np.take_along_axis(similarity, nearest, axis=1), axis=1)
            scores = weights @ users
        return np.where(scores > 0, scores, self.popularity_below_zero()[None, :])

    def _arrays(self) -> dict[str, np.ndarray]:
        return {"neighbours": np.array(self.neighbours), "user_indptr": self.user_indptr, "user_rows": self.user_rows}

    def _load(self, arrays: dict[str, np.ndarray]) -> None:
        n = len(self.popularity)
        self.neighbours = scalar(arrays, "neighbours", int)
        self.user_indptr = require(arrays, "user_indptr", (None,), np.int64)
        self.user_rows = require(arrays, "user_rows", (None,), np.int32)
        indptr_ok = (
            len(self.user_indptr) >= 2
            and self.user_indptr[0] == 0
            and self.user_indptr[-1] == len(self.user_rows)
            and np.all(np.diff(self.user_indptr) >= 0)
        )
        if not indptr_ok:
            raise ValueError("retriever array 'user_indptr' is not a CSR row pointer over 'user_rows'")
        if self.user_rows.size and (self.user_rows.min() < 0 or self.user_rows.max() >= n):
            raise ValueError(f"retriever array 'user_rows' holds rows outside 0..{n - 1}")
        self._dense = None
