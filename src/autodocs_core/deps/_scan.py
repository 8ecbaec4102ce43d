"""Scan a project directory (or one file) for its declared dependencies."""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import attrs
from packaging.markers import InvalidMarker, Marker, UndefinedComparison, default_environment

from ..errors import InvalidInputError, redact_fragment
from ..resilience import FailedItem, PartialResult
from ._files import SafeReader, ScanRefused
from ._model import Dependency
from ._parsers import (
    Problem,
    Result,
    parse_pylock,
    parse_pyproject,
    parse_requirements_text,
    parse_setup_cfg,
    parse_uv_lock,
)

__all__ = ["ACCEPTED_FILES", "MAX_INCLUDE_DEPTH", "ScanLimits", "scan_dependencies"]

MAX_INCLUDE_DEPTH = 10
"""How deep ``-r``/``-c`` includes are followed."""

ACCEPTED_FILES = (
    "pyproject.toml",
    "requirements*.txt / *.in (and other *.txt, *.in given explicitly or by -r/-c)",
    "uv.lock",
    "pylock.toml / pylock.*.toml",
    "setup.cfg",
)
"""The file names a scan reads (anything else is refused unread)."""


@attrs.frozen
class ScanLimits:
    """Bounds on the work one scan may do; past one, the scan stops and says what was cut.

    Attributes:
        max_files: Files read (top-level and included).
        max_lines: Lines and entries processed in all (a dependency group counts its entries
            each time another group includes it).
        max_includes: ``-r``/``-c`` lines followed.
        max_depth: How deep includes nest.
        max_dependencies: Dependencies collected.
        max_directory_entries: Entries listed in the scanned directory.
        max_seconds: Time allowed (measured by the scan's clock).
        poll_every: Lines between two calls of the cancellation check and the clock.

    .. versionadded:: 0.2.0
    """

    max_files: int = 100
    max_lines: int = 200_000
    max_includes: int = 200
    max_depth: int = MAX_INCLUDE_DEPTH
    max_dependencies: int = 20_000
    max_directory_entries: int = 10_000
    max_seconds: float = 30.0
    poll_every: int = 64


class _Cut(Exception):
    """A scan limit was reached: stop, keep what was read."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Budget:
    """Counts the scan's work; polls the cancellation check and the clock every few lines."""

    def __init__(
        self,
        limits: ScanLimits,
        clock: Callable[[], float],
        cancel: Callable[[], object] | None,
    ) -> None:
        self.limits = limits
        self.clock = clock
        self.cancel = cancel
        self.started = clock()
        self.lines = 0
        self.files = 0
        self.includes = 0

    def poll(self) -> None:
        if self.cancel is not None:
            self.cancel()  # raises when the caller has given up
        if self.clock() - self.started > self.limits.max_seconds:
            raise _Cut(f"the scan took longer than {self.limits.max_seconds:g} s")

    def tick(self) -> None:
        self.lines += 1
        if self.lines > self.limits.max_lines:
            raise _Cut(f"more than {self.limits.max_lines} lines and entries")
        if self.lines % self.limits.poll_every == 0:
            self.poll()

    def file(self) -> None:
        self.poll()
        self.files += 1
        if self.files > self.limits.max_files:
            raise _Cut(f"more than {self.limits.max_files} files")

    def include(self) -> None:
        self.includes += 1
        if self.includes > self.limits.max_includes:
            raise _Cut(f"more than {self.limits.max_includes} -r/-c includes")


def _kind_of(name: str) -> str | None:
    lower = name.lower()
    if lower == "pyproject.toml":
        return "pyproject"
    if lower == "uv.lock":
        return "uv.lock"
    if lower == "pylock.toml" or (lower.startswith("pylock.") and lower.endswith(".toml")):
        return "pylock"
    if lower == "setup.cfg":
        return "setup.cfg"
    if lower.endswith((".txt", ".in")) and "requirement" in lower:
        return "requirements"
    return None


def _requirements_by_name(name: str) -> bool:
    """Whether a file named so may be read as a requirements file when named explicitly."""
    return name.lower().endswith((".txt", ".in")) and not name.startswith(".")


class _Scanner:
    def __init__(self, reader: SafeReader, budget: _Budget) -> None:
        self.reader = reader
        self.budget = budget
        self.refused: list[FailedItem] = []
        self.done: set[Path] = set()

    def refuse(
        self, path: Path, refusal: ScanRefused, details: Mapping[str, object] | None = None
    ) -> None:
        shown = self.reader.relative(path) if self.reader.root in path.parents else path.name
        shown = redact_fragment(shown, 120)
        self.refused.append(
            FailedItem.from_exception(
                shown,
                InvalidInputError(
                    f"{shown}: file refused ({refusal.reason})",
                    details={"file": shown, "reason": refusal.reason, **(details or {})},
                    suggestions=(refusal.suggestion,),
                ),
            )
        )

    def file(
        self, path: Path, kind: str, *, group: str = "runtime", stack: tuple[Path, ...] = ()
    ) -> Result:
        self.budget.file()
        try:
            resolved = self.reader.resolve(path)
            if resolved in self.done:  # each file is parsed once, however often included
                return Result()
            text = self.reader.read_text(path)
        except ScanRefused as refusal:
            self.refuse(path, refusal)
            return Result()
        self.done.add(resolved)
        source = self.reader.relative(resolved)
        tick = self.budget.tick
        if kind == "pyproject":
            return parse_pyproject(text, source=source, tick=tick)
        if kind == "uv.lock":
            return parse_uv_lock(text, source=source, tick=tick)
        if kind == "pylock":
            return parse_pylock(text, source=source, tick=tick)
        if kind == "setup.cfg":
            return parse_setup_cfg(text, source=source, tick=tick)

        def include(target: str, include_group: str, line: int) -> Result:
            self.budget.include()
            child = resolved.parent / target
            if len(stack) >= self.budget.limits.max_depth:
                return Result(
                    problems=[
                        Problem(
                            source,
                            line,
                            f"includes nested deeper than {self.budget.limits.max_depth}",
                            "Flatten the requirement files.",
                            redact_fragment(target),
                        )
                    ]
                )
            if not _requirements_by_name(child.name):
                self.refuse(
                    child,
                    ScanRefused(
                        "not a requirements file by name",
                        "Only *.txt and *.in files are followed by -r/-c.",
                    ),
                )
                return Result()
            try:
                child_resolved = self.reader.resolve(child)
            except ScanRefused as refusal:
                self.refuse(child, refusal)
                return Result()
            if child_resolved in (*stack, resolved):
                return Result(
                    problems=[
                        Problem(
                            source,
                            line,
                            f"include cycle: {redact_fragment(target)} is already being read",
                            "Remove the -r/-c line that closes the cycle.",
                            redact_fragment(target),
                        )
                    ]
                )
            return self.file(child, "requirements", group=include_group, stack=(*stack, resolved))

        result = parse_requirements_text(
            text, source=source, group=group, include=include, tick=tick
        )
        if result.bad_lines > result.good_lines:
            # Mostly not requirements: not a requirements file. Refused whole, no line quoted
            # (a .env or a key file must never come back line by line).
            bad = sorted({p.line for p in result.problems})[:10]
            self.refuse(
                path,
                ScanRefused(
                    f"not a requirements file: {result.bad_lines} of "
                    f"{result.bad_lines + result.good_lines} lines are not requirements",
                    "Point the scan at a requirements file (PEP 508 lines, -r/-c, pip options).",
                ),
                {"lines": bad},
            )
            return Result()
        return result


def _listing(directory: Path, limit: int) -> tuple[list[Path], bool]:
    """List at most *limit* entries of *directory* (sorted); also say whether it was cut."""
    with os.scandir(directory) as it:
        entries = [Path(e.path) for e in itertools.islice(it, limit + 1)]
    return sorted(entries[:limit]), len(entries) > limit


def scan_dependencies(
    path: str | os.PathLike[str],
    *,
    root: str | os.PathLike[str] | None = None,
    environment: Mapping[str, str] | None = None,
    limits: ScanLimits | None = None,
    clock: Callable[[], float] = time.monotonic,
    cancel: Callable[[], object] | None = None,
) -> PartialResult[Dependency]:
    """Find the dependencies a project declares, without executing or downloading anything.

    Reads ``pyproject.toml`` (PEP 621, PEP 735 groups, Poetry), ``requirements*.txt`` (with
    ``-r``/``-c`` includes), ``uv.lock``, ``pylock.toml`` (PEP 751) and ``setup.cfg``. Every
    unusable line is reported with file:line, a short redacted fragment and a suggestion;
    dependencies whose environment markers do not apply to *environment* (default: the running
    interpreter) are left out, with a note.

    Only dependency files are read: a file is chosen by its name (see
    :data:`ACCEPTED_FILES`; anything else, such as ``.env`` or ``id_rsa``, is refused unread)
    and kept by its content (a "requirements" file whose lines are mostly not requirements is
    refused whole, none of its lines quoted). Each file is parsed once, however often it is
    included; the work is bounded by *limits*, and a scan that reaches a limit returns what it
    read, with a warning that says what was cut. An unreadable file is a failed item, not a
    failed scan.

    Args:
        path: A project directory or one dependency file.
        root: The directory the scan is confined to (default: *path*, or its directory).
        environment: Marker environment overrides (e.g. ``{"python_version": "3.12"}``).
        limits: Bounds on the work (default: :class:`ScanLimits`).
        clock: Monotonic time source for ``limits.max_seconds``.
        cancel: Called every ``limits.poll_every`` lines and at each file; it raises to stop
            the scan (in a worker thread: ``anyio.from_thread.check_cancelled``).

    Raises:
        InvalidInputError: When *path* does not exist, is outside *root*, is not a dependency
            file by name, or holds no dependency file.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       *limits*, *clock* and *cancel*; files are chosen by name and content.
    """
    limits = limits or ScanLimits()
    budget = _Budget(limits, clock, cancel)
    target = Path(path).expanduser()
    base = Path(root) if root is not None else (target if target.is_dir() else target.parent)
    reader = SafeReader.for_root(base)
    scanner = _Scanner(reader, budget)
    try:
        resolved = reader.resolve(target if target.is_absolute() else Path.cwd() / target)
    except ScanRefused as refusal:
        raise InvalidInputError(
            f"The project path is refused ({refusal.reason})",
            details={"reason": refusal.reason},
            suggestions=(refusal.suggestion,),
        ) from None
    files: list[tuple[Path, str]] = []
    notes: list[str] = []
    if resolved.is_dir():
        try:
            listing, listing_cut = _listing(resolved, limits.max_directory_entries)
            if listing_cut:
                notes.append(
                    f"The directory has more than {limits.max_directory_entries} entries; "
                    "only the first were looked at."
                )
            for child in listing:
                kind = _kind_of(child.name)
                if kind is not None:
                    files.append((child, kind))
            req_dir = resolved / "requirements"
            if req_dir.is_dir() and not req_dir.is_symlink():
                sub, _ = _listing(req_dir, limits.max_directory_entries)
                files += [(c, "requirements") for c in sub if c.suffix == ".txt"]
        except OSError as exc:
            raise InvalidInputError(
                f"The project directory cannot be listed ({exc.strerror or type(exc).__name__})",
                suggestions=("Check the directory's permissions.",),
            ) from None
    else:
        kind = _kind_of(resolved.name) or (
            "requirements" if _requirements_by_name(resolved.name) else None
        )
        if kind is None:
            # Not a dependency file by name: refused unread, and nothing of it is echoed.
            raise InvalidInputError(
                "The file is not a dependency file; it was not read",
                details={"accepted": list(ACCEPTED_FILES)},
                suggestions=("Point the scan at a project directory or a dependency file.",),
            )
        files.append((resolved, kind))
    if not files:
        raise InvalidInputError(
            "No dependency file found (pyproject.toml, requirements*.txt, uv.lock, "
            "pylock.toml, setup.cfg)",
            details={"path": redact_fragment(reader.relative(resolved), 200)},
            suggestions=("Point the scan at the project's root directory.",),
        )
    total = Result()
    try:
        for file, kind in files:
            total.extend(scanner.file(file, kind))
            if len(total.deps) > limits.max_dependencies:
                raise _Cut(f"more than {limits.max_dependencies} dependencies")
    except _Cut as stop:
        notes.append(
            f"The scan was cut short ({stop.reason}) after {budget.files} file(s); the list "
            "below is partial. Point the scan at a smaller project or flatten the includes."
        )
    del total.deps[limits.max_dependencies :]
    env: dict[str, str] = {str(k): str(v) for k, v in default_environment().items()}
    env.update(environment or {})
    kept: list[Dependency] = []
    skipped = 0
    unique: set[tuple[object, ...]] = set()
    marker_env = {**env, "extra": ""}
    verdicts: dict[str, bool] = {}  # one evaluation per distinct marker
    for index, dep in enumerate(total.deps):
        if cancel is not None and index % limits.poll_every == 0:
            cancel()
        if dep.markers:
            applies = verdicts.get(dep.markers)
            if applies is None:
                try:
                    applies = bool(Marker(dep.markers).evaluate(marker_env))
                except (InvalidMarker, UndefinedComparison, ValueError):
                    applies = True
                verdicts[dep.markers] = applies
            if not applies:
                skipped += 1
                continue
        ident = (dep.name, dep.constraint, dep.extras, dep.markers, dep.group, dep.source)
        if ident not in unique:
            unique.add(ident)
            kept.append(dep)
    notes = list(total.notes) + notes
    if skipped:
        notes.append(
            f"{skipped} dependencies left out: their environment markers do not apply "
            f"to Python {env.get('python_full_version', '?')} on "
            f"{env.get('sys_platform', '?')}"
        )
    failures = [
        FailedItem.from_exception(
            f"{p.source}:{p.line}",
            InvalidInputError(
                f"{p.source}:{p.line}: {p.message}",
                details={"file": p.source, "line": p.line, "text": p.text},
                suggestions=(p.suggestion,),
            ),
        )
        for p in total.problems
    ]
    return PartialResult(kept, failures + scanner.refused, notes)
