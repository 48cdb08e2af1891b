"""MongoDB ObjectIds and the date format of the GoEvent API."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime

OBJECT_ID = re.compile(r"^[0-9a-f]{24}$")


class ObjectIdFactory:
    """Makes ObjectIds whose timestamp prefix is the object's creation date.

    Like MongoDB's: 4 bytes of seconds since the epoch, 5 random bytes (drawn
    from ``rng``, so a seeded factory is deterministic) and a 3-byte counter.
    """

    def __init__(self, rng: random.Random) -> None:
        self._process = rng.getrandbits(40)
        self._counter = rng.getrandbits(24)

    def make(self, created: datetime) -> str:
        self._counter = (self._counter + 1) & 0xFFFFFF
        seconds = int(created.timestamp()) & 0xFFFFFFFF
        return f"{seconds:08x}{self._process:010x}{self._counter:06x}"


def object_id_time(object_id: str) -> datetime:
    """The creation date encoded in an ObjectId's first four bytes."""
    return datetime.fromtimestamp(int(object_id[:8], 16), tz=UTC)


def format_date(value: datetime) -> str:
    """``2024-06-15T20:00:00.000Z``: ISO 8601, UTC, milliseconds, as the live API writes dates."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def parse_date(text: str) -> datetime:
    """Reads a date written by :func:`format_date` (or any ISO 8601 date with a zone)."""
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"date {text!r} has no time zone")
    return parsed.astimezone(UTC)
