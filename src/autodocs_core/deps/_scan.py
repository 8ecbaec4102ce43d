"""Scan a project directory (or one file) for its declared dependencies."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from packaging.markers import InvalidMarker, Marker, UndefinedComparison, default_environment

from ..errors import InvalidInputError
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

__all__ = ["MAX_INCLUDE_DEPTH", "scan_dependencies"]

MAX_INCLUDE_DEPTH = 10
"""How deep ``-r``/``-c`` includes are followed."""


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


class _Scanner:
    def __init__(self, reader: SafeReader) -> None:
        self.reader = reader
        self.refused: list[FailedItem] = []

    def refuse(self, path: Path, refusal: ScanRefused) -> None:
        shown = self.reader.relative(path) if self.reader.root in path.parents else path.name
        self.refused.append(
            FailedItem.from_exception(
                shown,
                InvalidInputError(
                    f"{shown}: file refused ({refusal.reason})",
                    details={"file": shown, "reason": refusal.reason},
                    suggestions=(refusal.suggestion,),
                ),
            )
        )

    def file(
        self, path: Path, kind: str, *, group: str = "runtime", stack: tuple[Path, ...] = ()
    ) -> Result:
        try:
            resolved = self.reader.resolve(path)
            text = self.reader.read_text(path)
        except ScanRefused as refusal:
            self.refuse(path, refusal)
            return Result()
        source = self.reader.relative(resolved)
        if kind == "pyproject":
            return parse_pyproject(text, source=source)
        if kind == "uv.lock":
            return parse_uv_lock(text, source=source)
        if kind == "pylock":
            return parse_pylock(text, source=source)
        if kind == "setup.cfg":
            return parse_setup_cfg(text, source=source)

        def include(target: str, include_group: str, line: int) -> Result:
            child = resolved.parent / target
            if len(stack) >= MAX_INCLUDE_DEPTH:
                return Result(
                    problems=[
                        Problem(
                            source,
                            line,
                            f"includes nested deeper than {MAX_INCLUDE_DEPTH}",
                            "Flatten the requirement files.",
                            target[:200],
                        )
                    ]
                )
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
                            f"include cycle: {target} is already being read",
                            "Remove the -r/-c line that closes the cycle.",
                            target[:200],
                        )
                    ]
                )
            return self.file(child, "requirements", group=include_group, stack=(*stack, resolved))

        return parse_requirements_text(text, source=source, group=group, include=include)


def scan_dependencies(
    path: str | os.PathLike[str],
    *,
    root: str | os.PathLike[str] | None = None,
    environment: Mapping[str, str] | None = None,
) -> PartialResult[Dependency]:
    """Find the dependencies a project declares, without executing or downloading anything.

    Reads ``pyproject.toml`` (PEP 621, PEP 735 groups, Poetry), ``requirements*.txt`` (with
    ``-r``/``-c`` includes), ``uv.lock``, ``pylock.toml`` (PEP 751) and ``setup.cfg``. Every
    unusable line is reported with file:line and a suggestion; dependencies whose environment
    markers do not apply to *environment* (default: the running interpreter) are left out, with a
    note.

    Args:
        path: A project directory or one dependency file.
        root: The directory the scan is confined to (default: *path*, or its directory).
        environment: Marker environment overrides (e.g. ``{"python_version": "3.12"}``).

    Raises:
        InvalidInputError: When *path* does not exist, is outside *root*, or holds no
            dependency file.

    .. versionadded:: 0.1.0
    """
    target = Path(path).expanduser()
    base = Path(root) if root is not None else (target if target.is_dir() else target.parent)
    reader = SafeReader.for_root(base)
    scanner = _Scanner(reader)
    try:
        resolved = reader.resolve(target if target.is_absolute() else Path.cwd() / target)
    except ScanRefused as refusal:
        raise InvalidInputError(
            f"The project path is refused ({refusal.reason})",
            details={"reason": refusal.reason},
            suggestions=(refusal.suggestion,),
        ) from None
    files: list[tuple[Path, str]] = []
    if resolved.is_dir():
        for child in sorted(resolved.iterdir()):
            kind = _kind_of(child.name)
            if kind is not None:
                files.append((child, kind))
        req_dir = resolved / "requirements"
        if req_dir.is_dir() and not req_dir.is_symlink():
            files += [(c, "requirements") for c in sorted(req_dir.glob("*.txt"))]
    else:
        kind = _kind_of(resolved.name) or "requirements"
        files.append((resolved, kind))
    if not files:
        raise InvalidInputError(
            "No dependency file found (pyproject.toml, requirements*.txt, uv.lock, "
            "pylock.toml, setup.cfg)",
            details={"path": reader.relative(resolved)},
            suggestions=("Point the scan at the project's root directory.",),
        )
    total = Result()
    seen: set[Path] = set()
    for file, kind in files:
        try:
            key = reader.resolve(file)
        except ScanRefused as refusal:
            scanner.refuse(file, refusal)
            continue
        if key in seen:
            continue
        seen.add(key)
        total.extend(scanner.file(file, kind))
    env: dict[str, str] = {str(k): str(v) for k, v in default_environment().items()}
    env.update(environment or {})
    kept: list[Dependency] = []
    skipped = 0
    unique: set[tuple[object, ...]] = set()
    for dep in total.deps:
        if dep.markers:
            try:
                applies = Marker(dep.markers).evaluate({**env, "extra": ""})
            except (InvalidMarker, UndefinedComparison, ValueError):
                applies = True
            if not applies:
                skipped += 1
                continue
        ident = (dep.name, dep.constraint, dep.extras, dep.markers, dep.group, dep.source)
        if ident not in unique:
            unique.add(ident)
            kept.append(dep)
    notes = list(total.notes)
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
