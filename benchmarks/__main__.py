"""Run the benchmark suites: ``python -m benchmarks [--quick] [--write-docs] [SUITE ...]``."""

from __future__ import annotations

import argparse

from . import faultlab, fetcher, overhead, service

SUITES = {
    "overhead": overhead.run,
    "fetcher": fetcher.run,
    "service": service.run,
    "faultlab": faultlab.run,
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("suites", nargs="*", choices=[*SUITES, []], default=[])
    parser.add_argument("--quick", action="store_true", help="short smoke run (CI)")
    parser.add_argument(
        "--write-docs", action="store_true", help="update docs/benchmarks.md with the results"
    )
    args = parser.parse_args()
    for name in args.suites or list(SUITES):
        print(f"## {name}{' (quick)' if args.quick else ''}")
        SUITES[name](quick=args.quick, write_docs=args.write_docs)


if __name__ == "__main__":
    main()
