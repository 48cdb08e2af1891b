"""The fake's application state, typed: what the composition root builds once per app.

Read it with :func:`fake_state` (from the app or from a request), never as
``app.state.<name>``. For code written before this existed, the same objects are
also on ``app.state`` under their field names (``app.state.store``, ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from starlette.applications import Starlette
from starlette.requests import Request

from ..sandbox import Boxes
from ..settings import Settings
from ..spec import Spec
from ..store import Store
from ..tickets import TicketSigner
from .answers import Answers
from .render import Renderer
from .response_check import ResponseChecker

__all__ = ["FakeState", "fake_state"]


@dataclass(frozen=True, slots=True)
class FakeState:
    """Everything one fake holds: built by :func:`mockserver.http.create_app`."""

    settings: Settings
    spec: Spec
    store: Store  # the default box's store
    renderer: Renderer
    checker: ResponseChecker | None  # --validate-responses, else None
    signer: TicketSigner
    boxes: Boxes  # the default box and the sandboxes
    admin_token: str | None  # of /_mock (http/access.py); None: open, on loopback
    # --public-url, checked (http/links.py); None: links use the address the fake serves.
    public_url: str | None = None
    answers: Answers = field(default_factory=Answers)  # the reads' answers (http/answers.py)
    operation_ids: tuple[str, ...] = field(init=False)  # sorted

    def __post_init__(self) -> None:
        ids = tuple(sorted(op.operation_id for op in self.spec.operations))
        object.__setattr__(self, "operation_ids", ids)

    def attach(self, app: Starlette) -> None:
        """Put this state on ``app`` (and its fields on ``app.state``, as before)."""
        app.state.fake = self
        for f in fields(self):
            setattr(app.state, f.name, getattr(self, f.name))


def fake_state(source: Starlette | Request) -> FakeState:
    """The state of the fake serving ``source`` (an app, or a request it answers).

    >>> from mockserver.http import create_app
    >>> fake_state(create_app()).settings.seed
    42
    """
    app = source.app if isinstance(source, Request) else source
    state = getattr(app.state, "fake", None)
    if not isinstance(state, FakeState):
        raise TypeError(f"{app!r} is not an app made by mockserver.http.create_app")
    return state
