"""User contexts: everything about one user that a request needs, for a dataset user or a user not in the data."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from movierec.config import UNKNOWN_AGE, UNKNOWN_GENDER, UNKNOWN_OCCUPATION
from movierec.features.space import FeatureSpace
from movierec.models.runtime import Model, in_batches
from movierec.recommender.catalogue import Catalogue
from movierec.retrievers.history import HistoryBatch
from movierec.retrievers.source import Queries


def known_demographics(gender, age, occupation) -> dict:
    """A users-table row's demographics, None where the row says unknown (users created without them)."""
    return {
        "gender": None if pd.isna(gender) or gender == UNKNOWN_GENDER else str(gender),
        "age": None if pd.isna(age) or age == UNKNOWN_AGE else int(age),
        "occupation": None if pd.isna(occupation) or occupation == UNKNOWN_OCCUPATION else int(occupation),
    }


@dataclass
class UserContext:
    """Everything about one user that a request needs: model inputs, vector, what to exclude and explain."""

    inputs: dict[str, np.ndarray]
    vector: np.ndarray  # (1, d)
    history_rows: np.ndarray  # catalogue rows of rated movies (training period, or given ratings)
    history_ratings: np.ndarray  # float32 on the dataset's scale (half stars stay 4.5), aligned with history_rows
    user_id: int | None = None
    demographics: dict = field(default_factory=dict)
    live: bool = False  # the history holds ratings given after the training cut-off (live or given in the request)

    def queries(self) -> Queries:
        """This user as the candidate sources read a batch of one."""
        return Queries(HistoryBatch.one(self.history_rows, self.history_ratings), self.vector, np.array([self.live]))


class UserContexts:
    """Builds UserContexts: a dataset user's from the training period (plus live ratings given since), a new user's
    from optional demographics and ratings; the user tower (an ONNX model) gives each its vector."""

    def __init__(
        self,
        space: FeatureSpace,
        user_model: Model,
        users: pd.DataFrame,
        train_ratings: pd.DataFrame,
        catalogue: Catalogue,
    ):
        self.space = space
        self.catalogue = catalogue
        self._user_fn = user_model
        self.users = users.sort_values("user_id").reset_index(drop=True)
        ordered = train_ratings.sort_values(["user_id", "timestamp"], kind="stable")
        self._hist_users = ordered["user_id"].to_numpy()
        self._hist_rows = space.catalog_rows(ordered["movie_id"].to_numpy())
        self._hist_ratings = ordered["rating"].to_numpy().astype(np.float32)
        self._demographics = [
            known_demographics(g, a, o)
            for g, a, o in zip(self.users["gender"], self.users["age"], self.users["occupation"], strict=True)
        ]
        self._known_inputs = space.user_inputs(self.users["user_id"].to_numpy())
        self._known_vectors = self.vectors(self._known_inputs)

    def vectors(self, user_inputs: dict, batch_size: int = 1024) -> np.ndarray:
        """The user tower's served vectors for user inputs (FeatureSpace.user_inputs / profile_inputs)."""
        return in_batches(self._user_fn, user_inputs, batch_size)

    def is_dataset_user(self, user_id: int) -> bool:
        return bool(self.space.user_rows([user_id])[0] >= 0)

    def history(self, user_id: int) -> tuple[np.ndarray, np.ndarray]:
        """(catalogue rows, ratings) of a user's training-period ratings, oldest first."""
        lo, hi = np.searchsorted(self._hist_users, np.array([user_id, user_id + 1], dtype=self._hist_users.dtype))
        return self._hist_rows[lo:hi], self._hist_ratings[lo:hi]

    def known(self, user_id: int, live: Sequence[tuple[int, float]] = ()) -> UserContext:
        """A dataset user; `live` = (movie_id, rating) pairs given since, oldest first, which follow the training
        history: the user vector is then recomputed from the combined history and those movies count as seen."""
        row = int(self.space.user_rows([user_id])[0])
        if row < 0:
            raise KeyError(f"user_id {user_id} is not a dataset user")
        rows, ratings = self.history(user_id)
        demographics = dict(self._demographics[row])
        if len(live):
            live_ids, live_ratings, live_rows = self._catalogue_ratings(live)
            rerated = np.isin(self.catalogue.movie_ids[rows], live_ids)  # a live rating replaces the training one
            rows, ratings = rows[~rerated], ratings[~rerated]
            movie_ids = np.concatenate([self.catalogue.movie_ids[rows], live_ids])
            values = np.concatenate([ratings.astype(np.float32), live_ratings])
            inputs = self.space.profile_inputs(**demographics, movie_ids=movie_ids, ratings=values, user_id=user_id)
            return UserContext(
                inputs=inputs,
                vector=self.vectors(inputs),
                history_rows=np.concatenate([rows, live_rows]),
                history_ratings=values,
                user_id=int(user_id),
                demographics=demographics,
                live=True,
            )
        return UserContext(
            inputs={k: v[row : row + 1] for k, v in self._known_inputs.items()},
            vector=self._known_vectors[row : row + 1],
            history_rows=rows,
            history_ratings=ratings,
            user_id=int(user_id),
            demographics=demographics,
        )

    def new(
        self,
        gender: str | None = None,
        age: int | None = None,
        occupation: int | None = None,
        ratings: Sequence[tuple[int, float]] = (),
        user_id: int | None = None,
    ) -> UserContext:
        """A user who is not in the data: optional demographics plus ratings given, oldest first (movie ids must
        exist). user_id only labels the context (a user created through the API); the model sees an unknown user."""
        movie_ids, values, rows = self._catalogue_ratings(ratings)
        inputs = self.space.profile_inputs(gender, age, occupation, movie_ids, values)
        return UserContext(
            inputs=inputs,
            vector=self.vectors(inputs),
            history_rows=rows,
            history_ratings=values,
            user_id=None if user_id is None else int(user_id),
            demographics={"gender": gender, "age": age, "occupation": occupation},
            live=len(rows) > 0,  # ratings given now, after the training cut-off
        )

    def _catalogue_ratings(self, ratings: Sequence[tuple[int, float]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(movie ids, ratings, catalogue rows) of (movie_id, rating) pairs; KeyError for a movie not in the
        catalogue."""
        movie_ids = np.array([m for m, _ in ratings], dtype=np.int64)
        values = np.array([r for _, r in ratings], dtype=np.float32)
        return movie_ids, values, self.catalogue.require_rows(movie_ids)
