"""A disk store: atomic writes, checksummed entries, LRU eviction past a byte cap, soft failure.

Each entry is one file, ``{root}/{key}.entry``: a header line (JSON: format, key, sha256, size)
then the value. Writes go to a temporary file in the same directory, are fsynced and renamed over
the target, so a reader (in this process or another sharing the directory) sees the old entry or
the new one, never a torn one. A file whose header, key or checksum does not match is a miss and
is removed.

An unwritable or vanished directory, a full disk, or any other OS error never raises: the write
reports failure, the store marks itself degraded (``stats().degraded`` says why) and the cache
keeps working from memory.

The directory may be shared, so its contents are untrusted: entries are opened with
``O_NOFOLLOW | O_NONBLOCK`` and must be regular files (checked with ``fstat`` after opening),
reads are capped, the walk never follows symlinks, and a symlink, FIFO or device in place of an
entry is a miss (and removed), never a hang or an unbounded read. Temporary files left by a
writer killed mid-write count in the byte budget and are removed once older than
:data:`STALE_TEMP_SECONDS`. Times in the future (a wrong clock) are clamped to now.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import math
import os
import re
import stat
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import anyio.to_thread

from ._store import StoreStats, under

__all__ = ["MAX_ENTRY_BYTES", "MAX_PENDING_WRITES", "STALE_TEMP_SECONDS", "DiskStore"]

_FORMAT = "autodocs-cache-entry-1"
_SAFE_KEY = re.compile(r"[A-Za-z0-9._+!%-]+(/[A-Za-z0-9._+!%-]+)*")
_SUFFIX = ".entry"
_TEMP_PREFIX = ".tmp-"
_HEADER_BYTES = 4096
_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_CLOEXEC", 0)
)

MAX_PENDING_WRITES = 64
"""Most writes :meth:`DiskStore.put_soon` keeps queued; beyond, the caller writes itself."""

MAX_ENTRY_BYTES = 64 * 1024 * 1024
"""Largest entry read back (a bigger file is not one of ours: a miss, removed)."""

STALE_TEMP_SECONDS = 600.0
"""Age after which a temporary file is taken as left by a killed writer and removed."""


class _NotAnEntry(Exception):
    """The path is not a regular file we could have written (symlink, FIFO, device, too big)."""


def _open_entry(path: Path, limit: int) -> bytes:
    """Read at most *limit* bytes of a regular file, never following a symlink or blocking.

    Raises:
        FileNotFoundError: No such file.
        _NotAnEntry: A symlink, a special file, or larger than *limit*.
        OSError: Anything else.
    """
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EMLINK):  # O_NOFOLLOW met a symlink
            raise _NotAnEntry("symlink") from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _NotAnEntry("not a regular file")
        if st.st_size > limit:
            raise _NotAnEntry("too large")
        chunks: list[bytes] = []
        left = limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
        if len(data) > limit:
            raise _NotAnEntry("grew past the limit")
        return data
    finally:
        os.close(fd)


class DiskStore:
    """Entries as files under *root*, bounded in bytes with least-recently-used eviction.

    Args:
        root: The cache directory (created when missing).
        max_bytes: Total size above which the least recently used entries are removed
            (temporary files of unfinished writes count too).
        max_entry_bytes: Largest entry file read back.
        clock: Wall-clock time source (file ages).

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       *max_entry_bytes* and *clock*; hostile entries are misses, never hangs.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        max_bytes: int = 512 * 1024 * 1024,
        max_entry_bytes: int = MAX_ENTRY_BYTES,
        clock: Callable[[], float] = time.time,
    ):
        self.root = Path(root)
        self.max_bytes = max_bytes
        self.max_entry_bytes = max_entry_bytes
        self.clock = clock
        self.degraded: str | None = None
        self._approx_bytes: int | None = None
        self._writer: ThreadPoolExecutor | None = None
        self._pending = 0
        self._pending_lock = threading.Lock()

    # -- helpers (run in a worker thread) --------------------------------------------------

    def _path(self, key: str) -> Path:
        if not _SAFE_KEY.fullmatch(key) or ".." in key.split("/"):
            raise ValueError(f"unsafe cache key {key!r}")
        return self.root / (key + _SUFFIX)

    def _read(self, key: str) -> bytes | None:
        path = self._path(key)
        try:
            raw = _open_entry(path, self.max_entry_bytes + _HEADER_BYTES)
        except FileNotFoundError:
            return None
        except _NotAnEntry:
            self._remove(path)
            return None
        except OSError as exc:
            self.degraded = f"cannot read the cache directory: {exc.strerror or exc}"
            return None
        newline = raw.find(b"\n", 0, _HEADER_BYTES)
        header, data = (raw[:newline], raw[newline + 1 :]) if newline >= 0 else (raw, b"")
        try:
            meta = json.loads(header)
            valid = (
                meta.get("format") == _FORMAT
                and meta.get("key") == key
                and meta.get("size") == len(data)
                and meta.get("sha256") == hashlib.sha256(data).hexdigest()
            )
        except (ValueError, AttributeError, RecursionError):
            valid = False
        if not valid:
            self._remove(path)
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # recency for LRU eviction
        return data

    def _write(self, key: str, value: bytes) -> bool:
        path = self._path(key)
        header = (
            json.dumps(
                {
                    "format": _FORMAT,
                    "key": key,
                    "size": len(value),
                    "created": self.clock(),
                    "sha256": hashlib.sha256(value).hexdigest(),
                },
                separators=(",", ":"),
            ).encode()
            + b"\n"
        )
        tmp: str | None = None
        try:
            # A directory of the key planted as a symlink must not carry our writes elsewhere
            # (checked before mkdir, which would create directories behind the link).
            current = self.root
            for part in path.parent.relative_to(self.root).parts:
                current = current / part
                if current.is_symlink():
                    self.degraded = "a cache subdirectory is a symlink; not written through it"
                    return False
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=_TEMP_PREFIX, dir=path.parent)
            with os.fdopen(fd, "wb") as f:
                f.write(header)
                f.write(value)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
            tmp = None
            self._fsync_dir(path.parent)
        except OSError as exc:
            self.degraded = f"cannot write the cache directory: {exc.strerror or exc}"
            return False
        finally:
            if tmp is not None:
                self._remove(Path(tmp))
        self.degraded = None
        if self._approx_bytes is not None:
            self._approx_bytes += len(header) + len(value)
        if self._approx_bytes is None or self._approx_bytes > self.max_bytes:
            self._evict()
        return True

    @staticmethod
    def _fsync_dir(directory: Path) -> None:
        try:
            fd = os.open(directory, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)

    @staticmethod
    def _remove(path: Path) -> None:
        with contextlib.suppress(OSError):
            path.unlink()

    def _walk(self) -> tuple[list[tuple[float, int, Path]], int]:
        """Return the entries (mtime clamped to now, size, path) and the bytes of live temp files.

        Never follows symlinks; counts only regular files; removes temporary files older than
        :data:`STALE_TEMP_SECONDS` (a writer killed mid-write leaves them behind).
        """
        found: list[tuple[float, int, Path]] = []
        temp_bytes = 0
        if not self.root.is_dir():
            return [], 0
        now = self.clock()
        for directory, dirs, names in os.walk(self.root, followlinks=False):
            # Directories named "_..." belong to other stores nested in this root (keys never
            # start with "_": they begin with the schema, "v2/..."): not ours to count or evict.
            dirs[:] = [d for d in dirs if not d.startswith("_")]
            for name in names:
                is_entry = name.endswith(_SUFFIX)
                is_temp = name.startswith(_TEMP_PREFIX)
                if not (is_entry or is_temp):
                    continue
                path = Path(directory) / name
                try:
                    st = path.lstat()
                except OSError:
                    continue
                if not stat.S_ISREG(st.st_mode):
                    if is_entry:  # a symlink or special file posing as an entry
                        self._remove(path)
                    continue
                mtime = min(st.st_mtime, now)
                if is_temp:
                    if now - mtime > STALE_TEMP_SECONDS:
                        self._remove(path)
                    else:
                        temp_bytes += st.st_size
                    continue
                found.append((mtime, st.st_size, path))
        return found, temp_bytes

    def _entries(self) -> list[tuple[float, int, Path]]:
        return self._walk()[0]

    def _evict(self) -> None:
        entries, temp_bytes = self._walk()
        entries.sort()
        total = sum(size for _, size, _ in entries) + temp_bytes
        for _, size, path in entries:
            if total <= self.max_bytes:
                break
            self._remove(path)
            total -= size
        self._approx_bytes = total

    def _delete(self, prefix: str) -> int:
        count = 0
        for _, size, path in self._entries():
            key = path.relative_to(self.root).as_posix().removesuffix(_SUFFIX)
            if under(key, prefix):
                self._remove(path)
                count += 1
                if self._approx_bytes is not None:
                    self._approx_bytes -= size
        return count

    def _stats(self) -> StoreStats:
        entries, temp_bytes = self._walk()
        total = sum(size for _, size, _ in entries) + temp_bytes
        self._approx_bytes = total
        now = self.clock()
        oldest: float | None = None
        for _, _, path in entries:
            try:
                head = _open_entry(path, self.max_entry_bytes + _HEADER_BYTES)[:_HEADER_BYTES]
                created = json.loads(head.split(b"\n", 1)[0]).get("created")
            except (OSError, _NotAnEntry, ValueError, AttributeError, RecursionError):
                continue
            if isinstance(created, int | float) and math.isfinite(created):
                created = min(float(created), now)  # a future time is not "oldest": clamp
                if oldest is None or created < oldest:
                    oldest = created
        return StoreStats(len(entries), total, self.degraded, oldest)

    # -- the CacheStore protocol -----------------------------------------------------------

    async def get(self, key: str) -> bytes | None:
        """Return the verified value of *key*, or ``None``."""
        return await anyio.to_thread.run_sync(self._read, key)

    def put_soon(self, key: str, value: bytes) -> bool:
        """Queue a write of *value* on the store's one writer thread and return at once.

        For entries that are safe elsewhere already (a copy from a fleet's shared tier, or
        derived from an entry that is): the answer does not wait for the file and its two
        fsyncs. A write's failure shows in :attr:`degraded`, as for :meth:`put`; pending
        writes finish before the interpreter exits (the writer thread is joined then).

        Returns:
            ``False`` when :data:`MAX_PENDING_WRITES` writes are already queued: nothing was
            queued, and the caller should ``await put()`` instead.

        .. versionadded:: 0.2.0
        """
        with self._pending_lock:
            if self._pending >= MAX_PENDING_WRITES:
                return False
            self._pending += 1
        if self._writer is None:
            self._writer = ThreadPoolExecutor(1, thread_name_prefix="autodocs-cache-write")
        self._writer.submit(self._write, key, value).add_done_callback(self._written)
        return True

    def _written(self, _: Future[bool]) -> None:
        with self._pending_lock:
            self._pending -= 1

    def pending_writes(self) -> int:
        """Return how many :meth:`put_soon` writes have not finished yet."""
        with self._pending_lock:
            return self._pending

    async def flush(self) -> None:
        """Wait until every :meth:`put_soon` write queued so far has finished."""
        writer = self._writer
        if writer is not None:
            await anyio.to_thread.run_sync(lambda: writer.submit(lambda: None).result())

    async def put(self, key: str, value: bytes) -> bool:
        """Write atomically; ``False`` (and a degraded state) when the disk refuses."""
        return await anyio.to_thread.run_sync(self._write, key, value)

    async def delete(self, prefix: str) -> int:
        """Delete the entries under *prefix* (``""``: all)."""
        return await anyio.to_thread.run_sync(self._delete, prefix)

    async def stats(self) -> StoreStats:
        """Scan the directory: entries, bytes, degraded reason."""
        return await anyio.to_thread.run_sync(self._stats)
