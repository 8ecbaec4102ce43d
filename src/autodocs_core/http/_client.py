"""One shared httpx client per service: limits, timeouts, TLS, bounded bodies, safe redirects.

Each method makes exactly **one** attempt and raises :mod:`autodocs_core.errors` errors; retries,
breakers and deadlines are the caller's (:class:`~autodocs_core.resilience.Resilience`), so that
the whole attempt, body included, runs under the caller's deadline. httpx's read timeout is per
read and cannot stop a server that trickles one byte at a time; the deadline does.
"""

from __future__ import annotations

import json
import math
import ssl
import zlib
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Final, Self

import attrs
import httpx

from ..errors import (
    ConfigError,
    EstimateTimeout,
    MalformedResponse,
    ResponseTooLarge,
    UpstreamClientError,
    UpstreamTimeout,
    redact_url,
)
from ..resilience import SYSTEM_CLOCK, AdaptiveTimeout, Clock
from ._auth import Credentials
from ._errors import classify_exception, classify_response
from ._range import RangeBody, range_header, range_redirect, read_range, shown_url
from ._tls import make_ssl_context

__all__ = [
    "DEFAULT_HEADER_TIMEOUT_INITIAL",
    "DEFAULT_HEADER_TIMEOUT_MINIMUM",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "ROUTE_ARTIFACT",
    "ROUTE_METADATA",
    "ROUTE_OTHER",
    "ROUTE_PROJECT",
    "ROUTE_SIMPLE",
    "HttpClient",
    "HttpConfig",
    "Origin",
    "origin_of",
    "route_of",
]

DEFAULT_MAX_RESPONSE_BYTES = 20 * 1024 * 1024
"""Default cap on a response body, counted after decompression (20 MiB)."""

_JSON_TYPES = frozenset({"application/json"})

DEFAULT_HEADER_TIMEOUT_INITIAL: Final = 1.0
"""Seconds allowed for the response headers before any latency has been observed.

Low, because a timeout doubles it (1, 2, 4, 8 s, up to the read timeout): an index that always
needs 3.2 s is answered on the third attempt (1 + 2 + 3.2 = 6.2 s), while a hang on a fresh
server costs 1 s instead of the former fixed 3 s.

.. versionadded:: 0.2.0
"""

DEFAULT_HEADER_TIMEOUT_MINIMUM: Final = 0.5
"""The lowest adaptive header timeout (a fast index's hang is detected after 0.5 s).

.. versionadded:: 0.2.0
"""

ROUTE_PROJECT: Final = "project"
"""Route class of JSON API project and per-version documents (``/pypi/{name}[/{version}]/json``)."""
ROUTE_SIMPLE: Final = "simple"
"""Route class of simple API (PEP 503/691) project pages (``/simple/{name}/``)."""
ROUTE_METADATA: Final = "metadata"
"""Route class of core-metadata files published beside a distribution (PEP 658, ``.metadata``)."""
ROUTE_ARTIFACT: Final = "artifact"
"""Route class of distribution files (wheels, sdists) and range reads of them."""
ROUTE_OTHER: Final = "other"
"""Route class of anything else."""

_ARTIFACT_SUFFIXES = (".whl", ".tar.gz", ".zip", ".tar.bz2", ".tgz", ".egg")
_MAX_ESTIMATES = 256


def route_of(url: httpx.URL | str) -> str:
    """Return the route class of *url*, from its path.

    The adaptive header timeout keeps one estimate per origin and route class, so that a slow
    kind of resource (large metadata files, say) cannot raise or lower the timeout of another.

    .. versionadded:: 0.2.0
    """
    path = httpx.URL(url).path
    if path.endswith(".metadata"):
        return ROUTE_METADATA
    if path.endswith(_ARTIFACT_SUFFIXES):
        return ROUTE_ARTIFACT
    if "/simple/" in path:
        return ROUTE_SIMPLE
    if "/pypi/" in path and path.endswith("/json"):
        return ROUTE_PROJECT
    return ROUTE_OTHER


Origin = tuple[str, str, int]
"""(scheme, host, port): what credentials, redirects and breakers are keyed by."""


def origin_of(url: httpx.URL | str) -> Origin:
    """Return the (scheme, host, port) of *url*, with the scheme's default port filled in."""
    u = httpx.URL(url)
    port = u.port or (443 if u.scheme == "https" else 80)
    return (u.scheme, u.host, port)


def _positive(_: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise ConfigError(
            f"{attribute.name} must be a number > 0, got {value!r}",
            details={"setting": attribute.name, "value": repr(value)},
        )


@attrs.frozen
class HttpConfig:
    """Settings of the shared HTTP client.

    Args:
        max_connections: Connections per client (callers beyond it queue for the pool; on these
            machines 10 connections beat 50 by 5×).
        connect_timeout: Seconds to establish a connection.
        read_timeout: Upper bound on waiting for response headers and on each body read: the
            ceiling the adaptive header timeout may escalate to.
        write_timeout: Seconds to send the request.
        pool_timeout: Seconds to wait for a free connection.
        header_timeout: Template of the adaptive timeout for the response headers, or
            ``None`` to use ``read_timeout`` as it is. The client keeps one estimate per origin
            and route class (see :func:`route_of`), spawned from this template with
            ``read_timeout`` as its ceiling. Default: initial
            :data:`DEFAULT_HEADER_TIMEOUT_INITIAL`, minimum
            :data:`DEFAULT_HEADER_TIMEOUT_MINIMUM`, doubling on each timeout.
        max_response_bytes: Cap on a body, after decompression.
        max_redirects: Redirect hops followed: same origin only for index requests; any
            http(s) origin for artifact range reads (no credentials, no https -> http).
        min_transfer_rate: After ``min_rate_grace`` seconds of body, an answer arriving slower
            than this many bytes per second is cut as a (retryable) timeout.
        min_rate_grace: Seconds of body transfer before the rate is checked.
        ca_bundle: PEM file of CA certificates to trust instead of the OS trust store.
        trust_env: Honour ``HTTP(S)_PROXY`` / ``NO_PROXY`` from the environment.
        user_agent: The ``User-Agent`` header.

    .. versionadded:: 0.1.0
    """

    max_connections: int = attrs.field(default=10, validator=_positive)
    connect_timeout: float = attrs.field(default=5.0, validator=_positive)
    read_timeout: float = attrs.field(default=10.0, validator=_positive)
    write_timeout: float = attrs.field(default=5.0, validator=_positive)
    pool_timeout: float = attrs.field(default=10.0, validator=_positive)
    header_timeout: AdaptiveTimeout | None = attrs.field(eq=False)
    max_response_bytes: int = attrs.field(default=DEFAULT_MAX_RESPONSE_BYTES, validator=_positive)
    max_redirects: int = attrs.field(default=3, validator=attrs.validators.ge(0))
    min_transfer_rate: int = attrs.field(default=4096, validator=attrs.validators.ge(0))
    min_rate_grace: float = attrs.field(default=2.0, validator=_positive)
    ca_bundle: str | None = None
    trust_env: bool = True
    user_agent: str = "autodocs-mcp-server"

    @header_timeout.default
    def _default_header_timeout(self) -> AdaptiveTimeout:
        initial = min(DEFAULT_HEADER_TIMEOUT_INITIAL, self.read_timeout)
        return AdaptiveTimeout(
            initial=initial,
            minimum=min(DEFAULT_HEADER_TIMEOUT_MINIMUM, initial),
            maximum=self.read_timeout,
        )


class _BoundedDecoder:
    """Decompresses a body with a hard cap on the output, whatever the compression ratio."""

    def __init__(self, encoding: str, limit: int, url: str) -> None:
        self.limit = limit
        self.url = url
        self.size = 0
        self.parts: list[bytes] = []
        encoding = encoding.strip().lower()
        if encoding in ("", "identity"):
            self._z: Any = None
        elif encoding in ("gzip", "x-gzip"):
            self._z = zlib.decompressobj(wbits=31)
        elif encoding == "deflate":
            self._z = zlib.decompressobj(wbits=47)  # zlib or gzip header, auto-detected
        else:
            raise MalformedResponse(
                f"The index used an unsupported content encoding '{encoding[:40]}'", url=url
            )

    def _keep(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.limit:
            raise ResponseTooLarge(self.limit, url=self.url)
        self.parts.append(data)

    def feed(self, chunk: bytes) -> None:
        if self._z is None:
            self._keep(chunk)
            return
        data = chunk
        try:
            while data:
                out = self._z.decompress(data, self.limit - self.size + 1)
                self._keep(out)
                data = self._z.unconsumed_tail
        except zlib.error as exc:
            raise MalformedResponse("The index's compressed body is corrupt", url=self.url) from exc

    def finish(self) -> bytes:
        if self._z is not None:
            try:
                self._keep(self._z.flush())
            except zlib.error as exc:  # pragma: no cover - flush rarely fails after decompress
                raise MalformedResponse(
                    "The index's compressed body is corrupt", url=self.url
                ) from exc
            if not self._z.eof:
                raise MalformedResponse(
                    "The index's compressed body ended early (truncated)", url=self.url
                )
        return b"".join(self.parts)


_UNDECODED: Any = object()


@attrs.frozen
class Body:
    """A complete, size-checked, decompressed response body.

    Attributes:
        url: The final URL (after redirects), credentials redacted.
        content_type: The media type, lower-cased, without parameters.
        data: The bytes.
        header_seconds: How long the upstream took to send the response headers, measured
            from when the request was written (connection-pool waits and connecting
            excluded), when known.

    .. versionchanged:: 0.2.0
       ``header_seconds``.
    """

    url: str
    content_type: str
    data: bytes
    header_seconds: float | None = attrs.field(default=None, kw_only=True, eq=False)
    _decoded: Any = attrs.field(default=_UNDECODED, init=False, eq=False, repr=False)

    def json(self) -> Any:
        """Decode the body as UTF-8 JSON; anything else is a :class:`MalformedResponse`.

        The value is decoded once and kept: the index client decodes inside the retried attempt
        (so that a truncated or garbled body is retried), and its caller reads it again.
        """
        if self._decoded is not _UNDECODED:
            return self._decoded
        try:
            value = json.loads(self.data.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise MalformedResponse(
                "The index's response is not valid UTF-8", url=self.url
            ) from exc
        except RecursionError as exc:  # json.loads on deeply nested arrays/objects
            raise MalformedResponse(
                "The index's response is nested too deeply to decode", url=self.url
            ) from exc
        except ValueError as exc:
            raise MalformedResponse(
                "The index's response is not valid JSON (truncated or not JSON)",
                url=self.url,
                details={"reason": str(exc)[:200]},
            ) from exc
        object.__setattr__(self, "_decoded", value)  # a memo on a frozen value object
        return value

    def text(self) -> str:
        """Decode the body as UTF-8; invalid bytes are a :class:`MalformedResponse`."""
        try:
            return self.data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedResponse(
                "The index's response is not valid UTF-8", url=self.url
            ) from exc


class HttpClient:
    """The service's one ``httpx.AsyncClient``, opened and closed by ``async with``.

    Args:
        config: Limits, timeouts, TLS and size settings.
        credentials: Sent only to the credentials' origin, never logged.
        transport: An httpx transport for tests (``httpx.MockTransport``); the pool limits are
            then the transport's own business.
        clock: Time source for measuring latency (inject a fake one in tests).

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       ``clock``; one adaptive header timeout per origin and route class, escalating on timeouts.
    """

    def __init__(
        self,
        config: HttpConfig | None = None,
        *,
        credentials: Credentials | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.config = config or HttpConfig()
        self.credentials = credentials
        self.clock = clock
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._estimates: OrderedDict[tuple[Origin, str], AdaptiveTimeout] = OrderedDict()

    async def __aenter__(self) -> Self:
        cfg = self.config
        verify: ssl.SSLContext | bool = make_ssl_context(cfg.ca_bundle)
        limits = httpx.Limits(
            max_connections=cfg.max_connections, max_keepalive_connections=cfg.max_connections
        )
        self._client = httpx.AsyncClient(
            verify=verify,
            limits=limits,
            timeout=self._timeout(cfg.read_timeout),
            follow_redirects=False,
            trust_env=cfg.trust_env,
            transport=self._transport,
            headers={"User-Agent": cfg.user_agent, "Accept-Encoding": "gzip, deflate"},
        )
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _timeout(self, read: float) -> httpx.Timeout:
        cfg = self.config
        return httpx.Timeout(
            connect=cfg.connect_timeout,
            read=read,
            write=cfg.write_timeout,
            pool=cfg.pool_timeout,
        )

    def header_timeout_for(self, url: str, route: str | None = None) -> AdaptiveTimeout | None:
        """Return the adaptive header timeout of *url*'s origin and *route* class.

        Args:
            url: Any URL of the origin.
            route: The route class (default: :func:`route_of` the URL).

        Returns:
            The estimate (created on first use), or ``None`` when adaptive timeouts are off.

        .. versionadded:: 0.2.0
        """
        template = self.config.header_timeout
        if template is None:
            return None
        key = (origin_of(url), route if route is not None else route_of(url))
        found = self._estimates.get(key)
        if found is None:
            found = template.spawn(maximum=min(template.maximum, self.config.read_timeout))
            self._estimates[key] = found
            while len(self._estimates) > _MAX_ESTIMATES:
                self._estimates.popitem(last=False)
        else:
            self._estimates.move_to_end(key)
        return found

    async def get(
        self,
        url: str,
        *,
        accept: tuple[str, ...] = ("application/json",),
        route: str | None = None,
        min_header_timeout: float = 0.0,
        on_sent: Callable[[], object] | None = None,
    ) -> Body:
        """GET *url* once and return its complete body.

        Args:
            url: The URL.
            accept: Acceptable media types (``"*/*"`` accepts any).
            route: The route class of the request, which selects the adaptive header timeout
                (default: :func:`route_of` the URL).
            min_header_timeout: Seconds the headers are allowed at least, whatever the estimate
                says (capped by ``read_timeout``); a retry after a header timeout passes twice
                the timeout that expired.
            on_sent: Called once the request is on the wire (after any wait for a pooled
                connection and the connect), so that a hedge timer measures the upstream and
                not our queue. With a custom transport (which may not report it), called when
                the request is handed to the transport.

        Raises:
            AutodocsError: Classified failures: HTTP errors by status, timeouts, connection
                failures, TLS failures, a body over the cap, a wrong content type, a redirect
                to another origin or too many redirects. A timeout waiting for the headers has
                ``details["phase"] == "headers"`` and ``details["timeout_seconds"]``.

        .. versionchanged:: 0.2.0
           ``route``, ``min_header_timeout`` and ``on_sent``.
        """
        client = self._client
        if client is None:
            raise RuntimeError("HttpClient is not open: use 'async with HttpClient(...)'")
        current = httpx.URL(url)
        start_origin = origin_of(current)
        header_timeout = self.header_timeout_for(url, route)
        clock = self.clock
        for _hop in range(self.config.max_redirects + 1):
            headers = {"Accept": ", ".join(accept)}
            if self.credentials is not None and origin_of(current) == self.credentials.origin:
                headers["Authorization"] = self.credentials.header()
            ceiling = self.config.read_timeout
            read = ceiling
            if header_timeout is not None:
                read = min(ceiling, max(header_timeout.current(), min_header_timeout))
            request = client.build_request(
                "GET", current, headers=headers, timeout=self._timeout(read)
            )
            started = clock.now()
            seen = header_timeout.observations if header_timeout is not None else 0
            sent = _SentAt(clock, on_sent)
            request.extensions["trace"] = sent.trace
            if on_sent is not None and not isinstance(
                self._transport, httpx.AsyncHTTPTransport | None
            ):
                sent.fire()  # a custom transport may not report; count it as sent now
            try:
                response = await client.send(request, stream=True)
            except httpx.ReadTimeout as exc:
                # No headers in time: the estimate was too low (RFC 6298 §5.5, back it off).
                if header_timeout is not None:
                    header_timeout.on_timeout(read, observations=seen)
                error = _translate(exc)
                if isinstance(error, UpstreamTimeout):
                    error.details.update(phase="headers", timeout_seconds=read)
                    if read < ceiling:  # only our estimate expired: see EstimateTimeout
                        error = EstimateTimeout(
                            error.message, details=error.details, suggestions=error.suggestions
                        )
                raise error from exc
            except (httpx.HTTPError, OSError) as exc:  # OS errors a transport let through
                raise _translate(exc) from exc
            try:
                # The upstream's latency, not our queue: timed from when the request was
                # written when the transport says so (httpcore's trace), else from the send.
                latency = clock.now() - (sent.at if sent.at is not None else started)
                if header_timeout is not None:
                    header_timeout.observe(latency)
                if response.is_redirect:
                    current = self._redirect_target(response, start_origin)
                    continue
                body = await self._read(response, accept)
                return attrs.evolve(body, header_seconds=latency)
            finally:
                await response.aclose()
        raise UpstreamClientError(
            310,
            url=url,
            details={"reason": f"more than {self.config.max_redirects} redirects (a loop?)"},
            suggestions=("Check AUTODOCS_INDEX_URL: the index keeps redirecting.",),
        )

    async def probe(self, url: str, *, wait: float = 3.0) -> int:
        """Send one small ``HEAD`` request (no body, no redirects) and return the status code.

        Raises:
            AutodocsError: Classified connection, timeout and TLS failures.
        """
        client = self._client
        if client is None:
            raise RuntimeError("HttpClient is not open: use 'async with HttpClient(...)'")
        headers = {}
        if self.credentials is not None and origin_of(url) == self.credentials.origin:
            headers["Authorization"] = self.credentials.header()
        try:
            response = await client.head(url, headers=headers, timeout=wait)
        except (httpx.HTTPError, OSError) as exc:  # OS errors a transport let through
            raise _translate(exc) from exc
        return response.status_code

    async def get_range(
        self, url: str, *, start: int | None = None, end: int | None = None, max_bytes: int
    ) -> RangeBody:
        """GET part of a file (or all of it) once, for release artifacts (wheels, sdists).

        ``start=None, end=None`` reads the whole file; ``start=None, end=n`` its last *n* bytes;
        ``start=a, end=b`` bytes *a* to *b* inclusive; ``start=a, end=None`` from *a* on. The
        request asks for ``Accept-Encoding: identity`` (offsets are raw bytes) and accepts any
        content type. A server that ignores ``Range`` answers 200 with the whole file: that is
        returned with ``partial=False``, under *max_bytes* like any body.

        Redirects: artifact files often live on another host (a public index's file host, a
        private index's presigned object-store URLs), so up to ``max_redirects`` redirects to
        other origins are followed. Credentials go only to the credentials' own origin, and only
        while every hop so far stayed on it: once a redirect leaves that origin, no later hop
        carries them, even one that comes back. A redirect from ``https`` to ``http``, or to
        any other scheme, is refused. The header timeout learnt from the index is not used
        here (the file host is another upstream): the read timeout applies.

        Args:
            url: The file's URL.
            start: First byte wanted, or ``None`` for a suffix or the whole file.
            end: Last byte wanted (inclusive), or the suffix length when *start* is ``None``.
            max_bytes: Cap on the body (checked against ``Content-Length`` before reading).

        Returns:
            The bytes, where they sit in the file and the file's size when known.

        Raises:
            InvalidInputError: For an impossible range.
            UpstreamClientError: On 416 (the range lies outside the file), a refused redirect
                or too many redirects, and other 4xx statuses.
            MalformedResponse: For a 206 whose ``Content-Range`` is missing, inconsistent or
                not the range asked for, a body whose length disagrees with it, or a
                compressed partial body.
            ResponseTooLarge: For a body over *max_bytes*.
            AutodocsError: The classified failures of :meth:`get` (timeouts, 5xx, TLS...).

        .. versionadded:: 0.2.0
        """
        client = self._client
        if client is None:
            raise RuntimeError("HttpClient is not open: use 'async with HttpClient(...)'")
        wanted = range_header(start, end)
        current = httpx.URL(url)
        creds = self.credentials
        trusted = creds is not None and origin_of(current) == creds.origin
        left_origin = False
        for _hop in range(self.config.max_redirects + 1):
            headers = {"Accept": "*/*", "Accept-Encoding": "identity"}
            if wanted is not None:
                headers["Range"] = wanted
            if creds is not None and trusted and origin_of(current) == creds.origin:
                headers["Authorization"] = creds.header()
            shown = shown_url(current, redirected=left_origin)
            request = client.build_request("GET", current, headers=headers)
            try:
                response = await client.send(request, stream=True)
            except httpx.HTTPError as exc:
                raise _translate(exc) from exc
            try:
                if response.is_redirect:
                    target = range_redirect(response, shown)
                    if origin_of(target) != origin_of(current):
                        left_origin = True
                    if creds is not None and origin_of(target) != creds.origin:
                        trusted = False
                    current = target
                    continue
                return await read_range(response, shown, start, end, max_bytes, self._read_body)
            finally:
                await response.aclose()
        raise UpstreamClientError(
            310,
            url=redact_url(url),
            details={"reason": f"more than {self.config.max_redirects} redirects (a loop?)"},
            suggestions=("The file host keeps redirecting; try again later.",),
        )

    def _redirect_target(self, response: httpx.Response, start: Origin) -> httpx.URL:
        location = response.headers.get("location")
        if not location:
            raise MalformedResponse(
                "The index sent a redirect without a Location", url=str(response.url)
            )
        target = response.url.join(location)
        if origin_of(target) != start:
            raise UpstreamClientError(
                response.status_code,
                url=str(response.url),
                details={
                    "reason": "redirect to another host refused",
                    "location": redact_url(str(target)),
                },
                suggestions=(
                    "The index redirected to another host; set AUTODOCS_INDEX_URL to the final "
                    "index URL if that host is trusted.",
                ),
            )
        return target

    async def _read(self, response: httpx.Response, accept: tuple[str, ...]) -> Body:
        url = redact_url(str(response.url))
        error = classify_response(response.status_code, response.headers, url=url)
        if error is not None:
            raise error
        ctype = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if "*/*" not in accept and ctype not in accept:
            raise MalformedResponse(
                f"The index answered with content type '{ctype[:60] or 'none'}', expected "
                f"{' or '.join(accept)}",
                url=url,
                details={"content_type": ctype[:60]},
                suggestions=(
                    "AUTODOCS_INDEX_URL may point at a web page or a login portal rather than "
                    "a package index.",
                ),
            )
        data = await self._read_body(response, url, self.config.max_response_bytes)
        return Body(url, ctype, data)

    async def _read_body(self, response: httpx.Response, url: str, limit: int) -> bytes:
        """Read a complete body under *limit* bytes (raw and decoded) and the minimum rate."""
        declared = response.headers.get("content-length")
        if (
            declared is not None
            and declared.isdigit()
            and int(declared) > limit
            and response.headers.get("content-encoding", "identity") == "identity"
        ):
            raise ResponseTooLarge(limit, url=url)
        if response.is_stream_consumed:
            # Already in memory and decoded (httpx reads in-memory bodies eagerly, as a
            # MockTransport's are): only the size check applies.
            decoder = _BoundedDecoder("identity", limit, url)
            decoder.feed(response.content)
            return decoder.finish()
        decoder = _BoundedDecoder(response.headers.get("content-encoding", ""), limit, url)
        raw = 0
        started = _now()
        grace = self.config.min_rate_grace
        min_rate = self.config.min_transfer_rate
        try:
            async for chunk in response.aiter_raw():
                raw += len(chunk)
                if raw > limit:
                    raise ResponseTooLarge(limit, url=url)
                decoder.feed(chunk)
                elapsed = _now() - started
                if elapsed > grace and raw < min_rate * elapsed:
                    # A trickling body would hold the call until its deadline and then fail;
                    # cut the attempt instead, so that a retry can reach a healthy answer.
                    raise UpstreamTimeout(
                        f"The index's answer trickles ({raw / elapsed:.0f} bytes/s, below "
                        f"{min_rate} bytes/s)",
                        url=url,
                        details={"bytes": raw, "seconds": round(elapsed, 3), "phase": "body"},
                    )
        except (httpx.HTTPError, OSError) as exc:  # OS errors a transport let through
            raise _translate(exc) from exc
        return decoder.finish()


class _SentAt:
    """httpcore trace hook: remembers when the request headers started to be written."""

    __slots__ = ("at", "callback", "clock")

    def __init__(self, clock: Clock, callback: Callable[[], object] | None = None) -> None:
        self.clock = clock
        self.callback = callback
        self.at: float | None = None

    def fire(self) -> None:
        callback, self.callback = self.callback, None
        if callback is not None:
            callback()

    async def trace(self, event: str, info: dict[str, Any]) -> None:
        if event.endswith("send_request_headers.started"):
            self.at = self.clock.now()
            self.fire()


def _now() -> float:
    import time

    return time.monotonic()


def _translate(exc: Exception) -> Exception:
    """Translate at the edge, once: the retry loop above sees only autodocs errors."""
    found = classify_exception(exc)
    return found if found is not None else exc
