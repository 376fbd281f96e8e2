"""Choose a peer's hyper-parameter on the training period's validation period (never the test set)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from movierec.config import ValidationConfig
from movierec.data.split import validation_mask
from movierec.features.space import FeatureSpace
from movierec.retrievers.base import Retriever
from movierec.retrievers.history import histories_of
from movierec.retrievers.source import Queries

VALIDATION_K = 50
MIN_VALIDATION_USERS = 20


def holdout(train: pd.DataFrame, validation: ValidationConfig | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(fit, validation): the training ratings before / in the validation period (ValidationConfig, default: the
    one every stage of `make train` uses)."""
    late = validation_mask(train, validation or ValidationConfig())
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
    validation: ValidationConfig | None = None,
    k: int = VALIDATION_K,
) -> tuple[float, dict[float, float]]:
    """(best candidate, {candidate: validation Recall@k}); `default` and {} when the training period has no
    timestamps or too few validation users (then the default is documented by the caller)."""
    if "timestamp" not in train.columns or len(train) < 2:
        return default, {}
    fit, period = holdout(train, validation)
    if len(fit) == 0 or period["user_id"].nunique() < MIN_VALIDATION_USERS:
        return default, {}
    scores = {value: validation_recall(make(value).index(fit, space), fit, period, k) for value in candidates}
    return max(scores, key=lambda value: (scores[value], -candidates.index(value))), scores
