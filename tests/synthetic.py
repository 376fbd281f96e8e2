"""Small synthetic dataset in the exact MovieLens-1M file format, with learnable genre taste."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from movierec.datasets.ml1m import AGE_GROUPS, GENRES, OCCUPATIONS

TASTES = ("Animation", "Horror", "Comedy", "Drama", "Action", "Sci-Fi")
ACCENTED = ("Amélie", "Cité des enfants", "Être et avoir", "Niño", "Señor Müller", "Crème brûlée")
# MovieLens-style titles (trailing articles, a Roman numeral, a superscript) for the title search; the year stays the
# generated one (these ids were picked so that it is the real film's year), so the data is otherwise unchanged.
REAL_STYLE = {
    6: "Alien³",
    46: "Godfather, The",
    61: "Star Wars: Episode IV - A New Hope",
    64: "Dîner de cons, Le",
    85: "Toy Story",
}


def synthetic_files(n_users: int = 240, n_movies: int = 160, seed: int = 0) -> dict[str, bytes]:
    """The three .dat files as bytes (movies latin-1): users with a favourite genre rate it higher."""
    rng = np.random.default_rng(seed)
    movies, movie_genre = [], []
    for i in range(1, n_movies + 1):
        main = TASTES[(i - 1) % len(TASTES)]
        extra = rng.choice([g for g in GENRES if g != main], size=rng.integers(0, 2), replace=False)
        genres = "|".join([main, *extra])
        name = f"{ACCENTED[i % len(ACCENTED)]} {i}" if i % 7 == 0 else f"Movie {i}"
        if i % 11 == 0:
            name = f"Saga: Part {i}"
        name = REAL_STYLE.get(i, name)
        title = name if i == n_movies else f"{name} ({1950 + (i * 7) % 50})"  # the last one has no year
        movies.append(f"{i}::{title}::{genres}")
        movie_genre.append(main)
    movie_genre = np.array(movie_genre)

    users, ratings = [], []
    ages, occupations = sorted(AGE_GROUPS), sorted(OCCUPATIONS)
    start, span = 956_700_000, 90 * 86_400
    for u in range(1, n_users + 1):
        users.append(f"{u}::{'FM'[u % 2]}::{ages[u % len(ages)]}::{occupations[u % len(occupations)]}::{10000 + u}")
        taste = TASTES[u % len(TASTES)]
        # a third of the users arrive only in the last fifth of the period: unknown users at test time
        joined = start + (0.82 + 0.17 * rng.random()) * span if u % 3 == 0 else start + 0.7 * rng.random() * span
        liked = np.flatnonzero(movie_genre == taste)
        others = np.flatnonzero(movie_genre != taste)
        n_liked = int(rng.integers(min(8, len(liked)), min(20, len(liked)) + 1))
        n_other = int(rng.integers(min(3, len(others)), min(10, len(others)) + 1))
        chosen = np.concatenate([rng.choice(liked, n_liked, replace=False), rng.choice(others, n_other, replace=False)])
        for m in chosen:
            rating = int(rng.integers(4, 6)) if movie_genre[m] == taste else int(rng.integers(1, 4))
            ts = int(joined + rng.random() * (start + span - joined))
            ratings.append((u, int(m) + 1, rating, ts))
    ratings.sort(key=lambda r: (r[0], r[3]))
    return {
        "ratings.dat": "\n".join(f"{u}::{m}::{r}::{t}" for u, m, r, t in ratings).encode("ascii") + b"\n",
        "users.dat": ("\n".join(users) + "\n").encode("ascii"),
        "movies.dat": ("\n".join(movies) + "\n").encode("latin-1"),
    }


def write_archive(path: Path, files: dict[str, bytes]) -> Path:
    """Zip files under the ml-1m/ folder, as the official archive does."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(f"ml-1m/{name}", content)
    return path
