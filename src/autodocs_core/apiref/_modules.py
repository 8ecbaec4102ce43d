"""Which archive members are importable modules, and under which dotted names (pure).

A wheel holds its packages at the root (``pkg/__init__.py``), or under
``<name>.data/purelib/`` / ``platlib/`` (PEP 427); an sdist holds them under one top directory
(``name-1.0/``), often in a ``src/`` layout. Stub-only packages are named ``<pkg>-stubs``
(PEP 561) and document ``<pkg>``. Namespace packages (PEP 420) have no ``__init__.py``.
Tests, docs, examples, benchmarks and build scripts are not part of the API and are left out.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["ModuleFile", "module_paths"]

_SKIPPED_DIRS = frozenset(
    {
        "__pycache__",
        "test",
        "tests",
        "doc",
        "docs",
        "example",
        "examples",
        "benchmark",
        "benchmarks",
        "bench",
    }
)
# Build and task scripts at an sdist's root: never importable API.
_ROOT_SCRIPTS = frozenset({"setup", "conftest", "noxfile", "tasks", "fabfile", "manage"})
_SDIST_TOP = re.compile(r"^[A-Za-z0-9_.+-]+-\d[^/]*$")
_DATA_DIR = re.compile(r"^[^/]+\.data$")
_MAX_DEPTH = 32


@attrs.frozen
class ModuleFile:
    """The archive members behind one importable module.

    Attributes:
        name: Its dotted name (``httpx._client``).
        py: The archive path of its source (``.py``), if any.
        pyi: The archive path of its stub (``.pyi``), if any: signatures come from here.
        package: Whether it is a package (an ``__init__`` module).

    .. versionadded:: 0.2.0
    """

    name: str
    py: str | None = None
    pyi: str | None = None
    package: bool = False


def _normalise(path: str) -> list[str] | None:
    parts = [p for p in path.replace("\\", "/").split("/") if p not in ("", ".")]
    if not parts or ".." in parts or ":" in parts[0] or path.startswith(("/", "\\")):
        return None
    return parts


def _strip_layout(parts: list[str], *, sdist: bool) -> list[str] | None:
    """Drop the wheel ``.data/purelib`` or the sdist ``name-1.0/[src/]`` prefix."""
    if sdist:
        parts = parts[1:]
        if parts and parts[0] == "src":
            parts = parts[1:]
        return parts or None
    if parts[0].endswith(".dist-info"):
        return None
    if _DATA_DIR.match(parts[0]):
        if len(parts) > 2 and parts[1] in ("purelib", "platlib"):
            return parts[2:]
        return None  # scripts, headers, data: not importable
    return parts


def _is_test_file(stem: str) -> bool:
    return stem == "conftest" or stem.startswith("test_") or stem.endswith("_test")


def _module_name(parts: list[str], *, sdist: bool, dist: str) -> tuple[str, bool] | None:
    """Return the dotted name and whether it is a package, or ``None`` when not importable."""
    filename = parts[-1]
    stem, _, suffix = filename.rpartition(".")
    if suffix not in ("py", "pyi") or len(parts) > _MAX_DEPTH:
        return None
    dirs = list(parts[:-1])
    if dirs and dirs[0].endswith("-stubs"):
        dirs[0] = dirs[0][: -len("-stubs")]
    if any(d in _SKIPPED_DIRS or not d.isidentifier() for d in dirs):
        return None
    if not stem.isidentifier() or _is_test_file(stem):
        return None
    if not dirs:
        if stem == "__init__":
            return None
        # At an sdist's root, only a single-file module named after the distribution is API.
        if sdist and (stem in _ROOT_SCRIPTS or stem.lower() != dist):
            return None
        if stem in ("setup", "conftest"):
            return None
        return stem, False
    if stem == "__init__":
        return ".".join(dirs), True
    if stem == "__main__":
        return None
    return ".".join([*dirs, stem]), False


def _looks_like_sdist(paths: list[list[str]]) -> bool:
    tops = {p[0] for p in paths if len(p) > 1}
    if any(top.endswith((".dist-info", ".data")) for top in tops):
        return False
    return (
        len(tops) == 1
        and all(len(p) > 1 for p in paths)
        and bool(_SDIST_TOP.match(next(iter(tops))))
    )


def module_paths(
    paths: Iterable[str], *, name: str, sdist: bool | None = None
) -> dict[str, ModuleFile]:
    """Map the importable modules among an artifact's member paths to their files.

    Args:
        paths: Member paths of a wheel or sdist (``httpx/_client.py``,
            ``pkg-1.0/src/pkg/__init__.py``, ``pkg-stubs/__init__.pyi``).
        name: The distribution's name (used to recognise a single-file module in an sdist).
        sdist: Whether the paths come from an sdist (one ``name-1.0/`` top directory);
            ``None`` guesses from the paths.

    Returns:
        Dotted module name → its :class:`ModuleFile` (the ``.py`` and/or the ``.pyi``), sorted
        by name. Unsafe paths (``..``, absolute, drive letters), tests, docs, examples,
        benchmarks, ``setup.py`` and ``__pycache__`` are left out.

    .. versionadded:: 0.2.0
    """
    split = [p for p in (_normalise(path) for path in paths) if p is not None]
    if sdist is None:
        sdist = _looks_like_sdist(split)
    dist = re.sub(r"[-_.]+", "_", name).lower()
    found: dict[str, dict[str, object]] = {}
    for parts in split:
        inner = _strip_layout(parts, sdist=sdist)
        if inner is None:
            continue
        named = _module_name(inner, sdist=sdist, dist=dist)
        if named is None:
            continue
        module, package = named
        slot = found.setdefault(module, {"package": package})
        suffix = "pyi" if inner[-1].endswith(".pyi") else "py"
        # The first wins: a runtime package over its ``-stubs`` twin only for the same suffix.
        slot.setdefault(suffix, "/".join(parts))
        slot["package"] = bool(slot["package"]) or package
    return {
        module: ModuleFile(
            name=module,
            py=str(slot["py"]) if "py" in slot else None,
            pyi=str(slot["pyi"]) if "pyi" in slot else None,
            package=bool(slot["package"]),
        )
        for module, slot in sorted(found.items())
    }
