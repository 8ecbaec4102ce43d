"""Rank a version's API entries for a question; name what it asks for that is not there.

A question is parsed once into :class:`Query`: plain words (lightly stemmed) and identifiers
(``snake_case``, ``CamelCase``, dotted names such as ``Client.get``, calls ``foo()`` and keyword
arguments ``Client(proxies=...)``). An identifier that names an object puts that object first;
otherwise each entry scores by where the words hit: its name most, then its owner and return
type, then its parameter names, then its docstring. Top-level exports and names the README's
code uses are boosted; private, deprecated and test-only objects are demoted unless asked for.

Per-entry search fields are built once per index and kept in a small bounded cache, so ranking
costs one pass over the entries with a constant number of set look-ups per query term.
"""

from __future__ import annotations

import difflib
import functools
import re
import threading
import weakref
from collections.abc import Iterable

import attrs

from ..errors import InvalidInputError
from ._model import ApiEntry, ApiIndex, Parameter

__all__ = [
    "MAX_QUERY_CHARS",
    "Identifier",
    "Missing",
    "Query",
    "ScoredEntry",
    "code_names",
    "find_missing",
    "matching_parameters",
    "parse_query",
    "rank_entries",
    "resolve",
    "stem",
    "stems_of",
]

MAX_QUERY_CHARS = 500
"""Longer queries are cut to this many characters."""
MAX_SYMBOL_CHARS = 200
_MAX_TERMS = 40
_MAX_IDENTIFIERS = 20
_MAX_NEAREST = 5
_MAX_CANDIDATES = 5000
_MAX_DOC_CHARS = 2000
_MAX_CODE_NAMES = 2000
_CACHE_SIZE = 16

_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "to",
        "in",
        "of",
        "for",
        "on",
        "with",
        "and",
        "or",
        "how",
        "do",
        "does",
        "did",
        "i",
        "is",
        "are",
        "it",
        "its",
        "what",
        "which",
        "can",
        "my",
        "me",
        "we",
        "you",
        "be",
        "by",
        "from",
        "as",
        "at",
        "this",
        "that",
        "when",
        "why",
        "where",
        "should",
        "would",
        "there",
        "way",
        "want",
        "need",
        "please",
        "via",
        "into",
        "use",
        "using",
    ]
)
_ASK_PRIVATE = frozenset({"private", "internal", "underscore"})
_ASK_DEPRECATED = frozenset({"deprecated", "deprecation", "legacy", "removed", "obsolete"})
_ASK_TESTS = frozenset({"test", "tests", "testing", "fixture", "fixtures", "mock"})
_ASK_CHANGES = frozenset(
    {
        "changelog",
        "changes",
        "release",
        "releases",
        "released",
        "history",
        "news",
        "migration",
        "migrate",
        "migrating",
        "upgrade",
        "upgrading",
        "breaking",
        "whatsnew",
    }
)
_TEST_PARTS = frozenset({"test", "tests", "testing", "conftest", "testutils", "test_utils"})

_RAW = re.compile(r"[A-Za-z0-9_]+")
_SUBWORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_DOTTED = re.compile(rf"(?<![\w.]){_NAME}(?:\.{_NAME})+(?![\w(])")
_CALL = re.compile(rf"(?<![\w.])({_NAME}(?:\.{_NAME})*)\(([^()]{{0,300}})\)?")
_KEYWORD = re.compile(rf"(?<![\w.])({_NAME})\s*=(?!=)")
_TOKEN = re.compile(rf"(?<![\w.]){_NAME}(?![\w])")
_BACKTICK = re.compile(r"`([^`\n]{1,200})`")
_CAMEL = re.compile(r"[a-z0-9][A-Z]|[A-Z]{2,}[a-z]")
_PLAIN_NAME = re.compile(_NAME)
_SYMBOL = re.compile(rf"{_NAME}(?:\.{_NAME})*")
_CODE_BLOCK = re.compile(r"^ {0,3}(```+|~~~+)[^\n]*\n(.*?)^ {0,3}\1", re.S | re.M)
_DOCTEST = re.compile(r"^\s*(?:>>>|\.\.\.) (.*)$", re.M)


@functools.lru_cache(maxsize=16384)
def stem(word: str) -> str:
    """Return the light stem of a lowercase word: plural folded, at most six letters.

    ``proxies`` and ``proxy`` share ``proxy``; ``redirects``, ``redirect`` and ``redirection``
    share ``redire``; ``install`` and ``installation`` share ``instal``.

    .. versionadded:: 0.2.0
    """
    if len(word) > 4 and word.endswith("ies"):
        word = word[:-3] + "y"
    elif len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    return word[:6]


def _subwords(name: str) -> list[str]:
    return [w.lower() for w in _SUBWORD.findall(name)]


def with_search_terms(index: ApiIndex) -> ApiIndex:
    """Return *index* with each entry's docstring pre-tokenised into :attr:`ApiEntry.terms`.

    Done once before a reference is cached: tokenising docstrings is most of the cost of
    preparing an index for ranking, and a cached reference is ranked in every process that
    reads it.

    .. versionadded:: 0.2.0
    """
    entries = tuple(
        attrs.evolve(e, terms=tuple(sorted(stems_of(e.docstring, limit=_MAX_DOC_CHARS))))
        if e.docstring and not e.terms
        else e
        for e in index.entries
    )
    return attrs.evolve(index, entries=entries)


def stems_of(text: str, *, limit: int = 10_000) -> frozenset[str]:
    """Return the stems of the words in *text* (identifiers split at ``_`` and case changes).

    Args:
        text: Any text; only its first *limit* characters are read.
        limit: How many characters to read.

    .. versionadded:: 0.2.0
    """
    words = {w.lower() for w in _SUBWORD.findall(text[:limit])}
    return frozenset(stem(w) for w in words if len(w) >= 2)


@attrs.frozen
class Identifier:
    """An identifier a query names.

    Attributes:
        name: As written (``Client.get``, ``proxies``, ``AsyncClient``).
        keyword_of: For a keyword argument (``Client(proxies=...)``), the callee's name.
        strict: Whether it looks like code (``_``, a dot, inner capitals, backticks, a call or
            ``=``); a plain capitalised word (``Client``) is not strict: it can put an object
            first but is never reported missing.
        bare: Whether it was only written as a word in prose (``FastAPI``, ``max_retries``),
            not as code, a call, a keyword or the symbol: it is reported missing only when
            a near name exists (else it is likely another library's name).

    .. versionadded:: 0.2.0
    """

    name: str
    keyword_of: str | None = None
    strict: bool = True
    bare: bool = False


@attrs.frozen
class Query:
    """A parsed question about an API.

    Attributes:
        text: The question, cut to :data:`MAX_QUERY_CHARS`.
        words: Its plain lowercase words, stop words removed (at most 40).
        stems: Their stems (see :func:`stem`).
        free_stems: Stems of the words written as plain words, not inside an identifier
            (``option`` in ``option_3`` is not one).
        identifiers: The identifiers it names, the symbol first.
        symbol: The exact symbol asked for, if any.
        asks_private: Whether private objects are asked for.
        asks_deprecated: Whether deprecated objects are asked for.
        asks_tests: Whether test helpers are asked for.
        asks_changes: Whether release notes are asked for.

    .. versionadded:: 0.2.0
    """

    text: str = ""
    words: tuple[str, ...] = ()
    stems: frozenset[str] = frozenset()
    free_stems: frozenset[str] = frozenset()
    identifiers: tuple[Identifier, ...] = ()
    symbol: str | None = None
    asks_private: bool = False
    asks_deprecated: bool = False
    asks_tests: bool = False
    asks_changes: bool = False

    @property
    def empty(self) -> bool:
        """Whether it has neither words nor identifiers."""
        return not self.words and not self.identifiers


def _looks_like_code(name: str) -> bool:
    return "_" in name or "." in name or bool(_CAMEL.search(name))


def parse_query(query: str | None, symbol: str | None = None) -> Query:
    """Parse a question (and an exact symbol) into words and identifiers.

    Args:
        query: Free text (``how do I set a proxy on Client(proxies=...)``); cut to
            :data:`MAX_QUERY_CHARS` characters.
        symbol: An exact dotted name (``httpx.Client.get``).

    Raises:
        InvalidInputError: When *symbol* is not a dotted Python name of at most 200 characters.

    .. versionadded:: 0.2.0
    """
    text = (query or "")[:MAX_QUERY_CHARS]
    found: dict[tuple[str, str | None], Identifier] = {}

    def add(ident: Identifier) -> None:
        if len(ident.name) < 2 or not any(c.isalpha() for c in ident.name):
            return
        key = (ident.name, ident.keyword_of)
        old = found.get(key)
        if old is None:
            if len(found) < _MAX_IDENTIFIERS:
                found[key] = ident
        elif ident.strict and not old.strict:
            found[key] = ident

    if symbol is not None:
        symbol = symbol.strip()
        if len(symbol) > MAX_SYMBOL_CHARS or not _SYMBOL.fullmatch(symbol):
            raise InvalidInputError(
                "symbol must be a dotted Python name such as `httpx.Client.get`",
                details={"symbol": symbol[:60]},
                suggestions=("Pass the object's dotted path, or use query for free text.",),
            )
        found[(symbol, None)] = Identifier(symbol)
    code_spans = [m.group(1) for m in _BACKTICK.finditer(text)]
    for span in code_spans:
        for m in _TOKEN.finditer(span):
            add(Identifier(m.group()))
    for m in _CALL.finditer(text):
        callee = m.group(1)
        add(Identifier(callee))
        for kw in _KEYWORD.finditer(m.group(2) or ""):
            if len(kw.group(1)) > 1:
                add(Identifier(kw.group(1), keyword_of=callee))
    for m in _KEYWORD.finditer(text):
        if len(m.group(1)) > 1 and not any(
            i.name == m.group(1) and i.keyword_of for i in found.values()
        ):
            add(Identifier(m.group(1)))
    for m in _DOTTED.finditer(text):
        if all(len(part) > 1 for part in m.group().split(".")):  # not "e.g" or "i.e"
            add(Identifier(m.group()))
    for m in _TOKEN.finditer(text):
        name = m.group()
        if _looks_like_code(name):
            add(Identifier(name, bare=True))
        elif name[0].isupper() and any(c.islower() for c in name[1:]) and len(name) > 2:
            add(Identifier(name, strict=False))
    words: list[str] = []
    seen: set[str] = set()
    for source in (text, symbol or ""):
        for raw in _RAW.findall(source):
            for w in [raw.lower(), *_subwords(raw)]:
                if len(w) >= 2 and w not in _STOPWORDS and w not in seen and not w.isdigit():
                    seen.add(w)
                    if len(words) < _MAX_TERMS:
                        words.append(w)
    plain = {w for w in words if "_" not in w}
    idents = tuple(found.values())
    code = {i.name for i in idents if i.strict}
    free = {
        stem(w.lower())
        for w in _RAW.findall(text)
        if w not in code and "_" not in w and len(w) >= 2 and w.lower() not in _STOPWORDS
    }
    lowered = text.lower().replace("'", "").replace(" ", "")
    return Query(
        text=text,
        words=tuple(words),
        stems=frozenset(stem(w) for w in plain),
        free_stems=frozenset(free),
        identifiers=idents,
        symbol=symbol,
        asks_private=bool(plain & _ASK_PRIVATE)
        or any(part.startswith("_") for i in idents for part in i.name.split(".")),
        asks_deprecated=bool(plain & _ASK_DEPRECATED),
        asks_tests=bool(plain & _ASK_TESTS),
        asks_changes=bool(plain & _ASK_CHANGES) or "whatsnew" in lowered,
    )


def code_names(text: str) -> frozenset[str]:
    """Return the identifiers used in the code of a README (fenced blocks and doctest lines).

    Bounded: at most 2,000 names from the first 200,000 characters.

    .. versionadded:: 0.2.0
    """
    text = text[:200_000]
    names: set[str] = set()
    chunks = [m.group(2) for m in _CODE_BLOCK.finditer(text)]
    chunks += [m.group(1) for m in _DOCTEST.finditer(text)]
    for chunk in chunks:
        for m in _PLAIN_NAME.finditer(chunk):
            if len(names) >= _MAX_CODE_NAMES:
                return frozenset(names)
            names.add(m.group())
    return frozenset(names)


@attrs.frozen
class ScoredEntry:
    """An API entry with its relevance to a query.

    Attributes:
        entry: The entry.
        score: Its relevance (larger is better; 1,000 and up when the query names it).
        exact: Whether an identifier in the query (or the symbol) names it.
        matched: The identifier that named it, if any.

    .. versionadded:: 0.2.0
    """

    entry: ApiEntry
    score: float
    exact: bool = False
    matched: str | None = None


@attrs.frozen
class Missing:
    """An identifier the query names that this version does not have.

    Attributes:
        name: The identifier as asked (``proxies``, ``Client.stream_json``).
        owner: The object it was looked for on (``httpx.Client``), or ``None`` for the version.
        kind: ``parameter``, ``member`` or ``name``.
        nearest: The nearest existing names (at most five), closest first.

    .. versionadded:: 0.2.0
    """

    name: str
    owner: str | None
    kind: str
    nearest: tuple[str, ...] = ()


@attrs.frozen
class _Fields:
    name: frozenset[str]
    owner: frozenset[str]
    returns: frozenset[str]
    params: frozenset[str]
    doc: frozenset[str]
    test_only: bool


@attrs.frozen
class _Prepared:
    fields: tuple[_Fields, ...]
    by_path: dict[str, tuple[int, ...]]
    by_suffix: dict[str, tuple[int, ...]]
    by_name: dict[str, tuple[int, ...]]
    by_path_lower: dict[str, tuple[int, ...]]
    by_suffix_lower: dict[str, tuple[int, ...]]
    by_name_lower: dict[str, tuple[int, ...]]
    param_names: frozenset[str]
    member_names: frozenset[str]
    heads: frozenset[str]
    by_initial: dict[str, tuple[tuple[str, str], ...]]
    by_ending: dict[str, tuple[tuple[str, str], ...]]
    nearest_memo: dict[str, tuple[str, ...]]


def _index_of(pairs: Iterable[tuple[str, int]]) -> dict[str, tuple[int, ...]]:
    out: dict[str, list[int]] = {}
    for key, i in pairs:
        bucket = out.setdefault(key, [])
        if not bucket or bucket[-1] != i:
            bucket.append(i)
    return {k: tuple(v) for k, v in out.items()}


def _paths(entry: ApiEntry) -> tuple[str, ...]:
    return (entry.path, *entry.aliases[:8])


def _prepare(index: ApiIndex) -> _Prepared:
    fields = []
    path_pairs: list[tuple[str, int]] = []
    suffix_pairs: list[tuple[str, int]] = []
    name_pairs: list[tuple[str, int]] = []
    param_names: set[str] = set()
    member_names: set[str] = set()
    heads: set[str] = {index.name.replace("-", "_")}
    for i, e in enumerate(index.entries):
        owner = e.owner.rsplit(".", 1)[-1] if e.owner else ""
        parts = e.path.split(".")
        fields.append(
            _Fields(
                name=stems_of(e.name),
                owner=stems_of(owner.lstrip("_")),
                returns=stems_of(e.returns or "", limit=300),
                params=frozenset(s for p in e.parameters[:200] for s in stems_of(p.name)),
                doc=(
                    frozenset(e.terms)
                    if e.terms
                    else stems_of(e.docstring or "", limit=_MAX_DOC_CHARS)
                ),
                test_only=any(
                    p.lower() in _TEST_PARTS or p.lower().startswith("test_") for p in parts
                ),
            )
        )
        heads.add(parts[0])
        param_names.update(p.name for p in e.parameters[:200])
        member_names.update(e.members[:500])
        for path in _paths(e):
            path_pairs.append((path, i))
            dotted = path.split(".")
            for k in range(1, len(dotted)):
                suffix_pairs.append((".".join(dotted[k:]), i))
            name_pairs.append((dotted[-1], i))

    def lower(pairs: list[tuple[str, int]]) -> dict[str, tuple[int, ...]]:
        return _index_of((k.lower(), i) for k, i in pairs)

    names = sorted({e.name for e in index.entries} | param_names | member_names)
    initial: dict[str, list[tuple[str, str]]] = {}
    ending: dict[str, list[tuple[str, str]]] = {}
    for n in names[:_MAX_CANDIDATES]:
        low = n.lower()
        initial.setdefault(low[:1], []).append((low, n))
        ending.setdefault(low[-3:], []).append((low, n))
    return _Prepared(
        fields=tuple(fields),
        by_path=_index_of(path_pairs),
        by_suffix=_index_of(suffix_pairs),
        by_name=_index_of(name_pairs),
        by_path_lower=lower(path_pairs),
        by_suffix_lower=lower(suffix_pairs),
        by_name_lower=lower(name_pairs),
        param_names=frozenset(param_names),
        member_names=frozenset(member_names),
        heads=frozenset(heads),
        by_initial={k: tuple(v) for k, v in initial.items()},
        by_ending={k: tuple(v) for k, v in ending.items()},
        nearest_memo={},
    )


_cache: dict[int, tuple[weakref.ref[ApiIndex], _Prepared]] = {}
_cache_lock = threading.Lock()


def _prepared(index: ApiIndex) -> _Prepared:
    """Return the index's search fields, built once and cached (bounded, by identity)."""
    key = id(index)
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None and hit[0]() is index:
            _cache[key] = _cache.pop(key)  # most recently used last
            return hit[1]
    prepared = _prepare(index)
    with _cache_lock:
        _cache[key] = (weakref.ref(index), prepared)
        while len(_cache) > _CACHE_SIZE:
            del _cache[next(iter(_cache))]
    return prepared


def _resolve(prep: _Prepared, name: str, *, strict: bool) -> tuple[int, ...]:
    """Return the entries *name* names: exact path, path suffix, then last name; case first."""
    tables = [prep.by_path, prep.by_suffix, prep.by_name]
    if strict:
        tables += [prep.by_path_lower, prep.by_suffix_lower, prep.by_name_lower]
    for n, table in enumerate(tables):
        hit = table.get(name.lower() if n >= 3 else name)
        if hit:
            return hit
    return ()


def resolve(index: ApiIndex, name: str, *, exact: bool = False) -> tuple[ApiEntry, ...]:
    """Return the entries *name* names in *index*, best first.

    Exact path (or alias) first, then a path suffix (``Client.get``), then the last name;
    case-sensitive before case-insensitive. With *exact*, only the exact path counts.

    .. versionadded:: 0.2.0
    """
    prep = _prepared(index)
    hits = prep.by_path.get(name, ()) if exact else _resolve(prep, name, strict=True)
    return tuple(index.entries[i] for i in hits)


def _term_score(f: _Fields, stems: frozenset[str]) -> float:
    # Set intersections run in C: one pass over the entries stays linear and cheap.
    return float(
        10 * len(stems & f.name)
        + 4 * len(stems & f.owner)
        + 3 * len(stems & f.returns)
        + 3 * len(stems & f.params)
        + len(stems & f.doc)
    )


_KIND_WEIGHT = {"module": 0.6, "attribute": 0.8, "property": 0.9}


def _prior(entry: ApiEntry, f: _Fields, query: Query, readme: frozenset[str]) -> float:
    factor = _KIND_WEIGHT.get(entry.kind, 1.0)
    if entry.exported:
        factor *= 1.5
    if entry.name in readme:
        factor *= 1.3
    if entry.private and not query.asks_private:
        factor *= 0.25
    if entry.deprecated and not query.asks_deprecated:
        factor *= 0.25
    if f.test_only and not query.asks_tests:
        factor *= 0.25
    return factor


def _query_stems(index: ApiIndex, query: Query, prep: _Prepared) -> frozenset[str]:
    """The query's stems, without the package's own name (every path contains it)."""
    own = {stem(index.name.lower().replace("-", "_"))} | {stem(h.lower()) for h in prep.heads}
    return frozenset(s for s in query.stems if s not in own) or frozenset()


def rank_entries(
    index: ApiIndex, query: Query, *, readme_code_names: frozenset[str] = frozenset()
) -> list[ScoredEntry]:
    """Rank *index*'s entries for *query*, most relevant first.

    Entries an identifier in the query names come first (exact path, then path suffix, then
    name; case-sensitive before case-insensitive), in the query's order. The rest score by the
    query's words: in the name 10, in the owner's name 4, in the return type 3, in a parameter
    name 3, in the docstring 1; top-level exports ×1.5 and names used in the README's code
    ×1.3; private, deprecated and test-only objects ×0.25 unless the query asks for them.
    Entries that score nothing are left out, unless the query is empty: then every entry
    comes, in the order of that prior alone. Ties break by path.

    Args:
        index: The version's API.
        query: From :func:`parse_query`.
        readme_code_names: Identifiers the README's code uses (see :func:`code_names`).

    .. versionadded:: 0.2.0
    """
    prep = _prepared(index)
    entries = index.entries
    stems = _query_stems(index, query, prep)
    first: dict[int, ScoredEntry] = {}
    rank_of: dict[int, float] = {}
    for n, ident in enumerate(query.identifiers):
        if ident.keyword_of is not None:
            continue
        hits = _resolve(prep, ident.name, strict=ident.strict)
        if not hits:
            continue
        base = 1000.0 + 100.0 * (len(query.identifiers) - n)
        ordered = sorted(
            hits,
            key=lambda i: (
                -_prior(entries[i], prep.fields[i], query, readme_code_names),
                entries[i].path.count("."),
                entries[i].path,
            ),
        )
        for k, i in enumerate(ordered[:10]):
            if i not in first:
                first[i] = ScoredEntry(entries[i], base - k, exact=True, matched=ident.name)
                rank_of[i] = base - k
    scored: list[ScoredEntry] = list(first.values())
    for i, (entry, f) in enumerate(zip(entries, prep.fields, strict=True)):
        if i in first:
            continue
        if query.empty:
            scored.append(ScoredEntry(entry, _prior(entry, f, query, readme_code_names) / 100))
            continue
        base = _term_score(f, stems) if stems else 0.0
        if base > 0:
            prior = _prior(entry, f, query, readme_code_names)
            scored.append(ScoredEntry(entry, round(base * prior, 6)))
    scored.sort(key=lambda s: (-s.score, s.entry.path))
    return scored


def matching_parameters(entry: ApiEntry, query: Query) -> tuple[Parameter, ...]:
    """Return *entry*'s parameters that the query names, or whose name has one of its words.

    Words count only when written as words: ``option_3`` matches the parameter ``option_3``,
    not ``option_4``.

    .. versionadded:: 0.2.0
    """
    named = {i.name for i in query.identifiers}
    out = []
    for p in entry.parameters:
        if p.name in named or stems_of(p.name) & query.free_stems:
            out.append(p)
    return tuple(out)


def _close(key: str, pool: dict[str, str], exclude: str) -> tuple[str, ...]:
    close = difflib.get_close_matches(key, list(pool), n=_MAX_NEAREST + 1, cutoff=0.6)
    return tuple(pool[c] for c in close if pool[c] != exclude)[:_MAX_NEAREST]


def _similar_length(key: str, low: str) -> bool:
    return abs(len(low) - len(key)) <= max(2, len(key) // 2)


def _nearest(name: str, candidates: Iterable[str]) -> tuple[str, ...]:
    """The closest of *candidates* to *name* (difflib ratio ≥ 0.6, case ignored), at most five."""
    key = name.lower()
    pool: dict[str, str] = {}
    for c in sorted(set(candidates))[:_MAX_CANDIDATES]:
        if c.lower() not in pool and _similar_length(key, c.lower()):
            pool[c.lower()] = c
    return _close(key, pool, name)


def _nearest_name(prep: _Prepared, name: str) -> tuple[str, ...]:
    """The closest names in the whole version, memoised per index (bounded).

    Only names of similar length that share the first letter or the last three reach
    difflib: over a large package's 3,000 names a look-up stays around a millisecond.
    """
    hit = prep.nearest_memo.get(name)
    if hit is not None:
        return hit
    key = name.lower()
    pool: dict[str, str] = {}
    for bucket in (prep.by_initial.get(key[:1], ()), prep.by_ending.get(key[-3:], ())):
        for low, orig in bucket:
            if low not in pool and _similar_length(key, low):
                pool[low] = orig
    found = _close(key, pool, name)
    if len(prep.nearest_memo) >= 256:
        prep.nearest_memo.clear()
    prep.nearest_memo[name] = found
    return found


def find_missing(index: ApiIndex, query: Query) -> tuple[Missing, ...]:
    """Return the identifiers *query* names that this version does not have, with the nearest.

    A keyword argument (``Client(proxies=...)``) is missing when the object it is passed to has
    no parameter of that name and takes no ``**kwargs``; a dotted name (``Client.stream_json``)
    is missing when its owner resolves but has no such member, or when nothing resolves and it
    starts with the package's name; any other code-like name is missing when no entry,
    parameter or member anywhere has it. Plain words are never reported.

    .. versionadded:: 0.2.0
    """
    prep = _prepared(index)
    entries = index.entries
    out: list[Missing] = []
    seen: set[tuple[str, str | None]] = set()

    def report(m: Missing) -> None:
        if (m.name, m.owner) not in seen and len(out) < _MAX_IDENTIFIERS:
            seen.add((m.name, m.owner))
            out.append(m)

    for ident in query.identifiers:
        if not ident.strict:
            continue
        if ident.keyword_of is not None:
            owners = _resolve(prep, ident.keyword_of, strict=True)
            if not owners:
                continue
            target = entries[owners[0]]
            if not target.parameters and target.kind not in ("class", "function", "method"):
                continue
            names = {p.name for p in target.parameters}
            if ident.name in names or any(p.kind == "var-keyword" for p in target.parameters):
                continue
            report(
                Missing(
                    ident.name,
                    target.path,
                    "parameter",
                    _nearest(ident.name, [*names, *target.members[:500]]),
                )
            )
            continue
        if _resolve(prep, ident.name, strict=True):
            continue
        if "." in ident.name:
            head, _, last = ident.name.rpartition(".")
            owners = _resolve(prep, head, strict=True)
            if owners:
                target = entries[owners[0]]
                report(
                    Missing(
                        last,
                        target.path,
                        "member",
                        _nearest(
                            last, [*target.members[:500], *(p.name for p in target.parameters)]
                        ),
                    )
                )
                continue
            if ident.name.split(".")[0] not in prep.heads:
                continue  # another package's name (``os.path``), not ours to judge
            report(Missing(ident.name, None, "name", _nearest_name(prep, last)))
            continue
        if ident.name in prep.param_names or ident.name in prep.member_names:
            continue
        nearest = _nearest_name(prep, ident.name)
        if nearest or not ident.bare:
            report(Missing(ident.name, None, "name", nearest))
    return tuple(out)
