"""Every Python example in docs/ and the README runs and its assertions hold."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)

EXAMPLES = [
    pytest.param(code, id=f"{page.name}:{n}")
    for page in PAGES
    for n, code in enumerate(FENCE.findall(page.read_text(encoding="utf-8")), 1)
]


def test_there_are_examples() -> None:
    """The docs do carry runnable examples (the collection below is not empty)."""
    assert len(EXAMPLES) >= 8


@pytest.mark.parametrize("code", EXAMPLES)
def test_example_runs(code: str, capsys: pytest.CaptureFixture[str]) -> None:
    """The example executes without error."""
    exec(compile(code, "<docs>", "exec"), {"__name__": "__docs__"})


def test_the_api_page_opens_with_the_index_example() -> None:
    """docs/api.md's first example is docs/index.md's first example, word for word."""
    first = [
        FENCE.findall((ROOT / "docs" / page).read_text(encoding="utf-8"))[0]
        for page in ("index.md", "api.md")
    ]
    assert first[0] == first[1]


def test_the_api_page_names_every_top_level_export() -> None:
    """Every name in autodocs_core.__all__ is documented in docs/api.md."""
    import autodocs_core

    page = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    assert [n for n in autodocs_core.__all__ if f"`{n}" not in page] == []
