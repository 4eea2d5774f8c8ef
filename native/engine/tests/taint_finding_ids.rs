//! A finding's id is unique within a run and stable under edits elsewhere: it names the rule,
//! the sink's and the source's file, enclosing function and text, and an occurrence number —
//! never a line. (SARIF's partialFingerprints and explain-taint rely on it.)

use std::path::Path;

use flowsight_engine::rules::RuleSet;
use flowsight_engine::taint::Finding;
use flowsight_engine::workspace::Workspace;

const ROUTES: &str = "import os
from flask import Flask, request

app = Flask(__name__)


@app.route('/a')
def first():
    os.system(request.args['cmd'])


@app.route('/b')
def second():
    os.system(request.args['cmd'])
    os.system(request.args['cmd'])
";

fn findings(text: &str) -> Vec<Finding> {
    let mut workspace = Workspace::new(Path::new("/nonexistent-flowsight-root"));
    workspace.update_file("app.py", text.to_string(), Some(1));
    workspace.analyze_taint(&RuleSet::builtin())
}

#[test]
fn identical_sink_lines_get_distinct_ids() {
    let ids: Vec<String> = findings(ROUTES).into_iter().map(|f| f.id).collect();
    assert_eq!(ids.len(), 3);
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 3, "{ids:?}");
}

#[test]
fn ids_do_not_change_with_edits_elsewhere() {
    let before: Vec<String> = findings(ROUTES).into_iter().map(|f| f.id).collect();
    let moved = ROUTES.replace("app = Flask(__name__)\n", "app = Flask(__name__)\n\n\ndef unrelated():\n    return 1\n");
    let after: Vec<(String, usize)> = findings(&moved).into_iter().map(|f| (f.id, f.sink.start_line)).collect();
    assert_eq!(after.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>(), before);
    // The sinks did move: four lines down from 0-based line 8.
    assert_eq!(after[0].1, 12);
}
