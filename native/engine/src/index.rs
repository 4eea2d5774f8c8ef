//! Indexing files from disk in parallel: discover, read, parse, chunk.
//!
//! Invariants:
//! - Output order is deterministic: the repository chunk, then files in the order given
//!   (directories expanded in sorted order), each file's chunks in pre-order.
//! - One file's failure (I/O, decoding, even a panic in our code) becomes a `FileError` for
//!   that file; every other file is indexed normally.
//! - Work runs on `pool()`, whose threads have large stacks, so deeply nested input is safe.

use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

use rayon::prelude::*;

use crate::chunks::{chunk_document, repository_chunk, Chunk};
use crate::parse::{parse_python, Document};
use crate::source::{load_source, parse_problems, FileError, FileErrorKind};

/// Stack size of worker threads: tree-sitter and later stages may recurse on nested input.
const WORKER_STACK_BYTES: usize = 64 * 1024 * 1024;

/// The engine's thread pool (rayon), created on first use.
pub fn pool() -> &'static rayon::ThreadPool {
    static POOL: OnceLock<rayon::ThreadPool> = OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .stack_size(WORKER_STACK_BYTES)
            .thread_name(|i| format!("flowsight-worker-{i}"))
            .build()
            .expect("creating the worker thread pool")
    })
}

/// Directory names never descended into when expanding a directory argument.
const SKIPPED_DIRECTORIES: &[&str] =
    &["__pycache__", "node_modules", "site-packages", ".venv", "venv", ".tox", ".nox", ".mypy_cache", ".git", ".hg", "target"];

pub fn is_python_path(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("py" | "pyi"))
}

/// Files and directories → Python files. Explicit file arguments are kept whatever their
/// extension; directories are walked (sorted, hidden and tool directories skipped, symbolic
/// links to directories not followed). Missing arguments become `io` errors.
pub fn discover_files(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<FileError>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        let is_dir = std::fs::metadata(path).is_ok_and(|m| m.is_dir());
        if !is_dir {
            // Files, broken links and missing paths: `load_source` reports what is wrong.
            files.push(path.clone());
            continue;
        }
        let mut stack = vec![path.clone()];
        while let Some(directory) = stack.pop() {
            let entries = match std::fs::read_dir(&directory) {
                Ok(entries) => entries,
                Err(error) => {
                    let message = format!("cannot list directory: {error}");
                    errors.push(FileError::new(&directory.to_string_lossy(), FileErrorKind::Io, message));
                    continue;
                }
            };
            let mut children: Vec<(PathBuf, bool)> = entries
                .filter_map(|entry| entry.ok())
                .map(|entry| {
                    let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
                    (entry.path(), is_dir)
                })
                .collect();
            children.sort();
            let mut subdirectories = Vec::new();
            for (child, is_dir) in children {
                let name = child.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                if is_dir {
                    if !name.starts_with('.') && !SKIPPED_DIRECTORIES.contains(&name.as_str()) {
                        subdirectories.push(child);
                    }
                } else if is_python_path(&child) {
                    files.push(child);
                }
            }
            // Depth-first, in sorted order.
            stack.extend(subdirectories.into_iter().rev());
        }
    }
    (files, errors)
}

/// `path` made absolute and lexically normalised (no filesystem access, links kept).
pub fn absolute_path(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut normalised = PathBuf::new();
    for component in absolute.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                normalised.pop();
            }
            other => normalised.push(other),
        }
    }
    normalised
}

/// The deepest directory containing every path (a directory argument counts as itself).
pub fn common_root(paths: &[PathBuf]) -> PathBuf {
    let mut common: Option<PathBuf> = None;
    for path in paths {
        let absolute = absolute_path(path);
        let directory = if absolute.is_dir() { absolute } else { absolute.parent().map(Path::to_path_buf).unwrap_or(absolute) };
        common = Some(match common {
            None => directory,
            Some(current) => {
                let mut shared = PathBuf::new();
                for (a, b) in current.components().zip(directory.components()) {
                    if a != b {
                        break;
                    }
                    shared.push(a);
                }
                shared
            }
        });
    }
    common.unwrap_or_else(|| absolute_path(Path::new(".")))
}

/// `path` relative to `root` with `/` separators, or the absolute path when outside the root.
pub fn relative_path(root: &Path, path: &Path) -> String {
    let absolute = absolute_path(path);
    match absolute.strip_prefix(root) {
        Ok(relative) if !relative.as_os_str().is_empty() => {
            relative.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
        }
        _ => absolute.to_string_lossy().replace('\\', "/"),
    }
}

/// The repository's name: the root directory's base name.
pub fn repository_name(root: &Path) -> String {
    root.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| root.to_string_lossy().into_owned())
}

#[derive(Debug, Default)]
pub struct IndexResult {
    pub chunks: Vec<Chunk>,
    pub errors: Vec<FileError>,
    pub files: usize,
    /// Reading and parsing, summed over files (work time across worker threads).
    pub parse_seconds: f64,
    /// Chunking, summed over files (work time across worker threads).
    pub chunk_seconds: f64,
    /// Wall-clock time of the whole call.
    pub wall_seconds: f64,
}

/// What indexing one file yields: its chunks, its errors, parse and chunk seconds, and a document
/// slot (always `None`: the document is dropped inside the worker).
type FileOutcome = (Vec<Chunk>, Vec<FileError>, f64, f64, Option<Document>);

fn catch<T>(relative: &str, work: impl FnOnce() -> T) -> Result<T, FileError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).map_err(|panic| {
        let detail = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        FileError::new(relative, FileErrorKind::Internal, format!("internal error, please report: {detail}"))
    })
}

/// Reads, parses and chunks `paths` (files or directories) relative to `root` (default: their
/// common directory). Stage times are wall-clock seconds of each parallel stage.
pub fn index_paths(paths: &[PathBuf], root: Option<&Path>) -> IndexResult {
    let (files, mut errors) = discover_files(paths);
    let root = root.map(absolute_path).unwrap_or_else(|| common_root(paths));
    let repository = repository_name(&root);
    let repository_chunk = repository_chunk(&repository);
    pool().install(|| {
        let started = Instant::now();
        // One task per file: read, parse, chunk (no barrier between stages, so the pool stays busy).
        // Largest files first, so no thread is left with a big file at the end; results go
        // back to the given order below.
        let order = largest_first(&files);
        let process = |path: &PathBuf| -> FileOutcome {
            let relative = relative_path(&root, path);
            let parse_started = Instant::now();
            let parsed = catch(&relative, || load_source(path, &relative));
            let (text, mut errors) = match parsed {
                Ok(loaded) => loaded,
                Err(error) => (None, vec![error]),
            };
            let Some(text) = text else {
                return (Vec::new(), errors, parse_started.elapsed().as_secs_f64(), 0.0, None);
            };
            let document = match catch(&relative, || Document::new(text)) {
                Ok(document) => document,
                Err(error) => {
                    errors.push(error);
                    return (Vec::new(), errors, parse_started.elapsed().as_secs_f64(), 0.0, None);
                }
            };
            let parse_seconds = parse_started.elapsed().as_secs_f64();
            let chunk_started = Instant::now();
            let outcome = catch(&relative, || {
                let (chunks, report) = chunk_document(&repository, &repository_chunk.id, &relative, &document);
                let problems = parse_problems(&relative, document.text(), document.line_index(), document.tree(), &report);
                (chunks, problems)
            });
            let chunks = match outcome {
                Ok((chunks, problems)) => {
                    errors.extend(problems);
                    chunks
                }
                Err(error) => {
                    errors.push(error);
                    Vec::new()
                }
            };
            let chunk_seconds = chunk_started.elapsed().as_secs_f64();
            // Freed here, while the pool is busy, so the memory is reused by the next file.
            drop(document);
            (chunks, errors, parse_seconds, chunk_seconds, None::<Document>)
        };
        let mut per_file: Vec<(usize, FileOutcome)> =
            order.par_iter().with_max_len(1).map(|&index| (index, process(&files[index]))).collect();
        per_file.sort_unstable_by_key(|(index, _)| *index);
        let per_file: Vec<FileOutcome> = per_file.into_iter().map(|(_, result)| result).collect();
        let wall_seconds = started.elapsed().as_secs_f64();
        let mut chunks = vec![repository_chunk.clone()];
        chunks.reserve(per_file.iter().map(|(c, ..)| c.len()).sum());
        let (mut parse_seconds, mut chunk_seconds) = (0.0, 0.0);
        for (file_chunks, file_errors, parse, chunk, _) in per_file {
            chunks.extend(file_chunks);
            errors.extend(file_errors);
            parse_seconds += parse;
            chunk_seconds += chunk;
        }
        IndexResult { chunks, errors, files: files.len(), parse_seconds, chunk_seconds, wall_seconds }
    })
}

/// Indices of `files`, largest first (a file's size from its metadata; unreadable ones last).
pub(crate) fn largest_first(files: &[PathBuf]) -> Vec<usize> {
    let sizes: Vec<u64> = files.iter().map(|path| std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)).collect();
    let mut order: Vec<usize> = (0..files.len()).collect();
    order.sort_by_key(|&index| std::cmp::Reverse(sizes[index]));
    order
}

/// Reads and parses `paths` without chunking; returns (files parsed, wall seconds).
/// Used by the benchmark to report the parse-only floor beside parse + chunk.
pub fn parse_only(paths: &[PathBuf]) -> (usize, f64) {
    let (files, _) = discover_files(paths);
    pool().install(|| {
        let started = Instant::now();
        // The same scheduling as `index_paths` (largest files first), so the floor is fair.
        let order = largest_first(&files);
        let parsed = order
            .par_iter()
            .with_max_len(1)
            .filter_map(|&index| {
                let (text, _) = load_source(&files[index], "");
                text.map(|text| parse_python(&text, None))
            })
            .count();
        (parsed, started.elapsed().as_secs_f64())
    })
}
