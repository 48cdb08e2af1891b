"""``goevent-mock drift``: check a server against the spec and say what drifted."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from .target import ALL_PHASES, DEFAULT_MAX_REQUESTS, ENV, SEED, Target, TargetError

__all__ = ["add_parser", "drift"]

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
    write_reports(result, redact, markdown=args.report, junit=args.junit, json=args.json)
    for f in result.findings:
        print(redact(f"  [{f.kind}] {f.operation}: {f.title} ({f.check})"))
    print(redact(summary_line(result)), flush=True)
    return result.exit_code
