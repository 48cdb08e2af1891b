"""The benchmark: the fake next to its strongest peers and the framework's ceiling, driven by wrk.

    python bench/run.py            # the full run (12 to 13 minutes), prints the table
    python bench/run.py --smoke    # tiny sizes, Python servers only: checks the harness runs
    python bench/run.py --only events --rounds 1 --duration 5   # a partial run

Everything runs on 127.0.0.1 in this one command, started and stopped by it:

- the fake, started through its CLI (``goevent-mock serve``), so it is served
  by whatever HTTP server ``serve`` uses by default;
- bare Starlette (bench/bare_starlette.py) serving each operation's own bytes,
  on uvicorn (the reference) and, for GET /events, on granian;
- for GET /events: WireMock (standalone jar from npm ``wiremock``, on Java,
  JIT warmed), Mockoon CLI, Prism with request logging off and on, and a
  plain Node ``http`` server: the same bytes as the fake (Prism: the spec's
  example). npm packages are pinned and installed into bench/.cache;
- purchases against a bare POST that reads its body; start to first answer
  against a bare Starlette app's start; 1,000,000 participants; the contract
  suite; bench/purchases.py (1,000,000 purchases) when that file exists.

Each scenario's servers are measured in turn, round after round (rotated
order), with the same wrk arguments; the table shows medians over the rounds
and ratios to bare Starlette on uvicorn and to warmed WireMock. See
docs/benchmarks.md for a run's results and how to read them.
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
import urllib.request
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import peers
from harness import (
    CACHE,
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
STOCK = 10_000_000  # the purchase scenario's ticket type: never sold out during a run
BARE = "bare-starlette"  # the reference every operation is compared with (uvicorn)
WIREMOCK = "wiremock"
PURCHASES_SCRIPT = ROOT / "bench" / "purchases.py"
GET_OPS = ("events", "event", "tickets", "participants")
SCENARIOS = (*GET_OPS, "purchase", "startup", "big", "coldstart", "memory", "contract",
             "million")  # fmt: skip


@dataclass
class Config:
    smoke: bool
    rounds: int
    seconds: float
    warmup: float
    wiremock_warmup: float
    connections: int
    big: int  # participants of the big event
    cold_rounds: int
    start_runs: int
    peers: bool  # WireMock, Mockoon, Node (npm, java)
    prism: bool
    contract: bool
    million: bool
    only: set[str]

    @classmethod
    def from_args(cls, a: argparse.Namespace) -> Config:
        only = set(a.only or [])
        if a.smoke:
            return cls(True, 1, 1, 0, 0, 4, a.participants or 20_000, 0, 1,
                       False, False, False, False, only)  # fmt: skip
        return cls(False, a.rounds, a.duration, a.warmup, a.wiremock_warmup, a.connections,
                   a.participants or 1_000_000, a.cold_rounds, a.start_runs,
                   not a.no_peers, not (a.no_prism or a.no_peers), not a.no_contract,
                   not a.no_million, only)  # fmt: skip

    def wants(self, *keys: str) -> bool:
        return not self.only or bool(self.only & set(keys))


@dataclass
class Row:
    scenario: str
    server: str
    runs: list[Run] = field(default_factory=list)
    size: int | None = None
    note: str = ""
    value: Summary | None = None  # for rows that are not load runs (seconds, MB)
    unit: str = "req/s"
    rss_mb: float | None = None
    settled: bool | None = None  # after a long warm-up (WireMock): did its rate settle?

    def rates(self) -> list[float]:
        """req/s per run; purchases/s for purchase runs (the buying window only)."""
        return [r.extra.get("purchases_per_s", r.rps) for r in self.runs]

    def median(self) -> float:
        return Summary.of(self.rates()).median

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "scenario": self.scenario,
            "server": self.server,
            "unit": self.unit,
            "size": self.size,
            "note": self.note,
            "rss_mb": self.rss_mb,
        }
        if self.runs:
            out["runs"] = [r.__dict__ | {"rps": r.rps} for r in self.runs]
            s = Summary.of(self.rates())
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


def _server_header(url: str) -> str:
    """The ``Server`` header of an answer: which HTTP server ``goevent-mock serve`` runs on."""
    request = urllib.request.Request(url, headers=AUTH)
    with urllib.request.urlopen(request, timeout=5) as response:
        return str(response.headers.get("server") or "a server that does not say")


def skipped(what: str, why: str) -> None:
    print(f"  skipped: {what}: {why}", flush=True)


class Bench:
    def __init__(self, cfg: Config, driver: Wrk | PythonDriver, stack: ExitStack) -> None:
        self.cfg, self.driver, self.stack = cfg, driver, stack
        self.rows: list[Row] = []
        self.checks: list[tuple[str, bool, str]] = []  # (what, passed, detail)
        self.skips: list[str] = []
        self.million: list[str] = []  # bench/purchases.py's summary lines
        # This run's files (response bodies, stubs, the purchase fixture): removed by main().
        CACHE.mkdir(parents=True, exist_ok=True)
        self.bodies = Path(tempfile.mkdtemp(prefix="run-", dir=CACHE))
        self.purchase_setup: tuple[Path, str, str, str] | None = None

    def skip(self, what: str, why: str) -> None:
        self.skips.append(f"{what}: {why}")
        skipped(what, why)

    # -- servers ---------------------------------------------------------------

    def fake(self, name: str, *flags: str, timeout: float = 120.0) -> Server:
        """``goevent-mock serve``: what users run, on whatever server it uses by default."""
        port = free_port()
        script = Path(sys.executable).with_name("goevent-mock")
        cmd = [str(script)] if script.exists() else [sys.executable, "-m", "mockserver.cli"]
        argv = [*cmd, "serve", "--port", str(port), *flags]
        base = f"http://127.0.0.1:{port}"
        return Server(name, argv, f"{base}{API}/events?limit=1", headers=AUTH,
                      ready_timeout=timeout, base=base)  # fmt: skip

    def body_file(self, name: str, body: bytes) -> Path:
        path = self.bodies / f"{name}.json"
        path.write_bytes(body)
        return path

    def start(self, server: Server) -> Server:
        return self.stack.enter_context(server)

    # -- load ----------------------------------------------------------------------

    def measure(
        self,
        scenario: str,
        targets: list[tuple[str, str, int, str]],
        servers: dict[str, Server] | None = None,
        warmups: dict[str, float] | None = None,
        **run_kw: Any,
    ) -> list[Row]:
        """Drive each (server, url, response size, note) in turn for every round.

        ``warmups`` gives a server a longer warm-up than the others (WireMock's
        JIT), run in windows of at most 10 s whose rates are printed; past that
        minimum it goes on until two windows in a row are within 10% of each
        other (settled), up to three times the minimum, and the row says which.
        ``servers`` gives each row its RSS, read after its last round.
        """
        rows = {name: Row(scenario, name, size=size, note=note) for name, _, size, note in targets}
        urls = {name: url for name, url, _, _ in targets}
        for name in urls:
            warm = max(self.cfg.warmup, (warmups or {}).get(name, 0.0))
            if warm > self.cfg.warmup:
                rows[name].settled, done = self._long_warmup(name, urls[name], warm, **run_kw)
                state = "settled" if rows[name].settled else "NOT settled"
                rows[name].note += f"; warm-up {done:g} s, {state}"
            elif warm:
                self._run(urls[name], warm, **run_kw)
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
        for name, server in (servers or {}).items():
            if name in rows:
                rows[name].rss_mb = server.rss_mb()
        self.rows += rows.values()
        return list(rows.values())

    def _long_warmup(self, name: str, url: str, minimum: float, **kw: Any) -> tuple[bool, float]:
        done, rates, settled = 0.0, [], False
        while done < minimum or (not settled and done < 3 * minimum):
            window = min(10.0, max(minimum - done, 10.0 if done >= minimum else 0.0))
            run = self._run(url, window, **kw)
            done += window
            rates.append(run.rps)
            settled = len(rates) >= 2 and abs(rates[-1] - rates[-2]) <= 0.1 * max(rates[-2:])
            print(f"  warm-up {name:<20} {done:5.0f} s  {run.rps:>9,.0f} req/s  "
                  f"p99 {run.p99_ms:7.2f} ms{'  (settled)' if settled else ''}",
                  flush=True)  # fmt: skip
        return settled, done

    def _run(self, url: str, seconds: float, **kw: Any) -> Run:
        kw.setdefault("headers", AUTH)
        return self.driver.run(url, connections=self.cfg.connections, seconds=seconds, **kw)

    # -- the five operations, and the peers on GET /events ---------------------------

    def read_scenarios(self) -> None:
        """Every GET operation of the fake against bare Starlette serving its own bytes."""
        ops = [op for op in GET_OPS if self.cfg.wants(op)]
        if not ops:
            if self.cfg.wants("purchase"):
                with self.fake("fake-export") as s:
                    self.purchase_setup = self._purchase_fixture(s.base)
            return
        # 20 events per organizer: the page of 20 is full, as in a real account.
        fake = self.start(self.fake("fake", "--events-per-organizer", "20"))
        if self.cfg.wants("purchase"):
            self.purchase_setup = self._purchase_fixture(fake.base)
        status, body = http_get(f"{fake.base}{API}/events?limit=20", AUTH)
        if status != 200:
            raise BenchError(f"the fake answered {status} to GET /events: {body[:300]!r}")
        event_id = json.loads(body)["events"][0]["id"]
        paths = {
            "events": ("GET /events?limit=20", "/events?limit=20"),
            "event": ("GET /event/{id}", f"/event/{event_id}"),
            "tickets": ("GET /tickets", f"/tickets?eventId={event_id}"),
            "participants": ("GET /participants", f"/participants?eventId={event_id}&limit=20"),
        }
        for op in ops:
            title, path = paths[op]
            status, ours = http_get(f"{fake.base}{API}{path}", AUTH)
            if status != 200:
                raise BenchError(f"the fake answered {status} to {path}: {ours[:300]!r}")
            if op == "participants" and not json.loads(ours)["participants"]:
                raise BenchError(f"the fake's event {event_id} has no participants to list")
            body_file = self.body_file(op, ours)
            started: list[Server] = []
            up = self._starter(started)
            bare = up(peers.bare(BARE, body_file))
            served_by = _server_header(f"{fake.base}{API}{path}")
            targets = [("fake", f"{fake.base}{API}{path}", len(ours),
                        f"goevent-mock serve (served by {served_by})"),
                       (BARE, f"{bare.base}{API}{path}", len(ours),
                        "uvicorn, precomputed bytes")]  # fmt: skip
            servers = {"fake": fake, BARE: bare}
            if op == "events":
                self._peer_targets(path, ours, body_file, targets, servers, up)
            self.measure(title, targets, servers, warmups={WIREMOCK: self.cfg.wiremock_warmup})
            for server in started:
                server.stop()

    def _starter(self, started: list[Server]) -> Callable[[Server], Server]:
        """Starts a server for this run and remembers it in ``started``, to stop it early."""

        def up(server: Server) -> Server:
            started.append(self.start(server))
            return server

        return up

    def _peer_targets(self, path: str, ours: bytes, body_file: Path,
                      targets: list[tuple[str, str, int, str]], servers: dict[str, Server],
                      up: Callable[[Server], Server]) -> None:  # fmt: skip
        """The ceiling and the peers for GET /events, each checked to serve the same bytes."""
        full = f"{API}{path.split('?')[0]}"
        candidates: list[tuple[str, Server, str, str]] = []
        granian = peers.granian_version()
        if granian:
            server = peers.bare("bare-granian", body_file, server="granian")
            note = f"granian {granian}, 1 worker, precomputed bytes"
            candidates.append(("bare-granian", server, f"{full}?limit=20", note))
        else:
            self.skip("bare Starlette on granian", "granian is not installed (pip install granian)")
        if not self.cfg.peers:
            why = ("--smoke runs Python servers only" if self.cfg.smoke else "--no-peers")
            self.skip("WireMock, Mockoon CLI, Prism, Node http (need npm/java)", why)
        else:
            work = self.bodies
            candidates += [
                ("node-http", peers.node_http("node-http", body_file), f"{full}?limit=20",
                 f"Node {peers.node_version()} http, precomputed bytes"),
                (WIREMOCK, peers.wiremock(WIREMOCK, ours, full, work), f"{full}?limit=20",
                 f"{peers.WIREMOCK_VERSION} on Java {peers.java_version()}, "
                 "no journal, no request log"),
                ("mockoon", peers.mockoon("mockoon", ours, full, work), f"{full}?limit=20",
                 f"CLI {peers.MOCKOON_VERSION}, inline body, logs every request"),
            ]  # fmt: skip
        if self.cfg.prism:
            prism_note = "5.16, answers the spec's example"
            candidates += [
                ("prism-log-off", peers.prism("prism-log-off", AUTH, verbose="error"),
                 "/events?limit=20", f"-v error; {prism_note}"),
                ("prism", peers.prism("prism", AUTH, verbose=None), "/events?limit=20",
                 f"default logging (info); {prism_note}"),
            ]  # fmt: skip
        elif self.cfg.peers:
            self.skip("Prism", "--no-prism")
        for name, server, target, note in candidates:
            up(server)
            status, theirs = http_get(f"{server.base}{target}", AUTH)
            if status != 200:
                raise BenchError(f"{name} answered {status} to {target}: {theirs[:300]!r}")
            if name.startswith("prism"):
                note += f" ({len(theirs):,} B, not ours)"
            elif theirs != ours:
                raise BenchError(f"{name} does not serve the fake's bytes ({len(theirs)} B)")
            targets.append((name, f"{server.base}{target}", len(theirs), note))
            servers[name] = server

    # -- purchases -------------------------------------------------------------------

    def purchase_scenario(self) -> None:
        """POST /tickets/create against a bare POST; the inventory exact after every round."""
        if not self.cfg.wants("purchase"):
            return
        setup = self.purchase_setup
        if setup is None:
            with self.fake("fake-export") as s:
                setup = self._purchase_fixture(s.base)
        fixture, event_id, ticket_id, participant_id = setup
        fake = self.start(self.fake("fake-purchase", "--fixtures", str(fixture)))
        body = json.dumps({"eventId": event_id,
                           "tickets": [{"ticket_id": ticket_id, "quantity": 1}],
                           "participant": {"participantId": participant_id}}).encode()  # fmt: skip
        request_file = self.body_file("purchase-request", body)
        # The fake's own answer to a purchase, for the bare POST to answer with.
        answer = self._post(f"{fake.base}{API}/tickets/create", body)
        bare = self.start(peers.bare(BARE, self.body_file("purchase-answer", answer), post=True))
        rows = {
            "fake": Row("POST /tickets/create", "fake", size=len(answer),
                        note="existing participant, 1 ticket per purchase"),
            BARE: Row("POST /tickets/create", BARE, size=len(answer),
                      note="uvicorn, a bare POST that reads its body, the fake's answer bytes"),
        }  # fmt: skip
        bases = {"fake": fake.base, BARE: bare.base}
        ids = (event_id, ticket_id)
        if self.cfg.warmup:
            for name in rows:
                self._purchase_round(name, bases[name], "warm-up", self.cfg.warmup, request_file,
                                     ids)  # fmt: skip
        for r, order in enumerate(interleaved(self.cfg.rounds, list(rows))):
            for name in order:
                run = self._purchase_round(name, bases[name], f"round {r + 1}", self.cfg.seconds,
                                           request_file, ids)  # fmt: skip
                rows[name].runs.append(run)
        rows["fake"].rss_mb, rows[BARE].rss_mb = fake.rss_mb(), bare.rss_mb()
        self.rows += rows.values()

    def _purchase_round(self, name: str, base: str, label: str, seconds: float,
                        request_file: Path, ids: tuple[str, str]) -> Run:  # fmt: skip
        # Purchases stop a little before wrk does, so none is in flight when it drops
        # its connections (bench/wrk/purchase.lua explains why); on a busy machine an
        # answer can take a few hundred ms, hence at least 0.5 s.
        grace = max(0.5, min(1.0, seconds / 5))
        seconds = max(seconds, 2 * grace)
        fake = name == "fake"
        before = self._quantity(base, *ids) if fake else 0
        run = self.driver.run(
            f"{base}{API}/tickets/create", connections=self.cfg.connections, seconds=seconds,
            headers=AUTH, script=ROOT / "bench" / "wrk" / "purchase.lua",
            script_args=[f"{API}/tickets/create", str(request_file), f"{seconds - grace:g}", TOKEN],
        )  # fmt: skip
        x = run.extra
        if fake:
            after = self._quantity(base, *ids)
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
            rate = x["ok"] / (seconds - grace)
            tail = f"{'exact' if exact else 'NOT EXACT'}: {detail}"
        else:
            # The bare POST answers its drain requests 200 too: count what was sent to buy.
            rate, tail = x["sent"] / (seconds - grace), f"{x['sent']:,} POSTs in the window"
        run.extra["purchases_per_s"] = rate
        print(
            f"  {'POST /tickets/create':<28} {name:<15} {label:<8} {rate:>9,.0f} purchases/s  "
            f"p50 {run.p50_ms:6.2f} ms  p99 {run.p99_ms:7.2f} ms  {tail}",
            flush=True,
        )
        return run

    def _post(self, url: str, body: bytes) -> bytes:
        headers = {**AUTH, "Content-Type": "application/json"}
        request = urllib.request.Request(url, data=body, method="POST", headers=headers)
        with urllib.request.urlopen(request, timeout=10) as response:
            if response.status != 200:
                raise BenchError(f"a purchase answered {response.status}")
            return bytes(response.read())

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

    # -- start to first answer ---------------------------------------------------------

    def startup_scenario(self) -> None:
        """``goevent-mock serve`` spawn → first 200, against a bare Starlette app's, alternated."""
        if not self.cfg.wants("startup"):
            return
        body_file = self.body_file("startup", b"{}")
        times: dict[str, list[float]] = {"fake": [], BARE: []}
        for i in range(self.cfg.start_runs):
            for name in (["fake", BARE] if i % 2 == 0 else [BARE, "fake"]):
                server = self.fake("fake-start") if name == "fake" else peers.bare(
                    "bare-start", body_file)  # fmt: skip
                with server:
                    times[name].append(server.ready_s)
        fake, bare = Summary.of(times["fake"]), Summary.of(times[BARE])
        n = self.cfg.start_runs
        self.rows += [
            Row("start to first answer", "fake", value=fake, unit="s",
                note=f"goevent-mock serve, default data set, spawn → first 200 on GET /events; "
                     f"{fake.median / bare.median:.2f}× bare; {n} runs"),
            Row("start to first answer", BARE, value=bare, unit="s",
                note=f"bench/bare_starlette.py on uvicorn, spawn → first 200; {n} runs"),
        ]  # fmt: skip
        print(f"  start to first answer: fake {fake.median:.2f} s, bare Starlette "
              f"{bare.median:.2f} s ({fake.median / bare.median:.2f}×)", flush=True)  # fmt: skip

    # -- 1,000,000 participants ----------------------------------------------------------

    def big_scenarios(self) -> None:
        """An event with 1,000,000 participants: cold start, memory, first and last page."""
        if not self.cfg.wants("big", "coldstart", "memory"):
            return
        big = ["--organizers", "1", "--events-per-organizer", "1",
               "--participants-per-event", str(self.cfg.big)]  # fmt: skip
        n = f"{self.cfg.big:,}"
        cold = self.cfg.wants("coldstart")
        if cold and self.cfg.cold_rounds:
            times = []
            for _ in range(self.cfg.cold_rounds):
                with self.fake("fake-cold", *big) as s:
                    times.append(s.ready_s)
            self.rows.append(Row("cold start to first 200", f"{n} participants",
                                 value=Summary.of(times), unit="s",
                                 note="spawn → first 200 on GET /events"))  # fmt: skip
            print(f"  cold start ({n} participants): {Summary.of(times).median:.2f} s", flush=True)
        if not self.cfg.wants("big", "memory"):
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
        targets = []
        for label, page in {"page 1": 1, f"last page ({last:,})": last}.items():
            url = f"{fake.base}{API}/participants?eventId={event_id}&page={page}&limit=20"
            status, body = http_get(url, AUTH)
            data = json.loads(body)
            if status != 200 or not data["participants"]:
                raise BenchError(f"GET participants {label} answered {status}: {body[:300]!r}")
            if page == last and data["paginate"]["hasNextPage"]:
                raise BenchError(f"page {last} is not the last page: {data['paginate']}")
            targets.append((label, url, len(body), f"{n} participants"))
        if self.cfg.wants("big"):
            self.measure(f"GET /participants ({n})", targets)
            self._page_cost(n)
        rss_served = fake.rss_mb()
        self.rows += [
            Row("resident memory (VmRSS)", f"{n} participants",
                value=Summary.of([rss_ready]), unit="MB", note="once ready"),
            Row("resident memory (VmRSS)", f"{n} participants, after the pages",
                value=Summary.of([rss_served]), unit="MB",
                note="after serving the participants scenario"),
        ]  # fmt: skip
        print(f"  RSS with {n} participants: {rss_ready:.0f} MB ready, "
              f"{rss_served:.0f} MB after serving", flush=True)  # fmt: skip

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
                                 note="in-process, nothing kept: the page made every "
                                      "time, best of 7 × 500 calls"))  # fmt: skip
        print(f"  in-process CPU per request: first page {cost['first_us']:.0f} µs, "
              f"last page {cost['last_us']:.0f} µs ({cost['ratio']:.2f}×)", flush=True)  # fmt: skip

    # -- suites run as subprocesses ------------------------------------------------------

    def contract_scenario(self) -> None:
        """The full contract suite's wall time against the in-process fake."""
        if not self.cfg.wants("contract"):
            return
        what = "pytest contract_tests -q"
        if not self.cfg.contract:
            note = "skipped (--smoke or --no-contract)"
            self.rows.append(Row("contract suite wall time", what, note=note, unit="s"))
            return
        if not (ROOT / "contract_tests").is_dir():
            note = "skipped: there is no contract_tests/ folder yet"
            skipped("contract suite", note)
            self.rows.append(Row("contract suite wall time", what, note=note, unit="s"))
            return
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "pytest", "contract_tests", "-q"], cwd=ROOT,
                              capture_output=True, text=True, timeout=1800)  # fmt: skip
        wall = time.perf_counter() - start
        last = (done.stdout.strip().splitlines() or ["(no output)"])[-1]
        self.rows.append(Row("contract suite wall time", what, value=Summary.of([wall]),
                             unit="s", note=last))  # fmt: skip
        self.checks.append(("contract suite passes", done.returncode == 0, last))
        print(f"  contract suite: {wall:.1f} s ({last})", flush=True)

    def million_scenario(self) -> None:
        """bench/purchases.py (1,000,000 purchases: p99 over time, RSS), when it exists.

        Its lines starting with ``SUMMARY`` are its summary (the prefix dropped);
        a script printing none contributes its last 15 lines.
        """
        if not self.cfg.wants("million"):
            return
        what = "1,000,000 purchases (bench/purchases.py)"
        why = (
            "not in --smoke" if self.cfg.smoke
            else "--no-million" if not self.cfg.million
            else "bench/purchases.py is not in this tree" if not PURCHASES_SCRIPT.exists()
            else ""
        )  # fmt: skip
        if why:
            self.skip(what, why)
            return
        print(f"  running {what} …", flush=True)
        start = time.perf_counter()
        done = subprocess.run([sys.executable, str(PURCHASES_SCRIPT)], cwd=ROOT,
                              capture_output=True, text=True, timeout=3600)  # fmt: skip
        wall = time.perf_counter() - start
        lines = done.stdout.splitlines()
        summary = [x.removeprefix("SUMMARY").strip(" :") for x in lines if x[:7] == "SUMMARY"]
        self.million = summary or lines[-15:]
        for line in self.million:
            print(f"  | {line}", flush=True)
        detail = f"exit {done.returncode}, {wall:.0f} s"
        if done.returncode != 0:
            detail += f": {done.stderr.strip()[-500:]}"
        self.checks.append(("bench/purchases.py ran", done.returncode == 0, detail))


# -- report ------------------------------------------------------------------------


def _fmt(x: float, unit: str = "") -> str:
    if unit == "s":
        return f"{x:.2f}"
    if unit == "MB":
        return f"{x:.0f}"
    return f"{x:,.0f}"


def _ratio(value: float, ref: Row | None, row: Row) -> str:
    if ref is None or ref is row or not ref.runs:
        return ""
    return f"{value / ref.median():.2f}×"


def table(bench: Bench) -> str:
    head = (
        "| scenario | server | median | min–max | p50 ms | p99 ms | RSS MB | bytes/answer "
        "| × bare Starlette (uvicorn) | × WireMock (warmed) | note |\n"
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    )
    lines = [head]
    by_scenario: dict[str, dict[str, Row]] = {}
    for row in bench.rows:
        by_scenario.setdefault(row.scenario, {})[row.server] = row
    for row in bench.rows:
        peers_ = by_scenario[row.scenario]
        rss = f"{row.rss_mb:.0f}" if row.rss_mb is not None else ""
        if row.runs:
            s = Summary.of(row.rates())
            unit = "purchases/s" if "purchases_per_s" in row.runs[0].extra else "req/s"
            p50 = _median([r.p50_ms for r in row.runs])
            p99 = _median([r.p99_ms for r in row.runs])
            size = f"{row.size:,}" if row.size is not None else ""
            lines.append(
                f"| {row.scenario} | {row.server} | {_fmt(s.median)} {unit} | "
                f"{_fmt(s.low)}–{_fmt(s.high)} | {p50:.2f} | {p99:.2f} | {rss} | {size} | "
                f"{_ratio(s.median, peers_.get(BARE), row)} | "
                f"{_ratio(s.median, peers_.get(WIREMOCK), row)} | {row.note} |"
            )
        elif row.value is not None:
            v = row.value
            span = f"{_fmt(v.low, row.unit)}–{_fmt(v.high, row.unit)}" if v.low != v.high else ""
            lines.append(
                f"| {row.scenario} | {row.server} | {_fmt(v.median, row.unit)} {row.unit} "
                f"| {span} | | | | | | | {row.note} |"
            )
        else:
            lines.append(f"| {row.scenario} | {row.server} | – | | | | | | | | {row.note} |")
    return "\n".join(lines)


def targets(bench: Bench) -> list[tuple[str, bool, str]]:
    """The targets (issue 10 and the earlier ones), each with this run's figure; unmeasured
    targets are left out."""
    rows = {(r.scenario, r.server): r for r in bench.rows}
    out: list[tuple[str, bool, str]] = []

    def rate(scenario: str, server: str) -> float | None:
        row = rows.get((scenario, server))
        return row.median() if row and row.runs else None

    def per_round(scenario: str, server: str, ref: str) -> str:
        """The ratio in each round (servers measured minutes apart on a shared machine)."""
        mine, theirs = rows.get((scenario, server)), rows.get((scenario, ref))
        if not (mine and theirs and mine.runs and theirs.runs) or len(mine.runs) < 2:
            return ""
        ratios = [a / b for a, b in zip(mine.rates(), theirs.rates(), strict=False)]
        return f"; per round {min(ratios):.2f}–{max(ratios):.2f}×"

    events = "GET /events?limit=20"
    fake, bare, wiremock = (rate(events, s) for s in ("fake", BARE, WIREMOCK))
    if fake and bare:
        out.append((f"{events}: ≥ 1.5× bare Starlette on uvicorn", fake / bare >= 1.5,
                    f"{fake / bare:.2f}× ({fake:,.0f} vs {bare:,.0f} req/s"
                    f"{per_round(events, 'fake', BARE)})"))  # fmt: skip
    if fake and wiremock:
        row = rows[(events, WIREMOCK)]
        unsettled = "" if row.settled else "; WireMock's warm-up had NOT settled: flatters the fake"
        out.append((f"{events}: ≥ 3× warmed WireMock", fake / wiremock >= 3,
                    f"{fake / wiremock:.2f}× ({fake:,.0f} vs {wiremock:,.0f} req/s"
                    f"{per_round(events, 'fake', WIREMOCK)}{unsettled})"))  # fmt: skip
    row = rows.get((events, "fake"))
    if row and row.runs:
        p99 = _median([r.p99_ms for r in row.runs])
        out.append((f"{events}: p99 < 5 ms at {bench.cfg.connections} connections"
                    + ("" if bench.cfg.connections == 32 else " (the target says 32)"),
                    p99 < 5, f"{p99:.2f} ms"))  # fmt: skip
    for scenario in ("GET /event/{id}", "GET /tickets", "GET /participants"):
        fake, bare = rate(scenario, "fake"), rate(scenario, BARE)
        if fake and bare:
            out.append((f"{scenario}: ≥ 1.0× bare Starlette on uvicorn (its own bytes)",
                        fake / bare >= 1.0, f"{fake / bare:.2f}× ({fake:,.0f} vs "
                        f"{bare:,.0f} req/s{per_round(scenario, 'fake', BARE)})"))  # fmt: skip
    fake, bare = rate("POST /tickets/create", "fake"), rate("POST /tickets/create", BARE)
    if fake and bare:
        out.append(("POST /tickets/create: ≥ 0.7× a bare POST that reads its body",
                    fake / bare >= 0.7, f"{fake / bare:.2f}× ({fake:,.0f} vs {bare:,.0f}/s"
                    f"{per_round('POST /tickets/create', 'fake', BARE)})"))
        out.append(("POST /tickets/create ≥ 2,000 purchases/s", fake >= 2000, f"{fake:,.0f}/s"))
    inventory = [ok for what, ok, _ in bench.checks if what.startswith("inventory")]
    if inventory:
        out.append(("inventory exact after every round", all(inventory),
                    f"{sum(inventory)}/{len(inventory)} rounds"))  # fmt: skip
    start, bare_start = (rows.get(("start to first answer", s)) for s in ("fake", BARE))
    if start and start.value and bare_start and bare_start.value:
        ratio = start.value.median / bare_start.value.median
        out.append(("start to first answer < 0.5 s", start.value.median < 0.5,
                    f"{start.value.median:.2f} s ({ratio:.2f}× bare Starlette's "
                    f"{bare_start.value.median:.2f} s)"))  # fmt: skip
    n = f"{bench.cfg.big:,}"
    big = [r for r in bench.rows if r.scenario == f"GET /participants ({n})" and r.runs]
    if len(big) == 2:
        cost = big[0].median() / big[1].median()
        # Over HTTP wrk repeats one page: after the first, a kept answer (http/answers.py).
        out.append(("last page ≤ 1.2× first page (HTTP, a repeated page is a kept answer)",
                    cost <= 1.2, f"{cost:.2f}×"))  # fmt: skip
    cpu = {r.server: r.value.median for r in bench.rows
           if r.scenario == f"List Participants CPU per request ({n})" and r.value}  # fmt: skip
    if len(cpu) == 2:
        cost = cpu["last page"] / cpu["first page"]
        out.append(("last page ≤ 1.2× first page cost (CPU, in-process)", cost <= 1.2,
                    f"{cost:.2f}×"))  # fmt: skip
    row = rows.get(("cold start to first 200", f"{n} participants"))
    if row and row.value:
        out.append((f"cold start ({n} participants) < 5 s", row.value.median < 5,
                    f"{row.value.median:.2f} s"))  # fmt: skip
    row = rows.get(("resident memory (VmRSS)", f"{n} participants, after the pages"))
    if row and row.value:
        out.append((f"RSS with {n} participants < 100 MB", row.value.median < 100,
                    f"{row.value.median:.0f} MB"))  # fmt: skip
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


EPILOG = """\
scenarios (--only, repeatable; default: all):
  events        GET /events?limit=20: the fake, bare Starlette on uvicorn and on granian,
                Node http, WireMock, Mockoon CLI, Prism (logging off and on)
  event, tickets, participants
                that GET operation: the fake against bare Starlette serving its bytes
  purchase      POST /tickets/create against a bare POST reading its body; inventory exact
  startup       start to first answer: goevent-mock serve against a bare Starlette app
  big           GET /participants first and last page of 1,000,000 participants
  coldstart     start with 1,000,000 participants
  memory        RSS with 1,000,000 participants
  contract      wall time of pytest contract_tests
  million       bench/purchases.py (1,000,000 purchases) when the file exists

examples:
  python bench/run.py --only events --rounds 1 --duration 5 --wiremock-warmup 40
  python bench/run.py --only purchase --only startup   # only the targets measured are judged
  python bench/run.py --no-peers --no-contract     # Python servers only, no npm/java
"""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0], epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--smoke", action="store_true",
                   help="tiny sizes, 1 s runs, 1 round, Python servers only (no npm/java peers, "
                        "no contract suite, no 1,000,000 purchases); wrk if installed, else a "
                        "Python driver (not a measurement)")  # fmt: skip
    p.add_argument("--only", action="append", choices=SCENARIOS, metavar="SCENARIO",
                   help="run only this scenario (repeatable; listed below)")  # fmt: skip
    p.add_argument("--rounds", type=int, default=3, help="rounds per server (default 3)")
    p.add_argument("--duration", type=float, default=10, help="seconds per run (default 10)")
    p.add_argument("--warmup", type=float, default=2, help="warm-up seconds per server (default 2)")
    p.add_argument("--wiremock-warmup", type=float, default=60,
                   help="WireMock's minimum warm-up seconds, in printed 10 s windows; it goes "
                        "on until two windows in a row are within 10%%, up to 3× this "
                        "(default 60: its JIT settled after 35–40 s of load on this kind "
                        "of machine)")  # fmt: skip
    p.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    p.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    p.add_argument("--start-runs", type=int, default=5,
                   help="start-to-first-answer runs of each server (default 5)")  # fmt: skip
    p.add_argument("--cold-rounds", type=int, default=3,
                   help="cold starts with 1,000,000 participants (default 3)")  # fmt: skip
    p.add_argument("--participants", type=int, help="participants of the big event (default 1M)")
    p.add_argument("--driver", choices=["auto", "wrk", "python"], default="auto",
                   help="load driver; python only with --smoke")  # fmt: skip
    p.add_argument("--no-peers", action="store_true",
                   help="leave out WireMock, Mockoon, Prism, Node (no npm, no java)")  # fmt: skip
    p.add_argument("--no-prism", action="store_true", help="leave Prism out")
    p.add_argument("--no-contract", action="store_true", help="leave the contract suite out")
    p.add_argument("--no-million", action="store_true",
                   help="leave bench/purchases.py (1,000,000 purchases) out")  # fmt: skip
    p.add_argument("--json", type=Path, default=CACHE / "last-run.json",
                   help="write the results here (default bench/.cache/last-run.json)")  # fmt: skip
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
            print("NOTE: wrk is not installed; --smoke uses a Python driver: its figures check "
                  "that the harness runs, they are NOT a measurement", flush=True)  # fmt: skip
        print(f"driver: {driver.name} ({driver.version()}), {cfg.connections} connections, "
              f"{cfg.seconds:g} s × {cfg.rounds} rounds", flush=True)  # fmt: skip
        print("versions: " + ", ".join(f"{k} {v}" for k, v in peers.versions().items()),
              flush=True)  # fmt: skip
        with ExitStack() as stack:
            bench = Bench(cfg, driver, stack)
            try:
                bench.read_scenarios()
                stack.close()  # the read scenarios' servers are idle: stop them first
                bench.purchase_scenario()
                stack.close()
                bench.startup_scenario()
                bench.big_scenarios()
                stack.close()
                bench.contract_scenario()
                bench.million_scenario()
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
            print(f"  {'MET    ' if ok else 'NOT MET'} {what}: {figure}")
    for what, ok, detail in bench.checks:
        print(f"  {'ok     ' if ok else 'FAILED '} {what}: {detail}")
    if bench.million:
        print("  1,000,000 purchases (bench/purchases.py), its summary:")
        for line in bench.million:
            print(f"    {line}")
    for line in bench.skips:
        print(f"  skipped: {line}")
    info = machine()
    print(f"\nmachine: {info['nproc']} × {info['cpu']}, load {info['loadavg']}; "
          f"driver {driver.name}; wall time {wall:.0f} s")  # fmt: skip
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({
        "smoke": cfg.smoke,
        "driver": driver.name,
        "measurement": driver.is_measurement,
        "config": {k: (sorted(v) if isinstance(v, set) else v) for k, v in cfg.__dict__.items()},
        "machine": info,
        "versions": peers.versions(),
        "server_pids": STARTED,
        "wall_s": wall,
        "rows": [r.to_json() for r in bench.rows],
        "checks": [{"what": w, "ok": ok, "detail": d} for w, ok, d in bench.checks],
        "targets": [{"what": w, "met": ok, "figure": f} for w, ok, f in results],
        "skipped": bench.skips,
        "million": bench.million,
    }, indent=2))  # fmt: skip
    failed = [w for w, ok, _ in bench.checks if not ok]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
