"""CORS in a real browser: a page served from another origin calls the fake with ``fetch``.

The fake runs as a user runs it (``goevent-mock serve`` in a subprocess, on a free port);
the page comes from a second small server on another port, so every call is
cross-origin and chromium enforces CORS exactly as it would for a front-end's dev
server. Each test checks what the page could read and what the fake holds afterwards.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from mockserver.testing import serve_in_thread

from ..test_fake_cli import Served, serve
from .conftest import Tab

API = "/developers/v1.0"
# The page's helper: one fetch, and what a script on the page could read of its answer.
PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>front-end</title>
<script>
window.call = async (url, init) => {
  try {
    const r = await fetch(url, init);
    const headers = {};
    for (const name of ["content-type", "retry-after", "x-ratelimit-remaining",
                        "idempotent-replayed", "www-authenticate"]) {
      headers[name] = r.headers.get(name);
    }
    return {ok: true, status: r.status, body: await r.json(), headers};
  } catch (e) {
    return {ok: false, error: String(e)};
  }
};
</script></head><body><h1>another origin</h1></body></html>"""


@contextmanager
def page_server() -> Iterator[str]:
    """The front-end: one HTML page on a port of its own (another origin than the fake)."""

    async def index(_: Any) -> HTMLResponse:
        return HTMLResponse(PAGE)

    with serve_in_thread(Starlette(routes=[Route("/", index)])) as root:
        yield root


def root_of(served: Served) -> str:
    return served.base.removesuffix(API)


def first_ticket(root: str, token: str) -> tuple[str, str, int]:
    """An event of the token's organizer with a ticket type left: ids and quantity left."""
    auth = {"Authorization": f"Bearer {token}"}
    events = httpx.get(root + API + "/events", headers=auth, timeout=10).json()["events"]
    for event in events:
        tickets = httpx.get(
            root + API + "/tickets", params={"eventId": event["id"]}, headers=auth, timeout=10
        ).json()["tickets"]
        for ticket in tickets:
            if ticket["quantity"] >= 2:
                return event["id"], ticket["id"], int(ticket["quantity"])
    raise AssertionError("nothing for sale")


def holdings(root: str, event_id: str, ticket_id: str) -> tuple[int, int]:
    """(orders in the fake, tickets of ``ticket_id`` left), read from /_mock/state."""
    state = httpx.get(root + "/_mock/state", timeout=10).json()
    event = next(e for e in state["events"] if e["id"] == event_id)
    left = next(t["quantity"] for t in event["tickets"] if t["id"] == ticket_id)
    return len(state["orders"]), int(left)


def purchase(tab: Tab, api: str, token: str, event_id: str, ticket_id: str, key: str) -> Any:
    body = {"eventId": event_id, "tickets": [{"ticket_id": ticket_id, "quantity": 1}]}
    init = {
        "method": "POST",
        "headers": {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Idempotency-Key": key,
        },
        "body": json.dumps(body),
    }
    return tab.page.evaluate(
        "([url, init]) => window.call(url, init)", [api + "/tickets/create", init]
    )


def get(tab: Tab, url: str, token: str | None = None) -> Any:
    init = {"headers": {"Authorization": f"Bearer {token}"}} if token else {}
    return tab.page.evaluate("([url, init]) => window.call(url, init)", [url, init])


def test_a_page_on_another_origin_reads_answers_buys_and_reads_a_401(tab: Tab) -> None:
    with serve("--seed", "7") as served, page_server() as page_root:
        root, token = root_of(served), served.token
        event_id, ticket_id, quantity = first_ticket(root, token)
        assert holdings(root, event_id, ticket_id) == (0, quantity)
        tab.page.goto(page_root + "/")

        events = get(tab, served.base + "/events?limit=100", token)
        assert events["ok"], events
        assert events["status"] == 200
        assert event_id in [e["id"] for e in events["body"]["events"]]

        bought = purchase(tab, served.base, token, event_id, ticket_id, "browser-key-1")
        assert bought["ok"], bought
        assert bought["status"] == 200
        assert bought["body"]["success"] is True
        (ticket,) = bought["body"]["tickets"]
        assert ticket["quantity"] == 1
        assert ticket["url"].startswith(root + "/_mock/tickets/")
        # The retry with the same key is a replay, and the page can read that it was.
        again = purchase(tab, served.base, token, event_id, ticket_id, "browser-key-1")
        assert again["status"] == 200
        assert again["body"] == bought["body"]
        assert again["headers"]["idempotent-replayed"] == "true"

        refused = get(tab, served.base + "/events", "not-a-token")
        assert refused["ok"], refused
        assert refused["status"] == 401
        assert refused["body"]["code"] == "UNAUTHORIZED"
        assert refused["body"]["success"] is False
        assert refused["headers"]["www-authenticate"] == 'Bearer realm="goevent"'

        health = get(tab, root + "/_mock/health")
        assert (health["status"], health["body"]["status"]) == (200, "ok")
        # Chromium logs every non-2xx load (the 401; the page's missing favicon), never CORS.
        assert [e for e in tab.console.errors if "CORS" in e] == []
        assert any("401" in e for e in tab.console.errors)
        assert holdings(root, event_id, ticket_id) == (1, quantity - 1)  # bought once


def test_with_another_cors_origin_the_browser_is_blocked_and_nothing_is_bought(tab: Tab) -> None:
    allowed = "http://localhost:1"  # an origin that is not the page's
    with serve("--seed", "7", "--cors-origin", allowed) as served, page_server() as page_root:
        root, token = root_of(served), served.token
        event_id, ticket_id, quantity = first_ticket(root, token)
        tab.page.goto(page_root + "/")

        bought = purchase(tab, served.base, token, event_id, ticket_id, "browser-key-2")
        assert bought == {"ok": False, "error": "TypeError: Failed to fetch"}
        events = get(tab, served.base + "/events", token)
        assert events == {"ok": False, "error": "TypeError: Failed to fetch"}
        assert any("CORS policy" in e for e in tab.console.errors), tab.console.errors
        assert holdings(root, event_id, ticket_id) == (0, quantity)  # nothing was bought

        # The origin it names is allowed (what the browser's preflight would get).
        preflight = httpx.options(
            served.base + "/tickets/create",
            timeout=10,
            headers={
                "Origin": allowed,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type,idempotency-key",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == allowed


def test_with_no_cors_no_cors_headers_are_sent_and_the_browser_is_blocked(tab: Tab) -> None:
    with serve("--seed", "7", "--no-cors") as served, page_server() as page_root:
        root, token = root_of(served), served.token
        event_id, ticket_id, quantity = first_ticket(root, token)
        origin = {"Origin": page_root}
        preflight = httpx.options(
            served.base + "/tickets/create",
            timeout=10,
            headers={**origin, "Access-Control-Request-Method": "POST"},
        )
        plain = httpx.get(
            served.base + "/events",
            headers={**origin, "Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert preflight.status_code == 405
        assert preflight.json()["code"] == "METHOD_NOT_ALLOWED"
        assert plain.status_code == 200
        assert plain.json()["events"]
        for answer in (preflight, plain):
            assert [h for h in answer.headers if h.startswith("access-control-")] == []

        tab.page.goto(page_root + "/")
        bought = purchase(tab, served.base, token, event_id, ticket_id, "browser-key-3")
        assert bought == {"ok": False, "error": "TypeError: Failed to fetch"}
        health = get(tab, root + "/_mock/health")  # even a simple GET is unreadable
        assert health == {"ok": False, "error": "TypeError: Failed to fetch"}
        assert holdings(root, event_id, ticket_id) == (0, quantity)


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    # httpx must reach 127.0.0.1 directly, whatever proxy the environment names.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
