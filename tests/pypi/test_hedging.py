"""Hedged requests on the fake clock: who is sent when, who wins, what is cancelled, what counts.

The network answers the requests the test tells it to (the rest wait, as a hang does) and honours
each request's read timeout on the fake clock; the test moves time with ``clock.advance`` once
every task is blocked, so the interleaving is exact on both backends.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from autodocs_core.http import HttpClient, HttpConfig
from autodocs_core.pypi import IndexClient, IndexConfig
from autodocs_core.resilience import BreakerConfig, HedgePolicy, LatencySamples
from autodocs_core.testing import FakeClock

pytestmark = pytest.mark.anyio

URL = "http://index.test"
POLICY = HedgePolicy(min_delay=0.05, initial_delay=0.5, min_samples=5)


class Exchange:
    """One request the network received; ``answer()`` sends the response."""

    def __init__(self, request: httpx.Request) -> None:
        self.request = request
        self.event = anyio.Event()
        self.status = 200
        self.outcome = "waiting"  # -> answered | timed_out | cancelled

    def answer(self, status: int = 200) -> None:
        self.status = status
        self.event.set()


class ManualNetwork:
    """Requests wait until answered (or their read timeout passes on the fake clock)."""

    def __init__(self, clock: FakeClock, projects: dict[str, Any]) -> None:
        self.clock = clock
        self.projects = projects
        self.exchanges: list[Exchange] = []
        self.auto: Callable[[int], bool] = lambda n: False  # answer request n at once?

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        exchange = Exchange(request)
        self.exchanges.append(exchange)
        if self.auto(len(self.exchanges) - 1):
            exchange.answer()
        read = request.extensions["timeout"]["read"]
        try:
            with self.clock.timeout_scope(read) as scope:
                await exchange.event.wait()
        except BaseException:
            exchange.outcome = "cancelled"
            raise
        if scope.cancelled_caught:
            exchange.outcome = "timed_out"
            raise httpx.ReadTimeout("no headers in time", request=request)
        exchange.outcome = "answered"
        if exchange.status != 200:
            return httpx.Response(exchange.status)
        return httpx.Response(200, json=self.projects["attrs"])


@asynccontextmanager
async def hedging_client(
    clock: FakeClock, projects: dict[str, Any], **config: Any
) -> AsyncIterator[tuple[IndexClient, ManualNetwork]]:
    network = ManualNetwork(clock, projects)
    async with HttpClient(
        HttpConfig(), transport=httpx.MockTransport(network), clock=clock
    ) as http:
        config.setdefault("hedge", POLICY)
        yield IndexClient(http, IndexConfig(url=URL, **config), clock=clock), network


async def warm(idx: IndexClient, net: ManualNetwork, calls: int = 5) -> None:
    """Make *calls* instantly answered calls, so the hedge delay is the 0.05 s floor."""
    net.auto = lambda n: True
    for _ in range(calls):
        await idx.get_project("attrs")
    net.auto = lambda n: False
    net.exchanges.clear()


async def settle() -> None:
    await anyio.wait_all_tasks_blocked()


class TestHedging:
    async def test_a_hanging_request_is_rescued_by_its_hedge(
        self, clock: FakeClock, projects: dict[str, Any]
    ) -> None:
        """No answer by the delay: a twin is sent, answers, wins; the first is cancelled."""
        async with hedging_client(clock, projects) as (idx, net):
            await warm(idx, net)
            start = clock.now()
            with anyio.fail_after(10):
                async with anyio.create_task_group() as tg:
                    tg.start_soon(idx.get_project, "attrs")
                    await settle()
                    assert len(net.exchanges) == 1
                    clock.advance(0.049)
                    await settle()
                    assert len(net.exchanges) == 1  # not before the delay
                    clock.advance(0.001)
                    await settle()
                    assert len(net.exchanges) == 2
                    net.exchanges[1].answer()
            assert clock.now() - start == pytest.approx(0.05)
            assert [e.outcome for e in net.exchanges] == ["cancelled", "answered"]
            stats = idx.hedge_statistics()
            assert (stats.sent, stats.won) == (1, 1)
            breaker = idx.breaker_for(URL).statistics()
            assert breaker.consecutive_failures == 0  # the cancelled loser counts as nothing

    async def test_the_first_request_can_still_win(
        self, clock: FakeClock, projects: dict[str, Any]
    ) -> None:
        """The first request is not cancelled by the hedge; if it answers first, it wins."""
        async with hedging_client(clock, projects) as (idx, net):
            await warm(idx, net)
            with anyio.fail_after(10):
                async with anyio.create_task_group() as tg:
                    tg.start_soon(idx.get_project, "attrs")
                    await settle()
                    clock.advance(0.05)
                    await settle()
                    net.exchanges[0].answer()
            assert [e.outcome for e in net.exchanges] == ["answered", "cancelled"]
            stats = idx.hedge_statistics()
            assert (stats.sent, stats.won) == (1, 0)

    async def test_a_fast_answer_sends_no_hedge(
        self, clock: FakeClock, projects: dict[str, Any]
    ) -> None:
        """Answers that come before the delay never cause a hedge."""
        async with hedging_client(clock, projects) as (idx, net):
            await warm(idx, net, calls=30)
            assert idx.requests == 30
            assert idx.hedge_statistics().sent == 0

    async def test_the_delay_is_conservative_before_samples(
        self, clock: FakeClock, projects: dict[str, Any]
    ) -> None:
        """On a fresh client the hedge waits initial_delay (0.5 s), not the floor."""
        async with hedging_client(clock, projects) as (idx, net):
            with anyio.fail_after(10):
                async with anyio.create_task_group() as tg:
                    tg.start_soon(idx.get_project, "attrs")
                    await settle()
                    clock.advance(0.49)
                    await settle()
                    assert len(net.exchanges) == 1
                    clock.advance(0.01)
                    await settle()
                    assert len(net.exchanges) == 2
                    net.exchanges[1].answer()

    async def test_single_flight_sends_one_hedge_for_all_waiters(
        self, clock: FakeClock, projects: dict[str, Any]
    ) -> None:
        """Ten callers of one URL share one request and one hedge."""
        async with hedging_client(clock, projects) as (idx, net):
            await warm(idx, net)
            results = []

            async def call() -> None:
                results.append((await idx.get_project("attrs")).name)

            with anyio.fail_after(10):
                async with anyio.create_task_group() as tg:
                    for _ in range(10):
                        tg.start_soon(call)
                    await settle()
                    clock.advance(0.05)
                    await settle()
                    assert len(net.exchanges) == 2
                    net.exchanges[1].answer()
            assert results == ["attrs"] * 10
            assert idx.hedge_statistics().sent == 1

    async def test_no_budget_no_hedge(self, clock: FakeClock, projects: dict[str, Any]) -> None:
        """Hedges are requests: with no retry budget left, none is sent."""
        async with hedging_client(clock, projects, budget_ratio=0.0, budget_floor=0.0) as (
            idx,
            net,
        ):
            await warm(idx, net)
            with anyio.fail_after(10):
                async with anyio.create_task_group() as tg:
                    tg.start_soon(idx.get_project, "attrs")
                    await settle()
                    clock.advance(0.2)
                    await settle()
                    assert len(net.exchanges) == 1
                    net.exchanges[0].answer()
            assert idx.hedge_statistics().sent == 0

    async def test_a_hedge_is_an_attempt_for_the_breaker(
        self, clock: FakeClock, projects: dict[str, Any]
    ) -> None:
        """A hedge that fails while the first request still waits is a breaker failure."""
        breaker = BreakerConfig(consecutive_failures=100, failure_rate=None)
        async with hedging_client(clock, projects, breaker=breaker) as (idx, net):
            await warm(idx, net)
            with anyio.fail_after(10):
                async with anyio.create_task_group() as tg:
                    tg.start_soon(idx.get_project, "attrs")
                    await settle()
                    clock.advance(0.05)
                    await settle()
                    net.exchanges[1].answer(500)  # the hedge fails...
                    await settle()
                    assert idx.breaker_for(URL).statistics().consecutive_failures == 1
                    assert len(net.exchanges) == 3  # ...a second hedge goes at once...
                    net.exchanges[0].answer()  # ...and the first request answers
            assert [e.outcome for e in net.exchanges] == ["answered", "answered", "cancelled"]
            assert idx.hedge_statistics().sent == 2
            assert idx.hedge_statistics().won == 0
            assert idx.breaker_for(URL).statistics().consecutive_failures == 0

    async def test_both_failing_raise_the_first_requests_error(
        self, clock: FakeClock, projects: dict[str, Any]
    ) -> None:
        """When the request and its hedge both fail, the attempt fails and is retried."""
        async with hedging_client(clock, projects) as (idx, net):
            await warm(idx, net)
            with anyio.fail_after(10):
                async with anyio.create_task_group() as tg:
                    tg.start_soon(idx.get_project, "attrs")
                    await settle()
                    clock.advance(0.05)
                    await settle()
                    net.exchanges[1].answer(503)
                    await settle()
                    net.exchanges[2].answer(503)  # the second hedge (max_per_attempt=2)
                    await settle()
                    assert len(net.exchanges) == 3
                    net.exchanges[0].answer(502)
                    await settle()
                    # the retry (after its backoff, fake time) is answered
                    net.auto = lambda n: True
                    clock.advance(5.0)
                    await settle()
                    for e in net.exchanges[2:]:
                        e.answer()
            assert [e.outcome for e in net.exchanges[:3]] == ["answered"] * 3
            assert len(net.exchanges) >= 4


class TestHedgePolicy:
    @given(
        st.lists(st.floats(0, 100, allow_nan=False), max_size=300),
        st.floats(0.5, 0.99),
        st.floats(0.001, 1.0),
    )
    def test_the_delay_is_the_floored_percentile(
        self, latencies: list[float], q: float, floor: float
    ) -> None:
        """At most (1 - q) of recent answers were slower than the delay; never below the floor."""
        policy = HedgePolicy(percentile=q, min_delay=floor, initial_delay=2.0, min_samples=10)
        samples = LatencySamples(size=128)
        for x in latencies:
            samples.add(x)
        delay = policy.delay(samples)
        assert delay >= floor
        kept = latencies[-128:]
        if len(kept) < 10:
            assert delay == max(floor, 2.0)
        else:
            slower = sum(1 for x in kept if x > delay)
            assert slower <= len(kept) - math.ceil(q * len(kept))  # nearest rank
            assert delay == floor or delay in kept

    def test_invalid_policies_are_refused(self) -> None:
        """Percentile in (0, 1), positive delays, at least one sample and one hedge."""
        for kwargs in (
            {"percentile": 1.0},
            {"min_delay": 0.0},
            {"initial_delay": math.inf},
            {"min_samples": 0},
            {"max_in_flight": 0},
            {"max_per_attempt": 0},
        ):
            with pytest.raises(ValueError):
                HedgePolicy(**kwargs)
        with pytest.raises(ValueError):
            LatencySamples(0)

    def test_samples_ignore_nonsense_and_are_bounded(self) -> None:
        """NaN, infinite and negative latencies are dropped; only the last `size` are kept."""
        samples = LatencySamples(size=3)
        assert samples.percentile(0.5) is None
        for x in (math.nan, math.inf, -1.0, 1.0, 2.0, 3.0, 4.0):
            samples.add(x)
        assert len(samples) == 3
        assert samples.percentile(0.01) == 2.0
        assert samples.percentile(0.99) == 4.0
