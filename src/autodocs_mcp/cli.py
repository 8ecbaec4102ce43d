"""The ``autodocs`` command for people: the same DocsService as the MCP server.

Exit codes: 0 success (also when the reader of the output goes away early, as with ``| head``);
1 partial success (some packages failed); 2 invalid input or configuration (including a missing
optional dependency); 3 not found; 4 the index could not be reached (and nothing was cached);
5 unexpected internal error. Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import anyio
import attrs

from autodocs_core.config import Settings
from autodocs_core.errors import AutodocsError, ConfigError, InternalError

from ._extras import missing_extra_message

__all__ = ["EXIT_CODES", "main"]

STATUS_DELAY = 0.5
"""Seconds a call runs before a terminal shows a status line for it."""

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

    console = Console()
    if console.is_terminal:
        console.print(_terminal_markdown(text))
    else:
        print(text)


def _terminal_markdown(text: str) -> Any:
    """Render an answer for a person: our Markdown as Markdown, upstream text in a panel.

    Upstream text arrives fenced (a nonce'd marker around a code fence, for assistants); on a
    terminal it is shown rendered, inside a panel that says it is the package's own text.
    """
    from rich.console import Group
    from rich.markdown import Markdown
    from rich.panel import Panel

    from autodocs_core.docs import FENCE_TAG

    parts: list[Any] = []
    rest = text
    while f"<{FENCE_TAG} " in rest:
        before, _, after = rest.partition(f"<{FENCE_TAG} ")
        _header, _, body = after.partition("\n")
        ticks, _, body = body.partition("\n")
        closing = f"\n{ticks}\n</{FENCE_TAG}"
        inner, found, rest = body.partition(closing)
        if not found:  # not our fence after all: show the rest as it is
            rest = f"<{FENCE_TAG} {after}"
            break
        rest = rest.partition(">")[2]
        if before.strip():
            parts.append(Markdown(before))
        parts.append(Panel(Markdown(inner), title="upstream text", title_align="left"))
    if rest.strip():
        parts.append(Markdown(rest))
    return Group(*parts)


@asynccontextmanager
async def _status(text: str, args: argparse.Namespace) -> AsyncIterator[None]:
    """Show a status line on a terminal (stderr) when the call takes over STATUS_DELAY."""
    if getattr(args, "json", False) or not sys.stderr.isatty():
        yield
        return
    from rich.console import Console

    console = Console(stderr=True)
    shown: list[Any] = []

    async def show() -> None:
        await anyio.sleep(STATUS_DELAY)
        status = console.status(text)
        status.start()
        shown.append(status)

    async with anyio.create_task_group() as tg:
        tg.start_soon(show)
        try:
            yield
        finally:
            tg.cancel_scope.cancel()
            for status in shown:
                status.stop()


def _age(seconds: float | None) -> str:
    """``289.3`` -> ``4 min 49 s``; ``None`` -> ``-``."""
    if seconds is None:
        return "-"
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60)} s"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def _size(n: int) -> str:
    """``1536`` -> ``1.5 KiB``."""
    value = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} bytes"  # pragma: no cover - the loop always returns


def _with_docs(out: dict[str, Any], answer: Any) -> dict[str, Any]:
    """The structured answer plus the documentation text (``--json`` is for scripts)."""
    return {**out, "documentation": answer.documentation}


async def _docs(settings: Settings, args: argparse.Namespace) -> int:
    from autodocs_core.lookup import split_requirement
    from autodocs_core.service import DocsService

    from ._wire import DOCS, MANY

    async with DocsService(settings) as service:
        if len(args.packages) == 1:
            name, spec = split_requirement(args.packages[0])
            async with _status(f"Reading the documentation of {name}", args):
                answer = await service.get_docs(
                    name, spec, query=args.query, max_tokens=args.max_tokens
                )
            _emit(_with_docs(DOCS.value(answer), answer), answer.documentation, args.json)
            for warning in answer.warnings:
                print(f"autodocs: warning: {warning}", file=sys.stderr)
            return 0
        from rich.progress import Progress

        with Progress(transient=True, disable=args.json or not sys.stderr.isatty()) as bar:
            task = bar.add_task("Fetching documentation", total=len(args.packages))
            result = await service.get_many(
                args.packages,
                max_tokens_per_package=args.max_tokens,
                on_progress=lambda p: bar.update(task, completed=p.done),
            )
        text = "\n\n---\n\n".join(a.documentation for a in result.succeeded)
        data = MANY.value(result)
        for item, answer in zip(data["succeeded"], result.succeeded, strict=True):
            item["documentation"] = answer.documentation
        _emit(data, text, args.json)
        for failed in result.failed:
            print(
                f"autodocs: error: {failed.key}: {failed.error.error} [{failed.error.error_type}]",
                file=sys.stderr,
            )
        return 0 if result.is_complete else EXIT_CODES["partial"]


async def _api(settings: Settings, args: argparse.Namespace) -> int:
    from autodocs_core.lookup import split_requirement
    from autodocs_core.service import DocsService

    from ._wire import API

    async with DocsService(settings) as service:
        name, spec = split_requirement(args.package)
        async with _status(f"Reading the API of {name}", args):
            answer = await service.get_api_reference(
                name, spec, symbol=args.symbol, query=args.query, max_tokens=args.max_tokens
            )
        _emit(_with_docs(API.value(answer), answer), answer.documentation, args.json)
        for warning in answer.warnings:
            print(f"autodocs: warning: {warning}", file=sys.stderr)
        return EXIT_CODES["partial"] if answer.partial else 0


async def _context(settings: Settings, args: argparse.Namespace) -> int:
    from autodocs_core.lookup import split_requirement
    from autodocs_core.service import DocsService

    from ._wire import CONTEXT

    async with DocsService(settings) as service:
        name, spec = split_requirement(args.package)
        async with _status(f"Reading {name} and its dependencies", args):
            answer = await service.get_docs_with_context(
                name,
                spec,
                scope=args.scope,
                max_dependencies=args.max_dependencies,
                max_tokens=args.max_tokens,
            )
        _emit(_with_docs(CONTEXT.value(answer), answer), answer.documentation, args.json)
        return 0 if answer.dependencies.is_complete else EXIT_CODES["partial"]


async def _scan(settings: Settings, args: argparse.Namespace) -> int:
    from autodocs_core.service import DocsService

    from ._wire import SCAN

    async with DocsService(settings, store=None) as service:
        result = await service.scan(args.path)
    lines = [f"{d.name}{d.constraint}  ({d.group}, {d.source}:{d.line})" for d in result.succeeded]
    lines += [f"note: {w}" for w in result.warnings]
    lines += [f"problem: {f.error.error}" for f in result.failed]
    _emit(SCAN.value(result), "\n".join(lines) or "No dependencies.", args.json)
    return 0 if result.is_complete else EXIT_CODES["partial"]


async def _health(settings: Settings, args: argparse.Namespace) -> int:
    from autodocs_core.service import DocsService

    async with DocsService(settings) as service, _status("Checking", args):
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
        return 0
    shown = dict(data)
    shown["bytes"] = _size(stats.bytes)
    shown["hit_rate"] = f"{stats.hit_rate:.0%}"
    shown["oldest_age"] = _age(stats.oldest_age)
    print("\n".join(f"{k}: {v}" for k, v in shown.items()))
    return 0


def _config(settings: Settings, args: argparse.Namespace) -> int:
    """Print the effective settings: resolved paths, secrets redacted, defaults marked."""
    described = settings.describe()
    described["cache_dir"] = settings.cache_path()
    if args.json:
        print(json.dumps(described, indent=2))
        return 0
    defaults = Settings().describe()
    for key, value in described.items():
        mark = "  (default)" if key == "cache_dir" and not settings.cache_dir else ""
        if key != "cache_dir" and value == defaults.get(key):
            mark = "  (default)"
        print(f"{key}: {value}{mark}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="autodocs",
        description="Version-specific Python package documentation, for people and assistants.",
        epilog="Exit codes: 0 ok, 1 partial, 2 invalid input or configuration, 3 not found, "
        "4 index unreachable, 5 internal error.",
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"autodocs {_version()}")
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="log more on stderr (-v: info, -vv: debug)",
    )
    parser.add_argument(
        "--log-level",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        type=str.upper,
        default=None,
        help="log level on stderr (default: AUTODOCS_LOG_LEVEL, else WARNING)",
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


def _version() -> str:
    import autodocs_core

    try:
        return str(autodocs_core.__version__)
    except Exception:  # pragma: no cover - running from a source tree that is not installed
        return "unknown"


def _configure_logging(args: argparse.Namespace) -> None:
    """JSON log lines on stderr: ``-v``/``--log-level`` over ``AUTODOCS_LOG_LEVEL``."""
    from .main import configure_logging

    level = args.log_level or os.environ.get("AUTODOCS_LOG_LEVEL", "WARNING").upper()
    if args.verbose:
        level = "DEBUG" if args.verbose > 1 else "INFO"
    configure_logging(level)


def _quiet_broken_pipe() -> int:
    """The reader went away (``| head``): stop quietly, as command-line tools do."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # nothing more reaches the closed pipe
    except (OSError, ValueError):  # pragma: no cover - stdout without a descriptor
        pass
    return EXIT_CODES["ok"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``autodocs`` command; return its exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["serve"]:
        from .main import main as serve

        return serve(argv[1:])
    args = _parser().parse_args(argv)
    _configure_logging(args)
    try:
        import rich  # noqa: F401  # the commands render with it (the extra): say so before any work

        settings = Settings.from_env(os.environ)
        if args.command == "config":
            return _config(settings, args)
        code: int = anyio.run(COMMANDS[args.command], settings, args)
        sys.stdout.flush()
        return code
    except (AutodocsError, ConfigError) as exc:
        return _fail(exc)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except ModuleNotFoundError as exc:
        message = missing_extra_message(exc, "autodocs")
        if message is None:
            return _fail(InternalError(args.command, exc_type=type(exc).__name__))
        print(message, file=sys.stderr)
        return EXIT_CODES["invalid"]
    except Exception as exc:  # never a traceback for a person; the type says what broke
        return _fail(InternalError(args.command, exc_type=type(exc).__name__))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
