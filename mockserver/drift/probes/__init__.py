"""Business-rule probes: short, deterministic request sequences that check what one response cannot.

Each probe tests ``x-goevent-assumption`` keys of the spec and reports a
:class:`~..findings.Finding` for each rule it finds broken. The rules are
declared as data (:class:`~..findings.Rule`: check, title, what the spec says,
assumption keys) beside the probes, so a probe reads as what it checks.

- :mod:`.base`: the context, the result, the registry and the runner;
- :mod:`.reads`: read-only probes, run everywhere;
- :mod:`.purchases`: purchase probes, only where the target allows writes,
  and only on its test event.

A new probe goes in the module of its kind, under ``@probe(operationId, *keys)``.
"""

from __future__ import annotations

from ..findings import Rule
from . import base, purchases, reads
from .base import (
    PROBES,
    Inconclusive,
    Probe,
    ProbeContext,
    ProbeResult,
    applicable,
    run_probe,
    run_probes,
)

__all__ = [
    "PROBES",
    "Inconclusive",
    "Probe",
    "ProbeContext",
    "ProbeResult",
    "applicable",
    "declared_rules",
    "named_keys",
    "run_probe",
    "run_probes",
]

# Run order: the read-only probes first, each module's in the order written; the
# purchases last, so that no read probe depends on what a purchase changed.
PROBES.sort(key=lambda item: item.writes)


def named_keys() -> dict[str, list[str]]:
    """Assumption key -> the probes that test it."""
    out: dict[str, list[str]] = {}
    for item in PROBES:
        for key in item.topics:
            out.setdefault(key, []).append(f"probe {item.name}")
    return out


def declared_rules() -> list[Rule]:
    """Every rule the probes report, as declared in their modules."""
    found: list[Rule] = []
    for module in (base, reads, purchases):
        for value in vars(module).values():
            if isinstance(value, Rule):
                found.append(value)
            elif isinstance(value, dict):
                found += [v for v in value.values() if isinstance(v, Rule)]
    return found
