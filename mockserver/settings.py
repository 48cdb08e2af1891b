"""The fake's configuration: one object, read once from flags and ``GOEVENT_MOCK_*`` variables."""

from __future__ import annotations

import os
import secrets
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
    # Signs ticket links and codes. None: random per process, so links and codes from an
    # earlier run stop verifying after a restart; set it to keep them valid across restarts.
    ticket_secret: str | None = None
    # The base URL clients reach the fake at (e.g. http://goevent-mock:8000), for the
    # links the fake writes into answers (ticket URLs); None: the address it serves.
    public_url: str | None = None
    access_log: bool = False
    # CORS (ours): browsers on other origins may call the fake (http/cors.py). cors_origin:
    # the allowed origins, comma-separated; None: any. cors=False (--no-cors): no CORS.
    cors: bool = True
    cors_origin: str | None = None
    # Tools for the users' own test suites (docs/user-test-suites.md).
    journal_max: int = 1000  # requests kept in the journal; 0: no journal
    faults: str | None = None  # fault rules separated by ";", e.g. "createTickets:status=503"
    latency: str | None = None  # every answer waits this long, e.g. "50ms" or "20-80ms"
    rate_limit: str | None = None  # REQUESTS/WINDOW per token, e.g. "100/60s"; None: no limit
    rate_limit_mode: str = "fixed"  # "fixed" or "sliding" window
    sandbox_prefix: str = "sandbox-"  # tokens with this prefix get a sandbox of their own
    max_sandboxes: int = 64  # sandboxes held at once; then a new one is a 503 until one idles
    sandbox_idle: str = "30m"  # a sandbox unused this long (wall clock) may be forgotten
    idempotency_ttl: str = "24h"  # Idempotency-Key answers kept this long (the fake's clock)
    idempotency_max_keys: int = 10_000  # keys kept per token; past it, its oldest go
    # Access to /_mock (docs/security.md). None: open on loopback; beyond loopback a
    # random token is made at startup and printed once.
    admin_token: str | None = None
    max_fixture_bytes: int = 16 * 1024 * 1024  # POST /_mock/fixtures body limit
    # ``goevent-mock proxy`` (docs/proxy.md); host and port are shared with ``serve``.
    upstream: str | None = None  # the upstream API prefix, e.g. https://…/developers/v1.0
    upstream_timeout: int = 30  # seconds without an answer before a 504
    report: Path | None = None  # Markdown report, written on stop and on demand
    json: Path | None = None  # JSON report
    junit: Path | None = None  # JUnit XML report
    record: Path | None = None  # the recording, as a fixture
    record_salt: str | None = None  # keys the anonymiser; None: random, one per run
    fail_on_additive: bool = True  # fields the spec does not know count as drift

    def organizer_tokens(self) -> list[str]:
        """The token of organizer ``i`` of a generated data set: ``token``, ``token-2``, …"""
        first = self.token or DEFAULT_TOKEN
        return [first] + [f"{first}-{i}" for i in range(2, self.organizers + 1)]

    def signing_secret(self) -> bytes:
        """``ticket_secret``, else a secret random per process: nobody can forge a ticket
        link or code from the seed, which is public."""
        return self.ticket_secret.encode() if self.ticket_secret else _process_secret()

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
    if kind.startswith("bool"):
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{ENV_PREFIX}{name.upper()} must be true or false, got {raw!r}")
    if kind.startswith("Path"):
        return Path(raw)
    return raw


_SECRET: list[bytes] = []


def _process_secret() -> bytes:
    # Made on first use, not at import; one per process, so every app in it agrees.
    if not _SECRET:
        _SECRET.append(secrets.token_bytes(32))
    return _SECRET[0]
