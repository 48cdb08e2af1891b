"""Shared by the proxy's tests: a proxy on a real socket, and an ordinary client's traffic.

The drift corpus is imported here and nowhere else in the proxy's tests, so
moving it changes one line.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import httpx

from mockserver.proxy import ProxyApp, ProxyOptions, create_proxy_app
from mockserver.server import serve_in_thread
from mockserver.settings import Settings

from .drift_corpus import VARIANTS, Variant, fake_app

__all__ = [
    "BASE",
    "TOKEN",
    "TOKEN_2",
    "VARIANTS",
    "Variant",
    "client_traffic",
    "fake_app",
    "serve",
    "serve_proxy",
]

BASE = "/developers/v1.0"
TOKEN = "goevent-dev-token"
TOKEN_2 = "goevent-dev-token-2"


@contextmanager
def serve(app: Any, port: int = 0) -> Iterator[str]:
    """Serve ``app`` as ``goevent-mock`` serves it (granian, with the app's lifespan) on
    127.0.0.1:``port`` (0: a free one); yields its root URL, ready; stopped on exit."""
    with serve_in_thread(app, replace(Settings(), port=port), lifespan=True) as root:
        yield root


@contextmanager
def serve_proxy(upstream_root: str, **kw: Any) -> Iterator[tuple[str, ProxyApp]]:
    """A proxy to ``upstream_root`` on a free port, served as ``goevent-mock proxy`` serves it."""
    app = create_proxy_app(ProxyOptions(upstream_root + BASE, **kw))
    try:
        with serve(app) as root:
            yield root, app
    finally:
        app.monitor.close()


def _walk(client: httpx.Client, path: str, key: str, limit: int, **params: Any) -> list[Any]:
    items: list[Any] = []
    for page in range(1, 50):
        reply = client.get(path, params={**params, "page": page, "limit": limit})
        if reply.status_code != 200:
            break
        body = reply.json()
        chunk = body.get(key)
        if not isinstance(chunk, list):
            break
        items += chunk
        paginate = body.get("paginate") or body.get("pagination") or {}
        if not (paginate.get("hasNextPage") or paginate.get("hasMore")):
            break
    return items


def client_traffic(root: str, *, buyer: dict[str, str] | None = None) -> dict[str, Any]:
    """What an ordinary integration does: list, read, buy, read again, and a few honest mistakes.

    Returns what it saw (ids it used), for the test's own assertions.
    """
    headers = {"Authorization": f"Bearer {TOKEN}"}
    seen: dict[str, Any] = {}
    with httpx.Client(base_url=root + BASE, headers=headers, timeout=10) as client:
        events = _walk(client, "/events", "events", 2)
        seen["events"] = [e.get("id") for e in events]
        event_id = str(events[0]["id"])
        seen["event_id"] = event_id
        client.get(f"/event/{event_id}")
        tickets = client.get("/tickets", params={"eventId": event_id}).json().get("tickets", [])
        _walk(client, "/participants", "participants", 10, eventId=event_id)
        ticket = next(t for t in tickets if int(t.get("quantity", 0)) >= 2)
        form = buyer or {
            "last_name": "Client",
            "first_name": "Ordinary",
            "email": f"client+{uuid.uuid4().hex[:8]}@example.com",
            "phone": "+33 6 12 34 56 78",
        }
        bought = client.post("/tickets/create", json={
            "eventId": event_id,
            "tickets": [{"ticket_id": ticket["id"], "quantity": 2}],
            "participant": form,
        })  # fmt: skip
        seen["purchase"] = bought.status_code
        client.get("/tickets", params={"eventId": event_id})
        _walk(client, "/participants", "participants", 10, eventId=event_id)
        # A client that fetches big pages, one that asks for too much, one that mistypes an id.
        client.get("/participants", params={"eventId": event_id, "page": 1, "limit": 100})
        client.get("/events", params={"page": 1, "limit": 500})
        client.get("/event/" + "0" * 24)
    # A deployment that lost its token.
    httpx.get(root + BASE + "/events", timeout=10)
    # A second organizer's client, configured with the first one's event by mistake.
    other = {"Authorization": f"Bearer {TOKEN_2}"}
    with httpx.Client(base_url=root + BASE, headers=other, timeout=10) as client:
        client.get("/events", params={"page": 1, "limit": 100})
        client.get(f"/event/{seen['event_id']}")
    return seen
