"""Every adapter on a synthetic archive in its exact format: the shared table shapes, and line-numbered errors."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from movierec.config import UNKNOWN_AGE, UNKNOWN_GENDER, UNKNOWN_OCCUPATION
from movierec.datasets import csv_family, ml100k
from movierec.datasets.description import DatasetDescription
from movierec.datasets.registry import ADAPTERS, load
from movierec.errors import DataFormatError
from tests.synthetic import synthetic_files, write_archive
from tests.synthetic_formats import csv_files, ml100k_files, write_zip

COLUMNS = {
    "ratings": ["user_id", "movie_id", "rating", "timestamp"],
    "users": ["user_id", "gender", "age", "occupation", "zip"],
    "movies": ["movie_id", "title", "genres", "year"],
}
SHARED_ML100K = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "ml-100k.zip"


def _load(tmp_path: Path, dataset: str, files: dict[str, bytes], folder: str | None = None):
    archive = write_zip(tmp_path / f"{dataset}.zip", folder or dataset, files)
    return load(dataset, archive, tmp_path / "raw", tmp_path / "processed")


def _assert_shapes(data) -> None:
    for name, columns in COLUMNS.items():
        assert list(getattr(data, name).columns) == columns, name
    assert data.ratings["user_id"].isin(data.users["user_id"]).all()
    assert data.ratings["movie_id"].isin(data.movies["movie_id"]).all()


def test_registry_names_every_family():
    assert set(ADAPTERS) == {"ml-1m", "ml-100k", "ml-latest-small", "ml-20m", "ml-25m", "ml-32m"}
    for name, adapter in ADAPTERS.items():
        assert adapter.description.name == name and adapter.layout.folder == name
        assert adapter.url.startswith("https://files.grouplens.org/datasets/movielens/") and adapter.url.endswith(
            f"/{name}.zip"
        )
        assert adapter.md5 is None or len(adapter.md5) == 32


def test_unknown_dataset_lists_the_names(tmp_path):
    with pytest.raises(ValueError, match="unknown dataset 'ml-7m'; choose one of ml-1m, ml-100k"):
        load("ml-7m", tmp_path / "x.zip")


def test_ml1m_through_the_registry_carries_its_description(tmp_path):
    archive = write_archive(tmp_path / "ml-1m.zip", synthetic_files())
    data = load("ml-1m", archive, tmp_path / "raw", tmp_path / "processed")
    _assert_shapes(data)
    assert data.description.name == "ml-1m" and len(data.description.genres) == 18
    assert data.description.user_id_range == (1, 240) and data.description.movie_id_range == (1, 160)


def test_ml100k_tables(tmp_path):
    data = _load(tmp_path, "ml-100k", ml100k_files())
    _assert_shapes(data)
    assert str(data.ratings["rating"].dtype) == "int8" and data.ratings["rating"].between(1, 5).all()
    assert set(data.users["age"]) <= set(ml100k.DESCRIPTION.age_groups)  # bucketed into ML-1M's age groups
    assert set(data.users["occupation"]) <= set(ml100k.OCCUPATIONS) and set(data.users["gender"]) == {"F", "M"}
    movies = data.movies.set_index("movie_id")
    assert movies.loc[40, "title"] == "unknown" and movies.loc[40, "genres"] == "unknown"
    assert str(movies.loc[40, "year"]) == "<NA>"
    assert movies.loc[39, "year"] == 1995  # from the release date: the title ends in "(V)"
    assert movies.loc[5, "title"] == "Amélie 5 (1996)"  # latin-1 decoded
    assert data.description.genres[0] == "unknown" and len(data.description.genres) == 19


def test_ml100k_age_buckets():
    assert ml100k.age_group([7, 17, 18, 24, 25, 34, 35, 44, 45, 49, 50, 55, 56, 73]).tolist() == [
        1, 1, 18, 18, 25, 25, 35, 35, 45, 45, 50, 50, 56, 56,
    ]  # fmt: skip


def test_csv_family_tables(tmp_path):
    data = _load(tmp_path, "ml-latest-small", csv_files())
    _assert_shapes(data)
    ratings = data.ratings["rating"].to_numpy()
    assert str(data.ratings["rating"].dtype) == "float32" and ratings.min() >= 0.5 and ratings.max() <= 5.0
    assert (ratings * 2 == np.round(ratings * 2)).all() and (ratings % 1 == 0.5).any()
    users = data.users
    assert list(users["user_id"]) == sorted(data.ratings["user_id"].unique())
    assert (users["gender"] == UNKNOWN_GENDER).all() and (users["age"] == UNKNOWN_AGE).all()
    assert (users["occupation"] == UNKNOWN_OCCUPATION).all()
    movies = data.movies.set_index("movie_id")
    assert movies.loc[15, "title"] == "Good, the Bad and the Ugly 15, The (1970)" and movies.loc[15, "year"] == 1970
    assert movies.loc[3, "title"].startswith("Amélie 3 (Fabuleux destin d'Amélie Poulain, Le)")
    assert movies.loc[120, "genres"] == "(no genres listed)" and str(movies.loc[120, "year"]) == "<NA>"
    assert movies.loc[12, "genres"] == "Action|IMAX"
    assert data.description.user_features == () and data.description.half_stars


@pytest.mark.parametrize("dataset", ["ml-20m", "ml-25m", "ml-32m"])
def test_every_csv_variant_reads_its_own_folder(tmp_path, dataset):
    data = _load(tmp_path, dataset, csv_files(n_users=5, n_movies=10))
    assert data.description.name == dataset and len(data.users) == 5


# ---- bad lines: file and line number, and what is allowed -------------------------------------------------------
def _ml100k_with(file: str, lineno: int, line: str) -> dict[str, bytes]:
    files = ml100k_files()
    encoding = "latin-1" if file == "u.item" else "ascii"
    lines = files[file].decode(encoding).split("\n")
    lines[lineno - 1] = line
    files[file] = "\n".join(lines).encode(encoding)
    return files


@pytest.mark.parametrize(
    ("file", "line", "message"),
    [
        ("u.data", "1\t2\t3", "u.data line 4: expected 4 fields separated by '\\t'"),
        ("u.data", "1\tx\t3\t880000000", "u.data line 4: movie_id must be an integer, got 'x'"),
        ("u.data", "1\t2\t6\t880000000", "u.data line 4: rating 6 outside whole stars 1-5"),
        ("u.data", "1\t999\t3\t880000000", "u.data line 4: movie_id 999 is not in u.item"),
        ("u.data", "999\t2\t3\t880000000", "u.data line 4: user_id 999 is not in u.user"),
        ("u.user", "4|200|M|writer|12345", "u.user line 4: age 200 is not a plausible age"),
        ("u.user", "4|30|X|writer|12345", "u.user line 4: gender 'X' is not one of ['F', 'M']"),
        ("u.user", "4|30|M|astronaut|12345", "u.user line 4: occupation 'astronaut' is not one of"),
        ("u.user", "3|30|M|writer|12345", "u.user line 4: duplicate user_id (3,)"),
        ("u.item", "4|Movie 4 (1964)|01-Jan-1964||url|0|0", "u.item line 4: expected 24 fields separated by '|'"),
        (
            "u.item",
            "4|Movie 4 (1964)|01-Jan-1964||url|" + "|".join(["2"] + ["0"] * 18),
            "u.item line 4: genre flag 'unknown' must be 0 or 1, got '2'",
        ),
    ],
)
def test_ml100k_bad_line_is_named(tmp_path, file, line, message):
    with pytest.raises(DataFormatError) as caught:
        _load(tmp_path, "ml-100k", _ml100k_with(file, 4, line))
    assert message in str(caught.value)
    assert not (tmp_path / "raw" / "ml-100k").exists()  # nothing half-extracted is left in place


def test_ml100k_duplicate_rating_is_named(tmp_path):
    files = ml100k_files()
    lines = files["u.data"].decode().split("\n")
    lines[5] = lines[2]
    files["u.data"] = "\n".join(lines).encode()
    with pytest.raises(DataFormatError, match=r"u.data line 6: duplicate \(user_id, movie_id\) rating"):
        _load(tmp_path, "ml-100k", files)


def test_ml100k_missing_member_is_one_line(tmp_path):
    files = ml100k_files()
    del files["u.user"]
    with pytest.raises(DataFormatError, match=r"missing ml-100k/u.user; a MovieLens-100K archive holds"):
        _load(tmp_path, "ml-100k", files)


def _csv_with(file: str, lineno: int, line: str) -> dict[str, bytes]:
    files = csv_files()
    lines = files[file].decode("utf-8").split("\n")
    lines[lineno - 1] = line
    files[file] = "\n".join(lines).encode("utf-8")
    return files


@pytest.mark.parametrize(
    ("file", "line", "message"),
    [
        ("ratings.csv", "1,3,4.0", "ratings.csv line 5: expected 4 comma-separated fields"),
        ("ratings.csv", "1,abc,4.0,1100000000", "ratings.csv line 5: movieId must be an integer up to 2147483647"),
        ("ratings.csv", "1,3,four,1100000000", "ratings.csv line 5: rating must be a number such as 3.5, got 'four'"),
        ("ratings.csv", "1,3,4.2,1100000000", "ratings.csv line 5: rating 4.2 is not on the scale: half stars 0.5-5"),
        ("ratings.csv", "1,3,5.5,1100000000", "ratings.csv line 5: rating 5.5 is not on the scale"),
        ("ratings.csv", "1,3,0.0,1100000000", "ratings.csv line 5: rating 0 is not on the scale"),
        ("ratings.csv", "1,4,4.0,1100000000", "ratings.csv line 5: movieId 4 is not in movies.csv"),
        ("ratings.csv", "0,3,4.0,1100000000", "ratings.csv line 5: userId must be a positive integer, got 0"),
        ("ratings.csv", "1,3,4.0,-5", "ratings.csv line 5: timestamp must be seconds since 1970"),
        ("ratings.csv", "1,3,4.0,99999999999999999999", "ratings.csv line 5: timestamp must be an integer up to"),
        ("ratings.csv", "", "ratings.csv line 5: expected 4 comma-separated fields"),
        ("ratings.csv", "userId,movieId,rating,timestamp", "ratings.csv line 5: userId must be an integer"),
        ("movies.csv", "12,Movie 12 (1983),Action|Cartoon", "movies.csv line 5: unknown genre 'Cartoon'"),
        ("movies.csv", '12,"Movie, 12 (1983)', "movies.csv line 5: expected 3 comma-separated fields"),
        ("movies.csv", "6,Again (1983),Action", "movies.csv line 5: duplicate movieId 6"),
        ("movies.csv", "12,  ,Action", "movies.csv line 5: empty title"),
    ],
)
def test_csv_bad_line_is_named(tmp_path, file, line, message):
    with pytest.raises(DataFormatError) as caught:
        _load(tmp_path, "ml-latest-small", _csv_with(file, 5, line))
    assert message in str(caught.value)
    assert not (tmp_path / "raw" / "ml-latest-small").exists()


def test_csv_header_and_encoding_errors(tmp_path):
    files = csv_files()
    files["ratings.csv"] = files["ratings.csv"].replace(b"userId,movieId", b"user,movie", 1)
    with pytest.raises(
        DataFormatError, match="ratings.csv line 1: expected the header userId,movieId,rating,timestamp"
    ):
        _load(tmp_path / "a", "ml-latest-small", files)
    files = csv_files()
    files["movies.csv"] = files["movies.csv"].replace("Amélie 3".encode(), "Amélie 3".encode("latin-1"), 1)
    with pytest.raises(DataFormatError, match="movies.csv line 2: byte 0xe9 is not UTF-8"):
        _load(tmp_path / "b", "ml-latest-small", files)


def test_csv_duplicate_rating_is_named(tmp_path):
    files = csv_files()
    lines = files["ratings.csv"].decode().split("\n")
    lines[6] = lines[3]
    files["ratings.csv"] = "\n".join(lines).encode()
    with pytest.raises(DataFormatError, match=r"ratings.csv line 7: duplicate \(userId, movieId\) rating"):
        _load(tmp_path, "ml-latest-small", files)


def test_description_round_trips_through_json():
    import json

    for adapter in ADAPTERS.values():
        description = adapter.description
        assert DatasetDescription.from_dict(json.loads(json.dumps(description.to_dict()))) == description
    with pytest.raises(ValueError, match="missing field 'genres'"):
        DatasetDescription.from_dict(
            {k: v for k, v in ADAPTERS["ml-1m"].description.to_dict().items() if k != "genres"}
        )


def test_rating_scales():
    whole, half = ADAPTERS["ml-100k"].description, ADAPTERS["ml-25m"].description
    assert whole.rating_values() == (1, 2, 3, 4, 5) and not whole.is_valid_rating(4.5)
    assert len(half.rating_values()) == 10 and half.is_valid_rating(4.5) and not half.is_valid_rating(4.25)
    assert not half.is_valid_rating(float("nan")) and half.rating_rule() == "half stars 0.5-5"
    assert csv_family.VARIANTS["ml-25m"].md5 == "6b51fb2759a8657d3bfcbfc42b592ada"


@pytest.mark.integration
def test_real_ml100k_archive(tmp_path):
    path = Path(os.environ.get("ML100K_ZIP") or SHARED_ML100K)
    if not path.is_file():
        pytest.skip(f"{path} is absent (set ML100K_ZIP to the real MovieLens-100K archive to run this test)")
    data = load("ml-100k", path, tmp_path / "raw", tmp_path / "processed")
    _assert_shapes(data)
    assert (len(data.ratings), len(data.users), len(data.movies)) == (100_000, 943, 1_682)
    assert data.description.user_id_range == (1, 943) and data.description.movie_id_range == (1, 1682)
    assert data.ratings.groupby("user_id").size().min() >= 20  # every ML-100K user rated at least 20 movies


def test_make_data_picks_the_adapter(tmp_path, capsys, monkeypatch):
    from training.data import main

    archive = write_zip(tmp_path / "ml-100k.zip", "ml-100k", ml100k_files())
    monkeypatch.setenv("DATASET", "ml-100k")
    monkeypatch.setenv("DATA_ZIP", str(archive))
    assert main(["--data-dir", str(tmp_path / "data")]) == 0
    assert capsys.readouterr().out.startswith("MovieLens-100K ready in")
    assert main(["--data-dir", str(tmp_path / "data"), "--dataset", "ml-1m", "--archive", str(archive)]) == 2
    assert "missing ml-1m/ratings.dat" in capsys.readouterr().err
