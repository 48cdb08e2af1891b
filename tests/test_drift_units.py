"""The drift kit's parts: rules, the contract view, determinism, reports, the CI workflow."""

from __future__ import annotations

import argparse
import json
import shlex
import xml.etree.ElementTree as ET
from pathlib import Path

import yaml

from mockserver import Settings, create_app
from mockserver.drift import rules
from mockserver.drift.cli import add_parser
from mockserver.drift.contract import load_contract
from mockserver.drift.engine import run_schemathesis
from mockserver.drift.findings import Finding, Verdict
from mockserver.drift.guard import RunGuard, activate
from mockserver.drift.report import render_json, render_junit, render_markdown
from mockserver.drift.runner import DriftOptions, DriftResult
from mockserver.drift.target import Target

ROOT = Path(__file__).parents[1]
EVENT = {
    "id": "507f1f77bcf86cd799439011",
    "slug": "concert-de-jazz",
    "path": "/concert-de-jazz",
    "siteUrl": "https://www.goevent.live/e/concert-de-jazz",
    "checkoutUrl": "https://www.goevent.live/e/concert-de-jazz/checkout",
    "dateStart": "2024-06-15T20:00:00.000Z",
    "dateEnd": "2024-06-16T02:00:00.000Z",
}


def test_rules_hold_on_the_documents_example_and_name_what_breaks() -> None:
    assert rules.event_problems(EVENT) == []
    assert rules.object_id_problems({"events": [EVENT]}) == []
    broken = {**EVENT, "path": "/other", "dateEnd": "2024-06-14T00:00:00.000Z"}
    assert rules.event_problems(broken) == [
        "$.event.path is '/other'; with slug 'concert-de-jazz' it must be '/concert-de-jazz'",
        "$.event.dateEnd 2024-06-14T00:00:00.000Z is before dateStart 2024-06-15T20:00:00.000Z",
    ]
    assert rules.object_id_problems({"tickets": [{"id": "T-1"}]}) == [
        "$.tickets[0].id is 'T-1', not an ObjectId (24 lowercase hex digits)"
    ]
    tickets = [{"quantity": 0, "available": False}, {"quantity": -1, "available": True}]
    assert rules.ticket_problems(tickets) == [
        "$.tickets[1].quantity is -1: a quantity left is never negative",
        "$.tickets[1].available is true with quantity -1: available must be quantity > 0",
    ]
    assert rules.page_problems([1, 2], {"hasNextPage": True, "nextPage": 2}, 1, 2) == []
    assert rules.page_problems([1, 2, 3], {"hasNextPage": False, "nextPage": 3}, 1, 2) == [
        "$ holds 3 items; limit=2 allows at most 2",
        "$.paginate: hasNextPage is false but nextPage is 3, not null",
    ]


def test_the_contract_view_closes_response_objects_only_in_memory() -> None:
    contract = load_contract()
    body = {"event": {**EVENT, "timezone": "Europe/Paris"}, "tickets": [{"id": "x", "vip": 1}]}
    assert contract.unknown_fields("getEvent", 200, body) == [
        "$.event.timezone",
        "$.tickets[0].vip",
    ]
    # The published spec stays open: a client must tolerate new fields.
    event = contract.spec.schema("Event")
    assert "additionalProperties" not in event
    topics = [a.topic for a in contract.assumptions_for("listEvents")]
    assert topics[:3] == ["Error body", "Success status", "Missing or bad token"]
    assert "Ordering" in topics
    assert "`page` < 1, `limit` < 1, `limit` > 100, non-numbers" in topics


def test_schemathesis_runs_are_deterministic() -> None:
    counts = []
    for _ in range(2):  # a fresh fake each time, no example database, no cache
        target = Target.in_process(create_app(Settings()))
        guard = RunGuard(target)
        with activate(guard):
            outcome = run_schemathesis(
                target,
                guard,
                load_contract(),
                phases=("coverage", "fuzzing"),
                max_examples=5,
                operations=["listEvents", "getEvent"],
            )
        assert outcome.findings == []
        counts.append((outcome.cases, outcome.requests, dict(guard.statuses)))
    assert counts[0] == counts[1]
    assert counts[0][1] > 50


def _result() -> DriftResult:
    finding = Finding(
        kind="broke",
        check="status_code_conformance",
        operation="createTickets",
        endpoint="POST /tickets/create",
        title="Undocumented status code",
        spec_says="documented statuses: 200, 400",
        server_did="answered 201",
        curl='curl -X POST -H "Authorization: Bearer $GOEVENT_TOKEN" https://x/tickets/create',
        source="schemathesis fuzzing",
        code="ST103",
        refutes=["Success status: 200 for every operation, including Create Tickets"],
    )
    grew = Finding(
        kind="grew",
        check="api_grew",
        operation="listEvents",
        endpoint="GET /events",
        title="The API grew",
        spec_says="closed",
        server_did="$.events[*].tz",
        curl="curl https://x/events",
        source="schemathesis fuzzing",
    )
    return DriftResult(
        target="https://x",
        banner="goevent contract run against https://x: read-only",
        started="2026-11-26T00:00:00+00:00",
        options=DriftOptions(fail_on_additive=False),
        exit_code=1,
        reason="drift: 1 breaking and 1 additive finding(s) in createTickets",
        findings=[finding, grew],
        cases={"fuzzing": 40},
        tested_operations=["createTickets"],
        verdicts=[
            Verdict("API", "Success status: 200", "refuted", "createTickets: 201"),
            Verdict("operation listEvents", "Ordering: by date", "confirmed", "probe x"),
        ],
    )


def test_the_reports_say_the_same_thing_three_ways() -> None:
    result = _result()
    markdown = render_markdown(result)
    assert markdown.startswith("# GoEvent drift report — DRIFT FOUND\n")
    assert "### 1. createTickets — Undocumented status code" in markdown
    assert "- **Spec says:** `documented statuses: 200, 400`" in markdown
    assert "- **Server did:** `answered 201`" in markdown
    assert "refutes “Success status: 200 for every operation, including Create Tickets”" in markdown
    assert "## The API grew" in markdown
    assert "| ❌ refuted | API | Success status: 200 | createTickets: 201 |" in markdown
    suite = ET.fromstring(render_junit(result))
    failures = [c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None]
    assert failures == ["schemathesis[createTickets]"]  # additive does not fail this run
    data = json.loads(render_json(result))
    assert data["exit_code"] == 1
    assert [f["kind"] for f in data["findings"]] == ["broke", "grew"]
    assert data["assumptions"][0]["status"] == "refuted"


def test_the_nightly_workflow_runs_the_drift_command_with_the_secret() -> None:
    workflow = yaml.safe_load((ROOT / ".github/workflows/drift.yml").read_text())
    triggers = workflow[True]  # YAML 1.1 reads the key "on" as True
    assert triggers["schedule"][0]["cron"] == "17 3 * * *"  # nightly at 03:17 UTC (docs/drift.md)
    assert "workflow_dispatch" in triggers
    job = workflow["jobs"]["drift"]
    assert job["env"]["GOEVENT_TOKEN"] == "${{ secrets.GOEVENT_TOKEN }}"
    steps = {s.get("name", s.get("uses")): s for s in job["steps"]}
    command = steps["Check the live API for drift"]["run"]
    argv = shlex.split(command.split("${{")[0])
    assert argv[:2] == ["goevent-mock", "drift"]
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv[1:])
    assert (str(args.report), str(args.junit), str(args.json), str(args.html)) == (
        "drift.md",
        "drift.xml",
        "drift.json",
        "drift.html",
    )
    upload = steps["Upload the drift report"]
    assert upload["uses"].startswith("actions/upload-artifact@")
    assert upload["if"] == "always()"
    assert set(upload["with"]["path"].split()) == {
        "drift.md", "drift.xml", "drift.json", "drift.html", "drift-trend.html"}  # fmt: skip
    # The trend step runs the real subcommand on the kept reports.
    trend = shlex.split(steps["Trend over the last 30 nights"]["run"].splitlines()[-2].strip())
    assert trend[:2] == ["goevent-mock", "drift-trend"]
    assert trend[-2:] == ["--html", "drift-trend.html"]
