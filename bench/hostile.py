"""Hostile load: the memory, stall and connection attacks of a shared fake, one at a time.

Starts ``goevent-mock serve`` on 127.0.0.1 (open ``/_mock``, as on loopback: the worst
case, every limit reachable), then runs each attack while a probe sends a normal
``GET /events`` every 20 ms, and prints, per attack, what the fake answered, its
largest RSS and the probe's p99. Targets: RSS < 300 MB and p99 < 100 ms during every
attack. Everything goes to 127.0.0.1 only; every attack is bounded in count and time.

    python bench/hostile.py                 # every attack (a few minutes)
    python bench/hostile.py --only churn    # one of them; see --help
    python bench/hostile.py --quick         # a tenth of the counts: checks the script
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import resource
import socket
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import Server, free_port

HOST = "127.0.0.1"
TOKEN = "goevent-dev-token"
RSS_TARGET_MB, P99_TARGET_MS = 300.0, 100.0
PROBE_EVERY = 0.02  # seconds between two probe requests


# -- measuring -------------------------------------------------------------------------


@dataclass
class Probe:
    """A normal client: ``GET /events`` every 20 ms on one keep-alive connection."""

    port: int
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)

    def run(self, stop: threading.Event) -> None:
        conn: http.client.HTTPConnection | None = None
        while not stop.is_set():
            started = time.perf_counter()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(HOST, self.port, timeout=5)
                conn.request("GET", "/developers/v1.0/events?limit=20",
                             headers={"Authorization": f"Bearer {TOKEN}"})  # fmt: skip
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    self.errors[f"status {response.status}"] += 1
                else:
                    self.latencies.append((time.perf_counter() - started) * 1000)
            except (OSError, http.client.HTTPException) as exc:
                self.errors[type(exc).__name__] += 1
                # A probe that cannot get an answer counts as slow as its timeout.
                self.latencies.append((time.perf_counter() - started) * 1000)
                if conn is not None:
                    conn.close()
                conn = None
            stop.wait(PROBE_EVERY)
        if conn is not None:
            conn.close()

    def p99(self) -> float:
        if len(self.latencies) < 2:
            return float("nan")
        return statistics.quantiles(self.latencies, n=100)[98]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class Result:
    attack: str
    outcome: str
    seconds: float
    rss_max: float
    p99: float
    probes: int
    probe_errors: str

    @property
    def ok(self) -> bool:
        return self.rss_max < RSS_TARGET_MB and self.p99 < P99_TARGET_MS and not self.probe_errors


def measure(server: Server, name: str, attack: Callable[[], str]) -> Result:
    """Run ``attack`` while probing and sampling the server's RSS."""
    probe, stop, peak = Probe(int(server.base.rsplit(":", 1)[1])), threading.Event(), [0.0]

    def sample() -> None:
        while not stop.is_set():
            with contextlib.suppress(OSError):
                peak[0] = max(peak[0], rss_mb(server.pid))
            stop.wait(0.05)

    threads = [threading.Thread(target=probe.run, args=(stop,)),
               threading.Thread(target=sample)]  # fmt: skip
    for t in threads:
        t.start()
    started = time.perf_counter()
    try:
        time.sleep(0.5)  # probe a quiet server first: the attack's effect is what follows
        outcome = attack()
        time.sleep(0.5)
    except Exception as exc:  # an attack that fails is a finding, not the end of the run
        outcome = f"attack failed: {exc!r}"
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    errors = ", ".join(f"{k}×{v}" for k, v in probe.errors.items())
    return Result(name, outcome, time.perf_counter() - started, peak[0], probe.p99(),
                  len(probe.latencies), errors)  # fmt: skip


# -- attacks -----------------------------------------------------------------------------


def _answer(sock: socket.socket, timeout: float) -> bytes:
    """The status line the server sent, or b"" if it closed without one."""
    sock.settimeout(timeout)
    data = b""
    with contextlib.suppress(OSError):
        while b"\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    return data.split(b"\r\n", 1)[0]


def _request(conn: http.client.HTTPConnection, method: str, path: str, body: bytes | None = None,
             headers: dict[str, str] | None = None) -> int:  # fmt: skip
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    response.read()
    return response.status


def rejected_bodies(port: int, count: int, deadline: float) -> str:
    """``count`` Create Tickets bodies of ~1 MiB that are not JSON: each is read, refused and
    journaled (the journal used to keep every one whole)."""
    body = b"x" * (1024 * 1024 - 64)
    statuses: Counter[int] = Counter()
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    sent = 0
    for sent in range(1, count + 1):  # noqa: B007  (sent is reported)
        statuses[_request(conn, "POST", "/developers/v1.0/tickets/create", body, headers)] += 1
        if time.monotonic() > deadline:
            break
    conn.close()
    return f"{sent} sent: " + ", ".join(f"{s}×{n}" for s, n in sorted(statuses.items()))


def huge_control_body(port: int, size: int, deadline: float, chunked: bool) -> str:
    """``POST /_mock/clock`` with a body of ``size`` bytes, declared or chunked; sends until
    the server answers or closes."""
    head = b"POST /_mock/clock HTTP/1.1\r\nHost: fake\r\nContent-Type: application/json\r\n"
    length = b"Transfer-Encoding: chunked" if chunked else b"Content-Length: %d" % size
    head += length + b"\r\n\r\n"
    piece = b" " * 65536
    sent = 0
    with socket.create_connection((HOST, port), timeout=30) as sock:
        sock.sendall(head)
        sock.setblocking(False)
        while sent < size and time.monotonic() < deadline:
            try:
                data = b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece
                sock.send(data)
                sent += len(piece)
            except BlockingIOError:
                time.sleep(0.001)
                with contextlib.suppress(BlockingIOError, OSError):
                    if sock.recv(1, socket.MSG_PEEK):
                        break  # the server has answered
            except OSError:
                break  # the server closed the connection
        status = _answer(sock, 10)
    kind = "chunked" if chunked else "Content-Length"
    answer = status.decode() or "closed"
    return f"{kind} {size / 2**20:.0f} MiB, {sent / 2**20:.1f} MiB sent: {answer}"


def big_fixture(port: int, size: int) -> str:
    """``POST /_mock/fixtures`` of ``size`` bytes (declared)."""
    with socket.create_connection((HOST, port), timeout=30) as sock:
        head = b"POST /_mock/fixtures HTTP/1.1\r\nHost: fake\r\nContent-Type: application/json\r\n"
        sock.sendall(head + b"Content-Length: %d\r\n\r\n" % size)
        sock.sendall(b"{" + b" " * 65536)
        status = _answer(sock, 30)
    return f"{size / 1e6:.0f} MB declared: {status.decode() or 'closed'}"


def fault_rules(port: int, count: int, deadline: float) -> str:
    """``count`` fault rules posted one by one (on getEvent: every GET /events walks them)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    body = json.dumps({"operation": "getEvent", "latency": "1ms"}).encode()
    statuses: Counter[int] = Counter()
    for _ in range(count):
        statuses[_request(conn, "POST", "/_mock/faults", body,
                          {"Content-Type": "application/json"})] += 1  # fmt: skip
        if statuses[409] >= 1000 or time.monotonic() > deadline:
            break  # the cap holds: more of the same proves nothing
    time.sleep(2)  # probe with the rules in place
    _request(conn, "DELETE", "/_mock/faults")
    conn.close()
    return f"{sum(statuses.values())} posted: " + ", ".join(
        f"{s}×{n}" for s, n in sorted(statuses.items())
    )


def huge_header(port: int, size: int, deadline: float) -> str:
    """A request whose one header is ``size`` bytes long; sends until the server answers
    or closes."""
    piece = b"a" * 65536
    sent = 0
    with socket.create_connection((HOST, port), timeout=30) as sock:
        sock.sendall(b"GET /_mock/health HTTP/1.1\r\nHost: fake\r\nX-Big: ")
        sock.setblocking(False)
        while sent < size and time.monotonic() < deadline:
            try:
                sent += sock.send(piece)
            except BlockingIOError:
                time.sleep(0.001)
                with contextlib.suppress(BlockingIOError, OSError):
                    if sock.recv(1, socket.MSG_PEEK):
                        break
            except OSError:
                break
        status = _answer(sock, 10)
    return f"{size / 1e6:.0f} MB header, {sent / 1e6:.1f} MB sent: {status.decode() or 'closed'}"


def idle_connections(port: int, wanted: int, hold: float) -> str:
    """``wanted`` connections that never send a byte (capped by this machine's descriptor
    limit), held ``hold`` seconds; how many the server closed meanwhile."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    count = min(wanted, soft - 200)
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            try:
                socks.append(socket.create_connection((HOST, port), timeout=5))
            except OSError:
                break
        time.sleep(hold)
        closed = 0
        for s in socks:
            s.setblocking(False)
            try:
                closed += s.recv(1) == b""
            except BlockingIOError:
                pass
            except OSError:
                closed += 1
    finally:
        for s in socks:
            s.close()
    return (f"{len(socks)} opened (of {wanted}; descriptor limit {soft}), "
            f"{closed} closed by the server within {hold:.0f} s")  # fmt: skip


def sandbox_churn(port: int, rounds: int, per_round: int, deadline: float) -> str:
    """Sandboxes made and forgotten, round after round: what stays behind grows RSS."""
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    statuses: Counter[int] = Counter()
    for r in range(rounds):
        for i in range(per_round):
            auth = {"Authorization": f"Bearer sandbox-churn-{r}-{i}"}
            statuses[_request(conn, "GET", "/developers/v1.0/events", headers=auth)] += 1
        _request(conn, "DELETE", "/_mock/sandboxes")
        if time.monotonic() > deadline:
            rounds = r + 1
            break
    # Past the cap: new tokens are refused, held sandboxes stay.
    for i in range(per_round * 2):
        auth = {"Authorization": f"Bearer sandbox-flood-{i}"}
        statuses[_request(conn, "GET", "/developers/v1.0/events", headers=auth)] += 1
    _request(conn, "DELETE", "/_mock/sandboxes")
    conn.close()
    made = rounds * per_round
    return f"{made} made and forgotten, then a flood: " + ", ".join(
        f"{s}×{n}" for s, n in sorted(statuses.items())
    )


def distinct_reads(port: int, count: int, deadline: float) -> str:
    """``count`` reads that differ only in a padded, unknown query parameter: each answer
    is kept (``http/answers.py``) until the set is full, then the set starts over."""
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    conn.request("GET", "/developers/v1.0/events?limit=1", headers=auth)
    event_id = json.loads(conn.getresponse().read())["events"][0]["id"]
    statuses: Counter[int] = Counter()
    sent = 0
    for sent in range(1, count + 1):
        pad = f"{sent:08d}".ljust(1900, "x")  # just under the 2 KB key that is still kept
        path = f"/developers/v1.0/participants?eventId={event_id}&limit=100&pad={pad}"
        statuses[_request(conn, "GET", path, headers=auth)] += 1
        if time.monotonic() > deadline:
            break
    conn.close()
    return f"{sent} distinct reads: " + ", ".join(f"{s}×{n}" for s, n in sorted(statuses.items()))


# -- the run -----------------------------------------------------------------------------


@contextlib.contextmanager
def fake(extra: list[str]) -> Iterator[Server]:
    port = free_port()
    base = f"http://{HOST}:{port}"
    argv = [sys.executable, "-m", "mockserver.cli", "serve", "--host", HOST, "--port", str(port),
            *extra]  # fmt: skip
    with Server("hostile-fake", argv, base + "/_mock/health", base=base) as server:
        yield server


def _attack(name: str, port: int, deadline: float, scale: int) -> Callable[[], str]:
    attacks: dict[str, Callable[[], str]] = {
        "bodies": lambda: rejected_bodies(port, 1000 // scale, deadline),
        "control": lambda: huge_control_body(port, 2**30 // scale, deadline, False),
        "chunked": lambda: huge_control_body(port, 2**30 // scale, deadline, True),
        "fixture": lambda: big_fixture(port, 47_000_000),
        "faults": lambda: fault_rules(port, 200_000 // scale, deadline),
        "header": lambda: huge_header(port, 100_000_000 // scale, deadline),
        "idle": lambda: idle_connections(port, 20_000 // scale, 10.0),
        "churn": lambda: sandbox_churn(port, 20 // scale or 1, 60, deadline),
        "reads": lambda: distinct_reads(port, 20_000 // scale, deadline),
    }
    return attacks[name]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    names = ["bodies", "control", "chunked", "fixture", "faults", "header", "idle", "churn",
             "reads"]  # fmt: skip
    parser.add_argument("--only", choices=names, action="append", help="run only these")
    parser.add_argument("--quick", action="store_true", help="a tenth of the counts")
    parser.add_argument("--limit", type=float, default=120.0,
                        help="seconds each attack may run at most (default 120)")  # fmt: skip
    args = parser.parse_args(argv)
    scale = 10 if args.quick else 1
    chosen = args.only or names
    results: list[Result] = []
    for name in chosen:
        # A fresh fake per attack: what one leaves behind must not be charged to the next.
        with fake([]) as server:
            port = int(server.base.rsplit(":", 1)[1])
            attack = _attack(name, port, time.monotonic() + args.limit, scale)
            before = server.rss_mb()
            result = measure(server, name, attack)
            print(f"{name:8} rss {before:5.0f} -> max {result.rss_max:5.0f} MB  "
                  f"p99 {result.p99:7.1f} ms  {'ok ' if result.ok else 'FAIL'}  "
                  f"{result.outcome}" + (f"  probe errors: {result.probe_errors}"
                                         if result.probe_errors else ""), flush=True)  # fmt: skip
            results.append(result)
    print()
    print("| attack | what the fake answered | RSS max | p99 GET /events | probes | target met |")
    print("|---|---|---:|---:|---:|---|")
    for r in results:
        met = ("yes" if r.ok else "no") + (f" ({r.probe_errors})" if r.probe_errors else "")
        print(f"| {r.attack} | {r.outcome} | {r.rss_max:.0f} MB | {r.p99:.1f} ms | {r.probes} "
              f"| {met} |")  # fmt: skip
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
