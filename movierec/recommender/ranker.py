"""The served rating ranker: predicted ratings for (user, movie) pairs, or for one user against many movies."""

from __future__ import annotations

import numpy as np

from movierec.features.pairs import RANKER_USER_KEYS, ranking_inputs
from movierec.features.space import FeatureSpace
from movierec.models.runtime import Model, in_batches


class Ranker:
    """The exported ranking model (an ONNX graph) over the feature space's movie inputs and the movie vectors."""

    def __init__(self, model: Model, space: FeatureSpace, movie_vectors: np.ndarray):
        self._rank_fn = model
        self.space = space
        self.movie_vectors = movie_vectors

    def predict(self, user_inputs: dict, user_vectors: np.ndarray, movie_rows, batch_size: int = 65536) -> np.ndarray:
        """The predicted rating of each (user row, movie row) pair, or of one user against many rows.

        user_inputs needs only the RANKER_USER_KEYS; see pair_inputs for many pairs of few users.
        """
        inputs = ranking_inputs(
            self.space, user_inputs, user_vectors, np.asarray(movie_rows), self.movie_vectors, broadcast=False
        )
        return in_batches(self._rank_fn, inputs, batch_size)

    def predict_candidates(self, user_inputs: dict, user_vectors: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        """(users, k) predicted ratings of each user's k candidate rows (the user tower's output computed once per
        user, not per pair)."""
        n, k = candidates.shape
        if n == 1:  # one user against many rows: the ranker broadcasts the user's inputs
            pair_inputs, pair_vectors = user_inputs, user_vectors
        else:
            pair_inputs, pair_vectors = self.pair_inputs(user_inputs, user_vectors, np.repeat(np.arange(n), k))
        return self.predict(pair_inputs, pair_vectors, candidates.ravel()).reshape(n, k)

    @staticmethod
    def pair_inputs(user_inputs: dict, user_vectors: np.ndarray, pair_user: np.ndarray) -> tuple[dict, np.ndarray]:
        """Per-pair ranker inputs and vectors from per-user ones (the user tower runs once per user, not per pair)."""
        return {key: user_inputs[key][pair_user] for key in RANKER_USER_KEYS}, user_vectors[pair_user]
