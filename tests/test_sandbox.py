"""Sandboxes per token: their own organizer and seeded data, isolated, reset one by one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import httpx

from mockserver.sandbox import sandbox_id

from .conftest import API, HOST, Connect, Fake, FakeFactory, bearer, new_person

A, B = "sandbox-ci-job-a", "sandbox-ci-job-b"


def buy_first(api: httpx.Client) -> tuple[str, str, dict[str, Any]]:
    """Buy one ticket of the first event with one left, for a new participant."""
    for event in api.get("/events", params={"limit": 100}).json()["events"]:
        for ticket in api.get("/tickets", params={"eventId": event["id"]}).json()["tickets"]:
            if ticket["quantity"] > 0:
                body = {"eventId": event["id"], "participant": new_person(),
                        "tickets": [{"ticket_id": ticket["id"], "quantity": 1}]}  # fmt: skip
                r = api.post("/tickets/create", json=body)
                assert r.status_code == 200, r.text
                return event["id"], ticket["id"], r.json()
    raise AssertionError("nothing for sale")


def participants(api: httpx.Client, event_id: str) -> list[str]:
    r = api.get("/participants", params={"eventId": event_id, "limit": 100})
    assert r.status_code == 200, r.text
    return [p["id"] for p in r.json()["participants"]]


def state(fake: Fake, token: str | None = None) -> dict[str, Any]:
    r = fake.control.get("/_mock/state", params={"token": token} if token else {})
    assert r.status_code == 200
    body: dict[str, Any] = r.json()
    return body


def test_a_sandbox_token_gets_its_own_organizer_and_data(fake: Fake, connect: Connect) -> None:
    default_events = fake.api.get("/events", params={"limit": 100}).json()["events"]
    r = connect(fake, A).get("/events", params={"limit": 100})
    assert r.status_code == 200
    events = r.json()["events"]
    assert len(events) == 5  # one organizer's worth (events_per_organizer)
    assert {e["id"] for e in events}.isdisjoint({e["id"] for e in default_events})
    sandbox = state(fake, A)
    assert [o["token"] for o in sandbox["organizers"]] == [A]
    assert A not in {o["token"] for o in state(fake)["organizers"]}


def test_the_same_token_gets_the_same_data_in_every_fake(
    make_fake: FakeFactory, connect: Connect
) -> None:
    first, second = make_fake(seed=5), make_fake(seed=99)
    assert connect(first, A).get("/events").json() == connect(second, A).get("/events").json()
    assert connect(first, A).get("/events").json() != connect(first, B).get("/events").json()


def test_the_data_of_a_sandbox_is_the_same_in_another_process(fake: Fake, connect: Connect) -> None:
    # Seeded from SHA-256 of the token, not from hash(), which changes per process.
    here = connect(fake, A).get("/events").json()
    script = (
        "import json, sys\n"
        "from mockserver import create_app\n"
        "from mockserver.testing import asgi_client\n"
        f"with asgi_client(create_app(), {HOST + API!r},"
        f" headers={{'Authorization': 'Bearer {A}'}}) as c:\n"
        "    sys.stdout.write(json.dumps(c.get('/events').json()))\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, timeout=120, check=True)  # fmt: skip
    assert json.loads(done.stdout) == here


def test_purchases_in_one_sandbox_are_invisible_to_the_others(fake: Fake, connect: Connect) -> None:
    a, b = connect(fake, A), connect(fake, B)
    b_before, default_before = state(fake, B), state(fake)
    event_id, _, bought = buy_first(a)
    assert bought["participant"]["id"] in participants(a, event_id)
    # B and the default data set are untouched, down to the last quantity.
    assert state(fake, B) == b_before
    assert state(fake) == default_before
    assert b.get("/tickets", params={"eventId": event_id}).status_code == 404
    assert fake.api.get("/tickets", params={"eventId": event_id}).status_code == 404


def test_reset_works_per_sandbox(fake: Fake, connect: Connect) -> None:
    a, b = connect(fake, A), connect(fake, B)
    a_initial = state(fake, A)
    buy_first(a)
    b_event, _, b_bought = buy_first(b)
    # Reset A, named by its bearer token.
    r = fake.control.post("/_mock/reset", headers=bearer(A))
    assert r.status_code == 200
    assert r.json()["sandbox"] == sandbox_id(A)
    assert state(fake, A) == a_initial
    assert b_bought["participant"]["id"] in participants(b, b_event)
    # Reset B, named by ?token=.
    assert fake.control.post("/_mock/reset", params={"token": B}).json()["sandbox"] == sandbox_id(B)
    assert b_bought["participant"]["id"] not in participants(b, b_event)


def test_the_default_reset_leaves_sandboxes_alone(fake: Fake, connect: Connect) -> None:
    a = connect(fake, A)
    event_id, _, bought = buy_first(a)
    assert fake.control.post("/_mock/reset").json()["sandbox"] is None
    assert bought["participant"]["id"] in participants(a, event_id)


def test_each_sandbox_has_its_own_journal_faults_limit_and_clock(
    fake: Fake, connect: Connect
) -> None:
    a, b = connect(fake, A), connect(fake, B)
    a.get("/events")
    b.get("/events")
    b.get("/events")
    fake.api.get("/events")
    counts = [fake.control.get("/_mock/journal", params=p).json()["count"]
              for p in ({"token": A}, {"token": B}, {})]  # fmt: skip
    assert counts == [1, 2, 1]
    fake.control.post("/_mock/faults", json={"status": 503}, headers=bearer(A))
    fake.control.put("/_mock/ratelimit", json={"limit": 1, "window": "1h"}, headers=bearer(B))
    fake.control.post("/_mock/clock", json={"freeze": "2030-01-01T00:00:00Z"}, params={"token": A})
    assert a.get("/events").status_code == 503
    assert b.get("/events").status_code == 200
    assert b.get("/events").status_code == 429
    assert fake.api.get("/events").status_code == 200
    assert fake.control.get("/_mock/clock", params={"token": A}).json()["frozen"] is True
    assert fake.control.get("/_mock/clock").json()["frozen"] is False


def test_sandboxes_are_listed_bounded_and_forgotten(
    make_fake: FakeFactory, connect: Connect
) -> None:
    fake = make_fake(seed=5, max_sandboxes=2)
    for token in (A, B, A):
        assert connect(fake, token).get("/events").status_code == 200
    # Both slots are held by sandboxes in use: a third is refused, and nobody is pushed out.
    r = connect(fake, "sandbox-third").get("/events")
    assert r.status_code == 503
    assert r.json()["code"] == "SANDBOXES_FULL"
    assert "maximum of 2 sandboxes" in r.json()["message"]
    assert 1 <= int(r.headers["Retry-After"]) <= 1800
    listed = fake.control.get("/_mock/sandboxes").json()
    assert (listed["prefix"], listed["max"]) == ("sandbox-", 2)
    # Least recently used first.
    assert [s["id"] for s in listed["sandboxes"]] == [sandbox_id(B), sandbox_id(A)]
    assert all(s["token"] and A not in s["token"] for s in listed["sandboxes"])
    assert fake.control.delete("/_mock/sandboxes").json() == {"forgotten": 2}
    assert fake.control.get("/_mock/sandboxes").json()["sandboxes"] == []


def test_tickets_issued_in_a_sandbox_are_served_and_verified(fake: Fake, connect: Connect) -> None:
    a = connect(fake, A)
    _, _, bought = buy_first(a)
    url = bought["tickets"][0]["url"]
    code = url.rsplit("/", 1)[1].split(".pdf")[0]
    assert sandbox_id(A) in code
    r = fake.control.get(url)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/pdf"
    verified = fake.control.post("/_mock/tickets/verify", json={"code": code})
    assert verified.status_code == 200
    assert verified.json()["participantId"] == bought["participant"]["id"]
    fake.control.delete("/_mock/sandboxes")
    gone = fake.control.post("/_mock/tickets/verify", json={"code": code})
    assert gone.status_code == 404
    assert gone.json()["code"] == "NOT_FOUND"


def test_a_fixture_loaded_into_a_sandbox_keeps_the_sandbox_token(
    docs: Fake, connect: Connect
) -> None:
    fixture = state(docs)
    r = docs.control.post("/_mock/fixtures", json=fixture, headers=bearer(B))
    assert r.status_code == 200
    names = [e["name"] for e in connect(docs, B).get("/events").json()["events"]]
    assert "Concert de Jazz" in names
    assert [o["token"] for o in state(docs, B)["organizers"]] == [B]


def test_tokens_without_the_prefix_are_still_refused(
    make_fake: FakeFactory, connect: Connect
) -> None:
    fake = make_fake(seed=5)
    for token in ("nobody", "sandbox-", "Sandbox-x"):
        r = connect(fake, token).get("/events")
        assert r.status_code == 401
        assert r.json()["code"] == "UNAUTHORIZED"
    assert fake.control.get("/_mock/sandboxes").json()["sandboxes"] == []


def test_the_prefix_is_configurable_and_sandboxes_can_be_switched_off(
    make_fake: FakeFactory, connect: Connect
) -> None:
    custom = make_fake(seed=5, sandbox_prefix="ci-")
    assert connect(custom, "ci-42").get("/events").status_code == 200
    assert connect(custom, A).get("/events").status_code == 401
    off = make_fake(seed=5, max_sandboxes=0)
    assert connect(off, A).get("/events").status_code == 401
