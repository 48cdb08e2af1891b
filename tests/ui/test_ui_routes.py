"""The dashboard's routes and the two small additions its pages use, in-process:
``/_mock/journal?since=`` (the live feed) and ``/_mock/state?links=true`` (ticket PDFs).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.routing import Mount

from mockserver import DEFAULT_TOKEN, Settings, create_app
from mockserver.http.ui import STATIC, swagger_dir
from mockserver.testing import asgi_client

API = "/developers/v1.0"
AUTH = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with asgi_client(create_app(Settings(seed=7)), "http://fake") as c:
        yield c


def _buy(client: httpx.Client, quantity: int = 1) -> tuple[dict[str, Any], httpx.Response]:
    state = client.get("/_mock/state").json()
    event = next(e for e in state["events"] if e["tickets"] and e["tickets"][0]["quantity"] >= 5)
    line = {"ticket_id": event["tickets"][0]["id"], "quantity": quantity}
    body = {"eventId": event["id"], "tickets": [line]}
    return event, client.post(API + "/tickets/create", json=body, headers=AUTH)


def test_the_pages_and_assets_are_served_from_the_package(client: httpx.Client) -> None:
    home = client.get("/_mock/ui/")
    api = client.get("/_mock/ui/api")
    swagger = client.get("/_mock/ui/swagger/swagger-ui-bundle.js")

    assert home.status_code == api.status_code == swagger.status_code == 200
    assert home.text == (STATIC / "index.html").read_text()
    assert 'src="swagger/swagger-ui-bundle.js"' in api.text
    assert swagger.content == (swagger_dir() / "swagger-ui-bundle.js").read_bytes()
    # Offline: no page or script of ours names another host.
    for path in STATIC.iterdir():
        assert not re.search(r"https?://", path.read_text()), path.name


def test_the_spec_served_to_the_reference_points_at_this_fake(client: httpx.Client) -> None:
    served = client.get("/_mock/ui/openapi.json")

    assert served.status_code == 200
    document = served.json()
    assert document["servers"] == [{"url": API, "description": "this fake (goevent-mock)"}]
    assert set(document["paths"]) == {"/events", "/event/{id}", "/tickets", "/tickets/create",
                                      "/participants"}  # fmt: skip
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_an_unknown_asset_is_a_404_in_the_error_shape(client: httpx.Client) -> None:
    answer = client.get("/_mock/ui/static/nothing.js")

    assert answer.status_code == 404
    assert answer.json()["success"] is False
    assert client.get("/_mock/ui/static/app.js").status_code == 200


def test_journal_since_gives_only_the_entries_after_it(client: httpx.Client) -> None:
    for _ in range(3):
        assert client.get(API + "/events", headers=AUTH).status_code == 200
    everything = client.get("/_mock/journal").json()["entries"]

    after = client.get("/_mock/journal", params={"since": everything[0]["seq"]}).json()
    nothing = client.get("/_mock/journal", params={"since": everything[-1]["seq"]}).json()

    assert [e["seq"] for e in after["entries"]] == [e["seq"] for e in everything[1:]]
    assert after["count"] == 2
    assert nothing["entries"] == []
    assert client.get("/_mock/journal").json()["entries"] == everything  # reading changes nothing


@pytest.mark.parametrize("since", ["-1", "x", "1.5", "9" * 19])
def test_a_bad_since_is_refused_and_says_what_is_allowed(client: httpx.Client, since: str) -> None:
    assert client.get(API + "/events", headers=AUTH).status_code == 200

    answer = client.get("/_mock/journal", params={"since": since})

    assert answer.status_code == 400
    body = answer.json()
    assert body["field"] == "query.since"
    assert "must be a sequence number" in body["message"]
    assert client.get("/_mock/journal").json()["count"] == 1


def test_state_links_gives_each_order_line_its_ticket_pdf(client: httpx.Client) -> None:
    _, bought = _buy(client, 2)
    assert bought.status_code == 200, bought.text

    linked = client.get("/_mock/state", params={"links": "true"}).json()
    plain = client.get("/_mock/state").json()

    (line,) = linked["orders"][0]["lines"]
    assert line["url"] == bought.json()["tickets"][0]["url"]
    pdf = client.get(line["url"])
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")
    assert "url" not in plain["orders"][0]["lines"][0]  # the state stays a loadable fixture
    assert client.post("/_mock/fixtures", json=plain).status_code == 200


def test_the_dashboard_is_not_on_the_request_path_of_the_operations() -> None:
    """The five operations are dispatched before Starlette's router: no route of it, the
    operations' own or the /_mock mount holding the dashboard, is ever matched against them
    (bench/ measures that path)."""
    app = create_app(Settings(seed=7))
    consulted: list[str] = []

    def watched(original: Any) -> Any:
        def matches(scope: Any) -> Any:
            consulted.append(scope["path"])
            return original(scope)

        return matches

    for route in app.router.routes:  # the top level: every request Starlette routes
        route.matches = watched(route.matches)  # type: ignore[method-assign]
    assert any(isinstance(r, Mount) and r.path == "/_mock" for r in app.router.routes)
    with asgi_client(app, "http://fake") as client:
        event, bought = _buy(client)
        answers = [
            bought,
            client.get(API + "/events", headers=AUTH),
            client.get(API + f"/event/{event['id']}", headers=AUTH),
            client.get(API + "/tickets", params={"eventId": event["id"]}, headers=AUTH),
            client.get(API + "/participants", params={"eventId": event["id"]}, headers=AUTH),
        ]
        assert [a.status_code for a in answers] == [200] * 5
        assert not [p for p in consulted if p.startswith(API)]
        assert client.get("/_mock/ui/").status_code == 200
    assert "/_mock/ui/" in consulted  # the wrapper does see what goes through the router
