"""Talking to the fake from Python tests without a socket."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from starlette.types import ASGIApp

__all__ = ["SyncASGITransport", "asgi_client", "serve_in_thread"]


class SyncASGITransport(httpx.BaseTransport):
    """An ``httpx`` transport that calls an ASGI app in-process, for a *sync* ``httpx.Client``.

    ``httpx.ASGITransport`` only serves ``httpx.AsyncClient``; this one runs it on an
    event loop in a daemon thread, so it also works inside code that has a loop of its
    own, and a client that is never closed does not keep the interpreter from exiting.

    >>> transport = SyncASGITransport(app)  # doctest: +SKIP
    >>> client = httpx.Client(transport=transport, base_url="http://fake")  # doctest: +SKIP
    """

    def __init__(self, app: ASGIApp) -> None:
        self._transport = httpx.ASGITransport(app=app)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=_run, args=(loop,), name="asgi-client", daemon=True).start()
                self._loop = loop
            return self._loop

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()

        async def send() -> httpx.Response:
            copy = httpx.Request(request.method, request.url, headers=request.headers, content=body)
            response = await self._transport.handle_async_request(copy)
            content = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers, content=content,
                                  request=request)  # fmt: skip

        return asyncio.run_coroutine_threadsafe(send(), self._running_loop()).result()

    def close(self) -> None:
        with self._lock:
            loop, self._loop = self._loop, None
        if loop is not None:
            loop.call_soon_threadsafe(loop.stop)


def _run(loop: asyncio.AbstractEventLoop) -> None:
    try:
        loop.run_forever()
    finally:
        loop.close()


def asgi_client(app: ASGIApp, base_url: str, **kwargs: Any) -> httpx.Client:
    """A sync ``httpx.Client`` bound to ``app`` in-process, with ``base_url`` (a path on ``http://testserver``)."""
    return httpx.Client(transport=SyncASGITransport(app), base_url=base_url, **kwargs)


@contextmanager
def serve_in_thread(app: ASGIApp, host: str = "127.0.0.1", timeout: float = 10.0) -> Iterator[str]:
    """Serve ``app`` as ``goevent-mock serve`` does (granian, in this process) on a free port
    of ``host``; yields ``http://host:port``, ready. Stopped when the context is left.

    >>> with serve_in_thread(create_app()) as root:  # doctest: +SKIP
    ...     httpx.get(root + "/_mock/health").status_code
    200
    """
    from dataclasses import replace

    from .server import serve_in_thread as serve
    from .settings import Settings

    with serve(app, replace(Settings(), host=host, port=0), timeout) as root:
        yield root
