"""The cache: a small async store protocol, memory and disk stores, and the docs cache."""

from ._cache import KINDS as KINDS
from ._cache import SCHEMA_VERSION as SCHEMA_VERSION
from ._cache import Cached as Cached
from ._cache import CacheStats as CacheStats
from ._cache import DocsCache as DocsCache
from ._cache import cache_key as cache_key
from ._disk import DiskStore as DiskStore
from ._store import CacheStore as CacheStore
from ._store import MemoryStore as MemoryStore
from ._store import StoreStats as StoreStats

__all__ = [
    "KINDS",
    "SCHEMA_VERSION",
    "CacheStats",
    "CacheStore",
    "Cached",
    "DiskStore",
    "DocsCache",
    "MemoryStore",
    "StoreStats",
    "cache_key",
]
