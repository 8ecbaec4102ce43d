"""autodocs_mcp: the MCP server (``autodocs-mcp``) and the ``autodocs`` CLI over the core."""

import sys

# httpx's package __init__ imports its own command line (httpx._main, which loads click, rich
# and pygments) whenever those are installed, as they are next to the mcp SDK. Neither our
# server nor our CLI uses it, and it was about half of the server's start-up (0.5-0.9 s of
# 0.9-1.1 s for `import httpx` here). Applications may decide what their process loads: this
# one keeps httpx's CLI out. `httpx.main` then prints that the CLI is unavailable.
if "httpx" not in sys.modules:
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
