"""The shared-state seam: the :class:`SharedState` protocol and the values it passes around."""

from __future__ import annotations

import hashlib
import math
import re
import urllib.parse
from collections.abc import Mapping
from typing import Any, Literal, Protocol, runtime_checkable

import attrs

from ..errors import BreakerOutcome
from ..resilience import BreakerConfig, BreakerStatistics

__all__ = [
    "DEFAULT_MAX_VALUE_BYTES",
    "DEFAULT_TIMEOUT",
    "KEY_SCHEMA",
    "Admission",
    "AdmissionReason",
    "FleetConfig",
    "FleetStatistics",
    "Lease",
    "SharedState",
    "index_namespace",
]

DEFAULT_TIMEOUT = 0.25
"""Seconds one Redis operation may take before the call continues locally."""

DEFAULT_MAX_VALUE_BYTES = 2 * 1024 * 1024
"""Largest value :meth:`SharedState.put` stores (bigger ones are refused, not truncated)."""

KEY_SCHEMA = "v1"
"""Schema version in every key: a new layout gets new keys instead of misreading old ones."""

AdmissionReason = Literal["admitted", "breaker_open", "rate_limited", "retry_budget"]
"""Why :meth:`SharedState.admit` answered as it did."""


def _finite_positive(_: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{attribute.name} must be a finite number > 0, got {value!r}")


def _finite_non_negative(_: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{attribute.name} must be a finite number >= 0, got {value!r}")


def _optional_rate(_: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is not None and not (math.isfinite(value) and 0 < value <= 1_000_000):
        raise ValueError(f"{attribute.name} must be in (0, 1e6] or None, got {value!r}")


def _guard_breaker() -> BreakerConfig:
    # Two failed Redis operations in a row make every call local for two seconds, then one
    # operation probes. A hung server then costs at most two budgets (0.5 s) to a call whose
    # steps run one after another (get, then lease), and about one budget to a busy process
    # whose concurrent operations time out together. Three (measured: 0.78 s added to a cold
    # call) was too slow; one opened the guard on a single slow operation under CPU load.
    # Going local early only costs extra upstream fetches: Redis is an accelerator.
    return BreakerConfig(consecutive_failures=2, failure_rate=None, recovery_time=2.0)


@attrs.frozen
class FleetConfig:
    """How the replicas share admission decisions, and how hard the Redis guard holds on.

    Args:
        rate: Upstream attempts per second allowed to each upstream, fleet-wide (GCRA);
            ``None`` for no limit.
        burst: Attempts allowed at once on top of ``rate`` (the GCRA tolerance, in requests).
        recovery_time: Seconds a published "open until" lasts, and the length of the period in
            which at most one half-open probe runs fleet-wide.
        retry_ratio: Retries each first attempt earns for the shared retry budget.
        retry_per_second: Retries the budget earns per second regardless of traffic.
        retry_cap: Most retries the budget holds (it starts full).
        timeout: Seconds one Redis operation may take (the guard's budget).
        pool_size: Connections to Redis per process (a blocking pool of this size); as many
            operations run at once, the others wait at most ``timeout`` for one (``busy``).
        max_value_bytes: Largest value stored; bigger ones are refused.
        guard: The local breaker around Redis itself (default: two failures in a row open
            it for 2 s).

    .. versionadded:: 0.2.0
    """

    rate: float | None = attrs.field(default=None, validator=_optional_rate)
    burst: int = attrs.field(default=10, validator=[attrs.validators.ge(1)])
    recovery_time: float = attrs.field(default=15.0, validator=_finite_positive)
    retry_ratio: float = attrs.field(default=0.2, validator=_finite_non_negative)
    retry_per_second: float = attrs.field(default=1.0, validator=_finite_non_negative)
    retry_cap: float = attrs.field(default=20.0, validator=_finite_positive)
    timeout: float = attrs.field(default=DEFAULT_TIMEOUT, validator=_finite_positive)
    pool_size: int = attrs.field(default=16, validator=[attrs.validators.ge(1)])
    max_value_bytes: int = attrs.field(
        default=DEFAULT_MAX_VALUE_BYTES, validator=[attrs.validators.ge(1)]
    )
    guard: BreakerConfig = attrs.field(factory=_guard_breaker)


@attrs.frozen
class Admission:
    """The answer to one :meth:`SharedState.admit` call.

    Attributes:
        allowed: Whether the attempt may go upstream now.
        reason: ``"admitted"``, or why not.
        retry_after: Seconds until asking again makes sense (0 when admitted).
        probe: This attempt is the fleet's one half-open probe: report its outcome.
        token: Identifies the probe when :meth:`SharedState.report` closes or re-opens.
        shared: The decision came from the shared layer (``False``: decided locally).

    .. versionadded:: 0.2.0
    """

    allowed: bool
    reason: AdmissionReason
    retry_after: float = 0.0
    probe: bool = False
    token: str = ""
    shared: bool = False


@attrs.frozen
class Lease:
    """A lease on a key: whoever holds it does the work for everyone.

    Attributes:
        key: The key leased.
        token: Proves ownership on :meth:`SharedState.extend` / :meth:`SharedState.release`.
        ttl: Seconds the lease lasts unless extended.
        shared: Held in the shared layer (``False``: only in this process).

    .. versionadded:: 0.2.0
    """

    key: str
    token: str
    ttl: float
    shared: bool = False


@attrs.frozen
class FleetStatistics:
    """A snapshot of a :class:`SharedState`.

    Attributes:
        backend: ``"local"`` or ``"redis"``.
        available: Whether the shared layer is answering (the guard's breaker is not open).
        operations: Shared-layer operations attempted.
        fallbacks: Operations answered locally instead, by reason (``timeout``,
            ``connection``, ``auth``, ``rejected``, ``decode``, ``breaker_open``, ``error``,
            ``too_large``).
        guard: The breaker around Redis (``None`` for the local state).

    .. versionadded:: 0.2.0
    """

    backend: str
    available: bool
    operations: int
    fallbacks: Mapping[str, int]
    guard: BreakerStatistics | None = None

    @property
    def fallback_total(self) -> int:
        """All fallbacks, whatever the reason."""
        return sum(self.fallbacks.values())


@runtime_checkable
class SharedState(Protocol):
    """State that several replicas share: values, leases and upstream admission.

    Every method answers; none raises because the shared layer failed. An implementation that
    cannot reach its store answers from process-local state instead and counts a fallback.

    .. versionadded:: 0.2.0
    """

    async def get(self, key: str) -> bytes | None:
        """Return the value stored under *key*, or ``None``."""
        ...

    async def put(self, key: str, value: bytes, ttl: float) -> bool:
        """Store *value* under *key* for *ttl* seconds; ``False`` when it was not stored."""
        ...

    async def acquire_lease(self, key: str, ttl: float) -> Lease | None:
        """Take the lease on *key* for *ttl* seconds, or ``None`` while someone else holds it."""
        ...

    async def extend(self, lease: Lease, ttl: float) -> bool:
        """Extend *lease* to *ttl* seconds from now; ``False`` when it is no longer held."""
        ...

    async def release(self, lease: Lease) -> bool:
        """Give *lease* back (only if still held by it); ``True`` when it was."""
        ...

    async def admit(
        self, upstream: str, *, retry: bool = False, now: float | None = None
    ) -> Admission:
        """Decide whether one attempt toward *upstream* may go out now.

        One call per upstream attempt: the fleet-wide rate limit, the shared breaker decision
        (an "open until", then exactly one half-open probe fleet-wide) and, for a *retry*, the
        shared retry budget. *now* overrides the local clock (local decisions only).
        """
        ...

    async def report(
        self,
        upstream: str,
        outcome: BreakerOutcome,
        *,
        admission: Admission | None = None,
        open_for: float | None = None,
    ) -> None:
        """Publish what an admitted attempt learned.

        Failure detection stays local: pass *open_for* (seconds) when the local breaker has just
        opened, and the fleet stops calling *upstream* for that long. The outcome of a probe
        (*admission* with ``probe=True``) closes the shared breaker or re-opens it.
        """
        ...

    def statistics(self) -> FleetStatistics:
        """Return a snapshot of the counters."""
        ...

    async def aclose(self) -> None:
        """Release connections (idempotent)."""
        ...


_SAFE_KEY = re.compile(r"[A-Za-z0-9_.:=+@/-]{1,200}")


def _index_identity(index_url: str) -> str:
    """*index_url* without credentials, query, fragment, trailing slash or API suffix."""
    try:
        parts = urllib.parse.urlsplit(index_url.strip())
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return index_url.strip().rstrip("/")
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    path = parts.path.rstrip("/")
    for suffix in ("/simple", "/pypi"):
        path = path.removesuffix(suffix)
    return urllib.parse.urlunsplit((parts.scheme.lower(), netloc, path, "", ""))


def index_namespace(index_url: str) -> str:
    """Return the key prefix for one index: ``autodocs:v1:<16 hex digits of its URL's hash>:``.

    Replicas configured with different indexes never read each other's entries, and the URL
    (which may carry credentials) never appears in a key. Credentials, a trailing slash and a
    ``/simple`` or ``/pypi`` suffix do not count (as in the local cache's keys): replicas that
    reach one index with different tokens share its entries.

    .. versionadded:: 0.2.0
    """
    digest = hashlib.sha256(_index_identity(index_url).encode("utf-8")).hexdigest()[:16]
    return f"autodocs:{KEY_SCHEMA}:{digest}:"


def check_ttl(ttl: float, *, lease: bool = False) -> None:
    """Raise :class:`ValueError` for a TTL that is NaN, infinite, negative (or 0 for a lease)."""
    if not math.isfinite(ttl) or ttl < 0 or (lease and ttl == 0):
        bound = "> 0" if lease else ">= 0"
        raise ValueError(f"ttl must be a finite number {bound}, got {ttl!r}")


def key_part(key: str) -> str:
    """Return *key* as it appears in a Redis key: as-is when short and plain, else hashed."""
    if _SAFE_KEY.fullmatch(key):
        return key
    return "#" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
