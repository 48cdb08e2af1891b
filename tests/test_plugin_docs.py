"""Every Python example of the README and docs/user-test-suites.md runs as pasted."""

from __future__ import annotations

import re
from pathlib import Path

# See test_plugin.py: httpx must not meet a second copy of httpcore after a pytester run.
import httpcore  # noqa: F401
import pytest

from .test_plugin import ARGS

pytest_plugins = ["pytester"]

ROOT = Path(__file__).parents[1]
DOC = ROOT / "docs" / "user-test-suites.md"


def _python_blocks(path: Path) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", path.read_text(encoding="utf-8"), re.S | re.M)


BLOCKS = _python_blocks(DOC)
README_BLOCKS = _python_blocks(ROOT / "README.md")
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


EXAMPLES = [(f"example-{i + 1}", b) for i, b in enumerate(BLOCKS)] + [
    (f"readme-{i + 1}", b) for i, b in enumerate(README_BLOCKS)
]


@pytest.mark.parametrize("source", [b for _, b in EXAMPLES], ids=[n for n, _ in EXAMPLES])
def test_the_example_passes(pytester: pytest.Pytester, source: str) -> None:
    pytester.makepyfile(test_example=source)
    result = pytester.runpytest(*ARGS)
    result.assert_outcomes(passed=len(re.findall(r"^def test_", source, re.M)))
