"""Shared Hypothesis strategies."""

from __future__ import annotations

from hypothesis import strategies as st

from autodocs_core.resilience import Backoff, Jitter

finite_seconds = st.floats(min_value=0.0, max_value=1e6, allow_nan=False, allow_infinity=False)
"""Non-negative, finite durations in seconds."""


@st.composite
def backoffs(draw: st.DrawFn) -> Backoff:
    """Any valid Backoff: attempts 1..10, base and cap from 0 to 1e4 s, any jitter."""
    return Backoff(
        attempts=draw(st.integers(1, 10)),
        base=draw(st.floats(0.0, 1e4, allow_nan=False)),
        cap=draw(st.floats(0.0, 1e4, allow_nan=False)),
        jitter=draw(st.sampled_from(Jitter)),
        multiplier=draw(st.floats(1.0, 10.0, allow_nan=False)),
    )
