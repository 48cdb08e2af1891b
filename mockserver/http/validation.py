"""Request validation against the spec, compiled once per operation.

Every failure becomes a :class:`~mockserver.errors.BadRequest` whose message
says where the problem is, what was wrong and what is allowed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

import orjson

from ..errors import BadRequest, InvalidJSON
from ..schema import validator as _validator
from ..spec import Operation, Parameter
from ..store.fixtures import deeper_than
from .schema_check import Check, compile_check

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError

__all__ = ["OperationValidator", "describe_value"]

# The deepest body worth explaining; Create Tickets' own bodies are 3 levels deep.
MAX_DEPTH = 32
_INTEGER = re.compile(r"[+-]?[0-9]+(?:\.0+)?")
# More digits than any bound of the spec: left a string (a 400), never given to int(),
# which refuses 4,301 digits and more with a ValueError (a 500).
_MAX_DIGITS = 30


def _best_match(errors: Any, key: Any = None) -> ValidationError | None:
    from jsonschema.exceptions import best_match

    found: ValidationError | None = best_match(errors, key=key) if key else best_match(errors)
    return found


_TYPE_NAMES = {
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "boolean": "true or false",
    "object": "a JSON object",
    "array": "a JSON array",
    "null": "null",
}


def describe_value(value: Any, limit: int = 60) -> str:
    """A short rendering of a bad value for an error message: never echoes megabytes."""
    text = orjson.dumps(value).decode()
    return text if len(text) <= limit else text[:limit] + "…"


def _where(prefix: str, path: Any) -> str:
    out = prefix
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _allowed(schema: Mapping[str, Any]) -> str:
    """What a schema allows, in words: "an integer between 1 and 100"."""
    kind = schema.get("type")
    if kind == "integer" or kind == "number":
        noun = _TYPE_NAMES[kind]
        low, high = schema.get("minimum"), schema.get("maximum")
        if low is not None and high is not None:
            return f"{noun} between {low} and {high}"
        if low is not None:
            return f"{noun} of at least {low}"
        if high is not None:
            return f"{noun} of at most {high}"
        return noun
    if "pattern" in schema and schema.get("description"):
        sentence = str(schema["description"]).split(".")[0].strip()
        words = sentence[:1].lower() + sentence[1:]
        lengths = _lengths(schema)
        # "24 lowercase hexadecimal characters" already says the ObjectId's length.
        said = str(schema.get("maxLength", schema.get("minLength"))) in words
        return f"{words}, {lengths} long" if lengths and not said else words
    if kind == "string":
        parts = ["a string"]
        lengths = _lengths(schema)
        if lengths:
            parts.append(f"of {lengths}")
        if "pattern" in schema:
            parts.append(f"matching {schema['pattern']}")
        return " ".join(parts)
    if isinstance(kind, str):
        return _TYPE_NAMES.get(kind, kind)
    return "a value that fits the schema"


def _lengths(schema: Mapping[str, Any]) -> str:
    """The length limits of a string schema in words: "1 to 100 characters"."""
    low, high = schema.get("minLength"), schema.get("maxLength")
    if low is not None and high is not None:
        return f"{low} characters" if low == high else f"{low} to {high} characters"
    if high is not None:
        return f"at most {high} characters"
    if low is not None:
        return f"at least {low} characters"
    return ""


def _repeated(items: list[Any]) -> tuple[int, int]:
    """The first pair (i, j), i < j, of equal items, as JSON Schema counts equality."""
    for j, item in enumerate(items):
        for i in range(j):
            if _validator({"const": items[i]}).is_valid(item):
                return i, j
    return 0, 0


def _message(error: ValidationError, prefix: str) -> tuple[str, str]:
    """(message, field) for one jsonschema error."""
    where = _where(prefix, error.absolute_path)
    keyword, value, expected = (
        error.validator,
        cast(Any, error.instance),
        cast(Any, error.validator_value),
    )
    schema: Mapping[str, Any] = error.schema if isinstance(error.schema, Mapping) else {}
    if keyword == "required":
        missing = [name for name in expected if name not in value]
        field = f"{where}.{missing[0]}" if missing else where
        return f"{field} is required", field
    if keyword == "additionalProperties":
        allowed = ", ".join(schema.get("properties", {})) or "none"
        extra = sorted(set(value) - set(schema.get("properties", {})))
        field = f"{where}.{extra[0]}" if extra else where
        return f"{field} is not allowed here; allowed fields: {allowed}", field
    if keyword in ("minItems", "maxItems"):
        low, high = schema.get("minItems", 0), schema.get("maxItems")
        span = f"between {low} and {high}" if high is not None else f"at least {low}"
        return f"{where} must hold {span} items, got {len(value)}", where
    if keyword == "uniqueItems":
        first, again = _repeated(value)
        field = f"{where}[{again}]"
        return f"{field} repeats {where}[{first}]; every item must differ", field
    if keyword in ("minLength", "maxLength") and isinstance(value, str):
        return (
            f"{where} must be {_allowed(schema)}, got {describe_value(value)} "
            f"({len(value)} characters)"
        ), where
    if keyword in (
        "type",
        "minimum",
        "maximum",
        "pattern",
        "minLength",
        "maxLength",
        "format",
        "exclusiveMinimum",
        "exclusiveMaximum",
    ):
        return f"{where} must be {_allowed(schema)}, got {describe_value(value)}", where
    if keyword == "oneOf" and isinstance(value, dict):
        return (
            f"{where} does not match any of the allowed forms "
            f"({', '.join(s.get('title', '?') for s in schema['oneOf'])})"
        ), where
    return f"{where}: {error.message}", where


def _coerce(param: Parameter, raw: str) -> Any:
    kind = param.schema.get("type")
    if kind == "integer" and len(raw) > _MAX_DIGITS:
        return raw
    if kind == "integer" and raw.isascii() and raw.isdigit():
        return int(raw)  # the common case, without the regular expression
    if kind == "integer" and _INTEGER.fullmatch(raw):
        # Whole floats ("2.0") are integers in JSON Schema; Schemathesis sends them.
        return int(raw.split(".")[0])
    if kind == "boolean" and raw in ("true", "false"):
        return raw == "true"
    return raw


class _CompiledParameter:
    """One query or path parameter, with everything a request needs worked out once."""

    __slots__ = ("check", "default", "field", "has_default", "in_path", "label", "name",
                 "param", "required", "validator")  # fmt: skip

    def __init__(self, param: Parameter) -> None:
        self.param = param
        self.validator: Any = None  # jsonschema's, made on the first refusal
        self.name, self.required = param.name, param.required
        self.in_path = param.location == "path"
        self.field = f"{param.location}.{param.name}"
        self.label = f'{param.location} parameter "{param.name}"'
        self.has_default = "default" in param.schema
        self.default = param.schema.get("default")
        # A compiled check accepts good values fast (an integer within bounds, an
        # ObjectId); jsonschema has the last word on any value it refuses.
        self.check: Check | None = compile_check(param.schema)

    def invalid(self, value: Any) -> bool:
        validator = self.validator
        if validator is None:
            validator = self.validator = _validator(self.param.schema)
        return _best_match(validator.iter_errors(value)) is not None


class OperationValidator:
    """Checks one operation's parameters and body; built once, used for every request."""

    def __init__(self, operation: Operation) -> None:
        self.operation = operation
        self._params = [
            _CompiledParameter(p) for p in operation.parameters if p.location in ("query", "path")
        ]
        self._schema = operation.request_schema
        # Good bodies are accepted by a compiled check; bad ones still go through
        # jsonschema, which says what is wrong (its validators made on the first refusal).
        self._body_check = compile_check(self._schema) if self._schema else None
        self._refusals: tuple[Any, list[tuple[Mapping[str, Any], Any]]] | None = None

    def _explainers(self) -> tuple[Any, list[tuple[Mapping[str, Any], Any]]]:
        """jsonschema's validator of the body, and of each form of a oneOf body (Create
        Tickets' three), to explain a refusal against the form the client most likely meant."""
        if self._refusals is None:
            schema = self._schema or {}
            forms = [(form, _validator(form)) for form in schema.get("oneOf", [])]
            self._refusals = (_validator(schema), forms)
        return self._refusals

    def parameters(self, query: Mapping[str, list[str]], path: Mapping[str, str]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for c in self._params:
            name = c.name
            raws = ([path[name]] if name in path else []) if c.in_path else query.get(name, [])
            if len(raws) != 1:
                if not raws:
                    if c.required:
                        raise BadRequest(f"{c.label} is required", field=c.field)
                    if c.has_default:
                        values[name] = c.default
                    continue
                raise BadRequest(
                    f"{c.label} is given {len(raws)} times; give it once", field=c.field
                )
            value = _coerce(c.param, raws[0])
            if not (c.check is not None and c.check(value)) and c.invalid(value):
                raise BadRequest(
                    f"{c.label} must be {_allowed(c.param.schema)}, got {describe_value(raws[0])}",
                    field=c.field,
                )
            values[name] = value
        return values

    def body(self, raw: bytes, content_type: str | None) -> Any:
        if self._schema is None:
            return None
        if content_type and "json" not in content_type.split(";")[0].lower():
            raise BadRequest(
                f"Content-Type must be application/json, got {describe_value(content_type)}",
                field="header.Content-Type",
                code="UNSUPPORTED_CONTENT_TYPE",
            )
        if not raw.strip():
            raise BadRequest("the request body is empty; send a JSON object", field="body")
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise InvalidJSON(f"the request body is not valid JSON: {exc}", field="body") from exc
        if not isinstance(body, dict):
            raise BadRequest(
                f"the request body must be a JSON object, got {_json_kind(body)}", field="body"
            )
        if self._body_check is not None and self._body_check(body):
            return body
        # Explaining a refusal walks the body recursively (jsonschema, the forms' scoring,
        # describe_value): a body nested 1000 deep would end in a RecursionError, a 500.
        if deeper_than(body, MAX_DEPTH):
            raise BadRequest(
                f"the request body is nested more than {MAX_DEPTH} levels deep", field="body"
            )
        whole, forms = self._explainers()
        error = _best_match(whole.iter_errors(body), key=_relevance)
        if error is None:
            return body
        if forms:
            scored = [
                (_unknown_keys(form, body), len(errors), errors)
                for form, validator in forms
                for errors in [list(validator.iter_errors(body))]
            ]
            errors = min(scored, key=lambda s: (s[0], s[1]))[2]
            error = _best_match(errors, key=_relevance) or error
        message, field = _message(error, "body")
        raise BadRequest(message, field=field)


def _unknown_keys(schema: Mapping[str, Any], value: Any) -> int:
    """How many keys of ``value`` (at any depth) ``schema`` does not declare."""
    if isinstance(value, list):
        items = schema.get("items", {})
        return sum(_unknown_keys(items, v) for v in value)
    if not isinstance(value, dict) or "properties" not in schema:
        return 0
    props = schema["properties"]
    return sum(_unknown_keys(props[k], v) if k in props else 1 for k, v in value.items())


def _json_kind(value: Any) -> str:
    for kind, cls in (
        ("an array", list),
        ("a string", str),
        ("a boolean", bool),
        ("null", type(None)),
    ):
        if isinstance(value, cls):
            return kind
    return "a number"


def _relevance(error: ValidationError) -> tuple[int, int]:
    # Prefer deep errors over "does not match oneOf"; jsonschema's default key
    # prefers shallow ones, which only say "not valid under any given schema".
    return (-len(error.absolute_path), 0 if error.validator in ("oneOf", "anyOf") else 1)
