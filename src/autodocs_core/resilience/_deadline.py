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
    """A per-attempt timeout that follows observed latency and backs off on timeouts (RFC 6298).

    ``timeout = min(maximum, max(minimum, srtt + k × rttvar) × 2**backoff)``, where ``srtt`` and
    ``rttvar`` are exponentially weighted averages of the latency of successful attempts and of
    its deviation (gains 1/8 and 1/4). Before the first observation the base is ``initial``.
    O(1) memory.

    A timeout is evidence that the estimate is too low, so :meth:`on_timeout` doubles the timeout
    (RFC 6298 §5.5), up to ``maximum``, the ceiling. Only a real answer brings it back down: the
    next :meth:`observe` recomputes it from the averages and clears the backoff (§5.7; Karn's
    rule holds because each attempt is a fresh request timed from its own start). An upstream
    whose latency is ``L <= maximum / 2`` is therefore answered after at most
    ``ceil(log2(maximum / minimum)) + 1`` consecutive timeouts, whatever was observed before:
    no history can lock it out.

    A hanging upstream is still detected after a few multiples of its normal latency instead of a
    fixed, pessimistic timeout, which is what keeps the tail short when many requests hang.

    Args:
        initial: Timeout before any latency has been observed, in seconds.
        minimum: Lower bound of the (un-backed-off) timeout.
        maximum: Ceiling: the timeout never exceeds it, backoff included.
        k: Weight of the deviation (RFC 6298 uses 4).

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       Timeouts back the estimate off (:meth:`on_timeout`); ``maximum`` is the ceiling it can
       reach.
    """

    __slots__ = (
        "_backoff",
        "_observations",
        "_rttvar",
        "_srtt",
        "initial",
        "k",
        "maximum",
        "minimum",
    )

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
        self._backoff = 0
        self._observations = 0

    def spawn(self, *, maximum: float | None = None) -> AdaptiveTimeout:
        """Return a fresh estimator with the same parameters (and *maximum*, when given).

        The initial and minimum values are lowered to the new ceiling when they exceed it.

        .. versionadded:: 0.2.0
        """
        ceiling = self.maximum if maximum is None else maximum
        initial = min(self.initial, ceiling)
        return AdaptiveTimeout(
            initial=initial, minimum=min(self.minimum, initial), maximum=ceiling, k=self.k
        )

    def observe(self, latency: float) -> None:
        """Feed the latency of one successful attempt, in seconds; this clears any backoff."""
        if not (latency >= 0 and math.isfinite(latency)):
            return
        self._observations += 1
        self._backoff = 0
        srtt = self._srtt
        if srtt is None:
            self._srtt = latency
            self._rttvar = latency / 2.0
        else:
            self._rttvar = 0.75 * self._rttvar + 0.25 * abs(srtt - latency)
            self._srtt = 0.875 * srtt + 0.125 * latency

    @property
    def observations(self) -> int:
        """How many answers have been observed so far (pass it back to :meth:`on_timeout`).

        .. versionadded:: 0.2.0
        """
        return self._observations

    def on_timeout(self, used: float | None = None, *, observations: int | None = None) -> None:
        """Report that an attempt got no answer within *used* seconds: double the timeout.

        Ignored when it is not evidence that the estimate is too low:

        - *used* is shorter than the current value: the estimate has already been raised past
          it (by another attempt that timed out at the same time), so many concurrent timeouts
          count as one, as TCP backs off once per window;
        - answers have been observed since the attempt started (*observations* is what
          :attr:`observations` was then): other requests were answered within the estimate,
          so this one hung or is slow on its own (retry it with a longer timeout yourself).

        Args:
            used: The timeout that expired (default: the current value).
            observations: :attr:`observations` when the timed-out attempt started.

        .. versionadded:: 0.2.0
        """
        if observations is not None and self._observations > observations:
            return
        current = self.current()
        if used is not None and used < current * (1.0 - 1e-9):
            return
        if current < self.maximum:
            self._backoff += 1

    @property
    def backoff(self) -> int:
        """Doublings applied since the last observed answer.

        .. versionadded:: 0.2.0
        """
        return self._backoff

    def base(self) -> float:
        """Return the timeout the observed latency alone suggests (no backoff, no ceiling).

        .. versionadded:: 0.2.0
        """
        srtt = self._srtt
        if srtt is None:
            return self.initial
        return max(self.minimum, srtt + self.k * self._rttvar)

    def current(self) -> float:
        """Return the timeout to use for the next attempt, in seconds."""
        value = self.base()
        if self._backoff:
            value *= 2.0 ** min(self._backoff, 64)
        return min(self.maximum, value)

    def __repr__(self) -> str:
        return f"AdaptiveTimeout(current={self.current():.3f}, backoff={self._backoff})"
