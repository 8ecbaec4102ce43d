"""The streamable HTTP transport: the MCP endpoint plus /healthz, /readyz and /metrics.

Binds loopback unless told otherwise (a wider bind needs a token or an explicit opt-in, checked
in main.py). An optional bearer token protects ``/mcp`` and ``/metrics`` (the probes stay open
for orchestrators, and say no more than a status without it). Every route checks ``Host`` and
``Origin`` (DNS rebinding); a connection that does not finish its request head or body in time
is closed; connections beyond a limit are closed at once. Refusals are logged rate-limited.
One DocsService serves every request.

Stateless: no MCP session is kept between requests (``stateless_http``), so any replica behind a
load balancer answers any request, and a client whose replica restarts loses no call. Responses
still stream as SSE, which carries progress notifications.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import socket
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

import anyio
import attrs
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

    from autodocs_core.config import Settings

    from .server import AutodocsServer

__all__ = [
    "BodyTimeoutMiddleware",
    "HostOriginMiddleware",
    "HttpLimits",
    "RefusalLog",
    "add_probe_routes",
    "allowed_hosts_for",
    "serve_http",
]

log = logging.getLogger("autodocs")
OPEN_PATHS = ("/healthz", "/readyz")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


@attrs.frozen
class HttpLimits:
    """Time and count limits of the HTTP transport (``Settings.http_*``, passed by main.py).

    Attributes:
        header_timeout: Seconds a connection may take to send a complete request head (from
            connecting, or from the end of the previous response); then it is closed.
        body_timeout: Seconds a request may wait for each piece of its body; then it gets 408.
        keep_alive: Seconds an idle kept-alive connection stays open.
        max_connections: Open connections at most; more are closed as soon as they connect.
        max_header_bytes: Largest request head (h11's incomplete-event limit); larger is 400.

    .. versionadded:: 0.2.0
    """

    header_timeout: float = 10.0
    body_timeout: float = 30.0
    keep_alive: int = 5
    max_connections: int = 256
    max_header_bytes: int = 64 * 1024


class RefusalLog:
    """Logs refusals at most once per *interval* seconds per reason, counting the rest.

    Args:
        interval: Seconds between two lines for the same reason.
        clock: Monotonic seconds (injectable for tests).

    .. versionadded:: 0.2.0
    """

    def __init__(
        self, interval: float = 60.0, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.interval = interval
        self.clock = clock
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def note(self, reason: str, message: str) -> bool:
        """Record one refusal; log it unless *reason* was logged within the interval.

        Returns:
            Whether a line was written.
        """
        now = self.clock()
        last = self._last.get(reason)
        if last is not None and now - last < self.interval:
            self._suppressed[reason] = self._suppressed.get(reason, 0) + 1
            return False
        self._last[reason] = now
        more = self._suppressed.pop(reason, 0)
        suffix = f" ({more} more since the last line)" if more else ""
        log.warning("refused (%s): %s%s", reason, message[:200], suffix)
        return True


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def allowed_hosts_for(host: str, port: int, extra: Iterable[str] = ()) -> frozenset[str] | None:
    """The ``Host`` header values the server accepts, or None to accept any.

    Loopback names with the bound port are always accepted (only the machine itself reaches
    them: a rebinding page sends its own name); so is the bound address itself. Each *extra*
    entry (``AUTODOCS_HTTP_ALLOWED_HOSTS``) is a name, accepted with the bound port or without a
    port (behind a proxy), or ``name:port``; ``*`` accepts any Host. A wildcard bind
    (``0.0.0.0``, ``::``) without entries accepts any Host (the token guards it).

    .. versionadded:: 0.2.0
    """
    entries = [e.strip().lower() for e in extra if e.strip()]
    if "*" in entries:
        return None
    if host in ("0.0.0.0", "::", "") and not entries:
        return None
    allowed = {f"{_bracket(h)}:{port}" for h in (*LOOPBACK_HOSTS, host.lower())}
    for entry in entries:
        allowed.add(entry)
        if not entry.rsplit("]", 1)[-1].count(":"):  # no port given
            allowed.add(f"{entry}:{port}")
    return frozenset(allowed)


class HostOriginMiddleware:
    """Refuses a ``Host`` not in the allowed set (421) and a foreign ``Origin`` (403).

    Runs on every route, probes included. ``Origin``, when present, must name an allowed host
    (any scheme of http/https); when any Host is allowed, it must name the request's own Host.

    .. versionadded:: 0.2.0
    """

    def __init__(
        self, app: ASGIApp, *, allowed: frozenset[str] | None, refusals: RefusalLog
    ) -> None:
        self.app = app
        self.allowed = allowed
        self.refusals = refusals

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the headers, then pass the request on."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        host = headers.get(b"host", b"").decode("latin-1").strip().lower()
        origin = headers.get(b"origin")
        if not host or (self.allowed is not None and host not in self.allowed):
            self.refusals.note("host", f"Host {host[:100]!r}")
            await _refuse(
                send,
                421,
                "The Host header is not one this server answers to",
                "misdirected_request",
                "Connect to the address the server listens on.",
            )
            return
        if origin is not None:
            parts = urllib.parse.urlsplit(origin.decode("latin-1").strip().lower())
            good = {host} if self.allowed is None else self.allowed
            if parts.scheme not in ("http", "https") or parts.netloc not in good:
                self.refusals.note("origin", f"Origin {origin[:100]!r}")
                await _refuse(
                    send,
                    403,
                    "Requests from this Origin are not accepted",
                    "forbidden_origin",
                    "Call the server from a local client, not a page.",
                )
                return
        await self.app(scope, receive, send)


async def _refuse(send: Send, status: int, message: str, error_type: str, hint: str) -> None:
    body = json.dumps(
        {
            "error": message,
            "error_type": error_type,
            "details": {},
            "suggestions": [hint],
            "recovery_actions": [],
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": body})


class _BodyTimeout(Exception):
    pass


class BodyTimeoutMiddleware:
    """Bounds each wait for a piece of the request body; a stalled upload gets 408.

    Only while the body is incomplete: afterwards ``receive`` waits for the disconnect (the
    SSE stream of ``GET /mcp`` does, for as long as it lives).

    .. versionadded:: 0.2.0
    """

    def __init__(self, app: ASGIApp, *, timeout: float, refusals: RefusalLog) -> None:
        self.app = app
        self.timeout = timeout
        self.refusals = refusals

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app with a guarded ``receive``."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body_done = False
        timed_out = False
        started = False

        async def guarded_receive() -> Any:
            nonlocal body_done, timed_out
            if body_done:
                return await receive()
            with anyio.move_on_after(self.timeout):
                message = await receive()
                if message["type"] != "http.request" or not message.get("more_body", False):
                    body_done = True
                return message
            timed_out = body_done = True
            self.refusals.note("body_timeout", f"request body stalled on {scope.get('path')}")
            return {"type": "http.disconnect"}

        async def watched_send(message: Any) -> None:
            nonlocal started
            if timed_out:
                return  # the client is treated as gone: its answer is the 408 below
            started = True
            await send(message)

        await self.app(scope, guarded_receive, watched_send)
        if timed_out and not started:
            await _refuse(
                send,
                408,
                "The request body did not arrive in time",
                "timeout",
                "Send the whole request body without pausing.",
            )


class _AcceptErrorFilter(logging.Filter):
    """Turns asyncio's per-attempt "out of system resource" accept errors into refusals.

    When descriptors run out, asyncio logs a traceback for every failed ``accept()`` (measured:
    75,714 lines in 20 s with 300 idle connections and a 256-descriptor limit): enough to fill
    an undrained stderr pipe and stall the server. One rate-limited line says the same.
    """

    def __init__(self, refusals: RefusalLog) -> None:
        super().__init__()
        self.refusals = refusals

    def filter(self, record: logging.LogRecord) -> bool:
        """Drop the accept errors (after noting them); pass everything else."""
        if str(record.msg).startswith("socket.accept() out of system resource"):
            self.refusals.note("descriptors", "out of file descriptors: connections wait")
            return False
        return True


def _protocol_class(limits: HttpLimits, refusals: RefusalLog) -> type[Any]:
    """Uvicorn's h11 protocol with a request-head timeout and a connection limit."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class GuardedH11Protocol(H11Protocol):
        _head_timer: Any = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            if len(self.connections) > limits.max_connections:
                refusals.note("connection_limit", f"{limits.max_connections} connections open")
                transport.close()
                return
            self._arm_head_timer()

        def _arm_head_timer(self) -> None:
            self._disarm_head_timer()
            waiting_for = self.cycle
            self._head_timer = self.loop.call_later(
                limits.header_timeout, self._head_timeout, waiting_for
            )

        def _disarm_head_timer(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_timeout(self, waiting_for: Any) -> None:
            self._head_timer = None
            if self.cycle is waiting_for and not self.transport.is_closing():
                refusals.note("header_timeout", "request head not received in time")
                self.transport.close()

        def handle_events(self) -> None:
            before = self.cycle
            super().handle_events()
            if self.cycle is not before:
                self._disarm_head_timer()  # a request head arrived

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing() and (
                self.cycle is None or self.cycle.response_complete
            ):
                self._arm_head_timer()  # the next head must come in time too

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm_head_timer()
            super().connection_lost(exc)

    return GuardedH11Protocol


class BearerTokenMiddleware:
    """Requires ``Authorization: Bearer <token>`` on every path but the probes."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Reject requests without the token with 401 and an error payload."""
        if scope["type"] == "http" and scope.get("path") not in OPEN_PATHS:
            given = dict(scope.get("headers") or []).get(b"authorization", b"")
            if not hmac.compare_digest(given, self.expected):
                body = json.dumps(
                    {
                        "error": "Missing or wrong bearer token",
                        "error_type": "unauthorized",
                        "details": {},
                        "suggestions": ["Send 'Authorization: Bearer <token>'."],
                        "recovery_actions": [],
                    }
                ).encode()
                await send(
                    {
                        "type": "http.response.start",
                        "status": 401,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"www-authenticate", b"Bearer"),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def add_probe_routes(server: AutodocsServer, *, token: str | None = None) -> None:
    """Register /healthz, /readyz and /metrics (Prometheus text) on the server.

    ``/healthz`` tells an unauthenticated caller the status of each check and nothing else
    (no index URL, host, error text or sizes); a caller with the bearer *token* gets the full
    report. Without a configured token, the full report is for the operator tools only.
    """
    holder = server.holder
    expected = f"Bearer {token}".encode() if token else None

    async def healthz(request: Request) -> Response:
        report = (await holder.get().health()).to_dict()
        code = 503 if report["status"] == "unhealthy" else 200
        given = request.headers.get("authorization", "").encode("latin-1", "replace")
        if expected is None or not hmac.compare_digest(given, expected):
            report = _public_health(report)
        return JSONResponse(report, status_code=code)

    async def readyz(request: Request) -> Response:
        ready = (await holder.get().ready()).to_dict()
        return JSONResponse(ready, status_code=200 if ready["ready"] else 503)

    async def metrics(request: Request) -> Response:
        return PlainTextResponse(
            holder.get().metrics_prometheus(), media_type="text/plain; version=0.0.4"
        )

    for path, endpoint in (("/healthz", healthz), ("/readyz", readyz), ("/metrics", metrics)):
        server.custom_route(path, methods=["GET"])(endpoint)  # the SDK's public route API


def _public_health(report: dict[str, Any]) -> dict[str, Any]:
    """The health report without details: overall status, time and each check's status."""
    checks = report.get("checks", {})
    return {
        "status": report.get("status"),
        "timestamp": report.get("timestamp"),
        "checks": {name: {"status": check.get("status")} for name, check in checks.items()},
    }


async def serve_http(
    server: AutodocsServer,
    settings: Settings,
    *,
    host: str,
    port: int,
    token: str | None,
    grace: float,
    limits: HttpLimits | None = None,
    allowed_hosts: Iterable[str] = (),
) -> int:
    """Serve MCP over streamable HTTP until SIGTERM/SIGINT; return the exit code.

    Args:
        server: The MCP server (built with ``own_service=False``).
        settings: Configuration of the one service every session shares.
        host: Bind address (main.py refuses a non-loopback one without a token or opt-in).
        port: Bind port (0: any free port, announced on stderr).
        token: Bearer token required on ``/mcp`` and ``/metrics`` (None: none).
        grace: Seconds in-flight requests get after SIGTERM.
        limits: Timeouts and the connection limit (default :class:`HttpLimits`).
        allowed_hosts: Extra ``Host`` names (``AUTODOCS_HTTP_ALLOWED_HOSTS``).
    """
    import uvicorn
    from mcp.server.transport_security import TransportSecuritySettings

    from autodocs_core.service import DocsService

    from ._shutdown import watch_signals

    limits = limits or HttpLimits()
    refusals = RefusalLog()
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    bound = sock.getsockname()[1]
    allowed = allowed_hosts_for(host, bound, allowed_hosts)
    if allowed is None:
        log.warning("the Host header is not checked (wildcard bind or '*' in the allowed hosts)")
        security = TransportSecuritySettings(enable_dns_rebinding_protection=False)
    else:  # the SDK checks /mcp itself too; ours (below) covers every route
        security = TransportSecuritySettings(
            allowed_hosts=sorted(allowed),
            allowed_origins=sorted(f"{s}://{h}" for h in allowed for s in ("http", "https")),
        )
    add_probe_routes(server, token=token)
    # Stateless: no session lives in this process, so any replica answers any request (scale-out,
    # rolling restarts); SSE responses (json_response=False) still carry progress.
    app: Any = server.streamable_http_app(
        host=host, transport_security=security, stateless_http=True, json_response=False
    )
    if token:
        app = BearerTokenMiddleware(app, token)
    app = BodyTimeoutMiddleware(app, timeout=limits.body_timeout, refusals=refusals)
    app = HostOriginMiddleware(app, allowed=allowed, refusals=refusals)
    config = uvicorn.Config(
        app,
        log_config=None,
        log_level="warning",
        timeout_graceful_shutdown=int(grace) or 1,
        lifespan="on",
        http=_protocol_class(limits, refusals),
        timeout_keep_alive=limits.keep_alive,
        h11_max_incomplete_event_size=limits.max_header_bytes,
    )

    class _Server(uvicorn.Server):
        # Signals are ours (below): uvicorn would re-raise SIGTERM after shutting down, and
        # the process would die by the signal instead of exiting 0.
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    uv_server = _Server(config)
    async with DocsService(settings) as service, anyio.create_task_group() as tg:
        server.holder.service = service

        def stop_serving() -> None:
            uv_server.should_exit = True  # in-flight requests get the grace period

        await tg.start(watch_signals, lambda: service, stop_serving)
        # Always said, whatever the log level: with --port 0 it is the only way to learn the port.
        shown = f"[{host}]" if ":" in host else host
        print(
            json.dumps(
                {
                    "level": "info",
                    "logger": "autodocs",
                    "message": f"listening on http://{shown}:{bound}/mcp",
                    "host": host,
                    "port": bound,
                }
            ),
            file=sys.stderr,
            flush=True,
        )
        accept_errors = _AcceptErrorFilter(refusals)
        logging.getLogger("asyncio").addFilter(accept_errors)
        try:
            await uv_server.serve(sockets=[sock])
        finally:
            server.holder.service = None
            tg.cancel_scope.cancel()
            logging.getLogger("asyncio").removeFilter(accept_errors)
    return 0
