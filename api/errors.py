"""Every error leaves the API as `{"code": ..., "message": ...}` with its status."""

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from conveyor.errors import ConveyorError, describe_validation


def error_body(code: str, message: str, **details: Any) -> dict[str, Any]:
    return {"code": code, "message": message, **details}


async def _conveyor_error(_: Request, err: Exception) -> JSONResponse:
    assert isinstance(err, ConveyorError)
    return JSONResponse(
        error_body(err.code, err.message, **err.details), status_code=err.status_code
    )


async def _validation_error(_: Request, err: Exception) -> JSONResponse:
    assert isinstance(err, RequestValidationError | ValidationError)
    return JSONResponse(
        error_body("invalid_request", describe_validation(err.errors())), status_code=400
    )


async def _http_error(_: Request, err: Exception) -> JSONResponse:
    assert isinstance(err, HTTPException)
    code = {401: "unauthorized", 404: "not_found", 405: "method_not_allowed"}.get(
        err.status_code, "error"
    )
    return JSONResponse(
        error_body(code, str(err.detail)), status_code=err.status_code, headers=err.headers
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ConveyorError, _conveyor_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(ValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
