"""An issued ticket's ``url`` is served by the fake itself, as a PDF."""

from __future__ import annotations

import io
from urllib.parse import parse_qs, urlencode, urlsplit

import pypdf
import pytest

from .conftest import HOST, JAZZ, JOHN, STANDARD, VIP, Fake


def issue(docs: Fake, **participant: str) -> list[dict[str, object]]:
    body: dict[str, object] = {
        "eventId": JAZZ,
        "tickets": [{"ticket_id": VIP, "quantity": 2}, {"ticket_id": STANDARD, "quantity": 1}],
    }
    if participant:
        body["participant"] = participant
    r = docs.buy(body)
    assert r.status_code == 200, r.text
    tickets: list[dict[str, object]] = r.json()["tickets"]
    return tickets


def test_an_issued_ticket_url_is_a_pdf_served_by_the_fake(docs: Fake) -> None:
    tickets = issue(docs, participantId=JOHN)
    for ticket in tickets:
        url = str(ticket["url"])
        assert url.startswith(HOST + "/_mock/tickets/")
        r = docs.control.get(url)
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/pdf"
        assert r.content.startswith(b"%PDF-")
        assert r.content.rstrip().endswith(b"%%EOF")
        text = pypdf.PdfReader(io.BytesIO(r.content)).pages[0].extract_text()
        assert "Concert de Jazz" in text
        assert f"{ticket['name']} x {ticket['quantity']}" in text
        assert "John Doe" in text


def test_each_line_has_its_own_link(docs: Fake) -> None:
    tickets = issue(docs)
    assert len({t["url"] for t in tickets}) == 2


def _tamper(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(changes)
    return parts._replace(query=urlencode(query)).geturl()


@pytest.mark.parametrize("what", ["signature", "expires", "code"])
def test_a_tampered_link_is_403_in_the_error_shape(docs: Fake, what: str) -> None:
    url = str(issue(docs)[0]["url"])
    if what == "signature":
        signature = parse_qs(urlsplit(url).query)["signature"][0]
        bad = _tamper(url, signature=("0" if signature[0] != "0" else "1") + signature[1:])
    elif what == "expires":
        expires = int(parse_qs(urlsplit(url).query)["expires"][0])
        bad = _tamper(url, expires=str(expires + 3600))
    else:
        # Another line of the same order: a genuine order id with a forged MAC.
        bad = url.replace("-0-", "-1-", 1)
    assert bad != url
    before = docs.state()
    r = docs.control.get(bad)
    assert r.status_code == 403
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert body["success"] is False
    assert body["code"] == "FORBIDDEN"
    assert body["message"]
    assert docs.state() == before
    assert docs.control.get(url).status_code == 200


def test_a_link_expires_after_a_week(docs: Fake) -> None:
    from datetime import timedelta

    url = str(issue(docs)[0]["url"])
    docs.app.state.store.clock.advance(timedelta(days=8))
    r = docs.control.get(url)
    assert r.status_code == 403
    assert "expired" in r.json()["message"]


def test_a_link_of_an_order_lost_to_a_reset_is_404(docs: Fake) -> None:
    url = str(issue(docs)[0]["url"])
    assert docs.control.post("/_mock/reset").status_code == 200
    r = docs.control.get(url)
    assert r.status_code == 404
    assert r.json()["code"] == "NOT_FOUND"
