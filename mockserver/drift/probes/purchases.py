"""Purchase probes: a purchase's effects, its echoes, and the purchases that must be refused.

Each field a purchase sends must come back as sent, wherever it is shown: in
its answer and in every later listing (the participant list, ticket
quantities). They run only where the target allows writes, on its test event.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from .. import rules
from ..findings import Rule
from ..guard import Reply
from .base import (
    STATUS_SAYS,
    STATUS_TITLE,
    UNKNOWN_ID,
    Inconclusive,
    ProbeContext,
    probe,
    quantity,
)

__all__: list[str] = []

PURCHASE_SUCCEEDS = Rule("purchase_status", STATUS_TITLE, STATUS_SAYS, ("success-status",))
NEW_PARTICIPANT_ANSWERED = Rule(
    "purchase_participant",
    "The new participant is not echoed back",
    "participant = the new participant, address null",
    ("new-participant",),
)
NOBODY_ANSWERED = Rule(
    "purchase_participant",
    "A purchase for nobody names a participant",
    "participant: null",
    ("participant-absent",),
)
QUANTITY_LOWERED = Rule(
    "purchase_lowers_quantity",
    "A purchase does not lower quantity by what was bought",
    "ticket {ticket}: {before} before, {bought} bought of {bought_id}, so {expected}",
    ("ticket-quantity",),
)
BUYER_LISTED_ONCE = Rule(
    "buyer_listed",
    "The buyer is not in the participant list",
    "after a purchase the new participant is listed exactly once",
    ("new-participant",),
)
BUYER_LISTED_AS_NEW = Rule(
    "buyer_listed",
    "The new participant is listed with other facts",
    "confirmed: true, created = the time of the purchase",
    ("new-participant",),
)
ECHOED = Rule(
    "echo_fidelity",
    "{shown} does not show the {field} that was sent",
    "{field} is shown as sent: {sent}",
    ("echo-fidelity",),
)
REFUSED_PURCHASE_STATUS = {
    key: Rule("purchase_refused", STATUS_TITLE, STATUS_SAYS, keys)
    for key, keys in {
        "too-many": ("not-enough-left", "purchase-atomicity"),
        "unknown-participant": ("participant-id-unknown",),
        "duplicate-lines": ("duplicate-ticket-lines",),
        "line-quantity": ("line-quantity",),
        "ticket-lines": ("ticket-lines",),
        "body-size": ("body-size",),
        "participant-elsewhere": ("participant-of-another-event",),
    }.items()
}
REFUSED_SELLS_NOTHING = Rule(
    "purchase_atomicity",
    "A refused purchase sold tickets",
    "a refused purchase changes nothing",
    ("purchase-atomicity",),
)


# -- purchases: each field sent must come back as sent, wherever it is shown ------



def _buyable(
    ctx: ProbeContext, event_id: str, at_least: int
) -> tuple[dict[str, dict[str, Any]], str]:
    tickets, _ = ctx.tickets(event_id)
    for ticket_id, ticket in tickets.items():
        left = quantity(ticket)
        if left is not None and left >= at_least:
            return tickets, ticket_id
    raise Inconclusive(f"event {event_id} has no ticket type with {at_least} or more left")


def _echo(
    ctx: ProbeContext,
    shown: str,
    sent: dict[str, Any],
    got: Any,
    *replies: Reply,
    on: str,
) -> None:
    """Every field of ``sent`` is in ``got`` (one object of an answer) with the value sent."""
    for name, value in sent.items():
        actual = got.get(name) if isinstance(got, dict) else None
        if actual != value:
            rule = ECHOED.given(shown=shown, field=name, sent=repr(value))
            ctx.broke(rule, f"{name} shown as {actual!r}", *replies, on=on)


def _echo_lines(
    ctx: ProbeContext,
    lines: list[dict[str, Any]],
    names: dict[str, str],
    bought: Reply,
) -> None:
    """The answer's ``tickets`` show each line sent: its ticket type's name, its quantity."""
    issued = bought.json().get("tickets") if isinstance(bought.json(), dict) else None
    shown = [(t.get("name"), t.get("quantity")) for t in issued or [] if isinstance(t, dict)]
    for line in lines:
        expected = (names.get(line["ticket_id"]), line["quantity"])
        if expected not in shown:
            rule = ECHOED.given(
                shown="The purchase's answer", field="ticket line", sent=repr(expected)
            )
            ctx.broke(rule, f"tickets shown as {shown[:5]}", bought, on="createTickets")


def _names(tickets: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {tid: str(t.get("name")) for tid, t in tickets.items()}


def _lowered(
    ctx: ProbeContext,
    before: dict[str, dict[str, Any]],
    bought_id: str,
    bought_quantity: int,
    event_id: str,
    bought: Reply,
) -> None:
    """Every ticket type's quantity is what it was, less what was bought of it."""
    after, reply = ctx.tickets(event_id)
    for tid, ticket in before.items():
        expected = (quantity(ticket) or 0) - (bought_quantity if tid == bought_id else 0)
        if quantity(after.get(tid)) != expected:
            rule = QUANTITY_LOWERED.given(
                ticket=tid,
                before=quantity(ticket),
                bought=bought_quantity,
                bought_id=bought_id,
                expected=expected,
            )
            ctx.broke(rule, f"quantity after: {quantity(after.get(tid))}", bought, reply)


def _probe_form(ctx: ProbeContext) -> dict[str, str]:
    """The participant this run creates: the only one a probe ever buys for by id, so that
    a live run never issues tickets in a real person's name."""
    return {
        "last_name": "Probe",
        "first_name": f"Drift {ctx.run_id}",
        "email": f"drift-probe+{ctx.run_id}@example.com",
        "phone": "+33 1 23 45 67 89",
    }


def _listed(
    ctx: ProbeContext, event_id: str, participant_id: Any, email: Any
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[Reply]]:
    """(the participants listed with this id or e-mail, all listed, the replies)."""
    listed, replies, _ = ctx.walk(
        "listParticipants", "/participants", "participants", 100, eventId=event_id
    )
    matches = [p for p in listed if p.get("id") == participant_id or p.get("email") == email]
    return matches, listed, replies


@probe(
    "createTickets",
    "ticket-quantity",
    "new-participant",
    "success-status",
    "echo-fidelity",
    writes=True,
)
def purchase_new_participant(ctx: ProbeContext) -> None:
    """A purchase lowers ``quantity`` by exactly what was bought; the buyer is listed as sent."""
    event_id = ctx.event_id()
    before, ticket_id = _buyable(ctx, event_id, 2)
    started = datetime.now(UTC)
    form = _probe_form(ctx)
    lines = [{"ticket_id": ticket_id, "quantity": 2}]
    bought = ctx.buy({"eventId": event_id, "tickets": lines, "participant": form})
    if not ctx.expect_status(bought, 200, PURCHASE_SUCCEEDS, "a valid purchase"):
        return
    buyer = ctx.ok_json(bought, "participant", "tickets")["participant"]
    if not isinstance(buyer, dict) or buyer.get("address") is not None:
        ctx.broke(NEW_PARTICIPANT_ANSWERED, str(buyer)[:300], bought)
    _echo(ctx, "The purchase's answer", form, buyer, bought, on="createTickets")
    _echo_lines(ctx, lines, _names(before), bought)
    _lowered(ctx, before, ticket_id, 2, event_id, bought)
    buyer_id = buyer.get("id") if isinstance(buyer, dict) else None
    matches, listed, replies = _listed(ctx, event_id, buyer_id, form["email"])
    if len(matches) != 1:
        did = f"{len(matches)} participant(s) with id {buyer_id} in {len(listed)} listed"
        ctx.broke(BUYER_LISTED_ONCE, did, bought, *replies[-1:])
        return
    _echo(ctx, "The participant list", form, matches[0], *replies[-1:], on="listParticipants")
    created = rules.parse_date(matches[0].get("created"))
    late = created is None or not (
        started - timedelta(minutes=5) <= created <= datetime.now(UTC) + timedelta(minutes=5)
    )
    if matches[0].get("confirmed") is not True or late:
        ctx.broke(BUYER_LISTED_AS_NEW, str(matches[0])[:300], bought, *replies[-1:])


@probe("createTickets", "participant-absent", "ticket-quantity", "echo-fidelity", writes=True)
def purchase_without_participant(ctx: ProbeContext) -> None:
    """Tickets bought for nobody: ``participant`` is null, the lines echo, the quantity drops."""
    event_id = ctx.event_id()
    before, ticket_id = _buyable(ctx, event_id, 1)
    lines = [{"ticket_id": ticket_id, "quantity": 1}]
    bought = ctx.buy({"eventId": event_id, "tickets": lines})
    if not ctx.expect_status(bought, 200, PURCHASE_SUCCEEDS, "a valid purchase"):
        return
    body = ctx.ok_json(bought, "participant", "tickets")
    if body["participant"] is not None:
        ctx.broke(NOBODY_ANSWERED, str(body["participant"])[:300], bought)
    _echo_lines(ctx, lines, _names(before), bought)
    _lowered(ctx, before, ticket_id, 1, event_id, bought)


@probe("createTickets", "ticket-quantity", "echo-fidelity", writes=True)
def purchase_for_existing_participant(ctx: ProbeContext) -> None:
    """Tickets for a listed participant: the answer names that participant, as listed, unchanged.

    The participant is the one this run creates (made here unless an earlier probe of the
    run made it), never someone else listed on the test event."""
    event_id = ctx.event_id()
    form = _probe_form(ctx)
    own, _, replies = _listed(ctx, event_id, None, form["email"])
    if not own:
        _, first_ticket = _buyable(ctx, event_id, 1)
        lines = [{"ticket_id": first_ticket, "quantity": 1}]
        made = ctx.buy({"eventId": event_id, "tickets": lines, "participant": form})
        if not ctx.expect_status(made, 200, PURCHASE_SUCCEEDS, "a purchase for a new buyer"):
            return
        own, _, replies = _listed(ctx, event_id, None, form["email"])
    if len(own) != 1 or not isinstance(own[0].get("id"), str):
        raise Inconclusive(f"the participant this run created is not listed once on {event_id}")
    first = replies[-1]
    before, ticket_id = _buyable(ctx, event_id, 1)
    holder = {k: v for k, v in own[0].items() if k == "id" or k in rules.FORM_FIELDS}
    lines = [{"ticket_id": ticket_id, "quantity": 1}]
    participant = {"participantId": holder["id"]}
    bought = ctx.buy({"eventId": event_id, "tickets": lines, "participant": participant})
    if not ctx.expect_status(bought, 200, PURCHASE_SUCCEEDS, "a purchase for a participant"):
        return
    answered = ctx.ok_json(bought, "participant", "tickets")["participant"]
    _echo(ctx, "The purchase's answer", holder, answered, first, bought, on="createTickets")
    _echo_lines(ctx, lines, _names(before), bought)
    _lowered(ctx, before, ticket_id, 1, event_id, bought)
    matches, _, replies = _listed(ctx, event_id, holder["id"], None)
    if len(matches) != 1:
        did = f"{len(matches)} participant(s) with id {holder['id']} after the purchase"
        ctx.broke(BUYER_LISTED_ONCE, did, bought, *replies[-1:])
        return
    _echo(ctx, "The participant list", holder, matches[0], *replies[-1:], on="listParticipants")


@probe(
    "createTickets",
    "not-enough-left",
    "purchase-atomicity",
    "participant-id-unknown",
    "duplicate-ticket-lines",
    "line-quantity",
    "ticket-lines",
    "body-size",
    "participant-of-another-event",
    writes=True,
)
def purchase_rejections(ctx: ProbeContext) -> None:
    """Refused purchases (too many, unknown buyer, repeated or oversized lines) sell nothing."""
    event_id = ctx.event_id()
    before, ticket_id = _buyable(ctx, event_id, 1)
    others = [t for t in before if t != ticket_id and quantity(before[t]) is not None]
    too_many = (quantity(before[others[0]]) if others else quantity(before[ticket_id])) or 0
    last = others[0] if others else ticket_id
    line = {"ticket_id": ticket_id, "quantity": 1}
    oversized = (
        b'{"eventId": "' + event_id.encode() + b'", "tickets": [], "padding": "'
        + b"x" * (1024 * 1024) + b'"}'
    )  # fmt: skip
    attempts: list[tuple[dict[str, Any] | bytes, int, str, str]] = [
        (
            {"eventId": event_id, "tickets": [line], "participant": {"participantId": UNKNOWN_ID}},
            404,
            "unknown-participant",
            "an unknown participantId",
        ),
        (
            {"eventId": event_id, "tickets": [line, line]},
            400,
            "duplicate-lines",
            "the same ticket_id on two lines",
        ),
        (
            {"eventId": event_id, "tickets": [{"ticket_id": ticket_id, "quantity": 1001}]},
            400,
            "line-quantity",
            "a line quantity of 1001",
        ),
        ({"eventId": event_id, "tickets": [line] * 51}, 400, "ticket-lines", "51 ticket lines"),
        (oversized, 413, "body-size", "a body over 1 MiB"),
    ]
    if too_many < 1000:  # one more than is left, next to a line that alone would succeed
        lines = ([line] if others else []) + [{"ticket_id": last, "quantity": too_many + 1}]
        body: dict[str, Any] = {"eventId": event_id, "tickets": lines}
        attempts.insert(0, (body, 409, "too-many", "more tickets than are left"))
    elsewhere = _participant_elsewhere(ctx, event_id)
    if elsewhere is None:
        ctx.cannot_test("participant-of-another-event", "no other event has participants")
    else:
        participant = {"participantId": elsewhere}
        other = {"eventId": event_id, "tickets": [line], "participant": participant}
        attempts.append((other, 404, "participant-elsewhere", "a participant of another event"))
    replies = []
    for sent, status, rule, why in attempts:
        if isinstance(sent, bytes):
            reply = ctx.api.request("createTickets", "POST", "/tickets/create", content=sent)
        else:
            reply = ctx.buy(sent)
        replies.append(reply)
        ctx.expect_status(reply, status, REFUSED_PURCHASE_STATUS[rule], f"a purchase of {why}")
    after, reply = ctx.tickets(event_id)
    changed = {
        t: (quantity(before[t]), quantity(after.get(t)))
        for t in before
        if quantity(before[t]) != quantity(after.get(t))
    }
    if changed:
        did = f"quantity (before, after): {changed}"
        ctx.broke(REFUSED_SELLS_NOTHING, did, *replies, reply, on="createTickets")


def _participant_elsewhere(ctx: ProbeContext, event_id: str) -> str | None:
    """The id of a participant of another event of the same token, if one exists."""
    for event in ctx.my_events()[:5]:
        other = str(event.get("id"))
        if other.lower() == event_id.lower():  # an id-format drift must not pass as another event
            continue
        reply = ctx.get("listParticipants", "/participants", eventId=other, page=1, limit=1)
        listed = reply.json().get("participants") if isinstance(reply.json(), dict) else None
        if reply.status == 200 and isinstance(listed, list) and listed:
            participant_id = listed[0].get("id") if isinstance(listed[0], dict) else None
            if isinstance(participant_id, str):
                return participant_id
    return None
