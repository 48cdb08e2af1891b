"""Real tickets: the PDF read back with pypdf, its QR code decoded with zxing-cpp, the code
verified by the fake; forged and expired tickets refused."""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import pypdf
import pytest
import zxingcpp

from .conftest import JAZZ, STANDARD, VIP, Fake, bearer

PERSON = {"last_name": "Hopper", "first_name": "Grace", "email": "grace@example.com",
          "phone": "+1 555 0100"}  # fmt: skip


def buy(docs: Fake, token: str | None = None) -> dict[str, Any]:
    lines = [{"ticket_id": VIP, "quantity": 2}, {"ticket_id": STANDARD, "quantity": 1}]
    body = {"eventId": JAZZ, "participant": PERSON, "tickets": lines}
    r = docs.api.post("/tickets/create", json=body, headers=bearer(token) if token else {})
    assert r.status_code == 200, r.text
    bought: dict[str, Any] = r.json()
    return bought


def read_ticket(docs: Fake, url: str) -> tuple[str, list[str]]:
    """The PDF's text, and the payloads of the QR codes found in its images."""
    r = docs.control.get(url)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(r.content))
    assert len(reader.pages) == 1
    page = reader.pages[0]
    payloads = [
        found.text
        for image in page.images
        for found in zxingcpp.read_barcodes(image.image)
        if found.format == zxingcpp.BarcodeFormat.QRCode
    ]
    return page.extract_text(), payloads


def code_of(url: str) -> str:
    return unquote(urlsplit(url).path.rsplit("/", 1)[1].removesuffix(".pdf"))


def verify(docs: Fake, code: str) -> httpx.Response:
    return docs.control.post("/_mock/tickets/verify", json={"code": code})


def test_the_pdf_reads_as_the_ticket_and_its_qr_code_verifies(docs: Fake) -> None:
    bought = buy(docs)
    event = docs.api.get(f"/event/{JAZZ}").json()["event"]
    # One link per line bought (VIP and Standard), so the loop below checks both.
    assert [t["name"] for t in bought["tickets"]] == ["VIP", "Standard"]
    for line, ticket in enumerate(bought["tickets"]):
        text, payloads = read_ticket(docs, ticket["url"])
        for fact in (event["name"], event["dateStart"], event["dateEnd"], event["location"],
                     f"{ticket['name']} x {ticket['quantity']}", "Grace Hopper"):  # fmt: skip
            assert fact in text
        # The QR code holds the ticket code of the link, nothing else.
        assert payloads == [code_of(ticket["url"])]
        r = verify(docs, payloads[0])
        assert r.status_code == 200
        assert r.json() | {"issued": None} == {
            "valid": True,
            "code": payloads[0],
            "eventId": JAZZ,
            "eventName": event["name"],
            "ticketId": [VIP, STANDARD][line],
            "ticketName": ticket["name"],
            "quantity": ticket["quantity"],
            "participantId": bought["participant"]["id"],
            "issued": None,
        }


def test_a_sandbox_ticket_decodes_and_verifies_the_same_way(docs: Fake) -> None:
    docs.control.post("/_mock/fixtures", json=docs.state(), headers=bearer("sandbox-pdf"))
    bought = buy(docs, "sandbox-pdf")
    text, payloads = read_ticket(docs, bought["tickets"][0]["url"])
    assert "Grace Hopper" in text
    assert payloads == [code_of(bought["tickets"][0]["url"])]
    assert verify(docs, payloads[0]).json()["participantId"] == bought["participant"]["id"]
    # The default data set has no such order: the code names its sandbox.
    assert len(payloads[0].split("-")) == 4


def forged(code: str, where: str) -> str:
    order, line, mac = code.split("-")
    if where == "mac":
        return f"{order}-{line}-{mac[:-1]}{'0' if mac[-1] != '0' else '1'}"
    if where == "order":
        return f"{order[:-1]}{'0' if order[-1] != '0' else '1'}-{line}-{mac}"
    if where == "line":
        return f"{order}-7-{mac}"
    return f"{order}{line}{mac}"  # "shape": no separators at all


@pytest.mark.parametrize("where", ["mac", "order", "line", "shape"])
def test_a_forged_code_is_a_403_in_the_error_shape(docs: Fake, where: str) -> None:
    code = code_of(buy(docs)["tickets"][0]["url"])
    before = docs.state()
    r = verify(docs, forged(code, where))
    assert r.status_code == 403
    body = r.json()
    assert (body["success"], body["code"]) == (False, "FORBIDDEN")
    assert "ticket code" in body["message"]
    assert docs.state() == before


def test_a_forged_code_in_a_link_is_a_403(docs: Fake) -> None:
    url = buy(docs)["tickets"][0]["url"]
    code = code_of(url)
    r = docs.control.get(url.replace(code, forged(code, "mac")))
    assert r.status_code == 403
    assert r.json()["code"] == "FORBIDDEN"


def test_an_expired_link_is_a_403_but_its_code_still_verifies(docs: Fake) -> None:
    docs.control.post("/_mock/clock", json={"freeze": "2025-05-01T10:00:00Z"})
    url = buy(docs)["tickets"][0]["url"]
    docs.control.post("/_mock/clock", json={"advance": 8 * 86400})
    r = docs.control.get(url)
    assert r.status_code == 403
    assert "expired at 2025-05-08T10:00:00.000Z" in r.json()["message"]
    # The link expires; the ticket (what the QR code holds) stays valid at the door.
    assert verify(docs, code_of(url)).status_code == 200


@pytest.mark.parametrize("body", [{}, {"code": 7}, [], {"code": None}])
def test_verify_wants_a_code(docs: Fake, body: Any) -> None:
    r = docs.control.post("/_mock/tickets/verify", json=body)
    assert r.status_code == 400
    assert (r.json()["code"], r.json()["field"]) == ("VALIDATION_ERROR", "body.code")


@pytest.mark.parametrize("expires", ["²", "9" * 40, "-5", ""])
def test_a_nonsense_expiry_is_a_403_not_a_crash(docs: Fake, expires: str) -> None:
    url = buy(docs)["tickets"][0]["url"]
    parts = urlsplit(url)
    signature = parse_qs(parts.query)["signature"][0]
    r = docs.control.get(parts.path, params={"expires": expires, "signature": signature})
    assert r.status_code == 403
    assert r.json()["code"] == "FORBIDDEN"
