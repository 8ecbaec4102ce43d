"""The sans-I/O zip reader: names, tail, central directory, range planning, member extraction."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from autodocs_core.apiref import ArchiveLimits, importable_path, safe_member_name
from autodocs_core.apiref._zip import (
    MemberError,
    MoreBytes,
    ZipLayout,
    ZipMember,
    extract_member,
    member_spans,
    parse_central_directory,
    parse_tail,
    plan_ranges,
)
from autodocs_core.errors import ConfigError, MalformedResponse

from .builders import make_wheel, make_zip, to_zip64


class TestNames:
    @pytest.mark.parametrize(
        ("name", "safe"),
        [
            ("pkg/mod.py", "pkg/mod.py"),
            ("./pkg//mod.py", "pkg/mod.py"),
            ("pkg/", "pkg/"),
            ("../x.py", None),
            ("pkg/../../x.py", None),
            ("/etc/passwd", None),
            ("C:/x.py", None),
            ("c:x.py", None),
            ("pkg\\mod.py", None),
            ("pkg/\x00.py", None),
            ("pkg/\x1b[31m.py", None),
            ("", None),
            ("./", None),
            ("a" * 1025, None),
        ],
    )
    def test_safe_member_name(self, name: str, safe: str | None) -> None:
        """Traversal, absolute, drive, backslash, control characters and overlong names drop."""
        assert safe_member_name(name) == safe

    @given(st.text(max_size=80))
    def test_safe_names_are_relative_and_clean(self, name: str) -> None:
        """Whatever goes in, a kept name has no '..', no leading '/', no backslash or control."""
        safe = safe_member_name(name)
        if safe is None:
            return
        parts = safe.rstrip("/").split("/")
        assert ".." not in parts and "" not in parts and "." not in parts
        assert not safe.startswith("/") and "\\" not in safe
        assert all(ord(c) >= 32 and ord(c) != 127 for c in safe)
        assert safe_member_name(safe) == safe  # idempotent

    @pytest.mark.parametrize(
        ("name", "kind", "path"),
        [
            ("pkg/__init__.py", "wheel", "pkg/__init__.py"),
            ("pkg/mod.pyi", "wheel", "pkg/mod.pyi"),
            ("pkg-stubs/__init__.pyi", "wheel", "pkg-stubs/__init__.pyi"),
            ("pkg-1.0.data/purelib/pkg/x.py", "wheel", "pkg/x.py"),
            ("pkg-1.0.data/platlib/pkg/x.py", "wheel", "pkg/x.py"),
            ("pkg-1.0.data/scripts/tool.py", "wheel", None),
            ("pkg-1.0.dist-info/METADATA", "wheel", None),
            ("pkg/tests/test_x.py", "wheel", None),
            ("pkg/conftest.py", "wheel", None),
            ("pkg/data.json", "wheel", None),
            ("my-pkg/x.py", "wheel", None),
            ("pkg-1.0/src/pkg/x.py", "sdist", "pkg/x.py"),
            ("pkg-1.0/pkg/x.py", "sdist", "pkg/x.py"),
            ("pkg-1.0/single.py", "sdist", "single.py"),
            ("pkg-1.0/setup.py", "sdist", None),
            ("pkg-1.0/docs/conf.py", "sdist", None),
            ("pkg-1.0/tests/test_x.py", "sdist", None),
        ],
    )
    def test_importable_path(self, name: str, kind: str, path: str | None) -> None:
        """Where a member would be importable from, or None for everything that is not code."""
        assert importable_path(name, kind=kind) == path


def layout_of(data: bytes) -> ZipLayout:
    found = parse_tail(data, offset=0, file_size=len(data))
    assert isinstance(found, ZipLayout)
    return found


class TestTail:
    @given(
        comment=st.binary(max_size=300),
        tail=st.integers(22, 5000),
        zip64=st.booleans(),
    )
    def test_any_tail_finds_the_directory_or_asks_for_more(
        self, comment: bytes, tail: int, zip64: bool
    ) -> None:
        """From any suffix: the same layout as from the whole file, or a precise MoreBytes."""
        data = make_wheel({"pkg/a.py": b"a" * 3000}, comment=comment)
        data = to_zip64(data) if zip64 else data
        whole = layout_of(data)
        assert whole.zip64 == zip64 and whole.entries == 3
        at = max(0, len(data) - tail)
        found = parse_tail(data[at:], offset=at, file_size=len(data))
        while isinstance(found, MoreBytes):
            assert found.end == at - 1 and 0 <= found.start < at
            at = found.start
            found = parse_tail(data[at:], offset=at, file_size=len(data))
        assert found == whole

    def test_comment_that_contains_a_fake_end_record(self) -> None:
        """A signature inside the comment is not taken for the end record."""
        fake = b"PK\x05\x06" + b"\0" * 18
        data = make_wheel({"pkg/a.py": b"a"}, comment=fake + b"tail")
        assert layout_of(data).entries == 3

    @pytest.mark.parametrize(
        "data",
        [b"", b"not a zip at all" * 10, b"PK\x05\x06" + b"\xff" * 18],
        ids=["empty", "garbage", "bad-fields"],
    )
    def test_no_end_record_is_malformed(self, data: bytes) -> None:
        """A file without a valid end record is a MalformedResponse with a suggestion."""
        with pytest.raises(MalformedResponse) as info:
            parse_tail(data, offset=0, file_size=len(data))
        assert info.value.suggestions

    def test_tail_that_does_not_reach_the_end_is_malformed(self) -> None:
        """A tail that stops short of the file's end (a truncated read) is refused."""
        data = make_wheel({"pkg/a.py": b"a"})
        with pytest.raises(MalformedResponse):
            parse_tail(data[:-5], offset=0, file_size=len(data))


class TestCentralDirectory:
    def test_members_match_zipfile(self) -> None:
        """Names, sizes, CRCs and offsets agree with the standard library's reading."""
        data = make_wheel({"pkg/a.py": b"a" * 100, "pkg/b.pyi": b"b", "pkg/": b""})
        members = parse_central_directory(data, offset=0, layout=layout_of(data))
        infos = zipfile.ZipFile(io.BytesIO(data)).infolist()
        assert [m.name for m in members] == [i.filename for i in infos]
        assert [(m.size, m.crc32, m.offset) for m in members] == [
            (i.file_size, i.CRC, i.header_offset) for i in infos
        ]
        assert members[2].is_dir

    def test_directory_outside_the_bytes_is_malformed(self) -> None:
        """Asking to parse a directory that was not read is a MalformedResponse."""
        data = make_wheel({"pkg/a.py": b"a"})
        layout = layout_of(data)
        with pytest.raises(MalformedResponse):
            parse_central_directory(data[-30:], offset=len(data) - 30, layout=layout)

    def test_member_limit_stops_decoding(self) -> None:
        """At most max_members entries are decoded."""
        data = make_zip({f"pkg/m{i}.py": b"" for i in range(50)})
        assert (
            len(parse_central_directory(data, offset=0, layout=layout_of(data), max_members=7)) == 7
        )

    def test_limits_validate(self) -> None:
        """A limit of zero or less is a ConfigError naming the setting."""
        with pytest.raises(ConfigError) as info:
            ArchiveLimits(max_members=0)
        assert info.value.details["setting"] == "max_members"


class TestPlanning:
    @given(
        spans=st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 50_000)), max_size=40),
        have_from=st.integers(0, 2 * 10**6),
    )
    def test_plan_covers_every_needed_byte(
        self, spans: list[tuple[int, int]], have_from: int
    ) -> None:
        """Planned ranges cover every wanted byte not at hand, in order, at most 16 of them."""
        real = [(a, a + n) for a, n in spans]
        plan = plan_ranges(real, have_from=have_from, file_size=2 * 10**6 + 50_000)
        if plan is None:
            return
        assert len(plan) <= 16
        assert all(a <= b < have_from for a, b in plan)
        assert all(plan[i][1] < plan[i + 1][0] for i in range(len(plan) - 1))
        for a, b in real:
            for byte in (a, min(b, have_from) - 1):
                if a <= byte < have_from:
                    assert any(x <= byte <= y for x, y in plan)

    def test_near_ranges_merge_and_far_ones_do_not(self) -> None:
        """Gaps up to 32 KiB merge into one request; a larger gap does not."""
        plan = plan_ranges(
            [(0, 100), (20_000, 20_100), (500_000, 500_100)], have_from=10**7, file_size=10**7
        )
        assert plan == [(0, 20_099), (500_000, 500_099)]

    def test_many_far_ranges_merge_down_to_sixteen(self) -> None:
        """Thirty far-apart spans become 16 requests by merging the nearest gaps first."""
        spans = [(i * 100_000 + (i % 3) * 1000, i * 100_000 + 10_000) for i in range(30)]
        plan = plan_ranges(spans, have_from=10**8, file_size=10**8)
        assert plan is not None and len(plan) == 16
        for a, b in spans:
            assert any(x <= a and b - 1 <= y for x, y in plan)

    def test_merging_stops_at_the_byte_budget(self) -> None:
        """Far-apart spans stay separate rather than pull huge gaps over max_bytes."""
        spans = [(i * 10**7, i * 10**7 + 1000) for i in range(30)]
        plan = plan_ranges(spans, have_from=10**9, file_size=10**9, max_bytes=100_000)
        assert plan is not None and len(plan) == 30
        assert sum(b - a + 1 for a, b in plan) == 30_000

    def test_mostly_wanted_means_whole(self) -> None:
        """When the wanted spans are most of what is left, the rest is read whole (None)."""
        assert plan_ranges([(0, 900)], have_from=1000, file_size=5000) is None
        assert plan_ranges([(0, 100)], have_from=1000, file_size=5000) == [(0, 99)]

    def test_spans_run_to_the_next_member(self) -> None:
        """A member spans from its local header to the next one's, the last to the directory."""
        members = [ZipMember("a", "a", 0, 1, 1, 0, 0), ZipMember("b", "b", 50, 1, 1, 0, 0)]
        assert member_spans(members, cd_start=80) == {0: (0, 50), 50: (50, 80)}


def member_of(data: bytes, name: str) -> ZipMember:
    members = parse_central_directory(data, offset=0, layout=layout_of(data))
    return next(m for m in members if m.name == name)


class TestExtract:
    @pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
    def test_round_trip(self, compression: int) -> None:
        """Stored and deflated members come back byte for byte."""
        payload = b"def f(): pass\n" * 500
        data = make_zip({"pkg/a.py": payload}, compression=compression)
        assert extract_member(member_of(data, "pkg/a.py"), data, offset=0) == payload

    @pytest.mark.parametrize(
        ("patch", "reason"),
        [
            (lambda m: {"flags": 1}, "encrypted"),
            (lambda m: {"method": 12}, "not supported"),
            (lambda m: {"size": 10**9}, "over the"),
            (lambda m: {"size": 10}, "zip bomb"),
            (lambda m: {"size": m.size + 1}, "less than"),
            (lambda m: {"crc32": m.crc32 ^ 1}, "CRC"),
            (lambda m: {"offset": m.offset + 1}, "local header"),
            (lambda m: {"raw_name": b"other.py"}, "another file"),
            (lambda m: {"compressed_size": 10**7}, "truncated"),
        ],
    )
    def test_bad_members_say_why(self, patch: object, reason: str) -> None:
        """Each way a member can be unusable is a MemberError with its reason."""
        data = make_zip({"pkg/a.py": b"x" * 5000})
        member = member_of(data, "pkg/a.py")
        bad = attrs.evolve(member, **patch(member))  # type: ignore[operator]
        with pytest.raises(MemberError) as info:
            extract_member(bad, data, offset=0, max_bytes=1_000_000)
        assert reason in info.value.reason

    def test_bomb_is_stopped_during_inflation(self) -> None:
        """A member lying about its size never inflates more than one byte past the cap."""
        bomb = zlib.compressobj(9, zlib.DEFLATED, -15)
        stream = bomb.compress(b"\0" * 50_000_000) + bomb.flush()
        assert len(stream) < 60_000
        local = b"PK\x03\x04" + struct.pack("<HHHHHIIIHH", 20, 0, 8, 0, 0, 0, len(stream), 10, 6, 0)
        data = local + b"pkg/b." + stream
        member = ZipMember("pkg/b.", "pkg/b.", 0, len(stream), 10, 8, 0, raw_name=b"pkg/b.")
        with pytest.raises(MemberError) as info:
            extract_member(member, data, offset=0)
        assert "zip bomb" in info.value.reason
