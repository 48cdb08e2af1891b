"""Who may call ``/_mock``, and how much they may send: the one choke point of the
control endpoints (docs/security.md).

Every request under ``/_mock`` goes through :class:`ControlAccess` before any
control endpoint sees it. With an admin token (``--admin-token``):

- ``GET /_mock/health`` and the signed ticket links (``GET /_mock/tickets/….pdf``,
  ``POST /_mock/tickets/verify``) stay open: readiness probes and ticket holders
  carry no token, and a ticket carries its own signature;
- a sandbox token may call the endpoints a sandbox uses on itself (``SELF``) for
  its own sandbox only: ``?token=`` naming another box is a 403;
- everything else needs ``Authorization: Bearer <admin token>``.

Without one (the fake listens on loopback), ``/_mock`` is open as it always was,
except that a request carrying a sandbox token is still held to its own sandbox.

It also bounds the bodies: ``CONTROL_BODY_BYTES`` for every control endpoint,
``max_fixture_bytes`` for ``POST /_mock/fixtures``. The declared
``Content-Length`` is checked before anything is read, and the bytes are counted
while reading, so a body without a length is cut off at the limit too.

>>> is_loopback("127.0.0.1"), is_loopback("::1"), is_loopback("0.0.0.0")
(True, True, False)
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from collections.abc import Iterable
from urllib.parse import parse_qsl

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import Forbidden, GoEventError, Unauthorized
from ..sandbox import Boxes
from ..settings import Settings
from .body import read_body
from .pipeline.authenticate import authorization
from .responses import error_response

__all__ = [
    "CONTROL_BODY_BYTES",
    "SELF",
    "ControlAccess",
    "admin_token_for",
    "is_loopback",
]

CONTROL_BODY_BYTES = 64 * 1024
# The endpoints a sandbox uses on itself, with its own token.
SELF = frozenset({"/reset", "/state", "/fixtures", "/journal", "/faults", "/ratelimit", "/clock"})
_FIXTURES = "/fixtures"


def is_loopback(host: str) -> bool:
    """``host`` (an address to listen on) is reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def admin_token_for(settings: Settings) -> str | None:
    """The admin token of ``/_mock``: ``--admin-token``; else, when the fake listens beyond
    loopback, a random one (the caller prints it once); else None (open, on loopback)."""
    if settings.admin_token:
        return settings.admin_token
    return None if is_loopback(settings.host) else secrets.token_urlsafe(24)


def _bearer(header: bytes | None) -> str | None:
    if header is None:
        return None
    scheme, _, token = header.decode("latin-1").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _is_open(method: str, path: str) -> bool:
    return (
        (method in ("GET", "HEAD") and path == "/health")
        or (method == "POST" and path == "/tickets/verify")
        or (method in ("GET", "HEAD") and path.startswith("/tickets/") and path.endswith(".pdf"))
        # The dashboard's pages and assets hold no data (they call /_mock with a token),
        # and a browser cannot send a header when it loads them.
        or (method in ("GET", "HEAD") and path.startswith("/ui/"))
    )


class ControlAccess:
    """The ASGI wrapper around the ``/_mock`` routes: access, then body size.

    ``admin_token`` None leaves ``/_mock`` open (loopback). Refusals are answered in the
    Error shape, before the control endpoint runs, so a refused request changes nothing.
    """

    def __init__(
        self,
        app: ASGIApp,
        boxes: Boxes,
        admin_token: str | None,
        *,
        max_fixture_bytes: int,
        max_control_bytes: int = CONTROL_BODY_BYTES,
    ) -> None:
        if admin_token is not None and (
            boxes.is_default_token(admin_token) or boxes.is_sandbox_token(admin_token)
        ):
            # One token, two meanings: every organizer (or sandbox) would be the admin.
            raise ValueError(
                "--admin-token (GOEVENT_MOCK_ADMIN_TOKEN) must differ from every organizer "
                f"token and must not start with the sandbox prefix {boxes.prefix!r}"
            )
        self.app = app
        self.boxes = boxes
        self.admin_token = admin_token
        self.max_fixture_bytes = max_fixture_bytes
        self.max_control_bytes = max_control_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = _route_path(scope)
        try:
            named = self.check(scope["method"], path, scope["headers"], scope["query_string"])
            limit = self.max_fixture_bytes if path == _FIXTURES else self.max_control_bytes
            body = await read_body(scope, receive, limit)
            if named is not None and self.boxes.is_new_sandbox(named):
                # Its data set is generated off the event loop (tens of ms).
                await anyio.to_thread.run_sync(self.boxes.sandbox, named)
        except GoEventError as error:
            await error_response(error)(scope, receive, send)
            return
        if body is None:
            return  # the client went away while sending
        await self.app(scope, _replay(body, receive), send)

    def check(
        self, method: str, path: str, headers: Iterable[tuple[bytes, bytes]], query: bytes
    ) -> str | None:
        """Raise the 401 or 403 the request deserves; if it may go on, return the token
        that names its box (``?token=``, else the bearer token), if any."""
        header = authorization(headers)
        token = _bearer(header)
        named = [v for k, v in parse_qsl(query.decode("latin-1"), keep_blank_values=True)
                 if k == "token"]  # fmt: skip
        box = named[-1] if named else token
        if _is_open(method, path):
            return None
        if self._is_admin(token):
            return box
        if token is not None and self._is_tenant(token):
            self._check_tenant(token, path, named)
            return box
        if self.admin_token is None:
            return box  # loopback, no admin token: open, as always
        if header is None:
            raise Unauthorized(
                f'{method} /_mock{path} needs "Authorization: Bearer <admin token>" '
                "(or a sandbox's own token, for its own sandbox)",
                field="header.Authorization",
            )
        raise Unauthorized(
            f"the token is neither the admin token nor a sandbox token; {method} /_mock{path} "
            'needs "Authorization: Bearer <admin token>"',
            field="header.Authorization",
        )

    def _is_admin(self, token: str | None) -> bool:
        if self.admin_token is None:
            return False
        return token is not None and hmac.compare_digest(
            token.encode("utf-8", "surrogateescape"), self.admin_token.encode()
        )

    def _is_tenant(self, token: str) -> bool:
        return self.boxes.is_sandbox_token(token) and not self.boxes.is_default_token(token)

    def _check_tenant(self, token: str, path: str, named: list[str]) -> None:
        if path not in SELF:
            raise Forbidden(
                f"a sandbox token may call {', '.join(sorted(SELF))} under /_mock for its own "
                f"sandbox; /_mock{path} is the admin's",
                field="header.Authorization",
            )
        if any(v != token for v in named):
            raise Forbidden(
                "a sandbox token acts on its own sandbox only; ?token= names another box "
                "(leave ?token= out, or use the admin token)",
                field="query.token",
            )


def _route_path(scope: Scope) -> str:
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the already read body over once, then the real one's messages
    (a disconnect)."""
    pending = [body]

    async def replayed() -> Message:
        if pending:
            return {"type": "http.request", "body": pending.pop(), "more_body": False}
        return await receive()

    return replayed
