"""The served lists are the scoring seam's: retrieval by s(u, m), the final order and every value by f(u, m)."""

import numpy as np
import pytest

from movierec.artifacts import load_bundle, recommender_from_bundle
from movierec.recommender import TWO_STAGE
from movierec.retrievers.topk import top_k_rows


@pytest.fixture(scope="module")
def rec(synthetic_bundle):
    return recommender_from_bundle(load_bundle(synthetic_bundle))


def users_of_every_kind(rec):
    """A dataset user forecast from training, the same user with live ratings, a new user with ratings and one
    without (live and not live, known and unknown to the model)."""
    uid = int(rec.contexts.users["user_id"].iloc[3])
    rated = set(rec.contexts.history(uid)[0].tolist())
    unseen = [int(rec.catalogue.movie_ids[row]) for row in range(rec.catalogue.size) if row not in rated][:3]
    return {
        "forecast": rec.contexts.known(uid),
        "live": rec.contexts.known(uid, live=[(m, 5.0) for m in unseen]),
        "new with ratings": rec.contexts.new("F", 25, 12, [(unseen[0], 4.0), (unseen[1], 2.0)]),
        "new without": rec.contexts.new(),
    }


@pytest.mark.parametrize("kind", ["forecast", "live", "new with ratings", "new without"])
def test_every_served_value_is_the_scoring_seams(rec, kind):
    user = users_of_every_kind(rec)[kind]
    scores = rec.scorer.retrieval_scores(user.queries())[0]
    scores[user.history_rows] = -np.inf
    candidates = top_k_rows(scores, 50)
    predicted = rec.ranker.predict_candidates(user.inputs, user.vector, candidates)
    final = rec.scorer.final_scores(user.queries(), user.inputs, scores[None, :], candidates, predicted)[0]
    order = np.argsort(-final, kind="stable")[:10]
    served = rec.recommend(user, 50, 10)
    rows = candidates[0, order]
    assert [r.movie_id for r in served] == rec.catalogue.movie_ids[rows].tolist()
    assert [r.rank for r in served] == list(range(1, 11))
    np.testing.assert_array_equal([r.ranking_score for r in served], final[order])  # the value, not only the order
    np.testing.assert_array_equal([r.retrieval_score for r in served], scores[rows])
    np.testing.assert_array_equal([r.predicted_rating for r in served], predicted[0, order])
    assert 0 < sum(r.ranking_score for r in served) < 1  # a share of P(rated next) over the catalogue


def test_a_peer_model_serves_its_own_list_with_the_rankers_ratings(rec):
    user = users_of_every_kind(rec)["live"]
    assert set(rec.models) == {TWO_STAGE, *rec.peers}
    for name, peer in rec.peers.items():
        rows, scores = peer.top_k(user.queries(), 10)
        served = rec.recommend(user, 200, 10, model=name)
        assert [r.movie_id for r in served] == rec.catalogue.movie_ids[rows[0]].tolist(), name
        np.testing.assert_array_equal([r.ranking_score for r in served], scores[0])
        np.testing.assert_array_equal([r.retrieval_score for r in served], scores[0])
        np.testing.assert_allclose(
            [r.predicted_rating for r in served], rec.score(user, [r.movie_id for r in served]), atol=1e-6
        )
    with pytest.raises(KeyError, match="model 'svd' is not in this bundle"):
        rec.recommend(user, model="svd")


def test_genres_and_seen_movies_filter_the_candidates(rec):
    user = users_of_every_kind(rec)["forecast"]
    genre = rec.catalogue.genres[0]
    served = rec.recommend(user, 200, 10, genres=[genre])
    assert served and all(genre in r.genres for r in served)
    rated = set(rec.catalogue.movie_ids[user.history_rows].tolist())
    assert not {r.movie_id for r in rec.recommend(user, 200, 30)} & rated
    everything = rec.recommend(user, rec.catalogue.size, rec.catalogue.size, exclude_seen=False)
    assert rated <= {r.movie_id for r in everything}


def test_because_names_a_liked_movie_of_the_user(rec):
    user = users_of_every_kind(rec)["live"]
    liked = {
        int(rec.catalogue.movie_ids[row])
        for row, rating in zip(user.history_rows, user.history_ratings, strict=True)
        if rating >= rec.description.liked_threshold
    }
    served = rec.recommend(user, 200, 10)
    assert all(r.because["movie_id"] in liked for r in served)
    assert all(r.because is None for r in rec.recommend(users_of_every_kind(rec)["new without"], 200, 5))


def test_similar_movies_are_the_nearest_movie_vectors(rec):
    movie_id = int(rec.catalogue.movie_ids[7])
    similar = rec.similar(movie_id, 5)
    vectors = rec.scorer.towers.movie_vectors
    cosines = vectors @ vectors[7]
    cosines[7] = -np.inf
    expected = top_k_rows(cosines, 5)[0]
    assert [row for row, _ in similar] == expected.tolist()
    np.testing.assert_allclose([value for _, value in similar], cosines[expected], rtol=1e-6)
    with pytest.raises(KeyError, match="not in the catalogue"):
        rec.similar(10**8)
