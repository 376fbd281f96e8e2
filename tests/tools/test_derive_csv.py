"""tools.derive_csv on a tiny ML-1M-format zip: the CSV-family archive it writes loads through the project's adapter."""

from __future__ import annotations

import csv
import io
import zipfile

import numpy as np
import pytest

from movierec.datasets import csv_family
from movierec.datasets.registry import load
from tools import derive_csv

MOVIES = [
    "1::Toy Story (1995)::Animation|Children's|Comedy",
    "2::Good, the Bad and the Ugly, The (1966)::Western",
    "3::Amélie (Fabuleux destin d'Amélie Poulain, Le) (2001)::Comedy|Romance",
    "4::Never Rated (1990)::Drama",
]


def fake_ml1m(path, n_users=8):
    rng = np.random.default_rng(1)
    ratings = [
        f"{u}::{m}::{int(rng.integers(1, 6))}::{978_300_000 + 10 * u + m}"
        for u in range(1, n_users + 1)
        for m in (1, 2, 3)
    ]
    users = [f"{u}::{'FM'[u % 2]}::25::4::1234{u}" for u in range(1, n_users + 1)]
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("ml-1m/ratings.dat", ("\n".join(ratings) + "\n").encode("latin-1"))
        archive.writestr("ml-1m/movies.dat", ("\n".join(MOVIES) + "\n").encode("latin-1"))
        archive.writestr("ml-1m/users.dat", ("\n".join(users) + "\n").encode("latin-1"))
    return path


def test_the_derived_archive_is_a_csv_family_release(tmp_path):
    source = fake_ml1m(tmp_path / "ml-1m.zip")
    out = tmp_path / "out" / "ml-latest-small.zip"
    argv = ["--input", str(source), "--output", str(out), "--users", "5", "--half-star-rate", "0.5"]
    assert derive_csv.main(argv) == 0

    with zipfile.ZipFile(out) as archive:
        assert set(archive.namelist()) == {f"ml-latest-small/{n}" for n in ("ratings.csv", "movies.csv", "README.txt")}
        rows = list(csv.reader(io.StringIO(archive.read("ml-latest-small/ratings.csv").decode())))
        movies_text = archive.read("ml-latest-small/movies.csv").decode()
    assert tuple(rows[0]) == csv_family.RATINGS_HEADER
    assert '2,"Good, the Bad and the Ugly, The (1966)",Western' in movies_text
    assert movies_text.startswith(",".join(csv_family.MOVIES_HEADER) + "\n")
    assert all(r[2] in {f"{x / 2:.1f}" for x in range(1, 11)} for r in rows[1:])
    assert {r[0] for r in rows[1:]} == {"1", "2", "3", "4", "5"} and len(rows) == 1 + 5 * 3

    data = load("ml-latest-small", out, tmp_path / "raw", tmp_path / "processed")
    assert data.ratings["user_id"].nunique() == 5 and len(data.ratings) == 15
    ratings = data.ratings["rating"].to_numpy()
    assert ratings.min() >= 0.5 and ratings.max() <= 5.0 and (ratings * 2 == np.round(ratings * 2)).all()
    assert (ratings % 1 == 0.5).any()  # some moved half a star
    movies = data.movies.set_index("movie_id")
    assert list(movies.index) == [1, 2, 3]  # movie 4 has no rating
    assert movies.loc[1, "genres"] == "Animation|Children|Comedy"
    assert movies.loc[3, "title"].startswith("Amélie (Fabuleux destin")

    again = tmp_path / "again.zip"
    assert derive_csv.main([*argv[:2], "--output", str(again), *argv[4:]]) == 0
    assert again.read_bytes() == out.read_bytes()  # the seed fixes every byte
    assert not list(tmp_path.glob("**/*.tmp"))


@pytest.mark.parametrize(
    ("members", "message"),
    [(None, "no such archive"), ({"ml-1m/movies.dat": b"1::A (1990)::Drama\n"}, "no ml-1m/ratings.dat")],
)
def test_a_missing_or_wrong_archive_is_one_line_and_exit_2(tmp_path, capsys, members, message):
    source = tmp_path / "ml-1m.zip"
    if members is not None:
        with zipfile.ZipFile(source, "w") as archive:
            for name, content in members.items():
                archive.writestr(name, content)
    out = tmp_path / "out.zip"
    assert derive_csv.main(["--input", str(source), "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not out.exists()
