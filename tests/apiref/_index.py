"""A small hand-built httpx-like API index for ranking and rendering tests."""

from __future__ import annotations

from autodocs_core.apiref import ApiEntry, ApiIndex, Artifact, Parameter

CLIENT_DOC = """An HTTP client, with connection pooling, HTTP/2, redirects, cookie persistence, etc.

It can be shared between threads.

Usage:

    >>> client = httpx.Client(proxy="http://localhost:8030")
    >>> response = client.get('https://example.org')

Args:
    auth: An authentication class to use when sending requests.
    proxy: A proxy URL where all the traffic should be routed.
    http_version: Which HTTP version to speak.
"""


def httpx_index(*, extra: tuple[ApiEntry, ...] = ()) -> ApiIndex:
    """httpx 0.28.1-like: Client (proxy, not proxies), Client.get, Timeout, HttpVersion."""
    client_params = (
        Parameter("auth", "keyword-only", "AuthTypes | None", "None", "An authentication class."),
        Parameter(
            "proxy", "keyword-only", "ProxyTypes | None", "None", "A proxy URL for all traffic."
        ),
        Parameter("timeout", "keyword-only", "TimeoutTypes", "DEFAULT_TIMEOUT_CONFIG", "Timeouts."),
        Parameter(
            "http_version",
            "keyword-only",
            "HttpVersion",
            "'1.1'",
            "Which HTTP version to speak.",
        ),
        Parameter("follow_redirects", "keyword-only", "bool", "False", "Follow redirects."),
    )
    entries = (
        ApiEntry("httpx", "module", "httpx", docstring="HTTPX: a next generation HTTP client.",
                 members=("Client", "Timeout", "get", "HttpVersion", "ProxyTypes"), exported=True),
        ApiEntry(
            "httpx.Client",
            "class",
            "httpx._client",
            signature="(*, auth: AuthTypes | None = None, proxy: ProxyTypes | None = None, "
            "timeout: TimeoutTypes = DEFAULT_TIMEOUT_CONFIG, http_version: HttpVersion = '1.1', "
            "follow_redirects: bool = False)",
            parameters=client_params,
            docstring=CLIENT_DOC,
            bases=("BaseClient",),
            members=("get", "post", "close", "_send"),
            exported=True,
        ),
        ApiEntry(
            "httpx.Client.get",
            "method",
            "httpx._client",
            signature="(self, url: URL | str, *, params: QueryParamTypes | None = None, "
            "follow_redirects: bool = False) -> Response",
            parameters=(
                Parameter("url", annotation="URL | str", description="The URL to fetch."),
                Parameter("params", "keyword-only", "QueryParamTypes | None", "None"),
                Parameter("follow_redirects", "keyword-only", "bool", "False", "Follow them."),
            ),
            returns="Response",
            docstring="Send a `GET` request.",
            exported=True,
        ),
        ApiEntry(
            "httpx.Client.post",
            "method",
            "httpx._client",
            signature="(self, url: URL | str, *, json: Any = None) -> Response",
            parameters=(Parameter("url"), Parameter("json", "keyword-only", "Any", "None")),
            returns="Response",
            docstring="Send a `POST` request.",
            exported=True,
        ),
        ApiEntry("httpx.Client.close", "method", "httpx._client", signature="(self) -> None",
                 returns="None", docstring="Close transport and proxies.", exported=True),
        ApiEntry("httpx.Client._send", "method", "httpx._client", signature="(self, request)",
                 docstring="Send a request (internal).", private=True),
        ApiEntry(
            "httpx.Timeout",
            "class",
            "httpx._config",
            signature="(timeout: float | None = 5.0, *, connect: float | None = None)",
            parameters=(
                Parameter("timeout", annotation="float | None", default="5.0"),
                Parameter("connect", "keyword-only", "float | None", "None", "Connect timeout."),
            ),
            docstring="Timeout configuration.\n\nExamples:\n    Timeout(5.0, connect=1.0)\n",
            exported=True,
        ),
        ApiEntry(
            "httpx.get",
            "function",
            "httpx._api",
            signature="(url: URL | str, *, follow_redirects: bool = False) -> Response",
            parameters=(Parameter("url"), Parameter("follow_redirects", "keyword-only")),
            returns="Response",
            docstring="Sends a `GET` request.",
            exported=True,
        ),
        ApiEntry("httpx.HttpVersion", "type_alias", "httpx._client",
                 value='Literal["1.1", "2", "3"]', exported=True),
        ApiEntry("httpx.ProxyTypes", "type_alias", "httpx._types",
                 value="Union[URL, str, Proxy]", exported=True),
        ApiEntry("httpx.old_get", "function", "httpx._api", signature="(url)",
                 parameters=(Parameter("url"),), docstring="Get a URL (deprecated).",
                 deprecated=True, exported=True),
        ApiEntry("httpx._utils.get_proxy_map", "function", "httpx._utils", signature="()",
                 docstring="Proxy map from the environment.", private=True),
        ApiEntry("httpx.tests.test_proxy", "function", "httpx.tests", signature="()",
                 docstring="Test proxies."),
    )
    return ApiIndex(
        name="httpx",
        version="0.28.1",
        artifact=Artifact(
            "httpx-0.28.1-py3-none-any.whl",
            "https://files.example/httpx-0.28.1-py3-none-any.whl",
            sha256="d909fcccc110f8c7faf814ca82a9a4d816bc5a6dbfea25d6591d6985b8ba59ad",
        ),
        entries=tuple(sorted(entries + extra, key=lambda e: e.path)),
        modules_total=20,
        modules_loaded=20,
    )
