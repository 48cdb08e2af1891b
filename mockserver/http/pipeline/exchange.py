"""One request on its way through the steps, and what each step learned about it."""

from __future__ import annotations

from time import perf_counter
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ...faults import Injection
from ...ratelimit import Quota
from ...sandbox import Box
from ...store.models import Organizer
from .authenticate import read_headers

__all__ = ["Exchange"]


class Exchange:
    """The request, and what the steps add to it in turn (the journal reads all of it)."""

    __slots__ = ("auth", "box", "extra", "injection", "organizer", "quota", "raw", "replayed",
                 "request", "response", "several_auth", "started", "token")  # fmt: skip

    def __init__(self, request: Request, box: Box) -> None:
        self.started = perf_counter()
        self.request = request
        # authenticate: the Authorization header(s) and the token they carry
        self.auth, self.several_auth, self.extra = read_headers(request.scope["headers"])
        self.token = ""
        self.box = box  # the default box until the token names another
        self.organizer: Organizer | Any = None
        # admit
        self.quota: Quota | None = None
        self.injection: Injection | None = None
        # read, call
        self.raw = b""
        self.replayed = False
        self.response: Response | None = None

    @property
    def dropped(self) -> bool:
        """Whether an injected fault drops the connection (no answer is sent)."""
        return self.injection is not None and self.injection.drop is not None
