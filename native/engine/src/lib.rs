//! flowsight's analysis engine. Pure Rust: no pyo3 and no LSP in this crate.
//!
//! Stages, each a module named after what it does, lowest first (a stage never imports one
//! above it): `syntax` (module naming, limits, `syntax::tree`: the compact syntax tree every
//! stage walks) and `parse` (tree-sitter, incremental, converted to `syntax::tree`) →
//! `chunks` (ChunkBuilder) | `program` + `scopes` → `ir` (places, the call resolver) and `cfg` →
//! `pdg` → `taint` and `slice`.
//! `line_index` converts between byte offsets and (line, UTF-16/UTF-8 column) positions;
//! `source` reads files and names per-file problems; `walk` is the one file walker (ignore files,
//! excludes) and finds the repositories of the named paths; `index` runs the stages over many files
//! in parallel; `workspace` keeps them incrementally for an editor session; `lexical` is the
//! tantivy index over chunks that `workspace` keeps for code search; `persist` writes and
//! reads the on-disk cache that `scan` and `workspace` start from.
//!
//! Invariant: no function here panics or returns an error because of the *content* of user
//! code. Broken syntax degrades the result; errors are only for I/O and configuration.

pub mod cfg;
pub mod chunks;
pub mod error;
pub mod frameworks;
pub mod framing;
pub mod index;
pub mod ir;
pub mod lexical;
pub mod line_index;
pub mod merge;
pub mod parse;
pub mod pdg;
pub mod persist;
pub mod program;
pub mod rules;
pub mod safe_open;
pub mod scan;
pub mod scopes;
pub mod slice;
pub mod source;
pub mod syntax;
pub mod taint;
pub mod templates;
pub mod walk;
pub mod workspace;
