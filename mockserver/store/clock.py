"""The fake's notion of now: the wall clock, or a frozen or shifted one."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from .ids import format_date


class Clock:
    """Wall-clock UTC time, which tests may freeze at a date or move forward.

    >>> clock = Clock()
    >>> clock.freeze(datetime(2025, 1, 1, tzinfo=UTC))
    >>> clock.now().isoformat()
    '2025-01-01T00:00:00+00:00'
    """

    def __init__(self) -> None:
        self._frozen: datetime | None = None
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        frozen = self._frozen
        if frozen is not None:
            return frozen
        offset = self._offset  # zero unless moved: then no addition (once per request)
        return datetime.now(UTC) + offset if offset else datetime.now(UTC)

    def freeze(self, at: datetime) -> None:
        with self._lock:
            self._frozen = at.astimezone(UTC)

    def advance(self, by: timedelta) -> None:
        with self._lock:
            if self._frozen is not None:
                self._frozen += by
            else:
                self._offset += by

    def unfreeze(self) -> None:
        """Back to the wall clock, keeping no offset."""
        with self._lock:
            self._frozen = None
            self._offset = timedelta(0)

    def describe(self) -> dict[str, object]:
        return {
            "now": format_date(self.now()),
            "frozen": self._frozen is not None,
            "offsetSeconds": self._offset.total_seconds(),
        }
