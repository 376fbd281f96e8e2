"""What every MovieLens parser shares: line-numbered errors, text and field checks, the tables and their cache."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from movierec.data.archive import archive_sha256
from movierec.errors import DataFormatError
from movierec.fsutil import atomic_directory

if TYPE_CHECKING:  # annotations only: the descriptions are attached by movierec.datasets.registry
    from movierec.datasets.description import DatasetDescription

ENCODING = "latin-1"  # how the line-based files (.dat, u.*) are read
# Characters a line-based file may hold (read as latin-1): printable text, tab and line ends; no NUL, no controls.
_NOT_ASCII_TEXT = re.compile(r"[^\t\n\r\x20-\x7e]")
_NOT_LATIN1_TEXT = re.compile(r"[^\t\n\r\x20-\x7e\xa0-\xff]")
_ASCII_TEXT_BYTES = bytes([0x09, 0x0A, 0x0D, *range(0x20, 0x7F)])
_LATIN1_TEXT_BYTES = _ASCII_TEXT_BYTES + bytes(range(0xA0, 0x100))
_LINE_END = re.compile(r"\r\n|[\r\n]")
SHOWN_CHARS = 120  # an error quotes at most this much of the offending line
YEAR_PATTERN = re.compile(r"\((\d{4})\)\s*$")
CACHE_FILES = ("ratings.parquet", "users.parquet", "movies.parquet")


@dataclass(frozen=True)
class MovieLens:
    """The three validated tables plus the sha256 of the archive they came from (any MovieLens family)."""

    ratings: pd.DataFrame  # user_id, movie_id, rating, timestamp (file order)
    users: pd.DataFrame  # user_id, gender, age, occupation, zip
    movies: pd.DataFrame  # movie_id, title, genres ("A|B"), year (nullable)
    sha256: str
    description: DatasetDescription | None = None  # set by movierec.datasets.registry


def parse_year(title: str) -> int | None:
    """Release year from a title such as 'Toy Story (1995)'; None when the title carries no year."""
    match = YEAR_PATTERN.search(title)
    return int(match.group(1)) if match else None


def fail(path: Path, lineno: int, line: str, problem: str) -> DataFormatError:
    """The error for a bad line: '<file> line <n>: <problem>: <the line, quoted and cut>' (raise it)."""
    shown = repr(line[:SHOWN_CHARS]) + (f"... ({len(line):,} characters)" if len(line) > SHOWN_CHARS else "")
    return DataFormatError(f"{path.name} line {lineno}: {problem}: {shown}")


def read_lines(path: Path, ascii_only: bool, label: str) -> list[str]:
    """The file's lines; refuse a missing or empty file and bytes that are not ASCII (ascii_only) or latin-1 text.

    label names the dataset in the errors ("MovieLens-100K").
    """
    if not path.is_file():
        raise DataFormatError(f"{path}: file not found (expected {label} {path.name})")
    data = path.read_bytes()
    text = data.decode(ENCODING)  # latin-1 maps every byte, so this never fails; the checks below do the judging
    if not ascii_only and not data.isascii() and _is_utf8(data):
        lines = _LINE_END.split(text)  # not splitlines(): it also splits on some control characters
        lineno = next(i for i, line in enumerate(lines, 1) if not line.isascii())
        raise fail(
            path,
            lineno,
            lines[lineno - 1],
            f"the file is UTF-8 encoded; {label} {path.name} is latin-1 (convert it: iconv -f utf-8 -t latin-1)",
        )
    if data.translate(None, _ASCII_TEXT_BYTES if ascii_only else _LATIN1_TEXT_BYTES):  # any byte left is bad
        pattern = _NOT_ASCII_TEXT if ascii_only else _NOT_LATIN1_TEXT
        allowed = "ASCII text" if ascii_only else "latin-1 text (printable characters, tabs and line ends)"
        lines = _LINE_END.split(text)  # not splitlines(): it also splits on some control characters
        lineno, match = next((i, m) for i, line in enumerate(lines, 1) if (m := pattern.search(line)))
        raise fail(
            path,
            lineno,
            lines[lineno - 1],
            f"byte 0x{ord(match.group()):02x} at column {match.start() + 1} is not allowed; "
            f"{label} {path.name} is {allowed}",
        )
    lines = text.splitlines()
    if not any(line.strip() for line in lines):
        raise DataFormatError(f"{path.name}: the file is empty; {label} {path.name} holds one record per line")
    return lines


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def split_fields(path: Path, lines: list[str], names: tuple[str, ...], sep: str) -> pd.DataFrame:
    """Split sep-separated lines into string columns named `names`; a wrong field count names the line."""
    rows = [line.split(sep) for line in lines]
    bad = next((i for i, row in enumerate(rows) if len(row) != len(names)), None)
    if bad is not None:
        raise fail(
            path,
            bad + 1,
            lines[bad],
            f"expected {len(names)} fields separated by {sep!r} ({sep.join(names)}), got {len(rows[bad])}",
        )
    return pd.DataFrame(rows, columns=list(names))


def integers(path: Path, lines: list[str], frame: pd.DataFrame, column: str) -> np.ndarray:
    """A string column as int64; the first value that is not an integer names its line."""
    values = frame[column]
    ok = values.str.fullmatch(r"-?\d+").to_numpy(dtype=bool)
    if not ok.all():
        i = int(np.argmin(ok))
        raise fail(path, i + 1, lines[i], f"{column} must be an integer, got {values.iloc[i]!r}")
    return values.to_numpy().astype(np.int64)


def check_allowed(path: Path, lines: list[str], values: np.ndarray, allowed, column: str) -> None:
    """Every value is one of `allowed`; the first that is not names its line and the allowed values."""
    ok = np.isin(values, np.asarray(list(allowed)))
    if not ok.all():
        i = int(np.argmin(ok))
        value = values[i].item() if isinstance(values[i], np.generic) else values[i]
        raise fail(path, i + 1, lines[i], f"{column} {value!r} is not one of {sorted(allowed)}")


def check_unique(path: Path, lines: list[str], frame: pd.DataFrame, columns: list[str], what: str) -> None:
    """No two rows share the values of `columns`; the first repeat names its line (`what` names the key)."""
    dup = frame.duplicated(columns, keep="first").to_numpy()
    if dup.any():
        i = int(np.argmax(dup))
        values = tuple(v.item() if isinstance(v, np.generic) else v for v in frame.iloc[i][columns])
        raise fail(path, i + 1, lines[i], f"duplicate {what} {values}")


def check_ratings(
    path: Path,
    lines: list[str],
    ratings: pd.DataFrame,
    scale: tuple[float, float, str],
    users: tuple[pd.DataFrame, str],
    movies: tuple[pd.DataFrame, str],
) -> None:
    """What every integer-rating file must hold, line-numbered: ratings within scale (low, high, as worded in the
    error), user and movie ids of the (table, file name) given, at most one rating per (user, movie)."""
    low, high, worded = scale
    bad = ((ratings["rating"] < low) | (ratings["rating"] > high)).to_numpy()
    if bad.any():
        i = int(np.argmax(bad))
        raise fail(path, i + 1, lines[i], f"rating {ratings['rating'].iloc[i]} outside {worded}")
    for column, (table, name) in (("user_id", users), ("movie_id", movies)):
        known = ratings[column].isin(table[column]).to_numpy()
        if not known.all():
            i = int(np.argmin(known))
            raise fail(path, i + 1, lines[i], f"{column} {ratings[column].iloc[i]} is not in {name}")
    check_unique(path, lines, ratings, ["user_id", "movie_id"], "(user_id, movie_id) rating")


def load_dataset(raw_dir: Path, cache_root: Path, parse: Callable[[Path, str], MovieLens]) -> MovieLens:
    """Load the tables through a parquet cache keyed by the archive's sha256; parse only on a cache miss.

    parse(raw_dir, sha256) validates an extracted folder: the dataset adapter's parser.
    """
    sha256 = archive_sha256(raw_dir)
    cache = cache_root / sha256[:16]
    if all((cache / name).is_file() for name in CACHE_FILES):
        try:
            tables = [pd.read_parquet(cache / name) for name in CACHE_FILES]
        except (OSError, ValueError):  # a damaged cache file (disk error, edited by hand): parse again below
            pass
        else:
            return MovieLens(*tables, sha256=sha256)
    data = parse(raw_dir, sha256)
    with atomic_directory(cache) as staging:
        for name, table in zip(CACHE_FILES, (data.ratings, data.users, data.movies), strict=True):
            table.to_parquet(staging / name, index=False)
    return data
