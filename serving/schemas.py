"""Request and response schemas with bounds and examples (visible at /docs)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Iterable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from movierec.config import MAX_ID  # ids and counts beyond it are a 422, never an overflow further down
from movierec.recommender import TWO_STAGE
from movierec.retrievers import RETRIEVERS
from movierec.store.models import RATING_MAX, RATING_MIN  # every MovieLens scale; the bundle's own: vocabulary.py

# A genre name; the bundle's genre vocabulary is checked at request time (serving/vocabulary.py), so one API
# serves whichever dataset the bundle was trained on. The length bound is the largest MovieLens vocabulary.
Genre = Annotated[str, Field(min_length=1, max_length=40, examples=["Animation"])]
AgeGroup = Literal[1, 18, 25, 35, 45, 50, 56]
MAX_RATINGS = 200
MAX_SCORE_IDS = 1000
MAX_GENRES = 20  # the CSV family's 20 genres; a bundle allows at most its own vocabulary
DEFAULT_RETRIEVE = 200
MAX_PAGE = 1000  # GET /users/{user_id}/ratings: the largest page
DEFAULT_PAGE = 100
# the product's two stages, or one of the peers' methods; which of them a bundle holds is checked at request time
ModelName = Literal[(TWO_STAGE, *RETRIEVERS)]
MovieId = Annotated[int, Field(ge=1, le=MAX_ID, examples=[1])]
Genres = Annotated[list[Genre], Field(min_length=1, max_length=MAX_GENRES, json_schema_extra={"uniqueItems": True})]
USER_KEYS = ("user_id", "profile", "ratings")
LIMITS_DOC = (
    "Either a known user (`user_id`) or a new user (`profile` and/or `ratings`), never both. "
    f"Lists are bounded: `ratings` 1-{MAX_RATINGS} items, `movie_ids` 1-{MAX_SCORE_IDS}, `genres` 1-{MAX_GENRES}; "
    "a duplicate movie_id or genre in any of them is a 422 naming the first duplicate. "
    f"Ids and counts are integers up to {MAX_ID}; numbers must be finite."
)


def first_duplicate(values: Iterable[Hashable]):
    """The first value that occurs a second time, reading left to right (None when all differ)."""
    seen = set()
    for value in values:
        if value in seen:
            return value
        seen.add(value)
    return None


def _without_null(prop: dict) -> dict:
    """`X | None` property schema -> the schema of X alone (keeps title, description, examples)."""
    branches = [b for b in prop.get("anyOf", []) if b.get("type") != "null"]
    if len(branches) != 1:
        return prop
    out = {k: v for k, v in prop.items() if k not in ("anyOf", "default")}
    return {**branches[0], **out}


def split_user_shapes(schema: dict) -> None:
    """Rewrite a UserChoice body schema in place as oneOf [known user, new user], so clients see the rule."""
    props = schema.pop("properties")
    required = [k for k in schema.pop("required", []) if k not in USER_KEYS]
    schema.pop("type", None)
    schema.pop("additionalProperties", None)
    common = {k: v for k, v in props.items() if k not in USER_KEYS}
    known = {
        "title": "known user",
        "type": "object",
        "properties": {"user_id": _without_null(props["user_id"]), **common},
        "required": ["user_id", *required],
        "additionalProperties": False,
    }
    new = {
        "title": "new user",
        "type": "object",
        "properties": {
            "profile": _without_null(props["profile"]),
            "ratings": _without_null(props["ratings"]),
            **common,
        },
        "anyOf": [{"required": ["profile"]}, {"required": ["ratings"]}],
        "additionalProperties": False,
    }
    if required:
        new["required"] = required
    schema["oneOf"] = [known, new]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Profile(Strict):
    """A new user's demographics as codes; which ones the served dataset knows is in GET /vocabulary (a 422 names
    the allowed ones)."""

    gender: Literal["F", "M"] | None = Field(None, examples=["F"])
    age: AgeGroup | None = Field(None, description="age group: 1, 18, 25, 35, 45, 50, 56", examples=[25])
    occupation: int | None = Field(None, ge=0, le=20, description="occupation code 0-20", examples=[12])


class GivenRating(Strict):
    movie_id: MovieId
    rating: float = Field(
        ge=RATING_MIN,
        le=RATING_MAX,
        allow_inf_nan=False,
        examples=[5],
        description="on the served dataset's scale (GET /vocabulary): whole stars 1-5 for MovieLens-1M and -100K, "
        "half stars 0.5-5 for the CSV family; another value is a 422 naming the scale",
    )


class UserChoice(Strict):
    """Either a known user_id, or a new user described by a profile and/or ratings."""

    user_id: int | None = Field(
        None, ge=1, le=MAX_ID, examples=[1], description="a known user (not with profile/ratings)"
    )
    profile: Profile | None = Field(None, description="a new user's demographics (not with user_id)")
    ratings: list[GivenRating] | None = Field(
        None,
        min_length=1,
        max_length=MAX_RATINGS,
        description=f"a new user's ratings (not with user_id): 1-{MAX_RATINGS}, each movie_id at most once",
    )

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema, handler) -> dict[str, Any]:
        json_schema = handler(core_schema)
        split_user_shapes(handler.resolve_ref_schema(json_schema))
        return json_schema

    @field_validator("ratings")
    @classmethod
    def ratings_distinct(cls, ratings: list[GivenRating] | None):
        repeated = first_duplicate(r.movie_id for r in ratings or [])
        if repeated is not None:
            raise ValueError(f"ratings must not rate the same movie_id twice: movie_id {repeated} appears again")
        return ratings

    @model_validator(mode="after")
    def one_kind_of_user(self):
        new_user = self.profile is not None or self.ratings is not None
        if (self.user_id is None) == (not new_user):
            raise ValueError("give either user_id, or profile and/or ratings for a new user (not both, not neither)")
        return self


class RecommendRequest(UserChoice):
    __doc__ = f"Who to recommend for and how many. {LIMITS_DOC}"

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
        le=MAX_ID,
        examples=[200],
        description=f"candidates retrieved, 1..catalogue size (default {DEFAULT_RETRIEVE}, or the catalogue if smaller)",
    )
    top_n_final: int = Field(10, ge=1, le=MAX_ID, description="results returned after ranking (1..top_k_retrieve)")
    exclude_seen: bool = Field(True, description="drop movies the user already rated")
    model: ModelName = Field(
        TWO_STAGE,
        examples=["ease"],
        description=f"`{TWO_STAGE}` (two-tower retrieval, then the ranker) or a peer method the bundle holds, ranked "
        "by its own score (see `models` in /vocabulary); top_k_retrieve is used by the two stages only",
    )
    genres: Genres | None = Field(
        None,
        examples=[["Animation", "Comedy"]],
        description=f"keep only movies of any of these genres (1-{MAX_GENRES}, each at most once)",
    )

    @field_validator("genres")
    @classmethod
    def genres_distinct(cls, genres: list[str] | None):
        repeated = first_duplicate(genres or [])
        if repeated is not None:
            raise ValueError(f"genres must not repeat a genre: {repeated!r} appears again")
        return genres

    @model_validator(mode="after")
    def final_within_retrieved(self):
        if self.top_k_retrieve is not None and self.top_n_final > self.top_k_retrieve:
            raise ValueError(f"top_n_final ({self.top_n_final}) must be <= top_k_retrieve ({self.top_k_retrieve})")
        return self


class ScoreRequest(UserChoice):
    __doc__ = f"Whose predicted ratings, for which movies. {LIMITS_DOC}"

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"user_id": 1, "movie_ids": [1, 2, 3]}]})

    movie_ids: list[MovieId] = Field(
        min_length=1,
        max_length=MAX_SCORE_IDS,
        json_schema_extra={"uniqueItems": True},
        description=f"1-{MAX_SCORE_IDS} movie ids, each at most once; scores come back in this order",
    )

    @field_validator("movie_ids")
    @classmethod
    def movie_ids_distinct(cls, movie_ids: list[int]):
        repeated = first_duplicate(movie_ids)
        if repeated is not None:
            raise ValueError(f"movie_ids must not repeat a movie: movie_id {repeated} appears again")
        return movie_ids


class Error(BaseModel):
    """Every error other than a validation error: what was wrong and what is allowed."""

    detail: str = Field(examples=["user_id 99999 not found: valid user ids are 1-6040"])


class FieldError(BaseModel):
    """One validation error: where (loc), what (msg, type), the offending input when it is small."""

    type: str = Field(examples=["less_than_equal"])
    loc: list[str | int] = Field(examples=[["body", "top_n_final"]])
    msg: str = Field(examples=["Input should be less than or equal to 2147483647"])
    input: Any = Field(None, description="the rejected value; omitted when large; NaN/Infinity as strings")
    ctx: dict[str, Any] | None = Field(None, description="the limit that was violated, e.g. {'le': 20}")


class ValidationErrorResponse(BaseModel):
    """422: a list of field errors (at most 20, then one summary), or one message for a rule across fields."""

    detail: list[FieldError] | str


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
        description="the list's order. two_stage: P(the user's next rating is this movie and it is >= 4), from the "
        "retrieval softmax and the ranker's calibrated rating, shared out among the candidates by the learned final "
        "stage; a peer method: its own score"
    )
    predicted_rating: float = Field(description="the ranker's predicted rating (1-5), whichever model chose the movie")
    retrieval_score: float = Field(
        description="two_stage: the user and movie vectors' dot product, plus the transition term for a user with live "
        "ratings or the recent-popularity term for one without; a peer method: its score"
    )
    because: MovieRef | None = Field(description="highly rated movie in the history closest to this one")


class RecommendResponse(BaseModel):
    model: str = Field(description="the model that made the list", examples=[TWO_STAGE])
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
    gender: str | None = Field(description="null for a user created without it (POST /users)")
    age: int | None
    occupation: int | None
    rating_count: int = Field(description="ratings in the training period plus live ratings")
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
    """Titles matching a query, best match first (case, accents, punctuation, articles and word order ignored)."""

    total: int = Field(ge=0, description="every matching title, before `limit`", examples=[3])
    movies: list[Movie] = Field(description="at most `limit` of them: best match first, then most rated")


class ExampleUsers(BaseModel):
    """Dataset users to start from: one with a rich training history, one with none (demographics only)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"rich_history": 10, "no_history": 1}]})

    rich_history: int = Field(
        ge=1,
        le=MAX_ID,
        description="the lowest user id among users at or above the 90th percentile of training-period ratings",
        examples=[10],
    )
    rich_history_ratings: int = Field(ge=0, description="that user's training-period ratings", examples=[400])
    no_history: int | None = Field(
        ge=1,
        le=MAX_ID,
        description="the lowest dataset user id with no training-period rating (null when every user has some)",
        examples=[1],
    )


# ---- live users and ratings ------------------------------------------------------------------------------
class CreatedUser(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"user_id": 6041}]})

    user_id: int = Field(description="the new user's id, above every dataset user id", examples=[6041])


class RatingIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"rating": 4}]})

    rating: float = Field(
        ge=RATING_MIN,
        le=RATING_MAX,
        allow_inf_nan=False,
        description="on the served dataset's scale (GET /vocabulary): whole stars 1-5 for MovieLens-1M and -100K, "
        "half stars 0.5-5 for the CSV family; another value is a 422 naming the scale",
        examples=[4],
    )


class RatingOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"user_id": 6041, "movie_id": 1, "rating": 4, "rated_at": "2025-01-01T12:00:00.000000Z"}]
        }
    )

    user_id: int
    movie_id: int
    rating: float
    rated_at: dt.datetime = Field(description="when the rating was stored (UTC)")


class RatingItem(BaseModel):
    movie_id: int = Field(examples=[1])
    title: str | None = Field(description="null when the movie is not in the served catalogue", examples=["Toy Story"])
    rating: float = Field(examples=[4])
    rated_at: dt.datetime = Field(description="UTC; dataset ratings carry their MovieLens timestamp")
    source: Literal["dataset", "live"] = Field(
        description="dataset: the bundle's training-period rating; live: given through this API", examples=["live"]
    )


class RatingsPage(BaseModel):
    user_id: int = Field(examples=[1])
    source: Literal["all", "dataset", "live"] = Field(examples=["all"])
    total: int = Field(description="ratings of this source in all, before limit/offset", examples=[54])
    limit: int = Field(examples=[DEFAULT_PAGE])
    offset: int = Field(examples=[0])
    ratings: list[RatingItem] = Field(description="newest first")
