"""The data set: health, reset, the whole state, and loading a fixture."""

from __future__ import annotations

import anyio
from starlette.requests import Request
from starlette.responses import Response

from ...errors import BadRequest
from ...store import Dataset, FixtureError, dataset_from_json, dataset_to_json
from ..links import base_url
from ..responses import json_response
from ..state import fake_state
from .common import box_of, json_body

__all__ = ["health", "load_fixture", "reset", "state"]


async def health(request: Request) -> Response:
    """``GET /_mock/health``: 200 once the fake can answer."""
    fake = fake_state(request)
    return json_response({
        "status": "ok",
        "organizers": len(fake.store.organizers),
        "events": len(fake.store.events),
        "baseUrl": base_url(request) + fake.spec.base_path,
    })  # fmt: skip


async def reset(request: Request) -> Response:
    """``POST /_mock/reset``: back to the initial seed or fixture."""
    box = box_of(request)
    box.reset()
    return json_response(
        {"reset": True, "events": len(box.store.events), "sandbox": box.id or None}
    )


async def state(request: Request) -> Response:
    """``GET /_mock/state``: the whole state, in the fixture format (``?links=true``: with
    each order line's ticket PDF link, for the dashboard; without it the state stays a
    loadable fixture)."""
    box = box_of(request)
    data = dataset_to_json(box.store.dataset())
    if request.query_params.get("links") == "true":
        base = base_url(request)
        for order in data["orders"]:
            created = box.store.get_order(order["id"])
            for i, line in enumerate(order["lines"]):
                if created is not None:
                    line["url"] = box.signer.url(base, created.id, i, created.created)
    return json_response(data)


async def load_fixture(request: Request) -> Response:
    """``POST /_mock/fixtures``: load a fixture (the body); it becomes the reset point."""
    data = await json_body(request)
    box = box_of(request)

    def load() -> Dataset:
        dataset = dataset_from_json(data, source="request body")
        if box.token is not None:
            # In a sandbox, the sandbox token stays the first organizer's, as --token does.
            dataset.organizers[0].token = box.token
        return dataset

    try:
        # Checking a large fixture takes seconds: off the event loop, so others are served.
        dataset = await anyio.to_thread.run_sync(load)
    except FixtureError as exc:
        raise BadRequest(
            f"fixture refused: {exc.path}: {exc.reason}",
            field=f"body{exc.path[1:]}",
            code="INVALID_FIXTURE",
        ) from exc
    box.store.replace(dataset, load)
    return json_response({"loaded": True, "organizers": len(dataset.organizers),
                          "events": len(dataset.events)})  # fmt: skip
