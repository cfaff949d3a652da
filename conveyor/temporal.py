"""Temporal client and the search attributes operators filter jobs by."""

import asyncio
import logging

from opentelemetry.trace import Tracer
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.runtime import Runtime
from temporalio.service import RPCError

from conveyor.constants import SEARCH_ATTRIBUTES
from conveyor.settings import Settings

log = logging.getLogger(__name__)


async def connect(
    settings: Settings,
    wait_seconds: float = 30,
    *,
    runtime: Runtime | None = None,
    tracer: Tracer | None = None,
) -> Client:
    """Connects, waiting a while for a server that is still starting.

    Args:
        settings: where Temporal is.
        wait_seconds: how long to retry a refused connection.
        runtime: the SDK runtime, e.g. one exporting metrics; None: the default.
        tracer: when given, workflow starts and the workers built from this
            client carry OpenTelemetry spans.
    """
    interceptors = [TracingInterceptor(tracer)] if tracer is not None else []
    deadline = asyncio.get_running_loop().time() + wait_seconds
    while True:
        try:
            return await Client.connect(
                settings.temporal_address,
                namespace=settings.temporal_namespace,
                runtime=runtime,
                interceptors=interceptors,
            )
        except RuntimeError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.5)


async def ensure_search_attributes(client: Client) -> None:
    """Registers OrgId, JobName, EntityType and EntityId where they are missing."""
    existing = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=client.namespace)
    )
    missing = {
        key.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
        for key in SEARCH_ATTRIBUTES
        if key.name not in existing.custom_attributes
    }
    if not missing:
        return
    try:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=client.namespace, search_attributes=missing)
        )
    except RPCError as err:
        log.warning("could not register search attributes %s: %s", sorted(missing), err.message)
