"""Timing helpers: best-of-rounds per-call cost, ratios against a baseline from the same run."""

from __future__ import annotations

import gc
import json
import platform
import sys
import time
from collections.abc import Awaitable, Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import attrs

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
DOCS = ROOT / "docs" / "benchmarks.md"


@attrs.frozen
class Measurement:
    name: str
    ns_per_call: float
    rounds: int
    calls_per_round: int


async def per_call_ns(fn: Callable[[], Awaitable[object]], *, calls: int, rounds: int) -> float:
    """Return the best (lowest) mean cost of one ``await fn()`` over *rounds* rounds, in ns.

    The minimum over rounds is the least noisy estimate on a shared machine: noise only ever
    adds time. GC is disabled during a round so that a collection does not land in one variant.
    """
    for _ in range(min(calls, 1000)):  # warm-up
        await fn()
    best = float("inf")
    for _ in range(rounds):
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter_ns()
            for _ in range(calls):
                await fn()
            elapsed = time.perf_counter_ns() - start
        finally:
            gc.enable()
        best = min(best, elapsed / calls)
    return best


def versions(*dists: str) -> dict[str, str]:
    """Return the installed version of each distribution (or 'missing')."""
    found = {}
    for dist in dists:
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            found[dist] = "missing"
    return found


def machine() -> dict[str, Any]:
    """Describe the machine and interpreter the numbers come from."""
    import os

    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }


def save(name: str, payload: dict[str, Any]) -> Path:
    """Write a suite's results as JSON under benchmarks/results/."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def write_docs_section(name: str, markdown: str) -> None:
    """Replace the section between ``<!-- bench:NAME -->`` markers in docs/benchmarks.md."""
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    text = DOCS.read_text(encoding="utf-8")
    if start not in text:
        text = text.rstrip("\n") + f"\n\n{start}\n{end}\n"
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    DOCS.write_text(f"{head}{start}\n{markdown.strip()}\n{end}{tail}", encoding="utf-8")
    from .charts import render_all

    render_all()  # the pictures always match the tables just written
