//! Reading source files from disk, and the per-file problems the engine reports.
//!
//! Invariant: a bad file never stops anything else. Reading returns the text it could decode
//! (possibly none) plus `FileError`s; nothing here panics or returns `Err` for file content.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::syntax::tree::SyntaxTree;

use crate::chunks::ChunkReport;
use crate::line_index::LineIndex;
use crate::parse::{first_syntax_error, syntax_error_count};
use crate::safe_open::{read_regular_file, ReadError};
use crate::syntax::MAX_STATEMENT_DEPTH;

/// Files larger than this are not parsed (generated data, minified bundles, …).
pub const MAX_FILE_BYTES: u64 = 10 * 1024 * 1024;

/// A NUL byte within this many leading bytes marks a file as binary (git's heuristic).
pub const BINARY_SNIFF_BYTES: usize = 8000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum FileErrorKind {
    /// Cannot be read: missing, permission denied, broken symbolic link, a directory, …
    Io,
    /// Not valid UTF-8: decoded with U+FFFD replacement characters and indexed.
    NotUtf8,
    /// NUL bytes: binary files are skipped; a stray NUL in a text file is parsed as a space.
    Binary,
    /// Syntax errors: the parsable parts are still indexed.
    Syntax,
    /// Larger than `MAX_FILE_BYTES`: skipped.
    TooLarge,
    /// Nested deeper than `MAX_STATEMENT_DEPTH`: indexed, later stages skip the deep parts.
    TooDeep,
    /// An internal failure (a bug in flowsight) confined to this file.
    Internal,
}

impl FileErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FileErrorKind::Io => "io",
            FileErrorKind::NotUtf8 => "not_utf8",
            FileErrorKind::Binary => "binary",
            FileErrorKind::Syntax => "syntax",
            FileErrorKind::TooLarge => "too_large",
            FileErrorKind::TooDeep => "too_deep",
            FileErrorKind::Internal => "internal",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileError {
    pub path: String,
    pub kind: FileErrorKind,
    pub message: String,
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} ({})", self.path, self.message, self.kind.as_str())
    }
}

impl FileError {
    pub fn new(path: &str, kind: FileErrorKind, message: impl Into<String>) -> FileError {
        FileError { path: path.to_string(), kind, message: message.into() }
    }
}

/// Reads and decodes a source file. `display_path` names it in errors.
pub fn load_source(path: &Path, display_path: &str) -> (Option<String>, Vec<FileError>) {
    load_source_within(path, display_path, &[])
}

/// Reads and decodes a source file that must resolve inside one of `boundaries` (anywhere when
/// there are none), without following a link or blocking once the path is resolved
/// (`safe_open`). `display_path` names it in errors.
pub fn load_source_within(path: &Path, display_path: &str, boundaries: &[PathBuf]) -> (Option<String>, Vec<FileError>) {
    let io_error = |message: String| (None, vec![FileError::new(display_path, FileErrorKind::Io, message)]);
    let bytes = match read_regular_file(path, boundaries, MAX_FILE_BYTES) {
        Ok(bytes) => bytes,
        Err(ReadError::Resolve { error, broken_link: true }) => return io_error(format!("broken symbolic link ({error})")),
        Err(ReadError::Resolve { error, .. }) => return io_error(format!("cannot read: {error}")),
        Err(ReadError::Outside(resolved)) => {
            return io_error(format!("resolves outside the project ({}); not read", resolved.display()));
        }
        Err(ReadError::Changed(error)) => {
            return io_error(format!("replaced (by a symbolic link?) while being opened ({error}); not read"));
        }
        Err(ReadError::Directory) => return io_error("is a directory, not a file".to_string()),
        // FIFOs, sockets and devices could block or never end: never read.
        Err(ReadError::NotRegular) => return io_error("not a regular file (a pipe, socket or device); not read".to_string()),
        Err(ReadError::TooLarge { grew: true, .. }) => {
            let message = format!("file grew over the {} MiB limit while being read; not indexed", MAX_FILE_BYTES / (1024 * 1024));
            return (None, vec![FileError::new(display_path, FileErrorKind::TooLarge, message)]);
        }
        Err(ReadError::TooLarge { size, .. }) => {
            let message = format!(
                "file is {:.1} MiB, over the {} MiB limit; not indexed",
                size as f64 / (1024.0 * 1024.0),
                MAX_FILE_BYTES / (1024 * 1024)
            );
            return (None, vec![FileError::new(display_path, FileErrorKind::TooLarge, message)]);
        }
        Err(ReadError::Io(error)) => return io_error(format!("cannot read: {error}")),
    };
    decode_source(bytes, display_path)
}

/// Decodes file bytes: UTF-8 (lossy, reported), binary detection.
pub fn decode_source(bytes: Vec<u8>, display_path: &str) -> (Option<String>, Vec<FileError>) {
    let mut errors = Vec::new();
    // A NUL further in is reported by `parse_problems`, like one typed into an editor buffer.
    if let Some(nul) = bytes.iter().take(BINARY_SNIFF_BYTES).position(|&b| b == 0) {
        let message = format!("binary file (NUL byte at offset {nul}); not indexed");
        return (None, vec![FileError::new(display_path, FileErrorKind::Binary, message)]);
    }
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => {
            let offset = error.utf8_error().valid_up_to();
            let bytes = error.into_bytes();
            let line = bytes[..offset].iter().filter(|&&b| b == b'\n').count() + 1;
            let message = format!(
                "not valid UTF-8 (first invalid byte at offset {offset}, line {line}); decoded with replacement characters, so byte offsets refer to the decoded text"
            );
            errors.push(FileError::new(display_path, FileErrorKind::NotUtf8, message));
            String::from_utf8_lossy(&bytes).into_owned()
        }
    };
    (Some(text), errors)
}

/// Problems found in parsed text: syntax errors and excessive nesting.
pub fn parse_problems(display_path: &str, text: &str, line_index: &LineIndex, tree: &SyntaxTree, report: &ChunkReport) -> Vec<FileError> {
    let mut errors = Vec::new();
    if let Some(nul) = text.find('\0') {
        let line = line_index.line_of(nul) + 1;
        let message = format!("NUL byte at offset {nul} (line {line}); NUL bytes are parsed as spaces");
        errors.push(FileError::new(display_path, FileErrorKind::Binary, message));
    }
    if let Some((offset, description)) = first_syntax_error(tree) {
        let line = line_index.line_of(offset) + 1;
        let column = offset - line_index.line_start(line - 1) + 1;
        let count = syntax_error_count(tree).max(1);
        let message = format!(
            "line {line}, column {column}: {description} ({count} syntax error{} in the file; the rest is indexed)",
            if count == 1 { "" } else { "s" }
        );
        errors.push(FileError::new(display_path, FileErrorKind::Syntax, message));
    }
    if report.max_statement_depth > MAX_STATEMENT_DEPTH {
        let message =
            format!("blocks nested {} levels deep (limit {MAX_STATEMENT_DEPTH}); deeper code is not analysed", report.max_statement_depth);
        errors.push(FileError::new(display_path, FileErrorKind::TooDeep, message));
    }
    errors
}
