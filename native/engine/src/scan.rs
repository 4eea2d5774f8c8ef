//! Whole-repository analysis of files on disk: read and parse in parallel, build the program,
//! run taint analysis. The batch counterpart of `workspace`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;

use crate::error::{EngineError, Result};
use crate::index::{absolute_path, common_root, discover_files, pool, relative_path};
use crate::parse::Document;
use crate::program::Program;
use crate::rules::RuleSet;
use crate::source::{load_source, parse_problems, FileError};
use crate::slice::{slice_at, SliceResult};
use crate::taint::{analyze, Finding};

pub struct ScanResult {
    pub findings: Vec<Finding>,
    pub errors: Vec<FileError>,
    pub files: usize,
    pub functions: usize,
    pub parse_seconds: f64,
    pub analysis_seconds: f64,
    pub rounds: usize,
}

/// Loaded documents of `paths` (files or directories): (relative path, document) in order.
pub fn load_documents(paths: &[PathBuf], root: &Path) -> (Vec<(String, Document)>, Vec<FileError>) {
    let (files, mut errors) = discover_files(paths);
    let loaded: Vec<(Option<(String, Document)>, Vec<FileError>)> = pool().install(|| {
        files
            .par_iter()
            .map(|path| {
                let relative = relative_path(root, path);
                let (text, mut errors) = load_source(path, &relative);
                let document = text.map(|text| {
                    let document = Document::new(text);
                    let report = Default::default();
                    errors.extend(parse_problems(&relative, document.text(), document.line_index(), document.tree(), &report));
                    (relative.clone(), document)
                });
                (document, errors)
            })
            .collect()
    });
    let mut documents = Vec::with_capacity(loaded.len());
    for (document, file_errors) in loaded {
        documents.extend(document);
        errors.extend(file_errors);
    }
    (documents, errors)
}

/// Reads, parses and analyses `paths` with `rules`.
pub fn scan_paths(paths: &[PathBuf], root: Option<&Path>, rules: &RuleSet) -> Result<ScanResult> {
    let root = root.map(absolute_path).unwrap_or_else(|| common_root(paths));
    let started = Instant::now();
    let (documents, errors) = load_documents(paths, &root);
    let parse_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let program = Program::new(documents.iter().map(|(path, document)| (path.clone(), document)).collect());
    let result = pool().install(|| analyze(&program, rules));
    let analysis_seconds = started.elapsed().as_secs_f64();
    Ok(ScanResult {
        findings: result.findings,
        errors,
        files: documents.len(),
        functions: program.scopes.len(),
        parse_seconds,
        analysis_seconds,
        rounds: result.rounds,
    })
}

/// Reads and parses `paths`, then slices from `file` (a path among them) at a 0-based line and
/// optional byte column.
pub fn slice_paths(
    paths: &[PathBuf],
    root: Option<&Path>,
    file: &Path,
    line: usize,
    column: Option<usize>,
    forward: bool,
    thin: bool,
) -> Result<SliceResult> {
    let root = root.map(absolute_path).unwrap_or_else(|| common_root(paths));
    let mut all = paths.to_vec();
    all.push(file.to_path_buf());
    let (mut documents, _errors) = load_documents(&all, &root);
    let mut seen = std::collections::HashSet::new();
    documents.retain(|(path, _)| seen.insert(path.clone()));
    let program = Program::new(documents.iter().map(|(path, document)| (path.clone(), document)).collect());
    let key = relative_path(&root, file);
    slice_at(&program, &key, line, column, forward, thin).map_err(EngineError::Criterion)
}
