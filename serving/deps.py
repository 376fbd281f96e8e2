"""Typed dependencies: the loaded model for this request, the settings, the live-ratings store, the admin check.

They are `async def` because they only read state: FastAPI would run plain `def` ones in a thread pool.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Header, HTTPException, Request, status
from starlette.concurrency import run_in_threadpool

from movierec.config import DATA_DIR
from movierec.store import RatingStore, StoreUnavailable, default_url
from serving.config import Settings
from serving.state import Loaded, ModelState

T = TypeVar("T")

log = logging.getLogger("serving")


async def get_state(request: Request) -> ModelState:
    return request.app.state.model_state


async def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


async def get_loaded(state: Annotated[ModelState, Depends(get_state)]) -> Loaded:
    """The bundle this request uses (taken once, so a reload mid-request does not affect it)."""
    loaded = state.current
    if loaded is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "no bundle loaded yet")
    return loaded


def open_store(settings: Settings, dataset_max_user_id: int) -> RatingStore:
    """The live-ratings store of DATABASE_URL (default: SQLite in the data folder), schema created or upgraded.

    A database that is down at start does not stop the service: reads of the bundle keep working, writes
    answer 503, and the store retries on every call.
    """
    store = RatingStore(settings.database_url or default_url(DATA_DIR), user_id_floor=dataset_max_user_id)
    try:
        store.ensure_ready()
    except StoreUnavailable as exc:
        log.error("%s; serving the bundle without live ratings until it is back", exc)
    return store


async def store_call(store: RatingStore, fn: Callable[..., T], *args) -> T:
    """fn(*args), which uses the store: inline for a local SQLite file (a fraction of a millisecond, less than a
    thread-pool hop, and no GIL hand-offs with a busy event loop), in the thread pool for a networked database (a
    slow or unreachable server must not stall the event loop)."""
    if store.is_local:
        return fn(*args)
    return await run_in_threadpool(fn, *args)


async def get_store(request: Request) -> RatingStore:
    return request.app.state.store


async def require_admin(
    settings: Annotated[Settings, Depends(get_settings_dep)],
    authorization: Annotated[str | None, Header()] = None,
) -> None:
    if not settings.admin_token:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "reload is disabled: set ADMIN_TOKEN to enable /admin/reload")
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), settings.admin_token.encode()):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "a valid bearer token is required", headers={"WWW-Authenticate": "Bearer"}
        )


StateDep = Annotated[ModelState, Depends(get_state)]
LoadedDep = Annotated[Loaded, Depends(get_loaded)]
AdminDep = Annotated[None, Depends(require_admin)]
StoreDep = Annotated[RatingStore, Depends(get_store)]
