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


# An order as the store hands it out. The orders it keeps (a million purchases, a million
# orders) are plain tuples in ``orders.py``, which the cyclic garbage collector untracks;
# these NamedTuples are a tuple subclass, tracked, and built only when an order is read.
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
