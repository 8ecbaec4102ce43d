"""Serve the fault-injecting index in its own process (so it does not share the client's core).

``python -m benchmarks.serve_index`` prints the base URL on stdout, then serves until killed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import anyio

from autodocs_core.testing import FaultIndex

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "pypi"


def load_projects() -> dict[str, dict[str, object]]:
    """Recorded package documents shared with the test suite."""
    return {
        p.stem: json.loads(p.read_text("utf-8"))
        for p in FIXTURES.glob("*.json")
        if "." not in p.stem
    }


async def main() -> None:
    async with FaultIndex(load_projects()) as index:
        print(index.url, flush=True)
        await anyio.sleep_forever()


if __name__ == "__main__":
    try:
        anyio.run(main)
    except KeyboardInterrupt:
        sys.exit(0)
