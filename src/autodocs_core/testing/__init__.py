"""Public test helpers: fake time, seeded randomness, no-delay policies, a fault-injecting index.

Use them in your own tests of code built on autodocs_core::

    clock = FakeClock()
    guard = Resilience(clock=clock, rng=seeded_rng(1), deadline=5.0)
    ...
    assert sum(clock.sleeps) <= 5.0

``FaultIndex`` (a package index on 127.0.0.1 that injects hangs, 429s, resets, trickles, bombs and
more) is imported lazily, so importing this module stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._clock import FakeClock as FakeClock
from ._clock import no_delay_policy as no_delay_policy
from ._clock import seeded_rng as seeded_rng

if TYPE_CHECKING:
    from ._index import Fault as Fault
    from ._index import FaultIndex as FaultIndex
    from ._index import FaultPlan as FaultPlan

__all__ = ["FakeClock", "Fault", "FaultIndex", "FaultPlan", "no_delay_policy", "seeded_rng"]


def __getattr__(name: str) -> Any:
    if name in ("Fault", "FaultIndex", "FaultPlan"):
        from . import _index

        return getattr(_index, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
