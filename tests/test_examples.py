"""The runnable third-party examples in examples/ work, on asyncio and trio, with no network."""

from __future__ import annotations

import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def load(name: str) -> dict[str, Any]:
    """Load an example as a module (its ``__main__`` block does not run)."""
    return runpy.run_path(str(EXAMPLES / name), run_name=f"example_{name}")


def test_flaky_json_api(anyio_backend: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Users survive a 503 and a 429; a 404 is not retried and comes back as ApiError, noted."""
    result = anyio.run(load("flaky_json_api.py")["main"], backend=anyio_backend)
    assert [u["id"] for u in result["users"]] == [1, 2, 3, 4, 5]
    assert result["missing"] == {
        "status": 404,
        "notes": ["GET api.example: gave up after 1 attempt(s): not retryable"],
    }
    assert result["breaker"] == "closed"
    assert "fetched 5 users" in capsys.readouterr().out


def test_fetch_urls(anyio_backend: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Every URL but the 404 is fetched (a dropped connection retried); progress counts to 5."""
    result = anyio.run(load("fetch_urls.py")["main"], backend=anyio_backend)
    assert len(result["sizes"]) == 4 and all(size > 0 for size in result["sizes"].values())
    assert result["failed"] == {"https://files.example/missing.txt": "HTTPStatusError"}
    progress = result["progress"]
    assert [p.done for p in progress] == [1, 2, 3, 4, 5]
    assert progress[-1].failed == 1 and progress[-1].total == 5
    assert "5/5 done, 1 failed" in capsys.readouterr().out


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.py")))
def test_examples_run_as_scripts(name: str) -> None:
    """``python examples/<name>`` exits 0 in a fresh interpreter."""
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
