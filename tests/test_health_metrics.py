"""Health follows real signals; readiness; bounded metrics in dict and Prometheus form."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from prometheus_client.parser import text_string_to_metric_families

from autodocs_core.config import Settings
from autodocs_core.errors import AutodocsError
from autodocs_core.health import PROBE_TTL
from autodocs_core.resilience import CircuitState
from autodocs_core.service import DocsService
from autodocs_core.testing import FakeClock, Fault, FaultIndex, FaultPlan

pytestmark = pytest.mark.anyio


def checks(report: Any) -> dict[str, str]:
    return {c.name: c.status for c in report.checks}


async def test_healthy_service_reports_every_check(
    projects: dict[str, Any], tmp_path: Path
) -> None:
    """A working service is healthy, with a real cache probe and a HEAD to the index."""
    async with FaultIndex(projects) as index:
        cfg = Settings(index_url=index.url, cache_dir=str(tmp_path))
        async with DocsService(cfg, clock=FakeClock()) as svc:
            report = await svc.health()
            assert report.status == "healthy", report.to_dict()
            assert set(checks(report)) == {
                "cache",
                "index",
                "parser",
                "memory",
                "disk",
                "errors",
                "shared",
            }
            shared = report.to_dict()["checks"]["shared"]
            assert shared["backend"] == "local"
            assert shared["state"] == "ok"
            assert index.requests[-1].path == "/simple/"
            assert report.to_dict()["checks"]["memory"]["rss_bytes"] > 0
            assert (await svc.ready()).ready


async def test_open_breaker_degrades_health_and_recovery_heals_it(
    projects: dict[str, Any], tmp_path: Path
) -> None:
    """Outage: the breaker opens and health turns degraded without probing; healed after."""
    clock = FakeClock()
    plan = FaultPlan(probabilities=[(Fault("status", status=503), 1.0)])
    async with FaultIndex(projects, plan=plan) as index:
        cfg = Settings(index_url=index.url, cache_dir=str(tmp_path))
        async with DocsService(cfg, clock=clock) as svc:
            for name in ["attrs", "httpx", "trio", "pytest", "cattrs", "attrs", "httpx"]:
                with contextlib.suppress(AutodocsError):
                    await svc.get_docs(name)
            breaker = svc.index.breaker_for(index.url)
            assert breaker.state is CircuitState.OPEN
            before = index.count()
            report = await svc.health()
            assert report.status in ("degraded", "unhealthy")
            assert checks(report)["index"] == "degraded"
            assert index.count() == before  # no probe while open
            plan.probabilities = []
            clock.advance(breaker.config.recovery_time * 1.2)
            await svc.get_docs("trio")
            assert breaker.state is CircuitState.CLOSED
            assert checks(await svc.health())["index"] == "healthy"


async def test_forty_percent_errors_is_not_healthy(
    projects: dict[str, Any], tmp_path: Path
) -> None:
    """Recent service errors at 40% make the service unhealthy; client errors do not count."""
    async with FaultIndex(projects) as index:
        cfg = Settings(index_url=index.url, cache_dir=str(tmp_path))
        async with DocsService(cfg, clock=FakeClock()) as svc:
            for _ in range(10):
                # a client error: not the service's fault
                with contextlib.suppress(AutodocsError):
                    await svc.get_docs("bad name!")
            assert checks(await svc.health())["errors"] == "healthy"
        async with DocsService(cfg, clock=FakeClock()) as svc:
            for i in range(10):
                try:
                    with svc.metrics.track("get_docs"):
                        if i % 5 < 2:  # 4 of 10 calls fail by the service's (or index's) fault
                            raise AutodocsError("boom")
                except AutodocsError:
                    pass
            rate, calls = svc.metrics.recent_error_rate()
            assert (rate, calls) == (0.4, 10)
            assert (await svc.health()).status == "unhealthy"


async def test_unusable_cache_degrades_health_and_readiness(
    projects: dict[str, Any], tmp_path: Path
) -> None:
    """A cache directory that cannot exist: health degraded, not ready until fixed."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    async with FaultIndex(projects) as index:
        cfg = Settings(index_url=index.url, cache_dir=str(blocker / "cache"))
        async with DocsService(cfg, clock=FakeClock()) as svc:
            assert checks(await svc.health())["cache"] == "degraded"
            ready = await svc.ready()
            assert not ready.ready and "cache" in ready.reasons[0]
        async with DocsService(cfg, store=None, clock=FakeClock()) as svc:
            assert (await svc.ready()).ready  # memory-only on purpose is fine
            svc.begin_shutdown()
            assert (await svc.ready()).reasons == ("shutting down",)


async def test_metrics_snapshot_and_prometheus(projects: dict[str, Any], tmp_path: Path) -> None:
    """Calls, outcomes, latency, retries, cache and breakers appear in both exports."""
    plan = FaultPlan(script=[Fault("status", status=503)])
    async with FaultIndex(projects, plan=plan) as index:
        cfg = Settings(index_url=index.url, cache_dir=str(tmp_path))
        async with DocsService(cfg, clock=FakeClock()) as svc:
            await svc.get_docs("attrs")
            await svc.get_docs("attrs")
            with contextlib.suppress(AutodocsError):
                await svc.get_docs("no-such-package")
            await svc.get_many(["trio", "nope-nope"])
            snap = svc.metrics_snapshot()
            text = svc.metrics_prometheus()
    outcomes = {(c["operation"], c["outcome"]): c["count"] for c in snap["calls"]}
    assert outcomes[("get_docs", "ok")] == 3
    assert outcomes[("get_docs", "package_not_found")] == 2
    assert outcomes[("get_many", "partial")] == 1
    assert snap["in_flight"] == {"get_docs": 0, "get_many": 0}
    assert snap["retries"][0]["error_type"] == "upstream_5xx"
    assert 0 < snap["cache"]["hit_rate"] < 1
    assert next(iter(snap["breakers"].values()))["state"] == "closed"
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert {
        "autodocs_calls",
        "autodocs_call_duration_seconds",
        "autodocs_in_flight",
        "autodocs_cache_hit_rate",
        "autodocs_breaker_open",
        "autodocs_retry_budget_available",
        "autodocs_hedges_sent",
        "autodocs_hedges_won",
    } <= set(families)
    assert snap["hedges"] == {"sent": 0, "won": 0}


async def test_cancelled_calls_leave_no_in_flight_count(
    projects: dict[str, Any], tmp_path: Path
) -> None:
    """A call cancelled mid-flight is counted as cancelled, and in-flight returns to zero."""
    plan = FaultPlan(script=[Fault("hang")])
    async with FaultIndex(projects, plan=plan) as index:
        cfg = Settings(index_url=index.url, cache_dir=str(tmp_path))
        async with DocsService(cfg) as svc:
            with anyio.move_on_after(0.2):
                await svc.get_docs("attrs")
            snap = svc.metrics_snapshot()
    assert snap["in_flight"]["get_docs"] == 0
    assert any(c["outcome"] == "cancelled" for c in snap["calls"])


class TestProbeCache:
    async def test_200_probes_in_a_second_make_one_upstream_request(
        self, projects: dict[str, Any], tmp_path: Path
    ) -> None:
        """200 concurrent health checks over one (fake) second share one HEAD to the index."""
        clock = FakeClock()
        async with FaultIndex(projects) as index:
            cfg = Settings(index_url=index.url, cache_dir=str(tmp_path))
            async with DocsService(cfg, clock=clock) as svc:
                reports = []

                async def probe() -> None:
                    reports.append(checks(await svc.health())["index"])

                async with anyio.create_task_group() as tg:
                    for i in range(200):
                        tg.start_soon(probe)
                        if i % 10 == 9:
                            clock.advance(0.05)
                            await anyio.lowlevel.checkpoint()
                assert clock.now() == pytest.approx(1.0)
                assert index.count("/simple/") <= 2
                assert reports == ["healthy"] * 200
                clock.advance(5.0)
                await svc.health()
                assert index.count("/simple/") <= 3

    async def test_a_failed_probe_is_reused_too_and_expires(
        self, projects: dict[str, Any], tmp_path: Path
    ) -> None:
        """An unreachable index is probed once per PROBE_TTL, not once per health check."""
        clock = FakeClock()
        plan = FaultPlan(probabilities=[(Fault("status", status=503), 1.0)])
        async with FaultIndex(projects, plan=plan) as index:
            cfg = Settings(index_url=index.url, cache_dir=str(tmp_path))
            async with DocsService(cfg, clock=clock) as svc:
                for _ in range(20):
                    report = await svc.health()
                    clock.advance(0.1)
                index_check = next(c for c in report.checks if c.name == "index")
                assert index_check.status == "degraded"
                assert index_check.data["probe_age_seconds"] == pytest.approx(1.9)
                assert index.count("/simple/") == 1
                clock.advance(PROBE_TTL)
                report = await svc.health()
                assert index.count("/simple/") == 2  # expired: probed again
                index_check = next(c for c in report.checks if c.name == "index")
                assert index_check.data["probe_age_seconds"] == 0.0
