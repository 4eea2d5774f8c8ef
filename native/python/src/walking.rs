//! The one file walker and repository discovery (`walk` in the engine) as Python values: what
//! the CLI, the server and the benchmarks list files with.

use std::path::PathBuf;

use flowsight_engine::index::{repository_identity, repository_name};
use flowsight_engine::walk::{self, Discovered, Exclude, Excludes};
use pyo3::prelude::*;

use crate::errors::{catch_panic, to_py_err};
use crate::FileError;

/// Exclude patterns as Python passes them: (base directory, gitignore-style patterns).
pub type ExcludeArgs = Vec<(PathBuf, Vec<String>)>;

/// Compiles exclude patterns (a bad glob raises `flowsight.errors.ConfigError`).
pub fn compile_excludes(excludes: ExcludeArgs) -> PyResult<Excludes> {
    let excludes: Vec<Exclude> = excludes.into_iter().map(|(base, patterns)| Exclude { base, patterns }).collect();
    Excludes::new(&excludes).map_err(to_py_err)
}

/// One repository: where its module names start (`root`), identity, display name, files.
#[pyclass(frozen, module = "flowsight._native", get_all)]
pub struct Repository {
    name: String,
    identity: String,
    root: PathBuf,
    files: Vec<PathBuf>,
}

#[pymethods]
impl Repository {
    fn __repr__(&self) -> String {
        format!("Repository(name={:?}, root={:?}, files={})", self.name, self.root, self.files.len())
    }
}

/// What `walk_files` found: the display root, the repositories, the directories not listed.
#[pyclass(frozen, module = "flowsight._native")]
pub struct Discovery {
    pub inner: Discovered,
}

#[pymethods]
impl Discovery {
    /// The directory report paths are relative to (the common directory of the repositories).
    #[getter]
    fn root(&self) -> PathBuf {
        self.inner.root.clone()
    }

    #[getter]
    fn repositories(&self) -> Vec<Repository> {
        self.inner
            .repositories
            .iter()
            .map(|r| Repository {
                name: repository_name(&r.root),
                identity: repository_identity(&r.root),
                root: r.root.clone(),
                files: r.files.clone(),
            })
            .collect()
    }

    /// Every file of every repository, in order.
    #[getter]
    fn files(&self) -> Vec<PathBuf> {
        self.inner.repositories.iter().flat_map(|r| r.files.iter().cloned()).collect()
    }

    /// Every template file of every repository (`is_template_path`), in order.
    #[getter]
    fn templates(&self) -> Vec<PathBuf> {
        self.inner.repositories.iter().flat_map(|r| r.templates.iter().cloned()).collect()
    }

    #[getter]
    fn errors(&self) -> Vec<FileError> {
        self.inner.errors.iter().map(FileError::from).collect()
    }

    fn __repr__(&self) -> String {
        format!("Discovery(root={:?}, repositories={}, errors={})", self.inner.root, self.inner.repositories.len(), self.inner.errors.len())
    }
}

/// The Python files of `paths` grouped into repositories (see the engine's `walk` module):
/// `.gitignore`/`.ignore` honoured, hidden and tool directories skipped, `excludes` applied.
#[pyfunction]
#[pyo3(signature = (paths, root=None, excludes=Vec::new()))]
fn walk_files(py: Python<'_>, paths: Vec<PathBuf>, root: Option<PathBuf>, excludes: ExcludeArgs) -> PyResult<Discovery> {
    let excludes = compile_excludes(excludes)?;
    let inner = py.allow_threads(|| catch_panic(|| walk::discover(&paths, root.as_deref(), &excludes)))?;
    Ok(Discovery { inner })
}

/// Whether `path` (or a directory above it) is excluded by `excludes`.
#[pyfunction]
fn is_excluded(path: PathBuf, is_dir: bool, excludes: ExcludeArgs) -> PyResult<bool> {
    let excludes = compile_excludes(excludes)?;
    Ok(excludes.matches(&flowsight_engine::index::absolute_path(&path), is_dir))
}

/// Whether the analysis reads `path` as a template file (`.html`, `.jinja`, `.j2`, …; `.txt`,
/// `.xml` below a `templates` directory): its findings are published on it like a Python file's.
#[pyfunction]
fn is_template_path(path: PathBuf) -> bool {
    flowsight_engine::templates::is_template_path(&path)
}

/// Where module names of `directory` start: the parent of its outermost package, or itself.
#[pyfunction]
fn module_root(directory: PathBuf) -> PathBuf {
    walk::module_root(&directory)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Repository>()?;
    m.add_class::<Discovery>()?;
    m.add_function(wrap_pyfunction!(walk_files, m)?)?;
    m.add_function(wrap_pyfunction!(is_excluded, m)?)?;
    m.add_function(wrap_pyfunction!(module_root, m)?)?;
    m.add_function(wrap_pyfunction!(is_template_path, m)?)?;
    Ok(())
}
