"""``GET/PUT/DELETE /_mock/ratelimit``: the per-token rate limit (``mockserver/ratelimit.py``)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ...ratelimit import RateLimit
from ...sandbox import Box
from ..responses import json_response
from .common import box_of, json_body, object_body

__all__ = ["ratelimit"]


async def ratelimit(request: Request) -> Response:
    """The box's rate limit: show (GET), set (PUT ``limit``, ``window``, ``mode``), remove
    (DELETE). Every change starts the counts over."""
    box = box_of(request)
    if request.method == "PUT":
        data = object_body(await json_body(request), ("limit", "window", "mode"))
        box.set_rate_limit(RateLimit.from_json(data))
    elif request.method == "DELETE":
        box.set_rate_limit(None)
    return json_response(_limit_json(box))


def _limit_json(box: Box) -> dict[str, Any]:
    limiter = box.limiter
    state = {"enabled": limiter is not None, "sandbox": box.id or None}
    return state | (limiter.limit.to_json() if limiter is not None else {})
