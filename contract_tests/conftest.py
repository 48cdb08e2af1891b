"""The contract suite's target: the fake in-process (default), the fake over HTTP, or any server.

=========================================  ==========================================
nothing set                                the fake in-process (ASGI, no socket)
``GOEVENT_TARGET=http``                    the fake on granian, on a free port
``GOEVENT_BASE_URL`` + ``GOEVENT_TOKEN``   any server: the live API (read-only unless
                                           ``GOEVENT_ALLOW_WRITES=1`` and
                                           ``GOEVENT_TEST_EVENT_ID``)
=========================================  ==========================================

Also: ``GOEVENT_OTHER_TOKEN`` (isolation), ``GOEVENT_MAX_REQUESTS`` (budget of the
whole session, default 1000), ``GOEVENT_FAIL_ON_ADDITIVE=0`` (fields the spec
does not know are reported but do not fail).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest

from mockserver import Settings, create_app
from mockserver.drift.contract import Contract, load_contract
from mockserver.drift.guard import Api, RunGuard, activate
from mockserver.drift.target import ENV, Target
from mockserver.testing import asgi_client, serve_in_thread

FAIL_ON_ADDITIVE = "GOEVENT_FAIL_ON_ADDITIVE"


def _kind() -> str:
    if os.environ.get(ENV["base_url"]):
        return "live"
    kind = os.environ.get(ENV["target"], "inprocess").strip().lower() or "inprocess"
    if kind not in ("inprocess", "http"):
        raise pytest.UsageError(f"{ENV['target']} must be inprocess or http, got {kind!r}")
    return kind


def pytest_report_header(config: pytest.Config) -> str:
    """The one line, before anything runs, saying what the suite will and will not do."""
    kind = _kind()
    if kind == "live":
        target = Target.from_env()
        assert target is not None
        return target.banner()
    if kind == "http":
        return Target.served_fake("http://127.0.0.1:<free port>").banner()
    return Target.in_process(None).banner()


@pytest.fixture(scope="session")
def target() -> Iterator[Target]:
    """The server under test, for the whole session (one fake, reset before each test)."""
    kind = _kind()
    if kind == "live":
        live = Target.from_env()
        assert live is not None
        yield live
    elif kind == "http":
        with serve_in_thread(create_app(Settings())) as root:
            yield Target.served_fake(root)
    else:
        yield Target.in_process(create_app(Settings()))


_GUARDS: list[RunGuard] = []


@pytest.fixture(scope="session")
def session_guard(target: Target) -> RunGuard:
    """One guard for the session: the request budget is the whole suite's."""
    guard = RunGuard(target)
    _GUARDS.append(guard)
    return guard


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """What the suite cost: the requests it sent (the budget counts the same)."""
    for guard in _GUARDS:
        budget = guard.target.max_requests
        terminalreporter.write_line(
            f"goevent contract run: {guard.sent} requests to {guard.target.label}"
            + (f" (budget {budget})" if budget else "")
            + (f"; {guard.rate_limited} answered 429" if guard.rate_limited else "")
        )


@pytest.fixture
def guard(target: Target, session_guard: RunGuard) -> Iterator[RunGuard]:
    """The session's guard, active for this test, with the fake (if it is one) freshly reset."""
    if target.is_fake:
        assert target.fake_root is not None
        client = (
            asgi_client(target.app, target.fake_root)
            if target.app is not None
            else httpx.Client(base_url=target.fake_root)
        )
        with client:
            assert client.post("/_mock/reset").status_code == 200
    with activate(session_guard):
        yield session_guard
    refused = session_guard.refused_operations()
    assert not refused, f"token refused: {', '.join(refused)} never got past 401/403"


@pytest.fixture
def api(target: Target, guard: RunGuard) -> Iterator[Api]:
    with Api(target, guard) as client:
        yield client


@pytest.fixture(scope="session")
def contract() -> Contract:
    return load_contract()


@pytest.fixture(scope="session")
def fail_on_additive() -> bool:
    return os.environ.get(FAIL_ON_ADDITIVE, "1") not in ("0", "false", "no")
