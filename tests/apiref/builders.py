"""Archives built in memory, and an in-memory range fetcher that behaves like a file host."""

from __future__ import annotations

import hashlib
import io
import struct
import tarfile
import zipfile
from collections.abc import Mapping

import attrs

from autodocs_core.apiref import Artifact
from autodocs_core.errors import UpstreamServerError
from autodocs_core.http import RangeBody

METADATA = b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n\nThe long description.\n"


def make_zip(
    members: Mapping[str, bytes],
    *,
    compression: int = zipfile.ZIP_DEFLATED,
    comment: bytes = b"",
    force_zip64: bool = False,
) -> bytes:
    """A zip file with *members* in order (a wheel when the names say so)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=compression) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = compression
            with zf.open(info, "w", force_zip64=force_zip64) as fh:
                fh.write(data)
        zf.comment = comment
    return out.getvalue()


def make_wheel(modules: Mapping[str, bytes], **kw: object) -> bytes:
    """A wheel of demo 1.0: *modules*, then its dist-info (METADATA, RECORD) at the end."""
    members = dict(modules)
    members["demo-1.0.dist-info/METADATA"] = METADATA
    members["demo-1.0.dist-info/RECORD"] = b""
    return make_zip(members, **kw)  # type: ignore[arg-type]


def make_tar_gz(members: Mapping[str, bytes]) -> bytes:
    """A .tar.gz sdist with regular files *members*."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return out.getvalue()


def artifact_for(
    data: bytes, filename: str = "demo-1.0-py3-none-any.whl", *, sha: bool = True
) -> Artifact:
    """The Artifact an index would publish for *data*."""
    return Artifact(
        filename,
        f"https://files.example/{filename}",
        hashlib.sha256(data).hexdigest() if sha else None,
        len(data),
        "wheel" if filename.endswith(".whl") else "sdist",
    )


@attrs.define
class FileHost:
    """Answers range reads over *data* like a file host; can ignore ranges or cut bodies."""

    data: bytes
    ignore_range: bool = False
    cut: int | None = None
    ignore_from_call: int | None = None  # calls from this one on (0-based) ignore Range
    fail_on_call: int | None = None  # this call (0-based) raises UpstreamServerError(503)
    calls: list[tuple[int | None, int | None]] = attrs.field(factory=list)
    sent: int = 0

    async def __call__(self, start: int | None, end: int | None) -> RangeBody:
        call = len(self.calls)
        self.calls.append((start, end))
        size = len(self.data)
        if call == self.fail_on_call:
            raise UpstreamServerError(503, url="u")
        late = self.ignore_from_call is not None and call >= self.ignore_from_call
        if self.ignore_range or late or (start is None and end is None):
            body = RangeBody("u", self.data, 0, size, partial=False)
        elif start is None:
            assert end is not None
            first = max(0, size - end)
            body = RangeBody("u", self.data[first:], first, size, partial=True)
        else:
            last = size - 1 if end is None else min(end, size - 1)
            body = RangeBody("u", self.data[start : last + 1], start, size, partial=True)
        if self.cut is not None:
            body = attrs.evolve(body, data=body.data[: self.cut])
        self.sent += len(body.data)
        return body


def to_zip64(data: bytes) -> bytes:
    """Rewrite a small zip in zip64 form.

    Offsets become 0xFFFFFFFF with zip64 extras; a zip64 end record and locator are added; the
    classic end record's fields all say "see zip64".
    """
    eocd = data.rindex(b"PK\x05\x06")
    # The comment may hold the signature too: the real record is the one whose comment ends
    # the file.
    while eocd + 22 > len(data) or eocd + 22 + struct.unpack_from("<H", data, eocd + 20)[0] != len(
        data
    ):
        eocd = data.rindex(b"PK\x05\x06", 0, eocd)
    _d, _cd, _n1, entries, cd_size, cd_offset, _c = struct.unpack_from("<HHHHIIH", data, eocd + 4)
    pos, out_cd = cd_offset, bytearray()
    for _ in range(entries):
        fixed = bytearray(data[pos : pos + 46])
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", fixed, 28)
        (local,) = struct.unpack_from("<I", fixed, 42)
        rest = data[pos + 46 : pos + 46 + name_len + extra_len + comment_len]
        name, extra, comment = (
            rest[:name_len],
            rest[name_len : name_len + extra_len],
            rest[name_len + extra_len :],
        )
        extra = struct.pack("<HHQ", 1, 8, local) + extra
        struct.pack_into("<I", fixed, 42, 0xFFFFFFFF)
        struct.pack_into("<H", fixed, 30, len(extra))
        out_cd += fixed + name + extra + comment
        pos += 46 + name_len + extra_len + comment_len
    body = data[:cd_offset]
    record_at = len(body) + len(out_cd)
    record = b"PK\x06\x06" + struct.pack(
        "<QHHIIQQQQ", 44, 45, 45, 0, 0, entries, entries, len(out_cd), len(body)
    )
    locator = b"PK\x06\x07" + struct.pack("<IQI", 0, record_at, 1)
    end = b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    _ = cd_size
    return bytes(body + out_cd + record + locator + end)
