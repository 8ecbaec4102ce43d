"""The shared tier and cross-replica single flight in the lookup path: two replicas, one index.

Each "replica" is a :class:`Lookup` built by ``build_parts`` (its own memory cache, HTTP client,
breakers and single flight) over one shared state and one loopback :class:`FaultIndex`. The
shared state is a :class:`LocalState` (asyncio and trio) or a :class:`RedisState` on fakeredis
(asyncio only: redis-py's client runs on asyncio).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import fakeredis
import pytest

from autodocs_core.cache import DocsCache
from autodocs_core.config import Settings
from autodocs_core.fleet import LocalState, RedisState, SharedState, fleet_from_url
from autodocs_core.lookup import SHARED_STALE_SECONDS
from autodocs_core.service import DocsService, ServiceParts, build_parts
from autodocs_core.testing import Fault, FaultIndex, FaultPlan
from autodocs_core.testing._index import wheel_filename

from .conftest import RedisServer, needs_redis_server

pytestmark = pytest.mark.anyio

LIST = "/pypi/attrs/json"
OLD = "25.4.0"  # not the latest: its documentation needs its own request
DOCS = f"/pypi/attrs/{OLD}/json"


def fake_redis_state(server: fakeredis.FakeServer, index_url: str) -> RedisState:
    return RedisState(fakeredis.FakeAsyncRedis(server=server), index_url=index_url)


@asynccontextmanager
async def replicas(
    index: FaultIndex, *states: SharedState, **settings: Any
) -> AsyncIterator[list[ServiceParts]]:
    """One set of parts per shared state (a replica each), memory-only caches, HTTP entered."""
    parts = [
        build_parts(Settings(index_url=index.url, **settings), store=None, shared=s) for s in states
    ]
    async with AsyncExitStack() as stack:
        for p in parts:
            await stack.enter_async_context(p.http)
        yield parts


async def crowd(n: int, call: Callable[[int], Awaitable[None]]) -> None:
    async with anyio.create_task_group() as tg:
        for i in range(n):
            tg.start_soon(call, i)


async def spread_first_calls(
    index: FaultIndex, states: list[SharedState], n: int = 20
) -> list[ServiceParts]:
    """*n* concurrent first calls for one old attrs version, spread over one replica per state."""
    async with replicas(index, *states) as parts:
        versions: list[str] = []

        async def call(i: int) -> None:
            found = await parts[i % len(parts)].lookup.find("attrs", "<26")
            versions.append(found.docs.version)

        await crowd(n, call)
    assert versions == [OLD] * n  # every call answers
    return parts


async def first_calls_make_one_request_each(states: list[SharedState], projects: Any) -> None:
    async with FaultIndex(projects, per_version_json=True) as index:
        parts = await spread_first_calls(index, states)
        assert index.paths() == {LIST: 1, DOCS: 1}
        assert sum(p.cache.shared_hits for p in parts) >= 1  # the other replica read it


class TestOneSharedState:
    async def test_concurrent_first_calls_make_one_request_each(
        self, projects: dict[str, Any]
    ) -> None:
        """20 calls spread over two replicas: 1 request for the list, 1 for the docs."""
        state = LocalState()
        await first_calls_make_one_request_each([state, state], projects)

    async def test_a_shared_value_is_served_without_the_index_then_locally(
        self, projects: dict[str, Any]
    ) -> None:
        """Replica B answers from the shared tier (no request), then from memory (no call)."""
        state = LocalState()
        async with (
            FaultIndex(projects, per_version_json=True) as index,
            replicas(index, state, state) as (a, b),
        ):
            fetched = await a.lookup.find("attrs", "<26")
            assert not fetched.from_cache
            before = dict(index.paths())
            found = await b.lookup.find("attrs", "<26")
            assert found.docs == fetched.docs and found.from_cache
            assert index.paths() == before  # no index request
            assert b.cache.shared_hits == 2  # the version list and the docs
            ops = state.statistics().operations
            again = await b.lookup.find("attrs", "<26")
            pinned = await b.lookup.find("attrs", f"=={OLD}")
            assert again.docs == pinned.docs == fetched.docs
            assert state.statistics().operations == ops  # local hits: no shared call
            # A pin another replica read is one shared read away (no version list).
            c = build_parts(Settings(index_url=index.url), store=None, shared=state)
            async with c.http:
                assert (await c.lookup.find("attrs", f"=={OLD}")).from_cache
            assert index.paths() == before

    async def test_the_latest_version_from_a_shared_list_costs_one_shared_read(
        self, projects: dict[str, Any]
    ) -> None:
        """A replica that took the latest's list from the shared tier writes nothing back.

        The latest docs come with the list: it answers from it (cached, no request).
        """
        state = LocalState()
        async with FaultIndex(projects) as index, replicas(index, state, state) as (a, b):
            fetched = await a.lookup.find("attrs", None)
            assert not fetched.from_cache
            requests, ops = index.count(), state.statistics().operations
            found = await b.lookup.find("attrs", None)
            assert found.from_cache and found.docs.description == fetched.docs.description
            assert found.docs.version == fetched.docs.version
            assert index.count() == requests
            assert state.statistics().operations == ops + 1  # one get: the version list

    async def test_stale_shared_list_is_served_when_the_index_is_down(
        self, projects: dict[str, Any]
    ) -> None:
        """A list older than the fresh window, only in the shared tier, answers an outage."""
        state = LocalState()
        plan = FaultPlan()
        async with (
            FaultIndex(projects, plan=plan, per_version_json=True) as index,
            replicas(index, state, state) as (a, b),
        ):
            await a.lookup.find("attrs", "<26")
            # The same list, as another replica stored it two days ago.
            old = DocsCache(None, index_url=index.url)
            old.clock = _Shifted(-2 * 86400)
            project = (await a.cache.get_project("attrs")).value  # type: ignore[union-attr]
            _, data = await old.put_shared("project", "attrs", None, project)
            key = old.shared_key("project", "attrs")
            assert await state.put(key, data, SHARED_STALE_SECONDS)
            plan.probabilities = [(Fault("status", status=503), 1.0)]
            before = index.count()
            found = await b.lookup.find("attrs", "<26")
            assert found.docs.version == OLD and found.from_cache
            assert found.stale_age is not None and found.stale_age >= 2 * 86400 - 60
            assert index.count() == before + 1  # one brief attempt, then the stale copy
            assert any("could not be reached" in w for w in found.warnings)

    async def test_refresh_drops_the_shared_version_list(self, projects: dict[str, Any]) -> None:
        """After refresh(name), the next call asks the index, not the shared tier."""
        state = LocalState()
        async with FaultIndex(projects) as index:
            settings = Settings(index_url=index.url)
            async with DocsService(settings, store=None, shared=state) as service:
                await service.get_docs("attrs")
                assert await state.get(service.cache.shared_key("project", "attrs"))
                await service.refresh("attrs")
                assert await state.get(service.cache.shared_key("project", "attrs")) is None
                await service.get_docs("attrs")
            assert index.paths() == {LIST: 2}

    async def test_a_cancelled_leader_still_fetches_for_the_other_replica(
        self, projects: dict[str, Any]
    ) -> None:
        """A's caller is cancelled mid-fetch; B, waiting on A's lease, gets the value: 1 request."""
        state = LocalState()
        plan = FaultPlan(script=[Fault("slow", delay=0.3)], match=lambda path: path == DOCS)
        async with (
            FaultIndex(projects, plan=plan, per_version_json=True) as index,
            replicas(index, state, state) as (a, b),
        ):
            got: list[str] = []
            async with anyio.create_task_group() as tg:
                leader = anyio.CancelScope()

                async def lead() -> None:
                    with leader:
                        await a.lookup.find("attrs", "<26")

                async def follow() -> None:
                    await index.wait_for_requests(2)  # A holds the lease, its request is out
                    leader.cancel()  # A's caller goes away; its fetch does not
                    await _append(got, b.lookup.find("attrs", "<26"))

                tg.start_soon(lead)
                tg.start_soon(follow)
            assert leader.cancel_called
            assert got == [OLD]
            assert index.paths() == {LIST: 1, DOCS: 1}
            assert a.lookup.coalescer is not None and b.lookup.coalescer is not None
            assert b.lookup.coalescer.statistics().waited == 1

    async def test_corrupt_shared_values_are_a_miss_and_are_replaced(
        self, projects: dict[str, Any]
    ) -> None:
        """Garbage under the list and docs keys: counted, fetched, and overwritten."""
        state = LocalState()
        async with (
            FaultIndex(projects, per_version_json=True) as index,
            replicas(index, state) as (a,),
        ):
            good = DocsCache(None, index_url=index.url)
            head = (await good.put_shared("project", "x", None, _project(projects)))[1][:12]
            list_key = a.cache.shared_key("project", "attrs")
            docs_key = a.cache.shared_key("docs", "attrs", OLD)
            await state.put(list_key, b"not a value at all", 60)
            await state.put(docs_key, head + b"\x78\x9cgarbage", 60)  # a good head only
            found = await a.lookup.find("attrs", "<26")
            assert found.docs.version == OLD and not found.from_cache
            assert index.paths() == {LIST: 1, DOCS: 1}
            assert a.cache.shared_corrupt == 1  # the docs; the list's head was refused
            fresh = DocsCache(None, index_url=index.url)
            for key, kind, version in ((list_key, "project", None), (docs_key, "docs", OLD)):
                data = await state.get(key)
                assert data is not None
                assert await fresh.adopt(kind, "attrs", version, data) is not None


def _project(projects: dict[str, Any]) -> Any:
    from autodocs_core.pypi._parse import project_from_json

    return project_from_json("attrs", projects["attrs"], url="https://example.test/pypi/attrs")


async def _append(out: list[str], found: Awaitable[Any]) -> None:
    out.append((await found).docs.version)


class _Shifted:
    """A clock whose wall time is off by *shift* seconds (another replica's, long ago)."""

    def __init__(self, shift: float) -> None:
        self.shift = shift

    def now(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time() + self.shift


class TestFakeRedis:
    @pytest.fixture
    def anyio_backend(self) -> str:
        return "asyncio"

    async def test_concurrent_first_calls_make_one_request_each(
        self, projects: dict[str, Any]
    ) -> None:
        """Two RedisStates (two processes' clients) on one server: one request per key."""
        server = fakeredis.FakeServer()
        async with FaultIndex(projects, per_version_json=True) as index:
            states = [fake_redis_state(server, index.url) for _ in range(2)]
            await spread_first_calls(index, states)
            assert index.paths() == {LIST: 1, DOCS: 1}
        for s in states:
            assert s.statistics().fallback_total == 0
            await s.aclose()

    async def test_a_dead_shared_layer_still_answers_every_call(
        self, projects: dict[str, Any]
    ) -> None:
        """Redis down: every call answers; each replica fetches at most once per key."""
        server = fakeredis.FakeServer()
        server.connected = False
        async with FaultIndex(projects, per_version_json=True) as index:
            states = [fake_redis_state(server, index.url) for _ in range(2)]
            await spread_first_calls(index, states)
            assert index.paths()[LIST] <= 2 and index.paths()[DOCS] <= 2
            assert all(s.statistics().fallback_total > 0 for s in states)

    async def test_the_service_warms_up_and_closes_its_shared_state(
        self, projects: dict[str, Any]
    ) -> None:
        """DocsService enters with warm_up() and leaves with aclose(); parts.shared is it."""
        server = fakeredis.FakeServer()
        async with FaultIndex(projects) as index:
            state = fake_redis_state(server, index.url)
            settings = Settings(index_url=index.url)
            async with DocsService(settings, store=None, shared=state) as service:
                assert service.shared is state and service.lookup.shared is state
                assert (await service.get_docs("attrs")).version == "26.1.0"
                assert state.statistics().operations > 0
            assert state.statistics().fallbacks == {}
            assert await state.get("anything") is None
            assert state.statistics().fallbacks == {"closed": 1}


def test_unset_redis_url_means_no_shared_tier() -> None:
    """Without AUTODOCS_REDIS_URL: parts.shared is a LocalState, and the lookup never uses it."""
    parts = build_parts(Settings(), store=None)
    assert isinstance(parts.shared, LocalState)
    assert parts.lookup.shared is None and parts.lookup.coalescer is None


def test_a_redis_url_makes_the_lookup_use_it() -> None:
    """With AUTODOCS_REDIS_URL: the lookup's shared tier is the RedisState (nothing connects)."""
    parts = build_parts(Settings(redis_url="redis://127.0.0.1:1/0"), store=None)
    assert isinstance(parts.shared, RedisState)
    assert parts.lookup.shared is parts.shared and parts.lookup.coalescer is not None


@needs_redis_server
@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # redis-py's client: asyncio only
async def test_two_replicas_on_a_real_redis_server(
    redis_server: RedisServer, projects: dict[str, Any]
) -> None:
    """The same on a real redis-server: one request per key, then a hit with no shared call."""
    async with FaultIndex(projects, per_version_json=True) as index:
        states = [fleet_from_url(redis_server.url, index_url=index.url) for _ in range(2)]
        for s in states:
            assert await s.warm_up()  # type: ignore[attr-defined]
        async with replicas(index, *states) as parts:
            versions: list[str] = []

            async def call(i: int) -> None:
                versions.append((await parts[i % 2].lookup.find("attrs", "<26")).docs.version)

            await crowd(20, call)
            assert versions == [OLD] * 20
            assert index.paths() == {LIST: 1, DOCS: 1}
            ops = [s.statistics().operations for s in states]
            await parts[0].lookup.find("attrs", "<26")
            await parts[1].lookup.find("attrs", "<26")
            assert [s.statistics().operations for s in states] == ops
        for s in states:
            assert s.statistics().fallback_total == 0
            await s.aclose()


async def test_an_api_reference_is_read_once_for_two_replicas(
    projects: dict[str, Any], tmp_path: Path
) -> None:
    """Concurrent API-reference calls over two services read the wheel as often as one does."""
    from ..apiref.test_service import httpx_wheel

    wheel = wheel_filename("httpx", "0.28.1")

    async def reads(n_services: int) -> tuple[int, list[bool]]:
        state = LocalState()
        async with FaultIndex(projects, files={wheel: httpx_wheel("0.28.1")}) as index:
            settings = Settings(index_url=index.url)
            async with AsyncExitStack() as stack:
                services = [
                    await stack.enter_async_context(DocsService(settings, store=None, shared=state))
                    for _ in range(n_services)
                ]
                cached: list[bool] = []

                async def call(i: int) -> None:
                    service = services[i % n_services]
                    answer = await service.get_api_reference("httpx", symbol="httpx.Client.get")
                    assert answer.entries[0] == "httpx.Client.get"
                    cached.append(answer.from_cache)

                await crowd(10, call)
            return index.count("/files/") + index.count("/simple/"), cached

    alone, _ = await reads(1)
    together, cached = await reads(2)
    assert alone >= 1 and together == alone
    assert cached.count(False) == 1  # one call read it; nine were served
