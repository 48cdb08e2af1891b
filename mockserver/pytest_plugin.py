"""pytest plugin of goevent-mock: a fresh GoEvent fake for every test, nothing to start.

Installed with the package (entry point ``pytest11``), it gives:

``goevent_mock``
    the fake in-process; ``goevent_mock.client`` is an ``httpx.Client`` whose base URL is
    the API base (``…/developers/v1.0``) and which sends the organizer's token.
``goevent_mock_server``
    the same on a real socket (one server per session, a fresh fake for each test),
    for code that is not Python or needs a URL.
``@pytest.mark.goevent_mock(seed=7, fixtures="data.json", rate_limit="5/60s", ...)``
    any :class:`mockserver.Settings` field, for one test (or a class, a module).
``goevent_mock_settings``
    the settings both fixtures use; override it in a ``conftest.py`` for a whole suite.

>>> def test_buy(goevent_mock):  # doctest: +SKIP
...     events = goevent_mock.client.get("/events").json()["events"]
...     goevent_mock.assert_called("listEvents", times=1)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import httpx
    from starlette.applications import Starlette
    from starlette.types import ASGIApp, Receive, Scope, Send

    from .faults import FaultRule
    from .http.state import FakeState
    from .journal import JournalEntry
    from .sandbox import Box
    from .settings import Settings
    from .store import Clock, Store

__all__ = ["GoEventMock"]

MARKER = "goevent_mock"
# The plugin loads in every pytest run where the package is installed: the fake's own
# modules (Starlette, Faker, jsonschema) are imported by the fixtures, not here.


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**settings): settings of the goevent_mock fixtures for this test, any field "
        "of mockserver.Settings (seed=, fixtures=, token=, rate_limit=, faults=, latency=, ...)",
    )


class GoEventMock:
    """One fake for one test: its app, its URLs, a client, and helpers over its journal."""

    def __init__(self, app: Starlette, root_url: str, *, in_process: bool) -> None:
        self.app = app
        self.url = root_url.rstrip("/")  # the host: the fake's own endpoints are under /_mock
        self.base_url = self.url + self._fake.spec.base_path  # where the GoEvent API is
        self.token: str = self.store.organizers[0].token
        self.tokens: list[str] = [o.token for o in self.store.organizers]
        self._in_process = in_process
        self._clients: list[httpx.Client] = []
        self.client = self.client_for(self.token)
        # The fake's own endpoints, at the host: control.get("/_mock/journal").
        self.control = self._client(self.url, None)

    # -- what a test talks to ------------------------------------------------

    @property
    def _fake(self) -> FakeState:
        from .http.state import fake_state

        return fake_state(self.app)

    @property
    def settings(self) -> Settings:
        return self._fake.settings

    @property
    def store(self) -> Store:
        """The default data set (organizers, events, orders), as the store holds it."""
        return self._fake.store

    @property
    def box(self) -> Box:
        return self._fake.boxes.default

    @property
    def clock(self) -> Clock:
        """The fake's now: ``freeze(datetime)``, ``advance(timedelta)``, ``unfreeze()``."""
        return self.store.clock

    def client_for(self, token: str | None, **kwargs: Any) -> httpx.Client:
        """Another client of the API base with ``token`` (None: no Authorization header),
        e.g. a ``sandbox-…`` token or another organizer's. Closed after the test."""
        return self._client(self.base_url, token, **kwargs)

    def _client(self, base_url: str, token: str | None, **kwargs: Any) -> httpx.Client:
        import httpx

        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if self._in_process:
            from .testing import SyncASGITransport

            kwargs["transport"] = SyncASGITransport(self.app)
        client = httpx.Client(base_url=base_url, headers=headers, **kwargs)
        self._clients.append(client)
        return client

    def reset(self) -> None:
        """As if the fake had just started: data, clock, journal, faults, rate limit."""
        self.box.reset()

    # -- faults and rate limits ------------------------------------------------

    def add_fault(self, rule: str) -> FaultRule:
        """Add a fault rule, e.g. ``"createTickets:status=503,times=1"`` (see the docs)."""
        from .faults import parse_rule

        added = self.box.faults.add(parse_rule(rule, self._operations()))
        self.box.refresh()
        return added

    def clear_faults(self) -> None:
        self.box.faults.replace([])
        self.box.refresh()

    def set_rate_limit(self, limit: str | None, mode: str = "fixed") -> None:
        """``"5/60s"``: 5 requests per minute and token; None: no limit."""
        from .ratelimit import RateLimit

        self.box.set_rate_limit(RateLimit.parse(limit, mode) if limit is not None else None)

    # -- the journal -------------------------------------------------------------

    def _operations(self) -> set[str]:
        return set(self._fake.operation_ids)

    def calls(
        self, operation: str | None = None, *, status: int | str | None = None
    ) -> list[JournalEntry]:
        """The journaled requests, oldest first: all, or those of one operationId and status
        (``429``, ``"4xx"``, ``"dropped"``)."""
        if operation is not None and operation not in self._operations():
            known = ", ".join(sorted(self._operations()))
            raise ValueError(f"unknown operation {operation!r}; one of: {known}")
        journal = self.box.journal
        if journal is None:
            raise RuntimeError("the journal is off (journal_max=0)")
        return journal.entries(operation, status)

    def assert_called(
        self,
        operation: str,
        *,
        times: int | None = None,
        body: Any = None,
        query: dict[str, Any] | None = None,
        status: int | str | None = None,
    ) -> list[JournalEntry]:
        """Assert ``operation`` was called (``times`` times exactly, if given) with a JSON
        body containing ``body`` (objects compared as subsets), a query containing
        ``query``, and answered ``status``. Returns the matching calls."""
        from .journal import matches, status_matches

        seen = self.calls(operation)
        found = [
            e
            for e in seen
            if (body is None or matches(body, e.body))
            and (query is None or matches(query, e.query))
            and (status is None or status_matches(status, e.status))
        ]
        if (times is None and found) or len(found) == times:
            return found
        wanted = [f"{times} time(s)" if times is not None else "at least once"]
        asked = {"body": body, "query": query, "status": status}
        wanted += [f"{name}={value!r}" for name, value in asked.items() if value is not None]
        lines = [e.describe() for e in seen[-20:]] or ["(no call)"]
        raise AssertionError(
            f"{operation} was expected {', '.join(wanted)}; {len(found)} call(s) match, "
            f"out of {len(seen)} call(s) of {operation}:\n  " + "\n  ".join(lines)
        )

    def assert_not_called(self, operation: str) -> None:
        self.assert_called(operation, times=0)

    def close(self) -> None:
        for client in self._clients:
            client.close()
        self._clients.clear()


class _Swappable:
    """The ASGI app of the session's server: the fake of the current test."""

    def __init__(self) -> None:
        self.app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.app is None:
            raise RuntimeError("goevent_mock_server: no test is running")
        await self.app(scope, receive, send)


def _settings_from(request: pytest.FixtureRequest) -> Settings:
    from dataclasses import fields

    from .settings import Settings

    known = {f.name for f in fields(Settings)}
    values: dict[str, Any] = {}
    for marker in reversed(list(request.node.iter_markers(MARKER))):  # the closest wins
        if marker.args:
            raise pytest.UsageError(f"@pytest.mark.{MARKER} takes keyword arguments only")
        unknown = sorted(set(marker.kwargs) - known)
        if unknown:
            raise pytest.UsageError(
                f"@pytest.mark.{MARKER}: unknown setting {unknown[0]!r}; "
                f"known: {', '.join(sorted(known))}"
            )
        values.update(marker.kwargs)
    if values.get("fixtures") is not None:
        # A relative fixture path is read next to the test file, wherever pytest runs.
        values["fixtures"] = Path(request.path).parent / values["fixtures"]
    if isinstance(values.get("faults"), list | tuple):
        values["faults"] = ";".join(values["faults"])
    return Settings(**values)


@pytest.fixture
def goevent_mock_settings(request: pytest.FixtureRequest) -> Settings:
    """The :class:`mockserver.Settings` of this test's fake: the defaults, then the
    ``goevent_mock`` markers. Override this fixture to change the defaults of a suite."""
    return _settings_from(request)


@pytest.fixture
def goevent_mock(goevent_mock_settings: Settings) -> Iterator[GoEventMock]:
    """A fresh fake for this test, in-process (no socket); see :class:`GoEventMock`."""
    from .http import create_app

    mock = GoEventMock(create_app(goevent_mock_settings), "http://testserver", in_process=True)
    yield mock
    mock.close()


@pytest.fixture(scope="session")
def _goevent_mock_server() -> Iterator[tuple[_Swappable, str]]:
    from dataclasses import replace

    from .server import serve_in_thread
    from .settings import Settings

    holder = _Swappable()
    # The server users get (granian, as `goevent-mock serve`), on a free loopback port.
    with serve_in_thread(holder, replace(Settings(), port=0)) as root:
        yield holder, root


@pytest.fixture
def goevent_mock_server(
    _goevent_mock_server: tuple[_Swappable, str], goevent_mock_settings: Settings
) -> Iterator[GoEventMock]:
    """A fresh fake for this test on a real socket: ``base_url`` is ``http://127.0.0.1:PORT/
    developers/v1.0``. One server serves the whole session; each test gets its own fake."""
    from .http import create_app

    holder, root = _goevent_mock_server
    holder.app = app = create_app(goevent_mock_settings)
    mock = GoEventMock(app, root, in_process=False)
    yield mock
    mock.close()
    holder.app = None
