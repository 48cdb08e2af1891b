"""Step 1, authenticate: the bearer token of a request.

The rule for several ``Authorization`` headers lives here, once
(:func:`one_authorization`), for the GoEvent operations and any layer in front of
``/_mock`` alike: a request carries exactly one, else it is refused with 401.
"""

from __future__ import annotations

from collections.abc import Iterable

from ...errors import Unauthorized

__all__ = ["EXTRA_HEADERS", "authorization", "bearer_token", "one_authorization", "read_headers"]

# The request headers the fake's tools read, besides Authorization.
EXTRA_HEADERS = frozenset((b"x-mock-fault", b"x-mock-latency", b"idempotency-key"))


def one_authorization(values: list[bytes]) -> bytes | None:
    """The one ``Authorization`` header among ``values`` (None if there is none); more than
    one is refused: which of them would count is anyone's guess."""
    if len(values) > 1:
        raise Unauthorized(
            f"exactly one Authorization header is allowed; this request has {len(values)}"
        )
    return values[0] if values else None


def authorization(headers: Iterable[tuple[bytes, bytes]]) -> bytes | None:
    """The ``Authorization`` header of ASGI ``headers`` (see :func:`one_authorization`)."""
    return one_authorization([value for name, value in headers if name == b"authorization"])


def read_headers(
    raw: Iterable[tuple[bytes, bytes]],
) -> tuple[bytes | None, list[bytes] | None, dict[bytes, bytes] | None]:
    """One pass over the request headers: the (first) Authorization, every Authorization
    when there are several (else None), and the few headers the fake's tools read."""
    auth: bytes | None = None
    several: list[bytes] | None = None
    extra: dict[bytes, bytes] | None = None
    for name, value in raw:
        if name == b"authorization":
            if auth is None:
                auth = value
            else:
                several = [*(several or [auth]), value]
        elif name in EXTRA_HEADERS:
            extra = extra or {}
            extra[name] = value
    return auth, several, extra


def bearer_token(header: bytes | None, several: list[bytes] | None = None) -> str:
    """The token of ``Authorization: Bearer <token>``, or 401 saying what is wrong."""
    if several is not None:
        one_authorization(several)
    if not header:
        raise Unauthorized('missing "Authorization: Bearer <token>" header')
    scheme, _, token = header.decode("latin-1").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized('the Authorization header must be "Bearer <token>"')
    return token.strip()
