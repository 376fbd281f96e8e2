"""Liveness/summary (`/`), readiness (`/health`), stats and Prometheus metrics."""

from __future__ import annotations

import os

from fastapi import APIRouter, Request, Response, status
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from serving.deps import LoadedDep, StateDep
from serving.errors import responses
from serving.schemas import Health, Stats

router = APIRouter(tags=["health"])


@router.get("/", response_model=Health, summary="Service status and the loaded bundle")
def root(state: StateDep) -> Health:
    loaded = state.current
    if loaded is None:
        return Health(
            status="loading",
            bundle_version=None,
            created_at=None,
            movies=0,
            users=0,
            train_ratings=0,
            last_reload=state.last_reload,
        )
    counts = loaded.bundle.manifest["counts"]
    return Health(
        status="ok",
        bundle_version=loaded.bundle.version,
        created_at=loaded.bundle.manifest["created_at"],
        movies=counts["movies"],
        users=counts["users"],
        train_ratings=counts["train_ratings"],
        last_reload=state.last_reload,
    )


@router.get(
    "/health",
    summary="Readiness: 200 only when a bundle is loaded and warmed up",
    responses={503: {"description": "not ready"}},
)
def health(state: StateDep, response: Response) -> dict:
    if not state.ready:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return {"status": "not ready"}
    return {"status": "ready", "bundle_version": state.current.bundle.version, "worker_pid": os.getpid()}


@router.get(
    "/stats", response_model=Stats, summary="Counts and the bundle's evaluation metrics", responses=responses(503)
)
def stats(loaded: LoadedDep) -> Stats:
    counts = loaded.bundle.manifest["counts"]
    return Stats(
        users=counts["users"],
        movies=counts["movies"],
        train_ratings=counts["train_ratings"],
        bundle_version=loaded.bundle.version,
        metrics=loaded.bundle.metrics,
    )


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
