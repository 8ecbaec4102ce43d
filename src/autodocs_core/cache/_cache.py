"""The documentation cache: a memory LRU before a store, keyed by index, kind, name and version.

- Documentation of a released version never changes: cached without expiry (bounded by size).
- A project's version list (what "latest" or ">=2" resolves to) is fresh for ``versions_ttl``;
  older copies are still returned (marked by their age) so callers can serve them stale when the
  index cannot be reached.
- Every entry records its key and the cache schema; a foreign or outdated entry is a miss.
- Keys are made in one place, :func:`cache_key`: the schema version, a hash of the index URL
  (credentials and trailing slash removed), the content kind, the name and the version. What
  was fetched from one index is never served for another (a private index shadowing a public
  name is the case that matters). A new kind is one line in :data:`KINDS`.
- A stored-at time in the future (a writer with a wrong clock, a planted entry) counts as
  stored now at the latest: such an entry ages like any other instead of staying fresh.
- The shared tier (a fleet's Redis, see ``docs/scale-out.md``) holds the same entries, made
  compact (:meth:`DocsCache.put_shared`); a value read from it is checked like a disk entry and
  kept in memory and on disk with its original stored-at (:meth:`DocsCache.adopt`). When to
  ask the shared tier is :class:`~autodocs_core.lookup.Lookup`'s business, not the cache's.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import struct
import urllib.parse
import zlib
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, TypeVar

import attrs
from packaging.utils import canonicalize_version

from .._serde import structure, unstructure
from ..apiref import ApiIndex, decode_index, encode_index
from ..docs import PackageDocs
from ..errors import AutodocsError
from ..pypi import DEFAULT_INDEX_URL, ProjectIndex, normalize_index_url
from ..resilience import SYSTEM_CLOCK, Clock
from ._store import CacheStore, StoreStats, under

__all__ = ["KINDS", "SCHEMA_VERSION", "CacheStats", "Cached", "DocsCache", "cache_key"]

SCHEMA_VERSION = 2
"""Bumped whenever the cached value formats or keys change; older entries become misses.

2: keys carry the index and the content kind (0.2.0).
"""

_SHARED_MAGIC = b"ADc%d" % SCHEMA_VERSION
_SHARED_HEAD = struct.Struct(">4sd")  # magic, stored-at (wall clock): readable without inflating
_SHARED_MAX_INFLATED = 64 * 1024 * 1024  # a shared value never inflates beyond this

KINDS: dict[str, tuple[type[Any], bool]] = {
    "docs": (PackageDocs, True),
    "project": (ProjectIndex, False),
    "apiref": (ApiIndex, True),
}
"""Content kind -> (value class, whether entries are per version). One line per kind."""

T = TypeVar("T")


def _encode(value: Any) -> Any:
    """The JSON form of a cached value; API references are stored compressed.

    An API index is large and repetitive (signatures, docstrings): its compact form
    (:func:`~autodocs_core.apiref.encode_index`, gzip'd JSON) is about a tenth of the plain one.
    """
    if isinstance(value, ApiIndex):
        return {"gz": base64.b64encode(encode_index(value)).decode("ascii")}
    return unstructure(value)


def _decode(data: Any, cls: type[T]) -> T:
    if cls is ApiIndex:
        if not isinstance(data, dict) or not isinstance(data.get("gz"), str):
            raise ValueError("not a compressed API index")
        index: T = decode_index(base64.b64decode(data["gz"], validate=True))  # type: ignore[assignment]
        return index
    return structure(data, cls)


@attrs.frozen
class Cached:
    """A value read from the cache, with its age.

    Attributes:
        value: The cached object.
        stored_at: Wall-clock time it was stored.
        age: Seconds since then.
    """

    value: Any
    stored_at: float
    age: float


@attrs.frozen
class CacheStats:
    """What the cache holds and how well it works.

    Attributes:
        entries: Entries in the persistent store.
        bytes: Their total size.
        memory_entries: Entries in the memory level.
        hits: Lookups answered from the cache.
        misses: Lookups that were not.
        hit_rate: ``hits / (hits + misses)`` (0.0 before any lookup).
        oldest_age: Age in seconds of the oldest persistent entry, when known.
        degraded: Why the persistent level is not working (``None`` when it is).
        memory_only: Whether there is no persistent level at all.
    """

    entries: int
    bytes: int
    memory_entries: int
    hits: int
    misses: int
    hit_rate: float
    oldest_age: float | None
    degraded: str | None
    memory_only: bool


def index_id(index_url: str) -> str:
    """Return the short stable id of an index in cache keys (credentials do not count).

    .. versionadded:: 0.2.0
    """
    try:
        normal = normalize_index_url(index_url)
    except AutodocsError:
        normal = index_url.strip().rstrip("/")
    return hashlib.sha256(normal.encode()).hexdigest()[:16]


def cache_key(index_url: str, kind: str, name: str, version: str | None = None) -> str:
    """Return the key of one cache entry: the only place keys are made.

    Args:
        index_url: The index the content came from.
        kind: A content kind of :data:`KINDS`.
        name: The normalised package name.
        version: The version, for per-version kinds (PEP 440 spellings of one version, such as
            ``2.0`` and ``2.0.0``, share a key).

    Raises:
        ValueError: An unknown kind, or a version missing or given where it does not belong.

    .. versionadded:: 0.2.0
    """
    if kind not in KINDS:
        raise ValueError(f"unknown cache kind {kind!r}")
    per_version = KINDS[kind][1]
    if per_version != (version is not None):
        raise ValueError(f"cache kind {kind!r} {'needs' if per_version else 'takes no'} version")
    key = f"v{SCHEMA_VERSION}/{index_id(index_url)}/{kind}/{name}"
    if version is not None:
        canonical = str(canonicalize_version(version))
        key += "/" + urllib.parse.quote(canonical, safe="")
    return key


class DocsCache:
    """Two-level cache of package documentation and version lists.

    The memory level holds decoded objects (a warm hit costs no parsing), bounded in entries
    and in the serialised bytes they came from.

    Args:
        store: The persistent level (e.g. :class:`DiskStore`), or ``None`` for memory only.
        memory_entries: Most objects kept in memory.
        memory_bytes: Most (serialised) bytes kept in memory.
        clock: Time source (wall clock for ages).
        versions_ttl: Seconds a version list stays fresh.
        index_url: The index the cached content comes from (part of every key).

    Attributes:
        shared_hits: Entries taken from a fleet's shared tier (:meth:`adopt`).
        shared_corrupt: Shared-tier values that did not decode (each one a miss).

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       *index_url*: entries from another index are misses.
    """

    def __init__(
        self,
        store: CacheStore | None,
        *,
        memory_entries: int = 256,
        memory_bytes: int = 64 * 1024 * 1024,
        clock: Clock = SYSTEM_CLOCK,
        versions_ttl: float = 3600.0,
        index_url: str = DEFAULT_INDEX_URL,
        stores: Mapping[str, CacheStore] | None = None,
    ) -> None:
        self.store = store
        self.stores = dict(stores or {})
        self.index_url = index_url
        self.memory_entries = memory_entries
        self.memory_bytes = memory_bytes
        self._objects: OrderedDict[str, tuple[Any, float, int]] = OrderedDict()
        self._object_bytes = 0
        self.clock = clock
        self.versions_ttl = versions_ttl
        self.hits = 0
        self.misses = 0
        self.shared_hits = 0
        self.shared_corrupt = 0

    def _remember(self, key: str, value: Any, stored_at: float, size: int) -> None:
        self._forget(key)
        if size > self.memory_bytes:
            return
        self._objects[key] = (value, stored_at, size)
        self._object_bytes += size
        while len(self._objects) > self.memory_entries or self._object_bytes > self.memory_bytes:
            _, (_, _, dropped) = self._objects.popitem(last=False)
            self._object_bytes -= dropped

    def _forget(self, key: str) -> None:
        old = self._objects.pop(key, None)
        if old is not None:
            self._object_bytes -= old[2]

    def _cached(self, value: Any, stored_at: float) -> Cached:
        now = self.clock.wall()
        # A stored-at time in the future is clamped to now: the entry then ages normally.
        stored_at = min(stored_at, now)
        return Cached(value, stored_at, now - stored_at)

    def _store_for(self, kind: str) -> CacheStore | None:
        return self.stores.get(kind, self.store)

    async def _get(self, key: str, cls: type[T], kind: str) -> Cached | None:
        held = self._objects.get(key)
        if held is not None:
            self._objects.move_to_end(key)
            return self._cached(held[0], held[1])
        store = self._store_for(kind)
        if store is None:
            return None
        raw = await store.get(key)
        if raw is None:
            return None
        parsed = self._parse(raw, key, cls)
        if parsed is None:
            await store.delete(key)
            return None
        value, stored_at = parsed
        self._remember(key, value, stored_at, len(raw))
        return self._cached(value, stored_at)

    def _parse(self, raw: bytes, key: str, cls: type[T]) -> tuple[T, float] | None:
        """Decode one stored entry of *key*; ``None`` when it is foreign, outdated or corrupt."""
        try:
            entry = json.loads(raw)
            if entry.get("schema") != SCHEMA_VERSION or entry.get("key") != key:
                raise ValueError("foreign entry")
            value = _decode(entry["value"], cls)
            stored_at = float(entry["stored_at"])
            if not math.isfinite(stored_at):
                raise ValueError("stored_at is not a time")
        except (
            ValueError,
            KeyError,
            TypeError,
            AttributeError,
            RecursionError,
            binascii.Error,
            AutodocsError,
        ):
            return None
        return value, min(stored_at, self.clock.wall())  # see _cached

    async def _persist(self, kind: str, key: str, raw: bytes, *, soon: bool) -> bool:
        """Write *raw* to *kind*'s persistent level; with *soon*, behind the answer if it can."""
        store = self._store_for(kind)
        if store is None:
            return False
        put_soon = getattr(store, "put_soon", None)  # a DiskStore: one writer thread
        if soon and put_soon is not None and put_soon(key, raw):
            return getattr(store, "degraded", None) is None
        return await store.put(key, raw)

    async def flush(self) -> None:
        """Wait for the persistent levels' queued writes (see ``DiskStore.put_soon``).

        .. versionadded:: 0.2.0
        """
        for store in {id(s): s for s in (self.store, *self.stores.values()) if s}.values():
            flush = getattr(store, "flush", None)
            if flush is not None:
                await flush()

    async def _put(
        self, key: str, value: Any, kind: str, *, soon: bool = False
    ) -> tuple[bool, bytes, float]:
        stored_at = self.clock.wall()
        raw = json.dumps(
            {
                "schema": SCHEMA_VERSION,
                "key": key,
                "stored_at": stored_at,
                "value": _encode(value),
            },
            separators=(",", ":"),
        ).encode()
        self._remember(key, value, stored_at, len(raw))
        return await self._persist(kind, key, raw, soon=soon), raw, stored_at

    def _count(self, found: Cached | None) -> Cached | None:
        if found is None:
            self.misses += 1
        else:
            self.hits += 1
        return found

    def key(self, kind: str, name: str, version: str | None = None) -> str:
        """Return the key of *kind* content of *name* (*version*) from this cache's index."""
        return cache_key(self.index_url, kind, name, version)

    async def get(self, kind: str, name: str, version: str | None = None) -> Cached | None:
        """Return the cached *kind* content of *name* (*version*), or ``None``.

        .. versionadded:: 0.2.0
        """
        return self._count(await self._get(self.key(kind, name, version), KINDS[kind][0], kind))

    async def put(
        self, kind: str, name: str, version: str | None, value: Any, *, soon: bool = False
    ) -> bool:
        """Store *kind* content; ``False`` when only the memory level took it.

        With *soon*, the file is written behind the answer where the store can (content that
        is safe elsewhere, e.g. derived from a fleet's shared tier).

        .. versionadded:: 0.2.0
        """
        return (await self._put(self.key(kind, name, version), value, kind, soon=soon))[0]

    # -- the shared tier's form of an entry ------------------------------------------------

    @staticmethod
    def shared_key(kind: str, name: str, version: str | None = None) -> str:
        """Return the key of *kind* content of *name* (*version*) in a fleet's shared tier.

        ``c<SCHEMA_VERSION>/<kind>/<name>[/<canonical version>]``; the shared state adds its own
        schema and index namespace (``autodocs:v1:<index hash>:v:``) in front.

        .. versionadded:: 0.2.0
        """
        key = f"c{SCHEMA_VERSION}/{kind}/{name}"
        if version is not None:
            key += "/" + str(canonicalize_version(version))
        return key

    async def put_shared(
        self, kind: str, name: str, version: str | None, value: Any, *, soon: bool = False
    ) -> tuple[bool, bytes]:
        """Store *kind* content like :meth:`put` and also return its shared-tier form.

        The shared form is the stored entry, deflated (zlib), after a 12-byte head: a magic
        naming the cache schema and the stored-at time (so freshness is read without
        inflating).

        With *soon*, the file is written behind the answer (for a value derived from content
        stored already, such as the latest documentation built from its version list).

        Returns:
            ``(whether the persistent level took it, the shared form)``.

        .. versionadded:: 0.2.0
        """
        key = self.key(kind, name, version)
        persisted, raw, stored_at = await self._put(key, value, kind, soon=soon)
        return persisted, _SHARED_HEAD.pack(_SHARED_MAGIC, stored_at) + zlib.compress(raw, 6)

    @staticmethod
    def shared_stored_at(data: bytes) -> float | None:
        """Return the stored-at time in the head of a shared-tier value, ``None`` if it has none.

        .. versionadded:: 0.2.0
        """
        if len(data) < _SHARED_HEAD.size:
            return None
        magic, stored_at = _SHARED_HEAD.unpack_from(data)
        if magic != _SHARED_MAGIC or not math.isfinite(stored_at):
            return None
        return float(stored_at)

    async def adopt(self, kind: str, name: str, version: str | None, data: bytes) -> Cached | None:
        """Decode a shared-tier value and keep it here, in memory and on disk, as it was stored.

        The entry keeps its original stored-at time, so a version list ages the same on
        every replica. A value that does not decode to this key's entry is a miss, counted
        in :attr:`shared_corrupt`; nothing raises.

        .. versionadded:: 0.2.0
        """
        key = self.key(kind, name, version)
        parsed, raw = None, b""
        if self.shared_stored_at(data) is not None:
            try:
                inflater = zlib.decompressobj()
                raw = inflater.decompress(data[_SHARED_HEAD.size :], _SHARED_MAX_INFLATED)
                if inflater.unconsumed_tail or not inflater.eof:
                    raise ValueError("truncated or too large")
                parsed = self._parse(raw, key, KINDS[kind][0])
            except (zlib.error, ValueError):
                parsed = None
        if parsed is None:
            self.shared_corrupt += 1
            return None
        value, stored_at = parsed
        self.shared_hits += 1
        self._remember(key, value, stored_at, len(raw))
        # Safe in the shared tier already: the file is written behind the answer.
        await self._persist(kind, key, raw, soon=True)
        return self._cached(value, stored_at)

    async def get_docs(self, name: str, version: str) -> Cached | None:
        """Return the cached documentation of *name* *version* (never expires)."""
        return await self.get("docs", name, version)

    async def put_docs(self, docs: PackageDocs) -> bool:
        """Store documentation; ``False`` when only the memory level took it."""
        return await self.put("docs", docs.name, docs.version, docs)

    async def get_project(self, name: str) -> Cached | None:
        """Return the cached version list of *name*, fresh or not (check ``is_fresh``)."""
        return await self.get("project", name)

    def is_fresh(self, cached: Cached) -> bool:
        """Whether a cached version list is younger than ``versions_ttl``."""
        return 0.0 <= cached.age < self.versions_ttl

    async def put_project(self, project: ProjectIndex) -> bool:
        """Store a version list."""
        return await self.put("project", project.name, None, project)

    async def refresh(self, name: str | None = None) -> int:
        """Drop everything cached for *name* (all versions, every kind), or everything.

        Returns:
            How many entries were dropped.
        """
        if name is None:  # everything, in every store
            targets = [("", store) for store in self._distinct_stores()]
        else:
            index = index_id(self.index_url)
            targets = [
                (f"v{SCHEMA_VERSION}/{index}/{kind}/{name}", self._store_for(kind))
                for kind in KINDS
            ]
        count = 0
        for prefix, store in targets:
            doomed = [k for k in self._objects if under(k, prefix)]
            for key in doomed:
                self._forget(key)
            dropped = len(doomed)
            if store is not None:
                dropped = max(dropped, await store.delete(prefix))
            count += dropped
        return count

    def _distinct_stores(self) -> list[CacheStore | None]:
        found: dict[int, CacheStore | None] = {id(self.store): self.store}
        for store in self.stores.values():
            found.setdefault(id(store), store)
        return list(found.values())

    async def stats(self) -> CacheStats:
        """Return entries, bytes, hit rate, oldest entry and health of the cache."""
        memory = StoreStats(len(self._objects), self._object_bytes)
        persistent = await self.store.stats() if self.store is not None else memory
        for extra in self._distinct_stores()[1:]:  # per-kind stores (API references)
            if extra is None:
                continue
            more = await extra.stats()
            persistent = StoreStats(
                entries=persistent.entries + more.entries,
                bytes=persistent.bytes + more.bytes,
                degraded=persistent.degraded or more.degraded,
                oldest=min(
                    (t for t in (persistent.oldest, more.oldest) if t is not None), default=None
                ),
            )
        total = self.hits + self.misses
        oldest = persistent.oldest
        return CacheStats(
            entries=persistent.entries,
            bytes=persistent.bytes,
            memory_entries=memory.entries,
            hits=self.hits,
            misses=self.misses,
            hit_rate=self.hits / total if total else 0.0,
            oldest_age=max(0.0, self.clock.wall() - oldest) if oldest is not None else None,
            degraded=persistent.degraded,
            memory_only=self.store is None,
        )
