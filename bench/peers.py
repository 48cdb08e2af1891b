"""The servers the fake is measured against, each serving the same bytes where it can.

- WireMock (the standalone jar shipped by the npm package ``wiremock``, run on
  the machine's Java), one stub answering the fake's bytes;
- Mockoon CLI (npm ``@mockoon/cli``), one route answering the same bytes inline;
- Prism (npm ``@stoplight/prism-cli``) mocking the spec: it answers the spec's
  example, not our bytes; once with request logging off, once as it starts by default;
- the serving-stack ceiling: bare Starlette on granian (bench/bare_starlette.py)
  and Node's own ``http`` server (bench/node_bytes.js).

npm packages are installed, pinned, into bench/.cache/<name> (git-ignored) on
first use; a version mismatch reinstalls.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

from harness import BENCH, CACHE, PRISM_VERSION, ROOT, BenchError, Server, free_port

WIREMOCK_VERSION = "3.13.2"
MOCKOON_VERSION = "9.9.0"
SPEC = ROOT / "openapi" / "goevent-v1.yaml"


def npm_package(name: str, package: str, version: str) -> Path:
    """The installed package's folder under bench/.cache/<name>, installed with npm if missing."""
    prefix = CACHE / name
    folder = prefix / "node_modules" / package
    manifest = folder / "package.json"
    if manifest.exists() and json.loads(manifest.read_text())["version"] == version:
        return folder
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise BenchError(f"{package} needs Node.js and npm: install them, or pass --no-peers")
    print(f"installing {package}@{version} into {prefix} (npm)", flush=True)
    prefix.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund",
         "--loglevel=error", f"{package}@{version}"],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    if done.returncode != 0 or not manifest.exists():
        raise BenchError(f"npm install of {package}@{version} failed:\n{done.stderr[-2000:]}")
    return folder


def java_version() -> str:
    java = shutil.which("java")
    if java is None:
        raise BenchError("WireMock needs Java 11+ (Debian: apt-get install default-jre-headless)")
    done = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    first = (done.stderr or done.stdout).splitlines()[0]  # openjdk version "17.0.15" 2025-04-15
    parts = first.split('"')
    return parts[1] if len(parts) > 2 else first.strip()


def node_version() -> str:
    node = shutil.which("node")
    if node is None:
        raise BenchError("the Node server needs Node.js: install it, or pass --no-peers")
    return subprocess.run([node, "-v"], capture_output=True, text=True, timeout=30).stdout.strip()


def granian_version() -> str | None:
    if importlib.util.find_spec("granian") is None:
        return None
    from importlib.metadata import version

    return version("granian")


def _base() -> tuple[int, str]:
    port = free_port()
    return port, f"http://127.0.0.1:{port}"


def bare(name: str, body_file: Path, *, post: bool = False, server: str = "uvicorn") -> Server:
    """bench/bare_starlette.py serving ``body_file``'s bytes (GET, or POST reading the body)."""
    port, base = _base()
    argv = [sys.executable, str(BENCH / "bare_starlette.py"), "--port", str(port),
            "--body-file", str(body_file), "--server", server]  # fmt: skip
    if post:
        argv.append("--post")
    return Server(name, argv, f"{base}/ready", ready_timeout=60, base=base)


def node_http(name: str, body_file: Path) -> Server:
    port, base = _base()
    argv = ["node", str(BENCH / "node_bytes.js"), str(port), str(body_file)]
    return Server(name, argv, f"{base}/ready", ready_timeout=60, base=base)


def wiremock(name: str, body: bytes, path: str, workdir: Path) -> Server:
    """WireMock standalone: one stub for GET ``path`` (any query) answering ``body`` inline.

    No request journal and no request logging: WireMock at its fastest for a
    stub (its defaults keep every request in memory and would grow over a run).
    """
    jar = npm_package("wiremock", "wiremock", WIREMOCK_VERSION) / "build"
    jar = jar / f"wiremock-standalone-{WIREMOCK_VERSION}.jar"
    if not jar.exists():
        raise BenchError(f"the npm package wiremock@{WIREMOCK_VERSION} has no {jar.name}")
    java_version()
    root = workdir / name
    (root / "mappings").mkdir(parents=True, exist_ok=True)
    stub = {
        "request": {"method": "GET", "urlPath": path},
        "response": {
            "status": 200,
            "body": body.decode(),
            "headers": {"Content-Type": "application/json"},
        },
    }
    (root / "mappings" / "stub.json").write_text(json.dumps(stub))
    port, base = _base()
    argv = ["java", "-jar", str(jar), "--port", str(port), "--bind-address", "127.0.0.1",
            "--root-dir", str(root), "--no-request-journal", "--disable-request-logging",
            "--disable-banner"]  # fmt: skip
    return Server(name, argv, f"{base}{path}", ready_timeout=120, base=base)


def mockoon(name: str, body: bytes, path: str, workdir: Path) -> Server:
    """Mockoon CLI: one environment, one GET route answering ``body`` inline, no templating.

    An inline body is Mockoon's faster form (a file body is read per request).
    Mockoon logs every request to stdout; the CLI has no switch to turn that off.
    """
    entry = npm_package("mockoon", "@mockoon/cli", MOCKOON_VERSION) / "bin" / "run.js"
    if not entry.exists():
        raise BenchError(f"@mockoon/cli@{MOCKOON_VERSION} has no bin/run.js")
    port, base = _base()
    response = {
        "uuid": "bench-response", "body": body.decode(), "latency": 0, "statusCode": 200,
        "label": "", "headers": [{"key": "Content-Type", "value": "application/json"}],
        "bodyType": "INLINE", "filePath": "", "databucketID": "", "sendFileAsBody": False,
        "rules": [], "rulesOperator": "OR", "disableTemplating": True,
        "fallbackTo404": False, "default": True, "crudKey": "id", "callbacks": [],
    }  # fmt: skip
    environment = {
        "uuid": "bench-environment", "lastMigration": 33, "name": name, "port": port,
        "hostname": "127.0.0.1", "endpointPrefix": "", "latency": 0, "folders": [],
        "rootChildren": [{"type": "route", "uuid": "bench-route"}],
        "routes": [{"uuid": "bench-route", "type": "http", "documentation": "",
                    "method": "get", "endpoint": path.lstrip("/"),
                    "responses": [response], "responseMode": None, "streamingMode": None,
                    "streamingInterval": 0}],
        "proxyMode": False, "proxyHost": "", "proxyRemovePrefix": False,
        "tlsOptions": {"enabled": False}, "cors": False, "headers": [],
        "proxyReqHeaders": [], "proxyResHeaders": [], "data": [], "callbacks": [],
    }  # fmt: skip
    data = workdir / f"{name}.json"
    data.write_text(json.dumps(environment))
    argv = ["node", str(entry), "start", "--data", str(data), "--port", str(port),
            "--hostname", "127.0.0.1", "--disable-log-to-file", "--disable-admin-api"]  # fmt: skip
    return Server(name, argv, f"{base}{path}", ready_timeout=120, base=base)


def prism(name: str, headers: dict[str, str], *, verbose: str | None) -> Server:
    """Prism mocking the spec; ``verbose`` is its ``-v`` (``error``: request logging off)."""
    folder = npm_package("prism", "@stoplight/prism-cli", PRISM_VERSION)
    entry = folder / "dist" / "index.js"
    port, base = _base()
    argv = ["node", str(entry), "mock", "-h", "127.0.0.1", "-p", str(port)]
    if verbose:
        argv += ["-v", verbose]
    argv.append(str(SPEC))
    # Prism serves the spec's paths from the root: it ignores the servers' /developers/v1.0.
    return Server(
        name, argv, f"{base}/events?limit=1", headers=headers, ready_timeout=120, base=base
    )


def versions() -> dict[str, str]:
    """What the peers run on, for the report (only what is installed; nothing is installed here)."""
    out = {"python": sys.version.split()[0]}
    for label, fn in (("java", java_version), ("node", node_version)):
        try:
            out[label] = fn()
        except BenchError:
            out[label] = "not installed"
    out["granian"] = granian_version() or "not installed"
    out |= {"wiremock": WIREMOCK_VERSION, "mockoon-cli": MOCKOON_VERSION, "prism": PRISM_VERSION}
    return out


__all__ = [
    "MOCKOON_VERSION",
    "WIREMOCK_VERSION",
    "bare",
    "granian_version",
    "java_version",
    "mockoon",
    "node_http",
    "node_version",
    "npm_package",
    "prism",
    "versions",
    "wiremock",
]
