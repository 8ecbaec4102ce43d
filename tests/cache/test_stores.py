"""The cache stores: bounded memory LRU; disk entries atomic, checksummed, evicted, fail-soft."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autodocs_core.cache import DiskStore, MemoryStore

pytestmark = pytest.mark.anyio


@given(ops=st.lists(st.tuples(st.sampled_from("abcdef"), st.integers(0, 40)), max_size=60))
async def test_memory_store_stays_within_both_bounds(ops: list[tuple[str, int]]) -> None:
    """Entries and bytes never exceed the caps; the newest entry is always kept."""
    store = MemoryStore(max_entries=3, max_bytes=64)
    for key, size in ops:
        await store.put(key, b"x" * size)
        stats = await store.stats()
        assert stats.entries <= 3 and stats.bytes <= 64
        assert await store.get(key) == b"x" * size


async def test_disk_round_trip_and_prefix_delete(tmp_path: Path) -> None:
    """Values come back byte for byte; deleting a prefix removes just that subtree."""
    store = DiskStore(tmp_path)
    assert await store.put("v1/docs/attrs/25.4", b"one")
    assert await store.put("v1/docs/attrs-x/1", b"two")
    assert await store.put("v1/projects/attrs", b"three")
    assert await store.get("v1/docs/attrs/25.4") == b"one"
    assert await store.delete("v1/docs/attrs") == 1
    assert await store.get("v1/docs/attrs/25.4") is None
    assert await store.get("v1/docs/attrs-x/1") == b"two"
    stats = await store.stats()
    assert stats.entries == 2 and stats.oldest is not None and stats.degraded is None
    assert await store.delete("") == 2


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[:-3],  # truncated
        lambda data: data.replace(b"payload", b"PAYLOAD"),  # bit rot: checksum differs
        lambda data: b"garbage\n" + data,  # not our header
        lambda data: data.replace(b'"key":"k/a"', b'"key":"k/b"'),  # another key's entry
    ],
    ids=["truncated", "checksum", "header", "foreign-key"],
)
async def test_corrupt_entry_is_a_miss_and_is_removed(tmp_path: Path, damage: object) -> None:
    """A damaged or foreign entry is never returned; it is deleted."""
    store = DiskStore(tmp_path)
    await store.put("k/a", b"payload")
    path = tmp_path / "k" / "a.entry"
    path.write_bytes(damage(path.read_bytes()))  # type: ignore[operator]
    assert await store.get("k/a") is None
    assert not path.exists()


async def test_eviction_past_the_byte_cap_drops_least_recently_used(tmp_path: Path) -> None:
    """Past max_bytes, the least recently used entries go; the total stays under the cap."""
    store = DiskStore(tmp_path, max_bytes=100_000)
    for i in range(5):
        await store.put(f"k/{i}", b"x" * 600)
        os.utime(tmp_path / "k" / f"{i}.entry", (1000 + i, 1000 + i))
    await store.get("k/0")  # recently used again
    store.max_bytes = 2500
    await store.put("k/5", b"x" * 600)
    stats = await store.stats()
    assert stats.bytes <= 2500
    assert await store.get("k/0") is not None and await store.get("k/1") is None


async def test_unwritable_directory_degrades_softly(tmp_path: Path) -> None:
    """A cache 'directory' that cannot exist: writes fail soft and stats say why."""
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    store = DiskStore(blocker / "cache")
    assert await store.put("k/a", b"x") is False
    assert await store.get("k/a") is None
    assert (await store.stats()).degraded is not None


async def test_disk_full_leaves_nothing_partial(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ENOSPC during the write: put reports failure and no temporary file is left behind."""
    store = DiskStore(tmp_path)

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    assert await store.put("k/a", b"x" * 100) is False
    monkeypatch.undo()
    assert (await store.stats()).entries == 0
    assert not any(name.startswith(".tmp-") for _, _, names in os.walk(tmp_path) for name in names)
    assert "space" in ((await store.stats()).degraded or "")
    assert await store.put("k/a", b"ok")
    assert (await store.stats()).degraded is None


@pytest.mark.parametrize("key", ["../escape", "a/../../b", "/abs", "sp ace", ""])
async def test_unsafe_keys_are_refused(tmp_path: Path, key: str) -> None:
    """Keys cannot leave the cache directory."""
    with pytest.raises(ValueError):
        await DiskStore(tmp_path).put(key, b"x")


WRITER = """
import sys, anyio
from autodocs_core.cache import DiskStore
async def main():
    store = DiskStore(sys.argv[1])
    for i in range(200):
        await store.put("shared/entry", (sys.argv[2] * 5000).encode())
        value = await store.get("shared/entry")
        assert value is None or value in (b"a" * 5000, b"b" * 5000), "torn entry"
anyio.run(main)
"""


def test_two_processes_writing_one_entry_never_see_a_torn_one(tmp_path: Path) -> None:
    """Two server processes sharing a cache directory: every read is one whole value."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(tmp_path), letter], stderr=subprocess.PIPE, text=True
        )
        for letter in "ab"
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    leftovers = [p for p in tmp_path.rglob(".tmp-*")]
    assert leftovers == []


async def test_vanished_directory_is_recreated(tmp_path: Path) -> None:
    """The cache directory deleted under a running server: the next write recreates it."""
    import shutil

    root = tmp_path / "cache"
    store = DiskStore(root)
    assert await store.put("k/a", b"one")
    shutil.rmtree(root)
    assert await store.get("k/a") is None
    assert await store.put("k/a", b"two")
    assert await store.get("k/a") == b"two"
