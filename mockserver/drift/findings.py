"""What a run found: one :class:`Finding` per distinct way the server departs from the spec.

A :class:`Rule` is what a probe or check holds the API to, declared as data: the
finding's check and title, what the spec says, and the assumption keys it tests.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

__all__ = ["BROKE", "GREW", "Finding", "Rule", "Verdict", "short_json"]

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
    assumptions: list[str] = field(default_factory=list)  # the keys of those assumptions

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
    key: str = ""  # the assumption's stable key


@dataclass(frozen=True)
class Rule:
    """One rule of the contract, as a probe or check reports it when it breaks.

    ``title`` and ``spec_says`` may hold ``{name}`` fields, filled by :meth:`given`.

    >>> Rule("page_order", "Items are not ordered by {field}", "by {field}").given(field="id").title
    'Items are not ordered by id'
    """

    check: str  # the finding's check name ("purchase_lowers_quantity")
    title: str
    spec_says: str
    keys: tuple[str, ...] = ()  # the x-goevent-assumption keys a break refutes

    def given(self, **values: object) -> Rule:
        """This rule with its ``{name}`` fields filled in."""
        return replace(
            self, title=self.title.format(**values), spec_says=self.spec_says.format(**values)
        )


def short_json(value: Any, limit: int = 160) -> str:
    """``value`` as compact JSON (keys sorted), cut at ``limit`` characters with "…"."""
    import orjson

    try:
        text = orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:
        text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"
