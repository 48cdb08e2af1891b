"""``goevent-mock proxy``: the validating reverse proxy on a socket."""

from __future__ import annotations

import argparse
import socket
import sys
from pathlib import Path
from typing import Any

from ..settings import ENV_PREFIX, Settings

__all__ = ["add_parser", "proxy"]

HELP = f"""\
Forward a client's traffic to a GoEvent API (--upstream, the live one or the
fake) unchanged, and check every exchange against the spec: statuses, content
types, request and response schemas, fields the spec does not know, and the
business rules a sequence of exchanges shows (a purchase lowers the quantity,
the buyer is then listed, pages do not overlap, one token never reads
another's events). The proxy sends no request of its own.

Point the client at http://HOST:PORT/developers/v1.0 instead of the live API.
Findings use the drift report's formats: read them live at
http://HOST:PORT/_proxy/report (.json, .xml), write them now with
POST /_proxy/write; they are written to --report/--json/--junit when the proxy
stops (Ctrl-C or SIGTERM). Exit status on stop: 0 no drift, 1 drift found,
2 could not start.

--record FILE keeps what the upstream showed (events, ticket types,
participants, purchases) as a fixture that `goevent-mock serve --fixtures FILE`
loads. Names, e-mails, phones and addresses are replaced by Faker values;
tokens are never recorded, printed or written.

Every flag can also be set as {ENV_PREFIX}<NAME> (e.g. {ENV_PREFIX}UPSTREAM).
"""


def add_parser(sub: Any) -> None:
    """Register ``proxy`` on the ``goevent-mock`` subcommands."""
    p = sub.add_parser(
        "proxy",
        help="a validating, recording proxy to a GoEvent API",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--upstream",
        metavar="URL",
        help="the upstream API prefix, e.g. https://cloud.goevent.live/developers/v1.0",
    )
    p.add_argument("--host", help="interface to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port to listen on (default 8000; 0 picks a free one)")
    p.add_argument(
        "--upstream-timeout",
        type=int,
        metavar="SECONDS",
        help="seconds without an answer before the proxy answers 504 (default 30)",
    )
    p.add_argument("--report", type=Path, metavar="PATH", help="write the Markdown report here")
    p.add_argument("--junit", type=Path, metavar="PATH", help="write a JUnit XML report here")
    p.add_argument("--json", type=Path, metavar="PATH", help="write a JSON report here")
    p.add_argument(
        "--record",
        type=Path,
        metavar="FILE",
        help="record what the upstream showed into this fixture file",
    )
    p.add_argument(
        "--record-salt",
        metavar="TEXT",
        help="key of the fake people: the same salt gives the same fake person for "
        "the same real one across recordings (default: random, one per run)",
    )
    p.add_argument(
        "--fail-on-additive",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="whether fields the spec does not know count as drift (default: they do)",
    )


def run_app(app: Any, settings: Settings, sock: socket.socket) -> None:
    """Serve ``app`` on ``sock`` until SIGINT or SIGTERM: the one place that runs it. It
    returns then (it does not end the process), so the reports are still written."""
    from .. import server

    # The checker thread hands the GIL back to the event loop within 0.5 ms, not 5 ms:
    # forwarding waits less for checks of earlier answers (docs/benchmarks.md).
    sys.setswitchinterval(0.0005)
    server.run(app, settings, sock, lifespan=True)


def proxy(args: argparse.Namespace) -> int:
    """The ``proxy`` subcommand; returns its exit status."""
    from .app import ProxyOptions, create_proxy_app

    names = [
        "host",
        "port",
        "upstream",
        "upstream_timeout",
        "report",
        "json",
        "junit",
        "record",
        "record_salt",
        "fail_on_additive",
    ]
    try:
        settings = Settings.from_env(**{n: getattr(args, n, None) for n in names})
        if not settings.upstream:
            raise ValueError(f"no upstream: give --upstream URL or set {ENV_PREFIX}UPSTREAM")
        if settings.upstream_timeout < 1:
            raise ValueError(
                f"--upstream-timeout must be at least 1, got {settings.upstream_timeout}"
            )
        options = ProxyOptions(
            upstream=settings.upstream,
            timeout=float(settings.upstream_timeout),
            report=settings.report,
            json=settings.json,
            junit=settings.junit,
            record=settings.record,
            fail_on_additive=settings.fail_on_additive,
            record_salt=settings.record_salt,
        )
        app = create_proxy_app(options)
    except ValueError as exc:
        print(f"goevent-mock proxy: cannot start: {exc}", file=sys.stderr)
        return 2
    from .. import server

    try:
        sock = server.listen(settings)
    except OSError as exc:
        print(
            f"goevent-mock proxy: cannot listen on {settings.host}:{settings.port}: {exc.strerror}",
            file=sys.stderr,
        )
        return 2
    port = sock.getsockname()[1]
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    root = f"http://{host}:{port}"
    monitor = app.monitor
    print(f"GoEvent proxy listening on {root}{app.base} → {app.upstream}", flush=True)
    print(f"  {monitor.banner()}")
    print(
        f"  report: {root}/_proxy/report (live); write now: curl -X POST {root}/_proxy/write",
        flush=True,
    )
    try:
        run_app(app, settings, sock)
    finally:
        monitor.close()
        written = monitor.write()
        result = monitor.result()
        for f in result.findings:
            print(f"  [{f.kind}] {f.operation}: {f.title} ({f.check})")
        from ..drift.report import summary_line

        print(summary_line(result).replace("goevent drift", "goevent proxy"), flush=True)
        for path in written:
            print(f"  wrote {path}", flush=True)
    return result.exit_code
