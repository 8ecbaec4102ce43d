"""Health, readiness and metrics of the shared layer (scale-out).

Redis down is degraded, not failed, and never unready.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from autodocs_core.config import Settings
from autodocs_core.fleet import CoalescerStatistics, FleetStatistics
from autodocs_core.observability import ServiceMetrics
from autodocs_core.service import DocsService
from autodocs_core.testing import FakeClock, FaultIndex

pytestmark = pytest.mark.anyio


def dead_redis_url() -> str:
    """A redis:// URL on a loopback port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"redis://:secret@127.0.0.1:{port}/0"


class TestRedisDown:
    @pytest.fixture
    def anyio_backend(self) -> str:
        return "asyncio"  # redis-py's asyncio client runs on asyncio only

    async def test_calls_succeed_health_is_degraded_and_readiness_stays_ready(
        self, projects: dict[str, Any], tmp_path: Path
    ) -> None:
        pytest.importorskip("redis")
        async with FaultIndex(projects) as index:
            cfg = Settings(index_url=index.url, cache_dir=str(tmp_path), redis_url=dead_redis_url())
            # The real clock: with Redis down the fetch leads under a local lease, whose keeper
            # sleeps on the clock; a FakeClock jumps those sleeps at once while the fetch awaits
            # real I/O, reaching the 15 s fetch bound (UpstreamTimeout) before the index answers.
            async with DocsService(cfg) as svc:
                for name in ("attrs", "httpx", "trio"):
                    docs = await svc.get_docs(name)
                    assert docs.package_name == name  # every call succeeds
                report = await svc.health()
                ready = await svc.ready()
                snap = svc.metrics_snapshot()
                text = svc.metrics_prometheus()
        shared = report.to_dict()["checks"]["shared"]
        assert shared["status"] == "degraded"
        assert shared["backend"] == "redis"
        assert shared["state"] == "degraded"
        assert shared["fallbacks"] >= 2
        assert "connection" in shared["fallback_reasons"]
        assert "secret" not in str(report.to_dict())
        assert report.status == "degraded"  # not unhealthy: no call failed
        assert ready.ready, ready.reasons
        assert snap["shared"]["backend"] == "redis"
        assert snap["shared"]["available"] is False
        assert sum(snap["shared"]["fallbacks"].values()) >= 2
        assert snap["shared"]["coalesced_waits"] == 0
        families = {f.name: f for f in text_string_to_metric_families(text)}
        available = families["autodocs_shared_available"].samples
        assert [(s.labels["backend"], s.value) for s in available] == [("redis", 0.0)]
        reasons = {
            s.labels["reason"]: s.value
            for s in families["autodocs_shared_fallbacks"].samples
            if s.name.endswith("_total")
        }
        assert reasons.get("connection", 0) >= 1
        assert {"autodocs_coalesced_waits", "autodocs_lease_takeovers"} <= set(families)


async def test_without_redis_the_shared_check_is_local_and_healthy(
    projects: dict[str, Any], tmp_path: Path
) -> None:
    async with FaultIndex(projects) as index:
        cfg = Settings(index_url=index.url, cache_dir=str(tmp_path))
        async with DocsService(cfg, clock=FakeClock()) as svc:
            await svc.get_docs("attrs")
            report = await svc.health()
            snap = svc.metrics_snapshot()
    assert report.status == "healthy", report.to_dict()
    assert report.to_dict()["checks"]["shared"]["backend"] == "local"
    assert snap["shared"]["state"] == "ok"
    assert snap["admission_refusals"] == 0  # no fleet: the index client never asks


def test_snapshot_reports_coalesced_waits_and_lease_takeovers() -> None:
    """The counters come from the narrow inputs, not from a service."""
    fleet = FleetStatistics("redis", True, 12, {"timeout": 1})
    coalescer = CoalescerStatistics(
        hits=3, led=2, local_leases=1, waited=5, takeovers=4, gave_up=0, shared_in_process=0
    )
    metrics = ServiceMetrics()
    snap = metrics.snapshot(fleet=fleet, coalescer=coalescer)["shared"]
    assert snap == {
        "backend": "redis",
        "available": True,
        "state": "ok",
        "operations": 12,
        "fallbacks": {"timeout": 1},
        "coalesced_waits": 5,
        "lease_takeovers": 4,
        "local_leases": 1,
        "led": 2,
        "hits": 3,
    }
    families = {
        f.name: f
        for f in text_string_to_metric_families(
            metrics.prometheus_text(fleet=fleet, coalescer=coalescer)
        )
    }
    assert families["autodocs_coalesced_waits"].samples[0].value == 5
    assert families["autodocs_lease_takeovers"].samples[0].value == 4
    assert families["autodocs_shared_available"].samples[0].value == 1.0
