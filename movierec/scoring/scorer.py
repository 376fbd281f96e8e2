"""The Scorer: the retrieval score and the final score of movierec.scoring, built by build_scorer."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from movierec.features.space import FeatureSpace
from movierec.models.runtime import Model
from movierec.retrievers.recent_popularity import RecentPopularitySource
from movierec.retrievers.source import Queries
from movierec.retrievers.towers import TowerSource
from movierec.retrievers.transitions import TransitionRetriever
from movierec.retrievers.vector_index import Backend
from movierec.scoring.config import ScoringConfig
from movierec.scoring.final import FinalScorer
from movierec.scoring.learned import FEATURES, LOG_FLOOR, CandidateTerms, feature_rows, formula_logits
from movierec.scoring.live_weight import LiveWeight


@dataclass(frozen=True)
class Scorer:
    """Its candidate sources with their weights (a term at weight 0 is None) and the final score."""

    config: ScoringConfig
    towers: TowerSource
    live: LiveWeight | None  # None: live users' vectors are not rescaled (no branch, or w_live == w)
    transitions: TransitionRetriever | None
    popularity: RecentPopularitySource | None
    final: FinalScorer
    final_model: Model | None = None  # the learned final stage (an ONNX graph on feature rows); None: the formula
    popularity_row: np.ndarray | None = field(init=False, repr=False)  # w_p x log counts: what a forecast user gains

    def __post_init__(self) -> None:
        row = None if self.popularity is None else self.config.popularity_weight * self.popularity.log_counts
        object.__setattr__(self, "popularity_row", row)

    def retrieval_scores(self, queries: Queries) -> np.ndarray:
        """s(u, m) for every catalogue movie: (queries.size, n_catalog) float32."""
        live = queries.live
        vectors = queries.vectors if self.live is None else self.live.rescale(queries.vectors, live)
        scores = self.towers.inner_products(vectors)
        if self.transitions is not None and live.any():
            term = self.config.transition_weight * self.transitions.recent_scores(queries.histories)
            scores += term * live[:, None]
        if self.popularity is not None and not live.all():
            scores += self.popularity_row[None, :] * (~live)[:, None].astype(np.float32)
        return scores

    def final_scores(
        self, queries: Queries, user_inputs: dict, scores: np.ndarray, candidates: np.ndarray, predicted: np.ndarray
    ) -> np.ndarray:
        """The final score of each user's candidates: f(u, m) of the formula, or with a learned final stage the same
        total probability over each user's candidates shared out in proportion to exp(the head's logit).

        queries: the users as retrieval read them; user_inputs: their user-tower inputs; scores (users, catalogue)
        retrieval scores with excluded movies at -inf; candidates (users, k) catalogue rows; predicted (users, k) the
        ranker's ratings of them."""
        if self.final_model is None:
            return self.formula_scores(scores, candidates, predicted)
        rows = self.final_features(queries, user_inputs, scores, candidates, predicted)
        logits = self.final_model({FEATURES: rows}).reshape(candidates.shape).astype(np.float64)
        # the formula's probability mass over the candidates, shared out by the head: f itself when its residual is 0
        formula = formula_logits(rows)
        return np.exp(logits - log_sum_exp(logits) + log_sum_exp(formula))

    def formula_scores(self, scores: np.ndarray, candidates: np.ndarray, predicted: np.ndarray) -> np.ndarray:
        """f(u, m) of the formula for each user's candidates (arguments as final_scores)."""
        normaliser = self.final.log_normaliser(scores)[:, None]
        return self.final.scores(np.take_along_axis(scores, candidates, axis=1), predicted, normaliser)

    def final_features(
        self, queries: Queries, user_inputs: dict, scores: np.ndarray, candidates: np.ndarray, predicted: np.ndarray
    ) -> np.ndarray:
        """(users, k, features) rows the learned final stage reads (movierec.scoring.learned), as final_scores."""
        normaliser = self.final.log_normaliser(scores)[:, None]
        log_rated = np.take_along_axis(scores, candidates, axis=1) / self.final.temperature - normaliser
        log_rated = np.maximum(log_rated, LOG_FLOOR)  # an excluded movie among too few candidates: -inf
        vectors = np.asarray(queries.vectors, np.float32)
        movies = self.towers.movie_vectors[candidates]  # (users, k, d)
        width = self.config.pooled_width
        pooled = np.einsum("nd,nkd->nk", vectors[:, :width], movies[:, :, :width])
        sequence = np.einsum("nd,nkd->nk", vectors[:, width:], movies[:, :, width:])
        transition = np.zeros(candidates.shape, np.float32)
        live = queries.live
        if self.transitions is not None and live.any():
            recent = self.transitions.recent_scores(queries.histories.only_owners(live))
            transition[live] = np.take_along_axis(recent, candidates[live], axis=1)
        terms = CandidateTerms(
            log_rated=log_rated,
            log_liked=np.maximum(np.log(self.final.like.probability(predicted)), LOG_FLOOR),
            pooled=pooled,
            sequence=sequence,
            transition=transition,
            predicted=predicted,
        )
        return feature_rows(self.towers.space, terms, user_inputs, live, candidates)


def build_scorer(
    config: ScoringConfig,
    movie_vectors: np.ndarray,
    space: FeatureSpace,
    train: pd.DataFrame,
    peers: dict,
    backend: Backend = "numpy",
    final_model: Model | None = None,
) -> Scorer:
    """The one way a Scorer is made (training's evaluation, a loaded bundle, serving, benchmarks, tests): its sources
    indexed over the space's catalogue. peers: fitted retrievers by name; the transition term reads the
    'transitions' one. ValueError when the config does not fit the vectors or a weighted term has no source."""
    width = np.asarray(movie_vectors).shape[1]
    if config.sequence_weight > 0 and not 0 < config.pooled_width < width:
        raise ValueError(f"scoring: the pooled side's {config.pooled_width} columns do not fit vectors of {width}")
    if config.sequence_weight == 0 and config.pooled_width != width:
        raise ValueError(f"scoring: without a sequence branch pooled_width must be the vectors' {width}")
    transitions = None
    if config.transition_weight > 0:
        transitions = peers.get(TransitionRetriever.name)
        if not isinstance(transitions, TransitionRetriever):
            raise ValueError(
                f"scoring: it weighs a transition term ({config.transition_weight}) but no fitted "
                f"{TransitionRetriever.name!r} source is given"
            )
    live = None
    if config.sequence_weight > 0 and config.live_weight != config.sequence_weight:
        live = LiveWeight(config.pooled_width, config.sequence_weight, config.live_weight)
    return Scorer(
        config=config,
        towers=TowerSource(movie_vectors, backend).index(train, space),
        live=live,
        transitions=transitions,
        popularity=RecentPopularitySource().index(train, space) if config.popularity_weight > 0 else None,
        final=FinalScorer(config.temperature, config.like),
        final_model=final_model,
    )


def log_sum_exp(values: np.ndarray) -> np.ndarray:
    """(users, 1) log sum exp of each row."""
    peak = values.max(axis=1, keepdims=True)
    return peak + np.log(np.exp(values - peak).sum(axis=1, keepdims=True))
