"""Talking to the fake from Python tests without a socket."""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any

import anyio.from_thread
import httpx
from starlette.types import ASGIApp

__all__ = ["SyncASGITransport", "asgi_client"]


class SyncASGITransport(httpx.BaseTransport):
    """An ``httpx`` transport that calls an ASGI app in-process, for a *sync* ``httpx.Client``.

    ``httpx.ASGITransport`` only serves ``httpx.AsyncClient``; this one runs it on an
    event loop in a helper thread, so it also works inside code that has a loop of its own.

    >>> transport = SyncASGITransport(app)  # doctest: +SKIP
    >>> client = httpx.Client(transport=transport, base_url="http://fake")  # doctest: +SKIP
    """

    def __init__(self, app: ASGIApp) -> None:
        self._transport = httpx.ASGITransport(app=app)
        self._stack = ExitStack()
        self._portal: anyio.from_thread.BlockingPortal | None = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self._portal is None:
            self._portal = self._stack.enter_context(anyio.from_thread.start_blocking_portal())
        body = request.read()

        async def send() -> httpx.Response:
            copy = httpx.Request(request.method, request.url, headers=request.headers, content=body)
            response = await self._transport.handle_async_request(copy)
            content = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers, content=content,
                                  request=request)  # fmt: skip

        return self._portal.call(send)

    def close(self) -> None:
        self._stack.close()
        self._portal = None


def asgi_client(app: ASGIApp, base_url: str, **kwargs: Any) -> httpx.Client:
    """A sync ``httpx.Client`` bound to ``app`` in-process, with ``base_url`` (a path on ``http://testserver``)."""
    return httpx.Client(transport=SyncASGITransport(app), base_url=base_url, **kwargs)
