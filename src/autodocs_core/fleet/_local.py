"""In-process shared state: the default, and the fallback of the Redis implementation."""

from __future__ import annotations

import secrets
from collections import OrderedDict

from ..errors import BreakerOutcome
from ..resilience import SYSTEM_CLOCK, Clock
from ._types import Admission, FleetConfig, FleetStatistics, Lease, check_ttl

__all__ = ["LocalState"]


_GCRA_TOLERANCE = 1e-6  # seconds; the Redis script uses the same (0.001 ms)


def new_token() -> str:
    """Return a token unique across processes (leases and probes compare it)."""
    return secrets.token_hex(12)


class _Upstream:
    """Admission state of one upstream: GCRA cell, shared breaker decision, retry budget."""

    __slots__ = ("open_until", "probe_expires", "probe_token", "tat", "tokens", "tokens_at")

    def __init__(self, tokens: float, now: float) -> None:
        self.tat = 0.0  # GCRA theoretical arrival time
        self.open_until: float | None = None
        self.probe_token = ""
        self.probe_expires = 0.0
        self.tokens = tokens
        self.tokens_at = now


class LocalState:
    """:class:`SharedState` for one process: the same semantics, held in memory, bounded.

    Values live in an LRU map bounded by entry count and bytes; leases and per-upstream
    admission state are bounded too (the oldest are dropped first). All decisions use the
    injected clock, so tests drive time with :class:`~autodocs_core.testing.FakeClock`.

    Args:
        config: Rate limit, breaker recovery and retry budget settings.
        clock: Time source.
        max_entries: Values kept at most.
        max_bytes: Total size of the values kept at most.
        max_leases: Leases held at most (beyond this, the one expiring first is dropped).
        max_upstreams: Upstreams tracked at most.

    .. versionadded:: 0.2.0
    """

    def __init__(
        self,
        config: FleetConfig | None = None,
        *,
        clock: Clock = SYSTEM_CLOCK,
        max_entries: int = 1024,
        max_bytes: int = 64 * 1024 * 1024,
        max_leases: int = 10_000,
        max_upstreams: int = 256,
    ) -> None:
        self.config = config or FleetConfig()
        self._clock = clock
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._max_leases = max_leases
        self._max_upstreams = max_upstreams
        self._values: OrderedDict[str, tuple[bytes, float]] = OrderedDict()
        self._bytes = 0
        self._leases: dict[str, tuple[str, float]] = {}
        self._upstreams: OrderedDict[str, _Upstream] = OrderedDict()
        self._operations = 0
        self._refused: dict[str, int] = {}

    # -- values ---------------------------------------------------------------------------

    def get_now(self, key: str, now: float) -> bytes | None:
        """Synchronous :meth:`get` at time *now*."""
        self._operations += 1
        entry = self._values.get(key)
        if entry is None:
            return None
        value, expires = entry
        if expires <= now:
            self._drop(key)
            return None
        self._values.move_to_end(key)
        return value

    def put_now(self, key: str, value: bytes, ttl: float, now: float) -> bool:
        """Synchronous :meth:`put` at time *now*."""
        check_ttl(ttl)
        self._operations += 1
        size = len(value)
        if size > self.config.max_value_bytes or size > self._max_bytes:
            self._refused["too_large"] = self._refused.get("too_large", 0) + 1
            return False
        if ttl == 0:
            self._drop(key)
            return True
        self._drop(key)
        self._values[key] = (bytes(value), now + ttl)
        self._bytes += size
        while len(self._values) > self._max_entries or self._bytes > self._max_bytes:
            self._drop(next(iter(self._values)))
        return True

    def _drop(self, key: str) -> None:
        entry = self._values.pop(key, None)
        if entry is not None:
            self._bytes -= len(entry[0])

    async def get(self, key: str) -> bytes | None:
        """Return the value stored under *key*, or ``None``."""
        return self.get_now(key, self._clock.now())

    async def put(self, key: str, value: bytes, ttl: float) -> bool:
        """Store *value* for *ttl* seconds; ``False`` when larger than ``max_value_bytes``."""
        return self.put_now(key, value, ttl, self._clock.now())

    # -- leases ---------------------------------------------------------------------------

    def acquire_lease_now(self, key: str, ttl: float, now: float) -> Lease | None:
        """Synchronous :meth:`acquire_lease` at time *now*."""
        check_ttl(ttl, lease=True)
        self._operations += 1
        held = self._leases.get(key)
        if held is not None and held[1] > now:
            return None
        if held is None and len(self._leases) >= self._max_leases:
            for k in [k for k, (_, exp) in self._leases.items() if exp <= now]:
                del self._leases[k]
            if len(self._leases) >= self._max_leases:
                del self._leases[min(self._leases, key=lambda k: self._leases[k][1])]
        token = new_token()
        self._leases[key] = (token, now + ttl)
        return Lease(key, token, ttl, shared=False)

    def extend_now(self, lease: Lease, ttl: float, now: float) -> bool:
        """Synchronous :meth:`extend` at time *now*."""
        check_ttl(ttl, lease=True)
        self._operations += 1
        held = self._leases.get(lease.key)
        if held is None or held[0] != lease.token:
            return False
        if held[1] <= now:
            del self._leases[lease.key]
            return False
        self._leases[lease.key] = (lease.token, now + ttl)
        return True

    def release_now(self, lease: Lease, now: float) -> bool:
        """Synchronous :meth:`release` at time *now* (compare-and-delete)."""
        self._operations += 1
        held = self._leases.get(lease.key)
        if held is None or held[0] != lease.token:
            return False
        del self._leases[lease.key]
        return held[1] > now

    def lease_holder(self, key: str, now: float) -> str | None:
        """Return the token holding the lease on *key* at *now* (for tests and inspection)."""
        held = self._leases.get(key)
        return held[0] if held is not None and held[1] > now else None

    async def acquire_lease(self, key: str, ttl: float) -> Lease | None:
        """Take the lease on *key* for *ttl* seconds, or ``None`` while someone holds it."""
        return self.acquire_lease_now(key, ttl, self._clock.now())

    async def extend(self, lease: Lease, ttl: float) -> bool:
        """Extend *lease* to *ttl* seconds from now; ``False`` when it is no longer held."""
        return self.extend_now(lease, ttl, self._clock.now())

    async def release(self, lease: Lease) -> bool:
        """Give *lease* back if it still holds it."""
        return self.release_now(lease, self._clock.now())

    # -- admission ------------------------------------------------------------------------

    def _upstream(self, upstream: str, now: float) -> _Upstream:
        state = self._upstreams.get(upstream)
        if state is None:
            state = self._upstreams[upstream] = _Upstream(self.config.retry_cap, now)
            while len(self._upstreams) > self._max_upstreams:
                self._upstreams.popitem(last=False)
        else:
            self._upstreams.move_to_end(upstream)
        return state

    def admit_now(self, upstream: str, *, retry: bool, now: float) -> Admission:
        """Synchronous :meth:`admit` at time *now* (the same rules as the Redis script)."""
        self._operations += 1
        cfg = self.config
        u = self._upstream(upstream, now)
        probe = False
        if u.open_until is not None:
            if now < u.open_until:
                return Admission(False, "breaker_open", retry_after=u.open_until - now)
            if u.probe_expires > now:
                return Admission(False, "breaker_open", retry_after=u.probe_expires - now)
            probe = True
        new_tat = u.tat
        if cfg.rate is not None:
            interval = 1.0 / cfg.rate
            new_tat = max(u.tat, now) + interval
            excess = new_tat - now - cfg.burst * interval
            # Above rounding noise: with burst 1 and an idle cell, excess is 0 plus
            # floating-point noise (4.4e-16 at t=4.9 s), which refused every attempt.
            if excess > _GCRA_TOLERANCE:
                return Admission(False, "rate_limited", retry_after=excess)
        tokens = min(cfg.retry_cap, u.tokens + cfg.retry_per_second * max(0.0, now - u.tokens_at))
        if retry:
            if tokens < 1.0:
                wait = (
                    (1.0 - tokens) / cfg.retry_per_second
                    if cfg.retry_per_second > 0
                    else cfg.recovery_time
                )
                return Admission(False, "retry_budget", retry_after=wait)
            tokens -= 1.0
        else:
            tokens = min(cfg.retry_cap, tokens + cfg.retry_ratio)
        u.tat, u.tokens, u.tokens_at = new_tat, tokens, now
        if not probe:
            return Admission(True, "admitted")
        u.probe_token = token = new_token()
        u.probe_expires = now + cfg.recovery_time
        return Admission(True, "admitted", probe=True, token=token)

    def report_now(
        self,
        upstream: str,
        outcome: BreakerOutcome,
        *,
        admission: Admission | None,
        open_for: float | None,
        now: float,
    ) -> None:
        """Synchronous :meth:`report` at time *now*."""
        u = self._upstreams.get(upstream)
        if admission is not None and admission.probe:
            if u is None or admission.token != u.probe_token:
                return  # the probe's period ended; a later probe decides
            self._operations += 1
            u.probe_token, u.probe_expires = "", 0.0
            if outcome == "success":
                u.open_until = None
            elif outcome == "failure":
                u.open_until = now + (open_for or self.config.recovery_time)
            return
        if open_for is not None and open_for > 0:
            self._operations += 1
            u = self._upstream(upstream, now)
            u.open_until = max(u.open_until or now, now + open_for)

    async def admit(
        self, upstream: str, *, retry: bool = False, now: float | None = None
    ) -> Admission:
        """Decide whether one attempt toward *upstream* may go out now."""
        return self.admit_now(upstream, retry=retry, now=self._clock.now() if now is None else now)

    async def report(
        self,
        upstream: str,
        outcome: BreakerOutcome,
        *,
        admission: Admission | None = None,
        open_for: float | None = None,
    ) -> None:
        """Record what an admitted attempt learned (see :class:`SharedState`)."""
        self.report_now(
            upstream, outcome, admission=admission, open_for=open_for, now=self._clock.now()
        )

    # -- the rest -------------------------------------------------------------------------

    def statistics(self) -> FleetStatistics:
        """Return a snapshot of the counters (``fallbacks`` counts refused values here)."""
        return FleetStatistics(
            backend="local",
            available=True,
            operations=self._operations,
            fallbacks=dict(self._refused),
        )

    async def aclose(self) -> None:
        """Nothing to release."""

    def __repr__(self) -> str:
        return f"LocalState(values={len(self._values)}, leases={len(self._leases)})"
