"""Reading a request body of bounded size from raw ASGI messages: the one reader, for the
GoEvent operations (``pipeline/read.py``) and for the layers that see a request before
Starlette does (``/_mock``'s access layer, the proxy).

The declared ``Content-Length`` is checked before anything is read, and the bytes are
counted while reading, so a body without a length is cut off at the limit too.
"""

from __future__ import annotations

from starlette.types import Receive, Scope

from ..errors import PayloadTooLarge

__all__ = ["read_body"]


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes | None:
    """The whole body, at most ``limit`` bytes (else a 413); None if the client left."""
    expected = -1
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit():
            expected = int(value)
            if expected > limit:
                raise PayloadTooLarge(
                    f"the request body is {expected} bytes; the limit here is {limit} bytes",
                    field="body",
                )
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        if message["type"] != "http.request":
            continue
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(
                f"the request body is over the limit here of {limit} bytes", field="body"
            )
        chunks.append(chunk)
        # The announced bytes are in: done, without a round trip for the empty last message.
        if size == expected or not message.get("more_body", False):
            return b"".join(chunks)
