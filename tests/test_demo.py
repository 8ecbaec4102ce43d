"""The README's main-job command (the core demo) runs on both backends."""

from __future__ import annotations

import json

import pytest

from autodocs_core.__main__ import main


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_demo_runs_and_prints_a_partial_result(
    backend: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The demo exits 0 and ends with a JSON partial result listing the failures."""
    assert main(["--backend", backend, "--seed", "1"]) == 0
    out = capsys.readouterr().out
    result = json.loads(out[out.index("\n{") :])
    failed = {f["key"]: f["error"]["error_type"] for f in result["failed"]}
    assert failed["no-such-package"] == "not_found"
    assert "httpx: docs" in result["succeeded"]
    assert "waiting 50 ms" in out
