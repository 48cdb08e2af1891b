"""Business-rule probes: short, deterministic request sequences that check what one response cannot.

Each probe tests rules and ``x-goevent-assumption`` keys of the spec and
reports a :class:`~.findings.Finding` for each it finds broken. The rules are
declared below as data (:class:`~.findings.Rule`: check, title, what the spec
says, assumption keys), so a probe reads as what it checks. Read-only
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
from .findings import BROKE, Finding, Rule
from .guard import Api, Reply
from .target import Target

__all__ = ["PROBES", "Probe", "ProbeContext", "ProbeResult", "run_probes"]

UNKNOWN_ID = "0" * 24
WALK_PAGES = 15  # pages a walk reads at most: bounded cost on a large live account


class Inconclusive(Exception):
    """The probe could not test its rule (the answer's shape is already a schema finding)."""


# -- the rules the probes hold the API to ----------------------------------------

ERROR_SHAPE = Rule(
    "error_body",
    "Error answer without the Error shape",
    '{"success": false, "code": "...", "message": "..."}',
    ("error-body",),
)
PAGE_BREAKS_LIMIT = Rule(
    "page_walk",
    "A page breaks its limit or its paginate",
    "at most `limit` items; hasNextPage true ⇒ nextPage = page + 1 and a full page; "
    "false ⇒ nextPage null",
    ("last-page",),
)
ITEM_REPEATED = Rule(
    "page_walk",
    "Walking the pages returns an item more than once",
    "each item on exactly one page",
    ("ordering",),
)
ITEMS_OUT_OF_ORDER = Rule(
    "page_order",
    "Items are not ordered by {field} then id",
    "ordered by {field} then id, stable across pages",
    ("ordering",),
)
PAGES_DIFFER_FROM_ONE_PAGE = Rule(
    "page_walk",
    "The pages do not hold the same items as one big page",
    "walking every page returns each item once",
    ("ordering",),
)
DEFAULT_LIMIT = Rule(
    "default_limit",
    "The default page size is not 20",
    "without `limit`, a page holds min(20, participants) items",
    ("participants-default-limit",),
)
# Status rules: {why} names the request, {expected} and {got} the statuses.
_STATUS_TITLE, _STATUS_SAYS = "{why}: expected {expected}, got {got}", "{why} → {expected}"
LIMIT_REFUSED = Rule("limit_enforced", _STATUS_TITLE, _STATUS_SAYS, ("page-and-limit-range",))
LIMIT_OBEYED = Rule(
    "limit_enforced",
    "`limit` is not obeyed",
    "a page holds at most `limit` items",
    ("page-and-limit-range",),
)
EVENT_RULES = Rule(
    "event_rules",
    "A listed event breaks the event rules",
    "ids are ObjectIds; path/siteUrl/checkoutUrl follow the slug; dateEnd >= dateStart",
)
EVENT_VIEWS_AGREE = Rule(
    "views_agree",
    "Get Single Event and List Events disagree",
    "the same event has the same fields in both operations",
)
TICKET_RULES = Rule(
    "ticket_rules",
    "Tickets break the ticket rules",
    "quantity >= 0, available == (quantity > 0), ids are ObjectIds",
    ("ticket-quantity",),
)
TICKET_VIEWS_AGREE = Rule(
    "views_agree",
    "List Tickets and Get Single Event disagree",
    "an event's tickets are the same in both operations",
)
UNKNOWN_ID_404 = Rule("id_handling", _STATUS_TITLE, _STATUS_SAYS, ("unknown-object-id",))
MALFORMED_ID_400 = Rule("id_handling", _STATUS_TITLE, _STATUS_SAYS, ("malformed-object-id",))
EVENT_ID_MISSING_400 = Rule("id_handling", _STATUS_TITLE, _STATUS_SAYS, ("event-id-missing",))
TOKEN_REQUIRED = Rule("auth_required", _STATUS_TITLE, _STATUS_SAYS, ("missing-or-bad-token",))
TOKENS_SHARE_EVENTS = Rule(
    "token_isolation",
    "Two tokens list the same events",
    "each token lists only its own events",
    ("event-of-another-organizer",),
)
OTHER_TOKENS_EVENT_404 = Rule(
    "token_isolation", _STATUS_TITLE, _STATUS_SAYS, ("event-of-another-organizer",)
)
PURCHASE_SUCCEEDS = Rule("purchase_status", _STATUS_TITLE, _STATUS_SAYS, ("success-status",))
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
    key: Rule("purchase_refused", _STATUS_TITLE, _STATUS_SAYS, keys)
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
    untested: dict[str, str] = field(default_factory=dict)  # key -> why the probe could not
    probe: str = ""
    _events: list[dict[str, Any]] | None = None

    # -- reporting ---------------------------------------------------------

    def broke(self, rule: Rule, server_did: str, *replies: Reply, on: str = "") -> None:
        """Record that ``rule`` broke: what the server did, the replies that show it.

        The finding names ``on`` (an operationId), by default the first reply's operation.
        """
        operation = on or replies[0].operation
        self.refuted += rule.keys
        # The rule names its assumptions: they hold wherever the break shows (a name
        # sent to createTickets and shown otherwise by listParticipants refutes echo-fidelity).
        found = [self.contract.by_key[k] for k in rule.keys if k in self.contract.by_key]
        self.findings.append(
            Finding(
                kind=BROKE,
                check=rule.check,
                operation=operation,
                endpoint=self.contract.endpoint(operation),
                title=rule.title,
                spec_says=rule.spec_says,
                server_did=server_did,
                curl="\n".join(dict.fromkeys(r.curl for r in replies)),
                source=f"probe {self.probe}",
                refutes=[a.text for a in found],
                assumptions=[a.key for a in found],
            )
        )

    def cannot_test(self, key: str, why: str) -> None:
        """The probe could not reach what assumption ``key`` says (no data for it)."""
        self.untested[key] = why

    def expect_status(self, reply: Reply, expected: int, rule: Rule, why: str) -> bool:
        """Fail ``rule`` unless ``reply`` has ``expected`` status (an error: the Error shape)."""
        if reply.status != expected:
            broken = rule.given(why=why, expected=expected, got=reply.status)
            self.broke(broken, reply.describe() + _snippet(reply), reply)
            return False
        if expected >= 400:
            body = reply.json()
            if not (
                isinstance(body, dict)
                and body.get("success") is False
                and isinstance(body.get("code"), str)
                and isinstance(body.get("message"), str)
            ):
                self.broke(ERROR_SHAPE, reply.describe() + _snippet(reply), reply)
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
        self, operation: str, path: str, key: str, limit: int, **params: Any
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
                self.broke(PAGE_BREAKS_LIMIT, "\n".join(problems), reply)
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
    topics: tuple[str, ...]  # the assumption keys it tests
    run: Callable[[ProbeContext], None]
    writes: bool = False
    other_token: bool = False


PROBES: list[Probe] = []


def probe(
    operation: str, *keys: str, writes: bool = False, other_token: bool = False
) -> Callable[[Callable[[ProbeContext], None]], Callable[[ProbeContext], None]]:
    """Register a probe of ``operation`` that tests the assumptions ``keys``."""

    def register(func: Callable[[ProbeContext], None]) -> Callable[[ProbeContext], None]:
        doc = (func.__doc__ or "").strip().split("\n")[0]
        PROBES.append(Probe(func.__name__, operation, doc, keys, func, writes, other_token))
        return func

    return register


def _order_key(item: dict[str, Any], field_name: str) -> tuple[str, str]:
    return (str(item.get(field_name)), str(item.get("id")))


def _check_walk(
    ctx: ProbeContext,
    items: list[dict[str, Any]],
    replies: list[Reply],
    complete: bool,
    order_field: str,
    reference: list[dict[str, Any]] | None,
) -> None:
    ids = [str(i.get("id")) for i in items]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        ctx.broke(ITEM_REPEATED, f"repeated ids: {', '.join(repeated[:5])}", *replies)
        return
    keys = [_order_key(i, order_field) for i in items]
    if keys != sorted(keys):
        seen = f"order seen: {[k[1] for k in keys][:8]}"
        ctx.broke(ITEMS_OUT_OF_ORDER.given(field=order_field), seen, *replies)
    if complete and reference is not None and len(reference) < 100:
        expected = {str(i.get("id")) for i in reference}
        if set(ids) != expected:
            missing, extra = sorted(expected - set(ids)), sorted(set(ids) - expected)
            did = f"missing {missing[:5]}, unexpected {extra[:5]}"
            ctx.broke(PAGES_DIFFER_FROM_ONE_PAGE, did, *replies)


@probe("listEvents", "ordering", "last-page")
def events_pages(ctx: ProbeContext) -> None:
    """Walking every page of events returns each once, in order; it stops where hasNextPage says."""
    items, replies, complete = ctx.walk("listEvents", "/events", "events", 2)
    _check_walk(ctx, items, replies, complete, "dateStart", ctx.my_events())


@probe("listParticipants", "ordering", "last-page", "participants-default-limit")
def participants_pages(ctx: ProbeContext) -> None:
    """Walking every page of an event's participants returns each once; the default limit is 20."""
    event_id = ctx.event_id()
    items, replies, complete = ctx.walk(
        "listParticipants", "/participants", "participants", 7, eventId=event_id
    )
    big = ctx.get("listParticipants", "/participants", eventId=event_id, page=1, limit=100)
    reference = ctx.ok_json(big, "participants")["participants"]
    listed = reference if isinstance(reference, list) else None
    _check_walk(ctx, items, replies, complete, "created", listed)
    default = ctx.get("listParticipants", "/participants", eventId=event_id)
    chunk = ctx.ok_json(default, "participants")["participants"]
    if isinstance(chunk, list) and listed is not None and len(chunk) != min(20, len(listed)):
        ctx.broke(DEFAULT_LIMIT, f"{len(chunk)} items (the event has {len(listed)}+)", default)


@probe("listEvents", "page-and-limit-range")
def limits_enforced(ctx: ProbeContext) -> None:
    """``page`` < 1, ``limit`` < 1, ``limit`` > 100 and non-numbers get 400; ``limit`` is obeyed."""
    event_id = ctx.event_id()
    for operation, path, extra in (
        ("listEvents", "/events", {}),
        ("listParticipants", "/participants", {"eventId": event_id}),
    ):
        for params in ({"limit": 101}, {"limit": 0}, {"page": 0}, {"limit": "ten"}):
            reply = ctx.get(operation, path, **extra, **params)
            ctx.expect_status(reply, 400, LIMIT_REFUSED, f"{path} with {params}")
        reply = ctx.get(operation, path, **extra, page=1, limit=1)
        key = "events" if operation == "listEvents" else "participants"
        chunk = ctx.ok_json(reply, key)[key]
        if isinstance(chunk, list) and len(chunk) > 1:
            ctx.broke(LIMIT_OBEYED, f"limit=1 returned {len(chunk)} items", reply)


@probe("getEvent", "ticket-quantity")
def objects_agree(ctx: ProbeContext) -> None:
    """Ids are ObjectIds, links follow slugs, dates are ordered, tickets agree in every view."""
    events = ctx.my_events()
    listed = ctx.get("listEvents", "/events", page=1, limit=100)
    for index, event in enumerate(events):
        problems = rules.object_id_problems(event, f"$.events[{index}]")
        problems += rules.event_problems(event, f"$.events[{index}]")
        if problems:
            ctx.broke(EVENT_RULES, "\n".join(problems[:5]), listed)
            break
    for event in events[:3]:
        event_id = str(event.get("id"))
        single = ctx.get("getEvent", f"/event/{event_id}")
        body = ctx.ok_json(single, "event", "tickets")
        if body["event"] != event:
            did = f"listed: {str(event)[:200]}\nsingle: {str(body['event'])[:200]}"
            ctx.broke(EVENT_VIEWS_AGREE, did, listed, single, on="getEvent")
        problems = rules.ticket_problems(body["tickets"])
        problems += rules.object_id_problems(body["tickets"])
        if problems:
            ctx.broke(TICKET_RULES, "\n".join(problems[:5]), single)
        tickets, reply = ctx.tickets(event_id)
        problems = rules.ticket_problems(list(tickets.values()))
        if problems:
            ctx.broke(TICKET_RULES, "\n".join(problems[:5]), reply)
        single_tickets = {str(t.get("id")): t for t in body["tickets"] if isinstance(t, dict)}
        if single_tickets != tickets:
            did = f"getEvent: {str(single_tickets)[:200]}\nlistTickets: {str(tickets)[:200]}"
            ctx.broke(TICKET_VIEWS_AGREE, did, single, reply, on="listTickets")


@probe("getEvent", "unknown-object-id", "malformed-object-id", "event-id-missing", "error-body")
def unknown_and_malformed_ids(ctx: ProbeContext) -> None:
    """Unknown ObjectId: 404; malformed one: 400; missing ``eventId``: 400; in the Error shape."""
    requests = [
        ("getEvent", f"/event/{UNKNOWN_ID}", {}, 404, UNKNOWN_ID_404),
        ("getEvent", "/event/not-an-object-id", {}, 400, MALFORMED_ID_400),
        ("listTickets", "/tickets", {}, 400, EVENT_ID_MISSING_400),
        ("listTickets", "/tickets", {"eventId": UNKNOWN_ID}, 404, UNKNOWN_ID_404),
        ("listTickets", "/tickets", {"eventId": "12345"}, 400, MALFORMED_ID_400),
        ("listParticipants", "/participants", {}, 400, EVENT_ID_MISSING_400),
        ("listParticipants", "/participants", {"eventId": UNKNOWN_ID}, 404, UNKNOWN_ID_404),
    ]
    for operation, path, params, status, rule in requests:
        reply = ctx.get(operation, path, **params)
        ctx.expect_status(reply, status, rule, f"GET {path} {params or ''}".strip())


@probe("listEvents", "missing-or-bad-token")
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
        nothing = {"eventId": event_id, "tickets": [{"ticket_id": UNKNOWN_ID, "quantity": 1}]}
        calls.append(("createTickets", "POST", "/tickets/create", nothing))
    for operation, method, path, body in calls:
        for token in (None, "not-a-valid-token"):
            reply = ctx.api.request(operation, method, path, json=body, token=token)
            how = "without a token" if token is None else "with a wrong token"
            ctx.expect_status(reply, 401, TOKEN_REQUIRED, f"{method} {path.split('?')[0]} {how}")


@probe("getEvent", "event-of-another-organizer", other_token=True)
def token_isolation(ctx: ProbeContext) -> None:
    """One token never sees another's events, tickets or participants."""
    mine = {str(e.get("id")) for e in ctx.my_events()}
    reply = ctx.api.request(
        "listEvents", "GET", "/events", params={"page": 1, "limit": 100}, token="other"
    )
    theirs = [e for e in ctx.ok_json(reply, "events")["events"] if isinstance(e, dict)]
    shared = sorted(mine & {str(e.get("id")) for e in theirs})
    if shared:
        ctx.broke(TOKENS_SHARE_EVENTS, f"both list {shared[:5]}", reply)
    for event in [e for e in theirs if str(e.get("id")) not in mine][:2]:
        other_id = str(event.get("id"))
        for operation, path, params in (
            ("getEvent", f"/event/{other_id}", {}),
            ("listTickets", "/tickets", {"eventId": other_id}),
            ("listParticipants", "/participants", {"eventId": other_id}),
        ):
            got = ctx.get(operation, path, **params)
            ctx.expect_status(
                got, 404, OTHER_TOKENS_EVENT_404, f"GET {path} of another token's event"
            )


# -- purchases: each field sent must come back as sent, wherever it is shown ------

FORM_FIELDS = ("last_name", "first_name", "email", "phone")


def _buyable(
    ctx: ProbeContext, event_id: str, at_least: int
) -> tuple[dict[str, dict[str, Any]], str]:
    tickets, _ = ctx.tickets(event_id)
    for ticket_id, ticket in tickets.items():
        quantity = _quantity(ticket)
        if quantity is not None and quantity >= at_least:
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
        expected = (_quantity(ticket) or 0) - (bought_quantity if tid == bought_id else 0)
        if _quantity(after.get(tid)) != expected:
            rule = QUANTITY_LOWERED.given(
                ticket=tid,
                before=_quantity(ticket),
                bought=bought_quantity,
                bought_id=bought_id,
                expected=expected,
            )
            ctx.broke(rule, f"quantity after: {_quantity(after.get(tid))}", bought, reply)


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
    form = {
        "last_name": "Probe",
        "first_name": f"Drift {ctx.run_id}",
        "email": f"drift-probe+{ctx.run_id}@example.com",
        "phone": "+33 1 23 45 67 89",
    }
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
    """Tickets for a listed participant: the answer names that participant, as listed, unchanged."""
    event_id = ctx.event_id()
    before, ticket_id = _buyable(ctx, event_id, 1)
    first = ctx.get("listParticipants", "/participants", eventId=event_id, page=1, limit=1)
    listed = ctx.ok_json(first, "participants")["participants"]
    if not (isinstance(listed, list) and listed and isinstance(listed[0], dict)):
        raise Inconclusive(f"event {event_id} lists no participant to buy for")
    holder = {k: v for k, v in listed[0].items() if k == "id" or k in FORM_FIELDS}
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
    others = [t for t in before if t != ticket_id and _quantity(before[t]) is not None]
    too_many = (_quantity(before[others[0]]) if others else _quantity(before[ticket_id])) or 0
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
        t: (_quantity(before[t]), _quantity(after.get(t)))
        for t in before
        if _quantity(before[t]) != _quantity(after.get(t))
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
    ctx.findings, ctx.refuted, ctx.untested, ctx.probe = [], [], {}, item.name
    try:
        item.run(ctx)
    except Inconclusive as exc:
        return ProbeResult(
            item.name, "inconclusive", str(exc), ctx.findings, [], ctx.refuted, item.topics
        )
    status: Literal["passed", "failed"] = "failed" if ctx.findings else "passed"
    tested = [k for k in item.topics if k not in ctx.untested]
    note = "; ".join(f"{k}: {why}" for k, why in ctx.untested.items())
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


def named_keys() -> dict[str, list[str]]:
    """Assumption key -> the probes that test it (by declaration or by a rule they report)."""
    out: dict[str, list[str]] = {}
    for item in PROBES:
        for key in item.topics:
            out.setdefault(key, []).append(f"probe {item.name}")
    return out


def declared_rules() -> list[Rule]:
    """Every rule the probes report, as declared in this module."""
    found = [v for v in globals().values() if isinstance(v, Rule)]
    return found + list(REFUSED_PURCHASE_STATUS.values())
