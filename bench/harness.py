"""The benchmark's machinery: servers it starts and stops, load drivers, statistics.

Every server runs in its own process group on 127.0.0.1 and is stopped
terminate → wait → kill, also on Ctrl-C or an exception (``Server`` is a
context manager). Every wait is bounded; readiness is polled, never slept.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
CACHE = BENCH / ".cache"
PRISM_VERSION = "5.16.0"


class BenchError(RuntimeError):
    """Something the benchmark cannot go on without; the message says what and how to fix it."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_get(
    url: str, headers: dict[str, str] | None = None, timeout: float = 5.0
) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


STARTED: list[int] = []  # the pid of every server started in this process


class Server:
    """A server process: ``with Server(...) as s:`` starts it, waits for 200 on ``ready_url``.

    ``ready_s`` is the time from spawning the process to the first 200 (the cold start).
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        ready_url: str,
        *,
        headers: dict[str, str] | None = None,
        ready_timeout: float = 60.0,
        env: dict[str, str] | None = None,
        base: str = "",
    ) -> None:
        self.name, self.argv, self.ready_url = name, list(argv), ready_url
        self.base = base  # the server's http://host:port
        self.headers = headers or {}
        self.ready_timeout = ready_timeout
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.ready_s = float("nan")
        self.log = CACHE / "logs" / f"{name}.log"

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as log:
            started = time.perf_counter()
            self.proc = subprocess.Popen(
                self.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=ROOT,
                env=self.env,
                start_new_session=True,
            )
            STARTED.append(self.proc.pid)
        try:
            self._wait_ready(started)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, started: float) -> None:
        assert self.proc is not None
        deadline = started + self.ready_timeout
        last = "no answer yet"
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(
                    f"{self.name} exited with {self.proc.returncode} before it was ready; "
                    f"its output ({self.log}):\n{self.tail()}"
                )
            try:
                status, _ = http_get(self.ready_url, self.headers, timeout=1.0)
            except OSError as exc:
                last = str(exc)
            else:
                if status == 200:
                    self.ready_s = time.perf_counter() - started
                    return
                last = f"status {status}"
            time.sleep(0.005)  # a poll interval, not a wait for readiness
        raise BenchError(
            f"{self.name} did not answer 200 on {self.ready_url} within {self.ready_timeout:.0f} s "
            f"({last}); its output ({self.log}):\n{self.tail()}"
        )

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no output)"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def rss_mb(self) -> float:
        """Resident memory of the server: VmRSS summed over its process group.

        A server may be several processes (granian's main process and its
        worker, a launcher and its JVM); each runs in the group this server
        started, so the sum is what the server costs.
        """
        total, found = 0, False
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[2]) != self.pid:  # the 5th field of stat: the process group
                    continue
                status = (stat.parent / "status").read_text()
            except (OSError, IndexError, ValueError):
                continue  # the process ended while being read
            for line in status.splitlines():
                if line.startswith("VmRSS:"):
                    total, found = total + int(line.split()[1]), True
        if not found:
            raise BenchError(f"no VmRSS for the process group {self.pid}")
        return total / 1024

    def stop(self) -> None:
        """terminate → wait → kill, on the whole process group this server started."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 10.0)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                proc.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue


# -- load drivers --------------------------------------------------------------


@dataclass
class Run:
    """One load run against one server."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int  # socket errors and timeouts
    non_2xx: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def ensure_wrk(allow_install: bool) -> str | None:
    """The path of wrk; installs Debian's package when missing and allowed (says so)."""
    found = shutil.which("wrk")
    if found or not allow_install:
        return found
    apt = shutil.which("apt-get")
    if apt is None:
        raise BenchError("wrk is not installed and apt-get is missing: install wrk 4.x")
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    print("wrk is not installed: installing Debian's package (apt-get install -y wrk)", flush=True)
    for argv in (
        [*sudo, apt, "install", "-y", "wrk"],
        [*sudo, apt, "update"],
        [*sudo, apt, "install", "-y", "wrk"],
    ):
        done = subprocess.run(argv, capture_output=True, text=True, timeout=600)
        if done.returncode == 0 and shutil.which("wrk"):
            return shutil.which("wrk")
    raise BenchError(f"could not install wrk ({' '.join(argv)}):\n{done.stderr[-2000:]}")


class Wrk:
    """wrk on one thread per core given (default 1: the server keeps the other core)."""

    name = "wrk"
    is_measurement = True

    def __init__(self, path: str, threads: int, timeout_s: float = 2.0) -> None:
        self.path, self.threads, self.timeout_s = path, threads, timeout_s

    def version(self) -> str:
        out = subprocess.run([self.path, "-v"], capture_output=True, text=True, timeout=10)
        return (out.stdout + out.stderr).splitlines()[0].strip()

    def run(
        self,
        url: str,
        *,
        connections: int,
        seconds: float,
        headers: dict[str, str],
        script: Path | None = None,
        script_args: Sequence[str] = (),
    ) -> Run:
        argv = [
            self.path,
            f"-t{self.threads}",
            f"-c{connections}",
            f"-d{seconds:g}s",
            f"--timeout={self.timeout_s:g}s",
            "--latency",
            "-s",
            str(script or BENCH / "wrk" / "report.lua"),
        ]
        for key, value in headers.items():
            argv += ["-H", f"{key}: {value}"]
        argv.append(url)
        if script_args:
            argv += ["--", *script_args]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 30)
        line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
        if done.returncode != 0 or line is None:
            raise BenchError(f"wrk failed ({done.returncode}): {done.stdout}\n{done.stderr}")
        r = json.loads(line.removeprefix("BENCH_JSON "))
        errors = r["connect"] + r["read"] + r["write"] + r["timeout"]
        extra = {k: r[k] for k in ("sent", "drained", "ok", "bad", "sold_out", "other") if k in r}
        extra["bytes"] = r["bytes"]
        return Run(
            r["requests"],
            r["duration_us"] / 1e6,
            r["p50_us"] / 1000,
            r["p99_us"] / 1000,
            errors,
            r["status"],
            extra,
        )


class PythonDriver:
    """A small keep-alive HTTP client on threads: for --smoke where wrk is not installed.

    It exercises the harness end to end; its figures are NOT a measurement (a
    Python client on the same two cores is slower than the server it drives).
    """

    name = "python-driver (not a measurement)"
    is_measurement = False

    def version(self) -> str:
        return "http.client on threads"

    def run(
        self,
        url: str,
        *,
        connections: int,
        seconds: float,
        headers: dict[str, str],
        script: Path | None = None,
        script_args: Sequence[str] = (),
    ) -> Run:
        parsed = urllib.request.urlparse(url)
        target = parsed.path + (f"?{parsed.query}" if parsed.query else "")
        purchase = script is not None and script.name == "purchase.lua"
        if purchase:
            path, body_file, buy_seconds = script_args[0], script_args[1], float(script_args[2])
            body = Path(body_file).read_bytes()
            target = path
            headers = {**headers, "Content-Type": "application/json"}
        start = time.perf_counter()
        stop_at, buy_until = start + seconds, start + (buy_seconds if purchase else seconds)
        latencies: list[float] = []
        counts = {"ok": 0, "bad": 0, "sold_out": 0, "other": 0, "sent": 0, "drained": 0}
        errors = [0]
        lock = threading.Lock()

        def worker() -> None:
            conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=10)
            mine: list[float] = []
            local = dict.fromkeys(counts, 0)
            while (now := time.perf_counter()) < stop_at:
                try:
                    if purchase:
                        buying = now < buy_until
                        local["sent" if buying else "drained"] += 1
                        conn.request("POST", target, body if buying else b"{}", headers)
                    else:
                        conn.request("GET", target, headers=headers)
                    response = conn.getresponse()
                    response.read()
                except OSError:
                    with lock:
                        errors[0] += 1
                    conn.close()
                    continue
                mine.append(time.perf_counter() - now)
                status = response.status
                key = {200: "ok", 400: "bad", 409: "sold_out"}.get(status, "other")
                local[key] += 1
            conn.close()
            with lock:
                latencies.extend(mine)
                for k, v in local.items():
                    counts[k] += v

        workers = [threading.Thread(target=worker) for _ in range(min(connections, 4))]
        for w in workers:
            w.start()
        for w in workers:
            w.join(timeout=seconds + 30)
        elapsed = time.perf_counter() - start
        latencies.sort()
        n = len(latencies)
        non_2xx = n - counts["ok"]
        return Run(
            n,
            elapsed,
            _pct(latencies, 50) * 1000,
            _pct(latencies, 99) * 1000,
            errors[0],
            non_2xx,
            counts if purchase else {},
        )


def _pct(sorted_values: list[float], pct: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * pct / 100))]


# -- statistics ------------------------------------------------------------------


@dataclass
class Summary:
    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Summary:
        return cls(statistics.median(values), min(values), max(values))


def interleaved(rounds: int, names: Sequence[str]) -> list[list[str]]:
    """The order of servers in each round, rotated so none always goes first."""
    return [list(names[r % len(names) :]) + list(names[: r % len(names)]) for r in range(rounds)]


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start
