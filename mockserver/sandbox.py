"""Boxes: the default fake and its sandboxes, each with its own data, clock, journal, faults,
rate limit and idempotency keys.

A token that starts with the sandbox prefix (``sandbox-`` unless configured)
and is not a token of the default data set gets a sandbox of its own on first
use: one organizer (that token) and a data set generated from a seed derived
from the token, so the same token gets the same data on every machine. Parallel
CI jobs that share one fake, each with its own sandbox token, never see each
other's purchases.

No client can push another job's sandbox out by creating sandboxes. A sandbox
is forgotten only when it has been idle (no request, on the wall clock) for
``idle_seconds``, or when the admin forgets them all. When ``max_sandboxes``
are held and none is idle, a new sandbox token is refused with a 503 and a
``Retry-After`` of the time until the least recently used one becomes idle.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import TooManyRequests, Unauthorized
from .faults import FaultPlan, parse_duration
from .idempotency import TTL, IdempotencyCache
from .journal import Journal, mask_authorization
from .ratelimit import RateLimit, RateLimiter
from .settings import ENV_PREFIX, Settings
from .store import Store
from .store.models import Organizer
from .tickets import TicketSigner

__all__ = ["Box", "Boxes", "Limits", "SandboxesFull", "sandbox_id", "sandbox_seed"]

MAX_TOKEN = 256
IDLE_SECONDS = 1800.0  # a sandbox unused this long (wall clock) may be forgotten


def sandbox_id(token: str) -> str:
    """A short, stable name of the sandbox of ``token`` (it appears in ticket codes)."""
    return hashlib.sha256(token.encode()).hexdigest()[:12]


def sandbox_seed(token: str) -> int:
    """The data seed of the sandbox of ``token``: stable across processes (not ``hash()``)."""
    return int.from_bytes(hashlib.sha256(b"seed:" + token.encode()).digest()[:6], "big")


@dataclass(frozen=True, slots=True)
class Limits:
    """The bounds of each box and of the sandboxes, from the settings (docs/security.md)."""

    idempotency_ttl: float = TTL  # seconds of the box's clock
    idempotency_max_keys: int = 10_000  # per token
    idle_seconds: float = IDLE_SECONDS  # wall clock

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        """The limits ``settings`` set; a ValueError names the setting that is wrong."""
        values: dict[str, float] = {}
        for name in ("idempotency_ttl", "sandbox_idle"):
            text = getattr(settings, name)
            try:
                values[name] = parse_duration(text)
            except ValueError as exc:
                flag, env = name.replace("_", "-"), ENV_PREFIX + name.upper()
                raise ValueError(f"--{flag} ({env}): {exc}") from None
        if settings.idempotency_max_keys < 1:
            raise ValueError(
                f"--idempotency-max-keys ({ENV_PREFIX}IDEMPOTENCY_MAX_KEYS) must be at least 1, "
                f"got {settings.idempotency_max_keys}"
            )
        return cls(values["idempotency_ttl"], settings.idempotency_max_keys,
                   values["sandbox_idle"])  # fmt: skip


class SandboxesFull(TooManyRequests):
    """Every sandbox slot is held by a sandbox in use: a new one must wait (503, Retry-After).

    A kind of :class:`TooManyRequests` (it carries ``retry_after``), answered 503: the
    fake is out of room, the client did nothing wrong."""

    status = 503
    code = "SANDBOXES_FULL"


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
        limits: Limits = Limits(),
    ) -> None:
        self.id = signer.box
        self.token = token  # None for the default box
        self.store = store
        self.signer = signer
        self.journal = Journal(journal_max) if journal_max > 0 else None
        self.faults = faults or FaultPlan()
        self._startup_limit = rate_limit
        self.idempotency = IdempotencyCache(limits.idempotency_max_keys, limits.idempotency_ttl)
        self.used = time.monotonic()  # wall-clock time of the last request (idle eviction)
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
    """The default box and the sandboxes, created on first use, forgotten once idle for
    ``idle_seconds``; at most ``max_sandboxes`` at a time (then :class:`SandboxesFull`).

    ``forgotten`` is called with each sandbox that goes, so that whatever was kept for it
    elsewhere (rendered objects) goes too. ``clock`` is the wall clock (seconds).
    """

    def __init__(
        self,
        default: Box,
        prefix: str,
        max_sandboxes: int,
        make: Callable[[str], Box],
        *,
        idle_seconds: float = IDLE_SECONDS,
        forgotten: Callable[[Box], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.default = default
        self.prefix = prefix
        self.max_sandboxes = max_sandboxes
        self.idle_seconds = idle_seconds
        self.clock = clock
        self._make = make
        self._forgotten = forgotten
        self._sandboxes: OrderedDict[str, Box] = OrderedDict()  # least recently used first
        self._by_id: dict[str, Box] = {}
        self._lock = threading.Lock()

    def is_sandbox_token(self, token: str) -> bool:
        return (
            bool(self.prefix)
            and self.max_sandboxes > 0
            and token.startswith(self.prefix)
            and len(self.prefix) < len(token) <= MAX_TOKEN
        )

    def is_default_token(self, token: str) -> bool:
        """``token`` is an organizer's of the default data set."""
        try:
            self.default.store.authenticate(token)
        except Unauthorized:
            return False
        return True

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
        if token is None or not self.is_sandbox_token(token) or self.is_default_token(token):
            return self.default
        return self.sandbox(token)

    def is_new_sandbox(self, token: str) -> bool:
        """``token`` would get a sandbox that does not exist yet: making it generates a data
        set (tens of ms), which a server does off its event loop (:meth:`sandbox` in a
        worker thread) before it handles the request."""
        return (
            token.startswith(self.prefix)  # first: on every API request, mostly False
            and self.is_sandbox_token(token)
            and token not in self._sandboxes
            and not self.is_default_token(token)
        )

    def sandbox(self, token: str) -> Box:
        """The sandbox of ``token``, created on first use (or :class:`SandboxesFull`).

        Safe from several threads; the data set is generated outside the lock, so that a
        request to an existing sandbox never waits for another one being made."""
        box = self._held(token)
        if box is not None:
            return box
        made = self._make(token)
        gone: list[Box] = []
        try:
            with self._lock:
                box = self._sandboxes.get(token)
                if box is not None:
                    return box  # made meanwhile by another request: that one counts
                gone = self._make_room(self.clock())
                box = self._sandboxes[token] = made
                box.used = self.clock()
                self._by_id[box.id] = box
                return box
        finally:
            for old in gone:
                self._notify(old)

    def _held(self, token: str) -> Box | None:
        """The sandbox of ``token`` if it is held (now used); None if it must be made, after
        checking that there is room for it."""
        gone: list[Box] = []
        try:
            with self._lock:
                box = self._sandboxes.get(token)
                now = self.clock()
                if box is not None:
                    self._sandboxes.move_to_end(token)
                    box.used = now
                    return box
                gone = self._make_room(now)
                return None
        finally:
            for old in gone:
                self._notify(old)

    def _make_room(self, now: float) -> list[Box]:
        """Forget the idle sandboxes; :class:`SandboxesFull` if no slot is free (the lock is
        held). Returns the forgotten ones."""
        gone = self._evict_idle(now)
        if len(self._sandboxes) >= self.max_sandboxes:
            for old in gone:
                self._notify(old)
            oldest = next(iter(self._sandboxes.values()))
            wait = max(1, math.ceil(oldest.used + self.idle_seconds - now))
            raise SandboxesFull(
                f"this fake holds its maximum of {self.max_sandboxes} sandboxes, all "
                f"used within the last {self.idle_seconds:g} s; a sandbox is freed "
                f"after {self.idle_seconds:g} s idle (retry in {wait} s), or the admin "
                "can raise --max-sandboxes or DELETE /_mock/sandboxes",
                retry_after=wait,
            )
        return gone

    def _evict_idle(self, now: float) -> list[Box]:
        """Forget the sandboxes idle for ``idle_seconds`` (the lock is held)."""
        gone = []
        while self._sandboxes:
            token, oldest = next(iter(self._sandboxes.items()))
            if now - oldest.used < self.idle_seconds:
                break
            del self._sandboxes[token]
            del self._by_id[oldest.id]
            gone.append(oldest)
        return gone

    def _notify(self, box: Box) -> None:
        if self._forgotten is not None:
            self._forgotten(box)

    def by_id(self, box_id: str) -> Box | None:
        """The box of a ticket code: "" is the default one."""
        return self.default if not box_id else self._by_id.get(box_id)

    def sandboxes(self) -> list[Box]:
        """The sandboxes held, least recently used first (idle ones are forgotten first)."""
        with self._lock:
            gone = self._evict_idle(self.clock())
            held = list(self._sandboxes.values())
        for old in gone:
            self._notify(old)
        return held

    def forget(self) -> int:
        """Forget every sandbox; returns how many there were."""
        with self._lock:
            gone = list(self._sandboxes.values())
            self._sandboxes.clear()
            self._by_id.clear()
        for old in gone:
            self._notify(old)
        return len(gone)

    def all(self) -> list[Box]:
        return [self.default, *self.sandboxes()]
