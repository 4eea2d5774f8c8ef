//! The one binding module: `flowsight._native`. Only this crate imports pyo3.
//!
//! Conversion rules: engine values become frozen pyclasses (plain data, `__eq__`, `__repr__`);
//! `EngineError` becomes an exception from `flowsight.errors` (see `errors.rs`); calls that
//! parse or chunk release the GIL. The typed surface is `server/flowsight/_native.pyi`.

use std::path::PathBuf;
use std::sync::Mutex;

use crate::errors::catch_panic;
use flowsight_engine::chunks::Chunk as EngineChunk;
use flowsight_engine::error::EngineError;
use flowsight_engine::index;
use flowsight_engine::lexical::SearchMode;
use flowsight_engine::line_index::Encoding;
use flowsight_engine::parse::{syntax_errors, PositionEdit};
use flowsight_engine::source::FileError as EngineFileError;
use flowsight_engine::workspace::{
    ChunkDiff as EngineChunkDiff, Hit as EngineHit, PreparedSearch, SearchSnapshot, Workspace as EngineWorkspace,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

mod analysis;
mod errors;
mod merging;
mod walking;

use errors::to_py_err;

#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// A chunk; fields are converted to Python objects when read (most chunks are never read whole).
#[pyclass(frozen, eq, module = "flowsight._native")]
#[derive(Clone, PartialEq)]
struct Chunk {
    inner: EngineChunk,
}

impl From<&EngineChunk> for Chunk {
    fn from(chunk: &EngineChunk) -> Chunk {
        Chunk { inner: chunk.clone() }
    }
}

impl From<EngineChunk> for Chunk {
    fn from(inner: EngineChunk) -> Chunk {
        Chunk { inner }
    }
}

#[pymethods]
impl Chunk {
    #[getter]
    fn id(&self) -> &str {
        &self.inner.id
    }
    #[getter]
    fn parent_id(&self) -> Option<&str> {
        self.inner.parent_id.as_deref()
    }
    #[getter]
    fn kind(&self) -> &'static str {
        self.inner.kind.as_str()
    }
    #[getter]
    fn path(&self) -> &str {
        &self.inner.path
    }
    #[getter]
    fn qualified_name(&self) -> &str {
        &self.inner.qualified_name
    }
    #[getter]
    fn start_byte(&self) -> usize {
        self.inner.start_byte
    }
    #[getter]
    fn end_byte(&self) -> usize {
        self.inner.end_byte
    }
    #[getter]
    fn start_line(&self) -> usize {
        self.inner.start_line
    }
    #[getter]
    fn end_line(&self) -> usize {
        self.inner.end_line
    }
    #[getter]
    fn signature(&self) -> &str {
        &self.inner.signature
    }
    #[getter]
    fn docstring(&self) -> Option<&str> {
        self.inner.docstring.as_deref()
    }
    #[getter]
    fn content_hash(&self) -> &str {
        &self.inner.content_hash
    }

    fn __repr__(&self) -> String {
        let c = &self.inner;
        format!(
            "Chunk(kind={:?}, qualified_name={:?}, path={:?}, lines={}-{}, id={:?})",
            c.kind.as_str(),
            c.qualified_name,
            c.path,
            c.start_line,
            c.end_line,
            c.id
        )
    }

    fn __hash__(&self) -> u64 {
        u64::from_str_radix(&self.inner.id[..16.min(self.inner.id.len())], 16).unwrap_or(0)
    }

    /// All fields as a dict (JSON-ready).
    fn as_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let c = &self.inner;
        let dict = PyDict::new(py);
        dict.set_item("id", &c.id)?;
        dict.set_item("parent_id", &c.parent_id)?;
        dict.set_item("kind", c.kind.as_str())?;
        dict.set_item("path", &c.path)?;
        dict.set_item("qualified_name", &c.qualified_name)?;
        dict.set_item("start_byte", c.start_byte)?;
        dict.set_item("end_byte", c.end_byte)?;
        dict.set_item("start_line", c.start_line)?;
        dict.set_item("end_line", c.end_line)?;
        dict.set_item("signature", &c.signature)?;
        dict.set_item("docstring", &c.docstring)?;
        dict.set_item("content_hash", &c.content_hash)?;
        Ok(dict)
    }
}

#[pyclass(frozen, eq, module = "flowsight._native", get_all)]
#[derive(Clone, PartialEq)]
pub struct FileError {
    path: String,
    kind: &'static str,
    message: String,
}

impl From<&EngineFileError> for FileError {
    fn from(error: &EngineFileError) -> FileError {
        FileError { path: error.path.clone(), kind: error.kind.as_str(), message: error.message.clone() }
    }
}

#[pymethods]
impl FileError {
    fn __repr__(&self) -> String {
        format!("FileError(path={:?}, kind={:?}, message={:?})", self.path, self.kind, self.message)
    }

    fn __str__(&self) -> String {
        format!("{}: {} ({})", self.path, self.message, self.kind)
    }
}

/// One syntax error of a file: 0-based lines, UTF-8 byte columns.
#[pyclass(frozen, eq, module = "flowsight._native", get_all)]
#[derive(Clone, PartialEq)]
struct SyntaxErrorLocation {
    path: String,
    start_line: usize,
    start_column: usize,
    end_line: usize,
    end_column: usize,
    message: String,
}

#[pymethods]
impl SyntaxErrorLocation {
    fn __repr__(&self) -> String {
        format!(
            "SyntaxErrorLocation({}:{}:{}-{}:{}: {})",
            self.path, self.start_line, self.start_column, self.end_line, self.end_column, self.message
        )
    }
}

/// One occurrence of a variable: 0-based lines, UTF-8 byte columns; `kind` is "read",
/// "write" or "text".
#[pyclass(frozen, eq, module = "flowsight._native", get_all)]
#[derive(Clone, PartialEq)]
struct Occurrence {
    start_line: usize,
    start_column: usize,
    end_line: usize,
    end_column: usize,
    kind: &'static str,
}

#[pymethods]
impl Occurrence {
    fn __repr__(&self) -> String {
        format!("Occurrence({}:{}-{}:{} {})", self.start_line, self.start_column, self.end_line, self.end_column, self.kind)
    }
}

#[pyclass(frozen, eq, module = "flowsight._native", get_all)]
#[derive(Clone, PartialEq)]
struct ChunkDiff {
    added: Vec<String>,
    removed: Vec<String>,
    changed: Vec<String>,
    unchanged: usize,
}

impl From<EngineChunkDiff> for ChunkDiff {
    fn from(diff: EngineChunkDiff) -> ChunkDiff {
        ChunkDiff { added: diff.added, removed: diff.removed, changed: diff.changed, unchanged: diff.unchanged }
    }
}

#[pymethods]
impl ChunkDiff {
    fn __repr__(&self) -> String {
        format!(
            "ChunkDiff(added={}, removed={}, changed={}, unchanged={})",
            self.added.len(),
            self.removed.len(),
            self.changed.len(),
            self.unchanged
        )
    }
}

/// A search result: a chunk of the workspace's current texts and its score.
#[pyclass(frozen, eq, module = "flowsight._native", get_all)]
#[derive(Clone, PartialEq)]
struct SearchHit {
    chunk_id: String,
    path: String,
    qualified_name: String,
    kind: &'static str,
    start_line: usize,
    end_line: usize,
    score: f64,
}

impl From<EngineHit> for SearchHit {
    fn from(hit: EngineHit) -> SearchHit {
        SearchHit {
            chunk_id: hit.chunk_id,
            path: hit.path,
            qualified_name: hit.qualified_name,
            kind: hit.kind.as_str(),
            start_line: hit.start_line,
            end_line: hit.end_line,
            score: f64::from(hit.score),
        }
    }
}

#[pymethods]
impl SearchHit {
    fn __repr__(&self) -> String {
        format!(
            "SearchHit({:?}, kind={:?}, path={:?}, lines={}-{}, score={:.3})",
            self.qualified_name, self.kind, self.path, self.start_line, self.end_line, self.score
        )
    }

    /// The fields as a dict (JSON-ready).
    fn as_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        dict.set_item("path", &self.path)?;
        dict.set_item("start_line", self.start_line)?;
        dict.set_item("end_line", self.end_line)?;
        dict.set_item("qualified_name", &self.qualified_name)?;
        dict.set_item("kind", self.kind)?;
        dict.set_item("chunk_id", &self.chunk_id)?;
        dict.set_item("score", self.score)?;
        Ok(dict)
    }
}

fn search_mode(name: &str) -> PyResult<SearchMode> {
    match name {
        "lexical" => Ok(SearchMode::Text),
        "symbols" => Ok(SearchMode::Symbols),
        _ => Err(PyValueError::new_err(format!(
            "unknown search mode {name:?}: the native index answers \"lexical\" (free text) and \"symbols\" (names, fuzzy)"
        ))),
    }
}

#[pyclass(frozen, module = "flowsight._native", get_all)]
struct IndexResult {
    chunks: Vec<Chunk>,
    errors: Vec<FileError>,
    files: usize,
    /// Wall-clock time of the call.
    wall_seconds: f64,
    /// Per-file wall times summed over files and threads (`index::IndexResult`).
    parse_work_seconds: f64,
    chunk_work_seconds: f64,
    repositories: Vec<RepositoryIndex>,
}

/// One repository of an index run: its chunks are `chunks[chunk_start:chunk_end]` of the result
/// (its repository chunk first).
#[pyclass(frozen, module = "flowsight._native", get_all)]
#[derive(Clone)]
struct RepositoryIndex {
    name: String,
    identity: String,
    root: PathBuf,
    files: usize,
    chunk_start: usize,
    chunk_end: usize,
    errors: usize,
}

#[pymethods]
impl RepositoryIndex {
    fn __repr__(&self) -> String {
        format!("RepositoryIndex(name={:?}, root={:?}, files={})", self.name, self.root, self.files)
    }
}

#[pymethods]
impl IndexResult {
    fn __repr__(&self) -> String {
        format!(
            "IndexResult(files={}, chunks={}, errors={}, wall_seconds={:.3})",
            self.files,
            self.chunks.len(),
            self.errors.len(),
            self.wall_seconds
        )
    }
}

#[pyclass(frozen, eq, module = "flowsight._native", get_all)]
#[derive(Clone, PartialEq)]
struct TextEdit {
    start_line: Option<usize>,
    start_character: Option<usize>,
    end_line: Option<usize>,
    end_character: Option<usize>,
    text: String,
}

#[pymethods]
impl TextEdit {
    #[new]
    fn new(start_line: usize, start_character: usize, end_line: usize, end_character: usize, text: String) -> TextEdit {
        TextEdit {
            start_line: Some(start_line),
            start_character: Some(start_character),
            end_line: Some(end_line),
            end_character: Some(end_character),
            text,
        }
    }

    /// A whole-document replacement.
    #[staticmethod]
    fn full(text: String) -> TextEdit {
        TextEdit { start_line: None, start_character: None, end_line: None, end_character: None, text }
    }

    fn __repr__(&self) -> String {
        match (self.start_line, self.start_character, self.end_line, self.end_character) {
            (Some(a), Some(b), Some(c), Some(d)) => format!("TextEdit({a}, {b}, {c}, {d}, {:?})", self.text),
            _ => format!("TextEdit.full({:?})", self.text),
        }
    }
}

impl TextEdit {
    fn to_engine(&self) -> PositionEdit {
        let range = match (self.start_line, self.start_character, self.end_line, self.end_character) {
            (Some(a), Some(b), Some(c), Some(d)) => Some(((a, b), (c, d))),
            _ => None,
        };
        PositionEdit { range, new_text: self.text.clone() }
    }
}

fn encoding(name: &str) -> PyResult<Encoding> {
    Encoding::parse(name)
        .ok_or_else(|| PyValueError::new_err(format!("unknown encoding {name:?}: expected \"utf-8\", \"utf-16\" or \"utf-32\"")))
}

fn chunks_to_py(chunks: &[EngineChunk]) -> Vec<Chunk> {
    chunks.iter().map(Chunk::from).collect()
}

/// Reads, parses and chunks `paths` (files or directories) in parallel: each named directory a
/// repository (see `walk_files`), or all one repository at `root`.
#[pyfunction]
#[pyo3(signature = (paths, root=None, excludes=Vec::new()))]
fn index_paths(py: Python<'_>, paths: Vec<PathBuf>, root: Option<PathBuf>, excludes: walking::ExcludeArgs) -> PyResult<IndexResult> {
    let excludes = walking::compile_excludes(excludes)?;
    let result = py.allow_threads(|| catch_panic(|| index::index_with(&paths, root.as_deref(), &excludes)))?;
    Ok(index_result(result))
}

/// Indexes the repositories a `walk_files` found, in parallel.
#[pyfunction]
fn index_discovered(py: Python<'_>, discovery: PyRef<'_, walking::Discovery>) -> PyResult<IndexResult> {
    let discovered = &discovery.inner;
    let result = py.allow_threads(|| catch_panic(|| index::index_discovered(discovered)))?;
    Ok(index_result(result))
}

fn index_result(result: index::IndexResult) -> IndexResult {
    IndexResult {
        repositories: result
            .repositories
            .iter()
            .map(|r| RepositoryIndex {
                name: r.name.clone(),
                identity: r.identity.clone(),
                root: r.root.clone(),
                files: r.files,
                chunk_start: r.chunks.start,
                chunk_end: r.chunks.end,
                errors: r.errors,
            })
            .collect(),
        chunks: result.chunks.into_iter().map(Chunk::from).collect(),
        errors: result.errors.iter().map(FileError::from).collect(),
        files: result.files,
        wall_seconds: result.wall_seconds,
        parse_work_seconds: result.parse_work_seconds,
        chunk_work_seconds: result.chunk_work_seconds,
    }
}

/// The chunks of `paths` (files or directories), the repository chunk first.
#[pyfunction]
#[pyo3(signature = (paths, root=None))]
fn build_chunks(py: Python<'_>, paths: Vec<PathBuf>, root: Option<PathBuf>) -> PyResult<Vec<Chunk>> {
    let result = py.allow_threads(|| catch_panic(|| index::index_paths(&paths, root.as_deref())))?;
    Ok(result.chunks.into_iter().map(Chunk::from).collect())
}

/// Reads and parses `paths` without chunking: (files parsed, wall seconds). For benchmarks.
/// The code tokenizer's tokens of `texts` (lower-cased identifiers and their snake_case,
/// camelCase and digit parts; what the lexical index stores), one list per text.
#[pyfunction]
fn code_tokens(py: Python<'_>, texts: Vec<String>) -> PyResult<Vec<Vec<String>>> {
    Ok(py.allow_threads(|| {
        catch_panic(|| {
            texts
                .iter()
                .map(|text| flowsight_engine::lexical::tokenizer::code_tokens(text).into_iter().map(|(_, token)| token).collect())
                .collect()
        })
    })?)
}

#[pyfunction]
fn parse_only(py: Python<'_>, paths: Vec<PathBuf>) -> PyResult<(usize, f64)> {
    Ok(py.allow_threads(|| catch_panic(|| index::parse_only(&paths)))?)
}

/// The lexical index of a workspace being built apart from it: a snapshot, then the built index,
/// then installed (taken) by `Workspace.install_search_index`.
enum BuildState {
    Snapshot(SearchSnapshot),
    Built(Box<PreparedSearch>),
    Taken,
}

#[pyclass(frozen, module = "flowsight._native")]
struct SearchIndexBuild {
    state: Mutex<BuildState>,
}

#[pymethods]
impl SearchIndexBuild {
    /// Builds the index from the snapshot (GIL released; no lock of the workspace held).
    fn build(&self, py: Python<'_>) -> PyResult<()> {
        let result = py.allow_threads(|| {
            catch_panic(|| -> Result<(), EngineError> {
                let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                if let BuildState::Snapshot(snapshot) = std::mem::replace(&mut *state, BuildState::Taken) {
                    *state = BuildState::Built(Box::new(snapshot.build()?));
                }
                Ok(())
            })
        });
        result?.map_err(to_py_err)
    }
}

/// Files read and parsed by `Workspace.read_files`, until `Workspace.store_read_files` takes them.
#[pyclass(frozen, module = "flowsight._native")]
struct ReadFiles {
    files: Mutex<Option<Vec<flowsight_engine::workspace::ReadFile>>>,
}

#[pymethods]
impl ReadFiles {
    fn __len__(&self) -> usize {
        self.files.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).as_ref().map_or(0, Vec::len)
    }
}

/// An incremental view of one repository; see the `.pyi` for the contract.
#[pyclass(frozen, module = "flowsight._native")]
struct Workspace {
    root: String,
    inner: Mutex<EngineWorkspace>,
    rules: Mutex<analysis::RulesCache>,
}

impl Workspace {
    /// Runs `work` on the engine workspace without the GIL; a panic becomes `InternalError`.
    fn with<T: Send>(&self, py: Python<'_>, work: impl FnOnce(&mut EngineWorkspace) -> T + Send) -> PyResult<T> {
        let result = py.allow_threads(|| {
            let mut guard = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            catch_panic(|| work(&mut guard))
        });
        Ok(result?)
    }

    /// The rule set for these settings (cached by their values), loaded without the GIL.
    fn rules_for(
        &self,
        py: Python<'_>,
        rules_file: Option<&PathBuf>,
        disabled_rules: &[String],
        threat_models: Option<&[String]>,
    ) -> PyResult<std::sync::Arc<flowsight_engine::rules::RuleSet>> {
        py.allow_threads(|| {
            self.rules.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).get(rules_file, disabled_rules, threat_models)
        })
        .map_err(to_py_err)
    }

    /// `with` for engine work that can fail: an `EngineError` becomes its `flowsight.errors` class.
    fn run<T: Send>(&self, py: Python<'_>, work: impl FnOnce(&mut EngineWorkspace) -> Result<T, EngineError> + Send) -> PyResult<T> {
        self.with(py, work)?.map_err(to_py_err)
    }
}

#[pymethods]
impl Workspace {
    #[new]
    fn new(root: PathBuf) -> Workspace {
        let inner = EngineWorkspace::new(&root);
        Workspace { root: inner.root().to_string_lossy().into_owned(), inner: Mutex::new(inner), rules: Mutex::default() }
    }

    #[getter]
    fn root(&self) -> &str {
        &self.root
    }

    #[pyo3(signature = (path, text, version=None))]
    fn update_file(&self, py: Python<'_>, path: &str, text: String, version: Option<i64>) -> PyResult<ChunkDiff> {
        Ok(self.with(py, |ws| ws.update_file(path, text, version))?.into())
    }

    /// Reads a file from disk; with `within`, only if it resolves inside one of those
    /// directories, and never through a link or a blocking open once resolved.
    #[pyo3(signature = (path, within=None))]
    fn load_file(&self, py: Python<'_>, path: &str, within: Option<Vec<PathBuf>>) -> PyResult<ChunkDiff> {
        let within = within.unwrap_or_default();
        Ok(self.with(py, |ws| ws.load_file_within(path, &within))?.into())
    }

    /// `load_file` for each path, reading and parsing in parallel.
    #[pyo3(signature = (paths, within=None))]
    fn load_files(&self, py: Python<'_>, paths: Vec<String>, within: Option<Vec<PathBuf>>) -> PyResult<Vec<ChunkDiff>> {
        let within = within.unwrap_or_default();
        Ok(self.with(py, |ws| ws.load_files_within(&paths, &within))?.into_iter().map(ChunkDiff::from).collect())
    }

    /// Reads and parses `paths` in parallel without the workspace's lock (GIL released); with
    /// `within`, only files that resolve inside one of those directories; with `cache_dir` (the
    /// persistent cache's directory), files whose stored tree is valid are built from it.
    #[pyo3(signature = (paths, within=None, cache_dir=None))]
    fn read_files(
        &self,
        py: Python<'_>,
        paths: Vec<String>,
        within: Option<Vec<PathBuf>>,
        cache_dir: Option<PathBuf>,
    ) -> PyResult<ReadFiles> {
        let root = PathBuf::from(&self.root);
        let within = within.unwrap_or_default();
        let trees = cache_dir.as_deref().map(flowsight_engine::persist::trees::trees_dir);
        let read =
            py.allow_threads(|| catch_panic(|| flowsight_engine::workspace::read_files(&root, &paths, &within, trees.as_deref())))?;
        Ok(ReadFiles { files: Mutex::new(Some(read)) })
    }

    /// Stores what `read_files` read (once), only the files whose keys are in `only` if given.
    #[pyo3(signature = (read, only=None))]
    fn store_read_files(
        &self,
        py: Python<'_>,
        read: PyRef<'_, ReadFiles>,
        only: Option<std::collections::HashSet<String>>,
    ) -> PyResult<Vec<ChunkDiff>> {
        let files = read
            .files
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take()
            .ok_or_else(|| pyo3::exceptions::PyValueError::new_err("these files were stored already"))?;
        Ok(self.with(py, |ws| ws.store_read_files(files, only.as_ref()))?.into_iter().map(ChunkDiff::from).collect())
    }

    /// The best `limit` chunks for `query` over the current texts, best first.
    #[pyo3(signature = (query, limit=20, mode="lexical"))]
    fn search(&self, py: Python<'_>, query: &str, limit: usize, mode: &str) -> PyResult<Vec<SearchHit>> {
        let mode = search_mode(mode)?;
        Ok(self.run(py, |ws| ws.search(query, limit, mode))?.into_iter().map(SearchHit::from).collect())
    }

    /// Builds the search index now (the first search would); returns its document count.
    fn build_search_index(&self, py: Python<'_>) -> PyResult<u64> {
        self.run(py, |ws| ws.prepare_search().map(|()| ws.search_documents()))
    }

    /// What the search index is made of, for building it without this workspace's lock
    /// (`SearchIndexBuild.build`, then `install_search_index`); None when the index exists.
    fn search_snapshot(&self, py: Python<'_>) -> PyResult<Option<SearchIndexBuild>> {
        let snapshot = self.with(py, |ws| ws.search_snapshot())?;
        Ok(snapshot.map(|snapshot| SearchIndexBuild { state: Mutex::new(BuildState::Snapshot(snapshot)) }))
    }

    /// Installs a built index, brought up to date with the changes made since its snapshot;
    /// False when the workspace has an index already (or the build was not built).
    fn install_search_index(&self, py: Python<'_>, build: &SearchIndexBuild) -> PyResult<bool> {
        let prepared = {
            let mut state = build.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            match std::mem::replace(&mut *state, BuildState::Taken) {
                BuildState::Built(prepared) => prepared,
                other => {
                    *state = other;
                    return Ok(false);
                }
            }
        };
        self.run(py, |ws| ws.install_search_index(*prepared))
    }

    #[pyo3(signature = (path, version, edits, encoding="utf-16"))]
    fn apply_edits(&self, py: Python<'_>, path: &str, version: i64, edits: Vec<TextEdit>, encoding: &str) -> PyResult<ChunkDiff> {
        let encoding = self::encoding(encoding)?;
        let edits: Vec<PositionEdit> = edits.iter().map(TextEdit::to_engine).collect();
        self.run(py, |ws| ws.apply_edits(path, version, &edits, encoding)).map(ChunkDiff::from)
    }

    fn remove_file(&self, py: Python<'_>, path: &str) -> PyResult<ChunkDiff> {
        self.run(py, |ws| ws.remove_file(path)).map(ChunkDiff::from)
    }

    fn chunks(&self, py: Python<'_>, path: &str) -> PyResult<Vec<Chunk>> {
        self.run(py, |ws| ws.chunks(path).map(chunks_to_py))
    }

    fn repository_chunk(&self, py: Python<'_>) -> PyResult<Chunk> {
        self.with(py, |ws| Chunk::from(ws.repository_chunk()))
    }

    fn files(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        self.with(py, |ws| ws.files())
    }

    fn text(&self, py: Python<'_>, path: &str) -> PyResult<String> {
        self.run(py, |ws| ws.text(path).map(str::to_string))
    }

    fn versions(&self, py: Python<'_>) -> PyResult<std::collections::HashMap<String, Option<i64>>> {
        Ok(self.with(py, |ws| ws.versions())?.into_iter().collect())
    }

    fn version(&self, py: Python<'_>, path: &str) -> PyResult<Option<i64>> {
        self.run(py, |ws| ws.version(path))
    }

    fn errors(&self, py: Python<'_>, path: &str) -> PyResult<Vec<FileError>> {
        self.run(py, |ws| ws.errors(path).map(|errors| errors.iter().map(FileError::from).collect()))
    }

    /// The syntax errors of a file's current text, in document order, at most `limit`.
    #[pyo3(signature = (path, limit=100))]
    fn syntax_errors(&self, py: Python<'_>, path: &str, limit: usize) -> PyResult<Vec<SyntaxErrorLocation>> {
        self.run(py, |ws| {
            let key = ws.key(path);
            ws.document(path).map(|document| {
                let index = document.line_index();
                let place = |offset: usize| {
                    let line = index.line_of(offset);
                    (line, offset - index.line_start(line))
                };
                syntax_errors(document.tree(), limit)
                    .into_iter()
                    .map(|error| {
                        let (start_line, start_column) = place(error.start);
                        let (end_line, end_column) = place(error.end);
                        SyntaxErrorLocation { path: key.clone(), start_line, start_column, end_line, end_column, message: error.message }
                    })
                    .collect()
            })
        })
    }

    /// The occurrences of the variable named at a 0-based line and UTF-8 byte column.
    fn occurrences(&self, py: Python<'_>, path: &str, line: usize, column: usize) -> PyResult<Vec<Occurrence>> {
        self.run(py, |ws| {
            let occurrences = ws.occurrences(path, line, column)?;
            let document = ws.document(path)?;
            let index = document.line_index();
            let place = |offset: usize| {
                let line = index.line_of(offset);
                (line, offset - index.line_start(line))
            };
            Ok(occurrences
                .into_iter()
                .map(|occurrence| {
                    let (start_line, start_column) = place(occurrence.start);
                    let (end_line, end_column) = place(occurrence.end);
                    Occurrence { start_line, start_column, end_line, end_column, kind: occurrence.access.as_str() }
                })
                .collect())
        })
    }

    fn sexp(&self, py: Python<'_>, path: &str) -> PyResult<String> {
        self.run(py, |ws| ws.document(path).map(|d| d.sexp()))
    }

    #[pyo3(signature = (path, line, character, encoding="utf-16"))]
    fn position_to_offset(&self, py: Python<'_>, path: &str, line: usize, character: usize, encoding: &str) -> PyResult<usize> {
        let encoding = self::encoding(encoding)?;
        self.run(py, |ws| ws.position_to_offset(path, line, character, encoding))
    }

    #[pyo3(signature = (path, offset, encoding="utf-16"))]
    fn offset_to_position(&self, py: Python<'_>, path: &str, offset: usize, encoding: &str) -> PyResult<(usize, usize)> {
        let encoding = self::encoding(encoding)?;
        self.run(py, |ws| ws.offset_to_position(path, offset, encoding))
    }

    /// Taint findings over the workspace's current texts, with the sources of `threat_models`
    /// (None: `remote`).
    #[pyo3(signature = (rules_file=None, disabled_rules=Vec::new(), threat_models=None))]
    fn analyze_taint(
        &self,
        py: Python<'_>,
        rules_file: Option<PathBuf>,
        disabled_rules: Vec<String>,
        threat_models: Option<Vec<String>>,
    ) -> PyResult<Vec<analysis::Finding>> {
        let rules = self.rules_for(py, rules_file.as_ref(), &disabled_rules, threat_models.as_deref())?;
        Ok(self.with(py, |ws| ws.analyze_taint(&rules))?.iter().map(analysis::Finding::from).collect())
    }

    /// What the last run published (findings, syntax errors, the texts of the files they
    /// name), written to `directory` with the cache, when it is valid for `paths` as they are
    /// on disk now (`texts`: the editor's text of files by key, instead of the disk) and these
    /// rules; None otherwise. Reads files (only inside `within`) but stores nothing.
    #[pyo3(signature = (directory, paths, within=None, texts=std::collections::HashMap::new(), rules_file=None, disabled_rules=Vec::new(), threat_models=None))]
    #[allow(clippy::too_many_arguments, clippy::type_complexity)]
    fn published_again(
        &self,
        py: Python<'_>,
        directory: PathBuf,
        paths: Vec<String>,
        within: Option<Vec<PathBuf>>,
        texts: std::collections::HashMap<String, String>,
        rules_file: Option<PathBuf>,
        disabled_rules: Vec<String>,
        threat_models: Option<Vec<String>>,
    ) -> PyResult<Option<(Vec<analysis::Finding>, Vec<SyntaxErrorLocation>, std::collections::HashMap<String, String>)>> {
        let rules = self.rules_for(py, rules_file.as_ref(), &disabled_rules, threat_models.as_deref())?;
        let within = within.unwrap_or_default();
        let Some(found) = self.with(py, |ws| ws.published_again(&directory, &rules, &paths, &within, &texts))? else {
            return Ok(None);
        };
        let findings = found.findings.iter().map(analysis::Finding::from).collect();
        let syntax = found
            .syntax
            .into_iter()
            .flat_map(|(path, errors)| {
                errors.into_iter().map(move |error| SyntaxErrorLocation {
                    path: path.clone(),
                    start_line: error.start_line,
                    start_column: error.start_column,
                    end_line: error.end_line,
                    end_column: error.end_column,
                    message: error.message,
                })
            })
            .collect();
        Ok(Some((findings, syntax, found.texts)))
    }

    /// Runs this workspace's parallel work on a pool of `threads` threads of its own (None: the
    /// engine's shared pool), so it does not queue behind another workspace's analysis.
    #[pyo3(signature = (threads))]
    fn set_threads(&self, py: Python<'_>, threads: Option<usize>) -> PyResult<()> {
        self.with(py, |ws| ws.set_threads(threads))?.map_err(pyo3::exceptions::PyRuntimeError::new_err)
    }

    /// The qualified names a file's imports bind (`import a.b` → `a.b`, `from a import f` →
    /// `a.f`), sorted.
    fn imported_names(&self, py: Python<'_>, path: &str) -> PyResult<Vec<String>> {
        self.run(py, |ws| ws.imported_names(path))
    }

    /// Uses the persistent cache in `directory` (None: none): the next analysis starts from it.
    #[pyo3(signature = (directory))]
    fn set_cache_dir(&self, py: Python<'_>, directory: Option<PathBuf>) -> PyResult<()> {
        self.with(py, |ws| ws.set_cache_dir(directory))
    }

    /// Writes the persistent cache if the last analysis is of the current texts: the bytes
    /// written, or None. Raises OSError when it cannot be written.
    fn persist_cache(&self, py: Python<'_>) -> PyResult<Option<u64>> {
        self.with(py, |ws| ws.persist_cache())?.map_err(pyo3::exceptions::PyOSError::new_err)
    }

    /// Writes the search index to the cache directory if it changed since it was last written:
    /// the bytes written, or None. The copy is made under the workspace's lock (cheap: shared
    /// bytes, file hashes), the disk written without it. Raises OSError when it cannot be written.
    fn persist_search_index(&self, py: Python<'_>) -> PyResult<Option<u64>> {
        let Some((job, token)) = self.with(py, |ws| ws.search_store_job())?.map_err(pyo3::exceptions::PyOSError::new_err)? else {
            return Ok(None);
        };
        let written = py.allow_threads(|| catch_panic(|| job.write()))?.map_err(pyo3::exceptions::PyOSError::new_err)?;
        self.with(py, |ws| ws.search_stored(token, written))?;
        Ok(Some(written.bytes))
    }

    /// Stores the syntax trees of the texts the last `persist_cache` wrote that are not stored
    /// yet, and removes those this workspace wrote for texts it no longer has (the first time
    /// also those unused for 30 days). The documents are copied under the workspace's lock, the
    /// trees written without it. Returns the trees written, or None when there was nothing to do.
    fn persist_trees(&self, py: Python<'_>) -> PyResult<Option<usize>> {
        let Some(job) = self.with(py, |ws| ws.persist_trees_job())? else { return Ok(None) };
        let written = py.allow_threads(|| catch_panic(|| job.write()))?;
        Ok(Some(self.with(py, |ws| {
            let before = ws.tree_counts().written;
            ws.trees_stored(written);
            ws.tree_counts().written - before
        })?))
    }

    /// What was done with the cache's stored syntax trees: loaded (files built from their tree
    /// instead of parsed), written, removed.
    fn tree_stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let counts = self.with(py, |ws| ws.tree_counts())?;
        let dict = PyDict::new(py);
        dict.set_item("loaded", counts.loaded)?;
        dict.set_item("written", counts.written)?;
        dict.set_item("removed", counts.removed)?;
        Ok(dict)
    }

    /// How the search index came to be and what it holds: documents, indexed (by this process),
    /// reused (from disk), reopened, refreshed_files, seconds, notice, writes, written_bytes.
    fn search_index_stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let stats = self.with(py, |ws| ws.search_stats())?;
        let dict = PyDict::new(py);
        dict.set_item("documents", stats.documents)?;
        dict.set_item("indexed", stats.indexed)?;
        dict.set_item("reused", stats.opened.reused)?;
        dict.set_item("reopened", stats.opened.reopened)?;
        dict.set_item("refreshed_files", stats.opened.refreshed_files)?;
        dict.set_item("seconds", stats.opened.seconds)?;
        dict.set_item("notice", stats.opened.notice)?;
        dict.set_item("writes", stats.writes)?;
        dict.set_item("written_bytes", stats.written_bytes)?;
        Ok(dict)
    }

    /// Reads the source roots again (after the project's packaging configuration changed);
    /// when they changed, every module is named anew. Returns whether they changed.
    fn refresh_source_roots(&self, py: Python<'_>) -> PyResult<bool> {
        self.with(py, |ws| ws.refresh_source_roots())
    }

    /// Why the persistent cache could not be used (once), or None.
    fn take_cache_notice(&self, py: Python<'_>) -> PyResult<Option<String>> {
        self.with(py, |ws| ws.take_cache_notice())
    }

    /// What the last analyze_taint did: counts of scopes and analyses, solver sweeps, widened
    /// summaries, and the bounds the results met (`incomplete` is their total).
    fn last_analysis(&self, py: Python<'_>) -> PyResult<std::collections::HashMap<&'static str, usize>> {
        let stats = self.with(py, |ws| ws.last_analysis())?;
        Ok(analysis::stats_to_dict(&stats))
    }

    /// Prepares slicing the current texts, `limit` scopes at a time: every scope's graph built
    /// and linked, then every function's effects computed (cheap when little changed since the
    /// last time). Returns how many scopes are still to prepare (0: done).
    #[pyo3(signature = (limit=usize::MAX))]
    fn prepare_slices(&self, py: Python<'_>, limit: usize) -> PyResult<usize> {
        self.run(py, |ws| Ok(ws.prepare_slices(limit)))
    }

    /// A slice from `path` at a 0-based line (and byte column) over the current texts.
    #[pyo3(signature = (path, line, column=None, forward=false, thin=false))]
    fn slice_code(
        &self,
        py: Python<'_>,
        path: &str,
        line: usize,
        column: Option<usize>,
        forward: bool,
        thin: bool,
    ) -> PyResult<analysis::Slice> {
        let result = self.run(py, |ws| ws.slice(path, line, column, forward, thin))?;
        Ok(analysis::Slice::from(result))
    }

    /// PDGs of the scopes of one file.
    fn build_pdg(&self, py: Python<'_>, path: &str) -> PyResult<Vec<analysis::Pdg>> {
        Ok(self.run(py, |ws| ws.pdgs(path))?.into_iter().map(analysis::Pdg::from).collect())
    }

    fn __repr__(&self) -> String {
        format!("Workspace(root={:?})", self.root)
    }
}

/// Panics inside the engine's panic boundary: lets tests check that an engine bug reaches
/// Python as `flowsight.errors.InternalError`. Analysed code can never call this.
#[pyfunction]
fn _panic_for_tests(py: Python<'_>, message: String) -> PyResult<()> {
    Ok(py.allow_threads(|| catch_panic(|| -> () { panic!("{message}") }))?)
}

/// Makes tree-sitter's C library allocate from the module's allocator (jemalloc, above), so a
/// freed syntax tree's memory serves the Rust allocations that follow it. Runs once, when the
/// module is imported: before any tree-sitter call, as `set_allocator` requires.
#[cfg(not(target_env = "msvc"))]
fn tree_sitter_on_jemalloc() {
    use std::ffi::c_void;

    // tree-sitter requires allocations of a non-zero size never to return null: as its own
    // default allocator does, running out of memory aborts.
    #[allow(unsafe_code)]
    unsafe extern "C" fn malloc(size: usize) -> *mut c_void {
        // SAFETY: jemalloc's malloc, any size.
        let pointer = unsafe { tikv_jemalloc_sys::malloc(size) };
        if pointer.is_null() && size != 0 {
            std::process::abort();
        }
        pointer
    }
    #[allow(unsafe_code)]
    unsafe extern "C" fn calloc(count: usize, size: usize) -> *mut c_void {
        // SAFETY: jemalloc's calloc, any sizes (it checks the product for overflow).
        let pointer = unsafe { tikv_jemalloc_sys::calloc(count, size) };
        if pointer.is_null() && count != 0 && size != 0 {
            std::process::abort();
        }
        pointer
    }
    #[allow(unsafe_code)]
    unsafe extern "C" fn realloc(old: *mut c_void, size: usize) -> *mut c_void {
        // SAFETY: tree-sitter passes a pointer this family returned (or null).
        let pointer = unsafe { tikv_jemalloc_sys::realloc(old, size) };
        if pointer.is_null() && size != 0 {
            std::process::abort();
        }
        pointer
    }
    #[allow(unsafe_code)]
    unsafe extern "C" fn free(pointer: *mut c_void) {
        // SAFETY: tree-sitter frees only what this family returned.
        unsafe { tikv_jemalloc_sys::free(pointer) }
    }
    // SAFETY: the four functions are one allocator family (jemalloc's C API, aligned as malloc);
    // none returns null for a non-zero size; the module's initialisation runs before any
    // tree-sitter object exists (Python runs it once, under the import lock, and nothing of the
    // engine has run before it).
    #[allow(unsafe_code)]
    unsafe {
        tree_sitter::set_allocator(Some(tree_sitter::Allocator { malloc, calloc, realloc, free }));
    }
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    #[cfg(not(target_env = "msvc"))]
    tree_sitter_on_jemalloc();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<Chunk>()?;
    m.add_class::<FileError>()?;
    m.add_class::<SyntaxErrorLocation>()?;
    m.add_class::<Occurrence>()?;
    m.add_class::<ChunkDiff>()?;
    m.add_class::<SearchHit>()?;
    m.add_class::<SearchIndexBuild>()?;
    m.add_class::<IndexResult>()?;
    m.add_class::<RepositoryIndex>()?;
    m.add_class::<TextEdit>()?;
    m.add_class::<Workspace>()?;
    m.add_class::<ReadFiles>()?;
    m.add_function(wrap_pyfunction!(index_paths, m)?)?;
    m.add_function(wrap_pyfunction!(index_discovered, m)?)?;
    m.add_function(wrap_pyfunction!(build_chunks, m)?)?;
    m.add_function(wrap_pyfunction!(parse_only, m)?)?;
    m.add_function(wrap_pyfunction!(code_tokens, m)?)?;
    m.add_function(wrap_pyfunction!(_panic_for_tests, m)?)?;
    analysis::register(m)?;
    walking::register(m)?;
    merging::register(m)?;
    errors::register(m)?;
    Ok(())
}
