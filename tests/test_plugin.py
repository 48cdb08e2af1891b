"""The pytest plugin, as a user meets it: test files run by pytester with nothing but the
installed package (the ``pytest11`` entry point) and the documented fixtures."""

from __future__ import annotations

import textwrap

# pytester's in-process runs put sys.modules back as they found it after each run.
# httpx imports httpcore on its first socket client and keeps a map of httpcore's
# exception classes: imported first inside a run, httpcore would come back as new
# classes in the next run, which httpx would no longer recognise. Import it up front.
import httpcore  # noqa: F401
import pytest

from .conftest import DOCS_FIXTURE

pytest_plugins = ["pytester"]

# Strict like this project: warnings are errors, markers must be registered.
IGNORE_REWRITE = "ignore::pytest.PytestAssertRewriteWarning"
# The inner run happens in this process, where the outer session already imported
# mockserver: under the `pytest` script (not `python -m pytest`) the inner session then
# warns that it cannot rewrite its asserts. That is pytester's artefact, not a user's.
ARGS = ("-p", "no:cacheprovider", "-W", "error", "-W", IGNORE_REWRITE, "--strict-markers")


def run(pytester: pytest.Pytester, source: str, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_user=textwrap.dedent(source))
    return pytester.runpytest(*ARGS, *args)


# The acceptance test: a new user's file, documented fixtures only.
USER_SUITE = '''
    import httpx
    import pytest


    def sellable(client):
        """The first event with a ticket type for sale, and that ticket type."""
        for event in client.get("/events", params={"limit": 100}).json()["events"]:
            for ticket in client.get("/tickets", params={"eventId": event["id"]}).json()["tickets"]:
                if ticket["quantity"] >= 2:
                    return event, ticket
        raise AssertionError("nothing for sale")


    def test_buy_tickets_then_see_the_participant(goevent_mock):
        client = goevent_mock.client
        event, ticket = sellable(client)
        body = {
            "eventId": event["id"],
            "tickets": [{"ticket_id": ticket["id"], "quantity": 2}],
            "participant": {"last_name": "Lovelace", "first_name": "Ada",
                            "email": "ada@example.com", "phone": "+44 20 0000 0000"},
        }
        bought = client.post("/tickets/create", json=body)
        assert bought.status_code == 200
        assert bought.json()["tickets"][0]["quantity"] == 2
        new_id = bought.json()["participant"]["id"]

        people = []
        page = 1
        while page:
            answer = client.get("/participants",
                                params={"eventId": event["id"], "page": page, "limit": 100}).json()
            people += answer["participants"]
            page = answer["paginate"]["nextPage"]
        assert [p["email"] for p in people if p["id"] == new_id] == ["ada@example.com"]

        left = client.get("/tickets", params={"eventId": event["id"]}).json()["tickets"]
        assert [t["quantity"] for t in left if t["id"] == ticket["id"]] == [ticket["quantity"] - 2]

        ada = {"eventId": event["id"], "participant": {"first_name": "Ada"}}
        goevent_mock.assert_called("createTickets", times=1, status=200, body=ada)
        goevent_mock.assert_not_called("getEvent")
        assert [c.operation for c in goevent_mock.calls()][:2] == ["listEvents", "listTickets"]
        seen = goevent_mock.calls("createTickets")[0].authorization
        assert seen is not None and goevent_mock.token not in seen


    def test_every_test_starts_from_fresh_data(goevent_mock):
        assert goevent_mock.calls() == []
        assert goevent_mock.store.orders == {}


    @pytest.mark.goevent_mock(rate_limit="3/60s")
    def test_a_low_rate_limit_answers_429(goevent_mock):
        statuses = [goevent_mock.client.get("/events").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        last = goevent_mock.client.get("/events")
        assert last.status_code == 429
        assert last.json()["code"] == "RATE_LIMITED"
        assert int(last.headers["Retry-After"]) >= 1
        assert last.headers["X-RateLimit-Remaining"] == "0"
        goevent_mock.assert_called("listEvents", times=2, status=429)


    def test_the_same_on_a_real_socket(goevent_mock_server):
        assert goevent_mock_server.base_url.startswith("http://127.0.0.1:")
        assert goevent_mock_server.base_url.endswith("/developers/v1.0")
        answer = httpx.get(goevent_mock_server.base_url + "/events",
                           headers={"Authorization": f"Bearer {goevent_mock_server.token}"})
        assert answer.status_code == 200
        goevent_mock_server.assert_called("listEvents", times=1)
'''


def test_a_users_suite_passes_with_the_documented_fixtures(pytester: pytest.Pytester) -> None:
    result = run(pytester, USER_SUITE)
    result.assert_outcomes(passed=4)


def test_the_marker_is_registered_by_the_plugin(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.goevent_mock(**settings):*"])


def test_a_failed_journal_assertion_lists_the_calls(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        def test_wrong_count(goevent_mock):
            goevent_mock.client.get("/events", params={"limit": 3})
            goevent_mock.assert_called("listEvents", times=2)
        """,
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*listEvents was expected 2 time(s); 1 call(s) match, out of 1 call(s) of listEvents:*",
        "*#1 GET /events?limit=3 -> 200*",
    ])  # fmt: skip


def test_an_unknown_operation_name_is_refused(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        def test_typo(goevent_mock):
            goevent_mock.assert_called("listEvent")
        """,
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*unknown operation 'listEvent'; one of: createTickets*"])


def test_the_marker_chooses_seed_fixture_and_token(pytester: pytest.Pytester) -> None:
    pytester.path.joinpath("data").mkdir()
    fixture = pytester.path / "data" / "docs.json"
    fixture.write_text(DOCS_FIXTURE.read_text(encoding="utf-8"), encoding="utf-8")
    result = run(
        pytester,
        """
        import pytest
        from mockserver import Settings, create_app
        from mockserver.testing import asgi_client


        @pytest.mark.goevent_mock(seed=7)
        def test_seed(goevent_mock):
            ours = goevent_mock.client.get("/events").json()
            twin = create_app(Settings(seed=7))
            with asgi_client(twin, goevent_mock.base_url,
                             headers={"Authorization": "Bearer goevent-dev-token"}) as other:
                assert other.get("/events").json() == ours
            default = create_app(Settings())
            assert default.state.store.events[0].id not in {e["id"] for e in ours["events"]}


        @pytest.mark.goevent_mock(fixtures="data/docs.json", token="my-token")
        def test_fixture_next_to_the_test_file(goevent_mock):
            assert goevent_mock.token == "my-token"
            names = [e["name"] for e in goevent_mock.client.get("/events").json()["events"]]
            assert "Concert de Jazz" in names


        @pytest.mark.goevent_mock(seed=7)
        class TestClassMarker:
            @pytest.mark.goevent_mock(token="closest-wins")
            def test_closest_marker_wins_and_merges(self, goevent_mock):
                assert goevent_mock.settings.seed == 7
                assert goevent_mock.token == "closest-wins"
        """,
    )
    result.assert_outcomes(passed=3)


def test_a_marker_with_an_unknown_setting_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import pytest

        @pytest.mark.goevent_mock(sead=7)
        def test_typo(goevent_mock):
            pass
        """,
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*unknown setting 'sead'; known:*seed*"])


def test_a_suite_sets_its_defaults_by_overriding_the_settings_fixture(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest(
        """
        import pytest
        from mockserver import Settings

        @pytest.fixture
        def goevent_mock_settings():
            return Settings(seed=3, organizers=1, events_per_organizer=2)
        """
    )
    result = run(
        pytester,
        """
        def test_small(goevent_mock):
            assert len(goevent_mock.client.get("/events").json()["events"]) == 2
            assert goevent_mock.tokens == ["goevent-dev-token"]
        """,
    )
    result.assert_outcomes(passed=1)


def test_the_server_fixture_is_fresh_for_each_test_and_drops_for_real(
    pytester: pytest.Pytester,
) -> None:
    result = run(
        pytester,
        """
        import httpx
        import pytest

        def test_one_buys(goevent_mock_server):
            c = goevent_mock_server.client
            event = c.get("/events").json()["events"][0]
            ticket = next(t for t in c.get("/tickets", params={"eventId": event["id"]}).json()
                          ["tickets"] if t["quantity"] > 0)
            r = c.post("/tickets/create", json={"eventId": event["id"],
                       "tickets": [{"ticket_id": ticket["id"], "quantity": 1}]})
            assert r.status_code == 200
            assert len(goevent_mock_server.store.orders) == 1

        def test_two_sees_nothing_of_it(goevent_mock_server):
            assert goevent_mock_server.store.orders == {}
            assert goevent_mock_server.calls() == []
            assert goevent_mock_server.control.get("/_mock/journal").json()["count"] == 0

        @pytest.mark.goevent_mock(faults="listEvents:drop")
        def test_a_dropped_connection_is_a_transport_error(goevent_mock_server):
            with pytest.raises(httpx.RemoteProtocolError):
                goevent_mock_server.client.get("/events")
            store = goevent_mock_server.store
            mine = next(e.id for e in store.events if e.organizer_id == store.organizers[0].id)
            after = goevent_mock_server.client.get("/tickets", params={"eventId": mine})
            assert after.status_code == 200
            goevent_mock_server.assert_called("listEvents", times=1, status="dropped")

        def test_in_process_too(goevent_mock):
            goevent_mock.add_fault("listEvents:drop,times=1")
            with pytest.raises(httpx.RemoteProtocolError):
                goevent_mock.client.get("/events")
            assert goevent_mock.client.get("/events").status_code == 200
        """,
    )
    result.assert_outcomes(passed=4)


def test_helpers_set_faults_limits_and_the_clock(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        from datetime import UTC, datetime, timedelta

        def test_helpers(goevent_mock):
            goevent_mock.add_fault("getEvent:status=503,times=1")
            event_id = goevent_mock.client.get("/events").json()["events"][0]["id"]
            assert goevent_mock.client.get(f"/event/{event_id}").status_code == 503
            assert goevent_mock.client.get(f"/event/{event_id}").status_code == 200
            goevent_mock.set_rate_limit("1/1h")
            assert goevent_mock.client.get("/events").status_code == 200
            assert goevent_mock.client.get("/events").status_code == 429
            goevent_mock.clock.advance(timedelta(hours=1))
            assert goevent_mock.client.get("/events").status_code == 200
            goevent_mock.set_rate_limit(None)
            goevent_mock.clock.freeze(datetime(2025, 3, 1, tzinfo=UTC))
            goevent_mock.client.get("/events")
            assert goevent_mock.calls()[-1].time == datetime(2025, 3, 1, tzinfo=UTC)
            goevent_mock.reset()
            assert goevent_mock.calls() == []
            assert goevent_mock.box.faults.rules == []
            assert goevent_mock.box.limiter is None
            assert goevent_mock.clock.describe()["frozen"] is False
        """,
    )
    result.assert_outcomes(passed=1)
