"""`/metrics` for Prometheus: job counters and durations, then the Temporal SDK's."""

import asyncio

from fastapi import APIRouter, Response

from conveyor.prometheus import CONTENT_TYPE, exposition

router = APIRouter(include_in_schema=False)


@router.get("/metrics")
async def prometheus_metrics() -> Response:
    """No token: bind the API to a private interface or filter /metrics at the proxy."""
    return Response(await asyncio.to_thread(exposition), media_type=CONTENT_TYPE)
