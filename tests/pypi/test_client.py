"""The index client against the fault-injecting loopback index: exact URLs and request counts."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest

from autodocs_core.errors import (
    CircuitOpenError,
    InvalidInputError,
    MalformedResponse,
    NotFoundError,
    PackageNotFoundError,
    UpstreamServerError,
    VersionNotFoundError,
)
from autodocs_core.http import HttpClient, HttpConfig
from autodocs_core.pypi import IndexClient, IndexConfig, normalize_index_url
from autodocs_core.resilience import DEFAULT_POLICY, BreakerConfig, CircuitState
from autodocs_core.testing import FakeClock, Fault, FaultIndex, FaultPlan
from autodocs_core.testing._index import wheel_filename

pytestmark = pytest.mark.anyio

FIXTURES = Path(__file__).parent.parent / "fixtures" / "pypi"
FAST = HttpConfig(read_timeout=0.5, header_timeout=None)


@asynccontextmanager
async def client(
    projects: dict[str, Any],
    *,
    plan: FaultPlan | None = None,
    clock: FakeClock | None = None,
    config: dict[str, Any] | None = None,
    **index_kw: Any,
) -> AsyncIterator[tuple[IndexClient, FaultIndex]]:
    metadata = {
        "attrs-25.4.0-py3-none-any.whl": (
            FIXTURES / "attrs-25.4.0-py3-none-any.whl.metadata"
        ).read_bytes(),
    }
    async with (
        FaultIndex(projects, plan=plan, metadata=metadata, **index_kw) as index,
        HttpClient(FAST) as http,
    ):
        cfg = IndexConfig(url=index.url, **(config or {}))
        yield IndexClient(http, cfg, clock=clock or FakeClock()), index


async def test_latest_takes_exactly_one_request(projects: dict[str, Any]) -> None:
    """Latest docs come from the project document: one GET of /pypi/{name}/json."""
    async with client(projects) as (idx, index):
        meta, res = await idx.resolve("ATTRS")
    assert (meta.name, meta.version, res.constraint) == ("attrs", "26.1.0", None)
    assert meta.description and meta.description_content_type == "text/markdown"
    assert [r.path for r in index.requests] == ["/pypi/attrs/json"]


async def test_older_version_falls_back_to_simple_api_and_core_metadata(
    projects: dict[str, Any],
) -> None:
    """Per-version JSON answers 404 (as this mirror does): simple API + .metadata file."""
    async with client(projects) as (idx, index):
        meta, res = await idx.resolve("attrs", "==25.4.0")
    assert res.version == "25.4.0" and meta.version == "25.4.0"
    assert meta.source == "core-metadata"
    assert meta.summary == "Classes Without Boilerplate"
    assert meta.description and "attrs" in meta.description
    assert [r.path for r in index.requests] == [
        "/pypi/attrs/json",
        "/pypi/attrs/25.4.0/json",
        "/simple/attrs/",
        f"/files/{wheel_filename('attrs', '25.4.0')}.metadata",
    ]
    assert index.requests[2].headers["accept"] == "application/vnd.pypi.simple.v1+json"


async def test_per_version_json_when_the_index_serves_it(projects: dict[str, Any]) -> None:
    """An index with per-version JSON answers in two requests."""
    async with client(projects, per_version_json=True) as (idx, index):
        meta, _ = await idx.resolve("httpx", "==0.27.0")
    assert meta.version == "0.27.0" and meta.source == "version-json"
    assert index.count() == 2


async def test_no_metadata_anywhere_is_a_clear_not_found(projects: dict[str, Any]) -> None:
    """A version with neither per-version JSON nor a metadata file: a not-found that says why."""
    async with client(projects) as (idx, _):
        with pytest.raises(NotFoundError) as info:
            await idx.resolve("httpx", "==0.27.0")
    assert "metadata" in info.value.message


async def test_unknown_package_is_not_retried_and_is_remembered(projects: dict[str, Any]) -> None:
    """404: a package-not-found error after one request; asking again sends nothing."""
    async with client(projects) as (idx, index):
        for _ in range(3):
            with pytest.raises(PackageNotFoundError) as info:
                await idx.resolve("no-such-package")
    assert index.count() == 1
    assert info.value.to_payload()["details"]["package_name"] == "no-such-package"


async def test_invalid_input_never_reaches_the_network(projects: dict[str, Any]) -> None:
    """Bad names and bad specifiers fail before (or without) any request for them."""
    async with client(projects) as (idx, index):
        with pytest.raises(InvalidInputError):
            await idx.resolve("../../etc/passwd")
        assert index.count() == 0
        with pytest.raises(InvalidInputError):
            await idx.resolve("attrs", ">=>1")
        with pytest.raises(VersionNotFoundError):
            await idx.resolve("attrs", ">=99")


async def test_concurrent_identical_requests_share_one_upstream_request(
    projects: dict[str, Any],
) -> None:
    """200 concurrent lookups of one package make exactly one upstream request."""
    plan = FaultPlan(script=[Fault("slow", delay=0.05)])
    results: list[str] = []
    async with client(projects, plan=plan) as (idx, index):

        async def one() -> None:
            meta, _ = await idx.resolve("trio")
            results.append(meta.version)

        async with anyio.create_task_group() as tg:
            for _ in range(200):
                tg.start_soon(one)
    assert results == ["0.35.0"] * 200
    assert index.count() == 1


async def test_transient_failures_are_retried_with_backoff(projects: dict[str, Any]) -> None:
    """Two 503s and a 429 (Retry-After: 3) then success: four requests, waits on the fake clock."""
    clock = FakeClock()
    plan = FaultPlan(
        script=[
            Fault("status", status=503),
            Fault("status", status=503),
            Fault("status", status=429, retry_after="3"),
        ]
    )
    async with client(projects, plan=plan, clock=clock) as (idx, index):
        meta, _ = await idx.resolve("cattrs")
    assert meta.version == "26.2.1"
    assert index.count() == 4
    assert clock.sleeps[-1] == 3.0


@pytest.mark.parametrize(
    "retry_after", ["-5", "0", "Thu, 01 Jan 1970 00:00:00 GMT", "soon-ish", "1e999"]
)
async def test_a_bad_retry_after_waits_the_computed_backoff(
    projects: dict[str, Any], retry_after: str
) -> None:
    """A 429 with a bad Retry-After waits the 429 backoff (>= 1 s), never zero; 2 requests."""
    clock = FakeClock()
    plan = FaultPlan(script=[Fault("status", status=429, retry_after=retry_after)])
    async with client(projects, plan=plan, clock=clock) as (idx, index):
        meta, _ = await idx.resolve("cattrs")
    assert meta.version == "26.2.1"
    assert index.count() == 2
    assert len(clock.sleeps) == 1 and 1.0 <= clock.sleeps[0] <= 2.0


@pytest.mark.parametrize("kind", ["truncate", "garbage", "invalid_utf8"])
async def test_a_malformed_answer_is_retried(projects: dict[str, Any], kind: str) -> None:
    """A 200 whose JSON body is cut, not JSON or not UTF-8 is a failed attempt: retried."""
    clock = FakeClock()
    plan = FaultPlan(script=[Fault("status", status=503), Fault(kind)])
    async with client(projects, plan=plan, clock=clock) as (idx, index):
        meta, _ = await idx.resolve("trio")
    assert meta.version == "0.35.0"
    assert index.count() == 3


async def test_malformed_answers_give_up_after_the_policy_attempts(
    projects: dict[str, Any],
) -> None:
    """Every answer garbled: MalformedResponse after the policy's attempts, not before."""
    plan = FaultPlan(probabilities=[(Fault("garbage"), 1.0)])
    async with client(projects, plan=plan, clock=FakeClock()) as (idx, index):
        with pytest.raises(MalformedResponse):
            await idx.resolve("trio")
    assert index.count() == DEFAULT_POLICY.attempts_for(MalformedResponse("x"))


async def test_outage_opens_the_breaker_and_stops_upstream_traffic(
    projects: dict[str, Any],
) -> None:
    """Under a full outage the breaker opens once failures span three URLs; then no request."""
    clock = FakeClock()
    plan = FaultPlan(probabilities=[(Fault("status", status=503), 1.0)])
    breaker = BreakerConfig(consecutive_failures=5, failure_rate=None)
    async with client(projects, plan=plan, clock=clock, config={"breaker": breaker}) as (
        idx,
        index,
    ):
        errors = []
        for name in ["attrs", "httpx", "trio", "pytest", "cattrs"]:
            try:
                await idx.resolve(name)
            except (UpstreamServerError, CircuitOpenError) as exc:
                errors.append(type(exc).__name__)
        during = index.count()
        with pytest.raises(CircuitOpenError) as info:
            await idx.resolve("attrs")
        # attrs: 5 attempts (one URL), httpx: 5 (two URLs), trio: 1, which makes three.
        assert index.count() == during == 11
        # The generic breaker error is worded for the index by the index client.
        payload = info.value.to_payload()
        assert payload["suggestions"][0].startswith(f"The index '{info.value.upstream}'")
        assert "Cached documentation is still served" in payload["suggestions"][1]
        assert payload["recovery_actions"] == ["Call 'health_check' to watch the breaker state."]
    assert idx.breaker_for(index.url).state is CircuitState.OPEN
    assert errors == ["UpstreamServerError"] * 2 + ["CircuitOpenError"] * 3


async def test_metadata_hash_mismatch_is_malformed(projects: dict[str, Any]) -> None:
    """A core-metadata file whose sha256 differs from the advertised one is refused."""
    async with client(projects) as (idx, index):
        original = index._simple

        def tampered(doc: dict[str, Any]) -> bytes:
            import json

            page = json.loads(original(doc))
            for f in page["files"]:
                f["core-metadata"] = {"sha256": "0" * 64}
            return json.dumps(page).encode()

        index._simple = tampered  # type: ignore[method-assign]
        with pytest.raises(MalformedResponse):
            await idx.resolve("attrs", "==25.4.0")


def test_urls_are_quoted_and_index_urls_normalised() -> None:
    """Versions and names are quoted into URLs; index URLs lose credentials and API suffixes."""
    idx = IndexClient.__new__(IndexClient)
    idx.config = IndexConfig(url="https://user:pw@mirror.example/simple/")
    assert idx.config.url == "https://mirror.example"
    assert idx.version_url("x", "1.0+local") == "https://mirror.example/pypi/x/1.0%2Blocal/json"
    assert normalize_index_url("http://h:8080/pypi") == "http://h:8080"
    with pytest.raises(Exception, match="AUTODOCS_INDEX_URL"):
        IndexConfig(url="ftp://x")


@pytest.mark.skipif(
    not os.environ.get("AUTODOCS_LIVE_INDEX"),
    reason="set AUTODOCS_LIVE_INDEX=1 to test against the real index",
)
async def test_live_index() -> None:
    """Opt-in: resolve an older version of a real package on the configured index."""
    url = os.environ.get("AUTODOCS_INDEX_URL", "https://pypi.org")
    async with HttpClient() as http:
        idx = IndexClient(http, IndexConfig(url=url))
        meta, res = await idx.resolve("attrs", "==25.4.0")
        assert meta.version == res.version == "25.4.0"
        assert meta.summary
