"""MovieLens-1M: its vocabularies, rating scale, official download and archive layout (the default dataset).

The parser itself is movierec.data.loader (`::`-separated .dat files), which reads its vocabularies from here.
"""

from __future__ import annotations

from pathlib import Path

from movierec.datasets.description import DatasetDescription

NAME = "ml-1m"
OFFICIAL_URL = "https://files.grouplens.org/datasets/movielens/ml-1m.zip"
OFFICIAL_MD5 = "c4d9eecfca2ab87c1945afe126590906"

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


def parse(raw_dir: Path, sha256: str = ""):
    """The validated tables of an extracted ml-1m folder (movierec.data.loader.MovieLens)."""
    from movierec.data.loader import parse_dataset  # the loader imports this module's vocabularies

    return parse_dataset(raw_dir, sha256)
