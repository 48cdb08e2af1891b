"""goevent-mock: a stateful fake of the GoEvent Developers API v1.0.

>>> from mockserver import Settings, create_app
>>> app = create_app(Settings(seed=7))
"""

from __future__ import annotations

from .http import create_app, make_store
from .settings import DEFAULT_TOKEN, Settings
from .spec import Spec, load_spec
from .store import Store

__all__ = ["DEFAULT_TOKEN", "Settings", "Spec", "Store", "create_app", "load_spec", "make_store"]
__version__ = "0.1.0"
