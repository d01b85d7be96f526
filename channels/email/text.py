"""Text out of email: headers and bodies in any charset, HTML as text, quoted history apart.

Every function here takes what mailers really send (unknown charsets, raw 8-bit headers,
broken encoded-words) and degrades to replacement characters, never to an exception.
"""

from __future__ import annotations

import codecs
import re
from email.errors import HeaderParseError
from email.header import Header, decode_header
from html.parser import HTMLParser

_CHARSET_ALIASES = {
    "ks_c_5601-1987": "cp949",  # what Outlook calls Korean; Python knows it as cp949
    "x-sjis": "shift_jis",
    "unknown-8bit": "utf-8",
    "x-unknown": "utf-8",
    "iso-2022-jp": "iso2022_jp_ext",  # the extension decodes half-width kana mailers send
}
_SPACES = re.compile(r"\s+")


def codec_for(charset: str | None) -> str:
    """A Python codec name for a MIME charset; utf-8 when the charset is unknown."""
    name = (charset or "utf-8").strip().strip('"').lower()
    name = _CHARSET_ALIASES.get(name, name)
    try:
        return codecs.lookup(name).name
    except (LookupError, ValueError):
        return "utf-8"


def decode_bytes(data: bytes, charset: str | None) -> str:
    codec = codec_for(charset)
    try:
        return data.decode(codec, errors="replace")
    except (LookupError, ValueError):  # codecs that cannot replace (a few CJK ones)
        return data.decode("utf-8", errors="replace")


def unescape_surrogates(text: str) -> str:
    """Raw 8-bit header bytes (kept as surrogates by the parser) read as UTF-8."""
    if text.isascii():
        return text
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def header_text(value: object, max_chars: int = 1000) -> str:
    """A header's value as one line of text, encoded-words decoded."""
    if value is None:
        return ""
    raw = value if isinstance(value, Header) else str(value)
    if isinstance(raw, str) and "=?" not in raw:
        text = unescape_surrogates(raw)
    else:
        text = _decoded_words(raw)
    return _SPACES.sub(" ", text).strip()[:max_chars]


def _decoded_words(raw: str | Header) -> str:
    try:
        chunks = decode_header(raw)
    except (HeaderParseError, ValueError, LookupError):
        return unescape_surrogates(str(raw))
    parts = []
    for chunk, charset in chunks:
        if isinstance(chunk, str):
            parts.append(unescape_surrogates(chunk))
        else:
            parts.append(decode_bytes(chunk, charset))
    return "".join(parts)


_BLOCK_TAGS = frozenset(
    [
        "p",
        "div",
        "br",
        "li",
        "tr",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "table",
        "ul",
        "ol",
        "pre",
        "hr",
        "section",
        "article",
        "header",
        "footer",
    ]
)
_PARAGRAPH_TAGS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "pre"})
_SKIPPED_TAGS = frozenset({"script", "style", "head", "title"})


class _TextExtractor(HTMLParser):
    """HTML to plain text: blocks become lines, blockquotes become "> " quoted lines."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._current: list[str] = []
        self._quote_depth = 0
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            self._skipping += 1
        elif tag == "blockquote":
            self.newline()
            self._quote_depth += 1
        elif tag in _BLOCK_TAGS:
            self.newline()
            if tag == "li":
                self._current.append("- ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self._skipping = max(0, self._skipping - 1)
        elif tag == "blockquote":
            self.newline(paragraph=True)
            self._quote_depth = max(0, self._quote_depth - 1)
        elif tag in _BLOCK_TAGS:
            self.newline(paragraph=tag in _PARAGRAPH_TAGS)

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self._current.append(_SPACES.sub(" ", data))

    def newline(self, *, paragraph: bool = False) -> None:
        """End the current line; a paragraph also leaves one blank line after it."""
        line = "".join(self._current).strip()
        self._current = []
        if line:
            self.lines.append(("> " * self._quote_depth) + line)
        if paragraph and self.lines and self.lines[-1]:
            self.lines.append("")


def html_to_text(html: str) -> str:
    extractor = _TextExtractor()
    try:
        extractor.feed(html)
        extractor.close()
    except (AssertionError, ValueError):  # html.parser's own complaints about broken markup
        pass
    extractor.newline()
    return "\n".join(extractor.lines).strip()


_QUOTE_HEAD = re.compile(
    r"^\s*(?:on\b.{0,300}\bwrote:|-{2,}\s*original message\s*-{2,}|"
    r"le\b.{0,300}\ba écrit\s?:|am\b.{0,300}\bschrieb\b.{0,200}:|"
    r"_{20,}|-{2,}\s*forwarded message\s*-{2,})\s*$",
    re.IGNORECASE,
)
_MARKERS = ("wrote:", "original message", "a écrit", "schrieb", "_" * 20, "forwarded", "from:")
_OUTLOOK_HEAD = re.compile(r"^\s*\*?from:\*?\s", re.IGNORECASE)
_OUTLOOK_NEXT = re.compile(r"^\s*\*?(sent|date|to|subject):\*?\s", re.IGNORECASE)


def split_quoted(text: str) -> tuple[str, str]:
    """(new text, quoted history): the history starts at an attribution line ("On ...
    wrote:", an Outlook header block) or at a trailing block of "> " lines."""
    if not _maybe_quoted(text):
        return text.strip(), ""
    lines = text.splitlines()
    start = _quote_start(lines)
    if start is None:
        return text.strip(), ""
    new = "\n".join(lines[:start]).strip()
    quoted = "\n".join(lines[start:]).strip()
    if not new:  # all of it is quoted (a forward): the whole is the message
        return text.strip(), ""
    return new, quoted


def _maybe_quoted(text: str) -> bool:
    """One scan of the whole text: most messages quote nothing, and then no line is tested."""
    if text.startswith(">") or "\n>" in text:
        return True
    lowered = text.lower()
    return any(marker in lowered for marker in _MARKERS)


def _quote_start(lines: list[str]) -> int | None:
    trailing: int | None = None
    for index, line in enumerate(lines):
        if _QUOTE_HEAD.match(line) or _is_outlook_head(lines, index):
            return index
        if line.startswith(">"):
            trailing = index if trailing is None else trailing
        elif line.strip():
            trailing = None
    return trailing


def _is_outlook_head(lines: list[str], index: int) -> bool:
    if not _OUTLOOK_HEAD.match(lines[index]):
        return False
    following = lines[index + 1 : index + 4]
    return sum(1 for line in following if _OUTLOOK_NEXT.match(line)) >= 2
