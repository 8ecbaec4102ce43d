"""Reading the wanted members of a release artifact over a range fetcher (the "lazy wheel").

Wheels and ``.zip`` sdists: one suffix read of :data:`TAIL_BYTES` (usually the central directory
and METADATA), one more read when the central directory starts earlier, then the planned member
ranges; a small file, or one whose wanted members are most of it, is read whole and checked
against its published sha256. ``.tar.gz`` sdists are read whole (under a cap) and walked in
memory. A corrupt or truncated archive is a :class:`~autodocs_core.errors.MalformedResponse`;
a member that cannot be used (unsafe name, over a limit, corrupt) is dropped with a reason.

The fetcher is any ``async (start, end) -> RangeBody`` (see :meth:`HttpClient.get_range`), so
retries, breakers and deadlines are the caller's.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import math
import re
import tarfile
import zlib
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import anyio
import attrs

from ..errors import InvalidInputError, MalformedResponse, ResponseTooLarge
from ..http._range import RangeBody
from ._model import Artifact
from ._zip import (
    DEFAULT_LIMITS,
    MAX_RANGES_HARD,
    TAIL_BYTES,
    WHOLE_FILE_BELOW,
    ArchiveLimits,
    MemberError,
    MoreBytes,
    ZipMember,
    extract_member,
    member_spans,
    parse_central_directory,
    parse_tail,
    plan_ranges,
    safe_member_name,
)

__all__ = [
    "ArchiveContents",
    "RangeFetcher",
    "archive_format",
    "importable_path",
    "is_metadata",
    "read_archive",
]


class RangeFetcher(Protocol):
    """Reads part of one file, as :meth:`HttpClient.get_range` does.

    ``(None, None)``: all of it; ``(None, n)``: its last *n* bytes; ``(a, b)``: bytes *a* to
    *b* inclusive. One attempt or a retried call: the caller decides.

    .. versionadded:: 0.2.0
    """

    async def __call__(self, start: int | None, end: int | None) -> RangeBody:
        """Return the bytes asked for, or the whole file when the host ignores ranges."""
        ...


@attrs.frozen
class ArchiveContents:
    """The members read from one artifact.

    Attributes:
        members: Safe member name -> bytes, for the selected members that could be read.
        metadata: ``*.dist-info/METADATA`` (wheel) or ``PKG-INFO`` (sdist), decoded, if found.
        total_members: Members in the central directory (or regular files in the tar).
        dropped: ``(name, reason)`` for members left out: unsafe names, over limits, corrupt.
        requests: Fetcher calls made.
        bytes_read: Bytes the fetcher returned.
        whole_file: Whether the whole file was read (then its sha256 was checked when known).

    .. versionadded:: 0.2.0
    """

    members: Mapping[str, bytes]
    metadata: str | None
    total_members: int
    dropped: tuple[tuple[str, str], ...] = ()
    requests: int = 0
    bytes_read: int = 0
    whole_file: bool = False


# -- what to read ---------------------------------------------------------------------------------

_SDIST_TOOLING = frozenset(
    {"setup.py", "conftest.py", "noxfile.py", "fabfile.py", "tasks.py", "runtests.py", "dodo.py"}
)
_SDIST_NOT_CODE = frozenset(
    {"docs", "doc", "examples", "example", "benchmarks", "bench", "scripts", "tools", "ci"}
)
_TEST_DIRS = frozenset({"tests", "test"})
_WHEEL_METADATA = re.compile(r"[^/]+\.dist-info/METADATA")
_SDIST_METADATA = re.compile(r"[^/]+/PKG-INFO")
_MAX_REQUESTS = MAX_RANGES_HARD + 4  # tail, a longer tail or zip64 record, the directory, slack

CONCURRENT_RANGES = 4
"""Member ranges of one artifact fetched at once (the HTTP pool holds 10 connections)."""


def archive_format(filename: str) -> str:
    """Return ``zip`` (a wheel or ``.zip`` sdist) or ``tar`` (``.tar.gz``) for *filename*.

    Raises:
        InvalidInputError: For any other kind of file.

    .. versionadded:: 0.2.0
    """
    lower = filename.lower()
    if lower.endswith((".whl", ".zip")):
        return "zip"
    if lower.endswith((".tar.gz", ".tgz")):
        return "tar"
    raise InvalidInputError(
        f"'{filename[:200]}' is neither a wheel nor a .zip or .tar.gz sdist",
        details={"filename": filename[:200]},
    )


def is_metadata(name: str, *, kind: str = "wheel") -> bool:
    """Whether *name* is a wheel's ``*.dist-info/METADATA`` or an sdist's top ``PKG-INFO``.

    .. versionadded:: 0.2.0
    """
    pattern = _WHEEL_METADATA if kind == "wheel" else _SDIST_METADATA
    return pattern.fullmatch(name) is not None


def importable_path(name: str, *, kind: str = "wheel") -> str | None:
    """Return where member *name* would be importable from (``pkg/mod.py``), or ``None``.

    Wheels: ``*.data/purelib/`` and ``*.data/platlib/`` install at the top; the dist-info and
    other ``*.data/`` directories (scripts, headers, data) are not code. Sdists: the top
    directory is dropped, then ``src/``; build and tooling scripts, docs, examples and
    benchmarks are not code. Everywhere: ``.py``/``.pyi`` files only, no ``tests``/``test``
    directories or ``conftest.py``, and every part an identifier (a stub package's
    ``name-stubs`` directory too).

    .. versionadded:: 0.2.0
    """
    if not name.endswith((".py", ".pyi")):
        return None
    parts = name.split("/")
    if kind == "wheel":
        if parts[0].endswith(".dist-info"):
            return None
        if parts[0].endswith(".data"):
            if len(parts) < 3 or parts[1] not in ("purelib", "platlib"):
                return None
            parts = parts[2:]
    else:
        parts = parts[1:]
        if len(parts) > 1 and parts[0] == "src":
            parts = parts[1:]
        if not parts or (len(parts) == 1 and parts[0] in _SDIST_TOOLING):
            return None
        if len(parts) > 1 and parts[0] in _SDIST_NOT_CODE:
            return None
    *dirs, leaf = parts
    if leaf == "conftest.py" or any(d in _TEST_DIRS for d in dirs):
        return None
    stem = leaf.rsplit(".", 1)[0]
    top = dirs[0].removesuffix("-stubs") if dirs else stem
    if not stem.isidentifier() or not top.isidentifier():
        return None
    if not all(d.isidentifier() for d in dirs[1:]):
        return None
    return "/".join(parts)


def _default_select(kind: str) -> Callable[[str], bool]:
    def select(name: str) -> bool:
        return is_metadata(name, kind=kind) or importable_path(name, kind=kind) is not None

    return select


# -- reading --------------------------------------------------------------------------------------


@attrs.define
class _Reader:
    """State of one read: what was fetched, and the buffers at hand."""

    fetch: RangeFetcher
    artifact: Artifact
    limits: ArchiveLimits
    kind: str
    requests: int = 0
    bytes_read: int = 0
    # (offset, bytes) pieces of the file, and whether they are the whole file.
    pieces: list[tuple[int, bytes]] = attrs.field(factory=list)
    whole: bytes | None = None

    @property
    def url(self) -> str:
        return self.artifact.url

    async def get(self, start: int | None, end: int | None) -> RangeBody:
        if self.requests >= _MAX_REQUESTS:  # pragma: no cover - the plan stays below it
            raise _corrupt_file("The archive needed too many reads", self.url)
        body = await self.fetch(start, end)
        self.requests += 1
        self.bytes_read += len(body.data)
        if self.bytes_read > self.limits.max_read_bytes:
            raise _too_big(self.limits.max_read_bytes, self.url)
        if not body.partial or (body.offset == 0 and body.total == len(body.data)):
            self.accept_whole(body.data)
        elif start is not None and body.offset != start:
            raise _corrupt_file("The file host sent bytes from another offset", self.url)
        return body

    def accept_whole(self, data: bytes) -> None:
        if len(data) > self.limits.max_download_bytes:
            raise _too_big(self.limits.max_download_bytes, self.url)
        size = self.artifact.size
        if size is not None and len(data) != size:
            raise _corrupt_file(
                f"The file is {len(data)} bytes, the index says {size} (truncated?)", self.url
            )
        expected = (self.artifact.sha256 or "").lower()
        if expected and hashlib.sha256(data).hexdigest() != expected:
            raise _corrupt_file(
                "The file's sha256 differs from the one the index publishes", self.url
            )
        self.whole = data


def _too_big(limit: int, url: str) -> ResponseTooLarge:
    return ResponseTooLarge(
        limit,
        url=url,
        suggestions=("This release file is too large to read; try another version.",),
    )


def _corrupt_file(message: str, url: str) -> MalformedResponse:
    return MalformedResponse(
        message,
        url=url,
        suggestions=(
            "The release file arrived damaged or differs from the published one; try again. "
            "If it persists, a proxy may be rewriting downloads.",
        ),
    )


async def read_archive(
    fetch: RangeFetcher,
    artifact: Artifact,
    *,
    select: Callable[[str], bool] | None = None,
    limits: ArchiveLimits = DEFAULT_LIMITS,
    metadata_only: bool = False,
) -> ArchiveContents:
    """Read the selected members (and the metadata) of a wheel or sdist through *fetch*.

    Args:
        fetch: Reads byte ranges of the artifact's file.
        artifact: The file (its name decides the format; its size and sha256 are checked).
        select: Which safe member names to read; by default the importable ``.py``/``.pyi``
            files (:func:`importable_path`). METADATA/PKG-INFO is always read.
        limits: Bounds on bytes, members and inflation.
        metadata_only: Read only METADATA/PKG-INFO: usually one request (the tail read); the
            fallback when a release's PEP 658 metadata file is missing.

    Returns:
        The members read, the metadata, what was dropped and what it cost.

    Raises:
        MalformedResponse: The archive is corrupt or truncated, or a whole download does not
            match its published size or sha256.
        ResponseTooLarge: A whole download over ``limits.max_download_bytes``, or reads over
            ``limits.max_read_bytes``.
        InvalidInputError: The artifact is not a wheel, ``.zip`` or ``.tar.gz``.
        AutodocsError: Whatever *fetch* raises.

    .. versionadded:: 0.2.0
    """
    fmt = archive_format(artifact.filename)
    kind = "wheel" if artifact.filename.lower().endswith(".whl") else "sdist"
    chosen = select or _default_select(kind)
    reader = _Reader(fetch, artifact, limits, kind)
    if fmt == "tar":
        await reader.get(None, None)
        assert reader.whole is not None
        return _read_tar(reader, reader.whole, chosen, metadata_only, limits)
    return await _read_zip(reader, chosen, metadata_only, limits)


async def _read_zip(
    reader: _Reader, select: Callable[[str], bool], metadata_only: bool, limits: ArchiveLimits
) -> ArchiveContents:
    size = reader.artifact.size
    url = reader.url
    if size is not None and size <= WHOLE_FILE_BELOW:
        body = await reader.get(None, None)
    else:
        body = await reader.get(None, TAIL_BYTES)
    if reader.whole is not None:
        buf, buf_at, file_size = reader.whole, 0, len(reader.whole)
    else:
        buf, buf_at = body.data, body.offset
        known = body.total if body.total is not None else size
        if known is None:
            raise _corrupt_file("The file host did not say how large the file is", url)
        if size is not None and known != size:
            raise _corrupt_file(f"The file is {known} bytes, the index says {size}", url)
        file_size = known
    for _ in range(4):  # each MoreBytes reaches further back; at most three are ever needed
        layout = parse_tail(buf, offset=buf_at, file_size=file_size, url=url)
        if not isinstance(layout, MoreBytes):
            break
        buf, buf_at = await _prepend(reader, buf, buf_at, layout.start, file_size)
    else:  # pragma: no cover - parse_tail asks at most twice
        raise _corrupt_file("The archive's end records could not be found", url)
    if layout.cd_size > limits.max_read_bytes:
        raise _too_big(limits.max_read_bytes, url)
    if layout.cd_start < buf_at:
        buf, buf_at = await _prepend(reader, buf, buf_at, layout.cd_start, file_size)
    members = parse_central_directory(
        buf, offset=buf_at, layout=layout, max_members=limits.max_members, url=url
    )
    dropped: list[tuple[str, str]] = []
    if layout.entries > limits.max_members:
        dropped.append(
            (
                f"({layout.entries - limits.max_members} more members)",
                f"over the {limits.max_members}-member limit",
            )
        )
    wanted = _choose(members, select, metadata_only, limits, dropped, reader.kind)
    spans = member_spans(members, cd_start=layout.cd_start)
    if reader.whole is None and wanted:
        budget = limits.max_read_bytes - reader.bytes_read
        plan = plan_ranges(
            [spans[m.offset] for m in wanted],
            have_from=buf_at,
            file_size=file_size,
            max_bytes=budget,
        )
        if plan is None and (file_size > limits.max_download_bytes or buf_at > budget):
            plan = _plan_within(wanted, spans, buf_at, file_size, budget)
        if plan is not None and (_cost(plan) > budget or len(plan) > MAX_RANGES_HARD):
            wanted, plan = _trim(wanted, spans, buf_at, file_size, budget, dropped)
        if plan is None:
            buf, buf_at = await _prepend(reader, buf, buf_at, 0, file_size)
        else:
            await _fetch_ranges(reader, plan)
    if reader.whole is not None:
        buf, buf_at = reader.whole, 0
    out: dict[str, bytes] = {}
    metadata: str | None = None
    for m in wanted:
        name = m.safe_name
        assert name is not None
        data, at = _piece_for(reader, buf, buf_at, spans[m.offset])
        try:
            content = extract_member(m, data, offset=at, max_bytes=limits.max_member_bytes)
        except MemberError as exc:
            dropped.append((name, exc.reason))
            continue
        if is_metadata(name, kind=reader.kind) and metadata is None:
            metadata = content.decode("utf-8", "replace")
            if metadata_only or not select(name):
                continue
        out[name] = content
    return ArchiveContents(
        members=out,
        metadata=metadata,
        total_members=layout.entries,
        dropped=tuple(dropped),
        requests=reader.requests,
        bytes_read=reader.bytes_read,
        whole_file=reader.whole is not None,
    )


async def _fetch_ranges(reader: _Reader, plan: list[tuple[int, int]]) -> None:
    """Fetch the planned ranges, :data:`CONCURRENT_RANGES` at a time; the first error wins.

    A host that ignores ``Range`` (a 200) gives the whole file, and the other reads stop.
    """
    failures: list[Exception] = []
    limiter = anyio.CapacityLimiter(CONCURRENT_RANGES)

    async def one(first: int, last: int, scope: anyio.CancelScope) -> None:
        async with limiter:
            if reader.whole is not None:
                return
            try:
                got = await reader.get(first, last)
                if got.partial and got.end != last + 1:
                    raise _corrupt_file("The file host sent a shorter range than asked", reader.url)
            except Exception as exc:  # an AutodocsError from the fetcher, or a bug: re-raised
                failures.append(exc)
                scope.cancel()
                return
            if got.partial:
                reader.pieces.append((got.offset, got.data))

    async with anyio.create_task_group() as tg:
        for first, last in plan:
            tg.start_soon(one, first, last, tg.cancel_scope)
    if failures:
        raise failures[0]


def _piece_for(
    reader: _Reader, buf: bytes, buf_at: int, span: tuple[int, int]
) -> tuple[bytes, int]:
    """The fetched bytes that hold *span* (a member), and their file offset."""
    if span[0] >= buf_at:
        return buf, buf_at
    for at, data in reader.pieces:
        if at <= span[0] and span[1] <= at + len(data):
            return data, at
    for at, data in reader.pieces:  # a member may run into the tail buffer
        if at <= span[0] < at + len(data) and at + len(data) >= buf_at:
            return data + buf[at + len(data) - buf_at :], at
    return b"", span[0]


async def _prepend(
    reader: _Reader, buf: bytes, buf_at: int, start: int, file_size: int
) -> tuple[bytes, int]:
    """Read bytes *start* up to *buf_at* and put them before *buf*."""
    got = await reader.get(start, buf_at - 1)
    if reader.whole is not None:
        return reader.whole, 0
    if got.end != buf_at:
        raise _corrupt_file("The file host sent a shorter range than asked", reader.url)
    if start == 0:
        reader.accept_whole(got.data + buf)
        return reader.whole or b"", 0
    return got.data + buf, got.offset


def _choose(
    members: list[ZipMember],
    select: Callable[[str], bool],
    metadata_only: bool,
    limits: ArchiveLimits,
    dropped: list[tuple[str, str]],
    kind: str,
) -> list[ZipMember]:
    """The members to read: safe, selected (or the metadata), within the uncompressed limits."""
    candidates: list[ZipMember] = []
    seen: set[str] = set()
    for m in members:
        if m.is_dir:
            continue
        if m.safe_name is None:
            dropped.append((m.name[:200], "unsafe name"))
            continue
        meta = is_metadata(m.safe_name, kind=kind)
        if not (meta or (not metadata_only and select(m.safe_name))):
            continue
        if m.safe_name in seen:
            dropped.append((m.safe_name, "duplicate name"))
            continue
        seen.add(m.safe_name)
        candidates.append(m)
    if metadata_only:
        candidates = candidates[:1]
    candidates.sort(key=lambda m: _priority(m, kind))
    chosen: list[ZipMember] = []
    total = 0
    for m in candidates:
        name = m.safe_name or ""
        if m.size > limits.max_member_bytes:
            dropped.append((name, f"declares {m.size} bytes, over the per-member limit"))
        elif total + m.size > limits.max_total_bytes:
            dropped.append((name, "over the total uncompressed limit"))
        else:
            total += m.size
            chosen.append(m)
    return chosen


def _priority(m: ZipMember, kind: str) -> tuple[bool, int, str]:
    """METADATA first, then shallow modules (``pkg/__init__.py`` before deep ones)."""
    name = m.safe_name or ""
    return (not is_metadata(name, kind=kind), name.count("/"), name)


def _cost(plan: list[tuple[int, int]]) -> int:
    return sum(b - a + 1 for a, b in plan)


def _plan_within(
    members: list[ZipMember],
    spans: Mapping[int, tuple[int, int]],
    have_from: int,
    file_size: int,
    budget: int,
) -> list[tuple[int, int]]:
    """Ranges only (never the whole file), merged within *budget*."""
    plan = plan_ranges(
        [spans[m.offset] for m in members],
        have_from=have_from,
        file_size=file_size,
        whole_fraction=math.inf,
        max_bytes=budget,
    )
    assert plan is not None  # whole_fraction=inf never asks for the whole file
    return plan


def _trim(
    wanted: list[ZipMember],
    spans: Mapping[int, tuple[int, int]],
    have_from: int,
    file_size: int,
    budget: int,
    dropped: list[tuple[str, str]],
) -> tuple[list[ZipMember], list[tuple[int, int]]]:
    """Keep the members that fit the read budget and the hard cap on ranges.

    The longest prefix of *wanted* (priority order) that fits is kept; the rest are dropped
    with a reason.
    """

    def fits(k: int) -> bool:
        plan = _plan_within(wanted[:k], spans, have_from, file_size, budget)
        return _cost(plan) <= budget and len(plan) <= MAX_RANGES_HARD

    lo, hi = 0, len(wanted)  # fits(0) holds: an empty plan costs nothing
    while lo < hi:  # a plan grows with the members it covers: binary search the prefix
        mid = (lo + hi + 1) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid - 1
    for m in wanted[lo:]:
        dropped.append((m.safe_name or "", "over the per-version read limit"))
    return wanted[:lo], _plan_within(wanted[:lo], spans, have_from, file_size, budget)


# -- tar.gz ---------------------------------------------------------------------------------------


class _Bounded:
    """A read-only stream that refuses to deliver more than *limit* bytes (gzip bombs)."""

    def __init__(self, inner: gzip.GzipFile, limit: int) -> None:
        self.inner = inner
        self.left = limit

    def read(self, size: int = -1) -> bytes:
        want = self.left + 1 if size < 0 else min(size, self.left + 1)
        data = self.inner.read(want)
        if len(data) > self.left:
            raise _Exhausted
        self.left -= len(data)
        return data


class _Exhausted(Exception):
    pass


def _read_tar(
    reader: _Reader,
    data: bytes,
    select: Callable[[str], bool],
    metadata_only: bool,
    limits: ArchiveLimits,
) -> ArchiveContents:
    url = reader.url
    out: dict[str, bytes] = {}
    dropped: list[tuple[str, str]] = []
    metadata: str | None = None
    count = 0
    total = 0
    # The whole uncompressed stream is bounded, not only the members kept: headers and skipped
    # members are inflated too.
    stream: Any = _Bounded(
        gzip.GzipFile(fileobj=io.BytesIO(data)), limits.max_total_bytes + limits.max_download_bytes
    )
    try:
        with tarfile.open(fileobj=stream, mode="r|") as tar:
            for info in tar:
                if not info.isreg():
                    continue
                count += 1
                if count > limits.max_members:
                    dropped.append(
                        ("(more members)", f"over the {limits.max_members}-member limit")
                    )
                    break
                name = safe_member_name(info.name)
                if name is None:
                    dropped.append((info.name[:200], "unsafe name"))
                    continue
                meta = is_metadata(name, kind="sdist")
                if not (meta or (not metadata_only and select(name))):
                    continue
                if meta and metadata is not None:
                    continue
                if info.size > limits.max_member_bytes:
                    dropped.append((name, f"declares {info.size} bytes, over the per-member limit"))
                    continue
                if total + info.size > limits.max_total_bytes:
                    dropped.append((name, "over the total uncompressed limit"))
                    continue
                handle = tar.extractfile(info)
                if handle is None:  # pragma: no cover - regular files always have data
                    continue
                content = handle.read(info.size + 1)
                if len(content) != info.size:
                    raise _corrupt_file("The sdist ends inside a member (truncated)", url)
                total += len(content)
                if meta:
                    metadata = content.decode("utf-8", "replace")
                    if metadata_only or not select(name):
                        continue
                if name in out:
                    dropped.append((name, "duplicate name"))
                    continue
                out[name] = content
        # tarfile stops at the end-of-archive blocks, before the gzip trailer: read on to the
        # end so that gzip checks its CRC-32 and length (a flipped byte inside the compressed
        # data can still inflate, to wrong bytes).
        while stream.read(1 << 16):
            pass
    except _Exhausted:
        dropped.append(("(rest of the sdist)", "over the uncompressed size limit"))
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise MalformedResponse(
            "The sdist is not a readable .tar.gz (corrupt or truncated)",
            url=url,
            details={"reason": type(exc).__name__},
            suggestions=("The release file looks corrupt; try again, or another version.",),
        ) from exc
    return ArchiveContents(
        members=out,
        metadata=metadata,
        total_members=count,
        dropped=tuple(dropped),
        requests=reader.requests,
        bytes_read=reader.bytes_read,
        whole_file=True,
    )
