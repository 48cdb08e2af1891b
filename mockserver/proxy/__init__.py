"""``goevent-mock proxy``: a validating reverse proxy that can record what it sees as a fixture.

>>> from mockserver.proxy import ProxyOptions, create_proxy_app
>>> app = create_proxy_app(ProxyOptions("http://127.0.0.1:8000/developers/v1.0"))  # doctest: +SKIP
"""

from __future__ import annotations

from .app import ProxyApp, ProxyOptions, create_proxy_app

__all__ = ["ProxyApp", "ProxyOptions", "create_proxy_app"]
