//! Several repositories in one scan (`walk::discover` + `scan::scan_repositories`): two
//! checkouts with the same base name and module names are the union of their separate scans,
//! finding ids included; a repository importing another's package is analysed with it.

use std::path::{Path, PathBuf};

use flowsight_engine::rules::RuleSet;
use flowsight_engine::scan::scan_paths;

/// A fresh directory under the system's temporary directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("flowsight-repositories-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    fn write(&self, files: &[(&str, &str)]) -> &Path {
        for (name, text) in files {
            let path = self.0.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const X_VIEWS: &str = "from flask import request\nfrom db import search\n\ndef find():\n    return search(request.args['q'])\n";
const X_DB: &str = "import sqlite3\n\ndef search(term):\n    sqlite3.connect('a').cursor().execute('SELECT %s' % term)\n";
const Y_VIEWS: &str = "from flask import request\nfrom db import lookup, run\n\ndef find():\n    return lookup(request.args['q'])\n\ndef convert():\n    run(request.args['f'])\n";
const Y_DB: &str = "import os\nimport sqlite3\n\ndef lookup(term):\n    sqlite3.connect('b').cursor().execute('SELECT %s' % term)\n\ndef run(name):\n    os.system('convert ' + name)\n";

/// (rule, sink path relative to `base`, sink line, every step's path and line, id).
type Key = (String, String, usize, Vec<(String, usize)>, String);

fn keys(paths: &[PathBuf], base: &Path, shown_from: &Path) -> Vec<Key> {
    let result = scan_paths(paths, None, &RuleSet::builtin()).unwrap();
    // Findings name files relative to the display root `shown_from`; re-based on `base`.
    let prefix = shown_from.strip_prefix(base).unwrap().to_string_lossy().into_owned();
    let join = |path: &str| if prefix.is_empty() { path.to_string() } else { format!("{prefix}/{path}") };
    let mut keys: Vec<Key> = result
        .findings
        .iter()
        .map(|f| {
            let steps = f.steps.iter().map(|s| (join(&s.location.path), s.location.start_line)).collect();
            (f.rule_id.clone(), join(&f.sink.path), f.sink.start_line, steps, f.id.clone())
        })
        .collect();
    keys.sort();
    keys
}

#[test]
fn same_named_repositories_scan_as_the_union_of_their_separate_scans() {
    let dir = TempDir::new("union");
    let base = dir.write(&[("x/app/views.py", X_VIEWS), ("x/app/db.py", X_DB), ("y/app/views.py", Y_VIEWS), ("y/app/db.py", Y_DB)]);
    let (x, y) = (base.join("x/app"), base.join("y/app"));
    let separate_x = keys(std::slice::from_ref(&x), base, &x);
    let separate_y = keys(std::slice::from_ref(&y), base, &y);
    assert_eq!(separate_x.len(), 1, "{separate_x:?}");
    assert_eq!(separate_y.len(), 2, "{separate_y:?}");
    let mut union = [separate_x, separate_y].concat();
    union.sort();
    assert_eq!(keys(&[x, y], base, base), union);
}

#[test]
fn a_repository_importing_another_repositorys_package_is_analysed_with_it() {
    let dir = TempDir::new("cross");
    let base = dir.write(&[
        ("lib/shellkit/__init__.py", ""),
        ("lib/shellkit/run.py", "import os\n\ndef sh(cmd):\n    os.system(cmd)\n"),
        ("service/main.py", "from flask import request\nfrom shellkit.run import sh\n\ndef go():\n    sh(request.args['c'])\n"),
    ]);
    let (library, service) = (base.join("lib"), base.join("service"));
    assert!(keys(std::slice::from_ref(&service), base, &service).is_empty());
    let together = keys(&[service, library], base, base);
    let sinks: Vec<(&str, &str)> = together.iter().map(|(rule, sink, ..)| (rule.as_str(), sink.as_str())).collect();
    assert_eq!(sinks, [("command-injection", "lib/shellkit/run.py")]);
    assert!(together[0].3.iter().any(|(path, _)| path == "service/main.py"), "{together:?}");
}
