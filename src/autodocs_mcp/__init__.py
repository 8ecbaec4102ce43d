"""autodocs_mcp: the MCP server and CLI adapters over :mod:`autodocs_core` (coming next)."""
