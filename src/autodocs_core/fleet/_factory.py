"""Build the shared state from a URL or from :class:`~autodocs_core.config.Settings`."""

from __future__ import annotations

import urllib.parse
from typing import Protocol

import attrs

from ..errors import ConfigError, redact_url
from ..resilience import SYSTEM_CLOCK, Clock
from ._local import LocalState
from ._types import FleetConfig, SharedState


class FleetSettings(Protocol):
    """What :func:`fleet_from_settings` reads (``autodocs_core.config.Settings`` has it all).

    A protocol rather than an import: the settings sit a layer above the fleet.

    .. versionadded:: 0.2.0
    """

    @property
    def redis_url(self) -> str | None:
        """``AUTODOCS_REDIS_URL``."""

    @property
    def redis_timeout(self) -> float:
        """``AUTODOCS_REDIS_TIMEOUT``."""

    @property
    def index_url(self) -> str:
        """``AUTODOCS_INDEX_URL``."""


__all__ = ["FleetSettings", "check_redis_url", "fleet_from_settings", "fleet_from_url"]

_SCHEMES = ("redis", "rediss")


def check_redis_url(url: str, *, variable: str = "AUTODOCS_REDIS_URL") -> str:
    """Return *url* if it is a usable ``redis://`` or ``rediss://`` URL.

    Raises:
        ConfigError: Naming *variable* and the URL without its credentials.

    .. versionadded:: 0.2.0
    """
    shown = redact_url(url)[:80]
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        parts, port = None, None
    if parts is None or parts.scheme not in _SCHEMES or not parts.hostname or len(url) > 2048:
        raise ConfigError(
            f"{variable}={shown!r} is invalid: expected redis://[user:password@]host[:port][/db] "
            "or rediss://...",
            details={"variable": variable, "value": shown},
            suggestions=(f"Set {variable} to e.g. 'redis://localhost:6379/0', or unset it.",),
        )
    del port
    return url


def fleet_from_url(
    url: str | None,
    *,
    index_url: str,
    config: FleetConfig | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> SharedState:
    """Return the shared state for *url*: :class:`RedisState`, or :class:`LocalState` if unset.

    Nothing connects here (the first operation does), so a Redis that is down at start-up only
    makes calls answer locally. The password never appears in errors or ``repr``.

    Args:
        url: ``redis://`` / ``rediss://`` URL (ACL user and password allowed), or ``None``.
        index_url: The package index (hashed into every key).
        config: Admission, budget and pool settings.
        clock: Time source.

    Raises:
        ConfigError: The URL is malformed, or the ``redis`` extra is not installed.

    .. versionadded:: 0.2.0
    """
    cfg = config or FleetConfig()
    if url is None or url.strip() == "":
        return LocalState(cfg, clock=clock)
    check_redis_url(url)
    try:
        from ._redis import RedisState, redis_client
    except ImportError as exc:
        raise ConfigError(
            "AUTODOCS_REDIS_URL is set but redis-py is not installed",
            details={"url": redact_url(url)},
            suggestions=(
                "Install the extra: pip install 'autodocs-mcp-server[redis]'",
                "Or unset AUTODOCS_REDIS_URL to run without shared state.",
            ),
        ) from exc
    return RedisState(redis_client(url, cfg), index_url=index_url, config=cfg, clock=clock)


def fleet_from_settings(settings: FleetSettings, *, clock: Clock = SYSTEM_CLOCK) -> SharedState:
    """Return the shared state the settings ask for (``AUTODOCS_REDIS_URL``, ``..._TIMEOUT``).

    Unset ``redis_url``: a :class:`LocalState`, i.e. exactly one process's behaviour. A
    ``fleet_rate`` attribute (``AUTODOCS_FLEET_RATE``), when the settings have one, sets
    :attr:`FleetConfig.rate`, and ``fleet_burst`` (``AUTODOCS_FLEET_BURST``) its burst.

    .. versionadded:: 0.2.0
    """
    rate = getattr(settings, "fleet_rate", None)
    burst = getattr(settings, "fleet_burst", None)
    cfg = attrs.evolve(
        FleetConfig(),
        timeout=settings.redis_timeout,
        rate=float(rate) if rate else None,
        burst=int(burst) if burst else FleetConfig().burst,
    )
    return fleet_from_url(settings.redis_url, index_url=settings.index_url, config=cfg, clock=clock)
