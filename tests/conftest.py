"""Shared fixtures: both anyio backends, Hypothesis profiles, a fake clock."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from autodocs_core.testing import FakeClock

FIXTURES = Path(__file__).parent / "fixtures" / "pypi"


def load_project(name: str) -> dict[str, Any]:
    """A recorded (trimmed) JSON API document of a real package."""
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text("utf-8"))
    return data


@pytest.fixture(scope="session")
def projects() -> dict[str, dict[str, Any]]:
    """Recorded JSON API documents, keyed by normalised name."""
    return {n: load_project(n) for n in ("attrs", "httpx", "pytest", "cattrs", "trio")}


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
