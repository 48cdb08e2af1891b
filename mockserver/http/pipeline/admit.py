"""Step 2, admit: the per-token rate limit, then the injected faults (latency, an error
answer, a dropped connection), from the box's rules and the request's ``X-Mock-*`` headers.

Nothing here runs for a box with neither rules nor a limit, unless the request
carries one of the tools' headers: the common request pays nothing.
"""

from __future__ import annotations

import anyio

from ...errors import BadRequest
from ...faults import FaultRule, parse_rule
from .exchange import Exchange

__all__ = ["admit", "header_rules"]


async def admit(ex: Exchange, operation: str) -> bool:
    """Let the request of ``operation`` through, or raise its 429 or injected error; False
    when an injected fault drops the connection before any answer. Called only for a box
with rules or a limit, or a request with one of the tools' headers (``endpoint.py``)."""
    box = ex.box
    if box.limiter is not None:
        ex.quota = box.limiter.hit(ex.token, box.now())
        if not ex.quota.allowed:
            raise box.limiter.refusal(ex.quota)
    rules = header_rules(ex.extra) if ex.extra is not None else ()
    injection = box.faults.plan(operation, rules) if box.guarded or rules else None
    ex.injection = injection
    if injection is None:
        return True
    if injection.latency:
        await anyio.sleep(injection.latency)
    if injection.error is not None:
        raise injection.error
    return injection.drop != "before"


def header_rules(extra: dict[bytes, bytes]) -> list[FaultRule]:
    """The fault rules of ``X-Mock-Latency`` and ``X-Mock-Fault`` (for this request only)."""
    rules = []
    for header, label, prefix in ((b"x-mock-latency", "X-Mock-Latency", "latency="),
                                  (b"x-mock-fault", "X-Mock-Fault", "")):  # fmt: skip
        value = extra.get(header)
        if value is not None:
            try:
                rules.append(parse_rule(prefix + value.decode("latin-1"), operation=False))
            except ValueError as exc:
                raise BadRequest(f"{label}: {exc}", field=f"header.{label}") from None
    return rules
