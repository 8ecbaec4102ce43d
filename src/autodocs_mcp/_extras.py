"""A missing optional dependency is a one-line message naming the extra, never a traceback."""

from __future__ import annotations

__all__ = ["EXTRA", "missing_extra_message"]

EXTRA = "mcp"
"""The extra that brings the server's and the CLI's dependencies."""

# Top-level modules that come with the extra (directly or through the mcp SDK).
_OPTIONAL = frozenset(
    {
        "mcp",
        "mcp_types",
        "pydantic",
        "pydantic_core",
        "rich",
        "uvicorn",
        "starlette",
        "sse_starlette",
    }
)


def missing_extra_message(exc: ModuleNotFoundError, prog: str) -> str | None:
    """The message for a missing optional module, or ``None`` when *exc* is something else."""
    root = (exc.name or "").split(".")[0]
    if root not in _OPTIONAL:
        return None
    return (
        f"{prog}: error: this command needs the optional '{EXTRA}' extra ({root} is not "
        f"installed). Install it with: pip install 'autodocs-mcp-server[{EXTRA}]'"
    )
