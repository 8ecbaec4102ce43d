"""Ranking API entries for a query, and naming what a version does not have."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autodocs_core.apiref import ApiEntry, ApiIndex, Parameter, _rank
from autodocs_core.apiref._rank import (
    MAX_QUERY_CHARS,
    code_names,
    find_missing,
    parse_query,
    rank_entries,
    resolve,
    stem,
)
from autodocs_core.errors import InvalidInputError

from ._index import api_indexes, httpx_index


def paths(query: str | None, symbol: str | None = None, **kw: frozenset[str]) -> list[str]:
    return [s.entry.path for s in rank_entries(httpx_index(), parse_query(query, symbol), **kw)]


class TestParseQuery:
    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ("how do I set a proxy on Client(proxies=...)", {"Client", "proxies@Client"}),
            (
                "httpx.AsyncClient.stream with follow_redirects",
                {"httpx.AsyncClient.stream", "follow_redirects"},
            ),
            ("use `get` then foo() and HTTPError", {"get", "foo", "HTTPError"}),
            ("timeout=5 and e.g. the os.path module", {"timeout", "os.path"}),
            ("Use it (carefully) please", set()),
        ],
    )
    def test_identifiers(self, query: str, expected: set[str]) -> None:
        """Calls, keyword arguments, dotted, snake, Camel and backticked names are identifiers."""
        q = parse_query(query)
        got = {
            i.name + (f"@{i.keyword_of}" if i.keyword_of else "") for i in q.identifiers if i.strict
        }
        assert got == expected

    def test_capitalised_word_is_a_soft_identifier(self) -> None:
        """A plain capitalised word can name an object but is not code-like."""
        (ident,) = parse_query("the Timeout class").identifiers
        assert ident.name == "Timeout" and not ident.strict

    def test_words_are_stemmed_and_split(self) -> None:
        """Identifiers split into words; plurals fold; stop words go."""
        q = parse_query("how to follow_redirects with proxies in AsyncClient")
        assert {"follow", "redirects", "proxies", "async", "client"} <= set(q.words)
        assert {"proxy", "redire", "async", "client"} <= q.stems
        assert "how" not in q.words and "to" not in q.words

    def test_stem(self) -> None:
        """Light stemming: plurals, then six letters."""
        assert stem("proxies") == stem("proxy") == "proxy"
        assert stem("installation") == stem("install") == "instal"
        assert stem("class") == "class"

    def test_asks(self) -> None:
        """Private, deprecated, test and release-notes intents are recognised."""
        assert parse_query("the _send internal").asks_private
        assert parse_query("deprecated get").asks_deprecated
        assert parse_query("testing helpers").asks_tests
        assert parse_query("what's new").asks_changes and parse_query("changelog").asks_changes
        assert not parse_query("how to change the timeout").asks_changes

    @pytest.mark.parametrize("bad", ["", "a b", "x;y", "a" * 201, "1abc", "a..b"])
    def test_bad_symbol(self, bad: str) -> None:
        """A symbol that is not a dotted name is invalid input."""
        with pytest.raises(InvalidInputError):
            parse_query(None, bad)

    @given(
        st.text(max_size=2000),
        st.one_of(st.none(), st.from_regex(r"[a-z_]{1,9}(\.[A-Z][a-z]{0,9}){0,3}", fullmatch=True)),
    )
    def test_bounded(self, text: str, symbol: str | None) -> None:
        """Any text parses, within the bounds on length, words and identifiers."""
        q = parse_query(text, symbol)
        assert len(q.text) <= MAX_QUERY_CHARS
        assert len(q.words) <= 40 and len(q.identifiers) <= 20
        assert symbol is None or q.identifiers[0].name == symbol


class TestRank:
    @pytest.mark.parametrize(
        ("query", "symbol"),
        [
            ("httpx.Client.get", None),
            ("what does Client.get return", None),
            ("client.get", None),
            (None, "httpx.Client.get"),
            ("timeout", "Client.get"),
        ],
    )
    def test_named_object_first(self, query: str | None, symbol: str | None) -> None:
        """A dotted name (path, suffix, any case) or the symbol puts its object first."""
        ranked = rank_entries(httpx_index(), parse_query(query, symbol))
        assert ranked[0].entry.path == "httpx.Client.get" and ranked[0].exact

    def test_case_sensitive_before_insensitive(self) -> None:
        """`get` names httpx.get and Client.get by name; the shorter exported path wins."""
        assert paths("`get`")[:2] == ["httpx.get", "httpx.Client.get"]

    def test_name_weighs_most(self) -> None:
        """A word in an object's name outranks it in the docstring."""
        order = paths("proxy")
        assert order.index("httpx.ProxyTypes") < order.index("httpx.Client.close")

    def test_deprecated_private_and_tests_demoted_unless_asked(self) -> None:
        """Demoted objects rank below their peers, and rise when the query asks for them."""
        order = paths("get url")
        assert order.index("httpx.old_get") > order.index("httpx.get")
        asked = paths("deprecated get url")
        assert asked.index("httpx.old_get") < asked.index("httpx.Client.post")
        scores = {
            s.entry.path: s.score for s in rank_entries(httpx_index(), parse_query("proxy map"))
        }
        asked_scores = {
            s.entry.path: s.score
            for s in rank_entries(httpx_index(), parse_query("internal proxy map"))
        }
        assert (
            asked_scores["httpx._utils.get_proxy_map"] == 4 * scores["httpx._utils.get_proxy_map"]
        )
        assert paths("proxy").index("httpx.tests.test_proxy") > paths("proxy testing").index(
            "httpx.tests.test_proxy"
        )

    def test_readme_code_names_boost(self) -> None:
        """A name the README's code uses ranks higher than it would otherwise."""
        plain = {
            s.entry.path: s.score for s in rank_entries(httpx_index(), parse_query("send request"))
        }
        boosted = {
            s.entry.path: s.score
            for s in rank_entries(
                httpx_index(), parse_query("send request"), readme_code_names=frozenset({"post"})
            )
        }
        assert boosted["httpx.Client.post"] == pytest.approx(plain["httpx.Client.post"] * 1.3)

    def test_unmatched_left_out_and_empty_query_lists_all(self) -> None:
        """Entries matching nothing are left out; an empty query ranks every entry by prior."""
        assert "httpx.Timeout" not in paths("proxy")
        everything = paths(None)
        assert len(everything) == len(httpx_index().entries)
        assert everything.index("httpx.Client") < everything.index("httpx._utils.get_proxy_map")

    def test_package_name_is_not_a_term(self) -> None:
        """The package's own name matches every path, so it scores nothing."""
        assert paths("httpx") == []

    @settings(max_examples=50)
    @given(api_indexes(), st.text(max_size=80))
    def test_sorted_exact_first_deterministic(self, index: object, text: str) -> None:
        """Any index and query: exact matches first, then by score, ties by path; repeatable."""
        from autodocs_core.apiref import ApiIndex

        assert isinstance(index, ApiIndex)
        q = parse_query(text)
        ranked = rank_entries(index, q)
        assert ranked == rank_entries(index, q)
        keys = [(-s.score, s.entry.path) for s in ranked]
        assert keys == sorted(keys)
        exact = [s.exact for s in ranked]
        assert exact == sorted(exact, reverse=True)
        assert len({s.entry.path for s in ranked}) == len(ranked)

    def test_search_fields_cached_and_bounded(self) -> None:
        """Fields are built once per index object, and the cache holds at most 16 indexes."""
        index = httpx_index()
        assert _rank._prepared(index) is _rank._prepared(index)
        keep = [httpx_index() for _ in range(40)]
        for other in keep:
            rank_entries(other, parse_query("proxy"))
        assert len(_rank._cache) <= 16

    def test_resolve(self) -> None:
        """`resolve` finds by path, suffix and name; exact only by path."""
        index = httpx_index()
        assert [e.path for e in resolve(index, "Client.get")] == ["httpx.Client.get"]
        assert resolve(index, "Client.get", exact=True) == ()


class TestMissing:
    def test_removed_parameter_names_the_nearest(self) -> None:
        """`Client(proxies=...)` on a version with only `proxy`: missing, nearest `proxy`."""
        (missing,) = find_missing(httpx_index(), parse_query("Client(proxies=...)"))
        assert (missing.name, missing.owner, missing.kind) == (
            "proxies",
            "httpx.Client",
            "parameter",
        )
        assert missing.nearest[0] == "proxy"

    def test_present_parameter_is_not_missing(self) -> None:
        """A keyword the object takes, or a name some entry has, is not reported."""
        assert (
            find_missing(httpx_index(), parse_query("Client(proxy=x, follow_redirects=True)")) == ()
        )
        assert find_missing(httpx_index(), parse_query("follow_redirects")) == ()

    def test_var_keyword_cannot_be_judged(self) -> None:
        """An object taking **kwargs may accept any keyword: nothing is reported."""
        extra = (
            ApiEntry(
                "httpx.request",
                "function",
                "httpx._api",
                signature="(**kwargs)",
                parameters=(Parameter("kwargs", "var-keyword"),),
                exported=True,
            ),
        )
        assert find_missing(httpx_index(extra=extra), parse_query("request(proxies=1)")) == ()

    def test_missing_member_and_name(self) -> None:
        """Missing members of a class and of the package, and a missing name, with nearest."""
        found = find_missing(httpx_index(), parse_query("Client.gett and httpx.Timeot"))
        (top,) = find_missing(httpx_index(), parse_query("AsyncClent"))
        assert (top.kind, top.owner, top.nearest[0]) == ("name", None, "Client")
        (code,) = find_missing(httpx_index(), parse_query("`FastAPI`"))
        assert (code.name, code.nearest) == ("FastAPI", ())
        assert [(m.name, m.owner, m.kind) for m in found] == [
            ("gett", "httpx.Client", "member"),
            ("Timeot", "httpx", "member"),
        ]
        assert found[0].nearest[0] == "get" and found[1].nearest[0] == "Timeout"
        (snake,) = find_missing(httpx_index(), parse_query("use follow_redirect"))
        assert snake.nearest[0] == "follow_redirects"

    @pytest.mark.parametrize(
        "query",
        ["os.path and e.g. json", "How do I send a Request", "x=1", "use it with FastAPI"],
    )
    def test_plain_words_and_other_packages_not_reported(self, query: str) -> None:
        """Plain words, other packages' names (nothing near them) are never reported missing."""
        assert find_missing(httpx_index(), parse_query(query)) == ()

    @settings(max_examples=50)
    @given(api_indexes(), st.text(max_size=120))
    def test_bounded(self, index: object, text: str) -> None:
        """At most 20 reported, each with at most 5 nearest names."""
        from autodocs_core.apiref import ApiIndex

        assert isinstance(index, ApiIndex)
        found = find_missing(index, parse_query(text))
        assert len(found) <= 20 and all(len(m.nearest) <= 5 for m in found)


def test_code_names() -> None:
    """Names used in fenced code and doctest lines; prose is ignored."""
    text = "Prose Mentions Here\n```python\nimport httpx\nr = httpx.get(url)\n```\n>>> c.close()\n"
    names = code_names(text)
    assert {"httpx", "get", "url", "close"} <= names and "Prose" not in names


@given(index=api_indexes(), query=st.text(max_size=60))
def test_pre_tokenised_terms_rank_exactly_like_tokenising(index: ApiIndex, query: str) -> None:
    """An index whose docstrings were pre-tokenised for the cache ranks exactly the same."""
    from autodocs_core.apiref import with_search_terms

    q = parse_query(query or None)
    before = [(s.entry.path, s.score, s.exact) for s in rank_entries(index, q)]
    stored = with_search_terms(index)
    after = [(s.entry.path, s.score, s.exact) for s in rank_entries(stored, q)]
    assert after == before
    assert all(
        frozenset(e.terms) == _rank.stems_of(e.docstring or "", limit=2000) for e in stored.entries
    )
