"""What every probe works with: its context, its result, the registry and the runner.

A probe reports a broken :class:`~..findings.Rule` with
``ctx.broke(rule, what the server did, *replies)``; the rules themselves are
declared as data next to the probes that use them (:mod:`.reads`, :mod:`.purchases`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from .. import rules
from ..contract import Contract
from ..findings import BROKE, Finding, Rule
from ..guard import Api, Reply
from ..target import Target

__all__ = [
    "PROBES",
    "STATUS_SAYS",
    "STATUS_TITLE",
    "Inconclusive",
    "Probe",
    "ProbeContext",
    "ProbeResult",
    "applicable",
    "probe",
    "quantity",
    "run_probe",
    "run_probes",
]

UNKNOWN_ID = "0" * 24
WALK_PAGES = 15  # pages a walk reads at most: bounded cost on a large live account


class Inconclusive(Exception):
    """The probe could not test its rule (the answer's shape is already a schema finding)."""


# -- the rules every probe may report ----------------------------------------------

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
)  # Status rules: {why} names the request, {expected} and {got} the statuses.
STATUS_TITLE, STATUS_SAYS = "{why}: expected {expected}, got {got}", "{why} → {expected}"


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


def quantity(ticket: dict[str, Any] | None) -> int | None:
    value = ticket.get("quantity") if ticket else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


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
