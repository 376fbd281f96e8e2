"""Live users and ratings: create users, rate and unrate movies, list a user's ratings (the store's endpoints).

Also the one place that builds a user's context from the bundle plus their live ratings, used by /recommend,
/score and /user. Store calls go through serving.deps.store_call: inline on a local SQLite file, in the thread
pool for a networked database.
"""

from __future__ import annotations

import datetime as dt
import logging
from types import SimpleNamespace
from typing import Annotated, Literal

import numpy as np
from fastapi import APIRouter, Body, HTTPException, Path, Query, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from movierec.recommender import UserContext
from movierec.store import RatingStore, StoreUnavailable
from movierec.store.models import RATING_MAX, RATING_MIN
from movierec.store.store import LiveRating
from serving.deps import LoadedDep, StoreDep, store_call
from serving.errors import responses
from serving.routes.lookup import catalogue_rows
from serving.schemas import MAX_ID, Error, Profile
from serving.state import Loaded
from serving.vocabulary import check_rating, check_vocabulary

log = logging.getLogger("serving")
router = APIRouter(tags=["live ratings"])
MAX_PAGE = 1000
DEFAULT_PAGE = 100


# ---- schemas ---------------------------------------------------------------------------------------
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


UNAVAILABLE = {503: {"model": Error, "description": "the ratings database is unavailable or locked; retry later"}}
ERRORS = {**responses(404, 422), **UNAVAILABLE}


async def store_unavailable(_request: Request, exc: Exception) -> JSONResponse:
    """StoreUnavailable anywhere -> 503 with the reason (the bundle keeps serving everything else)."""
    log.warning("%s", exc)
    return JSONResponse(
        {"detail": f"{exc}; nothing was changed, try again shortly"},
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": "1"},
    )


# ---- who is a user ---------------------------------------------------------------------------------
def dataset_user_ids(loaded: Loaded) -> np.ndarray:
    return loaded.bundle.users["user_id"].to_numpy()


def is_dataset_user(loaded: Loaded, user_id: int) -> bool:
    return bool(loaded.recommender.space.user_rows([user_id])[0] >= 0)


def unknown_user(loaded: Loaded, user_id: int) -> HTTPException:
    ids = dataset_user_ids(loaded)
    return HTTPException(
        status.HTTP_404_NOT_FOUND,
        f"user_id {user_id} not found: dataset users are {ids.min()}-{ids.max()}, users created with POST /users "
        f"have ids above {ids.max()}",
    )


def require_user(loaded: Loaded, store: RatingStore, user_id: int) -> None:
    """404 unless user_id is a dataset user or one created through the API."""
    if not is_dataset_user(loaded, user_id) and store.user(user_id) is None:
        raise unknown_user(loaded, user_id)


def in_catalogue(loaded: Loaded, pairs: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """Live ratings of movies the served catalogue has (a later bundle may have dropped some)."""
    if not pairs:
        return pairs
    rows = loaded.recommender.space.catalog_rows([m for m, _ in pairs])
    return [pair for pair, row in zip(pairs, rows, strict=True) if row >= 0]


def user_context(loaded: Loaded, store: RatingStore, user_id: int) -> UserContext:
    """The user's context: training-period ratings plus live ratings, oldest first (404 for an unknown user).

    When the database is down a dataset user is served from the bundle alone; a created user needs the store.
    """
    rec = loaded.recommender
    dataset_user = is_dataset_user(loaded, user_id)
    try:
        live = store.history(user_id)
        stored = None if dataset_user else store.user(user_id)
    except StoreUnavailable as exc:
        if not dataset_user:
            raise
        log.warning("user %s served without live ratings: %s", user_id, exc)
        live, stored = [], None
    live = in_catalogue(loaded, live)
    if dataset_user:
        return rec.known_user(user_id, live)
    if stored is None:
        raise unknown_user(loaded, user_id)
    return rec.new_user(stored.gender, stored.age, stored.occupation, live, user_id=user_id)


# ---- routes ----------------------------------------------------------------------------------------
UserId = Annotated[int, Path(ge=1, le=MAX_ID, examples=[1])]
MovieId = Annotated[int, Path(ge=1, le=MAX_ID, examples=[1])]


@router.post(
    "/users",
    status_code=status.HTTP_201_CREATED,
    response_model=CreatedUser,
    summary="Create a user (optional demographics); rate movies with PUT /users/{user_id}/ratings/{movie_id}",
    responses={**responses(422), **UNAVAILABLE},
)
async def create_user(
    store: StoreDep, loaded: LoadedDep, profile: Annotated[Profile | None, Body()] = None
) -> CreatedUser:
    profile = profile or Profile()
    check_vocabulary(SimpleNamespace(profile=profile), loaded.bundle.description)  # codes of the served dataset only
    user = await store_call(store, store.create_user, profile.gender, profile.age, profile.occupation)
    return CreatedUser(user_id=user.user_id)


@router.put(
    "/users/{user_id}/ratings/{movie_id}",
    response_model=RatingOut,
    summary="Rate a movie (replaces the user's previous live rating of it); the next recommendation uses it",
    responses=ERRORS,
)
async def put_rating(
    loaded: LoadedDep, store: StoreDep, user_id: UserId, movie_id: MovieId, body: RatingIn
) -> RatingOut:
    check_rating(body.rating, loaded.bundle.description)  # 4.5 is a 422 for a whole-star dataset

    def write() -> LiveRating:
        require_user(loaded, store, user_id)
        catalogue_rows(loaded, [movie_id])
        return store.put_rating(user_id, movie_id, body.rating)

    saved = await store_call(store, write)
    return RatingOut(user_id=saved.user_id, movie_id=saved.movie_id, rating=saved.rating, rated_at=saved.rated_at)


@router.delete(
    "/users/{user_id}/ratings/{movie_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Remove a live rating (dataset ratings cannot be removed)",
    responses=ERRORS,
)
async def delete_rating(store: StoreDep, user_id: UserId, movie_id: MovieId) -> Response:
    if not await store_call(store, store.delete_rating, user_id, movie_id):
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"user_id {user_id} has no live rating of movie_id {movie_id} (dataset ratings cannot be deleted)",
        )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/users/{user_id}/ratings",
    response_model=RatingsPage,
    summary="A user's ratings, newest first: dataset (training period), live (this API) or all",
    responses=ERRORS,
)
def list_ratings(
    loaded: LoadedDep,
    store: StoreDep,
    user_id: UserId,
    source: Annotated[Literal["all", "dataset", "live"], Query(description="which ratings")] = "all",
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="page size")] = DEFAULT_PAGE,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="ratings to skip")] = 0,
) -> RatingsPage:
    dataset_user = is_dataset_user(loaded, user_id)
    if not dataset_user and store.user(user_id) is None:
        raise unknown_user(loaded, user_id)
    items: list[RatingItem] = []
    if source in ("all", "live"):
        items += [_item(loaded, r.movie_id, r.rating, r.rated_at, "live") for r in store.ratings_of(user_id)]
    if source in ("all", "dataset") and dataset_user:
        # with source=all a live rating of a movie is the user's current rating of it: the dataset one (or its
        # copy folded into a retrained bundle) is not listed again
        rerated = {item.movie_id for item in items} if source == "all" else set()
        items += [item for item in _dataset_items(loaded, user_id) if item.movie_id not in rerated]
    items.sort(key=lambda item: (item.rated_at, item.source == "live", item.movie_id), reverse=True)
    return RatingsPage(
        user_id=user_id,
        source=source,
        total=len(items),
        limit=limit,
        offset=offset,
        ratings=items[offset : offset + limit],
    )


def _item(loaded: Loaded, movie_id: int, rating: float, rated_at: dt.datetime, source: str) -> RatingItem:
    row = int(loaded.recommender.space.catalog_rows([movie_id])[0])
    title = loaded.recommender.movie(row)["title"] if row >= 0 else None
    return RatingItem(movie_id=movie_id, title=title, rating=rating, rated_at=rated_at, source=source)


def _dataset_items(loaded: Loaded, user_id: int) -> list[RatingItem]:
    train = loaded.bundle.train_ratings
    mine = train[train["user_id"].to_numpy() == user_id]
    return [
        _item(loaded, int(m), float(r), dt.datetime.fromtimestamp(int(t), dt.UTC), "dataset")
        for m, r, t in zip(mine["movie_id"], mine["rating"], mine["timestamp"], strict=True)
    ]
