"""Ticket URLs come from --public-url or the address the fake serves, never from ``Host``:
a client that sends ``Host: evil.example`` cannot make the fake hand out links to it."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from mockserver import Settings, create_app
from mockserver.cli import main
from mockserver.http.links import public_base, served_base
from mockserver.testing import serve_in_thread

from .conftest import API, TOKEN, FakeFactory, bearer

EVIL = {"Host": "evil.example"}


def purchase(client: httpx.Client, headers: dict[str, str]) -> httpx.Response:
    """Buy one ticket of the first event with tickets left."""
    for event in client.get("/events", params={"limit": 100}).json()["events"]:
        tickets = client.get("/tickets", params={"eventId": event["id"]}).json()["tickets"]
        for ticket in tickets:
            if ticket["quantity"] > 0:
                body = {
                    "eventId": event["id"],
                    "tickets": [{"ticket_id": ticket["id"], "quantity": 1}],
                }
                return client.post("/tickets/create", json=body, headers=headers)
    raise AssertionError("nothing for sale")


def orders(control: httpx.Client) -> list[Any]:
    r = control.get("/_mock/state", params={"links": "true"}, headers=EVIL)
    assert r.status_code == 200, r.text
    result: list[Any] = r.json()["orders"]
    return result


@pytest.fixture
def served() -> Iterator[tuple[str, httpx.Client, httpx.Client]]:
    """The fake on a real socket: its root, an API client and a control client."""
    with (
        serve_in_thread(create_app(Settings(seed=11))) as root,
        httpx.Client(base_url=root + API, headers=bearer(TOKEN), timeout=10) as api,
        httpx.Client(base_url=root, timeout=10) as control,
    ):
        yield root, api, control


def test_a_forged_host_never_reaches_the_ticket_urls_and_the_link_works(
    served: tuple[str, httpx.Client, httpx.Client],
) -> None:
    root, api, control = served
    assert orders(control) == []
    bought = purchase(api, EVIL)
    assert bought.status_code == 200, bought.text
    (ticket,) = bought.json()["tickets"]
    url = ticket["url"]
    assert "evil.example" not in url
    assert url.startswith(root + "/_mock/tickets/")
    health = control.get("/_mock/health", headers=EVIL)
    assert health.status_code == 200
    assert health.json()["baseUrl"] == root + API
    (order,) = orders(control)
    (line,) = order["lines"]
    assert "evil.example" not in line["url"]
    assert line["url"].startswith(root + "/_mock/tickets/")
    # The link works end to end: the PDF, then its code verifies.
    pdf = httpx.get(url, timeout=10)
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    code = urlsplit(url).path.rsplit("/", 1)[1].removesuffix(".pdf")
    verified = control.post("/_mock/tickets/verify", json={"code": code})
    assert verified.status_code == 200
    assert verified.json()["valid"] is True
    assert len(orders(control)) == 1  # one purchase, nothing else changed


def test_public_url_is_used_verbatim_and_its_links_still_work() -> None:
    app = create_app(Settings(seed=11, public_url="http://goevent-mock:8000/"))
    with serve_in_thread(app) as root, httpx.Client(base_url=root, timeout=10) as control:
        api = httpx.Client(base_url=root + API, headers=bearer(TOKEN), timeout=10)
        with api:
            bought = purchase(api, EVIL)
        assert bought.status_code == 200, bought.text
        url = bought.json()["tickets"][0]["url"]
        assert url.startswith("http://goevent-mock:8000/_mock/tickets/")
        health = control.get("/_mock/health", headers=EVIL)
        assert health.json()["baseUrl"] == "http://goevent-mock:8000" + API
        (order,) = orders(control)
        assert order["lines"][0]["url"] == url
        # goevent-mock is a name in the users' network, not here: the same path and query
        # on this server is the same link.
        parts = urlsplit(url)
        pdf = control.get(f"{parts.path}?{parts.query}")
        assert pdf.status_code == 200
        assert pdf.content.startswith(b"%PDF")


def test_on_ipv6_the_address_is_bracketed() -> None:
    try:
        socket.socket(socket.AF_INET6).close()
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    with serve_in_thread(create_app(Settings(seed=11)), host="::1") as root:
        assert root.startswith("http://[::1]:")
        with httpx.Client(base_url=root + API, headers=bearer(TOKEN), timeout=10) as api:
            bought = purchase(api, EVIL)
        assert bought.status_code == 200, bought.text
        assert bought.json()["tickets"][0]["url"].startswith(root + "/_mock/tickets/")
        pdf = httpx.get(bought.json()["tickets"][0]["url"], timeout=10)
        assert pdf.status_code == 200


def test_in_process_the_links_use_the_transports_address_not_host(
    make_fake: FakeFactory,
) -> None:
    fake = make_fake(seed=11)
    bought = purchase(fake.api, EVIL)
    assert bought.status_code == 200, bought.text
    assert bought.json()["tickets"][0]["url"].startswith("http://testserver/_mock/tickets/")
    assert fake.control.get("/_mock/health", headers=EVIL).json()["baseUrl"] == (
        "http://testserver" + API
    )


@pytest.mark.parametrize(
    ("server", "expected"),
    [
        (("127.0.0.1", 8000), "http://127.0.0.1:8000"),
        (("0.0.0.0", 8000), "http://127.0.0.1:8000"),  # a server that reports the wildcard
        (("::", 8000), "http://[::1]:8000"),
        (("::ffff:10.0.0.5", 8000), "http://10.0.0.5:8000"),  # dual-stack, an IPv4 client
        (("fe80::1%eth0", 8000), "http://[fe80::1%25eth0]:8000"),
        (("example.internal", 80), "http://example.internal"),
        (("/run/goevent.sock", None), "http://localhost"),
    ],
)
def test_the_served_address_as_a_base(server: tuple[str, int | None], expected: str) -> None:
    scope = {"scheme": "http", "server": server, "headers": [(b"host", b"evil.example")]}
    assert served_base(scope) == expected


@pytest.mark.parametrize(
    "url", ["goevent-mock:8000", "ftp://x", "http://", "http://a/?q=1", "http://u@a", "http://a:x"]
)
def test_a_public_url_that_is_not_a_base_url_is_refused_at_startup(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(ValueError, match=r"--public-url \(GOEVENT_MOCK_PUBLIC_URL\)"):
        public_base(url)
    assert main(["serve", "--public-url", url, "--port", "0"]) == 2
    assert "--public-url" in capsys.readouterr().err
