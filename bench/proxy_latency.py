"""The proxy's added latency: the same requests straight to the fake and through the proxy.

Both targets run as a user runs them (``goevent-mock serve`` and
``goevent-mock proxy --upstream …``), on 127.0.0.1 only. One keep-alive
connection per target; requests alternate between the two (which goes first
alternates too), one at a time, so both see the same machine at the same
moment. Added latency is reported two ways: the difference of the two p50s
(and p99s), and the p50/p99 of the per-pair difference.

    python bench/proxy_latency.py                 # 2000 pairs per request kind
    python bench/proxy_latency.py --pairs 200 --json out.json

Goal (issue 13): under 1 ms added at p50.
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import Server, _pct, free_port

API = "/developers/v1.0"
AUTH = {"Authorization": "Bearer goevent-dev-token"}


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("goevent-mock")
    return [str(script)] if script.exists() else [sys.executable, "-m", "mockserver.cli"]


def _get(conn: http.client.HTTPConnection, path: str) -> float:
    start = time.perf_counter()
    conn.request("GET", path, headers=AUTH)
    response = conn.getresponse()
    response.read()
    elapsed = time.perf_counter() - start
    if response.status != 200:
        raise RuntimeError(f"GET {path} answered {response.status}")
    return elapsed


def _cpu_s(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (Linux /proc)."""
    import os

    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _stats(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"p50_ms": _pct(ordered, 50) * 1e3, "p99_ms": _pct(ordered, 99) * 1e3}


def measure(pairs: int, warmup: int) -> dict[str, Any]:
    fake_port, proxy_port = free_port(), free_port()
    fake_root, proxy_root = f"http://127.0.0.1:{fake_port}", f"http://127.0.0.1:{proxy_port}"
    with ExitStack() as stack:
        fake = stack.enter_context(Server("fake", [*_cli(), "serve", "--port", str(fake_port)],
                                   f"{fake_root}{API}/events?limit=1", headers=AUTH))  # fmt: skip
        proxy = stack.enter_context(Server(
            "proxy", [*_cli(), "proxy", "--port", str(proxy_port), "--upstream", fake_root + API],
            f"{proxy_root}{API}/events?limit=1", headers=AUTH,
        ))  # fmt: skip
        direct = http.client.HTTPConnection("127.0.0.1", fake_port, timeout=10)
        proxied = http.client.HTTPConnection("127.0.0.1", proxy_port, timeout=10)
        stack.callback(direct.close)
        stack.callback(proxied.close)
        direct.request("GET", f"{API}/events?limit=1", headers=AUTH)
        event_id = json.loads(direct.getresponse().read())["events"][0]["id"]
        kinds = {
            "getEvent": f"{API}/event/{event_id}",
            "listEvents (limit 20)": f"{API}/events?page=1&limit=20",
            "listParticipants (limit 100)": f"{API}/participants?eventId={event_id}&limit=100",
        }
        rows = []
        for label, path in kinds.items():
            for _ in range(warmup):
                _get(direct, path)
                _get(proxied, path)
            straight, through, added = [], [], []
            cpu = (_cpu_s(fake.pid), _cpu_s(proxy.pid))
            for i in range(pairs):
                if i % 2:
                    b, a = _get(proxied, path), _get(direct, path)
                else:
                    a, b = _get(direct, path), _get(proxied, path)
                straight.append(a)
                through.append(b)
                added.append(b - a)
            fake_cpu = (_cpu_s(fake.pid) - cpu[0]) / (2 * pairs)
            proxy_cpu = (_cpu_s(proxy.pid) - cpu[1]) / pairs
            s, t, d = _stats(straight), _stats(through), _stats(added)
            rows.append({
                "request": label, "pairs": pairs,
                "direct_p50_ms": s["p50_ms"], "direct_p99_ms": s["p99_ms"],
                "proxy_p50_ms": t["p50_ms"], "proxy_p99_ms": t["p99_ms"],
                "added_p50_ms": t["p50_ms"] - s["p50_ms"],
                "added_p99_ms": t["p99_ms"] - s["p99_ms"],
                "pair_diff_p50_ms": d["p50_ms"], "pair_diff_p99_ms": d["p99_ms"],
                "fake_cpu_ms": fake_cpu * 1e3, "proxy_cpu_ms": proxy_cpu * 1e3,
            })  # fmt: skip
    return {"goal": "added p50 < 1 ms", "load_average": _load(), "rows": rows}


def _load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def table(result: dict[str, Any]) -> str:
    lines = [
        "| Request | direct p50 | proxy p50 | added p50 | direct p99 | proxy p99 | added p99 "
        "| per-pair added p50 / p99 | CPU per request: fake / proxy |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        lines.append(
            f"| {r['request']} | {r['direct_p50_ms']:.2f} ms | {r['proxy_p50_ms']:.2f} ms | "
            f"**{r['added_p50_ms']:.2f} ms** | {r['direct_p99_ms']:.2f} ms | "
            f"{r['proxy_p99_ms']:.2f} ms | {r['added_p99_ms']:.2f} ms | "
            f"{r['pair_diff_p50_ms']:.2f} / {r['pair_diff_p99_ms']:.2f} ms | "
            f"{r['fake_cpu_ms']:.2f} / {r['proxy_cpu_ms']:.2f} ms |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=2000, help="request pairs per kind")
    parser.add_argument("--warmup", type=int, default=100, help="unmeasured pairs first")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the result here")
    args = parser.parse_args(argv)
    if not 1 <= args.pairs <= 100_000:
        parser.error(f"--pairs must be between 1 and 100000, got {args.pairs}")
    result = measure(args.pairs, max(0, args.warmup))
    print(table(result))
    print(f"load average {result['load_average']} (machine-wide, at the end of the run)")
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
