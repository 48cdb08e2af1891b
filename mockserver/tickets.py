"""Issued tickets: signed, expiring links, verifiable ticket codes, and the PDF itself."""

from __future__ import annotations

import hashlib
import hmac
import io
from dataclasses import dataclass
from datetime import datetime, timedelta

from .errors import Forbidden, NotFound
from .store.ids import format_date
from .store.models import Event, Order, Participant

__all__ = ["TicketSigner", "render_ticket_pdf"]

URL_LIFETIME = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class TicketRef:
    order_id: str
    line: int
    box: str = ""  # the sandbox that issued it; "" for the default store


class TicketSigner:
    """HMAC-SHA256 signatures for ticket codes and ticket links.

    A ticket code is what the QR code holds: ``<orderId>-<line>-<mac>``, or
    ``<orderId>-<line>-<box>-<mac>`` for a ticket issued in a sandbox (whose
    orders live in their own store). The fake recomputes the MAC to tell a
    genuine ticket from a forged one. A link additionally signs its expiry.

    >>> signer = TicketSigner(b"secret")
    >>> signer.check_code(signer.code("65fff7aada40be007f09ee95", 0)).line
    0
    """

    def __init__(self, secret: bytes, box: str = "") -> None:
        self._secret = secret
        self.box = box
        # The key's HMAC state, copied for each message: a third cheaper than hmac.new().
        self._keyed = hmac.new(secret, digestmod=hashlib.sha256)

    def for_box(self, box: str) -> TicketSigner:
        """The signer of the sandbox ``box``: same secret, codes that name the sandbox."""
        return TicketSigner(self._secret, box)

    def _mac(self, message: str, size: int) -> str:
        mac = self._keyed.copy()
        mac.update(message.encode())
        return mac.hexdigest()[:size]

    def code(self, order_id: str, line: int) -> str:
        if not self.box:
            return f"{order_id}-{line}-{self._mac(f'code:{order_id}:{line}', 16)}"
        mac = self._mac(f"code:{order_id}:{line}:{self.box}", 16)
        return f"{order_id}-{line}-{self.box}-{mac}"

    def check_code(self, code: str) -> TicketRef:
        """The order and line a genuine ``code`` names; :class:`Forbidden` for anything else."""
        parts = code.split("-")
        if len(parts) not in (3, 4) or not _is_number(parts[1], 4):
            raise Forbidden(f"ticket code {code[:80]!r} is not of the form <orderId>-<line>-<mac>")
        order_id, line, box = parts[0], int(parts[1]), parts[2] if len(parts) == 4 else ""
        if not hmac.compare_digest(self.for_box(box).code(order_id, line), code):
            raise Forbidden(
                f"ticket code {code[:80]!r} has a wrong signature: it was not issued here"
            )
        return TicketRef(order_id, line, box)

    def url(self, base: str, order_id: str, line: int, now: datetime) -> str:
        expires = int((now + URL_LIFETIME).timestamp())
        code = self.code(order_id, line)
        signature = self._mac(f"url:{code}:{expires}", 32)
        return (
            f"{base.rstrip('/')}/_mock/tickets/{code}.pdf?expires={expires}&signature={signature}"
        )

    def check_url(self, code: str, expires: str, signature: str, now: datetime) -> TicketRef:
        ref = self.check_code(code)
        if not _is_number(expires, 12):
            raise Forbidden(f"expires must be a Unix time in seconds, got {expires[:40]!r}")
        expected = self._mac(f"url:{code}:{expires}", 32)
        if not hmac.compare_digest(expected, signature):
            raise Forbidden("the ticket link's signature does not match: the link was altered")
        if now.timestamp() > int(expires):
            expired = format_date(datetime.fromtimestamp(int(expires), now.tzinfo))
            raise Forbidden(f"the ticket link expired at {expired}; ask for the ticket again")
        return ref


def render_ticket_pdf(
    event: Event, order: Order, line: int, participant: Participant | None, code: str
) -> bytes:
    """A one-page A5 ticket: event, dates, place, ticket type, holder, and a QR code of ``code``."""
    if line >= len(order.lines):
        raise NotFound(f"order {order.id} has no ticket line {line}")
    item = order.lines[line]
    # Imported here: fpdf alone takes ~0.7 s to import, and most runs never render a PDF.
    import segno
    from fpdf import FPDF

    pdf = FPDF(format=(148, 210))  # A5, in mm
    pdf.set_title(f"{event.name} - {item.name}")
    pdf.set_author("goevent-mock")
    pdf.set_creation_date(order.created)
    pdf.add_page()
    pdf.set_font("helvetica", "B", 18)
    pdf.multi_cell(0, 9, _latin1(event.name), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", "", 11)
    rows = [
        ("Starts", format_date(event.date_start)),
        ("Ends", format_date(event.date_end)),
        ("Location", event.location),
        ("Ticket", f"{item.name} x {item.quantity}"),
        ("Holder", f"{participant.first_name} {participant.last_name}" if participant else "-"),
        ("Order", order.id),
        ("Code", code),
    ]
    for label, value in rows:
        pdf.cell(28, 7, label + ":")
        pdf.multi_cell(0, 7, _latin1(value), new_x="LMARGIN", new_y="NEXT")
    image = io.BytesIO()
    segno.make(code, error="m").save(image, kind="png", scale=6, border=2)
    image.seek(0)
    pdf.image(image, x=pdf.w / 2 - 25, y=pdf.get_y() + 6, w=50, h=50)
    return bytes(pdf.output())


def _is_number(text: str, digits: int) -> bool:
    # ASCII only: str.isdigit() accepts "²", which int() refuses.
    return 0 < len(text) <= digits and text.isascii() and text.isdigit()


def _latin1(text: str) -> str:
    # The core PDF fonts are Latin-1; anything else is replaced, not dropped silently.
    return text.encode("latin-1", "replace").decode("latin-1")
