"""``python bench/purchases.py --smoke`` runs end to end against a served fake: every
window's inventory exact, every figure present. No timing is asserted (speed is measured
by the benchmark itself, on demand: docs/benchmarks.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_the_purchases_benchmark_smoke_sells_exactly_what_it_answers(tmp_path: Path) -> None:
    out = tmp_path / "purchases.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "purchases.py"), "--smoke", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    result = json.loads(out.read_text())
    printed = next(x for x in done.stdout.splitlines() if x.startswith("PURCHASES_JSON "))
    assert json.loads(printed.removeprefix("PURCHASES_JSON ")) == result
    assert result["inventory_exact"] is True
    assert result["purchases"] >= 600
    windows = result["windows"]
    assert windows
    runs = [result["warm_up"], *windows]
    assert sum(w["purchases"] for w in runs) == result["purchases"]
    assert all(w["exact"] and w["sold"] == w["purchases"] > 0 for w in runs)
    assert all(w["p99_ms"] >= w["p50_ms"] > 0 and w["rss_mb"] > 0 for w in runs)
    assert result["rss_end_mb"] > 0
    assert "p99 last window / first window" in done.stdout
    assert "bytes per purchase" in done.stdout
