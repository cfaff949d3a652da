"""JSON log lines carrying the correlation id and the job they belong to.

Context travels in a ContextVar: the API binds it per request, the worker per
activity (see `worker.interceptors`), so any `logging` call inside picks it up.
"""

import contextlib
import json
import logging
import sys
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from temporalio import activity, workflow

_context: ContextVar[dict[str, Any]] = ContextVar("conveyor_log_context", default={})  # noqa: B039

# Fields a caller may pass through `extra=` that belong in the JSON line.
_EXTRA_FIELDS = (
    "correlation_id",
    "org_id",
    "user_id",
    "job_id",
    "job_name",
    "task_queue",
    "error",
    "temporal_workflow",
    "temporal_activity",
)


@contextlib.contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Adds `fields` to every log line written inside the block."""
    token = _context.set({**_context.get(), **{k: v for k, v in fields.items() if v}})
    try:
        yield
    finally:
        _context.reset(token)


def current_context() -> dict[str, Any]:
    return dict(_context.get())


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **_context.get(),
        }
        for field in _EXTRA_FIELDS:
            value = getattr(record, field, None)
            if value:
                line[field] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


def configure_logging(level: str = "INFO") -> None:
    """Routes every logger (ours, uvicorn's, temporalio's) through one JSON handler."""
    # Temporal's context goes into its own JSON field rather than the message text.
    workflow.logger.workflow_info_on_message = False
    activity.logger.activity_info_on_message = False
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.access", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
