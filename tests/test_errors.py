"""The error hierarchy, payloads, and the classifier of httpx / OS exceptions and responses."""

from __future__ import annotations

import email.utils
import inspect
import socket
import ssl

import httpx
import pytest

from autodocs_core import errors
from autodocs_core.errors import (
    AutodocsError,
    CircuitOpenError,
    DeadlineExceeded,
    EstimateTimeout,
    MalformedResponse,
    NotFoundError,
    PackageNotFoundError,
    RateLimited,
    ResponseTooLarge,
    RetryBudgetExhausted,
    TLSError,
    UpstreamClientError,
    UpstreamConnectError,
    UpstreamNetworkError,
    UpstreamServerError,
    UpstreamTimeout,
    VersionNotFoundError,
    redact_url,
)
from autodocs_core.http import classify_exception, classify_response

ALL_ERRORS = [
    obj for _, obj in inspect.getmembers(errors, inspect.isclass) if issubclass(obj, AutodocsError)
]

EXAMPLES: list[AutodocsError] = [
    errors.InvalidInputError("bad name"),
    errors.ConfigError("AUTODOCS_X=3 is out of range"),
    errors.CacheError("disk full"),
    NotFoundError("gone"),
    PackageNotFoundError("reqests", index_url="https://user:pw@pypi.example/simple"),
    VersionNotFoundError("httpx", ">=99", nearest=["0.28.1", "0.28.0"]),
    errors.UpstreamError("x"),
    UpstreamTimeout("slow"),
    EstimateTimeout("slow for the estimate"),
    UpstreamNetworkError("reset"),
    UpstreamConnectError("refused", details={"reason": "refused"}),
    TLSError("bad cert"),
    RateLimited("slow down", retry_after=3.0),
    UpstreamServerError(503, retry_after=2.0),
    UpstreamClientError(403),
    ResponseTooLarge(1024),
    MalformedResponse("not json"),
    errors.InternalError("get_docs", exc_type="KeyError"),
    CircuitOpenError("pypi.org", retry_after=12.5),
    DeadlineExceeded("get_docs", deadline=10.0, attempts=3),
    RetryBudgetExhausted("pypi.org", attempts=2, last_error="timeout"),
]


def test_every_error_class_has_an_example_and_a_unique_code() -> None:
    """Each class in errors.py appears above, and error_type codes are unique.

    EstimateTimeout deliberately keeps its parent's code: clients see a timeout either way; only
    the breaker tells them apart.
    """
    assert {type(e) for e in EXAMPLES} == set(ALL_ERRORS) - {AutodocsError}
    codes = [cls.error_type for cls in ALL_ERRORS if cls is not EstimateTimeout]
    assert len(codes) == len(set(codes))
    assert EstimateTimeout.error_type == UpstreamTimeout.error_type
    assert EstimateTimeout.breaker_outcome == "ignore" != UpstreamTimeout.breaker_outcome


@pytest.mark.parametrize("error", EXAMPLES, ids=lambda e: e.error_type)
def test_payload_has_exactly_the_seed_keys_and_actionable_text(error: AutodocsError) -> None:
    """to_payload() has the five keys, a message, and at least one suggestion."""
    payload = error.to_payload()
    assert list(payload) == ["error", "error_type", "details", "suggestions", "recovery_actions"]
    assert payload["error"] and payload["error_type"] == error.error_type
    assert payload["suggestions"], "every error tells the caller what to do"
    assert "pw" not in str(payload)


def test_retryability_follows_the_documented_table() -> None:
    """TLS, 4xx, not found and too-large are never retried; transient upstream errors are."""
    retryable = {type(e) for e in EXAMPLES if e.retryable}
    assert retryable == {
        errors.UpstreamError,
        UpstreamTimeout,
        EstimateTimeout,
        UpstreamNetworkError,
        UpstreamConnectError,
        RateLimited,
        UpstreamServerError,
        MalformedResponse,
    }


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:secret@host/simple/", "https://***@host/simple/"),
        ("https://token@host:8443/x?y=1", "https://***@host:8443/x?y=1"),
        ("https://host/path", "https://host/path"),
        ("not a url", "not a url"),
        ("http://[::1:bad@host/", "http://***@host/"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    """Credentials in URLs never survive into messages."""
    assert redact_url(url) == expected


def _chained(outer: BaseException, inner: BaseException) -> BaseException:
    try:
        try:
            raise inner
        except BaseException as exc:
            raise outer from exc
    except BaseException as exc:
        return exc


class TestClassifyException:
    @pytest.mark.parametrize(
        ("exc", "kind", "reason"),
        [
            (
                _chained(httpx.ConnectError("x"), socket.gaierror(-2, "Name or service not known")),
                UpstreamConnectError,
                "dns",
            ),
            (
                _chained(httpx.ConnectError("x"), ConnectionRefusedError(111, "refused")),
                UpstreamConnectError,
                "refused",
            ),
            (
                httpx.ConnectError("[Errno -3] Temporary failure in name resolution"),
                UpstreamConnectError,
                "dns",
            ),
            (httpx.ConnectError("All connection attempts failed"), UpstreamConnectError, "connect"),
        ],
    )
    def test_connect_errors_are_told_apart_by_cause(
        self, exc: BaseException, kind: type[AutodocsError], reason: str
    ) -> None:
        """DNS and refused both arrive as httpx.ConnectError; the cause chain tells them apart."""
        found = classify_exception(exc)
        assert isinstance(found, kind)
        assert found.details["reason"] == reason

    def test_certificate_failure_is_tls_and_never_retried(self) -> None:
        """A certificate error under ConnectError is a TLSError with a fix, not a retry."""
        cert = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] self-signed")
        found = classify_exception(_chained(httpx.ConnectError("x"), cert))
        assert isinstance(found, TLSError) and not found.retryable
        assert any("trust store" in s for s in found.suggestions)

    @pytest.mark.parametrize(
        ("exc", "kind"),
        [
            (httpx.ReadTimeout("x"), UpstreamTimeout),
            (httpx.ConnectTimeout("x"), UpstreamTimeout),
            (httpx.PoolTimeout("x"), UpstreamTimeout),
            (httpx.ReadError("x"), UpstreamNetworkError),
            (httpx.RemoteProtocolError("x"), UpstreamNetworkError),
            (httpx.DecodingError("x"), MalformedResponse),
            (httpx.TooManyRedirects("x"), UpstreamClientError),
            (httpx.UnsupportedProtocol("x"), errors.UpstreamError),
            (socket.gaierror(-2, "x"), UpstreamConnectError),
            (ConnectionRefusedError(), UpstreamConnectError),
            (ConnectionResetError(), UpstreamNetworkError),
            (TimeoutError(), UpstreamTimeout),
            (ssl.SSLError("x"), TLSError),
            (OSError("other"), type(None)),
            (ValueError("bug"), type(None)),
        ],
    )
    def test_kinds(self, exc: BaseException, kind: type) -> None:
        """Each httpx/OS failure maps to one kind; unknown exceptions are left alone (None)."""
        assert type(classify_exception(exc)) is kind

    def test_autodocs_errors_pass_through(self) -> None:
        """An error that is already ours is returned as it is."""
        err = RateLimited("x")
        assert classify_exception(err) is err

    def test_status_error_uses_the_response(self) -> None:
        """httpx.HTTPStatusError is classified from its response's status and headers."""
        request = httpx.Request("GET", "https://u:p@index.example/pypi/x/json")
        response = httpx.Response(429, headers={"Retry-After": "4"}, request=request)
        exc = httpx.HTTPStatusError("x", request=request, response=response)
        found = classify_exception(exc)
        assert isinstance(found, RateLimited) and found.retry_after == 4.0
        assert "p@" not in found.details["url"]


class TestClassifyResponse:
    @pytest.mark.parametrize(
        ("status", "kind"),
        [
            (200, type(None)),
            (304, type(None)),
            (400, UpstreamClientError),
            (401, UpstreamClientError),
            (404, NotFoundError),
            (410, NotFoundError),
            (408, UpstreamTimeout),
            (429, RateLimited),
            (500, UpstreamServerError),
            (503, UpstreamServerError),
        ],
    )
    def test_status_kinds(self, status: int, kind: type) -> None:
        """Statuses map to kinds: 404 is not found (never retried), 5xx retryable."""
        assert type(classify_response(status, {})) is kind

    def test_retry_after_in_both_forms(self) -> None:
        """Retry-After is read as seconds or as an HTTP-date, and capped."""
        now = 1_700_000_000.0
        date = email.utils.formatdate(now + 30, usegmt=True)
        by_date = classify_response(503, {"retry-after": date}, now_wall=now)
        assert isinstance(by_date, UpstreamServerError) and by_date.retry_after == 30.0
        capped = classify_response(429, {"retry-after": "99999"}, max_retry_after=60.0)
        assert isinstance(capped, RateLimited) and capped.retry_after == 60.0
        garbage = classify_response(429, {"retry-after": "tomorrow-ish"})
        assert isinstance(garbage, RateLimited) and garbage.retry_after is None
        assert isinstance(classify_response(429, None), RateLimited)

    def test_forbidden_suggests_credentials(self) -> None:
        """A 401/403 tells the user how to pass credentials."""
        err = classify_response(403, {})
        assert err is not None and "AUTODOCS_INDEX_TOKEN" in err.suggestions[0]


class TestGenericWording:
    @pytest.mark.parametrize(
        "error",
        [
            CircuitOpenError("api", retry_after=3.0),
            DeadlineExceeded("op", deadline=1.0, attempts=2),
            RetryBudgetExhausted("api", attempts=2),
        ],
        ids=["circuit", "deadline", "budget"],
    )
    def test_resilience_errors_do_not_talk_about_the_index(self, error: AutodocsError) -> None:
        """Errors the generic primitives raise carry no index, cache or tool wording."""
        text = " ".join([error.message, *error.suggestions, *error.recovery_actions]).lower()
        for word in ("index", "cached documentation", "health_check", "autodocs_"):
            assert word not in text
