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


@pytest.mark.parametrize("module", ["autodocs_mcp.cli", "autodocs_mcp"])
def test_version_flag_on_both_commands(module: str) -> None:
    """`autodocs --version` and `autodocs-mcp --version` print the version and exit 0."""
    import subprocess
    import sys

    import autodocs_core

    proc = subprocess.run(
        [sys.executable, "-m", module, "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith(str(autodocs_core.__version__))


def test_server_flags_are_not_abbreviated(capsys: pytest.CaptureFixture[str]) -> None:
    """`--versions` is not silently taken for `--versions-ttl` (no abbreviations)."""
    from autodocs_mcp.main import main as serve

    with pytest.raises(SystemExit) as exited:
        serve(["--versions", "5"])
    assert exited.value.code == 2
    assert "unrecognized arguments" in capsys.readouterr().err


def test_broken_pipe_exits_quietly(index: FaultIndex) -> None:
    """`autodocs docs trio | head -1`: exit 0, nothing on stderr (as `head` expects)."""
    import subprocess
    import sys

    script = (
        f"{sys.executable} -m autodocs_mcp.cli docs trio --max-tokens 8000 | head -c 10; "
        "exit ${PIPESTATUS[0]}"
    )
    proc = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "# trio 0.3"
    assert proc.stderr == ""


def test_missing_extra_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the optional dependencies, both commands say which extra to install."""
    import subprocess
    import sys

    hide = "import sys; sys.modules['pydantic'] = sys.modules['mcp'] = sys.modules['rich'] = None\n"
    for code, prog in (
        ("from autodocs_mcp.cli import main; raise SystemExit(main(['docs', 'x']))", "autodocs"),
        ("from autodocs_mcp.main import main; raise SystemExit(main([]))", "autodocs-mcp"),
    ):
        proc = subprocess.run(
            [sys.executable, "-c", hide + code],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**os.environ, "AUTODOCS_INDEX_URL": "http://127.0.0.1:9"},
        )
        assert proc.returncode == EXIT_CODES["invalid"], proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"{prog}: error:")
        assert "autodocs-mcp-server[mcp]" in lines[0]


def test_config_shows_effective_values_and_human_units(
    index: FaultIndex, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`config` resolves the cache path and marks defaults; `cache stats` prints units."""
    monkeypatch.delenv("AUTODOCS_CACHE_DIR")
    assert main(["config"]) == 0
    lines = dict(line.split(": ", 1) for line in capsys.readouterr().out.splitlines())
    assert lines["cache_dir"].endswith("(default)") and "None" not in lines["cache_dir"]
    assert lines["deadline"] == "15.0  (default)"
    assert not lines["index_url"].endswith("(default)")  # set by the fixture
    assert main(["docs", "trio"]) == 0
    capsys.readouterr()
    assert main(["cache", "stats"]) == 0
    stats = dict(line.split(": ", 1) for line in capsys.readouterr().out.splitlines())
    assert stats["bytes"].endswith(("bytes", "KiB", "MiB"))
    assert stats["oldest_age"].endswith((" s", "min", " h", "days")) or stats["oldest_age"] == "-"


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(None, "-"), (0.4, "0 s"), (289.28880882263184, "4 min 49 s"), (7200, "2.0 h")],
)
def test_ages_are_human(seconds: float | None, shown: str) -> None:
    """Ages print as people read them."""
    from autodocs_mcp.cli import _age

    assert _age(seconds) == shown


def test_verbose_flag_sets_the_log_level(index: FaultIndex) -> None:
    """`-v` logs at INFO, `-vv` at DEBUG, `--log-level` names it; default WARNING."""
    import logging

    for argv, level in (
        (["config"], logging.WARNING),
        (["-v", "config"], logging.INFO),
        (["-vv", "config"], logging.DEBUG),
        (["--log-level", "error", "config"], logging.ERROR),
    ):
        assert main(argv) == 0
        assert logging.getLogger().level == level


def test_api_command(
    projects: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`autodocs api NAME SYMBOL` prints the reference; --json names the artifact."""
    from autodocs_core.testing._index import wheel_filename
    from tests.apiref.test_service import httpx_wheel

    wheel = wheel_filename("httpx", "0.28.1")
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(
            FaultIndex(projects, files={wheel: httpx_wheel("0.28.1")})
        ) as server,
    ):
        for var in list(os.environ):
            if var.startswith("AUTODOCS_"):
                monkeypatch.delenv(var)
        monkeypatch.setenv("AUTODOCS_INDEX_URL", server.url)
        monkeypatch.setenv("AUTODOCS_CACHE_DIR", str(tmp_path / "cache"))
        assert main(["api", "httpx", "httpx.Client.get"]) == 0
        assert "Send a GET request" in capsys.readouterr().out
        assert main(["api", "httpx==0.28.1", "--query", "timeout", "--json"]) == 0
        data = json.loads(capsys.readouterr().out)
    assert data["artifact"] == wheel and data["version"] == "0.28.1"
    assert data["documentation"] and data["entries"]


@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_status_line_on_a_terminal_for_slow_calls(
    monkeypatch: pytest.MonkeyPatch, anyio_backend: str
) -> None:
    """A terminal shows a status line for a call still running after STATUS_DELAY; --json never."""
    import argparse
    import sys

    import anyio.lowlevel
    from rich.console import Console

    from autodocs_mcp import cli

    events: list[str] = []

    class FakeStatus:
        def start(self) -> None:
            events.append("start")

        def stop(self) -> None:
            events.append("stop")

    monkeypatch.setattr(Console, "status", lambda self, text: FakeStatus())
    monkeypatch.setattr(cli, "STATUS_DELAY", 0.0)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    async with cli._status("Reading", argparse.Namespace(json=False)):
        for _ in range(20):  # checkpoints, not sleeps: let the status task run
            if events:
                break
            await anyio.lowlevel.checkpoint()
    assert events == ["start", "stop"]
    events.clear()
    async with cli._status("Reading", argparse.Namespace(json=True)):
        for _ in range(20):
            await anyio.lowlevel.checkpoint()
    assert events == []
