"""Each step of the request path (``mockserver/http/pipeline/``) on its own, then the rule
for several Authorization headers end to end."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar

import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request

from mockserver import Settings
from mockserver.errors import (
    BadRequest,
    GoEventError,
    PayloadTooLarge,
    TooManyRequests,
    Unauthorized,
)
from mockserver.http import create_app
from mockserver.http.pipeline.admit import admit
from mockserver.http.pipeline.authenticate import (
    authorization,
    bearer_token,
    one_authorization,
    read_headers,
)
from mockserver.http.pipeline.call import Caller, example_handler, is_idempotent
from mockserver.http.pipeline.check import check
from mockserver.http.pipeline.exchange import Exchange
from mockserver.http.pipeline.journal import JournalRecord, journal
from mockserver.http.pipeline.read import Reader, parse_query
from mockserver.http.response_check import ResponseChecker
from mockserver.http.state import fake_state
from mockserver.journal import Journal
from mockserver.spec import build_spec, load_spec

from .conftest import TOKEN, Fake, FakeFactory, bearer, new_person

T = TypeVar("T")
API = "/developers/v1.0"


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def request(
    app: Starlette,
    path: str = "/events",
    headers: list[tuple[bytes, bytes]] | None = None,
    method: str = "GET",
    query: bytes = b"",
    body: bytes = b"",
) -> Request:
    """A request to ``app`` as the server would hand it over (no socket)."""
    scope = {"type": "http", "method": method, "path": API + path, "query_string": query,
             "headers": headers or [], "path_params": {}, "app": app}  # fmt: skip
    chunks = [body]

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": chunks.pop() if chunks else b"", "more_body": False}

    return Request(scope, receive)


def exchange(
    app: Starlette, headers: Sequence[tuple[bytes, bytes]] = (), **kwargs: Any
) -> Exchange:
    """An exchange past the authenticate step, with the default organizer's token."""
    sent = [(b"authorization", f"Bearer {TOKEN}".encode()), *headers]
    ex = Exchange(request(app, headers=sent, **kwargs), fake_state(app).boxes.default)
    ex.token = bearer_token(ex.auth, ex.several_auth)
    ex.box, ex.organizer = fake_state(app).boxes.resolve(ex.token)
    return ex


# -- 1. authenticate ------------------------------------------------------------


def test_read_headers_takes_authorization_and_the_tools_headers_in_one_pass() -> None:
    raw = [(b"authorization", b"Bearer a"), (b"x-mock-fault", b"status=503"),
           (b"accept", b"*/*"), (b"idempotency-key", b"k1")]  # fmt: skip
    assert read_headers(raw) == (
        b"Bearer a",
        None,
        {b"x-mock-fault": b"status=503", b"idempotency-key": b"k1"},
    )
    assert read_headers([(b"accept", b"*/*")]) == (None, None, None)


def test_several_authorization_headers_are_refused_by_one_rule() -> None:
    raw = [(b"authorization", b"Bearer a"), (b"authorization", b"Bearer b")]
    auth, several, _ = read_headers(raw)
    assert (auth, several) == (b"Bearer a", [b"Bearer a", b"Bearer b"])
    for refuse in (lambda: bearer_token(auth, several), lambda: authorization(raw)):
        with pytest.raises(Unauthorized, match="exactly one Authorization header is allowed"):
            refuse()
    assert one_authorization([b"Bearer a"]) == b"Bearer a"
    assert one_authorization([]) is None
    assert authorization([(b"authorization", b"Bearer x")]) == b"Bearer x"


@pytest.mark.parametrize(
    ("header", "says"),
    [(None, "missing"), (b"", "missing"), (b"Basic abc", "must be"), (b"Bearer  ", "must be")],
)
def test_bearer_token_refuses_what_is_not_a_bearer_token(header: bytes | None, says: str) -> None:
    with pytest.raises(Unauthorized, match=says):
        bearer_token(header)


def test_bearer_token_reads_the_token() -> None:
    assert bearer_token(b"bearer  tok-1 ") == "tok-1"


# -- 2. admit ------------------------------------------------------------------


def test_admit_lets_a_plain_request_through_untouched() -> None:
    app = create_app(Settings())
    ex = exchange(app)
    assert run(admit(ex, "listEvents")) is True
    assert (ex.quota, ex.injection) == (None, None)


def test_admit_counts_the_rate_limit_and_refuses_past_it() -> None:
    app = create_app(Settings(rate_limit="1/60s"))
    first, second = exchange(app), exchange(app)
    assert run(admit(first, "listEvents")) is True
    assert first.quota is not None
    assert first.quota.remaining == 0
    with pytest.raises(TooManyRequests, match=r"rate limit of 1/60s per token reached"):
        run(admit(second, "listEvents"))
    assert second.quota is not None
    assert not second.quota.allowed


def test_admit_applies_header_faults_error_and_drop() -> None:
    app = create_app(Settings())
    failing = exchange(app, headers=[(b"x-mock-fault", b"status=503")])
    with pytest.raises(GoEventError) as raised:
        run(admit(failing, "listEvents"))
    assert raised.value.status == 503
    assert failing.injection is not None
    dropped = exchange(app, headers=[(b"x-mock-fault", b"drop")])
    assert run(admit(dropped, "listEvents")) is False
    assert dropped.dropped
    after = exchange(app, headers=[(b"x-mock-fault", b"drop=after")])
    assert run(admit(after, "listEvents")) is True
    assert after.dropped
    bad = exchange(app, headers=[(b"x-mock-latency", b"soon")])
    with pytest.raises(BadRequest) as refused:
        run(admit(bad, "listEvents"))
    assert refused.value.field == "header.X-Mock-Latency"


# -- 3. read -------------------------------------------------------------------


@pytest.mark.parametrize("raw", [b"", b"page=2&limit=5", b"a=&a=1&b", b"q=a%20b&r=c+d", b"x=1&&y"])
def test_parse_query_reads_as_starlette_does(raw: bytes) -> None:
    from urllib.parse import parse_qsl

    expected: dict[str, list[str]] = {}
    for key, value in parse_qsl(raw.decode(), keep_blank_values=True):
        expected.setdefault(key, []).append(value)
    assert parse_query(raw) == expected


def read_body(req: Request, limit: int) -> Coroutine[Any, Any, bytes]:
    """A purchase's body as step 3 reads it (``http/body.py``, through ``Reader``)."""
    return Reader(load_spec().operation("createTickets"), limit).raw_body(req)


def test_read_body_refuses_over_the_limit_declared_or_sent() -> None:
    app = create_app(Settings())
    declared = request(app, headers=[(b"content-length", b"11")], body=b"x" * 11)
    with pytest.raises(PayloadTooLarge, match="is 11 bytes; the limit here is 10 bytes") as big:
        run(read_body(declared, 10))
    assert big.value.field == "body"
    sent = request(app, body=b"x" * 11)  # no Content-Length: counted while read
    with pytest.raises(PayloadTooLarge, match="over the limit here of 10 bytes"):
        run(read_body(sent, 10))
    assert run(read_body(request(app, body=b"x" * 10), 10)) == b"x" * 10


def test_read_body_raises_when_the_client_left() -> None:
    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    scope = {"type": "http", "method": "POST", "path": API + "/tickets/create",
             "query_string": b"", "headers": []}  # fmt: skip
    with pytest.raises(ClientDisconnect):
        run(read_body(Request(scope, receive), 100))


def test_read_body_stops_once_content_length_bytes_are_in() -> None:
    """granian sends a body, then an empty last message: with the announced bytes in, the
    body is complete, and waiting for that message would be a second round trip."""
    app = create_app(Settings())
    messages = [{"type": "http.request", "body": b'{"a":', "more_body": True},
                {"type": "http.request", "body": b"1}", "more_body": True}]  # fmt: skip
    never = asyncio.Event()

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        await never.wait()  # the last, empty message: never comes here
        raise AssertionError("read past Content-Length")

    scope = {"type": "http", "method": "POST", "path": API + "/tickets/create",
             "query_string": b"", "headers": [(b"content-length", b"7")]}  # fmt: skip
    body = run(asyncio.wait_for(read_body(Request(scope, receive), 100), 5))
    assert body == b'{"a":1}'
    assert messages == []
    # Without Content-Length (chunked), the body ends with the message that says so.
    chunked = request(app, body=b"xyz")
    assert run(read_body(chunked, 100)) == b"xyz"


def test_reader_checks_parameters_and_body_against_the_spec() -> None:
    spec = load_spec()
    events = Reader(spec.operation("listEvents"), 1024)
    app = create_app(Settings())
    assert events.parameters(request(app, query=b"page=2&limit=5")) == {"page": 2, "limit": 5}
    with pytest.raises(BadRequest) as refused:
        events.parameters(request(app, query=b"limit=500"))
    assert refused.value.field == "query.limit"
    assert run(events.raw_body(request(app, body=b"ignored"))) == b""  # a GET has no body
    buy = Reader(spec.operation("createTickets"), 1024)
    with pytest.raises(BadRequest):
        buy.body(request(app, headers=[(b"content-type", b"application/json")]), b"{}")


# -- 4. call -------------------------------------------------------------------


def test_idempotency_follows_the_spec_not_an_operation_name() -> None:
    spec = load_spec()
    assert [op.operation_id for op in spec.operations if is_idempotent(op)] == ["createTickets"]
    document = copy.deepcopy(spec.document)
    document["paths"]["/events"]["get"].setdefault("parameters", []).append(
        {"name": "idempotency-key", "in": "header", "required": False, "schema": {"type": "string"}}
    )
    variant = build_spec(document)
    assert is_idempotent(variant.operation("listEvents"))


def test_caller_replays_an_idempotent_answer_and_marks_it() -> None:
    app = create_app(Settings())
    fake = fake_state(app)
    caller = Caller(fake.spec.operation("createTickets"), fake.renderer)
    key = [(b"idempotency-key", b"k-1")]
    first, again = exchange(app, headers=key), exchange(app, headers=key)
    body = _purchase(app, first)
    status, payload = caller(first, {}, body)
    assert status == 200
    assert not first.replayed
    assert len(fake.store.orders) == 1
    assert caller(again, {}, body) == (200, payload)
    assert again.replayed
    assert len(fake.store.orders) == 1
    plain = exchange(app)  # no key: a second purchase
    assert caller(plain, {}, body)[0] == 200
    assert not plain.replayed
    assert len(fake.store.orders) == 2


def _purchase(app: Starlette, ex: Exchange) -> dict[str, Any]:
    """A purchase of one ticket of an event of ``ex``'s organizer."""
    event = next(
        e for e in fake_state(app).store.events
        if e.organizer_id == ex.organizer.id and e.tickets and e.tickets[0].quantity > 1
    )  # fmt: skip
    return {"eventId": event.id, "tickets": [{"ticket_id": event.tickets[0].id, "quantity": 1}],
            "participant": new_person()}  # fmt: skip


def test_an_operation_without_a_handler_answers_its_example() -> None:
    op = load_spec().operation("listTickets")
    answer = orjson.loads(example_handler(op)(None))  # type: ignore[arg-type]
    assert isinstance(answer["tickets"], list)


# -- 5. check ------------------------------------------------------------------


def test_check_passes_a_valid_answer_and_replaces_an_invalid_one() -> None:
    spec = load_spec()
    op, checker = spec.operation("listTickets"), ResponseChecker(spec)
    assert check(None, op, 200, b"not even JSON") is None  # --validate-responses is off
    assert check(checker, op, 200, b'{"tickets": []}') is None
    problem = check(checker, op, 200, b'{"tickets": "none"}')
    assert problem is not None
    assert problem.code == "RESPONSE_INVALID"
    assert problem.status == 500
    assert "listTickets 200 response['tickets']" in problem.message
    undocumented = check(checker, op, 418, GoEventError("teapot", status=418))
    assert undocumented is not None
    assert "status 418 is not documented" in undocumented.message


# -- 6. journal ----------------------------------------------------------------


def test_a_journal_record_writes_one_entry() -> None:
    app = create_app(Settings())
    into = Journal(10)
    now = fake_state(app).store.clock.now()
    record = JournalRecord(time=now, operation="listEvents", method="GET", path="/events",
                           query_string=b"page=1", raw_body=b"", status=200, started=0.0,
                           authorization=b"Bearer secret", fault=None, replayed=False)  # fmt: skip
    record.write(into)
    [entry] = into.entries()
    assert (entry.operation, entry.method, entry.path, entry.status) == (
        "listEvents",
        "GET",
        "/events",
        200,
    )
    assert "secret" not in str(entry.to_json())


def test_journal_step_records_a_dropped_request_without_status() -> None:
    app = create_app(Settings())
    ex = exchange(app, headers=[(b"x-mock-fault", b"drop=after")])
    run(admit(ex, "listEvents"))
    journal(ex, "listEvents", "GET", len(API))
    box = fake_state(app).boxes.default
    assert box.journal is not None
    [entry] = box.journal.entries()
    assert (entry.status, entry.path, entry.fault) == (None, "/events", "drop=after")


# -- several Authorization headers, end to end --------------------------------


def test_two_authorization_headers_are_401_and_change_nothing(make_fake: FakeFactory) -> None:
    fake: Fake = make_fake()
    state = fake_state(fake.app)
    before = fake.state()
    body = _purchase(fake.app, exchange(fake.app))
    headers = [("Authorization", f"Bearer {TOKEN}"), ("Authorization", f"Bearer {TOKEN}")]
    response = fake.anon.post("/tickets/create", json=body, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="goevent"'
    assert response.json() == {
        "success": False,
        "code": "UNAUTHORIZED",
        "message": "exactly one Authorization header is allowed; this request has 2",
    }
    assert fake.state() == before
    assert state.boxes.default.journal is not None
    assert state.boxes.default.journal.entries()[-1].status == 401
    assert fake.anon.get("/events", headers=bearer(TOKEN)).status_code == 200  # one is fine


def test_a_journal_record_has_the_fields_of_journal_record_in_order() -> None:
    """``JournalRecord.write`` passes its fields positionally: they must stay in step."""
    import inspect

    parameters = list(inspect.signature(Journal.record).parameters)[1:]
    assert list(JournalRecord._fields) == parameters
