"""Response checking (``--validate-responses``): validators of every documented response of
the spec, compiled once; the request path's check step (``pipeline/check.py``) uses them."""

from __future__ import annotations

import logging
from typing import Any

import orjson

from ..errors import GoEventError
from ..schema import validator
from ..spec import Operation, Spec

__all__ = ["ResponseChecker"]

log = logging.getLogger("goevent_mock")


class ResponseChecker:
    """Validators of every documented response, compiled once for all operations."""

    def __init__(self, spec: Spec) -> None:
        self._validators: dict[tuple[str, str], Any] = {}
        for op in spec.operations:
            for status in op.responses:
                schema = op.response_schema(status)
                if schema is not None:
                    self._validators[(op.operation_id, status)] = validator(schema)

    def problem(self, op: Operation, status: int, body: bytes) -> GoEventError | None:
        """The 500 to answer instead of ``status`` and ``body``, or None if they are fine."""
        validator = self._validators.get((op.operation_id, str(status)))
        problem = None
        if validator is None:
            problem = f"status {status} is not documented for {op.operation_id}"
        else:
            error = next(validator.iter_errors(orjson.loads(body)), None)
            if error is not None:
                path = "".join(f"[{p!r}]" for p in error.absolute_path)
                problem = f"{op.operation_id} {status} response{path}: {error.message}"
        if problem is None:
            return None
        log.error("response does not match the spec: %s", problem)
        return GoEventError(problem, code="RESPONSE_INVALID")
