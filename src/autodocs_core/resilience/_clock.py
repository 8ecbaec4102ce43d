"""Time as a dependency: the :class:`Clock` protocol and the real :class:`SystemClock`.

Everything in the resilience layer that reads the time, sleeps or bounds an await with a timeout
does so through a ``Clock``, so that tests can pass :class:`autodocs_core.testing.FakeClock` and
never wait for a real backoff delay.
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager
from typing import Protocol, runtime_checkable

import anyio

__all__ = ["SYSTEM_CLOCK", "Clock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """Source of time, sleeping and timeouts for the resilience primitives.

    ``now()`` is monotonic seconds (only differences mean anything); ``wall()`` is seconds since
    the Unix epoch (needed to read ``Retry-After: <HTTP-date>``).

    .. versionadded:: 0.1.0
    """

    def now(self) -> float:
        """Return monotonic time in seconds."""
        ...

    def wall(self) -> float:
        """Return wall-clock time in seconds since the epoch."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Sleep for *seconds* (a checkpoint: cancellation is delivered here)."""
        ...

    def timeout_scope(self, seconds: float) -> AbstractContextManager[anyio.CancelScope]:
        """Return a cancel scope that cancels its body after *seconds* on this clock.

        After the ``with`` block, ``scope.cancelled_caught`` tells whether the time ran out.
        """
        ...


class SystemClock:
    """The real clock: :func:`time.monotonic`, :func:`time.time` and :func:`anyio.sleep`.

    .. versionadded:: 0.1.0
    """

    __slots__ = ()

    def now(self) -> float:
        """Return :func:`time.monotonic`."""
        return time.monotonic()

    def wall(self) -> float:
        """Return :func:`time.time`."""
        return time.time()

    async def sleep(self, seconds: float) -> None:
        """Sleep with :func:`anyio.sleep` (negative means zero)."""
        await anyio.sleep(max(0.0, seconds))

    def timeout_scope(self, seconds: float) -> anyio.CancelScope:
        """Return an :class:`anyio.CancelScope` whose deadline is *seconds* from now."""
        # anyio measures deadlines on the event loop's clock (trio's has an offset), so convert
        # a duration rather than comparing our monotonic reading with it.
        return anyio.CancelScope(deadline=anyio.current_time() + max(0.0, seconds))

    def __repr__(self) -> str:
        return "SystemClock()"


SYSTEM_CLOCK = SystemClock()
"""The shared default :class:`SystemClock` (it has no state)."""
