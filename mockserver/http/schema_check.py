"""JSON Schemas compiled once into plain Python predicates, for the hot path.

``compile_check(schema)`` returns a function that answers exactly what
``Draft202012Validator(schema, format_checker=FormatChecker()).is_valid(x)``
answers, for the JSON values ``orjson.loads`` produces, at a fraction of the
cost (no validator objects, no error objects, no reference resolution per
call). It handles the keywords the spec's request schemas use; for a schema
with any other keyword it returns ``None`` and the caller keeps jsonschema.

Callers use it to accept good input fast; bad input still goes through
jsonschema, which explains what is wrong (see :mod:`.validation`).

>>> check = compile_check({"type": "integer", "minimum": 1, "maximum": 100})
>>> check(20), check(0), check(2.0), check(True)
(True, False, True, False)
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from ..schema import whole_value_pattern

__all__ = ["Check", "compile_check"]

Check = Callable[[Any], bool]

# Keywords that never change whether a value is valid.
_ANNOTATIONS = frozenset({
    "title", "description", "examples", "example", "default", "deprecated", "readOnly",
    "writeOnly", "$comment", "nullable", "discriminator", "xml", "externalDocs",
})  # fmt: skip
_SUPPORTED = frozenset({
    "type", "properties", "required", "additionalProperties", "items", "minItems", "maxItems",
    "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength",
    "pattern", "oneOf", "anyOf", "allOf", "uniqueItems",
})  # fmt: skip


def _is_integer(x: Any) -> bool:
    # Draft 2020-12: 2.0 is an integer; a bool is never a number.
    t = type(x)
    return t is int or (t is float and x.is_integer())


def _is_number(x: Any) -> bool:
    t = type(x)
    return t is int or t is float


_TYPES: dict[str, Check] = {
    "integer": _is_integer,
    "number": _is_number,
    "string": lambda x: type(x) is str,
    "boolean": lambda x: type(x) is bool,
    "null": lambda x: x is None,
    "object": lambda x: type(x) is dict,
    "array": lambda x: type(x) is list,
}


class _Unsupported(Exception):
    pass


def compile_check(schema: Any) -> Check | None:
    """A predicate equal to jsonschema's verdict on ``schema``, or None if ``schema`` is not
    in the supported subset."""
    try:
        return _compile(schema)
    except _Unsupported:
        return None


def _compile(schema: Any) -> Check:
    if schema is True or schema == {}:
        return lambda x: True
    if schema is False:
        return lambda x: False
    if not isinstance(schema, dict):
        raise _Unsupported(schema)
    for key in schema:
        if key not in _SUPPORTED and key not in _ANNOTATIONS and not key.startswith("x-"):
            raise _Unsupported(key)
    fast = _scalar(schema) or _object(schema) or _array(schema)
    if fast is not None:
        return fast
    checks: list[Check] = []
    kind = schema.get("type")
    if kind is not None:
        kinds = [kind] if isinstance(kind, str) else kind
        if not isinstance(kinds, list) or any(k not in _TYPES for k in kinds):
            raise _Unsupported(kind)
        tests = [_TYPES[k] for k in kinds]
        checks.append(tests[0] if len(tests) == 1 else lambda x: any(t(x) for t in tests))
    checks += _number_checks(schema) + _string_checks(schema)
    checks += _object_checks(schema) + _array_checks(schema)
    for key in ("allOf", "anyOf", "oneOf"):
        if key in schema:
            checks.append(_combine(key, [_compile(s) for s in schema[key]]))
    if not checks:
        return lambda x: True
    if len(checks) == 1:
        return checks[0]

    def every(x: Any) -> bool:
        # A loop, not all(<generator>): no generator frame per call on the hot path.
        for check in checks:  # noqa: SIM110
            if not check(x):
                return False
        return True

    return every


def _scalar(schema: dict[str, Any]) -> Check | None:
    """One closure for the query and path parameters' shapes: an integer within bounds,
    a string of bounded length matching a pattern (an ObjectId). None for anything else."""
    keys = {k for k in schema if k not in _ANNOTATIONS and not k.startswith("x-")}
    kind = schema.get("type")
    if kind == "integer" and keys <= {"type", "minimum", "maximum"}:
        low, high = schema.get("minimum"), schema.get("maximum")
        if not all(b is None or _is_number(b) for b in (low, high)):
            return None
        low = float("-inf") if low is None else low
        high = float("inf") if high is None else high
        return lambda x: _is_integer(x) and low <= x <= high
    if kind == "string" and keys <= {"type", "minLength", "maxLength", "pattern"}:
        shortest, longest = schema.get("minLength", 0), schema.get("maxLength")
        longest = float("inf") if longest is None else longest
        search = whole_value_pattern(schema.get("pattern", "")).search
        return lambda x: type(x) is str and shortest <= len(x) <= longest and bool(search(x))
    return None


def _cost(schema: Any) -> int:
    """A rough order of checking cost: scalars, then objects, then arrays."""
    kind = schema.get("type") if isinstance(schema, dict) else None
    return {"object": 1, "array": 2}.get(kind, 0) if isinstance(kind, str) else 1


def _object(schema: dict[str, Any]) -> Check | None:
    """One closure for an object with known properties (the request bodies): cheap tests
    first (type, required keys, unknown keys), then the properties, cheapest first, so
    a form of a oneOf that does not fit is refused before its arrays are walked."""
    keys = {k for k in schema if k not in _ANNOTATIONS and not k.startswith("x-")}
    if schema.get("type") != "object" or not keys <= {
        "type", "properties", "required", "additionalProperties"
    }:  # fmt: skip
        return None
    extra = schema.get("additionalProperties", True)
    if extra is not True and extra is not False:
        return None
    required = tuple(schema.get("required", ()))
    props = schema.get("properties", {})
    order = sorted(props, key=lambda name: _cost(props[name]))
    checks = tuple((name, _compile(props[name])) for name in order)
    closed = extra is False
    names = frozenset(props)

    def check(x: Any) -> bool:
        if type(x) is not dict:
            return False
        for name in required:
            if name not in x:
                return False
        if closed and not names.issuperset(x):
            return False
        for name, sub in checks:  # noqa: SIM110  (a loop: no generator frame per call)
            if name in x and not sub(x[name]):
                return False
        return True

    return check


def _array(schema: dict[str, Any]) -> Check | None:
    """One closure for an array of bounded length whose items share a schema."""
    keys = {k for k in schema if k not in _ANNOTATIONS and not k.startswith("x-")}
    allowed = {"type", "items", "minItems", "maxItems", "uniqueItems"}
    if schema.get("type") != "array" or not keys <= allowed:
        return None
    low, high = schema.get("minItems", 0), schema.get("maxItems")
    high = float("inf") if high is None else high
    item = _compile(schema.get("items", True))
    unique = schema.get("uniqueItems") is True

    def check(x: Any) -> bool:
        if type(x) is not list or not low <= len(x) <= high:
            return False
        for value in x:  # a loop: no generator frame per call
            if not item(value):
                return False
        return not unique or len(x) < 2 or len({_frozen(v) for v in x}) == len(x)

    return check


def _frozen(value: Any) -> Any:
    """A hashable value equal to another exactly when JSON Schema calls them equal
    (1 equals 1.0; true never equals 1; object keys in any order)."""
    if type(value) is dict:
        return frozenset((k, _frozen(v)) for k, v in value.items())
    if type(value) is list:
        return ("list", tuple(_frozen(v) for v in value))
    if type(value) is bool:
        return ("bool", value)
    return value


def _combine(key: str, subs: list[Check]) -> Check:
    def all_of(x: Any) -> bool:
        return all(s(x) for s in subs)

    def any_of(x: Any) -> bool:
        return any(s(x) for s in subs)

    def one_of(x: Any) -> bool:
        return sum(1 for s in subs if s(x)) == 1

    return {"allOf": all_of, "anyOf": any_of, "oneOf": one_of}[key]


_BOUNDS: dict[str, Callable[[Any, Any], bool]] = {
    "minimum": operator.ge,
    "maximum": operator.le,
    "exclusiveMinimum": operator.gt,
    "exclusiveMaximum": operator.lt,
}


def _number_checks(schema: dict[str, Any]) -> list[Check]:
    out: list[Check] = []
    for key, ok in _BOUNDS.items():
        if key in schema:
            bound = schema[key]
            if not _is_number(bound):
                raise _Unsupported(key)
            out.append(_bound(ok, bound))
    return out


def _bound(ok: Callable[[Any, Any], bool], bound: Any) -> Check:
    # Bounds apply to numbers only; anything else is the "type" keyword's business.
    return lambda x: not _is_number(x) or ok(x, bound)


def _string_checks(schema: dict[str, Any]) -> list[Check]:
    out: list[Check] = []
    low, high = schema.get("minLength"), schema.get("maxLength")
    if low is not None:
        out.append(lambda x: type(x) is not str or len(x) >= low)
    if high is not None:
        out.append(lambda x: type(x) is not str or len(x) <= high)
    if "pattern" in schema:
        # search, as jsonschema does: a pattern is not anchored unless it says so.
        search = whole_value_pattern(schema["pattern"]).search
        out.append(lambda x: type(x) is not str or search(x) is not None)
    return out


def _object_checks(schema: dict[str, Any]) -> list[Check]:
    out: list[Check] = []
    required = list(schema.get("required", []))
    if required:
        out.append(lambda x: type(x) is not dict or all(k in x for k in required))
    props = {name: _compile(sub) for name, sub in schema.get("properties", {}).items()}
    if props:

        def properties(x: Any) -> bool:
            if type(x) is not dict:
                return True
            for name, value in x.items():
                check = props.get(name)
                if check is not None and not check(value):
                    return False
            return True

        out.append(properties)
    extra = schema.get("additionalProperties", True)
    if extra is False:
        out.append(lambda x: type(x) is not dict or all(k in props for k in x))
    elif extra is not True:
        other = _compile(extra)
        out.append(
            lambda x: type(x) is not dict or all(other(v) for k, v in x.items() if k not in props)
        )
    return out


def _array_checks(schema: dict[str, Any]) -> list[Check]:
    out: list[Check] = []
    low, high = schema.get("minItems"), schema.get("maxItems")
    if low is not None:
        out.append(lambda x: type(x) is not list or len(x) >= low)
    if high is not None:
        out.append(lambda x: type(x) is not list or len(x) <= high)
    if "items" in schema:
        item = _compile(schema["items"])
        out.append(lambda x: type(x) is not list or all(item(v) for v in x))
    if schema.get("uniqueItems") is True:
        out.append(lambda x: type(x) is not list or len({_frozen(v) for v in x}) == len(x))
    return out
