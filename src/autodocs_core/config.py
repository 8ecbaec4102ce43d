"""One validated settings object, loadable from ``AUTODOCS_*`` environment variables.

Every variable is documented in ``docs/configuration.md``. A malformed or out-of-range value is a
:class:`~autodocs_core.errors.ConfigError` that names the variable, the value and the allowed
range; nothing is silently clamped.
"""

from __future__ import annotations

import logging
import math
import os
import stat
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import attrs

from .errors import ConfigError, redact_url
from .http import Credentials, HttpConfig, make_ssl_context, split_userinfo
from .pypi import DEFAULT_DEADLINE, DEFAULT_INDEX_URL, IndexConfig, normalize_index_url
from .resilience import HedgePolicy

__all__ = ["ENV_VARS", "MAX_ALLOWED_HOSTS", "MAX_TOKEN_LENGTH", "Settings", "http_token"]

N = TypeVar("N", int, float)


@attrs.frozen(repr=False)
class Settings:
    """Effective configuration of autodocs.

    Attributes:
        index_url: ``AUTODOCS_INDEX_URL``: base URL of the package index.
        index_token: ``AUTODOCS_INDEX_TOKEN``: bearer token for a private index.
        index_username: ``AUTODOCS_INDEX_USERNAME``: basic-auth user for a private index.
        index_password: ``AUTODOCS_INDEX_PASSWORD``: basic-auth password.
        netrc_file: ``AUTODOCS_NETRC``: netrc file to read credentials from (default ~/.netrc).
        ca_bundle: ``AUTODOCS_CA_BUNDLE``: PEM CA bundle instead of the OS trust store.
        max_response_bytes: ``AUTODOCS_MAX_RESPONSE_BYTES``: cap on a response, decompressed.
        deadline: ``AUTODOCS_DEADLINE``: seconds allowed for one lookup, retries included.
        max_connections: ``AUTODOCS_MAX_CONNECTIONS``: HTTP connections to the index.
        connect_timeout: ``AUTODOCS_CONNECT_TIMEOUT``: seconds to connect.
        read_timeout: ``AUTODOCS_READ_TIMEOUT``: upper bound on waiting for an answer.
        cache_dir: ``AUTODOCS_CACHE_DIR``: cache directory (default: the user cache directory).
        cache_max_bytes: ``AUTODOCS_CACHE_MAX_BYTES``: size of the disk cache.
        apiref_cache_max_bytes: ``AUTODOCS_APIREF_CACHE_MAX_BYTES``: size of the API reference
            cache, its own budget beside the documentation's (a reference is larger than a
            README; they must not evict each other).
        memory_cache_entries: ``AUTODOCS_MEMORY_CACHE_ENTRIES``: entries kept in memory.
        versions_ttl: ``AUTODOCS_VERSIONS_TTL``: seconds a package's version list stays fresh.
        offline: ``AUTODOCS_OFFLINE``: never touch the network; serve from the cache only.
        max_concurrency: ``AUTODOCS_MAX_CONCURRENCY``: packages fetched at once.
        operator_tools: ``AUTODOCS_OPERATOR_TOOLS``: also list the operator tools (health,
            readiness, metrics, cache statistics, cache refresh) to MCP clients. Off by default:
            every listed tool costs tokens in every conversation, and these serve operators
            (who have the CLI and the HTTP endpoints).
        fast_handshake: ``AUTODOCS_FAST_HANDSHAKE``: the stdio server answers ``initialize``
            and ``tools/list`` from the snapshot an earlier start wrote while the MCP SDK loads.
            ``autodocs-mcp`` reads the variable itself before anything else loads (same
            spelling rules); here it is validated and shown.
        log_level: ``AUTODOCS_LOG_LEVEL``: level of the server's log lines.
        shutdown_grace: ``AUTODOCS_SHUTDOWN_GRACE``: seconds in-flight calls get on shutdown.
        allow_broad_roots: ``AUTODOCS_ALLOW_BROAD_ROOTS``: let clients scan the file system
            root, system directories or a whole home directory (see
            :func:`~autodocs_core.deps.check_scan_root`).
        hedge: ``AUTODOCS_HEDGE``: send a second request when the first has not answered by
            the p95 latency of recent answers (first answer wins).
        hedge_min_delay: ``AUTODOCS_HEDGE_MIN_DELAY``: seconds a request is always given
            before it is hedged.
        redis_url: ``AUTODOCS_REDIS_URL``: ``redis://`` or ``rediss://`` server the replicas
            share state on (unset: each process on its own, as before).
        redis_timeout: ``AUTODOCS_REDIS_TIMEOUT``: seconds one Redis operation may take before
            the call continues locally.
        fleet_rate: ``AUTODOCS_FLEET_RATE``: upstream attempts per second to each index host,
            fleet-wide (with ``redis_url``; per process when Redis is unavailable); unset: no
            limit.
        fleet_burst: ``AUTODOCS_FLEET_BURST``: attempts allowed at once on top of
            ``fleet_rate`` (any one second sees at most ``fleet_rate + fleet_burst``).
        http_token: ``AUTODOCS_HTTP_TOKEN``: bearer token the MCP server's HTTP transport
            requires (printable ASCII without spaces; set but empty is an error). Never logged:
            :meth:`describe` and ``repr`` show ``***``.
        http_allowed_hosts: ``AUTODOCS_HTTP_ALLOWED_HOSTS``: comma-separated ``Host`` names
            (``name``, ``name:port`` or ``*``) the HTTP transport answers besides loopback and
            the bound address.
        http_header_timeout: ``AUTODOCS_HTTP_HEADER_TIMEOUT``: seconds a connection has to send
            a complete request head.
        http_body_timeout: ``AUTODOCS_HTTP_BODY_TIMEOUT``: seconds the HTTP transport waits for
            each piece of a request body (then 408).
        http_max_connections: ``AUTODOCS_HTTP_MAX_CONNECTIONS``: open HTTP connections at most.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       ``log_level``, ``shutdown_grace``, ``allow_broad_roots``, ``hedge``,
       ``hedge_min_delay``, ``redis_url``, ``redis_timeout``, ``fleet_rate``,
       ``fleet_burst`` and ``fast_handshake``; the CA bundle, the netrc file and the cache
       directory are checked when the settings are read; the HTTP transport's ``http_*``
       settings (read by the server's entry point before).
    """

    index_url: str = DEFAULT_INDEX_URL
    index_token: str | None = None
    index_username: str | None = None
    index_password: str | None = None
    netrc_file: str | None = None
    ca_bundle: str | None = None
    max_response_bytes: int = 20 * 1024 * 1024
    deadline: float = DEFAULT_DEADLINE
    max_connections: int = 10
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    cache_dir: str | None = None
    cache_max_bytes: int = 512 * 1024 * 1024
    apiref_cache_max_bytes: int = 256 * 1024 * 1024
    memory_cache_entries: int = 256
    versions_ttl: float = 3600.0
    offline: bool = False
    max_concurrency: int = 10
    operator_tools: bool = False
    fast_handshake: bool = True
    log_level: str = "WARNING"
    shutdown_grace: float = 10.0
    allow_broad_roots: bool = False
    hedge: bool = True
    hedge_min_delay: float = 0.05
    redis_url: str | None = None
    redis_timeout: float = 0.25
    fleet_rate: float | None = None
    fleet_burst: int = 10
    http_token: str | None = None
    http_allowed_hosts: tuple[str, ...] = ()
    http_header_timeout: float = 10.0
    http_body_timeout: float = 30.0
    http_max_connections: int = 256

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read every ``AUTODOCS_*`` variable from *env* (default: ``os.environ``).

        Raises:
            ConfigError: Naming the variable, its value and the allowed range.
        """
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for field, (var, parse) in ENV_VARS.items():
            raw = env.get(var)
            if raw is not None and var in _VERBATIM:
                values[field] = parse(var, raw)  # a secret is taken as typed, or refused
            elif raw is not None and raw.strip() != "":
                values[field] = parse(var, raw.strip())
            elif raw is not None and var in _BLANK_IS_AN_ERROR:
                raise ConfigError(
                    f"{var} is set but empty",
                    details={"variable": var},
                    suggestions=(f"Unset {var}, or give it a value.",),
                )
        settings = cls(**values)
        IndexConfig(url=settings.index_url)  # validates the URL, naming the variable
        # Read the netrc file now, so that a broken one stops start-up with a config error
        # (exit 2) instead of failing later, when the service is built.
        settings.credentials()
        return settings

    def http_config(self) -> HttpConfig:
        """Return the HTTP client settings."""
        return HttpConfig(
            max_connections=self.max_connections,
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            max_response_bytes=self.max_response_bytes,
            ca_bundle=self.ca_bundle,
        )

    def index_config(self) -> IndexConfig:
        """Return the index client settings."""
        return IndexConfig(
            url=self.index_url,
            deadline=self.deadline,
            hedge=HedgePolicy(min_delay=self.hedge_min_delay) if self.hedge else None,
        )

    def credentials(self) -> Credentials | None:
        """Return the index credentials (configuration first, then netrc), if any.

        A netrc ``default`` entry is used only for a configured (non-public) index: it is
        never sent to the public index.

        Raises:
            ConfigError: The netrc file cannot be read or parsed (naming ``AUTODOCS_NETRC``).
        """
        try:
            public = normalize_index_url(self.index_url) == normalize_index_url(DEFAULT_INDEX_URL)
        except (ValueError, ConfigError):
            public = False
        return Credentials.find(
            self.index_url,
            token=self.index_token,
            username=self.index_username,
            password=self.index_password,
            netrc_file=self.netrc_file,
            netrc_default=not public,
        )

    def cache_path(self) -> str:
        """Return the cache directory: ``cache_dir`` or the platform's user cache directory."""
        if self.cache_dir:
            return os.path.expanduser(self.cache_dir)
        import platformdirs

        return platformdirs.user_cache_dir("autodocs", appauthor=False)

    def describe(self) -> dict[str, Any]:
        """Return the settings as a dict with secrets and URL credentials redacted."""
        out = attrs.asdict(self)
        for secret in ("index_token", "index_password", "http_token"):
            if out[secret]:
                out[secret] = "***"
        out["index_url"] = redact_url(self.index_url)
        if self.redis_url:
            out["redis_url"] = redact_url(self.redis_url)
        return out

    def __repr__(self) -> str:
        return f"Settings({self.describe()!r})"


def _number(kind: type[N], low: N, high: N) -> Callable[[str, str], N]:
    def parse(var: str, raw: str) -> N:
        try:
            value = kind(raw)
        except ValueError:
            value = None
        if (
            value is None
            or (isinstance(value, float) and not math.isfinite(value))
            or not (low <= value <= high)
        ):
            raise ConfigError(
                f"{var}={raw[:40]!r} is invalid: expected {kind.__name__} from {low} to {high}",
                details={"variable": var, "value": raw[:40], "minimum": low, "maximum": high},
                suggestions=(f"Set {var} to a value from {low} to {high}, or unset it.",),
            )
        return value

    return parse


def _flag(var: str, raw: str) -> bool:
    value = raw.lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigError(
        f"{var}={raw[:40]!r} is invalid: expected 1/0, true/false, yes/no or on/off",
        details={"variable": var, "value": raw[:40]},
    )


def _text(var: str, raw: str) -> str:
    if len(raw) > 4096 or any(ord(c) < 32 for c in raw):
        raise ConfigError(
            f"{var} is invalid: at most 4096 printable characters",
            details={"variable": var},
        )
    return raw


MAX_TOKEN_LENGTH = 4096
"""Longest bearer token ``AUTODOCS_HTTP_TOKEN`` accepts."""
MAX_ALLOWED_HOSTS = 100
"""Most entries ``AUTODOCS_HTTP_ALLOWED_HOSTS`` accepts."""


def http_token(var: str, raw: str) -> str:
    """Check a bearer token given as *var* (``AUTODOCS_HTTP_TOKEN`` or a ``--token`` flag).

    Set but empty is a mistake (it would silently turn authentication off), and so is a token
    with spaces, control or non-ASCII characters (it could not be sent in a header as typed).
    The error names *var* and the token's length, never the token.

    Raises:
        ConfigError: Empty, too long, or not printable ASCII without spaces.

    .. versionadded:: 0.2.0
    """
    if not raw:
        raise ConfigError(
            f"{var} is set but empty",
            details={"variable": var},
            suggestions=(f"Give {var} a secret value, or unset it to run without a token.",),
        )
    if len(raw) > MAX_TOKEN_LENGTH or not all("!" <= c <= "~" for c in raw):
        raise ConfigError(
            f"{var} must be printable ASCII without spaces (at most {MAX_TOKEN_LENGTH} characters)",
            details={"variable": var, "length": len(raw)},
            suggestions=("Use letters, digits and -._~ (e.g. secrets.token_urlsafe()).",),
        )
    return raw


def _hosts(var: str, raw: str) -> tuple[str, ...]:
    entries = tuple(e.strip() for e in raw.split(",") if e.strip())
    bad = [e for e in entries if len(e) > 255 or not all("!" <= c <= "~" for c in e)]
    if bad or len(entries) > MAX_ALLOWED_HOSTS:
        raise ConfigError(
            f"{var} is invalid: at most {MAX_ALLOWED_HOSTS} comma-separated host names "
            "(printable, no spaces, at most 255 characters each)",
            details={"variable": var, "entries": len(entries), "bad": [b[:40] for b in bad[:5]]},
            suggestions=(f"Set {var} to names such as 'docs.example' or 'docs.example:8443'.",),
        )
    return entries


_VERBATIM = frozenset({"AUTODOCS_HTTP_TOKEN"})
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_BLANK_IS_AN_ERROR = frozenset({"AUTODOCS_SHUTDOWN_GRACE", "AUTODOCS_LOG_LEVEL"})
_MAX_CA_BUNDLE_BYTES = 16 * 1024 * 1024


def _log_level(var: str, raw: str) -> str:
    level = raw.upper()
    if level not in _LOG_LEVELS or not isinstance(logging.getLevelName(level), int):
        raise ConfigError(
            f"{var}={raw[:40]!r} is invalid: expected one of {', '.join(_LOG_LEVELS)}",
            details={"variable": var, "value": raw[:40], "allowed": list(_LOG_LEVELS)},
            suggestions=(f"Set {var} to one of {', '.join(_LOG_LEVELS)}, or unset it.",),
        )
    return level


def _absolute_dir(var: str, raw: str) -> str:
    path = os.path.expanduser(_text(var, raw))
    if not os.path.isabs(path):
        raise ConfigError(
            f"{var}={raw[:80]!r} is invalid: expected an absolute path",
            details={"variable": var, "value": raw[:80]},
            suggestions=(
                f"Give {var} an absolute path (a relative one would depend on the directory "
                "the server happens to start in).",
            ),
        )
    return raw


def _ca_bundle(var: str, raw: str) -> str:
    path = os.path.expanduser(_text(var, raw))

    def refuse(reason: str) -> ConfigError:
        return ConfigError(
            f"{var}={raw[:80]!r} is invalid: {reason}",
            details={"variable": var, "value": raw[:80], "reason": reason},
            suggestions=(
                f"Point {var} at a PEM file of CA certificates, or unset it to use the "
                "operating system's trust store.",
            ),
        )

    try:
        st = os.stat(path)
    except OSError as exc:
        raise refuse(f"the file cannot be found ({exc.strerror or type(exc).__name__})") from None
    # a FIFO or device would block or never end when the TLS library reads it
    if not stat.S_ISREG(st.st_mode):
        raise refuse("not a regular file")
    if st.st_size > _MAX_CA_BUNDLE_BYTES:
        raise refuse(f"larger than {_MAX_CA_BUNDLE_BYTES} bytes")
    try:
        make_ssl_context(path)
    except ConfigError:
        raise refuse("not a PEM file of CA certificates") from None
    return raw


def _url(var: str, raw: str) -> str:
    clean, _, _ = split_userinfo(_text(var, raw))
    if not clean.startswith(("http://", "https://")):
        raise ConfigError(
            f"{var}={redact_url(raw)[:80]!r} is invalid: expected an http(s) URL",
            details={"variable": var, "value": redact_url(raw)[:80]},
            suggestions=(f"Use a base URL such as '{DEFAULT_INDEX_URL}'.",),
        )
    return raw


def _redis_url(var: str, raw: str) -> str:
    from .fleet import check_redis_url

    return check_redis_url(_text(var, raw), variable=var)


ENV_VARS: dict[str, tuple[str, Callable[[str, str], Any]]] = {
    "index_url": ("AUTODOCS_INDEX_URL", _url),
    "index_token": ("AUTODOCS_INDEX_TOKEN", _text),
    "index_username": ("AUTODOCS_INDEX_USERNAME", _text),
    "index_password": ("AUTODOCS_INDEX_PASSWORD", _text),
    "netrc_file": ("AUTODOCS_NETRC", _text),
    "ca_bundle": ("AUTODOCS_CA_BUNDLE", _ca_bundle),
    "max_response_bytes": ("AUTODOCS_MAX_RESPONSE_BYTES", _number(int, 1024, 1 << 30)),
    "deadline": ("AUTODOCS_DEADLINE", _number(float, 0.5, 300.0)),
    "max_connections": ("AUTODOCS_MAX_CONNECTIONS", _number(int, 1, 100)),
    "connect_timeout": ("AUTODOCS_CONNECT_TIMEOUT", _number(float, 0.1, 60.0)),
    "read_timeout": ("AUTODOCS_READ_TIMEOUT", _number(float, 0.1, 300.0)),
    "cache_dir": ("AUTODOCS_CACHE_DIR", _absolute_dir),
    "cache_max_bytes": ("AUTODOCS_CACHE_MAX_BYTES", _number(int, 1 << 20, 1 << 40)),
    "apiref_cache_max_bytes": ("AUTODOCS_APIREF_CACHE_MAX_BYTES", _number(int, 1 << 20, 1 << 40)),
    "memory_cache_entries": ("AUTODOCS_MEMORY_CACHE_ENTRIES", _number(int, 1, 100_000)),
    "versions_ttl": ("AUTODOCS_VERSIONS_TTL", _number(float, 0.0, 30 * 86400.0)),
    "offline": ("AUTODOCS_OFFLINE", _flag),
    "max_concurrency": ("AUTODOCS_MAX_CONCURRENCY", _number(int, 1, 64)),
    "operator_tools": ("AUTODOCS_OPERATOR_TOOLS", _flag),
    "fast_handshake": ("AUTODOCS_FAST_HANDSHAKE", _flag),
    "log_level": ("AUTODOCS_LOG_LEVEL", _log_level),
    "shutdown_grace": ("AUTODOCS_SHUTDOWN_GRACE", _number(float, 0.0, 300.0)),
    "allow_broad_roots": ("AUTODOCS_ALLOW_BROAD_ROOTS", _flag),
    "hedge": ("AUTODOCS_HEDGE", _flag),
    "hedge_min_delay": ("AUTODOCS_HEDGE_MIN_DELAY", _number(float, 0.001, 10.0)),
    "redis_url": ("AUTODOCS_REDIS_URL", _redis_url),
    "redis_timeout": ("AUTODOCS_REDIS_TIMEOUT", _number(float, 0.01, 5.0)),
    "fleet_rate": ("AUTODOCS_FLEET_RATE", _number(float, 0.01, 1_000_000.0)),
    "fleet_burst": ("AUTODOCS_FLEET_BURST", _number(int, 1, 100_000)),
    "http_token": ("AUTODOCS_HTTP_TOKEN", http_token),
    "http_allowed_hosts": ("AUTODOCS_HTTP_ALLOWED_HOSTS", _hosts),
    "http_header_timeout": ("AUTODOCS_HTTP_HEADER_TIMEOUT", _number(float, 0.1, 600.0)),
    "http_body_timeout": ("AUTODOCS_HTTP_BODY_TIMEOUT", _number(float, 0.1, 3600.0)),
    "http_max_connections": ("AUTODOCS_HTTP_MAX_CONNECTIONS", _number(int, 1, 100_000)),
}
"""Settings field -> (environment variable, parser)."""
