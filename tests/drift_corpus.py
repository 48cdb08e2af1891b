"""The drift corpus: variants of the fake, each drifting from the spec the way a live API does.

Each variant wraps the real fake, either with an ASGI middleware that rewrites
its requests or answers, or with a :class:`~mockserver.store.Store` subclass
that changes a behaviour. The drift command must report every one of them (and
nothing on the unmodified fake): ``tests/test_drift_corpus.py`` checks it.

Test scaffolding, not product: nothing in ``mockserver`` imports it.

>>> app = VARIANTS["renamed_field"].build()  # doctest: +SKIP
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
import orjson

from mockserver import Settings, create_app
from mockserver.cli import main
from mockserver.spec import load_spec
from mockserver.store import Sizes, Store, generate
from mockserver.store.models import Event, Organizer, Participant
from mockserver.store.store import NewParticipant, Page, Purchase
from mockserver.testing import serve_in_thread

__all__ = ["BASE", "VARIANTS", "Answer", "Rewrite", "Variant", "drift_against", "fake_app"]

SPEC = load_spec()
BASE = SPEC.base_path
Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# The spec's own routes: a path template segment ("{id}") matches any one segment.
_ROUTES = [
    (
        op.method,
        re.compile(
            "^"
            + "/".join("[^/]+" if s.startswith("{") else re.escape(s) for s in op.path.split("/"))
            + "$"
        ),
        op.operation_id,
    )
    for op in SPEC.operations
]


def operation_of(method: str, path: str) -> str | None:
    """The operationId a request is for, from its method and path (below the API prefix)."""
    for verb, pattern, operation in _ROUTES:
        if method == verb and pattern.match(path):
            return operation
    return None


@dataclass
class Answer:
    """One answer of the fake, as a variant may rewrite it."""

    operation: str
    status: int
    body: Any  # decoded JSON; None when the answer is not JSON
    content_type: str = "application/json"
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)  # extra answer headers


class Rewrite:
    """ASGI middleware: ``request`` may change the scope; ``response`` rewrites GoEvent answers."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        request: Callable[[str, Scope], Scope] | None = None,
        body: Callable[[Any], None] | None = None,
        response: Callable[[Answer], None] | None = None,
    ) -> None:
        self.app, self.request, self.body, self.response = app, request, body, response

    def _receive(self, receive: Receive) -> Receive:
        """``receive`` with the JSON request body passed through ``self.body``."""
        if self.body is None:
            return receive
        change = self.body
        done = False

        async def rewritten() -> Message:
            nonlocal done
            if done:
                return await receive()
            chunks = []
            while True:
                message = await receive()
                chunks.append(message.get("body", b""))
                if message["type"] != "http.request" or not message.get("more_body"):
                    break
            done = True
            raw = b"".join(chunks)
            try:
                data = orjson.loads(raw)
            except orjson.JSONDecodeError:
                return {"type": "http.request", "body": raw, "more_body": False}
            change(data)
            return {"type": "http.request", "body": orjson.dumps(data), "more_body": False}

        return rewritten

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(BASE):
            await self.app(scope, receive, send)
            return
        operation = operation_of(scope["method"], path[len(BASE) :])
        if operation is None:
            await self.app(scope, receive, send)
            return
        if self.request is not None:
            scope = self.request(operation, dict(scope))
        receive = self._receive(receive)
        if self.response is None:
            await self.app(scope, receive, send)
            return
        query = dict(
            part.split("=", 1)
            for part in scope.get("query_string", b"").decode().split("&")
            if "=" in part
        )
        start: Message = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            raw = b"".join(chunks)
            try:
                body = orjson.loads(raw)
            except orjson.JSONDecodeError:
                body = None
            answer = Answer(operation, start["status"], body, query=query)
            assert self.response is not None
            self.response(answer)
            out = raw if answer.body is None else orjson.dumps(answer.body)
            headers = [
                (k, v)
                for k, v in start.get("headers", [])
                if k.lower() not in (b"content-length", b"content-type")
            ]
            headers += [
                (b"content-length", str(len(out)).encode()),
                (b"content-type", answer.content_type.encode()),
            ]
            headers += [(k.lower().encode(), v.encode()) for k, v in answer.headers.items()]
            await send({"type": "http.response.start", "status": answer.status, "headers": headers})
            await send({"type": "http.response.body", "body": out})

        await self.app(scope, receive, capture)


# -- building blocks ---------------------------------------------------------


def fake_app(store: Store | None = None) -> Any:
    """The unmodified fake (seed 42), optionally around a drifted store."""
    return create_app(Settings(), store=store)


def drifted_store(cls: type[Store], settings: Settings | None = None) -> Store:
    """A store of class ``cls`` holding the data the fake generates from ``settings``' seed."""
    settings = settings or Settings()
    sizes = Sizes.from_settings(settings)
    return cls(lambda: generate(settings.seed, sizes, settings.organizer_tokens()))


def _events(answer: Answer) -> list[dict[str, Any]]:
    body = answer.body if answer.status == 200 and isinstance(answer.body, dict) else {}
    if answer.operation == "getEvent" and isinstance(body.get("event"), dict):
        return [body["event"]]
    if answer.operation == "listEvents" and isinstance(body.get("events"), list):
        return [e for e in body["events"] if isinstance(e, dict)]
    return []


def _tickets(answer: Answer) -> list[dict[str, Any]]:
    body = answer.body if answer.status == 200 and isinstance(answer.body, dict) else {}
    if answer.operation in ("getEvent", "listTickets") and isinstance(body.get("tickets"), list):
        return [t for t in body["tickets"] if isinstance(t, dict)]
    return []


def _on_events(change: Callable[[dict[str, Any]], None]) -> Callable[[Answer], None]:
    def response(answer: Answer) -> None:
        for event in _events(answer):
            change(event)

    return response


def _with_query(scope: Scope, change: Callable[[dict[str, str]], None]) -> Scope:
    pairs = [
        p.split("=", 1) for p in scope.get("query_string", b"").decode().split("&") if "=" in p
    ]
    query = dict(pairs)
    change(query)
    scope["query_string"] = "&".join(f"{k}={v}" for k, v in query.items()).encode()
    return scope


# -- the variants ----------------------------------------------------------------


def _renamed_field(event: dict[str, Any]) -> None:
    event["startDate"] = event.pop("dateStart")


def _changed_type(answer: Answer) -> None:
    for ticket in _tickets(answer):
        ticket["quantity"] = str(ticket["quantity"])


def _removed_required(event: dict[str, Any]) -> None:
    event.pop("location", None)


def _field_null(answer: Answer) -> None:
    body = answer.body
    if answer.operation == "listParticipants" and answer.status == 200 and isinstance(body, dict):
        for participant in body.get("participants", []):
            participant["email"] = None


def _date_format(event: dict[str, Any]) -> None:
    for key in ("dateStart", "dateEnd"):  # "2024-06-15T20:00:00.000Z" -> "2024-06-15 20:00:00"
        event[key] = event[key][:19].replace("T", " ")


def _pagination_shape(answer: Answer) -> None:
    body = answer.body
    if answer.operation in ("listEvents", "listParticipants") and answer.status == 200:
        paginate = body.pop("paginate")
        body["pagination"] = {"page": int(answer.query.get("page", "1") or 1),
                              "hasMore": paginate["hasNextPage"]}  # fmt: skip


def _case_ids(node: Any, case: Callable[[str], str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("id", "ticket_id", "eventId", "participantId") and isinstance(value, str):
                node[key] = case(value)
            else:
                _case_ids(value, case)
    elif isinstance(node, list):
        for value in node:
            _case_ids(value, case)


def _lower_request_ids(operation: str, scope: Scope) -> Scope:
    # The drifted API still takes ids in either case, as a case-insensitive lookup would.
    scope["path"] = scope["path"].lower() if operation == "getEvent" else scope["path"]
    scope["raw_path"] = scope["path"].encode()
    return _with_query(
        scope, lambda q: q.update({k: v.lower() for k, v in q.items() if k == "eventId"})
    )


def _id_format(answer: Answer) -> None:
    if answer.status == 200:
        _case_ids(answer.body, str.upper)


def _lower_body_ids(body: Any) -> None:
    _case_ids(body, str.lower)


def _status_created(answer: Answer) -> None:
    if answer.operation == "createTickets" and answer.status == 200:
        answer.status = 201


def _wrong_content_type(answer: Answer) -> None:
    if answer.operation == "listTickets":
        answer.content_type = "text/plain; charset=utf-8"


def _auth_not_enforced(operation: str, scope: Scope) -> Scope:
    headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"authorization"]
    given = dict(scope["headers"]).get(b"authorization", b"")
    token = given if given.startswith(b"Bearer goevent-dev-token") else b"Bearer goevent-dev-token"
    scope["headers"] = [*headers, (b"authorization", token)]
    return scope


def _server_error_edge(answer: Answer) -> None:
    if answer.operation == "listParticipants" and answer.query.get("limit") == "100":
        answer.status = 500
        answer.body = {
            "success": False,
            "code": "INTERNAL_ERROR",
            "message": "page buffer overflow",
        }


def _limit_not_enforced(operation: str, scope: Scope) -> Scope:
    def clamp(query: dict[str, str]) -> None:
        if query.get("limit", "").isdigit() and int(query["limit"]) > 100:
            query["limit"] = "100"

    return _with_query(scope, clamp) if operation in ("listEvents", "listParticipants") else scope


def _additive_field(event: dict[str, Any]) -> None:
    event["timezone"] = "Europe/Paris"


def _error_shape(answer: Answer) -> None:
    if answer.status >= 400 and isinstance(answer.body, dict):
        answer.body = {"error": answer.body.get("message"), "status": answer.status}


class KeepsQuantity(Store):
    """A purchase succeeds but the quantity left does not go down."""

    def create_tickets(
        self,
        organizer: Organizer,
        event_id: str,
        lines: Sequence[tuple[str, int]],
        participant: str | NewParticipant | None,
    ) -> Purchase:
        purchase = super().create_tickets(organizer, event_id, lines, participant)
        for ticket in self.get_event(organizer, event_id).tickets:
            ticket.quantity += sum(q for t, q in lines if t == ticket.id)
        return purchase


class ForgetsParticipants(Store):
    """A purchase for a new participant succeeds, but the participant is never listed."""

    def create_tickets(
        self,
        organizer: Organizer,
        event_id: str,
        lines: Sequence[tuple[str, int]],
        participant: str | NewParticipant | None,
    ) -> Purchase:
        purchase = super().create_tickets(organizer, event_id, lines, participant)
        if isinstance(participant, NewParticipant) and purchase.participant is not None:
            self._forgotten().add(purchase.participant.id)
        return purchase

    def list_participants(
        self, organizer: Organizer, event_id: str, page: int, limit: int
    ) -> Page[Participant]:
        listed = super().list_participants(organizer, event_id, page, limit)
        kept = [p for p in listed.items if p.id not in self._forgotten()]
        return Page(kept, listed.has_next_page, listed.next_page)

    def _forgotten(self) -> set[str]:
        if not hasattr(self, "_forgotten_ids"):
            self._forgotten_ids: set[str] = set()
        return self._forgotten_ids


class RenamesParticipants(Store):
    """A new participant's last name is stored upper-cased: the API shows a name never sent."""

    def create_tickets(
        self,
        organizer: Organizer,
        event_id: str,
        lines: Sequence[tuple[str, int]],
        participant: str | NewParticipant | None,
    ) -> Purchase:
        if isinstance(participant, NewParticipant):
            participant = replace(participant, last_name=participant.last_name.upper())
        return super().create_tickets(organizer, event_id, lines, participant)


class RepeatsItems(Store):
    """Pages overlap: page n starts one item early, so the last item of a page comes again."""

    def list_events(self, organizer: Organizer, page: int, limit: int) -> Page[Event]:
        return _overlapping(super().list_events(organizer, 1, 1000).items, page, limit)

    def list_participants(
        self, organizer: Organizer, event_id: str, page: int, limit: int
    ) -> Page[Participant]:
        items = super().list_participants(organizer, event_id, 1, 1000).items
        return _overlapping(items, page, limit)


def _overlapping(items: Sequence[Any], page: int, limit: int) -> Page[Any]:
    start = max(0, (page - 1) * limit - 1)
    has_next = (page - 1) * limit + limit < len(items)
    return Page(items[start : start + limit], has_next, page + 1 if has_next else None)


class SharesEvents(Store):
    """Get Single Event no longer checks the organizer: any token sees any event."""

    def get_event(self, organizer: Organizer, event_id: str) -> Event:
        event = self.event_by_id(event_id)
        return event if event is not None else super().get_event(organizer, event_id)


@dataclass(frozen=True)
class Variant:
    """One drifted fake, and what the drift command must say of it."""

    name: str
    description: str
    build: Callable[[], Any]
    # (operationId, check) pairs; the report must name at least one of them.
    expect: tuple[tuple[str, str], ...]
    kind: str = "broke"
    # Schemathesis phases the variant needs to be found (the probes always run).
    phases: tuple[str, ...] = ("fuzzing",)


def _middleware(**kw: Any) -> Callable[[], Any]:
    return lambda: Rewrite(fake_app(), **kw)


def _with_store(cls: type[Store]) -> Callable[[], Any]:
    return lambda: fake_app(drifted_store(cls))


SCHEMA = "response_schema_conformance"

VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in [
        Variant(
            "renamed_field",
            "Event.dateStart renamed to startDate",
            _middleware(response=_on_events(_renamed_field)),
            (("listEvents", SCHEMA), ("getEvent", SCHEMA)),
        ),
        Variant(
            "changed_type",
            'Ticket.quantity became a string ("100")',
            _middleware(response=_changed_type),
            (("listTickets", SCHEMA), ("getEvent", SCHEMA)),
        ),
        Variant(
            "removed_required",
            "Event.location (required) no longer sent",
            _middleware(response=_on_events(_removed_required)),
            (("listEvents", SCHEMA), ("getEvent", SCHEMA)),
        ),
        Variant(
            "field_null",
            "a listed participant's email became null",
            _middleware(response=_field_null),
            (("listParticipants", SCHEMA),),
        ),
        Variant(
            "date_format",
            'dates lost their ISO 8601 form ("2024-06-15 20:00:00")',
            _middleware(response=_on_events(_date_format)),
            (("listEvents", SCHEMA), ("getEvent", SCHEMA)),
        ),
        Variant(
            "pagination_shape",
            "paginate became pagination {page, hasMore}",
            _middleware(response=_pagination_shape),
            (("listEvents", SCHEMA), ("listParticipants", SCHEMA)),
        ),
        Variant(
            "id_format",
            "ids became upper-case hex",
            _middleware(request=_lower_request_ids, body=_lower_body_ids, response=_id_format),
            (("listEvents", SCHEMA), ("getEvent", SCHEMA), ("listTickets", SCHEMA)),
        ),
        Variant(
            "status_created",
            "Create Tickets answers 201 instead of 200",
            _middleware(response=_status_created),
            (("createTickets", "status_code_conformance"), ("createTickets", "purchase_status")),
        ),
        Variant(
            "wrong_content_type",
            "List Tickets answers text/plain",
            _middleware(response=_wrong_content_type),
            (("listTickets", "content_type_conformance"),),
        ),
        Variant(
            "auth_not_enforced",
            "a missing or wrong token is accepted",
            _middleware(request=_auth_not_enforced),
            (
                ("listEvents", "ignored_auth"),
                ("getEvent", "ignored_auth"),
                ("listEvents", "auth_required"),
                ("getEvent", "auth_required"),
            ),
        ),
        Variant(
            "server_error_edge",
            "List Participants fails with 500 at limit=100",
            _middleware(response=_server_error_edge),
            (("listParticipants", "not_a_server_error"),),
            phases=("coverage",),
        ),
        Variant(
            "purchase_keeps_quantity",
            "a purchase no longer lowers quantity",
            _with_store(KeepsQuantity),
            (("createTickets", "purchase_lowers_quantity"),),
            phases=(),
        ),
        Variant(
            "participant_not_listed",
            "a new participant is not listed after a purchase",
            _with_store(ForgetsParticipants),
            (("createTickets", "buyer_listed"),),
            phases=(),
        ),
        Variant(
            "participant_renamed",
            "a new participant's last name is shown upper-cased, not as sent",
            _with_store(RenamesParticipants),
            (("createTickets", "echo_fidelity"), ("listParticipants", "echo_fidelity")),
            phases=(),
        ),
        Variant(
            "pagination_repeats",
            "each page repeats the last item of the previous one",
            _with_store(RepeatsItems),
            (("listEvents", "page_walk"), ("listParticipants", "page_walk")),
            phases=(),
        ),
        Variant(
            "limit_not_enforced",
            "limit above 100 is accepted (and clamped)",
            _middleware(request=_limit_not_enforced),
            (
                ("listEvents", "limit_enforced"),
                ("listParticipants", "limit_enforced"),
                ("listEvents", "negative_data_rejection"),
                ("listParticipants", "negative_data_rejection"),
            ),
        ),
        Variant(
            "token_isolation_broken",
            "one organizer can read another's events",
            _with_store(SharesEvents),
            (("getEvent", "token_isolation"),),
            phases=(),
        ),
        Variant(
            "error_shape",
            'errors became {"error": ..., "status": ...}',
            _middleware(response=_error_shape),
            (("getEvent", SCHEMA), ("getEvent", "error_body"), ("listTickets", "error_body")),
        ),
        Variant(
            "additive_field",
            "events gained a timezone field (the API grew)",
            _middleware(response=_on_events(_additive_field)),
            (("listEvents", "api_grew"), ("getEvent", "api_grew")),
            kind="grew",
        ),
    ]
}


def drift_against(app: Any, *args: str, writes: bool = True, token: str = "goevent-dev-token",
                  other_token: str | None = "goevent-dev-token-2") -> int:  # fmt: skip
    """Serve ``app`` on a free port and run ``goevent-mock drift`` against it, as a user would.

    With ``writes``, the run may buy tickets of the first event the token lists.
    ``args`` are more flags (``--json PATH``, ``--phases ...``); returns the exit status.
    """
    with serve_in_thread(app) as root:
        argv = ["drift", "--base-url", root + BASE, "--token", token]
        if other_token:
            argv += ["--other-token", other_token]
        if writes:
            answer = httpx.get(
                root + BASE + "/events", headers={"Authorization": f"Bearer {token}"}
            )
            events = answer.json().get("events") if answer.status_code == 200 else None
            event_id = str(events[0]["id"]).lower() if events else "0" * 24
            argv += ["--allow-writes", "--event-id", event_id]
        return main([*argv, *args])
