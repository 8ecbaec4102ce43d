"""benchmarks/_fleet.py (what `nox -s fleet` and the fleet benchmark run): real processes.

redis-server and two replicas start on free loopback ports; both replicas answer MCP calls and
report the shared layer as Redis, answering; stopping the fleet ends every process it started.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

pytest.importorskip("mcp")
pytest.importorskip("redis")

from benchmarks._fleet import Fleet

from autodocs_core.testing import FaultIndex
from mcp import Client

from .conftest import needs_redis_server

pytestmark = [pytest.mark.anyio, needs_redis_server]


@pytest.fixture
def anyio_backend() -> str:
    """The servers under test are their own processes: once is enough."""
    return "asyncio"


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_a_fleet_starts_serves_through_redis_and_stops(
    projects: dict[str, Any], tmp_path: Path
) -> None:
    async with FaultIndex(projects) as index:
        fleet = Fleet(2, index_url=index.url, directory=tmp_path)
        await anyio.to_thread.run_sync(fleet.start)
        try:
            assert len(fleet.urls) == 2 and len(set(fleet.urls)) == 2
            assert fleet.redis_url.startswith("redis://127.0.0.1:")
            for url in fleet.urls:
                async with Client(url) as client:
                    result = await client.call_tool("get_package_docs", {"package_name": "trio"})
                    assert not result.is_error
                base = url.removesuffix("/mcp")
                async with httpx.AsyncClient() as http:
                    health = (await http.get(f"{base}/healthz")).json()
                    assert health["checks"]["shared"]["status"] == "healthy"
                    metrics = (await http.get(f"{base}/metrics")).text
                    assert 'autodocs_shared_available{backend="redis"} 1.0' in metrics
                    assert (await http.get(f"{base}/readyz")).json()["ready"]
            pids = fleet.pids()
            assert len(pids) == 3
        finally:
            codes = await anyio.to_thread.run_sync(fleet.stop)
    assert codes == {"replica-1": 0, "replica-2": 0, "redis-server": 0}
    assert not any(alive(pid) for pid in pids)
