"""Generated data: deterministic per seed on any machine, realistic, and built
as the live API builds it (ids, slugs, URLs, covers). Faker's values are never
asserted literally: only their shape and their consistency."""

from __future__ import annotations

import hashlib
import os
import random
import re
import subprocess
import sys
from typing import Any
from urllib.parse import urlsplit

import pytest

from mockserver import Settings, create_app
from mockserver.store.ids import object_id_time, parse_date

from .conftest import ROOT, Fake, FakeFactory

OBJECT_ID = re.compile(r"^[0-9a-f]{24}$")
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")

# Reads every answer of every operation of organizer 1, in a fixed order, as bytes.
# Run in-process here and by `python -c` in a fresh interpreter.
TRANSCRIPT = """
import hashlib, sys
from mockserver import Settings, create_app
from mockserver.testing import asgi_client

def transcript(seed):
    app = create_app(Settings(seed=seed))
    out = []
    with asgi_client(app, "http://testserver/developers/v1.0",
                     headers={"Authorization": "Bearer goevent-dev-token"}) as api:
        page = 1
        while True:
            r = api.get("/events", params={"page": page, "limit": 2})
            out.append(r.content)
            if not r.json()["paginate"]["hasNextPage"]:
                break
            page += 1
        for event in api.get("/events", params={"limit": 100}).json()["events"]:
            for path, params in ((f"/event/{event['id']}", {}),
                                 ("/tickets", {"eventId": event["id"]}),
                                 ("/participants", {"eventId": event["id"], "limit": 100})):
                out.append(api.get(path, params=params).content)
    with asgi_client(app, "http://testserver") as root:
        out.append(root.get("/_mock/state").content)
    return b"\\n".join(out)
"""
_namespace: dict[str, Any] = {}
exec(TRANSCRIPT, _namespace)  # the very code the subprocess runs


def transcript(seed: int) -> bytes:
    data: bytes = _namespace["transcript"](seed)
    return data


def test_the_same_seed_gives_byte_identical_answers_across_app_instances() -> None:
    random.seed(1)  # the global generators must play no part
    first = transcript(7)
    random.seed(2)
    second = transcript(7)
    assert first == second
    assert len(first) > 10_000


def test_the_same_seed_gives_byte_identical_answers_in_another_process() -> None:
    here = hashlib.sha256(transcript(7)).hexdigest()
    code = TRANSCRIPT + "\nsys.stdout.write(hashlib.sha256(transcript(7)).hexdigest())\n"
    # Another hash seed, time zone and locale: none may leak into the data.
    env = {**os.environ, "PYTHONHASHSEED": "12345", "TZ": "Pacific/Kiritimati", "LANG": "C"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == here


def test_a_different_seed_gives_different_data() -> None:
    seven, eight = create_app(Settings(seed=7)), create_app(Settings(seed=8))
    events7 = seven.state.store.events
    events8 = eight.state.store.events
    assert len(events7) == len(events8)
    assert {e.id for e in events7}.isdisjoint({e.id for e in events8})
    assert [e.name for e in events7] != [e.name for e in events8]
    people7 = {(p.first_name, p.last_name) for e in events7 for p in e.participants}
    people8 = {(p.first_name, p.last_name) for e in events8 for p in e.participants}
    assert people7 != people8
    assert transcript(7) != transcript(8)


def test_generated_dates_fall_in_a_fixed_window(small: Fake) -> None:
    """Dates come from the seed, not from today: two runs at different times agree (the
    test above compares this run with a later one in another process), and every date
    falls in the generator's fixed window."""
    state = small.state()
    for event in state["events"]:
        assert "2024-01-01" <= event["dateStart"] < "2026-07-01", event["dateStart"]
        for person in event["participants"]:
            assert "2024-01-01" <= person["created"] < event["dateStart"]
    for organizer in state["organizers"]:
        assert object_id_time(organizer["id"]).year == 2023


def all_events(fake: Fake) -> list[dict[str, Any]]:
    return fake.all_pages("/events", "events", 100)


def test_object_ids_are_24_lowercase_hex_with_their_creation_date(small: Fake) -> None:
    state = small.state()
    ids = [o["id"] for o in state["organizers"]]
    for event in state["events"]:
        ids += [event["id"], *(t["id"] for t in event["tickets"])]
        ids += [p["id"] for p in event["participants"]]
        created = object_id_time(event["id"])
        assert created < parse_date(event["dateStart"])
        for ticket in event["tickets"]:
            assert object_id_time(ticket["id"]) == created
        for person in event["participants"]:
            joined = parse_date(person["created"])
            # The id's timestamp is the participant's creation date, to the second.
            assert object_id_time(person["id"]) == joined.replace(microsecond=0)
            assert created <= joined < parse_date(event["dateStart"])
    assert all(OBJECT_ID.match(i) for i in ids)
    assert len(ids) == len(set(ids))


def test_events_are_built_from_their_slug_as_the_live_api_builds_them(small: Fake) -> None:
    events = all_events(small)
    assert events
    for event in events:
        slug = event["slug"]
        assert SLUG.match(slug)
        assert event["path"] == "/" + slug
        assert event["siteUrl"] == "https://www.goevent.live/e/" + slug
        assert event["checkoutUrl"] == event["siteUrl"] + "/checkout"
        assert DATE.match(event["dateStart"])
        assert DATE.match(event["dateEnd"])
        assert event["dateStart"] < event["dateEnd"]
        assert event["name"]
        assert event["location"]
        assert isinstance(event["publish"], bool)
    slugs = [e["slug"] for e in small.state()["events"]]
    assert len(slugs) == len(set(slugs))


def test_slugs_follow_the_event_name(small: Fake) -> None:
    for event in all_events(small):
        words = re.findall("[a-z0-9]+", event["name"].lower())
        assert event["slug"].startswith(words[0])


def test_the_four_cover_urls_are_cloudinary_transformations_of_one_image(small: Fake) -> None:
    images = set()
    for event in all_events(small):
        cover = event["cover"]
        assert set(cover) == {"square", "thumb", "medium", "original"}
        parts = {k: urlsplit(v) for k, v in cover.items()}
        assert {p.scheme for p in parts.values()} == {"https"}
        assert {p.netloc for p in parts.values()} == {"res.cloudinary.com"}
        names = {p.path.rsplit("/", 1)[1] for p in parts.values()}
        assert len(names) == 1, cover  # one image
        image = names.pop()
        images.add(image)
        assert image.endswith(".jpg")
        prefix = parts["original"].path.removesuffix(image)
        assert re.fullmatch(r"/[a-z0-9_-]+/image/upload/", prefix)
        transformations = {k: p.path.removeprefix(prefix).removesuffix(image).strip("/")
                           for k, p in parts.items()}  # fmt: skip
        assert transformations["original"] == ""
        assert transformations["square"].startswith("c_fill,")
        assert "w_200" in transformations["square"]
        assert "h_200" in transformations["square"]
        assert transformations["thumb"].startswith("c_thumb,")
        assert transformations["medium"].startswith("c_scale,")
        assert len({transformations[k] for k in ("square", "thumb", "medium")}) == 3
    assert len(images) > 1  # each event has its own image


def test_participants_look_like_people(small: Fake) -> None:
    event = all_events(small)[0]["id"]
    people = small.all_pages("/participants", "participants", 100, eventId=event)
    for person in people:
        assert person["first_name"]
        assert person["last_name"]
        assert re.fullmatch(r"[^@\s]+@[^@\s]+\.[a-z]+", person["email"])
        assert re.fullmatch(r"\+[0-9]{6,15}", person["phone"])
        assert person["address"] is None or person["address"].strip()
        assert isinstance(person["confirmed"], bool)
        assert DATE.match(person["created"])
    assert len({p["email"] for p in people}) > 1
    assert len({(p["first_name"], p["last_name"]) for p in people}) > 1


@pytest.mark.parametrize(
    ("events", "ticket_types", "participants"), [(1, 1, 0), (4, 2, 3), (12, 5, 45)]
)
def test_sizes_are_configurable(
    make_fake: FakeFactory, events: int, ticket_types: int, participants: int
) -> None:
    fake = make_fake(
        seed=9,
        events_per_organizer=events,
        ticket_types_per_event=ticket_types,
        participants_per_event=participants,
    )
    for client in (fake.api, fake.api2):
        listed = client.get("/events", params={"limit": 100}).json()["events"]
        assert len(listed) == events
        for event in listed:
            tickets = client.get("/tickets", params={"eventId": event["id"]}).json()["tickets"]
            assert len(tickets) == ticket_types
            assert len({t["name"] for t in tickets}) == ticket_types
            r = client.get("/participants", params={"eventId": event["id"], "limit": 100})
            assert len(r.json()["participants"]) == participants


def test_the_number_of_organizers_is_configurable(make_fake: FakeFactory) -> None:
    fake = make_fake(organizers=4, events_per_organizer=1, participants_per_event=1)
    tokens = [o["token"] for o in fake.state()["organizers"]]
    assert tokens == [
        "goevent-dev-token",
        "goevent-dev-token-2",
        "goevent-dev-token-3",
        "goevent-dev-token-4",
    ]
    for token in tokens:
        r = fake.anon.get("/events", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200
        assert len(r.json()["events"]) == 1


def test_some_ticket_types_are_generated_sold_out(make_fake: FakeFactory) -> None:
    fake = make_fake(seed=1, events_per_organizer=20, participants_per_event=0)
    tickets = [t for e in fake.state()["events"] for t in e["tickets"]]
    assert any(t["quantity"] == 0 for t in tickets)
    assert any(t["quantity"] > 0 for t in tickets)
    # Through the API, over every event: a sold-out type says so, the others do not.
    served = [
        t
        for e in all_events(fake)
        for t in fake.api.get("/tickets", params={"eventId": e["id"]}).json()["tickets"]
    ]
    stored = {t["id"]: t["quantity"] for t in tickets}
    assert served
    assert all(stored[t["id"]] == t["quantity"] for t in served)
    assert any(t["available"] is False for t in served)
    for ticket in served:
        assert ticket["available"] is (ticket["quantity"] > 0)


def test_events_generated_on_demand_keep_the_same_promises(make_fake: FakeFactory) -> None:
    """Above 1,000 participants an event's participants are computed, not stored: the
    ids, their dates, the order and the export must not tell the difference."""
    fake = make_fake(
        seed=4, events_per_organizer=2, ticket_types_per_event=1, participants_per_event=1001
    )
    event = all_events(fake)[0]
    people = fake.all_pages("/participants", "participants", 100, eventId=event["id"])
    assert len(people) == len({p["id"] for p in people}) == 1001
    assert people == sorted(people, key=lambda p: (p["created"], p["id"]))
    for person in people:
        assert OBJECT_ID.match(person["id"])
        joined = parse_date(person["created"])
        assert object_id_time(person["id"]) == joined.replace(microsecond=0)
        assert object_id_time(event["id"]) <= joined < parse_date(event["dateStart"])
    exported = next(e for e in fake.state()["events"] if e["id"] == event["id"])
    assert [p["id"] for p in exported["participants"]] == [p["id"] for p in people]
