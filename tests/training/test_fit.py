"""The training stages' fits on the synthetic data: what each learns from."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from movierec.data.split import chronological_split
from movierec.datasets import ml1m
from movierec.features.space import FeatureSpace
from tests.conftest import small_config
from training.fit import fit_ranker, fit_retrieval, movie_vectors, time_validation_split


@pytest.mark.parametrize("closing_epochs", [0, 1])
def test_the_ranker_learns_users_who_rated_only_in_its_validation_slice_from_its_closing_epochs(
    synthetic_data, closing_epochs
):
    """Early stopping keeps the latest days out of the ranker's fit; the closing epoch then learns them, so a user
    whose every training rating falls in those days gets a trained bias instead of the initial zero."""
    train = chronological_split(synthetic_data.ratings).train.copy()
    latest = int(train["timestamp"].max())
    user = int(train["user_id"].value_counts().index[-1])
    train.loc[train["user_id"] == user, "timestamp"] = latest  # every rating of this user in the validation slice
    train = train.sort_values("timestamp", kind="stable")
    cfg = small_config()
    cfg = dataclasses.replace(cfg, ranking=dataclasses.replace(cfg.ranking, closing_epochs=closing_epochs, epochs=2))
    fit_part, val_part = time_validation_split(train, cfg.ranking.validation_days)
    assert user in set(val_part["user_id"]) and user not in set(fit_part["user_id"])
    space = FeatureSpace.fit(
        train, synthetic_data.users, synthetic_data.movies, cfg.history_length, description=synthetic_data.description
    )
    towers = fit_retrieval(
        space, train, dataclasses.replace(cfg, retrieval=dataclasses.replace(cfg.retrieval, epochs=1)), 0
    )
    vectors = movie_vectors(towers.movie_tower, space)
    model, like, info = fit_ranker(space, train, towers.user_tower, vectors, cfg, ml1m.DESCRIPTION, 0)

    index = int(space.user_inputs([user])["user_id"][0])
    bias = model.get_layer("user_bias").get_weights()[0][index, 0]
    assert info["closing_epochs"] == closing_epochs
    assert (bias != 0.0) == (closing_epochs > 0)
    assert np.isfinite(info["val_rmse"]) and np.isfinite([like.slope, like.intercept]).all()
