"""Start-up configuration: every bad value is one clear ConfigError naming its variable."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from autodocs_core.config import Settings
from autodocs_core.errors import ConfigError


def config_error(env: dict[str, str]) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        Settings.from_env(env)
    return info.value


class TestCaBundle:
    def test_a_missing_bundle_is_a_config_error(self, tmp_path: Path) -> None:
        """A CA bundle path that does not exist stops start-up, naming AUTODOCS_CA_BUNDLE."""
        error = config_error({"AUTODOCS_CA_BUNDLE": str(tmp_path / "nope.pem")})
        assert "AUTODOCS_CA_BUNDLE" in error.message and "cannot be found" in error.message

    def test_a_garbage_bundle_is_a_config_error(self, tmp_path: Path) -> None:
        """A file that is not PEM certificates is refused; its contents are not quoted."""
        garbage = tmp_path / "ca.pem"
        garbage.write_text("hunter2-not-a-certificate\n")
        error = config_error({"AUTODOCS_CA_BUNDLE": str(garbage)})
        assert "AUTODOCS_CA_BUNDLE" in error.message
        assert "hunter2" not in json.dumps(error.to_payload())

    def test_a_fifo_or_directory_never_blocks(self, tmp_path: Path) -> None:
        """A FIFO (which would block the TLS library's read) or a directory is refused."""
        os.mkfifo(tmp_path / "fifo.pem")
        for path in (tmp_path / "fifo.pem", tmp_path):
            error = config_error({"AUTODOCS_CA_BUNDLE": str(path)})
            assert error.details["variable"] == "AUTODOCS_CA_BUNDLE"


class TestNetrc:
    @pytest.mark.parametrize(
        "body", [b"login x password hunter2\n", b"machine\n", b"\xff\xfe\x00hunter2 machine"]
    )
    def test_an_unparsable_netrc_is_a_config_error(self, tmp_path: Path, body: bytes) -> None:
        """A broken netrc is found when the settings are read, named, and never quoted."""
        path = tmp_path / "netrc"
        path.write_bytes(body)
        error = config_error({"AUTODOCS_NETRC": str(path)})
        assert "AUTODOCS_NETRC" in error.message
        assert "hunter2" not in json.dumps(error.to_payload())

    def test_the_default_entry_never_goes_to_the_public_index(self, tmp_path: Path) -> None:
        """A netrc "default" entry is used for a configured index only, bound to its host."""
        path = tmp_path / "netrc"
        path.write_text("default login me password hunter2\n")
        public = Settings.from_env({"AUTODOCS_NETRC": str(path)})
        assert public.credentials() is None
        private = Settings.from_env(
            {"AUTODOCS_NETRC": str(path), "AUTODOCS_INDEX_URL": "https://private.example/simple"}
        )
        creds = private.credentials()
        assert creds is not None and creds.origin == ("https", "private.example", 443)

    def test_a_machine_entry_still_wins(self, tmp_path: Path) -> None:
        """An exact machine entry is used, for its host only."""
        path = tmp_path / "netrc"
        path.write_text("machine pypi.org login a password one\ndefault login b password two\n")
        creds = Settings.from_env({"AUTODOCS_NETRC": str(path)}).credentials()
        assert creds is not None and creds.username == "a"


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("AUTODOCS_LOG_LEVEL", "LOUD"),
        ("AUTODOCS_LOG_LEVEL", ""),
        ("AUTODOCS_SHUTDOWN_GRACE", ""),
        ("AUTODOCS_SHUTDOWN_GRACE", "forever"),
        ("AUTODOCS_SHUTDOWN_GRACE", "-1"),
        ("AUTODOCS_CACHE_DIR", "relative/cache"),
        ("AUTODOCS_ALLOW_BROAD_ROOTS", "sure"),
    ],
)
def test_bad_values_are_one_config_error_naming_the_variable(var: str, value: str) -> None:
    """Log level, grace, cache directory, broad roots: a bad value names its variable."""
    error = config_error({var: value})
    assert var in error.message and "\n" not in error.message


def test_the_new_settings_have_safe_defaults() -> None:
    """Broad roots are refused by default; the log level and grace keep their old defaults."""
    s = Settings.from_env({"AUTODOCS_NETRC": "/nonexistent/netrc"})
    assert (s.allow_broad_roots, s.log_level, s.shutdown_grace) == (False, "WARNING", 10.0)


def test_the_server_exits_2_with_the_payload_and_nothing_on_stdout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each start-up config error ends the server with exit code 2 and a JSON payload on stderr."""
    pytest.importorskip("mcp")
    from autodocs_mcp.main import main

    broken = tmp_path / "netrc"
    broken.write_text("login x\n")
    cases = {
        "AUTODOCS_LOG_LEVEL": "LOUD",
        "AUTODOCS_NETRC": str(broken),
        "AUTODOCS_CA_BUNDLE": str(tmp_path / "missing.pem"),
        "AUTODOCS_CACHE_DIR": "relative",
    }
    for var, value in cases.items():
        with monkeypatch.context() as m:
            m.setenv(var, value)
            assert main([]) == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        payload = json.loads(captured.err.strip().splitlines()[-1])
        assert payload["error_type"] == "config_error" and var in payload["error"]
