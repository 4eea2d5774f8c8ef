//! Code search through the `Workspace`: an update is searchable at once, a deleted chunk is
//! gone, hits carry the chunks' current lines, and the index after any edit sequence matches
//! the same queries as an index built from the final texts.

use flowsight_engine::chunks::ChunkKind;
use flowsight_engine::lexical::SearchMode;
use flowsight_engine::line_index::Encoding;
use flowsight_engine::parse::PositionEdit;
use flowsight_engine::workspace::{Hit, Workspace};
use proptest::prelude::*;

fn workspace(files: &[(&str, &str)]) -> Workspace {
    let mut workspace = Workspace::new(std::path::Path::new("/nonexistent/repo"));
    for (path, text) in files {
        workspace.update_file(path, text.to_string(), Some(1));
    }
    workspace
}

fn search(workspace: &mut Workspace, query: &str) -> Vec<Hit> {
    workspace.search(query, 20, SearchMode::Text).expect("search")
}

fn names(hits: &[Hit]) -> Vec<&str> {
    hits.iter().map(|hit| hit.qualified_name.as_str()).collect()
}

fn insert(workspace: &mut Workspace, path: &str, version: i64, line: usize, text: &str) {
    let edit = PositionEdit { range: Some(((line, 0), (line, 0))), new_text: text.to_string() };
    workspace.apply_edits(path, version, &[edit], Encoding::Utf16).expect("edit applies");
}

const BILLING: &str = "\
def charge(card, amount):
    \"\"\"Charges a card.\"\"\"
    return gateway.send(card, amount)
";

#[test]
fn an_edit_is_searchable_at_once() {
    let mut workspace = workspace(&[("billing.py", BILLING)]);
    assert!(search(&mut workspace, "refund_payment").is_empty());
    insert(&mut workspace, "billing.py", 2, 3, "\ndef refund_payment(card):\n    return gateway.refund(card)\n");
    let hits = search(&mut workspace, "refund_payment");
    assert_eq!(names(&hits)[0], "billing.refund_payment");
    assert_eq!((hits[0].kind, hits[0].start_line, hits[0].end_line), (ChunkKind::Function, 5, 6));
    // The body's words too, and the docstring's.
    assert_eq!(names(&search(&mut workspace, "gateway refund"))[0], "billing.refund_payment");
    assert_eq!(names(&search(&mut workspace, "charges"))[0], "billing.charge");
}

#[test]
fn deleted_and_renamed_chunks_are_gone() {
    let mut workspace = workspace(&[("billing.py", BILLING), ("other.py", "def charge_later():\n    pass\n")]);
    assert_eq!(names(&search(&mut workspace, "charge")), ["billing.charge", "other.charge_later"]);
    workspace.remove_file("billing.py").expect("known file");
    assert_eq!(names(&search(&mut workspace, "charge")), ["other.charge_later"]);
    // A rename: the old name's chunk is removed, the new one added.
    let edit = PositionEdit { range: Some(((0, 4), (0, 16))), new_text: "bill_later".to_string() };
    workspace.apply_edits("other.py", 2, &[edit], Encoding::Utf8).expect("edit applies");
    let stale = search(&mut workspace, "charge");
    assert!(stale.is_empty(), "{stale:?}");
    assert_eq!(names(&search(&mut workspace, "bill_later")), ["other.bill_later"]);
}

#[test]
fn hits_carry_current_lines_of_moved_chunks() {
    let mut workspace = workspace(&[("billing.py", BILLING)]);
    assert_eq!(search(&mut workspace, "charge")[0].start_line, 1);
    // Lines inserted above: `charge` keeps its id and hash (not re-indexed) but moves.
    insert(&mut workspace, "billing.py", 2, 0, "import gateway\n\n\n");
    let hit = &search(&mut workspace, "charge")[0];
    assert_eq!((hit.qualified_name.as_str(), hit.start_line, hit.end_line), ("billing.charge", 4, 6));
}

#[test]
fn an_exact_identifier_ranks_first() {
    let text = "\
class ChatControllerTests:
    def test_chat_controller(self):
        assert ChatController().chat_controller()

class ChatController:
    def chat_controller(self):
        return self.chat

class Chat:
    controller = None
";
    let mut workspace = workspace(&[("tests/test_chat.py", text), ("chat.py", text)]);
    let hits = search(&mut workspace, "chatcontroller");
    assert_eq!((hits[0].qualified_name.as_str(), hits[0].path.as_str()), ("chat.ChatController", "chat.py"));
    let symbols = workspace.search("ChatCont", 5, SearchMode::Symbols).expect("search");
    assert_eq!(names(&symbols)[..3], ["chat.ChatController", "chat.ChatControllerTests", "tests.test_chat.ChatController"]);
}

#[test]
fn files_that_fail_to_load_leave_no_documents() {
    let mut workspace = workspace(&[("gone.py", BILLING)]);
    assert_eq!(search(&mut workspace, "charge").len(), 1);
    // Reading a file that does not exist on disk empties it.
    workspace.load_file("gone.py");
    assert!(search(&mut workspace, "charge").is_empty());
    assert_eq!(workspace.search_documents(), 0);
}

#[test]
fn a_function_under_a_broken_class_header_is_found_by_its_body_after_edits() {
    // `class Handle` lacks its colon; `get` is parsed inside the top-level error and again in
    // the definitions recovered from `class` on: it must be one chunk, whose own text is its body.
    let broken = "import os\nclass Handle\nx\n    \"\"\"Doc.\"\"\"\n    def get(self):\n        return helper\n";
    let mut live = workspace(&[("m.py", broken)]);
    assert_eq!(names(&search(&mut live, "helper")), ["m.get"]);
    // Without the import nothing is recovered; `get` keeps its id and hash, so it is not re-indexed.
    let edit = PositionEdit { range: Some(((0, 0), (1, 0))), new_text: String::new() };
    live.apply_edits("m.py", 2, &[edit], Encoding::Utf16).expect("edit applies");
    let mut scratch = workspace(&[("m.py", live.document("m.py").expect("file").text())]);
    assert_eq!(matches(&mut live, "helper", SearchMode::Text), matches(&mut scratch, "helper", SearchMode::Text));
    assert_eq!(names(&search(&mut live, "helper")), ["m.get"]);
}

#[test]
fn code_that_stops_being_part_of_a_definition_is_found_in_the_code_around_it() {
    // After the syntax errors, the return is `handler`'s body; the comment added below makes
    // tree-sitter's recovery end `handler` at its header. The module code around it keeps its
    // text (id and hash), but its own text now holds the return.
    let broken = "def\ndef handler(=1):\n    return helper\n";
    let mut live = workspace(&[("m.py", broken)]);
    assert_eq!(names(&search(&mut live, "helper")), ["m.handler"]);
    insert(&mut live, "m.py", 2, 3, "# def");
    let mut scratch = workspace(&[("m.py", live.document("m.py").expect("file").text())]);
    assert_eq!(names(&search(&mut scratch, "helper")), ["m.<module>"]);
    assert_eq!(matches(&mut live, "helper", SearchMode::Text), matches(&mut scratch, "helper", SearchMode::Text));
}

#[test]
fn a_class_header_read_differently_is_searched_as_read() {
    // Inserting `)def ` after the class makes tree-sitter's recovery read `Handler`'s header up
    // to the last colon of its text: same text and hash, another signature (and no docstring).
    let text = "im#\n\n\nclass Handler:\n    \"\"\"Doc.\"\"\"\n    def get(self, request):\n        value\n    def    :\n\n\n\ndef helper():\n    return 1\n";
    let mut live = workspace(&[("m.py", text)]);
    assert_eq!(names(&search(&mut live, "get value")), ["m.Handler.get"]);
    insert(&mut live, "m.py", 2, 8, ")def ");
    let mut scratch = workspace(&[("m.py", live.document("m.py").expect("file").text())]);
    assert_eq!(names(&search(&mut scratch, "get value")), ["m.Handler.get", "m.Handler"]);
    assert_eq!(matches(&mut live, "get value", SearchMode::Text), matches(&mut scratch, "get value", SearchMode::Text));
}

const BASE: &str = "import os\n\nclass Handler:\n    \"\"\"Handles requests.\"\"\"\n    def get(self, request):\n        value = request.args[\"q\"]\n        return value\n\n\ndef helper(a, b=1):\n    # add them up\n    if a:\n        return a + b\n    return b\n";

const PIECES: &[&str] = &[
    "def ",
    "class ",
    "(",
    ")",
    ":",
    "\n",
    "\n    ",
    "return x",
    "'",
    "\"\"\"",
    "#",
    "@dec\n",
    "helper",
    "Handler",
    "getValue",
    "中",
    "\r\n",
    "if x:\n    pass\n",
    "request",
    "",
];

const QUERIES: &[&str] = &["helper", "handler", "get value", "request", "add", "x", "def", "Handler.get", "中"];

/// Ids of every match of `query`, sorted.
fn matches(workspace: &mut Workspace, query: &str, mode: SearchMode) -> Vec<String> {
    let mut ids: Vec<String> = workspace.search(query, 10_000, mode).expect("search").into_iter().map(|hit| hit.chunk_id).collect();
    ids.sort();
    ids
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    /// Scores may differ (deleted documents count in BM25 statistics until merged); the set of
    /// matches may not.
    #[test]
    fn incremental_index_matches_from_scratch(edits in proptest::collection::vec((0usize..20, 0usize..40, 0..PIECES.len(), 0..PIECES.len(), any::<bool>()), 1..10)) {
        let mut live = workspace(&[("pkg/m.py", BASE), ("pkg/other.py", "def helper2():\n    return 1\n")]);
        // Built before the edits, so every edit goes through the index's diff updates.
        live.prepare_search().expect("index");
        for (version, (line, column, first, second, search_between)) in edits.into_iter().enumerate() {
            let edit = PositionEdit {
                range: Some(((line, column % 30), (line + column % 2, (column * 7) % 30))),
                new_text: format!("{}{}", PIECES[first], PIECES[second]),
            };
            live.apply_edits("pkg/m.py", version as i64 + 2, &[edit], Encoding::Utf16).expect("edit applies");
            if search_between {
                let _ = live.search("helper", 5, SearchMode::Text).expect("search");
            }
        }
        let text = live.document("pkg/m.py").expect("file").text().to_string();
        let mut scratch = workspace(&[("pkg/m.py", &text), ("pkg/other.py", "def helper2():\n    return 1\n")]);
        for query in QUERIES {
            for mode in [SearchMode::Text, SearchMode::Symbols] {
                prop_assert_eq!(matches(&mut live, query, mode), matches(&mut scratch, query, mode), "{:?} {:?} over {:?}", query, mode, text);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    /// An index built from a snapshot while the workspace changes (edits, a file removed, a
    /// file added) and then installed matches the same queries as one built from the final texts.
    #[test]
    fn an_index_built_off_the_workspace_catches_up_on_install(edits in proptest::collection::vec((0usize..20, 0usize..40, 0..PIECES.len(), 0..PIECES.len()), 0..6), drop_other in any::<bool>()) {
        let mut live = workspace(&[("pkg/m.py", BASE), ("pkg/other.py", "def helper2():\n    return 1\n")]);
        let snapshot = live.search_snapshot().expect("no index yet");
        for (version, (line, column, first, second)) in edits.into_iter().enumerate() {
            let edit = PositionEdit {
                range: Some(((line, column % 30), (line + column % 2, (column * 7) % 30))),
                new_text: format!("{}{}", PIECES[first], PIECES[second]),
            };
            live.apply_edits("pkg/m.py", version as i64 + 2, &[edit], Encoding::Utf16).expect("edit applies");
        }
        if drop_other {
            live.remove_file("pkg/other.py").expect("known file");
        }
        live.update_file("pkg/late.py", "def late_handler(request):\n    return request\n".to_string(), Some(1));
        prop_assert!(live.install_search_index(snapshot.build().expect("built")).expect("installed"));
        prop_assert!(live.search_snapshot().is_none(), "an installed index needs no snapshot");
        let text = live.document("pkg/m.py").expect("file").text().to_string();
        let mut files = vec![("pkg/m.py", text.as_str()), ("pkg/late.py", "def late_handler(request):\n    return request\n")];
        if !drop_other {
            files.push(("pkg/other.py", "def helper2():\n    return 1\n"));
        }
        let mut scratch = workspace(&files);
        for query in QUERIES.iter().chain(&["late_handler"]) {
            for mode in [SearchMode::Text, SearchMode::Symbols] {
                prop_assert_eq!(matches(&mut live, query, mode), matches(&mut scratch, query, mode), "{:?} {:?} over {:?}", query, mode, text);
            }
        }
    }
}

#[test]
fn a_snapshot_index_is_not_installed_over_an_existing_one() {
    let mut live = workspace(&[("billing.py", BILLING)]);
    let snapshot = live.search_snapshot().expect("no index yet");
    insert(&mut live, "billing.py", 2, 3, "\ndef refund_payment(card):\n    return gateway.refund(card)\n");
    assert_eq!(names(&search(&mut live, "refund_payment"))[0], "billing.refund_payment"); // builds its own
    assert!(!live.install_search_index(snapshot.build().expect("built")).expect("no error"));
    assert_eq!(names(&search(&mut live, "refund_payment"))[0], "billing.refund_payment");
}
