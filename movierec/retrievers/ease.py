"""EASE: a closed-form item-item linear model (Steck, 2019) on the training Gram matrix."""

from __future__ import annotations

import numpy as np
import pandas as pd

from movierec.retrievers.base import Retriever, require, scalar
from movierec.retrievers.history import HistoryBatch
from movierec.retrievers.matrix import interactions
from movierec.retrievers.validation import choose

DEFAULT_LAMBDA = 500.0
LAMBDA_CANDIDATES = (100.0, 300.0, 1000.0, 3000.0)


def spd_inverse(matrix: np.ndarray) -> np.ndarray:
    """The inverse of a symmetric positive definite matrix through its Cholesky factor (LAPACK potrf/potri): half the
    work of a general inverse, in the matrix's own precision (float32: a Gram matrix plus lambda is well conditioned)."""
    from scipy.linalg import lapack  # training side only, as movierec.retrievers.matrix

    potrf, potri = lapack.get_lapack_funcs(("potrf", "potri"), (matrix,))
    factor, info = potrf(matrix, lower=False, clean=False)
    if info == 0:
        upper, info = potri(factor, lower=False, overwrite_c=True)
    if info != 0:
        raise np.linalg.LinAlgError(f"matrix is not positive definite (LAPACK info {info})")
    return np.triu(upper) + np.triu(upper, 1).T


class EASERetriever(Retriever):
    """B = argmin ||X - XB||^2 + lambda ||B||^2 with diag(B) = 0, X the binary training user x movie matrix:
    B = I - P / diag(P), P = (X'X + lambda I)^-1. Score of a history = its binary row times B.

    lambda: given, or (None) chosen among LAMBDA_CANDIDATES by Recall@50 on the last 7 days of the training period
    (movierec.retrievers.validation); DEFAULT_LAMBDA when that period is too small to judge."""

    name = "ease"

    def __init__(self, lam: float | None = None):
        if lam is not None and not lam > 0:
            raise ValueError(f"ease: lambda must be positive, got {lam}")
        self.lam = lam
        self.validation: dict[float, float] = {}

    def _fit(self, train: pd.DataFrame, rows: np.ndarray) -> None:
        if self.lam is None:
            self.lam, self.validation = choose(EASERetriever, LAMBDA_CANDIDATES, train, self.space, DEFAULT_LAMBDA)
        x = interactions(train, rows, self.space.n_catalog)
        known = np.flatnonzero(self.known)  # movies no training user rated have no column to learn from
        sub = x[:, known]
        gram = (sub.T @ sub).toarray().astype(np.float32)
        gram[np.diag_indices_from(gram)] += self.lam
        p = spd_inverse(gram)
        b = -p / np.diag(p)[None, :]
        np.fill_diagonal(b, 0.0)
        self.weights = np.zeros((self.space.n_catalog, self.space.n_catalog), np.float32)
        self.weights[np.ix_(known, known)] = b

    def _score(self, batch: HistoryBatch) -> np.ndarray:
        return batch.times(self.weights)

    def _arrays(self) -> dict[str, np.ndarray]:
        return {"lam": np.array(self.lam), "weights": self.weights}

    def _load(self, arrays: dict[str, np.ndarray]) -> None:
        n = len(self.popularity)
        self.lam = scalar(arrays, "lam", float)
        self.weights = require(arrays, "weights", (n, n), np.float32)
