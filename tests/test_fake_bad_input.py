"""Bad input gets a 4xx in the spec's Error shape that says what was wrong, and
changes nothing. No input produces a 5xx."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from .conftest import (
    CLUB,
    CLUB_VIP,
    DOCS_FIXTURE,
    JANE,
    JAZZ,
    JOHN,
    STANDARD,
    TOKEN,
    UNKNOWN_ID,
    VIP,
    Fake,
    Live,
    assert_refused,
    bearer,
    load_json,
    new_person,
)

MiB = 1024 * 1024
LINE = {"ticket_id": VIP, "quantity": 1}


def post_raw(fake: Fake, content: bytes, content_type: str | None = "application/json") -> Any:
    headers = {"Content-Type": content_type} if content_type is not None else {}
    return fake.api.post("/tickets/create", content=content, headers=headers)


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"{", "not valid JSON"),
        (b'{"eventId": "x",}', "not valid JSON"),
        (b"{'eventId': 'x'}", "not valid JSON"),
        (b'{"quantity": NaN}', "not valid JSON"),
        (b"\xff\xfe{}", "not valid JSON"),
        (b'{"eventId": "' + JAZZ.encode() + b'"} trailing', "not valid JSON"),
    ],
)
def test_malformed_json_is_400_invalid_json(docs: Fake, content: bytes, says: str) -> None:
    before = docs.state()
    assert_refused(
        docs, post_raw(docs, content), before, code="INVALID_JSON", field="body", says=(says,)
    )


@pytest.mark.parametrize("depth", [33, 300, 1000, 1100])
@pytest.mark.parametrize("where", ["tickets", "participant", "participant.x", "root.x"])
def test_deeply_nested_bodies_are_400_not_a_crash(docs: Fake, depth: int, where: str) -> None:
    nested = "[" * depth + "]" * depth
    head = '{"eventId": "' + JAZZ + '", "tickets": '
    content = {
        "tickets": head + nested + "}",
        "participant": head + '[], "participant": ' + nested + "}",
        "participant.x": head + '[], "participant": {"x": ' + nested + "}}",
        "root.x": '{"x": ' * depth + "1" + "}" * depth,
    }[where]
    before = docs.state()
    r = post_raw(docs, content.encode())
    if depth < 1024:
        assert_refused(docs, r, before, field="body", says=("nested more than 32 levels deep",))
    else:  # beyond what the JSON parser reads at all
        assert_refused(docs, r, before, code="INVALID_JSON", field="body", says=("depth",))


def test_a_body_32_levels_deep_is_explained_as_usual(docs: Fake) -> None:
    before = docs.state()
    nested = "[" * 29 + "]" * 29  # root, tickets, 29 levels: 31 in all
    r = post_raw(docs, ('{"eventId": "' + JAZZ + '", "tickets": [' + nested + "]}").encode())
    assert_refused(docs, r, before, field="body.tickets[0]", says=("must be a JSON object",))


def test_an_empty_body_is_400(docs: Fake) -> None:
    before = docs.state()
    for content in (b"", b"   \n"):
        assert_refused(docs, post_raw(docs, content), before, field="body", says=("empty",))


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        (b"[]", "an array"),
        (b'[{"eventId": "643e7b194937913299554a7d"}]', "an array"),
        (b'"a string"', "a string"),
        (b"42", "a number"),
        (b"1.5", "a number"),
        (b"null", "null"),
        (b"true", "a boolean"),
    ],
)
def test_a_body_that_is_not_an_object_is_400(docs: Fake, content: bytes, kind: str) -> None:
    before = docs.state()
    assert_refused(
        docs,
        post_raw(docs, content),
        before,
        field="body",
        says=(f"must be a JSON object, got {kind}",),
    )


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        ({"eventId": 643, "tickets": [LINE]}, "body.eventId", "ObjectId"),
        ({"eventId": JAZZ, "tickets": LINE}, "body.tickets", "a JSON array"),
        ({"eventId": JAZZ, "tickets": "VIP"}, "body.tickets", "a JSON array"),
        ({"eventId": JAZZ, "tickets": [VIP]}, "body.tickets[0]", "a JSON object"),
        (
            {"eventId": JAZZ, "tickets": [{"ticket_id": 1, "quantity": 1}]},
            "body.tickets[0].ticket_id",
            "ObjectId",
        ),
        (
            {"eventId": JAZZ, "tickets": [{"ticket_id": VIP, "quantity": True}]},
            "body.tickets[0].quantity",
            "got true",
        ),
        (
            {"eventId": JAZZ, "tickets": [{"ticket_id": VIP, "quantity": None}]},
            "body.tickets[0].quantity",
            "got null",
        ),
        (
            {"eventId": JAZZ, "tickets": [{"ticket_id": VIP, "quantity": [1]}]},
            "body.tickets[0].quantity",
            "an integer",
        ),
        (
            {"eventId": JAZZ, "tickets": [LINE], "participant": "John"},
            "body.participant",
            "a JSON object",
        ),
        ({"eventId": JAZZ, "tickets": [LINE], "participant": None}, "body.participant", "got null"),
        (
            {"eventId": JAZZ, "tickets": [LINE], "participant": {"participantId": 7}},
            "body.participant.participantId",
            "ObjectId",
        ),
        (
            {"eventId": JAZZ, "tickets": [LINE], "participant": new_person(phone=33612345678)},
            "body.participant.phone",
            "a string",
        ),
    ],
)
def test_wrong_types_are_400_naming_the_field(
    docs: Fake, body: dict[str, Any], field: str, says: str
) -> None:
    before = docs.state()
    assert_refused(docs, docs.buy(body), before, field=field, says=(says,))


def test_a_body_over_1_mib_with_a_content_length_is_413(docs: Fake) -> None:
    before = docs.state()
    body = json.dumps({"eventId": JAZZ, "tickets": [LINE], "pad": "x" * MiB}).encode()
    r = post_raw(docs, body)
    assert int(r.request.headers["content-length"]) > MiB
    assert_refused(
        docs,
        r,
        before,
        status=413,
        code="PAYLOAD_TOO_LARGE",
        field="body",
        says=("limit here is 1048576 bytes",),
    )
    # One byte under the limit is read (and refused for what it says, not for its size).
    exactly = b'{"eventId": "' + JAZZ.encode() + b'"}'
    exactly += b" " * (MiB - len(exactly))
    assert_refused(docs, post_raw(docs, exactly), before, field="body.tickets")


def test_a_chunked_body_over_1_mib_is_413_over_a_real_socket(live: Live) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"eventId": "' + JAZZ.encode() + b'", "tickets": [], "pad": "'
        for _ in range(17):
            yield b"x" * (64 * 1024)
        yield b'"}'

    before = httpx.get(live.root + "/_mock/state").json()
    headers = {**bearer(TOKEN), "Content-Type": "application/json"}
    r = httpx.post(live.api + "/tickets/create", content=chunks(), headers=headers)
    assert r.request.headers["transfer-encoding"] == "chunked"
    assert "content-length" not in r.request.headers
    assert r.status_code == 413
    assert r.json()["code"] == "PAYLOAD_TOO_LARGE"
    assert r.json()["success"] is False
    assert httpx.get(live.root + "/_mock/state").json() == before
    # A small chunked body is read whole and served.
    small = iter(
        [
            b'{"eventId": "' + JAZZ.encode() + b'", ',
            b'"tickets": [{"ticket_id": "',
            VIP.encode() + b'", "quantity": 1}]}',
        ]
    )
    r = httpx.post(live.api + "/tickets/create", content=small, headers=headers)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("how", "field"),
    [
        ("path", "path.id"),
        ("query", "query.eventId"),
        ("body.eventId", "body.eventId"),
        ("body.ticket_id", "body.tickets[0].ticket_id"),
        ("body.participantId", "body.participant.participantId"),
    ],
)
@pytest.mark.parametrize(
    "bad_id",
    [
        "643e7b194937913299554a7",  # 23 characters
        "643e7b194937913299554a7d0",  # 25
        "643E7B194937913299554A7D",  # upper case
        "643e7b194937913299554a7g",  # not hex
        "643e7b19493791329955\u00e9a7d",  # non-ASCII
        "643e7b1949379132\u00009554a7d",  # control character
        "643e7b194937913299554a7\n",
        " 643e7b194937913299554a7d",
    ],
    ids=["short", "long", "upper", "not-hex", "non-ascii", "nul", "newline", "space"],
)
def test_an_invalid_object_id_is_400_wherever_it_is(
    docs: Fake, how: str, field: str, bad_id: str
) -> None:
    before = docs.state()
    if how == "path":
        r = docs.api.get("/event/" + "".join(f"%{b:02X}" for b in bad_id.encode()))
    elif how == "query":
        r = docs.api.get("/tickets", params={"eventId": bad_id})
    else:
        body: dict[str, Any] = {"eventId": JAZZ, "tickets": [dict(LINE)]}
        if how == "body.eventId":
            body["eventId"] = bad_id
        elif how == "body.ticket_id":
            body["tickets"][0]["ticket_id"] = bad_id
        else:
            body["participant"] = {"participantId": bad_id}
        r = docs.buy(body)
    assert_refused(docs, r, before, field=field, says=("ObjectId", "24 lowercase hexadecimal"))


@pytest.mark.parametrize("quantity", [0, -1, -1000, 1001, 1e30, 2**70, -(2**70), 2.5, 1e-9])
def test_out_of_range_quantities_are_400(docs: Fake, quantity: float) -> None:
    before = docs.state()
    r = docs.buy({"eventId": JAZZ, "tickets": [{"ticket_id": VIP, "quantity": quantity}]})
    assert_refused(
        docs,
        r,
        before,
        field="body.tickets[0].quantity",
        says=("must be an integer between 1 and 1000",),
    )


def test_an_empty_ticket_list_is_400(docs: Fake) -> None:
    before = docs.state()
    r = docs.buy({"eventId": JAZZ, "tickets": [], "participant": new_person()})
    assert_refused(docs, r, before, field="body.tickets", says=("between 1 and 50 items",))


def test_more_than_50_ticket_lines_are_400(docs: Fake) -> None:
    before = docs.state()
    r = docs.buy({"eventId": JAZZ, "tickets": [LINE] * 51})
    assert_refused(docs, r, before, field="body.tickets", says=("got 51",))


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page": "99999999999999999999"}, "query.page"),
        ({"page": "-99999999999999999999"}, "query.page"),
        ({"limit": "99999999999999999999"}, "query.limit"),
        ({"page": "1e30"}, "query.page"),
        ({"page": "1000000001"}, "query.page"),
        ({"page": "1.5"}, "query.page"),
        ({"page": ""}, "query.page"),
        ({"page": "\uff11"}, "query.page"),  # a full-width digit one
        ({"limit": "\u0000"}, "query.limit"),
        ({"limit": "NaN"}, "query.limit"),
        ({"limit": "0x10"}, "query.limit"),
    ],
)
def test_bad_numbers_in_the_query_are_400(docs: Fake, params: dict[str, str], field: str) -> None:
    before = docs.state()
    body = assert_refused(docs, docs.api.get("/events", params=params), before, field=field)
    assert "must be an integer between" in body["message"]
    assert json.dumps(params[field.split(".")[1]], ensure_ascii=False)[1:-1] in body["message"]


def test_the_largest_allowed_page_is_served_empty(docs: Fake) -> None:
    r = docs.api.get("/events", params={"page": "1000000000", "limit": "100"})
    assert r.status_code == 200
    assert r.json() == {"events": [], "paginate": {"hasNextPage": False, "nextPage": None}}
    assert docs.api.get("/events", params={"page": "2.0"}).status_code == 200


@pytest.mark.parametrize(
    ("first_name", "last_name"),
    [
        ("Zoë", "Lefèvre"),
        ("Åsa", "Øster-Ærø"),
        ("Nguyễn", "Thị Minh"),
        ("明", "王"),
        ("Ольга", "Иванова"),
        ("José María", "O'Brien"),
        ("👩‍🚀", "Ride"),
    ],
)
def test_non_ascii_names_are_accepted(docs: Fake, first_name: str, last_name: str) -> None:
    person = new_person(first_name=first_name, last_name=last_name)
    r = docs.buy({"eventId": JAZZ, "tickets": [LINE], "participant": person})
    assert r.status_code == 200, r.text
    assert r.json()["participant"]["first_name"] == first_name
    assert r.json()["participant"]["last_name"] == last_name
    listed = docs.all_pages("/participants", "participants", 100, eventId=JAZZ)
    assert (listed[-1]["first_name"], listed[-1]["last_name"]) == (first_name, last_name)


@pytest.mark.parametrize(
    "name",
    ["a\u0000b", "tab\there", "line\nbreak", "bell\u0007", "del\u007f", "\u001b[31mred", "\r"],
)
@pytest.mark.parametrize("which", ["first_name", "last_name"])
def test_control_characters_in_names_are_400(docs: Fake, name: str, which: str) -> None:
    before = docs.state()
    r = docs.buy({"eventId": JAZZ, "tickets": [LINE], "participant": new_person(**{which: name})})
    assert_refused(
        docs, r, before, field=f"body.participant.{which}", says=("without control characters",)
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"eventId": JAZZ, "tickets": [LINE], "coupon": "FREE"}, "body.coupon"),
        ({"eventId": JAZZ, "tickets": [{**LINE, "price": 0}]}, "body.tickets[0].price"),
        (
            {"eventId": JAZZ, "tickets": [LINE], "participant": {**new_person(), "vip": True}},
            "body.participant.vip",
        ),
        (
            {
                "eventId": JAZZ,
                "tickets": [LINE],
                "participant": {"participantId": JANE, "email": "jane@example.com"},
            },
            "body.participant.email",
        ),
    ],
)
def test_unknown_fields_are_400_naming_them(docs: Fake, body: dict[str, Any], field: str) -> None:
    before = docs.state()
    assert_refused(
        docs, docs.buy(body), before, field=field, says=("not allowed", "allowed fields")
    )


@pytest.mark.parametrize(
    ("participant", "field"),
    [
        ({}, "body.participant.participantId"),
        ({"email": "x@example.com"}, None),
        ({"last_name": "Doe", "first_name": "John"}, None),
        (
            {"last_name": "Doe", "first_name": "John", "email": "no-at-sign", "phone": "+1"},
            "body.participant.email",
        ),
        (
            {"last_name": "", "first_name": "John", "email": "j@example.com", "phone": "+1"},
            "body.participant.last_name",
        ),
        (
            {
                "last_name": "Doe",
                "first_name": "John",
                "email": "j@example.com",
                "phone": "call me",
            },
            "body.participant.phone",
        ),
    ],
)
def test_a_participant_matching_no_form_is_400(
    docs: Fake, participant: dict[str, Any], field: str | None
) -> None:
    before = docs.state()
    r = docs.buy({"eventId": JAZZ, "tickets": [LINE], "participant": participant})
    body = assert_refused(docs, r, before)
    assert body["field"].startswith("body.participant")
    if field is not None:
        assert body["field"] == field


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
        "",
    ],
)
def test_a_wrong_content_type_is_400(docs: Fake, content_type: str) -> None:
    before = docs.state()
    content = json.dumps({"eventId": JAZZ, "tickets": [LINE]}).encode()
    r = post_raw(docs, content, content_type)
    if content_type == "":
        # An empty Content-Type is treated as absent: the JSON body is read.
        assert r.status_code == 200, r.text
        return
    assert_refused(
        docs,
        r,
        before,
        code="UNSUPPORTED_CONTENT_TYPE",
        field="header.Content-Type",
        says=("must be application/json", content_type.split(";")[0]),
    )


def test_json_content_types_with_parameters_are_accepted(docs: Fake) -> None:
    content = json.dumps({"eventId": JAZZ, "tickets": [LINE]}).encode()
    for content_type in ("application/json; charset=utf-8", "APPLICATION/JSON", None):
        assert post_raw(docs, content, content_type).status_code == 200


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=1&limit=2", "query.limit"),
        ("page=1&page=1", "query.page"),
        (f"eventId={JAZZ}&eventId={JAZZ}", "query.eventId"),
    ],
)
def test_duplicated_query_parameters_are_400(docs: Fake, query: str, field: str) -> None:
    before = docs.state()
    path = "/participants" if "eventId" in query else "/events"
    r = docs.api.get(f"{path}?{query}")
    assert_refused(docs, r, before, field=field, says=("given 2 times",))


def test_unknown_query_parameters_are_ignored(docs: Fake) -> None:
    plain = docs.api.get("/events")
    assert docs.api.get("/events", params={"sort": "name", "x": "\u00e9"}).json() == plain.json()


# -- property: arbitrary bodies never give a 5xx, never change state unless 200 --

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
_ids = st.sampled_from([JAZZ, VIP, STANDARD, JANE, UNKNOWN_ID, "x", ""]) | st.text(max_size=26)
_line = st.fixed_dictionaries(
    {"ticket_id": _ids, "quantity": st.integers(-3, 300) | _json},
    optional={"extra": _json},
)
_participant = st.one_of(
    st.fixed_dictionaries({"participantId": _ids}),
    st.fixed_dictionaries(
        {
            "last_name": st.text(max_size=8),
            "first_name": st.text(max_size=8),
            "email": st.emails() | st.text(max_size=8),
            "phone": st.from_regex(r"\+[0-9]{3,9}", fullmatch=True),
        }
    ),
    _json,
)
# Well-formed bodies over the fixture's ids: some succeed, some are 404 or 409.
_known_ids = st.sampled_from([JAZZ, CLUB, VIP, STANDARD, CLUB_VIP, JOHN, JANE, UNKNOWN_ID])
_names = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"]), min_size=1, max_size=10
)
_well_formed = st.fixed_dictionaries(
    {
        "eventId": st.sampled_from([JAZZ, JAZZ, JAZZ, CLUB, UNKNOWN_ID]),
        "tickets": st.lists(
            st.fixed_dictionaries(
                {
                    "ticket_id": st.sampled_from(
                        [VIP, STANDARD, VIP, STANDARD, CLUB_VIP, UNKNOWN_ID]
                    ),
                    "quantity": st.integers(1, 5) | st.integers(95, 260),
                }
            ),
            min_size=1,
            max_size=3,
            unique_by=lambda line: line["ticket_id"],
        ),
    },
    optional={
        "participant": st.one_of(
            st.fixed_dictionaries({"participantId": _known_ids}),
            st.fixed_dictionaries(
                {
                    "last_name": _names,
                    "first_name": _names,
                    "email": st.from_regex(r"[a-z]{1,8}@example\.com", fullmatch=True),
                    "phone": st.from_regex(r"\+[0-9]{3,9}", fullmatch=True),
                }
            ),
        )
    },
)
_loose = st.fixed_dictionaries(
    {"eventId": _ids, "tickets": st.lists(_line, max_size=3)},
    optional={"participant": _participant, "other": _json},
)
# Half the bodies are well-formed, so that the property sees 200, 404 and 409 too.
_bodies = st.sampled_from([_well_formed, _well_formed, _json, _loose]).flatmap(lambda s: s)


_INITIAL = load_json(DOCS_FIXTURE)
_INITIAL.pop("$schema")


@settings(
    max_examples=200,
    derandomize=True,
    deadline=None,
    # One fake for all examples, back to the fixture after each success.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=_bodies)
def test_arbitrary_bodies_never_give_a_5xx_nor_change_state_unless_200(
    docs: Fake, body: Any
) -> None:
    r = docs.api.post(
        "/tickets/create",
        content=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code < 500, r.text
    event(f"status {r.status_code}")
    after = docs.state()
    if r.status_code == 200:
        assert r.json()["success"] is True
        assert after != _INITIAL
        assert docs.control.post("/_mock/reset").status_code == 200
    else:
        assert r.status_code in (400, 404, 409), r.text
        assert r.json()["success"] is False
        assert after == _INITIAL


def test_a_volley_of_bad_requests_leaves_the_fake_serving(docs: Fake) -> None:
    for content in (b"{", b"[]", b"\x00", b'{"eventId": null}', b"x" * (MiB + 1)):
        assert 400 <= post_raw(docs, content).status_code < 500
    r = docs.buy({"eventId": JAZZ, "tickets": [LINE]})
    assert r.status_code == 200
    assert docs.quantities(JAZZ)[VIP] == 99


_param_values = st.one_of(
    st.sampled_from([JAZZ, CLUB, UNKNOWN_ID, "1", "0", "-1", "100", "101", "2.0", "1e3", ""]),
    st.integers(-(2**70), 2**70).map(str),
    st.text(max_size=30),
)
_queries = st.lists(
    st.tuples(
        st.sampled_from(["page", "limit", "eventId", "extra"]) | st.text(max_size=8), _param_values
    ),
    max_size=5,
)


@settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    path=st.sampled_from(["/events", "/tickets", "/participants", "/event/"]),
    query=_queries,
    tail=_param_values,
)
def test_arbitrary_query_strings_never_give_a_5xx_nor_change_state(
    docs: Fake, path: str, query: list[tuple[str, str]], tail: str
) -> None:
    before = docs.state()
    r = docs.api.get(path + (quote(tail, safe="") if path == "/event/" else ""), params=query)
    assert r.status_code in (200, 400, 404), r.text
    body = r.json()
    assert ("success" not in body) if r.status_code == 200 else (body["success"] is False)
    event(f"status {r.status_code}")
    assert docs.state() == before
