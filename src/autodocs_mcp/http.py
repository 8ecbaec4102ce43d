"""The streamable HTTP transport: the MCP endpoint plus /healthz, /readyz and /metrics.

Binds loopback unless told otherwise. An optional bearer token protects ``/mcp`` and
``/metrics`` (the probes stay open for orchestrators). One DocsService serves every session.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import os
import signal
import socket
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

    from autodocs_core.config import Settings

    from .server import AutodocsServer

__all__ = ["add_probe_routes", "serve_http"]

log = logging.getLogger("autodocs")
OPEN_PATHS = ("/healthz", "/readyz")


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


def add_probe_routes(server: AutodocsServer) -> None:
    """Register /healthz, /readyz and /metrics (Prometheus text) on the server."""
    holder = server.holder

    async def healthz(request: Request) -> Response:
        report = (await holder.get().health()).to_dict()
        return JSONResponse(report, status_code=503 if report["status"] == "unhealthy" else 200)

    async def readyz(request: Request) -> Response:
        ready = (await holder.get().ready()).to_dict()
        return JSONResponse(ready, status_code=200 if ready["ready"] else 503)

    async def metrics(request: Request) -> Response:
        return PlainTextResponse(
            holder.get().metrics_prometheus(), media_type="text/plain; version=0.0.4"
        )

    for path, endpoint in (("/healthz", healthz), ("/readyz", readyz), ("/metrics", metrics)):
        server._custom_starlette_routes.append(Route(path, endpoint=endpoint, methods=["GET"]))


async def serve_http(
    server: AutodocsServer,
    settings: Settings,
    *,
    host: str,
    port: int,
    token: str | None,
    grace: float,
) -> int:
    """Serve MCP over streamable HTTP until SIGTERM/SIGINT; return the exit code."""
    import uvicorn

    from autodocs_core.service import DocsService

    add_probe_routes(server)
    app: Any = server.streamable_http_app(host=host)
    if token:
        app = BearerTokenMiddleware(app, token)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    bound = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_config=None,
        log_level="warning",
        timeout_graceful_shutdown=int(grace) or 1,
        lifespan="on",
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

        async def watch_signals() -> None:
            with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                async for _ in signals:
                    log.warning("shutting down (signal)")
                    service.begin_shutdown()  # new calls are refused from here on
                    uv_server.should_exit = True  # in-flight requests get the grace period
                    async for _ in signals:
                        os._exit(130)

        tg.start_soon(watch_signals)
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
        try:
            await uv_server.serve(sockets=[sock])
        finally:
            server.holder.service = None
            tg.cancel_scope.cancel()
    return 0
