"""The composition root: :func:`create_app` builds the fake's parts and wires them.

Everything one fake holds is made here, once (:class:`~.state.FakeState`); the
router (:mod:`.router`) dispatches, the request path (:mod:`.pipeline`) answers
the GoEvent operations, :mod:`.control` the ``/_mock`` endpoints.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from ..faults import MAX_RULES, FaultPlan, parse_rule, parse_rules
from ..ratelimit import startup_limit
from ..sandbox import Box, Boxes, Limits, sandbox_id, sandbox_seed
from ..settings import ENV_PREFIX, Settings
from ..spec import Spec, load_spec
from ..store import Dataset, Sizes, Store, generate, load_fixture_file
from ..tickets import TicketSigner
from .access import ControlAccess, admin_token_for
from .control import control_router
from .cors import cors_layer, cors_origins
from .links import public_base
from .pipeline.endpoint import OperationEndpoint
from .render import Renderer
from .response_check import ResponseChecker
from .router import FakeApp
from .state import FakeState
from .ui import ui_router

__all__ = ["create_app", "make_store"]


def create_app(
    settings: Settings | None = None, store: Store | None = None, spec: Spec | None = None
) -> FakeApp:
    """The fake as an ASGI app. Nothing happens at import time; no lifespan is needed.

    >>> from mockserver.testing import asgi_client
    >>> app = create_app(Settings(seed=7))
    >>> client = asgi_client(app, "http://fake/developers/v1.0")
    >>> client.get("/events", headers={"Authorization": "Bearer goevent-dev-token"}).status_code
    200
    """
    state = make_state(settings or Settings(), store, spec)
    app = FakeApp(state)
    for op in state.spec.operations:
        path = state.spec.base_path + op.path
        app.add_operation(op.method, path, OperationEndpoint(state, op), op.operation_id)
    control = control_router()
    control.mount("/ui", ui_router())  # the dashboard (http/ui)
    app.mount_control(control)
    # Who may call /_mock, and how much they may send (docs/security.md).
    app.wrap_control(lambda inner: ControlAccess(
        inner, state.boxes, state.admin_token,
        max_fixture_bytes=state.settings.max_fixture_bytes))  # fmt: skip
    # Browsers on other origins (ours): outermost, so a preflight is answered before
    # authentication and /_mock's access control, and every answer carries the headers.
    origins = cors_origins(state.settings)
    if origins is not None:
        app.wrap(cors_layer(origins))
    return app


def make_state(settings: Settings, store: Store | None, spec: Spec | None) -> FakeState:
    """Every part of one fake, built from ``settings`` (``store``, ``spec``: given ones)."""
    spec = spec or load_spec(str(settings.spec) if settings.spec else None)
    store = store if store is not None else make_store(settings)
    signer = TicketSigner(settings.signing_secret())
    renderer = Renderer(spec)
    return FakeState(
        settings=settings,
        spec=spec,
        store=store,
        renderer=renderer,
        # Built once for all operations: it compiles a validator per documented response.
        checker=ResponseChecker(spec) if settings.validate_responses else None,
        signer=signer,
        # What was rendered for a forgotten sandbox goes with it.
        boxes=make_boxes(
            settings, store, spec, signer, lambda box: renderer.forget(box.store.events)
        ),
        admin_token=admin_token_for(settings),  # printed by `serve` when it made one
        public_url=public_base(settings.public_url),
    )


def make_store(settings: Settings) -> Store:
    """A store holding the fixture file of ``settings``, or data generated from its seed."""
    if settings.fixtures is not None:
        path = settings.fixtures
        load_fixture_file(path)  # fail now, with file, path and reason, not on first reset

        def load() -> Dataset:
            dataset = load_fixture_file(path)
            # --token names the token of the default (first) organizer.
            if settings.token:
                dataset.organizers[0].token = settings.token
            return dataset

        return Store(load)
    sizes = Sizes.from_settings(settings)
    return Store(lambda: generate(settings.seed, sizes, settings.organizer_tokens()))


def make_boxes(settings: Settings, store: Store, spec: Spec, signer: TicketSigner,
               forgotten: Callable[[Box], None] | None = None) -> Boxes:  # fmt: skip
    """The default box around ``store``, and the factory of sandboxes (see ``sandbox.py``)."""
    operations = {op.operation_id for op in spec.operations}
    try:
        rules = parse_rules(settings.faults, operations)
        if settings.latency:
            rules.insert(0, parse_rule(f"latency={settings.latency}", operations))
        if len(rules) > MAX_RULES:  # counted once, --latency included: FaultPlan holds them all
            raise ValueError(f"at most {MAX_RULES} rules, --latency counting as one; "
                             f"got {len(rules)}")  # fmt: skip
    except ValueError as exc:
        raise ValueError(f"--fault/--latency ({ENV_PREFIX}FAULTS/LATENCY): {exc}") from None
    limit = startup_limit(settings)
    limits = Limits.from_settings(settings)

    def box(store: Store, signer: TicketSigner, token: str | None, seed: int) -> Box:
        return Box(store, signer, token=token, journal_max=settings.journal_max,
                   faults=FaultPlan(rules, seed), rate_limit=limit, limits=limits)  # fmt: skip

    def sandbox(token: str) -> Box:
        seed = sandbox_seed(token)
        own = make_store(replace(settings, token=token, seed=seed, organizers=1))
        return box(own, signer.for_box(sandbox_id(token)), token, seed)

    return Boxes(box(store, signer, None, settings.seed), settings.sandbox_prefix,
                 settings.max_sandboxes, sandbox, forgotten=forgotten,
                 idle_seconds=limits.idle_seconds)  # fmt: skip
