//! Byte offsets ↔ (line, column) positions, where columns count code units of an encoding.
//!
//! Invariants:
//! - `\r\n`, `\r` and `\n` each end a line (LSP semantics); `\r\n` is one terminator.
//! - Every conversion clamps instead of failing: a line past the end maps to the end of the
//!   text, a column past the end of its line maps to the line end (before the terminator), and
//!   a column or offset inside a character maps to that character's start.
//! - Offsets returned are always on a UTF-8 character boundary of the text.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Encoding {
    Utf8,
    Utf16,
    Utf32,
}

impl Encoding {
    pub fn parse(name: &str) -> Option<Encoding> {
        match name.to_ascii_lowercase().as_str() {
            "utf-8" | "utf8" => Some(Encoding::Utf8),
            "utf-16" | "utf16" => Some(Encoding::Utf16),
            "utf-32" | "utf32" => Some(Encoding::Utf32),
            _ => None,
        }
    }

    fn units(self, c: char) -> usize {
        match self {
            Encoding::Utf8 => c.len_utf8(),
            Encoding::Utf16 => c.len_utf16(),
            Encoding::Utf32 => 1,
        }
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Encoding::Utf8 => "utf-8",
            Encoding::Utf16 => "utf-16",
            Encoding::Utf32 => "utf-32",
        })
    }
}

/// Start offsets of every line of one text. Cheap to rebuild (one pass over the bytes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineIndex {
    /// `line_starts[i]` is the byte offset where line `i` starts; `line_starts[0] == 0`.
    line_starts: Vec<usize>,
    /// Total length of the text in bytes.
    len: usize,
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let bytes = text.as_bytes();
        let mut line_starts = Vec::with_capacity(bytes.len() / 32 + 1);
        line_starts.push(0);
        let mut i = 0;
        while let Some(offset) = memchr::memchr2(b'\n', b'\r', &bytes[i..]) {
            i += offset;
            if bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
                i += 1;
            }
            i += 1;
            line_starts.push(i);
        }
        LineIndex { line_starts, len: bytes.len() }
    }

    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn line_start(&self, line: usize) -> usize {
        self.line_starts.get(line).copied().unwrap_or(self.len)
    }

    /// Byte offset of the end of `line`'s content, before its terminator.
    pub fn line_end(&self, text: &str, line: usize) -> usize {
        let Some(&next) = self.line_starts.get(line + 1) else {
            return self.len;
        };
        let bytes = text.as_bytes();
        let mut end = next;
        if end > 0 && bytes[end - 1] == b'\n' {
            end -= 1;
        }
        if end > 0 && bytes[end - 1] == b'\r' && end > self.line_starts[line] {
            end -= 1;
        }
        end
    }

    /// The 0-based line holding byte `offset` (offsets past the end belong to the last line).
    pub fn line_of(&self, offset: usize) -> usize {
        match self.line_starts.binary_search(&offset) {
            Ok(line) => line,
            Err(next) => next - 1,
        }
    }

    /// `tree_sitter_point(text, offset)` of the text this index was built from, without scanning
    /// it: tree-sitter's rows are LSP lines (see there), and a column is the bytes since the
    /// line's start.
    pub fn tree_sitter_point(&self, offset: usize) -> tree_sitter::Point {
        let offset = offset.min(self.len);
        let row = self.line_of(offset);
        tree_sitter::Point { row, column: offset - self.line_starts[row] }
    }

    /// (line, column in `encoding` units) → byte offset, clamped (see module invariants).
    pub fn offset(&self, text: &str, line: usize, column: usize, encoding: Encoding) -> usize {
        if line >= self.line_starts.len() {
            return self.len;
        }
        let start = self.line_starts[line];
        let end = self.line_end(text, line);
        let mut units = 0;
        for (i, c) in text[start..end].char_indices() {
            let next = units + encoding.units(c);
            if next > column {
                return start + i;
            }
            units = next;
        }
        end
    }

    /// Byte offset → (line, column in `encoding` units). An offset inside a character or a
    /// line terminator is moved back to the start of that character / the line end.
    pub fn position(&self, text: &str, offset: usize, encoding: Encoding) -> (usize, usize) {
        let mut offset = offset.min(self.len);
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.line_of(offset);
        let start = self.line_starts[line];
        let offset = offset.min(self.line_end(text, line));
        let column = match encoding {
            Encoding::Utf8 => offset - start,
            Encoding::Utf16 => text[start..offset].chars().map(char::len_utf16).sum(),
            Encoding::Utf32 => text[start..offset].chars().count(),
        };
        (line, column)
    }
}

/// Whether the byte at `index` is a lone `\r` (not the first half of `\r\n`): a line break
/// for Python and LSP that tree-sitter-python's lexer does not know, so the parser is shown a
/// `\n` in its place (`parse::parse_python`).
pub fn is_lone_cr(text: &[u8], index: usize) -> bool {
    text[index] == b'\r' && text.get(index + 1) != Some(&b'\n')
}

/// Row and byte column as tree-sitter counts them over the text it is shown: `\n` and a lone
/// `\r` (shown as `\n`) start a new row, so rows are LSP lines.
pub fn tree_sitter_point(text: &[u8], offset: usize) -> tree_sitter::Point {
    let end = offset.min(text.len());
    let mut row = 0;
    let mut line_start = 0;
    for index in memchr::memchr2_iter(b'\n', b'\r', &text[..end]) {
        if text[index] == b'\n' || is_lone_cr(text, index) {
            row += 1;
            line_start = index + 1;
        }
    }
    tree_sitter::Point { row, column: end - line_start }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_end_with_lf_crlf_and_cr() {
        let text = "a\r\nbc\rd\n\ne";
        let index = LineIndex::new(text);
        assert_eq!(index.line_count(), 5);
        assert_eq!(index.line_start(1), 3);
        assert_eq!(index.line_start(2), 6);
        assert_eq!(index.line_end(text, 0), 1);
        assert_eq!(index.line_end(text, 1), 5);
        assert_eq!(index.line_end(text, 3), 8);
        assert_eq!(index.line_end(text, 4), 10);
    }

    #[test]
    fn terminators_at_the_ends_of_the_text() {
        for (text, starts) in [
            ("", vec![0]),
            ("\r", vec![0, 1]),
            ("a\r", vec![0, 2]),
            ("\r\n", vec![0, 2]),
            ("\n\r", vec![0, 1, 2]),
            ("\r\r\n\n", vec![0, 1, 3, 4]),
        ] {
            let index = LineIndex::new(text);
            let actual: Vec<usize> = (0..index.line_count()).map(|line| index.line_start(line)).collect();
            assert_eq!(actual, starts, "{text:?}");
        }
    }

    #[test]
    fn utf16_columns_count_surrogate_pairs() {
        // "😀" is 4 UTF-8 bytes and 2 UTF-16 units; "é" (e + combining acute) is 2 chars.
        let text = "x = \"😀e\u{301}中\" # ok\r\nnext";
        let index = LineIndex::new(text);
        let han = text.find('中').unwrap();
        assert_eq!(index.position(text, han, Encoding::Utf16), (0, 9));
        assert_eq!(index.position(text, han, Encoding::Utf32), (0, 8));
        assert_eq!(index.position(text, han, Encoding::Utf8), (0, han));
        assert_eq!(index.offset(text, 0, 9, Encoding::Utf16), han);
        // Inside the surrogate pair: clamps to the emoji's start.
        let emoji = text.find('😀').unwrap();
        assert_eq!(index.offset(text, 0, 6, Encoding::Utf16), emoji);
        // Past the end of the line: the line end, before "\r\n".
        assert_eq!(index.offset(text, 0, 999, Encoding::Utf16), text.find('\r').unwrap());
        // Past the last line: the end of the text.
        assert_eq!(index.offset(text, 7, 0, Encoding::Utf16), text.len());
        assert_eq!(index.position(text, text.len() + 5, Encoding::Utf16), (1, 4));
    }

    #[test]
    fn offsets_inside_terminators_map_to_line_end() {
        let text = "ab\r\ncd";
        let index = LineIndex::new(text);
        assert_eq!(index.position(text, 3, Encoding::Utf16), (0, 2));
        assert_eq!(index.position(text, 4, Encoding::Utf16), (1, 0));
    }

    #[test]
    fn tree_sitter_rows_are_lsp_lines() {
        // The parser is shown a lone `\r` as `\n`; the `\r` of `\r\n` stays on its line.
        let text = b"a\rb\nc\r\nd";
        assert_eq!(tree_sitter_point(text, 2), tree_sitter::Point { row: 1, column: 0 });
        assert_eq!(tree_sitter_point(text, 5), tree_sitter::Point { row: 2, column: 1 });
        assert_eq!(tree_sitter_point(text, 6), tree_sitter::Point { row: 2, column: 2 });
        assert_eq!(tree_sitter_point(text, 7), tree_sitter::Point { row: 3, column: 0 });
        assert_eq!(tree_sitter_point(text, 8), tree_sitter::Point { row: 3, column: 1 });
        assert!(is_lone_cr(text, 1) && !is_lone_cr(text, 5) && !is_lone_cr(b"\r\n", 0) && is_lone_cr(b"x\r", 1));
    }

    #[test]
    fn the_index_gives_the_points_a_scan_gives() {
        for text in ["", "a", "a\rb\nc\r\nd", "\r\r\n\n\r", "x\r\n", "é\n€\r😀\r\n", "\n\n"] {
            let index = LineIndex::new(text);
            for offset in 0..=text.len() + 2 {
                assert_eq!(index.tree_sitter_point(offset), tree_sitter_point(text.as_bytes(), offset), "{text:?} at {offset}");
            }
        }
    }
}
