"""Self-conformance: every answer the fake gives, success or error, validates
against the spec's schema for that operation and status (formats checked); and
with ``validate_responses`` the fake answers the same, never RESPONSE_INVALID."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator, FormatChecker

from mockserver import Settings, create_app, load_spec

from .conftest import DOCS_FIXTURE, Fake, new_person, open_fake

SPEC = load_spec()
FORMATS = FormatChecker()
MiB = 1024 * 1024


def test_format_checking_covers_the_specs_formats() -> None:
    # Without rfc3986-validator and rfc3339-validator, jsonschema skips these silently.
    assert {"uri", "date-time"} <= set(FORMATS.checkers)
    validator = Draft202012Validator(SPEC.schema("Event"), format_checker=FORMATS)
    event = {
        **SPEC.operation("listEvents").responses["200"]["content"]["application/json"]["examples"][
            "document"
        ]["value"]["events"][0],
        "siteUrl": "not a uri",
    }
    assert [e.validator for e in validator.iter_errors(event)] == ["format"]


@dataclass(frozen=True)
class Ids:
    """Objects of one data set, as the cases need them."""

    event: str  # organizer 1's, with tickets left and participants
    ticket: str  # of ``event``, with at least 2 left
    left: int  # how many of ``ticket`` are left
    other_ticket: str  # organizer 1's, of another event
    participant: str  # of ``event``
    foreign_event: str  # organizer 2's (or an unknown id where there is none)
    foreign_participant: str


def ids_of(fake: Fake) -> Ids:
    state = fake.state()
    first = state["organizers"][0]["id"]
    mine = [e for e in state["events"] if e["organizerId"] == first]
    event = next(
        e for e in mine if e["participants"] and any(t["quantity"] >= 2 for t in e["tickets"])
    )
    ticket = next(t for t in event["tickets"] if t["quantity"] >= 2)
    other = next(e for e in mine if e["id"] != event["id"] and e["tickets"])
    foreign = [e for e in state["events"] if e["organizerId"] != first and e["participants"]]
    return Ids(
        event=event["id"],
        ticket=ticket["id"],
        left=ticket["quantity"],
        other_ticket=other["tickets"][0]["id"],
        participant=event["participants"][0]["id"],
        foreign_event=foreign[0]["id"] if foreign else "0" * 23 + "1",
        foreign_participant=foreign[0]["participants"][0]["id"] if foreign else "0" * 23 + "2",
    )


Request = Callable[[Fake, Ids], httpx.Response]
UNKNOWN = "0123456789abcdef01234567"


def buy(body: Callable[[Ids], Any]) -> Request:
    return lambda f, i: f.api.post("/tickets/create", json=body(i))


def raw(content: bytes, content_type: str = "application/json") -> Request:
    return lambda f, i: f.api.post(
        "/tickets/create", content=content, headers={"Content-Type": content_type}
    )


def line(i: Ids, quantity: int = 1) -> list[dict[str, Any]]:
    return [{"ticket_id": i.ticket, "quantity": quantity}]


# name -> (operationId or None, status, the request)
CASES: dict[str, tuple[str | None, int, Request]] = {
    "listEvents-200": ("listEvents", 200, lambda f, i: f.api.get("/events")),
    "listEvents-200-page": ("listEvents", 200, lambda f, i: f.api.get("/events?limit=1&page=2")),
    "listEvents-200-beyond": ("listEvents", 200, lambda f, i: f.api.get("/events?page=99")),
    "listEvents-400-limit": ("listEvents", 400, lambda f, i: f.api.get("/events?limit=500")),
    "listEvents-400-page": ("listEvents", 400, lambda f, i: f.api.get("/events?page=x")),
    "listEvents-400-twice": ("listEvents", 400, lambda f, i: f.api.get("/events?page=1&page=2")),
    "listEvents-400-huge": ("listEvents", 400,
                            lambda f, i: f.api.get("/events?page=99999999999999999999")),
    "listEvents-401": ("listEvents", 401, lambda f, i: f.anon.get("/events")),
    "listEvents-401-token": ("listEvents", 401, lambda f, i: f.anon.get(
        "/events", headers={"Authorization": "Bearer nope"})),
    "getEvent-200": ("getEvent", 200, lambda f, i: f.api.get(f"/event/{i.event}")),
    "getEvent-400": ("getEvent", 400, lambda f, i: f.api.get("/event/xyz")),
    "getEvent-400-non-ascii": ("getEvent", 400, lambda f, i: f.api.get("/event/" + "%C3%A9" * 24)),
    "getEvent-401": ("getEvent", 401, lambda f, i: f.anon.get(f"/event/{i.event}")),
    "getEvent-404-unknown": ("getEvent", 404, lambda f, i: f.api.get(f"/event/{UNKNOWN}")),
    "getEvent-404-foreign": ("getEvent", 404, lambda f, i: f.api.get(f"/event/{i.foreign_event}")),
    "listTickets-200": ("listTickets", 200,
                        lambda f, i: f.api.get("/tickets", params={"eventId": i.event})),
    "listTickets-400-missing": ("listTickets", 400, lambda f, i: f.api.get("/tickets")),
    "listTickets-400-id": ("listTickets", 400, lambda f, i: f.api.get("/tickets?eventId=1")),
    "listTickets-401": ("listTickets", 401,
                        lambda f, i: f.anon.get("/tickets", params={"eventId": i.event})),
    "listTickets-404": ("listTickets", 404,
                        lambda f, i: f.api.get("/tickets", params={"eventId": UNKNOWN})),
    "listTickets-404-foreign": ("listTickets", 404,
                                lambda f, i: f.api.get("/tickets?eventId=" + i.foreign_event)),
    "listParticipants-200": ("listParticipants", 200,
                             lambda f, i: f.api.get("/participants", params={"eventId": i.event})),
    "listParticipants-200-beyond": ("listParticipants", 200, lambda f, i: f.api.get(
        "/participants", params={"eventId": i.event, "page": 50, "limit": 100})),
    "listParticipants-400": ("listParticipants", 400, lambda f, i: f.api.get(
        "/participants", params={"eventId": i.event, "limit": 0})),
    "listParticipants-400-missing": ("listParticipants", 400,
                                     lambda f, i: f.api.get("/participants")),
    "listParticipants-401": ("listParticipants", 401, lambda f, i: f.anon.get(
        "/participants", params={"eventId": i.event})),
    "listParticipants-404": ("listParticipants", 404, lambda f, i: f.api.get(
        "/participants", params={"eventId": UNKNOWN})),
    "listParticipants-404-foreign": ("listParticipants", 404, lambda f, i: f.api.get(
        "/participants", params={"eventId": i.foreign_event})),
    "createTickets-200-none": ("createTickets", 200,
                               buy(lambda i: {"eventId": i.event, "tickets": line(i)})),
    "createTickets-200-existing": ("createTickets", 200, buy(lambda i: {
        "eventId": i.event, "tickets": line(i), "participant": {"participantId": i.participant}})),
    "createTickets-200-new": ("createTickets", 200, buy(lambda i: {
        "eventId": i.event, "tickets": line(i), "participant": new_person(first_name="Zoë")})),
    "createTickets-400-json": ("createTickets", 400, raw(b"{")),
    "createTickets-400-empty": ("createTickets", 400, raw(b"")),
    "createTickets-400-array": ("createTickets", 400, raw(b"[]")),
    "createTickets-400-null": ("createTickets", 400, raw(b"null")),
    "createTickets-400-utf8": ("createTickets", 400, raw(b"\xff")),
    "createTickets-400-type": ("createTickets", 400,
                               buy(lambda i: {"eventId": i.event, "tickets": "many"})),
    "createTickets-400-id": ("createTickets", 400,
                             buy(lambda i: {"eventId": "x", "tickets": line(i)})),
    "createTickets-400-zero": ("createTickets", 400,
                               buy(lambda i: {"eventId": i.event, "tickets": line(i, 0)})),
    "createTickets-400-huge": ("createTickets", 400,
                               buy(lambda i: {"eventId": i.event, "tickets": line(i, 2**70)})),
    "createTickets-400-no-lines": ("createTickets", 400,
                                   buy(lambda i: {"eventId": i.event, "tickets": []})),
    "createTickets-400-duplicate": ("createTickets", 400,
                                    buy(lambda i: {"eventId": i.event, "tickets": line(i) * 2})),
    "createTickets-400-unknown-field": ("createTickets", 400, buy(
        lambda i: {"eventId": i.event, "tickets": line(i), "coupon": "x"})),
    "createTickets-400-no-form": ("createTickets", 400, buy(
        lambda i: {"eventId": i.event, "tickets": line(i), "participant": {"email": "a@b.c"}})),
    "createTickets-400-control": ("createTickets", 400, buy(lambda i: {
        "eventId": i.event, "tickets": line(i), "participant": new_person(last_name="\u0007")})),
    "createTickets-400-content-type": ("createTickets", 400, raw(b"{}", "text/plain")),
    "createTickets-401": ("createTickets", 401, lambda f, i: f.anon.post(
        "/tickets/create", json={"eventId": i.event, "tickets": line(i)})),
    "createTickets-404-event": ("createTickets", 404,
                                buy(lambda i: {"eventId": UNKNOWN, "tickets": line(i)})),
    "createTickets-404-foreign": ("createTickets", 404,
                                  buy(lambda i: {"eventId": i.foreign_event, "tickets": line(i)})),
    "createTickets-404-ticket": ("createTickets", 404, buy(lambda i: {
        "eventId": i.event, "tickets": [{"ticket_id": i.other_ticket, "quantity": 1}]})),
    "createTickets-404-participant": ("createTickets", 404, buy(lambda i: {
        "eventId": i.event, "tickets": line(i),
        "participant": {"participantId": i.foreign_participant}})),
    "createTickets-409": ("createTickets", 409, buy(
        lambda i: {"eventId": i.event, "tickets": line(i, min(i.left + 1, 1000))})),
    "createTickets-413": ("createTickets", 413, raw(b" " * (MiB + 1))),
    "405": (None, 405, lambda f, i: f.api.delete("/events")),
    "405-post": (None, 405, lambda f, i: f.api.post("/events", json={})),
    "404-path": (None, 404, lambda f, i: f.api.get("/nothing/here")),
    "404-path-singular": (None, 404, lambda f, i: f.api.get("/events/" + i.event)),
}  # fmt: skip


@pytest.fixture(scope="module", params=["docs", "generated"])
def data(request: pytest.FixtureRequest) -> Iterator[tuple[Fake, Fake]]:
    """(plain fake, fake with validate_responses) over the same data set."""
    clients: list[httpx.Client] = []
    if request.param == "docs":
        settings = Settings(fixtures=DOCS_FIXTURE)
    else:
        settings = Settings(seed=5, events_per_organizer=3, participants_per_event=4)
    plain = open_fake(create_app(settings), clients)
    checking = open_fake(create_app(replace(settings, validate_responses=True)), clients)
    yield plain, checking
    for client in clients:
        client.close()


def schema_for(operation: str | None, status: int) -> dict[str, Any]:
    if operation is None:
        # Answers outside the spec's operations (405, unknown path) use its Error shape.
        return SPEC.schema("Error")
    op = SPEC.operation(operation)
    assert str(status) in op.responses, f"{status} is not documented for {operation}"
    schema = op.response_schema(status)
    assert schema is not None
    return schema


@pytest.mark.parametrize("case", list(CASES))
def test_every_answer_validates_against_the_spec(data: tuple[Fake, Fake], case: str) -> None:
    operation, status, send = CASES[case]
    plain, checking = data
    r = send(plain, ids_of(plain))
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json"
    body = json.loads(r.content)
    validator = Draft202012Validator(schema_for(operation, status), format_checker=FORMATS)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]
    assert errors == []
    if status >= 400:
        assert body["success"] is False
        assert body["message"]
    # The same request to a fake that checks its own answers: answered the same.
    checked = send(checking, ids_of(checking))
    assert checked.status_code == status, checked.text
    assert "RESPONSE_INVALID" not in checked.text
    if status == 200 and operation != "createTickets":
        assert checked.content == r.content
    elif status >= 400:
        assert checked.json()["code"] == body["code"]


def test_every_operation_and_documented_error_is_covered() -> None:
    covered = {(op, status) for op, status, _ in CASES.values()}
    for op in SPEC.operations:
        for status in op.responses:
            if status == "429":
                continue  # rate limiting is off unless configured (tested with that feature)
            assert (op.operation_id, int(status)) in covered, (op.operation_id, status)
