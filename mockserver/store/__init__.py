"""The fake's state: domain objects, data generation, fixtures. No HTTP here."""

from __future__ import annotations

from .clock import Clock
from .fixtures import FixtureError, dataset_from_json, dataset_to_json, load_fixture_file
from .generate import Dataset, Sizes, generate
from .store import NewParticipant, Page, Purchase, Store

__all__ = [
    "Clock",
    "Dataset",
    "FixtureError",
    "NewParticipant",
    "Page",
    "Purchase",
    "Sizes",
    "Store",
    "dataset_from_json",
    "dataset_to_json",
    "generate",
    "load_fixture_file",
]
