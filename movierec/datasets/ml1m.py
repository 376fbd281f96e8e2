"""MovieLens-1M: its vocabularies, rating scale, official download, archive layout and parser (the default dataset).

Three `::`-separated files: `users.dat` and `ratings.dat` (ASCII), `movies.dat` (latin-1 titles, which may themselves
contain colons).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from movierec.data.archive import ArchiveLayout
from movierec.data.loader import (
    MovieLens,
    check_allowed,
    check_ratings,
    check_unique,
    fail,
    integers,
    parse_year,
    read_lines,
    split_fields,
)
from movierec.datasets.description import DatasetDescription

NAME = "ml-1m"
LABEL = "MovieLens-1M"
OFFICIAL_URL = "https://files.grouplens.org/datasets/movielens/ml-1m.zip"
OFFICIAL_MD5 = "c4d9eecfca2ab87c1945afe126590906"

MEMBERS = ("ratings.dat", "users.dat", "movies.dat")
EXTRACTED = (*MEMBERS, "README")  # what extraction copies; any other member is only checked, never written
ARCHIVE_DIR = NAME
# The real extracted members total about 25 MB; anything past this is a damaged archive or a zip bomb.
MAX_EXTRACTED_BYTES = 100 * 1024 * 1024
LAYOUT = ArchiveLayout(ARCHIVE_DIR, MEMBERS, EXTRACTED, LABEL, MAX_EXTRACTED_BYTES, "about 25 MB")
ASCII_FILES = ("ratings.dat", "users.dat")  # all digits and codes; only movies.dat has latin-1 titles
SEPARATOR = "::"

GENRES: tuple[str, ...] = (
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
)
GENDERS: tuple[str, ...] = ("F", "M")
GENDER_LABELS: dict[str, str] = {"F": "female", "M": "male"}
AGE_GROUPS: dict[int, str] = {
    1: "Under 18",
    18: "18-24",
    25: "25-34",
    35: "35-44",
    45: "45-49",
    50: "50-55",
    56: "56+",
}
OCCUPATIONS: dict[int, str] = {
    0: "other or not specified",
    1: "academic/educator",
    2: "artist",
    3: "clerical/admin",
    4: "college/grad student",
    5: "customer service",
    6: "doctor/health care",
    7: "executive/managerial",
    8: "farmer",
    9: "homemaker",
    10: "K-12 student",
    11: "lawyer",
    12: "programmer",
    13: "retired",
    14: "sales/marketing",
    15: "scientist",
    16: "self-employed",
    17: "technician/engineer",
    18: "tradesman/craftsman",
    19: "unemployed",
    20: "writer",
}
MIN_RATING, MAX_RATING = 1, 5
LIKED_RATING = 4

DESCRIPTION = DatasetDescription(
    name=NAME,
    rating_min=float(MIN_RATING),
    rating_max=float(MAX_RATING),
    rating_step=1.0,
    liked_threshold=float(LIKED_RATING),
    genres=GENRES,
    genders=dict(GENDER_LABELS),
    age_groups=dict(AGE_GROUPS),
    occupations=dict(OCCUPATIONS),
)


def _read_lines(path: Path) -> list[str]:
    """A .dat file's lines: users.dat and ratings.dat must be ASCII, movies.dat latin-1 text."""
    return read_lines(path, ascii_only=path.name in ASCII_FILES, label=LABEL)


def parse_users(path: Path) -> pd.DataFrame:
    """users.dat: UserID::Gender::Age::Occupation::Zip-code, each code one of this module's vocabularies."""
    lines = _read_lines(path)
    raw = split_fields(path, lines, ("UserID", "Gender", "Age", "Occupation", "Zip-code"), SEPARATOR)
    users = pd.DataFrame(
        {
            "user_id": integers(path, lines, raw, "UserID").astype(np.int32),
            "gender": raw["Gender"].to_numpy(dtype=object),
            "age": integers(path, lines, raw, "Age").astype(np.int16),
            "occupation": integers(path, lines, raw, "Occupation").astype(np.int16),
            "zip": raw["Zip-code"].to_numpy(dtype=object),
        }
    )
    check_allowed(path, lines, users["gender"].to_numpy(), GENDERS, "Gender")
    check_allowed(path, lines, users["age"].to_numpy(), AGE_GROUPS, "Age")
    check_allowed(path, lines, users["occupation"].to_numpy(), OCCUPATIONS, "Occupation")
    check_unique(path, lines, users, ["user_id"], "UserID")
    users["gender"] = users["gender"].astype("string")
    users["zip"] = users["zip"].astype("string")
    return users


def parse_movies(path: Path) -> pd.DataFrame:
    """movies.dat: MovieID::Title::Genres, genres from GENRES; the year is read from the title."""
    lines = _read_lines(path)
    raw = _split_fields_movies(path, lines)
    movies = pd.DataFrame(
        {
            "movie_id": integers(path, lines, raw, "MovieID").astype(np.int32),
            "title": raw["Title"].astype("string"),
            "genres": raw["Genres"].astype("string"),
        }
    )
    known = set(GENRES)
    for i, genres in enumerate(raw["Genres"]):
        unknown = [g for g in genres.split("|") if g not in known]
        if unknown:
            raise fail(path, i + 1, lines[i], f"unknown genre {unknown[0]!r}; allowed: {', '.join(GENRES)}")
    empty = (movies["title"].str.strip() == "").to_numpy()
    if empty.any():
        i = int(np.argmax(empty))
        raise fail(path, i + 1, lines[i], "empty title")
    check_unique(path, lines, movies, ["movie_id"], "MovieID")
    movies["year"] = pd.array([parse_year(t) for t in movies["title"]], dtype="Int16")
    return movies


def _split_fields_movies(path: Path, lines: list[str]) -> pd.DataFrame:
    """Movies split on the first and last '::' so a title may itself contain colons."""
    rows = []
    for i, line in enumerate(lines):
        head, sep, rest = line.partition("::")
        title, sep2, genres = rest.rpartition("::")
        if not sep or not sep2:
            raise fail(path, i + 1, line, "expected 3 fields separated by '::' (MovieID::Title::Genres)")
        rows.append((head, title, genres))
    return pd.DataFrame(rows, columns=["MovieID", "Title", "Genres"])


def parse_ratings(path: Path, users: pd.DataFrame, movies: pd.DataFrame) -> pd.DataFrame:
    """ratings.dat: UserID::MovieID::Rating::Timestamp, whole stars on the scale, ids of users.dat and movies.dat."""
    lines = _read_lines(path)
    raw = split_fields(path, lines, ("UserID", "MovieID", "Rating", "Timestamp"), SEPARATOR)
    ratings = pd.DataFrame(
        {
            "user_id": integers(path, lines, raw, "UserID").astype(np.int32),
            "movie_id": integers(path, lines, raw, "MovieID").astype(np.int32),
            "rating": integers(path, lines, raw, "Rating").astype(np.int8),
            "timestamp": integers(path, lines, raw, "Timestamp"),
        }
    )
    check_ratings(
        path, lines, ratings, (MIN_RATING, MAX_RATING, f"{MIN_RATING}-{MAX_RATING}"),
        (users, "users.dat"), (movies, "movies.dat"),
    )  # fmt: skip
    return ratings


def parse(raw_dir: Path, sha256: str = "") -> MovieLens:
    """The validated tables of an extracted ml-1m folder: users.dat, movies.dat, then ratings.dat against both."""
    users = parse_users(raw_dir / "users.dat")
    movies = parse_movies(raw_dir / "movies.dat")
    ratings = parse_ratings(raw_dir / "ratings.dat", users, movies)
    return MovieLens(ratings=ratings, users=users, movies=movies, sha256=sha256)
