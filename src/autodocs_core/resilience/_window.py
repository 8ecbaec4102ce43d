"""Counts over a sliding time window: a ring of buckets, bounded memory, O(1) per event."""

from __future__ import annotations

import math

__all__ = ["WindowCounts"]


class WindowCounts:
    """Several counters summed over the last ``width × buckets`` seconds.

    A bucket leaves the window as a whole, so the window in force is between
    ``window × (1 - 1/buckets)`` and ``window`` long.

    Args:
        window: Length of the window in seconds.
        buckets: How many buckets the window is cut into.
        fields: How many counters each bucket holds.
        now: The current time (same clock as later calls).
    """

    __slots__ = ("_current", "_n", "_rows", "_width")

    def __init__(self, window: float, buckets: int, fields: int, now: float) -> None:
        if not (math.isfinite(window) and window > 0):
            raise ValueError(f"window must be a finite number > 0, got {window!r}")
        if buckets < 1:
            raise ValueError(f"buckets must be >= 1, got {buckets!r}")
        self._width = window / buckets
        self._n = buckets
        self._rows = [[0] * buckets for _ in range(fields)]
        self._current = math.floor(now / self._width)

    def _slot(self, now: float) -> int:
        index = math.floor(now / self._width)
        current = self._current
        if index != current:
            n = self._n
            # Clear the buckets that time skipped over (all of them after a long pause).
            for i in range(current + 1, min(index, current + n) + 1):
                for row in self._rows:
                    row[i % n] = 0
            self._current = index
        return index % self._n

    def add(self, now: float, field: int, amount: int = 1) -> None:
        """Add *amount* to counter *field* at time *now*."""
        self._rows[field][self._slot(now)] += amount

    def total(self, now: float, field: int) -> int:
        """Return counter *field* summed over the window ending at *now*."""
        self._slot(now)
        return sum(self._rows[field])

    def clear(self) -> None:
        """Forget every count."""
        for row in self._rows:
            row[:] = [0] * self._n
