"""Service metrics: bounded counters and histograms, exported as a dict or Prometheus text.

Everything is bounded: operations and outcomes are small fixed vocabularies (an outcome is
``ok``, ``stale``, ``partial`` or an error type), histograms have fixed buckets, and label sets
are capped. Nothing is registered globally: each service has its own registry.

.. versionchanged:: 0.2.0
   Moved from ``autodocs_core.metrics``; the exports take the cache and the index client they
   read instead of the service.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import anyio

from ..errors import AutodocsError
from ..resilience import Histogram, LabeledCounter, ResilienceMetrics
from ..resilience._window import WindowCounts

if TYPE_CHECKING:
    from ..cache import DocsCache
    from ..fleet import CoalescerStatistics, FleetStatistics
    from ..pypi import IndexClient

__all__ = ["CLIENT_ERRORS", "ServiceMetrics"]

CLIENT_ERRORS = frozenset(
    {
        "invalid_input",
        "not_found",
        "package_not_found",
        "version_not_found",
        "config_error",
    }
)
"""Error types caused by the request, not by the service: they do not count as service errors."""

_CALLS = 0
_ERRORS = 1


class TrackedCall:
    """What a tracked call ended as; the tracker fills it in (``ok`` unless told otherwise)."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = "ok"


def shared_layer(fleet: FleetStatistics, coalescer: CoalescerStatistics | None) -> dict[str, Any]:
    """The shared layer's state and counters as plain data (health and metrics show this).

    ``fallbacks`` is the total of operations answered locally, ``fallback_reasons`` the same
    by reason.

    .. versionadded:: 0.2.0
    """
    data: dict[str, Any] = {
        "backend": fleet.backend,
        "available": fleet.available,
        "state": "ok" if fleet.available else "degraded",
        "operations": fleet.operations,
        "fallbacks": fleet.fallback_total,
        "fallback_reasons": dict(sorted(fleet.fallbacks.items())),
    }
    if coalescer is not None:
        data["coalesced_waits"] = coalescer.waited
        data["lease_takeovers"] = coalescer.takeovers
        data["local_leases"] = coalescer.local_leases
        data["led"] = coalescer.led
        data["hits"] = coalescer.hits
    return data


class ServiceMetrics:
    """Counters, latency histograms, in-flight gauges and the recent error rate of a service.

    Args:
        window: Seconds over which the recent error rate is measured.

    .. versionadded:: 0.1.0
    """

    def __init__(self, *, window: float = 60.0) -> None:
        self.calls = LabeledCounter(max_series=256)
        self.latency: dict[str, Histogram] = {}
        self.in_flight: dict[str, int] = {}
        self.resilience = ResilienceMetrics()
        self.started = time.monotonic()
        self._recent = WindowCounts(window, 12, 2, time.monotonic())
        self.window = window
        self._idle: anyio.Event | None = None

    async def wait_idle(self) -> None:
        """Return once no tracked call is in flight."""
        while any(self.in_flight.values()):
            self._idle = self._idle or anyio.Event()
            await self._idle.wait()

    @contextmanager
    def track(self, operation: str) -> Iterator[TrackedCall]:
        """Count one call of *operation*: in flight while it runs, then outcome and latency.

        Cancellation counts as outcome ``cancelled`` and never as a service error.
        """
        outcome = TrackedCall()
        self.in_flight[operation] = self.in_flight.get(operation, 0) + 1
        started = time.monotonic()
        failed = False
        try:
            yield outcome
        except AutodocsError as exc:
            outcome.value = exc.error_type
            failed = exc.error_type not in CLIENT_ERRORS
            raise
        except Exception:
            outcome.value = "internal_error"
            failed = True
            raise
        except BaseException:
            outcome.value = "cancelled"
            raise
        finally:
            now = time.monotonic()
            self.in_flight[operation] -= 1
            if self._idle is not None and not any(self.in_flight.values()):
                self._idle.set()
                self._idle = None
            self.calls.inc(operation, outcome.value)
            if len(self.latency) < 32 or operation in self.latency:
                self.latency.setdefault(operation, Histogram()).observe(now - started)
            self._recent.add(now, _CALLS)
            if failed:
                self._recent.add(now, _ERRORS)

    def recent_error_rate(self) -> tuple[float, int]:
        """Return (fraction of recent calls that failed by the service's fault, recent calls)."""
        now = time.monotonic()
        calls = self._recent.total(now, _CALLS)
        errors = self._recent.total(now, _ERRORS)
        return (errors / calls if calls else 0.0), calls

    def snapshot(
        self,
        *,
        cache: DocsCache | None = None,
        index: IndexClient | None = None,
        fleet: FleetStatistics | None = None,
        coalescer: CoalescerStatistics | None = None,
    ) -> dict[str, Any]:
        """Return every metric as plain, JSON-compatible data.

        Args:
            cache: Adds its hit and miss counts.
            index: Adds its breakers, retry budgets and hedges.
            fleet: Adds the shared layer (``shared``): backend, availability, operations and
                fallbacks by reason.
            coalescer: Adds cross-replica single flight counters to ``shared``.

        .. versionchanged:: 0.2.0
           Takes the cache and the index client instead of the service; ``fleet`` and
           ``coalescer``.
        """
        rate, recent = self.recent_error_rate()
        data: dict[str, Any] = {
            "uptime_seconds": round(time.monotonic() - self.started, 3),
            "calls": [
                {"operation": k[0], "outcome": k[1], "count": v}
                for k, v in sorted(self.calls.snapshot().items())
            ],
            "latency_seconds": {
                op: {
                    "count": s.count,
                    "sum": round(s.total, 6),
                    "p50": s.quantile(0.5),
                    "p95": s.quantile(0.95),
                    "p99": s.quantile(0.99),
                    "buckets": dict(zip([*map(str, s.bounds), "+Inf"], s.counts, strict=True)),
                }
                for op, h in sorted(self.latency.items())
                for s in [h.snapshot()]
            },
            "in_flight": dict(self.in_flight),
            "recent_error_rate": round(rate, 4),
            "recent_calls": recent,
            "retries": [
                {"operation": k[0], "error_type": k[1], "count": v}
                for k, v in sorted(self.resilience.retries.snapshot().items())
            ],
            "give_ups": [
                {"operation": k[0], "reason": k[1], "count": v}
                for k, v in sorted(self.resilience.give_ups.snapshot().items())
            ],
            "breaker_transitions": [
                {"breaker": k[0], "from": k[1], "to": k[2], "count": v}
                for k, v in sorted(self.resilience.transitions.snapshot().items())
            ],
        }
        if cache is not None:
            total = cache.hits + cache.misses
            data["cache"] = {
                "hits": cache.hits,
                "misses": cache.misses,
                "hit_rate": round(cache.hits / total, 4) if total else 0.0,
            }
        if index is not None:
            data["breakers"] = {
                host: {"state": b.state.value, "times_opened": b.statistics().times_opened}
                for host, b in index.breakers.items()
            }
            data["retry_budgets"] = {
                host: {
                    "available": round(b.statistics().available, 2),
                    "denied": b.statistics().denied,
                }
                for host, b in index.budgets.items()
            }
            hedges = index.hedge_statistics()
            data["hedges"] = {"sent": hedges.sent, "won": hedges.won}
            data["admission_refusals"] = index.admission_refusals
        if fleet is not None:
            data["shared"] = shared_layer(fleet, coalescer)
        return data

    def prometheus_text(
        self,
        *,
        cache: DocsCache | None = None,
        index: IndexClient | None = None,
        fleet: FleetStatistics | None = None,
        coalescer: CoalescerStatistics | None = None,
    ) -> str:
        """Return the metrics in the Prometheus text exposition format.

        Args:
            cache: Adds the cache hit rate.
            index: Adds breaker states, retry budgets and hedges.
            fleet: Adds the shared layer's availability, operations and fallbacks.
            coalescer: Adds coalesced waits and lease takeovers.

        .. versionchanged:: 0.2.0
           Takes the cache and the index client instead of the service; ``fleet`` and
           ``coalescer``.
        """
        from prometheus_client import CollectorRegistry, generate_latest
        from prometheus_client.core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
        )

        snap = self.snapshot(cache=cache, index=index, fleet=fleet, coalescer=coalescer)

        class _Collector:
            def collect(self) -> Iterator[Any]:
                calls = CounterMetricFamily(
                    "autodocs_calls",
                    "Calls by operation and outcome",
                    labels=["operation", "outcome"],
                )
                for row in snap["calls"]:
                    calls.add_metric([row["operation"], row["outcome"]], row["count"])
                yield calls
                for op, s in snap["latency_seconds"].items():
                    hist = HistogramMetricFamily(
                        "autodocs_call_duration_seconds", "Call latency", labels=["operation"]
                    )
                    cumulative, buckets = 0, []
                    for bound, n in s["buckets"].items():
                        cumulative += n
                        buckets.append((bound, cumulative))
                    hist.add_metric([op], buckets, s["sum"])
                    yield hist
                gauge = GaugeMetricFamily(
                    "autodocs_in_flight", "Calls in flight", labels=["operation"]
                )
                for op, n in snap["in_flight"].items():
                    gauge.add_metric([op], n)
                yield gauge
                yield GaugeMetricFamily(
                    "autodocs_recent_error_rate",
                    "Fraction of recent calls failed by the service",
                    value=snap["recent_error_rate"],
                )
                retries = CounterMetricFamily(
                    "autodocs_retries", "Retries by error type", labels=["operation", "error_type"]
                )
                for row in snap["retries"]:
                    retries.add_metric([row["operation"], row["error_type"]], row["count"])
                yield retries
                trans = CounterMetricFamily(
                    "autodocs_breaker_transitions",
                    "Circuit breaker transitions",
                    labels=["breaker", "from", "to"],
                )
                for row in snap["breaker_transitions"]:
                    trans.add_metric([row["breaker"], row["from"], row["to"]], row["count"])
                yield trans
                if "cache" in snap:
                    yield GaugeMetricFamily(
                        "autodocs_cache_hit_rate", "Cache hit rate", value=snap["cache"]["hit_rate"]
                    )
                if "breakers" in snap:
                    state = GaugeMetricFamily(
                        "autodocs_breaker_open", "1 when the breaker is open", labels=["breaker"]
                    )
                    for host, info in snap["breakers"].items():
                        state.add_metric([host], 1.0 if info["state"] == "open" else 0.0)
                    yield state
                    budget = GaugeMetricFamily(
                        "autodocs_retry_budget_available",
                        "Retries the budget would grant now",
                        labels=["upstream"],
                    )
                    for host, info in snap["retry_budgets"].items():
                        budget.add_metric([host], info["available"])
                    yield budget
                    yield CounterMetricFamily(
                        "autodocs_hedges_sent",
                        "Hedged requests sent (a second request racing an unanswered one)",
                        value=snap["hedges"]["sent"],
                    )
                    yield CounterMetricFamily(
                        "autodocs_hedges_won",
                        "Hedged requests whose answer was used",
                        value=snap["hedges"]["won"],
                    )
                    yield CounterMetricFamily(
                        "autodocs_admission_refusals",
                        "Upstream attempts the fleet refused (breaker open, budget, rate limit)",
                        value=snap["admission_refusals"],
                    )
                if "shared" in snap:
                    yield from _shared_families(snap["shared"])

        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Collector())
        return generate_latest(registry).decode("utf-8")


def _shared_families(shared: dict[str, Any]) -> Iterator[Any]:
    """The shared layer's metric families (from the snapshot's ``shared`` entry)."""
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    available = GaugeMetricFamily(
        "autodocs_shared_available",
        "1 when the shared layer answers (0: degraded, answering locally)",
        labels=["backend"],
    )
    available.add_metric([shared["backend"]], 1.0 if shared["available"] else 0.0)
    yield available
    yield CounterMetricFamily(
        "autodocs_shared_operations",
        "Shared-layer operations attempted",
        value=shared["operations"],
    )
    fallbacks = CounterMetricFamily(
        "autodocs_shared_fallbacks",
        "Shared-layer operations answered locally instead, by reason",
        labels=["reason"],
    )
    for reason, n in shared["fallback_reasons"].items():
        fallbacks.add_metric([reason], n)
    yield fallbacks
    for key, name, text in (
        (
            "coalesced_waits",
            "autodocs_coalesced_waits",
            "Calls served by another replica's fetch",
        ),
        ("lease_takeovers", "autodocs_lease_takeovers", "Leases taken over after they expired"),
    ):
        if key in shared:
            yield CounterMetricFamily(name, text, value=shared[key])
