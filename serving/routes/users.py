"""Live users and ratings: create users, rate and unrate movies, list a user's ratings (the store's endpoints).

Store calls go through serving.deps.store_call: inline on a local SQLite file, in the thread pool for a networked
database.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Path, Query, Response, status

from serving import services
from serving.deps import LoadedDep, StoreDep, store_call
from serving.errors import STORE_UNAVAILABLE, responses
from serving.schemas import (
    DEFAULT_PAGE,
    MAX_ID,
    MAX_PAGE,
    CreatedUser,
    Profile,
    RatingIn,
    RatingOut,
    RatingsPage,
)

router = APIRouter(tags=["live ratings"])
ERRORS = {**responses(404, 422), **STORE_UNAVAILABLE}
UserId = Annotated[int, Path(ge=1, le=MAX_ID, examples=[1])]
MovieId = Annotated[int, Path(ge=1, le=MAX_ID, examples=[1])]


@router.post(
    "/users",
    status_code=status.HTTP_201_CREATED,
    response_model=CreatedUser,
    summary="Create a user (optional demographics); rate movies with PUT /users/{user_id}/ratings/{movie_id}",
    responses={**responses(422), **STORE_UNAVAILABLE},
)
async def create_user(
    store: StoreDep, loaded: LoadedDep, profile: Annotated[Profile | None, Body()] = None
) -> CreatedUser:
    profile = profile or Profile()
    services.check_profile(loaded, profile)  # codes of the served dataset only
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
    services.check_given_rating(loaded, body.rating)
    saved = await store_call(store, services.save_rating, loaded, store, user_id, movie_id, body.rating)
    return RatingOut(user_id=saved.user_id, movie_id=saved.movie_id, rating=saved.rating, rated_at=saved.rated_at)


@router.delete(
    "/users/{user_id}/ratings/{movie_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Remove a live rating (dataset ratings cannot be removed)",
    responses=ERRORS,
)
async def delete_rating(store: StoreDep, user_id: UserId, movie_id: MovieId) -> Response:
    await store_call(store, services.delete_rating, store, user_id, movie_id)
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
    items = services.user_ratings(loaded, store, user_id, source)
    return RatingsPage(
        user_id=user_id,
        source=source,
        total=len(items),
        limit=limit,
        offset=offset,
        ratings=items[offset : offset + limit],
    )
