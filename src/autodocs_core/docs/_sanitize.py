"""Untrusted text from the index: strip what can hide or fake instructions, neutralise markup.

A package description is data from the internet. Before it reaches an assistant it loses terminal
escape sequences, control characters, bidirectional overrides and zero-width characters; links
with ``javascript:``, ``vbscript:``, ``file:`` or ``data:`` targets lose their target; credentials
in URLs are redacted; anything that looks like our own fence markers is defused; and sequences
that imitate chat-template, role or tool delimiters (``<system>``, ``<|im_start|>``, ``[INST]``,
``</tool_result>``, ``Human:`` at a line start ...) are broken with a visible escape, so that a
client that pastes tool output into a prompt never passes them on verbatim.

Delimiters are recognised on a case-folded, NFKC-normalised view of the text (fullwidth
``＜ｓｙｓｔｅｍ＞`` is caught), with any spacing inside; the text itself is not normalised.
Role names that are also common type names (``user``, ``assistant``, ``human``, ``model``) are
not recognised as tags when capitalised like a class name, so that ``Optional<User>`` stays.

:func:`strip_noise` removes what costs tokens and helps nobody: badge and logo markup, HTML
comments and sponsor sections.
"""

from __future__ import annotations

import functools
import re
import secrets
import unicodedata
import urllib.parse

from ..errors import redact_url

__all__ = ["FENCE_TAG", "fence", "fence_parts", "safe_url", "sanitize_text", "strip_noise"]

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
# Linear: the label cannot hold a bracket, the target is taken possessively and stops at a
# bracket or a space, the title starts with a space. (The earlier pattern let target and title
# trade characters: 20 KB of "[![a](b" took minutes.)
_MD_LINK = re.compile(
    r"(!?\[[^\[\]\n]{0,500}\])\(\s*([^)\s\[\]]{0,4000}+)((?:\s[^()\n]{0,500})?)\)"
)
# A link target that the pattern above leaves alone (a bracket inside it) can still not carry
# an unsafe scheme.
_UNSAFE_TARGET = re.compile(r"\]\(\s*([^)\n:]{0,40}):")
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


def _unsafe_target(match: re.Match[str]) -> str:
    scheme = re.sub(r"[\s\x00-\x1f]", "", match.group(1)).lower() + ":"
    return "](#unsafe-link-removed " if scheme in _UNSAFE_SCHEMES else match.group()


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
    text = _UNSAFE_TARGET.sub(_unsafe_target, text)
    text = _HTML_ATTR.sub(_attr, text)
    text = _URL.sub(lambda m: redact_url(m.group()), text)
    text = _FAKE_FENCE.sub(lambda m: m.group().replace("<", "&lt;"), text)
    return neutralize_delimiters(text)


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


# --- chat-template, role and tool delimiters ------------------------------------------------

_ROLE_TAGS = "user|assistant|human|model"
"""Also type names (``Optional<User>``): not tags when capitalised like a class name."""
_TAGS = (
    "system|system_prompt|tool|tools|tool_use|tool_result|tool_results|tool_call|tool_calls"
    "|tool_response|function|functions|function_call|function_calls|function_results"
    "|function_response|invoke|parameter|result|instructions|im_start|im_end|im_sep|endoftext"
    "|start_of_turn|end_of_turn|start_header_id|end_header_id|eot_id|begin_of_text"
    "|end_of_text|thinking|search_results|documents?|untrusted-upstream-text|antml:[a-z_]+"
)
# Matched on the case-folded NFKC view: "<" / "[" ... with any spacing inside.
_DELIMITER = re.compile(
    r"<\s*\|[^|<>\n]{1,60}\|\s*>"  # <|im_start|>, <|endoftext|>, <|start_header_id|>
    r"|<\s*/?\s*(?:" + _TAGS + r")(?:\s[^<>\n]{0,200})?\s*/?\s*>"  # <system>, </tool_result>
    r"|<\s*/?\s*(?:" + _ROLE_TAGS + r")\s*/?\s*>"  # <user> (case checked on the original)
    r"|\[\s*/?\s*(?:inst|sys|system_prompt|available_tools|tool_calls|tool_results)\s*\]"
    r"|<\s*<\s*/?\s*sys\s*>\s*>"  # <<SYS>>, <</SYS>>
)
# Human: / Assistant: at a line start (its own pattern: a leading "^" would make the engine
# try every position; the bracket forms above all start with a literal character).
_ROLE_LINE = re.compile(r"(?:^|(?<=\n))[ \t>]*(?:human|assistant)[ \t]*:")
_ROLE_TAG = re.compile(r"<\s*/?\s*(" + _ROLE_TAGS + r")\s*/?\s*>", re.I)
_HINT = re.compile(r"[<\[:\uff1c\ufe64\uff3b\uff1a\ufe55\ufe13]")
"""Every delimiter holds one of these (or its NFKC look-alike): text without them is skipped."""
_ESCAPES = {"<": "\u2039", ">": "\u203a", "[": "\u27e6", "]": "\u27e7"}


_FOLD_BLOCKS = (
    *(0x00, 0x01, 0x02, 0x03, 0x1D, 0x1F, 0x20, 0x21, 0x24, 0x2C, 0x30, 0xA7, 0xFB, 0xFE, 0xFF),
    *(0x107, 0x1D4, 0x1D5, 0x1D6, 0x1D7, 0x1F1, 0x1FB),
)


@functools.cache
def _fold_table() -> dict[int, str]:
    """Map look-alikes to lowercase ASCII: each character whose NFKC form is one ASCII one.

    Fullwidth, small and vertical forms, mathematical and enclosed letters ..., and A-Z. One
    character for one, so positions in the folded view are positions in the text. The blocks
    scanned are the only ones holding such characters (checked over all of Unicode 15).
    """
    table = {c: chr(c).lower() for c in range(ord("A"), ord("Z") + 1)}
    for code in (c for block in _FOLD_BLOCKS for c in range(block << 8, (block + 1) << 8)):
        folded = unicodedata.normalize("NFKC", chr(code))
        if len(folded) == 1 and folded.isascii():
            table[code] = folded.lower()
    return table


def _folded(text: str) -> str:
    """A view of *text*, position for position, with look-alikes folded to lowercase ASCII."""
    return text.lower() if text.isascii() else text.translate(_fold_table())


def _escape_span(span: str) -> str:
    """Break a delimiter visibly: its brackets become look-alikes, else its colon is escaped."""
    folded = [unicodedata.normalize("NFKC", c) for c in span]
    if any(c in "<>[]" for c in folded):
        return "".join(
            _ESCAPES.get(f, c) if f in "<>[]" else c for c, f in zip(span, folded, strict=True)
        )
    cut = max(i for i, f in enumerate(folded) if f == ":")
    return span[:cut] + "\\:" + span[cut + 1 :]


def neutralize_delimiters(text: str) -> str:
    """Return *text* with chat-template, role and tool delimiters broken by a visible escape.

    ``<system>`` becomes ``‹system›``, ``[INST]`` becomes ``⟦INST⟧``, and
    ``Human:`` at a line start becomes ``Human`` + backslash + colon. Recognised in any case and
    spacing and in Unicode look-alikes (fullwidth brackets and letters); ordinary text, including
    code with generics such as ``List<T>`` or ``Optional<User>``, is returned unchanged.

    Args:
        text: Untrusted text.

    Returns:
        The text, with every recognised delimiter escaped.

    .. versionadded:: 0.2.0
    """
    if not _HINT.search(text):
        return text
    spans: list[tuple[int, int]] = []
    view = _folded(text)
    matches = [*_DELIMITER.finditer(view)]
    if ":" in view:
        matches += _ROLE_LINE.finditer(view)
        matches.sort(key=lambda m: m.start())
    for match in matches:
        start, end = match.span()
        original = text[start:end]
        role = _ROLE_TAG.fullmatch(unicodedata.normalize("NFKC", original))
        if role and role.group(1)[0].isupper() and role.group(1)[1:].islower():
            continue  # Optional<User>: a type, not a role tag
        spans.append((start, end))
    if not spans:
        return text
    parts: list[str] = []
    last = 0
    for start, end in spans:
        if start < last:
            continue
        parts += [text[last:start], _escape_span(text[start:end])]
        last = end
    parts.append(text[last:])
    return "".join(parts)


# --- noise: badges, logos, comments, sponsors ---------------------------------------------------

MAX_NOISE_INPUT = 4 * 1024 * 1024
"""Longer texts are returned as they are: stripping is linear, but this bounds its cost."""

_FENCE_LINE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_HTML_COMMENT_OPEN = "<!--"
# Attribute scans stop at the next "<" or ">", and link targets at the next bracket or space:
# every attempt is then bounded by the distance to the next such character (linear in all).
_IMG = re.compile(r"<(?:img|source)\b[^<>]{0,4000}>", re.I)
_EMPTY_LINK = re.compile(r"<a\b[^<>]{0,4000}>(?:\s|<br\s*/?>)*</a\s*>", re.I)
_EMPTY_BLOCK = re.compile(
    r"<(p|div|span|h[1-6]|center)\b[^<>]{0,2000}>(?:\s|<br\s*/?>|&nbsp;)*</\1\s*>", re.I
)
_MD_TARGET = r"(?:\(\s*[^()\[\]\s]{0,4000}(?:\s+\"[^\"\n()]{0,200}\")?\s*\)|\[[^\[\]\n]{0,200}\])"
_MD_IMAGE = r"!\[[^\[\]\n]{0,500}\]" + _MD_TARGET
_MD_LINKED_IMAGE = re.compile(r"\[\s*" + _MD_IMAGE + r"\s*\]" + _MD_TARGET)
_MD_IMAGE_RE = re.compile(_MD_IMAGE)
_BADGE_HINT = re.compile(
    r"shields\.io|badge|travis-ci|codecov|coveralls|circleci|readthedocs\.org/projects"
    r"|/actions/workflows|pepy\.tech|pypip\.in|img\.shields|badgen|snyk\.io|codspeed",
    re.I,
)
_RST_IMAGE = re.compile(r"^\.\.\s+(?:\|([^|\n]{1,100})\|\s+)?(?:image|figure)::", re.I)
_SPONSOR_TITLE = re.compile(
    r"\b(?:sponsors?|sponsorship|backers|supporters|funding|donat(?:e|ions))\b",
    re.I,
)
_MD_HEADING_LINE = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_HTML_HEADING_LINE = re.compile(r"^\s*<h([1-6])\b[^>]*>(.*?)(?:</h\1>)?\s*$", re.I)
_RST_UNDERLINE = re.compile(r"^([=\-~^*+#\"'`:._])\1{2,}\s*$")
_BLANK_RUN = re.compile(r"\n{3,}")


def _drop_comments(text: str) -> str:
    out: list[str] = []
    pos = 0
    while (start := text.find(_HTML_COMMENT_OPEN, pos)) >= 0:
        end = text.find("-->", start + 4)
        if end < 0:
            break  # an unclosed comment is left as text
        out.append(text[pos:start])
        pos = end + 3
    out.append(text[pos:])
    return "".join(out)


def _drop_pictures(text: str) -> str:
    out: list[str] = []
    pos = 0
    lowered = text.lower()
    while (start := lowered.find("<picture", pos)) >= 0:
        end = lowered.find("</picture", start)
        close = lowered.find(">", end) if end >= 0 else -1
        if close < 0:
            break
        out.append(text[pos:start])
        pos = close + 1
    out.append(text[pos:])
    return "".join(out)


def _drop_markup(text: str) -> str:
    """Badges and logos in HTML and Markdown (outside code)."""
    text = _drop_comments(text)
    text = _drop_pictures(text)
    text = _IMG.sub("", text)
    text = _MD_LINKED_IMAGE.sub(lambda m: "" if _BADGE_HINT.search(m.group()) else m.group(), text)
    for _ in range(3):  # nested wrappers: <p><a><img></a></p>
        text = _EMPTY_LINK.sub("", text)
        text = _EMPTY_BLOCK.sub("", text)
    lines = []
    for line in text.split("\n"):
        if "![" in line and line.strip():
            rest = _MD_LINKED_IMAGE.sub("", line)
            rest = _MD_IMAGE_RE.sub("", rest)
            if not rest.strip(" \t|&;nbsp"):
                continue  # a line made only of images
            line = _MD_IMAGE_RE.sub(
                lambda m: "" if _BADGE_HINT.search(m.group()) else m.group(), line
            )
        lines.append(line)
    return "\n".join(lines)


def _drop_rst_images(lines: list[str]) -> list[str]:
    """``.. image::`` / ``.. |name| image::`` directives and the ``|name|`` uses of them."""
    names: set[str] = set()
    kept: list[str] = []
    skipping = False
    for line in lines:
        if skipping and (not line.strip() or line[:1] in " \t"):
            if line.strip():
                continue
            skipping = False
        else:
            skipping = False
        if m := _RST_IMAGE.match(line):
            if m.group(1):
                names.add(m.group(1))
            skipping = True
            continue
        kept.append(line)
    if not names:
        return kept
    pattern = re.compile("|".join(re.escape(f"|{n}|") + "_{0,2}" for n in sorted(names)))
    out = []
    for line in kept:
        if "|" in line:
            new = pattern.sub("", line)
            if new != line and not new.strip():
                continue
            line = new
        out.append(line)
    return out


def _heading(lines: list[str], i: int) -> tuple[int, str] | None:
    """The (level, title) of a heading starting at line *i*, else ``None``."""
    line = lines[i]
    if m := _MD_HEADING_LINE.match(line):
        return len(m.group(1)), m.group(2)
    if m := _HTML_HEADING_LINE.match(line):
        return int(m.group(1)), re.sub(r"<[^>]{0,500}>", "", m.group(2))
    if (
        i + 1 < len(lines)
        and line.strip()
        and (u := _RST_UNDERLINE.match(lines[i + 1]))
        and len(lines[i + 1].strip()) >= len(line.strip())
        and not _RST_UNDERLINE.match(line)
    ):
        return 10 + "=-~^*+#\"'`:._".index(u.group(1)), line.strip()
    return None


def _drop_sponsors(lines: list[str], code: list[bool]) -> tuple[list[str], list[bool]]:
    out: list[str] = []
    out_code: list[bool] = []
    dropping: int | None = None
    for i, line in enumerate(lines):
        head = None if code[i] else _heading(lines, i)
        if head is not None:
            level, title = head
            if dropping is not None and level <= dropping:
                dropping = None
            if dropping is None and _SPONSOR_TITLE.search(title):
                dropping = level
        if dropping is None:
            out.append(line)
            out_code.append(code[i])
    return out, out_code


def strip_noise(text: str, content_type: str | None) -> str:
    """Remove what costs tokens and helps nobody from a package description.

    Removes HTML comments, badge and logo markup (``<img>``, ``<picture>``, links and
    paragraphs left empty by that, Markdown badge links and lines made only of images, RST
    ``.. image::`` directives and their ``|name|`` substitutions) and sponsor or backer sections
    (a heading such as "Sponsors" and everything under it). Fenced code blocks are kept
    intact. Linear in the text; texts over :data:`MAX_NOISE_INPUT` are returned as they are.

    Args:
        text: A package description.
        content_type: Its content type (``text/markdown``, ``text/x-rst`` ...), or ``None``.

    Returns:
        The description without the noise.

    .. versionadded:: 0.2.0
    """
    if len(text) > MAX_NOISE_INPUT or not text:
        return text
    lines = text.replace("\r\n", "\n").split("\n")
    if "markdown" not in (content_type or "").lower():
        # reStructuredText, or untyped (the index's default, often RST in fact).
        lines = _drop_rst_images(lines)
    # Mark fenced code (Markdown) so nothing inside is touched.
    code: list[bool] = []
    fence: str | None = None
    for line in lines:
        m = _FENCE_LINE.match(line)
        if fence is None and m:
            fence = m.group(1)
            code.append(True)
        elif fence is not None:
            code.append(True)
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence):
                fence = None
        else:
            code.append(False)
    lines, code = _drop_sponsors(lines, code)
    out: list[str] = []
    prose: list[str] = []
    for line, is_code in zip(lines, code, strict=True):
        if is_code:
            if prose:
                out.append(_BLANK_RUN.sub("\n\n", _drop_markup("\n".join(prose))))
                prose = []
            out.append(line)
        else:
            prose.append(line)
    if prose:
        out.append(_BLANK_RUN.sub("\n\n", _drop_markup("\n".join(prose))))
    return "\n".join(out).strip("\n") + ("\n" if text.endswith("\n") else "")
