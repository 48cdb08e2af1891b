"""The reference: a bare Starlette app answering every GET with precomputed bytes.

It does what the fake does minus everything that makes it a fake (no token
check, no validation, no store, no rendering): the framework's limit on this
machine for a response of the same size, served the same way (uvicorn, one
worker, no access log).

    python bench/bare_starlette.py --port 8001 --body-file body.json
"""

from __future__ import annotations

import argparse
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def make_app(body: bytes) -> Starlette:
    async def answer(request: Request) -> Response:
        return Response(body, media_type="application/json")

    return Starlette(routes=[Route("/{path:path}", answer, methods=["GET"])])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--body-file", type=Path, required=True, help="the bytes to answer with")
    args = parser.parse_args()
    app = make_app(args.body_file.read_bytes())
    # The same server settings as `goevent-mock serve` (mockserver/cli.py).
    uvicorn.run(
        app, host=args.host, port=args.port, log_level="warning", access_log=False, lifespan="off"
    )


if __name__ == "__main__":
    main()
