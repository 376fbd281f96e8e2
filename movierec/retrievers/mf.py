"""Matrix factorisation: a truncated SVD of the training interactions (PureSVD), histories folded in."""

from __future__ import annotations

import numpy as np
import pandas as pd

from movierec.retrievers.base import Retriever, require, scalar
from movierec.retrievers.history import HistoryBatch
from movierec.retrievers.matrix import interactions

DEFAULT_FACTORS = 64


class MFRetriever(Retriever):
    """X ~ U S V' (rank `factors`), X the binary training user x movie matrix. A history h (binary row) is folded
    in by least squares on the item factors: argmin_u ||h - u V'|| = h V (V has orthonormal columns); its scores
    are h V V'. Any history, a training user's or a new one, goes through the same fold-in."""

    name = "mf"

    def __init__(self, factors: int = DEFAULT_FACTORS, seed: int = 0):
        if factors < 1:
            raise ValueError(f"mf: factors must be at least 1, got {factors}")
        self.factors, self.seed = int(factors), int(seed)

    def _fit(self, train: pd.DataFrame, rows: np.ndarray) -> None:
        from scipy.sparse.linalg import svds

        x = interactions(train, rows, self.space.n_catalog).astype(np.float64)
        rank = min(self.factors, min(x.shape) - 1)
        if rank < 1:
            raise ValueError(f"mf: {x.shape[0]} users x {x.shape[1]} movies are too few for a factorisation")
        start = np.random.default_rng(self.seed).standard_normal(min(x.shape))
        _, _, vt = svds(x, k=rank, v0=start)
        self.item_factors = np.ascontiguousarray(vt.T, dtype=np.float32)  # (n_catalog, rank), orthonormal columns

    def _score(self, batch: HistoryBatch) -> np.ndarray:
        folded = batch.times(self.item_factors)
        return folded @ self.item_factors.T

    def _arrays(self) -> dict[str, np.ndarray]:
        return {"factors": np.array(self.factors), "item_factors": self.item_factors}

    def _load(self, arrays: dict[str, np.ndarray]) -> None:
        self.factors = scalar(arrays, "factors", int)
        self.item_factors = require(arrays, "item_factors", (len(self.popularity), None), np.float32)
