//! Exports and merges (`flowsight_engine::taint::export`, `flowsight_engine::merge`) for
//! Python: the files are JSON text, read and written by the CLI.

use std::collections::HashMap;
use std::path::PathBuf;

use pyo3::prelude::*;

use crate::analysis::{load_rules, Finding};
use crate::errors::{catch_panic, to_py_err};
use crate::FileError;
use flowsight_engine::error::EngineError;

/// Analyses the one repository a `walk_files` found and exports it: (the export's JSON text,
/// the per-file problems met). `name` replaces the repository's name (its root's base name).
#[pyfunction]
#[pyo3(signature = (discovery, rules_file=None, disabled_rules=Vec::new(), threat_models=None, name=None))]
fn export_discovered(
    py: Python<'_>,
    discovery: PyRef<'_, crate::walking::Discovery>,
    rules_file: Option<PathBuf>,
    disabled_rules: Vec<String>,
    threat_models: Option<Vec<String>>,
    name: Option<String>,
) -> PyResult<(String, Vec<FileError>)> {
    let discovered = &discovery.inner;
    let result = py.allow_threads(|| {
        catch_panic(|| -> Result<_, EngineError> {
            let rules = load_rules(rules_file, &disabled_rules, threat_models.as_deref())?;
            let (export, errors) = flowsight_engine::scan::export_repository(discovered, &rules, name.as_deref())?;
            Ok((export.to_json(), errors))
        })
    })?;
    let (text, errors) = result.map_err(to_py_err)?;
    Ok((text, errors.iter().map(FileError::from).collect()))
}

/// A merge's result.
#[pyclass(frozen, module = "flowsight._native", get_all)]
pub struct Merge {
    findings: Vec<Finding>,
    /// How many findings cross a repository boundary (the last ones).
    cross: usize,
    /// Per repository: name, identity, its own findings.
    repositories: Vec<(String, String, usize)>,
    /// The merge's own bounds (`MergeIncomplete`), by name.
    incomplete: HashMap<&'static str, u32>,
    /// The repositories' analyses' bounds, summed (as `TaintAnalysis.stats`' bound names).
    bounds: HashMap<&'static str, u32>,
}

/// Merges export files given as (name shown in errors, bytes): a `MergeError` names the file
/// that is not a readable export of this schema version, or why the exports do not go together.
#[pyfunction]
fn merge_exports(py: Python<'_>, files: Vec<(String, Vec<u8>)>) -> PyResult<Merge> {
    let result = py.allow_threads(|| {
        catch_panic(|| -> Result<_, EngineError> {
            let mut exports = Vec::with_capacity(files.len());
            for (name, bytes) in &files {
                exports.push(flowsight_engine::merge::load_export(bytes).map_err(|error| EngineError::Merge(format!("{name}: {error}")))?);
            }
            flowsight_engine::merge::merge(&exports).map_err(EngineError::Merge)
        })
    })?;
    let result = result.map_err(to_py_err)?;
    let i = result.incomplete;
    Ok(Merge {
        findings: result.findings.iter().map(Finding::from).collect(),
        cross: result.cross,
        repositories: result.repositories.into_iter().map(|r| (r.name, r.identity, r.findings)).collect(),
        incomplete: HashMap::from([
            ("unresolved_calls", i.unresolved_calls),
            ("stores_unfollowed", i.stores_unfollowed),
            ("returned_sources", i.returned_sources),
            ("fields_widened", i.fields_widened),
            ("template_sinks", i.template_sinks),
            ("ambiguous_providers", i.ambiguous_providers),
            ("flows_limit", i.flows_limit),
        ]),
        bounds: HashMap::from(crate::analysis::bounds_by_name(&result.bounds)),
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Merge>()?;
    m.add_function(wrap_pyfunction!(export_discovered, m)?)?;
    m.add_function(wrap_pyfunction!(merge_exports, m)?)?;
    Ok(())
}
