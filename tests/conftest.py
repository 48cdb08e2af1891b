"""Shared fixtures of the fake's tests: app factories, clients, the state helper.

Most tests talk to the fake in-process (``asgi_client``); the socket tests share
one session-scoped real server (``live``). Every client and server a fixture
opens is closed by it.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from mockserver import DEFAULT_TOKEN, Settings, create_app
from mockserver.testing import asgi_client, serve_in_thread

ROOT = Path(__file__).parents[1]
API = "/developers/v1.0"
HOST = "http://testserver"
TOKEN = DEFAULT_TOKEN
TOKEN_2 = f"{DEFAULT_TOKEN}-2"
DOCS_FIXTURE = ROOT / "fixtures" / "docs-examples.json"
DATA = Path(__file__).parent / "data"
SEED_DIR = DATA / "seed"
TEST_FIXTURES = DATA / "fixtures"

# The document's objects, as placed by fixtures/docs-examples.json.
JAZZ = "643e7b194937913299554a7d"  # Concert de Jazz
CLUB = "67212707e47ff56741acb3a6"  # Jazz Club Night (the GET curls' event)
VIP = "65fff7aada40be007f09ee95"
STANDARD = "65fff7aada40be007f09ee96"
CLUB_VIP = "67212707e47ff56741acb3a7"
JOHN = "697f54811fc6cd47e04c39c3"
JANE = "697f54811fc6cd47e04c39c4"
UNKNOWN_ID = "0123456789abcdef01234567"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


_emails = itertools.count(1)


def new_person(**overrides: str) -> dict[str, str]:
    """A new-participant form with an e-mail no other test uses."""
    n = next(_emails)
    person = {
        "last_name": "Tester",
        "first_name": f"Buyer{n}",
        "email": f"buyer{n}@tests.example",
        "phone": "+33100000000",
    }
    person.update(overrides)
    return person


@dataclass
class Fake:
    """One fake app and the clients that talk to it in-process."""

    app: Starlette
    api: httpx.Client  # organizer 1 (or the fixture's first organizer), under /developers/v1.0
    api2: httpx.Client  # organizer 2's token
    anon: httpx.Client  # no Authorization header
    control: httpx.Client  # the host root, for /_mock/...

    def state(self) -> dict[str, Any]:
        """The whole state, as GET /_mock/state exports it."""
        response = self.control.get("/_mock/state")
        assert response.status_code == 200, response.text
        state: dict[str, Any] = response.json()
        return state

    def event(self, event_id: str) -> dict[str, Any]:
        """The exported fixture record of one event (tickets with quantities, participants)."""
        for event in self.state()["events"]:
            if event["id"] == event_id:
                return dict(event)
        raise KeyError(event_id)

    def quantities(self, event_id: str) -> dict[str, int]:
        return {t["id"]: t["quantity"] for t in self.event(event_id)["tickets"]}

    def participant_ids(self, event_id: str) -> list[str]:
        return [p["id"] for p in self.event(event_id)["participants"]]

    def buy(self, body: Any, token: str = TOKEN) -> httpx.Response:
        return self.api.post("/tickets/create", json=body, headers=bearer(token))

    def all_pages(self, path: str, key: str, limit: int, **params: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        page = 1
        while True:
            r = self.api.get(path, params={**params, "page": page, "limit": limit})
            assert r.status_code == 200, r.text
            body = r.json()
            items.extend(body[key])
            if not body["paginate"]["hasNextPage"]:
                return items
            assert body["paginate"]["nextPage"] == page + 1
            page += 1


FakeFactory = Callable[..., Fake]


def open_fake(app: Starlette, clients: list[httpx.Client]) -> Fake:
    """The clients of ``app`` (appended to ``clients``, for the caller to close)."""
    organizers = app.state.store.organizers
    first = organizers[0].token
    second = organizers[1].token if len(organizers) > 1 else ""
    made = [
        asgi_client(app, HOST + API, headers=bearer(first)),
        asgi_client(app, HOST + API, headers=bearer(second)),
        asgi_client(app, HOST + API),
        asgi_client(app, HOST),
    ]
    clients.extend(made)
    return Fake(app, *made)


@pytest.fixture
def make_fake() -> Iterator[FakeFactory]:
    """``make_fake(seed=7, ...)``: a fake built from ``Settings(**kwargs)`` (or ``app=``)."""
    clients: list[httpx.Client] = []

    def make(app: Starlette | None = None, token: str | None = None, **settings: Any) -> Fake:
        app = app if app is not None else create_app(Settings(token=token, **settings))
        return open_fake(app, clients)

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def fake(make_fake: FakeFactory) -> Fake:
    """The fake with its default generated data (seed 42, 2 organizers)."""
    return make_fake()


@pytest.fixture
def small(make_fake: FakeFactory) -> Fake:
    """A small generated data set (2 organizers x 3 events x 2 ticket types x 7 participants)."""
    return make_fake(
        seed=3, events_per_organizer=3, ticket_types_per_event=2, participants_per_event=7
    )


@pytest.fixture
def docs(make_fake: FakeFactory) -> Fake:
    """The fake serving fixtures/docs-examples.json (one organizer, the document's objects)."""
    return make_fake(fixtures=DOCS_FIXTURE)


def assert_refused(
    fake: Fake,
    response: httpx.Response,
    before: dict[str, Any],
    status: int = 400,
    code: str = "VALIDATION_ERROR",
    field: str | None = None,
    says: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The answer is ``status`` in the Error shape, naming ``field``; the state is ``before``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert body["success"] is False
    assert body["code"] == code
    assert isinstance(body["message"], str)
    assert body["message"]
    assert set(body) <= {"success", "code", "message", "field"}
    if field is not None:
        assert body["field"] == field
    for words in says:
        assert words in body["message"], body["message"]
    assert fake.state() == before
    return body


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def first_event(fake: Fake, token: str = TOKEN) -> dict[str, Any]:
    """The first listed event of ``token``'s organizer that has tickets for sale."""
    for event in fake.all_pages("/events", "events", 100):
        tickets = fake.api.get("/tickets", params={"eventId": event["id"]}, headers=bearer(token))
        if any(t["quantity"] > 0 for t in tickets.json()["tickets"]):
            return event
    raise AssertionError("no event with tickets for sale")


Connect = Callable[[Fake, str], httpx.Client]


@pytest.fixture
def connect() -> Iterator[Connect]:
    """``connect(fake, token)``: an API client of ``fake`` sending ``token``; closed at the
    end."""
    made: list[httpx.Client] = []

    def client(fake: Fake, token: str) -> httpx.Client:
        made.append(asgi_client(fake.app, HOST + API, headers=bearer(token)))
        return made[-1]

    yield client
    for each in made:
        each.close()


# -- one real server on a real socket, for the whole session -----------------


@dataclass
class Live:
    root: str  # http://127.0.0.1:PORT
    api: str  # root + /developers/v1.0

    def load(self, fixture: Any) -> None:
        r = httpx.post(self.root + "/_mock/fixtures", json=fixture)
        assert r.status_code == 200, r.text


@pytest.fixture(scope="session")
def _live_server() -> Iterator[Live]:
    with serve_in_thread(create_app(Settings(fixtures=DOCS_FIXTURE))) as root:
        yield Live(root, root + API)


@pytest.fixture
def live(_live_server: Live) -> Live:
    """The session's real server, loaded with docs-examples.json before the test."""
    _live_server.load(load_json(DOCS_FIXTURE))
    return _live_server
