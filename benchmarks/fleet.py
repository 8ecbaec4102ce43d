"""Scale-out (issue 15): real redis-server + 4 replica processes against the loopback FaultIndex.

``python -m benchmarks fleet [--quick]``. Each scenario starts a fresh fleet (``_fleet.Fleet``:
redis-server on a free port, 4 ``autodocs-mcp --transport http`` processes with their own cache
directories) against a FaultIndex served in this process, then sends MCP ``tools/call`` requests
as single stateless POSTs (no session: any replica answers), spread round robin over the
replicas, and counts what reached the index.

Scenarios (the issue's table):

- ``stampede``: N concurrent first calls for one uncached package -> upstream fetches of it.
- ``crowd``: calls over 50 uncached packages -> upstream fetches.
- ``redis_kill``: the crowd with Redis SIGKILLed half way -> failed calls, most fetches of one
  package by one replica.
- ``redis_hang``: calls at a steady pace with Redis SIGSTOPped for a while -> failed calls,
  p99 added over the same run without the hang.
- ``outage``: the index at 100% 503, replicas flat out -> upstream requests per call.
- ``rate``: ``AUTODOCS_FLEET_RATE=20``, ``AUTODOCS_FLEET_BURST=2``, replicas flat out on
  distinct packages -> the busiest second upstream.

``stampede`` and ``crowd`` measure cross-replica coalescing, which needs the shared cache tier
and single flight in the lookup; until that is wired they show one fetch per replica.
The "hit only in Redis" row needs the shared tier too and is not measured here.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
import signal
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import attrs
import httpx

from autodocs_core.testing import Fault, FaultIndex, FaultPlan
from autodocs_core.testing._index import Request

from ._fleet import Fleet, redis_server_binary
from ._harness import machine, save, versions
from .serve_index import load_projects

PROJECTS = load_projects(copies=10)  # 5 recorded packages x 10 names = 50
NAMES = sorted(PROJECTS)
REPLICAS = 4
PROTOCOL = "2025-11-25"  # a handshake-era version: stateless POSTs without initialize
_ids = itertools.count(1)


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


async def call(http: httpx.AsyncClient, url: str, name: str) -> tuple[str, float]:
    """One ``get_package_docs`` call as one stateless POST; return (outcome, seconds)."""
    body = {
        "jsonrpc": "2.0",
        "id": next(_ids),
        "method": "tools/call",
        "params": {"name": "get_package_docs", "arguments": {"package_name": name}},
    }
    headers = {
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": PROTOCOL,
    }
    started = time.perf_counter()
    try:
        response = await http.post(url, json=body, headers=headers, timeout=60.0)
    except httpx.HTTPError as exc:
        return f"http:{type(exc).__name__}", time.perf_counter() - started
    seconds = time.perf_counter() - started
    if response.status_code != 200:
        return f"status:{response.status_code}", seconds
    for line in response.text.splitlines():
        if not line.startswith("data:"):
            continue
        message = json.loads(line[5:])
        if message.get("id") != body["id"]:
            continue
        if "error" in message:
            return "jsonrpc_error", seconds
        result = message["result"]
        if result.get("isError"):
            payload = result.get("structuredContent") or {}
            return str(payload.get("error_type", "tool_error")), seconds
        return "ok", seconds
    return "no_answer", seconds


async def run_calls(
    urls: list[str], names: list[str], *, concurrency: int
) -> list[tuple[str, float]]:
    """Call each name on the replicas round robin, at most *concurrency* at once."""
    results: list[tuple[str, float]] = [("not_run", 0.0)] * len(names)
    limiter = anyio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits) as http:

        async def one(i: int, name: str) -> None:
            async with limiter:
                results[i] = await call(http, urls[i % len(urls)], name)

        async with anyio.create_task_group() as tg:
            for i, name in enumerate(names):
                tg.start_soon(one, i, name)
    return results


def summary(results: list[tuple[str, float]]) -> dict[str, Any]:
    latencies = [s for _, s in results]
    failures = Counter(o for o, _ in results if o != "ok")
    return {
        "calls": len(results),
        "failed": sum(failures.values()),
        "failures": dict(failures),
        "p50_s": _pct(latencies, 0.5),
        "p99_s": _pct(latencies, 0.99),
    }


def fetches(index: FaultIndex, name: str | None = None) -> int:
    """Upstream JSON API requests (of *name*, or of every package)."""
    if name is None:
        return sum(n for p, n in index.paths().items() if p.startswith("/pypi/"))
    return sum(n for p, n in index.paths().items() if p.startswith(f"/pypi/{name}/"))


async def fleet_counters(fleet: Fleet) -> dict[str, float]:
    """Shared-layer fallbacks (by reason) and admission refusals, summed over the replicas."""
    from prometheus_client.parser import text_string_to_metric_families

    totals: Counter[str] = Counter()
    async with httpx.AsyncClient() as http:
        for url in fleet.urls:
            text = (await http.get(url.removesuffix("/mcp") + "/metrics", timeout=10)).text
            for family in text_string_to_metric_families(text):
                for sample in family.samples:
                    if sample.name == "autodocs_shared_fallbacks_total":
                        totals[f"fallback_{sample.labels['reason']}"] += sample.value
                    elif sample.name == "autodocs_admission_refusals_total":
                        totals["admission_refusals"] += sample.value
    return dict(totals)


Scenario = Callable[[FaultIndex, Fleet, bool], Awaitable[dict[str, Any]]]


async def with_fleet(
    scenario: Scenario,
    quick: bool,
    *,
    plan: FaultPlan | None = None,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Run *scenario* against a fresh index and a fresh fleet."""
    async with FaultIndex(PROJECTS, plan=plan) as index:
        fleet = Fleet(REPLICAS, index_url=index.url, env=env)
        await anyio.to_thread.run_sync(fleet.start)
        try:
            return await scenario(index, fleet, quick)
        finally:
            await anyio.to_thread.run_sync(fleet.stop)


async def stampede(index: FaultIndex, fleet: Fleet, quick: bool) -> dict[str, Any]:
    n = 80 if quick else 400
    results = await run_calls(fleet.urls, ["attrs"] * n, concurrency=n)
    return {**summary(results), "upstream": fetches(index, "attrs"), "target": "1 (<= 2)"}


async def crowd(index: FaultIndex, fleet: Fleet, quick: bool) -> dict[str, Any]:
    n = 80 if quick else 200
    names = [NAMES[i % len(NAMES)] for i in range(n)]
    results = await run_calls(fleet.urls, names, concurrency=50)
    return {**summary(results), "upstream": fetches(index), "target": str(len(set(names)))}


async def redis_kill(index: FaultIndex, fleet: Fleet, quick: bool) -> dict[str, Any]:
    n = 80 if quick else 200
    names = [NAMES[i % len(NAMES)] for i in range(n)]
    half = n // 2
    first = await run_calls(fleet.urls, names[:half], concurrency=25)
    assert fleet.redis is not None
    os.kill(fleet.redis.pid, signal.SIGKILL)
    second = await run_calls(fleet.urls, names[half:], concurrency=25)
    per_package = max((fetches(index, name) for name in set(names)), default=0)
    return {
        **summary(first + second),
        "upstream": fetches(index),
        "most_fetches_of_one_package": per_package,
        **await fleet_counters(fleet),
        "target": f"0 failed; <= {REPLICAS} per package",
    }


async def redis_hang(index: FaultIndex, fleet: Fleet, quick: bool) -> dict[str, Any]:
    hang = 3.0 if quick else 10.0
    n = 60 if quick else 200
    names = [NAMES[i % len(NAMES)] for i in range(n)]
    baseline = await run_calls(fleet.urls, names, concurrency=10)  # warm: local hits after
    assert fleet.redis is not None
    pid = fleet.redis.pid
    os.kill(pid, signal.SIGSTOP)
    try:
        with anyio.move_on_after(hang):
            hung: list[tuple[str, float]] = []
            while True:
                hung += await run_calls(fleet.urls, names[:20], concurrency=10)
    finally:
        os.kill(pid, signal.SIGCONT)
    base, during = summary(baseline), summary(hung)
    return {
        **during,
        "upstream": fetches(index),
        "hang_s": hang,
        "p99_added_s": during["p99_s"] - base["p99_s"],
        "target": "0 failed; p99 added <= 0.5 s",
    }


async def outage(index: FaultIndex, fleet: Fleet, quick: bool) -> dict[str, Any]:
    """100% 503: a warm-up in which the replicas' breakers open, then the measured part."""
    plan = StampedPlan(probabilities=[(Fault("status", status=503), 1.0)])
    index.plan = plan
    warm, measured = (8.0, 12.0) if quick else (10.0, 45.0)
    names = NAMES[:20]

    async def flat_out(seconds: float) -> list[tuple[str, float]]:
        results: list[tuple[str, float]] = []
        with anyio.move_on_after(seconds):
            while True:
                results += await run_calls(fleet.urls, names, concurrency=20)
        return results

    await flat_out(warm)
    start = time.monotonic()
    results = await flat_out(measured)
    late = [t - start for t in plan.stamps if t >= start]
    period = 15.0  # FleetConfig.recovery_time: one probe per period, fleet-wide
    per_period = [sum(1 for t in late if k * period <= t < (k + 1) * period) for k in range(3)]
    return {
        **summary(results),
        "upstream": len(late),
        "upstream_per_call": len(late) / max(1, len(results)),
        "upstream_per_15s": per_period[: max(1, int(measured // period))],
        "warm_up_s": warm,
        "measured_s": measured,
        **await fleet_counters(fleet),
        "target": "<= 0.1 per call; one probe per recovery period",
    }


@attrs.define
class StampedPlan(FaultPlan):
    """Faults as planned; notes when each request arrived (for per-second counts)."""

    stamps: list[float] = attrs.field(factory=list)

    def choose(self, request: Request) -> Fault | None:
        """Choose as usual; remember the arrival time."""
        self.stamps.append(time.monotonic())
        return super().choose(request)


async def rate(index: FaultIndex, fleet: Fleet, quick: bool) -> dict[str, Any]:
    plan = StampedPlan()
    index.plan = plan
    stamps = plan.stamps
    n = 120 if quick else 400
    names = [NAMES[i % len(NAMES)] for i in range(n)]
    results = await run_calls(fleet.urls, names, concurrency=40)
    busiest = max(
        (sum(1 for u in stamps[i:] if u - t < 1.0) for i, t in enumerate(stamps)), default=0
    )
    return {
        **summary(results),
        "upstream": len(stamps),
        "busiest_second": busiest,
        **await fleet_counters(fleet),
        "target": "<= 22 per second (rate 20, burst 2)",
    }


SCENARIOS: dict[str, tuple[Scenario, dict[str, str]]] = {
    "stampede": (stampede, {}),
    "crowd": (crowd, {}),
    "redis_kill": (redis_kill, {}),
    "redis_hang": (redis_hang, {}),
    "outage": (outage, {}),
    "rate": (rate, {"AUTODOCS_FLEET_RATE": "20", "AUTODOCS_FLEET_BURST": "2"}),
}


def run(*, quick: bool, write_docs: bool) -> dict[str, Any]:
    """Run every scenario on a fresh fleet; print one line each; save the JSON."""
    if redis_server_binary() is None:
        print("skipped: redis-server is not on PATH (apt-get install redis-server)")
        return {}
    if importlib.util.find_spec("redis") is None:
        print("skipped: redis-py is not installed (the `redis` extra)")
        return {}
    results: dict[str, Any] = {
        "machine": machine(),
        "versions": versions("autodocs-mcp-server", "redis", "mcp"),
        "replicas": REPLICAS,
        "scenarios": {},
    }
    print("| scenario | calls | failed | upstream | p50 | p99 | extra | target |")
    print("|---|---|---|---|---|---|---|---|")
    only = os.environ.get("AUTODOCS_BENCH_FLEET_ONLY")  # e.g. "outage,rate"
    for name, (scenario, env) in SCENARIOS.items():
        if only and name not in only.split(","):
            continue
        found = anyio.run(lambda s=scenario, e=env: with_fleet(s, quick, env=e))
        results["scenarios"][name] = found
        extra = {
            k: v
            for k, v in found.items()
            if k not in ("calls", "failed", "failures", "upstream", "p50_s", "p99_s", "target")
        }
        print(
            f"| {name} | {found['calls']} | {found['failed']} {found['failures'] or ''} | "
            f"{found['upstream']} | {found['p50_s'] * 1000:.0f} ms | {found['p99_s'] * 1000:.0f} ms"
            f" | {json.dumps(extra)} | {found['target']} |",
            flush=True,
        )
    save("fleet-quick" if quick else "fleet", results)
    if write_docs:
        print("(docs/benchmarks.md is not written by this suite yet)")
    return results
