"""Serving the fake on a real socket: granian (a Rust HTTP server), one process, one worker.

One worker on purpose: the fake's state (data, journal, faults, sandboxes) lives in this
process, so every request sees every earlier one. ``serve`` is the one way the fake is
served: by ``goevent-mock serve`` (:func:`run`), by the pytest plugin's socket fixture and
the test suites (:func:`serve_in_thread`), by anything else that needs a URL.

>>> from mockserver import Settings, create_app  # doctest: +SKIP
>>> with serve_in_thread(create_app(), Settings(port=0)) as root:  # doctest: +SKIP
...     httpx.get(root + "/_mock/health").status_code
200
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .settings import Settings

__all__ = [
    "Listening",
    "check_bounds",
    "listen",
    "run",
    "serve",
    "serve_in_thread",
]

access_log = logging.getLogger("goevent_mock.access")


@dataclass(frozen=True)
class Listening:
    """Where a served fake answers: ``root`` is ``http://host:port``."""

    host: str
    port: int

    @property
    def root(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


def listen(settings: Settings) -> socket.socket:
    """A socket bound to ``settings.host:port`` and listening (port 0: a free one).

    Bound and listening before anything is printed: a script that reads the banner and
    connects at once is queued in the backlog, never refused.
    """
    check_bounds(settings)
    sock = socket.socket(socket.AF_INET6 if ":" in settings.host else socket.AF_INET)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((settings.host, settings.port))
        sock.listen(settings.backlog)
    except OSError:
        sock.close()
        raise
    return sock


def check_bounds(settings: Settings) -> None:
    # hyper, under granian, refuses a header buffer under 8 KiB (it would panic).
    if settings.max_header_bytes < 8192:
        raise ValueError(f"max_header_bytes must be at least 8192, got {settings.max_header_bytes}")
    if not 0 < settings.header_timeout <= 3600:
        raise ValueError(
            f"header_timeout must be between 0 and 3600 s, got {settings.header_timeout}"
        )
    for name in ("backlog", "max_concurrency"):
        if getattr(settings, name) < 1:
            raise ValueError(f"{name} must be at least 1, got {getattr(settings, name)}")


async def serve(
    app: ASGIApp,
    settings: Settings,
    sock: socket.socket,
    stop: asyncio.Event,
    *,
    on_listening: Callable[[Listening], None] | None = None,
    lifespan: bool = False,
) -> None:
    """Serve ``app`` on ``sock`` (from :func:`listen`) until ``stop`` is set, then finish
    the requests in flight and return. Runs on the caller's event loop, in this process.
    ``lifespan``: run the app's ASGI lifespan (the proxy closes its upstream pool in it;
    the fake needs none)."""
    from granian._granian import SocketHolder
    from granian.constants import HTTPModes, Interfaces
    from granian.http import HTTP1Settings
    from granian.log import LogLevels
    from granian.server.embed import Server

    class _OnSocket(Server):
        # granian binds its own listener; the fake hands it the one it already listens on,
        # so the port is known (port 0) and the banner is true before granian starts. It
        # gets a duplicate: granian closes the descriptor it was given when it stops.
        def _init_shared_socket(self) -> None:
            self._ssp = None
            self._shd = SocketHolder(os.dup(sock.fileno()), False, settings.backlog)  # type: ignore[call-arg,assignment]

    host, port = sock.getsockname()[:2]
    server = _OnSocket(
        _with_access_log(app) if settings.access_log else app,
        address=host,
        port=port,
        interface=Interfaces.ASGI if lifespan else Interfaces.ASGINL,
        http=HTTPModes.http1,
        websockets=False,
        backlog=settings.backlog,
        backpressure=settings.max_concurrency,
        http1_settings=HTTP1Settings(
            header_read_timeout=int(settings.header_timeout * 1000),
            keep_alive=True,
            max_buffer_size=settings.max_header_bytes,
        ),
        log_level=LogLevels.error,  # granian's info lines and its "experimental" warning
    )
    threads = _os_threads()
    if on_listening is not None:
        on_listening(Listening(host, port))
    serving = asyncio.ensure_future(server.serve())
    stopping = asyncio.ensure_future(stop.wait())
    await asyncio.wait([serving, stopping], return_when=asyncio.FIRST_COMPLETED)
    if not serving.done():
        server.stop()  # type: ignore[no-untyped-call]  # granian stops accepting and lets the requests in flight finish
    await serving
    stopping.cancel()
    # granian's own (Rust) threads wind down after serve() returns; an interpreter that
    # ends before they have aborts the process ("panic in a function that cannot unwind").
    # Wait until they are gone, at most 2 s.
    deadline = asyncio.get_running_loop().time() + 2.0
    while threads and _os_threads() > threads and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.01)


def _os_threads() -> int:
    """This process's OS threads (Linux); 0 where they cannot be counted."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return 0


def run(app: ASGIApp, settings: Settings, sock: socket.socket, *, lifespan: bool = False) -> int:
    """Serve in the foreground until SIGINT (Ctrl-C) or SIGTERM; then finish the requests
    in flight, print one line, and return 0. A second signal stops at once."""
    if settings.access_log:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        access_log.addHandler(handler)
        access_log.setLevel(logging.INFO)
    received: list[str] = []

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()

        def on_signal(sig: signal.Signals) -> None:
            received.append(sig.name)
            if stop.is_set() and task is not None:
                task.cancel()  # a second Ctrl-C: do not wait for slow requests
            stop.set()

        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, on_signal, sig)
            except NotImplementedError:  # Windows' event loops
                signal.signal(sig, lambda n, _f: loop.call_soon_threadsafe(
                    on_signal, signal.Signals(n)))  # fmt: skip
        await serve(app, settings, sock, stop, lifespan=lifespan)

    with asyncio.Runner(loop_factory=_loop_factory()) as runner, suppress(asyncio.CancelledError):
        runner.run(main())
    sock.close()
    why = f" ({received[0]})" if received else ""
    print(f"goevent-mock: stopped{why}", flush=True)
    return 0


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency where it installs
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


@contextmanager
def serve_in_thread(
    app: ASGIApp, settings: Settings | None = None, timeout: float = 10.0, *, lifespan: bool = False
) -> Iterator[str]:
    """Serve ``app`` in a daemon thread of this process, on a free port of 127.0.0.1 unless
    ``settings`` say otherwise; yields ``http://host:port``, ready. Stopped on exit."""
    from dataclasses import replace

    settings = settings or replace(Settings(), port=0)
    sock = listen(settings)
    ready = threading.Event()
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    failed: list[BaseException] = []
    where: list[Listening] = []

    def on_listening(listening: Listening) -> None:
        where.append(listening)
        ready.set()

    def main() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(
                serve(app, settings, sock, stop, on_listening=on_listening, lifespan=lifespan)
            )
        except BaseException as exc:  # reported to the caller below
            failed.append(exc)
        finally:
            ready.set()
            loop.close()

    thread = threading.Thread(target=main, name="goevent-mock-server", daemon=True)
    thread.start()
    try:
        if not ready.wait(timeout) or not where:
            raise RuntimeError(f"the fake did not start within {timeout} s: {failed!r}")
        yield where[0].root
    finally:
        if thread.is_alive() and not loop.is_closed():
            with suppress(RuntimeError):  # the loop closed in between: nothing to stop
                loop.call_soon_threadsafe(stop.set)
        thread.join(timeout)
        sock.close()


_TOKEN_VALUE = re.compile(r"((?:^|&)token=)[^&]*", re.IGNORECASE)


def _with_access_log(app: ASGIApp) -> ASGIApp:
    """``app``, logging one line per request: client, method, path and query (the values
    of ``token=`` masked), status, milliseconds. Headers (Authorization) are never logged."""
    from time import perf_counter

    async def logged(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        began, status = perf_counter(), [0]

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await app(scope, receive, sending)
        finally:
            query = scope["query_string"].decode("latin-1")
            query = _TOKEN_VALUE.sub(r"\1***", query)
            target = scope["path"] + ("?" + query if query else "")
            client = scope.get("client") or ("-", "-")
            access_log.info(
                '%s:%s "%s %s HTTP/%s" %s %.1fms', client[0], client[1], scope["method"],
                target, scope["http_version"], status[0] or "-",
                (perf_counter() - began) * 1000,
            )  # fmt: skip

    return logged
