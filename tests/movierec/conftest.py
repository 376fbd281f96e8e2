"""Fixtures shared by the core package's tests: the synthetic split with movies unknown to training."""

from __future__ import annotations

import pytest

from movierec.data.split import Split, chronological_split
from movierec.features.space import FeatureSpace


@pytest.fixture(scope="module")
def world(synthetic_data):
    """(split, space) of the synthetic ML-1M-format data, with the training ratings of two movies removed so that
    the catalogue holds movies unknown to training (and the test period ratings of them)."""
    split = chronological_split(synthetic_data.ratings)
    unseen = split.test["movie_id"].value_counts().index[:2]
    split = Split(split.train.loc[~split.train["movie_id"].isin(unseen)], split.test, split.cutoff_timestamp)
    return split, FeatureSpace.fit(
        split.train,
        synthetic_data.users,
        synthetic_data.movies,
        history_length=20,
        description=synthetic_data.description,
    )
