"""What a dataset is: rating scale, user features, genre vocabulary and id ranges, as one JSON-able record."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

DEMOGRAPHICS = ("gender", "age", "occupation")


def _int_keys(mapping: dict) -> dict[int, str]:
    return {int(code): str(label) for code, label in mapping.items()}


@dataclass(frozen=True)
class DatasetDescription:
    """One dataset's scale and vocabularies: what the models, the API's validation and the UI read from a bundle.

    genders maps a code to its label ("F" -> "female"); age_groups and occupations map integer codes to labels.
    An empty mapping means the dataset has no such user feature (the CSV family has none of them).
    """

    name: str
    rating_min: float
    rating_max: float
    rating_step: float
    liked_threshold: float  # a rating at or above this counts as "liked" (relevance in the evaluation)
    genres: tuple[str, ...]
    genders: dict[str, str] = field(default_factory=dict)
    age_groups: dict[int, str] = field(default_factory=dict)
    occupations: dict[int, str] = field(default_factory=dict)
    user_id_range: tuple[int, int] = (0, 0)  # smallest and largest user id in the data
    movie_id_range: tuple[int, int] = (0, 0)

    def __post_init__(self) -> None:
        if not (self.rating_min < self.rating_max and self.rating_step > 0):
            raise ValueError(
                f"{self.name}: rating scale must have min < max and a positive step, got "
                f"{self.rating_min}-{self.rating_max} step {self.rating_step}"
            )
        if not self.rating_min <= self.liked_threshold <= self.rating_max:
            raise ValueError(f"{self.name}: liked_threshold {self.liked_threshold} is outside the rating scale")
        if len(set(self.genres)) != len(self.genres) or not self.genres:
            raise ValueError(f"{self.name}: the genre vocabulary must be non-empty and without repeats")

    @property
    def user_features(self) -> tuple[str, ...]:
        """The demographic features this dataset has (a subset of gender, age, occupation)."""
        present = {"gender": self.genders, "age": self.age_groups, "occupation": self.occupations}
        return tuple(name for name in DEMOGRAPHICS if present[name])

    @property
    def half_stars(self) -> bool:
        return self.rating_step < 1

    def rating_values(self) -> tuple[float, ...]:
        """Every allowed rating, lowest first (1..5 for ML-1M; 0.5, 1.0, ..., 5.0 for the CSV family)."""
        count = round((self.rating_max - self.rating_min) / self.rating_step)
        return tuple(self.rating_min + i * self.rating_step for i in range(count + 1))

    def is_valid_rating(self, rating: float) -> bool:
        """On the scale and on a step of it (4.5 is valid for half-star datasets, not for ML-1M)."""
        if not (math.isfinite(rating) and self.rating_min <= rating <= self.rating_max):
            return False
        steps = (rating - self.rating_min) / self.rating_step
        return abs(steps - round(steps)) < 1e-9

    def rating_rule(self) -> str:
        """The scale in words, for error messages: 'whole stars 1-5' or 'half stars 0.5-5'."""
        kind = (
            "half stars"
            if self.half_stars
            else "whole stars"
            if self.rating_step == 1
            else f"steps of {self.rating_step:g}"
        )
        return f"{kind} {self.rating_min:g}-{self.rating_max:g}"

    def with_id_ranges(self, ratings: pd.DataFrame, movies: pd.DataFrame, users: pd.DataFrame) -> DatasetDescription:
        """This description with the id ranges of the loaded tables."""
        user_ids = pd.concat([users["user_id"], ratings["user_id"]]) if len(users) else ratings["user_id"]
        return dataclasses.replace(
            self,
            user_id_range=(int(user_ids.min()), int(user_ids.max())) if len(user_ids) else (0, 0),
            movie_id_range=(int(movies["movie_id"].min()), int(movies["movie_id"].max())) if len(movies) else (0, 0),
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (integer codes become string keys, tuples lists), for the bundle manifest."""
        return {
            "name": self.name,
            "rating_min": self.rating_min,
            "rating_max": self.rating_max,
            "rating_step": self.rating_step,
            "liked_threshold": self.liked_threshold,
            "genres": list(self.genres),
            "genders": dict(self.genders),
            "age_groups": {str(code): label for code, label in self.age_groups.items()},
            "occupations": {str(code): label for code, label in self.occupations.items()},
            "user_id_range": list(self.user_id_range),
            "movie_id_range": list(self.movie_id_range),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DatasetDescription:
        """The inverse of to_dict; a missing or malformed field is a ValueError naming it."""
        if not isinstance(data, dict):
            raise ValueError(f"a dataset description must be a JSON object, got {type(data).__name__}")
        try:
            return cls(
                name=str(data["name"]),
                rating_min=float(data["rating_min"]),
                rating_max=float(data["rating_max"]),
                rating_step=float(data["rating_step"]),
                liked_threshold=float(data["liked_threshold"]),
                genres=tuple(str(g) for g in data["genres"]),
                genders={str(code): str(label) for code, label in data.get("genders", {}).items()},
                age_groups=_int_keys(data.get("age_groups", {})),
                occupations=_int_keys(data.get("occupations", {})),
                user_id_range=tuple(int(v) for v in data.get("user_id_range", (0, 0))),
                movie_id_range=tuple(int(v) for v in data.get("movie_id_range", (0, 0))),
            )
        except KeyError as exc:
            raise ValueError(f"dataset description: missing field {exc.args[0]!r}") from exc
        except (TypeError, AttributeError) as exc:
            raise ValueError(f"dataset description: malformed field ({exc})") from exc
