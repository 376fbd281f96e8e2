"""POST /admin/reload: load the newest bundle in the background and swap it in (bearer token required)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query
from fastapi.concurrency import run_in_threadpool

from serving.deps import AdminDep, StateDep

router = APIRouter(tags=["admin"], prefix="/admin")


@router.post(
    "/reload",
    summary="Reload the newest bundle; the old one serves until the new one is ready",
    responses={401: {"description": "missing or wrong token"}, 404: {"description": "ADMIN_TOKEN unset"}},
)
async def reload(
    _: AdminDep,
    state: StateDep,
    background: BackgroundTasks,
    wait: Annotated[
        bool, Query(description="block until the reload finished (waiting for one already running)")
    ] = False,
) -> dict:
    if wait:
        return await run_in_threadpool(state.reload, wait=True)
    background.add_task(run_in_threadpool, state.reload)
    return {"status": "started", "serving": state.current.bundle.version if state.current else None}
