"""AdaptiveTimeout: RFC 6298 estimate, doubling on timeouts up to the ceiling, no lock-out."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autodocs_core.errors import UpstreamTimeout
from autodocs_core.resilience import AdaptiveTimeout, Backoff, Resilience, RetryPolicy
from autodocs_core.testing import FakeClock, seeded_rng

pytestmark = pytest.mark.anyio

# A history: answers (a latency) and timeouts (True), in any order.
events = st.lists(
    st.one_of(
        st.floats(0, 1e4, allow_nan=False), st.just(True), st.floats(0, 1e4).map(lambda x: -x)
    ),
    max_size=60,
)


def replay(t: AdaptiveTimeout, history: list[float | bool]) -> None:
    """Feed *history*: a float >= 0 is an answer; True or a negative float is a timeout."""
    for event in history:
        if event is True:
            t.on_timeout()
        elif isinstance(event, float) and event < 0:
            t.on_timeout(-event)  # a timeout of some (possibly stale) length
        else:
            t.observe(float(event))


class TestEscalation:
    def test_each_timeout_doubles_up_to_the_ceiling(self) -> None:
        """Consecutive timeouts double the timeout (RFC 6298 §5.5) and stop at maximum."""
        t = AdaptiveTimeout(initial=1.0, minimum=0.5, maximum=10.0)
        seen = []
        for _ in range(6):
            seen.append(t.current())
            t.on_timeout(t.current())
        assert seen == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]

    def test_an_answer_brings_it_back_to_the_estimate(self) -> None:
        """Only a real sample undoes the backoff, and it is then srtt + 4 × rttvar again."""
        t = AdaptiveTimeout(initial=1.0, minimum=0.5, maximum=10.0)
        for _ in range(30):
            t.observe(0.01)
        t.on_timeout()
        t.on_timeout()
        assert t.backoff == 2 and t.current() == 2.0
        t.observe(0.01)
        assert t.backoff == 0 and t.current() == 0.5

    def test_concurrent_timeouts_count_once(self) -> None:
        """Ten attempts that all ran with 1 s and timed out together double it once, not 10×."""
        t = AdaptiveTimeout(initial=1.0, minimum=0.5, maximum=10.0)
        for _ in range(10):
            t.on_timeout(1.0)
        assert t.current() == 2.0

    def test_a_timeout_is_no_evidence_when_others_were_answered_meanwhile(self) -> None:
        """Answers observed since the attempt started: its timeout was a hang, not a low estimate.

        With half of all requests hanging, answers keep arriving, so the estimate stays low;
        an index that answers nothing (brown-out, cold slow index) still escalates it.
        """
        t = AdaptiveTimeout(initial=1.0, minimum=0.5, maximum=10.0)
        for _ in range(20):
            t.observe(0.01)
        seen = t.observations
        t.observe(0.01)  # another request was answered while this one waited
        t.on_timeout(0.5, observations=seen)
        assert t.current() == 0.5 and t.observations == 21
        t.on_timeout(0.5, observations=t.observations)
        assert t.current() == 1.0

    def test_a_slow_sample_after_fast_ones_lifts_the_estimate_above_it(self) -> None:
        """One 1.5 s answer after many 10 ms ones gives a timeout above 1.5 s (brown-out)."""
        t = AdaptiveTimeout(initial=1.0, minimum=0.5, maximum=10.0)
        for _ in range(100):
            t.observe(0.01)
        t.observe(1.5)
        assert t.current() > 1.5

    def test_spawn_copies_the_parameters_with_a_new_ceiling(self) -> None:
        """spawn() gives an independent estimator; initial and minimum fit under the ceiling."""
        t = AdaptiveTimeout(initial=1.0, minimum=0.5, maximum=10.0, k=3.0)
        t.observe(5.0)
        child = t.spawn(maximum=0.4)
        assert (child.initial, child.minimum, child.maximum, child.k) == (0.4, 0.4, 0.4, 3.0)
        assert child.current() == 0.4
        assert t.spawn().current() == 1.0

    @given(events)
    def test_always_within_bounds(self, history: list[float | bool]) -> None:
        """Whatever happens, the timeout stays within [minimum, maximum]."""
        t = AdaptiveTimeout(initial=1.0, minimum=0.5, maximum=10.0)
        for event in history:
            replay(t, [event])
            assert 0.5 <= t.current() <= 10.0

    @given(
        events,
        st.floats(0.001, 1.0),
        st.floats(0.001, 100.0),
        st.floats(0.0, 0.5),
    )
    def test_no_history_locks_out_a_reachable_index(
        self, history: list[float | bool], minimum: float, ceiling: float, fraction: float
    ) -> None:
        """An index whose latency is L <= ceiling / 2 is answered, from any state.

        After any sequence of answers and timeouts, an index that now answers every request in
        L seconds is answered within ceil(log2(ceiling / minimum)) + 1 attempts.
        """
        minimum = min(minimum, ceiling)
        t = AdaptiveTimeout(initial=minimum, minimum=minimum, maximum=ceiling)
        replay(t, history)
        latency = max(fraction * ceiling, 1e-9)
        bound = math.ceil(math.log2(ceiling / minimum)) + 1
        for _attempt in range(bound + 1):
            timeout = t.current()
            if latency < timeout:
                t.observe(latency)
                break
            t.on_timeout(timeout)
        else:
            pytest.fail(f"latency {latency} never answered; timeout stuck at {t.current()}")
        # ...and once answered, it stays answered.
        for _ in range(50):
            assert latency < t.current()
            t.observe(latency)


class TestWithResilience:
    async def test_an_always_slow_upstream_is_answered(self, clock: FakeClock) -> None:
        """Resilience with an AdaptiveTimeout reaches a 3.2 s upstream by doubling 1 → 2 → 4 s."""
        timeout = AdaptiveTimeout(initial=1.0, minimum=0.5, maximum=10.0)
        policy = RetryPolicy({UpstreamTimeout: Backoff(6, 0.0, 0.0)})
        guard = Resilience(
            clock=clock, rng=seeded_rng(0), policy=policy, attempt_timeout=timeout, deadline=15.0
        )
        calls = 0

        async def slow() -> str:
            nonlocal calls
            calls += 1
            await clock.sleep(3.2)
            return "ok"

        assert await guard.call(slow) == "ok"
        assert calls == 3
        assert clock.now() == pytest.approx(1.0 + 2.0 + 3.2)
        assert timeout.backoff == 0 and timeout.current() > 3.2
