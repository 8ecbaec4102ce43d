"""Resilience primitives: stdlib + anyio + attrs only (no httpx, packaging, cattrs or mcp).

Nothing here knows HTTP: errors are retried by exception class (any class, the caller's own
included) or by predicate; HTTP translation lives in :mod:`autodocs_core.http`.

- :func:`retry` / :func:`retrying`: the short form, ``await retry(fn, on=MyError, attempts=5)``.
- :class:`Resilience` runs an async callable under a :class:`RetryPolicy` (backoff by error type),
  a :class:`CircuitBreaker`, a :class:`RetryBudget` and a deadline.
- :class:`PartialResult` / :class:`FailedItem` report partial success as a value.
- :class:`Clock` makes time injectable; see :mod:`autodocs_core.testing` for ``FakeClock``.
"""

from ._backoff import DEFAULT_MAX_RETRY_AFTER as DEFAULT_MAX_RETRY_AFTER
from ._backoff import DEFAULT_POLICY as DEFAULT_POLICY
from ._backoff import Backoff as Backoff
from ._backoff import Jitter as Jitter
from ._backoff import RetryOn as RetryOn
from ._backoff import RetryPolicy as RetryPolicy
from ._backoff import SupportsRetryAfter as SupportsRetryAfter
from ._backoff import parse_retry_after as parse_retry_after
from ._backoff import retry_after_of as retry_after_of
from ._breaker import BreakerConfig as BreakerConfig
from ._breaker import BreakerState as BreakerState
from ._breaker import BreakerStatistics as BreakerStatistics
from ._breaker import CircuitBreaker as CircuitBreaker
from ._breaker import CircuitState as CircuitState
from ._breaker import default_outcome as default_outcome
from ._breaker import default_resource as default_resource
from ._budget import BudgetStatistics as BudgetStatistics
from ._budget import RetryBudget as RetryBudget
from ._clock import SYSTEM_CLOCK as SYSTEM_CLOCK
from ._clock import Clock as Clock
from ._clock import SystemClock as SystemClock
from ._deadline import AdaptiveTimeout as AdaptiveTimeout
from ._deadline import Deadline as Deadline
from ._fetch import FetchOutcome as FetchOutcome
from ._fetch import FetchProgress as FetchProgress
from ._fetch import RateLimiter as RateLimiter
from ._fetch import fetch_all as fetch_all
from ._fetch import fetch_stream as fetch_stream
from ._hedge import HedgePolicy as HedgePolicy
from ._hedge import HedgeStatistics as HedgeStatistics
from ._hedge import LatencySamples as LatencySamples
from ._hooks import AttemptEvent as AttemptEvent
from ._hooks import BreakerTransition as BreakerTransition
from ._hooks import GiveUpEvent as GiveUpEvent
from ._hooks import Hooks as Hooks
from ._hooks import RetryEvent as RetryEvent
from ._metrics import DEFAULT_LATENCY_BUCKETS as DEFAULT_LATENCY_BUCKETS
from ._metrics import Histogram as Histogram
from ._metrics import HistogramSnapshot as HistogramSnapshot
from ._metrics import LabeledCounter as LabeledCounter
from ._metrics import ResilienceMetrics as ResilienceMetrics
from ._partial import ErrorPayload as ErrorPayload
from ._partial import FailedItem as FailedItem
from ._partial import PartialResult as PartialResult
from ._registry import Registry as Registry
from ._retry import Resilience as Resilience
from ._retry import retry as retry
from ._retry import retrying as retrying
from ._singleflight import SingleFlight as SingleFlight

__all__ = [
    # policies
    "DEFAULT_MAX_RETRY_AFTER",
    "DEFAULT_POLICY",
    "Backoff",
    "Jitter",
    "RetryOn",
    "RetryPolicy",
    "SupportsRetryAfter",
    "parse_retry_after",
    "retry_after_of",
    # composition
    "retry",
    "retrying",
    "Resilience",
    "Deadline",
    "AdaptiveTimeout",
    # hedged requests
    "HedgePolicy",
    "HedgeStatistics",
    "LatencySamples",
    # streaming fetcher
    "fetch_stream",
    "fetch_all",
    "FetchOutcome",
    "FetchProgress",
    "RateLimiter",
    # breaker and budget
    "BreakerConfig",
    "BreakerState",
    "BreakerStatistics",
    "CircuitBreaker",
    "CircuitState",
    "default_outcome",
    "default_resource",
    "BudgetStatistics",
    "RetryBudget",
    "Registry",
    "SingleFlight",
    # time
    "SYSTEM_CLOCK",
    "Clock",
    "SystemClock",
    # events and metrics
    "AttemptEvent",
    "BreakerTransition",
    "GiveUpEvent",
    "Hooks",
    "RetryEvent",
    "DEFAULT_LATENCY_BUCKETS",
    "Histogram",
    "HistogramSnapshot",
    "LabeledCounter",
    "ResilienceMetrics",
    # partial results
    "ErrorPayload",
    "FailedItem",
    "PartialResult",
]
