"""The fake's own endpoints, under ``/_mock``: kept out of the GoEvent paths.

===============================  ===============================================
``GET  /_mock/health``           readiness: 200 once the fake can answer
``POST /_mock/reset``            back to the initial seed or fixture
``GET  /_mock/state``            the whole state, in the fixture format
``POST /_mock/fixtures``         load a fixture (the body); it becomes the reset point
``GET  /_mock/tickets/…``        the PDF behind an issued ticket's signed ``url``
``POST /_mock/tickets/verify``   check a ticket code read from a QR code
``GET/DELETE /_mock/journal``    the requests answered (``?operation=``, ``?status=``, ``?since=``)
``GET/POST/PUT/DELETE .../faults``  injected latency, errors, dropped connections
``GET/PUT/DELETE .../ratelimit``    the per-token rate limit
``GET/POST /_mock/clock``        the fake's now: freeze, advance, unfreeze
``GET/DELETE /_mock/sandboxes``  the sandboxes created by ``sandbox-…`` tokens
``GET  /_mock/ui/``              the dashboard (:mod:`mockserver.http.ui`)
===============================  ===============================================

One module per concern, each endpoint a plain function reading the app's
typed state (:func:`mockserver.http.state.fake_state`). Every endpoint that
reads or changes state acts on the sandbox named by ``Authorization: Bearer
sandbox-…`` (or ``?token=``), else on the default data set.

A new control endpoint: a function in the module of its concern (or a new
module), and one line in :func:`control_router`.
"""

from __future__ import annotations

from starlette.routing import Route, Router

from .clock import clock
from .data import health, load_fixture, reset, state
from .faults import faults
from .journal import journal
from .ratelimit import ratelimit
from .sandboxes import sandboxes
from .tickets import ticket_pdf, verify

__all__ = ["control_router"]


def control_router() -> Router:
    """The ``/_mock`` endpoints, as a router to mount (``router.mount`` adds more)."""
    return Router([
        Route("/health", health, methods=["GET"]),
        Route("/reset", reset, methods=["POST"]),
        Route("/state", state, methods=["GET"]),
        Route("/fixtures", load_fixture, methods=["POST"]),
        Route("/tickets/verify", verify, methods=["POST"]),
        Route("/tickets/{code}.pdf", ticket_pdf, methods=["GET"]),
        Route("/journal", journal, methods=["GET", "DELETE"]),
        Route("/faults", faults, methods=["GET", "POST", "PUT", "DELETE"]),
        Route("/ratelimit", ratelimit, methods=["GET", "PUT", "DELETE"]),
        Route("/clock", clock, methods=["GET", "POST"]),
        Route("/sandboxes", sandboxes, methods=["GET", "DELETE"]),
    ])  # fmt: skip
