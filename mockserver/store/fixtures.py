"""Fixture files: load and check them, and export a store in the same format.

The format is described by ``mockserver/data/fixture.schema.json``. A fixture
that does not fit is refused with the file, the JSON path and the reason.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from ..schema import validator
from .generate import Dataset
from .ids import format_date, parse_date
from .models import Cover, Event, Order, OrderLine, Organizer, Participant, TicketType

__all__ = [
    "FixtureError",
    "dataset_from_json",
    "dataset_to_json",
    "deeper_than",
    "load_fixture_file",
]

# Fixtures are 6 levels deep; deeper JSON is refused before jsonschema walks (and reprs) it.
MAX_DEPTH = 32
# jsonschema quotes the offending value in its message: never echo megabytes of it.
MAX_REASON = 300


class FixtureError(ValueError):
    """A fixture that cannot be loaded: ``source``, the JSON ``path`` in it, and the ``reason``."""

    def __init__(self, source: str, path: str, reason: str) -> None:
        super().__init__(f"{source}: {path}: {reason}")
        self.source, self.path, self.reason = source, path, reason


@cache
def fixture_schema() -> dict[str, Any]:
    text = resources.files("mockserver").joinpath("data/fixture.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def load_fixture_file(path: str | Path) -> Dataset:
    """Read and check a fixture file; raises :class:`FixtureError`."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise FixtureError(source, "$", f"cannot read the file: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise FixtureError(source, "$", f"not UTF-8 text: {exc.reason}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FixtureError(
            source, "$", f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from exc
    except RecursionError:
        raise FixtureError(source, "$", f"nested more than {MAX_DEPTH} levels deep") from None
    return dataset_from_json(data, source=source)


def deeper_than(value: Any, limit: int) -> bool:
    """Whether ``value`` nests objects or arrays more than ``limit`` levels deep (no recursion)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth > limit:
                return True
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)
    return False


def _json_path(parts: Any) -> str:
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def dataset_from_json(data: Any, *, source: str = "fixture") -> Dataset:
    """Build a data set from fixture JSON, checking the schema and every cross-reference."""
    # With formats checked: a cover that is not a URI would make every answer break the spec.
    if deeper_than(data, MAX_DEPTH):
        raise FixtureError(source, "$", f"nested more than {MAX_DEPTH} levels deep")
    # jsonschema is imported on first use (~0.15 s): a generated data set needs none.
    error = min(
        validator(fixture_schema()).iter_errors(data),
        key=lambda e: list(e.absolute_path),
        default=None,
    )
    if error is not None:
        reason = error.message
        if error.validator == "pattern" and isinstance(error.schema, dict):
            # "does not match '^[0-9a-f]{24}$'" tells less than what the field should be.
            wanted = error.schema.get("description")
            if wanted:
                reason = f"{error.instance!r} is not {wanted}"
        if len(reason) > MAX_REASON:
            reason = reason[:MAX_REASON] + "…"
        raise FixtureError(source, _json_path(error.absolute_path), reason)

    seen: dict[str, str] = {}

    def unique(object_id: str, where: str) -> str:
        if object_id in seen:
            raise FixtureError(
                source, where, f"id {object_id} is already used at {seen[object_id]}"
            )
        seen[object_id] = where
        return object_id

    def date(text: str, where: str) -> Any:
        try:
            return parse_date(text)
        except ValueError as exc:
            raise FixtureError(source, where, f"not a valid date: {text!r}") from exc

    organizers = [
        Organizer(unique(o["id"], f"$.organizers[{i}].id"), o["name"], o["token"])
        for i, o in enumerate(data["organizers"])
    ]
    tokens: dict[str, int] = {}
    for i, o in enumerate(organizers):
        if o.token in tokens:
            raise FixtureError(
                source,
                f"$.organizers[{i}].token",
                f"token is already used by $.organizers[{tokens[o.token]}]",
            )
        tokens[o.token] = i
    organizer_ids = {o.id for o in organizers}
    events: list[Event] = []
    slugs: dict[str, str] = {}
    for i, e in enumerate(data["events"]):
        at = f"$.events[{i}]"
        if e["organizerId"] not in organizer_ids:
            raise FixtureError(
                source, f"{at}.organizerId", f"no organizer has id {e['organizerId']}"
            )
        if e["slug"] in slugs:
            raise FixtureError(
                source, f"{at}.slug", f"slug {e['slug']!r} is already used at {slugs[e['slug']]}"
            )
        slugs[e["slug"]] = f"{at}.slug"
        start, end = date(e["dateStart"], f"{at}.dateStart"), date(e["dateEnd"], f"{at}.dateEnd")
        if end < start:
            raise FixtureError(source, f"{at}.dateEnd", "dateEnd is before dateStart")
        event = Event(
            id=unique(e["id"], f"{at}.id"),
            organizer_id=e["organizerId"],
            name=e["name"],
            slug=e["slug"],
            date_start=start,
            date_end=end,
            location=e["location"],
            publish=e["publish"],
            cover=Cover(**e["cover"]),
        )
        for j, t in enumerate(e["tickets"]):
            event.tickets.append(
                TicketType(
                    # int(): JSON Schema counts 100.0 as an integer; the API never serves a float.
                    unique(t["id"], f"{at}.tickets[{j}].id"),
                    event.id,
                    t["name"],
                    int(t["quantity"]),
                )
            )
        participants = [
            Participant(
                id=unique(p["id"], f"{at}.participants[{j}].id"),
                event_id=event.id,
                last_name=p["last_name"],
                first_name=p["first_name"],
                email=p["email"],
                phone=p["phone"],
                address=p["address"],
                confirmed=p["confirmed"],
                created=date(p["created"], f"{at}.participants[{j}].created"),
            )
            for j, p in enumerate(e["participants"])
        ]
        event.participants = sorted(participants, key=lambda p: (p.created, p.id))
        events.append(event)

    by_event = {e.id: e for e in events}
    orders: list[Order] = []
    for i, o in enumerate(data.get("orders", [])):
        at = f"$.orders[{i}]"
        of_event = by_event.get(o["eventId"])
        if of_event is None:
            raise FixtureError(source, f"{at}.eventId", f"no event has id {o['eventId']}")
        holder = o["participantId"]
        if holder is not None and holder not in {p.id for p in of_event.participants}:
            raise FixtureError(
                source, f"{at}.participantId", f"event {of_event.id} has no participant {holder}"
            )
        ticket_ids = {t.id for t in of_event.tickets}
        for j, line in enumerate(o["lines"]):
            if line["ticketId"] not in ticket_ids:
                raise FixtureError(
                    source,
                    f"{at}.lines[{j}].ticketId",
                    f"event {of_event.id} has no ticket {line['ticketId']}",
                )
        orders.append(
            Order(
                id=unique(o["id"], f"{at}.id"),
                event_id=of_event.id,
                participant_id=holder,
                created=date(o["created"], f"{at}.created"),
                lines=tuple(
                    OrderLine(x["ticketId"], x["name"], int(x["quantity"])) for x in o["lines"]
                ),
            )
        )
    return Dataset(organizers, events, orders, data.get("description"))


def dataset_to_json(dataset: Dataset) -> dict[str, Any]:
    """The fixture JSON of a data set: ``dataset_from_json(dataset_to_json(d))`` equals ``d``."""
    out: dict[str, Any] = {}
    if dataset.description is not None:
        out["description"] = dataset.description
    out["organizers"] = [{"id": o.id, "name": o.name, "token": o.token} for o in dataset.organizers]
    out["events"] = [
        {
            "id": e.id,
            "organizerId": e.organizer_id,
            "name": e.name,
            "slug": e.slug,
            "dateStart": format_date(e.date_start),
            "dateEnd": format_date(e.date_end),
            "location": e.location,
            "publish": e.publish,
            "cover": {
                "square": e.cover.square,
                "thumb": e.cover.thumb,
                "medium": e.cover.medium,
                "original": e.cover.original,
            },
            "tickets": [{"id": t.id, "name": t.name, "quantity": t.quantity} for t in e.tickets],
            "participants": [
                {
                    "id": p.id,
                    "last_name": p.last_name,
                    "first_name": p.first_name,
                    "email": p.email,
                    "phone": p.phone,
                    "address": p.address,
                    "confirmed": p.confirmed,
                    "created": format_date(p.created),
                }
                for p in e.participants
            ],
        }
        for e in dataset.events
    ]
    out["orders"] = [
        {
            "id": o.id,
            "eventId": o.event_id,
            "participantId": o.participant_id,
            "created": format_date(o.created),
            "lines": [
                {"ticketId": x.ticket_id, "name": x.name, "quantity": x.quantity} for x in o.lines
            ],
        }
        for o in dataset.orders
    ]
    return out
