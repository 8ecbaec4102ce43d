"""RedisState on fakeredis with Lua: the scripts' semantics and the guard's fallbacks."""

from __future__ import annotations

import math
import uuid
from collections.abc import AsyncIterator
from typing import Any

import anyio
import attrs
import fakeredis
import pytest
import redis.exceptions

from autodocs_core.fleet import FleetConfig, Lease, RedisState, SharedState, index_namespace
from autodocs_core.fleet._redis import _classify
from autodocs_core.resilience import BreakerConfig
from autodocs_core.testing import FakeClock

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    """redis-py's asyncio client (and fakeredis's) runs on asyncio only; so do these tests."""
    return "asyncio"


@pytest.fixture
def server() -> fakeredis.FakeServer:
    return fakeredis.FakeServer()


def client(server: fakeredis.FakeServer) -> fakeredis.FakeAsyncRedis:
    return fakeredis.FakeAsyncRedis(server=server)


def state_on(server: fakeredis.FakeServer, **config: Any) -> RedisState:
    return RedisState(client(server), index_url="https://pypi.org", config=FleetConfig(**config))


@pytest.fixture
async def state(server: fakeredis.FakeServer) -> AsyncIterator[RedisState]:
    s = state_on(server)
    yield s
    await s.aclose()


async def server_ms(server: fakeredis.FakeServer) -> float:
    sec, usec = await client(server).time()
    return sec * 1000 + usec / 1000


class TestValuesAndKeys:
    async def test_roundtrip_under_the_index_prefix(
        self, state: RedisState, server: fakeredis.FakeServer
    ) -> None:
        """A value put by one replica is read by another; keys carry schema and index hash."""
        assert isinstance(state, SharedState)
        assert await state.put("docs:attrs:24.1", b"payload", 60.0)
        other = state_on(server)
        assert await other.get("docs:attrs:24.1") == b"payload"
        keys = [k.decode() for k in await client(server).keys("*")]
        prefix = index_namespace("https://pypi.org")
        assert keys == [f"{prefix}v:docs:attrs:24.1"] and prefix.startswith("autodocs:v1:")
        ttl = await client(server).pttl(keys[0])
        assert 0 < ttl <= 60_000
        assert state.statistics().fallback_total == 0

    async def test_other_index_other_keys(self, server: fakeredis.FakeServer) -> None:
        """Replicas configured for different indexes never see each other's values."""
        a = state_on(server)
        b = RedisState(client(server), index_url="https://mirror.example/simple")
        await a.put("k", b"v", 60.0)
        assert await b.get("k") is None

    async def test_odd_keys_are_hashed(
        self, state: RedisState, server: fakeredis.FakeServer
    ) -> None:
        """Keys with spaces, newlines or excessive length are hashed, not written raw."""
        await state.put("a b\nc" + "x" * 300, b"v", 60.0)
        (key,) = await client(server).keys("*")
        assert b"\n" not in key and len(key) < 100
        assert await state.get("a b\nc" + "x" * 300) == b"v"

    async def test_size_cap_on_put_and_get(self, server: fakeredis.FakeServer) -> None:
        """Values over the cap are refused on put, and ignored (counted) on get."""
        state = state_on(server, max_value_bytes=8)
        assert not await state.put("k", b"123456789", 60.0)
        prefix = index_namespace("https://pypi.org")
        await client(server).set(f"{prefix}v:big", b"x" * 9)
        assert await state.get("big") is None
        stats = state.statistics()
        assert stats.fallbacks == {"too_large": 1, "decode": 1}
        assert stats.guard is not None and stats.guard.consecutive_failures == 0


class TestLeases:
    async def test_set_nx_px_and_compare_and_delete(
        self, state: RedisState, server: fakeredis.FakeServer
    ) -> None:
        """One holder fleet-wide; only the holder's token releases or extends it."""
        other = state_on(server)
        lease = await state.acquire_lease("pkg", 5.0)
        assert lease is not None and lease.shared
        assert await other.acquire_lease("pkg", 5.0) is None
        forged = Lease("pkg", "not-the-token", 5.0, shared=True)
        assert not await other.release(forged)
        assert not await other.extend(forged, 5.0)
        assert await state.extend(lease, 30.0)
        prefix = index_namespace("https://pypi.org")
        assert 5_000 < await client(server).pttl(f"{prefix}l:pkg") <= 30_000
        assert await state.release(lease)
        assert not await state.release(lease)
        assert await other.acquire_lease("pkg", 5.0) is not None

    async def test_flushall_loses_leases_and_values_without_error(
        self, state: RedisState, server: fakeredis.FakeServer
    ) -> None:
        """After FLUSHALL, values and leases are gone; release and extend say False."""
        lease = await state.acquire_lease("pkg", 5.0)
        assert lease is not None
        await state.put("k", b"v", 60.0)
        await client(server).flushall()
        assert await state.get("k") is None
        assert not await state.extend(lease, 5.0)
        assert not await state.release(lease)
        assert state.statistics().fallback_total == 0


class TestAdmission:
    async def test_rate_limit_is_fleet_wide(self, server: fakeredis.FakeServer) -> None:
        """Two replicas share one GCRA cell: together they get the burst, not twice it."""
        a, b = state_on(server, rate=1.0, burst=3), state_on(server, rate=1.0, burst=3)
        answers = [await s.admit("pypi.org") for s in (a, b, a, b)]
        assert [x.allowed for x in answers] == [True, True, True, False]
        assert answers[-1].reason == "rate_limited" and answers[-1].shared
        assert 0.9 < answers[-1].retry_after <= 1.0
        assert (await a.admit("files.pythonhosted.org")).allowed

    async def test_open_until_then_exactly_one_probe(self, server: fakeredis.FakeServer) -> None:
        """One replica's open breaker stops the others; then exactly one probe fleet-wide."""
        a, b, c = (state_on(server, recovery_time=30.0) for _ in range(3))
        await a.report("pypi.org", "failure", open_for=10.0)
        refused = await b.admit("pypi.org")
        assert (refused.allowed, refused.reason) == (False, "breaker_open")
        assert 9.0 < refused.retry_after <= 10.0
        # make the open-until lie in the past (server clock), as if 10 s had passed
        prefix = index_namespace("https://pypi.org")
        await client(server).set(f"{prefix}b:pypi.org:open", f"{await server_ms(server) - 1:.3f}")
        answers = [await s.admit("pypi.org") for s in (b, c, a, b)]
        assert [x.probe for x in answers] == [True, False, False, False]
        assert [x.allowed for x in answers] == [True, False, False, False]
        probe_ttl = await client(server).pttl(f"{prefix}b:pypi.org:probe")
        assert 29_000 < probe_ttl <= 30_000  # one probe per recovery period
        stale = attrs.evolve(answers[0], token="an-earlier-probe")
        await c.report("pypi.org", "success", admission=stale)  # only the probe's token closes
        assert not (await a.admit("pypi.org")).allowed
        await b.report("pypi.org", "success", admission=answers[0])
        assert all([(await s.admit("pypi.org")).allowed for s in (a, b, c)])

    async def test_failed_probe_reopens_for_recovery_time(
        self, server: fakeredis.FakeServer
    ) -> None:
        """A failed probe publishes a new open-until, recovery_time ahead."""
        a = state_on(server, recovery_time=20.0)
        await a.report("h", "failure", open_for=1.0)
        prefix = index_namespace("https://pypi.org")
        await client(server).set(f"{prefix}b:h:open", f"{await server_ms(server) - 1:.3f}")
        probe = await a.admit("h")
        assert probe.probe
        await a.report("h", "failure", admission=probe)
        refused = await a.admit("h")
        assert refused.reason == "breaker_open" and 19.0 < refused.retry_after <= 20.0

    async def test_retry_budget_is_shared(self, server: fakeredis.FakeServer) -> None:
        """Retries by any replica draw from one budget."""
        cfg: dict[str, Any] = {"retry_cap": 2.0, "retry_per_second": 0.0, "retry_ratio": 0.0}
        a, b = state_on(server, **cfg), state_on(server, **cfg)
        assert (await a.admit("h", retry=True)).allowed
        assert (await b.admit("h", retry=True)).allowed
        spent = await a.admit("h", retry=True)
        assert (spent.allowed, spent.reason) == (False, "retry_budget")
        assert (await a.admit("h")).allowed  # first attempts are not budgeted

    async def test_an_opening_seen_during_a_blip_is_still_published(
        self, server: fakeredis.FakeServer
    ) -> None:
        """Admitted locally (Redis away), failed, breaker opened: the open-until is shared."""
        clock = FakeClock()
        a = RedisState(client(server), index_url="https://pypi.org", clock=clock)
        b = state_on(server)
        server.connected = False
        admission = await a.admit("h")
        assert admission.allowed and not admission.shared
        server.connected = True
        clock.advance(FleetConfig().guard.recovery_time * 2)  # the guard lets a probe through
        await a.report("h", "failure", admission=admission, open_for=10.0)
        refused = await b.admit("h")
        assert (refused.reason, refused.shared) == ("breaker_open", True)

    async def test_bad_ttl_is_refused(self, state: RedisState) -> None:
        """A NaN TTL is a ValueError before any Redis call."""
        with pytest.raises(ValueError):
            await state.put("k", b"v", math.nan)
        assert state.statistics().operations == 0

    async def test_plain_outcomes_cost_no_call(self, state: RedisState) -> None:
        """Reporting an ordinary success or failure (no probe, breaker not opened) is free."""
        before = state.statistics().operations
        await state.report("h", "success")
        await state.report("h", "failure")
        assert state.statistics().operations == before


class _Broken:
    """A client whose every command fails like a refused connection, or hangs."""

    def __init__(self, clock: FakeClock | None = None) -> None:
        self.clock = clock
        self.calls = 0

    def register_script(self, _src: str) -> Any:
        return self._fail

    async def _fail(self, *_a: Any, **_k: Any) -> Any:
        import redis.exceptions

        self.calls += 1
        if self.clock is not None:
            await self.clock.sleep(math.inf)  # hangs until the guard's budget (fake time)
        raise redis.exceptions.ConnectionError("Connection refused")

    get = set = _fail

    async def aclose(self) -> None:
        return None


class TestGuard:
    async def test_errors_fall_back_locally_counted_and_open_the_guard(self) -> None:
        """Failed operations answer locally (never raise); after 3 the guard stops trying."""
        broken = _Broken()
        cfg = FleetConfig(guard=BreakerConfig(consecutive_failures=3, failure_rate=None))
        state = RedisState(broken, index_url="https://pypi.org", config=cfg)
        assert await state.put("k", b"v", 60.0)  # stored locally
        assert await state.get("k") == b"v"
        lease = await state.acquire_lease("k", 5.0)
        assert lease is not None and not lease.shared
        admission = await state.admit("h")
        assert admission.allowed and not admission.shared
        assert broken.calls == 3
        stats = state.statistics()
        assert stats.fallbacks == {"connection": 3, "breaker_open": 1}
        assert not stats.available

    async def test_hung_server_costs_one_budget_per_call(self) -> None:
        """A hanging operation ends at the budget (fake time) and answers locally."""
        clock = FakeClock()
        cfg = FleetConfig(
            timeout=0.25, guard=BreakerConfig(consecutive_failures=2, failure_rate=None)
        )
        state = RedisState(_Broken(clock), index_url="https://pypi.org", config=cfg, clock=clock)
        assert await state.get("k") is None
        assert clock.now() == pytest.approx(0.25)
        assert (await state.admit("h")).allowed
        assert clock.now() == pytest.approx(0.5)
        assert await state.get("k") is None  # guard open: no wait at all
        assert clock.now() == pytest.approx(0.5)
        assert state.statistics().fallbacks == {"timeout": 2, "breaker_open": 1}

    async def test_waiting_for_a_connection_is_busy_not_a_redis_failure(self) -> None:
        """With every pooled connection in use past the budget, a call goes local as busy."""
        clock = FakeClock()
        cfg = FleetConfig(
            pool_size=1, guard=BreakerConfig(consecutive_failures=5, failure_rate=None)
        )
        state = RedisState(_Broken(clock), index_url="https://pypi.org", config=cfg, clock=clock)
        async with anyio.create_task_group() as tg:
            tg.start_soon(state.get, "a")  # holds the only connection until the budget ends
            tg.start_soon(state.get, "b")  # waits for it just as long, then goes local
        stats = state.statistics()
        assert stats.fallbacks == {"timeout": 1, "busy": 1}
        assert stats.guard is not None and stats.guard.consecutive_failures == 1
        assert clock.now() == pytest.approx(0.25)

    async def test_disconnected_fake_server(self, server: fakeredis.FakeServer) -> None:
        """A server that drops connections: calls answer locally, counted as connection."""
        state = state_on(server)
        server.connected = False
        assert await state.get("k") is None
        assert await state.acquire_lease("k", 1.0) is not None
        assert state.statistics().fallbacks == {"connection": 2}
        assert not state.statistics().available  # two in a row open the default guard

    async def test_wrong_type_is_an_error_not_a_crash(
        self, state: RedisState, server: fakeredis.FakeServer
    ) -> None:
        """A key of the wrong type (another program's data) is a counted fallback."""
        prefix = index_namespace("https://pypi.org")
        await client(server).lpush(f"{prefix}v:k", b"x")
        assert await state.get("k") is None
        assert state.statistics().fallbacks == {"error": 1}

    async def test_closed_state_answers_locally(self, state: RedisState) -> None:
        """After aclose, calls still answer (locally), counted as closed."""
        await state.aclose()
        await state.aclose()
        assert await state.put("k", b"v", 1.0)
        assert state.statistics().fallbacks == {"closed": 1}


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_on_trio_everything_answers_locally(server: fakeredis.FakeServer) -> None:
    """On trio (redis-py needs asyncio) every call answers locally, counted as backend."""
    state = state_on(server)
    assert await state.put("k", b"v", 60.0)
    assert await state.get("k") == b"v"
    assert (await state.admit("h")).allowed
    assert state.statistics().fallbacks == {"backend": 3}
    await state.aclose()


def test_repr_and_keys_never_show_the_index_url() -> None:
    """The index URL (which may hold credentials) is hashed into keys, never shown."""
    url = f"https://user:{uuid.uuid4().hex}@private.example/simple"
    state = RedisState(fakeredis.FakeAsyncRedis(), index_url=url)
    assert "private.example" not in repr(state) and "user" not in index_namespace(url)


@pytest.mark.parametrize(
    "other",
    [
        "https://private.example/simple/",
        "https://other:token@private.example/",
        "https://PRIVATE.example/pypi",
        "https://private.example",
    ],
)
def test_credentials_do_not_split_an_index_namespace(other: str) -> None:
    """Replicas reaching one index with different tokens share its keys; other indexes do not."""
    url = "https://user:secret@private.example/simple"
    assert index_namespace(other) == index_namespace(url)
    assert index_namespace("https://private.example/mirror") != index_namespace(url)
    assert index_namespace("http://private.example/simple") != index_namespace(url)


async def test_cancellation_from_outside_is_not_a_redis_failure() -> None:
    """A caller cancelled during an operation is cancelled; Redis is not blamed."""
    clock = FakeClock()
    state = RedisState(_Broken(clock), index_url="https://pypi.org", clock=clock)
    with anyio.CancelScope() as scope:
        scope.cancel()
        await state.get("k")
    assert scope.cancelled_caught
    stats = state.statistics()
    assert stats.fallback_total == 0
    assert stats.guard is not None and stats.guard.consecutive_failures == 0


@pytest.mark.parametrize(
    ("exc", "reason", "counts"),
    [
        (redis.exceptions.AuthenticationError("invalid password"), "auth", True),
        (redis.exceptions.ResponseError("NOAUTH Authentication required."), "auth", True),
        (redis.exceptions.ResponseError("WRONGPASS invalid username-password"), "auth", True),
        (redis.exceptions.OutOfMemoryError("OOM command not allowed"), "rejected", False),
        (redis.exceptions.ResponseError("OOM command not allowed"), "rejected", False),
        (redis.exceptions.ReadOnlyError("READONLY replica"), "rejected", False),
        (redis.exceptions.TimeoutError("Timeout reading"), "timeout", True),
        (redis.exceptions.ConnectionError("refused"), "connection", True),
        (ConnectionResetError(), "connection", True),
        (redis.exceptions.ResponseError("ERR script error"), "error", True),
        (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "bad"), "decode", False),
        (KeyError("x"), "error", True),
    ],
)
def test_error_classification(exc: Exception, reason: str, counts: bool) -> None:
    """Each failure has a reason; only those that say Redis is unwell count for its breaker."""
    assert _classify(exc) == (reason, counts)
