"""The fake's configuration: one object, read once from flags and ``GOEVENT_MOCK_*`` variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_TOKEN", "ENV_PREFIX", "Settings"]

ENV_PREFIX = "GOEVENT_MOCK_"
DEFAULT_TOKEN = "goevent-dev-token"


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything that shapes one fake. Every field can be set as ``GOEVENT_MOCK_<FIELD>``.

    >>> Settings.from_env({"GOEVENT_MOCK_SEED": "7"}).seed
    7
    """

    host: str = "127.0.0.1"
    port: int = 8000
    seed: int = 42
    fixtures: Path | None = None
    token: str | None = None  # None: DEFAULT_TOKEN, or the fixture's own tokens
    organizers: int = 2
    events_per_organizer: int = 5
    ticket_types_per_event: int = 3
    participants_per_event: int = 30
    spec: Path | None = None
    validate_responses: bool = False
    max_body_bytes: int = 1024 * 1024
    secret: str | None = None
    access_log: bool = False
    # The HTTP server's bounds (README, "The HTTP server"; mockserver/server.py).
    max_header_bytes: int = 64 * 1024  # request line + headers; beyond: 431, connection closed
    header_timeout: float = 15.0  # seconds to receive a request's headers, idle included
    backlog: int = 1024  # connections waiting to be accepted
    max_concurrency: int = 1024  # requests handled at once; more wait for a free slot
    # Tools for the users' own test suites (docs/user-test-suites.md).
    journal_max: int = 1000  # requests kept in the journal; 0: no journal
    faults: str | None = None  # fault rules separated by ";", e.g. "createTickets:status=503"
    latency: str | None = None  # every answer waits this long, e.g. "50ms" or "20-80ms"
    rate_limit: str | None = None  # REQUESTS/WINDOW per token, e.g. "100/60s"; None: no limit
    rate_limit_mode: str = "fixed"  # "fixed" or "sliding" window
    sandbox_prefix: str = "sandbox-"  # tokens with this prefix get a sandbox of their own
    max_sandboxes: int = 64  # beyond this, the least recently used sandbox is forgotten

    def organizer_tokens(self) -> list[str]:
        """The token of organizer ``i`` of a generated data set: ``token``, ``token-2``, …"""
        first = self.token or DEFAULT_TOKEN
        return [first] + [f"{first}-{i}" for i in range(2, self.organizers + 1)]

    def signing_secret(self) -> bytes:
        # Derived from the seed unless set, so ticket links are reproducible too.
        return (self.secret or f"goevent-mock-secret-{self.seed}").encode()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from ``GOEVENT_MOCK_*`` variables, then ``overrides`` (flags) on top."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = environ.get(ENV_PREFIX + f.name.upper())
            if raw is not None and raw != "":
                values[f.name] = _convert(f.name, str(f.type), raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return replace(cls(), **values)


def _convert(name: str, kind: str, raw: str) -> Any:
    if kind.startswith("int"):
        try:
            return int(raw)
        except ValueError:
            raise ValueError(
                f"{ENV_PREFIX}{name.upper()} must be an integer, got {raw!r}"
            ) from None
    if kind.startswith("float"):
        try:
            return float(raw)
        except ValueError:
            raise ValueError(f"{ENV_PREFIX}{name.upper()} must be a number, got {raw!r}") from None
    if kind.startswith("bool"):
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{ENV_PREFIX}{name.upper()} must be true or false, got {raw!r}")
    if kind.startswith("Path"):
        return Path(raw)
    return raw
