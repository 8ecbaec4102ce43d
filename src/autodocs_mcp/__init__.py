"""autodocs_mcp: the MCP server (``autodocs-mcp``) and the ``autodocs`` CLI over the core."""
