"""The dashboard, under ``/_mock/ui``: static pages that talk to the fake over HTTP.

===============================  ===================================================
``GET /_mock/ui/``               Data, Traffic and Controls (one page: ``#data`` …)
``GET /_mock/ui/api``            the API reference (Swagger UI), "try it" aimed here
``GET /_mock/ui/openapi.json``   the spec the fake serves, its server set to this fake
``GET /_mock/ui/static/…``       the dashboard's own HTML, JS and CSS
``GET /_mock/ui/swagger/…``      Swagger UI, from the ``swagger-ui-bundle-v2`` package
===============================  ===================================================

Nothing here reads or changes state: the pages call ``/_mock/state``,
``/_mock/journal``, ``/_mock/faults`` … and the API itself, as any client
would, sending the admin token the user typed as ``Authorization: Bearer``.
The routes sit outside the request path of the GoEvent operations (the app
dispatches those before its router), so the dashboard costs them nothing.

>>> from mockserver.http import create_app
>>> from mockserver.testing import asgi_client
>>> client = asgi_client(create_app(), "http://fake")
>>> client.get("/_mock/ui/").headers["content-type"]
'text/html; charset=utf-8'
"""

from __future__ import annotations

import copy
from importlib import resources
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route, Router
from starlette.staticfiles import StaticFiles

from ..responses import json_response
from ..state import fake_state

__all__ = ["STATIC", "swagger_dir", "ui_router"]

STATIC = Path(str(resources.files("mockserver.http.ui").joinpath("static")))


def swagger_dir() -> Path:
    """The folder of Swagger UI's built assets, as the ``swagger-ui-bundle-v2`` package ships
    them (imported here, on first use, never on the fake's start-up path)."""
    from swagger_ui_bundle import swagger_ui_path

    return Path(str(swagger_ui_path))


async def home(request: Request) -> Response:
    return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")


async def api(request: Request) -> Response:
    return FileResponse(STATIC / "api.html", media_type="text/html; charset=utf-8")


async def openapi(request: Request) -> Response:
    spec = fake_state(request).spec
    document = copy.deepcopy(spec.document)
    # A relative server: "try it" goes to this fake, whatever host name reached it.
    document["servers"] = [{"url": spec.base_path, "description": "this fake (goevent-mock)"}]
    return json_response(document)


def ui_router() -> Router:
    """The dashboard's routes, to mount under ``/_mock/ui``."""
    return Router([
        Route("/", home, methods=["GET"]),
        Route("/api", api, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
        Mount("/static", app=StaticFiles(directory=STATIC)),
        Mount("/swagger", app=StaticFiles(directory=swagger_dir())),
    ])  # fmt: skip
