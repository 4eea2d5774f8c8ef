//! The labelled taint corpus (`tests/fixtures/taint`, shared with the Python tests): every
//! `# sink: CWE-N` line has a finding with that CWE, and no other line has one.

use std::collections::BTreeMap;
use std::path::PathBuf;

use flowsight_engine::rules::RuleSet;
use flowsight_engine::scan::scan_paths;

mod common;

/// (relative path, 1-based line) → expected CWEs, for every `.py` under `root`.
fn expectations(root: &std::path::Path) -> BTreeMap<(String, usize), Vec<u32>> {
    let mut expected = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(directory) = stack.pop() {
        for entry in std::fs::read_dir(&directory).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "py") {
                continue;
            }
            let relative = path.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
            for (number, line) in std::fs::read_to_string(&path).unwrap().lines().enumerate() {
                if let Some(position) = line.find("# sink:") {
                    let mut cwes: Vec<u32> = line[position + 7..]
                        .split(',')
                        .filter_map(|item| item.trim().strip_prefix("CWE-").and_then(|n| n.parse().ok()))
                        .collect();
                    cwes.sort_unstable();
                    expected.insert((relative.clone(), number + 1), cwes);
                }
            }
        }
    }
    expected
}

#[test]
fn findings_match_inline_expectations_in_every_group() {
    let corpus = common::shared_tests_dir().join("fixtures/taint");
    let rules = RuleSet::builtin();
    let mut groups: Vec<PathBuf> = std::fs::read_dir(&corpus).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    groups.sort();
    assert!(groups.len() >= 8);
    let mut problems = Vec::new();
    for group in groups {
        let result = scan_paths(std::slice::from_ref(&group), Some(&group), &rules).unwrap();
        let mut actual: BTreeMap<(String, usize), Vec<u32>> = BTreeMap::new();
        for finding in &result.findings {
            actual.entry((finding.sink.path.clone(), finding.sink.start_line + 1)).or_default().push(finding.cwe);
        }
        for cwes in actual.values_mut() {
            cwes.sort_unstable();
        }
        let expected = expectations(&group);
        if actual != expected {
            for key in expected.keys().chain(actual.keys()).collect::<std::collections::BTreeSet<_>>() {
                if expected.get(key) != actual.get(key) {
                    problems.push(format!(
                        "{}: {}:{} expected {:?}, found {:?}",
                        group.display(),
                        key.0,
                        key.1,
                        expected.get(key),
                        actual.get(key)
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}
