//! The incremental, in-memory view of one repository: documents, trees and chunks per file.
//!
//! Invariants:
//! - After every call, each file's chunks equal `ChunkBuilder` run on a from-scratch parse of
//!   the file's current text (incremental parsing is an optimisation, never a different answer).
//! - A rejected call (stale version, unknown file) changes nothing.
//! - At most `TREE_SITTER_TREES_KEPT` documents keep a tree-sitter tree: the most recently
//!   opened (`update_file` with a version) or edited (`apply_edits`), listed in `trees_kept`
//!   (`note_tree_kept`, called wherever a file's document is stored, edited or removed). The
//!   others hold only their compact `SyntaxTree`; their next edit parses from scratch.
//! - Paths are keys relative to the root with `/` separators; files outside the root are keyed
//!   by their absolute path (their module name is their stem).
//! - A file's program part, when present, was built from its current document (a new document
//!   makes a new `AnalysedDocument` without one); before an analysis every part is numbered
//!   by the file's place in key order.
//! - The program view slices use (`ProgramView`), when kept, is over exactly the current
//!   documents and parts: every change of a file drops it before the file's cell is replaced
//!   (cells are then never shared when taken apart or renumbered), and `prepare_program`
//!   checks it is over the current cells before it is reused.
//! - The lexical index, once built (by the first search), holds one document per indexed
//!   chunk of the current texts: every update passes its `ChunkDiff` on (removed and changed
//!   ids deleted, added and changed chunks added), together with the unchanged chunks whose
//!   document changed all the same (`schema::stale_documents`), so the next search sees the edit.
//! - With a cache directory, the first search reopens the index stored there (`lexical::store`)
//!   instead of building one, and brings it up to date file by file: a file whose text hash is
//!   not the stored one has its documents replaced, a stored file gone has them deleted; the
//!   result must hold one document per indexed chunk, or it is dropped and built afresh.
//!   `persist_search` writes it back (the caller decides when; never per edit).

mod template_files;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use template_files::TemplateFiles;

use crate::chunks::{chunk_document_in, repository_chunk, Chunk, ChunkKind};
use crate::error::{EngineError, Result};
use crate::index::{absolute_path, relative_path, repository_identity, repository_name};
use crate::ir::lower::IrCache;
use crate::lexical::store::{self, Rejected, StoreJob, Written};
use crate::lexical::{schema, LexicalIndex, SearchMode};
use crate::line_index::Encoding;
use crate::parse::{Document, PositionEdit};
use crate::pdg::{summarize_pdg, PdgSummary};
use crate::persist::trees::TreeCounts;
use crate::program::{FileProgram, Program};
use crate::rules::RuleSet;
use crate::scopes::{occurrences_at, Occurrence};
use crate::slice::{slice_at_with_cache, RefreshStats, Sdg, SliceCache, SliceResult};
use crate::source::{load_source_within, parse_problems, FileError};
use crate::syntax::SourceRoots;
use crate::taint::{analyze_incrementally_after, AnalysisCache, AnalysisStats, Finding, TextChange};
use crate::templates::is_template_path;

/// What an update did to a file's chunks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChunkDiff {
    /// Ids present now but not before (document order).
    pub added: Vec<String>,
    /// Ids present before but not now (their previous document order).
    pub removed: Vec<String>,
    /// Ids present before and now whose content hash changed.
    pub changed: Vec<String>,
    /// Ids present before and now with the same content hash (they may have moved).
    pub unchanged: usize,
}

impl ChunkDiff {
    pub fn between(before: &[Chunk], after: &[Chunk]) -> ChunkDiff {
        let old: HashMap<&str, &str> = before.iter().map(|c| (c.id.as_str(), c.content_hash.as_str())).collect();
        let new: HashMap<&str, &str> = after.iter().map(|c| (c.id.as_str(), c.content_hash.as_str())).collect();
        let mut diff = ChunkDiff::default();
        for chunk in after {
            match old.get(chunk.id.as_str()) {
                None => diff.added.push(chunk.id.clone()),
                Some(&hash) if hash != chunk.content_hash => diff.changed.push(chunk.id.clone()),
                Some(_) => diff.unchanged += 1,
            }
        }
        diff.removed = before.iter().filter(|c| !new.contains_key(c.id.as_str())).map(|c| c.id.clone()).collect();
        diff
    }
}

self_cell::self_cell!(
    /// A document and its share of the program, built on demand and kept while the text is
    /// unchanged (an edit makes a new cell without one).
    struct AnalysedDocument {
        owner: Document,
        #[covariant]
        dependent: ProgramPart,
    }
);

type ProgramPart<'a> = Option<FileProgram<'a>>;

/// A file's document and part, shared with the program view built over it (`ProgramView`).
type SharedDocument = std::sync::Arc<AnalysedDocument>;

impl AnalysedDocument {
    fn unanalysed(document: Document) -> SharedDocument {
        std::sync::Arc::new(AnalysedDocument::new(document, |_| None))
    }

    /// Takes the document out of `cell` (dropping its part), leaving an empty one behind.
    /// The workspace drops its program view before changing a file, so `cell` is not shared;
    /// were it still, the document is parsed again from its text (the same tree, without the
    /// state kept for incremental parsing).
    fn take_document(cell: &mut SharedDocument) -> Document {
        match std::sync::Arc::try_unwrap(std::mem::replace(cell, AnalysedDocument::unanalysed(Document::new(String::new())))) {
            Ok(cell) => cell.into_owner(),
            Err(shared) => {
                debug_assert!(false, "a document taken while a program view shares it");
                Document::new(shared.borrow_owner().text().to_string())
            }
        }
    }
}

self_cell::self_cell!(
    /// The whole-program view over every file's part (in key order), kept across slices while
    /// no file changes: built again only when one was edited, loaded or removed (the owners,
    /// shared with `FileState::source`, are then no longer the files' own).
    struct ProgramView {
        owner: Vec<SharedDocument>,
        #[not_covariant]
        dependent: Program,
    }
);

impl ProgramView {
    /// Whether the view is over exactly `files`' current documents.
    fn is_over<'a>(&self, files: impl ExactSizeIterator<Item = &'a SharedDocument>) -> bool {
        let owners = self.borrow_owner();
        owners.len() == files.len() && owners.iter().zip(files).all(|(owner, file)| std::sync::Arc::ptr_eq(owner, file))
    }
}

/// How many documents keep their tree-sitter tree for incremental re-parsing: the most
/// recently opened (`update_file` with a version) or edited (`apply_edits`) ones, so memory
/// does not grow with the number of documents ever opened. Another document's next edit
/// parses from scratch (the same tree, a few milliseconds more for a big file) and makes it
/// one of them again.
pub const TREE_SITTER_TREES_KEPT: usize = 8;

struct FileState {
    source: SharedDocument,
    version: Option<i64>,
    chunks: Vec<Chunk>,
    errors: Vec<FileError>,
}

pub struct Workspace {
    /// The last analysis, reused for functions whose text, place and module did not change.
    analysis_cache: Option<AnalysisCache>,
    last_analysis: AnalysisStats,
    /// Files changed since the last analysis.
    changed_since_analysis: std::collections::HashSet<String>,
    /// For files changed since the last analysis (and present then): the region of their text
    /// that changed, so cached results below it are moved rather than computed again.
    text_changes: std::collections::HashMap<String, TextChange>,
    root: PathBuf,
    repository: String,
    /// Where module names start (`walk::source_roots`), read from the root's configuration.
    source_roots: SourceRoots,
    repository_chunk: Chunk,
    files: BTreeMap<String, FileState>,
    /// The files whose documents keep a tree-sitter tree, least recently opened or edited
    /// first: at most `TREE_SITTER_TREES_KEPT` (`note_tree_kept`).
    trees_kept: std::collections::VecDeque<String>,
    /// What slices found (scope graphs, solved PDGs, call sites, effects), kept across edits:
    /// the next slice drops what the files changed since the last one touched
    /// (`slice::SliceCache`).
    slice_cache: SliceCache,
    /// Files whose text changed (or that came or went) since the last slice.
    slice_changed: rustc_hash::FxHashSet<String>,
    /// Lowered scopes by text: kept across edits (an edit re-lowers only the scopes whose text
    /// changed).
    ir_cache: IrCache,
    /// The program view slices use, over the current parts (`None` once a file changed:
    /// `note_change` drops it, so no `FileState::source` is shared when it is replaced), and
    /// how many views were built.
    program_view: Option<ProgramView>,
    program_views_built: usize,
    /// The lexical index, built (or reopened from disk) by the first search and kept current
    /// after that; `lexical_generation` counts the indexes it has held.
    lexical: Option<LexicalIndex>,
    lexical_generation: u64,
    /// How the current lexical index came to be, and what writing it to disk did.
    search_opened: SearchOpened,
    search_writes: (u64, u64),
    /// Where the persistent cache lives (`set_cache_dir`), and whether it was read yet.
    cache_dir: Option<PathBuf>,
    cache_read: bool,
    /// The file entries last persisted (their compressed texts are reused by the next write).
    persisted_files: Vec<crate::persist::FileEntry>,
    /// Why the persisted cache was not used (once, for a notice).
    cache_notice: Option<String>,
    /// Stored syntax trees (`persist::trees`): what was done with them (files built from one,
    /// trees written and removed), the trees this workspace wrote (removed once no text of it
    /// has them), whether the age bound was applied (once), and the documents of the last
    /// persisted analysis whose trees `persist_trees_job` stores.
    tree_counts: TreeCounts,
    trees_written: std::collections::HashSet<[u8; 32]>,
    trees_swept: bool,
    pending_trees: Vec<([u8; 32], SharedDocument)>,
    /// Template files (`templates::is_template_path`), kept apart from the Python files.
    templates: TemplateFiles,
    /// The findings of the last analysis (written with the cache as what was published).
    last_findings: Option<Vec<Finding>>,
    /// A pool of its own (`set_threads`), else the engine's: a small workspace analysed while
    /// another holds the engine's pool (the server's open documents during a workspace
    /// analysis) does not queue behind it.
    pool: Option<std::sync::Arc<rayon::ThreadPool>>,
}

/// What a workspace's last run published, found valid for the files on disk now
/// (`Workspace::published_again`): findings, syntax errors by file, and the text of every file
/// they name (to convert their columns).
pub struct PublishedAgain {
    pub findings: Vec<Finding>,
    pub syntax: Vec<(String, Vec<crate::persist::PublishedSyntaxError>)>,
    pub texts: HashMap<String, String>,
}

/// A file read from disk and parsed apart from any workspace (`read_files`), to be stored by
/// `Workspace::store_read_files`.
pub struct ReadFile {
    /// The workspace key (path relative to the root).
    pub key: String,
    /// `None` when it could not be read (`errors` say why), and for a template file.
    pub document: Option<Document>,
    /// A template file's text (`templates::is_template_path`).
    pub template: Option<String>,
    pub errors: Vec<FileError>,
    /// Whether `document` was built from its stored tree (`persist::trees`) instead of parsed.
    pub from_stored_tree: bool,
}

/// Reads and parses `paths` (relative to `root`, or absolute) in parallel on the engine's
/// pool, without a workspace: the expensive half of loading, done while the workspace serves
/// others. Only files that resolve inside one of `within` are read (anywhere when empty; see
/// `Workspace::load_file_within`). With `trees` (the persistent cache's `persist::trees::
/// trees_dir`), a file whose text has a valid stored tree is built from it instead of parsed
/// (a tree that does not check is ignored: the file is parsed); nothing is written there
/// (`Workspace::persist_trees` does).
pub fn read_files(root: &Path, paths: &[String], within: &[PathBuf], trees: Option<&Path>) -> Vec<ReadFile> {
    use rayon::prelude::*;
    crate::index::pool().install(|| {
        paths
            .par_iter()
            .map(|path| {
                let absolute = if Path::new(path).is_absolute() { PathBuf::from(path) } else { root.join(path) };
                let key = relative_path(root, &absolute);
                let (text, errors) = load_source_within(&absolute, &key, within);
                if is_template_path(Path::new(&key)) {
                    return ReadFile { key, document: None, template: text, errors: Vec::new(), from_stored_tree: false };
                }
                let (document, from_stored_tree) = match (text, trees) {
                    (None, _) => (None, false),
                    (Some(text), None) => (Some(Document::new(text)), false),
                    (Some(text), Some(trees)) => {
                        let hash = crate::persist::text_hash(&text);
                        match crate::persist::trees::load(trees, &hash, text) {
                            Ok(document) => (Some(document), true),
                            Err(text) => (Some(Document::new(text)), false),
                        }
                    }
                };
                ReadFile { key, document, template: None, errors, from_stored_tree }
            })
            .collect()
    })
}

/// The trees a workspace stores and removes (`Workspace::persist_trees_job`): the documents
/// (with their texts' hashes) of the last persisted analysis, copied under the caller's lock
/// and written without it (`TreeStoreJob::write`).
pub struct TreeStoreJob {
    trees: PathBuf,
    documents: Vec<([u8; 32], SharedDocument)>,
    /// Trees this workspace wrote before; those no current text has are removed.
    written_before: std::collections::HashSet<[u8; 32]>,
    /// Whether to remove the trees unused for `persist::trees::MAX_UNUSED_AGE` too (once per workspace).
    sweep: bool,
}

/// What `TreeStoreJob::write` did, for `Workspace::trees_stored`.
pub struct TreesWritten {
    written: std::collections::HashSet<[u8; 32]>,
    counts: TreeCounts,
}

impl TreeStoreJob {
    /// Stores the tree of every document whose tree is not stored yet (not those with syntax
    /// errors, see `persist::trees::encode`), in parallel on the engine's pool, then removes the
    /// trees this workspace wrote for texts it no longer has, and (the first time) the trees no
    /// run used for `persist::trees::MAX_UNUSED_AGE`.
    pub fn write(self) -> TreesWritten {
        use crate::persist::trees;
        use rayon::prelude::*;
        let mut counts = TreeCounts::default();
        if std::fs::create_dir_all(&self.trees).is_err() {
            return TreesWritten { written: self.written_before, counts };
        }
        let stored = trees::stored(&self.trees);
        let current: std::collections::HashSet<[u8; 32]> = self.documents.iter().map(|(hash, _)| *hash).collect();
        let mut missing: Vec<&([u8; 32], SharedDocument)> =
            self.documents.iter().filter(|(hash, _)| !stored.contains(&trees::hex(hash))).collect();
        missing.sort_unstable_by_key(|(hash, _)| *hash);
        missing.dedup_by_key(|(hash, _)| *hash);
        let newly: Vec<[u8; 32]> = crate::index::pool().install(|| {
            missing
                .par_iter()
                .filter(|(hash, document)| trees::store(&self.trees, hash, document.borrow_owner()))
                .map(|(hash, _)| *hash)
                .collect()
        });
        counts.written = newly.len();
        let mut written = self.written_before;
        written.extend(newly);
        let gone: Vec<[u8; 32]> = written.iter().filter(|hash| !current.contains(*hash)).copied().collect();
        for hash in gone {
            written.remove(&hash);
            counts.removed += usize::from(trees::remove(&self.trees, &hash));
        }
        if self.sweep {
            counts.removed += trees::remove_unused(&self.trees, &current);
        }
        TreesWritten { written, counts }
    }
}

/// The workspace's own pool, else the engine's (see `Workspace::set_threads`).
fn pool_of(own: &Option<std::sync::Arc<rayon::ThreadPool>>) -> &rayon::ThreadPool {
    own.as_deref().unwrap_or_else(|| crate::index::pool())
}

/// Files whose search documents are made together when the lexical index is built.
const LEXICAL_BATCH_FILES: usize = 64;

/// The files of a workspace as the lexical index needs them: (key, chunks, text), and where
/// an index may be stored (cache directory, root).
pub struct SearchSnapshot {
    files: Vec<(String, Vec<Chunk>, String)>,
    store: Option<(PathBuf, PathBuf)>,
}

/// A lexical index built from a snapshot, with the chunks it holds per file.
pub struct PreparedSearch {
    index: LexicalIndex,
    chunks: Vec<(String, Vec<Chunk>)>,
    opened: SearchOpened,
}

impl SearchSnapshot {
    /// Reopens the stored index or builds one (the costly part: documents made in parallel,
    /// bulk indexing).
    pub fn build(self) -> Result<PreparedSearch> {
        let files: Vec<(&str, &[Chunk], &str)> =
            self.files.iter().map(|(key, chunks, text)| (key.as_str(), chunks.as_slice(), text.as_str())).collect();
        let store = self.store.as_ref().map(|(cache, root)| (cache.as_path(), root.as_path()));
        let (index, opened) = open_or_build(&files, store)?;
        let chunks = self.files.into_iter().map(|(key, chunks, _)| (key, chunks)).collect();
        Ok(PreparedSearch { index, chunks, opened })
    }
}

/// How a workspace's lexical index came to be.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SearchOpened {
    /// Reopened from the cache directory (else built from the chunks).
    pub reopened: bool,
    /// Documents taken from disk as they were.
    pub reused: u64,
    /// Source files whose documents were replaced or deleted when it was reopened.
    pub refreshed_files: usize,
    /// Seconds to reopen and bring up to date, or to build.
    pub seconds: f64,
    /// Why an index on disk was not used, if one was there.
    pub notice: Option<String>,
}

/// What `Workspace::search_stats` reports.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SearchStats {
    pub opened: SearchOpened,
    /// Documents in the index now (0 before the first search).
    pub documents: u64,
    /// Documents indexed by this process (a build, the files refreshed at reopening, edits).
    pub indexed: u64,
    /// Writes of the index to disk, and the bytes they wrote.
    pub writes: u64,
    pub written_bytes: u64,
}

/// A reopened or built lexical index over files given as (key, chunks, text): the one stored
/// in `store` (cache directory, root) when it can be trusted, brought up to date; else built.
fn open_or_build(files: &[(&str, &[Chunk], &str)], store: Option<(&Path, &Path)>) -> Result<(LexicalIndex, SearchOpened)> {
    let timer = std::time::Instant::now();
    let mut notice = None;
    if let Some((cache, root)) = store {
        // Bytes on disk are not to be trusted to the point of a panic either.
        let reopened = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| reopen(files, cache, root)))
            .unwrap_or_else(|_| Err(Rejected::Invalid("cannot open".to_string())));
        match reopened {
            Ok((index, refreshed_files)) => {
                let reused = index.documents() - index.added().min(index.documents());
                let seconds = timer.elapsed().as_secs_f64();
                return Ok((index, SearchOpened { reopened: true, reused, refreshed_files, seconds, notice: None }));
            }
            Err(Rejected::Missing) => {}
            Err(rejected) => notice = Some(format!("search index {}: {rejected}; rebuilt", store::store_directory(cache).display())),
        }
    }
    let pairs: Vec<(&[Chunk], &str)> = files.iter().map(|(_, chunks, text)| (*chunks, *text)).collect();
    let index = build_lexical_index(&pairs)?;
    Ok((index, SearchOpened { seconds: timer.elapsed().as_secs_f64(), notice, ..SearchOpened::default() }))
}

/// The index stored in `cache` for `root`, with the documents of every file whose text is not
/// the one it was made from replaced: Ok((index, files refreshed)).
fn reopen(files: &[(&str, &[Chunk], &str)], cache: &Path, root: &Path) -> std::result::Result<(LexicalIndex, usize), Rejected> {
    use rayon::prelude::*;
    let (mut index, sources) = LexicalIndex::open_stored(cache, root)?;
    let stored: HashMap<&str, &[u8; 32]> = sources.iter().map(|source| (source.key.as_str(), &source.hash)).collect();
    let changed: Vec<usize> = crate::index::pool().install(|| {
        files
            .par_iter()
            .enumerate()
            .filter(|(_, (key, _, text))| stored.get(key).is_none_or(|hash| **hash != store::text_hash(text)))
            .map(|(at, _)| at)
            .collect()
    });
    let current: std::collections::HashSet<&str> = files.iter().map(|(key, _, _)| *key).collect();
    let mut refreshed = 0;
    for &at in &changed {
        if stored.contains_key(files[at].0) {
            index.delete_path(files[at].0);
        }
        refreshed += 1;
    }
    for source in &sources {
        if !current.contains(source.key.as_str()) {
            index.delete_path(&source.key);
            refreshed += 1;
        }
    }
    let fields = *index.fields();
    let documents = crate::index::pool()
        .install(|| changed.par_iter().flat_map_iter(|&at| schema::all_documents(&fields, files[at].1, files[at].2)).collect());
    index.add(documents);
    index.commit().map_err(Rejected::Invalid)?;
    let expected: u64 = files.iter().map(|(_, chunks, _)| chunks.iter().filter(|chunk| schema::indexed(chunk.kind)).count() as u64).sum();
    if index.documents() != expected {
        return Err(Rejected::Invalid(format!("{} documents for {expected} chunks", index.documents())));
    }
    Ok((index, refreshed))
}

/// A lexical index over files given as (chunks, text), committed.
fn build_lexical_index(files: &[(&[Chunk], &str)]) -> Result<LexicalIndex> {
    use rayon::prelude::*;
    let timer = std::time::Instant::now();
    let mut index = LexicalIndex::new().map_err(|error| EngineError::Search(error.to_string()))?;
    let fields = *index.fields();
    let expected = files.iter().map(|(chunks, _)| chunks.len()).sum();
    // Documents made in parallel a batch of files at a time while the writer indexes.
    let batches = files.chunks(LEXICAL_BATCH_FILES).map(|batch| {
        crate::index::pool()
            .install(|| batch.par_iter().flat_map_iter(|(chunks, text)| schema::all_documents(&fields, chunks, text)).collect())
    });
    index.add_bulk(expected, batches);
    if crate::taint::debug_analysis() {
        eprintln!("search index: built in {:?}", timer.elapsed());
    }
    index.commit().map_err(EngineError::Search)?;
    Ok(index)
}

/// Which state of which index a `search_store_job` copied.
#[derive(Clone, Copy, Debug)]
pub struct SearchStoreToken {
    generation: u64,
    operations: u64,
}

/// A search result: a chunk of the current texts (positions as they are now) and its score.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    pub chunk_id: String,
    pub path: String,
    pub qualified_name: String,
    pub kind: ChunkKind,
    /// 1-based, inclusive.
    pub start_line: usize,
    pub end_line: usize,
    pub score: f32,
}

impl Workspace {
    pub fn new(root: &Path) -> Workspace {
        let root = absolute_path(root);
        // Chunk ids come from the identity (the root's path), the root chunk shows the name.
        let repository = repository_identity(&root);
        let repository_chunk = repository_chunk(&repository, &repository_name(&root));
        let source_roots = crate::walk::source_roots(&root);
        Workspace {
            source_roots,
            analysis_cache: None,
            last_analysis: AnalysisStats::default(),
            changed_since_analysis: Default::default(),
            text_changes: Default::default(),
            root,
            repository,
            repository_chunk,
            files: BTreeMap::new(),
            trees_kept: Default::default(),
            slice_cache: SliceCache::default(),
            slice_changed: Default::default(),
            ir_cache: IrCache::default(),
            program_view: None,
            program_views_built: 0,
            lexical: None,
            lexical_generation: 0,
            search_opened: SearchOpened::default(),
            search_writes: (0, 0),
            cache_dir: None,
            cache_read: false,
            persisted_files: Vec::new(),
            cache_notice: None,
            tree_counts: TreeCounts::default(),
            trees_written: Default::default(),
            trees_swept: false,
            pending_trees: Vec::new(),
            templates: TemplateFiles::default(),
            last_findings: None,
            pool: None,
        }
    }

    /// Uses the persistent cache in `dir` (see `persist`): the next analysis starts from it,
    /// re-analysing only what changed since it was written; `persist_cache` writes it. Set it
    /// once every file is loaded: a cache is read once, by the first analysis after this call.
    pub fn set_cache_dir(&mut self, dir: Option<PathBuf>) {
        self.cache_read = dir.is_none();
        if dir != self.cache_dir {
            // Whatever was written went elsewhere: the new directory needs the whole index.
            self.lexical_generation += 1;
            if let Some(index) = self.lexical.as_mut() {
                index.forget_stored();
            }
        }
        self.cache_dir = dir;
    }

    /// Runs this workspace's parallel work (parsing, analysis) on a pool of `threads` threads of
    /// its own (None: the engine's shared pool).
    pub fn set_threads(&mut self, threads: Option<usize>) -> std::result::Result<(), String> {
        self.pool = match threads {
            None => None,
            Some(threads) => Some(std::sync::Arc::new(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads.max(1))
                    .stack_size(crate::index::WORKER_STACK_BYTES)
                    .start_handler(|_| crate::parse::mark_large_stack())
                    .thread_name(|i| format!("flowsight-own-{i}"))
                    .build()
                    .map_err(|error| error.to_string())?,
            )),
        };
        Ok(())
    }

    /// What a file imports: the qualified names its imports bind (`import a.b` → `a.b`,
    /// `from a import f` → `a.f`), sorted, without duplicates.
    pub fn imported_names(&mut self, path: &str) -> Result<Vec<String>> {
        let key = self.key(path);
        self.state(&key)?;
        self.prepare_program();
        let state = self.state(&key)?;
        let part = state.source.borrow_dependent().as_ref().expect("program prepared");
        let mut names: Vec<String> = part.module.imports.values().cloned().collect();
        names.sort_unstable();
        names.dedup();
        Ok(names)
    }

    /// Why the persisted cache was not used, if it could not be (taken: reported once).
    pub fn take_cache_notice(&mut self) -> Option<String> {
        self.cache_notice.take()
    }

    /// Replaces the analysis cache by the persisted one (a consistent pair of texts and
    /// results), with every file whose text differs from the persisted text marked changed
    /// (with its exact text change). Returns whether a cache was used.
    fn restore_cache(&mut self, rules: &RuleSet) -> bool {
        self.cache_read = true;
        let Some(dir) = self.cache_dir.clone() else { return false };
        let mut snapshot = match crate::persist::load(&dir, &self.root, &rules.fingerprint) {
            Ok(snapshot) => snapshot,
            Err(crate::persist::Rejected::Missing | crate::persist::Rejected::RulesChanged) => return false,
            Err(rejected) => {
                self.cache_notice = Some(format!("cache {}: {rejected}; rebuilt", crate::persist::cache_file(&dir).display()));
                return false;
            }
        };
        // The analysis of this workspace's one program (a scan of the same root as one
        // repository stores it under the same identity).
        let identity = vec![crate::walk::analysis_identity(&self.repository, &self.source_roots)];
        let Some(at) = snapshot.analyses.iter().position(|stored| stored.repositories == identity) else { return false };
        let analysis = snapshot.analyses.swap_remove(at).analysis;
        use rayon::prelude::*;
        let texts: Vec<(&str, &str)> = self.files.iter().map(|(path, state)| (path.as_str(), state.source.borrow_owner().text())).collect();
        let hashes: Vec<[u8; 32]> =
            pool_of(&self.pool.clone()).install(|| texts.par_iter().map(|(_, text)| crate::persist::text_hash(text)).collect());
        let (changed, changes) = snapshot.changes(texts.iter().zip(&hashes).map(|((path, text), hash)| (*path, *text, *hash)));
        self.changed_since_analysis = changed;
        self.text_changes = changes;
        self.analysis_cache = Some(analysis);
        self.persisted_files = snapshot.files;
        true
    }

    /// Writes the persistent cache (when a directory is set and the last analysis is of the
    /// current texts): Some(bytes written), None when there was nothing to write.
    pub fn persist_cache(&mut self) -> std::result::Result<Option<u64>, String> {
        let (Some(dir), Some(analysis)) = (self.cache_dir.clone(), self.analysis_cache.take()) else { return Ok(None) };
        if !self.changed_since_analysis.is_empty() {
            self.analysis_cache = Some(analysis);
            return Ok(None);
        }
        let previous = crate::persist::Snapshot { files: std::mem::take(&mut self.persisted_files), analyses: Vec::new(), scan: None };
        let current: Vec<(String, &str, [u8; 32], Vec<FileError>)> = {
            use rayon::prelude::*;
            pool_of(&self.pool.clone()).install(|| {
                self.files
                    .par_iter()
                    .map(|(path, state)| {
                        let text = state.source.borrow_owner().text();
                        (path.clone(), text, crate::persist::text_hash(text), Vec::new())
                    })
                    .collect()
            })
        };
        // The trees of these texts are stored by `persist_trees_job` (outside the caller's lock).
        self.pending_trees = current.iter().filter_map(|(path, _, hash, _)| Some((*hash, self.files.get(path)?.source.clone()))).collect();
        let mut hashes: Vec<(String, [u8; 32])> = current.iter().map(|(path, _, hash, _)| (path.clone(), *hash)).collect();
        // Template files too: the server lists them with the Python files, and a finding on a
        // template needs its text to be placed.
        let template_keys: Vec<String> = self.templates.versions().map(|(key, _)| key).collect();
        for key in template_keys {
            if let Some(text) = self.templates.text(&key) {
                hashes.push((key.clone(), crate::persist::text_hash(text)));
            }
        }
        hashes.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let files = pool_of(&self.pool.clone()).install(|| crate::persist::entries(Some(&previous), current));
        let rules = analysis.rules().to_string();
        let repositories = vec![crate::walk::analysis_identity(&self.repository, &self.source_roots)];
        let analyses = vec![crate::persist::StoredAnalysis { repositories, analysis }];
        let mut snapshot = crate::persist::Snapshot { files, analyses, scan: None };
        let written = crate::persist::save(&dir, &snapshot, &self.root, &rules);
        self.analysis_cache = snapshot.analyses.pop().map(|stored| stored.analysis);
        self.persisted_files = snapshot.files;
        let written = written?;
        // Then what was published (after the cache: each file is checked against the texts on
        // its own, so either may be the newer after a crash).
        let Some(findings) = self.last_findings.clone() else { return Ok(Some(written)) };
        let published = crate::persist::Published {
            identity: crate::walk::analysis_identity(&self.repository, &self.source_roots),
            files: hashes,
            findings,
            syntax: self.syntax_errors_by_file(),
        };
        Ok(Some(written + crate::persist::save_published(&dir, &published, &self.root, &rules)?))
    }

    /// The stored syntax trees to write after `persist_cache` wrote the analysis (None when it
    /// wrote nothing since the last job, or without a cache directory): the documents of the
    /// texts it persisted, copied (shared) so that `TreeStoreJob::write` runs without the
    /// caller's lock; `trees_stored` takes its result.
    pub fn persist_trees_job(&mut self) -> Option<TreeStoreJob> {
        let trees = crate::persist::trees::trees_dir(self.cache_dir.as_deref()?);
        if self.pending_trees.is_empty() {
            return None;
        }
        let sweep = !std::mem::replace(&mut self.trees_swept, true);
        Some(TreeStoreJob { trees, documents: std::mem::take(&mut self.pending_trees), written_before: self.trees_written.clone(), sweep })
    }

    /// Takes what a `TreeStoreJob` did.
    pub fn trees_stored(&mut self, written: TreesWritten) {
        self.trees_written = written.written;
        self.tree_counts.written += written.counts.written;
        self.tree_counts.removed += written.counts.removed;
    }

    /// `persist_trees_job`, its write and `trees_stored` in one call: what this call did.
    pub fn persist_trees(&mut self) -> Option<TreeCounts> {
        let written = self.persist_trees_job()?.write();
        let counts = written.counts;
        self.trees_stored(written);
        Some(counts)
    }

    /// What this workspace did with stored trees so far: files built from one (`read_files`
    /// with the cache's trees), trees written and removed (`persist_trees`).
    pub fn tree_counts(&self) -> TreeCounts {
        self.tree_counts
    }

    /// The syntax errors of every file that has any, as published (positions in lines and
    /// UTF-8 byte columns), by path.
    fn syntax_errors_by_file(&self) -> Vec<(String, Vec<crate::persist::PublishedSyntaxError>)> {
        self.files
            .iter()
            .filter(|(_, state)| state.source.borrow_owner().tree().root_node().has_error())
            .map(|(path, state)| {
                let document = state.source.borrow_owner();
                let index = document.line_index();
                let place = |offset: usize| {
                    let line = index.line_of(offset);
                    (line, offset - index.line_start(line))
                };
                let errors = crate::parse::syntax_errors(document.tree(), crate::persist::PUBLISHED_SYNTAX_ERRORS)
                    .into_iter()
                    .map(|error| {
                        let (start_line, start_column) = place(error.start);
                        let (end_line, end_column) = place(error.end);
                        crate::persist::PublishedSyntaxError { start_line, start_column, end_line, end_column, message: error.message }
                    })
                    .collect();
                (path.clone(), errors)
            })
            .collect()
    }

    /// What the last run published, when it is valid for the files `paths` (absolute, or
    /// relative to the root) as they are on disk now — `texts` overriding the disk for the
    /// files an editor holds (by key) — read without parsing: the same files, each with the
    /// same text hash, and the same root, rules, flowsight version and analysis identity.
    /// None otherwise. Reads only inside `within` (see `load_file_within`); reads nothing
    /// into the workspace.
    pub fn published_again(
        &self,
        dir: &Path,
        rules: &RuleSet,
        paths: &[String],
        within: &[PathBuf],
        texts: &HashMap<String, String>,
    ) -> Option<PublishedAgain> {
        use rayon::prelude::*;
        let published = crate::persist::load_published(dir, &self.root, &rules.fingerprint)?;
        if published.identity != crate::walk::analysis_identity(&self.repository, &self.source_roots) {
            return None;
        }
        let mut keyed: Vec<(String, PathBuf)> = paths
            .iter()
            .map(|path| {
                let absolute = if Path::new(path).is_absolute() { PathBuf::from(path) } else { self.root.join(path) };
                (relative_path(&self.root, &absolute), absolute)
            })
            .collect();
        keyed.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        keyed.dedup_by(|a, b| a.0 == b.0);
        if keyed.len() != published.files.len() || keyed.iter().zip(&published.files).any(|((key, _), (path, _))| key != path) {
            return None;
        }
        let read: Option<Vec<(String, String)>> = pool_of(&self.pool.clone()).install(|| {
            keyed
                .par_iter()
                .zip(published.files.par_iter())
                .map(|((key, absolute), (_, hash))| {
                    let text = match texts.get(key) {
                        Some(text) => text.clone(),
                        None => load_source_within(absolute, key, within).0?,
                    };
                    (crate::persist::text_hash(&text) == *hash).then(|| (key.clone(), text))
                })
                .collect()
        });
        let mut read: HashMap<String, String> = read?.into_iter().collect();
        let mut named: std::collections::HashSet<&str> = published.syntax.iter().map(|(path, _)| path.as_str()).collect();
        for finding in &published.findings {
            named.insert(&finding.sink.path);
            named.insert(&finding.source.path);
            named.extend(finding.steps.iter().map(|step| step.location.path.as_str()));
        }
        let texts = named.into_iter().filter_map(|path| Some((path.to_string(), read.remove(path)?))).collect();
        Some(PublishedAgain { findings: published.findings, syntax: published.syntax, texts })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn repository_chunk(&self) -> &Chunk {
        &self.repository_chunk
    }

    /// The key of `path` (absolute, or relative to the root).
    pub fn key(&self, path: &str) -> String {
        let path = Path::new(path);
        let absolute = if path.is_absolute() { path.to_path_buf() } else { self.root.join(path) };
        relative_path(&self.root, &absolute)
    }

    fn chunk(&self, key: &str, document: &Document) -> (Vec<Chunk>, Vec<FileError>) {
        let (chunks, report) = chunk_document_in(&self.source_roots, &self.repository, &self.repository_chunk.id, key, document);
        let errors = parse_problems(key, document.text(), document.line_index(), document.tree(), &report);
        (chunks, errors)
    }

    /// Notes that `key`'s text changed by `change` (`None`: in a way not described).
    fn note_change(&mut self, key: &str, change: Option<TextChange>) {
        self.program_view = None;
        let first = self.changed_since_analysis.insert(key.to_string());
        match change {
            Some(change) if first => {
                self.text_changes.insert(key.to_string(), change);
            }
            Some(change) => {
                if let Some(pending) = self.text_changes.get_mut(key) {
                    *pending = pending.then(change);
                }
            }
            None => {
                self.text_changes.remove(key);
            }
        }
    }

    fn store(&mut self, key: String, document: Document, version: Option<i64>, mut extra_errors: Vec<FileError>) -> ChunkDiff {
        let change = self.files.get(&key).map(|state| TextChange::between(state.source.borrow_owner().text(), document.text()));
        self.note_change(&key, change);
        self.slice_changed.insert(key.clone());
        let (chunks, errors) = self.chunk(&key, &document);
        extra_errors.extend(errors);
        let state = FileState { source: AnalysedDocument::unanalysed(document), version, chunks, errors: extra_errors };
        let before = self.files.insert(key.clone(), state).map(|state| state.chunks).unwrap_or_default();
        self.note_tree_kept(&key);
        let diff = ChunkDiff::between(&before, &self.files[&key].chunks);
        self.index_diff(&key, &before, &diff);
        diff
    }

    /// After `key`'s document was stored, edited or removed: it becomes the most recently
    /// edited of the documents keeping a tree-sitter tree if it keeps one (else it is none of
    /// them), and the least recently edited beyond `TREE_SITTER_TREES_KEPT` let theirs go.
    fn note_tree_kept(&mut self, key: &str) {
        self.trees_kept.retain(|kept| kept != key);
        if !self.files.get(key).is_some_and(|state| state.source.borrow_owner().keeps_tree_sitter_tree()) {
            return;
        }
        self.trees_kept.push_back(key.to_string());
        while self.trees_kept.len() > TREE_SITTER_TREES_KEPT {
            let Some(oldest) = self.trees_kept.pop_front() else { break };
            if let Some(state) = self.files.get(&oldest) {
                state.source.borrow_owner().forget_tree_sitter_tree();
            }
        }
    }

    /// Reads the source roots again (`walk::source_roots`, after the root's packaging
    /// configuration changed). When they changed, every file's module is named anew: its
    /// program part and chunks are rebuilt and the next analysis sees every file changed.
    /// Returns whether they changed.
    pub fn refresh_source_roots(&mut self) -> bool {
        let roots = crate::walk::source_roots(&self.root);
        if roots == self.source_roots {
            return false;
        }
        self.source_roots = roots;
        self.slice_cache = SliceCache::default();
        let keys: Vec<String> = self.files.keys().cloned().collect();
        for key in keys {
            self.note_change(&key, None);
            let state = self.files.get_mut(&key).expect("listed above");
            let document = AnalysedDocument::take_document(&mut state.source);
            state.source = AnalysedDocument::unanalysed(document);
            let (chunks, _) = chunk_document_in(
                &self.source_roots,
                &self.repository,
                &self.repository_chunk.id,
                &key,
                self.files[&key].source.borrow_owner(),
            );
            let state = self.files.get_mut(&key).expect("listed above");
            let before = std::mem::replace(&mut state.chunks, chunks);
            let diff = ChunkDiff::between(&before, &self.files[&key].chunks);
            self.index_diff(&key, &before, &diff);
        }
        true
    }

    /// Sets a file's whole text (from disk or an editor's `didOpen`). With a version (an
    /// editor's open document) the document keeps its tree-sitter tree for incremental edits
    /// (while it is among the `TREE_SITTER_TREES_KEPT` most recently opened or edited ones);
    /// without one (the text on disk, e.g. after `didClose`) it keeps none.
    pub fn update_file(&mut self, path: &str, text: String, version: Option<i64>) -> ChunkDiff {
        let key = self.key(path);
        if is_template_path(Path::new(&key)) {
            self.templates.set(key, text, version);
            return ChunkDiff::default();
        }
        let document = if version.is_some() { Document::editable(text) } else { Document::new(text) };
        self.store(key, document, version, Vec::new())
    }

    /// Reads a file from disk. A file that cannot be read keeps no chunks and reports why.
    pub fn load_file(&mut self, path: &str) -> ChunkDiff {
        self.load_file_within(path, &[])
    }

    /// `load_file`, reading the file only if it resolves inside one of `within` (anywhere when
    /// empty), and without following a link or blocking once resolved (`safe_open`): a file
    /// swapped for a link, a FIFO or a device after the caller checked it is not read.
    pub fn load_file_within(&mut self, path: &str, within: &[PathBuf]) -> ChunkDiff {
        let key = self.key(path);
        let absolute = if Path::new(path).is_absolute() { PathBuf::from(path) } else { self.root.join(path) };
        let (text, errors) = load_source_within(&absolute, &key, within);
        if is_template_path(Path::new(&key)) {
            return self.store_template(key, text);
        }
        self.store_loaded(key, text.map(Document::new), errors)
    }

    /// Reads many files: `load_file` for each, in the order given, with reading and parsing
    /// done in parallel.
    pub fn load_files(&mut self, paths: &[String]) -> Vec<ChunkDiff> {
        self.load_files_within(paths, &[])
    }

    /// `load_files` reading only files that resolve inside one of `within` (see `load_file_within`).
    pub fn load_files_within(&mut self, paths: &[String], within: &[PathBuf]) -> Vec<ChunkDiff> {
        let trees = self.cache_dir.as_deref().map(crate::persist::trees::trees_dir);
        let read = read_files(&self.root, paths, within, trees.as_deref());
        self.store_read_files(read, None)
    }

    /// Stores what `read_files` read, in its order; with `only`, just the files whose keys it
    /// holds (a file opened in an editor meanwhile keeps the editor's text).
    pub fn store_read_files(&mut self, read: Vec<ReadFile>, only: Option<&std::collections::HashSet<String>>) -> Vec<ChunkDiff> {
        read.into_iter()
            .filter(|file| only.is_none_or(|keys| keys.contains(&file.key)))
            .map(|file| match is_template_path(Path::new(&file.key)) {
                true => self.store_template(file.key, file.template),
                false => {
                    self.tree_counts.loaded += usize::from(file.from_stored_tree);
                    self.store_loaded(file.key, file.document, file.errors)
                }
            })
            .collect()
    }

    /// Stores a template read from disk, or forgets one that could not be read.
    fn store_template(&mut self, key: String, text: Option<String>) -> ChunkDiff {
        match text {
            Some(text) => self.templates.set(key, text, None),
            None => {
                self.templates.remove(&key);
            }
        }
        ChunkDiff::default()
    }

    /// Stores a file read from disk, or (`None`) one that could not be read: it keeps no
    /// chunks and its errors say why.
    fn store_loaded(&mut self, key: String, document: Option<Document>, errors: Vec<FileError>) -> ChunkDiff {
        self.slice_changed.insert(key.clone());
        if let Some(document) = document {
            return self.store(key, document, None, errors);
        }
        self.note_change(&key, None);
        let before = self.files.remove(&key).map(|state| state.chunks).unwrap_or_default();
        let empty = AnalysedDocument::unanalysed(Document::new(String::new()));
        self.files.insert(key.clone(), FileState { source: empty, version: None, chunks: Vec::new(), errors });
        self.note_tree_kept(&key);
        let diff = ChunkDiff::between(&before, &[]);
        self.index_diff(&key, &before, &diff);
        diff
    }

    /// Applies LSP-style edits in order, then re-parses incrementally and re-chunks.
    pub fn apply_edits(&mut self, path: &str, version: i64, edits: &[PositionEdit], encoding: Encoding) -> Result<ChunkDiff> {
        let key = self.key(path);
        if is_template_path(Path::new(&key)) {
            self.templates.apply_edits(&key, version, edits, encoding)?;
            return Ok(ChunkDiff::default());
        }
        let state = self.files.get_mut(&key).ok_or_else(|| EngineError::UnknownFile(key.clone()))?;
        if let Some(current) = state.version {
            if version <= current {
                return Err(EngineError::InvalidEdit(format!("{key}: version {version} is not newer than the current version {current}")));
            }
        }
        self.slice_changed.insert(key.clone());
        self.program_view = None;
        let state = self.files.get_mut(&key).expect("checked above");
        let mut document = AnalysedDocument::take_document(&mut state.source);
        let mut changes: Vec<TextChange> = Vec::with_capacity(edits.len());
        for edit in edits {
            let byte_edit = document.to_byte_edit(edit, encoding);
            let change = match edit.range {
                None => TextChange::between(document.text(), &byte_edit.new_text),
                Some(_) => {
                    TextChange { start: byte_edit.start, old_end: byte_edit.old_end, new_end: byte_edit.start + byte_edit.new_text.len() }
                }
            };
            document.apply_edit(&byte_edit);
            changes.push(change);
        }
        let state = self.files.get_mut(&key).expect("checked above");
        document.reparse();
        state.source = AnalysedDocument::unanalysed(document);
        self.note_tree_kept(&key);
        match changes.into_iter().reduce(TextChange::then) {
            Some(change) => self.note_change(&key, Some(change)),
            None => self.note_change(&key, Some(TextChange { start: 0, old_end: 0, new_end: 0 })),
        }
        let state = self.files.get_mut(&key).expect("checked above");
        state.version = Some(version);
        let key_for_chunks = key.clone();
        let (chunks, errors) = {
            let state = &self.files[&key];
            self.chunk(&key_for_chunks, state.source.borrow_owner())
        };
        let state = self.files.get_mut(&key).expect("checked above");
        let diff = ChunkDiff::between(&state.chunks, &chunks);
        let before = std::mem::replace(&mut state.chunks, chunks);
        state.errors = errors;
        self.index_diff(&key, &before, &diff);
        Ok(diff)
    }

    pub fn remove_file(&mut self, path: &str) -> Result<ChunkDiff> {
        let key = self.key(path);
        if self.templates.remove(&key) {
            return Ok(ChunkDiff::default());
        }
        if !self.files.contains_key(&key) {
            return Err(EngineError::UnknownFile(key));
        }
        self.note_change(&key, None);
        self.slice_changed.insert(key.clone());
        let state = self.files.remove(&key).ok_or_else(|| EngineError::UnknownFile(key.clone()))?;
        self.note_tree_kept(&key);
        let diff = ChunkDiff::between(&state.chunks, &[]);
        self.index_diff(&key, &state.chunks, &diff);
        Ok(diff)
    }

    /// Passes a file's chunk diff from `before` to its current chunks on to the lexical index
    /// (once it exists), with the unchanged chunks whose document changed all the same.
    fn index_diff(&mut self, key: &str, before: &[Chunk], diff: &ChunkDiff) {
        let Some(index) = self.lexical.as_mut() else { return };
        let state = self.files.get(key);
        let stale = state.map(|state| schema::stale_documents(before, &state.chunks)).unwrap_or_default();
        for id in diff.removed.iter().chain(&diff.changed).map(String::as_str).chain(stale.iter().copied()) {
            index.delete(id);
        }
        if diff.added.is_empty() && diff.changed.is_empty() && stale.is_empty() {
            return;
        }
        let Some(state) = state else { return };
        let wanted: std::collections::HashSet<&str> = diff.added.iter().chain(&diff.changed).map(String::as_str).chain(stale).collect();
        let documents = schema::documents_for(index.fields(), &state.chunks, state.source.borrow_owner().text(), &wanted);
        index.add(documents);
    }

    /// A lexical index over every file's current chunks: the stored one brought up to date,
    /// or a new one (documents made in parallel).
    fn build_lexical(&self) -> Result<(LexicalIndex, SearchOpened)> {
        let files: Vec<(&str, &[Chunk], &str)> =
            self.files.iter().map(|(key, state)| (key.as_str(), state.chunks.as_slice(), state.source.borrow_owner().text())).collect();
        let store = self.search_store();
        open_or_build(&files, store.as_ref().map(|(cache, root)| (cache.as_path(), root.as_path())))
    }

    /// Where the lexical index is stored (cache directory, root), if anywhere.
    fn search_store(&self) -> Option<(PathBuf, PathBuf)> {
        self.cache_dir.clone().map(|cache| (cache, self.root.clone()))
    }

    fn install_lexical(&mut self, index: LexicalIndex, opened: SearchOpened) {
        self.lexical = Some(index);
        self.lexical_generation += 1;
        self.search_opened = opened;
    }

    /// How the lexical index came to be, its documents, and what writing it did.
    pub fn search_stats(&self) -> SearchStats {
        SearchStats {
            opened: self.search_opened.clone(),
            documents: self.search_documents(),
            indexed: self.lexical.as_ref().map_or(0, LexicalIndex::added),
            writes: self.search_writes.0,
            written_bytes: self.search_writes.1,
        }
    }

    /// What writing the lexical index to the cache directory needs, copied out (cheap), with
    /// the token to give `search_stored` once written: None without a cache directory or an
    /// index, or when the disk holds this state already. The write (`StoreJob::write`) needs
    /// no workspace.
    pub fn search_store_job(&mut self) -> std::result::Result<Option<(StoreJob, SearchStoreToken)>, String> {
        let (Some(cache), Some(index)) = (self.cache_dir.as_deref(), self.lexical.as_mut()) else { return Ok(None) };
        if index.broken().is_some() {
            return Ok(None);
        }
        let files = &self.files;
        let sources = || {
            use rayon::prelude::*;
            let files: Vec<(&String, &FileState)> = files.iter().collect();
            pool_of(&self.pool.clone()).install(|| {
                files
                    .par_iter()
                    .map(|(key, state)| store::Source { key: (*key).clone(), hash: store::text_hash(state.source.borrow_owner().text()) })
                    .collect()
            })
        };
        let job = index.store_job(cache, &self.root, sources)?;
        Ok(job.map(|(job, operations)| (job, SearchStoreToken { generation: self.lexical_generation, operations })))
    }

    /// Notes that a `search_store_job` was written (unless the index was replaced since).
    pub fn search_stored(&mut self, token: SearchStoreToken, written: Written) {
        self.search_writes.0 += 1;
        self.search_writes.1 += written.bytes;
        if token.generation == self.lexical_generation {
            if let Some(index) = self.lexical.as_mut() {
                index.stored(token.operations);
            }
        }
    }

    /// Writes the lexical index to the cache directory now, if it changed since it was last
    /// written (see `search_store_job`, which callers holding a lock use instead).
    pub fn persist_search(&mut self) -> std::result::Result<Option<Written>, String> {
        let Some((job, token)) = self.search_store_job()? else { return Ok(None) };
        let written = job.write()?;
        self.search_stored(token, written);
        Ok(Some(written))
    }

    /// What the lexical index is made of, copied out so that it can be built without the
    /// workspace (`SearchSnapshot::build`, then `install_search_index`); None when the index
    /// exists already.
    pub fn search_snapshot(&self) -> Option<SearchSnapshot> {
        if self.lexical.as_ref().is_some_and(|index| index.broken().is_none()) {
            return None;
        }
        let files = self
            .files
            .iter()
            .map(|(key, state)| (key.clone(), state.chunks.clone(), state.source.borrow_owner().text().to_string()))
            .collect();
        Some(SearchSnapshot { files, store: self.search_store() })
    }

    /// Installs an index built from a snapshot, brought up to date with every change made
    /// since (per file, the diff between the snapshot's chunks and the current ones: a
    /// document follows from its chunk: identity, content hash, signature, docstring, inner
    /// spans; `schema::stale_documents`). False, and nothing changes, when an index exists already.
    pub fn install_search_index(&mut self, prepared: PreparedSearch) -> Result<bool> {
        if self.lexical.as_ref().is_some_and(|index| index.broken().is_none()) {
            return Ok(false);
        }
        self.install_lexical(prepared.index, prepared.opened);
        let mut before: HashMap<String, Vec<Chunk>> = prepared.chunks.into_iter().collect();
        let keys: Vec<String> = self.files.keys().cloned().collect();
        for key in keys {
            let old = before.remove(&key).unwrap_or_default();
            if old != self.files[&key].chunks {
                let diff = ChunkDiff::between(&old, &self.files[&key].chunks);
                self.index_diff(&key, &old, &diff);
            }
        }
        for (key, old) in before {
            self.index_diff(&key, &old, &ChunkDiff::between(&old, &[]));
        }
        self.lexical.as_mut().expect("installed above").commit().map_err(EngineError::Search)?;
        Ok(true)
    }

    /// Builds the lexical index now if no search has yet (a search would build it).
    pub fn prepare_search(&mut self) -> Result<()> {
        if self.lexical.as_ref().is_none_or(|index| index.broken().is_some()) {
            let (index, opened) = self.build_lexical()?;
            self.install_lexical(index, opened);
        }
        let index = self.lexical.as_mut().expect("built above");
        index.commit().map_err(EngineError::Search)
    }

    /// The best `limit` chunks of the current texts for `query`, best first (see
    /// `lexical::SearchMode`). The first search builds the index; a broken index is rebuilt.
    pub fn search(&mut self, query: &str, limit: usize, mode: SearchMode) -> Result<Vec<Hit>> {
        self.prepare_search()?;
        let found = match self.lexical.as_mut().expect("prepared").search(query, limit, mode) {
            Ok(found) => found,
            Err(_) => {
                // A failed writer is not the query's fault: once more on a fresh index.
                self.lexical = None;
                self.prepare_search()?;
                self.lexical.as_mut().expect("prepared").search(query, limit, mode).map_err(EngineError::Search)?
            }
        };
        let mut hits: Vec<Hit> = found
            .into_iter()
            .filter_map(|hit| {
                let chunk = self.files.get(&hit.path)?.chunks.iter().find(|chunk| chunk.id == hit.chunk_id)?;
                Some(Hit {
                    chunk_id: hit.chunk_id,
                    path: hit.path,
                    qualified_name: chunk.qualified_name.clone(),
                    kind: chunk.kind,
                    start_line: chunk.start_line,
                    end_line: chunk.end_line,
                    score: hit.score,
                })
            })
            .collect();
        // Equal scores in file order, whatever segments the documents landed in.
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.path.cmp(&b.path)).then(a.start_line.cmp(&b.start_line)));
        Ok(hits)
    }

    /// Documents in the lexical index (0 before the first search).
    pub fn search_documents(&self) -> u64 {
        self.lexical.as_ref().map_or(0, LexicalIndex::documents)
    }

    fn state(&self, path: &str) -> Result<&FileState> {
        let key = self.key(path);
        self.files.get(&key).ok_or(EngineError::UnknownFile(key))
    }

    pub fn chunks(&self, path: &str) -> Result<&[Chunk]> {
        Ok(&self.state(path)?.chunks)
    }

    pub fn document(&self, path: &str) -> Result<&Document> {
        Ok(self.state(path)?.source.borrow_owner())
    }

    pub fn files(&self) -> Vec<String> {
        self.files.keys().cloned().collect()
    }

    /// Every template file with its text (`templates::is_template_path`).
    pub fn template_files(&self) -> Vec<(String, String)> {
        self.templates.versions().filter_map(|(key, _)| Some((key.clone(), self.templates.text(&key)?.to_string()))).collect()
    }

    /// Every file with its version (None for files read from disk), in one call; template
    /// files included.
    pub fn versions(&self) -> Vec<(String, Option<i64>)> {
        self.files.iter().map(|(path, state)| (path.clone(), state.version)).chain(self.templates.versions()).collect()
    }

    pub fn version(&self, path: &str) -> Result<Option<i64>> {
        if let Some(version) = self.templates.version(&self.key(path)) {
            return Ok(version);
        }
        Ok(self.state(path)?.version)
    }

    /// A file's current text: a Python file's or a template's.
    pub fn text(&self, path: &str) -> Result<&str> {
        match self.templates.text(&self.key(path)) {
            Some(text) => Ok(text),
            None => Ok(self.document(path)?.text()),
        }
    }

    pub fn errors(&self, path: &str) -> Result<&[FileError]> {
        if self.templates.version(&self.key(path)).is_some() {
            return Ok(&[]);
        }
        Ok(&self.state(path)?.errors)
    }

    pub fn position_to_offset(&self, path: &str, line: usize, column: usize, encoding: Encoding) -> Result<usize> {
        let document = self.document(path)?;
        Ok(document.line_index().offset(document.text(), line, column, encoding))
    }

    pub fn offset_to_position(&self, path: &str, offset: usize, encoding: Encoding) -> Result<(usize, usize)> {
        let document = self.document(path)?;
        Ok(document.line_index().position(document.text(), offset, encoding))
    }

    /// The occurrences of the variable named at a 0-based line and UTF-8 byte column of
    /// `path`'s current text, as byte ranges in document order (see `scopes::occurrences_at`).
    pub fn occurrences(&self, path: &str, line: usize, column: usize) -> Result<Vec<Occurrence>> {
        let document = self.document(path)?;
        let offset = document.line_index().offset(document.text(), line, column, Encoding::Utf8);
        Ok(occurrences_at(document.text(), document.tree(), offset))
    }

    /// Builds the program parts of documents changed since they were last built (in parallel)
    /// and numbers every part by its place in the key order.
    fn prepare_program(&mut self) {
        use rayon::prelude::*;
        if self.program_view.as_ref().is_some_and(|view| view.is_over(self.files.values().map(|state| &state.source))) {
            // Built over the current parts, which are numbered and built.
            return;
        }
        // The view shares the documents replaced or renumbered below.
        self.program_view = None;
        let unbuilt: Vec<(usize, &String, &mut FileState)> = self
            .files
            .iter_mut()
            .enumerate()
            .filter(|(_, (_, state))| state.source.borrow_dependent().is_none())
            .map(|(index, (path, state))| (index, path, state))
            .collect();
        let roots = &self.source_roots;
        pool_of(&self.pool.clone()).install(|| {
            unbuilt.into_par_iter().for_each(|(index, path, state)| {
                let document = AnalysedDocument::take_document(&mut state.source);
                state.source = std::sync::Arc::new(AnalysedDocument::new(document, |document| {
                    Some(FileProgram::build_in(path.clone(), roots, document, index, 0))
                }));
            })
        });
        let mut offset = 0;
        for (index, state) in self.files.values_mut().enumerate() {
            let part = state.source.borrow_dependent().as_ref().expect("built above");
            let scopes = part.scopes.len();
            if (part.file_index, part.scope_offset) != (index, offset) {
                std::sync::Arc::get_mut(&mut state.source)
                    .expect("shared only by the program view, dropped above")
                    .with_dependent_mut(|_, part| part.as_mut().expect("built above").renumber(index, offset));
            }
            offset += scopes;
        }
    }

    /// The whole-program view over every file's current text (after `prepare_program`).
    fn program_view(&self) -> Program<'_> {
        Program::from_parts(self.files.values().map(|state| state.source.borrow_dependent().as_ref().expect("program prepared")))
            .with_root(&self.root)
    }

    /// Runs `f` on the program view over every file's current text, built only when a file
    /// changed since the last call (`ProgramView`).
    fn with_program_view<R>(&mut self, f: impl FnOnce(&Program<'_>) -> R) -> R {
        self.prepare_program();
        if self.program_view.is_none() {
            let documents: Vec<SharedDocument> = self.files.values().map(|state| state.source.clone()).collect();
            let root = &self.root;
            self.program_view = Some(ProgramView::new(documents, |documents| {
                Program::from_parts(documents.iter().map(|document| document.borrow_dependent().as_ref().expect("program prepared")))
                    .with_root(root)
            }));
            self.program_views_built += 1;
        }
        self.program_view.as_ref().expect("built above").with_dependent(|_, program| f(program))
    }

    /// How many program views slices have built (one per state of the files they were asked in).
    pub fn program_views_built(&self) -> usize {
        self.program_views_built
    }

    /// The whole-program view over every file's current text.
    pub fn program(&mut self) -> Program<'_> {
        self.prepare_program();
        self.program_view()
    }

    /// Taint findings over the current texts (the same analysis as `scan::scan_paths`),
    /// re-analysing only what changed since the last call.
    pub fn analyze_taint(&mut self, rules: &RuleSet) -> Vec<Finding> {
        if !self.cache_read {
            self.restore_cache(rules);
        }
        let previous = self.analysis_cache.take();
        let timer = std::time::Instant::now();
        self.prepare_program();
        if crate::taint::debug_analysis() {
            eprintln!("parts {:?}", timer.elapsed());
        }
        let changed = std::mem::take(&mut self.changed_since_analysis);
        let changes = std::mem::take(&mut self.text_changes);
        let templates = self.templates.template_set();
        let program = self.program_view().with_templates(templates);
        if crate::taint::debug_analysis() {
            eprintln!("program {:?}", timer.elapsed());
        }
        let (result, cache, stats) =
            pool_of(&self.pool.clone()).install(|| analyze_incrementally_after(&program, rules, previous, Some(&changed), &changes));
        drop(program);
        self.analysis_cache = Some(cache);
        self.last_analysis = stats;
        self.last_findings = Some(result.findings.clone());
        if crate::taint::debug_analysis() {
            eprintln!("workspace total {:?}", timer.elapsed());
        }
        result.findings
    }

    /// What the last `analyze_taint` did: scopes in total, reused from the cache, analysed.
    pub fn last_analysis(&self) -> AnalysisStats {
        self.last_analysis
    }

    /// A slice from `path` at a 0-based line and optional byte column.
    pub fn slice(&mut self, path: &str, line: usize, column: Option<usize>, forward: bool, thin: bool) -> Result<SliceResult> {
        let key = self.key(path);
        self.state(&key)?;
        let mut cache = std::mem::take(&mut self.slice_cache);
        let mut ir = std::mem::take(&mut self.ir_cache);
        let changed = std::mem::take(&mut self.slice_changed);
        let result = self.with_program_view(|program| {
            slice_at_with_cache(program, &key, line, column, forward, thin, &mut cache, &mut ir, Some(&changed))
        });
        self.slice_cache = cache;
        self.ir_cache = ir;
        result.map_err(EngineError::Criterion)
    }

    /// Prepares slicing the current texts, `limit` scopes at a time (`slice::Sdg::prepare`):
    /// every scope's graph built and linked, then every function's effects computed, so no
    /// later slice pays for a first visit. Cheap when little changed since the last
    /// preparation. Returns how many scopes are still to prepare (0: done).
    pub fn prepare_slices(&mut self, limit: usize) -> usize {
        let cache = std::mem::take(&mut self.slice_cache);
        let mut ir = std::mem::take(&mut self.ir_cache);
        let changed = std::mem::take(&mut self.slice_changed);
        if !changed.is_empty() {
            // Texts changed since the last preparation: lowerings nothing asked for since the
            // previous sweep are of texts an edit replaced (one per keystroke in the scope typed
            // into); a live scope dropped here is lowered again when its graph is next built.
            ir.sweep();
        }
        let own = self.pool.clone();
        let (remaining, cache, ir) = self.with_program_view(|program| {
            let mut sdg = Sdg::with_caches(program, cache, ir, Some(&changed));
            let remaining = pool_of(&own).install(|| sdg.prepare(limit));
            let (cache, ir) = sdg.into_caches();
            (remaining, cache, ir)
        });
        self.slice_cache = cache;
        self.ir_cache = ir;
        remaining
    }

    /// What the slice cache's refreshes did, and how many scope graphs slices built.
    pub fn slice_cache_stats(&self) -> (RefreshStats, usize) {
        self.slice_cache.stats()
    }

    /// PDGs of the scopes of one file (module body first, then functions in document order).
    pub fn pdgs(&mut self, path: &str) -> Result<Vec<PdgSummary>> {
        let key = self.key(path);
        self.state(&key)?;
        Ok(self.with_program_view(|program| {
            (0..program.scopes.len())
                .filter(|&scope| program.files[program.scopes[scope].file].path == key)
                .map(|scope| summarize_pdg(program, scope))
                .collect()
        }))
    }
}
