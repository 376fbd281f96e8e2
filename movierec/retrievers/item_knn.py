"""Item-KNN: movies most similar (cosine over training users) to the movies in the history."""

from __future__ import annotations

import numpy as np
import pandas as pd

from movierec.retrievers.base import Retriever, require, scalar
from movierec.retrievers.history import HistoryBatch
from movierec.retrievers.matrix import interactions

DEFAULT_NEIGHBOURS = 200


class ItemKNNRetriever(Retriever):
    """Cosine similarity between movies' training rating columns (binary: who rated them), each movie keeping its
    `neighbours` most similar movies. Score of a movie = the sum of its similarities to the history's movies;
    movies with no similar movie in the history follow, in popularity order."""

    name = "item_knn"

    def __init__(self, neighbours: int = DEFAULT_NEIGHBOURS):
        if neighbours < 1:
            raise ValueError(f"item_knn: neighbours must be at least 1, got {neighbours}")
        self.neighbours = int(neighbours)

    def _fit(self, train: pd.DataFrame, rows: np.ndarray) -> None:
        x = interactions(train, rows, self.space.n_catalog)
        gram = (x.T @ x).toarray().astype(np.float32)
        norms = np.sqrt(np.diag(gram)).astype(np.float32)
        inverse = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
        similarity = gram * inverse[:, None] * inverse[None, :]
        np.fill_diagonal(similarity, 0.0)
        keep = min(self.neighbours, self.space.n_catalog - 1)
        self.neighbour_rows = np.argpartition(-similarity, keep - 1, axis=1)[:, :keep].astype(np.int32)
        self.neighbour_sims = np.take_along_axis(similarity, self.neighbour_rows, axis=1)
        self._dense = None

    @property
    def dense(self) -> np.ndarray:
        """(n_catalog, n_catalog) similarity matrix with each row pruned to its neighbours (built once)."""
        if getattr(self, "_dense", None) is None:
            n = len(self.neighbour_rows)
            dense = np.zeros((n, n), np.float32)
            np.put_along_axis(dense, self.neighbour_rows.astype(np.int64), self.neighbour_sims, axis=1)
            self._dense = dense
        return self._dense

    def _score(self, batch: HistoryBatch) -> np.ndarray:
        scores = batch.times(self.dense)
        return np.where(scores > 0, scores, self.popularity_below_zero()[None, :])

    def _arrays(self) -> dict[str, np.ndarray]:
        return {
            "neighbours": np.array(self.neighbours),
            "neighbour_rows": self.neighbour_rows,
            "neighbour_sims": self.neighbour_sims,
        }

    def _load(self, arrays: dict[str, np.ndarray]) -> None:
        n = len(self.popularity)
        self.neighbours = scalar(arrays, "neighbours", int)
        self.neighbour_rows = require(arrays, "neighbour_rows", (n, None), np.int32)
        self.neighbour_sims = require(arrays, "neighbour_sims", self.neighbour_rows.shape, np.float32)
        if self.neighbour_rows.size and (self.neighbour_rows.min() < 0 or self.neighbour_rows.max() >= n):
            raise ValueError(f"retriever array 'neighbour_rows' holds rows outside 0..{n - 1}")
        self._dense = None
