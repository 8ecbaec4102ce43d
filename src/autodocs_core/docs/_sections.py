"""Split a package description into sections (Markdown, reStructuredText or plain) and rank them."""

from __future__ import annotations

import re

import attrs

__all__ = ["SECTION_KINDS", "Section", "classify", "rank", "split_sections"]

SECTION_KINDS = ("installation", "usage", "api", "configuration", "changelog", "other")

_KEYWORDS: dict[str, tuple[str, ...]] = {
    "installation": ("install", "setup", "getting started", "requirements", "pip"),
    "usage": (
        "usage",
        "quick",
        "example",
        "tutorial",
        "how to",
        "overview",
        "introduction",
        "basic",
        "guide",
    ),
    "api": ("api", "reference", "class", "function", "method", "interface", "module"),
    "configuration": ("config", "setting", "option", "environment", "customi"),
    "changelog": ("change", "release", "history", "news", "what's new", "migration", "upgrad"),
}

_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_SETEXT = re.compile(r"^(=+|-+|~+|\^+|\*+|\++|#+|\"+|'+|`+|:+|\.+|_+)\s*$")
_WORD = re.compile(r"[a-z0-9]+")


@attrs.frozen
class Section:
    """One part of a description.

    Attributes:
        title: Its heading (``""`` for text before the first heading).
        kind: One of ``SECTION_KINDS``.
        text: The section, heading included.
        index: Position in the document.
    """

    title: str
    kind: str
    text: str
    index: int


def classify(title: str) -> str:
    """Return the kind of a section from its heading."""
    lowered = title.lower()
    for kind, words in _KEYWORDS.items():
        if any(w in lowered for w in words):
            return kind
    return "other"


def _kind_of(content_type: str | None) -> str:
    ctype = (content_type or "").lower()
    if "rst" in ctype:
        return "rst"
    if "markdown" in ctype:
        return "markdown"
    if "plain" in ctype:
        return "plain"
    return "markdown"  # the JSON API's default rendering is Markdown-ish; headings are harmless


def split_sections(text: str, content_type: str | None) -> list[Section]:
    """Split *text* at its headings (by content type); text without headings is one section."""
    kind = _kind_of(content_type)
    lines = text.split("\n")
    starts: list[tuple[int, str]] = []
    in_code = False
    for i, line in enumerate(lines):
        if kind == "markdown":
            if line.lstrip().startswith(("```", "~~~")):
                in_code = not in_code
                continue
            if not in_code and (m := _MD_HEADING.match(line)):
                starts.append((i, m.group(2).strip()))
        elif (
            kind == "rst"
            and i > 0
            and _SETEXT.match(line)
            and lines[i - 1].strip()
            and len(line.strip()) >= len(lines[i - 1].strip())
            and not _SETEXT.match(lines[i - 1])
        ):
            start = i - 2 if i >= 2 and _SETEXT.match(lines[i - 2]) else i - 1
            starts.append((start, lines[i - 1].strip()))
    if not starts or starts[0][0] > 0:
        starts.insert(0, (0, ""))
    sections: list[Section] = []
    for n, (start, title) in enumerate(starts):
        end = starts[n + 1][0] if n + 1 < len(starts) else len(lines)
        body = "\n".join(lines[start:end]).strip("\n")
        if body.strip():
            sections.append(
                Section(title, classify(title) if title else "other", body, len(sections))
            )
    return sections


def rank(sections: list[Section], query: str | None) -> list[Section]:
    """Order *sections* for inclusion: by relevance to *query*, else in document order.

    Relevance counts the query's words in the heading (weighted 5×) and the text; ties keep the
    document order. Without a query, the opening section, installation and usage come first.
    """
    if not query or not _WORD.findall(query.lower()):
        priority = {"installation": 1, "usage": 1}

        def doc_key(s: Section) -> tuple[int, int]:
            return (0 if s.index == 0 else priority.get(s.kind, 2), s.index)

        return sorted(sections, key=doc_key)
    words = {w for w in _WORD.findall(query.lower()) if len(w) >= 2}

    def matches(token: str) -> bool:
        # a light stemming: "install" matches "installation", "configure" matches "config"
        return any(
            token.startswith(w[:6]) or w.startswith(token[:6])
            for w in words
            if min(len(token), len(w)) >= 3 or token == w
        )

    def score(s: Section) -> float:
        title_hits = sum(1 for t in set(_WORD.findall(s.title.lower())) if matches(t))
        body_hits = sum(1 for t in _WORD.findall(s.text.lower()) if matches(t))
        kind_bonus = 3 if any(matches(k) for k in (s.kind,)) and s.kind != "other" else 0
        return 5 * title_hits + min(body_hits, 20) + kind_bonus

    return sorted(sections, key=lambda s: (-score(s), s.index))
