"""``goevent-mock``: run the fake (``serve``) or check a live API for drift (``drift``)."""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path

from .settings import DEFAULT_TOKEN, ENV_PREFIX, Settings

__all__ = ["main"]

# The contract kit's own dependencies (Schemathesis, with Hypothesis and pytest) are
# an extra: `serve` and the pytest plugin run without them.
CONTRACT_EXTRA = "goevent-mock[contract]"

SERVE_HELP = f"""\
Run the stateful GoEvent fake on HTTP.

The API is served under /developers/v1.0, as on the live API: point a client
at http://HOST:PORT/developers/v1.0 instead of
https://cloud.goevent.live/developers/v1.0 and keep everything else.

Every flag can also be set as an environment variable {ENV_PREFIX}<NAME>
(for example {ENV_PREFIX}SEED=7, {ENV_PREFIX}FIXTURES=fixtures/docs-examples.json);
a flag wins over the variable.

Data: without --fixtures, a deterministic data set is generated from --seed
(the same seed gives byte-identical answers on every machine). Organizer 1's
token is --token (default {DEFAULT_TOKEN}); organizer N's is TOKEN-N.
"""


def _serve_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("serve", help="run the fake", description=SERVE_HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--host", help="interface to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port to listen on (default 8000; 0 picks a free one)")
    p.add_argument("--seed", type=int, help="seed of the generated data set (default 42)")
    p.add_argument("--fixtures", type=Path, metavar="PATH",
                   help="serve this fixture file instead of generated data")  # fmt: skip
    p.add_argument(
        "--token", help=f"bearer token of the default organizer (default {DEFAULT_TOKEN})"
    )
    p.add_argument("--organizers", type=int, help="organizers to generate (default 2)")
    p.add_argument("--events-per-organizer", type=int, help="events per organizer (default 5)")
    p.add_argument("--ticket-types-per-event", type=int, help="ticket types per event (default 3)")
    p.add_argument("--participants-per-event", type=int,
                   help="participants per event (default 30; above 1,000 they are computed "
                        "on demand, so even 1000000 starts at once in little memory)")  # fmt: skip
    p.add_argument("--spec", type=Path, metavar="PATH",
                   help="serve this OpenAPI document instead of the packaged one")  # fmt: skip
    p.add_argument("--validate-responses", action="store_true", default=None,
                   help="check every answer against the spec; a mismatch answers 500")  # fmt: skip
    p.add_argument("--access-log", action="store_true", default=None,
                   help="log every request to stderr: client, method, path and query "
                   "(token= values masked, no headers), status, ms (off by default: "
                   "it costs throughput)")  # fmt: skip
    limits = p.add_argument_group("limits of the HTTP server (one process, one worker)")
    limits.add_argument("--max-header-bytes", type=int, metavar="N",
                        help="request line and headers; larger: 431 and the connection closed "
                        "(default 65536, at least 8192)")  # fmt: skip
    limits.add_argument("--header-timeout", type=float, metavar="SECONDS",
                        help="a request's headers must arrive within this; closes connections "
                        "that send nothing, idle keep-alive connections and slow clients "
                        "(default 15)")  # fmt: skip
    limits.add_argument("--backlog", type=int, metavar="N",
                        help="connections waiting to be accepted (default 1024)")  # fmt: skip
    limits.add_argument("--max-concurrency", type=int, metavar="N",
                        help="requests handled at once; more wait their turn "
                        "(default 1024)")  # fmt: skip
    browsers = p.add_argument_group("browsers (CORS, ours: README, Calling it from a browser)")
    browsers.add_argument("--cors-origin", action="append", metavar="ORIGIN", dest="cors_origin",
                          help="allow only this origin (e.g. http://localhost:3000) to call the "
                          "fake from a browser; repeatable; default: any origin")  # fmt: skip
    browsers.add_argument("--no-cors", action="store_false", dest="cors", default=None,
                          help="send no CORS headers and answer no preflights")  # fmt: skip
    tools = p.add_argument_group("tools for your test suites (docs/user-test-suites.md)")
    tools.add_argument("--fault", action="append", metavar="RULE", dest="faults",
                       help="inject a fault, e.g. createTickets:status=503,rate=0.2 or "
                       "listEvents:drop; repeatable, at most 100 rules, --latency "
                       "counting as one (then 409 TOO_MANY_FAULT_RULES at "
                       "/_mock/faults)")  # fmt: skip
    tools.add_argument("--latency", metavar="DURATION",
                       help="every answer waits: 50ms, or 20-80ms (seeded draw)")  # fmt: skip
    tools.add_argument("--rate-limit", metavar="N/WINDOW",
                       help="per-token budget, e.g. 100/60s; then 429 (default: none; "
                       "a sliding window counts at most 10000)")  # fmt: skip
    tools.add_argument("--rate-limit-mode", choices=["fixed", "sliding"],
                       help="window of the rate limit (default fixed)")  # fmt: skip
    tools.add_argument("--journal-max", type=int, metavar="N",
                       help="requests kept in /_mock/journal (default 1000; 0: off), the "
                       "first 4 KiB of each body with its size")  # fmt: skip
    tools.add_argument("--sandbox-prefix", metavar="PREFIX",
                       help="tokens with it get a sandbox each (default sandbox-)")  # fmt: skip
    tools.add_argument("--max-sandboxes", type=int, metavar="N",
                       help="sandboxes held at once; then a new sandbox token is answered 503 "
                       "SANDBOXES_FULL with Retry-After until one idles (default 64)")  # fmt: skip
    tools.add_argument("--sandbox-idle", metavar="DURATION",
                       help="a sandbox unused this long (wall clock) is forgotten when room "
                       "is needed (default 30m)")  # fmt: skip
    tools.add_argument("--idempotency-ttl", metavar="DURATION",
                       help="Idempotency-Key answers are replayed this long, on the fake's "
                       "clock (default 24h)")  # fmt: skip
    tools.add_argument("--idempotency-max-keys", type=int, metavar="N",
                       help="keys kept per token; past it, that token's oldest go "
                       "(default 10000)")  # fmt: skip
    shared = p.add_argument_group("running it shared (docs/security.md)")
    shared.add_argument("--admin-token", metavar="TOKEN",
                        help="/_mock then needs 'Authorization: Bearer TOKEN', except health, "
                        "ticket links, the dashboard's pages and a sandbox acting on itself; "
                        "listening beyond "
                        "loopback without it, a random one is made and printed")  # fmt: skip
    shared.add_argument("--max-body-bytes", type=int, metavar="N",
                        help="largest request body of a GoEvent operation (a purchase), then "
                        "413 (default 1048576)")  # fmt: skip
    shared.add_argument("--max-fixture-bytes", type=int, metavar="N",
                        help="largest POST /_mock/fixtures body, then 413 (default 16777216; "
                        "other /_mock bodies: 65536)")  # fmt: skip
    shared.add_argument("--ticket-secret", metavar="SECRET",
                        help="signs ticket links and codes; default: random per process, so "
                        "links and codes issued before a restart no longer verify")  # fmt: skip
    shared.add_argument("--public-url", metavar="URL",
                        help="base URL clients reach the fake at (e.g. http://goevent-mock:8000), "
                        "used verbatim for the links it writes into answers (ticket URLs, "
                        "/_mock/health's baseUrl); default: the address the request was served "
                        "on, never from the Host header")  # fmt: skip


def _settings(args: argparse.Namespace) -> Settings:
    # Every setting a flag of the same name gave (None: not given, the environment or the
    # default stands); the two list flags are joined as their variables are written.
    values = {f.name: getattr(args, f.name, None) for f in fields(Settings)}
    faults = getattr(args, "faults", None)
    values["faults"] = ";".join(faults) if faults else None
    origins = getattr(args, "cors_origin", None)
    values["cors_origin"] = ",".join(origins) if origins else None
    values["cors"] = getattr(args, "cors", None)
    return Settings.from_env(**values)


def serve(args: argparse.Namespace) -> int:
    from . import server
    from .http import create_app
    from .store import FixtureError

    try:
        settings = _settings(args)
        app = create_app(settings)
        server.check_bounds(settings)
    except (FixtureError, ValueError, OSError) as exc:
        print(f"goevent-mock: cannot start: {exc}", file=sys.stderr)
        return 2
    try:
        sock = server.listen(settings)
    except OSError as exc:
        print(f"goevent-mock: cannot listen on {settings.host}:{settings.port}: {exc.strerror}",
              file=sys.stderr)  # fmt: skip
        return 2
    root = server.Listening(settings.host, sock.getsockname()[1]).root
    base = root + app.state.spec.base_path
    token = app.state.store.organizers[0].token
    others = [o.token for o in app.state.store.organizers[1:]]
    print(f"GoEvent fake listening on {base}", flush=True)
    print(f"  token:  {token}" + (f"   (other organizers: {', '.join(others)})" if others else ""))
    print(f"  try:    curl -H 'Authorization: Bearer {token}' '{base}/events?page=1&limit=20'")
    admin = app.state.admin_token
    auth = "" if admin is None else " -H 'Authorization: Bearer $ADMIN_TOKEN'"
    print(f"  reset:  curl -X POST{auth} {root}/_mock/reset", flush=True)
    if admin and not settings.admin_token:  # made at startup: shown this once, never again
        print(f"  admin:  ADMIN_TOKEN={admin}   (/_mock is reachable beyond loopback; "
              "--admin-token chooses it)", flush=True)  # fmt: skip
    print(f"  ui:     {root}/_mock/ui/  (data, traffic, controls, API reference)",
          flush=True)  # fmt: skip
    # The data set lives as long as the server: move it out of the collector's sight, so
    # that collections triggered by requests do not walk it (they set the p99 latency).
    gc.collect()
    gc.freeze()
    return server.run(app, settings, sock)


def _installed(module: str) -> bool:
    from importlib.util import find_spec

    return find_spec(module) is not None


def _contract_kit_installed() -> bool:
    return _installed("schemathesis")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="goevent-mock",
        description="A stateful fake of the GoEvent Developers API v1.0, and a drift checker "
        "for the live API.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _serve_parser(sub)
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["serve"]:
        # serve never loads the contract kit; its names stay in the parser's choices.
        sub.add_parser("drift", help="check a live API against the spec")
        sub.add_parser("drift-trend", help="how drift findings changed over several reports")
        sub.add_parser("proxy", help="a validating, recording proxy in front of an API")
    else:
        from .drift import cli as drift_cli
        from .proxy import cli as proxy_cli

        drift_cli.add_parser(sub)
        drift_cli.add_trend_parser(sub)
        proxy_cli.add_parser(sub)
    args = parser.parse_args(argv)
    if args.command == "serve":
        return serve(args)
    if args.command == "drift":
        if not _contract_kit_installed():
            print(f"goevent-mock: drift needs the contract kit: pip install '{CONTRACT_EXTRA}'",
                  file=sys.stderr)  # fmt: skip
            return 2
        return drift_cli.drift(args)
    if args.command == "drift-trend":
        return drift_cli.drift_trend(args)
    if args.command == "proxy":
        # The proxy reports through the contract kit (its rules, verdicts and report
        # formats), whose modules import Schemathesis; its first check is jsonschema-rs.
        if not (_contract_kit_installed() and _installed("jsonschema_rs")):
            print(f"goevent-mock: proxy needs the contract kit: pip install '{CONTRACT_EXTRA}'",
                  file=sys.stderr)  # fmt: skip
            return 2
        return proxy_cli.proxy(args)
    parser.error(f"unknown command {args.command}")  # pragma: no cover
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
