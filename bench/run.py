"""The benchmark: the fake next to Prism and a bare Starlette app, driven by wrk.

    python bench/run.py            # the full run (about 6 minutes), prints the table
    python bench/run.py --smoke    # a few seconds, tiny sizes: checks the harness runs

Everything runs on 127.0.0.1 in this one command: the fake (``goevent-mock
serve``, one worker), Prism (``@stoplight/prism-cli``, installed with npm
into bench/.cache on first use, mocking openapi/goevent-v1.yaml) and
bench/bare_starlette.py (the same bytes as the fake's answer, precomputed).
Each scenario's servers are measured in turn, round after round (rotated
order), with the same wrk arguments; the table shows medians over the rounds.
See docs/benchmarks.md for a run's results and how to read them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (
    CACHE,
    PRISM_VERSION,
    ROOT,
    STARTED,
    BenchError,
    PythonDriver,
    Run,
    Server,
    Summary,
    Wrk,
    ensure_wrk,
    free_port,
    http_get,
    interleaved,
)

API = "/developers/v1.0"
TOKEN = "goevent-dev-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SPEC = ROOT / "openapi" / "goevent-v1.yaml"
STOCK = 10_000_000  # the purchase scenario's ticket type: never sold out during a run


@dataclass
class Config:
    smoke: bool
    rounds: int
    seconds: float
    warmup: float
    connections: int
    big: int  # participants of the big event
    cold_rounds: int
    prism: bool
    contract: bool
    only: set[str]

    @classmethod
    def from_args(cls, a: argparse.Namespace) -> Config:
        if a.smoke:
            return cls(
                True, 1, 1, 0, 4, a.participants or 20_000, 0, False, False, set(a.only or [])
            )
        return cls(
            False,
            a.rounds,
            a.duration,
            a.warmup,
            a.connections,
            a.participants or 1_000_000,
            a.rounds,
            not a.no_prism,
            not a.no_contract,
            set(a.only or []),
        )


@dataclass
class Row:
    scenario: str
    server: str
    runs: list[Run] = field(default_factory=list)
    size: int | None = None
    note: str = ""
    value: Summary | None = None  # for rows that are not load runs (seconds, MB)
    unit: str = "req/s"

    def rps(self) -> Summary:
        return Summary.of([r.rps for r in self.runs])

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "scenario": self.scenario,
            "server": self.server,
            "unit": self.unit,
            "size": self.size,
            "note": self.note,
        }
        if self.runs:
            out["runs"] = [r.__dict__ | {"rps": r.rps} for r in self.runs]
            s = self.rps()
            out |= {
                "median": s.median,
                "min": s.low,
                "max": s.high,
                "p50_ms": _median([r.p50_ms for r in self.runs]),
                "p99_ms": _median([r.p99_ms for r in self.runs]),
            }
        elif self.value is not None:
            out |= {"median": self.value.median, "min": self.value.low, "max": self.value.high}
        return out


def _median(values: list[float]) -> float:
    return Summary.of(values).median


class Bench:
    def __init__(self, cfg: Config, driver: Wrk | PythonDriver, stack: ExitStack) -> None:
        self.cfg, self.driver, self.stack = cfg, driver, stack
        self.rows: list[Row] = []
        self.checks: list[tuple[str, bool, str]] = []  # (what, passed, detail)
        # This run's files (response bodies, the purchase fixture): removed by main().
        CACHE.mkdir(parents=True, exist_ok=True)
        self.bodies = Path(tempfile.mkdtemp(prefix="run-", dir=CACHE))
        self.purchase_setup: tuple[Path, str, str, str] | None = None

    # -- servers ---------------------------------------------------------------

    def fake(self, name: str, *flags: str, timeout: float = 120.0) -> Server:
        port = free_port()
        script = Path(sys.executable).with_name("goevent-mock")
        cmd = [str(script)] if script.exists() else [sys.executable, "-m", "mockserver.cli"]
        argv = [*cmd, "serve", "--port", str(port), *flags]
        base = f"http://127.0.0.1:{port}"
        return Server(
            name,
            argv,
            f"{base}{API}/events?limit=1",
            headers=AUTH,
            ready_timeout=timeout,
            base=base,
        )

    def bare(self, name: str, body: bytes) -> Server:
        port = free_port()
        path = self.bodies / f"{name}.json"
        path.write_bytes(body)
        argv = [
            sys.executable,
            str(ROOT / "bench" / "bare_starlette.py"),
            "--port",
            str(port),
            "--body-file",
            str(path),
        ]
        base = f"http://127.0.0.1:{port}"
        return Server(name, argv, f"{base}/ready", ready_timeout=60, base=base)

    def prism(self) -> Server | None:
        if not self.cfg.prism:
            return None
        entry = ensure_prism()
        port = free_port()
        argv = ["node", str(entry), "mock", "-h", "127.0.0.1", "-p", str(port), str(SPEC)]
        # Prism serves the spec's paths from the root: it ignores the servers' /developers/v1.0.
        base = f"http://127.0.0.1:{port}"
        return Server(
            "prism", argv, f"{base}/events?limit=1", headers=AUTH, ready_timeout=120, base=base
        )

    def start(self, server: Server) -> Server:
        return self.stack.enter_context(server)

    # -- load ----------------------------------------------------------------------

    def measure(
        self, scenario: str, targets: list[tuple[str, str, int, str]], **run_kw: Any
    ) -> list[Row]:
        """Drive each (server, url, response size, note) in turn for every round."""
        rows = {name: Row(scenario, name, size=size, note=note) for name, _, size, note in targets}
        urls = {name: url for name, url, _, _ in targets}
        if self.cfg.warmup:
            for name in urls:
                self._run(urls[name], self.cfg.warmup, **run_kw)
        for order in interleaved(self.cfg.rounds, list(urls)):
            for name in order:
                run = self._run(urls[name], self.cfg.seconds, **run_kw)
                rows[name].runs.append(run)
                print(
                    f"  {scenario:<28} {name:<24} {run.rps:>9,.0f} req/s  "
                    f"p50 {run.p50_ms:6.2f} ms  p99 {run.p99_ms:7.2f} ms"
                    + (f"  errors {run.errors}" if run.errors else "")
                    + (f"  non-2xx {run.non_2xx}" if run.non_2xx else ""),
                    flush=True,
                )
        self.rows += rows.values()
        return list(rows.values())

    def _run(self, url: str, seconds: float, **kw: Any) -> Run:
        kw.setdefault("headers", AUTH)
        return self.driver.run(url, connections=self.cfg.connections, seconds=seconds, **kw)

    # -- scenarios ---------------------------------------------------------------

    def read_scenarios(self) -> None:
        """GET /events?limit=20 and GET /event/{id}: the fake, Prism, bare Starlette."""
        want = {"events", "event"}
        if self.cfg.only and not self.cfg.only & want:
            return
        # 20 events per organizer: the page of 20 is full, as in a real account.
        fake = self.start(self.fake("fake", "--events-per-organizer", "20"))
        if not self.cfg.only or "purchase" in self.cfg.only:
            self.purchase_setup = self._purchase_fixture(fake.base)
        prism = self.prism()
        if prism is not None:
            self.start(prism)
        status, body = http_get(f"{fake.base}{API}/events?limit=20", AUTH)
        if status != 200:
            raise BenchError(f"the fake answered {status} to GET /events: {body[:300]!r}")
        event_id = json.loads(body)["events"][0]["id"]
        paths = {
            "events": ("GET /events?limit=20", "/events?limit=20"),
            "event": ("GET /event/{id}", f"/event/{event_id}"),
        }
        for key, (title, path) in paths.items():
            if self.cfg.only and key not in self.cfg.only:
                continue
            if self.cfg.smoke and key != "events":
                continue  # one read scenario is enough to check the harness
            status, ours = http_get(f"{fake.base}{API}{path}", AUTH)
            assert status == 200, (status, ours[:200])
            bare = self.start(self.bare(f"bare-{key}", ours))
            targets = [("fake", f"{fake.base}{API}{path}", len(ours), "")]
            if prism is not None:
                # Prism answers the spec's example for any id: the document's single event.
                prism_path = "/events?limit=20" if key == "events" else f"/event/{event_id}"
                status, theirs = http_get(f"{prism.base}{prism_path}", AUTH)
                if status != 200:
                    raise BenchError(f"Prism answered {status} to {prism_path}: {theirs[:300]!r}")
                note = (
                    f"the spec's example: {len(theirs):,} B, smaller than ours"
                    if len(theirs) < len(ours)
                    else "the spec's example"
                )
                targets.append(("prism", f"{prism.base}{prism_path}", len(theirs), note))
            targets.append(
                ("bare-starlette", f"{bare.base}/x", len(ours), "precomputed bytes, same size")
            )
            self.measure(title, targets)
            bare.stop()

    def big_scenarios(self) -> None:
        """An event with 1,000,000 participants: cold start, memory, first and last page."""
        want = {"participants", "coldstart", "memory"}
        if self.cfg.only and not self.cfg.only & want:
            return
        big = [
            "--organizers",
            "1",
            "--events-per-organizer",
            "1",
            "--participants-per-event",
            str(self.cfg.big),
        ]
        n = f"{self.cfg.big:,}"
        cold = not self.cfg.only or "coldstart" in self.cfg.only
        if cold and self.cfg.cold_rounds:
            for label, flags in (("default data set", []), (f"{n} participants", big)):
                times = []
                for _ in range(self.cfg.cold_rounds):
                    with self.fake("fake-cold", *flags) as s:
                        times.append(s.ready_s)
                self.rows.append(
                    Row(
                        "cold start to first 200",
                        label,
                        value=Summary.of(times),
                        unit="s",
                        note="spawn → first 200 on GET /events",
                    )
                )
                print(f"  cold start ({label}): {Summary.of(times).median:.2f} s", flush=True)
        if self.cfg.only and not self.cfg.only & {"participants", "memory"}:
            return
        fake = self.start(self.fake("fake-big", *big))
        rss_ready = fake.rss_mb()
        if cold and not self.cfg.cold_rounds:
            # --smoke: no separate cold starts; this server's own start stands in.
            self.rows.append(Row("cold start to first 200", f"{n} participants",
                                 value=Summary.of([fake.ready_s]), unit="s",
                                 note="spawn → first 200 on GET /events"))  # fmt: skip
        status, body = http_get(f"{fake.base}{API}/events?limit=1", AUTH)
        event_id = json.loads(body)["events"][0]["id"]
        last = (self.cfg.big + 19) // 20
        pages = {"page 1": 1, f"last page ({last:,})": last}
        targets = []
        for label, page in pages.items():
            url = f"{fake.base}{API}/participants?eventId={event_id}&page={page}&limit=20"
            status, body = http_get(url, AUTH)
            data = json.loads(body)
            if status != 200 or not data["participants"]:
                raise BenchError(f"GET participants {label} answered {status}: {body[:300]!r}")
            if page == last and data["paginate"]["hasNextPage"]:
                raise BenchError(f"page {last} is not the last page: {data['paginate']}")
            targets.append((label, url, len(body), f"{n} participants"))
        if not self.cfg.only or "participants" in self.cfg.only:
            self.measure(f"GET /participants ({n})", targets)
            self._page_cost(n)
        rss_served = fake.rss_mb()
        self.rows.append(
            Row(
                "resident memory (VmRSS)",
                f"{n} participants",
                value=Summary.of([rss_ready]),
                unit="MB",
                note="once ready",
            )
        )
        self.rows.append(
            Row(
                "resident memory (VmRSS)",
                f"{n} participants, after the pages",
                value=Summary.of([rss_served]),
                unit="MB",
                note="after serving the participants scenario",
            )
        )
        print(
            f"  RSS with {n} participants: {rss_ready:.0f} MB ready, "
            f"{rss_served:.0f} MB after serving",
            flush=True,
        )

    def _page_cost(self, n: str) -> None:
        """The same two pages' CPU time in-process (bench/page_cost.py): steadier than HTTP."""
        done = subprocess.run([sys.executable, str(ROOT / "bench" / "page_cost.py"),
                               str(self.cfg.big)], capture_output=True, text=True,
                              timeout=600, cwd=ROOT)  # fmt: skip
        if done.returncode != 0:
            raise BenchError(f"bench/page_cost.py failed:\n{done.stderr[-2000:]}")
        cost = json.loads(done.stdout.strip().splitlines()[-1])
        for label in ("first", "last"):
            self.rows.append(Row(f"List Participants CPU per request ({n})", f"{label} page",
                                 value=Summary.of([cost[f"{label}_us"]]), unit="µs",
                                 note="in-process, best of 7 × 500 calls"))  # fmt: skip
        print(f"  in-process CPU per request: first page {cost['first_us']:.0f} µs, "
              f"last page {cost['last_us']:.0f} µs ({cost['ratio']:.2f}×)", flush=True)  # fmt: skip

    def purchase_scenario(self) -> None:
        """POST /tickets/create: purchases/s, and the inventory exact after every round."""
        if self.cfg.only and "purchase" not in self.cfg.only:
            return
        setup = self.purchase_setup
        if setup is None:
            with self.fake("fake-export") as s:
                setup = self._purchase_fixture(s.base)
        fixture, event_id, ticket_id, participant_id = setup
        fake = self.start(self.fake("fake-purchase", "--fixtures", str(fixture)))
        base = fake.base
        body = json.dumps(
            {
                "eventId": event_id,
                "tickets": [{"ticket_id": ticket_id, "quantity": 1}],
                "participant": {"participantId": participant_id},
            }
        ).encode()
        body_file = self.bodies / "purchase-request.json"
        body_file.write_bytes(body)
        row = Row(
            "POST /tickets/create",
            "fake",
            size=None,
            note="existing participant, 1 ticket per purchase",
        )
        rounds = ([("warm-up", self.cfg.warmup)] if self.cfg.warmup else []) + [
            (f"round {i + 1}", self.cfg.seconds) for i in range(self.cfg.rounds)
        ]
        for label, seconds in rounds:
            before = self._quantity(base, event_id, ticket_id)
            # Purchases stop a little before wrk does, so none is in flight when it
            # drops its connections (bench/wrk/purchase.lua explains why); on a busy
            # machine an answer can take a few hundred ms, hence at least 0.5 s.
            grace = max(0.5, min(1.0, seconds / 5))
            seconds = max(seconds, 2 * grace)
            run = self.driver.run(
                f"{base}{API}/tickets/create",
                connections=self.cfg.connections,
                seconds=seconds,
                headers=AUTH,
                script=ROOT / "bench" / "wrk" / "purchase.lua",
                script_args=[
                    f"{API}/tickets/create",
                    str(body_file),
                    f"{seconds - grace:g}",
                    TOKEN,
                ],
            )
            after = self._quantity(base, event_id, ticket_id)
            x = run.extra
            sold, answered = before - after, x["ok"] + x["sold_out"] + x["other"]
            # Every purchase sent was answered, each 200 sold exactly one ticket, and
            # no purchase failed otherwise. (The refused drain requests still in
            # flight when wrk stops are not counted: they change nothing.)
            exact = sold == x["ok"] and answered == x["sent"] and x["other"] == 0
            detail = (
                f"{label}: quantity {before:,} → {after:,}, sold {sold:,}, "
                f"200 answers {x['ok']:,}, purchases sent {x['sent']:,}, "
                f"answered {answered:,}, 409 {x['sold_out']}, other {x['other']}"
            )
            self.checks.append((f"inventory exact ({label})", exact, detail))
            print(
                f"  {'POST /tickets/create':<28} {label:<12} "
                f"{x['ok'] / (seconds - grace):>9,.0f} purchases/s  p50 {run.p50_ms:6.2f} ms  "
                f"p99 {run.p99_ms:7.2f} ms  {'exact' if exact else 'NOT EXACT'}: {detail}",
                flush=True,
            )
            if label.startswith("round"):
                # Purchases/s over the buying window; the refused drain requests are not counted.
                run.extra["purchases_per_s"] = x["ok"] / (seconds - grace)
                row.runs.append(run)
        self.rows.append(row)

    def _purchase_fixture(self, base: str) -> tuple[Path, str, str, str]:
        """The data set of the fake at ``base``, exported, with one ticket type holding
        ``STOCK`` tickets: a fixture file, an event, that ticket type and a participant."""
        status, body = http_get(f"{base}/_mock/state")
        if status != 200:
            raise BenchError(f"GET /_mock/state answered {status}")
        state = json.loads(body)
        organizer = state["organizers"][0]["id"]
        event = next(
            e for e in state["events"] if e["organizerId"] == organizer and e["participants"]
        )
        event["tickets"][0]["quantity"] = STOCK
        path = self.bodies / "purchase-fixture.json"
        path.write_text(json.dumps(state))
        return path, event["id"], event["tickets"][0]["id"], event["participants"][0]["id"]

    def _quantity(self, base: str, event_id: str, ticket_id: str) -> int:
        status, body = http_get(f"{base}{API}/tickets?eventId={event_id}", AUTH)
        if status != 200:
            raise BenchError(f"GET /tickets answered {status}: {body[:300]!r}")
        return int(next(t for t in json.loads(body)["tickets"] if t["id"] == ticket_id)["quantity"])

    def contract_scenario(self) -> None:
        """The full contract suite's wall time against the in-process fake."""
        if self.cfg.only and "contract" not in self.cfg.only:
            return
        if not self.cfg.contract:
            self.rows.append(
                Row(
                    "contract suite wall time",
                    "pytest contract_tests -q",
                    note="skipped (--smoke or --no-contract)",
                    unit="s",
                )
            )
            return
        if not (ROOT / "contract_tests").is_dir():
            note = "skipped: there is no contract_tests/ folder yet"
            print(f"  contract suite: {note}", flush=True)
            self.rows.append(
                Row("contract suite wall time", "pytest contract_tests -q", note=note, unit="s")
            )
            return
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "contract_tests", "-q"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        wall = time.perf_counter() - start
        last = (done.stdout.strip().splitlines() or ["(no output)"])[-1]
        self.rows.append(
            Row(
                "contract suite wall time",
                "pytest contract_tests -q",
                value=Summary.of([wall]),
                unit="s",
                note=last,
            )
        )
        self.checks.append(("contract suite passes", done.returncode == 0, last))
        print(f"  contract suite: {wall:.1f} s ({last})", flush=True)


def ensure_prism() -> Path:
    """Prism's entry point, installed with npm into bench/.cache/prism on first use."""
    prefix = CACHE / "prism"
    entry = prefix / "node_modules" / "@stoplight" / "prism-cli" / "dist" / "index.js"
    package = prefix / "node_modules" / "@stoplight" / "prism-cli" / "package.json"
    if entry.exists() and json.loads(package.read_text())["version"] == PRISM_VERSION:
        return entry
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise BenchError("Prism needs Node.js and npm: install them, or pass --no-prism")
    print(f"installing @stoplight/prism-cli@{PRISM_VERSION} into {prefix} (npm)", flush=True)
    prefix.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [
            npm,
            "install",
            "--prefix",
            str(prefix),
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            f"@stoplight/prism-cli@{PRISM_VERSION}",
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if done.returncode != 0 or not entry.exists():
        raise BenchError(f"npm install of Prism failed:\n{done.stderr[-2000:]}")
    return entry


# -- report ------------------------------------------------------------------------


def _fmt(x: float, unit: str = "") -> str:
    if unit == "s":
        return f"{x:.2f}"
    if unit == "MB":
        return f"{x:.0f}"
    return f"{x:,.0f}"


def table(bench: Bench) -> str:
    head = (
        "| scenario | server | median | min–max | p50 ms | p99 ms | bytes/answer "
        "| × Prism | × bare | note |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---|"
    )
    lines = [head]
    by_scenario: dict[str, dict[str, Row]] = {}
    for row in bench.rows:
        by_scenario.setdefault(row.scenario, {})[row.server] = row
    for row in bench.rows:
        peers = by_scenario[row.scenario]
        if row.runs:
            purchases = "purchases_per_s" in row.runs[0].extra
            values = [r.extra["purchases_per_s"] if purchases else r.rps for r in row.runs]
            s, unit = Summary.of(values), "purchases/s" if purchases else "req/s"
            ratio = {}
            for ref in ("prism", "bare-starlette"):
                if ref in peers and ref != row.server and row.server == "fake":
                    ratio[ref] = f"{s.median / peers[ref].rps().median:.2f}×"
            p50 = _median([r.p50_ms for r in row.runs])
            p99 = _median([r.p99_ms for r in row.runs])
            lines.append(
                f"| {row.scenario} | {row.server} | {_fmt(s.median)} {unit} | "
                f"{_fmt(s.low)}–{_fmt(s.high)} | {p50:.2f} | {p99:.2f} | "
                f"{row.size if row.size is not None else ''} | {ratio.get('prism', '')} | "
                f"{ratio.get('bare-starlette', '')} | {row.note} |"
            )
        elif row.value is not None:
            v = row.value
            span = f"{_fmt(v.low, row.unit)}–{_fmt(v.high, row.unit)}" if v.low != v.high else ""
            lines.append(
                f"| {row.scenario} | {row.server} | {_fmt(v.median, row.unit)} {row.unit} "
                f"| {span} | | | | | | {row.note} |"
            )
        else:
            lines.append(f"| {row.scenario} | {row.server} | – | | | | | | | {row.note} |")
    return "\n".join(lines)


def targets(bench: Bench) -> list[tuple[str, bool | None, str]]:
    """The issue's targets, each with the figure measured in this run (None: not measured)."""
    rows = {(r.scenario, r.server): r for r in bench.rows}
    out: list[tuple[str, bool | None, str]] = []

    def rps(scenario: str, server: str) -> float | None:
        row = rows.get((scenario, server))
        return row.rps().median if row and row.runs else None

    fake, prism, bare = (
        rps("GET /events?limit=20", s) for s in ("fake", "prism", "bare-starlette")
    )
    if fake and prism:
        out.append(("GET /events: ≥ 6× Prism", fake / prism >= 6, f"{fake / prism:.2f}×"))
    if fake and bare:
        out.append(
            ("GET /events: ≥ 0.75× bare Starlette", fake / bare >= 0.75, f"{fake / bare:.2f}×")
        )
    row = rows.get(("GET /events?limit=20", "fake"))
    if row and row.runs:
        p99 = _median([r.p99_ms for r in row.runs])
        out.append(("GET /events: p99 < 10 ms", p99 < 10, f"{p99:.2f} ms"))
    n = f"{bench.cfg.big:,}"
    big = [r for r in bench.rows if r.scenario == f"GET /participants ({n})" and r.runs]
    if len(big) == 2:
        cost = big[0].rps().median / big[1].rps().median
        out.append(("last page ≤ 1.2× first page cost (HTTP)", cost <= 1.2, f"{cost:.2f}×"))
    cpu = {r.server: r.value.median for r in bench.rows
           if r.scenario == f"List Participants CPU per request ({n})" and r.value}  # fmt: skip
    if len(cpu) == 2:
        cost = cpu["last page"] / cpu["first page"]
        out.append(("last page ≤ 1.2× first page cost (CPU, in-process)", cost <= 1.2,
                    f"{cost:.2f}×"))  # fmt: skip
    row = rows.get(("POST /tickets/create", "fake"))
    if row and row.runs:
        value = _median([r.extra["purchases_per_s"] for r in row.runs])
        out.append(("POST /tickets/create ≥ 2,000 purchases/s", value >= 2000, f"{value:,.0f}/s"))
        inventory = [ok for what, ok, _ in bench.checks if what.startswith("inventory")]
        out.append(
            (
                "inventory exact after every round",
                all(inventory),
                f"{sum(inventory)}/{len(inventory)} rounds",
            )
        )
    for label, limit in (("default data set", 1.0), (f"{n} participants", 5.0)):
        row = rows.get(("cold start to first 200", label))
        if row and row.value:
            out.append(
                (
                    f"cold start ({label}) < {limit:g} s",
                    row.value.median < limit,
                    f"{row.value.median:.2f} s",
                )
            )
    row = rows.get(("resident memory (VmRSS)", f"{n} participants, after the pages"))
    if row and row.value:
        out.append(
            (
                f"RSS with {n} participants < 500 MB",
                row.value.median < 500,
                f"{row.value.median:.0f} MB",
            )
        )
    return out


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = subprocess.run(["free", "-h"], capture_output=True, text=True).stdout.strip()
    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "python": platform.python_version(),
        "kernel": platform.release(),
        "free -h": mem,
        "loadavg": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
    }


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--smoke",
        action="store_true",
        help="tiny sizes, 1 s runs, no Prism, no contract suite; wrk if installed, "
        "else a Python driver (not a measurement)",
    )
    p.add_argument("--rounds", type=int, default=3, help="rounds per server (default 3)")
    p.add_argument("--duration", type=float, default=10, help="seconds per run (default 10)")
    p.add_argument("--warmup", type=float, default=2, help="warm-up seconds per server (default 2)")
    p.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    p.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    p.add_argument("--participants", type=int, help="participants of the big event (default 1M)")
    p.add_argument(
        "--driver",
        choices=["auto", "wrk", "python"],
        default="auto",
        help="load driver; python only with --smoke",
    )
    p.add_argument("--no-prism", action="store_true", help="leave Prism out")
    p.add_argument("--no-contract", action="store_true", help="leave the contract suite out")
    p.add_argument(
        "--only",
        action="append",
        choices=["events", "event", "participants", "coldstart", "memory", "purchase", "contract"],
        help="run only these scenarios (repeatable)",
    )
    p.add_argument(
        "--json",
        type=Path,
        default=CACHE / "last-run.json",
        help="write the results here (default bench/.cache/last-run.json)",
    )
    args = p.parse_args(argv)
    cfg = Config.from_args(args)
    if args.driver == "python" and not cfg.smoke:
        p.error("--driver python is for --smoke only: its figures are not a measurement")

    # SIGTERM unwinds like Ctrl-C, so every server started is stopped.
    signal.signal(signal.SIGTERM, _interrupt)
    # Ctrl-C too, even when started from a shell that ignores SIGINT in background jobs.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    started = time.perf_counter()
    try:
        wrk = None if args.driver == "python" else ensure_wrk(allow_install=not cfg.smoke)
        if wrk is None and args.driver == "wrk":
            raise BenchError("wrk is not installed")
        driver: Wrk | PythonDriver = Wrk(wrk, args.threads) if wrk else PythonDriver()
        if not driver.is_measurement:
            print(
                "NOTE: wrk is not installed; --smoke uses a Python driver: its figures check "
                "that the harness runs, they are NOT a measurement",
                flush=True,
            )
        print(
            f"driver: {driver.name} ({driver.version()}), {cfg.connections} connections, "
            f"{cfg.seconds:g} s × {cfg.rounds} rounds",
            flush=True,
        )
        with ExitStack() as stack:
            bench = Bench(cfg, driver, stack)
            try:
                bench.read_scenarios()
                stack.close()  # the read scenarios' servers are idle: stop them first
                bench.big_scenarios()
                stack.close()
                bench.purchase_scenario()
                stack.close()
                bench.contract_scenario()
            finally:
                stack.close()
                shutil.rmtree(bench.bodies, ignore_errors=True)
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bench: interrupted; every server it started was stopped", file=sys.stderr)
        return 130
    wall = time.perf_counter() - started
    print()
    if not driver.is_measurement:
        print(f"NOT A MEASUREMENT: the load came from the {driver.name}; install wrk to measure.")
    print(table(bench))
    print()
    results = targets(bench)
    if cfg.smoke:
        # Tiny sizes and 1 s runs (maybe not even wrk): the targets mean nothing here.
        print("  targets: not judged in --smoke (tiny sizes, 1 s runs)")
    else:
        for what, ok, figure in results:
            print(f"  {'MET   ' if ok else 'MISSED'} {what}: {figure}")
    for what, ok, detail in bench.checks:
        print(f"  {'ok    ' if ok else 'FAILED'} {what}: {detail}")
    info = machine()
    print(
        f"\nmachine: {info['nproc']} × {info['cpu']}, load {info['loadavg']}; "
        f"driver {driver.name}; wall time {wall:.0f} s"
    )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "smoke": cfg.smoke,
                "driver": driver.name,
                "measurement": driver.is_measurement,
                "config": {
                    k: (sorted(v) if isinstance(v, set) else v) for k, v in cfg.__dict__.items()
                },
                "machine": info,
                "server_pids": STARTED,
                "wall_s": wall,
                "rows": [r.to_json() for r in bench.rows],
                "checks": [{"what": w, "ok": ok, "detail": d} for w, ok, d in bench.checks],
                "targets": [{"what": w, "met": ok, "figure": f} for w, ok, f in results],
            },
            indent=2,
        )
    )
    failed = [w for w, ok, _ in bench.checks if not ok]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
