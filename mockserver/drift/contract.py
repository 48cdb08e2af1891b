"""The contract view of the spec: assumptions by key and operation, and closed response schemas.

Every ``x-goevent-assumption`` entry is ``{key, text}``: the kit's probes and
checks name the ``key`` (stable), people read the ``text`` (free to reword).

The published spec leaves response objects open (a client must tolerate new
fields). The contract view closes them, in memory only, so that a field the
API returns and the spec does not know is seen: "the API grew".
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator

from ..spec import Spec, load_spec

__all__ = ["Assumption", "Contract", "SpecError", "closed_schema", "load_contract"]


class SpecError(ValueError):
    """The spec's ``x-goevent-assumption`` entries are not what the kit can read."""


@dataclass(frozen=True, slots=True)
class Assumption:
    """One ``x-goevent-assumption``: its stable key, where the spec states it, and its text."""

    # "API", "operation listEvents", "schema Ticket", "parameter Page", "response TooManyRequests"
    where: str
    text: str
    key: str = ""

    @property
    def topic(self) -> str:
        """The words before the first ": " (``Ordering``, ``Missing or bad token``)."""
        head, sep, _ = self.text.partition(": ")
        return head if sep else self.text


def _read_assumptions(where: str, node: Any) -> list[Assumption]:
    """The ``x-goevent-assumption`` entries of ``node`` (a spec object), checked."""
    raw = node.get("x-goevent-assumption", []) if isinstance(node, dict) else []
    if not isinstance(raw, list):
        raise SpecError(f"{where}: x-goevent-assumption must be a list of {{key, text}}")
    out = []
    for entry in raw:
        if not (
            isinstance(entry, dict)
            and set(entry) == {"key", "text"}
            and all(isinstance(v, str) and v for v in entry.values())
        ):
            raise SpecError(
                f"{where}: x-goevent-assumption entry {entry!r} must be {{key: ..., text: ...}}"
            )
        out.append(Assumption(where, entry["text"], entry["key"]))
    return out


def closed_schema(node: Any) -> Any:
    """A copy of the schema ``node`` with every object that has properties, and no say on
    extra ones, closed (``additionalProperties: false``); ``node`` itself is unchanged.

    >>> closed_schema({"type": "object", "properties": {"id": {"type": "string"}}})
    {'type': 'object', 'properties': {'id': {'type': 'string'}}, 'additionalProperties': False}
    """
    if isinstance(node, dict):
        out = {k: closed_schema(v) for k, v in node.items()}
        says = "additionalProperties" in out or "unevaluatedProperties" in out
        if "properties" in out and not says:
            out["additionalProperties"] = False
        return out
    if isinstance(node, list):
        return [closed_schema(v) for v in node]
    return node


def _refs(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            found.add(ref)
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)


def _without_extensions(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` less the parameters marked ``x-goevent-extension`` (the fake's own)."""
    out = copy.deepcopy(document)
    for item in out.get("paths", {}).values():
        for node in [item, *(v for v in item.values() if isinstance(v, dict))]:
            if isinstance(node.get("parameters"), list):
                node["parameters"] = [
                    p for p in node["parameters"]
                    if not (isinstance(p, dict) and p.get("x-goevent-extension"))
                ]  # fmt: skip
    return out


class Contract:
    """What the kit knows of the spec, beyond what Schemathesis reads from it."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        doc = spec.document
        # What Schemathesis tests: the live API's contract, without the fake's extensions
        # (an Idempotency-Key the live API does not know would read as drift every night).
        self.document = _without_extensions(doc)
        self.assumptions: list[Assumption] = _read_assumptions("API", doc)
        components = doc.get("components", {})
        kinds = {"schemas": "schema", "parameters": "parameter", "responses": "response"}
        self._component_assumptions: dict[str, list[Assumption]] = {}
        for section, kind in kinds.items():
            for name, value in components.get(section, {}).items():
                items = _read_assumptions(f"{kind} {name}", value)
                self._component_assumptions[f"#/components/{section}/{name}"] = items
                self.assumptions += items
        self._by_operation: dict[str, list[Assumption]] = {}
        for op in spec.operations:
            own = _read_assumptions(f"operation {op.operation_id}", op.raw)
            self.assumptions += own
            raw = self._raw_operation(op.path, op.method.lower())
            reached = self._reachable(raw)
            inherited = [
                a for ref in sorted(reached) for a in self._component_assumptions.get(ref, [])
            ]
            self._by_operation[op.operation_id] = own + inherited
        keys = [a.key for a in self.assumptions]
        repeated = sorted({k for k in keys if keys.count(k) > 1})
        if repeated:
            raise SpecError(f"x-goevent-assumption keys must be unique; repeated: {repeated}")
        self.by_key: dict[str, Assumption] = {a.key: a for a in self.assumptions}
        self._closed: dict[tuple[str, str], Draft202012Validator] = {}

    def _raw_operation(self, path: str, method: str) -> dict[str, Any]:
        operation: dict[str, Any] = self.spec.document["paths"][path][method]
        return operation

    def _reachable(self, node: Any) -> set[str]:
        """Every component ``node`` refers to, directly or through other components."""
        seen: set[str] = set()
        todo: set[str] = set()
        _refs(node, todo)
        while todo:
            ref = todo.pop()
            if ref in seen or not ref.startswith("#/"):
                continue
            seen.add(ref)
            target: Any = self.spec.document
            for part in ref[2:].split("/"):
                target = target.get(part, {}) if isinstance(target, dict) else {}
            _refs(target, todo)
        return seen

    # -- assumptions -------------------------------------------------------

    def assumptions_for(self, operation_id: str) -> list[Assumption]:
        """The API-wide assumptions, then the operation's own, then those of what it uses."""
        api = [a for a in self.assumptions if a.where == "API"]
        return api + self._by_operation.get(operation_id, [])

    def find(self, operation_id: str | None, *keys: str) -> list[Assumption]:
        """The assumptions of ``operation_id`` (or all) with one of ``keys``."""
        pool = self.assumptions_for(operation_id) if operation_id else self.assumptions
        return [a for a in pool if a.key in keys]

    # -- operations --------------------------------------------------------

    def operation_id(self, method: str, path: str) -> str | None:
        """The operationId of ``METHOD /path`` (a spec path template such as ``/event/{id}``)."""
        for op in self.spec.operations:
            if op.method == method.upper() and op.path == path:
                return op.operation_id
        return None

    def endpoint(self, operation_id: str) -> str:
        op = self.spec.operation(operation_id)
        return f"{op.method} {op.path}"

    def response_schema(self, operation_id: str, status: int) -> dict[str, Any] | None:
        return self.spec.operation(operation_id).response_schema(status)

    # -- additive drift ------------------------------------------------------

    def unknown_fields(self, operation_id: str, status: int, body: Any) -> list[str]:
        """``$.events[0].timezone``-style paths of fields the spec does not name (closed view)."""
        key = (operation_id, str(status))
        validator = self._closed.get(key)
        if validator is None:
            schema = self.response_schema(operation_id, status)
            if schema is None:
                return []
            validator = Draft202012Validator(closed_schema(schema))
            self._closed[key] = validator
        found: list[str] = []
        for error in validator.iter_errors(body):
            found += _unexpected(error)
        return sorted(set(found))


def _unexpected(error: Any) -> list[str]:
    """The unexpected property paths behind one validation error (searching oneOf branches)."""
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        props = error.schema.get("properties", {})
        base = "$" + "".join(
            f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path
        )
        return [f"{base}.{name}" for name in error.instance if name not in props]
    found: list[str] = []
    if error.validator in ("oneOf", "anyOf") and error.context:
        # Only the branch the value was meant for: the one failing on extra fields alone.
        by_branch: dict[Any, list[Any]] = {}
        for sub in error.context:
            by_branch.setdefault(sub.schema_path[0] if sub.schema_path else None, []).append(sub)
        for subs in by_branch.values():
            if all(s.validator == "additionalProperties" for s in subs):
                for sub in subs:
                    found += _unexpected(sub)
    return found


@cache
def load_contract(path: str | None = None) -> Contract:
    """The contract view of the spec at ``path`` (default: the packaged one)."""
    return Contract(load_spec(path))
