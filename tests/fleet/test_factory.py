"""fleet_from_url / fleet_from_settings: local when unset, Redis when asked, secrets hidden."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autodocs_core.config import Settings
from autodocs_core.errors import ConfigError
from autodocs_core.fleet import (
    FleetConfig,
    LocalState,
    RedisState,
    check_redis_url,
    fleet_from_settings,
    fleet_from_url,
)
from autodocs_core.fleet._types import key_part


def test_importing_the_core_and_fleet_does_not_load_redis() -> None:
    """`import autodocs_core.fleet` (and the config) leaves redis-py unloaded."""
    code = (
        "import sys, autodocs_core, autodocs_core.fleet, autodocs_core.config\n"
        "s = autodocs_core.fleet.fleet_from_url(None, index_url='https://pypi.org')\n"
        "print(type(s).__name__, sorted(m for m in sys.modules if m.split('.')[0] == 'redis'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "LocalState []"


@pytest.mark.parametrize("url", [None, "", "  "])
def test_unset_means_local(url: str | None) -> None:
    """No URL: one process's state, exactly today's behaviour."""
    assert isinstance(fleet_from_url(url, index_url="https://pypi.org"), LocalState)
    assert isinstance(fleet_from_settings(Settings()), LocalState)


def test_redis_url_builds_a_guarded_client() -> None:
    """A redis URL builds a RedisState whose client has every timeout set and no retries."""
    settings = Settings(redis_url="redis://fleet:S3CRET-xyz@127.0.0.1:1/0", redis_timeout=0.3)
    state = fleet_from_settings(settings)
    assert isinstance(state, RedisState)
    assert state.config.timeout == 0.3
    pool = state._client.connection_pool
    kwargs = pool.connection_kwargs
    assert kwargs["socket_timeout"] == kwargs["socket_connect_timeout"] == 0.3
    assert pool.max_connections == FleetConfig().pool_size and pool.timeout == 0.3
    assert kwargs["retry"].get_retries() == 0
    assert "S3CRET" not in repr(state) and "S3CRET" not in repr(settings)


@pytest.mark.parametrize(
    "url", ["http://h:6379", "redis://", "redis://:pw@", "redis://h:notaport", "unix:///tmp/r"]
)
def test_bad_urls_are_config_errors_without_the_password(url: str) -> None:
    """A malformed URL is a ConfigError naming the variable, never showing the password."""
    with pytest.raises(ConfigError) as info:
        fleet_from_url(url.replace("pw", "S3CRET"), index_url="https://pypi.org")
    assert "AUTODOCS_REDIS_URL" in info.value.message
    assert "S3CRET" not in str(info.value.to_payload())


def test_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without redis-py installed, the error says which extra to install."""
    monkeypatch.setitem(sys.modules, "redis", None)
    monkeypatch.setitem(sys.modules, "redis.asyncio", None)
    monkeypatch.delitem(sys.modules, "autodocs_core.fleet._redis", raising=False)
    with pytest.raises(ConfigError) as info:
        fleet_from_url("redis://localhost:6379", index_url="https://pypi.org")
    assert any("[redis]" in s for s in info.value.suggestions)


@given(st.text(max_size=300), st.booleans())
def test_any_url_text_is_accepted_or_a_config_error(text: str, with_password: bool) -> None:
    """Arbitrary text is a valid URL or a ConfigError, never a crash; the password stays hidden."""
    url = f"redis://user:S3CRET@{text}" if with_password else text
    error: ConfigError | None = None
    try:
        result = check_redis_url(url)
    except ConfigError as exc:
        error = exc
    if error is None:
        assert result == url
    else:
        assert "S3CRET" not in str(error.to_payload())


@given(st.text(max_size=400))
def test_key_parts_are_safe_and_never_collide_with_plain_keys(key: str) -> None:
    """Every key part is short printable ASCII; hashed ones cannot equal a plain key."""
    part = key_part(key)
    assert 1 <= len(part) <= 200 and part.isascii() and part.isprintable() and " " not in part
    assert part == key or part.startswith("#")
    assert key_part(key) == part  # deterministic across replicas


def test_the_fleet_rate_setting_sets_the_admission_rate() -> None:
    """AUTODOCS_FLEET_RATE reaches FleetConfig.rate; unset means no limit."""
    limited = fleet_from_settings(
        Settings.from_env({"AUTODOCS_FLEET_RATE": "20", "AUTODOCS_FLEET_BURST": "2"})
    )
    assert isinstance(limited, LocalState)
    assert limited.config.rate == 20.0
    assert limited.config.burst == 2
    unlimited = fleet_from_settings(Settings())
    assert isinstance(unlimited, LocalState)
    assert unlimited.config.rate is None
    assert unlimited.config.burst == 10
