"""pytest plugin of goevent-mock (fixtures are being written)."""

from __future__ import annotations
