"""Tools that read only the spec agree with the fake: Schemathesis's own CLI (``st run``,
no hooks of this project, every check) ends with no failure and no error against it.

Bounded for CI: deterministic generation, 20 examples per operation, one worker, about
20 s."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mockserver import Settings, create_app
from mockserver.testing import serve_in_thread

from .conftest import API, ROOT, TOKEN, bearer

ST = Path(sys.executable).parent / "st"


@pytest.fixture
def root(tmp_path: Path) -> Iterator[str]:
    with serve_in_thread(create_app(Settings())) as url:
        yield url


def test_schemathesis_cli_finds_nothing_against_the_fake(root: str, tmp_path: Path) -> None:
    before = httpx.get(root + API + "/events", params={"limit": 100}, headers=bearer(TOKEN))
    result = subprocess.run(
        [
            str(ST),
            "run",
            str(ROOT / "openapi" / "goevent-v1.yaml"),
            "--url",
            root + API,
            "-H",
            f"Authorization: Bearer {TOKEN}",
            "--checks",
            "all",
            "--max-examples",
            "20",
            "--generation-deterministic",
            "--workers",
            "1",
            "--request-timeout",
            "10",
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        cwd=tmp_path,  # no schemathesis.toml or hooks of this project are picked up
    )
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    summary = re.search(r"(\d+) generated, (\d+) passed(?:, (\d+) skipped)?\n", out)
    assert summary, out
    generated, passed = int(summary[1]), int(summary[2])
    assert generated > 100
    assert passed == generated, out
    assert "Failed to extract data" not in out  # the links hold on an empty page too
    tail = out.split("SUMMARY")[-1].lower()
    assert "failed" not in tail
    assert "error" not in tail
    # The fake still serves its data (Schemathesis bought tickets, nothing else).
    after = httpx.get(root + API + "/events", params={"limit": 100}, headers=bearer(TOKEN))
    assert after.status_code == before.status_code == 200
    assert [e["id"] for e in after.json()["events"]] == [e["id"] for e in before.json()["events"]]
