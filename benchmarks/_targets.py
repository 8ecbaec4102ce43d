"""What a fault-lab scenario calls: the core API, our MCP server, or the peer's MCP server.

Every target answers ``await target.call(package)`` with an outcome: ``"ok"``, ``"stale"``
(served from the cache because the index failed) or the failure's type. The MCP targets run
the server as a subprocess over stdio and talk to it through the official ``mcp`` client, so
their figures include the protocol, the JSON encoding and the process boundary.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Protocol

import anyio

from autodocs_core.config import Settings
from autodocs_core.errors import AutodocsError
from autodocs_core.service import DocsService

CALL_CAP = 120.0
"""The client gives up on one MCP call after this many seconds (counted as ``no_answer``)."""

OURS = str(Path(sys.executable).with_name("autodocs-mcp"))
"""Our server's console script, in the interpreter's environment."""


class Target(Protocol):
    """Something a scenario can ask for package docs."""

    label: str

    async def call(self, package: str) -> str:
        """Ask for one package's docs; return the outcome."""
        ...

    async def breaker_transitions(self) -> int | None:
        """Circuit-breaker transitions so far (``None`` when the target does not report them)."""
        ...

    async def metrics(self) -> dict[str, Any] | None:
        """The service's metrics snapshot (``None`` when the target does not report one)."""
        ...

    def pid(self) -> int | None:
        """The server process, when there is one."""
        ...


class CoreTarget:
    """``DocsService.get_docs`` in this process."""

    label = "core API"

    def __init__(self, service: DocsService) -> None:
        self.service = service

    async def call(self, package: str) -> str:
        """Ask the service directly."""
        try:
            answer = await self.service.get_docs(package, max_tokens=1000)
        except AutodocsError as exc:
            return exc.error_type
        return "stale" if answer.stale else "ok"

    async def breaker_transitions(self) -> int | None:
        """Read the service's metrics."""
        return _transitions(self.service.metrics_snapshot())

    async def metrics(self) -> dict[str, Any] | None:
        """The service's metrics snapshot (hedges, breakers, retries, ...)."""
        return self.service.metrics_snapshot()

    async def probe(self) -> str:
        """Run the service's health checks once; return the overall status."""
        return str((await self.service.health()).status)

    def pid(self) -> int | None:
        """No server process: the core runs in the benchmark's process."""
        return None


class McpTarget:
    """An MCP server subprocess, through the official client."""

    def __init__(self, client: Any, *, label: str, peer: bool, pid: int | None) -> None:
        self.client = client
        self.label = label
        self.peer = peer
        self._pid = pid

    async def call(self, package: str) -> str:
        """Call the server's ``get_package_docs`` tool."""
        arguments: dict[str, Any] = {"package_name": package}
        if not self.peer:
            arguments["max_tokens"] = 1000
        return await self.call_tool("get_package_docs", arguments)

    async def call_tool(self, tool: str, arguments: dict[str, Any]) -> str:
        """Call any tool; classify the answer (ours: ``isError`` payloads; peer: ``success``)."""
        with anyio.move_on_after(CALL_CAP):
            try:
                result = await self.client.call_tool(tool, arguments)
            except Exception as exc:  # a broken session is an outcome to count
                return f"client_{type(exc).__name__}"
            return _outcome(result, peer=self.peer)
        return "no_answer"

    async def breaker_transitions(self) -> int | None:
        """Ask our server's ``get_metrics`` tool (the peer's metrics have no breaker count)."""
        metrics = await self.metrics()
        return None if metrics is None else _transitions(metrics)

    async def metrics(self) -> dict[str, Any] | None:
        """Our server's ``get_metrics`` snapshot (the peer has no such tool)."""
        if self.peer:
            return None
        result = await self.client.call_tool("get_metrics", {})
        return dict(result.structured_content["metrics"])

    def pid(self) -> int | None:
        """The server's process id (found among this process's children)."""
        return self._pid


def _transitions(metrics: Mapping[str, Any]) -> int:
    """Breaker transitions in a metrics snapshot (``DocsService.metrics_snapshot`` shape)."""
    return sum(c["count"] for c in metrics["breaker_transitions"])


def _outcome(result: Any, *, peer: bool) -> str:
    content = result.structured_content or {}
    if peer:
        if content.get("success"):
            return "ok"
        error = content.get("error") or {}
        return str(error.get("code") or "error") if isinstance(error, dict) else "error"
    if result.is_error:
        try:
            return str(json.loads(result.content[0].text)["error_type"])
        except (ValueError, KeyError, IndexError, AttributeError):
            return "error"
    return "stale" if content.get("stale") else "ok"


def children() -> set[int]:
    """Process ids whose parent is this process (Linux ``/proc``)."""
    found = set()
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == me:
            found.add(int(entry.name))
    return found


def process_sample(pid: int) -> dict[str, int]:
    """Resident memory (bytes), open sockets and other open descriptors of process *pid*.

    Sockets are counted apart: the HTTP pool keeps up to ``max_connections`` of them alive and
    their number moves with the traffic; any other descriptor (files, pipes) should not move.
    """
    rss = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) * 1024
    sockets = other = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue  # closed while we looked
        if link.startswith("socket:"):
            sockets += 1
        else:
            other += 1
    return {"rss_bytes": rss, "sockets": sockets, "other_fds": other}


def server_env(extra: Mapping[str, str]) -> dict[str, str]:
    """The benchmark's environment without any AUTODOCS_* setting, plus *extra*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTODOCS_")}
    env["AUTODOCS_OPERATOR_TOOLS"] = "1"  # the lab reads breaker transitions via get_metrics
    env.update(extra)
    return env


@asynccontextmanager
async def open_mcp(
    command: str, env: Mapping[str, str], *, label: str, peer: bool
) -> AsyncIterator[McpTarget]:
    """Start a stdio MCP server *command* and connect the official client to it."""
    before = children()
    async with _connected(command, env) as client:
        new = children() - before
        yield McpTarget(client, label=label, peer=peer, pid=min(new) if new else None)


@asynccontextmanager
async def _connected(command: str, env: Mapping[str, str]) -> AsyncIterator[Any]:
    """Spawn *command* as a stdio MCP server; yield the official client, initialised."""
    from mcp.client.stdio import stdio_client

    from mcp import Client, StdioServerParameters

    params = StdioServerParameters(command=command, args=[], env=server_env(env))
    with tempfile.TemporaryFile("w+") as errlog:  # the server's stderr: logs, kept off the table
        async with Client(stdio_client(params, errlog=errlog)) as client:
            yield client


@asynccontextmanager
async def open_target(
    mode: str, index_url: str, cache_dir: str, env: Mapping[str, str], peer_command: str | None
) -> AsyncIterator[Target]:
    """Open the target *mode* (``core``, ``mcp`` or ``peer``) against the lab index."""
    ours = {"AUTODOCS_INDEX_URL": index_url, "AUTODOCS_CACHE_DIR": cache_dir, **env}
    if mode == "core":
        async with DocsService(Settings.from_env(ours)) as service:
            yield CoreTarget(service)
    elif mode == "mcp":
        async with open_mcp(OURS, ours, label="autodocs-mcp", peer=False) as target:
            yield target
    elif mode == "peer":
        assert peer_command is not None
        # The peer accepts only pypi.org or localhost URLs; the lab listens on 127.0.0.1.
        peer_env = {
            "AUTODOCS_PYPI_URL": index_url.replace("127.0.0.1", "localhost") + "/pypi",
            "AUTODOCS_CACHE_DIR": cache_dir,
        }
        async with open_mcp(peer_command, peer_env, label="autodoc-mcp", peer=True) as target:
            yield target
    else:
        raise ValueError(f"unknown target mode {mode!r}")


def peer_version(command: str) -> str:
    """The installed version of ``autodoc-mcp`` beside the peer's console script *command*."""
    python = Path(command).with_name("python")
    found = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('autodoc-mcp'))"],
        capture_output=True,
        text=True,
        check=False,
    )
    return found.stdout.strip() or "unknown"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process *pid* so far, all its threads (Linux ``/proc``)."""
    # "pid (comm) state ppid ...": utime and stime are fields 14 and 15.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _run_timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait
    if proc.returncode:
        raise RuntimeError(f"{argv} exited with {proc.returncode}")
    return wall, usage.ru_utime + usage.ru_stime


async def time_to_exit(argv: list[str], env: Mapping[str, str]) -> tuple[float, float]:
    """Wall-clock and CPU seconds of *argv* from start to exit: start-up reference points."""
    return await anyio.to_thread.run_sync(_run_timed, argv, server_env(env))


HANDSHAKE = b"".join(
    json.dumps(m).encode() + b"\n"
    for m in (
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "bench", "version": "1"},
            },
        },
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
    )
)
"""``initialize``, ``initialized`` and ``tools/list``, as a client writes them to stdin."""


def import_times(argv: list[str], env: Mapping[str, str], *, server: bool) -> dict[str, float]:
    """Import time (seconds of ``-X importtime`` self time) per top-level package.

    *argv* runs with ``PYTHONPROFILEIMPORTTIME`` set and the handshake on stdin (then end of
    input, so a *server* answers ``tools/list`` and exits): what it imports before and while
    answering. ``-X importtime`` slows imports down (each figure is inflated alike): read the
    shares, not the absolute times.
    """
    with tempfile.TemporaryFile() as err:  # can exceed a pipe's buffer: not a pipe
        with subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
            env=server_env({**env, "PYTHONPROFILEIMPORTTIME": "1"}),
        ) as proc:
            assert proc.stdin is not None
            assert proc.stdout is not None
            watchdog = threading.Timer(300, proc.kill)
            watchdog.start()
            answered = not server
            try:
                if server:
                    proc.stdin.write(HANDSHAKE)
                    proc.stdin.flush()
                    # Until the tools/list answer: a server may quit at the end of its input
                    # before answering what it already read.
                    for line in proc.stdout:
                        if line.startswith(b"{") and json.loads(line).get("id") == 2:
                            answered = True
                            break
                proc.stdin.close()
                proc.stdout.read()
                proc.wait()
            finally:
                watchdog.cancel()
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    if not answered:
        raise RuntimeError(f"{argv} gave no tools/list answer: {stderr[-2000:]!r}")
    totals: dict[str, float] = {}
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _, name = line[len("import time:") :].split("|")
        package = name.strip().split(".")[0]
        totals[package] = totals.get(package, 0.0) + int(self_us) / 1e6
    return totals


async def time_to_first_list(command: str, env: Mapping[str, str]) -> tuple[float, float]:
    """Seconds from starting the server process to the answer of the first ``tools/list``.

    Returns the wall-clock time and the server process's CPU time (user + system) until
    then: the CPU time moves less with other load on the machine.
    """
    before = children()
    started = time.perf_counter()
    async with _connected(command, env) as client:
        await client.list_tools()
        wall = time.perf_counter() - started
        new = children() - before
        cpu = sum(cpu_seconds(pid) for pid in new)
        return wall, cpu
