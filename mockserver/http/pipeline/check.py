"""Step 5, check (``--validate-responses``): the fake checks its own answers against the
spec, and answers 500 ``RESPONSE_INVALID`` instead of one the spec does not allow."""

from __future__ import annotations

import orjson

from ...errors import GoEventError
from ...spec import Operation
from ..response_check import ResponseChecker

__all__ = ["check"]


def check(
    checker: ResponseChecker | None, op: Operation, status: int, answer: bytes | GoEventError
) -> GoEventError | None:
    """The 500 that replaces an answer the spec does not allow (None: keep the answer, or
    ``--validate-responses`` is off)."""
    if checker is None:
        return None
    body = orjson.dumps(answer.to_body()) if isinstance(answer, GoEventError) else answer
    return checker.problem(op, status, body)
