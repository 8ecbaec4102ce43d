"""Health and readiness: real probes and real signals, not a constant "healthy".

Health (for monitoring): a cache read/write probe, index connectivity (one small ``HEAD``
request, skipped while the breaker is open: the breaker's state is the answer; its result is
reused for :data:`PROBE_TTL` seconds and concurrent probes share one request, so that probing can
never become load on the index), a parser
self-test, memory (RSS), free disk for the cache, and the recent error rate. The status is the
worst of the checks: an open breaker makes the service degraded; 10% recent errors degraded,
25% unhealthy (a service with 40% errors is not healthy).

The shared layer of a fleet (scale-out), when there is one: its backend and whether it answers.
Redis unavailable makes the service *degraded* (calls are answered locally, at the cost of extra
upstream requests), never unhealthy, and never unready.

Readiness (for orchestration): configuration valid, cache usable (or deliberately memory-only),
not shutting down. The shared layer is not a condition: losing Redis never fails a call.

Both take the pieces they read (the cache, the HTTP and index clients, the settings, the metrics,
the shutting-down flag), never the service: this module sits below the facade it reports on.

.. versionchanged:: 0.2.0
   Moved from ``autodocs_core.health``; the checks take narrow inputs instead of the service.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sys
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import attrs

from ..errors import AutodocsError
from ..resilience import SYSTEM_CLOCK, Clock, SingleFlight
from ._metrics import shared_layer

if TYPE_CHECKING:
    from ..cache import CacheStore, DocsCache
    from ..config import Settings
    from ..fleet import CoalescerStatistics, FleetStatistics
    from ..http import HttpClient
    from ..pypi import IndexClient
    from ._metrics import ServiceMetrics

__all__ = ["PROBE_TTL", "Check", "HealthReport", "Readiness", "check_health", "check_readiness"]

Status = Literal["healthy", "degraded", "unhealthy"]
_ORDER: dict[str, int] = {"healthy": 0, "degraded": 1, "unhealthy": 2}

ERROR_RATE_DEGRADED = 0.10
ERROR_RATE_UNHEALTHY = 0.25
MEMORY_DEGRADED_BYTES = 1 << 30
DISK_DEGRADED_BYTES = 100 << 20

PROBE_TTL = 5.0
"""Seconds an index probe's result is reused by later health checks.

200 ``/healthz`` requests in one second make one ``HEAD`` to the index (two at most, when the
second straddles the expiry), however many arrive at once.

.. versionadded:: 0.2.0
"""


@attrs.frozen
class _ProbeResult:
    status: int | None
    error: AutodocsError | None
    at: float


@attrs.define
class _ProbeCache:
    flight: SingleFlight[_ProbeResult] = attrs.field(factory=SingleFlight)
    result: _ProbeResult | None = None


# One cache per HTTP client (one per service), dropped with it.
_PROBES: weakref.WeakKeyDictionary[HttpClient, _ProbeCache] = weakref.WeakKeyDictionary()


async def _probe_index(http: HttpClient, url: str, clock: Clock) -> _ProbeResult:
    """Return a probe result at most PROBE_TTL seconds old; concurrent callers share one."""
    cache = _PROBES.get(http)
    if cache is None:
        cache = _PROBES[http] = _ProbeCache()
    found = cache.result
    if found is not None and clock.now() - found.at < PROBE_TTL:
        return found

    async def probe() -> _ProbeResult:
        try:
            status = await http.probe(url)
        except AutodocsError as exc:
            result = _ProbeResult(None, exc, clock.now())
        else:
            result = _ProbeResult(status, None, clock.now())
        cache.result = result
        return result

    return await cache.flight.do(url, probe)


@attrs.frozen
class Check:
    """One health check.

    Attributes:
        name: What was checked.
        status: ``healthy``, ``degraded`` or ``unhealthy``.
        detail: What was found, for a person.
        data: Measurements.
    """

    name: str
    status: Status
    detail: str
    data: dict[str, Any] = attrs.field(factory=dict, hash=False)


@attrs.frozen
class HealthReport:
    """The overall status and every check.

    Attributes:
        status: The worst status among the checks.
        checks: Each check.
        timestamp: When (UTC, ISO 8601).
    """

    status: Status
    checks: tuple[Check, ...]
    timestamp: str

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-compatible data."""
        return {
            "status": self.status,
            "timestamp": self.timestamp,
            "checks": {
                c.name: {"status": c.status, "detail": c.detail, **c.data} for c in self.checks
            },
        }


@attrs.frozen
class Readiness:
    """Whether the service can take calls.

    Attributes:
        ready: True when every condition holds.
        reasons: What is not ready.
    """

    ready: bool
    reasons: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Return the readiness as JSON-compatible data."""
        return {"ready": self.ready, "reasons": list(self.reasons)}


def _rss_bytes() -> int | None:
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        pass
    try:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024
    except (ImportError, OSError):  # pragma: no cover - non-POSIX
        return None


async def _cache_check(store: CacheStore | None) -> Check:
    if store is None:
        return Check("cache", "healthy", "memory only (by configuration)", {"memory_only": True})
    key = "v1/health/probe"
    payload = os.urandom(16).hex().encode()
    wrote = await store.put(key, payload)
    readable = wrote and await store.get(key) == payload
    await store.delete(key)
    stats = await store.stats()
    if readable:
        return Check(
            "cache",
            "healthy",
            "disk cache read/write probe passed",
            {"entries": stats.entries, "bytes": stats.bytes},
        )
    return Check(
        "cache",
        "degraded",
        f"disk cache unusable, serving from memory: {stats.degraded or 'probe failed'}",
        {"entries": stats.entries},
    )


async def _index_check(
    settings: Settings, index: IndexClient, http: HttpClient, clock: Clock
) -> Check:
    url = settings.index_config().url
    if settings.offline:
        return Check(
            "index", "healthy", "offline mode: the index is not contacted", {"offline": True}
        )
    breaker = index.breaker_for(url)
    stats = breaker.statistics()
    data: dict[str, Any] = {
        "url": url,
        "breaker": stats.state.value,
        "times_opened": stats.times_opened,
    }
    if stats.state.value == "open":
        return Check(
            "index",
            "degraded",
            "circuit breaker open: the index failed repeatedly; cached docs are served",
            data,
        )
    probe = await _probe_index(http, f"{url}/simple/", clock)
    data["probe_age_seconds"] = round(max(0.0, clock.now() - probe.at), 3)
    if probe.error is not None:
        exc = probe.error
        return Check(
            "index",
            "degraded",
            f"index unreachable: {exc.message}",
            {**data, "error_type": exc.error_type},
        )
    status = probe.status or 0
    data["status_code"] = status
    if status >= 500:
        return Check("index", "degraded", f"index answered HTTP {status}", data)
    return Check("index", "healthy", f"index reachable (HTTP {status})", data)


def _parser_check() -> Check:
    try:
        from ..deps._parsers import parse_requirement
        from ..docs import PackageDocs, render_docs
        from ..pypi import Release, resolve_version

        dep = parse_requirement(
            "httpx[http2]>=0.27; python_version >= '3.8'", source="self", line=1, group="runtime"
        )
        docs = PackageDocs(
            "x",
            "1.0",
            dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            description="# Install\npip install x",
        )
        problems = [
            getattr(dep, "name", None) != "httpx" and "requirement parsing",
            resolve_version("x", [Release("1.0"), Release("2.0b1")], ">=1").version != "1.0"
            and "version resolution",
            render_docs(docs, max_tokens=300).tokens > 300 and "rendering",
        ]
        failed = [p for p in problems if p]
        if failed:
            return Check("parser", "unhealthy", f"self-test failed: {', '.join(failed)}")
    except Exception as exc:  # a broken parser is exactly what this check is for
        return Check("parser", "unhealthy", f"self-test failed: {type(exc).__name__}")
    return Check("parser", "healthy", "requirement parsing, resolution and rendering work")


def _memory_check() -> Check:
    rss = _rss_bytes()
    if rss is None:
        return Check("memory", "healthy", "RSS not measurable on this platform")
    status: Status = "degraded" if rss > MEMORY_DEGRADED_BYTES else "healthy"
    return Check("memory", status, f"RSS {rss / 2**20:.0f} MiB", {"rss_bytes": rss})


def _disk_check(settings: Settings) -> Check:
    path = Path(settings.cache_path())
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        free = shutil.disk_usage(path).free
    except OSError as exc:
        return Check("disk", "degraded", f"cannot measure free space: {exc.strerror}")
    status: Status = "degraded" if free < DISK_DEGRADED_BYTES else "healthy"
    return Check("disk", status, f"{free / 2**30:.1f} GiB free for the cache", {"free_bytes": free})


def _shared_check(fleet: FleetStatistics, coalescer: CoalescerStatistics | None) -> Check:
    data = shared_layer(fleet, coalescer)
    if fleet.backend == "local":
        return Check("shared", "healthy", "no shared layer: this process decides alone", data)
    if not fleet.available:
        return Check(
            "shared",
            "degraded",
            f"shared layer ({fleet.backend}) unavailable: calls are answered locally "
            "(extra upstream requests, no failed calls)",
            data,
        )
    return Check("shared", "healthy", f"shared layer ({fleet.backend}) answering", data)


def _error_check(metrics: ServiceMetrics) -> Check:
    rate, calls = metrics.recent_error_rate()
    status: Status = "healthy"
    if calls >= 5 and rate >= ERROR_RATE_UNHEALTHY:
        status = "unhealthy"
    elif calls >= 5 and rate >= ERROR_RATE_DEGRADED:
        status = "degraded"
    return Check(
        "errors",
        status,
        f"{rate:.0%} of {calls} calls in the last {metrics.window:.0f} s failed",
        {"error_rate": round(rate, 4), "calls": calls},
    )


async def check_health(
    *,
    settings: Settings,
    cache: DocsCache,
    http: HttpClient,
    index: IndexClient,
    metrics: ServiceMetrics,
    clock: Clock = SYSTEM_CLOCK,
    fleet: FleetStatistics | None = None,
    coalescer: CoalescerStatistics | None = None,
) -> HealthReport:
    """Run every health check and combine them (worst status wins).

    Args:
        settings: The configuration (index URL, offline mode, cache directory).
        cache: The cache, whose persistent level is probed with a write and a read.
        http: The HTTP client that sends the index probe (one probe per client per
            :data:`PROBE_TTL`).
        index: The index client, whose breaker state answers while it is open.
        metrics: The recent error rate comes from here.
        clock: Time source for the probe's age.
        fleet: The shared layer's statistics (``SharedState.statistics()``): adds the
            ``shared`` check (backend, ``state`` ok/degraded, fallbacks); ``None``: no check.
        coalescer: Cross-replica single flight counters (coalesced waits, lease takeovers),
            reported in the ``shared`` check.

    .. versionchanged:: 0.2.0
       Takes the pieces it reads instead of the service; ``fleet`` and ``coalescer``.
    """
    checks: tuple[Check, ...] = (
        await _cache_check(cache.store),
        await _index_check(settings, index, http, clock),
        _parser_check(),
        _memory_check(),
        _disk_check(settings),
        _error_check(metrics),
    )
    if fleet is not None:
        checks = (*checks, _shared_check(fleet, coalescer))
    worst = max(checks, key=lambda c: _ORDER[c.status]).status
    return HealthReport(worst, checks, dt.datetime.now(dt.UTC).isoformat())


async def check_readiness(
    *, settings: Settings, cache: DocsCache, shutting_down: bool = False
) -> Readiness:
    """Configuration valid, cache usable (or deliberately memory-only), not shutting down.

    Args:
        settings: The configuration, checked again.
        cache: The cache, whose persistent level must be usable.
        shutting_down: Whether the service is draining.

    .. versionchanged:: 0.2.0
       Takes the pieces it reads instead of the service.
    """
    reasons = []
    if shutting_down:
        reasons.append("shutting down")
    try:
        settings.index_config()
    except AutodocsError as exc:
        reasons.append(f"configuration invalid: {exc.message}")
    store = cache.store
    if store is not None:
        stats = await store.stats()
        if stats.degraded:
            reasons.append(f"cache unusable: {stats.degraded}")
    return Readiness(not reasons, tuple(reasons))
