"""The stdio handshake front: routing (in memory), the snapshot file, and the server end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

pytest.importorskip("mcp")

from mcp.client.stdio import stdio_client
from mcp_types import ListRootsResult, Root

from autodocs_core.testing import FaultIndex
from autodocs_mcp import _front
from mcp import Client, StdioServerParameters

from .test_stdio import RawSession, server_env

ANSWERED_LOG = "handshake front answered"


# --- routing, in memory ------------------------------------------------------------------------


class Wire:
    """The front between a recorded client side and a simulated SDK that answers in order."""

    def __init__(self, entries: dict[str, Any]) -> None:
        self.to_client: list[dict[str, Any]] = []
        self.to_sdk: list[str] = []
        self.router = _front.Router(
            entries,
            write=lambda line: self.to_client.append(json.loads(line)),
            enqueue=self.to_sdk.append,
        )
        self.sdk_read = 0

    def sdk_runs(self) -> None:
        """The SDK reads every queued line and answers each request with its method."""
        self.router.stop_answering()
        while self.sdk_read < len(self.to_sdk):
            message = json.loads(self.to_sdk[self.sdk_read])
            self.sdk_read += 1
            if "id" in message and isinstance(message.get("method"), str):
                answer = {"jsonrpc": "2.0", "id": message["id"], "result": result(message)}
                line = self.router.on_server_line(json.dumps(answer))
                if line is not None:
                    self.to_client.append(json.loads(line))


def result(message: dict[str, Any]) -> dict[str, Any]:
    """What the simulated SDK answers: the same every time for the same request."""
    return {"method": message["method"], "params": message.get("params")}


INIT = {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t"}}
METHODS = ["initialize", "notifications/initialized", "tools/list", "tools/call", "ping"]


@st.composite
def conversations(draw: st.DrawFn) -> tuple[list[dict[str, Any]], int, bool]:
    methods = draw(st.lists(st.sampled_from(METHODS), max_size=24))
    messages: list[dict[str, Any]] = []
    for n, method in enumerate(methods):
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if method != "notifications/initialized":
            message["id"] = draw(st.sampled_from([n, str(n), f"autodocs-front-{n}"]))
        if method == "initialize":
            message["params"] = INIT
        messages.append(message)
    return messages, draw(st.integers(0, len(messages))), draw(st.booleans())


@given(conversations())
def test_every_request_gets_exactly_one_answer(
    case: tuple[list[dict[str, Any]], int, bool],
) -> None:
    """Whatever the sequence and whenever the SDK starts, each request is answered once.

    The SDK sees every message once, in the client's order; answers keep the client's ids.
    """
    messages, ready_at, with_snapshot = case
    entries: dict[str, Any] = {}
    if with_snapshot:
        init = {"method": "initialize", "params": INIT}
        entries[str(_front.entry_key("initialize", INIT, ""))] = init
        key = _front.entry_key("tools/list", None, INIT["protocolVersion"])
        entries[str(key)] = {"method": "tools/list", "params": None}
    wire = Wire(entries)
    for n, message in enumerate(messages):
        if n == ready_at:
            wire.sdk_runs()
        wire.router.on_client_line(json.dumps(message) + "\n")
        if n >= ready_at:
            wire.sdk_runs()
    wire.sdk_runs()
    requests = [m for m in messages if "id" in m]
    answered = [a["id"] for a in wire.to_client]
    assert sorted(map(repr, answered)) == sorted(repr(m["id"]) for m in requests)
    for message in requests:  # the answer to each id is the SDK's (or the identical snapshot)
        (answer,) = [a for a in wire.to_client if a["id"] == message["id"]]
        assert answer["result"] == result(message)
    seen = [json.loads(line) for line in wire.to_sdk]
    assert [m["method"] for m in seen] == [m["method"] for m in messages]
    assert not wire.router.mismatched
    if not with_snapshot:
        assert wire.router.answered == []


def test_the_handshake_is_answered_and_replayed_under_internal_ids() -> None:
    """With a snapshot: initialize and tools/list answered at once, the SDK gets them renamed."""
    init_key = str(_front.entry_key("initialize", INIT, ""))
    list_key = str(_front.entry_key("tools/list", None, "2025-11-25"))
    wire = Wire({init_key: {"v": 1}, list_key: {"tools": []}})
    for message in (
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": INIT},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
        {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "x"}},
        {"jsonrpc": "2.0", "id": 4, "method": "tools/list"},  # after a call: the SDK's
    ):
        wire.router.on_client_line(json.dumps(message))
    assert wire.to_client == [
        {"jsonrpc": "2.0", "id": 1, "result": {"v": 1}},
        {"jsonrpc": "2.0", "id": 2, "result": {"tools": []}},
    ]
    sent = [json.loads(line) for line in wire.to_sdk]
    assert str(sent[0]["id"]).startswith("autodocs-front-") and sent[1].get("id") is None
    assert str(sent[2]["id"]).startswith("autodocs-front-") and sent[3]["id"] == 3
    assert wire.router.answered == ["initialize", "tools/list"]
    wire.sdk_runs()
    assert [a["id"] for a in wire.to_client] == [1, 2, 3, 4]
    assert wire.router.mismatched == [init_key, list_key]  # the simulated SDK answers otherwise


def test_a_line_that_is_not_json_stops_the_answers() -> None:
    """After anything unusual, messages only queue: behaviour is the SDK's."""
    key = str(_front.entry_key("initialize", INIT, ""))
    wire = Wire({key: {"v": 1}})
    wire.router.on_client_line('{"jsonrpc": "2.0", "id": 0, "method": \n')
    wire.router.on_client_line(
        json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": INIT})
    )
    assert wire.to_client == []
    assert len(wire.to_sdk) == 2


# --- the snapshot file -------------------------------------------------------------------------


def test_snapshot_round_trip_and_untrusted_reads(tmp_path: Path) -> None:
    """Written atomically and read back; wrong key, shape, JSON or size read as no snapshot."""
    path = str(tmp_path / "_front" / "handshake.json")
    entries = {"initialize\n2025-11-25": {"protocolVersion": "2025-11-25"}}
    assert _front.save_snapshot(path, "k", entries)
    assert _front.load_snapshot(path, "k") == entries
    assert _front.load_snapshot(path, "other") == {}
    assert os.listdir(tmp_path / "_front") == ["handshake.json"]  # no temp file left
    for text in (
        "{",
        "[]",
        json.dumps({"format": 1, "key": "k", "entries": {"a": 1}}),
        json.dumps({"format": 2, "key": "k", "entries": entries}),
        json.dumps({"format": 1, "key": "k", "entries": entries}) + " " * (300 * 1024),
    ):
        Path(path).write_text(text)
        assert _front.load_snapshot(path, "k") == {}
    assert not _front.save_snapshot(path, "k", {"big": {"x": "y" * (300 * 1024)}})


def test_the_key_follows_settings_and_leaves_secrets_out() -> None:
    """The operator-tools setting changes the key; a token does not (nor is it written)."""
    base = {"AUTODOCS_INDEX_URL": "http://127.0.0.1:9"}
    key = _front.snapshot_key([], base)
    assert key is not None
    assert _front.snapshot_key([], {**base, "AUTODOCS_OPERATOR_TOOLS": "1"}) != key
    assert _front.snapshot_key(["--operator-tools", "1"], base) != key
    assert _front.snapshot_key([], {**base, "AUTODOCS_INDEX_TOKEN": "s3cret"}) == key
    assert _front.snapshot_key(["--token", "a"], base) == _front.snapshot_key(
        ["--token", "b"], base
    )


def test_the_front_imports_only_the_standard_library() -> None:
    """No SDK, anyio or core module is loaded by importing the front."""
    code = (
        "import sys, autodocs_mcp._front; "
        "print(' '.join(k for k, v in sys.modules.items() if v is not None))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, check=True, text=True
    )
    names = {n.split(".")[0] for n in loaded.stdout.split()}
    assert not names & {"mcp", "mcp_types", "anyio", "autodocs_core", "pydantic", "httpx"}


# --- end to end --------------------------------------------------------------------------------


@pytest.fixture
def anyio_backend() -> str:
    """Subprocess tests run once (on asyncio): the server under test is its own process."""
    return "asyncio"


def snapshot_file(tmp_path: Path) -> Path:
    return tmp_path / "cache" / "_front" / "handshake.json"


@asynccontextmanager
async def official_client(
    env: dict[str, str], errlog: Path, *, mode: str = "auto", roots: list[str] | None = None
) -> AsyncIterator[Client]:
    """The official client over stdio, the server's stderr kept in *errlog*."""

    async def list_roots(context: Any) -> ListRootsResult:
        return ListRootsResult(roots=[Root(uri=uri) for uri in roots or []])  # type: ignore[arg-type]

    params = StdioServerParameters(command=sys.executable, args=["-m", "autodocs_mcp"], env=env)
    with errlog.open("w") as log:
        async with Client(
            stdio_client(params, errlog=log),
            mode=mode,  # type: ignore[arg-type]
            list_roots_callback=list_roots if roots is not None else None,
        ) as client:
            yield client


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_later_start_answers_the_handshake_from_the_snapshot(
    projects: dict[str, Any], tmp_path: Path, mode: str
) -> None:
    """First start: as before, and the snapshot is written. Second: handshake from the snapshot.

    The second start holds the SDK until the client's tools/list has arrived, so the answer
    provably came from the front; tools then work, with progress and the client's roots. (The
    same client both times: in the per-request era its capabilities are part of each request.)
    """
    project = tmp_path / "workspace"
    project.mkdir()
    (project / "requirements.txt").write_text("attrs\n")
    log = tmp_path / "stderr.log"
    async with FaultIndex(projects) as index:
        env = server_env(index.url, tmp_path, AUTODOCS_LOG_LEVEL="DEBUG")
        with anyio.fail_after(60):
            async with official_client(env, log, mode=mode, roots=[project.as_uri()]) as client:
                first = await client.list_tools()
        assert ANSWERED_LOG not in log.read_text()
        assert snapshot_file(tmp_path).is_file()
        seen: list[tuple[float, float | None]] = []

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            seen.append((progress, total))

        env["_AUTODOCS_FRONT_HOLD"] = "tools/list"
        with anyio.fail_after(60):
            async with official_client(env, log, mode=mode, roots=[project.as_uri()]) as client:
                second = await client.list_tools()
                scan = await client.call_tool("scan_dependencies", {})
                many = await client.call_tool(
                    "get_docs_for_packages",
                    {"packages": ["attrs", "nope-nope"], "max_tokens_per_package": 300},
                    progress_callback=on_progress,
                )
    text = log.read_text()
    assert ANSWERED_LOG in text and "tools/list" in text.split(ANSWERED_LOG)[1].splitlines()[0]
    assert "differed" not in text
    assert second.model_dump() == first.model_dump()
    assert not scan.is_error, scan.content
    assert [d["name"] for d in scan.structured_content["dependencies"]] == ["attrs"]
    assert not many.is_error and seen and seen[-1] == (2, 2)


@pytest.mark.anyio
async def test_a_snapshot_of_other_settings_is_not_used(
    projects: dict[str, Any], tmp_path: Path
) -> None:
    """Operator tools turned on after the snapshot: the SDK answers (more tools), rewrites it."""
    log = tmp_path / "stderr.log"
    async with FaultIndex(projects) as index:
        env = server_env(index.url, tmp_path, AUTODOCS_LOG_LEVEL="DEBUG")
        with anyio.fail_after(60):
            async with official_client(env, log) as client:
                assert len((await client.list_tools()).tools) == 5
        before = json.loads(snapshot_file(tmp_path).read_text())["key"]
        env["AUTODOCS_OPERATOR_TOOLS"] = "1"
        with anyio.fail_after(60):
            async with official_client(env, log) as client:
                assert len((await client.list_tools()).tools) > 5
    assert ANSWERED_LOG not in log.read_text()
    assert json.loads(snapshot_file(tmp_path).read_text())["key"] != before


@pytest.mark.anyio
async def test_a_corrupt_or_oversized_snapshot_is_ignored(
    projects: dict[str, Any], tmp_path: Path
) -> None:
    """Truncated, wrongly shaped or padded past the size bound: ignored, then rewritten."""
    log = tmp_path / "stderr.log"
    async with FaultIndex(projects) as index:
        env = server_env(index.url, tmp_path, AUTODOCS_LOG_LEVEL="DEBUG")
        with anyio.fail_after(60):
            async with official_client(env, log) as client:
                expected = (await client.list_tools()).model_dump()
        good = snapshot_file(tmp_path).read_text()
        data = json.loads(good)
        wrong_shape = json.dumps({**data, "entries": {k: [1] for k in data["entries"]}})
        for bad in (good[: len(good) // 2], wrong_shape, good + " " * (300 * 1024)):
            snapshot_file(tmp_path).write_text(bad)
            with anyio.fail_after(60):
                async with official_client(env, log) as client:
                    assert (await client.list_tools()).model_dump() == expected
            assert ANSWERED_LOG not in log.read_text()
            assert snapshot_file(tmp_path).read_text() == good  # rewritten from the SDK


@pytest.mark.anyio
async def test_an_early_tool_call_is_answered_once(tmp_path: Path) -> None:
    """A tools/call sent before the SDK is ready is queued and answered once, by the SDK."""
    env = server_env(
        "http://127.0.0.1:9", tmp_path, AUTODOCS_OFFLINE="1", AUTODOCS_LOG_LEVEL="DEBUG"
    )
    for hold in ("", "tools/call"):  # the first start writes the snapshot
        env["_AUTODOCS_FRONT_HOLD"] = hold
        log = tmp_path / f"stderr{bool(hold)}.log"
        with log.open("w") as errlog:
            process = await anyio.open_process(
                [sys.executable, "-m", "autodocs_mcp"], env=env, stderr=errlog
            )
        session = RawSession(process)
        try:
            with anyio.fail_after(60):
                await session.initialize()
                call = await session.send(
                    "tools/call",
                    {"name": "get_package_docs", "arguments": {"package_name": "attrs"}},
                )
                ping = await session.send("ping")
                answers = [await session.receive()]
                while answers[-1].get("id") != ping:
                    answers.append(await session.receive())
                assert process.stdin is not None
                await process.stdin.aclose()
                rest = b""
                assert process.stdout is not None
                async for chunk in process.stdout:
                    rest += chunk
                await process.wait()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        answers += [json.loads(line) for line in rest.splitlines() if line.strip()]
        assert [a.get("id") for a in answers if "id" in a].count(call) == 1
        assert (ANSWERED_LOG in log.read_text()) == bool(hold)


@pytest.mark.anyio
async def test_a_snapshot_the_sdk_contradicts_is_reported_and_rewritten(
    projects: dict[str, Any], tmp_path: Path
) -> None:
    """A snapshot under the right key but with other content: served once, warned, rewritten."""
    log = tmp_path / "stderr.log"
    async with FaultIndex(projects) as index:
        env = server_env(index.url, tmp_path)
        with anyio.fail_after(60):
            async with official_client(env, log, mode="legacy") as client:
                expected = (await client.list_tools()).model_dump()
        good = snapshot_file(tmp_path).read_text()
        data = json.loads(good)
        tampered = {
            k: {**v, "tools": []} if k.startswith("tools/list") else v
            for k, v in data["entries"].items()
        }
        snapshot_file(tmp_path).write_text(json.dumps({**data, "entries": tampered}))
        env["_AUTODOCS_FRONT_HOLD"] = "tools/list"
        with anyio.fail_after(60):
            async with official_client(env, log, mode="legacy") as client:
                assert (await client.list_tools()).tools == []  # what the snapshot said
                # queued after the replayed tools/list: the SDK has answered both by its answer
                await client.call_tool("get_package_docs", {"package_name": "attrs"})
        assert "snapshot differed" in log.read_text()
        assert json.loads(snapshot_file(tmp_path).read_text()) == json.loads(good)
        env.pop("_AUTODOCS_FRONT_HOLD")
        with anyio.fail_after(60):
            async with official_client(env, log, mode="legacy") as client:
                assert (await client.list_tools()).model_dump() == expected
