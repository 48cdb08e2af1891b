"""The compiled checks of http/schema_check.py give jsonschema's verdict, value for value
(jsonschema with the fake's whole-value ``pattern``: ECMA-262's ``$``).

The fake accepts good requests with a compiled predicate and leaves bad ones
to jsonschema (which writes the error message). A predicate that accepted a
value jsonschema refuses would let bad input in; one that refused a good
value would only cost time. Both are checked here, on every schema of the
spec, with the spec's own examples and every one-step mutation of them.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Any

import pytest

from mockserver.http.schema_check import compile_check
from mockserver.schema import validator
from mockserver.spec import load_spec

SPEC = load_spec()
OID = "0123456789abcdef01234567"

# Values that sit on the edges of the spec's keywords: types, bounds, lengths, patterns.
EDGES: list[Any] = [
    None, True, False, 0, 1, -1, 2.0, 2.5, 1000, 1001, 1e3, 1_000_000_000, 1_000_000_001,
    "", "x", "2", OID, OID.upper(), OID + "\n", OID[:-1], OID + "0", "a@b", "@",
    "[email protected]", "Jo\u0000hn", "Jo\nhn", "é" * 100, "é" * 101, "+33 (0) 1.2-3",
    "+33 x", "1" * 32, "1" * 33, [], [{}], {}, {"participantId": OID},
    {"ticket_id": OID, "quantity": 1}, [{"ticket_id": OID, "quantity": 1}] * 51,
]  # fmt: skip


def schemas() -> Iterator[tuple[str, Any]]:
    for op in SPEC.operations:
        if op.request_schema is not None:
            yield f"{op.operation_id} body", op.request_schema
        for p in op.parameters:
            yield f"{op.operation_id} {p.location}.{p.name}", p.schema
    yield from SPEC.resolved["components"]["schemas"].items()


def examples() -> list[Any]:
    found: list[Any] = []
    for op in SPEC.operations:
        media = (op.raw.get("requestBody") or {}).get("content", {})
        for content in media.values():
            found += [e["value"] for e in (content.get("examples") or {}).values()]
    return found


def mutations(value: Any) -> Iterator[Any]:
    """``value`` itself, then each value one change away: a part replaced by an edge
    value, a key removed, a key added, an item dropped or repeated."""
    yield value
    for path in _paths(value):
        for edge in EDGES:
            yield _set(value, path, edge)
        parent = _get(value, path[:-1]) if path else None
        if isinstance(parent, dict):
            changed = copy.deepcopy(value)
            del _get(changed, path[:-1])[path[-1]]
            yield changed
        if isinstance(parent, list):
            changed = copy.deepcopy(value)
            _get(changed, path[:-1]).append(copy.deepcopy(parent[path[-1]]))
            yield changed
            changed = copy.deepcopy(value)
            del _get(changed, path[:-1])[path[-1]]
            yield changed
    for path in [(), *_paths(value)]:
        if isinstance(_get(value, path), dict):
            changed = copy.deepcopy(value)
            _get(changed, path)["unexpected"] = 1
            yield changed


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else []
    )
    for key, sub in items:
        yield (*prefix, key)
        yield from _paths(sub, (*prefix, key))


def _get(value: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        value = value[key]
    return value


def _set(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return copy.deepcopy(new)
    changed = copy.deepcopy(value)
    _get(changed, path[:-1])[path[-1]] = copy.deepcopy(new)
    return changed


@pytest.mark.parametrize(("name", "schema"), list(schemas()), ids=[n for n, _ in schemas()])
def test_the_compiled_check_agrees_with_jsonschema(name: str, schema: Any) -> None:
    check = compile_check(schema)
    reference = validator(schema)
    if check is None:
        # Only a schema with a keyword outside the compiled subset keeps jsonschema alone.
        assert "format" in str(schema) or "enum" in str(schema) or "const" in str(schema), name
        return
    values = [*EDGES, *[m for e in examples() for m in mutations(e)]]
    for value in values:
        assert check(value) is reference.is_valid(value), (name, value)


def test_the_request_schemas_are_compiled() -> None:
    """The hot path really is compiled: the body and every parameter of the five operations."""
    for op in SPEC.operations:
        if op.request_schema is not None:
            assert compile_check(op.request_schema) is not None, op.operation_id
        for p in op.parameters:
            assert compile_check(p.schema) is not None, (op.operation_id, p.name)


def test_the_examples_of_the_document_are_accepted_and_their_mutations_judged() -> None:
    schema = SPEC.operation("createTickets").request_schema
    assert schema is not None
    check = compile_check(schema)
    assert check is not None
    bodies = examples()
    assert len(bodies) == 3
    assert all(check(b) for b in bodies)
    verdicts = {check(m) for b in bodies for m in mutations(b)}
    assert verdicts == {True, False}


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "string", "format": "date-time"},
        {"enum": [1, 2]},
        {"const": 1},
        {"type": "object", "patternProperties": {"^x": {}}},
        {"$ref": "#/components/schemas/ObjectId"},
        {"type": "integer", "multipleOf": 2},
    ],
)
def test_a_schema_outside_the_compiled_subset_is_left_to_jsonschema(schema: Any) -> None:
    assert compile_check(schema) is None


def _patterns(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("pattern"), str):
            yield node["pattern"]
        for value in node.values():
            yield from _patterns(value)
    elif isinstance(node, list):
        for value in node:
            yield from _patterns(value)


def test_a_trailing_newline_fails_every_pattern_of_the_spec() -> None:
    """Independent of the code under test: a value that ``re.fullmatch`` accepts, with a
    newline added, must fail the compiled check and the validator alike (ECMA-262's "$")."""
    candidates = [OID, "jazz-club-night", "/jazz-club-night", "2024-01-01T00:00:00.000Z",
                  "Doe", "+33 1 00", "NOT_FOUND", "key-1", "jane@example.com"]  # fmt: skip
    patterns = sorted(set(_patterns(SPEC.resolved)))
    assert len(patterns) >= 8
    for pattern in patterns:
        value = next((c for c in candidates if re.fullmatch(pattern, c)), None)
        assert value is not None, f"no candidate matches {pattern!r}: add one"
        schema = {"type": "string", "pattern": pattern}
        check = compile_check(schema)
        assert check is not None
        assert check(value)
        assert validator(schema).is_valid(value)
        assert not check(value + "\n"), pattern
        assert not validator(schema).is_valid(value + "\n"), pattern
