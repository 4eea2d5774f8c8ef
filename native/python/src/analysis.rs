//! Taint analysis (and later slicing) results as frozen Python values.

use std::path::PathBuf;

use flowsight_engine::error::EngineError;
use flowsight_engine::rules::RuleSet;
use flowsight_engine::scan::{
    scan_paths_phased, scan_repositories_phased, slice_paths, slice_statistics as engine_slice_statistics, Phases,
};
use flowsight_engine::taint::{Finding as EngineFinding, Location as EngineLocation};
use pyo3::prelude::*;
use std::collections::BTreeMap;

use crate::errors::{catch_panic, to_py_err};
use crate::FileError;

/// A source range: 0-based lines, UTF-8 byte columns.
#[pyclass(frozen, eq, module = "flowsight._native", get_all)]
#[derive(Clone, PartialEq)]
pub struct Location {
    path: String,
    start_line: usize,
    start_column: usize,
    end_line: usize,
    end_column: usize,
}

impl From<&EngineLocation> for Location {
    fn from(l: &EngineLocation) -> Location {
        Location {
            path: l.path.clone(),
            start_line: l.start_line,
            start_column: l.start_column,
            end_line: l.end_line,
            end_column: l.end_column,
        }
    }
}

#[pymethods]
impl Location {
    fn __repr__(&self) -> String {
        format!("Location({}:{}:{}-{}:{})", self.path, self.start_line, self.start_column, self.end_line, self.end_column)
    }
}

/// One step of a taint path, with its location flattened in.
#[pyclass(frozen, eq, module = "flowsight._native", get_all)]
#[derive(Clone, PartialEq)]
pub struct PathStep {
    path: String,
    start_line: usize,
    start_column: usize,
    end_line: usize,
    end_column: usize,
    kind: String,
    description: String,
}

#[pymethods]
impl PathStep {
    fn __repr__(&self) -> String {
        format!("PathStep({}:{} {}: {})", self.path, self.start_line, self.kind, self.description)
    }
}

#[pyclass(frozen, eq, module = "flowsight._native", get_all)]
#[derive(Clone, PartialEq)]
pub struct Finding {
    id: String,
    rule_id: String,
    rule_name: String,
    cwe: u32,
    severity: String,
    message: String,
    source: Location,
    sink: Location,
    steps: Vec<PathStep>,
    /// The threat model of the source (`remote`, `local`, `database`); None for a non-taint check.
    threat_model: Option<String>,
}

impl From<&EngineFinding> for Finding {
    fn from(f: &EngineFinding) -> Finding {
        Finding {
            id: f.id.clone(),
            rule_id: f.rule_id.clone(),
            rule_name: f.rule_name.clone(),
            cwe: f.cwe,
            severity: f.severity.clone(),
            message: f.message.clone(),
            source: Location::from(&f.source),
            sink: Location::from(&f.sink),
            steps: f
                .steps
                .iter()
                .map(|s| PathStep {
                    path: s.location.path.clone(),
                    start_line: s.location.start_line,
                    start_column: s.location.start_column,
                    end_line: s.location.end_line,
                    end_column: s.location.end_column,
                    kind: s.kind.clone(),
                    description: s.description.clone(),
                })
                .collect(),
            threat_model: f.threat_model.clone(),
        }
    }
}

#[pymethods]
impl Finding {
    fn __repr__(&self) -> String {
        format!("Finding({} CWE-{} at {}:{}: {})", self.rule_id, self.cwe, self.sink.path, self.sink.start_line, self.message)
    }
}

#[pyclass(frozen, module = "flowsight._native", get_all)]
pub struct TaintAnalysis {
    findings: Vec<Finding>,
    errors: Vec<FileError>,
    files: usize,
    functions: usize,
    parse_seconds: f64,
    analysis_seconds: f64,
    /// What the solver did and the bounds the results met (see `stats_to_dict`).
    stats: std::collections::HashMap<&'static str, usize>,
    /// What the persistent cache did: `notice` (why an existing cache was not used),
    /// `reused_scan`, `bytes_written`, `write_error`, `seconds`, `trees_loaded` (files built from
    /// their stored syntax tree), `trees_written`; empty without a cache.
    cache: std::collections::HashMap<&'static str, PyObject>,
}

/// Analysis statistics as a dict: scopes, reused, analysed (scopes), analyses, rounds, sweeps, widened,
/// rebase_examined (previous results examined for places an edit moved), and the
/// bounds met — labels_merged, expression_depth, step_visits, trace_elided, failed_scopes, places_cut,
/// templates_unresolved, fields_collapsed, flattened_scopes, callees_bounded, unfinished — with their total `incomplete`.
pub fn stats_to_dict(stats: &flowsight_engine::taint::AnalysisStats) -> std::collections::HashMap<&'static str, usize> {
    let mut dict = std::collections::HashMap::from([
        ("scopes", stats.scopes),
        ("reused", stats.reused),
        ("analysed", stats.analysed),
        ("analyses", stats.analyses),
        ("rounds", stats.rounds),
        ("sweeps", stats.sweeps),
        ("widened", stats.widened),
        ("rebase_examined", stats.rebase_examined),
        ("unfinished", usize::from(stats.unfinished)),
        ("incomplete", stats.incomplete()),
    ]);
    dict.extend(bounds_by_name(&stats.limits).map(|(name, count)| (name, count as usize)));
    dict
}

/// The taint analysis's bounds met, by the names `TaintAnalysis.stats` and a merge's
/// `bounds` give them (one list, so a new bound is named once).
pub fn bounds_by_name(limits: &flowsight_engine::taint::Incomplete) -> [(&'static str, u32); 10] {
    [
        ("labels_merged", limits.labels_merged),
        ("expression_depth", limits.expression_depth),
        ("step_visits", limits.step_visits),
        ("trace_elided", limits.trace_elided),
        ("failed_scopes", limits.failed),
        ("places_cut", limits.places_cut),
        ("templates_unresolved", limits.templates_unresolved),
        ("fields_collapsed", limits.fields_collapsed),
        ("flattened_scopes", limits.flattened_scopes),
        ("callees_bounded", limits.callees_bounded),
    ]
}

#[pymethods]
impl TaintAnalysis {
    fn __repr__(&self) -> String {
        format!(
            "TaintAnalysis(files={}, functions={}, findings={}, errors={})",
            self.files,
            self.functions,
            self.findings.len(),
            self.errors.len()
        )
    }
}

/// Loads the built-in packs plus `rules_file`, minus `disabled_rules`, with the sources of
/// `threat_models` (None: the default, `remote`).
pub fn load_rules(
    rules_file: Option<PathBuf>,
    disabled_rules: &[String],
    threat_models: Option<&[String]>,
) -> Result<RuleSet, EngineError> {
    let extra = read_rules_file(rules_file.as_ref())?;
    match threat_models {
        Some(models) => RuleSet::load_with_threat_models(&extra, disabled_rules, models),
        None => RuleSet::load(&extra, disabled_rules),
    }
}

/// The user's rules file as (name, text), if one is given.
pub fn read_rules_file(rules_file: Option<&PathBuf>) -> Result<Vec<(String, String)>, EngineError> {
    let mut extra = Vec::new();
    if let Some(path) = rules_file {
        // A regular file only (a FIFO or `/dev/zero` named as rules would block or never end).
        let config_error = |message: String| EngineError::Config { file: path.display().to_string(), line: 0, message };
        let bytes = flowsight_engine::safe_open::read_regular_file(path, &[], flowsight_engine::source::MAX_FILE_BYTES)
            .map_err(|error| config_error(error.to_string()))?;
        let text = String::from_utf8(bytes).map_err(|error| config_error(format!("cannot read: not UTF-8 ({error})")))?;
        extra.push((path.display().to_string(), text));
    }
    Ok(extra)
}

/// The rules of the last `Workspace.analyze_taint`, reused while the rules file's text and the
/// disabled rules are the same (loading the built-in packs takes longer than a small analysis).
#[derive(Default)]
pub struct RulesCache {
    last: Option<(RulesKey, std::sync::Arc<RuleSet>)>,
}

/// What the rules depend on: the rules file as (path, text), if any, the disabled rules and the
/// threat models.
type RulesKey = (Vec<(String, String)>, Vec<String>, Option<Vec<String>>);

impl RulesCache {
    pub fn get(
        &mut self,
        rules_file: Option<&PathBuf>,
        disabled_rules: &[String],
        threat_models: Option<&[String]>,
    ) -> Result<std::sync::Arc<RuleSet>, EngineError> {
        let key = (read_rules_file(rules_file)?, disabled_rules.to_vec(), threat_models.map(<[String]>::to_vec));
        if let Some((cached, rules)) = &self.last {
            if *cached == key {
                return Ok(rules.clone());
            }
        }
        let rules = std::sync::Arc::new(match threat_models {
            Some(models) => RuleSet::load_with_threat_models(&key.0, disabled_rules, models)?,
            None => RuleSet::load(&key.0, disabled_rules)?,
        });
        self.last = Some((key, rules.clone()));
        Ok(rules)
    }
}

/// Lowers the scheduling priority of the engine's shared pool's threads to `nice` (see
/// `index::lower_shared_pool_priority`); returns the threads changed.
#[pyfunction]
fn lower_shared_pool_priority(py: Python<'_>, nice: i32) -> PyResult<usize> {
    py.allow_threads(|| catch_panic(|| flowsight_engine::index::lower_shared_pool_priority(nice))).map_err(Into::into)
}

/// The ids of the non-taint checks, then of the rules in effect with the built-in packs plus
/// `rules_file`, in pack order (so a rules file's rules come last).
#[pyfunction]
#[pyo3(signature = (rules_file=None))]
fn rule_ids(py: Python<'_>, rules_file: Option<PathBuf>) -> PyResult<Vec<String>> {
    let rules = py.allow_threads(|| catch_panic(|| load_rules(rules_file, &[], None)))?.map_err(to_py_err)?;
    Ok(rules.checks.iter().map(|check| check.id.clone()).chain(rules.rules.iter().map(|rule| rule.id.clone())).collect())
}

/// Rule id → (module to import, dotted call) of the quick-fix sanitiser its pack names
/// (`fix = { call = … }`), for the built-in packs plus `rules_file`.
#[pyfunction]
#[pyo3(signature = (rules_file=None))]
fn rule_fixes(py: Python<'_>, rules_file: Option<PathBuf>) -> PyResult<std::collections::HashMap<String, (String, String)>> {
    let rules = py.allow_threads(|| catch_panic(|| load_rules(rules_file, &[], None)))?.map_err(to_py_err)?;
    Ok(rules.rules.iter().filter_map(|rule| Some((rule.id.clone(), rule.fix.clone()?))).collect())
}

/// Reads, parses and analyses `paths` (files or directories): each named directory a
/// repository, or one program rooted at `root`.
#[pyfunction]
#[pyo3(signature = (paths, root=None, rules_file=None, disabled_rules=Vec::new(), threat_models=None, cache_dir=None))]
fn analyze_taint(
    py: Python<'_>,
    paths: Vec<PathBuf>,
    root: Option<PathBuf>,
    rules_file: Option<PathBuf>,
    disabled_rules: Vec<String>,
    threat_models: Option<Vec<String>>,
    cache_dir: Option<PathBuf>,
) -> PyResult<TaintAnalysis> {
    let mut phases = Phases::start();
    let result = py.allow_threads(|| {
        catch_panic(|| {
            let rules = load_rules(rules_file, &disabled_rules, threat_models.as_deref())?;
            phases.end("rules");
            scan_paths_phased(&paths, root.as_deref(), &rules, cache_dir.as_deref(), &mut phases)
        })
    })?;
    let analysis = taint_analysis(py, result.map_err(to_py_err)?, cache_dir.is_some());
    phases.end("conversion");
    phases.total("analyze_taint");
    analysis
}

/// Analyses the repositories a `walk_files` found (each its own program unless one imports
/// another's package); paths are relative to the discovery's root.
#[pyfunction]
#[pyo3(signature = (discovery, rules_file=None, disabled_rules=Vec::new(), threat_models=None, cache_dir=None))]
fn analyze_discovered(
    py: Python<'_>,
    discovery: PyRef<'_, crate::walking::Discovery>,
    rules_file: Option<PathBuf>,
    disabled_rules: Vec<String>,
    threat_models: Option<Vec<String>>,
    cache_dir: Option<PathBuf>,
) -> PyResult<TaintAnalysis> {
    let discovered = &discovery.inner;
    let mut phases = Phases::start();
    let result = py.allow_threads(|| {
        catch_panic(|| {
            let rules = load_rules(rules_file, &disabled_rules, threat_models.as_deref())?;
            phases.end("rules");
            scan_repositories_phased(discovered, &rules, cache_dir.as_deref(), &mut phases)
        })
    })?;
    let analysis = taint_analysis(py, result.map_err(to_py_err)?, cache_dir.is_some());
    phases.end("conversion");
    phases.total("analyze_discovered");
    analysis
}

/// A scan's result for Python; `cached`: a cache directory was given (else `cache` is empty).
fn taint_analysis(
    py: Python<'_>,
    (result, report): (flowsight_engine::scan::ScanResult, flowsight_engine::scan::CacheReport),
    cached: bool,
) -> PyResult<TaintAnalysis> {
    let mut cache = std::collections::HashMap::new();
    if cached {
        cache.insert("notice", report.notice.into_pyobject(py)?.into_any().unbind());
        cache.insert("reused_scan", report.reused_scan.into_pyobject(py)?.to_owned().into_any().unbind());
        cache.insert("bytes_written", report.bytes_written.into_pyobject(py)?.into_any().unbind());
        cache.insert("write_error", report.write_error.into_pyobject(py)?.into_any().unbind());
        cache.insert("seconds", report.seconds.into_pyobject(py)?.into_any().unbind());
        cache.insert("trees_loaded", report.trees.loaded.into_pyobject(py)?.into_any().unbind());
        cache.insert("trees_written", report.trees.written.into_pyobject(py)?.into_any().unbind());
    }
    Ok(TaintAnalysis {
        cache,
        findings: result.findings.iter().map(Finding::from).collect(),
        errors: result.errors.iter().map(FileError::from).collect(),
        files: result.files,
        functions: result.functions,
        parse_seconds: result.parse_seconds,
        analysis_seconds: result.analysis_seconds,
        stats: stats_to_dict(&result.stats),
    })
}

/// A slice: the lines of each file that belong to it.
#[pyclass(frozen, module = "flowsight._native", get_all)]
pub struct Slice {
    /// Path (relative to the root) → sorted 1-based line numbers.
    files: BTreeMap<String, Vec<usize>>,
    /// 1-based lines of the criterion's statements in its file.
    criterion_lines: Vec<usize>,
    /// Number of SDG nodes in the slice.
    nodes: usize,
    /// The bounds the slice met, named as `TaintAnalysis.stats` names them (`places_cut`) or
    /// as the CFG counts them (`flattened_scopes`, `shared_finally_copies`), with their total
    /// `incomplete`.
    stats: std::collections::HashMap<&'static str, usize>,
}

impl From<flowsight_engine::slice::SliceResult> for Slice {
    fn from(result: flowsight_engine::slice::SliceResult) -> Slice {
        let bounds = [
            ("places_cut", result.places_cut),
            ("flattened_scopes", result.flattened_scopes),
            ("shared_finally_copies", result.shared_finally_copies),
        ];
        let incomplete = bounds.iter().map(|&(_, count)| count).sum();
        let stats = bounds.into_iter().chain([("incomplete", incomplete)]).collect();
        Slice { files: result.files, criterion_lines: result.criterion_lines, nodes: result.nodes, stats }
    }
}

#[pymethods]
impl Slice {
    fn __repr__(&self) -> String {
        format!("Slice(files={}, lines={}, nodes={})", self.files.len(), self.files.values().map(Vec::len).sum::<usize>(), self.nodes)
    }
}

/// Slices the program made of `paths` from `file` at 0-based `line` (and byte `column`).
#[pyfunction]
#[pyo3(signature = (paths, file, line, column=None, root=None, forward=false, thin=false))]
#[allow(clippy::too_many_arguments)]
fn slice_code(
    py: Python<'_>,
    paths: Vec<PathBuf>,
    file: PathBuf,
    line: usize,
    column: Option<usize>,
    root: Option<PathBuf>,
    forward: bool,
    thin: bool,
) -> PyResult<Slice> {
    let result = py.allow_threads(|| catch_panic(|| slice_paths(&paths, root.as_deref(), &file, line, column, forward, thin)))?;
    Ok(Slice::from(result.map_err(to_py_err)?))
}

/// Slice sizes over a program (for benchmarks): a dict of statistics.
#[pyfunction]
#[pyo3(signature = (paths, root=None, samples=200))]
fn slice_statistics(
    py: Python<'_>,
    paths: Vec<PathBuf>,
    root: Option<PathBuf>,
    samples: usize,
) -> PyResult<std::collections::HashMap<&'static str, f64>> {
    let stats = py.allow_threads(|| catch_panic(|| engine_slice_statistics(&paths, root.as_deref(), samples)))?;
    Ok(std::collections::HashMap::from([
        ("functions", stats.functions as f64),
        ("slices", stats.slices as f64),
        ("mean_function_share", stats.mean_function_share),
        ("mean_program_share", stats.mean_program_share),
        ("sdg_seconds", stats.sdg_seconds),
        ("mean_slice_seconds", stats.mean_slice_seconds),
    ]))
}

/// The program dependence graph of one scope, as plain data.
#[pyclass(frozen, module = "flowsight._native", get_all)]
pub struct Pdg {
    qualified_name: String,
    path: String,
    /// Per step: (kind, first line, last line); steps 0 and 1 are the entry and the exit.
    steps: Vec<(String, usize, usize)>,
    /// (defining step, using step, access path).
    data_edges: Vec<(usize, usize, String)>,
    /// (branch step, dependent step).
    control_edges: Vec<(usize, usize)>,
}

#[pymethods]
impl Pdg {
    fn __repr__(&self) -> String {
        format!(
            "Pdg({}, steps={}, data_edges={}, control_edges={})",
            self.qualified_name,
            self.steps.len(),
            self.data_edges.len(),
            self.control_edges.len()
        )
    }
}

impl From<flowsight_engine::pdg::PdgSummary> for Pdg {
    fn from(p: flowsight_engine::pdg::PdgSummary) -> Pdg {
        Pdg { qualified_name: p.qualified_name, path: p.path, steps: p.steps, data_edges: p.data_edges, control_edges: p.control_edges }
    }
}

/// PDGs of every scope of `file` (read from disk), module body first.
#[pyfunction]
#[pyo3(signature = (file, root=None))]
fn build_pdg(py: Python<'_>, file: PathBuf, root: Option<PathBuf>) -> PyResult<Vec<Pdg>> {
    let result = py.allow_threads(|| {
        catch_panic(|| {
            let root = root.clone().unwrap_or_else(|| file.parent().map(PathBuf::from).unwrap_or_default());
            let mut workspace = flowsight_engine::workspace::Workspace::new(&root);
            let path = file.to_string_lossy().into_owned();
            workspace.load_file(&path);
            workspace.pdgs(&path)
        })
    })?;
    Ok(result.map_err(to_py_err)?.into_iter().map(Pdg::from).collect())
}

/// Symbol tables of a module's source, as `symtable` would give them: for each scope
/// (kind, name, line, {symbol: "parameter" | "local" | "free" | "global_explicit" | "global_implicit"}).
#[pyfunction]
#[allow(clippy::type_complexity)]
fn symbol_tables(py: Python<'_>, text: String) -> PyResult<Vec<(String, String, usize, BTreeMap<String, &'static str>)>> {
    Ok(py.allow_threads(|| {
        catch_panic(|| {
            let document = flowsight_engine::parse::Document::new(text);
            flowsight_engine::scopes::symbol_tables(document.text(), document.tree())
                .into_iter()
                .map(|table| {
                    let symbols = table.symbols.iter().map(|(name, scope)| (name.clone(), scope.as_str())).collect();
                    (format!("{:?}", table.kind).to_lowercase(), table.name, table.line, symbols)
                })
                .collect()
        })
    })?)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(symbol_tables, m)?)?;
    m.add_class::<Pdg>()?;
    m.add_function(wrap_pyfunction!(build_pdg, m)?)?;
    m.add_function(wrap_pyfunction!(slice_statistics, m)?)?;
    m.add_class::<Slice>()?;
    m.add_function(wrap_pyfunction!(slice_code, m)?)?;
    m.add_class::<Location>()?;
    m.add_class::<PathStep>()?;
    m.add_class::<Finding>()?;
    m.add_class::<TaintAnalysis>()?;
    m.add_function(wrap_pyfunction!(analyze_taint, m)?)?;
    m.add_function(wrap_pyfunction!(analyze_discovered, m)?)?;
    m.add_function(wrap_pyfunction!(rule_ids, m)?)?;
    m.add_function(wrap_pyfunction!(lower_shared_pool_priority, m)?)?;
    m.add_function(wrap_pyfunction!(rule_fixes, m)?)?;
    Ok(())
}
