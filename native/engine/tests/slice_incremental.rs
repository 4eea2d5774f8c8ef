//! Slices kept across edits (`slice::SliceCache`: scope graphs by identity and content, solved
//! PDGs, call sites and effects per scope) equal slices from scratch: after every edit of a
//! random sequence — statements changed, added and removed inside functions (the program's
//! interface unchanged), functions added, lines added above everything — every backward, forward
//! and thin slice from every line of every file is the one a fresh workspace computes, with the
//! slices prepared (`Workspace::prepare_slices`: at once, in part, or a step at a time) or not. And a one-line edit
//! inside one function keeps every other scope's graph and PDG.

use std::path::Path;

use flowsight_engine::workspace::Workspace;
use proptest::prelude::*;

/// Statements a function body may hold (four-space indented; `{j}` another function's index).
const STATEMENTS: &[&str] = &[
    "r = x + y",
    "r = f{j}(x, r)",
    "fill(STATE, x)",
    "r = total(STATE)",
    "if x:\n        r = y",
    "for i in y:\n        r = r + i",
    "global COUNT\n    COUNT = COUNT + x",
    "y.append(r)",
    "r = b.helper(r)",
    "while r:\n        r = r - 1\n        if r == 3:\n            break",
    "try:\n        r = f{j}(r, y)\n    finally:\n        y = r",
    "r = COUNT",
    "x.items[0] = r",
    "r = [v for v in y if v > x]",
    "r = (lambda q: q + r)(x)",
];

const HELPERS: &str = "def fill(xs, v):\n    xs.append(v)\n\n\ndef total(xs):\n    t = 0\n    for v in xs:\n        t = t + v\n    return t\n\n\ndef helper(z):\n    return z + 1\n";

/// What `a.py` ends with: a function with a lambda as a default value and a class with a
/// lambda as an attribute (both lambdas of the module's body).
const LAMBDAS: &str =
    "\n\ndef g(v, key=lambda k: k + COUNT):\n    return key(v)\n\n\nclass Box:\n    size = property(lambda self: total(STATE))\n";

/// A module `a.py`: functions `f0…fn`, each `r = 0`, its statements, `return r`; then `LAMBDAS`.
#[derive(Clone, Debug)]
struct Module {
    /// Lines above everything (comments).
    preamble: usize,
    functions: Vec<Vec<String>>,
}

impl Module {
    fn text(&self) -> String {
        let mut text = "# pad\n".repeat(self.preamble);
        text.push_str("import b\nfrom b import fill, total\n\nSTATE = []\nCOUNT = 0\n");
        for (index, body) in self.functions.iter().enumerate() {
            text.push_str(&format!("\n\ndef f{index}(x, y):\n    r = 0\n"));
            for statement in body {
                text.push_str(&format!("    {statement}\n"));
            }
            text.push_str("    return r\n");
        }
        // Lambdas at module and class level (a default value, a class attribute) are named by
        // their offset in the file (`program::lambda_name`): every edit above renames them.
        text.push_str(LAMBDAS);
        text.push_str("\n\ng(COUNT)\nBox().size\nf0(STATE, [1, 2])\n");
        text
    }
}

fn statement(choice: usize, target: usize) -> String {
    STATEMENTS[choice % STATEMENTS.len()].replace("{j}", &target.to_string())
}

#[derive(Clone, Debug)]
enum Edit {
    /// Replace statement `at` of function `function` (inside the body: the interface stays).
    Replace {
        function: usize,
        at: usize,
        choice: usize,
        target: usize,
    },
    Insert {
        function: usize,
        at: usize,
        choice: usize,
        target: usize,
    },
    Remove {
        function: usize,
        at: usize,
    },
    /// A new function at the end (the interface changes).
    AddFunction {
        choice: usize,
        target: usize,
    },
    /// A comment line above everything (every scope moves).
    Pad,
    /// A statement changed in `b.py`'s helper.
    ChangeHelper {
        plus: usize,
    },
}

fn edits() -> impl Strategy<Value = Edit> {
    prop_oneof![
        4 => (0usize..8, 0usize..8, 0usize..STATEMENTS.len(), 0usize..8).prop_map(|(function, at, choice, target)| Edit::Replace { function, at, choice, target }),
        3 => (0usize..8, 0usize..8, 0usize..STATEMENTS.len(), 0usize..8).prop_map(|(function, at, choice, target)| Edit::Insert { function, at, choice, target }),
        2 => (0usize..8, 0usize..8).prop_map(|(function, at)| Edit::Remove { function, at }),
        1 => (0usize..STATEMENTS.len(), 0usize..8).prop_map(|(choice, target)| Edit::AddFunction { choice, target }),
        1 => Just(Edit::Pad),
        1 => (1usize..4).prop_map(|plus| Edit::ChangeHelper { plus }),
    ]
}

fn apply(module: &mut Module, helpers: &mut String, edit: &Edit) {
    let count = module.functions.len();
    match *edit {
        Edit::Replace { function, at, choice, target } => {
            let body = &mut module.functions[function % count];
            if !body.is_empty() {
                let at = at % body.len();
                body[at] = statement(choice, target % count);
            }
        }
        Edit::Insert { function, at, choice, target } => {
            let body = &mut module.functions[function % count];
            let at = at % (body.len() + 1);
            body.insert(at, statement(choice, target % count));
        }
        Edit::Remove { function, at } => {
            let body = &mut module.functions[function % count];
            if !body.is_empty() {
                let at = at % body.len();
                body.remove(at);
            }
        }
        Edit::AddFunction { choice, target } => module.functions.push(vec![statement(choice, target % count)]),
        Edit::Pad => module.preamble += 1,
        Edit::ChangeHelper { plus } => *helpers = helpers.replace("return z + ", &format!("return z * {plus} + ")),
    }
}

/// Every slice (backward, forward, thin backward) from every line of both files, or its error.
fn all_slices(workspace: &mut Workspace, texts: &[(&str, &str)]) -> Vec<String> {
    let mut out = Vec::new();
    for &(path, text) in texts {
        for line in 0..text.lines().count() {
            for (forward, thin) in [(false, false), (true, false), (false, true)] {
                out.push(match workspace.slice(path, line, None, forward, thin) {
                    Ok(result) => format!("{path}:{line} {forward} {thin} {:?}", result.files),
                    Err(error) => format!("{path}:{line} {error}"),
                });
            }
        }
    }
    out
}

fn workspace_of(texts: &[(&str, &str)]) -> Workspace {
    let mut workspace = Workspace::new(Path::new("/nonexistent/slices"));
    for &(path, text) in texts {
        workspace.update_file(path, text.to_string(), None);
    }
    workspace
}

fn initial() -> Module {
    Module {
        preamble: 0,
        functions: vec![
            vec!["r = f1(x, y)".into(), "fill(STATE, r)".into()],
            vec!["r = total(y)".into(), "if x:\n        r = f2(r, y)".into()],
            vec!["global COUNT\n    COUNT = COUNT + x".into(), "r = b.helper(COUNT)".into()],
            vec!["y.append(x)".into(), "r = f0(r, y)".into()],
        ],
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    #[test]
    fn slices_after_edits_equal_slices_from_scratch(sequence in proptest::collection::vec(edits(), 1..6)) {
        let mut module = initial();
        let mut helpers = HELPERS.to_string();
        let text = module.text();
        let mut incremental = workspace_of(&[("a.py", &text), ("b.py", &helpers)]);
        all_slices(&mut incremental, &[("a.py", &text), ("b.py", &helpers)]);
        for (round, edit) in sequence.iter().enumerate() {
            apply(&mut module, &mut helpers, edit);
            let text = module.text();
            incremental.update_file("a.py", text.clone(), None);
            incremental.update_file("b.py", helpers.clone(), None);
            // Prepared slices (all scopes, or a few) are the slices a demand-driven SDG computes.
            match round % 3 {
                0 => assert_eq!(incremental.prepare_slices(usize::MAX), 0),
                1 => {
                    incremental.prepare_slices(3);
                }
                _ => {
                    // A step at a time, as the server does, until everything is prepared.
                    let mut steps = 0;
                    while incremental.prepare_slices(7) > 0 {
                        steps += 1;
                        prop_assert!(steps < 1000, "preparation makes progress");
                    }
                }
            }
            let texts = [("a.py", text.as_str()), ("b.py", helpers.as_str())];
            let kept = all_slices(&mut incremental, &texts);
            let scratch = all_slices(&mut workspace_of(&texts), &texts);
            prop_assert_eq!(kept, scratch, "after {:?}", edit);
        }
    }
}

/// A one-line edit inside one of many functions: the next slice links again only that
/// function and its module body (every other graph and PDG kept), builds only their graphs,
/// and equals a slice from scratch. The lambdas below the edit are renamed (named by their
/// offset in the file), which leaves the program's interface as it was.
#[test]
fn a_one_line_edit_relinks_only_the_edited_function_and_its_module_body() {
    let mut module = Module {
        preamble: 0,
        functions: (0..60).map(|i| vec![format!("r = f{}(x, r)", (i + 1) % 60), "y.append(r)".to_string()]).collect(),
    };
    let helpers = HELPERS.to_string();
    let text = module.text();
    let mut workspace = workspace_of(&[("a.py", &text), ("b.py", &helpers)]);
    let last = text.lines().count() - 1;
    let before = workspace.slice("a.py", last, None, false, false).expect("slices");
    let (stats, built) = workspace.slice_cache_stats();
    assert_eq!((stats.resets, stats.kept), (1, 0));
    assert!(built >= 60, "every function reached: {built}");
    let solved_before = stats.pdgs_solved;
    assert!(solved_before >= 60, "every function's PDG solved: {solved_before}");
    module.functions[30][1] = "y.append(r + 1)".to_string();
    let text = module.text();
    workspace.update_file("a.py", text.clone(), None);
    let after = workspace.slice("a.py", last, None, false, false).expect("slices");
    let (stats, built_after) = workspace.slice_cache_stats();
    assert_eq!((stats.resets, stats.kept, stats.relinked), (1, 1, 2), "f30 and the module body");
    assert!(!stats.effects_changed);
    assert_eq!(built_after - built, 2, "only f30's and the module body's graphs built again");
    assert_eq!(
        stats.call_lists_examined, 4,
        "old call sites looked for under f31, f0, g and total (what f30 and the body called, `Box`'s class body included), not every callee"
    );
    assert_eq!(stats.pdgs_solved - solved_before, 2, "only f30's and the module body's PDGs solved again");
    let texts = [("a.py", text.as_str()), ("b.py", helpers.as_str())];
    let scratch = workspace_of(&texts).slice("a.py", last, None, false, false).expect("slices");
    assert_eq!(after.files, scratch.files);
    assert_eq!(before.files, after.files);
}

/// The program view slices use (`Program::from_parts`: every function and class name hashed)
/// is built once per state of the files: warm slices, preparation and PDG listings reuse it;
/// an incremental edit, a whole new text, a file added and a file removed each build it once
/// more, and the slices after them equal slices from scratch.
#[test]
fn warm_slices_reuse_the_program_view_and_edits_build_it_again() {
    use flowsight_engine::line_index::Encoding;
    use flowsight_engine::parse::PositionEdit;
    let module = initial();
    let helpers = HELPERS.to_string();
    let text = module.text();
    let mut workspace = workspace_of(&[("b.py", &helpers)]);
    workspace.update_file("a.py", text.clone(), Some(1));
    let last = text.lines().count() - 1;
    assert_eq!(workspace.program_views_built(), 0);
    let first = workspace.slice("a.py", last, None, false, false).expect("slices");
    assert_eq!(workspace.program_views_built(), 1);
    // Every line with a statement outside `Box` (a class and the statements of its body are
    // no slice criteria: "no statement at …").
    let in_class = |statement: &str| statement.starts_with("class ") || statement.starts_with("    size = ");
    for (line, _) in text.lines().enumerate().filter(|(_, statement)| !statement.trim().is_empty() && !in_class(statement)) {
        workspace.slice("a.py", line, None, false, false).expect("slices");
        workspace.slice("a.py", line, None, true, true).expect("slices");
    }
    workspace.prepare_slices(usize::MAX);
    workspace.pdgs("b.py").expect("pdgs");
    assert_eq!(workspace.slice("a.py", last, None, false, false).expect("slices").files, first.files);
    assert_eq!(workspace.program_views_built(), 1, "warm slices, preparation and PDGs reuse the view");

    let mut texts: Vec<(String, String)> = vec![("a.py".into(), text.clone()), ("b.py".into(), helpers.clone())];
    let check = |workspace: &mut Workspace, texts: &[(String, String)], views: usize| {
        let line = texts[0].1.lines().count() - 1;
        let kept = workspace.slice("a.py", line, None, false, false).expect("slices");
        assert_eq!(workspace.program_views_built(), views);
        workspace.slice("a.py", line, None, false, false).expect("slices");
        assert_eq!(workspace.program_views_built(), views, "the next slice reuses the view");
        let borrowed: Vec<(&str, &str)> = texts.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect();
        let scratch = workspace_of(&borrowed).slice("a.py", line, None, false, false).expect("slices");
        assert_eq!(kept.files, scratch.files);
    };

    // An editor's incremental edit: a statement added at the top of `f0`'s body (line 8).
    assert_eq!(text.lines().nth(8), Some("    r = 0"));
    let edit = PositionEdit { range: Some(((8, 0), (8, 0))), new_text: "    x = y\n".into() };
    workspace.apply_edits("a.py", 2, &[edit], Encoding::Utf8).expect("edits");
    texts[0].1 = workspace.text("a.py").expect("a.py").to_string();
    assert!(texts[0].1.contains("def f0(x, y):\n    x = y\n    r = 0\n"));
    check(&mut workspace, &texts, 2);

    // A whole new text of the other file.
    texts[1].1 = format!("{helpers}\ndef extra(v):\n    return v\n");
    workspace.update_file("b.py", texts[1].1.clone(), None);
    check(&mut workspace, &texts, 3);

    // A file added, then removed.
    workspace.update_file("c.py", "from a import f0\n\ndef g(x):\n    return f0(x, [])\n".into(), None);
    texts.push(("c.py".into(), workspace.text("c.py").expect("c.py").to_string()));
    check(&mut workspace, &texts, 4);
    workspace.remove_file("c.py").expect("removed");
    texts.pop();
    check(&mut workspace, &texts, 5);
}
