"""The shared tier's form of a cache entry: compact, self-checking, kept locally as stored."""

from __future__ import annotations

import zlib
from typing import Any

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from autodocs_core.cache import DocsCache, MemoryStore
from autodocs_core.pypi._parse import project_from_json
from autodocs_core.testing import FakeClock

A = "https://public.example/"


def project(projects: dict[str, Any]) -> Any:
    return project_from_json("attrs", projects["attrs"], url=A)


@pytest.mark.anyio
async def test_round_trip_keeps_the_stored_at_time_and_fills_both_local_levels(
    projects: dict[str, Any],
) -> None:
    """A shared value adopted by another replica ages from the writer's time, on disk too."""
    writer = DocsCache(None, clock=FakeClock(wall_start=1_000.0), index_url=A)
    persisted, data = await writer.put_shared("project", "attrs", None, project(projects))
    assert persisted is False  # memory only
    assert DocsCache.shared_stored_at(data) == 1_000.0
    assert len(data) < len(zlib.decompress(data[12:])) / 3  # compact
    store = MemoryStore()
    reader = DocsCache(store, clock=FakeClock(wall_start=1_500.0), index_url=A)
    got = await reader.adopt("project", "attrs", None, data)
    assert got is not None and got.value == project(projects) and got.age == 500.0
    assert (reader.shared_hits, reader.shared_corrupt) == (1, 0)
    again = DocsCache(store, clock=FakeClock(wall_start=1_500.0), index_url=A)
    on_disk = await again.get_project("attrs")
    assert on_disk is not None and on_disk.stored_at == 1_000.0


@pytest.mark.anyio
async def test_a_value_for_another_key_or_index_is_a_miss(projects: dict[str, Any]) -> None:
    """The entry names its key: read under another name or index, it is refused and counted."""
    writer = DocsCache(None, index_url=A)
    _, data = await writer.put_shared("project", "attrs", None, project(projects))
    assert await DocsCache(None, index_url=A).adopt("project", "other", None, data) is None
    other_index = DocsCache(None, index_url="https://private.example/")
    assert await other_index.adopt("project", "attrs", None, data) is None
    assert other_index.shared_corrupt == 1


def test_shared_keys_carry_the_cache_schema_kind_name_and_canonical_version() -> None:
    """``2.0`` and ``2.0.0`` share a key; a version list has none."""
    assert DocsCache.shared_key("docs", "attrs", "2.0") == "c2/docs/attrs/2"
    assert DocsCache.shared_key("docs", "attrs", "2.0.0") == "c2/docs/attrs/2"
    assert DocsCache.shared_key("project", "attrs") == "c2/project/attrs"


@given(data=st.binary(max_size=300), head=st.booleans())
def test_any_bytes_adopt_to_a_value_or_a_counted_miss(data: bytes, head: bool) -> None:
    """Whatever the shared layer returns (with or without a good head), adopt never raises."""

    async def main() -> None:
        cache = DocsCache(None, index_url=A)
        raw = (b"ADc2" + bytes(8) + data) if head else data
        assert await cache.adopt("docs", "attrs", "1.0", raw) is None
        assert cache.shared_corrupt == 1

    anyio.run(main)


def test_a_bomb_is_refused_without_inflating_it() -> None:
    """A small value that would inflate past the cap is a miss."""
    bomb = b"ADc2" + bytes(8) + zlib.compress(b"\0" * (80 * 1024 * 1024), 9)

    async def main() -> None:
        cache = DocsCache(None, index_url=A)
        assert await cache.adopt("docs", "attrs", "1.0", bomb) is None

    anyio.run(main)
