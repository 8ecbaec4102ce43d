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
from packaging.utils import canonicalize_name

from ..errors import redact_url
from ._model import Dependency

__all__ = [
    "Problem",
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
        text: The offending text, shortened.
    """

    source: str
    line: int
    message: str
    suggestion: str
    text: str = ""


@attrs.define
class Result:
    """Dependencies, problems and notes collected from one or more files."""

    deps: list[Dependency] = attrs.field(factory=list)
    problems: list[Problem] = attrs.field(factory=list)
    notes: list[str] = attrs.field(factory=list)

    def extend(self, other: Result) -> None:
        """Add everything from *other*."""
        self.deps += other.deps
        self.problems += other.problems
        self.notes += other.notes


def _line_of(text: str, needle: str) -> int:
    for number, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return number
    return 0


def parse_requirement(
    raw: str, *, source: str, line: int, group: str, kind: str = "registry"
) -> Dependency | Problem:
    """Parse one PEP 508 requirement string into a :class:`Dependency`, or a :class:`Problem`."""
    try:
        req = Requirement(raw)
    except InvalidRequirement as exc:
        return Problem(
            source,
            line,
            f"not a valid requirement: {str(exc)[:200]}",
            "Use PEP 508 syntax, e.g. 'httpx>=0.27' or 'attrs[tests]; python_version < \"3.12\"'.",
            raw[:200],
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


def split_requirement_lines(text: str) -> Iterator[tuple[int, str]]:
    """Yield (first line number, logical line): comments removed, continuation lines joined."""
    buffer = ""
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = "" if raw.lstrip().startswith("#") else re.sub(r"(^|\s)#.*$", "", raw)
        if not buffer:
            start = number
        if line.rstrip().endswith("\\"):
            buffer += line.rstrip()[:-1] + " "
            continue
        logical = (buffer + line).strip()
        buffer = ""
        if logical:
            yield start, logical
    if buffer.strip():
        yield start, buffer.strip()


def parse_requirements_text(
    text: str,
    *,
    source: str,
    group: str,
    include: Callable[[str, str, int], Result],
) -> Result:
    """Parse a requirements file; ``-r``/``-c`` references are handed to *include*."""
    result = Result()
    for number, line in split_requirement_lines(text):
        # hashes and per-requirement options
        line = re.sub(r"\s--hash[= ]\S+", "", " " + line).strip()
        ref = re.match(r"^(-r|--requirement|-c|--constraint)[= ]?\s*(\S+)$", line)
        if ref:
            kind = "constraints" if ref.group(1) in ("-c", "--constraint") else group
            result.extend(include(ref.group(2), kind, number))
            continue
        if _OPTION_WITH_VALUE.match(line):
            continue
        editable = re.match(r"^(-e|--editable)[= ]?\s*(\S+)", line)
        target = editable.group(2) if editable else None
        if target is None and re.match(r"^(\.{0,2}/|[a-z+]+://|git\+)", line):
            target = line
        if target is not None:
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
                    f"{source}:{number}: {kind} dependency {redact_url(target)[:120]} has no "
                    "name (#egg=...): reported, not resolved"
                )
            continue
        found = parse_requirement(line, source=source, line=number, group=group)
        if isinstance(found, Problem):
            result.problems.append(found)
        else:
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


def _poetry_deps(table: Any, *, source: str, text: str, group: str) -> Result:
    result = Result()
    if not isinstance(table, Mapping):
        return result
    for name, spec in table.items():
        if not isinstance(name, str) or name.lower() == "python":
            continue
        line = _line_of(text, name)
        specs = spec if isinstance(spec, list) else [spec]
        for one in specs:
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
                        f"unreadable entry for {name!r}",
                        "Use a version string or a table.",
                    )
                )
                continue
            try:
                from packaging.specifiers import SpecifierSet

                SpecifierSet(constraint)
            except Exception:
                result.problems.append(
                    Problem(
                        source,
                        line,
                        f"cannot translate the constraint of {name!r}",
                        "Use a PEP 440 or Poetry constraint such as '^1.2' or '>=1,<2'.",
                        str(one)[:200],
                    )
                )
                continue
            result.deps.append(
                Dependency(
                    name=str(canonicalize_name(name)),
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


def _requirement_list(items: Any, *, source: str, text: str, group: str) -> Result:
    result = Result()
    if not isinstance(items, list):
        return result
    for item in items:
        if not isinstance(item, str):
            continue
        found = parse_requirement(item, source=source, line=_line_of(text, item), group=group)
        if isinstance(found, Problem):
            result.problems.append(found)
        else:
            result.deps.append(found)
    return result


def _dependency_groups(groups: Any, *, source: str, text: str) -> Result:
    """PEP 735 groups, with ``{include-group = "..."}`` followed and cycles reported."""
    result = Result()
    if not isinstance(groups, Mapping):
        return result
    normal = {str(canonicalize_name(k)): v for k, v in groups.items() if isinstance(k, str)}

    def expand(name: str, stack: tuple[str, ...]) -> None:
        if name in stack:
            result.problems.append(
                Problem(
                    source,
                    _line_of(text, "include-group"),
                    f"dependency group cycle: {' -> '.join((*stack, name))}",
                    "Remove the include-group that closes the cycle.",
                )
            )
            return
        for item in normal.get(name, []):
            if isinstance(item, str):
                found = parse_requirement(
                    item,
                    source=source,
                    line=_line_of(text, item),
                    group=f"group:{stack[0] if stack else name}",
                )
                (result.problems if isinstance(found, Problem) else result.deps).append(found)  # type: ignore[arg-type]
            elif isinstance(item, Mapping) and isinstance(item.get("include-group"), str):
                target = str(canonicalize_name(item["include-group"]))
                if target not in normal:
                    result.problems.append(
                        Problem(
                            source,
                            _line_of(text, item["include-group"]),
                            f"include-group {target!r} does not exist",
                            "Define the group or remove the include.",
                        )
                    )
                    continue
                expand(target, (*stack, name))

    for group in normal:
        expand(group, ())
    return result


def parse_pyproject(text: str, *, source: str) -> Result:
    """Read PEP 621, PEP 735 and Poetry dependencies from a ``pyproject.toml``."""
    result = Result()
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        result.problems.append(
            Problem(
                source,
                int(m.group(1)) if m else 0,
                f"invalid TOML: {str(exc)[:200]}",
                "Fix the TOML syntax (a linter such as taplo helps).",
            )
        )
        return result
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
        _requirement_list(project.get("dependencies"), source=source, text=text, group="runtime")
    )
    optional = project.get("optional-dependencies")
    if isinstance(optional, Mapping):
        for extra, items in optional.items():
            result.extend(
                _requirement_list(items, source=source, text=text, group=f"extra:{extra}")
            )
    result.extend(_dependency_groups(doc.get("dependency-groups"), source=source, text=text))
    poetry = doc.get("tool", {}).get("poetry") if isinstance(doc.get("tool"), Mapping) else None
    if isinstance(poetry, Mapping):
        result.extend(
            _poetry_deps(poetry.get("dependencies"), source=source, text=text, group="runtime")
        )
        result.extend(
            _poetry_deps(
                poetry.get("dev-dependencies"), source=source, text=text, group="group:dev"
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
                            text=text,
                            group=f"group:{name}",
                        )
                    )
    return result


# -- lock files -------------------------------------------------------------------------------


def _locked(entries: Any, *, source: str, text: str, skip_virtual: bool) -> Result:
    result = Result()
    if not isinstance(entries, list):
        return result
    for entry in entries:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
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
                name=str(canonicalize_name(entry["name"])),
                constraint=f"=={version}" if isinstance(version, str) and version else "",
                source=source,
                line=_line_of(text, f'name = "{entry["name"]}"'),
                group="lock",
                kind=kind,
                location=location,
            )
        )
    return result


def _lock_file(text: str, *, source: str, table: str, skip_virtual: bool) -> Result:
    result = Result()
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        result.problems.append(
            Problem(source, 0, f"invalid TOML: {str(exc)[:200]}", "Regenerate the lock file.")
        )
        return result
    result.extend(_locked(doc.get(table), source=source, text=text, skip_virtual=skip_virtual))
    return result


def parse_uv_lock(text: str, *, source: str) -> Result:
    """Read the locked packages of a ``uv.lock`` (the project itself excluded)."""
    return _lock_file(text, source=source, table="package", skip_virtual=True)


def parse_pylock(text: str, *, source: str) -> Result:
    """Read the packages of a PEP 751 ``pylock.toml``."""
    return _lock_file(text, source=source, table="packages", skip_virtual=False)


def parse_setup_cfg(text: str, *, source: str) -> Result:
    """Read ``[options] install_requires`` and ``[options.extras_require]`` (never setup.py)."""
    result = Result()
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text, source=source)
    except configparser.Error as exc:
        result.problems.append(
            Problem(
                source,
                getattr(exc, "lineno", 0) or 0,
                f"invalid setup.cfg: {str(exc)[:200]}",
                "Fix the INI syntax.",
            )
        )
        return result

    def lines(value: str) -> list[str]:
        return [
            v.strip() for v in value.splitlines() if v.strip() and not v.strip().startswith("#")
        ]

    if parser.has_option("options", "install_requires"):
        result.extend(
            _requirement_list(
                lines(parser.get("options", "install_requires")),
                source=source,
                text=text,
                group="runtime",
            )
        )
    if parser.has_section("options.extras_require"):
        for extra, value in parser.items("options.extras_require"):
            result.extend(
                _requirement_list(lines(value), source=source, text=text, group=f"extra:{extra}")
            )
    return result
