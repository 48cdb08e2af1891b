"""The proxy's checking side: exchanges in, findings and a recording out, off the request path.

The proxy hands each exchange to :meth:`Monitor.submit` and returns the answer
at once; one worker thread checks exchanges in order. The report is the drift
kit's own (:mod:`mockserver.drift.report`), built from a
:class:`~mockserver.drift.runner.DriftResult`, so it reads live, on demand and
at stop exactly as a drift run's report does.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import orjson

from ..drift.contract import Contract, load_contract
from ..drift.findings import BROKE, Finding
from ..drift.probes import ProbeResult
from ..drift.report import render_json, render_junit, render_markdown, write_reports
from ..drift.runner import EXIT_OK, DriftOptions, DriftResult, uncovered, verdicts
from .anonymise import Anonymiser
from .assumptions import TESTED_KEYS, named_keys
from .exchange import Exchange, ExchangeChecker
from .recorder import Recorder
from .sequence import Sequences

__all__ = ["MAX_FINDINGS", "MAX_QUEUE", "Monitor", "MonitorOptions"]

MAX_QUEUE = 1000  # exchanges waiting to be checked; past it they are forwarded unchecked
MAX_FINDINGS = 500  # distinct findings kept; the others are counted


@dataclass(frozen=True)
class MonitorOptions:
    upstream: str  # the upstream API prefix, e.g. https://cloud.goevent.live/developers/v1.0
    report: Path | None = None
    json: Path | None = None
    junit: Path | None = None
    record: Path | None = None
    fail_on_additive: bool = True
    salt: bytes = field(default=b"", repr=False)  # keys the anonymiser; empty: random per run


@dataclass
class Monitor:
    """Checks exchanges on a worker thread; renders and writes the reports and the recording."""

    def __init__(self, options: MonitorOptions, contract: Contract | None = None) -> None:
        self.options = options
        self.contract = contract or load_contract()
        self.anon = Anonymiser(options.salt or os.urandom(16))
        self.checker = ExchangeChecker(self.contract, self.anon)
        self.sequences = Sequences(self.checker)
        self._named = named_keys()
        self.recorder = Recorder(self.anon, options.upstream) if options.record else None
        self.started = datetime.now(UTC)
        self._t0 = time.monotonic()
        self._queue: queue.Queue[Exchange | None] = queue.Queue(MAX_QUEUE)
        self._lock = threading.Lock()
        self._findings: dict[tuple[str, str, str, str], Finding] = {}
        self._held: dict[str, set[str]] = {}  # operation -> checks that held
        self._seen: dict[str, int] = {}  # operation -> exchanges checked
        self._retry_after: list[str] = []
        self.exchanges = 0
        self.unchecked = 0  # queue full or body over the cap
        self.unanswered = 0  # the upstream gave no answer (502/504 by the proxy)
        self.dropped_findings = 0
        self.errors: list[str] = []
        self._thread = threading.Thread(target=self._work, name="proxy-checker", daemon=True)
        self._thread.start()

    # -- intake (event loop) ---------------------------------------------------

    def submit(self, exchange: Exchange) -> None:
        """Queue one exchange; never blocks the proxy (a full queue skips the check)."""
        try:
            self._queue.put_nowait(exchange)
        except queue.Full:
            with self._lock:
                self.unchecked += 1

    def no_answer(self) -> None:
        with self._lock:
            self.unanswered += 1

    def drain(self, timeout: float = 5.0) -> None:
        """Wait until every queued exchange is checked (at most ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.002)

    # -- the worker ----------------------------------------------------------------

    def _work(self) -> None:
        # Checking yields the CPU to forwarding (on Linux threads have priorities of their own).
        with contextlib.suppress(AttributeError, OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        while True:
            exchange = self._queue.get()
            try:
                if exchange is None:
                    return
                self._check(exchange)
            except Exception as exc:  # a checker bug must not stop the checking
                with self._lock:
                    if len(self.errors) < 20:
                        self.errors.append(
                            f"checking {exchange.method if exchange else '?'} "
                            f"{exchange.path if exchange else ''}: "
                            f"{type(exc).__name__}: {exc}"[:300]
                        )
            finally:
                self._queue.task_done()

    def _check(self, ex: Exchange) -> None:
        if ex.body is not None and ex.content_type.split(";")[0].strip().lower().endswith("json"):
            try:
                ex.json, ex.json_ok = orjson.loads(ex.body), True
            except orjson.JSONDecodeError:
                ex.json_ok = False
        if ex.request_body:
            try:
                ex.request_json = orjson.loads(ex.request_body)
            except orjson.JSONDecodeError:
                ex.request_json = None
        with self._lock:  # the report and the recording are read under the same lock
            found, held = self.checker.check(ex)
            found += self.sequences.observe(ex)
            if self.recorder is not None:
                self.recorder.observe(ex)
            ex.body = ex.request_body = None  # nothing of the exchange outlives its check
            ex.json = ex.request_json = None
            self.exchanges += 1
            if ex.route is None:
                return
            self._seen[ex.operation] = self._seen.get(ex.operation, 0) + 1
            self._held.setdefault(ex.operation, set()).update(held)
            if ex.retry_after is not None and ex.status == 429 and len(self._retry_after) < 100:
                self._retry_after.append(ex.retry_after)
            for finding in found:
                key = finding.key()
                if key in self._findings:
                    self._findings[key].occurrences += 1
                elif len(self._findings) < MAX_FINDINGS:
                    self._findings[key] = finding
                else:
                    self.dropped_findings += 1

    def close(self, timeout: float = 10.0) -> None:
        """Check what is queued, then stop the worker."""
        self.drain(timeout)
        try:
            self._queue.put(None, timeout=1)
        except queue.Full:
            return
        self._thread.join(timeout)

    # -- the report ---------------------------------------------------------------

    def result(self) -> DriftResult:
        """The drift kit's result object for what the proxy saw so far."""
        with self._lock:
            findings = sorted(
                (Finding(**f.to_json()) for f in self._findings.values()),
                key=lambda f: (f.kind != BROKE, f.operation, f.check, f.title),
            )
            seen, held = dict(self._seen), {k: set(v) for k, v in self._held.items()}
            held_seq = set(self.sequences.held)
            notes = self._notes()
            errors = list(self.errors)
            retry_after = list(self._retry_after)
        result = DriftResult(
            target=self.options.upstream,
            banner=self.banner(),
            started=self.started.isoformat(timespec="seconds"),
            options=DriftOptions(phases=(), fail_on_additive=self.options.fail_on_additive),
            duration=time.monotonic() - self._t0,
            requests=self.exchanges,
            findings=findings,
            notes=notes,
            errors=errors,
            # What no check of the proxy tests: no traffic can confirm or refute it.
            uncovered=uncovered(self.contract, self._named),
        )
        probes = []
        topics = tuple(k for keys in TESTED_KEYS.values() for k in keys)
        for op in self.contract.spec.operations:
            name = op.operation_id
            mine = [f for f in findings if f.operation == name]
            checks = held.get(name, set()) | {c for op, c in held_seq if op == name}
            tested = [k for c in sorted(checks) for k in TESTED_KEYS.get(c, ())]
            refuted = [k for f in mine for k in TESTED_KEYS.get(f.check, ())]
            count = seen.get(name, 0)
            probes.append(
                ProbeResult(
                    name=f"proxy {name}",
                    status=("failed" if mine else "passed") if count else "skipped",
                    reason=f"{count} exchange(s) checked" if count else "no exchange seen",
                    findings=mine,
                    tested=tested,
                    refuted=refuted,
                    topics=topics,
                )
            )
        result.probes = probes
        result.verdicts = verdicts(self.contract, result, retry_after)
        if not result.failed_on_drift():
            result.exit_code = EXIT_OK
            result.reason = f"no drift in {self.exchanges} exchange(s)" + (
                f" ({len(result.grew)} additive finding(s) not failing the run)"
                if result.grew
                else ""
            )
        return result

    def _notes(self) -> list[str]:
        notes = [
            f"passive checking by the proxy: {self.exchanges} exchange(s) checked, no request "
            "of its own; only what the traffic exercised is tested"
        ]
        if self.unchecked:
            notes.append(f"{self.unchecked} exchange(s) forwarded unchecked (check queue full)")
        if self.unanswered:
            notes.append(f"{self.unanswered} request(s) the upstream never answered (502/504)")
        if self.dropped_findings:
            notes.append(
                f"{self.dropped_findings} finding(s) past the first {MAX_FINDINGS} dropped"
            )
        return notes

    def banner(self) -> str:
        record = f"; records into {self.options.record}" if self.options.record else ""
        return (
            f"goevent proxy to {self.options.upstream}: forwards every request unchanged and "
            f"checks each exchange against the spec{record}; the token is never stored or printed."
        )

    def render(self, kind: str) -> str:
        self.drain()
        render = {"markdown": render_markdown, "json": render_json, "junit": render_junit}[kind]
        return render(self.result())

    def write(self) -> list[str]:
        """Write every report asked for, and the recording; returns the paths written."""
        self.drain()
        result = self.result()
        o = self.options
        write_reports(result, lambda text: text, markdown=o.report, junit=o.junit, json=o.json)
        written = [str(p) for p in (o.report, o.json, o.junit) if p is not None]
        if self.recorder is not None and o.record is not None:
            with self._lock:
                self.recorder.write(o.record, datetime.now(UTC))
            written.append(str(o.record))
        return written
