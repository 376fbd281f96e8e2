"""The live-ratings API on the synthetic bundle, on SQLite and on PostgreSQL: users, ratings, their effect on
/recommend, /score and /user, restarts, outages, and two real uvicorn workers sharing one database."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from serving.config import Settings
from serving.main import create_app
from tests.movierec.store.postgres import postgres_cluster  # noqa: F401  (fixture)
from tools.server import free_port, stop, wait_ready

PROJECT = Path(__file__).resolve().parents[2]
N_USERS = 240  # the synthetic dataset's users are 1-240


def make_client(bundle: Path, url: str) -> TestClient:
    return TestClient(create_app(Settings(artifacts_dir=bundle, database_url=url, reload_poll_seconds=0)))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def db_url(request, tmp_path_factory) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('store') / 'live.sqlite3'}"
    cluster = request.getfixturevalue("postgres_cluster")
    return cluster.url(cluster.new_database())


@pytest.fixture(scope="module")
def api(synthetic_bundle, db_url):
    with make_client(synthetic_bundle, db_url) as client:
        yield client


def catalogue(client: TestClient) -> list[int]:
    return client.app.state.model_state.current.bundle.movies["movie_id"].astype(int).tolist()


def trained_movies(client: TestClient, user_id: int) -> set[int]:
    train = client.app.state.model_state.current.bundle.train_ratings
    return set(train.loc[train["user_id"] == user_id, "movie_id"].astype(int))


def top(client: TestClient, user_id: int, n: int = 10) -> list[int]:
    response = client.post("/recommend", json={"user_id": user_id, "top_n_final": n})
    assert response.status_code == 200, response.text
    return [r["movie_id"] for r in response.json()["recommendations"]]


def live_ratings(client: TestClient, user_id: int) -> list[tuple[int, float]]:
    body = client.get(f"/users/{user_id}/ratings", params={"source": "live"}).json()
    return [(r["movie_id"], r["rating"]) for r in body["ratings"]]


# ---- the contract -------------------------------------------------------------------------------------
def test_create_user_answers_201_with_an_id_above_the_dataset(api):
    first = api.post("/users", json={"gender": "F", "age": 25, "occupation": 12})
    assert first.status_code == 201 and set(first.json()) == {"user_id"}
    second = api.post("/users")
    assert second.status_code == 201
    assert N_USERS < first.json()["user_id"] < second.json()["user_id"]
    body = api.get(f"/user/{first.json()['user_id']}").json()
    assert (body["gender"], body["age"], body["occupation"], body["rating_count"]) == ("F", 25, 12, 0)
    assert api.get(f"/user/{second.json()['user_id']}").json()["gender"] is None


@pytest.mark.parametrize(
    "body", [{"gender": "X"}, {"age": 26}, {"occupation": 21}, {"gender": "F", "shoe_size": 9}, [1, 2]]
)
def test_create_user_rejects_bad_demographics_with_422(api, body):
    response = api.post("/users", json=body)
    assert response.status_code == 422, response.text


def test_create_user_takes_only_the_served_datasets_demographics(api, monkeypatch):
    import dataclasses

    bundle = api.app.state.model_state.current.bundle
    no_gender = dataclasses.replace(bundle.description, genders={})  # as a dataset without that feature
    monkeypatch.setattr(bundle, "description", no_gender)
    response = api.post("/users", json={"gender": "F"})
    assert response.status_code == 422 and "none (this dataset has no such feature)" in response.text, response.text
    assert api.post("/users", json={"age": 25}).status_code == 201


def test_put_rating_stores_and_replaces_for_dataset_and_created_users(api):
    movie = next(m for m in catalogue(api) if m not in trained_movies(api, 3))
    response = api.put(f"/users/3/ratings/{movie}", json={"rating": 4})
    assert response.status_code == 200
    body = response.json()
    assert (body["user_id"], body["movie_id"], body["rating"]) == (3, movie, 4) and body["rated_at"]
    assert api.put(f"/users/3/ratings/{movie}", json={"rating": 2}).status_code == 200
    assert live_ratings(api, 3) == [(movie, 2.0)]
    created = api.post("/users").json()["user_id"]
    assert api.put(f"/users/{created}/ratings/{movie}", json={"rating": 5}).json()["user_id"] == created
    assert live_ratings(api, created) == [(movie, 5.0)]


@pytest.mark.parametrize(
    ("path", "body", "status", "words"),
    [
        ("/users/999999/ratings/1", {"rating": 4}, 404, "user_id 999999 not found"),
        ("/users/4/ratings/5000", {"rating": 4}, 404, "movie_id 5000 not found"),
        ("/users/4/ratings/1", {"rating": 0}, 422, "greater than or equal to 0.5"),  # below every scale
        ("/users/4/ratings/1", {"rating": 6}, 422, "less than or equal to 5"),
        ("/users/4/ratings/1", {"rating": 4.5}, 422, "scale (ml-1m): whole stars 1-5, one of 1, 2, 3, 4, 5"),
        ("/users/4/ratings/1", {"rating": "four"}, 422, "valid number"),
        ("/users/4/ratings/1", {"rating": 0.5}, 422, "whole stars 1-5"),
        ("/users/4/ratings/1", {}, 422, "rating"),
        ("/users/4/ratings/1", {"rating": 4, "when": 1}, 422, "when"),
        ("/users/0/ratings/1", {"rating": 4}, 422, "user_id"),
        ("/users/4/ratings/99999999999", {"rating": 4}, 422, "movie_id"),
    ],
)
def test_bad_ratings_are_refused_and_nothing_is_written(api, path, body, status, words):
    response = api.put(path, json=body)
    assert response.status_code == status, response.text
    assert words in response.text
    assert live_ratings(api, 4) == []


def test_delete_removes_a_live_rating_only(api):
    movie = catalogue(api)[5]
    api.put(f"/users/5/ratings/{movie}", json={"rating": 3})
    assert api.delete(f"/users/5/ratings/{movie}").status_code == 204
    assert live_ratings(api, 5) == []
    again = api.delete(f"/users/5/ratings/{movie}")
    assert again.status_code == 404 and "no live rating" in again.json()["detail"]
    dataset_movie = next(iter(trained_movies(api, 5)))
    assert api.delete(f"/users/5/ratings/{dataset_movie}").status_code == 404


def test_ratings_list_merges_sources_newest_first_with_paging(api):
    trained = trained_movies(api, 6)
    fresh = [m for m in catalogue(api) if m not in trained][:3]
    for movie in fresh:
        api.put(f"/users/6/ratings/{movie}", json={"rating": 5})
    every = api.get("/users/6/ratings", params={"limit": 1000}).json()
    assert every["total"] == len(trained) + 3 and every["source"] == "all"
    assert [r["movie_id"] for r in every["ratings"][:3]] == fresh[::-1]  # live ones are the newest
    assert all(r["source"] == "live" for r in every["ratings"][:3])
    assert {r["movie_id"] for r in every["ratings"] if r["source"] == "dataset"} == trained
    times = [r["rated_at"] for r in every["ratings"]]
    assert times == sorted(times, reverse=True)
    dataset = api.get("/users/6/ratings", params={"source": "dataset"}).json()
    assert dataset["total"] == len(trained) and all(r["source"] == "dataset" for r in dataset["ratings"])
    page = api.get("/users/6/ratings", params={"limit": 2, "offset": 1}).json()
    assert [r["movie_id"] for r in page["ratings"]] == [fresh[1], fresh[0]]
    assert page["total"] == every["total"] and page["limit"] == 2 and page["offset"] == 1
    assert api.get("/users/6/ratings", params={"source": "both"}).status_code == 422
    assert api.get("/users/6/ratings", params={"limit": 1001}).status_code == 422
    assert api.get("/users/999999/ratings").status_code == 404


# ---- ratings reach the recommender at once -------------------------------------------------------------
@pytest.mark.parametrize("kind", ["dataset", "created"])
def test_a_rating_changes_the_next_list_and_is_excluded(api, kind):
    user = 7 if kind == "dataset" else api.post("/users", json={"gender": "M", "age": 35, "occupation": 7}).json()
    user = user if kind == "dataset" else user["user_id"]
    before = top(api, user)
    count_before = api.get(f"/user/{user}").json()["rating_count"]
    for movie in before[:3]:
        assert api.put(f"/users/{user}/ratings/{movie}", json={"rating": 5}).status_code == 200
    after = top(api, user)
    assert after != before
    assert not set(before[:3]) & set(after)
    assert api.get(f"/user/{user}").json()["rating_count"] == count_before + 3
    score = api.post("/score", json={"user_id": user, "movie_ids": before[:3]})
    assert score.status_code == 200 and len(score.json()["scores"]) == 3
    api.delete(f"/users/{user}/ratings/{before[0]}")
    catalogue = api.get("/").json()["movies"]
    response = api.post("/recommend", json={"user_id": user, "top_k_retrieve": catalogue, "top_n_final": catalogue})
    everything = [r["movie_id"] for r in response.json()["recommendations"]]  # every movie not excluded
    assert before[0] in everything  # deleted: no longer excluded
    assert not set(before[1:3]) & set(everything)  # still rated: still excluded


def test_a_restart_keeps_ratings_and_the_changed_list(synthetic_bundle, db_url):
    with make_client(synthetic_bundle, db_url) as first:
        user = first.post("/users", json={"gender": "F", "age": 18, "occupation": 4}).json()["user_id"]
        for movie in top(first, user)[:3]:
            first.put(f"/users/{user}/ratings/{movie}", json={"rating": 5})
        ratings, listed = live_ratings(first, user), top(first, user)
    with make_client(synthetic_bundle, db_url) as second:
        assert live_ratings(second, user) == ratings and len(ratings) == 3
        assert top(second, user) == listed
        assert second.post("/users").json()["user_id"] > user


# ---- outages -------------------------------------------------------------------------------------------
def test_an_unreachable_database_gives_503_on_writes_while_the_bundle_serves(synthetic_bundle):
    with make_client(synthetic_bundle, "postgresql://movierec@127.0.0.1:1/movierec") as client:
        for response in (
            client.post("/users", json={"gender": "F"}),
            client.put("/users/1/ratings/1", json={"rating": 4}),
            client.delete("/users/1/ratings/1"),
            client.get("/users/1/ratings", params={"source": "live"}),
        ):
            assert response.status_code == 503, response.text
            assert "ratings database" in response.json()["detail"] and "unavailable" in response.json()["detail"]
        assert client.get("/movie/1").status_code == 200
        assert client.get("/health").status_code == 200
        assert client.get("/users/1/ratings", params={"source": "dataset"}).status_code == 200
        assert client.get("/user/1").status_code == 200
        assert client.post("/recommend", json={"user_id": 1}).status_code == 200  # from the bundle alone


def test_a_locked_sqlite_file_gives_503_then_recovers(synthetic_bundle, tmp_path):
    path = tmp_path / "live.sqlite3"
    settings = Settings(artifacts_dir=synthetic_bundle, database_url=f"sqlite:///{path}", reload_poll_seconds=0)
    with TestClient(create_app(settings)) as client:
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        try:
            locked = client.put("/users/1/ratings/1", json={"rating": 4})
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert locked.status_code == 503 and "database is locked" in locked.json()["detail"]
        assert client.put("/users/1/ratings/1", json={"rating": 4}).status_code == 200


# ---- two real uvicorn workers --------------------------------------------------------------------------


def test_two_workers_see_every_write_at_once_and_lose_none(synthetic_bundle, db_url, tmp_path):
    port = free_port()
    env = {**os.environ, "ARTIFACTS_DIR": str(synthetic_bundle), "DATABASE_URL": db_url, "RELOAD_POLL_SECONDS": "0"}
    log = (tmp_path / "uvicorn.log").open("w")
    command = [sys.executable, "-m", "uvicorn", "serving.main:create_app", "--factory", "--workers", "2"]
    server = subprocess.Popen(
        [*command, "--port", str(port), "--log-level", "warning"], cwd=PROJECT, env=env, stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(server, f"{base}/health", 120, describe=lambda: (tmp_path / "uvicorn.log").read_text())

        def fresh(method: str, path: str, **kwargs) -> httpx.Response:
            with httpx.Client(base_url=base, timeout=30) as client:  # a new connection: either worker answers
                return client.request(method, path, **kwargs)

        user = fresh("POST", "/users", json={"gender": "M", "age": 25, "occupation": 1}).json()["user_id"]
        for _ in range(3):
            movie = fresh("POST", "/recommend", json={"user_id": user, "top_n_final": 5}).json()["recommendations"][0]
            assert fresh("PUT", f"/users/{user}/ratings/{movie['movie_id']}", json={"rating": 5}).status_code == 200
            for _ in range(4):  # the very next request reflects it, whichever worker answers
                response = fresh("POST", "/recommend", json={"user_id": user, "top_n_final": 5})
                assert movie["movie_id"] not in [r["movie_id"] for r in response.json()["recommendations"]]

        ids = pd.read_parquet(synthetic_bundle / "current" / "movies.parquet")["movie_id"].astype(int).tolist()[:24]
        racer, shared = (fresh("POST", "/users").json()["user_id"] for _ in range(2))

        def rate(i: int) -> tuple[int, int]:
            mine = fresh("PUT", f"/users/{racer}/ratings/{ids[i]}", json={"rating": 1 + i % 5}).status_code
            race = fresh("PUT", f"/users/{shared}/ratings/{ids[0]}", json={"rating": 1 + i % 5}).status_code
            return mine, race  # every client also rewrites one shared (user, movie) row

        with ThreadPoolExecutor(8) as pool:
            assert set(pool.map(rate, range(len(ids)))) == {(200, 200)}
        listed = fresh("GET", f"/users/{racer}/ratings", params={"source": "live", "limit": 1000}).json()
        assert listed["total"] == len(ids)
        assert {r["movie_id"]: r["rating"] for r in listed["ratings"]} == {m: 1 + i % 5 for i, m in enumerate(ids)}
        assert fresh("GET", f"/users/{shared}/ratings").json()["total"] == 1
    finally:
        stop(server)
        log.close()
