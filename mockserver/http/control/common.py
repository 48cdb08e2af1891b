"""What every control endpoint shares: the box a request names, and its JSON body."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from ...errors import BadRequest, InvalidJSON
from ...sandbox import Box
from ..state import fake_state

__all__ = ["box_of", "json_body", "object_body"]


def box_of(request: Request) -> Box:
    """The box a control request names: ``?token=``, else its bearer token, else the default."""
    token = request.query_params.get("token")
    if token is None:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        token = value.strip() if scheme.lower() == "bearer" else None
    return fake_state(request).boxes.for_token(token)


async def json_body(request: Request) -> Any:
    """The request's JSON body; an empty or malformed one is a 400 that says so."""
    raw = await request.body()
    if not raw.strip():
        raise BadRequest("the request body is empty; send a JSON object", field="body")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidJSON(f"the request body is not valid JSON: {exc}", field="body") from exc


def object_body(data: Any, known: tuple[str, ...]) -> dict[str, Any]:
    """``data`` if it is an object holding only ``known`` fields, else a 400 naming the first
    field that is not allowed."""
    if not isinstance(data, dict):
        raise BadRequest(f"the body must be a JSON object with {', '.join(known)}", field="body")
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise BadRequest(
            f"body.{unknown[0]} is not allowed here; allowed fields: {', '.join(known)}",
            field=f"body.{unknown[0]}",
        )
    return data
