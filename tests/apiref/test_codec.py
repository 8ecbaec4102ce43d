"""The compact cache form of an API index: round trip, bounds, clear errors."""

from __future__ import annotations

import contextlib
import gzip
import json
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autodocs_core.apiref import (
    ENTRY_KINDS,
    ApiEntry,
    ApiIndex,
    Artifact,
    Parameter,
    SkippedModule,
    decode_index,
    encode_index,
)
from autodocs_core.apiref._codec import MAX_DECODED_BYTES
from autodocs_core.errors import CacheError

_text = st.text(max_size=30)
_opt = st.none() | _text
_strs = st.lists(_text, max_size=3).map(tuple)

parameters = st.builds(
    Parameter,
    name=_text,
    kind=st.sampled_from(
        [
            "positional-only",
            "positional-or-keyword",
            "var-positional",
            "keyword-only",
            "var-keyword",
        ]
    ),
    annotation=_opt,
    default=_opt,
    description=_opt,
)
entries = st.builds(
    ApiEntry,
    path=_text,
    kind=st.sampled_from(ENTRY_KINDS),
    module=_text,
    signature=_opt,
    parameters=st.lists(parameters, max_size=3).map(tuple),
    returns=_opt,
    docstring=_opt,
    bases=_strs,
    members=_strs,
    overloads=_strs,
    value=_opt,
    exported=st.booleans(),
    private=st.booleans(),
    deprecated=st.booleans(),
    aliases=_strs,
    decorators=_strs,
)
indexes = st.builds(
    ApiIndex,
    name=_text,
    version=_text,
    artifact=st.builds(
        Artifact,
        filename=_text,
        url=_text,
        sha256=_opt,
        size=st.none() | st.integers(0, 2**53),
        kind=st.sampled_from(["wheel", "sdist"]),
    ),
    entries=st.lists(entries, max_size=4).map(tuple),
    skipped=st.lists(st.builds(SkippedModule, module=_text, reason=_text), max_size=3).map(tuple),
    modules_total=st.integers(0, 10**6),
    modules_loaded=st.integers(0, 10**6),
    has_docstrings=st.booleans(),
    partial=st.booleans(),
    notes=_strs,
    stub_source=_opt,
)

SMALL = ApiIndex(
    name="pkg",
    version="1.0",
    artifact=Artifact(
        "pkg-1.0-py3-none-any.whl", "https://files.example/pkg.whl", sha256="ab" * 32
    ),
    entries=(
        ApiEntry(
            path="pkg.get",
            kind="function",
            module="pkg._api",
            signature="(url: str) -> Response",
            parameters=(Parameter("url", annotation="str", description="Where."),),
            exported=True,
        ),
    ),
)


@settings(max_examples=60, deadline=None)
@given(indexes)
def test_round_trip(index: ApiIndex) -> None:
    """decode(encode(x)) == x for any index, including odd text and big numbers."""
    assert decode_index(encode_index(index)) == index


def test_encoded_form_is_gzip_json_with_a_version() -> None:
    """The blob is gzip'd compact JSON that names its format version."""
    payload = json.loads(gzip.decompress(encode_index(SMALL)))
    assert payload["v"] == 1
    assert payload["index"]["entries"][0]["path"] == "pkg.get"


def _gzip(raw: bytes) -> bytes:
    return gzip.compress(raw)


@pytest.mark.parametrize(
    ("blob", "reason"),
    [
        (b"", "truncated"),
        (b"not gzip at all", "not gzip"),
        (encode_index(SMALL)[:-12], "truncated"),
        (_gzip(b"\xff\xfe{"), "not JSON"),
        (_gzip(b"[1, 2]"), "unknown format version"),
        (_gzip(b'{"v": 99, "index": {}}'), "unknown format version"),
        (_gzip(b'{"v": 1, "index": {"name": "x"}}'), "does not fit"),
        (_gzip(b'{"v": 1, "index": ' + b"[" * 100_000 + b"}"), "not JSON"),
    ],
    ids=["empty", "garbage", "truncated", "bad-utf8", "not-object", "version", "shape", "deep"],
)
def test_bad_blobs_raise_cache_error(blob: bytes, reason: str) -> None:
    """A corrupt, truncated or foreign blob is one clear CacheError, never another exception."""
    with pytest.raises(CacheError) as caught:
        decode_index(blob)
    assert reason in caught.value.message
    assert caught.value.to_payload()["error_type"] == "cache_error"


def test_decompression_is_bounded() -> None:
    """A blob inflating past the cap is refused without inflating it all."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = b" " * (1 << 20)
    parts = [compressor.compress(chunk) for _ in range(MAX_DECODED_BYTES // len(chunk) + 2)]
    bomb = b"".join(parts) + compressor.flush()
    assert len(bomb) < MAX_DECODED_BYTES // 100
    with pytest.raises(CacheError, match="inflates past"):
        decode_index(bomb)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_decode_or_raise_cache_error(blob: bytes) -> None:
    """Any bytes either decode to an index or raise CacheError."""
    with contextlib.suppress(CacheError):
        assert isinstance(decode_index(blob), ApiIndex)
