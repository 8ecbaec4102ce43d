"""Serve the fault-injecting index in its own process (so it does not share the client's core).

``python -m benchmarks.serve_index`` prints the base URL on stdout, then serves until killed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import anyio

from autodocs_core.testing import FaultIndex

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "pypi"


def load_projects(copies: int = 10) -> dict[str, dict[str, Any]]:
    """Recorded package documents shared with the test suite, plus renamed copies.

    The copies (``attrs-1`` .. ``attrs-9``) let benchmarks ask for many different packages.
    """
    recorded: dict[str, dict[str, Any]] = {
        p.stem: json.loads(p.read_text("utf-8"))
        for p in FIXTURES.glob("*.json")
        if "." not in p.stem
    }
    projects = dict(recorded)
    for name, doc in recorded.items():
        for i in range(1, copies):
            copy = f"{name}-{i}"
            projects[copy] = {**doc, "info": {**doc["info"], "name": copy}}
    return projects


async def main() -> None:
    async with FaultIndex(load_projects()) as index:
        print(index.url, flush=True)
        await anyio.sleep_forever()


if __name__ == "__main__":
    try:
        anyio.run(main)
    except KeyboardInterrupt:
        sys.exit(0)
