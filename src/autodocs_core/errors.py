"""The one exception hierarchy of autodocs.

Every failure that autodocs reports is an :class:`AutodocsError`. Each error carries a stable
machine code (``error_type``), a human ``message``, structured ``details``, ``suggestions`` and
``recovery_actions`` that a person or an AI assistant can act on, and two class-level facts that the
resilience layer acts on: whether the error is worth retrying (``retryable``) and what it says about
the upstream's health (``breaker_outcome``: ``"failure"``, ``"success"`` or ``"ignore"``)::

    AutodocsError                    error_type               retryable  breaker
    ├── InvalidInputError            invalid_input            no         ignore
    ├── ConfigError                  config_error             no         ignore
    ├── CacheError                   cache_error              no         ignore
    ├── NotFoundError                not_found                no         success
    │   ├── PackageNotFoundError     package_not_found        no         success
    │   └── VersionNotFoundError     version_not_found        no         success
    ├── UpstreamError                upstream_error           yes        failure
    │   ├── UpstreamTimeout          timeout                  yes        failure
    │   │   └── EstimateTimeout      timeout                  yes        ignore
    │   ├── UpstreamNetworkError     network_error            yes        failure
    │   │   └── UpstreamConnectError connect_error            yes        failure
    │   ├── TLSError                 tls_error                no         ignore
    │   ├── RateLimited              rate_limited             yes        ignore
    │   ├── UpstreamServerError      upstream_5xx             yes        failure
    │   ├── UpstreamClientError      upstream_4xx             no         success
    │   ├── ResponseTooLarge         response_too_large       no         ignore
    │   └── MalformedResponse        malformed_response       yes        failure
    ├── InternalError                internal_error           no         ignore
    ├── CircuitOpenError             circuit_open             no         ignore
    ├── DeadlineExceeded             deadline_exceeded        no         ignore
    └── RetryBudgetExhausted         retry_budget_exhausted   no         ignore

``to_payload()`` gives exactly ``{"error", "error_type", "details", "suggestions",
"recovery_actions"}``, the format that the MCP tools return as their error text.

Rate limiting does not count against the breaker: a server that answers 429 is alive and says
exactly when to come back, which the retry loop honours. A 404 or another 4xx proves that the
upstream answers, so it counts as a success for a half-open probe.
"""

from __future__ import annotations

import math
import re
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, Literal

__all__ = [
    "AutodocsError",
    "BreakerOutcome",
    "CacheError",
    "CircuitOpenError",
    "ConfigError",
    "DeadlineExceeded",
    "InternalError",
    "InvalidInputError",
    "MalformedResponse",
    "NotFoundError",
    "PackageNotFoundError",
    "RateLimited",
    "ResponseTooLarge",
    "RetryBudgetExhausted",
    "TLSError",
    "UpstreamClientError",
    "UpstreamConnectError",
    "UpstreamError",
    "UpstreamNetworkError",
    "UpstreamServerError",
    "UpstreamTimeout",
    "EstimateTimeout",
    "VersionNotFoundError",
    "redact_fragment",
    "redact_text",
    "redact_url",
]

BreakerOutcome = Literal["failure", "success", "ignore"]
"""What an error says about the upstream: it failed, it answered (healthy), or nothing."""

_Details = Mapping[str, Any]


# user:password@ (or token@) in the authority of a URL, anywhere in a text; greedy up to the
# last "@" of the authority, since a password may hold an unencoded "@".
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]{0,30}://)[^/?#\s]*@")
# A query or fragment parameter whose name says it carries a secret (?token=, &api_key=,
# sig=, X-Amz-Signature=, client_secret=, password=, ...): the value is replaced.
_SECRET_PARAM = re.compile(
    r"(?i)([?&;#][\w.-]{0,40}?(?:token|key|secret|sig|pass|pwd|auth|credential|session)"
    r"[\w.-]{0,40}=)[^&#\s'\"<>]*"
)
# Well-known token shapes (GitHub, OpenAI-style, AWS access keys, Slack, JWTs, PyPI tokens).
_TOKEN_SHAPES = re.compile(
    r"\b(?:gh[pousr]_[A-Za-z0-9]{16,}|github_pat_[A-Za-z0-9_]{20,}|sk-[A-Za-z0-9_-]{16,}"
    r"|AKIA[0-9A-Z]{16}|xox[abprs]-[A-Za-z0-9-]{10,}|pypi-[A-Za-z0-9_-]{16,}"
    r"|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*)"
)
_TOKEN_HINT = re.compile(r"gh[pousr]_|github_pat_|sk-|AKIA|xox|pypi-|eyJ")
_SECRET_HINT = re.compile(r"(?i)token|secret|passw|pwd|key|credential|auth")
# NAME=value where the name says secret (a .env or config line); for quoted fragments of files
# also "NAME: value" (YAML), which in prose ("credentials: set ...") would eat a word.
_SECRET_NAME = (
    r"(?i)(\b[\w.-]{0,40}(?:token|secret|passw(?:or)?d|pwd|api[_-]?key|private[_-]?key"
    r"|credential|auth)[\w.-]{0,40}[\"']?\s*"
)
_SECRET_ASSIGNMENT = re.compile(_SECRET_NAME + r"=\s*)[^\s,;&]+")
_SECRET_COLON = re.compile(_SECRET_NAME + r"[=:]\s*)[^\s,;&]+")
# Long mixed letter-and-digit runs look like keys; used for quoted fragments of files only.
_HIGH_ENTROPY = re.compile(r"(?<![\w+/=-])(?=[\w+/=-]*\d)(?=[\w+/=-]*[A-Za-z])[\w+/=-]{24,}")

REDACTED = "***"
"""What a redacted secret is replaced with."""


def redact_url(url: str) -> str:
    """Return *url* with its user name, password and secret query parameters replaced by ``***``.

    Credentials must never reach logs or error messages. Unparseable input is returned with
    everything before the last ``@`` of its authority removed. Query parameters whose name says
    they carry a secret (``token``, ``access_token``, ``api_key``, ``sig``, ``password`` and the
    like) keep their name and lose their value.

    Args:
        url: Any URL-like string.

    Returns:
        The same URL without credentials.

    .. versionchanged:: 0.2.0
       Secret query parameters are redacted too.
    """
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        scheme, sep, rest = url.partition("://")
        if sep and "@" in rest.split("/", 1)[0]:
            url = f"{scheme}://***@{rest.split('@', 1)[1]}"
        return _SECRET_PARAM.sub(rf"\1{REDACTED}", url)
    if "@" in parts.netloc:
        host = parts.netloc.rsplit("@", 1)[1]
        url = urllib.parse.urlunsplit(parts._replace(netloc=f"***@{host}"))
    return _SECRET_PARAM.sub(rf"\1{REDACTED}", url)


def redact_text(text: str) -> str:
    """Return *text* with every credential it holds replaced by ``***``.

    Redacts the user name and password of every URL found anywhere in the text, the values of
    secret-named query parameters, ``NAME=value`` assignments whose name says secret, and
    well-known token shapes (GitHub, PyPI, AWS, Slack, JWT). Every error message, detail,
    suggestion and log line passes through here (:class:`AutodocsError` applies it on
    construction and again in :meth:`AutodocsError.to_payload`).

    Args:
        text: Any text (an error message, a line of a file, a log message).

    Returns:
        The text with secrets replaced; the rest unchanged. Idempotent.

    .. versionadded:: 0.2.0
    """
    # Cheap checks first: most texts hold no URL, no '=' and no token prefix, and then cost
    # no substitution at all.
    if "://" in text and "@" in text:
        text = _USERINFO.sub(_keep_scheme, text)
    if "=" in text:
        text = _SECRET_PARAM.sub(_keep_name, text)
        if _SECRET_HINT.search(text):
            text = _SECRET_ASSIGNMENT.sub(_keep_name, text)
    if _TOKEN_HINT.search(text):
        text = _TOKEN_SHAPES.sub(REDACTED, text)
    return text


def _keep_scheme(m: re.Match[str]) -> str:
    return f"{m.group(1)}{REDACTED}@"


def _keep_name(m: re.Match[str]) -> str:
    return f"{m.group(1)}{REDACTED}"


FRAGMENT_CHARS = 40
"""Longest quote of an untrusted file's line in an error (after redaction)."""


def redact_fragment(text: str, limit: int = FRAGMENT_CHARS) -> str:
    """Return a short, redacted quote of an untrusted line, for error details.

    Everything :func:`redact_text` removes is removed, and so is any long run of mixed letters
    and digits (it may be a key); then the result is cut to *limit* characters (an ellipsis
    marks the cut). Redaction happens before the cut, so a secret is never half-shown.

    Args:
        text: The offending line.
        limit: Most characters kept.

    Returns:
        The quote, at most *limit* characters plus an ellipsis.

    .. versionadded:: 0.2.0
    """
    text = " ".join(text[: 64 * 1024].split())  # one line; bounded work on a huge line
    text = _SECRET_COLON.sub(rf"\1{REDACTED}", redact_text(text))
    text = _HIGH_ENTROPY.sub(REDACTED, text)
    return text if len(text) <= limit else text[:limit] + "…"


def _scrub(value: Any, depth: int = 0) -> Any:
    """Redact every string inside a JSON-like value (bounded depth)."""
    if isinstance(value, str):
        return redact_text(value)
    if depth > 6:
        return value
    if isinstance(value, Mapping):
        return {k: _scrub(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v, depth + 1) for v in value]
    return value


def _details(kwargs: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """Pop ``details`` from a subclass's *kwargs* and add its own structured *fields*."""
    details = dict(kwargs.pop("details", None) or {})
    details.update(fields)
    return details


def _clean_seconds(value: float | None) -> float | None:
    if value is None or math.isnan(value):
        return None
    return max(0.0, value)


class AutodocsError(Exception):
    """Base class of every error autodocs raises.

    Args:
        message: One sentence for a person: what went wrong.
        details: Structured facts (JSON-compatible values) for programs and logs.
        suggestions: What the caller can change to succeed.
        recovery_actions: Concrete next steps (tools to call, commands to run).

    Attributes:
        error_type: Stable machine code of the error kind (class-level).
        retryable: Whether the retry loop may try again (class-level).
        breaker_outcome: What the error says about the upstream's health (class-level).

    .. versionadded:: 0.1.0
    """

    error_type: ClassVar[str] = "autodocs_error"
    retryable: ClassVar[bool] = False
    breaker_outcome: ClassVar[BreakerOutcome] = "ignore"
    default_suggestions: ClassVar[tuple[str, ...]] = ("Try again; if it persists, check the logs.",)
    default_recovery_actions: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        message: str,
        *,
        details: _Details | None = None,
        suggestions: Iterable[str] | None = None,
        recovery_actions: Iterable[str] | None = None,
    ) -> None:
        # Redacted once here (so str(), repr() and log lines are clean) and again in
        # to_payload() (callers may replace fields after construction).
        message = redact_text(message)
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = _scrub(dict(details or {}))
        self.suggestions: tuple[str, ...] = tuple(
            redact_text(s)
            for s in (suggestions if suggestions is not None else self.default_suggestions)
        )
        self.recovery_actions: tuple[str, ...] = tuple(
            redact_text(s)
            for s in (
                recovery_actions if recovery_actions is not None else self.default_recovery_actions
            )
        )

    def to_payload(self) -> dict[str, Any]:
        """Return the error as the JSON-compatible payload the tools send to clients.

        Every string in it is passed through :func:`redact_text`: this is the choke point that
        keeps credentials out of what clients, logs and metrics see.

        Returns:
            A dict with exactly the keys ``error``, ``error_type``, ``details``, ``suggestions``
            and ``recovery_actions``.
        """
        return {
            "error": redact_text(self.message),
            "error_type": self.error_type,
            "details": _scrub(dict(self.details)),
            "suggestions": [redact_text(s) for s in self.suggestions],
            "recovery_actions": [redact_text(s) for s in self.recovery_actions],
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, details={self.details!r})"


class InvalidInputError(AutodocsError):
    """The caller's input is malformed (a package name, a version specifier, an argument)."""

    error_type = "invalid_input"
    default_suggestions: ClassVar[tuple[str, ...]] = (
        "Check the value against the documented format and try again.",
    )


class ConfigError(AutodocsError):
    """A configuration value is missing, malformed or out of range.

    The message names the setting, the value and the allowed range.
    """

    error_type = "config_error"
    default_suggestions: ClassVar[tuple[str, ...]] = (
        "Fix the named setting (environment variable or flag) and restart.",
    )


class CacheError(AutodocsError):
    """The documentation cache could not be read or written."""

    error_type = "cache_error"
    default_suggestions: ClassVar[tuple[str, ...]] = (
        "Check that the cache directory exists and is writable (AUTODOCS_CACHE_DIR).",
    )
    default_recovery_actions: ClassVar[tuple[str, ...]] = (
        "Clear the cache with 'autodocs cache clear'.",
    )


class NotFoundError(AutodocsError):
    """The upstream answered that the requested resource does not exist (HTTP 404/410)."""

    error_type = "not_found"
    breaker_outcome: ClassVar[BreakerOutcome] = "success"
    default_suggestions: ClassVar[tuple[str, ...]] = ("Check the name and version you asked for.",)


class PackageNotFoundError(NotFoundError):
    """No package of this name exists on the index.

    Args:
        name: The (normalised) package name that was looked up.
        index_url: The index that was asked.
    """

    error_type = "package_not_found"

    def __init__(self, name: str, *, index_url: str | None = None, **kwargs: Any) -> None:
        details: dict[str, Any] = {"package_name": name}
        if index_url is not None:
            details["index_url"] = redact_url(index_url)
        kwargs.setdefault(
            "suggestions",
            (
                f"Check the spelling of '{name}': distribution names can differ from import "
                "names (e.g. 'beautifulsoup4' for 'bs4', 'pyyaml' for 'yaml').",
                "Check that the package is published on the configured index (AUTODOCS_INDEX_URL).",
            ),
        )
        kwargs.setdefault(
            "recovery_actions",
            ("Use 'scan_dependencies' to list the exact names your project depends on.",),
        )
        super().__init__(f"Package '{name}' was not found on the index", details=details, **kwargs)
        self.name = name


class VersionNotFoundError(NotFoundError):
    """The package exists, but no release matches the requested version or specifier.

    Args:
        name: The package name.
        constraint: The version or specifier that matched nothing.
        nearest: Existing versions closest to the request, best first.
    """

    error_type = "version_not_found"

    def __init__(
        self, name: str, constraint: str, *, nearest: Iterable[str] = (), **kwargs: Any
    ) -> None:
        nearest_list = list(nearest)[:10]
        kwargs.setdefault(
            "suggestions",
            (
                (f"Available versions near the request: {', '.join(nearest_list)}.",)
                if nearest_list
                else ()
            )
            + ("Relax the version constraint, or omit it to get the latest release.",),
        )
        super().__init__(
            f"No release of '{name}' matches '{constraint}'",
            details={
                "package_name": name,
                "version_constraint": constraint,
                "nearest_versions": nearest_list,
            },
            **kwargs,
        )
        self.name = name
        self.constraint = constraint
        self.nearest = tuple(nearest_list)


class UpstreamError(AutodocsError):
    """The upstream (the package index) failed to give a usable answer.

    Args:
        message: What happened.
        url: The URL asked (credentials are redacted before it is stored).
        **kwargs: Passed to :class:`AutodocsError`.
    """

    error_type = "upstream_error"
    retryable = True
    breaker_outcome: ClassVar[BreakerOutcome] = "failure"
    default_suggestions: ClassVar[tuple[str, ...]] = (
        "The index may be having trouble; try again in a minute.",
    )
    default_recovery_actions: ClassVar[tuple[str, ...]] = (
        "Call 'health_check' to see the index and breaker status.",
    )

    def __init__(self, message: str, *, url: str | None = None, **kwargs: Any) -> None:
        details = _details(kwargs, **({"url": redact_url(url)} if url is not None else {}))
        super().__init__(message, details=details, **kwargs)


class UpstreamTimeout(UpstreamError):
    """The upstream did not answer within the time allowed for one attempt."""

    error_type = "timeout"
    default_suggestions: ClassVar[tuple[str, ...]] = (
        "The index is slow or not answering; try again shortly.",
        "If you are behind a proxy, check that it forwards requests to the index.",
    )


class EstimateTimeout(UpstreamTimeout):
    """No answer within the *adaptive* estimate, which was still below the configured ceiling.

    Evidence that the estimate is too low (it doubles, RFC 6298 §5.5), not that the upstream is
    down: retried like any timeout, but not counted by the circuit breaker. A timeout at the
    ceiling (``AUTODOCS_READ_TIMEOUT``) is an :class:`UpstreamTimeout` and counts. Without
    this, an index that is slow from the start (every answer 3.2 s) opened the host breaker
    while the estimate climbed (1 s, 2 s, 4 s) whenever five calls or more ran at once.

    .. versionadded:: 0.2.0
    """

    breaker_outcome: ClassVar[BreakerOutcome] = "ignore"


class UpstreamNetworkError(UpstreamError):
    """The connection failed while a request or response was in transit (reset, closed early)."""

    error_type = "network_error"
    default_suggestions: ClassVar[tuple[str, ...]] = (
        "The connection to the index dropped; try again shortly.",
    )


class UpstreamConnectError(UpstreamNetworkError):
    """No connection could be made to the upstream.

    ``details["reason"]`` says why: ``"dns"`` (the name did not resolve), ``"refused"`` (nothing
    listens there) or ``"connect"`` (anything else).
    """

    error_type = "connect_error"
    default_suggestions: ClassVar[tuple[str, ...]] = (
        "Check your network connection and the index URL (AUTODOCS_INDEX_URL).",
        "If you are behind a proxy, set HTTPS_PROXY for the server's environment.",
    )


class TLSError(UpstreamError):
    """The upstream's TLS certificate could not be verified. Never retried.

    Retrying cannot fix a certificate problem, so this error is not retryable, and it says what to
    change instead.
    """

    error_type = "tls_error"
    retryable = False
    breaker_outcome: ClassVar[BreakerOutcome] = "ignore"
    default_suggestions: ClassVar[tuple[str, ...]] = (
        "If your network inspects TLS (a corporate proxy), install its CA certificate in the "
        "operating system's trust store, or point AUTODOCS_CA_BUNDLE at a PEM file that holds it.",
        "Check the system clock: a wrong date makes valid certificates look expired.",
    )
    default_recovery_actions: ClassVar[tuple[str, ...]] = (
        "Never disable verification; fix the trust store instead.",
    )


class RateLimited(UpstreamError):
    """The upstream asked us to slow down (HTTP 429).

    Args:
        message: What happened.
        retry_after: Seconds the server asked us to wait, if it said (never negative).
        **kwargs: Passed to :class:`UpstreamError`.
    """

    error_type = "rate_limited"
    breaker_outcome: ClassVar[BreakerOutcome] = "ignore"

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        retry_after = _clean_seconds(retry_after)
        details = _details(kwargs, retry_after_seconds=retry_after)
        when = f"after {retry_after:.1f} s" if retry_after is not None else "in a minute"
        kwargs.setdefault("suggestions", (f"The index is rate limiting us: try again {when}.",))
        super().__init__(message, details=details, **kwargs)
        self.retry_after = retry_after


class UpstreamServerError(UpstreamError):
    """The upstream answered with a 5xx status.

    Args:
        status: The HTTP status code.
        retry_after: Seconds the server asked us to wait (``Retry-After`` on a 503), if any.
        **kwargs: Passed to :class:`UpstreamError`.
    """

    error_type = "upstream_5xx"

    def __init__(self, status: int, *, retry_after: float | None = None, **kwargs: Any) -> None:
        retry_after = _clean_seconds(retry_after)
        details = _details(kwargs, status_code=status)
        if retry_after is not None:
            details["retry_after_seconds"] = retry_after
        super().__init__(f"The index answered HTTP {status}", details=details, **kwargs)
        self.status = status
        self.retry_after = retry_after


class UpstreamClientError(UpstreamError):
    """The upstream refused the request with a 4xx status (other than 404/410/408/429).

    Args:
        status: The HTTP status code.
        **kwargs: Passed to :class:`UpstreamError`.
    """

    error_type = "upstream_4xx"
    retryable = False
    breaker_outcome: ClassVar[BreakerOutcome] = "success"

    def __init__(self, status: int, **kwargs: Any) -> None:
        details = _details(kwargs, status_code=status)
        hint = (
            "The index wants credentials: set AUTODOCS_INDEX_TOKEN or add the host to ~/.netrc."
            if status in (401, 403)
            else "The index refused the request; check the package name."
        )
        kwargs.setdefault("suggestions", (hint,))
        super().__init__(
            f"The index refused the request (HTTP {status})", details=details, **kwargs
        )
        self.status = status


class ResponseTooLarge(UpstreamError):
    """The response body exceeded the configured size cap (counted after decompression).

    Args:
        limit: The cap in bytes.
        **kwargs: Passed to :class:`UpstreamError`.
    """

    error_type = "response_too_large"
    retryable = False
    breaker_outcome: ClassVar[BreakerOutcome] = "ignore"

    def __init__(self, limit: int, **kwargs: Any) -> None:
        details = _details(kwargs, limit_bytes=limit)
        kwargs.setdefault(
            "suggestions",
            (
                "Raise AUTODOCS_MAX_RESPONSE_BYTES if this package's metadata is legitimately "
                "large.",
            ),
        )
        super().__init__(
            f"The index's response exceeded the {limit}-byte limit", details=details, **kwargs
        )
        self.limit = limit


class MalformedResponse(UpstreamError):
    """The upstream's response could not be used (invalid JSON or UTF-8, wrong content type)."""

    error_type = "malformed_response"
    default_suggestions: ClassVar[tuple[str, ...]] = (
        "The index sent an unusable answer; try again, and check AUTODOCS_INDEX_URL points at a "
        "package index.",
    )


class InternalError(AutodocsError):
    """An unexpected failure inside autodocs (a bug). The message never carries internals.

    Args:
        operation: What was being done.
        exc_type: The name of the unexpected exception's class.
    """

    error_type = "internal_error"
    default_suggestions: ClassVar[tuple[str, ...]] = (
        "This is a bug in autodocs; please report it with the server log.",
    )

    def __init__(self, operation: str, *, exc_type: str, **kwargs: Any) -> None:
        super().__init__(
            f"Unexpected internal error during '{operation}'",
            details={"operation": operation, "exception_type": exc_type},
            **kwargs,
        )


class CircuitOpenError(AutodocsError):
    """Calls to this upstream are paused because it failed repeatedly.

    Args:
        upstream: The breaker's name (usually the host).
        retry_after: Seconds until the breaker lets a probe through.

    .. versionadded:: 0.1.0
    """

    error_type = "circuit_open"

    def __init__(self, upstream: str, *, retry_after: float, **kwargs: Any) -> None:
        retry_after = max(0.0, retry_after)
        # Generic wording: the breaker guards any upstream. The index client words it for
        # the package index (autodocs_core.pypi._client).
        kwargs.setdefault(
            "suggestions",
            (f"'{upstream}' failed repeatedly; calls resume after about {retry_after:.1f} s.",),
        )
        super().__init__(
            f"Circuit for '{upstream}' is open; not calling it for {retry_after:.1f} s",
            details={"upstream": upstream, "retry_after_seconds": retry_after},
            **kwargs,
        )
        self.upstream = upstream
        self.retry_after = retry_after


class DeadlineExceeded(AutodocsError):
    """The operation's total time budget ran out before it could succeed.

    Args:
        operation: What was being done.
        deadline: The total time allowed, in seconds.
        attempts: How many attempts were made.
    """

    error_type = "deadline_exceeded"
    default_suggestions: ClassVar[tuple[str, ...]] = (
        "The operation is slow right now; try again, or allow it more time.",
    )

    def __init__(
        self, operation: str, *, deadline: float | None, attempts: int, **kwargs: Any
    ) -> None:
        limit = f" of {deadline:.2f} s" if deadline is not None else ""
        super().__init__(
            f"'{operation}' did not finish within its deadline{limit} ({attempts} attempt(s))",
            details={"operation": operation, "deadline_seconds": deadline, "attempts": attempts},
            **kwargs,
        )
        self.operation = operation
        self.deadline = deadline
        self.attempts = attempts


class RetryBudgetExhausted(AutodocsError):
    """A retry was needed, but the upstream's retry budget is spent.

    The budget caps retries at a fraction of recent requests, so that many callers together can
    never multiply the load on a failing upstream. The last real error is the ``__cause__``.

    Args:
        upstream: The budget's name (usually the host).
        attempts: How many attempts this call made.
    """

    error_type = "retry_budget_exhausted"
    default_suggestions: ClassVar[tuple[str, ...]] = (
        "The upstream is failing for many requests at once; retries are paused to protect it. "
        "Try again in a few seconds.",
    )

    def __init__(
        self, upstream: str, *, attempts: int, last_error: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(
            f"Retry budget for '{upstream}' is exhausted after {attempts} attempt(s)"
            + (f"; last error: {last_error}" if last_error else ""),
            details={"upstream": upstream, "attempts": attempts, "last_error_type": last_error},
            **kwargs,
        )
        self.upstream = upstream
        self.attempts = attempts
