"""The MCP server through the official client, in memory: tools, schemas, errors, progress."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest

pytest.importorskip("mcp")

from autodocs_core.config import Settings
from autodocs_core.pypi import MAX_NAME_LENGTH
from autodocs_core.service import DocsService
from autodocs_core.testing import FakeClock, Fault, FaultIndex, FaultPlan
from autodocs_mcp.server import build_server
from mcp import Client

pytestmark = pytest.mark.anyio

TOOLS = {
    "get_package_docs",
    "get_api_reference",
    "get_package_docs_with_context",
    "get_docs_for_packages",
    "scan_dependencies",
}
OPERATOR_TOOLS = {"refresh_cache", "get_cache_stats", "health_check", "ready_check", "get_metrics"}
PAYLOAD_KEYS = ["error", "error_type", "details", "suggestions", "recovery_actions"]


@asynccontextmanager
async def connected(
    projects: dict[str, Any],
    tmp_path: Path,
    plan: FaultPlan | None = None,
    *,
    operator_tools: bool = True,
) -> AsyncIterator[tuple[Client, FaultIndex]]:
    async with FaultIndex(projects, plan=plan) as index:
        settings = Settings(index_url=index.url, cache_dir=str(tmp_path / "cache"))
        server = build_server(
            service_factory=lambda: DocsService(settings, clock=FakeClock()),
            operator_tools=operator_tools,
        )
        async with Client(server) as client:
            yield client, index


def payload(result: Any) -> dict[str, Any]:
    assert result.is_error
    data: dict[str, Any] = json.loads(result.content[0].text)
    assert list(data) == PAYLOAD_KEYS and data["suggestions"]
    return data


async def test_tools_are_listed_with_schemas_and_truthful_annotations(
    projects: dict[str, Any], tmp_path: Path
) -> None:
    """Every tool: described, strict input schema, output schema, read-only hints."""
    async with connected(projects, tmp_path) as (client, index):
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert index.count() == 0  # no network at start-up or listing
    assert set(tools) == TOOLS | OPERATOR_TOOLS
    for tool in tools.values():
        assert tool.description and len(tool.description) < 120
        assert tool.input_schema["additionalProperties"] is False
        assert tool.output_schema is not None
    assert tools["get_package_docs"].annotations.read_only_hint
    assert tools["get_package_docs"].annotations.open_world_hint
    assert tools["refresh_cache"].annotations.read_only_hint is False
    assert tools["refresh_cache"].annotations.destructive_hint is False
    props = tools["get_package_docs"].input_schema["properties"]
    assert props["package_name"]["maxLength"] == MAX_NAME_LENGTH  # the core's limit, not a copy
    assert props["max_tokens"]["maximum"] == 200_000
    assert props["max_tokens"]["type"] == ["integer", "null"]


async def test_get_package_docs_structured_and_text(
    projects: dict[str, Any], tmp_path: Path
) -> None:
    """Structured content carries the resolved version and provenance; text is the docs."""
    async with connected(projects, tmp_path) as (client, _):
        result = await client.call_tool(
            "get_package_docs", {"package_name": "Attrs", "version_constraint": ">=25"}
        )
        again = await client.call_tool("get_package_docs", {"package_name": "attrs"})
    assert not result.is_error
    data = result.structured_content
    assert data["package_name"] == "attrs" and data["version"] == "26.1.0"
    assert data["version_constraint"] == ">=25"
    assert (data["from_cache"], data["stale"]) == (False, False)
    assert data["fetched_at"] and "documentation" not in data  # the text carries it, once
    assert [c.type for c in result.content] == ["text"]
    assert result.content[0].text.startswith("# attrs 26.1.0")
    assert again.structured_content["from_cache"] is True


@pytest.mark.parametrize(
    ("arguments", "error_type"),
    [
        ({"package_name": "no-such-pkg"}, "package_not_found"),
        ({"package_name": "attrs", "version_constraint": ">=99"}, "version_not_found"),
        ({"package_name": "attrs", "version_constraint": ">=>1"}, "invalid_input"),
        ({"package_name": "not valid!"}, "invalid_input"),
        ({"package_name": "x" * 500}, "invalid_input"),
        ({"package_name": "attrs", "max_tokens": 10}, "invalid_input"),
        ({"package_name": "attrs", "unknown": True}, "invalid_input"),
        ({}, "invalid_input"),
    ],
)
async def test_failures_are_tool_errors_with_payloads(
    projects: dict[str, Any], tmp_path: Path, arguments: dict[str, Any], error_type: str
) -> None:
    """Every failure is isError with the JSON payload; the server goes on serving."""
    async with connected(projects, tmp_path) as (client, _):
        data = payload(await client.call_tool("get_package_docs", arguments))
        assert data["error_type"] == error_type
        assert "Traceback" not in json.dumps(data)
        ok = await client.call_tool("get_package_docs", {"package_name": "trio"})
        assert not ok.is_error


async def test_upstream_failure_payload(projects: dict[str, Any], tmp_path: Path) -> None:
    """An index outage with nothing cached: an upstream error payload, not a crash."""
    plan = FaultPlan(probabilities=[(Fault("status", status=503), 1.0)])
    async with connected(projects, tmp_path, plan) as (client, _):
        data = payload(await client.call_tool("get_package_docs", {"package_name": "trio"}))
    assert data["error_type"] in (
        "upstream_5xx",
        "circuit_open",
        "retry_budget_exhausted",
        "deadline_exceeded",
    )


async def test_many_packages_partial_result_with_progress(
    projects: dict[str, Any], tmp_path: Path
) -> None:
    """A list of requirements: successes, failures with payloads, and progress notifications."""
    seen: list[tuple[float, float | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total))

    async with connected(projects, tmp_path) as (client, _):
        result = await client.call_tool(
            "get_docs_for_packages",
            {
                "packages": ["attrs", "httpx>=0.28", "nope-nope", "trio>=99"],
                "max_tokens_per_package": 500,
            },
            progress_callback=on_progress,
        )
    assert not result.is_error
    data = result.structured_content
    assert [a["package_name"] for a in data["succeeded"]] == ["attrs", "httpx"]
    assert {f["key"]: f["error"]["error_type"] for f in data["failed"]} == {
        "nope-nope": "package_not_found",
        "trio>=99": "version_not_found",
    }
    assert data["success_rate"] == 0.5
    assert seen and seen[-1] == (4, 4)


async def test_context_scan_cache_health_ready_metrics(
    projects: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The remaining tools answer with structured content."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "requirements.txt").write_text("httpx>=0.27\n")
    monkeypatch.chdir(project)
    async with connected(projects, tmp_path) as (client, _):
        ctx = await client.call_tool(
            "get_package_docs_with_context", {"package_name": "trio", "max_tokens": 4000}
        )
        assert ctx.structured_content["tokens"] <= 4000
        assert ctx.structured_content["failed_dependencies"]
        scan = await client.call_tool("scan_dependencies", {})
        assert [d["name"] for d in scan.structured_content["dependencies"]] == ["httpx"]
        outside = await client.call_tool("scan_dependencies", {"project_path": str(tmp_path)})
        assert payload(outside)["error_type"] == "invalid_input"
        stats = await client.call_tool("get_cache_stats", {})
        assert stats.structured_content["entries"] >= 2
        refreshed = await client.call_tool("refresh_cache", {"package_name": "trio"})
        assert refreshed.structured_content["entries_removed"] >= 1
        health = await client.call_tool("health_check", {})
        assert health.structured_content["status"] in ("healthy", "degraded")
        ready = await client.call_tool("ready_check", {})
        assert ready.structured_content == {"ready": True, "reasons": []}
        metrics = await client.call_tool("get_metrics", {})
        calls = metrics.structured_content["metrics"]["calls"]
        assert any(c["operation"] == "get_docs_with_context" for c in calls)


async def test_cancelled_call_leaks_nothing(projects: dict[str, Any], tmp_path: Path) -> None:
    """A call the client abandons mid-flight leaves no in-flight count; the server goes on."""
    plan = FaultPlan(script=[Fault("hang")])
    async with connected(projects, tmp_path, plan) as (client, _):
        with anyio.move_on_after(0.3):
            await client.call_tool("get_package_docs", {"package_name": "attrs"})
        ok = await client.call_tool("get_package_docs", {"package_name": "trio"})
        assert not ok.is_error
        metrics = (await client.call_tool("get_metrics", {})).structured_content["metrics"]
        assert metrics["in_flight"]["get_docs"] == 0
        assert any(c["outcome"] == "cancelled" for c in metrics["calls"])


async def test_scan_is_confined_to_the_clients_roots(
    projects: dict[str, Any], tmp_path: Path
) -> None:
    """When the client offers roots, scans inside them work and paths outside are refused."""
    from mcp_types import ListRootsResult, Root

    inside = tmp_path / "workspace"
    inside.mkdir()
    (inside / "requirements.txt").write_text("attrs\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "requirements.txt").write_text("SECRET-NAME\n")

    async def roots(context: Any) -> ListRootsResult:
        return ListRootsResult(roots=[Root(uri=inside.as_uri(), name="workspace")])

    async with FaultIndex(projects) as index:
        settings = Settings(index_url=index.url, cache_dir=str(tmp_path / "cache"))
        server = build_server(service_factory=lambda: DocsService(settings, clock=FakeClock()))
        async with Client(server, list_roots_callback=roots) as client:
            ok = await client.call_tool("scan_dependencies", {"project_path": str(inside)})
            assert [d["name"] for d in ok.structured_content["dependencies"]] == ["attrs"]
            refused = await client.call_tool("scan_dependencies", {"project_path": str(elsewhere)})
    data = payload(refused)
    assert data["error_type"] == "invalid_input" and "SECRET" not in json.dumps(data)


async def test_default_tool_list_is_small_and_says_what_the_server_is_for(
    projects: dict[str, Any], tmp_path: Path
) -> None:
    """By default only the docs tools are listed, within the token budget, with a version."""
    bpe_openai = pytest.importorskip("bpe_openai")

    async with connected(projects, tmp_path, operator_tools=False) as (client, _):
        listed = await client.list_tools()
    assert {t.name for t in listed.tools} == TOOLS
    wire = listed.model_dump_json(by_alias=True, exclude_none=True)
    real = len(bpe_openai.get_encoding("cl100k_base").encode(wire))
    assert real < TOOL_LIST_TOKEN_BUDGET, real
    assert '"version":"0.' in wire or '"version": "0.' in wire  # serverInfo.version is set


TOOL_LIST_TOKEN_BUDGET = 1_500
"""The default tool list's size in (over-)counted tokens: it rides along in every conversation."""
