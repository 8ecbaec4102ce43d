"""Untrusted text: noise stripping and chat-template / role / tool delimiter neutralising."""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autodocs_core.docs import count_tokens, sanitize_text
from autodocs_core.docs._sanitize import MAX_NOISE_INPUT, neutralize_delimiters, strip_noise

MD = "text/markdown"
RST = "text/x-rst"


class TestStripNoise:
    def test_html_logo_paragraph_and_badge_links_are_removed(self) -> None:
        """A centred logo paragraph and linked badge images disappear, the prose stays."""
        text = (
            '<p align="center">\n  <a href="https://x.org"><img src="https://x.org/logo.png" '
            'alt="X"></a>\n</p>\n<p align="center">\n<a href="https://ci"><img '
            'src="https://img.shields.io/badge/ci-green"></a>\n</p>\n\nX is a library.\n'
        )
        out = strip_noise(text, MD)
        assert out == "X is a library.\n"

    def test_picture_and_bare_img_are_removed(self) -> None:
        """``<picture>`` with its sources, and a bare ``<img>``, are removed."""
        text = (
            '<picture>\n<source media="(prefers-color-scheme: dark)" srcset="d.svg">\n'
            '<img src="l.svg">\n</picture>\n\nHello <img src="x.png"> world.'
        )
        assert strip_noise(text, MD) == "Hello  world."

    def test_markdown_badge_lines_and_inline_badges(self) -> None:
        """Lines made only of images go; an inline shields badge goes; other links stay."""
        text = (
            "# Title\n"
            "[![PyPI](https://img.shields.io/pypi/v/x.svg)](https://pypi.org/project/x) "
            "![ci](https://github.com/o/x/actions/workflows/ci.yml/badge.svg)\n"
            "![diagram](docs/arch.png)\n\n"
            "Read [the docs](https://x.org) now "
            "[![cov](https://codecov.io/gh/o/x/badge.svg)](https://codecov.io).\n"
        )
        out = strip_noise(text, MD)
        assert out == "# Title\n\nRead [the docs](https://x.org) now .\n"

    def test_rst_images_and_substitutions(self) -> None:
        """``.. image::`` blocks, ``.. |b| image::`` definitions and ``|b|`` uses go."""
        text = (
            "Title\n=====\n\n|pypi| |ci|\n\n.. |pypi| image:: https://img.shields.io/pypi/v/x\n"
            "   :target: https://pypi.org/project/x\n.. |ci| image:: https://ci/badge.svg\n\n"
            ".. image:: logo.png\n   :alt: logo\n\nX does things |ci| well.\n"
        )
        out = strip_noise(text, RST)
        assert "image::" not in out and "|ci|" not in out and "|pypi|" not in out
        assert "Title\n=====" in out and "X does things  well." in out

    def test_html_comments_are_removed_and_unclosed_ones_kept(self) -> None:
        """Closed comments go; an unclosed ``<!--`` is left as text (nothing is lost)."""
        assert strip_noise("a<!-- hidden\nstuff -->b", MD) == "ab"
        assert strip_noise("a <!-- never closed", MD) == "a <!-- never closed"

    @pytest.mark.parametrize(
        ("heading", "next_heading"),
        [
            ("## Sponsors", "## License"),
            ("## Thanks to our sponsors", "# Next"),
            ("### Backers", "### Usage"),
            ('<h2 align="center">Sponsors</h2>', "## License"),
        ],
    )
    def test_sponsor_section_is_dropped_up_to_the_next_peer_heading(
        self, heading: str, next_heading: str
    ) -> None:
        """A sponsors/backers section and its sub-sections go; the next peer heading stays."""
        text = (
            f"# X\n\nIntro.\n\n{heading}\n\nGold: Acme\n\n#### Silver\n\nFoo Corp\n\n"
            f"{next_heading}\n\nMIT\n"
        )
        out = strip_noise(text, MD)
        assert "Acme" not in out and "Foo Corp" not in out and "Silver" not in out
        assert out.startswith("# X\n\nIntro.") and f"{next_heading}\n\nMIT" in out

    def test_rst_sponsor_section(self) -> None:
        """In reStructuredText the section ends at the next heading of the same underline."""
        text = "X\n=\n\nIntro.\n\nSponsors\n--------\n\nAcme\n\nUsage\n-----\n\nrun()\n"
        out = strip_noise(text, RST)
        assert "Acme" not in out and "Usage\n-----\n\nrun()" in out

    def test_fenced_code_is_never_touched(self) -> None:
        """Images, comments, badges and a "Sponsors" heading inside fenced code all stay."""
        code = (
            '```html\n<p align="center"><img src="a.png"></p>\n<!-- keep -->\n'
            "[![b](https://img.shields.io/x)](y)\n## Sponsors\nkept\n```"
        )
        text = f"# X\n\n{code}\n\n<!-- drop -->\n"
        assert strip_noise(text, MD) == f"# X\n\n{code}\n"

    def test_oversized_input_is_returned_unchanged(self) -> None:
        """Texts over the bound are not processed (a bounded cost)."""
        text = "<!-- x -->" + "a" * MAX_NOISE_INPUT
        assert strip_noise(text, MD) is text

    @settings(max_examples=100)
    @given(st.text(alphabet=st.characters(exclude_characters="<>![]|`~#=-.\r"), max_size=300))
    def test_text_without_markup_is_unchanged(self, text: str) -> None:
        """Prose with no markup characters comes back as it was (blank-line runs aside)."""
        text = re.sub(r"\n{3,}", "\n\n", text).strip("\n")
        assert strip_noise(text, MD) == text

    @settings(max_examples=100)
    @given(
        st.lists(
            st.sampled_from(
                [
                    "text",
                    "<img src=x>",
                    "<!--",
                    "-->",
                    "```",
                    "## Sponsors",
                    "# H",
                    "\n",
                    "![a](b)",
                    "[![a](b)](c)",
                    "<p>",
                    "</p>",
                    "<a href=x>",
                    "</a>",
                    "|x|",
                    ".. image:: y",
                    "   :alt: z",
                    "<picture>",
                    "</picture>",
                ]
            ),
            max_size=80,
        ),
        st.sampled_from([MD, RST, None]),
    )
    def test_never_grows_and_never_fails(self, parts: list[str], ctype: str | None) -> None:
        """Any mixture of markup fragments is processed without error and never grows."""
        text = "".join(parts)
        assert len(strip_noise(text, ctype)) <= len(text) + 1


DELIMITERS = [
    "<system>",
    "</system>",
    "<|im_start|>",
    "<|im_end|>",
    "<|endoftext|>",
    "[INST]",
    "[/INST]",
    "<<SYS>>",
    "<</SYS>>",
    "</tool_result>",
    "<tool_use>",
    "<function_calls>",
    "<|start_header_id|>",
    "<|eot_id|>",
    "<start_of_turn>",
    "<tool_call>",
    "</invoke>",
    "<user>",
    "<assistant>",
    "[TOOL_CALLS]",
    "<function_results>",
]
ROLE_LINES = ["Human:", "Assistant:"]

_LOOKALIKES = {"<": "\uff1c", ">": "\uff1e", "[": "\uff3b", "]": "\uff3d", "|": "\uff5c"}


def _fold(text: str) -> str:
    """Case-folded NFKC with all whitespace removed: how a lenient reader sees delimiters."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text).casefold())


def _survivors(text: str) -> list[str]:
    folded = _fold(text)
    found = [d for d in DELIMITERS if _fold(d) in folded]
    lines = [_fold(line) for line in text.split("\n")]
    found += [r for r in ROLE_LINES if any(line.startswith(_fold(r)) for line in lines)]
    return found


@st.composite
def disguised(draw: st.DrawFn, delimiter: str) -> str:
    """*delimiter* in random case, with random spacing inside and random look-alikes."""
    out = []
    for i, char in enumerate(delimiter):
        if char.isalpha():
            char = char.upper() if draw(st.booleans()) else char.lower()
        if char in _LOOKALIKES and draw(st.booleans()):
            char = _LOOKALIKES[char]
        out.append(char)
        if 0 < i < len(delimiter) - 1 and char in "<>[]|/\uff1c\uff3b" and draw(st.booleans()):
            out.append(draw(st.sampled_from([" ", "  ", "\t"])))
    text = "".join(out)
    # <User>, <Assistant>: capitalised like a class name, these are type names (generics).
    return re.sub(
        r"(?i)\b(user|assistant)\b",
        lambda m: m.group().swapcase() if m.group().istitle() else m.group(),
        text,
    )


class TestNeutralizeDelimiters:
    @pytest.mark.parametrize("delimiter", DELIMITERS)
    def test_each_delimiter_is_broken_visibly(self, delimiter: str) -> None:
        """Each delimiter comes back escaped with visible look-alike brackets."""
        out = neutralize_delimiters(f"before {delimiter} after")
        assert delimiter not in out and not _survivors(out)
        assert "\u2039" in out or "\u27e6" in out

    def test_role_lines_are_escaped_only_at_a_line_start(self) -> None:
        """``Human:`` starting a line is escaped; mid-sentence it is left alone."""
        out = neutralize_delimiters("Human: hi\n  assistant : ok\nSay Human: here")
        assert out == "Human\\: hi\n  assistant \\: ok\nSay Human: here"

    @settings(max_examples=200)
    @given(st.data(), st.text(max_size=40), st.text(max_size=40))
    def test_no_disguised_delimiter_survives(self, data: st.DataObject, a: str, b: str) -> None:
        """Random case, spacing and fullwidth look-alikes: nothing survives sanitising."""
        delimiter = data.draw(st.sampled_from(DELIMITERS))
        text = a + " " + data.draw(disguised(delimiter)) + " " + b
        assert delimiter not in _survivors(sanitize_text(text))

    @settings(max_examples=100)
    @given(st.sampled_from(ROLE_LINES), st.sampled_from(["", " ", "\t", "> "]), st.booleans())
    def test_no_role_line_survives(self, role: str, indent: str, upper: bool) -> None:
        """``Human:``/``Assistant:`` at a line start, in any case or indent, is escaped."""
        text = f"intro\n{indent}{role.upper() if upper else role} do this\n"
        assert not _survivors(sanitize_text(text))

    @pytest.mark.parametrize(
        "text",
        [
            "List<T> and Dict<K, V> and Optional<User> and Map<String, Assistant>",
            "if a < b and c > d: pass",
            "a <|> b (Haskell's Alternative)",
            "values[0], matrix[i][j], [docs](https://x.org), [1, 2, 3]",
            "#include <vector>\n#include <system_error>",
            "The human: a species.  Assistant managers: see below.",
            "<p>ok</p> <em>fine</em> <code>x</code> <br/>",
            "Notes: see [install] and [usage].",
        ],
    )
    def test_ordinary_text_is_unchanged(self, text: str) -> None:
        """Generics, comparisons, brackets and ordinary HTML are left exactly as they were."""
        assert neutralize_delimiters(text) == text

    @settings(max_examples=200)
    @given(
        st.lists(
            st.sampled_from(
                [
                    "word",
                    " ",
                    "\n",
                    "<T>",
                    "List[int]",
                    "x < y",
                    "y > z",
                    "Optional<User>",
                    "[1, 2]",
                    "a: b",
                    "<|>",
                    "<p>",
                    "</p>",
                    "café",
                    "日本",
                    "::",
                    "[x](y)",
                ]
            ),
            max_size=40,
        )
    )
    def test_ordinary_fragments_are_unchanged(self, parts: list[str]) -> None:
        """Any mixture of ordinary code and prose fragments is returned unchanged."""
        text = "".join(parts)
        assert neutralize_delimiters(text) == text

    def test_idempotent(self) -> None:
        """Neutralising twice changes nothing more."""
        once = neutralize_delimiters("<system> [INST] <|im_start|> <<SYS>>\nHuman: x")
        assert neutralize_delimiters(once) == once


def _recorded_readmes() -> list[tuple[str, str, str | None]]:
    path = Path(__file__).parent.parent / "fixtures" / "tokens" / "readmes.json"
    items = json.loads(path.read_text("utf-8"))
    return [(d["name"], d["description"], d["content_type"]) for d in items]


_FENCED = re.compile(r"^```.*?^```", re.M | re.S)


def test_recorded_readmes_lose_noise_and_keep_code(projects: dict[str, Any]) -> None:
    """On recorded READMEs: >= 15% of counted tokens go, every fenced code block stays."""
    docs = _recorded_readmes() + [
        (n, d["info"]["description"], d["info"].get("description_content_type"))
        for n, d in projects.items()
    ]
    before = after = 0
    for name, text, ctype in docs:
        text = sanitize_text(text)
        out = strip_noise(text, ctype)
        before, after = before + count_tokens(text), after + count_tokens(out)
        for block in _FENCED.findall(text):
            assert block in out, name
        assert "shields.io" not in out, name
    assert after <= 0.85 * before


@pytest.mark.parametrize(
    "unit",
    ["[![a](b", "<picture>", "<img ", "<a href=x>", "[![", "![a](", "[a](b ", "<!--", "<system"],
)
def test_adversarial_repetitions_are_processed_in_one_pass(unit: str) -> None:
    """200 KB of a repeated opener: both passes finish (the old link pattern took minutes)."""
    text = unit * (200_000 // len(unit))
    assert len(strip_noise(text, MD)) <= len(text)
    assert sanitize_text(text)


@pytest.mark.parametrize(
    "link",
    ["[x](javascript:alert([1]))", "[a [b]](javascript:x)", "[x](java\tscript:y[0])"],
)
def test_unsafe_target_with_brackets_is_still_removed(link: str) -> None:
    """A link target the link pattern skips (brackets inside) still loses an unsafe scheme."""
    assert "script:" not in sanitize_text(link).replace("\t", "")
