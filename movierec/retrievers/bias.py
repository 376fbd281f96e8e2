"""The bias model as a retriever: predicted rating = mean + user bias + movie bias; its list = highest predictions."""

from __future__ import annotations

import numpy as np
import pandas as pd

from movierec.evaluation.baselines import BiasModel
from movierec.retrievers.base import Retriever, require, scalar
from movierec.retrievers.history import HistoryBatch


class BiasRetriever(Retriever):
    """Fitted by movierec.evaluation.baselines.BiasModel; a history's user bias is folded in with the same
    regularised least-squares step (so any history works), which shifts a user's scores but never their order."""

    name = "bias"

    def __init__(self, reg_user: float = 5.0, reg_movie: float = 5.0, iterations: int = 10):
        self.reg_user, self.reg_movie, self.iterations = reg_user, reg_movie, iterations

    def _fit(self, train: pd.DataFrame, rows: np.ndarray) -> None:
        model = BiasModel(self.reg_user, self.reg_movie, self.iterations).fit(train)
        self.mean = float(model.mean)
        movie_rows = self.space.catalog_rows(model.movie_bias.index.to_numpy())
        self.movie_bias = np.zeros(self.space.n_catalog, np.float32)
        self.movie_bias[movie_rows] = model.movie_bias.to_numpy(np.float32)

    def user_bias(self, batch: HistoryBatch) -> np.ndarray:
        residual = batch.ratings - self.mean - self.movie_bias[batch.rows]
        total = np.bincount(batch.owner, weights=residual, minlength=batch.size)
        return (total / (batch.lengths() + self.reg_user)).astype(np.float32)

    def _score(self, batch: HistoryBatch) -> np.ndarray:
        """Predicted ratings (not clipped to the rating scale, so the order among top movies survives)."""
        return self.mean + self.user_bias(batch)[:, None] + self.movie_bias[None, :]

    def _cold_scores(self) -> np.ndarray:
        return self.mean + self.movie_bias

    def _arrays(self) -> dict[str, np.ndarray]:
        return {"mean": np.array(self.mean), "movie_bias": self.movie_bias, "reg_user": np.array(self.reg_user)}

    def _load(self, arrays: dict[str, np.ndarray]) -> None:
        self.mean = scalar(arrays, "mean", float)
        self.reg_user = scalar(arrays, "reg_user", float)
        self.movie_bias = require(arrays, "movie_bias", (len(self.popularity),), np.float32)
