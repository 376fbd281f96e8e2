"""How fast the CSV-family ratings loader parses and validates: rows/s on a generated ratings.csv, against a target.

main() sets glibc's heap as `make data` loads with (training.memory) before numpy or pyarrow start a thread, so this
module's top imports only the standard library and that module.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from training.memory import keep_freed_memory

TARGET_ROWS_PER_SECOND = 2_000_000


def write_files(folder: Path, rows: int, movies: int = 60_000, users: int = 200_000, seed: int = 0) -> None:
    """movies.csv and a ratings.csv of `rows` distinct (user, movie) half-star ratings, in the official format."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(seed)
    movie_ids = np.arange(1, movies + 1, dtype=np.int32)
    pacsv.write_csv(
        pa.table(
            {
                "movieId": movie_ids,
                "title": [f"Movie {i}, The ({1950 + i % 70})" for i in movie_ids],
                "genres": np.where(movie_ids % 5 == 0, "Comedy|IMAX", "Drama").tolist(),
            }
        ),
        folder / "movies.csv",
    )
    # distinct pairs: consecutive rows of a user take consecutive movies from a random start
    user = np.sort(rng.integers(1, users + 1, size=rows)).astype(np.int32)
    first = np.r_[0, np.flatnonzero(np.diff(user)) + 1]
    offset = np.arange(rows) - np.repeat(first, np.diff(np.r_[first, rows]))
    start = rng.integers(0, movies, size=users + 1)
    movie = ((start[user] + offset) % movies + 1).astype(np.int32)
    table = pa.table(
        {
            "userId": user,
            "movieId": movie,
            "rating": rng.integers(1, 11, size=rows) / 2,
            "timestamp": rng.integers(800_000_000, 1_700_000_000, size=rows),
        }
    )
    pacsv.write_csv(table, folder / "ratings.csv", pacsv.WriteOptions(quoting_style="none"))


def main(argv: list[str] | None = None) -> int:
    keep_freed_memory()  # before any other thread allocates
    parser = argparse.ArgumentParser(prog="python -m tools.bench_csv", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--repeats", type=int, default=3, help="timed loads; the best is reported")
    args = parser.parse_args(argv)
    from movierec.datasets.csv_family import VARIANTS, parse_movies, parse_ratings

    variant = VARIANTS["ml-25m"]
    with tempfile.TemporaryDirectory(prefix="bench-csv-") as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        write_files(folder, args.rows)
        size = (folder / "ratings.csv").stat().st_size
        print(f"generated ratings.csv: {args.rows:,} rows, {size / 1e6:.0f} MB in {time.perf_counter() - start:.1f}s")
        movies = parse_movies(folder / "movies.csv", variant)
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            ratings = parse_ratings(folder / "ratings.csv", movies, variant)
            times.append(time.perf_counter() - start)
        assert len(ratings) == args.rows
    best = min(times)
    rate = args.rows / best
    print(
        f"parse + validate ratings.csv: best {best:.2f}s of {args.repeats} ({', '.join(f'{t:.2f}' for t in times)}s): "
        f"{rate / 1e6:.2f} million rows/s (target >= {TARGET_ROWS_PER_SECOND / 1e6:.0f} million)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
