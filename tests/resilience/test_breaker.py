"""The circuit breaker: a stateful model check, permits finishing out of order, the guard."""

from __future__ import annotations

import random

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    precondition,
    rule,
)

from autodocs_core.errors import CircuitOpenError, RateLimited, UpstreamServerError
from autodocs_core.resilience import (
    BreakerConfig,
    BreakerState,
    BreakerTransition,
    CircuitBreaker,
    CircuitState,
    Hooks,
)
from autodocs_core.testing import FakeClock

THRESHOLD = 2
RECOVERY = 10.0
PROBES = 2


class Model:
    """A deliberately simple reference breaker: consecutive failures, generations, probes."""

    def __init__(self) -> None:
        self.state = CircuitState.CLOSED
        self.generation = 0
        self.failures = 0
        self.open_until = 0.0
        self.probes = 0

    def move(self, state: CircuitState, now: float) -> None:
        self.state = state
        self.generation += 1
        self.failures = 0
        self.probes = 0
        if state is CircuitState.OPEN:
            self.open_until = now + RECOVERY

    def acquire(self, now: float) -> int | None:
        if self.state is CircuitState.OPEN:
            if now < self.open_until:
                return None
            self.move(CircuitState.HALF_OPEN, now)
        if self.state is CircuitState.HALF_OPEN:
            if self.probes >= PROBES:
                return None
            self.probes += 1
        return self.generation

    def report(self, permit: int, outcome: str, now: float) -> None:
        if permit != self.generation:
            return
        if self.state is CircuitState.CLOSED:
            if outcome == "failure":
                self.failures += 1
                if self.failures >= THRESHOLD:
                    self.move(CircuitState.OPEN, now)
            elif outcome == "success":
                self.failures = 0
        elif self.state is CircuitState.HALF_OPEN:
            if outcome == "failure":
                self.move(CircuitState.OPEN, now)
            elif outcome == "success":
                self.move(CircuitState.CLOSED, now)
            else:
                self.probes -= 1


class BreakerMachine(RuleBasedStateMachine):
    """Random interleavings of time, acquires and late, out-of-order outcome reports."""

    permits = Bundle("permits")

    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0
        self.real = BreakerState(
            BreakerConfig(
                consecutive_failures=THRESHOLD,
                failure_rate=None,
                recovery_time=RECOVERY,
                recovery_jitter=0.0,
                half_open_probes=PROBES,
            ),
            rng=random.Random(0),
        )
        self.model = Model()
        self.opened_at: float | None = None

    @rule(dt=st.floats(0, 15, allow_nan=False))
    def advance(self, dt: float) -> None:
        self.now += dt

    @rule(target=permits)
    def acquire(self) -> int:
        got = self.real.acquire(self.now)
        assert got == self.model.acquire(self.now)
        if got is None:
            assert self.real.state is not CircuitState.CLOSED
            return -1
        return got

    @rule(permit=consumes(permits), outcome=st.sampled_from(["success", "failure", "ignore"]))
    def report(self, permit: int, outcome: str) -> None:
        if permit < 0:
            return
        before = self.real.state
        if outcome == "success":
            self.real.on_success(permit, self.now)
        elif outcome == "failure":
            self.real.on_failure(permit, self.now)
        else:
            self.real.on_ignore(permit)
        self.model.report(permit, outcome, self.now)
        if before is not CircuitState.OPEN and self.real.state is CircuitState.OPEN:
            self.opened_at = self.now

    @precondition(lambda self: self.real.state is CircuitState.OPEN)
    @rule()
    def open_rejects_until_recovery(self) -> None:
        if self.now < self.real.open_until:
            assert self.real.acquire(self.now) is None
            self.model.acquire(self.now)

    @invariant()
    def same_as_model(self) -> None:
        assert self.real.state is self.model.state
        assert self.real.generation == self.model.generation
        assert self.real.probes_in_flight == self.model.probes

    @invariant()
    def failures_below_threshold_while_closed(self) -> None:
        if self.real.state is CircuitState.CLOSED:
            assert self.real.consecutive_failures < THRESHOLD

    @invariant()
    def half_open_admits_at_most_the_probe_limit(self) -> None:
        assert 0 <= self.real.probes_in_flight <= PROBES

    @invariant()
    def open_lasts_the_recovery_time(self) -> None:
        if self.real.state is CircuitState.OPEN and self.opened_at is not None:
            assert self.real.open_until == pytest.approx(self.opened_at + RECOVERY)


TestBreakerStateMachine = BreakerMachine.TestCase
TestBreakerStateMachine.settings = settings(max_examples=300, stateful_step_count=30, deadline=None)


class TestOutOfOrderPermits:
    def test_late_failure_from_before_opening_cannot_reopen_after_recovery(self) -> None:
        """A slow call admitted while closed reports after recovery: it changes nothing."""
        s = BreakerState(
            BreakerConfig(
                consecutive_failures=1, failure_rate=None, recovery_time=1.0, recovery_jitter=0.0
            )
        )
        slow = s.acquire(0.0)
        fast = s.acquire(0.0)
        assert slow is not None and fast is not None
        s.on_failure(fast, 0.0)
        assert s.state is CircuitState.OPEN
        probe = s.acquire(1.0)
        assert probe is not None
        s.on_success(probe, 1.0)
        assert s.state is CircuitState.CLOSED
        s.on_failure(slow, 2.0)
        assert s.state is CircuitState.CLOSED and s.consecutive_failures == 0

    def test_late_success_cannot_close_an_open_breaker(self) -> None:
        """A success reported with a stale permit leaves an open breaker open."""
        s = BreakerState(BreakerConfig(consecutive_failures=1, failure_rate=None))
        a = s.acquire(0.0)
        b = s.acquire(0.0)
        assert a is not None and b is not None
        s.on_failure(a, 0.0)
        s.on_success(b, 0.1)
        assert s.state is CircuitState.OPEN


class TestFailureRate:
    def test_opens_at_the_rate_with_enough_calls(self) -> None:
        """8 failures in 10 calls open a breaker set to 80% over at least 10 calls."""
        s = BreakerState(BreakerConfig(failure_rate=0.8, minimum_calls=10))
        outcomes = [True, False, True] + [False] * 6 + [False]
        for i, ok in enumerate(outcomes):
            permit = s.acquire(float(i))
            assert permit is not None
            (s.on_success if ok else s.on_failure)(permit, float(i))
        assert s.state is CircuitState.OPEN

    def test_half_failing_upstream_stays_closed(self) -> None:
        """Alternating success and failure (50%) never opens the default breaker."""
        s = BreakerState()
        for i in range(1000):
            permit = s.acquire(i * 0.01)
            assert permit is not None
            (s.on_success if i % 2 else s.on_failure)(permit, i * 0.01)
        assert s.state is CircuitState.CLOSED

    def test_old_failures_leave_the_window(self) -> None:
        """Failures older than the window no longer count towards the rate."""
        s = BreakerState(BreakerConfig(failure_rate=0.5, minimum_calls=4, window=10.0))
        for t in (0.0, 1.0, 2.0):
            s.on_failure(s.acquire(t) or 0, t)
        for t in (20.0, 21.0, 22.0):
            s.on_success(s.acquire(t) or 0, t)
        assert s.window_counts(22.0) == (3, 0)
        assert s.state is CircuitState.CLOSED

    def test_recovery_jitter_stays_within_its_fraction(self) -> None:
        """Open time is recovery × [1, 1 + jitter]."""
        for seed in range(50):
            s = BreakerState(
                BreakerConfig(
                    consecutive_failures=1,
                    failure_rate=None,
                    recovery_time=10.0,
                    recovery_jitter=0.2,
                ),
                rng=random.Random(seed),
            )
            s.on_failure(s.acquire(0.0) or 0, 0.0)
            assert 10.0 <= s.open_until <= 12.0

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"consecutive_failures": None, "failure_rate": None},
            {"failure_rate": 1.5},
            {"recovery_time": 0},
            {"half_open_probes": 0},
        ],
    )
    def test_invalid_config(self, kwargs: dict[str, object]) -> None:
        """Nonsense configurations are refused at construction."""
        with pytest.raises(ValueError):
            BreakerConfig(**kwargs)  # type: ignore[arg-type]


@pytest.mark.anyio
class TestCircuitBreaker:
    async def test_call_transitions_and_hooks(self, clock: FakeClock) -> None:
        """call() counts failures, opens, refuses, probes and closes, reporting each change."""
        seen: list[BreakerTransition] = []
        breaker = CircuitBreaker(
            "index",
            BreakerConfig(
                consecutive_failures=2, failure_rate=None, recovery_time=5.0, recovery_jitter=0.0
            ),
            clock=clock,
            hooks=Hooks(on_state_change=seen.append),
        )

        async def fail() -> None:
            raise UpstreamServerError(502)

        async def ok() -> str:
            return "ok"

        for _ in range(2):
            with pytest.raises(UpstreamServerError):
                await breaker.call(fail)
        with pytest.raises(CircuitOpenError) as info:
            await breaker.call(ok)
        assert info.value.to_payload()["details"]["retry_after_seconds"] == 5.0
        clock.advance(5.0)
        assert await breaker.call(ok) == "ok"
        assert [(t.old, t.new) for t in seen] == [
            (CircuitState.CLOSED, CircuitState.OPEN),
            (CircuitState.OPEN, CircuitState.HALF_OPEN),
            (CircuitState.HALF_OPEN, CircuitState.CLOSED),
        ]
        stats = breaker.statistics()
        assert stats.times_opened == 1 and stats.state is CircuitState.CLOSED

    async def test_rate_limiting_does_not_count(self, clock: FakeClock) -> None:
        """429s and bugs never open the breaker; a custom outcome function can change that."""
        breaker = CircuitBreaker(
            "index", BreakerConfig(consecutive_failures=1, failure_rate=None), clock=clock
        )

        async def limited() -> None:
            raise RateLimited("slow down", retry_after=1)

        async def bug() -> None:
            raise ZeroDivisionError

        with pytest.raises(RateLimited):
            await breaker.call(limited)
        with pytest.raises(ZeroDivisionError):
            await breaker.call(bug)
        assert breaker.state is CircuitState.CLOSED
        strict = CircuitBreaker(
            "index",
            BreakerConfig(consecutive_failures=1, failure_rate=None),
            clock=clock,
            outcome=lambda exc: "failure",
        )
        with pytest.raises(RateLimited):
            await strict.call(limited)
        assert strict.state is CircuitState.OPEN
