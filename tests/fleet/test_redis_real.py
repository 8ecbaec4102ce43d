"""RedisState against a real redis-server: the scripts on the real thing, and every fault.

Each fault test starts its own server on a free port and kills, stops, restarts, flushes or
starves it; every operation must still answer, locally, within the budget. Times are measured
with the real clock and asserted with a generous bound (≤ 1 s per operation: the point is
"never 4 s or 60 s"; the measured figures are in docs/scale-out.md).
"""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio
import pytest

from autodocs_core.fleet import FleetConfig, RedisState, fleet_from_url, redis_client
from autodocs_core.resilience import BreakerConfig

from .conftest import RedisServer, needs_redis_server

pytestmark = [pytest.mark.anyio, needs_redis_server]

T = TypeVar("T")

PER_OP = 1.0  # seconds: budget (0.25) + generous slack for a loaded 2-core CI machine

FAST_GUARD = FleetConfig(
    timeout=0.25,
    guard=BreakerConfig(consecutive_failures=3, failure_rate=None, recovery_time=0.3),
)


@pytest.fixture
def anyio_backend() -> str:
    """redis-py's asyncio client runs on asyncio only; so do these tests."""
    return "asyncio"


def make_state(url: str, config: FleetConfig = FAST_GUARD) -> RedisState:
    state = fleet_from_url(url, index_url=f"https://{uuid.uuid4().hex}.test", config=config)
    assert isinstance(state, RedisState)
    return state


@pytest.fixture
async def state(redis_server: RedisServer) -> AsyncIterator[RedisState]:
    s = make_state(redis_server.url)
    yield s
    await s.aclose()


async def timed(op: Awaitable[T]) -> tuple[T, float]:
    start = time.perf_counter()
    result = await op
    return result, time.perf_counter() - start


async def wait_until_shared(state: RedisState, *, within: float = 10.0) -> None:
    """Poll (bounded) until an operation is answered by Redis again."""
    with anyio.fail_after(within):
        while True:
            if (await state.admit("probe.example")).shared:
                return
            await anyio.sleep(0.05)


async def all_ops(state: RedisState) -> list[tuple[str, Any, float]]:
    """Run one of each operation, timing each."""
    out: list[tuple[str, Any, float]] = []
    calls: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
        ("get", lambda: state.get("k")),
        ("put", lambda: state.put("k", b"v", 60.0)),
        ("lease", lambda: state.acquire_lease("lease", 5.0)),
        ("admit", lambda: state.admit("pypi.org")),
        ("report", lambda: state.report("pypi.org", "failure", open_for=1.0)),
    ]
    for name, call in calls:
        result, took = await timed(call())
        out.append((name, result, took))
    return out


async def test_scripts_on_a_real_server(state: RedisState, redis_server: RedisServer) -> None:
    """Values, leases, GCRA and the probe protocol run on a real server without a fallback."""
    other = RedisState(
        redis_client(redis_server.url), index_url="x", config=FleetConfig(rate=2.0, burst=2)
    )
    other._prefix = state._prefix  # same index: the same keys
    assert await state.put("k", b"v", 60.0) and await other.get("k") == b"v"
    lease = await state.acquire_lease("l", 5.0)
    assert lease is not None and lease.shared and await other.acquire_lease("l", 5.0) is None
    assert await state.extend(lease, 5.0) and await state.release(lease)
    assert [(await other.admit("h")).allowed for _ in range(3)] == [True, True, False]
    await state.report("h", "failure", open_for=30.0)
    refused = await other.admit("h")
    assert refused.reason == "breaker_open" and 29.0 < refused.retry_after <= 30.0
    assert state.statistics().fallback_total == other.statistics().fallback_total == 0
    await other.aclose()


async def test_killed_server_calls_fall_back_within_the_budget(
    own_redis_server: RedisServer,
) -> None:
    """SIGKILL mid-run: every operation answers locally within the budget, counted."""
    state = make_state(own_redis_server.url)
    await all_ops(state)
    assert state.statistics().fallback_total == 0
    own_redis_server.kill()
    for _ in range(3):
        for name, _result, took in await all_ops(state):
            assert took <= PER_OP, f"{name} took {took:.2f} s on a dead server"
    stats = state.statistics()
    assert stats.fallbacks.get("connection", 0) >= 3 and stats.fallbacks.get("breaker_open", 0)
    decided = await state.admit("files.example")
    assert decided.allowed and not decided.shared  # decided locally
    refused = await state.admit("pypi.org")  # the open-until published before was mirrored
    assert (refused.reason, refused.shared) == ("breaker_open", False)
    await state.aclose()


async def test_hung_server_every_operation_within_the_budget(
    own_redis_server: RedisServer,
) -> None:
    """SIGSTOP mid-run: each operation returns within budget + ε; SIGCONT recovers."""
    state = make_state(own_redis_server.url)
    await all_ops(state)
    own_redis_server.signal(signal.SIGSTOP)
    try:
        for _ in range(2):
            for name, _result, took in await all_ops(state):
                assert took <= PER_OP, f"{name} took {took:.2f} s on a hung server"
        assert state.statistics().fallbacks.get("timeout", 0) >= 3
    finally:
        own_redis_server.signal(signal.SIGCONT)
    await wait_until_shared(state)
    assert await state.put("after", b"v", 60.0) and await state.get("after") == b"v"
    await state.aclose()


async def test_restarted_on_the_same_port_recovers(own_redis_server: RedisServer) -> None:
    """Killed then restarted on its port: after the guard's recovery time, calls are shared."""
    state = make_state(own_redis_server.url)
    await state.put("k", b"v", 60.0)
    own_redis_server.kill()
    await all_ops(state)
    assert not state.statistics().available
    own_redis_server.start()
    await wait_until_shared(state)
    assert state.statistics().available
    assert await state.get("k") is None  # a fresh server: no value, and no error
    assert await state.put("k", b"w", 60.0) and await state.get("k") == b"w"
    await state.aclose()


async def test_flushall_loses_state_without_errors(state: RedisState) -> None:
    """FLUSHALL: values, leases and open-until vanish; every call still answers from Redis."""
    lease = await state.acquire_lease("l", 5.0)
    assert lease is not None
    await state.put("k", b"v", 60.0)
    await state.report("h", "failure", open_for=30.0)
    await state._client.flushall()
    assert await state.get("k") is None
    assert not await state.release(lease)
    assert (await state.admit("h")).allowed
    assert state.statistics().fallback_total == 0


async def test_out_of_memory_puts_fail_soft(own_redis_server: RedisServer) -> None:
    """With maxmemory 1mb + noeviction, puts are refused (counted), reads and the guard unharmed."""
    own_redis_server.command("CONFIG", "SET", "maxmemory-policy", "noeviction")
    own_redis_server.command("CONFIG", "SET", "maxmemory", "1mb")
    state = make_state(own_redis_server.url)
    reader = RedisState(redis_client(own_redis_server.url), index_url="x")
    reader._prefix = state._prefix
    blob = b"x" * 10_000  # an empty server already uses ~0.9 MB: ~10 of these fit
    stored = [await state.put(f"k{i}", blob, 600.0) for i in range(40)]
    assert stored[0] and not stored[-1]
    stats = state.statistics()
    assert stats.fallbacks.get("rejected", 0) >= 20, stored
    assert stats.guard is not None and stats.guard.state.value == "closed"
    assert await reader.get("k0") == blob  # what fit is shared
    assert await reader.get("k39") is None and await state.get("k39") is None
    assert reader.statistics().fallback_total == 0
    await state.aclose()
    await reader.aclose()


async def test_wrong_password_is_unavailable_never_raised(tmp_path: Path) -> None:
    """A wrong password: every call answers locally, counted as auth; the right one works."""
    server = RedisServer(tmp_path, password="right-pass")
    server.start()
    try:
        wrong = make_state(f"redis://default:wrong-pass@127.0.0.1:{server.port}/0")
        for name, _result, took in await all_ops(wrong):
            assert took <= PER_OP, name
        stats = wrong.statistics()
        assert stats.fallbacks.get("auth", 0) >= 1
        assert "wrong-pass" not in repr(wrong) and "wrong-pass" not in repr(stats)
        right = make_state(server.url)
        assert await right.put("k", b"v", 60.0) and right.statistics().fallback_total == 0
        await wrong.aclose()
        await right.aclose()
    finally:
        server.stop()


async def test_concurrent_replicas_one_probe_and_the_fleet_rate(redis_server: RedisServer) -> None:
    """Four replicas racing: exactly one probe after open-until; GCRA holds fleet-wide."""
    cfg = FleetConfig(rate=10.0, burst=5, recovery_time=30.0)
    first = make_state(redis_server.url, cfg)
    replicas = [first] + [
        RedisState(redis_client(redis_server.url), index_url="x", config=cfg) for _ in range(3)
    ]
    for r in replicas[1:]:
        r._prefix = first._prefix
    results: list[Any] = []

    async def burst(r: RedisState, upstream: str) -> None:
        for _ in range(25):
            results.append(await r.admit(upstream))

    start = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for r in replicas:
            tg.start_soon(burst, r, "rate.example")
    elapsed = time.perf_counter() - start
    admitted = sum(a.allowed for a in results)
    assert 5 <= admitted <= 5 + 10.0 * elapsed + 1
    await first.report("probe.example", "failure", open_for=30.0)
    sec, usec = await first._client.time()  # move open-until into the past (server clock)
    past = sec * 1000 + usec / 1000 - 1
    await first._client.set(f"{first._prefix}b:probe.example:open", f"{past:.3f}")
    results.clear()
    async with anyio.create_task_group() as tg:
        for r in replicas:
            tg.start_soon(burst, r, "probe.example")
    assert sum(a.probe for a in results) == 1
    assert sum(a.allowed for a in results) == 1
    for r in replicas:
        assert r.statistics().fallback_total == 0
        await r.aclose()


async def test_a_least_privilege_acl_user_is_enough(redis_server: RedisServer) -> None:
    """The ACL user documented in scale-out.md can do everything (no fallback)."""
    rules = (
        "on >fleet-pass ~autodocs:* resetchannels -@all +@connection +get +set +del +pexpire "
        "+pttl +hmget +hset +time +evalsha +eval +script|load"
    )
    reply = redis_server.command("ACL", "SETUSER", "autodocs", *rules.split())
    assert reply.startswith("+OK"), reply
    url = f"redis://autodocs:fleet-pass@127.0.0.1:{redis_server.port}/0"
    state = make_state(url)
    assert await state.put("k", b"v", 60.0) and await state.get("k") == b"v"
    lease = await state.acquire_lease("l", 5.0)
    assert lease is not None and lease.shared
    assert await state.extend(lease, 5.0) and await state.release(lease)
    assert (await state.admit("h")).shared
    await state.report("h", "failure", open_for=1.0)
    assert state.statistics().fallback_total == 0, state.statistics().fallbacks
    await state.aclose()


async def test_warm_up_opens_the_pool_and_loads_the_scripts(own_redis_server: RedisServer) -> None:
    """warm_up() connects the whole pool and loads every script; on a dead server it says no."""
    state = make_state(own_redis_server.url, FleetConfig(pool_size=4))
    assert await state.warm_up()
    info = own_redis_server.command("INFO", "clients")
    assert "connected_clients:5" in info  # the 4 pooled connections + this command's
    assert "1" in own_redis_server.command("SCRIPT", "EXISTS", state._admit.sha)
    before = state.statistics().operations
    assert (await state.admit("h")).shared  # a single EVALSHA, no NOSCRIPT round trip
    assert state.statistics().operations == before + 1
    own_redis_server.kill()
    (ok, took) = await timed(state.warm_up(budget=0.5))
    assert not ok and took <= PER_OP and state.statistics().fallbacks["warm_up"] == 1
    await state.get("k")  # the second failure in a row opens the guard
    assert not state.statistics().available
    await state.aclose()
