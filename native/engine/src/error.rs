//! Errors as plain data. The binding crate maps each variant to a Python exception class.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error("invalid edit: {0}")]
    InvalidEdit(String),
    #[error("unknown file: {0}")]
    UnknownFile(String),
    #[error("{file}:{line}: {message}")]
    Config { file: String, line: usize, message: String },
    #[error("{0}")]
    Criterion(String),
    /// An exclude pattern that is not a valid gitignore-style glob.
    #[error("exclude pattern {0}")]
    Exclude(String),
    /// The search index failed (not the query: a query never fails).
    #[error("search index: {0}")]
    Search(String),
    /// An export that cannot be made, a file a merge cannot read, exports that do not go together.
    #[error("{0}")]
    Merge(String),
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;
