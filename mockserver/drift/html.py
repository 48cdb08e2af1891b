"""The drift report as one self-contained HTML page, and the trend over several nights.

Both render from the JSON report's structure (``render_json`` in :mod:`.report`), never
from the run's objects: a page can be made again from last night's ``drift.json``, and a
field added to the JSON report shows up here by adding it in one place. The page needs
nothing from the network: inline CSS, an inline SVG chart, no script.

>>> page = render_html({"status": "NO DRIFT", "exit_code": 0, "reason": "no drift",
...                     "findings": [], "assumptions": []})
>>> "<h1>" in page and "NO DRIFT" in page and "http" not in page.split("<body")[0]
True
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any

__all__ = ["render_html", "render_trend"]

Report = Mapping[str, Any]

VERDICT_CLASS = {0: "ok", 1: "bad", 2: "warn"}
ASSUMPTION_ORDER = ("refuted", "confirmed", "untested")
COLOURS = {
    "broke": "#b3261e",
    "grew": "#b26a00",
    "confirmed": "#146c2e",
    "refuted": "#b3261e",
    "untested": "#8a93a0",
}

CSS = """
:root { --fg:#1d2430; --muted:#5b6472; --line:#d8dde5; --soft:#f3f5f8; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1100px; padding: 16px 20px 48px; color: var(--fg);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
h1 { margin: 0; font-size: 26px; }
h2 { margin: 32px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { margin: 20px 0 6px; }
code, pre { font: 13px/1.45 ui-monospace, Menlo, Consolas, monospace; }
pre { background: var(--soft); padding: 10px; border-radius: 6px; overflow-x: auto;
  white-space: pre-wrap; word-break: break-word; margin: 4px 0; }
.muted { color: var(--muted); }
.verdict { padding: 16px 20px; border-radius: 10px; color: #fff; margin-bottom: 12px; }
.verdict p { margin: 4px 0 0; }
.ok { background: #146c2e; } .bad { background: #b3261e; } .warn { background: #8a5300; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 12px 0; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 8px 14px; min-width: 130px; }
.card b { display: block; font-size: 24px; }
.badge { display: inline-block; border-radius: 4px; padding: 0 6px; color: #fff; font-size: 13px; }
.b-broke, .b-refuted { background: #b3261e; } .b-grew { background: #b26a00; }
.b-confirmed { background: #146c2e; } .b-untested { background: #8a93a0; }
article { border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; margin: 10px 0; }
article h4 { margin: 0 0 4px; font-size: 16px; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 6px 0; }
dt { color: var(--muted); }
dd { margin: 0; min-width: 0; }
table { border-collapse: collapse; width: 100%; margin: 8px 0; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 8px; text-align: left;
  vertical-align: top; }
th { font-size: 13px; color: var(--muted); }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.scroll { overflow-x: auto; }
svg { max-width: 100%; height: auto; }
svg text { font: 12px system-ui, sans-serif; fill: #1d2430; }
.legend span { margin-right: 14px; }
.legend i { display: inline-block; width: 11px; height: 11px; margin-right: 4px;
  border-radius: 2px; }
@media (max-width: 640px) { dl { grid-template-columns: 1fr; } body { padding: 10px; } }
"""


def _e(value: Any) -> str:
    return escape("" if value is None else str(value))


def _page(title: str, body: Iterable[str]) -> str:
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def _legend(names: Sequence[str]) -> str:
    items = "".join(f'<span><i style="background:{COLOURS[n]}"></i>{_e(n)}</span>' for n in names)
    return f'<p class="legend">{items}</p>'


def _bars(title: str, rows: Sequence[tuple[str, Mapping[str, int]]], series: Sequence[str]) -> str:
    """A horizontal stacked bar chart, as inline SVG: one bar per row, one colour per series."""
    label_w, bar_w, row_h = 170, 420, 26
    top = max((sum(counts.values()) for _, counts in rows), default=0) or 1
    height = row_h * len(rows) + 10
    parts = [
        f'<svg role="img" aria-label="{_e(title)}" viewBox="0 0 {label_w + bar_w + 60} {height}"'
        f' width="{label_w + bar_w + 60}" height="{height}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{_e(title)}</title>",
    ]
    for i, (label, counts) in enumerate(rows):
        y = 5 + i * row_h
        parts.append(f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end">{_e(label)}</text>')
        x = float(label_w)
        for name in series:
            count = counts.get(name, 0)
            if not count:
                continue
            w = bar_w * count / top
            parts.append(
                f'<rect x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="{row_h - 8}" '
                f'fill="{COLOURS[name]}"><title>{_e(label)}: {count} {_e(name)}</title></rect>'
            )
            x += w
        total = sum(counts.values())
        parts.append(f'<text x="{x + 6:.1f}" y="{y + 16}">{total}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _counts(items: Iterable[Mapping[str, Any]], key: str) -> Counter[str]:
    return Counter(str(item.get(key, "")) for item in items)


def _finding(number: int, f: Mapping[str, Any]) -> str:
    kind = str(f.get("kind", ""))
    times = f" · ×{f['occurrences']}" if int(f.get("occurrences") or 1) > 1 else ""
    code = f" · {_e(f['code'])}" if f.get("code") else ""
    refutes = f.get("refutes") or []
    refuted = (
        "<ul>" + "".join(f"<li>{_e(t)}</li>" for t in refutes) + "</ul>"
        if refutes
        else '<span class="muted">none (documented behaviour)</span>'
    )
    return (
        f'<article id="finding-{number}"><h4>{number}. {_e(f.get("title"))} '
        f'<span class="badge b-{_e(kind)}">{"broke" if kind == "broke" else "grew"}</span></h4>'
        f'<p class="muted"><code>{_e(f.get("endpoint"))}</code> · check '
        f"<code>{_e(f.get('check'))}</code>{code} · found by {_e(f.get('source'))}{times}</p>"
        f"<dl><dt>Spec says</dt><dd><pre>{_e(f.get('spec_says'))}</pre></dd>"
        f"<dt>Server did</dt><dd><pre>{_e(f.get('server_did'))}</pre></dd>"
        f"<dt>Assumption refuted</dt><dd>{refuted}</dd>"
        f"<dt>Reproduce</dt><dd><pre>{_e(f.get('curl'))}</pre></dd></dl></article>"
    )


def _assumptions(assumptions: Sequence[Mapping[str, Any]]) -> list[str]:
    counts = _counts(assumptions, "status")
    order = {s: i for i, s in enumerate(ASSUMPTION_ORDER)}
    rows = sorted(assumptions, key=lambda a: order.get(str(a.get("status")), 9))
    has_key = any("key" in a for a in assumptions)
    head = "<th>Key</th>" if has_key else ""
    lines = [
        '<h2 id="assumptions">Assumptions</h2>',
        f"<p>{counts['confirmed']} confirmed, {counts['refuted']} refuted, "
        f"{counts['untested']} untested (<code>x-goevent-assumption</code> in the spec).</p>",
        '<div class="scroll"><table id="assumptions-table"><thead><tr>'
        f"<th>Status</th>{head}<th>Where</th>"
        "<th>Assumption</th><th>Evidence</th></tr></thead><tbody>",
    ]
    for a in rows:
        status = str(a.get("status", ""))
        key = f"<td><code>{_e(a.get('key'))}</code></td>" if has_key else ""
        lines.append(
            f'<tr><td><span class="badge b-{_e(status)}">{_e(status)}</span></td>{key}'
            f"<td>{_e(a.get('where'))}</td><td>{_e(a.get('text'))}</td>"
            f"<td>{_e(a.get('evidence'))}</td></tr>"
        )
    lines.append("</tbody></table></div>")
    return lines


def _plain_list(title: str, anchor: str, items: Sequence[Any]) -> list[str]:
    """A list of the report's other entries (notes, errors, assumptions no probe covers …),
    whatever their shape: text, or an object shown as its fields."""
    if not items:
        return []
    lines = [f'<h2 id="{anchor}">{_e(title)}</h2>', "<ul>"]
    for item in items:
        if isinstance(item, Mapping):
            text = " · ".join(f"{_e(k)}: {_e(v)}" for k, v in item.items())
        else:
            text = _e(item)
        lines.append(f"<li>{text}</li>")
    lines.append("</ul>")
    return lines


def render_html(report: Report) -> str:
    """The report as one HTML page: verdict first, chart, findings by operation with their
    ``curl``, assumptions, probes, notes."""
    findings: list[Mapping[str, Any]] = list(report.get("findings") or [])
    assumptions: list[Mapping[str, Any]] = list(report.get("assumptions") or [])
    status = str(report.get("status", "")) or "UNKNOWN"
    exit_code = int(report.get("exit_code", 2))
    kinds = _counts(findings, "kind")
    states = _counts(assumptions, "status")
    body = [
        f'<header class="verdict {VERDICT_CLASS.get(exit_code, "warn")}">'
        f"<h1>GoEvent drift report — {_e(status)}</h1>"
        f"<p><strong>{_e(report.get('reason'))}</strong></p>"
        f"<p>Target {_e(report.get('target'))} · started {_e(report.get('started'))} · "
        f"{_e(report.get('duration_s'))} s · {_e(report.get('requests'))} requests · "
        f"exit {exit_code}</p></header>",
        '<div class="cards">'
        f'<div class="card"><b>{kinds["broke"]}</b>breaking</div>'
        f'<div class="card"><b>{kinds["grew"]}</b>additive</div>'
        f'<div class="card"><b>{states["refuted"]}</b>assumptions refuted</div>'
        f'<div class="card"><b>{states["confirmed"]}</b>confirmed</div>'
        f'<div class="card"><b>{states["untested"]}</b>untested</div></div>',
    ]
    options = report.get("options") or {}
    if options:
        additive = "fail" if options.get("fail_on_additive") else "do not fail"
        body.append(
            f'<p class="muted">Phases {_e(", ".join(options.get("phases") or []) or "none")} · '
            f"seed {_e(options.get('seed'))} · additive findings {additive} the run</p>"
        )
    by_operation: dict[str, list[tuple[int, Mapping[str, Any]]]] = {}
    ordered = sorted(findings, key=lambda f: f.get("kind") != "broke")  # breaking first
    for number, f in enumerate(ordered, 1):
        by_operation.setdefault(str(f.get("operation", "?")), []).append((number, f))
    body.append('<h2 id="chart">At a glance</h2>')
    rows = [
        (op, Counter(str(f.get("kind")) for _, f in items)) for op, items in by_operation.items()
    ]
    if rows:
        body += [
            _bars("Findings per operation", rows, ("broke", "grew")),
            _legend(("broke", "grew")),
        ]
    else:
        body.append("<p>No finding.</p>")
    if assumptions:
        body += [
            _bars("Assumptions", [("assumptions", states)], ASSUMPTION_ORDER),
            _legend(ASSUMPTION_ORDER),
        ]
    body.append('<h2 id="findings">Findings by operation</h2>')
    if not findings:
        body.append("<p>None: the server did what the spec says, as far as this run looked.</p>")
    for op in sorted(by_operation):
        items = by_operation[op]
        body.append(f'<section id="op-{_e(op)}"><h3>{_e(op)} ({len(items)})</h3>')
        body += [_finding(n, f) for n, f in items]
        body.append("</section>")
    if assumptions:
        body += _assumptions(assumptions)
    probes = report.get("probes") or []
    if probes:
        body += [
            '<h2 id="probes">Probes</h2><div class="scroll"><table id="probes-table"><thead><tr>'
            "<th>Probe</th>"
            "<th>Result</th><th>Findings</th><th>Note</th></tr></thead><tbody>",
            *(
                f"<tr><td>{_e(p.get('name'))}</td><td>{_e(p.get('status'))}</td>"
                f'<td class="n">{_e(p.get("findings"))}</td><td>{_e(p.get("reason"))}</td></tr>'
                for p in probes
            ),
            "</tbody></table></div>",
        ]
    known = {"exit_code", "status", "reason", "target", "started", "duration_s", "requests",
             "cases", "options", "findings", "assumptions", "probes"}  # fmt: skip
    for name, value in report.items():
        if name not in known and isinstance(value, list):
            body += _plain_list(name.replace("_", " ").capitalize(), name, value)
    return _page(f"GoEvent drift report — {status}", body)


def _finding_key(f: Mapping[str, Any]) -> str:
    return f"{f.get('operation')} · {f.get('check')} · {f.get('title')}"


def _assumption_key(a: Mapping[str, Any]) -> str:
    return str(a.get("key") or f"{a.get('where')}: {a.get('text')}")


def _trend_chart(reports: Sequence[Report]) -> str:
    """Findings per run (breaking and additive stacked), one column per run, oldest left."""
    col_w, chart_h, left, bottom = 46, 160, 90, 84
    width = left + col_w * len(reports) + 10
    top = max((len(r.get("findings") or []) for r in reports), default=0) or 1
    parts = [
        f'<svg role="img" aria-label="Findings per run" viewBox="0 0 {width} {chart_h + bottom}" '
        f'width="{width}" height="{chart_h + bottom}" xmlns="http://www.w3.org/2000/svg">'
        "<title>Findings per run</title>",
        f'<line x1="{left}" y1="{chart_h}" x2="{width}" y2="{chart_h}" stroke="#8a93a0"/>',
        f'<text x="{left - 6}" y="14" text-anchor="end">{top}</text>',
        f'<text x="{left - 6}" y="{chart_h}" text-anchor="end">0</text>',
    ]
    for i, r in enumerate(reports):
        kinds = _counts(r.get("findings") or [], "kind")
        x, y = left + i * col_w + 8, float(chart_h)
        for name in ("broke", "grew"):
            h = (chart_h - 10) * kinds[name] / top
            if h:
                y -= h
                parts.append(
                    f'<rect x="{x}" y="{y:.1f}" width="{col_w - 16}" height="{h:.1f}" '
                    f'fill="{COLOURS[name]}"><title>{_e(str(r.get("started", ""))[:10])}: '
                    f"{kinds[name]} {name}</title></rect>"
                )
        label = _e(str(r.get("started", ""))[:16].replace("T", " "))
        cx = x + (col_w - 16) / 2
        parts.append(
            f'<text x="{cx:.1f}" y="{chart_h + 12}" text-anchor="end" '
            f'transform="rotate(-45 {cx:.1f} {chart_h + 12})">{label}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def render_trend(reports: Sequence[Report], names: Sequence[str] | None = None) -> str:
    """How findings and assumptions changed over several runs (JSON reports), oldest first."""
    runs = sorted(zip(reports, names or [""] * len(reports), strict=True),
                  key=lambda pair: str(pair[0].get("started", "")))  # fmt: skip
    ordered = [r for r, _ in runs]
    latest = ordered[-1] if ordered else {}
    previous = ordered[-2] if len(ordered) > 1 else {}
    now = {_finding_key(f) for f in latest.get("findings") or []}
    before = {_finding_key(f) for f in previous.get("findings") or []}
    body = [
        f'<header class="verdict {VERDICT_CLASS.get(int(latest.get("exit_code", 2)), "warn")}">'
        f"<h1>GoEvent drift trend — {len(ordered)} run(s)</h1>"
        f"<p><strong>Latest: {_e(latest.get('status'))} — {_e(latest.get('reason'))}</strong></p>"
        f"<p>{len(now - before)} new finding(s), {len(before - now)} gone, "
        f"{len(now & before)} still there since the run before.</p></header>",
        '<h2 id="chart">Findings per run</h2>',
        _trend_chart(ordered),
        _legend(("broke", "grew")),
        '<h2 id="runs">Runs</h2><div class="scroll"><table id="runs-table"><thead><tr>'
        "<th>Started</th>"
        "<th>Verdict</th><th>Breaking</th><th>Additive</th><th>Refuted</th><th>Requests</th>"
        "<th>Report</th></tr></thead><tbody>",
    ]
    for r, name in runs:
        kinds = _counts(r.get("findings") or [], "kind")
        refuted = _counts(r.get("assumptions") or [], "status")["refuted"]
        body.append(
            f"<tr><td>{_e(r.get('started'))}</td><td>{_e(r.get('status'))}</td>"
            f'<td class="n">{kinds["broke"]}</td><td class="n">{kinds["grew"]}</td>'
            f'<td class="n">{refuted}</td><td class="n">{_e(r.get("requests"))}</td>'
            f"<td><code>{_e(name)}</code></td></tr>"
        )
    body.append("</tbody></table></div>")
    seen: dict[str, Mapping[str, Any]] = {}
    for r in ordered:
        for f in r.get("findings") or []:
            seen.setdefault(_finding_key(f), f)
    # Once per run, not once per row: the runs' dates, finding keys and assumption statuses.
    heads = "".join(f"<th>{_e(str(r.get('started', ''))[:16])}</th>" for r in ordered)
    found_in = [{_finding_key(f) for f in r.get("findings") or []} for r in ordered]
    status_in = [
        {_assumption_key(a): str(a.get("status")) for a in reversed(r.get("assumptions") or [])}
        for r in ordered
    ]
    body.append('<h2 id="findings">Findings over time</h2>')
    if not seen:
        body.append("<p>No run found anything.</p>")
    else:
        body.append(
            '<div class="scroll"><table id="findings-table"><thead><tr><th>Finding</th>'
            "<th>Now</th>"
            f"{heads}</tr>"
            "</thead><tbody>"
        )
        for key in sorted(seen, key=lambda k: (k not in now, k)):
            state = ("new" if key not in before and previous else "still") if key in now else "gone"
            cells = "".join("<td>●</td>" if key in keys else "<td></td>" for keys in found_in)
            kind = str(seen[key].get("kind"))
            body.append(
                f'<tr><td><span class="badge b-{_e(kind)}">{_e(kind)}</span> {_e(key)}</td>'
                f"<td>{state}</td>{cells}</tr>"
            )
        body.append("</tbody></table></div>")
    changes = []
    for key in sorted({k for statuses_of in status_in for k in statuses_of}):
        statuses = [statuses_of.get(key, "—") for statuses_of in status_in]
        if len(set(statuses)) > 1 or statuses[-1] == "refuted":
            changes.append((key, statuses))
    body.append('<h2 id="assumptions">Assumptions that changed or stand refuted</h2>')
    if not changes:
        body.append("<p>None.</p>")
    else:
        body.append(
            '<div class="scroll"><table id="changes-table"><thead><tr><th>Assumption</th>'
            f"{heads}</tr>"
            "</thead><tbody>"
        )
        for key, statuses in changes:
            cells = "".join(
                f'<td><span class="badge b-{_e(s)}">{_e(s)}</span></td>'
                if s != "—"
                else "<td>—</td>"
                for s in statuses
            )
            body.append(f"<tr><td>{_e(key)}</td>{cells}</tr>")
        body.append("</tbody></table></div>")
    return _page("GoEvent drift trend", body)
