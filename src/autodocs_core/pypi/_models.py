"""Values read from a package index."""

from __future__ import annotations

import attrs

__all__ = ["PackageMetadata", "ProjectIndex", "Release", "Resolution"]


@attrs.frozen(cache_hash=True)
class Release:
    """One released version as the index lists it.

    Attributes:
        version: The version string as published (may be a legacy, non-PEP 440 string).
        yanked: Whether every file of the release is yanked (PEP 592).
        yanked_reason: The reason given, if any.
        requires_python: The ``Requires-Python`` of its files, if any.
        upload_time: ISO 8601 upload time of its first file, if known.
    """

    version: str
    yanked: bool = False
    yanked_reason: str | None = None
    requires_python: str | None = None
    upload_time: str | None = None


@attrs.frozen
class PackageMetadata:
    """The metadata of one version of one package.

    Attributes:
        name: The normalised name.
        version: The version.
        summary: One-line summary.
        description: The long description (untrusted text from the index).
        description_content_type: Its content type (``text/markdown``, ``text/x-rst``, ...).
        requires_dist: ``Requires-Dist`` requirement strings.
        requires_python: ``Requires-Python``.
        project_urls: ``(label, url)`` pairs.
        license: License text or SPDX expression.
        yanked: Whether this version is yanked.
        yanked_reason: Why, if it is.
        source: Where it came from: ``json``, ``version-json`` or ``core-metadata``.
    """

    name: str
    version: str
    summary: str | None = None
    description: str | None = None
    description_content_type: str | None = None
    requires_dist: tuple[str, ...] = ()
    requires_python: str | None = None
    project_urls: tuple[tuple[str, str], ...] = ()
    license: str | None = None
    yanked: bool = False
    yanked_reason: str | None = None
    source: str = "json"


@attrs.frozen
class ProjectIndex:
    """A project's release list and the metadata of its latest version.

    Attributes:
        name: The normalised name.
        latest: The metadata the JSON API gives for the project (its latest version).
        releases: Every release the index lists.
    """

    name: str
    latest: PackageMetadata
    releases: tuple[Release, ...]


@attrs.frozen
class Resolution:
    """Which version a constraint resolved to.

    Attributes:
        version: The chosen version.
        constraint: The constraint as given (``None`` for "latest").
        yanked: Whether the chosen version is yanked (only when pinned with ``==``).
        yanked_reason: Why it was yanked.
    """

    version: str
    constraint: str | None
    yanked: bool = False
    yanked_reason: str | None = None
