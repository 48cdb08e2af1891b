"""The Starlette application: routes built from the spec's operations."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import orjson
from jsonschema import Draft202012Validator, FormatChecker
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from ..errors import BadRequest, GoEventError, PayloadTooLarge, TooManyRequests, Unauthorized
from ..settings import Settings
from ..spec import Operation, Spec, load_spec
from ..store import Dataset, Sizes, Store, generate, load_fixture_file
from ..tickets import TicketSigner
from .control import control_routes
from .handlers import HANDLERS, Call
from .render import Renderer, placeholder
from .validation import OperationValidator

__all__ = ["create_app", "make_store"]

log = logging.getLogger("goevent_mock")
JSON = "application/json"


def make_store(settings: Settings) -> Store:
    """A store holding the fixture file of ``settings``, or data generated from its seed."""
    if settings.fixtures is not None:
        path = settings.fixtures
        load_fixture_file(path)  # fail now, with file, path and reason, not on first reset

        def load() -> Dataset:
            dataset = load_fixture_file(path)
            # --token names the token of the default (first) organizer.
            if settings.token:
                dataset.organizers[0].token = settings.token
            return dataset

        return Store(load)
    sizes = Sizes(
        organizers=settings.organizers,
        events_per_organizer=settings.events_per_organizer,
        ticket_types_per_event=settings.ticket_types_per_event,
        participants_per_event=settings.participants_per_event,
    )
    return Store(lambda: generate(settings.seed, sizes, settings.organizer_tokens()))


def error_response(error: GoEventError) -> Response:
    headers = {}
    if isinstance(error, Unauthorized):
        headers["WWW-Authenticate"] = 'Bearer realm="goevent"'
    if isinstance(error, TooManyRequests):
        headers["Retry-After"] = str(error.retry_after)
    return Response(orjson.dumps(error.to_body()), error.status, headers, JSON)


def _token(request: Request) -> str:
    header = request.headers.get("authorization")
    if not header:
        raise Unauthorized('missing "Authorization: Bearer <token>" header')
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized('the Authorization header must be "Bearer <token>"')
    return token.strip()


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the request body is {declared} bytes; the limit is {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the request body is over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


class ResponseChecker:
    """``--validate-responses``: the fake checks its own answers against the spec."""

    def __init__(self, spec: Spec) -> None:
        self._validators: dict[tuple[str, str], Draft202012Validator] = {}
        for op in spec.operations:
            for status in op.responses:
                schema = op.response_schema(status)
                if schema is not None:
                    self._validators[(op.operation_id, status)] = Draft202012Validator(
                        schema, format_checker=FormatChecker()
                    )

    def check(self, op: Operation, status: int, body: bytes) -> Response | None:
        validator = self._validators.get((op.operation_id, str(status)))
        problem = None
        if validator is None:
            problem = f"status {status} is not documented for {op.operation_id}"
        else:
            error = next(validator.iter_errors(orjson.loads(body)), None)
            if error is not None:
                path = "".join(f"[{p!r}]" for p in error.absolute_path)
                problem = f"{op.operation_id} {status} response{path}: {error.message}"
        if problem is None:
            return None
        log.error("response does not match the spec: %s", problem)
        error = {"success": False, "code": "RESPONSE_INVALID", "message": problem}
        return Response(orjson.dumps(error), 500, media_type=JSON)


def _endpoint(app: Starlette, op: Operation) -> Callable[[Request], Any]:
    handler = HANDLERS.get(op.operation_id)
    settings: Settings = app.state.settings
    validator = OperationValidator(op, settings.max_body_bytes)
    checker = ResponseChecker(app.state.spec) if settings.validate_responses else None
    if handler is None:
        # An operation the fake has no behaviour for (a newer spec): serve its example.
        handler = _example_handler(op)

    async def endpoint(request: Request) -> Response:
        store: Store = app.state.store
        try:
            organizer = store.authenticate(_token(request))
            query: dict[str, list[str]] = {}
            for key, value in request.query_params.multi_items():
                query.setdefault(key, []).append(value)
            params = validator.parameters(query, request.path_params)
            body = None
            if op.request_schema is not None:
                raw = await _read_body(request, settings.max_body_bytes)
                body = validator.body(raw, request.headers.get("content-type"))
            call = Call(store, app.state.renderer, app.state.signer, organizer, params, body,
                        str(request.base_url))  # fmt: skip
            status, payload = 200, handler(call)
        except GoEventError as error:
            if checker is not None:
                bad = checker.check(op, error.status, orjson.dumps(error.to_body()))
                if bad is not None:
                    return bad
            return error_response(error)
        if checker is not None:
            bad = checker.check(op, status, payload)
            if bad is not None:
                return bad
        return Response(payload, status, media_type=JSON)

    return endpoint


def _example_handler(op: Operation) -> Callable[[Call], bytes]:
    media = op.responses.get("200", {}).get("content", {}).get(JSON, {})
    examples = media.get("examples") or {}
    value = next(iter(examples.values()))["value"] if examples else media.get("example")
    if value is None:
        value = placeholder(media.get("schema", {}))
    payload = orjson.dumps(value)
    return lambda call: payload


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        allowed = exc.headers.get("Allow", "") if exc.headers else ""
        error: GoEventError = GoEventError(
            f"{request.method} is not allowed on {request.url.path}; allowed: {allowed}",
            code="METHOD_NOT_ALLOWED",
        )
        error.status = 405
        response = error_response(error)
        response.headers["Allow"] = allowed
        return response
    if exc.status_code == 404:
        error = GoEventError(f"no such path: {request.method} {request.url.path}", code="NOT_FOUND")
        error.status = 404
        return error_response(error)
    error = BadRequest(str(exc.detail))
    error.status = exc.status_code
    return error_response(error)


async def _goevent_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GoEventError)
    return error_response(exc)


async def _server_error(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    body = {"success": False, "code": "INTERNAL_ERROR", "message": f"the fake failed: {exc!r}"}
    return Response(orjson.dumps(body), 500, media_type=JSON)


def create_app(
    settings: Settings | None = None, store: Store | None = None, spec: Spec | None = None
) -> Starlette:
    """The fake as an ASGI app. Nothing happens at import time; no lifespan is needed.

    >>> from mockserver.testing import asgi_client
    >>> app = create_app(Settings(seed=7))
    >>> client = asgi_client(app, "http://fake/developers/v1.0")
    >>> client.get("/events", headers={"Authorization": "Bearer goevent-dev-token"}).status_code
    200
    """
    settings = settings or Settings()
    spec = spec or load_spec(str(settings.spec) if settings.spec else None)
    app = Starlette(
        exception_handlers={
            HTTPException: _http_error,
            GoEventError: _goevent_error,
            Exception: _server_error,
        }
    )
    app.state.settings = settings
    app.state.spec = spec
    app.state.store = store if store is not None else make_store(settings)
    app.state.renderer = Renderer(spec)
    app.state.signer = TicketSigner(settings.signing_secret())
    routes: list[BaseRoute] = [
        Route(
            spec.base_path + op.path, _endpoint(app, op), methods=[op.method], name=op.operation_id
        )
        for op in spec.operations
    ]
    routes.append(Mount("/_mock", routes=control_routes(app)))
    app.router.routes.extend(routes)
    return app
