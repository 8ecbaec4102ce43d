"""AutodocsError -> MCP tool error: an ``isError`` result whose text is the JSON payload."""

from __future__ import annotations

import json

from mcp_types import CallToolResult, TextContent

from autodocs_core.errors import AutodocsError

__all__ = ["error_result", "payload_text"]


def payload_text(error: AutodocsError) -> str:
    """Return the error's payload as compact JSON."""
    return json.dumps(error.to_payload(), ensure_ascii=False)


def error_result(error: AutodocsError) -> CallToolResult:
    """Return a tool error result (``isError: true``) carrying the error payload as its text."""
    return CallToolResult(
        content=[TextContent(type="text", text=payload_text(error))], is_error=True
    )
