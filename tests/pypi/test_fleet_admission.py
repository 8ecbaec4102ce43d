"""Upstream admission through the fleet's shared state: two index clients are two replicas.

Each "replica" is its own HttpClient + IndexClient (own breakers, own budgets) over one shared
state, against one loopback FaultIndex. The shared state decides; failure detection stays in
each replica's own breaker.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import anyio
import pytest

from autodocs_core.errors import CircuitOpenError, DeadlineExceeded, PackageNotFoundError
from autodocs_core.fleet import FleetConfig, LocalState, SharedState, fleet_from_url
from autodocs_core.http import HttpClient, HttpConfig
from autodocs_core.pypi import IndexClient, IndexConfig
from autodocs_core.resilience import BreakerConfig, Deadline
from autodocs_core.testing import FakeClock, Fault, FaultIndex, FaultPlan, no_delay_policy

pytestmark = pytest.mark.anyio

HTTP = HttpConfig(read_timeout=2.0, header_timeout=None)
RECOVERY = 10.0  # the fleet's recovery period
# Opens after 3 failures in a row, whatever the resource; recovers locally after 1 s (no jitter)
# so that each replica's own breaker is never what holds it back after the fleet's period.
BREAKER = BreakerConfig(
    consecutive_failures=3,
    failure_rate=None,
    min_failing_resources=1,
    recovery_time=1.0,
    recovery_jitter=0.0,
)


def all_503() -> FaultPlan:
    return FaultPlan(probabilities=[(Fault("status", status=503), 1.0)])


@asynccontextmanager
async def replicas(
    index: FaultIndex, shared: SharedState, clock: FakeClock, n: int = 2
) -> AsyncIterator[list[IndexClient]]:
    """*n* index clients ("replicas"), each with its own HTTP client, over one shared state."""
    config = IndexConfig(
        url=index.url, breaker=BREAKER, policy=no_delay_policy(), hedge=None, deadline=30.0
    )
    async with AsyncExitStack() as stack:
        clients = []
        for _ in range(n):
            http = await stack.enter_async_context(HttpClient(HTTP))
            clients.append(IndexClient(http, config, clock=clock, shared=shared))
        yield clients


@asynccontextmanager
async def fleet(
    shared: SharedState, clock: FakeClock, *args: Any, **kwargs: Any
) -> AsyncIterator[tuple[FaultIndex, IndexClient, IndexClient]]:
    """A FaultIndex(*args, **kwargs) and two replicas over *shared*."""
    async with FaultIndex(*args, **kwargs) as index, replicas(index, shared, clock) as (a, b):
        yield index, a, b


async def outcome(call: Callable[[], Any]) -> str:
    """Run one lookup and name how it ended."""
    try:
        await call()
    except Exception as exc:
        return type(exc).__name__
    return "ok"


async def test_after_one_replica_opens_the_other_stops_within_one_admission(
    clock: FakeClock, projects: dict[str, dict[str, Any]]
) -> None:
    """A's breaker opens at 100% 503; B then makes no upstream request at all: refused once."""
    shared = LocalState(FleetConfig(recovery_time=RECOVERY), clock=clock)
    async with fleet(shared, clock, projects, plan=all_503()) as (index, a, b):
        assert await outcome(lambda: a.get_project("attrs")) == "CircuitOpenError"
        assert a.breaker_for(index.url).statistics().times_opened == 1
        seen = len(index.requests)
        assert seen == 3  # the three failures that opened A's breaker

        with pytest.raises(CircuitOpenError) as refused:
            await b.get_project("httpx")
        assert len(index.requests) == seen  # B did not call
        assert b.admission_refusals == 1  # one admission, refused
        assert b.breaker_for(index.url).statistics().times_opened == 0  # B's own: closed
        assert 0 < refused.value.retry_after <= RECOVERY
        # Many more calls on B: still nothing upstream.
        for name in ("pytest", "cattrs", "trio"):
            assert await outcome(lambda n=name: b.get_project(n)) == "CircuitOpenError"
        assert len(index.requests) == seen


async def test_exactly_one_probe_fleet_wide_per_recovery_period(
    clock: FakeClock, projects: dict[str, dict[str, Any]]
) -> None:
    """Index down: each recovery period lets exactly one attempt through, fleet-wide.

    When the index is back, that period's probe succeeds and both replicas call again.
    """
    shared = LocalState(FleetConfig(recovery_time=RECOVERY), clock=clock)
    names = ["attrs", "httpx", "pytest", "cattrs"]
    async with fleet(shared, clock, projects, plan=all_503()) as (index, a, b):
        assert await outcome(lambda: a.get_project("attrs")) == "CircuitOpenError"
        for _period in range(3):
            clock.advance(RECOVERY + 0.01)
            before = len(index.requests)
            for name in names:  # both replicas, several calls each, in this one period
                await outcome(lambda n=name: b.get_project(n))
                await outcome(lambda n=name: a.get_project(n))
            assert len(index.requests) - before == 1
        # The index recovers: the next period's probe succeeds and closes the fleet.
        index.plan = FaultPlan()
        clock.advance(RECOVERY + 0.01)
        assert await outcome(lambda: b.get_project("attrs")) == "ok"
        assert await outcome(lambda: a.get_project("httpx")) == "ok"
        assert await outcome(lambda: b.get_project("pytest")) == "ok"


async def test_the_fleet_rate_limit_holds_across_replicas(clock: FakeClock) -> None:
    """rate=5/s, burst 2: two replicas alternating 30 calls get ≤ 5 × elapsed + 2 upstream."""
    rate, burst = 5.0, 2
    shared = LocalState(FleetConfig(rate=rate, burst=burst), clock=clock)
    async with fleet(shared, clock, {}) as (
        index,
        a,
        b,
    ):  # every project 404: one request per call, no retry
        start = clock.now()
        times = []
        for i in range(30):
            replica = (a, b)[i % 2]
            with pytest.raises(PackageNotFoundError):
                await replica.get_project(f"pkg{i}")
            times.append(clock.now())
        elapsed = clock.now() - start
        assert len(index.requests) == 30
        assert rate * elapsed + burst + 1e-6 >= 30
        assert elapsed >= (30 - burst) / rate - 1e-6  # the waits happened (on the clock)
        for i, t in enumerate(times):  # every 1 s window holds ≤ rate + burst calls
            assert sum(1 for u in times[i:] if u - t < 1.0) <= rate + burst


async def test_a_rate_limit_wait_past_the_deadline_fails_the_call_before_any_request(
    clock: FakeClock,
) -> None:
    """A turn that comes after the call's deadline is a DeadlineExceeded, with no request."""
    shared = LocalState(FleetConfig(rate=0.1, burst=1), clock=clock)
    async with fleet(shared, clock, {}) as (index, a, b):
        with pytest.raises(PackageNotFoundError):
            await a.get_project("first")
        with pytest.raises(DeadlineExceeded):
            await b.get_project("second", deadline=Deadline.after(1.0, clock))
        assert len(index.requests) == 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_dead_redis_means_local_behaviour_and_calls_succeed(
    clock: FakeClock, projects: dict[str, dict[str, Any]]
) -> None:
    """Nothing listens on the Redis port: every admission is answered locally, calls succeed."""
    pytest.importorskip("redis")
    shared = fleet_from_url(
        f"redis://127.0.0.1:{_free_port()}/0",
        index_url="https://dead-redis.test",
        config=FleetConfig(timeout=0.25),
    )
    try:
        async with fleet(shared, clock, projects) as (_, a, b):
            for name in ("attrs", "httpx", "pytest"):
                assert (await a.get_project(name)).name == name
                assert (await b.get_project(name)).name == name
        stats = shared.statistics()
        assert stats.backend == "redis"
        assert stats.fallback_total >= 1  # answered locally, and counted
    finally:
        await shared.aclose()


class TestOnFakeredis:
    """The same breaker decision through RedisState's script (fakeredis runs the Lua)."""

    @pytest.fixture
    def anyio_backend(self) -> str:
        return "asyncio"  # redis-py's asyncio client (and fakeredis's) runs on asyncio only

    async def test_the_open_decision_is_shared_through_redis(
        self, clock: FakeClock, projects: dict[str, dict[str, Any]]
    ) -> None:
        fakeredis = pytest.importorskip("fakeredis")
        from autodocs_core.fleet import RedisState

        server = fakeredis.FakeServer()
        shared = RedisState(
            fakeredis.FakeAsyncRedis(server=server),
            index_url="https://fleet.test",
            config=FleetConfig(recovery_time=RECOVERY),
        )
        try:
            async with fleet(shared, clock, projects, plan=all_503()) as (index, a, b):
                assert await outcome(lambda: a.get_project("attrs")) == "CircuitOpenError"
                seen = len(index.requests)
                with pytest.raises(CircuitOpenError):
                    await b.get_project("httpx")
                assert len(index.requests) == seen
                assert b.admission_refusals == 1
            assert shared.statistics().fallback_total == 0  # decided in Redis, not locally
        finally:
            await shared.aclose()


async def test_rate_limited_waiters_of_one_process_queue_instead_of_stampeding(
    clock: FakeClock,
) -> None:
    """20 concurrent calls of one replica at rate 10/s wait in line: two admissions each."""
    shared = LocalState(FleetConfig(rate=10.0, burst=1), clock=clock)
    async with fleet(shared, clock, {}) as (index, a, _):
        ended: list[str] = []

        async def one(i: int) -> None:
            ended.append(await outcome(lambda: a.get_project(f"pkg{i}")))

        async with anyio.create_task_group() as tg:
            for i in range(20):
                tg.start_soon(one, i)
        assert ended == ["PackageNotFoundError"] * 20, ended
        assert len(index.requests) == 20  # every call got its turn (404: one request each)
        # One refusal per waiter (its first ask), then each asks once more, at its turn; the
        # turns come exactly at the rate (without the line: 37 refusals, 3.7 s).
        assert a.admission_refusals <= 20
        assert clock.now() <= 19 / 10.0 + 0.01
