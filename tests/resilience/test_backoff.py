"""Backoff delays, policy lookup and Retry-After parsing (pure, no I/O)."""

from __future__ import annotations

import email.utils
import random

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from autodocs_core.errors import (
    AutodocsError,
    InvalidInputError,
    MalformedResponse,
    RateLimited,
    TLSError,
    UpstreamConnectError,
    UpstreamError,
    UpstreamNetworkError,
    UpstreamServerError,
    UpstreamTimeout,
)
from autodocs_core.resilience import (
    DEFAULT_POLICY,
    Backoff,
    Jitter,
    RetryPolicy,
    parse_retry_after,
)
from tests.strategies import backoffs


class TestBackoff:
    @given(b=backoffs(), retry=st.integers(1, 10**6), seed=st.integers(), prev=st.floats(0, 1e5))
    def test_delay_within_zero_and_cap(
        self, b: Backoff, retry: int, seed: int, prev: float
    ) -> None:
        """Every delay is in [0, cap], for any retry number (no overflow for huge ones)."""
        delay = b.delay(retry, random.Random(seed), prev)
        assert 0.0 <= delay <= b.cap

    @given(b=backoffs(), retry=st.integers(1, 10**6), seed=st.integers())
    def test_delay_never_above_the_exponential_bound(
        self, b: Backoff, retry: int, seed: int
    ) -> None:
        """Full and equal jitter never exceed the un-jittered delay; equal never goes below half."""
        if b.jitter is Jitter.DECORRELATED:
            return
        exp = b.exponential(retry)
        delay = b.delay(retry, random.Random(seed))
        assert delay <= exp
        if b.jitter is Jitter.EQUAL:
            assert delay >= exp / 2
        if b.jitter is Jitter.NONE:
            assert delay == exp

    @given(b=backoffs(), retry=st.integers(1, 10**6))
    def test_exponential_is_monotonic(self, b: Backoff, retry: int) -> None:
        """Without jitter, the delay never decreases as the retry number grows."""
        assert b.exponential(retry) <= b.exponential(retry + 1)

    @given(
        base=st.floats(0.001, 10),
        cap=st.floats(0.001, 100),
        prev=st.floats(0, 1000),
        seed=st.integers(),
    )
    def test_decorrelated_stays_between_base_and_three_times_previous(
        self, base: float, cap: float, prev: float, seed: int
    ) -> None:
        """Decorrelated jitter draws from [base, 3 × previous], capped."""
        b = Backoff(5, base, cap, Jitter.DECORRELATED)
        delay = b.delay(2, random.Random(seed), prev)
        low = min(base, cap)
        assert low <= delay <= min(cap, max(low, 3 * prev)) + 1e-9

    def test_full_jitter_spreads_over_the_whole_range(self) -> None:
        """Full jitter is uniform over [0, exp]: samples reach both ends of the range."""
        b = Backoff(5, 1.0, 100.0, Jitter.FULL)
        rng = random.Random(7)
        samples = [b.delay(3, rng) for _ in range(2000)]
        assert min(samples) < 0.1 and max(samples) > 3.9
        assert 1.8 < sum(samples) / len(samples) < 2.2  # mean of U(0, 4)

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"attempts": 0, "base": 1, "cap": 1},
            {"attempts": 1, "base": -1, "cap": 1},
            {"attempts": 1, "base": 1, "cap": float("nan")},
            {"attempts": 1, "base": 1, "cap": 1, "multiplier": 0.5},
        ],
    )
    def test_invalid_settings_are_refused(self, kwargs: dict[str, float]) -> None:
        """Nonsense settings fail at construction, not in the middle of a retry loop."""
        with pytest.raises(ValueError):
            Backoff(**kwargs)  # type: ignore[arg-type]


class TestRetryPolicy:
    def test_most_specific_class_wins(self) -> None:
        """A connect error gets its own entry, not its parent's (network) or grandparent's."""
        policy = RetryPolicy(
            {
                UpstreamError: Backoff(2, 0, 0),
                UpstreamNetworkError: Backoff(3, 0, 0),
                UpstreamConnectError: Backoff(4, 0, 0),
            }
        )
        assert policy.attempts_for(UpstreamConnectError("x")) == 4
        assert policy.attempts_for(UpstreamNetworkError("x")) == 3
        assert policy.attempts_for(MalformedResponse("x")) == 2

    @given(st.data())
    def test_most_specific_wins_for_random_chains(self, data: st.DataObject) -> None:
        """For a random chain of subclasses, the deepest class with an entry wins."""
        depth = data.draw(st.integers(1, 6))
        chain: list[type[AutodocsError]] = [UpstreamError]
        for i in range(depth):
            chain.append(type(f"E{i}", (chain[-1],), {}))
        with_entry = data.draw(st.sets(st.integers(0, depth), min_size=1))
        policy = RetryPolicy({chain[i]: Backoff(i + 1, 0, 0) for i in with_entry})
        leaf = chain[-1]("boom")
        assert policy.attempts_for(leaf) == max(with_entry) + 1

    def test_non_retryable_errors_get_one_attempt_whatever_the_table(self) -> None:
        """TLS and invalid-input errors are never retried, even with an entry."""
        policy = RetryPolicy({TLSError: Backoff(9, 0, 0), AutodocsError: Backoff(9, 0, 0)})
        assert policy.attempts_for(TLSError("x")) == 1
        assert policy.attempts_for(InvalidInputError("x")) == 1
        assert policy.attempts_for(ValueError("not ours")) == 1

    def test_default_policy_meets_the_hang_target_arithmetic(self) -> None:
        """With half of all requests hanging, the default timeout policy succeeds >= 97%."""
        attempts = DEFAULT_POLICY.attempts_for(UpstreamTimeout("x"))
        success = 1 - 0.5**attempts
        expected_requests = sum(0.5**i for i in range(attempts))
        assert success >= 0.97
        assert expected_requests <= 2.5

    def test_default_policy_table(self) -> None:
        """Each error kind of the seed's table has an entry; 429s wait, 4xx never retries."""
        assert DEFAULT_POLICY.attempts_for(RateLimited("x")) == 6
        assert DEFAULT_POLICY.attempts_for(UpstreamServerError(503)) == 5
        assert DEFAULT_POLICY.attempts_for(MalformedResponse("x")) == 3
        assert DEFAULT_POLICY.attempts_for(InvalidInputError("x")) == 1
        assert DEFAULT_POLICY.max_attempts == 6

    def test_evolve_keeps_the_table(self) -> None:
        """attrs.evolve on a policy (changing one field) keeps the error table intact."""
        changed = attrs.evolve(DEFAULT_POLICY, max_retry_after=5.0)
        assert changed.table == DEFAULT_POLICY.table and changed.max_retry_after == 5.0

    def test_without_delays_keeps_attempts(self) -> None:
        """The testing escape hatch keeps attempt counts and zeroes every delay."""
        fast = DEFAULT_POLICY.without_delays()
        err = UpstreamServerError(500)
        assert fast.attempts_for(err) == DEFAULT_POLICY.attempts_for(err)
        assert fast.backoff_for(err).delay(3, random.Random(1)) == 0.0
        assert RetryPolicy.never().attempts_for(err) == 1


NOW = 1_700_000_000.0


class TestRetryAfter:
    @given(
        st.one_of(st.none(), st.text(max_size=80), st.binary(max_size=80)),
        st.floats(0, 1e5, allow_nan=False),
    )
    def test_total(self, value: str | bytes | None, cap: float) -> None:
        """Parsing never raises; the result is None or within (0, cap] (0 only when cap is 0)."""
        result = parse_retry_after(value, now_wall=NOW, cap=cap)
        assert result is None or (0.0 < result <= cap) or (result == cap == 0.0)

    @given(seconds=st.integers(-(10**12), 10**12), cap=st.floats(0.0, 1e5))
    def test_delay_seconds_property(self, seconds: int, cap: float) -> None:
        """A positive integer gives min(n, cap); zero and negatives give None (use the backoff)."""
        found = parse_retry_after(str(seconds), now_wall=NOW, cap=cap)
        assert found == (min(float(seconds), cap) if seconds > 0 else None)

    @given(offset=st.integers(-(10**8), 10**8))
    def test_http_date_property(self, offset: int) -> None:
        """An HTTP-date in the past (or now) gives None; in the future, the seconds (capped)."""
        value = email.utils.formatdate(NOW + offset, usegmt=True)
        found = parse_retry_after(value, now_wall=NOW, cap=60.0)
        if offset <= 0:
            assert found is None
        else:
            assert found == pytest.approx(min(offset, 60.0), abs=1e-6)

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("120", 30.0),
            ("5", 5.0),
            (" 7 ", 7.0),
            ("1.5", 1.5),
            ("-3", None),
            ("0", None),
            ("-0.5", None),
            ("soon", None),
            ("", None),
            ("nan", None),
            ("inf", None),
            ("1e400", None),
            (b"4", 4.0),
            (None, None),
            ("9" * 100, None),
        ],
    )
    def test_delay_seconds(self, value: str | bytes | None, expected: float | None) -> None:
        """Seconds are honoured, huge values capped; zero, negatives and garbage give None."""
        assert parse_retry_after(value, now_wall=NOW, cap=30.0) == expected

    @pytest.mark.parametrize(("offset", "expected"), [(10, 10.0), (-50, None), (10**6, 60.0)])
    def test_http_date(self, offset: int, expected: float | None) -> None:
        """An HTTP-date is turned into seconds from now: past means None, far future is capped."""
        value = email.utils.formatdate(NOW + offset, usegmt=True)
        found = parse_retry_after(value, now_wall=NOW)
        assert found == (None if expected is None else pytest.approx(expected, abs=1.0))
