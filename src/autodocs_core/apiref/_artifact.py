"""Which released file of a version to read the API from (PEP 691 file entries, PEP 427 names).

Order, best first:

1. a pure wheel (``*-none-any``), a ``py3`` one before a ``py2``-only one;
2. the mainstream binary wheel: manylinux x86_64 for CPython, abi3 first, then the newest
   CPython; free-threaded builds (``cp313t``) are not mainstream;
3. any other wheel, the newest CPython first, free-threaded builds last (the Python code and
   stubs are the same on every platform);
4. a ``.zip`` sdist (read with ranges like a wheel);
5. a ``.tar.gz`` sdist no larger than the cap (it must be downloaded whole).

Files of other versions, unparseable names and unusable URLs are ignored; yanked files are used
only when every usable file is yanked (a pinned yanked release). Ties break on the file name,
so the choice never depends on the order the index lists files in.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any

from packaging.tags import Tag
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from ..errors import redact_url
from ._model import Artifact
from ._zip import DEFAULT_MAX_DOWNLOAD_BYTES

__all__ = ["DEFAULT_MAX_SDIST_BYTES", "choose_artifact"]

DEFAULT_MAX_SDIST_BYTES = DEFAULT_MAX_DOWNLOAD_BYTES
"""Largest ``.tar.gz`` sdist chosen (20 MiB): it is downloaded whole, under the same cap."""

_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_CPYTHON = re.compile(r"cp3(\d+)")
_MAINSTREAM_PLATFORM = re.compile(r"manylinux(1|2010|2014|_2_\d+)_x86_64")

Rank = tuple[int, ...]


def _tag_rank(tag: Tag) -> Rank:
    """Rank one wheel tag (lower is better): (tier, preferences...)."""
    interp, abi, platform = tag.interpreter, tag.abi, tag.platform
    if abi == "none" and platform == "any":
        return (0, 0 if interp.startswith("py3") or interp.startswith("cp3") else 1)
    cpython = _CPYTHON.fullmatch(interp)
    minor = int(cpython[1]) if cpython else 0
    threaded = abi.endswith("t") and abi.startswith("cp")
    if cpython and not threaded and _MAINSTREAM_PLATFORM.fullmatch(platform):
        return (1, 0 if abi == "abi3" else 1, -minor)
    return (2, 1 if threaded else 0, -minor)


def _entry(
    f: Mapping[str, Any], page_url: str
) -> tuple[str, str, str | None, int | None, bool] | None:
    """(filename, absolute url, sha256, size, yanked) of a usable file entry, else ``None``."""
    filename, url = f.get("filename"), f.get("url")
    if not isinstance(filename, str) or not isinstance(url, str) or "/" in filename:
        return None
    try:
        absolute = urllib.parse.urljoin(page_url, url)
    except ValueError:
        return None
    if urllib.parse.urlsplit(absolute).scheme not in ("http", "https"):
        return None
    hashes = f.get("hashes")
    sha = hashes.get("sha256") if isinstance(hashes, Mapping) else None
    sha256 = sha.lower() if isinstance(sha, str) and _SHA256.fullmatch(sha) else None
    size = f.get("size")
    size = size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None
    yanked = f.get("yanked")
    return filename, absolute, sha256, size, bool(yanked)


def choose_artifact(
    files: Sequence[Mapping[str, Any]],
    *,
    name: str,
    version: str,
    page_url: str,
    max_sdist_bytes: int = DEFAULT_MAX_SDIST_BYTES,
) -> Artifact | None:
    """Choose the file of *name* *version* to read the API reference from.

    Args:
        files: PEP 691 file entries (``filename``, ``url`` relative to *page_url*,
            ``hashes.sha256``, ``size``, ``yanked``), untrusted.
        name: The project name (any spelling; compared normalised).
        version: The exact version (compared as a PEP 440 version).
        page_url: The simple API page the entries came from.
        max_sdist_bytes: Largest ``.tar.gz`` sdist to choose (one of unknown size is allowed;
            the reader caps its download).

    Returns:
        The chosen file, or ``None`` when this version has no usable wheel or sdist.

    .. versionadded:: 0.2.0
    """
    try:
        wanted_version = Version(version)
    except InvalidVersion:
        return None
    wanted_name = canonicalize_name(name)
    best: tuple[tuple[bool, Rank, str], Artifact] | None = None
    untrusted: Sequence[Any] = files  # entries come from the index: check their types anyway
    for f in untrusted:
        if not isinstance(f, Mapping):
            continue
        entry = _entry(f, page_url)
        if entry is None:
            continue
        filename, url, sha256, size, yanked = entry
        lower = filename.lower()
        kind = "wheel"
        try:
            if lower.endswith(".whl"):
                dist, ver, _build, tags = parse_wheel_filename(filename)
                if not tags:
                    continue
                rank: Rank = min(_tag_rank(t) for t in tags)
            elif lower.endswith((".zip", ".tar.gz")):
                dist, ver = parse_sdist_filename(filename)
                kind = "sdist"
                if lower.endswith(".zip"):
                    rank = (3,)
                elif size is not None and size > max_sdist_bytes:
                    continue
                else:
                    rank = (4,)
            else:
                continue
        except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
            continue
        if dist != wanted_name or ver != wanted_version:
            continue
        key = (yanked, rank, filename)
        if best is None or key < best[0]:
            best = (key, Artifact(filename, redact_url(url), sha256, size, kind))
    return None if best is None else best[1]
