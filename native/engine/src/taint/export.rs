//! A repository's analysis exported for a merge with other repositories' (the merge (`merge.rs`)): the
//! summaries of its functions and methods by module-qualified name, its findings, and its calls
//! into modules it does not contain with the taint each argument carries.
//!
//! The calls are found by the analysis itself: an export runs it with `RuleSet::external_calls`
//! set, so every argument of a call into an external module is a sink hit of a kind no rule
//! uses, at the argument (`calls::eval_call`). A source reaching one is a raw finding (an
//! `ExternalCall`); a parameter reaching one is a summary entry, which callers inside the
//! repository apply as any other (`ParamCall`). The argument is named in the hit's callee:
//! `p{i}` a positional argument of a call on an instance, `c{i}` one of a call on a module or
//! class name or with no receiver, `k{name}` a keyword, `r` the receiver, `*` after a splat.
//!
//! Invariant: what a summary holds that the file cannot express (stores into arguments or
//! module state, returned sources, field parameters, template outputs) is marked on the
//! function, so the merge counts it (`merge::MergeIncomplete`), never drops it silently.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::program::{Program, ScopeKind};
use crate::rules::{ExternalCalls, RuleSet, SourceKind};

use super::findings::{location, Finding, FindingStep, Location};
use super::lattice::TraceStep;
use super::summary::{field_of, Summary, RECEIVER};
use super::{analyze_incrementally, short, Incomplete};

/// What an export file says it is (`schema`) and the layout's version (`version`): a reader
/// refuses any other.
pub const EXPORT_SCHEMA: &str = "flowsight-export";
pub const EXPORT_VERSION: u32 = 1;

/// Separates a callee's reference from the argument in an external hit's callee.
const ARGUMENT_SEPARATOR: char = '\u{1}';

/// The callee an external hit records: the reference and the argument (see the module's doc).
pub(super) fn external_callee(reference: &str, argument: &str) -> String {
    format!("{reference}{ARGUMENT_SEPARATOR}{argument}")
}

fn split_callee(callee: &str) -> (String, String) {
    match callee.split_once(ARGUMENT_SEPARATOR) {
        Some((reference, argument)) => (reference.to_string(), argument.to_string()),
        None => (callee.to_string(), "*".to_string()),
    }
}

/// One export file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Export {
    pub schema: String,
    pub version: u32,
    /// The flowsight version that wrote it.
    pub flowsight: String,
    /// The rules fingerprint (`RuleSet::fingerprint`): exports merged together must share it.
    pub rules: String,
    pub repository: ExportedRepository,
    /// Every function and method, by module-qualified name (nested functions left out).
    pub functions: Vec<ExportedFunction>,
    /// Every class: its module-qualified name and bases (as resolved in the repository).
    pub classes: Vec<ExportedClass>,
    /// Names a module binds to another of the repository's names (`lib.Shell` →
    /// `lib.shell.Shell`: `from .shell import Shell` in `lib/__init__.py`).
    pub aliases: BTreeMap<String, String>,
    /// The repository's own findings (paths relative to its root).
    pub findings: Vec<Finding>,
    /// Sources reaching arguments of calls into external modules.
    pub calls: Vec<ExternalCall>,
    /// The bounds its own analysis met.
    pub incomplete: Incomplete,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ExportedRepository {
    /// As `walk::Repository::analysis_identity`: the root's path (and source roots).
    pub identity: String,
    /// The root's base name: how merged paths name the repository.
    pub name: String,
    /// The top-level packages and modules it provides.
    pub provides: Vec<String>,
    /// The top-level modules it imports and does not provide.
    pub imports: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ExportedClass {
    pub name: String,
    pub bases: Vec<String>,
}

/// A parameter as a summary names it: `index` among the explicit parameters (`None`: the
/// receiver); `field`: only an attribute of it is read (the merge passes the whole argument).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Parameter {
    pub index: Option<usize>,
    pub field: bool,
}

impl Parameter {
    fn of(param: usize) -> Parameter {
        match field_of(param) {
            Some((slot, _)) => Parameter { index: (slot != RECEIVER).then_some(slot), field: true },
            None => Parameter { index: (param != RECEIVER).then_some(param), field: false },
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ExportedFunction {
    pub name: String,
    pub path: String,
    pub line: usize,
    /// Explicit parameters (without `self`/`cls`).
    pub params: Vec<String>,
    /// The first `*args`/`**kwargs` among `params` (it receives every argument past its position
    /// and every keyword, as `calls::apply_summary` binds them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variadic: Option<usize>,
    /// A method with a receiver (not a staticmethod).
    pub method: bool,
    // What a function has none of is left out of the file (most functions pass no parameter on).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sinks: Vec<ParamSinkEntry>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub calls: Vec<ParamCall>,
    /// Parameters the function stores somewhere its callers or other functions read (into an
    /// argument, its receiver, module state): not followed by a merge.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stores: Vec<Parameter>,
    /// The function returns a source's value: not followed into callers in other repositories.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub returns_source: bool,
}

/// A parameter reaching a sink inside the function (or deeper in its repository).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ParamSinkEntry {
    pub param: Parameter,
    pub kind: String,
    /// Kinds the value is sanitised for on the way.
    pub cleared: Vec<String>,
    pub rule_id: String,
    pub rule_name: String,
    pub severity: String,
    pub cwe: u32,
    pub callee: String,
    pub sink: Location,
    /// The sink line's text when it holds `flowsight: ignore` (a suppression comment).
    pub suppression: Option<String>,
    /// The sink is a render call whose template outputs the export does not list: the merge
    /// reports it at the call.
    pub template: bool,
    pub steps: Vec<FindingStep>,
}

/// A parameter reaching an argument of a call into an external module.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ParamCall {
    pub param: Parameter,
    pub cleared: Vec<String>,
    pub callee: String,
    pub argument: String,
    pub steps: Vec<FindingStep>,
}

/// A source reaching an argument of a call into an external module.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ExternalCall {
    pub callee: String,
    pub argument: String,
    pub source: Location,
    pub source_kind: SourceKind,
    pub source_text: String,
    pub cleared: Vec<String>,
    pub steps: Vec<FindingStep>,
}

/// The sink kinds of `mask` by name.
fn kinds(rules: &RuleSet, mask: u32) -> Vec<String> {
    rules.sink_kinds.iter().enumerate().filter(|(bit, _)| mask & (1 << bit) != 0).map(|(_, name)| name.clone()).collect()
}

fn steps(program: &Program<'_>, steps: &[TraceStep]) -> Vec<FindingStep> {
    steps
        .iter()
        .map(|step| FindingStep {
            location: location(program, (step.file, step.start, step.end)),
            kind: step.kind.to_string(),
            description: match step.description.split_once(ARGUMENT_SEPARATOR) {
                // An external hit's step: the callee without the argument's name.
                Some((callee, _)) => format!("{callee}`"),
                None => step.description.to_string(),
            },
        })
        .collect()
}

fn top(name: &str) -> &str {
    name.split('.').next().unwrap_or("")
}

/// Exports `program` (one repository, `identity` and `name` as `walk::Repository` gives them)
/// analysed with `rules`. Fails only when the rules leave no sink-kind bit for external calls.
pub fn export(program: &Program<'_>, rules: &RuleSet, identity: String, name: String) -> Result<Export, String> {
    if rules.sink_kinds.len() >= crate::rules::MAX_SINK_KINDS {
        return Err(format!("the rules declare {} sink kinds: none is left to mark external calls", rules.sink_kinds.len()));
    }
    let provides: BTreeSet<String> = program.modules.iter().map(|module| top(&module.name).to_string()).collect();
    let imports: BTreeSet<String> = program
        .modules
        .iter()
        .flat_map(|module| module.imports.values().map(|q| top(q).to_string()))
        .filter(|name| !name.is_empty() && !provides.contains(name))
        .collect();
    let kind = 1u32 << rules.sink_kinds.len();
    let mut extended = rules.clone();
    extended.external_calls = Some(ExternalCalls { kind, modules: imports.clone() });
    let (result, cache, stats) = analyze_incrementally(program, &extended, None);

    let mut calls = Vec::new();
    for raw in cache.raw.iter().flatten().filter(|raw| raw.kind == kind) {
        let (callee, argument) = split_callee(&raw.callee);
        let text = program.text(raw.source.0);
        calls.push(ExternalCall {
            callee,
            argument,
            source: location(program, raw.source),
            source_kind: raw.source_kind,
            source_text: short(text.get(raw.source.1..raw.source.2).unwrap_or("")),
            cleared: kinds(rules, raw.cleared),
            steps: steps(program, &raw.steps),
        });
    }
    let mut functions = Vec::new();
    for (scope, summary) in program.scopes.iter().zip(&cache.summaries) {
        if scope.kind != ScopeKind::Function || !program.functions.contains_key(scope.qualified_name.as_str()) {
            continue;
        }
        functions.push(exported_function(program, rules, kind, scope, summary));
    }
    let classes = program
        .classes
        .values()
        .map(|class| ExportedClass { name: class.qualified_name.clone(), bases: class.bases.clone() })
        .collect::<BTreeSet<_>>();
    let mut aliases = BTreeMap::new();
    for module in &program.modules {
        for (local, target) in module.imports.iter().chain(&module.aliases) {
            let from = format!("{}.{local}", module.name);
            if provides.contains(top(target)) && from != *target {
                aliases.insert(from, target.clone());
            }
        }
    }
    let mut findings = result.findings;
    findings.sort_by(|a, b| (&a.sink.path, a.sink.start_line, &a.id).cmp(&(&b.sink.path, b.sink.start_line, &b.id)));
    Ok(Export {
        schema: EXPORT_SCHEMA.to_string(),
        version: EXPORT_VERSION,
        flowsight: env!("CARGO_PKG_VERSION").to_string(),
        rules: rules.fingerprint.clone(),
        repository: ExportedRepository { identity, name, provides: provides.into_iter().collect(), imports: imports.into_iter().collect() },
        functions,
        classes: classes.into_iter().collect(),
        aliases,
        findings,
        calls,
        incomplete: stats.limits,
    })
}

impl Export {
    /// The file's text: JSON, one line.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("an export is plain data")
    }
}

impl PartialEq for ExportedClass {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}
impl Eq for ExportedClass {}
impl PartialOrd for ExportedClass {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for ExportedClass {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.name.cmp(&other.name)
    }
}

fn exported_function(
    program: &Program<'_>,
    rules: &RuleSet,
    external: u32,
    scope: &crate::program::Scope<'_>,
    summary: &Summary,
) -> ExportedFunction {
    let explicit = usize::from(scope.implicit_receiver);
    let params: Vec<String> = scope.params.iter().skip(explicit).map(|p| p.name.clone()).collect();
    let variadic = scope.params.iter().skip(explicit).position(|p| p.variadic);
    let (mut sinks, mut calls) = (Vec::new(), Vec::new());
    for sink in &summary.param_sinks {
        let param = Parameter::of(sink.param);
        if sink.kind == external {
            let (callee, argument) = split_callee(&sink.callee);
            calls.push(ParamCall { param, cleared: kinds(rules, sink.cleared), callee, argument, steps: steps(program, &sink.steps) });
            continue;
        }
        let Some(rule) = rules.rule_for(sink.kind) else { continue };
        let document = program.files[sink.sink.0].document;
        let line = document.line_index().line_of(sink.sink.1);
        let line_text = &document.text()[document.line_index().line_start(line)..document.line_index().line_end(document.text(), line)];
        sinks.push(ParamSinkEntry {
            param,
            kind: kinds(rules, sink.kind).pop().unwrap_or_default(),
            cleared: kinds(rules, sink.cleared),
            rule_id: rule.id.clone(),
            rule_name: rule.name.clone(),
            severity: rule.severity.clone(),
            cwe: sink.cwe,
            callee: sink.callee.clone(),
            sink: location(program, sink.sink),
            suppression: line_text.contains("flowsight: ignore").then(|| line_text.trim().to_string()),
            template: sink.render.is_some(),
            steps: steps(program, &sink.steps),
        });
    }
    let stored = summary.param_flows.iter().map(|flow| flow.2).chain(summary.param_exports.iter().map(|export| export.0));
    let stores: BTreeSet<Parameter> = stored.map(Parameter::of).collect();
    ExportedFunction {
        name: scope.qualified_name.clone(),
        path: program.files[scope.file].path.clone(),
        line: scope.node.start_position().row,
        params,
        variadic,
        method: scope.implicit_receiver,
        sinks,
        calls,
        stores: stores.into_iter().collect(),
        returns_source: !summary.source_returns.is_empty(),
    }
}
