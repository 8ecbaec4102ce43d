"""API reference end to end: DocsService over a loopback index that serves real wheels."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from autodocs_core.config import Settings
from autodocs_core.errors import CacheError
from autodocs_core.service import DocsService
from autodocs_core.testing import FakeClock, FaultIndex
from autodocs_core.testing._index import wheel_filename

from .builders import make_zip

pytestmark = pytest.mark.anyio

CLIENT = b'''"""A tiny HTTP client, shaped like httpx."""

from typing import Literal

HttpVersion = Literal["HTTP/1.1", "HTTP/2"]


class Timeout:
    """Timeout configuration.

    Args:
        timeout: Seconds for every phase.
        connect: Seconds to establish a connection.
    """

    def __init__(self, timeout: float = 5.0, *, connect: float | None = None) -> None:
        self.timeout = timeout


class Client:
    """An HTTP client with connection pooling.

    Example:
        >>> client = Client(timeout=10.0)
    """

    def __init__(
        self,
        *,
        timeout: Timeout | float = 5.0,
        proxy: str | None = None,
        http_version: HttpVersion = "HTTP/1.1",
    ) -> None:
        self.timeout = timeout

    def get(self, url: str, *, params: dict[str, str] | None = None) -> "Response":
        """Send a GET request.

        Args:
            url: The URL.
            params: Query parameters.
        """
        raise NotImplementedError


class Response:
    """An HTTP response."""

    status_code: int
'''

INIT = b'''"""httpx (a test double)."""

from ._client import Client, HttpVersion, Response, Timeout

__all__ = ["Client", "HttpVersion", "Response", "Timeout"]
'''


def httpx_wheel(version: str, *, with_metadata: bool = True) -> bytes:
    """A pure wheel of the fake httpx *version*: two modules and its dist-info."""
    members = {"httpx/__init__.py": INIT, "httpx/_client.py": CLIENT}
    if with_metadata:
        members[f"httpx-{version}.dist-info/METADATA"] = (
            f"Metadata-Version: 2.1\nName: httpx\nVersion: {version}\nSummary: From the wheel\n"
            "Requires-Dist: anyio\n\nThe long description from the wheel.\n"
        ).encode()
    members[f"httpx-{version}.dist-info/RECORD"] = b""
    return make_zip(members)


def service_for(index: FaultIndex, tmp_path: Path, **settings: Any) -> DocsService:
    return DocsService(
        Settings(index_url=index.url, cache_dir=str(tmp_path / "cache"), **settings),
        clock=FakeClock(),
    )


async def test_symbol_lookup_reads_the_wheel_once_then_serves_from_cache(
    projects: dict[str, Any], tmp_path: Path
) -> None:
    """A dotted symbol is answered from the exact release's wheel, then from the cache."""
    wheel = wheel_filename("httpx", "0.28.1")
    async with FaultIndex(projects, files={wheel: httpx_wheel("0.28.1")}) as index:
        async with service_for(index, tmp_path) as service:
            answer = await service.get_api_reference("httpx", symbol="httpx.Client.get")
            requests, sent = index.served(wheel)
            again = await service.get_api_reference("httpx", "==0.28.1", symbol="httpx.Client")
        assert index.served(wheel) == (requests, sent)  # the second answer read nothing
    assert (answer.version, answer.artifact) == ("0.28.1", wheel)
    assert answer.artifact_sha256 and len(answer.artifact_sha256) == 64
    assert answer.entries[0] == "httpx.Client.get"
    assert "params" in answer.documentation and "Send a GET request" in answer.documentation
    assert requests == 1 and sent == len(httpx_wheel("0.28.1"))  # a small wheel: read whole
    assert (answer.from_cache, again.from_cache) == (False, True)
    assert again.entries[0] == "httpx.Client"


async def test_a_parameter_the_version_lacks_is_named_with_the_nearest(
    projects: dict[str, Any], tmp_path: Path
) -> None:
    """Asking for `Client(proxies=...)` on a version that has `proxy` says so explicitly."""
    wheel = wheel_filename("httpx", "0.28.1")
    async with (
        FaultIndex(projects, files={wheel: httpx_wheel("0.28.1")}) as index,
        service_for(index, tmp_path) as service,
    ):
        answer = await service.get_api_reference("httpx", query="Client(proxies=...)")
    assert answer.missing and "proxies" in answer.missing[0] and "proxy" in answer.missing[0]
    assert "proxies" in answer.documentation


async def test_docs_with_a_query_rank_api_entries_with_the_readme(
    projects: dict[str, Any], tmp_path: Path
) -> None:
    """get_docs with a query answers from the API and the README in one list."""
    wheel = wheel_filename("httpx", "0.28.1")
    async with (
        FaultIndex(projects, files={wheel: httpx_wheel("0.28.1")}) as index,
        service_for(index, tmp_path) as service,
    ):
        plain = await service.get_docs("httpx", max_tokens=2000)
        asked = await service.get_docs("httpx", query="Timeout connect", max_tokens=2000)
    assert "Timeout" in asked.documentation and "connect" in asked.documentation
    assert "Seconds to establish a connection" in asked.documentation
    assert "Seconds to establish a connection" not in plain.documentation  # no query: README


async def test_docs_still_answer_when_the_api_cannot_be_read(
    projects: dict[str, Any], tmp_path: Path
) -> None:
    """No readable artifact: get_docs with a query answers from the README, with a warning."""
    async with FaultIndex(projects) as index, service_for(index, tmp_path) as service:
        answer = await service.get_docs("httpx", query="timeouts", max_tokens=1000)
    assert answer.version == "0.28.1" and answer.documentation
    assert any("No API reference" in w for w in answer.warnings)


async def test_metadata_comes_from_the_wheel_when_the_index_publishes_none(
    projects: dict[str, Any], tmp_path: Path
) -> None:
    """An older release with no per-version JSON and no PEP 658 file: METADATA from the tail."""
    old = "0.27.0"
    assert old in projects["httpx"]["releases"]
    wheel = wheel_filename("httpx", old)
    async with FaultIndex(projects, files={wheel: httpx_wheel(old)}) as index:
        assert wheel not in index.metadata  # the index has no .metadata file for it
        async with service_for(index, tmp_path) as service:
            answer = await service.get_docs("httpx", f"=={old}", max_tokens=1000)
        reads = [r for r in index.requests if r.path == f"/files/{wheel}"]
    assert answer.version == old
    assert "From the wheel" in answer.documentation
    assert len(reads) == 1  # one read (a small wheel: the tail read is the whole file)


async def test_offline_without_a_cached_reference_says_so(
    projects: dict[str, Any], tmp_path: Path
) -> None:
    """Offline mode: a reference never read is a CacheError that names offline mode."""
    wheel = wheel_filename("httpx", "0.28.1")
    async with FaultIndex(projects, files={wheel: httpx_wheel("0.28.1")}) as index:
        async with service_for(index, tmp_path) as service:
            await service.get_docs("httpx", "==0.28.1")  # docs cached, API not
        async with service_for(index, tmp_path, offline=True) as service:
            with pytest.raises(CacheError) as raised:
                await service.get_api_reference("httpx", "==0.28.1", symbol="httpx.Client")
    assert raised.value.details["offline"] is True


@pytest.mark.parametrize("symbol", ["not a symbol", "a..b", "x" * 400, "1abc"])
async def test_bad_symbols_are_refused_before_any_request(
    projects: dict[str, Any], tmp_path: Path, symbol: str
) -> None:
    """A symbol that is not a dotted Python name is invalid input; nothing is fetched."""
    from autodocs_core.errors import InvalidInputError

    async with FaultIndex(projects) as index, service_for(index, tmp_path) as service:
        with pytest.raises(InvalidInputError):
            await service.get_api_reference("httpx", symbol=symbol)
    assert index.count() == 0


async def test_mcp_tool(
    projects: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The MCP tool answers from the same service: structured fields, the text once."""
    pytest.importorskip("mcp")
    from autodocs_mcp.server import build_server
    from mcp import Client

    wheel = wheel_filename("httpx", "0.28.1")
    async with FaultIndex(projects, files={wheel: httpx_wheel("0.28.1")}) as index:
        settings = Settings(index_url=index.url, cache_dir=str(tmp_path / "cache"))
        server = build_server(service_factory=lambda: DocsService(settings, clock=FakeClock()))
        async with Client(server) as client:
            tools = {t.name for t in (await client.list_tools()).tools}
            result = await client.call_tool(
                "get_api_reference", {"package_name": "httpx", "symbol": "httpx.Timeout"}
            )
    assert "get_api_reference" in tools
    assert not result.is_error
    data = result.structured_content
    assert data["artifact"] == wheel and data["entries"][0] == "httpx.Timeout"
    assert "documentation" not in data and "connect" in result.content[0].text
    json.dumps(data)  # plain JSON


async def test_a_very_large_package_is_read_for_the_query_and_kept_in_memory(
    projects: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A huge package parses only what is asked (partial, uncached); asking again is free."""
    monkeypatch.setattr("autodocs_core.apiref._reader.LARGE_PACKAGE_MODULES", 1)
    wheel = wheel_filename("httpx", "0.28.1")
    async with (
        FaultIndex(projects, files={wheel: httpx_wheel("0.28.1")}) as index,
        service_for(index, tmp_path) as service,
    ):
        first = await service.get_api_reference("httpx", symbol="httpx.Timeout")
        reads = index.served(wheel)[0]
        again = await service.get_api_reference("httpx", symbol="httpx.Timeout")
        assert index.served(wheel)[0] == reads  # no second read
    assert first.partial and again.partial
    assert first.entries[0] == "httpx.Timeout"
    assert not again.from_cache  # partial references never come from the cache


async def test_extraction_stops_at_the_deadline_with_a_labelled_partial_answer(
    projects: dict[str, Any], tmp_path: Path
) -> None:
    """When the deadline leaves no time to parse, the answer is partial and says why."""
    wheel = wheel_filename("httpx", "0.28.1")
    async with (
        FaultIndex(projects, files={wheel: httpx_wheel("0.28.1")}) as index,
        service_for(index, tmp_path, deadline=0.5) as service,  # all of it kept in reserve
    ):
        answer = await service.get_api_reference("httpx", symbol="httpx.Client")
    assert answer.partial
    assert answer.skipped_modules and all(r == "deadline" for _, r in answer.skipped_modules)
    assert "partial" in answer.documentation.lower()


async def test_a_release_without_any_file_is_a_clear_not_found(
    projects: dict[str, Any], tmp_path: Path
) -> None:
    """No wheel or sdist listed for the version: a NotFoundError that says what to do."""
    from autodocs_core.apiref import ApiReader
    from autodocs_core.errors import NotFoundError
    from autodocs_core.pypi import SimplePage
    from autodocs_core.resilience import Deadline

    class NoFiles:
        async def get_files(self, name: str, *, deadline: Deadline) -> SimplePage:
            return SimplePage("https://index.example/simple/demo/", ())

    reader = ApiReader(NoFiles())  # type: ignore[arg-type]
    with pytest.raises(NotFoundError) as raised:
        await reader.get_index("demo", "1.0", deadline=Deadline.after(5, FakeClock()))
    assert raised.value.suggestions and "get_package_docs" in raised.value.suggestions[0]


def _project(name: str, version: str) -> dict[str, Any]:
    """A minimal JSON API document of one release."""
    info = {"name": name, "version": version, "summary": f"{name} summary", "description": ""}
    return {"info": info, "releases": {version: [{"yanked": False}]}}


async def test_compiled_code_without_stubs_uses_the_types_distribution(tmp_path: Path) -> None:
    """A release with neither sources nor stubs takes its signatures from `types-<name>`."""
    compiled = make_zip(
        {
            "demo/_speedups.cpython-311-x86_64-linux-gnu.so": b"\x7fELF",
            "demo-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
        }
    )
    stubs = make_zip(
        {
            "demo-stubs/__init__.pyi": b"def fast(data: bytes, *, level: int = 3) -> bytes: ...\n",
            "types_demo-1.0.0.20240101.dist-info/METADATA": b"Name: types-demo\n",
        }
    )
    projects = {
        "demo": _project("demo", "1.0"),
        "types-demo": _project("types-demo", "1.0.0.20240101"),
    }
    files = {
        wheel_filename("demo", "1.0"): compiled,
        wheel_filename("types-demo", "1.0.0.20240101"): stubs,
    }
    async with (
        FaultIndex(projects, files=files) as index,
        service_for(index, tmp_path) as service,
    ):
        answer = await service.get_api_reference("demo", symbol="demo.fast")
    assert answer.entries[0] == "demo.fast" and "level: int = 3" in answer.documentation
    assert answer.artifact == wheel_filename("types-demo", "1.0.0.20240101")
    assert not answer.has_docstrings
    assert "types-demo 1.0.0.20240101" in answer.documentation


async def test_compiled_code_without_any_stubs_says_so(tmp_path: Path) -> None:
    """Neither sources, stubs nor a types- distribution: the answer says it plainly."""
    compiled = make_zip({"demo/_speedups.so": b"\x7fELF"})
    async with (
        FaultIndex(
            {"demo": _project("demo", "1.0")}, files={wheel_filename("demo", "1.0"): compiled}
        ) as index,
        service_for(index, tmp_path) as service,
    ):
        answer = await service.get_api_reference("demo")
    assert not answer.entries
    assert "No API reference can be extracted from this release" in answer.documentation


async def test_the_reference_is_cached_on_disk_compactly_and_serves_offline(
    projects: dict[str, Any], tmp_path: Path
) -> None:
    """A reference read once answers a new process offline; on disk it is the gzip'd form."""
    from autodocs_core import unstructure

    wheel = wheel_filename("httpx", "0.28.1")
    async with FaultIndex(projects, files={wheel: httpx_wheel("0.28.1")}) as index:
        async with service_for(index, tmp_path) as service:
            first = await service.get_api_reference("httpx", "==0.28.1", symbol="httpx.Timeout")
            cached = await service.cache.get("apiref", "httpx", "0.28.1")
            assert cached is not None
            plain = len(json.dumps(unstructure(cached.value)))
        reads = index.served(wheel)[0]
        async with service_for(index, tmp_path, offline=True) as service:  # a new process
            again = await service.get_api_reference("httpx", "==0.28.1", symbol="httpx.Timeout")
        assert index.served(wheel)[0] == reads
    assert again.from_cache and again.entries == first.entries
    import re

    def unfenced(text: str) -> str:  # the fence's nonce is new in every answer
        return re.sub(r'id="[0-9a-f]+"', "", text)

    assert unfenced(again.documentation) == unfenced(first.documentation)
    entries = list((tmp_path / "cache").rglob("*apiref*"))
    assert entries and sum(p.stat().st_size for p in entries if p.is_file()) < plain


async def test_api_references_have_their_own_byte_budget(tmp_path: Path) -> None:
    """References live in their own store; statistics and refresh cover both stores."""
    from autodocs_core.apiref import ApiIndex, Artifact
    from autodocs_core.cache import DiskStore, DocsCache

    docs_store = DiskStore(tmp_path / "cache", max_bytes=1 << 20)
    api_store = DiskStore(tmp_path / "cache" / "_apiref", max_bytes=1 << 20)
    cache = DocsCache(docs_store, stores={"apiref": api_store}, clock=FakeClock())
    index = ApiIndex(name="demo", version="1.0", artifact=Artifact("demo-1.0-py3-none-any.whl", ""))
    assert await cache.put("apiref", "demo", "1.0", index)
    assert (await docs_store.stats()).entries == 0  # nested "_" directories are not its own
    assert (await api_store.stats()).entries == 1
    assert (await cache.stats()).entries == 1
    assert await cache.refresh("demo") >= 1
    assert (await api_store.stats()).entries == 0
