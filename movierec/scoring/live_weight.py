"""The sequence branch's weight for users rating right now: their vector's two sides rescaled, the movies' unchanged.

The served user vector is [sqrt(1 - w) * pooled | sqrt(w) * sequence] (movierec.models.hybrid), the movie vector
likewise, so their dot product is (1 - w) * pooled cosine + w * sequence cosine. A user whose history holds ratings
given after the bundle's training cut-off (live ratings; in the streaming evaluation, the test-period ratings before
an event) is scored with another weight w_live: the pooled side times (1 - w_live) / (1 - w) and the sequence side
times w_live / w give (1 - w_live) * pooled cosine + w_live * sequence cosine against the same movie vectors. No
model runs again; the ranker keeps reading the unscaled vector.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LiveWeight:
    pooled_width: int  # the leading columns of a served vector: the pooled tower's side
    weight: float  # the trained weight w, in (0, 1)
    live_weight: float  # w_live, in [0, 1]

    def __post_init__(self):
        if not 0.0 < self.weight < 1.0:
            raise ValueError(f"the sequence weight must be in (0, 1) to be rescaled, got {self.weight}")
        if not 0.0 <= self.live_weight <= 1.0:
            raise ValueError(f"the live weight must be in [0, 1], got {self.live_weight}")

    def rescale(self, vectors: np.ndarray, live: np.ndarray) -> np.ndarray:
        """(users, d) served vectors with the rows where `live` is true rescaled to the live weight (a new array
        when any is; the input is never changed)."""
        live = np.asarray(live, dtype=bool)
        if not live.any():
            return vectors
        out = np.array(vectors, dtype=np.float32, copy=True)
        out[live, : self.pooled_width] *= (1.0 - self.live_weight) / (1.0 - self.weight)
        out[live, self.pooled_width :] *= self.live_weight / self.weight
        return out
