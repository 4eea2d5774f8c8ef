//! The compact, owned syntax tree every analysis walks: converted once from a tree-sitter tree
//! (one cursor walk, on the thread that parsed), after which the tree-sitter tree can be dropped.
//!
//! `Node<'t>` mirrors tree-sitter's `Node` for what the engine uses (same names, signatures and
//! answers), so code walks either the same way; `tests/syntax_tree.rs` checks the answers are
//! equal node by node on every fixture and on broken inputs.
//!
//! Layout and invariants:
//! - One record of 24 bytes per visible node (tree-sitter's hidden nodes are not kept): kind,
//!   field in the parent, flags, byte range, parent, and its children as one contiguous run of
//!   records (`first_child`, `child_count`), so `parent`, `child(i)` and siblings are O(1).
//!   Index 0 is the root. Child counts are 16 bits: a node with `WIDE` (65,535) or more
//!   children (a module of 100k statements, a literal of 70k elements) holds `WIDE` in both
//!   counts and its counts sit in `wide_counts`, sorted by record index.
//! - `named_child(i)` is O(1) when every child is named (blocks, modules), else a scan of the
//!   contiguous children.
//! - Rows and columns are not stored: they follow from the byte offset and the line starts of
//!   the text tree-sitter was shown (a row ends at each `\n`, columns count bytes), which is how
//!   tree-sitter's lexer counts them.
//! - `id()` is unique across all live trees, as tree-sitter's is: a serial per tree (a global
//!   counter) in the high 32 bits, the record's index in the low ones.
//! - The tree imports nothing from the stages: it sits at the syntax layer.

use std::fmt;
use std::num::NonZeroU16;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

pub use tree_sitter::Point;

/// No node (a parent of the root, a first child of a leaf).
const NONE: u32 = u32::MAX;

const NAMED: u8 = 1;
const ERROR: u8 = 2;
const MISSING: u8 = 4;
const HAS_ERROR: u8 = 8;
const EXTRA: u8 = 16;

/// Both child counts of a node with this many children or more: its counts are in
/// `SyntaxTree::wide_counts`.
const WIDE: u16 = u16::MAX;

/// One node. 24 bytes (checked by a test): a plain fixed-size record.
#[derive(Clone, Copy, Debug)]
struct Record {
    start: u32,
    end: u32,
    parent: u32,
    first_child: u32,
    /// The children, `WIDE` for `WIDE` or more.
    child_count: u16,
    /// The named children, `WIDE` when `child_count` is.
    named_child_count: u16,
    kind: u16,
    /// The grammar field this node fills in its parent (0: none).
    field: u8,
    flags: u8,
}

const EMPTY: Record =
    Record { start: 0, end: 0, parent: NONE, first_child: NONE, child_count: 0, named_child_count: 0, kind: 0, field: 0, flags: 0 };

/// The Python grammar's kind and field names, read once.
struct Grammar {
    kinds: Vec<&'static str>,
    /// Whether nodes of each kind are named (a node's `is_named` follows from its kind id: the
    /// grammar's public kind ids keep named and anonymous symbols apart).
    named: Vec<bool>,
    fields: Vec<&'static str>,
}

fn grammar() -> &'static Grammar {
    static GRAMMAR: OnceLock<Grammar> = OnceLock::new();
    GRAMMAR.get_or_init(|| {
        // Leaked once: the names then live for the program, as the grammar's own tables do.
        let language: &'static tree_sitter::Language = Box::leak(Box::new(tree_sitter::Language::from(tree_sitter_python::LANGUAGE)));
        let kinds = (0..language.node_kind_count() as u16).map(|id| language.node_kind_for_id(id).unwrap_or("")).collect();
        let named = (0..language.node_kind_count() as u16).map(|id| language.node_kind_is_named(id)).collect();
        let fields =
            (0..=language.field_count() as u16).map(|id| if id == 0 { "" } else { language.field_name_for_id(id).unwrap_or("") }).collect();
        Grammar { kinds, named, fields }
    })
}

/// tree-sitter's kind id of `ERROR` nodes.
const ERROR_KIND: u16 = u16::MAX;

/// Whether nodes of `kind` are named (`ERROR` nodes are).
fn kind_is_named(grammar: &Grammar, kind: u16) -> bool {
    grammar.named.get(kind as usize).copied().unwrap_or(kind == ERROR_KIND)
}

fn kind_name(kind: u16) -> &'static str {
    match kind {
        ERROR_KIND => "ERROR",
        _ => grammar().kinds.get(kind as usize).copied().unwrap_or(""),
    }
}

/// A fingerprint of the grammar's kind and field tables (names in id order): a stored tree is
/// used only by a build whose grammar numbers kinds and fields the same way.
pub fn grammar_fingerprint() -> u64 {
    static FINGERPRINT: OnceLock<u64> = OnceLock::new();
    *FINGERPRINT.get_or_init(|| {
        // FNV-1a over the names, each followed by a NUL, kinds then fields.
        let grammar = grammar();
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for name in grammar.kinds.iter().chain([&"\u{1}"]).chain(&grammar.fields) {
            for byte in name.bytes().chain([0]) {
                hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
            }
        }
        hash
    })
}

/// A grammar field's id for its name (`None`: the grammar has no such field).
pub fn field_id_for_name(name: &str) -> Option<NonZeroU16> {
    let index = grammar().fields.iter().position(|field| *field == name)?;
    NonZeroU16::new(index as u16)
}

/// A grammar field's name for its id.
pub fn field_name_for_id(id: u16) -> Option<&'static str> {
    grammar().fields.get(id as usize).copied().filter(|name| !name.is_empty())
}

static NEXT_SERIAL: AtomicU64 = AtomicU64::new(1);

/// An immutable syntax tree (see the module invariants).
pub struct SyntaxTree {
    /// This tree's serial, shifted into the high bits of every node's id.
    id_base: u64,
    nodes: Vec<Record>,
    /// Byte offsets where rows start (row 0 at 0); shared by the trees of one text (a
    /// document's recovered definitions: one per swallowed definition, each over the whole
    /// text, must not each hold a copy).
    line_starts: Arc<[u32]>,
    /// The first character of each `ERROR` leaf that covers text (tree-sitter prints it in
    /// `to_sexp`), by record index, sorted.
    error_characters: Vec<(u32, i32)>,
    /// (record index, child count, named child count) of each node with `WIDE` or more
    /// children, sorted.
    wide_counts: Vec<(u32, u32, u32)>,
}

impl fmt::Debug for SyntaxTree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{SyntaxTree {:?}}}", self.root_node())
    }
}

impl SyntaxTree {
    /// Converts a tree-sitter tree parsed from `input` (the bytes tree-sitter was shown).
    pub fn from_tree_sitter(tree: &tree_sitter::Tree, input: &[u8]) -> SyntaxTree {
        SyntaxTree::from_tree_sitter_with_lines(tree, input, line_starts(input))
    }

    /// `from_tree_sitter` with the text's `line_starts` computed once by the caller.
    ///
    /// Each node is asked once for what its record holds, through one cursor: its kind (which
    /// says whether it is named or an `ERROR`), range, extra flag, child counts and field.
    /// Whether it is missing or holds an error is asked only in a tree whose root holds an
    /// error: error costs add up towards the root, so below a root without one no node is
    /// missing or holds an error.
    pub fn from_tree_sitter_with_lines(tree: &tree_sitter::Tree, input: &[u8], line_starts: Arc<[u32]>) -> SyntaxTree {
        let serial = NEXT_SERIAL.fetch_add(1, Ordering::Relaxed);
        let grammar = grammar();
        let root = tree.root_node();
        let has_errors = root.has_error();
        let mut nodes: Vec<Record> = Vec::with_capacity(root.descendant_count());
        let mut error_characters = Vec::new();
        let mut wide_counts = Vec::new();
        // Writes the record of the cursor's node at `index`; returns its child count.
        let mut record = |nodes: &mut [Record], cursor: &tree_sitter::TreeCursor<'_>, field: u8, parent: u32, index: u32| -> u32 {
            let node = cursor.node();
            let kind = node.kind_id();
            let (start, end) = (node.start_byte(), node.end_byte());
            let count = node.child_count();
            let mut flags = 0;
            if kind_is_named(grammar, kind) {
                flags |= NAMED;
            }
            if node.is_extra() {
                flags |= EXTRA;
            }
            if kind == ERROR_KIND {
                flags |= ERROR;
                if count == 0 && end > start {
                    error_characters.push((index, first_character(input.get(start..).unwrap_or_default())));
                }
            }
            if has_errors {
                if node.is_missing() {
                    flags |= MISSING;
                }
                if node.has_error() {
                    flags |= HAS_ERROR;
                }
            }
            let named = if count == 0 { 0 } else { node.named_child_count() as u32 };
            let (child_count, named_child_count) = if count >= u32::from(WIDE) {
                wide_counts.push((index, count, named));
                (WIDE, WIDE)
            } else {
                (count as u16, named as u16)
            };
            nodes[index as usize] = Record {
                start: start as u32,
                end: end as u32,
                parent,
                first_child: NONE,
                child_count,
                named_child_count,
                kind,
                field,
                flags,
            };
            count
        };
        let mut cursor = tree.walk();
        nodes.push(EMPTY);
        let mut count = record(&mut nodes, &cursor, 0, NONE, 0);
        let mut current = 0;
        // Below the root, each node on the cursor's path: its record index and the end of its
        // siblings' run (the cursor is not asked for a sibling after the last child: a failed
        // move first searches the hidden nodes above it, then restores its position).
        let mut path: Vec<(u32, u32)> = Vec::new();
        'walk: loop {
            if count > 0 && cursor.goto_first_child() {
                let first = nodes.len() as u32;
                nodes[current as usize].first_child = first;
                nodes.resize(nodes.len() + count as usize, Record { parent: current, ..EMPTY });
                path.push((first, first + count));
                let field = cursor.field_id().map_or(0, |field| field.get() as u8);
                count = record(&mut nodes, &cursor, field, current, first);
                current = first;
                continue;
            }
            while let Some((last, siblings_end)) = path.last_mut() {
                if *last + 1 < *siblings_end && cursor.goto_next_sibling() {
                    *last += 1;
                    current = *last;
                    let parent = nodes[current as usize].parent;
                    let field = cursor.field_id().map_or(0, |field| field.get() as u8);
                    count = record(&mut nodes, &cursor, field, parent, current);
                    continue 'walk;
                }
                cursor.goto_parent();
                path.pop();
            }
            break;
        }
        nodes.shrink_to_fit();
        error_characters.sort_unstable();
        wide_counts.sort_unstable();
        SyntaxTree { id_base: serial << 32, nodes, line_starts, error_characters, wide_counts }
    }

    pub fn root_node(&self) -> Node<'_> {
        Node { tree: self, index: 0 }
    }

    pub fn walk(&self) -> TreeCursor<'_> {
        self.root_node().walk()
    }

    /// How many nodes the tree holds.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Bytes this tree holds on the heap; line starts shared by n trees count 1/n in each.
    pub fn heap_bytes(&self) -> usize {
        self.nodes.capacity() * std::mem::size_of::<Record>()
            + self.line_starts.len() * 4 / Arc::strong_count(&self.line_starts)
            + self.error_characters.capacity() * std::mem::size_of::<(u32, i32)>()
            + self.wide_counts.capacity() * std::mem::size_of::<(u32, u32, u32)>()
    }

    /// The child count and named child count of the record at `index`.
    fn wide_counts_of(&self, index: u32) -> (u32, u32) {
        self.wide_counts
            .binary_search_by_key(&index, |&(at, _, _)| at)
            .map_or((0, 0), |at| (self.wide_counts[at].1, self.wide_counts[at].2))
    }

    fn child_count_at(&self, index: u32) -> u32 {
        match self.nodes[index as usize].child_count {
            WIDE => self.wide_counts_of(index).0,
            count => u32::from(count),
        }
    }

    fn named_child_count_at(&self, index: u32) -> u32 {
        match self.nodes[index as usize].named_child_count {
            WIDE => self.wide_counts_of(index).1,
            count => u32::from(count),
        }
    }

    fn point(&self, offset: u32) -> Point {
        let row = self.line_starts.partition_point(|&start| start <= offset).saturating_sub(1);
        Point { row, column: (offset - self.line_starts[row]) as usize }
    }
}

/// Bytes of one stored record in `SyntaxTree::to_records` (its counts whole, as u32: not the
/// in-memory `Record`'s layout).
pub const RECORD_BYTES: usize = 28;

impl SyntaxTree {
    /// The records of a tree without syntax errors, `RECORD_BYTES` little-endian bytes each, stored
    /// as byte planes (byte k of every record, then byte k + 1: the same field's bytes of nearby
    /// nodes side by side, which zstd compresses ~40 % smaller than whole records) — what the
    /// scan's cache stores (`persist::trees`); None for a tree with an `ERROR` or `MISSING` node
    /// (its recovered definitions and error characters are not stored: it is parsed).
    pub fn to_records(&self) -> Option<Vec<u8>> {
        if self.root_node().has_error() || !self.error_characters.is_empty() {
            return None;
        }
        let count = self.nodes.len();
        let mut bytes = vec![0u8; count * RECORD_BYTES];
        for (index, record) in self.nodes.iter().enumerate() {
            let mut row = [0u8; RECORD_BYTES];
            // The counts are stored whole (u32): a wide node's are in `wide_counts`.
            let (children, named) = (self.child_count_at(index as u32), self.named_child_count_at(index as u32));
            for (at, value) in [record.start, record.end, record.parent, record.first_child, children, named].into_iter().enumerate() {
                row[at * 4..at * 4 + 4].copy_from_slice(&value.to_le_bytes());
            }
            row[24..26].copy_from_slice(&record.kind.to_le_bytes());
            row[26] = record.field;
            row[27] = record.flags;
            for (plane, byte) in row.into_iter().enumerate() {
                bytes[plane * count + index] = byte;
            }
        }
        Some(bytes)
    }

    /// The tree `to_records` wrote, over a text of `text_len` bytes whose rows (as tree-sitter
    /// was shown it) start at `line_starts`. Validating: any bytes that are not a consistent
    /// tree without syntax errors give `Err` (one line), never a panic — a known kind and field
    /// per node, only the named and extra flags, byte ranges within the text, the root first,
    /// each node's parent before it, every non-root node inside its parent's run of children
    /// and the runs partitioning the nodes, and each named-children count exact.
    pub fn from_records(bytes: &[u8], text_len: usize, line_starts: Arc<[u32]>) -> Result<SyntaxTree, &'static str> {
        if bytes.is_empty() || !bytes.len().is_multiple_of(RECORD_BYTES) {
            return Err("not a whole number of records");
        }
        let count = bytes.len() / RECORD_BYTES;
        if count >= NONE as usize || text_len > u32::MAX as usize {
            return Err("too large");
        }
        let grammar = grammar();
        let word =
            |record: &[u8; RECORD_BYTES], at: usize| u32::from_le_bytes([record[at], record[at + 1], record[at + 2], record[at + 3]]);
        let mut nodes: Vec<Record> = Vec::with_capacity(count);
        // Each node's whole counts (children, named children): a record keeps `WIDE` for
        // `WIDE` or more, and the counts then go to `wide_counts`.
        let mut counts: Vec<(u32, u32)> = Vec::with_capacity(count);
        let mut wide_counts = Vec::new();
        // Named children counted per parent, compared with each parent's stored count at the end.
        let mut named = vec![0u32; count];
        for index in 0..count {
            let record: [u8; RECORD_BYTES] = std::array::from_fn(|plane| bytes[plane * count + index]);
            let (child_count, named_child_count) = (word(&record, 16), word(&record, 20));
            let narrow = |value: u32| if value >= u32::from(WIDE) { WIDE } else { value as u16 };
            let record = Record {
                start: word(&record, 0),
                end: word(&record, 4),
                parent: word(&record, 8),
                first_child: word(&record, 12),
                child_count: narrow(child_count),
                named_child_count: if child_count >= u32::from(WIDE) { WIDE } else { narrow(named_child_count) },
                kind: u16::from_le_bytes([record[24], record[25]]),
                field: record[26],
                flags: record[27],
            };
            let index = index as u32;
            if usize::from(record.kind) >= grammar.kinds.len() || usize::from(record.field) >= grammar.fields.len() {
                return Err("unknown kind or field");
            }
            if record.flags & !(NAMED | EXTRA) != 0 {
                return Err("syntax error flags");
            }
            if record.start > record.end || record.end as usize > text_len {
                return Err("byte range outside the text");
            }
            if child_count == 0 {
                if record.first_child != NONE || named_child_count != 0 {
                    return Err("children of a leaf");
                }
            } else if record.first_child <= index
                || u64::from(record.first_child) + u64::from(child_count) > count as u64
                || named_child_count > child_count
            {
                return Err("children out of bounds");
            }
            if index == 0 {
                if record.parent != NONE || record.field != 0 {
                    return Err("the root has a parent");
                }
            } else {
                let (Some(parent), Some(&(parent_children, _))) = (nodes.get(record.parent as usize), counts.get(record.parent as usize))
                else {
                    return Err("a parent after its child");
                };
                if parent_children == 0 || index < parent.first_child || index >= parent.first_child + parent_children {
                    return Err("a node outside its parent's children");
                }
                if record.flags & NAMED != 0 {
                    named[record.parent as usize] += 1;
                }
            }
            if child_count >= u32::from(WIDE) {
                wide_counts.push((index, child_count, named_child_count));
            }
            nodes.push(record);
            counts.push((child_count, named_child_count));
        }
        if counts.iter().zip(&named).any(|(&(_, stored), &counted)| stored != counted) {
            return Err("named children miscounted");
        }
        // Every non-root node lies in its parent's run: with as many children as non-root
        // nodes, no run overlaps another.
        if counts.iter().map(|&(children, _)| u64::from(children)).sum::<u64>() != count as u64 - 1 {
            return Err("overlapping children");
        }
        if line_starts.first() != Some(&0) {
            return Err("line starts");
        }
        let serial = NEXT_SERIAL.fetch_add(1, Ordering::Relaxed);
        // Pushed in index order: sorted, as `wide_counts_of` searches it.
        Ok(SyntaxTree { id_base: serial << 32, nodes, line_starts, error_characters: Vec::new(), wide_counts })
    }
}

/// Byte offsets where the rows of `input` start (row 0 at 0).
pub fn line_starts(input: &[u8]) -> Arc<[u32]> {
    std::iter::once(0).chain(memchr::memchr_iter(b'\n', input).map(|at| at as u32 + 1)).collect()
}

/// The character tree-sitter's lexer reads at the start of `bytes` (`-1`: none or invalid).
fn first_character(bytes: &[u8]) -> i32 {
    let length = match bytes.first() {
        None => return -1,
        Some(&b) if b < 0x80 => 1,
        Some(&b) if b >= 0xF0 => 4,
        Some(&b) if b >= 0xE0 => 3,
        Some(_) => 2,
    };
    bytes.get(..length).and_then(|prefix| std::str::from_utf8(prefix).ok()).and_then(|text| text.chars().next()).map_or(-1, |c| c as i32)
}

/// A node of a `SyntaxTree`: a tree reference and an index, `Copy`.
#[derive(Clone, Copy)]
pub struct Node<'t> {
    tree: &'t SyntaxTree,
    index: u32,
}

impl PartialEq for Node<'_> {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.tree, other.tree) && self.index == other.index
    }
}

impl Eq for Node<'_> {}

impl std::hash::Hash for Node<'_> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.id().hash(state);
    }
}

impl fmt::Debug for Node<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (start, end) = (self.start_position(), self.end_position());
        write!(f, "{{Node {} ({}, {}) - ({}, {})}}", self.kind(), start.row, start.column, end.row, end.column)
    }
}

impl<'t> Node<'t> {
    fn record(&self) -> &'t Record {
        &self.tree.nodes[self.index as usize]
    }

    fn at(&self, index: u32) -> Node<'t> {
        Node { tree: self.tree, index }
    }

    fn flag(&self, flag: u8) -> bool {
        self.record().flags & flag != 0
    }

    /// Unique among the nodes of all live trees.
    pub fn id(&self) -> usize {
        (self.tree.id_base | u64::from(self.index)) as usize
    }

    pub fn kind_id(&self) -> u16 {
        self.record().kind
    }

    pub fn kind(&self) -> &'static str {
        kind_name(self.record().kind)
    }

    pub fn is_named(&self) -> bool {
        self.flag(NAMED)
    }

    pub fn is_error(&self) -> bool {
        self.flag(ERROR)
    }

    pub fn is_missing(&self) -> bool {
        self.flag(MISSING)
    }

    pub fn is_extra(&self) -> bool {
        self.flag(EXTRA)
    }

    pub fn has_error(&self) -> bool {
        self.flag(HAS_ERROR)
    }

    pub fn start_byte(&self) -> usize {
        self.record().start as usize
    }

    pub fn end_byte(&self) -> usize {
        self.record().end as usize
    }

    pub fn byte_range(&self) -> std::ops::Range<usize> {
        self.start_byte()..self.end_byte()
    }

    pub fn start_position(&self) -> Point {
        self.tree.point(self.record().start)
    }

    pub fn end_position(&self) -> Point {
        self.tree.point(self.record().end)
    }

    pub fn parent(&self) -> Option<Node<'t>> {
        let parent = self.record().parent;
        (parent != NONE).then(|| self.at(parent))
    }

    pub fn child_count(&self) -> u32 {
        self.tree.child_count_at(self.index)
    }

    pub fn named_child_count(&self) -> usize {
        self.tree.named_child_count_at(self.index) as usize
    }

    pub fn child(&self, i: u32) -> Option<Node<'t>> {
        (i < self.child_count()).then(|| self.at(self.record().first_child + i))
    }

    pub fn named_child(&self, i: u32) -> Option<Node<'t>> {
        let named_child_count = self.tree.named_child_count_at(self.index);
        if i >= named_child_count {
            return None;
        }
        if named_child_count == self.child_count() {
            return Some(self.at(self.record().first_child + i));
        }
        self.child_indices().filter(|&index| self.tree.nodes[index as usize].flags & NAMED != 0).nth(i as usize).map(|index| self.at(index))
    }

    fn sibling_range(&self) -> Option<std::ops::Range<u32>> {
        Some(self.parent()?.child_indices())
    }

    fn child_indices(&self) -> std::ops::Range<u32> {
        match self.child_count() {
            0 => 0..0,
            count => self.record().first_child..self.record().first_child + count,
        }
    }

    /// The children in order. The cursor is not needed (kept for tree-sitter's signature).
    pub fn children<'c>(&self, _cursor: &'c mut TreeCursor<'t>) -> impl ExactSizeIterator<Item = Node<'t>> + 'c + use<'c, 't> {
        let node = *self;
        self.child_indices().map(move |index| node.at(index))
    }

    /// The named children in order.
    pub fn named_children<'c>(&self, _cursor: &'c mut TreeCursor<'t>) -> impl Iterator<Item = Node<'t>> + 'c + use<'c, 't> {
        let node = *self;
        self.child_indices().filter(move |&index| node.tree.nodes[index as usize].flags & NAMED != 0).map(move |index| node.at(index))
    }

    /// The children filling the grammar field `field_name`, in order.
    pub fn children_by_field_name<'c>(
        &self,
        field_name: &str,
        cursor: &'c mut TreeCursor<'t>,
    ) -> impl Iterator<Item = Node<'t>> + 'c + use<'c, 't> {
        let field = field_id_for_name(field_name).map_or(0, |id| id.get());
        self.children_by_field_id_or_none(field, cursor)
    }

    /// The children filling the grammar field `field_id`, in order.
    pub fn children_by_field_id<'c>(
        &self,
        field_id: NonZeroU16,
        cursor: &'c mut TreeCursor<'t>,
    ) -> impl Iterator<Item = Node<'t>> + 'c + use<'c, 't> {
        self.children_by_field_id_or_none(field_id.get(), cursor)
    }

    fn children_by_field_id_or_none<'c>(
        &self,
        field: u16,
        _cursor: &'c mut TreeCursor<'t>,
    ) -> impl Iterator<Item = Node<'t>> + 'c + use<'c, 't> {
        let node = *self;
        let indices = if field == 0 { 0..0 } else { self.child_indices() };
        indices.filter(move |&index| u16::from(node.tree.nodes[index as usize].field) == field).map(move |index| node.at(index))
    }

    pub fn child_by_field_name(&self, field_name: impl AsRef<[u8]>) -> Option<Node<'t>> {
        let name = std::str::from_utf8(field_name.as_ref()).ok()?;
        self.child_by_field_id(field_id_for_name(name)?.get())
    }

    /// The first child filling the field. Unlike tree-sitter, never a grandchild: tree-sitter
    /// also answers a field an aliased hidden child passes up from its own children (a
    /// `match_statement`'s `alternative` is a `case_clause` inside its body `block`).
    pub fn child_by_field_id(&self, field_id: u16) -> Option<Node<'t>> {
        if field_id == 0 {
            return None;
        }
        self.child_indices().find(|&index| u16::from(self.tree.nodes[index as usize].field) == field_id).map(|index| self.at(index))
    }

    /// The grammar field this node fills in its parent.
    pub fn field_id(&self) -> Option<NonZeroU16> {
        NonZeroU16::new(u16::from(self.record().field))
    }

    pub fn field_name(&self) -> Option<&'static str> {
        field_name_for_id(u16::from(self.record().field))
    }

    /// The next sibling as tree-sitter finds it: by position, the first later sibling that ends
    /// after this node and starts after it (at it, for an empty node), so an empty sibling
    /// where this node ends is skipped.
    pub fn next_sibling(&self) -> Option<Node<'t>> {
        self.later_sibling(false)
    }

    /// The previous sibling as tree-sitter finds it: the last earlier sibling before the first
    /// one reaching this node's end.
    pub fn prev_sibling(&self) -> Option<Node<'t>> {
        self.earlier_sibling(false)
    }

    pub fn next_named_sibling(&self) -> Option<Node<'t>> {
        self.later_sibling(true)
    }

    pub fn prev_named_sibling(&self) -> Option<Node<'t>> {
        self.earlier_sibling(true)
    }

    fn later_sibling(&self, named_only: bool) -> Option<Node<'t>> {
        let siblings = self.sibling_range()?;
        let this = self.record();
        let is_empty = this.start == this.end;
        (self.index + 1..siblings.end)
            .find(|&index| {
                let sibling = &self.tree.nodes[index as usize];
                let starts_later = if is_empty { sibling.start >= this.start } else { sibling.start > this.start };
                sibling.end > this.end && starts_later && (!named_only || sibling.flags & NAMED != 0)
            })
            .map(|index| self.at(index))
    }

    fn earlier_sibling(&self, named_only: bool) -> Option<Node<'t>> {
        let siblings = self.sibling_range()?;
        let this = self.record();
        let is_empty = this.start == this.end;
        let mut found = None;
        for index in siblings.start..self.index {
            let sibling = &self.tree.nodes[index as usize];
            if sibling.end > this.end || (sibling.end == this.end && !is_empty) {
                break;
            }
            if !named_only || sibling.flags & NAMED != 0 {
                found = Some(index);
            }
        }
        found.map(|index| self.at(index))
    }

    /// The smallest node holding `start..end`, as tree-sitter finds it: descending into the
    /// first child that ends at or after `end` and starts at or before `start` (an empty child
    /// may end at `start`, another must end after it).
    pub fn descendant_for_byte_range(&self, start: usize, end: usize) -> Option<Node<'t>> {
        if start > end {
            return None;
        }
        let mut node = *self;
        'descend: loop {
            for index in node.child_indices() {
                let child = self.tree.nodes[index as usize];
                let (child_start, child_end) = (child.start as usize, child.end as usize);
                if child_end < end {
                    continue;
                }
                let is_empty = child_start == child_end;
                if if is_empty { child_end < start } else { child_end <= start } {
                    continue;
                }
                if start < child_start {
                    break;
                }
                node = node.at(index);
                continue 'descend;
            }
            return Some(node);
        }
    }

    pub fn walk(&self) -> TreeCursor<'t> {
        TreeCursor { tree: self.tree, root: self.index, current: self.index }
    }

    pub fn utf8_text<'a>(&self, source: &'a [u8]) -> Result<&'a str, std::str::Utf8Error> {
        std::str::from_utf8(&source[self.start_byte()..self.end_byte()])
    }

    /// The node as an S-expression, exactly as tree-sitter writes it: named and missing nodes,
    /// fields, `UNEXPECTED` error leaves.
    pub fn to_sexp(&self) -> String {
        let mut out = String::new();
        // (node, inherited field name, closing) frames: iterative, trees may be deep.
        let mut stack: Vec<(Node<'t>, Option<&'static str>, bool)> = vec![(*self, None, false)];
        let mut is_root = true;
        while let Some((node, inherited, closing)) = stack.pop() {
            if closing {
                out.push(')');
                continue;
            }
            let shown = node.is_named() || node.is_missing();
            if shown {
                if !is_root {
                    out.push(' ');
                    if let Some(field) = node.field_name().or(inherited) {
                        out.push_str(field);
                        out.push_str(": ");
                    }
                }
                if node.is_error() && node.child_count() == 0 && node.end_byte() > node.start_byte() {
                    out.push_str("(UNEXPECTED ");
                    let character = self
                        .tree
                        .error_characters
                        .binary_search_by_key(&node.index, |&(index, _)| index)
                        .map_or(-1, |at| self.tree.error_characters[at].1);
                    write_character(&mut out, character);
                } else if node.is_missing() {
                    out.push_str("(MISSING ");
                    if node.is_named() {
                        out.push_str(node.kind());
                    } else {
                        out.push('"');
                        out.push_str(node.kind());
                        out.push('"');
                    }
                } else {
                    out.push('(');
                    out.push_str(node.kind());
                }
                stack.push((node, None, true));
            } else if is_root {
                if node.child_count() > 0 {
                    out.push('(');
                    out.push_str(node.kind());
                } else {
                    out.push_str(&format!("(\"{}\")", node.kind()));
                }
            }
            is_root = false;
            // A node not shown passes its field to its children (tree-sitter's writer does).
            let passed = if shown { None } else { node.field_name().or(inherited) };
            for index in node.child_indices().rev() {
                let child = node.at(index);
                stack.push((child, if child.is_extra() { None } else { passed }, false));
            }
        }
        out
    }
}

/// tree-sitter's rendering of an unexpected character.
fn write_character(out: &mut String, character: i32) {
    match character {
        -1 => out.push_str("INVALID"),
        0 => out.push_str("'\\0'"),
        0x0A => out.push_str("'\\n'"),
        0x09 => out.push_str("'\\t'"),
        0x0D => out.push_str("'\\r'"),
        c if (0x20..0x7F).contains(&c) => {
            out.push('\'');
            out.push(c as u8 as char);
            out.push('\'');
        }
        c => out.push_str(&c.to_string()),
    }
}

/// A cursor over a `SyntaxTree`, confined to the subtree of the node it started from (as
/// tree-sitter's is).
#[derive(Clone)]
pub struct TreeCursor<'t> {
    tree: &'t SyntaxTree,
    root: u32,
    current: u32,
}

impl<'t> TreeCursor<'t> {
    pub fn node(&self) -> Node<'t> {
        Node { tree: self.tree, index: self.current }
    }

    pub fn reset(&mut self, node: Node<'t>) {
        self.tree = node.tree;
        self.root = node.index;
        self.current = node.index;
    }

    /// The field the current node fills in its parent (`None` at the cursor's start node).
    pub fn field_id(&self) -> Option<NonZeroU16> {
        if self.current == self.root {
            return None;
        }
        self.node().field_id()
    }

    pub fn field_name(&self) -> Option<&'static str> {
        self.field_id().and_then(|id| field_name_for_id(id.get()))
    }

    pub fn goto_first_child(&mut self) -> bool {
        let record = &self.tree.nodes[self.current as usize];
        if record.child_count == 0 {
            return false;
        }
        self.current = record.first_child;
        true
    }

    pub fn goto_parent(&mut self) -> bool {
        if self.current == self.root {
            return false;
        }
        self.current = self.tree.nodes[self.current as usize].parent;
        true
    }

    pub fn goto_next_sibling(&mut self) -> bool {
        if self.current == self.root {
            return false;
        }
        let next = self.current + 1;
        match self.node().sibling_range() {
            Some(siblings) if next < siblings.end => {
                self.current = next;
                true
            }
            _ => false,
        }
    }

    /// Moves to the first child that ends after `byte`; returns its index among the children.
    pub fn goto_first_child_for_byte(&mut self, byte: usize) -> Option<usize> {
        let node = self.node();
        let (position, index) = node.child_indices().enumerate().find(|&(_, index)| self.tree.nodes[index as usize].end as usize > byte)?;
        self.current = index;
        Some(position)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_24_bytes_and_a_tree_holds_little_else() {
        assert_eq!(std::mem::size_of::<Record>(), 24);
        let text = "def f(a, b):\n    return g(a)[b] + h(*a, **b)\n\n\nclass C(B):\n    x: int = 1\n".repeat(200);
        let tree = crate::parse::parse(&text);
        assert!(tree.node_count() > 10_000);
        let per_node = tree.heap_bytes() as f64 / tree.node_count() as f64;
        assert!(per_node < 26.0, "{per_node:.1} bytes per node");
    }
}
