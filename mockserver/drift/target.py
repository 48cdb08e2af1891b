"""What a contract run talks to, and what it may do there.

Three kinds of target run the same checks: the fake in-process (an ASGI app,
no socket), the fake over HTTP, and any base URL with a token (the live API).
Only a fake the kit started itself is written to freely; anything else is
read-only unless writes are allowed *and* one test event is named.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..settings import DEFAULT_TOKEN

__all__ = ["ALL_PHASES", "DEFAULT_MAX_REQUESTS", "ENV", "SEED", "Target", "TargetError"]

# A full run at the default example count: about 360 requests read-only, 640 with writes.
DEFAULT_MAX_REQUESTS = 1000
# Schemathesis phases a run can use, and the seed of its (deterministic) generation.
ALL_PHASES = ("examples", "coverage", "fuzzing", "stateful")
SEED = 20240615

# The environment variables of the kit (documented in docs/drift.md).
ENV = {
    "target": "GOEVENT_TARGET",  # "inprocess" (default) or "http": which fake, when no base URL
    "base_url": "GOEVENT_BASE_URL",
    "token": "GOEVENT_TOKEN",
    "other_token": "GOEVENT_OTHER_TOKEN",
    "allow_writes": "GOEVENT_ALLOW_WRITES",
    "test_event_id": "GOEVENT_TEST_EVENT_ID",
    "max_requests": "GOEVENT_MAX_REQUESTS",
}


# The fake's default tokens (organizers 1 and 2); a fake the kit starts has no budget.
_FAKE_DEFAULTS: dict[str, Any] = {
    "token": DEFAULT_TOKEN,
    "other_token": "goevent-dev-token-2",
    "max_requests": None,
}


class TargetError(ValueError):
    """The target's settings contradict each other; the message says how to fix them."""


@dataclass(frozen=True)
class Target:
    """One server under test.

    ``base_url`` ends with the API prefix (``…/developers/v1.0``). ``app`` is set
    for the in-process fake; ``fake_root`` (``http://host:port``) for a fake the
    kit serves itself, whose ``/_mock`` endpoints it may use to reset state.

    >>> Target.live("https://cloud.goevent.live/developers/v1.0", "t0ken").writes
    False
    """

    base_url: str
    token: str
    other_token: str | None = None
    allow_writes: bool = False
    test_event_id: str | None = None
    max_requests: int | None = DEFAULT_MAX_REQUESTS
    app: Any = field(default=None, repr=False, compare=False)
    fake_root: str | None = None
    label: str = ""

    def __post_init__(self) -> None:
        if self.allow_writes and not self.is_fake and not self.test_event_id:
            raise TargetError(
                "writes need a test event: set GOEVENT_TEST_EVENT_ID (or --event-id) to the id "
                "of the one event whose tickets the run may buy"
            )
        if self.max_requests is not None and self.max_requests < 1:
            raise TargetError(f"the request budget must be at least 1, got {self.max_requests}")

    # -- constructors ------------------------------------------------------

    @classmethod
    def in_process(cls, app: Any, base_path: str = "/developers/v1.0", **kw: Any) -> Target:
        """The fake as an ASGI app, called without a socket."""
        kw = {**_FAKE_DEFAULTS, **kw}
        return cls(
            base_url="http://testserver" + base_path,
            app=app,
            fake_root="http://testserver",
            label="the fake, in-process",
            **kw,
        )

    @classmethod
    def served_fake(cls, root: str, base_path: str = "/developers/v1.0", **kw: Any) -> Target:
        """A fake the kit serves itself on ``root`` (``http://127.0.0.1:PORT``)."""
        kw = {**_FAKE_DEFAULTS, **kw}
        return cls(
            base_url=root + base_path, fake_root=root, label=f"the fake over HTTP at {root}", **kw
        )

    @classmethod
    def live(cls, base_url: str, token: str, **kw: Any) -> Target:
        """Any server: the kit knows nothing of it and treats it as the live API."""
        return cls(base_url=base_url.rstrip("/"), token=token, label=base_url.rstrip("/"), **kw)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Target | None:
        """The live target of ``GOEVENT_BASE_URL`` + ``GOEVENT_TOKEN``; None without a base URL."""
        env = os.environ if environ is None else environ
        base_url = env.get(ENV["base_url"], "").strip()
        if not base_url:
            return None
        token = env.get(ENV["token"], "").strip()
        if not token:
            raise TargetError(f"{ENV['base_url']} is set but {ENV['token']} is empty")
        budget = env.get(ENV["max_requests"], "").strip()
        try:
            max_requests = int(budget) if budget else DEFAULT_MAX_REQUESTS
        except ValueError:
            raise TargetError(f"{ENV['max_requests']} must be an integer, got {budget!r}") from None
        return cls.live(
            base_url,
            token,
            other_token=env.get(ENV["other_token"], "").strip() or None,
            allow_writes=env.get(ENV["allow_writes"], "") in ("1", "true", "yes"),
            test_event_id=env.get(ENV["test_event_id"], "").strip() or None,
            max_requests=max_requests,
        )

    # -- what the run may do -------------------------------------------------

    @property
    def is_fake(self) -> bool:
        """A fake the kit started itself: reset freely, write freely."""
        return self.fake_root is not None

    @property
    def writes(self) -> bool:
        """Whether the run may call Create Tickets at all."""
        return self.is_fake or self.allow_writes

    def secrets(self) -> list[str]:
        """Values that must never appear in any output."""
        return [s for s in (self.token, self.other_token) if s]

    def banner(self) -> str:
        """One line: what the run will and will not do, said before it starts."""
        budget = (
            f"at most {self.max_requests} requests" if self.max_requests else "no request budget"
        )
        if self.is_fake:
            writes = "buys tickets freely (a fake)"
        elif self.allow_writes:
            writes = f"buys tickets only for test event {self.test_event_id}"
        else:
            writes = "read-only: never calls POST /tickets/create"
        isolation = (
            "checks token isolation with a second token"
            if self.other_token
            else "skips token isolation (no second token)"
        )
        return (
            f"goevent contract run against {self.label or self.base_url}: {writes}; {budget}; "
            f"waits out 429 + Retry-After; {isolation}; the token is never printed."
        )
