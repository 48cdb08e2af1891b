"""Events with a million participants: computed on demand, paged exactly, found by id.

Above ``EAGER_MAX`` participants per event the generator stops building objects
(store/participants.py); these tests hold that version to the same contract as
the small data sets: the same seed gives the same bytes, pages are in
(created, id) order with no duplicates or gaps, purchases find participants by
id, and new participants take their place among the generated ones.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from mockserver import Settings, create_app
from mockserver.store import NewParticipant, Sizes, Store, dataset_from_json, dataset_to_json
from mockserver.store.generate import EAGER_MAX, generate
from mockserver.store.ids import format_date, object_id_time
from mockserver.store.participants import (
    MAX_GENERATED,
    GeneratedParticipants,
    Roster,
    participant_key,
)
from mockserver.testing import asgi_client

from .conftest import Fake, FakeFactory, bearer

MILLION = 1_000_000


def big_sizes(participants: int) -> Sizes:
    return Sizes(organizers=1, events_per_organizer=1, participants_per_event=participants)


@pytest.fixture
def million(make_fake: FakeFactory) -> Fake:
    return make_fake(organizers=1, events_per_organizer=1, participants_per_event=MILLION)


def only_event(fake: Fake) -> str:
    r = fake.api.get("/events")
    assert r.status_code == 200, r.text
    event_id: str = r.json()["events"][0]["id"]
    return event_id


def page(fake: Fake, event_id: str, number: int, limit: int = 20) -> dict[str, Any]:
    r = fake.api.get("/participants", params={"eventId": event_id, "page": number, "limit": limit})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_the_default_data_set_still_holds_its_participants_as_objects() -> None:
    dataset = generate(42, Sizes(), ["t", "t-2"])
    assert all(type(e.participants) is list for e in dataset.events)
    assert all(len(e.participants) == 30 for e in dataset.events)
    at_limit = generate(42, big_sizes(EAGER_MAX), ["t"])
    assert type(at_limit.events[0].participants) is list
    above = generate(42, big_sizes(EAGER_MAX + 1), ["t"])
    assert isinstance(above.events[0].participants, GeneratedParticipants)
    assert len(above.events[0].participants) == EAGER_MAX + 1


def test_a_million_participants_page_from_first_to_last(million: Fake) -> None:
    event_id = only_event(million)
    first = page(million, event_id, 1)
    assert len(first["participants"]) == 20
    assert first["paginate"] == {"hasNextPage": True, "nextPage": 2}
    last = page(million, event_id, MILLION // 20)
    assert len(last["participants"]) == 20
    assert last["paginate"] == {"hasNextPage": False, "nextPage": None}
    beyond = page(million, event_id, MILLION // 20 + 1)
    assert beyond == {"participants": [], "paginate": {"hasNextPage": False, "nextPage": None}}
    odd = page(million, event_id, MILLION // 7 + 1, limit=7)  # 1,000,000 = 7·142,857 + 1
    assert len(odd["participants"]) == 1
    assert odd["paginate"]["hasNextPage"] is False
    # Consecutive pages join up in (created, id) order, at the start and at the end.
    for a, b in ((1, 2), (MILLION // 20 - 1, MILLION // 20)):
        people = (
            page(million, event_id, a)["participants"] + page(million, event_id, b)["participants"]
        )
        keys = [(p["created"], p["id"]) for p in people]
        assert keys == sorted(keys)
        assert len({p["id"] for p in people}) == 40


def test_the_same_seed_gives_the_same_bytes_for_a_million_participants() -> None:
    answers = []
    for _ in range(2):
        app = create_app(Settings(seed=5, organizers=1, events_per_organizer=1,
                                  participants_per_event=MILLION))  # fmt: skip
        with asgi_client(
            app, "http://fake/developers/v1.0", headers=bearer("goevent-dev-token")
        ) as c:
            event_id = c.get("/events").json()["events"][0]["id"]
            answers.append(
                [
                    c.get("/participants", params={"eventId": event_id, "page": n}).content
                    for n in (1, 31_337, MILLION // 20)
                ]
            )
    assert answers[0] == answers[1]
    other = generate(6, big_sizes(MILLION), ["t"]).events[0].participants
    same = generate(5, big_sizes(MILLION), ["t"]).events[0].participants
    assert [p.email for p in other[:20]] != [p.email for p in same[:20]]


def test_generated_participants_are_in_created_then_id_order() -> None:
    people = generate(3, big_sizes(MILLION), ["t"]).events[0].participants
    assert isinstance(people, GeneratedParticipants)
    for chunk in (people[:3000], people[MILLION // 2 : MILLION // 2 + 3000], people[-3000:]):
        keys = [participant_key(p) for p in chunk]
        assert keys == sorted(keys)
        assert len(set(keys)) == len(keys)
    # Each participant joined between its event's creation and its start.
    event = generate(3, big_sizes(MILLION), ["t"]).events[0]
    created = object_id_time(event.id)
    assert created <= people[0].created
    assert people[-1].created <= event.date_start
    # Ids carry the creation second, as every ObjectId of the fake does.
    for p in (people[0], people[123_456], people[-1]):
        assert object_id_time(p.id) == p.created.replace(microsecond=0)
        assert format_date(p.created).endswith("Z")


def test_participants_are_found_by_id_and_forged_ids_are_not() -> None:
    people = generate(9, big_sizes(MILLION), ["t"]).events[0].participants
    assert isinstance(people, GeneratedParticipants)
    for index in (0, 1, 500_000, MILLION - 1):
        person = people[index]
        assert people.find(person.id) == person
        assert person.id.endswith(f"{index:06x}")
    real = people[77].id
    forged = [
        real[:-6] + f"{MILLION:06x}",  # an index past the end
        real[:-6] + f"{78:06x}",  # participant 78's index under 77's date
        f"{int(real[:8], 16) + 1:08x}" + real[8:],  # another second
        real[:8] + "ffffffffff" + real[18:],  # another event's tag
        real[:-1] + "g",
        real[:23],
    ]
    for bad in forged:
        assert people.find(bad) is None, bad


def test_a_purchase_finds_a_generated_participant_by_id(million: Fake) -> None:
    event_id = only_event(million)
    holder = page(million, event_id, MILLION // 20)["participants"][-1]
    tickets = million.api.get("/tickets", params={"eventId": event_id}).json()["tickets"]
    ticket = next(t for t in tickets if t["quantity"] > 0)
    r = million.buy({"eventId": event_id, "tickets": [{"ticket_id": ticket["id"], "quantity": 1}],
                     "participant": {"participantId": holder["id"]}})  # fmt: skip
    assert r.status_code == 200, r.text
    bought = r.json()["participant"]
    assert bought == {k: holder[k] for k in bought}
    after = million.api.get("/tickets", params={"eventId": event_id}).json()["tickets"]
    assert next(t for t in after if t["id"] == ticket["id"])["quantity"] == ticket["quantity"] - 1
    # An id that only looks like one of theirs is "not found", and sells nothing.
    forged = holder["id"][:-6] + f"{MILLION:06x}"
    r = million.buy({"eventId": event_id, "tickets": [{"ticket_id": ticket["id"], "quantity": 1}],
                     "participant": {"participantId": forged}})  # fmt: skip
    assert r.status_code == 404, r.text
    again = million.api.get("/tickets", params={"eventId": event_id}).json()["tickets"]
    assert again == after


def test_new_participants_take_their_place_among_generated_ones() -> None:
    """Pages stay exact when purchases add participants before, among and after
    the generated ones: every participant once, in (created, id) order."""
    count = EAGER_MAX + 37
    store = Store(lambda: generate(13, big_sizes(count), ["t"]))
    organizer, event = store.organizers[0], store.events[0]
    base = event.participants
    assert isinstance(base, Roster)
    assert isinstance(base.base, GeneratedParticipants)
    generated = list(base.base)
    ticket = event.tickets[0]
    ticket.quantity = 100
    moments = [
        generated[0].created - timedelta(days=1),  # before everyone
        generated[0].created,  # the same date as the first: ordered by id
        generated[500].created + timedelta(milliseconds=1),
        generated[500].created + timedelta(milliseconds=1),  # two at the same date
        generated[-1].created,
        generated[-1].created + timedelta(days=3),  # after everyone
    ]
    added = []
    for n, moment in enumerate(moments):
        store.clock.freeze(moment)
        person = NewParticipant("Added", f"N{n}", f"n{n}@example.com", "+33100000000")
        purchase = store.create_tickets(organizer, event.id, [(ticket.id, 1)], person)
        assert purchase.participant is not None
        added.append(purchase.participant)
    expected = sorted(generated + added, key=participant_key)
    for limit in (1, 7, 20, 100):
        seen = []
        number = 1
        while True:
            result = store.list_participants(organizer, event.id, number, limit)
            seen += result.items
            if not result.has_next_page:
                break
            assert result.next_page == number + 1
            number += 1
        assert [p.id for p in seen] == [p.id for p in expected]
    assert list(base) == expected
    for person in added:
        assert store.get_participant(person.id) is person
    # A reset forgets them; the generated ones are back, unchanged.
    store.reset()
    assert [p.id for p in store.events[0].participants] == [p.id for p in generated]


def test_the_export_holds_every_participant_and_loads_back_the_same() -> None:
    store = Store(lambda: generate(21, big_sizes(EAGER_MAX + 5), ["t"]))
    organizer, event = store.organizers[0], store.events[0]
    event.tickets[0].quantity = 10
    store.create_tickets(organizer, event.id, [(event.tickets[0].id, 1)],
                         NewParticipant("Late", "Comer", "late@example.com", "+331"))  # fmt: skip
    exported = dataset_to_json(store.dataset())
    people = exported["events"][0]["participants"]
    assert len(people) == EAGER_MAX + 6
    assert [(p["created"], p["id"]) for p in people] == sorted(
        (p["created"], p["id"]) for p in people
    )
    reloaded = Store(lambda: dataset_from_json(exported))
    for number in (1, 2, (EAGER_MAX + 6) // 20 + 1):
        a = store.list_participants(organizer, event.id, number, 20).items
        b = reloaded.list_participants(reloaded.organizers[0], event.id, number, 20).items
        assert a == b


def test_more_generated_participants_than_ids_can_number_is_refused() -> None:
    with pytest.raises(ValueError, match="at most 16,777,215 generated participants"):
        generate(1, big_sizes(MAX_GENERATED + 1), ["t"])
