"""Record package-index traffic once, replay it on loopback: the apiref evaluation without network.

A *cassette* holds what an index answered, split by package (one ``NAME.json.gz`` per package under
``benchmarks/cassettes/``):

- **pages** (JSON API, PEP 691 simple pages, ``.metadata`` files, 404s) are kept whole, keyed by
  method, URL and ``Accept``;
- **artifacts** (wheels, sdists) are kept **sparsely**: the byte ranges actually fetched and the
  file's total size, so a 30 MB wheel read through four range requests costs ~100 KB on disk.

Two ways in:

- :class:`RecordingTransport` wraps any ``httpx.AsyncBaseTransport`` and writes each exchange into
  a :class:`Cassette` (and counts requests and wire bytes);
- :class:`ReplayServer` serves a cassette on 127.0.0.1, one listener per recorded origin (the
  index, and its file host, stay two origins as on PyPI), with file URLs in JSON pages rewritten
  to the local listeners. Range requests are answered 206 from the recorded bytes; a request
  outside them is a 416 and a log line that says to re-record. With ``upstream=True`` it becomes a
  recording proxy: a miss is fetched from the real origin through :class:`RecordingTransport`,
  stored, then served, so recording and replay see exactly the same requests.

``python -m benchmarks._cassette serve DIR [--record]`` runs the server in its own process (the
MCP-server target talks to it like to any index) and prints its URLs as one JSON line;
``python -m benchmarks._cassette check`` runs :func:`self_check`.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
import sys
import urllib.parse
import zlib
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import attrs
import httpx
from anyio.streams.buffered import BufferedByteReceiveStream

from autodocs_core.testing._index import read_request_head

CASSETTES = Path(__file__).resolve().parent / "cassettes"
"""Where the committed cassettes live (one gzip JSON file per package)."""

FORMAT = 1
KEPT_HEADERS = ("content-type", "content-range", "content-length", "location")
"""Response headers a cassette keeps; everything else is dropped (dates, CDN ids, cookies)."""

ARTIFACT_SUFFIXES = (".whl", ".zip", ".tar.gz", ".tgz", ".tar.bz2", ".egg")
INDEX_ORIGIN = "https://pypi.org"
FILES_ORIGIN = "https://files.pythonhosted.org"
RERECORD = "re-record with: python -m benchmarks apiref --record"

_RANGE = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$")
_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$")


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def bucket_of(url: str) -> str:
    """The package a URL belongs to (its cassette file), or ``_other``."""
    path = urllib.parse.unquote(urllib.parse.urlsplit(url).path)
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[0] in ("pypi", "simple"):
        return _normalize(parts[1])
    if parts:
        filename = parts[-1].removesuffix(".metadata")
        from packaging.utils import parse_sdist_filename, parse_wheel_filename

        try:
            if filename.endswith(".whl"):
                return str(parse_wheel_filename(filename)[0])
            if filename.endswith((".tar.gz", ".zip")):
                return str(parse_sdist_filename(filename)[0])
        except ValueError:
            pass
    return "_other"


def _filename(url: str) -> str:
    return urllib.parse.unquote(urllib.parse.urlsplit(url).path).rsplit("/", 1)[-1]


def is_artifact(url: str) -> bool:
    """Whether *url* names a distribution file (kept sparsely)."""
    return urllib.parse.urlsplit(url).path.endswith(ARTIFACT_SUFFIXES)


@attrs.define
class Page:
    """One whole answer: status, the headers that matter, the (decoded) body."""

    status: int
    headers: dict[str, str]
    body: bytes


@attrs.define
class Artifact:
    """The recorded bytes of one file: its size and sorted, disjoint ``(start, data)`` segments."""

    size: int
    content_type: str = "application/octet-stream"
    ignores_range: bool = False
    segments: list[tuple[int, bytes]] = attrs.field(factory=list)

    def add(self, start: int, data: bytes) -> None:
        """Merge ``data`` at ``start`` into the segments (overlapping or touching ones coalesce)."""
        if not data:
            return
        merged: list[tuple[int, bytes]] = []
        new_start, new = start, data
        for s, d in self.segments:
            end, new_end = s + len(d), new_start + len(new)
            if end < new_start or new_end < s:
                merged.append((s, d))
                continue
            lo, hi = min(s, new_start), max(end, new_end)
            buf = bytearray(hi - lo)
            buf[s - lo : end - lo] = d
            buf[new_start - lo : new_end - lo] = new
            new_start, new = lo, bytes(buf)
        merged.append((new_start, new))
        self.segments = sorted(merged)

    def read(self, start: int, end: int) -> bytes | None:
        """Bytes ``start..end`` inclusive, or ``None`` when they were not all recorded."""
        for s, d in self.segments:
            if s <= start and end < s + len(d):
                return d[start - s : end - s + 1]
        return None

    def recorded_bytes(self) -> int:
        """How many bytes of the file the cassette holds."""
        return sum(len(d) for _, d in self.segments)


def parse_ranges(header: str, size: int) -> list[tuple[int, int]] | None:
    """``bytes=a-b,c-,-n`` as inclusive ``(start, end)`` pairs within *size* (``None``: invalid)."""
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or not spec:
        return None
    out = []
    for part in spec.split(","):
        m = _RANGE.match(part)
        if m is None or (m[1] == "" and m[2] == ""):
            return None
        if m[1] == "":  # suffix: the last n bytes
            n = int(m[2])
            if n == 0:
                return None
            out.append((max(0, size - n), size - 1))
        else:
            start = int(m[1])
            end = min(int(m[2]), size - 1) if m[2] else size - 1
            if start > end:
                return None
            out.append((start, end))
    return out


class Cassette:
    """Recorded exchanges, by package; load and save as ``DIR/<package>.json.gz``."""

    def __init__(self) -> None:
        self.pages: dict[tuple[str, str, str], Page] = {}
        self.artifacts: dict[str, Artifact] = {}
        self.dirty: set[str] = set()

    # -- recording ----------------------------------------------------------------------------

    def record(
        self,
        method: str,
        url: str,
        request_headers: Mapping[str, str],
        status: int,
        headers: Mapping[str, str],
        body: bytes,
    ) -> None:
        """Store one exchange (the body already decoded from any Content-Encoding)."""
        kept = {k: v for k, v in ((k.lower(), v) for k, v in headers.items()) if k in KEPT_HEADERS}
        asked_range = request_headers.get("range")
        if status in (200, 206) and (is_artifact(url) or asked_range or status == 206):
            self._record_artifact(method, url, asked_range, status, kept, body)
            return
        accept = request_headers.get("accept", "")
        self.pages[(method, url, accept)] = Page(status, kept, body if method != "HEAD" else b"")
        self.dirty.add(bucket_of(url))

    def _record_artifact(
        self,
        method: str,
        url: str,
        asked_range: str | None,
        status: int,
        headers: Mapping[str, str],
        body: bytes,
    ) -> None:
        ctype = headers.get("content-type", "application/octet-stream")
        art = self.artifacts.get(url)
        if status == 200:
            size = len(body)
            if method == "HEAD":
                size = int(headers.get("content-length") or 0)
            art = art or Artifact(size=size, content_type=ctype)
            art.ignores_range = art.ignores_range or bool(asked_range)
            if method == "GET":
                art.add(0, body)
        else:
            if ctype.startswith("multipart/byteranges"):
                parts = list(_multipart_parts(ctype, body))
            else:
                m = _CONTENT_RANGE.match(headers.get("content-range", ""))
                if m is None or m[3] == "*":
                    return
                parts = [(int(m[1]), int(m[3]), body)]
                ctype = ctype or "application/octet-stream"
            for start, size, data in parts:
                art = art or Artifact(size=size, content_type=ctype)
                art.add(start, data)
        if art is not None:
            self.artifacts[url] = art
            self.dirty.add(bucket_of(url))

    # -- lookup -------------------------------------------------------------------------------

    def artifact(self, url: str) -> Artifact | None:
        """The recorded file at *url*, else one with the same file name.

        A release's files never change, and an index serves one file under several URLs
        (``files.pythonhosted.org`` from the simple API, ``/packages/...`` on the index host
        from a mirror's JSON API).
        """
        found = self.artifacts.get(url)
        if found is None and is_artifact(url):
            name = _filename(url)
            found = next((a for u, a in self.artifacts.items() if _filename(u) == name), None)
        return found

    def page(self, method: str, url: str, accept: str) -> Page | None:
        """The recorded page for this request: same Accept first, else one whose type fits."""
        found = self.pages.get((method, url, accept))
        if found is not None:
            return found
        wanted = {a.split(";")[0].strip() for a in accept.split(",") if a.strip()}
        fallback = None
        for (m, u, _), page in self.pages.items():
            if u != url or m not in (method, "GET"):
                continue
            ctype = page.headers.get("content-type", "").split(";")[0].strip()
            if not wanted or "*/*" in wanted or ctype in wanted or page.status != 200:
                return page
            fallback = fallback or page
        return fallback

    # -- files --------------------------------------------------------------------------------

    def buckets(self) -> set[str]:
        """Packages with something recorded."""
        return {bucket_of(k[1]) for k in self.pages} | {bucket_of(u) for u in self.artifacts}

    def to_json(self, bucket: str) -> dict[str, Any]:
        """One package's part of the cassette, as JSON-ready data."""
        pages = []
        for (method, url, accept), page in sorted(self.pages.items()):
            if bucket_of(url) != bucket:
                continue
            entry: dict[str, Any] = {
                "method": method,
                "url": url,
                "accept": accept,
                "status": page.status,
                "headers": page.headers,
            }
            try:
                entry["text"] = page.body.decode("utf-8")
            except UnicodeDecodeError:
                entry["b64"] = base64.b64encode(page.body).decode("ascii")
            pages.append(entry)
        artifacts = [
            {
                "url": url,
                "size": art.size,
                "content_type": art.content_type,
                "ignores_range": art.ignores_range,
                "segments": [[s, base64.b64encode(d).decode("ascii")] for s, d in art.segments],
            }
            for url, art in sorted(self.artifacts.items())
            if bucket_of(url) == bucket
        ]
        return {"format": FORMAT, "package": bucket, "pages": pages, "artifacts": artifacts}

    def merge_json(self, data: Mapping[str, Any]) -> None:
        """Add one package file's content."""
        if data.get("format") != FORMAT:
            raise ValueError(f"unsupported cassette format {data.get('format')!r}")
        for e in data["pages"]:
            body = e["text"].encode("utf-8") if "text" in e else base64.b64decode(e["b64"])
            self.pages[(e["method"], e["url"], e["accept"])] = Page(
                e["status"], dict(e["headers"]), body
            )
        for a in data["artifacts"]:
            art = Artifact(a["size"], a["content_type"], a["ignores_range"])
            for start, b64 in a["segments"]:
                art.add(start, base64.b64decode(b64))
            self.artifacts[a["url"]] = art

    @classmethod
    def load(cls, directory: Path, packages: Iterable[str] | None = None) -> Cassette:
        """Load every ``*.json.gz`` in *directory* (or only those of *packages*)."""
        cassette = cls()
        wanted = None if packages is None else {_normalize(p) for p in packages}
        for path in sorted(directory.glob("*.json.gz")):
            name = path.name.removesuffix(".json.gz")
            if wanted is None or name in wanted:
                cassette.merge_json(json.loads(gzip.decompress(path.read_bytes())))
        return cassette

    def save(self, directory: Path, *, only_dirty: bool = True) -> list[Path]:
        """Write the packages' files (those changed since loading, by default)."""
        directory.mkdir(parents=True, exist_ok=True)
        written = []
        for bucket in sorted(self.dirty if only_dirty else self.buckets()):
            path = directory / f"{bucket}.json.gz"
            raw = json.dumps(self.to_json(bucket), separators=(",", ":"), sort_keys=True)
            # mtime=0: the same recording gives the same bytes (quiet diffs).
            path.write_bytes(gzip.compress(raw.encode("utf-8"), compresslevel=9, mtime=0))
            written.append(path)
        self.dirty.clear()
        return written


def _multipart_parts(ctype: str, body: bytes) -> Iterable[tuple[int, int, bytes]]:
    m = re.search(r"boundary=\"?([^\";]+)\"?", ctype)
    if m is None:
        return
    boundary = b"--" + m[1].encode("latin-1")
    for chunk in body.split(boundary)[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, data = chunk.lstrip(b"\r\n").partition(b"\r\n\r\n")
        cr = re.search(rb"content-range:\s*bytes\s+(\d+)-(\d+)/(\d+)", head, re.I)
        if cr is not None:
            start, end = int(cr[1]), int(cr[2])
            yield start, int(cr[3]), data[: end - start + 1]


def _decode(encoding: str, raw: bytes) -> bytes:
    encoding = encoding.strip().lower()
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompress(raw, wbits=31)
    if encoding == "deflate":
        return zlib.decompress(raw, wbits=47)
    return raw


class RecordingTransport(httpx.AsyncBaseTransport):
    """Pass requests to *inner* and store each exchange in *cassette*; count requests and bytes.

    The response handed back carries the same (possibly compressed) bytes the inner transport
    produced; the cassette stores them decoded.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport, cassette: Cassette) -> None:
        self.inner = inner
        self.cassette = cassette
        self.requests = 0
        self.wire_bytes = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        try:
            # The transport's own stream: raw (still compressed) bytes, even when a mock
            # transport's response already decoded its content.
            stream = response.stream
            assert isinstance(stream, httpx.AsyncByteStream)
            raw = b"".join([chunk async for chunk in stream])
        finally:
            await response.aclose()
        self.requests += 1
        self.wire_bytes += len(raw)
        body = _decode(response.headers.get("content-encoding", ""), raw)
        self.cassette.record(
            request.method,
            str(request.url),
            {k.lower(): v for k, v in request.headers.items()},
            response.status_code,
            response.headers,
            body,
        )
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=httpx.ByteStream(raw),
            request=request,
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self.inner.aclose()


@attrs.define
class Stats:
    """What a replay server answered (the stats endpoint itself is not counted)."""

    requests: int = 0
    bytes: int = 0
    misses: int = 0
    statuses: Counter[int] = attrs.field(factory=Counter)
    miss_log: list[str] = attrs.field(factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "bytes": self.bytes,
            "misses": self.misses,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "miss_log": self.miss_log[-20:],
        }


class ReplayServer:
    """Serve a :class:`Cassette` on 127.0.0.1: one listener per origin (index, file host).

    Args:
        cassette: What to serve (recorded answers land here in record mode).
        origins: Real origins to stand in for; the first is the index.
        upstream: Record mode: fetch misses from the real origins (and store them).
        directory: Where record mode saves the cassette (after each recorded exchange batch, by
            ``save``).

    Attributes:
        urls: ``{real origin: local base URL}``, set once started.
        stats: Counters since start (reset through ``/_cassette/reset``).
    """

    def __init__(
        self,
        cassette: Cassette,
        *,
        origins: Iterable[str] = (INDEX_ORIGIN, FILES_ORIGIN),
        upstream: bool = False,
        directory: Path | None = None,
    ) -> None:
        self.cassette = cassette
        self.origins = list(origins)
        self.upstream = upstream
        self.directory = directory
        self.urls: dict[str, str] = {}
        self.stats = Stats()
        self._client: httpx.AsyncClient | None = None
        self._rewritten: dict[tuple[str, str, str, bool], bytes] = {}
        self._tg: anyio.abc.TaskGroup | None = None
        self._lock = anyio.Lock()

    @property
    def index_url(self) -> str:
        """The local URL standing in for the index."""
        return self.urls[self.origins[0]]

    async def __aenter__(self) -> ReplayServer:
        self._tg = anyio.create_task_group()
        await self._tg.__aenter__()
        for origin in self.origins:
            listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
            port = listener.extra(anyio.abc.SocketAttribute.local_port)
            self.urls[origin] = f"http://127.0.0.1:{port}"
            self._tg.start_soon(self._serve, listener, origin)
        if self.upstream:
            import ssl

            import truststore

            ctx = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            transport = RecordingTransport(httpx.AsyncHTTPTransport(verify=ctx), self.cassette)
            self._client = httpx.AsyncClient(transport=transport, timeout=120.0)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._tg is not None
        self._tg.cancel_scope.cancel()
        await self._tg.__aexit__(None, None, None)
        if self._client is not None:
            await self._client.aclose()
        if self.upstream and self.directory is not None:
            self.cassette.save(self.directory)

    async def _serve(self, listener: anyio.abc.Listener[Any], origin: str) -> None:
        async with listener:
            await listener.serve(lambda stream: self._handle(stream, origin))

    async def _handle(self, stream: anyio.abc.ByteStream, origin: str) -> None:
        reader = BufferedByteReceiveStream(stream)
        try:
            while True:
                head = await read_request_head(reader)
                if head is None:
                    return
                method, target, headers = head
                length = int(headers.get("content-length") or 0)
                if length:
                    await reader.receive_exactly(length)  # only control requests carry bodies
                status, out_headers, body = await self._answer(method, target, headers, origin)
                head_lines = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}"]
                head_lines += [f"{k}: {v}" for k, v in out_headers.items()]
                await stream.send(("\r\n".join(head_lines) + "\r\n\r\n").encode("latin-1"))
                if body and method != "HEAD":
                    await stream.send(body)
                if headers.get("connection", "").lower() == "close":
                    return
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            return
        finally:
            await anyio.aclose_forcefully(stream)

    # -- answers ------------------------------------------------------------------------------

    async def _answer(
        self, method: str, target: str, headers: Mapping[str, str], origin: str
    ) -> tuple[int, dict[str, str], bytes]:
        if target.startswith("/_cassette/"):
            return self._control(target)
        url = origin + target
        status, out, body = await self._lookup(method, url, headers)
        if method != "HEAD":
            # Pages go out compressed, as PyPI sends them (so that bytes count what the wire
            # carries); artifact bytes are already compressed and go out as they are.
            textual = "json" in out.get("Content-Type", "") or "text" in out.get("Content-Type", "")
            gzip_ok = "gzip" in headers.get("accept-encoding", "")
            if gzip_ok and textual and len(body) > 1024 and status == 200:
                body = gzip.compress(body, compresslevel=6, mtime=0)
                out["Content-Encoding"] = "gzip"
            self.stats.bytes += len(body)
        self.stats.requests += 1
        self.stats.statuses[status] += 1
        return status, out, body

    def _control(self, target: str) -> tuple[int, dict[str, str], bytes]:
        if target.startswith("/_cassette/reset"):
            self.stats = Stats()
        elif target.startswith("/_cassette/save") and self.directory is not None:
            self.cassette.save(self.directory)
        data = {"stats": self.stats.to_json(), "urls": self.urls, "record": self.upstream}
        return 200, {"Content-Type": "application/json"}, json.dumps(data).encode()

    def _miss(self, status: int, url: str, why: str) -> tuple[int, dict[str, str], bytes]:
        self.stats.misses += 1
        line = f"cassette: {why} for {url}; {RERECORD}"
        self.stats.miss_log.append(line)
        print(line, file=sys.stderr, flush=True)
        message = json.dumps({"message": line}).encode()
        return status, {"Content-Type": "application/json"}, message

    async def _lookup(
        self, method: str, url: str, headers: Mapping[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        accept = headers.get("accept", "")
        asked = headers.get("range")
        if self.upstream and not self._covered(method, url, accept, asked):
            await self._fetch(method, url, headers)
        art = self.cassette.artifact(url)
        if art is not None and (asked or is_artifact(url)):
            return self._artifact(url, art, asked)
        page = self.cassette.page(method, url, accept)
        if page is None:
            return self._miss(404, url, f"no recorded answer to {method} (Accept: {accept!r})")
        out = {k.title(): v for k, v in page.headers.items() if k != "content-length"}
        if "location" in page.headers:
            out["Location"] = self._local(page.headers["location"])
        ctype = page.headers.get("content-type", "")
        return page.status, out, self._rewrite(method, url, accept, page, ctype)

    def _covered(self, method: str, url: str, accept: str, asked: str | None) -> bool:
        art = self.cassette.artifact(url)
        if art is not None:
            ranges = parse_ranges(asked, art.size) if asked else [(0, art.size - 1)]
            return bool(ranges) and all(art.read(a, b) is not None for a, b in ranges or ())
        if is_artifact(url):
            return False
        return self.cassette.page(method, url, accept) is not None

    async def _fetch(self, method: str, url: str, headers: Mapping[str, str]) -> None:
        assert self._client is not None
        forward = {k: v for k, v in headers.items() if k in ("accept", "range")}
        async with self._lock:  # one upstream request at a time: gentle on the real index
            try:
                await self._client.request(method, url, headers=forward)
            except httpx.HTTPError as exc:
                print(f"cassette: upstream {method} {url} failed: {exc!r}", file=sys.stderr)

    def _local(self, url: str) -> str:
        for origin, local in self.urls.items():
            if url.startswith(origin):
                return local + url[len(origin) :]
        return url

    def _rewrite(self, method: str, url: str, accept: str, page: Page, ctype: str) -> bytes:
        if "json" not in ctype or not page.body:
            return page.body
        key = (method, url, accept, self.upstream)
        found = self._rewritten.get(key)
        if found is None:
            text = page.body.decode("utf-8", "replace")
            for origin, local in self.urls.items():
                text = text.replace(origin + "/", local + "/")
            found = text.encode("utf-8")
            if not self.upstream:
                self._rewritten[key] = found
        return found

    def _artifact(
        self, url: str, art: Artifact, asked: str | None
    ) -> tuple[int, dict[str, str], bytes]:
        base = {"Content-Type": art.content_type, "Accept-Ranges": "bytes"}
        if asked is None or art.ignores_range:
            data = art.read(0, art.size - 1)
            if data is None:
                return self._miss(416, url, "the whole file was not recorded")
            return 200, base, data
        ranges = parse_ranges(asked, art.size)
        if not ranges:
            return 416, {"Content-Range": f"bytes */{art.size}"}, b""
        pieces = [(a, b, art.read(a, b)) for a, b in ranges]
        missing = [f"{a}-{b}" for a, b, d in pieces if d is None]
        if missing:
            return self._miss(416, url, f"bytes {','.join(missing)} of {art.size} not recorded")
        if len(pieces) == 1:
            a, b, d = pieces[0]
            return 206, {**base, "Content-Range": f"bytes {a}-{b}/{art.size}"}, d or b""
        boundary = "cassette-byteranges"
        out = bytearray()
        for a, b, d in pieces:
            out += (
                f"--{boundary}\r\nContent-Type: {art.content_type}\r\n"
                f"Content-Range: bytes {a}-{b}/{art.size}\r\n\r\n"
            ).encode("latin-1")
            out += (d or b"") + b"\r\n"
        out += f"--{boundary}--\r\n".encode("latin-1")
        return 206, {"Content-Type": f"multipart/byteranges; boundary={boundary}"}, bytes(out)


# -- self-check ------------------------------------------------------------------------------


async def self_check() -> None:
    """Record through a mock index, replay on loopback, and check what comes back.

    Checks: JSON pages whole with file URLs rewritten to the local file host; ``.metadata``;
    a suffix range and a middle range (206 from the recorded bytes); the same file under another
    URL; a range outside the recorded bytes (416, counted as a miss); a recorded 404 replayed as
    a 404 (not a miss); save/load round trip.
    """
    import random

    payload = bytes(random.Random(1).randrange(256) for _ in range(200_000))
    wheel = f"{FILES_ORIGIN}/packages/aa/demo-1.0-py3-none-any.whl"
    simple = {
        "meta": {"api-version": "1.1"},
        "name": "demo",
        "files": [{"filename": "demo-1.0-py3-none-any.whl", "url": wheel, "hashes": {}}],
    }

    def upstream(request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        if url == wheel:
            ranges = parse_ranges(request.headers["range"], len(payload))
            assert ranges is not None
            assert len(ranges) == 1
            a, b = ranges[0]
            return httpx.Response(
                206,
                headers={"Content-Range": f"bytes {a}-{b}/{len(payload)}"},
                content=payload[a : b + 1],
            )
        if url == wheel + ".metadata":
            return httpx.Response(200, content=b"Metadata-Version: 2.1\nName: demo\n")
        if url == f"{INDEX_ORIGIN}/simple/demo/":  # gzip on the wire, as PyPI sends it
            return httpx.Response(
                200,
                headers={
                    "Content-Type": "application/vnd.pypi.simple.v1+json",
                    "Content-Encoding": "gzip",
                },
                content=gzip.compress(json.dumps(simple).encode()),
            )
        return httpx.Response(404, json={"message": "Not Found"})

    cassette = Cassette()
    recorder = RecordingTransport(httpx.MockTransport(upstream), cassette)
    async with httpx.AsyncClient(transport=recorder) as client:
        accept = {"Accept": "application/vnd.pypi.simple.v1+json"}
        assert (await client.get(f"{INDEX_ORIGIN}/simple/demo/", headers=accept)).status_code == 200
        await client.get(wheel + ".metadata")
        await client.get(wheel, headers={"Range": "bytes=-65536"})
        await client.get(wheel, headers={"Range": "bytes=1000-1999"})
        await client.get(f"{INDEX_ORIGIN}/pypi/demo/1.0/json")
    assert recorder.requests == 5
    assert cassette.artifacts[wheel].recorded_bytes() == 65536 + 1000

    with tempfile_dir() as tmp:
        cassette.save(tmp)
        assert {p.name for p in tmp.iterdir()} == {"demo.json.gz"}
        loaded = Cassette.load(tmp)
    async with ReplayServer(loaded) as server, httpx.AsyncClient() as client:
        files = server.urls[FILES_ORIGIN]
        page = await client.get(f"{server.index_url}/simple/demo/", headers=accept)
        assert page.json()["files"][0]["url"].startswith(files + "/packages/"), page.text
        local_wheel = page.json()["files"][0]["url"]
        meta = await client.get(local_wheel + ".metadata")
        assert meta.content.startswith(b"Metadata-Version"), meta
        tail = await client.get(local_wheel, headers={"Range": "bytes=-100"})
        assert tail.status_code == 206
        assert tail.content == payload[-100:]
        assert tail.headers["content-range"] == f"bytes {len(payload) - 100}-199999/200000"
        mid = await client.get(local_wheel, headers={"Range": "bytes=1500-1599"})
        assert mid.status_code == 206
        assert mid.content == payload[1500:1600]
        outside = await client.get(local_wheel, headers={"Range": "bytes=5000-5999"})
        assert outside.status_code == 416
        assert "re-record" in outside.text
        alias = f"{server.index_url}/packages/zz/demo-1.0-py3-none-any.whl"  # same file name
        aliased = await client.get(alias, headers={"Range": "bytes=-10"})
        assert aliased.content == payload[-10:], aliased
        missing = await client.get(f"{server.index_url}/pypi/demo/1.0/json")
        assert missing.status_code == 404
        assert server.stats.misses == 1
        stats = (await client.get(f"{server.index_url}/_cassette/stats")).json()["stats"]
        assert stats["requests"] == 7, stats
        assert stats["misses"] == 1, stats
    print("cassette self-check: ok (record, save/load, replay, ranges, alias, 416 outside, 404)")


class tempfile_dir:
    def __enter__(self) -> Path:
        import tempfile

        self._tmp = tempfile.TemporaryDirectory()
        return Path(self._tmp.name)

    def __exit__(self, *exc: object) -> None:
        self._tmp.cleanup()


# -- process entry ---------------------------------------------------------------------------


async def serve(cassette: Cassette, directory: Path, *, record: bool) -> None:
    """Serve *cassette* until killed; print the URLs as one JSON line."""
    async with ReplayServer(cassette, upstream=record, directory=directory) as server:
        print(json.dumps({"index": server.index_url, "urls": server.urls}), flush=True)
        await anyio.sleep_forever()


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m benchmarks._cassette")
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="serve cassettes on 127.0.0.1 (replay, or --record)")
    s.add_argument("directory", type=Path, nargs="?", default=CASSETTES)
    s.add_argument("--record", action="store_true", help="fetch misses from the real index")
    s.add_argument("--packages", nargs="*", help="load only these packages' cassettes")
    sub.add_parser("check", help="run the self-check")
    args = parser.parse_args(argv)
    try:
        if args.command == "check":
            anyio.run(self_check)
        else:
            directory: Path = args.directory
            cassette = Cassette.load(directory, args.packages) if directory.exists() else Cassette()
            anyio.run(lambda: serve(cassette, directory, record=args.record))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
