"""The storage interface behind the cache, and the bounded in-memory store.

A store maps string keys to bytes. It is a small async protocol so that a shared backend for
several server replicas (Redis, Valkey) can be added without touching the cache's callers.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Protocol, runtime_checkable

import attrs

__all__ = ["CacheStore", "MemoryStore", "StoreStats"]


@attrs.frozen
class StoreStats:
    """What a store holds.

    Attributes:
        entries: Number of entries.
        bytes: Total size of the values.
        degraded: Why the store is not working as configured (``None`` when it is).
        oldest: Wall-clock time the oldest entry was written, when known.
    """

    entries: int
    bytes: int
    degraded: str | None = None
    oldest: float | None = None


@runtime_checkable
class CacheStore(Protocol):
    """Async key-value storage for cache entries (keys are ``/``-separated paths)."""

    async def get(self, key: str) -> bytes | None:
        """Return the value of *key*, or ``None`` (a miss; corrupt entries are misses too)."""
        ...

    async def put(self, key: str, value: bytes) -> bool:
        """Store *value*; return ``False`` when it could not be stored (never raises)."""
        ...

    async def delete(self, prefix: str) -> int:
        """Delete every key equal to *prefix* or under ``prefix/``; return how many."""
        ...

    async def stats(self) -> StoreStats:
        """Return the store's size."""
        ...


def under(key: str, prefix: str) -> bool:
    """Whether *key* is *prefix* itself or below it (``prefix/...``); ``""`` matches all."""
    return not prefix or key == prefix or key.startswith(prefix.rstrip("/") + "/")


class MemoryStore:
    """A least-recently-used store bounded in entries and bytes.

    Args:
        max_entries: Most entries kept.
        max_bytes: Most bytes kept (a value larger than this is not stored).

    .. versionadded:: 0.1.0
    """

    def __init__(self, *, max_entries: int = 256, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._data: OrderedDict[str, bytes] = OrderedDict()
        self._bytes = 0

    async def get(self, key: str) -> bytes | None:
        """Return the value and mark it recently used."""
        value = self._data.get(key)
        if value is not None:
            self._data.move_to_end(key)
        return value

    async def put(self, key: str, value: bytes) -> bool:
        """Store the value, evicting the least recently used entries past the bounds."""
        if len(value) > self.max_bytes:
            return False
        old = self._data.pop(key, None)
        if old is not None:
            self._bytes -= len(old)
        self._data[key] = value
        self._bytes += len(value)
        while len(self._data) > self.max_entries or self._bytes > self.max_bytes:
            _, evicted = self._data.popitem(last=False)
            self._bytes -= len(evicted)
        return True

    async def delete(self, prefix: str) -> int:
        """Delete the matching keys."""
        doomed = [k for k in self._data if under(k, prefix)]
        for k in doomed:
            self._bytes -= len(self._data.pop(k))
        return len(doomed)

    async def stats(self) -> StoreStats:
        """Return entries and bytes."""
        return StoreStats(len(self._data), self._bytes)
