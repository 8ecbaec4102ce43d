"""Fake time, seeded randomness and no-delay policies."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from contextlib import contextmanager

import anyio
import anyio.lowlevel

from ..resilience import DEFAULT_POLICY, RetryPolicy

__all__ = ["FakeClock", "no_delay_policy", "seeded_rng"]


class FakeClock:
    """A :class:`~autodocs_core.resilience.Clock` whose time moves only when asked.

    ``sleep`` jumps time forward at once (recording the duration in :attr:`sleeps`) and is still
    a checkpoint, so cancellation works. ``timeout_scope`` scopes are cancelled when fake time
    reaches their deadline, so an operation that "hangs" with ``await clock.sleep(math.inf)``
    inside a timeout ends exactly at the timeout, like trio's autojumping ``MockClock``.

    Args:
        start: Initial monotonic time.
        wall_start: Wall-clock time (epoch seconds) that corresponds to *start*.

    Attributes:
        sleeps: Every duration passed to :meth:`sleep`, in order.

    .. versionadded:: 0.1.0
    """

    def __init__(self, start: float = 0.0, *, wall_start: float = 1_700_000_000.0) -> None:
        self._now = start
        self._wall_offset = wall_start - start
        self.sleeps: list[float] = []
        self._scopes: list[tuple[float, anyio.CancelScope]] = []

    def now(self) -> float:
        """Return the fake monotonic time."""
        return self._now

    def wall(self) -> float:
        """Return the fake wall-clock time."""
        return self._now + self._wall_offset

    def advance(self, seconds: float) -> None:
        """Move time forward by *seconds*, cancelling scopes whose deadline passes."""
        if seconds < 0:
            raise ValueError("time cannot go backwards")
        self._move_to(self._now + seconds)

    def _move_to(self, target: float) -> None:
        self._now = max(self._now, target)
        for deadline, scope in list(self._scopes):
            if deadline <= self._now:
                scope.cancel()

    def _next_deadline(self) -> float:
        live = [d for d, s in self._scopes if not s.cancel_called]
        return min(live, default=math.inf)

    async def sleep(self, seconds: float) -> None:
        """Advance fake time by *seconds* (at once) and checkpoint.

        When a timeout scope's deadline falls inside the sleep, time stops there and the scope
        is cancelled; if the scope encloses the sleeper, the sleep ends with cancellation.
        """
        seconds = max(0.0, seconds)
        self.sleeps.append(seconds)
        target = self._now + seconds
        while True:
            stop = min(target, self._next_deadline())
            if math.isinf(stop):
                raise RuntimeError("FakeClock.sleep(inf) outside any timeout would never end")
            self._move_to(stop)
            await anyio.lowlevel.checkpoint()
            if self._now >= target:
                return

    @contextmanager
    def timeout_scope(self, seconds: float) -> Iterator[anyio.CancelScope]:
        """Return a cancel scope that fake time cancels *seconds* from now."""
        scope = anyio.CancelScope()
        entry = (self._now + max(0.0, seconds), scope)
        if seconds <= 0:
            scope.cancel()
        self._scopes.append(entry)
        try:
            with scope:
                yield scope
        finally:
            self._scopes.remove(entry)

    async def hang(self) -> None:
        """Wait forever in fake time (until an enclosing timeout scope cancels it)."""
        await self.sleep(math.inf)


def seeded_rng(seed: int = 0) -> random.Random:
    """Return a :class:`random.Random` seeded with *seed*, for reproducible jitter."""
    return random.Random(seed)


def no_delay_policy(policy: RetryPolicy = DEFAULT_POLICY) -> RetryPolicy:
    """Return *policy* with the same attempts and zero delays: retries without waiting."""
    return policy.without_delays()
