"""Liveness and readiness, for load balancers and orchestrators (no token)."""

import asyncio
from collections.abc import Awaitable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest

router = APIRouter(tags=["health"], include_in_schema=False)

_CHECK_SECONDS = 3.0


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive and serving."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """Whether the database, Temporal and S3 each answer; 503 naming what does not."""
    state = request.app.state
    checks = {
        "database": _database(state.session_maker),
        "temporal": state.temporal.workflow_service.get_system_info(GetSystemInfoRequest()),
        "s3": asyncio.to_thread(state.s3.head_bucket, Bucket=state.settings.s3_bucket),
    }
    results = dict(zip(checks, await asyncio.gather(*map(_check, checks.values())), strict=True))
    ready = all(result == "ok" for result in results.values())
    body = {"status": "ready" if ready else "unavailable", "checks": results}
    return JSONResponse(body, status_code=200 if ready else 503)


async def _database(session_maker: Any) -> None:
    async with session_maker() as session:
        await session.execute(text("SELECT 1"))


async def _check(probe: Awaitable[Any]) -> str:
    try:
        await asyncio.wait_for(probe, _CHECK_SECONDS)
    except Exception as err:
        return f"error: {type(err).__name__}: {err}"[:300]
    return "ok"
