"""Start and stop a local fleet: one redis-server and N server replicas, as processes.

``python -m benchmarks._fleet [--replicas 3] [--index-url URL] [--redis-url URL]`` (what
``nox -s fleet`` runs) starts redis-server on a free loopback port (unless ``--redis-url`` names
one), then N replicas (``autodocs-mcp --transport http --port 0``) with ``AUTODOCS_REDIS_URL``
set and a cache directory each, prints their URLs, and stops them all by pid on Ctrl-C or
SIGTERM. The fleet benchmark uses the same :class:`Fleet`.

Only loopback addresses are used; nothing is left running: every process is started in its own
session and stopped by its pid (SIGTERM, then SIGKILL after a grace period).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

__all__ = ["Fleet", "Process", "RedisProcess", "free_port", "main"]

START_TIMEOUT = 60.0  # seconds a replica may take to announce its port (cold imports, 2 cores)
STOP_GRACE = 10.0  # seconds a process gets after SIGTERM before SIGKILL


def free_port() -> int:
    """Return a loopback TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def redis_server_binary() -> str | None:
    """Return redis-server (or valkey-server) from PATH, or ``None``."""
    return shutil.which("redis-server") or shutil.which("valkey-server")


def ping(port: int, *, timeout: float = 0.2) -> bool:
    """One short PING over a raw socket (no client library, no retries)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class Process:
    """A child process in its own session, stopped by pid; its stderr's last lines are kept."""

    def __init__(self, name: str, args: Sequence[str], env: Mapping[str, str]) -> None:
        self.name = name
        self.proc = subprocess.Popen(
            list(args),
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # Ctrl-C reaches us only; we stop the children in order
        )
        self.tail: collections.deque[str] = collections.deque(maxlen=200)
        self._announced = threading.Event()
        self.announcement: dict[str, object] | None = None
        self._reader = threading.Thread(target=self._drain, name=f"{name}-stderr", daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        """The process id."""
        return self.proc.pid

    def _drain(self) -> None:
        """Read stderr to the end (a full pipe would block the child); remember the last lines."""
        stream: IO[bytes] | None = self.proc.stderr
        assert stream is not None
        for raw in stream:
            line = raw.decode("utf-8", "replace").rstrip()
            self.tail.append(line)
            if self.announcement is None and "listening on" in line:
                try:
                    found = json.loads(line)
                except ValueError:
                    continue
                if isinstance(found, dict):
                    self.announcement = found
                    self._announced.set()
        self._announced.set()  # the stream ended: the waiter sees that no announcement came

    def wait_announced(self, timeout: float) -> dict[str, object]:
        """Return the server's ``listening on`` log line, or raise if it exits or is late."""
        if not self._announced.wait(timeout) or self.announcement is None:
            self.stop()
            shown = "\n".join(list(self.tail)[-20:])
            raise RuntimeError(f"{self.name} did not start (exit {self.proc.poll()}):\n{shown}")
        return self.announcement

    def stop(self, grace: float = STOP_GRACE) -> int | None:
        """SIGTERM it by pid, SIGKILL after *grace* seconds; return the exit code."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGCONT)  # a stopped process cannot exit
                os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=grace)
        self._reader.join(timeout=grace)
        if self.proc.stderr is not None and not self._reader.is_alive():
            self.proc.stderr.close()
        return self.proc.returncode


class RedisProcess(Process):
    """redis-server (or valkey-server) on a free loopback port: no persistence, no password."""

    def __init__(self, directory: Path, *, port: int | None = None) -> None:
        binary = redis_server_binary()
        if binary is None:
            raise RuntimeError(
                "redis-server is not on PATH (Debian/Ubuntu: apt-get install redis-server), "
                "or pass --redis-url"
            )
        self.port = port or free_port()
        args = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        args += ["--appendonly", "no", "--dir", str(directory), "--maxmemory", "256mb"]
        args += ["--maxmemory-policy", "allkeys-lru"]
        super().__init__("redis-server", args, os.environ)

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:PORT/0``."""
        return f"redis://127.0.0.1:{self.port}/0"

    def wait_ready(self, timeout: float = 20.0) -> None:
        """Wait (short connection attempts, bounded) until it answers PING."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            if ping(self.port):
                return
            time.sleep(0.01)  # between connection attempts
        self.stop()
        raise RuntimeError(f"redis-server did not answer PING: {list(self.tail)[-5:]}")


class Fleet:
    """redis-server plus *replicas* server processes, started in order, stopped in reverse.

    Args:
        replicas: How many server processes.
        index_url: ``AUTODOCS_INDEX_URL`` of every replica (default: the environment's).
        redis_url: An existing Redis to use instead of starting one.
        env: Extra environment for the replicas (``AUTODOCS_*`` settings).
        directory: Where caches and Redis' files go (default: a temporary directory).
        command: The server command (default: ``python -m autodocs_mcp``).

    Attributes:
        urls: The replicas' MCP endpoints (``http://127.0.0.1:PORT/mcp``), once started.
    """

    def __init__(
        self,
        replicas: int = 3,
        *,
        index_url: str | None = None,
        redis_url: str | None = None,
        env: Mapping[str, str] | None = None,
        directory: Path | None = None,
        command: Sequence[str] = (sys.executable, "-m", "autodocs_mcp"),
    ) -> None:
        if not 1 <= replicas <= 32:
            raise ValueError("replicas must be between 1 and 32")
        self.replicas = replicas
        self.index_url = index_url
        self.given_redis_url = redis_url
        self.extra_env = dict(env or {})
        self.command = tuple(command)
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.directory = directory
        self.redis: RedisProcess | None = None
        self.servers: list[Process] = []
        self.urls: list[str] = []

    @property
    def redis_url(self) -> str:
        """The Redis every replica shares."""
        if self.given_redis_url is not None:
            return self.given_redis_url
        assert self.redis is not None, "the fleet is not started"
        return self.redis.url

    def start(self) -> Fleet:
        """Start Redis (unless given) and the replicas; return once every one listens."""
        if self.directory is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="autodocs-fleet-")
            self.directory = Path(self._tmp.name)
        try:
            if self.given_redis_url is None:
                self.redis = RedisProcess(self.directory)
                self.redis.wait_ready()
            for i in range(self.replicas):
                self.servers.append(self._start_replica(i))
            for server in self.servers:
                found = server.wait_announced(START_TIMEOUT)
                self.urls.append(f"http://127.0.0.1:{found['port']}/mcp")
        except BaseException:
            self.stop()
            raise
        return self

    def _start_replica(self, i: int) -> Process:
        assert self.directory is not None
        env = {k: v for k, v in os.environ.items() if not k.startswith("AUTODOCS_")}
        env.update(
            {
                "AUTODOCS_REDIS_URL": self.redis_url,
                "AUTODOCS_CACHE_DIR": str(self.directory / f"replica-{i + 1}"),
                "AUTODOCS_SHUTDOWN_GRACE": "5",
            }
        )
        if self.index_url is not None:
            env["AUTODOCS_INDEX_URL"] = self.index_url
        elif "AUTODOCS_INDEX_URL" in os.environ:
            env["AUTODOCS_INDEX_URL"] = os.environ["AUTODOCS_INDEX_URL"]
        env.update(self.extra_env)
        args = [*self.command, "--transport", "http", "--host", "127.0.0.1", "--port", "0"]
        return Process(f"replica-{i + 1}", args, env)

    def pids(self) -> list[int]:
        """The pids of every process the fleet started (replicas, then Redis)."""
        found = [s.pid for s in self.servers]
        if self.redis is not None:
            found.append(self.redis.pid)
        return found

    def stop(self) -> dict[str, int | None]:
        """Stop the replicas (SIGTERM: they drain), then Redis; return each exit code."""
        codes: dict[str, int | None] = {}
        for server in self.servers:
            codes[server.name] = server.stop()
        if self.redis is not None:
            codes[self.redis.name] = self.redis.stop()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
        return codes

    def __enter__(self) -> Fleet:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _wait_for_signal() -> None:
    """Block until SIGINT or SIGTERM (Ctrl-C, or nox being stopped)."""
    received = threading.Event()

    def handler(signum: int, frame: object) -> None:
        received.set()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not received.wait(3600):
            pass
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def main(argv: Sequence[str] | None = None) -> int:
    """Start a fleet, print its URLs, stop it on Ctrl-C."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks._fleet")
    parser.add_argument("--replicas", type=int, default=3, help="server processes (default 3)")
    parser.add_argument("--index-url", help="AUTODOCS_INDEX_URL (default: the environment's)")
    parser.add_argument("--redis-url", help="use this Redis instead of starting redis-server")
    args = parser.parse_args(argv)
    fleet = Fleet(args.replicas, index_url=args.index_url, redis_url=args.redis_url)
    fleet.start()
    try:
        print(f"redis:   {fleet.redis_url}" + (f" (pid {fleet.redis.pid})" if fleet.redis else ""))
        for url, server in zip(fleet.urls, fleet.servers, strict=True):
            print(f"replica: {url} (pid {server.pid})")
        print("Ctrl-C stops them all.", flush=True)
        _wait_for_signal()
    finally:
        codes = fleet.stop()
        print("stopped: " + ", ".join(f"{k} exit {v}" for k, v in codes.items()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
