"""FeatureSpace: fitted on train only, unknown users/movies handled, one input builder for every caller."""

import json

import numpy as np
import pytest

from movierec.data.split import chronological_split
from movierec.datasets import csv_family, ml1m
from movierec.datasets.ml1m import GENRES
from movierec.features.catalog import genre_multi_hot
from movierec.features.encoders import UNKNOWN_INDEX
from movierec.features.space import MOVIE_KEYS, USER_KEYS, FeatureSpace


@pytest.fixture(scope="module")
def fitted(synthetic_data):
    split = chronological_split(synthetic_data.ratings)
    return split, FeatureSpace.fit(
        split.train,
        synthetic_data.users,
        synthetic_data.movies,
        history_length=12,
        description=synthetic_data.description,
    )


def test_encoders_are_fitted_on_train_only(fitted, synthetic_data):
    split, space = fitted
    test_only_users = set(split.test["user_id"]) - set(split.train["user_id"])
    assert test_only_users, "the synthetic data must contain users who appear only in test"
    assert space.user_ids.size == split.train["user_id"].nunique() + 1
    assert (space.user_ids.transform(sorted(test_only_users)) == UNKNOWN_INDEX).all()


def test_unknown_user_gets_demographics_and_empty_history(fitted):
    split, space = fitted
    unknown = sorted(set(split.test["user_id"]) - set(split.train["user_id"]))[0]
    inputs = space.user_inputs([unknown])
    assert inputs["user_id"][0] == UNKNOWN_INDEX
    assert inputs["gender"][0] != UNKNOWN_INDEX and inputs["age"][0] != UNKNOWN_INDEX
    assert (inputs["history_movies"] == 0).all()
    assert np.isfinite(inputs["user_numeric"]).all()


def test_build_inputs_has_every_key_aligned(fitted):
    split, space = fitted
    rows = split.test.head(7)
    inputs = space.build_inputs(rows["user_id"].to_numpy(), rows["movie_id"].to_numpy())
    assert set(inputs) == set(USER_KEYS) | set(MOVIE_KEYS)
    assert all(len(v) == 7 for v in inputs.values())
    assert inputs["genres"].shape == (7, len(GENRES))
    assert inputs["history_movies"].shape == (7, 12)


def test_leave_one_out_removes_the_target_from_history(fitted):
    split, space = fitted
    user = split.train["user_id"].iloc[-1]
    movie = split.train["movie_id"].iloc[-1]  # the latest rating is always in the kept history
    full = space.build_inputs([user], [movie])
    loo = space.build_inputs([user], [movie], exclude_target=True)
    target = space.movie_ids.transform([movie])[0]
    assert target in full["history_movies"][0]
    assert target not in loo["history_movies"][0]
    assert (loo["history_movies"] != 0).sum() == (full["history_movies"] != 0).sum() - 1


def test_cold_rows_lose_id_and_history(fitted):
    split, space = fitted
    users = split.train["user_id"].to_numpy()[:4]
    inputs = space.user_inputs(users, cold=np.array([True, False, True, False]))
    assert inputs["user_id"][0] == UNKNOWN_INDEX and inputs["user_id"][1] != UNKNOWN_INDEX
    assert (inputs["history_movies"][0] == 0).all() and (inputs["history_movies"][1] != 0).any()


def test_profile_inputs_match_known_user_layout(fitted):
    _, space = fitted
    profile = space.profile_inputs("F", 25, 12, movie_ids=[1, 2, 999999], ratings=[5, 1, 4])
    assert set(profile) == set(USER_KEYS)
    assert profile["user_id"][0] == UNKNOWN_INDEX
    assert (profile["history_movies"][0] != 0).sum() == 2  # the unknown movie is dropped
    # slot 0 is the latest rating (the unknown movie, dropped), then movie 2 (1 star), then movie 1 (5 stars)
    assert profile["history_movies"][0, 0] == 0
    assert profile["history_ratings"][0, 1] == pytest.approx(-1.0)
    assert profile["history_ratings"][0, 2] == pytest.approx(1.0)
    assert profile["history_movies"][0, 2] == space.movie_ids.transform([1])[0]
    empty = space.profile_inputs(None, None, None)
    assert empty["gender"][0] == UNKNOWN_INDEX and (empty["history_movies"] == 0).all()


@pytest.fixture(scope="module")
def scales(synthetic_data):
    """The same ratings fitted on ML-1M's whole stars 1-5 and on the CSV family's half stars 0.5-5."""
    half_stars = csv_family.VARIANTS["ml-latest-small"].description
    return {
        name: FeatureSpace.fit(
            synthetic_data.ratings, synthetic_data.users, synthetic_data.movies, 8, description=description
        )
        for name, description in (("whole", ml1m.DESCRIPTION), ("half", half_stars))
    }


def test_ratings_are_centred_on_the_datasets_own_scale(scales):
    """The lowest rating of the description's scale becomes -1, its highest 1, its midpoint 0."""
    whole, half = scales["whole"], scales["half"]
    assert (whole.rating_min, whole.rating_max, half.rating_min, half.rating_max) == (1.0, 5.0, 0.5, 5.0)
    np.testing.assert_array_equal(whole.centre_ratings([1, 3, 5]), np.array([-1.0, 0.0, 1.0], np.float32))
    np.testing.assert_array_equal(half.centre_ratings([0.5, 2.75, 5.0]), np.array([-1.0, 0.0, 1.0], np.float32))
    assert whole.centre_ratings([4]).dtype == np.float32 and half.centre_ratings([4.5]).dtype == np.float32
    # the fitted histories are centred on the same scale
    for space in (whole, half):
        held = space.history_ratings[space.history_movies != 0]
        np.testing.assert_array_equal(np.unique(held), space.centre_ratings([1, 2, 3, 4, 5]))


def test_whole_star_centring_is_bit_identical_to_the_former_one_to_five_formula(scales):
    ratings = np.concatenate([np.arange(1, 6), np.linspace(-2.0, 8.0, 1001)]).astype(np.float32)
    former = ((np.asarray(ratings, dtype=np.float32) - 3.0) / 2.0).astype(np.float32)
    np.testing.assert_array_equal(scales["whole"].centre_ratings(ratings).view(np.uint32), former.view(np.uint32))


def test_the_rating_scale_is_saved_with_the_space(scales):
    arrays, meta = scales["half"].to_arrays()
    again = FeatureSpace.from_arrays(arrays, json.loads(json.dumps(meta)))  # a bundle stores meta as JSON
    assert (again.rating_min, again.rating_max) == (0.5, 5.0)
    np.testing.assert_array_equal(again.centre_ratings([0.5, 5.0]), np.array([-1.0, 1.0], np.float32))
    del meta["rating_max"]
    with pytest.raises(KeyError, match="rating_max"):
        FeatureSpace.from_arrays(arrays, meta)


def test_movie_features(fitted, synthetic_data):
    _, space = fitted
    assert space.n_catalog == len(synthetic_data.movies)
    year = space.movie_numeric[:, 0]
    assert year.min() == pytest.approx(0.0) and year.max() == pytest.approx(1.0)
    assert np.isfinite(space.movie_numeric).all()
    no_year_row = space.catalog_rows([160])[0]
    assert 0.0 <= year[no_year_row] <= 1.0  # missing year imputed with the median


@pytest.mark.parametrize("days", [30.0, 0.5])
def test_movie_statistic_undoes_the_scaling(fitted, synthetic_data, days):
    split, _ = fitted
    train = split.train
    space = FeatureSpace.fit(
        train,
        synthetic_data.users,
        synthetic_data.movies,
        history_length=12,
        recent_days=days,
        description=synthetic_data.description,
    )
    recent = train.loc[train["timestamp"] > train["timestamp"].max() - days * 86400]
    counts = recent.groupby("movie_id").size()
    expected = np.zeros(space.n_catalog)
    expected[space.catalog_rows(counts.index.to_numpy())] = np.log1p(counts.to_numpy())
    assert expected.max() > 0
    np.testing.assert_allclose(space.movie_statistic("log_count_recent"), expected, atol=1e-5)
    with pytest.raises(KeyError, match="no movie statistic 'rank'; the feature space holds log_count, "):
        space.movie_statistic("rank")


def test_unknown_ids_are_refused_with_names(fitted):
    _, space = fitted
    with pytest.raises(KeyError, match="user_id 99999"):
        space.user_inputs([99999])
    with pytest.raises(KeyError, match="movie_id 99999"):
        space.build_inputs([1], [99999])


def test_genre_multi_hot():
    import pandas as pd

    hot = genre_multi_hot(pd.Series(["Animation|Children's|Comedy", "Drama", "Nonsense"]), GENRES)
    assert hot.shape == (3, 18)
    assert hot[0].sum() == 3 and hot[0, GENRES.index("Animation")] == 1
    assert hot[2].sum() == 0
