"""The two-stage endpoints: POST /recommend and POST /score, for known users and for new ones.

They are `async def`: the work is about a millisecond of NumPy, cheaper on the event loop than a
thread-pool hop (the service runs one process per core; see README).
"""

from __future__ import annotations

import time

from fastapi import APIRouter, HTTPException, status

from movierec.store import RatingStore
from serving.deps import LoadedDep, StoreDep, store_call
from serving.errors import responses
from serving.routes.lookup import catalogue_rows
from serving.routes.users import user_context
from serving.schemas import (
    DEFAULT_RETRIEVE,
    MovieRef,
    Recommendation,
    RecommendRequest,
    RecommendResponse,
    Score,
    ScoreRequest,
    ScoreResponse,
    UserChoice,
)
from serving.state import Loaded
from serving.vocabulary import check_vocabulary

router = APIRouter(tags=["recommend"])
ERRORS = responses(404, 413, 422, 503)


async def resolve_user(loaded: Loaded, choice: UserChoice, store: RatingStore):
    rec = loaded.recommender
    check_vocabulary(choice, loaded.bundle.description)  # genres and profile codes of the served dataset
    if choice.user_id is not None:
        # training-period plus live ratings (dataset or created user)
        return await store_call(store, user_context, loaded, store, choice.user_id)
    profile = choice.profile
    ratings = [(r.movie_id, r.rating) for r in choice.ratings or []]
    catalogue_rows(loaded, [m for m, _ in ratings])
    return rec.new_user(
        profile.gender if profile else None,
        profile.age if profile else None,
        profile.occupation if profile else None,
        ratings,
    )


@router.post(
    "/recommend",
    response_model=RecommendResponse,
    summary="Retrieve top_k_retrieve candidates with the user tower, rank them, return top_n_final",
    responses=ERRORS,
)
async def recommend(request: RecommendRequest, loaded: LoadedDep, store: StoreDep) -> RecommendResponse:
    start = time.perf_counter()
    n_catalog = loaded.recommender.space.n_catalog
    top_k = request.top_k_retrieve or min(DEFAULT_RETRIEVE, n_catalog)
    if top_k > n_catalog:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"top_k_retrieve must be between 1 and the catalogue size {n_catalog}, got {top_k}",
        )
    if request.top_n_final > top_k:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"top_n_final ({request.top_n_final}) must be <= top_k_retrieve ({top_k})",
        )
    if request.model not in loaded.recommender.models:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"model {request.model!r} is not in the served bundle; it holds: {', '.join(loaded.recommender.models)}",
        )
    user = await resolve_user(loaded, request, store)
    results = loaded.recommender.recommend(
        user, top_k, request.top_n_final, request.exclude_seen, request.genres, model=request.model
    )
    demo = user.demographics
    return RecommendResponse(
        model=request.model,
        user_id=user.user_id,
        gender=demo.get("gender"),
        age=demo.get("age"),
        occupation=demo.get("occupation"),
        recommendations=[
            Recommendation(
                rank=r.rank,
                movie_id=r.movie_id,
                title=r.title,
                genres=r.genres,
                year=r.year,
                ranking_score=r.ranking_score,
                predicted_rating=r.predicted_rating,
                retrieval_score=r.retrieval_score,
                because=MovieRef(**r.because) if r.because else None,
            )
            for r in results
        ],
        server_ms=round((time.perf_counter() - start) * 1000, 3),
    )


@router.post(
    "/score",
    response_model=ScoreResponse,
    summary="The ranker's predicted rating for given movies",
    responses=ERRORS,
)
async def score(request: ScoreRequest, loaded: LoadedDep, store: StoreDep) -> ScoreResponse:
    catalogue_rows(loaded, request.movie_ids)
    user = await resolve_user(loaded, request, store)
    predicted = loaded.recommender.score(user, request.movie_ids)
    return ScoreResponse(
        user_id=user.user_id,
        scores=[
            Score(movie_id=m, predicted_rating=float(p)) for m, p in zip(request.movie_ids, predicted, strict=True)
        ],
    )
