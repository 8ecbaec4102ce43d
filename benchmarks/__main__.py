"""Run the benchmark suites: ``python -m benchmarks [--quick] [--write-docs] [SUITE ...]``.

``fleet`` (real redis-server and replica processes) skips with a note without redis-server or
the ``redis`` extra.
"""

from __future__ import annotations

import argparse
import functools

from . import apiref, faultlab, fetcher, fleet, overhead, service

SUITES = {
    "overhead": overhead.run,
    "fetcher": fetcher.run,
    "service": service.run,
    "faultlab": faultlab.run,
    "soak": faultlab.run_soak,
    "startup": faultlab.run_startup,
    "apiref": apiref.run,
    "fleet": fleet.run,
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("suites", nargs="*", choices=[*SUITES, []], default=[])
    parser.add_argument("--quick", action="store_true", help="short smoke run (CI)")
    parser.add_argument(
        "--write-docs", action="store_true", help="update docs/benchmarks.md with the results"
    )
    parser.add_argument(
        "--peer-command",
        metavar="PATH",
        help="the peer's MCP server (autodoc-mcp console script): the fault lab also runs it",
    )
    parser.add_argument(
        "--ours-command",
        metavar="PATH",
        help="startup: our autodocs-mcp console script to time (default: beside this Python)",
    )
    parser.add_argument(
        "--record",
        action="store_true",
        help="apiref: fetch what the cassettes lack from the real index (https://pypi.org)",
    )
    parser.add_argument(
        "--target",
        choices=["mcp", "core"],
        default="mcp",
        help="apiref: ask the MCP server (default) or the core API",
    )
    args = parser.parse_args()
    suites = dict(SUITES)
    for name in ("faultlab", "startup"):
        suites[name] = functools.partial(SUITES[name], peer_command=args.peer_command)
    suites["startup"] = functools.partial(
        SUITES["startup"], peer_command=args.peer_command, ours_command=args.ours_command
    )
    suites["apiref"] = functools.partial(apiref.run, record=args.record, target=args.target)
    for name in args.suites or list(SUITES):
        print(f"## {name}{' (quick)' if args.quick else ''}")
        suites[name](quick=args.quick, write_docs=args.write_docs)


if __name__ == "__main__":
    main()
