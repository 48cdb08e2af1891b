"""``bench/proxy_latency.py`` runs end to end; no timing is asserted (speed lives in bench/)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_the_proxy_latency_bench_measures_both_proxies_side_by_side(tmp_path: Path) -> None:
    out = tmp_path / "latency.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "proxy_latency.py"), "--pairs", "5", "--warmup",
         "1", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(out.read_text())
    rows = result["rows"]
    assert [(r["request"], r["target"]) for r in rows] == [
        (request, target)
        for request in ("getEvent", "listEvents (limit 20)", "listParticipants (limit 100)")
        for target in ("forward-only", "proxy")
    ]
    for row in rows:
        assert row["pairs"] == 5
        assert row["direct_p50_ms"] > 0
        assert row["proxy_p50_ms"] > 0
    assert "| getEvent | proxy |" in done.stdout
