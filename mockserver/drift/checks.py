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
from .findings import Rule
from .guard import active_guard

__all__ = ["ADDITIVE_CHECK", "CHECK_RULES", "CHECK_TOPICS", "RuleFailure"]

ADDITIVE_CHECK = "api_grew"

# The rule each check holds every response to: the finding's title, what the spec says,
# and the assumption keys it confirms when it holds and refutes when it breaks.
CHECK_RULES: dict[str, Rule] = {
    rule.check: rule
    for rule in (
        Rule(
            "ids_are_object_ids",
            "Ids are not ObjectIds",
            "every id is a MongoDB ObjectId (24 lowercase hex digits)",
        ),
        Rule(
            "ticket_quantity_consistent",
            "Ticket quantity and availability disagree",
            "quantity >= 0, available == (quantity > 0)",
            ("ticket-quantity",),
        ),
        Rule(
            "event_links_agree_with_slug",
            "Event links disagree with the slug",
            "path = /slug, siteUrl = https://www.goevent.live/e/slug, "
            "checkoutUrl = siteUrl/checkout",
        ),
        Rule("event_dates_ordered", "Event ends before it starts", "dateEnd >= dateStart"),
        Rule(
            "page_respects_limit",
            "Page breaks its limit or its paginate",
            "at most `limit` items; truthful hasNextPage/nextPage",
            ("last-page",),
        ),
        Rule(
            "purchase_echoes_request",
            "The purchase's answer does not show what was sent",
            "the answer's participant and ticket lines are those the request sent",
            ("echo-fidelity",),
        ),
        Rule(
            ADDITIVE_CHECK,
            "The API grew: fields the spec does not know",
            "response objects have only the properties the spec names",
        ),
    )
}
# The assumption keys each check confirms when it holds (kept for callers of 0.x).
CHECK_TOPICS: dict[str, tuple[str, ...]] = {
    name: rule.keys for name, rule in CHECK_RULES.items() if name != ADDITIVE_CHECK
}


class RuleFailure(Failure):
    """A business rule of the API does not hold on one response.

    ``rule`` is the :class:`~.findings.Rule` broken: the drift report reads what the
    spec says from it, not from the message.
    """

    code = "ST901"
    kind_title = "Business rule violated"

    def __init__(self, *, rule: Rule, operation: str, message: str, severity: Severity) -> None:
        super().__init__(operation=operation, title=rule.title, message=message, severity=severity)
        self.rule = rule

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


def _fail(case: Any, check: str, problems: list[str]) -> None:
    if problems:
        raise RuleFailure(
            rule=CHECK_RULES[check],
            operation=case.operation.label,
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
        _fail(case, "ids_are_object_ids", rules.object_id_problems(body))
    return None


@schemathesis.check
def ticket_quantity_consistent(ctx: Any, response: Any, case: Any) -> bool | None:
    """Ticket quantities are never negative, and ``available == (quantity > 0)``."""
    body = _json(response) if active_guard() else None
    if isinstance(body, dict) and case_operation_id(case) in ("getEvent", "listTickets"):
        _fail(
            case,
            "ticket_quantity_consistent",
            rules.ticket_problems(body.get("tickets")),
        )
    return None


# The rules below, as plain functions of a decoded answer: the Schemathesis checks of this
# module and the proxy's passive checks (``proxy/exchange.py``) both run them.


def events_of(operation_id: str, body: Any) -> list[tuple[str, Any]]:
    """The events of an answer of ``operation_id``, each with its JSON path."""
    if not isinstance(body, dict):
        return []
    if operation_id == "getEvent":
        return [("$.event", body.get("event"))]
    if operation_id == "listEvents" and isinstance(body.get("events"), list):
        return [(f"$.events[{i}]", e) for i, e in enumerate(body["events"])]
    return []


def link_problems(events: list[tuple[str, Any]]) -> list[str]:
    """``path``, ``siteUrl`` and ``checkoutUrl`` that do not follow the event's ``slug``."""
    return [
        p
        for where, event in events
        for p in rules.event_problems(
            {k: v for k, v in (event or {}).items() if k not in ("dateStart", "dateEnd")}, where
        )
    ]


def date_problems(events: list[tuple[str, Any]]) -> list[str]:
    """Events that end before they start."""
    return [
        p
        for where, event in events
        for p in rules.event_problems(
            {k: v for k, v in (event or {}).items() if k in ("dateStart", "dateEnd")}, where
        )
    ]


def page_limit_problems(operation_id: str, body: Any, query: Any) -> list[str] | None:
    """What a page of ``operation_id`` asked with ``query`` breaks of its ``limit`` and
    ``hasNextPage``; None when the rule does not apply (not a list, or a request outside
    the documented range: validation's business)."""
    key = {"listEvents": "events", "listParticipants": "participants"}.get(operation_id)
    if key is None or not isinstance(body, dict):
        return None
    page, limit = _int(query.get("page"), 1), _int(query.get("limit"), 20)
    if page is None or limit is None or not 1 <= limit <= 100 or page < 1:
        return None
    return rules.page_problems(body.get(key), body.get("paginate"), page, limit)


@schemathesis.check
def event_links_agree_with_slug(ctx: Any, response: Any, case: Any) -> bool | None:
    """``path``, ``siteUrl`` and ``checkoutUrl`` are built from the event's ``slug``."""
    body = _json(response) if active_guard() else None
    _fail(
        case, "event_links_agree_with_slug", link_problems(events_of(case_operation_id(case), body))
    )
    return None


@schemathesis.check
def event_dates_ordered(ctx: Any, response: Any, case: Any) -> bool | None:
    """An event never ends before it starts."""
    body = _json(response) if active_guard() else None
    _fail(case, "event_dates_ordered", date_problems(events_of(case_operation_id(case), body)))
    return None


@schemathesis.check
def page_respects_limit(ctx: Any, response: Any, case: Any) -> bool | None:
    """A page holds at most ``limit`` items and says truthfully whether another follows."""
    body = _json(response) if active_guard() else None
    problems = page_limit_problems(case_operation_id(case), body, case.query or {})
    _fail(case, "page_respects_limit", problems or [])
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
            rule=CHECK_RULES[ADDITIVE_CHECK],
            operation=case.operation.label,
            message="\n".join(paths[:20]),
            severity=Severity.LOW,
        )
    return None


def echo_problems(sent: Any, answer: Any) -> list[str]:
    """What a purchase's answer shows differently from what its request sent.

    The participant: a new one with every form field as sent, an existing one with the id
    sent, none as null; the ticket lines: one issued entry per line, with its quantity.
    """
    if not isinstance(sent, dict) or not isinstance(answer, dict):
        return []
    problems: list[str] = []
    form, shown = sent.get("participant"), answer.get("participant")
    if isinstance(form, dict) and "participantId" in form:
        if not isinstance(shown, dict) or shown.get("id") != form["participantId"]:
            problems.append(
                f"$.participant.id: sent participantId {form['participantId']!r}, "
                f"shown {shown.get('id') if isinstance(shown, dict) else shown!r}"
            )
    elif isinstance(form, dict):
        for name in rules.FORM_FIELDS:
            if name in form and (not isinstance(shown, dict) or shown.get(name) != form[name]):
                got = shown.get(name) if isinstance(shown, dict) else None
                problems.append(f"$.participant.{name}: sent {form[name]!r}, shown {got!r}")
    lines, issued = sent.get("tickets"), answer.get("tickets")
    if isinstance(lines, list) and isinstance(issued, list):
        sent_q = sorted(q for q in (_line_quantity(x) for x in lines) if q is not None)
        shown_q = sorted(q for q in (_line_quantity(x) for x in issued) if q is not None)
        if sent_q != shown_q:
            problems.append(f"$.tickets[*].quantity: sent {sent_q}, shown {shown_q}")
    return problems


def _line_quantity(line: Any) -> int | None:
    value = line.get("quantity") if isinstance(line, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value)


@schemathesis.check
def purchase_echoes_request(ctx: Any, response: Any, case: Any) -> bool | None:
    """A purchase's answer shows the participant and the ticket lines the request sent."""
    body = _json(response) if active_guard() else None
    if case_operation_id(case) == "createTickets":
        _fail(case, "purchase_echoes_request", echo_problems(case.body, body))
    return None
