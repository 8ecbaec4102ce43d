"""Read untrusted index documents defensively: wrong types become MalformedResponse, not crashes.

Sources: the JSON API (``/pypi/{name}/json``, ``/pypi/{name}/{version}/json``), the simple
repository API in JSON form (PEP 691) and core-metadata files (PEP 658/714, parsed with
``packaging.metadata``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
from packaging.metadata import parse_email
from packaging.version import InvalidVersion, Version

from ..errors import MalformedResponse
from ._models import PackageMetadata, ProjectIndex, Release

__all__ = ["metadata_from_core", "metadata_from_info", "project_from_json", "simple_files"]

MAX_TEXT = 2_000_000
"""Longest description kept (characters)."""


def _str(value: Any, limit: int = 10_000) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None


def _version(value: Any) -> str | None:
    """A version string as the index spells it, without surrounding whitespace."""
    if not isinstance(value, str):
        return None
    version = value.strip()[:100]
    return version or None


def _normal(version: str) -> Version | str:
    try:
        return Version(version)
    except InvalidVersion:
        return version


def _strings(value: Any, limit: int = 1000) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(v[:1000] for v in value[:limit] if isinstance(v, str))


def _urls(value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, Mapping):
        return ()
    return tuple(
        (k[:200], v[:2000])
        for k, v in list(value.items())[:100]
        if isinstance(k, str) and isinstance(v, str)
    )


def metadata_from_info(name: str, info: Any, *, source: str, url: str) -> PackageMetadata:
    """Build :class:`PackageMetadata` from a JSON API ``info`` block."""
    version = _version(info.get("version")) if isinstance(info, Mapping) else None
    if not isinstance(info, Mapping) or version is None:
        raise MalformedResponse("The index's package document has no usable 'info'", url=url)
    return PackageMetadata(
        name=name,
        version=version,
        summary=_str(info.get("summary"), 1000),
        description=_str(info.get("description"), MAX_TEXT),
        description_content_type=_str(info.get("description_content_type"), 200),
        requires_dist=_strings(info.get("requires_dist")),
        requires_python=_str(info.get("requires_python"), 200),
        project_urls=_urls(info.get("project_urls")),
        license=_str(info.get("license_expression"), 1000) or _str(info.get("license"), 5000),
        yanked=info.get("yanked") is True,
        yanked_reason=_str(info.get("yanked_reason"), 1000),
        source=source,
    )


def project_from_json(name: str, doc: Any, *, url: str) -> ProjectIndex:
    """Build a :class:`ProjectIndex` from a JSON API project document."""
    if not isinstance(doc, Mapping):
        raise MalformedResponse("The index's package document is not a JSON object", url=url)
    latest = metadata_from_info(name, doc.get("info"), source="json", url=url)
    raw_releases = doc.get("releases")
    releases: list[Release] = []
    if isinstance(raw_releases, Mapping):
        for raw_version, files in list(raw_releases.items())[:20_000]:
            version = _version(raw_version)
            if version is None:
                continue
            files = [f for f in files if isinstance(f, Mapping)] if isinstance(files, list) else []
            first = files[0] if files else {}
            releases.append(
                Release(
                    version=version,
                    yanked=bool(files) and all(f.get("yanked") is True for f in files),
                    yanked_reason=_str(first.get("yanked_reason"), 1000),
                    requires_python=_str(first.get("requires_python"), 200),
                    upload_time=_str(first.get("upload_time_iso_8601"), 64),
                )
            )
    # The latest version may be spelled differently in 'info' and in 'releases' (2024.07.04
    # and 2024.7.4 are one PEP 440 version): compare normalised, and keep one spelling, the
    # one of 'info', so that resolving "latest" finds the metadata already at hand.
    latest_key = _normal(latest.version)
    same = [i for i, r in enumerate(releases) if _normal(r.version) == latest_key]
    if same:
        for i in same:
            releases[i] = attrs.evolve(releases[i], version=latest.version)
    else:
        releases.append(Release(latest.version, latest.yanked, latest.yanked_reason))
    return ProjectIndex(name, latest, tuple(releases))


def simple_files(doc: Any, *, url: str) -> list[Mapping[str, Any]]:
    """Return the file entries of a PEP 691 JSON project page."""
    files = doc.get("files") if isinstance(doc, Mapping) else None
    if not isinstance(files, list):
        raise MalformedResponse("The index's simple API page has no 'files' list", url=url)
    return [
        f
        for f in files[:50_000]
        if isinstance(f, Mapping)
        and isinstance(f.get("filename"), str)
        and isinstance(f.get("url"), str)
    ]


def metadata_from_core(
    name: str, text: str, *, yanked: bool, yanked_reason: str | None, url: str
) -> PackageMetadata:
    """Build :class:`PackageMetadata` from a core-metadata file (RFC 822 style, PEP 566)."""
    raw, _unparsed = parse_email(text)
    version = _version(raw.get("version"))
    if not version:
        raise MalformedResponse("The core-metadata file has no Version field", url=url)
    urls = raw.get("project_urls") or {}
    return PackageMetadata(
        name=name,
        version=version,
        summary=_str(raw.get("summary"), 1000),
        description=_str(raw.get("description"), MAX_TEXT),
        description_content_type=_str(raw.get("description_content_type"), 200),
        requires_dist=tuple(raw.get("requires_dist") or ())[:1000],
        requires_python=_str(raw.get("requires_python"), 200),
        project_urls=_urls(dict(urls)),
        license=_str(raw.get("license_expression"), 1000) or _str(raw.get("license"), 5000),
        yanked=yanked,
        yanked_reason=yanked_reason,
        source="core-metadata",
    )
