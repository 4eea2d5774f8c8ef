//! Receivers typed by the packs' `[[type]]` models (`taint::types`): a method is a sink only on
//! an object of a declared type, however it is reached and whatever the variable is called.

use std::path::Path;

use flowsight_engine::rules::RuleSet;
use flowsight_engine::taint::Finding;
use flowsight_engine::workspace::Workspace;

fn workspace_of(files: &[(&str, &str)]) -> Workspace {
    let mut workspace = Workspace::new(Path::new("/nonexistent-flowsight-root"));
    for (path, text) in files {
        workspace.update_file(path, text.to_string(), Some(1));
    }
    workspace
}

/// The 1-based sink lines of the findings with `cwe`.
fn sink_lines(findings: &[Finding], cwe: u32) -> Vec<usize> {
    let mut lines: Vec<usize> = findings.iter().filter(|f| f.cwe == cwe).map(|f| f.sink.start_line + 1).collect();
    lines.sort_unstable();
    lines
}

const ROUTE: &str = "from flask import Flask, request\nimport logging\n\napp = Flask(__name__)\n\n\n@app.route('/r')\ndef view():\n    value = request.args['q']\n";

#[test]
fn a_logger_made_in_the_function_types_its_methods() {
    let text = format!("{ROUTE}    local = logging.getLogger(__name__)\n    local.error('search %s' % value)\n");
    let findings = workspace_of(&[("app.py", &text)]).analyze_taint(&RuleSet::builtin());
    assert_eq!(sink_lines(&findings, 117), vec![11], "{findings:#?}");
}

#[test]
fn names_that_only_look_like_a_logger_or_a_database_are_not_sinks() {
    let text = format!(
        "{ROUTE}    logbook = {{}}\n    logbook.get(value)\n    feedback = Feedback()\n    feedback.find(value)\n    catalog.info(value)\n    db_rows.find(value)\n\n\nclass Feedback:\n    def find(self, q):\n        return q\n"
    );
    let findings = workspace_of(&[("app.py", &text)]).analyze_taint(&RuleSet::builtin());
    assert!(sink_lines(&findings, 117).is_empty() && sink_lines(&findings, 943).is_empty(), "{findings:#?}");
}

const STORE: &str = "from pymongo import MongoClient\n\nclient = MongoClient()\ndb = client.shop\n";
const VIEWS: &str = "from flask import Flask, request\nfrom store import db\n\napp = Flask(__name__)\n\n\n@app.route('/r')\ndef view():\n    db.users.find({'$where': request.args['q']})\n    return 'done'\n";

#[test]
fn an_object_another_module_made_is_typed_and_follows_edits_of_that_module() {
    let mut workspace = workspace_of(&[("store.py", STORE), ("views.py", VIEWS)]);
    let rules = RuleSet::builtin();
    assert_eq!(sink_lines(&workspace.analyze_taint(&rules), 943), vec![9]);
    // `db` becomes something else: the views' finding goes, as a fresh analysis says.
    let edited = STORE.replace("db = client.shop", "db = dict(users=[])");
    workspace.update_file("store.py", edited.clone(), Some(2));
    let incremental = workspace.analyze_taint(&rules);
    let scratch = workspace_of(&[("store.py", &edited), ("views.py", VIEWS)]).analyze_taint(&rules);
    assert!(sink_lines(&incremental, 943).is_empty(), "{incremental:#?}");
    assert_eq!(sink_lines(&incremental, 943), sink_lines(&scratch, 943));
    // And back.
    workspace.update_file("store.py", STORE.to_string(), Some(3));
    assert_eq!(sink_lines(&workspace.analyze_taint(&rules), 943), vec![9]);
}

#[test]
fn a_user_pack_types_its_own_client_and_names_its_sink_methods_on_it() {
    let pack = r#"
[[type]]
name = "acme.store.Bucket"
returned_by = ["acme.store.connect"]

[[sink]]
kind = "NoSQL"
methods = ["query"]
on = ["acme.store.Bucket"]
args = [0]
"#;
    let rules = RuleSet::load(&[("acme.toml".to_string(), pack.to_string())], &[]).expect("a valid pack");
    let text = format!(
        "{ROUTE}    bucket = acme.store.connect()\n    bucket.query(value)\n    other = acme.store.open()\n    other.query(value)\n"
    )
    .replace("import logging", "import acme.store");
    let findings = workspace_of(&[("app.py", &text)]).analyze_taint(&rules);
    assert_eq!(sink_lines(&findings, 943), vec![11], "{findings:#?}");
}

#[test]
fn a_module_attribute_declared_a_type_is_typed_read_through_the_module_or_imported_by_name() {
    // docs/RULES.md `[[type]] attributes`: "attribute reads that are one" — `acme.client` is a
    // `acme.Client` whether read as `acme.client` or imported with `from acme import client`,
    // directly, renamed, or through a module-level name bound to it.
    let pack = r#"
[[type]]
name = "acme.Client"
attributes = ["acme.client"]

[[sink]]
kind = "Shell"
methods = ["run"]
on = ["acme.Client"]
args = [0]
"#;
    let rules = RuleSet::load(&[("acme.toml".to_string(), pack.to_string())], &[]).expect("a valid pack");
    let text = format!(
        "{ROUTE}    acme.client.run(value)
    client.run(value)
    other.run(value)
    shared.run(value)
    acme.server.run(value)
"
    )
    .replace("import logging", "import acme\nfrom acme import client\nfrom acme import client as other\nshared = client");
    let findings = workspace_of(&[("app.py", &text)]).analyze_taint(&rules);
    assert_eq!(sink_lines(&findings, 78), vec![13, 14, 15, 16], "{findings:#?}");
}

#[test]
fn a_pack_matching_receivers_by_text_or_naming_types_wrongly_is_an_error_with_its_line() {
    let cases = [
        (
            "[[sink]]\nkind = \"LogInjection\"\nmethods = [\"info\"]\nargs = [0]\nreceiver_contains = [\"log\"]\n",
            5,
            "receiver_contains` was removed",
        ),
        (
            "[[sink]]\nkind = \"NoSQL\"\ncalls = [\"a.b\"]\non = [\"a.Client\"]\nargs = [0]\n",
            4,
            "`on` names the receiver types of `methods`",
        ),
        ("\n[[type]]\nname = \"a.Client\"\n", 3, "needs `returned_by`, `attributes` or `members_of`"),
        ("[[type]]\nname = \"a.Client\"\nmade_by = [\"a.connect\"]\n", 3, "unknown field `made_by`"),
    ];
    for (pack, line, problem) in cases {
        let error = RuleSet::load(&[("bad.toml".to_string(), pack.to_string())], &[]).expect_err(pack).to_string();
        assert!(error.contains(&format!("bad.toml:{line}")) && error.contains(problem), "{pack}\n→ {error}");
    }
}
