"""Step 4, call: the operation's handler (``http/handlers.py``), made idempotent where the
spec declares an ``Idempotency-Key`` header parameter on the operation.

A retry with the same key and body replays the first answer (status and body,
errors included); the same key with another body is a 409 (``idempotency.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from ...errors import GoEventError
from ...idempotency import check_key, fingerprint
from ...spec import Operation
from ..handlers import HANDLERS, Call
from ..render import Renderer, placeholder
from .exchange import Exchange

__all__ = ["IDEMPOTENCY_KEY", "Caller", "example_handler", "is_idempotent"]

IDEMPOTENCY_KEY = "Idempotency-Key"


def is_idempotent(op: Operation) -> bool:
    """Whether the spec declares the ``Idempotency-Key`` header on ``op``."""
    return any(
        p.location == "header" and p.name.lower() == IDEMPOTENCY_KEY.lower() for p in op.parameters
    )


class Caller:
    """Calls the handler of one operation."""

    def __init__(self, op: Operation, renderer: Renderer) -> None:
        # An operation the fake has no behaviour for (a newer spec): serve its example.
        self.handler = HANDLERS.get(op.operation_id) or example_handler(op)
        self.idempotent = is_idempotent(op)
        self.renderer = renderer

    def __call__(self, ex: Exchange, params: dict[str, Any], body: Any) -> tuple[int, bytes]:
        """The status and body of the answer; sets ``ex.replayed`` for a replay."""
        box = ex.box
        call = Call(box.store, self.renderer, box.signer, ex.organizer, params, body, ex.request)
        header = ex.extra.get(b"idempotency-key") if self.idempotent and ex.extra else None
        if header is None:
            return 200, self.handler(call)
        key, print_, now = check_key(header.decode("latin-1")), fingerprint(body), box.now()
        seen = box.idempotency.lookup(ex.token, key, print_, now)
        if seen is not None:
            ex.replayed = True
            return seen.status, seen.payload
        try:
            payload = self.handler(call)
        except GoEventError as error:
            box.idempotency.remember(ex.token, key, print_, error.status,
                                     orjson.dumps(error.to_body()), now)  # fmt: skip
            raise
        box.idempotency.remember(ex.token, key, print_, 200, payload, now)
        return 200, payload


def example_handler(op: Operation) -> Callable[[Call], bytes]:
    """A handler that answers the 200 example of ``op`` (or one made from its schema)."""
    media = op.responses.get("200", {}).get("content", {}).get("application/json", {})
    examples = media.get("examples") or {}
    value = next(iter(examples.values()))["value"] if examples else media.get("example")
    if value is None:
        value = placeholder(media.get("schema", {}))
    payload = orjson.dumps(value)
    return lambda call: payload
