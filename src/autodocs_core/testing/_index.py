"""A fault-injecting package index on 127.0.0.1, for tests and the benchmark fault lab.

It speaks just enough HTTP/1.1 (GET, keep-alive, Content-Length or chunked bodies, optional TLS)
to serve the JSON API (``/pypi/{name}/json``), the per-version JSON API (404 by default, as the
mirror these machines reach does), the PEP 691 simple API in JSON (``/simple/{name}/``) and
PEP 658 metadata files (``/files/{filename}.metadata``) and release files
(``/files/{filename}``: wheels, sdists) with real ``Range`` support (206 + ``Content-Range``,
suffix and open ranges, 416). Any request can be answered with a :class:`Fault` instead: chosen
by a script (the next N requests) or by seeded probabilities. Requests and body bytes are
counted per path.

It runs inside the caller's event loop (asyncio or trio) and stops with the ``async with`` block.
Only loopback addresses are used.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import re
import socket
import ssl
import struct
import urllib.parse
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

import anyio
import anyio.abc
import attrs
from anyio.streams.buffered import BufferedByteReceiveStream
from anyio.streams.tls import TLSListener

__all__ = ["Fault", "FaultIndex", "FaultPlan", "Request", "wheel_filename"]

FAULT_KINDS = (
    "hang",  # accept the request, never answer
    "slow",  # answer normally after `delay` seconds
    "status",  # answer with `status` (e.g. 429, 503, 404) and optional Retry-After
    "reset",  # send the headers and part of the body, then reset the connection (RST)
    "close",  # send the headers and part of the body, then close cleanly (FIN)
    "trickle",  # send the body one byte every `delay` seconds
    "truncate",  # a complete answer whose body is cut in half (JSON; or a file's bytes)
    "garbage",  # a 200 application/json whose body is not JSON
    "invalid_utf8",  # a 200 application/json with bytes that are not UTF-8
    "wrong_type",  # a 200 text/html page
    "huge",  # a 200 JSON body of `size` bytes, streamed without a Content-Length
    "bomb",  # a small gzip body that inflates to `size` bytes
    "redirect",  # 302 to `location` (another host, or itself for a loop)
    "ignore_range",  # a release file answered 200 with the whole file, whatever the Range
)


@attrs.frozen
class Fault:
    """One way to answer (or not answer) a request.

    Attributes:
        kind: One of ``FAULT_KINDS``.
        status: HTTP status for ``"status"`` faults.
        retry_after: ``Retry-After`` header value to send, if any (sent verbatim).
        delay: Seconds for ``"slow"`` and ``"trickle"``.
        size: Bytes for ``"huge"`` and ``"bomb"``.
        location: Target for ``"redirect"`` (``None``: redirect to the same URL, a loop).
    """

    kind: str = attrs.field(validator=attrs.validators.in_(FAULT_KINDS))
    status: int = 503
    retry_after: str | None = None
    delay: float = 0.05
    size: int = 50_000_000
    location: str | None = None


@attrs.frozen
class Request:
    """What the index received.

    Attributes:
        path: The request path (with query).
        headers: Request headers, names lower-cased.
    """

    path: str
    headers: Mapping[str, str]


@attrs.define
class FaultPlan:
    """Chooses a fault per request: first from a script, then by seeded probabilities.

    Args:
        script: Faults (or ``None`` for a normal answer) for the next requests, in order.
        probabilities: ``{fault: probability}``; drawn in order for requests past the script.
        seed: Seed of the probability draws.
        match: Only requests whose path passes this predicate get faults.
    """

    script: list[Fault | None] = attrs.field(factory=list)
    probabilities: list[tuple[Fault, float]] = attrs.field(factory=list)
    seed: int = 0
    match: Callable[[str], bool] = lambda path: True
    _rng: random.Random = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def choose(self, request: Request) -> Fault | None:
        """Return the fault for *request*, or ``None`` to answer normally."""
        if not self.match(request.path):
            return None
        if self.script:
            return self.script.pop(0)
        roll = self._rng.random()
        for fault, probability in self.probabilities:
            if roll < probability:
                return fault
            roll -= probability
        return None


# Complete 200 answers whose content is wrong in one way each.
_CANNED: dict[str, tuple[str, bytes]] = {
    "truncate": ("application/json", b'{"info": {"name": "tru'),
    "garbage": ("application/json", b"<html>surprise</html>"),
    "invalid_utf8": ("application/json", b'{"info": "\xff\xfe"}'),
    "wrong_type": ("text/html", b"<html>login portal</html>"),
}


def wheel_filename(name: str, version: str) -> str:
    """Return the file name of a pure-Python wheel of *name* *version* (PEP 427 escaping)."""
    return f"{re.sub(r'[-_.]+', '_', name)}-{version}-py3-none-any.whl"


def _metadata_from_info(info: Mapping[str, Any]) -> bytes:
    """Render the core-metadata file a wheel would carry, from a JSON API ``info`` block."""
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {info.get('name', '')}",
        f"Version: {info.get('version', '')}",
    ]
    if info.get("summary"):
        lines.append(f"Summary: {info['summary']}")
    if info.get("requires_python"):
        lines.append(f"Requires-Python: {info['requires_python']}")
    if info.get("license"):
        lines.append(f"License: {info['license']}")
    for label, url in (info.get("project_urls") or {}).items():
        lines.append(f"Project-URL: {label}, {url}")
    for req in info.get("requires_dist") or []:
        lines.append(f"Requires-Dist: {req}")
    if info.get("description_content_type"):
        lines.append(f"Description-Content-Type: {info['description_content_type']}")
    text = "\n".join(lines) + "\n\n" + (info.get("description") or "")
    return text.encode("utf-8")


async def read_request_head(
    reader: BufferedByteReceiveStream,
) -> tuple[str, str, dict[str, str]] | None:
    """Read one HTTP/1.1 request head: ``(method, target, lower-cased headers)``.

    ``None`` when the connection ended or the head is not a request line (the caller closes).
    Shared by the loopback index here and the benchmarks' cassette server.

    .. versionadded:: 0.2.0
    """
    try:
        head = await reader.receive_until(b"\r\n\r\n", 65536)
    except (anyio.EndOfStream, anyio.IncompleteRead, anyio.DelimiterNotFound):
        return None
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3:
        return None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return parts[0], parts[1], headers


class FaultIndex:
    """A package index served on 127.0.0.1 that can misbehave on purpose.

    Args:
        projects: ``{normalised name: JSON API document}`` (``{"info": ..., "releases": ...}``).
        plan: Which requests get which :class:`Fault`.
        per_version_json: Serve ``/pypi/{name}/{version}/json`` (the default mirror answers 404).
        metadata: ``{filename: bytes}`` core-metadata files; by default one is rendered for the
            latest version of each project from its ``info``.
        files_url: Base URL the simple API points file URLs at (default: this index).
        ssl_context: Serve HTTPS with this server-side context.
        files: ``{filename: bytes}`` release files served at ``/files/{filename}`` with
            ``Range`` support; the simple API lists them (with their sha256 and size) under
            the project whose escaped name starts their filename.

    Attributes:
        requests: Every request received, in order.
        bytes_sent: Body bytes sent per path (without query).
        url: The base URL (``http://127.0.0.1:PORT``), set once started.

    .. versionadded:: 0.1.0
    """

    def __init__(
        self,
        projects: Mapping[str, Mapping[str, Any]] | None = None,
        *,
        plan: FaultPlan | None = None,
        per_version_json: bool = False,
        metadata: Mapping[str, bytes] | None = None,
        files_url: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        files: Mapping[str, bytes] | None = None,
    ) -> None:
        self.projects = dict(projects or {})
        self.plan = plan or FaultPlan()
        self.per_version_json = per_version_json
        self.metadata = dict(metadata or {})
        for doc in self.projects.values():
            info = doc.get("info", {})
            wheel = wheel_filename(info.get("name", ""), info.get("version", ""))
            self.metadata.setdefault(wheel, _metadata_from_info(info))
        self.files_url = files_url
        self.ssl_context = ssl_context
        self.files = dict(files or {})
        self.requests: list[Request] = []
        self.bytes_sent: Counter[str] = Counter()
        self._arrived = anyio.Event()
        self.url = ""
        self._tg: anyio.abc.TaskGroup | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    async def __aenter__(self) -> FaultIndex:
        listener: anyio.abc.Listener[Any] = await anyio.create_tcp_listener(
            local_host="127.0.0.1", local_port=0
        )
        port = listener.extra(anyio.abc.SocketAttribute.local_port)
        scheme = "http"
        if self.ssl_context is not None:
            listener = TLSListener(listener, self.ssl_context, standard_compatible=False)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{port}"
        self._tg = anyio.create_task_group()
        await self._tg.__aenter__()
        self._tg.start_soon(self._serve, listener)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._tg is not None
        self._tg.cancel_scope.cancel()
        await self._tg.__aexit__(None, None, None)

    async def _serve(self, listener: anyio.abc.Listener[Any]) -> None:
        async with listener:
            await listener.serve(self._handle)

    # -- counters -----------------------------------------------------------------------------

    async def wait_for_requests(self, n: int = 1) -> None:
        """Return once at least *n* requests have arrived."""
        while len(self.requests) < n:
            await self._arrived.wait()

    def count(self, prefix: str = "/") -> int:
        """Return how many requests had a path starting with *prefix*."""
        return sum(1 for r in self.requests if r.path.startswith(prefix))

    def paths(self) -> Counter[str]:
        """Return request counts per path."""
        return Counter(r.path for r in self.requests)

    def served(self, filename: str) -> tuple[int, int]:
        """Return ``(requests, body bytes sent)`` for the release file *filename*."""
        path = f"/files/{filename}"
        return self.count(path), self.bytes_sent[path]

    # -- serving ------------------------------------------------------------------------------

    async def _handle(self, stream: anyio.abc.ByteStream) -> None:
        reader = BufferedByteReceiveStream(stream)
        try:
            while True:
                head = await read_request_head(reader)
                if head is None:
                    return
                _method, target, headers = head
                request = Request(target, headers)
                self.requests.append(request)
                self._arrived.set()
                self._arrived = anyio.Event()
                keep_going = await self._answer(stream, request)
                if not keep_going or headers.get("connection", "").lower() == "close":
                    return
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError, ssl.SSLError):
            return
        finally:
            await anyio.aclose_forcefully(stream)

    async def _answer(self, stream: anyio.abc.ByteStream, request: Request) -> bool:
        fault = self.plan.choose(request)
        if fault is not None:
            if fault.kind == "slow":
                await anyio.sleep(fault.delay)
            elif fault.kind not in ("trickle", "ignore_range") and not (
                fault.kind == "truncate" and self._is_file(request)
            ):
                return await self._fault(stream, request, fault)
        status, ctype, body, extra = self._route(
            request, ignore_range=fault is not None and fault.kind == "ignore_range"
        )
        if fault is not None and fault.kind == "truncate":
            body = body[: len(body) // 2]  # the headers (Content-Range too) still claim it all
        self.bytes_sent[urllib.parse.urlsplit(request.path).path] += len(body)
        if fault is not None and fault.kind == "trickle" and status == 200:
            await self._send_head(stream, 200, ctype, len(body), extra)
            for i in range(len(body)):
                await stream.send(body[i : i + 1])
                await anyio.sleep(fault.delay)
            return True
        await self._send(stream, status, ctype, body, extra)
        return True

    async def _send_head(
        self,
        stream: anyio.abc.ByteStream,
        status: int,
        ctype: str | None,
        length: int | None,
        extra: Mapping[str, str] | None = None,
    ) -> None:
        lines = [f"HTTP/1.1 {status} X"]
        if ctype:
            lines.append(f"Content-Type: {ctype}")
        if length is None:
            lines.append("Transfer-Encoding: chunked")
        else:
            lines.append(f"Content-Length: {length}")
        for name, value in (extra or {}).items():
            lines.append(f"{name}: {value}")
        await stream.send(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    async def _send(
        self,
        stream: anyio.abc.ByteStream,
        status: int,
        ctype: str | None,
        body: bytes,
        extra: Mapping[str, str] | None = None,
    ) -> None:
        await self._send_head(stream, status, ctype, len(body), extra)
        if body:
            await stream.send(body)

    def _is_file(self, request: Request) -> bool:
        path = urllib.parse.unquote(urllib.parse.urlsplit(request.path).path)
        return path.startswith("/files/") and path[len("/files/") :] in self.files

    def _route(
        self, request: Request, *, ignore_range: bool = False
    ) -> tuple[int, str | None, bytes, dict[str, str]]:
        path = urllib.parse.urlsplit(request.path).path
        parts = [urllib.parse.unquote(p) for p in path.strip("/").split("/")]
        notfound: tuple[int, str | None, bytes, dict[str, str]] = (
            404,
            "application/json",
            b'{"message": "Not Found"}',
            {},
        )
        if len(parts) == 3 and parts[0] == "pypi" and parts[2] == "json":
            doc = self.projects.get(parts[1])
            if doc is None:
                return notfound
            return 200, "application/json", json.dumps(doc).encode(), {}
        if len(parts) == 4 and parts[0] == "pypi" and parts[3] == "json":
            doc = self.projects.get(parts[1])
            if doc is None or not self.per_version_json or parts[2] not in doc.get("releases", {}):
                return notfound
            version_doc = {**doc, "info": {**doc["info"], "version": parts[2]}}
            return 200, "application/json", json.dumps(version_doc).encode(), {}
        if len(parts) == 2 and parts[0] == "simple":
            doc = self.projects.get(parts[1])
            if doc is None:
                return notfound
            return 200, "application/vnd.pypi.simple.v1+json", self._simple(doc), {}
        if len(parts) == 2 and parts[0] == "files" and parts[1] in self.files:
            wanted = None if ignore_range else request.headers.get("range")
            return _ranged(self.files[parts[1]], wanted)
        if len(parts) == 2 and parts[0] == "files" and parts[1].endswith(".metadata"):
            data = self.metadata.get(parts[1].removesuffix(".metadata"))
            if data is None:
                return notfound
            return 200, "application/octet-stream", data, {}
        return notfound

    def _simple(self, doc: Mapping[str, Any]) -> bytes:
        name = doc["info"]["name"]
        base = self.files_url or self.url
        files: list[dict[str, Any]] = []
        for version, release_files in doc.get("releases", {}).items():
            yanked = bool(release_files) and all(f.get("yanked") for f in release_files)
            filename = wheel_filename(name, version)
            files.append(
                {
                    "filename": filename,
                    "url": f"{base}/files/{filename}",
                    "hashes": {},
                    "requires-python": (
                        release_files[0].get("requires_python") if release_files else None
                    ),
                    "yanked": yanked,
                    "core-metadata": filename in self.metadata,
                }
            )
        listed = {f["filename"] for f in files}
        prefix = re.sub(r"[-_.]+", "_", name).lower() + "-"
        for filename in self.files:
            if filename.lower().startswith(prefix) and filename not in listed:
                files.append({"filename": filename, "url": f"{base}/files/{filename}"})
        for entry in files:
            data = self.files.get(entry["filename"])
            if data is not None:
                entry["hashes"] = {"sha256": hashlib.sha256(data).hexdigest()}
                entry["size"] = len(data)
        return json.dumps(
            {
                "meta": {"api-version": "1.1"},
                "name": name,
                "files": files,
                "versions": list(doc.get("releases", {})),
            }
        ).encode()

    async def _fault(self, stream: anyio.abc.ByteStream, request: Request, fault: Fault) -> bool:
        kind = fault.kind
        if kind == "hang":
            await anyio.sleep_forever()
        if kind == "status":
            extra = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            await self._send(stream, fault.status, "application/json", b'{"message": "x"}', extra)
            return True
        if kind in ("reset", "close"):
            await self._send_head(stream, 200, "application/json", 10_000)
            await stream.send(b'{"info": {"name": "partial')
            if kind == "reset":
                raw = stream.extra(anyio.abc.SocketAttribute.raw_socket, None)
                if raw is not None:
                    raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return False
        if kind in _CANNED:
            ctype, body = _CANNED[kind]
            await self._send(stream, 200, ctype, body)
            return True
        if kind == "huge":
            await self._send_head(stream, 200, "application/json", None)
            chunk = b" " * 65536
            sent = 0
            while sent < fault.size:
                await stream.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
            await stream.send(b"0\r\n\r\n")
            return True
        if kind == "bomb":
            body = gzip.compress(b"{" + b" " * fault.size + b"}", compresslevel=9)
            await self._send(stream, 200, "application/json", body, {"Content-Encoding": "gzip"})
            return True
        # redirect
        location = fault.location or request.path
        await self._send(stream, 302, None, b"", {"Location": location})
        return True


_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def _ranged(data: bytes, wanted: str | None) -> tuple[int, str | None, bytes, dict[str, str]]:
    """Answer a GET of a release file, honouring a single byte range as RFC 9110 §14 says."""
    ctype = "application/octet-stream"
    size = len(data)
    match = _RANGE.fullmatch(wanted.strip()) if wanted else None
    if match is None or (not match[1] and not match[2]):
        # No Range, or one we do not support (several ranges): the whole file, as RFC allows.
        return 200, ctype, data, {"Accept-Ranges": "bytes"}
    if not match[1]:
        length = int(match[2])
        first, last = max(0, size - length), size - 1
        satisfiable = length > 0 and size > 0
    else:
        first = int(match[1])
        last = min(int(match[2]), size - 1) if match[2] else size - 1
        satisfiable = first < size and (not match[2] or int(match[2]) >= first)
    if not satisfiable:
        return 416, None, b"", {"Content-Range": f"bytes */{size}"}
    return (
        206,
        ctype,
        data[first : last + 1],
        {"Content-Range": f"bytes {first}-{last}/{size}", "Accept-Ranges": "bytes"},
    )
