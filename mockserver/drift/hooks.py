"""Schemathesis hooks that put its requests under the run's guard. Registered on import.

Outside a kit run (no active guard) they do nothing.
"""

from __future__ import annotations

from typing import Any

import schemathesis

from .checks import case_operation_id
from .guard import active_guard

__all__: list[str] = []


def _dedupe_lines(body: Any) -> None:
    # The spec cannot say "each ticket_id at most once" (JSON Schema has no unique-by-key),
    # but the API rejects repeats (x-goevent-assumption duplicate-ticket-lines; a probe
    # tests it): drop repeated lines, or every such valid-looking body is a false finding.
    lines = body.get("tickets") if isinstance(body, dict) else None
    if not isinstance(lines, list):
        return
    seen: set[str] = set()
    kept = []
    for line in lines:
        ticket_id = line.get("ticket_id") if isinstance(line, dict) else None
        if isinstance(ticket_id, str):
            if ticket_id in seen:
                continue
            seen.add(ticket_id)
        kept.append(line)
    if len(kept) != len(lines):
        lines[:] = kept


def _one_each(body: Any) -> None:
    # On a live test event, a generated purchase buys one ticket per line, not hundreds:
    # valid quantities (2..1000) become 1, so the body stays valid; invalid ones are kept,
    # so a request meant to be refused still is.
    lines = body.get("tickets") if isinstance(body, dict) else None
    for line in lines if isinstance(lines, list) else []:
        quantity = line.get("quantity") if isinstance(line, dict) else None
        if isinstance(quantity, bool) or not isinstance(quantity, int | float):
            continue
        if quantity == int(quantity) and 2 <= quantity <= 1000:
            line["quantity"] = 1


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    guard = active_guard()
    if guard is None:
        return
    if case_operation_id(case) == "createTickets":
        _dedupe_lines(case.body)
        if not guard.target.is_fake:
            _one_each(case.body)
    body = guard.admit(case.method, case.operation.path, case.body)
    if body is not case.body and isinstance(case.body, dict) and isinstance(body, dict):
        case.body["eventId"] = body["eventId"]  # in place: Schemathesis re-validates the case
    guard.spend()


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    guard = active_guard()
    if guard is None:
        return
    sent = response.request.headers.get("Authorization") if response.request is not None else None
    retry_after = response.headers.get("retry-after")
    if isinstance(retry_after, list):
        retry_after = retry_after[0] if retry_after else None
    guard.record(
        case_operation_id(case) or case.operation.label,
        response.status_code,
        retry_after,
        token=sent == f"Bearer {guard.target.token}",
    )
