"""Rate limiting per token: a budget of requests per window, fixed or sliding.

Off unless configured (``--rate-limit 100/60s``, or ``PUT /_mock/ratelimit``).
Time comes from the fake's settable clock, so a test moves past a window
instead of sleeping. The live API's limits are not documented: this is an
assumption of ours (the spec's ``TooManyRequests`` response says so).

Everything about rate limiting is here: parsing a limit (flag, environment,
``PUT /_mock/ratelimit`` body), counting, the 429 and the headers. Each box
(``sandbox.py``) holds its limiter; the request path's admit step
(``http/pipeline/admit.py``) calls :meth:`RateLimiter.hit` and
:meth:`RateLimiter.refusal`.

>>> limiter = RateLimiter(RateLimit.parse("2/60s"))
>>> [limiter.hit("token", 0.0).allowed for _ in range(3)]
[True, True, False]
>>> limiter.hit("token", 60.0).allowed
True
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any

from .errors import BadRequest, TooManyRequests
from .faults import format_duration, parse_duration
from .settings import ENV_PREFIX, Settings

__all__ = ["MAX_SLIDING", "MODES", "Quota", "RateLimit", "RateLimiter", "startup_limit"]

MODES = ("fixed", "sliding")
# A sliding window keeps the time of each request it counts, per token: its limit is
# what bounds that memory. A fixed window keeps one count per token, whatever its limit.
MAX_SLIDING = 10_000


@dataclass(frozen=True, slots=True)
class RateLimit:
    """``limit`` requests per ``window`` seconds and token."""

    limit: int
    window: float
    mode: str = "fixed"

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= 1_000_000_000:
            raise ValueError(f"a rate limit allows 1 to 10^9 requests, got {self.limit}")
        if not 0.001 <= self.window <= 86400 * 366:
            raise ValueError(f"a rate-limit window lasts 1ms to a year, got {self.window:g}s")
        if self.mode not in MODES:
            raise ValueError(f"rate-limit mode is fixed or sliding, got {self.mode!r}")
        if self.mode == "sliding" and self.limit > MAX_SLIDING:
            raise ValueError(
                f"a sliding rate limit allows 1 to {MAX_SLIDING:,} requests per window "
                f"(it remembers each one), got {self.limit}; use mode fixed for more"
            )

    @classmethod
    def parse(cls, text: str, mode: str = "fixed") -> RateLimit:
        """``"100/60s"``: 100 requests per 60 seconds (units: ms, s, m, h)."""
        count, slash, window = text.strip().partition("/")
        if not slash or not (count.isascii() and count.isdigit()):
            raise ValueError(f"a rate limit is REQUESTS/WINDOW, e.g. 100/60s, got {text!r}")
        return cls(int(count), parse_duration(window), mode)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RateLimit:
        """The body of ``PUT /_mock/ratelimit`` (``limit``, ``window``, ``mode``), or a 400."""
        count, window, mode = data.get("limit"), data.get("window"), data.get("mode", "fixed")
        if not isinstance(count, int) or isinstance(count, bool):
            raise BadRequest(f"body.limit must be an integer, got {count!r}", field="body.limit")
        if not isinstance(window, str):
            raise BadRequest(
                f'body.window must be a duration such as "60s" or "1m", got {window!r}',
                field="body.window",
            )
        if mode not in MODES:
            raise BadRequest(f"body.mode must be fixed or sliding, got {mode!r}", field="body.mode")
        try:
            return cls.parse(f"{count}/{window}", mode)
        except ValueError as exc:
            raise BadRequest(str(exc), field="body") from None

    def describe(self) -> str:
        return f"{self.limit}/{format_duration(self.window)}"

    def to_json(self) -> dict[str, object]:
        return {
            "limit": self.limit,
            "window": format_duration(self.window),
            "windowSeconds": self.window,
            "mode": self.mode,
        }


@dataclass(frozen=True, slots=True)
class Quota:
    """The answer to one request: allowed or not, and what the rate-limit headers say."""

    allowed: bool
    limit: int
    remaining: int
    reset: float  # Unix time at which the budget grows again
    retry_after: int  # whole seconds to wait; 0 when allowed

    def headers(self) -> dict[str, str]:
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(math.ceil(self.reset)),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after)
        return headers


class RateLimiter:
    """Counts requests per key (a token). A refused request does not spend budget."""

    def __init__(self, limit: RateLimit) -> None:
        self.limit = limit
        self._fixed: dict[str, tuple[float, int]] = {}
        self._sliding: dict[str, deque[float]] = {}

    def clear(self) -> None:
        self._fixed.clear()
        self._sliding.clear()

    def refusal(self, quota: Quota) -> TooManyRequests:
        """The 429 of a request ``quota`` does not allow."""
        return TooManyRequests(
            f"rate limit of {self.limit.describe()} per token reached; "
            f"retry in {quota.retry_after} s",
            retry_after=quota.retry_after,
        )

    def hit(self, key: str, now: float) -> Quota:
        """Count one request of ``key`` at Unix time ``now``, if the budget allows it."""
        limit, window = self.limit.limit, self.limit.window
        if self.limit.mode == "fixed":
            start = math.floor(now / window) * window
            seen_start, count = self._fixed.get(key, (start, 0))
            if seen_start != start:
                count = 0
            reset = start + window
            if count >= limit:
                return Quota(False, limit, 0, reset, max(1, math.ceil(reset - now)))
            self._fixed[key] = (start, count + 1)
            return Quota(True, limit, limit - count - 1, reset, 0)
        times = self._sliding.setdefault(key, deque())
        if times and times[-1] > now:
            times.clear()  # the clock was moved back: start over rather than wait for the future
        while times and times[0] <= now - window:
            times.popleft()
        if len(times) >= limit:
            reset = times[0] + window
            return Quota(False, limit, 0, reset, max(1, math.ceil(reset - now)))
        times.append(now)
        return Quota(True, limit, limit - len(times), times[0] + window, 0)


def startup_limit(settings: Settings) -> RateLimit | None:
    """The limit of ``--rate-limit``/``--rate-limit-mode``: None when unset; a ValueError that
    names the flag when malformed."""
    if not settings.rate_limit:
        return None
    try:
        return RateLimit.parse(settings.rate_limit, settings.rate_limit_mode)
    except ValueError as exc:
        raise ValueError(f"--rate-limit ({ENV_PREFIX}RATE_LIMIT): {exc}") from None
