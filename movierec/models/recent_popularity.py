"""The recent-popularity term of the served retrieval score, for users forecast from the training period.

Under a chronological split what people rate next follows what is being rated at the time, and the towers alone
under-weigh it. A user without live ratings (forecast from the training period: every user of the static protocol,
a dataset user who has rated nothing since, a new user with no ratings) gets weight x log(1 + each movie's rating
count in the training period's last recent_days days) added to the towers' score. A user with live ratings gets
none: the training period's counts grow stale while their own latest ratings say more (the transition term).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RecentPopularity:
    log_counts: np.ndarray  # per catalogue row: log(1 + rating count in the training period's last days)
    weight: float

    def __post_init__(self):
        if not (np.isfinite(self.weight) and self.weight > 0):
            raise ValueError(f"the recent-popularity weight must be a positive number, got {self.weight}")
        counts = np.asarray(self.log_counts)
        if counts.ndim != 1 or not np.all(np.isfinite(counts)) or np.any(counts < -1e-4):
            raise ValueError("recent-popularity log counts must be one finite, non-negative value per movie")
        # a count of 0 comes back from the feature space's float32 scaling as a few 1e-7 either side of 0
        object.__setattr__(self, "log_counts", np.where(counts < 1e-4, 0.0, counts).astype(np.float32))
        object.__setattr__(self, "_row", self.weight * self.log_counts)  # what a forecast user's scores gain

    @classmethod
    def from_config(cls, config: dict, space) -> RecentPopularity | None:
        """The term a bundle's training config (a TrainConfig.to_dict()) weighs, on its feature space's recent counts;
        None at weight 0 and for bundles trained before the term existed."""
        weight = float((config.get("popularity") or {}).get("weight", 0.0))
        if weight == 0.0:
            return None
        return cls(space.movie_statistic("log_count_recent"), weight)

    def scores(self, live: np.ndarray) -> np.ndarray:
        """(users, catalogue) term: weight x log counts for the users not live, 0 for the live ones."""
        forecast = ~np.asarray(live, dtype=bool)
        return self._row[None, :] * forecast[:, None].astype(np.float32)
