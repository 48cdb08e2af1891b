"""Proof that the drift command catches drift: every variant of the corpus is reported, with
the right operation and kind, and the unmodified fake yields no finding at all.

Each run serves the (drifted) fake on a free port (granian, as `serve` does) and runs
``goevent-mock drift`` against its URL, as a team runs it against the live API.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from mockserver.drift.target import ALL_PHASES
from tests.drift_corpus import VARIANTS, drift_against, fake_app

# Small example budget: the corpus must stay well under two minutes on 2 cores.
FAST = ("--max-examples", "5")


def _drift(app: Any, tmp_path: Path, *args: str, writes: bool = True) -> tuple[int, dict[str, Any]]:
    report = tmp_path / "drift.json"
    code = drift_against(app, "--json", str(report), *FAST, *args, writes=writes)
    return code, json.loads(report.read_text())


def test_the_corpus_covers_the_drifts_a_live_api_shows() -> None:
    assert len(VARIANTS) >= 15
    kinds = {v.kind for v in VARIANTS.values()}
    assert kinds == {"broke", "grew"}
    for variant in VARIANTS.values():
        assert variant.expect, variant.name
        assert set(variant.phases) <= set(ALL_PHASES), variant.name
    # docs/drift.md counts the variants and lists each one in its corpus table.
    doc = (Path(__file__).parents[1] / "docs/drift.md").read_text()
    assert f"holds {len(VARIANTS)} variants" in doc
    assert set(re.findall(r"^\| `(\w+)` \|", doc, re.MULTILINE)) == set(VARIANTS)


def test_the_unmodified_fake_yields_no_finding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    md, xml = tmp_path / "drift.md", tmp_path / "drift.xml"
    code, report = _drift(
        fake_app(),
        tmp_path,
        "--phases",
        ",".join(ALL_PHASES),
        "--report",
        str(md),
        "--junit",
        str(xml),
    )
    out = capsys.readouterr().out

    assert code == 0, out
    assert report["findings"] == []
    assert report["errors"] == []
    assert {p["status"] for p in report["probes"]} == {"passed"}
    assert not [a for a in report["assumptions"] if a["status"] == "refuted"]
    confirmed = [a for a in report["assumptions"] if a["status"] == "confirmed"]
    assert len(confirmed) >= 15
    # Every phase generated cases, and the requests were counted.
    assert set(report["cases"]) == set(ALL_PHASES)
    assert report["requests"] > 300
    # The first line says what the run will do; the last says what it found.
    lines = out.strip().splitlines()
    assert lines[0].startswith("goevent contract run against http://127.0.0.1:")
    assert "buys tickets only for test event" in lines[0]
    assert lines[-1] == "goevent drift: NO DRIFT (exit 0): no drift"
    assert "# GoEvent drift report — NO DRIFT" in md.read_text()
    suite = ET.parse(xml).getroot()
    assert suite.get("failures") == "0"
    assert suite.get("errors") == "0"
    assert int(suite.get("tests", "0")) >= 10


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_every_variant_is_reported(name: str, tmp_path: Path) -> None:
    variant = VARIANTS[name]
    phases = ",".join(variant.phases) or "none"
    code, report = _drift(variant.build(), tmp_path, "--phases", phases)

    assert code == 1, report["reason"]
    found = {(f["operation"], f["check"]): f for f in report["findings"]}
    named = [found[key] for key in variant.expect if key in found]
    assert named, f"{name}: expected one of {variant.expect}, found {sorted(found)}"
    assert {f["kind"] for f in named} == {variant.kind}
    for finding in named:
        assert finding["curl"].startswith("curl ")
        assert finding["spec_says"]
        assert finding["server_did"]
    assert report["reason"].startswith("drift: ")


def test_additive_drift_is_reported_apart_and_may_pass(tmp_path: Path) -> None:
    variant = VARIANTS["additive_field"]
    code, report = _drift(variant.build(), tmp_path, "--phases", "fuzzing", "--no-fail-on-additive")

    assert code == 0, report["reason"]
    grew = [f for f in report["findings"] if f["kind"] == "grew"]
    assert grew
    assert all(f["check"] == "api_grew" for f in grew)
    assert any("$.events[*].timezone" in f["server_did"] for f in grew)
    assert not [f for f in report["findings"] if f["kind"] == "broke"]
    assert report["reason"].startswith("no drift (")


def test_a_renamed_participant_is_caught_where_it_is_shown(tmp_path: Path) -> None:
    """Echo fidelity: a name the API shows otherwise than it was sent is drift, on the
    operation that shows it: the purchase's answer and the participant list."""
    code, report = _drift(VARIANTS["participant_renamed"].build(), tmp_path, "--phases", "none")

    assert code == 1, report["reason"]
    echoes = [f for f in report["findings"] if f["check"] == "echo_fidelity"]
    assert {f["operation"] for f in echoes} == {"createTickets", "listParticipants"}
    assert {f["kind"] for f in echoes} == {"broke"}
    for finding in echoes:
        assert "last_name" in finding["title"]
        assert finding["spec_says"] == "last_name is shown as sent: 'Probe'"
        assert finding["server_did"] == "last_name shown as 'PROBE'"
        assert finding["assumptions"] == ["echo-fidelity"]
        assert finding["curl"].startswith("curl ")
    # Nothing else drifted: the first name, e-mail, phone and ticket lines came back as sent.
    assert {f["check"] for f in report["findings"]} == {"echo_fidelity"}
    (verdict,) = [a for a in report["assumptions"] if a["key"] == "echo-fidelity"]
    assert verdict["status"] == "refuted"
