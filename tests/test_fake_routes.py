"""The fake is served from the spec: its routes are the spec's operations, and
every request is checked against the spec before a handler runs."""

from __future__ import annotations

import pytest
from starlette.routing import Mount, Route

from mockserver import create_app, load_spec
from mockserver.spec import METHODS

from .conftest import API, CLUB, JAZZ, VIP, Fake, assert_refused


def test_served_routes_are_the_spec_paths_times_methods() -> None:
    spec = load_spec()
    app = create_app()
    documented = {
        (method.upper(), API + path)
        for path, item in spec.document["paths"].items()
        for method in METHODS
        if method in item
    }
    served: set[tuple[str, str]] = set()
    for route in app.routes:
        if isinstance(route, Mount):
            assert route.path.startswith("/_mock"), "mounts are the fake's own, under /_mock"
            continue
        assert isinstance(route, Route)
        assert route.methods is not None
        # Starlette answers HEAD wherever it answers GET (as HTTP servers should).
        assert "HEAD" not in route.methods or "GET" in route.methods
        served |= {(m, route.path) for m in route.methods if m != "HEAD"}
    assert served == documented
    assert len(documented) == 5
    assert spec.base_path == API


def test_route_names_are_the_operation_ids() -> None:
    names = {r.name for r in create_app().routes if isinstance(r, Route)}
    assert names == {"listEvents", "getEvent", "listTickets", "createTickets", "listParticipants"}


def test_the_api_is_under_the_live_base_path_only(docs: Fake) -> None:
    assert docs.api.get(f"/event/{CLUB}").status_code == 200
    r = docs.control.get(f"/event/{CLUB}", headers=docs.api.headers)
    assert r.status_code == 404
    assert r.json()["code"] == "NOT_FOUND"


@pytest.mark.parametrize(
    ("path", "params", "field", "words"),
    [
        ("/events", {"limit": "500"}, "query.limit", ["limit", "between 1 and 100", '"500"']),
        ("/events", {"limit": "0"}, "query.limit", ["between 1 and 100", '"0"']),
        ("/events", {"page": "0"}, "query.page", ["page", "between 1 and 1000000000"]),
        ("/events", {"page": "abc"}, "query.page", ["an integer", '"abc"']),
        ("/participants", {"eventId": CLUB, "limit": "101"}, "query.limit", ["1 and 100"]),
        ("/participants", {}, "query.eventId", ["eventId", "required"]),
        ("/tickets", {}, "query.eventId", ["eventId", "required"]),
        ("/tickets", {"eventId": "xyz"}, "query.eventId", ["ObjectId", "24", '"xyz"']),
        ("/event/not-an-id", {}, "path.id", ["ObjectId", "24", '"not-an-id"']),
    ],
)
def test_parameter_errors_name_the_field_and_what_is_allowed(
    docs: Fake, path: str, params: dict[str, str], field: str, words: list[str]
) -> None:
    before = docs.state()
    r = docs.api.get(path, params=params)
    assert_refused(docs, r, before, field=field, says=tuple(words))


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"tickets": [{"ticket_id": VIP, "quantity": 1}]}, "body.eventId", ["required"]),
        ({"eventId": JAZZ}, "body.tickets", ["required"]),
        (
            {"eventId": JAZZ, "tickets": [{"ticket_id": VIP, "quantity": 0}]},
            "body.tickets[0].quantity",
            ["between 1 and 1000", "got 0"],
        ),
        (
            {"eventId": JAZZ, "tickets": [{"ticket_id": VIP, "quantity": "2"}]},
            "body.tickets[0].quantity",
            ["an integer", '"2"'],
        ),
        (
            {"eventId": JAZZ, "tickets": [{"ticket_id": VIP, "quantity": 1, "seat": "A1"}]},
            "body.tickets[0].seat",
            ["not allowed", "ticket_id, quantity"],
        ),
        (
            {"eventId": JAZZ, "tickets": []},
            "body.tickets",
            ["between 1 and 50 items", "got 0"],
        ),
    ],
)
def test_body_errors_name_the_field_and_what_is_allowed(
    docs: Fake, body: dict[str, object], field: str, words: list[str]
) -> None:
    before = docs.state()
    r = docs.buy(body)
    assert_refused(docs, r, before, field=field, says=tuple(words))


def test_unknown_path_and_wrong_method_answer_in_the_error_shape(docs: Fake) -> None:
    r = docs.api.get("/nope")
    assert r.status_code == 404
    assert r.json() == {
        "success": False,
        "code": "NOT_FOUND",
        "message": f"no such path: GET {API}/nope",
    }
    r = docs.api.delete("/events")
    assert r.status_code == 405
    assert r.json()["code"] == "METHOD_NOT_ALLOWED"
    assert "GET" in r.headers["allow"]
    assert "GET" in r.json()["message"]
    r = docs.api.get("/tickets/create")
    assert r.status_code == 405
    assert r.headers["allow"] == "POST"
