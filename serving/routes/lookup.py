"""Catalogue and user look-ups: users, movies, title search, similar movies."""

from __future__ import annotations

from typing import Annotated

import numpy as np
from fastapi import APIRouter, HTTPException, Path, Query, status

from movierec.config import AGE_GROUPS, GENRES, OCCUPATIONS
from serving.deps import LoadedDep
from serving.schemas import Movie, MovieRef, MovieSearchResult, SimilarMovie, SimilarResponse, User
from serving.state import Loaded

router = APIRouter(tags=["catalogue"])


def user_not_found(loaded: Loaded, user_id: int) -> HTTPException:
    ids = loaded.bundle.users["user_id"]
    return HTTPException(
        status.HTTP_404_NOT_FOUND, f"user_id {user_id} not found: valid user ids are {ids.min()}-{ids.max()}"
    )


def movie_not_found(loaded: Loaded, movie_id: int) -> HTTPException:
    ids = loaded.bundle.movies["movie_id"]
    return HTTPException(
        status.HTTP_404_NOT_FOUND,
        f"movie_id {movie_id} not found: movie ids range {ids.min()}-{ids.max()} ({len(ids)} movies; "
        "not every id in that range exists — search with GET /movies?q=title)",
    )


def catalogue_rows(loaded: Loaded, movie_ids) -> np.ndarray:
    """Catalogue rows of movie_ids; a 404 naming the first id that is not in the catalogue."""
    rows = loaded.recommender.space.catalog_rows(movie_ids)
    if np.any(rows < 0):
        raise movie_not_found(loaded, int(np.asarray(movie_ids)[rows < 0][0]))
    return rows


def movie_row(loaded: Loaded, movie_id: int) -> int:
    return int(catalogue_rows(loaded, [movie_id])[0])


@router.get("/user/{user_id}", response_model=User, summary="A user's demographics and training-period favourites")
def get_user(
    loaded: LoadedDep, user_id: Annotated[int, Path(ge=1, examples=[1])], top: Annotated[int, Query(ge=1, le=100)] = 10
) -> User:
    try:
        user = loaded.recommender.known_user(user_id)
    except KeyError:
        raise user_not_found(loaded, user_id) from None
    return User(
        user_id=user_id,
        **user.demographics,
        rating_count=len(user.history_rows),
        top_rated=[MovieRef(**m) for m in loaded.recommender.top_rated(user, top)],
    )


@router.get("/movie/{movie_id}", response_model=Movie, summary="Title, genres, year and training-period ratings")
def get_movie(loaded: LoadedDep, movie_id: Annotated[int, Path(ge=1, examples=[1])]) -> Movie:
    return Movie(**loaded.recommender.movie(movie_row(loaded, movie_id)))


@router.get(
    "/movie/{movie_id}/similar",
    response_model=SimilarResponse,
    summary="Nearest movies by cosine of the movie-tower vectors",
)
def similar(
    loaded: LoadedDep, movie_id: Annotated[int, Path(ge=1, examples=[1])], k: Annotated[int, Query(ge=1, le=100)] = 10
) -> SimilarResponse:
    row = movie_row(loaded, movie_id)
    rec = loaded.recommender
    neighbours = []
    for other, similarity in rec.similar(movie_id, k):
        info = rec.movie(other)
        neighbours.append(
            SimilarMovie(
                movie_id=info["movie_id"],
                title=info["title"],
                genres=info["genres"],
                year=info["year"],
                similarity=similarity,
            )
        )
    return SimilarResponse(movie=Movie(**rec.movie(row)), similar=neighbours)


@router.get("/movies", response_model=MovieSearchResult, summary="Search the catalogue by title")
def search(
    loaded: LoadedDep,
    q: Annotated[str, Query(min_length=1, max_length=100, examples=["star wars"])],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> MovieSearchResult:
    rec = loaded.recommender
    return MovieSearchResult(movies=[Movie(**rec.movie(r)) for r in rec.search(q, limit)])


@router.get("/vocabulary", summary="Genres and the ML-1M demographic codes with their labels")
def vocabulary() -> dict:
    return {
        "genres": list(GENRES),
        "genders": {"F": "female", "M": "male"},
        "age_groups": {str(code): label for code, label in AGE_GROUPS.items()},
        "occupations": {str(code): label for code, label in OCCUPATIONS.items()},
    }
