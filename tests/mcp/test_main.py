"""The server command's own pieces: JSON log lines, flags that mirror the settings."""

from __future__ import annotations

import json
import logging

import pytest

pytest.importorskip("mcp")

from autodocs_mcp.main import JsonFormatter, main


def test_log_lines_are_json_with_credentials_redacted() -> None:
    """Each record is one JSON object; user:password@ in any URL becomes ***@."""
    record = logging.LogRecord(
        "autodocs",
        logging.WARNING,
        __file__,
        1,
        "GET %s failed",
        ("https://bob:hunter2@index.example/x",),
        None,
    )
    line = JsonFormatter().format(record)
    data = json.loads(line)
    assert data == {
        "level": "warning",
        "logger": "autodocs",
        "message": "GET https://***@index.example/x failed",
    }


def test_flags_override_settings_and_are_validated(capsys: pytest.CaptureFixture[str]) -> None:
    """--deadline mirrors AUTODOCS_DEADLINE: a bad value stops start-up naming the variable."""
    assert main(["--deadline", "never"]) == 2
    payload = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert payload["error_type"] == "config_error" and "AUTODOCS_DEADLINE" in payload["error"]


def test_help_lists_a_flag_per_setting(capsys: pytest.CaptureFixture[str]) -> None:
    """Every AUTODOCS_* setting has a matching flag."""
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for flag in ("--index-url", "--offline", "--cache-dir", "--max-concurrency", "--transport"):
        assert flag in out


def test_allow_broad_roots_is_validated(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """AUTODOCS_ALLOW_BROAD_ROOTS takes a yes/no value; anything else stops start-up."""
    monkeypatch.setenv("AUTODOCS_ALLOW_BROAD_ROOTS", "everything")
    assert main([]) == 2
    payload = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert "AUTODOCS_ALLOW_BROAD_ROOTS" in payload["error"]
