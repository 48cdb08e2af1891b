"""Step 6, journal: one entry per answered (or dropped) request, in the box's journal."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from ...journal import Journal
from .exchange import Exchange

__all__ = ["JournalRecord", "journal"]


class JournalRecord(NamedTuple):
    """What the journal keeps of one request (a tuple: one is made per request)."""

    time: datetime  # the box's clock at the end of the request
    operation: str
    method: str
    path: str  # below the spec's base path
    query_string: bytes
    raw_body: bytes
    status: int | None  # None: the connection was dropped
    started: float  # perf_counter() at arrival
    authorization: bytes | None
    fault: str | None  # what was injected, e.g. "latency=137ms status=503"
    replayed: bool  # an idempotent replay

    def write(self, into: Journal) -> None:
        into.record(*self)  # the fields are Journal.record's parameters, in order


def journal(ex: Exchange, operation: str, method: str, base: int) -> None:
    """Record ``ex`` in its box's journal, if the box keeps one; ``base``: the length of the
    base path, left out of the recorded path."""
    into = ex.box.journal
    if into is None:
        return
    response, scope, injection = ex.response, ex.request.scope, ex.injection
    dropped = injection is not None and injection.drop is not None
    # Positional, in the order of the fields: keywords cost a NamedTuple 0.3 µs more.
    record = JournalRecord(
        ex.box.store.clock.now(),  # time
        operation,
        method,
        scope["path"][base:],  # path
        scope["query_string"],
        ex.raw,  # raw_body
        None if dropped or response is None else response.status_code,  # status
        ex.started,
        ex.auth,  # authorization
        injection.description if injection is not None else None,  # fault
        ex.replayed,
    )
    into.record(*record)  # record.write(into), one call less on every request
