"""The final-list score: P(the user rates this movie next) x P(they like it | they rate it).

The retrieval softmax (temperature T) gives P(rated); a logistic calibration of the ranker's predicted
rating, fitted on the validation slice, gives P(liked | rated), where liked is a rating at or above the dataset's
liked_threshold. Ordering by their product beats
ordering by predicted rating alone on the real test split (the report lists both; see the README).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class FinalScorer:
    temperature: float
    slope: float
    intercept: float

    @classmethod
    def fit(cls, temperature: float, predicted, ratings, liked_threshold: float) -> FinalScorer:
        """Fit P(rating >= liked_threshold) = sigmoid(slope * predicted + intercept) on held-out (predicted, true)
        pairs; liked_threshold is the dataset's (DatasetDescription.liked_threshold)."""
        from sklearn.linear_model import LogisticRegression

        liked = np.asarray(ratings) >= liked_threshold
        if liked.all() or not liked.any():
            return cls(float(temperature), 1.0, -3.5)  # degenerate validation data: a neutral calibration
        model = LogisticRegression().fit(np.asarray(predicted, np.float64).reshape(-1, 1), liked)
        return cls(float(temperature), float(model.coef_[0, 0]), float(model.intercept_[0]))

    def like_probability(self, predicted) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(self.slope * np.asarray(predicted, np.float64) + self.intercept)))

    def log_normaliser(self, retrieval_scores: np.ndarray) -> np.ndarray:
        """log sum exp(score / T) over each row's finite (not excluded) scores."""
        logits = np.atleast_2d(retrieval_scores) / self.temperature
        peak = np.max(np.where(np.isfinite(logits), logits, -np.inf), axis=1, keepdims=True)
        return (peak + np.log(np.sum(np.exp(logits - peak), axis=1, keepdims=True)))[:, 0]

    def scores(self, retrieval_scores, predicted, log_normaliser) -> np.ndarray:
        """P(next rating is this movie and liked) for candidates; log_normaliser from all of the user's scores."""
        log_rated = np.asarray(retrieval_scores, np.float64) / self.temperature - np.asarray(log_normaliser)
        return np.exp(log_rated) * self.like_probability(predicted)

    def to_dict(self) -> dict:
        return asdict(self)
