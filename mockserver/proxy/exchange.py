"""One request and its answer, as the proxy saw them, and the checks a single exchange allows.

Every check here looks at one exchange alone: the status, the content type,
the response schema (open, and closed for additive drift), the business rules
of :mod:`mockserver.drift.rules`, and whether a request the spec rejects was
accepted. Rules that need several exchanges live in :mod:`.sequence`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

import jsonschema_rs
from jsonschema import Draft202012Validator

from ..drift import rules
from ..drift.checks import (
    ADDITIVE_CHECK,
    CHECK_RULES,
    date_problems,
    echo_problems,
    events_of,
    link_problems,
    page_limit_problems,
)
from ..drift.contract import Contract, closed_schema
from ..drift.findings import BROKE, GREW, Finding, Rule, short_json
from ..drift.guard import curl_command
from ..drift.probes.reads import TOKEN_REQUIRED
from ..spec import Operation
from .anonymise import Anonymiser
from .assumptions import refuted_by

__all__ = ["Exchange", "ExchangeChecker", "Route", "Router", "how_differs"]

_FastValidator = jsonschema_rs.Draft202012Validator

TOKEN_VAR = "$GOEVENT_TOKEN"
SOURCE = "proxy (passive)"
# Schemathesis' titles for its own checks; the kit's checks read from their Rule
# (CHECK_RULES): one break reads the same in both reports.
TITLES = {
    "response_schema_conformance": "Response violates schema",
    "status_code_conformance": "Undocumented HTTP status code",
    "content_type_conformance": "Undocumented Content-Type",
    "not_a_server_error": "Server error",
    "negative_data_rejection": "API accepted schema-violating request",
    ADDITIVE_CHECK: CHECK_RULES[ADDITIVE_CHECK].title,
}


@dataclass(frozen=True, slots=True)
class Route:
    operation: Operation
    params: dict[str, str]  # path parameters


class Router:
    """``METHOD /path`` (below the API prefix) → the spec operation, from the spec's own paths."""

    def __init__(self, contract: Contract) -> None:
        self._routes = []
        for op in contract.spec.operations:
            names = re.findall(r"{([^}]+)}", op.path)
            pattern = re.escape(op.path)
            for name in names:
                pattern = pattern.replace(re.escape("{" + name + "}"), f"(?P<{name}>[^/]+)")
            self._routes.append((op.method, re.compile("^" + pattern + "$"), op))

    def match(self, method: str, path: str) -> Route | None:
        for verb, pattern, op in self._routes:
            if verb == method:
                found = pattern.match(path)
                if found:
                    return Route(op, found.groupdict())
        return None


@dataclass(slots=True)
class Exchange:
    """What the checker needs of one exchange. It never holds a token, only a keyed hash of it."""

    seq: int
    method: str
    path: str  # below the API prefix, e.g. "/event/abc"
    query: str  # raw query string, token-free
    url: str  # the upstream URL, for the curl line
    token_id: str | None  # keyed hash of the Authorization header; None: no header
    request_body: bytes | None  # None: none, or over the capture cap
    status: int
    content_type: str
    body: bytes | None  # None: over the capture cap, or not decodable
    at: datetime
    retry_after: str | None = None
    route: Route | None = None
    request_json: Any = None
    json: Any = None
    json_ok: bool = False

    @property
    def operation(self) -> str:
        return self.route.operation.operation_id if self.route else ""


def _at(path: Any) -> str:
    """``$.events[*].dateStart``: indexes folded, so one break on every item is one finding."""
    return "$" + "".join("[*]" if isinstance(p, int) else f".{p}" for p in path)


def _pick(node: Any, path: Any) -> Any:
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    return node


class ExchangeChecker:
    """The checks of one exchange; :meth:`check` returns its findings (none: it conforms)."""

    def __init__(self, contract: Contract, anonymiser: Anonymiser) -> None:
        self.contract = contract
        self.anon = anonymiser
        self._validators: dict[tuple[str, str], Draft202012Validator | None] = {}
        self._closed: dict[tuple[str, int], _FastValidator | None] = {}
        self._request_validators: dict[str, Draft202012Validator | None] = {}
        self._extensions = self._extension_params()

    def _extension_params(self) -> set[tuple[str, str]]:
        """(operationId, parameter) pairs the fake adds: the live API is not judged on them."""
        out = set()
        for op in self.contract.spec.operations:
            raw_params = op.raw.get("parameters", [])
            for p in raw_params if isinstance(raw_params, list) else []:
                if isinstance(p, dict) and p.get("x-goevent-extension"):
                    out.add((op.operation_id, str(p.get("name"))))
        return out

    # -- findings -------------------------------------------------------------

    def broke(
        self,
        ex: Exchange,
        rule: Rule,
        server_did: str,
        *,
        operation: str | None = None,
        curl: str | None = None,
    ) -> Finding:
        """A break of ``rule``, declared where the drift probe that tests it declares it."""
        return self.finding(ex, rule.check, rule.title, rule.spec_says, server_did,
                            operation=operation, curl=curl)  # fmt: skip

    def finding(
        self,
        ex: Exchange,
        check: str,
        title: str,
        spec_says: str,
        server_did: str,
        *,
        operation: str | None = None,
        kind: str = BROKE,
        curl: str | None = None,
    ) -> Finding:
        operation = operation or ex.operation
        refuting = refuted_by(self.contract, operation, check, ex.status)
        return Finding(
            kind=GREW if kind == GREW else BROKE,
            check=check,
            operation=operation,
            endpoint=self.contract.endpoint(operation),
            title=title,
            spec_says=spec_says,
            server_did=server_did,
            curl=curl if curl is not None else self.curl(ex),
            source=SOURCE,
            refutes=[a.text for a in refuting],
            assumptions=[a.key for a in refuting],
        )

    def curl(self, ex: Exchange) -> str:
        """The request as a curl line: the token a variable, personal data replaced."""
        body = None
        if ex.request_body is not None and ex.method != "GET":
            body = ex.request_body
            if ex.request_json is not None:
                import orjson

                body = orjson.dumps(self.anon.body(ex.request_json))
            elif ex.request_body:
                body = b"<a body that is not JSON, withheld>"
        token_var = TOKEN_VAR if ex.token_id is not None else None
        return curl_command(ex.method, ex.url, token_var, body)

    # -- the checks -----------------------------------------------------------

    def check(self, ex: Exchange) -> tuple[list[Finding], set[str]]:
        """(findings, names of the checks that ran and held) for one exchange."""
        if ex.route is None:
            return [], set()
        op = ex.route.operation
        found: list[Finding] = []
        held: set[str] = set()
        found += self._request(ex, op)
        if ex.status >= 500:
            found.append(
                self.finding(
                    ex,
                    "not_a_server_error",
                    TITLES["not_a_server_error"],
                    "no 5xx is documented: no input may make the server fail",
                    f"answered {ex.status}",
                )
            )
            return found, held
        if ex.token_id is None and 200 <= ex.status < 300:
            found.append(
                self.broke(
                    ex,
                    TOKEN_REQUIRED.given(
                        why=f"{op.method} {op.path} without a token", expected=401, got=ex.status
                    ),
                    f"answered {ex.status} {ex.content_type or '(no Content-Type)'}",
                )
            )
        elif ex.token_id is None and ex.status == 401:
            held.add("auth_required")
        documented = [s for s in op.responses if s != "default"]
        if str(ex.status) not in op.responses and "default" not in op.responses:
            found.append(
                self.finding(
                    ex,
                    "status_code_conformance",
                    TITLES["status_code_conformance"],
                    f"documented statuses: {', '.join(documented)}",
                    f"answered {ex.status}",
                )
            )
            return found, held
        if 200 <= ex.status < 300:
            held.add("status_code_conformance")
        if op.response_schema(ex.status) is None:
            return found, held
        if not ex.content_type.split(";")[0].strip().lower().endswith("json"):
            found.append(
                self.finding(
                    ex,
                    "content_type_conformance",
                    TITLES["content_type_conformance"],
                    "documented content types: application/json",
                    f"answered {ex.content_type or '(no Content-Type)'}",
                )
            )
            return found, held
        if not ex.json_ok:
            if ex.body is not None:
                found.append(
                    self.finding(
                        ex,
                        "response_schema_conformance",
                        TITLES["response_schema_conformance"],
                        "the body is JSON",
                        f"{len(ex.body)} bytes that are not JSON",
                    )
                )
            return found, held
        closed = self._closed_validator(op, ex.status)
        if closed is not None and closed.is_valid(ex.json):
            # Valid against the closed schema is valid against the open one, with no unknown
            # field: one validation instead of two for every answer that conforms.
            schema_findings: list[Finding] = []
        else:
            schema_findings = self._schema(ex, op)
            found += schema_findings + self._grew(ex)
        if not schema_findings and ex.status >= 400:
            held.add("response_schema_conformance")
        if ex.status == 200:
            rule_findings, rule_held = self._rules(ex)
            found += rule_findings
            held |= rule_held
        return found, held

    def _request(self, ex: Exchange, op: Operation) -> list[Finding]:
        """A request the spec rejects, answered with a success: the API stopped validating it."""
        if not 200 <= ex.status < 300:
            return []
        problems: list[str] = []
        query = dict(parse_qsl(ex.query, keep_blank_values=True))
        assert ex.route is not None
        for p in op.parameters:
            if (op.operation_id, p.name) in self._extensions or p.location not in ("query", "path"):
                continue
            raw = query.get(p.name) if p.location == "query" else ex.route.params.get(p.name)
            if raw is None:
                if p.required:
                    problems.append(f"{p.location} parameter {p.name} is required and missing")
                continue
            problems += _param_problems(p.name, raw, p.schema)
        if op.request_schema is not None and ex.method != "GET":
            validator = self._request_validators.get(op.operation_id)
            if op.operation_id not in self._request_validators:
                validator = Draft202012Validator(op.request_schema)
                self._request_validators[op.operation_id] = validator
            if ex.request_json is None and ex.request_body:
                problems.append("the request body is not JSON")
            elif validator is not None and ex.request_json is not None:
                for error in list(validator.iter_errors(ex.request_json))[:3]:
                    keyword = str(error.validator)
                    problems.append(f"body {_at(error.absolute_path)} fails {keyword}")
        if not problems:
            return []
        return [
            self.finding(
                ex,
                "negative_data_rejection",
                TITLES["negative_data_rejection"],
                "a request that violates the schema is rejected with a 4xx: " + "; ".join(problems),
                f"answered {ex.status}",
            )
        ]

    def _validator(self, op: Operation, status: int) -> Draft202012Validator | None:
        key = (op.operation_id, str(status))
        if key not in self._validators:
            schema = op.response_schema(status)
            self._validators[key] = Draft202012Validator(schema) if schema else None
        return self._validators[key]

    def _closed_validator(self, op: Operation, status: int) -> _FastValidator | None:
        """The response schema with every object closed, as the drift kit's additive check.

        Compiled by jsonschema-rs: it only answers "conforms or not" (about 1/100 of the CPU
        of Python's jsonschema on a page of 100 participants, docs/benchmarks.md); what is
        wrong is then said by the same validators as the drift kit's, in :meth:`_schema`.
        """
        key = (op.operation_id, status)
        if key not in self._closed:
            schema = op.response_schema(status)
            self._closed[key] = (
                jsonschema_rs.Draft202012Validator(closed_schema(schema)) if schema else None
            )
        return self._closed[key]

    def _schema(self, ex: Exchange, op: Operation) -> list[Finding]:
        validator = self._validator(op, ex.status)
        if validator is None:
            return []
        out: dict[str, Finding] = {}
        shown = None
        for error in validator.iter_errors(ex.json):
            at = _at(error.absolute_path)
            keyword = str(error.validator)
            schema = error.schema if isinstance(error.schema, dict) else {}
            rule = f"{keyword}: {short_json(schema[keyword])}" if keyword in schema else keyword
            spec_says = f"{at} must satisfy {rule}"
            if spec_says in out:
                out[spec_says].occurrences += 1
                continue
            if shown is None:
                shown = self.anon.body(ex.json)
            if keyword in ("required", "additionalProperties"):
                did = f"{error.message} (at {at})"  # names properties only, never values
            else:
                value = short_json(_pick(shown, error.absolute_path), 120)
                did = f"{keyword} not satisfied (at {at}; value {value})"
            out[spec_says] = self.finding(
                ex,
                "response_schema_conformance",
                TITLES["response_schema_conformance"],
                spec_says,
                did,
            )
            if len(out) >= 10:
                break
        return list(out.values())

    def _grew(self, ex: Exchange) -> list[Finding]:
        found = self.contract.unknown_fields(ex.operation, ex.status, ex.json)
        if not found:
            return []
        paths = list(dict.fromkeys(re.sub(r"\[\d+\]", "[*]", p) for p in found))
        return [
            self.finding(
                ex,
                ADDITIVE_CHECK,
                TITLES[ADDITIVE_CHECK],
                CHECK_RULES[ADDITIVE_CHECK].spec_says,
                "\n".join(paths[:20]),
                kind=GREW,
            )
        ]

    def _rules(self, ex: Exchange) -> tuple[list[Finding], set[str]]:
        """The drift kit's business rules (:data:`CHECK_RULES`) on one successful answer."""
        body, op = ex.json, ex.operation
        checks: list[tuple[str, list[str]]] = [
            ("ids_are_object_ids", rules.object_id_problems(body))
        ]
        if isinstance(body, dict) and op in ("getEvent", "listTickets"):
            checks.append(
                ("ticket_quantity_consistent", rules.ticket_problems(body.get("tickets")))
            )
        events = events_of(op, body)
        if events:
            checks.append(("event_links_agree_with_slug", link_problems(events)))
            checks.append(("event_dates_ordered", date_problems(events)))
        paged = page_limit_problems(op, body, dict(parse_qsl(ex.query)))
        if paged is not None:
            checks.append(("page_respects_limit", paged))
        if op == "createTickets" and isinstance(ex.request_json, dict):
            checks.append(("purchase_echoes_request", _echo_problems(ex.request_json, body)))
        found, held = [], set()
        for check, problems in checks:
            if problems:
                rule: Rule = CHECK_RULES[check]
                found.append(
                    self.finding(ex, check, rule.title, rule.spec_says, "\n".join(problems[:10]))
                )
            else:
                held.add(check)
        return found, held


def how_differs(sent: Any, shown: Any) -> str:
    """How a value shown differs from the one sent, in words that hold none of either.

    >>> how_differs("Ann", "ANN"), how_differs("Ann", None), how_differs("Ann", "Bea")
    ('shown in other letter case', 'shown as null', 'shown as another value')
    """
    if shown is None:
        return "shown as null"
    if not isinstance(shown, str) or not isinstance(sent, str):
        return f"sent a {type(sent).__name__}, shown a {type(shown).__name__}"
    if shown.casefold() == sent.casefold():
        return "shown in other letter case"
    if " ".join(shown.split()) == " ".join(sent.split()):
        return "shown with other spacing"
    return "shown as another value"


def _echo_problems(sent: dict[str, Any], answer: Any) -> list[str]:
    """The drift kit's :func:`echo_problems`, with no personal value in what it says.

    Ids and quantities are said as they are; a new participant's fields only by how
    they differ (the report must not hold the buyer's name, e-mail or phone).
    """
    form = sent.get("participant")
    if not isinstance(form, dict) or "participantId" in form:
        return echo_problems(sent, answer)
    problems = echo_problems({k: v for k, v in sent.items() if k != "participant"}, answer)
    shown = answer.get("participant") if isinstance(answer, dict) else None
    for name in rules.FORM_FIELDS:
        got = shown.get(name) if isinstance(shown, dict) else None
        if name in form and got != form[name]:
            problems.insert(0, f"$.participant.{name}: {how_differs(form[name], got)}")
    return problems


def _param_problems(name: str, raw: str, schema: dict[str, Any]) -> list[str]:
    kind = schema.get("type")
    if kind == "integer":
        if not re.fullmatch(r"-?[0-9]+", raw):
            return [f"{name}={raw!r} is not an integer"]
        value = int(raw)
        low, high = schema.get("minimum"), schema.get("maximum")
        if low is not None and value < low:
            return [f"{name}={value} is below the minimum {low}"]
        if high is not None and value > high:
            return [f"{name}={value} is above the maximum {high}"]
    pattern = schema.get("pattern")
    if kind == "string" and isinstance(pattern, str) and not re.search(pattern, raw):
        return [f"{name}={raw[:40]!r} does not match {pattern}"]
    return []
