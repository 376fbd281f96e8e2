"""Catalogue and user look-ups: users, movies, title search, similar movies."""

from __future__ import annotations

from typing import Annotated

import numpy as np
from fastapi import APIRouter, HTTPException, Path, Query, status

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
from serving.state import Loaded

router = APIRouter(tags=["catalogue"])


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
    from serving.routes.users import user_context  # imported here: users.py imports this module's helpers

    user = user_context(loaded, store, user_id)  # dataset users and users created with POST /users; 404 otherwise
    return User(
        user_id=user_id,
        **user.demographics,
        rating_count=len(user.history_rows),
        top_rated=[MovieRef(**m) for m in loaded.recommender.top_rated(user, top)],
    )


@router.get(
    "/movie/{movie_id}",
    response_model=Movie,
    summary="Title, genres, year and training-period ratings",
    responses=responses(404, 422, 503),
)
def get_movie(loaded: LoadedDep, movie_id: Annotated[int, Path(ge=1, le=MAX_ID, examples=[1])]) -> Movie:
    return Movie(**loaded.recommender.movie(movie_row(loaded, movie_id)))


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
    rec = loaded.recommender
    found = rec.search(q, limit)
    return MovieSearchResult(total=found.total, movies=[Movie(**rec.movie(r)) for r in found.rows])


@router.get(
    "/users/examples",
    response_model=ExampleUsers,
    summary="Dataset users to start from: one with a rich training history, one with none",
    responses=responses(503),
)
def example_users(loaded: LoadedDep) -> ExampleUsers:
    user_ids = loaded.bundle.users["user_id"].to_numpy()
    counts = (
        loaded.bundle.train_ratings["user_id"].value_counts().reindex(user_ids, fill_value=0).to_numpy().astype(int)
    )
    threshold = np.quantile(counts, 0.9)
    rich = int(user_ids[counts >= threshold].min())
    none = user_ids[counts == 0]
    return ExampleUsers(
        rich_history=rich,
        rich_history_ratings=int(counts[user_ids == rich][0]),
        no_history=int(none.min()) if len(none) else None,
    )


@router.get(
    "/vocabulary",
    summary="The served dataset's genres, demographic codes with their labels (empty when it has none), rating scale "
    "and the models POST /recommend can run",
    responses=responses(503),
)
def vocabulary(loaded: LoadedDep) -> dict:
    description = loaded.bundle.description
    return {
        "dataset": description.name,
        "genres": list(description.genres),
        "genders": dict(description.genders),
        "age_groups": {str(code): label for code, label in description.age_groups.items()},
        "occupations": {str(code): label for code, label in description.occupations.items()},
        "rating": {
            "min": description.rating_min,
            "max": description.rating_max,
            "step": description.rating_step,
            "values": list(description.rating_values()),  # every allowed rating, lowest first
        },
        "models": list(loaded.recommender.models),  # what POST /recommend's "model" may name
    }
