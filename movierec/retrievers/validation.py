"""Choose a hyper-parameter on the last days of the training period (never the test set)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from movierec.data.split import in_last_days
from movierec.features.space import FeatureSpace
from movierec.retrievers.base import Retriever
from movierec.retrievers.history import histories_of
from movierec.retrievers.source import Queries

VALIDATION_DAYS = 7.0
VALIDATION_K = 50
MIN_VALIDATION_USERS = 20


def holdout(train: pd.DataFrame, days: float = VALIDATION_DAYS) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(fit, validation): the training ratings before / within the last `days` days of the training period."""
    late = in_last_days(train["timestamp"].to_numpy(), days)
    return train.loc[~late], train.loc[late]


def validation_recall(retriever: Retriever, fit: pd.DataFrame, validation: pd.DataFrame, k: int) -> float:
    """Mean Recall@k of the validation-period movies of each validation user, from their fit-period history."""
    users = np.unique(validation["user_id"].to_numpy())
    rows, _ = retriever.top_k(Queries.of(histories_of(fit, users), retriever.space), k)
    wanted = retriever.space.catalog_rows(validation["movie_id"].to_numpy())
    owner = np.searchsorted(users, validation["user_id"].to_numpy())
    hit = (rows[owner] == wanted[:, None]).any(axis=1)
    return float((np.bincount(owner, weights=hit) / np.bincount(owner)).mean())


def choose(
    make: Callable[[float], Retriever],
    candidates: Sequence[float],
    train: pd.DataFrame,
    space: FeatureSpace,
    default: float,
    days: float = VALIDATION_DAYS,
    k: int = VALIDATION_K,
) -> tuple[float, dict[float, float]]:
    """(best candidate, {candidate: validation Recall@k}); `default` and {} when the training period has no
    timestamps or too few validation users (then the default is documented by the caller)."""
    if "timestamp" not in train.columns or len(train) == 0:
        return default, {}
    fit, validation = holdout(train, days)
    if len(fit) == 0 or validation["user_id"].nunique() < MIN_VALIDATION_USERS:
        return default, {}
    scores = {value: validation_recall(make(value).index(fit, space), fit, validation, k) for value in candidates}
    return max(scores, key=lambda value: (scores[value], -candidates.index(value))), scores
