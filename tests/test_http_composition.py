"""The composition root and its extension points: a layer around ``/_mock``, a layer around
the whole app, a page under ``/_mock/ui``; the typed state and its compatible path."""

from __future__ import annotations

from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from mockserver import Settings
from mockserver.errors import Forbidden, Unauthorized
from mockserver.http import create_app
from mockserver.http.pipeline.authenticate import authorization
from mockserver.http.responses import error_response
from mockserver.http.state import FakeState, fake_state
from mockserver.testing import asgi_client

from .conftest import TOKEN, bearer

HOST = "http://fake"
API = "/developers/v1.0"


def test_the_typed_state_is_the_one_on_app_state() -> None:
    app = create_app(Settings(seed=7))
    state = fake_state(app)
    assert isinstance(state, FakeState)
    assert state.settings.seed == 7
    assert app.state.store is state.store  # the compatible path: the same objects
    assert app.state.boxes is state.boxes
    assert state.boxes.default.store is state.store
    assert state.operation_ids == tuple(sorted(op.operation_id for op in state.spec.operations))


class _Guard:
    """An access layer as another team would write it: one Authorization header, and it
    must be the admin's, else the Error shape."""

    def __init__(self, app: ASGIApp) -> None:
        self.app, self.seen = app, 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.seen += 1
        try:
            header = authorization(scope["headers"])
            if header != b"Bearer admin":
                raise Forbidden("only the admin may use /_mock")
        except (Unauthorized, Forbidden) as error:
            await error_response(error)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def test_a_layer_around_mock_guards_the_control_endpoints_only() -> None:
    app = create_app(Settings())
    guards: list[_Guard] = []

    def guard(inner: ASGIApp) -> ASGIApp:
        guards.append(_Guard(inner))
        return guards[-1]

    app.wrap_control(guard)
    with asgi_client(app, HOST) as client:
        refused = client.get("/_mock/state")
        twice = client.get("/_mock/state", headers=[("Authorization", "Bearer admin")] * 2)
        allowed = client.get("/_mock/state", headers=bearer("admin"))
        api = client.get(API + "/events", headers=bearer(TOKEN))
    assert (refused.status_code, refused.json()["code"]) == (403, "FORBIDDEN")
    assert twice.status_code == 401
    assert "exactly one Authorization header" in twice.json()["message"]
    assert allowed.status_code == 200
    assert allowed.json()["events"]
    assert api.status_code == 200  # the GoEvent operations do not go through /_mock's layer
    assert guards[0].seen == 3


def test_a_layer_around_the_whole_app_sees_the_fast_path_too() -> None:
    app = create_app(Settings())
    app.wrap(lambda inner: CORSMiddleware(inner, allow_origins=["https://ui.example"],
                                          allow_headers=["Authorization"]))  # fmt: skip
    origin = {"Origin": "https://ui.example"}
    with asgi_client(app, HOST) as client:
        preflight = client.options(API + "/events", headers=origin | {
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "Authorization",
        })  # fmt: skip
        events = client.get(API + "/events", headers=origin | bearer(TOKEN))
        health = client.get("/_mock/health", headers=origin)
        missing = client.get(API + "/nowhere", headers=origin)
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://ui.example"
    assert events.status_code == 200
    assert events.json()["events"]
    assert events.headers["access-control-allow-origin"] == "https://ui.example"
    assert health.headers["access-control-allow-origin"] == "https://ui.example"
    assert missing.status_code == 404
    assert missing.json()["code"] == "NOT_FOUND"


def test_a_page_mounted_under_mock_is_served_and_the_rest_still_404s() -> None:
    app = create_app(Settings())

    async def page(request: Request) -> PlainTextResponse:
        return PlainTextResponse(f"{len(fake_state(request).store.events)} events")

    app.control.mount("/extra", Router([Route("/", page)]))
    with asgi_client(app, HOST) as client:
        shown = client.get("/_mock/extra/")
        other = client.get("/_mock/nothing")
        health = client.get("/_mock/health")
    assert (shown.status_code, shown.text) == (200, f"{len(fake_state(app).store.events)} events")
    assert (other.status_code, other.json()["code"]) == (404, "NOT_FOUND")
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
