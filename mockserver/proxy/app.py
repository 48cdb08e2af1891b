"""The proxy as an ASGI app: forward unchanged, answer unchanged, hand the exchange to the monitor.

>>> options = ProxyOptions("https://cloud.goevent.live/developers/v1.0")
>>> app = create_proxy_app(options)  # doctest: +SKIP

Control endpoints (outside the API, under ``/_proxy``):

- ``GET /_proxy/report`` (Markdown), ``/_proxy/report.json``, ``/_proxy/report.xml``
  (JUnit): the report so far, live;
- ``POST /_proxy/write``: write the report files and the recording now.

Everything else is forwarded: a path under the API prefix goes to the same
path under the upstream's prefix, any other path to the upstream's origin.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import zlib
from collections.abc import AsyncIterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpcore
import orjson
from starlette.types import Receive, Scope, Send

from ..drift.contract import load_contract
from ..errors import BadGateway, GatewayTimeout, NotFound, PayloadTooLarge
from ..http.body import read_body
from ..http.responses import error_response
from .exchange import TOKEN_VAR, Exchange, Router
from .monitor import Monitor, MonitorOptions

__all__ = [
    "MAX_CAPTURE",
    "MAX_REQUEST_BODY",
    "ProxyApp",
    "ProxyOptions",
    "create_proxy_app",
]


MAX_CAPTURE = 1024 * 1024  # bytes of one answer kept for checking; a bigger one is not checked
MAX_REQUEST_BODY = 16 * 1024 * 1024  # a request body past this is refused with 413
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"trailers",
        b"transfer-encoding",
        b"upgrade",
    }
)
CONTROL = "/_proxy"
# The upstream gave no (complete) answer: connection refused or reset, not HTTP, and so on.
UPSTREAM_ERRORS = (
    httpcore.NetworkError,
    httpcore.ProtocolError,
    httpcore.UnsupportedProtocol,
    httpcore.ConnectionNotAvailable,
    httpcore.TimeoutException,
    OSError,
)


@dataclass(frozen=True)
class ProxyOptions:
    """What one proxy does. ``upstream`` is the upstream's API prefix (``…/developers/v1.0``)."""

    upstream: str
    timeout: float = 30.0
    report: Path | None = None
    json: Path | None = None
    junit: Path | None = None
    record: Path | None = None
    fail_on_additive: bool = True
    record_salt: str | None = field(default=None, repr=False)

    def monitor_options(self) -> MonitorOptions:
        return MonitorOptions(
            upstream=self.upstream.rstrip("/"),
            report=self.report,
            json=self.json,
            junit=self.junit,
            record=self.record,
            fail_on_additive=self.fail_on_additive,
            salt=(self.record_salt or "").encode(),
        )


class ProxyApp:
    """The validating reverse proxy (see the module's doc)."""

    def __init__(self, options: ProxyOptions, monitor: Monitor | None = None) -> None:
        split = urlsplit(options.upstream.rstrip("/"))
        if split.scheme not in ("http", "https") or not split.netloc:
            raise ValueError(
                f"--upstream must be an http(s) URL ending with the API prefix, e.g. "
                f"https://cloud.goevent.live/developers/v1.0; got {options.upstream!r}"
            )
        self.options = options
        self.contract = load_contract()
        self.base = self.contract.spec.base_path
        self.upstream = options.upstream.rstrip("/")
        self.origin = f"{split.scheme}://{split.netloc}"
        self.router = Router(self.contract)
        self.monitor = monitor or Monitor(options.monitor_options(), self.contract)
        self._key = os.urandom(32)  # keys the token hashes; lives in memory only
        self._pool: httpcore.AsyncConnectionPool | None = None
        split_port = split.port or (443 if split.scheme == "https" else 80)
        self._target = (split.scheme.encode(), (split.hostname or "").encode(), split_port)
        self._prefix = split.path.rstrip("/").encode()
        self._host = split.netloc.rsplit("@", 1)[-1].encode()
        self._timeouts = dict.fromkeys(("connect", "read", "write", "pool"), options.timeout)
        self._seq = 0

    def _http(self) -> httpcore.AsyncConnectionPool:
        # httpx's own connection layer, without httpx's request and URL models: the same
        # HTTP/1.1 engine at about two thirds of the CPU per request (docs/benchmarks.md).
        if self._pool is None:
            self._pool = httpcore.AsyncConnectionPool(
                max_connections=200, max_keepalive_connections=50, keepalive_expiry=60
            )
        return self._pool

    async def aclose(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()
            self._pool = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        if path.startswith(CONTROL + "/") or path == CONTROL:
            await self._control(scope, receive, send)
            return
        await self._forward(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _respond(
        self, send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> None:
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _control(self, scope: Scope, receive: Receive, send: Send) -> None:
        path, method = scope["path"], scope["method"]
        kinds = {
            "/_proxy/report": ("markdown", b"text/markdown; charset=utf-8"),
            "/_proxy/report.json": ("json", b"application/json"),
            "/_proxy/report.xml": ("junit", b"application/xml"),
        }
        if path in kinds and method == "GET":
            kind, media = kinds[path]
            text = await asyncio.to_thread(self.monitor.render, kind)
            body = text.encode()
            await self._respond(
                send,
                200,
                [(b"content-type", media), (b"content-length", str(len(body)).encode())],
                body,
            )
            return
        if path == "/_proxy/write" and method == "POST":
            written = await asyncio.to_thread(self.monitor.write)
            body = orjson.dumps({"written": written})
            await self._respond(
                send,
                200,
                [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
                body,
            )
            return
        allowed = (
            "GET /_proxy/report, GET /_proxy/report.json, GET /_proxy/report.xml, "
            "POST /_proxy/write"
        )
        error = NotFound(f"{method} {path} is not a proxy endpoint; the proxy has {allowed}")
        await error_response(error)(scope, receive, send)

    async def _forward(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        raw_path: bytes = scope.get("raw_path") or path.encode()
        query: bytes = scope.get("query_string", b"")
        in_api = path == self.base or path.startswith(self.base + "/")
        target = raw_path[len(self.base) :] if in_api else raw_path
        target = (self._prefix if in_api else b"") + target + (b"?" + query if query else b"")
        url = self.origin + target.decode("latin-1")
        headers = [
            (k, v)
            for k, v in scope["headers"]
            if k.lower() not in HOP_BY_HOP and k.lower() != b"host"
        ]
        try:
            body = await read_body(scope, receive, MAX_REQUEST_BODY)
        except PayloadTooLarge as exc:
            await error_response(exc)(scope, receive, send)
            return
        if body is None:
            return
        scheme, host, port = self._target
        headers.insert(0, (b"host", self._host))
        if body and not any(k.lower() == b"content-length" for k, _ in headers):
            headers.append((b"content-length", str(len(body)).encode()))  # was chunked
        request = httpcore.Request(
            scope["method"],
            httpcore.URL(scheme=scheme, host=host, port=port, target=target),
            headers=headers,
            content=body if body else None,
            extensions={"timeout": self._timeouts},
        )
        try:
            response = await self._http().handle_async_request(request)
        except httpcore.TimeoutException as exc:
            self.monitor.no_answer()
            message = (
                f"the upstream {self.origin} gave no answer within {self.options.timeout:g} s "
                f"({type(exc).__name__}); nothing was received, so nothing is forwarded"
            )
            await error_response(GatewayTimeout(message))(scope, receive, send)
            return
        except UPSTREAM_ERRORS as exc:
            self.monitor.no_answer()
            message = (
                f"the upstream {self.origin} could not be reached ({type(exc).__name__}); "
                "check --upstream and that it is up"
            )
            await error_response(BadGateway(message))(scope, receive, send)
            return
        captured: list[bytes] = []
        size = 0
        complete = True
        try:
            out = [(k, v) for k, v in response.headers if k.lower() not in HOP_BY_HOP]
            await send({"type": "http.response.start", "status": response.status, "headers": out})
            assert isinstance(response.stream, AsyncIterable)
            async for chunk in response.stream:
                if size <= MAX_CAPTURE:
                    size += len(chunk)
                    captured.append(chunk)
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except UPSTREAM_ERRORS:
            complete = False  # the upstream broke off mid-answer: the client sees it end short
        finally:
            await response.aclose()
        if in_api and complete:
            self._hand_over(
                scope,
                path[len(self.base) :],
                query,
                url,
                headers,
                body,
                response,
                b"".join(captured) if size <= MAX_CAPTURE else None,
            )

    def _hand_over(
        self,
        scope: Scope,
        path: str,
        query: bytes,
        url: str,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        response: httpcore.Response,
        content: bytes | None,
    ) -> None:
        auth = next((v for k, v in headers if k.lower() == b"authorization"), None)
        token_id = None
        secret = b""
        if auth is not None:
            token_id = hmac.new(self._key, auth, hashlib.sha256).hexdigest()[:16]
            secret = auth.split(b" ", 1)[-1].strip()
        query_text = query.decode("latin-1")
        request_body: bytes | None = body
        if len(secret) >= 4:
            # A token pasted into the URL or the body is masked before anything keeps it.
            mask = TOKEN_VAR
            text_secret = secret.decode("latin-1")
            query_text = query_text.replace(text_secret, mask)
            url = url.replace(text_secret, mask)
            request_body = body.replace(secret, mask.encode())
        answer = {k.lower(): v for k, v in response.headers}
        encoding = answer.get(b"content-encoding", b"").decode("latin-1").lower()
        if content is not None and encoding in ("gzip", "deflate"):
            try:
                content = zlib.decompress(
                    content, 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
                )
            except zlib.error:
                content = None
        elif encoding not in ("", "identity"):
            content = None
        self._seq += 1
        method = scope["method"]
        self.monitor.submit(
            Exchange(
                seq=self._seq,
                method=method,
                path=path,
                query=query_text,
                url=url,
                token_id=token_id,
                request_body=request_body if len(body) <= MAX_CAPTURE else None,
                status=response.status,
                content_type=answer.get(b"content-type", b"").decode("latin-1"),
                body=content,
                at=datetime.now(UTC),
                retry_after=(
                    answer[b"retry-after"].decode("latin-1") if b"retry-after" in answer else None
                ),
                route=self.router.match(method, path),
            )
        )


def create_proxy_app(options: ProxyOptions, monitor: Monitor | None = None) -> ProxyApp:
    """The proxy's ASGI app (see :class:`ProxyApp`); serve it like any ASGI app."""
    return ProxyApp(options, monitor)
