"""Issue 14, adapter side: broad scan roots, tool failures as payloads, answers to bad JSON-RPC."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

pytest.importorskip("mcp")

from mcp_types import ListRootsResult, Root

from autodocs_core.config import Settings
from autodocs_core.deps import check_scan_root
from autodocs_core.errors import InvalidInputError
from autodocs_core.service import DocsService
from autodocs_core.testing import FakeClock, FaultIndex
from autodocs_mcp.server import build_server
from mcp import Client
from tests.mcp.test_server import payload

pytestmark = pytest.mark.anyio

BROAD = [
    "/",
    "/etc",
    "/etc/ssl",
    "/usr",
    "/usr/lib/python3",
    "/proc/self",
    "/var",
    "/opt",
    "/tmp",
    "/home",
    "/home/alice",
    "/Users/bob",
    "/root",
    "/System/Library",
    "/private/etc",
]
NARROW = ["/home/alice/project", "/opt/app", "/srv/app/src", "/var/www/site", "/tmp/work"]


@pytest.mark.parametrize("root", BROAD)
def test_broad_roots_are_refused(root: str) -> None:
    """The filesystem, system directories, shared top-level dirs and whole homes are refused."""
    with pytest.raises(InvalidInputError) as info:
        check_scan_root(Path(root), allow_broad=False, must_exist=False)
    assert info.value.details["root"] == Path(root).resolve().as_posix()  # symlinks followed
    check_scan_root(
        Path(root), allow_broad=True, must_exist=False
    )  # the operator's opt-in accepts it


@pytest.mark.parametrize("root", NARROW)
def test_project_directories_are_accepted(root: str) -> None:
    """A project directory, even under /opt, /var or a home, is an acceptable root."""
    check_scan_root(Path(root), allow_broad=False, must_exist=False)


def test_the_users_own_home_is_refused() -> None:
    """The home directory of the user running the server is refused as a whole."""
    with pytest.raises(InvalidInputError):
        check_scan_root(Path.home().resolve(), allow_broad=False, must_exist=False)


@given(
    tree=st.sampled_from(["/etc", "/usr", "/proc", "/sys", "/dev", "/boot", "/lib64"]),
    rest=st.lists(st.from_regex(r"[a-z0-9_.-]{1,12}", fullmatch=True), max_size=4),
)
def test_anything_inside_a_system_tree_is_refused(tree: str, rest: list[str]) -> None:
    """Every path inside a system tree is refused, however deep."""
    path = Path(tree, *[r for r in rest if r not in (".", "..")])
    with pytest.raises(InvalidInputError):
        check_scan_root(path, allow_broad=False, must_exist=False)


@asynccontextmanager
async def client_with_roots(
    projects: dict[str, Any],
    tmp_path: Path,
    roots: list[str],
    *,
    allow_broad_roots: bool = False,
    service: list[DocsService] | None = None,
) -> AsyncIterator[Client]:
    async def list_roots(context: Any) -> ListRootsResult:
        return ListRootsResult(roots=[Root(uri=uri) for uri in roots])  # type: ignore[arg-type]

    async with FaultIndex(projects) as index:
        settings = Settings(index_url=index.url, cache_dir=str(tmp_path / "cache"))

        def factory() -> DocsService:
            made = DocsService(settings, clock=FakeClock())
            if service is not None:
                service.append(made)
            return made

        server = build_server(service_factory=factory, allow_broad_roots=allow_broad_roots)
        async with Client(server, list_roots_callback=list_roots) as client:
            yield client


async def test_a_client_declaring_the_filesystem_root_reads_nothing(
    projects: dict[str, Any], tmp_path: Path
) -> None:
    """Roots of file:/// are refused: a .env anywhere is not read or echoed."""
    secret = tmp_path / "conf" / "requirements.txt"
    secret.parent.mkdir()
    secret.write_text("API_KEY=hunter2-very-secret\n")
    async with client_with_roots(projects, tmp_path, ["file:///"]) as client:
        result = await client.call_tool("scan_dependencies", {"project_path": str(secret)})
        default = await client.call_tool("scan_dependencies", {})
    data = payload(result)
    assert data["error_type"] == "invalid_input" and data["details"]["reason"]
    assert "hunter2" not in json.dumps(data)
    assert payload(default)["details"]["root"] == "/"


async def test_broad_roots_are_accepted_when_the_operator_allows_them(
    projects: dict[str, Any], tmp_path: Path
) -> None:
    """With allow_broad_roots the same root is used (the operator's choice)."""
    project = tmp_path / "p"
    project.mkdir()
    (project / "requirements.txt").write_text("attrs\n")
    async with client_with_roots(projects, tmp_path, ["file:///"], allow_broad_roots=True) as c:
        result = await c.call_tool("scan_dependencies", {"project_path": str(project)})
    assert [d["name"] for d in result.structured_content["dependencies"]] == ["attrs"]


async def test_without_a_path_the_scan_uses_the_first_allowed_root(
    projects: dict[str, Any], tmp_path: Path
) -> None:
    """No project_path: the client's first acceptable root, not the server's directory."""
    project = tmp_path / "workspace"
    project.mkdir()
    (project / "requirements.txt").write_text("attrs\n")
    async with client_with_roots(projects, tmp_path, ["file:///", project.as_uri()]) as client:
        result = await client.call_tool("scan_dependencies", {})
    assert not result.is_error, result.content
    assert [d["name"] for d in result.structured_content["dependencies"]] == ["attrs"]


async def test_the_most_specific_root_decides(projects: dict[str, Any], tmp_path: Path) -> None:
    """A path inside both / and a project root is scanned under the project root."""
    project = tmp_path / "workspace"
    project.mkdir()
    (project / "requirements.txt").write_text("attrs\n")
    async with client_with_roots(projects, tmp_path, ["file:///", project.as_uri()]) as client:
        result = await client.call_tool("scan_dependencies", {"project_path": str(project)})
    assert [d["name"] for d in result.structured_content["dependencies"]] == ["attrs"]


async def test_unknown_tool_is_a_documented_payload(
    projects: dict[str, Any], tmp_path: Path
) -> None:
    """Calling a tool that does not exist answers with the error payload, not SDK text."""
    async with client_with_roots(projects, tmp_path, []) as client:
        result = await client.call_tool("no_such_tool", {})
    assert payload(result)["error_type"] == "invalid_input"


async def test_an_unexpected_exception_is_a_generic_internal_error(
    projects: dict[str, Any], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A bug inside a tool reaches the client as internal_error; its message only in the log."""
    made: list[DocsService] = []
    async with client_with_roots(projects, tmp_path, [], service=made) as client:
        assert made == []  # the service opens on the first call, not before the handshake
        await client.call_tool("scan_dependencies", {})

        async def broken(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("leaked /etc/shadow contents")

        made[0].get_docs = broken  # type: ignore[method-assign]
        result = await client.call_tool("get_package_docs", {"package_name": "attrs"})
    data = payload(result)
    assert data["error_type"] == "internal_error"
    assert "shadow" not in json.dumps(data) and "Error executing" not in json.dumps(data)
    assert "leaked /etc/shadow" in caplog.text


async def test_a_relative_path_is_taken_from_the_first_allowed_root(
    projects: dict[str, Any], tmp_path: Path
) -> None:
    """project_path 'sub' means <first acceptable root>/sub, not <server's directory>/sub."""
    project = tmp_path / "workspace"
    (project / "sub").mkdir(parents=True)
    (project / "sub" / "requirements.txt").write_text("attrs\n")
    async with client_with_roots(projects, tmp_path, ["file:///", project.as_uri()]) as client:
        result = await client.call_tool("scan_dependencies", {"project_path": "sub"})
        escape = await client.call_tool("scan_dependencies", {"project_path": "../../.."})
    assert [d["name"] for d in result.structured_content["dependencies"]] == ["attrs"]
    assert payload(escape)["error_type"] == "invalid_input"


async def test_the_service_opens_once_on_the_first_call_and_closes_with_the_session(
    projects: dict[str, Any], tmp_path: Path
) -> None:
    """The handshake builds no service; concurrent first calls share one; the session closes it."""
    made: list[DocsService] = []
    async with client_with_roots(projects, tmp_path, [], service=made) as client:
        await client.list_tools()
        assert made == []  # initialize and tools/list need no HTTP client, TLS context or cache
        async with anyio.create_task_group() as tg:
            for _ in range(5):
                tg.start_soon(client.call_tool, "scan_dependencies", {})
        assert len(made) == 1
        await client.call_tool("scan_dependencies", {})
        assert len(made) == 1
        assert made[0].http._client is not None  # open
    assert made[0].http._client is None  # closed by the lifespan


def test_the_sdk_builds_no_rich_handler_next_to_ours(tmp_path: Path) -> None:
    """With our JSON handler on the root, building the server imports no rich (start-up cost).

    The SDK's rich handler would be discarded by ``logging.basicConfig`` anyway; without a
    root handler (a library use of ``build_server``) the SDK's default is left alone.
    """
    code = (
        "import logging, sys\n"
        "from autodocs_mcp.main import configure_logging\n"
        "from autodocs_core.config import Settings\n"
        "from autodocs_mcp.server import build_server\n"
        "configure_logging()\n"
        "handlers = list(logging.getLogger().handlers)\n"
        "build_server(Settings(cache_dir=sys.argv[1]))\n"
        "assert logging.getLogger().handlers == handlers\n"
        "assert None not in [sys.modules.get(m, 0) for m in ('rich.console', 'rich.logging')]\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'rich'))\n"
        "logging.getLogger().handlers.clear()\n"
        "build_server(Settings(cache_dir=sys.argv[1]))\n"
        "print('rich.logging' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert done.stdout.splitlines() == ["[]", "True"], done.stderr
