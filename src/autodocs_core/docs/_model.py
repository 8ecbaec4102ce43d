"""The documentation of one package version, as a frozen value."""

from __future__ import annotations

import datetime as dt

import attrs

from ..pypi import PackageMetadata, Resolution

__all__ = ["PackageDocs"]


@attrs.frozen
class PackageDocs:
    """Everything autodocs knows about one version of one package.

    Attributes:
        name: Normalised package name.
        version: The exact resolved version.
        fetched_at: When it was read from the index (UTC).
        summary: One-line summary.
        requires_python: ``Requires-Python``.
        license: License text or SPDX expression.
        requires_dist: Requirement strings.
        project_urls: ``(label, url)`` pairs (untrusted; rendered as plain text).
        description: The long description (untrusted).
        description_content_type: Its content type.
        yanked: Whether the version is yanked.
        yanked_reason: Why.

    .. versionadded:: 0.1.0
    """

    name: str
    version: str
    fetched_at: dt.datetime
    summary: str | None = None
    requires_python: str | None = None
    license: str | None = None
    requires_dist: tuple[str, ...] = ()
    project_urls: tuple[tuple[str, str], ...] = ()
    description: str | None = None
    description_content_type: str | None = None
    yanked: bool = False
    yanked_reason: str | None = None

    @classmethod
    def from_metadata(
        cls, meta: PackageMetadata, resolution: Resolution, fetched_at: dt.datetime
    ) -> PackageDocs:
        """Build from index metadata and the resolution that chose the version."""
        # The index's metadata fields are taken as they are (one list: the fields both
        # classes have), not copied one by one; the resolution may add a yank.
        common = {
            f.name: getattr(meta, f.name)
            for f in attrs.fields(cls)
            if f.name in attrs.fields_dict(type(meta))
        }
        common["yanked"] = meta.yanked or resolution.yanked
        common["yanked_reason"] = meta.yanked_reason or resolution.yanked_reason
        return cls(fetched_at=fetched_at, **common)
