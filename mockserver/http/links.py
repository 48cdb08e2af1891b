"""The base URL of the links the fake writes into answers (ticket URLs, ``baseUrl``).

Never the ``Host`` header: any client can send any ``Host``, and a link built from
it would send a ticket holder wherever the sender chose (docs/security.md). The
base is ``--public-url`` verbatim when it is set (the name clients reach the fake
by, e.g. ``http://goevent-mock:8000`` in a compose network), else the address the
fake serves the request on: the ASGI ``scope["server"]``, which the server takes
from the connection's own socket.

On a wildcard bind (``0.0.0.0``, ``::``) granian reports the wildcard itself, and
the fake writes loopback instead (``0.0.0.0`` means every address, and loopback is
the one sure to be this machine); set ``--public-url`` when clients reach the fake
by a name or from another container.

>>> served_base({"scheme": "http", "server": ("::1", 8000)})
'http://[::1]:8000'
>>> served_base({"scheme": "http", "server": ("0.0.0.0", 8000)})
'http://127.0.0.1:8000'
>>> public_base("http://goevent-mock:8000/")
'http://goevent-mock:8000'
"""

from __future__ import annotations

import functools
import ipaddress
from typing import Any
from urllib.parse import quote, urlsplit

from starlette.requests import Request
from starlette.types import Scope

from ..settings import ENV_PREFIX
from .state import fake_state

__all__ = ["base_url", "public_base", "served_base"]

_WILDCARD = {"0.0.0.0": "127.0.0.1", "::": "::1"}


def public_base(url: str | None) -> str | None:
    """``--public-url`` checked and without its trailing slash (None: not set).

    Raises ValueError, naming the flag, for a value that is not an http(s) base URL."""
    if not url:
        return None
    parts = urlsplit(url)
    if (parts.scheme not in ("http", "https") or not parts.hostname or parts.query
            or parts.fragment or parts.username is not None):  # fmt: skip
        raise ValueError(
            f"--public-url ({ENV_PREFIX}PUBLIC_URL): {url!r} is not a base URL; expected "
            "http(s)://host[:port][/prefix] with no query, fragment or user, "
            "e.g. http://goevent-mock:8000"
        )
    try:
        parts.port  # noqa: B018 -- raises ValueError for a port that is not a number
    except ValueError:
        raise ValueError(f"--public-url ({ENV_PREFIX}PUBLIC_URL): bad port in {url!r}") from None
    return url.rstrip("/")


def served_base(scope: Scope) -> str:
    """``scheme://host:port`` of the address the request was served on (``scope["server"]``),
    plus the server's root path; never the ``Host`` header."""
    server = scope.get("server")
    return _served_base(
        scope.get("scheme", "http"),
        tuple(server) if server is not None else None,
        scope.get("app_root_path", scope.get("root_path", "")),
    )


# Built once per address the fake serves on (a handful, all its own: not the client's
# to choose), not on every purchase.
@functools.lru_cache(maxsize=64)
def _served_base(scheme: str, server: tuple[Any, ...] | None, root: str) -> str:
    if server is None or str(server[0]).startswith("/"):  # a Unix socket: no address to give
        return f"{scheme}://localhost{root}"
    host, port = server[0], server[1]
    host = _WILDCARD.get(host, host)
    try:
        address = ipaddress.ip_address(host.partition("%")[0])
    except ValueError:
        address = None  # a name (an in-process transport reports the URL's host)
    if isinstance(address, ipaddress.IPv6Address):
        # A dual-stack socket reports an IPv4 client's connection as ::ffff:a.b.c.d.
        mapped = address.ipv4_mapped
        host = str(mapped) if mapped else f"[{quote(host, safe=':')}]"  # %zone as %25zone
    default = {"http": 80, "https": 443}.get(scheme)
    netloc = host if port is None or port == default else f"{host}:{port}"
    return f"{scheme}://{netloc}{root}"


def base_url(request: Request) -> str:
    """The base of the links in an answer to ``request``, without a trailing slash."""
    configured = fake_state(request).public_url
    return configured if configured is not None else served_base(request.scope)
