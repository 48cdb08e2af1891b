"""One drift run: preflight, probes, Schemathesis, verdicts, exit status."""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

import httpx

from . import engine, probes
from .contract import Assumption, Contract, load_contract
from .engine import run_schemathesis
from .findings import BROKE, GREW, Finding, Verdict
from .guard import Api, BudgetExhausted, RunGuard, WriteRefused, activate
from .probes import ProbeResult, run_probes
from .target import ALL_PHASES, SEED, Target

__all__ = [
    "EXIT_CANNOT_RUN",
    "EXIT_DRIFT",
    "EXIT_OK",
    "DriftOptions",
    "DriftResult",
    "named_keys",
    "run_drift",
    "uncovered",
]

EXIT_OK, EXIT_DRIFT, EXIT_CANNOT_RUN = 0, 1, 2
RATE_LIMITING = "rate-limiting"  # confirmed by the guard when a 429 carries Retry-After


def named_keys() -> dict[str, list[str]]:
    """Every assumption key the kit's code names -> what names it (probes, checks, the guard)."""
    out: dict[str, list[str]] = {}
    for part in (probes.named_keys(), engine.named_keys(), {RATE_LIMITING: ["the run's guard"]}):
        for key, names in part.items():
            out.setdefault(key, []).extend(names)
    for rule in probes.declared_rules():
        for key in rule.keys:
            out.setdefault(key, []).append(f"probe rule {rule.check}")
    return out


def uncovered(contract: Contract, named: Collection[str] | None = None) -> list[Assumption]:
    """The spec's assumptions that no probe or check tests (``named``: the keys they name,
    by default the drift kit's): no run can confirm or refute them."""
    named = named_keys() if named is None else named
    return [a for a in contract.assumptions if a.key not in named]


@dataclass(frozen=True)
class DriftOptions:
    phases: tuple[str, ...] = ALL_PHASES
    max_examples: int = 10
    seed: int = SEED
    fail_on_additive: bool = True
    operations: tuple[str, ...] | None = None  # operationIds; None: all


@dataclass
class DriftResult:
    target: str
    banner: str
    started: str
    options: DriftOptions
    exit_code: int = EXIT_OK
    reason: str = ""  # one line: why the run could not run, or what it found
    duration: float = 0.0
    requests: int = 0
    cases: dict[str, int] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    probes: list[ProbeResult] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    tested_operations: list[str] = field(default_factory=list)  # by Schemathesis
    uncovered: list[Assumption] = field(default_factory=list)  # no probe or check tests them

    @property
    def broke(self) -> list[Finding]:
        return [f for f in self.findings if f.kind == BROKE]

    @property
    def grew(self) -> list[Finding]:
        return [f for f in self.findings if f.kind == GREW]

    def failed_on_drift(self) -> bool:
        """If a finding fails the run (a breaking one; an additive one unless allowed), set
        the exit code and the one-line reason that say so, and return True."""
        failing = self.broke + (self.grew if self.options.fail_on_additive else [])
        if not failing:
            return False
        self.exit_code = EXIT_DRIFT
        ops = sorted({f.operation for f in failing})
        self.reason = (
            f"drift: {len(self.broke)} breaking and {len(self.grew)} additive "
            f"finding(s) in {', '.join(ops)}"
        )
        return True


def preflight(target: Target, api: Api) -> str | None:
    """The reason the run cannot start, or None: the server answers and takes the token."""
    try:
        reply = api.request("listEvents", "GET", "/events", params={"page": 1, "limit": 1})
    except httpx.HTTPError as exc:
        return f"unreachable: GET {target.base_url}/events failed: {type(exc).__name__}: {exc}"
    if reply.status in (401, 403):
        return f"token refused: GET /events answered {reply.status} with the given token"
    if reply.status == 404:
        return (
            f"GET {target.base_url}/events answered 404: is the base URL the API prefix "
            "(…/developers/v1.0)?"
        )
    if target.allow_writes and not target.is_fake and target.test_event_id:
        event = api.request("getEvent", "GET", f"/event/{target.test_event_id}")
        if event.status != 200:
            return (
                f"test event {target.test_event_id} answered {event.status}: writes need an "
                "event the token administers"
            )
    return None


def run_drift(
    target: Target, options: DriftOptions | None = None, contract: Contract | None = None
) -> DriftResult:
    """Run probes and Schemathesis against ``target``; the result says what drifted."""
    options = options or DriftOptions()
    contract = contract or load_contract()
    started = time.monotonic()
    result = DriftResult(
        target=target.label or target.base_url,
        banner=target.banner(),
        started=datetime.now(UTC).isoformat(timespec="seconds"),
        options=options,
        uncovered=uncovered(contract),
    )
    guard = RunGuard(target)
    with activate(guard), Api(target, guard) as api:
        try:
            reason = preflight(target, api)
            if reason is not None:
                result.exit_code, result.reason = EXIT_CANNOT_RUN, reason
                return _finish(result, guard, started)
            selected = set(options.operations) if options.operations else None
            result.probes = run_probes(
                target,
                api,
                contract,
                only=(lambda p: p.operation in selected) if selected else None,
            )
            result.findings += _merged([f for p in result.probes for f in p.findings])
        except BudgetExhausted as exc:
            result.notes.append(f"probes stopped: {exc}")
        except httpx.HTTPError as exc:
            result.exit_code = EXIT_CANNOT_RUN
            result.reason = f"unreachable during the probes: {type(exc).__name__}: {exc}"
            return _finish(result, guard, started)
        except WriteRefused as exc:  # a probe bug: the guard held
            result.errors.append(f"a probe tried a refused write: {exc}")
        if options.phases and not guard.exhausted:
            outcome = run_schemathesis(
                target,
                guard,
                contract,
                phases=options.phases,
                max_examples=options.max_examples,
                seed=options.seed,
                operations=options.operations,
            )
            result.findings += outcome.findings
            result.cases = outcome.cases
            result.tested_operations = sorted(outcome.checks_passed)
            result.errors += outcome.errors
            if outcome.rate_limited_checks:
                result.notes.append(
                    f"{outcome.rate_limited_checks} auth/resource check(s) got 429 and were "
                    "not counted as drift"
                )
            if outcome.refused_writes:
                result.notes.append(
                    f"{outcome.refused_writes} generated write(s) refused by the guard"
                )
        result.verdicts = verdicts(contract, result, guard.retry_after_seen)
    return _finish(result, guard, started)


def _finish(result: DriftResult, guard: RunGuard, started: float) -> DriftResult:
    result.duration = time.monotonic() - started
    result.requests = guard.sent
    if guard.rate_limited:
        result.notes.append(
            f"{guard.rate_limited} answer(s) were 429; waited {guard.waited:.1f} s "
            "in the probes (Schemathesis waits on its own, up to 3 × 60 s)"
        )
    result.findings.sort(key=lambda f: (f.kind != BROKE, f.operation, f.check, f.title))
    if result.exit_code == EXIT_CANNOT_RUN:
        return result
    refused = guard.refused_operations()
    if refused:
        result.exit_code = EXIT_CANNOT_RUN
        result.reason = (
            f"token refused: {', '.join(refused)} never answered anything but 401/403; "
            "the run cannot pass"
        )
        return result
    if guard.exhausted:
        result.notes.append(
            f"the request budget of {guard.target.max_requests} requests was spent; "
            "the run stopped early"
        )
    if result.failed_on_drift():
        return result
    if guard.exhausted:
        result.exit_code = EXIT_CANNOT_RUN
        result.reason = (
            f"the request budget of {guard.target.max_requests} requests ran out before "
            "the run finished; raise --max-requests"
        )
    elif result.errors:
        result.exit_code = EXIT_CANNOT_RUN
        result.reason = f"could not test everything: {result.errors[0][:200]}"
    else:
        result.exit_code = EXIT_OK
        result.reason = "no drift" + (
            f" ({len(result.grew)} additive finding(s) not failing the run)" if result.grew else ""
        )
    return result


def verdicts(
    contract: Contract, result: DriftResult, retry_after_seen: Sequence[str]
) -> list[Verdict]:
    """Confirmed, refuted or untested, for every ``x-goevent-assumption`` of the spec;
    ``retry_after_seen``: the 429 answers with ``Retry-After`` the run saw."""
    out = []
    for assumption in contract.assumptions:
        key = assumption.key
        status: Literal["confirmed", "refuted", "untested"]
        refuting = [f for f in result.findings if key in f.assumptions]
        refuting_probes = [p.name for p in result.probes if key in p.refuted]
        tested_by = [
            p.name for p in result.probes if p.status in ("passed", "failed") and key in p.tested
        ]
        if refuting or refuting_probes:
            status, evidence = (
                "refuted",
                "; ".join(
                    [f"{f.operation}: {f.title}" for f in refuting[:2]]
                    + [f"probe {n}" for n in refuting_probes[:2]]
                ),
            )
        elif key == RATE_LIMITING and retry_after_seen:
            status = "confirmed"
            evidence = f"{len(retry_after_seen)} 429 answer(s) with Retry-After"
        elif tested_by:
            status, evidence = "confirmed", "probe " + ", ".join(_uniq(tested_by))
        else:
            status, evidence = "untested", _why_untested(result, assumption)
        out.append(Verdict(assumption.where, assumption.text, status, evidence, key))
    return out


def _merged(findings: list[Finding]) -> list[Finding]:
    """One finding per (operation, check, title): the first, counting the others."""
    out: dict[tuple[str, str, str], Finding] = {}
    for finding in findings:
        key = (finding.operation, finding.check, finding.title)
        if key in out:
            out[key].occurrences += 1
        else:
            out[key] = finding
    return list(out.values())


def _uniq(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _why_untested(result: DriftResult, assumption: Assumption) -> str:
    if assumption.key == RATE_LIMITING:
        return "the server never answered 429"
    if assumption in result.uncovered:
        return "no probe or check tests it"
    skipped = [
        p
        for p in result.probes
        if p.status in ("skipped", "inconclusive") and assumption.key in p.topics
    ]
    if skipped:
        return "; ".join(_uniq(f"{p.name}: {p.reason}" for p in skipped))[:300]
    if not result.probes:
        return "probes not run"
    return "no probe tests it"
