"""Parsers for each dependency file format. Pure: text in, dependencies and problems out.

Nothing here executes project code or contacts a URL found in a file.
"""

from __future__ import annotations

import configparser
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import attrs
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

from ..errors import redact_fragment, redact_text, redact_url
from ._model import Dependency

__all__ = [
    "MAX_GROUP_DEPTH",
    "MAX_LINE_CHARS",
    "Lines",
    "Problem",
    "Tick",
    "Result",
    "parse_pylock",
    "parse_pyproject",
    "parse_requirement",
    "parse_setup_cfg",
    "parse_uv_lock",
    "poetry_constraint",
    "split_requirement_lines",
]


@attrs.frozen
class Problem:
    """A line or entry that could not be used.

    Attributes:
        source: File (relative to the root).
        line: 1-based line (0 when unknown).
        message: What is wrong.
        suggestion: What to do.
        text: The offending text: a short, redacted fragment (see ``redact_fragment``).
    """

    source: str
    line: int
    message: str
    suggestion: str
    text: str = ""


@attrs.define
class Result:
    """Dependencies, problems and notes collected from one or more files.

    ``good_lines`` and ``bad_lines`` count the lines of a requirements file that were (or were
    not) requirements, options or includes: the scanner refuses a file that is mostly not one.
    """

    deps: list[Dependency] = attrs.field(factory=list)
    problems: list[Problem] = attrs.field(factory=list)
    notes: list[str] = attrs.field(factory=list)
    good_lines: int = 0
    bad_lines: int = 0

    def extend(self, other: Result) -> None:
        """Add everything from *other*."""
        self.deps += other.deps
        self.problems += other.problems
        self.notes += other.notes


Tick = Callable[[], None]
"""Called once per unit of work (a line, an entry); it raises to stop the parse."""


def _no_tick() -> None:
    return None


MAX_LINE_CHARS = 4096
"""Longest logical requirement line parsed (longer ones are a problem, not parsed)."""

MAX_GROUP_DEPTH = 32
"""How deep PEP 735 ``include-group`` chains are followed."""

_QUOTED = re.compile(r'"((?:[^"\\\n]|\\.)*)"|\'([^\'\n]*)\'')
_KEY = re.compile(r"(?:^|[{,\s])([A-Za-z0-9_.-]+)\s*=")


class Lines:
    """Where strings first occur in a file: built once, so every lookup is O(1).

    (A scan of the whole text per dependency made a long dependency list quadratic.)
    Indexes each stripped line, each quoted string and each ``key =`` on a line.
    """

    def __init__(self, text: str) -> None:
        self._first: dict[str, int] = {}
        first = self._first
        for number, line in enumerate(text.splitlines(), 1):
            stripped = line.strip()
            first.setdefault(stripped, number)
            if '"' in line or "'" in line:
                for m in _QUOTED.finditer(line):
                    first.setdefault(m.group(1) if m.group(1) is not None else m.group(2), number)
            if "=" in line:
                for m in _KEY.finditer(line):
                    first.setdefault(m.group(1), number)

    def of(self, needle: str) -> int:
        """Return the first line holding *needle* (a stripped line, quoted string or key), or 0."""
        return self._first.get(needle, self._first.get(needle.strip(), 0))


def parse_requirement(
    raw: str, *, source: str, line: int, group: str, kind: str = "registry"
) -> Dependency | Problem:
    """Parse one PEP 508 requirement string into a :class:`Dependency`, or a :class:`Problem`."""
    if len(raw) > MAX_LINE_CHARS:
        return Problem(
            source,
            line,
            f"requirement longer than {MAX_LINE_CHARS} characters",
            "Split or shorten the line.",
            redact_fragment(raw),
        )
    try:
        req = Requirement(raw)
    except InvalidRequirement as exc:
        # packaging's message quotes the whole line under a caret: keep its first line only
        reason = redact_text(str(exc).strip().split("\n", 1)[0])[:120]
        return Problem(
            source,
            line,
            f"not a valid requirement: {reason}",
            "Use PEP 508 syntax, e.g. 'httpx>=0.27' or 'attrs[tests]; python_version < \"3.12\"'.",
            redact_fragment(raw),
        )
    location = redact_url(req.url) if req.url else None
    if req.url:
        kind = (
            "git"
            if req.url.startswith("git+")
            else ("path" if req.url.startswith("file:") else "url")
        )
    return Dependency(
        name=str(canonicalize_name(req.name)),
        constraint=str(req.specifier),
        extras=tuple(sorted(req.extras)),
        markers=str(req.marker) if req.marker else None,
        source=source,
        line=line,
        group=group,
        kind=kind,
        location=location,
    )


# -- requirements.txt -------------------------------------------------------------------------

_OPTION_WITH_VALUE = re.compile(
    r"^(-i|--index-url|--extra-index-url|-f|--find-links|--trusted-host|--no-binary|"
    r"--only-binary|--prefer-binary|--pre|--require-hashes|--use-feature|--no-index)\b"
)
_EGG = re.compile(r"#egg=([A-Za-z0-9][A-Za-z0-9._-]*)")
_HASH = re.compile(r"\s--hash[= ]\S+")
_INCLUDE = re.compile(r"^(-r|--requirement|-c|--constraint)[= ]?\s*(\S+)$")


_COMMENT = re.compile(r"(^|\s)#.*$")


def split_requirement_lines(text: str, *, tick: Tick = _no_tick) -> Iterator[tuple[int, str]]:
    """Yield (first line number, logical line): comments removed, continuation lines joined.

    Linear in the text: pieces of a continued line are collected in a list, and a logical
    line stops growing past :data:`MAX_LINE_CHARS` (it is then reported, not parsed).
    """
    buffer: list[str] = []
    size = 0
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        tick()
        line = "" if raw.lstrip().startswith("#") else _COMMENT.sub("", raw)
        if not buffer:
            start = number
        if line.rstrip().endswith("\\"):
            if size <= MAX_LINE_CHARS:
                piece = line.rstrip()[:-1] + " "
                buffer.append(piece)
                size += len(piece)
            continue
        if size <= MAX_LINE_CHARS:
            buffer.append(line)
        logical = "".join(buffer).strip()
        buffer, size = [], 0
        if logical:
            yield start, logical
    if buffer and "".join(buffer).strip():
        yield start, "".join(buffer).strip()


def parse_requirements_text(
    text: str,
    *,
    source: str,
    group: str,
    include: Callable[[str, str, int], Result],
    tick: Tick = _no_tick,
) -> Result:
    """Parse a requirements file; ``-r``/``-c`` references are handed to *include*.

    Counts the lines that are (``good_lines``) and are not (``bad_lines``) requirements,
    options or includes, so that the caller can refuse a file that is not a requirements file.
    """
    result = Result()
    for number, line in split_requirement_lines(text, tick=tick):
        # hashes and per-requirement options
        line = _HASH.sub("", " " + line).strip()
        ref = _INCLUDE.match(line)
        if ref:
            result.good_lines += 1
            kind = "constraints" if ref.group(1) in ("-c", "--constraint") else group
            result.extend(include(ref.group(2), kind, number))
            continue
        if _OPTION_WITH_VALUE.match(line):
            result.good_lines += 1
            continue
        editable = re.match(r"^(-e|--editable)[= ]?\s*(\S+)", line)
        target = editable.group(2) if editable else None
        if target is None and re.match(r"^(\.{0,2}/|[a-z+]+://|git\+)", line):
            target = line
        if target is not None:
            result.good_lines += 1
            egg = _EGG.search(target)
            kind = (
                "editable"
                if editable
                else (
                    "git"
                    if target.startswith("git+")
                    else "path"
                    if target.startswith((".", "/", "file:"))
                    else "url"
                )
            )
            if egg:
                result.deps.append(
                    Dependency(
                        name=str(canonicalize_name(egg.group(1))),
                        source=source,
                        line=number,
                        group=group,
                        kind=kind,
                        location=redact_url(target)[:300],
                    )
                )
            else:
                result.notes.append(
                    f"{source}:{number}: {kind} dependency {redact_fragment(target, 80)} has no "
                    "name (#egg=...): reported, not resolved"
                )
            continue
        found = parse_requirement(line, source=source, line=number, group=group)
        if isinstance(found, Problem):
            result.bad_lines += 1
            result.problems.append(found)
        else:
            result.good_lines += 1
            result.deps.append(found)
    return result


# -- pyproject.toml -----------------------------------------------------------------------------

_POETRY_VERSION = re.compile(r"^\s*([\^~])\s*([0-9]+(?:\.[0-9]+)*)(.*)$")


def poetry_constraint(value: str) -> str:
    """Translate Poetry's ``^`` / ``~`` / ``*`` / bare versions into a PEP 440 specifier set."""
    value = value.strip()
    if value in ("", "*"):
        return ""
    parts = []
    for piece in value.split(","):
        m = _POETRY_VERSION.match(piece)
        if not m:
            piece = piece.strip()
            parts.append(f"=={piece}" if piece[:1].isdigit() else piece)
            continue
        op, version, rest = m.groups()
        nums = [int(n) for n in version.split(".")]
        if op == "^":
            # bump the first non-zero component (or the last given one)
            idx = next((i for i, n in enumerate(nums) if n != 0), len(nums) - 1)
        else:
            idx = min(1, len(nums) - 1) if len(nums) > 1 else 0
        upper = [*nums[:idx], nums[idx] + 1]
        parts.append(f">={version}{rest.strip()},<{'.'.join(map(str, upper))}")
    return ",".join(parts)


def _poetry_deps(table: Any, *, source: str, lines: Lines, group: str, tick: Tick) -> Result:
    result = Result()
    if not isinstance(table, Mapping):
        return result
    for name, spec in table.items():
        if not isinstance(name, str) or name.lower() == "python":
            continue
        line = lines.of(name)
        specs = spec if isinstance(spec, list) else [spec]
        for one in specs:
            tick()
            extras: tuple[str, ...] = ()
            markers = None
            kind, location = "registry", None
            if isinstance(one, str):
                constraint = poetry_constraint(one)
            elif isinstance(one, Mapping):
                for key in ("git", "path", "url"):
                    if key in one:
                        kind, location = key, redact_url(str(one[key]))[:300]
                constraint = poetry_constraint(str(one.get("version", "")))
                extras = tuple(str(e) for e in one.get("extras", []) if isinstance(e, str))
                markers = str(one["markers"]) if isinstance(one.get("markers"), str) else None
            else:
                result.problems.append(
                    Problem(
                        source,
                        line,
                        f"unreadable entry for {redact_fragment(name)!r}",
                        "Use a version string or a table.",
                    )
                )
                continue
            try:
                SpecifierSet(constraint)
                normal = str(canonicalize_name(name))
            except (InvalidSpecifier, ValueError):
                result.problems.append(
                    Problem(
                        source,
                        line,
                        f"cannot translate the constraint of {redact_fragment(name)!r}",
                        "Use a PEP 440 or Poetry constraint such as '^1.2' or '>=1,<2'.",
                        redact_fragment(str(one)[:400]),
                    )
                )
                continue
            result.deps.append(
                Dependency(
                    name=normal,
                    constraint=constraint,
                    extras=extras,
                    markers=markers,
                    source=source,
                    line=line,
                    group=group,
                    kind=kind,
                    location=location,
                )
            )
    return result


def _requirement_list(
    items: Any, *, source: str, lines: Lines, group: str, tick: Tick = _no_tick
) -> Result:
    result = Result()
    if not isinstance(items, list):
        return result
    for item in items:
        tick()
        if not isinstance(item, str):
            continue
        found = parse_requirement(item, source=source, line=lines.of(item), group=group)
        if isinstance(found, Problem):
            result.problems.append(found)
        else:
            result.deps.append(found)
    return result


def _dependency_groups(groups: Any, *, source: str, lines: Lines, tick: Tick) -> Result:
    """PEP 735 groups, with ``{include-group = "..."}`` followed and cycles reported.

    Each group's own requirements are parsed once; each top-level group visits every group it
    reaches once (a group included twice, or along two paths, is not expanded again), so a chain
    of includes that doubles per level costs linear, not exponential, work per group.
    """
    result = Result()
    if not isinstance(groups, Mapping):
        return result
    normal = {str(canonicalize_name(k)): v for k, v in groups.items() if isinstance(k, str)}
    # per group, in order: parsed requirements, and (include target, line) pairs
    own: dict[str, list[Dependency | Problem | tuple[str, int]]] = {}

    def parsed(name: str) -> list[Dependency | Problem | tuple[str, int]]:
        if name not in own:
            entries: list[Dependency | Problem | tuple[str, int]] = []
            items = normal.get(name, [])
            for item in items if isinstance(items, list) else []:
                tick()
                if isinstance(item, str):
                    entries.append(
                        parse_requirement(item, source=source, line=lines.of(item), group="")
                    )
                elif isinstance(item, Mapping) and isinstance(item.get("include-group"), str):
                    entries.append((item["include-group"], lines.of(item["include-group"])))
            own[name] = entries
        return own[name]

    def expand(top: str, name: str, stack: tuple[str, ...], visited: set[str]) -> None:
        label = f"group:{top}"
        visited.add(name)
        for one in parsed(name):
            tick()
            if isinstance(one, Dependency):
                result.deps.append(attrs.evolve(one, group=label))
                continue
            if isinstance(one, Problem):
                if name == top:  # reported once, with the group that declares it
                    result.problems.append(one)
                continue
            raw_target, line = one
            target = str(canonicalize_name(raw_target))
            if target not in normal:
                if name == top:
                    result.problems.append(
                        Problem(
                            source,
                            line,
                            f"include-group {redact_fragment(target)!r} does not exist",
                            "Define the group or remove the include.",
                        )
                    )
                continue
            if target in stack or target == name:
                if name == top or target == top:
                    chain = " -> ".join(redact_fragment(g) for g in (*stack, name, target))
                    result.problems.append(
                        Problem(
                            source,
                            line,
                            f"dependency group cycle: {chain}",
                            "Remove the include-group that closes the cycle.",
                        )
                    )
                continue
            if target in visited:
                continue
            if len(stack) >= MAX_GROUP_DEPTH:
                result.problems.append(
                    Problem(
                        source,
                        line,
                        f"include-group chain deeper than {MAX_GROUP_DEPTH}",
                        "Flatten the dependency groups.",
                    )
                )
                continue
            expand(top, target, (*stack, name), visited)

    for top in normal:
        expand(top, top, (), set())
    return result


def _load_toml(text: str, *, source: str, suggestion: str) -> tuple[dict[str, Any] | None, Result]:
    """Parse TOML; a syntax error (or nesting too deep to parse) is one problem, unquoted."""
    result = Result()
    try:
        return tomllib.loads(text), result
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        # tomllib's messages say what and where, never the text itself
        reason = redact_text(str(exc))[:200]
        result.problems.append(
            Problem(source, int(m.group(1)) if m else 0, f"invalid TOML: {reason}", suggestion)
        )
    except RecursionError:
        result.problems.append(
            Problem(source, 0, "invalid TOML: nested too deeply to read", suggestion)
        )
    return None, result


def parse_pyproject(text: str, *, source: str, tick: Tick = _no_tick) -> Result:
    """Read PEP 621, PEP 735 and Poetry dependencies from a ``pyproject.toml``."""
    doc, result = _load_toml(
        text, source=source, suggestion="Fix the TOML syntax (a linter such as taplo helps)."
    )
    if doc is None:
        return result
    lines = Lines(text)
    project = doc.get("project") if isinstance(doc.get("project"), Mapping) else {}
    assert isinstance(project, Mapping)
    dynamic = project.get("dynamic") or []
    if isinstance(dynamic, list):
        for field in ("dependencies", "optional-dependencies"):
            if field in dynamic:
                result.notes.append(
                    f"{source}: '{field}' is dynamic (computed by the build backend): not "
                    "resolvable statically, so it is not listed"
                )
    result.extend(
        _requirement_list(
            project.get("dependencies"), source=source, lines=lines, group="runtime", tick=tick
        )
    )
    optional = project.get("optional-dependencies")
    if isinstance(optional, Mapping):
        for extra, items in optional.items():
            result.extend(
                _requirement_list(
                    items, source=source, lines=lines, group=f"extra:{extra}", tick=tick
                )
            )
    result.extend(
        _dependency_groups(doc.get("dependency-groups"), source=source, lines=lines, tick=tick)
    )
    poetry = doc.get("tool", {}).get("poetry") if isinstance(doc.get("tool"), Mapping) else None
    if isinstance(poetry, Mapping):
        result.extend(
            _poetry_deps(
                poetry.get("dependencies"), source=source, lines=lines, group="runtime", tick=tick
            )
        )
        result.extend(
            _poetry_deps(
                poetry.get("dev-dependencies"),
                source=source,
                lines=lines,
                group="group:dev",
                tick=tick,
            )
        )
        groups = poetry.get("group")
        if isinstance(groups, Mapping):
            for name, table in groups.items():
                if isinstance(table, Mapping):
                    result.extend(
                        _poetry_deps(
                            table.get("dependencies"),
                            source=source,
                            lines=lines,
                            group=f"group:{name}",
                            tick=tick,
                        )
                    )
    return result


# -- lock files -------------------------------------------------------------------------------


_LOCK_NAME = re.compile(r'name\s*=\s*"([^"\n]*)"')


def _locked(entries: Any, *, source: str, text: str, skip_virtual: bool, tick: Tick) -> Result:
    result = Result()
    if not isinstance(entries, list):
        return result
    first: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        for m in _LOCK_NAME.finditer(line):
            first.setdefault(m.group(1), number)
    for entry in entries:
        tick()
        if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
            continue
        try:
            normal = str(canonicalize_name(entry["name"]))
        except ValueError:
            continue
        src = entry.get("source") if isinstance(entry.get("source"), Mapping) else {}
        assert isinstance(src, Mapping)
        if skip_virtual and ("virtual" in src or "editable" in src):
            continue
        kind, location = "registry", None
        for key in ("git", "path", "url", "directory", "vcs", "archive"):
            value = src.get(key, entry.get(key))
            if value:
                kind = {"directory": "path", "vcs": "git", "archive": "url"}.get(key, key)
                location = redact_url(
                    str(value.get("url", value.get("path", "")))
                    if isinstance(value, Mapping)
                    else str(value)
                )[:300]
                break
        version = entry.get("version")
        result.deps.append(
            Dependency(
                name=normal,
                constraint=f"=={version[:100]}" if isinstance(version, str) and version else "",
                source=source,
                line=first.get(entry["name"], 0),
                group="lock",
                kind=kind,
                location=location,
            )
        )
    return result


def _lock_file(text: str, *, source: str, table: str, skip_virtual: bool, tick: Tick) -> Result:
    doc, result = _load_toml(text, source=source, suggestion="Regenerate the lock file.")
    if doc is None:
        return result
    result.extend(
        _locked(doc.get(table), source=source, text=text, skip_virtual=skip_virtual, tick=tick)
    )
    return result


def parse_uv_lock(text: str, *, source: str, tick: Tick = _no_tick) -> Result:
    """Read the locked packages of a ``uv.lock`` (the project itself excluded)."""
    return _lock_file(text, source=source, table="package", skip_virtual=True, tick=tick)


def parse_pylock(text: str, *, source: str, tick: Tick = _no_tick) -> Result:
    """Read the packages of a PEP 751 ``pylock.toml``."""
    return _lock_file(text, source=source, table="packages", skip_virtual=False, tick=tick)


def parse_setup_cfg(text: str, *, source: str, tick: Tick = _no_tick) -> Result:
    """Read ``[options] install_requires`` and ``[options.extras_require]`` (never setup.py).

    A syntax error is reported with its line number only: configparser's messages quote the
    offending line, which may be anything (the file is untrusted).
    """
    result = Result()
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text, source=source)
    except configparser.Error as exc:
        result.problems.append(
            Problem(
                source,
                getattr(exc, "lineno", 0) or 0,
                f"invalid setup.cfg ({type(exc).__name__})",
                "Fix the INI syntax.",
            )
        )
        return result
    lines_index = Lines(text)

    def lines(value: str) -> list[str]:
        return [
            v.strip() for v in value.splitlines() if v.strip() and not v.strip().startswith("#")
        ]

    if parser.has_option("options", "install_requires"):
        result.extend(
            _requirement_list(
                lines(parser.get("options", "install_requires")),
                source=source,
                lines=lines_index,
                group="runtime",
                tick=tick,
            )
        )
    if parser.has_section("options.extras_require"):
        for extra, value in parser.items("options.extras_require"):
            result.extend(
                _requirement_list(
                    lines(value),
                    source=source,
                    lines=lines_index,
                    group=f"extra:{extra}",
                    tick=tick,
                )
            )
    return result
