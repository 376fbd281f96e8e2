"""Small synthetic archives in the exact formats of MovieLens-100K and of the CSV family (ml-latest-small ...)."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import numpy as np

from movierec.datasets import csv_family, ml100k

ML100K_GENRES = ml100k.GENRES
CSV_GENRES = csv_family.GENRES


def ml100k_files(n_users: int = 60, n_movies: int = 40, seed: int = 0) -> dict[str, bytes]:
    """u.data (tab-separated), u.item (pipe-separated latin-1, 19 genre flags), u.user, u.genre, u.occupation."""
    rng = np.random.default_rng(seed)
    items = []
    for i in range(1, n_movies + 1):
        flags = np.zeros(len(ML100K_GENRES), dtype=int)
        flags[1 + (i % (len(ML100K_GENRES) - 1))] = 1
        title = f"Amélie {i} (1996)" if i % 5 == 0 else f"Movie {i} (19{60 + i % 40})"
        date = f"01-Jan-19{60 + i % 40}"
        if i == n_movies:  # like movie 267 of the real file: title "unknown", no date, genre "unknown"
            title, date, flags = "unknown", "", np.eye(len(ML100K_GENRES), dtype=int)[0]
        if i == n_movies - 1:  # like movie 1412: no year in the title, the release date gives it
            title = f"Movie {i} (1995) (V)"
            date = "01-Jan-1995"
        url = f"http://us.imdb.com/M/title-exact?Movie%20{i}"
        items.append("|".join([str(i), title, date, "", url, *map(str, flags)]))
    users = []
    for u in range(1, n_users + 1):
        age = int(rng.integers(7, 74))
        occupation = ml100k.OCCUPATION_NAMES[u % len(ml100k.OCCUPATION_NAMES)]
        users.append(f"{u}|{age}|{'FM'[u % 2]}|{occupation}|{10000 + u}")
    ratings = []
    for u in range(1, n_users + 1):
        for m in rng.choice(np.arange(1, n_movies + 1), size=int(rng.integers(5, 15)), replace=False):
            ratings.append(f"{u}\t{m}\t{int(rng.integers(1, 6))}\t{880_000_000 + int(rng.integers(0, 10_000_000))}")
    return {
        "u.data": ("\n".join(ratings) + "\n").encode("ascii"),
        "u.item": ("\n".join(items) + "\n").encode("latin-1"),
        "u.user": ("\n".join(users) + "\n").encode("ascii"),
        "u.genre": ("\n".join(f"{g}|{i}" for i, g in enumerate(ML100K_GENRES)) + "\n\n").encode("ascii"),
        "u.occupation": ("\n".join(ml100k.OCCUPATION_NAMES) + "\n").encode("ascii"),
    }


def csv_files(n_users: int = 50, n_movies: int = 40, seed: int = 0) -> dict[str, bytes]:
    """ratings.csv (half stars) and movies.csv (quoted titles with commas, IMAX, "(no genres listed)"), UTF-8."""
    rng = np.random.default_rng(seed)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(csv_family.MOVIES_HEADER)
    movie_ids = [i * 3 for i in range(1, n_movies + 1)]  # ids with gaps, as in the real files
    for n, movie_id in enumerate(movie_ids):
        title = f"Movie {movie_id} ({1980 + n % 40})"
        if n % 4 == 0:
            title = f"Good, the Bad and the Ugly {movie_id}, The ({1966 + n % 30})"  # quoted: it holds commas
        if n % 9 == 0:
            title = f"Amélie {movie_id} (Fabuleux destin d'Amélie Poulain, Le) (2001)"
        genres = "|".join(sorted({CSV_GENRES[n % 19], CSV_GENRES[(n * 7) % 19]}))
        if n % 10 == 3:
            genres = "Action|IMAX"
        if n == n_movies - 1:
            title, genres = f"Untitled {movie_id}", "(no genres listed)"  # no year either
        writer.writerow([movie_id, title, genres])
    movies = out.getvalue()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(csv_family.RATINGS_HEADER)
    for u in range(1, n_users + 1):
        chosen = rng.choice(movie_ids, size=min(n_movies, int(rng.integers(5, 15))), replace=False)
        for m in sorted(chosen):
            rating = float(rng.integers(1, 11)) / 2
            writer.writerow([u, int(m), f"{rating:.1f}", 1_100_000_000 + int(rng.integers(0, 10_000_000))])
    return {"ratings.csv": out.getvalue().encode("utf-8"), "movies.csv": movies.encode("utf-8"), "README.txt": b"x\n"}


def write_zip(path: Path, folder: str, files: dict[str, bytes]) -> Path:
    """Zip files under folder/, as the official archives do."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(f"{folder}/{name}", content)
    return path
