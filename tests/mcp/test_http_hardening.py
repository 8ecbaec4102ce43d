"""Issue 14, class 5: HTTP exposure (bind, token, Host/Origin, slow clients, probe contents)."""

from __future__ import annotations

import json
import logging
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

pytest.importorskip("mcp")

import anyio.lowlevel
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from autodocs_core.testing import FaultIndex
from autodocs_mcp.http import (
    BodyTimeoutMiddleware,
    HostOriginMiddleware,
    RefusalLog,
    allowed_hosts_for,
)
from autodocs_mcp.main import main
from tests.mcp.test_stdio import server_env

pytestmark = pytest.mark.anyio


def test_refusals_are_logged_at_most_once_per_interval(caplog: pytest.LogCaptureFixture) -> None:
    """Many refusals of one reason within the interval make one line; the next says how many."""
    now = [0.0]
    refusals = RefusalLog(10.0, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="autodocs"):
        written = [refusals.note("host", "Host 'evil'") for _ in range(50)]
        assert refusals.note("origin", "Origin 'x'")  # another reason has its own budget
        now[0] = 10.0
        assert refusals.note("host", "Host 'evil'")
    assert written.count(True) == 1
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3 and "49 more" in lines[-1]


def test_accept_errors_become_one_refusal_line(caplog: pytest.LogCaptureFixture) -> None:
    """Asyncio's per-accept 'out of system resource' tracebacks are dropped, noted once."""
    from autodocs_mcp.http import _AcceptErrorFilter

    accept_filter = _AcceptErrorFilter(RefusalLog(60.0, clock=lambda: 0.0))
    record = logging.LogRecord(
        "asyncio", logging.ERROR, __file__, 1, "socket.accept() out of system resource", (), None
    )
    other = logging.LogRecord("asyncio", logging.ERROR, __file__, 1, "something else", (), None)
    with caplog.at_level(logging.WARNING, logger="autodocs"):
        kept = [accept_filter.filter(record) for _ in range(1000)]
    assert not any(kept) and accept_filter.filter(other)
    assert len(caplog.records) == 1 and "descriptors" in caplog.records[0].getMessage()


def test_allowed_hosts() -> None:
    """Loopback names with the bound port; extra names with or without port; '*' and 0.0.0.0."""
    allowed = allowed_hosts_for("127.0.0.1", 8123)
    assert allowed is not None
    assert {"127.0.0.1:8123", "localhost:8123", "[::1]:8123"} <= allowed
    assert "localhost:80" not in allowed and "evil.example:8123" not in allowed
    extra = allowed_hosts_for("10.0.0.5", 8123, ["docs.example", "proxy.example:443"])
    assert extra is not None
    assert {"10.0.0.5:8123", "docs.example", "docs.example:8123", "proxy.example:443"} <= extra
    assert allowed_hosts_for("127.0.0.1", 1, ["*"]) is None
    assert allowed_hosts_for("0.0.0.0", 1) is None


def _app(allowed: frozenset[str] | None) -> Any:
    async def ok(request: Any) -> PlainTextResponse:
        return PlainTextResponse("ok")

    inner = Starlette(routes=[Route("/readyz", ok)])
    return HostOriginMiddleware(inner, allowed=allowed, refusals=RefusalLog())


@pytest.mark.parametrize(
    ("host", "origin", "status"),
    [
        ("127.0.0.1:8123", None, 200),
        ("localhost:8123", "http://localhost:8123", 200),
        ("evil.example:8123", None, 421),  # DNS rebinding: the page's own name
        ("127.0.0.1", None, 421),  # wrong port
        ("127.0.0.1:8123", "http://evil.example", 403),
        ("127.0.0.1:8123", "null", 403),
    ],
)
async def test_host_and_origin_are_checked(host: str, origin: str | None, status: int) -> None:
    """Host must be an allowed name with the bound port; Origin, when sent, an allowed host."""
    transport = httpx.ASGITransport(app=_app(allowed_hosts_for("127.0.0.1", 8123)))
    headers = {"host": host} | ({"origin": origin} if origin else {})
    async with httpx.AsyncClient(transport=transport, base_url="http://x") as http:
        response = await http.get("/readyz", headers=headers)
    assert response.status_code == status
    if status != 200:
        assert response.json()["error_type"] in ("misdirected_request", "forbidden_origin")


async def test_any_host_still_needs_a_same_origin() -> None:
    """With any Host allowed (wildcard bind), an Origin must still name the request's Host."""
    transport = httpx.ASGITransport(app=_app(None))
    async with httpx.AsyncClient(transport=transport, base_url="http://x") as http:
        same = await http.get("/readyz", headers={"host": "h:1", "origin": "https://h:1"})
        other = await http.get("/readyz", headers={"host": "h:1", "origin": "http://evil"})
    assert (same.status_code, other.status_code) == (200, 403)


async def test_a_stalled_request_body_gets_408() -> None:
    """A body that stops arriving is answered 408 once the body timeout passes."""
    sent: list[dict[str, Any]] = []
    received: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            received.append(message["type"])
            if message["type"] != "http.request" or not message.get("more_body"):
                break

    chunks = [{"type": "http.request", "body": b"{", "more_body": True}]

    async def receive() -> dict[str, Any]:
        if chunks:
            return chunks.pop()
        await anyio.sleep_forever()
        raise AssertionError  # pragma: no cover

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    guarded = BodyTimeoutMiddleware(app, timeout=0.05, refusals=RefusalLog())
    with anyio.fail_after(5):
        await guarded({"type": "http", "path": "/mcp"}, receive, send)
    assert received == ["http.request", "http.disconnect"]
    assert sent[0]["status"] == 408


@pytest.mark.parametrize(
    ("argv", "env", "named"),
    [
        (["--host", "0.0.0.0"], {}, "AUTODOCS_HTTP_TOKEN"),
        (["--host", "192.0.2.1"], {}, "--host"),
        ([], {"AUTODOCS_HTTP_TOKEN": ""}, "AUTODOCS_HTTP_TOKEN"),
        (["--token", ""], {}, "--token"),
        ([], {"AUTODOCS_HTTP_TOKEN": "two words"}, "AUTODOCS_HTTP_TOKEN"),
        ([], {"AUTODOCS_HTTP_TOKEN": "caf\u00e9"}, "AUTODOCS_HTTP_TOKEN"),
        ([], {"AUTODOCS_HTTP_HEADER_TIMEOUT": "soon"}, "AUTODOCS_HTTP_HEADER_TIMEOUT"),
        ([], {"AUTODOCS_HTTP_ALLOWED_HOSTS": "a b"}, "AUTODOCS_HTTP_ALLOWED_HOSTS"),
        (["--token", "two words"], {"AUTODOCS_HTTP_TOKEN": "fine"}, "--token"),
    ],
)
def test_unsafe_http_configuration_stops_start_up(
    argv: list[str],
    env: dict[str, str],
    named: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A public bind without token, an empty or unprintable token: exit 2, one JSON error."""
    monkeypatch.delenv("AUTODOCS_HTTP_TOKEN", raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    assert main(["--transport", "http", "--port", "0", *argv]) == 2
    captured = capsys.readouterr()
    payload = json.loads(captured.err.strip().splitlines()[-1])
    assert payload["error_type"] == "config_error" and captured.out == ""
    assert named in json.dumps(payload)


class FakeTransport:
    """Just enough of an asyncio transport for uvicorn's protocol."""

    def __init__(self) -> None:
        self.closed = False
        self.written = b""

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 1) if name in ("peername", "sockname") else default

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def write(self, data: bytes) -> None:
        self.written += data

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def test_connection_limit_and_head_timer(anyio_backend: str) -> None:
    """Connections beyond the limit close at once; a head timer runs until a full head arrives."""
    if anyio_backend != "asyncio":
        pytest.skip("uvicorn's protocol runs on asyncio")
    import uvicorn
    from uvicorn.server import ServerState

    from autodocs_mcp.http import HttpLimits, _protocol_class

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    config = uvicorn.Config(app, lifespan="off", log_config=None)
    refusals = RefusalLog()
    protocol = _protocol_class(HttpLimits(header_timeout=600, max_connections=2), refusals)
    state = ServerState()
    made = [protocol(config=config, server_state=state, app_state={}) for _ in range(3)]
    transports = [FakeTransport() for _ in made]
    for proto, transport in zip(made, transports, strict=True):
        proto.connection_made(transport)
    assert [t.closed for t in transports] == [False, False, True]
    first, second = made[0], made[1]
    assert first._head_timer is not None
    first.data_received(b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert first._head_timer is None  # a complete head arrived
    second.data_received(b"GET /readyz HTTP/1.1\r\nHost: x")  # half a head
    assert second._head_timer is not None
    second._head_timeout(None)  # what the timer calls when it fires (no request since arming)
    assert transports[1].closed
    for proto in made:
        proto.connection_lost(None)
    await anyio.lowlevel.checkpoint()  # let the first request's task finish


FD_LIMIT = 64
"""The server's descriptor limit in the subprocess test: 50 idle sockets exhaust it."""


@asynccontextmanager
async def http_server(
    index_url: str, tmp_path: Path, *args: str, **env: str
) -> AsyncIterator[tuple[str, int]]:
    # A low descriptor limit makes idle connections a real lock-out (the 300 sockets).
    command = [sys.executable, "-m", "autodocs_mcp", "--transport", "http", "--port", "0"]
    process = await anyio.open_process(
        ["sh", "-c", f'ulimit -n {FD_LIMIT} && exec "$@"', "sh", *command, *args],
        env=server_env(index_url, tmp_path, AUTODOCS_SHUTDOWN_GRACE="1", **env),
    )
    assert process.stderr is not None
    buffer = b""
    port = 0
    try:
        with anyio.fail_after(30):
            while not port:
                buffer += await process.stderr.receive()
                for line in buffer.split(b"\n"):
                    if b"listening on" in line:
                        port = json.loads(line)["port"]
        yield f"http://127.0.0.1:{port}", port
    finally:
        process.kill()
        await process.wait()


async def test_http_server_checks_host_hides_the_index_and_drops_idle_connections(
    projects: dict[str, Any], tmp_path: Path, anyio_backend: str
) -> None:
    """Probes check Host/Origin and omit the index URL; idle sockets cannot lock out /readyz.

    The server may hold 64 descriptors: 51 idle or half-sent connections exhaust them (today's
    code never frees them: /readyz stays unanswered); the 1 s head timeout frees them.
    """
    if anyio_backend != "asyncio":
        pytest.skip("the server under test is its own process: once is enough")
    async with (
        FaultIndex(projects) as index,
        http_server(index.url, tmp_path, "--token", "s3cret", AUTODOCS_HTTP_HEADER_TIMEOUT="1") as (
            base,
            port,
        ),
        httpx.AsyncClient() as http,
    ):
        rebound = await http.get(f"{base}/readyz", headers={"host": f"evil.example:{port}"})
        assert rebound.status_code == 421
        foreign = await http.get(f"{base}/healthz", headers={"origin": "http://evil.example"})
        assert foreign.status_code == 403
        public = await http.get(f"{base}/healthz")
        assert public.status_code == 200 and "127.0.0.1" not in public.text
        assert set(public.json()["checks"]["index"]) == {"status"}
        full = await http.get(f"{base}/healthz", headers={"authorization": "Bearer s3cret"})
        assert index.url.split("//")[1] in full.text

        idle = [socket.create_connection(("127.0.0.1", port), timeout=8) for _ in range(50)]
        slow = socket.create_connection(("127.0.0.1", port), timeout=8)
        slow.sendall(b"GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never finishes
        try:
            with anyio.fail_after(10):
                assert (await http.get(f"{base}/readyz", timeout=10)).status_code == 200
            with anyio.fail_after(10):  # closed by the server after the 1 s header timeout
                for sock in [*idle, slow]:
                    assert await anyio.to_thread.run_sync(sock.recv, 1) == b""
        finally:
            for sock in [*idle, slow]:
                sock.close()


def test_the_operator_can_opt_in_to_a_public_bind_without_token() -> None:
    """--allow-remote-without-token (and loopback, and a token) pass the exposure check."""
    from autodocs_mcp.main import _check_exposure

    _check_exposure("0.0.0.0", None, allow=True)
    _check_exposure("::1", None, allow=False)
    _check_exposure("localhost", None, allow=False)
    _check_exposure("0.0.0.0", "s3cret", allow=False)
