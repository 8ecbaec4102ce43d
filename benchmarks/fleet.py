"""Fleet benchmark (issue 15): four real replicas sharing a real redis-server.

``python -m benchmarks fleet [--quick] [--write-docs]``. Every replica is an
``autodocs-mcp --transport http`` process started by :class:`benchmarks._fleet.Fleet`, next to a
``redis-server`` it starts on a free loopback port. The index is the fault lab's loopback
``FaultIndex`` (recorded packages, renamed copies, fault plans) in this process; every request it
receives is logged with its arrival time (``faultlab._LoggedPlan``), and the upstream figures are
counted from that log per package path. Calls go through the official ``mcp`` client over
streamable HTTP (one ``Client`` per replica, the fault lab's ``McpTarget`` classifying each answer),
spread round robin over the replicas.

The baseline column runs the same scenario on four replicas with ``AUTODOCS_REDIS_URL`` unset
(four independent processes), so the table shows what the shared layer buys. Row 7 (a hit
through a replica that has the entry only in Redis) is measured in this process with two
``DocsService`` over the same redis-server; the MCP path is shown beside it for context.

Needs ``redis-server`` (or ``valkey-server``) on PATH and the ``redis`` extra; without either,
the suite prints a note and skips.
"""

from __future__ import annotations

import contextlib
import importlib.util
import itertools
import os
import signal
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any

import anyio
import attrs
import httpx

from autodocs_core.config import Settings
from autodocs_core.service import DocsService
from autodocs_core.testing import Fault, FaultIndex

from ._fleet import Fleet, RedisProcess, redis_server_binary
from ._harness import machine, save, versions, write_docs_section
from ._targets import McpTarget
from .faultlab import _LoggedPlan, _pct
from .serve_index import load_projects

REPLICAS = 4
PROJECTS = load_projects(copies=60)
NAMES = sorted(PROJECTS)  # 300 packages: 5 recorded ones and 59 renamed copies of each
FLEET_RATE = 20.0
RECOVERY_S = 15.0  # FleetConfig.recovery_time: one probe per such period, fleet-wide

Outcome = tuple[str, float, float]  # (outcome, started at, seconds)


class Pool:
    """Fresh package names, handed out once each, so no scenario finds another's entries."""

    def __init__(self, names: Sequence[str]) -> None:
        self._names = list(names)

    def take(self, n: int) -> list[str]:
        """The next *n* unused names."""
        if n > len(self._names):
            raise RuntimeError("the benchmark ran out of fresh package names")
        taken, self._names = self._names[:n], self._names[n:]
        return taken


class RoundRobin:
    """One MCP client per replica; call *k* goes to replica ``k mod N``."""

    def __init__(self, targets: list[McpTarget]) -> None:
        self.targets = targets
        self._next = 0

    async def call(self, package: str, replica: int | None = None) -> str:
        """Ask the next replica (or *replica*) for *package*'s docs; return the outcome."""
        if replica is None:
            replica, self._next = self._next, self._next + 1
        return await self.targets[replica % len(self.targets)].call(package)


class Lab:
    """A running fleet, its index (with a logged plan) and a client per replica."""

    def __init__(self, fleet: Fleet, index: FaultIndex, plan: _LoggedPlan, rr: RoundRobin):
        self.fleet = fleet
        self.index = index
        self.plan = plan
        self.rr = rr

    @property
    def shared(self) -> bool:
        """Whether the replicas share a Redis."""
        return self.fleet.redis is not None

    def requests(self, names: Sequence[str] = (), since: float = 0.0) -> int:
        """Requests logged at or after *since* (``perf_counter``), for *names* (default: any)."""
        paths = [f"/{n}/" for n in names]
        return sum(
            1
            for path, at, _ in self.plan.log
            if at >= since and (not paths or any(p in path for p in paths))
        )

    def per_package(self, names: Sequence[str]) -> dict[str, int]:
        """Requests logged per package in *names*."""
        return {n: self.requests([n]) for n in names}

    async def health(self, replica: int) -> dict[str, Any]:
        """One replica's ``/healthz``."""
        base = self.fleet.urls[replica].removesuffix("/mcp")
        async with httpx.AsyncClient(timeout=10) as http:
            return dict((await http.get(f"{base}/healthz")).json())

    async def counters(self) -> dict[str, int]:
        """The replicas' shared-layer counters (``get_metrics``), summed over the fleet."""
        total: dict[str, int] = {}
        for target in self.rr.targets:
            metrics = await target.metrics() or {}
            shared = metrics.get("shared", {})
            found = {
                "admission_refusals": metrics.get("admission_refusals", 0),
                "hedges_sent": metrics.get("hedges", {}).get("sent", 0),
                "coalesced_waits": shared.get("coalesced_waits", 0),
                "lease_takeovers": shared.get("lease_takeovers", 0),
                "local_leases": shared.get("local_leases", 0),
                **{f"fallback_{k}": v for k, v in shared.get("fallback_reasons", {}).items()},
            }
            for key, value in found.items():
                total[key] = total.get(key, 0) + int(value)
        return total

    async def wait_shared_healthy(self, limit: float = 30.0) -> float:
        """Call every replica until each reports its ``shared`` check healthy; return the wait.

        A replica's guard around Redis closes again only after an operation succeeds, and a
        cached package costs no Redis call: each round asks every replica for a package nobody
        has (its own name, unknown to the index), which reads the shared tier.
        """
        started = time.perf_counter()
        with anyio.move_on_after(limit):
            for n in range(10**6):
                for i in range(len(self.fleet.urls)):
                    await self.rr.call(f"warm-{n}-{i}", i)
                checks = [await self.health(i) for i in range(len(self.fleet.urls))]
                if all(c["checks"]["shared"]["status"] == "healthy" for c in checks):
                    break
                await anyio.sleep(0.2)
        return time.perf_counter() - started


@contextlib.asynccontextmanager
async def open_lab(*, shared: bool, env: Mapping[str, str] | None = None) -> AsyncIterator[Lab]:
    """Start the index, a fleet of :data:`REPLICAS` (with Redis or without) and the clients."""
    from mcp import Client

    plan = _LoggedPlan(seed=1)
    async with FaultIndex(PROJECTS, plan=plan) as index:
        extra = {"AUTODOCS_OPERATOR_TOOLS": "1", **(env or {})}
        # redis_url="" starts no redis-server and leaves AUTODOCS_REDIS_URL empty (= unset).
        fleet = Fleet(REPLICAS, index_url=index.url, redis_url=None if shared else "", env=extra)
        await anyio.to_thread.run_sync(fleet.start)
        try:
            async with contextlib.AsyncExitStack() as stack:
                targets = []
                for url, server in zip(fleet.urls, fleet.servers, strict=True):
                    client = await stack.enter_async_context(Client(url))
                    label = f"replica {server.name}"
                    targets.append(McpTarget(client, label=label, peer=False, pid=server.pid))
                yield Lab(fleet, index, plan, RoundRobin(targets))
        finally:
            await anyio.to_thread.run_sync(fleet.stop)


# -- running calls ------------------------------------------------------------------------------


async def burst(lab: Lab, names: Sequence[str]) -> list[Outcome]:
    """Start every call at once (call *k* to replica ``k mod N``); return them in order."""
    results: list[Outcome] = [("not_run", 0.0, 0.0)] * len(names)

    async def one(i: int, name: str) -> None:
        started = time.perf_counter()
        outcome = await lab.rr.call(name, i)
        results[i] = (outcome, started, time.perf_counter() - started)

    async with anyio.create_task_group() as tg:
        for i, name in enumerate(names):
            tg.start_soon(one, i, name)
    return results


async def stream(
    lab: Lab,
    names: Sequence[str],
    per_second: float,
    at: Callable[[float], Awaitable[None]] | None = None,
) -> list[Outcome]:
    """Start one call every ``1 / per_second`` s (round robin); *at(elapsed)* runs between."""
    results: list[Outcome] = [("not_run", 0.0, 0.0)] * len(names)

    async def one(i: int, name: str) -> None:
        started = time.perf_counter()
        outcome = await lab.rr.call(name, i)
        results[i] = (outcome, started, time.perf_counter() - started)

    began = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for i, name in enumerate(names):
            tg.start_soon(one, i, name)
            if at is not None:
                await at(time.perf_counter() - began)
            await anyio.sleep(max(0.0, began + (i + 1) / per_second - time.perf_counter()))
    return results


def summary(results: Sequence[Outcome]) -> dict[str, Any]:
    """Calls, failures by type, latency percentiles."""
    latencies = [s for _, _, s in results]
    failures: dict[str, int] = {}
    for outcome, _, _ in results:
        if outcome not in ("ok", "stale"):
            failures[outcome] = failures.get(outcome, 0) + 1
    return {
        "calls": len(results),
        "failed": sum(failures.values()),
        "failures": failures,
        "p50_s": _pct(latencies, 0.5),
        "p99_s": _pct(latencies, 0.99),
        "max_s": max(latencies, default=0.0),
    }


def each_once_per_replica(packages: Sequence[str]) -> list[str]:
    """Each package asked by every replica (calls 4p … 4p+3 go to replicas 0 … 3)."""
    return [p for p in packages for _ in range(REPLICAS)]


# -- scenarios ----------------------------------------------------------------------------------


async def stampede(lab: Lab, pool: Pool, calls: int) -> dict[str, Any]:
    """1. *calls* concurrent first calls for one uncached package, spread over the replicas."""
    (name,) = pool.take(1)
    results = await burst(lab, [name] * calls)
    return {**summary(results), "package": name, "upstream": lab.requests([name])}


async def crowd(lab: Lab, pool: Pool, packages: int) -> dict[str, Any]:
    """2. Every replica asks for each of *packages* uncached packages, all at once."""
    names = pool.take(packages)
    results = await burst(lab, each_once_per_replica(names))
    counts = lab.per_package(names)
    return {
        **summary(results),
        "packages": packages,
        "upstream": sum(counts.values()),
        "max_per_package": max(counts.values()),
    }


async def redis_killed(lab: Lab, pool: Pool, packages: int) -> dict[str, Any]:
    """3. As 2 on fresh packages; Redis is SIGKILLed once the index saw a quarter of them.

    Afterwards redis-server is started again on the same port (empty), for the next scenarios.
    """
    assert lab.fleet.redis is not None
    names = pool.take(packages)
    before = len(lab.index.requests)
    killed_at: list[float] = []

    async def killer() -> None:
        await lab.index.wait_for_requests(before + max(1, packages // 4))
        assert lab.fleet.redis is not None
        os.kill(lab.fleet.redis.pid, signal.SIGKILL)
        killed_at.append(time.perf_counter())

    async with anyio.create_task_group() as tg:
        tg.start_soon(killer)
        results = await burst(lab, each_once_per_replica(names))
        tg.cancel_scope.cancel()
    counts = lab.per_package(names)
    old = lab.fleet.redis
    await anyio.to_thread.run_sync(old.stop)
    assert lab.fleet.directory is not None
    lab.fleet.redis = RedisProcess(lab.fleet.directory, port=old.port)
    await anyio.to_thread.run_sync(lab.fleet.redis.wait_ready)
    calls_done_before_kill = sum(1 for _, s, d in results if killed_at and s + d < killed_at[0])
    return {
        **summary(results),
        "packages": packages,
        "killed": bool(killed_at),
        "calls_done_before_kill": calls_done_before_kill,
        "upstream": sum(counts.values()),
        "max_per_package": max(counts.values()),
        "over_one_per_replica": sum(1 for c in counts.values() if c > REPLICAS),
        "recovered_after_restart_s": await lab.wait_shared_healthy(),
    }


async def redis_hung(lab: Lab, pool: Pool, packages: int, stop_s: float) -> dict[str, Any]:
    """4. A steady stream over fresh packages, twice: as is, then with Redis SIGSTOPped.

    Each run asks every replica for each of *packages* packages (``4 × packages`` calls) over
    ``3 × stop_s`` seconds; in the second, Redis is stopped from ``stop_s`` to ``2 × stop_s``,
    then continued.
    """
    assert lab.fleet.redis is not None
    pid = lab.fleet.redis.pid
    rate = REPLICAS * packages / (3 * stop_s)
    plain = await stream(lab, each_once_per_replica(pool.take(packages)), rate)
    phase = {"stopped": False, "continued": False}

    async def at(elapsed: float) -> None:
        if not phase["stopped"] and elapsed >= stop_s:
            os.kill(pid, signal.SIGSTOP)
            phase["stopped"] = True
        elif phase["stopped"] and not phase["continued"] and elapsed >= 2 * stop_s:
            os.kill(pid, signal.SIGCONT)
            phase["continued"] = True

    hung_names = pool.take(packages)
    try:
        hung = await stream(lab, each_once_per_replica(hung_names), rate, at)
    finally:
        os.kill(pid, signal.SIGCONT)  # whatever happened, never leave it stopped
    plain_s, hung_s = summary(plain), summary(hung)
    counts = lab.per_package(hung_names)
    return {
        "stop_s": stop_s,
        "packages": packages,
        "calls_per_second": rate,
        "without_stop": plain_s,
        "with_stop": hung_s,
        "failed": hung_s["failed"],
        "p99_added_s": hung_s["p99_s"] - plain_s["p99_s"],
        "p50_added_s": hung_s["p50_s"] - plain_s["p50_s"],
        "upstream": sum(counts.values()),
        "max_per_package": max(counts.values()),
        "recovered_after_continue_s": await lab.wait_shared_healthy(),
    }


async def outage(lab: Lab, seconds: float) -> dict[str, Any]:
    """5. The index answers 503 to everything; 20 calls per second for *seconds*.

    Counted after the first call that comes back ``circuit_open`` (some replica's breaker, or
    the fleet's decision, refused it): upstream requests per call started after that, and the
    requests in each recovery period after it (the probes).
    """
    lab.plan.probabilities = [(Fault("status", status=503), 1.0)]
    per_second = 20.0
    # Names no replica has cached (and the index does not know): every call needs the index.
    names = [f"outage-{i}" for i in range(int(seconds * per_second))]
    start = time.perf_counter()
    try:
        results = await stream(lab, names, per_second)
    finally:
        lab.plan.probabilities = []
    opened = [s + d for o, s, d in results if o == "circuit_open"]
    first_open = min(opened, default=None)
    out = {**summary(results), "duration_s": time.perf_counter() - start, "opened": bool(opened)}
    if first_open is None:
        return out
    after = [r for r in results if r[1] >= first_open]
    end = max(s + d for _, s, d in results)
    times = sorted(at - first_open for _, at, _ in lab.plan.log if start <= at and at >= first_open)
    # Probes: after the first recovery period, requests come in clusters (a probe and whatever
    # was already in flight); a cluster is requests less than 1 s apart.
    settled = [t for t in times if t >= 1.0]
    clusters: list[list[float]] = []
    for t in settled:
        if clusters and t - clusters[-1][-1] < 1.0:
            clusters[-1].append(t)
        else:
            clusters.append([t])
    periods = int((end - first_open) // RECOVERY_S)
    out.update(
        {
            "before_open_calls": len(results) - len(after),
            "before_open_requests": lab.requests(since=start) - len(times),
            "after_open_calls": len(after),
            "after_open_requests": len(times),
            "after_open_requests_per_call": len(times) / max(1, len(after)),
            "after_open_seconds": end - first_open,
            "recovery_periods": periods,
            "probe_clusters_s": [[round(t, 2) for t in c] for c in clusters],
            "requests_after_first_second": len(settled),
            "probes_per_period": (len(settled) / periods) if periods else None,
        }
    )
    return out


async def fleet_rate(lab: Lab, seconds: float) -> dict[str, Any]:
    """6. 40 calls at a time (10 per replica) for *seconds*, version lists never fresh.

    Requests per second upstream: over the whole run, and after the first second (the burst of
    10 the limiter allows on top of the rate), with the busiest one-second bucket.
    """
    start = time.perf_counter()
    outcomes: list[Outcome] = []
    counter = iter(range(10**9))

    async def worker(replica: int) -> None:
        while time.perf_counter() - start < seconds:
            i = next(counter)
            t = time.perf_counter()
            outcome = await lab.rr.call(NAMES[i % len(NAMES)], replica)
            outcomes.append((outcome, t, time.perf_counter() - t))

    async with anyio.create_task_group() as tg:
        for k in range(10 * REPLICAS):
            tg.start_soon(worker, k % REPLICAS)
    end = start + seconds
    times = [at - start for _, at, _ in lab.plan.log if start <= at <= end]
    buckets = [0] * int(seconds)
    for t in times:
        if 1.0 <= t < int(seconds):
            buckets[int(t)] += 1
    steady = buckets[1:]
    return {
        **summary(outcomes),
        "seconds": seconds,
        "requests": len(times),
        "requests_per_second": len(times) / seconds,
        "requests_per_second_after_first": sum(steady) / max(1, len(steady)),
        "busiest_second": max(steady, default=0),
    }


async def shared_hit_mcp(lab: Lab, pool: Pool, packages: int) -> dict[str, Any]:
    """7 (MCP path, for context): replica 1 fetches; replica 2 hits Redis, then itself."""
    names = pool.take(packages)
    shared: list[float] = []
    local: list[float] = []
    for name in names:
        await lab.rr.call(name, 0)
    for name in names:
        t = time.perf_counter()
        assert await lab.rr.call(name, 1) == "ok"
        shared.append(time.perf_counter() - t)
        t = time.perf_counter()
        assert await lab.rr.call(name, 1) == "ok"
        local.append(time.perf_counter() - t)
    return {
        "packages": packages,
        "shared_p50_ms": statistics.median(shared) * 1000,
        "local_p50_ms": statistics.median(local) * 1000,
        "added_ms": (statistics.median(shared) - statistics.median(local)) * 1000,
        "upstream": lab.requests(names),
    }


async def shared_hit_core(redis_url: str, packages: int) -> dict[str, Any]:
    """7. Two ``DocsService`` over one redis-server: B's first call (only Redis has it) vs its next.

    Each package: A fetches it (and stores it in Redis); B asks for it once (memory and disk
    miss, Redis hit) and again (memory hit). Interleaved per package; medians over packages.
    """
    names = NAMES[:packages]
    async with FaultIndex(PROJECTS) as index:
        with tempfile.TemporaryDirectory() as a_dir, tempfile.TemporaryDirectory() as b_dir:

            def settings(cache_dir: str) -> Settings:
                return Settings.from_env(
                    {
                        "AUTODOCS_INDEX_URL": index.url,
                        "AUTODOCS_CACHE_DIR": cache_dir,
                        "AUTODOCS_REDIS_URL": redis_url,
                    }
                )

            async with DocsService(settings(a_dir)) as a, DocsService(settings(b_dir)) as b:
                for name in names:
                    await a.get_docs(name, max_tokens=1000)
                fetched = index.count()
                shared: list[float] = []
                local: list[float] = []
                for name in names:
                    t = time.perf_counter()
                    await b.get_docs(name, max_tokens=1000)
                    shared.append(time.perf_counter() - t)
                    t = time.perf_counter()
                    await b.get_docs(name, max_tokens=1000)
                    local.append(time.perf_counter() - t)
                b_requests = index.count() - fetched
                b_hits = b.cache.shared_hits
                # Redis's own share: one GET of the version list (the only read a hit needs).
                redis_get: list[float] = []
                for name in names:
                    key = b.cache.shared_key("project", name)
                    t = time.perf_counter()
                    await b.shared.get(key)
                    redis_get.append(time.perf_counter() - t)
            # For scale: a disk hit (A's directory, memory empty, no Redis) against memory.
            disk: list[float] = []
            async with DocsService(
                Settings.from_env({"AUTODOCS_INDEX_URL": index.url, "AUTODOCS_CACHE_DIR": a_dir})
            ) as c:
                for name in names:
                    t = time.perf_counter()
                    await c.get_docs(name, max_tokens=1000)
                    disk.append(time.perf_counter() - t)
    return {
        "packages": packages,
        "shared_p50_ms": statistics.median(shared) * 1000,
        "shared_p90_ms": _pct(shared, 0.9) * 1000,
        "local_p50_ms": statistics.median(local) * 1000,
        "local_p90_ms": _pct(local, 0.9) * 1000,
        "disk_p50_ms": statistics.median(disk) * 1000,
        "redis_get_p50_ms": statistics.median(redis_get) * 1000,
        "added_ms": (statistics.median(shared) - statistics.median(local)) * 1000,
        "b_upstream_requests": b_requests,
        "b_shared_hits": b_hits,
    }


# -- the run ------------------------------------------------------------------------------------


@attrs.frozen
class Sizes:
    """How big each scenario is (the full run, or the smoke run's)."""

    stampede: int  # concurrent calls for one package (row 1)
    crowd: int  # packages, each asked by every replica (rows 2 and 3)
    hung_packages: int  # packages per stream (row 4)
    stop_s: float  # how long Redis is stopped (row 4); each stream lasts three times that
    outage_s: float  # the 503 stream (row 5; 0: not run)
    rate_s: float  # each rate run (row 6; 0: not run)
    hit_packages: int  # row 7


FULL = Sizes(
    stampede=400,
    crowd=50,
    hung_packages=50,
    stop_s=10.0,
    outage_s=55.0,  # earlier successes in the breaker's 30 s window delay its opening
    rate_s=15.0,
    hit_packages=30,
)
QUICK = Sizes(
    stampede=100,
    crowd=10,
    hung_packages=10,
    stop_s=2.0,
    outage_s=0.0,  # it waits for the breakers and their recovery periods
    rate_s=0.0,  # two more fleets
    hit_packages=10,
)


async def measure(quick: bool) -> dict[str, Any]:
    """Every scenario, shared fleet first, then the baselines."""
    size = QUICK if quick else FULL
    shared: dict[str, Any] = {}
    baseline: dict[str, Any] = {}
    timings: dict[str, float] = {}

    async def timed(
        store: dict[str, Any], key: str, lab: Lab, work: Callable[[], Awaitable[dict[str, Any]]]
    ) -> None:
        kind = "shared" if store is shared else "baseline"
        before = await lab.counters()
        t = time.perf_counter()
        result = await work()
        timings[f"{key} [{kind}]"] = time.perf_counter() - t
        after = await lab.counters()
        result["fleet_counters"] = {
            k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)
        }
        store[key] = result
        print(f"  {key} ({kind}): {result}", flush=True)

    async with open_lab(shared=True) as lab:
        pool = Pool(NAMES)
        await timed(shared, "stampede", lab, lambda: stampede(lab, pool, size.stampede))
        await timed(shared, "crowd", lab, lambda: crowd(lab, pool, size.crowd))
        await timed(shared, "killed", lab, lambda: redis_killed(lab, pool, size.crowd))
        await timed(
            shared,
            "hung",
            lab,
            lambda: redis_hung(lab, pool, size.hung_packages, size.stop_s),
        )
        await timed(shared, "hit_mcp", lab, lambda: shared_hit_mcp(lab, pool, size.hit_packages))
        await timed(
            shared, "hit", lab, lambda: shared_hit_core(lab.fleet.redis_url, size.hit_packages)
        )
        if size.outage_s:
            await timed(shared, "outage", lab, lambda: outage(lab, size.outage_s))
    if not quick:
        async with open_lab(shared=False) as lab:
            pool = Pool(NAMES)
            await timed(baseline, "stampede", lab, lambda: stampede(lab, pool, size.stampede))
            await timed(baseline, "crowd", lab, lambda: crowd(lab, pool, size.crowd))
            await timed(baseline, "outage", lab, lambda: outage(lab, size.outage_s))
        rate_env = {"AUTODOCS_FLEET_RATE": str(FLEET_RATE), "AUTODOCS_VERSIONS_TTL": "0"}
        async with open_lab(shared=True, env=rate_env) as lab:
            await timed(shared, "rate", lab, lambda: fleet_rate(lab, size.rate_s))
        async with open_lab(shared=False, env=rate_env) as lab:
            await timed(baseline, "rate", lab, lambda: fleet_rate(lab, size.rate_s))
    return {"shared": shared, "baseline": baseline, "sizes": attrs.asdict(size), "seconds": timings}


# -- the table ----------------------------------------------------------------------------------


def one_probe_per_period(o: dict[str, Any]) -> bool:
    """Whether the requests after the open were one probe per recovery period.

    Each cluster is one request, clusters are a period apart, and a probe came in (nearly)
    every period that passed (the last may end before its probe).
    """
    clusters = o["probe_clusters_s"]
    starts = [c[0] for c in clusters]
    spaced = all(b - a >= 0.9 * RECOVERY_S for a, b in itertools.pairwise(starts))
    return (
        all(len(c) == 1 for c in clusters)
        and spaced
        and len(clusters) >= max(1, o["recovery_periods"] - 1)
    )


def _hedges(r: dict[str, Any]) -> str:
    """``12 of them hedges``: the hedged requests the replicas sent during the scenario."""
    return f"{r.get('fleet_counters', {}).get('hedges_sent', 0)} of them hedges"


def _verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def rows(results: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """(scenario, target, measured, without Redis, verdict) per scenario that ran."""
    sh, base = results["shared"], results["baseline"]
    out: list[tuple[str, str, str, str, str]] = []

    def calls(r: dict[str, Any]) -> str:
        failed = ", ".join(f"{k} {v}" for k, v in sorted(r["failures"].items()))
        return f"{r['failed']} of {r['calls']} calls failed" + (f" ({failed})" if failed else "")

    if "stampede" in sh:
        r, b = sh["stampede"], base.get("stampede")
        out.append(
            (
                f"1. {r['calls']} concurrent first calls for one uncached package",
                "1 upstream request (≤ 2), all succeed",
                f"**{r['upstream']}** upstream request(s); {calls(r)}; p50 {_ms(r['p50_s'])}, "
                f"p99 {_ms(r['p99_s'])}",
                f"{b['upstream']} requests; {calls(b)}" if b else "—",
                _verdict(r["upstream"] <= 2 and r["failed"] == 0),
            )
        )
    if "crowd" in sh:
        r, b = sh["crowd"], base.get("crowd")
        out.append(
            (
                f"2. {r['calls']} calls over {r['packages']} uncached packages (every replica "
                "asks for each, at once)",
                f"{r['packages']} upstream requests",
                f"**{r['upstream']}** (at most {r['max_per_package']} per package; "
                f"{_hedges(r)}); {calls(r)}; p99 {_ms(r['p99_s'])}",
                f"{b['upstream']} (at most {b['max_per_package']} per package; {_hedges(b)}); "
                f"{calls(b)}"
                if b
                else "—",
                _verdict(r["upstream"] <= r["packages"] and r["failed"] == 0),
            )
        )
    if "killed" in sh:
        r = sh["killed"]
        out.append(
            (
                "3. as 2 on fresh packages, Redis SIGKILLed once the index had received "
                "requests for a quarter of them",
                f"0 failed calls; upstream ≤ one per package per replica (≤ {REPLICAS})",
                f"**{r['failed']}** failed of {r['calls']}; {r['upstream']} upstream requests "
                f"for {r['packages']} packages ({_hedges(r)}), at most "
                f"**{r['max_per_package']}** per package; "
                f"{r['calls_done_before_kill']} calls had finished before the kill; p99 "
                f"{_ms(r['p99_s'])}; shared again {r['recovered_after_restart_s']:.1f} s after "
                "a restart on the same port",
                "— (no Redis to lose)",
                _verdict(r["failed"] == 0 and r["max_per_package"] <= REPLICAS and r["killed"]),
            )
        )
    if "hung" in sh:
        r = sh["hung"]
        w, wo = r["with_stop"], r["without_stop"]
        out.append(
            (
                f"4. Redis SIGSTOPped (hung) for {r['stop_s']:.0f} s in a {3 * r['stop_s']:.0f} s "
                f"stream ({r['calls_per_second']:.0f} calls/s over {r['packages']} fresh packages, "
                "each asked by every replica), then SIGCONT",
                "0 failed calls; p99 added ≤ 0.5 s",
                f"**{w['failed']}** failed of {w['calls']}; p99 {_ms(w['p99_s'])} against "
                f"{_ms(wo['p99_s'])} without the stop: **{r['p99_added_s'] * 1000:+.0f} ms** "
                f"(p50 {r['p50_added_s'] * 1000:+.0f} ms); {r['upstream']} upstream requests "
                f"(at most {r['max_per_package']} per package)",
                "— (no Redis to hang)",
                _verdict(w["failed"] == 0 and r["p99_added_s"] <= 0.5),
            )
        )
    if "outage" in sh:
        r, b = sh["outage"], base.get("outage")

        def outage_text(o: dict[str, Any]) -> str:
            if not o.get("opened"):
                return f"no breaker opened in {o['calls']} calls"
            probes = (
                f"; {o['requests_after_first_second']} requests after its first second, "
                f"in {o['recovery_periods']} recovery period(s) of {RECOVERY_S:.0f} s "
                f"(at {', '.join(f'{c[0]:.1f} s' for c in o['probe_clusters_s']) or 'none'})"
            )
            return (
                f"{o['after_open_requests']} upstream requests for {o['after_open_calls']} calls "
                f"after the first `circuit_open`: **{o['after_open_requests_per_call']:.3f}**/call"
                f" ({o['before_open_requests']} requests for {o['before_open_calls']} calls "
                "before)" + probes
            )

        ok = bool(r.get("opened")) and r["after_open_requests_per_call"] <= 0.1
        if r.get("recovery_periods"):
            ok = ok and one_probe_per_period(r)
        out.append(
            (
                f"5. index at 100% 503, 20 calls/s for {r['duration_s']:.0f} s",
                "≤ 0.1 upstream requests per call fleet-wide after the first breaker opens; "
                "exactly 1 probe per recovery period",
                outage_text(r),
                outage_text(b) if b else "—",
                _verdict(ok),
            )
        )
    if "rate" in sh:
        r, b = sh["rate"], base.get("rate")

        def rate_text(o: dict[str, Any]) -> str:
            return (
                f"**{o['requests_per_second_after_first']:.1f}**/s after the first second "
                f"(busiest second {o['busiest_second']}; {o['requests_per_second']:.1f}/s over "
                f"all {o['seconds']:.0f} s, burst included); {calls(o)}"
            )

        out.append(
            (
                f"6. AUTODOCS_FLEET_RATE={FLEET_RATE:.0f}, 40 calls at a time for "
                f"{r['seconds']:.0f} s, version lists never fresh",
                "≤ 22 requests per second upstream",
                rate_text(r),
                rate_text(b) if b else "—",
                _verdict(r["requests_per_second_after_first"] <= 22),
            )
        )
    if "hit" in sh:
        r, m = sh["hit"], sh.get("hit_mcp")
        mcp = (
            f"; through MCP (replica 2 after replica 1 fetched): {m['shared_p50_ms']:.1f} ms "
            f"vs {m['local_p50_ms']:.1f} ms, {m['added_ms']:+.1f} ms"
            if m
            else ""
        )
        out.append(
            (
                f"7. cache hit through a replica that has it only in Redis ({r['packages']} "
                "packages, medians)",
                "≤ 2 ms added over a local hit",
                f"in-process `DocsService` B after A fetched: {r['shared_p50_ms']:.2f} ms vs "
                f"{r['local_p50_ms']:.2f} ms local: **{r['added_ms']:+.2f} ms** "
                f"({r['b_upstream_requests']} upstream requests from B); of which one Redis `GET` "
                f"{r['redis_get_p50_ms']:.2f} ms; a disk hit (no Redis) {r['disk_p50_ms']:.2f} ms"
                f"{mcp}",
                "—",
                _verdict(r["added_ms"] <= 2.0),
            )
        )
    return out


def text(results: dict[str, Any]) -> str:
    """The fleet section of docs/benchmarks.md, from the results alone."""
    lines = [
        f"{REPLICAS} replicas (`autodocs-mcp --transport http`, processes) and one redis-server "
        "on loopback; calls through the official `mcp` client over streamable HTTP, round robin "
        "over the replicas; upstream requests counted from the loopback index's request log. "
        "The baseline column is the same scenario with `AUTODOCS_REDIS_URL` unset (four "
        "independent replicas).",
        "",
        "| scenario | target | measured (shared, Redis) | without Redis | verdict |",
        "|---|---|---|---|---|",
    ]
    for row in rows(results):
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", *_notes(results)]
    return "\n".join(lines).rstrip()


def _hit_note(r: dict[str, Any]) -> str:
    """Why row 7 misses: what Redis costs and what the replica does besides."""
    return (
        "**Row 7, where the time goes.** One Redis `GET` (the version list, the only read a hit "
        f"needs) took {r['redis_get_p50_ms']:.2f} ms of the {r['added_ms']:.1f} ms added. The "
        "rest is the replica's local disk tier: a miss there first (a worker-thread hop for the "
        "version list and one for the documentation), then the adopted list decoded and its "
        "file written behind the answer by the store's writer thread (the answer does not wait "
        "for it, and the latest documentation is no longer written back to Redis, but on two "
        "loaded cores those threads compete with the call). A plain disk hit without Redis took "
        f"{r['disk_p50_ms']:.2f} ms here, a memory hit {r['local_p50_ms']:.2f} ms. With memory "
        "tiers only (no disk tier), a shared-only hit adds 0.6-0.8 ms in process (LocalState "
        "as the tier, plus one `GET`): within the target; the disk tier's misses are what miss it."
    )


def _notes(results: dict[str, Any]) -> list[str]:
    """Context under the table: shared-layer counters, and the causes of any miss."""
    out: list[str] = []
    sh = results["shared"]
    counters = {k: r.get("fleet_counters", {}) for k, r in sh.items()}
    shown = [
        f"{k}: " + ", ".join(f"{n} {v}" for n, v in sorted(c.items()))
        for k, c in counters.items()
        if c
    ]
    if shown:
        out.append(
            "Shared-layer counters of the replicas during each scenario (`get_metrics`, summed "
            "over the fleet; `fallback_*` are operations answered locally): "
            + "; ".join(shown)
            + "."
        )
    killed = sh.get("killed")
    if killed and killed["max_per_package"] > REPLICAS:
        hedges = killed.get("fleet_counters", {}).get("hedges_sent", 0)
        out.append(
            f"Row 3: {killed['over_one_per_replica']} package(s) got more than {REPLICAS} "
            f"requests. {hedges} of the {killed['upstream']} requests were hedges (a second "
            "request within one fetch, `AUTODOCS_HEDGE`, on by default, sent when the first "
            "has not answered within the adaptive delay: the loopback index shares the "
            "benchmark's process with 200 concurrent clients, so its answers are slow). "
            f"Without them, {killed['upstream'] - hedges} requests for {killed['packages']} "
            f"packages (at most {REPLICAS * killed['packages']}); the request log does not "
            "say which package a hedge was for."
        )
    hung = sh.get("hung")
    if hung:
        w = hung["with_stop"]
        out.append(
            f"Row 4: the slowest call took {w['max_s'] * 1000:.0f} ms. A call whose replica "
            "meets the hung Redis first waits the guard's budget twice (0.25 s for the read, "
            "0.25 s for the lease: two failures open the guard), so about 0.5 s is added to "
            "each replica's first call during the stop, and 0.25 s to the call that carries "
            "the guard's probe every 2 s. With "
            f"{w['calls']} calls, p99 is the {'slowest' if w['calls'] < 200 else 'second slowest'}"
            " call: the target is met or missed by those few calls (`fallback_timeout` among the "
            "counters above counts them)."
        )
    rate = sh.get("rate")
    if rate and rate.get("fleet_counters", {}).get("admission_refusals"):
        refused = rate["fleet_counters"]["admission_refusals"]
        out.append(
            f"Row 6: the callers waiting for the fleet rate asked again {refused} times "
            f"({refused / rate['seconds']:.0f} admission calls per second on top of the "
            f"{rate['requests_per_second']:.0f} admitted): a refused attempt waits its "
            "`retry_after` and asks again, so forty waiting calls poll Redis."
        )
    if "hit" in sh and sh["hit"]["added_ms"] > 2.0:
        out.append(_hit_note(sh["hit"]))
    if not results["baseline"]:
        out.append(
            "Smoke run (`--quick`): small sizes, no baselines, and neither row 5 (it waits for "
            "breakers and their recovery periods) nor row 6 (two more fleets)."
        )
    out += [str(n) for n in results.get("notes", [])]
    return [p for n in out for p in (n, "")]


def missing() -> str | None:
    """Why the suite cannot run here, or ``None``."""
    if redis_server_binary() is None:
        return "redis-server (or valkey-server) is not on PATH"
    if importlib.util.find_spec("redis") is None:
        return "the redis extra is not installed (redis-py)"
    if importlib.util.find_spec("mcp") is None:
        return "the mcp extra is not installed"
    return None


def run(*, quick: bool, write_docs: bool) -> dict[str, Any]:
    """Run the scenarios; print the table; save it (and the docs section) unless quick."""
    reason = missing()
    if reason is not None:
        print(f"fleet: skipped: {reason}", flush=True)
        return {"skipped": reason}
    results: dict[str, Any] = {
        "machine": machine(),
        "versions": versions("autodocs-mcp-server", "mcp", "redis", "httpx", "anyio"),
        "redis_server": redis_server_binary(),
    }
    started = time.perf_counter()
    results.update(anyio.run(measure, quick))
    results["duration_s"] = time.perf_counter() - started
    body = text(results)
    print(body)
    print(f"fleet: {results['duration_s']:.0f} s", flush=True)
    if quick:
        return results
    save("fleet", results)
    if write_docs:
        write_docs_section("fleet", section(results))
    return results


def section(results: dict[str, Any]) -> str:
    """The machine and versions line, then :func:`text`."""
    return (
        f"Measured on {results['machine']['platform']}, Python {results['machine']['python']}, "
        f"{results['machine']['cpus']} CPUs; versions "
        + ", ".join(f"{k} {v}" for k, v in results["versions"].items())
        + f"; {results['redis_server']}.\n\n"
        + text(results)
    )


def rewrite_docs() -> None:
    """Rewrite the fleet section of docs/benchmarks.md from benchmarks/results/fleet.json."""
    import json

    from ._harness import RESULTS

    results = json.loads((RESULTS / "fleet.json").read_text("utf-8"))
    write_docs_section("fleet", section(results))


if __name__ == "__main__":  # python -m benchmarks.fleet: redraw the section from the JSON
    rewrite_docs()
