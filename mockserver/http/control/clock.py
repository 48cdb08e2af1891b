"""``GET/POST /_mock/clock``: the fake's now: freeze, advance, unfreeze."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ...errors import BadRequest
from ...store.clock import Clock
from ...store.ids import parse_date
from ..responses import json_response
from .common import box_of, json_body, object_body

__all__ = ["clock"]

# Dates a ticket link (now + 7 days, in Unix seconds) can always be written for.
EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=UTC), datetime(3000, 1, 1, tzinfo=UTC)


async def clock(request: Request) -> Response:
    """The box's clock (GET); POST ``freeze`` (true or a date), ``advance`` (seconds),
    ``unfreeze`` (true) to change it. A refused change changes nothing."""
    box = box_of(request)
    the_clock = box.store.clock
    if request.method == "POST":
        data = object_body(await json_body(request), ("freeze", "advance", "unfreeze"))
        now, advance = _target(data, the_clock)
        if data.get("unfreeze"):
            the_clock.unfreeze()
        if "freeze" in data:
            the_clock.freeze(now)
        if advance:
            the_clock.advance(timedelta(seconds=advance))
    return json_response(the_clock.describe() | {"sandbox": box.id or None})


def _target(data: dict[str, Any], the_clock: Clock) -> tuple[datetime, float]:
    """The now to freeze at (or start from) and the seconds to advance, checked."""
    if not data:
        raise BadRequest("give freeze, advance or unfreeze", field="body")
    freeze, raw_advance = data.get("freeze"), data.get("advance", 0)
    if "unfreeze" in data and data["unfreeze"] is not True:
        raise BadRequest("body.unfreeze must be true", field="body.unfreeze")
    at = None
    if isinstance(freeze, str):
        try:
            at = parse_date(freeze)
        except ValueError:
            at = None
    if "freeze" in data and freeze is not True and at is None:
        raise BadRequest(
            "body.freeze must be true (now) or a date with a zone, "
            f'e.g. "2025-06-01T12:00:00.000Z", got {str(freeze)[:40]!r}',
            field="body.freeze",
        )
    if not isinstance(raw_advance, int | float) or isinstance(raw_advance, bool):
        raw_advance = math.nan
    advance = float(raw_advance)
    if not (math.isfinite(advance) and abs(advance) < 1e10):
        raise BadRequest(
            f"body.advance must be a number of seconds, got {data['advance']!r}",
            field="body.advance",
        )
    now = the_clock.now() if "freeze" not in data else at or the_clock.now()
    if data.get("unfreeze") and "freeze" not in data:
        now = datetime.now(UTC)
    target = now + timedelta(seconds=advance)
    if not EARLIEST <= target <= LATEST:
        raise BadRequest(
            f"the clock must stay between {EARLIEST.year} and {LATEST.year}, "
            f"got {target.isoformat()}",
            field="body",
        )
    return now, advance
