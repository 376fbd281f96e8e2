"""The FastAPI application: lifespan that loads the bundle once, routers, metrics, error handling."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI

from movierec.errors import BundleError
from serving.config import Settings, get_settings
from serving.metrics import Metrics, MetricsMiddleware
from serving.routes import admin, health, lookup, recommend
from serving.state import ModelState

log = logging.getLogger("serving")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        try:
            app.state.model_state.load()
        except BundleError as exc:
            log.error("cannot start: %s", exc)
            raise
        yield

    app = FastAPI(
        title="movierec",
        version="1.0",
        lifespan=lifespan,
        description="Two-stage MovieLens-1M recommender: two-tower retrieval + DNN rating ranker.",
    )
    app.state.settings = settings
    app.state.model_state = ModelState(settings.artifacts_dir)
    app.state.metrics = Metrics()
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    for module in (health, lookup, recommend, admin):
        app.include_router(module.router)
    return app
