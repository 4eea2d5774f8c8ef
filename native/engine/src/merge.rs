//! The merge of repositories' exports (`taint::export`): each repository's own findings, plus
//! the flows its calls into another repository's modules start there — a source passed to a
//! function whose exported summary takes that parameter to a sink (a finding), or to a call into
//! a third repository (followed, transitively), under the kinds sanitised on the way.
//!
//! Invariants:
//! - Only the files are read: no repository is analysed again.
//! - What an export cannot express degrades toward more findings or is counted
//!   (`MergeIncomplete`), never dropped silently: a field parameter receives the whole
//!   argument, a template sink is reported at its render call, stores and returned sources that
//!   are not followed are counted.
//! - Merged paths name each step's repository: `{repository name}/{path in it}`.

use std::collections::{BTreeMap, HashMap, HashSet};

use sha2::{Digest, Sha256};

use crate::rules::SourceKind;
use crate::taint::export::{Export, ExportedFunction, Parameter, EXPORT_SCHEMA, EXPORT_VERSION};
use crate::taint::{suppresses, Finding, FindingStep, Incomplete, Location};

/// How many flows (a source at an argument of a call, with the kinds it is sanitised for) one
/// merge follows; past it the rest is counted (`MergeIncomplete::flows_limit`).
pub const MAX_FLOWS: usize = 100_000;
/// How many aliases one name is followed through (`lib.X` → `lib.impl.X` → …).
const MAX_ALIASES: usize = 8;

/// Reads one export file: a clear error for what is not one, another schema version, or a
/// truncated or corrupt file.
pub fn load_export(bytes: &[u8]) -> Result<Export, String> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|error| format!("not a valid export (truncated or corrupt JSON: {error})"))?;
    if value.get("schema").and_then(|s| s.as_str()) != Some(EXPORT_SCHEMA) {
        return Err(format!("not a flowsight export (no \"schema\": \"{EXPORT_SCHEMA}\")"));
    }
    match value.get("version").and_then(|v| v.as_u64()) {
        Some(version) if version == u64::from(EXPORT_VERSION) => {}
        Some(version) => return Err(format!("export schema version {version}; this flowsight reads version {EXPORT_VERSION}")),
        None => return Err("export without a schema version".to_string()),
    }
    serde_json::from_value(value).map_err(|error| format!("corrupt export: {error}"))
}

/// The bounds a merge met (beside each repository's own, `MergeResult::bounds`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MergeIncomplete {
    /// Tainted calls into a merged repository's module naming no exported function, method or
    /// class (a module-level object's method, a name bound at run time).
    pub unresolved_calls: u32,
    /// Tainted arguments reaching a function that stores the parameter where others read it
    /// (an argument's or the receiver's fields, module state): flows from there not followed.
    pub stores_unfollowed: u32,
    /// Functions returning a source's value to a caller in another merged repository: the
    /// caller's use of it is not followed.
    pub returned_sources: u32,
    /// Tainted arguments handed whole to a parameter of which only a field is read.
    pub fields_widened: u32,
    /// Findings whose sink is a template output, reported at the render call.
    pub template_sinks: u32,
    /// Calls into a top-level module several merged repositories provide: connected to each.
    pub ambiguous_providers: u32,
    /// Flows left unfollowed past `MAX_FLOWS`.
    pub flows_limit: u32,
}

impl MergeIncomplete {
    pub fn total(&self) -> u32 {
        self.unresolved_calls
            + self.stores_unfollowed
            + self.returned_sources
            + self.fields_widened
            + self.template_sinks
            + self.ambiguous_providers
            + self.flows_limit
    }
}

pub struct MergedRepository {
    pub identity: String,
    pub name: String,
    pub findings: usize,
}

pub struct MergeResult {
    /// Every repository's own findings, then the cross-repository ones, paths prefixed with
    /// their repository's name.
    pub findings: Vec<Finding>,
    /// How many of `findings` cross a repository boundary.
    pub cross: usize,
    pub repositories: Vec<MergedRepository>,
    pub incomplete: MergeIncomplete,
    /// The bounds the repositories' own analyses met, summed.
    pub bounds: Incomplete,
}

/// A source's value at an argument of a call into another repository.
#[derive(Clone)]
struct Flow {
    callee: String,
    argument: String,
    /// The repository the call is in.
    caller: usize,
    source: Location,
    source_kind: SourceKind,
    source_text: String,
    cleared: Vec<String>,
    /// Steps so far (repository-prefixed), the call's argument last.
    steps: Vec<FindingStep>,
}

fn prefixed(name: &str, location: &Location) -> Location {
    Location { path: format!("{name}/{}", location.path), ..location.clone() }
}

fn prefixed_steps<'s>(name: &'s str, steps: &'s [FindingStep]) -> impl Iterator<Item = FindingStep> + 's {
    steps.iter().map(move |step| FindingStep { location: prefixed(name, &step.location), ..step.clone() })
}

fn union(a: &[String], b: &[String]) -> Vec<String> {
    let mut all: Vec<String> = a.iter().chain(b).cloned().collect();
    all.sort();
    all.dedup();
    all
}

/// The function `callee` names in `export` and whether it is a class's constructor (`__init__`):
/// functions and methods by name, classes (methods through their bases, in the repository),
/// names bound to others by imports and aliases.
fn resolve<'e>(export: &'e Export, functions: &HashMap<&str, &'e ExportedFunction>, callee: &str) -> Option<(&'e ExportedFunction, bool)> {
    let bases: HashMap<&str, &[String]> = export.classes.iter().map(|class| (class.name.as_str(), class.bases.as_slice())).collect();
    let method = |class: &str, name: &str| -> Option<&'e ExportedFunction> {
        let mut pending = vec![class.to_string()];
        let mut seen = HashSet::new();
        while let Some(class) = pending.pop() {
            if !seen.insert(class.clone()) || seen.len() > 64 {
                continue;
            }
            if let Some(function) = functions.get(format!("{class}.{name}").as_str()) {
                return Some(*function);
            }
            pending.extend(bases.get(class.as_str()).into_iter().flat_map(|b| b.iter().rev().cloned()));
        }
        None
    };
    let mut name = callee.to_string();
    for _ in 0..=MAX_ALIASES {
        if let Some(function) = functions.get(name.as_str()) {
            return Some((function, false));
        }
        if bases.contains_key(name.as_str()) {
            return method(&name, "__init__").map(|function| (function, true));
        }
        if let Some((class, member)) = name.rsplit_once('.') {
            if bases.contains_key(class) {
                return method(class, member).map(|function| (function, false));
            }
        }
        // The longest prefix bound to another name.
        let segments: Vec<&str> = name.split('.').collect();
        let rebound = (1..=segments.len()).rev().find_map(|length| {
            let prefix = segments[..length].join(".");
            let target = export.aliases.get(&prefix)?;
            Some([target.as_str()].into_iter().chain(segments[length..].iter().copied()).collect::<Vec<_>>().join("."))
        });
        match rebound {
            Some(next) if next != name => name = next,
            _ => return None,
        }
    }
    None
}

/// The parameters argument `argument` (see `taint::export`) binds to in `function`, as
/// `calls::apply_summary` binds them.
fn bound_parameters(function: &ExportedFunction, constructor: bool, argument: &str) -> Vec<Option<usize>> {
    let all = || std::iter::once(None).chain((0..function.params.len()).map(Some)).collect();
    let (kind, rest) = argument.split_at(argument.len().min(1));
    let mut bound = Vec::new();
    match kind {
        "p" | "c" => {
            let Ok(position) = rest.parse::<usize>() else { return all() };
            // Through the class itself, a method's first argument is its receiver.
            let offset = usize::from(kind == "c" && function.method && !constructor);
            match position.checked_sub(offset) {
                None => bound.push(None),
                Some(index) => {
                    if index < function.params.len() {
                        bound.push(Some(index));
                    }
                    if let Some(variadic) = function.variadic.filter(|&v| index >= v) {
                        bound.push(Some(variadic));
                    }
                }
            }
        }
        "k" => {
            bound.extend(function.params.iter().position(|name| name == rest).map(Some));
            bound.extend(function.variadic.map(Some));
        }
        "r" => bound.push(None),
        _ => return all(),
    }
    bound.sort();
    bound.dedup();
    bound
}

fn finding_id(rule: &str, sink: &Location, source: &Location) -> String {
    let mut hasher = Sha256::new();
    for part in
        [rule, &sink.path, &sink.start_line.to_string(), &source.path, &source.start_line.to_string(), &source.start_column.to_string()]
    {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    let digest = hasher.finalize();
    format!("merge-{}", digest.iter().take(8).map(|byte| format!("{byte:02x}")).collect::<String>())
}

/// Merges `exports` (in order): an error for two exports of one repository (same identity or
/// name) or exports made with different rules.
pub fn merge(exports: &[Export]) -> Result<MergeResult, String> {
    let mut identities = HashSet::new();
    let mut names = HashSet::new();
    for export in exports {
        if !identities.insert(export.repository.identity.as_str()) {
            return Err(format!("repository {} exported twice", export.repository.identity));
        }
        if !names.insert(export.repository.name.as_str()) {
            return Err(format!(
                "two repositories named {} (merged paths start with the repository's name; export one under another --name)",
                export.repository.name
            ));
        }
    }
    if let Some(other) = exports.iter().find(|export| export.rules != exports[0].rules) {
        return Err(format!(
            "exports made with different rules ({} and {}): export every repository with the same rules and threat models",
            exports[0].repository.name, other.repository.name
        ));
    }
    let mut providers: HashMap<&str, Vec<usize>> = HashMap::new();
    for (index, export) in exports.iter().enumerate() {
        for name in &export.repository.provides {
            providers.entry(name.as_str()).or_default().push(index);
        }
    }
    let functions: Vec<HashMap<&str, &ExportedFunction>> =
        exports.iter().map(|export| export.functions.iter().map(|function| (function.name.as_str(), function)).collect()).collect();
    let mut incomplete = MergeIncomplete::default();
    // Functions returning sources to importers in other repositories.
    for (index, export) in exports.iter().enumerate() {
        let imported = exports
            .iter()
            .enumerate()
            .any(|(other, o)| other != index && o.repository.imports.iter().any(|name| export.repository.provides.contains(name)));
        if imported {
            incomplete.returned_sources += export.functions.iter().filter(|function| function.returns_source).count() as u32;
        }
    }

    let mut pending: Vec<Flow> = Vec::new();
    for (index, export) in exports.iter().enumerate() {
        let name = &export.repository.name;
        for call in &export.calls {
            pending.push(Flow {
                callee: call.callee.clone(),
                argument: call.argument.clone(),
                caller: index,
                source: prefixed(name, &call.source),
                source_kind: call.source_kind,
                source_text: call.source_text.clone(),
                cleared: call.cleared.clone(),
                steps: prefixed_steps(name, &call.steps).collect(),
            });
        }
    }
    pending.reverse();
    let mut seen: HashSet<(String, String, String, usize, usize, Vec<String>)> = HashSet::new();
    // One finding per rule, sink and source (the shortest path).
    let mut found: BTreeMap<(String, String, usize, String, usize, usize), Finding> = BTreeMap::new();
    let mut followed = 0usize;
    while let Some(flow) = pending.pop() {
        let key = (
            flow.callee.clone(),
            flow.argument.clone(),
            flow.source.path.clone(),
            flow.source.start_line,
            flow.source.start_column,
            flow.cleared.clone(),
        );
        if !seen.insert(key) {
            continue;
        }
        followed += 1;
        if followed > MAX_FLOWS {
            incomplete.flows_limit += 1;
            continue;
        }
        let top = flow.callee.split('.').next().unwrap_or("");
        let Some(provided_by) = providers.get(top).map(|all| all.iter().copied().filter(|&p| p != flow.caller).collect::<Vec<_>>()) else {
            continue; // a library no merged repository provides
        };
        if provided_by.len() > 1 {
            incomplete.ambiguous_providers += 1;
        }
        for provider in provided_by {
            let export = &exports[provider];
            let repository = export.repository.name.as_str();
            let Some((function, constructor)) = resolve(export, &functions[provider], &flow.callee) else {
                incomplete.unresolved_calls += 1;
                continue;
            };
            let parameters = bound_parameters(function, constructor, &flow.argument);
            let applies = |param: &Parameter| parameters.contains(&param.index);
            if function.stores.iter().any(applies) {
                incomplete.stores_unfollowed += 1;
            }
            // The call's argument: its last step, now a call into the function.
            let mut through = flow.steps.clone();
            if let Some(last) = through.last_mut() {
                last.kind = "call".to_string();
                let short_name = function.name.rsplit('.').next().unwrap_or(&function.name);
                last.description = format!("through `{short_name}` (repository {repository})");
            }
            for sink in function.sinks.iter().filter(|sink| applies(&sink.param)) {
                let cleared = union(&flow.cleared, &sink.cleared);
                if cleared.contains(&sink.kind) {
                    continue;
                }
                if sink.suppression.as_deref().is_some_and(|line| suppresses(line, &sink.rule_id, sink.cwe)) {
                    continue;
                }
                incomplete.fields_widened += u32::from(sink.param.field);
                incomplete.template_sinks += u32::from(sink.template);
                let mut steps = through.clone();
                steps.extend(prefixed_steps(repository, &sink.steps));
                let sink_location = prefixed(repository, &sink.sink);
                let severity = match flow.source_kind {
                    SourceKind::UserInput | SourceKind::Database => sink.severity.clone(),
                    SourceKind::Session | SourceKind::Local if sink.severity == "error" => "warning".to_string(),
                    SourceKind::Session | SourceKind::Local => "info".to_string(),
                };
                let message = format!(
                    "{} from `{}` reaches `{}` in repository {repository} ({}, CWE-{}) in {} steps",
                    flow.source_kind.as_str(),
                    flow.source_text,
                    sink.callee,
                    sink.rule_name,
                    sink.cwe,
                    steps.len()
                );
                let finding = Finding {
                    id: finding_id(&sink.rule_id, &sink_location, &flow.source),
                    rule_id: sink.rule_id.clone(),
                    rule_name: sink.rule_name.clone(),
                    cwe: sink.cwe,
                    severity,
                    message,
                    source: flow.source.clone(),
                    sink: sink_location,
                    steps,
                    threat_model: Some(flow.source_kind.threat_model().to_string()),
                };
                let key = (
                    finding.rule_id.clone(),
                    finding.sink.path.clone(),
                    finding.sink.start_line,
                    finding.source.path.clone(),
                    finding.source.start_line,
                    finding.source.start_column,
                );
                match found.get(&key) {
                    Some(existing) if existing.steps.len() <= finding.steps.len() => {}
                    _ => {
                        found.insert(key, finding);
                    }
                }
            }
            for call in function.calls.iter().filter(|call| applies(&call.param)) {
                incomplete.fields_widened += u32::from(call.param.field);
                let mut steps = through.clone();
                steps.extend(prefixed_steps(repository, &call.steps));
                pending.push(Flow {
                    callee: call.callee.clone(),
                    argument: call.argument.clone(),
                    caller: provider,
                    source: flow.source.clone(),
                    source_kind: flow.source_kind,
                    source_text: flow.source_text.clone(),
                    cleared: union(&flow.cleared, &call.cleared),
                    steps,
                });
            }
        }
    }

    let mut findings = Vec::new();
    let mut repositories = Vec::new();
    let mut bounds = Incomplete::default();
    for export in exports {
        let name = &export.repository.name;
        for finding in &export.findings {
            findings.push(Finding {
                source: prefixed(name, &finding.source),
                sink: prefixed(name, &finding.sink),
                steps: prefixed_steps(name, &finding.steps).collect(),
                ..finding.clone()
            });
        }
        repositories.push(MergedRepository {
            identity: export.repository.identity.clone(),
            name: name.clone(),
            findings: export.findings.len(),
        });
        bounds.add(&export.incomplete);
    }
    let cross = found.len();
    findings.extend(found.into_values());
    Ok(MergeResult { findings, cross, repositories, incomplete, bounds })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn function(params: &[&str], variadic: Option<usize>, method: bool) -> ExportedFunction {
        ExportedFunction {
            name: "lib.f".into(),
            path: "lib.py".into(),
            line: 0,
            params: params.iter().map(|p| p.to_string()).collect(),
            variadic,
            method,
            sinks: Vec::new(),
            calls: Vec::new(),
            stores: Vec::new(),
            returns_source: false,
        }
    }

    #[test]
    fn arguments_bind_as_a_call_binds_them() {
        let plain = function(&["cmd", "cwd"], None, false);
        assert_eq!(bound_parameters(&plain, false, "c1"), vec![Some(1)]);
        assert_eq!(bound_parameters(&plain, false, "kcwd"), vec![Some(1)]);
        assert_eq!(bound_parameters(&plain, false, "kother"), Vec::<Option<usize>>::new(), "no such keyword: nothing bound");
        assert_eq!(bound_parameters(&plain, false, "*"), vec![None, Some(0), Some(1)], "after a splat: every parameter");
        let method = function(&["cmd"], None, true);
        assert_eq!(bound_parameters(&method, false, "p0"), vec![Some(0)], "on an instance");
        assert_eq!(bound_parameters(&method, false, "c0"), vec![None], "through the class: the receiver");
        assert_eq!(bound_parameters(&method, false, "c1"), vec![Some(0)]);
        assert_eq!(bound_parameters(&method, true, "c0"), vec![Some(0)], "a constructor's arguments follow the receiver");
        let variadic = function(&["first", "rest"], Some(1), false);
        assert_eq!(bound_parameters(&variadic, false, "c3"), vec![Some(1)]);
        assert_eq!(bound_parameters(&variadic, false, "kany"), vec![Some(1)]);
    }

    #[test]
    fn only_exports_of_this_schema_version_load() {
        assert!(load_export(b"{\"schema\": \"flowsight-export\", \"ver").unwrap_err().contains("truncated or corrupt"));
        assert!(load_export(b"{\"findings\": []}").unwrap_err().contains("not a flowsight export"));
        let other = format!("{{\"schema\": \"{EXPORT_SCHEMA}\", \"version\": {}}}", EXPORT_VERSION + 1);
        assert!(load_export(other.as_bytes()).unwrap_err().contains("this flowsight reads version"));
        let incomplete = format!("{{\"schema\": \"{EXPORT_SCHEMA}\", \"version\": {EXPORT_VERSION}}}");
        assert!(load_export(incomplete.as_bytes()).unwrap_err().starts_with("corrupt export"));
    }
}
