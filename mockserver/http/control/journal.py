"""``GET/DELETE /_mock/journal``: the requests answered (``?operation=``, ``?status=``,
``?since=SEQ``: only the entries after that one)."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import Response

from ...errors import BadRequest, GoEventError
from ..responses import json_response
from ..state import fake_state
from .common import box_of

__all__ = ["journal"]

_STATUS = re.compile(r"^(?:[1-5][0-9][0-9]|[1-5]xx|dropped)$")


async def journal(request: Request) -> Response:
    """The box's journal (GET, filtered), or clear it (DELETE)."""
    box = box_of(request)
    if box.journal is None:
        raise GoEventError(
            "the journal is off (--journal-max 0)", code="JOURNAL_DISABLED", status=409
        )
    if request.method == "DELETE":
        return json_response({"cleared": box.journal.clear(), "sandbox": box.id or None})
    operation = request.query_params.get("operation")
    operations = fake_state(request).operation_ids
    if operation is not None and operation not in operations:
        raise BadRequest(
            f'query parameter "operation" must be one of {", ".join(operations)}, '
            f"got {operation[:60]!r}",
            field="query.operation",
        )
    entries = box.journal.entries(operation, _status(request.query_params.get("status")))
    since = _since(request.query_params.get("since"))
    if since is not None:  # the dashboard's live feed asks only for what it has not seen
        entries = [e for e in entries if e.seq > since]
    return json_response({
        "entries": [e.to_json() for e in entries],
        "count": len(entries),
        "dropped": box.journal.dropped,
        "max": box.journal.max_entries,
        "sandbox": box.id or None,
    })  # fmt: skip


def _status(raw: str | None) -> int | str | None:
    """``?status=``: a status (429), a class (4xx) or "dropped"."""
    if raw is None:
        return None
    if not _STATUS.match(raw):
        raise BadRequest(
            'query parameter "status" must be a status (429), a class (4xx) or '
            f'"dropped", got {raw[:20]!r}',
            field="query.status",
        )
    return int(raw) if raw.isdigit() else raw


def _since(raw: str | None) -> int | None:
    """``?since=SEQ``: a sequence number, 0 or more."""
    if raw is None:
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise BadRequest(
            f'query parameter "since" must be a sequence number (0 or more), got {raw[:20]!r}',
            field="query.since",
        )
    return int(raw)
