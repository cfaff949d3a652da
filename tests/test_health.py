"""Liveness and readiness report each dependency."""

from tests.faults import FaultyProxy
from tests.helpers import Stack


async def test_healthz_and_readyz_when_everything_answers(stack: Stack) -> None:
    assert (await stack.client.get("/healthz")).json() == {"status": "ok"}
    ready = await stack.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready",
        "checks": {"database": "ok", "temporal": "ok", "s3": "ok"},
    }


async def test_readyz_names_an_unreachable_s3(faulty_stack: Stack, proxy: FaultyProxy) -> None:
    proxy.refuse_all()
    ready = await faulty_stack.client.get("/readyz")

    assert ready.status_code == 503
    body = ready.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == body["checks"]["temporal"] == "ok"
    assert body["checks"]["s3"].startswith("error:")
