"""Live safety: one guard per run that every request goes through.

The guard spends the request budget, refuses writes the target does not
allow, remembers what each operation answered (to tell a refused token from
a working one) and keeps the secrets out of everything it hands on.
Schemathesis reaches it through the hooks in :mod:`.hooks`; the probes through
:class:`Api`.
"""

from __future__ import annotations

import re
import shlex
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson

from .target import Target

__all__ = [
    "Api",
    "BudgetExhausted",
    "Reply",
    "RunGuard",
    "WriteRefused",
    "active_guard",
    "parse_retry_after",
]

CREATE_TICKETS = "/tickets/create"
OBJECT_ID = re.compile(r"^[0-9a-f]{24}$")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# 429 handling: at most this many retries of one request, each wait capped.
MAX_RETRIES = 3
MAX_WAIT = 30.0


class BudgetExhausted(RuntimeError):
    """The run spent its request budget; no further request is sent."""


class WriteRefused(RuntimeError):
    """The guard refused a request that could change data the run may not touch."""


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (seconds or an HTTP date), capped at MAX_WAIT.

    >>> parse_retry_after("2"), parse_retry_after("soon"), parse_retry_after("9999")
    (2.0, None, 30.0)
    """
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - (now or time.time())
        except (TypeError, ValueError):
            return None
    return max(0.0, min(MAX_WAIT, seconds))


@dataclass
class RunGuard:
    """The budget, the write policy and the status ledger of one run."""

    target: Target
    sent: int = 0
    refused_writes: int = 0
    rate_limited: int = 0
    waited: float = 0.0
    # operationId -> status -> count, for every answer to a request with the main token.
    statuses: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    retry_after_seen: list[str] = field(default_factory=list)
    ran_out: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def budget_left(self) -> int | None:
        if self.target.max_requests is None:
            return None
        return max(0, self.target.max_requests - self.sent)

    @property
    def exhausted(self) -> bool:
        """The budget is spent, or could not cover a request the run wanted to send."""
        left = self.budget_left
        return self.ran_out or (left is not None and left <= 0)

    def spend(self, requests: int = 1) -> None:
        """Count ``requests`` about to be sent; refuse them when the budget cannot cover them."""
        with self._lock:
            left = self.budget_left
            if left is not None and left < requests:
                self.ran_out = True
                raise BudgetExhausted(
                    f"the request budget of {self.target.max_requests} requests is spent"
                )
            self.sent += requests

    def admit(self, method: str, path: str, body: Any) -> Any:
        """Check one request against the write policy; returns the body to send.

        ``path`` is the path below the API prefix (``/tickets/create``). With writes
        allowed on a live target, a purchase naming another event is pointed at the
        test event (only a well-formed id is replaced, so a deliberately malformed
        one still tests validation).
        """
        method = method.upper()
        if method in SAFE_METHODS or self.target.is_fake:
            return body
        if method == "POST" and path == CREATE_TICKETS and self.target.allow_writes:
            event_id = body.get("eventId") if isinstance(body, dict) else None
            well_formed = isinstance(event_id, str) and OBJECT_ID.match(event_id)
            if well_formed and event_id != self.target.test_event_id:
                body = {**body, "eventId": self.target.test_event_id}
            return body
        with self._lock:
            self.refused_writes += 1
        raise WriteRefused(
            f"{method} {path} refused: the target is read-only"
            + ("" if method == "POST" and path == CREATE_TICKETS else " for undocumented writes")
        )

    def record(
        self, operation_id: str, status: int, retry_after: str | None = None, *, token: bool = True
    ) -> None:
        """Note one answer; ``token``: the request carried the main token (not a test of auth)."""
        with self._lock:
            if token:
                self.statuses[operation_id][status] += 1
            if status == 429:
                self.rate_limited += 1
                if retry_after is not None:
                    self.retry_after_seen.append(retry_after)

    def refused_operations(self) -> list[str]:
        """Operations that answered, but never anything other than 401/403."""
        return sorted(
            op
            for op, seen in self.statuses.items()
            if seen and all(status in (401, 403) for status in seen)
        )

    def redact(self, text: str) -> str:
        """``text`` with every secret of the target replaced by its variable's name."""
        names = ("$GOEVENT_TOKEN", "$GOEVENT_OTHER_TOKEN")
        for secret, name in zip([self.target.token, self.target.other_token], names, strict=True):
            if secret:
                text = text.replace(secret, name)
        return text


_ACTIVE: RunGuard | None = None
_ACTIVE_LOCK = threading.Lock()


def active_guard() -> RunGuard | None:
    """The guard of the run in progress, if any (the Schemathesis hooks consult it)."""
    return _ACTIVE


@contextmanager
def activate(guard: RunGuard) -> Iterator[RunGuard]:
    """Make ``guard`` the one the Schemathesis hooks and checks use, for the duration."""
    global _ACTIVE
    with _ACTIVE_LOCK:
        if _ACTIVE is not None:
            raise RuntimeError("a contract run is already in progress in this process")
        _ACTIVE = guard
    try:
        yield guard
    finally:
        _ACTIVE = None


# -- the probes' client ------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """One answered request of a probe, with what it takes to reproduce it."""

    operation: str
    method: str
    url: str
    status: int
    headers: httpx.Headers
    content: bytes
    curl: str

    @property
    def content_type(self) -> str:
        return str(self.headers.get("content-type", ""))

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON."""
        try:
            return orjson.loads(self.content)
        except orjson.JSONDecodeError:
            return None

    def describe(self) -> str:
        """``200 application/json, 1234 bytes``: what the server did, in a line."""
        return (
            f"{self.status} {self.content_type or '(no Content-Type)'}, {len(self.content)} bytes"
        )


def curl_command(
    method: str,
    url: str,
    token_var: str | None,
    body: bytes | None,
    extra: dict[str, str] | None = None,
) -> str:
    """A curl line that reproduces a request; the token is a shell variable, never its value."""
    parts = ["curl", "-sS", "-i"]
    if method != "GET":
        parts += ["-X", method]
    command = " ".join(parts)
    if token_var is not None:
        command += f' -H "Authorization: Bearer {token_var}"'
    for name, value in (extra or {}).items():
        command += " -H " + shlex.quote(f"{name}: {value}")
    if body is not None:
        shown = body if len(body) <= 2000 else body[:2000] + b"...(truncated)"
        command += " -H 'Content-Type: application/json' --data " + shlex.quote(
            shown.decode("utf-8", "replace")
        )
    return command + " " + shlex.quote(url)


class Api:
    """The probes' HTTP client: budget, write policy, 429 + Retry-After, curl for every reply.

    ``token`` selects whose token is sent: "main", "other", None (no header) or
    a literal value (a deliberately wrong token).
    """

    def __init__(
        self, target: Target, guard: RunGuard, *, sleep: Callable[[float], None] = time.sleep
    ):
        self.target = target
        self.guard = guard
        self._sleep = sleep
        if target.app is not None:
            from ..testing import asgi_client

            self._client = asgi_client(target.app, target.base_url, timeout=30.0)
        else:
            self._client = httpx.Client(base_url=target.base_url, timeout=30.0)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        content: bytes | None = None,
        token: str | None = "main",
    ) -> Reply:
        body = json
        if method.upper() != "GET" or json is not None:
            body = self.guard.admit(method, path, json)
        raw = content if content is not None else (orjson.dumps(body) if body is not None else None)
        headers: dict[str, str] = {}
        token_var: str | None = None
        if token == "main":
            headers["Authorization"] = f"Bearer {self.target.token}"
            token_var = "$GOEVENT_TOKEN"
        elif token == "other":
            if not self.target.other_token:
                raise ValueError("no second token: set GOEVENT_OTHER_TOKEN")
            headers["Authorization"] = f"Bearer {self.target.other_token}"
            token_var = "$GOEVENT_OTHER_TOKEN"
        elif token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if raw is not None:
            headers["Content-Type"] = "application/json"
        query = {k: v for k, v in (params or {}).items() if v is not None}
        url = self.target.base_url + path + (("?" + urlencode(query)) if query else "")
        extra = (
            {"Authorization": headers["Authorization"]}
            if token not in ("main", "other", None)
            else None
        )
        curl = curl_command(method.upper(), url, token_var, raw, extra)
        for attempt in range(MAX_RETRIES + 1):
            self.guard.spend()
            response = self._client.request(method.upper(), url, content=raw, headers=headers)
            retry_after = response.headers.get("retry-after")
            self.guard.record(operation, response.status_code, retry_after, token=token == "main")
            if response.status_code != 429 or attempt == MAX_RETRIES:
                break
            wait = parse_retry_after(retry_after)
            wait = 1.0 if wait is None else wait
            self.guard.waited += wait
            self._sleep(wait)
        return Reply(
            operation,
            method.upper(),
            url,
            response.status_code,
            response.headers,
            response.content,
            curl,
        )
