"""What a body or a query may hold, said whole: lines of one ticket type add up, an exact
repeat is refused; integers of any length are a 400; patterns match the whole value (no
trailing newline slips through); messages name every limit of the field."""

from __future__ import annotations

import orjson
import pytest

from mockserver import Settings, create_app
from mockserver.http.response_check import ResponseChecker
from mockserver.spec import load_spec
from mockserver.testing import asgi_client

from .conftest import (
    API,
    DOCS_FIXTURE,
    JAZZ,
    STANDARD,
    TOKEN,
    VIP,
    Fake,
    assert_refused,
    bearer,
    new_person,
)


def test_lines_naming_one_ticket_type_add_up(docs: Fake) -> None:
    before = docs.quantities(JAZZ)
    people = len(docs.participant_ids(JAZZ))
    lines = [
        {"ticket_id": VIP, "quantity": 1},
        {"ticket_id": STANDARD, "quantity": 1},
        {"ticket_id": VIP, "quantity": 2},
    ]
    r = docs.buy({"eventId": JAZZ, "tickets": lines, "participant": new_person()})
    assert r.status_code == 200, r.text
    issued = r.json()["tickets"]
    assert [(t["name"], t["quantity"]) for t in issued] == [("VIP", 1), ("Standard", 1), ("VIP", 2)]
    assert len({t["url"] for t in issued}) == 3
    assert docs.quantities(JAZZ) == {**before, VIP: before[VIP] - 3, STANDARD: before[STANDARD] - 1}
    assert len(docs.participant_ids(JAZZ)) == people + 1


def test_lines_that_add_up_to_more_than_is_left_sell_nothing(docs: Fake) -> None:
    left = docs.quantities(JAZZ)[VIP]  # 100 in the document's data
    before = docs.state()
    lines = [{"ticket_id": VIP, "quantity": left - 10}, {"ticket_id": VIP, "quantity": 11}]
    r = docs.buy({"eventId": JAZZ, "tickets": lines, "participant": new_person()})
    assert_refused(
        docs,
        r,
        before,
        status=409,
        code="NOT_ENOUGH_TICKETS",
        field="body.tickets[1].quantity",
        says=(f"has {left} left, {left + 1} asked for on 2 lines", "nothing was sold"),
    )


def test_the_same_line_twice_is_refused_by_the_schema(docs: Fake) -> None:
    before = docs.state()
    line = {"ticket_id": VIP, "quantity": 2}
    r = docs.buy({"eventId": JAZZ, "tickets": [{"ticket_id": STANDARD, "quantity": 1}, line, line]})
    assert_refused(
        docs, r, before, field="body.tickets[2]", says=("repeats body.tickets[1]", "must differ")
    )
    # 2 and 2.0 are the same JSON number: still the same line.
    r = docs.buy({"eventId": JAZZ, "tickets": [line, {"ticket_id": VIP, "quantity": 2.0}]})
    assert_refused(docs, r, before, field="body.tickets[1]", says=("repeats body.tickets[0]",))


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/events", {"page": "1" * 4301}, "query.page"),
        ("/events", {"limit": "9" * 5000}, "query.limit"),
        ("/events", {"page": "-" + "1" * 4400}, "query.page"),
        ("/events", {"page": "1" * 4301 + ".0"}, "query.page"),
        ("/participants", {"eventId": JAZZ, "page": "2" * 10000}, "query.page"),
        ("/participants", {"eventId": JAZZ, "limit": "0" * 4300 + "5"}, "query.limit"),
    ],
)
def test_integers_of_any_length_are_a_400(
    docs: Fake, path: str, params: dict[str, str], field: str
) -> None:
    before = docs.state()
    r = docs.api.get(path, params=params, headers=bearer(TOKEN))
    body = assert_refused(docs, r, before, field=field, says=("must be an integer between 1 and",))
    assert len(body["message"]) < 200  # the value is cut short, never echoed whole


@pytest.mark.parametrize(
    ("person", "field", "says"),
    [
        ({"last_name": "Doe\n"}, "body.participant.last_name", "without control characters"),
        ({"first_name": "John\n"}, "body.participant.first_name", "without control characters"),
        ({"email": "john@example.com\n"}, "body.participant.email", "an e-mail address"),
        ({"phone": "+1234567890\n"}, "body.participant.phone", "matching"),
    ],
)
def test_a_trailing_newline_does_not_pass_a_pattern(
    docs: Fake, person: dict[str, str], field: str, says: str
) -> None:
    before = docs.state()
    body = {"eventId": JAZZ, "tickets": [{"ticket_id": VIP, "quantity": 1}]}
    r = docs.buy({**body, "participant": new_person(**person)})
    assert_refused(docs, r, before, field=field, says=(says,))


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/tickets", {"eventId": JAZZ + "\n"}, "query.eventId"),
        (f"/event/{JAZZ}%0A", {}, "path.id"),
        ("/events", {"page": "2\n"}, "query.page"),
    ],
)
def test_a_trailing_newline_in_a_parameter_is_a_400(
    docs: Fake, path: str, params: dict[str, str], field: str
) -> None:
    before = docs.state()
    r = docs.api.get(path, params=params, headers=bearer(TOKEN))
    assert_refused(docs, r, before, field=field)


@pytest.mark.parametrize(
    ("person", "field", "says"),
    [
        (
            {"last_name": "D" * 101},
            "body.participant.last_name",
            ("1 to 100 characters", "(101 characters)", "without control characters"),
        ),
        (
            {"first_name": "\u0007" + "J" * 100},
            "body.participant.first_name",
            ("1 to 100 characters", "(101 characters)", "without control characters"),
        ),
        (
            {"email": "j" * 243 + "@example.com"},
            "body.participant.email",
            ("an e-mail address", "3 to 254 characters", "(255 characters)"),
        ),
        (
            {"phone": "1" * 33},
            "body.participant.phone",
            ("1 to 32 characters", "(33 characters)"),
        ),
    ],
)
def test_messages_name_the_length_limits(
    docs: Fake, person: dict[str, str], field: str, says: tuple[str, ...]
) -> None:
    before = docs.state()
    body = {"eventId": JAZZ, "tickets": [{"ticket_id": VIP, "quantity": 1}]}
    r = docs.buy({**body, "participant": new_person(**person)})
    assert_refused(docs, r, before, field=field, says=says)


def test_a_fixture_with_a_trailing_newline_is_refused_and_changes_nothing(docs: Fake) -> None:
    """Fixture files are checked with ECMA-262's "$" too (``mockserver/schema.py``)."""
    before = docs.state()
    fixture = docs.state()
    fixture["events"][0]["slug"] += "\n"
    r = docs.control.post("/_mock/fixtures", json=fixture)
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "INVALID_FIXTURE"
    assert "slug" in r.json()["message"]
    assert docs.state() == before


def test_validate_responses_refuses_an_answer_with_a_trailing_newline() -> None:
    """``--validate-responses`` reads patterns as the spec means them: "Doe\\n" breaks one."""
    spec = load_spec()
    op = spec.operation("getEvent")
    checker = ResponseChecker(spec)
    docs = create_app(Settings(fixtures=DOCS_FIXTURE))
    answer = asgi_client(docs, "http://fake" + API).get(f"/event/{JAZZ}", headers=bearer(TOKEN))
    assert answer.status_code == 200
    assert checker.problem(op, 200, answer.content) is None
    broken = answer.json()
    broken["event"]["slug"] += "\n"
    problem = checker.problem(op, 200, orjson.dumps(broken))
    assert problem is not None
    assert problem.code == "RESPONSE_INVALID"
    assert "slug" in problem.message
