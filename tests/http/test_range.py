"""Range reads: Range/Content-Range handling, faults, redirects across origins, credentials."""

from __future__ import annotations

import gzip
import random
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from autodocs_core.errors import (
    InvalidInputError,
    MalformedResponse,
    ResponseTooLarge,
    UpstreamClientError,
)
from autodocs_core.http import Credentials, HttpClient, HttpConfig, RangeBody
from autodocs_core.http._range import check_content_range, parse_content_range, range_header
from autodocs_core.testing import Fault, FaultIndex, FaultPlan

pytestmark = pytest.mark.anyio

FAST = HttpConfig(read_timeout=2.0, header_timeout=None)
DATA = bytes(random.Random(7).randbytes(300_000))
NAME = "demo-1.0-py3-none-any.whl"


async def read(index: FaultIndex, start: int | None, end: int | None, **kw: Any) -> RangeBody:
    async with HttpClient(FAST) as http:
        return await http.get_range(
            f"{index.url}/files/{NAME}", start=start, end=end, max_bytes=kw.get("cap", 1 << 20)
        )


class TestAgainstTheFaultIndex:
    @pytest.mark.parametrize(
        ("start", "end", "offset", "length"),
        [
            (None, 65536, len(DATA) - 65536, 65536),  # suffix
            (None, 10**9, 0, len(DATA)),  # a suffix longer than the file: all of it, still 206
            (1000, 1999, 1000, 1000),
            (len(DATA) - 10, 10**9, len(DATA) - 10, 10),  # clipped at the end of the file
            (250_000, None, 250_000, len(DATA) - 250_000),  # open range
        ],
    )
    async def test_ranges_return_exactly_the_asked_bytes(
        self, start: int | None, end: int | None, offset: int, length: int
    ) -> None:
        """Each range form gives the right bytes, offset and total, over identity encoding."""
        async with FaultIndex(files={NAME: DATA}) as index:
            body = await read(index, start, end)
        assert body.partial and body.offset == offset and body.total == len(DATA)
        assert body.data == DATA[offset : offset + length]
        headers = index.requests[0].headers
        assert headers["accept-encoding"] == "identity"
        assert index.served(NAME) == (1, length)

    async def test_whole_file_without_a_range(self) -> None:
        """No range: a plain GET, answered 200, partial=False, total=len(data)."""
        async with FaultIndex(files={NAME: DATA}) as index:
            body = await read(index, None, None)
        assert not body.partial and body.data == DATA and body.total == len(DATA)
        assert "range" not in index.requests[0].headers

    async def test_ignored_range_returns_the_whole_file(self) -> None:
        """A server that ignores Range answers 200: the whole body comes back, not partial."""
        plan = FaultPlan(script=[Fault("ignore_range")])
        async with FaultIndex(files={NAME: DATA}, plan=plan) as index:
            body = await read(index, None, 65536)
        assert not body.partial and body.offset == 0 and body.data == DATA

    async def test_ignored_range_over_the_cap_is_refused_before_reading(self) -> None:
        """A 200 whole file over max_bytes is ResponseTooLarge (Content-Length checked first)."""
        plan = FaultPlan(script=[Fault("ignore_range")])
        async with FaultIndex(files={NAME: DATA}, plan=plan) as index:
            with pytest.raises(ResponseTooLarge):
                await read(index, None, 65536, cap=100_000)

    async def test_truncated_partial_body_is_malformed(self) -> None:
        """A 206 shorter than its Content-Range says is a MalformedResponse."""
        plan = FaultPlan(script=[Fault("truncate")])
        async with FaultIndex(files={NAME: DATA}, plan=plan) as index:
            with pytest.raises(MalformedResponse) as info:
                await read(index, None, 65536)
        assert "truncated" in info.value.message

    async def test_unsatisfiable_range_is_a_clear_416(self) -> None:
        """A range past the end of the file is a non-retryable 416 that says why."""
        async with FaultIndex(files={NAME: DATA}) as index:
            with pytest.raises(UpstreamClientError) as info:
                await read(index, len(DATA) + 5, len(DATA) + 10)
        assert info.value.status == 416 and not info.value.retryable
        assert "outside the file" in info.value.details["reason"]

    async def test_redirect_to_another_origin_drops_credentials(self) -> None:
        """A cross-origin redirect is followed; the other host never sees the credentials."""
        async with FaultIndex(files={NAME: DATA}) as files:
            plan = FaultPlan(
                script=[Fault("redirect", location=f"{files.url}/files/{NAME}?X-Amz-Signature=s")]
            )
            async with FaultIndex(plan=plan) as index:
                creds = Credentials.find(index.url, token="t0k")
                async with HttpClient(FAST, credentials=creds) as http:
                    body = await http.get_range(
                        f"{index.url}/files/{NAME}", end=1000, max_bytes=1 << 20
                    )
        assert body.data == DATA[-1000:]
        assert index.requests[0].headers["authorization"] == "Bearer t0k"
        assert "authorization" not in files.requests[0].headers
        assert files.requests[0].headers["range"] == "bytes=-1000"
        assert "Signature" not in body.url  # a presigned query is not repeated in results


def mock(routes: dict[str, httpx.Response], seen: list[httpx.Request]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return routes[str(request.url)]

    return httpx.MockTransport(handler)


def redirect(to: str) -> httpx.Response:
    return httpx.Response(302, headers={"Location": to})


def partial(first: int, data: bytes, total: int) -> httpx.Response:
    last = first + len(data) - 1
    return httpx.Response(
        206, content=data, headers={"Content-Range": f"bytes {first}-{last}/{total}"}
    )


class TestRedirectRules:
    async def test_https_to_http_downgrade_is_refused(self) -> None:
        """A redirect from https to http is refused before any request goes to the http URL."""
        seen: list[httpx.Request] = []
        routes = {"https://idx.example/f.whl": redirect("http://files.example/f.whl")}
        async with HttpClient(FAST, transport=mock(routes, seen)) as http:
            with pytest.raises(UpstreamClientError) as info:
                await http.get_range("https://idx.example/f.whl", end=10, max_bytes=100)
        assert len(seen) == 1 and "downgrade" not in info.value.message
        assert "https" in info.value.details["reason"]

    async def test_non_http_scheme_is_refused(self) -> None:
        """A redirect to file:// (or any non-http scheme) is refused."""
        seen: list[httpx.Request] = []
        routes = {"http://idx.example/f.whl": redirect("file:///etc/passwd")}
        async with HttpClient(FAST, transport=mock(routes, seen)) as http:
            with pytest.raises(UpstreamClientError):
                await http.get_range("http://idx.example/f.whl", end=10, max_bytes=100)

    async def test_credentials_never_return_after_leaving_their_origin(self) -> None:
        """Index -> other host -> index: only the first hop carries the Authorization header."""
        seen: list[httpx.Request] = []
        routes = {
            "https://idx.example/f.whl": redirect("https://s3.example/f.whl?sig=1"),
            "https://s3.example/f.whl?sig=1": redirect("https://idx.example/again.whl"),
            "https://idx.example/again.whl": partial(90, b"0123456789", 100),
        }
        creds = Credentials.find("https://idx.example/simple", token="secret")
        async with HttpClient(FAST, credentials=creds, transport=mock(routes, seen)) as http:
            body = await http.get_range("https://idx.example/f.whl", end=10, max_bytes=100)
        assert body.data == b"0123456789" and body.offset == 90 and body.total == 100
        assert [r.headers.get("authorization") for r in seen] == ["Bearer secret", None, None]
        assert all(r.headers["range"] == "bytes=-10" for r in seen)

    async def test_redirect_loop_stops(self) -> None:
        """A redirect loop ends after max_redirects + 1 requests with a clear error."""
        seen: list[httpx.Request] = []
        routes = {
            "https://a.example/f": redirect("https://b.example/f"),
            "https://b.example/f": redirect("https://a.example/f"),
        }
        async with HttpClient(FAST, transport=mock(routes, seen)) as http:
            with pytest.raises(UpstreamClientError) as info:
                await http.get_range("https://a.example/f", end=10, max_bytes=100)
        assert len(seen) == FAST.max_redirects + 1 and "redirects" in info.value.details["reason"]

    @pytest.mark.parametrize(
        ("response", "needle"),
        [
            (httpx.Response(206, content=b"abc"), "Content-Range"),
            (
                httpx.Response(206, content=b"abc", headers={"Content-Range": "bytes 5-3/10"}),
                "inconsistent",
            ),
            (
                httpx.Response(206, content=b"abc", headers={"Content-Range": "bytes 0-2/10"}),
                "other bytes",
            ),
            (
                httpx.Response(
                    206,
                    content=gzip.compress(b"abc"),
                    headers={"Content-Range": "bytes 7-9/10", "Content-Encoding": "gzip"},
                ),
                "compressed",
            ),
            (httpx.Response(204), "HTTP 204"),
        ],
    )
    async def test_bad_partial_answers_are_malformed(
        self, response: httpx.Response, needle: str
    ) -> None:
        """A missing/inconsistent/misplaced Content-Range, a gzip 206, a 204: malformed."""
        seen: list[httpx.Request] = []
        routes = {"https://a.example/f": response}
        async with HttpClient(FAST, transport=mock(routes, seen)) as http:
            with pytest.raises(MalformedResponse) as info:
                await http.get_range("https://a.example/f", end=3, max_bytes=100)
        assert needle in info.value.message

    async def test_partial_body_over_the_cap(self) -> None:
        """A 206 larger than max_bytes is refused by its Content-Range."""
        seen: list[httpx.Request] = []
        routes = {"https://a.example/f": partial(0, b"x" * 50, 50)}
        async with HttpClient(FAST, transport=mock(routes, seen)) as http:
            with pytest.raises(ResponseTooLarge):
                await http.get_range("https://a.example/f", start=0, end=49, max_bytes=10)


class TestHeaders:
    @pytest.mark.parametrize(
        ("start", "end", "header"),
        [(None, None, None), (None, 5, "bytes=-5"), (3, 9, "bytes=3-9"), (4, None, "bytes=4-")],
    )
    def test_range_header_forms(
        self, start: int | None, end: int | None, header: str | None
    ) -> None:
        """The four read forms map to no Range, a suffix, a closed and an open range."""
        assert range_header(start, end) == header

    @pytest.mark.parametrize(("start", "end"), [(None, 0), (-1, 5), (9, 3)])
    def test_impossible_ranges_are_invalid_input(self, start: int | None, end: int | None) -> None:
        """An empty suffix, a negative start or end < start is InvalidInputError."""
        with pytest.raises(InvalidInputError):
            range_header(start, end)

    @pytest.mark.parametrize(
        ("first", "last", "total", "ok"),
        [(0, 9, 10, True), (0, 9, None, False), (1, 9, 10, False), (0, 8, 10, False)],
    )
    def test_unasked_206_must_be_the_whole_file(
        self, first: int, last: int, total: int | None, ok: bool
    ) -> None:
        """A 206 to a request without Range is accepted only when it is the whole file."""
        if ok:
            check_content_range(None, None, first, last, total, url="u")
        else:
            with pytest.raises(MalformedResponse):
                check_content_range(None, None, first, last, total, url="u")

    @given(st.text(max_size=60))
    def test_content_range_parser_never_crashes(self, value: str) -> None:
        """Any header text parses to a consistent range or raises MalformedResponse."""
        try:
            first, last, total = parse_content_range(value, url="u")
        except MalformedResponse:
            return
        assert 0 <= first <= last and (total is None or last < total)

    @given(
        total=st.integers(1, 10**6),
        data=st.data(),
    )
    def test_server_answers_pass_the_check(self, total: int, data: st.DataObject) -> None:
        """What a correct server sends for any asked range passes check_content_range."""
        start = data.draw(st.one_of(st.none(), st.integers(0, total - 1)))
        if start is None:
            end = data.draw(st.integers(1, 2 * total))
            first, last = max(0, total - end), total - 1
        else:
            end = data.draw(st.one_of(st.none(), st.integers(start, 2 * total)))
            first, last = start, total - 1 if end is None else min(end, total - 1)
        check_content_range(start, end, first, last, total, url="u")
        if first < last:  # one byte short at the front is always caught
            with pytest.raises(MalformedResponse):
                check_content_range(start, end, first + 1, last, total, url="u")
