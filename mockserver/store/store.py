"""The in-memory state of the fake, with one method per GoEvent operation.

Knows nothing of HTTP: it takes plain values, returns domain objects and
raises :mod:`mockserver.errors` exceptions.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from ..errors import (
    EventNotFound,
    NotEnoughTickets,
    ParticipantNotFound,
    TicketNotFound,
    Unauthorized,
)
from .clock import Clock
from .generate import Dataset
from .ids import ObjectIdFactory
from .models import Event, Order, OrderLine, Organizer, Participant, TicketType
from .orders import Orders
from .participants import GeneratedParticipants, Roster

__all__ = ["NewParticipant", "Page", "Purchase", "Store"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: Sequence[T]
    has_next_page: bool
    next_page: int | None


@dataclass(frozen=True, slots=True)
class NewParticipant:
    last_name: str
    first_name: str
    email: str
    phone: str


@dataclass(frozen=True, slots=True)
class Purchase:
    participant: Participant | None
    order: Order


class Store:
    """All organizers, events, ticket types, participants and orders of one fake.

    ``load`` is called at construction and by :meth:`reset`; it returns the
    initial data set (generated from a seed, or read from a fixture file).
    """

    def __init__(self, load: Callable[[], Dataset], *, clock: Clock | None = None) -> None:
        self._load = load
        self.clock = clock or Clock()
        # One lock for every read-modify-write: purchases are atomic even when
        # handlers run in a thread pool.
        self._lock = threading.RLock()
        self.version = 0
        self.reset()

    # -- lifecycle ---------------------------------------------------------

    def reset(self) -> None:
        """Back to the initial data set: every purchase and new participant is forgotten."""
        self.replace(self._load())

    def replace(self, dataset: Dataset, load: Callable[[], Dataset] | None = None) -> None:
        """Swap in ``dataset``; with ``load``, it also becomes what :meth:`reset` returns to."""
        with self._lock:
            if load is not None:
                self._load = load
            self.organizers = list(dataset.organizers)
            self.events = sorted(dataset.events, key=lambda e: (e.date_start, e.id))
            orders: Orders | None = getattr(self, "orders", None)
            if orders is None:
                self.orders = Orders(dataset.orders)
            else:
                orders.reload(dataset.orders)  # the same dict: see Orders.__init__
            self._by_token = {o.token: o for o in self.organizers}
            self._events = {e.id: e for e in self.events}
            self._events_of: dict[str, list[Event]] = {o.id: [] for o in self.organizers}
            for event in self.events:
                self._events_of.setdefault(event.organizer_id, []).append(event)
            self._tickets = {t.id: t for e in self.events for t in e.tickets}
            # Participants held as objects, by id; generated ones are found from their id.
            self._participants: dict[str, Participant] = {}
            self._generated: dict[str, GeneratedParticipants] = {}
            self._rosters: dict[str, Roster] = {}
            for event in self.events:
                roster = self._rosters[event.id] = _roster(event)
                if isinstance(roster.base, GeneratedParticipants):
                    self._generated[roster.base.tag_hex] = roster.base
                else:
                    self._participants.update((p.id, p) for p in roster.base)
                self._participants.update((p.id, p) for p in roster.added)
            count = sum(len(r) for r in self._rosters.values())
            # Seeded by the data set, not its size alone: two stores of the same size (two
            # sandboxes) must not hand out the same ids; the same data set, the same ids.
            first = self.organizers[0].id if self.organizers else ""
            self._ids = ObjectIdFactory(random.Random(f"{first}:{count}"))
            self.description = dataset.description
            self.version += 1

    def dataset(self) -> Dataset:
        """The current state (shared objects, not copies)."""
        return Dataset(self.organizers, self.events, list(self.orders.values()), self.description)

    # -- the five operations -----------------------------------------------

    def authenticate(self, token: str) -> Organizer:
        organizer = self._by_token.get(token)
        if organizer is None:
            raise Unauthorized("the bearer token is not valid")
        return organizer

    def list_events(self, organizer: Organizer, page: int, limit: int) -> Page[Event]:
        return _paginate(self._events_of.get(organizer.id, []), page, limit)

    def get_event(self, organizer: Organizer, event_id: str) -> Event:
        event = self._events.get(event_id)
        # Another organizer's event is "not found": its existence is not revealed.
        if event is None or event.organizer_id != organizer.id:
            raise EventNotFound(event_id)
        return event

    def list_tickets(self, organizer: Organizer, event_id: str) -> list[TicketType]:
        return self.get_event(organizer, event_id).tickets

    def create_tickets(
        self,
        organizer: Organizer,
        event_id: str,
        lines: Sequence[tuple[str, int]],
        participant: str | NewParticipant | None,
    ) -> Purchase:
        """Issue tickets: every line or none, never more than are left. Lines naming the
        same ticket type add up.

        ``participant`` is an existing participant's id, a new participant, or None.
        """
        with self._lock:
            event = self.get_event(organizer, event_id)
            wanted: list[tuple[TicketType, int]] = []
            for index, (ticket_id, quantity) in enumerate(lines):
                ticket = self._tickets.get(ticket_id)
                if ticket is None or ticket.event_id != event.id:
                    raise TicketNotFound(
                        ticket_id, event.id, field=f"body.tickets[{index}].ticket_id"
                    )
                wanted.append((ticket, quantity))
            holder: Participant | None = None
            if isinstance(participant, str):
                holder = self._find_participant(participant)
                if holder is None or holder.event_id != event.id:
                    raise ParticipantNotFound(participant)
            # Lines naming one ticket type add up (x-goevent-assumption "Duplicate ticket
            # lines"): the sum must be left, checked at the last line that names it.
            asked: dict[str, int] = {}
            for index, (ticket, quantity) in enumerate(wanted):
                asked[ticket.id] = total = asked.get(ticket.id, 0) + quantity
                if ticket.quantity < total:
                    naming = sum(1 for t, _ in wanted[: index + 1] if t is ticket)
                    raise NotEnoughTickets(
                        f"ticket {ticket.id} ({ticket.name}) has {ticket.quantity} left, "
                        f"{total} asked for"
                        + (f" on {naming} lines" if naming > 1 else "")
                        + "; nothing was sold",
                        field=f"body.tickets[{index}].quantity",
                    )
            # Every check passed: from here on nothing can fail.
            now = self.clock.now()
            # The API's dates carry milliseconds; keep no more, so exports round-trip.
            now = now.replace(microsecond=now.microsecond // 1000 * 1000)
            if isinstance(participant, NewParticipant):
                holder = Participant(
                    id=self._ids.make(now),
                    event_id=event.id,
                    last_name=participant.last_name,
                    first_name=participant.first_name,
                    email=participant.email,
                    phone=participant.phone,
                    address=None,
                    confirmed=True,
                    created=now,
                )
                self._rosters[event.id].add(holder)
                self._participants[holder.id] = holder
            for ticket, quantity in wanted:
                ticket.quantity -= quantity
            order_id = self._ids.make(now)
            bought = tuple((t.id, t.name, q) for t, q in wanted)
            self.orders.add(order_id, event.id, holder.id if holder else None, now, bought)
            order = Order(order_id, event.id, holder.id if holder else None, now,
                          tuple(OrderLine(*line) for line in bought))  # fmt: skip
            self.version += 1
            return Purchase(holder, order)

    def list_participants(
        self, organizer: Organizer, event_id: str, page: int, limit: int
    ) -> Page[Participant]:
        return _paginate(self._rosters[self.get_event(organizer, event_id).id], page, limit)

    # -- lookups for the fake's own endpoints --------------------------------

    def get_order(self, order_id: str) -> Order | None:
        return self.orders.get(order_id)

    def get_participant(self, participant_id: str) -> Participant | None:
        return self._find_participant(participant_id)

    def _find_participant(self, participant_id: str) -> Participant | None:
        found = self._participants.get(participant_id)
        if found is None:
            generated = self._generated.get(participant_id[8:18])
            if generated is not None:
                found = generated.find(participant_id)
        return found

    def event_by_id(self, event_id: str) -> Event | None:
        return self._events.get(event_id)


def _roster(event: Event) -> Roster:
    """The event's participants as a Roster, which the event then holds (exports see it)."""
    roster = event.participants
    if not isinstance(roster, Roster):
        roster = event.participants = Roster(roster)
    return roster


def _paginate(items: Sequence[T], page: int, limit: int) -> Page[T]:
    start = (page - 1) * limit
    chunk = items[start : start + limit]
    has_next = start + limit < len(items)
    return Page(chunk, has_next, page + 1 if has_next else None)
