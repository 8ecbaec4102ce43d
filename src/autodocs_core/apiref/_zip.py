"""Reading a zip archive (a wheel, a ``.zip`` sdist) from byte ranges: pure, no I/O.

The caller fetches bytes; these functions say which bytes to fetch next and decode what came
back (APPNOTE.TXT 6.3, sections 4.3.6-4.3.16 and 4.4):

1. :func:`parse_tail` reads the end of central directory record (with its comment, and the
   zip64 locator and record) from the file's tail, or asks for more tail (:class:`MoreBytes`).
2. :func:`parse_central_directory` turns the central directory into :class:`ZipMember` values;
   if the directory starts before the bytes at hand, ``ZipLayout.cd_start`` says where.
3. :func:`plan_ranges` merges the spans of the wanted members into few requests, or says that
   the whole file is cheaper.
4. :func:`extract_member` checks a member's local header, inflates it under a hard cap (a zip
   bomb is dropped before or during inflation) and checks its CRC-32.

Nothing is written anywhere: member names are only ever used as keys, after
:func:`safe_member_name`.
"""

from __future__ import annotations

import itertools
import re
import struct
import zlib
from collections.abc import Iterable, Sequence

import attrs

from ..errors import MalformedResponse

__all__ = [
    "DEFAULT_LIMITS",
    "DEFAULT_MAX_DOWNLOAD_BYTES",
    "DEFAULT_MAX_MEMBERS",
    "DEFAULT_MAX_MEMBER_BYTES",
    "DEFAULT_MAX_READ_BYTES",
    "DEFAULT_MAX_TOTAL_BYTES",
    "MAX_RANGES",
    "MAX_RANGES_HARD",
    "MERGE_GAP",
    "TAIL_BYTES",
    "WHOLE_FILE_BELOW",
    "ArchiveLimits",
    "MemberError",
    "MoreBytes",
    "ZipLayout",
    "ZipMember",
    "extract_member",
    "member_spans",
    "parse_central_directory",
    "parse_tail",
    "plan_ranges",
    "safe_member_name",
]

# -- limits ---------------------------------------------------------------------------------------

DEFAULT_MAX_READ_BYTES = 32 * 1024 * 1024
"""Compressed bytes read per version (32 MiB).

PERFORMANCE.md: the median version needs 135 KB of ``.py``/``.pyi``; torch, the largest
measured, has a 1.24 MB central directory and 12.6 MB of compressed ``.py``/``.pyi`` (torch
2.15 read with this reader: 14.6 MB in 9 requests). 32 MiB holds torch with 2× headroom.
"""

DEFAULT_MAX_MEMBERS = 100_000
"""Members in one archive (central-directory entries or tar members): 7.5× torch's 13,187."""

DEFAULT_MAX_MEMBER_BYTES = 16 * 1024 * 1024
"""Uncompressed bytes of one member (16 MiB): 12× the largest module measured (1.33 MB, in
torch 2.15; numpy, sqlalchemy, pydantic, botocore stay under 0.31 MB), far below a bomb."""

DEFAULT_MAX_TOTAL_BYTES = 128 * 1024 * 1024
"""Uncompressed bytes of all selected members (128 MiB): measured, source inflates 4.0-4.5×
(torch 2.15: 13.0 MB of importable ``.py``/``.pyi`` inflate to 57.5 MB), so 2.2× torch."""

DEFAULT_MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
"""One whole-file download (a ``.tar.gz`` sdist, or a host that ignores ``Range``): 20 MiB, the
HTTP layer's own body cap; the 25 measured packages' whole files average 1.7 MB."""

TAIL_BYTES = 64 * 1024
"""The first, suffix read: for most wheels it holds the central directory and METADATA."""

MERGE_GAP = 32 * 1024
"""Ranges closer than this are fetched as one: a request costs more than 32 KiB of transfer."""

WHOLE_FILE_BELOW = 256 * 1024
"""Files up to this size are fetched whole (one request, and the sha256 can be checked)."""

WHOLE_FILE_FRACTION = 0.75
"""When the wanted members cover this much of what is not yet read, the rest is read whole."""

MAX_RANGES = 16
"""Member ranges per version: the nearest ranges merge until it holds, within the read budget."""

MAX_RANGES_HARD = 64
"""Member ranges per version, never exceeded: the least important members are dropped first."""


def _positive(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if not isinstance(value, int) or value <= 0:
        from ..errors import ConfigError

        raise ConfigError(
            f"{attribute.name} must be an integer > 0, got {value!r}",
            details={"setting": attribute.name, "value": repr(value)},
        )


@attrs.frozen
class ArchiveLimits:
    """Bounds on reading one artifact, each checked before the bytes are read or inflated.

    Attributes:
        max_read_bytes: Compressed bytes read per version (all requests together).
        max_members: Members listed in one archive; more are not read.
        max_member_bytes: Uncompressed bytes of one member.
        max_total_bytes: Uncompressed bytes of all selected members together.
        max_download_bytes: One whole-file download.

    .. versionadded:: 0.2.0
    """

    max_read_bytes: int = attrs.field(default=DEFAULT_MAX_READ_BYTES, validator=_positive)
    max_members: int = attrs.field(default=DEFAULT_MAX_MEMBERS, validator=_positive)
    max_member_bytes: int = attrs.field(default=DEFAULT_MAX_MEMBER_BYTES, validator=_positive)
    max_total_bytes: int = attrs.field(default=DEFAULT_MAX_TOTAL_BYTES, validator=_positive)
    max_download_bytes: int = attrs.field(default=DEFAULT_MAX_DOWNLOAD_BYTES, validator=_positive)


DEFAULT_LIMITS = ArchiveLimits()
"""The default :class:`ArchiveLimits`."""

# -- names ----------------------------------------------------------------------------------------

_DRIVE = re.compile(r"^[A-Za-z]:")
_MAX_NAME = 1024


def safe_member_name(name: str) -> str | None:
    """Return *name* as a safe relative path (``a/b.py``), or ``None`` if it must be dropped.

    Dropped: empty names, absolute paths, drive letters, backslashes, NUL and other control
    characters, ``..`` components, and names over 1,024 characters. ``.`` and empty components
    are removed; a trailing ``/`` (a directory) is kept.

    .. versionadded:: 0.2.0
    """
    if not name or len(name) > _MAX_NAME or "\\" in name or _DRIVE.match(name):
        return None
    if name.startswith("/") or any(ord(c) < 32 or ord(c) == 127 for c in name):
        return None
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        return None
    return "/".join(parts) + ("/" if name.endswith("/") else "")


# -- tail and central directory -------------------------------------------------------------------

_EOCD = b"PK\x05\x06"
_EOCD64_LOCATOR = b"PK\x06\x07"
_EOCD64 = b"PK\x06\x06"
_CDH = b"PK\x01\x02"
_LFH = b"PK\x03\x04"
_EOCD_SIZE = 22
_LOCATOR_SIZE = 20
_EOCD64_SIZE = 56
_CDH_SIZE = 46
_LFH_SIZE = 30
_MAX_TAIL = _EOCD_SIZE + 0xFFFF + _LOCATOR_SIZE + _EOCD64_SIZE


def _corrupt(message: str, url: str | None, **details: object) -> MalformedResponse:
    return MalformedResponse(
        message,
        url=url,
        details=details,
        suggestions=(
            "The release file looks corrupt or truncated; try again (a proxy may have cut it), "
            "or ask for another version.",
        ),
    )


@attrs.frozen
class MoreBytes:
    """More of the file is needed before parsing can go on: bytes ``start`` to ``end``.

    .. versionadded:: 0.2.0
    """

    start: int
    end: int


@attrs.frozen
class ZipLayout:
    """Where the central directory of a zip file lies.

    Attributes:
        file_size: The file's size.
        cd_start: File offset of the central directory.
        cd_size: Its size in bytes.
        entries: The number of members it lists.
        base: Bytes prepended to the archive (offsets in the directory are relative to it).
        zip64: Whether the zip64 records were used.

    .. versionadded:: 0.2.0
    """

    file_size: int
    cd_start: int
    cd_size: int
    entries: int
    base: int = 0
    zip64: bool = False


def parse_tail(
    tail: bytes, *, offset: int, file_size: int, url: str | None = None
) -> ZipLayout | MoreBytes:
    """Find the central directory from the end of a zip file.

    Args:
        tail: Bytes ending at the end of the file.
        offset: The file offset of ``tail[0]``.
        file_size: The file's size.
        url: For error messages.

    Returns:
        The layout, or the extra bytes (before *offset*) needed to find it (a long archive
        comment, or a zip64 record out of reach).

    Raises:
        MalformedResponse: When the file has no valid end-of-central-directory record.

    .. versionadded:: 0.2.0
    """
    if offset + len(tail) != file_size or offset < 0:
        raise _corrupt("The archive's tail does not end at the end of the file", url)
    pos = len(tail) - _EOCD_SIZE
    found = -1
    while pos >= 0:
        pos = tail.rfind(_EOCD, 0, pos + 4)
        if pos < 0:
            break
        (comment_len,) = struct.unpack_from("<H", tail, pos + 20)
        if pos + _EOCD_SIZE + comment_len == len(tail):
            found = pos
            break
        pos -= 1
    if found < 0:
        if offset > 0 and len(tail) < _MAX_TAIL:
            return MoreBytes(max(0, file_size - _MAX_TAIL), offset - 1)
        raise _corrupt(
            "The archive has no end-of-central-directory record (truncated, or not a zip file)",
            url,
        )
    (disk, cd_disk, _on_disk, entries, cd_size, cd_offset, _clen) = struct.unpack_from(
        "<HHHHIIH", tail, found + 4
    )
    if disk != 0 or cd_disk != 0:
        raise _corrupt("The archive spans several disks", url)
    eocd_at = offset + found
    record_end = eocd_at
    zip64 = False
    loc = found - _LOCATOR_SIZE
    if loc < 0 and offset > 0:  # a zip64 locator may sit just before, out of reach
        return MoreBytes(max(0, eocd_at - _LOCATOR_SIZE - _EOCD64_SIZE), offset - 1)
    if loc >= 0 and tail[loc : loc + 4] == _EOCD64_LOCATOR:
        zip64 = True
        # The record sits right before its locator, as CPython's zipfile also assumes (an
        # "extensible data sector" between them is never written by wheel builders).
        rec_at = eocd_at - _LOCATOR_SIZE - _EOCD64_SIZE
        if rec_at < 0:
            raise _corrupt("The archive's zip64 locator points outside the file", url)
        if rec_at < offset:
            return MoreBytes(rec_at, offset - 1)
        rel = rec_at - offset
        if tail[rel : rel + 4] != _EOCD64:
            raise _corrupt("The archive's zip64 end record is missing", url)
        (_size, _made, _need, _d, _cdd, _n_disk, entries, cd_size, cd_offset) = struct.unpack_from(
            "<QHHIIQQQQ", tail, rel + 4
        )
        record_end = rec_at
    elif 0xFFFF in (entries,) or 0xFFFFFFFF in (cd_size, cd_offset):
        raise _corrupt("The archive needs zip64 records but has none", url)
    cd_start = record_end - cd_size
    if cd_start < 0 or cd_offset > cd_start:
        raise _corrupt("The archive's central directory lies outside the file", url)
    return ZipLayout(
        file_size=file_size,
        cd_start=cd_start,
        cd_size=cd_size,
        entries=entries,
        base=cd_start - cd_offset,
        zip64=zip64,
    )


@attrs.frozen
class ZipMember:
    """One entry of a zip file's central directory.

    Attributes:
        name: The name as stored (decoded: UTF-8 when flagged, else CP437).
        safe_name: :func:`safe_member_name` of it, or ``None`` when it must be dropped.
        offset: File offset of its local header.
        compressed_size: Bytes of compressed data.
        size: Declared uncompressed size.
        method: Compression method (0 stored, 8 deflate; others are not read).
        crc32: Declared CRC-32 of the uncompressed data.
        flags: General-purpose bit flags.
        raw_name: The name's bytes, compared with the local header's.

    .. versionadded:: 0.2.0
    """

    name: str
    safe_name: str | None
    offset: int
    compressed_size: int
    size: int
    method: int
    crc32: int
    flags: int = 0
    raw_name: bytes = b""

    @property
    def is_dir(self) -> bool:
        """Whether it is a directory entry (its name ends with ``/``)."""
        return self.name.endswith("/")


def _zip64_extra(
    extra: bytes, size: int, csize: int, offset: int, url: str | None
) -> tuple[int, int, int]:
    """Replace 0xFFFFFFFF fields by the zip64 extra field's values (APPNOTE 4.5.3)."""
    pos = 0
    while pos + 4 <= len(extra):
        tag, length = struct.unpack_from("<HH", extra, pos)
        body = extra[pos + 4 : pos + 4 + length]
        if tag == 1:
            values = [v for (v,) in struct.iter_unpack("<Q", body[: len(body) // 8 * 8])]
            it = iter(values)
            try:
                if size == 0xFFFFFFFF:
                    size = next(it)
                if csize == 0xFFFFFFFF:
                    csize = next(it)
                if offset == 0xFFFFFFFF:
                    offset = next(it)
            except StopIteration:
                raise _corrupt("A zip64 extra field is too short", url) from None
            return size, csize, offset
        pos += 4 + length
    if 0xFFFFFFFF in (size, csize, offset):
        raise _corrupt("A member needs a zip64 extra field but has none", url)
    return size, csize, offset


def parse_central_directory(
    data: bytes,
    *,
    offset: int,
    layout: ZipLayout,
    max_members: int = DEFAULT_MAX_MEMBERS,
    url: str | None = None,
) -> list[ZipMember]:
    """Decode the central directory into members (at most *max_members*, in directory order).

    Args:
        data: Bytes of the file that include the whole central directory.
        offset: The file offset of ``data[0]``.
        layout: From :func:`parse_tail`.
        max_members: Entries past this are not decoded.
        url: For error messages.

    Raises:
        MalformedResponse: When the directory is not in *data* or is corrupt.

    .. versionadded:: 0.2.0
    """
    start = layout.cd_start - offset
    stop = start + layout.cd_size
    if start < 0 or stop > len(data):
        raise _corrupt("The archive's central directory is not in the bytes read", url)
    members: list[ZipMember] = []
    pos = start
    for _ in range(min(layout.entries, max_members)):
        if pos + _CDH_SIZE > stop or data[pos : pos + 4] != _CDH:
            raise _corrupt("The archive's central directory is corrupt", url, entry=len(members))
        (
            _made,
            _need,
            flags,
            method,
            _time,
            _date,
            crc,
            csize,
            size,
            name_len,
            extra_len,
            comment_len,
            _disk,
            _iattr,
            _eattr,
            local,
        ) = struct.unpack_from("<HHHHHHIIIHHHHHII", data, pos + 4)
        name_at = pos + _CDH_SIZE
        end = name_at + name_len + extra_len + comment_len
        if end > stop:
            raise _corrupt("The archive's central directory is corrupt", url, entry=len(members))
        raw = data[name_at : name_at + name_len]
        extra = data[name_at + name_len : name_at + name_len + extra_len]
        size, csize, local = _zip64_extra(extra, size, csize, local, url)
        name = raw.decode("utf-8", "replace") if flags & 0x800 else raw.decode("cp437")
        at = local + layout.base
        if at + _LFH_SIZE > layout.cd_start:
            raise _corrupt("A member's offset lies outside the archive", url, member=name[:200])
        members.append(
            ZipMember(
                name=name,
                safe_name=safe_member_name(name),
                offset=at,
                compressed_size=csize,
                size=size,
                method=method,
                crc32=crc,
                flags=flags,
                raw_name=raw,
            )
        )
        pos = end
    return members


# -- planning -------------------------------------------------------------------------------------


def member_spans(members: Sequence[ZipMember], *, cd_start: int) -> dict[int, tuple[int, int]]:
    """Return ``{offset: (start, end)}``, ``end`` exclusive, for each member.

    A member spans from its local header to the next member's (or to the central directory).

    .. versionadded:: 0.2.0
    """
    offsets = sorted({m.offset for m in members} | {cd_start})
    return {a: (a, b) for a, b in itertools.pairwise(offsets)}


def plan_ranges(
    spans: Iterable[tuple[int, int]],
    *,
    have_from: int,
    file_size: int,
    merge_gap: int = MERGE_GAP,
    max_ranges: int = MAX_RANGES,
    whole_fraction: float = WHOLE_FILE_FRACTION,
    max_bytes: int | None = None,
) -> list[tuple[int, int]] | None:
    """Plan the reads that cover *spans*, given that everything from *have_from* on is at hand.

    Args:
        spans: ``(start, end)`` byte spans wanted, ``end`` exclusive.
        have_from: Bytes from this offset to the end of the file are already read.
        file_size: The file's size.
        merge_gap: Spans separated by at most this many bytes are read together.
        max_ranges: The nearest ranges merge until at most this many remain...
        whole_fraction: When the planned bytes reach this fraction of ``have_from``, the
            rest of the file is read whole instead.
        max_bytes: ...unless a merge would take the plan over this many bytes: then more
            ranges are left (a wheel of compiled libraries has huge gaps between modules).

    Returns:
        Inclusive ``(first, last)`` byte ranges to read, in file order (empty when everything
        is at hand), or ``None`` when reading the rest of the file whole is cheaper.

    .. versionadded:: 0.2.0
    """
    need = sorted((a, min(b, have_from)) for a, b in spans if a < have_from and b > a)
    merged: list[list[int]] = []
    for a, b in need:
        if merged and a - merged[-1][1] <= merge_gap:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    if len(merged) > max_ranges:
        gaps = sorted(range(1, len(merged)), key=lambda i: (merged[i][0] - merged[i - 1][1], i))
        total = sum(b - a for a, b in merged)
        joins: set[int] = set()
        for i in gaps[: len(merged) - max_ranges]:
            gap = merged[i][0] - merged[i - 1][1]
            if max_bytes is not None and total + gap > max_bytes:
                break
            joins.add(i)
            total += gap
        out: list[list[int]] = []
        for i, r in enumerate(merged):
            if i in joins:
                out[-1][1] = r[1]
            else:
                out.append(list(r))
        merged = out
    total = sum(b - a for a, b in merged)
    if merged and have_from > 0 and total >= whole_fraction * have_from:
        return None
    _ = file_size
    return [(a, b - 1) for a, b in merged]


# -- extraction -----------------------------------------------------------------------------------


class MemberError(Exception):
    """A member could not be read; ``reason`` says why (it is dropped, the rest goes on).

    .. versionadded:: 0.2.0
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def extract_member(
    member: ZipMember, data: bytes, *, offset: int, max_bytes: int = DEFAULT_MAX_MEMBER_BYTES
) -> bytes:
    """Return a member's uncompressed bytes from *data* (file bytes starting at *offset*).

    The declared size is checked before inflating; inflation stops one byte past the smaller
    of the declared size and *max_bytes*, so a member that lies about its size costs at most
    that much memory; the CRC-32 is checked last.

    Raises:
        MemberError: With the reason the member is dropped (encrypted, unsupported method,
            over the limit, inflates past its declared size, local header mismatch, CRC).

    .. versionadded:: 0.2.0
    """
    if member.flags & 0x1:
        raise MemberError("encrypted")
    if member.method not in (0, 8):
        raise MemberError(f"compression method {member.method} is not supported")
    if member.size > max_bytes:
        raise MemberError(f"declares {member.size} bytes, over the {max_bytes}-byte limit")
    pos = member.offset - offset
    if pos < 0 or pos + _LFH_SIZE > len(data) or data[pos : pos + 4] != _LFH:
        raise MemberError("local header missing or corrupt")
    name_len, extra_len = struct.unpack_from("<HH", data, pos + 26)
    local_name = data[pos + _LFH_SIZE : pos + _LFH_SIZE + name_len]
    if member.raw_name and local_name != member.raw_name:
        raise MemberError("local header names another file")
    start = pos + _LFH_SIZE + name_len + extra_len
    stop = start + member.compressed_size
    if stop > len(data):
        raise MemberError("data runs past the bytes read (truncated)")
    raw = data[start:stop]
    cap = min(member.size, max_bytes)
    if member.method == 0:
        if len(raw) != member.size:
            raise MemberError("stored size differs from its declared size")
        out = raw
    else:
        inflater = zlib.decompressobj(-15)
        try:
            out = inflater.decompress(raw, cap + 1)
        except zlib.error:
            raise MemberError("deflate data is corrupt") from None
        if len(out) > cap:
            raise MemberError("inflates past its declared size (a zip bomb?)")
        if not inflater.eof:
            raise MemberError("deflate data ends early (truncated)")
        if len(out) != member.size:
            raise MemberError("inflates to less than its declared size")
    if zlib.crc32(out) != member.crc32:
        raise MemberError("CRC-32 mismatch")
    return out
