"""The `autodocs` CLI: output, --json, progress, one-line errors and documented exit codes."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from anyio.from_thread import start_blocking_portal

pytest.importorskip("rich")

from autodocs_core.testing import Fault, FaultIndex, FaultPlan
from autodocs_mcp.cli import EXIT_CODES, main


@pytest.fixture
def index(
    projects: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FaultIndex]:
    """A loopback index served from its own thread; the CLI's environment points at it."""
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(FaultIndex(projects)) as server,
    ):
        for var in list(os.environ):
            if var.startswith("AUTODOCS_"):
                monkeypatch.delenv(var)
        monkeypatch.setenv("AUTODOCS_INDEX_URL", server.url)
        monkeypatch.setenv("AUTODOCS_CACHE_DIR", str(tmp_path / "cache"))
        yield server


def test_docs_prints_markdown_and_json(
    index: FaultIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    """`autodocs docs NAME` prints the docs; --json prints the structured answer."""
    assert main(["docs", "trio"]) == 0
    assert capsys.readouterr().out.startswith("# trio 0.35.0")
    assert main(["docs", "attrs>=25", "--json", "--max-tokens", "500"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["package_name"], data["version"], data["from_cache"]) == ("attrs", "26.1.0", False)
    assert data["tokens"] <= 500


def test_many_packages_partial_exit_code(
    index: FaultIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    """Several packages with one missing: the others print, the failure is named, exit 1."""
    assert main(["docs", "attrs", "nope-nope", "--json"]) == EXIT_CODES["partial"]
    captured = capsys.readouterr()
    assert [a["package_name"] for a in json.loads(captured.out)["succeeded"]] == ["attrs"]
    assert "nope-nope" in captured.err and "Traceback" not in captured.err


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["docs", "bad name!"], "invalid"),
        (["docs", "attrs", "--max-tokens", "5"], "invalid"),
        (["docs", "no-such-package"], "not_found"),
        (["docs", "attrs==99"], "not_found"),
    ],
)
def test_errors_are_one_line_with_exit_codes(
    index: FaultIndex, capsys: pytest.CaptureFixture[str], argv: list[str], code: str
) -> None:
    """Bad input and misses: one line on stderr with a hint, the documented exit code."""
    assert main(argv) == EXIT_CODES[code]
    err = capsys.readouterr().err.strip()
    assert err.startswith("autodocs: error:") and "\n" not in err and "Hint:" in err


def test_unreachable_index_exit_code(index: FaultIndex, capsys: pytest.CaptureFixture[str]) -> None:
    """An index that only fails, with nothing cached: exit 4 and a one-line error."""
    index.plan.probabilities = [(Fault("status", status=503), 1.0)]
    assert main(["docs", "trio"]) == EXIT_CODES["unreachable"]
    assert "cached" in capsys.readouterr().err


def test_scan_context_health_cache_config(
    index: FaultIndex,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The other commands run against the same facade."""
    project = tmp_path / "p"
    project.mkdir()
    (project / "requirements.txt").write_text("httpx>=0.27\n")
    assert main(["scan", str(project), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["dependencies"][0]["name"] == "httpx"
    assert (
        main(["context", "cattrs", "--json"]) == EXIT_CODES["partial"]
    )  # typing-extensions: absent
    assert json.loads(capsys.readouterr().out)["package_name"] == "cattrs"
    assert main(["health", "--json"]) in (0, 1)
    assert json.loads(capsys.readouterr().out)["checks"]["parser"]["status"] == "healthy"
    assert main(["cache", "stats", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["entries"] >= 1
    assert main(["cache", "clear"]) == 0
    assert "Removed" in capsys.readouterr().out
    monkeypatch.setenv("AUTODOCS_INDEX_TOKEN", "SECRET-T0KEN")
    assert main(["config", "--json"]) == 0
    out = capsys.readouterr().out
    assert "SECRET" not in out and json.loads(out)["index_token"] == "***"


def test_bad_configuration_exit_code(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A malformed variable: exit 2 and the variable named."""
    monkeypatch.setenv("AUTODOCS_MAX_CONNECTIONS", "lots")
    assert main(["config"]) == EXIT_CODES["invalid"]
    assert "AUTODOCS_MAX_CONNECTIONS" in capsys.readouterr().err


def test_plan_is_still_scriptable(index: FaultIndex) -> None:
    """(fixture sanity) the index plan is the live one the CLI talks to."""
    index.plan.script.append(Fault("status", status=404))
    assert main(["docs", "trio"]) == EXIT_CODES["not_found"]
    assert isinstance(index.plan, FaultPlan)
