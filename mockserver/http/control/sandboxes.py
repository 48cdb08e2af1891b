"""``GET/DELETE /_mock/sandboxes``: the sandboxes created by ``sandbox-…`` tokens."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ..responses import json_response
from ..state import fake_state

__all__ = ["sandboxes"]


async def sandboxes(request: Request) -> Response:
    """List the sandboxes (GET), or forget them all (DELETE)."""
    boxes = fake_state(request).boxes
    if request.method == "DELETE":
        return json_response({"forgotten": boxes.forget()})
    return json_response({
        "prefix": boxes.prefix,
        "max": boxes.max_sandboxes,
        "sandboxes": [b.describe() for b in boxes.sandboxes()],
    })  # fmt: skip
