"""Turn httpx and OS exceptions and HTTP statuses into :mod:`autodocs_core.errors` errors.

The one place that knows how httpx and the operating system report network failures, and what
HTTP statuses mean: translation happens here, once, at the I/O edge (``HttpClient`` raises
only autodocs errors), so that the resilience layer knows nothing of HTTP. DNS failures and
refused connections both arrive as ``httpx.ConnectError``; the chain of causes tells them apart.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator, Mapping

import httpx

from ..errors import (
    AutodocsError,
    MalformedResponse,
    NotFoundError,
    RateLimited,
    TLSError,
    UpstreamClientError,
    UpstreamConnectError,
    UpstreamError,
    UpstreamNetworkError,
    UpstreamServerError,
    UpstreamTimeout,
    redact_url,
)
from ..resilience import DEFAULT_MAX_RETRY_AFTER, parse_retry_after

__all__ = ["classify_exception", "classify_response"]

_TLS_MARKERS = ("CERTIFICATE_VERIFY_FAILED", "certificate verify failed", "SSL:")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """Yield *exc*, its causes/contexts and the members of exception groups, each once.

    (trio reports "all connection attempts failed" as an ExceptionGroup of the real errors.)
    """
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo and len(seen) < 64:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, BaseExceptionGroup):
            todo.extend(current.exceptions)
        link = current.__cause__ or current.__context__
        if link is not None:
            todo.append(link)


def _connect_reason(exc: BaseException) -> str:
    for link in _chain(exc):
        if isinstance(link, socket.gaierror):
            return "dns"
        if isinstance(link, ConnectionRefusedError):
            return "refused"
    text = str(exc).lower()
    if (
        "name or service not known" in text
        or "nodename nor servname" in text
        or "temporary failure in name resolution" in text
        or "getaddrinfo" in text
    ):
        return "dns"
    if "connection refused" in text or "errno 111" in text:
        return "refused"
    return "connect"


def _is_tls(exc: BaseException) -> bool:
    for link in _chain(exc):
        if isinstance(link, ssl.SSLError):
            return True
        text = str(link)
        if any(marker in text for marker in _TLS_MARKERS):
            return True
    return False


def _url_of(exc: BaseException) -> str | None:
    request = getattr(exc, "_request", None)
    url = getattr(request, "url", None)
    return redact_url(str(url)) if url is not None else None


def _tls_error(exc: BaseException, url: str | None) -> TLSError:
    reason = next((str(link) for link in _chain(exc) if isinstance(link, ssl.SSLError)), str(exc))
    return TLSError(
        "The index's TLS certificate could not be verified",
        url=url,
        details={"reason": reason[:300]},
    )


def _classify_os_error(exc: BaseException, url: str | None) -> AutodocsError | None:
    if isinstance(exc, ssl.SSLError):
        return _tls_error(exc, url)
    if isinstance(exc, socket.gaierror):
        return UpstreamConnectError(
            "Could not resolve the index's host name", url=url, details={"reason": "dns"}
        )
    if isinstance(exc, ConnectionRefusedError):
        return UpstreamConnectError(
            "The index refused the connection", url=url, details={"reason": "refused"}
        )
    if isinstance(exc, TimeoutError):
        return UpstreamTimeout("The index did not answer in time", url=url)
    if isinstance(exc, (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)):
        return UpstreamNetworkError(
            "The connection to the index was reset", url=url, details={"reason": "reset"}
        )
    if isinstance(exc, UnicodeDecodeError):
        return MalformedResponse("The index's response is not valid UTF-8", url=url)
    return None


def _classify_httpx(exc: BaseException) -> AutodocsError | None:
    if not isinstance(exc, httpx.HTTPError):
        return None
    url = _url_of(exc)
    if isinstance(exc, httpx.TimeoutException):
        phase = {
            httpx.ConnectTimeout: "connect",
            httpx.ReadTimeout: "read",
            httpx.WriteTimeout: "write",
            httpx.PoolTimeout: "pool",
        }.get(type(exc), "unknown")
        return UpstreamTimeout(
            f"The index did not answer in time ({phase})", url=url, details={"phase": phase}
        )
    if isinstance(exc, httpx.ConnectError):
        if _is_tls(exc):
            return _tls_error(exc, url)
        reason = _connect_reason(exc)
        message = {
            "dns": "Could not resolve the index's host name",
            "refused": "The index refused the connection",
        }.get(reason, "Could not connect to the index")
        return UpstreamConnectError(message, url=url, details={"reason": reason})
    if isinstance(
        exc, (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError, httpx.CloseError)
    ):
        return UpstreamNetworkError(
            "The connection to the index broke during the exchange",
            url=url,
            details={"reason": type(exc).__name__},
        )
    if isinstance(exc, httpx.DecodingError):
        return MalformedResponse("The index's response could not be decoded", url=url)
    if isinstance(exc, httpx.TooManyRedirects):
        return UpstreamClientError(310, url=url, details={"reason": "too many redirects"})
    if isinstance(exc, httpx.HTTPStatusError):
        return classify_response(exc.response.status_code, exc.response.headers, url=url)
    return UpstreamError(f"HTTP failure talking to the index ({type(exc).__name__})", url=url)


def classify_exception(exc: BaseException) -> AutodocsError | None:
    """Translate *exc* into an :class:`AutodocsError`, or return ``None`` when it is unknown.

    An :class:`AutodocsError` is returned as it is. httpx errors and OS errors (timeouts, DNS,
    refused, reset, TLS) become upstream errors. Anything else (a bug, cancellation) gives
    ``None``: the caller must let it propagate unchanged. Pass it as
    ``Resilience(classify=classify_exception)`` to translate at the retry loop instead.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       Moved from :mod:`autodocs_core.resilience` to :mod:`autodocs_core.http`.
    """
    if isinstance(exc, AutodocsError):
        return exc
    found = _classify_httpx(exc)
    if found is not None:
        return found
    if isinstance(exc, OSError | UnicodeDecodeError):
        return _classify_os_error(exc, None)
    return None


def classify_response(
    status: int,
    headers: Mapping[str, str] | None = None,
    *,
    url: str | None = None,
    now_wall: float | None = None,
    max_retry_after: float = DEFAULT_MAX_RETRY_AFTER,
) -> AutodocsError | None:
    """Translate an HTTP status into an error; ``None`` for a success (below 400).

    ``Retry-After`` is read (both forms) on 429 and 5xx answers; a value that names no
    positive wait (garbage, zero, negative, a past date) is ignored, so the retry loop falls
    back to its computed backoff.

    Args:
        status: The HTTP status code.
        headers: The response headers (any case-insensitive mapping, or a plain dict).
        url: The request URL (credentials are redacted).
        now_wall: Wall-clock time for HTTP-date ``Retry-After`` values (default: now).
        max_retry_after: Cap on the honoured ``Retry-After``, in seconds.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       Moved from :mod:`autodocs_core.resilience` to :mod:`autodocs_core.http`.
    """
    if status < 400:
        return None
    safe_url = redact_url(url) if url is not None else None

    def retry_after() -> float | None:
        if headers is None:
            return None
        raw = headers.get("retry-after") or headers.get("Retry-After")
        if now_wall is None:
            import time

            wall = time.time()
        else:
            wall = now_wall
        return parse_retry_after(raw, now_wall=wall, cap=max_retry_after)

    if status == 429:
        return RateLimited(
            "The index is rate limiting requests (HTTP 429)",
            retry_after=retry_after(),
            url=safe_url,
        )
    if status in (404, 410):
        return NotFoundError(
            f"The index has no such resource (HTTP {status})",
            details={"status_code": status, "url": safe_url},
        )
    if status == 408:
        return UpstreamTimeout("The index timed out reading the request (HTTP 408)", url=safe_url)
    if status >= 500:
        return UpstreamServerError(status, retry_after=retry_after(), url=safe_url)
    return UpstreamClientError(status, url=safe_url)
