"""OpenTelemetry traces from an API request through its workflow to the activities.

Off unless `OTEL_EXPORTER_OTLP_ENDPOINT` is set. The Temporal client carries a
`TracingInterceptor`, so the workflow start joins the request's trace and the
workers built from that client continue it. Each process owns its provider
(not the global one), so several apps in one process never mix their spans.
"""

from fastapi import FastAPI
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Tracer

from conveyor.settings import Settings

# Probes and scrapes arrive every few seconds; a trace each would bury the real ones.
_UNTRACED_PATHS = "/healthz$,/readyz$,/metrics$"  # regexes searched in the full URL


class Tracing:
    """A tracer provider exporting over OTLP/HTTP in batches."""

    def __init__(self, provider: TracerProvider) -> None:
        self.provider = provider
        self.tracer: Tracer = provider.get_tracer("conveyor")

    @classmethod
    def from_settings(cls, settings: Settings, default_service: str) -> "Tracing | None":
        """The process's tracing, or None when no OTLP endpoint is configured."""
        if not settings.otel_exporter_otlp_endpoint:
            return None
        endpoint = settings.otel_exporter_otlp_endpoint.rstrip("/") + "/v1/traces"
        service = settings.otel_service_name or default_service
        provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service}))
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
        return cls(provider)

    def instrument(self, app: FastAPI) -> None:
        """Gives every request a server span, the parent of the workflows it starts."""
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        FastAPIInstrumentor.instrument_app(
            app,
            tracer_provider=self.provider,
            excluded_urls=_UNTRACED_PATHS,
            exclude_spans=["receive", "send"],  # one span per ASGI message is noise
        )

    def shutdown(self) -> None:
        """Exports what is still buffered, then stops the exporter."""
        self.provider.shutdown()
