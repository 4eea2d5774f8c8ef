//! Findings: raw findings of the scope analyses (internal places) turned into the reported
//! `Finding`s — one per rule and sink line, with locations, steps, ids and suppressions.
//!
//! Invariants:
//! - A finding's steps start at the source and end at the sink, in execution order.
//! - A finding id is unique within a run (rule, sink and source file, enclosing function and
//!   text, occurrence) and holds no line numbers, so unrelated edits leave it unchanged.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use std::sync::Arc;

use crate::line_index::Encoding;
use crate::program::Program;
use crate::rules::{RuleSet, SourceKind};
use crate::templates::{Autoescape, RenderSite, TemplateFile, TemplateModel, UnescapedOutput};

use super::lattice::TraceStep;
use super::short;

/// A location: 0-based lines, UTF-8 byte columns.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Location {
    pub path: String,
    pub start_line: usize,
    pub start_column: usize,
    pub end_line: usize,
    pub end_column: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FindingStep {
    pub location: Location,
    pub kind: String,
    pub description: String,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Finding {
    pub id: String,
    pub rule_id: String,
    pub rule_name: String,
    pub cwe: u32,
    pub severity: String,
    pub message: String,
    pub source: Location,
    pub sink: Location,
    pub steps: Vec<FindingStep>,
    /// The threat model of the finding's source (`remote`, `local`, `database`); `None` for
    /// the non-taint checks, which have no source.
    pub threat_model: Option<String>,
}

#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub(super) struct RawFinding {
    pub(super) kind: u32,
    pub(super) cwe: u32,
    pub(super) source_kind: SourceKind,
    pub(super) source: (usize, usize, usize),
    pub(super) sink: (usize, usize, usize),
    pub(super) callee: String,
    pub(super) steps: Vec<TraceStep>,
    /// The kinds the source's value was sanitised for on the way (all but `kind`): what it is
    /// still unsafe for past an external call (`export`).
    pub(super) cleared: u32,
    /// A context value handed to a template: the sink is in the template (`templates`), found
    /// when the finding is rendered; `sink` is the render call.
    #[serde(default)]
    pub(super) render: Option<Arc<RenderSite>>,
}

pub(super) fn location(program: &Program<'_>, (file, start, end): (usize, usize, usize)) -> Location {
    let document = program.files[file].document;
    let (start_line, start_column) = document.line_index().position(document.text(), start, crate::line_index::Encoding::Utf8);
    let (end_line, end_column) = document.line_index().position(document.text(), end, crate::line_index::Encoding::Utf8);
    Location { path: program.files[file].path.clone(), start_line, start_column, end_line, end_column }
}

/// Whether a line's text suppresses a finding of `rule_id`/`cwe`: `flowsight: ignore` or
/// `flowsight: ignore[rule-id, CWE-89]` (in a `#` comment, or a template's `{# … #}`).
pub fn suppresses(text: &str, rule_id: &str, cwe: u32) -> bool {
    let Some(position) = text.find("flowsight: ignore") else { return false };
    let rest = &text[position + "flowsight: ignore".len()..];
    match rest.strip_prefix('[') {
        None => true,
        Some(list) => {
            let list = list.split(']').next().unwrap_or("");
            list.split(',').map(str::trim).any(|item| item == rule_id || item.eq_ignore_ascii_case(&format!("CWE-{cwe}")))
        }
    }
}

/// Suppression comments on the sink's first line: `# flowsight: ignore` or
/// `# flowsight: ignore[rule-id, CWE-89]`.
pub(super) fn suppressed(program: &Program<'_>, sink: (usize, usize, usize), rule_id: &str, cwe: u32) -> bool {
    let document = program.files[sink.0].document;
    let index = document.line_index();
    let line = index.line_of(sink.1);
    suppresses(&document.text()[index.line_start(line)..index.line_end(document.text(), line)], rule_id, cwe)
}

/// A location in a template file.
fn template_location(file: &TemplateFile, start: usize, end: usize) -> Location {
    let (start_line, start_column) = file.lines.position(&file.text, start, Encoding::Utf8);
    let (end_line, end_column) = file.lines.position(&file.text, end, Encoding::Utf8);
    Location { path: file.path.clone(), start_line, start_column, end_line, end_column }
}

/// A raw finding about to be reported: at its own sink, or (a render site) at one of the
/// template outputs that write its value unescaped.
struct Candidate<'r, 'p> {
    raw: &'r RawFinding,
    output: Option<(&'p TemplateFile, UnescapedOutput)>,
}

/// Raw findings with their sinks: a render site's becomes one candidate per unescaped output of
/// the templates it renders (none when every output escapes it).
fn candidates<'r, 'p>(
    program: &'p Program<'_>,
    rules: &RuleSet,
    model: &TemplateModel,
    raw: impl Iterator<Item = &'r RawFinding>,
) -> (Vec<Candidate<'r, 'p>>, u32) {
    let mut result = Vec::new();
    let mut unresolved = 0;
    // By the setup packages the rendering module imports.
    let mut application: FxHashMap<Vec<&str>, Autoescape> = FxHashMap::default();
    // By the application settings key holding the environment.
    let mut settings: FxHashMap<&str, crate::frameworks::tornado::SettingValue> = FxHashMap::default();
    for finding in raw {
        let Some(site) = &finding.render else {
            result.push(Candidate { raw: finding, output: None });
            continue;
        };
        let Some(templates) = program.templates.as_deref() else { continue };
        let from = &program.files[finding.sink.0].path;
        let resolved;
        let site = if let Some(key) = site.setting.as_deref() {
            // An environment kept in the application's settings: the one the program stores
            // under the key. Not found, an unknown environment escapes (only `|safe`, `Markup`
            // and the like are reported: `{{ x }}` would be every output of every template) and
            // the site counts as unresolved; a key holding no environment renders nothing.
            use crate::frameworks::tornado::{setting_environment, SettingValue};
            let stored = *settings.entry(key).or_insert_with(|| setting_environment(program, rules, key));
            let autoescape = match stored {
                SettingValue::Environment(autoescape) => autoescape,
                SettingValue::Unknown => {
                    unresolved += 1;
                    Autoescape::On
                }
                SettingValue::Other => continue,
            };
            resolved = RenderSite { autoescape, ..RenderSite::clone(site) };
            &resolved
        } else if site.autoescape == Autoescape::Application {
            // Files and modules share their indexes (`Program`).
            let only = super::render::setup_packages_of(program, rules, finding.sink.0);
            let autoescape =
                *application.entry(only).or_insert_with_key(|only| super::render::application_autoescape(program, rules, only));
            resolved = RenderSite { autoescape, ..RenderSite::clone(site) };
            &resolved
        } else {
            site.as_ref()
        };
        let (outputs, incomplete) = templates.unescaped(site, from, model);
        unresolved += incomplete as u32;
        for output in outputs {
            let Some(file) = templates.file(&output.path) else { continue };
            result.push(Candidate { raw: finding, output: Some((file, output)) });
        }
    }
    (result, unresolved)
}

/// The findings of `raw`, and how many render sites were not joined with templates in full
/// (`Incomplete::templates_unresolved`); `model` is what the program says of its templates'
/// filters and called values (`template_model`).
pub(super) fn finalize<'r>(
    program: &Program<'_>,
    rules: &RuleSet,
    model: &TemplateModel,
    raw: impl Iterator<Item = &'r RawFinding>,
) -> (Vec<Finding>, u32) {
    // One finding per rule, sink line and function holding the source (a helper's sink reached
    // from two routes is two findings, each with its own path): the shortest path wins (ties:
    // the earliest source).
    let mut scopes_by_file: FxHashMap<usize, Vec<usize>> = FxHashMap::default();
    for (index, scope) in program.scopes.iter().enumerate() {
        scopes_by_file.entry(scope.file).or_default().push(index);
    }
    let source_scope = |(file, start, end): (usize, usize, usize)| -> Option<usize> {
        scopes_by_file
            .get(&file)?
            .iter()
            .copied()
            .filter(|&s| {
                let node = program.scopes[s].node;
                node.start_byte() <= start && end <= node.end_byte()
            })
            .min_by_key(|&s| program.scopes[s].node.end_byte() - program.scopes[s].node.start_byte())
    };
    let (candidates, unresolved) = candidates(program, rules, model, raw);
    let mut best: BTreeMap<(String, &str, usize, Option<usize>), &Candidate<'_, '_>> = BTreeMap::new();
    for candidate in &candidates {
        let finding = candidate.raw;
        let Some(rule) = rules.rule_for(finding.kind) else { continue };
        let (sink_path, sink_line) = match &candidate.output {
            Some((file, output)) => (file.path.as_str(), file.lines.line_of(output.start)),
            None => {
                (program.files[finding.sink.0].path.as_str(), program.files[finding.sink.0].document.line_index().line_of(finding.sink.1))
            }
        };
        let key = (rule.id.clone(), sink_path, sink_line, source_scope(finding.source));
        match best.get(&key) {
            Some(existing) if (existing.raw.steps.len(), existing.raw.source) <= (finding.steps.len(), finding.source) => {}
            _ => {
                best.insert(key, candidate);
            }
        }
    }
    let mut findings = Vec::new();
    for ((rule_id, ..), candidate) in best {
        let raw = candidate.raw;
        let (sink, source) = (raw.sink, raw.source);
        let Some(rule) = rules.rules.iter().find(|r| r.id == rule_id) else { continue };
        let is_suppressed = match &candidate.output {
            Some((file, output)) => suppresses(file.line_text(output.start), &rule.id, raw.cwe),
            None => suppressed(program, sink, &rule.id, raw.cwe),
        };
        if is_suppressed {
            continue;
        }
        let severity = match raw.source_kind {
            SourceKind::UserInput | SourceKind::Database => rule.severity.clone(),
            SourceKind::Session | SourceKind::Local => {
                if rule.severity == "error" {
                    "warning".to_string()
                } else {
                    "info".to_string()
                }
            }
        };
        let source_text = {
            let text = program.text(source.0);
            short(text.get(source.1..source.2).unwrap_or(""))
        };
        let mut steps: Vec<FindingStep> = raw
            .steps
            .iter()
            .map(|step| FindingStep {
                location: location(program, (step.file, step.start, step.end)),
                kind: step.kind.to_string(),
                description: step.description.to_string(),
            })
            .collect();
        // A template's output: the render call is a step of the path, the output its sink.
        let (callee, sink_location, sink_text) = match &candidate.output {
            Some((file, output)) => {
                let site = raw.render.as_deref().expect("a template candidate comes from a render site");
                if let Some(last) = steps.last_mut() {
                    last.kind = "call".to_string();
                    last.description = format!("rendered by `{}`", site.call);
                }
                let text = short(file.text.get(output.start..output.end).unwrap_or(""));
                let location = template_location(file, output.start, output.end);
                steps.push(FindingStep {
                    location: location.clone(),
                    kind: "sink".to_string(),
                    description: format!("`{text}` {}", output.reason),
                });
                (format!("`{text}` in {} ({})", file.path, output.reason), location, text)
            }
            None => {
                let callee = if raw.callee.starts_with("the view") { raw.callee.clone() } else { format!("`{}`", raw.callee) };
                (callee, location(program, sink), short(program.text(sink.0).get(sink.1..sink.2).unwrap_or("")))
            }
        };
        let step_count = steps.len();
        // The functions the path passes through, as the editors that show no related
        // information (Neovim, Helix) need the path's gist in the message itself.
        let mut through: Vec<&str> = Vec::new();
        for step in raw.steps.iter().filter(|step| step.kind == "call") {
            let name = step.description.strip_prefix("through ").unwrap_or(&step.description);
            if !through.contains(&name) {
                through.push(name);
            }
        }
        let via = match through.len() {
            0 => String::new(),
            1..=3 => format!(" via {}", through.join(", ")),
            more => format!(" via {} and {} more", through[..2].join(", "), more - 2),
        };
        let message = format!(
            "{} from `{}` reaches {} ({}, CWE-{}){} in {} step{}",
            raw.source_kind.as_str(),
            source_text,
            callee,
            rule.name,
            raw.cwe,
            via,
            step_count,
            if step_count == 1 { "" } else { "s" }
        );
        let source_location = location(program, source);
        // Identity without positions: rule, and for the sink and the source their file, enclosing
        // function and text; an occurrence number (below) tells identical ones apart.
        let sink_scope = match &candidate.output {
            Some(_) => "",
            None => enclosing_scope_name(program, sink),
        };
        let identity = format!(
            "{}\0{}\0{}\0{}\0{}\0{}\0{}",
            rule.id,
            sink_location.path,
            sink_scope,
            sink_text,
            source_location.path,
            enclosing_scope_name(program, source),
            source_text
        );
        findings.push(Finding {
            id: identity,
            rule_id: rule.id.clone(),
            rule_name: rule.name.clone(),
            cwe: raw.cwe,
            severity,
            message,
            source: source_location,
            sink: sink_location,
            steps,
            threat_model: Some(raw.source_kind.threat_model().to_string()),
        });
    }
    sort_findings(&mut findings);
    // The id: a hash of the identity and its occurrence among equal identities in document
    // order, so it is unique within a run and unchanged by edits elsewhere.
    let mut occurrences: FxHashMap<String, usize> = FxHashMap::default();
    for finding in &mut findings {
        use sha2::{Digest, Sha256};
        let occurrence = occurrences.entry(finding.id.clone()).or_insert(0);
        let digest = Sha256::digest(format!("{}\0{}", finding.id, occurrence).as_bytes());
        *occurrence += 1;
        finding.id = digest.iter().take(8).map(|b| format!("{b:02x}")).collect::<String>();
    }
    (findings, unresolved)
}

/// Qualified name of the innermost scope (function, class or module) holding `place`.
pub(super) fn enclosing_scope_name<'p>(program: &'p Program<'_>, (file, start, end): (usize, usize, usize)) -> &'p str {
    program
        .scopes
        .iter()
        .filter(|scope| scope.file == file && scope.node.start_byte() <= start && end <= scope.node.end_byte())
        .min_by_key(|scope| scope.node.end_byte() - scope.node.start_byte())
        .map_or("", |scope| scope.qualified_name.as_str())
}

/// The order findings are reported in: by sink place, then rule.
pub(super) fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        (a.sink.path.as_str(), a.sink.start_line, a.sink.start_column, a.rule_id.as_str()).cmp(&(
            b.sink.path.as_str(),
            b.sink.start_line,
            b.sink.start_column,
            b.rule_id.as_str(),
        ))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::Document;
    use crate::program::build_parts;
    use crate::rules::sink_kind_bit;

    const APP: &str = "import os\n\ndef handler(cmd):\n    os.system(cmd)\n    os.system(cmd)  # flowsight: ignore\n    os.system(cmd)  # flowsight: ignore[CWE-89]\n    os.system(cmd)  # flowsight: ignore[cwe-78, other]\n";

    fn with_program(check: impl FnOnce(&Program<'_>)) {
        let document = Document::new(APP.to_string());
        let parts = build_parts(vec![("app.py".to_string(), &document)]);
        check(&Program::from_parts(&parts));
    }

    /// The place of the `n`-th occurrence of `needle` in `APP`.
    fn place(needle: &str, n: usize) -> (usize, usize, usize) {
        let start = APP.match_indices(needle).nth(n).unwrap().0;
        (0, start, start + needle.len())
    }

    fn raw(sink: (usize, usize, usize), source: (usize, usize, usize), steps: usize) -> RawFinding {
        let step = |(file, start, end): (usize, usize, usize), kind| TraceStep { file, start, end, kind, description: "".into() };
        let mut path = vec![step(source, "source")];
        path.extend((1..steps.max(2) - 1).map(|_| step(source, "assignment")));
        path.push(step(sink, "sink"));
        RawFinding {
            kind: sink_kind_bit("Shell").unwrap(),
            cwe: 78,
            source_kind: SourceKind::UserInput,
            source,
            sink,
            callee: "os.system".into(),
            steps: path,
            cleared: 0,
            render: None,
        }
    }

    #[test]
    fn suppression_comments_name_every_rule_or_the_ones_listed() {
        with_program(|program| {
            let sinks: Vec<_> = (0..4).map(|n| place("os.system(cmd)", n)).collect();
            let rule = RuleSet::builtin().rule_for(sink_kind_bit("Shell").unwrap()).unwrap().id.clone();
            assert!(!suppressed(program, sinks[0], &rule, 78));
            assert!(suppressed(program, sinks[1], &rule, 78));
            assert!(!suppressed(program, sinks[2], &rule, 78), "another CWE listed");
            assert!(suppressed(program, sinks[3], &rule, 78), "CWE ids match case-insensitively");
            assert!(suppressed(program, sinks[2], "other", 89));
        });
    }

    #[test]
    fn one_finding_per_rule_and_sink_line_the_shortest_path_winning() {
        with_program(|program| {
            let rules = RuleSet::builtin();
            let (sink, source) = (place("os.system(cmd)", 0), place("cmd", 0));
            let raws = [raw(sink, source, 4), raw(sink, source, 2), raw(place("os.system(cmd)", 1), source, 2)];
            let (findings, _) = finalize(program, &rules, &TemplateModel::default(), raws.iter());
            assert_eq!(findings.len(), 1, "the second sink is suppressed");
            let finding = &findings[0];
            assert_eq!(finding.steps.len(), 2);
            assert_eq!((finding.sink.start_line, finding.sink.start_column), (3, 4));
            assert_eq!(finding.steps.first().unwrap().kind, "source");
            assert_eq!(finding.steps.last().unwrap().kind, "sink");
            assert_eq!(finding.id.len(), 16);
        });
    }

    #[test]
    fn the_enclosing_scope_is_the_innermost_one() {
        with_program(|program| {
            assert_eq!(enclosing_scope_name(program, place("os.system(cmd)", 0)), "app.handler");
            assert_eq!(enclosing_scope_name(program, place("import os", 0)), "app");
        });
    }

    #[test]
    fn locations_are_zero_based_lines_and_byte_columns() {
        with_program(|program| {
            let location = location(program, place("os.system(cmd)", 0));
            assert_eq!(location, Location { path: "app.py".into(), start_line: 3, start_column: 4, end_line: 3, end_column: 18 });
        });
    }
}
