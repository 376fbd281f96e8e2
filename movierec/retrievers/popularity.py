"""Popularity: every user gets the movies rated most often in the training period (the reference every method beats)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from movierec.retrievers.base import Retriever
from movierec.retrievers.history import HistoryBatch


class PopularityRetriever(Retriever):
    """Score = the movie's training rating count, whatever the history."""

    name = "popularity"

    def _fit(self, train: pd.DataFrame, rows: np.ndarray) -> None:
        pass  # the base class counts training ratings per movie

    def _score(self, batch: HistoryBatch) -> np.ndarray:
        return np.broadcast_to(self.popularity, (batch.size, len(self.popularity)))

    def _arrays(self) -> dict[str, np.ndarray]:
        return {}

    def _load(self, arrays: dict[str, np.ndarray]) -> None:
        pass
