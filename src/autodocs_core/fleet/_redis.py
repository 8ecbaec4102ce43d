"""Shared state on a Redis-protocol server (Redis ≥ 7, Valkey ≥ 7.2), behind one guard.

Every operation goes through :meth:`RedisState._guarded`: a short budget, a local breaker around
Redis itself, and a fallback to :class:`LocalState` for that one call when anything goes wrong.
The client is built with zero retries, a blocking pool and every timeout set, because redis-py's
defaults wait ~60 s on a hung server and ~4.4 s on a dead one (docs/scale-out.md).

This module imports redis-py; nothing imports it unless a Redis URL is configured.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio
import redis.asyncio as aioredis
from redis import exceptions as rx
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from ..errors import BreakerOutcome, CircuitOpenError
from ..resilience import SYSTEM_CLOCK, CircuitBreaker, CircuitState, Clock
from ._local import LocalState, new_token
from ._scripts import ADMIT, EXTEND, RELEASE, REPORT
from ._types import (
    Admission,
    AdmissionReason,
    FleetConfig,
    FleetStatistics,
    Lease,
    check_ttl,
    index_namespace,
    key_part,
)

__all__ = ["RedisState", "redis_client"]

T = TypeVar("T")

_CODES: dict[int, AdmissionReason] = {
    0: "admitted",
    1: "breaker_open",
    2: "rate_limited",
    3: "retry_budget",
}


class _Unavailable:
    """The shared layer did not answer (and why); the caller continues locally."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


class _Rejected(Exception):
    """The server answered, but the answer cannot be used (wrong shape, too large)."""


def redis_client(url: str, config: FleetConfig | None = None) -> aioredis.Redis:
    """Build a redis-py asyncio client that never waits longer than the guard's budget.

    A blocking pool of ``config.pool_size`` connections (waiting at most the budget for one),
    connect and read timeouts equal to the budget, no retries, no health-check pings.

    Args:
        url: ``redis://`` or ``rediss://`` URL, with an optional ACL user and password.
        config: Budget and pool size.

    .. versionadded:: 0.2.0
    """
    cfg = config or FleetConfig()
    no_retry = Retry(NoBackoff(), 0)
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=cfg.pool_size,
        timeout=cfg.timeout,
        socket_timeout=cfg.timeout,
        socket_connect_timeout=cfg.timeout,
        retry=no_retry,
        health_check_interval=0,
    )
    # from_pool: closing the client closes the pool (and so every connection) too.
    return aioredis.Redis.from_pool(pool)


def _classify(exc: BaseException) -> tuple[str, bool]:
    """Return ``(reason, counts_against_redis)`` for an error from one operation."""
    if isinstance(exc, rx.AuthenticationError | rx.AuthorizationError | rx.NoPermissionError):
        return "auth", True
    if isinstance(exc, rx.OutOfMemoryError | rx.ReadOnlyError):
        return "rejected", False  # the server answers; it just refuses writes
    if isinstance(exc, rx.TimeoutError | TimeoutError):
        return "timeout", True
    if isinstance(exc, rx.ConnectionError | OSError):
        return "connection", True
    if isinstance(exc, rx.ResponseError):
        message = str(exc)
        if message.startswith(("NOAUTH", "WRONGPASS")):
            return "auth", True
        if message.startswith("OOM"):
            return "rejected", False
        return "error", True
    if isinstance(exc, _Rejected | ValueError | TypeError | IndexError | UnicodeError):
        return "decode", False
    return "error", True


def _on_asyncio() -> bool:
    """Whether the running loop is asyncio: redis-py's asyncio client runs on nothing else."""
    # Asking anyio for its cancellation class tells the backend without importing asyncio,
    # trio or sniffio (the core stays backend-neutral).
    return anyio.get_cancelled_exc_class().__module__.startswith("asyncio")


def _ms(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000))


class RedisState:
    """:class:`SharedState` on Redis, with :class:`LocalState` as the per-call fallback.

    Keys are ``autodocs:v1:<index-hash>:<kind>:<key>`` (see :func:`index_namespace`). Values
    larger than ``config.max_value_bytes`` are refused on both put and get.

    Every operation runs under one guard: ``config.timeout`` seconds at most (on *clock*), and
    a :class:`~autodocs_core.resilience.CircuitBreaker` around Redis (``config.guard``). An
    error, a timeout, an authentication or decode failure, or an open guard makes that call
    answer from the local fallback, counted by reason in :meth:`statistics`; nothing raises.

    redis-py's asyncio client runs on asyncio only: on another anyio backend every call
    answers locally (counted as ``backend``).

    Args:
        client: A redis-py asyncio client (see :func:`redis_client`), or a compatible fake.
        index_url: The package index this state belongs to (hashed into every key).
        config: Admission, budget and size settings.
        clock: Time source for the budget and the local fallback.
        local: The fallback (default: a new :class:`LocalState` with the same config).

    .. versionadded:: 0.2.0
    """

    def __init__(
        self,
        client: Any,
        *,
        index_url: str,
        config: FleetConfig | None = None,
        clock: Clock = SYSTEM_CLOCK,
        local: LocalState | None = None,
    ) -> None:
        self.config = cfg = config or FleetConfig()
        self._client = client
        self._clock = clock
        self._local = local if local is not None else LocalState(cfg, clock=clock)
        self._prefix = index_namespace(index_url)
        self._breaker = CircuitBreaker(
            "redis", cfg.guard, clock=clock, outcome=lambda _exc: "failure"
        )
        self._operations = 0
        self._fallbacks: dict[str, int] = {}
        self._admit = client.register_script(ADMIT)
        self._report = client.register_script(REPORT)
        self._release = client.register_script(RELEASE)
        self._extend = client.register_script(EXTEND)
        self._closed = False
        # One slot per pooled connection: waiting for a slot is saturation in this process, not
        # a Redis failure, so it is bounded separately and never counted against the guard.
        self._slots = anyio.CapacityLimiter(cfg.pool_size)

    @property
    def local(self) -> LocalState:
        """The local fallback."""
        return self._local

    def _key(self, kind: str, key: str) -> str:
        return f"{self._prefix}{kind}:{key_part(key)}"

    def _count(self, reason: str) -> None:
        self._fallbacks[reason] = self._fallbacks.get(reason, 0) + 1

    def _unavailable(self, reason: str) -> _Unavailable:
        self._count(reason)
        return _Unavailable(reason)

    async def _guarded(self, fn: Callable[[], Awaitable[T]]) -> T | _Unavailable:
        """Run one Redis operation under the budget and the guard breaker (the choke point)."""
        self._operations += 1
        if self._closed:
            return self._unavailable("closed")
        if not _on_asyncio():
            return self._unavailable("backend")
        if self._breaker.state is CircuitState.OPEN:  # fast path: no wait for a slot
            until = self._breaker.statistics().open_until
            if until is not None and self._clock.now() < until:
                return self._unavailable("breaker_open")
        with self._clock.timeout_scope(self.config.timeout) as waiting:
            await self._slots.acquire()
        if waiting.cancelled_caught:
            return self._unavailable("busy")
        try:
            return await self._in_slot(fn)
        finally:
            self._slots.release()

    async def _in_slot(self, fn: Callable[[], Awaitable[T]]) -> T | _Unavailable:
        try:
            permit = self._breaker.acquire()
        except CircuitOpenError:
            return self._unavailable("breaker_open")
        try:
            with self._clock.timeout_scope(self.config.timeout) as scope:
                result = await fn()
            if scope.cancelled_caught:
                raise TimeoutError("shared layer budget exhausted")
        except anyio.get_cancelled_exc_class():
            self._breaker.release_unused(permit)
            raise
        except Exception as exc:
            reason, counts = _classify(exc)
            if counts:
                self._breaker.release(permit, exc)
            else:
                self._breaker.release(permit)
            return self._unavailable(reason)
        self._breaker.release(permit)
        return result

    # -- values ---------------------------------------------------------------------------

    async def get(self, key: str) -> bytes | None:
        """Return the value under *key* (from Redis, else from the local fallback)."""
        name = self._key("v", key)
        limit = self.config.max_value_bytes

        async def op() -> bytes | None:
            value = await self._client.get(name)
            if value is None:
                return None
            if not isinstance(value, bytes) or len(value) > limit:
                raise _Rejected("value is not bytes or too large")
            return value

        result = await self._guarded(op)
        if isinstance(result, _Unavailable):
            return self._local.get_now(key, self._clock.now())
        return result

    async def put(self, key: str, value: bytes, ttl: float) -> bool:
        """Store *value* for *ttl* seconds; ``False`` when refused (too large, out of memory).

        When Redis does not answer, the value goes to the local fallback instead.
        """
        check_ttl(ttl)
        if len(value) > self.config.max_value_bytes:
            self._count("too_large")
            return False
        name = self._key("v", key)

        async def op() -> bool:
            return bool(await self._client.set(name, value, px=_ms(ttl)))

        result = await self._guarded(op)
        if isinstance(result, _Unavailable):
            if result.reason == "rejected":
                return False  # the server is up but full: do not shadow it locally
            return self._local.put_now(key, value, ttl, self._clock.now())
        return result

    # -- leases ---------------------------------------------------------------------------

    async def acquire_lease(self, key: str, ttl: float) -> Lease | None:
        """Take the lease (``SET NX PX``); a local lease when Redis does not answer."""
        check_ttl(ttl, lease=True)
        name = self._key("l", key)
        token = new_token()

        async def op() -> bool:
            return bool(await self._client.set(name, token, nx=True, px=_ms(ttl)))

        result = await self._guarded(op)
        if isinstance(result, _Unavailable):
            return self._local.acquire_lease_now(key, ttl, self._clock.now())
        return Lease(key, token, ttl, shared=True) if result else None

    async def extend(self, lease: Lease, ttl: float) -> bool:
        """Extend *lease* if its token still holds it (compare-and-extend)."""
        check_ttl(ttl, lease=True)
        if not lease.shared:
            return self._local.extend_now(lease, ttl, self._clock.now())
        name = self._key("l", lease.key)

        async def op() -> bool:
            return bool(await self._extend(keys=[name], args=[lease.token, _ms(ttl)]))

        result = await self._guarded(op)
        return False if isinstance(result, _Unavailable) else result

    async def release(self, lease: Lease) -> bool:
        """Release *lease* if its token still holds it (compare-and-delete)."""
        if not lease.shared:
            return self._local.release_now(lease, self._clock.now())
        name = self._key("l", lease.key)

        async def op() -> bool:
            return bool(await self._release(keys=[name], args=[lease.token]))

        result = await self._guarded(op)
        return False if isinstance(result, _Unavailable) else result

    # -- admission ------------------------------------------------------------------------

    def _upstream_keys(self, upstream: str) -> list[str]:
        part = key_part(upstream)
        p = self._prefix
        return [f"{p}r:{part}", f"{p}b:{part}:open", f"{p}b:{part}:probe", f"{p}rb:{part}"]

    async def admit(
        self, upstream: str, *, retry: bool = False, now: float | None = None
    ) -> Admission:
        """One admission script per attempt; the local rules when Redis does not answer.

        *now* only affects the local fallback: the shared decision uses the server's clock.
        """
        cfg = self.config
        keys = self._upstream_keys(upstream)
        token = new_token()
        args = [
            f"{1000.0 / cfg.rate:.3f}" if cfg.rate is not None else "0",
            cfg.burst,
            1 if retry else 0,
            f"{cfg.retry_ratio:.6f}",
            f"{cfg.retry_per_second / 1000.0:.9f}",
            f"{cfg.retry_cap:.3f}",
            _ms(cfg.recovery_time),
            token,
        ]

        async def op() -> Admission:
            code, wait_ms, probe = await self._admit(keys=keys, args=args)
            reason = _CODES[int(code)]
            wait = max(0.0, float(wait_ms) / 1000.0)
            if reason != "admitted":
                return Admission(False, reason, retry_after=wait, shared=True)
            probing = int(probe) == 1
            return Admission(
                True, "admitted", probe=probing, token=token if probing else "", shared=True
            )

        result = await self._guarded(op)
        if isinstance(result, _Unavailable):
            at = self._clock.now() if now is None else now
            return self._local.admit_now(upstream, retry=retry, now=at)
        return result

    async def report(
        self,
        upstream: str,
        outcome: BreakerOutcome,
        *,
        admission: Admission | None = None,
        open_for: float | None = None,
    ) -> None:
        """Publish an "open until" or a probe's outcome; costs no call otherwise.

        A probe admitted by the local fallback reports locally. Every "open until" is also
        kept locally, so that a later fallback admission knows the upstream is down.
        """
        now = self._clock.now()
        probe = admission is not None and admission.probe
        local_probe = probe and admission is not None and not admission.shared
        if local_probe or (open_for is not None and open_for > 0):
            self._local.report_now(
                upstream,
                outcome,
                admission=admission if local_probe else None,
                open_for=open_for,
                now=now,
            )
        cfg = self.config
        if probe and not local_probe:
            kind = {"success": "close", "failure": "reopen"}.get(outcome, "free")
            span = open_for or cfg.recovery_time
        elif open_for is not None and open_for > 0:
            kind, span = "open", open_for
        else:
            return
        token = admission.token if admission is not None and not local_probe else ""
        _, open_key, probe_key, _ = self._upstream_keys(upstream)
        args = [kind, _ms(span), token, _ms(4 * cfg.recovery_time)]

        async def op() -> None:
            await self._report(keys=[open_key, probe_key], args=args)

        await self._guarded(op)

    # -- the rest -------------------------------------------------------------------------

    async def warm_up(self, *, budget: float = 2.0) -> bool:
        """Open the pool's connections and load the scripts now, within *budget* seconds.

        Call it once at start-up. A cold process otherwise pays for connection handshakes and
        script loading inside the per-operation budget of its first burst of calls: measured
        with 4 processes on a loaded 2-core machine, 16 first operations at once took over
        0.25 s and went local. Failures are counted as ``warm_up`` (and as one failure for the
        guard) and never raised.

        Returns:
            Whether every connection answered and every script loaded in time.
        """
        if self._closed or not _on_asyncio():
            return False
        client = self._client
        try:
            with self._clock.timeout_scope(budget) as scope:
                async with anyio.create_task_group() as tg:
                    for _ in range(self.config.pool_size):
                        tg.start_soon(client.ping)
                for script in (self._admit, self._report, self._release, self._extend):
                    await client.script_load(script.script)
        except Exception as exc:
            return self._warm_up_failed(exc)
        if scope.cancelled_caught:
            return self._warm_up_failed(TimeoutError("warm-up budget exhausted"))
        return True

    def _warm_up_failed(self, exc: BaseException) -> bool:
        # It counts as one failed operation for the guard: if Redis is hung at start-up, the
        # first real operation then opens the guard, and a cold call pays one budget, not two.
        self._count("warm_up")
        with contextlib.suppress(CircuitOpenError):
            self._breaker.release(self._breaker.acquire(), exc)
        return False

    def statistics(self) -> FleetStatistics:
        """Return the counters: operations, fallbacks by reason and the guard's breaker."""
        guard = self._breaker.statistics()
        return FleetStatistics(
            backend="redis",
            available=not self._closed and guard.state is not CircuitState.OPEN,
            operations=self._operations,
            fallbacks=dict(self._fallbacks),
            guard=guard,
        )

    async def aclose(self) -> None:
        """Close the client's connections (idempotent; never raises)."""
        if self._closed:
            return
        self._closed = True
        if not _on_asyncio():
            return
        with anyio.move_on_after(self.config.timeout), contextlib.suppress(Exception):
            await self._client.aclose()

    def __repr__(self) -> str:
        return f"RedisState(prefix={self._prefix!r}, guard={self._breaker.state.value})"
