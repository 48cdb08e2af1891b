"""The request journal: every GoEvent request the fake answered, newest last.

Appending is the cheap part (one tuple into a bounded deque); everything a
reader wants (parsed query and body, ISO times, the masked token) is worked
out when the journal is read. When it is full, the oldest entry is dropped
and counted. Of each body only the first ``BODY_PREFIX`` bytes (4 KiB) are
kept, with the body's full size: a client sending large rejected bodies costs
the journal at most ``max_entries`` times 4 KiB.

>>> from datetime import UTC, datetime
>>> journal = Journal(max_entries=2)
>>> for op in ("listEvents", "getEvent", "listTickets"):
...     journal.record(datetime(2025, 1, 1, tzinfo=UTC), op, "GET", "/x", b"", b"", 200, 0.0,
...                    b"Bearer goevent-dev-token")
>>> [e.operation for e in journal.entries()], journal.dropped
(['getEvent', 'listTickets'], 1)
>>> journal.entries()[0].authorization
'Bearer goev…oken'
"""

from __future__ import annotations

import hashlib
import itertools
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from time import perf_counter
from typing import Any
from urllib.parse import parse_qsl

import orjson

from .store.ids import format_date

__all__ = [
    "BODY_PREFIX",
    "Journal",
    "JournalEntry",
    "mask_authorization",
    "matches",
    "status_matches",
]

BODY_PREFIX = 4096  # bytes of each request body the journal keeps


@lru_cache(maxsize=256)
def mask_authorization(header: bytes | None) -> str | None:
    """An Authorization value a person can recognise but nobody can reuse.

    Long tokens keep their first and last four characters; short ones, where that would
    give most of them away, are replaced by the start of their SHA-256.

    >>> mask_authorization(b"Bearer goevent-dev-token")
    'Bearer goev…oken'
    >>> mask_authorization(b"Bearer abc")
    'Bearer sha256:ba7816bf'
    """
    if header is None:
        return None
    text = header.decode("latin-1")
    scheme, _, secret = text.partition(" ")
    if not secret:
        scheme, secret = "", scheme
    if len(secret) >= 16:
        masked = f"{secret[:4]}…{secret[-4:]}"
    else:
        masked = "sha256:" + hashlib.sha256(secret.encode()).hexdigest()[:8]
    return f"{scheme} {masked}" if scheme else masked


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One request and its answer. ``status`` is None when the connection was dropped."""

    seq: int
    time: datetime  # the fake's clock
    operation: str  # the spec's operationId
    method: str
    path: str
    query_string: bytes
    raw_body: bytes
    status: int | None
    duration_ms: float
    authorization: str | None  # masked: never the whole token
    fault: str | None  # what was injected, e.g. "latency=120ms status=503"
    replayed: bool  # an Idempotency-Key replay
    body_size: int = -1  # bytes of the whole body; -1: as ``raw_body`` (nothing cut)

    @property
    def size(self) -> int:
        """The size of the whole body in bytes (``raw_body`` may be only its first 4 KiB)."""
        return len(self.raw_body) if self.body_size < 0 else self.body_size

    @property
    def truncated(self) -> bool:
        """Only the first ``BODY_PREFIX`` bytes of the body were kept."""
        return self.size > len(self.raw_body)

    @property
    def query(self) -> dict[str, str | list[str]]:
        """The query parameters: a string each, or a list when one was given several times."""
        query: dict[str, str | list[str]] = {}
        for key, value in parse_qsl(self.query_string.decode("latin-1"), keep_blank_values=True):
            seen = query.get(key)
            if seen is None:
                query[key] = value
            elif isinstance(seen, list):
                seen.append(value)
            else:
                query[key] = [seen, value]
        return query

    @property
    def body(self) -> Any:
        """The JSON body, parsed; its text if it was not JSON (or was cut: see ``truncated``);
        None if there was none."""
        if not self.raw_body:
            return None
        if self.truncated:
            return self.raw_body.decode("utf-8", "replace")
        try:
            return orjson.loads(self.raw_body)
        except orjson.JSONDecodeError:
            return self.raw_body.decode("utf-8", "replace")

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "time": format_date(self.time),
            "operationId": self.operation,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "body": self.body,
            "bodySize": self.size,
            "bodyTruncated": self.truncated,
            "status": self.status,
            "durationMs": round(self.duration_ms, 3),
            "authorization": self.authorization,
            "fault": self.fault,
            "replayed": self.replayed,
        }

    def describe(self) -> str:
        """One line for an assertion message: ``#3 POST /tickets/create {...} -> 200``."""
        query = "?" + self.query_string.decode("latin-1") if self.query_string else ""
        body = f" {orjson.dumps(self.body).decode()}" if self.raw_body else ""
        return f"#{self.seq} {self.method} {self.path}{query}{body} -> {self.status}"


def matches(expected: Any, actual: Any) -> bool:
    """``expected`` is found in ``actual``: objects by subset (recursively), the rest by equality.

    >>> matches({"eventId": "a"}, {"eventId": "a", "tickets": []})
    True
    >>> matches({"tickets": [{"quantity": 2}]}, {"tickets": [{"ticket_id": "t", "quantity": 2}]})
    True
    >>> matches({"tickets": []}, {"tickets": [{"quantity": 2}]})
    False
    """
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            key in actual and matches(value, actual[key]) for key, value in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(expected) == len(actual)
            and all(matches(e, a) for e, a in zip(expected, actual, strict=True))
        )
    return bool(expected == actual)


def status_matches(wanted: int | str, status: int | None) -> bool:
    """``status`` is ``wanted``: a code (``429``), a class (``"4xx"``) or ``"dropped"``."""
    if isinstance(wanted, int):
        return status == wanted
    if wanted == "dropped":
        return status is None
    # "4xx": the class of the status
    return status is not None and str(status)[0] == wanted[0]


class Journal:
    """The last ``max_entries`` requests; appending costs a tuple and a deque append."""

    def __init__(self, max_entries: int = 1000) -> None:
        if max_entries < 1:
            raise ValueError(f"the journal needs room for at least 1 entry, got {max_entries}")
        self.max_entries = max_entries
        # Plain tuples (JournalEntry's fields, in order): a frozen dataclass per request
        # costs ten times as much to build, and most entries are never read.
        self._entries: deque[tuple[Any, ...]] = deque(maxlen=max_entries)
        self._seq = itertools.count(1)
        self.dropped = 0

    def record(
        self,
        time: datetime,
        operation: str,
        method: str,
        path: str,
        query_string: bytes,
        raw_body: bytes,
        status: int | None,
        started: float,
        authorization: bytes | None,
        fault: str | None = None,
        replayed: bool = False,
    ) -> None:
        """Append one request; ``started`` is its ``time.perf_counter()`` at arrival. Of
        ``raw_body`` only the first ``BODY_PREFIX`` bytes are kept, with its size."""
        if len(self._entries) == self.max_entries:
            self.dropped += 1
        size = len(raw_body)
        if size > BODY_PREFIX:
            raw_body = raw_body[:BODY_PREFIX]
        self._entries.append(
            (next(self._seq), time, operation, method, path, query_string, raw_body, status,
             (perf_counter() - started) * 1000 if started else 0.0,
             mask_authorization(authorization), fault, replayed, size)
        )  # fmt: skip

    def entries(
        self, operation: str | None = None, status: int | str | None = None
    ) -> list[JournalEntry]:
        """The entries, oldest first; ``status`` is a code (``429``), a class (``"4xx"``), or
        ``"dropped"``."""
        found = [JournalEntry(*fields) for fields in list(self._entries)]
        if operation is not None:
            found = [e for e in found if e.operation == operation]
        if status is not None:
            found = [e for e in found if status_matches(status, e.status)]
        return found

    def clear(self) -> int:
        """Forget every entry and the dropped count; returns how many entries there were."""
        count = len(self._entries)
        self._entries.clear()
        self.dropped = 0
        return count

    def __len__(self) -> int:
        return len(self._entries)
