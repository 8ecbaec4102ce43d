"""read_archive: the lazy wheel reader, sdists, limits and every failure it must survive."""

from __future__ import annotations

import hashlib
import io
import random
import struct
import zipfile
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autodocs_core.apiref import (
    ArchiveLimits,
    Artifact,
    importable_path,
    read_archive,
)
from autodocs_core.errors import (
    AutodocsError,
    InvalidInputError,
    MalformedResponse,
    ResponseTooLarge,
    UpstreamServerError,
)
from autodocs_core.http import HttpClient, HttpConfig
from autodocs_core.testing import Fault, FaultIndex, FaultPlan

from .builders import (
    METADATA,
    FileHost,
    artifact_for,
    make_tar_gz,
    make_wheel,
    make_zip,
    to_zip64,
)

pytestmark = pytest.mark.anyio

NOISE = random.Random(3).randbytes(400_000)  # incompressible: keeps wheels over 256 KiB


def big_wheel(**kw: Any) -> bytes:
    """A 400+ KB wheel: code first, a large data file, then more code, then the dist-info."""
    return make_wheel(
        {
            "demo/__init__.py": b"from .core import run\n" * 50,
            "demo/core.py": b"def run(x: int) -> int:\n    return x\n" * 200,
            "demo/data.bin": NOISE,
            "demo/sub/__init__.pyi": b"def f() -> None: ...\n",
            "demo/tests/test_core.py": b"def test(): pass\n",
        },
        **kw,
    )


def spread_wheel() -> bytes:
    """Three modules separated by 100 KB incompressible blobs: three separate ranges."""
    modules: dict[str, bytes] = {}
    for i in range(3):
        modules[f"demo/m{i}.py"] = b"X = %d\n" % i
        modules[f"demo/blob{i}.bin"] = NOISE[i * 100_000 : (i + 1) * 100_000]
    return make_wheel(modules)


def wanted(data: bytes) -> dict[str, bytes]:
    """What the default selection must return: importable modules and the METADATA."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {
            n: zf.read(n)
            for n in zf.namelist()
            if importable_path(n) is not None or n.endswith(".dist-info/METADATA")
        }


class TestWheels:
    async def test_big_wheel_reads_only_what_it_needs(self) -> None:
        """A tail read plus one merged range; the data file is never fetched."""
        data = big_wheel()
        host = FileHost(data)
        got = await read_archive(host, artifact_for(data))
        assert dict(got.members) == wanted(data)
        assert "demo/tests/test_core.py" not in got.members
        assert got.metadata == METADATA.decode()
        assert got.requests == 2 and host.calls[0] == (None, 65536)
        assert got.bytes_read == host.sent < len(data) // 3
        assert not got.whole_file and got.total_members == 7

    async def test_small_wheel_is_read_whole_and_verified(self) -> None:
        """A wheel under 256 KiB is one plain GET, checked against its sha256."""
        data = make_wheel({"demo/__init__.py": b"x = 1\n"})
        host = FileHost(data)
        got = await read_archive(host, artifact_for(data))
        assert host.calls == [(None, None)] and got.whole_file and got.requests == 1
        assert got.members["demo/__init__.py"] == b"x = 1\n"

    async def test_metadata_only_is_one_request(self) -> None:
        """The METADATA fallback (PEP 658 file missing) costs the tail read alone."""
        data = big_wheel()
        host = FileHost(data)
        got = await read_archive(host, artifact_for(data), metadata_only=True)
        assert got.metadata == METADATA.decode() and dict(got.members) == {}
        assert got.requests == 1

    async def test_range_ignored_uses_the_whole_body(self) -> None:
        """A host that answers 200 to a range: the whole body is used, verified, one request."""
        data = big_wheel()
        host = FileHost(data, ignore_range=True)
        got = await read_archive(host, artifact_for(data))
        assert got.whole_file and got.requests == 1 and dict(got.members) == wanted(data)

    async def test_fetch_error_is_raised_as_itself(self) -> None:
        """A failing member read surfaces as the fetcher's own error, not an ExceptionGroup."""
        data = spread_wheel()
        with pytest.raises(UpstreamServerError):
            await read_archive(FileHost(data, fail_on_call=2), artifact_for(data))

    async def test_range_ignored_only_for_member_reads(self) -> None:
        """A host honouring the tail read but not the member reads: the whole body is used."""
        data = spread_wheel()
        host = FileHost(data, ignore_from_call=1)
        got = await read_archive(host, artifact_for(data))
        assert got.whole_file and dict(got.members) == wanted(data)

    async def test_spread_members_cost_one_request_per_range(self) -> None:
        """Modules far apart need one range each (fetched concurrently), never the blobs."""
        data = spread_wheel()
        host = FileHost(data)
        got = await read_archive(host, artifact_for(data))
        assert dict(got.members) == wanted(data)
        assert got.requests == 1 + 3 and got.bytes_read < 100_000

    async def test_mostly_wanted_wheel_is_read_whole_and_verified(self) -> None:
        """When the modules are most of the file, the rest is read in one go and verified."""
        data = make_wheel({"demo/big.py": NOISE[:300_000], "demo/a.py": b"a"})
        art = artifact_for(data)
        host = FileHost(data)
        got = await read_archive(host, art)
        assert got.whole_file and got.requests == 2 and host.calls[1] == (0, len(data) - 65537)
        assert dict(got.members) == wanted(data)
        with pytest.raises(MalformedResponse):
            await read_archive(FileHost(data), attrs.evolve(art, sha256="1" * 64))

    async def test_member_straddling_the_tail_read(self) -> None:
        """A member that starts before the tail and ends inside it is joined from both reads."""
        data = make_wheel(
            {"demo/pad.bin": NOISE[:300_000], "demo/big.py": NOISE[:100_000], "demo/a.py": b"a"},
            compression=zipfile.ZIP_STORED,
        )
        host = FileHost(data)
        got = await read_archive(host, artifact_for(data))
        assert not got.whole_file and got.requests == 2
        assert host.calls[1][1] == len(data) - 65536 - 1  # only the part before the tail
        assert dict(got.members) == wanted(data)

    @pytest.mark.parametrize("lie", ["offset", "short"])
    async def test_fetcher_sending_other_bytes_is_malformed(self, lie: str) -> None:
        """A range answer at another offset, or shorter than asked, is a MalformedResponse."""
        data = spread_wheel()
        host = FileHost(data)

        async def liar(start: int | None, end: int | None) -> Any:
            body = await host(start, end)
            if start is None:
                return body
            if lie == "offset":
                return attrs.evolve(body, offset=body.offset + 1)
            return attrs.evolve(body, data=body.data[:-1])

        with pytest.raises(MalformedResponse):
            await read_archive(liar, artifact_for(data))

    @pytest.mark.parametrize("ignore_range", [False, True])
    async def test_sha256_mismatch_on_a_whole_file_is_malformed(self, ignore_range: bool) -> None:
        """A whole download that does not match the published sha256 is refused."""
        data = big_wheel() if ignore_range else make_wheel({"demo/x.py": b"x"})
        art = attrs.evolve(artifact_for(data), sha256="0" * 64)
        with pytest.raises(MalformedResponse) as info:
            await read_archive(FileHost(data, ignore_range=ignore_range), art)
        assert "sha256" in info.value.message and info.value.suggestions

    async def test_whole_download_over_the_cap_is_refused(self) -> None:
        """A host that ignores Range cannot make us hold more than max_download_bytes."""
        data = big_wheel()
        limits = ArchiveLimits(max_download_bytes=100_000)
        with pytest.raises(ResponseTooLarge):
            await read_archive(FileHost(data, ignore_range=True), artifact_for(data), limits=limits)

    async def test_truncated_tail_is_malformed(self) -> None:
        """A tail read cut short (or a file without its end record) is a MalformedResponse."""
        data = big_wheel()
        with pytest.raises(MalformedResponse):
            await read_archive(FileHost(data, cut=30_000), artifact_for(data))
        cut = data[:-200]
        with pytest.raises(MalformedResponse) as info:
            await read_archive(FileHost(cut), artifact_for(cut))
        assert info.value.suggestions

    async def test_size_disagreeing_with_the_index_is_malformed(self) -> None:
        """The host's file size must match the size the index published."""
        data = big_wheel()
        art = attrs.evolve(artifact_for(data), size=len(data) + 1)
        with pytest.raises(MalformedResponse):
            await read_archive(FileHost(data), art)

    async def test_central_directory_larger_than_the_first_read(self) -> None:
        """A directory over 64 KiB costs exactly one more read, then the members."""
        modules = {f"demo/m{i:04d}_{'x' * 60}.py": b"A = %d\n" % i for i in range(1500)}
        modules["demo/blob.bin"] = NOISE
        data = make_wheel(modules)
        host = FileHost(data)
        got = await read_archive(host, artifact_for(data))
        assert dict(got.members) == wanted(data)
        assert host.calls[1][0] is not None and host.calls[1][0] < len(data) - 65536
        assert got.requests <= 4 and not got.whole_file

    async def test_zip64_archives_are_read(self) -> None:
        """Zip64 end records and extra fields are followed like the classic ones."""
        data = to_zip64(big_wheel())
        got = await read_archive(FileHost(data), artifact_for(data))
        assert dict(got.members) == wanted(data)

    async def test_long_comment_pushes_the_end_record_out_of_the_tail(self) -> None:
        """A 65,000-byte archive comment costs one more tail read, not a failure."""
        data = big_wheel(comment=b"c" * 65_000)
        host = FileHost(data)
        got = await read_archive(host, artifact_for(data))
        assert dict(got.members) == wanted(data) and got.requests >= 2

    async def test_unsafe_names_are_dropped(self) -> None:
        """Traversal, absolute, drive-letter, backslash and control-character names are dropped."""
        bad = ["../evil.py", "/abs/x.py", "C:/win.py", "demo\\back.py", "demo/nul\x01.py"]
        data = make_wheel({**{n: b"boom" for n in bad}, "demo/ok.py": b"ok"})
        got = await read_archive(FileHost(data), artifact_for(data))
        assert set(got.members) == {"demo/ok.py", "demo-1.0.dist-info/METADATA"}
        assert {n for n, r in got.dropped if r == "unsafe name"} == set(bad)

    async def test_zip_bomb_members_are_dropped(self) -> None:
        """A member declaring too much is dropped unread; one lying about its size mid-inflate."""
        payload = b"\0" * 3_000_000
        data = make_wheel({"demo/big.py": payload, "demo/liar.py": payload, "demo/ok.py": b"ok"})
        # make "liar" declare 10 bytes in the central directory: it inflates to 3 MB
        cd_name = data.rindex(b"demo/liar.py")
        header = cd_name - 46
        assert data[header : header + 4] == b"PK\x01\x02"
        patched = bytearray(data)
        struct.pack_into("<I", patched, header + 24, 10)
        limits = ArchiveLimits(max_member_bytes=1_000_000)
        art = artifact_for(bytes(patched))
        got = await read_archive(FileHost(bytes(patched)), art, limits=limits)
        reasons = dict(got.dropped)
        assert "over the per-member limit" in reasons["demo/big.py"]
        assert "zip bomb" in reasons["demo/liar.py"]
        assert got.members["demo/ok.py"] == b"ok"

    async def test_read_budget_keeps_the_most_important_members(self) -> None:
        """Over max_read_bytes, shallow modules are kept and the rest dropped with a reason."""
        modules = {
            "demo/__init__.py": b"x = 1\n",
            "demo/deep/er/big.py": NOISE[:300_000],
            "demo/pad.bin": NOISE,
        }
        data = make_wheel(modules, compression=zipfile.ZIP_STORED)
        limits = ArchiveLimits(max_read_bytes=200_000)
        got = await read_archive(FileHost(data), artifact_for(data), limits=limits)
        assert "demo/__init__.py" in got.members
        assert dict(got.dropped)["demo/deep/er/big.py"] == "over the per-version read limit"
        assert got.bytes_read <= 200_000

    async def test_many_far_modules_fit_the_budget_with_more_ranges(self) -> None:
        """Modules between big blobs: more than 16 ranges rather than reading the blobs."""
        modules: dict[str, bytes] = {}
        for i in range(20):
            modules[f"demo/m{i:02d}.py"] = b"X = %d\n" % i
            modules[f"demo/blob{i:02d}.bin"] = NOISE[:60_000]
        data = make_wheel(modules, compression=zipfile.ZIP_STORED)
        limits = ArchiveLimits(max_read_bytes=200_000)
        got = await read_archive(FileHost(data), artifact_for(data), limits=limits)
        assert dict(got.members) == wanted(data) and not got.dropped
        assert got.requests > 17 and got.bytes_read <= 200_000

    async def test_zip_sdist(self) -> None:
        """A .zip sdist is read like a wheel; its PKG-INFO is the metadata; tooling is skipped."""
        data = make_zip(
            {
                "demo-1.0/PKG-INFO": METADATA,
                "demo-1.0/setup.py": b"setup()",
                "demo-1.0/src/demo/__init__.py": b"x = 1",
                "demo-1.0/tests/test_x.py": b"",
            }
        )
        got = await read_archive(FileHost(data), artifact_for(data, "demo-1.0.zip"))
        assert got.metadata == METADATA.decode()
        assert set(got.members) == {"demo-1.0/PKG-INFO", "demo-1.0/src/demo/__init__.py"}


class TestTarSdists:
    async def test_tar_gz_is_read_in_memory(self) -> None:
        """A .tar.gz is one download: .py files and PKG-INFO kept; tests and unsafe names out."""
        data = make_tar_gz(
            {
                "demo-1.0/PKG-INFO": METADATA,
                "demo-1.0/demo/__init__.py": b"x = 1",
                "demo-1.0/demo/tests/test_a.py": b"",
                "demo-1.0/../../etc/evil.py": b"",
                "demo-1.0/docs/conf.py": b"",
            }
        )
        host = FileHost(data)
        got = await read_archive(host, artifact_for(data, "demo-1.0.tar.gz"))
        assert host.calls == [(None, None)] and got.whole_file
        assert got.metadata == METADATA.decode()
        assert set(got.members) == {"demo-1.0/PKG-INFO", "demo-1.0/demo/__init__.py"}
        assert ("demo-1.0/../../etc/evil.py", "unsafe name") in got.dropped
        assert got.total_members == 5

    async def test_tar_gz_bomb_is_bounded(self) -> None:
        """A small .tar.gz that inflates past the limits never inflates further."""
        data = make_tar_gz({"demo-1.0/demo/a.py": b"\0" * 5_000_000, "demo-1.0/demo/b.py": b"b"})
        assert len(data) < 20_000
        limits = ArchiveLimits(max_member_bytes=1_000_000, max_total_bytes=1_000_000)
        limits = attrs.evolve(limits, max_download_bytes=1_000_000)
        got = await read_archive(
            FileHost(data), artifact_for(data, "demo-1.0.tar.gz"), limits=limits
        )
        assert "demo-1.0/demo/a.py" not in got.members
        assert got.dropped

    async def test_corrupt_tar_gz_is_malformed(self) -> None:
        """Garbage or a cut .tar.gz is a MalformedResponse, never a tarfile or zlib error."""
        data = make_tar_gz({"demo-1.0/demo/a.py": NOISE[:50_000]})
        for broken in (data[: len(data) // 2], b"not a gzip file"):
            art = artifact_for(broken, "demo-1.0.tar.gz")
            with pytest.raises(MalformedResponse):
                await read_archive(FileHost(broken), art)

    @settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    @given(data=st.data())
    async def test_corrupt_tar_gz_never_crashes(self, data: st.DataObject) -> None:
        """Random bytes of a .tar.gz changed: MalformedResponse or correct bytes, nothing else."""
        originals = {"demo-1.0/PKG-INFO": METADATA, "demo-1.0/demo/a.py": b"x = 1\n" * 500}
        good = make_tar_gz(originals)
        broken = bytearray(good)
        for _ in range(data.draw(st.integers(1, 6))):
            broken[data.draw(st.integers(0, len(good) - 1))] = data.draw(st.integers(0, 255))
        art = artifact_for(bytes(broken), "demo-1.0.tar.gz", sha=False)
        try:
            got = await read_archive(FileHost(bytes(broken)), art)
        except MalformedResponse:
            return
        assert all(content in originals.values() for content in got.members.values())

    async def test_other_formats_are_invalid_input(self) -> None:
        """An .egg or .exe is not read at all."""
        with pytest.raises(InvalidInputError):
            await read_archive(FileHost(b""), Artifact("demo-1.0.egg", "u"))


class TestProperties:
    @settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    @given(
        members=st.dictionaries(
            st.from_regex(r"demo/[a-z_]{1,12}(/[a-z_]{1,8})?\.(py|pyi|txt|bin)", fullmatch=True),
            st.tuples(st.integers(0, 120_000), st.booleans(), st.integers(0, 2**32 - 1)),
            max_size=12,
        ),
        compression=st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]),
        zip64=st.booleans(),
    )
    async def test_returns_exactly_the_selected_members(
        self, members: dict[str, tuple[int, bool, int]], compression: int, zip64: bool
    ) -> None:
        """For any wheel layout, the reader returns exactly the selected members' bytes."""
        contents = {
            n: (random.Random(seed).randbytes(size) if noisy else b"x" * size)
            for n, (size, noisy, seed) in members.items()
        }
        data = make_wheel(contents, compression=compression)
        data = to_zip64(data) if zip64 else data
        host = FileHost(data)
        got = await read_archive(host, artifact_for(data), select=lambda n: n.endswith(".py"))
        expected = {n: b for n, b in contents.items() if n.endswith(".py")}
        expected["demo-1.0.dist-info/METADATA"] = METADATA
        assert {**got.members, "demo-1.0.dist-info/METADATA": METADATA} == expected
        assert got.requests <= 20 and got.bytes_read == host.sent

    @settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    @given(data=st.data())
    async def test_corrupt_central_directory_never_crashes(self, data: st.DataObject) -> None:
        """Random directory bytes changed: MalformedResponse or correct bytes, nothing else."""
        originals = {
            "demo/__init__.py": b"x = 1\n" * 30,
            "demo/b.py": NOISE[:70_000],
            "demo/c.py": b"y\n" * 5000,
        }
        wheel = make_wheel(originals)
        eocd = wheel.rindex(b"PK\x05\x06")
        (cd_offset,) = struct.unpack_from("<I", wheel, eocd + 16)
        broken = bytearray(wheel)
        for _ in range(data.draw(st.integers(1, 8))):
            at = data.draw(st.integers(cd_offset, len(wheel) - 1))
            broken[at] = data.draw(st.integers(0, 255))
        art = artifact_for(bytes(broken), sha=False)
        try:
            got = await read_archive(FileHost(bytes(broken)), art)
        except (MalformedResponse, ResponseTooLarge):
            return
        except AutodocsError as exc:  # pragma: no cover - the failure this test exists for
            pytest.fail(f"unexpected {exc!r}")
        known = set(originals.values()) | {METADATA}
        assert all(content in known for content in got.members.values())


class TestOverHttp:
    async def test_reads_a_wheel_from_the_fault_index(self) -> None:
        """End to end over HTTP: the index counts the same requests and bytes as the reader."""
        data = big_wheel()
        name = "demo-1.0-py3-none-any.whl"
        async with FaultIndex(files={name: data}) as index, HttpClient(HttpConfig()) as http:
            art = attrs.evolve(artifact_for(data), url=f"{index.url}/files/{name}")

            async def fetch(start: int | None, end: int | None) -> Any:
                return await http.get_range(art.url, start=start, end=end, max_bytes=1 << 24)

            got = await read_archive(fetch, art)
        assert dict(got.members) == wanted(data)
        assert index.served(name) == (got.requests, got.bytes_read)

    @pytest.mark.parametrize("fault", ["ignore_range", "truncate"])
    async def test_faults_over_http(self, fault: str) -> None:
        """Range ignored: whole file, verified. Truncated tail: MalformedResponse."""
        data = big_wheel()
        name = "demo-1.0-py3-none-any.whl"
        plan = FaultPlan(script=[Fault(fault)])
        async with (
            FaultIndex(files={name: data}, plan=plan) as index,
            HttpClient(HttpConfig()) as http,
        ):
            art = attrs.evolve(artifact_for(data), url=f"{index.url}/files/{name}")

            async def fetch(start: int | None, end: int | None) -> Any:
                return await http.get_range(art.url, start=start, end=end, max_bytes=1 << 24)

            if fault == "truncate":
                with pytest.raises(MalformedResponse):
                    await read_archive(fetch, art)
                return
            got = await read_archive(fetch, art)
        assert got.whole_file and got.requests == 1
        assert hashlib.sha256(data).hexdigest() == art.sha256
