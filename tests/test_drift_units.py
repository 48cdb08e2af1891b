"""The drift kit's parts: rules, the contract view, determinism, reports, the CI workflow."""

from __future__ import annotations

import argparse
import json
import re
import shlex
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from mockserver import Settings, create_app
from mockserver.drift import rules
from mockserver.drift.cli import add_parser
from mockserver.drift.contract import Assumption, Contract, SpecError, load_contract
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
    keys = [a.key for a in contract.assumptions_for("listEvents")]
    assert keys[:3] == ["error-body", "success-status", "missing-or-bad-token"]
    assert "ordering" in keys
    assert "page-and-limit-range" in keys
    assert contract.by_key["ordering"].topic == "Ordering"


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
        assumptions=["success-status"],
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
            Verdict(
                "API", "Success status: 200", "refuted", "createTickets: 201", "success-status"
            ),
            Verdict("operation listEvents", "Ordering: by date", "confirmed", "probe x"),
        ],
        uncovered=[Assumption("operation createTickets", "Idempotency-Key: ours", "idem-key")],
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
    assert (
        "| ❌ refuted | `success-status` | API | Success status: 200 | createTickets: 201 |"
        in markdown
    )
    suite = ET.fromstring(render_junit(result))
    failures = [c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None]
    assert failures == ["schemathesis[createTickets]"]  # additive does not fail this run
    data = json.loads(render_json(result))
    assert data["exit_code"] == 1
    assert [f["kind"] for f in data["findings"]] == ["broke", "grew"]
    assert data["assumptions"][0]["status"] == "refuted"
    assert data["assumptions"][0]["key"] == "success-status"
    assert data["findings"][0]["assumptions"] == ["success-status"]
    # Assumptions no probe or check tests are listed, in each format.
    assert "## Assumptions no probe or check tests" in markdown
    assert "- `idem-key` (operation createTickets): Idempotency-Key: ours" in markdown
    assert data["uncovered"] == [
        {"key": "idem-key", "where": "operation createTickets", "text": "Idempotency-Key: ours"}
    ]
    skipped = [c.get("name") for c in suite.iter("testcase") if c.find("skipped") is not None]
    assert skipped == ["assumption[idem-key]"]


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


def _imports(path: Path) -> set[str]:
    """The absolute module names ``path`` imports (relative imports resolved)."""
    import ast

    package = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(p for p in (base, node.module or "") if p)
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def test_the_product_imports_nothing_from_the_tests() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            name
            for name in _imports(path)
            if name.split(".")[0] in ("tests", "contract_tests", "conftest")
        )
        for path in sorted((ROOT / "mockserver").rglob("*.py"))
    }
    assert {k: v for k, v in offenders.items() if v} == {}
    # The drift corpus is test scaffolding: it lives beside the tests, not in the package.
    assert not (ROOT / "mockserver" / "drift" / "corpus.py").exists()


def test_the_contract_kit_imports_nothing_above_it() -> None:
    # The kit tests a server through its URL (or an ASGI app it is handed): it needs the spec,
    # never the fake's HTTP layer or the command line that launches it.
    above = ("mockserver.cli", "mockserver.http", "mockserver.pytest_plugin")
    offenders = {
        path.name: sorted(n for n in _imports(path) if n.startswith(above))
        for path in sorted((ROOT / "mockserver" / "drift").glob("*.py"))
    }
    assert {k: v for k, v in offenders.items() if v} == {}


# -- assumption keys: the code names keys, the spec holds them -------------------


def test_every_assumption_key_the_code_names_is_in_the_spec() -> None:
    from mockserver.drift.runner import named_keys

    contract = load_contract()
    named = named_keys()
    assert sorted(set(named) - set(contract.by_key)) == []
    # Every probe and every rule names keys of the spec, not prose.
    from mockserver.drift.checks import CHECK_RULES
    from mockserver.drift.probes import PROBES, declared_rules

    for probe in PROBES:
        assert set(probe.topics) <= set(contract.by_key), probe.name
    for rule in [*declared_rules(), *CHECK_RULES.values()]:
        assert set(rule.keys) <= set(contract.by_key), rule.check
    # The proxy checks the same contract from passing traffic, and names keys the same way.
    from mockserver.proxy import assumptions

    proxy_named = assumptions.named_keys()
    assert sorted(set(proxy_named) - set(contract.by_key)) == []
    for check, keys in [*assumptions.TESTED_KEYS.items(), *assumptions.SEQUENCE_KEYS.items()]:
        assert set(keys) <= set(contract.by_key), f"proxy check {check}"


def test_a_key_the_spec_lacks_fails_the_proxys_naming_too(monkeypatch: pytest.MonkeyPatch) -> None:
    from mockserver.proxy import assumptions

    monkeypatch.setitem(assumptions.SEQUENCE_KEYS, "page_walk", ("ordering", "no-such-key"))
    assert "no-such-key" in assumptions.named_keys()
    assert "no-such-key" not in load_contract().by_key


def test_assumption_keys_are_unique_and_stable_names() -> None:
    contract = load_contract()
    keys = [a.key for a in contract.assumptions]
    assert len(keys) == len(set(keys)) >= 20
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", k) for k in keys), keys


def test_a_reworded_assumption_keeps_its_verdict_and_a_stray_key_is_refused() -> None:
    import copy

    from mockserver.spec import build_spec

    spec = load_contract().spec
    doc = copy.deepcopy(spec.document)
    doc["x-goevent-assumption"][1]["text"] = "Statuses: every success is a 200, worded anew"
    reworded = Contract(build_spec(doc, "reworded"))
    (found,) = reworded.find("createTickets", "success-status")
    assert found.text.startswith("Statuses:")
    doc["x-goevent-assumption"][1] = "Success status: a bare string, no key"
    with pytest.raises(SpecError, match=re.escape("must be {key: ..., text: ...}")):
        Contract(build_spec(doc, "reworded"))
    doc["x-goevent-assumption"][1] = {"key": "error-body", "text": "a repeated key"}
    with pytest.raises(SpecError, match="repeated: \\['error-body'\\]"):
        Contract(build_spec(doc, "reworded"))


def test_uncovered_lists_the_assumptions_no_probe_or_check_names() -> None:
    from mockserver.drift.runner import named_keys, uncovered

    contract = load_contract()
    missing = uncovered(contract)
    assert [a.key for a in missing] == [k for k in contract.by_key if k not in named_keys()]
    # The fake's own Idempotency-Key is left out of live runs, so nothing tests it.
    assert "idempotency-key" in [a.key for a in missing]
    assert "echo-fidelity" not in [a.key for a in missing]


# -- describe(): what the spec says and what the server did, from the failure objects --


def test_describe_reads_the_failures_attributes_not_their_text() -> None:
    from schemathesis.core.failures import AcceptedNegativeData, ServerError, Severity
    from schemathesis.openapi.checks import (
        IgnoredAuth,
        UndefinedContentType,
        UndefinedStatusCode,
    )

    from mockserver.drift.checks import CHECK_RULES, RuleFailure
    from mockserver.drift.engine import describe

    def said(failure: object) -> tuple[str, str]:
        return describe(failure)

    # A message that says something else: describe() must not read it.
    noise = "Documented: 999\nReceived: 777"
    assert said(
        UndefinedStatusCode(
            operation="POST /tickets/create",
            status_code=201,
            defined_status_codes=["200", "400"],
            allowed_status_codes=[200, 400],
            message=noise,
        )
    ) == ("documented statuses: 200, 400", "answered 201")
    assert said(ServerError(operation="GET /events", status_code=503, message=noise)) == (
        "no 5xx is documented: no input may make the server fail",
        "answered 503",
    )
    assert said(
        AcceptedNegativeData(
            operation="GET /events", message=noise, status_code=200, expected_statuses=["400"]
        )
    ) == ("a request that violates the schema is rejected with 400", "answered 200")
    assert said(
        UndefinedContentType(
            operation="GET /tickets",
            message=noise,
            content_type="text/plain",
            defined_content_types=["application/json"],
        )
    ) == ("documented Content-Type: application/json", "answered Content-Type text/plain")
    from schemathesis.openapi.checks import AuthScenario

    spec_says, did = said(
        IgnoredAuth(operation="GET /events", message=noise, scenario=AuthScenario.NO_AUTH)
    )
    assert "401" in spec_says
    assert did == "accepted a request with no auth"
    rule = CHECK_RULES["purchase_echoes_request"]
    failure = RuleFailure(
        rule=rule,
        operation="POST /tickets/create",
        message="$.participant.email: x",
        severity=Severity.HIGH,
    )
    assert said(failure) == (rule.spec_says, "$.participant.email: x")


def test_the_echo_check_compares_every_field_a_purchase_sends() -> None:
    from mockserver.drift.checks import echo_problems

    form = {"last_name": "Doe", "first_name": "John", "email": "j@x.io", "phone": "+1 2"}
    sent = {"eventId": "e", "tickets": [{"ticket_id": "t", "quantity": 2.0}], "participant": form}
    answer = {"participant": {**form, "id": "p", "address": None}, "tickets": [{"quantity": 2}]}
    assert echo_problems(sent, answer) == []
    renamed = {**answer, "participant": {**answer["participant"], "last_name": "DOE"}}
    assert echo_problems(sent, renamed) == ["$.participant.last_name: sent 'Doe', shown 'DOE'"]
    fewer = {**answer, "tickets": [{"quantity": 1}]}
    assert echo_problems(sent, fewer) == ["$.tickets[*].quantity: sent [2], shown [1]"]
    existing = {**sent, "participant": {"participantId": "p"}}
    assert echo_problems(existing, answer) == []
    assert echo_problems(existing, {**answer, "participant": {"id": "q"}}) == [
        "$.participant.id: sent participantId 'p', shown 'q'"
    ]
    nobody = {"eventId": "e", "tickets": [{"ticket_id": "t", "quantity": 1}]}
    assert echo_problems(nobody, {"participant": None, "tickets": [{"quantity": 1}]}) == []
