"""Layering guards: the core is anyio-only, mcp-free, and its light layers stay light."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import autodocs_core
import autodocs_core.resilience

CORE = Path(autodocs_core.__file__).parent


def _run(code: str) -> str:
    """Run *code* in a fresh interpreter; return its stdout (it must exit 0)."""
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_core_imports_without_mcp() -> None:
    """autodocs_core imports and works in a process where `mcp` cannot be imported."""
    out = _run(
        "import sys; sys.modules['mcp'] = None\n"
        "import autodocs_core, autodocs_core.resilience, autodocs_core.testing, "
        "autodocs_core.errors\n"
        "from autodocs_core import unstructure, PartialResult\n"
        "assert unstructure(PartialResult()) == {'succeeded': [], 'failed': [], 'warnings': []}\n"
        "print('ok')"
    )
    assert out == "ok"


def test_importing_the_core_loads_no_heavy_or_backend_modules() -> None:
    """`import autodocs_core` pulls in neither httpx, cattrs, packaging, mcp nor trio."""
    out = _run(
        "import sys, autodocs_core, autodocs_core.resilience, autodocs_core.testing\n"
        "bad = sorted({m.split('.')[0] for m in sys.modules} & "
        "{'httpx', 'cattrs', 'packaging', 'mcp', 'trio'})\n"
        "print(','.join(bad))"
    )
    assert out == ""


BANNED = {"asyncio", "trio", "sniffio", "mcp"}


@pytest.mark.parametrize("path", sorted(CORE.rglob("*.py")), ids=lambda p: p.name)
def test_no_backend_specific_imports_in_core(path: Path) -> None:
    """No module under src/autodocs_core imports asyncio, trio, sniffio or mcp."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            assert name.split(".")[0] not in BANNED, f"{path.name} imports {name}"


@pytest.mark.parametrize("module", [autodocs_core, autodocs_core.resilience])
def test_all_matches_the_public_surface(module: object) -> None:
    """Every name in __all__ resolves and has a docstring; no public name is missing from it."""
    exported = set(module.__all__)  # type: ignore[attr-defined]
    for name in exported:
        obj = getattr(module, name)
        if callable(obj) and not name.isupper():
            assert obj.__doc__, f"{name} has no docstring"
    public = {
        n
        for n in vars(module)
        if not n.startswith("_")
        and n not in {"annotations"}
        and not isinstance(getattr(module, n), type(sys))
    }
    if module is autodocs_core:
        public -= {"TYPE_CHECKING", "Any"}
    assert public <= exported


RESILIENCE = CORE / "resilience"


def test_importing_resilience_alone_loads_no_httpx() -> None:
    """`import autodocs_core.resilience` in a fresh interpreter loads neither httpx nor http/."""
    out = _run(
        "import sys, autodocs_core.resilience\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] == 'httpx' "
        "or m.startswith('autodocs_core.http'))\n"
        "print(','.join(bad))"
    )
    assert out == ""


@pytest.mark.parametrize("path", sorted(RESILIENCE.glob("*.py")), ids=lambda p: p.name)
def test_resilience_knows_nothing_of_http(path: Path) -> None:
    """No module under resilience/ imports httpx or the http layer, or uses an HTTP status code.

    HTTP translation happens once, at the edge (autodocs_core.http). Status codes are spotted
    as integer literals from 100 to 599 used in comparisons, and as ``status`` names.
    """
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                assert alias.name.split(".")[0] != "httpx", f"{path.name} imports httpx"
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            assert module.split(".")[0] != "httpx", f"{path.name} imports httpx"
            assert not (node.level >= 2 and module.split(".")[0] == "http"), (
                f"{path.name} imports the http layer"
            )
        elif isinstance(node, ast.Compare):
            for const in [node.left, *node.comparators]:
                if isinstance(const, ast.Constant) and type(const.value) is int:
                    assert not 100 <= const.value <= 599, f"{path.name} compares with {const.value}"
        elif isinstance(node, ast.Name | ast.Attribute):
            name = node.id if isinstance(node, ast.Name) else node.attr
            assert name not in {"status", "status_code", "httpx"}, f"{path.name} uses {name}"
    assert "httpx." not in source, f"{path.name} mentions httpx's API"
