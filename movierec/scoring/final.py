"""The final order's score: P(the user rates this movie next) x P(they like it | they rate it)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LikeCalibration:
    """P(liked | rated) = sigmoid(slope x predicted rating + intercept), fitted on ratings the ranker did not learn
    from; liked = a rating at or above the dataset's liked_threshold."""

    slope: float
    intercept: float

    @classmethod
    def fit(cls, predicted, ratings, liked_threshold: float) -> LikeCalibration:
        """A logistic regression of liked on the predicted rating (scikit-learn: training side only); a neutral
        calibration when the ratings are all liked or none are (nothing to fit)."""
        from sklearn.linear_model import LogisticRegression

        liked = np.asarray(ratings) >= liked_threshold
        if liked.all() or not liked.any():
            return cls(1.0, -3.5)
        model = LogisticRegression().fit(np.asarray(predicted, np.float64).reshape(-1, 1), liked)
        return cls(float(model.coef_[0, 0]), float(model.intercept_[0]))

    def probability(self, predicted) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(self.slope * np.asarray(predicted, np.float64) + self.intercept)))


@dataclass(frozen=True)
class FinalScorer:
    """exp(s / temperature - log sum over every movie not excluded of exp(s' / temperature)) x P(liked | rated)."""

    temperature: float
    like: LikeCalibration

    def log_normaliser(self, retrieval_scores: np.ndarray) -> np.ndarray:
        """log sum exp(score / T) over each row's finite (not excluded) scores."""
        logits = np.atleast_2d(retrieval_scores) / self.temperature
        peak = np.max(np.where(np.isfinite(logits), logits, -np.inf), axis=1, keepdims=True)
        return (peak + np.log(np.sum(np.exp(logits - peak), axis=1, keepdims=True)))[:, 0]

    def scores(self, retrieval_scores, predicted, log_normaliser) -> np.ndarray:
        """P(next rating is this movie and liked) for candidates; log_normaliser from all of the user's scores."""
        log_rated = np.asarray(retrieval_scores, np.float64) / self.temperature - np.asarray(log_normaliser)
        return np.exp(log_rated) * self.like.probability(predicted)
