"""Baselines computed with the same metric code: popularity (all / recent) and mean(+bias) rating models."""

from __future__ import annotations

import numpy as np
import pandas as pd

from movierec.data.split import in_last_days


def popularity_scores(train: pd.DataFrame, catalog_rows_of, n_catalog: int, days: float | None = None) -> np.ndarray:
    """Rating counts per catalogue row over the training period, or over its last `days` days."""
    if days is not None:
        train = train.loc[in_last_days(train["timestamp"], days)]
    rows = catalog_rows_of(train["movie_id"].to_numpy())
    return np.bincount(rows[rows >= 0], minlength=n_catalog).astype(np.float64)


class BiasModel:
    """rating = mean + b_user + b_movie, fitted by alternating regularised least squares."""

    def __init__(self, reg_user: float = 5.0, reg_movie: float = 5.0, iterations: int = 10, mean: float | None = None):
        """mean: a fixed global mean (None: the training ratings' mean)."""
        self.reg_user, self.reg_movie, self.iterations, self.fixed_mean = reg_user, reg_movie, iterations, mean

    def fit(self, train: pd.DataFrame) -> BiasModel:
        self.mean = float(train["rating"].mean()) if self.fixed_mean is None else float(self.fixed_mean)
        users, u = np.unique(train["user_id"].to_numpy(), return_inverse=True)
        movies, m = np.unique(train["movie_id"].to_numpy(), return_inverse=True)
        r = train["rating"].to_numpy(np.float64) - self.mean
        bu, bm = np.zeros(len(users)), np.zeros(len(movies))
        nu, nm = np.bincount(u, minlength=len(users)), np.bincount(m, minlength=len(movies))
        for _ in range(self.iterations):
            bm = np.bincount(m, weights=r - bu[u], minlength=len(movies)) / (nm + self.reg_movie)
            bu = np.bincount(u, weights=r - bm[m], minlength=len(users)) / (nu + self.reg_user)
        self.user_bias = pd.Series(bu, index=users)
        self.movie_bias = pd.Series(bm, index=movies)
        return self

    def predict(self, users, movies, rating_range: tuple[float, float]) -> np.ndarray:
        """Predicted ratings of (user, movie) pairs, clipped to the dataset's scale (lowest, highest rating)."""
        bu = self.user_bias.reindex(np.asarray(users)).fillna(0.0).to_numpy()
        bm = self.movie_bias.reindex(np.asarray(movies)).fillna(0.0).to_numpy()
        return np.clip(self.mean + bu + bm, *rating_range)
