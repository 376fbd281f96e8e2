"""The shared loader on MovieLens-1M's parser: validation messages (file, line, text) and the parquet cache."""

import pytest

from movierec.data.archive import extract_archive
from movierec.data.loader import load_dataset, parse_year
from movierec.datasets import ml1m
from movierec.errors import DataFormatError
from tests.synthetic import synthetic_files, write_archive


def test_tables_are_typed_and_complete(synthetic_data):
    ratings, users, movies = synthetic_data.ratings, synthetic_data.users, synthetic_data.movies
    assert list(ratings.columns) == ["user_id", "movie_id", "rating", "timestamp"]
    assert str(ratings["rating"].dtype) == "int8" and str(ratings["timestamp"].dtype) == "int64"
    assert len(users) == 240 and len(movies) == 160
    assert ratings["rating"].between(1, 5).all()
    assert set(users["gender"]) == {"F", "M"}


def test_latin1_titles_are_decoded(synthetic_data):
    titles = set(synthetic_data.movies["title"])
    assert any("Cité des enfants" in t for t in titles)
    assert any("Être et avoir" in t for t in titles)


def test_year_parsing():
    assert parse_year("Toy Story (1995)") == 1995
    assert parse_year("Saga: Part 11 (1977) ") == 1977
    assert parse_year("City of Lost Children, The (Cité des enfants perdus, La) (1995)") == 1995
    assert parse_year("Untitled") is None
    assert parse_year("1984") is None


def test_movie_without_year_gets_missing_year(synthetic_data):
    movies = synthetic_data.movies.set_index("movie_id")
    assert movies.loc[160, "year"] is None or str(movies.loc[160, "year"]) == "<NA>"
    assert movies.loc[1, "year"] == 1957


def _broken(tmp_path, name, transform):
    files = synthetic_files(n_users=30, n_movies=24)
    lines = files[name].decode("latin-1").splitlines()
    lines = transform(lines)
    files[name] = ("\n".join(lines) + "\n").encode("latin-1")
    target = extract_archive(write_archive(tmp_path / "bad.zip", files), tmp_path / "raw", ml1m.LAYOUT)
    return target


@pytest.mark.parametrize(
    ("name", "transform", "message"),
    [
        (
            "ratings.dat",
            lambda ls: ls[:4] + ["1::2::3"] + ls[4:],
            r"ratings.dat line 5: expected 4 fields .*got 3: '1::2::3'",
        ),
        (
            "ratings.dat",
            lambda ls: ls[:2] + ["x1::2::3::956700000"] + ls[2:],
            r"ratings.dat line 3: UserID must be an integer, got 'x1'",
        ),
        (
            "ratings.dat",
            lambda ls: ls[:2] + ["1::2.5::3::956700000"] + ls[2:],
            r"ratings.dat line 3: MovieID must be an integer",
        ),
        (
            "ratings.dat",
            lambda ls: ls[:6] + ["2::3::6::956700000"] + ls[6:],
            r"ratings.dat line 7: rating 6 outside 1-5: '2::3::6::956700000'",
        ),
        (
            "ratings.dat",
            lambda ls: ls[:6] + ["2::3::0::956700000"] + ls[6:],
            r"ratings.dat line 7: rating 0 outside 1-5",
        ),
        (
            "ratings.dat",
            lambda ls: ls + ["999::3::4::956700000"],
            r"ratings.dat line \d+: user_id 999 is not in users.dat",
        ),
        (
            "ratings.dat",
            lambda ls: ls + ["3::9999::4::956700000"],
            r"ratings.dat line \d+: movie_id 9999 is not in movies.dat",
        ),
        ("ratings.dat", lambda ls: ls + [ls[0]], r"ratings.dat line \d+: duplicate \(user_id, movie_id\) rating"),
        (
            "users.dat",
            lambda ls: ls[:1] + ["2::X::25::3::12345"] + ls[2:],
            r"users.dat line 2: Gender 'X' is not one of \['F', 'M'\]",
        ),
        ("users.dat", lambda ls: ls[:1] + ["2::F::26::3::12345"] + ls[2:], r"users.dat line 2: Age 26 is not one of"),
        (
            "users.dat",
            lambda ls: ls[:1] + ["2::F::25::21::12345"] + ls[2:],
            r"users.dat line 2: Occupation 21 is not one of",
        ),
        ("users.dat", lambda ls: ls[:1] + ["2::F::25"] + ls[2:], r"users.dat line 2: expected 5 fields"),
        (
            "movies.dat",
            lambda ls: ls[:3] + ["4::Broken (1990)::Cartoon"] + ls[4:],
            r"movies.dat line 4: unknown genre 'Cartoon'",
        ),
        (
            "movies.dat",
            lambda ls: ls[:3] + ["four::Broken (1990)::Drama"] + ls[4:],
            r"movies.dat line 4: MovieID must be an integer",
        ),
        ("movies.dat", lambda ls: ls[:3] + ["4 Broken (1990) Drama"] + ls[4:], r"movies.dat line 4: expected 3 fields"),
    ],
)
def test_bad_input_names_file_line_and_text(tmp_path, name, transform, message):
    raw = _broken(tmp_path, name, transform)
    with pytest.raises(DataFormatError, match=message):
        ml1m.parse(raw)


def test_failed_parse_leaves_no_cache(tmp_path):
    raw = _broken(tmp_path, "ratings.dat", lambda ls: ls + ["1::2::9::956700000"])
    with pytest.raises(DataFormatError):
        load_dataset(raw, tmp_path / "processed", ml1m.parse)
    assert not (tmp_path / "processed").exists() or not any((tmp_path / "processed").iterdir())


def test_parquet_cache_is_reused(synthetic_zip, tmp_path):
    raw = extract_archive(synthetic_zip, tmp_path / "raw", ml1m.LAYOUT)
    first = load_dataset(raw, tmp_path / "processed", ml1m.parse)
    caches = list((tmp_path / "processed").iterdir())
    assert len(caches) == 1 and {p.name for p in caches[0].iterdir()} == {
        "ratings.parquet",
        "users.parquet",
        "movies.parquet",
    }

    def must_not_parse(*args, **kwargs):
        raise AssertionError("parsed again despite a cache hit")

    second = load_dataset(raw, tmp_path / "processed", must_not_parse)
    assert second.ratings.equals(first.ratings)
    assert second.movies["title"].tolist() == first.movies["title"].tolist()
    assert second.sha256 == first.sha256
