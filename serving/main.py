"""The FastAPI application: lifespan that loads the bundle once, routers, metrics, error handling."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI

from movierec.errors import BundleError
from serving.config import Settings, get_settings
from serving.deps import open_store
from serving.docs import install_docs
from serving.errors import install_error_handlers
from serving.limits import BodySizeLimit
from serving.metrics import Metrics, MetricsMiddleware
from serving.routes import admin, health, lookup, recommend, users
from serving.state import ModelState

log = logging.getLogger("serving")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        state: ModelState = app.state.model_state
        try:
            state.load()
        except BundleError as exc:
            log.error("cannot start: %s", exc)
            raise
        app.state.store = open_store(settings, int(state.current.bundle.users["user_id"].max()))
        state.start_following(settings.reload_poll_seconds)
        try:
            yield
        finally:
            state.stop_following()
            app.state.store.close()

    app = FastAPI(
        title="movierec",
        version="1.0",
        lifespan=lifespan,
        description="Two-stage movie recommender on MovieLens data: two-tower retrieval + DNN rating ranker.",
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.model_state = ModelState(settings.artifacts_dir, settings.onnx_threads)
    app.state.metrics = Metrics()
    app.add_middleware(BodySizeLimit, max_body_bytes=settings.max_body_bytes)  # inside metrics: 413s counted
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    install_docs(app)
    install_error_handlers(app)
    for module in (health, lookup, recommend, users, admin):
        app.include_router(module.router)
    return app
