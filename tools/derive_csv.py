"""Derive an ml-latest-small-shaped CSV archive from ML-1M, to check settings on a small half-star CSV dataset."""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from movierec.datasets import csv_family

SOURCE = "ml-1m"
GENRE_NAMES = {"Children's": "Children"}  # ML-1M spelling -> the CSV family's
FIXED_TIME = (2000, 1, 1, 0, 0, 0)  # member dates in the zip: the same seed gives the same bytes


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tools.derive_csv", description=__doc__)
    parser.add_argument("--input", type=Path, default=Path("/work/shared/data/ml-1m.zip"), help="the ML-1M zip")
    parser.add_argument("--output", type=Path, required=True, help="the archive to write (PATH.zip)")
    parser.add_argument("--folder", default="ml-latest-small", help="the folder inside the zip (the dataset name)")
    parser.add_argument("--users", type=int, default=610, help="users sampled without replacement (default 610)")
    parser.add_argument("--half-star-rate", type=float, default=0.3, help="share of ratings moved by +-0.5")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def read_source(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """ratings.dat and movies.dat of an ML-1M zip; ValueError when the zip is missing or lacks them."""
    if not path.is_file():
        raise ValueError(f"{path}: no such archive (expected the ML-1M zip)")
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            for member in ("ratings.dat", "movies.dat"):
                if f"{SOURCE}/{member}" not in names:
                    raise ValueError(f"{path}: not an ML-1M archive (no {SOURCE}/{member})")
            ratings_raw = archive.read(f"{SOURCE}/ratings.dat")
            movies_raw = archive.read(f"{SOURCE}/movies.dat").decode("latin-1")
    except zipfile.BadZipFile as exc:
        raise ValueError(f"{path}: not a zip archive ({exc})") from exc
    columns = list(csv_family.RATINGS_HEADER)
    ratings = pd.read_csv(io.BytesIO(ratings_raw.replace(b"::", b",")), header=None, names=columns, dtype="int64")
    rows = []
    for line in movies_raw.splitlines():
        if line.strip():
            movie_id, rest = line.split("::", 1)
            title, genres = rest.rsplit("::", 1)
            names = [GENRE_NAMES.get(g, g) for g in genres.split("|") if g]
            rows.append((int(movie_id), title, "|".join(names) or "(no genres listed)"))
    return ratings, pd.DataFrame(rows, columns=list(csv_family.MOVIES_HEADER))


def derive(ratings: pd.DataFrame, movies: pd.DataFrame, args: argparse.Namespace) -> tuple[pd.DataFrame, ...]:
    """The sampled users' ratings (users renumbered 1..n, some ratings moved half a star) and the movies they rate."""
    rng = np.random.default_rng(args.seed)
    ids = np.unique(ratings["userId"].to_numpy())
    if not 1 <= args.users <= len(ids):
        raise ValueError(f"--users must be between 1 and {len(ids)} (the users of the archive), got {args.users}")
    if not 0.0 <= args.half_star_rate <= 1.0:
        raise ValueError(f"--half-star-rate must be between 0 and 1, got {args.half_star_rate}")
    chosen = np.sort(rng.choice(ids, size=args.users, replace=False))
    kept = ratings[ratings["userId"].isin(chosen) & ratings["movieId"].isin(movies["movieId"])].copy()
    kept["userId"] = np.searchsorted(chosen, kept["userId"].to_numpy()) + 1
    moved = rng.random(len(kept)) < args.half_star_rate
    step = rng.choice([-0.5, 0.5], size=len(kept))
    kept["rating"] = np.clip(kept["rating"].to_numpy() + np.where(moved, step, 0.0), 0.5, 5.0)
    kept = kept.sort_values(["userId", "movieId"]).reset_index(drop=True)
    return kept, movies[movies["movieId"].isin(kept["movieId"])].sort_values("movieId")


def readme(args: argparse.Namespace, ratings: pd.DataFrame, movies: pd.DataFrame) -> str:
    return (
        f"Derived from MovieLens 1M by tools/derive_csv.py; not a GroupLens release.\n"
        f"{ratings['userId'].nunique()} users (sampled, renumbered 1..n), {len(movies)} movies (those rated), "
        f"{len(ratings)} ratings; seed {args.seed}, half-star rate {args.half_star_rate}.\n"
        "MovieLens data: F. Maxwell Harper and Joseph A. Konstan, ACM TiiS 5(4), 2015; GroupLens terms apply.\n"
    )


def write_archive(path: Path, folder: str, files: dict[str, str]) -> None:
    """The zip at path, written to a temporary file beside it and moved into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, text in files.items():
                info = zipfile.ZipInfo(f"{folder}/{name}", FIXED_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, text.encode("utf-8"))
        os.chmod(temporary, 0o644)  # mkstemp makes it 0600
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        ratings, movies = derive(*read_source(args.input), args)
        files = {
            "ratings.csv": ratings.to_csv(index=False, float_format="%.1f", lineterminator="\n"),
            "movies.csv": movies.to_csv(index=False, lineterminator="\n"),
            "README.txt": readme(args, ratings, movies),
        }
        write_archive(args.output, args.folder, files)
    except (ValueError, OSError) as exc:
        print(f"derive_csv: error: {exc}", file=sys.stderr)
        return 2
    print(f"{args.output}: {ratings['userId'].nunique()} users, {len(movies)} movies, {len(ratings)} ratings")
    return 0


if __name__ == "__main__":
    sys.exit(main())
