//! Whole-repository analysis of files on disk: read and parse in parallel, build the program,
//! run taint analysis. The batch counterpart of `workspace`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;

use crate::error::{EngineError, Result};
use crate::index::{absolute_path, common_root, discover_files, pool, relative_path};
use crate::parse::Document;
use crate::program::{build_parts, Program};
use crate::rules::RuleSet;
use crate::slice::{slice_at, SliceResult};
use crate::source::{load_source, parse_problems, FileError};
use crate::taint::{analyze_incrementally_after, AnalysisStats, Finding};

pub struct ScanResult {
    pub findings: Vec<Finding>,
    pub errors: Vec<FileError>,
    pub files: usize,
    pub functions: usize,
    pub parse_seconds: f64,
    pub analysis_seconds: f64,
    /// What the solver did and which bounds the results met.
    pub stats: AnalysisStats,
}

/// One loaded file: (relative path, document) unless it could not be read, and its errors.
type LoadedFile = (Option<(String, Document)>, Vec<FileError>);

/// Loaded documents of `paths` (files or directories): (relative path, document) in order.
pub fn load_documents(paths: &[PathBuf], root: &Path) -> (Vec<(String, Document)>, Vec<FileError>) {
    let (files, mut errors) = discover_files(paths);
    let order = crate::index::largest_first(&files);
    let loaded: Vec<LoadedFile> = pool().install(|| {
        let mut loaded: Vec<(usize, LoadedFile)> = order
            .par_iter()
            .with_max_len(1)
            .map(|&index| (index, &files[index]))
            .map(|(index, path)| {
                let relative = relative_path(root, path);
                let (text, mut errors) = load_source(path, &relative);
                let document = text.map(|text| {
                    let document = Document::new(text);
                    let report = Default::default();
                    errors.extend(parse_problems(&relative, document.text(), document.line_index(), document.tree(), &report));
                    (relative.clone(), document)
                });
                (index, (document, errors))
            })
            .collect();
        loaded.sort_unstable_by_key(|(index, _)| *index);
        loaded.into_iter().map(|(_, result)| result).collect()
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
    scan_paths_cached(paths, root, rules, None).map(|(result, _)| result)
}

/// What the persistent cache did for a scan.
#[derive(Clone, Debug, Default)]
pub struct CacheReport {
    /// Why an existing cache was not used (one line), if it was not.
    pub notice: Option<String>,
    /// No file changed: the stored result was returned without parsing or analysing.
    pub reused_scan: bool,
    /// Bytes written (None: nothing written).
    pub bytes_written: Option<u64>,
    pub write_error: Option<String>,
    pub seconds: f64,
}

/// `scan_paths` starting from the cache in `cache_dir` (see `persist`) and writing it back:
/// when no file changed the stored result is returned as it is; otherwise only what changed is
/// analysed again. The result equals `scan_paths`'s (tested).
pub fn scan_paths_cached(
    paths: &[PathBuf],
    root: Option<&Path>,
    rules: &RuleSet,
    cache_dir: Option<&Path>,
) -> Result<(ScanResult, CacheReport)> {
    use crate::persist::{self, Rejected, Snapshot, StoredScan};
    let root = root.map(absolute_path).unwrap_or_else(|| common_root(paths));
    let started = Instant::now();
    let (discovered, mut errors) = discover_files(paths);
    let read: Vec<(String, Option<String>, Vec<FileError>)> = pool().install(|| {
        discovered
            .par_iter()
            .map(|path| {
                let relative = relative_path(&root, path);
                let (text, errors) = load_source(path, &relative);
                (relative, text, errors)
            })
            .collect()
    });
    let mut report = CacheReport::default();
    let mut snapshot: Option<Snapshot> = None;
    let mut hashes: Vec<Option<[u8; 32]>> = vec![None; read.len()];
    if let Some(dir) = cache_dir {
        hashes = pool().install(|| read.par_iter().map(|(_, text, _)| text.as_deref().map(persist::text_hash)).collect());
        match persist::load(dir, &root, &rules.fingerprint) {
            Ok(loaded) => snapshot = Some(loaded),
            Err(Rejected::Missing | Rejected::RulesChanged) => {}
            Err(rejected) => report.notice = Some(format!("cache {}: {rejected}; rebuilt", persist::cache_file(dir).display())),
        }
    }
    let mut current: Vec<(&str, [u8; 32])> =
        read.iter().zip(&hashes).filter_map(|((path, _, _), hash)| Some((path.as_str(), (*hash)?))).collect();
    current.sort_unstable();
    if let Some((snapshot, stored)) = snapshot.as_ref().and_then(|snapshot| Some((snapshot, snapshot.scan.as_ref()?))) {
        if snapshot.same_files(&current) {
            for (path, text, file_errors) in &read {
                errors.extend(file_errors.iter().cloned());
                if text.is_some() {
                    errors.extend(snapshot.file(path).map(|entry| entry.parse_errors.clone()).unwrap_or_default());
                }
            }
            let stats = AnalysisStats {
                scopes: stored.functions,
                reused: stored.functions,
                limits: stored.stats.limits,
                unfinished: stored.stats.unfinished,
                ..AnalysisStats::default()
            };
            report.reused_scan = true;
            let result = ScanResult {
                findings: stored.findings.clone(),
                errors,
                files: current.len(),
                functions: stored.functions,
                parse_seconds: started.elapsed().as_secs_f64(),
                analysis_seconds: 0.0,
                stats,
            };
            return Ok((result, report));
        }
    }
    // Parsed largest first (the longest files do not end the run alone), kept in read order.
    let mut order: Vec<usize> = (0..read.len()).collect();
    order.sort_by_key(|&index| std::cmp::Reverse(read[index].1.as_ref().map_or(0, String::len)));
    let mut parsed: Vec<(usize, Option<Document>, Vec<FileError>)> = pool().install(|| {
        order
            .par_iter()
            .with_max_len(1)
            .map(|&index| {
                let (path, text, _) = &read[index];
                let Some(text) = text else { return (index, None, Vec::new()) };
                let document = Document::new(text.clone());
                let problems = parse_problems(path, document.text(), document.line_index(), document.tree(), &Default::default());
                (index, Some(document), problems)
            })
            .collect()
    });
    parsed.sort_unstable_by_key(|(index, _, _)| *index);
    let mut documents: Vec<(String, Document)> = Vec::with_capacity(read.len());
    let mut parse_errors: Vec<Vec<FileError>> = Vec::with_capacity(read.len());
    for ((index, document, problems), (path, _, file_errors)) in parsed.into_iter().zip(&read) {
        debug_assert_eq!(index, parse_errors.len());
        errors.extend(file_errors.iter().cloned());
        errors.extend(problems.iter().cloned());
        parse_errors.push(problems);
        documents.extend(document.map(|document| (path.clone(), document)));
    }
    let parse_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let parts = pool().install(|| build_parts(documents.iter().map(|(path, document)| (path.clone(), document)).collect()));
    let program = Program::from_parts(&parts);
    let previous = snapshot.as_mut().and_then(|snapshot| snapshot.analysis.take());
    let (changed, changes) = match &snapshot {
        Some(snapshot) if previous.is_some() => {
            let (changed, changes) = snapshot
                .changes(read.iter().zip(&hashes).filter_map(|((path, text, _), hash)| Some((path.as_str(), text.as_deref()?, (*hash)?))));
            (Some(changed), changes)
        }
        _ => (None, Default::default()),
    };
    let (result, cache, _) = pool().install(|| analyze_incrementally_after(&program, rules, previous, changed.as_ref(), &changes));
    let analysis_seconds = started.elapsed().as_secs_f64();
    let functions = program.scopes.len();
    if let Some(dir) = cache_dir {
        let started = Instant::now();
        let current: Vec<(String, &str, [u8; 32], Vec<FileError>)> = read
            .iter()
            .zip(&hashes)
            .zip(parse_errors)
            .filter_map(|(((path, text, _), hash), problems)| Some((path.clone(), text.as_deref()?, (*hash)?, problems)))
            .collect();
        let files = pool().install(|| persist::entries(snapshot.as_ref(), current));
        let stored = StoredScan { findings: result.findings.clone(), functions, stats: result.stats };
        let snapshot = Snapshot { files, analysis: Some(cache), scan: Some(stored) };
        match persist::save(dir, &snapshot, &root, &rules.fingerprint) {
            Ok(bytes) => report.bytes_written = Some(bytes),
            Err(error) => report.write_error = Some(error),
        }
        report.seconds = started.elapsed().as_secs_f64();
    }
    let result = ScanResult {
        findings: result.findings,
        errors,
        files: documents.len(),
        functions,
        parse_seconds,
        analysis_seconds,
        stats: result.stats,
    };
    Ok((result, report))
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
    let parts = build_parts(documents.iter().map(|(path, document)| (path.clone(), document)).collect());
    let program = Program::from_parts(&parts);
    let key = relative_path(&root, file);
    slice_at(&program, &key, line, column, forward, thin).map_err(EngineError::Criterion)
}

/// Slice sizes over a whole program: backward slices from the last statement of up to
/// `samples` functions (every k-th function with at least 5 statements).
#[derive(Debug, Default)]
pub struct SliceStatistics {
    pub functions: usize,
    pub slices: usize,
    /// Mean share of the criterion function's statements in the slice.
    pub mean_function_share: f64,
    /// Mean share of the program's statements in the slice.
    pub mean_program_share: f64,
    pub sdg_seconds: f64,
    pub mean_slice_seconds: f64,
}

pub fn slice_statistics(paths: &[PathBuf], root: Option<&Path>, samples: usize) -> SliceStatistics {
    use crate::slice::{Sdg, SliceNode};
    let root = root.map(absolute_path).unwrap_or_else(|| common_root(paths));
    let (documents, _) = load_documents(paths, &root);
    let parts = build_parts(documents.iter().map(|(path, document)| (path.clone(), document)).collect());
    let program = Program::from_parts(&parts);
    pool().install(|| {
        let started = Instant::now();
        let sdg = Sdg::new(&program);
        let statements = |scope: usize| sdg.pdg(scope).cfg.steps.len().saturating_sub(2);
        let program_statements: usize = (0..program.scopes.len()).map(statements).sum();
        // Every PDG built (the SDG itself is demand-driven: slices build what they visit).
        let sdg_seconds = started.elapsed().as_secs_f64();
        let candidates: Vec<usize> = (0..program.scopes.len())
            .filter(|&s| program.scopes[s].kind == crate::program::ScopeKind::Function && statements(s) >= 5)
            .collect();
        let stride = (candidates.len() / samples.max(1)).max(1);
        let (mut function_share, mut program_share, mut slices) = (0.0, 0.0, 0usize);
        let started = Instant::now();
        for &scope in candidates.iter().step_by(stride).take(samples) {
            let last = sdg.pdg(scope).cfg.steps.len() - 1;
            let slice = sdg.slice(&[SliceNode::Step(scope, last)], false, false);
            let in_function = slice.iter().filter(|n| matches!(n, SliceNode::Step(s, _) if *s == scope)).count();
            let in_program = slice.iter().filter(|n| matches!(n, SliceNode::Step(..))).count();
            function_share += in_function as f64 / statements(scope) as f64;
            program_share += in_program as f64 / program_statements.max(1) as f64;
            slices += 1;
        }
        SliceStatistics {
            functions: candidates.len(),
            slices,
            mean_function_share: function_share / slices.max(1) as f64,
            mean_program_share: program_share / slices.max(1) as f64,
            sdg_seconds,
            mean_slice_seconds: started.elapsed().as_secs_f64() / slices.max(1) as f64,
        }
    })
}
