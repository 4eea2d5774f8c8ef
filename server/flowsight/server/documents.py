"""The documents open in the client: their text kept as LSP lines, so that a change costs what
it touches. (pygls re-splits and re-joins the whole text on every change, with `str.splitlines`,
which also breaks at U+2028, \\x85, \\f, …: ≈13 ms a change on a 1.2 MB document, on the event
loop, and a different text from the client's once such characters are in it.)

Invariants:
- `Document.lines` is the text split as LSP splits it, each line with its line break (`\\n`,
  `\\r\\n` or a lone `\\r`); the last line has none and may be empty. A line ending in a lone
  `\\r` is never followed by one starting with `\\n` (that would be one `\\r\\n` break).
- A change is applied as the core applies it (`native/engine/src/line_index.rs`), so this text
  and the core's are the same after the same changes: a line past the end means the end of the
  text, a column past a line's end means the line's end (before its break), a column inside a
  character (a UTF-16 surrogate pair, a UTF-8 sequence) means that character's start, and a
  reversed range is the range between its ends.
- A change costs the lines it touches plus one list splice; the size in UTF-8 bytes is kept
  up to date by the same amount of work. The whole text is joined only when asked for.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from pygls.uris import to_fs_path

from flowsight.positions import Encoding

# A line with its break (greedy: `\r\n` is one break); the last match is always empty.
LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)?")


def uri_to_path(uri: str) -> str:
    """The absolute, normalised path of a `file:` URI (ValueError for any other URI)."""
    path = to_fs_path(uri)
    if path is None:
        raise ValueError(f"not a file URI: {uri}")
    return os.path.abspath(path)


def split_keeping_breaks(text: str) -> list[str]:
    """`text` as lines with their breaks; the last line has none (and is empty after a break)."""
    lines = LINE.findall(text)
    lines.pop()  # the empty match at the end of the text
    if not lines or lines[-1].endswith(("\n", "\r")):
        lines.append("")
    return lines


def utf8_length(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", errors="surrogatepass"))


def content_length(line: str) -> int:
    """The length of `line` without its line break."""
    if line.endswith("\r\n"):
        return len(line) - 2
    if line.endswith(("\n", "\r")):
        return len(line) - 1
    return len(line)


def column_index(content: str, column: int, encoding: Encoding) -> int:
    """The index in `content` (one line without its break) of a column in `encoding` units,
    clamped to the line's end; a column inside a character is that character's start."""
    if column <= 0:
        return 0
    if content.isascii():
        return min(column, len(content))
    units = 0
    for index, character in enumerate(content):
        code = ord(character)
        if encoding == "utf-16":
            width = 2 if code > 0xFFFF else 1
        elif encoding == "utf-8":
            width = 1 if code < 0x80 else 2 if code < 0x800 else 3 if code < 0x10000 else 4
        else:
            width = 1
        if units + width > column:
            return index
        units += width
    return len(content)


@dataclass
class Document:
    version: int | None
    lines: list[str]
    utf8_size: int

    @classmethod
    def from_text(cls, text: str, version: int | None) -> Document:
        return cls(version, split_keeping_breaks(text), utf8_length(text))

    def text(self) -> str:
        return "".join(self.lines)

    def _place(self, line: int, column: int, encoding: Encoding) -> tuple[int, int]:
        """(line, index in the line) of an LSP position, clamped as the core clamps it."""
        if line >= len(self.lines):
            return len(self.lines) - 1, len(self.lines[-1])
        line = max(line, 0)
        text = self.lines[line]
        return line, column_index(text[: content_length(text)], column, encoding)

    def replace(self, text: str) -> None:
        self.lines = split_keeping_breaks(text)
        self.utf8_size = utf8_length(text)

    def edit(self, start: tuple[int, int], end: tuple[int, int], new_text: str, encoding: Encoding) -> None:
        """Replaces the range `start`..`end` ((line, column) in `encoding` units) by `new_text`."""
        first = self._place(*start, encoding)
        last = self._place(*end, encoding)
        if last < first:
            first, last = last, first
        lines = self.lines
        low, high = first[0], last[0] + 1
        block = lines[low][: first[1]] + new_text + lines[last[0]][last[1] :]
        # The block ends with the last line's own break (columns stop before it), or at the end
        # of the text: only at its start can a lone \r and a \n meet, and become one \r\n break.
        if block.startswith("\n") and low > 0 and lines[low - 1].endswith("\r") and not lines[low - 1].endswith("\r\n"):
            low -= 1
            block = lines[low] + block
        old = lines[low:high]
        replacement = split_keeping_breaks(block)
        if high < len(lines):
            # The block ends with a line break: its split's empty last line is not a line.
            replacement.pop()
        lines[low:high] = replacement
        self.utf8_size += utf8_length(block) - sum(utf8_length(line) for line in old)


@dataclass
class Documents:
    """The open documents, by path (`file:` URIs, however the client spells them) or by URI."""

    open: dict[str, Document] = field(default_factory=dict)

    @staticmethod
    def key(uri: str) -> str:
        try:
            return uri_to_path(uri) if uri.startswith("file:") else unquote(uri)
        except ValueError:
            return unquote(uri)

    def get(self, uri: str) -> Document | None:
        return self.open.get(self.key(uri))

    def at(self, path: Path) -> Document | None:
        return self.open.get(str(path))

    def opened(self, uri: str, text: str, version: int | None) -> Document:
        document = self.open[self.key(uri)] = Document.from_text(text, version)
        return document

    def closed(self, uri: str) -> None:
        self.open.pop(self.key(uri), None)
