//! Parsing with tree-sitter-python, from scratch or incrementally.
//!
//! Invariants:
//! - Parsing never fails on user code: broken syntax yields a tree with `ERROR`/`MISSING`
//!   nodes, never an error or a panic.
//! - After `Document::apply_edit` + `Document::reparse`, `text`, `line_index` and `tree`
//!   describe the same text, and the tree equals a from-scratch parse of that text
//!   (checked by `tests/incremental.rs`). Where tree-sitter's error recovery could make an
//!   incremental tree differ from a fresh one (the old or the new tree holds syntax errors),
//!   the document is re-parsed from scratch instead.
//! - NUL bytes never reach tree-sitter (its lexer treats them as end of input): they are parsed
//!   as spaces. A lone `\r` (a line break for CPython, which tree-sitter-python's lexer does not
//!   know) is parsed as `\n`. Both keep every byte offset valid, and tree rows are LSP lines.
//! - Every tree the stages walk is a `SyntaxTree`, converted right after parsing on the thread
//!   that parsed. A document keeps its tree-sitter tree only while it is edited (created by
//!   `Document::editable`, an editor's open document, or once `apply_edit` touched it) so the
//!   next edit re-parses incrementally; a document made by `Document::new` (a file read from
//!   disk) holds none, and an edit to it re-parses from scratch. Its owner may let the tree go
//!   at any time (`forget_tree_sitter_tree`: the workspace keeps trees only for the
//!   `TREE_SITTER_TREES_KEPT` most recently edited documents); the next edit then re-parses
//!   from scratch, giving the same tree. A tree-sitter tree no longer
//!   needed is freed right away, or, for a text of `FREED_APART_FROM_BYTES` or more parsed
//!   on a rayon pool, by another task of that pool (the parsing thread does not wait for it).

use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::Mutex;

use tree_sitter::{InputEdit, Language, Parser, Range, Tree};

use crate::line_index::{is_lone_cr, Encoding, LineIndex};
use crate::syntax::tree::{Node, SyntaxTree};

pub fn python_language() -> Language {
    tree_sitter_python::LANGUAGE.into()
}

thread_local! {
    /// Whether this thread was started with a large stack (`mark_large_stack`).
    static LARGE_STACK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Says that this thread has a large stack (the engine's pools: `index::WORKER_STACK_BYTES`),
/// so work that recurses per nesting of its input or of its callees may go deeper on it.
pub fn mark_large_stack() {
    LARGE_STACK.with(|large| large.set(true));
}

/// Whether `mark_large_stack` was called on this thread.
pub fn on_large_stack() -> bool {
    LARGE_STACK.with(std::cell::Cell::get)
}

thread_local! {
    static PARSER: RefCell<Parser> = RefCell::new({
        let mut parser = Parser::new();
        parser
            .set_language(&python_language())
            .expect("the bundled tree-sitter-python grammar matches the tree-sitter ABI");
        parser
    });
}

/// The bytes tree-sitter is shown for `text`: the same length, NUL as a space, a lone `\r` as `\n`.
fn tree_sitter_input(text: &str) -> Cow<'_, [u8]> {
    let bytes = text.as_bytes();
    let needs_change = memchr::memchr(0, bytes).is_some() || memchr::memchr_iter(b'\r', bytes).any(|index| is_lone_cr(bytes, index));
    if !needs_change {
        return Cow::Borrowed(bytes);
    }
    let shown = bytes
        .iter()
        .enumerate()
        .map(|(index, &b)| match b {
            0 => b' ',
            b'\r' if is_lone_cr(bytes, index) => b'\n',
            _ => b,
        })
        .collect();
    Cow::Owned(shown)
}

/// Parses `text` into a `SyntaxTree` (no tree-sitter tree is kept).
pub fn parse(text: &str) -> SyntaxTree {
    let mut clock = steps::Clock::start();
    let shown = tree_sitter_input(text);
    let parsed = parse_shown(&shown, None);
    clock.lap(steps::TREE_SITTER);
    let tree = SyntaxTree::from_tree_sitter(&parsed, &shown);
    clock.lap(steps::CONVERSION);
    free_tree_sitter_tree(parsed, text.len());
    clock.lap(steps::FREEING);
    tree
}

/// CPU time of each step of parsing, summed over threads (each step on its thread's clock),
/// once a caller enabled it (a scan with `FLOWSIGHT_DEBUG_ANALYSIS`); nothing is read otherwise.
pub mod steps {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

    pub const TREE_SITTER: usize = 0;
    pub const CONVERSION: usize = 1;
    pub const FREEING: usize = 2;
    pub const RECOVERY: usize = 3;
    pub const LINE_INDEX: usize = 4;
    pub const PROBLEMS: usize = 5;
    /// Reading, checking and decoding stored trees, and writing them (`persist::trees`).
    pub const STORED_TREES: usize = 6;
    /// Reading the file, when the parse reads it (a scan without cache: `scan::parse_files`).
    pub const READ: usize = 7;
    pub const NAMES: [&str; 8] = ["tree-sitter", "conversion", "freeing", "recovery", "line index", "problems", "stored trees", "read"];

    static NANOS: [AtomicU64; 8] = [const { AtomicU64::new(0) }; 8];
    static ENABLED: AtomicBool = AtomicBool::new(false);

    /// Steps are timed from now on.
    pub fn enable() {
        ENABLED.store(true, Ordering::Relaxed);
    }

    fn now() -> u64 {
        let time = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
        time.tv_sec as u64 * 1_000_000_000 + time.tv_nsec as u64
    }

    /// A thread CPU clock when debugging, nothing otherwise.
    pub struct Clock(Option<u64>);

    impl Clock {
        pub fn start() -> Clock {
            Clock(ENABLED.load(Ordering::Relaxed).then(now))
        }

        /// Adds the time since the last lap to `step`.
        pub fn lap(&mut self, step: usize) {
            if let Some(last) = self.0 {
                let current = now();
                NANOS[step].fetch_add(current - last, Ordering::Relaxed);
                self.0 = Some(current);
            }
        }
    }

    /// Seconds per step so far.
    pub fn seconds() -> Vec<(&'static str, f64)> {
        NAMES.iter().zip(&NANOS).map(|(name, nanos)| (*name, nanos.load(Ordering::Relaxed) as f64 * 1e-9)).collect()
    }
}

/// Texts from this size on have their tree-sitter tree freed on another thread of the pool
/// parsing them: freeing walks every node (~0.06 s of one core for a 2 MB module), and the
/// caller waits for the thread that parsed.
const FREED_APART_FROM_BYTES: usize = 256 * 1024;

/// Drops `tree` (of a `len`-byte text): a big one on the current rayon pool, after this thread
/// moved on; a small one, or one parsed outside any pool (where no pool thread may exist),
/// right here.
fn free_tree_sitter_tree(tree: Tree, len: usize) {
    if len >= FREED_APART_FROM_BYTES && rayon::current_thread_index().is_some() {
        rayon::spawn(move || drop(tree));
    } else {
        drop(tree);
    }
}

/// Parses `text` with tree-sitter, reusing `old_tree` (already `edit`ed to match `text`) when
/// given. Only `Document` keeps such a tree; everything else walks `parse`'s `SyntaxTree`.
pub fn parse_python(text: &str, old_tree: Option<&Tree>) -> Tree {
    parse_shown(&tree_sitter_input(text), old_tree)
}

fn parse_shown(input: &[u8], old_tree: Option<&Tree>) -> Tree {
    PARSER.with(|parser| {
        let mut parser = parser.borrow_mut();
        match parser.parse(input, old_tree) {
            Some(tree) => tree,
            // Only possible after a cancelled or timed-out parse; we set neither, but a fresh
            // parse is the safe answer.
            None => {
                parser.reset();
                parser.parse(input, None).expect("tree-sitter parses without timeout or cancellation")
            }
        }
    })
}

/// Starts of lines within `node` (not its first line) that begin a top-level definition.
fn definition_line_starts(text: &str, node: Node<'_>) -> Vec<usize> {
    let bytes = text.as_bytes();
    let (start, end) = (node.start_byte(), node.end_byte().min(bytes.len()));
    let mut starts = Vec::new();
    for i in start..end {
        if bytes[i] != b'\n' || i + 1 >= end {
            continue;
        }
        let line = &bytes[i + 1..end];
        if [&b"def "[..], b"class ", b"async def ", b"@"].iter().any(|keyword| line.starts_with(keyword)) {
            starts.push(i + 1);
        }
    }
    starts
}

fn starts_a_definition(root: Node<'_>, offset: usize) -> bool {
    let mut node = root.descendant_for_byte_range(offset, offset);
    while let Some(current) = node {
        if current.start_byte() != offset {
            return false;
        }
        if matches!(current.kind(), "function_definition" | "class_definition" | "decorated_definition") {
            return true;
        }
        node = current.parent();
    }
    false
}

/// Error recovery beyond tree-sitter's: when a top-level `ERROR` node swallowed the code after
/// a syntax error, each following top-level definition (a line starting with `def`, `class`,
/// `async def` or `@` at column 0) is parsed on its own, over the same text (included ranges,
/// so byte offsets stay those of the document). Returns one tree per recovered segment.
pub fn recover_definitions(text: &str, tree: &SyntaxTree) -> Vec<SyntaxTree> {
    let trees = recover_tree_sitter_definitions(text, tree);
    if trees.is_empty() {
        return Vec::new();
    }
    let input = tree_sitter_input(text);
    let lines = crate::syntax::tree::line_starts(&input);
    trees.iter().map(|recovered| SyntaxTree::from_tree_sitter_with_lines(recovered, &input, lines.clone())).collect()
}

/// `recover_definitions` as tree-sitter trees (what they are converted from; for tests).
pub fn recover_tree_sitter_definitions(text: &str, tree: &SyntaxTree) -> Vec<Tree> {
    let root = tree.root_node();
    if !root.has_error() {
        return Vec::new();
    }
    let mut segments: Vec<(usize, usize)> = Vec::new();
    let mut cursor = root.walk();
    for child in root.children(&mut cursor).filter(|child| child.is_error()) {
        let starts: Vec<usize> = definition_line_starts(text, child).into_iter().filter(|&s| !starts_a_definition(root, s)).collect();
        for (i, &start) in starts.iter().enumerate() {
            let end = starts.get(i + 1).copied().unwrap_or(child.end_byte());
            segments.push((start, end));
        }
    }
    if segments.is_empty() {
        return Vec::new();
    }
    // One index for every segment: a scan from the start of the text per segment made a large
    // file that an early error swallowed quadratic (5,600 definitions in 1.2 MB: seconds).
    let lines = LineIndex::new(text);
    let input = tree_sitter_input(text);
    PARSER.with(|parser| {
        let mut parser = parser.borrow_mut();
        let trees = segments
            .into_iter()
            .filter_map(|(start, end)| {
                let range = Range {
                    start_byte: start,
                    end_byte: end,
                    start_point: lines.tree_sitter_point(start),
                    end_point: lines.tree_sitter_point(end),
                };
                parser.set_included_ranges(&[range]).ok()?;
                parser.parse(&input, None)
            })
            .collect();
        let _ = parser.set_included_ranges(&[]);
        parser.reset();
        trees
    })
}

/// `Document::editing` borrowed alone (the text stays readable meanwhile).
fn kept_tree_mut(editing: &mut Mutex<Option<Tree>>) -> &mut Option<Tree> {
    editing.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One edit in byte offsets of the text it applies to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ByteEdit {
    pub start: usize,
    pub old_end: usize,
    pub new_text: String,
}

/// An edit in (line, column) positions, LSP style. `range == None` replaces the whole text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PositionEdit {
    pub range: Option<((usize, usize), (usize, usize))>,
    pub new_text: String,
}

/// A parsed source text with its line index.
pub struct Document {
    text: String,
    tree: SyntaxTree,
    /// Definitions recovered from top-level `ERROR` nodes (`recover_definitions`).
    recovered: Vec<SyntaxTree>,
    line_index: LineIndex,
    /// The tree-sitter tree `tree` was converted from, kept only while the document is edited
    /// (see the module invariants); `edit`ed along with the text until the next `reparse`.
    /// Behind a lock so that its owner can let it go while the document is shared
    /// (`forget_tree_sitter_tree`, the workspace's most-recently-edited policy); uncontended.
    editing: Mutex<Option<Tree>>,
    /// Set by `apply_edit` until the next `reparse`: the tree has been edited but not reparsed.
    tree_is_stale: bool,
    /// Whether the tree before the pending edits held syntax errors.
    edited_tree_had_errors: bool,
}

impl Document {
    /// A document nobody edits yet (a file read from disk): no tree-sitter tree is kept.
    pub fn new(text: String) -> Document {
        let tree = parse(&text);
        Document::with_tree(text, tree, None)
    }

    /// A document nobody edits from the records `SyntaxTree::to_records` wrote for a parse of
    /// exactly this text (the caller knows it by the text's hash: the scan's stored trees,
    /// `persist::trees`), without parsing. Equal to `Document::new(text)`; records that are not
    /// a valid tree for this text give the text back.
    pub fn from_records(text: String, records: &[u8]) -> std::result::Result<Document, String> {
        let lines = crate::syntax::tree::line_starts(&tree_sitter_input(&text));
        match SyntaxTree::from_records(records, text.len(), lines) {
            Ok(tree) => Ok(Document::with_tree(text, tree, None)),
            Err(_) => Err(text),
        }
    }

    /// A document an editor edits: its tree-sitter tree is kept for incremental re-parsing.
    pub fn editable(text: String) -> Document {
        let shown = tree_sitter_input(&text);
        let editing = parse_shown(&shown, None);
        let tree = SyntaxTree::from_tree_sitter(&editing, &shown);
        drop(shown);
        Document::with_tree(text, tree, Some(editing))
    }

    fn with_tree(text: String, tree: SyntaxTree, editing: Option<Tree>) -> Document {
        let mut clock = steps::Clock::start();
        let recovered = recover_definitions(&text, &tree);
        clock.lap(steps::RECOVERY);
        let line_index = LineIndex::new(&text);
        clock.lap(steps::LINE_INDEX);
        Document { text, tree, recovered, line_index, editing: Mutex::new(editing), tree_is_stale: false, edited_tree_had_errors: false }
    }

    /// Whether the document holds a tree-sitter tree (it is being edited).
    pub fn keeps_tree_sitter_tree(&self) -> bool {
        self.kept_tree().is_some()
    }

    /// Stops keeping the tree-sitter tree (the document is no longer among those being
    /// edited): the compact tree, text and everything built on them stay as they are; the next
    /// edit parses from scratch and keeps the new tree. Returns whether a tree was dropped.
    pub fn forget_tree_sitter_tree(&self) -> bool {
        let forgotten = self.kept_tree().take();
        let dropped = forgotten.is_some();
        if let Some(tree) = forgotten {
            free_tree_sitter_tree(tree, self.text.len());
        }
        dropped
    }

    /// The kept tree-sitter tree (a poisoned lock still holds a whole tree: it is only ever
    /// replaced or taken as a whole).
    fn kept_tree(&self) -> std::sync::MutexGuard<'_, Option<Tree>> {
        self.editing.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn tree(&self) -> &SyntaxTree {
        debug_assert!(!self.tree_is_stale, "reparse() after apply_edit()");
        &self.tree
    }

    pub fn recovered(&self) -> &[SyntaxTree] {
        &self.recovered
    }

    pub fn line_index(&self) -> &LineIndex {
        &self.line_index
    }

    pub fn root(&self) -> Node<'_> {
        self.tree().root_node()
    }

    /// Converts a position edit against the current text into byte offsets (clamped).
    pub fn to_byte_edit(&self, edit: &PositionEdit, encoding: Encoding) -> ByteEdit {
        match edit.range {
            None => ByteEdit { start: 0, old_end: self.text.len(), new_text: edit.new_text.clone() },
            Some(((start_line, start_col), (end_line, end_col))) => {
                let a = self.line_index.offset(&self.text, start_line, start_col, encoding);
                let b = self.line_index.offset(&self.text, end_line, end_col, encoding);
                // A reversed range is treated as the range between its two ends.
                ByteEdit { start: a.min(b), old_end: a.max(b), new_text: edit.new_text.clone() }
            }
        }
    }

    /// Applies one edit to the text and to the tree (not yet reparsed: call `reparse`).
    /// Offsets are clamped to the text and moved back to character boundaries.
    pub fn apply_edit(&mut self, edit: &ByteEdit) {
        let clamp = |offset: usize| {
            let mut offset = offset.min(self.text.len());
            while !self.text.is_char_boundary(offset) {
                offset -= 1;
            }
            offset
        };
        let mut start = clamp(edit.start);
        let old_end = clamp(edit.old_end).max(start);
        let mut new_text = Cow::Borrowed(edit.new_text.as_str());
        if start > 0 && self.text.as_bytes()[start - 1] == b'\r' {
            // What tree-sitter is shown for a `\r` depends on the byte after it (`\n` for a
            // lone one): the edit covers the `\r` before it, so that byte changes inside it.
            start -= 1;
            new_text = Cow::Owned(format!("\r{}", edit.new_text));
        }
        if !self.tree_is_stale {
            self.edited_tree_had_errors = self.tree.root_node().has_error();
        }
        // The index is the current text's until the text changes (no scan from its start).
        let start_position = self.line_index.tree_sitter_point(start);
        let old_end_position = self.line_index.tree_sitter_point(old_end);
        self.text.replace_range(start..old_end, &new_text);
        // The next edit's positions refer to this text: the index must follow every edit.
        self.line_index = LineIndex::new(&self.text);
        let new_end = start + new_text.len();
        let new_end_position = self.line_index.tree_sitter_point(new_end);
        if let Some(tree) = kept_tree_mut(&mut self.editing) {
            tree.edit(&InputEdit {
                start_byte: start,
                old_end_byte: old_end,
                new_end_byte: new_end,
                start_position,
                old_end_position,
                new_end_position,
            });
        }
        self.tree_is_stale = true;
    }

    /// Re-parses after `apply_edit`s, incrementally when that is known to be exact.
    pub fn reparse(&mut self) {
        if !self.tree_is_stale {
            return;
        }
        let shown = tree_sitter_input(&self.text);
        // Without a kept tree (a document read from disk) the parse is from scratch; the
        // document is being edited from now on, so it keeps the new tree.
        let had_errors = self.edited_tree_had_errors;
        let tree = match kept_tree_mut(&mut self.editing).as_ref() {
            Some(old) if !had_errors => {
                let incremental = parse_shown(&shown, Some(old));
                if incremental.root_node().has_error() {
                    parse_shown(&shown, None)
                } else {
                    incremental
                }
            }
            _ => parse_shown(&shown, None),
        };
        self.tree = SyntaxTree::from_tree_sitter(&tree, &shown);
        drop(shown);
        if let Some(old) = kept_tree_mut(&mut self.editing).replace(tree) {
            free_tree_sitter_tree(old, self.text.len());
        }
        self.recovered = recover_definitions(&self.text, &self.tree);
        self.tree_is_stale = false;
    }

    /// Replaces the whole text (a fresh parse; an edited document stays editable).
    pub fn replace(&mut self, text: String) {
        *self = if self.keeps_tree_sitter_tree() { Document::editable(text) } else { Document::new(text) };
    }

    /// The tree as an S-expression (for tests and debugging).
    pub fn sexp(&self) -> String {
        self.root().to_sexp()
    }
}

/// The first syntax error of a tree, as (byte offset, description), found without recursion.
pub fn first_syntax_error(tree: &SyntaxTree) -> Option<(usize, String)> {
    let root = tree.root_node();
    if !root.has_error() {
        return None;
    }
    let mut cursor = root.walk();
    loop {
        let node = cursor.node();
        if node.is_error() {
            return Some((node.start_byte(), "invalid syntax".to_string()));
        }
        if node.is_missing() {
            return Some((node.start_byte(), format!("missing `{}`", node.kind())));
        }
        // Descend only into subtrees that contain an error.
        if node.has_error() && cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return Some((root.start_byte(), "invalid syntax".to_string()));
            }
        }
    }
}

/// One syntax error in byte offsets of its document: an outermost `ERROR` node or a `MISSING` one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxErrorSpan {
    pub start: usize,
    pub end: usize,
    pub message: String,
}

/// The syntax errors of a tree in document order, at most `limit` of them, found without
/// recursion: each outermost `ERROR` node (nothing inside it) and each `MISSING` node.
pub fn syntax_errors(tree: &SyntaxTree, limit: usize) -> Vec<SyntaxErrorSpan> {
    let root = tree.root_node();
    let mut errors = Vec::new();
    if !root.has_error() || limit == 0 {
        return errors;
    }
    let mut cursor = root.walk();
    'walk: loop {
        let node = cursor.node();
        let found = if node.is_missing() {
            Some(format!("missing `{}`", node.kind()))
        } else if node.is_error() {
            Some("invalid syntax".to_string())
        } else {
            None
        };
        if let Some(message) = found {
            errors.push(SyntaxErrorSpan { start: node.start_byte(), end: node.end_byte(), message });
            if errors.len() == limit {
                break 'walk;
            }
        } else if node.has_error() && cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                continue 'walk;
            }
            if !cursor.goto_parent() {
                break 'walk;
            }
        }
    }
    if errors.is_empty() {
        // `has_error` without an ERROR or MISSING node below: report the root, as
        // `first_syntax_error` does.
        errors.push(SyntaxErrorSpan { start: root.start_byte(), end: root.start_byte(), message: "invalid syntax".to_string() });
    }
    errors
}

/// Counts `ERROR` and `MISSING` nodes (iteratively; only subtrees holding errors are visited).
pub fn syntax_error_count(tree: &SyntaxTree) -> usize {
    let root = tree.root_node();
    if !root.has_error() {
        return 0;
    }
    let mut count = 0;
    let mut cursor = root.walk();
    'walk: loop {
        let node = cursor.node();
        if node.is_error() || node.is_missing() {
            count += 1;
        }
        if node.has_error() && !node.is_missing() && cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                continue 'walk;
            }
            if !cursor.goto_parent() {
                break 'walk;
            }
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incremental_edit_matches_fresh_parse() {
        let mut doc = Document::new("def f(a):\n    return a\n\nx = f(1)\n".to_string());
        let edit = doc.to_byte_edit(&PositionEdit { range: Some(((3, 6), (3, 7))), new_text: "42".into() }, Encoding::Utf16);
        doc.apply_edit(&edit);
        doc.reparse();
        assert_eq!(doc.text(), "def f(a):\n    return a\n\nx = f(42)\n");
        assert_eq!(doc.sexp(), Document::new(doc.text().to_string()).sexp());
    }

    #[test]
    fn broken_code_parses_with_error_nodes() {
        let doc = Document::new("def f(:\n    return\nclass C:\n    pass\n".to_string());
        assert!(doc.root().has_error());
        let (offset, _) = first_syntax_error(doc.tree()).unwrap();
        assert!(offset < 10);
        assert!(syntax_error_count(doc.tree()) >= 1);
    }

    #[test]
    fn syntax_errors_are_listed_in_order_outermost_only_and_bounded() {
        let text = "def f(:\n    return\n\nx = (1,\ny = 2\nprint(\"ok\")\n";
        let doc = Document::new(text.to_string());
        let errors = syntax_errors(doc.tree(), 100);
        assert!(!errors.is_empty());
        // In document order, none inside another (outermost ERROR nodes only).
        assert!(errors.windows(2).all(|pair| pair[0].end <= pair[1].start), "{errors:?}");
        assert!(errors[0].start < 10, "{errors:?}");
        assert_eq!(syntax_errors(doc.tree(), 1).len(), 1);
        assert!(syntax_errors(Document::new("x = 1\n".to_string()).tree(), 100).is_empty());
        let missing = Document::new("print((1)\n".to_string());
        assert!(syntax_errors(missing.tree(), 100).iter().any(|e| e.message.starts_with("missing") || e.message == "invalid syntax"));
    }

    #[test]
    fn definitions_swallowed_by_an_unclosed_bracket_are_recovered_sharing_one_line_index() {
        // Typing `os.system(` into a large module: tree-sitter's top-level ERROR swallows every
        // definition after it, each recovered as a tree of its own. Each tree once held the
        // whole text's line starts: 5,600 definitions in 1.2 MB took 1.7 GB and 4.7 s per edit.
        let definition = "\ndef handler(value):\n    total = value + 1\n    if total > 10:\n        return total * 2\n    return total\n\n";
        let text = format!("def typed():\n    os.system(cz\n{}", definition.repeat(3000));
        let document = Document::new(text.clone());
        assert_eq!(document.recovered().len(), 3000);
        assert!(document
            .recovered()
            .iter()
            .all(|tree| tree.root_node().named_child(0).is_some_and(|node| node.kind() == "function_definition")));
        let bytes: usize = document.recovered().iter().map(SyntaxTree::heap_bytes).sum();
        let lines = text.lines().count();
        assert!(bytes < 3000 * 2048 + lines * 4, "{bytes} bytes for 3,000 recovered definitions");
    }

    #[test]
    fn nul_bytes_do_not_end_the_input() {
        let doc = Document::new("x = 1\0\ndef after():\n    pass\n".to_string());
        assert!(doc.sexp().contains("function_definition"));
    }

    #[test]
    fn lone_carriage_returns_end_lines_as_in_cpython() {
        let text = "import os\rdef f():\r    x = 1\r\n    return x\r";
        let doc = Document::new(text.to_string());
        assert!(!doc.root().has_error(), "{}", doc.sexp());
        assert_eq!(doc.sexp(), Document::new("import os\ndef f():\n    x = 1\r\n    return x\n".to_string()).sexp());
        // Rows are LSP lines: `return` is on line 3 (from 0).
        let offset = text.find("return").unwrap();
        let node = doc.root().descendant_for_byte_range(offset, offset).unwrap();
        assert_eq!(node.start_position().row, 3);
        assert_eq!(crate::line_index::tree_sitter_point(text.as_bytes(), offset), node.start_position());
    }

    #[test]
    fn edits_that_make_or_break_a_crlf_match_a_fresh_parse() {
        // Inserting `\n` after a lone `\r` turns it into half of `\r\n`, and deleting it back.
        let mut doc = Document::new("x = 1\ry = 2\r".to_string());
        for (start, old_end, new_text, expected) in
            [(6, 6, "\n", "x = 1\r\ny = 2\r"), (6, 7, "", "x = 1\ry = 2\r"), (5, 6, "", "x = 1y = 2\r"), (5, 5, "\r", "x = 1\ry = 2\r")]
        {
            doc.apply_edit(&ByteEdit { start, old_end, new_text: new_text.to_string() });
            doc.reparse();
            assert_eq!(doc.text(), expected);
            assert_eq!(doc.sexp(), Document::new(expected.to_string()).sexp(), "after {expected:?}");
        }
    }
}
