"""The drift report, four ways: Markdown for people, JUnit XML for CI, JSON for tools, and
an HTML page rendered from the JSON (:mod:`.html`).

Every writer passes its text through the run's redaction, so no token reaches a file.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from .findings import BROKE, GREW, Finding
from .runner import EXIT_CANNOT_RUN, DriftResult

__all__ = ["render_json", "render_junit", "render_markdown", "summary_line", "write_reports"]

STATUS = {0: "NO DRIFT", 1: "DRIFT FOUND", 2: "COULD NOT RUN"}
MARK = {"confirmed": "✅ confirmed", "refuted": "❌ refuted", "untested": "➖ untested"}


def summary_line(result: DriftResult) -> str:
    """One line: the verdict, and why."""
    return f"goevent drift: {STATUS[result.exit_code]} (exit {result.exit_code}): {result.reason}"


def _finding_md(number: int, f: Finding) -> list[str]:
    kind = "the API broke" if f.kind == BROKE else "the API grew"
    times = f", ×{f.occurrences}" if f.occurrences > 1 else ""
    code = f", {f.code}" if f.code else ""
    refutes = "; ".join(f"refutes “{t}”" for t in f.refutes) or "none (documented behaviour)"
    return [
        f"### {number}. {f.operation} — {f.title}",
        "",
        f"`{f.endpoint}` · {kind} · check `{f.check}`{code} · found by {f.source}{times}",
        "",
        f"- **Spec says:** {_inline(f.spec_says)}",
        f"- **Server did:** {_inline(f.server_did)}",
        f"- **Assumption:** {refutes}",
        "",
        "```sh",
        f.curl,
        "```",
        "",
    ]


def _inline(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    if len(lines) <= 1:
        return f"`{lines[0]}`" if lines else "—"
    return "\n  " + "\n  ".join(f"`{line}`" for line in lines[:8])


def render_markdown(result: DriftResult) -> str:
    broke, grew = result.broke, result.grew
    lines = [
        f"# GoEvent drift report — {STATUS[result.exit_code]}",
        "",
        f"**{result.reason}**",
        "",
        f"Target: {result.target} · started {result.started} · {result.duration:.1f} s · "
        f"{result.requests} requests · exit {result.exit_code}",
        "",
        f"> {result.banner}",
        "",
        f"{len(broke)} breaking finding(s) (the API broke), {len(grew)} additive finding(s) "
        f"(the API grew; {'they fail' if result.options.fail_on_additive else 'they do not fail'} "
        "the run).",
        "",
    ]
    if result.exit_code == EXIT_CANNOT_RUN:
        lines += ["## Could not run", "", result.reason, ""]
    if broke:
        lines += ["## The API broke", ""]
        for number, f in enumerate(broke, 1):
            lines += _finding_md(number, f)
    if grew:
        lines += ["## The API grew", ""]
        for number, f in enumerate(grew, len(broke) + 1):
            lines += _finding_md(number, f)
    if result.verdicts:
        counts = {s: sum(v.status == s for v in result.verdicts) for s in MARK}
        lines += [
            "## Assumptions",
            "",
            f"{counts['confirmed']} confirmed, {counts['refuted']} refuted, "
            f"{counts['untested']} untested (`x-goevent-assumption` in the spec).",
            "",
            "| | Key | Where | Assumption | Evidence |",
            "|---|---|---|---|---|",
        ]
        order = {"refuted": 0, "confirmed": 1, "untested": 2}
        for v in sorted(result.verdicts, key=lambda v: order[v.status]):
            lines.append(
                f"| {MARK[v.status]} | `{v.key}` | {v.where} | {_cell(v.text)} "
                f"| {_cell(v.evidence)} |"
            )
        lines.append("")
    if result.uncovered:
        lines += [
            "## Assumptions no probe or check tests",
            "",
            "No run can confirm or refute these: a probe or check naming their key would.",
            "",
        ]
        lines += [f"- `{a.key}` ({a.where}): {a.text}" for a in result.uncovered]
        lines.append("")
    if result.probes:
        lines += ["## Probes", "", "| Probe | Result | Note |", "|---|---|---|"]
        for p in result.probes:
            note = p.reason or (f"{len(p.findings)} finding(s)" if p.findings else "")
            lines.append(f"| {p.name} | {p.status} | {_cell(note)} |")
        lines.append("")
    lines += ["## Run", ""]
    opts = result.options
    lines.append(
        f"- Schemathesis phases: {', '.join(opts.phases) or 'not run'}; "
        f"max examples {opts.max_examples}; seed {opts.seed} (deterministic)"
    )
    if result.cases:
        lines.append("- Generated cases: " + ", ".join(f"{k} {v}" for k, v in result.cases.items()))
    lines += [f"- {note}" for note in result.notes]
    lines += [f"- Could not test: {error}" for error in result.errors]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_junit(result: DriftResult) -> str:
    suite = ET.Element("testsuite", name="goevent-drift")
    cases = 0
    failures = errors = skipped = 0

    def case(name: str, classname: str) -> ET.Element:
        nonlocal cases
        cases += 1
        return ET.SubElement(suite, "testcase", name=name, classname=classname)

    pre = case("preflight", "goevent.drift")
    if result.exit_code == EXIT_CANNOT_RUN:
        ET.SubElement(pre, "error", message=result.reason).text = result.reason
        errors += 1
    for p in result.probes:
        element = case(p.name, "goevent.drift.probes")
        if p.status == "skipped":
            ET.SubElement(element, "skipped", message=p.reason)
            skipped += 1
        elif p.findings:
            failures += 1
            ET.SubElement(element, "failure", message=p.findings[0].title).text = "\n\n".join(
                _finding_text(f) for f in p.findings
            )
        elif p.status == "inconclusive":
            ET.SubElement(element, "system-out").text = p.reason
    for assumption in result.uncovered:
        element = case(f"assumption[{assumption.key}]", "goevent.drift.assumptions")
        ET.SubElement(element, "skipped", message=f"no probe or check tests it: {assumption.text}")
        skipped += 1
    operations = {f.operation for f in result.findings if f.source.startswith("schemathesis")}
    # One test case per operation Schemathesis tested (none when it did not run).
    tested = set(result.tested_operations) if result.cases else set()
    for operation in sorted(set(operations) | tested):
        for kind, label in ((BROKE, "schemathesis"), (GREW, "api_grew")):
            found = [
                f
                for f in result.findings
                if f.operation == operation
                and f.kind == kind
                and f.source.startswith("schemathesis")
            ]
            if kind == GREW and not found:
                continue
            element = case(f"{label}[{operation}]", "goevent.drift.schemathesis")
            if found and (kind == BROKE or result.options.fail_on_additive):
                failures += 1
                ET.SubElement(element, "failure", message=found[0].title).text = "\n\n".join(
                    _finding_text(f) for f in found
                )
            elif found:
                ET.SubElement(element, "system-out").text = "\n\n".join(
                    _finding_text(f) for f in found
                )
    suite.set("tests", str(cases))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    suite.set("skipped", str(skipped))
    suite.set("time", f"{result.duration:.3f}")
    ET.indent(suite)
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"
    )


def _finding_text(f: Finding) -> str:
    return (
        f"[{f.kind}] {f.operation} ({f.endpoint}) {f.title} — check {f.check}\n"
        f"Spec says: {f.spec_says}\nServer did: {f.server_did}\n"
        f"Refutes: {'; '.join(f.refutes) or '-'}"
        f"{' (' + ', '.join(f.assumptions) + ')' if f.assumptions else ''}\nReproduce:\n{f.curl}"
    )


def render_json(result: DriftResult) -> str:
    data: dict[str, Any] = {
        "exit_code": result.exit_code,
        "status": STATUS[result.exit_code],
        "reason": result.reason,
        "target": result.target,
        "started": result.started,
        "duration_s": round(result.duration, 3),
        "requests": result.requests,
        "cases": result.cases,
        "options": {
            "phases": list(result.options.phases),
            "max_examples": result.options.max_examples,
            "seed": result.options.seed,
            "fail_on_additive": result.options.fail_on_additive,
        },
        "findings": [f.to_json() for f in result.findings],
        "assumptions": [
            {
                "key": v.key,
                "where": v.where,
                "text": v.text,
                "status": v.status,
                "evidence": v.evidence,
            }
            for v in result.verdicts
        ],
        "uncovered": [{"key": a.key, "where": a.where, "text": a.text} for a in result.uncovered],
        "probes": [
            {"name": p.name, "status": p.status, "reason": p.reason, "findings": len(p.findings)}
            for p in result.probes
        ],
        "notes": result.notes,
        "errors": result.errors,
    }
    return orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n"


def write_reports(
    result: DriftResult,
    redact: Callable[[str], str],
    *,
    markdown: Path | None = None,
    junit: Path | None = None,
    json: Path | None = None,
    html: Path | None = None,
) -> None:
    """Write the reports asked for; each passes through ``redact`` first."""
    for path, render in ((markdown, render_markdown), (junit, render_junit), (json, render_json),
                         (html, _render_html)):  # fmt: skip
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(redact(render(result)), encoding="utf-8")


def _render_html(result: DriftResult) -> str:
    from .html import render_html

    # From the JSON report's structure, so that the page and drift.json never disagree.
    return render_html(orjson.loads(render_json(result)))
