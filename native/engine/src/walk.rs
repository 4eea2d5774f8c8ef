//! The one file walker: which files of the paths a user names are Python files to analyse.
//! The CLI (`index`, `scan`, `slice`, `search`), the language server's workspace indexing and
//! the benchmarks all list files through `walk` (via the binding's `walk_files`), so they agree.
//!
//! Rules, in order:
//! - A named path that is not a directory is kept whatever its extension (reading it reports
//!   what is wrong: missing, a link loop, unreadable), unless an exclude pattern matches it or
//!   one of its parent directories.
//! - A named directory is walked with the `ignore` crate: `.gitignore` (also outside a git
//!   repository, and in the directories above the named one), `.git/info/exclude`, `.ignore`,
//!   nested files and `!` negations as git reads them; the user's global git excludes are not
//!   read (results must not depend on the machine). Hidden files and directories are skipped,
//!   so are `SKIPPED_DIRECTORIES` and virtual environments (a directory holding `pyvenv.cfg`,
//!   in the top two levels).
//!   Symbolic links are listed but never followed into directories, so a link loop cannot
//!   make the walk loop; a `.py` link that loops is reported when it is read.
//! - Exclude patterns (`[tool.flowsight] exclude`, the server's `exclude` setting) are
//!   gitignore-style globs relative to their base directory; an excluded directory is not
//!   entered, an excluded file is not listed — excluded files are never analysed.
//! - Only `.py`/`.pyi` files are listed below a directory, and apart from them the template
//!   files (`templates::is_template_path`: `.html`, `.jinja`, `.j2`, …; `.txt` and `.xml` only
//!   below a `templates` directory). A directory that cannot be listed
//!   becomes a `FileError` (kind `io`), the walk goes on.
//! - Output is deterministic whatever the threads did: the named paths in the order given, a
//!   directory's files sorted by path, a file listed twice kept at its first place.
//!
//! Also here: `module_root`, where module names of a directory start (the parent of the
//! outermost package holding it), shared by the CLI and the server.

use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use ignore::{WalkBuilder, WalkState};

use crate::error::{EngineError, Result};
use crate::source::{FileError, FileErrorKind};
use crate::syntax::SourceRoots;

/// Directory names never descended into (besides hidden ones and virtual environments, which
/// are found by their `pyvenv.cfg`, not their name: the standard library has a `venv` package).
pub const SKIPPED_DIRECTORIES: &[&str] = &["__pycache__", "node_modules", "site-packages"];

/// Gitignore-style exclude patterns and the directory they are relative to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Exclude {
    pub base: PathBuf,
    pub patterns: Vec<String>,
}

/// What a walk found: files (absolute, normalised, in the order of the module doc) and directories it could not list.
#[derive(Debug, Default)]
pub struct Walked {
    pub files: Vec<PathBuf>,
    /// Template files (`templates::is_template_path`) below the named directories, in the
    /// same order; the same ignore rules and excludes apply.
    pub templates: Vec<PathBuf>,
    pub errors: Vec<FileError>,
}

pub fn is_python_path(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("py" | "pyi"))
}

/// Compiled exclude patterns; `matches` says whether a path (or a directory above it, up to the
/// base) is excluded.
#[derive(Clone, Debug, Default)]
pub struct Excludes {
    matchers: Vec<Gitignore>,
}

impl Excludes {
    /// Compiles `excludes`; a pattern that is not a valid glob is a configuration error.
    pub fn new(excludes: &[Exclude]) -> Result<Excludes> {
        let mut matchers = Vec::new();
        for exclude in excludes.iter().filter(|e| !e.patterns.is_empty()) {
            let base = absolute_path(&exclude.base);
            let mut builder = GitignoreBuilder::new(&base);
            for pattern in &exclude.patterns {
                builder.add_line(None, pattern).map_err(|error| EngineError::Exclude(format!("{pattern:?}: {}", plain_message(&error))))?;
            }
            let matcher = builder.build().map_err(|error| EngineError::Exclude(plain_message(&error)))?;
            matchers.push(matcher);
        }
        Ok(Excludes { matchers })
    }

    /// Whether `path` (absolute, normalised) itself is excluded (its parents are not checked:
    /// the walk never enters an excluded directory).
    fn matches_entry(&self, path: &Path, is_dir: bool) -> bool {
        self.matchers.iter().any(|m| path.starts_with(m.path()) && path != m.path() && m.matched(path, is_dir).is_ignore())
    }

    /// Whether `path` (absolute, normalised) or a directory above it (below the base) is excluded.
    pub fn matches(&self, path: &Path, is_dir: bool) -> bool {
        self.matchers
            .iter()
            .any(|m| path.starts_with(m.path()) && path != m.path() && m.matched_path_or_any_parents(path, is_dir).is_ignore())
    }
}

/// The message of an `ignore` error without the OS error number (`Permission denied`).
fn plain_message(error: &ignore::Error) -> String {
    match error {
        ignore::Error::Io(io) => io_message(io),
        ignore::Error::WithPath { err, .. } | ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            plain_message(err)
        }
        ignore::Error::Loop { .. } => "symbolic link loop".to_string(),
        other => other.to_string(),
    }
}

/// An I/O error's description without the `(os error N)` suffix.
pub fn io_message(error: &std::io::Error) -> String {
    let text = error.to_string();
    match text.rfind(" (os error ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// The path an `ignore` error is about, if it names one.
fn error_path(error: &ignore::Error) -> Option<&Path> {
    match error {
        ignore::Error::WithPath { path, .. } => Some(path),
        ignore::Error::Loop { child, .. } => Some(child),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => error_path(err),
        _ => None,
    }
}

/// Virtual environments are looked for (a `pyvenv.cfg`) this deep below a named directory: one
/// `stat` per directory costs ~15% of a walk on a slow filesystem, and deeper ones are rare
/// (their packages sit in `site-packages`, skipped at any depth).
const VIRTUAL_ENVIRONMENT_DEPTH: usize = 2;

fn is_skipped_directory(path: &Path, depth: usize) -> bool {
    let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    SKIPPED_DIRECTORIES.contains(&name.as_ref()) || (depth <= VIRTUAL_ENVIRONMENT_DEPTH && path.join("pyvenv.cfg").is_file())
}

/// The Python files of `paths` (files or directories) after ignore files and `excludes`;
/// errors name paths relative to `error_root`. Walks directories in parallel.
pub fn walk(paths: &[PathBuf], excludes: &Excludes, error_root: &Path) -> Walked {
    let mut files: Vec<PathBuf> = Vec::new();
    let mut templates: Vec<PathBuf> = Vec::new();
    let errors: Arc<Mutex<Vec<FileError>>> = Arc::default();
    let error_root = absolute_path(error_root);
    for path in paths {
        let path = absolute_path(path);
        let is_dir = std::fs::metadata(&path).is_ok_and(|m| m.is_dir());
        if !is_dir {
            // Files, broken links and missing paths: reading reports what is wrong.
            if !excludes.matches(&path, false) {
                files.push(path);
            }
            continue;
        }
        let found: Arc<Mutex<Vec<PathBuf>>> = Arc::default();
        let found_templates: Arc<Mutex<Vec<PathBuf>>> = Arc::default();
        let filter_excludes = excludes.clone();
        let walker = WalkBuilder::new(&path)
            .standard_filters(true)
            .git_global(false)
            .require_git(false)
            .follow_links(false)
            .filter_entry(move |entry| {
                let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
                if entry.depth() > 0 && is_dir && is_skipped_directory(entry.path(), entry.depth()) {
                    return false;
                }
                !(entry.depth() > 0 && filter_excludes.matches_entry(entry.path(), is_dir))
            })
            .build_parallel();
        walker.run(|| {
            let found = Arc::clone(&found);
            let found_templates = Arc::clone(&found_templates);
            let errors = Arc::clone(&errors);
            let error_root = error_root.clone();
            Box::new(move |entry| {
                match entry {
                    Ok(entry) => {
                        let is_file = entry.file_type().is_some_and(|t| !t.is_dir());
                        if entry.depth() > 0 && is_file && is_python_path(entry.path()) {
                            found.lock().expect("walk results").push(entry.into_path());
                        } else if entry.depth() > 0 && is_file && crate::templates::is_template_path(entry.path()) {
                            found_templates.lock().expect("walk results").push(entry.into_path());
                        }
                    }
                    Err(error) => {
                        // Problems with ignore files themselves (a bad pattern) are not the
                        // user's files' problems: only paths that could not be listed are reported.
                        if let Some(path) = error_path(&error) {
                            let relative = relative_path(&error_root, path);
                            let message = format!("cannot list directory: {}", plain_message(&error));
                            errors.lock().expect("walk errors").push(FileError::new(&relative, FileErrorKind::Io, message));
                        }
                    }
                }
                WalkState::Continue
            })
        });
        let mut directory_files = std::mem::take(&mut *found.lock().expect("walk results"));
        directory_files.sort();
        files.extend(directory_files);
        let mut directory_templates = std::mem::take(&mut *found_templates.lock().expect("walk results"));
        directory_templates.sort();
        templates.extend(directory_templates);
    }
    let mut seen = std::collections::HashSet::new();
    files.retain(|file| seen.insert(file.clone()));
    templates.retain(|file| seen.insert(file.clone()));
    let mut errors = std::mem::take(&mut *errors.lock().expect("walk errors"));
    errors.sort_by(|a, b| a.path.cmp(&b.path));
    Walked { files, templates, errors }
}

/// A repository: the directory its module names start from (see `module_root`), its identity
/// and display name, and its files (absolute, sorted).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Repository {
    pub root: PathBuf,
    pub files: Vec<PathBuf>,
    /// Its template files (absolute, sorted), read by the taint analysis's template join.
    pub templates: Vec<PathBuf>,
    /// Where module names start below the root (`source_roots`).
    pub source_roots: SourceRoots,
}

impl Repository {
    /// Identity: the root's absolute path (two checkouts named `app` are two repositories).
    pub fn identity(&self) -> String {
        self.root.to_string_lossy().into_owned()
    }

    /// What its analysis is cached under: the identity and, when there are any, the source
    /// roots (module names, and so every cached result, depend on them).
    pub fn analysis_identity(&self) -> String {
        analysis_identity(&self.identity(), &self.source_roots)
    }

    /// Display name: the root's base name (not unique; never used as a key).
    pub fn name(&self) -> String {
        self.root.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| self.identity())
    }
}

/// What `discover` found: the display root (paths in reports are relative to it), the
/// repositories in root order, and the directories that could not be listed.
#[derive(Debug, Default)]
pub struct Discovered {
    pub root: PathBuf,
    pub repositories: Vec<Repository>,
    pub errors: Vec<FileError>,
}

/// The repositories of the paths a user names, and their files (after `walk`).
///
/// With `root`, everything is one repository rooted there. Otherwise each named directory is a
/// repository rooted at its `module_root`; a directory inside another's root joins it; named
/// files join the repository whose root holds them, and the others form one repository at
/// the `module_root` of their common directory. The display root is the common directory of
/// the repositories' roots.
pub fn discover(paths: &[PathBuf], root: Option<&Path>, excludes: &Excludes) -> Discovered {
    let paths: Vec<PathBuf> = paths.iter().map(|p| absolute_path(p)).collect();
    let (kept, display_root) = repository_roots(&paths, root);
    let walked = walk(&paths, excludes, &display_root);
    let mut repositories: Vec<Repository> = kept
        .into_iter()
        .map(|root| Repository { source_roots: source_roots(&root), root, files: Vec::new(), templates: Vec::new() })
        .collect();
    let mut outside = Vec::new();
    for file in walked.files {
        // The innermost root holding the file (roots do not nest, so at most one).
        match repositories.iter_mut().find(|r| file.starts_with(&r.root)) {
            Some(repository) => repository.files.push(file),
            None => outside.push(file),
        }
    }
    for file in walked.templates {
        // Templates outside every repository belong to none (no module renders them by name
        // relative to a root it does not share).
        if let Some(repository) = repositories.iter_mut().find(|r| file.starts_with(&r.root)) {
            repository.templates.push(file);
        }
    }
    if !outside.is_empty() {
        // Only with an explicit root that does not hold every path: those files still belong
        // to it (named relative to it by their absolute paths).
        match repositories.first_mut() {
            Some(repository) => repository.files.extend(outside),
            None => repositories.push(Repository {
                source_roots: source_roots(&display_root),
                root: display_root.clone(),
                files: outside,
                templates: Vec::new(),
            }),
        }
    }
    Discovered { root: display_root, repositories, errors: walked.errors }
}

/// The repositories' roots (sorted, none inside another) and the display root for `paths`
/// (see `discover`); looks only at the named paths and the `__init__.py` files above them.
pub fn repository_roots(paths: &[PathBuf], root: Option<&Path>) -> (Vec<PathBuf>, PathBuf) {
    let paths: Vec<PathBuf> = paths.iter().map(|p| absolute_path(p)).collect();
    let roots: Vec<PathBuf> = match root {
        Some(root) => vec![absolute_path(root)],
        None => {
            let mut roots: Vec<PathBuf> = paths.iter().filter(|p| p.is_dir()).map(|p| module_root(p)).collect();
            let loose: Vec<&PathBuf> = paths.iter().filter(|p| !p.is_dir() && !roots.iter().any(|r| p.starts_with(r))).collect();
            if !loose.is_empty() {
                let parents: Vec<PathBuf> =
                    loose.iter().map(|p| p.parent().map(Path::to_path_buf).unwrap_or_else(|| (*p).clone())).collect();
                roots.push(module_root(&common_directory(&parents)));
            }
            roots
        }
    };
    // Outer roots first; a root inside another one joins it.
    let mut roots = roots;
    roots.sort_by_key(|r| r.components().count());
    let mut kept: Vec<PathBuf> = Vec::new();
    for candidate in roots {
        if !kept.iter().any(|r| candidate.starts_with(r)) {
            kept.push(candidate);
        }
    }
    kept.sort();
    let display_root = if kept.is_empty() { absolute_path(Path::new(".")) } else { common_directory(&kept) };
    (kept, display_root)
}

/// The deepest directory holding every one of `directories`.
pub fn common_directory(directories: &[PathBuf]) -> PathBuf {
    let mut common: Option<PathBuf> = None;
    for directory in directories {
        common = Some(match common {
            None => directory.clone(),
            Some(current) => current.components().zip(directory.components()).take_while(|(a, b)| a == b).map(|(a, _)| a).collect(),
        });
    }
    common.unwrap_or_else(|| absolute_path(Path::new(".")))
}

/// Where module names of `directory` start: the parent of the outermost package holding it
/// (walking up while the directory holds `__init__.py` or `__init__.pyi`), or `directory`
/// itself when it is not a package. `sympy_src/sympy` → `sympy_src`, so `from sympy…` resolves.
///
/// A directory without `__init__.py` is still a package — a namespace package (PEP 420) —
/// when its own modules import it by name (`langflow/` whose files say `from langflow.utils
/// import …`, or `google/cloud/` saying `import google.cloud.storage`): the root is then above
/// it, as Python's would be for that code to run.
pub fn module_root(directory: &Path) -> PathBuf {
    let mut root = absolute_path(directory);
    let is_package = |d: &Path| d.join("__init__.py").is_file() || d.join("__init__.pyi").is_file();
    while is_package(&root) {
        match root.parent() {
            Some(parent) if parent != root => root = parent.to_path_buf(),
            _ => break,
        }
    }
    if let Some(above) = namespace_package_root(&root) {
        return above;
    }
    root
}

/// How many levels of namespace packages `namespace_package_root` looks through
/// (`google.cloud` is two).
const NAMESPACE_DEPTH: usize = 3;
/// How many Python files under a directory are read for imports of its own name.
const NAMESPACE_FILES_READ: usize = 400;
/// How much of each such file is read (imports sit at the top).
const NAMESPACE_BYTES_READ: u64 = 16 * 1024;

/// The directory above `directory` when `directory` (or it with up to NAMESPACE_DEPTH - 1 of
/// its parents, dotted) is a namespace package its own modules import by name.
fn namespace_package_root(directory: &Path) -> Option<PathBuf> {
    let mut candidate = directory.to_path_buf();
    let mut dotted = directory.file_name()?.to_str()?.to_string();
    for _ in 0..NAMESPACE_DEPTH {
        if !is_identifier(dotted.rsplit('.').next().unwrap_or_default()) {
            return None;
        }
        if imports_module(directory, &dotted) {
            return candidate.parent().map(Path::to_path_buf);
        }
        let parent = candidate.parent()?.to_path_buf();
        dotted = format!("{}.{dotted}", parent.file_name()?.to_str()?);
        candidate = parent;
    }
    None
}

fn is_identifier(name: &str) -> bool {
    let mut characters = name.chars();
    characters.next().is_some_and(|c| c == '_' || c.is_alphabetic()) && characters.all(|c| c == '_' || c.is_alphanumeric())
}

/// Whether any of the first NAMESPACE_FILES_READ Python files under `directory` imports a
/// module of `directory` as `module.<name>` (`import m.x`, `from m.x import …`, `from m import
/// x`) where `<name>` is a file or directory right under `directory` — what a namespace package
/// `m` at `directory` would provide. A project directory that is merely named like the package
/// it holds elsewhere (`shop/src/shop/`) has no such module right under it.
fn imports_module(directory: &Path, module: &str) -> bool {
    use std::io::Read;
    let provides = |name: &str| {
        let name = name.trim();
        is_identifier(name)
            && (directory.join(format!("{name}.py")).is_file()
                || directory.join(format!("{name}.pyi")).is_file()
                || directory.join(name).is_dir())
    };
    // The first name after `module.` in a dotted name, if it starts with `module.`.
    fn submodule<'a>(dotted: &'a str, module: &str) -> Option<&'a str> {
        let rest = dotted.strip_prefix(module)?.strip_prefix('.')?;
        rest.split(['.', ' ', '\t', ',']).next()
    }
    let imports_from_directory = |line: &str| {
        if let Some(rest) = line.strip_prefix("from ") {
            let (source, names) = rest.split_once(" import ").unwrap_or((rest, ""));
            let source = source.trim();
            return match submodule(source, module) {
                Some(name) => provides(name),
                None => {
                    source == module
                        && names.trim_start_matches('(').split(',').any(|name| provides(name.split(" as ").next().unwrap_or_default()))
                }
            };
        }
        line.strip_prefix("import ").is_some_and(|names| names.split(',').filter_map(|name| submodule(name.trim(), module)).any(provides))
    };
    let mut read = 0;
    for entry in WalkBuilder::new(directory).max_depth(Some(8)).build().flatten() {
        if read >= NAMESPACE_FILES_READ {
            return false;
        }
        if !entry.file_type().is_some_and(|t| t.is_file()) || entry.path().extension().is_none_or(|e| e != "py") {
            continue;
        }
        read += 1;
        let Ok(file) = std::fs::File::open(entry.path()) else { continue };
        let mut bytes = Vec::new();
        if file.take(NAMESPACE_BYTES_READ).read_to_end(&mut bytes).is_err() {
            continue;
        }
        if String::from_utf8_lossy(&bytes).lines().map(str::trim_start).any(imports_from_directory) {
            return true;
        }
    }
    false
}

/// See `Repository::analysis_identity`.
pub fn analysis_identity(identity: &str, roots: &SourceRoots) -> String {
    match roots.roots() {
        [] => identity.to_string(),
        roots => format!("{identity} (roots {})", roots.join(", ")),
    }
}

/// The source roots of the repository at `root` (see `SourceRoots`), as packaging tools and
/// type checkers find them: `[tool.flowsight] roots`, `[tool.setuptools] package-dir` (the
/// `""` entry), `[tool.setuptools.packages.find] where`, Poetry's `packages = [{ from = … }]`,
/// Hatch's wheel `packages = ["src/pkg"]` and `sources`, setup.cfg's `package_dir = =src`,
/// and a `src/` directory that is not itself a package. Unreadable or malformed files add
/// nothing (the configuration layer reports a bad `[tool.flowsight]` table).
pub fn source_roots(root: &Path) -> SourceRoots {
    let mut roots: Vec<String> = Vec::new();
    if let Ok(text) = std::fs::read_to_string(root.join("pyproject.toml")) {
        if let Ok(table) = text.parse::<toml::Table>() {
            roots.extend(pyproject_roots(&table));
        }
    }
    if let Ok(text) = std::fs::read_to_string(root.join("setup.cfg")) {
        // `[options] package_dir =\n    =src` or `package_dir = =src`.
        let mut in_options = false;
        let mut in_package_dir = false;
        for line in text.lines() {
            let trimmed = line.trim();
            if trimmed.starts_with('[') {
                in_options = trimmed == "[options]";
                in_package_dir = false;
                continue;
            }
            if !in_options {
                continue;
            }
            let value = match trimmed.split_once('=') {
                Some((key, value)) if key.trim() == "package_dir" => {
                    in_package_dir = true;
                    value.trim()
                }
                _ if in_package_dir && line.starts_with([' ', '\t']) => trimmed,
                _ => {
                    in_package_dir = false;
                    continue;
                }
            };
            if let Some(("", directory)) = value.split_once('=').map(|(k, v)| (k.trim(), v.trim())) {
                roots.push(directory.to_string());
            }
        }
    }
    let src = root.join("src");
    if src.is_dir() && !src.join("__init__.py").is_file() {
        roots.push("src".to_string());
    }
    SourceRoots::new(roots)
}

fn pyproject_roots(table: &toml::Table) -> Vec<String> {
    let at = |path: &[&str]| -> Option<&toml::Value> {
        let mut value = table.get(path[0])?;
        for key in &path[1..] {
            value = value.get(key)?;
        }
        Some(value)
    };
    let strings = |value: Option<&toml::Value>| -> Vec<String> {
        value.and_then(toml::Value::as_array).map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect()).unwrap_or_default()
    };
    let mut roots = strings(at(&["tool", "flowsight", "roots"]));
    if let Some(directory) = at(&["tool", "setuptools", "package-dir", ""]).and_then(toml::Value::as_str) {
        roots.push(directory.to_string());
    }
    roots.extend(strings(at(&["tool", "setuptools", "packages", "find", "where"])));
    if let Some(packages) = at(&["tool", "poetry", "packages"]).and_then(toml::Value::as_array) {
        roots.extend(packages.iter().filter_map(|p| p.get("from")?.as_str().map(str::to_string)));
    }
    for package in strings(at(&["tool", "hatch", "build", "targets", "wheel", "packages"])) {
        // `src/pkg` ships the package `pkg`: its parent is a root.
        if let Some((parent, _)) = package.trim_end_matches('/').rsplit_once('/') {
            roots.push(parent.to_string());
        }
    }
    if let Some(sources) = at(&["tool", "hatch", "build", "targets", "wheel", "sources"]) {
        // `sources = ["src"]` or `sources = { "src" = "" }`: the prefixes removed from paths.
        roots.extend(strings(Some(sources)));
        if let Some(map) = sources.as_table() {
            roots.extend(map.iter().filter(|(_, to)| to.as_str() == Some("")).map(|(from, _)| from.clone()));
        }
    }
    roots
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A tree from `path: text` lines; a path ending in `/` is a directory.
    fn tree(spec: &[(&str, &str)]) -> tempdir::Dir {
        let dir = tempdir::Dir::new();
        for (path, text) in spec {
            let full = dir.path().join(path);
            if path.ends_with('/') {
                std::fs::create_dir_all(&full).unwrap();
            } else {
                std::fs::create_dir_all(full.parent().unwrap()).unwrap();
                std::fs::write(&full, text).unwrap();
            }
        }
        dir
    }

    fn listed(dir: &Path, excludes: &[Exclude]) -> Vec<String> {
        let walked = walk(&[dir.to_path_buf()], &Excludes::new(excludes).unwrap(), dir);
        walked.files.iter().map(|f| relative_path(&absolute_path(dir), f)).collect()
    }

    mod tempdir {
        use std::path::{Path, PathBuf};
        use std::sync::atomic::{AtomicUsize, Ordering};

        /// A directory removed when dropped (the engine has no tempfile dependency).
        pub struct Dir(PathBuf);
        impl Dir {
            pub fn new() -> Dir {
                static NEXT: AtomicUsize = AtomicUsize::new(0);
                let name = format!("flowsight-walk-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
                let path = std::env::temp_dir().join(name);
                let _ = std::fs::remove_dir_all(&path);
                std::fs::create_dir_all(&path).unwrap();
                Dir(path)
            }
            pub fn path(&self) -> &Path {
                &self.0
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    #[test]
    fn gitignore_negations_and_nested_ignore_files_are_honoured() {
        let dir = tree(&[
            (".gitignore", "build/\n*_gen.py\n!keep_gen.py\n"),
            ("app/views.py", ""),
            ("app/models_gen.py", ""),
            ("app/keep_gen.py", ""),
            ("build/out.py", ""),
            ("app/.gitignore", "local.py\n"),
            ("app/local.py", ""),
            ("lib/.ignore", "scratch/\n"),
            ("lib/scratch/tmp.py", ""),
            ("lib/core.py", ""),
            ("notes.txt", ""),
            ("stubs/types.pyi", ""),
        ]);
        assert_eq!(listed(dir.path(), &[]), ["app/keep_gen.py", "app/views.py", "lib/core.py", "stubs/types.pyi"]);
    }

    #[test]
    fn hidden_tool_and_virtual_environment_directories_are_skipped() {
        let dir = tree(&[
            (".hidden/a.py", ""),
            (".dotfile.py", ""),
            ("__pycache__/b.py", ""),
            ("node_modules/c.py", ""),
            ("env/pyvenv.cfg", "home = /usr/bin\n"),
            ("env/lib/d.py", ""),
            ("src/e.py", ""),
        ]);
        assert_eq!(listed(dir.path(), &[]), ["src/e.py"]);
    }

    #[test]
    fn exclude_patterns_are_gitignore_style_relative_to_their_base() {
        let dir =
            tree(&[("tests/test_a.py", ""), ("app/tests/test_b.py", ""), ("vendor/x.py", ""), ("vendor/keep.py", ""), ("app/v.py", "")]);
        let exclude =
            Exclude { base: dir.path().to_path_buf(), patterns: vec!["/tests/".into(), "vendor/**".into(), "!vendor/keep.py".into()] };
        assert_eq!(listed(dir.path(), std::slice::from_ref(&exclude)), ["app/tests/test_b.py", "app/v.py", "vendor/keep.py"]);
        // A named file under an excluded directory is excluded too.
        let excludes = Excludes::new(&[exclude]).unwrap();
        let walked = walk(&[dir.path().join("tests/test_a.py"), dir.path().join("app/v.py")], &excludes, dir.path());
        assert_eq!(walked.files, [dir.path().join("app/v.py")]);
    }

    #[test]
    fn a_bad_exclude_pattern_is_a_configuration_error() {
        let error = Excludes::new(&[Exclude { base: PathBuf::from("/"), patterns: vec!["{a,b".into()] }]).unwrap_err();
        assert!(matches!(error, EngineError::Exclude(_)), "{error}");
    }

    #[cfg(unix)]
    #[test]
    fn symbolic_link_loops_end_the_walk_and_are_not_followed() {
        let dir = tree(&[("pkg/a.py", ""), ("pkg/sub/b.py", "")]);
        std::os::unix::fs::symlink("..", dir.path().join("pkg/sub/up")).unwrap();
        std::os::unix::fs::symlink("loop.py", dir.path().join("pkg/loop.py")).unwrap();
        // The looping `.py` link is listed (reading it reports the loop); `up` is not entered.
        assert_eq!(listed(dir.path(), &[]), ["pkg/a.py", "pkg/loop.py", "pkg/sub/b.py"]);
        let (text, errors) = crate::source::load_source(&dir.path().join("pkg/loop.py"), "pkg/loop.py");
        assert!(text.is_none() && errors.len() == 1 && errors[0].kind == FileErrorKind::Io, "{errors:?}");
    }

    #[test]
    fn named_files_are_kept_whatever_their_extension_in_order_and_once() {
        let dir = tree(&[("b.py", ""), ("a/c.py", ""), ("script", "")]);
        let paths = [dir.path().join("script"), dir.path().to_path_buf(), dir.path().join("b.py")];
        let walked = walk(&paths, &Excludes::default(), dir.path());
        let expected: Vec<PathBuf> = ["script", "a/c.py", "b.py"].iter().map(|p| dir.path().join(p)).collect();
        assert_eq!(walked.files, expected);
    }

    #[test]
    fn each_named_directory_is_a_repository_identified_by_its_path() {
        let dir = tree(&[
            ("x/app/views.py", ""),
            ("y/app/views.py", ""),
            ("y/app/sub/m.py", ""),
            ("lib/pkg/__init__.py", ""),
            ("lib/pkg/m.py", ""),
        ]);
        let paths = [dir.path().join("x/app"), dir.path().join("y/app"), dir.path().join("y/app/sub"), dir.path().join("lib/pkg")];
        let found = discover(&paths, None, &Excludes::default());
        let roots: Vec<PathBuf> = found.repositories.iter().map(|r| r.root.clone()).collect();
        // `y/app/sub` joins `y/app`; the package `lib/pkg` is named from `lib`.
        assert_eq!(roots, [dir.path().join("lib"), dir.path().join("x/app"), dir.path().join("y/app")]);
        assert_eq!(found.root, absolute_path(dir.path()));
        let names: Vec<String> = found.repositories.iter().map(Repository::name).collect();
        assert_eq!(names, ["lib", "app", "app"]);
        assert_ne!(found.repositories[1].identity(), found.repositories[2].identity());
        assert_eq!(found.repositories[2].files, [dir.path().join("y/app/sub/m.py"), dir.path().join("y/app/views.py")]);
        // Named files share one repository at their common directory; an explicit root is one repository.
        let files = [dir.path().join("x/app/views.py"), dir.path().join("y/app/views.py")];
        assert_eq!(discover(&files, None, &Excludes::default()).repositories.len(), 1);
        assert_eq!(discover(&paths, Some(dir.path()), &Excludes::default()).repositories.len(), 1);
    }

    #[test]
    fn the_module_root_of_a_package_directory_is_above_its_outermost_package() {
        let dir = tree(&[("proj/top/__init__.py", ""), ("proj/top/sub/__init__.py", ""), ("proj/top/sub/m.py", ""), ("plain/m.py", "")]);
        assert_eq!(module_root(&dir.path().join("proj/top/sub")), dir.path().join("proj"));
        assert_eq!(module_root(&dir.path().join("plain")), dir.path().join("plain"));
    }

    #[test]
    fn a_namespace_package_that_imports_itself_by_name_is_named_from_above() {
        let dir = tree(&[
            ("wheel/app/api/routes.py", "import os\nfrom app.utils.run import run\n"),
            ("wheel/app/utils/run.py", "def run(x):\n    pass\n"),
            ("site/google/cloud/storage/__init__.py", ""),
            ("site/google/cloud/storage/blob.py", "import google.cloud.storage._helpers as h\n"),
            ("scripts/tool.py", "import os, sys\nfrom scripts_helpers import x\n"),
            ("apps/api/views.py", "from apps_other import x  # not `apps`\n"),
            ("shop/src/shop/__init__.py", ""),
            ("shop/src/shop/views.py", "from shop.db import query\nfrom shop import db\n"),
            ("shop/src/shop/db.py", ""),
            ("flat/pkg/mod.py", "from pkg import helpers as h, other\n"),
            ("flat/pkg/helpers.py", ""),
        ]);
        assert_eq!(module_root(&dir.path().join("wheel/app")), dir.path().join("wheel"));
        assert_eq!(module_root(&dir.path().join("site/google/cloud/storage")), dir.path().join("site"));
        assert_eq!(module_root(&dir.path().join("scripts")), dir.path().join("scripts"));
        assert_eq!(module_root(&dir.path().join("apps")), dir.path().join("apps"));
        // A project named like the package it holds under `src/` is not that package.
        assert_eq!(module_root(&dir.path().join("shop")), dir.path().join("shop"));
        assert_eq!(module_root(&dir.path().join("flat/pkg")), dir.path().join("flat"));
    }

    #[test]
    fn source_roots_come_from_the_packaging_configuration_and_a_src_directory() {
        let roots = |files: &[(&str, &str)]| {
            let dir = tree(files);
            source_roots(dir.path()).roots().to_vec()
        };
        assert_eq!(roots(&[("src/shop/__init__.py", "")]), ["src"]);
        // A `src` that is itself a package is named `src`.
        assert!(roots(&[("src/__init__.py", ""), ("src/m.py", "")]).is_empty());
        assert_eq!(roots(&[("pyproject.toml", "[tool.setuptools]\npackage-dir = { \"\" = \"lib\" }\n")]), ["lib"]);
        assert_eq!(roots(&[("pyproject.toml", "[tool.setuptools.packages.find]\nwhere = [\"python\"]\n")]), ["python"]);
        assert_eq!(roots(&[("pyproject.toml", "[tool.poetry]\npackages = [{ include = \"app\", from = \"code\" }]\n")]), ["code"]);
        assert_eq!(roots(&[("pyproject.toml", "[tool.hatch.build.targets.wheel]\npackages = [\"pysrc/app\"]\n")]), ["pysrc"]);
        assert_eq!(roots(&[("pyproject.toml", "[tool.flowsight]\nroots = [\"a/b\", \"c\", \"../x\"]\n")]), ["a/b", "c"]);
        assert_eq!(roots(&[("setup.cfg", "[metadata]\nname = x\n[options]\npackage_dir =\n    =lib\npackages = find:\n")]), ["lib"]);
        assert_eq!(roots(&[("setup.cfg", "[options]\npackage_dir = =py\n")]), ["py"]);
        // Broken configuration adds nothing and never fails.
        assert!(roots(&[("pyproject.toml", "[tool.flowsight\nroots = 3"), ("setup.cfg", "\u{0}\u{1}")]).is_empty());
        assert!(roots(&[("pyproject.toml", "[tool.flowsight]\nroots = 3\n[tool.setuptools]\npackage-dir = 1\n")]).is_empty());
    }
}
