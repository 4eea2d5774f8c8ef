//! Sink kinds a pack declares (`[[kind]]`): named by sinks, sanitizers, guards and a rule like a
//! built-in kind; a bad declaration is a configuration error with its file and line.

use std::path::Path;

use flowsight_engine::rules::{RuleSet, MAX_SINK_KINDS, SINK_KINDS};
use flowsight_engine::taint::Finding;
use flowsight_engine::workspace::Workspace;

const GRAPHQL_PACK: &str = r#"
[[kind]]
name = "GraphQL"

[[rule]]
id = "graphql-injection"
name = "GraphQL injection"
sink_kind = "GraphQL"
cwe = 943
message = "{source} reaches the GraphQL query `{sink}`"

[[sink]]
kind = "GraphQL"
calls = ["gqlclient.execute"]
args = [0]

[[sanitizer]]
calls = ["gqlclient.escape"]
clears = ["GraphQL"]
"#;

const APP: &str = "from flask import Flask, request\nimport re\nimport gqlclient\n\napp = Flask(__name__)\n\n\n@app.route('/q')\ndef view():\n    name = request.args['name']\n";

fn findings_of(text: &str, rules: &RuleSet) -> Vec<Finding> {
    let mut workspace = Workspace::new(Path::new("/nonexistent-flowsight-root"));
    workspace.update_file("app.py", text.to_string(), Some(1));
    workspace.analyze_taint(rules)
}

/// (1-based sink line, rule id) of each finding.
fn sinks(findings: &[Finding]) -> Vec<(usize, String)> {
    let mut sinks: Vec<(usize, String)> = findings.iter().map(|f| (f.sink.start_line + 1, f.rule_id.clone())).collect();
    sinks.sort();
    sinks
}

fn graphql_rules() -> RuleSet {
    RuleSet::load(&[("graphql.toml".to_string(), GRAPHQL_PACK.to_string())], &[]).expect("a valid pack")
}

#[test]
fn a_declared_kind_gets_the_next_bit_and_its_own_findings() {
    let rules = graphql_rules();
    assert_eq!(rules.sink_kind_bit("GraphQL"), Some(1 << SINK_KINDS.len()));
    assert_eq!(rules.kind_names(rules.sink_kind_bit("GraphQL").unwrap()), vec!["GraphQL"]);
    let text = format!("{APP}    gqlclient.execute('{{ user(name: \"' + name + '\") }}')\n");
    assert_eq!(sinks(&findings_of(&text, &rules)), vec![(11, "graphql-injection".to_string())]);
    // Without the pack the call is nothing.
    assert!(findings_of(&text, &RuleSet::builtin()).is_empty());
}

#[test]
fn sanitizers_and_guards_clear_a_declared_kind_like_a_built_in_one() {
    let rules = graphql_rules();
    let cases = [
        // The pack's own sanitizer.
        ("    gqlclient.execute(gqlclient.escape(name))\n", vec![]),
        // A sanitizer clearing every kind (`*`) clears a declared one too.
        ("    gqlclient.execute(str(int(name)))\n", vec![]),
        // A full match of word characters proves it safe for any kind.
        ("    if re.fullmatch(r'[a-z0-9_]+', name):\n        gqlclient.execute(name)\n", vec![]),
        // Punctuation is harmless to no declared kind, and `$` lets a newline through.
        ("    if re.fullmatch(r'[a-z.]+', name):\n        gqlclient.execute(name)\n", vec![12]),
        ("    if re.match(r'^[a-z]+$', name):\n        gqlclient.execute(name)\n", vec![12]),
        // A sanitizer for another kind leaves it.
        ("    gqlclient.execute(html.escape(name))\n", vec![11]),
    ];
    for (body, expected) in cases {
        let text = format!("{APP}{body}").replace("import re\n", "import re\nimport html\n");
        let lines: Vec<usize> = sinks(&findings_of(&text, &rules)).into_iter().map(|(line, _)| line - 1).collect();
        assert_eq!(lines, expected, "{body}");
    }
}

#[test]
fn a_bad_declaration_is_an_error_with_its_file_and_line() {
    let rule = |kind: &str| format!("\n[[rule]]\nid = \"r-{kind}\"\nname = \"r\"\nsink_kind = \"{kind}\"\ncwe = 1\nmessage = \"m\"\n");
    let cases = [
        ("[[kind]]\nname = \"SQL\"\n".to_string(), 2, "sink kind \"SQL\" is already known"),
        ("\n[[kind]]\nname = \"Graph QL\"\n".to_string(), 3, "a sink kind is a name of letters"),
        ("[[kind]]\nname = \"GraphQL\"\n".to_string(), 2, "sink kind \"GraphQL\" has no [[rule]]"),
        ("[[kind]]\nname = \"GraphQL\"\ncolour = 1\n".to_string(), 3, "unknown field `colour`"),
        ("[[sink]]\nkind = \"GraphQL\"\ncalls = [\"a.b\"]\nargs = [0]\n".to_string(), 2, "a pack adds one with [[kind]]"),
    ];
    for (pack, line, problem) in cases {
        let error = RuleSet::load(&[("bad.toml".to_string(), pack.clone())], &[]).expect_err(&pack).to_string();
        assert!(error.contains(&format!("bad.toml:{line}")) && error.contains(problem), "{pack}\n→ {error}");
    }
    // A mask holds 32 kinds: one more is an error naming it, never a kind silently dropped.
    let room = MAX_SINK_KINDS - SINK_KINDS.len();
    let pack: String = (0..=room).map(|i| format!("[[kind]]\nname = \"K{i}\"\n{}", rule(&format!("K{i}")))).collect();
    let error = RuleSet::load(&[("many.toml".to_string(), pack)], &[]).expect_err("too many kinds").to_string();
    assert!(error.contains(&format!("\"K{room}\" is one too many")), "{error}");
    let fits: String = (0..room).map(|i| format!("[[kind]]\nname = \"K{i}\"\n{}", rule(&format!("K{i}")))).collect();
    let rules = RuleSet::load(&[("fits.toml".to_string(), fits)], &[]).expect("exactly as many kinds as a mask holds");
    assert_eq!(rules.sink_kinds.len(), MAX_SINK_KINDS);
}
