"""The two-stage endpoints: POST /recommend and POST /score, for known users and for new ones.

They are `async def`: the work is about a millisecond of NumPy, cheaper on the event loop than a
thread-pool hop (the service runs one process per core; see docs/performance.md).
"""

from __future__ import annotations

import time

from fastapi import APIRouter

from serving import services
from serving.deps import LoadedDep, StoreDep
from serving.errors import responses
from serving.schemas import (
    MovieRef,
    Recommendation,
    RecommendRequest,
    RecommendResponse,
    Score,
    ScoreRequest,
    ScoreResponse,
)

router = APIRouter(tags=["recommend"])
ERRORS = responses(404, 413, 422, 503)


@router.post(
    "/recommend",
    response_model=RecommendResponse,
    summary="Retrieve top_k_retrieve candidates with the user tower, rank them, return top_n_final",
    responses=ERRORS,
)
async def recommend(request: RecommendRequest, loaded: LoadedDep, store: StoreDep) -> RecommendResponse:
    start = time.perf_counter()
    top_k = services.retrieval_depth(loaded, request)
    user = await services.resolve_user(loaded, request, store)
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
    services.catalogue_rows(loaded, request.movie_ids)
    user = await services.resolve_user(loaded, request, store)
    predicted = loaded.recommender.score(user, request.movie_ids)
    return ScoreResponse(
        user_id=user.user_id,
        scores=[
            Score(movie_id=m, predicted_rating=float(p)) for m, p in zip(request.movie_ids, predicted, strict=True)
        ],
    )
