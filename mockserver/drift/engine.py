"""Schemathesis as a library: its phases over the target, failures turned into findings."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import schemathesis
from schemathesis.core.failures import AcceptedNegativeData, MalformedJson, ServerError
from schemathesis.engine import events, from_schema
from schemathesis.engine.run.probes import PROBES as CAPABILITY_PROBES
from schemathesis.openapi.checks import (
    AllowHeaderMismatch,
    EnsureResourceAvailability,
    IgnoredAuth,
    JsonSchemaError,
    MalformedMediaType,
    MissingContentType,
    MissingHeaderNotRejected,
    MissingHeaders,
    RejectedPositiveData,
    UndefinedContentType,
    UndefinedStatusCode,
    UnsupportedMethodResponse,
    UseAfterFree,
)

from . import checks as _checks  # noqa: F401  (registers the business-rule checks)
from . import hooks as _hooks  # noqa: F401  (registers the guard hooks)
from .checks import ADDITIVE_CHECK, CHECK_RULES, RuleFailure
from .contract import Contract
from .findings import BROKE, GREW, Finding, short_json
from .guard import BudgetExhausted, RunGuard, WriteRefused
from .target import ALL_PHASES, SEED, Target

__all__ = ["ALL_PHASES", "CHECKS", "SEED", "SchemathesisOutcome", "run_schemathesis"]

# Every built-in check that applies to this API (object_level_authorization needs
# identities configured; max_response_time is about speed, measured in bench/).
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "positive_data_acceptance",
    "ignored_auth",
    "use_after_free",
    "ensure_resource_availability",
    "missing_required_header",
    "unsupported_method",
    "allow_header_conformance",
)
RATE_LIMIT_BLIND = frozenset(
    {"ignored_auth", "missing_required_header", "use_after_free", "ensure_resource_availability"}
)
_RATE_LIMITED = re.compile(r"\b429\b")
_FILTERED = re.compile(r"-H '(?:Authorization|authorization): \[Filtered\]'")


@dataclass
class SchemathesisOutcome:
    findings: list[Finding] = field(default_factory=list)
    requests: int = 0
    cases: dict[str, int] = field(default_factory=dict)  # phase -> cases
    errors: list[str] = field(default_factory=list)  # could not test (not drift)
    checks_passed: dict[str, set[str]] = field(default_factory=dict)  # operationId -> checks
    budget_exhausted: bool = False
    refused_writes: int = 0
    rate_limited_checks: int = 0  # check results voided by a 429 answer


def config_for(target: Target, phases: Iterable[str], max_examples: int, seed: int) -> Any:
    """The Schemathesis configuration of a kit run (deterministic, no cache, no example DB)."""
    phases = set(phases)
    unknown = phases - set(ALL_PHASES)
    if unknown:
        raise ValueError(f"unknown phase(s) {sorted(unknown)}; choose from {', '.join(ALL_PHASES)}")
    coverage: dict[str, Any] = {"enabled": "coverage" in phases}
    if not target.is_fake:
        # Undocumented methods are probed with safe ones only: never DELETE/PUT on a live API.
        coverage["unexpected-methods"] = ["get", "options"]
    return schemathesis.Config.from_dict(
        {
            "seed": seed,
            "base-url": target.base_url,
            "headers": {"Authorization": f"Bearer {target.token}"},
            "workers": 1,
            "continue-on-failure": True,
            "rate-limit": "auto",  # honour 429 + Retry-After (at most 3 retries, 60 s each)
            "cache": {"enabled": False},
            "generation": {
                "max-examples": max_examples,
                "deterministic": True,
                "database": "none",
            },
            "phases": {
                "examples": {"enabled": "examples" in phases},
                "coverage": coverage,
                "fuzzing": {"enabled": "fuzzing" in phases},
                "stateful": {"enabled": "stateful" in phases, "max-steps": 12},
            },
            "checks": {name: {"enabled": True} for name in CHECKS},
            "warnings": {"enabled": False},
        }
    )


def load_schema(
    target: Target, contract: Contract, config: Any, operations: Iterable[str] | None
) -> Any:
    schema: Any = schemathesis.openapi.from_dict(contract.document, config=config)
    if target.app is not None:
        schema.app = target.app
    if operations is not None:
        schema = schema.include(operation_id=list(operations))
    if not target.writes:
        schema = schema.exclude(operation_id="createTickets")
    return schema


def run_schemathesis(
    target: Target,
    guard: RunGuard,
    contract: Contract,
    *,
    phases: Iterable[str] = ALL_PHASES,
    max_examples: int = 10,
    seed: int = SEED,
    operations: Iterable[str] | None = None,
) -> SchemathesisOutcome:
    """Run Schemathesis' phases on ``target``; every failure becomes a :class:`Finding`."""
    config = config_for(target, phases, max_examples, seed)
    schema = load_schema(target, contract, config, operations)
    outcome = SchemathesisOutcome()
    found: dict[tuple[str, str, str, str], Finding] = {}
    sent_before = guard.sent
    # Schemathesis' capability probes and the ignored_auth check's two requests per operation
    # do not pass through the hooks: their share of the budget is taken up front.
    try:
        guard.spend(len(CAPABILITY_PROBES) + 2 * len(list(schema.get_all_operations())))
    except BudgetExhausted:
        outcome.budget_exhausted = True
        return outcome
    stream = from_schema(schema).execute()
    for event in stream:
        if guard.exhausted and not outcome.budget_exhausted:
            outcome.budget_exhausted = True
            stream.stop()
        if isinstance(event, events.ScenarioFinished):
            phase = event.phase.value
            outcome.cases[phase] = outcome.cases.get(phase, 0) + len(event.recorder.cases)
            for finding in _findings(event, contract, guard, outcome):
                key = finding.key()
                if key in found:
                    found[key].occurrences += 1
                else:
                    found[key] = finding
            _record_passes(event, contract, outcome)
        elif isinstance(event, events.NonFatalError):
            if isinstance(event.value, BudgetExhausted):
                outcome.budget_exhausted = True
                stream.stop()
            elif isinstance(event.value, WriteRefused):
                outcome.refused_writes += 1
            else:
                outcome.errors.append(
                    guard.redact(
                        f"{event.label}: {event.info.title}: {event.info.message.strip()[:500]}"
                    )
                )
        elif isinstance(event, events.FatalError):
            outcome.errors.append(guard.redact(f"Schemathesis failed: {event.exception!r}"))
    outcome.requests = guard.sent - sent_before
    outcome.findings = list(found.values())
    return outcome


def _operation_of(label: str | None, contract: Contract) -> str:
    method, _, path = (label or "").partition(" ")
    return contract.operation_id(method, path) or label or "?"


def _record_passes(event: Any, contract: Contract, outcome: SchemathesisOutcome) -> None:
    for case_id, nodes in event.recorder.checks.items():
        node = event.recorder.cases.get(case_id)
        if node is None:
            continue
        operation = _operation_of(node.value.operation.label, contract)
        passed = outcome.checks_passed.setdefault(operation, set())
        passed.update(n.name for n in nodes if n.failure_info is None)


def _findings(
    event: Any, contract: Contract, guard: RunGuard, outcome: SchemathesisOutcome
) -> list[Finding]:
    out: list[Finding] = []
    for case_id, nodes in event.recorder.checks.items():
        for node in nodes:
            info = node.failure_info
            if info is None:
                continue
            failure = info.failure
            if node.name in RATE_LIMIT_BLIND and _rate_limited(failure):
                # These checks send extra requests that Schemathesis does not retry on 429:
                # "rate limited" says nothing about auth or resources, so it is not drift.
                outcome.rate_limited_checks += 1
                continue
            operation = _operation_of(failure.operation, contract)
            interaction = event.recorder.interactions.get(failure.case_id or case_id)
            response = interaction.response if interaction is not None else None
            status = response.status_code if response is not None else None
            spec_says, server_did = describe(failure)
            refuting = refuted(contract, operation, node.name, status)
            curl = _FILTERED.sub('-H "Authorization: Bearer $GOEVENT_TOKEN"', info.code_sample)
            if node.name in ("ignored_auth", "missing_required_header"):
                curl = info.code_sample  # the request that got in carried no (valid) token
            out.append(
                Finding(
                    kind=GREW if node.name == ADDITIVE_CHECK else BROKE,
                    check=node.name,
                    operation=operation,
                    endpoint=contract.endpoint(operation)
                    if operation in _ops(contract)
                    else operation,
                    title=failure.title,
                    spec_says=guard.redact(spec_says),
                    server_did=guard.redact(server_did),
                    curl=guard.redact(curl),
                    source=f"schemathesis {event.phase.value}",
                    code=failure.code,
                    refutes=[a.text for a in refuting],
                    assumptions=[a.key for a in refuting],
                )
            )
    return out


def _rate_limited(failure: Any) -> bool:
    """Whether the extra request behind ``failure`` was answered 429."""
    status = getattr(failure, "status_code", None)
    if status is not None:
        return bool(status == 429)
    # IgnoredAuth, UseAfterFree and EnsureResourceAvailability keep no status of the extra
    # request they sent: only their message says it, so it is read here (and only here).
    return bool(_RATE_LIMITED.search(str(failure.message)))


def _ops(contract: Contract) -> set[str]:
    return {op.operation_id for op in contract.spec.operations}


def _statuses(codes: Iterable[Any]) -> str:
    return ", ".join(str(c) for c in codes)


def describe(failure: Any) -> tuple[str, str]:
    """(what the spec says, what the server did) for one Schemathesis failure.

    Read from the failure's attributes (Schemathesis 4.32), never from its message text;
    a failure of a kind not named here is described by its title and status.
    """
    status = getattr(failure, "status_code", None)
    answered = f"answered {status}" if status is not None else failure.title
    if isinstance(failure, RuleFailure):
        return failure.rule.spec_says, str(failure.message or "").strip()
    if isinstance(failure, UndefinedStatusCode):
        return f"documented statuses: {_statuses(failure.defined_status_codes)}", answered
    if isinstance(failure, JsonSchemaError):
        at = "$" + "".join(
            f"[{p}]" if isinstance(p, int) else f".{p}" for p in failure.instance_path
        )
        keyword = str(failure.schema_path[-1]) if failure.schema_path else ""
        schema = failure.schema if isinstance(failure.schema, dict) else {}
        rule = f"{keyword}: {short_json(schema[keyword], 160)}" if keyword in schema else keyword
        return (
            f"{at} must satisfy {rule}",
            f"{failure.validation_message or failure.title} (at {at}; value "
            f"{short_json(failure.instance, 120)})",
        )
    if isinstance(failure, ServerError):  # ContentTypeServerError too
        return "no 5xx is documented: no input may make the server fail", answered
    if isinstance(failure, AcceptedNegativeData):
        expected = _statuses(failure.expected_statuses)
        return f"a request that violates the schema is rejected with {expected}", answered
    if isinstance(failure, RejectedPositiveData):
        allowed = _statuses(failure.allowed_statuses)
        return f"a request that fits the schema is answered {allowed}", answered
    if isinstance(failure, IgnoredAuth):
        return (
            "security: bearerAuth; without a valid token the answer is 401",
            f"accepted a request with {str(failure.scenario).replace('_', ' ')}",
        )
    if isinstance(failure, MissingHeaderNotRejected):
        return (
            f"a request without {failure.header_name} is answered "
            f"{_statuses(failure.expected_statuses)}",
            answered,
        )
    if isinstance(failure, UndefinedContentType):
        return (
            f"documented Content-Type: {_statuses(failure.defined_content_types)}",
            f"answered Content-Type {failure.content_type}",
        )
    if isinstance(failure, MissingContentType):
        return (
            f"documented Content-Type: {_statuses(failure.media_types)}",
            "answered without a Content-Type",
        )
    if isinstance(failure, MalformedMediaType):
        return f"a valid media type ({failure.defined})", f"Content-Type {failure.actual!r}"
    if isinstance(failure, MissingHeaders):
        return (
            "documented response headers are sent",
            f"missing {_statuses(failure.missing_headers)}",
        )
    if isinstance(failure, UnsupportedMethodResponse):
        return (
            f"{failure.method} is not documented: 405 with an Allow header",
            f"{answered} ({str(failure.failure_reason).replace('_', ' ')})",
        )
    if isinstance(failure, AllowHeaderMismatch):
        return (
            "the Allow header lists the documented methods",
            f"Allow: {failure.allow_header} (missing {_statuses(failure.missing_methods)}; "
            f"undocumented {_statuses(failure.undocumented_methods)})",
        )
    if isinstance(failure, UseAfterFree):
        return "a deleted resource is gone", f"{failure.usage} still answered after {failure.free}"
    if isinstance(failure, EnsureResourceAvailability):
        return (
            f"what {failure.created_with} created can be read",
            f"{failure.not_available_with} did not find it",
        )
    if isinstance(failure, MalformedJson):
        return "a JSON body", f"not JSON: {failure.validation_message}"
    return failure.title, answered


# Which assumptions (by key) a failure of each check contradicts.
CHECK_REFUTES: dict[str, tuple[str, ...]] = {
    "ignored_auth": ("missing-or-bad-token",),
    "missing_required_header": ("missing-or-bad-token",),
    "negative_data_rejection": (
        "page-and-limit-range",
        "malformed-object-id",
        "event-id-missing",
        "line-quantity",
        "ticket-lines",
    ),
    "positive_data_acceptance": ("duplicate-ticket-lines", "line-quantity", "ticket-lines"),
    "page_respects_limit": ("last-page", "participants-default-limit"),
    **{name: rule.keys for name, rule in CHECK_RULES.items() if name != "page_respects_limit"},
}
# Checks that refute a key only on answers of one kind (a success, a 401/403, an error):
# (which answers, the keys), the first that applies; none applies: nothing is refuted.
_BY_STATUS: dict[str, tuple[tuple[Callable[[int], bool], tuple[str, ...]], ...]] = {
    "status_code_conformance": ((lambda s: 200 <= s < 300, ("success-status",)),
                                (lambda s: s in (401, 403), ("missing-or-bad-token",))),
    "response_schema_conformance": ((lambda s: s >= 400, ("error-body",)),),
    "content_type_conformance": ((lambda s: s >= 400, ("error-body",)),),
}  # fmt: skip
BY_STATUS_REFUTES: dict[str, tuple[str, ...]] = {
    check: tuple(k for _, keys in rows for k in keys) for check, rows in _BY_STATUS.items()
}


def refuted(contract: Contract, operation: str, check: str, status: int | None) -> list[Any]:
    """The assumptions of ``operation`` that ``check`` failing on a ``status`` answer refutes."""
    keys: tuple[str, ...] = CHECK_REFUTES.get(check, ())
    rows = _BY_STATUS.get(check)
    if rows is not None and status is not None:
        keys = next((keys for applies, keys in rows if applies(status)), ())
    return contract.find(operation, *keys) if keys else []


def named_keys() -> dict[str, list[str]]:
    """Assumption key -> the Schemathesis checks whose failures refute it."""
    out: dict[str, list[str]] = {}
    for check, keys in [*CHECK_REFUTES.items(), *BY_STATUS_REFUTES.items()]:
        for key in keys:
            out.setdefault(key, []).append(f"check {check}")
    return out
