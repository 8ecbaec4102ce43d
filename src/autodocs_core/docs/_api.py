"""Format API entries as plain text blocks for the answer's fenced, untrusted part.

Each block is built from upstream text (signatures, docstrings, values) and is sanitised here;
the caller fences it. Sizes are bounded per block, so one enormous docstring or signature
cannot crowd out the rest before the budget cutter even sees it.
"""

from __future__ import annotations

import re

import attrs

from ..apiref._model import ApiEntry, ApiIndex, Parameter
from ..apiref._rank import Query, matching_parameters, resolve, stems_of
from ._sanitize import sanitize_text

__all__ = ["carded", "entry_block", "one_liner", "safe_name", "signature"]

_SIG_LONG = 300
"""Signatures longer than this are laid out one parameter per line (full) or elided (brief)."""
_MAX_MEMBERS = 40
_MAX_ALIASES = 8
_CARD_DUNDERS = ("__call__", "__enter__", "__aenter__", "__iter__", "__aiter__")
_MAX_EXAMPLE_LINES = 20
_NAMES = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_SECTION = re.compile(
    r"^\s*(Args|Arguments|Parameters|Params|Returns?|Yields?|Raises|Attributes|Notes?|"
    r"Examples?|Usage|See Also|Warnings?|References|Keyword Args|Keyword Arguments|Other "
    r"Parameters|Methods|Todo)\s*:?\s*$",
    re.I,
)
_UNDERLINE = re.compile(r"^\s*[-=~^]{3,}\s*$")
_EXAMPLE_HEAD = re.compile(r"^\s*(Examples?|Usage|Example usage)\s*:{0,2}\s*$", re.I)
_NOT_ALIASES = frozenset(
    [
        "None",
        "str",
        "int",
        "float",
        "bool",
        "bytes",
        "list",
        "dict",
        "set",
        "tuple",
        "type",
        "object",
        "Any",
        "Optional",
        "Union",
        "Literal",
        "Callable",
        "Iterable",
        "Iterator",
        "Mapping",
        "Sequence",
        "typing",
        "collections",
        "abc",
    ]
)


def safe_name(text: str, limit: int = 120) -> str:
    """Return *text* reduced to the characters of a dotted Python name, at most *limit* long."""
    return re.sub(r"[^A-Za-z0-9_.]", "", text)[:limit]


def _clean(text: str, limit: int) -> str:
    return sanitize_text(text[: limit * 2])[:limit]


def _one(text: str, limit: int = 300) -> str:
    return " ".join(_clean(text, limit * 2).split())[:limit]


def _param_text(p: Parameter, *, annotate: bool) -> str:
    star = {"var-positional": "*", "var-keyword": "**"}.get(p.kind, "")
    text = star + p.name
    if annotate and p.annotation:
        text += f": {_one(p.annotation, 200)}"
    if p.default is not None:
        text += (" = " if annotate and p.annotation else "=") + _one(p.default, 60)
    return text


def _params_list(entry: ApiEntry, keep: set[str], *, annotate_all: bool) -> list[str]:
    out: list[str] = []
    kinds = [p.kind for p in entry.parameters]
    for n, p in enumerate(entry.parameters[:120]):
        if (
            p.kind == "keyword-only"
            and "var-positional" not in kinds[:n]
            and (n == 0 or kinds[n - 1] != "keyword-only")
        ):
            out.append("*")
        out.append(_param_text(p, annotate=annotate_all or p.name in keep))
        if p.kind == "positional-only" and (n + 1 == len(kinds) or kinds[n + 1] != p.kind):
            out.append("/")
    if len(entry.parameters) > 120:
        out.append("...")
    return out


def signature(entry: ApiEntry, *, keep: set[str] | None = None, full: bool = True) -> str:
    """Return *entry*'s signature headed by its name, compacted only when long.

    Up to 300 characters it is shown as extracted. Longer, a full rendering puts one parameter
    per line and drops the annotations of parameters not in *keep*; a brief one stays on one
    line, without those annotations, cut at 300 characters.
    """
    keep = keep or set()
    name = safe_name(entry.name, 100)
    if entry.signature is None:
        if entry.value is not None:
            return f"{name} = {_one(entry.value, 400)}"
        if entry.returns:
            return f"{name}: {_one(entry.returns, 200)}"
        return name
    plain = name + _one(entry.signature, 4000)
    if len(plain) <= _SIG_LONG or not entry.parameters:
        return plain if len(plain) <= 2 * _SIG_LONG else plain[: 2 * _SIG_LONG] + " …"
    ret = f" -> {_one(entry.returns, 150)}" if entry.returns else ""
    parts = _params_list(entry, keep, annotate_all=False)
    if full:
        return f"{name}(\n" + "".join(f"    {p},\n" for p in parts) + f"){ret}"
    line = f"{name}({', '.join(parts)}){ret}"
    return line if len(line) <= _SIG_LONG else line[: _SIG_LONG - 2] + " …"


def summary(doc: str | None, limit: int = 500) -> str:
    """Return the first paragraph of a docstring, on one line."""
    if not doc:
        return ""
    lines: list[str] = []
    for line in doc[:4000].split("\n"):
        if not line.strip():
            if lines:
                break
            continue
        if _SECTION.match(line) or _UNDERLINE.match(line) or line.lstrip().startswith(">>>"):
            break
        lines.append(line.strip())
    return _one(" ".join(lines), limit)


def _example_lines(lines: list[str]) -> list[str]:
    """The first example in *lines*: one fenced block, or lines up to a blank line.

    Indented continuation (a Google-style example body) and further doctest lines after a
    blank line stay; anything else after a blank line (``**Parameters:**``) ends it.
    """
    picked: list[str] = []
    fence: str | None = None
    for n, line in enumerate(lines):
        stripped = line.strip()
        if fence is not None:
            picked.append(line)
            if stripped.startswith(fence):
                break
        elif stripped.startswith(("```", "~~~")):
            if picked and not picked[0].strip().startswith((">>>", "```", "~~~")):
                break
            fence = stripped[:3]
            picked.append(line)
        elif not stripped:
            if not picked:
                continue
            after = next((x for x in lines[n + 1 : n + 3] if x.strip()), "")
            if not after.strip().startswith((">>>", "...")) and not after.startswith(
                ("    ", "\t")
            ):
                break
            picked.append(line)
        elif (_SECTION.match(line) and not line.startswith(" ")) or _UNDERLINE.match(line):
            break
        else:
            picked.append(line)
        if len(picked) >= _MAX_EXAMPLE_LINES:
            break
    return picked


def example(doc: str | None) -> str:
    """Return the docstring's first example (an Examples section, a doctest or a code block)."""
    if not doc:
        return ""
    lines = doc[:20_000].split("\n")
    picked: list[str] = []
    for i, line in enumerate(lines):
        if _EXAMPLE_HEAD.match(line):
            start = i + 2 if i + 1 < len(lines) and _UNDERLINE.match(lines[i + 1]) else i + 1
            picked = _example_lines(lines[start:])
            break
    if not any(p.strip() for p in picked):
        for i, line in enumerate(lines):
            if line.strip().startswith((">>>", "```", "~~~", ".. code-block", ".. code::")):
                picked = _example_lines(lines[i:])
                break
    while picked and not picked[-1].strip():
        picked.pop()
    if not picked:
        return ""
    indent = min(len(p) - len(p.lstrip()) for p in picked if p.strip())
    return _clean("\n".join(p[indent:].rstrip() for p in picked), 1500)


def compact(entry: ApiEntry, limit: int = 110) -> str:
    """Return *entry*'s call shape in few tokens: parameter names only, no ``self``/``cls``."""
    if entry.signature is None or not entry.parameters:
        return signature(entry, full=False)[:limit]
    params = list(entry.parameters)
    if entry.kind == "method" and params and params[0].name in ("self", "cls"):
        params = params[1:]
    shown = _params_list(attrs.evolve(entry, parameters=tuple(params)), set(), annotate_all=False)
    shown = [p.split("=", 1)[0] for p in shown]
    ret = f" -> {_one(entry.returns, 40)}" if entry.returns else ""
    line = f"{safe_name(entry.name, 100)}({', '.join(shown)}){ret}"
    return line if len(line) <= limit else line[: limit - 2] + " …"


def _param_item(p: Parameter) -> str:
    head = "- " + _param_text(p, annotate=True)
    if p.description:
        head += " — " + _one(p.description, 400)
    return head


def _aliases(index: ApiIndex, entry: ApiEntry, params: tuple[Parameter, ...]) -> list[str]:
    """The type aliases (and constants) that the annotations of *params* name, two levels deep."""
    queue = [n for p in params for n in _NAMES.findall(p.annotation or "")[:8]]
    queue += _NAMES.findall(entry.returns or "")[:4] if not params else []
    seen: set[str] = set()
    out: list[str] = []
    while queue and len(out) < _MAX_ALIASES:
        name = queue.pop(0)
        if name in seen or name.rsplit(".", 1)[-1] in _NOT_ALIASES:
            continue
        seen.add(name)
        hits = [e for e in resolve(index, name) if e.kind in ("type_alias", "attribute")]
        if not hits or hits[0].value is None:
            continue
        alias = min(hits, key=lambda e: (e.module != entry.module, not e.exported, e.path))
        value = _one(alias.value or "", 600)
        out.append(f"- {safe_name(alias.path)} = {value}")
        queue += [n for n in _NAMES.findall(value)[:12] if n not in seen]
    return out


def _member_card(index: ApiIndex, entry: ApiEntry, query: Query) -> list[str]:
    members: list[tuple[float, int, ApiEntry]] = []
    for n, name in enumerate(entry.members[:500]):
        if name.startswith("_") and name not in _CARD_DUNDERS:
            continue
        found = resolve(index, f"{entry.path}.{name}", exact=True)
        if not found:
            continue
        member = found[0]
        hits = len(stems_of(member.name) & query.stems) * 3 + len(
            stems_of(member.docstring or "", limit=600) & query.stems
        )
        members.append((-(hits - (2 if member.deprecated else 0)), n, member))
    members.sort(key=lambda t: (t[0], t[1]))
    lines = []
    for _, _, member in members[:_MAX_MEMBERS]:
        line = "- " + compact(member)
        doc = summary(member.docstring, 120)
        lines.append(line + (f" — {doc}" if doc else ""))
    return lines


def entry_block(
    index: ApiIndex,
    entry: ApiEntry,
    query: Query,
    *,
    full: bool,
    extra: frozenset[str] = frozenset(),
) -> str:
    """Return *entry* as a text block, full or brief.

    Full: signature, type aliases, summary, parameters, first example and, for a class, a card
    of its members. Brief: signature, summary and the parameters the query matches.

    Args:
        index: The index holding *entry* (for type aliases and members).
        entry: The entry.
        query: The query (which parameters match).
        full: Whether to render it fully.
        extra: More parameter names to treat as matching (the nearest names of missing ones).
    """
    matched = matching_parameters(entry, query) + tuple(
        p for p in entry.parameters if p.name in extra
    )
    keep = {p.name for p in matched}
    flags = [_one(entry.kind, 20)]
    if entry.deprecated:
        flags.append("deprecated")
    if entry.private:
        flags.append("private")
    lines = [f"## {safe_name(entry.path, 200)} ({', '.join(flags)})"]
    sig = signature(entry, keep=keep, full=full)
    if sig != safe_name(entry.name, 100):
        lines.append(sig)
    if full and entry.bases:
        lines.append("Bases: " + ", ".join(_one(b, 80) for b in entry.bases[:8]))
    if entry.overloads:
        lines += ["Overloads:"] + [
            f"- {safe_name(entry.name)}{_one(o, 300)}" for o in entry.overloads[: 6 if full else 2]
        ]
    text = summary(entry.docstring, 600 if full else 300)
    if text:
        lines += ["", text]
    shown = list(dict.fromkeys(matched))
    if full:
        shown += [p for p in entry.parameters if p not in shown and p.description]
    if shown:
        lines += ["", "Parameters:"] + [_param_item(p) for p in shown[:60]]
    aliases = _aliases(
        index, entry, tuple(dict.fromkeys(matched)) if matched or not full else entry.parameters
    )
    if aliases:
        lines += ["", "Types:", *aliases]
    if full:
        sample = example(entry.docstring)
        if sample:
            lines += ["", "Example:", sample]
        if entry.kind in ("class", "module"):
            card = _member_card(index, entry, query)
            if card:
                lines += ["", "Members:", *card]
    return "\n".join(lines)


def carded(index: ApiIndex, entry: ApiEntry) -> frozenset[str]:
    """Paths of the members a full rendering of *entry* lists in its card."""
    if entry.kind not in ("class", "module"):
        return frozenset()
    out = []
    for name in entry.members[:500]:
        if name.startswith("_") and name not in _CARD_DUNDERS:
            continue
        if resolve(index, f"{entry.path}.{name}", exact=True):
            out.append(f"{entry.path}.{name}")
    return frozenset(out[:_MAX_MEMBERS])


def one_liner(entry: ApiEntry) -> str:
    """Return *entry* on one line: its path, a compact signature and the summary's start."""
    sig = signature(entry, full=False)
    head = safe_name(entry.path.rsplit(".", 1)[0], 150) + "." if "." in entry.path else ""
    line = f"- {head}{sig}"
    if len(line) > 180:
        line = line[:178] + " …"
    doc = summary(entry.docstring, 100)
    return line + (f" — {doc}" if doc else "")
