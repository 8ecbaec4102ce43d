"""The tools' wire: schemas derived from the core's attrs classes, values from its converter."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

pytest.importorskip("mcp")
pytest.importorskip("jsonschema")

import jsonschema

import autodocs_mcp
from autodocs_core.cache import CacheStats
from autodocs_core.config import Settings
from autodocs_core.observability import Readiness
from autodocs_core.service import ApiAnswer, DocsAnswer
from autodocs_mcp import _wire
from autodocs_mcp import server as server_module
from autodocs_mcp.server import OPERATOR_TOOLS, TOOLS, build_server, sdk_lowlevel_server
from mcp import Client

from .test_server import connected

FIXTURE = Path(__file__).parent.parent / "fixtures" / "tools_list.json"


async def _listed(operator_tools: bool) -> list[dict[str, Any]]:
    server = build_server(Settings(), operator_tools=operator_tools)
    async with Client(server) as client:
        tools = (await client.list_tools()).tools
    return [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools]


@pytest.mark.anyio
async def test_published_tool_list_is_unchanged() -> None:
    """tools/list is the JSON published before the schemas were derived (input and output)."""
    want = json.loads(FIXTURE.read_text())
    assert await _listed(False) == want["default"]
    assert await _listed(True) == want["operator"]


def test_output_schemas_are_the_wire_shapes() -> None:
    """Each registered tool publishes its wire shape's schema; the tools are module functions."""
    server = build_server(Settings(), operator_tools=True)
    for reg in (*TOOLS, *OPERATOR_TOOLS):
        tool = server.registered[reg.fn.__name__]
        assert tool.output_schema == reg.wire.schema()
        assert getattr(server_module, reg.fn.__name__) is reg.fn  # module level, not a closure


@pytest.mark.anyio
async def test_structured_content_fits_the_output_schema(
    projects: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every tool's answer validates against its published schema, with exactly its fields."""
    (tmp_path / "requirements.txt").write_text("httpx>=0.27\n")
    monkeypatch.chdir(tmp_path)
    calls: dict[str, dict[str, Any]] = {
        "get_package_docs": {"package_name": "attrs"},
        "get_package_docs_with_context": {"package_name": "trio"},
        "get_docs_for_packages": {"packages": ["attrs", "nope-nope"]},
        "scan_dependencies": {},
        "refresh_cache": {"package_name": "trio"},
        "get_cache_stats": {},
        "health_check": {},
        "ready_check": {},
        "get_metrics": {},
    }
    async with connected(projects, tmp_path) as (client, _):
        schemas = {t.name: t.output_schema for t in (await client.list_tools()).tools}
        assert set(schemas) == {*calls, "get_api_reference"}  # its values: the property below
        for name, arguments in calls.items():
            result = await client.call_tool(name, arguments)
            assert not result.is_error, (name, result.content)
            data = result.structured_content
            jsonschema.validate(data, schemas[name])
            assert set(data) == set(schemas[name]["properties"]), name


def _fits(wire: _wire.Wire[Any], value: Any) -> None:
    data = json.loads(json.dumps(wire.value(value)))
    schema = wire.schema()
    jsonschema.validate(data, schema)
    assert set(data) == set(schema["properties"])


_TEXT = st.text(max_size=20)
for _cls in (DocsAnswer, ApiAnswer, CacheStats, Readiness):
    attrs.resolve_types(_cls)  # string annotations -> types, so Hypothesis can build them


@given(
    docs=st.builds(DocsAnswer, warnings=st.lists(_TEXT, max_size=3).map(tuple)),
    api=st.builds(
        ApiAnswer,
        entries=st.lists(_TEXT, max_size=3).map(tuple),
        missing=st.lists(_TEXT, max_size=3).map(tuple),
        skipped_modules=st.lists(st.tuples(_TEXT, _TEXT), max_size=3).map(tuple),
        warnings=st.lists(_TEXT, max_size=3).map(tuple),
    ),
    stats=st.builds(CacheStats),
    ready=st.builds(Readiness, reasons=st.lists(_TEXT, max_size=3).map(tuple)),
)
def test_any_value_fits_its_schema(
    docs: DocsAnswer, api: ApiAnswer, stats: CacheStats, ready: Readiness
) -> None:
    """Whatever the attrs values hold, the converter's output fits the derived schema."""
    _fits(_wire.DOCS, docs)
    _fits(_wire.API, api)
    _fits(_wire.CACHE_STATS, stats)
    _fits(_wire.READY, ready)
    assert "documentation" not in _wire.DOCS.value(docs)  # the text travels as content
    assert _wire.DOCS.value(docs)["stale_age_seconds"] == docs.stale_age


def test_schema_of_types() -> None:
    """Scalars, optionals, lists, mappings; an unknown type is refused, not guessed."""
    assert _wire.schema_of(int | None) == {"type": ["integer", "null"]}
    assert _wire.schema_of(list[str] | None) == {
        "anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "null"}]
    }
    assert _wire.schema_of(tuple[DocsAnswer, ...]) == {
        "type": "array",
        "items": {"type": "object"},
    }
    with pytest.raises(TypeError):
        _wire.schema_of(set[int])
    with pytest.raises(TypeError):
        _wire.schema_of(DocsAnswer)  # a nested object outside a list is a decision to make


def test_the_adapter_uses_one_private_sdk_attribute_behind_one_function() -> None:
    """No private SDK attribute but ``_lowlevel_server``, read in one place, and still there."""
    source = Path(autodocs_mcp.__file__).parent
    uses = {
        (path.name, match)
        for path in source.glob("*.py")
        for match in re.findall(r"\b(?:server|self|app)\._[a-z]\w*", path.read_text())
        if not match.startswith("self._")
    }
    assert uses == {("server.py", "server._lowlevel_server")}
    private_modules = [
        m
        for path in source.glob("*.py")
        for m in re.findall(r"(?:from|import) (mcp\w*(?:\.\w+)*\._\w+)", path.read_text())
    ]
    assert private_modules == []
    lowlevel = sdk_lowlevel_server(build_server(Settings()))
    assert callable(lowlevel.run) and callable(lowlevel.create_initialization_options)
