"""The served catalogue: each movie's facts and training-period rating statistics, title search, the genre filter."""

from __future__ import annotations

import numpy as np
import pandas as pd

from movierec.features.space import FeatureSpace
from movierec.search import SearchResult, TitleIndex


class Catalogue:
    """Every movie of the bundle by catalogue row (movies sorted by movie_id, the rows of the movie vectors)."""

    def __init__(self, movies: pd.DataFrame, train_ratings: pd.DataFrame, space: FeatureSpace, genres: tuple[str, ...]):
        self.space = space
        self.genres = tuple(genres)  # the names of space.movie_genres' columns, in order (the genre filter's)
        self.movies = movies.sort_values("movie_id").reset_index(drop=True)
        self.titles = self.movies["title"].astype(str).tolist()
        self.movie_ids = self.movies["movie_id"].to_numpy().astype(np.int64)
        self._ids = self.movie_ids.tolist()
        self._genres = [str(g).split("|") for g in self.movies["genres"]]
        self._years = [None if pd.isna(y) else int(y) for y in self.movies["year"]]
        self._genre_matrix = space.movie_genres > 0
        stats = train_ratings.groupby("movie_id")["rating"].agg(["size", "mean"]).reindex(self.movies["movie_id"])
        self.rating_count = stats["size"].fillna(0).to_numpy().astype(np.int64)
        self.rating_mean = stats["mean"].to_numpy(dtype=np.float64)
        self.title_index = TitleIndex(self.titles, self.rating_count)  # forgiving search, built once

    @property
    def size(self) -> int:
        return len(self._ids)

    def rows(self, movie_ids) -> np.ndarray:
        """Catalogue rows of movie ids, -1 where a movie is not in the catalogue."""
        return self.space.catalog_rows(movie_ids)

    def require_rows(self, movie_ids) -> np.ndarray:
        """Catalogue rows of movie ids; KeyError naming the first movie that is not in the catalogue."""
        rows = self.rows(movie_ids)
        if np.any(rows < 0):
            raise KeyError(f"movie_id {int(np.asarray(movie_ids)[rows < 0][0])} is not in the catalogue")
        return rows

    def movie(self, row: int) -> dict:
        """Catalogue facts and training-period rating statistics of one catalogue row."""
        mean = self.rating_mean[row]
        return {
            **self.listing(row),
            "rating_count": int(self.rating_count[row]),
            "rating_mean": None if np.isnan(mean) else round(float(mean), 4),
        }

    def listing(self, row: int) -> dict:
        """What a recommended movie shows: id, title, genres and year."""
        return {
            "movie_id": self._ids[row],
            "title": self.titles[row],
            "genres": self._genres[row],
            "year": self._years[row],
        }

    def not_of_genres(self, genres: list[str]) -> np.ndarray:
        """Per catalogue row: the movie has none of these genres (ValueError for a genre not in the vocabulary)."""
        wanted = [self.genres.index(g) for g in genres]
        return ~self._genre_matrix[:, wanted].any(axis=1)

    def search(self, query: str, limit: int = 20) -> SearchResult:
        """Catalogue rows matching query forgivingly (movierec.search), best match then most rated first."""
        return self.title_index.search(query, limit)

    def rated(self, rows: np.ndarray, ratings: np.ndarray, order: np.ndarray) -> list[dict]:
        """(movie_id, title, rating) of the history entries at `order` (indices into rows and ratings)."""
        return [
            {"movie_id": self._ids[rows[i]], "title": self.titles[rows[i]], "rating": float(ratings[i])} for i in order
        ]
