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


# -- the import graph --------------------------------------------------------------------------

# The layers of the core, lowest first (docs/design.md). A module may import from its own layer
# or a lower one, never from a higher one; the graph has no cycle, TYPE_CHECKING imports included.
LAYERS: tuple[frozenset[str], ...] = tuple(
    frozenset(layer.split())
    for layer in (
        "errors _serde",
        "resilience",
        "http fleet",
        "pypi",
        "apiref docs cache deps",
        "config lookup context",
        "observability",
        "health metrics",  # deprecated shims over observability
        "service",
        "__init__",  # the package: lazy exports of the product
        "testing __main__",  # test helpers and the demo: nothing in the product imports them
    )
)


def _module_name(path: Path) -> str:
    parts = ["autodocs_core", *path.relative_to(CORE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _module_level_imports(path: Path, name: str) -> set[str]:
    """Modules of autodocs_core *path* imports at module level (``if``/``try`` bodies included)."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name.split(".")[: None if is_package else -1]
                    base = base[: len(base) - node.level + 1]
                    module = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    module = node.module or ""
                found.add(module)
                found.update(f"{module}.{a.name}" for a in node.names)
            elif isinstance(node, ast.If):
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                visit(node.orelse)
                visit(node.finalbody)
                for handler in node.handlers:
                    visit(handler.body)

    visit(ast.parse(path.read_text(encoding="utf-8")).body)
    return found


def _import_graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in CORE.rglob("*.py")}
    return {
        name: {m for m in _module_level_imports(path, name) if m in modules and m != name}
        for name, path in modules.items()
    }


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_cycle_finder_finds_a_cycle() -> None:
    """The cycle finder reports a three-module circle and nothing for a chain."""
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_the_import_graph_has_no_cycle() -> None:
    """No circle of imports among the modules of autodocs_core (TYPE_CHECKING ones included)."""
    assert _cycles(_import_graph()) == []


def _layer_of(module: str) -> int:
    unit = module.split(".")[1] if "." in module else "__init__"
    for rank, layer in enumerate(LAYERS):
        if unit in layer:
            return rank
    raise AssertionError(f"{module} is in no layer: add it to LAYERS (and docs/design.md)")


def test_no_import_runs_back_up_a_layer() -> None:
    """Each module imports only from its own layer or lower ones (see LAYERS)."""
    upward = [
        f"{src} -> {dst}"
        for src, targets in sorted(_import_graph().items())
        for dst in sorted(targets)
        if _layer_of(dst) > _layer_of(src)
    ]
    assert upward == []


@pytest.mark.parametrize(
    ("unit", "allowed"),
    [
        ("resilience", {"errors", "resilience"}),
        ("http", {"errors", "resilience", "http"}),
        ("pypi", {"errors", "_serde", "resilience", "http", "fleet", "pypi"}),
        ("observability", {"errors", "resilience", "http", "fleet", "pypi", "cache", "config"}),
    ],
)
def test_low_layers_import_only_what_is_below(unit: str, allowed: set[str]) -> None:
    """The resilience layer imports nothing above it; http nothing of pypi/cache/service; etc."""
    seen = {
        [*dst.split("."), "__init__"][1]
        for src, targets in _import_graph().items()
        if src.split(".")[1:2] == [unit]
        for dst in targets
    }
    assert seen - allowed - {unit} == set()


# -- public namespaces -------------------------------------------------------------------------

PUBLIC_NAMESPACES = [
    "autodocs_core",
    "autodocs_core.resilience",
    "autodocs_core.http",
    "autodocs_core.pypi",
    "autodocs_core.apiref",
    "autodocs_core.docs",
    "autodocs_core.cache",
    "autodocs_core.deps",
    "autodocs_core.testing",
    "autodocs_core.observability",
]
# Imported for the module itself, never part of an API.
_NOT_API = {"annotations", "TYPE_CHECKING", "Any"}


@pytest.mark.parametrize("name", PUBLIC_NAMESPACES)
def test_all_is_exactly_what_the_namespace_exposes(name: str) -> None:
    """Every name in __all__ resolves, once each, and every public attribute is in __all__."""
    import importlib

    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert len(exported) == len(set(exported)), "a name is listed twice"
    unresolved = [n for n in exported if not hasattr(module, n)]
    assert unresolved == []
    public = {
        n
        for n in (*vars(module), *dir(module))
        if not n.startswith("_")
        and n not in _NOT_API
        and not isinstance(getattr(module, n), type(sys))
    }
    assert public - set(exported) == set()


def test_the_product_is_at_the_top_and_loaded_lazily() -> None:
    """`autodocs_core.DocsService` and friends resolve; importing the package defers them."""
    out = _run(
        "import sys, autodocs_core\n"
        "lazy = 'autodocs_core.service' in sys.modules or 'autodocs_core.config' in sys.modules\n"
        "from autodocs_core import ApiAnswer, DocsAnswer, DocsService, Settings\n"
        "import autodocs_core.service as s, autodocs_core.config as c\n"
        "assert (DocsService, DocsAnswer, ApiAnswer, Settings) == "
        "(s.DocsService, s.DocsAnswer, s.ApiAnswer, c.Settings)\n"
        "print(lazy)"
    )
    assert out == "False"


def test_the_old_health_and_metrics_modules_still_import() -> None:
    """autodocs_core.health and autodocs_core.metrics re-export the observability names."""
    import autodocs_core.health
    import autodocs_core.metrics
    import autodocs_core.observability as obs

    assert autodocs_core.health.check_health is obs.check_health
    assert autodocs_core.health.PROBE_TTL == obs.PROBE_TTL
    assert autodocs_core.metrics.ServiceMetrics is obs.ServiceMetrics
