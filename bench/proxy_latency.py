"""The proxy's added latency: the same requests straight to the fake and through the proxy.

The fake and the proxy run as a user runs them (``goevent-mock serve`` and
``goevent-mock proxy --upstream …``), on 127.0.0.1 only, with a control: the
same proxy with its checks switched off (``proxy_forward_only.py``), which
shows what forwarding alone adds. One keep-alive connection per target; each
round sends the same request to the three, one at a time, in rotated order,
so all see the same machine at the same moment. Added latency is reported two
ways: the difference of the p50s (and p99s), and the p50/p99 of the
per-round difference. The CPU time per request of each proxy process
(``/proc/PID/stat``) is the figure a loaded machine disturbs least.

    python bench/proxy_latency.py                 # 2000 rounds per request kind
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


RECONNECTS = {"count": 0}


def _get(conn: http.client.HTTPConnection, path: str) -> float:
    """Seconds for one GET on the kept-alive ``conn``; a dropped connection is retried once."""
    for attempt in (1, 2):
        start = time.perf_counter()
        try:
            conn.request("GET", path, headers=AUTH)
            response = conn.getresponse()
            response.read()
        except (ConnectionError, http.client.HTTPException):
            conn.close()  # the next request opens a new connection; this one is not timed
            if attempt == 2:
                raise
            RECONNECTS["count"] += 1
            continue
        elapsed = time.perf_counter() - start
        if response.status != 200:
            raise RuntimeError(f"GET {path} answered {response.status}")
        return elapsed
    raise AssertionError("unreachable")


def _cpu_s(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (Linux /proc)."""
    import os

    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _stats(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"p50_ms": _pct(ordered, 50) * 1e3, "p99_ms": _pct(ordered, 99) * 1e3}


def measure(pairs: int, warmup: int) -> dict[str, Any]:
    ports = {name: free_port() for name in ("fake", "forward-only", "proxy")}
    roots = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    upstream = roots["fake"] + API
    argv = {
        "fake": [*_cli(), "serve", "--port", str(ports["fake"])],
        "forward-only": [sys.executable, str(Path(__file__).with_name("proxy_forward_only.py")),
                         str(ports["forward-only"]), upstream],
        "proxy": [*_cli(), "proxy", "--port", str(ports["proxy"]), "--upstream", upstream],
    }  # fmt: skip
    with ExitStack() as stack:
        servers = {
            name: stack.enter_context(
                Server(
                    f"latency-{name}",
                    argv[name],
                    f"{roots[name]}{API}/events?limit=1",
                    headers=AUTH,
                )
            )
            for name in argv
        }
        conns = {
            n: http.client.HTTPConnection("127.0.0.1", p, timeout=10) for n, p in ports.items()
        }
        for conn in conns.values():
            stack.callback(conn.close)
        conns["fake"].request("GET", f"{API}/events?limit=1", headers=AUTH)
        event_id = json.loads(conns["fake"].getresponse().read())["events"][0]["id"]
        kinds = {
            "getEvent": f"{API}/event/{event_id}",
            "listEvents (limit 20)": f"{API}/events?page=1&limit=20",
            "listParticipants (limit 100)": f"{API}/participants?eventId={event_id}&limit=100",
        }
        names = list(conns)
        rows = []
        for label, path in kinds.items():
            for _ in range(warmup):
                for conn in conns.values():
                    _get(conn, path)
            times: dict[str, list[float]] = {n: [] for n in names}
            cpu = {n: _cpu_s(servers[n].pid) for n in names}
            for i in range(pairs):
                for name in names[i % 3 :] + names[: i % 3]:  # rotated: none always first
                    times[name].append(_get(conns[name], path))
            direct = _stats(times["fake"])
            for name in ("forward-only", "proxy"):
                through = _stats(times[name])
                diff = _stats([b - a for a, b in zip(times["fake"], times[name], strict=True)])
                rows.append({
                    "request": label, "target": name, "pairs": pairs,
                    "direct_p50_ms": direct["p50_ms"], "direct_p99_ms": direct["p99_ms"],
                    "proxy_p50_ms": through["p50_ms"], "proxy_p99_ms": through["p99_ms"],
                    "added_p50_ms": through["p50_ms"] - direct["p50_ms"],
                    "added_p99_ms": through["p99_ms"] - direct["p99_ms"],
                    "pair_diff_p50_ms": diff["p50_ms"], "pair_diff_p99_ms": diff["p99_ms"],
                    "proxy_cpu_ms": (_cpu_s(servers[name].pid) - cpu[name]) / pairs * 1e3,
                })  # fmt: skip
    return {
        "goal": "added p50 < 1 ms",
        "load_average": _load(),
        "reconnects": RECONNECTS["count"],
        "rows": rows,
    }


def _load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def table(result: dict[str, Any]) -> str:
    lines = [
        "| Request | through | direct p50 | through p50 | added p50 | direct p99 | through p99 "
        "| added p99 | per-triplet added p50 / p99 | CPU per request of the proxy |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        lines.append(
            f"| {r['request']} | {r['target']} | {r['direct_p50_ms']:.2f} ms | "
            f"{r['proxy_p50_ms']:.2f} ms | **{r['added_p50_ms']:.2f} ms** | "
            f"{r['direct_p99_ms']:.2f} ms | {r['proxy_p99_ms']:.2f} ms | "
            f"{r['added_p99_ms']:.2f} ms | "
            f"{r['pair_diff_p50_ms']:.2f} / {r['pair_diff_p99_ms']:.2f} ms | "
            f"{r['proxy_cpu_ms']:.2f} ms |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=2000, help="rounds per request kind")
    parser.add_argument("--warmup", type=int, default=100, help="unmeasured rounds first")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the result here")
    args = parser.parse_args(argv)
    if not 1 <= args.pairs <= 100_000:
        parser.error(f"--pairs must be between 1 and 100000, got {args.pairs}")
    result = measure(args.pairs, max(0, args.warmup))
    print(table(result))
    print(
        f"load average {result['load_average']} (machine-wide, at the end of the run); "
        f"{result['reconnects']} dropped keep-alive connection(s) reopened, untimed"
    )
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
