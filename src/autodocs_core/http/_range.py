"""HTTP range reads (RFC 9110 §14): the ``Range`` we send and the ``Content-Range`` we accept.

Pure functions and one value; the I/O is :meth:`HttpClient.get_range`. Offsets are raw bytes of
the file, which is why range reads ask for ``Accept-Encoding: identity``.
"""

from __future__ import annotations

import re

import attrs

from ..errors import InvalidInputError, MalformedResponse

__all__ = ["RangeBody", "check_content_range", "parse_content_range", "range_header"]


@attrs.frozen
class RangeBody:
    """The bytes one range read returned.

    Attributes:
        url: The final URL (after redirects), credentials and signed query strings redacted.
        data: The bytes.
        offset: The file offset of ``data[0]``.
        total: The full file size (from ``Content-Range``, or ``len(data)`` on a 200), if known.
        partial: ``True`` for a 206; ``False`` when the server sent the whole file (a 200,
            the server ignored ``Range``).

    .. versionadded:: 0.2.0
    """

    url: str
    data: bytes
    offset: int
    total: int | None
    partial: bool

    @property
    def end(self) -> int:
        """The file offset just past the last byte of :attr:`data`."""
        return self.offset + len(self.data)


def range_header(start: int | None, end: int | None) -> str | None:
    """Return the ``Range`` header value for a read, or ``None`` for the whole file.

    ``(None, None)``: the whole file; ``(None, n)``: the last *n* bytes (a suffix range);
    ``(a, b)``: bytes *a* to *b* inclusive; ``(a, None)``: from *a* to the end.

    Raises:
        InvalidInputError: For a negative offset, an empty suffix or ``end < start``.

    .. versionadded:: 0.2.0
    """
    if start is None and end is None:
        return None
    if start is None:
        assert end is not None
        if end <= 0:
            raise InvalidInputError(f"A suffix range needs a length > 0, got {end}")
        return f"bytes=-{end}"
    if start < 0:
        raise InvalidInputError(f"A range cannot start before the file, got {start}")
    if end is None:
        return f"bytes={start}-"
    if end < start:
        raise InvalidInputError(f"A range cannot end ({end}) before it starts ({start})")
    return f"bytes={start}-{end}"


_CONTENT_RANGE = re.compile(r"\s*bytes\s+(\d{1,18})-(\d{1,18})/(\d{1,18}|\*)\s*", re.ASCII)


def parse_content_range(value: str | None, *, url: str) -> tuple[int, int, int | None]:
    """Parse ``Content-Range: bytes first-last/total`` into ``(first, last, total)``.

    ``last`` is inclusive; ``total`` is ``None`` for ``*`` (unknown length).

    Raises:
        MalformedResponse: When the header is missing, not a single byte range, or
            inconsistent (``last < first``, or ``last`` at or past ``total``).

    .. versionadded:: 0.2.0
    """
    match = _CONTENT_RANGE.fullmatch(value or "")
    if match is None:
        raise MalformedResponse(
            "The file host answered a range request (206) without a usable Content-Range",
            url=url,
            details={"content_range": (value or "")[:80]},
        )
    first, last = int(match[1]), int(match[2])
    total = None if match[3] == "*" else int(match[3])
    if last < first or (total is not None and last >= total):
        raise MalformedResponse(
            "The file host sent an inconsistent Content-Range",
            url=url,
            details={"content_range": (value or "")[:80]},
        )
    return first, last, total


def check_content_range(
    start: int | None,
    end: int | None,
    first: int,
    last: int,
    total: int | None,
    *,
    url: str,
) -> None:
    """Check that a 206's range is the one asked for (clipped to the file, as RFC 9110 allows).

    Raises:
        MalformedResponse: When the server sent other bytes than those requested.

    .. versionadded:: 0.2.0
    """
    ok: bool
    if start is None and end is None:  # no Range was sent: only the whole file will do
        ok = first == 0 and total is not None and last == total - 1
    elif start is None:
        assert end is not None  # a suffix: the last `end` bytes, or the whole (shorter) file
        ok = total is None or (last == total - 1 and last - first + 1 == min(end, total))
    else:
        ok = first == start and (end is None or last <= end)
        if ok and total is not None and end is not None:
            ok = last == min(end, total - 1)
        if ok and total is not None and end is None:
            ok = last == total - 1
    if not ok:
        raise MalformedResponse(
            "The file host answered with other bytes than the range asked for",
            url=url,
            details={
                "asked": f"{'' if start is None else start}-{'' if end is None else end}",
                "got": f"{first}-{last}/{'*' if total is None else total}",
            },
        )
