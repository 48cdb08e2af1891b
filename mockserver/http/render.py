"""Domain objects → the JSON the spec describes.

Objects are shaped as the live API shapes them. Any property the spec's
response schema names but the store does not know is still served, from the
schema's example, default or type (:func:`placeholder`), so a field added to
the spec appears in the fake with no code change.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from ..spec import Spec
from ..store import Page
from ..store.ids import format_date
from ..store.models import Event, Participant, TicketType

__all__ = ["Renderer", "placeholder"]

# Keys each rendering method writes itself; the spec's other properties are
# filled in from the schema (see Renderer._extras).
_TICKET_KEYS = ("id", "name", "available", "quantity")
_PARTICIPANT_KEYS = ("id", "last_name", "first_name", "email", "phone", "address")
_LISTED_KEYS = (*_PARTICIPANT_KEYS, "confirmed", "created")
_PAGINATE_KEYS = ("hasNextPage", "nextPage")
# Rendered participants kept for reuse; past this many the cache starts over
# (an event of a million participants must not end up held twice in memory).
_PARTICIPANT_CACHE = 4096


def _date(value: datetime) -> str:
    """:func:`format_date`, faster for the UTC dates the store holds."""
    if value.tzinfo is UTC and value.year >= 1000:
        return value.isoformat(timespec="milliseconds")[:-6] + "Z"
    return format_date(value)


_BY_FORMAT = {
    "date-time": "2024-01-01T00:00:00.000Z",
    "date": "2024-01-01",
    "uri": "https://www.goevent.live/",
    "email": "someone@example.com",
}


def placeholder(schema: dict[str, Any]) -> Any:
    """A value for ``schema`` from its example, default, const, enum or type."""
    for key in ("const", "default", "example"):
        if key in schema:
            return schema[key]
    if schema.get("examples"):
        return schema["examples"][0]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("oneOf", "anyOf", "allOf"):
        if schema.get(key):
            return placeholder(schema[key][0])
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = "null" if "null" in kind else kind[0]
    if kind == "object":
        props = schema.get("properties", {})
        return {
            name: placeholder(props[name]) for name in schema.get("required", []) if name in props
        }
    if kind == "string":
        return _BY_FORMAT.get(schema.get("format", ""), "string")
    return {
        "integer": schema.get("minimum", 0),
        "number": schema.get("minimum", 0),
        "boolean": False,
        "array": [],
        "null": None,
    }.get(str(kind))


def _completer(schema: dict[str, Any]) -> dict[str, Any]:
    """The properties of ``schema`` worth filling in when a rendered object lacks them."""
    props = schema.get("properties", {})
    required = set(schema.get("required", []))
    return {
        name: placeholder(sub)
        for name, sub in props.items()
        if name in required or any(k in sub for k in ("example", "examples", "default", "const"))
    }


class Renderer:
    """Renders responses as bytes. One per app, built from the spec at startup."""

    def __init__(self, spec: Spec) -> None:
        schemas = spec.resolved["components"]["schemas"]
        self._fill = {name: _completer(schemas[name]) for name in schemas}
        # Events never change once loaded: each is rendered once. The cache is keyed by
        # the object itself, so a reset or a new fixture is never served stale.
        self._events: dict[str, tuple[Event, bytes]] = {}
        # Whole pages of events, keyed by the identities of the events on them (the
        # entry holds the events, so an identity cannot be reused while cached).
        self._event_pages: dict[tuple[int, ...], tuple[Page[Event], bytes]] = {}
        # Participants never change either; the same identity rule applies.
        self._participants: dict[str, tuple[Participant, bytes]] = {}
        self._ticket_extra = self._extras("Ticket", _TICKET_KEYS)
        self._participant_extra = self._extras("Participant", _PARTICIPANT_KEYS)
        self._listed_extra = self._extras("ListedParticipant", _LISTED_KEYS)
        self._paginate_extra = self._extras("Paginate", _PAGINATE_KEYS)

    def forget(self, events: list[Event]) -> None:
        """Drop what was rendered for ``events`` and their participants (a forgotten sandbox):
        nothing is kept for data no client can ask for again."""
        gone = {id(e) for e in events}
        for event in events:
            cached = self._events.get(event.id)
            if cached is not None and cached[0] is event:
                del self._events[event.id]
        for key in [k for k in self._event_pages if not gone.isdisjoint(k)]:
            del self._event_pages[key]
        ids = {e.id for e in events}
        for pid in [k for k, (p, _) in self._participants.items() if p.event_id in ids]:
            del self._participants[pid]

    def _extras(self, name: str, keys: tuple[str, ...]) -> dict[str, Any]:
        """What :meth:`_complete` adds to an object of schema ``name`` holding ``keys``."""
        return {k: v for k, v in self._fill.get(name, {}).items() if k not in keys}

    def _complete(self, name: str, obj: dict[str, Any], skip: str = "") -> dict[str, Any]:
        """Add what schema ``name`` names and ``obj`` lacks (``skip``: a key rendered elsewhere)."""
        for key, value in self._fill.get(name, {}).items():
            if key not in obj and key != skip:
                obj[key] = value
        return obj

    # -- objects -----------------------------------------------------------

    def event(self, event: Event) -> dict[str, Any]:
        cover = {
            "square": event.cover.square,
            "thumb": event.cover.thumb,
            "medium": event.cover.medium,
            "original": event.cover.original,
        }
        return self._complete("Event", {
            "id": event.id,
            "name": event.name,
            "slug": event.slug,
            "path": event.path,
            "dateStart": format_date(event.date_start),
            "dateEnd": format_date(event.date_end),
            "location": event.location,
            "publish": event.publish,
            "cover": self._complete("Cover", cover),
            "checkoutUrl": event.checkout_url,
            "siteUrl": event.site_url,
        })  # fmt: skip

    def event_bytes(self, event: Event) -> bytes:
        cached = self._events.get(event.id)
        if cached is None or cached[0] is not event:
            cached = self._events[event.id] = (event, orjson.dumps(self.event(event)))
        return cached[1]

    def ticket(self, ticket: TicketType) -> dict[str, Any]:
        obj = {
            "id": ticket.id, "name": ticket.name,
            "available": ticket.available, "quantity": ticket.quantity,
        }  # fmt: skip
        if self._ticket_extra:
            obj.update(self._ticket_extra)
        return obj

    def participant(self, p: Participant) -> dict[str, Any]:
        obj = {
            "id": p.id, "last_name": p.last_name, "first_name": p.first_name,
            "email": p.email, "phone": p.phone, "address": p.address,
        }  # fmt: skip
        if self._participant_extra:
            obj.update(self._participant_extra)
        return obj

    def listed_participant(self, p: Participant) -> dict[str, Any]:
        obj = {
            "id": p.id, "last_name": p.last_name, "first_name": p.first_name,
            "email": p.email, "phone": p.phone, "address": p.address,
            "confirmed": p.confirmed, "created": _date(p.created),
        }  # fmt: skip
        if self._listed_extra:
            obj.update(self._listed_extra)
        return obj

    def listed_participant_bytes(self, p: Participant) -> bytes:
        cached = self._participants.get(p.id)
        if cached is None or cached[0] is not p:
            if len(self._participants) >= _PARTICIPANT_CACHE:
                self._participants.clear()
            cached = self._participants[p.id] = (p, orjson.dumps(self.listed_participant(p)))
        return cached[1]

    def paginate(self, page: Page[Any]) -> dict[str, Any]:
        obj = {"hasNextPage": page.has_next_page, "nextPage": page.next_page}
        if self._paginate_extra:
            obj.update(self._paginate_extra)
        return obj

    # -- responses -----------------------------------------------------------

    def list_events(self, page: Page[Event]) -> bytes:
        key = tuple(map(id, page.items))
        cached = self._event_pages.get(key)
        if (
            cached is not None
            and cached[0].has_next_page == page.has_next_page
            and cached[0].next_page == page.next_page
        ):
            return cached[1]
        items = b",".join(self.event_bytes(e) for e in page.items)
        rest = self._complete("ListEventsResponse", {"paginate": self.paginate(page)}, "events")
        body = b'{"events":[' + items + b"]," + orjson.dumps(rest)[1:]
        if len(self._event_pages) >= 256:
            self._event_pages.clear()  # old pages of earlier data sets go
        self._event_pages[key] = (page, body)
        return body

    def get_event(self, event: Event) -> bytes:
        tickets = {"tickets": [self.ticket(t) for t in event.tickets]}
        rest = self._complete("GetEventResponse", tickets, "event")
        return b'{"event":' + self.event_bytes(event) + b"," + orjson.dumps(rest)[1:]

    def list_tickets(self, tickets: list[TicketType]) -> bytes:
        body = {"tickets": [self.ticket(t) for t in tickets]}
        return orjson.dumps(self._complete("ListTicketsResponse", body))

    def create_tickets(
        self, participant: Participant | None, issued: list[dict[str, Any]]
    ) -> bytes:
        body = {
            "success": True,
            "participant": self.participant(participant) if participant else None,
            "tickets": [self._complete("IssuedTicket", t) for t in issued],
        }
        return orjson.dumps(self._complete("CreateTicketsResponse", body))

    def list_participants(self, page: Page[Participant]) -> bytes:
        items = b",".join(map(self.listed_participant_bytes, page.items))
        rest = self._complete(
            "ListParticipantsResponse", {"paginate": self.paginate(page)}, "participants"
        )
        return b'{"participants":[' + items + b"]," + orjson.dumps(rest)[1:]
