"""The request path of a GoEvent operation, as the steps it takes, in order.

1. authenticate  (``authenticate.py``)  the bearer token, and the box it names
2. admit         (``admit.py``)         the rate limit, then injected faults
3. read          (``read.py``)          the body, then parameters and body validated
4. call          (``call.py``)          the handler, idempotent where the spec says so
5. check         (``check.py``)         ``--validate-responses``
6. journal       (``journal.py``)       one entry in the box's journal

An error in a step ends the path with its answer (``http/responses.py``); the
journal records every request, answered or not, and an injected drop
(``http/drop.py``) closes the connection last.
"""

from __future__ import annotations

import anyio
from starlette.requests import Request
from starlette.responses import Response

from ...errors import GoEventError
from ...spec import Operation
from ..answers import Answers
from ..drop import drop_connection
from ..responses import JSONResponse, error_response
from ..state import FakeState
from .admit import admit
from .authenticate import bearer_token
from .call import Caller
from .check import check
from .exchange import Exchange
from .journal import journal
from .read import Reader

__all__ = ["OperationEndpoint"]


class OperationEndpoint:
    """The endpoint of one operation of the spec: ``await endpoint(request)``."""

    def __init__(self, state: FakeState, op: Operation) -> None:
        self.op, self.operation, self.method = op, op.operation_id, op.method
        # A read's answers are kept until the store changes (``http/answers.py``), where
        # nothing but the path and the query can change them.
        plain = all(p.location in ("path", "query") for p in op.parameters)
        read = op.method == "GET" and plain and op.request_schema is None
        self.answers: Answers | None = state.answers if read else None
        self.boxes = state.boxes
        self.checker = state.checker
        self.reader = Reader(op, state.settings.max_body_bytes)
        self.call = Caller(op, state.renderer)
        self.base = len(state.spec.base_path)

    async def __call__(self, request: Request) -> Response:
        ex = Exchange(request, self.boxes.default)
        try:
            # 1. authenticate: the token, its box (default or sandbox) and organizer
            ex.token = bearer_token(ex.auth, ex.several_auth)
            if self.boxes.is_new_sandbox(ex.token):  # generated off the event loop
                await anyio.to_thread.run_sync(self.boxes.sandbox, ex.token)
            ex.box, ex.organizer = self.boxes.resolve(ex.token)
            # 2. admit: costs nothing unless a limit, a fault or an X-Mock-* header is set
            if (not ex.box.guarded and ex.extra is None) or await admit(ex, self.operation):
                if self.reader.has_body:  # 3. read
                    ex.raw = await self.reader.raw_body(request)
                ex.response = self.answer(ex)  # 3. validate, 4. call, 5. check
            else:
                ex.response = Response(status_code=500)  # never sent: the connection drops
        except GoEventError as error:
            ex.response = error_response(error)
        if ex.quota is not None:  # the rate-limit headers, on the 429 too
            ex.response.headers.update(ex.quota.headers())
        journal(ex, self.operation, self.method, self.base)  # 6. journal
        if ex.dropped:
            await drop_connection(request)
        return ex.response

    def answer(self, ex: Exchange) -> Response:
        """Steps 3 to 5: validate, call, check. Their errors are checked answers too."""
        answers, store = self.answers, ex.box.store
        if answers is not None:  # a read answered before, the store unchanged since
            scope = ex.request.scope
            key = (ex.organizer.id, scope["path"], scope["query_string"])
            kept = answers.get(store, key)
            if kept is not None:
                return JSONResponse(kept)
            version = store.version  # before the call: a write meanwhile outdates it
        try:
            params = self.reader.parameters(ex.request)
            body = self.reader.body(ex.request, ex.raw)
            status, payload = self.call(ex, params, body)
        except GoEventError as error:
            if self.checker is not None:
                error = check(self.checker, self.op, error.status, error) or error
            return error_response(error)
        problem = check(self.checker, self.op, status, payload) if self.checker else None
        response = error_response(problem) if problem else JSONResponse(payload, status)
        if answers is not None and status == 200 and problem is None:
            answers.keep(store, version, key, payload)
        if ex.replayed:
            response.raw_headers.append((b"idempotent-replayed", b"true"))
        return response
