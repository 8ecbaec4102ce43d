"""Cross-replica single flight: one fetch per key for the fleet, never a failed call."""

from __future__ import annotations

from typing import Any

import anyio
import attrs
import fakeredis
import pytest

from autodocs_core.errors import UpstreamServerError, UpstreamTimeout
from autodocs_core.fleet import Coalescer, FleetConfig, LocalState, RedisState, coalesce
from autodocs_core.resilience import SYSTEM_CLOCK
from autodocs_core.testing import FakeClock

pytestmark = pytest.mark.anyio


class Upstream:
    """Counts fetches; each takes *latency* seconds of (fake) time."""

    def __init__(self, clock: Any, latency: float = 1.0, value: bytes = b"docs") -> None:
        self.clock, self.latency, self.value, self.calls = clock, latency, value, 0

    async def fetch(self) -> bytes:
        self.calls += 1
        await self.clock.sleep(self.latency)
        return self.value


async def test_two_replicas_many_callers_one_fetch(clock: FakeClock) -> None:
    """20 concurrent calls over two replicas (one shared state) make one upstream fetch."""
    state = LocalState(clock=clock)
    replicas = [Coalescer(state, clock=clock), Coalescer(state, clock=clock)]
    upstream = Upstream(clock)
    results: list[bytes] = []

    async def call(replica: Coalescer) -> None:
        results.append(await replica.do("pkg", upstream.fetch, ttl=60.0, deadline=10.0))

    async with anyio.create_task_group() as tg:
        for i in range(20):
            tg.start_soon(call, replicas[i % 2])
    assert upstream.calls == 1
    assert results == [b"docs"] * 20
    a, b = (r.statistics() for r in replicas)
    assert a.led + b.led == 1 and a.waited + b.waited == 1
    assert a.shared_in_process + b.shared_in_process == 18
    assert await coalesce(state, "pkg", upstream.fetch, ttl=60.0, deadline=1.0) == b"docs"
    assert upstream.calls == 1  # now a hit


async def test_takeover_when_the_holder_vanishes(clock: FakeClock) -> None:
    """A lease whose holder died expires; a waiting replica takes over and fetches."""
    state = LocalState(clock=clock)
    assert await state.acquire_lease("pkg", 1.0) is not None  # a replica that then crashed
    upstream = Upstream(clock, latency=0.1)
    replica = Coalescer(state, clock=clock)
    assert await replica.do("pkg", upstream.fetch, ttl=60.0, deadline=5.0) == b"docs"
    stats = replica.statistics()
    assert (upstream.calls, stats.takeovers, stats.gave_up) == (1, 1, 0)
    assert clock.now() >= 1.0  # not before the dead holder's lease ran out


async def test_follower_fetches_itself_at_its_deadline(clock: FakeClock) -> None:
    """A follower whose deadline passes while another holds the lease fetches itself."""
    state = LocalState(clock=clock)
    assert await state.acquire_lease("pkg", 100.0) is not None
    upstream = Upstream(clock, latency=0.0)
    replica = Coalescer(state, clock=clock)
    assert await replica.do("pkg", upstream.fetch, ttl=60.0, deadline=0.5) == b"docs"
    assert replica.statistics().gave_up == 1 and upstream.calls == 1
    assert clock.now() == pytest.approx(0.5)
    assert await state.get("pkg") == b"docs"


async def test_leader_extends_its_lease_while_fetching(clock: FakeClock) -> None:
    """A fetch longer than the lease TTL keeps the lease: no second replica fetches."""
    state = LocalState(clock=clock)
    upstream = Upstream(clock, latency=30.0)
    seen: list[str | None] = []

    async def slow() -> bytes:
        upstream.calls += 1
        for _ in range(30):
            await clock.sleep(1.0)
            seen.append(state.lease_holder("pkg", clock.now()))
        return b"docs"

    replica = Coalescer(state, clock=clock)
    # (FakeClock adds up concurrent sleeps: the keeper's sleeps move time too.)
    await replica.do("pkg", slow, ttl=60.0, deadline=600.0, lease_ttl=10.0)
    assert clock.now() > 30.0 and all(holder is not None for holder in seen)
    assert state.lease_holder("pkg", clock.now()) is None  # released at the end


async def test_leader_cancellation_does_not_cancel_the_fetch() -> None:
    """The leading caller is cancelled mid-fetch: the fetch finishes for the others."""
    state = LocalState()
    replica = Coalescer(state, clock=SYSTEM_CLOCK)
    started, proceed = anyio.Event(), anyio.Event()
    calls = 0

    async def fetch() -> bytes:
        nonlocal calls
        calls += 1
        started.set()
        await proceed.wait()
        return b"docs"

    scope = anyio.CancelScope()
    follower: list[bytes] = []

    async def leader() -> None:
        with scope:
            await replica.do("pkg", fetch, ttl=60.0, deadline=5.0)

    async def other() -> None:
        follower.append(await replica.do("pkg", fetch, ttl=60.0, deadline=5.0))

    async with anyio.create_task_group() as tg:
        tg.start_soon(leader)
        await started.wait()
        tg.start_soon(other)
        await anyio.wait_all_tasks_blocked()
        scope.cancel()
        await anyio.wait_all_tasks_blocked()
        proceed.set()
    # The leader's cancellation lands at its next checkpoint after the shielded fetch.
    assert scope.cancel_called
    assert follower == [b"docs"] and calls == 1
    assert await state.get("pkg") == b"docs"


async def test_fetch_error_propagates_and_frees_the_lease(clock: FakeClock) -> None:
    """A failed fetch raises to its caller and releases the lease at once."""
    state = LocalState(clock=clock)

    async def fail() -> bytes:
        raise UpstreamServerError(503)

    with pytest.raises(UpstreamServerError):
        await coalesce(state, "pkg", fail, ttl=60.0, deadline=1.0, clock=clock)
    assert state.lease_holder("pkg", clock.now()) is None


async def test_fetch_timeout_is_an_upstream_timeout(clock: FakeClock) -> None:
    """A leader's fetch that outlives fetch_timeout ends with UpstreamTimeout."""
    state = LocalState(clock=clock)
    replica = Coalescer(state, clock=clock)
    with pytest.raises(UpstreamTimeout):
        await replica.do("pkg", Upstream(clock, 9.0).fetch, ttl=1, deadline=1, fetch_timeout=2)
    assert state.lease_holder("pkg", clock.now()) is None


@pytest.mark.parametrize("bad", [{"deadline": -1.0}, {"deadline": float("nan")}, {"lease_ttl": 0}])
async def test_bad_arguments(clock: FakeClock, bad: dict[str, float]) -> None:
    """Negative or NaN deadlines and empty leases are refused up front."""
    args: dict[str, Any] = {"ttl": 1.0, "deadline": 1.0} | bad
    with pytest.raises(ValueError):
        await Coalescer(LocalState(clock=clock), clock=clock).do("k", Upstream(clock).fetch, **args)


class TestOnRedis:
    @pytest.fixture
    def anyio_backend(self) -> str:
        """redis-py's asyncio client (and fakeredis's) runs on asyncio only."""
        return "asyncio"

    async def test_replicas_on_fakeredis_fetch_once(self, clock: FakeClock) -> None:
        """Three replicas with their own RedisState on one server: one fetch."""
        server = fakeredis.FakeServer()
        replicas = [
            Coalescer(
                RedisState(fakeredis.FakeAsyncRedis(server=server), index_url="https://x"),
                clock=clock,
            )
            for _ in range(3)
        ]
        upstream = Upstream(clock)
        results: list[bytes] = []

        async def call(r: Coalescer) -> None:
            results.append(await r.do("pkg", upstream.fetch, ttl=60.0, deadline=10.0))

        async with anyio.create_task_group() as tg:
            for i in range(12):
                tg.start_soon(call, replicas[i % 3])
        assert upstream.calls == 1 and results == [b"docs"] * 12

    async def test_redis_down_means_local_fetch(self, clock: FakeClock) -> None:
        """With the server unreachable, a call fetches under a local lease and succeeds."""
        server = fakeredis.FakeServer()
        server.connected = False
        state = RedisState(
            fakeredis.FakeAsyncRedis(server=server), index_url="https://x", config=FleetConfig()
        )
        replica = Coalescer(state, clock=clock)
        upstream = Upstream(clock, latency=0.0)
        assert await replica.do("pkg", upstream.fetch, ttl=60.0, deadline=60.0) == b"docs"
        assert replica.statistics().local_leases == 1 and upstream.calls == 1
        # get and lease fail (the guard opens); the put then skips Redis altogether
        assert state.statistics().fallbacks == {"connection": 2, "breaker_open": 1}


class _Scripted(LocalState):
    """A LocalState whose first answers are scripted, to stage an exact interleaving."""

    def __init__(self, clock: FakeClock, gets: list[bytes | None], leases: list[bool]) -> None:
        super().__init__(clock=clock)
        self.gets, self.leases = gets, leases

    async def get(self, key: str) -> bytes | None:
        return self.gets.pop(0) if self.gets else await super().get(key)

    async def acquire_lease(self, key: str, ttl: float) -> Any:
        if self.leases and not self.leases.pop(0):
            return None
        return await super().acquire_lease(key, ttl)


async def test_value_stored_just_before_the_takeover_is_used(clock: FakeClock) -> None:
    """A follower that wins the lease re-checks: a value stored meanwhile is not re-fetched."""
    state = _Scripted(clock, gets=[None, None, b"theirs"], leases=[False, True])
    upstream = Upstream(clock)
    replica = Coalescer(state, clock=clock)
    assert await replica.do("pkg", upstream.fetch, ttl=60.0, deadline=5.0) == b"theirs"
    assert upstream.calls == 0 and replica.statistics().waited == 1
    assert state.lease_holder("pkg", clock.now()) is None  # given back


class _SharedLeases(_Scripted):
    """Leases marked as held on a shared server (where a round trip lets others run)."""

    async def acquire_lease(self, key: str, ttl: float) -> Any:
        lease = await super().acquire_lease(key, ttl)
        return None if lease is None else attrs.evolve(lease, shared=True)


async def test_value_stored_between_the_first_look_and_the_lease_is_used(
    clock: FakeClock,
) -> None:
    """A value stored between a first look that misses and winning the lease is used.

    Another replica's whole fetch fits in that window on a loaded machine (the fleet benchmark
    saw 12 requests for 10 packages): the winner of a shared lease looks again.
    """
    state = _SharedLeases(clock, gets=[None, b"theirs"], leases=[])
    upstream = Upstream(clock)
    replica = Coalescer(state, clock=clock)
    assert await replica.do("pkg", upstream.fetch, ttl=60.0, deadline=5.0) == b"theirs"
    stats = replica.statistics()
    assert (upstream.calls, stats.led, stats.hits, stats.waited) == (0, 0, 1, 0)
    assert state.lease_holder("pkg", clock.now()) is None  # given back


async def test_a_local_lease_won_at_once_fetches_without_looking_again(clock: FakeClock) -> None:
    """A local lease (one process: nothing runs between the look and the lease) leads at once."""
    state = _Scripted(clock, gets=[None, b"never read"], leases=[])
    upstream = Upstream(clock, latency=0.0)
    replica = Coalescer(state, clock=clock)
    assert await replica.do("pkg", upstream.fetch, ttl=60.0, deadline=5.0) == b"docs"
    assert upstream.calls == 1 and state.gets == [b"never read"]


async def test_a_lost_lease_does_not_stop_the_fetch(clock: FakeClock) -> None:
    """If the lease vanishes mid-fetch (flush, expiry), the leader still finishes and stores."""
    state = LocalState(clock=clock)

    async def fetch() -> bytes:
        state._leases.clear()  # as FLUSHALL would
        await clock.sleep(10.0)
        return b"docs"

    replica = Coalescer(state, clock=clock)
    assert await replica.do("pkg", fetch, ttl=60.0, deadline=60.0, lease_ttl=3.0) == b"docs"
    assert await state.get("pkg") == b"docs"


async def test_a_refused_value_is_absent_and_is_replaced(clock: FakeClock) -> None:
    """``accept`` refusing what is stored (too old): the call fetches and stores anew."""
    state = LocalState(clock=clock)
    await state.put("pkg", b"old", 60.0)
    upstream = Upstream(clock, latency=0.1, value=b"new")
    replica = Coalescer(state, clock=clock)
    fresh = lambda value: value != b"old"  # noqa: E731
    assert await replica.do("pkg", upstream.fetch, ttl=60.0, deadline=5.0, accept=fresh) == b"new"
    assert upstream.calls == 1 and await state.get("pkg") == b"new"
    assert await replica.do("pkg", upstream.fetch, ttl=60.0, deadline=5.0, accept=fresh) == b"new"
    assert upstream.calls == 1  # accepted: a hit
