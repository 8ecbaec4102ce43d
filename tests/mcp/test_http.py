"""End to end: the server over streamable HTTP as a subprocess, with probes and a token."""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

pytest.importorskip("mcp")

from autodocs_core.testing import FaultIndex
from mcp import Client
from tests.mcp.test_stdio import server_env

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    """Subprocess tests run once (on asyncio): the server under test is its own process."""
    return "asyncio"


@asynccontextmanager
async def http_server(
    index_url: str, tmp_path: Path, *extra_args: str
) -> AsyncIterator[tuple[anyio.abc.Process, str]]:
    """Start the server on a free loopback port; yield (process, base URL) once it listens."""
    # The default log level: the bound address is announced whatever the level.
    env = server_env(index_url, tmp_path, AUTODOCS_SHUTDOWN_GRACE="2")
    process = await anyio.open_process(
        [sys.executable, "-m", "autodocs_mcp", "--transport", "http", "--port", "0", *extra_args],
        env=env,
    )
    assert process.stderr is not None
    buffer = b""
    base = ""
    with anyio.fail_after(30):
        while not base:
            buffer += await process.stderr.receive()
            for line in buffer.split(b"\n"):
                if b"listening on" in line:
                    base = json.loads(line)["message"].split("listening on ", 1)[1]
    try:
        yield process, base.removesuffix("/mcp")
    finally:
        if process.returncode is None:
            process.terminate()
            with anyio.fail_after(30):
                await process.wait()


async def test_mcp_over_http_with_probes(projects: dict[str, Any], tmp_path: Path) -> None:
    """The official client over streamable HTTP; /healthz, /readyz, /metrics; SIGTERM exit 0."""
    async with FaultIndex(projects) as index, http_server(index.url, tmp_path) as (proc, base):
        assert base.startswith("http://127.0.0.1:")
        async with Client(f"{base}/mcp") as client:
            assert len((await client.list_tools()).tools) == 5  # operator tools are opt-in
            result = await client.call_tool("get_package_docs", {"package_name": "trio"})
            assert result.structured_content["version"] == "0.35.0"
            bad = await client.call_tool("get_package_docs", {"package_name": "nope-nope"})
            assert bad.is_error
        async with httpx.AsyncClient() as http:
            health = await http.get(f"{base}/healthz")
            assert health.status_code == 200 and health.json()["status"] in ("healthy", "degraded")
            assert (await http.get(f"{base}/readyz")).json() == {"ready": True, "reasons": []}
            metrics = await http.get(f"{base}/metrics")
            assert "autodocs_calls_total" in metrics.text
        proc.send_signal(signal.SIGTERM)
        with anyio.fail_after(30):
            assert await proc.wait() == 0


async def test_bearer_token_guards_the_endpoint(projects: dict[str, Any], tmp_path: Path) -> None:
    """With a token, /mcp and /metrics need it; the probes stay open."""
    async with (
        FaultIndex(projects) as index,
        http_server(index.url, tmp_path, "--token", "s3cret") as (_, base),
        httpx.AsyncClient() as http,
    ):
        denied = await http.post(f"{base}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
        assert denied.status_code == 401
        assert denied.json()["error_type"] == "unauthorized"
        assert (await http.get(f"{base}/metrics")).status_code == 401
        ok = await http.get(f"{base}/metrics", headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200
        assert (await http.get(f"{base}/healthz")).status_code == 200
