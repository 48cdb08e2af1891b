"""Rate limiting per token: budgets, windows, headers, the 429, and the spec's word on it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from mockserver.ratelimit import RateLimit, RateLimiter
from mockserver.spec import load_spec

from .conftest import DOCS_FIXTURE, JAZZ, VIP, Fake, FakeFactory

# A window boundary for 60 s windows: windows are aligned on Unix time.
START = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)
HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


def limited(make_fake: FakeFactory, limit: str, mode: str = "fixed", **settings: Any) -> Fake:
    fake = make_fake(seed=5, rate_limit=limit, rate_limit_mode=mode, **settings)
    fake.app.state.store.clock.freeze(START)
    return fake


def advance(fake: Fake, seconds: float) -> None:
    fake.app.state.store.clock.advance(timedelta(seconds=seconds))


def rate_headers(r: httpx.Response) -> tuple[str, ...]:
    return tuple(r.headers[h] for h in HEADERS)


def test_no_limit_by_default(fake: Fake) -> None:
    answers = [fake.api.get("/events") for _ in range(30)]
    assert {r.status_code for r in answers} == {200}
    assert not any(h in answers[-1].headers for h in HEADERS)
    assert fake.control.get("/_mock/ratelimit").json() == {"enabled": False, "sandbox": None}


def test_a_fixed_window_counts_down_then_answers_429(make_fake: FakeFactory) -> None:
    fake = limited(make_fake, "3/60s")
    reset = str(int(START.timestamp()) + 60)
    answers = [fake.api.get("/events") for _ in range(3)]
    assert [r.status_code for r in answers] == [200, 200, 200]
    assert [rate_headers(r) for r in answers] == [("3", "2", reset), ("3", "1", reset),
                                                  ("3", "0", reset)]  # fmt: skip
    advance(fake, 15)
    r = fake.api.get("/events")
    assert r.status_code == 429
    assert r.json() == {
        "success": False,
        "code": "RATE_LIMITED",
        "message": "rate limit of 3/60s per token reached; retry in 45 s",
    }
    assert r.headers["Retry-After"] == "45"
    assert rate_headers(r) == ("3", "0", reset)
    # The next window has the whole budget again: the refused request spent nothing.
    advance(fake, 45)
    r = fake.api.get("/events")
    assert r.status_code == 200
    assert r.headers["X-RateLimit-Remaining"] == "2"


def test_each_token_has_its_own_budget(make_fake: FakeFactory) -> None:
    fake = limited(make_fake, "1/60s")
    assert fake.api.get("/events").status_code == 200
    assert fake.api.get("/events").status_code == 429
    assert fake.api2.get("/events").status_code == 200
    # No token, no budget: a 401 is answered as a 401 and counts for nobody.
    assert fake.anon.get("/events").status_code == 401
    assert fake.api2.get("/events").status_code == 429


def test_a_sliding_window_frees_one_request_at_a_time(make_fake: FakeFactory) -> None:
    fake = limited(make_fake, "2/10s", mode="sliding")
    assert fake.api.get("/events").status_code == 200  # t = 0
    advance(fake, 5)
    assert fake.api.get("/events").status_code == 200  # t = 5
    advance(fake, 1)
    r = fake.api.get("/events")  # t = 6: the one of t = 0 leaves at t = 10
    assert r.status_code == 429
    assert r.headers["Retry-After"] == "4"
    assert r.headers["X-RateLimit-Reset"] == str(int(START.timestamp()) + 10)
    advance(fake, 4.5)
    r = fake.api.get("/events")  # t = 10.5: one slot free, the other until t = 15
    assert r.status_code == 200
    assert r.headers["X-RateLimit-Remaining"] == "0"
    assert fake.api.get("/events").status_code == 429


def test_a_refused_purchase_sells_nothing(make_fake: FakeFactory) -> None:
    fake = limited(make_fake, "1/60s", fixtures=DOCS_FIXTURE)
    purchase = {"eventId": JAZZ, "tickets": [{"ticket_id": VIP, "quantity": 1}]}
    assert fake.buy(purchase).status_code == 200
    before = fake.state()
    r = fake.buy(purchase)
    assert r.status_code == 429
    assert fake.state() == before


def test_the_limit_is_set_read_and_removed_at_runtime(fake: Fake) -> None:
    r = fake.control.put("/_mock/ratelimit", json={"limit": 2, "window": "1m", "mode": "sliding"})
    assert r.status_code == 200
    assert r.json() == {"enabled": True, "sandbox": None, "limit": 2, "window": "60s",
                        "windowSeconds": 60.0, "mode": "sliding"}  # fmt: skip
    assert [fake.api.get("/events").status_code for _ in range(3)] == [200, 200, 429]
    assert fake.control.delete("/_mock/ratelimit").json()["enabled"] is False
    assert fake.api.get("/events").status_code == 200
    fake.control.put("/_mock/ratelimit", json={"limit": 1, "window": "60s"})
    fake.api.get("/events")
    # Reset goes back to the startup setting (no limit here), counts forgotten.
    assert fake.control.post("/_mock/reset").status_code == 200
    assert [fake.api.get("/events").status_code for _ in range(3)] == [200, 200, 200]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"limit": 0, "window": "60s"}, "body"),
        ({"limit": "5", "window": "60s"}, "body.limit"),
        ({"limit": 5, "window": 60}, "body.window"),
        ({"limit": 5, "window": "soon"}, "body"),
        ({"limit": 5, "window": "60s", "mode": "leaky"}, "body.mode"),
        ({"limit": 5, "window": "60s", "burst": 2}, "body.burst"),
    ],
)
def test_a_bad_limit_is_refused_and_changes_nothing(
    fake: Fake, body: dict[str, Any], field: str
) -> None:
    # A limit in force first, so that "changes nothing" can be told from "switched it off".
    assert (
        fake.control.put("/_mock/ratelimit", json={"limit": 7, "window": "60s"}).status_code == 200
    )
    before = fake.control.get("/_mock/ratelimit").json()
    assert before["enabled"] is True
    r = fake.control.put("/_mock/ratelimit", json=body)
    assert r.status_code == 400
    assert (r.json()["success"], r.json()["code"], r.json()["field"]) == (
        False, "VALIDATION_ERROR", field,
    )  # fmt: skip
    assert fake.control.get("/_mock/ratelimit").json() == before


def test_bad_startup_limits_stop_the_app_with_the_reason(make_fake: FakeFactory) -> None:
    with pytest.raises(ValueError, match=r"--rate-limit .*REQUESTS/WINDOW"):
        make_fake(rate_limit="100")
    with pytest.raises(ValueError, match="fixed or sliding"):
        make_fake(rate_limit="100/60s", rate_limit_mode="bucket")


def test_the_429_is_what_the_spec_says_it_is(make_fake: FakeFactory) -> None:
    """The spec documents the 429 as an assumption of ours; the fake sends what it says."""
    fake = limited(make_fake, "1/60s", validate_responses=True)
    fake.api.get("/events")
    r = fake.api.get("/events")
    # --validate-responses checked the body against the spec: no 500 RESPONSE_INVALID.
    assert r.status_code == 429
    response = load_spec().operation("listEvents").responses["429"]
    assert set(response["headers"]) == {"Retry-After", *HEADERS}
    assert all(r.headers[name].isdigit() for name in response["headers"])
    ((key, assumption),) = [(a["key"], a["text"]) for a in response["x-goevent-assumption"]]
    assert key == "rate-limiting"
    assert assumption.startswith("Rate limiting:")
    assert assumption.endswith("(ours)")
    assert all(name in assumption for name in ("Retry-After", *HEADERS))
    for op in load_spec().operations:
        assert "429" in op.responses, op.operation_id


def test_the_limiter_on_its_own() -> None:
    limiter = RateLimiter(RateLimit.parse("2/1s"))
    assert [limiter.hit("a", 10.2).remaining for _ in range(2)] == [1, 0]
    refused = limiter.hit("a", 10.7)
    assert (refused.allowed, refused.retry_after, refused.reset) == (False, 1, 11.0)
    assert refused.headers()["Retry-After"] == "1"
    assert limiter.hit("a", 11.0).allowed
    limiter.clear()
    assert limiter.hit("a", 11.0).remaining == 1
    assert RateLimit.parse("5/250ms").describe() == "5/250ms"
