"""Reading project files safely: confined to a root, size-capped, regular text files only."""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path

from ..errors import InvalidInputError

__all__ = ["MAX_FILE_BYTES", "SafeReader", "ScanRefused", "check_scan_root", "choose_scan_target"]

MAX_FILE_BYTES = 2 * 1024 * 1024
"""Largest dependency file read."""


class ScanRefused(Exception):
    """A file was refused (outside the root, not a regular file, too big, binary, a loop)."""

    def __init__(self, reason: str, suggestion: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.suggestion = suggestion


class SafeReader:
    """Reads files under *root* only; never executes, never blocks on special files.

    Args:
        root: The allowed root (symlinks resolved).
        max_bytes: Size cap, checked before reading.
    """

    def __init__(self, root: Path, *, max_bytes: int = MAX_FILE_BYTES) -> None:
        self.root = root
        self.max_bytes = max_bytes

    @classmethod
    def for_root(cls, root: str | os.PathLike[str]) -> SafeReader:
        """Resolve *root* (it must exist) and return a reader confined to it."""
        try:
            resolved = Path(root).expanduser().resolve(strict=True)
        except (OSError, RuntimeError):
            raise InvalidInputError(
                "The project path does not exist or cannot be resolved",
                details={"path": str(root)[:300]},
                suggestions=("Pass an existing project directory or dependency file.",),
            ) from None
        return cls(resolved)

    def relative(self, path: Path) -> str:
        """Return *path* relative to the root, for reports."""
        try:
            return path.relative_to(self.root).as_posix() or "."
        except ValueError:
            return path.name

    def resolve(self, path: Path) -> Path:
        """Resolve *path* (following symlinks) and check that it stays under the root."""
        try:
            resolved = path.resolve(strict=True)
        except RuntimeError:
            raise ScanRefused("symlink loop", "Remove the symlink loop.") from None
        except OSError as exc:
            if exc.errno == 40:  # ELOOP
                raise ScanRefused("symlink loop", "Remove the symlink loop.") from None
            raise ScanRefused("file not found", "Check the path of the referenced file.") from None
        if resolved != self.root and self.root not in resolved.parents:
            raise ScanRefused(
                "outside the allowed root",
                "Only files inside the project directory are read; move or copy the file there.",
            )
        return resolved

    def read_text(self, path: Path) -> str:
        """Return the text of a regular, small, UTF-8 file under the root.

        Raises:
            ScanRefused: Outside the root, a symlink loop, not a regular file (FIFO, device,
                directory), over the size cap, binary (NUL bytes) or not UTF-8.
        """
        resolved = self.resolve(path)
        try:
            return self._read(resolved)
        except OSError as exc:
            # unreadable (permissions, vanished, I/O error): this file only, never the scan
            raise ScanRefused(
                f"cannot be read ({exc.strerror or type(exc).__name__})",
                "Check the file's permissions.",
            ) from None

    def _read(self, resolved: Path) -> str:
        st = resolved.stat()
        if not stat.S_ISREG(st.st_mode):
            raise ScanRefused("not a regular file", "Point the scan at regular text files.")
        if st.st_size > self.max_bytes:
            raise ScanRefused(
                f"larger than {self.max_bytes} bytes",
                "Dependency files this large are not read; check the file is what you think.",
            )
        # O_NONBLOCK: should the file be swapped for a FIFO between stat and open, open
        # returns at once instead of waiting for a writer.
        fd = os.open(resolved, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise ScanRefused("not a regular file", "Point the scan at regular text files.")
            with os.fdopen(fd, "rb", closefd=False) as f:
                data = f.read(self.max_bytes + 1)
        finally:
            os.close(fd)
        if len(data) > self.max_bytes:
            raise ScanRefused(f"larger than {self.max_bytes} bytes", "The file grew while read.")
        if b"\x00" in data:
            raise ScanRefused("binary file (NUL bytes)", "Dependency files must be text.")
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ScanRefused("not UTF-8 text", "Save the file as UTF-8.") from None


# Scan roots that would expose far more than one project. Trees: refused with everything inside
# them (no project lives there). Directories: refused themselves; a project inside is fine.
_SYSTEM_TREES = (
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/proc",
    "/sbin",
    "/sys",
    "/usr",
    "/System",  # macOS
    "/Library",
    "/private/etc",
)
_BROAD_DIRS = frozenset(
    {
        "/home",
        "/media",
        "/mnt",
        "/opt",
        "/private",
        "/private/tmp",
        "/private/var",
        "/root",
        "/run",
        "/snap",
        "/srv",
        "/tmp",
        "/Applications",
        "/Users",
        "/var",
        "/Volumes",
    }
)


def broad_root_reason(path: Path, *, home: Path | None = None) -> str | None:
    """Why *path* (absolute, resolved) is too broad to be a scan root, or ``None``.

    .. versionadded:: 0.2.0
    """
    text = path.as_posix()
    parts = path.parts
    if len(parts) <= 1:
        return "the whole file system"
    if any(text == tree or text.startswith(tree + "/") for tree in _SYSTEM_TREES):
        return "a system directory"
    if text in _BROAD_DIRS:
        return "a shared top-level directory"
    if len(parts) == 3 and parts[1] in ("home", "Users"):
        return "a home directory as a whole"
    if len(parts) == 4 and parts[1:3] in (("var", "home"), ("System", "Volumes")):
        return "a home directory as a whole"
    if home is not None and (path == home or path in home.parents):
        return "a home directory as a whole"
    return None


def check_scan_root(
    path: str | os.PathLike[str],
    *,
    allow_broad: bool,
    home: str | os.PathLike[str] | None = None,
    must_exist: bool = True,
) -> Path:
    """Refuse a scan root that would expose far more than one project.

    A client (an MCP client's declared roots, a path argument) must not turn a dependency scan
    into a way to read the machine: the file system root, system trees (``/etc``, ``/usr``,
    ``/proc`` and everything inside them), shared top-level directories (``/var``, ``/opt``,
    ``/tmp``, ``/home`` themselves; a project inside them is fine) and a home directory as a
    whole are refused unless the operator allows broad roots (``AUTODOCS_ALLOW_BROAD_ROOTS``).
    The path is resolved first, so a symlink cannot hide where it points.

    Args:
        path: The proposed root.
        allow_broad: The operator's setting (``Settings.allow_broad_roots``).
        home: The home directory (default: the current user's).
        must_exist: Refuse a root that does not exist (a client's declared root is judged by
            its path alone: pass ``False``).

    Returns:
        The resolved root.

    Raises:
        InvalidInputError: The root does not exist (with *must_exist*), or is too broad (and
            not allowed); the details name the root and the reason, nothing read from disk.

    .. versionadded:: 0.2.0
    """
    try:
        resolved = Path(path).expanduser().resolve(strict=must_exist)
    except (OSError, RuntimeError):
        raise InvalidInputError(
            "The scan root does not exist or cannot be resolved",
            suggestions=("Declare the project's own directory as the root.",),
        ) from None
    if allow_broad:
        return resolved
    home_dir = Path(home).expanduser().resolve() if home is not None else _home()
    reason = broad_root_reason(resolved, home=home_dir)
    if reason is not None:
        text = resolved.as_posix()[:200]
        raise InvalidInputError(
            f"The scan root {text} is too broad ({reason})",
            details={"root": text, "reason": reason, "setting": "AUTODOCS_ALLOW_BROAD_ROOTS"},
            suggestions=(
                "Share the project directory as the workspace root, or pass a project path "
                "inside it.",
                "Operators who need broad roots can set AUTODOCS_ALLOW_BROAD_ROOTS=1.",
            ),
        )
    return resolved


def _home() -> Path | None:
    try:
        return Path.home().resolve()
    except (OSError, RuntimeError, KeyError):
        return None


def choose_scan_target(
    roots: Sequence[str | os.PathLike[str]] | None,
    project: str | os.PathLike[str] | None,
    *,
    allow_broad: bool,
) -> tuple[Path, Path]:
    """The root a scan is confined to and the scan target, from a client's roots.

    The target is *project* (``~`` expanded, resolved) inside the most specific root holding
    it. Without a *project*, the first root :func:`check_scan_root` accepts. A relative
    *project* is taken from that same root. When the client offers no roots (*roots* is
    ``None``), the working directory is the root (and a relative *project* is taken from it;
    the scan itself refuses a target outside the root). Every root used is checked with
    :func:`check_scan_root`. Blocking (it resolves paths): call it off the event loop.

    Args:
        roots: The client's declared roots (at most the first 100 are used), or ``None``.
        project: The project directory or file asked for, or ``None``.
        allow_broad: The operator's setting (``Settings.allow_broad_roots``).

    Returns:
        ``(root, target)``.

    Raises:
        InvalidInputError: No acceptable root, a *project* outside every root, or a root that
            is too broad.

    .. versionadded:: 0.2.0
    """
    given = Path(project).expanduser() if project is not None else None
    if roots is None:
        cwd = Path.cwd().resolve()
        check_scan_root(cwd, allow_broad=allow_broad, must_exist=False)
        return cwd, (cwd / given).resolve() if given is not None else cwd
    resolved = [Path(r).resolve() for r in list(roots)[:100]]
    if given is None or not given.is_absolute():
        refused: InvalidInputError | None = None
        for root in resolved:
            try:
                check_scan_root(root, allow_broad=allow_broad, must_exist=False)
            except InvalidInputError as exc:
                refused = refused or exc
                continue
            if given is None:
                return root, root
            given = (root / given).resolve()
            break
        else:
            if refused is not None:
                raise refused
            raise InvalidInputError(
                "The client shares no file roots to scan",
                details={"roots": 0},
                suggestions=("Pass project_path, or share the project directory as a root.",),
            )
    target = given.resolve()
    holding = [r for r in resolved if target == r or r in target.parents]
    if not holding:
        raise InvalidInputError(
            "The project path is outside the client's roots",
            details={"roots": len(resolved)},
            suggestions=("Pass a path inside one of the workspace roots the client shares.",),
        )
    root = max(holding, key=lambda r: len(r.parts))  # the most specific root decides
    check_scan_root(root, allow_broad=allow_broad, must_exist=False)
    return root, target
