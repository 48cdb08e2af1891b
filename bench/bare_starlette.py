"""The reference: a bare Starlette app answering every request with precomputed bytes.

It does what the fake does minus everything that makes it a fake (no token
check, no validation, no store, no rendering): the framework's limit on this
machine for a response of the same size, served the same way (one worker, no
access log), on uvicorn (the reference) or on granian (the serving-stack
ceiling: a Rust HTTP server under the same app).

    python bench/bare_starlette.py --port 8001 --body-file body.json
    python bench/bare_starlette.py --port 8001 --body-file body.json --post
    python bench/bare_starlette.py --port 8001 --body-file body.json --server granian

``--post`` answers POST instead of GET and reads the whole request body
first, as the fake must for a purchase. ``GET /ready`` always answers, for
the benchmark's readiness check.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

_BODY_ENV = "BENCH_BARE_BODY_FILE"
_POST_ENV = "BENCH_BARE_POST"


def make_app(body: bytes, post: bool = False) -> Starlette:
    async def answer(request: Request) -> Response:
        return Response(body, media_type="application/json")

    async def answer_after_reading(request: Request) -> Response:
        await request.body()
        return Response(body, media_type="application/json")

    async def ready(request: Request) -> Response:
        return Response(b"ok", media_type="text/plain")

    if post:
        routes = [
            Route("/ready", ready, methods=["GET"]),
            Route("/{path:path}", answer_after_reading, methods=["POST"]),
        ]
    else:
        routes = [Route("/{path:path}", answer, methods=["GET"])]
    return Starlette(routes=routes)


def granian_factory() -> Starlette:
    """For granian's worker process: the app from what ``main`` put in the environment."""
    return make_app(Path(os.environ[_BODY_ENV]).read_bytes(), os.environ.get(_POST_ENV) == "1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--body-file", type=Path, required=True, help="the bytes to answer with")
    parser.add_argument("--post", action="store_true", help="answer POST, reading the body first")
    parser.add_argument("--server", choices=["uvicorn", "granian"], default="uvicorn")
    args = parser.parse_args()
    if args.server == "granian":
        from granian import Granian
        from granian.constants import Interfaces

        os.environ[_BODY_ENV] = str(args.body_file.resolve())
        os.environ[_POST_ENV] = "1" if args.post else "0"
        # One worker, no access log: the same shape as the uvicorn reference.
        Granian(
            "bare_starlette:granian_factory",
            address=args.host,
            port=args.port,
            interface=Interfaces.ASGI,
            workers=1,
            factory=True,
            log_access=False,
        ).serve()
        return
    import uvicorn

    app = make_app(args.body_file.read_bytes(), args.post)
    # The same server settings as `goevent-mock serve` on uvicorn (mockserver/cli.py).
    uvicorn.run(
        app, host=args.host, port=args.port, log_level="warning", access_log=False, lifespan="off"
    )


if __name__ == "__main__":
    main()
