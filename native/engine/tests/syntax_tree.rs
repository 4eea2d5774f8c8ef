//! The compact `SyntaxTree` answers every question the engine asks exactly as the tree-sitter
//! tree it was converted from: node by node (kind, named, error, missing, extra, ranges,
//! positions, fields, parent, children, named children, siblings, lookups by field and by byte)
//! and as an S-expression, on every fixture file and on broken inputs (unclosed brackets, NUL
//! bytes, lone `\r`, deep nesting, recovered definitions).
//!
//! A tree stored as records (`SyntaxTree::to_records`, the scan's cache) and read back
//! (`Document::from_records`) answers the same, node by node, on the same inputs; a tree with
//! syntax errors is not stored; damaged records are refused or read as a consistent tree,
//! never a panic.

use flowsight_engine::parse::{parse, parse_python, recover_definitions, recover_tree_sitter_definitions, Document};
use flowsight_engine::syntax::tree::{self, SyntaxTree};

/// What identifies a node when comparing the two trees.
type Signature = (u16, usize, usize, bool);

fn signature_of_ts(node: Option<tree_sitter::Node<'_>>) -> Option<Signature> {
    node.map(|node| (node.kind_id(), node.start_byte(), node.end_byte(), node.is_named()))
}

fn signature_of(node: Option<tree::Node<'_>>) -> Option<Signature> {
    node.map(|node| (node.kind_id(), node.start_byte(), node.end_byte(), node.is_named()))
}

fn field_names() -> Vec<String> {
    let language = tree_sitter::Language::from(tree_sitter_python::LANGUAGE);
    (1..=language.field_count() as u16).filter_map(|id| language.field_name_for_id(id)).map(str::to_owned).collect()
}

/// Compares two trees node by node (iteratively: inputs may be deep). Returns the nodes compared.
fn assert_same_tree(name: &str, expected: &tree_sitter::Tree, actual: &SyntaxTree) -> usize {
    let fields = field_names();
    assert_eq!(actual.root_node().to_sexp(), expected.root_node().to_sexp(), "{name}: to_sexp");
    let mut pending = vec![(expected.root_node(), actual.root_node(), None)];
    let mut compared = 0;
    while let Some((want, got, field)) = pending.pop() {
        compared += 1;
        let at = format!("{name}: {want:?}");
        assert_eq!(got.kind(), want.kind(), "{at}: kind");
        assert_eq!(got.kind_id(), want.kind_id(), "{at}: kind_id");
        assert_eq!(got.is_named(), want.is_named(), "{at}: is_named");
        assert_eq!(got.is_error(), want.is_error(), "{at}: is_error");
        assert_eq!(got.is_missing(), want.is_missing(), "{at}: is_missing");
        assert_eq!(got.is_extra(), want.is_extra(), "{at}: is_extra");
        assert_eq!(got.has_error(), want.has_error(), "{at}: has_error");
        assert_eq!(got.byte_range(), want.byte_range(), "{at}: byte_range");
        assert_eq!(got.start_position(), want.start_position(), "{at}: start_position");
        assert_eq!(got.end_position(), want.end_position(), "{at}: end_position");
        assert_eq!(got.child_count(), want.child_count(), "{at}: child_count");
        assert_eq!(got.named_child_count(), want.named_child_count(), "{at}: named_child_count");
        assert_eq!(got.field_name(), field.as_deref(), "{at}: field in parent");
        assert_eq!(signature_of(got.parent()), signature_of_ts(want.parent()), "{at}: parent");
        assert_eq!(signature_of(got.next_sibling()), signature_of_ts(want.next_sibling()), "{at}: next_sibling");
        assert_eq!(signature_of(got.prev_sibling()), signature_of_ts(want.prev_sibling()), "{at}: prev_sibling");
        assert_eq!(signature_of(got.next_named_sibling()), signature_of_ts(want.next_named_sibling()), "{at}: next_named_sibling");
        assert_eq!(signature_of(got.prev_named_sibling()), signature_of_ts(want.prev_named_sibling()), "{at}: prev_named_sibling");
        for i in 0..want.named_child_count() as u32 + 1 {
            assert_eq!(signature_of(got.named_child(i)), signature_of_ts(want.named_child(i)), "{at}: named_child({i})");
        }
        let named: Vec<_> = got.named_children(&mut got.walk()).map(|n| signature_of(Some(n))).collect();
        let want_named: Vec<_> = want.named_children(&mut want.walk()).map(|n| signature_of_ts(Some(n))).collect();
        assert_eq!(named, want_named, "{at}: named_children");
        for field_name in &fields {
            // tree-sitter also answers a field that an aliased hidden child passes up from its
            // own children (`match_statement`'s `alternative`: the `case_clause`s inside its
            // body `block`); the compact tree answers with the node's own children only.
            let want_child = want.child_by_field_name(field_name).filter(|child| child.parent() == Some(want));
            assert_eq!(
                signature_of(got.child_by_field_name(field_name)),
                signature_of_ts(want_child),
                "{at}: child_by_field_name({field_name})"
            );
            let all: Vec<_> = got.children_by_field_name(field_name, &mut got.walk()).map(|n| signature_of(Some(n))).collect();
            let want_all: Vec<_> = want.children_by_field_name(field_name, &mut want.walk()).map(|n| signature_of_ts(Some(n))).collect();
            assert_eq!(all, want_all, "{at}: children_by_field_name({field_name})");
        }
        // Cursors: the field of each child, and the first child ending after each child's start.
        let (mut want_cursor, mut got_cursor) = (want.walk(), got.walk());
        assert_eq!(got_cursor.goto_first_child(), want_cursor.goto_first_child(), "{at}: goto_first_child");
        if want.child_count() > 0 {
            loop {
                assert_eq!(signature_of(Some(got_cursor.node())), signature_of_ts(Some(want_cursor.node())), "{at}: cursor child");
                assert_eq!(got_cursor.field_name(), want_cursor.field_name(), "{at}: cursor field_name");
                let (moved, want_moved) = (got_cursor.goto_next_sibling(), want_cursor.goto_next_sibling());
                assert_eq!(moved, want_moved, "{at}: goto_next_sibling");
                if !moved {
                    break;
                }
            }
            assert!(got_cursor.goto_parent() && !got_cursor.goto_parent(), "{at}: the cursor stays below its start");
        }
        let mut byte_goals: Vec<usize> = want.children(&mut want.walk()).flat_map(|child| [child.start_byte(), child.end_byte()]).collect();
        byte_goals.push(want.start_byte());
        for goal in byte_goals {
            let (mut want_cursor, mut got_cursor) = (want.walk(), got.walk());
            let want_index = want_cursor.goto_first_child_for_byte(goal);
            assert_eq!(got_cursor.goto_first_child_for_byte(goal), want_index, "{at}: goto_first_child_for_byte({goal})");
            if want_index.is_some() {
                assert_eq!(
                    signature_of(Some(got_cursor.node())),
                    signature_of_ts(Some(want_cursor.node())),
                    "{at}: first child for {goal}"
                );
            }
        }
        let mut ts_cursor = want.walk();
        for (i, child) in want.children(&mut ts_cursor).enumerate() {
            assert_eq!(signature_of(got.child(i as u32)), signature_of_ts(Some(child)), "{at}: child({i})");
        }
        assert_eq!(got.child(want.child_count()), None, "{at}: child past the end");
        let mut ts_cursor = want.walk();
        ts_cursor.goto_first_child();
        for i in 0..want.child_count() {
            let field = ts_cursor.field_name().map(str::to_owned);
            pending.push((want.child(i).expect("in range"), got.child(i).expect("in range"), field));
            ts_cursor.goto_next_sibling();
        }
    }
    compared
}

/// `descendant_for_byte_range` from the root for every offset (and a few ranges) of a text.
fn assert_same_descendants(name: &str, text: &str, expected: &tree_sitter::Tree, actual: &SyntaxTree) {
    let (want_root, got_root) = (expected.root_node(), actual.root_node());
    let step = (text.len() / 4000).max(1);
    for start in (0..=text.len() + 1).step_by(step) {
        for end in [start, start + 1, start + 7] {
            assert_eq!(
                signature_of(got_root.descendant_for_byte_range(start, end)),
                signature_of_ts(want_root.descendant_for_byte_range(start, end)),
                "{name}: descendant_for_byte_range({start}, {end})"
            );
        }
    }
    assert_eq!(got_root.descendant_for_byte_range(5, 3), None);
}

fn assert_same_parse(name: &str, text: &str) -> usize {
    let expected = parse_python(text, None);
    let actual = parse(text);
    let mut compared = assert_same_tree(name, &expected, &actual);
    assert_same_descendants(name, text, &expected, &actual);
    let recovered = recover_definitions(text, &actual);
    let want_recovered = recover_tree_sitter_definitions(text, &actual);
    assert_eq!(recovered.len(), want_recovered.len(), "{name}: recovered definitions");
    for (i, (want, got)) in want_recovered.iter().zip(&recovered).enumerate() {
        compared += assert_same_tree(&format!("{name} (recovered {i})"), want, got);
    }
    compared
}

fn fixture_files() -> Vec<std::path::PathBuf> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests");
    let mut files = Vec::new();
    let mut directories = vec![root.join("fixtures"), root.join("apps")];
    while let Some(directory) = directories.pop() {
        for entry in std::fs::read_dir(&directory).expect("fixture directories are readable") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                directories.push(path);
            } else if path.extension().is_some_and(|extension| extension == "py") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn every_fixture_converts_node_for_node() {
    let files = fixture_files();
    assert!(files.len() > 100, "only {} fixture files found", files.len());
    let mut compared = 0;
    for path in &files {
        let text = String::from_utf8_lossy(&std::fs::read(path).expect("readable")).into_owned();
        compared += assert_same_parse(&path.display().to_string(), &text);
    }
    assert!(compared > 10_000, "only {compared} nodes compared");
}

#[test]
fn broken_inputs_convert_node_for_node() {
    let deep_calls = format!("x = {}1{}\n", "f(".repeat(300), ")".repeat(300));
    let deep_blocks: String =
        (0..60).map(|depth| format!("{}if x:\n", "    ".repeat(depth))).collect::<String>() + &"    ".repeat(60) + "pass\n";
    let cases: Vec<(&str, String)> = vec![
        ("empty", String::new()),
        ("only a comment", "# nothing\n".into()),
        ("unclosed bracket", "x = [1, 2,\ny = (3\ndef f(:\n    return {\n".into()),
        ("unclosed string", "s = 'abc\nt = \"\"\"never closed\n".into()),
        ("nul bytes", "x = 1\0\ndef after():\n    pass\0\n\0".into()),
        ("lone carriage returns", "import os\rdef f():\r    x = 1\r\n    return x\r".into()),
        ("unexpected characters", "x = 1 $ 2\ny = `a`\n€ = 3\nz = ?\n".into()),
        ("missing tokens", "print((1)\nif x\n    pass\nfor in y:\n    pass\n".into()),
        (
            "swallowed definitions",
            "x = (\n\ndef f(a):\n    return a\n\nclass C:\n    def m(self):\n        return 1\n\n@d\ndef g():\n    pass\n".into(),
        ),
        ("tabs and unicode", "def f():\n\tπ = 'é'\n\treturn π  # ü\n".into()),
        ("deep calls", deep_calls),
        ("deep blocks", deep_blocks),
        (
            "keywords as names",
            "print = 1\nmatch = 2\ntype X = int\nasync def f():\n    await g()\n    async with a as b:\n        yield\n".into(),
        ),
        ("trailing junk", "def f():\n    pass\n)))\n".into()),
    ];
    for (name, text) in &cases {
        assert_same_parse(name, text);
    }
}

/// Stores `text`'s tree as records and reads it back: node by node the tree-sitter tree, or
/// nothing stored when the text has syntax errors. Returns the nodes compared.
fn assert_stored_tree_reads_back(name: &str, text: &str) -> usize {
    let parsed = parse(text);
    let Some(records) = parsed.to_records() else {
        assert!(parsed.root_node().has_error(), "{name}: a tree without errors is stored");
        return 0;
    };
    assert!(!parsed.root_node().has_error(), "{name}: a tree with errors is not stored");
    let document = Document::from_records(text.to_string(), &records).unwrap_or_else(|_| panic!("{name}: records refused"));
    assert!(document.recovered().is_empty() && !document.keeps_tree_sitter_tree());
    assert_eq!(document.tree().to_records().as_deref(), Some(&records[..]), "{name}: records again");
    let expected = parse_python(text, None);
    assert_same_descendants(name, text, &expected, document.tree());
    assert_same_tree(&format!("{name} (stored)"), &expected, document.tree())
}

#[test]
fn stored_trees_read_back_node_for_node() {
    let mut compared = 0;
    for path in fixture_files() {
        let text = String::from_utf8_lossy(&std::fs::read(&path).expect("readable")).into_owned();
        compared += assert_stored_tree_reads_back(&path.display().to_string(), &text);
    }
    assert!(compared > 10_000, "only {compared} nodes compared");
    let deep_calls = format!("x = {}1{}\n", "f(".repeat(300), ")".repeat(300));
    for (name, text) in [
        ("empty", String::new()),
        ("nul bytes", "x = 1\0\ndef after():\n    pass\0\n\0".into()),
        ("lone carriage returns", "import os\rdef f():\r    x = 1\r\n    return x\r".into()),
        ("tabs and unicode", "def f():\n\tπ = 'é'\n\treturn π  # ü\n".into()),
        ("deep calls", deep_calls),
    ] {
        assert!(assert_stored_tree_reads_back(name, &text) > 0, "{name}: stored");
    }
    for broken in ["x = [1, 2,\n", "def f(:\n    pass\n", "x = (\n\ndef f(a):\n    return a\n", "print((1)\n"] {
        assert_eq!(assert_stored_tree_reads_back(broken, broken), 0, "{broken:?}: not stored");
    }
}

/// Every node of `tree` reachable and within `text_len`, every child's parent its parent.
fn assert_consistent(tree: &SyntaxTree, text_len: usize) {
    let mut pending = vec![tree.root_node()];
    let mut seen = 0;
    while let Some(node) = pending.pop() {
        seen += 1;
        assert!(node.start_byte() <= node.end_byte() && node.end_byte() <= text_len);
        let _ = (node.kind(), node.start_position(), node.end_position(), node.next_sibling(), node.prev_named_sibling(), node.to_sexp());
        for i in 0..node.child_count() {
            let child = node.child(i).expect("a child");
            assert_eq!(child.parent(), Some(node));
            pending.push(child);
        }
        assert_eq!(node.named_children(&mut node.walk()).count(), node.named_child_count());
    }
    assert_eq!(seen, tree.node_count(), "every node reachable once");
}

#[test]
fn damaged_records_are_refused_or_consistent_never_a_panic() {
    let text = "import os\n\n\nclass C(B):\n    def f(self, a, *b, **c):\n        return os.path.join(a, b[0], c['k'])\n";
    let records = parse(text).to_records().expect("no syntax errors");
    let lines = flowsight_engine::syntax::tree::line_starts(text.as_bytes());
    let read = |bytes: &[u8]| SyntaxTree::from_records(bytes, text.len(), lines.clone());
    assert!(read(&records).is_ok());
    for length in 0..records.len() {
        assert!(read(&records[..length]).is_err() || length % tree::RECORD_BYTES == 0, "{length} bytes");
        if let Ok(tree) = read(&records[..length]) {
            assert_consistent(&tree, text.len());
        }
    }
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let (mut refused, mut accepted) = (0, 0);
    for round in 0..4000 {
        let mut damaged = records.clone();
        // One to three bytes changed (a bit flipped, or a byte random), or a random record.
        for _ in 0..1 + round % 3 {
            let at = (next() as usize) % damaged.len();
            damaged[at] = if round % 2 == 0 { damaged[at] ^ (1 << (next() % 8)) } else { next() as u8 };
        }
        match read(&damaged) {
            Ok(tree) => {
                accepted += 1;
                assert_consistent(&tree, text.len());
            }
            Err(_) => refused += 1,
        }
    }
    assert!(refused > 1000, "{refused} refused, {accepted} accepted");
    let random: Vec<u8> = (0..records.len()).map(|_| next() as u8).collect();
    assert!(read(&random).is_err());
    // Records over a shorter text: ranges outside it are refused.
    assert!(SyntaxTree::from_records(&records, text.len() - 1, lines.clone()).is_err());
}

#[test]
fn node_ids_are_distinct_across_trees_and_stable_within_one() {
    let (first, second) = (parse("x = f(1)\n"), parse("x = f(1)\n"));
    let ids = |tree: &SyntaxTree| {
        let mut ids = Vec::new();
        let mut pending = vec![tree.root_node()];
        while let Some(node) = pending.pop() {
            ids.push(node.id());
            pending.extend(node.children(&mut node.walk()));
        }
        ids
    };
    let (a, b) = (ids(&first), ids(&second));
    assert_eq!(a.len(), b.len());
    let all: std::collections::HashSet<usize> = a.iter().chain(&b).copied().collect();
    assert_eq!(all.len(), a.len() + b.len(), "ids repeat across two trees");
    assert_eq!(first.root_node().id(), first.root_node().id());
    let call = first.root_node().descendant_for_byte_range(4, 8).expect("the call");
    assert_eq!(call.kind(), "call");
    assert_eq!(call.parent().and_then(|p| p.child_by_field_name("right")).map(|n| n.id()), Some(call.id()));
    assert_ne!(first.root_node(), second.root_node());
}

/// ARCHITECTURE.md's invariant: no tree-sitter tree is kept for files nobody edits. Files read
/// from disk and texts set without a version hold only their `SyntaxTree`; an editor's open
/// document (a version) and a document once edited keep theirs for incremental re-parsing, until
/// the text on disk replaces it (or, below, more recently edited documents take its place).
#[test]
fn tree_sitter_trees_are_kept_only_for_edited_documents() {
    use flowsight_engine::line_index::Encoding;
    use flowsight_engine::parse::PositionEdit;
    use flowsight_engine::workspace::Workspace;

    let directory = std::env::temp_dir().join(format!("flowsight-syntax-tree-{}", std::process::id()));
    std::fs::create_dir_all(&directory).expect("temporary directory");
    for name in ["a.py", "b.py", "c.py"] {
        std::fs::write(directory.join(name), "def f(x):\n    return x\n").expect("written");
    }
    let mut workspace = Workspace::new(&directory);
    workspace.load_files(&["a.py".to_string(), "b.py".to_string()]);
    workspace.load_file("c.py");
    workspace.update_file("d.py", "y = 1\n".to_string(), None);
    let keeps = |workspace: &Workspace, path: &str| workspace.document(path).expect("known file").keeps_tree_sitter_tree();
    for path in ["a.py", "b.py", "c.py", "d.py"] {
        assert!(!keeps(&workspace, path), "{path}: nobody edits it");
    }
    workspace.update_file("a.py", "def f(x):\n    return x\n".to_string(), Some(1));
    assert!(keeps(&workspace, "a.py"), "an open document keeps its tree");
    let edit = PositionEdit { range: Some(((1, 11), (1, 12))), new_text: "x + 1".to_string() };
    workspace.apply_edits("b.py", 1, &[edit], Encoding::Utf16).expect("edited");
    assert!(keeps(&workspace, "b.py"), "an edited document keeps its tree");
    assert_eq!(workspace.document("b.py").expect("b").text(), "def f(x):\n    return x + 1\n");
    assert_eq!(workspace.document("b.py").expect("b").sexp(), parse("def f(x):\n    return x + 1\n").root_node().to_sexp());
    workspace.analyze_taint(&flowsight_engine::rules::RuleSet::builtin());
    assert!(!keeps(&workspace, "c.py") && keeps(&workspace, "a.py"), "analysis changes no document");
    workspace.update_file("a.py", "def f(x):\n    return x\n".to_string(), None);
    assert!(!keeps(&workspace, "a.py"), "the text on disk (closed) drops the tree");
    std::fs::remove_dir_all(&directory).expect("removed");
}

/// ARCHITECTURE.md's invariant: memory does not grow with the number of documents ever opened.
/// Only the `TREE_SITTER_TREES_KEPT` most recently opened or edited documents keep a tree-sitter
/// tree; editing one that let its tree go parses it from scratch, which gives the same tree and,
/// after analysis, the same findings as a workspace that never edited anything.
#[test]
fn only_the_most_recently_edited_documents_keep_a_tree_sitter_tree() {
    use flowsight_engine::line_index::Encoding;
    use flowsight_engine::parse::PositionEdit;
    use flowsight_engine::rules::RuleSet;
    use flowsight_engine::workspace::{Workspace, TREE_SITTER_TREES_KEPT};

    let root = std::path::Path::new("/nonexistent-flowsight-root");
    let opened = TREE_SITTER_TREES_KEPT + 4;
    let path = |index: usize| format!("app/view_{index}.py");
    let mut workspace = Workspace::new(root);
    for index in 0..opened {
        let text = format!("import os\nfrom flask import request\n\n\ndef view_{index}():\n    os.system(request.args['q'])\n");
        workspace.update_file(&path(index), text, Some(1));
    }
    let keeping = |workspace: &Workspace| -> Vec<usize> {
        (0..opened).filter(|&index| workspace.document(&path(index)).expect("opened").keeps_tree_sitter_tree()).collect()
    };
    assert_eq!(keeping(&workspace), (opened - TREE_SITTER_TREES_KEPT..opened).collect::<Vec<_>>(), "the most recently opened");
    let rules = RuleSet::builtin();
    assert_eq!(workspace.analyze_taint(&rules).len(), opened, "one finding per view");

    // A line added above each sink, the first (long evicted) document first: each edit keeps
    // the edited document's tree and lets the least recently edited one's go.
    let line_above = |text: &str| PositionEdit { range: Some(((5, 0), (5, 0))), new_text: format!("    label = {}\n", text.len()) };
    for index in 0..opened {
        let before = workspace.document(&path(index)).expect("opened").text().to_string();
        workspace.apply_edits(&path(index), 2, &[line_above(&before)], Encoding::Utf16).expect("edited");
        let kept = keeping(&workspace);
        assert!(kept.len() <= TREE_SITTER_TREES_KEPT && kept.contains(&index), "after editing {index}: {kept:?}");
        let document = workspace.document(&path(index)).expect("edited");
        assert_same_tree(&path(index), &parse_python(document.text(), None), document.tree());
    }
    // Editing a kept document again makes it the most recent: the next eviction takes another.
    let oldest = keeping(&workspace)[0];
    let text = workspace.document(&path(oldest)).expect("kept").text().to_string();
    workspace.apply_edits(&path(oldest), 3, &[line_above(&text)], Encoding::Utf16).expect("edited");
    workspace.update_file("app/extra.py", "x = 1\n".to_string(), Some(1));
    let kept = keeping(&workspace);
    assert!(kept.contains(&oldest) && !kept.contains(&(oldest + 1)), "{oldest} edited again, {} evicted: {kept:?}", oldest + 1);
    // Closing (the text on disk) and removing take documents out of those keeping a tree.
    workspace.update_file(&path(oldest), workspace.document(&path(oldest)).expect("kept").text().to_string(), None);
    workspace.remove_file("app/extra.py").expect("removed");
    assert!(keeping(&workspace).len() < TREE_SITTER_TREES_KEPT, "{:?}", keeping(&workspace));

    let findings = workspace.analyze_taint(&rules);
    let mut fresh = Workspace::new(root);
    for index in 0..opened {
        fresh.update_file(&path(index), workspace.document(&path(index)).expect("edited").text().to_string(), None);
    }
    assert_eq!(findings, fresh.analyze_taint(&rules), "edited and evicted documents analyse as fresh ones");
    assert_eq!(findings.len(), opened);
}

/// `assert_same_tree` for trees with nodes of very many children (its per-child sibling and
/// child lookups are quadratic there): every node's kind, range, counts, field and parent, each
/// child through both cursors, and for the children of a node with more than 1,000 a sample of
/// `child(i)`, `named_child(i)` and siblings.
fn assert_same_wide_tree(name: &str, expected: &tree_sitter::Tree, actual: &SyntaxTree) -> usize {
    assert_eq!(actual.root_node().to_sexp(), expected.root_node().to_sexp(), "{name}: to_sexp");
    let mut pending = vec![(expected.root_node(), actual.root_node())];
    let mut widest = 0;
    while let Some((want, got)) = pending.pop() {
        let at = format!("{name}: {want:?}");
        assert_eq!(signature_of(Some(got)), signature_of_ts(Some(want)), "{at}: node");
        assert_eq!(signature_of(got.parent()), signature_of_ts(want.parent()), "{at}: parent");
        assert_eq!(got.child_count(), want.child_count(), "{at}: child_count");
        assert_eq!(got.named_child_count(), want.named_child_count(), "{at}: named_child_count");
        assert_eq!(got.child(want.child_count()), None, "{at}: child past the end");
        assert_eq!(got.named_child(want.named_child_count() as u32), None, "{at}: named child past the end");
        widest = widest.max(want.child_count());
        let (mut want_cursor, mut got_cursor) = (want.walk(), got.walk());
        if want_cursor.goto_first_child() {
            assert!(got_cursor.goto_first_child(), "{at}: goto_first_child");
            loop {
                let (want_child, got_child) = (want_cursor.node(), got_cursor.node());
                assert_eq!(got_cursor.field_name(), want_cursor.field_name(), "{at}: cursor field_name");
                assert_eq!(got_child.field_name(), want_cursor.field_name(), "{at}: field in parent");
                pending.push((want_child, got_child));
                let moved = want_cursor.goto_next_sibling();
                assert_eq!(got_cursor.goto_next_sibling(), moved, "{at}: goto_next_sibling");
                if !moved {
                    break;
                }
            }
        }
        let named: Vec<_> = got.named_children(&mut got.walk()).map(|n| signature_of(Some(n))).collect();
        let want_named: Vec<_> = want.named_children(&mut want.walk()).map(|n| signature_of_ts(Some(n))).collect();
        assert_eq!(named, want_named, "{at}: named_children");
        if want.child_count() > 1_000 {
            let (count, named_count) = (want.child_count(), want.named_child_count() as u32);
            for i in [0, 1, count / 2, count - 2, count - 1] {
                let (want_child, got_child) = (want.child(i), got.child(i));
                assert_eq!(signature_of(got_child), signature_of_ts(want_child), "{at}: child({i})");
                let (want_child, got_child) = (want_child.expect("in range"), got_child.expect("in range"));
                assert_eq!(signature_of(got_child.next_sibling()), signature_of_ts(want_child.next_sibling()), "{at}: next_sibling({i})");
                assert_eq!(signature_of(got_child.prev_sibling()), signature_of_ts(want_child.prev_sibling()), "{at}: prev_sibling({i})");
            }
            for i in [0, 1, named_count / 2, named_count - 1] {
                assert_eq!(signature_of(got.named_child(i)), signature_of_ts(want.named_child(i)), "{at}: named_child({i})");
            }
            let end = want.end_byte() - 1;
            let (mut want_cursor, mut got_cursor) = (want.walk(), got.walk());
            assert_eq!(got_cursor.goto_first_child_for_byte(end), want_cursor.goto_first_child_for_byte(end), "{at}: child for {end}");
        }
    }
    widest as usize
}

/// A record holds 16-bit child counts; a node with 65,535 children or more keeps its counts
/// apart. Modules of 100,000, 65,535 and 65,534 statements and a list of 70,000 elements
/// (139,999 children, 70,000 of them named: `named_child` scans) answer as tree-sitter's.
#[test]
fn nodes_with_more_than_65535_children_convert_node_for_node() {
    let statements = |count: usize| (0..count).map(|i| format!("x{i} = {i}\n")).collect::<String>();
    let list = format!("y = [{}]\n", (0..70_000).map(|i| i.to_string()).collect::<Vec<_>>().join(", "));
    let cases = [
        ("100,000 statements", statements(100_000), 100_000),
        ("65,535 statements", statements(65_535), 65_535),
        ("65,534 statements", statements(65_534), 65_534),
        ("a list of 70,000 elements", list, 139_999 + 2),
    ];
    for (name, text, widest) in &cases {
        let (expected, actual) = (parse_python(text, None), parse(text));
        assert_eq!(assert_same_wide_tree(name, &expected, &actual), *widest, "{name}: the widest node's children");
        // Stored (counts whole) and read back: the wide counts survive.
        let records = actual.to_records().expect("no syntax errors: stored");
        let document = Document::from_records(text.clone(), &records).unwrap_or_else(|_| panic!("{name}: records refused"));
        assert_eq!(document.tree().to_records().as_deref(), Some(&records[..]), "{name}: records again");
        assert_eq!(assert_same_wide_tree(name, &expected, document.tree()), *widest, "{name}: read back");
    }
}
