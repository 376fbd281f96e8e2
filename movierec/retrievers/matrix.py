"""The training user x movie interaction matrix the collaborative methods fit on (scipy: training side only)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def interactions(train: pd.DataFrame, rows: np.ndarray, n_catalog: int):
    """Binary CSR matrix (training users x catalogue rows): 1 where the user rated the movie (implicit feedback:
    the methods predict which movie a user rates next, whatever the rating)."""
    from scipy import sparse

    _, user = np.unique(train["user_id"].to_numpy(), return_inverse=True)
    matrix = sparse.csr_matrix(
        (np.ones(len(rows), np.float32), (user, rows)), shape=(int(user.max()) + 1, n_catalog), dtype=np.float32
    )
    matrix.sum_duplicates()
    matrix.data[:] = 1.0  # a movie rated twice by one user still counts once
    return matrix
