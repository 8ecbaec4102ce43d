"""Version resolution with ``packaging``: PEP 440 specifiers, pre-releases, yanked releases."""

from __future__ import annotations

import bisect
import functools
from collections.abc import Iterable

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from ..errors import InvalidInputError, VersionNotFoundError
from ._models import Release, Resolution

__all__ = ["MAX_CONSTRAINT_LENGTH", "parse_constraint", "resolve_version"]

MAX_CONSTRAINT_LENGTH = 200
"""Longest version constraint accepted."""

_LATEST = {"", "latest", "*", "any"}


def parse_constraint(constraint: str | None) -> SpecifierSet | None:
    """Parse a version constraint; ``None``, ``""`` or ``"latest"`` mean no constraint.

    A bare version (``"2.31.0"``) means ``==2.31.0``.

    Raises:
        InvalidInputError: When the constraint is not a PEP 440 specifier set.
    """
    if constraint is None:
        return None
    text = constraint.strip()
    if text.lower() in _LATEST:
        return None
    if len(text) > MAX_CONSTRAINT_LENGTH:
        raise InvalidInputError(
            f"The version constraint is longer than {MAX_CONSTRAINT_LENGTH} characters",
            details={"version_constraint": text[:80] + "..."},
        )
    if text[0].isdigit():
        try:
            Version(text)
        except InvalidVersion:
            pass
        else:
            text = f"=={text}"
    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        raise InvalidInputError(
            f"'{text[:80]}' is not a valid version constraint",
            details={"version_constraint": text[:80]},
            suggestions=(
                "Use PEP 440 specifiers such as '>=2.0', '~=1.4', '==2.31.0' or '>=1,<2', or a "
                "bare version such as '2.31.0'.",
            ),
        ) from None


def _is_pin(spec: SpecifierSet) -> bool:
    specs = list(spec)
    return len(specs) == 1 and specs[0].operator in ("==", "===") and "*" not in specs[0].version


def _nearest(versions: list[Version], spec: SpecifierSet, count: int = 3) -> list[str]:
    anchors = []
    for s in spec:
        try:
            anchors.append(Version(s.version.rstrip(".*")))
        except InvalidVersion:
            continue
    if not versions:
        return []
    if not anchors:
        return [str(v) for v in versions[-count:]]
    at = bisect.bisect_left(versions, max(anchors))
    window = versions[max(0, at - count) : at + count]
    return [str(v) for v in window]


@functools.lru_cache(maxsize=256)
def _parsed(releases: tuple[Release, ...]) -> tuple[tuple[Version, Release], ...]:
    """Parse and sort a release list once (memoised: warm lookups resolve the same lists)."""
    parsed: list[tuple[Version, Release]] = []
    for release in releases:
        try:
            parsed.append((Version(release.version), release))
        except InvalidVersion:
            continue
    parsed.sort(key=lambda pair: pair[0])
    return tuple(parsed)


def resolve_version(name: str, releases: Iterable[Release], constraint: str | None) -> Resolution:
    """Choose the version of *name* that *constraint* asks for.

    - No constraint: the newest non-yanked final release (the newest pre-release if there is no
      final one).
    - A specifier set: the newest non-yanked match, with PEP 440's pre-release rule (pre-releases
      only when the specifier names one, or nothing else matches).
    - A pin (``==X`` or a bare ``X``): that version even when it is yanked, flagged as such.

    Versions that are not PEP 440 (legacy) are skipped, never a crash.

    Raises:
        InvalidInputError: When the constraint is malformed.
        VersionNotFoundError: When nothing matches; it lists the versions nearest the request.
    """
    spec = parse_constraint(constraint)
    parsed = list(_parsed(tuple(releases)))
    available = [(v, r) for v, r in parsed if not r.yanked]
    if spec is None:
        finals = [pair for pair in available if not pair[0].is_prerelease]
        pool = finals or available
        if not pool:
            raise VersionNotFoundError(
                name,
                "latest",
                nearest=[str(v) for v, _ in parsed[-3:]],
                suggestions=(
                    "Every release of this package is yanked; pin one with '==' to read it anyway.",
                ),
            )
        _, release = pool[-1]
        # The index's own spelling (2024.07.04, not 2024.7.4): it is what the project
        # document's 'info' and the per-version URLs use.
        return Resolution(release.version, None)
    candidates = parsed if _is_pin(spec) else available
    by_version = {v: r for v, r in candidates}
    matches = sorted(spec.filter(by_version.keys()))
    if not matches:
        raise VersionNotFoundError(
            name, str(constraint), nearest=_nearest([v for v, _ in available], spec)
        )
    chosen = matches[-1]
    release = by_version[chosen]
    return Resolution(
        release.version,
        str(constraint),
        yanked=release.yanked,
        yanked_reason=release.yanked_reason,
    )
