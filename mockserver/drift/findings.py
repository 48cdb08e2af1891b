"""What a run found: one :class:`Finding` per distinct way the server departs from the spec."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = ["BROKE", "GREW", "Finding", "Verdict"]

Kind = Literal["broke", "grew"]

BROKE: Kind = "broke"  # the API no longer does what the spec says
GREW: Kind = "grew"  # the API returns more than the spec says (additive drift)


@dataclass
class Finding:
    """One departure from the contract, with what it takes to reproduce it.

    ``check`` names the kind precisely (a Schemathesis check such as
    ``response_schema_conformance``, or a probe such as ``purchase_lowers_quantity``);
    ``kind`` says whether the API broke or grew.
    """

    kind: Kind
    check: str
    operation: str  # operationId
    endpoint: str  # "GET /events"
    title: str
    spec_says: str
    server_did: str
    curl: str
    source: str  # "probe" or "schemathesis <phase>"
    code: str = ""  # Schemathesis failure code (ST108...), "" for probes
    occurrences: int = 1
    refutes: list[str] = field(default_factory=list)  # assumption texts it contradicts

    def key(self) -> tuple[str, str, str, str]:
        """Findings with one key are one finding: same operation, check, title and rule broken."""
        return (self.operation, self.check, self.title, self.spec_says[:200])

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Verdict:
    """What the run says of one ``x-goevent-assumption``."""

    where: str
    text: str
    status: Literal["confirmed", "refuted", "untested"]
    evidence: str = ""
