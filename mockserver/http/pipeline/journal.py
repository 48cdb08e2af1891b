"""Step 6, journal: one entry per answered (or dropped) request, in the box's journal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ...journal import Journal
from .exchange import Exchange

__all__ = ["JournalRecord", "journal"]


@dataclass(frozen=True, slots=True)
class JournalRecord:
    """What the journal keeps of one request."""

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
        into.record(self.time, self.operation, self.method, self.path, self.query_string,
                    self.raw_body, self.status, self.started, self.authorization,
                    self.fault, self.replayed)  # fmt: skip


def journal(ex: Exchange, operation: str, method: str, base: int) -> None:
    """Record ``ex`` in its box's journal, if the box keeps one; ``base``: the length of the
    base path, left out of the recorded path."""
    into = ex.box.journal
    if into is None:
        return
    response, scope = ex.response, ex.request.scope
    JournalRecord(
        time=ex.box.store.clock.now(),
        operation=operation,
        method=method,
        path=scope["path"][base:],
        query_string=scope["query_string"],
        raw_body=ex.raw,
        status=None if ex.dropped or response is None else response.status_code,
        started=ex.started,
        authorization=ex.auth,
        fault=ex.injection.description if ex.injection is not None else None,
        replayed=ex.replayed,
    ).write(into)
