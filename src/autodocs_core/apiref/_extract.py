"""Static extraction of a release's public API from its module files, with griffe (pure CPU).

Each module is parsed on its own with griffe's static visitor (an AST walk: nothing is
imported or executed), so a module that does not parse under the running Python (newer syntax,
broken code, undecodable bytes) is skipped with a reason and never sinks the package. Stub
files (``.pyi``) are merged into their sources: signatures from the stub, docstrings from the
source. Re-exports are resolved over our own table of visited modules (no loader, no filesystem),
so the canonical path of an object is its shortest public one (``httpx.Client``).

Everything is bounded: bytes per module, modules, entries, docstring and signature lengths.
"""

from __future__ import annotations

import ast
import codecs
import inspect
import io
import logging
import re
import tokenize
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import attrs
import griffe

from ._model import ApiEntry, ApiIndex, Parameter, SkippedModule
from ._modules import ModuleFile, module_paths

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterable, Mapping

    from ._model import Artifact

__all__ = [
    "DEFAULT_EXTRACT_LIMITS",
    "DEFAULT_MAX_DOCSTRING_CHARS",
    "DEFAULT_MAX_ENTRIES",
    "DEFAULT_MAX_MODULE_BYTES",
    "DEFAULT_MAX_MODULES",
    "DEFAULT_MAX_MODULE_NODES",
    "DEFAULT_MAX_SIGNATURE_CHARS",
    "ExtractLimits",
    "extract_api",
]

DEFAULT_MAX_MODULE_BYTES = 1_500_000
"""Largest module file parsed (bytes); bigger ones (generated tables, blobs) are skipped."""
DEFAULT_MAX_MODULE_NODES = 20_000
"""Most statements read in one module (the rest of a huge generated module is left out)."""
DEFAULT_MAX_MODULES = 3_000
"""Most modules parsed for one version."""
DEFAULT_MAX_ENTRIES = 20_000
"""Most entries kept for one version (public, shallow ones first)."""
DEFAULT_MAX_DOCSTRING_CHARS = 1_500
"""Longest docstring kept; longer ones keep the summary, parameter items and first example."""
DEFAULT_MAX_SIGNATURE_CHARS = 1_000
"""Longest signature kept (one line)."""

_MAX_VALUE_CHARS = 300
_MAX_PART_CHARS = 200  # one annotation or default inside a signature
_MAX_MEMBERS = 200
_MAX_ALIASES = 8
_MAX_OVERLOADS = 12
_MAX_DECORATORS = 6
_MAX_PARAM_DESCRIPTION = 400
_MAX_DEGRADED_SHOWN = 5
_MAX_RESOLVE_STEPS = 64  # bounds one name's walk through import chains and wildcards
_MAX_BASES_DEPTH = 8

NOT_LOADED = "not loaded: outside the query on a very large package"
NO_API_NOTE = (
    "No API reference can be extracted from this release: its file holds neither Python "
    "sources nor type stubs (.pyi)."
)
STUBS_ONLY_NOTE = (
    "Compiled package: signatures come from its type stubs (.pyi); no docstrings in this release."
)


@attrs.frozen
class ExtractLimits:
    """Bounds on one extraction, whatever the input.

    Attributes:
        max_module_bytes: Largest module file parsed; bigger ones are skipped.
        max_module_nodes: Most statements read in one module (bounds the CPU per module).
        max_modules: Most modules parsed; the rest are skipped and the index is partial.
        max_entries: Most entries kept (public and shallow ones first).
        max_docstring_chars: Longest docstring kept (summary, parameter items, first example).
        max_signature_chars: Longest signature kept.

    .. versionadded:: 0.2.0
    """

    max_module_bytes: int = DEFAULT_MAX_MODULE_BYTES
    max_module_nodes: int = DEFAULT_MAX_MODULE_NODES
    max_modules: int = DEFAULT_MAX_MODULES
    max_entries: int = DEFAULT_MAX_ENTRIES
    max_docstring_chars: int = DEFAULT_MAX_DOCSTRING_CHARS
    max_signature_chars: int = DEFAULT_MAX_SIGNATURE_CHARS


DEFAULT_EXTRACT_LIMITS = ExtractLimits()
"""The default :class:`ExtractLimits`."""

# griffe logs a warning or an error for every oddity it meets in upstream code (unresolvable
# annotations, docstring items without a parameter): noise for a server reading thousands of
# modules. Quiet it unless the application configured griffe's logger itself.
_griffe_logger = logging.getLogger("griffe")
if _griffe_logger.level == logging.NOTSET:
    _griffe_logger.setLevel(logging.CRITICAL)

_NUMPY_SECTION = re.compile(r"(?m)^\s*(?:Parameters|Other Parameters)\s*\n\s*-{3,}\s*$")
_PARAM_HINT = re.compile(r"Args:|Arguments:|Parameters|:param |Keyword Args|Other Parameters")
_DEPRECATED_DOC = re.compile(r"(?im)^\s*(?:\.\. deprecated::|deprecated\b)")
_DATACLASS_DECORATORS = frozenset(
    {"dataclass", "dataclasses.dataclass", "pydantic.dataclasses.dataclass"}
)
_ATTRS_DECORATORS = frozenset(
    {
        "attr.s",
        "attr.attrs",
        "attr.define",
        "attr.mutable",
        "attr.frozen",
        "attr.dataclass",
        "attrs.define",
        "attrs.mutable",
        "attrs.frozen",
        "attr.attributes",
    }
)
_ATTRS_FIELD_CALLS = frozenset({"ib", "attrib", "attr", "field"})
_PYDANTIC_BASES = frozenset({"BaseModel", "BaseSettings", "RootModel", "SQLModel"})
_TYPING_ALIAS_HEADS = frozenset(
    {
        "Literal",
        "Union",
        "Optional",
        "Annotated",
        "Callable",
        "Type",
        "Dict",
        "List",
        "Tuple",
        "Set",
        "FrozenSet",
        "Mapping",
        "MutableMapping",
        "Sequence",
        "MutableSequence",
        "Iterable",
        "Iterator",
        "AsyncIterator",
        "AsyncIterable",
        "Awaitable",
        "Coroutine",
        "Generator",
        "AsyncGenerator",
        "dict",
        "list",
        "tuple",
        "set",
        "frozenset",
        "type",
    }
)
_TYPE_ALIAS_ANNOTATIONS = frozenset(
    {"TypeAlias", "typing.TypeAlias", "typing_extensions.TypeAlias"}
)
_TYPEVAR_CALLS = frozenset({"TypeVar", "ParamSpec", "TypeVarTuple"})
_KEPT_DUNDERS = frozenset(
    {
        "__call__",
        "__enter__",
        "__exit__",
        "__aenter__",
        "__aexit__",
        "__iter__",
        "__aiter__",
        "__next__",
        "__anext__",
        "__getitem__",
        "__setitem__",
        "__len__",
        "__contains__",
        "__await__",
    }
)
_BOUND_KINDS = frozenset({"positional-only", "positional or keyword"})
_KIND_NAMES = {
    "positional-only": "positional-only",
    "positional or keyword": "positional-or-keyword",
    "variadic positional": "var-positional",
    "keyword-only": "keyword-only",
    "variadic keyword": "var-keyword",
}


# -- small text helpers ---------------------------------------------------------------------


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split()) if "\n" in text else text
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


def _text(value: Any, limit: int = _MAX_PART_CHARS) -> str | None:
    if value is None:
        return None
    try:
        return _clip(str(value), limit)
    except Exception:
        return None


def _is_private_part(part: str) -> bool:
    return part.startswith("_") and not (part.startswith("__") and part.endswith("__"))


def _is_private(path: str) -> bool:
    return any(_is_private_part(part) for part in path.split("."))


def _canonical(expr: Any) -> str:
    try:
        return str(expr.canonical_path)
    except Exception:
        return str(expr)


def _decode(data: bytes) -> str:
    """Decode a module's bytes like Python does (BOM, PEP 263 cookie, else UTF-8)."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:  # an unknown coding cookie, or bad UTF-8 in the first lines
        raise LookupError(str(exc)) from None
    codecs.lookup(encoding)
    return data.decode(encoding)


_PARAM_HEADER = re.compile(
    r"^(?:Args|Arguments|Parameters|Params|Keyword Args|Keyword Arguments|Other Parameters)\s*:?$"
)
_EXAMPLE_HEADER = re.compile(r"^(?:Examples?|Usage)\s*:{0,2}$")
_UNDERLINE = re.compile(r"^\s*(?:-{3,}|={3,}|~{3,})\s*$")
_MAX_DOC_SCAN_LINES = 400


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _block(lines: list[str], start: int) -> list[str]:
    """The section starting at a header line: Google (indented body) or NumPy (underlined)."""
    header = lines[start]
    numpy = start + 1 < len(lines) and _UNDERLINE.match(lines[start + 1]) is not None
    out = [header]
    index = start + 1
    if numpy:
        out.append(lines[index])
        index += 1
    while index < len(lines):
        line = lines[index]
        if numpy:
            following = lines[index + 1] if index + 1 < len(lines) else ""
            if line.strip() and _UNDERLINE.match(following):
                break
            if not line.strip() and not following.strip():
                break
        elif line.strip() and _indent(line) <= _indent(header):
            break
        out.append(line)
        index += 1
    while out and not out[-1].strip():
        out.pop()
    return out


def _paragraph(lines: list[str], start: int) -> list[str]:
    out: list[str] = []
    for line in lines[start:]:
        if not line.strip():
            break
        out.append(line)
    return out


def _trim_docstring(text: str, limit: int) -> str:
    """Keep the summary, the parameter items and the first example of a long docstring."""
    text = text[: limit * 20]  # bound the work on a pathological docstring
    text = inspect.cleandoc(text)
    if len(text) <= limit:
        return text
    lines = text.splitlines()[:_MAX_DOC_SCAN_LINES]
    summary = _paragraph(lines, 0)
    keep = ["\n".join(summary)]
    params: list[str] = []
    example: list[str] = []
    for index, line in enumerate(lines[len(summary) :], start=len(summary)):
        stripped = line.strip()
        if not params and _PARAM_HEADER.match(stripped):
            params = _block(lines, index)
        elif not params and stripped.startswith((":param ", ":keyword ")):
            params = [
                item
                for item in _paragraph(lines, index)
                if not item.strip().startswith((":return", ":rtype", ":raises"))
            ]
        elif not example and _EXAMPLE_HEADER.match(stripped):
            example = _block(lines, index)
        elif not example and stripped.startswith((">>>", "```", ".. code-block")):
            example = _paragraph(lines, index)
            if stripped.startswith(("```", ".. code-block")):
                example = _block(lines, index) if stripped.startswith(".. ") else example
        if params and example:
            break
    share = max(0, limit - len(keep[0])) // 2
    for part in (params, example):
        if part:
            keep.append(_clip_block("\n".join(part), max(share, 80)))
    trimmed = "\n\n".join(keep) + "\n\n…"
    if len(trimmed) > limit:
        trimmed = trimmed[: max(0, limit - 1)].rstrip() + "…"
    return trimmed


def _clip_block(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(0, limit - 1)].rstrip() + "…"


# -- parsing one module ------------------------------------------------------------------------


def _dummy_parents(dotted: str) -> griffe.Module | None:
    """Build an empty package chain above a module, so relative imports resolve."""
    parent: griffe.Module | None = None
    for part in dotted.split(".")[:-1]:
        parent = griffe.Module(part, filepath=Path(part) / "__init__.py", parent=parent)
    return parent


_ATTRIBUTE_NODES: tuple[type[ast.AST], ...] = tuple(
    t for t in (ast.Assign, ast.AnnAssign, getattr(ast, "TypeAlias", None)) if t is not None
)
_NO_SIBLING = object()


class _LinearVisitor(griffe.Visitor):
    """griffe's static visitor, linear in the length of a statement list.

    For each assignment griffe looks for the docstring in the next statement by scanning the
    parent's children from the start (``ast_next``), which is quadratic in the body's length:
    5,000 top-level assignments took ~20 s. We remember each statement's next sibling while
    walking a body and show griffe a two-statement parent, so the lookup costs O(1).
    """

    def __init__(self, *args: Any, budget: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._next_of: dict[int, ast.AST | None] = {}
        self.budget = budget  # nodes left to visit: bounds the CPU spent on one module
        self.truncated = False

    def generic_visit(self, node: ast.AST) -> None:
        children = list(griffe.ast_children(node))
        for index, child in enumerate(children):
            if isinstance(child, _ATTRIBUTE_NODES):
                following = children[index + 1] if index + 1 < len(children) else None
                self._next_of[id(child)] = following
            self.visit(child)

    def visit(self, node: ast.AST) -> None:
        if self.budget <= 0:
            self.truncated = True
            return
        self.budget -= 1
        following = self._next_of.pop(id(node), _NO_SIBLING)
        if following is _NO_SIBLING:
            super().visit(node)
            return
        real = getattr(node, "parent", None)
        pair: list[Any] = [node] if following is None else [node, following]
        node.parent = ast.Module(body=pair, type_ignores=[])  # type: ignore[attr-defined]
        try:
            super().visit(node)
        finally:
            node.parent = real  # type: ignore[attr-defined]
            if following is not None:
                following.parent = real  # type: ignore[attr-defined]


def _visit(
    module: ModuleFile, path: str, data: bytes, extensions: griffe.Extensions, budget: int
) -> tuple[griffe.Module, bool]:
    code = _decode(data)
    short = module.name.rsplit(".", 1)[-1]
    visitor = _LinearVisitor(
        short,
        Path(path),  # a name only: griffe reads its suffix, nothing touches the filesystem
        code,
        extensions,
        _dummy_parents(module.name),
        budget=budget,
    )
    return visitor.get_module(), visitor.truncated


def _describe(exc: BaseException) -> str:
    if isinstance(exc, SyntaxError):
        where = f" at line {exc.lineno}" if exc.lineno else ""
        return _clip(f"syntax error{where}: {exc.msg}", 200)
    if isinstance(exc, (UnicodeDecodeError, LookupError)):
        return _clip(f"undecodable bytes: {exc}", 200)
    if isinstance(exc, RecursionError):
        return "too deeply nested to analyse"
    if isinstance(exc, MemoryError):
        return "too large to analyse"
    return _clip(f"could not be analysed: {type(exc).__name__}: {exc}", 200)


_PEP695_HEAD = re.compile(
    r"(?m)^([ \t]*)(type[ \t]+\w+|(?:async[ \t]+)?def[ \t]+\w+|class[ \t]+\w+)[ \t]*\["
)
_PEP695_ALIAS = re.compile(r"(?m)^([ \t]*)type[ \t]+(\w+)[ \t]*=")


def _strip_type_params(code: str) -> str | None:
    """Rewrite PEP 695 syntax (``type X = ...``, ``def f[T](...)``, ``class C[T]:``) for 3.11.

    Stubs of recent releases use it; the running Python may not parse it. Type parameter lists
    are dropped and ``type X = v`` becomes ``X: TypeAlias = v``: the signatures stay readable.
    Returns ``None`` when there is nothing to rewrite.
    """
    out: list[str] = []
    position = 0
    changed = False
    for match in _PEP695_HEAD.finditer(code):
        start = match.end() - 1  # the "["
        if start < position:
            continue
        depth, index = 0, start
        while index < len(code):
            char = code[index]
            if char in "([{":
                depth += 1
            elif char in ")]}":
                depth -= 1
                if depth == 0:
                    break
            index += 1
        else:
            return None
        out.append(code[position:start])
        position = index + 1
        changed = True
    out.append(code[position:])
    rewritten = "".join(out)
    aliased = _PEP695_ALIAS.sub(r"\1\2: TypeAlias =", rewritten)
    if not changed and aliased == code:
        return None
    return aliased


def _merge(source: griffe.Module, stubs: griffe.Module) -> griffe.Module:
    """Merge stubs into a source module, keeping overload-only stub functions.

    griffe drops a stub's ``@overload`` variants when the source has no function of that name
    (a function implemented in C, such as ``numpy.array``): we put them back.
    """
    overload_only = {
        name: list(variants)
        for name, variants in stubs.overloads.items()
        if variants and name not in stubs.members
    }
    merged = griffe.merge_stubs(source, stubs)
    for name, variants in overload_only.items():
        if name not in merged.members:
            merged.overloads[name] = variants
    return merged


def _retry_without_type_params(
    module: ModuleFile,
    path: str,
    data: bytes,
    extensions: griffe.Extensions,
    limits: ExtractLimits,
) -> tuple[griffe.Module, bool] | None:
    try:
        rewritten = _strip_type_params(_decode(data))
        if rewritten is None:
            return None
        return _visit(module, path, rewritten.encode(), extensions, limits.max_module_nodes)
    except (Exception, RecursionError, MemoryError):
        return None


def _parse_module(
    module: ModuleFile,
    sources: Mapping[str, bytes],
    extensions: griffe.Extensions,
    limits: ExtractLimits,
) -> tuple[griffe.Module | None, bool, str | None, bool]:
    """Return (module, from_source, reason, truncated).

    The reason says why the module was skipped (no module), or which half of a ``.py``/``.pyi``
    pair could not be read (module kept).
    """
    parsed: dict[str, griffe.Module] = {}
    errors: list[str] = []
    truncated = False
    for suffix, path in (("pyi", module.pyi), ("py", module.py)):
        if path is None:
            continue
        data = sources.get(path)
        if data is None:
            errors.append("file not read")
            continue
        if len(data) > limits.max_module_bytes:
            errors.append(
                f"over the size limit ({len(data):,} bytes > {limits.max_module_bytes:,})"
            )
            continue
        try:
            parsed[suffix], cut = _visit(module, path, data, extensions, limits.max_module_nodes)
            truncated = truncated or cut
        except SyntaxError as exc:
            recovered = _retry_without_type_params(module, path, data, extensions, limits)
            if recovered is None:
                errors.append(_describe(exc))
            else:
                parsed[suffix], cut = recovered
                truncated = truncated or cut
        except (Exception, RecursionError, MemoryError) as exc:
            errors.append(_describe(exc))
    # One of two files failed: keep the other, and say which half is missing.
    half = None
    if errors and parsed:
        half = f"{'source' if 'pyi' in parsed else 'stub'} unreadable: {errors[0]}"
    if "py" in parsed and "pyi" in parsed:
        try:
            return _merge(parsed["py"], parsed["pyi"]), True, None, truncated
        except Exception:  # a merge failure keeps the stub's signatures
            return parsed["pyi"], False, "merge failed", truncated
    if "pyi" in parsed:
        return parsed["pyi"], False, half, truncated
    if "py" in parsed:
        return parsed["py"], True, half, truncated
    return None, False, errors[0] if errors else "no file", False


# -- the table of visited objects ----------------------------------------------------------------


@attrs.define
class _Table:
    modules: dict[str, griffe.Module] = attrs.Factory(dict)
    objects: dict[str, Any] = attrs.Factory(dict)  # defined path -> griffe object (not aliases)

    def add(self, module: griffe.Module) -> None:
        self.modules[module.path] = module
        self.objects[module.path] = module
        stack: list[Any] = [module]
        while stack:
            obj = stack.pop()
            for member in list(obj.members.values()):
                if member.is_alias:
                    continue
                if member.is_module:
                    continue
                self.objects[member.path] = member
                if member.is_class:
                    stack.append(member)
            # Stub functions that only have @overload variants live apart from the members.
            for name, variants in (getattr(obj, "overloads", None) or {}).items():
                if variants and name not in obj.members:
                    self.objects[f"{obj.path}.{name}"] = variants[0]

    def resolve(self, target: str) -> str | None:
        """Follow import chains (wildcards too) through visited modules to the defining path."""
        seen: set[str] = set()
        pending = [target]
        steps = 0
        while pending and steps < _MAX_RESOLVE_STEPS:
            steps += 1
            target = pending.pop()
            if target in self.objects:
                return target
            if target in seen:
                continue
            seen.add(target)
            owner, _, name = target.rpartition(".")
            holder = self.modules.get(owner)
            if holder is None:
                continue
            member = holder.members.get(name)
            if member is not None:
                if member.is_alias:
                    pending.append(_target(member))
                continue
            # Not defined there: it may come in through `from x import *` (last one wins).
            pending.extend(f"{_target(alias)}.{name}" for alias in self.wildcards(holder))
        return None

    def wildcards(self, module: griffe.Module) -> list[Any]:
        return [m for n, m in module.members.items() if "/" in n and m.is_alias]


def _exports(module: griffe.Module, table: _Table) -> list[tuple[str, str]]:
    """(public name, defining path) pairs that a package module re-exports."""
    names: list[str] = []
    # An empty or unreadable `__all__` is usually built at run time (numpy): use the public names.
    listed = [name for name in (module.exports or ()) if isinstance(name, str)]
    if listed:
        names = listed
    else:
        for name, member in module.members.items():
            if _is_private_part(name) or name.startswith("__"):
                continue
            if member.is_alias and "/" in name:  # a wildcard import: `from ._x import *`
                source = table.modules.get(_target(member))
                if source is not None:
                    names.extend(n for n, _ in _public_names(source))
                continue
            names.append(name)
        names.extend(
            n for n in (module.overloads or {}) if not n.startswith("_") and n not in module.members
        )
    out: list[tuple[str, str]] = []
    for name in names[: _MAX_MEMBERS * 10]:
        resolved = table.resolve(f"{module.path}.{name}")
        if resolved is not None:
            out.append((name, resolved))
    return out


def _target(member: Any) -> str:
    return str(getattr(member, "target_path", ""))


def _public_names(module: griffe.Module) -> list[tuple[str, Any]]:
    listed = [n for n in (module.exports or ()) if isinstance(n, str)]
    if listed:
        return [(n, None) for n in listed]
    names: list[tuple[str, Any]] = [
        (n, m) for n, m in module.members.items() if not n.startswith("_")
    ]
    names += [
        (n, None) for n in module.overloads if not n.startswith("_") and n not in module.members
    ]
    return names


def _path_key(path: str, dist: str = "") -> tuple[bool, int, bool, int, str]:
    """Public first, then shallow, then under the distribution's own name (``attrs.define``)."""
    top = path.split(".", 1)[0]
    return (_is_private(path), path.count("."), top != dist, len(path), path)


# -- entries ---------------------------------------------------------------------------------


@attrs.define
class _Builder:
    table: _Table
    limits: ExtractLimits
    docstrings: bool
    canonical: dict[str, str] = attrs.Factory(dict)  # defined path -> canonical path
    aliases: dict[str, set[str]] = attrs.Factory(dict)
    exported: set[str] = attrs.Factory(set)  # defined paths reachable as `top.X`
    overflow: bool = False  # more objects than the entry limit allows
    dist: str = ""  # the distribution's name as a module name, preferred on ties

    def doc(self, obj: Any) -> tuple[str | None, Any]:
        docstring = getattr(obj, "docstring", None)
        if docstring is None or (not self.docstrings and not docstring.value.strip()):
            return None, None
        return _trim_docstring(docstring.value, self.limits.max_docstring_chars) or None, docstring

    def param_docs(self, docstring: Any) -> dict[str, str]:
        if docstring is None or not _PARAM_HINT.search(docstring.value):
            return {}
        text = docstring.value
        style: Literal["google", "numpy", "sphinx"]
        if ":param " in text or ":keyword " in text:
            style = "sphinx"
        elif _NUMPY_SECTION.search(text):
            style = "numpy"
        else:
            style = "google"
        try:
            sections = griffe.parse(docstring, style, warnings=False)
        except Exception:  # an unparsable docstring just has no parameter items
            return {}
        out: dict[str, str] = {}
        for section in sections:
            if section.kind.value in ("parameters", "other parameters"):
                for item in section.value:
                    name = str(getattr(item, "name", "")).lstrip("*")
                    if name and name not in out:
                        out[name] = _clip(
                            str(getattr(item, "description", "")), _MAX_PARAM_DESCRIPTION
                        )
        return out

    def params(self, function: Any, *, drop_first: bool, docs: dict[str, str]) -> list[Parameter]:
        out: list[Parameter] = []
        for index, param in enumerate(function.parameters):
            # The bound instance or class, whatever its name (``self``, ``cls``, ``__self``).
            if index == 0 and drop_first and param.kind.value in _BOUND_KINDS:
                continue
            kind = _KIND_NAMES.get(param.kind.value, "positional-or-keyword")
            default = None if kind in ("var-positional", "var-keyword") else _text(param.default)
            out.append(
                Parameter(
                    name=param.name,
                    kind=kind,
                    annotation=_text(param.annotation),
                    default=default,
                    description=docs.get(param.name) or None,
                )
            )
        return out

    def signature(self, params: Iterable[Parameter], returns: str | None) -> str:
        parts: list[str] = []
        seen_star = seen_pos_only = False
        plist = list(params)
        for index, param in enumerate(plist):
            if param.kind == "positional-only":
                seen_pos_only = True
            elif seen_pos_only:
                parts.append("/")
                seen_pos_only = False
            prefix = ""
            if param.kind == "var-positional":
                prefix, seen_star = "*", True
            elif param.kind == "var-keyword":
                prefix = "**"
            elif param.kind == "keyword-only" and not seen_star:
                parts.append("*")
                seen_star = True
            text = prefix + param.name
            if param.annotation:
                text += f": {param.annotation}"
            if param.default is not None:
                text += f" = {param.default}" if param.annotation else f"={param.default}"
            parts.append(text)
            if index == len(plist) - 1 and seen_pos_only:
                parts.append("/")
        sig = "(" + ", ".join(parts) + ")"
        if returns:
            sig += f" -> {returns}"
        return _clip(sig, self.limits.max_signature_chars)

    def deprecated(self, obj: Any, docstring: str | None) -> bool:
        for decorator in getattr(obj, "decorators", ()) or ():
            if str(decorator.value).split("(", 1)[0].rsplit(".", 1)[-1] == "deprecated":
                return True
        return bool(docstring and _DEPRECATED_DOC.search(docstring))

    def decorators(self, obj: Any) -> tuple[str, ...]:
        decos = [_text(d.value, 80) for d in (getattr(obj, "decorators", ()) or ())]
        labels = [
            label
            for label in ("property", "classmethod", "staticmethod", "abstractmethod")
            if label in obj.labels
        ]
        out = [d for d in decos if d] or labels
        return tuple(out[:_MAX_DECORATORS])

    # -- functions --

    def function_entry(
        self, path: str, fn: Any, *, kind: str, module: str, overloads: list[Any]
    ) -> ApiEntry:
        docstring, raw = self.doc(fn)
        docs = self.param_docs(raw)
        method = kind == "method" and "staticmethod" not in fn.labels
        params = self.params(fn, drop_first=method, docs=docs)
        returns = _text(fn.returns)
        variants = tuple(
            self.signature(self.params(o, drop_first=method, docs={}), _text(o.returns))
            for o in overloads[:_MAX_OVERLOADS]
        )
        return ApiEntry(
            path=path,
            kind=kind,
            module=module,
            signature=self.signature(params, returns),
            parameters=tuple(params),
            returns=returns,
            docstring=docstring,
            overloads=variants,
            private=_is_private(path),
            deprecated=self.deprecated(fn, docstring),
            decorators=self.decorators(fn),
        )

    # -- classes --

    def base_classes(self, cls: Any) -> list[Any]:
        out: list[Any] = []
        for base in cls.bases:
            target = self.table.resolve(_canonical(base))
            found = self.table.objects.get(target) if target else None
            if found is not None and found.is_class and found is not cls:
                out.append(found)
        return out

    def class_flavour(self, cls: Any, depth: int = 0) -> str | None:
        for decorator in cls.decorators:
            head = _canonical(decorator.value).split("(", 1)[0]
            written = str(decorator.value).split("(", 1)[0]
            if head in _DATACLASS_DECORATORS or written in ("dataclass", "dataclasses.dataclass"):
                return "dataclass"
            if (
                head in _ATTRS_DECORATORS
                or written in _ATTRS_DECORATORS
                or written in ("define", "frozen", "attrs", "mutable")
            ):
                return "attrs"
        for base in cls.bases:
            name = str(base).split("[", 1)[0].rsplit(".", 1)[-1]
            if name in _PYDANTIC_BASES:
                return "pydantic"
            if name == "NamedTuple":
                return "namedtuple"
            if name == "TypedDict":
                return "typeddict"
        if depth < _MAX_BASES_DEPTH:
            for base in self.base_classes(cls):
                flavour = self.class_flavour(base, depth + 1)
                if flavour in ("pydantic", "typeddict", "namedtuple"):
                    return flavour
        return None

    def decorator_kw_only(self, cls: Any) -> bool:
        for decorator in cls.decorators:
            if "kw_only=True" in str(decorator.value).replace(" ", ""):
                return True
        return False

    def fields(self, cls: Any, flavour: str, depth: int = 0) -> list[Parameter]:
        inherited: list[Parameter] = []
        if depth < _MAX_BASES_DEPTH:
            for base in reversed(self.base_classes(cls)):
                if self.class_flavour(base) == flavour or flavour in ("pydantic", "typeddict"):
                    inherited.extend(self.fields(base, flavour, depth + 1))
        kw_only = flavour in ("pydantic", "typeddict") or self.decorator_kw_only(cls)
        own: list[Parameter] = []
        for name, member in cls.members.items():
            if member.is_alias or not member.is_attribute:
                continue
            if name in ("model_config", "__slots__", "__match_args__") or name.startswith("__"):
                continue
            annotation = member.annotation
            value = member.value
            call = _field_call(value)
            if flavour == "attrs" and annotation is None and call is None:
                continue
            if flavour != "attrs" and annotation is None:
                continue
            if annotation is not None and "instance-attribute" not in member.labels:
                continue  # ClassVar[...]: not a field
            if annotation is not None:
                ann_text = str(annotation)
                if ann_text.startswith(("ClassVar", "typing.ClassVar", "Final[")):
                    continue
                if ann_text in ("KW_ONLY", "dataclasses.KW_ONLY"):
                    kw_only = True
                    continue
            default, field_kw, init, alias = _field_default(value, call, flavour)
            if not init:
                continue
            pname = alias or name
            if flavour == "attrs" and pname.startswith("_") and not alias:
                pname = pname.lstrip("_")
            own.append(
                Parameter(
                    name=pname,
                    kind="keyword-only" if (kw_only or field_kw) else "positional-or-keyword",
                    annotation=_text(annotation),
                    default=default,
                )
            )
        merged: dict[str, Parameter] = {p.name: p for p in inherited}
        for param in own:
            merged.pop(param.name, None)
            merged[param.name] = param
        return list(merged.values())[:_MAX_MEMBERS]

    def init_function(self, cls: Any, depth: int = 0) -> Any | None:
        for special in ("__init__", "__new__"):
            init = cls.members.get(special)
            if init is not None and not init.is_alias and init.is_function:
                return init
        if depth < _MAX_BASES_DEPTH:
            for base in self.base_classes(cls):
                found = self.init_function(base, depth + 1)
                if found is not None:
                    return found
        return None

    def class_entry(self, path: str, cls: Any, *, module: str) -> ApiEntry:
        docstring, raw = self.doc(cls)
        docs = self.param_docs(raw)
        flavour = self.class_flavour(cls)
        params: list[Parameter] | None = None
        overloads: tuple[str, ...] = ()
        init = cls.members.get("__init__")
        own_init = init is not None and not init.is_alias and init.is_function
        if flavour is not None and not own_init:
            params = [
                attrs.evolve(p, description=docs.get(p.name)) for p in self.fields(cls, flavour)
            ]
        else:
            fn = self.init_function(cls)
            if fn is not None:
                init_docs = docs or self.param_docs(getattr(fn, "docstring", None))
                params = self.params(fn, drop_first=True, docs=init_docs)
                overloads = tuple(
                    self.signature(self.params(o, drop_first=True, docs={}), None)
                    for o in _overloads_of(cls, fn)[:_MAX_OVERLOADS]
                )
        return ApiEntry(
            path=path,
            kind="class",
            module=module,
            signature=self.signature(params, None) if params is not None else None,
            parameters=tuple(params or ()),
            docstring=docstring,
            bases=tuple(t for t in (_text(b) for b in cls.bases[:_MAX_MEMBERS]) if t),
            members=tuple(_visible_members(cls)[:_MAX_MEMBERS]),
            overloads=overloads,
            private=_is_private(path),
            deprecated=self.deprecated(cls, docstring),
            decorators=self.decorators(cls),
        )

    def attribute_entry(
        self, path: str, attr: Any, *, module: str, in_class: bool
    ) -> ApiEntry | None:
        value = attr.value
        annotation = _text(attr.annotation)
        kind = "attribute"
        if "property" in attr.labels:
            kind = "property"
        elif annotation in _TYPE_ALIAS_ANNOTATIONS or (
            not in_class and annotation is None and _looks_like_alias(value)
        ):
            kind = "type_alias"
        elif (
            isinstance(value, griffe.ExprCall)
            and str(value.function).rsplit(".", 1)[-1] in _TYPEVAR_CALLS
        ):
            return None
        docstring, _ = self.doc(attr)
        return ApiEntry(
            path=path,
            kind=kind,
            module=module,
            returns=annotation if kind != "type_alias" else None,
            docstring=docstring,
            value=_text(value, _MAX_VALUE_CHARS),
            private=_is_private(path),
            deprecated=self.deprecated(attr, docstring),
            decorators=self.decorators(attr) if kind == "property" else (),
        )


def _field_call(value: Any) -> Any | None:
    if isinstance(value, griffe.ExprCall):
        head = str(value.function).rsplit(".", 1)[-1]
        if head in _ATTRS_FIELD_CALLS or head in ("Field", "field", "PrivateAttr"):
            return value
    return None


def _field_default(
    value: Any, call: Any, flavour: str
) -> tuple[str | None, bool, bool, str | None]:
    """(default as written, keyword-only, in __init__, alias) of one field."""
    if value is None:
        return None, False, True, None
    if call is None:
        return _text(value), False, True, None
    head = str(call.function).rsplit(".", 1)[-1]
    if head == "PrivateAttr":
        return None, False, False, None
    default: str | None = None
    kw_only, init, alias = False, True, None
    positional = [a for a in call.arguments if not isinstance(a, griffe.ExprKeyword)]
    if positional and flavour == "pydantic":
        first = _text(positional[0])
        default = None if first in ("...", "Ellipsis") else first
    for argument in call.arguments:
        if not isinstance(argument, griffe.ExprKeyword):
            continue
        text = _text(argument.value)
        if argument.name == "default":
            default = None if text in ("...", "Ellipsis") else text
        elif argument.name in ("factory", "default_factory") and text:
            default = (
                f"{text}()" if text.replace(".", "").replace("_", "").isalnum() else "<factory>"
            )
        elif argument.name == "kw_only":
            kw_only = text == "True"
        elif argument.name == "init":
            init = text != "False"
        elif argument.name == "alias" and text and text[0] in "'\"":
            alias = text.strip("'\"")
    if head in ("ib", "attrib", "attr") and default is None:
        default = None
    return default, kw_only, init, alias


def _looks_like_alias(value: Any) -> bool:
    if isinstance(value, griffe.ExprSubscript):
        head = str(value.left).rsplit(".", 1)[-1]
        return head in _TYPING_ALIAS_HEADS
    if isinstance(value, griffe.ExprBinOp) and value.operator == "|":
        return any(
            _looks_like_alias(side) or str(side) == "None" for side in (value.left, value.right)
        )
    return False


def _overloads_of(owner: Any, fn: Any) -> list[Any]:
    found = list(getattr(fn, "overloads", None) or [])
    if not found:
        found = list((getattr(owner, "overloads", None) or {}).get(fn.name, []) or [])
    return found


def _visible(name: str) -> bool:
    return not name.startswith("_") or name in _KEPT_DUNDERS


def _module_members(module: griffe.Module, table: _Table) -> list[str]:
    """A module's API: its ``__all__``, else its public names defined in the package.

    Names it merely imports from elsewhere (``Literal``, ``overload``) are left out.
    """
    listed = [n for n in (module.exports or ()) if isinstance(n, str)]
    if listed:
        return sorted(dict.fromkeys(listed))
    names: list[str] = []
    for name in _visible_members(module):
        member = module.members.get(name)
        imported = member is not None and member.is_alias
        if not imported or table.resolve(f"{module.path}.{name}") is not None:
            names.append(name)
    return names


def _visible_members(obj: Any) -> list[str]:
    names = [n for n, m in obj.members.items() if _visible(n) and not (m.is_alias and "/" in n)]
    for name in getattr(obj, "overloads", {}) or {}:
        if _visible(name) and name not in obj.members:
            names.append(name)
    return sorted(names)


# -- the whole package ---------------------------------------------------------------------------


def _wanted_modules(
    mapping: dict[str, ModuleFile],
    sources: Mapping[str, bytes],
    wanted: Collection[str],
    limits: ExtractLimits,
) -> set[str]:
    terms = [t.strip() for t in wanted if t and t.strip()][:64]
    words = {part for term in terms for part in term.split(".") if part.isidentifier()}
    selected: set[str] = set()
    patterns = [
        re.compile(
            rb"(?m)^\s*(?:async\s+)?(?:def|class)\s+"
            + re.escape(w.encode())
            + rb"\b|^"
            + re.escape(w.encode())
            + rb"\s*[:=]"
        )
        for w in sorted(words)[:64]
    ]
    for name, module in mapping.items():
        parts = name.split(".")
        if any(name == t or name.startswith(t + ".") or t.startswith(name + ".") for t in terms):
            selected.add(name)
            continue
        if any(part in words for part in parts[1:]):
            selected.add(name)
            continue
        for path in (module.pyi, module.py):
            data = sources.get(path) if path else None
            if (
                data is not None
                and len(data) <= limits.max_module_bytes
                and any(p.search(data) for p in patterns)
            ):
                selected.add(name)
                break
    # the top-level packages and the __init__ chain above each selected module
    for name in list(selected) + [n for n in mapping if "." not in n]:
        parts = name.split(".")
        for i in range(1, len(parts) + 1):
            prefix = ".".join(parts[:i])
            if prefix in mapping:
                selected.add(prefix)
    return selected


def extract_api(
    name: str,
    version: str,
    artifact: Artifact,
    sources: Mapping[str, bytes],
    *,
    wanted: Collection[str] | None = None,
    limits: ExtractLimits = DEFAULT_EXTRACT_LIMITS,
    should_stop: Callable[[], bool] | None = None,
    stub_source: str | None = None,
) -> ApiIndex:
    """Read the public API of one release from its module files, statically.

    Nothing is imported or executed: each module is parsed on its own with griffe's static
    visitor, so a module that fails to parse is skipped with a reason and the rest stands.

    Args:
        name: The normalised distribution name.
        version: The exact version.
        artifact: The released file the sources come from.
        sources: Archive member path → file bytes (``.py``/``.pyi`` members; others ignored).
        wanted: Module names or identifiers from the query: when given, only the modules that
            match (plus the ``__init__`` chain above them and the top-level packages) are parsed,
            and the index is ``partial``.
        limits: Bounds on bytes, modules, entries and text lengths.
        should_stop: Checked between modules; when it answers ``True`` the remaining modules
            are skipped (reason ``deadline``) and the index is ``partial``.
        stub_source: The ``types-<name>`` distribution the sources come from, if any.

    Returns:
        The :class:`ApiIndex`, entries sorted by path.

    .. versionadded:: 0.2.0
    """
    sdist = True if artifact.kind == "sdist" else None
    mapping = module_paths(sources.keys(), name=name, sdist=sdist)
    skipped: list[SkippedModule] = []
    notes: list[str] = []
    if not mapping:
        return ApiIndex(
            name=name,
            version=version,
            artifact=artifact,
            has_docstrings=False,
            notes=(NO_API_NOTE,),
            stub_source=stub_source,
        )
    order = sorted(mapping, key=lambda m: (m.count("."), m))
    partial = False
    if wanted is not None:
        selected = _wanted_modules(mapping, sources, wanted, limits)
        for module_name in order:
            if module_name not in selected:
                skipped.append(SkippedModule(module_name, NOT_LOADED))
        order = [m for m in order if m in selected]
        partial = True

    extensions = griffe.load_extensions()
    table = _Table()
    from_source: dict[str, bool] = {}
    degraded: list[str] = []
    for index, module_name in enumerate(order):
        if should_stop is not None and should_stop():
            skipped.extend(SkippedModule(m, "deadline") for m in order[index:])
            partial = True
            notes.append(
                "The deadline passed before every module was read: this reference is partial."
            )
            break
        if len(table.modules) >= limits.max_modules:
            skipped.extend(SkippedModule(m, "over the module limit") for m in order[index:])
            partial = True
            notes.append(f"Only the first {limits.max_modules:,} modules were read.")
            break
        parsed = _parse_module(mapping[module_name], sources, extensions, limits)
        module, source, reason, truncated = parsed
        if module is None:
            skipped.append(SkippedModule(module_name, reason or "could not be analysed"))
            continue
        if reason is not None:
            degraded.append(f"{module_name} ({reason})")
        if truncated:
            notes.append(
                f"Module {module_name} is very long: only its first "
                f"{limits.max_module_nodes:,} statements were read."
            )
        table.add(module)
        from_source[module.path] = source

    if degraded:
        shown = "; ".join(degraded[:_MAX_DEGRADED_SHOWN])
        more = len(degraded) - _MAX_DEGRADED_SHOWN
        notes.append(
            f"{len(degraded)} module(s) were read from one file of their .py/.pyi pair: {shown}"
            + (f"; and {more} more." if more > 0 else ".")
        )
    has_docstrings = any(from_source.values()) and stub_source is None
    if from_source and not any(from_source.values()):
        notes.append(STUBS_ONLY_NOTE)
    if stub_source is not None:
        notes.append(f"Signatures come from the {stub_source} stub distribution; no docstrings.")

    builder = _Builder(
        table=table,
        limits=limits,
        docstrings=has_docstrings,
        dist=re.sub(r"[-_.]+", "_", name).lower(),
    )
    _assign_paths(builder)
    entries = _build_entries(builder)
    if len(entries) > limits.max_entries or builder.overflow:
        entries.sort(key=lambda e: (e.private, not e.exported, e.path.count("."), e.path))
        del entries[limits.max_entries :]
        notes.append(f"Only {limits.max_entries:,} objects were kept (public ones first).")
    entries.sort(key=lambda e: e.path)
    return ApiIndex(
        name=name,
        version=version,
        artifact=artifact,
        entries=tuple(entries),
        skipped=tuple(sorted(skipped, key=lambda s: s.module)),
        modules_total=len(mapping),
        modules_loaded=len(table.modules),
        has_docstrings=has_docstrings,
        partial=partial,
        notes=tuple(notes),
        stub_source=stub_source,
    )


def _assign_paths(builder: _Builder) -> None:
    """Give each re-exported object its shortest public path; remember the others."""
    table = builder.table
    candidates: dict[str, set[str]] = {}
    tops = {m for m in table.modules if "." not in m}
    for module_path, module in table.modules.items():
        if not module.is_init_module:
            continue
        for exported_name, defined in _exports(module, table):
            public_path = f"{module_path}.{exported_name}"
            candidates.setdefault(defined, set()).add(public_path)
            if module_path in tops:
                builder.exported.add(defined)
    for defined, paths in candidates.items():
        paths.add(defined)
        ordered = sorted(paths, key=lambda p: _path_key(p, builder.dist))
        builder.canonical[defined] = ordered[0]
        builder.aliases[defined] = set(ordered[1 : 1 + _MAX_ALIASES])
    for top in tops:
        builder.exported.add(top)


def _build_entries(builder: _Builder) -> list[ApiEntry]:
    table = builder.table
    entries: list[ApiEntry] = []
    emitted: set[str] = set()

    # Build at most twice the limit, so the cut can still prefer public, shallow objects.
    cap = builder.limits.max_entries * 2

    def finish(entry: ApiEntry, defined: str, exported: bool) -> None:
        if entry.path in emitted:
            return
        if len(entries) >= cap:
            builder.overflow = True
            return
        emitted.add(entry.path)
        aliases = tuple(
            sorted(builder.aliases.get(defined, ()), key=lambda p: _path_key(p, builder.dist))
        )
        entries.append(attrs.evolve(entry, exported=exported, aliases=aliases))

    for module_path, module in table.modules.items():
        docstring, _ = builder.doc(module)
        exported = module_path in builder.exported or module_path.count(".") == 0
        finish(
            ApiEntry(
                path=module_path,
                kind="module",
                module=module_path,
                docstring=docstring,
                members=tuple(_module_members(module, table)[:_MAX_MEMBERS]),
                private=_is_private(module_path),
                deprecated=builder.deprecated(module, docstring),
            ),
            module_path,
            exported,
        )
        stack: list[tuple[Any, str, bool]] = [(module, module_path, False)]
        while stack and not builder.overflow:
            owner, owner_path, owner_exported = stack.pop()
            in_class = owner.is_class
            names = list(owner.members)
            names += [
                n for n in (getattr(owner, "overloads", None) or {}) if n not in owner.members
            ]
            for member_name in names:
                if not _visible(member_name):
                    continue
                member = owner.members.get(member_name)
                if member is not None and member.is_alias:
                    continue
                if member is not None and member.is_module:
                    continue
                if member is None:
                    variants = list((owner.overloads or {}).get(member_name) or [])
                    if not variants:
                        continue
                    defined = f"{owner.path}.{member_name}"
                    path = builder.canonical.get(defined, f"{owner_path}.{member_name}")
                    variant = builder.function_entry(
                        path,
                        variants[0],
                        kind="method" if in_class else "function",
                        module=module_path,
                        overloads=variants,
                    )
                    finish(variant, defined, owner_exported or defined in builder.exported)
                    continue
                defined = member.path
                path = builder.canonical.get(defined, f"{owner_path}.{member_name}")
                exported = owner_exported or defined in builder.exported
                entry: ApiEntry | None
                if member.is_class:
                    entry = builder.class_entry(path, member, module=module_path)
                    stack.append((member, path, exported))
                elif member.is_function:
                    entry = builder.function_entry(
                        path,
                        member,
                        kind="method" if in_class else "function",
                        module=module_path,
                        overloads=_overloads_of(owner, member),
                    )
                elif member.is_attribute:
                    entry = builder.attribute_entry(
                        path, member, module=module_path, in_class=in_class
                    )
                elif member.is_type_alias:
                    entry = ApiEntry(
                        path=path,
                        kind="type_alias",
                        module=module_path,
                        value=_text(member.value, _MAX_VALUE_CHARS),
                        private=_is_private(path),
                    )
                else:
                    entry = None
                if entry is not None:
                    finish(entry, defined, exported)
    return entries
