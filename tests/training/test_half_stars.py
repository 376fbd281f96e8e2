"""A half-star dataset end to end: a synthetic ml-latest-small archive trains, loads and serves on its own scale."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from movierec.artifacts import load_bundle
from movierec.datasets.csv_family import VARIANTS
from movierec.features.pairs import ranking_inputs
from serving.config import Settings
from serving.main import create_app
from tests.conftest import small_config
from tests.synthetic_formats import csv_files, write_zip

SCALE = VARIANTS["ml-latest-small"].description
HALF_STAR_VALUES = [0.5 * i for i in range(1, 11)]


@pytest.fixture(scope="module")
def half_star_bundle(tmp_path_factory) -> Path:
    """A bundle trained on a synthetic ml-latest-small archive by the code `make train DATASET=ml-latest-small` runs."""
    from training.train import run

    root = tmp_path_factory.mktemp("half-stars")
    archive = write_zip(root / "ml-latest-small.zip", "ml-latest-small", csv_files(n_users=80, n_movies=60, seed=3))
    run(
        small_config(),
        archive,
        root / "artifacts",
        root / "raw",
        root / "processed",
        verbose=0,
        dataset="ml-latest-small",
    )
    return root / "artifacts"


@pytest.fixture(scope="module")
def client(half_star_bundle, tmp_path_factory):
    database = tmp_path_factory.mktemp("half-star-store") / "store.sqlite3"
    app = create_app(Settings(artifacts_dir=half_star_bundle, database_url=f"sqlite:///{database}"))
    with TestClient(app) as client:
        yield client


def test_the_bundle_is_on_the_half_star_scale(half_star_bundle):
    bundle = load_bundle(half_star_bundle, keras_models=True)
    assert bundle.description.name == "ml-latest-small" and bundle.description.rating_values() == tuple(
        HALF_STAR_VALUES
    )
    train = bundle.train_ratings["rating"].to_numpy()
    assert (train % 1 == 0.5).any() and train.min() >= 0.5  # the training data kept its half stars
    from movierec.models.layers import RatingRange

    ranker = bundle.keras_models["ranking_model"]
    inner = [layer for layer in ranker.layers if layer.name == "ranking_model"]  # behind the pooled-side reader
    (clip,) = [layer.get_config() for layer in (inner or [ranker])[0].layers if isinstance(layer, RatingRange)]
    assert (clip["minimum"], clip["maximum"]) == (0.5, 5.0)  # the ranker's output range is the dataset's
    assert bundle.manifest["metrics"]["counts"]["liked_threshold"] == SCALE.liked_threshold
    # the served ONNX ranker on every (user, movie) pair, extreme inputs included, stays within 0.5-5
    space = bundle.space
    users = bundle.users["user_id"].to_numpy()
    user_inputs = space.user_inputs(users)
    vectors = bundle.user_model(user_inputs)
    pair_user = np.repeat(np.arange(len(users)), space.n_catalog)
    rows = np.tile(np.arange(space.n_catalog), len(users))
    inputs = ranking_inputs(
        space, {k: v[pair_user] for k, v in user_inputs.items()}, vectors[pair_user], rows, bundle.movie_vectors
    )
    predicted = bundle.ranking_model(inputs)
    assert predicted.min() >= 0.5 and predicted.max() <= 5.0 and predicted.std() > 0


def test_vocabulary_lists_the_half_star_scale(client):
    scale = client.get("/vocabulary").json()["rating"]
    assert scale == {"min": 0.5, "max": 5.0, "step": 0.5, "values": HALF_STAR_VALUES}


def test_known_user_keeps_half_star_history_and_gets_ratings_on_the_scale(client, half_star_bundle):
    train = load_bundle(half_star_bundle).train_ratings
    best = {user: sorted(r.tolist(), reverse=True)[:10] for user, r in train.groupby("user_id")["rating"]}
    user_id = next(user for user, top in best.items() if any(r % 1 == 0.5 for r in top))  # a half star in the top 10
    top = client.get(f"/user/{user_id}", params={"top": 10}).json()["top_rated"]
    assert [m["rating"] for m in top] == best[user_id]  # no half star truncated to a whole one
    response = client.post("/recommend", json={"user_id": user_id, "top_n_final": 10})
    assert response.status_code == 200, response.text
    predicted = [r["predicted_rating"] for r in response.json()["recommendations"]]
    assert predicted and all(0.5 <= p <= 5.0 for p in predicted)


def test_new_user_rates_half_stars(client, half_star_bundle):
    movies = load_bundle(half_star_bundle).movies["movie_id"].to_numpy()
    ratings = [{"movie_id": int(movies[0]), "rating": 4.5}, {"movie_id": int(movies[1]), "rating": 0.5}]
    response = client.post("/recommend", json={"ratings": ratings, "top_n_final": 5})
    assert response.status_code == 200, response.text
    recommendations = response.json()["recommendations"]
    assert len(recommendations) == 5 and all(0.5 <= r["predicted_rating"] <= 5.0 for r in recommendations)
    # "because you liked": 4.5 is liked (at or above the threshold), 0.5 is not, and 4.5 is not read as 4
    assert {r["because"]["movie_id"] for r in recommendations} == {int(movies[0])}
    assert {r["because"]["rating"] for r in recommendations} == {4.5}


def test_live_half_star_ratings_are_stored_and_used(client, half_star_bundle):
    movie_id = int(load_bundle(half_star_bundle).movies["movie_id"].iloc[2])
    created = client.post("/users", json={}).json()["user_id"]
    saved = client.put(f"/users/{created}/ratings/{movie_id}", json={"rating": 4.5})
    assert saved.status_code == 200, saved.text
    assert saved.json()["rating"] == 4.5
    live = client.get(f"/users/{created}/ratings", params={"source": "live"}).json()["ratings"]
    assert [(r["movie_id"], r["rating"]) for r in live] == [(movie_id, 4.5)]
    response = client.post("/recommend", json={"user_id": created, "top_n_final": 3})
    assert response.status_code == 200
    assert {r["because"]["rating"] for r in response.json()["recommendations"]} == {4.5}


@pytest.mark.parametrize("rating", [4.25, 0.75])
def test_a_rating_between_half_stars_is_a_422_naming_the_scale(client, rating):
    response = client.post("/recommend", json={"ratings": [{"movie_id": 3, "rating": rating}]})
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "ratings", 0, "rating"] and error["input"] == rating
    assert "scale (ml-latest-small): half stars 0.5-5, one of 0.5, 1, 1.5" in error["msg"]
    put = client.put("/users/1/ratings/3", json={"rating": rating})
    assert put.status_code == 422 and "half stars 0.5-5" in put.text
