"""Hold the hand-written OpenAPI spec to account.

The spec (openapi/goevent-v1.yaml) is checked against OpenAPI 3.1, against its
own examples, against the JSON examples of the original API document
(tests/data/seed/, copied verbatim) and against the "Assumed behaviour" table
of docs/api-notes.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any, cast

import jsonschema
import pytest
import yaml
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

ROOT = Path(__file__).parents[1]
SPEC_PATH = ROOT / "openapi" / "goevent-v1.yaml"
NOTES_PATH = ROOT / "docs" / "api-notes.md"
SEED_DIR = Path(__file__).parent / "data" / "seed"
SPEC_URI = "urn:goevent:openapi"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
ERROR_REF = "#/components/schemas/Error"

OPERATIONS = {
    "listEvents": ("GET", "/events"),
    "getEvent": ("GET", "/event/{id}"),
    "listTickets": ("GET", "/tickets"),
    "createTickets": ("POST", "/tickets/create"),
    "listParticipants": ("GET", "/participants"),
}

# seed file -> (operationId, "request" or status code, name of the spec example it equals)
SEED_FILES = {
    "list-events.response.json": ("listEvents", "200", "document"),
    "get-event.response.json": ("getEvent", "200", "document"),
    "list-tickets.response.json": ("listTickets", "200", "document"),
    "create-tickets.existing-participant.request.json": (
        "createTickets",
        "request",
        "existingParticipant",
    ),
    "create-tickets.new-participant.request.json": ("createTickets", "request", "newParticipant"),
    "create-tickets.no-participant.request.json": ("createTickets", "request", "noParticipant"),
    "create-tickets.response.json": ("createTickets", "200", "document"),
    "list-participants.response.json": ("listParticipants", "200", "document"),
}

# request seed file -> the one branch of CreateTicketsRequest.oneOf it must match
REQUEST_BRANCHES = {
    "create-tickets.existing-participant.request.json": "CreateTicketsForExistingParticipant",
    "create-tickets.new-participant.request.json": "CreateTicketsForNewParticipant",
    "create-tickets.no-participant.request.json": "CreateTicketsWithoutParticipant",
}


# --- helpers -----------------------------------------------------------------


@cache
def spec() -> dict[str, Any]:
    loaded = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


@cache
def registry() -> Registry[Any]:
    resource: Resource[Any] = Resource.from_contents(spec(), default_specification=DRAFT202012)
    return cast("Registry[Any]", Registry().with_resource(SPEC_URI, resource))


def escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def pointer(*tokens: str) -> str:
    return "#" + "".join("/" + escape(t) for t in tokens)


def resolve_pointer(document: Any, ptr: str) -> Any:
    """Follow a JSON pointer ("#/a/b" or "/a/b"); raise LookupError if it leads nowhere."""
    node = document
    for raw in ptr.lstrip("#").split("/")[1:]:
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list):
            if not token.isdigit() or int(token) >= len(node):
                raise LookupError(ptr)
            node = node[int(token)]
        elif isinstance(node, dict) and token in node:
            node = node[token]
        else:
            raise LookupError(ptr)
    return node


def deref(node: Any) -> Any:
    """Follow local $refs of OpenAPI objects (parameters, responses, examples, ...)."""
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert isinstance(ref, str), ref
        assert ref.startswith("#/"), f"non-local $ref {ref!r}"
        node = resolve_pointer(spec(), ref)
    return node


def validator_at(ptr: str) -> Draft202012Validator:
    """A validator for the schema found at `ptr` in the spec, with local $refs resolved."""
    return Draft202012Validator(
        {"$ref": SPEC_URI + ptr},
        registry=registry(),
        format_checker=jsonschema.FormatChecker(),
    )


def errors_of(instance: Any, schema_ptr: str) -> list[str]:
    errors = validator_at(schema_ptr).iter_errors(instance)
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors]


def operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec()["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                yield path, method, item[method]


def operation(operation_id: str) -> tuple[str, str, dict[str, Any]]:
    for path, method, op in operations():
        if op.get("operationId") == operation_id:
            return path, method, op
    raise LookupError(operation_id)


def op_parameters(path: str, method: str) -> list[dict[str, Any]]:
    item = spec()["paths"][path]
    return [deref(p) for p in item.get("parameters", []) + item[method].get("parameters", [])]


def load_seed(name: str) -> Any:
    return json.loads((SEED_DIR / name).read_text(encoding="utf-8"))


# --- collecting examples -------------------------------------------------------


def _media_examples(node: dict[str, Any], ptr: str) -> Iterator[tuple[str, Any, str]]:
    """Examples of a media type, parameter or header object, validated against its `schema`."""
    schema_ptr = ptr + "/schema"
    if "example" in node:
        yield ptr + "/example", node["example"], schema_ptr
    for name, example in node.get("examples", {}).items():
        example = deref(example)
        assert "value" in example, f"{ptr}/examples/{name}: no inline value"
        yield f"{ptr}/examples/{escape(name)}", example["value"], schema_ptr


def _walk(node: Any, ptr: str, in_schema: bool) -> Iterator[tuple[str, Any, str]]:
    if isinstance(node, list):
        for i, item in enumerate(node):
            yield from _walk(item, f"{ptr}/{i}", in_schema)
        return
    if not isinstance(node, dict):
        return
    if in_schema:
        if isinstance(node.get("examples"), list):
            for i, value in enumerate(node["examples"]):
                yield f"{ptr}/examples/{i}", value, ptr
        if "example" in node:
            yield f"{ptr}/example", node["example"], ptr
    elif "schema" in node and ("example" in node or "examples" in node):
        yield from _media_examples(node, ptr)
    for key, value in node.items():
        if key in ("example", "examples") or (not in_schema and key == "links"):
            continue
        entering = in_schema or key == "schema" or ptr == "#/components/schemas"
        yield from _walk(value, f"{ptr}/{escape(key)}", entering)


@cache
def spec_examples() -> dict[str, tuple[Any, str]]:
    """Every example of the spec: its pointer -> (value, pointer of the schema it illustrates)."""
    return {where: (value, schema) for where, value, schema in _walk(spec(), "#", False)}


def media_example(operation_id: str, where: str, name: str) -> tuple[Any, str]:
    """The named example of an operation's JSON request body ("request") or response."""
    path, method, op = operation(operation_id)
    if where == "request":
        media_ptr = pointer("paths", path, method, "requestBody", "content", "application/json")
    else:
        response = op["responses"][where]
        assert "$ref" not in response, f"{operation_id} {where} is a $ref; examples expected inline"
        media_ptr = pointer(
            "paths", path, method, "responses", where, "content", "application/json"
        )
    return spec_examples()[f"{media_ptr}/examples/{escape(name)}"]


# --- the document ----------------------------------------------------------------


def test_spec_is_plain_json_data() -> None:
    # YAML turns unquoted dates into datetime objects; examples must stay JSON.
    assert json.loads(json.dumps(spec())) == spec()


def test_spec_is_valid_openapi_3_1() -> None:
    assert str(spec()["openapi"]).startswith("3.1")
    validate_openapi(spec())


def test_servers() -> None:
    urls = [server["url"] for server in spec()["servers"]]
    assert "https://cloud.goevent.live/developers/v1.0" in urls
    assert "http://127.0.0.1:8000/developers/v1.0" in urls


def test_operation_ids_methods_and_paths() -> None:
    found = {op.get("operationId"): (method.upper(), path) for path, method, op in operations()}
    assert found == OPERATIONS
    assert len(list(operations())) == len(OPERATIONS)


# --- examples ----------------------------------------------------------------------


def test_examples_are_found() -> None:
    # Guards the collector: the documented examples of every operation are seen.
    for operation_id in OPERATIONS:
        assert media_example(operation_id, "200", "document")
    for name in ("existingParticipant", "newParticipant", "noParticipant"):
        assert media_example("createTickets", "request", name)
    schema_examples = [w for w in spec_examples() if w.startswith("#/components/schemas/")]
    assert schema_examples, "no `examples` found in components/schemas"


@pytest.mark.parametrize("where", sorted(spec_examples()))
def test_spec_example_matches_its_schema(where: str) -> None:
    value, schema_ptr = spec_examples()[where]
    assert errors_of(value, schema_ptr) == []


def test_schema_validation_can_fail() -> None:
    # Makes sure $refs and formats are really followed: these must be rejected.
    event_ptr = "#/components/schemas/Event"
    good = load_seed("get-event.response.json")["event"]
    assert errors_of(good, event_ptr) == []
    assert errors_of({**good, "id": "not-an-object-id"}, event_ptr)
    # Matches the DateTime pattern; only the date-time format check rejects it.
    assert "date-time" in jsonschema.FormatChecker().checkers, "rfc3339-validator missing"
    assert errors_of({**good, "dateStart": "2024-02-30T20:00:00.000Z"}, event_ptr)
    assert errors_of({**good, "cover": {}}, event_ptr)


# --- seed files (the original document's examples) ----------------------------------


def test_every_seed_file_is_mapped() -> None:
    assert {p.name for p in SEED_DIR.glob("*.json")} == set(SEED_FILES)


@pytest.mark.parametrize("name", sorted(SEED_FILES))
def test_seed_file_matches_schema(name: str) -> None:
    operation_id, where, example_name = SEED_FILES[name]
    _, schema_ptr = media_example(operation_id, where, example_name)
    assert errors_of(load_seed(name), schema_ptr) == []


@pytest.mark.parametrize("name", sorted(SEED_FILES))
def test_spec_example_equals_seed_file(name: str) -> None:
    operation_id, where, example_name = SEED_FILES[name]
    value, _ = media_example(operation_id, where, example_name)
    assert value == load_seed(name)


@pytest.mark.parametrize("name", sorted(REQUEST_BRANCHES))
def test_seed_request_matches_exactly_its_branch(name: str) -> None:
    body = load_seed(name)
    matching = {
        branch
        for branch in set(REQUEST_BRANCHES.values())
        if not errors_of(body, pointer("components", "schemas", branch))
    }
    assert matching == {REQUEST_BRANCHES[name]}


# --- operations ---------------------------------------------------------------------


def _has_id_parameter(path: str, method: str) -> bool:
    return any(
        p["in"] in ("path", "query") and p["name"].lower().endswith("id")
        for p in op_parameters(path, method)
    )


@pytest.mark.parametrize("operation_id", sorted(OPERATIONS))
def test_operation_is_documented(operation_id: str) -> None:
    _, _, op = operation(operation_id)
    for key in ("operationId", "summary", "description"):
        assert isinstance(op.get(key), str), f"{key} missing"
        assert op[key].strip(), f"{key} empty"
    security = op.get("security")
    assert security, "security missing or empty"
    assert all("bearerAuth" in requirement for requirement in security)
    scheme = spec()["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")


@pytest.mark.parametrize("operation_id", sorted(OPERATIONS))
def test_operation_responses(operation_id: str) -> None:
    path, method, op = operation(operation_id)
    responses = op["responses"]
    expected = {"200", "400", "401", "429"}
    if _has_id_parameter(path, method):
        expected.add("404")
    if operation_id == "createTickets":
        expected |= {"404", "409", "413"}
    assert expected <= set(responses), f"missing {sorted(expected - set(responses))}"
    ok = deref(responses["200"])
    assert isinstance(ok["content"]["application/json"]["schema"], dict)


def test_id_operations_need_404() -> None:
    with_ids = {
        op["operationId"] for path, method, op in operations() if _has_id_parameter(path, method)
    }
    assert with_ids == {"getEvent", "listTickets", "listParticipants"}


@pytest.mark.parametrize("operation_id", sorted(OPERATIONS))
def test_error_responses_use_error_schema(operation_id: str) -> None:
    _, _, op = operation(operation_id)
    for status, response in op["responses"].items():
        if status != "default" and status[0] not in "45":
            continue
        content = deref(response)["content"]
        assert list(content) == ["application/json"], status
        assert content["application/json"]["schema"] == {"$ref": ERROR_REF}, status


# --- assumptions -------------------------------------------------------------------


def normalise(text: str) -> str:
    return " ".join(text.replace("`", "").split()).lower()


def _cells(row: str) -> list[str]:
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", row.strip()[1:-1])]


@cache
def assumption_table() -> dict[str, str]:
    """The "Assumed behaviour" table of docs/api-notes.md.

    Maps each row's normalised "Topic: Assumption" to its topic.
    """
    lines = NOTES_PATH.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("## Assumed behaviour"))
    rows = []
    for line in lines[start + 1 :]:
        if line.startswith("#"):
            break
        if line.startswith("|"):
            rows.append(_cells(line))
    assert rows[0] == ["Topic", "Assumption"], rows[0]
    assert all(set(cell) <= set("-: ") for cell in rows[1]), "separator row expected"
    table = {}
    for row in rows[2:]:
        assert len(row) == 2, f"bad row {row}"
        assert all(row), f"empty cell in {row}"
        table[normalise(f"{row[0]}: {row[1]}")] = row[0]
    return table


def _assumptions(node: Any) -> Iterator[str]:
    if isinstance(node, list):
        for item in node:
            yield from _assumptions(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "x-goevent-assumption":
                # Each entry is {key, text}: code names the key, this table checks the text.
                assert isinstance(value, list), f"bad x-goevent-assumption {value!r}"
                assert all(isinstance(v, dict) and set(v) == {"key", "text"} for v in value), value
                yield from (v["text"] for v in value)
            else:
                yield from _assumptions(value)


@cache
def spec_assumptions() -> list[str]:
    return list(_assumptions(spec()))


def test_assumption_table_is_read() -> None:
    assert len(assumption_table()) >= 10


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", normalise(text)).strip("-")


@pytest.mark.parametrize(
    "row", sorted(assumption_table()), ids=lambda row: slug(assumption_table()[row])
)
def test_assumption_is_in_spec(row: str) -> None:
    assert row in {normalise(a) for a in spec_assumptions()}


def test_spec_assumptions_are_known_or_ours() -> None:
    strays = [
        a
        for a in spec_assumptions()
        if normalise(a) not in assumption_table() and not a.rstrip().endswith("(ours)")
    ]
    assert strays == []


# --- links ---------------------------------------------------------------------------

EXPRESSION = re.compile(
    r"^\$(?:url|method|statusCode"
    r"|request\.(?:path|query|header)\.[A-Za-z0-9_.-]+"
    r"|(?:request|response)\.header\.[A-Za-z0-9!#$%&'*+.^_`|~-]+"
    r"|(?:request|response)\.body(?:#(?:/[^/]*)*)?)$"
)


@cache
def links() -> dict[str, tuple[str, str, dict[str, Any]]]:
    """ "source/status/link name" -> (source operationId, status, link) for every link."""
    found = {}
    for _, _, op in operations():
        for status, response in op["responses"].items():
            for name, link in deref(response).get("links", {}).items():
                found[f"{op['operationId']}/{status}/{name}"] = (
                    op["operationId"],
                    status,
                    deref(link),
                )
    return found


def parameter_schema(operation_id: str, name: str) -> str:
    """Pointer to the schema of an operation's parameter, given as "name" or "in.name"."""
    path, method, op = operation(operation_id)
    location, _, name = name.rpartition(".")
    raw = spec()["paths"][path].get("parameters", []) + op.get("parameters", [])
    for i, param in enumerate(raw):
        param_ptr = param.get("$ref") or pointer("paths", path, method, "parameters", str(i))
        param = deref(param)
        if param["name"] == name and location in ("", param["in"]):
            return param_ptr + "/schema"
    raise LookupError(f"{operation_id} has no parameter {name!r}")


def test_links_are_found() -> None:
    assert len(links()) >= 5


@pytest.mark.parametrize("link_id", sorted(links()))
def test_link_names_existing_operation_and_parameters(link_id: str) -> None:
    _, _, link = links()[link_id]
    assert "operationRef" not in link, "use operationId"
    assert link["operationId"] in OPERATIONS
    _, _, target = operation(link["operationId"])
    for key, expression in link.get("parameters", {}).items():
        parameter_schema(link["operationId"], key)  # raises if there is no such parameter
        if isinstance(expression, str) and expression.startswith("$"):
            assert EXPRESSION.match(expression), f"bad runtime expression {expression!r}"
    if "requestBody" in link:
        assert "requestBody" in target, f"{link['operationId']} takes no body"


def expression_values(source: str, status: str, expression: str) -> list[Any]:
    """Values a runtime expression of a link of `source` takes on the spec's examples: those of
    the source's request or `status` response bodies, or of the named source parameter."""
    _, _, op = operation(source)
    kind, _, body_ptr = expression.partition("#")
    if kind.startswith(("$request.query.", "$request.path.")):
        _, location, name = kind.split(".", 2)
        schema = deref(resolve_pointer(spec(), parameter_schema(source, f"{location}.{name}")))
        return list(schema.get("examples", []))
    if kind == "$response.body":
        media = deref(op["responses"][status])["content"]["application/json"]
    else:
        assert kind == "$request.body", f"unsupported expression {expression!r}"
        media = deref(op["requestBody"])["content"]["application/json"]
    bodies = [deref(example)["value"] for example in media.get("examples", {}).values()]
    return [resolve_pointer(body, body_ptr) for body in bodies]


def substitute(template: Any, values: dict[str, Any]) -> Any:
    if isinstance(template, dict):
        return {k: substitute(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [substitute(v, values) for v in template]
    return values.get(template, template) if isinstance(template, str) else template


def expressions_in(template: Any) -> Iterator[str]:
    if isinstance(template, dict | list):
        for item in template.values() if isinstance(template, dict) else template:
            yield from expressions_in(item)
    elif isinstance(template, str) and template.startswith("$"):
        yield template


@pytest.mark.parametrize("link_id", sorted(links()))
def test_link_expressions_resolve_on_examples(link_id: str) -> None:
    """Every runtime expression of a link yields, on the spec's examples, values that the target
    parameter's (or request body's) schema accepts."""
    source, status, link = links()[link_id]
    target = link["operationId"]
    for key, expression in link.get("parameters", {}).items():
        values = expression_values(source, status, expression)
        assert values, f"no example values for {expression!r}"
        for value in values:
            assert errors_of(value, parameter_schema(target, key)) == [], f"{expression}: {value!r}"
    if "requestBody" in link:
        template = link["requestBody"]
        first_values: dict[str, Any] = {}
        for expression in expressions_in(template):
            assert EXPRESSION.match(expression), f"bad runtime expression {expression!r}"
            found = expression_values(source, status, expression)
            assert found, f"no example values for {expression!r}"
            first_values[expression] = found[0]
        path, method, _ = operation(target)
        schema_ptr = pointer(
            "paths", path, method, "requestBody", "content", "application/json", "schema"
        )
        assert errors_of(substitute(template, first_values), schema_ptr) == []
