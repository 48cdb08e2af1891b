"""Business-rule probes: short, deterministic request sequences that check what one response cannot.

Each probe tests rules and ``x-goevent-assumption`` topics of the spec and
reports a :class:`~.findings.Finding` for each it finds broken. Read-only
probes run everywhere; purchase probes only where the target allows writes,
and only on its test event; the isolation probe only with a second token.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from . import rules
from .contract import Contract
from .findings import BROKE, Finding
from .guard import Api, Reply
from .target import Target

__all__ = ["PROBES", "Probe", "ProbeContext", "ProbeResult", "run_probes"]

UNKNOWN_ID = "0" * 24
WALK_PAGES = 15  # pages a walk reads at most: bounded cost on a large live account


class Inconclusive(Exception):
    """The probe could not test its rule (the answer's shape is already a schema finding)."""


@dataclass
class ProbeResult:
    name: str
    status: Literal["passed", "failed", "skipped", "inconclusive"]
    reason: str = ""
    findings: list[Finding] = field(default_factory=list)
    tested: list[str] = field(default_factory=list)  # topic keys the probe exercised
    refuted: list[str] = field(default_factory=list)  # topic keys it found broken
    topics: tuple[str, ...] = ()  # topic keys it tests when it runs


@dataclass
class ProbeContext:
    """What a probe works with: the client, the spec and the run's bookkeeping."""

    target: Target
    api: Api
    contract: Contract
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    findings: list[Finding] = field(default_factory=list)
    refuted: list[str] = field(default_factory=list)
    untested: list[str] = field(default_factory=list)  # topics the probe could not reach
    probe: str = ""
    _events: list[dict[str, Any]] | None = None

    # -- reporting ---------------------------------------------------------

    def fail(
        self,
        check: str,
        operation: str,
        title: str,
        spec_says: str,
        server_did: str,
        replies: list[Reply],
        topics: tuple[str, ...] = (),
    ) -> None:
        """Record one broken rule; ``topics`` are the assumptions it contradicts."""
        self.refuted += topics
        self.findings.append(
            Finding(
                kind=BROKE,
                check=check,
                operation=operation,
                endpoint=self.contract.endpoint(operation),
                title=title,
                spec_says=spec_says,
                server_did=server_did,
                curl="\n".join(dict.fromkeys(r.curl for r in replies)),
                source=f"probe {self.probe}",
                refutes=[a.text for a in self.contract.find(operation, *topics)],
            )
        )

    def expect_status(
        self, reply: Reply, expected: int, check: str, topics: tuple[str, ...], why: str
    ) -> bool:
        """Fail unless ``reply`` has ``expected`` status and, for an error, the Error shape."""
        if reply.status != expected:
            self.fail(
                check,
                reply.operation,
                f"{why}: expected {expected}, got {reply.status}",
                f"{why} → {expected}",
                reply.describe() + _snippet(reply),
                [reply],
                topics,
            )
            return False
        if expected >= 400:
            body = reply.json()
            if not (
                isinstance(body, dict)
                and body.get("success") is False
                and isinstance(body.get("code"), str)
                and isinstance(body.get("message"), str)
            ):
                self.fail(
                    "error_body",
                    reply.operation,
                    "Error answer without the Error shape",
                    '{"success": false, "code": "...", "message": "..."}',
                    reply.describe() + _snippet(reply),
                    [reply],
                    ("Error body",),
                )
                return False
        return True

    # -- shared reads --------------------------------------------------------

    def get(self, operation: str, path: str, **params: Any) -> Reply:
        return self.api.request(operation, "GET", path, params=params)

    def ok_json(self, reply: Reply, *keys: str) -> dict[str, Any]:
        """The body of a 200 answer holding ``keys``; otherwise the probe is inconclusive."""
        body = reply.json()
        if reply.status != 200 or not isinstance(body, dict) or any(k not in body for k in keys):
            raise Inconclusive(
                f"{reply.method} {reply.url} answered {reply.describe()}, "
                f"not a 200 with {', '.join(keys)}"
            )
        return body

    def walk(
        self, operation: str, path: str, key: str, limit: int, check: str, **params: Any
    ) -> tuple[list[dict[str, Any]], list[Reply], bool]:
        """Every page of a list, at most WALK_PAGES: (items, replies, reached the last page)."""
        items: list[dict[str, Any]] = []
        replies: list[Reply] = []
        page = 1
        while len(replies) < WALK_PAGES:
            reply = self.get(operation, path, page=page, limit=limit, **params)
            replies.append(reply)
            body = self.ok_json(reply, key, "paginate")
            chunk, paginate = body[key], body["paginate"]
            if not isinstance(chunk, list) or not isinstance(paginate, dict):
                raise Inconclusive(f"{path} page {page}: {key}/paginate are not a list/an object")
            problems = rules.page_problems(chunk, paginate, page, limit)
            if problems:
                self.fail(
                    check,
                    operation,
                    "A page breaks its limit or its paginate",
                    "at most `limit` items; hasNextPage true ⇒ nextPage = page + 1 and a "
                    "full page; false ⇒ nextPage null",
                    "\n".join(problems),
                    [reply],
                    ("Last page",),
                )
                return items + chunk, replies, False
            items += [i for i in chunk if isinstance(i, dict)]
            if paginate.get("hasNextPage") is not True:
                return items, replies, True
            page += 1
        return items, replies, False

    def my_events(self) -> list[dict[str, Any]]:
        """The first page of up to 100 events of the main token (read once)."""
        if self._events is None:
            reply = self.get("listEvents", "/events", page=1, limit=100)
            events = self.ok_json(reply, "events")["events"]
            self._events = (
                [e for e in events if isinstance(e, dict)] if isinstance(events, list) else []
            )
        return self._events

    def event_id(self) -> str:
        """The event the probes read participants of and buy tickets for."""
        if self.target.test_event_id:
            return self.target.test_event_id
        for event in self.my_events():
            if isinstance(event.get("id"), str):
                return str(event["id"])
        raise Inconclusive("the token sees no event: nothing to probe")

    def tickets(self, event_id: str) -> tuple[dict[str, dict[str, Any]], Reply]:
        reply = self.get("listTickets", "/tickets", eventId=event_id)
        tickets = self.ok_json(reply, "tickets")["tickets"]
        if not isinstance(tickets, list):
            raise Inconclusive("GET /tickets: tickets is not a list")
        return {str(t.get("id")): t for t in tickets if isinstance(t, dict)}, reply

    def buy(self, body: dict[str, Any]) -> Reply:
        return self.api.request("createTickets", "POST", "/tickets/create", json=body)


def _snippet(reply: Reply, limit: int = 300) -> str:
    text = reply.content[:limit].decode("utf-8", "replace")
    return f"\n{text}" + ("…" if len(reply.content) > limit else "") if text else ""


def _quantity(ticket: dict[str, Any] | None) -> int | None:
    value = ticket.get("quantity") if ticket else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# -- the probes ----------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    name: str
    operation: str  # the operation its findings usually name
    doc: str
    topics: tuple[str, ...]
    run: Callable[[ProbeContext], None]
    writes: bool = False
    other_token: bool = False


PROBES: list[Probe] = []


def probe(
    operation: str, *topics: str, writes: bool = False, other_token: bool = False
) -> Callable[[Callable[[ProbeContext], None]], Callable[[ProbeContext], None]]:
    def register(func: Callable[[ProbeContext], None]) -> Callable[[ProbeContext], None]:
        PROBES.append(
            Probe(
                func.__name__,
                operation,
                (func.__doc__ or "").strip().split("\n")[0],
                topics,
                func,
                writes,
                other_token,
            )
        )
        return func

    return register


def _order_key(item: dict[str, Any], field_name: str) -> tuple[str, str]:
    return (str(item.get(field_name)), str(item.get("id")))


def _check_walk(
    ctx: ProbeContext,
    operation: str,
    items: list[dict[str, Any]],
    replies: list[Reply],
    complete: bool,
    order_field: str,
    reference: list[dict[str, Any]] | None,
) -> None:
    ids = [str(i.get("id")) for i in items]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        ctx.fail(
            "page_walk",
            operation,
            "Walking the pages returns an item more than once",
            "each item on exactly one page",
            f"repeated ids: {', '.join(repeated[:5])}",
            replies,
            ("Ordering",),
        )
        return
    keys = [_order_key(i, order_field) for i in items]
    if keys != sorted(keys):
        ctx.fail(
            "page_order",
            operation,
            f"Items are not ordered by {order_field} then id",
            f"ordered by {order_field} then id, stable across pages",
            f"order seen: {[k[1] for k in keys][:8]}",
            replies,
            ("Ordering",),
        )
    if complete and reference is not None and len(reference) < 100:
        expected = {str(i.get("id")) for i in reference}
        if set(ids) != expected:
            missing, extra = sorted(expected - set(ids)), sorted(set(ids) - expected)
            ctx.fail(
                "page_walk",
                operation,
                "The pages do not hold the same items as one big page",
                "walking every page returns each item once",
                f"missing {missing[:5]}, unexpected {extra[:5]}",
                replies,
                ("Ordering",),
            )


@probe("listEvents", "Ordering", "Last page")
def events_pages(ctx: ProbeContext) -> None:
    """Walking every page of events returns each once, in order; it stops where hasNextPage says."""
    items, replies, complete = ctx.walk("listEvents", "/events", "events", 2, "page_walk")
    _check_walk(ctx, "listEvents", items, replies, complete, "dateStart", ctx.my_events())


@probe("listParticipants", "Ordering", "Last page", "Participants default `limit`")
def participants_pages(ctx: ProbeContext) -> None:
    """Walking every page of an event's participants returns each once; the default limit is 20."""
    event_id = ctx.event_id()
    items, replies, complete = ctx.walk(
        "listParticipants", "/participants", "participants", 7, "page_walk", eventId=event_id
    )
    big = ctx.get("listParticipants", "/participants", eventId=event_id, page=1, limit=100)
    reference = ctx.ok_json(big, "participants")["participants"]
    _check_walk(
        ctx,
        "listParticipants",
        items,
        replies,
        complete,
        "created",
        reference if isinstance(reference, list) else None,
    )
    default = ctx.get("listParticipants", "/participants", eventId=event_id)
    chunk = ctx.ok_json(default, "participants")["participants"]
    if isinstance(chunk, list) and isinstance(reference, list):
        expected = min(20, len(reference))
        if len(chunk) != expected:
            ctx.fail(
                "default_limit",
                "listParticipants",
                "The default page size is not 20",
                "without `limit`, a page holds min(20, participants) items",
                f"{len(chunk)} items (the event has {len(reference)}+)",
                [default],
                ("Participants default `limit`",),
            )


@probe("listEvents", "`page` < 1")
def limits_enforced(ctx: ProbeContext) -> None:
    """``page`` < 1, ``limit`` < 1, ``limit`` > 100 and non-numbers get 400; ``limit`` is obeyed."""
    event_id = ctx.event_id()
    for operation, path, extra in (
        ("listEvents", "/events", {}),
        ("listParticipants", "/participants", {"eventId": event_id}),
    ):
        for params in ({"limit": 101}, {"limit": 0}, {"page": 0}, {"limit": "ten"}):
            reply = ctx.get(operation, path, **extra, **params)
            ctx.expect_status(
                reply, 400, "limit_enforced", ("`page` < 1",), f"{path} with {params}"
            )
        reply = ctx.get(operation, path, **extra, page=1, limit=1)
        key = "events" if operation == "listEvents" else "participants"
        chunk = ctx.ok_json(reply, key)[key]
        if isinstance(chunk, list) and len(chunk) > 1:
            ctx.fail(
                "limit_enforced",
                operation,
                "`limit` is not obeyed",
                "a page holds at most `limit` items",
                f"limit=1 returned {len(chunk)} items",
                [reply],
                ("`page` < 1",),
            )


@probe("getEvent", "Ticket `quantity`")
def objects_agree(ctx: ProbeContext) -> None:
    """Ids are ObjectIds, links follow slugs, dates are ordered, tickets agree in every view."""
    events = ctx.my_events()
    listed = ctx.get("listEvents", "/events", page=1, limit=100)
    for index, event in enumerate(events):
        problems = rules.object_id_problems(event, f"$.events[{index}]")
        problems += rules.event_problems(event, f"$.events[{index}]")
        if problems:
            ctx.fail(
                "event_rules",
                "listEvents",
                "A listed event breaks the event rules",
                "ids are ObjectIds; path/siteUrl/checkoutUrl follow the slug; dateEnd >= dateStart",
                "\n".join(problems[:5]),
                [listed],
            )
            break
    for event in events[:3]:
        event_id = str(event.get("id"))
        single = ctx.get("getEvent", f"/event/{event_id}")
        body = ctx.ok_json(single, "event", "tickets")
        if body["event"] != event:
            ctx.fail(
                "views_agree",
                "getEvent",
                "Get Single Event and List Events disagree",
                "the same event has the same fields in both operations",
                f"listed: {str(event)[:200]}\nsingle: {str(body['event'])[:200]}",
                [listed, single],
            )
        problems = rules.ticket_problems(body["tickets"]) + rules.object_id_problems(
            body["tickets"]
        )
        if problems:
            ctx.fail(
                "ticket_rules",
                "getEvent",
                "Tickets break the ticket rules",
                "quantity >= 0, available == (quantity > 0), ids are ObjectIds",
                "\n".join(problems[:5]),
                [single],
                ("Ticket `quantity`",),
            )
        tickets, reply = ctx.tickets(event_id)
        problems = rules.ticket_problems(list(tickets.values()))
        if problems:
            ctx.fail(
                "ticket_rules",
                "listTickets",
                "Tickets break the ticket rules",
                "quantity >= 0 and available == (quantity > 0)",
                "\n".join(problems[:5]),
                [reply],
                ("Ticket `quantity`",),
            )
        single_tickets = {str(t.get("id")): t for t in body["tickets"] if isinstance(t, dict)}
        if single_tickets != tickets:
            ctx.fail(
                "views_agree",
                "listTickets",
                "List Tickets and Get Single Event disagree",
                "an event's tickets are the same in both operations",
                f"getEvent: {str(single_tickets)[:200]}\nlistTickets: {str(tickets)[:200]}",
                [single, reply],
            )


@probe("getEvent", "Unknown ObjectId", "Malformed ObjectId", "`eventId` missing", "Error body")
def unknown_and_malformed_ids(ctx: ProbeContext) -> None:
    """Unknown ObjectId: 404; malformed one: 400; missing ``eventId``: 400; in the Error shape."""
    checks = [
        ("getEvent", f"/event/{UNKNOWN_ID}", {}, 404, ("Unknown ObjectId",)),
        ("getEvent", "/event/not-an-object-id", {}, 400, ("Malformed ObjectId",)),
        ("listTickets", "/tickets", {}, 400, ("`eventId` missing",)),
        ("listTickets", "/tickets", {"eventId": UNKNOWN_ID}, 404, ("Unknown ObjectId",)),
        ("listTickets", "/tickets", {"eventId": "12345"}, 400, ("Malformed ObjectId",)),
        ("listParticipants", "/participants", {}, 400, ("`eventId` missing",)),
        ("listParticipants", "/participants", {"eventId": UNKNOWN_ID}, 404, ("Unknown ObjectId",)),
    ]
    for operation, path, params, status, topics in checks:
        reply = ctx.get(operation, path, **params)
        ctx.expect_status(
            reply, status, "id_handling", topics, f"GET {path} {params or ''}".strip()
        )


@probe("listEvents", "Missing or bad token")
def auth_required(ctx: ProbeContext) -> None:
    """Every operation answers 401, in the Error shape, without a token or with a wrong one."""
    event_id = ctx.event_id()
    calls: list[tuple[str, str, str, dict[str, Any] | None]] = [
        ("listEvents", "GET", "/events", None),
        ("getEvent", "GET", f"/event/{event_id}", None),
        ("listTickets", "GET", f"/tickets?eventId={event_id}", None),
        ("listParticipants", "GET", f"/participants?eventId={event_id}", None),
    ]
    if ctx.target.writes:
        # A request that would buy nothing even if the token were ignored: an unknown ticket.
        calls.append(
            (
                "createTickets",
                "POST",
                "/tickets/create",
                {"eventId": event_id, "tickets": [{"ticket_id": UNKNOWN_ID, "quantity": 1}]},
            )
        )
    for operation, method, path, body in calls:
        for token in (None, "not-a-valid-token"):
            reply = ctx.api.request(operation, method, path, json=body, token=token)
            ctx.expect_status(
                reply,
                401,
                "auth_required",
                ("Missing or bad token",),
                f"{method} {path.split('?')[0]} "
                + ("without a token" if token is None else "with a wrong token"),
            )


@probe("getEvent", "Event of another organizer", other_token=True)
def token_isolation(ctx: ProbeContext) -> None:
    """One token never sees another's events, tickets or participants."""
    mine = {str(e.get("id")) for e in ctx.my_events()}
    reply = ctx.api.request(
        "listEvents", "GET", "/events", params={"page": 1, "limit": 100}, token="other"
    )
    theirs = [e for e in ctx.ok_json(reply, "events")["events"] if isinstance(e, dict)]
    shared = sorted(mine & {str(e.get("id")) for e in theirs})
    if shared:
        ctx.fail(
            "token_isolation",
            "listEvents",
            "Two tokens list the same events",
            "each token lists only its own events",
            f"both list {shared[:5]}",
            [reply],
            ("Event of another organizer",),
        )
    for event in [e for e in theirs if str(e.get("id")) not in mine][:2]:
        other_id = str(event.get("id"))
        for operation, path, params in (
            ("getEvent", f"/event/{other_id}", {}),
            ("listTickets", "/tickets", {"eventId": other_id}),
            ("listParticipants", "/participants", {"eventId": other_id}),
        ):
            got = ctx.get(operation, path, **params)
            ctx.expect_status(
                got,
                404,
                "token_isolation",
                ("Event of another organizer",),
                f"GET {path} of another token's event",
            )


def _buyable(
    ctx: ProbeContext, event_id: str, at_least: int
) -> tuple[dict[str, dict[str, Any]], str]:
    tickets, _ = ctx.tickets(event_id)
    for ticket_id, ticket in tickets.items():
        quantity = _quantity(ticket)
        if quantity is not None and quantity >= at_least:
            return tickets, ticket_id
    raise Inconclusive(f"event {event_id} has no ticket type with {at_least} or more left")


@probe("createTickets", "Ticket `quantity`", "New participant", "Success status", writes=True)
def purchase_new_participant(ctx: ProbeContext) -> None:
    """A purchase lowers ``quantity`` by exactly what was bought and the buyer is then listed."""
    event_id = ctx.event_id()
    before, ticket_id = _buyable(ctx, event_id, 2)
    started = datetime.now(UTC)
    form = {
        "last_name": "Probe",
        "first_name": f"Drift {ctx.run_id}",
        "email": f"drift-probe+{ctx.run_id}@example.com",
        "phone": "+33 1 23 45 67 89",
    }
    bought = ctx.buy(
        {
            "eventId": event_id,
            "tickets": [{"ticket_id": ticket_id, "quantity": 2}],
            "participant": form,
        }
    )
    if not ctx.expect_status(
        bought, 200, "purchase_status", ("Success status",), "a valid purchase"
    ):
        return
    body = ctx.ok_json(bought, "participant", "tickets")
    buyer = body["participant"]
    if (
        not isinstance(buyer, dict)
        or buyer.get("email") != form["email"]
        or buyer.get("address") is not None
    ):
        ctx.fail(
            "purchase_participant",
            "createTickets",
            "The new participant is not echoed back",
            "participant = the new participant, address null",
            str(buyer)[:300],
            [bought],
            ("New participant",),
        )
    after, reply = ctx.tickets(event_id)
    for tid, ticket in before.items():
        expected = (_quantity(ticket) or 0) - (2 if tid == ticket_id else 0)
        if _quantity(after.get(tid)) != expected:
            ctx.fail(
                "purchase_lowers_quantity",
                "createTickets",
                "A purchase does not lower quantity by what was bought",
                f"ticket {tid}: {_quantity(ticket)} before, 2 bought of {ticket_id}, so {expected}",
                f"quantity after: {_quantity(after.get(tid))}",
                [bought, reply],
                ("Ticket `quantity`",),
            )
    listed, replies, _ = ctx.walk(
        "listParticipants", "/participants", "participants", 100, "page_walk", eventId=event_id
    )
    buyer_id = buyer.get("id") if isinstance(buyer, dict) else None
    matches = [p for p in listed if p.get("id") == buyer_id or p.get("email") == form["email"]]
    if len(matches) != 1:
        ctx.fail(
            "buyer_listed",
            "createTickets",
            "The buyer is not in the participant list",
            "after a purchase the new participant is listed exactly once",
            f"{len(matches)} participant(s) with id {buyer_id} in {len(listed)} listed",
            [bought, *replies[-1:]],
            ("New participant",),
        )
        return
    created = rules.parse_date(matches[0].get("created"))
    late = created is None or not (
        started - timedelta(minutes=5) <= created <= datetime.now(UTC) + timedelta(minutes=5)
    )
    if matches[0].get("confirmed") is not True or late:
        ctx.fail(
            "buyer_listed",
            "createTickets",
            "The new participant is listed with other facts",
            "confirmed: true, created = the time of the purchase",
            str(matches[0])[:300],
            [bought, *replies[-1:]],
            ("New participant",),
        )


@probe("createTickets", "Participant absent", "Ticket `quantity`", writes=True)
def purchase_without_participant(ctx: ProbeContext) -> None:
    """Tickets bought for nobody: ``participant`` is null and the quantity still drops."""
    event_id = ctx.event_id()
    before, ticket_id = _buyable(ctx, event_id, 1)
    bought = ctx.buy({"eventId": event_id, "tickets": [{"ticket_id": ticket_id, "quantity": 1}]})
    if not ctx.expect_status(
        bought, 200, "purchase_status", ("Success status",), "a valid purchase"
    ):
        return
    body = ctx.ok_json(bought, "participant", "tickets")
    if body["participant"] is not None:
        ctx.fail(
            "purchase_participant",
            "createTickets",
            "A purchase for nobody names a participant",
            "participant: null",
            str(body["participant"])[:300],
            [bought],
            ("Participant absent",),
        )
    after, reply = ctx.tickets(event_id)
    expected = (_quantity(before[ticket_id]) or 0) - 1
    if _quantity(after.get(ticket_id)) != expected:
        ctx.fail(
            "purchase_lowers_quantity",
            "createTickets",
            "A purchase does not lower quantity by what was bought",
            f"ticket {ticket_id}: {_quantity(before[ticket_id])} before, 1 bought, so {expected}",
            f"quantity after: {_quantity(after.get(ticket_id))}",
            [bought, reply],
            ("Ticket `quantity`",),
        )


@probe(
    "createTickets",
    "Not enough left",
    "Purchase atomicity",
    "`participantId` unknown",
    "Duplicate ticket lines",
    "Line quantity",
    "Ticket lines",
    "Body size",
    "Participant of another event",
    writes=True,
)
def purchase_rejections(ctx: ProbeContext) -> None:
    """Refused purchases (too many, unknown buyer, repeated or oversized lines) sell nothing."""
    event_id = ctx.event_id()
    before, ticket_id = _buyable(ctx, event_id, 1)
    others = [t for t in before if t != ticket_id and _quantity(before[t]) is not None]
    too_many = (_quantity(before[others[0]]) if others else _quantity(before[ticket_id])) or 0
    last = others[0] if others else ticket_id
    line = {"ticket_id": ticket_id, "quantity": 1}
    attempts: list[tuple[dict[str, Any] | bytes, int, tuple[str, ...], str]] = [
        (
            {"eventId": event_id, "tickets": [line], "participant": {"participantId": UNKNOWN_ID}},
            404,
            ("`participantId` unknown",),
            "an unknown participantId",
        ),
        (
            {"eventId": event_id, "tickets": [line, line]},
            400,
            ("Duplicate ticket lines",),
            "the same ticket_id on two lines",
        ),
        (
            {"eventId": event_id, "tickets": [{"ticket_id": ticket_id, "quantity": 1001}]},
            400,
            ("Line quantity",),
            "a line quantity of 1001",
        ),
        ({"eventId": event_id, "tickets": [line] * 51}, 400, ("Ticket lines",), "51 ticket lines"),
        (
            b'{"eventId": "'
            + event_id.encode()
            + b'", "tickets": [], "padding": "'
            + b"x" * (1024 * 1024)
            + b'"}',
            413,
            ("Body size",),
            "a body over 1 MiB",
        ),
    ]
    if too_many < 1000:  # one more than is left, next to a line that alone would succeed
        lines = ([line] if others else []) + [{"ticket_id": last, "quantity": too_many + 1}]
        attempts.insert(
            0,
            (
                {"eventId": event_id, "tickets": lines},
                409,
                ("Not enough left", "Purchase atomicity"),
                "more tickets than are left",
            ),
        )
    elsewhere = _participant_elsewhere(ctx, event_id)
    if elsewhere is None:
        ctx.untested.append("Participant of another event: no other event has participants")
    else:
        attempts.append(
            (
                {
                    "eventId": event_id,
                    "tickets": [line],
                    "participant": {"participantId": elsewhere},
                },
                404,
                ("Participant of another event",),
                "a participant of another event",
            )
        )
    replies = []
    for body, status, topics, why in attempts:
        if isinstance(body, bytes):
            reply = ctx.api.request("createTickets", "POST", "/tickets/create", content=body)
        else:
            reply = ctx.buy(body)
        replies.append(reply)
        ctx.expect_status(reply, status, "purchase_refused", topics, f"a purchase of {why}")
    after, reply = ctx.tickets(event_id)
    changed = {
        t: (_quantity(before[t]), _quantity(after.get(t)))
        for t in before
        if _quantity(before[t]) != _quantity(after.get(t))
    }
    if changed:
        ctx.fail(
            "purchase_atomicity",
            "createTickets",
            "A refused purchase sold tickets",
            "a refused purchase changes nothing",
            f"quantity (before, after): {changed}",
            [*replies, reply],
            ("Purchase atomicity",),
        )


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


def applicable(target: Target) -> Iterator[tuple[Probe, str]]:
    """Every probe with the reason it is skipped on ``target`` ("" when it runs)."""
    for item in PROBES:
        reason = ""
        if item.writes and not target.writes:
            reason = "read-only run (set GOEVENT_ALLOW_WRITES=1 and GOEVENT_TEST_EVENT_ID)"
        elif item.other_token and not target.other_token:
            reason = "no second token (set GOEVENT_OTHER_TOKEN)"
        yield item, reason


def run_probe(item: Probe, ctx: ProbeContext) -> ProbeResult:
    """Run one probe on a fresh slate of findings."""
    ctx.findings, ctx.refuted, ctx.untested, ctx.probe = [], [], [], item.name
    try:
        item.run(ctx)
    except Inconclusive as exc:
        return ProbeResult(
            item.name, "inconclusive", str(exc), ctx.findings, [], ctx.refuted, item.topics
        )
    status: Literal["passed", "failed"] = "failed" if ctx.findings else "passed"
    tested = [t for t in item.topics if not any(u.startswith(t) for u in ctx.untested)]
    note = "; ".join(ctx.untested)
    return ProbeResult(item.name, status, note, ctx.findings, tested, ctx.refuted, item.topics)


def run_probes(
    target: Target, api: Api, contract: Contract, only: Callable[[Probe], bool] | None = None
) -> list[ProbeResult]:
    ctx = ProbeContext(target, api, contract)
    results = []
    for item, reason in applicable(target):
        if only is not None and not only(item):
            continue
        if reason:
            results.append(ProbeResult(item.name, "skipped", reason, topics=item.topics))
        else:
            results.append(run_probe(item, ctx))
    return results
