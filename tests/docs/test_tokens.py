"""The offline token counter never under-counts real tokenizers (cl100k, o200k, voyage3)."""

from __future__ import annotations

import random
import string
from functools import cache
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autodocs_core.docs import count_tokens

bpe_openai = pytest.importorskip("bpe_openai")
ENCODINGS = ("cl100k_base", "o200k_base", "voyage3_base")


@cache
def _encoders() -> list[Any]:
    return [bpe_openai.get_encoding(name) for name in ENCODINGS]


def real(text: str) -> int:
    """The most tokens any of the reference tokenizers spends on *text*."""
    return max(len(e.encode(text)) for e in _encoders())


def corpus(projects: dict[str, Any]) -> list[tuple[str, str]]:
    rng = random.Random(7)
    texts = [(f"{n} README", d["info"]["description"]) for n, d in projects.items()]
    texts += [
        ("hex", "".join(rng.choice("0123456789abcdef") for _ in range(3000))),
        (
            "base64",
            "".join(rng.choice(string.ascii_letters + string.digits + "+/") for _ in range(3000)),
        ),
        ("random lowercase", "".join(rng.choice(string.ascii_lowercase) for _ in range(3000))),
        ("CJK", "日本語のテキストと中文文本" * 200),
        ("emoji", "🎉👍🏽👨‍👩‍👧‍👦🚀" * 200),
        ("Cyrillic", "Привет мир это тест токенизации " * 200),
        ("punctuation", "".join(rng.choice(string.punctuation) for _ in range(3000))),
        ("code", "def f(x):\n    return {'a': [x ** 2 for x in range(10)]}\n" * 100),
    ]
    return texts


def test_never_below_real_tokenizers_on_readmes_and_prefixes(projects: dict[str, Any]) -> None:
    """On recorded READMEs, adversarial text and 40 prefixes of each, the estimate is >= real."""
    for name, text in corpus(projects):
        step = max(50, len(text) // 40)
        for cut in [*range(step, len(text), step), len(text)]:
            prefix = text[:cut]
            assert count_tokens(prefix) >= real(prefix), (name, cut)


def test_english_prose_is_not_wildly_over_counted(projects: dict[str, Any]) -> None:
    """On READMEs the estimate stays under 2.2× the real count (budgets stay useful)."""
    for name, doc in projects.items():
        text = doc["info"]["description"]
        assert count_tokens(text) <= 2.2 * real(text), name


_SEPARATORS = [
    " ",
    " ",
    " ",
    "\n",
    "\n\n",
    ", ",
    ". ",
    "`",
    "(",
    ")",
    ": ",
    " - ",
    "**",
    "/",
    "    ",
    "=",
]


@cache
def _readme_words() -> list[str]:
    import json
    import re
    from pathlib import Path

    words: set[str] = set()
    for path in (Path(__file__).parent.parent / "fixtures" / "pypi").glob("*.json"):
        doc = json.loads(path.read_text("utf-8"))
        words.update(re.findall(r"\S+", (doc.get("info") or {}).get("description") or ""))
    return sorted(words)


@settings(max_examples=300)
@given(st.data())
def test_never_below_on_text_made_of_readme_words(data: st.DataObject) -> None:
    """Text generated from real README words and separators is never under-counted."""
    words = _readme_words()
    n = data.draw(st.integers(1, 120))
    parts = []
    for _ in range(n):
        parts.append(data.draw(st.sampled_from(words)))
        parts.append(data.draw(st.sampled_from(_SEPARATORS)))
    text = "".join(parts)
    assert count_tokens(text) >= real(text)


@settings(max_examples=200)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["L"]), max_size=200))
def test_never_below_on_symbols_digits_and_spacing(text: str) -> None:
    """Any text without letters (digits, punctuation, symbols, emoji, spacing) is safe."""
    assert count_tokens(text) >= real(text)
