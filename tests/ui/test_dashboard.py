"""The dashboard (/_mock/ui) in a real browser, against the fake on a real socket.

Each test starts from the fake's initial data (a reset through the API), drives the
page as a user would, and checks both what the page shows and what the fake holds.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mockserver import DEFAULT_TOKEN, Settings, create_app
from mockserver.testing import serve_in_thread

from .conftest import ROOT, Tab

API = "/developers/v1.0"
AUTH = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}


class Fake:
    def __init__(self, root: str) -> None:
        self.root = root
        self.ui = root + "/_mock/ui/"
        self.http = httpx.Client(base_url=root, timeout=10)
        self.initial: dict[str, Any] = {}

    def state(self) -> dict[str, Any]:
        answer = self.http.get("/_mock/state")
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        return result

    def event(self) -> dict[str, Any]:
        """The first event of the default organizer with at least 5 tickets of its first type."""
        state = self.state()
        organizer = state["organizers"][0]["id"]
        return next(
            e for e in state["events"]
            if e["organizerId"] == organizer and e["tickets"] and e["tickets"][0]["quantity"] >= 5
        )  # fmt: skip

    def quantity(self, event_id: str, ticket_id: str) -> int:
        event = next(e for e in self.state()["events"] if e["id"] == event_id)
        return int(next(t["quantity"] for t in event["tickets"] if t["id"] == ticket_id))

    def buy(self, event: dict[str, Any], quantity: int) -> httpx.Response:
        line = {"ticket_id": event["tickets"][0]["id"], "quantity": quantity}
        body = {"eventId": event["id"], "tickets": [line]}
        return self.http.post(API + "/tickets/create", json=body, headers=AUTH)


@pytest.fixture(scope="module")
def _server() -> Iterator[Fake]:
    settings = Settings(seed=7, organizers=2, events_per_organizer=4, participants_per_event=45)
    with serve_in_thread(create_app(settings)) as root:
        fake = Fake(root)
        fake.initial = fake.state()
        try:
            yield fake
        finally:
            fake.http.close()


@pytest.fixture
def fake(_server: Fake) -> Fake:
    """The module's fake, back to its initial data even if a test loaded another fixture."""
    answer = _server.http.post("/_mock/fixtures", json=_server.initial)
    assert answer.status_code == 200, answer.text
    answer = _server.http.post("/_mock/reset")
    assert answer.status_code == 200, answer.text
    return _server


def open_event(tab: Tab, fake: Fake, event: dict[str, Any]) -> None:
    tab.page.goto(fake.ui + "#data")
    tab.page.click(f'button[data-event="{event["id"]}"]')
    tab.page.wait_for_selector("#tickets")


def test_every_page_loads_without_a_console_error_and_works_from_the_keyboard(
    tab: Tab, fake: Fake
) -> None:
    page = tab.page
    event = fake.event()
    for _ in range(3):
        assert fake.http.get(API + "/events", headers=AUTH).status_code == 200
    assert fake.buy(event, 2).status_code == 200
    assert (
        fake.http.get(API + "/events", headers={"Authorization": "Bearer nope"}).status_code == 401
    )

    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url))
    page.goto(fake.ui)
    page.wait_for_selector("#events button[data-event]")
    assert page.title() == "Data · goevent-mock"
    # Keyboard only: Tab to the event, Enter opens it, its title takes the focus.
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.dataset.event") == event["id"]:
            break
    else:
        pytest.fail("Tab never reached the event's button")
    page.keyboard.press("Enter")
    page.wait_for_selector("#tickets")
    assert page.evaluate("document.activeElement.id") == "event-title"
    assert page.inner_text("#event-title") == event["name"]
    rows = page.locator("#participants tbody tr")
    assert rows.count() == 20  # a page of 20 of the event's participants
    assert page.locator("#orders a", has_text="ticket PDF").count() == 1
    tab.shoot("dashboard-data")
    page.focus("#p-next")
    page.keyboard.press("Enter")  # the next page, and the focus stays on "Next"
    assert "page 2 of 3" in page.inner_text("#event")
    assert page.evaluate("document.activeElement.id") == "p-next"
    page.fill("#p-search", rows.nth(0).locator("td").nth(1).inner_text())
    assert rows.count() == 1  # search by email: one participant

    page.click('nav a[data-view="traffic"]')
    page.wait_for_selector('#feed li[data-operation="createTickets"]')
    assert page.locator("#feed li").count() == 5
    page.locator('#feed li[data-status="401"] summary').press("Enter")  # opens from the keyboard
    assert page.locator('#feed li[data-status="401"] details').get_attribute("open") == ""
    tab.shoot("dashboard-traffic")

    page.click('nav a[data-view="controls"]')
    page.wait_for_selector("#faults tr")
    assert "No faults" in page.inner_text("#faults")
    tab.shoot("dashboard-controls")

    # A narrow window: every view fits its width (no sideways scrolling of the page).
    page.set_viewport_size({"width": 380, "height": 800})
    for view in ("data", "controls", "traffic"):
        page.goto(fake.ui + "#" + view)
        page.wait_for_timeout(300)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 380, f"#{view} is {width}px wide in a 380px window"
    tab.shoot("dashboard-narrow", full_page=False)
    assert tab.console.errors == []
    # Offline: every request went to the fake (no CDN, no font or script from elsewhere).
    assert asked
    assert [u for u in asked if not u.startswith(fake.root + "/")] == []


def test_a_purchase_through_the_api_shows_in_the_feed_and_the_quantity_without_a_reload(
    tab: Tab, fake: Fake
) -> None:
    page = tab.page
    event = fake.event()
    ticket = event["tickets"][0]
    before = fake.quantity(event["id"], ticket["id"])
    open_event(tab, fake, event)
    cell = page.locator(f'#tickets tr[data-ticket-id="{ticket["id"]}"] .remaining')
    assert cell.inner_text() == str(before)
    page.evaluate("window.notReloaded = true")

    answer = fake.buy(event, 3)

    assert answer.status_code == 200, answer.text
    assert answer.json()["tickets"][0]["quantity"] == 3
    page.wait_for_function(
        "([sel, want]) => document.querySelector(sel)?.textContent === want",
        arg=[f'#tickets tr[data-ticket-id="{ticket["id"]}"] .remaining', str(before - 3)],
        timeout=5000,
    )
    assert fake.quantity(event["id"], ticket["id"]) == before - 3
    page.click('nav a[data-view="traffic"]')
    entry = page.locator('#feed li[data-operation="createTickets"]')
    entry.wait_for(timeout=5000)
    assert entry.get_attribute("data-status") == "200"
    entry.locator("summary").click()
    request = entry.locator(".exchange pre").first.inner_text()
    assert json.loads(request.split("\n\n", 1)[1])["tickets"][0] == {
        "ticket_id": ticket["id"], "quantity": 3}  # fmt: skip
    assert "Bearer goev…oken" in request  # the journal's masked token, never the whole one
    assert page.evaluate("window.notReloaded") is True
    assert tab.console.errors == []


def test_reset_from_the_dashboard_restores_the_data(tab: Tab, fake: Fake) -> None:
    page = tab.page
    event = fake.event()
    ticket = event["tickets"][0]
    before = fake.quantity(event["id"], ticket["id"])
    assert fake.buy(event, 4).status_code == 200
    assert fake.quantity(event["id"], ticket["id"]) == before - 4

    page.goto(fake.ui + "#controls")
    page.get_by_role("button", name="Reset the data").click()
    page.wait_for_function(
        "document.querySelector('#effect').textContent.startsWith('Reset → 200')"
    )

    assert json.loads(page.inner_text("#effect").split("\n", 1)[1])["reset"] is True
    assert fake.quantity(event["id"], ticket["id"]) == before
    assert fake.state()["orders"] == []
    open_event(tab, fake, event)
    assert page.inner_text(f'#tickets tr[data-ticket-id="{ticket["id"]}"] .remaining') == str(
        before
    )
    assert page.inner_text("#orders") == "No orders yet."
    assert tab.console.errors == []


def test_a_fault_set_in_the_dashboard_is_seen_by_the_next_api_call(tab: Tab, fake: Fake) -> None:
    page = tab.page
    page.goto(fake.ui + "#controls")
    page.wait_for_selector('#fault-operation option[value="listEvents"]', state="attached")
    page.select_option("#fault-operation", "listEvents")
    page.fill("#fault-status", "503")
    page.get_by_role("button", name="Add fault").click()
    page.wait_for_selector("#faults code")

    assert page.inner_text("#faults code") == "listEvents:status=503"
    faulted = fake.http.get(API + "/events", headers=AUTH)
    assert faulted.status_code == 503
    assert faulted.json()["success"] is False  # the Error shape, as the live API's
    other = fake.http.get(API + "/tickets", params={"eventId": fake.event()["id"]}, headers=AUTH)
    assert other.status_code == 200  # only the operation named
    assert fake.http.get("/_mock/faults").json()["rules"][0]["fired"] == 1

    page.get_by_role("button", name="Remove all").click()
    page.wait_for_selector("#faults td.muted")
    assert fake.http.get(API + "/events", headers=AUTH).status_code == 200
    assert tab.console.errors == []


def test_fixture_clock_and_rate_limit_from_the_dashboard_take_effect(tab: Tab, fake: Fake) -> None:
    page = tab.page
    fixture = ROOT / "fixtures" / "docs-examples.json"
    expected = json.loads(fixture.read_text())
    page.goto(fake.ui + "#controls")
    page.set_input_files("#fixture-file", str(fixture))
    page.get_by_role("button", name="Load").click()
    page.wait_for_function(
        "document.querySelector('#effect').textContent.startsWith('Load docs-examples.json → 200')"
    )
    state = fake.state()
    assert [o["id"] for o in state["organizers"]] == [o["id"] for o in expected["organizers"]]
    assert len(state["events"]) == len(expected["events"])

    page.fill("#clock-advance", "7200")
    page.get_by_role("button", name="Advance").click()
    page.wait_for_function("document.querySelector('#clock-now').textContent.includes('7200')")
    assert fake.http.get("/_mock/clock").json()["offsetSeconds"] == 7200

    page.fill("#rl-limit", "2")
    page.get_by_role("button", name="Set limit").click()
    page.wait_for_function(
        "document.querySelector('#ratelimit-now').textContent.startsWith('In force: 2 per')"
    )
    token = {"Authorization": f"Bearer {expected['organizers'][0]['token']}"}
    statuses = [fake.http.get(API + "/events", headers=token).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    page.get_by_role("button", name="No limit").click()
    page.wait_for_function(
        "document.querySelector('#ratelimit-now').textContent === 'No rate limit.'"
    )
    assert fake.http.get(API + "/events", headers=token).status_code == 200
    assert tab.console.errors == []


def test_a_refused_control_shows_why_and_changes_nothing(tab: Tab, fake: Fake) -> None:
    page = tab.page
    page.goto(fake.ui + "#controls")
    page.fill("#rl-window", "soon")
    page.get_by_role("button", name="Set limit").click()
    problem = page.locator("#problem")
    problem.wait_for()

    assert problem.inner_text().startswith("Set the rate limit: 400")
    assert "got 'soon'" in problem.inner_text()  # the fake's own words: what was wrong
    assert fake.http.get("/_mock/ratelimit").json()["enabled"] is False
    # A fault the browser refuses to form is not sent; a bad latency is refused by the fake.
    page.fill("#fault-latency", "fast")
    page.get_by_role("button", name="Add fault").click()
    page.wait_for_function(
        "document.querySelector('#problem').textContent.startsWith('Add fault: 400')"
    )
    assert fake.http.get("/_mock/faults").json()["rules"] == []
    # The console shows the refused requests as failed loads: that is the browser, not the page.
    assert all("400" in e for e in tab.console.errors), tab.console.errors


def test_every_mock_call_carries_the_admin_token_the_user_typed(tab: Tab, fake: Fake) -> None:
    page = tab.page
    sent: list[tuple[str, str | None]] = []
    page.on("request", lambda r: sent.append((r.url, r.headers.get("authorization"))))
    page.goto(fake.ui + "#data")
    page.wait_for_selector("#events button")
    page.fill("#admin-token", "s3cret-admin")
    page.press("#admin-token", "Tab")  # "change" fires when the field is left
    page.click('nav a[data-view="controls"]')
    page.wait_for_selector("#faults tr")
    page.click('nav a[data-view="traffic"]')
    page.wait_for_timeout(1500)

    after = [(u, a) for u, a in sent[sent.index(next(s for s in sent if "/_mock/ui/" in s[0])) :]]
    calls = [(u, a) for u, a in after if "/_mock/" in u and "/_mock/ui/" not in u]
    typed = [u for u, a in calls if a == "Bearer s3cret-admin"]
    assert {u.split("?")[0].rsplit("/", 1)[1] for u in typed} >= {
        "state", "faults", "ratelimit", "clock", "journal"}  # fmt: skip
    assert page.evaluate("sessionStorage.getItem('goevent-mock.admin-token')") == "s3cret-admin"
    assert page.evaluate("localStorage.length") == 0  # nothing outlives the tab
    assert tab.console.errors == []


def test_a_sandbox_token_shows_that_sandbox_s_data_and_traffic(tab: Tab, fake: Fake) -> None:
    page = tab.page
    sandbox = "sandbox-dashboard-test"
    page.goto(fake.ui + "#data")
    page.wait_for_selector("#events button")
    page.fill("#box", sandbox)
    page.press("#box", "Tab")
    page.wait_for_function(
        f"document.querySelector('#organizer').textContent.includes('token {sandbox}')"
    )
    assert page.locator("#organizer option").count() == 1  # a sandbox has one organizer
    own = {"Authorization": f"Bearer {sandbox}"}
    events = fake.http.get(API + "/events", headers=own).json()["events"]
    assert events
    page.click('nav a[data-view="traffic"]')
    page.wait_for_selector('#feed li[data-operation="listEvents"]')
    assert page.locator("#feed li").count() == 1  # the sandbox's journal, not the default's
    assert fake.http.get("/_mock/journal").json()["count"] == 0
    assert page.evaluate("sessionStorage.getItem('goevent-mock.box')") == sandbox
    assert tab.console.errors == []


def test_the_api_reference_tries_list_events_against_the_fake(tab: Tab, fake: Fake) -> None:
    page = tab.page
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url))
    page.goto(fake.ui + "api")
    operation = page.locator("#operations-Events-listEvents")
    operation.wait_for()
    assert page.input_value("#api-token") == DEFAULT_TOKEN  # filled in from the fake's data
    operation.locator(".opblock-summary-control").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.get_by_role("button", name="Execute").click()
    status = operation.locator(".live-responses-table .response .response-col_status").first
    status.wait_for()

    assert status.inner_text().strip() == "200"
    body = json.loads(operation.locator(".live-responses-table .microlight").first.inner_text())
    assert len(body["events"]) >= 1
    journal = fake.http.get("/_mock/journal", params={"operation": "listEvents"}).json()
    assert journal["entries"][-1]["status"] == 200
    assert journal["entries"][-1]["authorization"] == "Bearer goev…oken"
    page.evaluate("window.scrollTo(0, 0)")
    tab.shoot("dashboard-api", full_page=False)
    assert tab.console.errors == []
    assert fake.root + "/_mock/ui/swagger/swagger-ui-bundle.js" in asked
    assert [u for u in asked if not u.startswith(fake.root + "/")] == []  # offline


def test_a_big_data_set_pauses_the_live_refresh_until_asked(tab: Tab) -> None:
    """Writing out 30,000 participants every second would load the fake for nothing."""
    settings = Settings(seed=7, organizers=1, events_per_organizer=1, participants_per_event=30_000)
    with serve_in_thread(create_app(settings)) as root:
        fake = Fake(root)
        try:
            page = tab.page
            event = fake.event()
            ticket = event["tickets"][0]
            open_event(tab, fake, event)
            page.wait_for_selector("#data-refresh:visible")
            assert "live refresh paused" in page.inner_text("#data-summary")
            assert "page 1 of 1500" in page.inner_text("#event")
            cell = f'#tickets tr[data-ticket-id="{ticket["id"]}"] .remaining'
            before = int(page.inner_text(cell))

            assert fake.buy(event, 1).status_code == 200
            page.wait_for_timeout(2500)  # more than two ticks of the live refresh
            assert page.inner_text(cell) == str(before)  # not re-read on its own
            page.click("#data-refresh")
            page.wait_for_function(
                "([sel, want]) => document.querySelector(sel)?.textContent === want",
                arg=[cell, str(before - 1)],
            )
            assert fake.quantity(event["id"], ticket["id"]) == before - 1
            assert tab.console.errors == []
        finally:
            fake.http.close()
