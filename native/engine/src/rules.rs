//! Taint rules as data: TOML rule packs (built-in ones under `native/engine/rules/`, plus user
//! files) → one `RuleSet` the analysis queries. See `docs/RULES.md` for the file format.
//!
//! Invariants:
//! - A bad rule file is an `EngineError::Config` naming the file, the line and the problem
//!   (unknown keys, unknown sink kinds, wrong types); nothing is half-loaded.
//! - Names are matched exactly on qualified references (`os.system`, `flask.request.args`);
//!   `methods` match a method name on any receiver (for APIs reached through untyped objects,
//!   such as DB-API cursors).

use std::collections::{HashMap, HashSet};

use serde::Deserialize;
use sha2::Digest as _;

use crate::error::{EngineError, Result};

/// Sink kinds, in bit order (a sanitizer clears a set of kinds, stored as a bitmask).
pub const SINK_KINDS: &[&str] = &[
    "SQL",
    "Shell",
    "ExecArgs",
    "Code",
    "Reflection",
    "SSTI",
    "FilePath",
    "XSS",
    "Redirect",
    "SSRF",
    "Deserialization",
    "XXE",
    "LDAP",
    "XPath",
    "TrustBoundary",
    "HeaderInjection",
    "LogInjection",
    "NoSQL",
    "PromptInjection",
];

pub const ALL_KINDS: u32 = (1 << SINK_KINDS.len() as u32) - 1;

pub fn sink_kind_bit(name: &str) -> Option<u32> {
    SINK_KINDS.iter().position(|kind| *kind == name).map(|i| 1 << i)
}

pub const BUILTIN_PACKS: &[(&str, &str)] = &[
    ("builtin:stdlib.toml", include_str!("../rules/stdlib.toml")),
    ("builtin:flask.toml", include_str!("../rules/flask.toml")),
    ("builtin:django.toml", include_str!("../rules/django.toml")),
    ("builtin:fastapi.toml", include_str!("../rules/fastapi.toml")),
    ("builtin:libraries.toml", include_str!("../rules/libraries.toml")),
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PackFile {
    #[serde(default)]
    rule: Vec<RuleSpec>,
    #[serde(default)]
    source: Vec<SourceSpec>,
    #[serde(default)]
    sink: Vec<SinkSpec>,
    #[serde(default)]
    sanitizer: Vec<SanitizerSpec>,
    #[serde(default)]
    propagator: Vec<PropagatorSpec>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    pub id: String,
    pub name: String,
    pub sink_kind: String,
    pub cwe: u32,
    #[serde(default = "default_severity")]
    pub severity: String,
    pub message: String,
}

fn default_severity() -> String {
    "error".to_string()
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSpec {
    /// `UserInput` (remote, untrusted), `Local` (argv, environment, files), `Session`.
    pub kind: String,
    #[serde(default)]
    pub description: String,
    /// Qualified attribute references that are untrusted values (`flask.request.args`).
    #[serde(default)]
    pub attributes: Vec<String>,
    /// Qualified callables whose result is untrusted (`input`, `flask.request.get_json`).
    #[serde(default)]
    pub calls: Vec<String>,
    /// Method names whose result is untrusted on any receiver of the given types.
    #[serde(default)]
    pub methods: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeywordCondition {
    pub keyword: String,
    pub equals: toml::Value,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SinkSpec {
    pub kind: String,
    /// Overrides the rule's CWE for these APIs (e.g. `compile` is CWE-94, `eval` CWE-95).
    pub cwe: Option<u32>,
    #[serde(default)]
    pub calls: Vec<String>,
    #[serde(default)]
    pub methods: Vec<String>,
    /// Positional arguments that matter (0-based, not counting the receiver).
    #[serde(default)]
    pub args: Vec<usize>,
    /// Keyword arguments that matter.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Every argument matters.
    #[serde(default)]
    pub all_args: bool,
    /// Only a sink when this keyword argument is the given constant (`shell=True`).
    pub when: Option<KeywordCondition>,
    /// Not a sink when this keyword argument is the given constant.
    pub unless: Option<KeywordCondition>,
    /// Not a sink when a keyword refers to one of these qualified names (`Loader=yaml.SafeLoader`).
    #[serde(default)]
    pub safe_keywords: HashMap<String, Vec<String>>,
    /// Only when the first argument is a list whose first element is one of these (`["sh", "-c", x]`).
    #[serde(default)]
    pub shell_argv: bool,
    /// For `methods`: only when the receiver's source text contains one of these (lower-case),
    /// e.g. `["log"]` so `logger.info(x)` matches and `messages.info(x)` does not.
    #[serde(default)]
    pub receiver_contains: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SanitizerSpec {
    #[serde(default)]
    pub calls: Vec<String>,
    #[serde(default)]
    pub methods: Vec<String>,
    /// Sink kinds the result is safe for; `["*"]` for all.
    #[serde(default)]
    pub clears: Vec<String>,
    /// Path normalisation (`os.path.realpath`): a later prefix check then clears `FilePath`.
    #[serde(default)]
    pub normalizes: bool,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PropagatorSpec {
    /// Calls whose result carries no taint at all (`len`, `isinstance`).
    #[serde(default)]
    pub clean_calls: Vec<String>,
    /// Methods that copy argument taint into their receiver (`list.append`).
    #[serde(default)]
    pub mutators: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Rule {
    pub id: String,
    pub name: String,
    pub sink_kind: u32,
    pub cwe: u32,
    pub severity: String,
    pub message: String,
}

#[derive(Clone, Debug)]
pub struct Sink {
    pub kind: u32,
    pub cwe: Option<u32>,
    pub args: Vec<usize>,
    pub keywords: Vec<String>,
    pub all_args: bool,
    pub when: Option<(String, toml::Value)>,
    pub unless: Option<(String, toml::Value)>,
    pub safe_keywords: HashMap<String, Vec<String>>,
    pub shell_argv: bool,
    pub receiver_contains: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Sanitizer {
    pub clears: u32,
    pub normalizes: bool,
}

/// Source kinds: remote input is the strongest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum SourceKind {
    UserInput,
    Session,
    Local,
}

impl SourceKind {
    fn parse(name: &str) -> Option<SourceKind> {
        match name {
            "UserInput" => Some(SourceKind::UserInput),
            "Session" => Some(SourceKind::Session),
            "Local" => Some(SourceKind::Local),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::UserInput => "user input",
            SourceKind::Session => "session data",
            SourceKind::Local => "local input",
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    pub source_attributes: HashMap<String, SourceKind>,
    pub source_calls: HashMap<String, SourceKind>,
    pub source_methods: HashMap<String, SourceKind>,
    pub sink_calls: HashMap<String, Vec<Sink>>,
    pub sink_methods: HashMap<String, Vec<Sink>>,
    pub sanitizer_calls: HashMap<String, Sanitizer>,
    pub sanitizer_methods: HashMap<String, Sanitizer>,
    pub clean_calls: HashSet<String>,
    pub mutators: HashSet<String>,
    /// SHA-256 over the pack texts and disabled rule ids: equal fingerprints, equal rules.
    pub fingerprint: String,
}

fn config_error(file: &str, text: &str, span: Option<std::ops::Range<usize>>, message: String) -> EngineError {
    let line = span.map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1).unwrap_or(1);
    EngineError::Config { file: file.to_string(), line, message }
}

/// The line of the first occurrence of `needle` in `text` (for errors found after parsing).
fn line_of(text: &str, needle: &str) -> Option<std::ops::Range<usize>> {
    text.find(needle).map(|start| start..start)
}

fn kinds_mask(file: &str, text: &str, kinds: &[String]) -> Result<u32> {
    let mut mask = 0;
    for kind in kinds {
        if kind == "*" {
            mask |= ALL_KINDS;
            continue;
        }
        mask |= sink_kind_bit(kind).ok_or_else(|| {
            config_error(
                file,
                text,
                line_of(text, &format!("\"{kind}\"")),
                format!("unknown sink kind {kind:?}; known kinds: {}", SINK_KINDS.join(", ")),
            )
        })?;
    }
    Ok(mask)
}

impl RuleSet {
    /// The built-in packs, then `extra` files (name, text) in order, minus `disabled` rule ids.
    pub fn load(extra: &[(String, String)], disabled: &[String]) -> Result<RuleSet> {
        let mut set = RuleSet::default();
        for (name, text) in BUILTIN_PACKS {
            set.add_pack(name, text)?;
        }
        for (name, text) in extra {
            set.add_pack(name, text)?;
        }
        for id in disabled {
            if !set.rules.iter().any(|rule| &rule.id == id) {
                let known: Vec<&str> = set.rules.iter().map(|rule| rule.id.as_str()).collect();
                return Err(EngineError::Config {
                    file: "disable".to_string(),
                    line: 0,
                    message: format!("unknown rule id {id:?}; known rules: {}", known.join(", ")),
                });
            }
        }
        set.rules.retain(|rule| !disabled.contains(&rule.id));
        let mut hasher = sha2::Sha256::new();
        for (name, text) in BUILTIN_PACKS.iter().map(|(n, t)| (n.to_string(), t.to_string())).chain(extra.iter().cloned()) {
            sha2::Digest::update(&mut hasher, name.as_bytes());
            sha2::Digest::update(&mut hasher, text.as_bytes());
        }
        for id in disabled {
            sha2::Digest::update(&mut hasher, id.as_bytes());
        }
        set.fingerprint = sha2::Digest::finalize(hasher).iter().map(|b| format!("{b:02x}")).collect();
        Ok(set)
    }

    pub fn builtin() -> RuleSet {
        RuleSet::load(&[], &[]).expect("the built-in rule packs are valid (tested)")
    }

    fn add_pack(&mut self, file: &str, text: &str) -> Result<()> {
        let pack: PackFile = toml::from_str(text).map_err(|error| config_error(file, text, error.span(), error.message().to_string()))?;
        for spec in pack.rule {
            let sink_kind = kinds_mask(file, text, std::slice::from_ref(&spec.sink_kind))?;
            if !matches!(spec.severity.as_str(), "error" | "warning" | "info") {
                return Err(config_error(
                    file,
                    text,
                    line_of(text, &spec.severity),
                    format!("severity must be error, warning or info, not {:?}", spec.severity),
                ));
            }
            self.rules.retain(|rule| rule.id != spec.id);
            self.rules.push(Rule {
                id: spec.id,
                name: spec.name,
                sink_kind,
                cwe: spec.cwe,
                severity: spec.severity,
                message: spec.message,
            });
        }
        for spec in pack.source {
            let kind = SourceKind::parse(&spec.kind).ok_or_else(|| {
                config_error(
                    file,
                    text,
                    line_of(text, &spec.kind),
                    format!("unknown source kind {:?}; known: UserInput, Session, Local", spec.kind),
                )
            })?;
            for name in spec.attributes {
                self.source_attributes.insert(name, kind);
            }
            for name in spec.calls {
                self.source_calls.insert(name, kind);
            }
            for name in spec.methods {
                self.source_methods.insert(name, kind);
            }
        }
        for spec in pack.sink {
            let kind = kinds_mask(file, text, std::slice::from_ref(&spec.kind))?;
            let condition = |c: &Option<KeywordCondition>| c.as_ref().map(|c| (c.keyword.clone(), c.equals.clone()));
            let sink = Sink {
                kind,
                cwe: spec.cwe,
                args: spec.args.clone(),
                keywords: spec.keywords.clone(),
                all_args: spec.all_args,
                when: condition(&spec.when),
                unless: condition(&spec.unless),
                safe_keywords: spec.safe_keywords.clone(),
                shell_argv: spec.shell_argv,
                receiver_contains: spec.receiver_contains.clone(),
            };
            if sink.args.is_empty() && sink.keywords.is_empty() && !sink.all_args {
                return Err(config_error(
                    file,
                    text,
                    line_of(text, spec.calls.first().or(spec.methods.first()).map_or("[[sink]]", |s| s.as_str())),
                    "a sink needs `args`, `keywords` or `all_args = true`".to_string(),
                ));
            }
            for name in spec.calls {
                self.sink_calls.entry(name).or_default().push(sink.clone());
            }
            for name in spec.methods {
                self.sink_methods.entry(name).or_default().push(sink.clone());
            }
        }
        for spec in pack.sanitizer {
            let sanitizer = Sanitizer { clears: kinds_mask(file, text, &spec.clears)?, normalizes: spec.normalizes };
            for name in spec.calls {
                self.sanitizer_calls.insert(name, sanitizer.clone());
            }
            for name in spec.methods {
                self.sanitizer_methods.insert(name, sanitizer.clone());
            }
        }
        for spec in pack.propagator {
            self.clean_calls.extend(spec.clean_calls);
            self.mutators.extend(spec.mutators);
        }
        Ok(())
    }

    pub fn rule_for(&self, sink_kind: u32) -> Option<&Rule> {
        self.rules.iter().find(|rule| rule.sink_kind == sink_kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_packs_load() {
        let set = RuleSet::builtin();
        assert!(set.rules.len() >= 15);
        assert!(set.sink_calls.contains_key("os.system"));
        assert!(set.source_attributes.contains_key("flask.request.args"));
        for kind in SINK_KINDS {
            let bit = sink_kind_bit(kind).unwrap();
            assert!(set.rule_for(bit).is_some(), "no rule for sink kind {kind}");
        }
    }

    #[test]
    fn bad_files_name_file_line_and_problem() {
        let text = "[[sink]]\nkind = \"SQL\"\ncalls = [\"x.run\"]\nargz = [0]\n";
        let error = RuleSet::load(&[("mine.toml".into(), text.into())], &[]).unwrap_err();
        let EngineError::Config { file, line, message } = error else { panic!() };
        assert_eq!((file.as_str(), line), ("mine.toml", 4));
        assert!(message.contains("unknown field `argz`"), "{message}");

        let text = "[[sink]]\nkind = \"Sequel\"\ncalls = [\"x.run\"]\nargs = [0]\n";
        let error = RuleSet::load(&[("mine.toml".into(), text.into())], &[]).unwrap_err();
        let EngineError::Config { line, message, .. } = error else { panic!() };
        assert_eq!(line, 2);
        assert!(message.contains("unknown sink kind \"Sequel\""), "{message}");

        let error = RuleSet::load(&[], &["no-such-rule".into()]).unwrap_err();
        assert!(error.to_string().contains("unknown rule id \"no-such-rule\""));
    }
}
