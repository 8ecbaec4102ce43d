"""Documentation: the per-version model, safe rendering within a token budget, token counting."""

from ._model import PackageDocs as PackageDocs
from ._render import DEFAULT_MAX_TOKENS as DEFAULT_MAX_TOKENS
from ._render import MAX_TOKENS as MAX_TOKENS
from ._render import MIN_TOKENS as MIN_TOKENS
from ._render import Rendered as Rendered
from ._render import check_budget as check_budget
from ._render import render_api as render_api
from ._render import render_docs as render_docs
from ._sanitize import FENCE_TAG as FENCE_TAG
from ._sanitize import fence as fence
from ._sanitize import neutralize_delimiters as neutralize_delimiters
from ._sanitize import safe_url as safe_url
from ._sanitize import sanitize_text as sanitize_text
from ._sanitize import strip_noise as strip_noise
from ._sections import SECTION_KINDS as SECTION_KINDS
from ._sections import Section as Section
from ._sections import rank as rank
from ._sections import split_sections as split_sections
from ._tokens import count_tokens as count_tokens

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "FENCE_TAG",
    "MAX_TOKENS",
    "MIN_TOKENS",
    "SECTION_KINDS",
    "PackageDocs",
    "Rendered",
    "Section",
    "check_budget",
    "count_tokens",
    "fence",
    "neutralize_delimiters",
    "rank",
    "render_api",
    "render_docs",
    "safe_url",
    "sanitize_text",
    "split_sections",
    "strip_noise",
]
