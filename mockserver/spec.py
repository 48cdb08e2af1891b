"""The OpenAPI document that drives the fake: loaded once, references resolved."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

__all__ = ["Operation", "Parameter", "Spec", "default_spec_path", "load_spec"]

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def default_spec_path() -> Path:
    """The spec shipped with the package (a copy of ``openapi/goevent-v1.yaml``)."""
    return Path(str(resources.files("mockserver").joinpath("data/goevent-v1.yaml")))


@dataclass(frozen=True, slots=True)
class Parameter:
    name: str
    location: str  # "query", "path", "header"
    required: bool
    schema: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Operation:
    operation_id: str
    method: str  # upper case
    path: str  # as in the spec, e.g. "/event/{id}"
    parameters: tuple[Parameter, ...]
    request_schema: dict[str, Any] | None
    responses: dict[str, dict[str, Any]]  # status -> response object, refs resolved
    raw: dict[str, Any] = field(repr=False)

    def response_schema(self, status: int | str) -> dict[str, Any] | None:
        response = self.responses.get(str(status)) or self.responses.get("default")
        if response is None:
            return None
        media = response.get("content", {}).get("application/json", {})
        schema = media.get("schema")
        return schema if isinstance(schema, dict) else None


@dataclass(frozen=True, slots=True)
class Spec:
    document: dict[str, Any]  # as written, with $refs
    resolved: dict[str, Any]  # every local $ref replaced by its target
    operations: tuple[Operation, ...]
    base_path: str
    source: str

    def operation(self, operation_id: str) -> Operation:
        for op in self.operations:
            if op.operation_id == operation_id:
                return op
        raise KeyError(operation_id)

    def schema(self, name: str) -> dict[str, Any]:
        schema: dict[str, Any] = self.resolved["components"]["schemas"][name]
        return schema


def _resolve(node: Any, root: dict[str, Any], trail: tuple[str, ...] = ()) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            if not ref.startswith("#/"):
                raise ValueError(f"only local $refs are supported, got {ref!r}")
            if ref in trail:
                raise ValueError(f"$ref cycle through {ref!r}")
            target: Any = root
            for part in ref[2:].split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            merged = _resolve(target, root, (*trail, ref))
            siblings = {k: v for k, v in node.items() if k != "$ref"}
            if siblings and isinstance(merged, dict):
                merged = {**merged, **_resolve(siblings, root, trail)}
            return merged
        return {k: _resolve(v, root, trail) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(v, root, trail) for v in node]
    return node


def build_spec(document: dict[str, Any], source: str = "<memory>") -> Spec:
    """A :class:`Spec` from an already parsed OpenAPI document."""
    resolved = _resolve(copy.deepcopy(document), document)
    servers = resolved.get("servers") or [{"url": "/"}]
    base_path = urlsplit(servers[0]["url"]).path.rstrip("/")
    operations = []
    for path, item in resolved.get("paths", {}).items():
        shared = item.get("parameters", [])
        for method in METHODS:
            raw = item.get(method)
            if raw is None:
                continue
            params = {(p["name"], p["in"]): p for p in [*shared, *raw.get("parameters", [])]}
            body = raw.get("requestBody", {}).get("content", {}).get("application/json", {})
            operations.append(
                Operation(
                    operation_id=raw.get("operationId") or f"{method}_{path}",
                    method=method.upper(),
                    path=path,
                    parameters=tuple(
                        Parameter(p["name"], p["in"], bool(p.get("required")), p.get("schema", {}))
                        for p in params.values()
                        if p["in"] in ("query", "path", "header")
                    ),
                    request_schema=body.get("schema"),
                    responses=raw.get("responses", {}),
                    raw=raw,
                )
            )
    return Spec(document, resolved, tuple(operations), base_path, source)


@cache
def load_spec(path: str | None = None) -> Spec:
    """Load and resolve the spec at ``path`` (default: the packaged one). Cached per path."""
    source = Path(path) if path else default_spec_path()
    with source.open(encoding="utf-8") as fh:
        # The C loader when PyYAML has it: ~60 ms less at every start.
        document = yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return build_spec(document, str(source))
