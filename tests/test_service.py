"""DocsService end to end against the loopback fault index: cache, staleness, offline, many."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from autodocs_core.cache import DiskStore
from autodocs_core.config import Settings
from autodocs_core.errors import (
    CacheError,
    InvalidInputError,
    UpstreamServerError,
)
from autodocs_core.resilience import FetchProgress
from autodocs_core.service import DocsService
from autodocs_core.testing import FakeClock, Fault, FaultIndex, FaultPlan

pytestmark = pytest.mark.anyio

FIXTURES = Path(__file__).parent / "fixtures" / "pypi"


@asynccontextmanager
async def service(
    projects: dict[str, Any],
    tmp_path: Path,
    *,
    plan: FaultPlan | None = None,
    clock: FakeClock | None = None,
    reuse: FaultIndex | None = None,
    **settings: Any,
) -> AsyncIterator[tuple[DocsService, FaultIndex]]:
    """A service over a fresh fault index, or over *reuse* (the cache is keyed by index URL)."""
    metadata = {
        "attrs-25.4.0-py3-none-any.whl": (
            FIXTURES / "attrs-25.4.0-py3-none-any.whl.metadata"
        ).read_bytes()
    }
    async with contextlib.AsyncExitStack() as stack:
        index = reuse or await stack.enter_async_context(
            FaultIndex(projects, plan=plan, metadata=metadata)
        )
        cfg = Settings(
            index_url=index.url, cache_dir=str(tmp_path / "cache"), read_timeout=0.5, **settings
        )
        async with DocsService(cfg, clock=clock or FakeClock()) as svc:
            yield svc, index


async def test_cold_then_warm(projects: dict[str, Any], tmp_path: Path) -> None:
    """A cold fetch asks the index once; the warm hit asks nothing and says so."""
    async with service(projects, tmp_path) as (svc, index):
        cold = await svc.get_docs("Attrs")
        assert (cold.package_name, cold.version, cold.from_cache) == ("attrs", "26.1.0", False)
        assert index.count() == 1
        warm = await svc.get_docs("attrs")
        assert warm.from_cache and not warm.stale
        assert warm.documentation == cold.documentation.replace(
            cold.documentation.split('id="')[1][:8], warm.documentation.split('id="')[1][:8]
        )
        assert index.count() == 1
        stats = await svc.cache_stats()
        assert stats.hits >= 2 and stats.entries == 2 and 0 < stats.hit_rate < 1


async def test_pinned_version_survives_a_restart_with_no_request(
    projects: dict[str, Any], tmp_path: Path
) -> None:
    """An exact pin already on disk is served by a new service without touching the index."""
    async with service(projects, tmp_path) as (svc, index):
        first = await svc.get_docs("attrs", "==25.4.0")
        assert first.version == "25.4.0" and not first.from_cache
    before = index.count()
    # same index URL (now closed: any request would fail), same cache directory
    async with service(projects, tmp_path, reuse=index) as (svc, index):
        again = await svc.get_docs("attrs", "25.4")
        assert again.version == "25.4.0" and again.from_cache
        assert index.count() == before
        assert "resolved from `25.4`" in again.documentation


async def test_stale_copy_is_served_when_the_index_is_down(
    projects: dict[str, Any], tmp_path: Path
) -> None:
    """After the version list expires and the index fails, the cached copy is served stale."""
    clock = FakeClock()
    plan = FaultPlan()
    async with service(projects, tmp_path, plan=plan, clock=clock, versions_ttl=60.0) as (
        svc,
        index,
    ):
        await svc.get_docs("httpx")
        clock.advance(3600)
        plan.probabilities = [(Fault("status", status=503), 1.0)]
        answer = await svc.get_docs("httpx")
        assert answer.stale and answer.stale_age == pytest.approx(3600, abs=1)
        assert "**Stale:**" in answer.documentation and answer.warnings
        assert index.count() > 1


async def test_nothing_cached_and_index_down_says_so(
    projects: dict[str, Any], tmp_path: Path
) -> None:
    """With no cached copy, the upstream error is raised and says nothing is cached."""
    plan = FaultPlan(probabilities=[(Fault("status", status=503), 1.0)])
    async with service(projects, tmp_path, plan=plan) as (svc, _):
        with pytest.raises(UpstreamServerError) as info:
            await svc.get_docs("trio")
    assert any("No cached copy" in s for s in info.value.suggestions)


async def test_offline_mode_never_touches_the_network(
    projects: dict[str, Any], tmp_path: Path
) -> None:
    """Offline: cached answers work, misses are a clear error, and no request is made."""
    async with service(projects, tmp_path) as (svc, index):
        await svc.get_docs("cattrs")
    before = index.count()
    async with service(projects, tmp_path, offline=True, reuse=index) as (svc, index):
        assert (await svc.get_docs("cattrs")).from_cache
        with pytest.raises(CacheError) as info:
            await svc.get_docs("pytest")
        with pytest.raises(CacheError):
            await svc.get_docs("cattrs", "==23.1.1")
        assert index.count() == before
    assert "AUTODOCS_OFFLINE" in info.value.message


async def test_unwritable_cache_degrades_to_memory(
    projects: dict[str, Any], tmp_path: Path
) -> None:
    """A cache directory that cannot be created: answers still served, a warning, health shows."""
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    async with FaultIndex(projects) as index:
        cfg = Settings(index_url=index.url, cache_dir=str(blocker / "cache"))
        async with DocsService(cfg, clock=FakeClock()) as svc:
            answer = await svc.get_docs("attrs")
            assert answer.warnings
            again = await svc.get_docs("attrs")
            assert again.from_cache  # from memory
            stats = await svc.cache_stats()
            assert stats.degraded and not stats.memory_only


async def test_refresh_drops_one_package_or_all(projects: dict[str, Any], tmp_path: Path) -> None:
    """refresh(name) drops that package (all versions); refresh() drops everything."""
    async with service(projects, tmp_path) as (svc, index):
        await svc.get_docs("attrs")
        await svc.get_docs("trio")
        assert await svc.refresh("ATTRS") == 2
        await svc.get_docs("trio")
        assert index.count() == 2
        await svc.get_docs("attrs")
        assert index.count() == 3
        assert await svc.refresh() >= 4
        assert (await svc.cache_stats()).entries == 0


async def test_get_many_is_a_partial_result_with_progress(
    projects: dict[str, Any], tmp_path: Path
) -> None:
    """Many packages at once: successes, failures with payloads, progress for each."""
    seen: list[FetchProgress] = []
    async with service(projects, tmp_path) as (svc, _):
        result = await svc.get_many(
            ["attrs", "httpx>=0.28", "no-such-pkg", ("trio", ">=99")],
            max_tokens_per_package=500,
            on_progress=seen.append,
        )
    assert [a.package_name for a in result.succeeded] == ["attrs", "httpx"]
    assert {f.key: f.error.error_type for f in result.failed} == {
        "no-such-pkg": "package_not_found",
        "trio>=99": "version_not_found",
    }
    assert all(a.tokens <= 500 for a in result.succeeded)
    assert seen[-1] == FetchProgress(4, 2, 4)


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        (("bad name!",), {}),
        (("attrs", ">>1"), {}),
        (("attrs",), {"max_tokens": 5}),
        (("attrs",), {"query": "q" * 600}),
    ],
)
async def test_bad_input_fails_before_any_request(
    projects: dict[str, Any], tmp_path: Path, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    """Invalid names, constraints, budgets and queries never reach the index."""
    async with service(projects, tmp_path) as (svc, index):
        with pytest.raises(InvalidInputError):
            await svc.get_docs(*args, **kwargs)
        with pytest.raises(InvalidInputError):
            await svc.get_many(["x"] * 101)
        assert index.count() == 0


async def test_memory_only_service(projects: dict[str, Any]) -> None:
    """store=None keeps everything in memory and says so."""
    async with FaultIndex(projects) as index:
        async with DocsService(Settings(index_url=index.url), store=None, clock=FakeClock()) as svc:
            await svc.get_docs("trio")
            assert (await svc.get_docs("trio")).from_cache
            assert (await svc.cache_stats()).memory_only
        assert isinstance(DocsService(Settings()).cache.store, DiskStore)


async def test_scan_through_the_facade(projects: dict[str, Any], tmp_path: Path) -> None:
    """The facade scans a project off the event loop and counts the call."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "requirements.txt").write_text("httpx>=0.27\nnot valid !!\n")
    async with service(projects, tmp_path) as (svc, _):
        result = await svc.scan(project)
        assert [d.name for d in result.succeeded] == ["httpx"]
        assert result.failed[0].key == "requirements.txt:2"
        calls = svc.metrics_snapshot()["calls"]
    assert {"operation": "scan_dependencies", "outcome": "ok", "count": 1} in calls


async def test_a_crowd_asking_for_one_package_makes_one_request(
    projects: dict[str, Any], tmp_path: Path
) -> None:
    """200 concurrent first lookups of one package: one upstream request, all answered."""
    import anyio

    async with service(projects, tmp_path) as (svc, index):
        versions: list[str] = []

        async def one() -> None:
            versions.append((await svc.get_docs("trio")).version)

        async with anyio.create_task_group() as tg:
            for _ in range(200):
                tg.start_soon(one)
    assert versions == ["0.35.0"] * 200
    assert index.count() == 1
