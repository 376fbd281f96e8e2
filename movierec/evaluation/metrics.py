"""Ranking and rating metrics, written once and used for the model and every baseline alike."""

from __future__ import annotations

import numpy as np


def hits_matrix(ranked: np.ndarray, relevant: list[set[int]]) -> np.ndarray:
    """(users, K) booleans: is the item at each rank relevant for that user (shape (0, K) for no users)."""
    rows = [[item in rel for item in row] for row, rel in zip(ranked.tolist(), relevant, strict=True)]
    return np.array(rows, bool).reshape(ranked.shape)


def recall_curve(ranked: np.ndarray, relevant: list[set[int]]) -> np.ndarray:
    """Mean Recall@K for K = 1..ranked.shape[1]: hits in the top K / number of relevant items, per user; NaN for no
    users (a group that is empty, e.g. test users without training ratings when every test user has some)."""
    if not len(relevant):
        return np.full(ranked.shape[1], np.nan)
    hits = hits_matrix(ranked, relevant).cumsum(axis=1)
    sizes = np.array([len(r) for r in relevant], dtype=np.float64)
    return (hits / sizes[:, None]).mean(axis=0)


def recall_per_user(ranked: np.ndarray, relevant: list[set[int]], k: int) -> np.ndarray:
    hits = hits_matrix(ranked[:, :k], relevant).sum(axis=1)
    return hits / np.array([len(r) for r in relevant], dtype=np.float64)


def ndcg_at_k(ranked: np.ndarray, relevant: list[set[int]], k: int) -> np.ndarray:
    """Per-user NDCG@k with binary relevance; ideal DCG puts min(k, |relevant|) hits first."""
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    gains = hits_matrix(ranked[:, :k], relevant).astype(np.float64)
    dcg = (gains * discounts[: gains.shape[1]]).sum(axis=1)
    ideal = np.array([discounts[: min(k, len(r))].sum() for r in relevant])
    return np.divide(dcg, ideal, out=np.zeros_like(dcg), where=ideal > 0)


def precision_at_k(ranked: np.ndarray, relevant: list[set[int]], k: int) -> np.ndarray:
    return hits_matrix(ranked[:, :k], relevant).sum(axis=1) / float(k)


def rmse(predicted, actual) -> float:
    diff = np.asarray(predicted, np.float64) - np.asarray(actual, np.float64)
    return float(np.sqrt(np.mean(diff**2))) if diff.size else float("nan")


def mae(predicted, actual) -> float:
    diff = np.asarray(predicted, np.float64) - np.asarray(actual, np.float64)
    return float(np.mean(np.abs(diff))) if diff.size else float("nan")
