"""Live safety and honest exit codes of ``goevent-mock drift``.

The target is the fake on a real socket, wrapped by a middleware that records
what reached it (or answers as a misbehaving server would): the kit must stay
read-only unless allowed, buy only for the test event, keep to its budget, wait
out 429, never print the token, and never turn green when it could not test.
"""

from __future__ import annotations

import json
import re
import socket
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import orjson
import pytest

from mockserver import Settings, create_app
from mockserver.cli import main
from mockserver.drift.guard import RunGuard, WriteRefused, parse_retry_after
from mockserver.drift.target import Target, TargetError
from mockserver.testing import asgi_client, serve_in_thread
from tests.drift_corpus import BASE, Answer, Rewrite, drift_against, fake_app

FAST = ("--max-examples", "5")


class Recorder:
    """ASGI middleware: remembers every GoEvent request (method, path, JSON body) that arrives."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seen: list[tuple[str, str, Any]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(BASE):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        raw = b"".join(chunks)
        try:
            body = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            body = raw
        self.seen.append((scope["method"], scope["path"][len(BASE) :], body))
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": raw, "more_body": False}

        await self.app(scope, replay, send)


def _report(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def test_a_refused_token_cannot_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "drift.json"
    code = drift_against(fake_app(), "--json", str(report), writes=False, token="expired-token")

    assert code == 2
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last == (
        "goevent drift: COULD NOT RUN (exit 2): token refused: GET /events answered "
        "401 with the given token"
    )
    assert _report(report)["findings"] == []


def test_an_operation_stuck_behind_401_cannot_pass(tmp_path: Path) -> None:
    def refuse_participants(answer: Answer) -> None:
        if answer.operation == "listParticipants":
            answer.status = 401
            answer.body = {"success": False, "code": "UNAUTHORIZED", "message": "token expired"}

    report = tmp_path / "drift.json"
    app = Rewrite(fake_app(), response=refuse_participants)
    code = drift_against(app, "--json", str(report), "--phases", "fuzzing", *FAST, writes=False)

    assert code == 2
    assert _report(report)["reason"].startswith("token refused: listParticipants never answered")


def test_an_unreachable_server_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code = main(["drift", "--base-url", f"http://127.0.0.1:{port}{BASE}", "--token", "t0ken"])

    assert code == 2
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith(
        "goevent drift: COULD NOT RUN (exit 2): unreachable: GET http://127.0.0.1:"
    )


def test_writes_without_a_test_event_are_refused_before_any_request(
    capsys: pytest.CaptureFixture[str],
) -> None:
    recorder = Recorder(fake_app())
    with serve_in_thread(recorder) as root:
        code = main(["drift", "--base-url", root + BASE, "--token", "t", "--allow-writes"])

    assert code == 2
    assert "writes need a test event" in capsys.readouterr().err
    assert recorder.seen == []


def test_a_read_only_run_never_writes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recorder = Recorder(fake_app())
    report = tmp_path / "drift.json"
    code = drift_against(recorder, "--json", str(report), *FAST, writes=False)
    out = capsys.readouterr().out

    assert code == 0, out
    assert "read-only: never calls POST /tickets/create" in out.splitlines()[0]
    methods = {method for method, _, _ in recorder.seen}
    assert methods <= {"GET", "HEAD", "OPTIONS"}
    assert not [path for _, path, _ in recorder.seen if path == "/tickets/create"]
    assert len(recorder.seen) > 200  # it did test: all four read operations, every phase
    untested = [a for a in _report(report)["assumptions"] if a["status"] == "untested"]
    assert any("Purchase atomicity" in a["text"] and "read-only" in a["evidence"] for a in untested)


def _quantities(app: Any) -> dict[tuple[str, str], int]:
    auth = {"Authorization": "Bearer goevent-dev-token"}
    out = {}
    with asgi_client(app, "http://testserver" + BASE, headers=auth) as client:
        for event in client.get("/events", params={"limit": 100}).json()["events"]:
            tickets = client.get("/tickets", params={"eventId": event["id"]}).json()["tickets"]
            out.update({(event["id"], t["id"]): t["quantity"] for t in tickets})
    return out


def test_writes_only_touch_the_test_event(tmp_path: Path) -> None:
    app = fake_app()
    before = _quantities(app)
    test_event = next(iter(before))[0]  # the first listed event: the one drift_against names
    recorder = Recorder(app)
    report = tmp_path / "drift.json"
    code = drift_against(recorder, "--json", str(report), "--phases", "fuzzing,stateful", *FAST)

    data = _report(report)
    assert code == 0, data["reason"]
    event_ids = {
        body.get("eventId")
        for method, path, body in recorder.seen
        if method == "POST" and path == "/tickets/create" and isinstance(body, dict)
    }
    well_formed = {e for e in event_ids if isinstance(e, str) and re.fullmatch("[0-9a-f]{24}", e)}
    assert well_formed == {test_event}  # every purchase that could sell names the test event
    probes = {p["name"]: p["status"] for p in data["probes"]}
    assert probes["purchase_new_participant"] == "passed"
    sold = {key: n - _quantities(app)[key] for key, n in before.items()}
    assert {event for (event, _), n in sold.items() if n} == {test_event}
    # The probes buy 3 tickets; generated purchases one ticket per line, not hundreds.
    assert 3 <= sum(sold.values()) <= 30


def test_the_budget_stops_the_run(tmp_path: Path) -> None:
    recorder = Recorder(fake_app())
    report = tmp_path / "drift.json"
    code = drift_against(
        recorder, "--json", str(report), "--max-requests", "60", *FAST, writes=False
    )

    assert code == 2
    assert "budget of 60 requests" in _report(report)["reason"]
    assert len(recorder.seen) <= 60


def test_429_and_retry_after_are_waited_out(tmp_path: Path) -> None:
    count = {"n": 0}

    def sometimes_busy(answer: Answer) -> None:
        count["n"] += 1
        if count["n"] % 25 == 3:  # deterministic: every 25th answer, from the 3rd
            answer.status = 429
            answer.body = {"success": False, "code": "RATE_LIMITED", "message": "slow down"}
            answer.headers = {"Retry-After": "0"}

    report = tmp_path / "drift.json"
    app = Rewrite(fake_app(), response=sometimes_busy)
    code = drift_against(app, "--json", str(report), "--phases", "fuzzing", *FAST)

    data = _report(report)
    assert code == 0, data["reason"]
    assert any("answer(s) were 429" in note for note in data["notes"])
    limited = [a for a in data["assumptions"] if a["key"] == "rate-limiting"]
    assert limited[0]["status"] == "confirmed"


def test_retry_after_is_bounded() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("86400") == 30.0
    assert parse_retry_after("-5") == 0.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    assert parse_retry_after("later") is None


def test_the_guard_refuses_writes_a_target_does_not_allow() -> None:
    live = Target.live("https://api.example/developers/v1.0", "t")
    with pytest.raises(WriteRefused):
        RunGuard(live).admit("POST", "/tickets/create", {"eventId": "a" * 24})
    with pytest.raises(WriteRefused):
        RunGuard(live).admit("DELETE", "/event/" + "a" * 24, None)
    allowed = RunGuard(Target.live(live.base_url, "t", allow_writes=True, test_event_id="b" * 24))
    assert allowed.admit("POST", "/tickets/create", {"eventId": "a" * 24})["eventId"] == "b" * 24
    # A malformed id is left alone: the request still tests validation.
    assert allowed.admit("POST", "/tickets/create", {"eventId": "zz"})["eventId"] == "zz"
    with pytest.raises(TargetError):
        Target.live(live.base_url, "t", allow_writes=True)


def test_the_token_is_never_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    secret = "sk-live-5f3a9c0e7d"

    def drifted(answer: Answer) -> None:  # findings, so that curls are written
        if answer.operation == "listTickets":
            answer.content_type = "text/plain"

    app = Rewrite(create_app(Settings(token=secret)), response=drifted)
    md, xml, js = tmp_path / "d.md", tmp_path / "d.xml", tmp_path / "d.json"
    code = drift_against(
        app,
        "--report",
        str(md),
        "--junit",
        str(xml),
        "--json",
        str(js),
        "--phases",
        "fuzzing",
        *FAST,
        token=secret,
        other_token=f"{secret}-2",
    )
    captured = capsys.readouterr()

    assert code == 1
    for text in (
        captured.out,
        captured.err,
        caplog.text,
        md.read_text(),
        xml.read_text(),
        js.read_text(),
    ):
        assert secret not in text
    markdown = md.read_text()
    assert '-H "Authorization: Bearer $GOEVENT_TOKEN"' in markdown
    assert "- **Spec says:**" in markdown
    assert "- **Server did:**" in markdown
    suite = ET.parse(xml).getroot()
    assert int(suite.get("failures", "0")) >= 1
    finding = next(f for f in _report(js)["findings"] if f["check"] == "content_type_conformance")
    assert finding["operation"] == "listTickets"
    assert "$GOEVENT_TOKEN" in finding["curl"]
