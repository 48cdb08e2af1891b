"""HTTP: the Starlette app, request validation, rendering, control endpoints."""

from __future__ import annotations

from .app import create_app, make_store

__all__ = ["create_app", "make_store"]
