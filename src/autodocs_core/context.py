"""Dependency context: a package's docs plus summaries of its runtime dependencies, in one budget.

For one package: its runtime dependencies from ``Requires-Dist`` (markers evaluated for the
target environment, the requested extras included), ranked by a scope, fetched concurrently
through the streaming fetcher, and assembled within one token budget: the primary package first
and in full as far as the budget allows, then dependency summaries. The answer lists which
dependencies were included, truncated, skipped (for the budget or the count limit) or failed,
with their error payloads. A failing dependency never fails the primary package.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

import attrs
from packaging.markers import default_environment
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from .docs import count_tokens
from .errors import InvalidInputError
from .resilience import FailedItem, PartialResult

__all__ = [
    "CONTEXT_SCOPES",
    "MAX_CONTEXT_DEPENDENCIES",
    "ContextAnswer",
    "DependencyStatus",
    "assemble_context",
    "runtime_dependencies",
]

Scope = Literal["primary-only", "runtime", "smart"]
CONTEXT_SCOPES: tuple[str, ...] = ("primary-only", "runtime", "smart")
MAX_CONTEXT_DEPENDENCIES = 50
"""Most dependencies one context answer fetches."""

# Small shims, backports and helpers that rarely matter to someone using the primary package:
# the "smart" scope puts them last.
_LOW_VALUE = frozenset(
    {
        "typing-extensions",
        "importlib-metadata",
        "importlib-resources",
        "tomli",
        "exceptiongroup",
        "colorama",
        "backports-zoneinfo",
        "zipp",
        "six",
        "setuptools",
        "wheel",
        "typing-inspection",
        "annotated-types",
        "sniffio",
        "idna",
        "certifi",
        "charset-normalizer",
    }
)


@attrs.frozen
class DependencyStatus:
    """What happened to one dependency in a context answer.

    Attributes:
        name: Normalised name.
        constraint: The specifier from ``Requires-Dist``.
        status: ``included``, ``truncated``, ``skipped_for_budget`` or ``skipped_by_limit``.
        version: The resolved version, when fetched.
        tokens: Tokens it takes in the answer.
    """

    name: str
    constraint: str
    status: str
    version: str | None = None
    tokens: int = 0


@attrs.frozen
class ContextAnswer:
    """A package's documentation with its dependencies' summaries, within one budget.

    Attributes:
        package_name: The primary package.
        version: Its resolved version.
        constraint: The version constraint asked (on the MCP wire ``version_constraint``).
        documentation: The assembled Markdown.
        tokens: Its size (never above the budget).
        dependencies: Per-dependency statuses; failures with their error payloads.
        from_cache: Whether the primary package came from the cache.
        stale: Whether the primary package was served stale.
        warnings: Notes for the caller.
    """

    package_name: str
    version: str
    constraint: str | None
    documentation: str
    tokens: int
    dependencies: PartialResult[DependencyStatus]
    from_cache: bool
    stale: bool
    warnings: tuple[str, ...] = ()


def runtime_dependencies(
    requires_dist: Iterable[str],
    *,
    extras: Iterable[str] = (),
    scope: str = "smart",
    environment: Mapping[str, str] | None = None,
) -> list[tuple[str, str]]:
    """Return ``(name, specifier)`` of the runtime dependencies, ranked for *scope*.

    Markers are evaluated for *environment* (default: the running interpreter) with each of
    *extras* (and with none); requirements that do not apply, or do not parse, are left out.
    """
    if scope not in CONTEXT_SCOPES:
        raise InvalidInputError(
            f"Unknown context scope {scope!r}",
            details={"scope": str(scope)[:40]},
            suggestions=(f"Use one of: {', '.join(CONTEXT_SCOPES)}.",),
        )
    if scope == "primary-only":
        return []
    env = {str(k): str(v) for k, v in default_environment().items()}
    env.update(environment or {})
    wanted = ["", *sorted({str(canonicalize_name(e)) for e in extras})]
    found: dict[str, tuple[str, str, bool]] = {}
    for raw in requires_dist:
        try:
            req = Requirement(raw)
        except InvalidRequirement:
            continue
        if req.marker is not None and not any(
            req.marker.evaluate({**env, "extra": extra}) for extra in wanted
        ):
            continue
        name = str(canonicalize_name(req.name))
        if name not in found:
            found[name] = (name, str(req.specifier), req.marker is None)
    ranked = list(found.values())
    if scope == "smart":
        ranked.sort(
            key=lambda item: (item[0] in _LOW_VALUE or item[0].startswith("types-"), not item[2])
        )
    return [(name, spec) for name, spec, _ in ranked]


def assemble_context(
    primary: str,
    dependencies: Iterable[tuple[str, str, str | None, str, bool]],
    *,
    budget: int,
    title: str,
) -> tuple[str, int, list[DependencyStatus]]:
    """Join the primary answer and dependency answers without exceeding *budget* tokens.

    Args:
        primary: The primary package's rendered answer (it must fit the budget).
        dependencies: ``(name, constraint, version, rendered text, truncated)`` in rank order.
        budget: The token budget for the whole answer.
        title: Heading of the dependencies part.

    Returns:
        The text, its token count, and a status per dependency.
    """
    text = primary
    tokens = count_tokens(text)
    if tokens > budget:
        raise ValueError("the primary answer does not fit the budget")
    statuses: list[DependencyStatus] = []
    heading = f"\n\n## {title}"
    heading_cost = count_tokens(heading)
    started = False
    for name, constraint, version, dep_text, truncated in dependencies:
        block = "\n\n### " + dep_text.removeprefix("# ").replace("\n# ", "\n### ")
        # Both pieces start with a line break, and counts add up exactly across line breaks.
        cost = count_tokens(block) + (0 if started else heading_cost)
        if tokens + cost > budget:
            statuses.append(DependencyStatus(name, constraint, "skipped_for_budget", version))
            continue
        text += ("" if started else heading) + block
        started = True
        tokens += cost
        statuses.append(
            DependencyStatus(
                name, constraint, "truncated" if truncated else "included", version, cost
            )
        )
    # The parts' counts bound the whole (joined at line breaks it never costs more); report
    # the whole's own count.
    return text, count_tokens(text), statuses


def context_result(
    statuses: Iterable[DependencyStatus],
    failures: Iterable[FailedItem],
    warnings: Iterable[str] = (),
) -> PartialResult[DependencyStatus]:
    """Package dependency statuses and failures as a :class:`PartialResult`."""
    return PartialResult(tuple(statuses), tuple(failures), tuple(warnings))
