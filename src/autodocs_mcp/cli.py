"""The ``autodocs`` command for people: the same DocsService as the MCP server.

Exit codes: 0 success; 1 partial success (some packages failed); 2 invalid input or
configuration; 3 not found; 4 the index could not be reached (and nothing was cached);
5 unexpected internal error. Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

import anyio
import attrs

from autodocs_core.config import Settings
from autodocs_core.errors import AutodocsError, ConfigError, InternalError

__all__ = ["EXIT_CODES", "main"]

EXIT_CODES = {
    "ok": 0,
    "partial": 1,
    "invalid": 2,
    "not_found": 3,
    "unreachable": 4,
    "internal": 5,
}


def _exit_code(error: AutodocsError) -> int:
    kind = error.error_type
    if kind in ("invalid_input", "config_error"):
        return EXIT_CODES["invalid"]
    if kind.endswith("not_found"):
        return EXIT_CODES["not_found"]
    if kind == "internal_error":
        return EXIT_CODES["internal"]
    return EXIT_CODES["unreachable"]


def _fail(error: AutodocsError) -> int:
    hint = f" Hint: {error.suggestions[0]}" if error.suggestions else ""
    print(f"autodocs: error: {error.message} [{error.error_type}].{hint}", file=sys.stderr)
    return _exit_code(error)


def _emit(data: Any, text: str, as_json: bool) -> None:
    if as_json:
        print(json.dumps(data, indent=2, ensure_ascii=False, default=str))
        return
    from rich.console import Console
    from rich.markdown import Markdown

    console = Console()
    if console.is_terminal:
        console.print(Markdown(text))
    else:
        print(text)


def _split_spec(raw: str) -> tuple[str, str | None]:
    """``httpx>=0.27`` -> (``httpx``, ``>=0.27``); ``httpx==0.28.1`` likewise; bad -> as is."""
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        req = Requirement(raw)
    except InvalidRequirement:
        return raw, None
    return req.name, str(req.specifier) or None


async def _docs(settings: Settings, args: argparse.Namespace) -> int:
    from autodocs_core.service import DocsService

    from ._format import docs_out, many_out

    async with DocsService(settings) as service:
        if len(args.packages) == 1:
            name, spec = _split_spec(args.packages[0])
            answer = await service.get_docs(
                name, spec, query=args.query, max_tokens=args.max_tokens
            )
            _emit(docs_out(answer).model_dump(mode="json"), answer.documentation, args.json)
            for warning in answer.warnings:
                print(f"autodocs: warning: {warning}", file=sys.stderr)
            return 0
        from rich.progress import Progress

        items = [_split_spec(p) for p in args.packages]
        with Progress(transient=True, disable=args.json or not sys.stderr.isatty()) as bar:
            task = bar.add_task("Fetching documentation", total=len(items))
            result = await service.get_many(
                items,
                max_tokens_per_package=args.max_tokens,
                on_progress=lambda p: bar.update(task, completed=p.done),
            )
        text = "\n\n---\n\n".join(a.documentation for a in result.succeeded)
        _emit(many_out(result).model_dump(mode="json"), text, args.json)
        for failed in result.failed:
            print(
                f"autodocs: error: {failed.key}: {failed.error.error} [{failed.error.error_type}]",
                file=sys.stderr,
            )
        return 0 if result.is_complete else EXIT_CODES["partial"]


async def _api(settings: Settings, args: argparse.Namespace) -> int:
    from autodocs_core.service import DocsService

    from ._format import api_out

    async with DocsService(settings) as service:
        name, spec = _split_spec(args.package)
        answer = await service.get_api_reference(
            name, spec, symbol=args.symbol, query=args.query, max_tokens=args.max_tokens
        )
        _emit(api_out(answer).model_dump(mode="json"), answer.documentation, args.json)
        for warning in answer.warnings:
            print(f"autodocs: warning: {warning}", file=sys.stderr)
        return EXIT_CODES["partial"] if answer.partial else 0


async def _context(settings: Settings, args: argparse.Namespace) -> int:
    from autodocs_core.service import DocsService

    from ._format import context_out

    async with DocsService(settings) as service:
        name, spec = _split_spec(args.package)
        answer = await service.get_docs_with_context(
            name,
            spec,
            scope=args.scope,
            max_dependencies=args.max_dependencies,
            max_tokens=args.max_tokens,
        )
        _emit(context_out(answer).model_dump(mode="json"), answer.documentation, args.json)
        return 0 if answer.dependencies.is_complete else EXIT_CODES["partial"]


async def _scan(settings: Settings, args: argparse.Namespace) -> int:
    from autodocs_core.service import DocsService

    from ._format import scan_out

    async with DocsService(settings, store=None) as service:
        result = await service.scan(args.path)
    lines = [f"{d.name}{d.constraint}  ({d.group}, {d.source}:{d.line})" for d in result.succeeded]
    lines += [f"note: {w}" for w in result.warnings]
    lines += [f"problem: {f.error.error}" for f in result.failed]
    _emit(
        scan_out(result).model_dump(mode="json"), "\n".join(lines) or "No dependencies.", args.json
    )
    return 0 if result.is_complete else EXIT_CODES["partial"]


async def _health(settings: Settings, args: argparse.Namespace) -> int:
    from autodocs_core.service import DocsService

    async with DocsService(settings) as service:
        report = (await service.health()).to_dict()
    lines = [f"status: {report['status']}"] + [
        f"- {name}: {check['status']} ({check['detail']})"
        for name, check in report["checks"].items()
    ]
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print("\n".join(lines))
    return 0 if report["status"] == "healthy" else EXIT_CODES["partial"]


async def _cache(settings: Settings, args: argparse.Namespace) -> int:
    from autodocs_core.service import DocsService

    async with DocsService(settings) as service:
        if args.action == "clear":
            removed = await service.refresh(args.name)
            print(f"Removed {removed} cache entries.")
            return 0
        stats = await service.cache_stats()
    data = attrs.asdict(stats)
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        print("\n".join(f"{k}: {v}" for k, v in data.items()))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="autodocs",
        description="Version-specific Python package documentation, for people and assistants.",
        epilog="Exit codes: 0 ok, 1 partial, 2 invalid input, 3 not found, 4 index unreachable, "
        "5 internal error.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    docs = sub.add_parser("docs", help="documentation of one or more packages")
    docs.add_argument(
        "packages", nargs="+", metavar="NAME[SPEC]", help="e.g. httpx, 'httpx>=0.27', attrs==25.4.0"
    )
    docs.add_argument("--query", help="topic to prefer, e.g. 'timeouts'")
    docs.add_argument("--max-tokens", type=int, default=None, help="answer budget (tokens)")
    docs.add_argument("--json", action="store_true", help="machine-readable output")
    api = sub.add_parser("api", help="API reference of one version, read from its wheel")
    api.add_argument("package", metavar="NAME[SPEC]", help="e.g. httpx, 'pydantic<2'")
    api.add_argument("symbol", nargs="?", help="dotted path, e.g. httpx.Client.get")
    api.add_argument("--query", help="what to search the API for")
    api.add_argument("--max-tokens", type=int, default=None, help="answer budget (tokens)")
    api.add_argument("--json", action="store_true", help="machine-readable output")
    ctx = sub.add_parser("context", help="a package with its dependencies' summaries")
    ctx.add_argument("package", metavar="NAME[SPEC]")
    ctx.add_argument("--scope", choices=("primary-only", "runtime", "smart"), default="smart")
    ctx.add_argument("--max-dependencies", type=int, default=8)
    ctx.add_argument("--max-tokens", type=int, default=None)
    ctx.add_argument("--json", action="store_true")
    scan = sub.add_parser("scan", help="a project's declared dependencies")
    scan.add_argument("path", nargs="?", default=".")
    scan.add_argument("--json", action="store_true")
    health = sub.add_parser("health", help="service health checks")
    health.add_argument("--json", action="store_true")
    cache = sub.add_parser("cache", help="cache statistics or clearing")
    cache.add_argument("action", choices=("stats", "clear"))
    cache.add_argument("name", nargs="?", help="package to clear (default: all)")
    cache.add_argument("--json", action="store_true")
    config = sub.add_parser("config", help="print the effective configuration")
    config.add_argument("--json", action="store_true")
    sub.add_parser("serve", help="run the MCP server (same as autodocs-mcp)", add_help=False)
    return parser


COMMANDS = {
    "docs": _docs,
    "api": _api,
    "context": _context,
    "scan": _scan,
    "health": _health,
    "cache": _cache,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``autodocs`` command; return its exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["serve"]:
        from .main import main as serve

        return serve(argv[1:])
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env(os.environ)
        if args.command == "config":
            described = settings.describe()
            if args.json:
                print(json.dumps(described, indent=2))
            else:
                print("\n".join(f"{k}: {v}" for k, v in described.items()))
            return 0
        return anyio.run(COMMANDS[args.command], settings, args)
    except (AutodocsError, ConfigError) as exc:
        return _fail(exc)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # never a traceback for a person; the type says what broke
        return _fail(InternalError(args.command, exc_type=type(exc).__name__))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
