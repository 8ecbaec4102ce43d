"""A compact, bounded byte form of an :class:`ApiIndex` for the cache (gzip'd JSON).

A release's files never change, so an extracted index is cached forever; this is its stored
form. Decoding is bounded (a blob that inflates past :data:`MAX_DECODED_BYTES` is refused, so a
corrupted or hostile cache entry cannot exhaust memory) and every failure is one clear
:class:`~autodocs_core.errors.CacheError`.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

import attrs

from .._serde import structure
from ..errors import AutodocsError, CacheError
from ._model import ApiIndex

__all__ = ["CODEC_VERSION", "MAX_DECODED_BYTES", "decode_index", "encode_index"]

CODEC_VERSION = 1
"""The format version written in every blob; a blob of another version is refused."""
MAX_DECODED_BYTES = 64 * 1024 * 1024
"""Largest inflated JSON accepted when decoding (a zip bomb in the cache is refused)."""

_GZIP_WBITS = 31  # zlib with a gzip header and trailer
_SUGGESTIONS = ("The cached API reference is unusable; it will be read again from the release.",)
_RECOVERY = ("Clear the cache with 'autodocs cache clear'.",)


def _error(reason: str) -> CacheError:
    return CacheError(
        f"The cached API reference could not be decoded: {reason}",
        details={"reason": reason},
        suggestions=_SUGGESTIONS,
        recovery_actions=_RECOVERY,
    )


def _compact(value: Any) -> Any:
    """Unstructure attrs values, leaving out fields at their default (most of them)."""
    if attrs.has(type(value)):
        out: dict[str, Any] = {}
        for field in attrs.fields(type(value)):
            item = getattr(value, field.name)
            if field.default is not attrs.NOTHING and item == field.default:
                continue
            out[field.name] = _compact(item)
        return out
    if isinstance(value, (tuple, list)):
        return [_compact(item) for item in value]
    return value


def encode_index(index: ApiIndex) -> bytes:
    """Encode an API index compactly (gzip'd JSON, fields at their default left out).

    Args:
        index: The index to store.

    Returns:
        The bytes to cache; :func:`decode_index` turns them back into an equal index.

    .. versionadded:: 0.2.0
    """
    payload = {"v": CODEC_VERSION, "index": _compact(index)}
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    compressor = zlib.compressobj(6, zlib.DEFLATED, _GZIP_WBITS)
    return compressor.compress(text.encode("utf-8")) + compressor.flush()


def _inflate(data: bytes) -> bytes:
    decompressor = zlib.decompressobj(_GZIP_WBITS)
    try:
        raw = decompressor.decompress(data, MAX_DECODED_BYTES + 1)
    except zlib.error as exc:
        raise _error("not gzip data") from exc
    if len(raw) > MAX_DECODED_BYTES or decompressor.unconsumed_tail:
        raise _error(f"it inflates past {MAX_DECODED_BYTES:,} bytes")
    if not decompressor.eof:
        raise _error("truncated data")
    return raw


def decode_index(data: bytes) -> ApiIndex:
    """Decode bytes written by :func:`encode_index`, with bounded decompression.

    Args:
        data: The cached bytes.

    Returns:
        The API index.

    Raises:
        CacheError: When the bytes are not a valid encoded index (corrupt, truncated, another
            format version, or inflating past :data:`MAX_DECODED_BYTES`).

    .. versionadded:: 0.2.0
    """
    raw = _inflate(data)
    try:
        payload: Any = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise _error("not JSON") from exc
    if not isinstance(payload, dict) or payload.get("v") != CODEC_VERSION or "index" not in payload:
        raise _error("unknown format version")
    try:
        return structure(payload["index"], ApiIndex)
    except AutodocsError as exc:
        raise _error("the data does not fit an API index") from exc
