"""Causal training windows: every training rating a target exactly once, its inputs only what came before it."""

import numpy as np
import pandas as pd
import pytest

from movierec.data.split import chronological_split
from movierec.datasets import ml1m
from movierec.features.sequences import IGNORED, training_windows
from movierec.features.space import FeatureSpace

LENGTH = 5


@pytest.fixture(scope="module")
def windows(synthetic_data):
    split = chronological_split(synthetic_data.ratings)
    space = FeatureSpace.fit(
        split.train,
        synthetic_data.users,
        synthetic_data.movies,
        history_length=LENGTH,
        description=synthetic_data.description,
    )
    return split.train, space, training_windows(space, split.train, seed=3)


def test_every_training_rating_is_the_target_of_exactly_one_position(windows):
    train, space, w = windows
    assert int((w.targets != IGNORED).sum()) == len(train)
    np.testing.assert_array_equal(
        w.targets[w.rating_window, w.rating_position], space.catalog_rows(train["movie_id"].to_numpy())
    )
    assert len(set(zip(w.rating_window.tolist(), w.rating_position.tolist(), strict=True))) == len(train)


def test_a_targets_inputs_are_exactly_the_users_earlier_ratings_within_the_window(windows):
    """Position p sees the window's ratings at positions <= p: they must be the user's ratings strictly before the
    target, in time order, the latest ones (never the target, never a later rating)."""
    train, space, w = windows
    ordered = train.assign(order=np.arange(len(train))).sort_values(["user_id", "timestamp", "order"], kind="stable")
    for user, group in list(ordered.groupby("user_id"))[:40]:
        for k, (_, row) in enumerate(group.iterrows()):
            window, position = w.rating_window[row["order"]], w.rating_position[row["order"]]
            history = w.inputs["history_movies"][window][::-1]  # chronological, oldest first, padding first
            held = history[history != 0]
            first_item = LENGTH - len(held)  # chronological position of the window's oldest rating (+1)
            seen = held[: max(0, position - first_item)]  # positions first_item+1 .. position hold the context
            earlier = space.movie_ids.transform(group["movie_id"].to_numpy()[:k])
            assert len(seen) <= k
            np.testing.assert_array_equal(seen, earlier[k - len(seen) :])
            assert w.inputs["user_id"][window] == space.user_ids.transform([user])[0]


def test_a_users_first_rating_is_predicted_from_the_user_token_alone(windows):
    train, space, w = windows
    first = train.reset_index(drop=True).sort_values("timestamp", kind="stable").groupby("user_id").head(1).index
    window, position = w.rating_window[first], w.rating_position[first]
    n_items = (w.inputs["history_movies"][window] != 0).sum(axis=1)
    np.testing.assert_array_equal(position, LENGTH - n_items)  # the slot just before the oldest rating


def test_later_targets_come_from_the_same_users_later_ratings():
    users = pd.DataFrame({"user_id": [1], "gender": ["F"], "age": [25], "occupation": [3], "zip": ["0"]})
    movies = pd.DataFrame({"movie_id": range(1, 13), "title": ["t (1990)"] * 12, "genres": ["Drama"] * 12})
    movies["year"] = 1990
    ratings = pd.DataFrame({"user_id": 1, "movie_id": range(1, 13), "rating": 4, "timestamp": range(100, 112)})
    space = FeatureSpace.fit(ratings, users, movies, history_length=4, description=ml1m.DESCRIPTION)
    w = training_windows(space, ratings, seed=0)
    valid = w.targets != IGNORED
    assert (w.future[valid] >= w.targets[valid]).all()  # catalogue rows follow movie ids here: later = larger
    assert (w.future[~valid] == IGNORED).all()
    assert len(w) == 3 and w.inputs["history_movies"][0, 0] == space.movie_ids.transform([11])[0]


def test_each_position_knows_the_movie_it_is_the_state_after(windows):
    """rated[w, L - j] is slot j's movie (the loss leaves it out of position L - j's softmax and every later one's);
    the user token and padding positions hold none."""
    _, space, w = windows
    history = w.inputs["history_movies"]
    held = history != 0
    rated = w.rated[:, LENGTH - np.arange(LENGTH)]  # column j: the position after slot j's rating
    np.testing.assert_array_equal(space.movie_index[rated[held]], history[held])
    assert (rated[~held] == IGNORED).all() and (w.rated[:, 0] == IGNORED).all()
    # the movie a position is the state after is the one the position before it predicted, when that one predicts
    before = w.targets[:, :-1]
    np.testing.assert_array_equal(w.rated[:, 1:][before != IGNORED], before[before != IGNORED])
