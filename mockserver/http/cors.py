"""CORS (ours): a browser page on another origin may call the fake.

The live API's CORS is unknown; the fake allows any origin by default, as Prism
does, so a front-end under development can call it from its own dev server.
``--cors-origin`` narrows it to named origins, ``--no-cors`` turns it off. The
layer is Starlette's :class:`~starlette.middleware.cors.CORSMiddleware` around the
whole app (``app.wrap``), so:

- a preflight (``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``) is
  answered by the layer itself, before authentication and ``/_mock``'s access
  control, and changes nothing;
- an ``OPTIONS`` without ``Access-Control-Request-Method`` goes on to the fake and is
  answered as before (405 with ``Allow``);
- every answer to a request with an allowed ``Origin``, errors included (401, 404,
  429, ...), carries ``Access-Control-Allow-Origin``, so the page can read it.

>>> cors_origins(Settings())
['*']
>>> cors_origins(Settings(cors_origin="http://localhost:3000, https://app.example"))
['http://localhost:3000', 'https://app.example']
>>> cors_origins(Settings(cors=False)) is None
True
"""

from __future__ import annotations

import re

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from ..errors import BadRequest
from ..settings import ENV_PREFIX, Settings
from .responses import error_response
from .router import Layer

__all__ = ["ALLOW_HEADERS", "ALLOW_METHODS", "EXPOSE_HEADERS", "cors_layer", "cors_origins"]

# What a browser may send: the token, the purchase's key, the fake's own fault headers
# (Content-Type and the other safelisted headers are always allowed by the middleware).
ALLOW_HEADERS = ("Authorization", "Idempotency-Key", "X-Mock-Fault", "X-Mock-Latency")
# What a page may read beyond the safelisted response headers.
EXPOSE_HEADERS = ("Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining",
                  "X-RateLimit-Reset", "Idempotent-Replayed", "WWW-Authenticate")  # fmt: skip
# Every method the fake serves: the five operations' and /_mock's.
ALLOW_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE")
_ORIGIN = re.compile(r"[a-z][a-z0-9+.-]*://[^/?#\s@]+", re.IGNORECASE)


def cors_origins(settings: Settings) -> list[str] | None:
    """The origins allowed to call the fake (``['*']``: any), or None when CORS is off.

    Raises ValueError, naming the flag, for a value that is not an origin."""
    named = [o.strip() for o in (settings.cors_origin or "").split(",") if o.strip()]
    for origin in named:
        if origin not in ("*", "null") and not _ORIGIN.fullmatch(origin):
            raise ValueError(
                f"--cors-origin ({ENV_PREFIX}CORS_ORIGIN): {origin!r} is not an origin; "
                "an origin is scheme://host[:port] with no path, e.g. http://localhost:3000 "
                '(or "*" for any)'
            )
    if not settings.cors:
        return None  # --no-cors wins over a --cors-origin (from the environment, say)
    # A browser sends its origin without a trailing slash and the host in lower case.
    return [o.lower() if o != "*" else o for o in named] or ["*"]


def cors_layer(origins: list[str]) -> Layer:
    """The CORS layer for ``origins`` (``['*']``: any), for ``app.wrap``."""
    return lambda inner: _Cors(
        inner,
        allow_origins=origins,
        allow_methods=ALLOW_METHODS,
        allow_headers=ALLOW_HEADERS,
        expose_headers=EXPOSE_HEADERS,
    )


def _varying(send: Send) -> Send:
    """``send``, adding ``Vary: Origin`` to the answer (a cache must not hand an answer
    without CORS headers to a page)."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", ()), (b"vary", b"Origin")]
        await send(message)

    return sending


_OTHER = {
    # A public web site calling a fake on a private address: kept out (docs/security.md).
    "private-network": "the fake answers no Private Network Access preflight",
}
_FIELDS = {
    "origin": "header.Origin",
    "method": "header.Access-Control-Request-Method",
    "headers": "header.Access-Control-Request-Headers",
    "private-network": "header.Access-Control-Request-Private-Network",
}


class _Cors(CORSMiddleware):
    """Starlette's CORS middleware, with a refused preflight in the Error shape, and a
    shortcut for requests without ``Origin`` (every non-browser client: the hot path)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for name, _ in scope["headers"]:  # a loop: no generator frame per request
                if name == b"origin":
                    break
            else:
                # Not a CORS request: the middleware would only add "Vary: Origin", through
                # Headers and MutableHeaders (~6 µs of a ~10 µs GET /events). Add it directly.
                await self.app(scope, receive, _varying(send))
                return
        await super().__call__(scope, receive, send)

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code == 200:
            return response
        # The middleware says what it refused: "Disallowed CORS origin, headers".
        refused = bytes(response.body).decode().removeprefix("Disallowed CORS ").split(", ")
        sent = {
            "origin": request_headers.get("origin", ""),
            "method": request_headers.get("access-control-request-method", ""),
            "headers": request_headers.get("access-control-request-headers", ""),
        }
        allowed = {
            "origin": ", ".join(self.allow_origins),
            "method": ", ".join(self.allow_methods),
            "headers": ", ".join(ALLOW_HEADERS) + " and the CORS-safelisted headers",
        }
        message = "CORS preflight refused: " + "; ".join(
            f"{r} {sent[r]!r} is not allowed (allowed: {allowed[r]})" if r in sent
            else f"{r} is not allowed ({_OTHER.get(r, 'never allowed here')})" for r in refused
        )  # fmt: skip
        error = error_response(
            BadRequest(message, code="CORS_REFUSED", field=_FIELDS.get(refused[0]))
        )
        for name, value in response.headers.items():  # Vary, Allow-Methods, Max-Age, ...
            if name not in ("content-type", "content-length"):
                error.headers[name] = value
        return error
