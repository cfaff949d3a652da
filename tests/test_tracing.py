"""One trace runs from the API request through the workflow to its activities."""

import gzip
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from tests.helpers import Services, start_stack


class _Receiver(BaseHTTPRequestHandler):
    """A minimal OTLP/HTTP collector: keeps (service, span name, trace id) of each span."""

    spans: list[tuple[str, str, str]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        request = ExportTraceServiceRequest.FromString(body)
        for resource_spans in request.resource_spans:
            attributes = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    name = attributes.get("service.name", "")
                    self.spans.append((name, span.name, span.trace_id.hex()))
        reply = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200 if self.path == "/v1/traces" else 404)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def _otlp_receiver() -> Iterator[tuple[str, list[tuple[str, str, str]]]]:
    spans: list[tuple[str, str, str]] = []
    handler = type("Receiver", (_Receiver,), {"spans": spans})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", spans
    finally:
        server.shutdown()
        server.server_close()


async def test_export_request_workflow_and_activity_share_one_trace(services: Services) -> None:
    with _otlp_receiver() as (endpoint, spans):
        prefix = f"traced-{uuid.uuid4().hex[:8]}-"
        async with start_stack(services, prefix, otel_exporter_otlp_endpoint=endpoint) as stack:
            tenant = await stack.new_tenant()
            accepted = await stack.start_export(tenant, {"entity": "sessions"})
            run = await stack.wait_for(tenant, accepted["jobRunId"], within=30)
            assert run["status"] == "COMPLETED", run
        # Leaving the stack shut its tracer provider down, which flushed every span.

    requests = [s for s in spans if s[1] == "POST /api/exports"]
    assert len(requests) == 1, spans
    service, _, trace_id = requests[0]
    assert service == "conveyor-api"
    in_trace = {name for _, name, trace in spans if trace == trace_id}
    assert {"StartWorkflow:export", "RunWorkflow:export"} <= in_trace, in_trace
    assert "RunActivity:stream_export" in in_trace, in_trace
    assert "RunActivity:finish_job" in in_trace, in_trace
