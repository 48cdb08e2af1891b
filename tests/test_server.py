"""The HTTP server users get (granian, ``mockserver.server``) on real sockets: its bounds,
its access log, its clean stop, latency and readiness through ``goevent-mock serve``."""

from __future__ import annotations

import logging
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace

import httpx
import pytest

from mockserver import Settings, create_app
from mockserver.server import serve_in_thread

from .conftest import API, DOCS_FIXTURE, TOKEN, bearer
from .test_fake_cli import CLI, clean_env


def _settings(**values: object) -> Settings:
    return replace(Settings(fixtures=DOCS_FIXTURE), port=0, **values)  # type: ignore[arg-type]


@pytest.fixture
def bounded() -> Iterator[tuple[str, int, object]]:
    """A fake with a 1 s header timeout and a 16 KiB header limit, on a free port."""
    app = create_app(Settings(fixtures=DOCS_FIXTURE))
    with serve_in_thread(app, _settings(header_timeout=1.0, max_header_bytes=16384)) as root:
        yield root, int(root.rsplit(":", 1)[1]), app


def _read_until_closed(sock: socket.socket, limit: float) -> bytes:
    sock.settimeout(limit)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def _send_until_refused(sock: socket.socket, chunk: bytes, total: int) -> int:
    """Send up to ``total`` bytes; the count sent when the server stopped reading."""
    sent = 0
    try:
        while sent < total:
            sock.sendall(chunk)
            sent += len(chunk)
    except (BrokenPipeError, ConnectionResetError):
        return sent
    return sent


def _send_slowly(sock: socket.socket, data: bytes, pause: float) -> bool:
    """Send ``data`` a byte at a time; False if the server closed the connection first."""
    try:
        for byte in data:
            sock.sendall(bytes([byte]))
            time.sleep(pause)
    except (BrokenPipeError, ConnectionResetError):
        return False
    return True


def test_a_100_mb_header_is_refused_at_once_and_the_server_goes_on(
    bounded: tuple[str, int, object],
) -> None:
    root, port, app = bounded
    began = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"GET /developers/v1.0/events HTTP/1.1\r\nHost: fake\r\nX-Big: ")
        sent = _send_until_refused(sock, b"a" * 65536, 100 * 1024 * 1024)
        answer = _read_until_closed(sock, 10)
    elapsed = time.monotonic() - began
    # What the kernel buffers on loopback (a few MB) is all that is sent: not 100 MB.
    assert sent < 8 * 1024 * 1024, "the server read far beyond its header limit"
    assert elapsed < 5, elapsed
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:100]
    # Nothing was journaled or changed: the request never reached the fake.
    assert app.state.boxes.default.journal.entries() == []  # type: ignore[attr-defined]
    r = httpx.get(root + API + "/events", headers=bearer(TOKEN))
    assert r.status_code == 200
    assert len(r.json()["events"]) > 0


def test_a_connection_that_sends_nothing_is_closed_after_the_header_timeout(
    bounded: tuple[str, int, object],
) -> None:
    _, port, app = bounded
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        began = time.monotonic()
        assert _read_until_closed(sock, 10) == b""  # closed, no answer
        elapsed = time.monotonic() - began
    assert 0.8 < elapsed < 4, elapsed
    assert app.state.boxes.default.journal.entries() == []  # type: ignore[attr-defined]


def test_an_idle_keep_alive_connection_and_a_slow_client_are_closed_too(
    bounded: tuple[str, int, object],
) -> None:
    _, port, _ = bounded
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"GET /_mock/health HTTP/1.1\r\nHost: fake\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
        began = time.monotonic()
        assert _read_until_closed(sock, 10) == b""
        assert 0.8 < time.monotonic() - began < 4
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        began = time.monotonic()
        request = b"GET /_mock/health HTTP/1.1\r\nHost: a-slow-client\r\n\r\n"  # 10 s
        assert not _send_slowly(sock, request, 0.2)
        assert time.monotonic() - began < 4


def test_the_limits_are_checked_at_start_with_what_is_allowed() -> None:
    from mockserver.server import check_bounds

    with pytest.raises(ValueError, match="max_header_bytes must be at least 8192, got 100"):
        check_bounds(_settings(max_header_bytes=100))
    with pytest.raises(ValueError, match="header_timeout must be between 0 and 3600 s, got 0"):
        check_bounds(_settings(header_timeout=0.0))
    with pytest.raises(ValueError, match="backlog must be at least 1, got 0"):
        check_bounds(_settings(backlog=0))


def test_the_access_log_has_one_line_per_request_without_tokens(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = create_app(Settings(fixtures=DOCS_FIXTURE))
    caplog.set_level(logging.INFO, logger="goevent_mock.access")
    with serve_in_thread(app, _settings(access_log=True)) as root:
        r = httpx.get(root + API + "/events?page=1", headers=bearer(TOKEN))
        assert r.status_code == 200
        j = httpx.get(root + "/_mock/journal?token=sandbox-secret-42&limit=5")
        assert j.status_code in (200, 400, 404)
        assert httpx.get(root + API + "/events").status_code == 401
    lines = [rec.getMessage() for rec in caplog.records if rec.name == "goevent_mock.access"]
    assert len(lines) == 3, lines
    assert '"GET /developers/v1.0/events?page=1 HTTP/1.1" 200 ' in lines[0]
    assert '"GET /_mock/journal?token=***&limit=5 HTTP/1.1" ' in lines[1]
    assert f" {j.status_code} " in lines[1]
    assert '"GET /developers/v1.0/events HTTP/1.1" 401 ' in lines[2]
    assert lines[0].startswith("127.0.0.1:")
    text = "\n".join(lines)
    assert TOKEN not in text
    assert "sandbox-secret-42" not in text


def test_latency_is_served_on_a_socket(caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(Settings(fixtures=DOCS_FIXTURE, latency="150ms"))
    with serve_in_thread(app, _settings()) as root:
        began = time.monotonic()
        r = httpx.get(root + API + "/events", headers=bearer(TOKEN))
        elapsed = time.monotonic() - began
    assert r.status_code == 200
    assert r.json()["events"]
    assert elapsed >= 0.15
    (entry,) = app.state.boxes.default.journal.entries()
    assert (entry.operation, entry.status) == ("listEvents", 200)


# -- goevent-mock serve: a clean stop --------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_finishes_the_request_in_flight_prints_one_line_and_exits_0(
    sig: signal.Signals,
) -> None:
    process = subprocess.Popen(
        [*CLI, "serve", "--port", "0", "--latency", "800ms", "--header-timeout", "5"],
        env=clean_env(GOEVENT_MOCK_MAX_HEADER_BYTES="20000"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = [process.stdout.readline() for _ in range(4)]
        assert banner[0].startswith("GoEvent fake listening on "), banner
        base = banner[0].split()[-1]
        answers: list[httpx.Response] = []

        def purchase_in_flight() -> None:
            with httpx.Client(timeout=10) as client:
                answers.append(client.get(base + "/events", headers=bearer(TOKEN)))

        caller = threading.Thread(target=purchase_in_flight)
        caller.start()
        time.sleep(0.3)  # the request is in flight: it waits its 800 ms of latency
        process.send_signal(sig)
        caller.join(10)
        out, err = process.communicate(timeout=10)  # reads to the end, closes both pipes
        code = process.returncode
    finally:
        if process.poll() is None:  # pragma: no cover - only when the test fails
            process.kill()
            process.communicate()
    assert [a.status_code for a in answers] == [200]
    assert answers[0].json()["events"]
    assert code == 0
    assert out == f"goevent-mock: stopped ({sig.name})\n"
    assert "Traceback" not in err
    assert err == ""


def test_a_process_that_served_in_a_thread_exits_cleanly_at_once() -> None:
    """granian's own threads outlive serve(); an interpreter that ended before them was
    aborted (exit 134). Exiting right after the server stops must be a plain exit 0."""
    script = (
        "import httpx\n"
        "from mockserver.http import create_app\n"
        "from mockserver.server import serve_in_thread\n"
        "with serve_in_thread(create_app()) as root:\n"
        "    assert httpx.get(root + '/_mock/health').status_code == 200\n"
        "print('served')\n"
    )
    for _ in range(3):
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
        )
        assert (done.returncode, done.stdout, "panicked" in done.stderr) == (0, "served\n", False)
