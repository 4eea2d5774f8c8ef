//! Whole-repository analysis of files on disk: read and parse in parallel, build the program,
//! run taint analysis. The batch counterpart of `workspace`.
//!
//! Several repositories (see `walk::discover`) are analysed as separate programs, in
//! parallel, unless one imports a package only another provides: then they are one program
//! (`analysis_groups`). So a scan of unrelated repositories is exactly the union of their
//! separate scans (finding ids included), and cross-repository flows are found.
//!
//! With a cache directory (`scan_repositories_cached`), a scan starts from the persistent cache
//! of its display root (`persist`): one cache for the scan, each program's analysis stored
//! under its repositories' identities; the result equals a scan without cache.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use rayon::prelude::*;

use crate::error::{EngineError, Result};
use crate::index::{absolute_path, common_root, discover_files, pool, relative_path};
use crate::ir::lower::IrCache;
use crate::parse::Document;
use crate::program::{build_parts_in, place_parts, FileProgram, Program};
use crate::rules::RuleSet;
use crate::slice::{slice_at_with_cache, SliceCache, SliceResult};
use crate::source::{load_source_within, parse_problems, FileError};
use crate::taint::export::Export;
use crate::taint::{analyze_incrementally_after, AnalysisCache, AnalysisStats, Finding, TextChange};
use crate::templates::{TemplateFile, TemplateSet};
use crate::walk::{discover, Discovered, Excludes, Repository};

pub struct ScanResult {
    pub findings: Vec<Finding>,
    pub errors: Vec<FileError>,
    pub files: usize,
    pub functions: usize,
    /// Wall-clock time of reading and parsing every file (the phase's duration; when the
    /// stored result is reused, of reading the files and the cache).
    pub parse_seconds: f64,
    /// Wall-clock time of building the program, analysing and rendering findings.
    pub analysis_seconds: f64,
    /// What the solver did and which bounds the results met.
    pub stats: AnalysisStats,
}

/// Per file of a scan: its document (None: not read) and what parsing reported.
type ParsedFiles = Vec<(Option<Document>, Vec<FileError>)>;

/// One loaded file: (relative path, document) unless it could not be read, and its errors.
type LoadedFile = (Option<(String, Document)>, Vec<FileError>);

/// Loaded documents of `paths` (files or directories): (relative path, document) in order.
pub fn load_documents(paths: &[PathBuf], root: &Path) -> (Vec<(String, Document)>, Vec<FileError>) {
    let (files, mut errors) = discover_files(paths);
    let order = crate::index::largest_first(&files);
    let boundary = root.to_path_buf();
    let loaded: Vec<LoadedFile> = pool().install(|| {
        let mut loaded: Vec<(usize, LoadedFile)> = order
            .par_iter()
            .with_max_len(1)
            .map(|&index| (index, &files[index]))
            .map(|(index, path)| {
                let relative = relative_path(root, path);
                // Only what resolves inside the root is read (a link may point anywhere).
                let (text, mut errors) = load_source_within(path, &relative, std::slice::from_ref(&boundary));
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

/// Reads, parses and analyses `paths` with `rules`: each named directory a repository (see
/// `walk::discover`), or everything one repository rooted at `root`.
pub fn scan_paths(paths: &[PathBuf], root: Option<&Path>, rules: &RuleSet) -> Result<ScanResult> {
    scan_paths_cached(paths, root, rules, None).map(|(result, _)| result)
}

/// `scan_paths` with the persistent cache in `cache_dir` (see `scan_repositories_cached`).
pub fn scan_paths_cached(
    paths: &[PathBuf],
    root: Option<&Path>,
    rules: &RuleSet,
    cache_dir: Option<&Path>,
) -> Result<(ScanResult, CacheReport)> {
    scan_paths_phased(paths, root, rules, cache_dir, &mut Phases::start())
}

/// `scan_paths_cached`, its phases (discovery first) accounted in `phases`.
pub fn scan_paths_phased(
    paths: &[PathBuf],
    root: Option<&Path>,
    rules: &RuleSet,
    cache_dir: Option<&Path>,
    phases: &mut Phases,
) -> Result<(ScanResult, CacheReport)> {
    let discovered = discover(paths, root, &Excludes::default());
    phases.end("discover");
    scan_repositories_phased(&discovered, rules, cache_dir, phases)
}

/// One file of a scan as read.
struct ReadFile {
    repository: usize,
    /// Relative to its repository's root: its key in a program of that repository alone.
    key: String,
    /// Relative to the display root: how results and the cache name it, and its key in a
    /// program of several repositories.
    shown: String,
    /// The file on disk, while it is still to be read (`parse_files` reads it then).
    unread: Option<PathBuf>,
    /// Its length in bytes (its text's, or on disk while unread): the largest parse first.
    size: u64,
    /// None: not read (see `errors`) or not yet read (`unread`); taken by `parse_files`.
    text: Option<String>,
    errors: Vec<FileError>,
}

/// Every repository's files in discovery order, read in parallel when `read`; otherwise left
/// for `parse_files` to read (each file just before it parses it: no barrier between reading
/// and parsing, where one core read while the other waited). Errors name files relative to the
/// display root.
fn read_repositories(discovered: &Discovered, read: bool) -> Vec<ReadFile> {
    let files: Vec<(usize, &PathBuf)> =
        discovered.repositories.iter().enumerate().flat_map(|(index, r)| r.files.iter().map(move |file| (index, file))).collect();
    pool().install(|| {
        files
            .par_iter()
            .map(|&(repository, path)| {
                let key = relative_path(&discovered.repositories[repository].root, path);
                let shown = relative_path(&discovered.root, path);
                if !read {
                    // Only an order: a file that cannot be read is reported when it is read.
                    let size = std::fs::metadata(path).map_or(0, |metadata| metadata.len());
                    return ReadFile { repository, key, shown, unread: Some(path.clone()), size, text: None, errors: Vec::new() };
                }
                let (text, errors) = read_within(discovered, repository, path, &shown);
                let size = text.as_ref().map_or(0, |text| text.len() as u64);
                ReadFile { repository, key, shown, unread: None, size, text, errors }
            })
            .collect()
    })
}

/// A file's text, read only if it resolves inside its repository (a link may point anywhere).
fn read_within(discovered: &Discovered, repository: usize, path: &Path, shown: &str) -> (Option<String>, Vec<FileError>) {
    load_source_within(path, shown, std::slice::from_ref(&discovered.repositories[repository].root))
}

/// One template file of a scan as read: its repository, its key (relative to the repository's
/// root), its path relative to the display root, and its text.
struct ReadTemplate {
    repository: usize,
    key: String,
    shown: String,
    text: String,
}

/// Reads every repository's template files in parallel. A template that cannot be read (too
/// large, binary, a link leaving the repository) is left out: it is no Python file to report.
fn read_templates(discovered: &Discovered) -> Vec<ReadTemplate> {
    let files: Vec<(usize, &PathBuf)> =
        discovered.repositories.iter().enumerate().flat_map(|(index, r)| r.templates.iter().map(move |file| (index, file))).collect();
    pool().install(|| {
        files
            .par_iter()
            .filter_map(|&(repository, path)| {
                let key = relative_path(&discovered.repositories[repository].root, path);
                let shown = relative_path(&discovered.root, path);
                let boundary = [discovered.repositories[repository].root.clone()];
                let (text, _) = load_source_within(path, &shown, &boundary);
                Some(ReadTemplate { repository, key, shown, text: text? })
            })
            .collect()
    })
}

/// The template set of a program made of `group`'s repositories, keyed as its Python files are
/// (relative to the repository's root alone, to the display root for several).
fn template_set(group: &[usize], templates: &[ReadTemplate]) -> Arc<TemplateSet> {
    let files = templates.iter().filter(|template| group.contains(&template.repository)).map(|template| {
        let key = if group.len() > 1 { template.shown.clone() } else { template.key.clone() };
        Arc::new(TemplateFile::new(key, template.text.clone()))
    });
    Arc::new(TemplateSet::new(files))
}

/// Parses the texts read, largest first (the longest files do not end the run alone): per
/// file, its document (None: not read) and what parsing reported. With `stored` (a cache's
/// `persist::trees` directory and each file's text hash), a file whose tree is stored is built
/// from it instead of parsed, and a parsed file's tree is stored (`persist::trees`).
fn parse_files(discovered: &Discovered, files: &mut [ReadFile], stored: Option<(&Path, &[Option<[u8; 32]>])>) -> (ParsedFiles, TreeCounts) {
    // (file index, its text if read already)
    let mut texts: Vec<(usize, Option<String>)> = files
        .iter_mut()
        .enumerate()
        .filter(|(_, file)| file.text.is_some() || file.unread.is_some())
        .map(|(index, file)| (index, file.text.take()))
        .collect();
    texts.sort_by_key(|&(index, _)| std::cmp::Reverse(files[index].size));
    let shared = &*files;
    let parsed: Vec<ParsedFile> = pool().install(|| {
        texts
            .into_par_iter()
            .with_max_len(1)
            .map(|(index, text)| {
                let file = &shared[index];
                let mut clock = crate::parse::steps::Clock::start();
                // What reading it here reported (a text not UTF-8 is read, with an error).
                let (text, read_errors) = match (text, &file.unread) {
                    (Some(text), _) => (text, Vec::new()),
                    (None, Some(path)) => match read_within(discovered, file.repository, path, &file.shown) {
                        (Some(text), errors) => {
                            clock.lap(crate::parse::steps::READ);
                            (text, errors)
                        }
                        (None, errors) => return (index, None, errors, Vec::new(), TreeCounts::default()),
                    },
                    (None, None) => unreachable!("only files read or to read are parsed"),
                };
                let mut counts = TreeCounts::default();
                let stored = stored.and_then(|(trees, hashes)| Some((trees, hashes[index]?)));
                let document = match stored {
                    Some((trees, hash)) => {
                        let mut clock = crate::parse::steps::Clock::start();
                        let loaded = crate::persist::trees::load(trees, &hash, text);
                        clock.lap(crate::parse::steps::STORED_TREES);
                        match loaded {
                            Ok(document) => {
                                counts.loaded += 1;
                                document
                            }
                            Err(text) => {
                                let document = Document::new(text);
                                let mut clock = crate::parse::steps::Clock::start();
                                counts.written += usize::from(crate::persist::trees::store(trees, &hash, &document));
                                clock.lap(crate::parse::steps::STORED_TREES);
                                document
                            }
                        }
                    }
                    None => Document::new(text),
                };
                let shown = &file.shown;
                let mut clock = crate::parse::steps::Clock::start();
                let problems = parse_problems(shown, document.text(), document.line_index(), document.tree(), &Default::default());
                clock.lap(crate::parse::steps::PROBLEMS);
                (index, Some(document), read_errors, problems, counts)
            })
            .collect()
    });
    let mut result: ParsedFiles = (0..files.len()).map(|_| (None, Vec::new())).collect();
    let mut total = TreeCounts::default();
    for (index, document, read_errors, problems, counts) in parsed {
        // A file read here reports its reading's errors where one read first does.
        files[index].unread = None;
        files[index].errors.extend(read_errors);
        result[index] = (document, problems);
        total.loaded += counts.loaded;
        total.written += counts.written;
    }
    (result, total)
}

/// One file as `parse_files` left it: (file index, document, errors of reading it there, parse
/// problems, what it did with stored trees).
type ParsedFile = (usize, Option<Document>, Vec<FileError>, Vec<FileError>, TreeCounts);

/// What a cached scan did with stored trees.
pub use crate::persist::trees::TreeCounts;

/// Which repositories are analysed together: a repository importing a top-level package that
/// exactly one other repository provides (and it does not) joins that one's program, unless
/// their module names would collide. Groups in order of their first repository.
pub fn analysis_groups(parts: &[Vec<FileProgram<'_>>]) -> Vec<Vec<usize>> {
    use std::collections::{BTreeSet, HashMap};
    let top = |name: &str| name.split('.').next().unwrap_or("").to_string();
    let provided: Vec<BTreeSet<String>> = parts.iter().map(|p| p.iter().map(|part| top(&part.module.name)).collect()).collect();
    let modules: Vec<BTreeSet<&str>> = parts.iter().map(|p| p.iter().map(|part| part.module.name.as_str()).collect()).collect();
    let mut providers: HashMap<&str, Vec<usize>> = HashMap::new();
    for (repository, names) in provided.iter().enumerate() {
        for name in names {
            providers.entry(name.as_str()).or_default().push(repository);
        }
    }
    // Union-find over repositories; each group's module names, to refuse collisions.
    let mut parent: Vec<usize> = (0..parts.len()).collect();
    let mut names: Vec<BTreeSet<&str>> = modules.clone();
    fn find(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    for (repository, repository_parts) in parts.iter().enumerate() {
        let imported: BTreeSet<String> = repository_parts.iter().flat_map(|part| part.module.imports.values().map(|q| top(q))).collect();
        for name in imported.iter().filter(|name| !provided[repository].contains(*name)) {
            let Some([provider]) = providers.get(name.as_str()).map(Vec::as_slice) else { continue };
            let (a, b) = (find(&mut parent, repository), find(&mut parent, *provider));
            if a == b || !names[a].is_disjoint(&names[b]) {
                continue;
            }
            let moved = std::mem::take(&mut names[b]);
            names[a].extend(moved);
            parent[b] = a;
        }
    }
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut group_of: HashMap<usize, usize> = HashMap::new();
    for repository in 0..parts.len() {
        let leader = find(&mut parent, repository);
        let group = *group_of.entry(leader).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[group].push(repository);
    }
    groups
}

/// `key` (a path relative to `repository`'s root) relative to the display root.
fn shown_path(display_root: &Path, repository: &Repository, key: &str) -> String {
    if repository.root == display_root {
        key.to_string()
    } else {
        format!("{}/{key}", relative_path(display_root, &repository.root))
    }
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
    /// What was done with stored syntax trees (nothing when the stored result was returned).
    pub trees: TreeCounts,
}

/// Analyses discovered repositories: each group of `analysis_groups` one program, groups in
/// parallel. Findings and errors name files relative to the display root.
pub fn scan_repositories(discovered: &Discovered, rules: &RuleSet) -> Result<ScanResult> {
    scan_repositories_cached(discovered, rules, None).map(|(result, _)| result)
}

/// A program's seed from the cache: its previous analysis, the files changed since (by their
/// keys in the program) and their text changes.
type Seed = (Option<AnalysisCache>, Option<HashSet<String>>, HashMap<String, TextChange>);

/// `scan_repositories` starting from the persistent cache in `cache_dir` (see `persist`) and
/// writing it back. One cache for the scan, of its display root and rules: every file's hash
/// and text (by its path relative to the display root), each program's analysis (named by
/// its repositories' identities, sorted) and the scan's result. When the repositories and every
/// file's path and hash are those stored, the stored result is returned without parsing;
/// otherwise each program starts from the analysis stored for the same repositories (if any)
/// and analyses only what changed. The result equals a scan without cache (tested).
pub fn scan_repositories_cached(discovered: &Discovered, rules: &RuleSet, cache_dir: Option<&Path>) -> Result<(ScanResult, CacheReport)> {
    scan_repositories_phased(discovered, rules, cache_dir, &mut Phases::start())
}

/// `scan_repositories_cached`, its phases accounted in `phases`.
pub fn scan_repositories_phased(
    discovered: &Discovered,
    rules: &RuleSet,
    cache_dir: Option<&Path>,
    phases: &mut Phases,
) -> Result<(ScanResult, CacheReport)> {
    use crate::persist::{self, Rejected, Snapshot, StoredAnalysis, StoredScan};
    let started = Instant::now();
    // A cached scan hashes every text before it parses (an unchanged scan parses nothing);
    // otherwise each file is read just before it is parsed.
    let mut files = read_repositories(discovered, cache_dir.is_some());
    let templates = read_templates(discovered);
    phases.end("read");
    // A program's module names depend on its source roots: cached results are theirs too.
    let repositories: Vec<String> = discovered.repositories.iter().map(Repository::analysis_identity).collect();
    let mut report = CacheReport::default();
    let mut snapshot: Option<Snapshot> = None;
    let mut hashes: Vec<Option<[u8; 32]>> = vec![None; files.len()];
    let mut template_hashes: Vec<[u8; 32]> = Vec::new();
    if let Some(dir) = cache_dir {
        hashes = pool().install(|| files.par_iter().map(|file| file.text.as_deref().map(persist::text_hash)).collect());
        template_hashes = pool().install(|| templates.par_iter().map(|template| persist::text_hash(&template.text)).collect());
        match persist::load(dir, &discovered.root, &rules.fingerprint) {
            Ok(loaded) => snapshot = Some(loaded),
            Err(Rejected::Missing | Rejected::RulesChanged) => {}
            Err(rejected) => report.notice = Some(format!("cache {}: {rejected}; rebuilt", persist::cache_file(dir).display())),
        }
    }
    if let Some(mut result) = snapshot
        .as_ref()
        .and_then(|snapshot| stored_result(snapshot, &repositories, discovered, &files, &hashes, &templates, &template_hashes))
    {
        result.parse_seconds = started.elapsed().as_secs_f64();
        report.reused_scan = true;
        phases.end("stored result");
        return Ok((result, report));
    }
    let trees = cache_dir.map(crate::persist::trees::trees_dir);
    // Without the directory no tree is stored (and the scan parses every file, as without it).
    let trees = trees.filter(|trees| std::fs::create_dir_all(trees).is_ok());
    let (parsed, tree_counts) = parse_files(discovered, &mut files, trees.as_deref().map(|trees| (trees, hashes.as_slice())));
    report.trees = tree_counts;
    phases.end("parse");
    if crate::taint::debug_analysis() && trees.is_some() {
        eprintln!("  stored trees: {} files built from their tree, {} trees written", tree_counts.loaded, tree_counts.written);
    }
    let mut errors = discovered.errors.clone();
    // Per repository: (file index, document), in order.
    let mut documents: Vec<Vec<(usize, Document)>> = discovered.repositories.iter().map(|_| Vec::new()).collect();
    let mut parse_errors: Vec<Vec<FileError>> = Vec::with_capacity(files.len());
    for (index, (file, (document, problems))) in files.iter().zip(parsed).enumerate() {
        errors.extend(file.errors.iter().cloned());
        errors.extend(problems.iter().cloned());
        parse_errors.push(problems);
        documents[file.repository].extend(document.map(|document| (index, document)));
    }
    let parse_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let mut parts: Vec<Vec<FileProgram<'_>>> = pool().install(|| {
        documents
            .par_iter()
            .zip(&discovered.repositories)
            .map(|(docs, repository)| {
                build_parts_in(
                    &repository.source_roots,
                    docs.iter().map(|(index, document)| (files[*index].key.clone(), document)).collect(),
                )
            })
            .collect()
    });
    phases.end("file programs");
    let groups = analysis_groups(&parts);
    // A group of several repositories names its files relative to the display root (keys must
    // be unique); a lone repository keeps its own keys, so its results equal a scan of it alone.
    // Each program with the file index of each of its parts.
    let mut programs: Vec<(Vec<usize>, Vec<FileProgram<'_>>, Vec<usize>)> = Vec::new();
    for group in groups {
        let (mut members, mut indices) = (Vec::new(), Vec::new());
        for &repository in &group {
            let mut repository_parts = std::mem::take(&mut parts[repository]);
            if group.len() > 1 {
                for part in &mut repository_parts {
                    part.file.path = shown_path(&discovered.root, &discovered.repositories[repository], &part.file.path);
                }
            }
            members.extend(repository_parts);
            indices.extend(documents[repository].iter().map(|(index, _)| *index));
        }
        place_parts(members.iter_mut());
        programs.push((group, members, indices));
    }
    // Each program's analysis stored for the same repositories, and what changed since.
    let mut stored = snapshot.as_mut().map(|snapshot| std::mem::take(&mut snapshot.analyses)).unwrap_or_default();
    let mut texts: Vec<Option<&str>> = vec![None; files.len()];
    for (index, document) in documents.iter().flatten() {
        texts[*index] = Some(document.text());
    }
    let seeds: Vec<Seed> = programs
        .iter()
        .map(|(group, members, indices)| {
            let identity = program_identity(group, &repositories);
            let previous = stored.iter().position(|entry| entry.repositories == identity).map(|at| stored.swap_remove(at).analysis);
            let (Some(previous), Some(snapshot)) = (previous, snapshot.as_ref()) else { return (None, None, HashMap::new()) };
            let changed: Vec<(String, Option<TextChange>)> = pool().install(|| {
                members
                    .par_iter()
                    .zip(indices)
                    .filter_map(|(part, &index)| {
                        let change = snapshot.change(&files[index].shown, texts[index]?, hashes[index]?)?;
                        Some((part.file.path.clone(), change))
                    })
                    .collect()
            });
            let changes = changed.iter().filter_map(|(key, change)| Some((key.clone(), (*change)?))).collect();
            (Some(previous), Some(changed.into_iter().map(|(key, _)| key).collect()), changes)
        })
        .collect();
    let results: Vec<(Vec<Finding>, AnalysisStats, usize, AnalysisCache)> = pool().install(|| {
        programs
            .par_iter()
            .zip(seeds)
            .map(|((group, members, _), (previous, changed, changes))| {
                let root = match group.as_slice() {
                    [repository] => &discovered.repositories[*repository].root,
                    _ => &discovered.root,
                };
                let program = Program::from_parts(members).with_root(root).with_templates(template_set(group, &templates));
                let (result, cache, _) = analyze_incrementally_after(&program, rules, previous, changed.as_ref(), &changes);
                let mut findings = result.findings;
                if let [repository] = group.as_slice() {
                    let repository = &discovered.repositories[*repository];
                    if repository.root != discovered.root {
                        for finding in &mut findings {
                            for location in std::iter::once(&mut finding.source)
                                .chain(std::iter::once(&mut finding.sink))
                                .chain(finding.steps.iter_mut().map(|s| &mut s.location))
                            {
                                location.path = shown_path(&discovered.root, repository, &location.path);
                            }
                        }
                    }
                }
                let scopes = program.scopes.len();
                let timer = Instant::now();
                drop(program);
                if crate::taint::debug_analysis() {
                    eprintln!("  program dropped: wall {:.3}s", timer.elapsed().as_secs_f64());
                }
                (findings, result.stats, scopes, cache)
            })
            .collect()
    });
    let analysis_seconds = started.elapsed().as_secs_f64();
    phases.end("analysis");
    let mut stats = AnalysisStats::default();
    let (mut findings, mut functions, mut analyses) = (Vec::new(), 0, Vec::new());
    for ((group, _, _), (group_findings, group_stats, scopes, cache)) in programs.iter().zip(results) {
        findings.extend(group_findings);
        functions += scopes;
        add_stats(&mut stats, &group_stats);
        analyses.push(StoredAnalysis { repositories: program_identity(group, &repositories), analysis: cache });
    }
    if let Some(dir) = cache_dir {
        let started = Instant::now();
        // Template files are stored too: a scan reuses its stored result only when they are unchanged.
        let current: Vec<(String, &str, [u8; 32], Vec<FileError>)> = files
            .iter()
            .enumerate()
            .zip(parse_errors)
            .filter_map(|((index, file), problems)| Some((file.shown.clone(), texts[index]?, hashes[index]?, problems)))
            .chain(
                templates
                    .iter()
                    .zip(&template_hashes)
                    .map(|(template, hash)| (template.shown.clone(), template.text.as_str(), *hash, Vec::new())),
            )
            .collect();
        let entries = pool().install(|| persist::entries(snapshot.as_ref(), current));
        let scan = StoredScan { repositories, findings: findings.clone(), functions, stats };
        let snapshot = Snapshot { files: entries, analyses, scan: Some(scan) };
        match persist::save(dir, &snapshot, &discovered.root, &rules.fingerprint) {
            Ok(bytes) => report.bytes_written = Some(bytes),
            Err(error) => report.write_error = Some(error),
        }
        if let Some(trees) = &trees {
            let keep: HashSet<[u8; 32]> = hashes.iter().flatten().copied().collect();
            report.trees.removed = persist::trees::remove_unused(trees, &keep);
        }
        phases.end("cache write");
        report.seconds = started.elapsed().as_secs_f64();
        free_in_background(snapshot);
    } else {
        free_in_background(analyses);
    }
    let files = documents.iter().map(Vec::len).sum();
    // The documents, freed on the pool in parallel after the result is returned: freeing
    // tree-sitter trees walked every node (~0.13 s of one core on Django, ~0.85 s on sympy) and
    // was the last single-threaded part of a scan; a `SyntaxTree` is a few allocations, the
    // texts and line indexes remain. The programs borrow the trees: dropped first, here, on
    // every core of the pool (their file programs' tables: ~15 ms of one core on sympy).
    drop(parts);
    pool().install(|| programs.into_par_iter().for_each(|(_, members, _)| members.into_par_iter().for_each(drop)));
    pool().spawn(move || documents.into_par_iter().flatten().for_each(drop));
    phases.end("results");
    Ok((ScanResult { findings, errors, files, functions, parse_seconds, analysis_seconds, stats }, report))
}

/// With `FLOWSIGHT_DEBUG_ANALYSIS`: wall and process CPU seconds of each phase of a scan, and
/// the CPU of each step of parsing, to stderr (CPU over wall shows how many cores were busy).
/// Started where the call starts (the Python module's `analyze_taint` before loading rules), so
/// the phases account for the whole call: `total` prints the wall and CPU since the start.
pub struct Phases {
    /// The start, then the end of the last phase: (wall, process CPU seconds).
    first: Option<(Instant, f64)>,
    last: Option<(Instant, f64)>,
}

impl Phases {
    pub fn start() -> Phases {
        let enabled = crate::taint::debug_analysis();
        if enabled {
            crate::parse::steps::enable();
        }
        let now = enabled.then(|| (Instant::now(), Phases::cpu()));
        Phases { first: now, last: now }
    }

    fn cpu() -> f64 {
        let time = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
        time.tv_sec as f64 + time.tv_nsec as f64 * 1e-9
    }

    /// Prints the phase that ends now: its wall and process CPU since the last phase ended.
    pub fn end(&mut self, phase: &str) {
        let Some((wall, cpu)) = self.last else { return };
        let (now, cpu_now) = (Instant::now(), Phases::cpu());
        eprintln!("phase {phase}: wall {:.3}s, cpu {:.3}s", now.duration_since(wall).as_secs_f64(), cpu_now - cpu);
        if phase == "parse" {
            for (step, seconds) in crate::parse::steps::seconds() {
                eprintln!("  parse step {step}: cpu {seconds:.3}s");
            }
        }
        self.last = Some((now, cpu_now));
    }

    /// Prints the wall and process CPU of `call` since the start (the sum of its phases).
    pub fn total(&self, call: &str) {
        let Some((wall, cpu)) = self.first else { return };
        eprintln!("phases of {call}: wall {:.3}s, cpu {:.3}s", wall.elapsed().as_secs_f64(), Phases::cpu() - cpu);
    }
}

/// Drops `value` on the engine's pool, after the caller got its result: what a scan built is
/// freed off the caller's thread. A process that exits first leaves the freeing to the OS.
fn free_in_background<T: Send + 'static>(value: T) {
    pool().spawn(move || drop(value));
}

/// What a program's analysis is stored under: its repositories' identities, sorted (the same
/// repositories are the same program, whatever order they were named in).
fn program_identity(group: &[usize], repositories: &[String]) -> Vec<String> {
    let mut identity: Vec<String> = group.iter().map(|&repository| repositories[repository].clone()).collect();
    identity.sort_unstable();
    identity
}

/// The result stored in `snapshot`, if it was computed from exactly these repositories and
/// files (every path and hash the same), with the errors a scan would report.
fn stored_result(
    snapshot: &crate::persist::Snapshot,
    repositories: &[String],
    discovered: &Discovered,
    files: &[ReadFile],
    hashes: &[Option<[u8; 32]>],
    templates: &[ReadTemplate],
    template_hashes: &[[u8; 32]],
) -> Option<ScanResult> {
    let stored = snapshot.scan.as_ref()?;
    if stored.repositories != repositories {
        return None;
    }
    let mut current: Vec<(&str, [u8; 32])> =
        files.iter().zip(hashes).filter_map(|(file, hash)| Some((file.shown.as_str(), (*hash)?))).collect();
    let python_files = current.len();
    current.extend(templates.iter().zip(template_hashes).map(|(template, hash)| (template.shown.as_str(), *hash)));
    current.sort_unstable();
    if !snapshot.same_files(&current) {
        return None;
    }
    let mut errors = discovered.errors.clone();
    for (file, hash) in files.iter().zip(hashes) {
        errors.extend(file.errors.iter().cloned());
        if hash.is_some() {
            errors.extend(snapshot.file(&file.shown).map(|entry| entry.parse_errors.clone()).unwrap_or_default());
        }
    }
    let stats = AnalysisStats {
        scopes: stored.functions,
        reused: stored.functions,
        limits: stored.stats.limits,
        unfinished: stored.stats.unfinished,
        ..AnalysisStats::default()
    };
    Some(ScanResult {
        findings: stored.findings.clone(),
        errors,
        files: python_files,
        functions: stored.functions,
        parse_seconds: 0.0,
        analysis_seconds: 0.0,
        stats,
    })
}

/// Sums the statistics of separate programs.
fn add_stats(total: &mut AnalysisStats, other: &AnalysisStats) {
    total.scopes += other.scopes;
    total.reused += other.reused;
    total.analysed += other.analysed;
    total.analyses += other.analyses;
    total.rounds = total.rounds.max(other.rounds);
    total.sweeps = total.sweeps.max(other.sweeps);
    total.widened += other.widened;
    total.limits.labels_merged += other.limits.labels_merged;
    total.limits.expression_depth += other.limits.expression_depth;
    total.limits.step_visits += other.limits.step_visits;
    total.limits.trace_elided += other.limits.trace_elided;
    total.limits.failed += other.limits.failed;
    total.limits.places_cut += other.limits.places_cut;
    total.limits.templates_unresolved += other.limits.templates_unresolved;
    total.limits.fields_collapsed += other.limits.fields_collapsed;
    total.limits.flattened_scopes += other.limits.flattened_scopes;
    total.limits.callees_bounded += other.limits.callees_bounded;
    total.unfinished |= other.unfinished;
}

/// Analyses the one repository `discovered` holds and exports it for a merge
/// (`taint::export`, `merge`): its summaries, findings and calls into other repositories.
/// Paths in the export are relative to the repository's root.
pub fn export_repository(discovered: &Discovered, rules: &RuleSet, name: Option<&str>) -> Result<(Export, Vec<FileError>)> {
    let [repository] = discovered.repositories.as_slice() else {
        return Err(EngineError::Merge(format!(
            "an export is of one repository; the paths name {} (export each on its own)",
            discovered.repositories.len()
        )));
    };
    let mut files = read_repositories(discovered, false);
    let templates = read_templates(discovered);
    let (parsed, _) = parse_files(discovered, &mut files, None);
    let mut errors = discovered.errors.clone();
    let mut documents: Vec<(usize, Document)> = Vec::new();
    for (index, (file, (document, problems))) in files.iter().zip(parsed).enumerate() {
        errors.extend(file.errors.iter().cloned());
        errors.extend(problems);
        documents.extend(document.map(|document| (index, document)));
    }
    let parts = pool().install(|| {
        build_parts_in(&repository.source_roots, documents.iter().map(|(index, document)| (files[*index].key.clone(), document)).collect())
    });
    let program = Program::from_parts(&parts).with_root(&repository.root).with_templates(template_set(&[0], &templates));
    let name = name.map_or_else(|| repository.name(), str::to_string);
    let export = pool()
        .install(|| crate::taint::export::export(&program, rules, repository.analysis_identity(), name))
        .map_err(EngineError::Merge)?;
    Ok((export, errors))
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
    // On one thread of the pool throughout: reading, parsing (a lone file is parsed on it too)
    // and slicing allocate from one malloc arena, so the slice reuses the memory its file's
    // tree-sitter tree was freed to (a 40,000-line module peaked at ~190 MB RSS with the
    // parse on a worker and the slice on the caller's thread, ~130 MB in one arena).
    pool().install(|| {
        let mut all = paths.to_vec();
        all.push(file.to_path_buf());
        // One program, named from the display root (a package directory's project root).
        let root = root.map(absolute_path).unwrap_or_else(|| crate::walk::repository_roots(&all, None).1);
        let (mut documents, _errors) = load_documents(&all, &root);
        let mut seen = std::collections::HashSet::new();
        documents.retain(|(path, _)| seen.insert(path.clone()));
        let parts =
            build_parts_in(&crate::walk::source_roots(&root), documents.iter().map(|(path, document)| (path.clone(), document)).collect());
        let program = Program::from_parts(&parts);
        let key = relative_path(&root, file);
        let (mut graphs, mut lowered) = (SliceCache::default(), IrCache::default());
        let result = slice_at_with_cache(&program, &key, line, column, forward, thin, &mut graphs, &mut lowered, None);
        // What the slice built and the documents, freed after the result is returned (as a scan
        // frees its own): a 40,000-line module's graphs and tree are most of its memory.
        drop(program);
        drop(parts);
        free_in_background((graphs, lowered, documents));
        result.map_err(EngineError::Criterion)
    })
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
    let parts =
        build_parts_in(&crate::walk::source_roots(&root), documents.iter().map(|(path, document)| (path.clone(), document)).collect());
    let program = Program::from_parts(&parts);
    pool().install(|| {
        let started = Instant::now();
        let sdg = Sdg::new(&program);
        let statements = |scope: usize| sdg.step_count(scope).saturating_sub(2);
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
            let last = sdg.step_count(scope) - 1;
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
