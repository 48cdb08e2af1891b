"""The injected connection drop (``drop`` faults): the one spot that knows how the HTTP
server closes a connection without answering.

It works under any server that runs in this process (granian, uvicorn): the connection
is found among the process's own sockets by the request's two addresses.
"""

from __future__ import annotations

import os
import socket
from functools import cache
from typing import Any

from starlette.requests import Request
from starlette.types import Scope

__all__ = ["connection_dropped", "drop_connection", "is_injected_drop"]


@cache
def connection_dropped() -> type[Exception]:
    """The error an injected ``drop`` raises in-process: what a client on a socket sees as a
    closed connection (``httpx.RemoteProtocolError``). Made on first use: importing httpx
    costs the server ~170 ms of start-up, and only in-process clients (httpx) need it."""
    import httpx

    class ConnectionDropped(httpx.RemoteProtocolError):
        pass

    return ConnectionDropped


def is_injected_drop(exc: BaseException) -> bool:
    """Whether ``exc`` is an injected drop raised in-process (to be re-raised, unlogged)."""
    return isinstance(exc, connection_dropped())


async def drop_connection(request: Request) -> None:
    """Close the client's connection without an answer; in-process (no socket), raise what
    httpx raises for a closed connection."""
    if not _shut_down_socket(request.scope):
        raise connection_dropped()("Server disconnected without sending a response (injected drop)")
    # Wait until the server has seen the disconnect, so that it sends nothing (not even
    # its own 500).
    while (await request.receive())["type"] != "http.disconnect":
        pass


def _shut_down_socket(scope: Scope) -> bool:
    """Close the client's connection of this request without answering: what a crashed
    server or a cut network looks like to the client. False if no such socket is found
    (an in-process client: no socket at all).

    ASGI has no way to close a connection unanswered, and granian hands the app no
    transport; the connection is this process's socket whose two ends are the request's
    ``client`` and ``server`` addresses. Shutting it down makes the server see the client
    gone, and the client see the connection closed with no response.
    """
    client: Any = scope.get("client")
    server: Any = scope.get("server")
    try:
        peer, local = (client[0], int(client[1])), (server[0], int(server[1]))
    except (TypeError, ValueError, IndexError):  # in-process: ("testserver", None)
        return False
    fd_dir = next((d for d in ("/proc/self/fd", "/dev/fd") if os.path.isdir(d)), None)
    if fd_dir is None:  # no list of this process's descriptors (Windows): cannot drop
        return False
    for name in os.listdir(fd_dir):
        try:
            sock = socket.socket(fileno=os.dup(int(name)))
        except (OSError, ValueError):
            continue
        with sock:
            try:
                if sock.type != socket.SOCK_STREAM:
                    continue
                if sock.getpeername()[:2] == peer and sock.getsockname()[:2] == local:
                    sock.shutdown(socket.SHUT_RDWR)
                    return True
            except OSError:
                continue
    return False
