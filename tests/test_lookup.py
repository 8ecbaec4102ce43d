"""The seams of the service: Lookup on its own, build_parts, observability from narrow inputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from autodocs_core.cache import DocsCache
from autodocs_core.config import Settings
from autodocs_core.errors import CacheError
from autodocs_core.lookup import Lookup, split_extras, split_requirement
from autodocs_core.observability import ServiceMetrics, check_readiness
from autodocs_core.service import ServiceParts, build_parts
from autodocs_core.testing import FakeClock, FaultIndex

NAMES = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,20}", fullmatch=True)
EXTRAS = st.lists(st.from_regex(r"[a-z][a-z0-9_-]{0,8}", fullmatch=True), max_size=4)


@given(name=NAMES, extras=EXTRAS)
def test_split_extras_returns_the_name_and_each_extra(name: str, extras: list[str]) -> None:
    """`name[a,b]` splits into the name and (a, b); a bare name has no extras."""
    assert split_extras(name) == (name, ())
    assert split_extras(f"{name}[{', '.join(extras)}]") == (name, tuple(extras))


@given(text=st.text(max_size=60))
def test_split_extras_is_total(text: str) -> None:
    """Any text splits without raising; the name part never holds a bracket."""
    base, extras = split_extras(text)
    assert "[" not in base and all(e and "," not in e for e in extras)


PEP508_NAMES = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9._-]{0,18}[A-Za-z0-9])?", fullmatch=True)
SPECS = st.sampled_from(["", ">=0.27", "==1.2.3", "<2,>=1", "~=3.1", "!=1.0"])


@given(name=PEP508_NAMES, spec=SPECS)
def test_split_requirement_returns_the_name_and_the_constraint(name: str, spec: str) -> None:
    """`name>=1` splits into the name and `>=1`; a bare name has no constraint (latest)."""
    got_name, got_spec = split_requirement(f"{name}{spec}")
    assert got_name == name
    if spec:
        assert got_spec is not None and set(got_spec.split(",")) == set(spec.split(","))
    else:
        assert got_spec is None
    assert split_requirement(f"{name}[extra]{spec}")[0] == name


@given(text=st.text(max_size=60))
def test_split_requirement_is_total(text: str) -> None:
    """Any text splits without raising; the name is always part of what was given."""
    name, spec = split_requirement(text)
    assert name in text and (spec is None or spec)


def test_build_parts_wires_one_set_of_objects_from_settings(tmp_path: Path) -> None:
    """The factory shares one client chain: lookup -> index -> http, and api -> index."""
    settings = Settings(cache_dir=str(tmp_path), deadline=7.0, offline=True)
    parts = build_parts(settings, store=None, clock=FakeClock())
    assert isinstance(parts, ServiceParts)
    assert parts.index.http is parts.http and parts.api.index is parts.index
    assert (parts.lookup.cache, parts.lookup.index, parts.lookup.api) == (
        parts.cache,
        parts.index,
        parts.api,
    )
    assert (parts.lookup.deadline_seconds, parts.lookup.offline) == (7.0, True)
    assert parts.cache.store is None
    assert parts.index.metadata_fallback == parts.api.read_metadata


@pytest.mark.anyio
async def test_concurrent_lookups_share_one_read_and_one_fetch(
    projects: dict[str, Any], tmp_path: Path
) -> None:
    """Ten concurrent finds of one package read its cached version list once and fetch it once."""
    async with FaultIndex(projects) as index:
        parts = build_parts(Settings(index_url=index.url), store=None, clock=FakeClock())
        reads: list[str] = []
        read_project = parts.cache.get_project

        async def counting_read(name: str) -> Any:
            reads.append(name)
            return await read_project(name)

        parts.cache.get_project = counting_read  # type: ignore[method-assign]
        async with parts.http:
            found: list[str] = []

            async def find() -> None:
                found.append((await parts.lookup.find("Trio", None)).docs.name)

            async with anyio.create_task_group() as tg:
                for _ in range(10):
                    tg.start_soon(find)
        assert found == ["trio"] * 10
        assert reads == ["trio"]  # the single flight: one cache read for ten callers
        assert index.paths() == {"/pypi/trio/json": 1}


@pytest.mark.anyio
async def test_offline_lookup_of_an_uncached_package_is_a_cache_error() -> None:
    """Offline, a miss raises CacheError naming AUTODOCS_OFFLINE, with no request made."""
    parts = build_parts(Settings(offline=True), store=None, clock=FakeClock())
    lookup = Lookup(cache=parts.cache, index=parts.index, api=parts.api, offline=True)
    with pytest.raises(CacheError, match="AUTODOCS_OFFLINE") as info:
        await lookup.find("attrs", ">=1")
    assert info.value.details["offline"] is True


@pytest.mark.anyio
async def test_readiness_from_narrow_inputs() -> None:
    """check_readiness needs only settings, a cache and the shutting-down flag."""
    cache = DocsCache(None)
    assert (await check_readiness(settings=Settings(), cache=cache)).ready
    draining = await check_readiness(settings=Settings(), cache=cache, shutting_down=True)
    assert (draining.ready, draining.reasons) == (False, ("shutting down",))


def test_metrics_take_the_cache_and_the_index_separately() -> None:
    """A snapshot with only a cache has cache figures and no breakers; the text renders."""
    metrics = ServiceMetrics()
    cache = DocsCache(None)
    cache.hits, cache.misses = 3, 1
    snap = metrics.snapshot(cache=cache)
    assert snap["cache"]["hit_rate"] == 0.75 and "breakers" not in snap
    text = metrics.prometheus_text(cache=cache)
    assert "autodocs_cache_hit_rate 0.75" in text and "autodocs_breaker_open" not in text
    assert "cache" not in metrics.snapshot()
