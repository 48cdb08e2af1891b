"""Injected faults: latency, error answers, dropped connections. Deterministic under a seed.

A rule is written ``[OPERATION:]KEY=VALUE[,KEY=VALUE...]``, the same way on the
command line (``--fault``), in ``GOEVENT_MOCK_FAULTS`` (rules separated by ``;``),
in the ``X-Mock-Fault`` header (no ``OPERATION:``) and, as JSON, at ``/_mock/faults``:

``latency=200ms`` / ``latency=100-300ms``
    wait that long (a range: uniformly drawn) before answering
``status=503``
    answer this status (400-599) with the spec's Error body (``code=`` to choose its code)
``drop`` / ``drop=after``
    close the connection without an answer: before handling the request, or after it
    (the purchase happened, the answer was lost)
``rate=0.25``
    apply the rule to this fraction of the requests it matches (a seeded draw)
``times=2``
    apply the rule this many times, then never again

>>> rule = parse_rule("createTickets:status=503,rate=0.5")
>>> rule.operation, rule.status, rule.rate
('createTickets', 503, 0.5)
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .errors import GoEventError, TooManyRequests

__all__ = [
    "MAX_RULES",
    "FaultPlan",
    "FaultRule",
    "Injection",
    "TooManyFaultRules",
    "format_duration",
    "parse_duration",
    "parse_rule",
    "parse_rules",
    "rule_from_json",
]

MAX_LATENCY = 60.0  # seconds: a longer wait is a hung test, not a slow API
# Rules of one fake or sandbox: every request walks them all, so 200,000 of them took
# GET /events from 11,520 to 39 req/s. A test suite needs a handful.
MAX_RULES = 100
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h)?$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    409: "CONFLICT",
    429: "RATE_LIMITED",
    500: "INTERNAL_ERROR",
    502: "BAD_GATEWAY",
    503: "SERVICE_UNAVAILABLE",
    504: "GATEWAY_TIMEOUT",
}
_KEYS = ("latency", "status", "code", "drop", "rate", "times")


def parse_duration(text: str) -> float:
    """``"200ms"``, ``"1.5s"``, ``"2m"``, ``"1h"`` → seconds. A unit is required."""
    match = _DURATION.match(text.strip())
    if match is None or match.group(2) is None:
        raise ValueError(f"a duration is a number and a unit (ms, s, m, h), got {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def format_duration(seconds: float) -> str:
    """Seconds → the shortest exact text :func:`parse_duration` reads back."""
    ms = round(seconds * 1000, 3)
    if ms % 1000 == 0:
        return f"{int(ms // 1000)}s"
    return f"{ms:g}ms"


def _latency(text: str) -> tuple[float, float]:
    low, sep, high = text.strip().partition("-")
    if sep and not re.search(r"[a-z]$", low):
        # "100-300ms": the unit of the high end applies to both
        low += re.sub(r"^[\d.]+", "", high)
    lo = parse_duration(low)
    hi = parse_duration(high) if sep else lo
    if not 0 <= lo <= hi <= MAX_LATENCY:
        raise ValueError(
            f"latency must be between 0 and {MAX_LATENCY:g}s, low end first, got {text!r}"
        )
    return lo, hi


@dataclass(slots=True)
class FaultRule:
    """One fault rule; ``fired`` counts the requests it was applied to."""

    operation: str = "*"
    latency: tuple[float, float] | None = None  # seconds, (low, high)
    status: int | None = None
    code: str | None = None
    drop: str | None = None  # "before" or "after"
    rate: float = 1.0
    times: int | None = None
    id: int = 0
    fired: int = field(default=0, compare=False)

    def describe(self) -> str:
        """The rule in the text grammar (what ``parse_rule`` reads)."""
        parts = []
        if self.latency is not None:
            lo, hi = self.latency
            span = format_duration(lo) + ("" if lo == hi else "-" + format_duration(hi))
            parts.append(f"latency={span}")
        if self.status is not None:
            parts.append(f"status={self.status}")
        if self.code is not None:
            parts.append(f"code={self.code}")
        if self.drop is not None:
            parts.append("drop" if self.drop == "before" else "drop=after")
        if self.rate != 1.0:
            parts.append(f"rate={self.rate:g}")
        if self.times is not None:
            parts.append(f"times={self.times}")
        prefix = "" if self.operation == "*" else self.operation + ":"
        return prefix + ",".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "rule": self.describe(),
            "operation": self.operation,
            "latencyMs": None
            if self.latency is None
            else [round(self.latency[0] * 1000, 3), round(self.latency[1] * 1000, 3)],
            "status": self.status,
            "code": self.code,
            "drop": self.drop,
            "rate": self.rate,
            "times": self.times,
            "fired": self.fired,
        }


def _check(rule: FaultRule, text: str, operations: Collection[str] | None) -> FaultRule:
    if rule.latency is None and rule.status is None and rule.drop is None:
        raise ValueError(f"fault {text!r} does nothing: give latency=, status= or drop")
    if rule.status is not None and rule.drop is not None:
        raise ValueError(f"fault {text!r}: status= and drop exclude each other")
    if rule.code is not None and rule.status is None:
        raise ValueError(f"fault {text!r}: code= needs status=")
    if operations is not None and rule.operation != "*" and rule.operation not in operations:
        allowed = ", ".join(sorted(operations))
        raise ValueError(f"fault {text!r}: unknown operation {rule.operation!r}; one of: {allowed}")
    return rule


def _set(rule: FaultRule, key: str, value: str | None, text: str) -> None:
    if key not in _KEYS:
        raise ValueError(f"fault {text!r}: unknown key {key!r}; known: {', '.join(_KEYS)}")
    if key == "drop":
        if value not in (None, "before", "after", "true"):
            raise ValueError(f"fault {text!r}: drop is drop, drop=before or drop=after")
        rule.drop = "after" if value == "after" else "before"
        return
    if value is None or value == "":
        raise ValueError(f"fault {text!r}: {key} needs a value ({key}=...)")
    if key == "latency":
        rule.latency = _latency(value)
    elif key == "status":
        if not (value.isascii() and value.isdigit() and 400 <= int(value) <= 599):
            raise ValueError(f"fault {text!r}: status must be a code from 400 to 599, got {value}")
        rule.status = int(value)
    elif key == "code":
        if not re.fullmatch(r"[A-Z][A-Z_]{0,63}", value):
            raise ValueError(f"fault {text!r}: code must be UPPER_SNAKE_CASE, got {value!r}")
        rule.code = value
    elif key == "rate":
        try:
            rate = float(value)
        except ValueError:
            rate = math.nan
        if not 0 <= rate <= 1:
            raise ValueError(f"fault {text!r}: rate must be a fraction from 0 to 1, got {value}")
        rule.rate = rate
    elif key == "times":
        if not (value.isascii() and value.isdigit() and 1 <= int(value) <= 1_000_000):
            raise ValueError(f"fault {text!r}: times must be a whole number from 1, got {value}")
        rule.times = int(value)


def parse_rule(
    text: str, operations: Collection[str] | None = None, *, operation: bool = True
) -> FaultRule:
    """A rule from its text; ``operation=False`` for the header, which names no operation."""
    rule = FaultRule()
    body = text.strip()
    head, colon, tail = body.partition(":")
    if colon and "=" not in head:
        if not operation:
            raise ValueError(f"fault {text!r}: the header applies to its own request; "
                             "write it without an operation")  # fmt: skip
        rule.operation, body = head.strip() or "*", tail
    for item in body.split(","):
        key, eq, value = item.strip().partition("=")
        if key:
            _set(rule, key.strip(), value.strip() if eq else None, text)
    return _check(rule, text, operations)


def parse_rules(text: str | None, operations: Collection[str] | None = None) -> list[FaultRule]:
    """Rules separated by ``;`` (``GOEVENT_MOCK_FAULTS``); empty items are skipped."""
    return [parse_rule(t, operations) for t in (text or "").split(";") if t.strip()]


class TooManyFaultRules(GoEventError):
    """A fake (or sandbox) holds at most ``MAX_RULES`` fault rules."""

    status = 409
    code = "TOO_MANY_FAULT_RULES"


def rule_from_json(data: Any, operations: Collection[str] | None = None) -> FaultRule:
    """A rule from ``/_mock/faults`` JSON: ``{"operation": ..., "status": 503, ...}`` or
    ``{"rule": "createTickets:status=503"}``."""
    if not isinstance(data, Mapping):
        raise ValueError('a fault is a JSON object, e.g. {"operation": "listEvents", '
                         '"status": 503} or {"rule": "listEvents:status=503"}')  # fmt: skip
    if "rule" in data:
        if set(data) != {"rule"} or not isinstance(data["rule"], str):
            raise ValueError('"rule" is a string and comes alone')
        return parse_rule(data["rule"], operations)
    unknown = set(data) - {"operation", *_KEYS}
    if unknown:
        keys = ", ".join(("operation", *_KEYS))
        raise ValueError(f"unknown key {sorted(unknown)[0]!r} in the fault; known: {keys}")
    rule = FaultRule()
    text = str(dict(data))
    operation = data.get("operation", "*")
    if not isinstance(operation, str) or not operation:
        raise ValueError("operation must be an operationId or *")
    rule.operation = operation
    for key in _KEYS:
        value = data.get(key)
        if value is None or value is False:
            continue
        if key == "drop" and value is True:
            value = "before"
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValueError(f"{key} must be a string or a number, got {value!r}")
        if key == "latency" and not isinstance(value, str):
            raise ValueError('latency is a string with a unit: "200ms", "100-300ms", "1.5s"')
        _set(rule, key, str(value), text)
    return _check(rule, text, operations)


@dataclass(frozen=True, slots=True)
class Injection:
    """What the plan does to one request."""

    latency: float  # seconds to wait first
    error: GoEventError | None
    drop: str | None  # "before" or "after"
    description: str  # for the journal: "latency=137ms status=503"


def _error(rule: FaultRule, operation: str) -> GoEventError:
    status = rule.status or 500
    message = f"injected fault: {status} on {operation} ({rule.describe() or 'header'})"
    error: GoEventError
    if status == 429:
        error = TooManyRequests(message, retry_after=1)
    else:
        error = GoEventError(
            message, code=rule.code or _CODES.get(status, "INJECTED_FAULT"), status=status
        )
    if rule.code is not None:
        error.code = rule.code
    return error


class FaultPlan:
    """The fault rules of one fake (or sandbox) and the seeded draws that apply them."""

    def __init__(self, rules: Iterable[FaultRule] = (), seed: int = 0) -> None:
        self._initial = [replace(r) for r in rules]
        self.seed = seed
        self.reset()

    @property
    def active(self) -> bool:
        return bool(self.rules)

    def reset(self) -> None:
        """Back to the rules given at startup, with a fresh draw sequence."""
        self.rules: list[FaultRule] = []
        self._ids = 0
        self.replace([replace(r, fired=0) for r in self._initial], self.seed)

    def replace(self, rules: Iterable[FaultRule], seed: int | None = None) -> None:
        """Swap in ``rules`` (and a new draw sequence from ``seed``, or the same seed);
        more than ``MAX_RULES`` is a :class:`TooManyFaultRules`, and nothing changes."""
        rules = list(rules)
        if len(rules) > MAX_RULES:
            raise TooManyFaultRules(
                f"at most {MAX_RULES} fault rules are allowed, got {len(rules)}; "
                "a rule can name several faults (latency=, status=, drop)",
                field="body.rules",
            )
        self.rules = []
        if seed is not None:
            self.seed = seed
        self._rng = random.Random(self.seed)
        for rule in rules:
            self.add(rule)

    def add(self, rule: FaultRule) -> FaultRule:
        """Add ``rule``; past ``MAX_RULES`` rules, a :class:`TooManyFaultRules` (nothing added)."""
        if len(self.rules) >= MAX_RULES:
            raise TooManyFaultRules(
                f"this fake already holds the maximum of {MAX_RULES} fault rules; remove them "
                "(DELETE /_mock/faults) or replace them (PUT /_mock/faults) first",
                field="body",
            )
        self._ids += 1
        rule.id = self._ids
        self.rules.append(rule)
        return rule

    def plan(self, operation: str, extra: Iterable[FaultRule] = ()) -> Injection | None:
        """What to inject into one request of ``operation``; ``extra``: its header's rules."""
        latency, error, drop, done = 0.0, None, None, []
        for rule in [*self.rules, *extra]:
            if rule.operation not in ("*", operation):
                continue
            if rule.times is not None and rule.fired >= rule.times:
                continue
            if rule.rate < 1.0 and self._rng.random() >= rule.rate:
                continue
            rule.fired += 1
            if rule.latency is not None:
                lo, hi = rule.latency
                wait = lo if lo == hi else round(self._rng.uniform(lo, hi), 3)
                latency += wait
                done.append(f"latency={format_duration(wait)}")
            if error is None and drop is None:
                if rule.status is not None:
                    error = _error(rule, operation)
                    done.append(f"status={rule.status}")
                elif rule.drop is not None:
                    drop = rule.drop
                    done.append("drop" if drop == "before" else "drop=after")
        if not done:
            return None
        return Injection(min(latency, MAX_LATENCY), error, drop, " ".join(done))
