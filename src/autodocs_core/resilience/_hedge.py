"""Hedged requests ("The Tail at Scale", Dean & Barroso 2013): when to send a second attempt.

Pure and synchronous: :class:`HedgePolicy` turns recent latencies (:class:`LatencySamples`) into
the delay after which an unanswered attempt gets a twin. The index client does the sending.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import attrs

__all__ = ["HedgePolicy", "HedgeStatistics", "LatencySamples"]


def _positive(_: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{attribute.name} must be a finite number > 0, got {value!r}")


def _fraction(_: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not (0.0 < value < 1.0):
        raise ValueError(f"{attribute.name} must be in (0, 1), got {value!r}")


class LatencySamples:
    """The last *size* latencies of one kind of request, for percentiles. O(size) memory.

    Args:
        size: Samples kept (the oldest is dropped first).

    .. versionadded:: 0.2.0
    """

    __slots__ = ("_samples",)

    def __init__(self, size: int = 128) -> None:
        if size < 1:
            raise ValueError(f"size must be >= 1, got {size!r}")
        self._samples: deque[float] = deque(maxlen=size)

    def add(self, latency: float) -> None:
        """Record one answer's latency in seconds (NaN, infinite and negative are ignored)."""
        if latency >= 0 and math.isfinite(latency):
            self._samples.append(latency)

    def __len__(self) -> int:
        return len(self._samples)

    def percentile(self, q: float) -> float | None:
        """Return the *q*-quantile (0 < q < 1, nearest rank) or ``None`` without samples."""
        if not self._samples:
            return None
        ordered = sorted(self._samples)
        rank = min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))
        return ordered[rank]


@attrs.frozen
class HedgePolicy:
    """When an attempt that has not answered gets a second, concurrent attempt.

    The hedge is sent after ``max(min_delay, percentile of recent answers)``; until
    ``min_samples`` answers have been seen, after ``initial_delay`` (conservative: a fresh
    client does not know what "slow" is). The first answer wins and the other attempt is
    cancelled. Hedges are requests: each needs a retry-budget token and a breaker permit.

    Args:
        percentile: Which latency percentile of recent answers triggers the hedge (p95: about
            5% of requests get a twin when nothing is wrong).
        min_delay: Floor of the delay, in seconds.
        initial_delay: Delay before ``min_samples`` answers have been seen.
        min_samples: Answers needed before the percentile is trusted.
        max_in_flight: Hedges in flight at once per attempt.
        max_per_attempt: Hedges sent per attempt: after a hedge failed while the first
            request still waits (a retry gives it twice the timeout that expired, for a slow
            resource), the next hedge is sent at once.

    .. versionadded:: 0.2.0
    """

    percentile: float = attrs.field(default=0.95, validator=_fraction)
    min_delay: float = attrs.field(default=0.05, validator=_positive)
    initial_delay: float = attrs.field(default=0.5, validator=_positive)
    min_samples: int = attrs.field(default=20, validator=attrs.validators.ge(1))
    max_in_flight: int = attrs.field(default=1, validator=attrs.validators.ge(1))
    max_per_attempt: int = attrs.field(default=2, validator=attrs.validators.ge(1))

    def delay(self, samples: LatencySamples) -> float:
        """Return the seconds to wait for an answer before sending a hedge."""
        if len(samples) < self.min_samples:
            return max(self.min_delay, self.initial_delay)
        value = samples.percentile(self.percentile)
        return max(self.min_delay, value if value is not None else self.initial_delay)


@attrs.frozen
class HedgeStatistics:
    """How many hedges were sent, and how many answered first.

    Attributes:
        sent: Hedges sent.
        won: Hedges whose answer was used (the first attempt lost).

    .. versionadded:: 0.2.0
    """

    sent: int
    won: int
