//! Module-level state and closures in the taint analysis: what one function stores into a
//! module-level name (here or in an imported module) or into a variable a closure reads is seen
//! where it is read, and the incremental analysis equals a from-scratch one after every edit.

use std::path::Path;

use flowsight_engine::rules::RuleSet;
use flowsight_engine::taint::Finding;
use flowsight_engine::workspace::Workspace;
use proptest::prelude::*;

const STATE: &str = "COMMANDS = []
SETTINGS = {}


def remember(value):
    COMMANDS.append(value)
";

const VIEWS: &str = "import os
from flask import request
from state import COMMANDS, SETTINGS, remember


def store():
    remember(request.args['q'])


def configure():
    SETTINGS['cmd'] = request.args['q']


def run():
    for command in COMMANDS:
        os.system(command)
    os.system(SETTINGS['cmd'])
    os.system(SETTINGS['other'])


def outer():
    command = request.args['q']

    def inner():
        os.system(command)

    return inner
";

fn analyse(files: &[(&str, &str)]) -> Vec<Finding> {
    let mut workspace = Workspace::new(Path::new("/nonexistent-flowsight-root"));
    for (path, text) in files {
        workspace.update_file(path, text.to_string(), Some(1));
    }
    workspace.analyze_taint(&RuleSet::builtin())
}

fn sink_lines(findings: &[Finding], path: &str) -> Vec<usize> {
    findings.iter().filter(|f| f.sink.path == path).map(|f| f.sink.start_line + 1).collect()
}

#[test]
fn stores_into_imported_module_state_and_closure_variables_reach_their_readers() {
    let findings = analyse(&[("state.py", STATE), ("views.py", VIEWS)]);
    // Through `remember` (a parameter stored into `state.COMMANDS`), the `configure` store under
    // the key read, and the closure; not `SETTINGS['other']`.
    assert_eq!(sink_lines(&findings, "views.py"), vec![16, 17, 25]);
    let through_store = findings.iter().find(|f| f.sink.start_line + 1 == 16).unwrap();
    assert_eq!(through_store.source.start_line + 1, 7);
}

#[test]
fn removing_the_only_store_removes_the_finding_incrementally() {
    let rules = RuleSet::builtin();
    let mut workspace = Workspace::new(Path::new("/nonexistent-flowsight-root"));
    workspace.update_file("state.py", STATE.to_string(), Some(1));
    workspace.update_file("views.py", VIEWS.to_string(), Some(1));
    assert_eq!(sink_lines(&workspace.analyze_taint(&rules), "views.py"), vec![16, 17, 25]);
    let edited = VIEWS.replace("    SETTINGS['cmd'] = request.args['q']", "    SETTINGS['cmd'] = 'uptime'");
    workspace.update_file("views.py", edited.clone(), Some(2));
    let incremental = workspace.analyze_taint(&rules);
    assert_eq!(sink_lines(&incremental, "views.py"), vec![16, 25]);
    assert_eq!(incremental, analyse(&[("state.py", STATE), ("views.py", &edited)]));
    let unused = STATE.replace("    COMMANDS.append(value)", "    return value");
    workspace.update_file("state.py", unused.clone(), Some(2));
    let incremental = workspace.analyze_taint(&rules);
    assert_eq!(sink_lines(&incremental, "views.py"), vec![25]);
    assert_eq!(incremental, analyse(&[("state.py", &unused), ("views.py", &edited)]));
}

const PIECES: &[&str] = &[
    "",
    "x",
    "(",
    ":",
    "# comment\n",
    "\n",
    "    COMMANDS.append(request.args['q'])\n",
    "    SETTINGS['other'] = request.args['q']\n",
    "    remember('uptime')\n",
    "    command = 'uptime'\n",
    "    global LAST\n    LAST = request.args['q']\n",
    "    os.system(LAST)\n",
    "def late():\n    COMMANDS.clear()\n",
    "    run = lambda: os.system(command)\n",
    "    del COMMANDS\n",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 60, .. ProptestConfig::default() })]

    #[test]
    fn incremental_equals_from_scratch_with_module_state(
        edits in proptest::collection::vec((any::<bool>(), 0usize..40, 0..PIECES.len()), 1..8)
    ) {
        let rules = RuleSet::builtin();
        let mut texts = [STATE.to_string(), VIEWS.to_string()];
        let paths = ["state.py", "views.py"];
        let mut workspace = Workspace::new(Path::new("/nonexistent-flowsight-root"));
        for (path, text) in paths.iter().zip(&texts) {
            workspace.update_file(path, text.clone(), Some(0));
        }
        workspace.analyze_taint(&rules);
        for (version, (which, line, piece)) in edits.into_iter().enumerate() {
            let file = usize::from(which);
            let text = &mut texts[file];
            let starts: Vec<usize> = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
            let at = starts[line % starts.len()];
            text.insert_str(at, PIECES[piece]);
            workspace.update_file(paths[file], text.clone(), Some(version as i64 + 1));
            let incremental = workspace.analyze_taint(&rules);
            let scratch = analyse(&[(paths[0], &texts[0]), (paths[1], &texts[1])]);
            prop_assert_eq!(incremental, scratch);
        }
    }
}

#[test]
fn module_state_reached_as_an_attribute_of_an_imported_module() {
    let writer = "import state\nfrom flask import request\n\n\ndef store():\n    state.COMMANDS.append(request.args['q'])\n";
    let reader = "import os\nimport state as s\n\n\ndef run():\n    for command in s.COMMANDS:\n        os.system(command)\n    os.system(s.SAFE[0])\n";
    let findings = analyse(&[("state.py", "COMMANDS = []\nSAFE = []\n"), ("writer.py", writer), ("reader.py", reader)]);
    assert_eq!(sink_lines(&findings, "reader.py"), vec![7]);
}

#[test]
fn module_level_code_stores_into_and_reads_an_imported_module_attribute() {
    let writer = "import state\nfrom flask import request\n\nstate.COMMANDS.append(request.args['q'])\n";
    let reader = "import os\nimport state\n\nos.system(state.COMMANDS[0])\n";
    let findings = analyse(&[("state.py", "COMMANDS = []\n"), ("writer.py", writer), ("reader.py", reader)]);
    assert_eq!(sink_lines(&findings, "reader.py"), vec![4]);
}
