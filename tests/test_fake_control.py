"""The fake's own endpoints under /_mock: health, reset, export, load."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from .conftest import (
    API,
    CLUB,
    DOCS_FIXTURE,
    JANE,
    JAZZ,
    STANDARD,
    VIP,
    Fake,
    FakeFactory,
    load_json,
    new_person,
)


def shop(fake: Fake, event: str, tickets: list[tuple[str, int]]) -> None:
    """Three purchases, one of each participant form, then a refused one."""
    lines = [{"ticket_id": t, "quantity": q} for t, q in tickets]
    assert fake.buy({"eventId": event, "tickets": lines, "participant": new_person()}).is_success
    people = fake.api.get("/participants", params={"eventId": event}).json()["participants"]
    existing = {"participantId": people[0]["id"]}
    assert fake.buy({"eventId": event, "tickets": lines, "participant": existing}).is_success
    assert fake.buy({"eventId": event, "tickets": lines}).is_success
    assert fake.buy(
        {"eventId": event, "tickets": [{**lines[0], "quantity": 1000}]}
    ).status_code in (
        400,
        409,
    )


def answers(fake: Fake) -> list[bytes]:
    """The bytes of every read operation over every event of organizer 1."""
    out = []
    events = fake.api.get("/events", params={"limit": 100})
    out.append(events.content)
    for event in events.json()["events"]:
        out.append(fake.api.get(f"/event/{event['id']}").content)
        out.append(fake.api.get("/tickets", params={"eventId": event["id"]}).content)
        r = fake.api.get("/participants", params={"eventId": event["id"], "limit": 100})
        out.append(r.content)
    return out


def test_health_says_the_fake_is_ready(docs: Fake) -> None:
    r = docs.control.get("/_mock/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert (body["organizers"], body["events"]) == (1, 2)
    assert body["baseUrl"] == "http://testserver" + API


def test_the_export_is_a_valid_fixture_of_the_current_state(docs: Fake) -> None:
    state = docs.state()
    fixture = load_json(DOCS_FIXTURE)
    assert state == {k: v for k, v in fixture.items() if k != "$schema"}


def test_export_then_load_round_trips_exactly_after_purchases(docs: Fake) -> None:
    shop(docs, JAZZ, [(VIP, 2), (STANDARD, 3)])
    exported = docs.control.get("/_mock/state")
    before = answers(docs)
    assert len(exported.json()["orders"]) == 3
    r = docs.control.post("/_mock/fixtures", content=exported.content)
    assert r.status_code == 200
    assert r.json() == {"loaded": True, "organizers": 1, "events": 2}
    assert docs.control.get("/_mock/state").content == exported.content
    assert answers(docs) == before


def test_a_generated_data_set_round_trips_too(small: Fake, make_fake: FakeFactory) -> None:
    event = small.api.get("/events").json()["events"][0]["id"]
    ticket = next(
        t["id"]
        for t in small.api.get("/tickets", params={"eventId": event}).json()["tickets"]
        if t["quantity"] >= 3
    )
    shop(small, event, [(ticket, 1)])
    exported = small.control.get("/_mock/state")
    before = answers(small)
    other = make_fake(seed=99)  # another fake altogether takes the export
    assert other.control.post("/_mock/fixtures", content=exported.content).status_code == 200
    assert other.control.get("/_mock/state").content == exported.content
    assert answers(other) == before


def test_reset_returns_to_the_initial_fixture(docs: Fake) -> None:
    initial = docs.control.get("/_mock/state").content
    shop(docs, JAZZ, [(VIP, 5)])
    assert docs.control.get("/_mock/state").content != initial
    r = docs.control.post("/_mock/reset")
    assert r.status_code == 200
    assert r.json()["reset"] is True
    assert docs.control.get("/_mock/state").content == initial
    assert docs.quantities(JAZZ) == {VIP: 100, STANDARD: 250}


def test_reset_returns_to_the_initial_seed(small: Fake, make_fake: FakeFactory) -> None:
    initial = answers(small)
    initial_state = small.state()
    event = small.state()["events"][0]
    ticket = next(t["id"] for t in event["tickets"] if t["quantity"] > 0)
    # Organizer 1 or 2: buy with whichever token owns the event.
    owner = [o["id"] for o in initial_state["organizers"]].index(event["organizerId"])
    token = initial_state["organizers"][owner]["token"]
    body = {
        "eventId": event["id"],
        "tickets": [{"ticket_id": ticket, "quantity": 1}],
        "participant": new_person(),
    }
    assert small.buy(body, token=token).status_code == 200
    assert small.state() != initial_state
    assert small.control.post("/_mock/reset").status_code == 200
    assert small.state() == initial_state
    assert answers(small) == initial
    fresh = make_fake(
        seed=3, events_per_organizer=3, ticket_types_per_event=2, participants_per_event=7
    )
    assert fresh.state() == initial_state


def test_a_loaded_fixture_becomes_the_reset_point(docs: Fake) -> None:
    fixture = copy.deepcopy(load_json(DOCS_FIXTURE))
    fixture["events"][0]["tickets"][0]["quantity"] = 7
    assert docs.control.post("/_mock/fixtures", json=fixture).status_code == 200
    assert docs.quantities(JAZZ)[VIP] == 7
    assert docs.buy({"eventId": JAZZ, "tickets": [{"ticket_id": VIP, "quantity": 7}]}).is_success
    assert docs.quantities(JAZZ)[VIP] == 0
    docs.control.post("/_mock/reset")
    assert docs.quantities(JAZZ)[VIP] == 7


def test_a_loaded_fixture_brings_its_own_tokens(docs: Fake) -> None:
    fixture = copy.deepcopy(load_json(DOCS_FIXTURE))
    fixture["organizers"][0]["token"] = "a-brand-new-token"
    assert docs.control.post("/_mock/fixtures", json=fixture).status_code == 200
    assert docs.api.get("/events").status_code == 401
    r = docs.anon.get("/events", headers={"Authorization": "Bearer a-brand-new-token"})
    assert r.status_code == 200
    assert len(r.json()["events"]) == 2


def _without_slug(d: dict[str, Any]) -> None:
    del d["events"][0]["slug"]


def _dangling(d: dict[str, Any]) -> None:
    d["events"][1]["organizerId"] = "643e7b000000000000000002"


def _duplicate(d: dict[str, Any]) -> None:
    d["events"][1]["participants"][0]["id"] = JANE


def _bad_id(d: dict[str, Any]) -> None:
    d["events"][1]["id"] = CLUB.upper()


@pytest.mark.parametrize(
    ("mutate", "field", "says"),
    [
        (_without_slug, "body.events[0]", "'slug' is a required property"),
        (_dangling, "body.events[1].organizerId", "no organizer has id"),
        (_duplicate, "body.events[1].participants[0].id", f"id {JANE} is already used"),
        (_bad_id, "body.events[1].id", "is not a MongoDB ObjectId"),
    ],
)
def test_a_bad_fixture_posted_is_refused_and_the_state_is_unchanged(
    docs: Fake, mutate: Any, field: str, says: str
) -> None:
    shop(docs, JAZZ, [(VIP, 1)])
    before = docs.control.get("/_mock/state").content
    fixture = copy.deepcopy(load_json(DOCS_FIXTURE))
    mutate(fixture)
    r = docs.control.post("/_mock/fixtures", json=fixture)
    assert r.status_code == 400
    body = r.json()
    assert body["success"] is False
    assert body["code"] == "INVALID_FIXTURE"
    assert body["field"] == field
    assert says in body["message"]
    assert body["message"].startswith("fixture refused: $.")
    assert docs.control.get("/_mock/state").content == before
    # ...and the reset point is still the original fixture.
    docs.control.post("/_mock/reset")
    assert docs.quantities(JAZZ)[VIP] == 100


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"{", "INVALID_JSON"),
        (b"", "VALIDATION_ERROR"),  # "the request body is empty"
        (b"[]", "INVALID_FIXTURE"),
        (b"null", "INVALID_FIXTURE"),
        (b'"x"', "INVALID_FIXTURE"),
    ],
)
def test_a_posted_fixture_that_is_not_a_json_object_is_400(
    docs: Fake, content: bytes, code: str
) -> None:
    before = docs.control.get("/_mock/state").content
    r = docs.control.post("/_mock/fixtures", content=content)
    assert r.status_code == 400
    assert r.json()["success"] is False
    assert r.json()["code"] == code
    assert docs.control.get("/_mock/state").content == before


def test_control_endpoints_answer_wrong_methods_with_405(docs: Fake) -> None:
    r = docs.control.get("/_mock/reset")
    assert r.status_code == 405
    assert r.json()["code"] == "METHOD_NOT_ALLOWED"
    assert docs.control.delete("/_mock/state").status_code == 405
