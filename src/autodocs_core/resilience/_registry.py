"""A bounded, keyed registry of per-upstream objects (breakers, budgets)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

__all__ = ["Registry"]

V = TypeVar("V")


class Registry(Generic[V]):
    """Creates one object per key on first use and keeps at most *max_size* of them.

    Keys are upstream hosts, so the bound matters only against unbounded input: when it is
    reached, the least recently used entry is dropped.

    Args:
        factory: Builds the object for a new key.
        max_size: Most entries kept.

    .. versionadded:: 0.1.0
    """

    __slots__ = ("_entries", "_factory", "max_size")

    def __init__(self, factory: Callable[[str], V], *, max_size: int = 256) -> None:
        if max_size < 1:
            raise ValueError(f"max_size must be >= 1, got {max_size!r}")
        self._factory = factory
        self._entries: OrderedDict[str, V] = OrderedDict()
        self.max_size = max_size

    def get(self, key: str) -> V:
        """Return the object for *key*, creating it when needed."""
        entries = self._entries
        found = entries.get(key)
        if found is not None:
            entries.move_to_end(key)
            return found
        created = entries[key] = self._factory(key)
        if len(entries) > self.max_size:
            entries.popitem(last=False)
        return created

    def items(self) -> Iterator[tuple[str, V]]:
        """Iterate over ``(key, object)`` pairs, least recently used first."""
        return iter(list(self._entries.items()))

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries
