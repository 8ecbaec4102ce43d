"""The retry budget: retries never exceed ratio × recent requests + floor."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autodocs_core.resilience import Registry, RetryBudget
from autodocs_core.testing import FakeClock


@given(
    ops=st.lists(st.tuples(st.sampled_from(["request", "retry"]), st.floats(0, 3)), max_size=300),
    ratio=st.floats(0, 2),
    floor=st.floats(0, 2),
)
def test_retries_never_exceed_the_ratio(
    ops: list[tuple[str, float]], ratio: float, floor: float
) -> None:
    """Retries stay within ratio × requests + floor, per window and over the whole run."""
    clock = FakeClock()
    ttl = 10.0
    budget = RetryBudget(ratio=ratio, min_per_second=floor, ttl=ttl, clock=clock)
    requests = retries = 0
    for op, dt in ops:
        clock.advance(dt)
        if op == "request":
            budget.record_request()
            requests += 1
        elif budget.try_acquire_retry():
            retries += 1
            stats = budget.statistics()
            assert stats.retries <= ratio * stats.requests + floor * ttl + 1e-9
        assert budget.statistics().available >= 0
    windows = clock.now() // ttl + 2
    assert retries <= ratio * requests + floor * ttl * windows + 1e-9


def test_budget_refills_as_old_requests_leave_the_window() -> None:
    """A spent budget refuses retries, then grants them again once the window has moved on."""
    clock = FakeClock()
    budget = RetryBudget(ratio=0.5, min_per_second=0.0, ttl=10.0, clock=clock)
    for _ in range(4):
        budget.record_request()
    assert [budget.try_acquire_retry() for _ in range(3)] == [True, True, False]
    clock.advance(20.0)
    assert not budget.try_acquire_retry()  # no recent requests, no floor
    budget.record_request()
    budget.record_request()
    assert budget.try_acquire_retry()
    assert budget.statistics().denied == 2


def test_floor_allows_retries_on_a_quiet_service() -> None:
    """With no traffic, the floor still allows min_per_second × ttl retries."""
    budget = RetryBudget(ratio=0.0, min_per_second=0.5, ttl=10.0, clock=FakeClock())
    assert sum(budget.try_acquire_retry() for _ in range(10)) == 5


@pytest.mark.parametrize(
    "kwargs", [{"ratio": -1}, {"min_per_second": float("inf")}, {"ttl": 0}, {"buckets": 0}]
)
def test_invalid_settings(kwargs: dict[str, float]) -> None:
    """Negative ratios, infinite floors and empty windows are refused."""
    with pytest.raises(ValueError):
        RetryBudget(**kwargs)  # type: ignore[arg-type]


def test_registry_is_bounded_and_reuses_entries() -> None:
    """One object per key; the least recently used is dropped past max_size."""
    made: list[str] = []

    def factory(key: str) -> list[str]:
        made.append(key)
        return [key]

    reg: Registry[list[str]] = Registry(factory, max_size=2)
    a = reg.get("a")
    assert reg.get("a") is a
    reg.get("b")
    reg.get("a")
    reg.get("c")
    assert "b" not in reg and "a" in reg and len(reg) == 2
    assert made == ["a", "b", "c"]
    assert [k for k, _ in reg.items()] == ["a", "c"]
    with pytest.raises(ValueError):
        Registry(factory, max_size=0)
