"""HTTP range reads (RFC 9110 §14): the ``Range`` we send and the ``Content-Range`` we accept.

The checks of :meth:`HttpClient.get_range`, kept apart from the client. Offsets are raw bytes of
the file, which is why range reads ask for ``Accept-Encoding: identity``.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import attrs
import httpx

from ..errors import (
    InvalidInputError,
    MalformedResponse,
    ResponseTooLarge,
    UpstreamClientError,
    redact_url,
)
from ._errors import classify_response

__all__ = [
    "RangeBody",
    "check_content_range",
    "parse_content_range",
    "range_header",
    "range_redirect",
    "read_range",
    "shown_url",
]


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


async def read_range(
    response: httpx.Response,
    url: str,
    start: int | None,
    end: int | None,
    max_bytes: int,
    read_body: Callable[[httpx.Response, str, int], Awaitable[bytes]],
) -> RangeBody:
    """Turn the final answer of a range read into a :class:`RangeBody`, checking it.

    *read_body* reads a body under a byte cap (the client's bounded, rate-checked reader).
    """
    status = response.status_code
    if status == 416:
        raise UpstreamClientError(
            416,
            url=url,
            details={
                "reason": "the requested range lies outside the file",
                "content_range": response.headers.get("content-range", "")[:80],
            },
            suggestions=(
                "The file is shorter than expected: the index's file list may be stale; "
                "try again later.",
            ),
        )
    error = classify_response(status, response.headers, url=url)
    if error is not None:
        raise error
    if status == 200:
        data = await read_body(response, url, max_bytes)
        return RangeBody(url, data, 0, len(data), partial=False)
    if status != 206:
        raise MalformedResponse(
            f"The file host answered a GET with HTTP {status}",
            url=url,
            details={"status_code": status},
        )
    first, last, total = parse_content_range(response.headers.get("content-range"), url=url)
    check_content_range(start, end, first, last, total, url=url)
    if response.headers.get("content-encoding", "identity").strip().lower() != "identity":
        raise MalformedResponse(
            "The file host compressed a partial answer; its offsets are unusable",
            url=url,
            details={"content_encoding": response.headers["content-encoding"][:40]},
        )
    length = last - first + 1
    if length > max_bytes:
        raise ResponseTooLarge(max_bytes, url=url)
    data = await read_body(response, url, max_bytes)
    if len(data) != length:
        raise MalformedResponse(
            "The file host's partial answer is not as long as its Content-Range says (truncated)",
            url=url,
            details={"expected_bytes": length, "got_bytes": len(data)},
        )
    return RangeBody(url, data, first, total, partial=True)


def shown_url(url: httpx.URL, *, redirected: bool) -> str:
    """The URL as results and errors may show it.

    No user info, and no query string once a redirect has left the first origin (presigned
    object-store URLs carry their signatures there).
    """
    if redirected and url.query:
        url = url.copy_with(query=None)
    return redact_url(str(url))


def range_redirect(response: httpx.Response, shown: str) -> httpx.URL:
    """The next hop of a range read: any origin, but only http(s) and never https -> http."""
    location = response.headers.get("location")
    if not location:
        raise MalformedResponse("The file host sent a redirect without a Location", url=shown)
    try:
        target = response.url.join(location)
    except httpx.InvalidURL as exc:
        raise MalformedResponse("The file host sent an unusable redirect", url=shown) from exc
    scheme = response.url.scheme
    if target.scheme not in ("http", "https") or (scheme == "https" and target.scheme != "https"):
        raise UpstreamClientError(
            response.status_code,
            url=shown,
            details={
                "reason": "redirect from https to a plain or unknown scheme refused",
                "location_scheme": target.scheme[:20],
            },
            suggestions=(
                "The file host redirected to an insecure URL; autodocs never downgrades https.",
            ),
        )
    return target
