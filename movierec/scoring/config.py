"""ScoringConfig: every number of the served score (its weights, the temperature, the like calibration) in one record."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from movierec.scoring.final import LikeCalibration


@dataclass(frozen=True)
class ScoringConfig:
    """The served score's parameters (the formula: movierec.scoring). A weight of 0 leaves its term out."""

    pooled_width: int  # the leading columns of a served vector that are the pooled two-tower's (all of them alone)
    temperature: float  # tau: the towers' softmax temperature, so exp(s / tau) normalised is P(rated next)
    like_slope: float  # a, with like_intercept b: P(liked | rated) = sigmoid(a x predicted rating + b)
    like_intercept: float
    sequence_weight: float = 0.0  # w: the sequence branch's share of v_u . v_m, in [0, 1) (0: no branch)
    live_weight: float = 0.0  # w_live: that share for users with live ratings (equal to w: no change)
    transition_weight: float = 0.0  # w_t: the transition term, users with live ratings only
    popularity_weight: float = 0.0  # w_p: the recent-popularity term, users without live ratings only

    def __post_init__(self) -> None:
        for name, value in dataclasses.asdict(self).items():
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ValueError(f"scoring: {name} must be a finite number, got {value!r}")
        if not isinstance(self.pooled_width, int) or self.pooled_width < 1:
            raise ValueError(f"scoring: pooled_width must be a whole number at least 1, got {self.pooled_width!r}")
        if self.temperature <= 0:
            raise ValueError(f"scoring: temperature must be above 0, got {self.temperature}")
        if not 0.0 <= self.sequence_weight < 1.0:
            raise ValueError(f"scoring: sequence_weight must be in [0, 1), got {self.sequence_weight}")
        if not 0.0 <= self.live_weight <= 1.0:
            raise ValueError(f"scoring: live_weight must be in [0, 1], got {self.live_weight}")
        if self.sequence_weight == 0.0 and self.live_weight != 0.0:
            raise ValueError(f"scoring: live_weight {self.live_weight} needs a sequence branch (sequence_weight > 0)")
        for name in ("transition_weight", "popularity_weight"):
            if getattr(self, name) < 0:
                raise ValueError(f"scoring: {name} must be at least 0, got {getattr(self, name)}")

    @property
    def like(self) -> LikeCalibration:
        return LikeCalibration(self.like_slope, self.like_intercept)

    @classmethod
    def from_train_config(cls, cfg, like: LikeCalibration) -> ScoringConfig:
        """The weights a movierec.config.TrainConfig sets, with the like calibration its ranker's fit gave."""
        branch = cfg.sequence.weight > 0
        return cls(
            pooled_width=cfg.retrieval.output_dim,
            temperature=cfg.retrieval.temperature,
            like_slope=like.slope,
            like_intercept=like.intercept,
            sequence_weight=cfg.sequence.weight,
            live_weight=cfg.sequence.live_weight if branch else 0.0,
            transition_weight=cfg.transitions.weight,
            popularity_weight=cfg.popularity.weight,
        )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> ScoringConfig:
        """The inverse of to_dict; ValueError naming what is missing, unknown or out of range."""
        names = [field.name for field in dataclasses.fields(cls)]
        if not isinstance(data, dict):
            raise ValueError(f"scoring: expected a JSON object with {names}, got {type(data).__name__}")
        missing, unknown = [n for n in names if n not in data], sorted(set(data) - set(names))
        if missing or unknown:
            raise ValueError(f"scoring: expected exactly {names}; missing {missing}, unknown {unknown}")
        return cls(**data)
