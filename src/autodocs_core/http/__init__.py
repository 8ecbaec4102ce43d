"""The HTTP layer: one shared httpx client with limits, TLS, bounded bodies and safe redirects.

The only package that imports httpx, and the one place where httpx/OS exceptions and HTTP
statuses become :mod:`autodocs_core.errors` errors (:func:`classify_exception`,
:func:`classify_response`).
"""

from ._auth import Credentials as Credentials
from ._auth import split_userinfo as split_userinfo
from ._client import DEFAULT_HEADER_TIMEOUT_INITIAL as DEFAULT_HEADER_TIMEOUT_INITIAL
from ._client import DEFAULT_HEADER_TIMEOUT_MINIMUM as DEFAULT_HEADER_TIMEOUT_MINIMUM
from ._client import DEFAULT_MAX_RESPONSE_BYTES as DEFAULT_MAX_RESPONSE_BYTES
from ._client import ROUTE_ARTIFACT as ROUTE_ARTIFACT
from ._client import ROUTE_METADATA as ROUTE_METADATA
from ._client import ROUTE_OTHER as ROUTE_OTHER
from ._client import ROUTE_PROJECT as ROUTE_PROJECT
from ._client import ROUTE_SIMPLE as ROUTE_SIMPLE
from ._client import Body as Body
from ._client import HttpClient as HttpClient
from ._client import HttpConfig as HttpConfig
from ._client import Origin as Origin
from ._client import origin_of as origin_of
from ._client import route_of as route_of
from ._errors import classify_exception as classify_exception
from ._errors import classify_response as classify_response
from ._range import RangeBody as RangeBody
from ._tls import make_ssl_context as make_ssl_context

__all__ = [
    "DEFAULT_HEADER_TIMEOUT_INITIAL",
    "DEFAULT_HEADER_TIMEOUT_MINIMUM",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "ROUTE_ARTIFACT",
    "ROUTE_METADATA",
    "ROUTE_OTHER",
    "ROUTE_PROJECT",
    "ROUTE_SIMPLE",
    "Body",
    "Credentials",
    "HttpClient",
    "HttpConfig",
    "Origin",
    "classify_exception",
    "classify_response",
    "RangeBody",
    "make_ssl_context",
    "origin_of",
    "route_of",
    "split_userinfo",
]
