"""``python -m autodocs_mcp``: run the MCP server (same as ``autodocs-mcp``)."""

from autodocs_mcp.main import main

raise SystemExit(main())
