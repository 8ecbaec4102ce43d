"""Shared state for a fleet of replicas: values, leases, upstream admission (scale-out).

One seam, :class:`SharedState`, with two implementations:

- :class:`LocalState` (default, and the fallback): one process, in memory, bounded.
- :class:`RedisState` (the ``redis`` extra): a Redis-protocol server shared by the replicas,
  used as an accelerator only. Every operation runs under one guard (a short budget, zero
  client retries, a blocking pool, a breaker around Redis); when it fails, that call answers
  locally and the fallback is counted. Losing Redis may cost extra upstream requests, never a
  failed call.

:func:`coalesce` builds a cross-replica single flight on top. See ``docs/scale-out.md``.
redis-py is imported only when a :class:`RedisState` is built (or the name is accessed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._coalesce import Coalescer as Coalescer
from ._coalesce import CoalescerStatistics as CoalescerStatistics
from ._coalesce import coalesce as coalesce
from ._coalesce import coalescer_for as coalescer_for
from ._factory import check_redis_url as check_redis_url
from ._factory import fleet_from_settings as fleet_from_settings
from ._factory import fleet_from_url as fleet_from_url
from ._local import LocalState as LocalState
from ._types import DEFAULT_MAX_VALUE_BYTES as DEFAULT_MAX_VALUE_BYTES
from ._types import DEFAULT_TIMEOUT as DEFAULT_TIMEOUT
from ._types import KEY_SCHEMA as KEY_SCHEMA
from ._types import Admission as Admission
from ._types import AdmissionReason as AdmissionReason
from ._types import FleetConfig as FleetConfig
from ._types import FleetStatistics as FleetStatistics
from ._types import Lease as Lease
from ._types import SharedState as SharedState
from ._types import index_namespace as index_namespace

if TYPE_CHECKING:
    from ._redis import RedisState as RedisState
    from ._redis import redis_client as redis_client

__all__ = [
    # the seam
    "SharedState",
    "Admission",
    "AdmissionReason",
    "Lease",
    "FleetConfig",
    "FleetStatistics",
    "DEFAULT_TIMEOUT",
    "DEFAULT_MAX_VALUE_BYTES",
    "KEY_SCHEMA",
    "index_namespace",
    # implementations and factories
    "LocalState",
    "RedisState",
    "redis_client",
    "fleet_from_url",
    "fleet_from_settings",
    "check_redis_url",
    # cross-replica single flight
    "coalesce",
    "coalescer_for",
    "Coalescer",
    "CoalescerStatistics",
]


def __getattr__(name: str) -> Any:
    # RedisState needs redis-py (the `redis` extra): load it only when asked for.
    if name in ("RedisState", "redis_client"):
        from . import _redis

        return getattr(_redis, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
