"""The MovieLens CSV family (ml-latest-small, ML-20M, ML-25M, ML-32M): `ratings.csv` and `movies.csv`, no users.

Parsing is vectorised (pyarrow.csv, multi-threaded): a file that does not parse is scanned again line by line only
to name the first bad line, so a valid file never pays for the line-numbered errors. Ratings are half stars
0.5-5.0; titles are quoted when they hold a comma; genres include "IMAX" and "(no genres listed)" (kept as a
genre of its own). There are no demographics: the users table is every user id of ratings.csv with the
"unknown" sentinels of movierec.config.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from movierec.config import MAX_ID, UNKNOWN_AGE, UNKNOWN_GENDER, UNKNOWN_OCCUPATION
from movierec.data.archive import ArchiveLayout
from movierec.data.loader import YEAR_PATTERN, MovieLens, fail
from movierec.datasets.description import DatasetDescription
from movierec.errors import DataFormatError

BASE_URL = "https://files.grouplens.org/datasets/movielens"
GENRES: tuple[str, ...] = (
    "Action", "Adventure", "Animation", "Children", "Comedy", "Crime", "Documentary", "Drama", "Fantasy",
    "Film-Noir", "Horror", "IMAX", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western",
    "(no genres listed)",
)  # fmt: skip
RATINGS_HEADER = ("userId", "movieId", "rating", "timestamp")
MOVIES_HEADER = ("movieId", "title", "genres")
BLOCK_BYTES = 16 << 20  # pyarrow reads in blocks of this size, one per thread
_INTEGER = re.compile(r"-?\d+")
_DECIMAL = re.compile(r"-?(\d+(\.\d*)?|\.\d+)")


@dataclass(frozen=True)
class Variant:
    """One member of the family: its name (also the archive's folder), size limit and official checksum."""

    name: str
    label: str
    max_bytes: int
    size_note: str
    md5: str | None  # None: not recorded here; the download reads it from md5_url (grouplens publishes it)

    @property
    def url(self) -> str:
        return f"{BASE_URL}/{self.name}.zip"

    @property
    def md5_url(self) -> str:
        return f"{self.url}.md5"

    @property
    def layout(self) -> ArchiveLayout:
        return ArchiveLayout(
            folder=self.name,
            members=("ratings.csv", "movies.csv"),
            extracted=("ratings.csv", "movies.csv", "README.txt"),
            label=self.label,
            max_bytes=self.max_bytes,
            size_note=self.size_note,
        )

    @property
    def description(self) -> DatasetDescription:
        return DatasetDescription(
            name=self.name, rating_min=0.5, rating_max=5.0, rating_step=0.5, liked_threshold=4.0, genres=GENRES
        )


MiB = 1024 * 1024
VARIANTS = {
    v.name: v
    for v in (
        # ml-latest-small is re-released from time to time: its checksum is read from the .md5 file at download
        Variant("ml-latest-small", "MovieLens latest-small", 64 * MiB, "about 3 MB", None),
        Variant("ml-20m", "MovieLens-20M", 1024 * MiB, "about 540 MB", "cd245b17a1ae2cc31bb14903e1204af3"),
        Variant("ml-25m", "MovieLens-25M", 1024 * MiB, "about 680 MB", "6b51fb2759a8657d3bfcbfc42b592ada"),
        Variant("ml-32m", "MovieLens-32M", 2048 * MiB, "about 880 MB", None),
    )
}


# ---- reading: pyarrow first, a line scan only to explain a failure ------------------------------------------------
def _check_header(path: Path, expected: tuple[str, ...], label: str) -> None:
    if not path.is_file():
        raise DataFormatError(f"{path}: file not found (expected {label} {path.name})")
    with open(path, "rb") as handle:
        first = handle.readline(4096)
    header = first.decode("utf-8", "replace").lstrip("\ufeff").rstrip("\r\n")
    if not header:
        raise DataFormatError(f"{path.name}: the file is empty; {label} {path.name} starts with a header line")
    if tuple(next(csv.reader([header]))) != expected:
        raise fail(path, 1, header, f"expected the header {','.join(expected)}")


def _read(path: Path, types: dict[str, pa.DataType], label: str) -> pa.Table:
    """The CSV as an Arrow table of these column types; any parse or conversion error names the line."""
    _check_header(path, tuple(types), label)
    try:
        return pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(use_threads=True, block_size=BLOCK_BYTES),
            parse_options=pacsv.ParseOptions(ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(
                column_types=types,
                null_values=[],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                check_utf8=True,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        raise _explain(path, types, label) or DataFormatError(f"{path.name}: not a valid {label} CSV ({exc})") from exc


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    with open(path, "rb") as handle:
        yield from enumerate(handle, 1)


def _explain(path: Path, types: dict[str, pa.DataType], label: str) -> DataFormatError | None:
    """The first line that breaks the format, as a DataFormatError (None when no line does: then pyarrow's message)."""
    names = tuple(types)
    for lineno, raw in islice(_lines(path), 1, None):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            shown = raw.decode("utf-8", "replace").rstrip("\r\n")
            return fail(path, lineno, shown, f"byte 0x{raw[exc.start]:02x} is not UTF-8; {label} files are UTF-8")
        line = text.rstrip("\r\n")
        fields = next(csv.reader([line]), [])
        if len(fields) != len(names):
            return fail(
                path,
                lineno,
                line,
                f"expected {len(names)} comma-separated fields ({','.join(names)}), got {len(fields)}",
            )
        for name, value in zip(names, fields, strict=True):
            kind = types[name]
            if pa.types.is_integer(kind) and not _fits_integer(value, kind):
                limit = MAX_ID if kind == pa.int32() else 2**63 - 1
                return fail(path, lineno, line, f"{name} must be an integer up to {limit}, got {value!r}")
            if pa.types.is_floating(kind) and not _DECIMAL.fullmatch(value):
                return fail(path, lineno, line, f"{name} must be a number such as 3.5, got {value!r}")
    return None


def _fits_integer(value: str, kind: pa.DataType) -> bool:
    if not _INTEGER.fullmatch(value):
        return False
    bits = kind.bit_width - 1
    return -(2**bits) <= int(value) < 2**bits


def _line_at(path: Path, lineno: int) -> str:
    """The text of one line (for an error message about a value found after a successful read)."""
    for number, raw in _lines(path):
        if number == lineno:
            return raw.decode("utf-8", "replace").rstrip("\r\n")
    return ""


def _fail_row(path: Path, row: int, problem: str) -> DataFormatError:
    """An error about data row `row` (0-based): line row + 2, after the header (pyarrow keeps empty lines as rows)."""
    return fail(path, row + 2, _line_at(path, row + 2), problem)


# ---- the two files ----------------------------------------------------------------------------------------------
def parse_movies(path: Path, variant: Variant) -> pd.DataFrame:
    table = _read(path, {"movieId": pa.int32(), "title": pa.string(), "genres": pa.string()}, variant.label)
    ids = table["movieId"].to_numpy()
    bad = ids < 1
    if bad.any():
        raise _fail_row(path, int(np.argmax(bad)), f"movieId must be a positive integer, got {ids[bad][0]}")
    titles = table["title"].to_pandas().astype("string")
    empty = (titles.str.strip() == "").to_numpy()
    if empty.any():
        raise _fail_row(path, int(np.argmax(empty)), "empty title")
    genres = table["genres"]
    tokens = pc.split_pattern(genres, "|")
    known = pc.is_in(pc.list_flatten(tokens), value_set=pa.array(GENRES)).to_numpy(zero_copy_only=False)
    if not known.all():
        first = int(np.argmin(known))
        row = int(pc.list_parent_indices(tokens).to_numpy()[first])
        token = pc.list_flatten(tokens)[first].as_py()
        raise _fail_row(path, row, f"unknown genre {token!r}; allowed: {', '.join(GENRES)}")
    movies = pd.DataFrame(
        {"movie_id": ids.astype(np.int32), "title": titles, "genres": genres.to_pandas().astype("string")}
    )
    repeated = movies["movie_id"].duplicated().to_numpy()
    if repeated.any():
        i = int(np.argmax(repeated))
        raise _fail_row(path, i, f"duplicate movieId {movies['movie_id'].iloc[i]}")
    years = titles.str.extract(YEAR_PATTERN, expand=False)
    movies["year"] = pd.array(pd.to_numeric(years, errors="coerce"), dtype="Int16")
    return movies


def parse_ratings(path: Path, movies: pd.DataFrame, variant: Variant) -> pd.DataFrame:
    """ratings.csv, validated against the scale (half stars), the catalogue and for repeats; vectorised."""
    types = {"userId": pa.int32(), "movieId": pa.int32(), "rating": pa.float32(), "timestamp": pa.int64()}
    table = _read(path, types, variant.label)
    users = table["userId"].to_numpy()
    movie_ids = table["movieId"].to_numpy()
    ratings = table["rating"].to_numpy()
    timestamps = table["timestamp"].to_numpy()
    scale = variant.description
    checks = (
        (users < 1, lambda i: f"userId must be a positive integer, got {users[i]}"),
        (movie_ids < 1, lambda i: f"movieId must be a positive integer, got {movie_ids[i]}"),
        (
            ~_on_scale(ratings, scale),
            lambda i: f"rating {ratings[i]:g} is not on the scale: {scale.rating_rule()}",
        ),
        (timestamps < 0, lambda i: f"timestamp must be seconds since 1970 (>= 0), got {timestamps[i]}"),
        (
            ~_in_catalogue(movie_ids, movies["movie_id"].to_numpy()),
            lambda i: f"movieId {movie_ids[i]} is not in movies.csv",
        ),
    )
    for bad, problem in checks:
        if bad.any():
            i = int(np.argmax(bad))
            raise _fail_row(path, i, problem(i))
    key = (users.astype(np.int64) << 32) | movie_ids.astype(np.int64)
    repeated = pd.Series(key).duplicated().to_numpy()
    if repeated.any():
        i = int(np.argmax(repeated))
        raise _fail_row(path, i, f"duplicate (userId, movieId) rating ({users[i]}, {movie_ids[i]})")
    return pd.DataFrame({"user_id": users, "movie_id": movie_ids, "rating": ratings, "timestamp": timestamps})


def _on_scale(ratings: np.ndarray, scale: DatasetDescription) -> np.ndarray:
    """Which ratings are within the scale and on one of its steps (0.5, 1.0, ..., 5.0 for half stars)."""
    steps = (ratings.astype(np.float64) - scale.rating_min) / scale.rating_step
    return (ratings >= scale.rating_min) & (ratings <= scale.rating_max) & (np.abs(steps - np.round(steps)) < 1e-6)


def _in_catalogue(movie_ids: np.ndarray, catalogue: np.ndarray) -> np.ndarray:
    """Which ids are in the catalogue: a lookup table when ids are small (MovieLens: under 300,000), else isin."""
    top = int(catalogue.max()) if len(catalogue) else 0
    if top > 50_000_000:
        return np.isin(movie_ids, catalogue)
    table = np.zeros(top + 1, dtype=bool)
    table[catalogue] = True
    return table[np.minimum(movie_ids, top)] & (movie_ids <= top)


def users_from_ratings(ratings: pd.DataFrame) -> pd.DataFrame:
    """Every user id that rates, without demographics (the sentinels the features encode as unknown)."""
    ids = np.unique(ratings["user_id"].to_numpy()).astype(np.int32)
    n = len(ids)
    return pd.DataFrame(
        {
            "user_id": ids,
            "gender": pd.array([UNKNOWN_GENDER] * n, dtype="string"),
            "age": np.full(n, UNKNOWN_AGE, dtype=np.int16),
            "occupation": np.full(n, UNKNOWN_OCCUPATION, dtype=np.int16),
            "zip": pd.array([""] * n, dtype="string"),
        }
    )


def parse(raw_dir: Path, sha256: str = "", variant: Variant = VARIANTS["ml-latest-small"]) -> MovieLens:
    """The validated tables of an extracted CSV-family folder: movies.csv, then ratings.csv against it."""
    movies = parse_movies(raw_dir / "movies.csv", variant)
    ratings = parse_ratings(raw_dir / "ratings.csv", movies, variant)
    return MovieLens(ratings=ratings, users=users_from_ratings(ratings), movies=movies, sha256=sha256)
