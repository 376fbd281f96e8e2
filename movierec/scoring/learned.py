"""The learned final stage's inputs: one feature row per retrieved candidate, built the same way in training and serving.

The final head (training.final_stage) reads these rows and returns a logit per candidate; its first two columns sum to
log f(u, m) of the formula, so a head whose residual is 0 orders the candidates exactly as the formula does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from movierec.features.space import MOVIE_NUMERIC, FeatureSpace

FEATURES = "features"  # the final model's one input: (users, candidates, len(FEATURE_NAMES)) float32
USER_COLUMNS = ("live", "known_user", "log_history", "history_mean_rating")
CANDIDATE_COLUMNS = ("log_rated", "log_liked", "pooled", "sequence", "transition", "log_rank", "predicted")
LOG_FLOOR = -30.0  # the log factors' floor: an excluded movie (log 0) stays finite
BASE_COLUMNS = (0, 1)  # log_rated + log_liked = log f(u, m), the formula's final score
RATED_COLUMN = 0  # log_rated: what the head's residual corrects (training.final_stage)


FEATURE_NAMES = (*CANDIDATE_COLUMNS, *USER_COLUMNS, *(f"movie_{name}" for name in MOVIE_NUMERIC))


def formula_logits(rows: np.ndarray) -> np.ndarray:
    """log f(u, m) of feature rows (..., len(FEATURE_NAMES)): the sum of the base columns, in float64; what a final
    model whose residual is 0 returns."""
    return rows[..., list(BASE_COLUMNS)].sum(axis=-1, dtype=np.float64)


@dataclass(frozen=True)
class CandidateTerms:
    """What the Scorer knows about each candidate (users, k) beyond its movie: the formula's two log factors, the
    towers' two sides, the transition term and the ranker's prediction."""

    log_rated: np.ndarray
    log_liked: np.ndarray
    pooled: np.ndarray
    sequence: np.ndarray
    transition: np.ndarray
    predicted: np.ndarray


def feature_rows(
    space: FeatureSpace, terms: CandidateTerms, user_inputs: dict, live: np.ndarray, candidates: np.ndarray
) -> np.ndarray:
    """(users, k, features) float32 in FEATURE_NAMES' order; user_inputs: the user tower's inputs of each user (or
    of one user for every row)."""
    n, k = candidates.shape
    user_numeric = np.asarray(user_inputs["user_numeric"], np.float32)[:, :2]
    if len(user_numeric) == 1 and n > 1:
        user_numeric = np.broadcast_to(user_numeric, (n, 2))
    user_index = np.broadcast_to(np.asarray(user_inputs["user_id"]).reshape(-1), (n,))
    users = np.column_stack([np.asarray(live, np.float32), (user_index > 0).astype(np.float32), user_numeric])
    rank = np.broadcast_to(np.log1p(np.arange(k, dtype=np.float32)), (n, k))
    candidate = np.stack(
        [
            terms.log_rated,
            terms.log_liked,
            terms.pooled,
            terms.sequence,
            terms.transition,
            rank,
            space.centre_ratings(terms.predicted),
        ],
        axis=-1,
    )
    return np.concatenate(
        [
            candidate.astype(np.float32),
            np.broadcast_to(users[:, None, :], (n, k, users.shape[1])),
            space.movie_numeric[candidates].astype(np.float32),
        ],
        axis=-1,
    )
