"""The business rules as Schemathesis checks: they run on every response of a kit run.

Registered on import. Outside a kit run (no active :class:`~.guard.RunGuard`)
they do nothing, so other Schemathesis tests in the same process are not affected.
"""

from __future__ import annotations

import re
from typing import Any

import schemathesis
from schemathesis.core.failures import Failure, Severity

from . import rules
from .contract import load_contract
from .guard import active_guard

__all__ = ["ADDITIVE_CHECK", "CHECK_TOPICS", "RuleFailure"]

ADDITIVE_CHECK = "api_grew"
# The assumptions (by topic prefix) each check confirms when it holds.
CHECK_TOPICS: dict[str, tuple[str, ...]] = {
    "ticket_quantity_consistent": ("Ticket `quantity`",),
    "ids_are_object_ids": (),
    "event_links_agree_with_slug": (),
    "event_dates_ordered": (),
    "page_respects_limit": ("Last page",),
}


class RuleFailure(Failure):
    """A business rule of the API does not hold on one response."""

    code = "ST901"
    kind_title = "Business rule violated"

    @property
    def _unique_key(self) -> str:
        return self.title + "\n" + self.message.split("\n", 1)[0]


def case_operation_id(case: Any) -> str:
    """The operationId of a Schemathesis case ("" when its definition has none)."""
    raw = case.operation.definition.raw
    return str(raw.get("operationId", "")) if isinstance(raw, dict) else ""


def _json(response: Any) -> Any:
    if response.status_code != 200:
        return None
    try:
        return response.json()
    except Exception:  # not JSON: the content-type and schema checks say so
        return None


def _fail(case: Any, title: str, problems: list[str]) -> None:
    if problems:
        raise RuleFailure(
            operation=case.operation.label,
            title=title,
            message="\n".join(problems[:10]),
            severity=Severity.HIGH,
        )


def _int(value: Any, default: int) -> int | None:
    if value is None:
        return default
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


@schemathesis.check
def ids_are_object_ids(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every id in a successful answer is a MongoDB ObjectId."""
    body = _json(response) if active_guard() else None
    if body is not None:
        _fail(case, "Ids are not ObjectIds", rules.object_id_problems(body))
    return None


@schemathesis.check
def ticket_quantity_consistent(ctx: Any, response: Any, case: Any) -> bool | None:
    """Ticket quantities are never negative, and ``available == (quantity > 0)``."""
    body = _json(response) if active_guard() else None
    if isinstance(body, dict) and case_operation_id(case) in ("getEvent", "listTickets"):
        _fail(
            case,
            "Ticket quantity and availability disagree",
            rules.ticket_problems(body.get("tickets")),
        )
    return None


def _events(operation_id: str, body: Any) -> list[tuple[str, Any]]:
    if not isinstance(body, dict):
        return []
    if operation_id == "getEvent":
        return [("$.event", body.get("event"))]
    if operation_id == "listEvents" and isinstance(body.get("events"), list):
        return [(f"$.events[{i}]", e) for i, e in enumerate(body["events"])]
    return []


@schemathesis.check
def event_links_agree_with_slug(ctx: Any, response: Any, case: Any) -> bool | None:
    """``path``, ``siteUrl`` and ``checkoutUrl`` are built from the event's ``slug``."""
    body = _json(response) if active_guard() else None
    problems = [
        p
        for where, event in _events(case_operation_id(case), body)
        for p in rules.event_problems(
            {k: v for k, v in (event or {}).items() if k not in ("dateStart", "dateEnd")}, where
        )
    ]
    _fail(case, "Event links disagree with the slug", problems)
    return None


@schemathesis.check
def event_dates_ordered(ctx: Any, response: Any, case: Any) -> bool | None:
    """An event never ends before it starts."""
    body = _json(response) if active_guard() else None
    problems = [
        p
        for where, event in _events(case_operation_id(case), body)
        for p in rules.event_problems(
            {k: v for k, v in (event or {}).items() if k in ("dateStart", "dateEnd")}, where
        )
    ]
    _fail(case, "Event ends before it starts", problems)
    return None


@schemathesis.check
def page_respects_limit(ctx: Any, response: Any, case: Any) -> bool | None:
    """A page holds at most ``limit`` items and says truthfully whether another follows."""
    body = _json(response) if active_guard() else None
    operation_id = case_operation_id(case)
    key = {"listEvents": "events", "listParticipants": "participants"}.get(operation_id)
    if key is None or not isinstance(body, dict):
        return None
    query = case.query or {}
    page, limit = _int(query.get("page"), 1), _int(query.get("limit"), 20)
    if page is None or limit is None or not 1 <= limit <= 100 or page < 1:
        return None  # a request outside the documented range: validation's business
    _fail(
        case,
        "Page breaks its limit or its paginate",
        rules.page_problems(body.get(key), body.get("paginate"), page, limit),
    )
    return None


@schemathesis.check
def api_grew(ctx: Any, response: Any, case: Any) -> bool | None:
    """A field the spec does not know: additive drift, reported apart from breaking drift."""
    if active_guard() is None:
        return None
    operation_id = case_operation_id(case)
    try:
        body = response.json()
    except Exception:
        return None
    found = load_contract().unknown_fields(operation_id, response.status_code, body)
    if found:
        paths = list(dict.fromkeys(re.sub(r"\[\d+\]", "[*]", path) for path in found))
        raise RuleFailure(
            operation=case.operation.label,
            title="The API grew: fields the spec does not know",
            message="\n".join(paths[:20]),
            severity=Severity.LOW,
        )
    return None
