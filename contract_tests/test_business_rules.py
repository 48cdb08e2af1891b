"""The business rules, as probes: each a short deterministic scenario, run on every target.

The same probes run in ``goevent-mock drift``; here each is one test. Purchase
probes need writes (always on the fake; on a live target only with
``GOEVENT_ALLOW_WRITES=1`` and ``GOEVENT_TEST_EVENT_ID``), the isolation probe a
second token (``GOEVENT_OTHER_TOKEN``; the fake has ``goevent-dev-token-2``).
"""

from __future__ import annotations

import pytest

from mockserver.drift.contract import Contract
from mockserver.drift.guard import Api
from mockserver.drift.probes import PROBES, Probe, ProbeContext, applicable, run_probe
from mockserver.drift.runner import preflight
from mockserver.drift.target import Target


def test_the_target_answers_and_takes_the_token(target: Target, api: Api) -> None:
    assert preflight(target, api) is None


@pytest.mark.parametrize("probe", PROBES, ids=[p.name for p in PROBES])
def test_business_rule(probe: Probe, target: Target, api: Api, contract: Contract) -> None:
    reason = {p.name: r for p, r in applicable(target)}[probe.name]
    if reason:
        pytest.skip(reason)
    result = run_probe(probe, ProbeContext(target, api, contract))

    assert result.status != "inconclusive", result.reason
    assert not result.findings, "\n\n".join(
        f"{f.operation}: {f.title}\n  spec says: {f.spec_says}\n  server did: {f.server_did}\n"
        f"  {f.curl}"
        for f in result.findings
    )
    assert result.status == "passed"
    assert result.tested == list(probe.topics)
