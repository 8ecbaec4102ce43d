"""Settings from AUTODOCS_* variables: every variable read, bad values named precisely."""

from __future__ import annotations

import certifi
import pytest

from autodocs_core.config import ENV_VARS, Settings
from autodocs_core.errors import ConfigError

GOOD = {
    "AUTODOCS_INDEX_URL": "https://mirror.example/simple",
    "AUTODOCS_INDEX_TOKEN": "T0KEN-xyz",
    "AUTODOCS_INDEX_USERNAME": "me",
    "AUTODOCS_INDEX_PASSWORD": "PA55-xyz",
    "AUTODOCS_NETRC": "/dev/null/netrc",
    "AUTODOCS_CA_BUNDLE": certifi.where(),  # checked at start-up: a real PEM bundle
    "AUTODOCS_MAX_RESPONSE_BYTES": "2048",
    "AUTODOCS_DEADLINE": "7.5",
    "AUTODOCS_MAX_CONNECTIONS": "4",
    "AUTODOCS_CONNECT_TIMEOUT": "1.5",
    "AUTODOCS_READ_TIMEOUT": "3",
    "AUTODOCS_CACHE_DIR": "/tmp/autodocs-cache",
    "AUTODOCS_CACHE_MAX_BYTES": "2097152",
    "AUTODOCS_APIREF_CACHE_MAX_BYTES": "3145728",
    "AUTODOCS_MEMORY_CACHE_ENTRIES": "32",
    "AUTODOCS_VERSIONS_TTL": "60",
    "AUTODOCS_OFFLINE": "yes",
    "AUTODOCS_MAX_CONCURRENCY": "3",
    "AUTODOCS_OPERATOR_TOOLS": "1",
    "AUTODOCS_FAST_HANDSHAKE": "off",
    "AUTODOCS_LOG_LEVEL": "info",
    "AUTODOCS_SHUTDOWN_GRACE": "2.5",
    "AUTODOCS_ALLOW_BROAD_ROOTS": "1",
    "AUTODOCS_HEDGE": "off",
    "AUTODOCS_HEDGE_MIN_DELAY": "0.2",
    "AUTODOCS_REDIS_URL": "rediss://fleet:R3D1S-xyz@cache.example:6380/2",
    "AUTODOCS_REDIS_TIMEOUT": "0.3",
    "AUTODOCS_FLEET_RATE": "20",
    "AUTODOCS_FLEET_BURST": "2",
    "AUTODOCS_HTTP_TOKEN": "H77P-xyz",
    "AUTODOCS_HTTP_ALLOWED_HOSTS": "docs.example, docs.example:8443,",
    "AUTODOCS_HTTP_HEADER_TIMEOUT": "2.5",
    "AUTODOCS_HTTP_BODY_TIMEOUT": "12",
    "AUTODOCS_HTTP_MAX_CONNECTIONS": "64",
}


def test_every_documented_variable_is_read() -> None:
    """Each variable in ENV_VARS changes the settings, and all are covered here."""
    assert {var for var, _ in ENV_VARS.values()} == set(GOOD)
    s = Settings.from_env(GOOD)
    assert s == Settings(
        index_url="https://mirror.example/simple",
        index_token="T0KEN-xyz",
        index_username="me",
        index_password="PA55-xyz",
        netrc_file="/dev/null/netrc",
        ca_bundle=certifi.where(),
        max_response_bytes=2048,
        deadline=7.5,
        max_connections=4,
        connect_timeout=1.5,
        read_timeout=3.0,
        cache_dir="/tmp/autodocs-cache",
        cache_max_bytes=2097152,
        apiref_cache_max_bytes=3145728,
        memory_cache_entries=32,
        versions_ttl=60.0,
        offline=True,
        max_concurrency=3,
        operator_tools=True,
        fast_handshake=False,
        log_level="INFO",
        shutdown_grace=2.5,
        allow_broad_roots=True,
        hedge=False,
        hedge_min_delay=0.2,
        redis_url="rediss://fleet:R3D1S-xyz@cache.example:6380/2",
        redis_timeout=0.3,
        fleet_rate=20.0,
        fleet_burst=2,
        http_token="H77P-xyz",
        http_allowed_hosts=("docs.example", "docs.example:8443"),
        http_header_timeout=2.5,
        http_body_timeout=12.0,
        http_max_connections=64,
    )
    assert s.index_config().hedge is None
    hedged = Settings.from_env({"AUTODOCS_HEDGE_MIN_DELAY": "0.2"}).index_config().hedge
    assert hedged is not None and hedged.min_delay == 0.2
    assert s.cache_path() == "/tmp/autodocs-cache"
    assert Settings().cache_path().endswith("autodocs")
    assert s.index_config().url == "https://mirror.example"
    assert s.http_config().max_connections == 4
    creds = s.credentials()
    assert creds is not None and creds.header() == "Bearer T0KEN-xyz"
    assert "T0KEN-xyz" not in repr(s) and "PA55-xyz" not in repr(s)
    assert "R3D1S-xyz" not in repr(s)
    assert "H77P-xyz" not in repr(s) and s.describe()["http_token"] == "***"


def test_defaults_and_blank_values() -> None:
    """Unset or blank variables keep the defaults."""
    assert Settings.from_env({"AUTODOCS_DEADLINE": "  "}) == Settings()


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("AUTODOCS_DEADLINE", "0"),
        ("AUTODOCS_DEADLINE", "soon"),
        ("AUTODOCS_DEADLINE", "nan"),
        ("AUTODOCS_MAX_CONNECTIONS", "1000"),
        ("AUTODOCS_MAX_CONNECTIONS", "2.5"),
        ("AUTODOCS_MAX_RESPONSE_BYTES", "-1"),
        ("AUTODOCS_INDEX_URL", "ftp://mirror"),
        ("AUTODOCS_INDEX_URL", "https://"),
        ("AUTODOCS_INDEX_TOKEN", "a\nb"),
        ("AUTODOCS_OFFLINE", "maybe"),
        ("AUTODOCS_MAX_CONCURRENCY", "0"),
        ("AUTODOCS_HEDGE", "sometimes"),
        ("AUTODOCS_HEDGE_MIN_DELAY", "0"),
        ("AUTODOCS_REDIS_URL", "http://cache.example:6379"),
        ("AUTODOCS_REDIS_URL", "redis://:S3CRET@"),
        ("AUTODOCS_REDIS_TIMEOUT", "60"),
        ("AUTODOCS_FLEET_RATE", "0"),
        ("AUTODOCS_FLEET_BURST", "0"),
        ("AUTODOCS_HTTP_TOKEN", ""),
        ("AUTODOCS_HTTP_TOKEN", " padded "),
        ("AUTODOCS_HTTP_TOKEN", "caf\u00e9"),
        ("AUTODOCS_HTTP_TOKEN", "x" * 4097),
        ("AUTODOCS_HTTP_ALLOWED_HOSTS", "docs.example, bad host"),
        ("AUTODOCS_HTTP_ALLOWED_HOSTS", ",".join(["h"] * 101)),
        ("AUTODOCS_HTTP_HEADER_TIMEOUT", "soon"),
        ("AUTODOCS_HTTP_HEADER_TIMEOUT", "601"),
        ("AUTODOCS_HTTP_BODY_TIMEOUT", "0"),
        ("AUTODOCS_HTTP_MAX_CONNECTIONS", "100001"),
    ],
)
def test_bad_values_name_the_variable_value_and_range(var: str, value: str) -> None:
    """A bad value is a config error that names the variable (and the range for numbers)."""
    with pytest.raises(ConfigError) as info:
        Settings.from_env({var: value})
    assert var in info.value.message
    assert "\n" not in info.value.message


def test_url_credentials_are_redacted() -> None:
    """Credentials inside the index URL are used but never shown."""
    s = Settings.from_env({"AUTODOCS_INDEX_URL": "https://u:secret@mirror.example"})
    assert "secret" not in str(s.describe())
    creds = s.credentials()
    assert creds is not None and creds.username == "u"


def test_the_http_token_error_never_shows_the_token() -> None:
    """A refused token is named by its variable and length only."""
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"AUTODOCS_HTTP_TOKEN": "s3cret with-space"})
    shown = repr(info.value.to_payload())
    assert "s3cret" not in shown and "AUTODOCS_HTTP_TOKEN" in shown
