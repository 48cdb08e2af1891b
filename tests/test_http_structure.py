"""The shape of ``mockserver/http`` stays readable: short functions, no untyped state reads,
the request path as named steps."""

from __future__ import annotations

import ast
from pathlib import Path

import mockserver.http

HTTP = Path(mockserver.http.__file__).parent
LONGEST = 50  # lines, decorators and docstring included


def _functions(path: Path, root: Path = HTTP.parent) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            assert node.end_lineno is not None
            found.append((f"{path.relative_to(root)}:{node.name}", node.end_lineno - start + 1))
    return found


def test_every_function_in_http_is_under_50_lines() -> None:
    sizes = [f for path in sorted(HTTP.rglob("*.py")) for f in _functions(path)]
    assert len(sizes) > 50  # the walk saw the package, not an empty folder
    too_long = [(name, lines) for name, lines in sizes if lines >= LONGEST]
    assert too_long == [], f"functions of {LONGEST} lines or more: {too_long}"


def test_the_measure_counts_a_long_function(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(60))
    (tmp_path / "long.py").write_text(f"def long() -> None:\n{body}\n")
    [(name, lines)] = _functions(tmp_path / "long.py", tmp_path)
    assert (name, lines) == ("long.py:long", 61)


def test_http_reads_the_typed_state_not_app_state() -> None:
    """Only state.py touches ``app.state``; everything else goes through ``fake_state``."""
    readers = []
    for path in sorted(HTTP.rglob("*.py")):
        if path.name == "state.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Attribute)
                and node.value.attr == "state"
            ):
                readers.append(f"{path.name}:{node.lineno}")
    assert readers == []


def test_the_steps_each_have_a_module() -> None:
    steps = ["authenticate", "admit", "read", "call", "check", "journal"]
    pipeline = HTTP / "pipeline"
    assert all((pipeline / f"{step}.py").is_file() for step in steps)
    runner = (pipeline / "endpoint.py").read_text()
    # The runner names them in order, top to bottom.
    positions = [runner.index(f"{n}. {step}") for n, step in enumerate(steps, 1)]
    assert positions == sorted(positions)
