"""The reads' answers are kept until the store changes (``mockserver/http/answers.py``):
a second identical GET is served without rendering, and every write, reset, fixture load
and sandbox sees its own, current answer."""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any

import pytest

from mockserver.http.answers import MAX_ANSWER_BYTES, MAX_KEY_BYTES, Answers
from mockserver.http.state import fake_state
from mockserver.store import Dataset, Sizes, Store, generate

from .conftest import CLUB, CLUB_VIP, TOKEN, Fake, bearer, first_event, new_person


def count_renders(fake: Fake, name: str) -> list[int]:
    """Count the calls of the renderer's ``name`` (the work an answer kept skips)."""
    renderer = fake_state(fake.app).renderer
    real: Callable[..., bytes] = getattr(renderer, name)
    calls = [0]

    def counting(*args: Any) -> bytes:
        calls[0] += 1
        return real(*args)

    setattr(renderer, name, counting)
    return calls


def test_the_same_read_is_answered_again_without_rendering(docs: Fake) -> None:
    renders = count_renders(docs, "list_events")
    first = docs.api.get("/events", params={"limit": 20})
    again = docs.api.get("/events", params={"limit": 20})
    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert again.headers["content-length"] == str(len(first.content))
    assert renders == [1]
    # Another query is another answer.
    other = docs.api.get("/events", params={"limit": 1})
    assert other.status_code == 200
    assert len(other.json()["events"]) == 1
    assert renders == [2]
    # Both requests are in the journal: step 6 runs for a kept answer too.
    listed = docs.control.get("/_mock/journal", params={"operation": "listEvents"}).json()
    assert [e["status"] for e in listed["entries"]] == [200, 200, 200]


def test_a_purchase_is_seen_by_the_next_read(docs: Fake) -> None:
    before = docs.api.get("/tickets", params={"eventId": CLUB}).json()["tickets"]
    people = docs.api.get("/participants", params={"eventId": CLUB, "limit": 100}).json()
    event = docs.api.get(f"/event/{CLUB}").json()
    bought = docs.buy({"eventId": CLUB, "tickets": [{"ticket_id": CLUB_VIP, "quantity": 2}],
                       "participant": new_person()})  # fmt: skip
    assert bought.status_code == 200, bought.text
    after = docs.api.get("/tickets", params={"eventId": CLUB}).json()["tickets"]
    left = {t["id"]: t["quantity"] for t in after}
    assert left[CLUB_VIP] == {t["id"]: t["quantity"] for t in before}[CLUB_VIP] - 2
    assert left == docs.quantities(CLUB)
    people_after = docs.api.get("/participants", params={"eventId": CLUB, "limit": 100}).json()
    assert len(people_after["participants"]) == len(people["participants"]) + 1
    assert people_after["participants"][-1]["id"] == bought.json()["participant"]["id"]
    event_after = docs.api.get(f"/event/{CLUB}").json()
    assert event_after != event
    assert {t["id"]: t["quantity"] for t in event_after["tickets"]} == left


def test_a_reset_and_a_fixture_load_are_seen_by_the_next_read(fake: Fake) -> None:
    event = first_event(fake)
    tickets = fake.api.get("/tickets", params={"eventId": event["id"]}).json()["tickets"]
    ticket = next(t for t in tickets if t["quantity"] > 0)
    assert fake.buy({"eventId": event["id"], "tickets": [{"ticket_id": ticket["id"],
                     "quantity": 1}]}).status_code == 200  # fmt: skip
    sold = fake.api.get("/tickets", params={"eventId": event["id"]}).json()["tickets"]
    assert sold != tickets
    assert fake.control.post("/_mock/reset").status_code == 200
    assert fake.api.get("/tickets", params={"eventId": event["id"]}).json()["tickets"] == tickets
    # A fixture with one ticket less: the same path answers the fixture's data.
    state = fake.state()
    for record in state["events"]:
        if record["id"] == event["id"]:
            next(t for t in record["tickets"] if t["id"] == ticket["id"])["quantity"] -= 1
    assert fake.control.post("/_mock/fixtures", json=state).status_code == 200
    loaded = fake.api.get("/tickets", params={"eventId": event["id"]}).json()["tickets"]
    assert loaded == sold


def test_each_organizer_and_each_sandbox_reads_its_own_answer(fake: Fake) -> None:
    mine = fake.api.get("/events", params={"limit": 5})
    theirs = fake.api2.get("/events", params={"limit": 5})
    assert mine.status_code == theirs.status_code == 200
    assert {e["id"] for e in mine.json()["events"]}.isdisjoint(
        e["id"] for e in theirs.json()["events"]
    )
    sandbox = "sandbox-answers-a"
    boxed = fake.anon.get("/events", params={"limit": 5}, headers=bearer(sandbox))
    assert boxed.status_code == 200
    assert boxed.content != mine.content  # its own organizer and events
    # A purchase in the sandbox changes the sandbox's reads, not the default box's.
    event_id = boxed.json()["events"][0]["id"]
    tickets = fake.anon.get("/tickets", params={"eventId": event_id}, headers=bearer(sandbox))
    ticket = next(t for t in tickets.json()["tickets"] if t["quantity"] > 0)
    default_event = first_event(fake)
    default_tickets = fake.api.get("/tickets", params={"eventId": default_event["id"]}).content
    bought = fake.anon.post("/tickets/create", headers=bearer(sandbox), json={
        "eventId": event_id, "tickets": [{"ticket_id": ticket["id"], "quantity": 1}]})  # fmt: skip
    assert bought.status_code == 200, bought.text
    after = fake.anon.get("/tickets", params={"eventId": event_id}, headers=bearer(sandbox))
    left = {t["id"]: t["quantity"] for t in after.json()["tickets"]}
    assert left[ticket["id"]] == ticket["quantity"] - 1
    assert fake.api.get("/tickets", params={"eventId": default_event["id"]}).content == (
        default_tickets
    )


def test_errors_are_not_kept(docs: Fake) -> None:
    renders = count_renders(docs, "get_event")
    for _ in range(2):
        missing = docs.api.get("/event/0123456789abcdef01234567")
        assert missing.status_code == 404
        assert missing.json()["success"] is False
    assert docs.api.get(f"/event/{CLUB}").status_code == 200
    assert docs.api.get(f"/event/{CLUB}").status_code == 200
    assert renders == [1]
    assert len(fake_state(docs.app).answers) == 1
    wrong = docs.api.get("/events", params={"limit": "many"})
    assert wrong.status_code == 400
    assert len(fake_state(docs.app).answers) == 1


def test_answers_are_bounded_in_number_and_size(docs: Fake) -> None:
    answers = fake_state(docs.app).answers
    answers.max_answers = 3
    for limit in range(1, 8):
        assert docs.api.get("/events", params={"limit": limit}).status_code == 200
        assert 1 <= len(answers) <= 3
    store = fake_state(docs.app).store
    answers.keep(store, store.version, ("big",), b"x" * (MAX_ANSWER_BYTES + 1))
    assert answers.get(store, ("big",)) is None
    # A query padded with what the spec does not name is answered, and not kept.
    padded = "limit=3&pad=" + "x" * MAX_KEY_BYTES
    assert docs.api.get("/events?" + padded).status_code == 200
    organizer, path = store.organizers[0].id, "/developers/v1.0/events"
    assert answers.get(store, (organizer, path, padded.encode())) is None
    assert docs.api.get("/events", params={"limit": 8}).status_code == 200
    assert answers.get(store, (organizer, path, b"limit=8")) is not None
    answers.max_answers = 0  # keep none
    assert docs.api.get("/events", params={"limit": 9}).status_code == 200
    assert answers.get(store, (organizer, path, b"limit=9")) is None


@pytest.mark.parametrize("change", ["version", "store"])
def test_an_answer_is_never_served_for_another_version_or_store(change: str) -> None:
    answers = Answers()
    store = Store(small_dataset)
    answers.keep(store, store.version, ("k",), b"{}")
    assert answers.get(store, ("k",)) == b"{}"
    if change == "version":
        store.reset()  # a write: the version goes up
        assert answers.get(store, ("k",)) is None
    else:
        del store
        gc.collect()  # the store goes; its entry cannot be served to another
        other = Store(small_dataset)
        assert answers.get(other, ("k",)) is None


def small_dataset() -> Dataset:
    return generate(1, Sizes(1, 1, 1, 1), [TOKEN])


def test_the_dev_token_reads_through_the_kept_answers(fake: Fake) -> None:
    r = fake.anon.get("/events", headers=bearer(TOKEN))
    assert r.status_code == 200
    assert fake.anon.get("/events", headers=bearer(TOKEN)).content == r.content
    assert fake.anon.get("/events").status_code == 401  # no token: never a kept answer
