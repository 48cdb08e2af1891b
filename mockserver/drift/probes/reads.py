"""Read-only probes: page walks, limits, ids, views that must agree, auth, token isolation.

They run on every target, the live API included; none of them writes.
"""

from __future__ import annotations

from typing import Any

from .. import rules
from ..findings import Rule
from ..guard import Reply
from .base import STATUS_SAYS, STATUS_TITLE, UNKNOWN_ID, ProbeContext, probe

__all__: list[str] = []

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
LIMIT_REFUSED = Rule("limit_enforced", STATUS_TITLE, STATUS_SAYS, ("page-and-limit-range",))
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
UNKNOWN_ID_404 = Rule("id_handling", STATUS_TITLE, STATUS_SAYS, ("unknown-object-id",))
MALFORMED_ID_400 = Rule("id_handling", STATUS_TITLE, STATUS_SAYS, ("malformed-object-id",))
EVENT_ID_MISSING_400 = Rule("id_handling", STATUS_TITLE, STATUS_SAYS, ("event-id-missing",))
TOKEN_REQUIRED = Rule("auth_required", STATUS_TITLE, STATUS_SAYS, ("missing-or-bad-token",))
TOKENS_SHARE_EVENTS = Rule(
    "token_isolation",
    "Two tokens list the same events",
    "each token lists only its own events",
    ("event-of-another-organizer",),
)
OTHER_TOKENS_EVENT_404 = Rule(
    "token_isolation", STATUS_TITLE, STATUS_SAYS, ("event-of-another-organizer",)
)


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
