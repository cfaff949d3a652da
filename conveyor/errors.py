"""Errors the services raise; the API turns each into `{"code", "message"}` and its status."""

from collections.abc import Sequence
from typing import Any


class ConveyorError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class BadRequest(ConveyorError):
    pass


class NotFound(ConveyorError):
    status_code = 404
    code = "not_found"


class Conflict(ConveyorError):
    status_code = 409
    code = "conflict"


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"


class Unavailable(ConveyorError):
    status_code = 503
    code = "unavailable"


def describe_validation(errors: Sequence[Any]) -> str:
    """Pydantic's errors as one sentence: `entity: unknown entity 'x'; allowed: ...`."""
    parts = []
    for error in errors:
        location = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body", "query"))
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{location}: {message}" if location else message)
    return "; ".join(parts)
