"""MovieLens-100K: `u.data` (tab-separated ratings), `u.item` (pipe-separated, latin-1, 19 genre flags), `u.user`.

Ages in `u.user` are years (7-73); they are bucketed into MovieLens-1M's age groups (1 = under 18, 18, 25, 35, 45,
50, 56+), so a profile has the same age codes on both datasets and the API and UI need no second age scheme.
Occupations are names; they get the codes 0-20 in the order of the archive's `u.occupation` (alphabetical).
"""

from __future__ import annotations

import datetime as dt
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
from movierec.datasets import ml1m
from movierec.datasets.description import DatasetDescription
from movierec.errors import DataFormatError

NAME = "ml-100k"
LABEL = "MovieLens-100K"
OFFICIAL_URL = "https://files.grouplens.org/datasets/movielens/ml-100k.zip"
OFFICIAL_MD5 = "0e33842e24a9c977be4e0107933c0723"  # also published at OFFICIAL_URL + ".md5"
LAYOUT = ArchiveLayout(
    folder="ml-100k",
    members=("u.data", "u.item", "u.user"),
    extracted=("u.data", "u.item", "u.user", "u.genre", "u.occupation", "README"),
    label=LABEL,
    max_bytes=100 * 1024 * 1024,
    size_note="about 5 MB",
)
GENRES: tuple[str, ...] = ("unknown", *ml1m.GENRES)  # the order of u.item's 19 flags (u.genre)
OCCUPATION_NAMES: tuple[str, ...] = (
    "administrator", "artist", "doctor", "educator", "engineer", "entertainment", "executive", "healthcare",
    "homemaker", "lawyer", "librarian", "marketing", "none", "other", "programmer", "retired", "salesman",
    "scientist", "student", "technician", "writer",
)  # fmt: skip
OCCUPATIONS: dict[int, str] = dict(enumerate(OCCUPATION_NAMES))
AGE_BOUNDS = np.array(sorted(ml1m.AGE_GROUPS))  # lower bound of each ML-1M age group: 1, 18, 25, 35, 45, 50, 56
MAX_AGE = 120
ITEM_FIELDS = ("movie_id", "title", "release_date", "video_release_date", "imdb_url", *(f"g:{g}" for g in GENRES))

DESCRIPTION = DatasetDescription(
    name=NAME,
    rating_min=1.0,
    rating_max=5.0,
    rating_step=1.0,
    liked_threshold=4.0,
    genres=GENRES,
    genders=dict(ml1m.GENDER_LABELS),
    age_groups=dict(ml1m.AGE_GROUPS),
    occupations=OCCUPATIONS,
)


def age_group(ages) -> np.ndarray:
    """Years -> the ML-1M age group code (the largest group lower bound <= the age; under 18 is group 1)."""
    ages = np.asarray(ages)
    return AGE_BOUNDS[np.maximum(np.searchsorted(AGE_BOUNDS, ages, side="right") - 1, 0)].astype(np.int16)


def parse_users(path: Path) -> pd.DataFrame:
    lines = read_lines(path, ascii_only=True, label=LABEL)
    raw = split_fields(path, lines, ("user_id", "age", "gender", "occupation", "zip"), sep="|")
    user_ids = integers(path, lines, raw, "user_id")
    ages = integers(path, lines, raw, "age")
    bad = (ages < 1) | (ages > MAX_AGE)
    if bad.any():
        i = int(np.argmax(bad))
        raise fail(path, i + 1, lines[i], f"age {ages[i]} is not a plausible age in years (1-{MAX_AGE})")
    check_allowed(path, lines, raw["gender"].to_numpy(), ml1m.GENDERS, "gender")
    check_allowed(path, lines, raw["occupation"].to_numpy(), OCCUPATION_NAMES, "occupation")
    codes = {name: code for code, name in OCCUPATIONS.items()}
    users = pd.DataFrame(
        {
            "user_id": user_ids.astype(np.int32),
            "gender": raw["gender"].astype("string"),
            "age": age_group(ages),
            "occupation": raw["occupation"].map(codes).to_numpy(dtype=np.int16),
            "zip": raw["zip"].astype("string"),
        }
    )
    _check_positive(path, lines, users["user_id"].to_numpy(), "user_id")
    check_unique(path, lines, users, ["user_id"], "user_id")
    return users


def parse_movies(path: Path) -> pd.DataFrame:
    lines = read_lines(path, ascii_only=False, label=LABEL)
    raw = split_fields(path, lines, ITEM_FIELDS, sep="|")
    movie_ids = integers(path, lines, raw, "movie_id")
    _check_positive(path, lines, movie_ids, "movie_id")
    flags = raw[[f"g:{g}" for g in GENRES]].to_numpy()
    bad = ~np.isin(flags, ("0", "1"))
    if bad.any():
        i, j = (int(v) for v in np.argwhere(bad)[0])
        raise fail(path, i + 1, lines[i], f"genre flag {GENRES[j]!r} must be 0 or 1, got {flags[i, j]!r}")
    empty = (raw["title"].str.strip() == "").to_numpy()
    if empty.any():
        i = int(np.argmax(empty))
        raise fail(path, i + 1, lines[i], "empty title")
    on = flags == "1"
    names = np.array(GENRES, dtype=object)
    movies = pd.DataFrame(
        {
            "movie_id": movie_ids.astype(np.int32),
            "title": raw["title"].astype("string"),
            "genres": pd.array(["|".join(names[row]) for row in on], dtype="string"),
        }
    )
    check_unique(path, lines, movies, ["movie_id"], "movie_id")
    years = [parse_year(t) or _release_year(d) for t, d in zip(raw["title"], raw["release_date"], strict=True)]
    movies["year"] = pd.array(years, dtype="Int16")
    return movies


def _release_year(date: str) -> int | None:
    """The year of u.item's release date ('01-Jan-1995'); None when empty or not a date."""
    try:
        return dt.datetime.strptime(date.strip(), "%d-%b-%Y").year
    except ValueError:
        return None


def parse_ratings(path: Path, users: pd.DataFrame, movies: pd.DataFrame) -> pd.DataFrame:
    lines = read_lines(path, ascii_only=True, label=LABEL)
    raw = split_fields(path, lines, ("user_id", "movie_id", "rating", "timestamp"), sep="\t")
    ratings = pd.DataFrame(
        {
            "user_id": integers(path, lines, raw, "user_id").astype(np.int32),
            "movie_id": integers(path, lines, raw, "movie_id").astype(np.int32),
            "rating": integers(path, lines, raw, "rating").astype(np.int8),
            "timestamp": integers(path, lines, raw, "timestamp"),
        }
    )
    scale = (DESCRIPTION.rating_min, DESCRIPTION.rating_max, DESCRIPTION.rating_rule())
    check_ratings(path, lines, ratings, scale, (users, "u.user"), (movies, "u.item"))
    return ratings


def _check_positive(path: Path, lines: list[str], ids: np.ndarray, column: str) -> None:
    bad = ids < 1
    if bad.any():
        i = int(np.argmax(bad))
        raise fail(path, i + 1, lines[i], f"{column} must be a positive integer, got {ids[i]}")


def parse(raw_dir: Path, sha256: str = "") -> MovieLens:
    """The validated tables of an extracted ml-100k folder (u.user, u.item, then u.data against both)."""
    if not raw_dir.is_dir():
        raise DataFormatError(f"{raw_dir}: not a folder (expected an extracted {LABEL} archive)")
    users = parse_users(raw_dir / "u.user")
    movies = parse_movies(raw_dir / "u.item")
    ratings = parse_ratings(raw_dir / "u.data", users, movies)
    return MovieLens(ratings=ratings, users=users, movies=movies, sha256=sha256)
