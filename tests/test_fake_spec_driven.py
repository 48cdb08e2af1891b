"""Spec-driven completeness: a property the spec adds is served with no code
change, from the schema's example, default or type."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from mockserver import Settings, create_app
from mockserver.spec import build_spec, default_spec_path

from .conftest import CLUB, DOCS_FIXTURE, JAZZ, VIP, Fake, FakeFactory, new_person


def spec_document() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(default_spec_path().read_text(encoding="utf-8"))
    return copy.deepcopy(document)


def grown_spec() -> dict[str, Any]:
    """The spec, with fields the store knows nothing of."""
    doc = spec_document()
    schemas = doc["components"]["schemas"]
    schemas["Event"]["properties"]["organizer"] = {"type": "string", "example": "GoEvent"}
    schemas["Event"]["required"].append("organizer")
    schemas["Ticket"]["properties"]["currency"] = {"type": "string", "example": "EUR"}
    # Optional and without example, default or const: nothing to serve it from.
    schemas["Ticket"]["properties"]["note"] = {"type": "string"}
    schemas["ListedParticipant"]["properties"]["checkedIn"] = {"type": "boolean", "default": False}
    schemas["Paginate"]["properties"]["totalPages"] = {"type": "integer", "minimum": 1}
    schemas["Paginate"]["required"].append("totalPages")
    schemas["Participant"]["properties"]["tags"] = {
        "type": "array",
        "items": {"type": "string"},
        "examples": [["vip"]],
    }
    schemas["IssuedTicket"]["properties"]["format"] = {"type": "string", "const": "pdf"}
    return doc


@pytest.fixture
def grown(make_fake: FakeFactory) -> Fake:
    app = create_app(
        Settings(fixtures=DOCS_FIXTURE, validate_responses=True), spec=build_spec(grown_spec())
    )
    return make_fake(app=app)


def test_a_required_event_property_is_served_from_its_example(grown: Fake) -> None:
    events = grown.api.get("/events")
    assert events.status_code == 200, events.text
    assert [e["organizer"] for e in events.json()["events"]] == ["GoEvent", "GoEvent"]
    event = grown.api.get(f"/event/{JAZZ}").json()
    assert event["event"]["organizer"] == "GoEvent"
    assert event["event"]["name"] == "Concert de Jazz"  # the store's own fields are kept


def test_an_optional_ticket_property_with_an_example_is_served(grown: Fake) -> None:
    for tickets in (
        grown.api.get("/tickets", params={"eventId": JAZZ}).json()["tickets"],
        grown.api.get(f"/event/{CLUB}").json()["tickets"],
    ):
        assert tickets
        assert all(t["currency"] == "EUR" for t in tickets)
        assert all("note" not in t for t in tickets)  # nothing to make it from: left out
        assert all({"id", "name", "available", "quantity"} <= set(t) for t in tickets)


def test_added_properties_reach_every_operation(grown: Fake) -> None:
    people = grown.api.get("/participants", params={"eventId": JAZZ}).json()
    assert all(p["checkedIn"] is False for p in people["participants"])
    assert people["paginate"] == {"hasNextPage": False, "nextPage": None, "totalPages": 1}
    events = grown.api.get("/events").json()
    assert events["paginate"]["totalPages"] == 1
    r = grown.buy(
        {
            "eventId": JAZZ,
            "tickets": [{"ticket_id": VIP, "quantity": 1}],
            "participant": new_person(),
        }
    )
    assert r.status_code == 200, r.text
    assert r.json()["participant"]["tags"] == ["vip"]
    assert r.json()["tickets"][0]["format"] == "pdf"


def test_the_unchanged_spec_serves_none_of_it(docs: Fake) -> None:
    event = docs.api.get(f"/event/{JAZZ}").json()
    assert "organizer" not in event["event"]
    assert "currency" not in event["tickets"][0]
    assert "totalPages" not in docs.api.get("/events").json()["paginate"]


def test_a_spec_file_given_in_settings_is_served(tmp_path: Path, make_fake: FakeFactory) -> None:
    path = tmp_path / "grown.yaml"
    path.write_text(yaml.safe_dump(grown_spec()), encoding="utf-8")
    fake = make_fake(fixtures=DOCS_FIXTURE, spec=path)
    assert fake.api.get(f"/event/{JAZZ}").json()["event"]["organizer"] == "GoEvent"


def test_a_new_operation_in_the_spec_is_served_from_its_example(make_fake: FakeFactory) -> None:
    doc = spec_document()
    doc["paths"]["/prices"] = {
        "get": {
            "operationId": "listPrices",
            "responses": {
                "200": {
                    "description": "Prices.",
                    "content": {
                        "application/json": {
                            "schema": {"type": "object"},
                            "examples": {"one": {"value": {"prices": [{"amount": 25}]}}},
                        }
                    },
                }
            },
        }
    }
    fake = make_fake(app=create_app(Settings(fixtures=DOCS_FIXTURE), spec=build_spec(doc)))
    r = fake.api.get("/prices")
    assert r.status_code == 200
    assert r.json() == {"prices": [{"amount": 25}]}
    assert fake.anon.get("/prices").status_code == 401
