"""The runtime install is lean: ``pip install goevent-mock`` brings what ``serve`` and the
pytest plugin need, and the contract kit (Schemathesis, Hypothesis, pytest) only with the
``contract`` extra. ``serve`` and the plugin never import the kit; ``drift`` without it
says in one line what to install.

The install tests ask pip's resolver (``--dry-run --report``, PyPI reachable), about 10 s
each; the import tests run a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

TEST_STACK = {"schemathesis", "hypothesis", "pytest"}


def _would_install(tmp_path: Path, requirement: str) -> set[str]:
    report = tmp_path / "report.json"
    pip = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed"]
    result = subprocess.run(
        [*pip, "--quiet", "--disable-pip-version-check", "--report", str(report), requirement],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return {item["metadata"]["name"].lower() for item in json.loads(report.read_text())["install"]}


def test_a_plain_install_brings_the_server_and_no_test_stack(tmp_path: Path) -> None:
    names = _would_install(tmp_path, str(ROOT))
    assert {"goevent-mock", "starlette", "granian", "jsonschema", "httpx"} <= names
    assert "swagger-ui-bundle-v2" in names  # the dashboard's API reference, served offline
    assert not names & TEST_STACK, sorted(names & TEST_STACK)


def test_the_contract_extra_brings_schemathesis(tmp_path: Path) -> None:
    names = _would_install(tmp_path, f"{ROOT}[contract]")
    assert {"goevent-mock", "schemathesis", "hypothesis"} <= names
    assert "jsonschema_rs" in {n.replace("-", "_") for n in names}  # the proxy's first check


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )


def test_serve_and_the_pytest_plugin_import_no_part_of_the_contract_kit() -> None:
    # serve --help parses everything serve parses; the plugin is what pytest loads in
    # every run of a user's suite.
    result = _run(
        "import sys\n"
        "import mockserver.pytest_plugin\n"
        "from mockserver.cli import main\n"
        "try:\n"
        "    main(['serve', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "kit = ('schemathesis', 'hypothesis', 'mockserver.drift', 'mockserver.proxy')\n"
        "print(sorted({m.split('.')[0] if not m.startswith('mockserver') else m\n"
        "              for m in sys.modules if m.startswith(kit)}))\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "[]"


def test_drift_without_the_extra_says_what_to_install() -> None:
    # sys.modules[name] = None: what an environment without Schemathesis looks like
    # to an import (find_spec answers None).
    result = _run(
        "import sys\n"
        "sys.modules['schemathesis'] = None\n"
        "from mockserver.cli import main\n"
        "sys.exit(main(['drift', '--base-url', 'http://127.0.0.1:9/developers/v1.0']))\n"
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        "goevent-mock: drift needs the contract kit: pip install 'goevent-mock[contract]'\n"
    )


@pytest.mark.parametrize("missing", ["schemathesis", "jsonschema_rs"])
def test_proxy_without_the_extra_says_what_to_install_and_starts_nothing(missing: str) -> None:
    # The proxy reports through the contract kit (rules, verdicts, report formats), whose
    # modules import Schemathesis, and checks first with jsonschema-rs: both come with the
    # extra, and without either it says so before it listens.
    result = _run(
        "import sys\n"
        f"sys.modules[{missing!r}] = None\n"
        "from mockserver.cli import main\n"
        "code = main(['proxy', '--upstream', 'http://127.0.0.1:9/developers/v1.0',\n"
        "             '--port', '0'])\n"
        "print(sorted(m for m in sys.modules if m.startswith('mockserver.proxy.')))\n"
        "sys.exit(code)\n"
    )
    assert result.returncode == 2
    assert result.stdout == "['mockserver.proxy.cli']\n"
    assert result.stderr == (
        "goevent-mock: proxy needs the contract kit: pip install 'goevent-mock[contract]'\n"
    )


def test_the_proxy_does_import_schemathesis() -> None:
    # What the line above claims: if the proxy ever stops needing the kit, drop the check.
    result = _run("import sys\nimport mockserver.proxy.app\nprint('schemathesis' in sys.modules)\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "True\n"


@pytest.mark.parametrize("command", [["drift", "--help"], ["--help"], ["proxy", "--help"]])
def test_help_still_lists_and_explains_drift(command: list[str]) -> None:
    result = _run(f"import sys\nfrom mockserver.cli import main\nsys.exit(main({command!r}))\n")
    assert result.returncode == 0
    assert "drift" in result.stdout
    assert ("--base-url" in result.stdout) == (command[0] == "drift")
    assert ("--upstream" in result.stdout) == (command[0] == "proxy")


def test_a_fake_serving_a_fixture_file_does_not_load_faker() -> None:
    fixture = ROOT / "fixtures" / "docs-examples.json"
    result = _run(
        "import sys\nfrom pathlib import Path\n"
        "from mockserver import Settings, create_app\n"
        f"app = create_app(Settings(fixtures=Path({str(fixture)!r})))\n"
        "print(len(app.state.store.organizers), 'faker' in sys.modules)\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1", "False"]
