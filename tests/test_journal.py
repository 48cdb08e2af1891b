"""The request journal: every GoEvent request recorded, token masked, filterable, bounded."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from mockserver.journal import Journal, mask_authorization, matches

from .conftest import JAZZ, JOHN, TOKEN, UNKNOWN_ID, VIP, Fake, FakeFactory, bearer


def journal(fake: Fake, **params: Any) -> dict[str, Any]:
    r = fake.control.get("/_mock/journal", params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_every_operation_is_recorded_with_what_was_asked_and_answered(docs: Fake) -> None:
    docs.control.post("/_mock/clock", json={"freeze": "2025-02-03T04:05:06.789Z"})
    docs.api.get("/events", params={"page": 1, "limit": 5})
    docs.api.get(f"/event/{JAZZ}")
    docs.api.get("/tickets", params={"eventId": JAZZ})
    purchase = {"eventId": JAZZ, "tickets": [{"ticket_id": VIP, "quantity": 1}],
                "participant": {"participantId": JOHN}}  # fmt: skip
    assert docs.buy(purchase).status_code == 200
    docs.api.get("/participants", params={"eventId": JAZZ, "limit": 50})

    entries = journal(docs)["entries"]
    assert [(e["operationId"], e["method"], e["path"], e["status"]) for e in entries] == [
        ("listEvents", "GET", "/events", 200),
        ("getEvent", "GET", f"/event/{JAZZ}", 200),
        ("listTickets", "GET", "/tickets", 200),
        ("createTickets", "POST", "/tickets/create", 200),
        ("listParticipants", "GET", "/participants", 200),
    ]
    assert entries[0]["query"] == {"page": "1", "limit": "5"}
    assert entries[3]["body"] == purchase
    assert entries[0]["body"] is None
    assert [e["seq"] for e in entries] == [1, 2, 3, 4, 5]
    # The fake's clock, not the wall clock: a frozen clock shows in the journal.
    assert {e["time"] for e in entries} == {"2025-02-03T04:05:06.789Z"}
    for e in entries:
        assert isinstance(e["durationMs"], float)
        assert e["durationMs"] >= 0
        assert e["fault"] is None
        assert e["replayed"] is False


def test_the_token_is_never_stored_whole(make_fake: FakeFactory) -> None:
    fake = make_fake(seed=5, token="a-long-secret-token-0123456789")
    fake.api.get("/events")
    fake.anon.get("/events")
    fake.api.get("/events", headers={"Authorization": "Bearer short"})
    r = fake.control.get("/_mock/journal")
    assert "a-long-secret-token-0123456789" not in r.text
    assert "short" not in r.text
    entries = r.json()["entries"]
    assert [e["authorization"] for e in entries] == [
        "Bearer a-lo…6789",
        None,
        mask_authorization(b"Bearer short"),
    ]
    assert entries[2]["authorization"].startswith("Bearer sha256:")
    assert [e["status"] for e in entries] == [200, 401, 401]


def test_a_body_that_is_not_json_is_kept_as_text(docs: Fake) -> None:
    r = docs.api.post("/tickets/create", content=b"{not json",
                      headers={"Content-Type": "application/json"})  # fmt: skip
    assert r.status_code == 400
    (entry,) = journal(docs)["entries"]
    assert (entry["status"], entry["body"]) == (400, "{not json")


def test_filters_by_operation_and_status(docs: Fake) -> None:
    docs.api.get("/events")
    docs.api.get(f"/event/{UNKNOWN_ID}")
    docs.api.get("/tickets", params={"eventId": UNKNOWN_ID})
    docs.anon.get("/events")

    def seen(**params: Any) -> list[tuple[str, int]]:
        return [(e["operationId"], e["status"]) for e in journal(docs, **params)["entries"]]

    assert seen(operation="listEvents") == [("listEvents", 200), ("listEvents", 401)]
    assert seen(status="404") == [("getEvent", 404), ("listTickets", 404)]
    assert seen(status="4xx") == [("getEvent", 404), ("listTickets", 404), ("listEvents", 401)]
    assert seen(operation="listEvents", status="2xx") == [("listEvents", 200)]
    assert journal(docs, status="404")["count"] == 2


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"operation": "listEvent"}, "query.operation"),
        ({"status": "abc"}, "query.status"),
        ({"status": "4x"}, "query.status"),
        ({"status": "999"}, "query.status"),
    ],
)
def test_a_bad_filter_is_a_400_and_clears_nothing(
    docs: Fake, params: dict[str, str], field: str
) -> None:
    docs.api.get("/events")
    before = journal(docs)
    assert before["count"] == 1
    r = docs.control.get("/_mock/journal", params=params)
    assert r.status_code == 400
    assert r.json()["success"] is False
    assert r.json()["code"] == "VALIDATION_ERROR"
    assert r.json()["field"] == field
    assert journal(docs) == before


def test_the_journal_is_bounded_and_counts_what_it_dropped(make_fake: FakeFactory) -> None:
    fake = make_fake(seed=5, journal_max=3)
    for limit in range(1, 6):
        fake.api.get("/events", params={"limit": limit})
    body = journal(fake)
    assert (body["count"], body["dropped"], body["max"]) == (3, 2, 3)
    assert [e["query"]["limit"] for e in body["entries"]] == ["3", "4", "5"]
    assert [e["seq"] for e in body["entries"]] == [3, 4, 5]


def test_delete_clears_the_journal(docs: Fake) -> None:
    docs.api.get("/events")
    docs.api.get("/events")
    r = docs.control.delete("/_mock/journal")
    assert r.status_code == 200
    assert r.json()["cleared"] == 2
    assert journal(docs) | {"entries": None} == {
        "entries": None, "count": 0, "dropped": 0, "max": 1000, "sandbox": None,
    }  # fmt: skip
    docs.api.get("/events")
    assert [e["operationId"] for e in journal(docs)["entries"]] == ["listEvents"]


def test_control_endpoints_are_not_journaled(docs: Fake) -> None:
    docs.control.get("/_mock/state")
    docs.control.post("/_mock/reset")
    docs.control.get("/_mock/health")
    assert journal(docs)["count"] == 0


def test_reset_clears_the_journal(docs: Fake) -> None:
    docs.api.get("/events")
    assert docs.control.post("/_mock/reset").status_code == 200
    assert journal(docs)["count"] == 0


def test_a_switched_off_journal_says_so(make_fake: FakeFactory) -> None:
    fake = make_fake(seed=5, journal_max=0)
    assert fake.api.get("/events").status_code == 200
    for method in ("GET", "DELETE"):
        r = fake.control.request(method, "/_mock/journal")
        assert r.status_code == 409
        assert r.json()["code"] == "JOURNAL_DISABLED"
    assert fake.app.state.boxes.default.journal is None


def test_journal_entries_parse_query_and_body_lazily() -> None:
    j = Journal(max_entries=10)
    at = datetime(2025, 1, 1, tzinfo=UTC)
    j.record(at, "listEvents", "GET", "/events", b"page=2&x=1&x=2&empty=", b"", 200, 0.0,
             bearer(TOKEN)["Authorization"].encode())  # fmt: skip
    (entry,) = j.entries()
    assert entry.query == {"page": "2", "x": ["1", "2"], "empty": ""}
    assert entry.body is None
    assert entry.describe() == "#1 GET /events?page=2&x=1&x=2&empty= -> 200"
    with pytest.raises(ValueError, match="at least 1"):
        Journal(max_entries=0)


@pytest.mark.parametrize(
    ("expected", "actual", "result"),
    [
        ({"a": 1}, {"a": 1, "b": 2}, True),
        ({"a": {"b": 1}}, {"a": {"b": 1, "c": 2}}, True),
        ({"a": 1}, {"a": 2}, False),
        ({"a": 1}, {"b": 1}, False),
        ({"a": [1, 2]}, {"a": [1, 2, 3]}, False),
        ([{"q": 1}], [{"q": 1, "id": "x"}], True),
        ({"a": 1}, None, False),
        ("text", "text", True),
    ],
)
def test_body_matching_is_by_subset_for_objects(expected: Any, actual: Any, result: bool) -> None:
    assert matches(expected, actual) is result
