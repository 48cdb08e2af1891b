"""The fake's own endpoints, under ``/_mock``: kept out of the GoEvent paths.

=========================  =====================================================
``GET  /_mock/health``     readiness: 200 once the fake can answer
``POST /_mock/reset``      back to the initial seed or fixture
``GET  /_mock/state``      the whole state, in the fixture format (``?links=true``: with
                           each order line's ticket PDF link)
``POST /_mock/fixtures``   load a fixture (the body); it becomes the reset point
``GET  /_mock/tickets/…``  the PDF behind an issued ticket's signed ``url``
``POST /_mock/tickets/verify``  check a ticket code read from a QR code
=========================  =====================================================

Plus the tools for users' test suites (journal, faults, rate limit, clock,
sandboxes): see :mod:`mockserver.http.tools`. Every endpoint that reads or
changes state acts on the sandbox named by ``Authorization: Bearer sandbox-…``
(or ``?token=``), else on the default data set.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..errors import BadRequest, NotFound
from ..sandbox import Box, Boxes
from ..store import Dataset, FixtureError, Store, dataset_from_json, dataset_to_json
from ..store.ids import format_date
from .tools import box_of, json_body, json_response, tool_routes

__all__ = ["control_routes"]


def control_routes(app: Starlette) -> list[BaseRoute]:
    boxes: Boxes = app.state.boxes

    def store() -> Store:
        s: Store = app.state.store
        return s

    async def health(request: Request) -> Response:
        s = store()
        return json_response({
            "status": "ok",
            "organizers": len(s.organizers),
            "events": len(s.events),
            "baseUrl": str(request.base_url).rstrip("/") + app.state.spec.base_path,
        })  # fmt: skip

    async def reset(request: Request) -> Response:
        box = box_of(boxes, request)
        box.reset()
        answer = {"reset": True, "events": len(box.store.events), "sandbox": box.id or None}
        return json_response(answer)

    async def state(request: Request) -> Response:
        box = box_of(boxes, request)
        data = dataset_to_json(box.store.dataset())
        if request.query_params.get("links") == "true":
            # ?links=true (the dashboard): each order line gets the signed URL of its ticket
            # PDF, as the purchase answered it. Without it, the state stays a loadable fixture.
            base = str(request.base_url).rstrip("/")
            for order in data["orders"]:
                created = box.store.get_order(order["id"])
                for i, line in enumerate(order["lines"]):
                    if created is not None:
                        line["url"] = box.signer.url(base, created.id, i, created.created)
        return json_response(data)

    async def load_fixture(request: Request) -> Response:
        data = await json_body(request)
        box = box_of(boxes, request)

        def load() -> Dataset:
            dataset = dataset_from_json(data, source="request body")
            if box.token is not None:
                # In a sandbox, the sandbox token stays the first organizer's, as --token does.
                dataset.organizers[0].token = box.token
            return dataset

        try:
            dataset = load()
        except FixtureError as exc:
            raise BadRequest(
                f"fixture refused: {exc.path}: {exc.reason}",
                field=f"body{exc.path[1:]}",
                code="INVALID_FIXTURE",
            ) from exc
        box.store.replace(dataset, load)
        return json_response({"loaded": True, "organizers": len(dataset.organizers),
                      "events": len(dataset.events)})  # fmt: skip

    def box_of_ticket(code: str) -> Box:
        ref = app.state.signer.check_code(code)
        box = boxes.by_id(ref.box)
        if box is None:
            raise NotFound(f"ticket {code} was issued in a sandbox this fake no longer holds")
        return box

    async def ticket_pdf(request: Request) -> Response:
        from ..tickets import render_ticket_pdf

        code = request.path_params["code"]
        box = box_of_ticket(code)
        s = box.store
        ref = app.state.signer.check_url(
            code,
            request.query_params.get("expires", ""),
            request.query_params.get("signature", ""),
            s.clock.now(),
        )
        order = s.get_order(ref.order_id)
        event = s.event_by_id(order.event_id) if order else None
        if order is None or event is None:
            raise NotFound(f"no order {ref.order_id}: the store was reset since it was issued")
        holder = s.get_participant(order.participant_id) if order.participant_id else None
        pdf = render_ticket_pdf(event, order, ref.line, holder, code)
        return Response(
            pdf,
            media_type="application/pdf",
            headers={"Content-Disposition": f'inline; filename="{code}.pdf"'},
        )

    async def verify(request: Request) -> Response:
        data = await json_body(request)
        code = data.get("code") if isinstance(data, dict) else None
        if not isinstance(code, str):
            raise BadRequest('body must be {"code": "<ticket code>"}', field="body.code")
        s = box_of_ticket(code).store
        ref = app.state.signer.check_code(code)
        order = s.get_order(ref.order_id)
        if order is None or ref.line >= len(order.lines):
            raise NotFound(f"ticket {code} is genuine but its order is gone (the store was reset)")
        event = s.event_by_id(order.event_id)
        holder = s.get_participant(order.participant_id) if order.participant_id else None
        line = order.lines[ref.line]
        return json_response({
            "valid": True,
            "code": code,
            "eventId": order.event_id,
            "eventName": event.name if event else None,
            "ticketId": line.ticket_id,
            "ticketName": line.name,
            "quantity": line.quantity,
            "participantId": holder.id if holder else None,
            "issued": format_date(order.created),
        })  # fmt: skip

    return [
        Route("/health", health, methods=["GET"]),
        Route("/reset", reset, methods=["POST"]),
        Route("/state", state, methods=["GET"]),
        Route("/fixtures", load_fixture, methods=["POST"]),
        Route("/tickets/verify", verify, methods=["POST"]),
        Route("/tickets/{code}.pdf", ticket_pdf, methods=["GET"]),
        *tool_routes(app),
    ]
