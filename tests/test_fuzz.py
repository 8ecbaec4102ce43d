"""Fuzz targets: any bytes into a parser of outside input give a result or an AutodocsError.

One target per parser of untrusted input: requirements, pyproject, lock files, setup.cfg, a
scanned file, index JSON (project and version documents), PEP 691 pages, core metadata, and
cache entries (the disk store's files and the cache's envelopes). Sized by the Hypothesis
profile (100 examples by default, 15 with AUTODOCS_HYPOTHESIS_PROFILE=fast).
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autodocs_core.cache import SCHEMA_VERSION, DiskStore, DocsCache, MemoryStore, cache_key
from autodocs_core.deps import scan_dependencies
from autodocs_core.deps._parsers import (
    Result,
    parse_pylock,
    parse_pyproject,
    parse_requirements_text,
    parse_setup_cfg,
    parse_uv_lock,
)
from autodocs_core.errors import AutodocsError
from autodocs_core.http import Body
from autodocs_core.pypi._parse import (
    metadata_from_core,
    metadata_from_info,
    project_from_json,
    simple_files,
)

# Text made of the pieces these formats are made of, so that the fuzzer gets past the first
# syntax check as well as failing it.
PIECES = st.sampled_from(
    [
        "[project]\n", "dependencies = [", "]", '"', "'", "attrs>=1", "pkg @ https://u:p@h/x",
        "[dependency-groups]\n", "g = [", '{include-group = "g"}', "[[package]]\n",
        'name = "x"\n', 'version = "1"\n', "source = { git = 'h' }\n", "[options]\n",
        "install_requires =\n", "    click\n", "-r r.txt\n", "-c c.txt\n", "-e .\n", "\\\n",
        "#", ";", " python_version < '3'", "[tool.poetry.dependencies]\n", "x = '^1.2'\n",
        "\n", "=", ",", "{", "}", "[[", "\x00", "\ufeff", "\r\n", "Version: 1.0\n",
    ]
)  # fmt: skip
# Nesting deep enough to exhaust a recursive parser (tomllib, json): RecursionError territory.
DEEP = st.integers(0, 5000).map(lambda n: "a = " + "[" * n + "]" * n + "\n")
TEXTS = st.one_of(
    DEEP,
    st.text(max_size=300),
    st.lists(PIECES, max_size=40).map("".join),
    st.binary(max_size=300).map(lambda b: b.decode("utf-8", "replace")),
)
KEYS = st.sampled_from(
    ["info", "releases", "version", "files", "filename", "url", "yanked", "requires_dist",
     "project_urls", "summary", "core-metadata", "x"]
)  # fmt: skip
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(KEYS | st.text(max_size=5), children, max_size=6)
    ),
    max_leaves=30,
)


def _no_include(target: str, group: str, line: int) -> Result:
    return Result()


@pytest.mark.parametrize(
    "parse",
    [
        lambda t: parse_requirements_text(t, source="r.txt", group="runtime", include=_no_include),
        lambda t: parse_pyproject(t, source="pyproject.toml"),
        lambda t: parse_uv_lock(t, source="uv.lock"),
        lambda t: parse_pylock(t, source="pylock.toml"),
        lambda t: parse_setup_cfg(t, source="setup.cfg"),
    ],
    ids=["requirements", "pyproject", "uv.lock", "pylock", "setup.cfg"],
)
@given(text=TEXTS)
def test_dependency_file_parsers_never_raise(parse: Any, text: str) -> None:
    """Any text: dependencies and problems, never an exception."""
    result = parse(text)
    assert isinstance(result, Result)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400) | TEXTS.map(str.encode))
def test_scanning_any_file_gives_a_result_or_an_autodocs_error(tmp_path: Path, data: bytes) -> None:
    """Any bytes as requirements.txt, pyproject.toml or uv.lock: a result or an AutodocsError."""
    for name in ("requirements.txt", "pyproject.toml", "uv.lock"):
        (tmp_path / name).write_bytes(data)
    with contextlib.suppress(AutodocsError):
        scan_dependencies(tmp_path)


@given(
    data=st.binary(max_size=300)
    | JSON.map(lambda v: json.dumps(v).encode())
    | st.integers(0, 200_000).map(lambda n: b"[" * n + b"]" * n)
)
def test_index_json_gives_a_project_or_malformed_response(data: bytes) -> None:
    """Any body of a project or version document: a model or an AutodocsError."""
    try:
        doc = Body("https://i.example/pypi/x/json", "application/json", data).json()
    except AutodocsError:
        return
    with contextlib.suppress(AutodocsError):
        project_from_json("x", doc, url="https://i.example/")
    try:
        info = doc.get("info") if isinstance(doc, dict) else doc
        metadata_from_info("x", info, source="version-json", url="https://i.example/")
    except AutodocsError:
        pass


@given(doc=JSON)
def test_pep691_pages_give_files_or_malformed_response(doc: Any) -> None:
    """Any decoded simple-API page: a list of file mappings or an AutodocsError."""
    try:
        files = simple_files(doc, url="https://i.example/simple/x/")
    except AutodocsError:
        return
    assert all(isinstance(f["filename"], str) and isinstance(f["url"], str) for f in files)


@given(text=TEXTS)
def test_core_metadata_gives_metadata_or_malformed_response(text: str) -> None:
    """Any core-metadata text: PackageMetadata or an AutodocsError."""
    with contextlib.suppress(AutodocsError):
        metadata_from_core("x", text, yanked=False, yanked_reason=None, url="https://i/")


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400))
def test_disk_entries_of_any_bytes_are_values_or_misses(tmp_path: Path, data: bytes) -> None:
    """Any bytes in an entry file: the stored value (only if it verifies) or a miss."""
    store = DiskStore(tmp_path)
    (tmp_path / "k.entry").write_bytes(data)
    assert anyio.run(store.get, "k") in (None, data.split(b"\n", 1)[-1])


ENVELOPES = st.one_of(
    st.binary(max_size=300),
    st.builds(
        lambda value, stored_at: json.dumps(
            {
                "schema": SCHEMA_VERSION,
                "key": cache_key("https://pypi.org", "project", "x"),
                "stored_at": stored_at,
                "value": value,
            }
        ).encode(),
        JSON,
        st.floats() | st.text(max_size=5) | st.none(),
    ),
)


@given(raw=ENVELOPES)
def test_cache_envelopes_of_any_content_are_values_or_misses(raw: bytes) -> None:
    """Any bytes under a cache key: a Cached value or a miss, never an exception."""

    async def read() -> object:
        store = MemoryStore()
        await store.put(cache_key("https://pypi.org", "project", "x"), raw)
        return await DocsCache(store).get_project("x")

    anyio.run(read)
