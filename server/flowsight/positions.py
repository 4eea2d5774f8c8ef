"""The one place on the Python side that converts positions.

The native core speaks UTF-8 byte offsets; LSP speaks (line, character) in UTF-16 code units
unless UTF-8 was negotiated; SARIF defaults to UTF-16 code units; people read code points.
Lines are 0-based here; `\\r\\n`, `\\r` and `\\n` end lines (as in LSP and the core's line index).
Columns past the end of a line clamp to its end (LSP behaviour).
"""

from __future__ import annotations

import re
from typing import Literal

Encoding = Literal["utf-8", "utf-16", "utf-32"]

# The line breaks of LSP and of the core's line index. Python's `str.splitlines` also breaks
# at \v, \f, \x1c-\x1e, \x85, U+2028 and U+2029, which are not line breaks here.
LINE_BREAK = re.compile(r"\r\n|\r|\n")


def split_lines(text: str) -> list[str]:
    """The lines of `text` as LSP counts them, without their line breaks: only `\\r\\n`, `\\r`
    and `\\n` end a line, and a text ending in a line break has an empty last line."""
    return LINE_BREAK.split(text)


def code_units(text: str, encoding: Encoding) -> int:
    """The length of `text` in code units of `encoding`."""
    if encoding == "utf-32":
        return len(text)
    if encoding == "utf-16":
        return len(text) + sum(1 for character in text if ord(character) > 0xFFFF)
    return len(text.encode("utf-8", errors="surrogatepass"))


def byte_column_to(line: bytes, byte_column: int, encoding: Encoding) -> int:
    """A UTF-8 byte column within `line` (bytes of one line) as a column in `encoding`."""
    if encoding == "utf-8":
        return min(byte_column, len(line))
    prefix = line[: max(byte_column, 0)].decode("utf-8", errors="replace")
    return code_units(prefix, encoding)


def column_to_byte(line: str, column: int, encoding: Encoding) -> int:
    """A column in `encoding` within `line` (text of one line) as a UTF-8 byte column.

    A column inside a surrogate pair or a multi-byte character rounds down to its start."""
    if column <= 0:
        return 0
    if encoding == "utf-8":
        encoded = line.encode("utf-8", errors="surrogatepass")
        column = min(column, len(encoded))
        while column > 0 and column < len(encoded) and (encoded[column] & 0xC0) == 0x80:
            column -= 1
        return column
    units = 0
    byte_offset = 0
    for character in line:
        width = 2 if encoding == "utf-16" and ord(character) > 0xFFFF else 1
        if units + width > column:
            break
        units += width
        byte_offset += len(character.encode("utf-8", errors="surrogatepass"))
    return byte_offset


class TextLines:
    """The lines of one text as bytes (split at CRLF, CR and LF, as the core does), for
    converting the core's (line, byte column) positions into another encoding."""

    def __init__(self, text: str) -> None:
        self.lines = [line.encode("utf-8", errors="surrogatepass") for line in split_lines(text)]

    def column(self, line: int, byte_column: int, encoding: Encoding) -> int:
        raw = self.lines[line] if 0 <= line < len(self.lines) else b""
        return byte_column_to(raw, byte_column, encoding)

    def line_length(self, line: int, encoding: Encoding) -> int:
        raw = self.lines[line] if 0 <= line < len(self.lines) else b""
        return byte_column_to(raw, len(raw), encoding)

    def byte_column(self, line: int, column: int, encoding: Encoding) -> int:
        """A column in `encoding` of a line as a UTF-8 byte column (clamped to the line's end)."""
        raw = self.lines[line] if 0 <= line < len(self.lines) else b""
        return column_to_byte(raw.decode("utf-8", errors="surrogatepass"), column, encoding)


def whole_lines(first_line: int, last_line: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """The 1-based, inclusive lines `first_line`..`last_line` as a 0-based (line, character)
    start and end: from the start of the first line to the start of the line after the last,
    LSP's way to take in a line with its end. Character 0 is the same in every encoding."""
    return (max(first_line - 1, 0), 0), (max(last_line, first_line - 1, 0), 0)
