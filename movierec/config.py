"""One place for paths, dataset constants and every training hyperparameter."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("MOVIEREC_DATA_DIR", PROJECT_ROOT / "data"))
RAW_DIR = DATA_DIR / "raw"
PROCESSED_DIR = DATA_DIR / "processed"
ARTIFACTS_DIR = Path(os.environ.get("ARTIFACTS_DIR", PROJECT_ROOT / "artifacts"))

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
MAX_ID = 2**31 - 1  # ids are 32-bit (store columns, model inputs): larger ones cannot exist
# How the users table holds a user created through the API without demographics (occupation 0 is a real code)
UNKNOWN_GENDER, UNKNOWN_AGE, UNKNOWN_OCCUPATION = "", 0, -1
SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class RetrievalConfig:
    """Two-tower retrieval model and its full-softmax training."""

    user_id_dim: int = 32
    feature_dim: int = 8
    movie_id_dim: int = 32
    history_dim: int = 32
    hidden_units: int = 128
    output_dim: int = 64
    dropout: float = 0.1
    temperature: float = 0.05
    epochs: int = 2
    batch_size: int = 4096
    learning_rate: float = 3e-3
    cold_user_rate: float = 0.15
    recency_half_life_days: float = 60.0
    recency_floor: float = 0.2
    example_age: bool = True
    recent_history: int = 10


@dataclass(frozen=True)
class RankingConfig:
    """DNN rating ranker on top of the tower vectors."""

    id_dim: int = 16
    units: tuple[int, ...] = (256, 128, 64)
    dropouts: tuple[float, ...] = (0.3, 0.2, 0.1)
    epochs: int = 12
    batch_size: int = 2048
    learning_rate: float = 1e-3
    patience: int = 2
    validation_days: float = 7.0
    cold_user_rate: float = 0.15
    example_age: bool = True


@dataclass(frozen=True)
class TrainConfig:
    """Everything one training run depends on; saved whole into the manifest."""

    seed: int = 42
    test_fraction: float = 0.2
    history_length: int = 100
    retrieve_k: int = 200
    final_k: int = 10
    recent_days: float = 30.0
    retrieval: RetrievalConfig = field(default_factory=RetrievalConfig)
    ranking: RankingConfig = field(default_factory=RankingConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        data = dict(data)
        retrieval = RetrievalConfig(**data.pop("retrieval", {}))
        ranking_data = dict(data.pop("ranking", {}))
        for key in ("units", "dropouts"):
            if key in ranking_data:
                ranking_data[key] = tuple(ranking_data[key])
        return cls(retrieval=retrieval, ranking=RankingConfig(**ranking_data), **data)
