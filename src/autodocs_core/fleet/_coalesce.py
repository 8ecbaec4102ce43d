"""Cross-replica single flight: one upstream fetch per key for the whole fleet.

Local single flight first (one task per process asks the shared layer), then a lease
(``SET NX PX``): the holder fetches, stores the value and releases; the others poll for the value
with a growing delay on the injected clock, take over when the lease expires without a value,
and fetch themselves when their wait runs out or the shared layer is unavailable (a local lease
is then always granted). Losing the shared layer costs extra upstream fetches, never a call.

The leader's fetch is *shielded*: if the caller that happens to lead is cancelled, the fetch
still finishes (bounded by ``fetch_timeout``) so that every replica waiting on the lease gets
the value; the cancellation is delivered to that caller right after. This keeps structured
concurrency (no task outlives the call that started it) at the cost of a cancelled leader
lingering for at most ``fetch_timeout`` seconds.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Awaitable, Callable

import anyio
import attrs

from ..errors import UpstreamTimeout
from ..resilience import SYSTEM_CLOCK, Clock, SingleFlight
from ._types import Lease, SharedState

__all__ = ["Coalescer", "CoalescerStatistics", "coalesce"]

DEFAULT_LEASE_TTL = 10.0
"""Seconds a lease lasts between extensions (a crashed leader blocks others this long)."""

DEFAULT_POLL = 0.01
"""First delay between a follower's checks for the value; it doubles up to ``DEFAULT_MAX_POLL``."""

DEFAULT_MAX_POLL = 0.2
"""Longest delay between a follower's checks."""


@attrs.frozen
class CoalescerStatistics:
    """Counters of a :class:`Coalescer`.

    Attributes:
        hits: Calls answered by a value already in the shared layer.
        led: Calls that fetched (held the lease, shared or local).
        local_leases: Of those, calls whose lease was local (the shared layer did not answer).
        waited: Calls answered by a value another replica fetched while they waited.
        takeovers: Calls that took the lease over after another holder's lease ended.
        gave_up: Calls that stopped waiting at their deadline and fetched themselves.
        shared_in_process: Calls answered by an identical call in the same process.

    .. versionadded:: 0.2.0
    """

    hits: int
    led: int
    local_leases: int
    waited: int
    takeovers: int
    gave_up: int
    shared_in_process: int


class Coalescer:
    """Single flight across replicas on top of a :class:`SharedState`.

    Args:
        state: Where values and leases are shared.
        clock: Time source for polling and the leader's timeout.

    .. versionadded:: 0.2.0
    """

    def __init__(self, state: SharedState, *, clock: Clock = SYSTEM_CLOCK) -> None:
        self.state = state
        self._clock = clock
        self._flight: SingleFlight[bytes] = SingleFlight()
        self._hits = self._led = self._local = self._waited = 0
        self._takeovers = self._gave_up = 0

    async def do(
        self,
        key: str,
        fetch: Callable[[], Awaitable[bytes]],
        *,
        ttl: float,
        deadline: float,
        lease_ttl: float = DEFAULT_LEASE_TTL,
        poll: float = DEFAULT_POLL,
        max_poll: float = DEFAULT_MAX_POLL,
        fetch_timeout: float | None = None,
        accept: Callable[[bytes], bool] | None = None,
    ) -> bytes:
        """Return the value of *key*: shared, fetched by another replica, or by ``fetch()``.

        Args:
            key: What is fetched (one upstream request's worth).
            fetch: Fetches the value from the upstream; its errors propagate to this caller.
            ttl: Seconds the fetched value stays in the shared layer.
            deadline: Seconds this caller waits for another replica before fetching itself.
            lease_ttl: Seconds a lease lasts; the leader extends it every third of that.
            poll: First delay between checks for the value (it doubles up to *max_poll*).
            max_poll: Longest delay between checks.
            fetch_timeout: Bound on the leader's shielded fetch (default: *deadline*).
            accept: Whether a value found in the shared layer will do (default: any). A value
                it refuses (too old, unreadable) counts as absent: the call leads or waits for
                a new one, and the fetched value replaces it.

        Raises:
            UpstreamTimeout: The leader's fetch did not finish within *fetch_timeout*.
        """
        if not (math.isfinite(deadline) and deadline >= 0):
            raise ValueError(f"deadline must be a finite number >= 0, got {deadline!r}")
        if not (math.isfinite(lease_ttl) and lease_ttl > 0):
            raise ValueError(f"lease_ttl must be a finite number > 0, got {lease_ttl!r}")
        poll = max(poll, 0.001)
        max_poll = max(max_poll, poll)
        bound = deadline if fetch_timeout is None else fetch_timeout

        async def remote() -> bytes:
            return await self._remote(
                key, fetch, ttl, deadline, lease_ttl, poll, max_poll, bound, accept
            )

        return await self._flight.do(key, remote)

    async def _remote(
        self,
        key: str,
        fetch: Callable[[], Awaitable[bytes]],
        ttl: float,
        deadline: float,
        lease_ttl: float,
        poll: float,
        max_poll: float,
        bound: float,
        accept: Callable[[bytes], bool] | None,
    ) -> bytes:
        state, clock = self.state, self._clock

        async def get() -> bytes | None:
            found = await state.get(key)
            if found is None or accept is None or accept(found):
                return found
            return None

        value = await get()
        if value is not None:
            self._hits += 1
            return value
        start = clock.now()
        delay = poll
        saw_holder = False
        while True:
            lease = await state.acquire_lease(key, lease_ttl)
            if lease is not None:
                if saw_holder or lease.shared:
                    # The previous holder may have stored the value just before letting go:
                    # after a takeover, and also between our first look and this lease (on a
                    # shared server, another replica's whole fetch fits between two round
                    # trips; a local state has no await between them).
                    value = await get()
                    if value is not None:
                        await state.release(lease)
                        if saw_holder:
                            self._waited += 1
                        else:
                            self._hits += 1
                        return value
                if saw_holder:
                    self._takeovers += 1
                return await self._lead(key, lease, fetch, ttl, lease_ttl, bound)
            saw_holder = True
            left = deadline - (clock.now() - start)
            if left <= 0:
                self._gave_up += 1
                return await self._lead(key, None, fetch, ttl, lease_ttl, bound)
            await clock.sleep(min(delay, left))
            delay = min(delay * 2, max_poll)
            value = await get()
            if value is not None:
                self._waited += 1
                return value

    async def _lead(
        self,
        key: str,
        lease: Lease | None,
        fetch: Callable[[], Awaitable[bytes]],
        ttl: float,
        lease_ttl: float,
        bound: float,
    ) -> bytes:
        self._led += 1
        if lease is not None and not lease.shared:
            self._local += 1
        state, clock = self.state, self._clock
        box: list[bytes] = []
        errors: list[Exception] = []

        async def keep(lease: Lease) -> None:
            while True:
                await clock.sleep(lease_ttl / 3)
                if not await state.extend(lease, lease_ttl):
                    return  # lost (expired or the shared layer is gone): fetch on regardless

        # Shielded: the fetch serves every replica waiting on this lease, not only this caller.
        with anyio.CancelScope(shield=True):
            try:
                with clock.timeout_scope(bound):
                    async with anyio.create_task_group() as tg:
                        if lease is not None:
                            tg.start_soon(keep, lease)
                        try:
                            box.append(await fetch())
                        except Exception as exc:  # re-raised below, unwrapped by the task group
                            errors.append(exc)
                        finally:
                            tg.cancel_scope.cancel()
                if errors:
                    raise errors[0]
                if not box:
                    raise UpstreamTimeout(
                        f"The fetch did not finish within {bound:g} s",
                        details={"timeout": bound},
                    )
                await state.put(key, box[0], ttl)
            finally:
                if lease is not None:
                    await state.release(lease)
        return box[0]

    def statistics(self) -> CoalescerStatistics:
        """Return a snapshot of the counters."""
        return CoalescerStatistics(
            hits=self._hits,
            led=self._led,
            local_leases=self._local,
            waited=self._waited,
            takeovers=self._takeovers,
            gave_up=self._gave_up,
            shared_in_process=self._flight.shared,
        )


_DEFAULT: weakref.WeakKeyDictionary[SharedState, Coalescer] = weakref.WeakKeyDictionary()


def coalescer_for(state: SharedState, *, clock: Clock = SYSTEM_CLOCK) -> Coalescer:
    """Return the :class:`Coalescer` that :func:`coalesce` uses for *state* (one per state).

    .. versionadded:: 0.2.0
    """
    found = _DEFAULT.get(state)
    if found is None:
        found = _DEFAULT[state] = Coalescer(state, clock=clock)
    return found


async def coalesce(
    state: SharedState,
    key: str,
    fetch: Callable[[], Awaitable[bytes]],
    *,
    ttl: float,
    deadline: float,
    lease_ttl: float = DEFAULT_LEASE_TTL,
    poll: float = DEFAULT_POLL,
    clock: Clock = SYSTEM_CLOCK,
) -> bytes:
    """Fetch *key* once for the whole fleet: see :meth:`Coalescer.do`.

    Uses one :class:`Coalescer` per *state* (so concurrent calls in this process share a fetch).

    .. versionadded:: 0.2.0
    """
    return await coalescer_for(state, clock=clock).do(
        key, fetch, ttl=ttl, deadline=deadline, lease_ttl=lease_ttl, poll=poll
    )
