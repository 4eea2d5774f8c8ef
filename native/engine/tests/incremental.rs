//! Property: incremental parsing and chunking equal a from-scratch build after every edit of a
//! random sequence, including sequences that leave the text broken in between.

mod common;

use flowsight_engine::line_index::Encoding;
use flowsight_engine::parse::{Document, PositionEdit};
use proptest::prelude::*;

const BASE: &str = "import os\n\nclass Handler:\n    \"\"\"Doc.\"\"\"\n    def get(self, request):\n        value = request.args[\"q\"]\n        return value\n\n\ndef helper(a, b=1):\n    if a:\n        return a + b\n    return b\n";

const PIECES: &[&str] = &[
    "def ",
    "class ",
    "(",
    ")",
    ":",
    "\n",
    "\n    ",
    "    ",
    "return x",
    "'",
    "\"\"\"",
    "#",
    "@dec\n",
    "😀",
    "中",
    "e\u{301}",
    "\r\n",
    "\r",
    "if x:\n    pass\n",
    "async def g():\n    await h()\n",
    "f'{x!r}'",
    "lambda: 0",
    "",
    "x = [1,\n",
    "]",
    "\t",
    "\0",
];

fn edit_strategy() -> impl Strategy<Value = (usize, usize, usize, usize, usize, bool)> {
    (0usize..200, 0usize..200, 0usize..40, 0..PIECES.len(), 0..PIECES.len(), any::<bool>())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, .. ProptestConfig::default() })]

    #[test]
    fn incremental_equals_from_scratch(edits in proptest::collection::vec(edit_strategy(), 1..15)) {
        let mut document = Document::new(BASE.to_string());
        for (line, column, _span, first, second, utf8) in edits {
            let encoding = if utf8 { Encoding::Utf8 } else { Encoding::Utf16 };
            let line = line % (document.line_index().line_count() + 1);
            let end_line = line + column % 3;
            let edit = PositionEdit {
                range: Some(((line, column % 30), (end_line, (column * 7) % 30))),
                new_text: format!("{}{}", PIECES[first], PIECES[second]),
            };
            let byte_edit = document.to_byte_edit(&edit, encoding);
            document.apply_edit(&byte_edit);
            document.reparse();
            let scratch = Document::new(document.text().to_string());
            prop_assert_eq!(document.sexp(), scratch.sexp());
            prop_assert_eq!(document.line_index(), scratch.line_index());
            prop_assert_eq!(common::chunks_of(&document, "pkg/m.py"), common::chunks_of(&scratch, "pkg/m.py"));
        }
    }
}

#[test]
fn several_edits_in_one_change_apply_in_order() {
    let mut document = Document::new("a = 1\nb = 2\n".to_string());
    for edit in [
        PositionEdit { range: Some(((0, 4), (0, 5))), new_text: "10".into() },
        // Against the text produced by the first edit: "a = 10".
        PositionEdit { range: Some(((0, 6), (0, 6))), new_text: " + 1".into() },
        PositionEdit { range: Some(((1, 0), (1, 1))), new_text: "c".into() },
    ] {
        let byte_edit = document.to_byte_edit(&edit, Encoding::Utf16);
        document.apply_edit(&byte_edit);
    }
    document.reparse();
    assert_eq!(document.text(), "a = 10 + 1\nc = 2\n");
    assert_eq!(document.sexp(), Document::new(document.text().to_string()).sexp());
}
