//! Helpers shared by the engine's integration tests.
#![allow(dead_code, unused_macros)]

use std::path::PathBuf;

use flowsight_engine::chunks::{chunk_document, repository_chunk, Chunk};
use flowsight_engine::parse::Document;

/// `tests/` at the repository root: fixtures shared by Rust and Python tests.
pub fn shared_tests_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests")
}

/// Chunks of one document, as the workspace would build them for `path` in repository `repo`.
pub fn chunks_of(document: &Document, path: &str) -> Vec<Chunk> {
    let repository = "repo";
    chunk_document(repository, &repository_chunk(repository, repository).id, path, document).0
}

/// A readable rendering of a chunk tree: one line per chunk, indented by depth.
pub fn render_chunks(chunks: &[Chunk]) -> String {
    let mut depth_of: std::collections::HashMap<&str, usize> = Default::default();
    let mut out = String::new();
    for chunk in chunks {
        let depth = chunk.parent_id.as_deref().and_then(|p| depth_of.get(p)).map_or(0, |d| d + 1);
        depth_of.insert(&chunk.id, depth);
        out.push_str(&"  ".repeat(depth));
        out.push_str(&format!(
            "{} {} lines {}-{} bytes {}-{}",
            chunk.kind.as_str(),
            chunk.qualified_name,
            chunk.start_line,
            chunk.end_line,
            chunk.start_byte,
            chunk.end_byte
        ));
        if !chunk.signature.is_empty() {
            out.push_str(&format!(" sig {:?}", chunk.signature));
        }
        if let Some(doc) = &chunk.docstring {
            out.push_str(&format!(" doc {:?}", doc));
        }
        out.push('\n');
    }
    out
}

/// One test per fixture file (each calls the test file's `check(path)`, so one regression is
/// one named failure), and `FIXTURES`, the list, for a test that it covers every file.
macro_rules! fixtures {
    ($($test:ident => $path:literal,)*) => {
        $(
            #[test]
            fn $test() {
                check($path);
            }
        )*

        const FIXTURES: &[&str] = &[$($path),*];
    };
}
