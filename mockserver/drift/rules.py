"""Business rules of the GoEvent API, as pure functions over decoded JSON bodies.

Each returns a list of problems (empty: the rule holds), phrased as "where: what".
The Schemathesis checks (:mod:`.checks`) and the probes (:mod:`.probes`) both
call these, so a rule is written once and holds on every target.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

# The fields of a new participant's form in a purchase, as the spec names them.
FORM_FIELDS = ("last_name", "first_name", "email", "phone")

__all__ = [
    "SITE",
    "event_problems",
    "object_id_problems",
    "page_problems",
    "parse_date",
    "ticket_problems",
]

SITE = "https://www.goevent.live/e/"
OBJECT_ID = re.compile(r"^[0-9a-f]{24}$")
# Keys whose values are ObjectIds wherever they appear in a body.
ID_KEYS = frozenset({"id", "eventId", "ticket_id", "participantId"})


def object_id_problems(body: Any, where: str = "$") -> list[str]:
    """Every id in ``body`` is a MongoDB ObjectId (24 lowercase hex digits)."""
    problems: list[str] = []
    if isinstance(body, dict):
        for key, value in body.items():
            path = f"{where}.{key}"
            if (
                key in ID_KEYS
                and value is not None
                and not (isinstance(value, str) and OBJECT_ID.match(value))
            ):
                problems.append(f"{path} is {value!r}, not an ObjectId (24 lowercase hex digits)")
            else:
                problems += object_id_problems(value, path)
    elif isinstance(body, list):
        for index, value in enumerate(body):
            problems += object_id_problems(value, f"{where}[{index}]")
    return problems


def ticket_problems(tickets: Any, where: str = "$.tickets") -> list[str]:
    """``quantity`` is never negative and ``available == (quantity > 0)``."""
    problems: list[str] = []
    if not isinstance(tickets, list):
        return problems
    for index, ticket in enumerate(tickets):
        if not isinstance(ticket, dict):
            continue
        path = f"{where}[{index}]"
        quantity, available = ticket.get("quantity"), ticket.get("available")
        if not isinstance(quantity, int) or isinstance(quantity, bool):
            continue  # a type change is the schema check's finding
        if quantity < 0:
            problems.append(f"{path}.quantity is {quantity}: a quantity left is never negative")
        if isinstance(available, bool) and available != (quantity > 0):
            problems.append(
                f"{path}.available is {str(available).lower()} with quantity {quantity}: "
                "available must be quantity > 0"
            )
    return problems


def parse_date(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def event_problems(event: Any, where: str = "$.event") -> list[str]:
    """``path``, ``siteUrl`` and ``checkoutUrl`` agree with ``slug``; ``dateEnd >= dateStart``."""
    if not isinstance(event, dict):
        return []
    problems: list[str] = []
    slug = event.get("slug")
    if isinstance(slug, str):
        expected = {
            "path": "/" + slug,
            "siteUrl": SITE + slug,
            "checkoutUrl": SITE + slug + "/checkout",
        }
        for key, value in expected.items():
            if key in event and event[key] != value:
                problems.append(
                    f"{where}.{key} is {event[key]!r}; with slug {slug!r} it must be {value!r}"
                )
    start, end = parse_date(event.get("dateStart")), parse_date(event.get("dateEnd"))
    if start is not None and end is not None and end < start:
        problems.append(
            f"{where}.dateEnd {event['dateEnd']} is before dateStart {event['dateStart']}"
        )
    return problems


def page_problems(items: Any, paginate: Any, page: int, limit: int, where: str = "$") -> list[str]:
    """One page holds at most ``limit`` items and its ``paginate`` is consistent."""
    problems: list[str] = []
    if isinstance(items, list) and len(items) > limit:
        problems.append(f"{where} holds {len(items)} items; limit={limit} allows at most {limit}")
    if not isinstance(paginate, dict):
        return problems
    has_next, next_page = paginate.get("hasNextPage"), paginate.get("nextPage")
    if has_next is False and next_page is not None:
        problems.append(
            f"{where}.paginate: hasNextPage is false but nextPage is {next_page!r}, not null"
        )
    if has_next is True and next_page != page + 1:
        problems.append(
            f"{where}.paginate: page {page} has a next page, "
            f"but nextPage is {next_page!r}, not {page + 1}"
        )
    if has_next is True and isinstance(items, list) and len(items) < limit:
        problems.append(
            f"{where}: page {page} holds {len(items)} of limit={limit} items, "
            "yet says a next page follows"
        )
    return problems
