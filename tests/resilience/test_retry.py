"""The Resilience composition: retries by error type, deadline, budget, breaker, hooks."""

from __future__ import annotations

import contextlib
import math
import random
from collections.abc import Callable

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from autodocs_core.errors import (
    AutodocsError,
    CircuitOpenError,
    DeadlineExceeded,
    InvalidInputError,
    NotFoundError,
    RateLimited,
    RetryBudgetExhausted,
    TLSError,
    UpstreamConnectError,
    UpstreamServerError,
    UpstreamTimeout,
)
from autodocs_core.resilience import (
    AdaptiveTimeout,
    Backoff,
    BreakerConfig,
    CircuitBreaker,
    CircuitState,
    Deadline,
    Hooks,
    Jitter,
    Resilience,
    ResilienceMetrics,
    RetryBudget,
    RetryPolicy,
)
from autodocs_core.testing import FakeClock, seeded_rng

pytestmark = pytest.mark.anyio

POLICY = RetryPolicy(
    {
        UpstreamTimeout: Backoff(4, 1.0, 8.0, Jitter.NONE),
        UpstreamServerError: Backoff(3, 0.5, 4.0, Jitter.NONE),
        RateLimited: Backoff(5, 1.0, 30.0, Jitter.NONE),
    },
    default=Backoff(2, 0.25, 1.0, Jitter.NONE),
    max_retry_after=20.0,
)


class Script:
    """An upstream stand-in that fails with the scripted errors, then succeeds."""

    def __init__(self, clock: FakeClock, outcomes: list[BaseException | float | None]) -> None:
        self.clock = clock
        self.outcomes = list(outcomes)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if isinstance(outcome, float):
            if math.isinf(outcome):
                await self.clock.hang()
            await self.clock.sleep(outcome)
            return "ok"
        if outcome is not None:
            raise outcome
        return "ok"


def guard(clock: FakeClock, **kwargs: object) -> Resilience:
    kwargs.setdefault("policy", POLICY)
    return Resilience(clock=clock, rng=seeded_rng(0), **kwargs)  # type: ignore[arg-type]


def strict_breaker(
    clock: FakeClock, threshold: int, recovery: float = 15.0, hooks: Hooks | None = None
) -> CircuitBreaker:
    """A breaker that opens after *threshold* failures in a row, with no recovery jitter."""
    config = BreakerConfig(
        consecutive_failures=threshold,
        failure_rate=None,
        recovery_time=recovery,
        recovery_jitter=0.0,
    )
    return CircuitBreaker("pypi", config, clock=clock, hooks=hooks)


class TestRetries:
    async def test_success_on_call_k_means_k_minus_one_sleeps(self, clock: FakeClock) -> None:
        """Two 503s then success: three calls, two sleeps of the un-jittered backoff."""
        fn = Script(clock, [UpstreamServerError(503), UpstreamServerError(503)])
        assert await guard(clock).call(fn) == "ok"
        assert fn.calls == 3
        assert clock.sleeps == [0.5, 1.0]

    @pytest.mark.parametrize(
        "error",
        [TLSError("x"), InvalidInputError("x"), NotFoundError("x")],
        ids=["tls", "invalid", "not-found"],
    )
    async def test_not_retryable_errors_propagate_after_one_call(
        self, clock: FakeClock, error: AutodocsError
    ) -> None:
        """TLS, invalid input and 404 fail after exactly one call, unchanged."""
        fn = Script(clock, [error] * 5)
        with pytest.raises(type(error)) as info:
            await guard(clock).call(fn)
        assert info.value is error
        assert fn.calls == 1 and clock.sleeps == []

    async def test_attempts_never_exceed_the_policy(self, clock: FakeClock) -> None:
        """A persistent 503 is tried exactly the policy's number of times; the last error wins."""
        errors = [UpstreamServerError(503) for _ in range(10)]
        fn = Script(clock, list(errors))
        with pytest.raises(UpstreamServerError) as info:
            await guard(clock).call(fn)
        assert fn.calls == 3
        assert info.value is errors[2]
        assert any("gave up after 3 attempt(s)" in n for n in info.value.__notes__)

    async def test_unknown_exceptions_propagate_unchanged(self, clock: FakeClock) -> None:
        """A bug in the callable (not an upstream failure) is never retried or wrapped."""
        fn = Script(clock, [KeyError("bug")])
        with pytest.raises(KeyError):
            await guard(clock).call(fn)
        assert fn.calls == 1

    async def test_os_errors_are_classified_and_retried(self, clock: FakeClock) -> None:
        """With the HTTP edge's classifier, a refused connection becomes a retried connect error."""
        from autodocs_core.http import classify_exception

        fn = Script(clock, [ConnectionRefusedError(), ConnectionRefusedError()])
        with pytest.raises(UpstreamConnectError) as info:
            await guard(clock, classify=classify_exception).call(fn)
        assert fn.calls == 2
        assert isinstance(info.value.__cause__, ConnectionRefusedError)
        assert info.value.details["reason"] == "refused"

    async def test_retry_after_overrides_a_shorter_backoff(self, clock: FakeClock) -> None:
        """A 429 asking for 7 s is waited for 7 s, not the 1 s the backoff computes."""
        fn = Script(clock, [RateLimited("slow down", retry_after=7.0)])
        assert await guard(clock).call(fn) == "ok"
        assert clock.sleeps == [7.0]

    async def test_short_retry_after_replaces_a_longer_backoff(self, clock: FakeClock) -> None:
        """A 503 asking for 0.1 s is retried after 0.1 s, not after the computed backoff."""
        fn = Script(clock, [UpstreamServerError(503), UpstreamServerError(503, retry_after=0.1)])
        assert await guard(clock).call(fn) == "ok"
        assert clock.sleeps == [0.5, 0.1]

    async def test_huge_retry_after_is_capped(self, clock: FakeClock) -> None:
        """A Retry-After above the policy's cap waits only the cap."""
        fn = Script(clock, [RateLimited("slow down", retry_after=10_000.0)])
        assert await guard(clock).call(fn) == "ok"
        assert clock.sleeps == [20.0]

    async def test_retry_after_past_the_deadline_fails_fast(self, clock: FakeClock) -> None:
        """When the server's wait exceeds the time left, fail now with when to come back."""
        fn = Script(clock, [RateLimited("slow down", retry_after=15.0)])
        with pytest.raises(RateLimited) as info:
            await guard(clock, deadline=10.0).call(fn)
        assert info.value.retry_after == 15.0
        assert clock.now() == 0.0 and fn.calls == 1

    async def test_decorator_and_run_are_the_same_loop(self, clock: FakeClock) -> None:
        """``@guard`` and ``guard.run`` retry like ``guard.call``."""
        g = guard(clock)
        fn = Script(clock, [UpstreamServerError(500)])

        @g
        async def decorated() -> str:
            return await fn()

        assert await decorated() == "ok"
        fn2 = Script(clock, [UpstreamServerError(500)])
        assert await g.run(fn2) == "ok"
        assert fn.calls == fn2.calls == 2


class TestDeadline:
    async def test_attempt_timeout_turns_a_hang_into_a_retryable_timeout(
        self, clock: FakeClock
    ) -> None:
        """A hanging attempt is cut at the attempt timeout and retried; the next one answers."""
        fn = Script(clock, [math.inf, 0.1])
        assert await guard(clock, attempt_timeout=2.0).call(fn) == "ok"
        assert fn.calls == 2
        assert clock.now() == pytest.approx(2.0 + 1.0 + 0.1)

    async def test_deadline_cuts_an_attempt_and_says_so(self, clock: FakeClock) -> None:
        """A hang with only a total deadline ends exactly at the deadline, as DeadlineExceeded."""
        fn = Script(clock, [math.inf])
        with pytest.raises(DeadlineExceeded) as info:
            await guard(clock, deadline=5.0).call(fn)
        assert clock.now() == 5.0
        assert isinstance(info.value.__cause__, UpstreamTimeout)
        assert info.value.to_payload()["error_type"] == "deadline_exceeded"

    async def test_shared_deadline_bounds_nested_calls(self, clock: FakeClock) -> None:
        """One Deadline passed to run() bounds the whole operation, not each call."""
        deadline = Deadline.after(3.0, clock)
        g = guard(clock, attempt_timeout=10.0)
        await g.run(Script(clock, [2.0]), deadline=deadline)
        with pytest.raises(DeadlineExceeded):
            await g.run(Script(clock, [2.0]), deadline=deadline)
        assert clock.now() == 3.0 and deadline.expired

    async def test_expired_deadline_never_calls(self, clock: FakeClock) -> None:
        """A call given a deadline that has already passed fails without touching upstream."""
        fn = Script(clock, [])
        with pytest.raises(DeadlineExceeded) as info:
            await guard(clock).run(fn, deadline=Deadline.after(0.0, clock))
        assert fn.calls == 0
        assert info.value.attempts == 0

    @given(
        outcomes=st.lists(
            st.one_of(
                st.floats(0.0, 20.0),
                st.just(math.inf),
                st.sampled_from(["503", "429", "timeout", "refused"]),
            ),
            max_size=12,
        ),
        deadline=st.floats(0.5, 30.0),
        attempt_timeout=st.one_of(st.none(), st.floats(0.1, 10.0)),
        seed=st.integers(0, 2**32),
    )
    async def test_deadline_is_never_overrun(
        self,
        outcomes: list[float | str],
        deadline: float,
        attempt_timeout: float | None,
        seed: int,
    ) -> None:
        """Whatever the upstream does, a call returns or fails by its deadline (fake time)."""
        clock = FakeClock()
        errors: dict[str, Callable[[], BaseException]] = {
            "503": lambda: UpstreamServerError(503),
            "429": lambda: RateLimited("x", retry_after=random.Random(seed).uniform(0, 40)),
            "timeout": lambda: UpstreamTimeout("x"),
            "refused": lambda: UpstreamConnectError("refused"),
        }
        script = Script(clock, [errors[o]() if isinstance(o, str) else o for o in outcomes])
        g = Resilience(
            clock=clock,
            rng=random.Random(seed),
            policy=POLICY,
            deadline=deadline,
            attempt_timeout=attempt_timeout,
        )
        with contextlib.suppress(AutodocsError):
            await g.call(script)
        assert clock.now() <= deadline + 1e-9
        assert script.calls <= POLICY.max_attempts


class TestBudget:
    async def test_empty_budget_stops_retries_with_its_own_error(self, clock: FakeClock) -> None:
        """With no floor and ratio 0, the first retry is refused and the error says why."""
        budget = RetryBudget(ratio=0.0, min_per_second=0.0, clock=clock)
        fn = Script(clock, [UpstreamServerError(503)])
        with pytest.raises(RetryBudgetExhausted) as info:
            await guard(clock, budget=budget).call(fn)
        assert fn.calls == 1
        assert isinstance(info.value.__cause__, UpstreamServerError)
        assert budget.statistics().denied == 1

    async def test_budget_limits_retries_across_many_callers(self, clock: FakeClock) -> None:
        """100 calls against a dead upstream: retries stay within ratio × calls + floor."""
        budget = RetryBudget(ratio=0.2, min_per_second=0.0, ttl=60.0, clock=clock)
        g = guard(clock, budget=budget, policy=POLICY.without_delays())
        calls = 0
        for _ in range(100):
            fn = Script(clock, [UpstreamServerError(503)] * 5)
            with pytest.raises(AutodocsError):
                await g.call(fn)
            calls += fn.calls
        retries = calls - 100
        assert retries <= 0.2 * 100
        assert retries >= 19  # the budget is used, not just refused


class TestBreakerComposition:
    async def test_open_breaker_fails_fast_without_calling(self, clock: FakeClock) -> None:
        """Once the breaker opens, calls fail with CircuitOpenError and never reach upstream."""
        breaker = strict_breaker(clock, 3, recovery=10.0)
        g = guard(clock, breaker=breaker, policy=RetryPolicy.never())
        for _ in range(3):
            with pytest.raises(UpstreamServerError):
                await g.call(Script(clock, [UpstreamServerError(503)]))
        fn = Script(clock, [])
        with pytest.raises(CircuitOpenError) as info:
            await g.call(fn)
        assert fn.calls == 0
        assert info.value.retry_after == 10.0
        clock.advance(10.0)
        assert await g.call(fn) == "ok"
        assert breaker.state is CircuitState.CLOSED

    async def test_breaker_opening_mid_retries_stops_the_loop(self, clock: FakeClock) -> None:
        """If the breaker opens between attempts, the next attempt is refused, cause kept."""
        breaker = strict_breaker(clock, 2)
        fn = Script(clock, [UpstreamServerError(503)] * 3)
        with pytest.raises(CircuitOpenError) as info:
            await guard(clock, breaker=breaker).call(fn)
        assert fn.calls == 2
        assert isinstance(info.value.__cause__, UpstreamServerError)

    async def test_not_found_counts_as_a_healthy_answer(self, clock: FakeClock) -> None:
        """404s never open the breaker: the upstream is answering."""
        breaker = strict_breaker(clock, 1)
        g = guard(clock, breaker=breaker)
        for _ in range(5):
            with pytest.raises(NotFoundError):
                await g.call(Script(clock, [NotFoundError("nope")]))
        assert breaker.state is CircuitState.CLOSED

    async def test_cancellation_is_not_retried_and_frees_the_probe(self, clock: FakeClock) -> None:
        """Cancelling a half-open probe neither retries nor counts; the next probe is admitted."""
        breaker = strict_breaker(clock, 1, recovery=1.0)
        g = guard(clock, breaker=breaker, policy=RetryPolicy.never())
        with pytest.raises(UpstreamServerError):
            await g.call(Script(clock, [UpstreamServerError(503)]))
        clock.advance(1.0)
        started = anyio.Event()
        fn_calls = 0

        async def slow() -> str:
            nonlocal fn_calls
            fn_calls += 1
            started.set()
            await anyio.sleep_forever()
            return "never"

        async with anyio.create_task_group() as tg:
            tg.start_soon(g.call, slow)
            await started.wait()
            assert breaker.statistics().probes_in_flight == 1
            tg.cancel_scope.cancel()
        assert fn_calls == 1
        assert breaker.state is CircuitState.HALF_OPEN
        assert breaker.statistics().probes_in_flight == 0
        assert await g.call(Script(clock, [])) == "ok"
        assert breaker.state is CircuitState.CLOSED


class TestHooks:
    async def test_events_for_attempts_retries_and_give_up(self, clock: FakeClock) -> None:
        """Hooks see each attempt, each retry with its wait, and the final give-up reason."""
        seen: list[tuple[str, object]] = []
        hooks = Hooks(
            on_attempt=lambda e: seen.append(("attempt", e.attempt)),
            on_retry=lambda e: seen.append(("retry", (e.attempt, e.wait_for, e.waited_so_far))),
            on_give_up=lambda e: seen.append(("give_up", (e.attempts, e.reason))),
        )
        fn = Script(clock, [UpstreamServerError(503)] * 3)
        with pytest.raises(UpstreamServerError):
            await guard(clock, hooks=hooks).call(fn)
        assert seen == [
            ("attempt", 1),
            ("retry", (1, 0.5, 0.0)),
            ("attempt", 2),
            ("retry", (2, 1.0, 0.5)),
            ("attempt", 3),
            ("give_up", (3, "attempts")),
        ]

    async def test_metrics_count_retries_and_transitions(self, clock: FakeClock) -> None:
        """ResilienceMetrics counts retries by error type and breaker transitions."""
        metrics = ResilienceMetrics()
        breaker = strict_breaker(clock, 3, hooks=metrics.hooks)
        g = guard(clock, breaker=breaker, hooks=metrics.hooks, name="get")
        with pytest.raises(UpstreamServerError):
            await g.call(Script(clock, [UpstreamServerError(503)] * 3))
        assert metrics.retries.snapshot() == {("get", "upstream_5xx"): 2}
        assert metrics.give_ups.snapshot() == {("get", "attempts"): 1}
        assert metrics.transitions.snapshot() == {("pypi", "closed", "open"): 1}
        assert Hooks.combine(None, metrics.hooks, Hooks()).on_retry is not None


class TestAdaptiveTimeout:
    def test_follows_observed_latency_within_bounds(self) -> None:
        """The timeout starts at initial, then tracks srtt + 4 × rttvar, clamped."""
        t = AdaptiveTimeout(initial=2.0, minimum=0.1, maximum=5.0)
        assert t.current() == 2.0
        for _ in range(50):
            t.observe(0.01)
        assert t.current() == 0.1
        for _ in range(50):
            t.observe(100.0)
        assert t.current() == 5.0
        t.observe(float("nan"))
        assert t.current() == 5.0

    @given(st.lists(st.floats(0, 1e6), max_size=50))
    def test_always_within_bounds(self, samples: list[float]) -> None:
        """Whatever is observed, the timeout stays in [minimum, maximum]."""
        t = AdaptiveTimeout(initial=1.0, minimum=0.25, maximum=8.0)
        for s in samples:
            t.observe(s)
            assert 0.25 <= t.current() <= 8.0

    async def test_adaptive_timeout_shortens_hang_detection(self, clock: FakeClock) -> None:
        """After fast answers, a hang is cut at the adapted (minimum) timeout, not the initial."""
        timeout = AdaptiveTimeout(initial=3.0, minimum=0.5, maximum=10.0)
        g = guard(clock, attempt_timeout=timeout, policy=POLICY.without_delays())
        for _ in range(20):
            await g.call(Script(clock, [0.01]))
        start = clock.now()
        assert await g.call(Script(clock, [math.inf, 0.01])) == "ok"
        assert clock.now() - start == pytest.approx(0.5 + 0.01)

    def test_invalid_bounds_are_refused(self) -> None:
        """Minimum <= initial <= maximum is enforced."""
        with pytest.raises(ValueError):
            AdaptiveTimeout(initial=0.1, minimum=1.0)
        with pytest.raises(ValueError):
            Resilience(deadline=0)
        with pytest.raises(ValueError):
            Deadline.after(-1)
