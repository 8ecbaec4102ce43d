"""Bounded metrics: fixed buckets and capped label sets."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autodocs_core.resilience import Histogram, LabeledCounter


@given(st.lists(st.one_of(st.floats(-1, 100), st.just(math.nan))))
def test_histogram_memory_is_fixed_and_counts_add_up(values: list[float]) -> None:
    """However many observations, the bucket array keeps its size and counts sum to count."""
    h = Histogram((0.1, 1.0, 10.0))
    for v in values:
        h.observe(v)
    snap = h.snapshot()
    assert len(snap.counts) == 4
    assert sum(snap.counts) == snap.count == sum(1 for v in values if not math.isnan(v))


def test_quantiles_are_bucket_upper_bounds() -> None:
    """p50 and p99 report the upper bound of the bucket that holds them."""
    h = Histogram((0.1, 1.0, 10.0))
    for v in [0.05] * 50 + [0.5] * 49 + [50.0]:
        h.observe(v)
    snap = h.snapshot()
    assert snap.quantile(0.5) == 0.1
    assert snap.quantile(0.99) == 1.0
    assert snap.quantile(1.0) == math.inf
    assert Histogram().snapshot().quantile(0.5) == 0.0


def test_histogram_rejects_unsorted_bounds() -> None:
    """Bucket bounds must increase."""
    with pytest.raises(ValueError):
        Histogram((1.0, 0.5))


def test_labeled_counter_caps_series() -> None:
    """Past max_series distinct label tuples, new ones are counted under 'other'."""
    c = LabeledCounter(max_series=2)
    for name in ["a", "b", "c", "d", "a"]:
        c.inc(name)
    assert c.snapshot() == {("a",): 2, ("b",): 1, ("other",): 2}
    assert c.total() == 5
