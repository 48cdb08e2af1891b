"""Create Tickets changes the state as a purchase should: exactly, atomically,
and with the three participant forms of the document."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from mockserver.store.ids import format_date

from .conftest import (
    CLUB,
    CLUB_VIP,
    JANE,
    JAZZ,
    JOHN,
    STANDARD,
    TOKEN,
    UNKNOWN_ID,
    VIP,
    Fake,
    new_person,
)


def listed(fake: Fake, event_id: str) -> list[dict[str, object]]:
    return fake.all_pages("/participants", "participants", 100, eventId=event_id)


def test_a_purchase_lowers_the_quantity_by_exactly_what_was_bought(docs: Fake) -> None:
    before = docs.quantities(JAZZ)
    r = docs.buy(
        {
            "eventId": JAZZ,
            "tickets": [{"ticket_id": VIP, "quantity": 3}, {"ticket_id": STANDARD, "quantity": 5}],
        }
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] is True
    assert [(t["name"], t["quantity"]) for t in body["tickets"]] == [("VIP", 3), ("Standard", 5)]
    after = docs.quantities(JAZZ)
    assert after == {VIP: before[VIP] - 3, STANDARD: before[STANDARD] - 5}
    listed_tickets = {
        t["id"]: t for t in docs.api.get("/tickets", params={"eventId": JAZZ}).json()["tickets"]
    }
    assert listed_tickets[VIP]["quantity"] == before[VIP] - 3
    assert listed_tickets[STANDARD]["quantity"] == before[STANDARD] - 5
    event = docs.api.get(f"/event/{JAZZ}").json()
    assert {t["id"]: t["quantity"] for t in event["tickets"]} == after
    # The other event is untouched.
    assert docs.quantities(CLUB) == {CLUB_VIP: 40, "67212707e47ff56741acb3a8": 120}


def test_buying_the_last_tickets_makes_the_type_unavailable(docs: Fake) -> None:
    left = docs.quantities(JAZZ)[VIP]
    r = docs.buy({"eventId": JAZZ, "tickets": [{"ticket_id": VIP, "quantity": left - 1}]})
    assert r.status_code == 200
    vip = next(t for t in docs.api.get(f"/event/{JAZZ}").json()["tickets"] if t["id"] == VIP)
    assert (vip["quantity"], vip["available"]) == (1, True)
    r = docs.buy({"eventId": JAZZ, "tickets": [{"ticket_id": VIP, "quantity": 1}]})
    assert r.status_code == 200
    vip = next(
        t
        for t in docs.api.get("/tickets", params={"eventId": JAZZ}).json()["tickets"]
        if t["id"] == VIP
    )
    assert (vip["quantity"], vip["available"]) == (0, False)
    standard = next(
        t for t in docs.api.get(f"/event/{JAZZ}").json()["tickets"] if t["id"] == STANDARD
    )
    assert standard["available"] is True


def test_a_sold_out_type_refuses_the_purchase_and_nothing_is_sold(docs: Fake) -> None:
    docs.buy({"eventId": JAZZ, "tickets": [{"ticket_id": VIP, "quantity": 100}]})
    before = docs.state()
    r = docs.buy(
        {
            "eventId": JAZZ,
            "tickets": [{"ticket_id": VIP, "quantity": 1}],
            "participant": new_person(),
        }
    )
    assert r.status_code == 409
    assert r.json()["code"] == "NOT_ENOUGH_TICKETS"
    assert r.json()["field"] == "body.tickets[0].quantity"
    assert "0 left, 1 asked for" in r.json()["message"]
    assert docs.state() == before


def test_not_enough_left_is_409_and_nothing_changes(docs: Fake) -> None:
    before = docs.state()
    r = docs.buy(
        {
            "eventId": JAZZ,
            "tickets": [{"ticket_id": VIP, "quantity": 101}],
            "participant": new_person(),
        }
    )
    assert r.status_code == 409
    body = r.json()
    assert body == {
        "success": False,
        "code": "NOT_ENOUGH_TICKETS",
        "message": f"ticket {VIP} (VIP) has 100 left, 101 asked for; nothing was sold",
        "field": "body.tickets[0].quantity",
    }
    assert docs.state() == before


def test_a_purchase_is_atomic_across_its_lines(docs: Fake) -> None:
    """Line 1 alone would succeed; line 2 asks for too many: neither is sold."""
    before = docs.state()
    participants = docs.participant_ids(JAZZ)
    r = docs.buy(
        {
            "eventId": JAZZ,
            "tickets": [
                {"ticket_id": VIP, "quantity": 2},
                {"ticket_id": STANDARD, "quantity": 251},
            ],
            "participant": new_person(),
        }
    )
    assert r.status_code == 409
    assert r.json()["field"] == "body.tickets[1].quantity"
    assert docs.quantities(JAZZ) == {VIP: 100, STANDARD: 250}
    assert docs.participant_ids(JAZZ) == participants
    assert docs.state() == before


@pytest.mark.parametrize(
    ("second_line", "field"),
    [
        ({"ticket_id": UNKNOWN_ID, "quantity": 1}, "body.tickets[1].ticket_id"),
        # A real ticket, of another event of the same organizer.
        ({"ticket_id": CLUB_VIP, "quantity": 1}, "body.tickets[1].ticket_id"),
    ],
)
def test_an_unknown_ticket_or_one_of_another_event_is_404_and_nothing_changes(
    docs: Fake, second_line: dict[str, object], field: str
) -> None:
    before = docs.state()
    r = docs.buy(
        {
            "eventId": JAZZ,
            "tickets": [{"ticket_id": VIP, "quantity": 2}, second_line],
            "participant": new_person(),
        }
    )
    assert r.status_code == 404
    body = r.json()
    assert body["code"] == "TICKET_NOT_FOUND"
    assert body["field"] == field
    assert body["message"] == f"ticket {second_line['ticket_id']} not found in event {JAZZ}"
    assert docs.state() == before


def test_an_unknown_event_is_404_and_nothing_changes(docs: Fake) -> None:
    before = docs.state()
    r = docs.buy({"eventId": UNKNOWN_ID, "tickets": [{"ticket_id": VIP, "quantity": 1}]})
    assert r.status_code == 404
    assert r.json()["code"] == "EVENT_NOT_FOUND"
    assert UNKNOWN_ID in r.json()["message"]
    assert docs.state() == before


@pytest.mark.parametrize("participant_id", [UNKNOWN_ID, "67212707e47ff56741acb3a9"])
def test_an_unknown_participant_or_one_of_another_event_is_404(
    docs: Fake, participant_id: str
) -> None:
    before = docs.state()
    r = docs.buy(
        {
            "eventId": JAZZ,
            "tickets": [{"ticket_id": VIP, "quantity": 1}],
            "participant": {"participantId": participant_id},
        }
    )
    assert r.status_code == 404
    assert r.json()["code"] == "PARTICIPANT_NOT_FOUND"
    assert r.json()["field"] == "body.participant.participantId"
    assert docs.state() == before


def test_an_existing_participant_is_returned_and_the_list_is_unchanged(docs: Fake) -> None:
    people = listed(docs, JAZZ)
    r = docs.buy(
        {
            "eventId": JAZZ,
            "tickets": [{"ticket_id": VIP, "quantity": 2}],
            "participant": {"participantId": JANE},
        }
    )
    assert r.status_code == 200
    body = r.json()
    assert body["participant"] == {
        "id": JANE,
        "last_name": "Smith",
        "first_name": "Jane",
        "email": "jane.smith@example.com",
        "phone": "+1234567891",
        "address": "123 Main St",
    }
    assert listed(docs, JAZZ) == people
    assert docs.quantities(JAZZ)[VIP] == 98
    order = docs.state()["orders"][-1]
    assert (order["participantId"], order["eventId"]) == (JANE, JAZZ)


def test_a_new_participant_is_created_confirmed_and_listed_afterwards(docs: Fake) -> None:
    now = datetime(2025, 3, 4, 5, 6, 7, 890000, tzinfo=UTC)
    docs.app.state.store.clock.freeze(now)
    people = listed(docs, JAZZ)
    person = new_person(first_name="Zoë", last_name="Lefèvre-Ångström")
    r = docs.buy(
        {"eventId": JAZZ, "tickets": [{"ticket_id": VIP, "quantity": 1}], "participant": person}
    )
    assert r.status_code == 200, r.text
    created = r.json()["participant"]
    assert re.fullmatch("[0-9a-f]{24}", created["id"])
    assert created == {"id": created["id"], **person, "address": None}
    assert created["id"] not in {p["id"] for p in people}
    after = listed(docs, JAZZ)
    assert after[:-1] == people
    assert after[-1] == {
        **created,
        "confirmed": True,
        "created": format_date(now),
    }
    assert after[-1]["created"] == "2025-03-04T05:06:07.890Z"
    # ...and it can buy again by id.
    r = docs.buy(
        {
            "eventId": JAZZ,
            "tickets": [{"ticket_id": VIP, "quantity": 1}],
            "participant": {"participantId": created["id"]},
        }
    )
    assert r.status_code == 200
    assert r.json()["participant"] == created
    assert listed(docs, JAZZ) == after


def test_no_participant_gives_participant_null_and_the_list_is_unchanged(docs: Fake) -> None:
    people = listed(docs, JAZZ)
    r = docs.buy({"eventId": JAZZ, "tickets": [{"ticket_id": STANDARD, "quantity": 1}]})
    assert r.status_code == 200
    body = r.json()
    assert body["participant"] is None
    assert [(t["name"], t["quantity"]) for t in body["tickets"]] == [("Standard", 1)]
    assert listed(docs, JAZZ) == people
    assert docs.quantities(JAZZ)[STANDARD] == 249
    assert docs.state()["orders"][-1]["participantId"] is None


def test_whole_float_quantities_are_accepted_and_stored_as_integers(docs: Fake) -> None:
    r = docs.api.post(
        "/tickets/create",
        content=b'{"eventId":"%s","tickets":[{"ticket_id":"%s","quantity":2.0}]}'
        % (JAZZ.encode(), VIP.encode()),
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["tickets"][0]["quantity"] == 2
    assert b'"quantity":2}' in r.content or b'"quantity":2,' in r.content
    quantity = docs.quantities(JAZZ)[VIP]
    assert quantity == 98
    assert type(quantity) is int
    assert docs.state()["orders"][-1]["lines"][0]["quantity"] == 2
    assert type(docs.app.state.store.event_by_id(JAZZ).tickets[0].quantity) is int
    r = docs.buy({"eventId": JAZZ, "tickets": [{"ticket_id": VIP, "quantity": 2.5}]})
    assert r.status_code == 400
    assert r.json()["field"] == "body.tickets[0].quantity"
    assert docs.quantities(JAZZ)[VIP] == 98


def test_each_purchase_is_an_order_in_the_export(docs: Fake) -> None:
    assert docs.state()["orders"] == []
    r = docs.buy(
        {
            "eventId": JAZZ,
            "tickets": [{"ticket_id": VIP, "quantity": 2}],
            "participant": {"participantId": JOHN},
        }
    )
    assert r.status_code == 200
    orders = docs.state()["orders"]
    assert len(orders) == 1
    assert orders[0]["lines"] == [{"ticketId": VIP, "name": "VIP", "quantity": 2}]
    assert orders[0]["participantId"] == JOHN


def test_the_organizer_token_is_needed_to_buy(docs: Fake) -> None:
    before = docs.state()
    body = {"eventId": JAZZ, "tickets": [{"ticket_id": VIP, "quantity": 1}]}
    r = docs.anon.post("/tickets/create", json=body)
    assert r.status_code == 401
    assert docs.state() == before
    assert docs.buy(body, token=TOKEN).status_code == 200
