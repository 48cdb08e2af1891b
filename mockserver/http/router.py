"""The router: :class:`FakeApp` sends the spec's operations straight to their endpoints and
everything else through Starlette; it also holds the layers the composition root adds."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from .drop import is_injected_drop
from .responses import EXCEPTION_HANDLERS, server_error
from .state import FakeState

__all__ = ["Endpoint", "FakeApp", "Layer"]

Endpoint = Callable[[Request], Any]  # async: request -> Response
Layer = Callable[[ASGIApp], ASGIApp]  # an ASGI middleware around an app


class FakeApp(Starlette):
    """Starlette, with the spec's operations dispatched before its router.

    The GoEvent paths are the hot path of every client's test run: a dict lookup (or one
    regex for a path with parameters) sends them straight to their endpoint, skipping
    Starlette's middleware and route scan (~25% of a GET /events). Anything else (the
    control endpoints, a wrong method, an unknown path) goes through Starlette as usual,
    and ``app.routes`` still lists every operation.
    """

    def __init__(self, state: FakeState) -> None:
        super().__init__(exception_handlers=EXCEPTION_HANDLERS)
        self.fake = state
        state.attach(self)
        self._exact: dict[tuple[str, str], Endpoint] = {}
        self._templated: list[tuple[str, re.Pattern[str], Endpoint]] = []
        self._outer: ASGIApp | None = None  # the layers around the whole app, if any
        # A 307 to the slash-less path would be a Starlette-ism the live API is not
        # known to have: "/events/" is an unknown path, answered 404 in the Error shape.
        self.router.redirect_slashes = False

    def add_operation(self, method: str, path: str, endpoint: Endpoint, name: str) -> None:
        """Serve ``endpoint`` at ``method`` ``path`` (a spec path, ``{param}`` and all)."""
        self.router.routes.append(Route(path, endpoint, methods=[method], name=name))
        if "{" not in path:
            self._exact[(method, path)] = endpoint
            return
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path))
        self._templated.append((method, re.compile(pattern), endpoint))

    def mount_control(self, app: ASGIApp) -> Mount:
        """Serve ``app`` (the ``/_mock`` router, wrapped or not) under ``/_mock``."""
        mount = Mount("/_mock", app=app)
        self.router.routes.append(mount)
        return mount

    @property
    def control(self) -> Router:
        """The ``/_mock`` router: ``app.control.mount("/ui", dashboard)`` adds a page."""
        for route in self.router.routes:
            if isinstance(route, Mount) and route.path == "/_mock":
                return _router_of(route)
        raise LookupError("no /_mock mount: call mount_control first")

    def wrap_control(self, layer: Layer) -> None:
        """Put ``layer`` around ``/_mock`` (access control, say): every control request
        goes through it."""
        for route in self.router.routes:
            if isinstance(route, Mount) and route.path == "/_mock":
                route.app = layer(route.app)

    def wrap(self, layer: Layer) -> None:
        """Put ``layer`` around the whole app, the GoEvent operations included (CORS, say):
        ``app.wrap(lambda inner: CORSMiddleware(inner, allow_origins=["*"]))``."""
        self._outer = layer(self._outer or self._dispatch)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._outer is not None:
            scope["app"] = self
            await self._outer(scope, receive, send)
        else:
            await self._dispatch(scope, receive, send)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
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
                    response: Response = await endpoint(request)
                except Exception as exc:  # what Starlette's ServerErrorMiddleware would do
                    if is_injected_drop(exc):
                        raise  # an injected drop, in-process: the client must see it raised
                    response = await server_error(request, exc)
                await response(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def _router_of(mount: Mount) -> Router:
    base = getattr(mount, "_base_app", None)
    if not isinstance(base, Router):
        raise LookupError("the /_mock mount does not hold a Router")
    return base
