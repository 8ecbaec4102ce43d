"""An independent client: MCP Inspector's CLI lists and calls our tools (``nox -s inspector``).

Starts the loopback fault index (recorded packages) in a subprocess, points the server at it,
and drives ``python -m autodocs_mcp`` through ``npx @modelcontextprotocol/inspector --cli``.
Exits non-zero when anything is off. Not part of the pytest run: it needs node and npm.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile

INSPECTOR = "@modelcontextprotocol/inspector@2.12.0"


def inspector(env: dict[str, str], *args: str, expect_error: bool = False) -> dict[str, object]:
    npx = shutil.which("npx")
    assert npx is not None
    server_env = [part for k, v in env.items() for part in ("-e", f"{k}={v}")]
    cmd = [npx, "-y", INSPECTOR, "--cli", *server_env, sys.executable, "-m", "autodocs_mcp", *args]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    if expect_error:
        # The inspector exits 5 when a tool answers isError; it prints what it got.
        if out.returncode != 5 or "isError" not in out.stdout + out.stderr:
            raise SystemExit(f"expected a tool error, got {out.returncode}: {out.stderr[-500:]}")
        return {"isError": True, "stdout": out.stdout}
    if out.returncode != 0:
        raise SystemExit(f"inspector failed ({out.returncode}): {out.stderr[-2000:]}")
    data: dict[str, object] = json.loads(out.stdout)
    return data


def main() -> int:
    server = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.serve_index"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        with tempfile.TemporaryDirectory() as cache:
            env = {"AUTODOCS_INDEX_URL": url, "AUTODOCS_CACHE_DIR": cache}
            tools = inspector(env, "--method", "tools/list")
            names = sorted(t["name"] for t in tools["tools"])  # type: ignore[attr-defined, index]
            print("tools:", ", ".join(names))
            assert len(names) == 9, names
            docs = inspector(
                env,
                "--method",
                "tools/call",
                "--tool-name",
                "get_package_docs",
                "--tool-arg",
                "package_name=trio",
            )
            structured = docs["structuredContent"]
            assert structured["version"] == "0.35.0", structured  # type: ignore[index]
            print("get_package_docs: trio", structured["version"])  # type: ignore[index]
            bad = inspector(
                env,
                "--method",
                "tools/call",
                "--tool-name",
                "get_package_docs",
                "--tool-arg",
                "package_name=no-such-package",
                expect_error=True,
            )
            assert bad["isError"] is True
            print("unknown package: tool error, as expected")
    finally:
        server.terminate()
        server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONPATH", os.getcwd())
    raise SystemExit(main())
