"""POST /recommend's `model`: the two stages or any peer method the bundle holds, each giving its own list."""

import numpy as np
import pytest

from movierec.artifacts import load_bundle
from movierec.retrievers import RETRIEVERS, History
from movierec.retrievers.source import Queries


def test_vocabulary_lists_the_models(client):
    assert client.get("/vocabulary").json()["models"] == ["two_stage", *sorted(RETRIEVERS)]


def test_default_model_is_the_two_stages(client):
    body = client.post("/recommend", json={"user_id": 2, "top_n_final": 5}).json()
    assert body["model"] == "two_stage"


@pytest.mark.parametrize("model", sorted(RETRIEVERS))
def test_each_peer_serves_its_own_top_list(client, synthetic_bundle, model):
    bundle = load_bundle(synthetic_bundle)
    train = bundle.train_ratings.sort_values("timestamp", kind="stable")
    mine = train[train["user_id"] == 2]
    body = client.post("/recommend", json={"user_id": 2, "top_n_final": 10, "model": model}).json()
    recs = body["recommendations"]
    assert body["model"] == model and [r["rank"] for r in recs] == list(range(1, 11))
    assert not set(mine["movie_id"]) & {r["movie_id"] for r in recs}  # rated movies left out
    # the same list, best first, as the method itself gives offline (one top-K: equal scores in catalogue order)
    history = History(mine["movie_id"].to_numpy(), mine["rating"].to_numpy())
    rows, offline = bundle.peers[model].top_k(Queries.of([history], bundle.space), 10)
    assert [r["movie_id"] for r in recs] == bundle.space.catalog_ids.classes_[rows[0]].tolist()
    served = [r["ranking_score"] for r in recs]
    np.testing.assert_allclose(served, offline[0], rtol=1e-6)
    assert served == [r["retrieval_score"] for r in recs]
    predicted = client.post("/score", json={"user_id": 2, "movie_ids": [r["movie_id"] for r in recs]}).json()
    np.testing.assert_allclose(
        [r["predicted_rating"] for r in recs], [s["predicted_rating"] for s in predicted["scores"]], rtol=1e-6
    )


def test_peers_give_different_lists(client):
    lists = {
        model: [
            r["movie_id"]
            for r in client.post("/recommend", json={"user_id": 2, "model": model}).json()["recommendations"]
        ]
        for model in ("two_stage", "popularity", "item_knn", "ease")
    }
    assert len({tuple(v) for v in lists.values()}) == len(lists)


def test_peer_for_a_new_user_follows_their_ratings_and_genres(client):
    rated = [{"movie_id": 1, "rating": 5}, {"movie_id": 2, "rating": 4}]
    body = client.post(
        "/recommend", json={"ratings": rated, "model": "item_knn", "genres": ["Horror"], "top_n_final": 5}
    ).json()
    recs = body["recommendations"]
    assert recs and all("Horror" in r["genres"] for r in recs)
    assert not {1, 2} & {r["movie_id"] for r in recs}
    with_history = client.post("/recommend", json={"ratings": rated, "model": "item_knn"}).json()
    without = client.post("/recommend", json={"profile": {"gender": "F"}, "model": "item_knn"}).json()
    assert [r["movie_id"] for r in with_history["recommendations"]] != [
        r["movie_id"] for r in without["recommendations"]
    ]


def test_unknown_model_is_422_listing_the_choices(client):
    response = client.post("/recommend", json={"user_id": 2, "model": "svd"})
    assert response.status_code == 422
    assert "two_stage" in response.text and "ease" in response.text


def test_model_the_bundle_lacks_is_422(client, monkeypatch):
    peers = client.app.state.model_state.current.recommender.peers
    monkeypatch.delitem(peers, "ease")
    response = client.post("/recommend", json={"user_id": 2, "model": "ease"})
    assert response.status_code == 422
    assert "model 'ease' is not in the served bundle" in response.json()["detail"]
    assert "ease" not in client.get("/vocabulary").json()["models"]


def test_stats_report_every_peer(client):
    peers = client.get("/stats").json()["metrics"]["peers"]
    assert sorted(peers["methods"]) == sorted(RETRIEVERS)
    for result in peers["methods"].values():
        assert 0 <= result["static"]["hits"]["hr@10"] <= 1 and 0 <= result["streaming"]["hr@10"] <= 1
