"""Request and response schemas with bounds and examples (visible at /docs)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from movierec.config import GENRES

Genre = Literal[GENRES]  # type: ignore[valid-type]
AgeGroup = Literal[1, 18, 25, 35, 45, 50, 56]
MAX_RATINGS = 200
MAX_SCORE_IDS = 1000
DEFAULT_RETRIEVE = 200


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Profile(Strict):
    """A new user's demographics with the MovieLens-1M codes."""

    gender: Literal["F", "M"] | None = Field(None, examples=["F"])
    age: AgeGroup | None = Field(None, description="age group: 1, 18, 25, 35, 45, 50, 56", examples=[25])
    occupation: int | None = Field(None, ge=0, le=20, description="occupation code 0-20", examples=[12])


class GivenRating(Strict):
    movie_id: int = Field(ge=1, examples=[1])
    rating: float = Field(ge=1, le=5, examples=[5])


class UserChoice(Strict):
    """Either a known user_id, or a new user described by a profile and/or ratings."""

    user_id: int | None = Field(None, ge=1, examples=[1])
    profile: Profile | None = None
    ratings: list[GivenRating] | None = Field(None, min_length=1, max_length=MAX_RATINGS)

    @model_validator(mode="after")
    def one_kind_of_user(self):
        new_user = self.profile is not None or self.ratings is not None
        if (self.user_id is None) == (not new_user):
            raise ValueError("give either user_id, or profile and/or ratings for a new user (not both, not neither)")
        if self.ratings:
            ids = [r.movie_id for r in self.ratings]
            if len(set(ids)) != len(ids):
                raise ValueError("ratings must not rate the same movie_id twice")
        return self


class RecommendRequest(UserChoice):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"user_id": 1, "top_k_retrieve": 200, "top_n_final": 10},
                {
                    "profile": {"gender": "F", "age": 25, "occupation": 12},
                    "ratings": [{"movie_id": 1, "rating": 5}, {"movie_id": 2355, "rating": 4}],
                    "top_n_final": 10,
                },
            ]
        },
    )

    top_k_retrieve: int | None = Field(
        None,
        ge=1,
        examples=[200],
        description=f"candidates retrieved, 1..catalogue size (default {DEFAULT_RETRIEVE}, or the catalogue if smaller)",
    )
    top_n_final: int = Field(10, ge=1, description="results returned after ranking (1..top_k_retrieve)")
    exclude_seen: bool = Field(True, description="drop movies the user already rated")
    genres: list[Genre] | None = Field(None, min_length=1, description="keep only movies of any of these genres")

    @model_validator(mode="after")
    def final_within_retrieved(self):
        if self.top_k_retrieve is not None and self.top_n_final > self.top_k_retrieve:
            raise ValueError(f"top_n_final ({self.top_n_final}) must be <= top_k_retrieve ({self.top_k_retrieve})")
        return self


class ScoreRequest(UserChoice):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"user_id": 1, "movie_ids": [1, 2, 3]}]})

    movie_ids: list[int] = Field(min_length=1, max_length=MAX_SCORE_IDS)


class MovieRef(BaseModel):
    movie_id: int
    title: str
    rating: float | None = None


class Recommendation(BaseModel):
    rank: int
    movie_id: int
    title: str
    genres: list[str]
    year: int | None
    ranking_score: float = Field(
        description="the final order: P(the user's next rating is this movie and it is >= 4), from the retrieval "
        "softmax and the ranker's calibrated rating"
    )
    predicted_rating: float = Field(description="the ranker's predicted rating (1-5)")
    retrieval_score: float = Field(description="cosine of user and movie vectors")
    because: MovieRef | None = Field(description="highly rated movie in the history closest to this one")


class RecommendResponse(BaseModel):
    user_id: int | None
    gender: str | None
    age: int | None
    occupation: int | None
    recommendations: list[Recommendation]
    server_ms: float = Field(description="time spent computing this response, in milliseconds")


class Score(BaseModel):
    movie_id: int
    predicted_rating: float


class ScoreResponse(BaseModel):
    user_id: int | None
    scores: list[Score]


class Movie(BaseModel):
    movie_id: int
    title: str
    genres: list[str]
    year: int | None
    rating_count: int = Field(description="ratings in the training period")
    rating_mean: float | None = Field(description="mean training-period rating (null when never rated)")


class SimilarMovie(BaseModel):
    movie_id: int
    title: str
    genres: list[str]
    year: int | None
    similarity: float


class SimilarResponse(BaseModel):
    movie: Movie
    similar: list[SimilarMovie]


class User(BaseModel):
    user_id: int
    gender: str
    age: int
    occupation: int
    rating_count: int = Field(description="ratings in the training period")
    top_rated: list[MovieRef]


class Health(BaseModel):
    status: str
    bundle_version: str | None
    created_at: str | None
    movies: int
    users: int
    train_ratings: int
    last_reload: dict | None = None


class Stats(BaseModel):
    users: int
    movies: int
    train_ratings: int
    bundle_version: str
    metrics: dict


class MovieSearchResult(BaseModel):
    movies: list[Movie]
