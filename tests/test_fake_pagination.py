"""Pagination is exact: a stable order, no duplicates or gaps across pages, and
``hasNextPage``/``nextPage`` right on the last page and beyond it."""

from __future__ import annotations

from typing import Any

import pytest

from mockserver.store.ids import parse_date

from .conftest import TOKEN_2, Fake, FakeFactory, bearer, new_person

EVENTS = 23
PARTICIPANTS = 57
LIMITS = [1, 2, 5, 7, 20, 23, 57, 100]


@pytest.fixture
def big(make_fake: FakeFactory) -> Fake:
    return make_fake(
        seed=11,
        events_per_organizer=EVENTS,
        ticket_types_per_event=1,
        participants_per_event=PARTICIPANTS,
    )


def walk(fake: Fake, path: str, key: str, limit: int, **params: Any) -> list[dict[str, Any]]:
    """Every page in turn, checking each page's size and ``paginate``; returns all items."""
    items: list[dict[str, Any]] = []
    page = 1
    while True:
        r = fake.api.get(path, params={**params, "page": page, "limit": limit})
        assert r.status_code == 200, r.text
        body = r.json()
        chunk, paginate = body[key], body["paginate"]
        items.extend(chunk)
        if paginate["hasNextPage"]:
            assert len(chunk) == limit
            assert paginate["nextPage"] == page + 1
            page += 1
            continue
        assert paginate["nextPage"] is None
        assert 1 <= len(chunk) <= limit
        # Beyond the last page: empty, and still no next page.
        for beyond in (page + 1, page + 2, 1_000_000_000):
            r = fake.api.get(path, params={**params, "page": beyond, "limit": limit})
            assert r.status_code == 200
            assert r.json()[key] == []
            assert r.json()["paginate"] == {"hasNextPage": False, "nextPage": None}
        return items


def event_key(e: dict[str, Any]) -> tuple[str, str]:
    # The API's dates are fixed-width UTC with milliseconds: text order is time order.
    return (e["dateStart"], e["id"])


def participant_key(p: dict[str, Any]) -> tuple[str, str]:
    return (p["created"], p["id"])


@pytest.mark.parametrize("limit", LIMITS)
def test_events_pages_are_stable_without_duplicates_or_gaps(big: Fake, limit: int) -> None:
    events = walk(big, "/events", "events", limit)
    ids = [e["id"] for e in events]
    assert len(ids) == len(set(ids)) == EVENTS
    assert events == sorted(events, key=event_key)
    organizer = big.app.state.store.organizers[0].id
    exported = {e["id"] for e in big.state()["events"] if e["organizerId"] == organizer}
    assert set(ids) == exported
    # The same walk twice gives the same pages.
    assert walk(big, "/events", "events", limit) == events


@pytest.mark.parametrize("limit", LIMITS)
def test_participants_pages_are_stable_without_duplicates_or_gaps(big: Fake, limit: int) -> None:
    event = big.api.get("/events", params={"limit": 1}).json()["events"][0]["id"]
    people = walk(big, "/participants", "participants", limit, eventId=event)
    ids = [p["id"] for p in people]
    assert len(ids) == len(set(ids)) == PARTICIPANTS
    assert people == sorted(people, key=participant_key)
    assert set(ids) == set(big.participant_ids(event))


def test_every_limit_gives_the_same_sequence(big: Fake) -> None:
    event = big.api.get("/events").json()["events"][0]["id"]
    sequences = {
        limit: [p["id"] for p in walk(big, "/participants", "participants", limit, eventId=event)]
        for limit in (3, 10, 100)
    }
    assert sequences[3] == sequences[10] == sequences[100]


def test_a_last_page_that_is_exactly_full_says_there_is_no_next_page(big: Fake) -> None:
    r = big.api.get("/events", params={"page": 1, "limit": EVENTS})
    assert len(r.json()["events"]) == EVENTS
    assert r.json()["paginate"] == {"hasNextPage": False, "nextPage": None}
    r = big.api.get("/events", params={"page": 1, "limit": EVENTS - 1})
    assert r.json()["paginate"] == {"hasNextPage": True, "nextPage": 2}
    r = big.api.get("/events", params={"page": 2, "limit": EVENTS - 1})
    assert len(r.json()["events"]) == 1
    assert r.json()["paginate"] == {"hasNextPage": False, "nextPage": None}


def test_default_page_and_limit_are_1_and_20(big: Fake) -> None:
    events = big.api.get("/events").json()
    assert events == big.api.get("/events", params={"page": 1, "limit": 20}).json()
    assert len(events["events"]) == 20
    assert events["paginate"] == {"hasNextPage": True, "nextPage": 2}
    event = events["events"][0]["id"]
    people = big.api.get("/participants", params={"eventId": event}).json()
    assert len(people["participants"]) == 20
    assert (
        people
        == big.api.get("/participants", params={"eventId": event, "page": 1, "limit": 20}).json()
    )


def test_an_organizer_with_no_events_gets_an_empty_first_page(make_fake: FakeFactory) -> None:
    fake = make_fake(events_per_organizer=0)
    r = fake.api.get("/events")
    assert r.status_code == 200
    assert r.json() == {"events": [], "paginate": {"hasNextPage": False, "nextPage": None}}


def test_a_new_participant_takes_its_place_by_created_then_id(big: Fake) -> None:
    event, ticket = next(
        (e["id"], t["id"])
        for e in walk(big, "/events", "events", 100)
        for t in big.api.get("/tickets", params={"eventId": e["id"]}).json()["tickets"]
        if t["quantity"] > 0
    )
    people = walk(big, "/participants", "participants", 100, eventId=event)
    # Created at the very date of an existing participant: the id breaks the tie.
    middle = people[len(people) // 2]
    big.app.state.store.clock.freeze(parse_date(middle["created"]))
    r = big.buy(
        {
            "eventId": event,
            "tickets": [{"ticket_id": ticket, "quantity": 1}],
            "participant": new_person(),
        }
    )
    assert r.status_code == 200, r.text
    new_id = r.json()["participant"]["id"]
    for limit in (4, 9):
        after = walk(big, "/participants", "participants", limit, eventId=event)
        assert len(after) == PARTICIPANTS + 1
        assert after == sorted(after, key=participant_key)
        mine = next(p for p in after if p["id"] == new_id)
        assert mine["created"] == middle["created"]
        assert [p for p in after if p["id"] != new_id] == people


def test_organizer_2_pages_through_its_own_events(big: Fake) -> None:
    first = [e["id"] for e in walk(big, "/events", "events", 100)]
    r = big.api.get("/events", params={"limit": 100}, headers=bearer(TOKEN_2))
    second = [e["id"] for e in r.json()["events"]]
    assert len(second) == EVENTS
    assert not set(first) & set(second)
