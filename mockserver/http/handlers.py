"""The five GoEvent operations over HTTP: parse, call the store, render.

Each handler is named after its ``operationId`` and receives a :class:`Call`
whose parameters and body were already checked against the spec.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from ..store import NewParticipant, Store
from ..store.models import Organizer
from ..tickets import TicketSigner
from .links import base_url as link_base
from .render import Renderer

__all__ = ["HANDLERS", "Call"]


@dataclass(frozen=True, slots=True)
class Call:
    store: Store
    render: Renderer
    signer: TicketSigner
    organizer: Organizer
    params: dict[str, Any]
    body: Any
    request: Request

    @property
    def base_url(self) -> str:
        # Built on demand: only Create Tickets needs it. Never from Host (http/links.py).
        return link_base(self.request)


def list_events(c: Call) -> bytes:
    return c.render.list_events(
        c.store.list_events(c.organizer, c.params["page"], c.params["limit"])
    )


def get_event(c: Call) -> bytes:
    return c.render.get_event(c.store.get_event(c.organizer, c.params["id"]))


def list_tickets(c: Call) -> bytes:
    return c.render.list_tickets(c.store.list_tickets(c.organizer, c.params["eventId"]))


def create_tickets(c: Call) -> bytes:
    # int(): JSON Schema counts 2.0 as an integer, and so must we (never store a float).
    lines = [(line["ticket_id"], int(line["quantity"])) for line in c.body["tickets"]]
    form = c.body.get("participant")
    participant = (
        None if form is None
        else form["participantId"] if "participantId" in form
        else NewParticipant(form["last_name"], form["first_name"], form["email"], form["phone"])
    )  # fmt: skip
    purchase = c.store.create_tickets(c.organizer, c.body["eventId"], lines, participant)
    order = purchase.order
    issued = [
        {"name": line.name, "url": c.signer.url(c.base_url, order.id, i, order.created),
         "quantity": line.quantity}
        for i, line in enumerate(order.lines)
    ]  # fmt: skip
    return c.render.create_tickets(purchase.participant, issued)


def list_participants(c: Call) -> bytes:
    page = c.store.list_participants(
        c.organizer, c.params["eventId"], c.params["page"], c.params["limit"]
    )
    return c.render.list_participants(page)


HANDLERS: dict[str, Callable[[Call], bytes]] = {
    "listEvents": list_events,
    "getEvent": get_event,
    "listTickets": list_tickets,
    "createTickets": create_tickets,
    "listParticipants": list_participants,
}
