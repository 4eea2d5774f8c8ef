//! Indexing files from disk in parallel: discover, read, parse, chunk.
//!
//! Invariants:
//! - Output order is deterministic: the repository chunk, then files in the order given
//!   (directories expanded in sorted order), each file's chunks in pre-order.
//! - One file's failure (I/O, decoding, even a panic in our code) becomes a `FileError` for
//!   that file; every other file is indexed normally.
//! - Work runs on `pool()`, whose threads have large stacks, so deeply nested input is safe.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

use rayon::prelude::*;

use crate::chunks::{chunk_document_in, repository_chunk, Chunk};
use crate::parse::{parse, Document};
use crate::source::{load_source, load_source_within, parse_problems, FileError, FileErrorKind};

/// Stack size of worker threads: tree-sitter and later stages may recurse on nested input.
pub const WORKER_STACK_BYTES: usize = 64 * 1024 * 1024;

/// The engine's thread pool (rayon), created on first use.
pub fn pool() -> &'static rayon::ThreadPool {
    static POOL: OnceLock<rayon::ThreadPool> = OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .stack_size(WORKER_STACK_BYTES)
            .start_handler(|_| crate::parse::mark_large_stack())
            .thread_name(|i| format!("flowsight-worker-{i}"))
            .build()
            .expect("creating the worker thread pool")
    })
}

/// Lowers the scheduling priority of every thread of the engine's shared pool to `nice` (Linux
/// schedules threads apart; a process may always lower its own priority, never raise it back
/// without privileges). A server calls it once, so that the work of a workspace with a pool of
/// its own (`Workspace::set_threads`: the open documents) runs before the shared pool's
/// (the whole workspace's analysis, indexing). Returns the threads changed.
pub fn lower_shared_pool_priority(nice: i32) -> usize {
    pool().broadcast(|_| rustix::process::setpriority_process(None, nice).is_ok()).into_iter().filter(|changed| *changed).count()
}

pub use crate::walk::{absolute_path, is_python_path, relative_path};

/// Files and directories → Python files, through the one walker (`walk`), without excludes.
/// Explicit file arguments are kept whatever their extension; missing ones are reported when read.
pub fn discover_files(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<FileError>) {
    let walked = crate::walk::walk(paths, &crate::walk::Excludes::default(), &common_root(paths));
    (walked.files, walked.errors)
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

/// The repository's display name: the root directory's base name (not unique, never a key).
pub fn repository_name(root: &Path) -> String {
    root.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| root.to_string_lossy().into_owned())
}

/// The repository's identity, which chunk ids are derived from: its root's absolute path.
pub fn repository_identity(root: &Path) -> String {
    absolute_path(root).to_string_lossy().into_owned()
}

/// One repository of an index run: name, identity, root, and what it holds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RepositoryIndex {
    pub name: String,
    pub identity: String,
    pub root: PathBuf,
    pub files: usize,
    /// Its chunks in `IndexResult::chunks`: its repository chunk, then its files' chunks.
    pub chunks: std::ops::Range<usize>,
    pub errors: usize,
}

#[derive(Debug, Default)]
pub struct IndexResult {
    pub chunks: Vec<Chunk>,
    pub errors: Vec<FileError>,
    pub files: usize,
    /// Reading and parsing: each file's wall time, summed over files and worker threads. Not
    /// a phase's duration (files are read, parsed and chunked one task each, interleaved):
    /// with several threads it exceeds `wall_seconds`, on a loaded machine the CPU time too.
    pub parse_work_seconds: f64,
    /// Chunking, summed the same way.
    pub chunk_work_seconds: f64,
    /// Wall-clock time of the whole call: the duration of reading, parsing and chunking.
    pub wall_seconds: f64,
    /// The repositories indexed (see `walk::discover`), in root order.
    pub repositories: Vec<RepositoryIndex>,
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

/// Reads, parses and chunks `paths` (files or directories): each named directory a repository
/// (see `walk::discover`), or everything one repository rooted at `root`.
pub fn index_paths(paths: &[PathBuf], root: Option<&Path>) -> IndexResult {
    index_with(paths, root, &crate::walk::Excludes::default())
}

/// `index_paths` without the files `excludes` matches. Repositories are indexed in parallel;
/// errors name files relative to the display root. Stage times are summed over repositories.
pub fn index_with(paths: &[PathBuf], root: Option<&Path>, excludes: &crate::walk::Excludes) -> IndexResult {
    let started = Instant::now();
    let mut result = index_discovered(&crate::walk::discover(paths, root, excludes));
    result.wall_seconds = started.elapsed().as_secs_f64();
    result
}

/// Indexes the repositories `walk::discover` found, in parallel.
pub fn index_discovered(discovered: &crate::walk::Discovered) -> IndexResult {
    let started = Instant::now();
    let results: Vec<IndexResult> = pool().install(|| {
        discovered
            .repositories
            .par_iter()
            .map(|repository| index_repository(&repository.files, &repository.root, &discovered.root))
            .collect()
    });
    let mut total = IndexResult { errors: discovered.errors.clone(), ..IndexResult::default() };
    for (repository, result) in discovered.repositories.iter().zip(results) {
        let first = total.chunks.len();
        total.repositories.push(RepositoryIndex {
            name: repository_name(&repository.root),
            identity: repository_identity(&repository.root),
            root: repository.root.clone(),
            files: result.files,
            chunks: first..first + result.chunks.len(),
            errors: result.errors.len(),
        });
        total.chunks.extend(result.chunks);
        total.errors.extend(result.errors);
        total.files += result.files;
        total.parse_work_seconds += result.parse_work_seconds;
        total.chunk_work_seconds += result.chunk_work_seconds;
    }
    total.wall_seconds = started.elapsed().as_secs_f64();
    total
}

/// Reads, parses and chunks one repository's `files`; chunk paths are relative to `root`,
/// error paths to `display_root`.
fn index_repository(files: &[PathBuf], root: &Path, display_root: &Path) -> IndexResult {
    let mut errors = Vec::new();
    let identity = repository_identity(root);
    let repository = identity.as_str();
    let repository_chunk = repository_chunk(repository, &repository_name(root));
    let roots = crate::walk::source_roots(root);
    pool().install(|| {
        let started = Instant::now();
        // One task per file: read, parse, chunk (no barrier between stages, so the pool stays busy).
        // Largest files first, so no thread is left with a big file at the end; results go
        // back to the given order below.
        let order = largest_first(files);
        let boundary = [root.to_path_buf()];
        let process = |path: &PathBuf| -> FileOutcome {
            let relative = relative_path(root, path);
            let shown = relative_path(display_root, path);
            let parse_started = Instant::now();
            // Only what resolves inside the repository is read (a link may point anywhere).
            let parsed = catch(&shown, || load_source_within(path, &shown, &boundary));
            let (text, mut errors) = match parsed {
                Ok(loaded) => loaded,
                Err(error) => (None, vec![error]),
            };
            let Some(text) = text else {
                return (Vec::new(), errors, parse_started.elapsed().as_secs_f64(), 0.0, None);
            };
            let document = match catch(&shown, || Document::new(text)) {
                Ok(document) => document,
                Err(error) => {
                    errors.push(error);
                    return (Vec::new(), errors, parse_started.elapsed().as_secs_f64(), 0.0, None);
                }
            };
            let parse_seconds = parse_started.elapsed().as_secs_f64();
            let chunk_started = Instant::now();
            let outcome = catch(&shown, || {
                let (chunks, report) = chunk_document_in(&roots, repository, &repository_chunk.id, &relative, &document);
                let problems = parse_problems(&shown, document.text(), document.line_index(), document.tree(), &report);
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
        let (mut parse_work_seconds, mut chunk_work_seconds) = (0.0, 0.0);
        for (file_chunks, file_errors, parse, chunk, _) in per_file {
            chunks.extend(file_chunks);
            errors.extend(file_errors);
            parse_work_seconds += parse;
            chunk_work_seconds += chunk;
        }
        IndexResult { chunks, errors, files: files.len(), parse_work_seconds, chunk_work_seconds, wall_seconds, repositories: Vec::new() }
    })
}

/// Indices of `files`, largest first (a file's size from its metadata; unreadable ones last).
pub(crate) fn largest_first(files: &[PathBuf]) -> Vec<usize> {
    let sizes: Vec<u64> = files.iter().map(|path| std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)).collect();
    let mut order: Vec<usize> = (0..files.len()).collect();
    order.sort_by_key(|&index| std::cmp::Reverse(sizes[index]));
    order
}

/// Reads and parses `paths` (tree-sitter, then the conversion to the `SyntaxTree` every stage
/// walks) without chunking; returns (files parsed, wall seconds).
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
                text.map(|text| parse(&text))
            })
            .count();
        (parsed, started.elapsed().as_secs_f64())
    })
}
