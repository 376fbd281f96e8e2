"""User contexts: dataset users, their live ratings on top of the training history, new users."""

import numpy as np
import pytest

from movierec.artifacts import load_bundle, recommender_from_bundle


@pytest.fixture(scope="module")
def rec(synthetic_bundle):
    return recommender_from_bundle(load_bundle(synthetic_bundle))


def warm_user(rec) -> int:
    """The dataset user with the most training ratings."""
    counts = {int(u): len(rec.contexts.history(int(u))[0]) for u in rec.contexts.users["user_id"]}
    return max(counts, key=counts.get)


def test_live_ratings_follow_the_training_history(rec):
    uid = warm_user(rec)
    plain = rec.contexts.known(uid)
    rows, ratings = rec.contexts.history(uid)
    # the same history rebuilt through the live path gives the same vector as the precomputed one
    same = rec.contexts.known(uid, live=[])
    np.testing.assert_allclose(same.vector, plain.vector)
    unseen = [m for m in rec.catalogue.movies["movie_id"] if rec.space.catalog_rows([m])[0] not in set(rows)][:3]
    live = rec.contexts.known(uid, live=[(m, 5.0) for m in unseen])
    assert live.user_id == uid and live.demographics == plain.demographics
    assert not np.allclose(live.vector, plain.vector)  # the vector follows the new ratings
    assert list(live.history_rows[-3:]) == list(rec.space.catalog_rows(unseen))  # newest last
    assert len(live.history_rows) == len(rows) + 3
    assert live.inputs["user_id"][0] == plain.inputs["user_id"][0] != 0  # still the known user's id embedding
    shown = {r.movie_id for r in rec.recommend(live, rec.space.n_catalog, 50)}
    assert not shown & set(unseen)  # live-rated movies are excluded like seen ones


def test_live_rating_of_a_training_movie_replaces_it(rec):
    uid = warm_user(rec)
    rows, ratings = rec.contexts.history(uid)
    first = int(rec.catalogue.movies["movie_id"].iloc[rows[0]])
    new = 1.0 if ratings[0] >= 3 else 5.0
    user = rec.contexts.known(uid, live=[(first, new)])
    assert len(user.history_rows) == len(rows)
    assert user.history_rows[-1] == rows[0] and user.history_ratings[-1] == new


def test_new_user_with_id_label_is_an_unknown_user_to_the_model(rec):
    movie = int(rec.catalogue.movies["movie_id"].iloc[0])
    user = rec.contexts.new("F", 25, 12, [(movie, 4.0)], user_id=10**6)
    assert user.user_id == 10**6 and user.inputs["user_id"][0] == 0
    with pytest.raises(KeyError, match="not in the catalogue"):
        rec.contexts.new(None, None, None, [(10**8, 4.0)])
    with pytest.raises(KeyError, match="not a dataset user"):
        rec.contexts.known(10**8)


def test_only_ratings_given_after_the_cut_off_make_a_user_live(rec):
    uid = warm_user(rec)
    rows, _ = rec.contexts.history(uid)
    unseen = [m for m in rec.catalogue.movies["movie_id"] if rec.catalogue.rows([m])[0] not in set(rows)][:2]
    assert not rec.contexts.known(uid).live and not rec.contexts.known(uid, live=[]).live
    assert rec.contexts.known(uid, live=[(unseen[0], 4.0)]).live
    assert not rec.contexts.new("F", 25, 12).live and rec.contexts.new("F", 25, 12, [(unseen[0], 4.0)]).live
