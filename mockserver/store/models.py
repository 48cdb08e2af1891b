"""The fake's domain objects. Plain data: no HTTP, no JSON."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

SITE = "https://www.goevent.live/e/"


@dataclass(slots=True)
class Organizer:
    id: str
    name: str
    token: str


@dataclass(slots=True)
class Cover:
    square: str
    thumb: str
    medium: str
    original: str


@dataclass(slots=True)
class TicketType:
    id: str
    event_id: str
    name: str
    quantity: int

    @property
    def available(self) -> bool:
        return self.quantity > 0


@dataclass(slots=True)
class Participant:
    id: str
    event_id: str
    last_name: str
    first_name: str
    email: str
    phone: str
    address: str | None
    confirmed: bool
    created: datetime


# Orders are the one collection that grows with traffic (a million purchases, a million
# orders), so they are immutable tuples: ~210 bytes each, and, holding only strings, ints
# and datetimes, untracked by the cyclic garbage collector. As slotted dataclasses (with a
# list of lines) they were 3 tracked objects and ~375 bytes each, and every full
# collection walked them all: 0.1 s per 100,000 orders, the p99 of purchases growing with
# their number (docs/benchmarks.md, "Purchases over a million").
class OrderLine(NamedTuple):
    ticket_id: str
    name: str
    quantity: int


class Order(NamedTuple):
    """One successful Create Tickets call: what was issued, to whom."""

    id: str
    event_id: str
    participant_id: str | None
    created: datetime
    lines: tuple[OrderLine, ...]


@dataclass(slots=True)
class Event:
    id: str
    organizer_id: str
    name: str
    slug: str
    date_start: datetime
    date_end: datetime
    location: str
    publish: bool
    cover: Cover
    tickets: list[TicketType] = field(default_factory=list)
    # Sorted by (created, id): the order List Participants pages through. A list,
    # participants computed on demand, or (once in a store) a Roster of either.
    participants: Sequence[Participant] = field(default_factory=list)

    # Derived as the live API builds them (API-NOTES "Objects").
    @property
    def path(self) -> str:
        return "/" + self.slug

    @property
    def site_url(self) -> str:
        return SITE + self.slug

    @property
    def checkout_url(self) -> str:
        return self.site_url + "/checkout"
