"""Control endpoints for users' own test suites, under ``/_mock``.

===============================  ===============================================
``GET/DELETE /_mock/journal``    the requests answered (``?operation=``, ``?status=``,
                                 ``?since=SEQ``: only the entries after that one)
``GET/POST/PUT/DELETE .../faults``  injected latency, errors, dropped connections
``GET/PUT/DELETE .../ratelimit``    the per-token rate limit
``GET/POST /_mock/clock``        the fake's now: freeze, advance, unfreeze
``GET/DELETE /_mock/sandboxes``  the sandboxes created by ``sandbox-…`` tokens
===============================  ===============================================

Each acts on the sandbox named by ``Authorization: Bearer sandbox-…`` (or
``?token=``), else on the default data set.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..errors import BadRequest, GoEventError, InvalidJSON
from ..faults import FaultRule, rule_from_json
from ..ratelimit import MODES, RateLimit
from ..sandbox import Box, Boxes
from ..store.ids import parse_date

__all__ = ["box_of", "json_body", "json_response", "tool_routes"]

JSON = "application/json"
# Dates a ticket link (now + 7 days, in Unix seconds) can always be written for.
EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=UTC), datetime(3000, 1, 1, tzinfo=UTC)
_STATUS = re.compile(r"^(?:[1-5][0-9][0-9]|[1-5]xx|dropped)$")


def json_response(value: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(value), status, media_type=JSON)


async def json_body(request: Request) -> Any:
    """The request's JSON body; an empty or malformed one is a 400 that says so."""
    raw = await request.body()
    if not raw.strip():
        raise BadRequest("the request body is empty; send a JSON object", field="body")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidJSON(f"the request body is not valid JSON: {exc}", field="body") from exc


def _object(data: Any, known: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise BadRequest(f"the body must be a JSON object with {', '.join(known)}", field="body")
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise BadRequest(
            f"body.{unknown[0]} is not allowed here; allowed fields: {', '.join(known)}",
            field=f"body.{unknown[0]}",
        )
    return data


def box_of(boxes: Boxes, request: Request) -> Box:
    """The box a control request names: ``?token=``, else its bearer token, else the default."""
    token = request.query_params.get("token")
    if token is None:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        token = value.strip() if scheme.lower() == "bearer" else None
    return boxes.for_token(token)


def _journal_off() -> GoEventError:
    return GoEventError("the journal is off (--journal-max 0)", code="JOURNAL_DISABLED", status=409)


def tool_routes(app: Starlette) -> list[BaseRoute]:
    boxes: Boxes = app.state.boxes
    operations = sorted(op.operation_id for op in app.state.spec.operations)

    # -- journal -------------------------------------------------------------

    async def journal(request: Request) -> Response:
        box = box_of(boxes, request)
        if box.journal is None:
            raise _journal_off()
        if request.method == "DELETE":
            return json_response({"cleared": box.journal.clear(), "sandbox": box.id or None})
        operation = request.query_params.get("operation")
        if operation is not None and operation not in operations:
            raise BadRequest(
                f'query parameter "operation" must be one of {", ".join(operations)}, '
                f"got {operation[:60]!r}",
                field="query.operation",
            )
        raw_status = request.query_params.get("status")
        status: int | str | None = raw_status
        if raw_status is not None:
            if not _STATUS.match(raw_status):
                raise BadRequest(
                    'query parameter "status" must be a status (429), a class (4xx) or '
                    f'"dropped", got {raw_status[:20]!r}',
                    field="query.status",
                )
            status = int(raw_status) if raw_status.isdigit() else raw_status
        entries = box.journal.entries(operation, status)
        raw_since = request.query_params.get("since")
        if raw_since is not None:
            # The dashboard's live feed asks only for what it has not seen yet.
            if not raw_since.isdigit() or len(raw_since) > 18:
                raise BadRequest(
                    'query parameter "since" must be a sequence number (0 or more), '
                    f"got {raw_since[:20]!r}",
                    field="query.since",
                )
            entries = [e for e in entries if e.seq > int(raw_since)]
        return json_response({
            "entries": [e.to_json() for e in entries],
            "count": len(entries),
            "dropped": box.journal.dropped,
            "max": box.journal.max_entries,
            "sandbox": box.id or None,
        })  # fmt: skip

    # -- faults --------------------------------------------------------------

    def faults_json(box: Box) -> dict[str, Any]:
        return {
            "seed": box.faults.seed,
            "rules": [r.to_json() for r in box.faults.rules],
            "sandbox": box.id or None,
        }

    def rule(data: Any, where: str) -> FaultRule:
        try:
            return rule_from_json(data, operations)
        except ValueError as exc:
            raise BadRequest(str(exc), field=where, code="INVALID_FAULT") from None

    async def faults(request: Request) -> Response:
        box = box_of(boxes, request)
        if request.method == "POST":
            added = box.faults.add(rule(await json_body(request), "body"))
            box.refresh()
            return json_response(added.to_json(), 201)
        if request.method == "PUT":
            data = _object(await json_body(request), ("seed", "rules"))
            rules, seed = data.get("rules", []), data.get("seed")
            if not isinstance(rules, list):
                raise BadRequest("body.rules must be an array of faults", field="body.rules")
            if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
                raise BadRequest(f"body.seed must be an integer, got {seed!r}", field="body.seed")
            parsed = [rule(r, f"body.rules[{i}]") for i, r in enumerate(rules)]
            box.faults.replace(parsed, seed)
        elif request.method == "DELETE":
            box.faults.replace([])
        box.refresh()
        return json_response(faults_json(box))

    # -- rate limit ------------------------------------------------------------

    def limit_json(box: Box) -> dict[str, Any]:
        limiter = box.limiter
        state = {"enabled": limiter is not None, "sandbox": box.id or None}
        return state | (limiter.limit.to_json() if limiter is not None else {})

    async def ratelimit(request: Request) -> Response:
        box = box_of(boxes, request)
        if request.method == "PUT":
            data = _object(await json_body(request), ("limit", "window", "mode"))
            count, window, mode = data.get("limit"), data.get("window"), data.get("mode", "fixed")
            if not isinstance(count, int) or isinstance(count, bool):
                raise BadRequest(
                    f"body.limit must be an integer, got {count!r}", field="body.limit"
                )
            if not isinstance(window, str):
                raise BadRequest(
                    f'body.window must be a duration such as "60s" or "1m", got {window!r}',
                    field="body.window",
                )
            if mode not in MODES:
                raise BadRequest(
                    f"body.mode must be fixed or sliding, got {mode!r}", field="body.mode"
                )
            try:
                box.set_rate_limit(RateLimit.parse(f"{count}/{window}", mode))
            except ValueError as exc:
                raise BadRequest(str(exc), field="body") from None
        elif request.method == "DELETE":
            box.set_rate_limit(None)
        return json_response(limit_json(box))

    # -- clock ---------------------------------------------------------------

    async def clock(request: Request) -> Response:
        box = box_of(boxes, request)
        the_clock = box.store.clock
        if request.method == "POST":
            data = _object(await json_body(request), ("freeze", "advance", "unfreeze"))
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
            if data.get("unfreeze"):
                the_clock.unfreeze()
            if "freeze" in data:
                the_clock.freeze(now)
            if advance:
                the_clock.advance(timedelta(seconds=advance))
        return json_response(the_clock.describe() | {"sandbox": box.id or None})

    # -- sandboxes -------------------------------------------------------------

    async def sandboxes(request: Request) -> Response:
        if request.method == "DELETE":
            return json_response({"forgotten": boxes.forget()})
        return json_response({
            "prefix": boxes.prefix,
            "max": boxes.max_sandboxes,
            "sandboxes": [b.describe() for b in boxes.sandboxes()],
        })  # fmt: skip

    return [
        Route("/journal", journal, methods=["GET", "DELETE"]),
        Route("/faults", faults, methods=["GET", "POST", "PUT", "DELETE"]),
        Route("/ratelimit", ratelimit, methods=["GET", "PUT", "DELETE"]),
        Route("/clock", clock, methods=["GET", "POST"]),
        Route("/sandboxes", sandboxes, methods=["GET", "DELETE"]),
    ]
