"""The training stages' fits on the synthetic data: what each learns from."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from movierec.data.split import chronological_split
from movierec.datasets import ml1m
from movierec.features.space import FeatureSpace
from tests.conftest import small_config
from training.fit import compile_model, fit_ranker, fit_retrieval, movie_vectors, validation_split


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
    fit_part, val_part = validation_split(train, cfg)
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


def test_the_rating_head_is_the_bias_model_where_its_residual_adds_nothing(synthetic_data):
    """With every residual scale 0 the head predicts mean + user bias + movie bias of the bias model fitted on the
    whole training period (its regularisation chosen on the validation period), for known and unknown users."""
    from movierec.evaluation.baselines import BiasModel
    from movierec.features.pairs import ranking_inputs

    train = chronological_split(synthetic_data.ratings).train
    cfg = small_config()
    cfg = dataclasses.replace(cfg, ranking=dataclasses.replace(cfg.ranking, residual_scales=(0.0,), epochs=2))
    space = FeatureSpace.fit(
        train, synthetic_data.users, synthetic_data.movies, cfg.history_length, description=synthetic_data.description
    )
    towers = fit_retrieval(
        space, train, dataclasses.replace(cfg, retrieval=dataclasses.replace(cfg.retrieval, epochs=1))
    )
    vectors = movie_vectors(towers.movie_tower, space)
    model, _, info = fit_ranker(space, train, towers.user_tower, vectors, cfg, ml1m.DESCRIPTION, 0)
    assert info["residual_scale"] == {"known": 0.0, "unknown": 0.0}
    fit_part, _ = validation_split(train, cfg)
    bias = BiasModel(**info["bias_regularisation"], mean=fit_part["rating"].mean()).fit(train)
    pairs = train.sample(200, random_state=0)
    for cold in (False, True):
        user = space.user_inputs(pairs["user_id"].to_numpy(), cold=np.full(len(pairs), cold))
        user_vectors = compile_model(towers.user_tower)(user).numpy()
        inputs = ranking_inputs(space, user, user_vectors, space.catalog_rows(pairs["movie_id"]), vectors)
        users = np.where(cold, -1, pairs["user_id"].to_numpy())  # -1: no user bias, as for an unknown user
        expected = bias.predict(users, pairs["movie_id"].to_numpy(), (1.0, 5.0))
        assert np.allclose(model(inputs, training=False).numpy(), expected, atol=1e-4)


def test_the_ranker_never_reads_the_validation_period_before_choosing_on_it(synthetic_data, monkeypatch):
    """The bias models whose regularisation is chosen, and the batches the residual is early-stopped on, hold only
    the fit part's ratings; only the closing epochs see the validation period (and nothing sees the test split)."""
    import training.fit as fit

    split = chronological_split(synthetic_data.ratings)
    train = split.train
    cfg = small_config()
    cfg = dataclasses.replace(cfg, ranking=dataclasses.replace(cfg.ranking, epochs=1, closing_epochs=0))
    fit_part, val_part = validation_split(train, cfg)
    seen: list[set] = []
    real_fit, real_batches = fit.BiasModel.fit, fit.RankingBatches

    def recording_fit(self, ratings):
        seen.append(set(ratings.index))
        return real_fit(self, ratings)

    class RecordingBatches(real_batches):
        def __init__(self, space, ratings, batch_size, seed, cold_rate, *args, **kwargs):
            if cold_rate > 0:  # training batches (validation batches have no unknown-user draws)
                seen.append(set(ratings.index))
            super().__init__(space, ratings, batch_size, seed, cold_rate, *args, **kwargs)

    monkeypatch.setattr(fit.BiasModel, "fit", recording_fit)
    monkeypatch.setattr(fit, "RankingBatches", RecordingBatches)
    space = FeatureSpace.fit(
        train, synthetic_data.users, synthetic_data.movies, cfg.history_length, description=synthetic_data.description
    )
    towers = fit_retrieval(
        space, train, dataclasses.replace(cfg, retrieval=dataclasses.replace(cfg.retrieval, epochs=1))
    )
    fit_ranker(space, train, towers.user_tower, movie_vectors(towers.movie_tower, space), cfg, ml1m.DESCRIPTION, 0)
    assert len(seen) == len(cfg.ranking.bias_regularisation) ** 2 + 2  # the grid, the chosen one, the training batches
    assert all(rows == set(fit_part.index) for rows in seen)
    assert not set(val_part.index) & set().union(*seen)
