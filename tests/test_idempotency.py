"""Idempotency-Key on Create Tickets (our extension): replay, conflict, scope, expiry."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from mockserver import Settings, create_app
from mockserver.spec import load_spec
from mockserver.testing import serve_in_thread

from .conftest import API, DOCS_FIXTURE, JAZZ, JOHN, TOKEN, VIP, Fake, FakeFactory, bearer

PURCHASE = {"eventId": JAZZ, "tickets": [{"ticket_id": VIP, "quantity": 2}],
            "participant": {"participantId": JOHN}}  # fmt: skip


def buy(
    fake: Fake, body: Any, key: str | None, client: httpx.Client | None = None
) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key is not None else {}
    return (client or fake.api).post("/tickets/create", json=body, headers=headers)


def test_a_retry_with_the_same_key_replays_the_first_answer_and_buys_once(docs: Fake) -> None:
    left = docs.quantities(JAZZ)[VIP]
    first = buy(docs, PURCHASE, "order-1")
    assert first.status_code == 200
    assert "Idempotent-Replayed" not in first.headers
    after_first = docs.state()
    again = buy(docs, PURCHASE, "order-1")
    assert again.status_code == 200
    assert again.content == first.content
    assert again.headers["Idempotent-Replayed"] == "true"
    assert docs.state() == after_first
    assert docs.quantities(JAZZ)[VIP] == left - 2
    assert [e["replayed"] for e in docs.control.get("/_mock/journal").json()["entries"]] == [
        False, True,
    ]  # fmt: skip


def test_the_same_body_written_differently_is_the_same_body(docs: Fake) -> None:
    first = buy(docs, PURCHASE, "order-1")
    reordered = (
        f'{{"participant":{{"participantId":"{JOHN}"}},  '
        f'"tickets":[{{"quantity":2,"ticket_id":"{VIP}"}}],"eventId":"{JAZZ}"}}'
    ).encode()
    again = docs.api.post("/tickets/create", content=reordered,
                          headers={"Idempotency-Key": "order-1",
                                   "Content-Type": "application/json"})  # fmt: skip
    assert again.status_code == 200
    assert again.content == first.content


def test_the_same_key_with_another_body_is_a_409_and_buys_nothing(docs: Fake) -> None:
    assert buy(docs, PURCHASE, "order-1").status_code == 200
    before = docs.state()
    other = {**PURCHASE, "tickets": [{"ticket_id": VIP, "quantity": 1}]}
    r = buy(docs, other, "order-1")
    assert r.status_code == 409
    body = r.json()
    assert (body["success"], body["code"], body["field"]) == (
        False, "IDEMPOTENCY_KEY_REUSED", "header.Idempotency-Key",
    )  # fmt: skip
    assert "order-1" in body["message"]
    assert docs.state() == before


def test_without_a_key_every_post_is_a_new_purchase(docs: Fake) -> None:
    left = docs.quantities(JAZZ)[VIP]
    assert buy(docs, PURCHASE, None).status_code == 200
    assert buy(docs, PURCHASE, None).status_code == 200
    assert docs.quantities(JAZZ)[VIP] == left - 4


def test_different_keys_are_different_purchases(docs: Fake) -> None:
    left = docs.quantities(JAZZ)[VIP]
    assert buy(docs, PURCHASE, "a").status_code == 200
    assert buy(docs, PURCHASE, "b").status_code == 200
    assert docs.quantities(JAZZ)[VIP] == left - 4


def test_keys_are_scoped_per_token(make_fake: FakeFactory) -> None:
    fake = make_fake(seed=5)
    orders = []
    for client in (fake.api, fake.api2):
        event = client.get("/events").json()["events"][0]["id"]
        ticket = next(t for t in client.get("/tickets", params={"eventId": event}).json()[
            "tickets"] if t["quantity"] > 0)  # fmt: skip
        body = {"eventId": event, "tickets": [{"ticket_id": ticket["id"], "quantity": 1}]}
        r = buy(fake, body, "shared-key", client)
        assert r.status_code == 200
        assert "Idempotent-Replayed" not in r.headers
        orders.append(r.json())
    assert len(fake.app.state.store.orders) == 2
    assert orders[0] != orders[1]


def test_an_error_answer_is_replayed_too(docs: Fake) -> None:
    too_many = {"eventId": JAZZ, "tickets": [{"ticket_id": VIP, "quantity": 1000}]}
    first = buy(docs, too_many, "big")
    assert first.status_code == 409
    assert first.json()["code"] == "NOT_ENOUGH_TICKETS"
    again = buy(docs, too_many, "big")
    assert (again.status_code, again.content) == (409, first.content)
    assert again.headers["Idempotent-Replayed"] == "true"


def test_a_request_refused_before_the_purchase_does_not_use_up_the_key(docs: Fake) -> None:
    invalid = {"eventId": JAZZ, "tickets": []}
    assert buy(docs, invalid, "k").status_code == 400
    assert buy(docs, PURCHASE, "k").status_code == 200


@pytest.mark.parametrize("key", ["", "has space", "é", "x" * 256])
def test_a_malformed_key_is_a_400(docs: Fake, key: str) -> None:
    before = docs.state()
    r = docs.api.post("/tickets/create", json=PURCHASE,
                      headers={"Idempotency-Key": key.encode()})  # fmt: skip
    assert r.status_code == 400
    assert r.json()["code"] == "VALIDATION_ERROR"
    assert r.json()["field"] == "header.Idempotency-Key"
    assert docs.state() == before


def test_keys_expire_after_a_day_of_the_fakes_clock(docs: Fake) -> None:
    assert buy(docs, PURCHASE, "order-1").status_code == 200
    docs.app.state.store.clock.advance(timedelta(hours=23))
    anonymous = {"eventId": JAZZ, "tickets": PURCHASE["tickets"]}
    assert buy(docs, anonymous, "order-1").status_code == 409
    docs.app.state.store.clock.advance(timedelta(hours=2))
    r = buy(docs, anonymous, "order-1")
    assert r.status_code == 200
    assert "Idempotent-Replayed" not in r.headers


def test_reset_forgets_the_keys(docs: Fake) -> None:
    assert buy(docs, PURCHASE, "order-1").status_code == 200
    docs.control.post("/_mock/reset")
    r = buy(docs, PURCHASE, "order-1")
    assert r.status_code == 200
    assert "Idempotent-Replayed" not in r.headers


@pytest.fixture
def losing_server() -> Iterator[tuple[str, Any]]:
    # The first purchase goes through, and its answer is lost on the way back.
    app = create_app(Settings(fixtures=DOCS_FIXTURE, faults="createTickets:drop=after,times=1"))
    with serve_in_thread(app) as root:
        yield root + API, app


def test_a_lost_answer_retried_with_its_key_buys_once(losing_server: tuple[str, Any]) -> None:
    base, app = losing_server
    store = app.state.store
    left = next(t.quantity for e in store.events for t in e.tickets if t.id == VIP)
    with httpx.Client(base_url=base, headers=bearer(TOKEN)) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            client.post("/tickets/create", json=PURCHASE, headers={"Idempotency-Key": "k-1"})
        retry = client.post("/tickets/create", json=PURCHASE, headers={"Idempotency-Key": "k-1"})
    assert retry.status_code == 200
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert len(store.orders) == 1
    assert next(t.quantity for e in store.events for t in e.tickets if t.id == VIP) == left - 2
    assert retry.json()["tickets"][0]["quantity"] == 2


def test_the_spec_documents_the_header_as_ours() -> None:
    op = load_spec().operation("createTickets")
    (param,) = [p for p in op.parameters if p.location == "header"]
    assert (param.name, param.required) == ("Idempotency-Key", False)
    assumptions = op.raw["x-goevent-assumption"]
    (ours,) = [a["text"] for a in assumptions if a["key"] == "idempotency-key"]
    assert ours.endswith("(ours)")
    assert "IDEMPOTENCY_KEY_REUSED" in ours
    examples = op.responses["409"]["content"]["application/json"]["examples"]
    assert examples["idempotencyKeyReused"]["value"]["code"] == "IDEMPOTENCY_KEY_REUSED"
