"""End to end: the server as a subprocess over stdio, against the loopback fault index."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

pytest.importorskip("mcp")

from mcp_types import LATEST_PROTOCOL_VERSION

from autodocs_core.testing import Fault, FaultIndex, FaultPlan
from mcp import Client, StdioServerParameters

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    """Subprocess tests run once (on asyncio): the server under test is its own process."""
    return "asyncio"


def server_env(index_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTODOCS_")}
    env.update(
        {
            "AUTODOCS_INDEX_URL": index_url,
            "AUTODOCS_CACHE_DIR": str(tmp_path / "cache"),
            "AUTODOCS_LOG_LEVEL": "WARNING",
            **extra,
        }
    )
    return env


async def test_official_client_over_stdio(projects: dict[str, Any], tmp_path: Path) -> None:
    """The official client starts `python -m autodocs_mcp`, lists tools and gets docs."""
    async with FaultIndex(projects) as index:
        params = StdioServerParameters(
            command=sys.executable, args=["-m", "autodocs_mcp"], env=server_env(index.url, tmp_path)
        )
        async with Client(params) as client:
            tools = await client.list_tools()
            assert len(tools.tools) == 5  # operator tools are opt-in (AUTODOCS_OPERATOR_TOOLS)
            result = await client.call_tool(
                "get_package_docs", {"package_name": "trio", "version_constraint": "*"}
            )
            assert not result.is_error
            assert result.structured_content["version"] == "0.35.0"
            bad = await client.call_tool("get_package_docs", {"package_name": "nope-nope"})
            assert bad.is_error
            assert json.loads(bad.content[0].text)["error_type"] == "package_not_found"


class RawSession:
    """Newline-delimited JSON-RPC over a subprocess's stdin/stdout."""

    def __init__(self, process: anyio.abc.Process) -> None:
        self.process = process
        self.buffer = b""
        self.next_id = 1

    async def send(
        self, method: str, params: dict[str, Any] | None = None, *, notify: bool = False
    ) -> int:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        request_id = self.next_id
        if not notify:
            message["id"] = request_id
            self.next_id += 1
        assert self.process.stdin is not None
        await self.process.stdin.send(json.dumps(message).encode() + b"\n")
        return request_id

    async def receive(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        while b"\n" not in self.buffer:
            self.buffer += await self.process.stdout.receive()
        line, self.buffer = self.buffer.split(b"\n", 1)
        data: dict[str, Any] = json.loads(line)
        return data

    async def response(self, request_id: int) -> dict[str, Any]:
        while True:
            message = await self.receive()
            if message.get("id") == request_id:
                return message

    async def initialize(self) -> None:
        rid = await self.send(
            "initialize",
            {
                "protocolVersion": LATEST_PROTOCOL_VERSION,
                "capabilities": {},
                "clientInfo": {"name": "raw-test", "version": "0"},
            },
        )
        assert "result" in await self.response(rid)
        await self.send("notifications/initialized", notify=True)


async def start(env: dict[str, str]) -> tuple[anyio.abc.Process, RawSession]:
    process = await anyio.open_process([sys.executable, "-m", "autodocs_mcp"], env=env)
    session = RawSession(process)
    with anyio.fail_after(30):
        await session.initialize()
    return process, session


async def test_sigterm_lets_in_flight_calls_finish_and_exits_zero(
    projects: dict[str, Any], tmp_path: Path
) -> None:
    """SIGTERM with a call in flight: the call ends (answer or error), the process exits 0."""
    plan = FaultPlan(script=[Fault("slow", delay=0.5)])
    async with FaultIndex(projects, plan=plan) as index:
        process, session = await start(server_env(index.url, tmp_path, AUTODOCS_SHUTDOWN_GRACE="5"))
        rid = await session.send(
            "tools/call", {"name": "get_package_docs", "arguments": {"package_name": "attrs"}}
        )
        with anyio.fail_after(30):
            await index.wait_for_requests()  # the call has reached the index
            process.send_signal(signal.SIGTERM)
            reply = await session.response(rid)
            code = await process.wait()
    assert code == 0
    assert reply["result"]["structuredContent"]["version"] == "26.1.0"


async def test_sigterm_grace_expiry_still_exits_zero(
    projects: dict[str, Any], tmp_path: Path
) -> None:
    """A call that hangs past the grace period is cancelled; the process still exits 0."""
    plan = FaultPlan(script=[Fault("hang")])
    async with FaultIndex(projects, plan=plan) as index:
        process, session = await start(
            server_env(index.url, tmp_path, AUTODOCS_SHUTDOWN_GRACE="0.2")
        )
        await session.send(
            "tools/call", {"name": "get_package_docs", "arguments": {"package_name": "attrs"}}
        )
        with anyio.fail_after(30):
            await index.wait_for_requests()
            process.send_signal(signal.SIGTERM)
            assert await process.wait() == 0


async def test_stdin_closing_exits_zero(projects: dict[str, Any], tmp_path: Path) -> None:
    """When the client goes away (stdin closes), the server exits 0."""
    async with FaultIndex(projects) as index:
        process, _ = await start(server_env(index.url, tmp_path))
        assert process.stdin is not None
        await process.stdin.aclose()
        with anyio.fail_after(30):
            assert await process.wait() == 0


async def test_bad_configuration_names_the_setting(tmp_path: Path) -> None:
    """A malformed setting stops start-up with exit 2 and a payload naming the variable."""
    env = server_env("http://127.0.0.1:9", tmp_path, AUTODOCS_DEADLINE="soon")
    result = await anyio.run_process([sys.executable, "-m", "autodocs_mcp"], env=env, check=False)
    assert result.returncode == 2
    payload = json.loads(result.stderr.decode().strip().splitlines()[-1])
    assert payload["error_type"] == "config_error"
    assert "AUTODOCS_DEADLINE" in payload["error"]
    assert result.stdout == b""


async def test_every_request_with_an_id_gets_an_answer_over_stdio(tmp_path: Path) -> None:
    """Invalid JSON, batches, wrong params, bad ids: each answered with a JSON-RPC error."""
    env = server_env("http://127.0.0.1:9", tmp_path, AUTODOCS_OFFLINE="1")
    process = await anyio.open_process([sys.executable, "-m", "autodocs_mcp"], env=env)
    assert process.stdin is not None and process.stdout is not None
    lines = [
        {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": [1, 2]},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": "x"},
        [{"jsonrpc": "2.0", "id": 3, "method": "ping"}],
        {"id": 4, "method": "ping"},
        {"jsonrpc": "2.0", "id": 5, "method": 5},
        {"jsonrpc": "2.0", "id": {"a": 1}, "method": "ping"},
        {"jsonrpc": "2.0", "id": 1.5, "method": "ping"},
        b'{"jsonrpc": "2.0", "id": 8, "method": ',
        {"jsonrpc": "2.0", "id": 9, "method": "ping"},
    ]
    init = {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "raw", "version": "0"},
        },
    }
    wire = [json.dumps(init).encode()]
    wire.append(json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}).encode())
    wire += [x if isinstance(x, bytes) else json.dumps(x).encode() for x in lines]
    answers: list[dict[str, Any]] = []
    try:
        await process.stdin.send(b"\n".join(wire) + b"\n")
        buffer = b""
        with anyio.fail_after(30):
            while not any(a.get("id") == 9 for a in answers):
                buffer += await process.stdout.receive()
                *done, buffer = buffer.split(b"\n")
                answers += [json.loads(line) for line in done if line.strip()]
    finally:
        process.kill()
        await process.wait()
    errors = [a for a in answers if "error" in a]
    by_id = {a["id"]: a["error"]["code"] for a in errors if a["id"] is not None}
    assert by_id == {1: -32600, 2: -32600, 3: -32600, 4: -32600, 5: -32600}
    nulls = sorted(a["error"]["code"] for a in errors if a["id"] is None)
    assert nulls == [-32700, -32600, -32600]  # invalid JSON; the object id; the float id
