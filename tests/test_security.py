"""Safe to share: who may call /_mock, tenants kept apart, every resource bounded.

One test (or more) per defect of the "safe to share" report: each asserts the status, the
body, and that nothing else changed.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import socket
import subprocess
import sys
import threading
from typing import Any

import httpx
import orjson
import pytest

from mockserver import Settings, create_app
from mockserver.http.access import CONTROL_BODY_BYTES, is_loopback
from mockserver.journal import BODY_PREFIX
from mockserver.sandbox import sandbox_id
from mockserver.testing import asgi_client, serve_in_thread

from .conftest import HOST, ROOT, TOKEN, TOKEN_2, Connect, Fake, FakeFactory, bearer, new_person
from .test_fake_cli import CLI, _stop, clean_env

ADMIN = "admin-token-for-the-tests-0123456789"
A, B = "sandbox-ci-job-a", "sandbox-ci-job-b"


@pytest.fixture
def shared(make_fake: FakeFactory) -> Fake:
    """A fake run as a shared service: /_mock needs the admin token."""
    return make_fake(seed=5, admin_token=ADMIN)


def admin(fake: Fake, method: str, path: str, **kwargs: Any) -> httpx.Response:
    headers = {**bearer(ADMIN), **kwargs.pop("headers", {})}
    return fake.control.request(method, path, headers=headers, **kwargs)


def admin_state(fake: Fake, token: str | None = None) -> dict[str, Any]:
    r = admin(fake, "GET", "/_mock/state", params={"token": token} if token else {})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def buy_one(client: httpx.Client, key: str | None = None) -> httpx.Response:
    """Buy one ticket of the first event with tickets left (a new participant each time)."""
    for event in client.get("/events", params={"limit": 100}).json()["events"]:
        for ticket in client.get("/tickets", params={"eventId": event["id"]}).json()["tickets"]:
            if ticket["quantity"] > 0:
                body = {"eventId": event["id"], "participant": new_person(),
                        "tickets": [{"ticket_id": ticket["id"], "quantity": 1}]}  # fmt: skip
                headers = {"Idempotency-Key": key} if key else {}
                return client.post("/tickets/create", json=body, headers=headers)
    raise AssertionError("nothing for sale")


def orders(state: dict[str, Any]) -> int:
    return len(state["orders"])


def assert_error(r: httpx.Response, status: int, code: str, *words: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    assert body["success"] is False
    assert body["code"] == code
    for word in words:
        assert word in body["message"], body["message"]
    return body


# -- /_mock has no access control ---------------------------------------------------------


def test_with_an_admin_token_the_state_and_its_tokens_are_the_admins_only(shared: Fake) -> None:
    for headers in ({}, bearer("not-the-admin"), bearer(TOKEN)):
        r = shared.control.get("/_mock/state", headers=headers)
        body = assert_error(r, 401, "UNAUTHORIZED", "admin token")
        assert TOKEN not in r.text
        assert TOKEN_2 not in r.text
        assert body["field"] == "header.Authorization"
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
    tokens = [o["token"] for o in admin_state(shared)["organizers"]]
    assert tokens == [TOKEN, TOKEN_2]


def test_a_posted_fixture_cannot_take_over_without_the_admin_token(shared: Fake) -> None:
    before = admin_state(shared)
    # A fixture that would load (distinct tokens): only access control can refuse it.
    hijacked = {**before, "organizers": [{**o, "token": f"attacker-{i}"}
                                         for i, o in enumerate(before["organizers"])]}  # fmt: skip
    for headers in ({}, bearer(TOKEN)):
        r = shared.control.post("/_mock/fixtures", json=hijacked, headers=headers)
        assert_error(r, 401, "UNAUTHORIZED")
        assert admin_state(shared) == before
        assert shared.anon.get("/events", headers=bearer("attacker-0")).status_code == 401
    assert admin(shared, "POST", "/_mock/reset").status_code == 200
    assert admin_state(shared) == before
    assert shared.api.get("/events").status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/_mock/faults", {"operation": "listEvents", "status": 503}),
        ("PUT", "/_mock/ratelimit", {"limit": 1, "window": "1h"}),
        ("POST", "/_mock/clock", {"freeze": "2030-01-01T00:00:00Z"}),
        ("POST", "/_mock/reset", None),
        ("DELETE", "/_mock/journal", None),
        ("GET", "/_mock/sandboxes", None),
        ("DELETE", "/_mock/sandboxes", None),
    ],
)
def test_without_the_admin_token_nothing_changes_for_everyone(
    shared: Fake, connect: Connect, method: str, path: str, body: Any
) -> None:
    shared.api.get("/events")
    assert connect(shared, A).get("/events").status_code == 200  # a sandbox to list or forget
    sandboxes = admin(shared, "GET", "/_mock/sandboxes").json()["sandboxes"]
    before = admin_state(shared)
    faults = admin(shared, "GET", "/_mock/faults").json()
    clock = admin(shared, "GET", "/_mock/clock").json()
    journal = admin(shared, "GET", "/_mock/journal").json()["count"]
    r = shared.control.request(method, path, json=body)
    assert_error(r, 401, "UNAUTHORIZED", f"{method} {path}")
    assert admin_state(shared) == before
    assert admin(shared, "GET", "/_mock/faults").json() == faults
    assert admin(shared, "GET", "/_mock/ratelimit").json()["enabled"] is False
    now = admin(shared, "GET", "/_mock/clock").json()
    assert (now["frozen"], now["offsetSeconds"]) == (clock["frozen"], clock["offsetSeconds"])
    assert admin(shared, "GET", "/_mock/journal").json()["count"] == journal
    assert [s["id"] for s in admin(shared, "GET", "/_mock/sandboxes").json()["sandboxes"]] == [
        s["id"] for s in sandboxes
    ]
    assert shared.api.get("/events").status_code == 200


def test_health_and_signed_ticket_links_stay_open(shared: Fake, connect: Connect) -> None:
    health = shared.control.get("/_mock/health")
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    bought = buy_one(shared.api)
    assert bought.status_code == 200, bought.text
    url = bought.json()["tickets"][0]["url"]
    code = url.rsplit("/", 1)[1].split(".pdf")[0]
    pdf = shared.control.get(url)
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")
    verified = shared.control.post("/_mock/tickets/verify", json={"code": code})
    assert verified.status_code == 200
    assert verified.json()["valid"] is True


def test_a_sandbox_uses_its_own_control_endpoints_without_the_admin_token(
    shared: Fake, connect: Connect
) -> None:
    mine = bearer(A)
    assert buy_one(connect(shared, A)).status_code == 200
    state = shared.control.get("/_mock/state", headers=mine)
    assert state.status_code == 200
    assert [o["token"] for o in state.json()["organizers"]] == [A]
    assert orders(state.json()) == 1
    journal = shared.control.get("/_mock/journal", headers=mine).json()
    assert journal["sandbox"] == sandbox_id(A)
    assert A not in orjson.dumps(journal).decode()
    r = shared.control.post("/_mock/faults", json={"operation": "listEvents", "status": 503},
                            headers=mine)  # fmt: skip
    assert r.status_code == 201
    assert connect(shared, A).get("/events").status_code == 503
    r = shared.control.put("/_mock/ratelimit", json={"limit": 5, "window": "1h"}, headers=mine)
    assert r.status_code == 200
    r = shared.control.post("/_mock/clock", json={"advance": 60}, headers=mine)
    assert r.status_code == 200
    # ?token= naming itself is fine too.
    r = shared.control.post("/_mock/reset", params={"token": A}, headers=mine)
    assert r.status_code == 200
    assert r.json()["sandbox"] == sandbox_id(A)
    assert orders(shared.control.get("/_mock/state", headers=mine).json()) == 0
    # The default data set saw none of it.
    assert shared.api.get("/events").status_code == 200
    assert orders(admin_state(shared)) == 0


def test_beyond_loopback_without_an_admin_token_one_is_made() -> None:
    assert (is_loopback("127.0.0.1"), is_loopback("::1"), is_loopback("localhost")) == (
        True, True, True,
    )  # fmt: skip
    assert not any(map(is_loopback, ("0.0.0.0", "::", "10.1.2.3", "fake.example")))
    app = create_app(Settings(seed=5, host="0.0.0.0"))
    made = app.state.admin_token
    assert isinstance(made, str)
    assert len(made) >= 32
    assert create_app(Settings(seed=5, host="0.0.0.0")).state.admin_token != made
    assert create_app(Settings(seed=5)).state.admin_token is None
    with asgi_client(app, HOST) as control:
        assert_error(control.get("/_mock/state"), 401, "UNAUTHORIZED")
        assert control.get("/_mock/state", headers=bearer(made)).status_code == 200


def test_serve_beyond_loopback_prints_the_admin_token_it_made_once() -> None:
    process = subprocess.Popen(
        [*CLI, "serve", "--host", "0.0.0.0", "--port", "0", "--seed", "5"],
        cwd=ROOT, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline().rstrip("\n") for _ in range(5)]
        port = re.search(r"http://0\.0\.0\.0:(\d+)/", lines[0])
        admin_line = re.fullmatch(r"\s*admin:\s+ADMIN_TOKEN=(\S+)\s.*", lines[4])
        assert port, lines
        assert admin_line, lines
        token = admin_line.group(1)
        assert sum(token in line for line in lines) == 1
        root = f"http://127.0.0.1:{port.group(1)}"
        assert httpx.get(root + "/_mock/health").status_code == 200
        refused = httpx.get(root + "/_mock/state")
        assert_error(refused, 401, "UNAUTHORIZED")
        r = httpx.get(root + "/_mock/state", headers=bearer(token))
        assert r.status_code == 200
        assert r.json()["organizers"][0]["token"] == TOKEN
    finally:
        _stop(process)


def test_several_authorization_headers_are_refused(shared: Fake, make_fake: FakeFactory) -> None:
    open_fake = make_fake(seed=5)
    for fake in (shared, open_fake):
        assert buy_one(fake.api).status_code == 200  # a reset that ran would undo it
        before = admin_state(fake)
        assert orders(before) == 1
        headers = [("Authorization", f"Bearer {ADMIN}"), ("Authorization", f"Bearer {A}")]
        r = fake.control.post("/_mock/reset", headers=headers)
        assert_error(r, 401, "UNAUTHORIZED", "this request has 2", "exactly one")
        assert admin_state(fake) == before


# -- bodies under /_mock are bounded ------------------------------------------------------


def test_a_control_body_over_the_limit_is_413_before_it_is_read(shared: Fake) -> None:
    big = b'{"advance": 1' + b" " * CONTROL_BODY_BYTES + b"}"
    clock = admin(shared, "GET", "/_mock/clock").json()
    r = admin(shared, "POST", "/_mock/clock", content=big,
              headers={"Content-Type": "application/json"})  # fmt: skip
    assert_error(r, 413, "PAYLOAD_TOO_LARGE", f"limit here is {CONTROL_BODY_BYTES} bytes")
    after = admin(shared, "GET", "/_mock/clock").json()
    assert (after["frozen"], after["offsetSeconds"]) == (clock["frozen"], clock["offsetSeconds"])


def test_a_control_body_without_a_length_is_counted_while_read() -> None:
    app = create_app(Settings(seed=5, admin_token=ADMIN))
    with serve_in_thread(app) as url:
        host, port = url.removeprefix("http://").rstrip("/").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(
                b"POST /_mock/faults HTTP/1.1\r\nHost: fake\r\n"
                b"Authorization: Bearer " + ADMIN.encode() + b"\r\n"
                b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            )
            chunk = b" " * 8192
            answer = b""
            for _ in range(20):  # 160 KiB, more than the 64 KiB limit, and no length declared
                try:
                    sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                except OSError:
                    break  # the fake answered and closed: the rest is never read
            sock.settimeout(10)
            while b"\r\n\r\n" not in answer or not answer.endswith(b"}"):
                data = sock.recv(65536)
                if not data:
                    break
                answer += data
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 413 "), answer[:200]
        error = orjson.loads(body)
        assert error["code"] == "PAYLOAD_TOO_LARGE"
        assert "over the limit here of 65536 bytes" in error["message"]
        faults = httpx.get(url.rstrip("/") + "/_mock/faults", headers=bearer(ADMIN))
        assert faults.json()["rules"] == []


def test_fixtures_have_a_larger_limit_of_their_own(make_fake: FakeFactory) -> None:
    fake = make_fake(seed=5, max_fixture_bytes=400_000)
    state = fake.state()
    padded = orjson.dumps(state) + b" " * (CONTROL_BODY_BYTES * 2)
    assert CONTROL_BODY_BYTES < len(padded) < 400_000
    r = fake.control.post("/_mock/fixtures", content=padded,
                          headers={"Content-Type": "application/json"})  # fmt: skip
    assert r.status_code == 200, r.text
    too_big = padded + b" " * 200_000
    r = fake.control.post("/_mock/fixtures", content=too_big,
                          headers={"Content-Type": "application/json"})  # fmt: skip
    assert_error(r, 413, "PAYLOAD_TOO_LARGE", "limit here is 400000 bytes")
    assert fake.state() == state


# -- sandboxes isolated on /_mock ---------------------------------------------------------


@pytest.mark.parametrize("admin_token", [None, ADMIN])
def test_a_sandbox_cannot_forget_or_list_every_sandbox(
    make_fake: FakeFactory, connect: Connect, admin_token: str | None
) -> None:
    fake = make_fake(seed=5, admin_token=admin_token)
    assert buy_one(connect(fake, A)).status_code == 200
    assert buy_one(connect(fake, B)).status_code == 200
    for method in ("GET", "DELETE"):
        r = fake.control.request(method, "/_mock/sandboxes", headers=bearer(A))
        assert_error(r, 403, "FORBIDDEN", "/_mock/sandboxes is the admin's")
    listed = admin(fake, "GET", "/_mock/sandboxes").json()["sandboxes"]
    assert {s["id"] for s in listed} == {sandbox_id(A), sandbox_id(B)}
    assert orders(admin_state(fake, B)) == 1


@pytest.mark.parametrize("admin_token", [None, ADMIN])
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/_mock/journal", None),
        ("DELETE", "/_mock/journal", None),
        ("GET", "/_mock/state", None),
        ("POST", "/_mock/reset", None),
        ("POST", "/_mock/faults", {"operation": "listEvents", "status": 503}),
        ("PUT", "/_mock/ratelimit", {"limit": 1, "window": "1h"}),
        ("POST", "/_mock/clock", {"freeze": "2030-01-01T00:00:00Z"}),
    ],
)
def test_a_sandbox_cannot_reach_another_with_token_query(
    make_fake: FakeFactory,
    connect: Connect,
    admin_token: str | None,
    method: str,
    path: str,
    body: Any,
) -> None:
    fake = make_fake(seed=5, admin_token=admin_token)
    b = connect(fake, B)
    assert buy_one(b).status_code == 200
    before = admin_state(fake, B)
    journal = admin(fake, "GET", "/_mock/journal", params={"token": B}).json()
    # What the state export does not hold: B's faults, rate limit and clock.
    tools = {p: admin(fake, "GET", p, params={"token": B}).json()
             for p in ("/_mock/faults", "/_mock/ratelimit", "/_mock/clock")}  # fmt: skip
    for other in (B, TOKEN):
        r = fake.control.request(method, path, params={"token": other}, json=body,
                                 headers=bearer(A))  # fmt: skip
        assert_error(r, 403, "FORBIDDEN", "its own sandbox only")
        assert "@tests.example" not in r.text
    assert admin_state(fake, B) == before
    assert admin(fake, "GET", "/_mock/journal", params={"token": B}).json() == journal
    for p, was in tools.items():
        now = admin(fake, "GET", p, params={"token": B}).json()
        if p == "/_mock/clock":  # the wall clock moves: what A could change must not
            now, was = ({k: v for k, v in c.items() if k != "now"} for c in (now, was))
        assert now == was, p
    assert b.get("/events").status_code == 200


def test_new_sandbox_tokens_cannot_push_out_a_sandbox_in_use(
    make_fake: FakeFactory, connect: Connect
) -> None:
    fake = make_fake(seed=5, max_sandboxes=3)
    a = connect(fake, A)
    assert buy_one(a).status_code == 200
    refused = 0
    for i in range(64):
        r = connect(fake, f"sandbox-flood-{i}").get("/events")
        if r.status_code == 503:
            refused += 1
            assert_error(r, 503, "SANDBOXES_FULL", "maximum of 3 sandboxes")
            assert int(r.headers["Retry-After"]) >= 1
    assert refused == 62
    assert orders(admin_state(fake, A)) == 1
    assert a.get("/events").status_code == 200


def test_an_idle_sandbox_makes_room_and_nothing_of_it_is_kept(
    make_fake: FakeFactory, connect: Connect
) -> None:
    fake = make_fake(seed=5, max_sandboxes=2, sandbox_idle="10m")
    boxes, renderer = fake.app.state.boxes, fake.app.state.renderer
    now = [1000.0]
    boxes.clock = lambda: now[0]
    for token in (A, B):
        client = connect(fake, token)
        first = client.get("/events").json()["events"][0]["id"]
        assert client.get("/participants", params={"eventId": first}).status_code == 200
    a_events = {e.id for e in boxes.sandbox(A).store.events}
    assert a_events <= set(renderer._events)
    now[0] += 300
    assert connect(fake, B).get("/events").status_code == 200  # B is in use, A is not
    assert connect(fake, "sandbox-c").get("/events").status_code == 503
    now[0] += 301  # A idle for 10 min 1 s, B for 5 min 1 s
    assert connect(fake, "sandbox-c").get("/events").status_code == 200
    held = {s["id"] for s in fake.control.get("/_mock/sandboxes").json()["sandboxes"]}
    assert held == {sandbox_id(B), sandbox_id("sandbox-c")}
    # The evicted sandbox's rendered events, pages and participants went with it.
    assert a_events.isdisjoint(renderer._events)
    assert all(a_events.isdisjoint(e.id for e in page.items)
               for page, _ in renderer._event_pages.values())  # fmt: skip
    assert not any(p.event_id in a_events for p, _ in renderer._participants.values())


def test_forgetting_sandboxes_keeps_nothing_rendered_for_them(fake: Fake, connect: Connect) -> None:
    before = set(fake.app.state.renderer._events)
    for i in range(20):
        assert connect(fake, f"sandbox-churn-{i}").get("/events").status_code == 200
    assert len(fake.app.state.renderer._events) == len(before) + 20 * 5
    assert fake.control.delete("/_mock/sandboxes").json() == {"forgotten": 20}
    assert set(fake.app.state.renderer._events) == before


def test_sandbox_listings_never_show_a_token_in_clear(fake: Fake, connect: Connect) -> None:
    long_token = "sandbox-" + "x" * 40 + "-secret"
    assert connect(fake, long_token).get("/events").status_code == 200
    r = fake.control.get("/_mock/sandboxes")
    assert r.status_code == 200
    assert long_token not in r.text
    assert [s["token"] for s in r.json()["sandboxes"]] == ["sand…cret"]


# -- idempotency keys belong to one token ------------------------------------------------


def test_another_organizers_keys_never_push_out_a_retry(fake: Fake) -> None:
    first = buy_one(fake.api, key="purchase-1")
    assert first.status_code == 200, first.text
    sold = orders(fake.state())
    body = {"eventId": "0123456789abcdef01234567", "participant": new_person(),
            "tickets": [{"ticket_id": "0123456789abcdef01234568", "quantity": 1}]}  # fmt: skip
    for i in range(10_000):
        r = fake.api2.post("/tickets/create", json=body, headers={"Idempotency-Key": f"k{i}"})
        assert r.status_code == 404
    request = first.request
    retry = fake.api.post("/tickets/create", content=request.content,
                          headers={"Idempotency-Key": "purchase-1",
                                   "Content-Type": "application/json"})  # fmt: skip
    assert retry.status_code == 200
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    assert orders(fake.state()) == sold


def test_a_token_past_its_cap_loses_its_own_oldest_keys_only(make_fake: FakeFactory) -> None:
    fake = make_fake(seed=5, idempotency_max_keys=3)
    first = buy_one(fake.api, key="org1-key")
    assert first.status_code == 200
    mine = [buy_one(fake.api2, key=f"org2-{i}") for i in range(4)]
    assert all(r.status_code == 200 for r in mine)
    sold = orders(fake.state())
    cache = fake.app.state.boxes.default.idempotency
    assert len(cache) == 4  # org 1's one key, org 2's newest three
    again = fake.api.post("/tickets/create", content=first.request.content,
                          headers={"Idempotency-Key": "org1-key",
                                   "Content-Type": "application/json"})  # fmt: skip
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert orders(fake.state()) == sold


def test_keys_expire_by_age_on_the_fakes_clock(make_fake: FakeFactory) -> None:
    fake = make_fake(seed=5, idempotency_ttl="1h")
    first = buy_one(fake.api, key="aging")
    assert first.status_code == 200
    headers = {"Idempotency-Key": "aging", "Content-Type": "application/json"}
    fake.control.post("/_mock/clock", json={"advance": 3599})
    replay = fake.api.post("/tickets/create", content=first.request.content, headers=headers)
    assert replay.headers.get("Idempotent-Replayed") == "true"
    sold = orders(fake.state())
    fake.control.post("/_mock/clock", json={"advance": 2})
    fresh = fake.api.post("/tickets/create", content=first.request.content, headers=headers)
    assert fresh.status_code in (200, 409), fresh.text  # a new purchase: the key expired
    assert "Idempotent-Replayed" not in fresh.headers
    assert orders(fake.state()) == sold + (1 if fresh.status_code == 200 else 0)


# -- memory bounded ------------------------------------------------------------------------


def test_the_journal_keeps_a_bounded_prefix_of_each_body(fake: Fake) -> None:
    huge = b'{"eventId": "' + b"x" * 900_000 + b'"}'
    r = fake.api.post("/tickets/create", content=huge,
                      headers={"Content-Type": "application/json"})  # fmt: skip
    assert r.status_code == 400
    entry = fake.control.get("/_mock/journal").json()["entries"][-1]
    assert entry["bodySize"] == len(huge)
    assert entry["bodyTruncated"] is True
    assert entry["body"] == huge[:BODY_PREFIX].decode()
    journal = fake.app.state.boxes.default.journal
    assert all(len(e.raw_body) <= BODY_PREFIX for e in journal.entries())
    small = buy_one(fake.api)
    entry = fake.control.get("/_mock/journal").json()["entries"][-1]
    assert entry["body"] == orjson.loads(small.request.content)
    assert entry["bodyTruncated"] is False


def test_fault_rules_are_capped_at_100_and_nothing_changes_past_it(fake: Fake) -> None:
    rules = [{"operation": "getEvent", "latency": "1ms"} for _ in range(100)]
    r = fake.control.put("/_mock/faults", json={"rules": rules})
    assert r.status_code == 200
    assert len(r.json()["rules"]) == 100
    held = fake.control.get("/_mock/faults").json()
    r = fake.control.post("/_mock/faults", json={"operation": "listEvents", "status": 503})
    assert_error(r, 409, "TOO_MANY_FAULT_RULES", "maximum of 100 fault rules")
    assert fake.control.get("/_mock/faults").json() == held
    # 101 rules unlike those held: none of them may be installed.
    other = [{"operation": "listEvents", "status": 503} for _ in range(101)]
    r = fake.control.put("/_mock/faults", json={"rules": other})
    assert_error(r, 409, "TOO_MANY_FAULT_RULES", "at most 100", "got 101")
    assert fake.control.get("/_mock/faults").json() == held
    assert fake.api.get("/events").status_code == 200


def test_a_sliding_rate_limit_is_capped(fake: Fake) -> None:
    r = fake.control.put("/_mock/ratelimit",
                         json={"limit": 10_001, "window": "1h", "mode": "sliding"})  # fmt: skip
    assert_error(r, 400, "VALIDATION_ERROR", "1 to 10,000")
    assert fake.control.get("/_mock/ratelimit").json() == {"enabled": False, "sandbox": None}
    r = fake.control.put("/_mock/ratelimit", json={"limit": 10_001, "window": "1h"})
    assert r.status_code == 200  # a fixed window keeps one count per token, whatever the limit


# -- ticket links cannot be forged from the seed -------------------------------------------


def test_ticket_codes_forged_with_the_seed_derived_secret_are_refused(fake: Fake) -> None:
    bought = buy_one(fake.api)
    code = bought.json()["tickets"][0]["url"].rsplit("/", 1)[1].split(".pdf")[0]
    order_id, line, _ = code.split("-")
    old_secret = b"goevent-mock-secret-42"
    mac = hmac.new(old_secret, f"code:{order_id}:{line}".encode(), hashlib.sha256)
    forged = f"{order_id}-{line}-{mac.hexdigest()[:16]}"
    assert forged != code
    r = fake.control.post("/_mock/tickets/verify", json={"code": forged})
    assert_error(r, 403, "FORBIDDEN", "wrong signature")
    assert fake.control.post("/_mock/tickets/verify", json={"code": code}).status_code == 200


def test_the_ticket_secret_is_random_per_process_unless_given() -> None:
    script = "from mockserver import Settings; print(Settings().signing_secret().hex())"
    runs = {subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                           check=True, timeout=60).stdout.strip() for _ in range(2)}  # fmt: skip
    assert len(runs) == 2
    assert Settings(seed=1).signing_secret() == Settings(seed=2).signing_secret()
    assert Settings(ticket_secret="s3cret").signing_secret() == b"s3cret"
    assert Settings.from_env({"GOEVENT_MOCK_TICKET_SECRET": "x"}).ticket_secret == "x"


def test_a_sandbox_made_by_several_threads_at_once_is_one_sandbox(fake: Fake) -> None:
    boxes = fake.app.state.boxes
    made: list[Any] = []
    barrier = threading.Barrier(8)

    def make() -> None:
        barrier.wait(10)
        made.append(boxes.sandbox(A))

    threads = [threading.Thread(target=make) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(made) == 8
    assert len({id(box) for box in made}) == 1
    assert [b.id for b in boxes.sandboxes()] == [sandbox_id(A)]
    assert boxes.by_id(sandbox_id(A)) is made[0]


@pytest.mark.parametrize("token", [TOKEN, "sandbox-admin"])
def test_an_admin_token_that_is_also_an_api_token_is_refused_at_startup(token: str) -> None:
    with pytest.raises(ValueError, match="must differ from every organizer token"):
        create_app(Settings(seed=5, admin_token=token))
    done = subprocess.run([*CLI, "serve", "--port", "0", "--admin-token", token], cwd=ROOT,
                          env=clean_env(), capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 2
    assert "cannot start: --admin-token" in done.stderr
