"""Fixtures of the retriever tests: a hand-made six-movie world (the synthetic split is tests/movierec/conftest.py's)."""

from __future__ import annotations

import pandas as pd
import pytest

from movierec.features.space import FeatureSpace


@pytest.fixture(scope="module")
def small(synthetic_data):
    """(train, space, movie ids): six catalogue movies, the last one never rated in training; four users, of whom
    1 and 2 rated the same movies (0, 1, 2), 3 rated 2 and 3, 4 rated 3 and 4."""
    movies = synthetic_data.movies.sort_values("movie_id").head(6).reset_index(drop=True)
    users = synthetic_data.users.sort_values("user_id").head(4).reset_index(drop=True)
    m = movies["movie_id"].tolist()
    rows = [
        (1, 0, 5),
        (1, 1, 4),
        (1, 2, 2),
        (2, 0, 4),
        (2, 1, 5),
        (2, 2, 3),
        (3, 2, 4),
        (3, 3, 5),
        (4, 3, 2),
        (4, 4, 1),
    ]
    train = pd.DataFrame(
        [(u, m[i], r, 100 + n) for n, (u, i, r) in enumerate(rows)],
        columns=["user_id", "movie_id", "rating", "timestamp"],
    )
    return train, FeatureSpace.fit(train, users, movies, history_length=4, description=synthetic_data.description), m
