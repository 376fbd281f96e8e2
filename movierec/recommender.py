"""The two-stage recommender: user vector -> top-K over precomputed movie vectors -> DNN ranker.

One implementation serves the API, the offline evaluation and the notebooks. The hot path never calls
`model.predict` nor TensorFlow at all: the models run as exported ONNX graphs (movierec.models.runtime), and
retrieval is a matrix-vector product over precomputed movie vectors.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from movierec.config import UNKNOWN_AGE, UNKNOWN_GENDER, UNKNOWN_OCCUPATION
from movierec.datasets.description import DatasetDescription
from movierec.datasets.ml1m import DESCRIPTION as ML1M_DESCRIPTION
from movierec.features.pairs import RANKER_USER_KEYS, ranking_inputs
from movierec.features.space import FeatureSpace
from movierec.models.final_score import FinalScorer
from movierec.models.live_weight import LiveWeight
from movierec.models.recent_popularity import RecentPopularity
from movierec.retrievers.history import HistoryBatch
from movierec.retrievers.transitions import TransitionTerm
from movierec.search import SearchResult, TitleIndex

TWO_STAGE = "two_stage"  # the product's model: two-tower retrieval, then the ranker


def top_k_rows(scores: np.ndarray, k: int) -> np.ndarray:
    """Row-wise indices of the k highest scores, best first; -inf entries come last (callers cap k)."""
    scores = np.atleast_2d(scores)
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


Model = Callable[[dict[str, np.ndarray]], np.ndarray]  # a model on named input arrays (movierec.models.runtime)


def in_batches(model: Model, inputs: dict[str, np.ndarray], batch_size: int) -> np.ndarray:
    """model over aligned input arrays in row batches (bounds the memory of large evaluations); an array of one row
    among longer ones (one user for many movies) goes whole into every batch."""
    n = max(len(v) for v in inputs.values())
    if n <= batch_size:
        return model(inputs)

    def rows(array: np.ndarray, i: int) -> np.ndarray:
        return array if len(array) == 1 else array[i : i + batch_size]

    return np.concatenate([model({k: rows(v, i) for k, v in inputs.items()}) for i in range(0, n, batch_size)])


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


@dataclass
class Recommendation:
    rank: int
    movie_id: int
    title: str
    genres: list[str]
    year: int | None
    ranking_score: float  # P(the user's next rating is this movie and is liked): the final list's order
    predicted_rating: float  # the ranker's rating, on the dataset's scale
    retrieval_score: float  # cosine of user and movie vectors (a peer method: its own score)
    because: dict | None


class Recommender:
    """Loads nothing itself: give it the fitted feature space, models and tables (see movierec.artifacts).

    user_model and ranking_model are callables on dicts of named arrays (OnnxModel on every path the product runs).
    description: the dataset's (a bundle's description); its liked_threshold picks the "because you liked" movies,
    its genres name the columns of space.movie_genres. peers: fitted movierec.retrievers.Retriever by name, servable
    instead of the two stages. live_weight: the sequence branch's weight for users with live ratings (None: the
    trained weight for everyone). transitions: the transition term retrieval adds for users with live ratings,
    popularity the recent-popularity term for the others (None: the towers alone).
    """

    def __init__(
        self,
        space: FeatureSpace,
        user_model: Model,
        ranking_model: Model,
        movie_vectors: np.ndarray,
        movies: pd.DataFrame,
        users: pd.DataFrame,
        train_ratings: pd.DataFrame,
        final_scorer: FinalScorer,
        description: DatasetDescription = ML1M_DESCRIPTION,
        peers: dict | None = None,
        live_weight: LiveWeight | None = None,
        transitions: TransitionTerm | None = None,
        popularity: RecentPopularity | None = None,
    ):
        self.space = space
        self.live_weight = live_weight
        self.transitions = transitions
        self.popularity = popularity
        self.description = description
        self.final_scorer = final_scorer
        self.peers: dict = dict(peers or {})
        self.movie_vectors = np.ascontiguousarray(movie_vectors, dtype=np.float32)
        self._user_fn = user_model
        self._rank_fn = ranking_model
        self.movies = movies.sort_values("movie_id").reset_index(drop=True)
        self.users = users.sort_values("user_id").reset_index(drop=True)
        self._titles = self.movies["title"].astype(str).tolist()
        self._movie_id_array = self.movies["movie_id"].to_numpy().astype(np.int64)
        self._movie_ids = self._movie_id_array.tolist()
        self._genres = [str(g).split("|") for g in self.movies["genres"]]
        self._years = [None if pd.isna(y) else int(y) for y in self.movies["year"]]
        self._genre_matrix = space.movie_genres > 0
        ordered = train_ratings.sort_values(["user_id", "timestamp"], kind="stable")
        self._hist_users = ordered["user_id"].to_numpy()
        self._hist_rows = space.catalog_rows(ordered["movie_id"].to_numpy())
        self._hist_ratings = ordered["rating"].to_numpy().astype(np.float32)
        stats = train_ratings.groupby("movie_id")["rating"].agg(["size", "mean"]).reindex(self.movies["movie_id"])
        self.movie_rating_count = stats["size"].fillna(0).to_numpy().astype(np.int64)
        self.movie_rating_mean = stats["mean"].to_numpy(dtype=np.float64)
        self.title_index = TitleIndex(self._titles, self.movie_rating_count)  # forgiving search, built once
        self._demographics = [
            known_demographics(g, a, o)
            for g, a, o in zip(self.users["gender"], self.users["age"], self.users["occupation"], strict=True)
        ]
        all_users = self.users["user_id"].to_numpy()
        self._known_inputs = space.user_inputs(all_users)
        self._known_vectors = self.user_vectors(self._known_inputs)

    # ---- batch building blocks (evaluation uses these directly) ---------------------------------
    def user_vectors(self, user_inputs: dict, batch_size: int = 1024) -> np.ndarray:
        return in_batches(self._user_fn, user_inputs, batch_size)

    def retrieval_vectors(self, user_vectors: np.ndarray, live) -> np.ndarray:
        """The vectors retrieval scores with: rows of users with live ratings rescaled to the live weight."""
        return user_vectors if self.live_weight is None else self.live_weight.rescale(user_vectors, live)

    def retrieval_scores(self, user_vectors: np.ndarray, live, recent: HistoryBatch | None) -> np.ndarray:
        """(users, catalogue) retrieval scores: the served vectors' dot product with the movie vectors, with the live
        weight and the transition term of the user's latest ratings (`recent`: one history per user, oldest first) for
        users with live ratings; a user forecast from the training period gets the recent-popularity term instead."""
        live = np.asarray(live, dtype=bool)
        scores = self.retrieval_vectors(user_vectors, live) @ self.movie_vectors.T
        if self.transitions is not None and recent is not None and live.any():
            scores += self.transitions.scores(recent) * live[:, None]
        if self.popularity is not None and not live.all():
            scores += self.popularity.scores(live)
        return scores

    def predict_ratings(self, user_inputs: dict, user_vectors: np.ndarray, movie_rows, batch_size: int = 65536):
        """The ranker's predicted rating for each (user row, movie row) pair, or one user against many rows.

        user_inputs needs only the RANKER_USER_KEYS; see pair_user_inputs for many pairs of few users.
        """
        inputs = ranking_inputs(
            self.space, user_inputs, user_vectors, np.asarray(movie_rows), self.movie_vectors, broadcast=False
        )
        return in_batches(self._rank_fn, inputs, batch_size)

    def final_order(
        self, user_inputs: dict, user_vectors: np.ndarray, scores: np.ndarray, candidates: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The two-stage order of each user's retrieved candidates: (order, final scores, predicted ratings).

        scores: (users, catalogue) retrieval scores with excluded movies at -inf; candidates: (users, k) catalogue
        rows. order[i] sorts candidates[i] best first by the FinalScorer; final and predicted are (users, k).
        """
        n, k = candidates.shape
        if n == 1:  # one user against many rows: the ranker broadcasts the user's inputs
            pair_inputs, pair_vectors = user_inputs, user_vectors
        else:
            pair_inputs, pair_vectors = self.pair_user_inputs(user_inputs, user_vectors, np.repeat(np.arange(n), k))
        predicted = self.predict_ratings(pair_inputs, pair_vectors, candidates.ravel()).reshape(n, k)
        scorer = self.final_scorer
        final = scorer.scores(
            np.take_along_axis(scores, candidates, axis=1), predicted, scorer.log_normaliser(scores)[:, None]
        )
        return np.argsort(-final, axis=1, kind="stable"), final, predicted

    @staticmethod
    def pair_user_inputs(user_inputs: dict, user_vectors: np.ndarray, pair_user: np.ndarray) -> tuple[dict, np.ndarray]:
        """Per-pair ranker inputs and vectors from per-user ones (the user tower runs once per user, not per pair)."""
        return {key: user_inputs[key][pair_user] for key in RANKER_USER_KEYS}, user_vectors[pair_user]

    def history(self, user_id: int) -> tuple[np.ndarray, np.ndarray]:
        """(catalogue rows, ratings) of a user's training-period ratings, oldest first."""
        lo, hi = np.searchsorted(self._hist_users, np.array([user_id, user_id + 1], dtype=self._hist_users.dtype))
        return self._hist_rows[lo:hi], self._hist_ratings[lo:hi]

    # ---- users ------------------------------------------------------------------------------------
    def known_user(self, user_id: int, live: Sequence[tuple[int, float]] = ()) -> UserContext:
        """A dataset user; `live` = (movie_id, rating) pairs given since, oldest first, which follow the training
        history: the user vector is then recomputed from the combined history and those movies count as seen."""
        row = int(self.space.user_rows([user_id])[0])
        if row < 0:
            raise KeyError(f"user_id {user_id} is not a dataset user")
        rows, ratings = self.history(user_id)
        demographics = dict(self._demographics[row])
        if len(live):
            live_ids, live_ratings, live_rows = self._catalogue_ratings(live)
            rerated = np.isin(self._movie_id_array[rows], live_ids)  # a live rating replaces the training one
            rows, ratings = rows[~rerated], ratings[~rerated]
            movie_ids = np.concatenate([self._movie_id_array[rows], live_ids])
            values = np.concatenate([ratings.astype(np.float32), live_ratings])
            inputs = self.space.profile_inputs(**demographics, movie_ids=movie_ids, ratings=values, user_id=user_id)
            return UserContext(
                inputs=inputs,
                vector=self.user_vectors(inputs),
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

    def _catalogue_ratings(self, ratings: Sequence[tuple[int, float]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(movie ids, ratings, catalogue rows) of (movie_id, rating) pairs; KeyError for a movie not in the
        catalogue."""
        movie_ids = np.array([m for m, _ in ratings], dtype=np.int64)
        values = np.array([r for _, r in ratings], dtype=np.float32)
        rows = self.space.catalog_rows(movie_ids)
        if np.any(rows < 0):
            raise KeyError(f"movie_id {int(movie_ids[rows < 0][0])} is not in the catalogue")
        return movie_ids, values, rows

    def new_user(
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
            vector=self.user_vectors(inputs),
            history_rows=rows,
            history_ratings=values,
            user_id=None if user_id is None else int(user_id),
            demographics={"gender": gender, "age": age, "occupation": occupation},
            live=len(rows) > 0,  # ratings given now, after the training cut-off
        )

    # ---- the two stages ---------------------------------------------------------------------------
    @property
    def genre_vocabulary(self) -> tuple[str, ...]:
        """The genre names of space.movie_genres' columns, in order (the genres filter's)."""
        return self.description.genres

    @property
    def models(self) -> tuple[str, ...]:
        """What `recommend` can run: the two stages, then the peers' methods this recommender holds."""
        return (TWO_STAGE, *self.peers)

    def recommend(
        self,
        user: UserContext,
        top_k_retrieve: int = 200,
        top_n_final: int = 10,
        exclude_seen: bool = True,
        genres: list[str] | None = None,
        model: str = TWO_STAGE,
    ) -> list[Recommendation]:
        """The top_n_final movies for the user: retrieval of top_k_retrieve candidates, then the ranker's final order.
        model names a peer method instead (single stage: its own scores order the list; top_k_retrieve is unused;
        the ranker still gives each movie's predicted rating). KeyError for a model this recommender does not hold."""
        if model != TWO_STAGE and model not in self.peers:
            raise KeyError(f"model {model!r} is not in this bundle; available: {', '.join(self.models)}")
        if model == TWO_STAGE:
            recent = None  # only a user with live ratings gets the transition term (retrieval_scores)
            if user.live and self.transitions is not None:
                recent = HistoryBatch.one(user.history_rows, user.history_ratings)
            scores = self.retrieval_scores(user.vector, [user.live], recent)[0]
        else:
            from movierec.retrievers import History

            history = History(self._movie_id_array[user.history_rows], user.history_ratings)
            scores = self.peers[model].scores([history])[0].astype(np.float64)  # finite: only exclusions are -inf
        if exclude_seen and len(user.history_rows):
            scores[user.history_rows] = -np.inf
        if genres:
            wanted = [self.genre_vocabulary.index(g) for g in genres]
            scores[~self._genre_matrix[:, wanted].any(axis=1)] = -np.inf
        available = int(np.isfinite(scores).sum())
        if model == TWO_STAGE:
            k = min(top_k_retrieve, available)
            if k == 0:
                return []
            candidates = top_k_rows(scores, k)
            order, final, predicted = self.final_order(user.inputs, user.vector, scores[None, :], candidates)
            order, final, predicted = order[0, :top_n_final], final[0], predicted[0]
            chosen = candidates[0, order]
        else:
            k = min(top_n_final, available)
            if k == 0:
                return []
            chosen = top_k_rows(scores, k)[0]
            order, final = np.arange(k), scores[chosen]
            predicted = self.predict_ratings(user.inputs, user.vector, chosen)
        because = self._because(user, chosen)
        return [
            Recommendation(
                rank=i + 1,
                movie_id=self._movie_ids[row],
                title=self._titles[row],
                genres=self._genres[row],
                year=self._years[row],
                ranking_score=float(final[j]),
                predicted_rating=float(predicted[j]),
                retrieval_score=float(scores[row]),
                because=because[i],
            )
            for i, (j, row) in enumerate(zip(order, chosen, strict=True))
        ]

    def score(self, user: UserContext, movie_ids) -> np.ndarray:
        rows = self.space.catalog_rows(movie_ids)
        if np.any(rows < 0):
            raise KeyError(f"movie_id {int(np.asarray(movie_ids)[rows < 0][0])} is not in the catalogue")
        return self.predict_ratings(user.inputs, user.vector, rows)

    def similar(self, movie_id: int, k: int = 10) -> list[tuple[int, float]]:
        """Nearest catalogue rows by cosine of the (unit-norm) movie vectors, the movie itself excluded."""
        row = int(self.space.catalog_rows([movie_id])[0])
        if row < 0:
            raise KeyError(f"movie_id {movie_id} is not in the catalogue")
        scores = self.movie_vectors @ self.movie_vectors[row]
        scores[row] = -np.inf
        top = top_k_rows(scores, k)[0]
        return [(int(r), float(scores[r])) for r in top]

    def _because(self, user: UserContext, chosen: np.ndarray) -> list[dict | None]:
        if len(user.history_rows) == 0:
            return [None] * len(chosen)
        ratings = np.asarray(user.history_ratings, dtype=np.float64)
        liked = ratings >= self.description.liked_threshold
        if not liked.any():
            liked = ratings == ratings.max()
        rows, values = user.history_rows[liked], ratings[liked]
        similarity = self.movie_vectors[rows] @ self.movie_vectors[chosen].T
        best = np.argmax(similarity, axis=0)
        return [
            {"movie_id": self._movie_ids[rows[b]], "title": self._titles[rows[b]], "rating": float(values[b])}
            for b in best
        ]

    def movie(self, row: int) -> dict:
        """Catalogue facts and training-period rating statistics of one catalogue row."""
        mean = self.movie_rating_mean[row]
        return {
            "movie_id": self._movie_ids[row],
            "title": self._titles[row],
            "genres": self._genres[row],
            "year": self._years[row],
            "rating_count": int(self.movie_rating_count[row]),
            "rating_mean": None if np.isnan(mean) else round(float(mean), 4),
        }

    def search(self, query: str, limit: int = 20) -> SearchResult:
        """Catalogue rows matching query forgivingly (movierec.search), best match then most rated first."""
        return self.title_index.search(query, limit)

    def top_rated(self, user: UserContext, limit: int = 10) -> list[dict]:
        """A user's highest rated movies (latest first among equal ratings)."""
        order = np.lexsort((-np.arange(len(user.history_rows)), -np.asarray(user.history_ratings)))[:limit]
        return [
            {
                "movie_id": self._movie_ids[user.history_rows[i]],
                "title": self._titles[user.history_rows[i]],
                "rating": float(user.history_ratings[i]),
            }
            for i in order
        ]


__all__ = ["Recommender", "Recommendation", "UserContext", "top_k_rows"]
