"""Issue 12 scenarios on the fake clock: brown-out, cold slow index, one slow package.

The transport stands in for a network: each answer takes a scripted latency of fake time, and the
request's read timeout (what httpx enforces on a real socket) cuts it with ``httpx.ReadTimeout``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from autodocs_core.errors import UpstreamTimeout
from autodocs_core.http import (
    ROUTE_ARTIFACT,
    ROUTE_METADATA,
    ROUTE_OTHER,
    ROUTE_PROJECT,
    ROUTE_SIMPLE,
    HttpClient,
    HttpConfig,
    route_of,
)
from autodocs_core.pypi import IndexClient, IndexConfig
from autodocs_core.testing import FakeClock

pytestmark = pytest.mark.anyio

URL = "http://index.test"
Latency = Callable[[str, int], float]
"""(path, how many requests for that path came before) -> seconds until the headers."""


class SlowNetwork:
    """A MockTransport handler whose answers take fake time and honour the read timeout."""

    def __init__(self, clock: FakeClock, projects: dict[str, Any], latency: Latency) -> None:
        self.clock = clock
        self.projects = projects
        self.latency = latency
        self.seen: Counter[str] = Counter()
        self.before_answer: Callable[[httpx.Request], None] | None = None

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        delay = self.latency(path, self.seen[path])
        self.seen[path] += 1
        if self.before_answer is not None:
            self.before_answer(request)
        read = request.extensions["timeout"]["read"]
        with self.clock.timeout_scope(read) as scope:
            if math.isinf(delay):
                await self.clock.hang()
            await self.clock.sleep(delay)
        if scope.cancelled_caught:
            raise httpx.ReadTimeout("no headers in time", request=request)
        name = path.split("/")[2]
        if name not in self.projects:
            return httpx.Response(404)
        return httpx.Response(200, json=self.projects[name])


@asynccontextmanager
async def index_client(
    clock: FakeClock,
    projects: dict[str, Any],
    latency: Latency,
    http: HttpConfig | None = None,
    index: IndexConfig | None = None,
) -> AsyncIterator[tuple[IndexClient, SlowNetwork]]:
    network = SlowNetwork(clock, projects, latency)
    transport = httpx.MockTransport(network)
    async with HttpClient(http or HttpConfig(), transport=transport, clock=clock) as client:
        # Hedging off: these tests are about the timeouts alone (test_hedging.py races twins).
        yield IndexClient(client, index or IndexConfig(url=URL, hedge=None), clock=clock), network


def project_path(name: str) -> str:
    return f"/pypi/{name}/json"


class TestScenarios:
    async def test_cold_slow_index_is_answered_with_default_settings(
        self, clock: FakeClock, projects: dict[str, Any]
    ) -> None:
        """Every answer takes 3.2 s: the header timeout doubles 1 → 2 → 4 s; the call succeeds."""
        async with index_client(clock, projects, lambda path, n: 3.2) as (idx, net):
            project = await idx.get_project("attrs")
            assert project.name == "attrs"
            assert net.seen[project_path("attrs")] == 3
            assert clock.now() < 15.0
            # The estimate has learnt: the next call needs one request.
            await idx.get_project("httpx")
        assert net.seen[project_path("httpx")] == 1

    async def test_brown_out_recovers_after_a_few_slow_calls(
        self, clock: FakeClock, projects: dict[str, Any]
    ) -> None:
        """Fast (10 ms) for 100 calls, then 1.5 s per answer: never locked out, recovers fast."""
        slow = False
        async with index_client(clock, projects, lambda path, n: 1.5 if slow else 0.01) as (
            idx,
            _net,
        ):
            names = sorted(projects)
            for i in range(100):
                await idx.get_project(names[i % len(names)])
            slow = True
            requests_before = idx.requests
            per_call = []
            for i in range(200):
                before = idx.requests
                await idx.get_project(names[i % len(names)])  # raises if any call fails
                per_call.append(idx.requests - before)
        assert idx.requests - requests_before == sum(per_call)
        assert max(per_call[:10]) <= 3
        assert per_call[10:] == [1] * 190

    async def test_one_slow_package_among_fast_ones(
        self, clock: FakeClock, projects: dict[str, Any]
    ) -> None:
        """A 0.8 s package succeeds on the first or second try among fast ones.

        Fast answers of other packages keep pulling the shared estimate down between its
        attempts; the per-call floor (twice the timeout that expired) still reaches it.
        """

        def latency(path: str, n: int) -> float:
            return 0.8 if path == project_path("trio") else 0.01

        async with index_client(clock, projects, latency) as (idx, net):
            for _ in range(20):
                await idx.get_project("attrs")
            estimate = idx.http.header_timeout_for(URL + project_path("attrs"), ROUTE_PROJECT)
            assert estimate is not None and estimate.current() == 0.5

            def concurrent_fast_answers(request: httpx.Request) -> None:
                # Other callers' fast answers land while this package is being fetched.
                for _ in range(5):
                    estimate.observe(0.01)

            net.before_answer = concurrent_fast_answers
            project = await idx.get_project("trio")
        assert project.name == "trio"
        assert net.seen[project_path("trio")] == 2

    async def test_hang_on_a_fresh_client_costs_the_initial_second(
        self, clock: FakeClock, projects: dict[str, Any]
    ) -> None:
        """A first request that hangs is cut after 1 s (not the former fixed 3 s), then retried."""
        async with index_client(clock, projects, lambda path, n: math.inf if n == 0 else 0.01) as (
            idx,
            net,
        ):
            await idx.get_project("attrs")
        assert net.seen[project_path("attrs")] == 2
        assert clock.now() < 1.0 + 0.5 + 0.1  # 1 s timeout + at most 0.5 s backoff + answer

    async def test_read_timeout_is_the_ceiling_not_a_cap_on_learning(
        self, clock: FakeClock, projects: dict[str, Any]
    ) -> None:
        """With AUTODOCS_READ_TIMEOUT=30 and a 60 s deadline, a 12 s index is reached (1..16 s)."""
        async with index_client(
            clock,
            projects,
            lambda path, n: 12.0,
            http=HttpConfig(read_timeout=30.0),
            index=IndexConfig(url=URL, deadline=60.0, hedge=None),
        ) as (idx, net):
            await idx.get_project("attrs")
        assert net.seen[project_path("attrs")] == 5

    async def test_an_index_slower_than_the_ceiling_times_out(
        self, clock: FakeClock, projects: dict[str, Any]
    ) -> None:
        """The estimate never exceeds read_timeout: a 12 s index with the 10 s default fails."""
        async with index_client(
            clock,
            projects,
            lambda path, n: 12.0,
            index=IndexConfig(url=URL, deadline=60.0, hedge=None),
        ) as (idx, _net):
            with pytest.raises(Exception) as info:
                await idx.get_project("attrs")
            estimate = idx.http.header_timeout_for(URL + project_path("attrs"))
        assert estimate is not None and estimate.current() == 10.0
        assert isinstance(info.value, UpstreamTimeout) or isinstance(
            info.value.__cause__, UpstreamTimeout
        )


class TestRoutes:
    @pytest.mark.parametrize(
        ("path", "route"),
        [
            ("/pypi/attrs/json", ROUTE_PROJECT),
            ("/pypi/attrs/25.4.0/json", ROUTE_PROJECT),
            ("/simple/attrs/", ROUTE_SIMPLE),
            ("/files/attrs-25.4.0-py3-none-any.whl.metadata", ROUTE_METADATA),
            ("/files/attrs-25.4.0-py3-none-any.whl", ROUTE_ARTIFACT),
            ("/files/attrs-25.4.0.tar.gz", ROUTE_ARTIFACT),
            ("/", ROUTE_OTHER),
        ],
    )
    def test_route_classes(self, path: str, route: str) -> None:
        """URLs map to the route class their kind of resource belongs to."""
        assert route_of(URL + path) == route

    async def test_a_slow_route_does_not_move_another(
        self, clock: FakeClock, projects: dict[str, Any]
    ) -> None:
        """Timeouts of metadata files back off that route only; project pages keep their value."""

        def latency(path: str, n: int) -> float:
            return 0.01

        async with index_client(clock, projects, latency) as (idx, _net):
            http = idx.http
            meta = http.header_timeout_for(URL + "/files/x.whl.metadata")
            project = http.header_timeout_for(URL + "/pypi/attrs/json")
            other_host = http.header_timeout_for("http://other.test/pypi/attrs/json")
            assert meta is not None and project is not None and other_host is not None
            for _ in range(3):
                meta.on_timeout()
            assert meta.current() == 8.0
            assert project.current() == other_host.current() == 1.0
            assert http.header_timeout_for(URL + "/pypi/x/json", ROUTE_METADATA) is meta

    async def test_estimates_are_bounded(self, clock: FakeClock) -> None:
        """At most 256 (origin, route) estimates are kept, least recently used evicted."""
        async with HttpClient(
            transport=httpx.MockTransport(lambda r: httpx.Response(200)), clock=clock
        ) as http:
            for i in range(300):
                http.header_timeout_for(f"http://h{i}.test/")
            assert len(http._estimates) == 256

    def test_no_adaptive_timeout_when_disabled(self) -> None:
        """header_timeout=None: no estimate, read_timeout is used as it is."""
        assert HttpClient(HttpConfig(header_timeout=None)).header_timeout_for(URL) is None

    def test_a_short_read_timeout_lowers_the_default_initial_value(self) -> None:
        """read_timeout below the 1 s initial value caps the default estimate's initial value."""
        template = HttpConfig(read_timeout=0.3).header_timeout
        assert template is not None
        assert (template.initial, template.minimum, template.maximum) == (0.3, 0.3, 0.3)
