"""Stateless streamable HTTP: a client whose replica is replaced mid-conversation loses no call.

Two server replicas are real processes. The client talks to replica A; A is shut down (SIGTERM,
exit 0) and replica B, with its own cache, takes over the same loopback port; the same client
session then goes on calling, with progress still streamed (SSE). With per-process MCP sessions
(a handshake-era client, ``mode="legacy"``), B would answer 404 to the first call after the
switch: the session lived in A (checked: this test fails without ``stateless_http``).
"""

from __future__ import annotations

import json
import signal
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import pytest

pytest.importorskip("mcp")

from autodocs_core.testing import FaultIndex
from mcp import Client
from tests.mcp.test_stdio import server_env

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    """Subprocess tests run once (on asyncio): the servers under test are their own processes."""
    return "asyncio"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def replica(index_url: str, cache: Path, port: int) -> AsyncIterator[anyio.abc.Process]:
    """One server process on *port*; yields once it announces that it listens."""
    env = server_env(index_url, cache, AUTODOCS_SHUTDOWN_GRACE="2")
    process = await anyio.open_process(
        [sys.executable, "-m", "autodocs_mcp", "--transport", "http", "--port", str(port)],
        env=env,
    )
    assert process.stderr is not None
    buffer = b""
    with anyio.fail_after(30):
        while b"listening on" not in buffer:
            chunk = await process.stderr.receive()
            buffer += chunk
    line = next(x for x in buffer.split(b"\n") if b"listening on" in x)
    assert json.loads(line)["port"] == port
    try:
        yield process
    finally:
        if process.returncode is None:
            process.terminate()
            with anyio.fail_after(30):
                await process.wait()


# "legacy": the initialize handshake (protocol 2025-*), where a stateful server keeps a session
# per client in its process. "auto": the SDK's discovery (2026 protocol, sessionless anyway).
@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_a_client_whose_replica_is_replaced_loses_no_call(
    projects: dict[str, Any], tmp_path: Path, mode: str
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    progress: list[tuple[float, float | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, total))

    async with FaultIndex(projects) as index, AsyncExitStack() as first_replica:
        a = await first_replica.enter_async_context(replica(index.url, tmp_path / "a", port))
        async with Client(url, mode=mode) as client:
            first = await client.call_tool("get_package_docs", {"package_name": "trio"})
            assert not first.is_error
            assert first.structured_content["version"] == "0.35.0"
            a.send_signal(signal.SIGTERM)
            with anyio.fail_after(30):
                assert await a.wait() == 0
            await first_replica.aclose()
            served_by_a = len(index.requests)
            # Replica B: another process, its own (empty) cache, the same address.
            async with replica(index.url, tmp_path / "b", port) as b:
                second = await client.call_tool("get_package_docs", {"package_name": "trio"})
                assert not second.is_error, second
                assert second.structured_content["version"] == "0.35.0"
                assert len(index.requests) > served_by_a  # B fetched it: B answered
                many = await client.call_tool(
                    "get_docs_for_packages",
                    {"packages": ["attrs", "httpx"], "max_tokens_per_package": 300},
                    progress_callback=on_progress,
                )
                assert not many.is_error
                assert [x["package_name"] for x in many.structured_content["succeeded"]] == [
                    "attrs",
                    "httpx",
                ]
                assert progress and progress[-1] == (2, 2)  # progress still streams (SSE)
                assert len((await client.list_tools()).tools) == 5
                b.send_signal(signal.SIGTERM)
                with anyio.fail_after(30):
                    assert await b.wait() == 0
