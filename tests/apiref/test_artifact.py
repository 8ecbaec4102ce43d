"""choose_artifact: which released file of a version the API reference is read from."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autodocs_core.apiref import DEFAULT_MAX_SDIST_BYTES, choose_artifact

PAGE = "https://pypi.example/simple/demo/"
SHA = "ab" * 32


def entry(filename: str, **kw: Any) -> dict[str, Any]:
    return {"filename": filename, "url": f"../../files/{filename}", "hashes": {"sha256": SHA}, **kw}


def pick(*names: str, version: str = "1.0", **kw: Any) -> str | None:
    chosen = choose_artifact(
        [entry(n) for n in names], name="Demo", version=version, page_url=PAGE, **kw
    )
    return None if chosen is None else chosen.filename


PURE = "demo-1.0-py3-none-any.whl"
PURE2 = "demo-1.0-py2-none-any.whl"
CP312 = "demo-1.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
CP313 = "demo-1.0-cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
ABI3 = "demo-1.0-cp38-abi3-manylinux_2_17_x86_64.whl"
CP313T = "demo-1.0-cp313-cp313t-manylinux_2_17_x86_64.whl"
MAC = "demo-1.0-cp313-cp313-macosx_11_0_arm64.whl"
WIN = "demo-1.0-cp312-cp312-win_amd64.whl"
ZIP = "demo-1.0.zip"
TGZ = "demo-1.0.tar.gz"
OTHER_VERSION = "demo-2.0-py3-none-any.whl"


class TestOrder:
    @pytest.mark.parametrize(
        ("files", "best"),
        [
            ([CP313, PURE, TGZ], PURE),
            ([PURE2, PURE], PURE),
            ([CP312, CP313, MAC, WIN], CP313),
            ([CP313, ABI3], ABI3),
            ([CP313T, CP312], CP312),
            ([CP313T, MAC], MAC),
            ([MAC, WIN], MAC),  # other platforms: the newest CPython
            ([CP313T, ZIP], CP313T),
            ([TGZ, ZIP], ZIP),
            ([TGZ], TGZ),
            ([OTHER_VERSION], None),
            (["demo-1.0.tar.bz2", "demo-1.0-py2.4.egg", "garbage.whl"], None),
        ],
    )
    def test_preference(self, files: list[str], best: str | None) -> None:
        """Pure wheel, mainstream binary, other wheels, .zip sdist, .tar.gz sdist."""
        assert pick(*files) == best

    def test_version_is_compared_as_pep440(self) -> None:
        """'1.0' matches files named 1.0.0 or 1.0; the name matches in any spelling."""
        assert pick("demo-1.0.0-py3-none-any.whl") == "demo-1.0.0-py3-none-any.whl"
        assert pick("Demo_Pkg-1.0-py3-none-any.whl") is None  # another project
        assert pick(PURE, version="not a version") is None

    def test_large_tar_gz_is_not_chosen(self) -> None:
        """A .tar.gz over the cap is skipped; one of unknown size is allowed."""
        big = entry(TGZ, size=DEFAULT_MAX_SDIST_BYTES + 1)
        assert choose_artifact([big], name="demo", version="1.0", page_url=PAGE) is None
        unknown = entry(TGZ)
        assert choose_artifact([unknown], name="demo", version="1.0", page_url=PAGE) is not None

    def test_yanked_files_only_when_nothing_else(self) -> None:
        """A non-yanked file beats a yanked one; a fully yanked release still has a choice."""
        files = [entry(PURE, yanked="broken"), entry(CP313)]
        chosen = choose_artifact(files, name="demo", version="1.0", page_url=PAGE)
        assert chosen is not None and chosen.filename == CP313
        only = choose_artifact(
            [entry(PURE, yanked=True)], name="demo", version="1.0", page_url=PAGE
        )
        assert only is not None and only.filename == PURE

    def test_artifact_fields(self) -> None:
        """The URL is resolved against the page and redacted; sha256, size and kind are kept."""
        files = [
            {
                "filename": TGZ,
                "url": "https://u:p@files.example/x/" + TGZ,
                "hashes": {"sha256": SHA.upper()},
                "size": 1234,
            }
        ]
        art = choose_artifact(files, name="demo", version="1.0", page_url=PAGE)
        assert art is not None
        assert art.url == f"https://***@files.example/x/{TGZ}"
        assert (art.sha256, art.size, art.kind) == (SHA, 1234, "sdist")
        rel = choose_artifact([entry(PURE)], name="demo", version="1.0", page_url=PAGE)
        assert rel is not None and rel.url == f"https://pypi.example/files/{PURE}"
        assert rel.kind == "wheel"

    @pytest.mark.parametrize(
        "bad",
        [
            "not a mapping",
            {"filename": PURE},
            {"filename": PURE, "url": "javascript:alert(1)"},
            {"filename": "../" + PURE, "url": "x"},
            {"filename": 3, "url": "x"},
        ],
    )
    def test_untrusted_entries_are_skipped(self, bad: Any) -> None:
        """Entries without a usable name or http(s) URL are ignored, never a crash."""
        assert choose_artifact([bad], name="demo", version="1.0", page_url=PAGE) is None

    def test_bad_hash_and_size_are_dropped(self) -> None:
        """A sha256 that is not 64 hex digits, or a negative or boolean size, becomes None."""
        files = [{"filename": PURE, "url": PURE, "hashes": {"sha256": "zz"}, "size": True}]
        art = choose_artifact(files, name="demo", version="1.0", page_url=PAGE)
        assert art is not None and art.sha256 is None and art.size is None


ALL = [PURE, PURE2, CP312, CP313, ABI3, CP313T, MAC, WIN, ZIP, TGZ, OTHER_VERSION]


class TestProperties:
    @given(st.lists(st.sampled_from(ALL), min_size=1, unique=True), st.randoms())
    def test_choice_properties(self, names: list[str], rnd: random.Random) -> None:
        """Same version, order-free, pure beats binary, free-threaded only as the last wheel."""
        chosen = pick(*names)
        shuffled = list(names)
        rnd.shuffle(shuffled)
        assert pick(*shuffled) == chosen
        if chosen is None:
            assert names == [OTHER_VERSION]
            return
        assert "-1.0" in chosen and chosen in names
        if PURE in names or PURE2 in names:
            assert chosen in (PURE, PURE2)
        wheels = [n for n in names if n.endswith(".whl") and n != OTHER_VERSION]
        if any(w != CP313T for w in wheels):
            assert chosen != CP313T
        if wheels:
            assert chosen.endswith(".whl")
