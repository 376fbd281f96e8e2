"""The real MovieLens-1M archive (ML1M_ZIP): counts, split sizes and cut-off."""

import pytest

from movierec.data.split import chronological_split
from movierec.features.space import FeatureSpace

pytestmark = pytest.mark.integration


def test_real_counts(real_data):
    assert len(real_data.ratings) == 1_000_209
    assert len(real_data.users) == 6_040
    assert len(real_data.movies) == 3_883
    assert real_data.ratings["movie_id"].nunique() == 3_706
    assert real_data.ratings["rating"].value_counts().sort_index().tolist() == [56174, 107557, 261197, 348971, 226310]


def test_real_split(real_data):
    split = chronological_split(real_data.ratings)
    assert split.sizes == (800_167, 200_042)
    assert split.cutoff_timestamp == 975_768_738
    test_users = set(split.test["user_id"])
    cold = test_users - set(split.train["user_id"])
    assert (len(test_users), len(cold)) == (1_783, 640)
    assert split.test["user_id"].isin(cold).sum() == 95_502


def test_real_features_cover_unknown_users(real_data):
    split = chronological_split(real_data.ratings)
    space = FeatureSpace.fit(split.train, real_data.users, real_data.movies, description=real_data.description)
    inputs = space.build_inputs(split.test["user_id"].to_numpy(), split.test["movie_id"].to_numpy())
    cold = inputs["user_id"] == 0
    assert cold.sum() == 95_502
    assert (inputs["history_movies"][cold] == 0).all()
