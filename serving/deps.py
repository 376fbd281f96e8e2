"""Typed dependencies: the loaded model for this request, the settings, and the admin check.

They are `async def` because they only read state: FastAPI would run plain `def` ones in a thread pool.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request, status

from serving.config import Settings
from serving.state import Loaded, ModelState


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
