"""Prometheus metrics: ours (prometheus_client) and the Temporal SDK's, on one page.

Job transitions are observed where they are written, in the job-run mirror, so
every kind is counted the same way. The SDK keeps its metrics in its Rust core
and serves them on a loopback port of its own; `exposition()` appends that page
to ours, so a scraper reads both from a single `/metrics`.
"""

import logging
import socket
import threading
import urllib.request
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, Counter, Histogram, generate_latest
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

log = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4

# Jobs last from a second (an AI call) to hours (a large export or OCR run).
_DURATION_BUCKETS = (0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 3 * 3600, 12 * 3600)
_WAIT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)

JOBS_SUBMITTED = Counter(
    "conveyor_jobs_submitted",
    "Job submissions through the API; outcome is created or deduplicated.",
    ["job_name", "outcome"],
)
JOBS_STARTED = Counter("conveyor_jobs_started", "Jobs whose first attempt started.", ["job_name"])
JOBS_FINISHED = Counter(
    "conveyor_jobs_finished",
    "Jobs that ended; status is completed, failed or cancelled.",
    ["job_name", "status"],
)
JOB_DURATION = Histogram(
    "conveyor_job_duration_seconds",
    "Started to finished, by final status.",
    ["job_name", "status"],
    buckets=_DURATION_BUCKETS,
)
JOB_QUEUE_WAIT = Histogram(
    "conveyor_job_queue_wait_seconds",
    "Queued to first started.",
    ["job_name"],
    buckets=_WAIT_BUCKETS,
)


def job_submitted(job_name: str, created: bool) -> None:
    JOBS_SUBMITTED.labels(job_name, "created" if created else "deduplicated").inc()


def job_started(job_name: str, queued_at: datetime, started_at: datetime) -> None:
    JOBS_STARTED.labels(job_name).inc()
    JOB_QUEUE_WAIT.labels(job_name).observe(max(0.0, (started_at - queued_at).total_seconds()))


def job_finished(
    job_name: str, status: str, started_at: datetime | None, finished_at: datetime | None
) -> None:
    """Counts the end; a job cancelled before it started has no duration to observe."""
    status = status.lower()
    JOBS_FINISHED.labels(job_name, status).inc()
    if started_at is not None and finished_at is not None:
        seconds = max(0.0, (finished_at - started_at).total_seconds())
        JOB_DURATION.labels(job_name, status).observe(seconds)


class _SdkMetrics:
    """One Temporal runtime per process, exporting on a free loopback port."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.runtime: Runtime | None = None
        self.url: str | None = None

    def get_runtime(self) -> Runtime:
        with self._lock:
            if self.runtime is None:
                address = f"127.0.0.1:{_free_port()}"
                metrics = PrometheusConfig(bind_address=address)
                self.runtime = Runtime(telemetry=TelemetryConfig(metrics=metrics))
                self.url = f"http://{address}/metrics"
            return self.runtime


_sdk = _SdkMetrics()


def sdk_runtime() -> Runtime:
    """The Temporal runtime whose worker and client metrics `/metrics` includes."""
    return _sdk.get_runtime()


def exposition() -> bytes:
    """Our metrics, then the SDK's when a client of this process exports them (blocking)."""
    ours = generate_latest()
    if _sdk.url is None:
        return ours
    try:
        with urllib.request.urlopen(_sdk.url, timeout=2) as response:
            sdk: bytes = response.read()
    except OSError as err:
        log.warning("could not read the Temporal SDK's metrics: %s", err)
        return ours
    return ours + sdk


class _MetricsHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] != "/metrics":
            self.send_error(404)
            return
        body = exposition()
        self.send_response(200)
        self.send_header("Content-Type", CONTENT_TYPE)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # scrapes every few seconds would drown the worker's log


def serve_metrics(host: str, port: int) -> ThreadingHTTPServer:
    """Serves `/metrics` from a daemon thread; `shutdown()` the result to stop it."""
    server = ThreadingHTTPServer((host, port), _MetricsHandler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    log.info("metrics served on http://%s:%d/metrics", host, server.server_address[1])
    return server


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
