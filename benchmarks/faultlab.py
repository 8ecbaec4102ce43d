"""Fault lab, through the core API: the seed system's resilience claims, measured honestly.

Each scenario runs DocsService (default policies, a fresh cache) against the fault-injecting
index on 127.0.0.1 (tests' FaultIndex, recorded package documents and renamed copies), with
seeded fault probabilities. Reported per scenario: success / stale / failure rates, latency
percentiles, upstream requests per call and breaker transitions. The MCP-subprocess runs, the
peer comparison and the soak belong to the next round (see the issue notes).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from autodocs_core.config import Settings
from autodocs_core.errors import AutodocsError
from autodocs_core.service import DocsService
from autodocs_core.testing import Fault, FaultIndex, FaultPlan

from ._harness import machine, save, versions, write_docs_section
from .serve_index import load_projects

PROJECTS = load_projects(copies=60)
NAMES = sorted(PROJECTS)


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


async def _run_calls(
    service: DocsService, names: list[str], *, concurrency: int
) -> list[tuple[str, float]]:
    """Call get_docs for each name (at most *concurrency* at once); return (outcome, seconds)."""
    results: list[tuple[str, float]] = []
    limiter = anyio.Semaphore(concurrency)

    async def one(name: str) -> None:
        async with limiter:
            started = time.perf_counter()
            try:
                answer = await service.get_docs(name, max_tokens=1000)
                outcome = "stale" if answer.stale else "ok"
            except AutodocsError as exc:
                outcome = exc.error_type
            results.append((outcome, time.perf_counter() - started))

    async with anyio.create_task_group() as tg:
        for name in names:
            tg.start_soon(one, name)
    return results


def _summary(results: list[tuple[str, float]], requests: int, transitions: int) -> dict[str, Any]:
    n = len(results) or 1
    latencies = [s for _, s in results]
    ok = sum(1 for o, _ in results if o == "ok")
    stale = sum(1 for o, _ in results if o == "stale")
    failures: dict[str, int] = {}
    for outcome, _ in results:
        if outcome not in ("ok", "stale"):
            failures[outcome] = failures.get(outcome, 0) + 1
    return {
        "calls": len(results),
        "success_rate": ok / n,
        "stale_rate": stale / n,
        "failure_rate": (len(results) - ok - stale) / n,
        "failures": failures,
        "p50_s": _pct(latencies, 0.50),
        "p95_s": _pct(latencies, 0.95),
        "p99_s": _pct(latencies, 0.99),
        "max_s": max(latencies, default=0.0),
        "upstream_requests_per_call": requests / n,
        "breaker_transitions": transitions,
    }


def _transitions(service: DocsService) -> int:
    return sum(c["count"] for c in service.metrics_snapshot()["breaker_transitions"])


async def _with_service(
    plan: FaultPlan,
    body: Callable[[DocsService, FaultIndex], Awaitable[dict[str, Any]]],
    **settings: Any,
) -> dict[str, Any]:
    async with FaultIndex(PROJECTS, plan=plan) as index:
        with tempfile.TemporaryDirectory() as cache_dir:
            cfg = Settings(index_url=index.url, cache_dir=cache_dir, **settings)
            async with DocsService(cfg) as service:
                return await body(service, index)


async def half_hang(calls: int, seed: int) -> dict[str, Any]:
    """Scenario 1: half of all requests hang; distinct packages (nothing cached)."""
    plan = FaultPlan(probabilities=[(Fault("hang"), 0.5)], seed=seed)

    async def body(service: DocsService, index: FaultIndex) -> dict[str, Any]:
        results = await _run_calls(service, NAMES[:calls], concurrency=10)
        return _summary(results, index.count(), _transitions(service))

    return await _with_service(plan, body)


async def rate_limit_storm(calls: int, seed: int) -> dict[str, Any]:
    """Scenario 2: half of all requests get 429 with Retry-After: 1."""
    plan = FaultPlan(probabilities=[(Fault("status", status=429, retry_after="1"), 0.5)], seed=seed)

    async def body(service: DocsService, index: FaultIndex) -> dict[str, Any]:
        results = await _run_calls(service, NAMES[:calls], concurrency=10)
        return _summary(results, index.count(), _transitions(service))

    return await _with_service(plan, body)


async def outage_then_recovery(calls: int, seed: int) -> dict[str, Any]:
    """Scenario 3: 100% 503 until the breaker opens and beyond; then the index heals."""
    plan = FaultPlan(probabilities=[(Fault("status", status=503), 1.0)], seed=seed)

    async def body(service: DocsService, index: FaultIndex) -> dict[str, Any]:
        outage = await _run_calls(service, NAMES[:calls], concurrency=10)
        during = index.count()
        # Once the breaker is open: how many requests and how fast the failures are.
        before = index.count()
        after_open = await _run_calls(service, NAMES[calls : calls * 2], concurrency=10)
        open_requests = index.count() - before
        plan.probabilities = []  # the index heals
        healed_at = time.perf_counter()
        recovered_after = None
        for attempt in range(400):
            result = await _run_calls(service, [NAMES[-1 - attempt % 20]], concurrency=1)
            if result[0][0] == "ok":
                recovered_after = time.perf_counter() - healed_at
                break
            await anyio.sleep(0.1)
        breaker = service.index.breaker_for(index.url)
        out = _summary(outage, during, _transitions(service))
        out.update(
            {
                "after_open_calls": len(after_open),
                "after_open_requests_per_call": open_requests / max(1, len(after_open)),
                "after_open_failure_p50_ms": _pct([s for _, s in after_open], 0.5) * 1000,
                "after_open_failure_max_ms": max((s for _, s in after_open), default=0) * 1000,
                "recovered_after_s": recovered_after,
                "recovery_period_s": breaker.config.recovery_time,
            }
        )
        return out

    return await _with_service(plan, body)


async def single_package_stampede(calls: int, seed: int) -> dict[str, Any]:
    """Scenario 6a: many concurrent calls for one uncached package."""

    async def body(service: DocsService, index: FaultIndex) -> dict[str, Any]:
        results = await _run_calls(service, ["trio"] * calls, concurrency=calls)
        return _summary(results, index.count(), _transitions(service))

    return await _with_service(FaultPlan(seed=seed), body)


async def flapping(calls: int, seed: int) -> dict[str, Any]:
    """Scenario 4: the index alternates 1 s healthy and 1 s failing (100% 503)."""
    plan = FaultPlan(seed=seed)

    async def body(service: DocsService, index: FaultIndex) -> dict[str, Any]:
        async with anyio.create_task_group() as tg:

            async def flap() -> None:
                while True:
                    await anyio.sleep(1.0)
                    plan.probabilities = (
                        [] if plan.probabilities else [(Fault("status", status=503), 1.0)]
                    )

            tg.start_soon(flap)
            results: list[tuple[str, float]] = []
            for chunk in range(0, calls, 10):  # a steady stream: 10 calls every 0.25 s
                results += await _run_calls(service, NAMES[chunk : chunk + 10], concurrency=10)
                await anyio.sleep(0.25)
            tg.cancel_scope.cancel()
        return _summary(results, index.count(), _transitions(service))

    return await _with_service(plan, body)


async def trickle(calls: int, seed: int) -> dict[str, Any]:
    """Scenario 5: a fifth of all answers trickle one byte every 10 ms."""
    plan = FaultPlan(probabilities=[(Fault("trickle", delay=0.01), 0.2)], seed=seed)

    async def body(service: DocsService, index: FaultIndex) -> dict[str, Any]:
        results = await _run_calls(service, NAMES[:calls], concurrency=10)
        return _summary(results, index.count(), _transitions(service))

    return await _with_service(plan, body)


async def many_package_crowd(calls: int, seed: int) -> dict[str, Any]:
    """Scenario 6b: *calls* concurrent calls spread over 50 uncached packages."""

    async def body(service: DocsService, index: FaultIndex) -> dict[str, Any]:
        names = [NAMES[i % 50] for i in range(calls)]
        results = await _run_calls(service, names, concurrency=calls)
        return _summary(results, index.count(), _transitions(service))

    return await _with_service(FaultPlan(seed=seed), body)


async def stale_when_down(calls: int, seed: int) -> dict[str, Any]:
    """Scenario 7: a warm cache, then the index goes down (every request 503)."""
    plan = FaultPlan(seed=seed)

    async def body(service: DocsService, index: FaultIndex) -> dict[str, Any]:
        await _run_calls(service, NAMES[:calls], concurrency=10)
        plan.probabilities = [(Fault("status", status=503), 1.0)]
        before = index.count()
        results = await _run_calls(service, NAMES[:calls], concurrency=10)
        return _summary(results, index.count() - before, _transitions(service))

    return await _with_service(plan, body, versions_ttl=0.0)


SCENARIOS: dict[str, Callable[[int, int], Awaitable[dict[str, Any]]]] = {
    "1. 50% of requests hang": half_hang,
    "2. 429 storm (50%, Retry-After: 1)": rate_limit_storm,
    "3. full outage (503), then recovery": outage_then_recovery,
    "4. flapping (1 s up, 1 s 503)": flapping,
    "5. trickle (20% of answers, 1 byte / 10 ms)": trickle,
    "6. concurrent calls, one uncached package": single_package_stampede,
    "6b. concurrent calls over 50 packages": many_package_crowd,
    "7. warm cache, index down": stale_when_down,
}


def _fmt(values: list[float], unit: str = "", scale: float = 1.0, digits: int = 2) -> str:
    if len(values) == 1:
        return f"{values[0] * scale:.{digits}f}{unit}"
    return (
        f"{statistics.median(values) * scale:.{digits}f}{unit} "
        f"({min(values) * scale:.{digits}f}–{max(values) * scale:.{digits}f})"
    )


def run(*, quick: bool, write_docs: bool) -> dict[str, Any]:
    plans = {
        "1. 50% of requests hang": [30] if quick else [30, 300],
        "2. 429 storm (50%, Retry-After: 1)": [20] if quick else [100],
        "3. full outage (503), then recovery": [20] if quick else [60],
        "4. flapping (1 s up, 1 s 503)": [40] if quick else [200],
        "5. trickle (20% of answers, 1 byte / 10 ms)": [10] if quick else [30],
        "6. concurrent calls, one uncached package": [50] if quick else [500],
        "6b. concurrent calls over 50 packages": [100] if quick else [500],
        "7. warm cache, index down": [20] if quick else [100],
    }
    seeds = [1] if quick else [1, 2, 3]
    results: dict[str, Any] = {
        "machine": machine(),
        "versions": versions("httpx", "anyio"),
        "seeds": seeds,
        "scenarios": {},
    }
    lines = [
        "| scenario | calls | success | stale | failure | p50 | p95 | p99 | max "
        "| upstream req/call | breaker transitions |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    extra: list[str] = []
    for name, sizes in plans.items():
        if quick and name.startswith(("3.", "5.")):
            continue  # they wait for real recovery periods and deadlines; the full run has them
        for calls in sizes:
            runs = [anyio.run(SCENARIOS[name], calls, seed) for seed in seeds]
            results["scenarios"][f"{name} ({calls})"] = runs

            def col(key: str, runs: list[dict[str, Any]] = runs) -> list[float]:
                return [float(r[key]) for r in runs]

            lines.append(
                f"| {name} | {calls} | {_fmt(col('success_rate'), '%', 100, 1)} | "
                f"{_fmt(col('stale_rate'), '%', 100, 1)} | {_fmt(col('failure_rate'), '%', 100, 1)}"
                f" | {_fmt(col('p50_s'), ' s')} | {_fmt(col('p95_s'), ' s')} | "
                f"{_fmt(col('p99_s'), ' s')} | {_fmt(col('max_s'), ' s')} | "
                f"{_fmt(col('upstream_requests_per_call'), '', 1, 3)} | "
                f"{_fmt(col('breaker_transitions'), '', 1, 0)} |"
            )
            if name.startswith("3."):
                extra.append(
                    "Outage: after the breaker opened, "
                    f"{_fmt(col('after_open_requests_per_call'))}"
                    f" upstream requests per call; failures returned in "
                    f"{_fmt(col('after_open_failure_p50_ms'), ' ms', 1, 1)} (p50), "
                    f"{_fmt(col('after_open_failure_max_ms'), ' ms', 1, 1)} (max); service "
                    f"resumed {_fmt([r['recovered_after_s'] or -1 for r in runs], ' s')} after the "
                    f"index healed (recovery period {runs[0]['recovery_period_s']:.0f} s + up to "
                    "10% jitter)."
                )
    text = "\n".join([*lines, "", *extra])
    print(text)
    if not quick:
        save("faultlab", results)
        if write_docs:
            write_docs_section(
                "faultlab",
                f"Measured on {results['machine']['platform']}, Python "
                f"{results['machine']['python']}; core API (DocsService with default settings) "
                f"against the loopback fault index; seeds {seeds}, median (min–max).\n\n" + text,
            )
    return results
