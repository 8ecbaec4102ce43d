"""A retry budget per upstream, in the spirit of Finagle's RetryBudget and gRPC retry throttling.

Retries are allowed only while, over the last ``ttl`` seconds, ``retries <= ratio × requests +
min_per_second × ttl``. However many callers share the budget, a failing upstream therefore
receives at most ``(1 + ratio)`` times the load it would get without retries, plus a small floor
that lets a quiet service still retry the odd failure.
"""

from __future__ import annotations

import math

import attrs

from ._clock import SYSTEM_CLOCK, Clock
from ._window import WindowCounts

__all__ = ["BudgetStatistics", "RetryBudget"]

_REQUESTS = 0
_RETRIES = 1


@attrs.frozen
class BudgetStatistics:
    """A snapshot of a :class:`RetryBudget`.

    Attributes:
        requests: First attempts counted in the window.
        retries: Retries granted in the window.
        denied: Retries refused since the budget was created.
        available: Retries that could be granted now (never negative).
    """

    requests: int
    retries: int
    denied: int
    available: float


class RetryBudget:
    """Token budget that caps retries at a fraction of recent requests plus a floor.

    Call :meth:`record_request` once per logical call (its first attempt) and
    :meth:`try_acquire_retry` before each retry; ``False`` means: do not retry.

    Args:
        ratio: Retries allowed per first attempt in the window (1.0: one retry per call).
        min_per_second: Floor of retries per second, so that a quiet service can still retry.
        ttl: Length of the window in seconds.
        buckets: Resolution of the window.
        clock: Time source.

    .. versionadded:: 0.1.0
    """

    __slots__ = ("_clock", "_denied", "_floor", "_window", "ratio", "ttl")

    def __init__(
        self,
        *,
        ratio: float = 1.0,
        min_per_second: float = 10.0,
        ttl: float = 10.0,
        buckets: int = 10,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        if not (math.isfinite(ratio) and ratio >= 0):
            raise ValueError(f"ratio must be a finite number >= 0, got {ratio!r}")
        if not (math.isfinite(min_per_second) and min_per_second >= 0):
            raise ValueError(f"min_per_second must be a finite number >= 0, got {min_per_second!r}")
        self.ratio = ratio
        self.ttl = ttl
        self._floor = min_per_second * ttl
        self._clock = clock
        self._window = WindowCounts(ttl, buckets, 2, clock.now())
        self._denied = 0

    def record_request(self) -> None:
        """Count one first attempt: it earns the budget ``ratio`` retries."""
        self._window.add(self._clock.now(), _REQUESTS)

    def _available(self, now: float) -> float:
        window = self._window
        return self.ratio * window.total(now, _REQUESTS) + self._floor - window.total(now, _RETRIES)

    def try_acquire_retry(self) -> bool:
        """Take one retry from the budget; return ``False`` (and take nothing) when it is spent."""
        now = self._clock.now()
        if self._available(now) < 1.0:
            self._denied += 1
            return False
        self._window.add(now, _RETRIES)
        return True

    def statistics(self) -> BudgetStatistics:
        """Return a snapshot of the window."""
        now = self._clock.now()
        return BudgetStatistics(
            requests=self._window.total(now, _REQUESTS),
            retries=self._window.total(now, _RETRIES),
            denied=self._denied,
            available=max(0.0, self._available(now)),
        )

    def __repr__(self) -> str:
        return f"RetryBudget(ratio={self.ratio}, floor={self._floor}, ttl={self.ttl})"
