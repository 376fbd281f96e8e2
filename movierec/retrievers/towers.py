"""The trained towers as a candidate source: the user vector's inner product with every movie vector."""

from __future__ import annotations

from typing import Self

import numpy as np
import pandas as pd

from movierec.features.space import FeatureSpace
from movierec.retrievers.source import CandidateSource, Queries, check_k
from movierec.retrievers.vector_index import Backend, VectorIndex, make_index


class TowerSource(CandidateSource):
    """v_u · v_m over the served movie vectors (the pooled two-tower and the sequence branch joined, one row per
    catalogue movie; movierec.models.hybrid), searched by a VectorIndex: exact NumPy, or FAISS when installed and
    asked for. The queries carry the user vectors (the user tower's output)."""

    name = "towers"

    def __init__(self, movie_vectors: np.ndarray, backend: Backend = "numpy"):
        self.movie_vectors = np.ascontiguousarray(movie_vectors, dtype=np.float32)
        self.backend = backend
        self._index: VectorIndex | None = None

    def index(self, train: pd.DataFrame, space: FeatureSpace) -> Self:
        """Index the movie vectors (one per catalogue row of the space; the training ratings are not read)."""
        if len(self.movie_vectors) != space.n_catalog:
            raise ValueError(f"towers: {len(self.movie_vectors)} movie vectors for a catalogue of {space.n_catalog}")
        self.space = space
        self._index = make_index(self.backend).index(self.movie_vectors)
        return self

    def scores(self, queries: Queries) -> np.ndarray:
        return self.inner_products(self._vectors_of(queries))

    def inner_products(self, vectors: np.ndarray) -> np.ndarray:
        """(users, n_catalog) inner products of user vectors (rescaled or not) with every movie vector."""
        return self._searcher().scores(vectors)

    def top_k(self, queries: Queries, k: int, exclude_rated: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """As every source's top_k, through the index's own search (which FAISS makes sublinear)."""
        check_k(k)
        exclude = None
        if exclude_rated:
            exclude = np.zeros((queries.size, self.space.n_catalog), dtype=bool)
            exclude[queries.histories.owner, queries.histories.rows] = True
        return self._searcher().top_k(self._vectors_of(queries), k, exclude=exclude)

    def similar(self, row: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(rows, cosines) of the k movies nearest to catalogue row `row` (the movie vectors are unit norm), the
        movie itself left out."""
        exclude = np.zeros(self.space.n_catalog, dtype=bool)
        exclude[row] = True
        rows, scores = self._searcher().top_k(self.movie_vectors[row], k, exclude=exclude)
        found = rows[0] >= 0  # a catalogue smaller than k + 1 pads the list
        return rows[0][found], scores[0][found]

    def _searcher(self) -> VectorIndex:
        if self._index is None:
            raise RuntimeError("towers: not indexed; call index(train, space) first")
        return self._index

    @staticmethod
    def _vectors_of(queries: Queries) -> np.ndarray:
        if queries.vectors is None:
            raise ValueError("towers: the queries carry no user vectors (the user tower's output)")
        return queries.vectors
