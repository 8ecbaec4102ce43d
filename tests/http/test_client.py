"""The HTTP layer against the fault-injecting loopback index: one attempt, classified failures."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import trustme

from autodocs_core.errors import (
    AutodocsError,
    ConfigError,
    DeadlineExceeded,
    MalformedResponse,
    RateLimited,
    ResponseTooLarge,
    TLSError,
    UpstreamClientError,
    UpstreamConnectError,
    UpstreamError,
    UpstreamNetworkError,
    UpstreamServerError,
    UpstreamTimeout,
)
from autodocs_core.http import Credentials, HttpClient, HttpConfig, origin_of, split_userinfo
from autodocs_core.resilience import Resilience, RetryPolicy
from autodocs_core.testing import Fault, FaultIndex, FaultPlan

pytestmark = pytest.mark.anyio

FAST = HttpConfig(read_timeout=0.3, header_timeout=None, max_response_bytes=1_000_000)


async def get(index: FaultIndex, path: str, config: HttpConfig = FAST, **kw: Any) -> Any:
    async with HttpClient(config, **kw) as http:
        return (await http.get(index.url + path)).json()


async def test_serves_json_with_the_right_accept_header(projects: dict[str, Any]) -> None:
    """A healthy answer is parsed; the request asked for JSON, compressed or not."""
    async with FaultIndex(projects) as index:
        doc = await get(index, "/pypi/attrs/json")
    assert doc["info"]["name"] == "attrs"
    assert index.requests[0].headers["accept"] == "application/json"
    assert "gzip" in index.requests[0].headers["accept-encoding"]


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        (Fault("hang"), UpstreamTimeout),
        (Fault("status", status=429, retry_after="7"), RateLimited),
        (Fault("status", status=503), UpstreamServerError),
        (Fault("status", status=403), UpstreamClientError),
        (Fault("reset"), UpstreamNetworkError),
        (Fault("close"), UpstreamNetworkError),
        (Fault("truncate"), MalformedResponse),
        (Fault("garbage"), MalformedResponse),
        (Fault("invalid_utf8"), MalformedResponse),
        (Fault("wrong_type"), MalformedResponse),
        (Fault("huge", size=3_000_000), ResponseTooLarge),
        (Fault("bomb", size=20_000_000), ResponseTooLarge),
        (Fault("redirect", location="http://127.0.0.2:9/pypi/attrs/json"), UpstreamClientError),
        (Fault("redirect"), UpstreamClientError),
    ],
    ids=lambda v: v.kind if isinstance(v, Fault) else v.__name__,
)
async def test_faults_become_classified_errors(
    projects: dict[str, Any], fault: Fault, kind: type[AutodocsError]
) -> None:
    """Every misbehaviour is one clear error kind; nothing leaks as a raw exception."""
    plan = FaultPlan(script=[fault] * 10)
    async with FaultIndex(projects, plan=plan) as index:
        with pytest.raises(kind) as info:
            await get(index, "/pypi/attrs/json")
    payload = info.value.to_payload()
    assert payload["suggestions"]
    if fault.kind == "status" and fault.status == 429:
        assert info.value.retry_after == 7.0  # type: ignore[attr-defined]
    if fault.kind == "redirect":
        # never followed to another host; a loop stops after max_redirects + 1 requests
        assert index.count() == (1 if fault.location else FAST.max_redirects + 1)


async def test_same_origin_redirect_is_followed(projects: dict[str, Any]) -> None:
    """A redirect within the index's own origin is followed."""
    plan = FaultPlan(script=[Fault("redirect", location="/pypi/httpx/json")])
    async with FaultIndex(projects, plan=plan) as index:
        doc = await get(index, "/pypi/attrs/json")
    assert doc["info"]["name"] == "httpx"
    assert [r.path for r in index.requests] == ["/pypi/attrs/json", "/pypi/httpx/json"]


async def test_trickle_is_cut_by_the_deadline(projects: dict[str, Any]) -> None:
    """A server sending one byte per 50 ms cannot hold a call past its total deadline."""
    plan = FaultPlan(script=[Fault("trickle", delay=0.05)])
    async with FaultIndex(projects, plan=plan) as index, HttpClient(FAST) as http:
        guard = Resilience(deadline=0.3, policy=RetryPolicy.never())
        started = anyio.current_time()
        with pytest.raises(DeadlineExceeded):
            await guard.call(http.get, index.url + "/pypi/attrs/json")
        assert anyio.current_time() - started < 2.0


async def test_trickle_is_cut_as_a_retryable_timeout(projects: dict[str, Any]) -> None:
    """A trickling body is cut as a retryable timeout; a retry gets the healthy answer."""
    plan = FaultPlan(script=[Fault("trickle", delay=0.02)])
    config = HttpConfig(
        read_timeout=1.0, header_timeout=None, min_rate_grace=0.1, min_transfer_rate=1000
    )
    async with FaultIndex(projects, plan=plan) as index, HttpClient(config) as http:
        with pytest.raises(UpstreamTimeout) as info:
            await http.get(index.url + "/pypi/attrs/json")
        assert info.value.retryable and info.value.details["phase"] == "body"
        guard = Resilience(deadline=10.0, policy=RetryPolicy.never().without_delays())
        plan.script.append(Fault("trickle", delay=0.02))
        with pytest.raises(UpstreamTimeout):
            await guard.call(http.get, index.url + "/pypi/attrs/json")
        retrying = Resilience(deadline=10.0)
        plan.script.append(Fault("trickle", delay=0.02))
        body = await retrying.call(http.get, index.url + "/pypi/attrs/json")
        assert body.json()["info"]["name"] == "attrs"


async def test_connection_refused_is_a_connect_error() -> None:
    """Nothing listening: a connect error whose reason is 'refused'."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    async with HttpClient(FAST) as http:
        with pytest.raises(UpstreamConnectError) as info:
            await http.get(f"http://127.0.0.1:{port}/pypi/x/json")
    assert info.value.details["reason"] == "refused"


async def test_proxy_from_the_environment_is_honoured(
    projects: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """HTTP_PROXY is used: the request for a far host reaches our loopback 'proxy'."""
    async with FaultIndex(projects) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        async with HttpClient(FAST) as http:
            body = await http.get("http://index.invalid/pypi/trio/json")
    assert body.json()["info"]["name"] == "trio"
    assert proxy.requests[0].path == "http://index.invalid/pypi/trio/json"


class TestTLS:
    async def test_ca_bundle_verifies_and_the_default_store_refuses(
        self, projects: dict[str, Any], tmp_path: Path
    ) -> None:
        """A private CA works through AUTODOCS_CA_BUNDLE; without it: a TLS error, one request."""
        ca = trustme.CA()
        server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
        bundle = tmp_path / "ca.pem"
        ca.cert_pem.write_to_path(str(bundle))
        async with FaultIndex(projects, ssl_context=server_ctx) as index:
            ok = await get(index, "/pypi/attrs/json", HttpConfig(ca_bundle=str(bundle)))
            assert ok["info"]["name"] == "attrs"
            guard = Resilience()
            async with HttpClient(FAST) as http:
                with pytest.raises(TLSError) as info:
                    await guard.call(http.get, index.url + "/pypi/attrs/json")
        assert not info.value.retryable
        assert any("trust store" in s for s in info.value.suggestions)
        assert index.count() == 1  # the handshake failed once and was not retried

    async def test_unreadable_bundle_is_a_config_error(self, tmp_path: Path) -> None:
        """A CA bundle that is not PEM names the setting."""
        bad = tmp_path / "not.pem"
        bad.write_text("hello")
        with pytest.raises(ConfigError) as info:
            async with HttpClient(HttpConfig(ca_bundle=str(bad))):
                pass  # pragma: no cover
        assert info.value.details["setting"] == "AUTODOCS_CA_BUNDLE"


class TestCredentials:
    async def test_sent_only_to_the_index_origin(self) -> None:
        """The Authorization header goes to the index origin, never to another host."""
        seen: dict[str, str | None] = {}

        def handler(request: httpx.Request) -> httpx.Response:
            seen[request.url.host] = request.headers.get("authorization")
            return httpx.Response(200, json={"ok": True})

        creds = Credentials.find("https://user:s3cret@index.example/simple", token=None)
        assert creds is not None
        async with HttpClient(credentials=creds, transport=httpx.MockTransport(handler)) as http:
            await http.get("https://index.example/pypi/x/json")
            await http.get("https://files.example/x.whl.metadata")
        assert seen["index.example"] is not None and seen["index.example"].startswith("Basic ")
        assert seen["files.example"] is None
        assert "s3cret" not in repr(creds)

    def test_priority_token_then_url_then_netrc(self, tmp_path: Path) -> None:
        """A token wins; URL credentials next; then the netrc entry for the host."""
        netrc_file = tmp_path / "netrc"
        netrc_file.write_text("machine index.example login bob password hunter2\n")
        netrc_file.chmod(0o600)
        by_token = Credentials.find("https://index.example", token="t0k", netrc_file=netrc_file)
        assert by_token is not None and by_token.header() == "Bearer t0k"
        by_netrc = Credentials.find("https://index.example", netrc_file=netrc_file)
        assert by_netrc is not None and by_netrc.username == "bob"
        assert Credentials.find("https://other.example", netrc_file=netrc_file) is None
        assert Credentials.find("https://x.example", netrc_file=tmp_path / "missing") is None
        broken = tmp_path / "broken"
        broken.write_text("machine")
        with pytest.raises(ConfigError):
            Credentials.find("https://x.example", netrc_file=broken)

    def test_split_userinfo_and_origins(self) -> None:
        """Credentials are stripped from URLs; origins fill in default ports."""
        assert split_userinfo("https://a:b@h.example/simple") == (
            "https://h.example/simple",
            "a",
            "b",
        )
        assert origin_of("https://h.example/x") == ("https", "h.example", 443)
        assert origin_of("http://h.example:8080/") == ("http", "h.example", 8080)


class TestTranslationAtTheEdge:
    @pytest.mark.parametrize(
        ("raised", "error_type"),
        [
            (ConnectionRefusedError(111, "Connection refused"), "connect_error"),
            (ConnectionResetError(104, "reset"), "network_error"),
            (TimeoutError(), "timeout"),
        ],
        ids=["refused", "reset", "timeout"],
    )
    async def test_os_errors_a_transport_lets_through_are_translated(
        self, raised: OSError, error_type: str
    ) -> None:
        """A raw OS error from a transport leaves the client as an autodocs error, chained."""

        def handler(request: httpx.Request) -> httpx.Response:
            raise raised

        async with HttpClient(transport=httpx.MockTransport(handler)) as http:
            with pytest.raises(UpstreamError) as info:
                await http.get("https://index.example/pypi/x/json")
        assert info.value.error_type == error_type
        assert info.value.__cause__ is raised


async def test_a_timeout_below_the_ceiling_is_not_counted_by_the_breaker() -> None:
    """Below the ceiling a timeout is EstimateTimeout (breaker ignores it); at it, it counts."""
    from autodocs_core.errors import EstimateTimeout, UpstreamTimeout
    from autodocs_core.http import HttpClient, HttpConfig
    from autodocs_core.resilience import AdaptiveTimeout, default_outcome

    async def hang(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("no headers", request=request)

    transport = httpx.MockTransport(hang)
    estimate = HttpConfig(
        read_timeout=10.0, header_timeout=AdaptiveTimeout(initial=1.0, minimum=0.5, maximum=10.0)
    )
    async with HttpClient(estimate, transport=transport) as http:
        with pytest.raises(EstimateTimeout) as below:
            await http.get("https://index.example/pypi/x/json")
    ceiling = HttpConfig(read_timeout=10.0, header_timeout=None)
    async with HttpClient(ceiling, transport=transport) as http:
        with pytest.raises(UpstreamTimeout) as at:
            await http.get("https://index.example/pypi/x/json")
    assert default_outcome(below.value) == "ignore"
    assert type(at.value) is UpstreamTimeout and default_outcome(at.value) == "failure"
