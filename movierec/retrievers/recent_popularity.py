"""Recent popularity as a candidate source: log(1 + each movie's ratings in the training period's last days).

Under a chronological split what people rate next follows what is being rated at the time; the served score adds
this source, weighted, for users forecast from the training period (movierec.scoring).
"""

from __future__ import annotations

from typing import Self

import numpy as np
import pandas as pd

from movierec.features.space import FeatureSpace
from movierec.retrievers.source import CandidateSource, Queries

STATISTIC = "log_count_recent"  # the feature space's movie statistic this source reads
ZERO_BELOW = 1e-4  # a count of 0 comes back from the feature space's float32 scaling as a few 1e-7 either side of 0


class RecentPopularitySource(CandidateSource):
    """The same scores for every user: each movie's log(1 + rating count in the training period's last
    recent_days days), as the feature space recorded it when it was fitted."""

    name = "recent_popularity"

    def index(self, train: pd.DataFrame, space: FeatureSpace) -> Self:
        """Read the counts the feature space was fitted with (the training ratings are not read again)."""
        counts = np.asarray(space.movie_statistic(STATISTIC))
        if counts.ndim != 1 or not np.all(np.isfinite(counts)) or np.any(counts < -ZERO_BELOW):
            raise ValueError("recent-popularity log counts must be one finite, non-negative value per movie")
        self.space = space
        self.log_counts = np.where(counts < ZERO_BELOW, 0.0, counts).astype(np.float32)
        return self

    def scores(self, queries: Queries) -> np.ndarray:
        return np.broadcast_to(self.log_counts, (queries.size, len(self.log_counts)))
