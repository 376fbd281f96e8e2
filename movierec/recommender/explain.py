"""Explanations: "because you liked X", the user's liked movie closest to each recommended one."""

from __future__ import annotations

import numpy as np

from movierec.recommender.catalogue import Catalogue
from movierec.recommender.context import UserContext


class Explainer:
    """For each recommended movie, the movie the user liked (rated at or above the dataset's liked threshold; their
    best rated when none is) whose served vector is most similar."""

    def __init__(self, movie_vectors: np.ndarray, catalogue: Catalogue, liked_threshold: float):
        self.movie_vectors = movie_vectors
        self.catalogue = catalogue
        self.liked_threshold = liked_threshold

    def because(self, user: UserContext, chosen: np.ndarray) -> list[dict | None]:
        """One {movie_id, title, rating} per chosen catalogue row, or None each for a user who rated nothing."""
        if len(user.history_rows) == 0:
            return [None] * len(chosen)
        ratings = np.asarray(user.history_ratings, dtype=np.float64)
        liked = ratings >= self.liked_threshold
        if not liked.any():
            liked = ratings == ratings.max()
        rows, values = user.history_rows[liked], ratings[liked]
        similarity = self.movie_vectors[rows] @ self.movie_vectors[chosen].T
        best = np.argmax(similarity, axis=0)
        return self.catalogue.rated(rows, values, best)

    def top_rated(self, user: UserContext, limit: int = 10) -> list[dict]:
        """A user's highest rated movies (latest first among equal ratings)."""
        order = np.lexsort((-np.arange(len(user.history_rows)), -np.asarray(user.history_ratings)))[:limit]
        return self.catalogue.rated(user.history_rows, user.history_ratings, order)
