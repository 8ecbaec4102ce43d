"""Fault lab: the seed system's resilience claims, measured honestly.

Each scenario runs against the fault-injecting index on 127.0.0.1 (the test suite's
``FaultIndex``, serving recorded package documents and renamed copies) with seeded fault
probabilities, through one of three targets (see ``_targets``):

- ``core``: ``DocsService`` with default settings, in this process;
- ``mcp``: our ``autodocs-mcp`` server as a subprocess, through the official MCP client;
- ``peer``: the existing ``autodoc-mcp`` server (PyPI), the same way (``--peer-command``).

Reported per scenario: success / stale / failure rates, latency percentiles, upstream
requests per call and breaker transitions, over several seeds as median (min–max). Scenario 8
(soak) samples the server process's resident memory and open file descriptors; the start-up
measurement times server start to the first ``tools/list`` answer.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import anyio
import attrs

from autodocs_core.errors import RateLimited
from autodocs_core.resilience import DEFAULT_POLICY, BreakerConfig
from autodocs_core.testing import Fault, FaultIndex, FaultPlan
from autodocs_core.testing._index import Request

from ._harness import machine, save, versions, write_docs_section
from ._targets import (
    OURS,
    Target,
    import_times,
    open_target,
    peer_version,
    process_sample,
    time_to_exit,
    time_to_first_list,
)
from .serve_index import load_projects

PROJECTS = load_projects(copies=60)
NAMES = sorted(PROJECTS)
MODES = {"core": "core API", "mcp": "MCP server (ours)", "peer": "MCP server (autodoc-mcp)"}

Body = Callable[[Target, FaultIndex, FaultPlan], Awaitable[dict[str, Any]]]


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


async def _run_calls(
    target: Target, names: list[str], *, concurrency: int
) -> list[tuple[str, float]]:
    """Ask for each name (at most *concurrency* at once); return (outcome, seconds) per call.

    The results are in the order of *names* (which is also the order the calls start in: the
    semaphore is first come, first served).
    """
    results: list[tuple[str, float]] = [("not_run", 0.0)] * len(names)
    limiter = anyio.Semaphore(concurrency)

    async def one(i: int, name: str) -> None:
        async with limiter:
            started = time.perf_counter()
            outcome = await target.call(name)
            results[i] = (outcome, time.perf_counter() - started)

    async with anyio.create_task_group() as tg:
        for i, name in enumerate(names):
            tg.start_soon(one, i, name)
    return results


async def _summary(
    target: Target, results: list[tuple[str, float]], requests: int
) -> dict[str, Any]:
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
        **await _service_figures(target, n),
    }


async def _service_figures(target: Target, calls: int) -> dict[str, Any]:
    """Breaker transitions, hedges sent and won (per call), from the target's own metrics."""
    metrics = await target.metrics()
    if metrics is None:  # the peer reports neither
        return {"breaker_transitions": None, "hedge_rate": None, "hedges_won_rate": None}
    hedges = metrics.get("hedges", {"sent": 0, "won": 0})
    return {
        "breaker_transitions": sum(c["count"] for c in metrics["breaker_transitions"]),
        "hedges_sent": hedges["sent"],
        "hedges_won": hedges["won"],
        "hedge_rate": hedges["sent"] / calls,
        "hedges_won_rate": hedges["won"] / calls,
        "host_breakers_opened": sum(
            b["times_opened"] for b in metrics.get("breakers", {}).values()
        ),
    }


class Lab:
    """Runs scenarios against one kind of target."""

    def __init__(self, mode: str, peer_command: str | None = None) -> None:
        self.mode = mode
        self.peer_command = peer_command

    async def run(
        self, plan: FaultPlan, body: Body, env: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """Start the index and a fresh target (own cache directory); run *body*."""
        async with FaultIndex(PROJECTS, plan=plan) as index:
            with tempfile.TemporaryDirectory() as cache_dir:
                async with open_target(
                    self.mode, index.url, cache_dir, env or {}, self.peer_command
                ) as target:
                    return await body(target, index, plan)


def _calls(
    names: Callable[[int], list[str]], concurrency: int | None = None
) -> Callable[..., Body]:
    """A scenario body that makes the calls *names(calls)* and summarises them."""

    def make(calls: int) -> Body:
        async def body(target: Target, index: FaultIndex, plan: FaultPlan) -> dict[str, Any]:
            results = await _run_calls(target, names(calls), concurrency=concurrency or calls)
            return await _summary(target, results, index.count())

        return body

    return make


async def half_hang(lab: Lab, calls: int, seed: int) -> dict[str, Any]:
    """Scenario 1: half of all requests hang; distinct packages (nothing cached)."""
    plan = FaultPlan(probabilities=[(Fault("hang"), 0.5)], seed=seed)
    return await lab.run(plan, _calls(lambda n: NAMES[:n], 10)(calls))


async def rate_limit_storm(lab: Lab, calls: int, seed: int) -> dict[str, Any]:
    """Scenario 2: half of all requests get 429 with Retry-After: 1."""
    plan = FaultPlan(probabilities=[(Fault("status", status=429, retry_after="1"), 0.5)], seed=seed)
    return await lab.run(plan, _calls(lambda n: NAMES[:n], 10)(calls))


async def outage_then_recovery(lab: Lab, calls: int, seed: int) -> dict[str, Any]:
    """Scenario 3: 100% 503 until the breaker opens and beyond; then the index heals."""
    plan = FaultPlan(probabilities=[(Fault("status", status=503), 1.0)], seed=seed)

    async def body(target: Target, index: FaultIndex, plan: FaultPlan) -> dict[str, Any]:
        outage = await _run_calls(target, NAMES[:calls], concurrency=10)
        during = index.count()
        # Once the breaker is open: how many requests and how fast the failures are.
        after_open = await _run_calls(target, NAMES[calls : calls * 2], concurrency=10)
        open_requests = index.count() - during
        plan.probabilities = []  # the index heals
        healed_at = time.perf_counter()
        recovered_after = None
        attempt = 0
        while time.perf_counter() - healed_at < 150:
            attempt += 1
            result = await _run_calls(target, [NAMES[-1 - attempt % 20]], concurrency=1)
            if result[0][0] == "ok":
                recovered_after = time.perf_counter() - healed_at
                break
            await anyio.sleep(0.1)
        out = await _summary(target, outage, during)
        out.update(
            {
                "after_open_calls": len(after_open),
                "after_open_requests_per_call": open_requests / max(1, len(after_open)),
                "after_open_failure_p50_ms": _pct([s for _, s in after_open], 0.5) * 1000,
                "after_open_failure_max_ms": max((s for _, s in after_open), default=0) * 1000,
                "recovered_after_s": recovered_after,
                "recovery_period_s": BreakerConfig().recovery_time,
            }
        )
        return out

    return await lab.run(plan, body)


async def flapping(lab: Lab, calls: int, seed: int) -> dict[str, Any]:
    """Scenario 4: the index alternates 1 s healthy and 1 s failing (100% 503)."""
    plan = FaultPlan(seed=seed)

    async def body(target: Target, index: FaultIndex, plan: FaultPlan) -> dict[str, Any]:
        async with anyio.create_task_group() as tg:

            async def flap() -> None:
                while True:
                    await anyio.sleep(1.0)
                    plan.probabilities = (
                        [] if plan.probabilities else [(Fault("status", status=503), 1.0)]
                    )

            tg.start_soon(flap)
            results: list[tuple[str, float]] = []

            async def wave(names: list[str]) -> None:
                results.extend(await _run_calls(target, names, concurrency=10))

            async with anyio.create_task_group() as waves:
                for chunk in range(0, calls, 10):  # a steady stream: 10 new calls every 0.25 s
                    waves.start_soon(wave, NAMES[chunk : chunk + 10])
                    await anyio.sleep(0.25)
            tg.cancel_scope.cancel()
        return await _summary(target, results, index.count())

    return await lab.run(plan, body)


async def trickle(lab: Lab, calls: int, seed: int) -> dict[str, Any]:
    """Scenario 5: a fifth of all answers trickle one byte every 10 ms."""
    plan = FaultPlan(probabilities=[(Fault("trickle", delay=0.01), 0.2)], seed=seed)
    return await lab.run(plan, _calls(lambda n: NAMES[:n], 10)(calls))


async def single_package_stampede(lab: Lab, calls: int, seed: int) -> dict[str, Any]:
    """Scenario 6a: many concurrent calls for one uncached package."""
    return await lab.run(FaultPlan(seed=seed), _calls(lambda n: ["trio"] * n)(calls))


async def many_package_crowd(lab: Lab, calls: int, seed: int) -> dict[str, Any]:
    """Scenario 6b: *calls* concurrent calls spread over 50 uncached packages."""
    return await lab.run(
        FaultPlan(seed=seed), _calls(lambda n: [NAMES[i % 50] for i in range(n)])(calls)
    )


async def stale_when_down(lab: Lab, calls: int, seed: int) -> dict[str, Any]:
    """Scenario 7: a warm cache, then the index goes down (every request 503)."""

    async def body(target: Target, index: FaultIndex, plan: FaultPlan) -> dict[str, Any]:
        await _run_calls(target, NAMES[:calls], concurrency=10)
        plan.probabilities = [(Fault("status", status=503), 1.0)]
        before = index.count()
        results = await _run_calls(target, NAMES[:calls], concurrency=10)
        return await _summary(target, results, index.count() - before)

    return await lab.run(FaultPlan(seed=seed), body, {"AUTODOCS_VERSIONS_TTL": "0"})


# -- issue 12: slow indexes, one bad resource, bad Retry-After, health probes ------------------


async def brown_out(lab: Lab, calls: int, seed: int) -> dict[str, Any]:
    """Scenario 9: answers take 10 ms for the first third of the calls, then 1.5 s each.

    A steady stream of distinct, uncached packages, 10 at a time. Reported besides the
    summary: success after the first 10 slow calls and failures among the last 100.
    """
    fast = calls // 3
    plan = FaultPlan(probabilities=[(Fault("slow", delay=0.01), 1.0)], seed=seed)

    async def body(target: Target, index: FaultIndex, plan: FaultPlan) -> dict[str, Any]:
        warm = await _run_calls(target, NAMES[:fast], concurrency=10)
        plan.probabilities = [(Fault("slow", delay=1.5), 1.0)]
        slow = await _run_calls(target, NAMES[fast:calls], concurrency=10)
        out = await _summary(target, warm + slow, index.count())
        late, last = slow[10:], slow[-100:]
        out.update(
            {
                "slow_calls": len(slow),
                "slow_success_rate": sum(o == "ok" for o, _ in slow) / max(1, len(slow)),
                "success_after_first_10_slow": sum(o == "ok" for o, _ in late) / max(1, len(late)),
                "failures_in_last_100": sum(o not in ("ok", "stale") for o, _ in last),
                "last_calls_counted": len(last),
            }
        )
        return out

    return await lab.run(plan, body)


async def cold_slow(lab: Lab, calls: int, seed: int) -> dict[str, Any]:
    """Scenario 10: every answer takes 3.2 s from the start; default settings."""
    plan = FaultPlan(probabilities=[(Fault("slow", delay=3.2), 1.0)], seed=seed)
    return await lab.run(plan, _calls(lambda n: NAMES[:n], 10)(calls))


async def one_slow_package(lab: Lab, calls: int, seed: int) -> dict[str, Any]:
    """Scenario 11: after *calls* − 1 fast lookups, one package whose answers take 0.8 s."""
    slow_name = NAMES[calls - 1]
    plan = FaultPlan(
        probabilities=[(Fault("slow", delay=0.8), 1.0)],
        seed=seed,
        match=lambda path: f"/{slow_name}/" in path,
    )

    async def body(target: Target, index: FaultIndex, plan: FaultPlan) -> dict[str, Any]:
        fast = await _run_calls(target, NAMES[: calls - 1], concurrency=10)
        before = await target.metrics() or {}
        slow = await _run_calls(target, [slow_name], concurrency=1)
        after = await target.metrics() or {}
        out = await _summary(target, fast + slow, index.count())
        hedged = after.get("hedges", {}).get("sent", 0) - before.get("hedges", {}).get("sent", 0)
        requests = sum(1 for r in index.requests if f"/{slow_name}/" in r.path)
        out.update(
            {
                "slow_outcome": slow[0][0],
                "slow_latency_s": slow[0][1],
                "slow_requests": requests,
                "slow_hedges": hedged,
                "slow_attempts": requests - hedged,  # a hedge races an attempt, it is not one
            }
        )
        return out

    return await lab.run(plan, body)


async def one_bad_package(lab: Lab, calls: int, seed: int) -> dict[str, Any]:
    """Scenario 12: one package's URLs answer 500 while *calls* calls for 50 healthy run.

    The bad package is asked again and again (one call after another) from the start; after
    1 s the healthy calls arrive, 10 every second, for 50 packages whose version lists are never
    fresh (so every healthy call asks the index too). The summary is over the healthy calls.
    """
    bad_name = NAMES[-1]
    plan = FaultPlan(
        probabilities=[(Fault("status", status=500), 1.0)],
        seed=seed,
        match=lambda path: f"/{bad_name}/" in path,
    )

    async def body(target: Target, index: FaultIndex, plan: FaultPlan) -> dict[str, Any]:
        healthy: list[tuple[str, float]] = []
        bad: list[tuple[str, float]] = []
        done = anyio.Event()

        async def hammer() -> None:
            while not done.is_set():
                bad.extend(await _run_calls(target, [bad_name], concurrency=1))

        async def wave(names: list[str]) -> None:
            healthy.extend(await _run_calls(target, names, concurrency=10))

        async with anyio.create_task_group() as tg:
            tg.start_soon(hammer)
            await anyio.sleep(1.0)
            async with anyio.create_task_group() as waves:
                for chunk in range(0, calls, 10):
                    waves.start_soon(wave, [NAMES[i % 50] for i in range(chunk, chunk + 10)])
                    await anyio.sleep(1.0)  # 20 s: the bad package is asked 4 times or more
            done.set()
        bad_requests = sum(1 for r in index.requests if f"/{bad_name}/" in r.path)
        out = await _summary(target, healthy, index.count() - bad_requests)
        outcomes: dict[str, int] = {}
        for outcome, _ in bad:
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        out.update({"bad_calls": len(bad), "bad_outcomes": outcomes, "bad_requests": bad_requests})
        return out

    return await lab.run(plan, body, {"AUTODOCS_VERSIONS_TTL": "0"})


BAD_RETRY_AFTER = ["-5", "Wed, 21 Oct 2015 07:28:00 GMT", "soon, maybe"]
"""Retry-After values that say nothing usable: negative, a date in the past, garbage."""


@attrs.define
class _LoggedPlan(FaultPlan):
    """A plan that notes when each request arrived and which fault it got."""

    log: list[tuple[str, float, Fault | None]] = attrs.field(factory=list)

    def choose(self, request: Request) -> Fault | None:
        """Choose as usual; remember (path, arrival time, fault)."""
        fault = super().choose(request)
        self.log.append((request.path, time.perf_counter(), fault))
        return fault


async def bad_retry_after(lab: Lab, calls: int, seed: int) -> dict[str, Any]:
    """Scenario 13: half of all requests get 429 whose Retry-After is negative, past or garbage.

    Same rate and calls as scenario 2 (whose 429s say ``Retry-After: 1``), so requests per call
    compare directly. Reported: the wait between a 429 and the next request for the same URL.
    """
    share = 0.5 / len(BAD_RETRY_AFTER)
    plan = _LoggedPlan(
        probabilities=[
            (Fault("status", status=429, retry_after=value), share) for value in BAD_RETRY_AFTER
        ],
        seed=seed,
    )

    async def body(target: Target, index: FaultIndex, plan: FaultPlan) -> dict[str, Any]:
        results = await _run_calls(target, NAMES[:calls], concurrency=10)
        out = await _summary(target, results, index.count())
        assert isinstance(plan, _LoggedPlan)
        last: dict[str, tuple[float, Fault | None]] = {}
        waits: list[float] = []
        for path, at, fault in plan.log:
            previous = last.get(path)
            if previous is not None and previous[1] is not None:
                waits.append(at - previous[0])
            last[path] = (at, fault)
        out.update(
            {
                "waits_after_429": len(waits),
                "wait_min_s": min(waits, default=0.0),
                "wait_p50_s": _pct(waits, 0.5),
                "waits_under_50ms": sum(w < 0.05 for w in waits),
                # Equal jitter: the first retry waits at least half the exponential delay.
                "computed_backoff_floor_s": dict(DEFAULT_POLICY.table)[RateLimited].exponential(1)
                / 2,
            }
        )
        return out

    return await lab.run(plan, body)


async def health_probes(lab: Lab, calls: int, seed: int) -> dict[str, Any]:
    """Scenario 14: *calls* health checks spread over one second (core: ``service.health()``)."""

    async def body(target: Target, index: FaultIndex, plan: FaultPlan) -> dict[str, Any]:
        probe = getattr(target, "probe", None)
        if probe is None:
            return {"skipped": "the MCP targets speak stdio; /healthz needs the HTTP transport"}
        before = index.count()
        results: list[tuple[str, float]] = []
        statuses: list[str] = []

        async def one() -> None:
            started = time.perf_counter()
            statuses.append(await probe())
            results.append(("ok", time.perf_counter() - started))  # answered, whatever it said

        async with anyio.create_task_group() as tg:
            for _ in range(calls):
                tg.start_soon(one)
                await anyio.sleep(1.0 / calls)
        out = await _summary(target, results, index.count() - before)
        out["upstream_requests"] = index.count() - before
        out["statuses"] = {s: statuses.count(s) for s in sorted(set(statuses))}
        return out

    return await lab.run(FaultPlan(seed=seed), body)


SOAK_FAULTS = [
    (Fault("hang"), 0.03),
    (Fault("status", status=503), 0.04),
    (Fault("status", status=429, retry_after="1"), 0.02),
    (Fault("reset"), 0.02),
    (Fault("close"), 0.01),
    (Fault("truncate"), 0.01),
    (Fault("garbage"), 0.01),
    (Fault("slow", delay=0.2), 0.03),
]
"""About 17% of requests fail or misbehave, in eight different ways."""


async def soak(lab: Lab, calls: int, seed: int) -> dict[str, Any]:
    """Scenario 8: *calls* calls with mixed faults through one server; sample RSS and fds.

    Version lists expire after 1 s, so the index keeps being asked. The calls run in rounds of
    500 (20 at a time); after each round, with nothing in flight, the server process's resident
    memory and open descriptors are sampled. The first fifth of the calls is the warm-up.
    """
    plan = FaultPlan(probabilities=SOAK_FAULTS, seed=seed)

    async def body(target: Target, index: FaultIndex, plan: FaultPlan) -> dict[str, Any]:
        pid = target.pid()
        assert pid is not None, "the soak needs a server process"
        results: list[tuple[str, float]] = []
        samples: list[dict[str, float]] = []
        started = time.perf_counter()
        rounds = max(1, calls // 500)
        for r in range(rounds):
            names = [NAMES[(r * 500 + i) % len(NAMES)] for i in range(calls // rounds)]
            results += await _run_calls(target, names, concurrency=20)
            samples.append({"calls": len(results), **process_sample(pid)})
        out = await _summary(target, results, index.count())
        warm = [s for s in samples if s["calls"] > calls // 5] or samples[-1:]
        rss = [s["rss_bytes"] for s in warm]
        out.update(
            {
                "duration_s": time.perf_counter() - started,
                "samples": samples,
                "rss_range_after_warmup": _growth(rss),
                "rss_slope_bytes_per_1000_calls_last_half": _slope(
                    [s["calls"] for s in samples[len(samples) // 2 :]],
                    [s["rss_bytes"] for s in samples[len(samples) // 2 :]],
                )
                * 1000,
                "other_fds_range_after_warmup": _growth([s["other_fds"] for s in warm]),
                "max_sockets": max(s["sockets"] for s in samples),
            }
        )
        return out

    return await lab.run(plan, body, {"AUTODOCS_VERSIONS_TTL": "1"})


def _growth(values: list[int]) -> float:
    """(max − min) / min of the samples: 0.05 means they stayed within 5%."""
    return (max(values) - min(values)) / min(values) if values and min(values) else 0.0


def _slope(xs: list[int], ys: list[int]) -> float:
    """Least-squares slope of *ys* over *xs* (0 for fewer than two points)."""
    if len(xs) < 2:
        return 0.0
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    var = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var if var else 0.0


SCENARIOS: dict[str, Callable[[Lab, int, int], Awaitable[dict[str, Any]]]] = {
    "1. 50% of requests hang": half_hang,
    "2. 429 storm (50%, Retry-After: 1)": rate_limit_storm,
    "3. full outage (503), then recovery": outage_then_recovery,
    "4. flapping (1 s up, 1 s 503)": flapping,
    "5. trickle (20% of answers, 1 byte / 10 ms)": trickle,
    "6. concurrent calls, one uncached package": single_package_stampede,
    "6b. concurrent calls over 50 packages": many_package_crowd,
    "7. warm cache, index down": stale_when_down,
    "9. brown-out (10 ms, then 1.5 s per answer)": brown_out,
    "10. cold slow index (3.2 s per answer)": cold_slow,
    "11. one slow package (0.8 s) after fast ones": one_slow_package,
    "12. one package answering 500, 50 healthy": one_bad_package,
    "13. 429 storm, Retry-After negative / past / garbage": bad_retry_after,
    "14. health probes within 1 s": health_probes,
}

FULL_SIZES = {
    "1.": [30, 300],
    "2.": [100],
    "3.": [60],
    "4.": [200],
    "5.": [30],
    "6.": [500],
    "6b.": [500],
    "7.": [100],
    "9.": [300],
    "10.": [20],
    "11.": [51],
    "12.": [200],
    "13.": [100],
    "14.": [200],
}
QUICK_SIZES = {
    "1.": [30],
    "2.": [20],
    "4.": [40],
    "6.": [50],
    "6b.": [100],
    "7.": [20],
    "11.": [21],
    "13.": [20],
    "14.": [200],
}
"""The CI smoke run skips 3, 5, 9, 10 and 12: they wait for real recovery periods, deadlines
and slow answers."""
PEER_SIZES = {
    "1.": [30],
    "2.": [20],
    "3.": [20],
    "4.": [200],
    "5.": [10],
    "6.": [500],
    "6b.": [500],
    "7.": [20],
}
"""The peer runs none of 9–14 (they measure our timeouts, hedges, breaker scope and probes;
the peer's 30 s timeout has no adaptive estimate to lock out).
The peer waits up to 30 s per hung request: it gets small sizes (not for flapping, whose
bad periods a 40-call run would miss) and one seed."""


def _fmt(values: list[float], unit: str = "", scale: float = 1.0, digits: int = 2) -> str:
    if not values:
        return "n/a"
    if len(values) == 1:
        return f"{values[0] * scale:.{digits}f}{unit}"
    return (
        f"{statistics.median(values) * scale:.{digits}f}{unit} "
        f"({min(values) * scale:.{digits}f}–{max(values) * scale:.{digits}f})"
    )


def _sizes(mode: str, quick: bool) -> dict[str, list[int]]:
    table = QUICK_SIZES if quick else PEER_SIZES if mode == "peer" else FULL_SIZES
    return {
        name: table[name.split()[0]]
        for name in SCENARIOS
        if name.split()[0] in table and (mode == "core" or name.split()[0] not in CORE_ONLY)
    }


CORE_ONLY = {"14."}
"""The MCP targets speak stdio: their ``/healthz`` needs the HTTP transport, not set up here."""


def _seeds(quick: bool) -> list[int]:
    """Seeds 1–3 (``FAULTLAB_SEEDS=1,2`` to shorten a run on a busy machine); quick: seed 1."""
    if quick:
        return [1]
    return [int(s) for s in os.environ.get("FAULTLAB_SEEDS", "1,2,3").split(",") if s.strip()]


def _row(mode: str, name: str, calls: int, runs: list[dict[str, Any]]) -> str:
    def col(key: str) -> list[float]:
        return [float(r[key]) for r in runs if r.get(key) is not None]

    return (
        f"| {name} | {MODES[mode]} | {calls} | {_fmt(col('success_rate'), '%', 100, 1)} | "
        f"{_fmt(col('stale_rate'), '%', 100, 1)} | {_fmt(col('failure_rate'), '%', 100, 1)}"
        f" | {_fmt(col('p50_s'), ' s')} | {_fmt(col('p95_s'), ' s')} | "
        f"{_fmt(col('p99_s'), ' s')} | {_fmt(col('max_s'), ' s')} | "
        f"{_fmt(col('upstream_requests_per_call'), '', 1, 3)} | "
        f"{_fmt(col('breaker_transitions'), '', 1, 0)} | "
        f"{_fmt(col('hedge_rate'), '', 1, 3)} | {_fmt(col('hedges_won_rate'), '', 1, 3)} |"
    )


def _outage_line(mode: str, runs: list[dict[str, Any]]) -> str:
    def col(key: str, scale: float = 1.0) -> list[float]:
        return [float(r[key]) * scale for r in runs if r.get(key) is not None]

    recovered = [r["recovered_after_s"] for r in runs]
    back = _fmt([float(x) for x in recovered if x is not None], " s") + (
        f", {recovered.count(None)} run(s) not back within 150 s" if None in recovered else ""
    )
    return (
        f"- {MODES[mode]}: after the breaker opened, "
        f"{_fmt(col('after_open_requests_per_call'))} upstream requests per call; failures "
        f"returned in {_fmt(col('after_open_failure_p50_ms'), ' ms', 1, 1)} (p50), "
        f"{_fmt(col('after_open_failure_max_ms'), ' ms', 1, 1)} (max); service resumed {back} "
        "after the index healed."
    )


def _scenario_runs(results: dict[str, Any], number: str, mode: str) -> list[dict[str, Any]]:
    """The runs of scenario *number* (e.g. ``"9."``) for *mode*, its largest size."""
    found = [
        (int(key.rpartition(" (")[2].split(")")[0]), runs)
        for key, runs in results["scenarios"].items()
        if key.startswith(number + " ") and key.endswith(f"[{mode}]")
    ]
    return max(found, key=lambda f: f[0])[1] if found else []


def _met(runs: list[dict[str, Any]], check: Callable[[dict[str, Any]], list[str]]) -> str:
    """``met (3/3 runs)``, or ``**missed** (1/3 runs met; missed: p99)`` naming what missed."""
    missed = [check(r) for r in runs]
    ok = sum(1 for m in missed if not m)
    if ok == len(runs):
        return f"met ({ok}/{len(runs)} runs)"
    what = sorted({part for m in missed for part in m})
    return f"**missed** ({ok}/{len(runs)} runs met; missed: {', '.join(what)})"


def _failure_counts(runs: list[dict[str, Any]]) -> str:
    """``circuit_open 30, timeout 2``: failures by type, summed over *runs*."""
    counts: dict[str, int] = {}
    for r in runs:
        for kind, n in r.get("failures", {}).items():
            counts[kind] = counts.get(kind, 0) + n
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"


def _misses(*checks: tuple[bool, str]) -> list[str]:
    """The labels of the checks that failed."""
    return [label for passed, label in checks if not passed]


Measured = Callable[[list[dict[str, Any]]], str]
Check = Callable[[dict[str, Any]], list[str]]

ISSUE_12: list[tuple[str, str, Measured, Check]] = [
    (
        "1.",
        "50% hang, 300 calls: ≥ 99.5% success, p99 ≤ 1.5 s, ≤ 2.2 req/call",
        lambda rs: (
            f"{_fmt([r['success_rate'] for r in rs], '%', 100, 1)}; p99 "
            f"{_fmt([r['p99_s'] for r in rs], ' s')}; "
            f"{_fmt([r['upstream_requests_per_call'] for r in rs])} req/call"
        ),
        lambda r: _misses(
            (r["success_rate"] >= 0.995, "success"),
            (r["p99_s"] <= 1.5, "p99"),
            (r["upstream_requests_per_call"] <= 2.2, "req/call"),
        ),
    ),
    (
        "9.",
        "brown-out: ≥ 99% success after the first 10 slow calls, none of the last 100 fail",
        lambda rs: (
            f"{_fmt([r['success_after_first_10_slow'] for r in rs], '%', 100, 1)} after the "
            f"first 10 slow; {_fmt([r['failures_in_last_100'] for r in rs], '', 1, 0)} of the "
            f"last 100 failed; overall {_fmt([r['success_rate'] for r in rs], '%', 100, 1)}"
        ),
        lambda r: _misses(
            (r["success_after_first_10_slow"] >= 0.99, "after the first 10"),
            (r["failures_in_last_100"] == 0, "last 100"),
        ),
    ),
    (
        "10.",
        "cold slow index (3.2 s): 100% success, default settings",
        lambda rs: (
            f"{_fmt([r['success_rate'] for r in rs], '%', 100, 1)}; p50 "
            f"{_fmt([r['p50_s'] for r in rs], ' s')}; failures over all runs: "
            + _failure_counts(rs)
        ),
        lambda r: _misses((r["success_rate"] == 1.0, "success")),
    ),
    (
        "11.",
        "one slow package (0.8 s): succeeds, first try or second",
        lambda rs: ", ".join(
            f"{r['slow_outcome']} in {r['slow_latency_s']:.2f} s after "
            f"{r['slow_attempts']} attempt(s) + {r['slow_hedges']} hedge(s)"
            for r in rs
        ),
        lambda r: _misses(
            (r["slow_outcome"] == "ok", r["slow_outcome"]), (r["slow_attempts"] <= 2, "attempts")
        ),
    ),
    (
        "12.",
        "one package answering 500: healthy 100% success, host breaker stays closed",
        lambda rs: (
            f"healthy {_fmt([r['success_rate'] for r in rs], '%', 100, 1)}; host breaker "
            f"opened {_fmt([r['host_breakers_opened'] for r in rs], '', 1, 0)} times "
            f"({_fmt([r['breaker_transitions'] for r in rs], '', 1, 0)} transitions); "
            f"{_fmt([r['bad_calls'] for r in rs], '', 1, 0)} calls for the bad package"
        ),
        lambda r: _misses(
            (r["success_rate"] == 1.0, "healthy success"),
            (r["host_breakers_opened"] == 0, "breaker opened"),
        ),
    ),
    (
        "13.",
        "429 with negative / past / garbage Retry-After: the computed backoff is waited, "
        "requests per call as with Retry-After: 1",
        lambda rs: (
            f"shortest wait after a 429 {_fmt([r['wait_min_s'] for r in rs], ' s')} (floor "
            f"{rs[0]['computed_backoff_floor_s']:.2f} s), median "
            f"{_fmt([r['wait_p50_s'] for r in rs], ' s')}; "
            f"{_fmt([r['waits_under_50ms'] for r in rs], '', 1, 0)} waits under 50 ms; "
            f"{_fmt([r['upstream_requests_per_call'] for r in rs], '', 1, 3)} req/call "
            f"(scenario 2: {{storm}})"
        ),
        lambda r: _misses(
            (r["waits_under_50ms"] == 0, "waits under 50 ms"),
            (r["wait_min_s"] >= 0.95 * r["computed_backoff_floor_s"], "wait below the floor"),
        ),
    ),
    (
        "14.",
        "200 health probes in 1 s: ≤ 2 upstream requests",
        lambda rs: (
            f"{_fmt([r['upstream_requests'] for r in rs], '', 1, 0)} upstream requests; "
            f"{_fmt([r['p99_s'] for r in rs], ' s')} p99 per probe"
        ),
        lambda r: _misses((r["upstream_requests"] <= 2, "requests")),
    ),
]
"""Issue 12's "Measure" table: scenario, target, what was measured, and per run what missed."""


def _issue12_text(results: dict[str, Any], modes: list[str]) -> list[str]:
    lines = [
        "| scenario | target | measured: median (min–max) | hedges/call (won), median | verdict |",
        "|---|---|---|---|---|",
    ]
    for number, target, measured, check in ISSUE_12:
        for mode in modes:
            runs = [r for r in _scenario_runs(results, number, mode) if "skipped" not in r]
            if not runs:
                continue
            text = measured(runs)
            if "{storm}" in text:
                storm = _scenario_runs(results, "2.", mode)
                text = text.replace(
                    "{storm}",
                    _fmt([r["upstream_requests_per_call"] for r in storm], "", 1, 3)
                    if storm
                    else "n/a",
                )
            hedges = (
                f"{statistics.median(r['hedge_rate'] for r in runs):.3f} "
                f"({statistics.median(r['hedges_won_rate'] for r in runs):.3f})"
            )
            lines.append(
                f"| {number} {MODES[mode]} | {target} | {text} | {hedges} | {_met(runs, check)} |"
            )
    return lines


EXIT = "import os; os._exit(0)"
"""Ends the reference points at once, as a server's start-up has no interpreter clean-up."""


async def startup(
    ours: str, peer_command: str | None, rounds: int
) -> dict[str, dict[str, list[float]]]:
    """Server start to first ``tools/list`` answer, ours and (if given) the peer's, interleaved.

    Ours is timed twice per round: a later start (``ours``: the cache directory holds the
    handshake snapshot an earlier start wrote, as it does for a user from the second start on)
    and a first start (``ours_first``: an empty cache directory, the SDK answers the handshake).
    Each round also times two reference points in our server's environment: the interpreter
    alone (``python -c pass``) and the MCP SDK's import alone (``python -c "import mcp"``).
    Returns wall-clock seconds (``wall``) and the process's CPU seconds (``cpu``) per series.
    """
    python = str(Path(ours).with_name("python"))
    keys = ("ours", "ours_first", "peer", "interpreter", "sdk_import")
    wall: dict[str, list[float]] = {k: [] for k in keys}
    cpu: dict[str, list[float]] = {k: [] for k in keys}

    def add(key: str, figures: tuple[float, float]) -> None:
        wall[key].append(figures[0])
        cpu[key].append(figures[1])

    with tempfile.TemporaryDirectory() as cache_dir:
        env = {"AUTODOCS_CACHE_DIR": cache_dir}
        await time_to_first_list(ours, env)  # writes the snapshot the later starts use
        for _ in range(rounds):
            add("ours", await time_to_first_list(ours, env))
            with tempfile.TemporaryDirectory() as empty:
                add("ours_first", await time_to_first_list(ours, {"AUTODOCS_CACHE_DIR": empty}))
            if peer_command:
                add("peer", await time_to_first_list(peer_command, env))
            # os._exit: the interpreter's clean-up at exit is no part of a server's start-up.
            add("interpreter", await time_to_exit([python, "-c", EXIT], env))
            add("sdk_import", await time_to_exit([python, "-c", f"import mcp; {EXIT}"], env))
    return {"wall": wall, "cpu": cpu}


def startup_imports(ours: str, peer_command: str | None) -> dict[str, dict[str, float]]:
    """``-X importtime`` self time per top-level package: our server, the SDK alone, the peer."""
    with tempfile.TemporaryDirectory() as cache_dir:
        env = {"AUTODOCS_CACHE_DIR": cache_dir}
        python = str(Path(ours).with_name("python"))
        found = {
            "ours": import_times([python, ours], env, server=True),
            "sdk_import": import_times([python, "-c", "import mcp"], env, server=False),
        }
        if peer_command:
            peer_python = str(Path(peer_command).with_name("python"))
            found["peer"] = import_times([peer_python, peer_command], env, server=True)
    return found


IMPORT_ROWS = 12
"""Packages listed in the start-up import breakdown (the rest are summed)."""


def _startup_text(
    measured: dict[str, dict[str, list[float]]], imports: dict[str, dict[str, float]]
) -> str:
    times, cpu = measured["wall"], measured["cpu"]
    med = {k: statistics.median(v) for k, v in times.items() if v}
    cpu_med = {k: statistics.median(v) for k, v in cpu.items() if v}
    lines: list[str] = []
    if not times["peer"]:
        lines.append(
            f"Server start to first `tools/list` answer (ours, {len(times['ours'])} runs): "
            f"{_fmt(times['ours'], ' s')}."
        )
    else:
        ratio = med["ours"] / med["peer"]
        lines.append(
            f"Server start to first `tools/list` answer, {len(times['ours'])} interleaved runs "
            f"each: ours {_fmt(times['ours'], ' s')}, autodoc-mcp {_fmt(times['peer'], ' s')}: "
            f"ours takes {ratio:.2f}× the peer's time (target ≤ 0.5×). CPU time of the server "
            f"process until that answer: ours {_fmt(cpu['ours'], ' s')}, autodoc-mcp "
            f"{_fmt(cpu['peer'], ' s')}: {cpu_med['ours'] / cpu_med['peer']:.2f}× (it moves "
            "less with other load on the machine)."
        )
        if times.get("ours_first"):
            lines.append("")
            lines.append(
                "These are later starts: the handshake is answered from the snapshot an earlier "
                "start wrote (docs/tools.md, Transports). A first start (empty cache directory, "
                f"the SDK answers): {_fmt(times['ours_first'], ' s')}, "
                f"{med['ours_first'] / med['peer']:.2f}× the peer's time; CPU "
                f"{_fmt(cpu['ours_first'], ' s')}, "
                f"{cpu_med['ours_first'] / cpu_med['peer']:.2f}×."
            )
    if "sdk_import" in med:
        peer = "peer" in med
        lines += [
            "",
            "Where our start-up goes (medians of the same rounds):",
            "",
            "| part | wall s | CPU s |" + (" wall × peer | CPU × peer |" if peer else ""),
            "|---|---:|---:|" + ("---:|---:|" if peer else ""),
        ]
        first = "ours_first" if "ours_first" in med else "ours"
        parts = [
            ("interpreter start (`python -c pass`)", "interpreter"),
            ('interpreter + the MCP SDK\'s import alone (`python -c "import mcp"`)', "sdk_import"),
            ("the rest: our imports, tool schemas, the handshake", "rest"),
            ("ours, first start to first `tools/list` answer", first),
        ]
        if first != "ours":
            parts.append(("ours, later start (handshake from the snapshot)", "ours"))
        med["rest"] = med[first] - med["sdk_import"]
        cpu_med["rest"] = cpu_med[first] - cpu_med["sdk_import"]
        for label, key in parts:
            cells = (
                f" {med[key] / med['peer']:.2f} | {cpu_med[key] / cpu_med['peer']:.2f} |"
                if peer
                else ""
            )
            lines.append(f"| {label} | {med[key]:.2f} | {cpu_med[key]:.2f} |{cells}")
    if imports:
        lines += [
            "",
            "Import time of a first start (no snapshot), to its end of input, by top-level "
            "package (`-X importtime` self time, one run each; importtime inflates every figure "
            "alike, so read the shares):",
            "",
            "| package | ours | % |" + (" peer | % |" if "peer" in imports else ""),
            "|---|---:|---:|" + ("---:|---:|" if "peer" in imports else ""),
        ]
        ours_total = sum(imports["ours"].values())
        peer = imports.get("peer", {})
        peer_total = sum(peer.values()) or 1.0
        top = sorted(imports["ours"], key=imports["ours"].__getitem__, reverse=True)
        for name in top[:IMPORT_ROWS]:
            cell = (
                f" {peer.get(name, 0) * 1000:.0f} ms | {100 * peer.get(name, 0) / peer_total:.0f} |"
                if peer
                else ""
            )
            lines.append(
                f"| {name} | {imports['ours'][name] * 1000:.0f} ms "
                f"| {100 * imports['ours'][name] / ours_total:.0f} |{cell}"
            )
        others = sum(imports["ours"][n] for n in top[IMPORT_ROWS:])
        peer_others = peer_total - sum(peer.get(n, 0) for n in top[:IMPORT_ROWS])
        peer_cells = f" {peer_others * 1000:.0f} ms | {100 * peer_others / peer_total:.0f} |"
        lines.append(
            f"| (the rest) | {others * 1000:.0f} ms | {100 * others / ours_total:.0f} |"
            + (peer_cells if peer else "")
        )
        lines.append(
            f"| **total** | {ours_total * 1000:.0f} ms | 100 |"
            + (f" {peer_total * 1000:.0f} ms | 100 |" if peer else "")
        )
        sdk_packages = set(imports["sdk_import"])
        sdk = sum(v for k, v in imports["ours"].items() if k in sdk_packages)
        rest = sorted(
            (k for k in imports["ours"] if k not in sdk_packages),
            key=imports["ours"].__getitem__,
            reverse=True,
        )
        lines += [
            "",
            f"In the same profile, {100 * sdk / ours_total:.0f}% of our import time is in "
            "packages that `import mcp` loads by itself (the SDK, its dependencies and the "
            f"standard library modules they use); {100 * (1 - sdk / ours_total):.0f}% in the "
            f"rest ({', '.join(rest[:8])}, ...).",
        ]
    return "\n".join(lines)


def _soak_text(runs: list[dict[str, Any]]) -> str:
    lines = []
    for r in runs:
        first, last = r["samples"][0], r["samples"][-1]
        failures = ", ".join(f"{k} {v}" for k, v in sorted(r["failures"].items())) or "none"
        lines.append(
            f"- {r['calls']} calls in {r['duration_s']:.0f} s: {r['success_rate'] * 100:.1f}% "
            f"ok, {r['stale_rate'] * 100:.1f}% stale, {r['failure_rate'] * 100:.2f}% failed "
            f"({failures}); p99 {r['p99_s']:.2f} s; {r['upstream_requests_per_call']:.2f} "
            "upstream requests per call.\n"
            f"- Server RSS {first['rss_bytes'] / 2**20:.1f} MiB after {first['calls']} calls, "
            f"{last['rss_bytes'] / 2**20:.1f} MiB after {last['calls']}; after warm-up (the "
            f"first fifth) it stayed within {r['rss_range_after_warmup'] * 100:.1f}% (target "
            f"5%); trend over the last half "
            f"{r['rss_slope_bytes_per_1000_calls_last_half'] / 1024:+.0f} KiB per 1000 calls.\n"
            f"- Open descriptors other than sockets: {first['other_fds']} → {last['other_fds']} "
            f"(range after warm-up {r['other_fds_range_after_warmup'] * 100:.1f}%); sockets at "
            f"most {r['max_sockets']} (the pool keeps up to 10 to the index, plus the loop's)."
        )
    return "\n".join(lines)


HEADER = [
    "| scenario | target | calls | success | stale | failure | p50 | p95 | p99 | max "
    "| upstream req/call | breaker transitions | hedges/call | hedges won/call |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
]


def run(*, quick: bool, write_docs: bool, peer_command: str | None = None) -> dict[str, Any]:
    """Run every scenario through each target; print and save the tables."""
    modes = ["core", "mcp"] + (["peer"] if peer_command else [])
    results = _header(peer_command)
    results["seeds"] = _seeds(quick)
    results["scenarios"] = {}
    for name in SCENARIOS:
        for mode in modes:
            lab = Lab(mode, peer_command)
            seeds = [1] if mode == "peer" else _seeds(quick)
            for calls in _sizes(mode, quick).get(name, []):
                runs = [anyio.run(SCENARIOS[name], lab, calls, seed) for seed in seeds]
                results["scenarios"][f"{name} ({calls}) [{mode}]"] = runs
                print(_row(mode, name, calls, runs), flush=True)
    text = _text(results)
    print(text)
    _publish("faultlab", results, text, quick=quick, write_docs=write_docs)
    return results


ISSUE_12_NOTES = """\
Scenarios 9–14 (issue 12), default settings unless said:
9 answers take 10 ms for 100 calls, then 1.5 s each for 200 more (distinct packages, 10 at a
time); 10 every answer takes 3.2 s from the start (20 calls, 10 at a time); 11 50 fast
lookups, then one package whose answers take 0.8 s; 12 one package's URLs answer 500 and it is
asked again and again while 200 calls for 50 healthy packages arrive (10 every second, version
lists never fresh, so each asks the index); 13 as scenario 2, but the 429s say `Retry-After: -5`,
a date in 2015 or `soon, maybe`; 14 (core API only: the MCP targets speak stdio, `/healthz`
belongs to the HTTP transport) 200 `service.health()` calls started over one second.
"hedges/call" is hedged requests sent per call, "won" those that answered first."""


def _text(results: dict[str, Any]) -> str:
    """The fault-lab section of docs/benchmarks.md, from the results alone."""
    lines = list(HEADER)
    outage: list[str] = []
    modes: list[str] = []
    for name in SCENARIOS:
        for mode in MODES:
            found = sorted(
                (int(key[len(name) + 2 :].split(")")[0]), runs)
                for key, runs in results["scenarios"].items()
                if key.startswith(f"{name} (") and key.endswith(f"[{mode}]")
            )
            for calls, runs in found:
                modes += [] if mode in modes else [mode]
                lines.append(_row(mode, name, calls, runs))
                if name.startswith("3."):
                    outage.append(_outage_line(mode, runs))
    peer = " (the peer: seed 1)" if "peer" in modes else ""
    return "\n".join(
        [
            f"Seeds {results.get('seeds', [1, 2, 3])}{peer}, median (min–max).",
            "",
            *lines,
            "",
            ISSUE_12_NOTES,
            "",
            *[f"Note: {note}" for note in results.get("notes", [])],
            *([""] if results.get("notes") else []),
            "Issue 12's targets; a target is met when every run meets it:",
            "",
            *_issue12_text(results, [m for m in modes if m != "peer"]),
            "",
            *(
                ["Outage (scenario 3), recovery period 15 s + up to 10% jitter:", "", *outage]
                if outage
                else []
            ),
        ]
    )


def rewrite_docs() -> None:
    """Rewrite the fault-lab section of docs/benchmarks.md from benchmarks/results/faultlab.json."""
    import json

    from ._harness import RESULTS

    results = json.loads((RESULTS / "faultlab.json").read_text("utf-8"))
    _publish("faultlab", results, _text(results), quick=False, write_docs=True, save_json=False)


def _publish(
    name: str,
    results: dict[str, Any],
    text: str,
    *,
    quick: bool,
    write_docs: bool,
    save_json: bool = True,
) -> None:
    if quick:
        return
    if save_json:
        save(name, results)
    if write_docs:
        write_docs_section(
            name,
            f"Measured on {results['machine']['platform']}, Python "
            f"{results['machine']['python']}, {results['machine']['cpus']} CPUs; versions "
            + ", ".join(f"{k} {v}" for k, v in results["versions"].items())
            + ".\n\n"
            + text,
        )


def _header(peer_command: str | None) -> dict[str, Any]:
    results: dict[str, Any] = {
        "machine": machine(),
        "versions": versions("autodocs-mcp-server", "httpx", "anyio", "mcp"),
    }
    if peer_command:
        results["versions"]["autodoc-mcp"] = peer_version(peer_command)
    return results


def run_soak(*, quick: bool, write_docs: bool, peer_command: str | None = None) -> dict[str, Any]:
    """Scenario 8: the soak through one ``autodocs-mcp`` process (500 calls when quick)."""
    results = _header(None)
    results["soak"] = [anyio.run(soak, Lab("mcp"), 500 if quick else 10_000, 1)]
    text = (
        "One `autodocs-mcp` process through the official client, seed 1, about 17% of requests "
        "faulty (hang, 503, 429, reset, close, truncate, garbage, slow), version lists fresh "
        "for 1 s so the index keeps being asked:\n\n" + _soak_text(results["soak"])
    )
    print(text)
    _publish("soak", results, text, quick=quick, write_docs=write_docs)
    return results


def run_startup(
    *,
    quick: bool,
    write_docs: bool,
    peer_command: str | None = None,
    ours_command: str | None = None,
) -> dict[str, Any]:
    """Server start to the first ``tools/list`` answer, ours and (with a peer) the peer's.

    *ours_command* is our console script in an environment installed as a user's is (not
    editable, bytecode compiled, without the benchmark's extra packages: ``nox -s bench``
    makes one); default the ``autodocs-mcp`` beside this interpreter.
    """
    ours = ours_command or OURS
    results = _header(peer_command)
    results["ours_command"] = ours
    measured = anyio.run(startup, ours, peer_command, 3 if quick else 9)
    results["startup_s"] = measured["wall"]
    results["startup_cpu_s"] = measured["cpu"]
    results["startup_imports_s"] = startup_imports(ours, peer_command)
    text = _startup_text(measured, results["startup_imports_s"])
    print(text)
    _publish("startup", results, text, quick=quick, write_docs=write_docs)
    return results


if __name__ == "__main__":  # python -m benchmarks.faultlab: redraw the section from the JSON
    rewrite_docs()
