"""Files written behind the answer (``DiskStore.put_soon``): bounded, flushed, failures seen."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from autodocs_core.cache import DiskStore, DocsCache
from autodocs_core.cache._disk import MAX_PENDING_WRITES
from autodocs_core.pypi._parse import project_from_json
from autodocs_core.testing import FakeClock

pytestmark = pytest.mark.anyio

A = "https://public.example/"


async def test_put_soon_returns_at_once_and_flush_makes_it_readable(tmp_path: Path) -> None:
    store = DiskStore(tmp_path)
    gate = threading.Event()
    write = store._write

    def slow_write(key: str, value: bytes) -> bool:
        gate.wait(10)
        return write(key, value)

    store._write = slow_write  # type: ignore[method-assign]
    assert store.put_soon("k/one", b"value")
    assert store.pending_writes() == 1
    assert await store.get("k/one") is None  # not written yet: the caller did not wait
    gate.set()
    await store.flush()
    assert store.pending_writes() == 0
    assert await store.get("k/one") == b"value"


async def test_the_queue_is_bounded(tmp_path: Path) -> None:
    """Beyond MAX_PENDING_WRITES nothing is queued: the caller is told to write itself."""
    store = DiskStore(tmp_path)
    gate = threading.Event()
    write = store._write
    store._write = lambda k, v: gate.wait(10) and write(k, v)  # type: ignore[method-assign]
    queued = [store.put_soon(f"k/{i}", b"x") for i in range(MAX_PENDING_WRITES + 5)]
    assert queued == [True] * MAX_PENDING_WRITES + [False] * 5
    gate.set()
    await store.flush()
    assert store.pending_writes() == 0
    assert store.put_soon("k/after", b"x")
    await store.flush()


async def test_a_failed_write_behind_shows_as_degraded(tmp_path: Path) -> None:
    (tmp_path / "k").write_text("a file where a directory must go")
    store = DiskStore(tmp_path)
    assert store.put_soon("k/one", b"value")
    await store.flush()
    assert store.degraded is not None and await store.get("k/one") is None


async def test_adopted_shared_values_are_written_behind(
    projects: dict[str, Any], tmp_path: Path
) -> None:
    """A value from the shared tier answers at once; its file follows, readable after flush."""
    writer = DocsCache(None, clock=FakeClock(wall_start=1_000.0), index_url=A)
    value = project_from_json("attrs", projects["attrs"], url=A)
    _, data = await writer.put_shared("project", "attrs", None, value)
    reader = DocsCache(DiskStore(tmp_path), clock=FakeClock(wall_start=1_100.0), index_url=A)
    assert (await reader.adopt("project", "attrs", None, data)) is not None
    await reader.flush()
    fresh = DocsCache(DiskStore(tmp_path), clock=FakeClock(wall_start=1_100.0), index_url=A)
    got = await fresh.get_project("attrs")
    assert got is not None and got.value == value and got.age == 100.0
