//! The non-taint checks' fixtures (`tests/fixtures/checks`, format in its README): every line
//! marked `# check: id, …` has exactly those checks' findings, and no other line has a finding.
//! One test per check family; `every_fixture_file_has_a_test` keeps the list complete.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::OnceLock;

use flowsight_engine::rules::RuleSet;
use flowsight_engine::scan::scan_paths;

mod common;

/// (file, 1-based line) → rule ids, sorted.
type Lines = BTreeMap<(String, usize), Vec<String>>;

fn corpus() -> PathBuf {
    common::shared_tests_dir().join("fixtures/checks")
}

fn expectations(file: &str) -> Lines {
    let mut expected = Lines::new();
    for (number, line) in std::fs::read_to_string(corpus().join(file)).unwrap().lines().enumerate() {
        if let Some(position) = line.find("# check:") {
            let mut ids: Vec<String> = line[position + 8..].split(',').map(|id| id.trim().to_string()).collect();
            ids.sort();
            expected.insert((file.to_string(), number + 1), ids);
        }
    }
    expected
}

/// Every finding of the corpus, analysed once as one program.
fn findings() -> &'static Lines {
    static FINDINGS: OnceLock<Lines> = OnceLock::new();
    FINDINGS.get_or_init(|| {
        let result = scan_paths(&[corpus()], Some(&corpus()), &RuleSet::builtin()).unwrap();
        let mut actual = Lines::new();
        for finding in &result.findings {
            actual.entry((finding.sink.path.clone(), finding.sink.start_line + 1)).or_default().push(finding.rule_id.clone());
        }
        actual.values_mut().for_each(|ids| ids.sort());
        actual
    })
}

fn check(file: &str) {
    let expected = expectations(file);
    assert!(!expected.is_empty(), "{file} has no positive case");
    let actual: Lines = findings().iter().filter(|((path, _), _)| path == file).map(|(k, v)| (k.clone(), v.clone())).collect();
    let problems: Vec<String> = expected
        .keys()
        .chain(actual.keys())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .filter(|key| expected.get(*key) != actual.get(*key))
        .map(|key| format!("{}:{} expected {:?}, found {:?}", key.0, key.1, expected.get(key), actual.get(key)))
        .collect();
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

const FILES: &[&str] = &["weak_hash.py", "insecure_random.py", "cookies.py", "yaml_load.py", "debug.py", "tls.py"];

#[test]
fn weak_hash() {
    check("weak_hash.py");
}

#[test]
fn insecure_random() {
    check("insecure_random.py");
}

#[test]
fn cookies() {
    check("cookies.py");
}

#[test]
fn yaml_load() {
    check("yaml_load.py");
}

#[test]
fn debug() {
    check("debug.py");
}

#[test]
fn tls() {
    check("tls.py");
}

#[test]
fn every_fixture_file_has_a_test() {
    let mut files: Vec<String> = std::fs::read_dir(corpus())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".py"))
        .collect();
    files.sort();
    let mut listed: Vec<String> = FILES.iter().map(|f| f.to_string()).collect();
    listed.sort();
    assert_eq!(files, listed);
}

#[test]
fn every_builtin_check_has_a_fixture_positive() {
    let rules = RuleSet::builtin();
    let found: BTreeSet<&str> = findings().values().flatten().map(String::as_str).collect();
    for check in &rules.checks {
        assert!(found.contains(check.id.as_str()), "no fixture finding of {}", check.id);
    }
}

#[test]
fn a_call_that_a_taint_finding_of_the_same_cwe_reports_gets_that_finding_alone() {
    let text = "import yaml\nfrom flask import Flask, request\n\napp = Flask(__name__)\n\n\n@app.route('/r')\ndef view():\n    yaml.load(request.data)\n    yaml.load(open('config.yml'))\n    return 'done'\n";
    let mut workspace = flowsight_engine::workspace::Workspace::new(std::path::Path::new("/nonexistent-flowsight-root"));
    workspace.update_file("app.py", text.to_string(), Some(1));
    let findings = workspace.analyze_taint(&RuleSet::builtin());
    let on_line = |line: usize| -> Vec<&str> {
        findings.iter().filter(|finding| finding.sink.start_line + 1 == line).map(|finding| finding.rule_id.as_str()).collect()
    };
    // Untrusted data: the taint finding, with its path, and not the check besides.
    assert_eq!(on_line(9), vec!["unsafe-deserialization"], "{findings:#?}");
    // A constant file: the check alone.
    assert_eq!(on_line(10), vec!["yaml-unsafe-load"], "{findings:#?}");
}
