"""What a dependency scan finds."""

from __future__ import annotations

import attrs

__all__ = ["Dependency"]


@attrs.frozen
class Dependency:
    """One declared dependency of a project.

    Attributes:
        name: Normalised distribution name.
        constraint: The version specifier (``""`` when unconstrained).
        extras: Requested extras.
        markers: The environment marker, if any (as written).
        source: File it was declared in (relative to the scan root).
        line: 1-based line in that file (0 when unknown).
        group: ``"runtime"``, an optional-dependency extra (``"extra:NAME"``), a dependency
            group (``"group:NAME"``), ``"constraints"`` or ``"lock"``.
        kind: ``"registry"`` (from the index), or ``"url"``, ``"git"``, ``"path"``, ``"editable"``
            (reported, never fetched).
        location: The URL or path for non-registry dependencies (credentials redacted).
    """

    name: str
    constraint: str = ""
    extras: tuple[str, ...] = ()
    markers: str | None = None
    source: str = ""
    line: int = 0
    group: str = "runtime"
    kind: str = "registry"
    location: str | None = None
