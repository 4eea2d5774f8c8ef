//! The bodies of the cargo-fuzz targets (`fuzz_targets/*.rs`, `make fuzz`): each takes one input
//! as the text of a Python file (lossy UTF-8, as files are read) and checks what must hold for
//! *any* text. They are also run on stable, over the seed corpus that `make_seeds.py` writes,
//! by `native/engine/tests/fuzz_seeds.rs` (which includes this file as a module), so `make test`
//! checks them without cargo-fuzz.
//!
//! Invariants checked (besides "no panic, no abort, no hang"):
//! - parse: syntax errors are in document order, outermost only, inside the text; deleting a
//!   middle third of the text and inserting it back incrementally gives the text and (for
//!   inputs small enough to render) the tree of a fresh parse.
//! - chunks: ids are unique; every chunk's span lies inside the text and inside its parent's;
//!   a parent comes before its children; lines agree with byte offsets.
//! - analysis: on a two-file program (the input imported and called by a fixed handler that
//!   passes user input), findings point at lines of existing files; slices from the first,
//!   middle and last line, backward, forward and thin, name only existing lines; after an edit,
//!   the incremental findings equal a fresh workspace's.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use flowsight_engine::chunks::{chunk_document, repository_chunk};
use flowsight_engine::line_index::Encoding;
use flowsight_engine::parse::{syntax_errors, ByteEdit, Document, PositionEdit};
use flowsight_engine::rules::RuleSet;
use flowsight_engine::workspace::Workspace;

/// Trees rendered as S-expressions (a recursive walk in tree-sitter) only up to this size.
const SEXP_COMPARE_MAX_BYTES: usize = 4096;

fn source_text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// The nearest character boundary at or before `offset`.
fn floor_boundary(text: &str, mut offset: usize) -> usize {
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

pub fn parse(data: &[u8]) {
    let text = source_text(data);
    let fresh = Document::new(text.clone());
    let errors = syntax_errors(fresh.tree(), 1000);
    for pair in errors.windows(2) {
        assert!(pair[0].end <= pair[1].start, "syntax errors out of order or nested: {pair:?}");
    }
    assert!(errors.iter().all(|error| error.start <= error.end && error.end <= text.len()), "{errors:?}");

    let start = floor_boundary(&text, text.len() / 3);
    let end = floor_boundary(&text, 2 * text.len() / 3).max(start);
    let mut edited = Document::new(text.clone());
    edited.apply_edit(&ByteEdit { start, old_end: end, new_text: String::new() });
    edited.reparse();
    assert_eq!(edited.text(), format!("{}{}", &text[..start], &text[end..]));
    edited.apply_edit(&ByteEdit { start, old_end: start, new_text: text[start..end].to_string() });
    edited.reparse();
    assert_eq!(edited.text(), text);
    if text.len() <= SEXP_COMPARE_MAX_BYTES {
        assert_eq!(edited.sexp(), fresh.sexp(), "incremental parse differs from a fresh one");
    }
}

pub fn chunks(data: &[u8]) {
    let text = source_text(data);
    let document = Document::new(text.clone());
    let repository = repository_chunk("fuzz", "fuzz");
    let (chunks, _report) = chunk_document("fuzz", &repository.id, "pkg/module.py", &document);
    let mut seen: HashMap<&str, (usize, usize)> = HashMap::new();
    seen.insert(&repository.id, (0, text.len()));
    let line_count = document.line_index().line_count();
    for chunk in &chunks {
        assert!(chunk.start_byte <= chunk.end_byte && chunk.end_byte <= text.len(), "{chunk:?}");
        assert!(1 <= chunk.start_line && chunk.start_line <= chunk.end_line && chunk.end_line <= line_count, "{chunk:?}");
        let (line, _) = document.line_index().position(&text, chunk.start_byte, Encoding::Utf8);
        assert_eq!(line + 1, chunk.start_line, "{chunk:?}");
        let parent = chunk.parent_id.as_deref().expect("every chunk below the repository has a parent");
        let &(parent_start, parent_end) = seen.get(parent).unwrap_or_else(|| panic!("parent after child or missing: {chunk:?}"));
        assert!(parent_start <= chunk.start_byte && chunk.end_byte <= parent_end, "{chunk:?} outside its parent");
        assert!(seen.insert(&chunk.id, (chunk.start_byte, chunk.end_byte)).is_none(), "duplicate id {chunk:?}");
    }
}

/// Imports the fuzzed module and passes user input to whatever it defines.
const HANDLER: &str = "import os
from flask import request
from app import target
from app.target import *


def handler():
    value = request.args[\"q\"]
    result = target.run(value)
    os.system(result)
    os.system(main(value))
    return result
";

fn workspace(text: &str) -> Workspace {
    let mut workspace = Workspace::new(Path::new("/fuzz-workspace"));
    workspace.update_file("app/__init__.py", String::new(), Some(1));
    workspace.update_file("app/handler.py", HANDLER.to_string(), Some(1));
    workspace.update_file("app/target.py", text.to_string(), Some(1));
    workspace
}

pub fn analysis(data: &[u8]) {
    let text = source_text(data);
    let rules = RuleSet::builtin();
    let mut incremental = workspace(&text);
    let findings = incremental.analyze_taint(&rules);
    let files: HashMap<String, usize> = incremental
        .files()
        .into_iter()
        .map(|path| (path.clone(), incremental.document(&path).unwrap().line_index().line_count()))
        .collect();
    for finding in &findings {
        for location in finding.steps.iter().map(|step| &step.location).chain([&finding.source, &finding.sink]) {
            let lines = files.get(&location.path).unwrap_or_else(|| panic!("a location in an unknown file: {finding:?}"));
            assert!(location.start_line <= location.end_line && location.end_line < *lines, "{finding:?}");
        }
    }

    let line_count = files["app/target.py"];
    let criteria: HashSet<usize> = [0, line_count / 2, line_count.saturating_sub(1)].into_iter().collect();
    for &line in &criteria {
        for (forward, thin) in [(false, false), (true, false), (false, true)] {
            // A line without a statement is a criterion error, not a failure.
            if let Ok(slice) = incremental.slice("app/target.py", line, None, forward, thin) {
                for (path, lines) in &slice.files {
                    let count = files.get(path).unwrap_or_else(|| panic!("a slice in an unknown file {path}"));
                    assert!(lines.iter().all(|&l| 1 <= l && l <= *count), "{path}: {lines:?}");
                }
            }
        }
    }

    // One edit at the middle line, then incremental == from scratch.
    let edit =
        PositionEdit { range: Some(((line_count / 2, 0), (line_count / 2, 0))), new_text: "value = run(request.args)\n".to_string() };
    incremental.apply_edits("app/target.py", 2, &[edit], Encoding::Utf16).expect("the file is open");
    let edited = incremental.document("app/target.py").unwrap().text().to_string();
    let after = incremental.analyze_taint(&rules);
    assert_eq!(after, workspace(&edited).analyze_taint(&rules), "incremental findings differ from a fresh analysis");
}
