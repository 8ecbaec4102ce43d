"""Read the API reference of one release: choose its file, read the code members, extract.

One lookup, one deadline: the simple page (PEP 691), the file's tail (one suffix ``Range``
request: central directory and usually ``METADATA``), the code members (merged ranges), then
static extraction in a worker thread that stops between modules when the deadline nears, so a
huge package answers with what is ready (a partial reference, labelled).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Collection

import anyio
import anyio.from_thread
import anyio.to_thread
import attrs

from ..errors import NotFoundError
from ..http import RangeBody
from ..pypi import IndexClient, SimplePage
from ..resilience import SYSTEM_CLOCK, Clock, Deadline, SingleFlight
from ._archive import ArchiveContents, RangeFetcher, read_archive
from ._artifact import choose_artifact
from ._model import ApiIndex, Artifact
from ._rank import with_search_terms
from ._zip import DEFAULT_LIMITS, ArchiveLimits

__all__ = ["ApiReader"]

EXTRACT_RESERVE = 0.5
"""Seconds of the deadline kept back after extraction stops, to render and answer."""

PARTIAL_KEPT = 8
"""Partial references kept in memory (they are not written to the cache)."""

LARGE_PACKAGE_MODULES = 400
"""Above this many code files, only the modules a query names are parsed (PERFORMANCE.md:
parsing all of torch's 2,477 modules takes tens of seconds); the answer is labelled partial."""


class ApiReader:
    """Reads API references from release artifacts through the index client's resilience.

    Args:
        index: The index client (its per-host breakers, budgets and policy guard every read).
        clock: Time source.
        limits: Archive limits (bytes read, members, uncompressed sizes).

    .. versionadded:: 0.2.0
    """

    def __init__(
        self,
        index: IndexClient,
        *,
        clock: Clock = SYSTEM_CLOCK,
        limits: ArchiveLimits | None = None,
    ) -> None:
        self.index = index
        self.clock = clock
        self.limits = limits if limits is not None else DEFAULT_LIMITS
        self._flight: SingleFlight[ApiIndex] = SingleFlight()
        # Partial references (a very large package read for one query) are not cached with the
        # complete ones; the last few are kept here so that asking again is not a re-read.
        self._partial: OrderedDict[tuple[str, str, tuple[str, ...]], ApiIndex] = OrderedDict()
        self.bytes_read = 0
        self.artifacts_read = 0

    def _fetcher(self, artifact: Artifact, deadline: Deadline) -> RangeFetcher:
        async def fetch(start: int | None, end: int | None) -> RangeBody:
            body = await self.index.fetch_range(
                artifact.url,
                start=start,
                end=end,
                max_bytes=(
                    self.limits.max_download_bytes
                    if start is None and end is None
                    else self.limits.max_read_bytes
                ),
                deadline=deadline,
            )
            self.bytes_read += len(body.data)
            return body

        return fetch

    async def read_metadata(
        self, name: str, version: str, page: SimplePage, deadline: Deadline
    ) -> str | None:
        """Return ``METADATA`` of *name* *version* read from its wheel's tail, or ``None``."""
        wheels = [f for f in page.files if str(f.get("filename", "")).endswith(".whl")]
        artifact = choose_artifact(wheels, name=name, version=version, page_url=page.url)
        if artifact is None:
            return None
        contents = await read_archive(
            self._fetcher(artifact, deadline), artifact, limits=self.limits, metadata_only=True
        )
        return contents.metadata

    async def get_index(
        self,
        name: str,
        version: str,
        *,
        deadline: Deadline,
        wanted: Collection[str] | None = None,
    ) -> ApiIndex:
        """Return the API reference of *name* *version*, read from its released file.

        Args:
            name: The normalised package name.
            version: The exact version.
            deadline: The lookup's deadline (reads and extraction).
            wanted: Module names or identifiers a query names; on a very large package only
                those modules (and the ``__init__`` chain above them) are read.

        Raises:
            NotFoundError: The release has no file an API reference can be read from.
        """
        key = (name, version, tuple(sorted(wanted or ())))
        held = self._partial.get(key)
        if held is not None:
            self._partial.move_to_end(key)
            return held
        index = await self._flight.do(key, lambda: self._read(name, version, deadline, wanted))
        if index.partial:
            self._partial[key] = index
            while len(self._partial) > PARTIAL_KEPT:
                self._partial.popitem(last=False)
        return index

    async def _read(
        self, name: str, version: str, deadline: Deadline, wanted: Collection[str] | None
    ) -> ApiIndex:
        page = await self.index.get_files(name, deadline=deadline)
        artifact = choose_artifact(page.files, name=name, version=version, page_url=page.url)
        if artifact is None:
            raise NotFoundError(
                f"{name} {version} has no wheel or sdist to read an API reference from",
                details={"package_name": name, "version": version, "files": len(page.files)},
                suggestions=("Ask get_package_docs for the README and metadata instead.",),
            )
        contents = await read_archive(
            self._fetcher(artifact, deadline), artifact, limits=self.limits
        )
        self.artifacts_read += 1
        index = await self._extract(name, version, artifact, contents, deadline, wanted)
        if index.modules_total == 0 and not name.startswith("types-"):
            # Compiled code without stubs: the typeshed-style stub distribution, when the same
            # index has one, gives the signatures (not the docstrings).
            stubs = await self._stub_index(name, version, deadline, wanted)
            if stubs is not None:
                return stubs
        return index

    async def _stub_index(
        self, name: str, version: str, deadline: Deadline, wanted: Collection[str] | None
    ) -> ApiIndex | None:
        """The API of *name* *version* from ``types-<name>``, or ``None`` when there is none."""
        stub_name = f"types-{name}"
        try:
            page = await self.index.get_files(stub_name, deadline=deadline)
        except NotFoundError:
            return None
        stub_version = _matching_stub_version(page, stub_name, version)
        if stub_version is None:
            return None
        artifact = choose_artifact(
            page.files, name=stub_name, version=stub_version, page_url=page.url
        )
        if artifact is None:
            return None
        contents = await read_archive(
            self._fetcher(artifact, deadline), artifact, limits=self.limits
        )
        self.artifacts_read += 1
        index = await self._extract(
            name, version, artifact, contents, deadline, wanted, stub_source=stub_name
        )
        if index.modules_total == 0:
            return None
        return attrs.evolve(index, stub_source=f"{stub_name} {stub_version}")

    async def _extract(
        self,
        name: str,
        version: str,
        artifact: Artifact,
        contents: ArchiveContents,
        deadline: Deadline,
        wanted: Collection[str] | None,
        *,
        stub_source: str | None = None,
    ) -> ApiIndex:
        stop = threading.Event()
        ends_at = self.clock.now() + max(0.0, deadline.remaining() - EXTRACT_RESERVE)
        clock = self.clock
        cancelled = anyio.get_cancelled_exc_class()

        def should_stop() -> bool:
            # Polled between modules: the caller's deadline, or its cancellation (the worker
            # thread cannot be interrupted, so it must notice and stop by itself).
            if stop.is_set() or clock.now() >= ends_at:
                return True
            try:
                anyio.from_thread.check_cancelled()
            except cancelled:
                stop.set()
                return True
            return False

        from ._extract import extract_api  # griffe loads here, not at start-up

        code_files = sum(1 for m in contents.members if m.endswith((".py", ".pyi")))
        focus = wanted if wanted and code_files > LARGE_PACKAGE_MODULES else None
        try:
            index = await anyio.to_thread.run_sync(
                lambda: with_search_terms(  # pre-tokenised once, stored with the reference
                    extract_api(
                        name,
                        version,
                        artifact,
                        contents.members,
                        wanted=focus,
                        should_stop=should_stop,
                        stub_source=stub_source,
                    )
                )
            )
        finally:
            stop.set()
        if contents.dropped:
            notes = f"{len(contents.dropped)} file(s) of the archive were left out (limits)."
            index = attrs.evolve(index, notes=(*index.notes, notes))
        return index


def _matching_stub_version(page: SimplePage, stub_name: str, version: str) -> str | None:
    """The stub release for *version*: the newest one of the same major.minor, else the newest.

    Stub distributions (typeshed's ``types-*``) number their releases after the runtime
    release they describe (``types-requests 2.31.0.20240406`` for requests 2.31).
    """
    from packaging.utils import (
        InvalidSdistFilename,
        InvalidWheelFilename,
        parse_sdist_filename,
        parse_wheel_filename,
    )
    from packaging.version import InvalidVersion, Version

    found: set[Version] = set()
    for entry in page.files[:10_000]:
        filename = str(entry.get("filename", ""))
        try:
            if filename.endswith(".whl"):
                found.add(parse_wheel_filename(filename)[1])
            elif filename.endswith((".tar.gz", ".zip")):
                found.add(parse_sdist_filename(filename)[1])
        except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
            continue
    released = [v for v in found if not v.is_prerelease]
    if not released:
        return None
    try:
        wanted = Version(version)
    except InvalidVersion:
        return str(max(released))
    same = [v for v in released if v.release[:2] == wanted.release[:2]]
    return str(max(same or released))
