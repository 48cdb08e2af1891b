"""Every Python example of docs/user-test-suites.md runs, as a user would paste it."""

from __future__ import annotations

import re
from pathlib import Path

# See test_plugin.py: httpx must not meet a second copy of httpcore after a pytester run.
import httpcore  # noqa: F401
import pytest

pytest_plugins = ["pytester"]

DOC = Path(__file__).parents[1] / "docs" / "user-test-suites.md"
BLOCKS = re.findall(r"^```python\n(.*?)^```", DOC.read_text(encoding="utf-8"), re.S | re.M)
SECTIONS = re.findall(r"^## (.+)$", DOC.read_text(encoding="utf-8"), re.M)


def test_the_doc_has_a_section_and_an_example_per_capability() -> None:
    assert SECTIONS == [
        "pytest plugin",
        "Request journal",
        "Faults and latency",
        "Rate limiting",
        "Idempotent purchases",
        "Sandboxes for parallel CI",
        "A clock you control",
        "Real tickets",
    ]
    assert len(BLOCKS) == len(SECTIONS)


@pytest.mark.parametrize("index", range(len(BLOCKS)), ids=lambda i: f"example-{i + 1}")
def test_the_example_passes(pytester: pytest.Pytester, index: int) -> None:
    source = BLOCKS[index]
    pytester.makepyfile(test_example=source)
    result = pytester.runpytest("-p", "no:cacheprovider", "-W", "error", "--strict-markers")
    result.assert_outcomes(passed=len(re.findall(r"^def test_", source, re.M)))
