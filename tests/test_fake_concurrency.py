"""Simultaneous purchases over a real socket never oversell, and the
participant list holds exactly the buyers who were answered 200."""

from __future__ import annotations

import http.client
import json
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import httpx

from .conftest import TEST_FIXTURES, Live, bearer, load_json

FIXTURE = load_json(TEST_FIXTURES / "fifty-left.json")
EVENT = "650000000000000000000010"
STANDARD = "650000000000000000000011"  # 50 left
VIP = "650000000000000000000012"  # 3 left
HEADERS = {**bearer("race-token"), "Content-Type": "application/json"}


def buyer(n: int) -> dict[str, str]:
    return {
        "last_name": "Racer",
        "first_name": f"Buyer{n}",
        "email": f"racer{n}@race.example",
        "phone": "+33700000000",
    }


def _race(api: str, bodies: list[dict[str, Any]]) -> list[tuple[int, Any]]:
    """POST every body at once, each on its own connection; (status, JSON body) in order.

    One thread per buyer, released together by a barrier. The stdlib client is used
    because httpx's connection pool takes seconds to open 200 connections at once.
    """
    url = urlsplit(api)
    start = threading.Barrier(len(bodies))

    def post(body: dict[str, Any]) -> tuple[int, Any]:
        connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=60)
        try:
            payload = json.dumps(body)
            start.wait()
            connection.request("POST", url.path + "/tickets/create", payload, HEADERS)
            response = connection.getresponse()
            return response.status, json.loads(response.read())
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(post, bodies))


def listed(live: Live) -> list[dict[str, Any]]:
    r = httpx.get(
        live.api + "/participants",
        params={"eventId": EVENT, "limit": 100},
        headers=HEADERS,
    )
    assert r.status_code == 200
    assert r.json()["paginate"]["hasNextPage"] is False
    people: list[dict[str, Any]] = r.json()["participants"]
    return people


def quantities(live: Live) -> dict[str, int]:
    r = httpx.get(live.api + "/tickets", params={"eventId": EVENT}, headers=HEADERS)
    return {t["id"]: t["quantity"] for t in r.json()["tickets"]}


def test_200_simultaneous_buyers_of_50_tickets_exactly_50_get_one(live: Live) -> None:
    live.load(FIXTURE)
    bodies = [
        {
            "eventId": EVENT,
            "tickets": [{"ticket_id": STANDARD, "quantity": 1}],
            "participant": buyer(n),
        }
        for n in range(200)
    ]
    responses = _race(live.api, bodies)

    statuses = Counter(status for status, _ in responses)
    assert statuses == {200: 50, 409: 150}
    won = [answer for status, answer in responses if status == 200]
    for status, answer in responses:
        if status == 409:
            assert answer["code"] == "NOT_ENOUGH_TICKETS"
            assert answer["success"] is False
    assert quantities(live) == {STANDARD: 0, VIP: 3}
    r = httpx.get(live.api + "/tickets", params={"eventId": EVENT}, headers=HEADERS)
    assert r.json()["tickets"][0]["available"] is False

    winners = {
        body["participant"]["email"]
        for body, (status, _) in zip(bodies, responses, strict=True)
        if status == 200
    }
    assert {answer["participant"]["email"] for answer in won} == winners
    people = listed(live)
    assert len(people) == 50
    assert {p["email"] for p in people} == winners
    assert {p["id"] for p in people} == {answer["participant"]["id"] for answer in won}
    state = httpx.get(live.root + "/_mock/state").json()
    assert len(state["orders"]) == 50
    assert sum(line["quantity"] for o in state["orders"] for line in o["lines"]) == 50
    # Every order's ticket link is distinct.
    urls = [answer["tickets"][0]["url"] for answer in won]
    assert len(set(urls)) == 50


def test_simultaneous_two_line_purchases_stay_atomic(live: Live) -> None:
    """VIP has 3 left: 20 threads buy 1 Standard + 1 VIP; exactly 3 succeed, whole."""
    live.load(FIXTURE)
    body = {
        "eventId": EVENT,
        "tickets": [{"ticket_id": STANDARD, "quantity": 1}, {"ticket_id": VIP, "quantity": 1}],
    }
    with httpx.Client(base_url=live.api, headers=HEADERS, timeout=60) as client:

        def buy(_: int) -> int:
            return client.post("/tickets/create", json=body).status_code

        with ThreadPoolExecutor(max_workers=20) as pool:
            statuses = Counter(pool.map(buy, range(20)))
    assert statuses == {200: 3, 409: 17}
    assert quantities(live) == {STANDARD: 47, VIP: 0}
    assert listed(live) == []


def test_readers_during_a_sell_out_never_see_an_older_quantity(live: Live) -> None:
    """Reads are answered from kept bytes until the store changes: 4 readers polling
    GET /tickets while 60 buyers race for 50 seats each see the quantity only go down,
    and the last read after the race says 0, as the state does."""
    live.load(FIXTURE)
    done = threading.Event()
    seen: list[list[int]] = [[] for _ in range(4)]

    def read(n: int) -> None:
        with httpx.Client(base_url=live.api, headers=HEADERS, timeout=60) as client:
            while True:
                last = done.is_set()  # set once every purchase was answered
                r = client.get("/tickets", params={"eventId": EVENT})
                assert r.status_code == 200
                left = {t["id"]: t["quantity"] for t in r.json()["tickets"]}
                seen[n].append(left[STANDARD])
                if last:  # this read began after the race: it must say 0
                    return

    readers = [threading.Thread(target=read, args=(n,)) for n in range(4)]
    for thread in readers:
        thread.start()
    body = {"eventId": EVENT, "tickets": [{"ticket_id": STANDARD, "quantity": 1}]}
    try:
        statuses = Counter(status for status, _ in _race(live.api, [body] * 60))
    finally:
        done.set()
        for thread in readers:
            thread.join(60)
    assert statuses == {200: 50, 409: 10}
    for quantities_seen in seen:
        assert quantities_seen, "a reader read nothing"
        assert quantities_seen == sorted(quantities_seen, reverse=True)  # never back up
        assert quantities_seen[-1] == 0
    assert quantities(live) == {STANDARD: 0, VIP: 3}
