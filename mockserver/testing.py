"""Talking to the fake from Python tests without a socket."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import anyio.from_thread
import httpx
from starlette.types import ASGIApp

__all__ = ["SyncASGITransport", "asgi_client", "serve_in_thread"]


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


@contextmanager
def serve_in_thread(app: ASGIApp, host: str = "127.0.0.1", timeout: float = 10.0) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free port of ``host``; yields ``http://host:port``.

    The server is ready when the context is entered and stopped when it is left.

    >>> with serve_in_thread(create_app()) as root:  # doctest: +SKIP
    ...     httpx.get(root + "/_mock/health").status_code
    200
    """
    import socket
    import threading
    import time

    import uvicorn

    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    try:
        while not server.started:  # readiness, not a fixed sleep
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not start on {host}:{port} within {timeout} s")
            time.sleep(0.005)
        yield f"http://{'[' + host + ']' if ':' in host else host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout)
        sock.close()
