"""Tokens: one organizer never sees another's objects (404, existence not
revealed), and a missing or wrong token is 401 on every operation, before any
validation."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import TOKEN, TOKEN_2, Fake, bearer, new_person

OPERATIONS = ["listEvents", "getEvent", "listTickets", "createTickets", "listParticipants"]


def objects_of(fake: Fake, organizer: int) -> dict[str, Any]:
    """An event of organizer ``organizer`` (0-based) with a ticket left and a participant."""
    state = fake.state()
    owner = state["organizers"][organizer]["id"]
    event = next(
        e
        for e in state["events"]
        if e["organizerId"] == owner
        and e["participants"]
        and any(t["quantity"] > 0 for t in e["tickets"])
    )
    ticket = next(t for t in event["tickets"] if t["quantity"] > 0)
    return {"event": event["id"], "ticket": ticket["id"], "participant": event["participants"][0]}


def request(
    fake: Fake, operation: str, ids: dict[str, Any], headers: dict[str, Any] | None = None
) -> Any:
    """Call ``operation`` on the objects ``ids`` with ``headers`` (and no default token)."""
    client, h = fake.anon, headers or {}
    event = ids["event"]
    if operation == "listEvents":
        return client.get("/events", headers=h)
    if operation == "getEvent":
        return client.get(f"/event/{event}", headers=h)
    if operation == "listTickets":
        return client.get("/tickets", params={"eventId": event}, headers=h)
    if operation == "listParticipants":
        return client.get("/participants", params={"eventId": event}, headers=h)
    body = {"eventId": event, "tickets": [{"ticket_id": ids["ticket"], "quantity": 1}]}
    return client.post("/tickets/create", json=body, headers=h)


@pytest.mark.parametrize("operation", ["getEvent", "listTickets", "listParticipants"])
def test_another_organizers_event_is_404_not_403(small: Fake, operation: str) -> None:
    theirs = objects_of(small, 0)
    r = request(small, operation, theirs, bearer(TOKEN_2))
    assert r.status_code == 404
    assert r.json() == {
        "success": False,
        "code": "EVENT_NOT_FOUND",
        "message": f"event {theirs['event']} not found",
    }
    # Exactly what a non-existent id gets: nothing tells the two apart.
    absent = {**theirs, "event": "0" * 23 + "1"}
    other = request(small, operation, absent, bearer(TOKEN_2)).json()
    assert other["message"].replace(absent["event"], theirs["event"]) == r.json()["message"]
    assert request(small, operation, theirs, bearer(TOKEN)).status_code == 200


@pytest.mark.parametrize(
    "participant", ["none", "existing", "new"], ids=["no-participant", "theirs", "new"]
)
def test_buying_on_another_organizers_event_is_404_and_changes_nothing(
    small: Fake, participant: str
) -> None:
    theirs = objects_of(small, 0)
    body: dict[str, Any] = {
        "eventId": theirs["event"],
        "tickets": [{"ticket_id": theirs["ticket"], "quantity": 1}],
    }
    if participant == "existing":
        body["participant"] = {"participantId": theirs["participant"]["id"]}
    elif participant == "new":
        body["participant"] = new_person()
    before = small.state()
    r = small.buy(body, token=TOKEN_2)
    assert r.status_code == 404
    assert r.json()["code"] == "EVENT_NOT_FOUND"
    assert small.state() == before


def test_buying_for_another_organizers_participant_is_404(small: Fake) -> None:
    theirs = objects_of(small, 0)
    mine = objects_of(small, 1)
    before = small.state()
    r = small.buy(
        {
            "eventId": mine["event"],
            "tickets": [{"ticket_id": mine["ticket"], "quantity": 1}],
            "participant": {"participantId": theirs["participant"]["id"]},
        },
        token=TOKEN_2,
    )
    assert r.status_code == 404
    assert r.json()["code"] == "PARTICIPANT_NOT_FOUND"
    assert small.state() == before


def test_buying_another_organizers_ticket_on_ones_own_event_is_404(small: Fake) -> None:
    theirs, mine = objects_of(small, 0), objects_of(small, 1)
    before = small.state()
    r = small.buy(
        {"eventId": mine["event"], "tickets": [{"ticket_id": theirs["ticket"], "quantity": 1}]},
        token=TOKEN_2,
    )
    assert r.status_code == 404
    assert r.json()["code"] == "TICKET_NOT_FOUND"
    assert small.state() == before


def test_an_organizers_event_list_never_holds_another_organizers_events(small: Fake) -> None:
    state = small.state()
    owners = {e["id"]: e["organizerId"] for e in state["events"]}
    first, second = (o["id"] for o in state["organizers"])
    listed1 = [e["id"] for e in small.all_pages("/events", "events", 2)]
    r = small.api2.get("/events", params={"limit": 100})
    listed2 = [e["id"] for e in r.json()["events"]]
    assert listed1
    assert listed2
    assert {owners[i] for i in listed1} == {first}
    assert {owners[i] for i in listed2} == {second}
    assert sorted(listed1 + listed2) == sorted(owners)


BAD_HEADERS: dict[str, dict[str, Any]] = {
    "missing": {},
    "empty": {"Authorization": ""},
    "no-scheme": {"Authorization": TOKEN},
    "basic": {"Authorization": "Basic Z29ldmVudDpkZXY="},
    "bearer-only": {"Authorization": "Bearer"},
    "bearer-blank": {"Authorization": "Bearer    "},
    "unknown": {"Authorization": "Bearer not-a-token"},
    "almost": {"Authorization": f"Bearer {TOKEN}x"},
    "non-ascii": {"Authorization": "Bearer t\u00f6ken-\u2603".encode()},  # raw UTF-8 bytes
}


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("header", list(BAD_HEADERS))
def test_a_missing_malformed_or_unknown_token_is_401_on_every_operation(
    small: Fake, operation: str, header: str
) -> None:
    mine = objects_of(small, 0)
    before = small.state()
    r = request(small, operation, mine, BAD_HEADERS[header])
    assert r.status_code == 401
    body = r.json()
    assert body["success"] is False
    assert body["code"] == "UNAUTHORIZED"
    assert body["message"]
    assert "field" not in body
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert small.state() == before


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("GET", "/events", {"params": {"limit": "500"}}),
        ("GET", "/event/not-an-id", {}),
        ("GET", "/tickets", {}),
        ("GET", "/participants", {"params": {"eventId": "x", "page": "-1"}}),
        ("POST", "/tickets/create", {"content": b"{not json"}),
        ("POST", "/tickets/create", {"json": {"eventId": 1}}),
        ("POST", "/tickets/create", {"content": b"[]", "headers": {"Content-Type": "text/csv"}}),
    ],
)
def test_401_comes_before_validation(
    small: Fake, method: str, path: str, kwargs: dict[str, Any]
) -> None:
    r = small.anon.request(method, path, **kwargs)
    assert r.status_code == 401
    assert r.json()["code"] == "UNAUTHORIZED"
    with_token = small.api.request(method, path, **kwargs)
    assert with_token.status_code == 400


def test_the_scheme_is_case_insensitive_and_the_token_is_not(small: Fake) -> None:
    assert small.anon.get("/events", headers={"Authorization": f"bearer {TOKEN}"}).is_success
    r = small.anon.get("/events", headers={"Authorization": f"Bearer {TOKEN.upper()}"})
    assert r.status_code == 401
