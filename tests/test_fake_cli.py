"""``goevent-mock serve`` as a user runs it: a subprocess on a free port that
prints its base URL, its token and a curl that works."""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from mockserver import Settings, cli, create_app
from mockserver.testing import asgi_client

from .conftest import API, DOCS_FIXTURE, ROOT, TOKEN, bearer, load_json

# The console script pip installs: what a user runs.
CLI = [str(Path(sys.executable).parent / "goevent-mock")]


@dataclass
class Served:
    process: subprocess.Popen[str]
    lines: list[str]  # what it printed before serving

    @property
    def base(self) -> str:
        match = re.fullmatch(r"GoEvent fake listening on (http://\S+)", self.lines[0])
        assert match, self.lines
        return match.group(1)

    @property
    def token(self) -> str:
        match = re.match(r"\s*token:\s+(\S+)", self.lines[1])
        assert match, self.lines
        return match.group(1)

    @property
    def curl(self) -> list[str]:
        (line,) = [x for x in self.lines if x.strip().startswith("try:")]
        return shlex.split(line.split("try:", 1)[1])


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any GOEVENT_MOCK_* variable, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOEVENT_MOCK_")}
    return {**env, **extra}


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            stream.close()


def _connect_at_once(first_line: str) -> None:
    """The banner is the readiness signal: a script may connect the moment it reads it."""
    match = re.search(r"http://127\.0\.0\.1:(\d+)/", first_line)
    assert match, first_line
    with socket.create_connection(("127.0.0.1", int(match.group(1))), timeout=10) as sock:
        sock.sendall(b"GET /_mock/health HTTP/1.1\r\nHost: fake\r\nConnection: close\r\n\r\n")
        assert sock.recv(64).startswith(b"HTTP/1.1 200 ")


@contextmanager
def serve(*args: str, env: dict[str, str] | None = None) -> Iterator[Served]:
    """Run ``goevent-mock serve --port 0 ARGS``; ready once its banner is printed."""
    environ = clean_env(**(env or {}))
    process = subprocess.Popen(
        [*CLI, "serve", "--port", "0", *args],
        cwd=ROOT,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines: list[str] = []
        for _ in range(5):  # listening, token, try, reset, ui
            line = process.stdout.readline()
            if not lines and line:
                _connect_at_once(line)
            if not line:
                code = process.wait(timeout=10)
                pytest.fail(
                    f"exited with {code}: {process.stderr.read() if process.stderr else ''}"
                )
            lines.append(line.rstrip("\n"))
        yield Served(process, lines)
    finally:
        _stop(process)


def test_serve_prints_the_base_url_the_token_and_a_curl_that_works() -> None:
    with serve("--seed", "7") as served:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+" + re.escape(API), served.base)
        assert served.base.rsplit(":", 1)[1] != "0/developers/v1.0"
        assert served.token == TOKEN
        curl = served.curl
        assert curl[0] == "curl"
        header = curl[curl.index("-H") + 1]
        url = curl[-1]
        assert url.startswith(served.base + "/events")
        # The banner is the readiness signal: the printed curl works right away.
        name, _, value = header.partition(": ")
        r = httpx.get(url, headers={name: value})
        assert r.status_code == 200
        in_process = asgi_client(create_app(Settings(seed=7)), "http://testserver" + API)
        with in_process:
            expected = in_process.get(url.replace(served.base, ""), headers={name: value})
        assert r.content == expected.content
        root = served.base.removesuffix(API)
        assert httpx.get(root + "/_mock/health").json()["status"] == "ok"
        assert "/_mock/reset" in served.lines[3]
        ui = served.lines[4].split()[1]  # "  ui:     http://…/_mock/ui/  (…)"
        assert ui == root + "/_mock/ui/"
        page = httpx.get(ui)
        assert page.status_code == 200
        assert "<title>goevent-mock dashboard</title>" in page.text


def _first_event_name(served: Served, token: str | None = None) -> str:
    r = httpx.get(served.base + "/events", headers=bearer(token or served.token))
    assert r.status_code == 200, r.text
    name: str = r.json()["events"][0]["id"]
    return name


def _expected_first_event(seed: int) -> str:
    store = create_app(Settings(seed=seed)).state.store
    first = store.organizers[0].id
    event_id: str = next(e.id for e in store.events if e.organizer_id == first)
    return event_id


def test_environment_variables_are_honoured_and_a_flag_wins() -> None:
    env = {"GOEVENT_MOCK_SEED": "3", "GOEVENT_MOCK_TOKEN": "env-token"}
    with serve(env=env) as served:
        assert served.token == "env-token"
        assert _first_event_name(served) == _expected_first_event(3)
        r = httpx.get(served.base + "/events", headers=bearer(TOKEN))
        assert r.status_code == 401
        assert _first_event_name(served, "env-token-2")  # organizer 2 follows the token
    with serve("--seed", "4", "--token", "flag-token", env=env) as served:
        assert served.token == "flag-token"
        assert _first_event_name(served) == _expected_first_event(4)
        r = httpx.get(served.base + "/events", headers=bearer("env-token"))
        assert r.status_code == 401


def test_token_makes_t_the_token_of_the_docs_fixtures_only_organizer() -> None:
    with serve("--fixtures", str(DOCS_FIXTURE), "--token", "my-secret-t") as served:
        assert served.token == "my-secret-t"
        assert "other organizers" not in served.lines[1]
        r = httpx.get(
            served.base + "/event/643e7b194937913299554a7d", headers=bearer("my-secret-t")
        )
        assert r.status_code == 200
        assert r.json()["event"]["name"] == "Concert de Jazz"
        assert httpx.get(served.base + "/events", headers=bearer(TOKEN)).status_code == 401
        # A reset keeps the token.
        httpx.post(served.base.removesuffix(API) + "/_mock/reset")
        assert httpx.get(served.base + "/events", headers=bearer("my-secret-t")).status_code == 200


def test_a_bad_fixture_exits_2_with_file_path_and_reason(tmp_path: Path) -> None:
    data = load_json(DOCS_FIXTURE)
    data["events"][1]["organizerId"] = "643e7b000000000000000002"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data), encoding="utf-8")
    result = subprocess.run(
        [*CLI, "serve", "--port", "0", "--fixtures", str(bad)],
        cwd=ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"goevent-mock: cannot start: {bad}: $.events[1].organizerId: "
        "no organizer has id 643e7b000000000000000002\n"
    )


def test_a_bad_environment_variable_exits_2_saying_which() -> None:
    env = clean_env(GOEVENT_MOCK_SEED="seven")
    result = subprocess.run(
        [*CLI, "serve", "--port", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "GOEVENT_MOCK_SEED must be an integer, got 'seven'" in result.stderr


def test_more_than_100_fault_rules_with_latency_exit_2_with_the_reason() -> None:
    """100 --fault rules are allowed; --latency is one more, and the fake refuses to start
    (it used to end in a TooManyFaultRules traceback)."""
    faults = [arg for _ in range(100) for arg in ("--fault", "listEvents:status=503,rate=0.5")]
    result = subprocess.run(
        [*CLI, "serve", "--port", "0", *faults, "--latency", "10ms"],
        cwd=ROOT, env=clean_env(), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert result.stderr == (
        "goevent-mock: cannot start: --fault/--latency (GOEVENT_MOCK_FAULTS/LATENCY): "
        "at most 100 rules, --latency counting as one; got 101\n"
    )
    assert create_app(Settings(faults=";".join(["status=503"] * 100))) is not None


def test_max_body_bytes_is_a_flag_and_a_purchase_over_it_is_413() -> None:
    parser = argparse.ArgumentParser()
    cli._serve_parser(parser.add_subparsers(dest="command"))
    settings = cli._settings(parser.parse_args(["serve", "--max-body-bytes", "100"]))
    assert settings.max_body_bytes == 100
    app = create_app(settings)
    before = asgi_client(app, "http://fake").get("/_mock/state").json()
    r = asgi_client(app, "http://fake" + API).post(
        "/tickets/create", content=b"{" + b" " * 200 + b"}",
        headers={**bearer(TOKEN), "Content-Type": "application/json"},
    )  # fmt: skip
    assert r.status_code == 413
    assert r.json()["code"] == "PAYLOAD_TOO_LARGE"
    assert "limit here is 100 bytes" in r.json()["message"]
    assert asgi_client(app, "http://fake").get("/_mock/state").json() == before
