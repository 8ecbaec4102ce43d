"""The handshake front of the stdio transport: answers the first requests while the SDK loads.

Importing the MCP SDK is most of the server's start-up. The front (standard library only) reads
stdin from the first moment; while the SDK is not serving yet it answers ``initialize``,
``server/discover`` and ``tools/list`` from a **snapshot** of the SDK's own answers saved by an
earlier start, and only when the snapshot was taken under the same key (our version and source
files, the SDK's version, the Python, the arguments and ``AUTODOCS_*`` settings). Every other
message is queued for the SDK. When the SDK starts reading, it gets every client message in the
original order; the requests the front answered are passed on under internal ids, and the SDK's
answers to those are swallowed (and compared with the snapshot), so the session state is exactly
what it would have been and no request is answered twice.

The snapshot (``<cache dir>/_front/handshake.json``) is written from the SDK's real answers when it
is missing or differs; it is read as untrusted data (bounded size, checked shape).
``AUTODOCS_FAST_HANDSHAKE=0`` turns the front off.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import queue
import sys
import threading
from collections.abc import Callable, Sequence
from typing import IO, Any

__all__ = ["Front", "Router", "entry_key", "load_snapshot", "save_snapshot", "start"]

SNAPSHOT_FORMAT = 1
MAX_SNAPSHOT_BYTES = 256 * 1024
"""A snapshot file larger than this is ignored (and never written)."""
MAX_ENTRIES = 32
"""At most this many answers are kept in a snapshot."""
MAX_PARSED_LINE = 1024 * 1024
"""Lines longer than this are passed on without being looked at."""
MAX_KEY_PARAMS = 8192
"""Requests whose parameters serialise longer than this are never answered from a snapshot."""
QUEUE_SIZE = 1000
"""Client messages held for the SDK; past this, the front stops reading (pipe back-pressure)."""
MAX_RECORDED_REQUESTS = 16
"""Only the connection's first requests are looked at (and their answers recorded)."""
MAX_SERVER_LINES = 256
"""The server's first lines are looked at for the answers to record; later ones pass."""
HOLD_SECONDS = 30.0
"""Test hook bound: how long the SDK's start may be held (``_AUTODOCS_FRONT_HOLD``)."""

ANSWERED = frozenset({"initialize", "server/discover", "tools/list"})
"""The requests the front can answer from a snapshot."""
_DISABLED = frozenset({"0", "false", "no", "off"})
_SECRET_WORDS = ("TOKEN", "PASSWORD")
_EOF = object()


def _log() -> Any:
    import logging

    return logging.getLogger("autodocs")


def _id_key(request_id: object) -> tuple[str, object] | None:
    """A hashable key for a JSON-RPC id that keeps ``1`` and ``"1"`` apart (None: not an id)."""
    if isinstance(request_id, bool) or not isinstance(request_id, (int, str)):
        return None
    return (type(request_id).__name__, request_id)


def entry_key(method: object, params: object, context: str) -> str | None:
    """The snapshot key of a request, or None when it is never answered from a snapshot.

    ``initialize`` is keyed by the requested ``protocolVersion``; ``server/discover`` by its
    parameters; ``tools/list`` by the protocol version of the connection's ``initialize``
    (*context*, empty in the per-request era) and its parameters.
    """
    if method not in ANSWERED or not (params is None or isinstance(params, dict)):
        return None
    if method == "initialize":
        version = params.get("protocolVersion") if params else None
        return f"initialize\n{version}" if isinstance(version, str) and len(version) < 64 else None
    canonical = json.dumps(params or {}, sort_keys=True, separators=(",", ":"))
    if len(canonical) > MAX_KEY_PARAMS:
        return None
    if method == "tools/list":
        return f"tools/list\n{context[:64]}\n{canonical}"
    return f"{method}\n{canonical}"


def _parse(line: str) -> dict[str, Any] | None:
    if len(line) > MAX_PARSED_LINE:
        return None
    try:
        message = json.loads(line)
    except ValueError:
        return None
    return message if isinstance(message, dict) else None


class Router:
    """Decides, per client line, to answer it from the snapshot or queue it for the SDK.

    Thread-safe: client lines arrive on the reader thread, server lines on the SDK's writer.

    Args:
        entries: The snapshot's answers (``entry_key`` → result); empty when there is none.
        write: Writes one line (without newline) to the client.
        enqueue: Hands one line to the SDK (in call order).
    """

    def __init__(
        self,
        entries: dict[str, Any],
        *,
        write: Callable[[str], None],
        enqueue: Callable[[str], None],
    ) -> None:
        self.entries = dict(entries)
        self.recorded: dict[str, Any] = {}
        """The SDK's real answers seen in this run (``entry_key`` → result)."""
        self.answered: list[str] = []
        """Methods the front answered from the snapshot, in order."""
        self.mismatched: list[str] = []
        """Snapshot entries the SDK answered differently (should never happen)."""
        self.seen: dict[str, threading.Event] = {}
        self._write = write
        self._enqueue = enqueue
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, object], tuple[str, bool]] = {}
        self._context = ""
        self._initialize_seen = False
        self._requests = 0
        self._lines = 0
        self._server_lines = 0
        self._front_initialized = False
        self._answering = True
        self._prefix = f"autodocs-front-{os.urandom(8).hex()}-"
        self._count = 0

    def stop_answering(self) -> None:
        """The SDK is serving: from now on every message goes to it."""
        with self._lock:
            self._answering = False

    def event(self, method: str) -> threading.Event:
        """Set once a client message with *method* has been routed."""
        return self.seen.setdefault(method, threading.Event())

    def on_client_line(self, line: str) -> None:
        """Route one line read from the client (answer it and pass it on renamed, or pass it)."""
        with self._lock:
            self._lines += 1
            settled = not self._answering and self._lines > MAX_RECORDED_REQUESTS
        if settled:  # past the handshake: passed on without being parsed
            self._enqueue(line)
            return
        message = _parse(line)
        answer: str | None = None
        forward = line
        with self._lock:
            if message is None:
                self._answering = False
                method: object = None
            else:
                method = message.get("method")
                request_id = message.get("id")
                params = message.get("params")
                is_request = isinstance(method, str) and _id_key(request_id) is not None
                # The era is decided by the first request: initialize is answered only as the
                # first request, discover only without one, tools/list only after the front's
                # initialize (or in the per-request era).
                allowed = {
                    "initialize": self._requests == 0,
                    "server/discover": not self._initialize_seen,
                    "tools/list": self._front_initialized or not self._initialize_seen,
                }.get(str(method), False)
                if is_request:
                    self._requests += 1
                if is_request and method == "initialize":
                    self._initialize_seen = True
                    version = params.get("protocolVersion") if isinstance(params, dict) else None
                    self._context = version[:64] if isinstance(version, str) else ""
                looked_at = is_request and self._requests <= MAX_RECORDED_REQUESTS
                key = entry_key(method, params, self._context) if looked_at else None
                if key is not None and self._answering and allowed and key in self.entries:
                    self._count += 1
                    internal = f"{self._prefix}{self._count}"
                    self._pending[("str", internal)] = (key, True)
                    forward = json.dumps({**message, "id": internal}, ensure_ascii=False)
                    answer = json.dumps(
                        {"jsonrpc": "2.0", "id": request_id, "result": self.entries[key]},
                        ensure_ascii=False,
                        separators=(",", ":"),
                    )
                    self.answered.append(str(method))
                    if method == "initialize":
                        self._front_initialized = True
                else:
                    if key is not None:
                        self._pending[_id_key(request_id)] = (key, False)  # type: ignore[index]
                    if method != "notifications/initialized":
                        self._answering = False
            if isinstance(method, str):
                self.event(method)
        if answer is not None:
            self._write(answer)
        self._enqueue(forward)
        if isinstance(method, str):
            self.seen[method].set()

    def on_server_line(self, line: str) -> str | None:
        """Record an answer of the SDK; return the line to write, or None to swallow it."""
        with self._lock:
            self._server_lines += 1
            if self._server_lines > MAX_SERVER_LINES:
                self._pending.clear()  # an answer that never came: stop looking
            if not self._pending:
                return line
        message = _parse(line)
        if message is None or "method" in message:
            return line
        key = _id_key(message.get("id"))
        with self._lock:
            entry = self._pending.pop(key, None) if key is not None else None
            if entry is None:
                return line
            name, internal = entry
            if "result" in message:
                self.recorded[name] = message["result"]
            if internal and self.entries.get(name) != message.get("result"):
                self.mismatched.append(name)
        return None if internal else line


def load_snapshot(path: str, key: str) -> dict[str, Any]:
    """The answers of the snapshot at *path* taken under *key*; empty if absent or unusable."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return {}
    try:
        with os.fdopen(fd, "rb") as file:
            if os.fstat(file.fileno()).st_size > MAX_SNAPSHOT_BYTES:
                return {}
            raw = file.read(MAX_SNAPSHOT_BYTES + 1)
        data = json.loads(raw)
    except (OSError, ValueError):
        return {}
    if len(raw) > MAX_SNAPSHOT_BYTES or not isinstance(data, dict):
        return {}
    entries = data.get("entries")
    if data.get("format") != SNAPSHOT_FORMAT or data.get("key") != key:
        return {}
    if not isinstance(entries, dict) or len(entries) > MAX_ENTRIES:
        return {}
    if not all(isinstance(k, str) and isinstance(v, dict) for k, v in entries.items()):
        return {}
    return entries


def save_snapshot(path: str, key: str, entries: dict[str, Any]) -> bool:
    """Write *entries* under *key* to *path* atomically; False if too large or not writable."""
    data = {"format": SNAPSHOT_FORMAT, "key": key, "entries": entries}
    raw = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    if len(raw) > MAX_SNAPSHOT_BYTES or len(entries) > MAX_ENTRIES:
        return False
    temp = f"{path}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as file:
            file.write(raw)
        os.replace(temp, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        return False
    return True


def _option(argv: Sequence[str], name: str) -> str | None:
    """The value of ``--name VALUE`` / ``--name=VALUE`` in *argv* (the last one wins)."""
    found = None
    for i, arg in enumerate(argv):
        if arg == name and i + 1 < len(argv):
            found = argv[i + 1]
        elif arg.startswith(name + "="):
            found = arg[len(name) + 1 :]
    return found


def wanted(argv: Sequence[str], env: dict[str, str]) -> bool:
    """Whether the command line serves stdio and the front is not turned off."""
    if env.get("AUTODOCS_FAST_HANDSHAKE", "1").strip().lower() in _DISABLED:
        return False
    if any(a in ("-h", "--help", "--version") for a in argv):
        return False
    return (_option(argv, "--transport") or "stdio") == "stdio"


def snapshot_path(argv: Sequence[str], env: dict[str, str]) -> str | None:
    """``<cache dir>/_front/handshake.json``, the cache directory resolved as Settings does."""
    cache = _option(argv, "--cache-dir") or env.get("AUTODOCS_CACHE_DIR", "").strip()
    if cache:
        cache = os.path.expanduser(cache)
    elif sys.platform.startswith("linux"):  # platformdirs' rule, without its import
        base = env.get("XDG_CACHE_HOME", "").strip() or os.path.expanduser("~/.cache")
        cache = os.path.join(base, "autodocs")
    else:  # pragma: no cover - other platforms pay platformdirs' import
        import platformdirs

        cache = platformdirs.user_cache_dir("autodocs", appauthor=False)
    if not os.path.isabs(cache):
        return None
    return os.path.join(cache, "_front", "handshake.json")


def _sources(directory: str) -> list[tuple[str, int, int]]:
    found = []
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith((".py", ".json")):
                stat = os.stat(os.path.join(root, name))
                found.append(
                    (
                        os.path.relpath(os.path.join(root, name), directory),
                        stat.st_mtime_ns,
                        stat.st_size,
                    )
                )
    return found


def snapshot_key(argv: Sequence[str], env: dict[str, str]) -> str | None:
    """A digest of everything the SDK's first answers depend on; None if the SDK is not found.

    Our source files (path, mtime, size) and the installed distributions' versions (from the
    ``*.dist-info`` names beside the SDK, without importing it or ``importlib.metadata``), the
    Python, the arguments and the ``AUTODOCS_*`` settings (secrets left out: they change no
    answer and are not to be written down, even hashed).
    """
    import importlib.util

    try:
        spec = importlib.util.find_spec("mcp")
        core = importlib.util.find_spec("autodocs_core")
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None or core is None or not core.submodule_search_locations:
        return None
    site = os.path.dirname(os.path.dirname(spec.origin))
    try:
        dists = sorted(
            n
            for n in os.listdir(site)
            if n.endswith(".dist-info")
            and n.startswith(("mcp-", "mcp_types-", "autodocs_mcp_server-"))
        )
        sources = [
            _sources(os.path.dirname(os.path.abspath(__file__))),
            _sources(next(iter(core.submodule_search_locations))),
        ]
    except OSError:
        return None
    redacted = list(argv)
    for i, arg in enumerate(redacted):
        if any(w.lower() in arg.lower() for w in _SECRET_WORDS) and arg.startswith("--"):
            if "=" in arg:
                redacted[i] = arg.split("=", 1)[0] + "=*"
            elif i + 1 < len(redacted):
                redacted[i + 1] = "*"
    settings = {
        k: v
        for k, v in env.items()
        if k.startswith("AUTODOCS_")
        and k != "AUTODOCS_FAST_HANDSHAKE"
        and not any(w in k for w in _SECRET_WORDS)
    }
    material = {
        "format": SNAPSHOT_FORMAT,
        "python": [sys.version, sys.executable],
        "dists": dists,
        "sources": sources,
        "argv": redacted,
        "settings": sorted(settings.items()),
    }
    return hashlib.sha256(json.dumps(material).encode()).hexdigest()


class Front:
    """The running front: the reader thread, the private wire descriptors and the SDK's ends.

    Args:
        wire_in: The client's stream (read as UTF-8 lines, exactly as the SDK reads them).
        wire_out: Where answers are written (bytes, one line each, flushed).
        entries: The snapshot's answers (empty: the front only queues and records).
        path: Where the snapshot is written (None: never).
        key: The snapshot key of this start.
    """

    def __init__(
        self,
        wire_in: IO[str],
        wire_out: IO[bytes],
        *,
        entries: dict[str, Any],
        path: str | None,
        key: str,
    ) -> None:
        self.wire_in = wire_in
        self.wire_out = wire_out
        self.path = path
        self.key = key
        self.lines: queue.Queue[object] = queue.Queue(QUEUE_SIZE)
        self.router = Router(entries, write=self.write_line, enqueue=self.lines.put)
        self._write_lock = threading.Lock()
        self._saved = dict(entries)
        self._started = False
        self.restore: Callable[[], None] = lambda: None
        self.hold = ""
        self.reader = threading.Thread(target=self._read, name="autodocs-front", daemon=True)

    def write_line(self, line: str) -> None:
        """Write one line to the client."""
        with self._write_lock:
            self.wire_out.write(line.encode("utf-8") + b"\n")
            self.wire_out.flush()

    def _read(self) -> None:
        try:
            for line in iter(self.wire_in.readline, ""):
                self.router.on_client_line(line)
        except (OSError, ValueError):  # pragma: no cover - the wire broke
            pass
        finally:
            self.lines.put(_EOF)

    def next_line(self) -> str | None:
        """The next client line for the SDK (blocking; None at end of input)."""
        if not self._started:
            self._started = True
            if self.hold:  # test hook: hold the SDK until the front has seen this method
                self.router.event(self.hold).wait(HOLD_SECONDS)
            self.router.stop_answering()
            if self.router.answered:
                _log().debug(
                    "handshake front answered %s from the start-up snapshot before the SDK was up",
                    ", ".join(self.router.answered),
                )
        item = self.lines.get()
        if item is _EOF:
            self.lines.put(_EOF)  # later reads see the end too
            return None
        return item  # type: ignore[return-value]

    def from_sdk(self, text: str) -> None:
        """Write an SDK line unless it answers an internal request; keep the snapshot current."""
        line = self.router.on_server_line(text.rstrip("\n"))
        if line is not None:
            self.write_line(line)
        router = self.router
        if router.mismatched:
            names = ", ".join(n.split("\n", 1)[0] for n in router.mismatched)
            router.mismatched.clear()
            _log().warning(
                "the start-up snapshot differed from the server's answer (%s); rewritten", names
            )
        if self.path is not None and any(
            self._saved.get(k) != v for k, v in router.recorded.items()
        ):
            merged = {**self._saved, **router.recorded}
            if len(merged) > MAX_ENTRIES:
                merged = dict(router.recorded)
            if save_snapshot(self.path, self.key, merged):
                self._saved = merged

    def sdk_stdin(self) -> _SdkLines:
        """The SDK's stdin: an async iterator of the client's lines."""
        return _SdkLines(self)

    def sdk_stdout(self) -> _SdkWriter:
        """The SDK's stdout: ``write`` and ``flush`` as on an anyio file."""
        return _SdkWriter(self)


class _SdkLines:
    def __init__(self, front: Front) -> None:
        self.front = front

    def __aiter__(self) -> _SdkLines:
        return self

    async def __anext__(self) -> str:
        import anyio.to_thread

        line = await anyio.to_thread.run_sync(self.front.next_line, abandon_on_cancel=True)
        if line is None:
            raise StopAsyncIteration
        return line


class _SdkWriter:
    def __init__(self, front: Front) -> None:
        self.front = front

    async def write(self, text: str) -> None:
        import anyio.to_thread

        await anyio.to_thread.run_sync(self.front.from_sdk, text)

    async def flush(self) -> None:
        return None


def _backed(stream: object, fd: int) -> bool:
    try:
        return stream.buffer.fileno() == fd  # type: ignore[attr-defined, no-any-return]
    except (AttributeError, OSError, ValueError):
        return False


def start(argv: Sequence[str], env: dict[str, str] | None = None) -> Front | None:
    """Start the front on the process's stdin/stdout, or None when it does not apply.

    The wire moves to private descriptors: fd 0 then reads the null device and fd 1 writes to
    stderr (as the SDK's own stdio transport does), so stray output cannot corrupt the protocol.
    ``Front.restore`` puts them back.
    """
    env = dict(os.environ) if env is None else env
    if sys.platform == "win32":  # pragma: no cover - POSIX descriptors only; serve as before
        return None
    if not wanted(argv, env) or not (_backed(sys.stdin, 0) and _backed(sys.stdout, 1)):
        return None
    key = snapshot_key(argv, env)
    if key is None:
        return None
    path = snapshot_path(argv, env)
    entries = load_snapshot(path, key) if path is not None else {}
    import fcntl

    try:
        sys.stdout.flush()
        wire_in = fcntl.fcntl(0, fcntl.F_DUPFD_CLOEXEC, 3)
        wire_out = fcntl.fcntl(1, fcntl.F_DUPFD_CLOEXEC, 3)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        os.dup2(2, 1)
    except OSError:  # pragma: no cover - descriptors unavailable: serve as before
        return None

    def restore() -> None:
        try:
            sys.stdout.flush()
            os.dup2(wire_in, 0)
            os.dup2(wire_out, 1)
        except (OSError, ValueError):  # pragma: no cover
            pass

    front = Front(
        open(wire_in, encoding="utf-8", errors="replace", closefd=False),  # noqa: SIM115
        open(wire_out, "wb", closefd=False),  # noqa: SIM115
        entries=entries,
        path=path,
        key=key,
    )
    front.restore = restore
    front.hold = env.get("_AUTODOCS_FRONT_HOLD", "")[:64]
    front.reader.start()
    return front
