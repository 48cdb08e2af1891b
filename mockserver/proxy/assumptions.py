"""Which ``x-goevent-assumption`` each of the proxy's checks tests: the one place that says so.

Keys are what :meth:`~mockserver.drift.contract.Contract.find` takes. The
Schemathesis-named checks reuse the drift kit's own mapping
(:func:`mockserver.drift.engine.refuted`), so one failure refutes the same
assumption whichever tool saw it.
"""

from __future__ import annotations

from ..drift.contract import Assumption, Contract

__all__ = ["SEQUENCE_KEYS", "TESTED_KEYS", "refuted_by"]

# The proxy's own checks (named as the drift probes that test the same rule).
SEQUENCE_KEYS: dict[str, tuple[str, ...]] = {
    "purchase_lowers_quantity": ("Ticket `quantity`",),
    "buyer_listed": ("New participant",),
    "page_walk": ("Ordering",),
    "token_isolation": ("Event of another organizer",),
    "auth_required": ("Missing or bad token",),
}

# What a check that held on an exchange confirms (by check name).
TESTED_KEYS: dict[str, tuple[str, ...]] = {
    **SEQUENCE_KEYS,
    "status_code_conformance": ("Success status",),
    "response_schema_conformance": ("Error body",),
    "ticket_quantity_consistent": ("Ticket `quantity`",),
    "page_respects_limit": ("Last page",),
}


def refuted_by(contract: Contract, operation: str, check: str, status: int | None) -> list[str]:
    """The texts of the assumptions ``check`` failing on ``operation`` contradicts."""
    from ..drift.engine import refuted

    found: list[Assumption] = refuted(contract, operation, check, status)
    if check in SEQUENCE_KEYS:
        # A sequence rule may break a rule of an object the operation does not return
        # (a purchase and the Ticket's quantity): then the assumption is found spec-wide.
        keys = SEQUENCE_KEYS[check]
        found += contract.find(operation, *keys) or contract.find(None, *keys)
    return list(dict.fromkeys(a.text for a in found))
