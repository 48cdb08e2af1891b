"""``GET/POST/PUT/DELETE /_mock/faults``: injected latency, errors, dropped connections."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ...errors import BadRequest
from ...faults import FaultRule, rule_from_json
from ...sandbox import Box
from ..responses import json_response
from ..state import fake_state
from .common import box_of, json_body, object_body

__all__ = ["faults"]


async def faults(request: Request) -> Response:
    """The box's fault rules: list (GET), add one (POST), replace all (PUT), clear (DELETE)."""
    box = box_of(request)
    operations = fake_state(request).operation_ids
    if request.method == "POST":
        added = box.faults.add(_rule(await json_body(request), "body", operations))
        box.refresh()
        return json_response(added.to_json(), 201)
    if request.method == "PUT":
        data = object_body(await json_body(request), ("seed", "rules"))
        rules, seed = data.get("rules", []), data.get("seed")
        if not isinstance(rules, list):
            raise BadRequest("body.rules must be an array of faults", field="body.rules")
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise BadRequest(f"body.seed must be an integer, got {seed!r}", field="body.seed")
        parsed = [_rule(r, f"body.rules[{i}]", operations) for i, r in enumerate(rules)]
        box.faults.replace(parsed, seed)
    elif request.method == "DELETE":
        box.faults.replace([])
    box.refresh()
    return json_response(_faults_json(box))


def _faults_json(box: Box) -> dict[str, Any]:
    return {
        "seed": box.faults.seed,
        "rules": [r.to_json() for r in box.faults.rules],
        "sandbox": box.id or None,
    }


def _rule(data: Any, where: str, operations: tuple[str, ...]) -> FaultRule:
    try:
        return rule_from_json(data, operations)
    except ValueError as exc:
        raise BadRequest(str(exc), field=where, code="INVALID_FAULT") from None
