"""Boxes: the default fake and its sandboxes, each with its own data, clock, journal, faults,
rate limit and idempotency keys.

A token that starts with the sandbox prefix (``sandbox-`` unless configured)
and is not a token of the default data set gets a sandbox of its own on first
use: one organizer (that token) and a data set generated from a seed derived
from the token, so the same token gets the same data on every machine. Parallel
CI jobs that share one fake, each with its own sandbox token, never see each
other's purchases.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from .errors import Unauthorized
from .faults import FaultPlan
from .idempotency import IdempotencyCache
from .journal import Journal, mask_authorization
from .ratelimit import RateLimit, RateLimiter
from .store import Store
from .store.models import Organizer
from .tickets import TicketSigner

__all__ = ["Box", "Boxes", "sandbox_id", "sandbox_seed"]

MAX_TOKEN = 256


def sandbox_id(token: str) -> str:
    """A short, stable name of the sandbox of ``token`` (it appears in ticket codes)."""
    return hashlib.sha256(token.encode()).hexdigest()[:12]


def sandbox_seed(token: str) -> int:
    """The data seed of the sandbox of ``token``: stable across processes (not ``hash()``)."""
    return int.from_bytes(hashlib.sha256(b"seed:" + token.encode()).digest()[:6], "big")


class Box:
    """One isolated fake. ``guarded`` is True when a request needs more than the journal:
    fault rules or a rate limit are set."""

    def __init__(
        self,
        store: Store,
        signer: TicketSigner,
        *,
        token: str | None = None,
        journal_max: int = 1000,
        faults: FaultPlan | None = None,
        rate_limit: RateLimit | None = None,
    ) -> None:
        self.id = signer.box
        self.token = token  # None for the default box
        self.store = store
        self.signer = signer
        self.journal = Journal(journal_max) if journal_max > 0 else None
        self.faults = faults or FaultPlan()
        self._startup_limit = rate_limit
        self.idempotency = IdempotencyCache()
        self.set_rate_limit(rate_limit)

    def set_rate_limit(self, limit: RateLimit | None) -> None:
        """Change (or, with None, remove) the rate limit; every count starts over."""
        self.limiter = RateLimiter(limit) if limit is not None else None
        self.refresh()

    def refresh(self) -> None:
        """Recompute ``guarded`` after a change of faults or rate limit."""
        self.guarded = self.faults.active or self.limiter is not None

    def now(self) -> float:
        """The box's clock, as a Unix time."""
        return self.store.clock.now().timestamp()

    def reset(self) -> None:
        """As if the fake had just started: data, clock, journal, faults, rate limit, keys."""
        self.store.reset()
        self.store.clock.unfreeze()
        if self.journal is not None:
            self.journal.clear()
        self.faults.reset()
        self.idempotency.clear()
        self.set_rate_limit(self._startup_limit)

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id or None,
            "token": mask_authorization(self.token.encode()) if self.token else None,
            "events": len(self.store.events),
            "orders": len(self.store.orders),
            "journal": len(self.journal) if self.journal is not None else None,
        }


class Boxes:
    """The default box and the sandboxes, created on first use, the least recently used
    forgotten beyond ``max_sandboxes``."""

    def __init__(
        self, default: Box, prefix: str, max_sandboxes: int, make: Callable[[str], Box]
    ) -> None:
        self.default = default
        self.prefix = prefix
        self.max_sandboxes = max_sandboxes
        self._make = make
        self._sandboxes: OrderedDict[str, Box] = OrderedDict()
        self._by_id: dict[str, Box] = {}
        self._lock = threading.Lock()

    def is_sandbox_token(self, token: str) -> bool:
        return (
            bool(self.prefix)
            and self.max_sandboxes > 0
            and token.startswith(self.prefix)
            and len(self.prefix) < len(token) <= MAX_TOKEN
        )

    def resolve(self, token: str) -> tuple[Box, Organizer]:
        """The box a GoEvent request with ``token`` goes to, and its organizer (or 401)."""
        try:
            return self.default, self.default.store.authenticate(token)
        except Unauthorized:
            if not self.is_sandbox_token(token):
                raise
        box = self.sandbox(token)
        return box, box.store.authenticate(token)

    def for_token(self, token: str | None) -> Box:
        """The box a control request names: a sandbox token's sandbox, else the default."""
        if token is None or not self.is_sandbox_token(token):
            return self.default
        try:
            self.default.store.authenticate(token)
        except Unauthorized:
            return self.sandbox(token)
        return self.default

    def sandbox(self, token: str) -> Box:
        """The sandbox of ``token``, created on first use."""
        with self._lock:
            box = self._sandboxes.get(token)
            if box is None:
                box = self._sandboxes[token] = self._make(token)
                self._by_id[box.id] = box
                while len(self._sandboxes) > self.max_sandboxes:
                    _, old = self._sandboxes.popitem(last=False)
                    del self._by_id[old.id]
            else:
                self._sandboxes.move_to_end(token)
            return box

    def by_id(self, box_id: str) -> Box | None:
        """The box of a ticket code: "" is the default one."""
        return self.default if not box_id else self._by_id.get(box_id)

    def sandboxes(self) -> list[Box]:
        with self._lock:
            return list(self._sandboxes.values())

    def forget(self) -> int:
        """Forget every sandbox; returns how many there were."""
        with self._lock:
            count = len(self._sandboxes)
            self._sandboxes.clear()
            self._by_id.clear()
            return count

    def all(self) -> list[Box]:
        return [self.default, *self.sandboxes()]
