"""The one top-K of the project: the k highest scores of each row, best first, equal scores in catalogue order."""

from __future__ import annotations

import numpy as np


def top_k_rows(scores: np.ndarray, k: int) -> np.ndarray:
    """Row-wise column indices of the k highest scores (k capped at the row length), best first; equal scores keep
    column order, as a stable sort of the whole row would (-inf entries, the excluded movies, come last).

    A partial sort finds the k best; a row whose k-th score ties with a score left outside them is sorted whole,
    so which of the tied columns make the cut never depends on the partial sort.
    """
    scores = np.atleast_2d(scores)
    n, size = scores.shape
    k = min(int(k), size)
    if k >= size:
        return np.argsort(-scores, axis=1, kind="stable")
    part = np.sort(np.argpartition(-scores, k - 1, axis=1)[:, :k], axis=1)  # the k best, in column order
    at = np.arange(n)[:, None]
    values = scores[at, part]
    rows = part[at, np.argsort(-values, axis=1, kind="stable")]  # by score; equal scores keep column order
    crowded = np.flatnonzero((scores >= values.min(axis=1, keepdims=True)).sum(axis=1) > k)
    if crowded.size:  # a tie at the cut, broken arbitrarily by the partial sort
        rows[crowded] = np.argsort(-scores[crowded], axis=1, kind="stable")[:, :k]
    return rows


def padded_top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows, scores) of top_k_rows, with row -1 where a list runs out of movies that may be returned (score
    -inf)."""
    rows = top_k_rows(scores, k)
    values = np.take_along_axis(np.atleast_2d(scores), rows, axis=1)
    return np.where(np.isneginf(values), -1, rows), values
