"""``goevent-mock drift``: check a server against the spec and say what drifted."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from .target import ALL_PHASES, DEFAULT_MAX_REQUESTS, ENV, SEED, Target, TargetError

__all__ = ["add_parser", "add_trend_parser", "drift", "drift_trend"]

HELP = f"""\
Run the contract kit against a GoEvent API (the live one, or anything that
claims to be it) and report every way it departs from the spec.

Exit status: 0 no drift, 1 drift found, 2 could not run (unreachable, token
refused, budget spent), with the reason on one line.

Without --allow-writes the run is read-only: it never calls POST
/tickets/create. With --allow-writes --event-id ID it buys a few tickets of
that one event, and no other. The token may come from {ENV["token"]}
(better than a flag: it stays out of the process list); it is never printed.
"""


def add_parser(sub: Any) -> None:
    """Register ``drift`` on the ``goevent-mock`` subcommands."""
    p = sub.add_parser(
        "drift",
        help="check a live API against the spec",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--base-url",
        help=f"the API prefix, e.g. https://cloud.goevent.live/developers/v1.0 "
        f"(default ${ENV['base_url']})",
    )
    p.add_argument("--token", help=f"bearer token (default ${ENV['token']})")
    p.add_argument(
        "--other-token",
        help=f"a second organizer's token, for the isolation probe (default ${ENV['other_token']})",
    )
    p.add_argument(
        "--allow-writes", action="store_true", help="allow buying tickets, only for --event-id"
    )
    p.add_argument(
        "--event-id",
        help=f"the one event whose tickets the run may buy (default ${ENV['test_event_id']})",
    )
    p.add_argument("--report", type=Path, metavar="PATH", help="write the Markdown report here")
    p.add_argument("--junit", type=Path, metavar="PATH", help="write a JUnit XML report here")
    p.add_argument("--json", type=Path, metavar="PATH", help="write a JSON report here")
    p.add_argument(
        "--html",
        type=Path,
        metavar="PATH",
        help="write a self-contained HTML report here (verdict, chart, findings with curl)",
    )
    p.add_argument(
        "--fail-on-additive",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="whether fields the spec does not know fail the run (default: they do)",
    )
    p.add_argument(
        "--max-requests",
        type=int,
        metavar="N",
        help=f"request budget (default ${ENV['max_requests']} or {DEFAULT_MAX_REQUESTS})",
    )
    p.add_argument(
        "--phases",
        default=",".join(ALL_PHASES),
        help=f"Schemathesis phases, comma-separated, or none: probes only "
        f"(default {','.join(ALL_PHASES)})",
    )
    p.add_argument(
        "--max-examples",
        type=int,
        default=10,
        metavar="N",
        help="examples per operation in the fuzzing phase (default 10)",
    )
    p.add_argument("--seed", type=int, default=SEED, help=f"generation seed (default {SEED})")
    p.add_argument(
        "--operation",
        action="append",
        metavar="OPERATION_ID",
        help="test only this operation (repeatable; default: all)",
    )


def _target(args: argparse.Namespace) -> Target:
    """The target of the flags, each falling back to its variable (as ``Target.from_env``)."""
    env = dict(os.environ)
    flags = {
        "base_url": args.base_url,
        "token": args.token,
        "other_token": args.other_token,
        "allow_writes": "1" if args.allow_writes else None,
        "test_event_id": args.event_id,
        "max_requests": None if args.max_requests is None else str(args.max_requests),
    }
    env.update({ENV[key]: value for key, value in flags.items() if value})
    if not env.get(ENV["base_url"], "").strip():
        raise TargetError(f"no base URL: give --base-url or set {ENV['base_url']}")
    if not env.get(ENV["token"], "").strip():
        raise TargetError(f"no token: give --token or set {ENV['token']}")
    target = Target.from_env(env)
    assert target is not None  # a base URL is set
    return target


def drift(args: argparse.Namespace) -> int:
    """The ``drift`` subcommand; returns its exit status."""
    from .report import summary_line, write_reports
    from .runner import EXIT_CANNOT_RUN, DriftOptions, run_drift

    try:
        target = _target(args)
        phases = tuple(p.strip() for p in args.phases.split(",") if p.strip() not in ("", "none"))
        unknown = set(phases) - set(ALL_PHASES)
        if unknown:
            raise TargetError(
                f"unknown phase(s) {', '.join(sorted(unknown))}; "
                f"choose from {', '.join(ALL_PHASES)}"
            )
    except TargetError as exc:
        print(f"goevent drift: COULD NOT RUN (exit 2): {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    from .guard import RunGuard

    redact = RunGuard(target).redact
    print(target.banner(), flush=True)
    options = DriftOptions(
        phases=phases,
        max_examples=args.max_examples,
        seed=args.seed,
        fail_on_additive=args.fail_on_additive,
        operations=tuple(args.operation) if args.operation else None,
    )
    result = run_drift(target, options)
    write_reports(result, redact, markdown=args.report, junit=args.junit, json=args.json,
                  html=args.html)  # fmt: skip
    for f in result.findings:
        print(redact(f"  [{f.kind}] {f.operation}: {f.title} ({f.check})"))
    print(redact(summary_line(result)), flush=True)
    return result.exit_code


TREND_HELP = """\
Read several JSON drift reports (goevent-mock drift --json, one per night) and
write one HTML page showing how the findings and the assumptions changed over
time: findings per run, which are new, which are gone, which assumptions changed.

A directory stands for the *.json files in it. Exit status: 0 written, 2 a
report could not be read (with the file and the reason).
"""


def add_trend_parser(sub: Any) -> None:
    """Register ``drift-trend`` on the ``goevent-mock`` subcommands."""
    p = sub.add_parser(
        "drift-trend",
        help="show how drift findings changed over several JSON reports",
        description=TREND_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("reports", nargs="+", type=Path, metavar="REPORT",
                   help="JSON drift reports, or directories of them")  # fmt: skip
    p.add_argument("--html", type=Path, metavar="PATH", required=True,
                   help="write the trend page here")  # fmt: skip


def drift_trend(args: argparse.Namespace) -> int:
    """The ``drift-trend`` subcommand; returns its exit status."""
    import json

    from .html import render_trend

    files: list[Path] = []
    for path in args.reports:
        files += sorted(path.glob("*.json")) if path.is_dir() else [path]
    reports, names = [], []
    for path in files:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            print(f"goevent drift-trend: cannot read {path}: {exc}", file=sys.stderr)
            return 2
        if not isinstance(data, dict) or not isinstance(data.get("findings"), list):
            print(f"goevent drift-trend: {path} is not a JSON drift report "
                  "(goevent-mock drift --json): no findings list", file=sys.stderr)  # fmt: skip
            return 2
        reports.append(data)
        names.append(path.name)
    if not reports:
        print("goevent drift-trend: no JSON report found in " +
              ", ".join(map(str, args.reports)), file=sys.stderr)  # fmt: skip
        return 2
    args.html.parent.mkdir(parents=True, exist_ok=True)
    args.html.write_text(render_trend(reports, names), encoding="utf-8")
    print(f"goevent drift-trend: {len(reports)} report(s) -> {args.html}")
    return 0
