"""A disk store: atomic writes, checksummed entries, LRU eviction past a byte cap, soft failure.

Each entry is one file, ``{root}/{key}.entry``: a header line (JSON: format, key, sha256, size)
then the value. Writes go to a temporary file in the same directory, are fsynced and renamed over
the target, so a reader (in this process or another sharing the directory) sees the old entry or
the new one, never a torn one. A file whose header, key or checksum does not match is a miss and
is removed.

An unwritable or vanished directory, a full disk, or any other OS error never raises: the write
reports failure, the store marks itself degraded (``stats().degraded`` says why) and the cache
keeps working from memory.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
import time
from pathlib import Path

import anyio.to_thread

from ._store import StoreStats, under

__all__ = ["DiskStore"]

_FORMAT = "autodocs-cache-entry-1"
_SAFE_KEY = re.compile(r"[A-Za-z0-9._+!%-]+(/[A-Za-z0-9._+!%-]+)*")
_SUFFIX = ".entry"


class DiskStore:
    """Entries as files under *root*, bounded in bytes with least-recently-used eviction.

    Args:
        root: The cache directory (created when missing).
        max_bytes: Total size above which the least recently used entries are removed.

    .. versionadded:: 0.1.0
    """

    def __init__(self, root: str | os.PathLike[str], *, max_bytes: int = 512 * 1024 * 1024):
        self.root = Path(root)
        self.max_bytes = max_bytes
        self.degraded: str | None = None
        self._approx_bytes: int | None = None

    # -- helpers (run in a worker thread) --------------------------------------------------

    def _path(self, key: str) -> Path:
        if not _SAFE_KEY.fullmatch(key) or ".." in key.split("/"):
            raise ValueError(f"unsafe cache key {key!r}")
        return self.root / (key + _SUFFIX)

    def _read(self, key: str) -> bytes | None:
        path = self._path(key)
        try:
            with open(path, "rb") as f:
                header = f.readline(4096)
                data = f.read()
        except FileNotFoundError:
            return None
        except OSError as exc:
            self.degraded = f"cannot read the cache directory: {exc.strerror or exc}"
            return None
        try:
            meta = json.loads(header)
            valid = (
                meta.get("format") == _FORMAT
                and meta.get("key") == key
                and meta.get("size") == len(data)
                and meta.get("sha256") == hashlib.sha256(data).hexdigest()
            )
        except (ValueError, AttributeError):
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
                    "created": time.time(),
                    "sha256": hashlib.sha256(value).hexdigest(),
                },
                separators=(",", ":"),
            ).encode()
            + b"\n"
        )
        tmp: str | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
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

    def _entries(self) -> list[tuple[float, int, Path]]:
        found = []
        if not self.root.is_dir():
            return []
        for path in self.root.rglob("*" + _SUFFIX):
            try:
                st = path.stat()
            except OSError:
                continue
            found.append((st.st_mtime, st.st_size, path))
        return found

    def _evict(self) -> None:
        entries = sorted(self._entries())
        total = sum(size for _, size, _ in entries)
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
        entries = self._entries()
        total = sum(size for _, size, _ in entries)
        self._approx_bytes = total
        oldest: float | None = None
        for _, _, path in entries:
            try:
                with open(path, "rb") as f:
                    created = json.loads(f.readline(4096)).get("created")
            except (OSError, ValueError, AttributeError):
                continue
            if isinstance(created, int | float) and (oldest is None or created < oldest):
                oldest = float(created)
        return StoreStats(len(entries), total, self.degraded, oldest)

    # -- the CacheStore protocol -----------------------------------------------------------

    async def get(self, key: str) -> bytes | None:
        """Return the verified value of *key*, or ``None``."""
        return await anyio.to_thread.run_sync(self._read, key)

    async def put(self, key: str, value: bytes) -> bool:
        """Write atomically; ``False`` (and a degraded state) when the disk refuses."""
        return await anyio.to_thread.run_sync(self._write, key, value)

    async def delete(self, prefix: str) -> int:
        """Delete the entries under *prefix* (``""``: all)."""
        return await anyio.to_thread.run_sync(self._delete, prefix)

    async def stats(self) -> StoreStats:
        """Scan the directory: entries, bytes, degraded reason."""
        return await anyio.to_thread.run_sync(self._stats)
