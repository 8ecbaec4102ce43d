"""Shared fixtures: both anyio backends, Hypothesis profiles, a fake clock."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from autodocs_core.testing import FakeClock

# "default": thorough enough to find real bugs, sized for a 2-core CI machine.
# "fast": for a quick local loop (AUTODOCS_HYPOTHESIS_PROFILE=fast).
settings.register_profile(
    "default", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("fast", max_examples=15, deadline=None)
settings.register_profile(
    "thorough", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("AUTODOCS_HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Run every async test on both asyncio and trio."""
    return str(request.param)


@pytest.fixture
def clock() -> FakeClock:
    """A fresh fake clock at t=0."""
    return FakeClock()
