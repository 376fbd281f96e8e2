"""FeatureSpace: everything fitted on the training period, and the one function that builds model inputs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from movierec.config import SECONDS_PER_DAY
from movierec.data.split import in_last_days
from movierec.datasets.description import DatasetDescription
from movierec.features.catalog import filled_years, genre_multi_hot
from movierec.features.encoders import UNKNOWN_INDEX, IndexEncoder

MOVIE_NUMERIC = ("year", "log_count", "log_count_recent", "shrunk_mean_rating", "log_days_since_first")
USER_NUMERIC = ("log_history", "history_mean_rating", "example_age_years")
SECONDS_PER_YEAR = 365.25 * SECONDS_PER_DAY
ENCODER_FIELDS = (
    "user_ids", "movie_ids", "genders", "ages", "occupations", "catalog_ids", "users_table_ids",
)  # fmt: skip
ARRAY_FIELDS = (
    "movie_index", "movie_genres", "movie_numeric", "user_gender", "user_age", "user_occupation",
    "history_movies", "history_ratings",
)  # fmt: skip
SCALAR_FIELDS = ("scalers", "year_fill", "history_length", "cutoff_timestamp", "rating_min", "rating_max")
USER_KEYS = (
    "user_id", "gender", "age", "occupation", "history_movies", "history_ratings", "user_numeric", "example_age",
)  # fmt: skip
USER_TOWER_KEYS = ("user_id", "gender", "age", "occupation", "history_movies", "history_ratings", "example_age")
MOVIE_KEYS = ("movie_id", "genres", "movie_numeric")


@dataclass
class FeatureSpace:
    """Encoders, scalers and lookup tables fitted on training ratings; turns ids into model inputs."""

    user_ids: IndexEncoder
    movie_ids: IndexEncoder
    genders: IndexEncoder
    ages: IndexEncoder
    occupations: IndexEncoder
    catalog_ids: IndexEncoder  # movie_id -> catalogue row + 1 (the whole movies table)
    users_table_ids: IndexEncoder  # user_id -> users table row + 1
    scalers: dict  # fitted scaling of the movie numeric features, as plain numbers (a record; not used at inference)
    year_fill: float
    history_length: int
    cutoff_timestamp: int
    rating_min: float  # the dataset's rating scale (its description's), which centre_ratings maps to -1..1
    rating_max: float
    # per catalogue row
    movie_index: np.ndarray
    movie_genres: np.ndarray
    movie_numeric: np.ndarray
    # per users table row
    user_gender: np.ndarray
    user_age: np.ndarray
    user_occupation: np.ndarray
    # per user index (row 0 = unknown user, empty history)
    history_movies: np.ndarray
    history_ratings: np.ndarray

    @classmethod
    def fit(
        cls,
        train: pd.DataFrame,
        users: pd.DataFrame,
        movies: pd.DataFrame,
        history_length: int = 100,
        recent_days: float = 30.0,
        *,
        description: DatasetDescription,
    ) -> FeatureSpace:
        """Fit on training ratings only; users and movies tables give demographics and catalogue content.

        description: the dataset's DatasetDescription (its vocabularies; an empty one: the feature is absent).
        """
        from sklearn.preprocessing import MinMaxScaler, StandardScaler  # training only: serving never fits

        if len(train) == 0:
            raise ValueError("cannot fit features on an empty training set")
        cutoff = int(train["timestamp"].max())
        movies = movies.sort_values("movie_id").reset_index(drop=True)
        users = users.sort_values("user_id").reset_index(drop=True)
        user_ids = IndexEncoder(train["user_id"].to_numpy())
        movie_ids = IndexEncoder(train["movie_id"].to_numpy())
        genders = IndexEncoder(np.array(sorted(description.genders), dtype=str))
        ages = IndexEncoder(np.array(sorted(description.age_groups), dtype=np.int64))
        occupations = IndexEncoder(np.array(sorted(description.occupations), dtype=np.int64))

        years, year_fill = filled_years(movies["year"])
        year_scaler = MinMaxScaler().fit(years.reshape(-1, 1))
        stats = _movie_stats(train, movies["movie_id"].to_numpy(), cutoff, recent_days)
        raw_numeric = np.column_stack([years, stats]).astype(np.float64)
        numeric_scaler = StandardScaler().fit(raw_numeric[:, 1:])
        movie_numeric = np.column_stack(
            [year_scaler.transform(years.reshape(-1, 1))[:, 0], numeric_scaler.transform(raw_numeric[:, 1:])]
        ).astype(np.float32)

        scale = (float(description.rating_min), float(description.rating_max))
        history_movies, history_ratings = _history_matrix(train, user_ids, movie_ids, history_length, scale)
        return cls(
            user_ids=user_ids,
            movie_ids=movie_ids,
            genders=genders,
            ages=ages,
            occupations=occupations,
            catalog_ids=IndexEncoder(movies["movie_id"].to_numpy()),
            users_table_ids=IndexEncoder(users["user_id"].to_numpy()),
            scalers={
                "year": {"min": float(year_scaler.data_min_[0]), "max": float(year_scaler.data_max_[0])},
                "movie_numeric": {
                    "columns": list(MOVIE_NUMERIC[1:]),
                    "mean": numeric_scaler.mean_.tolist(),
                    "scale": numeric_scaler.scale_.tolist(),
                },
            },
            year_fill=float(year_fill),
            history_length=int(history_length),
            cutoff_timestamp=cutoff,
            rating_min=scale[0],
            rating_max=scale[1],
            movie_index=movie_ids.transform(movies["movie_id"].to_numpy()),
            movie_genres=genre_multi_hot(movies["genres"], description.genres),
            movie_numeric=movie_numeric,
            user_gender=genders.transform(users["gender"].astype(str).to_numpy()),
            user_age=ages.transform(users["age"].to_numpy()),
            user_occupation=occupations.transform(users["occupation"].to_numpy()),
            history_movies=history_movies,
            history_ratings=history_ratings,
        )

    # ---- sizes the models need -------------------------------------------------------------
    @property
    def vocab_sizes(self) -> dict[str, int]:
        return {
            "user_id": self.user_ids.size,
            "movie_id": self.movie_ids.size,
            "gender": self.genders.size,
            "age": self.ages.size,
            "occupation": self.occupations.size,
            "genres": int(self.movie_genres.shape[1]),
            "movie_numeric": len(MOVIE_NUMERIC),
            "user_numeric": len(USER_NUMERIC),
            "history_length": self.history_length,
        }

    # ---- plain arrays + JSON (how a bundle stores it: no pickle) ------------------------------
    def to_arrays(self) -> tuple[dict[str, np.ndarray], dict]:
        """(named arrays, JSON-able scalars): everything needed to rebuild this space with from_arrays."""
        arrays = {f"{name}_classes": getattr(self, name).classes_ for name in ENCODER_FIELDS}
        arrays.update({name: getattr(self, name) for name in ARRAY_FIELDS})
        meta = {name: getattr(self, name) for name in SCALAR_FIELDS}
        return arrays, meta

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], meta: dict) -> FeatureSpace:
        """Inverse of to_arrays; KeyError names a missing array or value."""
        encoders = {name: IndexEncoder.from_classes(arrays[f"{name}_classes"]) for name in ENCODER_FIELDS}
        return cls(
            **encoders,
            **{name: np.asarray(arrays[name]) for name in ARRAY_FIELDS},
            **{name: meta[name] for name in SCALAR_FIELDS},
        )

    def centre_ratings(self, ratings) -> np.ndarray:
        """Ratings on the dataset's scale mapped to -1..1, rating_min to -1 and rating_max to 1 (how history ratings
        enter the models)."""
        return _centre(ratings, (self.rating_min, self.rating_max))

    @property
    def n_catalog(self) -> int:
        return len(self.movie_index)

    # ---- rows -------------------------------------------------------------------------------
    def catalog_rows(self, movie_ids) -> np.ndarray:
        """Catalogue row of each movie id; -1 for ids not in the movies table."""
        return self.catalog_ids.transform(movie_ids) - 1

    def user_rows(self, user_ids) -> np.ndarray:
        """Users table row of each user id; -1 for ids not in the users table."""
        return self.users_table_ids.transform(user_ids) - 1

    # ---- model inputs (the single code path for training, evaluation and serving) -------------
    def movie_statistic(self, name: str) -> np.ndarray:
        """One training-period statistic per catalogue row in its own units (e.g. log_count_recent: log(1 + rating
        count in the last recent_days days)), undoing the standard scaling of movie_numeric."""
        scaler = self.scalers["movie_numeric"]
        columns = scaler["columns"]
        if name not in columns:
            raise KeyError(f"no movie statistic {name!r}; the feature space holds {', '.join(columns)}")
        i = columns.index(name)
        return self.movie_numeric[:, 1 + i].astype(np.float64) * scaler["scale"][i] + scaler["mean"][i]

    def movie_inputs(self, catalog_rows: np.ndarray) -> dict[str, np.ndarray]:
        rows = np.asarray(catalog_rows, dtype=np.int64)
        return {
            "movie_id": self.movie_index[rows],
            "genres": self.movie_genres[rows],
            "movie_numeric": self.movie_numeric[rows],
        }

    def user_inputs(
        self,
        user_ids,
        exclude_movie_ids=None,
        cold: np.ndarray | None = None,
        timestamps=None,
    ) -> dict[str, np.ndarray]:
        """Inputs of known users (ids of the users table): demographics plus training-period history.

        exclude_movie_ids drops each row's target movie from its history (leave-one-out for training);
        cold marks rows to present as unknown users (no id, no history), which trains the cold path;
        timestamps (training examples only) give each row its age before the cut-off; serving leaves it 0 (now).
        """
        user_ids = np.asarray(user_ids)
        rows = self.user_rows(user_ids)
        if np.any(rows < 0):
            bad = user_ids[rows < 0][0]
            raise KeyError(f"user_id {bad} is not in the users table")
        index = self.user_ids.transform(user_ids)
        hist_m = self.history_movies[index]
        hist_r = self.history_ratings[index]
        if exclude_movie_ids is not None:
            target = self.movie_ids.transform(exclude_movie_ids)
            hit = (hist_m == target[:, None]) & (target[:, None] != UNKNOWN_INDEX)
            if hit.any():
                hist_m = np.where(hit, 0, hist_m)
                hist_r = np.where(hit, 0.0, hist_r).astype(np.float32)
        if cold is not None and cold.any():
            index = np.where(cold, UNKNOWN_INDEX, index)
            hist_m = np.where(cold[:, None], 0, hist_m)
            hist_r = np.where(cold[:, None], 0.0, hist_r).astype(np.float32)
        return self.assemble_user(
            index,
            self.user_gender[rows],
            self.user_age[rows],
            self.user_occupation[rows],
            hist_m,
            hist_r,
            self.example_age(timestamps, len(index)),
        )

    def example_age(self, timestamps, n: int) -> np.ndarray:
        """Years between each example and the cut-off (0 = now, which is what serving always uses)."""
        if timestamps is None:
            return np.zeros(n, np.float32)
        return ((self.cutoff_timestamp - np.asarray(timestamps, np.float64)) / SECONDS_PER_YEAR).astype(np.float32)

    def profile_inputs(
        self,
        gender: str | None,
        age: int | None,
        occupation: int | None,
        movie_ids=(),
        ratings=(),
        user_id: int | None = None,
    ) -> dict[str, np.ndarray]:
        """Inputs of one user from demographics and a rating history (latest last): a new user, or (with user_id)
        a known user whose history goes on after the training period; ids unknown to training encode as 0."""
        # slot 0 holds the most recent rating, as in the training histories
        movie_ids = np.asarray(movie_ids, dtype=np.int64)[::-1][: self.history_length]
        ratings = np.asarray(ratings, dtype=np.float32)[::-1][: self.history_length]
        hist_m = np.zeros((1, self.history_length), dtype=np.int32)
        hist_r = np.zeros((1, self.history_length), dtype=np.float32)
        encoded = self.movie_ids.transform(movie_ids)
        hist_m[0, : len(encoded)] = encoded
        hist_r[0, : len(encoded)] = np.where(encoded != UNKNOWN_INDEX, self.centre_ratings(ratings), 0.0)

        def code(encoder: IndexEncoder, value) -> np.ndarray:
            return encoder.transform(np.array([value])) if value is not None else np.zeros(1, np.int32)

        return self.assemble_user(
            code(self.user_ids, user_id),
            code(self.genders, gender),
            code(self.ages, age),
            code(self.occupations, occupation),
            hist_m,
            hist_r,
            np.zeros(1, np.float32),
        )

    def build_inputs(self, user_ids, movie_ids, exclude_target: bool = False, cold=None) -> dict[str, np.ndarray]:
        """Inputs for (user, movie) pairs: user features + movie features, aligned row by row."""
        movie_rows = self.catalog_rows(movie_ids)
        if np.any(movie_rows < 0):
            raise KeyError(f"movie_id {np.asarray(movie_ids)[movie_rows < 0][0]} is not in the movies table")
        inputs = self.user_inputs(user_ids, exclude_movie_ids=movie_ids if exclude_target else None, cold=cold)
        inputs.update(self.movie_inputs(movie_rows))
        return inputs

    @staticmethod
    def assemble_user(index, gender, age, occupation, hist_m, hist_r, example_age) -> dict[str, np.ndarray]:
        """User-tower inputs from encoded ids and history arrays (slot 0 = most recent); every builder ends here."""
        count = (hist_m != 0).sum(axis=1)
        mean_rating = np.divide(hist_r.sum(axis=1), count, out=np.zeros(len(count), np.float32), where=count > 0)
        numeric = user_numeric(count, mean_rating, example_age)
        return {
            "user_id": np.asarray(index, dtype=np.int32),
            "gender": np.asarray(gender, dtype=np.int32),
            "age": np.asarray(age, dtype=np.int32),
            "occupation": np.asarray(occupation, dtype=np.int32),
            "history_movies": np.asarray(hist_m, dtype=np.int32),
            "history_ratings": np.asarray(hist_r, dtype=np.float32),
            "user_numeric": numeric,
            "example_age": np.asarray(example_age, dtype=np.float32),
        }


def user_numeric(count, mean_rating, example_age) -> np.ndarray:
    """USER_NUMERIC columns: scaled log of the ratings in the history, their mean (centred), the example's age."""
    return np.column_stack([np.log1p(count) / np.log1p(100.0), mean_rating, example_age]).astype(np.float32)


def _movie_stats(train: pd.DataFrame, catalog: np.ndarray, cutoff: int, recent_days: float) -> np.ndarray:
    """Per catalogue movie: log count, log recent count, shrunk mean rating, log days since first rating."""
    grouped = train.groupby("movie_id").agg(
        count=("rating", "size"), total=("rating", "sum"), first=("timestamp", "min")
    )
    recent = train.loc[in_last_days(train["timestamp"], recent_days, cutoff)].groupby("movie_id").size()
    grouped = grouped.reindex(catalog)
    count = grouped["count"].fillna(0).to_numpy(dtype=np.float64)
    total = grouped["total"].fillna(0).to_numpy(dtype=np.float64)
    global_mean = float(train["rating"].mean())
    prior = 10.0
    shrunk = (total + prior * global_mean) / (count + prior)
    days = ((cutoff - grouped["first"].fillna(cutoff).to_numpy(dtype=np.float64)) / SECONDS_PER_DAY).clip(0)
    recent_count = recent.reindex(catalog).fillna(0).to_numpy(dtype=np.float64)
    return np.column_stack([np.log1p(count), np.log1p(recent_count), shrunk, np.log1p(days)])


def _centre(ratings, scale: tuple[float, float]) -> np.ndarray:
    """Ratings mapped to -1..1 over the scale (lowest, highest): as float32, minus the midpoint, over half the range."""
    low, high = float(scale[0]), float(scale[1])
    mid, half_range = (low + high) / 2, (high - low) / 2
    return ((np.asarray(ratings, dtype=np.float32) - mid) / half_range).astype(np.float32)


def _history_matrix(
    train: pd.DataFrame, user_ids: IndexEncoder, movie_ids: IndexEncoder, length: int, scale: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """Each known user's latest `length` training ratings (slot 0 = most recent) as (movie index, rating centred
    over the scale) rows; row 0 (the unknown user) is empty."""
    ordered = train.sort_values(["user_id", "timestamp"], kind="stable")
    from_end = ordered.groupby("user_id").cumcount(ascending=False).to_numpy()
    keep = from_end < length
    kept = ordered.loc[keep]
    rows = user_ids.transform(kept["user_id"].to_numpy())
    cols = from_end[keep]
    movies = np.zeros((user_ids.size, length), dtype=np.int32)
    ratings = np.zeros((user_ids.size, length), dtype=np.float32)
    movies[rows, cols] = movie_ids.transform(kept["movie_id"].to_numpy())
    ratings[rows, cols] = _centre(kept["rating"].to_numpy(), scale)
    return movies, ratings
