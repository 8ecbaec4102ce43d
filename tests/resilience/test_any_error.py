"""Retry by any error type: third-party exception classes, ``on=`` predicates, notes, Retry-After.

Every async test runs on asyncio and trio; time is a FakeClock, jitter a seeded Random.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autodocs_core import CircuitBreaker, retry, retrying
from autodocs_core.errors import CircuitOpenError, RateLimited, UpstreamServerError
from autodocs_core.resilience import (
    Backoff,
    BreakerConfig,
    Hooks,
    Jitter,
    Resilience,
    ResilienceMetrics,
    RetryBudget,
    RetryEvent,
    RetryPolicy,
    retry_after_of,
)
from autodocs_core.testing import FakeClock, seeded_rng

pytestmark = pytest.mark.anyio


class MyError(Exception):
    """A caller's own error class (not an autodocs error)."""


class MySubError(MyError):
    """A subclass of the caller's error."""


class Throttled(Exception):
    """A caller's error that carries a server's wait (the SupportsRetryAfter protocol)."""

    def __init__(self, retry_after: Any) -> None:
        super().__init__("throttled")
        self.retry_after = retry_after


class Flaky:
    """Raises the given exceptions in order, then returns "ok"; remembers what it raised."""

    def __init__(self, errors: list[BaseException]) -> None:
        self.errors = list(errors)
        self.raised: list[BaseException] = []
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            error = self.errors.pop(0)
            self.raised.append(error)
            raise error
        return "ok"


def notes(exc: BaseException) -> list[str]:
    return list(getattr(exc, "__notes__", []))


def strict_breaker(clock: FakeClock, threshold: int) -> CircuitBreaker:
    config = BreakerConfig(
        consecutive_failures=threshold, failure_rate=None, recovery_time=30.0, recovery_jitter=0.0
    )
    return CircuitBreaker("api", config, clock=clock)


class TestTheIssueSnippet:
    async def test_my_error_is_retried_and_the_call_succeeds(self, clock: FakeClock) -> None:
        """The issue's snippet: MyError twice then "ok" gives "ok" after 3 attempts."""
        guard = Resilience(
            name="y", policy=RetryPolicy({MyError: Backoff(5, 0.01, 0.1)}), clock=clock
        )
        flaky = Flaky([MyError("1"), MyError("2")])
        assert await guard.call(flaky) == "ok"
        assert flaky.calls == 3 and len(clock.sleeps) == 2
        assert all(notes(e) == [] for e in flaky.raised)

    async def test_my_error_is_re_raised_itself_with_one_note(self, clock: FakeClock) -> None:
        """After the last attempt the caller's own exception object propagates, noted once."""
        guard = Resilience(
            name="y", policy=RetryPolicy({MyError: Backoff(3, 0.01, 0.1)}), clock=clock
        )
        flaky = Flaky([MyError(str(i)) for i in range(5)])
        with pytest.raises(MyError) as info:
            await guard.call(flaky)
        assert info.value is flaky.raised[-1] and flaky.calls == 3
        assert notes(info.value) == ["y: gave up after 3 attempt(s): attempts exhausted"]
        assert info.value.__cause__ is None

    async def test_unnamed_errors_are_not_retried_but_noted(self, clock: FakeClock) -> None:
        """An exception the policy does not name propagates after one attempt, noted once."""
        guard = Resilience(name="y", policy=RetryPolicy({MyError: Backoff(5, 0, 0)}), clock=clock)
        flaky = Flaky([KeyError("bug")])
        with pytest.raises(KeyError) as info:
            await guard.call(flaky)
        assert flaky.calls == 1
        assert notes(info.value) == ["y: gave up after 1 attempt(s): not retryable"]


def _hierarchy(data: st.DataObject) -> list[type[Exception]]:
    """Draw a random tree of exception classes rooted at Exception (parents come first)."""
    size = data.draw(st.integers(1, 8), label="size")
    classes: list[type[Exception]] = []
    for i in range(size):
        parent = data.draw(st.sampled_from([Exception, *classes]), label=f"parent{i}")
        classes.append(type(f"E{i}", (parent,), {}))
    return classes


class TestPolicyTable:
    @given(st.data())
    def test_most_specific_class_wins_in_a_random_hierarchy(self, data: st.DataObject) -> None:
        """For any class tree and table, an error gets its nearest ancestor's entry, if any."""
        classes = _hierarchy(data)
        keyed = data.draw(st.sets(st.sampled_from(classes)), label="keyed")
        table = {cls: Backoff(classes.index(cls) + 2, 0, 0) for cls in keyed}
        policy = RetryPolicy(table, default=Backoff(1, 0, 0))
        for cls in classes:
            error = cls("x")
            nearest = next((k for k in cls.__mro__ if k in table), None)
            expected = table[nearest].attempts if nearest is not None else 1
            assert policy.attempts_for(error) == expected
            assert (policy.verdict(error) is not False) == (nearest is not None)

    def test_base_exceptions_and_cancellation_are_never_retried(self) -> None:
        """KeyboardInterrupt-like BaseExceptions are never retried, even when keyed."""
        policy = RetryPolicy({BaseException: Backoff(5, 0, 0)})
        assert policy.verdict(KeyboardInterrupt()) is False
        assert policy.attempts_for(SystemExit()) == 1
        assert policy.verdict(MyError()) is True

    @pytest.mark.parametrize(
        "on",
        [MyError, (ValueError, MyError), lambda e: isinstance(e, MyError)],
        ids=["class", "tuple", "predicate"],
    )
    def test_on_forms_are_equivalent(self, on: Any) -> None:
        """A class, a tuple and a predicate say the same thing; subclasses are included."""
        policy = RetryPolicy(default=Backoff(4, 0, 0), on=on)
        assert policy.attempts_for(MySubError()) == 4
        assert policy.attempts_for(KeyError()) == 1

    def test_on_decides_even_against_the_table(self) -> None:
        """When on= is given, a keyed class it rejects is not retried."""
        policy = RetryPolicy({MyError: Backoff(4, 0, 0)}, on=lambda e: "again" in str(e))
        assert policy.attempts_for(MyError("again")) == 4
        assert policy.attempts_for(MyError("stop")) == 1

    @pytest.mark.parametrize("answer", ["yes", -1.0, math.nan, math.inf])
    def test_odd_predicate_answers_mean_retry_with_the_backoff(self, answer: Any) -> None:
        """A truthy non-bool or an unusable number from a predicate: retry after the backoff."""
        policy = RetryPolicy(default=Backoff(3, 0.5, 0.5, Jitter.NONE), on=lambda e: answer)
        assert policy.verdict(MyError()) is True
        assert policy.delay_for(MyError(), 1, random.Random(0)) == 0.5

    @pytest.mark.parametrize("answer", [None, "", ()])
    def test_falsy_predicate_answers_mean_no_retry(self, answer: Any) -> None:
        """A predicate that returns None (forgot to return) or another falsy non-number: no."""
        policy = RetryPolicy(default=Backoff(3, 0.5, 0.5), on=lambda e: answer)
        assert policy.verdict(MyError()) is False and policy.attempts_for(MyError()) == 1
        assert policy.without_delays().verdict(MyError()) is False

    @pytest.mark.parametrize("bad", [42, "MyError", (MyError, 3), int])
    def test_bad_on_is_refused(self, bad: Any) -> None:
        """on= must be an exception class, a tuple of them, or a callable."""
        with pytest.raises(TypeError):
            RetryPolicy(on=bad)

    def test_bad_table_keys_are_refused(self) -> None:
        """Table keys must be exception classes and values Backoff."""
        with pytest.raises(TypeError):
            RetryPolicy({"MyError": Backoff(2, 0, 0)})  # type: ignore[dict-item]
        with pytest.raises(TypeError):
            RetryPolicy({MyError: 3})  # type: ignore[dict-item]

    def test_without_delays_keeps_a_predicate_but_not_its_wait(self) -> None:
        """The testing escape hatch keeps what is retried and zeroes a predicate's wait."""
        policy = RetryPolicy(default=Backoff(3, 1, 1), on=lambda e: 9.0).without_delays()
        assert policy.verdict(MyError()) is True
        assert policy.delay_for(MyError(), 1, random.Random(0)) == 0.0


class TestLoopProperties:
    @given(
        failures=st.integers(0, 8),
        attempts=st.integers(1, 6),
        subclass=st.booleans(),
        seed=st.integers(0, 2**16),
    )
    async def test_attempts_bound_and_the_original_propagates(
        self, failures: int, attempts: int, subclass: bool, seed: int
    ) -> None:
        """Calls <= attempts; k failures then success: k sleeps; else the last error, noted once."""
        clock = FakeClock()
        kind = MySubError if subclass else MyError
        flaky = Flaky([kind(str(i)) for i in range(failures)])
        guard = Resilience(
            name="p",
            policy=RetryPolicy({MyError: Backoff(attempts, 0.01, 1.0)}),
            clock=clock,
            rng=random.Random(seed),
        )
        if failures < attempts:
            assert await guard.call(flaky) == "ok"
            assert flaky.calls == failures + 1 and len(clock.sleeps) == failures
            assert all(notes(e) == [] for e in flaky.raised)
        else:
            with pytest.raises(MyError) as info:
                await guard.call(flaky)
            assert flaky.calls == attempts
            assert info.value is flaky.raised[-1]
            assert len(notes(info.value)) == 1
            assert f"after {attempts} attempt(s)" in notes(info.value)[0]
            assert all(notes(e) == [] for e in flaky.raised[:-1])
        assert all(0.0 <= s <= 1.0 for s in clock.sleeps)

    @given(wait=st.floats(0.0, 100.0), failures=st.integers(1, 3))
    async def test_a_predicate_number_is_the_wait(self, wait: float, failures: int) -> None:
        """on= returning a number retries after exactly that many seconds."""
        clock = FakeClock()
        flaky = Flaky([MyError() for _ in range(failures)])
        guard = retrying(on=lambda e: wait, attempts=5, clock=clock, rng=seeded_rng(0))
        assert await guard.call(flaky) == "ok"
        assert clock.sleeps == [wait] * failures

    async def test_a_predicate_timedelta_is_the_wait(self, clock: FakeClock) -> None:
        """on= may answer with a timedelta."""
        flaky = Flaky([MyError()])
        await retrying(on=lambda e: dt.timedelta(seconds=2), clock=clock).call(flaky)
        assert clock.sleeps == [2.0]

    async def test_a_predicate_false_means_one_attempt(self, clock: FakeClock) -> None:
        """on= returning False stops at once with the original error."""
        flaky = Flaky([MyError("no")])
        with pytest.raises(MyError) as info:
            await retrying(on=lambda e: False, clock=clock).call(flaky)
        assert flaky.calls == 1 and "not retryable" in notes(info.value)[0]


RETRY_AFTER_JUNK = [None, 0, 0.0, -5, -0.001, math.nan, math.inf, -math.inf, "7", True, object()]


class TestRetryAfter:
    @given(
        asked=st.one_of(
            st.sampled_from(RETRY_AFTER_JUNK),
            st.floats(allow_nan=True, allow_infinity=True),
            st.integers(-(10**9), 10**9),
            st.timedeltas(min_value=dt.timedelta(days=-2), max_value=dt.timedelta(days=2)),
        ),
        retry=st.integers(1, 50),
        cap=st.floats(0.0, 120.0),
    )
    def test_the_wait_chosen(self, asked: Any, retry: int, cap: float) -> None:
        """A positive retry_after (capped) sets the wait; anything else gets the backoff (> 0)."""
        backoff = Backoff(6, 2.0, 30.0, Jitter.EQUAL)
        policy = RetryPolicy({Throttled: backoff}, max_retry_after=cap)
        error = Throttled(asked)
        wait = policy.delay_for(error, retry, random.Random(retry))
        seconds = asked.total_seconds() if isinstance(asked, dt.timedelta) else asked
        usable = (
            isinstance(seconds, int | float)
            and not isinstance(seconds, bool)
            and math.isfinite(seconds)
            and seconds > 0
        )
        if usable:
            assert wait == min(float(seconds), cap)
            assert retry_after_of(error) == float(seconds)
        else:
            assert retry_after_of(error) is None
            assert wait == backoff.delay(retry, random.Random(retry))
            assert wait >= 1.0

    @pytest.mark.parametrize("asked", [-5.0, 0.0, None, math.nan])
    async def test_bad_retry_after_on_429_waits_the_backoff(
        self, clock: FakeClock, asked: float | None
    ) -> None:
        """A 429 whose Retry-After is negative, zero, absent or NaN waits the computed backoff."""
        policy = RetryPolicy({RateLimited: Backoff(3, 2.0, 30.0, Jitter.NONE)})
        error = RateLimited("slow down", retry_after=asked)
        flaky = Flaky([error, RateLimited("slow down", retry_after=asked)])
        assert await Resilience(policy=policy, clock=clock).call(flaky) == "ok"
        assert clock.sleeps == [2.0, 4.0]

    async def test_a_third_party_retry_after_is_honoured(self, clock: FakeClock) -> None:
        """Any exception with a positive retry_after sets the wait (capped by the policy)."""
        flaky = Flaky([Throttled(3.5), Throttled(1e9)])
        policy = RetryPolicy({Throttled: Backoff(5, 0.1, 1.0)}, max_retry_after=60.0)
        assert await Resilience(policy=policy, clock=clock).call(flaky) == "ok"
        assert clock.sleeps == [3.5, 60.0]

    async def test_a_5xx_with_zero_retry_after_is_not_retried_at_once(
        self, clock: FakeClock
    ) -> None:
        """A 503 whose Retry-After parsed to 0 waits the backoff, not zero."""
        policy = RetryPolicy({UpstreamServerError: Backoff(3, 0.5, 4.0, Jitter.NONE)})
        flaky = Flaky([UpstreamServerError(503, retry_after=0.0)])
        assert await Resilience(policy=policy, clock=clock).call(flaky) == "ok"
        assert clock.sleeps == [0.5]


class TestGuardsForThirdPartyErrors:
    async def test_retried_errors_count_against_the_breaker(self, clock: FakeClock) -> None:
        """Retried third-party errors open the breaker; the caller's error says it is open."""
        breaker = strict_breaker(clock, threshold=2)
        flaky = Flaky([MyError(str(i)) for i in range(5)])
        guard = retrying(on=MyError, attempts=5, breaker=breaker, clock=clock, name="api-call")
        with pytest.raises(MyError) as info:
            await guard.call(flaky)
        assert flaky.calls == 2 and info.value is flaky.raised[-1]
        (note,) = notes(info.value)
        assert "after 2 attempt(s)" in note and "circuit 'api' is open" in note
        with pytest.raises(CircuitOpenError):
            await guard.call(Flaky([]))

    async def test_errors_not_retried_do_not_count(self, clock: FakeClock) -> None:
        """A bug (an error the policy does not retry) never opens the breaker."""
        breaker = strict_breaker(clock, threshold=1)
        guard = retrying(on=MyError, breaker=breaker, clock=clock)
        for _ in range(3):
            with pytest.raises(KeyError):
                await guard.call(Flaky([KeyError("bug")]))
        assert breaker.statistics().consecutive_failures == 0

    async def test_a_custom_breaker_outcome_decides_for_itself(self, clock: FakeClock) -> None:
        """A breaker with its own outcome= function is not overridden by the policy."""
        config = BreakerConfig(consecutive_failures=1, failure_rate=None, recovery_jitter=0.0)
        breaker = CircuitBreaker("api", config, clock=clock, outcome=lambda e: "ignore")
        guard = retrying(on=MyError, attempts=3, breaker=breaker, clock=clock)
        with pytest.raises(MyError):
            await guard.call(Flaky([MyError() for _ in range(3)]))
        assert breaker.statistics().consecutive_failures == 0

    async def test_an_empty_budget_stops_with_the_original(self, clock: FakeClock) -> None:
        """With no retry budget left the caller's error propagates, saying so."""
        budget = RetryBudget(ratio=0.0, min_per_second=0.0, clock=clock)
        flaky = Flaky([MyError(), MyError()])
        with pytest.raises(MyError) as info:
            await retrying(on=MyError, budget=budget, clock=clock).call(flaky)
        assert flaky.calls == 1 and notes(info.value)[0].endswith("retry budget exhausted")

    async def test_the_deadline_stops_with_the_original(self, clock: FakeClock) -> None:
        """When the next wait would cross the deadline, the caller's error propagates."""
        flaky = Flaky([MyError(), MyError()])
        guard = retrying(
            on=lambda e: 4.0, deadline=dt.timedelta(seconds=3), clock=clock, name="slow"
        )
        with pytest.raises(MyError) as info:
            await guard.call(flaky)
        assert flaky.calls == 1 and clock.now() == 0.0
        assert "deadline of 3.000 s" in notes(info.value)[0]

    async def test_hooks_and_metrics_see_third_party_errors(self, clock: FakeClock) -> None:
        """on_retry receives the caller's error; metrics label it by class name."""
        seen: list[RetryEvent] = []
        metrics = ResilienceMetrics()
        hooks = Hooks.combine(Hooks(on_retry=seen.append), metrics.hooks)
        flaky = Flaky([MyError("a")])
        await retrying(on=MyError, hooks=hooks, clock=clock, name="h").call(flaky)
        assert [e.error for e in seen] == flaky.raised
        assert metrics.retries.snapshot() == {("h", "MyError"): 1}


class TestShortForm:
    async def test_three_lines(self, clock: FakeClock) -> None:
        """retry(fn, *args, on=..., attempts=..., breaker=...) is the whole entry point."""
        calls: list[int] = []

        async def fetch_user(user_id: int) -> dict[str, int]:
            calls.append(user_id)
            if len(calls) < 3:
                raise MyError("flaky")
            return {"id": user_id}

        api = CircuitBreaker("api", clock=clock)
        user = await retry(fetch_user, 42, on=MyError, attempts=5, breaker=api, clock=clock)
        assert user == {"id": 42} and calls == [42, 42, 42]

    async def test_decorator_form(self, clock: FakeClock) -> None:
        """@retrying(...) decorates an async function with the same loop."""
        flaky = Flaky([MyError()])

        @retrying(on=MyError, attempts=2, clock=clock)
        async def wrapped() -> str:
            return await flaky()

        assert await wrapped() == "ok" and flaky.calls == 2


class TestShortFormEdges:
    async def test_unhashable_on_is_refused_clearly(self) -> None:
        """retry() with a list for on= raises TypeError naming what on= accepts."""
        with pytest.raises(TypeError, match="exception class, a tuple of them or a predicate"):
            await retry(Flaky([]), on=[MyError])  # type: ignore[arg-type]

    async def test_guards_are_reused_but_calls_are_independent(self, clock: FakeClock) -> None:
        """Two retry() calls with the same arguments count their attempts separately."""
        first, second = Flaky([MyError()] * 2), Flaky([MyError()])
        assert await retry(first, on=MyError, attempts=3, clock=clock) == "ok"
        assert await retry(second, on=MyError, attempts=3, clock=clock) == "ok"
        assert (first.calls, second.calls) == (3, 2)
