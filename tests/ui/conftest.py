"""A real headless browser for the pages' tests: Debian's chromium, driven by Playwright.

Playwright's own browser download is not used (it cannot be fetched everywhere): the
tests drive the system's chromium through ``executable_path``. Where it is missing and
the tests run as root with apt (CI), the session installs it once; otherwise every
browser test is skipped with the reason. ``GOEVENT_MOCK_CHROMIUM`` names another binary.

Each page records its console errors and uncaught exceptions; the tests assert none.
Every test that shows a page takes its screenshot; they are written to a temporary
folder, or to the folder ``GOEVENT_SCREENSHOTS`` names. The README's pictures are made
so: ``GOEVENT_SCREENSHOTS=docs/screenshots pytest tests/ui`` (a plain run leaves the
checkout clean: the pictures hold times and ports, so they differ on every run).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).parents[2]
SCREENSHOTS = Path(
    os.environ.get("GOEVENT_SCREENSHOTS")
    or Path(tempfile.gettempdir()) / "goevent-mock-screenshots"
)
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# Every wait in the browser is bounded: a page that never shows what a test waits for
# fails the test in seconds, not at pytest-timeout's 300 s.
WAIT_MS = 10_000


def _find_chromium() -> str | None:
    named = os.environ.get("GOEVENT_MOCK_CHROMIUM")
    if named:
        return named
    return next((path for name in CANDIDATES if (path := shutil.which(name))), None)


def _install_chromium() -> str:
    """Install Debian's chromium (CI: root on a fresh machine); '' when it worked."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return "chromium is not installed and this is not root with apt-get to install it"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    lock = ["-o", "DPkg::Lock::Timeout=300"]  # wait for another apt, never run beside it
    for argv in (["apt-get", *lock, "update", "-q"],
                 ["apt-get", *lock, "install", "-y", "-q", "--no-install-recommends",
                  "chromium"]):  # fmt: skip
        try:
            done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=900,
                                  check=False)  # fmt: skip
        except subprocess.TimeoutExpired:
            return f"{' '.join(argv)} took more than 15 minutes"
        if done.returncode != 0:
            return f"{' '.join(argv)} failed: {done.stderr.strip()[-300:]}"
    return ""


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = _find_chromium()
    if path is None:
        problem = _install_chromium()
        path = _find_chromium()
        if path is None:
            reason = problem or "not found after the install"
            pytest.skip(f"no chromium for the browser tests: {reason}")
    return path


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install -e '.[test]'")
    with sync_api.sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where chromium refuses its sandbox.
        launched = playwright.chromium.launch(
            executable_path=chromium_path, args=["--no-sandbox"], timeout=60_000
        )
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class Console:
    """What a page said on its console that a user would see as broken."""

    errors: list[str] = field(default_factory=list)


@dataclass
class Tab:
    page: Any
    console: Console

    def shoot(self, name: str, full_page: bool = True) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page, animations="disabled")
        return path


@pytest.fixture
def tab(browser: Any) -> Iterator[Tab]:
    """A fresh browser context and page (own sessionStorage), closed after the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    console = Console()
    page.on("console", lambda m: m.type == "error" and console.errors.append(m.text))
    page.on("pageerror", lambda exc: console.errors.append(f"uncaught: {exc}"))
    try:
        yield Tab(page, console)
    finally:
        context.close()
