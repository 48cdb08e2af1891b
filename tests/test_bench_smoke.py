"""The benchmark runs end to end (``python bench/run.py --smoke``) and its inventory is exact.

No timing is asserted: speed is measured by the benchmark itself, on demand
(docs/benchmarks.md). Where wrk is not installed (a fresh CI machine), the
smoke drives the servers with its Python driver, labelled as not a
measurement, so the harness is still exercised rather than skipped.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parents[1]
RUN = ROOT / "bench" / "run.py"


def smoke(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, str(RUN), "--smoke", "--json", str(out), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    return done, json.loads(out.read_text())


def rows(result: dict[str, Any], scenario: str) -> dict[str, dict[str, Any]]:
    return {r["server"]: r for r in result["rows"] if r["scenario"] == scenario}


def test_the_bench_smoke_runs_every_scenario_and_the_inventory_is_exact(tmp_path: Path) -> None:
    done, result = smoke(tmp_path)
    assert result["smoke"] is True
    # wrk when installed, else the Python driver, which says it is not a measurement.
    if shutil.which("wrk"):
        assert result["driver"] == "wrk"
        assert result["measurement"] is True
    else:
        assert result["measurement"] is False
        assert "NOT A MEASUREMENT" in done.stdout
    # The ceiling on granian (a runtime dependency) runs in the smoke too; the peers that
    # need npm or Java never do, and it says so.
    events = rows(result, "GET /events?limit=20")
    assert set(events) == {"fake", "bare-starlette", "bare-granian"}
    assert len({row["size"] for row in events.values()}) == 1
    assert events["fake"]["size"] > 1000
    skips = result["skipped"]
    assert "WireMock, Mockoon CLI, Prism, Node http (need npm/java): --smoke runs Python " \
        "servers only" in skips
    assert "1,000,000 purchases (bench/purchases.py): not in --smoke" in skips
    assert len(skips) == 2
    assert "skipped: WireMock, Mockoon CLI, Prism, Node http" in done.stdout
    # Every GET operation against bare Starlette serving that operation's own bytes.
    for scenario in ("GET /event/{id}", "GET /tickets", "GET /participants"):
        ops = rows(result, scenario)
        assert set(ops) == {"fake", "bare-starlette"}, scenario
        assert ops["fake"]["size"] == ops["bare-starlette"]["size"] > 0, scenario
    for scenario in ("GET /events?limit=20", "GET /event/{id}", "GET /tickets",
                     "GET /participants"):  # fmt: skip
        for row in rows(result, scenario).values():
            (run,) = row["runs"]
            assert run["requests"] > 0
            assert run["non_2xx"] == 0
            assert run["errors"] == 0
            assert row["rss_mb"] > 0
    start = rows(result, "start to first answer")
    assert set(start) == {"fake", "bare-starlette"}
    assert all(row["median"] > 0 for row in start.values())
    pages = rows(result, "GET /participants (20,000)")
    assert set(pages) == {"page 1", "last page (1,000)"}
    assert all(r["runs"][0]["non_2xx"] == 0 for r in pages.values())
    assert rows(result, "resident memory (VmRSS)")["20,000 participants"]["median"] > 0
    assert rows(result, "cold start to first 200")["20,000 participants"]["median"] > 0
    purchases = rows(result, "POST /tickets/create")
    assert set(purchases) == {"fake", "bare-starlette"}
    for row in purchases.values():
        (run,) = row["runs"]
        assert run["extra"]["ok"] > 0
        assert run["extra"]["purchases_per_s"] > 0
    assert result["million"] == []
    assert result["targets"]  # computed, but not judged in the smoke
    assert "targets: not judged in --smoke" in done.stdout
    (check,) = result["checks"]
    assert check["what"].startswith("inventory exact")
    assert check["ok"] is True, check["detail"]
    assert_all_stopped(result)


def test_the_python_driver_keeps_the_inventory_exact_and_says_it_is_no_measurement(
    tmp_path: Path,
) -> None:
    done, result = smoke(tmp_path, "--driver", "python", "--only", "purchase")
    assert result["measurement"] is False
    assert result["driver"] == "python-driver (not a measurement)"
    assert "NOT A MEASUREMENT" in done.stdout
    (check,) = result["checks"]
    assert check["ok"] is True, check["detail"]
    purchases = rows(result, "POST /tickets/create")
    assert set(purchases) == {"fake", "bare-starlette"}
    extra = purchases["fake"]["runs"][0]["extra"]
    assert extra["ok"] == extra["sent"] > 0
    assert_all_stopped(result)


def test_the_python_driver_is_refused_outside_the_smoke(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(RUN), "--driver", "python", "--json", str(tmp_path / "x.json")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "--driver python is for --smoke only" in done.stderr
    assert not (tmp_path / "x.json").exists()


def assert_all_stopped(result: dict[str, Any]) -> None:
    """Every server the bench started is gone (its pid is free, or now another program's)."""
    pids = result["server_pids"]
    assert pids
    for pid in pids:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue  # no such process: stopped
        assert b"goevent-mock" not in cmdline, pid
        assert b"bare_starlette" not in cmdline, pid
        assert b"node_bytes" not in cmdline, pid
