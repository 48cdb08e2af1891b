"""Rules that only a sequence of exchanges shows, checked as the traffic passes.

- a purchase, then a listing of the same event's tickets: each bought ticket
  type's ``quantity`` went down by at least what was bought (other buyers may
  have lowered it more; only "not enough" is a break);
- a purchase for a new participant, then a complete walk of that event's
  participants (page 1 to the page without a next one, after the purchase):
  the buyer is listed once, confirmed, with each field as sent (else
  ``echo_fidelity`` on ``listParticipants``, as the drift probe reports it);
- walking pages: no item comes twice;
- two tokens: an event one token lists answers 200 to another that never
  listed it (token isolation).

All state is bounded (see the ``MAX_*`` caps): past a cap the oldest state is
dropped, and a rule that lost its state says nothing rather than guess.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from ..drift.findings import Finding
from ..drift.probes.purchases import BUYER_LISTED_ONCE, ECHOED
from ..drift.probes.reads import ITEM_REPEATED, OTHER_TOKENS_EVENT_404, TOKENS_SHARE_EVENTS
from ..drift.rules import FORM_FIELDS
from .exchange import Exchange, ExchangeChecker, how_differs

__all__ = ["MAX_IDS_PER_WALK", "MAX_KEYS", "MAX_PENDING_BUYERS", "MAX_TOKENS", "Sequences"]

MAX_KEYS = 1000  # (token, event) pairs with quantity, buyer or walk state
MAX_IDS_PER_WALK = 10_000  # ids remembered per page walk; a longer walk stops being checked
MAX_PENDING_BUYERS = 100  # buyers awaiting a listing, per (token, event)
MAX_TOKENS = 64  # tokens whose listed events are remembered
MAX_EVENTS_PER_TOKEN = 10_000


@dataclass
class _Walk:
    start_seq: int
    next_page: int
    ids: set[str] = field(default_factory=set)
    overflow: bool = False
    curl: str = ""


@dataclass
class _Buyer:
    seq: int
    participant_id: str
    sent: dict[str, Any]
    curl: str


class _Lru(OrderedDict[Any, Any]):
    def __init__(self, cap: int) -> None:
        super().__init__()
        self.cap = cap

    def touch(self, key: Any, default: Any) -> Any:
        if key in self:
            self.move_to_end(key)
            return self[key]
        self[key] = default
        if len(self) > self.cap:
            self.popitem(last=False)
        return default


def _page(query: str) -> tuple[int | None, int | None]:
    q = dict(parse_qsl(query))
    page, limit = q.get("page", "1"), q.get("limit", "20")
    return (int(page) if page.isdigit() else None, int(limit) if limit.isdigit() else None)


class Sequences:
    """The sequence rules' state, fed one exchange at a time, in order."""

    def __init__(self, checker: ExchangeChecker) -> None:
        self.checker = checker
        self._quantities: _Lru = _Lru(
            MAX_KEYS
        )  # (token, event) -> ({ticket: qty}, {ticket: bought})
        self._buyers: _Lru = _Lru(MAX_KEYS)  # (token, event) -> [_Buyer]
        self._walks: _Lru = _Lru(MAX_KEYS)  # (token, operation, event, limit) -> _Walk
        self._listed: _Lru = _Lru(MAX_TOKENS)  # token -> set of event ids it listed
        self.held: set[tuple[str, str]] = set()  # (operationId, check) that held

    def observe(self, ex: Exchange) -> list[Finding]:
        if ex.route is None or not ex.json_ok or not 200 <= ex.status < 300:
            return []
        body, op = ex.json, ex.operation
        if not isinstance(body, dict):
            return []
        event_id = self._event_id(ex)
        found: list[Finding] = []
        if op == "createTickets":
            self._purchase(ex, body)
        elif (
            op in ("getEvent", "listTickets") and event_id and isinstance(body.get("tickets"), list)
        ):
            found += self._tickets(ex, event_id, body["tickets"])
        if op == "listEvents" and isinstance(body.get("events"), list):
            found += self._page_walk(ex, None, body["events"], body.get("paginate"))
            found += self._listed_events(ex, body["events"])
        if op == "listParticipants" and event_id and isinstance(body.get("participants"), list):
            found += self._buyers_seen(ex, event_id, body["participants"])
            found += self._page_walk(ex, event_id, body["participants"], body.get("paginate"))
        if op in ("getEvent", "listTickets", "listParticipants") and event_id:
            found += self._isolation(ex, event_id)
        return found

    @staticmethod
    def _event_id(ex: Exchange) -> str | None:
        if ex.route is not None and "id" in ex.route.params:
            return ex.route.params["id"]
        return dict(parse_qsl(ex.query)).get("eventId")

    # -- purchases and quantities -------------------------------------------------

    def _purchase(self, ex: Exchange, body: dict[str, Any]) -> None:
        request = ex.request_json
        if not isinstance(request, dict) or not isinstance(request.get("eventId"), str):
            return
        key = (ex.token_id, request["eventId"])
        state = self._quantities.get(key)
        lines: list[Any] = request["tickets"] if isinstance(request.get("tickets"), list) else []
        if state is not None:
            for line in lines:
                if isinstance(line, dict) and isinstance(line.get("quantity"), int):
                    tid = str(line.get("ticket_id"))
                    state[1][tid] = state[1].get(tid, 0) + line["quantity"]
            state[2].append(self.checker.curl(ex))
        sent, buyer = request.get("participant"), body.get("participant")
        if isinstance(sent, dict) and "email" in sent and isinstance(buyer, dict):
            pending = self._buyers.touch(key, [])
            if len(pending) < MAX_PENDING_BUYERS and isinstance(buyer.get("id"), str):
                fields = {k: sent[k] for k in FORM_FIELDS if k in sent}
                pending.append(_Buyer(ex.seq, buyer["id"], fields, self.checker.curl(ex)))

    def _tickets(self, ex: Exchange, event_id: str, tickets: list[Any]) -> list[Finding]:
        now = {
            str(t.get("id")): t.get("quantity")
            for t in tickets
            if isinstance(t, dict) and isinstance(t.get("quantity"), int)
        }
        key = (ex.token_id, event_id)
        state = self._quantities.get(key)
        found = []
        if state is not None and state[1]:
            before, bought, curls = state
            for tid, count in bought.items():
                if tid not in before or tid not in now:
                    continue
                expected = before[tid] - count
                if now[tid] > expected:
                    found.append(
                        self.checker.finding(
                            ex,
                            "purchase_lowers_quantity",
                            "A purchase does not lower quantity by what was bought",
                            f"ticket {tid}: {before[tid]} before, {count} bought, so {expected} "
                            "(or less, if others bought too)",
                            f"quantity after: {now[tid]}",
                            operation="createTickets",
                            curl="\n".join([*curls[-2:], self.checker.curl(ex)]),
                        )
                    )
                else:
                    self.held.add(("createTickets", "purchase_lowers_quantity"))
        self._quantities.touch(key, None)
        self._quantities[key] = (now, {}, [])
        return found

    # -- buyers and page walks ------------------------------------------------------

    def _buyers_seen(self, ex: Exchange, event_id: str, listed: list[Any]) -> list[Finding]:
        pending: list[_Buyer] | None = self._buyers.get((ex.token_id, event_id))
        if not pending:
            return []
        by_id = {str(p.get("id")): p for p in listed if isinstance(p, dict)}
        found = []
        for buyer in list(pending):
            item = by_id.get(buyer.participant_id)
            if item is None:
                continue
            pending.remove(buyer)
            curl = buyer.curl + "\n" + self.checker.curl(ex)
            echoed = True
            for name, sent in buyer.sent.items():
                if name in item and item[name] == sent:
                    continue
                echoed = False
                # As the drift probe says it, with the values withheld: they are personal data.
                rule = ECHOED.given(shown="The participant list", field=name, sent="(withheld)")
                found.append(
                    self.checker.finding(
                        ex,
                        rule.check,
                        rule.title,
                        rule.spec_says,
                        f"{name} {how_differs(sent, item[name]) if name in item else 'not shown'}",
                        curl=curl,
                    )
                )
            if echoed:
                self.held.add(("listParticipants", "echo_fidelity"))
            if item.get("confirmed") is not True:
                found.append(
                    self.checker.finding(
                        ex,
                        "buyer_listed",
                        "The new participant is listed with other facts",
                        "after a purchase the new participant is listed confirmed: true",
                        f"confirmed: {item.get('confirmed')!r}",
                        operation="createTickets",
                        curl=curl,
                    )
                )
            else:
                self.held.add(("createTickets", "buyer_listed"))
        return found

    def _page_walk(
        self, ex: Exchange, event_id: str | None, items: list[Any], paginate: Any
    ) -> list[Finding]:
        page, limit = _page(ex.query)
        if page is None or limit is None:
            return []
        key = (ex.token_id, ex.operation, event_id, limit)
        walk: _Walk | None = self._walks.get(key)
        if page == 1:
            self._walks.touch(key, None)
            walk = _Walk(ex.seq, 1, curl=self.checker.curl(ex))
            self._walks[key] = walk
        elif walk is None or walk.next_page != page:
            self._walks.pop(key, None)  # not a walk from page 1: nothing to compare with
            return []
        ids = [str(i.get("id")) for i in items if isinstance(i, dict)]
        found = []
        repeated = sorted({i for i in ids if i in walk.ids or ids.count(i) > 1})
        if repeated:
            found.append(
                self.checker.broke(
                    ex,
                    ITEM_REPEATED,
                    f"repeated ids: {', '.join(repeated[:5])}",
                    curl=walk.curl + "\n" + self.checker.curl(ex),
                )
            )
            self._walks.pop(key, None)
            return found
        if not walk.overflow:
            walk.ids.update(ids)
            walk.overflow = len(walk.ids) > MAX_IDS_PER_WALK
            if walk.overflow:
                walk.ids.clear()
        walk.next_page = page + 1
        last = isinstance(paginate, dict) and paginate.get("hasNextPage") is False
        if last:
            self._walks.pop(key, None)
            if page > 1:
                self.held.add((ex.operation, "page_walk"))
            if event_id is not None and not walk.overflow:
                found += self._walk_done(ex, event_id, walk)
        return found

    def _walk_done(self, ex: Exchange, event_id: str, walk: _Walk) -> list[Finding]:
        """A complete walk that began after a purchase: its buyer should have been in it."""
        pending: list[_Buyer] | None = self._buyers.get((ex.token_id, event_id))
        found = []
        for buyer in list(pending or []):
            if buyer.seq < walk.start_seq and buyer.participant_id not in walk.ids:
                assert pending is not None
                pending.remove(buyer)
                found.append(
                    self.checker.broke(
                        ex,
                        BUYER_LISTED_ONCE,
                        f"participant {buyer.participant_id} missing from all {walk.next_page - 1} "
                        f"page(s), {len(walk.ids)} participant(s) listed",
                        operation="createTickets",
                        curl=buyer.curl + "\n" + walk.curl,
                    )
                )
        return found

    # -- token isolation ------------------------------------------------------------

    def _listed_events(self, ex: Exchange, events: list[Any]) -> list[Finding]:
        mine: set[str] = self._listed.touch(ex.token_id, set())
        ids = {str(e.get("id")) for e in events if isinstance(e, dict)}
        if len(mine) < MAX_EVENTS_PER_TOKEN:
            mine.update(ids)
        shared = sorted(
            i
            for token, theirs in self._listed.items()
            if token != ex.token_id
            for i in ids & theirs
        )
        if not shared or ex.token_id is None:
            return []
        return [self.checker.broke(ex, TOKENS_SHARE_EVENTS, f"both list {shared[:5]}")]

    def _isolation(self, ex: Exchange, event_id: str) -> list[Finding]:
        if ex.token_id is None or ex.status != 200:
            return []
        mine = self._listed.get(ex.token_id)
        if mine is not None and event_id in mine:
            return []
        others = [
            t for t, theirs in self._listed.items() if t != ex.token_id and event_id in theirs
        ]
        if not others:
            return []
        assert ex.route is not None
        op = ex.route.operation
        return [
            self.checker.broke(
                ex,
                OTHER_TOKENS_EVENT_404.given(
                    why=f"{op.method} {op.path} of another token's event",
                    expected=404,
                    got=ex.status,
                ),
                f"answered {ex.status} {ex.content_type}",
            )
        ]
