"""Catalogue and user look-ups: users, movies, title search, similar movies."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from serving import services
from serving.deps import LoadedDep, StoreDep
from serving.errors import responses
from serving.schemas import (
    MAX_ID,
    ExampleUsers,
    Movie,
    MovieRef,
    MovieSearchResult,
    SimilarMovie,
    SimilarResponse,
    User,
)

router = APIRouter(tags=["catalogue"])


@router.get(
    "/user/{user_id}",
    response_model=User,
    summary="A user's demographics and favourites (dataset and live ratings)",
    responses=responses(404, 422, 503),
)
def get_user(
    loaded: LoadedDep,
    store: StoreDep,
    user_id: Annotated[int, Path(ge=1, le=MAX_ID, examples=[1])],
    top: Annotated[int, Query(ge=1, le=100)] = 10,
) -> User:
    # dataset users and users created with POST /users; 404 otherwise
    user = services.user_context(loaded, store, user_id)
    return User(
        user_id=user_id,
        **user.demographics,
        rating_count=len(user.history_rows),
        top_rated=[MovieRef(**m) for m in loaded.recommender.explainer.top_rated(user, top)],
    )


@router.get(
    "/movie/{movie_id}",
    response_model=Movie,
    summary="Title, genres, year and training-period ratings",
    responses=responses(404, 422, 503),
)
def get_movie(loaded: LoadedDep, movie_id: Annotated[int, Path(ge=1, le=MAX_ID, examples=[1])]) -> Movie:
    return Movie(**services.movie(loaded, movie_id))


@router.get(
    "/movie/{movie_id}/similar",
    response_model=SimilarResponse,
    summary="Nearest movies by cosine of the movie-tower vectors",
    responses=responses(404, 422, 503),
)
def similar(
    loaded: LoadedDep,
    movie_id: Annotated[int, Path(ge=1, le=MAX_ID, examples=[1])],
    k: Annotated[int, Query(ge=1, le=100)] = 10,
) -> SimilarResponse:
    movie, neighbours = services.similar_movies(loaded, movie_id, k)
    return SimilarResponse(movie=Movie(**movie), similar=[SimilarMovie(**n) for n in neighbours])


@router.get(
    "/movies",
    response_model=MovieSearchResult,
    summary="Search the catalogue by title, forgivingly",
    description='Case, accents, punctuation, a leading or trailing article ("Godfather, The" = "the godfather"), '
    'word order and Roman numerals ("Star Wars IV") do not matter. Best match first (whole title, title start, '
    "every word, some words), then the most rated; `total` counts every match before `limit`.",
    responses=responses(422, 503),
)
def search(
    loaded: LoadedDep,
    q: Annotated[str, Query(min_length=1, max_length=100, examples=["the godfather"])],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> MovieSearchResult:
    total, movies = services.search_movies(loaded, q, limit)
    return MovieSearchResult(total=total, movies=[Movie(**m) for m in movies])


@router.get(
    "/users/examples",
    response_model=ExampleUsers,
    summary="Dataset users to start from: one with a rich training history, one with none",
    responses=responses(503),
)
def example_users(loaded: LoadedDep) -> ExampleUsers:
    return ExampleUsers(**services.example_users(loaded))


@router.get(
    "/vocabulary",
    summary="The served dataset's genres, demographic codes with their labels (empty when it has none), rating scale "
    "and the models POST /recommend can run",
    responses=responses(503),
)
def vocabulary(loaded: LoadedDep) -> dict:
    return services.served_vocabulary(loaded)
