"""Schemathesis over every operation: stateless phases per operation, then the stateful phase.

Every built-in check that applies is on, plus the business-rule checks of
``mockserver.drift.checks``; generation is deterministic (no seed drift, no
example database, no cache), with a small example budget.
"""

from __future__ import annotations

import pytest
import schemathesis.specs.openapi.checks  # noqa: F401  (registers the OpenAPI checks)
from schemathesis.checks import CHECKS as REGISTERED_CHECKS

from mockserver.drift.checks import ADDITIVE_CHECK, CHECK_TOPICS
from mockserver.drift.contract import Contract
from mockserver.drift.engine import CHECKS, SchemathesisOutcome, run_schemathesis
from mockserver.drift.findings import BROKE
from mockserver.drift.guard import RunGuard
from mockserver.drift.target import Target

OPERATIONS = ["listEvents", "getEvent", "listTickets", "createTickets", "listParticipants"]
STATELESS = ("examples", "coverage", "fuzzing")
MAX_EXAMPLES = 10


def _explain(outcome: SchemathesisOutcome) -> str:
    return "\n\n".join(
        f"[{f.kind}] {f.operation} {f.title} ({f.check})\n  spec says: {f.spec_says}\n"
        f"  server did: {f.server_did}\n  {f.curl}"
        for f in outcome.findings
    )


def _assert_clean(outcome: SchemathesisOutcome, fail_on_additive: bool) -> None:
    assert not outcome.errors, outcome.errors
    assert not outcome.budget_exhausted, "the request budget ran out (GOEVENT_MAX_REQUESTS)"
    failing = [f for f in outcome.findings if f.kind == BROKE or fail_on_additive]
    assert not failing, _explain(outcome)


def test_the_contract_runs_every_applicable_check() -> None:
    # Derived from the registry, so a check a Schemathesis upgrade adds fails here
    # until it is enabled in CHECKS or excluded with a reason.
    ours = set(CHECK_TOPICS) | {ADDITIVE_CHECK}
    registered = set(REGISTERED_CHECKS.get_all_names())
    assert ours <= registered
    # object_level_authorization needs identities configured (see engine.CHECKS).
    assert set(CHECKS) == registered - ours - {"object_level_authorization"}
    assert len(CHECKS) == len(set(CHECKS))


@pytest.mark.parametrize("operation", OPERATIONS)
def test_stateless_phases(
    operation: str, target: Target, guard: RunGuard, contract: Contract, fail_on_additive: bool
) -> None:
    if operation == "createTickets" and not target.writes:
        pytest.skip("read-only target: POST /tickets/create is not called")
    outcome = run_schemathesis(
        target, guard, contract, phases=STATELESS, max_examples=MAX_EXAMPLES, operations=[operation]
    )

    _assert_clean(outcome, fail_on_additive)
    assert outcome.cases.get("coverage", 0) > 0
    assert outcome.cases.get("fuzzing", 0) > 0
    ran = outcome.checks_passed.get(operation, set())
    assert {"response_schema_conformance", "status_code_conformance", "api_grew"} <= ran


def test_stateful_phase_follows_the_links(
    target: Target, guard: RunGuard, contract: Contract, fail_on_additive: bool
) -> None:
    outcome = run_schemathesis(
        target, guard, contract, phases=("stateful",), max_examples=MAX_EXAMPLES
    )

    _assert_clean(outcome, fail_on_additive)
    assert outcome.cases.get("stateful", 0) > 0
    # The links lead from List Events to the other reads (and, with writes, to purchases).
    reached = {op for op, seen in guard.statuses.items() if seen.get(200)}
    assert {"listEvents", "getEvent", "listTickets", "listParticipants"} <= reached
