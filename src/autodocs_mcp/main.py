"""The ``autodocs-mcp`` command: configuration, JSON logs on stderr, stdio or HTTP transport."""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

import anyio

if TYPE_CHECKING:
    from mcp.shared.message import SessionMessage

    from . import _front
    from .server import AutodocsServer

__all__ = ["JsonFormatter", "configure_logging", "main", "run_stdio"]

# user:password@ or token@ inside any URL in a log message
_CREDENTIALS = re.compile(r"://[^/@\s]+@")


class JsonFormatter(logging.Formatter):
    """One JSON object per line, on stderr (stdout belongs to the stdio protocol)."""

    def format(self, record: logging.LogRecord) -> str:
        """Render *record* as a JSON line."""
        entry = {
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": _CREDENTIALS.sub("://***@", record.getMessage()),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str = "WARNING") -> None:
    """JSON log lines on stderr at *level* (``Settings.log_level``); httpx held at WARNING."""
    level = level.upper()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level if level in logging.getLevelNamesMapping() else "WARNING")
    for noisy in ("httpx", "httpcore"):  # request lines would repeat every URL at INFO
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def main(argv: Sequence[str] | None = None) -> int:
    """Validate the configuration and serve MCP (stdio or HTTP); return the exit code.

    On stdio, the handshake front (:mod:`._front`) starts first: it reads the client's messages
    and may answer the handshake from the start-up snapshot while the rest loads.
    """
    from . import _front

    front = _front.start(sys.argv[1:] if argv is None else list(argv))
    try:
        return _main(argv, front)
    except ModuleNotFoundError as exc:
        from ._extras import missing_extra_message

        message = missing_extra_message(exc, "autodocs-mcp")
        if message is None:
            raise
        print(message, file=sys.stderr)
        return 2
    finally:
        if front is not None:
            front.restore()


def _version() -> str:
    import autodocs_core

    try:
        return str(autodocs_core.__version__)
    except Exception:  # pragma: no cover - a source tree that is not installed
        return "unknown"


def _main(argv: Sequence[str] | None, front: _front.Front | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="autodocs-mcp", description="autodocs MCP server", allow_abbrev=False
    )
    parser.add_argument("--version", action="version", version=f"autodocs-mcp {_version()}")
    parser.add_argument(
        "--transport",
        choices=("stdio", "http"),
        default="stdio",
        help="stdio (default) or streamable HTTP",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="HTTP bind address (loopback unless told otherwise)"
    )
    parser.add_argument("--port", type=int, default=8000, help="HTTP port (0: any free port)")
    parser.add_argument(
        "--token", default=None, help="require this bearer token on HTTP (or AUTODOCS_HTTP_TOKEN)"
    )
    parser.add_argument(
        "--allow-remote-without-token",
        action="store_true",
        help="serve HTTP on a non-loopback address without a token (anyone reaching it may call)",
    )
    from autodocs_core.config import ENV_VARS

    # One flag per setting, named after it: --index-url sets AUTODOCS_INDEX_URL, and so on
    # (the HTTP token's flag is --token).
    for field, (var, _) in ENV_VARS.items():
        if field == "http_token":
            continue
        parser.add_argument(
            f"--{field.replace('_', '-')}",
            dest=f"setting_{field}",
            metavar="VALUE",
            help=f"overrides {var}",
        )
    args = parser.parse_args(argv)
    configure_logging()  # until the settings are read: their errors are printed as payloads
    import attrs

    from autodocs_core.config import Settings, http_token
    from autodocs_core.errors import ConfigError

    env = dict(os.environ)
    for field, (var, _) in ENV_VARS.items():
        value = getattr(args, f"setting_{field}", None)
        if value is not None:
            env[var] = value
    if args.token is not None:
        env.pop("AUTODOCS_HTTP_TOKEN", None)  # the flag wins (and is checked below)
    try:
        settings = Settings.from_env(env)
        if args.token is not None:  # the flag wins; its errors name it
            settings = attrs.evolve(settings, http_token=http_token("--token", args.token))
    except ConfigError as exc:
        print(json.dumps(exc.to_payload()), file=sys.stderr)
        return 2

    # Every setting comes from Settings (validated there, named in its errors).
    configure_logging(settings.log_level)
    grace = settings.shutdown_grace
    allow_broad_roots = settings.allow_broad_roots
    from .server import build_server

    if args.transport == "http":
        from .http import HttpLimits, serve_http

        token = settings.http_token
        try:
            _check_exposure(args.host, token, allow=args.allow_remote_without_token)
        except ConfigError as exc:
            print(json.dumps(exc.to_payload()), file=sys.stderr)
            return 2
        limits = HttpLimits(
            header_timeout=settings.http_header_timeout,
            body_timeout=settings.http_body_timeout,
            max_connections=settings.http_max_connections,
        )
        allowed = settings.http_allowed_hosts
        server = build_server(settings, own_service=False, allow_broad_roots=allow_broad_roots)
        return anyio.run(
            lambda: serve_http(
                server,
                settings,
                host=args.host,
                port=args.port,
                token=token,
                grace=grace,
                limits=limits,
                allowed_hosts=allowed,
            )
        )
    server = build_server(settings, allow_broad_roots=allow_broad_roots)
    return anyio.run(serve_stdio, server, grace, front)


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _check_exposure(host: str, token: str | None, *, allow: bool) -> None:
    """Refuse a non-loopback bind without a token unless the operator opted in."""
    from autodocs_core.errors import ConfigError

    if token is None and not allow and not _is_loopback(host):
        raise ConfigError(
            f"--host {host[:100]} is reachable from other machines and no token is set",
            details={"variable": "AUTODOCS_HTTP_TOKEN", "host": host[:100]},
            suggestions=(
                "Set AUTODOCS_HTTP_TOKEN (or --token) to require a bearer token.",
                "Or bind loopback (--host 127.0.0.1), or pass --allow-remote-without-token.",
            ),
        )


FLUSH_SECONDS = 0.2
"""Time given to the transport to write the last answers after the calls finished."""

GRACE_SECONDS = 10.0
"""How long in-flight calls may run after SIGTERM/SIGINT before they are cancelled."""


async def serve_stdio(
    server: AutodocsServer, grace: float, front: _front.Front | None = None
) -> int:
    """Serve over stdio until stdin closes or a signal arrives; return the exit code.

    On the first SIGTERM/SIGINT: new calls are refused, in-flight calls get *grace* seconds to
    finish, then everything is cancelled and the HTTP client closed (exit 0). A second signal
    exits at once (exit 130).
    """
    from ._shutdown import drain_calls, watch_signals

    holder = server.holder
    async with anyio.create_task_group() as tg:

        async def drain() -> None:
            await drain_calls(holder.service, grace, flush=FLUSH_SECONDS)
            # The stdio transport reads stdin in a worker thread that cancellation cannot
            # interrupt, so close what we own and leave directly rather than wait for EOF.
            with anyio.CancelScope(shield=True), anyio.move_on_after(5):
                if holder.service is not None:
                    await holder.service.__aexit__(None, None, None)
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)

        async def run() -> None:
            await run_stdio(server, front)
            tg.cancel_scope.cancel()  # stdin closed: stop watching signals

        await tg.start(watch_signals, lambda: holder.service, lambda: tg.start_soon(drain))
        tg.start_soon(run)
    return 0


async def run_stdio(server: AutodocsServer, front: _front.Front | None = None) -> None:
    """Serve *server* over stdio, answering the messages the SDK's reader cannot parse.

    The SDK's stdio reader turns a line that is not a valid JSON-RPC message (invalid JSON, a
    batch array, ``params`` of the wrong type, an ``id`` that is an object or a float, a
    missing ``jsonrpc``) into an exception that the session only logs: a client waiting on
    that id would wait forever. :class:`_AnsweringReader` answers each with a JSON-RPC error.

    With a handshake *front*, the SDK reads and writes through it instead of the process's
    standard streams (which the front has already taken over).

    .. versionadded:: 0.2.0
    """
    from mcp.server.stdio import stdio_server

    from .server import sdk_lowlevel_server

    lowlevel = sdk_lowlevel_server(server)
    streams: dict[str, Any] = {}
    if front is not None:
        streams = {"stdin": front.sdk_stdin(), "stdout": front.sdk_stdout()}
    async with stdio_server(**streams) as (read_stream, write_stream):
        await lowlevel.run(
            _AnsweringReader(read_stream, write_stream),
            write_stream,
            lowlevel.create_initialization_options(),
        )


MAX_BATCH_ANSWERS = 100
"""At most this many requests of one (unsupported) batch array get an error answer each."""


class _Receiver(Protocol):
    """What :class:`_AnsweringReader` reads from (the SDK's stdio read stream)."""

    async def receive(self) -> SessionMessage | Exception: ...
    async def aclose(self) -> None: ...


class _Sender(Protocol):
    """What :class:`_AnsweringReader` answers through (the SDK's stdio write stream)."""

    async def send(self, item: SessionMessage, /) -> None: ...


class _AnsweringReader:
    """A read stream that answers unparsable messages itself and passes the rest through."""

    def __init__(
        self,
        inner: _Receiver,
        writer: _Sender,
    ) -> None:
        self.inner = inner
        self.writer = writer

    @property
    def last_context(self) -> Any:
        """The sender context of the last message (the SDK restores it per message)."""
        return getattr(self.inner, "last_context", None)

    async def receive(self) -> SessionMessage | Exception:
        """The next parsed message; unparsable ones are answered here and skipped."""
        while True:
            item = await self.inner.receive()
            if isinstance(item, Exception):
                for answer in _answers_for(item):
                    await self.writer.send(answer)
                continue
            message = item.message
            if _is_request_without_valid_id(message):
                # The parser read {"id": null | 1.5 | {...}, "method": "ping"} as a notification
                # (the id dropped); the sender waits for an answer it can only get with id null.
                text = "Invalid request: the id must be a string or an integer"
                refusal = _invalid({"id": None}, text)
                if refusal is not None:
                    await self.writer.send(refusal)
                continue
            return item

    async def aclose(self) -> None:
        """Close the underlying stream."""
        await self.inner.aclose()

    def __aiter__(self) -> _AnsweringReader:
        return self

    async def __anext__(self) -> SessionMessage | Exception:
        try:
            return await self.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            raise StopAsyncIteration from None

    async def __aenter__(self) -> _AnsweringReader:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> bool | None:
        await self.aclose()
        return None


def _is_request_without_valid_id(message: Any) -> bool:
    """A request method (not ``notifications/...``) that arrived without a usable id."""
    from mcp_types import JSONRPCNotification

    return isinstance(message, JSONRPCNotification) and not message.method.startswith(
        "notifications/"
    )


def _answers_for(exc: Exception) -> list[SessionMessage]:
    """JSON-RPC errors for a line the SDK could not parse (none for notifications/responses).

    Only the id is taken from the message; nothing else of it is echoed.
    """
    from mcp.shared.message import SessionMessage
    from mcp_types import ErrorData, JSONRPCError

    errors = exc.errors() if hasattr(exc, "errors") else []
    if any(e.get("type") == "json_invalid" for e in errors):
        return [
            SessionMessage(
                JSONRPCError(
                    jsonrpc="2.0",
                    id=None,
                    error=ErrorData(code=-32700, message="Parse error: the line is not JSON"),
                )
            )
        ]
    # The message itself: the input of a "missing field" error (the object lacking it) or of
    # a union member's top-level error; deeper errors carry only a part (params, id).
    tops = [e.get("input") for e in errors if e.get("type") == "missing"]
    tops += [e.get("input") for e in errors if len(e.get("loc", ())) <= 1]
    if not tops:
        logging.getLogger("autodocs").warning("unparsable message: %s", type(exc).__name__)
        return []
    original = tops[0]
    if isinstance(original, list):
        message = "Invalid request: batches are not supported; send one message per line"
        no_id: dict[str, Any] = {"id": None}
        answers = [
            _invalid(m if isinstance(m, dict) else no_id, message)
            for m in original[:MAX_BATCH_ANSWERS] or [no_id]
        ]
        return [a for a in answers if a is not None]
    text = "Invalid request: not a valid JSON-RPC 2.0 request"
    answer = _invalid(original if isinstance(original, dict) else {"id": None}, text)
    return [answer] if answer is not None else []


def _invalid(message: dict[str, Any], text: str) -> SessionMessage | None:
    """An ``Invalid Request`` answer to *message*, or None when it expects no answer."""
    from mcp.shared.message import SessionMessage
    from mcp_types import ErrorData, JSONRPCError

    if "id" not in message or "result" in message or "error" in message:
        return None  # a notification or a response: nothing to answer
    raw_id = message["id"]
    valid = isinstance(raw_id, (int, str)) and not isinstance(raw_id, bool)
    request_id = raw_id if valid and len(str(raw_id)) <= 200 else None
    return SessionMessage(
        JSONRPCError(jsonrpc="2.0", id=request_id, error=ErrorData(code=-32600, message=text))
    )
