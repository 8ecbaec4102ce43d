"""Deadlines (a point in time that bounds a whole operation) and adaptive per-attempt timeouts."""

from __future__ import annotations

import math

import attrs

from ._clock import SYSTEM_CLOCK, Clock

__all__ = ["AdaptiveTimeout", "Deadline"]


@attrs.frozen
class Deadline:
    """A point in time on a :class:`Clock` by which an operation must be done.

    Pass one deadline down through nested calls so that all of them (attempts, sleeps, body
    reads) share one total budget.

    Attributes:
        at: The deadline, on *clock*'s monotonic time.
        total: The total duration it was created with, in seconds (for messages).
        clock: The clock it is measured on.

    .. versionadded:: 0.1.0
    """

    at: float
    total: float
    clock: Clock = attrs.field(default=SYSTEM_CLOCK, eq=False, repr=False)

    @classmethod
    def after(cls, seconds: float, clock: Clock = SYSTEM_CLOCK) -> Deadline:
        """Return the deadline *seconds* from now on *clock*."""
        if not (seconds >= 0 and math.isfinite(seconds)):
            raise ValueError(f"a deadline needs a finite number of seconds >= 0, got {seconds!r}")
        return cls(clock.now() + seconds, seconds, clock)

    def remaining(self) -> float:
        """Return the seconds left (negative once it has passed)."""
        return self.at - self.clock.now()

    @property
    def expired(self) -> bool:
        """Whether the deadline has passed."""
        return self.clock.now() >= self.at


class AdaptiveTimeout:
    """A per-attempt timeout that follows observed latency, as TCP's RTO does (RFC 6298).

    ``timeout = clamp(srtt + k × rttvar, minimum, maximum)``, where ``srtt`` and ``rttvar`` are
    exponentially weighted averages of the latency of successful attempts and of its deviation
    (gains 1/8 and 1/4). Before the first observation the timeout is ``initial``. O(1) memory.

    A hanging upstream is then detected after a few multiples of its normal latency instead of a
    fixed, pessimistic timeout, which is what keeps the tail short when many requests hang.

    Args:
        initial: Timeout before any latency has been observed, in seconds.
        minimum: Lower bound of the timeout.
        maximum: Upper bound of the timeout.
        k: Weight of the deviation (RFC 6298 uses 4).

    .. versionadded:: 0.1.0
    """

    __slots__ = ("_rttvar", "_srtt", "initial", "k", "maximum", "minimum")

    def __init__(
        self, *, initial: float = 2.0, minimum: float = 0.5, maximum: float = 10.0, k: float = 4.0
    ) -> None:
        if not (0 < minimum <= initial <= maximum and math.isfinite(maximum)):
            raise ValueError(
                f"need 0 < minimum <= initial <= maximum < inf, got {minimum}, {initial}, {maximum}"
            )
        self.initial = initial
        self.minimum = minimum
        self.maximum = maximum
        self.k = k
        self._srtt: float | None = None
        self._rttvar = 0.0

    def observe(self, latency: float) -> None:
        """Feed the latency of one successful attempt, in seconds."""
        if not (latency >= 0 and math.isfinite(latency)):
            return
        srtt = self._srtt
        if srtt is None:
            self._srtt = latency
            self._rttvar = latency / 2.0
        else:
            self._rttvar = 0.75 * self._rttvar + 0.25 * abs(srtt - latency)
            self._srtt = 0.875 * srtt + 0.125 * latency

    def current(self) -> float:
        """Return the timeout to use for the next attempt, in seconds."""
        srtt = self._srtt
        if srtt is None:
            return self.initial
        return min(self.maximum, max(self.minimum, srtt + self.k * self._rttvar))

    def __repr__(self) -> str:
        return f"AdaptiveTimeout(current={self.current():.3f})"
