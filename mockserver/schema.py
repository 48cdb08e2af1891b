"""JSON Schema as the spec means it: ECMA-262 patterns, formats checked.

jsonschema's own ``pattern`` uses Python's ``re.search``, whose ``$`` also matches
before a final newline: ``"Doe\\n"`` would pass ``^[^\\u0000-\\u001F]+$``. ECMA-262's
``$`` (what JSON Schema means) does not. Every validator the fake builds, of a
request, a fixture file or its own answers, comes from :func:`validator`, and the
compiled checks of the hot path (``http/schema_check.py``) use the same
:func:`whole_value_pattern`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Any

__all__ = ["validator", "whole_value_pattern"]


@cache
def whole_value_pattern(pattern: str) -> re.Pattern[str]:
    """A JSON Schema ``pattern`` compiled with ECMA-262's ``$``: the end of the value.

    Python's ``$`` also matches before a final newline, so ``^[a-z]+$`` would accept
    ``"abc\\n"``; every ``$`` outside a character class and not escaped becomes ``\\Z``.

    >>> bool(whole_value_pattern("^[a-z]+$").search("abc\\n"))
    False
    """
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            # "[]..." and "[^]...": a "]" first in a class is a member, not its end.
            lead = 2 if pattern.startswith("^", i + 1) else 1
            if pattern.startswith("]", i + lead):
                out.append(pattern[i : i + lead + 1])
                i += lead + 1
                continue
        elif char == "$":
            char = "\\Z"
        out.append(char)
        i += 1
    return re.compile("".join(out))


def _whole_value(validator: Any, pattern: str, instance: Any, schema: Mapping[str, Any]) -> Any:
    if isinstance(instance, str) and not whole_value_pattern(pattern).search(instance):
        from jsonschema.exceptions import ValidationError

        yield ValidationError(f"{instance!r} does not match {pattern!r}")


@cache
def _validator_class() -> Any:
    """Draft 2020-12 with ECMA-262's ``$``, and a format checker. Imported on first use:
    jsonschema alone takes ~0.15 s to import, a third of the time from ``serve`` to its
    first answer, and good requests never need it (``http/schema_check.py``)."""
    from jsonschema import Draft202012Validator, FormatChecker
    from jsonschema.validators import extend

    cls = extend(Draft202012Validator, {"pattern": _whole_value})  # type: ignore[no-untyped-call]
    return cls, FormatChecker()


def validator(schema: Mapping[str, Any]) -> Any:
    """A Draft 2020-12 validator of ``schema``: ECMA-262 patterns, formats checked."""
    cls, formats = _validator_class()
    return cls(schema, format_checker=formats)
