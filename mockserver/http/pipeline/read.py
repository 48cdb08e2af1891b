"""Step 3, read and validate: the query, the path parameters and the body, checked
against the operation's parameters and request schema (``http/validation.py``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import ClientDisconnect, Request

from ...spec import Operation
from ..body import read_body
from ..validation import OperationValidator

__all__ = ["Reader", "header", "parse_query"]


class Reader:
    """Reads the requests of one operation."""

    def __init__(self, op: Operation, max_body_bytes: int) -> None:
        self.validator = OperationValidator(op)
        self.has_body = op.request_schema is not None
        self.max_body_bytes = max_body_bytes

    async def raw_body(self, request: Request) -> bytes:
        """The body as sent (b"" for an operation without one); 413 over the limit
        (``http/body.py``, the one body reader)."""
        if not self.has_body:
            return b""
        raw = await read_body(request.scope, request.receive, self.max_body_bytes)
        if raw is None:
            raise ClientDisconnect()
        return raw

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
