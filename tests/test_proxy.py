"""``goevent-mock proxy``: forwards unchanged, reports drift seen in ordinary traffic, never leaks.

Every test runs real servers on real sockets: the fake (or a drifted variant of
it) as the upstream, the proxy in front of it, plain ``httpx`` as the client.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from mockserver.testing import serve_in_thread

from .proxy_support import (
    BASE,
    TOKEN,
    TOKEN_2,
    VARIANTS,
    Variant,
    client_traffic,
    fake_app,
    serve,
    serve_proxy,
)

ROOT = Path(__file__).parents[1]
CLI = [str(Path(sys.executable).parent / "goevent-mock")]
FROZEN = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _report(root: str) -> dict[str, Any]:
    reply = httpx.get(root + "/_proxy/report.json", timeout=30)
    assert reply.status_code == 200
    data: dict[str, Any] = reply.json()
    return data


def _requests(root: str) -> list[httpx.Response]:
    """Every kind of exchange, sent to ``root``: reads, a purchase, errors, a non-API path."""
    auth = {"Authorization": f"Bearer {TOKEN}"}
    out = []
    with httpx.Client(base_url=root, headers=auth, timeout=10) as client:
        events = client.get(BASE + "/events", params={"page": 1, "limit": 3})
        out.append(events)
        event_id = events.json()["events"][0]["id"]
        out.append(client.get(f"{BASE}/event/{event_id}"))
        tickets = client.get(BASE + "/tickets", params={"eventId": event_id})
        out.append(tickets)
        ticket_id = tickets.json()["tickets"][0]["id"]
        out.append(client.post(BASE + "/tickets/create", json={
            "eventId": event_id, "tickets": [{"ticket_id": ticket_id, "quantity": 1}],
            "participant": {"last_name": "Same", "first_name": "Both", "email": "both@example.com",
                            "phone": "+1 555 0101"},
        }))  # fmt: skip
        out.append(client.get(BASE + "/participants", params={"eventId": event_id, "limit": 100}))
        out.append(client.get(BASE + "/tickets", params={"eventId": event_id}))
        out.append(client.get(BASE + "/event/" + "0" * 24))
        out.append(client.get(BASE + "/events", params={"limit": 0}))
        out.append(client.post(BASE + "/tickets/create", content=b"{not json",
                               headers={"Content-Type": "application/json"}))  # fmt: skip
        out.append(client.get(BASE + "/nowhere"))
        out.append(client.get("/_mock/health"))
    out.append(httpx.get(root + BASE + "/events", timeout=10))  # no token
    return out


def _frozen_fake() -> Any:
    app = fake_app()
    app.state.store.clock.freeze(FROZEN)
    return app


def test_traffic_through_the_proxy_is_byte_identical_to_traffic_straight_to_the_fake() -> None:
    direct_app, proxied_app = _frozen_fake(), _frozen_fake()
    # One port for both fakes in turn: ticket links name the host the fake was asked on.
    port = _free_port()
    with serve(direct_app, port) as direct:
        straight = _requests(direct)
    with serve(proxied_app, port) as upstream, serve_proxy(upstream) as (root, _):
        through = _requests(root)
        report = _report(root)
    assert len(straight) == len(through) == 12
    for a, b in zip(straight, through, strict=True):
        assert (a.request.method, a.request.url.path) == (b.request.method, b.request.url.path)
        assert a.status_code == b.status_code
        assert a.content == b.content  # byte for byte
        # Every header as the fake sent it; each server stamps its own Date.
        assert [(k, v) for k, v in a.headers.raw if k.lower() != b"date"] == [
            (k, v) for k, v in b.headers.raw if k.lower() != b"date"
        ]
        assert len(b.headers.get_list("date")) == 1
    assert [r.status_code for r in through] == [200, 200, 200, 200, 200, 200, 404, 400, 400,
                                                404, 200, 401]  # fmt: skip
    # The state behind the proxy changed exactly as the direct one did: one ticket sold.
    event_id = straight[0].json()["events"][0]["id"]

    def left(app: Any) -> list[int]:
        store = app.state.store
        return [t.quantity for t in store.get_event(store.organizers[0], event_id).tickets]

    fresh = left(_frozen_fake())
    assert left(direct_app) == [fresh[0] - 1, *fresh[1:]]
    assert left(proxied_app) == left(direct_app)
    assert len(proxied_app.state.store.orders) == len(direct_app.state.store.orders) == 1
    # The unmodified fake, through honest and mistaken requests alike, yields no finding.
    assert report["findings"] == []
    assert report["status"] == "NO DRIFT"
    assert report["requests"] == 11  # the API exchanges; /_mock/health is forwarded unchecked


async def _echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """An upstream that answers with the request it received, as JSON."""
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    seen = {
        "method": scope["method"],
        "path": scope["path"],
        "query": scope["query_string"].decode(),
        "headers": [[k.decode(), v.decode()] for k, v in scope["headers"]],
        "body": body.decode(),
    }
    out = orjson.dumps(seen)
    await send({"type": "http.response.start", "status": 207, "headers": [
        (b"content-type", b"application/x-echo"), (b"x-upstream", b"yes"),
        (b"set-cookie", b"a=1"), (b"set-cookie", b"b=2"),
    ]})  # fmt: skip
    await send({"type": "http.response.body", "body": out})


def test_the_request_reaches_the_upstream_unchanged_and_its_answer_comes_back_unchanged() -> None:
    headers = {"Authorization": "Bearer t0ken-x", "X-Custom": "kept", "Accept": "*/*",
               "User-Agent": "client/1.0", "Content-Type": "application/json"}  # fmt: skip
    with serve_in_thread(_echo) as upstream, serve_proxy(upstream) as (root, _):
        reply = httpx.post(root + BASE + "/tickets/create?x=1&x=2", content=b'{"a": [1, 2]}',
                           headers=headers, timeout=10)  # fmt: skip
    assert reply.status_code == 207
    assert reply.headers["x-upstream"] == "yes"
    assert reply.headers.get_list("set-cookie") == ["a=1", "b=2"]
    assert reply.headers["content-type"] == "application/x-echo"
    seen = reply.json()
    assert seen["method"] == "POST"
    assert seen["path"] == BASE + "/tickets/create"
    assert seen["query"] == "x=1&x=2"
    assert seen["body"] == '{"a": [1, 2]}'
    sent = {k.lower(): v for k, v in reply.request.headers.items()}
    got = dict(seen["headers"])
    assert got["host"] == upstream.removeprefix("http://")
    for name in ("authorization", "x-custom", "accept", "user-agent", "content-type",
                 "content-length", "accept-encoding"):  # fmt: skip
        assert got[name] == sent[name], name
    assert "connection" not in got or got["connection"] == "keep-alive"
    assert len(got) == len([k for k in sent if k != "connection"]) + ("connection" in got)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_upstream_that_cannot_be_reached_is_a_502_in_the_error_shape() -> None:
    dead = f"http://127.0.0.1:{_free_port()}"
    with serve_proxy(dead) as (root, _):
        reply = httpx.get(root + BASE + "/events", headers={"Authorization": "Bearer t"})
        report = _report(root)
    assert reply.status_code == 502
    body = reply.json()
    assert body["success"] is False
    assert body["code"] == "BAD_GATEWAY"
    assert "could not be reached" in body["message"]
    assert "--upstream" in body["message"]
    assert report["findings"] == []  # no answer is not drift
    assert any("never answered" in n for n in report["notes"])


async def _slow(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    if scope["path"].endswith("/events"):
        await asyncio.sleep(3)
    body = b'{"success": false, "code": "UNAVAILABLE", "message": "down"}'
    await send({"type": "http.response.start", "status": 503,
                "headers": [(b"content-type", b"application/json")]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


def test_a_silent_upstream_is_a_504_but_an_upstream_error_passes_through() -> None:
    with serve_in_thread(_slow) as upstream, serve_proxy(upstream, timeout=0.5) as (root, _):
        silent = httpx.get(root + BASE + "/events", timeout=10)
        failing = httpx.get(root + BASE + "/tickets", params={"eventId": "a" * 24}, timeout=10)
        report = _report(root)
    assert silent.status_code == 504
    assert silent.json()["code"] == "GATEWAY_TIMEOUT"
    assert "0.5 s" in silent.json()["message"]
    # The upstream answered: its 503 is the client's answer, unchanged, and a finding.
    assert failing.status_code == 503
    assert failing.content == b'{"success": false, "code": "UNAVAILABLE", "message": "down"}'
    assert [(f["operation"], f["check"]) for f in report["findings"]] == [
        ("listTickets", "not_a_server_error")
    ]


def test_unknown_proxy_endpoint_is_a_404_that_lists_the_real_ones() -> None:
    with serve_in_thread(fake_app()) as upstream, serve_proxy(upstream) as (root, _):
        reply = httpx.get(root + "/_proxy/nope")
        report = _report(root)
    assert reply.status_code == 404
    assert reply.json()["success"] is False
    assert "GET /_proxy/report" in reply.json()["message"]
    assert report["requests"] == 0


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_ordinary_traffic_reports_each_variants_drift_on_the_right_operation(name: str) -> None:
    variant: Variant = VARIANTS[name]
    with serve_in_thread(variant.build()) as upstream, serve_proxy(upstream) as (root, _):
        client_traffic(root)
        report = _report(root)
    found = {(f["operation"], f["check"]) for f in report["findings"]}
    assert found & set(variant.expect), f"{name}: expected one of {variant.expect}, got {found}"
    kinds = {
        f["kind"] for f in report["findings"] if (f["operation"], f["check"]) in variant.expect
    }
    assert variant.kind in kinds
    assert report["exit_code"] == 1
    assert report["status"] == "DRIFT FOUND"


def test_a_renamed_buyer_is_reported_from_ordinary_traffic_without_the_buyers_name() -> None:
    buyer = {"last_name": "Vandersloot", "first_name": "Philomena",
             "email": "philomena.vandersloot@corp.example", "phone": "+31 20 555 0199"}  # fmt: skip
    with (
        serve_in_thread(VARIANTS["participant_renamed"].build()) as upstream,
        serve_proxy(upstream) as (root, _),
    ):
        seen = client_traffic(root, buyer=buyer)
        report = _report(root)
        markdown = httpx.get(root + "/_proxy/report", timeout=30).text
    assert seen["purchase"] == 200
    echoes = {
        (f["operation"], f["check"], f["server_did"], tuple(f["assumptions"]))
        for f in report["findings"]
        if f["check"] in ("echo_fidelity", "purchase_echoes_request")
    }
    assert echoes == {
        # The purchase's answer, then the participant list: both show the name upper-cased.
        ("createTickets", "purchase_echoes_request",
         "$.participant.last_name: shown in other letter case", ("echo-fidelity",)),
        ("listParticipants", "echo_fidelity", "last_name shown in other letter case",
         ("echo-fidelity",)),
    }  # fmt: skip
    verdict = next(v for v in report["assumptions"] if v["key"] == "echo-fidelity")
    assert verdict["status"] == "refuted"
    assert {f["check"] for f in report["findings"]} == {"echo_fidelity", "purchase_echoes_request"}
    for secret in (*buyer.values(), buyer["last_name"].upper(), TOKEN):
        assert secret not in markdown
        assert secret not in json.dumps(report)


def test_reports_are_readable_live_written_on_demand_and_hold_no_personal_data(
    tmp_path: Path,
) -> None:
    files = {"report": tmp_path / "r.md", "json": tmp_path / "r.json", "junit": tmp_path / "r.xml"}
    buyer = {"last_name": "Vandersloot", "first_name": "Philomena",
             "email": "philomena.vandersloot@corp.example", "phone": "+31 20 555 0199"}  # fmt: skip
    with (
        serve_in_thread(VARIANTS["id_format"].build()) as upstream,
        serve_proxy(upstream, **files) as (root, _),
    ):
        client_traffic(root, buyer=buyer)
        live = httpx.get(root + "/_proxy/report").text
        junit_live = httpx.get(root + "/_proxy/report.xml").text
        written = httpx.post(root + "/_proxy/write").json()["written"]
    assert sorted(written) == sorted(str(p) for p in files.values())
    markdown = files["report"].read_text()
    assert markdown.startswith("# GoEvent drift report — DRIFT FOUND")
    assert "### 1. createTickets" in markdown
    assert '-H "Authorization: Bearer $GOEVENT_TOKEN"' in markdown
    assert "found by proxy (passive)" in markdown
    assert live.split("Target:")[0] == markdown.split("Target:")[0]
    data = json.loads(files["json"].read_text())
    assert {f["operation"] for f in data["findings"]} >= {"listEvents", "getEvent", "createTickets"}
    suite = ET.fromstring(files["junit"].read_text())
    assert int(suite.get("failures", "0")) >= 3
    assert ET.fromstring(junit_live).get("failures") == suite.get("failures")
    # The participant the variant echoed back is shown, anonymised: no original value.
    assert "oneOf not satisfied (at $.participant" in markdown
    for path in files.values():
        text = path.read_text()
        for secret in (TOKEN, TOKEN_2, *buyer.values()):
            assert secret not in text, (path.name, secret)


def _proxy_process(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("GOEVENT_MOCK_")}
    return subprocess.Popen([*CLI, "proxy", "--port", "0", *args], cwd=ROOT,
                            env={**environ, **(env or {})}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_cli_writes_reports_and_recording_when_stopped(tmp_path: Path, stop: int) -> None:
    report, record = tmp_path / "drift.md", tmp_path / "rec.json"
    buyer = {"last_name": "Oyelaran", "first_name": "Temitope",
             "email": "temitope.oyelaran@corp.example", "phone": "+234 1 555 0142"}  # fmt: skip
    with serve_in_thread(VARIANTS["status_created"].build()) as upstream:
        process = _proxy_process("--report", str(report), "--record", str(record),
                                 env={"GOEVENT_MOCK_UPSTREAM": upstream + BASE})  # fmt: skip
        try:
            assert process.stdout is not None
            first = process.stdout.readline()
            match = re.fullmatch(r"GoEvent proxy listening on (http://127\.0\.0\.1:\d+)"
                                 + re.escape(BASE) + r" → (\S+)\n", first)  # fmt: skip
            assert match, first
            root = match.group(1)
            assert match.group(2) == upstream + BASE
            client_traffic(root, buyer=buyer)
            assert not report.exists()  # written on stop, not before
            process.send_signal(stop)
            out, err = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
    assert process.returncode == 1, err  # drift found
    assert "goevent proxy: DRIFT FOUND (exit 1)" in out
    assert "[broke] createTickets: Undocumented HTTP status code (status_code_conformance)" in out
    assert f"wrote {report}" in out
    assert f"wrote {record}" in out
    assert "status_code_conformance" in report.read_text()
    assert json.loads(record.read_text())["events"]
    for text in (first + out, err, report.read_text(), record.read_text()):
        for secret in (TOKEN, TOKEN_2, *buyer.values()):
            assert secret not in text, secret


def test_cli_without_upstream_says_how_to_give_one() -> None:
    process = _proxy_process()
    out, err = process.communicate(timeout=30)
    assert process.returncode == 2
    assert out == ""
    assert "no upstream: give --upstream URL or set GOEVENT_MOCK_UPSTREAM" in err


def test_cli_help_names_every_flag() -> None:
    result = subprocess.run([*CLI, "proxy", "--help"], capture_output=True, text=True,
                            timeout=30, check=False)  # fmt: skip
    assert result.returncode == 0
    for flag in ("--upstream", "--host", "--port", "--upstream-timeout", "--report", "--json",
                 "--junit", "--record", "--record-salt", "--fail-on-additive"):  # fmt: skip
        assert flag in result.stdout, flag


def test_a_request_body_over_the_proxy_limit_is_refused_and_not_forwarded() -> None:
    calls: list[str] = []

    async def counting(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            calls.append(scope["path"])
        await _echo(scope, receive, send)

    huge = b"x" * (16 * 1024 * 1024 + 1)
    with serve_in_thread(counting) as upstream, serve_proxy(upstream) as (root, _):
        refused = httpx.post(root + BASE + "/tickets/create", content=huge, timeout=30)
        fine = httpx.post(root + BASE + "/tickets/create", content=b"{}", timeout=30)
    assert refused.status_code == 413
    assert refused.json()["code"] == "PAYLOAD_TOO_LARGE"
    assert "16777216 bytes" in refused.json()["message"]
    assert fine.status_code == 207
    assert calls == [BASE + "/tickets/create"]  # only the second request reached the upstream
