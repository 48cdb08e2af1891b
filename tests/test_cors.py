"""CORS (ours), in-process: preflights for the five operations and /_mock, error answers a
page can read, narrowed by --cors-origin, off with --no-cors. The real browser's side is
tests/ui/test_cors_browser.py."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from mockserver import Settings, create_app
from mockserver.cli import _settings, main
from mockserver.http.cors import ALLOW_HEADERS, EXPOSE_HEADERS

from .conftest import API, FakeFactory, bearer, first_event

PAGE = "http://localhost:5173"  # a front-end's dev server
ADMIN = "admin-token-for-the-cors-tests-0123"
OPERATIONS = [
    ("GET", "/events"),
    ("GET", "/event/643e7b194937913299554a7d"),
    ("GET", "/tickets"),
    ("POST", "/tickets/create"),
    ("GET", "/participants"),
]
CONTROL = [
    ("GET", "/_mock/state"),
    ("POST", "/_mock/reset"),
    ("PUT", "/_mock/faults"),
    ("DELETE", "/_mock/journal"),
    ("GET", "/_mock/ui/"),
    ("GET", "/_mock/health"),
]


def preflight(
    client: httpx.Client,
    path: str,
    method: str,
    origin: str = PAGE,
    headers: str = "authorization, content-type, idempotency-key",
) -> httpx.Response:
    return client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": headers,
        },
    )


def admin_state(fake: Any) -> Any:
    r = fake.control.get("/_mock/state", headers=bearer(ADMIN))
    assert r.status_code == 200, r.text
    return r.json()


def journal_count(fake: Any) -> int:
    r = fake.control.get("/_mock/journal", headers=bearer(ADMIN))
    assert r.status_code == 200, r.text
    return int(r.json()["count"])


@pytest.mark.parametrize(("method", "path"), [(m, API + p) for m, p in OPERATIONS] + CONTROL)
def test_a_preflight_is_answered_before_auth_and_access_control(
    make_fake: FakeFactory, method: str, path: str
) -> None:
    fake = make_fake(admin_token=ADMIN)  # /_mock needs the admin token: a preflight has none
    # A purchase first: a reset or a journal delete that ran would now show.
    event = first_event(fake)
    tickets = fake.api.get("/tickets", params={"eventId": event["id"]}).json()["tickets"]
    ticket = next(t for t in tickets if t["quantity"] > 0)
    line = {"ticket_id": ticket["id"], "quantity": 1}
    assert fake.buy({"eventId": event["id"], "tickets": [line]}).status_code == 200
    before = admin_state(fake), journal_count(fake)
    assert before[1] > 0
    r = preflight(fake.control, path, method)
    assert r.status_code == 200, r.text
    assert r.headers["access-control-allow-origin"] == "*"
    assert method in r.headers["access-control-allow-methods"].split(", ")
    allowed = r.headers["access-control-allow-headers"].split(", ")
    assert set(ALLOW_HEADERS) | {"Content-Type"} <= set(allowed)
    assert (admin_state(fake), journal_count(fake)) == before  # nothing ran, nothing logged


def test_an_options_without_request_method_is_answered_as_before(fake: Any) -> None:
    for headers in ({}, {"Origin": PAGE}):
        r = fake.api.options("/events", headers=headers)
        assert r.status_code == 405
        assert r.json()["code"] == "METHOD_NOT_ALLOWED"
        assert set(r.headers["allow"].split(", ")) == {"GET", "HEAD"}  # a set in Starlette
    assert fake.api.get("/events").status_code == 200


def test_answers_and_errors_carry_the_cors_headers(make_fake: FakeFactory) -> None:
    fake = make_fake(rate_limit="2/60s", admin_token=ADMIN)
    origin = {"Origin": PAGE}
    ok = fake.api.get("/events", headers=origin)
    unauthorized = fake.anon.get("/events", headers=origin)
    missing = fake.api.get("/nowhere", headers=origin)
    fake.api.get("/events", headers=origin)
    limited = fake.api.get("/events", headers=origin)
    control = fake.control.get("/_mock/state", headers=origin)  # no admin token
    statuses = [r.status_code for r in (ok, unauthorized, missing, limited, control)]
    assert statuses == [200, 401, 404, 429, 401]
    assert ok.json()["events"]
    assert unauthorized.json()["code"] == "UNAUTHORIZED"
    assert limited.json()["code"] == "RATE_LIMITED"
    for r in (ok, unauthorized, missing, limited, control):
        assert r.headers["access-control-allow-origin"] == "*"
        assert r.headers["access-control-expose-headers"] == ", ".join(EXPOSE_HEADERS)
    assert "Retry-After" in EXPOSE_HEADERS
    assert "retry-after" in limited.headers
    assert {"X-RateLimit-Remaining", "Idempotent-Replayed"} <= set(EXPOSE_HEADERS)
    plain = make_fake().api.get("/events")  # no Origin: not a CORS request
    assert plain.status_code == 200
    assert "access-control-allow-origin" not in plain.headers
    assert plain.headers["vary"] == "Origin"  # a cache must not hand it to a page


def test_cors_origin_narrows_it_and_a_refused_preflight_says_why(make_fake: FakeFactory) -> None:
    fake = make_fake(cors_origin="http://localhost:3000,HTTPS://App.Example")
    allowed = preflight(fake.api, "/tickets/create", "POST", origin="https://app.example")
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://app.example"
    refused = preflight(fake.api, "/tickets/create", "POST", origin="http://evil.example")
    assert refused.status_code == 400
    assert refused.json()["code"] == "CORS_REFUSED"
    assert refused.json()["field"] == "header.Origin"
    assert "'http://evil.example' is not allowed" in refused.json()["message"]
    assert "http://localhost:3000, https://app.example" in refused.json()["message"]
    assert "access-control-allow-origin" not in refused.headers
    odd = preflight(fake.api, "/events", "GET", origin="http://localhost:3000", headers="x-foo")
    assert (odd.status_code, odd.json()["field"]) == (400, "header.Access-Control-Request-Headers")
    public = fake.api.options(
        "/events",
        headers={
            "Origin": "http://localhost:3000",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Private-Network": "true",
        },
    )
    assert public.status_code == 400
    assert public.json()["field"] == "header.Access-Control-Request-Private-Network"
    assert "Private Network Access" in public.json()["message"]
    # A simple request from another origin is answered (the browser hides it from the page).
    other = fake.api.get("/events", headers={"Origin": "http://evil.example"})
    assert other.status_code == 200
    assert "access-control-allow-origin" not in other.headers
    mine = fake.api.get("/events", headers={"Origin": "http://localhost:3000"})
    assert mine.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert "Origin" in mine.headers["vary"]


def test_no_cors_sends_no_cors_headers(make_fake: FakeFactory) -> None:
    fake = make_fake(cors=False, cors_origin="http://localhost:3000")  # off wins
    r = preflight(fake.api, "/events", "GET", origin="http://localhost:3000")
    assert r.status_code == 405  # no preflight answer: the fake's own 405
    assert r.json()["code"] == "METHOD_NOT_ALLOWED"
    events = fake.api.get("/events", headers={"Origin": "http://localhost:3000"})
    assert events.status_code == 200
    assert not [h for h in (*r.headers, *events.headers) if h.startswith("access-control-")]


@pytest.mark.parametrize(
    "origin", ["http://localhost:3000/", "localhost:3000", "http://a.example/app", "http:// spaced"]
)
def test_a_value_that_is_not_an_origin_is_refused_at_startup(origin: str) -> None:
    with pytest.raises(ValueError, match=r"--cors-origin \(GOEVENT_MOCK_CORS_ORIGIN\).*scheme://"):
        create_app(Settings(cors_origin=origin))


def test_the_flags_and_the_environment_set_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import argparse

    monkeypatch.delenv("GOEVENT_MOCK_CORS", raising=False)
    monkeypatch.setenv("GOEVENT_MOCK_CORS_ORIGIN", "http://a.example,http://b.example")
    args = argparse.Namespace(cors_origin=None, cors=None)
    assert _settings(args).cors_origin == "http://a.example,http://b.example"
    args = argparse.Namespace(cors_origin=["http://c.example", "http://d.example"], cors=False)
    assert (_settings(args).cors_origin, _settings(args).cors) == (
        "http://c.example,http://d.example",
        False,
    )
    monkeypatch.setenv("GOEVENT_MOCK_CORS", "false")
    assert _settings(argparse.Namespace(cors_origin=None, cors=None)).cors is False
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert "--cors-origin ORIGIN" in shown
    assert "--no-cors" in shown
    assert "--public-url URL" in shown
    assert "never from the Host header" in shown
    # Refused before it listens (even with --no-cors: a bad value is a mistake either way).
    assert main(["serve", "--cors-origin", "localhost:3000", "--port", "0", "--no-cors"]) == 2
    assert "is not an origin" in capsys.readouterr().err
