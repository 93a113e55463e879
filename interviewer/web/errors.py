"""The one place errors become HTTP responses: the error tree of `interviewer/errors.py` by
status (with a Retry-After where a retry helps), web's own `BadInput`, FastAPI's validation
errors, storage faults and client disconnects. Every error body is `{"detail": ...}`."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from interviewer.errors import (
    Conflict,
    EngineError,
    Expired,
    Forbidden,
    Invalid,
    NotFound,
    Overloaded,
    PreconditionFailed,
    ServiceError,
    StorageUnavailable,
    TooMany,
    Unauthorized,
    Unavailable,
)
from interviewer.services.errors import DatabaseError, storage_problem
from interviewer.web.input import BadInput

log = logging.getLogger("interviewer.web")

STATUSES: dict[type[ServiceError], tuple[int, str | None]] = {
    NotFound: (404, None),
    Expired: (401, None),
    Unauthorized: (401, None),
    Forbidden: (403, None),
    Conflict: (409, None),
    PreconditionFailed: (412, None),
    Invalid: (422, None),
    TooMany: (429, None),
    Overloaded: (503, "3"),
    Unavailable: (503, "5"),
}
"""Each member of the tree and its status, with the Retry-After it carries (TooMany: its own)."""


def error(status: int, detail: Any, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def status_of(exc: ServiceError) -> tuple[int, dict[str, str] | None]:
    """The status and headers of a service error (the most specific class in the table wins)."""
    for cls in type(exc).__mro__:
        if cls in STATUSES:
            status, retry_after = STATUSES[cls]
            if isinstance(exc, TooMany):
                retry_after = str(exc.retry_after)
            return status, {"Retry-After": retry_after} if retry_after else None
    return 500, None


def install(app: FastAPI) -> None:
    """Register the handlers on the app."""

    @app.exception_handler(ServiceError)
    async def service_error(_: Request, exc: ServiceError) -> JSONResponse:
        status, headers = status_of(exc)
        return error(status, exc.detail, headers)

    @app.exception_handler(BadInput)
    async def bad_input(_: Request, exc: BadInput) -> JSONResponse:
        retry = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
        return error(exc.status, exc.detail, retry)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", "invalid"), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        return error(422, details)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error(exc.status_code, exc.detail)

    @app.exception_handler(StorageUnavailable)
    @app.exception_handler(DatabaseError)
    async def storage_error(_: Request, exc: Exception) -> JSONResponse:
        # never str(exc): a driver error carries the statement and its parameters (candidate text)
        reason = storage_problem(exc)
        if reason is None:
            # the type only: the message and traceback hold the statement's parameters
            log.error("database error on a request: %s", type(getattr(exc, "orig", exc)).__name__)
            return error(500, "the database failed on this request")
        log.error("storage unavailable: %s", reason)
        return error(503, f"storage unavailable: {reason}; try again later", {"Retry-After": "30"})

    @app.exception_handler(ClientDisconnect)
    async def client_gone(request: Request, _: ClientDisconnect) -> Response:
        # the client left while sending its body: nothing of ours failed and no one will read an
        # answer; 499 (nginx's "client closed request") keeps it out of the 5xx counts
        log.info(
            "client disconnected before its request body was complete: %s %s",
            request.method,
            request.url.path,
        )
        return Response(status_code=499)

    @app.exception_handler(EngineError)
    async def engine_error(_: Request, exc: EngineError) -> JSONResponse:
        return error(500, "the interview engine failed; your answer is saved")
