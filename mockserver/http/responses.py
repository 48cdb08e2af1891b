"""The one JSON responder, and the one error renderer every error answer goes through.

:class:`JSONResponse` is used by the GoEvent operations, the control endpoints
and the error renderer alike; :func:`error_response` turns any
:class:`~mockserver.errors.GoEventError` into the spec's Error envelope, and the
exception handlers below route Starlette's own errors (404, 405) and the
unexpected ones (500) through it.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from ..errors import (
    BadRequest,
    GoEventError,
    MethodNotAllowed,
    NotFound,
    TooManyRequests,
    Unauthorized,
)
from .drop import is_injected_drop

__all__ = [
    "EXCEPTION_HANDLERS",
    "JSONResponse",
    "error_response",
    "json_response",
    "server_error",
]

log = logging.getLogger("goevent_mock")


class JSONResponse(Response):
    """A JSON answer from bytes already encoded, its headers built directly: Starlette's
    ``init_headers`` is a tenth of the request path of a GET."""

    media_type = "application/json"

    def __init__(self, body: bytes, status_code: int = 200) -> None:
        self.body, self.status_code, self.background = body, status_code, None
        self.raw_headers = [
            (b"content-length", str(len(body)).encode()),
            (b"content-type", b"application/json"),
        ]


def json_response(value: Any, status: int = 200) -> JSONResponse:
    """``value`` encoded as JSON."""
    return JSONResponse(orjson.dumps(value), status)


def error_response(error: GoEventError) -> JSONResponse:
    """The Error envelope of ``error``, with the headers its kind calls for."""
    response = JSONResponse(orjson.dumps(error.to_body()), error.status)
    if isinstance(error, Unauthorized):
        response.raw_headers.append((b"www-authenticate", b'Bearer realm="goevent"'))
    if isinstance(error, TooManyRequests):
        response.raw_headers.append((b"retry-after", str(error.retry_after).encode()))
    return response


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        allowed = exc.headers.get("Allow", "") if exc.headers else ""
        message = f"{request.method} is not allowed on {request.url.path}; allowed: {allowed}"
        response = error_response(MethodNotAllowed(message))
        response.raw_headers.append((b"allow", allowed.encode("latin-1")))
        return response
    if exc.status_code == 404:
        return error_response(NotFound(f"no such path: {request.method} {request.url.path}"))
    return error_response(BadRequest(str(exc.detail), status=exc.status_code))


async def _goevent_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GoEventError)
    return error_response(exc)


async def server_error(request: Request, exc: Exception) -> Response:
    """The 500 of an unexpected exception (logged), in the Error shape."""
    if is_injected_drop(exc):
        return Response(status_code=500)  # a deliberate fault: re-raised into the client, unlogged
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response(GoEventError(f"the fake failed: {exc!r}"))


EXCEPTION_HANDLERS: dict[Any, Any] = {
    HTTPException: _http_error,
    GoEventError: _goevent_error,
    Exception: server_error,
}
