"""``proxy --record``: traffic through the proxy becomes a fixture the fake serves statefully."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mockserver.http import create_app
from mockserver.proxy.anonymise import PERSONAL_FIELDS, Anonymiser
from mockserver.proxy.recorder import recorded_token
from mockserver.settings import Settings
from mockserver.store import load_fixture_file
from mockserver.testing import serve_in_thread

from .proxy_support import BASE, TOKEN, fake_app, serve_proxy

SALT = "test-salt"
BUYER = {
    "last_name": "Quixotebottom",
    "first_name": "Zebulon",
    "email": "zebulon.quixotebottom@corp.example",
    "phone": "+44 20 7946 0958",
}


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _walk(client: httpx.Client, path: str, key: str, limit: int, **params: Any) -> list[Any]:
    items: list[Any] = []
    for page in range(1, 100):
        body = client.get(path, params={**params, "page": page, "limit": limit}).json()
        items += body[key]
        if not body["paginate"]["hasNextPage"]:
            return items
    raise AssertionError("the walk did not end")


def _listings(client: httpx.Client, event_id: str) -> dict[str, Any]:
    return {
        "events": _walk(client, "/events", "events", 2),
        "event": client.get(f"/event/{event_id}").json(),
        "tickets": client.get("/tickets", params={"eventId": event_id}).json(),
        "participants": _walk(client, "/participants", "participants", 7, eventId=event_id),
    }


@pytest.fixture
def recording(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """The fake (seed 42) behind a recording proxy; one client session; the proxy stopped."""
    record = tmp_path / "recorded.json"
    report = tmp_path / "report.md"
    upstream_app = fake_app()
    with serve_in_thread(upstream_app) as upstream:
        with serve_proxy(upstream, record=record, report=report, record_salt=SALT) as (root, _):
            with httpx.Client(base_url=root + BASE, headers=_auth(TOKEN), timeout=10) as client:
                event_id = client.get("/events", params={"limit": 1}).json()["events"][0]["id"]
                tickets = client.get("/tickets", params={"eventId": event_id}).json()["tickets"]
                bought = client.post("/tickets/create", json={
                    "eventId": event_id,
                    "tickets": [{"ticket_id": tickets[0]["id"], "quantity": 2}],
                    "participant": BUYER,
                })  # fmt: skip
                assert bought.status_code == 200, bought.text
                original = _listings(client, event_id)
            written = httpx.post(root + "/_proxy/write").json()["written"]
            assert sorted(written) == sorted([str(report), str(record)])
        yield {
            "record": record,
            "report": report,
            "event_id": event_id,
            "original": original,
            "upstream": upstream,
            "upstream_app": upstream_app,
        }


def _anonymised(listing: Any) -> Any:
    return Anonymiser(SALT.encode()).body(listing)


def test_recording_is_a_valid_fixture_that_says_what_it_lacks(recording: dict[str, Any]) -> None:
    dataset = load_fixture_file(recording["record"])  # validates against fixture.schema.json
    data = json.loads(recording["record"].read_text())
    assert [o["token"] for o in data["organizers"]] == [recorded_token(1)]
    assert len(dataset.events) == 5  # every event organizer 1 lists
    visited = next(e for e in data["events"] if e["id"] == recording["event_id"])
    assert len(visited["tickets"]) == 3
    assert len(visited["participants"]) == len(recording["original"]["participants"])
    others = [e for e in data["events"] if e["id"] != recording["event_id"]]
    assert all(e["tickets"] == [] and e["participants"] == [] for e in others)
    for other in others:  # the recording says what it never saw
        assert f"event {other['id']}: ticket types never listed" in data["description"]
    assert f"event {recording['event_id']}" not in data["description"]
    assert len(data["orders"]) == 1
    assert data["orders"][0]["lines"][0]["quantity"] == 2


def test_served_recording_reproduces_the_listings(recording: dict[str, Any]) -> None:
    app = create_app(Settings(fixtures=recording["record"]))
    with (
        serve_in_thread(app) as served,
        httpx.Client(
            base_url=served + BASE, headers=_auth(recorded_token(1)), timeout=10
        ) as client,
    ):
        replayed = _listings(client, recording["event_id"])
    original = recording["original"]
    assert replayed["events"] == original["events"]
    assert replayed["event"] == original["event"]
    assert replayed["tickets"] == original["tickets"]
    # Personal fields replaced, consistently; everything else equal.
    assert replayed["participants"] == _anonymised(original["participants"])
    for before, after in zip(original["participants"], replayed["participants"], strict=True):
        for name in PERSONAL_FIELDS:
            if isinstance(before[name], str) and before[name]:
                assert after[name] != before[name], name
    buyer = [p for p in replayed["participants"] if p["last_name"] != BUYER["last_name"]]
    assert len(buyer) == len(replayed["participants"])


def _buy(client: httpx.Client, event_id: str, ticket_id: str, quantity: int) -> httpx.Response:
    return client.post("/tickets/create", json={
        "eventId": event_id,
        "tickets": [{"ticket_id": ticket_id, "quantity": quantity}],
        "participant": {"last_name": "Buyer", "first_name": "Later",
                        "email": "later.buyer@example.com", "phone": "+1 555 0100"},
    })  # fmt: skip


def test_purchases_on_the_recording_behave_as_on_the_original(
    recording: dict[str, Any],
) -> None:
    event_id = recording["event_id"]
    ticket = recording["original"]["tickets"]["tickets"][0]
    outcomes = []
    app = create_app(Settings(fixtures=recording["record"]))
    with serve_in_thread(app) as served:
        for root, token in ((recording["upstream"], TOKEN), (served, recorded_token(1))):
            with httpx.Client(base_url=root + BASE, headers=_auth(token), timeout=10) as client:
                before = _walk(client, "/participants", "participants", 100, eventId=event_id)
                ok = _buy(client, event_id, ticket["id"], 3)
                left = client.get("/tickets", params={"eventId": event_id}).json()["tickets"][0]
                after = _walk(client, "/participants", "participants", 100, eventId=event_id)
                too_many = _buy(client, event_id, ticket["id"], left["quantity"] + 1)
                unchanged = client.get("/tickets", params={"eventId": event_id}).json()
                outcomes.append({
                    "status": ok.status_code,
                    "issued": [(t["name"], t["quantity"]) for t in ok.json()["tickets"]],
                    "left": left["quantity"],
                    "grew": len(after) - len(before),
                    "new": {k: after[-1][k] for k in ("first_name", "last_name", "email")},
                    "refused": (too_many.status_code, too_many.json()["code"]),
                    "unchanged": unchanged["tickets"][0]["quantity"],
                })  # fmt: skip
    original, replayed = outcomes
    assert original == replayed
    assert original["status"] == 200
    assert original["left"] == ticket["quantity"] - 3
    assert original["grew"] == 1
    assert original["refused"] == (409, "NOT_ENOUGH_TICKETS")
    assert original["unchanged"] == original["left"]


def test_no_original_personal_data_or_token_in_recording_or_report(
    recording: dict[str, Any],
) -> None:
    """No original e-mail, phone, address, full name or token in any file the proxy wrote.

    A single common name ("Smith") may come out of Faker for someone else: it names
    nobody. The buyer's made-up names are unique, so they are checked one by one.
    """
    texts = {p.name: p.read_text() for p in (recording["record"], recording["report"])}
    people = [*recording["original"]["participants"], BUYER]
    secrets = [TOKEN, BUYER["first_name"], BUYER["last_name"]]
    for person in people:
        secrets += [
            person["email"],
            person["phone"],
            f"{person['first_name']} {person['last_name']}",
        ]
        if person.get("address"):
            secrets.append(person["address"])
    for name, text in texts.items():
        leaked = [s for s in secrets if s in text]
        assert leaked == [], f"{name} holds {leaked[:3]}"
    assert recorded_token(1) in texts[recording["record"].name]
