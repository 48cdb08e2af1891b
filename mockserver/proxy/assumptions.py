"""Which ``x-goevent-assumption`` (by key) each of the proxy's checks tests: the one place.

Keys are what :meth:`~mockserver.drift.contract.Contract.find` takes; the spec's
texts are for people and may be reworded. The checks named as Schemathesis'
reuse the drift kit's own mapping (:func:`mockserver.drift.engine.refuted`,
:data:`mockserver.drift.checks.CHECK_RULES`), so one failure refutes the same
assumption whichever tool saw it.
"""

from __future__ import annotations

from ..drift.checks import ADDITIVE_CHECK, CHECK_RULES
from ..drift.contract import Assumption, Contract
from ..drift.engine import BY_STATUS_REFUTES, CHECK_REFUTES, refuted
from ..drift.probes.purchases import BUYER_LISTED_ONCE, ECHOED, QUANTITY_LOWERED
from ..drift.probes.reads import ITEM_REPEATED, TOKEN_REQUIRED, TOKENS_SHARE_EVENTS
from ..drift.runner import RATE_LIMITING

__all__ = ["EXCHANGE_CHECKS", "SEQUENCE_KEYS", "TESTED_KEYS", "named_keys", "refuted_by"]

# The proxy's own checks: the drift probes' rules, so their keys are the probes' keys.
SEQUENCE_KEYS: dict[str, tuple[str, ...]] = {
    rule.check: rule.keys
    for rule in (QUANTITY_LOWERED, BUYER_LISTED_ONCE, ECHOED, ITEM_REPEATED,
                 TOKENS_SHARE_EVENTS, TOKEN_REQUIRED)
}  # fmt: skip

# What a check that held on an exchange confirms (by check name).
TESTED_KEYS: dict[str, tuple[str, ...]] = {
    **{name: rule.keys for name, rule in CHECK_RULES.items() if name != ADDITIVE_CHECK},
    **SEQUENCE_KEYS,
    # Held on a success (the proxy only counts it held there) and on an error answer.
    "status_code_conformance": ("success-status",),
    "response_schema_conformance": ("error-body",),
}


# The checks named as Schemathesis' that the proxy runs on single exchanges.
EXCHANGE_CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    *CHECK_RULES,
)


def named_keys() -> dict[str, list[str]]:
    """Assumption key -> the proxy's checks that confirm or refute it (the spec holds each)."""
    out: dict[str, list[str]] = {RATE_LIMITING: ["proxy: a 429 with Retry-After"]}
    refuting = {**CHECK_REFUTES, **BY_STATUS_REFUTES}
    for check in dict.fromkeys([*EXCHANGE_CHECKS, *SEQUENCE_KEYS]):
        keys = [
            *SEQUENCE_KEYS.get(check, ()),
            *TESTED_KEYS.get(check, ()),
            *refuting.get(check, ()),
        ]
        for key in dict.fromkeys(keys):
            out.setdefault(key, []).append(f"proxy check {check}")
    return out


def refuted_by(
    contract: Contract, operation: str, check: str, status: int | None
) -> list[Assumption]:
    """The assumptions ``check`` failing on an answer of ``status`` to ``operation`` contradicts."""
    found: list[Assumption] = refuted(contract, operation, check, status)
    if check in SEQUENCE_KEYS:
        # A sequence rule may break a rule of an object the operation does not return
        # (a purchase and the Ticket's quantity): then the assumption is found spec-wide.
        keys = SEQUENCE_KEYS[check]
        found += contract.find(operation, *keys) or contract.find(None, *keys)
    return list({a.key: a for a in found}.values())
