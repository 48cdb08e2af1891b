"""``goevent-mock proxy``: a validating reverse proxy that can record what it sees as a fixture.

>>> from mockserver.proxy import ProxyOptions, create_proxy_app
>>> app = create_proxy_app(ProxyOptions("http://127.0.0.1:8000/developers/v1.0"))  # doctest: +SKIP
"""

from __future__ import annotations

__all__ = ["ProxyApp", "ProxyOptions", "create_proxy_app"]


def __getattr__(name: str) -> object:
    # The app imports the drift kit (and Schemathesis, about a second): only when asked for,
    # so that `goevent-mock serve`, which imports this package's CLI, starts as fast as before.
    if name in __all__:
        from . import app

        return getattr(app, name)
    raise AttributeError(name)
