"""The injected connection drop (``drop`` faults): the one spot that knows how the HTTP
server closes a connection without answering.

Changing the HTTP server means changing :func:`drop_connection` (and nothing else).
"""

from __future__ import annotations

from functools import cache

from starlette.requests import Request

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
    """Close the client's connection without an answer."""
    # ASGI cannot close a connection without answering; uvicorn's receive() is a method of
    # the request cycle, which holds the transport. Close it, then wait until uvicorn has
    # seen the disconnect, so that it sends nothing (not even its own 500).
    transport = getattr(getattr(request.receive, "__self__", None), "transport", None)
    if transport is None or not hasattr(transport, "close"):
        raise connection_dropped()("Server disconnected without sending a response (injected drop)")
    transport.close()
    while (await request.receive())["type"] != "http.disconnect":
        pass
