"""Injected faults: latency, error answers, dropped connections; deterministic under a seed."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mockserver import Settings, create_app
from mockserver.faults import FaultPlan, parse_duration, parse_rule, parse_rules, rule_from_json
from mockserver.testing import serve_in_thread

from .conftest import API, DOCS_FIXTURE, JAZZ, TOKEN, VIP, Fake, FakeFactory, bearer

OPERATIONS = {"listEvents", "getEvent", "listTickets", "createTickets", "listParticipants"}
PURCHASE = {"eventId": JAZZ, "tickets": [{"ticket_id": VIP, "quantity": 1}]}


def entries(fake: Fake, **params: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = fake.control.get("/_mock/journal", params=params).json()[
        "entries"
    ]
    return found


def assert_error(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json"
    body: dict[str, Any] = r.json()
    assert body["success"] is False
    assert body["code"] == code
    assert body["message"]
    return body


# -- the X-Mock-Fault and X-Mock-Latency headers ---------------------------------------


def test_a_header_fault_answers_the_status_in_the_error_shape_and_sells_nothing(
    docs: Fake,
) -> None:
    before = docs.state()
    r = docs.api.post("/tickets/create", json=PURCHASE, headers={"X-Mock-Fault": "status=503"})
    body = assert_error(r, 503, "SERVICE_UNAVAILABLE")
    assert "injected" in body["message"]
    assert docs.state() == before
    (entry,) = entries(docs)
    assert (entry["status"], entry["fault"]) == (503, "status=503")
    # The header applies to its own request only.
    assert docs.buy(PURCHASE).status_code == 200


def test_a_header_fault_can_name_its_error_code(docs: Fake) -> None:
    r = docs.api.get("/events", headers={"X-Mock-Fault": "status=500,code=BACKEND_DOWN"})
    assert_error(r, 500, "BACKEND_DOWN")


def test_an_injected_429_carries_retry_after(docs: Fake) -> None:
    r = docs.api.get("/events", headers={"X-Mock-Fault": "status=429"})
    assert_error(r, 429, "RATE_LIMITED")
    assert r.headers["Retry-After"] == "1"


def test_header_latency_delays_the_answer(docs: Fake) -> None:
    started = time.perf_counter()
    r = docs.api.get("/events", headers={"X-Mock-Latency": "60ms"})
    elapsed = time.perf_counter() - started
    assert r.status_code == 200
    assert elapsed >= 0.06
    (entry,) = entries(docs)
    assert entry["fault"] == "latency=60ms"
    assert entry["durationMs"] >= 60


@pytest.mark.parametrize(
    ("header", "value", "fragment"),
    [
        ("X-Mock-Fault", "status=99", "status must be a code from 400 to 599"),
        ("X-Mock-Fault", "explode", "unknown key 'explode'"),
        ("X-Mock-Fault", "listEvents:status=503", "without an operation"),
        ("X-Mock-Fault", "rate=0.5", "does nothing"),
        ("X-Mock-Fault", "status=503,drop", "exclude each other"),
        ("X-Mock-Latency", "200", "a number and a unit"),
        ("X-Mock-Latency", "90s", "latency must be between 0 and 60s"),
        ("X-Mock-Latency", "300-100ms", "low end first"),
    ],
)
def test_a_bad_fault_header_is_a_400_naming_the_header(
    docs: Fake, header: str, value: str, fragment: str
) -> None:
    before = docs.state()
    r = docs.api.post("/tickets/create", json=PURCHASE, headers={header: value})
    body = assert_error(r, 400, "VALIDATION_ERROR")
    assert body["field"] == f"header.{header}"
    assert fragment in body["message"]
    assert docs.state() == before


# -- rules: per operation, fractions, counts, seeds ----------------------------------------


def test_a_rule_applies_to_its_operation_only(make_fake: FakeFactory) -> None:
    fake = make_fake(seed=5, faults="listTickets:status=502")
    event = fake.api.get("/events").json()["events"][0]["id"]
    assert_error(fake.api.get("/tickets", params={"eventId": event}), 502, "BAD_GATEWAY")
    assert fake.api.get(f"/event/{event}").status_code == 200


def test_times_limits_how_often_a_rule_fires(make_fake: FakeFactory) -> None:
    fake = make_fake(seed=5, faults="listEvents:status=503,times=2")
    assert [fake.api.get("/events").status_code for _ in range(4)] == [503, 503, 200, 200]
    (rule,) = fake.control.get("/_mock/faults").json()["rules"]
    assert (rule["fired"], rule["times"]) == (2, 2)


def statuses(seed: int, n: int = 100) -> list[int]:
    app = create_app(Settings(seed=seed, faults="listEvents:status=503,rate=0.3",
                              organizers=1, events_per_organizer=1))  # fmt: skip
    from mockserver.testing import asgi_client

    with asgi_client(app, "http://testserver" + API, headers=bearer(TOKEN)) as client:
        return [client.get("/events").status_code for _ in range(n)]


def test_a_fraction_of_requests_fails_the_same_way_under_the_same_seed() -> None:
    first, again, other = statuses(11), statuses(11), statuses(12)
    assert first == again
    assert first != other
    assert set(first) == {200, 503}
    # 30 % of 100 requests, give or take what a fair draw gives.
    assert 15 <= first.count(503) <= 45


def latencies(seed: int) -> list[str]:
    app = create_app(Settings(seed=seed, latency="1-9ms", organizers=1, events_per_organizer=1))
    from mockserver.testing import asgi_client

    with asgi_client(app, "http://testserver" + API, headers=bearer(TOKEN)) as client:
        for _ in range(8):
            assert client.get("/events").status_code == 200
    journal = app.state.boxes.default.journal
    return [str(e.fault) for e in journal.entries()]


def test_random_latency_is_drawn_in_its_range_from_the_seed() -> None:
    first, again, other = latencies(3), latencies(3), latencies(4)
    assert first == again
    assert first != other
    waits = [parse_duration(f.removeprefix("latency=")) for f in first]
    assert all(0.001 <= w <= 0.009 for w in waits)
    assert len(set(waits)) > 1


def test_rules_add_up_latency_and_the_first_error_wins(make_fake: FakeFactory) -> None:
    fake = make_fake(seed=5, faults="latency=5ms;listEvents:status=504;status=500")
    assert_error(fake.api.get("/events"), 504, "GATEWAY_TIMEOUT")
    (entry,) = entries(fake)
    assert entry["fault"] == "latency=5ms status=504"


# -- the control endpoints ------------------------------------------------------------------


def test_faults_are_added_listed_replaced_and_cleared(docs: Fake) -> None:
    r = docs.control.post("/_mock/faults", json={"operation": "getEvent", "status": 503,
                                                  "times": 1})  # fmt: skip
    assert r.status_code == 201
    assert r.json()["rule"] == "getEvent:status=503,times=1"
    r = docs.control.post("/_mock/faults", json={"rule": "listEvents:latency=1-2ms,rate=0.5"})
    assert r.status_code == 201
    listed = docs.control.get("/_mock/faults").json()
    assert [(x["id"], x["rule"]) for x in listed["rules"]] == [
        (1, "getEvent:status=503,times=1"),
        (2, "listEvents:latency=1ms-2ms,rate=0.5"),
    ]
    assert_error(docs.api.get(f"/event/{JAZZ}"), 503, "SERVICE_UNAVAILABLE")
    assert docs.api.get(f"/event/{JAZZ}").status_code == 200

    r = docs.control.put("/_mock/faults", json={"seed": 9, "rules": ["x"]})
    assert_error(r, 400, "INVALID_FAULT")
    r = docs.control.put("/_mock/faults", json={"seed": 9, "rules": [{"drop": True}]})
    assert r.status_code == 200
    assert (r.json()["seed"], [x["rule"] for x in r.json()["rules"]]) == (9, ["drop"])

    r = docs.control.delete("/_mock/faults")
    assert r.json()["rules"] == []
    assert docs.api.get(f"/event/{JAZZ}").status_code == 200


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"operation": "listEvent", "status": 503}, "unknown operation 'listEvent'"),
        ({"status": "five hundred"}, "status must be a code"),
        ({"status": 503, "colour": "red"}, "unknown key 'colour'"),
        ({"latency": 200}, "latency is a string with a unit"),
        ({"rate": 2, "status": 500}, "rate must be a fraction"),
        ({"rule": "createTickets:"}, "does nothing"),
        ([1, 2], "a fault is a JSON object"),
    ],
)
def test_a_bad_fault_is_refused_and_changes_nothing(docs: Fake, body: Any, fragment: str) -> None:
    # A rule in force first, so that "changes nothing" can be told from "cleared the rules".
    added = docs.control.post("/_mock/faults", json={"operation": "getEvent", "status": 503})
    assert added.status_code == 201, added.text
    before = docs.control.get("/_mock/faults").json()
    r = docs.control.post("/_mock/faults", json=body)
    assert fragment in assert_error(r, 400, "INVALID_FAULT")["message"]
    assert docs.control.get("/_mock/faults").json() == before


def test_reset_restores_the_startup_rules(make_fake: FakeFactory) -> None:
    fake = make_fake(seed=5, faults="getEvent:status=503")
    fake.control.delete("/_mock/faults")
    fake.control.post("/_mock/faults", json={"status": 500})
    assert fake.control.post("/_mock/reset").status_code == 200
    assert [x["rule"] for x in fake.control.get("/_mock/faults").json()["rules"]] == [
        "getEvent:status=503"
    ]


def test_bad_startup_faults_stop_the_app_with_the_reason() -> None:
    with pytest.raises(ValueError, match=r"--fault.*unknown operation 'nope'"):
        create_app(Settings(faults="nope:status=503"))
    with pytest.raises(ValueError, match="a duration is a number and a unit"):
        create_app(Settings(latency="fast"))


# -- dropped connections -----------------------------------------------------------------


def test_a_drop_in_process_raises_the_transport_error_a_socket_client_would_see(
    make_fake: FakeFactory,
) -> None:
    fake = make_fake(seed=5, faults="listEvents:drop,times=1")
    with pytest.raises(httpx.RemoteProtocolError):
        fake.api.get("/events")
    assert fake.api.get("/events").status_code == 200
    assert [e["status"] for e in entries(fake)] == [None, 200]
    assert [e["fault"] for e in entries(fake, status="dropped")] == ["drop"]


@pytest.fixture
def dropping_server() -> Iterator[tuple[str, Any]]:
    faults = "listEvents:drop;createTickets:drop=after"
    app = create_app(Settings(fixtures=DOCS_FIXTURE, faults=faults))
    with serve_in_thread(app) as root:
        yield root + API, app


def test_a_drop_on_a_socket_closes_the_connection_without_an_answer(
    dropping_server: tuple[str, Any],
) -> None:
    base, app = dropping_server
    with httpx.Client(base_url=base, headers=bearer(TOKEN)) as client:
        with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
            client.get("/events")
        # The same client goes on, on a new connection.
        assert client.get(f"/event/{JAZZ}").status_code == 200
        before = app.state.store.events[0].tickets[0].quantity
        # drop=after: the purchase is made, then the answer is lost.
        with pytest.raises(httpx.RemoteProtocolError):
            client.post("/tickets/create", json=PURCHASE)
    assert app.state.store.events[0].tickets[0].quantity == before - 1
    assert len(app.state.store.orders) == 1
    journal = app.state.boxes.default.journal
    assert [(e.operation, e.status, e.fault) for e in journal.entries()] == [
        ("listEvents", None, "drop"),
        ("getEvent", 200, None),
        ("createTickets", None, "drop=after"),
    ]


# -- the command line ------------------------------------------------------------------


def test_the_cli_takes_fault_latency_and_rate_limit_flags() -> None:
    env = {**os.environ, "GOEVENT_MOCK_SEED": "5"}
    command = [sys.executable, "-m", "mockserver.cli", "serve", "--port", "0",
               "--fault", "getEvent:status=503", "--fault", "listTickets:status=502,times=1",
               "--latency", "1ms", "--rate-limit", "50/60s",
               "--rate-limit-mode", "sliding"]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=env)  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # printed once the socket listens
        assert line.startswith("GoEvent fake listening on "), line + process.stderr.read()
        base = line.split()[-1]
        with httpx.Client(base_url=base, headers=bearer(TOKEN), timeout=10) as client:
            events = client.get("/events")
            assert events.status_code == 200
            assert events.headers["X-RateLimit-Limit"] == "50"
            event = events.json()["events"][0]["id"]
            assert client.get(f"/event/{event}").status_code == 503
            assert client.get("/tickets", params={"eventId": event}).status_code == 502
            assert client.get("/tickets", params={"eventId": event}).status_code == 200
            limit = httpx.get(base.removesuffix(API) + "/_mock/ratelimit").json()
            assert (limit["limit"], limit["mode"]) == (50, "sliding")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def test_the_cli_refuses_a_bad_fault_with_the_reason(capsys: pytest.CaptureFixture[str]) -> None:
    from mockserver.cli import main

    assert main(["serve", "--fault", "getEvent:status=600"]) == 2
    assert "status must be a code from 400 to 599, got 600" in capsys.readouterr().err


# -- the grammar --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "listEvents:status=503",
        "latency=200ms",
        "latency=100ms-300ms,rate=0.25",
        "createTickets:drop=after,times=1",
        "getEvent:status=500,code=DB_DOWN,rate=0.5,times=3",
        "drop",
        "latency=2s",
    ],
)
def test_a_rule_reads_back_as_it_is_written(text: str) -> None:
    assert parse_rule(text, OPERATIONS).describe() == text


def test_the_json_and_text_forms_agree() -> None:
    as_json = rule_from_json({"operation": "listTickets", "latency": "100-300ms", "rate": 0.5})
    assert as_json.describe() == parse_rule("listTickets:latency=100-300ms,rate=0.5").describe()
    assert [r.describe() for r in parse_rules(" ; status=500 ;; drop ")] == ["status=500", "drop"]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("200ms", 0.2), ("1.5s", 1.5), ("2m", 120.0), ("1h", 3600.0)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_a_plan_without_rules_injects_nothing() -> None:
    plan = FaultPlan()
    assert plan.active is False
    assert plan.plan("listEvents") is None
