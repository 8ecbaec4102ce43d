"""Bounded metrics: counters and fixed-bucket histograms, and hooks that feed them.

No list grows with traffic: a histogram is a fixed array of bucket counts, and the number of
label combinations per metric is capped (further combinations are counted under ``"other"``).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

import attrs

from ._hooks import BreakerTransition, GiveUpEvent, Hooks, RetryEvent, error_kind

__all__ = [
    "DEFAULT_LATENCY_BUCKETS",
    "Histogram",
    "HistogramSnapshot",
    "LabeledCounter",
    "ResilienceMetrics",
]

DEFAULT_LATENCY_BUCKETS: tuple[float, ...] = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
)
"""Upper bounds (seconds) of the default latency histogram buckets."""

OTHER = "other"


@attrs.frozen
class HistogramSnapshot:
    """A histogram's state: cumulative-free bucket counts, count, sum, and approximate quantiles.

    Attributes:
        bounds: Upper bounds of the buckets (the last, implicit bucket is ``+inf``).
        counts: Observations per bucket (``len(bounds) + 1`` entries).
        count: All observations.
        total: Sum of all observations.
    """

    bounds: tuple[float, ...]
    counts: tuple[int, ...]
    count: int
    total: float

    def quantile(self, q: float) -> float:
        """Return the upper bound of the bucket holding quantile *q* (``inf`` past the last)."""
        if self.count == 0:
            return 0.0
        rank = max(1, math.ceil(q * self.count))
        seen = 0
        for bound, n in zip((*self.bounds, math.inf), self.counts, strict=True):
            seen += n
            if seen >= rank:
                return bound
        return math.inf


class Histogram:
    """A fixed-bucket histogram: O(buckets) memory whatever the traffic.

    Args:
        bounds: Increasing upper bounds of the buckets.

    .. versionadded:: 0.1.0
    """

    __slots__ = ("_bounds", "_count", "_counts", "_sum")

    def __init__(self, bounds: Sequence[float] = DEFAULT_LATENCY_BUCKETS) -> None:
        bounds = tuple(bounds)
        if list(bounds) != sorted(set(bounds)) or not bounds:
            raise ValueError("histogram bounds must be strictly increasing and not empty")
        self._bounds = bounds
        self._counts = [0] * (len(bounds) + 1)
        self._count = 0
        self._sum = 0.0

    def observe(self, value: float) -> None:
        """Record one observation (NaN is ignored)."""
        if value != value:  # NaN
            return
        self._counts[bisect.bisect_left(self._bounds, value)] += 1
        self._count += 1
        self._sum += value

    def snapshot(self) -> HistogramSnapshot:
        """Return the current state."""
        return HistogramSnapshot(self._bounds, tuple(self._counts), self._count, self._sum)


class LabeledCounter:
    """Counters keyed by a tuple of label values, with a cap on distinct keys.

    Args:
        max_series: Most distinct label tuples; later ones are counted under ``("other", ...)``.
    """

    __slots__ = ("_values", "max_series")

    def __init__(self, max_series: int = 256) -> None:
        self._values: dict[tuple[str, ...], int] = {}
        self.max_series = max_series

    def inc(self, *labels: str, amount: int = 1) -> None:
        """Add *amount* to the counter for *labels*."""
        values = self._values
        if labels not in values and len(values) >= self.max_series:
            labels = (OTHER,) * len(labels)
        values[labels] = values.get(labels, 0) + amount

    def snapshot(self) -> dict[tuple[str, ...], int]:
        """Return a copy of every counter."""
        return dict(self._values)

    def total(self) -> int:
        """Return the sum over all label tuples."""
        return sum(self._values.values())


class ResilienceMetrics:
    """Counts retries, give-ups and breaker transitions from resilience events.

    Pass :attr:`hooks` to :class:`~autodocs_core.resilience.Resilience` and
    :class:`~autodocs_core.resilience.CircuitBreaker`.

    .. versionadded:: 0.1.0
    """

    def __init__(self, max_series: int = 256) -> None:
        self.retries = LabeledCounter(max_series)
        self.give_ups = LabeledCounter(max_series)
        self.transitions = LabeledCounter(max_series)
        self.hooks = Hooks(
            on_retry=self._on_retry,
            on_give_up=self._on_give_up,
            on_state_change=self._on_state_change,
        )

    def _on_retry(self, event: RetryEvent) -> None:
        self.retries.inc(event.name, error_kind(event.error))

    def _on_give_up(self, event: GiveUpEvent) -> None:
        self.give_ups.inc(event.name, event.reason)

    def _on_state_change(self, event: BreakerTransition) -> None:
        self.transitions.inc(event.name, event.old.value, event.new.value)
