"""Hostile or foreign cache contents: keyed per index, never a hang, never an unbounded read."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from autodocs_core.cache import KINDS, SCHEMA_VERSION, DiskStore, DocsCache, MemoryStore, cache_key
from autodocs_core.config import Settings
from autodocs_core.pypi._parse import project_from_json
from autodocs_core.service import DocsService
from autodocs_core.testing import FakeClock, FaultIndex

A = "https://public.example/"
B = "https://private.example/simple"


def finishes(fn: Callable[[], object], seconds: float = 10.0) -> object:
    """Run *fn* in a daemon thread; fail (instead of hanging the suite) if it does not return."""
    out: list[object] = []
    thread = threading.Thread(target=lambda: out.append(fn()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "the call hung"
    return out[0] if out else None


def run(fn: Callable[..., Any], *args: Any) -> Any:
    return finishes(lambda: anyio.run(fn, *args))


# -- class 3: one index's content is never served for another ----------------------------------


@pytest.mark.anyio
async def test_content_from_index_a_is_a_miss_for_index_b(projects: dict[str, Any]) -> None:
    """Same store, same name: a cache pointed at another index does not see the entry."""
    store = MemoryStore()
    project = project_from_json("attrs", projects["attrs"], url=A)
    await DocsCache(store, index_url=A).put_project(project)
    assert await DocsCache(store, index_url=A).get_project("attrs") is not None
    assert await DocsCache(store, index_url=B).get_project("attrs") is None
    # credentials and a trailing slash do not make another index
    assert await DocsCache(store, index_url="https://u:p@public.example").get_project("attrs")


@pytest.mark.anyio
async def test_a_service_moved_to_another_index_asks_that_index(
    projects: dict[str, Any], tmp_path: Path
) -> None:
    """Documentation fetched from index A is not served once the service points at index B."""
    cache_dir = str(tmp_path / "cache")
    async with FaultIndex(projects) as a, FaultIndex(projects) as b:
        async with DocsService(Settings(index_url=a.url, cache_dir=cache_dir)) as svc:
            assert not (await svc.get_docs("attrs")).from_cache
        async with DocsService(Settings(index_url=b.url, cache_dir=cache_dir)) as svc:
            answer = await svc.get_docs("attrs")
        assert not answer.from_cache and b.count() > 0


@given(
    index=st.sampled_from([A, B, "https://h.example:8443/"]),
    kind=st.sampled_from(sorted(KINDS)),
    name=st.from_regex(r"\A[a-z][a-z0-9-]{0,15}\Z"),
    version=st.sampled_from(["1.0", "1.0.0", "2.0rc1", "2024.07.04"]),
)
def test_keys_carry_schema_index_kind_name_and_version(
    index: str, kind: str, name: str, version: str
) -> None:
    """One key per (index, kind, name, version); PEP 440 spellings of a version share one."""
    per_version = KINDS[kind][1]
    key = cache_key(index, kind, name, version if per_version else None)
    assert key.startswith(f"v{SCHEMA_VERSION}/") and f"/{kind}/{name}" in key
    other = cache_key("https://other.example", kind, name, version if per_version else None)
    assert other != key
    if per_version:
        assert cache_key(index, kind, name, "1.0") == cache_key(index, kind, name, "1")
    with pytest.raises(ValueError, match="version"):
        cache_key(index, kind, name, None if per_version else version)


def test_schema_was_bumped_for_the_new_keys() -> None:
    """Entries written under the old key scheme are not read (schema 2)."""
    assert SCHEMA_VERSION == 2
    with pytest.raises(ValueError, match="unknown cache kind"):
        cache_key(A, "nope", "x")


# -- class 6: hostile entries in a shared directory --------------------------------------------


def entry_path(root: Path, key: str) -> Path:
    path = root / (key + ".entry")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def test_a_symlink_to_a_fifo_is_a_miss_not_a_hang(tmp_path: Path) -> None:
    """get, stats, delete and eviction return at once over a symlinked FIFO (which is removed)."""
    store = DiskStore(tmp_path / "c")
    os.mkfifo(tmp_path / "fifo")
    entry_path(tmp_path / "c", "v2/x/docs/a/1").symlink_to(tmp_path / "fifo")
    entry_path(tmp_path / "c", "v2/x/docs/b/1").symlink_to(tmp_path / "fifo")
    assert run(store.get, "v2/x/docs/a/1") is None
    stats = run(store.stats)
    assert stats.entries == 0
    assert run(store.delete, "") == 0
    assert run(store.put, "v2/x/docs/c/1", b"ok") is True


def test_a_fifo_in_place_of_an_entry_is_a_miss(tmp_path: Path) -> None:
    """A FIFO (no symlink) named like an entry: opened non-blocking, refused, removed."""
    store = DiskStore(tmp_path)
    os.mkfifo(entry_path(tmp_path, "k"))
    assert run(store.get, "k") is None
    assert not entry_path(tmp_path, "k").exists()


def test_a_symlink_to_dev_zero_never_reads(tmp_path: Path) -> None:
    """An entry linking to /dev/zero is a miss (never followed, so never read until OOM)."""
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero")
    store = DiskStore(tmp_path)
    entry_path(tmp_path, "k").symlink_to("/dev/zero")
    assert run(store.get, "k") is None
    assert run(store.stats).entries == 0


def test_reads_are_capped(tmp_path: Path) -> None:
    """A regular entry file larger than max_entry_bytes is not read back (miss, removed)."""
    store = DiskStore(tmp_path, max_entry_bytes=1024)
    entry_path(tmp_path, "k").write_bytes(b'{"format":"x"}\n' + b"a" * 100_000)
    assert run(store.get, "k") is None
    assert not entry_path(tmp_path, "k").exists()


def test_temp_files_of_killed_writers_are_counted_then_cleaned(tmp_path: Path) -> None:
    """Leftover .tmp- files count in the byte budget; past their age limit they are removed."""
    now = [1_000_000.0]
    store = DiskStore(tmp_path, clock=lambda: now[0])
    fresh = tmp_path / ".tmp-fresh"
    old = tmp_path / "v2" / ".tmp-old"
    old.parent.mkdir()
    fresh.write_bytes(b"x" * 3000)
    old.write_bytes(b"y" * 5000)
    os.utime(fresh, (now[0] - 10, now[0] - 10))
    os.utime(old, (now[0] - 7200, now[0] - 7200))
    stats = run(store.stats)
    assert stats.bytes == 3000 and stats.entries == 0
    assert fresh.exists() and not old.exists()


def test_temp_files_push_entries_out_of_a_full_budget(tmp_path: Path) -> None:
    """The byte cap includes unfinished writes: an entry is evicted to make room for them."""
    now = time.time()
    (tmp_path / ".tmp-stuck").write_bytes(b"z" * 3500)  # a writer died before this start
    store = DiskStore(tmp_path, max_bytes=5000, clock=lambda: now)
    assert run(store.put, "a", b"a" * 1000)
    assert run(store.put, "b", b"b" * 1000)
    assert run(store.stats).bytes <= 5000
    assert run(store.get, "a") is None and run(store.get, "b") == b"b" * 1000


def test_future_times_do_not_make_the_oldest_entry_look_new(tmp_path: Path) -> None:
    """A header 'created' far in the future is clamped to now in stats."""
    now = 2_000_000_000.0
    writer = DiskStore(tmp_path, clock=lambda: now + 10 * 365 * 86400)
    assert run(writer.put, "k", b"v")
    reader = DiskStore(tmp_path, clock=lambda: now)
    oldest = run(reader.stats).oldest
    assert oldest is not None and oldest <= now


@pytest.mark.anyio
async def test_an_entry_stored_in_the_future_is_not_fresh_forever(
    projects: dict[str, Any],
) -> None:
    """A version list whose stored-at time is years ahead ages from now, and goes stale."""
    store = MemoryStore()
    project = project_from_json("attrs", projects["attrs"], url=A)
    future = FakeClock(wall_start=4_000_000_000.0)
    await DocsCache(store, clock=future, index_url=A).put_project(project)
    clock = FakeClock(wall_start=1_700_000_000.0)
    cache = DocsCache(store, clock=clock, index_url=A, versions_ttl=60.0)
    cached = await cache.get_project("attrs")
    assert cached is not None and cached.age == 0.0 and cache.is_fresh(cached)
    clock.advance(61.0)
    later = await cache.get_project("attrs")
    assert later is not None and not cache.is_fresh(later)


@pytest.mark.anyio
async def test_deeply_nested_cache_values_are_misses() -> None:
    """An entry of deeply nested JSON (RecursionError) is a miss, removed, not a crash."""
    store = MemoryStore()
    key = cache_key(A, "project", "attrs")
    await store.put(key, b"[" * 100_000 + b"]" * 100_000)
    assert await DocsCache(store, index_url=A).get_project("attrs") is None
    raw = json.dumps({"schema": SCHEMA_VERSION, "key": key, "stored_at": "nan", "value": {}})
    await store.put(key, raw.encode())
    assert await DocsCache(store, index_url=A).get_project("attrs") is None


def test_writes_never_follow_a_planted_directory_symlink_outside(tmp_path: Path) -> None:
    """A key directory replaced by a symlink to elsewhere: the write fails soft, nothing lands."""
    cache, outside = tmp_path / "cache", tmp_path / "outside"
    cache.mkdir()
    outside.mkdir()
    (cache / "v2").symlink_to(outside, target_is_directory=True)
    store = DiskStore(cache)
    assert run(store.put, "v2/x/docs/a/1", b"value") is False
    assert list(outside.rglob("*")) == []
    assert run(store.stats).degraded is not None
