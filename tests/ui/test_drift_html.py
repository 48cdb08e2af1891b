"""The HTML drift report and the trend page: made by real drift runs against drifted
fakes (the corpus), checked as files and opened in a real browser with the network cut.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from mockserver.cli import main
from mockserver.drift.html import render_html
from tests.drift_corpus import VARIANTS, drift_against, fake_app

from .conftest import Tab

# Small budgets: three runs in a few seconds. Each run is what a night's run would be.
RUNS = (
    ("night-1", None, ("--phases", "none")),
    ("night-2", "additive_field",
     ("--phases", "fuzzing", "--max-examples", "3", "--operation", "listEvents",
      "--operation", "getEvent")),
    ("night-3", "limit_not_enforced",
     ("--phases", "fuzzing", "--max-examples", "3", "--operation", "listEvents",
      "--operation", "listParticipants")),
)  # fmt: skip


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, Path, Path]]:
    """Each night's exit status, JSON report and HTML report."""
    folder = tmp_path_factory.mktemp("drift")
    made = {}
    for name, variant, flags in RUNS:
        app = fake_app() if variant is None else VARIANTS[variant].build()
        json_path, html_path = folder / f"{name}.json", folder / f"{name}.html"
        code = drift_against(app, "--json", str(json_path), "--html", str(html_path), *flags)
        made[name] = (code, json_path, html_path)
    return made


def _offline(tab: Tab) -> list[str]:
    """Cut the page off the network: every request but the file itself is refused and kept."""
    asked: list[str] = []

    def refuse(route: Any) -> None:
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            asked.append(route.request.url)
            route.abort()

    tab.page.route("**/*", refuse)
    return asked


def test_the_html_report_puts_the_verdict_first_and_groups_findings_by_operation(
    reports: dict[str, tuple[int, Path, Path]], tab: Tab
) -> None:
    code, json_path, html_path = reports["night-3"]
    data = json.loads(json_path.read_text())
    html = html_path.read_text()

    assert code == 1
    assert data["status"] == "DRIFT FOUND"
    # Rendered from the JSON report's structure: the same page again from drift.json.
    assert render_html(data) == html
    # Self-contained: nothing to fetch (the SVG namespace is a name, not a request).
    assert not re.search(r"""(src=|<link|@import|url\(|href=["']?https?:)""", html)
    asked = _offline(tab)
    tab.page.goto(html_path.as_uri())
    first = tab.page.locator("h1").first
    assert first.inner_text() == "GoEvent drift report — DRIFT FOUND"
    assert tab.page.evaluate("document.querySelector('h1').getBoundingClientRect().top") < 100
    for f in data["findings"]:
        section = tab.page.locator(f"#op-{f['operation']}")
        assert f["curl"] in section.inner_text()
        assert f["title"] in section.inner_text()
    operations = {f["operation"] for f in data["findings"]}
    assert tab.page.locator("section[id^=op-]").count() == len(operations) == 2
    rows = tab.page.locator("#assumptions-table tbody tr")
    assert rows.count() == len(data["assumptions"]) > 0
    assert rows.first.locator(".badge").inner_text() == "refuted"  # refuted first
    chart = tab.page.locator('svg[aria-label="Findings per operation"] rect')
    assert chart.count() == len(operations)
    assert tab.page.locator('svg[aria-label="Assumptions"]').count() == 1
    tab.shoot("drift-report")
    assert asked == []
    assert tab.console.errors == []


def test_a_clean_run_says_so_without_a_finding_section(
    reports: dict[str, tuple[int, Path, Path]],
) -> None:
    code, _, html_path = reports["night-1"]
    html = html_path.read_text()

    assert code == 0
    assert "<h1>GoEvent drift report — NO DRIFT</h1>" in html
    assert 'class="verdict ok"' in html
    assert "<section id=" not in html
    assert "None: the server did what the spec says" in html


def test_drift_trend_shows_how_findings_changed_over_the_nights(
    reports: dict[str, tuple[int, Path, Path]], tab: Tab, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    folder = reports["night-1"][1].parent
    out = tmp_path / "trend.html"

    code = main(["drift-trend", str(folder), "--html", str(out)])

    assert code == 0
    assert capsys.readouterr().out.strip() == f"goevent drift-trend: 3 report(s) -> {out}"
    asked = _offline(tab)
    tab.page.goto(out.as_uri())
    page = tab.page
    assert page.locator("h1").inner_text() == "GoEvent drift trend — 3 run(s)"
    header = page.locator("header").inner_text()
    assert "2 new finding(s), 2 gone, 0 still there" in header
    runs = page.locator("#runs-table tbody tr")
    assert [runs.nth(i).locator("td").nth(1).inner_text() for i in range(3)] == [
        "NO DRIFT", "DRIFT FOUND", "DRIFT FOUND"]  # fmt: skip
    findings = page.locator("#findings-table tbody tr")
    assert findings.count() == 4
    states = sorted(findings.nth(i).locator("td").nth(1).inner_text() for i in range(4))
    assert states == ["gone", "gone", "new", "new"]
    assert page.locator('svg[aria-label="Findings per run"] rect').count() == 2
    tab.shoot("drift-trend")
    assert asked == []
    assert tab.console.errors == []


def test_drift_trend_refuses_what_is_not_a_report_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other.json"
    other.write_text('{"events": []}')
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    out = tmp_path / "trend.html"

    assert main(["drift-trend", str(other), "--html", str(out)]) == 2
    assert f"{other} is not a JSON drift report" in capsys.readouterr().err
    assert main(["drift-trend", str(broken), "--html", str(out)]) == 2
    assert f"cannot read {broken}" in capsys.readouterr().err
    assert main(["drift-trend", str(tmp_path / "nothing"), "--html", str(out)]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert not out.exists()
