"""The recommender: user context -> candidates -> rank -> explain, one collaborator per step.

One implementation serves the API, the offline evaluation and the notebooks. The hot path never calls
`model.predict` nor TensorFlow at all: the models run as exported ONNX graphs (movierec.models.runtime), and
retrieval is the score of movierec.scoring over precomputed movie vectors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from movierec.datasets.description import DatasetDescription
from movierec.features.space import FeatureSpace
from movierec.models.runtime import Model
from movierec.recommender.catalogue import Catalogue
from movierec.recommender.context import UserContext, UserContexts
from movierec.recommender.explain import Explainer
from movierec.recommender.ranker import Ranker
from movierec.retrievers.source import CandidateSource, Queries
from movierec.retrievers.topk import top_k_rows
from movierec.retrievers.vector_index import Backend
from movierec.scoring import Scorer, ScoringConfig, build_scorer

TWO_STAGE = "two_stage"  # the product's model: retrieval by the served score, then the final order


@dataclass
class Recommendation:
    rank: int
    movie_id: int
    title: str
    genres: list[str]
    year: int | None
    ranking_score: float  # the final list's order: the final score of movierec.scoring for the two stages
    predicted_rating: float  # the ranker's rating, on the dataset's scale
    retrieval_score: float  # s(u, m) of movierec.scoring (a peer method: its own score)
    because: dict | None


class Ranked(NamedTuple):
    """One user's list: catalogue rows best first, their ranking scores and the ranker's predicted ratings."""

    rows: np.ndarray
    ranking_scores: np.ndarray
    predicted: np.ndarray


class TwoStage:
    """The product: the top k_retrieve movies by the served score s, ordered by the final score f."""

    def __init__(self, scorer: Scorer, ranker: Ranker):
        self.scorer = scorer
        self.ranker = ranker

    def scores(self, user: UserContext) -> np.ndarray:
        return self.scorer.retrieval_scores(user.queries())[0]

    def order(
        self, queries: Queries, user_inputs: dict, scores: np.ndarray, candidates: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The final order of each user's retrieved candidates: (order, final scores, predicted ratings).

        queries: the users as retrieval read them (their vectors, histories, live flags); user_inputs: their
        user-tower inputs; scores: (users, catalogue) retrieval scores with excluded movies at -inf; candidates:
        (users, k) catalogue rows. order[i] sorts candidates[i] best first by the final score; final and predicted
        are (users, k).
        """
        predicted = self.ranker.predict_candidates(user_inputs, queries.vectors, candidates)
        final = self.scorer.final_scores(queries, user_inputs, scores, candidates, predicted)
        return np.argsort(-final, axis=1, kind="stable"), final, predicted

    def formula_order(self, scores: np.ndarray, candidates: np.ndarray, predicted: np.ndarray) -> np.ndarray:
        """The order the formula f alone gives the candidates (the learned final stage's reference)."""
        return np.argsort(-self.scorer.formula_scores(scores, candidates, predicted), axis=1, kind="stable")

    def rank(self, user: UserContext, scores: np.ndarray, k_retrieve: int, n_final: int) -> Ranked:
        k = min(k_retrieve, int(np.isfinite(scores).sum()))
        if k == 0:
            return Ranked(*(np.empty(0),) * 3)
        candidates = top_k_rows(scores, k)
        order, final, predicted = self.order(user.queries(), user.inputs, scores[None, :], candidates)
        order = order[0, :n_final]
        return Ranked(candidates[0, order], final[0, order], predicted[0, order])


class SingleStage:
    """A peer method served alone: its own scores order the list; the ranker only gives each movie's rating."""

    def __init__(self, source: CandidateSource, ranker: Ranker):
        self.source = source
        self.ranker = ranker

    def scores(self, user: UserContext) -> np.ndarray:
        return self.source.scores(user.queries())[0].astype(np.float64)  # finite: only exclusions become -inf

    def rank(self, user: UserContext, scores: np.ndarray, k_retrieve: int, n_final: int) -> Ranked:
        k = min(n_final, int(np.isfinite(scores).sum()))
        if k == 0:
            return Ranked(*(np.empty(0),) * 3)
        chosen = top_k_rows(scores, k)[0]
        return Ranked(chosen, scores[chosen], self.ranker.predict(user.inputs, user.vector, chosen))


class Recommender:
    """Serves lists for UserContexts (built by `contexts`) from the two stages or a peer method by name."""

    def __init__(
        self,
        contexts: UserContexts,
        catalogue: Catalogue,
        two_stage: TwoStage,
        explainer: Explainer,
        description: DatasetDescription,
        peers: dict[str, CandidateSource],
    ):
        self.contexts = contexts
        self.catalogue = catalogue
        self.two_stage = two_stage
        self.explainer = explainer
        self.description = description
        self.peers = dict(peers)

    @classmethod
    def build(
        cls,
        *,
        space: FeatureSpace,
        user_model: Model,
        ranking_model: Model,
        movie_vectors: np.ndarray,
        movies: pd.DataFrame,
        users: pd.DataFrame,
        train_ratings: pd.DataFrame,
        scoring: ScoringConfig,
        description: DatasetDescription,
        peers: dict[str, CandidateSource] | None = None,
        backend: Backend = "numpy",
        final_model: Model | None = None,
    ) -> Recommender:
        """The one way to assemble a recommender (training's evaluation and movierec.artifacts' bundles). peers:
        fitted methods by name, servable instead of the two stages (the transition term reads 'transitions');
        final_model: the learned final stage (None: the formula orders the candidates)."""
        peers = dict(peers or {})
        movie_vectors = np.ascontiguousarray(movie_vectors, dtype=np.float32)
        catalogue = Catalogue(movies, train_ratings, space, description.genres)
        scorer = build_scorer(scoring, movie_vectors, space, train_ratings, peers, backend, final_model)
        return cls(
            contexts=UserContexts(space, user_model, users, train_ratings, catalogue),
            catalogue=catalogue,
            two_stage=TwoStage(scorer, Ranker(ranking_model, space, movie_vectors)),
            explainer=Explainer(movie_vectors, catalogue, description.liked_threshold),
            description=description,
            peers=peers,
        )

    @property
    def space(self) -> FeatureSpace:
        return self.contexts.space

    @property
    def scorer(self) -> Scorer:
        return self.two_stage.scorer

    @property
    def ranker(self) -> Ranker:
        return self.two_stage.ranker

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
        """The top_n_final movies for the user: retrieval of top_k_retrieve candidates, then the final order.
        model names a peer method instead (single stage: its own scores order the list; top_k_retrieve is unused;
        the ranker still gives each movie's predicted rating). KeyError for a model this recommender does not hold."""
        if model not in self.models:
            raise KeyError(f"model {model!r} is not in this bundle; available: {', '.join(self.models)}")
        stage = self.two_stage if model == TWO_STAGE else SingleStage(self.peers[model], self.ranker)
        scores = stage.scores(user)
        if exclude_seen and len(user.history_rows):
            scores[user.history_rows] = -np.inf
        if genres:
            scores[self.catalogue.not_of_genres(genres)] = -np.inf
        ranked = stage.rank(user, scores, top_k_retrieve, top_n_final)
        because = self.explainer.because(user, ranked.rows)
        return [
            Recommendation(
                rank=i + 1,
                **self.catalogue.listing(row),
                ranking_score=float(ranked.ranking_scores[i]),
                predicted_rating=float(ranked.predicted[i]),
                retrieval_score=float(scores[row]),
                because=because[i],
            )
            for i, row in enumerate(ranked.rows.tolist())
        ]

    def score(self, user: UserContext, movie_ids) -> np.ndarray:
        """The ranker's predicted rating of each movie for the user (KeyError for a movie not in the catalogue)."""
        return self.ranker.predict(user.inputs, user.vector, self.catalogue.require_rows(movie_ids))

    def similar(self, movie_id: int, k: int = 10) -> list[tuple[int, float]]:
        """(catalogue row, cosine) of the k movies nearest to movie_id by the served movie vectors."""
        row = int(self.catalogue.rows([movie_id])[0])
        if row < 0:
            raise KeyError(f"movie_id {movie_id} is not in the catalogue")
        rows, scores = self.scorer.towers.similar(row, k)
        return [(int(r), float(s)) for r, s in zip(rows, scores, strict=True)]
