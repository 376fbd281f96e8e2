"""Ranker inputs for (user, movie) pairs: the single path that training batches, evaluation and serving share."""

from __future__ import annotations

import numpy as np

RANKER_USER_KEYS = ("user_id", "user_numeric")  # the only user-tower inputs the ranker reads itself


def ranking_inputs(space, user_inputs: dict, user_vectors, movie_rows, movie_vectors, broadcast: bool = True) -> dict:
    """Ranker inputs for (user, movie) pairs aligned row by row; the single path for training, eval and serving.

    user_inputs/user_vectors hold one row per pair, or a single row for every pair: broadcast to every pair, or
    with broadcast=False left as one row (the exported ranker takes one user row for many movies and runs its user
    part once); movie_rows index the catalogue (rows of movies.parquet and of movie_vectors).
    """
    rows = np.asarray(movie_rows, dtype=np.int64)
    n = len(rows)

    def per_pair(array):
        array = np.asarray(array)
        return np.broadcast_to(array, (n, *array.shape[1:])) if broadcast and len(array) == 1 and n != 1 else array

    return {
        "user_vector": per_pair(user_vectors).astype(np.float32, copy=False),
        "movie_vector": movie_vectors[rows],
        "user_id": per_pair(user_inputs["user_id"]),
        "movie_id": space.movie_index[rows],
        "user_numeric": per_pair(user_inputs["user_numeric"]),
        "movie_numeric": space.movie_numeric[rows],
    }
