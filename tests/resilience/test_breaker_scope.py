"""Breaker scope: failures of one resource cannot open the host's breaker (issue 12)."""

from __future__ import annotations

import random
from collections import Counter

import httpx
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, rule

from autodocs_core.errors import (
    MalformedResponse,
    UpstreamConnectError,
    UpstreamServerError,
    UpstreamTimeout,
)
from autodocs_core.http import HttpClient, HttpConfig
from autodocs_core.pypi import IndexClient, IndexConfig
from autodocs_core.resilience import (
    BreakerConfig,
    BreakerState,
    CircuitBreaker,
    CircuitState,
    default_resource,
)
from autodocs_core.testing import FakeClock

THRESHOLD = 3
SPREAD = 3
WINDOW = 20.0
RECOVERY = 10.0
RESOURCES = st.sampled_from([None, "a", "b", "c", "d"])


class ScopeModel:
    """Reference: consecutive failures open only if failures in the window span resources."""

    def __init__(self) -> None:
        self.state = CircuitState.CLOSED
        self.generation = 0
        self.consecutive = 0
        self.failures: list[tuple[float, str | None]] = []
        self.open_until = 0.0
        self.probes = 0

    def move(self, state: CircuitState, now: float) -> None:
        self.state = state
        self.generation += 1
        self.consecutive = 0
        self.failures = []
        self.probes = 0
        if state is CircuitState.OPEN:
            self.open_until = now + RECOVERY

    def spread(self, now: float) -> int:
        recent = [r for t, r in self.failures if t > now - WINDOW]
        distinct = len({r for r in recent if r is not None})
        if None in recent:  # a host-level failure counts as the whole spread, at least
            return max(distinct, SPREAD)
        return distinct

    def acquire(self, now: float) -> int | None:
        if self.state is CircuitState.OPEN:
            if now < self.open_until:
                return None
            self.move(CircuitState.HALF_OPEN, now)
        if self.state is CircuitState.HALF_OPEN:
            if self.probes >= 1:
                return None
            self.probes += 1
        return self.generation

    def report(self, permit: int, outcome: str, resource: str | None, now: float) -> None:
        if permit != self.generation:
            return
        if self.state is CircuitState.CLOSED:
            if outcome == "failure":
                self.consecutive += 1
                self.failures.append((now, resource))
                if self.consecutive >= THRESHOLD and self.spread(now) >= SPREAD:
                    self.move(CircuitState.OPEN, now)
            elif outcome == "success":
                self.consecutive = 0
        elif self.state is CircuitState.HALF_OPEN:
            if outcome == "failure":
                self.move(CircuitState.OPEN, now)
            elif outcome == "success":
                self.move(CircuitState.CLOSED, now)
            else:
                self.probes -= 1


class ScopeMachine(RuleBasedStateMachine):
    """Random interleavings of time, acquires and outcomes tied to resources (or the host)."""

    permits = Bundle("permits")

    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0
        self.real = BreakerState(
            BreakerConfig(
                consecutive_failures=THRESHOLD,
                failure_rate=None,
                window=WINDOW,
                recovery_time=RECOVERY,
                recovery_jitter=0.0,
                min_failing_resources=SPREAD,
            ),
            rng=random.Random(0),
        )
        self.model = ScopeModel()
        self.failed_since_closed: Counter[str | None] = Counter()

    @rule(dt=st.floats(0, 15, allow_nan=False))
    def advance(self, dt: float) -> None:
        self.now += dt

    @rule(target=permits)
    def acquire(self) -> int:
        got = self.real.acquire(self.now)
        assert got == self.model.acquire(self.now)
        return -1 if got is None else got

    @rule(
        permit=consumes(permits),
        outcome=st.sampled_from(["success", "failure", "ignore"]),
        resource=RESOURCES,
    )
    def report(self, permit: int, outcome: str, resource: str | None) -> None:
        if permit < 0:
            return
        before, generation = self.real.state, self.real.generation
        if outcome == "success":
            self.real.on_success(permit, self.now)
        elif outcome == "failure":
            self.real.on_failure(permit, self.now, resource)
        else:
            self.real.on_ignore(permit)
        self.model.report(permit, outcome, resource, self.now)
        counted = before is CircuitState.CLOSED and permit == generation and outcome == "failure"
        if counted:
            self.failed_since_closed[resource] += 1
        if before is CircuitState.CLOSED and self.real.state is CircuitState.OPEN:
            # It opened: the failures since it closed span resources, or one was the host's.
            failing = set(self.failed_since_closed)
            assert None in failing or len(failing) >= SPREAD
        if self.real.state is not CircuitState.CLOSED:
            self.failed_since_closed.clear()

    @invariant()
    def same_as_model(self) -> None:
        assert self.real.state is self.model.state
        assert self.real.generation == self.model.generation
        assert self.real.probes_in_flight == self.model.probes

    @invariant()
    def same_spread_as_model(self) -> None:
        if self.real.state is CircuitState.CLOSED:
            assert self.real.failing_resources(self.now) == self.model.spread(self.now)


TestScopeStateMachine = ScopeMachine.TestCase
TestScopeStateMachine.settings = settings(max_examples=200, stateful_step_count=30, deadline=None)


class TestScopeRule:
    def test_one_resource_failing_forever_keeps_the_host_closed(self) -> None:
        """A hundred failures in a row of one URL: the trigger fires, but the host stays closed."""
        state = BreakerState(BreakerConfig(consecutive_failures=5, failure_rate=None))
        for i in range(100):
            state.on_failure(state.acquire(float(i)) or 0, float(i) / 10, "/pypi/bad/json")
        assert state.state is CircuitState.CLOSED
        assert state.failing_resources(10.0) == 1

    def test_three_failing_resources_open_it(self) -> None:
        """Failures spanning three URLs in the window open the host breaker."""
        state = BreakerState(BreakerConfig(consecutive_failures=3, failure_rate=None))
        for url in ("a", "b", "c"):
            state.on_failure(0, 1.0, url)
        assert state.state is CircuitState.OPEN

    def test_the_rate_rule_needs_the_spread_too(self) -> None:
        """The failure-rate trigger also needs failures over three resources."""
        state = BreakerState(BreakerConfig(failure_rate=0.5, minimum_calls=4))
        for _ in range(10):
            state.on_failure(0, 1.0, "a")
        assert state.state is CircuitState.CLOSED
        state.on_failure(0, 1.0, "b")
        state.on_failure(0, 1.0, "c")
        assert state.state is CircuitState.OPEN

    def test_failures_leave_the_window(self) -> None:
        """Resources that failed longer than `window` ago no longer count."""
        state = BreakerState(BreakerConfig(consecutive_failures=3, failure_rate=None, window=5.0))
        state.on_failure(0, 0.0, "a")
        state.on_failure(0, 1.0, "b")
        state.on_failure(0, 5.5, "c")
        assert state.state is CircuitState.CLOSED
        assert state.failing_resources(5.5) == 2

    def test_a_host_failure_counts_as_the_whole_spread(self) -> None:
        """A failure not tied to a resource (refused connection) is host evidence."""
        state = BreakerState(BreakerConfig(consecutive_failures=2, failure_rate=None))
        state.on_failure(0, 0.0, "a")
        state.on_failure(0, 0.0, None)
        assert state.state is CircuitState.OPEN

    def test_one_restores_the_host_wide_count(self) -> None:
        """min_failing_resources=1: one URL's failures open it, as before."""
        cfg = BreakerConfig(consecutive_failures=2, failure_rate=None, min_failing_resources=1)
        state = BreakerState(cfg)
        state.on_failure(0, 0.0, "a")
        state.on_failure(0, 0.0, "a")
        assert state.state is CircuitState.OPEN

    def test_tracking_is_bounded(self) -> None:
        """At most 64 resources are remembered, however many fail."""
        state = BreakerState(BreakerConfig(consecutive_failures=10**6, failure_rate=None))
        for i in range(1000):
            state.on_failure(0, 0.0, f"r{i}")
        assert state.failing_resources(0.0) == 64

    @pytest.mark.parametrize(
        ("error", "resource"),
        [
            (UpstreamServerError(500, url="http://i/pypi/a/json"), "http://i/pypi/a/json"),
            (MalformedResponse("bad", url="http://i/pypi/a/json"), "http://i/pypi/a/json"),
            (UpstreamTimeout("slow", url="http://i/x", details={"phase": "headers"}), "http://i/x"),
            (UpstreamTimeout("slow", url="http://i/x", details={"phase": "connect"}), None),
            (UpstreamTimeout("no answer"), None),
            (UpstreamConnectError("refused", url="http://i/x"), None),
            (ValueError("bug"), None),
        ],
    )
    def test_default_resource(self, error: BaseException, resource: str | None) -> None:
        """Answers that came but were bad, and header timeouts, are tied to their URL."""
        assert default_resource(error) == resource

    @pytest.mark.anyio
    async def test_the_guard_passes_the_resource(self) -> None:
        """CircuitBreaker.release maps the error to its resource; statistics show the spread."""
        clock = FakeClock()
        breaker = CircuitBreaker("h", BreakerConfig(consecutive_failures=2), clock=clock)
        for _ in range(5):
            breaker.release(breaker.acquire(), UpstreamServerError(500, url="http://h/a"))
        stats = breaker.statistics()
        assert stats.state is CircuitState.CLOSED and stats.failing_resources == 1


@pytest.mark.anyio
async def test_one_bad_package_cannot_deny_the_host_to_healthy_ones(
    projects: dict[str, object],
) -> None:
    """One package answering 500 among 200 calls for 50 healthy ones: the host stays closed.

    Every healthy call succeeds, with the default breaker settings.
    """
    clock = FakeClock()
    healthy = [f"pkg{i}" for i in range(50)]
    doc = projects["attrs"]

    def handler(request: httpx.Request) -> httpx.Response:
        name = request.url.path.split("/")[2]
        if name == "broken":
            return httpx.Response(500)
        return httpx.Response(200, json=doc)

    transport = httpx.MockTransport(handler)
    async with HttpClient(HttpConfig(), transport=transport, clock=clock) as http:
        idx = IndexClient(http, IndexConfig(url="http://index.test"), clock=clock)
        ok = 0
        broken = 0
        for i in range(200):
            if i % 4 == 0:
                with pytest.raises(UpstreamServerError):
                    await idx.get_project("broken")
                broken += 1
            await idx.get_project(healthy[i % 50])
            ok += 1
        breaker = idx.breaker_for("http://index.test/")
        assert breaker.state is CircuitState.CLOSED
        assert breaker.statistics().times_opened == 0
    assert (ok, broken) == (200, 50)
