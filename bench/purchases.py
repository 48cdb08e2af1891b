"""Purchases that stay fast: 1,000,000 ``POST /tickets/create`` against a served fake.

    python bench/purchases.py                 # 1,000,000 purchases in windows of 100,000
    python bench/purchases.py --smoke         # a few hundred, to check the machinery

The fake is started as users start it (``goevent-mock serve``, one process) on a free
loopback port; one ticket type gets enough stock for the whole run (loaded through
``POST /_mock/fixtures``). wrk (``bench/wrk/purchase.lua``, 32 connections) drives it:
a 3 s warm-up that measures the rate, then one run per window, each sized from the rate
of the one before to sell about one window's worth (the count sold is printed). After each
window it prints the purchases answered 200, their rate, wrk's p50/p99 for the window, the
server's RSS, and whether the inventory is exact (tickets sold == 200 answers, every
purchase sent answered). At the end: last-window p99 / first-window p99 (target <= 1.5),
RSS growth in all (target < 300 MB) and per purchase. A last line ``PURCHASES_JSON {...}``
carries every figure for ``bench/run.py``. Exit status 1 if the inventory was ever not
exact; the speed targets are reported, never asserted.

Without wrk (``--smoke`` on a fresh CI machine), the harness's Python driver is used: it
exercises the machinery, its figures are not a measurement.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (  # bench/ is a directory of scripts, not a package
    CACHE,
    ROOT,
    BenchError,
    PythonDriver,
    Server,
    Wrk,
    ensure_wrk,
    free_port,
    http_get,
)

API = "/developers/v1.0"
TOKEN = "goevent-dev-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _post_json(url: str, payload: Any) -> tuple[int, bytes]:
    data = json.dumps(payload).encode()
    request = urllib.request.Request(
        url, data=data, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _stock_up(root: str, stock: int) -> tuple[str, str, str]:
    """Give one ticket type of organizer 1 ``stock`` tickets; its event, ticket, participant."""
    status, body = http_get(f"{root}/_mock/state")
    if status != 200:
        raise BenchError(f"GET /_mock/state answered {status}")
    state = json.loads(body)
    organizer = state["organizers"][0]["id"]
    event = next(e for e in state["events"] if e["organizerId"] == organizer and e["participants"])
    event["tickets"][0]["quantity"] = stock
    status, body = _post_json(f"{root}/_mock/fixtures", state)
    if status != 200:
        raise BenchError(f"POST /_mock/fixtures answered {status}: {body[:300]!r}")
    return event["id"], event["tickets"][0]["id"], event["participants"][0]["id"]


def _quantity(root: str, event_id: str, ticket_id: str) -> int:
    status, body = http_get(f"{root}{API}/tickets?eventId={event_id}", AUTH)
    if status != 200:
        raise BenchError(f"GET /tickets answered {status}: {body[:300]!r}")
    tickets = json.loads(body)["tickets"]
    return int(next(t for t in tickets if t["id"] == ticket_id)["quantity"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--purchases", type=int, default=1_000_000, help="in all (default 1e6)")
    parser.add_argument("--window", type=int, default=100_000, help="purchases per window")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (32)")
    parser.add_argument("--smoke", action="store_true",
                        help="600 purchases in windows of 200 (the Python driver "
                        "where wrk is missing)")  # fmt: skip
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    if args.smoke:
        args.purchases, args.window, args.connections = 600, 200, 4
    wrk_path = ensure_wrk(allow_install=False)
    driver: Wrk | PythonDriver = Wrk(wrk_path, threads=1) if wrk_path else PythonDriver()
    measured = driver.is_measurement

    port = free_port()
    script = Path(sys.executable).with_name("goevent-mock")
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "mockserver.cli"]
    root = f"http://127.0.0.1:{port}"
    fake = Server("fake-purchases", [*cmd, "serve", "--port", str(port)],
                  f"{root}/_mock/health", base=root)  # fmt: skip
    body_file = CACHE / "purchases-request.json"
    body_file.parent.mkdir(parents=True, exist_ok=True)
    windows: list[dict[str, Any]] = []
    warm_up: dict[str, Any] = {}
    exact_all = True
    with fake:
        event_id, ticket_id, participant_id = _stock_up(root, args.purchases * 2 + 100_000)
        body = {"eventId": event_id, "tickets": [{"ticket_id": ticket_id, "quantity": 1}],
                "participant": {"participantId": participant_id}}  # fmt: skip
        body_file.write_text(json.dumps(body))
        rss_start = fake.rss_mb()
        print(f"driver: {driver.name}; fake pid {fake.pid}, RSS {rss_start:.1f} MB at start; "
              f"{args.purchases:,} purchases in windows of {args.window:,}",
              flush=True)  # fmt: skip
        print(f"{'window':>6} {'purchases':>10} {'total':>10} {'rate/s':>8} {'p50 ms':>7} "
              f"{'p99 ms':>7} {'RSS MB':>7}  inventory", flush=True)  # fmt: skip
        total, elapsed, rate, warmed = 0, 0.0, 0.0, 0
        while total - warmed < args.purchases:  # the warm-up's purchases come on top
            # The first run (3 s) measures the rate; each window after it is sized from the
            # rate of the window before, to sell about --window purchases.
            warm = not windows and rate == 0.0
            left = args.purchases - (total - warmed)
            # The last window takes all that is left, aiming 10% over: a run that falls a
            # little short must not leave a runt window of a few thousand behind it.
            want = int(left * 1.1) if left < 1.5 * args.window else args.window
            # Purchases stop `grace` s before wrk does, so none is in flight when wrk drops
            # its connections (bench/wrk/purchase.lua says why): inventory stays exact.
            grace = 0.3 if measured else 0.5
            seconds = max(1, round(want / rate + grace)) if not warm else 1 if args.smoke else 3
            buy = seconds - grace
            before = _quantity(root, event_id, ticket_id)
            run = driver.run(f"{root}{API}/tickets/create", connections=args.connections,
                             seconds=seconds, headers=AUTH,
                             script=ROOT / "bench" / "wrk" / "purchase.lua",
                             script_args=[f"{API}/tickets/create", str(body_file), f"{buy:g}",
                                          TOKEN])  # fmt: skip
            after = _quantity(root, event_id, ticket_id)
            x = run.extra
            answered = x["ok"] + x["sold_out"] + x["other"]
            exact = before - after == x["ok"] and answered == x["sent"] and x["other"] == 0
            exact_all &= exact
            total += x["ok"]
            elapsed += buy
            rate = max(50.0, x["ok"] / buy)
            w = {"purchases": x["ok"], "total": total, "rate": x["ok"] / buy,
                 "p50_ms": run.p50_ms, "p99_ms": run.p99_ms, "rss_mb": fake.rss_mb(),
                 "exact": exact, "sold": before - after}  # fmt: skip
            label = "warm" if warm else str(len(windows) + 1)
            print(f"{label:>6} {w['purchases']:>10,} {total:>10,} {w['rate']:>8,.0f} "
                  f"{w['p50_ms']:>7.2f} {w['p99_ms']:>7.2f} {w['rss_mb']:>7.1f}  "
                  f"{'exact' if exact else 'NOT EXACT'} (sold {before - after:,}, "
                  f"200 answers {x['ok']:,}, sent {x['sent']:,}, other {x['other']})",
                  flush=True)  # fmt: skip
            if warm:
                warm_up, warmed = w, x["ok"]
            else:
                windows.append(w)
        rss_end = fake.rss_mb()
    growth = rss_end - rss_start
    ratio = windows[-1]["p99_ms"] / windows[0]["p99_ms"] if windows[0]["p99_ms"] else math.nan
    summary = {
        "driver": driver.name, "measured": measured, "purchases": total,
        "warm_up": warm_up, "windows": windows, "rss_start_mb": rss_start, "rss_end_mb": rss_end,
        "rss_growth_mb": growth, "rss_bytes_per_purchase": growth * 2**20 / max(total, 1),
        "p99_last_over_first": ratio, "inventory_exact": exact_all,
        "rate_per_s": total / elapsed if elapsed else 0.0,
    }  # fmt: skip
    print(f"\n{total:,} purchases at {summary['rate_per_s']:,.0f}/s; inventory "
          f"{'exact in every window' if exact_all else 'NOT EXACT'}")  # fmt: skip
    print(f"p99 last window / first window: {windows[-1]['p99_ms']:.2f} / "
          f"{windows[0]['p99_ms']:.2f} ms = {ratio:.2f} (target <= 1.5)")  # fmt: skip
    print(f"RSS {rss_start:.1f} -> {rss_end:.1f} MB: +{growth:.1f} MB (target < 300), "
          f"{summary['rss_bytes_per_purchase']:.0f} bytes per purchase")  # fmt: skip
    if not measured:
        print("(the Python driver is not a measurement: install wrk for real figures)")
    print("PURCHASES_JSON " + json.dumps(summary), flush=True)
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))
    return 0 if exact_all else 1


if __name__ == "__main__":
    sys.exit(main())
