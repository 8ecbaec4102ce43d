"""Warm cache hit against cold fetch, and a 50-package fetch, through DocsService on loopback.

The index runs in a separate process; upstream requests are counted by the client.
"""

from __future__ import annotations

import tempfile
import time
from typing import Any

import anyio

from autodocs_core.config import Settings
from autodocs_core.resilience import FetchProgress
from autodocs_core.service import DocsService

from ._harness import machine, save, versions, write_docs_section
from .fetcher import start_server

PACKAGES = [
    f"{base}-{i}" for base in ("attrs", "httpx", "pytest", "cattrs", "trio") for i in range(1, 10)
] + ["attrs", "httpx", "pytest", "cattrs", "trio"]


async def cold_and_warm(url: str, rounds: int) -> dict[str, float]:
    cold = warm = float("inf")
    warm_requests = 0
    for r in range(rounds):
        with tempfile.TemporaryDirectory() as cache_dir:
            settings = Settings(index_url=url, cache_dir=cache_dir)
            async with DocsService(settings) as svc:
                name = PACKAGES[r % len(PACKAGES)]
                start = time.perf_counter()
                await svc.get_docs(name, max_tokens=4000)
                cold = min(cold, time.perf_counter() - start)
                before = svc.index.requests
                for _ in range(20):
                    start = time.perf_counter()
                    answer = await svc.get_docs(name, max_tokens=4000)
                    warm = min(warm, time.perf_counter() - start)
                    assert answer.from_cache
                warm_requests += svc.index.requests - before
    return {"cold_s": cold, "warm_s": warm, "warm_upstream_requests": warm_requests}


async def many(url: str) -> dict[str, Any]:
    progress: list[FetchProgress] = []
    with tempfile.TemporaryDirectory() as cache_dir:
        async with DocsService(Settings(index_url=url, cache_dir=cache_dir)) as svc:
            start = time.perf_counter()
            result = await svc.get_many(
                PACKAGES, max_tokens_per_package=2000, on_progress=progress.append
            )
            took = time.perf_counter() - start
            requests = svc.index.requests
    return {
        "seconds": took,
        "succeeded": len(result.succeeded),
        "failed": len(result.failed),
        "progress_events": len(progress),
        "upstream_requests": requests,
    }


def run(*, quick: bool, write_docs: bool) -> dict[str, Any]:
    rounds = 2 if quick else 10
    proc, url = start_server()
    try:
        warm = anyio.run(cold_and_warm, url, rounds)
        bulk = anyio.run(many, url)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    ratio = warm["cold_s"] / warm["warm_s"]
    lines = [
        "| measure | value |",
        "|---|---:|",
        f"| cold fetch (best of {rounds}) | {warm['cold_s'] * 1000:.2f} ms |",
        f"| warm hit (best of {rounds} × 20) | {warm['warm_s'] * 1000:.3f} ms |",
        f"| warm / cold speed-up | {ratio:.0f}× |",
        f"| upstream requests made by warm hits | {warm['warm_upstream_requests']} |",
        f"| 50 packages, concurrency 10: time | {bulk['seconds'] * 1000:.0f} ms |",
        f"| 50 packages: succeeded / failed | {bulk['succeeded']} / {bulk['failed']} |",
        f"| 50 packages: progress events / upstream requests | {bulk['progress_events']} / "
        f"{bulk['upstream_requests']} |",
    ]
    verdict = "met" if ratio >= 20 and warm["warm_upstream_requests"] == 0 else "MISSED"
    lines.append(f"\nTarget (warm hit: 0 upstream requests and >= 20× faster): {verdict}.")
    text = "\n".join(lines)
    print(text)
    results = {"machine": machine(), "versions": versions("httpx", "anyio"), **warm, "many": bulk}
    if not quick:
        save("service", results)
        if write_docs:
            write_docs_section(
                "service",
                f"Measured on {results['machine']['platform']}, Python "
                f"{results['machine']['python']}; the index runs in a separate process; the "
                "warm hit includes rendering the answer within its token budget.\n\n" + text,
            )
    return results
