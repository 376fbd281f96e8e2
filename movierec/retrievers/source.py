"""The one interface of candidate sources: `index` once, then `scores` or `top_k` for a batch of users (Queries).

The served score's parts (the towers, the transitions, recent popularity) and every peer method are sources; a new
one is a subclass here plus, for a peer, one line in movierec.retrievers.RETRIEVERS.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Self

import numpy as np
import pandas as pd

from movierec.features.space import FeatureSpace
from movierec.retrievers.history import History, HistoryBatch
from movierec.retrievers.topk import padded_top_k


@dataclass(frozen=True)
class Queries:
    """A batch of users as every source reads them: their histories (catalogue rows, oldest first), their served
    user vectors (None where no source needs them) and whether each has live ratings (given after the training
    cut-off)."""

    histories: HistoryBatch
    vectors: np.ndarray | None = None  # (size, d) float32
    live: np.ndarray | None = None  # (size,) bool; None: nobody is live

    def __post_init__(self) -> None:
        live = np.zeros(self.size, bool) if self.live is None else np.asarray(self.live, dtype=bool)
        if live.shape != (self.size,):
            raise ValueError(f"queries: {self.size} histories but live flags of shape {live.shape}")
        if self.vectors is not None and len(self.vectors) != self.size:
            raise ValueError(f"queries: {self.size} histories but {len(self.vectors)} user vectors")
        object.__setattr__(self, "live", live)

    @property
    def size(self) -> int:
        return self.histories.size

    def subset(self, keep: np.ndarray) -> Queries:
        """The queries marked in `keep` (a boolean mask), in their order."""
        keep = np.asarray(keep, dtype=bool)
        vectors = None if self.vectors is None else self.vectors[keep]
        return Queries(self.histories.only_owners(keep), vectors, self.live[keep])

    @classmethod
    def of(cls, histories: Sequence[History], space: FeatureSpace) -> Queries:
        """Queries of rating histories alone (movie ids; no vectors, nobody live): what the peer methods read."""
        return cls(HistoryBatch.of(histories, space.catalog_rows))


def check_k(k) -> None:
    """ValueError unless k, a list's length, is a positive integer."""
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")


class CandidateSource(abc.ABC):
    """Scores every catalogue movie for a batch of users, higher is better: `index` fits it (on the training period
    and the feature space), `scores` answers any Queries, `top_k` keeps the best k with the project's one top-K
    (movierec.retrievers.topk)."""

    name: ClassVar[str]
    space: FeatureSpace

    @abc.abstractmethod
    def index(self, train: pd.DataFrame, space: FeatureSpace) -> Self:
        """Make the source ready to score the space's catalogue (training ratings only); returns itself."""

    @abc.abstractmethod
    def scores(self, queries: Queries) -> np.ndarray:
        """(queries.size, n_catalog) scores, higher is better."""

    def top_k(self, queries: Queries, k: int, exclude_rated: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """(rows, scores), each (queries.size, min(k, n_catalog)), best first, equal scores in catalogue order. Rated
        movies are left out when exclude_rated; a list with fewer eligible movies than k ends in row -1, score
        -inf."""
        check_k(k)
        scores = self.scores(queries)
        if exclude_rated:
            if not scores.flags.writeable:
                scores = scores.copy()
            scores[queries.histories.owner, queries.histories.rows] = -np.inf
        return padded_top_k(scores, k)
