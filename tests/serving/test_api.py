"""Every endpoint's happy path and error cases, against a bundle trained on the synthetic data."""

import numpy as np
import pandas as pd
import pytest

from movierec.artifacts import load_bundle, recommender_from_bundle, resolve_bundle
from movierec.data.split import chronological_split
from movierec.evaluation.evaluate import evaluate


def test_root_and_health(client):
    body = client.get("/").json()
    assert body["status"] == "ok" and body["movies"] == 160 and body["users"] == 240
    assert body["bundle_version"] and body["created_at"]
    assert client.get("/health").status_code == 200


def test_stats_has_metrics(client):
    body = client.get("/stats").json()
    assert body["users"] == 240 and body["train_ratings"] > 0
    assert "recall@200" in body["metrics"]["retrieval"]["two_tower"]


def test_user_lookup(client, synthetic_bundle):
    body = client.get("/user/1").json()
    assert body["gender"] in ("F", "M") and body["age"] in (1, 18, 25, 35, 45, 50, 56)
    train = pd.read_parquet(resolve_bundle(synthetic_bundle) / "train_ratings.parquet", columns=["user_id"])
    trained = int((train["user_id"] == 1).sum())
    live = client.get("/users/1/ratings", params={"source": "live"}).json()["total"]  # other tests may have rated
    assert trained > 0 and body["rating_count"] == trained + live
    ratings = [m["rating"] for m in body["top_rated"]]
    assert ratings == sorted(ratings, reverse=True)


def test_user_without_training_ratings_is_served(client, synthetic_data):
    split = chronological_split(synthetic_data.ratings)
    cold = int(sorted(set(split.test["user_id"]) - set(split.train["user_id"]))[0])
    body = client.get(f"/user/{cold}").json()
    assert body["rating_count"] == 0 and body["top_rated"] == []
    rec = client.post("/recommend", json={"user_id": cold, "top_n_final": 5}).json()
    assert len(rec["recommendations"]) == 5
    assert all(r["because"] is None for r in rec["recommendations"])


@pytest.mark.parametrize("path", ["/user/99999", "/user/0"])
def test_unknown_user_is_404_with_range(client, path):
    response = client.get(path)
    if path.endswith("/0"):
        assert response.status_code == 422
    else:
        assert response.status_code == 404
        assert "99999" in response.json()["detail"] and "1-240" in response.json()["detail"]


def test_movie_lookup_and_404(client):
    body = client.get("/movie/7").json()
    assert body["title"].startswith("Cité des enfants") and body["genres"][0] == "Animation"
    assert body["year"] == 1999
    assert client.get("/movie/160").json()["year"] is None
    response = client.get("/movie/5000")
    assert response.status_code == 404 and "5000" in response.json()["detail"]
    assert client.get("/movie/abc").status_code == 422


def test_similar_movies(client):
    body = client.get("/movie/1/similar?k=5").json()
    assert body["movie"]["movie_id"] == 1 and len(body["similar"]) == 5
    sims = [m["similarity"] for m in body["similar"]]
    assert sims == sorted(sims, reverse=True) and 1 not in [m["movie_id"] for m in body["similar"]]
    assert client.get("/movie/1/similar?k=0").status_code == 422
    assert client.get("/movie/9999/similar").status_code == 404


def test_search(client):
    body = client.get("/movies", params={"q": "cité"}).json()
    assert body["movies"] and all("cité" in m["title"].lower() for m in body["movies"])
    assert client.get("/movies", params={"q": ""}).status_code == 422


def test_recommend_known_user(client, synthetic_bundle):
    body = client.post("/recommend", json={"user_id": 2, "top_k_retrieve": 50, "top_n_final": 10}).json()
    recs = body["recommendations"]
    assert body["user_id"] == 2 and body["gender"] in ("F", "M") and len(recs) == 10
    assert [r["rank"] for r in recs] == list(range(1, 11))
    scores = [r["ranking_score"] for r in recs]
    assert scores == sorted(scores, reverse=True)
    assert len({r["movie_id"] for r in recs}) == 10
    bundle = load_bundle(synthetic_bundle)
    seen = set(bundle.train_ratings.loc[bundle.train_ratings["user_id"] == 2, "movie_id"])
    assert seen and not seen & {r["movie_id"] for r in recs}
    assert all(r["because"] is not None and r["because"]["movie_id"] in seen for r in recs)
    assert all(1 <= r["predicted_rating"] <= 5 and 0 < r["ranking_score"] <= 1 for r in recs)


def test_recommend_genre_filter(client):
    recs = client.post("/recommend", json={"user_id": 3, "genres": ["Horror"], "top_n_final": 5}).json()
    assert recs["recommendations"] and all("Horror" in r["genres"] for r in recs["recommendations"])


def test_recommend_new_user_profile_and_ratings(client):
    body = client.post(
        "/recommend",
        json={
            "profile": {"gender": "F", "age": 25, "occupation": 12},
            "ratings": [{"movie_id": 1, "rating": 5}, {"movie_id": 7, "rating": 4}],
            "top_n_final": 8,
        },
    ).json()
    ids = [r["movie_id"] for r in body["recommendations"]]
    assert body["user_id"] is None and body["gender"] == "F" and len(ids) == 8
    assert 1 not in ids and 7 not in ids
    assert client.post("/recommend", json={"profile": {"age": 35}}).status_code == 200


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({"user_id": 1, "top_k_retrieve": 0}, "top_k_retrieve"),
        ({"user_id": 1, "top_k_retrieve": 100000}, "catalogue size 160"),
        ({"user_id": 1, "top_k_retrieve": 10, "top_n_final": 11}, "top_n_final (11) must be <= top_k_retrieve (10)"),
        ({"user_id": 1, "top_n_final": 0}, "top_n_final"),
        ({"user_id": "one"}, "user_id"),
        ({"user_id": 1, "genres": ["Cartoon"]}, "genres"),
        ({"user_id": 1, "genres": []}, "genres"),
        ({}, "give either user_id"),
        ({"user_id": 1, "profile": {"gender": "F"}}, "give either user_id"),
        ({"ratings": []}, "ratings"),
        ({"ratings": [{"movie_id": 1, "rating": 6}]}, "rating"),
        ({"ratings": [{"movie_id": 1, "rating": 0}]}, "rating"),
        ({"ratings": [{"movie_id": 1, "rating": 5}] * 2}, "same movie_id twice"),
        ({"ratings": [{"movie_id": i, "rating": 3} for i in range(1, 203)]}, "ratings"),
        ({"profile": {"gender": "X"}}, "gender"),
        ({"profile": {"age": 30}}, "age"),
        ({"profile": {"occupation": 21}}, "occupation"),
        ({"user_id": 1, "exclude_seen": "maybe"}, "exclude_seen"),
        ({"user_id": 1, "unexpected": 1}, "unexpected"),
    ],
)
def test_recommend_bad_input_is_422(client, payload, fragment):
    response = client.post("/recommend", json=payload)
    assert response.status_code == 422, response.text
    assert fragment in response.text


def test_recommend_unknown_ids_are_404(client):
    assert client.post("/recommend", json={"user_id": 5000}).status_code == 404
    response = client.post("/recommend", json={"ratings": [{"movie_id": 4242, "rating": 5}]})
    assert response.status_code == 404 and "4242" in response.json()["detail"]


def test_malformed_json_is_422(client):
    response = client.post("/recommend", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 422


def test_score_matches_offline_computation(client, synthetic_bundle):
    movie_ids = [1, 2, 3, 50, 160]
    body = client.post("/score", json={"user_id": 2, "movie_ids": movie_ids}).json()
    assert [s["movie_id"] for s in body["scores"]] == movie_ids
    served = np.array([s["predicted_rating"] for s in body["scores"]])
    rec = recommender_from_bundle(load_bundle(synthetic_bundle))
    space = rec.space
    user_in = space.user_inputs([2] * len(movie_ids))
    offline = rec.ranker.predict(user_in, rec.contexts.vectors(user_in), space.catalog_rows(movie_ids))
    np.testing.assert_allclose(served, offline, atol=1e-5)


def test_score_equals_evaluation_predictions(client, synthetic_bundle, synthetic_data):
    """The evaluation's ranker predictions for test pairs are what /score returns for them."""
    split = chronological_split(synthetic_data.ratings)
    pair = split.test.iloc[0]
    body = client.post("/score", json={"user_id": int(pair["user_id"]), "movie_ids": [int(pair["movie_id"])]}).json()
    rec = recommender_from_bundle(load_bundle(synthetic_bundle))
    user_in = rec.space.user_inputs(split.test["user_id"].to_numpy()[:1])
    expected = rec.ranker.predict(user_in, rec.contexts.vectors(user_in), rec.space.catalog_rows([pair["movie_id"]]))
    assert body["scores"][0]["predicted_rating"] == pytest.approx(float(expected[0]), abs=1e-5)
    assert "rmse" in evaluate(rec, split)["metrics"]["rating"]["ranker"]


def test_score_errors(client):
    assert client.post("/score", json={"user_id": 1, "movie_ids": []}).status_code == 422
    assert client.post("/score", json={"user_id": 1, "movie_ids": list(range(1, 1002))}).status_code == 422
    response = client.post("/score", json={"user_id": 1, "movie_ids": [1, 99999]})
    assert response.status_code == 404 and "99999" in response.json()["detail"]
    new_user = client.post("/score", json={"profile": {"gender": "M"}, "movie_ids": [1, 2]})
    assert new_user.status_code == 200 and len(new_user.json()["scores"]) == 2


def test_prometheus_metrics(client):
    client.post("/recommend", json={"user_id": 1})
    text = client.get("/metrics").text
    assert 'http_requests_total{endpoint="/recommend",method="POST",status="200"}' in text
    assert "http_request_duration_seconds_bucket" in text and 'endpoint="/user/{user_id}"' in text


def test_openapi_docs(client):
    assert client.get("/docs").status_code == 200
    schema = client.get("/openapi.json").json()
    assert "/recommend" in schema["paths"] and "/score" in schema["paths"]


def _genre_share(client, movie_ids, genre):
    body = client.post(
        "/recommend",
        json={
            "ratings": [{"movie_id": m, "rating": 5} for m in movie_ids],
            "top_k_retrieve": 100,
            "top_n_final": 20,
        },
    ).json()
    recs = body["recommendations"]
    return sum(genre in r["genres"] for r in recs) / len(recs)


def test_new_user_recommendations_follow_their_ratings(client, synthetic_data):
    movies = synthetic_data.movies
    main_genre = movies["genres"].str.split("|").str[0]
    animation = movies.loc[main_genre == "Animation", "movie_id"].head(5).tolist()
    horror = movies.loc[main_genre == "Horror", "movie_id"].head(5).tolist()
    assert _genre_share(client, animation, "Animation") > _genre_share(client, horror, "Animation")
    assert _genre_share(client, horror, "Horror") > _genre_share(client, animation, "Horror")
