"""The fake's settable clock: frozen, moved, released; new participants and ticket links follow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from mockserver.store import Clock

from .conftest import JAZZ, VIP, Fake, new_person


def clock(fake: Fake, **body: Any) -> dict[str, Any]:
    r = fake.control.post("/_mock/clock", json=body) if body else fake.control.get("/_mock/clock")
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


def buy_for_new_person(docs: Fake) -> dict[str, Any]:
    r = docs.buy({"eventId": JAZZ, "tickets": [{"ticket_id": VIP, "quantity": 1}],
                  "participant": new_person()})  # fmt: skip
    assert r.status_code == 200, r.text
    bought: dict[str, Any] = r.json()
    return bought


def listed(docs: Fake, participant_id: str) -> dict[str, Any]:
    found = [p for p in docs.all_pages("/participants", "participants", 100, eventId=JAZZ)
             if p["id"] == participant_id]  # fmt: skip
    assert len(found) == 1
    return found[0]


def test_the_clock_is_the_wall_clock_by_default(docs: Fake) -> None:
    state = clock(docs)
    assert (state["frozen"], state["offsetSeconds"], state["sandbox"]) == (False, 0.0, None)
    now = datetime.fromisoformat(state["now"].replace("Z", "+00:00"))
    assert abs((now - datetime.now(UTC)).total_seconds()) < 60


def test_a_new_participant_is_created_at_the_frozen_time(docs: Fake) -> None:
    state = clock(docs, freeze="2025-03-04T05:06:07.890Z")
    assert (state["now"], state["frozen"]) == ("2025-03-04T05:06:07.890Z", True)
    bought = buy_for_new_person(docs)
    assert listed(docs, bought["participant"]["id"])["created"] == "2025-03-04T05:06:07.890Z"
    # The participant's ObjectId carries the same time, as MongoDB's do.
    assert int(bought["participant"]["id"][:8], 16) == int(
        datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC).timestamp()
    )


def test_advance_moves_a_frozen_clock(docs: Fake) -> None:
    clock(docs, freeze="2025-03-04T00:00:00Z")
    assert clock(docs, advance=3600)["now"] == "2025-03-04T01:00:00.000Z"
    assert clock(docs, advance=-1800.5)["now"] == "2025-03-04T00:29:59.500Z"
    bought = buy_for_new_person(docs)
    assert listed(docs, bought["participant"]["id"])["created"] == "2025-03-04T00:29:59.500Z"


def test_advance_shifts_a_running_clock_and_unfreeze_returns_to_the_wall(docs: Fake) -> None:
    state = clock(docs, advance=86400)
    assert (state["frozen"], state["offsetSeconds"]) == (False, 86400.0)
    shifted = datetime.fromisoformat(state["now"].replace("Z", "+00:00"))
    assert abs((shifted - datetime.now(UTC) - timedelta(days=1)).total_seconds()) < 60
    clock(docs, freeze=True)
    state = clock(docs, unfreeze=True)
    assert (state["frozen"], state["offsetSeconds"]) == (False, 0.0)


def test_ticket_links_expire_on_the_fakes_clock(docs: Fake) -> None:
    clock(docs, freeze="2025-03-04T00:00:00Z")
    url = buy_for_new_person(docs)["tickets"][0]["url"]
    expires = int(parse_qs(urlsplit(url).query)["expires"][0])
    assert expires == int(datetime(2025, 3, 11, tzinfo=UTC).timestamp())
    clock(docs, advance=7 * 86400)
    assert docs.control.get(url).status_code == 200  # the last second of its week
    clock(docs, advance=1)
    r = docs.control.get(url)
    assert r.status_code == 403
    assert (r.json()["success"], r.json()["code"]) == (False, "FORBIDDEN")
    assert r.json()["message"] == (
        "the ticket link expired at 2025-03-11T00:00:00.000Z; ask for the ticket again"
    )


def test_reset_releases_the_clock(docs: Fake) -> None:
    clock(docs, freeze="2025-03-04T00:00:00Z")
    docs.control.post("/_mock/reset")
    assert clock(docs)["frozen"] is False


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body"),
        ({"freeze": "2025-03-04"}, "body.freeze"),
        ({"freeze": "2025-03-04T00:00:00"}, "body.freeze"),
        ({"freeze": "yesterday"}, "body.freeze"),
        ({"freeze": 1735689600}, "body.freeze"),
        ({"advance": "1h"}, "body.advance"),
        ({"advance": True}, "body.advance"),
        ({"advance": 1e300}, "body.advance"),
        ({"unfreeze": False}, "body.unfreeze"),
        ({"rewind": 3}, "body.rewind"),
        ({"freeze": "1969-12-31T23:59:59Z"}, "body"),
        ({"freeze": "2999-12-31T00:00:00Z", "advance": 86400 * 2}, "body"),
    ],
)
def test_a_bad_clock_change_is_a_400_and_changes_nothing(
    docs: Fake, body: dict[str, Any], field: str
) -> None:
    before = clock(docs, freeze="2025-03-04T00:00:00Z")
    r = docs.control.post("/_mock/clock", json=body)
    assert r.status_code == 400
    assert (r.json()["success"], r.json()["code"], r.json()["field"]) == (
        False, "VALIDATION_ERROR", field,
    )  # fmt: skip
    assert clock(docs) == before


def test_a_body_that_is_not_json_is_a_400(docs: Fake) -> None:
    r = docs.control.post("/_mock/clock", content=b"{nope")
    assert (r.status_code, r.json()["code"]) == (400, "INVALID_JSON")


def test_the_clock_object() -> None:
    c = Clock()
    c.freeze(datetime(2025, 1, 1, tzinfo=UTC))
    c.advance(timedelta(minutes=5))
    assert c.now() == datetime(2025, 1, 1, 0, 5, tzinfo=UTC)
    assert c.describe() == {"now": "2025-01-01T00:05:00.000Z", "frozen": True, "offsetSeconds": 0.0}
    c.unfreeze()
    assert abs((c.now() - datetime.now(UTC)).total_seconds()) < 60
