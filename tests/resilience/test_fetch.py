"""The streaming fetcher: bounded concurrency, backpressure, order, failures, cancellation."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from autodocs_core.errors import InvalidInputError, UpstreamServerError
from autodocs_core.resilience import (
    FetchProgress,
    RateLimiter,
    Resilience,
    RetryPolicy,
    fetch_all,
    fetch_stream,
)
from autodocs_core.testing import FakeClock

pytestmark = pytest.mark.anyio


class Tracker:
    """A callable that counts calls in flight and fails on chosen inputs."""

    def __init__(self, fail: set[int] = frozenset(), yields: dict[int, int] | None = None) -> None:  # type: ignore[assignment]
        self.fail = fail
        self.yields = yields or {}
        self.in_flight = 0
        self.max_in_flight = 0
        self.calls: list[int] = []

    async def __call__(self, item: int) -> int:
        self.calls.append(item)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            for _ in range(self.yields.get(item, 1)):
                await anyio.lowlevel.checkpoint()
            if item in self.fail:
                raise UpstreamServerError(503)
            return item * 10
        finally:
            self.in_flight -= 1


@given(
    n=st.integers(0, 60),
    limit=st.integers(1, 8),
    fail=st.sets(st.integers(0, 60), max_size=10),
    yields=st.dictionaries(st.integers(0, 60), st.integers(0, 6), max_size=20),
    ordered=st.booleans(),
)
async def test_properties(
    n: int, limit: int, fail: set[int], yields: dict[int, int], ordered: bool
) -> None:
    """Never more than `limit` in flight; each input gives exactly one outcome; order if asked."""
    fn = Tracker(fail, yields)
    seen: list[int] = []
    progress: list[FetchProgress] = []
    async with fetch_stream(
        fn, range(n), limit=limit, ordered=ordered, on_progress=progress.append
    ) as outcomes:
        async for o in outcomes:
            seen.append(o.index)
            assert o.ok == (o.item not in fail)
            if o.ok:
                assert o.value == o.item * 10
            else:
                assert o.failure is not None and o.failure.error.error_type == "upstream_5xx"
                assert o.failure.key == str(o.item)
    assert fn.max_in_flight <= limit
    assert sorted(seen) == list(range(n))
    if ordered:
        assert seen == list(range(n))
    assert len(progress) == n
    if n:
        assert progress[-1] == FetchProgress(n, len(fail & set(range(n))), n)
    assert fn.in_flight == 0


async def test_backpressure_with_a_million_inputs() -> None:
    """A slow consumer of a million-input generator: only a bounded number are ever pulled."""
    pulled = 0

    def inputs() -> Iterator[int]:
        nonlocal pulled
        for i in range(1_000_000):
            pulled += 1
            yield i

    async def fn(i: int) -> int:
        return i

    limit = 4
    async with fetch_stream(fn, inputs(), limit=limit) as outcomes:
        async for o in outcomes:
            for _ in range(50):  # let the workers run ahead as far as they can
                await anyio.lowlevel.checkpoint()
            if o.index >= 5:
                break
    assert pulled <= 6 + 2 * limit + 1


async def test_breaking_out_cancels_workers_and_stops_work() -> None:
    """Leaving the block early cancels in-flight calls and starts no new ones."""
    started: list[int] = []
    finished: list[int] = []
    cancelled: list[int] = []
    gate = anyio.Event()

    async def fn(i: int) -> int:
        started.append(i)
        try:
            if i > 0:
                await gate.wait()  # never set: these stay in flight
        except anyio.get_cancelled_exc_class():
            cancelled.append(i)
            raise
        finished.append(i)
        return i

    async with fetch_stream(fn, itertools.count(), limit=3) as outcomes:
        async for o in outcomes:
            assert o.index == 0
            break
    assert finished == [0]
    assert sorted(cancelled) == sorted(started[1:])
    calls_at_exit = len(started)
    for _ in range(20):
        await anyio.lowlevel.checkpoint()
    assert len(started) == calls_at_exit


async def test_cancelling_the_consumer_leaves_nothing_running() -> None:
    """A cancel scope around the consumer tears the whole fetch down."""
    active = 0

    async def fn(i: int) -> int:
        nonlocal active
        active += 1
        try:
            await anyio.sleep_forever()
        finally:
            active -= 1
        return i  # pragma: no cover

    with anyio.CancelScope() as scope:
        async with fetch_stream(fn, range(100), limit=5) as outcomes:
            while active < 5:
                await anyio.lowlevel.checkpoint()
            scope.cancel()
            async for _ in outcomes:
                pass  # pragma: no cover
    assert active == 0


async def test_async_inputs_and_a_broken_input_iterable() -> None:
    """Async iterables work; one that raises ends the feed with an '<inputs>' failure."""

    async def inputs() -> AsyncIterator[int]:
        for i in range(3):
            yield i
        raise ValueError("corrupt input file")

    async def fn(i: int) -> int:
        return i

    result = await fetch_all(fn, inputs())
    assert result.succeeded == (0, 1, 2)
    assert [f.key for f in result.failed] == ["<inputs>"]
    assert result.failed[0].error.error_type == "internal_error"

    async with fetch_stream(fn, inputs(), ordered=True) as outcomes:
        indexes = [o.index async for o in outcomes]
    assert indexes == [0, 1, 2, 3]


async def test_fetch_all_is_a_partial_result_in_input_order() -> None:
    """Collecting gives successes and failures in input order, never all-or-nothing."""
    fn = Tracker(fail={1, 3}, yields={0: 5, 2: 3})
    result = await fetch_all(fn, range(5), limit=5, key=lambda i: f"pkg{i}")
    assert result.succeeded == (0, 20, 40)
    assert [f.key for f in result.failed] == ["pkg1", "pkg3"]
    assert result.is_partial


async def test_resilience_per_item() -> None:
    """Each item runs through the Resilience composition (here: one retry of a 503)."""
    clock = FakeClock()
    attempts: dict[int, int] = {}

    async def flaky(i: int) -> int:
        attempts[i] = attempts.get(i, 0) + 1
        if attempts[i] == 1:
            raise UpstreamServerError(503)
        return i

    guard = Resilience(clock=clock, policy=RetryPolicy.never().without_delays())
    result = await fetch_all(flaky, range(3), resilience=guard)
    assert result.is_failure
    guard = Resilience(clock=clock)
    attempts.clear()
    result = await fetch_all(flaky, range(3), resilience=guard)
    assert result.succeeded == (0, 1, 2) and attempts == {0: 2, 1: 2, 2: 2}


async def test_rate_limit_per_host() -> None:
    """A per-host limiter spaces that host's calls; other hosts are not slowed."""
    clock = FakeClock()
    limiter = RateLimiter(2.0, burst=1, clock=clock)
    times: dict[str, list[float]] = {"a": [], "b": []}

    async def fn(item: str) -> str:
        times[item[0]].append(clock.now())
        return item

    items = ["a1", "b1", "a2", "b2", "a3"]
    await fetch_all(fn, items, limit=1, rate_limit=lambda it: limiter if it[0] == "a" else None)
    assert times["a"] == [0.0, 0.5, 1.0]
    assert len(times["b"]) == 2


async def test_rate_limiter_allows_bursts_then_spaces() -> None:
    """With burst 3 at 10/s: three at once, then one every 100 ms."""
    clock = FakeClock()
    limiter = RateLimiter(10.0, burst=3, clock=clock)
    stamps = []
    for _ in range(5):
        await limiter.acquire()
        stamps.append(round(clock.now(), 6))
    assert stamps == [0.0, 0.0, 0.0, 0.1, 0.2]


@pytest.mark.parametrize("limit", [0, -1, 5000, 2.5])
async def test_invalid_limit_is_a_clear_error(limit: int) -> None:
    """A nonsense concurrency limit is an invalid-input error before anything starts."""

    async def fn(i: int) -> int:
        return i  # pragma: no cover

    with pytest.raises(InvalidInputError):
        async with fetch_stream(fn, [1], limit=limit):
            pass  # pragma: no cover


def test_rate_limiter_validation() -> None:
    """Rates must be positive and finite; bursts at least 1."""
    with pytest.raises(ValueError):
        RateLimiter(0)
    with pytest.raises(ValueError):
        RateLimiter(1.0, burst=0)
