"""The description reaches its consumers: the feature space's vocabularies, the bundle manifest, the genre filter."""

from __future__ import annotations

import dataclasses
import json
import shutil

import pytest

from movierec.artifacts import MANIFEST, load_bundle, recommender_from_bundle, resolve_bundle
from movierec.data.split import chronological_split
from movierec.datasets import ml1m
from movierec.datasets.registry import ADAPTERS, load
from movierec.errors import BundleError
from movierec.features.catalog import genre_multi_hot
from movierec.features.space import FeatureSpace
from tests.synthetic_formats import csv_files, ml100k_files, write_zip


def _space(tmp_path, dataset, files):
    data = load(dataset, write_zip(tmp_path / "a.zip", dataset, files), tmp_path / "raw", tmp_path / "processed")
    split = chronological_split(data.ratings)
    return FeatureSpace.fit(split.train, data.users, data.movies, 10, description=data.description), data


def test_feature_space_without_demographics(tmp_path):
    space, data = _space(tmp_path, "ml-latest-small", csv_files())
    sizes = space.vocab_sizes
    assert (sizes["gender"], sizes["age"], sizes["occupation"]) == (1, 1, 1)  # only the unknown index
    assert sizes["genres"] == 20 and (space.user_gender == 0).all() and (space.user_occupation == 0).all()
    no_genre = data.movies.index[data.movies["genres"] == "(no genres listed)"][0]
    assert space.movie_genres[no_genre].tolist() == [0.0] * 19 + [1.0]


def test_feature_space_of_ml100k(tmp_path):
    space, data = _space(tmp_path, "ml-100k", ml100k_files())
    sizes = space.vocab_sizes
    assert (sizes["gender"], sizes["age"], sizes["occupation"], sizes["genres"]) == (3, 8, 22, 19)
    assert (space.user_age > 0).all() and (space.user_occupation > 0).all()


def test_genre_columns_follow_the_vocabulary():
    import pandas as pd

    hot = genre_multi_hot(pd.Series(["IMAX|Drama", "Children's"]), ADAPTERS["ml-25m"].description.genres)
    assert hot.shape == (2, 20) and hot[0].sum() == 2 and hot[1].sum() == 0  # "Children's" is ML-1M's spelling
    assert genre_multi_hot(pd.Series(["Children's"]), ml1m.GENRES).shape == (1, len(ml1m.GENRES))


def test_every_consumer_requires_the_dataset(synthetic_data):
    """No consumer falls back to MovieLens-1M: a call that forgets the description (or its part) is refused."""
    import pandas as pd

    from movierec.config import RankingConfig
    from movierec.models.ranking import build_ranking_model

    with pytest.raises(TypeError, match="description"):
        FeatureSpace.fit(synthetic_data.ratings, synthetic_data.users, synthetic_data.movies)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="vocabulary"):
        genre_multi_hot(pd.Series(["Drama"]))  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="rating_range"):
        build_ranking_model({}, 8, RankingConfig(), 3.6)  # type: ignore[call-arg]


def test_bundle_description_from_the_manifest(synthetic_bundle, tmp_path):
    bundle = load_bundle(synthetic_bundle)
    # training records the dataset's description, with the id ranges of the data it saw
    assert bundle.description.name == "ml-1m" and bundle.description.genres == ml1m.GENRES
    assert bundle.description.user_id_range == (1, int(bundle.users["user_id"].max()))
    folder = shutil.copytree(resolve_bundle(synthetic_bundle), tmp_path / "bundle")
    manifest = json.loads((folder / MANIFEST).read_text())
    manifest["dataset"] = None
    (folder / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="manifest.json: a dataset description must be a JSON object"):
        load_bundle(folder)  # no fallback to MovieLens-1M
    ml100k = ADAPTERS["ml-100k"].description
    manifest["dataset"] = ml100k.to_dict()
    (folder / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="description lists 19 genres, the feature space has 18 genre columns"):
        load_bundle(folder)  # parts of two datasets
    same_width = dataclasses.replace(ml100k, genres=ml100k.genres[1:])  # 18 genres, as many as the feature space
    manifest["dataset"] = same_width.to_dict()
    (folder / MANIFEST).write_text(json.dumps(manifest))
    copy = load_bundle(folder)
    assert copy.description == same_width
    assert recommender_from_bundle(copy).catalogue.genres == same_width.genres
    manifest["dataset"] = {"name": "broken"}
    (folder / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="manifest.json: dataset description: missing field 'rating_min'"):
        load_bundle(folder).description  # noqa: B018
