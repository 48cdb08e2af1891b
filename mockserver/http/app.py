"""The Starlette application: routes built from the spec's operations."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import replace
from functools import cache
from time import perf_counter
from typing import Any
from urllib.parse import parse_qsl

import anyio
import orjson
from jsonschema import Draft202012Validator, FormatChecker
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import Receive, Scope, Send

from ..errors import (
    BadRequest,
    GoEventError,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    TooManyRequests,
    Unauthorized,
)
from ..faults import FaultPlan, FaultRule, parse_rule, parse_rules
from ..idempotency import check_key, fingerprint
from ..ratelimit import RateLimit
from ..sandbox import Box, Boxes, sandbox_id, sandbox_seed
from ..settings import ENV_PREFIX, Settings
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


def make_store(settings: Settings, kind: type[Store] = Store) -> Store:
    """A store holding the fixture file of ``settings``, or data generated from its seed.

    ``kind`` is the store class: a subclass changes behaviour (the drift corpus's variants).
    """
    if settings.fixtures is not None:
        path = settings.fixtures
        load_fixture_file(path)  # fail now, with file, path and reason, not on first reset

        def load() -> Dataset:
            dataset = load_fixture_file(path)
            # --token names the token of the default (first) organizer.
            if settings.token:
                dataset.organizers[0].token = settings.token
            return dataset

        return kind(load)
    sizes = Sizes(
        organizers=settings.organizers,
        events_per_organizer=settings.events_per_organizer,
        ticket_types_per_event=settings.ticket_types_per_event,
        participants_per_event=settings.participants_per_event,
    )
    return kind(lambda: generate(settings.seed, sizes, settings.organizer_tokens()))


def make_boxes(settings: Settings, store: Store, spec: Spec, signer: TicketSigner) -> Boxes:
    """The default box around ``store``, and the factory of sandboxes (see ``sandbox.py``)."""
    operations = {op.operation_id for op in spec.operations}
    try:
        rules = parse_rules(settings.faults, operations)
        if settings.latency:
            rules.insert(0, parse_rule(f"latency={settings.latency}", operations))
    except ValueError as exc:
        raise ValueError(f"--fault/--latency ({ENV_PREFIX}FAULTS/LATENCY): {exc}") from None
    try:
        limit = (
            RateLimit.parse(settings.rate_limit, settings.rate_limit_mode)
            if settings.rate_limit
            else None
        )
    except ValueError as exc:
        raise ValueError(f"--rate-limit ({ENV_PREFIX}RATE_LIMIT): {exc}") from None

    def box(store: Store, signer: TicketSigner, token: str | None, seed: int) -> Box:
        return Box(store, signer, token=token, journal_max=settings.journal_max,
                   faults=FaultPlan(rules, seed), rate_limit=limit)  # fmt: skip

    def sandbox(token: str) -> Box:
        seed = sandbox_seed(token)
        own = make_store(replace(settings, token=token, seed=seed, organizers=1))
        return box(own, signer.for_box(sandbox_id(token)), token, seed)

    return Boxes(box(store, signer, None, settings.seed), settings.sandbox_prefix,
                 settings.max_sandboxes, sandbox)  # fmt: skip


def error_response(error: GoEventError) -> Response:
    headers = {}
    if isinstance(error, Unauthorized):
        headers["WWW-Authenticate"] = 'Bearer realm="goevent"'
    if isinstance(error, TooManyRequests):
        headers["Retry-After"] = str(error.retry_after)
    return Response(orjson.dumps(error.to_body()), error.status, headers, JSON)


def _token(header: bytes | None) -> str:
    if not header:
        raise Unauthorized('missing "Authorization: Bearer <token>" header')
    scheme, _, token = header.decode("latin-1").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized('the Authorization header must be "Bearer <token>"')
    return token.strip()


_EXTRA_HEADERS = frozenset((b"x-mock-fault", b"x-mock-latency", b"idempotency-key"))


def _headers(raw: Iterable[tuple[bytes, bytes]]) -> tuple[bytes | None, dict[bytes, bytes] | None]:
    """One pass over the request headers: Authorization, and the few the fake's tools read."""
    auth, extra = None, None
    for name, value in raw:
        if name == b"authorization":
            auth = value
        elif name in _EXTRA_HEADERS:
            extra = extra or {}
            extra[name] = value
    return auth, extra


@cache
def _connection_dropped() -> type[Exception]:
    """The error an injected ``drop`` raises in-process: what a client on a socket sees as a
    closed connection (``httpx.RemoteProtocolError``). Made on first use: importing httpx
    costs the server ~170 ms of start-up, and only in-process clients (httpx) need it."""
    import httpx

    class ConnectionDropped(httpx.RemoteProtocolError):
        pass

    return ConnectionDropped


async def _drop_connection(request: Request) -> None:
    # ASGI cannot close a connection without answering: the server module shuts down this
    # request's socket, then we wait until the server has seen the disconnect, so that it
    # sends nothing (not even its own 500). No socket (in-process): raise what httpx raises.
    from ..server import drop_connection

    if not drop_connection(request.scope):
        raise _connection_dropped()(
            "Server disconnected without sending a response (injected drop)"
        )
    while (await request.receive())["type"] != "http.disconnect":
        pass


def _header_rules(extra: dict[bytes, bytes]) -> list[FaultRule]:
    """The fault rules of ``X-Mock-Latency`` and ``X-Mock-Fault`` (for this request only)."""
    rules = []
    for header, label, prefix in ((b"x-mock-latency", "X-Mock-Latency", "latency="),
                                  (b"x-mock-fault", "X-Mock-Fault", "")):  # fmt: skip
        value = extra.get(header)
        if value is not None:
            try:
                rules.append(parse_rule(prefix + value.decode("latin-1"), operation=False))
            except ValueError as exc:
                raise BadRequest(f"{label}: {exc}", field=f"header.{label}") from None
    return rules


def _query(raw: bytes) -> dict[str, list[str]]:
    """The query string as Starlette reads it (``parse_qsl``, blanks kept), faster when
    nothing in it is escaped, as in nearly every request."""
    text = raw.decode("latin-1")
    query: dict[str, list[str]] = {}
    if "%" in text or "+" in text:
        pairs = parse_qsl(text, keep_blank_values=True)
    else:
        pairs = [part.partition("=")[::2] for part in text.split("&") if part]
    for key, value in pairs:
        query.setdefault(key, []).append(value)
    return query


class _JSON(Response):
    """A JSON answer whose headers are built directly: Starlette's ``init_headers`` is a
    tenth of the request path of a GET."""

    media_type = JSON

    def __init__(self, body: bytes, status_code: int = 200) -> None:
        self.body, self.status_code, self.background = body, status_code, None
        self.raw_headers = [
            (b"content-length", str(len(body)).encode()),
            (b"content-type", b"application/json"),
        ]


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
        return error_response(GoEventError(problem, code="RESPONSE_INVALID"))


def _endpoint(app: Starlette, op: Operation) -> Callable[[Request], Any]:
    handler = HANDLERS.get(op.operation_id)
    settings: Settings = app.state.settings
    boxes: Boxes = app.state.boxes
    validator = OperationValidator(op, settings.max_body_bytes)
    checker: ResponseChecker | None = app.state.checker
    if handler is None:
        # An operation the fake has no behaviour for (a newer spec): serve its example.
        handler = _example_handler(op)
    operation = op.operation_id
    base = len(app.state.spec.base_path)
    # Idempotency-Key applies to the one operation that changes state (our extension).
    idempotent = operation == "createTickets"
    has_body = op.request_schema is not None

    def answer(request: Request, box: Box, token: str, organizer: Any, raw: bytes,
               extra: dict[bytes, bytes] | None) -> tuple[int, bytes, bool]:  # fmt: skip
        query = _query(request.scope["query_string"])
        params = validator.parameters(query, request.path_params)
        body = validator.body(raw, request.headers.get("content-type")) if has_body else None
        call = Call(box.store, app.state.renderer, box.signer, organizer, params, body, request)
        header = extra.get(b"idempotency-key") if idempotent and extra else None
        if header is None:
            return 200, handler(call), False
        idem, print_, now = check_key(header.decode("latin-1")), fingerprint(body), box.now()
        seen = box.idempotency.lookup(token, idem, print_, now)
        if seen is not None:
            return seen.status, seen.payload, True
        try:
            payload = handler(call)
        except GoEventError as error:
            box.idempotency.remember(token, idem, print_, error.status,
                                     orjson.dumps(error.to_body()), now)  # fmt: skip
            raise
        box.idempotency.remember(token, idem, print_, 200, payload, now)
        return 200, payload, False

    async def endpoint(request: Request) -> Response:
        started = perf_counter()
        auth, extra = _headers(request.scope["headers"])
        box, raw, quota, injection, replayed = boxes.default, b"", None, None, False
        response: Response | None = None
        try:
            token = _token(auth)
            box, organizer = boxes.resolve(token)
            if box.guarded or extra is not None:
                if box.limiter is not None:
                    quota = box.limiter.hit(token, box.now())
                    if not quota.allowed:
                        raise TooManyRequests(
                            f"rate limit of {box.limiter.limit.describe()} per token reached; "
                            f"retry in {quota.retry_after} s",
                            retry_after=quota.retry_after,
                        )
                rules = _header_rules(extra) if extra is not None else ()
                injection = box.faults.plan(operation, rules) if box.guarded or rules else None
                if injection is not None:
                    if injection.latency:
                        await anyio.sleep(injection.latency)
                    if injection.error is not None:
                        raise injection.error
                    if injection.drop == "before":
                        response = Response(status_code=500)  # never sent
            if response is None:
                if has_body:
                    raw = await _read_body(request, settings.max_body_bytes)
                try:
                    status, payload, replayed = answer(request, box, token, organizer, raw, extra)
                except GoEventError as error:
                    response = _checked(checker, op, error.status, error) or error_response(error)
                else:
                    response = _checked(checker, op, status, payload) or _JSON(payload, status)
                    if replayed:
                        response.headers["Idempotent-Replayed"] = "true"
        except GoEventError as error:
            response = error_response(error)
        if quota is not None:
            response.headers.update(quota.headers())
        dropped = injection is not None and injection.drop is not None
        if box.journal is not None:
            box.journal.record(box.store.clock.now(), operation, op.method,
                               request.scope["path"][base:], request.scope["query_string"], raw,
                               None if dropped else response.status_code, started, auth,
                               injection.description if injection else None, replayed)  # fmt: skip
        if dropped:
            await _drop_connection(request)
        return response

    return endpoint


def _checked(
    checker: ResponseChecker | None, op: Operation, status: int, payload: bytes | GoEventError
) -> Response | None:
    """``--validate-responses``: the 500 that replaces an answer the spec does not allow."""
    if checker is None:
        return None
    body = orjson.dumps(payload.to_body()) if isinstance(payload, GoEventError) else payload
    return checker.check(op, status, body)


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
        message = f"{request.method} is not allowed on {request.url.path}; allowed: {allowed}"
        response = error_response(MethodNotAllowed(message))
        response.headers["Allow"] = allowed
        return response
    if exc.status_code == 404:
        return error_response(NotFound(f"no such path: {request.method} {request.url.path}"))
    return error_response(BadRequest(str(exc.detail), status=exc.status_code))


async def _goevent_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GoEventError)
    return error_response(exc)


async def _server_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, _connection_dropped()):
        return Response(status_code=500)  # a deliberate fault: re-raised into the client, unlogged
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response(GoEventError(f"the fake failed: {exc!r}"))


class FakeApp(Starlette):
    """Starlette, with the spec's operations dispatched before its router.

    The GoEvent paths are the hot path of every client's test run: a dict lookup (or one
    regex for a path with parameters) sends them straight to their endpoint, skipping
    Starlette's middleware and route scan (~25% of a GET /events). Anything else (the
    control endpoints, a wrong method, an unknown path) goes through Starlette as usual,
    and ``app.routes`` still lists every operation.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._exact: dict[tuple[str, str], Callable[[Request], Any]] = {}
        self._templated: list[tuple[str, re.Pattern[str], Callable[[Request], Any]]] = []

    def add_operation(self, method: str, path: str, endpoint: Callable[[Request], Any]) -> None:
        if "{" not in path:
            self._exact[(method, path)] = endpoint
            return
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path))
        self._templated.append((method, re.compile(pattern), endpoint))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            method, path = scope["method"], scope["path"]
            endpoint, params = self._exact.get((method, path)), None
            if endpoint is None:
                for wanted, pattern, candidate in self._templated:
                    found = pattern.fullmatch(path) if wanted == method else None
                    if found is not None:
                        endpoint, params = candidate, found.groupdict()
                        break
            if endpoint is not None:
                scope["app"] = self
                scope["path_params"] = params or {}
                request = Request(scope, receive)
                try:
                    response = await endpoint(request)
                except Exception as exc:  # what Starlette's ServerErrorMiddleware would do
                    if isinstance(exc, _connection_dropped()):
                        raise  # an injected drop, in-process: the client must see it raised
                    response = await _server_error(request, exc)
                await response(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


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
    app = FakeApp(
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
    # Built once for all operations: it compiles a validator per documented response.
    app.state.checker = ResponseChecker(spec) if settings.validate_responses else None
    app.state.signer = TicketSigner(settings.signing_secret())
    app.state.boxes = make_boxes(settings, app.state.store, spec, app.state.signer)
    routes: list[BaseRoute] = []
    for op in spec.operations:
        endpoint = _endpoint(app, op)
        app.add_operation(op.method, spec.base_path + op.path, endpoint)
        routes.append(
            Route(spec.base_path + op.path, endpoint, methods=[op.method], name=op.operation_id)
        )
    routes.append(Mount("/_mock", routes=control_routes(app)))
    app.router.routes.extend(routes)
    # A 307 to the slash-less path would be a Starlette-ism the live API is not
    # known to have: "/events/" is an unknown path, answered 404 in the Error shape.
    app.router.redirect_slashes = False
    return app
