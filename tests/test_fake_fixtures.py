"""Fixture files: the shipped one loads and follows its JSON Schema; a malformed
one fails at startup with the file, the JSON path and the reason."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from mockserver import Settings, create_app
from mockserver.store import FixtureError, dataset_from_json, dataset_to_json, load_fixture_file
from mockserver.store.fixtures import fixture_schema

from .conftest import CLUB, DOCS_FIXTURE, JANE, JAZZ, JOHN, STANDARD, VIP, Fake, load_json

Mutation = Callable[[dict[str, Any]], None]


def test_the_docs_fixture_follows_the_fixture_schema() -> None:
    data = load_json(DOCS_FIXTURE)
    Draft202012Validator.check_schema(fixture_schema())
    validator = Draft202012Validator(fixture_schema(), format_checker=FormatChecker())
    assert list(validator.iter_errors(data)) == []
    assert data["$schema"] == "../mockserver/data/fixture.schema.json"
    assert (DOCS_FIXTURE.parent / data["$schema"]).resolve().is_file()


def test_the_docs_fixture_holds_the_documents_objects(docs: Fake) -> None:
    event = docs.api.get(f"/event/{JAZZ}").json()
    assert event["event"]["name"] == "Concert de Jazz"
    assert event["event"]["slug"] == "concert-de-jazz"
    assert event["event"]["dateStart"] == "2024-06-15T20:00:00.000Z"
    assert [(t["id"], t["name"], t["quantity"]) for t in event["tickets"]] == [
        (VIP, "VIP", 100),
        (STANDARD, "Standard", 250),
    ]
    people = docs.api.get("/participants", params={"eventId": JAZZ}).json()["participants"]
    assert [(p["id"], p["first_name"], p["last_name"]) for p in people] == [
        (JOHN, "John", "Doe"),
        (JANE, "Jane", "Smith"),
    ]
    assert docs.api.get(f"/event/{CLUB}").status_code == 200
    description = load_json(DOCS_FIXTURE)["description"]
    for document_id in (JAZZ, CLUB, "507f1f77bcf86cd799439011", VIP, JOHN):
        assert document_id in description  # says where each of the document's ids went
    assert [o["token"] for o in docs.state()["organizers"]] == ["goevent-dev-token"]


def test_a_fixture_round_trips_through_the_loader() -> None:
    data = load_json(DOCS_FIXTURE)
    exported = dataset_to_json(load_fixture_file(DOCS_FIXTURE))
    assert exported == {k: v for k, v in data.items() if k != "$schema"}


def _set(path: str, value: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = data
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        if last.isdigit():
            node[int(last)] = value
        elif value is _DELETE:
            del node[last]
        else:
            node[last] = value

    return mutate


_DELETE = object()
_MID = "643e7b000000000000000001"

BAD_FIXTURES: dict[str, tuple[Mutation, str, str]] = {
    "missing-field": (_set("events.0.slug", _DELETE), "$.events[0]", "'slug' is a required"),
    "missing-organizers": (_set("organizers", _DELETE), "$", "'organizers' is a required"),
    "bad-object-id": (
        _set("events.0.id", "643e7b19493791329955XXXX"),
        "$.events[0].id",
        "'643e7b19493791329955XXXX' is not a MongoDB ObjectId: 24 lowercase hexadecimal characters",
    ),
    "bad-ticket-id": (
        _set("events.1.tickets.0.id", "123"),
        "$.events[1].tickets[0].id",
        "'123' is not a MongoDB ObjectId",
    ),
    "duplicate-id": (
        _set("events.1.participants.0.id", JOHN),
        "$.events[1].participants[0].id",
        f"id {JOHN} is already used at $.events[0].participants[0].id",
    ),
    "duplicate-event-id": (_set("events.1.id", JAZZ), "$.events[1].id", "already used"),
    "dangling-organizer": (
        _set("events.1.organizerId", "643e7b000000000000000002"),
        "$.events[1].organizerId",
        "no organizer has id 643e7b000000000000000002",
    ),
    "negative-quantity": (
        _set("events.0.tickets.1.quantity", -1),
        "$.events[0].tickets[1].quantity",
        "less than the minimum",
    ),
    "huge-quantity": (
        _set("events.0.tickets.1.quantity", 2**70),
        "$.events[0].tickets[1].quantity",
        "greater than the maximum",
    ),
    "fractional-quantity": (
        _set("events.0.tickets.0.quantity", 1.5),
        "$.events[0].tickets[0].quantity",
        "is not of type 'integer'",
    ),
    "bad-date": (
        _set("events.0.dateStart", "2024-06-15"),
        "$.events[0].dateStart",
        "'2024-06-15' is not a UTC date with milliseconds, like 2024-06-15T20:00:00.000Z",
    ),
    "impossible-date": (
        _set("events.0.participants.0.created", "2024-02-30T10:00:00.000Z"),
        "$.events[0].participants[0].created",
        "not a valid date",
    ),
    "end-before-start": (
        _set("events.0.dateEnd", "2024-06-15T19:00:00.000Z"),
        "$.events[0].dateEnd",
        "dateEnd is before dateStart",
    ),
    "duplicate-slug": (
        _set("events.1.slug", "concert-de-jazz"),
        "$.events[1].slug",
        "already used at $.events[0].slug",
    ),
    "bad-slug": (_set("events.1.slug", "Jazz Club"), "$.events[1].slug", "does not match"),
    "bad-email": (
        _set("events.0.participants.1.email", "jane"),
        "$.events[0].participants[1].email",
        "does not match",
    ),
    "bad-cover": (
        _set("events.0.cover.thumb", "not a url"),
        "$.events[0].cover.thumb",
        "is not a 'uri'",
    ),
    "unknown-field": (_set("events.0.price", 10), "$.events[0]", "'price' was unexpected"),
    "no-organizer": (_set("organizers", []), "$.organizers", "should be non-empty"),
    "duplicate-token": (
        lambda d: d["organizers"].append(
            {"id": "643e7b000000000000000002", "name": "Other", "token": "goevent-dev-token"}
        ),
        "$.organizers[1].token",
        "token is already used by $.organizers[0]",
    ),
    "order-of-unknown-event": (
        _set(
            "orders",
            [
                {
                    "id": "643e7b0000000000000000aa",
                    "eventId": "643e7b0000000000000000bb",
                    "participantId": None,
                    "created": "2024-01-01T00:00:00.000Z",
                    "lines": [{"ticketId": VIP, "name": "VIP", "quantity": 1}],
                }
            ],
        ),
        "$.orders[0].eventId",
        "no event has id 643e7b0000000000000000bb",
    ),
    "order-of-foreign-ticket": (
        _set(
            "orders",
            [
                {
                    "id": "643e7b0000000000000000aa",
                    "eventId": CLUB,
                    "participantId": None,
                    "created": "2024-01-01T00:00:00.000Z",
                    "lines": [{"ticketId": VIP, "name": "VIP", "quantity": 1}],
                }
            ],
        ),
        "$.orders[0].lines[0].ticketId",
        f"event {CLUB} has no ticket {VIP}",
    ),
    "not-an-object": (lambda d: d.clear(), "$", "'organizers' is a required"),
}


def bad_fixture(tmp_path: Path, mutate: Mutation) -> Path:
    data = copy.deepcopy(load_json(DOCS_FIXTURE))
    mutate(data)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.mark.parametrize("case", list(BAD_FIXTURES))
def test_a_malformed_fixture_fails_at_startup_with_file_path_and_reason(
    tmp_path: Path, case: str
) -> None:
    mutate, where, reason = BAD_FIXTURES[case]
    path = bad_fixture(tmp_path, mutate)
    with pytest.raises(FixtureError) as caught:
        create_app(Settings(fixtures=path))
    error = caught.value
    assert error.source == str(path)
    assert error.path == where
    assert reason in error.reason
    assert str(error) == f"{path}: {where}: {error.reason}"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b'{"organizers": [', "not valid JSON: Expecting value at line 1, column 17"),
        (b'{"organizers": []}\n}', "not valid JSON: Extra data at line 2, column 1"),
        (b"\xff\xfe{}", "not UTF-8 text"),
        (b"", "not valid JSON"),
    ],
)
def test_a_fixture_that_is_not_json_fails_with_line_and_column(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    path = tmp_path / "broken.json"
    path.write_bytes(content)
    with pytest.raises(FixtureError) as caught:
        create_app(Settings(fixtures=path))
    assert caught.value.path == "$"
    assert reason in caught.value.reason
    assert str(path) in str(caught.value)


def test_a_missing_fixture_file_fails_with_its_name(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.json"
    with pytest.raises(FixtureError) as caught:
        create_app(Settings(fixtures=path))
    assert caught.value.source == str(path)
    assert "cannot read the file" in caught.value.reason


def test_whole_float_quantities_in_a_fixture_are_loaded_as_integers() -> None:
    data = load_json(DOCS_FIXTURE)
    data["events"][0]["tickets"][0]["quantity"] = 100.0
    dataset = dataset_from_json(data)
    quantity = dataset.events[0].tickets[0].quantity
    assert quantity == 100
    assert type(quantity) is int
    assert dataset_to_json(dataset)["events"][0]["tickets"][0]["quantity"] == 100


def test_participants_of_a_fixture_are_served_by_created_then_id(tmp_path: Path) -> None:
    data = load_json(DOCS_FIXTURE)
    people = data["events"][0]["participants"]
    people.reverse()  # in the file, Jane comes first
    path = tmp_path / "reversed.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    store = create_app(Settings(fixtures=path)).state.store
    assert [p.id for p in store.event_by_id(JAZZ).participants] == [JOHN, JANE]


@pytest.mark.parametrize("depth", [40, 1000, 5000])
def test_a_deeply_nested_fixture_is_refused_not_a_crash(tmp_path: Path, depth: int) -> None:
    text = DOCS_FIXTURE.read_text(encoding="utf-8").rstrip().removesuffix("}")
    path = tmp_path / "deep.json"
    path.write_text(text + ', "x": ' + "[" * depth + "]" * depth + "}", encoding="utf-8")
    with pytest.raises(FixtureError) as caught:
        create_app(Settings(fixtures=path))
    assert caught.value.path == "$"
    assert caught.value.reason == "nested more than 32 levels deep"


def test_a_reason_never_echoes_a_huge_value() -> None:
    data = load_json(DOCS_FIXTURE)
    data["description"] = ["x" * 100_000]
    with pytest.raises(FixtureError) as caught:
        dataset_from_json(data)
    assert caught.value.path == "$.description"
    assert "is not of type 'string'" in caught.value.reason or len(caught.value.reason) <= 301
    assert len(caught.value.reason) <= 301


def test_fixture_format_and_spec_agree_on_emails() -> None:
    """A fixture e-mail the spec would refuse would make the fake break its own spec."""
    from mockserver.spec import load_spec

    fixture_schema = json.loads(
        (Path(__file__).parents[1] / "mockserver/data/fixture.schema.json").read_text("utf-8")
    )
    participant = fixture_schema["properties"]["events"]["items"]["properties"]["participants"]
    email = participant["items"]["properties"]["email"]
    assert email["pattern"] == load_spec().schema("Email")["pattern"]
