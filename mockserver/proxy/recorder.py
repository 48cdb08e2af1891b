"""What the upstream showed, kept as a fixture ``serve --fixtures`` loads.

The recorder keeps the latest state it saw of every event, ticket type and
participant, and the purchases that went through. Personal fields are
anonymised on the way in (nothing of the original is held); tokens are never
kept: organizer N of the recording has the token ``recorded-token-N``. What
the traffic never showed (a page of participants never fetched, an event only
known by id) is said in the fixture's ``description``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any
from urllib.parse import parse_qsl

import orjson
from jsonschema import Draft202012Validator

from ..drift.rules import parse_date
from ..store.fixtures import fixture_schema
from ..store.ids import format_date
from .anonymise import Anonymiser
from .exchange import Exchange

__all__ = ["MAX_EVENTS", "MAX_ORDERS", "MAX_PARTICIPANTS", "Recorder", "recorded_token"]

MAX_EVENTS = 10_000
MAX_PARTICIPANTS = 200_000  # in all events together
MAX_ORDERS = 100_000
_EVENT_KEYS = ("id", "name", "slug", "dateStart", "dateEnd", "location", "publish", "cover")


def recorded_token(number: int) -> str:
    """The token organizer ``number`` (from 1) has in a recording, never the real one."""
    return f"recorded-token-{number}"


def _date(value: Any) -> str | None:
    """A recorded date as the fixture format writes dates (UTC, milliseconds), or None."""
    parsed = parse_date(value)
    return format_date(parsed) if parsed is not None else None


def _id(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:24]


@dataclass
class _Event:
    organizer: str | None  # a token hash
    fields: dict[str, Any] | None = None
    tickets: dict[str, dict[str, Any]] = field(default_factory=dict)
    tickets_seen: bool = False
    participants: dict[str, dict[str, Any]] = field(default_factory=dict)
    walked: bool = False  # a complete walk of the participants was seen


class Recorder:
    """Fed every exchange in order; :meth:`fixture` is the recording so far."""

    def __init__(self, anonymiser: Anonymiser, upstream: str) -> None:
        self.anon = anonymiser
        self.upstream = upstream
        self._organizers: dict[str | None, int] = {}
        self._events: dict[str, _Event] = {}
        self._orders: list[dict[str, Any]] = []
        self._participants = 0
        self._walks: dict[tuple[str | None, str, int], int] = {}  # next page expected
        self.dropped: list[str] = []

    def _event(self, event_id: str, token: str | None) -> _Event | None:
        event = self._events.get(event_id)
        if event is None:
            if len(self._events) >= MAX_EVENTS:
                if not self.dropped or not self.dropped[-1].startswith("events beyond"):
                    self.dropped.append(f"events beyond the first {MAX_EVENTS} were not recorded")
                return None
            event = self._events[event_id] = _Event(token)
            self._organizers.setdefault(token, len(self._organizers) + 1)
        return event

    def observe(self, ex: Exchange) -> None:
        if ex.route is None or not ex.json_ok or not 200 <= ex.status < 300:
            return
        body, op = ex.json, ex.operation
        if not isinstance(body, dict):
            return
        query = dict(parse_qsl(ex.query))
        if op == "listEvents" and isinstance(body.get("events"), list):
            for item in body["events"]:
                self._event_fields(item, ex.token_id)
        elif op == "getEvent":
            self._event_fields(body.get("event"), ex.token_id)
            if ex.route and isinstance(body.get("tickets"), list):
                self._tickets(ex.route.params.get("id", ""), body["tickets"], ex.token_id)
        elif op == "listTickets" and isinstance(body.get("tickets"), list):
            self._tickets(query.get("eventId", ""), body["tickets"], ex.token_id)
        elif op == "listParticipants" and isinstance(body.get("participants"), list):
            self._listed(ex, query, body)
        elif op == "createTickets":
            self._purchase(ex, body)

    def _event_fields(self, item: Any, token: str | None) -> None:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            return
        event = self._event(item["id"], token)
        if event is not None:
            event.fields = {k: item.get(k) for k in _EVENT_KEYS}

    def _tickets(self, event_id: str, tickets: list[Any], token: str | None) -> None:
        event = self._event(event_id, token) if event_id else None
        if event is None:
            return
        event.tickets = {
            str(t["id"]): {"id": t["id"], "name": t.get("name"), "quantity": t.get("quantity")}
            for t in tickets
            if isinstance(t, dict) and isinstance(t.get("id"), str)
        }
        event.tickets_seen = True

    def _add_participant(self, event: _Event, item: dict[str, Any]) -> None:
        pid = item.get("id")
        if not isinstance(pid, str):
            return
        if pid not in event.participants:
            if self._participants >= MAX_PARTICIPANTS:
                if "participants beyond" not in " ".join(self.dropped):
                    self.dropped.append(
                        f"participants beyond the first {MAX_PARTICIPANTS} were not recorded"
                    )
                return
            self._participants += 1
        event.participants[pid] = self.anon.participant(item)

    def _listed(self, ex: Exchange, query: dict[str, str], body: dict[str, Any]) -> None:
        event = self._event(query.get("eventId", ""), ex.token_id) if query.get("eventId") else None
        if event is None:
            return
        for item in body["participants"]:
            if isinstance(item, dict):
                self._add_participant(event, item)
        page, limit = query.get("page", "1"), query.get("limit", "20")
        if not (page.isdigit() and limit.isdigit()):
            return
        key = (ex.token_id, query["eventId"], int(limit))
        if int(page) == 1 or self._walks.get(key) == int(page):
            self._walks[key] = int(page) + 1
            paginate = body.get("paginate")
            if isinstance(paginate, dict) and paginate.get("hasNextPage") is False:
                event.walked = True
                self._walks.pop(key, None)

    def _purchase(self, ex: Exchange, body: dict[str, Any]) -> None:
        request = ex.request_json
        if not isinstance(request, dict) or not isinstance(request.get("eventId"), str):
            return
        event = self._event(request["eventId"], ex.token_id)
        if event is None:
            return
        lines = []
        for line in request.get("tickets") or []:
            if not isinstance(line, dict) or not isinstance(line.get("quantity"), int):
                continue
            tid = str(line.get("ticket_id"))
            ticket = event.tickets.get(tid)
            if ticket is not None and isinstance(ticket.get("quantity"), int):
                ticket["quantity"] = max(0, ticket["quantity"] - line["quantity"])
            name = ticket.get("name") if ticket else None
            lines.append({"ticketId": tid, "name": str(name or ""), "quantity": line["quantity"]})
        created = format_date(ex.at)
        holder = None
        buyer = body.get("participant")
        sent = request.get("participant")
        if isinstance(buyer, dict) and isinstance(buyer.get("id"), str):
            holder = buyer["id"]
            if holder not in event.participants:
                listed = {**buyer, "confirmed": True, "created": created}
                self._add_participant(event, listed)
        elif isinstance(sent, dict) and isinstance(sent.get("participantId"), str):
            holder = sent["participantId"]
        if lines and len(self._orders) < MAX_ORDERS:
            self._orders.append(
                {
                    "id": _id("order", str(ex.seq), request["eventId"], created),
                    "eventId": request["eventId"],
                    "participantId": holder,
                    "created": created,
                    "lines": lines,
                }
            )

    # -- the fixture --------------------------------------------------------------

    def fixture(self, now: datetime) -> dict[str, Any]:
        """The recording as a fixture; what could not be kept is said in its description."""
        gaps: list[str] = list(self.dropped)
        organizers = {}
        for token, number in sorted(self._organizers.items(), key=lambda kv: kv[1]):
            organizers[token] = {
                "id": _id("organizer", str(number), str(token)),
                "name": f"Recorded organizer {number}",
                "token": recorded_token(number),
            }
        events = []
        kept: set[str] = set()
        for event_id, event in self._events.items():
            if event.fields is None:
                gaps.append(
                    f"event {event_id}: only known by id (never listed or fetched), left out"
                )
                continue
            out = dict(event.fields)
            out["organizerId"] = organizers[event.organizer]["id"]
            for key in ("dateStart", "dateEnd"):
                out[key] = _date(out[key]) or out[key]
            out["tickets"] = list(event.tickets.values())
            out["participants"] = [
                {**p, "created": _date(p.get("created")) or p.get("created")}
                for p in event.participants.values()
            ]
            if not event.tickets_seen:
                gaps.append(f"event {event_id}: ticket types never listed, recorded with none")
            if not event.walked:
                gaps.append(
                    f"event {event_id}: participant pages not all fetched, "
                    f"{len(event.participants)} recorded"
                )
            problems = _event_problems(out)
            if problems:
                gaps.append(f"event {event_id}: left out, not a valid fixture event ({problems})")
                continue
            events.append(out)
            kept.add(event_id)
        orders = [o for o in self._orders if o["eventId"] in kept and o["created"]]
        used = {e["organizerId"] for e in events}
        owners = [o for o in organizers.values() if o["id"] in used] or [
            {
                "id": _id("organizer", "none"),
                "name": "Recorded organizer 1",
                "token": recorded_token(1),
            }
        ]
        description = (
            f"Recorded by goevent-mock proxy from {self.upstream} on "
            f"{now.strftime('%Y-%m-%d %H:%M')} UTC: {len(events)} event(s), "
            f"{sum(len(e['participants']) for e in events)} participant(s), "
            f"{len(orders)} purchase(s). Names, e-mails, phones and addresses are Faker values "
            "derived from the originals; the original tokens are not recorded: organizer N's "
            "token here is recorded-token-N. "
        )
        description += (
            "Incomplete: "
            + "; ".join(gaps[:50])
            + (f"; and {len(gaps) - 50} more" if len(gaps) > 50 else "")
            + "."
            if gaps
            else "Complete: every event's ticket types and participant pages were seen."
        )
        return {
            "description": description,
            "organizers": owners,
            "events": events,
            "orders": orders,
        }

    def write(self, path: Any, now: datetime) -> dict[str, Any]:
        data = self.fixture(now)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n")
        return data


@cache
def _validator() -> Draft202012Validator:
    """The fixture format's schema of one event."""
    schema = fixture_schema()
    return Draft202012Validator(
        {**schema["properties"]["events"]["items"], "$defs": schema["$defs"]}
    )


def _event_problems(event: dict[str, Any]) -> str:
    errors = list(_validator().iter_errors(event))[:3]
    return "; ".join(
        "$"
        + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e.absolute_path)
        + f" fails {e.validator}"
        for e in errors
    )
