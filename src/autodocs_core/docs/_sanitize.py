"""Untrusted text from the index: strip what can hide or fake instructions, neutralise markup.

A package description is data from the internet. Before it reaches an assistant it loses terminal
escape sequences, control characters, bidirectional overrides and zero-width characters; links
with ``javascript:``, ``vbscript:``, ``file:`` or ``data:`` targets lose their target; credentials
in URLs are redacted; and anything that looks like our own fence markers is defused.
"""

from __future__ import annotations

import re
import secrets
import urllib.parse

from ..errors import redact_url

__all__ = ["FENCE_TAG", "fence", "fence_parts", "safe_url", "sanitize_text"]

FENCE_TAG = "untrusted-upstream-text"

# CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST), other two-byte escapes, and 8-bit CSI.
_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC
    r"|\x1b[@-Z\\-_]"  # two-byte escapes
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
)
# C0/C1 controls except tab and newline.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Bidirectional embeddings/overrides/isolates and marks, zero-width and invisible characters.
_INVISIBLE = re.compile(
    "[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\u206a-\u206f\ufeff\u00ad\u180e]"
)
_UNSAFE_SCHEMES = ("javascript:", "vbscript:", "file:", "data:")
_FAKE_FENCE = re.compile(r"<\s*/?\s*" + FENCE_TAG, re.I)
_MD_LINK = re.compile(r"(!?\[[^\]\n]{0,500}\])\(\s*([^)\s]{0,4000})([^)\n]{0,500})\)")
_HTML_ATTR = re.compile(r"""(\b(?:href|src)\s*=\s*)(["']?)([^"'\s>]{0,4000})\2""", re.I)
_URL = re.compile(r"\b[a-z][a-z0-9+.-]{1,20}://[^\s<>\"')\]]+", re.I)


def safe_url(url: str) -> str | None:
    """Return *url* with credentials redacted, or ``None`` when its scheme is unsafe."""
    compact = re.sub(r"[\s\x00-\x1f]", "", url).lower()
    if compact.startswith(_UNSAFE_SCHEMES):
        return None
    try:
        urllib.parse.urlsplit(url)
    except ValueError:
        return None
    return redact_url(url)


def _link(match: re.Match[str]) -> str:
    label, target, rest = match.group(1), match.group(2), match.group(3)
    cleaned = safe_url(target)
    if cleaned is None:
        return f"{label}(unsafe link removed)" if not label.startswith("!") else "(image removed)"
    return f"{label}({cleaned}{rest})"


def _attr(match: re.Match[str]) -> str:
    cleaned = safe_url(match.group(3))
    quote = match.group(2)
    return f"{match.group(1)}{quote}{cleaned if cleaned is not None else '#removed'}{quote}"


def sanitize_text(text: str) -> str:
    """Return *text* without escapes, controls and invisible characters, with links made safe."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _ANSI.sub("", text)
    text = _CONTROL.sub("", text)
    text = _INVISIBLE.sub("", text)
    text = _MD_LINK.sub(_link, text)
    text = _HTML_ATTR.sub(_attr, text)
    text = _URL.sub(lambda m: redact_url(m.group()), text)
    return _FAKE_FENCE.sub(lambda m: m.group().replace("<", "&lt;"), text)


def _longest_run(text: str, char: str) -> int:
    runs = re.findall(re.escape(char) + "+", text)
    return max((len(r) for r in runs), default=0)


def fence_parts(text: str, *, source: str, nonce: str | None = None) -> tuple[str, str]:
    """Return the (opening, closing) delimiters that :func:`fence` puts around *text*."""
    nonce = nonce or secrets.token_hex(4)
    ticks = "`" * max(4, _longest_run(text, "`") + 1)
    return (
        f'<{FENCE_TAG} id="{nonce}" source="{source}">\n{ticks}\n',
        f'\n{ticks}\n</{FENCE_TAG} id="{nonce}">',
    )


def fence(text: str, *, source: str, nonce: str | None = None) -> str:
    """Wrap sanitised *text* as delimited data that it cannot close or imitate.

    The markers carry a random nonce the text cannot guess, and the inner code fence is longer
    than any run of backticks in the text (CommonMark: a shorter fence cannot close it).
    """
    opening, closing = fence_parts(text, source=source, nonce=nonce)
    return opening + text + closing
