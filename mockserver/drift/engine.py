"""Schemathesis as a library: its phases over the target, failures turned into findings."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import schemathesis
from schemathesis.engine import events, from_schema
from schemathesis.engine.run.probes import PROBES as CAPABILITY_PROBES

from . import checks as _checks  # noqa: F401  (registers the business-rule checks)
from . import hooks as _hooks  # noqa: F401  (registers the guard hooks)
from .checks import ADDITIVE_CHECK, CHECK_TOPICS
from .contract import Contract
from .findings import BROKE, GREW, Finding
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
            if node.name in RATE_LIMIT_BLIND and _RATE_LIMITED.search(str(failure.message)):
                # These checks send extra requests that Schemathesis does not retry on 429:
                # "rate limited" says nothing about auth or resources, so it is not drift.
                outcome.rate_limited_checks += 1
                continue
            operation = _operation_of(failure.operation, contract)
            interaction = event.recorder.interactions.get(failure.case_id or case_id)
            response = interaction.response if interaction is not None else None
            status = response.status_code if response is not None else None
            spec_says, server_did = describe(failure)
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
                    refutes=[a.text for a in refuted(contract, operation, node.name, status)],
                )
            )
    return out


def _ops(contract: Contract) -> set[str]:
    return {op.operation_id for op in contract.spec.operations}


def _lines(message: str, *prefixes: str) -> str:
    return "\n".join(
        line.strip()
        for line in message.splitlines()
        if any(line.strip().startswith(p) for p in prefixes)
    )


# What the spec (or a business rule) says, by the title of a RuleFailure.
RULE_TEXT = {
    "Ids are not ObjectIds": "every id is a MongoDB ObjectId (24 lowercase hex digits)",
    "Ticket quantity and availability disagree": "quantity >= 0, available == (quantity > 0)",
    "Event links disagree with the slug": (
        "path = /slug, siteUrl = https://www.goevent.live/e/slug, checkoutUrl = siteUrl/checkout"
    ),
    "Event ends before it starts": "dateEnd >= dateStart",
    "Page breaks its limit or its paginate": "at most `limit` items; truthful hasNextPage/nextPage",
}


def describe(failure: Any) -> tuple[str, str]:
    """(what the spec says, what the server did) for one Schemathesis failure."""
    message = str(failure.message or "").strip()
    name = type(failure).__name__
    if name == "UndefinedStatusCode":
        return (
            f"documented statuses: {', '.join(failure.defined_status_codes)}",
            f"answered {failure.status_code}",
        )
    if name == "JsonSchemaError":
        at = "$" + "".join(
            f"[{p}]" if isinstance(p, int) else f".{p}" for p in failure.instance_path
        )
        keyword = str(failure.schema_path[-1]) if failure.schema_path else ""
        schema = failure.schema if isinstance(failure.schema, dict) else {}
        rule = f"{keyword}: {_short(schema[keyword], 160)}" if keyword in schema else keyword
        return (
            f"{at} must satisfy {rule}",
            f"{failure.validation_message or failure.title} (at {at}; value "
            f"{_short(failure.instance, 120)})",
        )
    if name == "RuleFailure":
        doc = RULE_TEXT.get(
            failure.title, "response objects have only the properties the spec names"
        )
        return doc, message
    spec = _lines(message, "Documented", "Expected", "Schema", "Invalid component", "Allowed")
    did = _lines(message, "Received", "Got", "Actual", "Response", "Value")
    if name == "IgnoredAuth":
        spec = "security: bearerAuth; without a valid token the answer is 401"
    if name in ("ServerError", "ContentTypeServerError"):
        spec = spec or "no 5xx is documented: no input may make the server fail"
        did = did or f"answered {getattr(failure, 'status_code', '5xx')}"
    if name == "AcceptedNegativeData":
        spec = spec or "a request that violates the schema is rejected with a 4xx"
        did = did or f"answered {failure.status_code}"
    if name == "RejectedPositiveData":
        spec = spec or "a request that fits the schema is accepted"
        did = did or f"answered {failure.status_code}"
    return (spec or failure.title, did or message.split("\n\n")[0][:400] or failure.title)


def _short(value: Any, limit: int = 240) -> str:
    import orjson

    try:
        text = orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:
        text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


# Which assumptions (by topic) a failure of each check contradicts.
_CHECK_REFUTES: dict[str, tuple[str, ...]] = {
    "ignored_auth": ("Missing or bad token",),
    "missing_required_header": ("Missing or bad token",),
    "negative_data_rejection": (
        "`page` < 1",
        "Malformed ObjectId",
        "`eventId` missing",
        "Line quantity",
        "Ticket lines",
    ),
    "positive_data_acceptance": ("Duplicate ticket lines", "Line quantity", "Ticket lines"),
    "ticket_quantity_consistent": CHECK_TOPICS["ticket_quantity_consistent"],
    "page_respects_limit": ("Last page", "Participants default `limit`"),
}


def refuted(contract: Contract, operation: str, check: str, status: int | None) -> list[Any]:
    """The assumptions of ``operation`` that ``check`` failing on a ``status`` answer refutes."""
    keys: tuple[str, ...] = _CHECK_REFUTES.get(check, ())
    if check == "status_code_conformance" and status is not None:
        keys = ("Success status",) if 200 <= status < 300 else ()
        if status in (401, 403):
            keys = ("Missing or bad token",)
    if check in ("response_schema_conformance", "content_type_conformance") and status is not None:
        keys = ("Error body",) if status >= 400 else ()
    return contract.find(operation, *keys) if keys else []
