"""Step 3, read and validate: the query, the path parameters and the body, checked
against the operation's parameters and request schema (``http/validation.py``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import ClientDisconnect, Request

from ...errors import PayloadTooLarge
from ...spec import Operation
from ..validation import OperationValidator

__all__ = ["Reader", "header", "parse_query", "read_body"]


class Reader:
    """Reads the requests of one operation."""

    def __init__(self, op: Operation, max_body_bytes: int) -> None:
        self.validator = OperationValidator(op, max_body_bytes)
        self.has_body = op.request_schema is not None
        self.max_body_bytes = max_body_bytes

    async def raw_body(self, request: Request) -> bytes:
        """The body as sent (b"" for an operation without one); 413 over the limit."""
        return await read_body(request, self.max_body_bytes) if self.has_body else b""

    def parameters(self, request: Request) -> dict[str, Any]:
        """The query and path parameters, checked and converted (or a 400)."""
        query = parse_query(request.scope["query_string"])
        return self.validator.parameters(query, request.path_params)

    def body(self, request: Request, raw: bytes) -> Any:
        """The body, parsed and checked against the request schema (or a 400)."""
        if not self.has_body:
            return None
        return self.validator.body(raw, header(request, b"content-type"))


def parse_query(raw: bytes) -> dict[str, list[str]]:
    """The query string as Starlette reads it (``parse_qsl``, blanks kept), faster when
    nothing in it is escaped, as in nearly every request."""
    text = raw.decode("latin-1")
    query: dict[str, list[str]] = {}
    if "%" in text or "+" in text:
        pairs = parse_qsl(text, keep_blank_values=True)
    else:
        pairs = [part.partition("=")[::2] for part in text.split("&") if part]
    for key, value in pairs:
        query.setdefault(key, []).append(value)
    return query


def header(request: Request, name: bytes) -> str | None:
    """The first header ``name`` (lowercase, as ASGI gives them), as Starlette's
    ``request.headers.get`` reads it, without building its ``Headers`` for one lookup."""
    key: bytes
    value: bytes
    for key, value in request.scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


async def read_body(request: Request, limit: int) -> bytes:
    """The body, at most ``limit`` bytes (else 413, before reading it when it says so).

    The ASGI messages are read as Starlette's ``request.stream()`` reads them, without
    its async generator: a fifth of the cost of reading a purchase's body."""
    declared = header(request, b"content-length") or ""
    expected = int(declared) if declared.isdigit() else -1
    if expected > limit:
        raise PayloadTooLarge(f"the request body is {declared} bytes; the limit is {limit} bytes")
    chunks, size, receive = [], 0, request.receive
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        if message["type"] != "http.request":
            continue
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the request body is over the limit of {limit} bytes")
        chunks.append(chunk)
        # All that Content-Length announced is here: done, without waiting for the last,
        # empty message (granian sends the body, then that, a second round trip).
        if size == expected or not message.get("more_body", False):
            return b"".join(chunks)
