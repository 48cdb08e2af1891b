"""``Idempotency-Key`` on Create Tickets: an extension of ours, not of the live API.

The first answer to a key is remembered and replayed for a retry with the
same key and the same body; the same key with another body is a
``409 IDEMPOTENCY_KEY_REUSED``. A key belongs to one token (as a Stripe key
belongs to one account): another token's same key is another key, and another
token's traffic can never push it out. Keys are forgotten after ``ttl`` (24
hours unless set) of the fake's clock, or, past ``max_keys`` keys of one token,
that token's oldest first.

>>> cache = IdempotencyCache()
>>> cache.remember("token", "k1", fingerprint({"a": 1}), 200, b"{}", now=0.0)
>>> cache.lookup("token", "k1", fingerprint({"a": 1}), now=1.0).payload
b'{}'
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import orjson

from .errors import BadRequest, GoEventError

__all__ = ["IdempotencyCache", "IdempotencyKeyReused", "Remembered", "check_key", "fingerprint"]

TTL = 24 * 3600.0
_KEY = re.compile(r"[\x21-\x7e]{1,255}")


class IdempotencyKeyReused(GoEventError):
    status = 409
    code = "IDEMPOTENCY_KEY_REUSED"


@dataclass(frozen=True, slots=True)
class Remembered:
    fingerprint: str
    status: int
    payload: bytes
    at: float  # Unix time (the fake's clock) of the first answer


def check_key(key: str) -> str:
    """The key, if it is 1 to 255 visible ASCII characters; else a 400."""
    if not _KEY.fullmatch(key):
        raise BadRequest(
            "Idempotency-Key must be 1 to 255 visible ASCII characters (no spaces), "
            f"got {key[:40]!r}",
            field="header.Idempotency-Key",
        )
    return key


def fingerprint(body: Any) -> str:
    """The same for two bodies that are the same JSON, whatever their key order or spacing."""
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


class IdempotencyCache:
    """Remembered answers, per token: each token's keys bounded, its oldest first out."""

    def __init__(self, max_keys: int = 10_000, ttl: float = TTL) -> None:
        if max_keys < 1:
            raise ValueError(f"the idempotency cache keeps at least 1 key a token, got {max_keys}")
        self.max_keys = max_keys  # per token
        self.ttl = ttl
        self._answers: dict[str, OrderedDict[str, Remembered]] = {}

    def lookup(self, token: str, key: str, fingerprint: str, now: float) -> Remembered | None:
        """The answer to replay, None for a new key; raises for a key reused with another body."""
        mine = self._answers.get(token)
        seen = mine.get(key) if mine is not None else None
        if mine is None or seen is None:
            return None
        if now - seen.at > self.ttl:
            del mine[key]
            return None
        if seen.fingerprint != fingerprint:
            raise IdempotencyKeyReused(
                f"Idempotency-Key {key[:40]!r} was already used with another body; "
                "use a new key for a new purchase",
                field="header.Idempotency-Key",
            )
        return seen

    def remember(
        self, token: str, key: str, fingerprint: str, status: int, payload: bytes, now: float
    ) -> None:
        mine = self._answers.setdefault(token, OrderedDict())
        mine.pop(key, None)
        mine[key] = Remembered(fingerprint, status, payload, now)
        # Oldest first: the expired ones, then whatever is beyond this token's own cap.
        while mine:
            oldest = next(iter(mine.values()))
            if now - oldest.at <= self.ttl and len(mine) <= self.max_keys:
                break
            mine.popitem(last=False)

    def clear(self) -> None:
        self._answers.clear()

    def __len__(self) -> int:
        return sum(map(len, self._answers.values()))
