"""The proxy's pieces alone: the anonymiser, and the caps that bound its memory."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from mockserver.drift.contract import load_contract
from mockserver.proxy import monitor as monitor_module
from mockserver.proxy import recorder as recorder_module
from mockserver.proxy.anonymise import Anonymiser
from mockserver.proxy.exchange import Exchange, Router
from mockserver.proxy.monitor import Monitor, MonitorOptions
from mockserver.proxy.recorder import Recorder
from mockserver.proxy.sequence import _Lru

BASE_URL = "http://upstream.test/developers/v1.0"


def _exchange(seq: int, path: str, body: Any, query: str = "", status: int = 200) -> Exchange:
    route = Router(load_contract()).match("GET", path)
    return Exchange(
        seq=seq, method="GET", path=path, query=query, url=BASE_URL + path, token_id="t1",
        request_body=None, status=status, content_type="application/json",
        body=orjson.dumps(body), at=datetime(2026, 1, 1, tzinfo=UTC), route=route,
    )  # fmt: skip


def test_the_same_person_is_the_same_fake_person_and_nothing_original_is_kept() -> None:
    anon = Anonymiser(b"k")
    real = {"id": "p1", "first_name": "Ada", "last_name": "Lovelace", "email": "Ada@Example.org",
            "phone": "+44 1", "address": "12 St James's Sq", "confirmed": True}  # fmt: skip
    fake = anon.participant(real)
    again = Anonymiser(b"k").participant({**real, "id": "p2", "email": "ada@example.org"})
    assert {k: fake[k] for k in ("first_name", "last_name", "email", "phone", "address")} == {
        k: again[k] for k in ("first_name", "last_name", "email", "phone", "address")
    }
    for key in ("first_name", "last_name", "email", "phone", "address"):
        assert fake[key] != real[key]
        assert real[key].lower() not in str(fake).lower()
    assert (fake["id"], fake["confirmed"]) == ("p1", True)
    other_key = Anonymiser(b"other").participant(real)
    assert other_key["email"] != fake["email"]
    odd = anon.participant({"email": None, "phone": 33612345678, "address": None, "id": "p3"})
    assert odd == {"email": None, "phone": "<int withheld>", "address": None, "id": "p3"}


def test_sequence_state_is_least_recently_used_and_capped() -> None:
    lru = _Lru(3)
    for key in "abcd":
        lru.touch(key, key.upper())
    assert list(lru) == ["b", "c", "d"]
    lru.touch("b", None)
    lru.touch("e", "E")
    assert list(lru) == ["d", "b", "e"]


def test_distinct_findings_past_the_cap_are_counted_not_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(monitor_module, "MAX_FINDINGS", 2)
    monitor = Monitor(MonitorOptions(upstream=BASE_URL))
    try:
        # Three distinct findings: an undocumented status, a 5xx, a body missing `paginate`.
        for seq, status in enumerate((201, 500, 200), 1):
            monitor.submit(_exchange(seq, "/events", {"events": []}, status=status))
        monitor.drain()
        result = monitor.result()
    finally:
        monitor.close()
    assert [f.check for f in result.findings] == ["not_a_server_error", "status_code_conformance"]
    assert result.requests == 3
    assert "1 finding(s) past the first 2 dropped" in result.notes


def test_a_recording_past_its_event_cap_says_so(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(recorder_module, "MAX_EVENTS", 2)
    recorder = Recorder(Anonymiser(b"k"), BASE_URL)
    events = [
        {"id": f"{i:024x}", "name": f"E{i}", "slug": f"e{i}", "location": "L", "publish": True,
         "dateStart": "2026-01-01T10:00:00.000Z", "dateEnd": "2026-01-01T12:00:00.000Z",
         "cover": dict.fromkeys(("square", "thumb", "medium", "original"), "https://i.test/c.jpg")}
        for i in range(1, 4)
    ]  # fmt: skip
    ex = _exchange(1, "/events", {"events": events, "paginate": {"hasNextPage": False,
                                                                 "nextPage": None}})  # fmt: skip
    ex.json, ex.json_ok = orjson.loads(ex.body or b""), True
    recorder.observe(ex)
    data = recorder.write(tmp_path / "r.json", datetime(2026, 1, 2, tzinfo=UTC))
    assert [e["id"] for e in data["events"]] == [events[0]["id"], events[1]["id"]]
    assert "events beyond the first 2 were not recorded" in data["description"]
    assert orjson.loads((tmp_path / "r.json").read_bytes()) == data


def test_recorded_dates_are_written_in_utc_as_the_fixture_format_writes_them(
    tmp_path: Path,
) -> None:
    """An answer's date with an offset is recorded as the same instant in UTC."""
    recorder = Recorder(Anonymiser(b"k"), BASE_URL)
    event = {"id": f"{1:024x}", "name": "E", "slug": "e", "location": "L", "publish": True,
             "dateStart": "2026-06-15T20:00:00+02:00", "dateEnd": "2026-06-15T23:30:00.250+02:00",
             "cover": dict.fromkeys(("square", "thumb", "medium", "original"),
                                    "https://i.test/c.jpg")}  # fmt: skip
    ex = _exchange(1, "/events", {"events": [event], "paginate": {"hasNextPage": False,
                                                                  "nextPage": None}})  # fmt: skip
    ex.json, ex.json_ok = orjson.loads(ex.body or b""), True
    recorder.observe(ex)
    data = recorder.write(tmp_path / "r.json", datetime(2026, 7, 1, tzinfo=UTC))
    [recorded] = data["events"]
    assert recorded["dateStart"] == "2026-06-15T18:00:00.000Z"
    assert recorded["dateEnd"] == "2026-06-15T21:30:00.250Z"


def _mutations(body: Any) -> list[Any]:
    """``body`` broken one way at a time, in every object and string it holds (at most 300)."""
    out: list[Any] = []

    def walk(node: Any, path: tuple[Any, ...]) -> None:
        if len(out) >= 300:
            return
        if isinstance(node, dict):
            out.append((path, "extra"))
            for key, value in node.items():
                out.append(((*path, key), "drop"))
                out.append(((*path, key), "null"))
                walk(value, (*path, key))
        elif isinstance(node, list):
            for i, value in enumerate(node[:2]):
                walk(value, (*path, i))
        elif isinstance(node, str):
            out.append((path, "newline"))
            out.append((path, "number"))

    walk(body, ())
    broken = []
    for path, how in out:
        copy = orjson.loads(orjson.dumps(body))
        parent = copy
        for part in path[:-1]:
            parent = parent[part]
        if how == "extra":
            target = copy
            for part in path:
                target = target[part]
            target["unknown"] = 1
        elif how == "drop":
            del parent[path[-1]]
        elif how == "null":
            parent[path[-1]] = None
        elif how == "newline":
            parent[path[-1]] = parent[path[-1]] + "\n"
        else:
            parent[path[-1]] = 7
        broken.append(copy)
    return broken


def test_the_fast_first_check_never_passes_an_answer_jsonschema_would_refuse() -> None:
    # The proxy's first check of an answer is jsonschema-rs on the closed schema; only when it
    # fails does Python's jsonschema say what is wrong. So it must be at least as strict:
    # every answer it passes, jsonschema passes too (the converse may differ: then the slow
    # path runs and finds nothing, which is correct, only slower).
    from jsonschema import Draft202012Validator

    from mockserver.drift.contract import closed_schema
    from mockserver.proxy.exchange import ExchangeChecker
    from mockserver.testing import serve_in_thread

    from .proxy_support import BASE, TOKEN, fake_app

    contract = load_contract()
    checker = ExchangeChecker(contract, Anonymiser(b"k"))
    compared = refused = 0
    with serve_in_thread(fake_app()) as root:
        import httpx

        with httpx.Client(base_url=root + BASE, headers={"Authorization": f"Bearer {TOKEN}"}) as c:
            event = c.get("/events", params={"limit": 1}).json()["events"][0]["id"]
            answers = {
                "listEvents": c.get("/events", params={"limit": 3}),
                "getEvent": c.get(f"/event/{event}"),
                "listTickets": c.get("/tickets", params={"eventId": event}),
                "listParticipants": c.get("/participants", params={"eventId": event}),
                "getEvent ": c.get("/event/" + "0" * 24),
            }
    for name, reply in answers.items():
        op = contract.spec.operation(name.strip())
        fast = checker._closed_validator(op, reply.status_code)
        slow = Draft202012Validator(closed_schema(op.response_schema(reply.status_code)))
        assert fast is not None
        assert fast.is_valid(reply.json()), name
        assert slow.is_valid(reply.json()), name
        for broken in _mutations(reply.json()):
            compared += 1
            if not slow.is_valid(broken):
                refused += 1
                assert not fast.is_valid(broken), (name, broken)
    assert compared > 300
    assert refused > 200
