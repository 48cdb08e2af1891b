"""Issued tickets: the PDF behind a ticket's signed ``url``, and checking a ticket code."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ...errors import BadRequest, NotFound
from ...sandbox import Box
from ...store.ids import format_date
from ...tickets import TicketRef
from ..responses import json_response
from ..state import fake_state
from .common import json_body

__all__ = ["ticket_pdf", "verify"]


def _box_of_ticket(request: Request, code: str) -> tuple[Box, TicketRef]:
    """The box that issued ``code`` and what the code names (403 for a forged code)."""
    ref = fake_state(request).signer.check_code(code)
    box = fake_state(request).boxes.by_id(ref.box)
    if box is None:
        raise NotFound(f"ticket {code} was issued in a sandbox this fake no longer holds")
    return box, ref


async def ticket_pdf(request: Request) -> Response:
    """``GET /_mock/tickets/{code}.pdf``: the PDF behind an issued ticket's signed ``url``."""
    from ...tickets import render_ticket_pdf

    code = request.path_params["code"]
    s = _box_of_ticket(request, code)[0].store
    ref = fake_state(request).signer.check_url(
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
    """``POST /_mock/tickets/verify``: check a ticket code read from a QR code."""
    data = await json_body(request)
    code = data.get("code") if isinstance(data, dict) else None
    if not isinstance(code, str):
        raise BadRequest('body must be {"code": "<ticket code>"}', field="body.code")
    box, ref = _box_of_ticket(request, code)
    s = box.store
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
