"""Hostile or odd index data: deep nesting, padded versions, non-normalised latest versions."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from autodocs_core.errors import MalformedResponse
from autodocs_core.http import Body, HttpClient, HttpConfig
from autodocs_core.pypi import IndexClient, IndexConfig
from autodocs_core.pypi._parse import project_from_json
from autodocs_core.pypi._versions import resolve_version
from autodocs_core.testing import FakeClock, FaultIndex

FAST = HttpConfig(read_timeout=0.5, header_timeout=None)


@pytest.mark.parametrize("doc", [b"[" * 200_000 + b"]" * 200_000, b'{"a":' * 100_000 + b"1"])
def test_deeply_nested_json_is_a_malformed_response(doc: bytes) -> None:
    """json.loads' RecursionError on deep nesting becomes MalformedResponse, not a crash."""
    with pytest.raises(MalformedResponse):
        Body("https://index.example/pypi/x/json", "application/json", doc).json()


def _renamed(doc: dict[str, Any], versions: dict[str, str], latest: str) -> dict[str, Any]:
    """A copy of *doc* with release keys renamed (old -> new) and info.version set."""
    out = copy.deepcopy(doc)
    out["releases"] = {versions.get(k, k): v for k, v in out["releases"].items()}
    out["info"]["version"] = latest
    return out


def test_versions_with_surrounding_whitespace_are_stripped(projects: dict[str, Any]) -> None:
    """Padded versions (' 26.1.0 ', a tab and a newline) are one version: 26.1.0."""
    doc = _renamed(projects["attrs"], {"26.1.0": " 26.1.0 "}, "\t26.1.0\n")
    project = project_from_json("attrs", doc, url="https://i/")
    assert project.latest.version == "26.1.0"
    assert [r.version for r in project.releases].count("26.1.0") == 1
    assert all(r.version == r.version.strip() for r in project.releases)
    assert resolve_version("attrs", project.releases, None).version == "26.1.0"
    assert resolve_version("attrs", project.releases, "==25.4.0").version == "25.4.0"


def test_a_non_normalised_latest_resolves_to_the_index_spelling(projects: dict[str, Any]) -> None:
    """2024.07.04 stays 2024.07.04 (not 2024.7.4), so 'latest' matches the info block."""
    doc = _renamed(projects["attrs"], {"26.1.0": "2024.07.04"}, "2024.07.04")
    project = project_from_json("attrs", doc, url="https://i/")
    assert resolve_version("attrs", project.releases, None).version == "2024.07.04"
    assert resolve_version("attrs", project.releases, "==2024.7.4").version == "2024.07.04"


def test_info_and_releases_spelling_the_latest_differently_are_one_release(
    projects: dict[str, Any],
) -> None:
    """Info says 2024.07.04, releases 2024.7.4: one release, spelled as info spells it."""
    doc = _renamed(projects["attrs"], {"26.1.0": "2024.7.4"}, "2024.07.04")
    project = project_from_json("attrs", doc, url="https://i/")
    latest = [r for r in project.releases if r.version.startswith("2024")]
    assert [r.version for r in latest] == ["2024.07.04"]


@pytest.mark.anyio
@pytest.mark.parametrize("releases_spelling", ["2024.07.04", "2024.7.4"])
async def test_a_non_normalised_latest_costs_one_request_and_is_found(
    projects: dict[str, Any], releases_spelling: str
) -> None:
    """Latest docs of a package whose version is 2024.07.04: one GET, never a false not_found."""
    doc = _renamed(projects["attrs"], {"26.1.0": releases_spelling}, "2024.07.04")
    async with FaultIndex({"attrs": doc}) as index, HttpClient(FAST) as http:
        client = IndexClient(http, IndexConfig(url=index.url), clock=FakeClock())
        meta, resolution = await client.resolve("attrs")
        assert meta.version == "2024.07.04" and resolution.version == "2024.07.04"
        assert index.count() == 1
        pinned, _ = await client.resolve("attrs", "==2024.7.4")
        assert pinned.version == "2024.07.04" and index.count() == 2  # the project doc again
