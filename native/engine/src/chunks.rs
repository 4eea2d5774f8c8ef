//! ChunkBuilder: the hierarchy repository → module → class → function/method (nested too),
//! module-level code runs, and fragments of oversized chunks. See docs/CONTRACTS.md.
//!
//! Invariants:
//! - A chunk's id depends only on (repository, path, kind, qualified name, disambiguator); the
//!   disambiguator is the ordinal among the file's chunks with the same kind and qualified name
//!   in document order (pre-order), so ids are unique within a file. Ids never depend on line
//!   numbers or on the order files arrive in.
//! - A chunk's content hash depends only on its own text modulo line endings, trailing
//!   whitespace and common indentation: moving or re-indenting a chunk keeps its hash.
//! - The walk is iterative and visits only statement containers, so deeply nested code cannot
//!   overflow the stack and expressions cost nothing.
//! - Output order is pre-order: a parent before its children, siblings in document order.
//! - One chunk per definition: one that the tree holds is not chunked again from the trees of
//!   definitions recovered after syntax errors (`parse::recover_definitions`), which may hold it
//!   too. (A duplicate would also take its twin's text out of the twin's own text in the index.)

use std::borrow::Cow;
use std::collections::HashMap;

use crate::syntax::tree::{Node, SyntaxTree, TreeCursor};
use sha2::{Digest, Sha256};

use crate::line_index::LineIndex;
use crate::syntax::may_contain_definition;
pub use crate::syntax::{module_name, MAX_STATEMENT_DEPTH};

/// Chunks whose text is longer than this many bytes are split into fragments.
pub const FRAGMENT_BUDGET_BYTES: usize = 2000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChunkKind {
    Repository,
    Module,
    Class,
    Function,
    Method,
    ModuleCode,
    Fragment,
}

impl ChunkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChunkKind::Repository => "repository",
            ChunkKind::Module => "module",
            ChunkKind::Class => "class",
            ChunkKind::Function => "function",
            ChunkKind::Method => "method",
            ChunkKind::ModuleCode => "module_code",
            ChunkKind::Fragment => "fragment",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chunk {
    pub id: String,
    pub parent_id: Option<String>,
    pub kind: ChunkKind,
    pub path: String,
    pub qualified_name: String,
    pub start_byte: usize,
    pub end_byte: usize,
    /// 1-based, inclusive.
    pub start_line: usize,
    /// 1-based, inclusive: the line holding the chunk's last byte.
    pub end_line: usize,
    pub signature: String,
    pub docstring: Option<String>,
    pub content_hash: String,
}

/// First 32 hex digits of SHA-256 over the identity tuple (docs/CONTRACTS.md).
pub fn chunk_id(repository: &str, path: &str, kind: ChunkKind, qualified_name: &str, disambiguator: usize) -> String {
    ChunkIds::new(repository, path).id(kind, qualified_name, disambiguator)
}

/// `chunk_id` for many chunks of one file: the hash state after the shared
/// `repository\0path\0` prefix is computed once.
struct ChunkIds {
    prefix: Sha256,
}

impl ChunkIds {
    fn new(repository: &str, path: &str) -> ChunkIds {
        let mut prefix = Sha256::new();
        prefix.update(b"flowsight-chunk-v1\0");
        for part in [repository, path] {
            prefix.update(part.as_bytes());
            prefix.update(b"\0");
        }
        ChunkIds { prefix }
    }

    fn id(&self, kind: ChunkKind, qualified_name: &str, disambiguator: usize) -> String {
        let mut hasher = self.prefix.clone();
        for part in [kind.as_str(), qualified_name] {
            hasher.update(part.as_bytes());
            hasher.update(b"\0");
        }
        // The disambiguator in decimal.
        let mut digits = [0u8; 20];
        let mut start = digits.len();
        let mut value = disambiguator;
        loop {
            start -= 1;
            digits[start] = b'0' + (value % 10) as u8;
            value /= 10;
            if value == 0 {
                break;
            }
        }
        hasher.update(&digits[start..]);
        hex(&hasher.finalize()[..16])
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = vec![0u8; bytes.len() * 2];
    for (pair, &byte) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = DIGITS[(byte >> 4) as usize];
        pair[1] = DIGITS[(byte & 15) as usize];
    }
    String::from_utf8(out).expect("hex digits are ASCII")
}

/// The chunk of a whole repository: parent of every module chunk.
/// The root chunk of a repository: its id from the repository's identity (a path), its
/// qualified name the display name.
pub fn repository_chunk(identity: &str, name: &str) -> Chunk {
    Chunk {
        id: chunk_id(identity, "", ChunkKind::Repository, identity, 0),
        parent_id: None,
        kind: ChunkKind::Repository,
        path: String::new(),
        qualified_name: name.to_string(),
        start_byte: 0,
        end_byte: 0,
        start_line: 0,
        end_line: 0,
        signature: String::new(),
        docstring: None,
        content_hash: hex(&Sha256::digest(b"")),
    }
}

/// What the builder found besides chunks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChunkReport {
    /// Deepest nesting of statement blocks seen.
    pub max_statement_depth: usize,
}

/// Builds the chunks of one parsed file (everything below the repository chunk).
pub struct ChunkBuilder<'a> {
    pub repository: &'a str,
    pub repository_id: &'a str,
    pub path: &'a str,
    pub module_name: &'a str,
    pub text: &'a str,
    pub line_index: &'a LineIndex,
    pub tree: &'a SyntaxTree,
    /// Trees of definitions recovered after syntax errors (`parse::recover_definitions`).
    pub recovered: &'a [SyntaxTree],
}

/// The chunks of a parsed document below the repository chunk `repository_id`.
pub fn chunk_document(repository: &str, repository_id: &str, path: &str, document: &crate::parse::Document) -> (Vec<Chunk>, ChunkReport) {
    chunk_document_in(&crate::syntax::SourceRoots::default(), repository, repository_id, path, document)
}

/// `chunk_document` with qualified names from the module named by `roots` (`SourceRoots`).
pub fn chunk_document_in(
    roots: &crate::syntax::SourceRoots,
    repository: &str,
    repository_id: &str,
    path: &str,
    document: &crate::parse::Document,
) -> (Vec<Chunk>, ChunkReport) {
    let module = roots.module_name(path);
    ChunkBuilder {
        repository,
        repository_id,
        path,
        module_name: &module,
        text: document.text(),
        line_index: document.line_index(),
        tree: document.tree(),
        recovered: document.recovered(),
    }
    .build()
}

/// A chunk before ids are assigned: identity comes from the sorted tree.
struct Draft {
    kind: ChunkKind,
    parent: Option<usize>,
    qualified_name: String,
    start_byte: usize,
    end_byte: usize,
    signature: String,
    docstring: Option<String>,
    /// Child drafts (sorted into document order by `finish`).
    children: Vec<usize>,
}

/// Node kind ids of the grammar that the walk tests, looked up once.
struct Kinds {
    comment: u16,
    function_definition: u16,
    class_definition: u16,
    decorated_definition: u16,
    block: u16,
    expression_statement: u16,
    string: u16,
    concatenated_string: u16,
    string_start: u16,
    string_end: u16,
    /// Field ids of `body` and `name` (0 matches no child).
    body: u16,
    name: u16,
    /// Kinds whose children may include statements (`contains_statements`), as a bitset.
    containers: Vec<bool>,
}

fn kinds() -> &'static Kinds {
    static KINDS: std::sync::OnceLock<Kinds> = std::sync::OnceLock::new();
    KINDS.get_or_init(|| {
        let language = crate::parse::python_language();
        let id = |name: &str| language.id_for_node_kind(name, true);
        let mut containers = vec![false; language.node_kind_count() + 1];
        for kind_id in 0..language.node_kind_count() as u16 {
            if let Some(name) = language.node_kind_for_id(kind_id) {
                if language.node_kind_is_named(kind_id) && contains_statements(name) {
                    containers[kind_id as usize] = true;
                }
            }
        }
        Kinds {
            comment: id("comment"),
            function_definition: id("function_definition"),
            class_definition: id("class_definition"),
            decorated_definition: id("decorated_definition"),
            block: id("block"),
            expression_statement: id("expression_statement"),
            string: id("string"),
            concatenated_string: id("concatenated_string"),
            string_start: id("string_start"),
            string_end: id("string_end"),
            body: language.field_id_for_name("body").map_or(0, |field| field.get()),
            name: language.field_id_for_name("name").map_or(0, |field| field.get()),
            containers,
        }
    })
}

fn is_definition_kind(kinds: &Kinds, kind_id: u16) -> bool {
    kind_id == kinds.function_definition || kind_id == kinds.class_definition || kind_id == kinds.decorated_definition
}

/// Whether a body starting at `at` may open with a string literal or with a comment (the
/// first statement then comes later). When not, the body has no docstring. The grammar's
/// `string_start` token is prefix letters, then `"`, `'` or a backtick (Python 2 repr).
fn may_start_docstring(bytes: &[u8], at: usize) -> bool {
    let rest = bytes.get(at..).unwrap_or_default();
    let letters = rest.iter().take_while(|b| b.is_ascii_alphabetic()).count();
    matches!(rest.get(letters), Some(b'"' | b'\'' | b'`')) || rest.first() == Some(&b'#')
}

/// Nodes whose children may include statements (and hence definitions).
fn contains_statements(kind: &str) -> bool {
    matches!(
        kind,
        "module"
            | "block"
            | "if_statement"
            | "elif_clause"
            | "else_clause"
            | "for_statement"
            | "while_statement"
            | "try_statement"
            | "except_clause"
            | "except_group_clause"
            | "finally_clause"
            | "with_statement"
            | "match_statement"
            | "case_clause"
            | "decorated_definition"
            | "ERROR"
    )
}

/// End of a node's last byte that is not a trailing comment (tree-sitter attaches comments at
/// the end of a block to the block; Python's `ast` does not count them).
pub fn effective_end(text: &[u8], node: Node<'_>) -> usize {
    let end = node.end_byte();
    if end == node.start_byte() {
        return end;
    }
    // Fastest path: no `#` on the node's last line, so its last token is no comment.
    let last_line_start = memchr::memrchr(b'\n', &text[node.start_byte()..end]).map_or(node.start_byte(), |i| node.start_byte() + i);
    if memchr::memchr(b'#', &text[last_line_start..end]).is_none() {
        return end;
    }
    // Fast path: the node's last byte belongs to a token that is not a comment.
    match node.descendant_for_byte_range(end - 1, end) {
        Some(last) if last.kind_id() != kinds().comment && !last.is_extra() => return end,
        _ => {}
    }
    let mut current = node;
    loop {
        let mut cursor = current.walk();
        let mut last = None;
        if cursor.goto_first_child() {
            loop {
                let child = cursor.node();
                if child.kind_id() != kinds().comment && child.end_byte() > child.start_byte() {
                    last = Some(child);
                }
                if !cursor.goto_next_sibling() {
                    break;
                }
            }
        }
        match last {
            Some(child) => current = child,
            None => return current.end_byte(),
        }
    }
}

/// Statements directly inside a block-like node (comments excluded).
fn statements<'t>(node: Node<'t>, cursor: &mut TreeCursor<'t>) -> Vec<Node<'t>> {
    let comment = kinds().comment;
    node.named_children(cursor).filter(|child| child.kind_id() != comment).collect()
}

impl<'a> ChunkBuilder<'a> {
    pub fn build(&self) -> (Vec<Chunk>, ChunkReport) {
        let root = self.tree.root_node();
        let mut drafts: Vec<Draft> = Vec::new();
        let mut report = ChunkReport::default();
        drafts.push(Draft {
            kind: ChunkKind::Module,
            parent: None,
            qualified_name: self.module_name.to_string(),
            start_byte: 0,
            end_byte: self.text.len(),
            signature: String::new(),
            docstring: None,
            children: Vec::new(),
        });
        // Top-level statements (named, non-comment children of the root, which the walk always
        // enters: its context then has two entries), seen by the walk below: the first gives the
        // module docstring; maximal runs of those that are not definitions are module-level code.
        let mut first_statement: Option<Node<'_>> = None;
        let mut run: Vec<Node<'_>> = Vec::new();
        // Drafts of the definitions the walk found, by start (kept to recover the others after
        // syntax errors).
        let mut found: HashMap<usize, usize> = HashMap::new();

        // Definitions anywhere: one cursor walk, descending only into statement containers.
        // `context` holds, per cursor depth, (parent draft, statement depth, decorated node).
        let kinds = kinds();
        let mut context: Vec<(usize, usize, Option<Node<'_>>)> = vec![(0, 0, None)];
        let mut cursor = root.walk();
        // For looking below definitions; the walk's own cursor keeps its place.
        let mut scratch = root.walk();
        'walk: loop {
            let node = cursor.node();
            let (parent, depth, decorated) = *context.last().expect("the root context is never popped");
            report.max_statement_depth = report.max_statement_depth.max(depth);
            let kind_id = node.kind_id();
            if context.len() == 2 && node.is_named() && kind_id != kinds.comment {
                first_statement.get_or_insert(node);
                if is_definition_kind(kinds, kind_id) {
                    self.add_module_code(&mut drafts, &mut run);
                } else {
                    run.push(node);
                }
            }
            let mut descend: Option<(usize, usize, Option<Node<'_>>)> = None;
            let mut body_start = None;
            if kind_id == kinds.function_definition || kind_id == kinds.class_definition {
                let (index, body) = self.add_definition(&mut drafts, node, decorated.unwrap_or(node), parent, &mut scratch);
                if !self.recovered.is_empty() {
                    found.insert(node.start_byte(), index);
                }
                // Most function bodies define nothing: skip their statements unless the text
                // could hold a nested `def` or `class`.
                let body_may_define = kind_id == kinds.class_definition
                    || body.is_none_or(|body| may_contain_definition(&self.text.as_bytes()[body.byte_range()]));
                if body_may_define {
                    descend = Some((index, depth, None));
                    // Without syntax errors the header holds no statements: go straight to the body.
                    body_start = body.filter(|_| !node.has_error()).map(|body| body.start_byte());
                }
            } else if kind_id == kinds.decorated_definition {
                descend = Some((parent, depth, Some(node)));
            } else if node.is_error() || kinds.containers.get(kind_id as usize).copied().unwrap_or(false) {
                descend = Some((parent, depth + usize::from(kind_id == kinds.block), None));
            }
            if let Some(inner) = descend {
                let entered = match body_start {
                    Some(start) => cursor.goto_first_child_for_byte(start).is_some(),
                    None => cursor.goto_first_child(),
                };
                if entered {
                    context.push(inner);
                    continue;
                }
            }
            loop {
                if cursor.goto_next_sibling() {
                    continue 'walk;
                }
                if !cursor.goto_parent() {
                    break 'walk;
                }
                context.pop();
            }
        }
        self.add_module_code(&mut drafts, &mut run);
        drafts[0].docstring = docstring_of(self.text, first_statement, &mut scratch);
        // A recovered segment starts at a line the tree failed on, but may hold definitions
        // the tree parsed all the same (a method of a class whose header is broken): those
        // have their chunk already (one definition, one chunk), only what they hold is looked at.
        for tree in self.recovered {
            let mut stack: Vec<(Node<'_>, usize)> = vec![(tree.root_node(), 0)];
            while let Some((node, parent)) = stack.pop() {
                let children: Vec<Node<'_>> = node.children(&mut scratch).collect();
                for child in children.into_iter().rev() {
                    if child.kind_id() == kinds.function_definition || child.kind_id() == kinds.class_definition {
                        let (index, body) = match found.get(&child.start_byte()) {
                            Some(&index) => (index, DefinitionParts::of(child, &mut scratch).body),
                            None => {
                                let outer = if node.kind_id() == kinds.decorated_definition { node } else { child };
                                self.add_definition(&mut drafts, child, outer, parent, &mut scratch)
                            }
                        };
                        if let Some(body) = body {
                            stack.push((body, index));
                        }
                    } else if child.is_error() || kinds.containers.get(child.kind_id() as usize).copied().unwrap_or(false) {
                        stack.push((child, parent));
                    }
                }
            }
        }
        (self.finish(drafts), report)
    }

    /// A module-level code chunk for the top-level statements in `run` (emptied), if any.
    fn add_module_code(&self, drafts: &mut Vec<Draft>, run: &mut Vec<Node<'_>>) {
        let (Some(first), Some(last)) = (run.first(), run.last()) else {
            return;
        };
        let mut qualified_name = String::with_capacity(self.module_name.len() + 9);
        qualified_name.push_str(self.module_name);
        qualified_name.push_str(".<module>");
        let draft = Draft {
            kind: ChunkKind::ModuleCode,
            parent: Some(0),
            qualified_name,
            start_byte: first.start_byte(),
            end_byte: effective_end(self.text.as_bytes(), *last),
            signature: String::new(),
            docstring: None,
            children: Vec::new(),
        };
        let index = drafts.len();
        drafts.push(draft);
        drafts[0].children.push(index);
        self.add_fragments(drafts, index, run);
        run.clear();
    }

    /// Adds the chunk of definition `node` (and its fragments); returns its draft and body.
    /// `outer` is the `decorated_definition` around `node`, or `node` itself.
    /// `cursor` is scratch space.
    fn add_definition<'t>(
        &self,
        drafts: &mut Vec<Draft>,
        node: Node<'t>,
        outer: Node<'t>,
        parent: usize,
        cursor: &mut TreeCursor<'t>,
    ) -> (usize, Option<Node<'t>>) {
        let kinds = kinds();
        let kind = if node.kind_id() == kinds.class_definition {
            ChunkKind::Class
        } else if drafts[parent].kind == ChunkKind::Class {
            ChunkKind::Method
        } else {
            ChunkKind::Function
        };
        let header = DefinitionParts::of(node, cursor);
        let name = header.name.map(|name| &self.text[name.byte_range()]).filter(|name| !name.is_empty()).unwrap_or("<anonymous>");
        let body = header.body;
        let first_statement = body
            .filter(|body| may_start_docstring(self.text.as_bytes(), body.start_byte()))
            .and_then(|body| body.named_children(cursor).find(|child| child.kind_id() != kinds.comment));
        let draft = Draft {
            kind,
            parent: Some(parent),
            qualified_name: [drafts[parent].qualified_name.as_str(), name].join("."),
            start_byte: outer.start_byte(),
            end_byte: effective_end(self.text.as_bytes(), node).max(outer.start_byte()),
            signature: header.signature(self.text, node),
            docstring: docstring_of(self.text, first_statement, cursor),
            children: Vec::new(),
        };
        let oversized = draft.end_byte - draft.start_byte > FRAGMENT_BUDGET_BYTES;
        let index = drafts.len();
        drafts.push(draft);
        drafts[parent].children.push(index);
        if oversized {
            let body_statements = body.map(|body| statements(body, cursor)).unwrap_or_default();
            self.add_fragments(drafts, index, &body_statements);
        }
        (index, body)
    }

    /// Splits an oversized chunk into fragments of its direct statements, greedily in order.
    fn add_fragments(&self, drafts: &mut Vec<Draft>, index: usize, body: &[Node<'_>]) {
        let draft = &drafts[index];
        if draft.end_byte - draft.start_byte <= FRAGMENT_BUDGET_BYTES || body.is_empty() {
            return;
        }
        let parent_name = draft.qualified_name.clone();
        let mut pieces: Vec<(usize, usize)> = Vec::new();
        for statement in body {
            let (start, end) = (statement.start_byte(), effective_end(self.text.as_bytes(), *statement).max(statement.start_byte()));
            match pieces.last_mut() {
                Some(piece) if end - piece.0 <= FRAGMENT_BUDGET_BYTES => piece.1 = end,
                _ => pieces.push((start, end)),
            }
        }
        if pieces.len() < 2 {
            // One piece would only repeat the chunk itself.
            return;
        }
        for (ordinal, (start, end)) in pieces.into_iter().enumerate() {
            let fragment = drafts.len();
            drafts.push(Draft {
                kind: ChunkKind::Fragment,
                parent: Some(index),
                qualified_name: format!("{parent_name}#{ordinal}"),
                start_byte: start,
                end_byte: end,
                signature: String::new(),
                docstring: None,
                children: Vec::new(),
            });
            drafts[index].children.push(fragment);
        }
    }

    /// Orders the draft tree (pre-order, siblings by start), assigns disambiguators and ids.
    fn finish(&self, mut drafts: Vec<Draft>) -> Vec<Chunk> {
        for index in 0..drafts.len() {
            let mut children = std::mem::take(&mut drafts[index].children);
            // Among siblings starting at the same byte (possible after syntax errors), fragments
            // come first, then module code, then definitions in the order the walk met them.
            children.sort_by_key(|&child| {
                let draft = &drafts[child];
                (draft.start_byte, draft.kind != ChunkKind::Fragment, draft.kind != ChunkKind::ModuleCode)
            });
            drafts[index].children = children;
        }
        let mut chunks: Vec<Chunk> = Vec::with_capacity(drafts.len());
        let mut ids: Vec<String> = vec![String::new(); drafts.len()];
        // Disambiguators count in pre-order over the whole file, not per parent: a class defined
        // twice (`if …: class A … else: class A …`) has two `A.f` methods under two parents,
        // which counting among siblings gave the same id.
        let mut disambiguators: Vec<usize> = vec![0; drafts.len()];
        let mut seen: HashMap<(ChunkKind, &str), usize> = HashMap::with_capacity(drafts.len());
        let mut stack = vec![0usize];
        while let Some(index) = stack.pop() {
            let draft = &drafts[index];
            let counter = seen.entry((draft.kind, draft.qualified_name.as_str())).or_insert(0);
            disambiguators[index] = *counter;
            *counter += 1;
            stack.extend(draft.children.iter().rev());
        }
        drop(seen);
        let chunk_ids = ChunkIds::new(self.repository, self.path);
        let mut hasher = ContentHasher::new(self.text, self.line_index);
        let mut stack = vec![0usize];
        while let Some(index) = stack.pop() {
            let draft = &mut drafts[index];
            // The hash depends only on the byte range. Equal ranges are adjacent in pre-order: a
            // fragment made of one definition statement comes right before that definition.
            let content_hash = match chunks.last() {
                Some(previous) if (previous.start_byte, previous.end_byte) == (draft.start_byte, draft.end_byte) => {
                    previous.content_hash.clone()
                }
                _ => hasher.hash(draft.start_byte, draft.end_byte),
            };
            let id = chunk_ids.id(draft.kind, &draft.qualified_name, disambiguators[index]);
            let parent_id = match draft.parent {
                Some(parent) => ids[parent].clone(),
                None => self.repository_id.to_string(),
            };
            if !draft.children.is_empty() {
                ids[index] = id.clone();
            }
            let last_byte = if draft.end_byte > draft.start_byte { draft.end_byte - 1 } else { draft.start_byte };
            chunks.push(Chunk {
                id,
                parent_id: Some(parent_id),
                kind: draft.kind,
                path: self.path.to_string(),
                qualified_name: std::mem::take(&mut draft.qualified_name),
                start_byte: draft.start_byte,
                end_byte: draft.end_byte,
                start_line: self.line_index.line_of(draft.start_byte) + 1,
                end_line: self.line_index.line_of(last_byte) + 1,
                signature: std::mem::take(&mut draft.signature),
                docstring: draft.docstring.take(),
                content_hash,
            });
            stack.extend(draft.children.iter().rev());
        }
        chunks
    }
}

/// `def f(a, b=1) -> int:`: the header up to its `:`, comments dropped, whitespace outside
/// string literals collapsed to single spaces.
pub fn signature(text: &str, definition: Node<'_>) -> String {
    DefinitionParts::of(definition, &mut definition.walk()).signature(text, definition)
}

/// The children of a definition that chunks use, found in one pass over its children.
struct DefinitionParts<'t> {
    /// The first child in the `name` field.
    name: Option<Node<'t>>,
    /// The first child in the `body` field.
    body: Option<Node<'t>>,
    /// The first `:` child that is not missing.
    colon: Option<Node<'t>>,
}

impl<'t> DefinitionParts<'t> {
    /// `cursor` is scratch space.
    fn of(definition: Node<'t>, cursor: &mut TreeCursor<'t>) -> DefinitionParts<'t> {
        let kinds = kinds();
        let mut parts = DefinitionParts { name: None, body: None, colon: None };
        cursor.reset(definition);
        if !cursor.goto_first_child() {
            return parts;
        }
        loop {
            let child = cursor.node();
            match cursor.field_id().map(|field| field.get()) {
                Some(field) if field == kinds.name && parts.name.is_none() => parts.name = Some(child),
                Some(field) if field == kinds.body && parts.body.is_none() => parts.body = Some(child),
                _ => {}
            }
            if parts.colon.is_none() && !child.is_named() && child.kind() == ":" && !child.is_missing() {
                parts.colon = Some(child);
            }
            if !cursor.goto_next_sibling() {
                return parts;
            }
        }
    }

    /// `signature(text, definition)`.
    fn signature(&self, text: &str, definition: Node<'t>) -> String {
        let start = definition.start_byte();
        let end = match (self.colon, self.body) {
            (Some(colon), _) => colon.end_byte(),
            (None, Some(body)) => body.start_byte(),
            (None, None) => definition.end_byte(),
        };
        collapse_header(&text[start..end.max(start)])
    }
}

/// Comments dropped, whitespace (Unicode's) and backslash-newlines outside string literals
/// collapsed to single spaces, string literals copied verbatim.
fn collapse_header(header: &str) -> String {
    let bytes = header.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(header.len());
    let mut pending_space = false;
    let mut i = 0;
    let push = |out: &mut Vec<u8>, pending: &mut bool, piece: &[u8]| {
        if *pending && !out.is_empty() {
            out.push(b' ');
        }
        *pending = false;
        out.extend_from_slice(piece);
    };
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'#' => {
                while i < bytes.len() && !matches!(bytes[i], b'\n' | b'\r') {
                    i += 1;
                }
                continue;
            }
            b'\\' if matches!(bytes.get(i + 1), Some(b'\n' | b'\r')) => pending_space = true,
            b'"' | b'\'' => {
                // A string literal, verbatim (prefix letters were already copied).
                push(&mut out, &mut pending_space, &[c]);
                i += 1;
                let triple = bytes.get(i) == Some(&c) && bytes.get(i + 1) == Some(&c);
                if triple {
                    out.extend_from_slice(&[c, c]);
                    i += 2;
                }
                let mut closing = 0;
                while i < bytes.len() {
                    let d = bytes[i];
                    out.push(d);
                    i += 1;
                    if d == b'\\' {
                        if i < bytes.len() {
                            out.push(bytes[i]);
                            i += 1;
                        }
                        closing = 0;
                        continue;
                    }
                    if d == c {
                        closing += 1;
                        if !triple || closing == 3 {
                            break;
                        }
                    } else {
                        closing = 0;
                        if !triple && (d == b'\n' || d == b'\r') {
                            break;
                        }
                    }
                }
                continue;
            }
            c if c.is_ascii() => {
                if c.is_ascii_whitespace() || c == 0x0b {
                    pending_space = true;
                } else {
                    push(&mut out, &mut pending_space, &[c]);
                }
            }
            _ => {
                // A multi-byte character: whitespace by Unicode's definition, or copied.
                let character = header[i..].chars().next().expect("`i` is on a character boundary");
                let width = character.len_utf8();
                if character.is_whitespace() {
                    pending_space = true;
                } else {
                    push(&mut out, &mut pending_space, &bytes[i..i + width]);
                }
                i += width;
                continue;
            }
        }
        i += 1;
    }
    String::from_utf8(out).expect("whole characters of a str are copied")
}

/// The docstring of a body whose first statement is `first`, cleaned like `inspect.cleandoc`.
pub fn docstring(text: &str, first: Option<Node<'_>>) -> Option<String> {
    let statement = first?;
    docstring_of(text, Some(statement), &mut statement.walk())
}

/// `docstring`; `cursor` is scratch space.
fn docstring_of<'t>(text: &str, first: Option<Node<'t>>, cursor: &mut TreeCursor<'t>) -> Option<String> {
    let kinds = kinds();
    let statement = first?;
    if statement.kind_id() != kinds.expression_statement || statement.named_child_count() != 1 {
        return None;
    }
    let literal = statement.named_child(0)?;
    if literal.kind_id() == kinds.string {
        return Some(cleandoc(&string_value(text, literal, cursor)?));
    }
    if literal.kind_id() != kinds.concatenated_string {
        return None;
    }
    let parts: Vec<Node<'t>> = literal.named_children(cursor).filter(|part| part.kind_id() == kinds.string).collect();
    let mut value = String::new();
    for part in parts {
        value.push_str(&string_value(text, part, cursor)?);
    }
    Some(cleandoc(&value))
}

/// The value of a plain (non-f, non-bytes) string literal; None for f-strings and bytes.
fn string_value<'s, 't>(text: &'s str, string: Node<'t>, cursor: &mut TreeCursor<'t>) -> Option<Cow<'s, str>> {
    let kinds = kinds();
    let (mut start, mut end) = (None, None);
    for child in string.children(cursor) {
        if child.kind_id() == kinds.string_start && start.is_none() {
            start = Some(child);
        } else if child.kind_id() == kinds.string_end {
            end = Some(child);
        }
    }
    let (start, end) = (start?, end?);
    let prefix = text[start.byte_range()].bytes().take_while(u8::is_ascii_alphabetic).map(|b| b.to_ascii_lowercase());
    let mut raw = false;
    for letter in prefix {
        match letter {
            b'f' | b'b' | b't' => return None,
            b'r' => raw = true,
            _ => {}
        }
    }
    let raw_content = text.get(start.end_byte()..end.start_byte())?;
    let content = if raw_content.contains('\r') {
        Cow::Owned(raw_content.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        Cow::Borrowed(raw_content)
    };
    Some(if raw || !content.contains('\\') { content } else { Cow::Owned(unescape(&content)) })
}

/// Python string escape sequences (`\N{...}` is kept as written).
fn unescape(content: &str) -> String {
    let mut out = String::with_capacity(content.len());
    let mut chars = content.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(next) = chars.next() else {
            out.push('\\');
            break;
        };
        match next {
            '\n' => {}
            '\\' => out.push('\\'),
            '\'' => out.push('\''),
            '"' => out.push('"'),
            'a' => out.push('\x07'),
            'b' => out.push('\x08'),
            'f' => out.push('\x0c'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\x0b'),
            '0'..='7' => {
                let mut value = next.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match chars.peek().and_then(|d| d.to_digit(8)) {
                        Some(digit) => {
                            value = value * 8 + digit;
                            chars.next();
                        }
                        None => break,
                    }
                }
                out.push(char::from_u32(value).unwrap_or('\u{fffd}'));
            }
            'x' | 'u' | 'U' => {
                let width = match next {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let digits: String = chars.clone().take(width).collect();
                match (digits.len() == width).then(|| u32::from_str_radix(&digits, 16).ok()).flatten().and_then(char::from_u32) {
                    Some(decoded) => {
                        out.push(decoded);
                        for _ in 0..width {
                            chars.next();
                        }
                    }
                    None => {
                        out.push('\\');
                        out.push(next);
                    }
                }
            }
            other => {
                out.push('\\');
                out.push(other);
            }
        }
    }
    out
}

fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

/// `str.expandtabs(8)`: columns restart after `\n` and `\r`.
fn expand_tabs(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut column = 0;
    for c in line.chars() {
        match c {
            '\t' => {
                let spaces = 8 - column % 8;
                out.extend(std::iter::repeat_n(' ', spaces));
                column += spaces;
            }
            '\n' | '\r' => {
                out.push(c);
                column = 0;
            }
            c => {
                out.push(c);
                column += 1;
            }
        }
    }
    out
}

/// `inspect.cleandoc` (Python 3.11 semantics).
pub fn cleandoc(doc: &str) -> String {
    let expanded: Cow<'_, str> = if doc.contains('\t') { Cow::Owned(expand_tabs(doc)) } else { Cow::Borrowed(doc) };
    // Columns are characters; in ASCII text, bytes.
    let ascii = expanded.is_ascii();
    let margin = expanded
        .split('\n')
        .skip(1)
        .filter_map(|line| {
            let content = line.trim_start_matches(is_python_space);
            let indent = &line[..line.len() - content.len()];
            (!content.is_empty()).then(|| if ascii { indent.len() } else { indent.chars().count() })
        })
        .min();
    let mut cleaned: Vec<&str> = Vec::new();
    for (i, line) in expanded.split('\n').enumerate() {
        cleaned.push(match (i, margin) {
            (0, _) => line.trim_start_matches(is_python_space),
            (_, None) => line,
            (_, Some(margin)) if ascii => line.get(margin..).unwrap_or_default(),
            (_, Some(margin)) => line.char_indices().nth(margin).map_or("", |(at, _)| &line[at..]),
        });
    }
    while cleaned.last().is_some_and(|line| line.is_empty()) {
        cleaned.pop();
    }
    let leading = cleaned.iter().take_while(|line| line.is_empty()).count();
    cleaned[leading..].join("\n")
}

fn is_trailing_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | 0x0b | 0x0c)
}

/// Length of the leading run of spaces and tabs.
fn indent_length(line: &[u8]) -> usize {
    line.iter().take_while(|&&b| b == b' ' || b == b'\t').count()
}

/// (start, end without trailing whitespace) of each line of `bytes`, split at CRLF, CR, LF.
fn line_ranges(bytes: &[u8], ranges: &mut Vec<(usize, usize)>) {
    ranges.clear();
    let mut start = 0;
    loop {
        match memchr::memchr2(b'\n', b'\r', &bytes[start..]) {
            Some(offset) => {
                let end = start + offset;
                ranges.push((start, end));
                let terminator = if bytes[end] == b'\r' && bytes.get(end + 1) == Some(&b'\n') { 2 } else { 1 };
                start = end + terminator;
            }
            None => {
                ranges.push((start, bytes.len()));
                break;
            }
        }
    }
    for range in ranges.iter_mut() {
        while range.1 > range.0 && is_trailing_space(bytes[range.1 - 1]) {
            range.1 -= 1;
        }
    }
}

/// SHA-256 (hex) of the normalised text of `text[start..end]` (docs/CONTRACTS.md): line
/// endings → LF, trailing whitespace removed, common indentation removed, where the first line
/// is taken as indented by its start column.
pub fn content_hash(text: &str, line_index: &LineIndex, start: usize, end: usize) -> String {
    thread_local! {
        static RANGES: std::cell::RefCell<Vec<(usize, usize)>> = const { std::cell::RefCell::new(Vec::new()) };
        static NORMALISED: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let line_start = line_index.line_start(line_index.line_of(start)).min(start);
    let prefix = &text.as_bytes()[line_start..start];
    let virtual_prefix: Vec<u8> =
        if prefix.iter().all(|&b| b == b' ' || b == b'\t') { prefix.to_vec() } else { vec![b' '; text[line_start..start].chars().count()] };
    let body = &text.as_bytes()[start..end];
    RANGES.with(|ranges| {
        let mut ranges = ranges.borrow_mut();
        line_ranges(body, &mut ranges);
        // The first line, with its virtual prefix, trailing whitespace removed.
        let (first_start, first_end) = ranges[0];
        let mut first_line = virtual_prefix;
        first_line.extend_from_slice(&body[first_start..first_end]);
        while first_line.last().is_some_and(|&b| is_trailing_space(b)) {
            first_line.pop();
        }
        // The common indentation of non-blank lines, as a byte prefix (like textwrap.dedent).
        let mut common: Option<&[u8]> = None;
        let lines = std::iter::once(first_line.as_slice()).chain(ranges[1..].iter().map(|&(s, e)| &body[s..e]));
        for line in lines {
            if line.is_empty() {
                continue;
            }
            let indent = &line[..indent_length(line)];
            common = Some(match common {
                None => indent,
                Some(current) => {
                    let shared = current.iter().zip(indent).take_while(|(a, b)| a == b).count();
                    &current[..shared]
                }
            });
        }
        let common_length = common.map_or(0, <[u8]>::len);
        // Fast path: nothing to normalise (no indentation to remove, no CR, no trailing
        // whitespace): the text itself is the normalised text.
        let untouched = common_length == 0
            && first_line.len() == ranges[0].1 - ranges[0].0
            && memchr::memchr(b'\r', body).is_none()
            && ranges.windows(2).all(|pair| pair[1].0 == pair[0].1 + 1)
            && ranges.last().is_some_and(|last| last.1 == body.len());
        if untouched {
            return hex(&Sha256::digest(body));
        }
        fn strip(line: &[u8], common_length: usize) -> &[u8] {
            line.get(common_length..).unwrap_or_default()
        }
        // One contiguous buffer, one hash update: many small updates cost more than the copy.
        NORMALISED.with(|buffer| {
            let mut buffer = buffer.borrow_mut();
            buffer.clear();
            buffer.extend_from_slice(strip(&first_line, common_length));
            for &(s, e) in &ranges[1..] {
                buffer.push(b'\n');
                buffer.extend_from_slice(strip(&body[s..e], common_length));
            }
            let mut hasher = Sha256::new();
            hasher.update(&buffer[..]);
            hex(&hasher.finalize())
        })
    })
}

/// What the content hash's normalisation needs to know about one line of a file, computed once
/// per file: nested chunks cover the same lines again, and must not rescan them.
#[derive(Clone, Copy)]
struct Line {
    start: usize,
    /// End of the line's content, before its terminator.
    end: usize,
    /// `end` with trailing whitespace (`is_trailing_space`) removed; `start` for a blank line.
    trimmed_end: usize,
    /// Length of the leading run of spaces and tabs of `start..trimmed_end`.
    indent: usize,
    /// The leading run holds a tab (common indentation then needs a byte-wise comparison).
    tab_in_indent: bool,
    /// No trailing whitespace, and the terminator is `\n` or the end of the text.
    normal: bool,
}

/// A `Line` as stored: offsets in 32 bits (texts longer than `u32::MAX` bytes take the general
/// path), so that a file's table stays small.
#[derive(Clone, Copy)]
struct LineShape {
    start: u32,
    end: u32,
    trimmed_end: u32,
    indent: u32,
    tab_in_indent: bool,
    normal: bool,
}

impl LineShape {
    fn line(self) -> Line {
        Line {
            start: self.start as usize,
            end: self.end as usize,
            trimmed_end: self.trimmed_end as usize,
            indent: self.indent as usize,
            tab_in_indent: self.tab_in_indent,
            normal: self.normal,
        }
    }
}

thread_local! {
    /// Buffers of `ContentHasher`, reused from file to file.
    static HASHER_BUFFERS: std::cell::RefCell<(Vec<LineShape>, Vec<u8>, Vec<u8>)> = const { std::cell::RefCell::new((Vec::new(), Vec::new(), Vec::new())) };
}

/// Content hashes of chunks of one text; equal to `content_hash` for every range.
struct ContentHasher<'a> {
    text: &'a str,
    line_index: &'a LineIndex,
    lines: Vec<LineShape>,
    first_line: Vec<u8>,
    normalised: Vec<u8>,
}

impl<'a> ContentHasher<'a> {
    fn new(text: &'a str, line_index: &'a LineIndex) -> ContentHasher<'a> {
        let bytes = text.as_bytes();
        let (mut lines, first_line, normalised) = HASHER_BUFFERS.with_borrow_mut(std::mem::take);
        lines.clear();
        // Without a table, every range takes the general path.
        let count = if u32::try_from(bytes.len()).is_ok() { line_index.line_count() } else { 0 };
        lines.reserve(count);
        for line in 0..count {
            let start = line_index.line_start(line);
            let (end, normal_terminator) = if line + 1 < count {
                let next = line_index.line_start(line + 1);
                if bytes[next - 1] == b'\n' && next >= start + 2 && bytes[next - 2] == b'\r' {
                    (next - 2, false)
                } else {
                    (next - 1, bytes[next - 1] == b'\n')
                }
            } else {
                (bytes.len(), true)
            };
            let mut trimmed_end = end;
            while trimmed_end > start && is_trailing_space(bytes[trimmed_end - 1]) {
                trimmed_end -= 1;
            }
            let indent = indent_length(&bytes[start..trimmed_end]);
            // Offsets fit: the text is shorter than `u32::MAX` bytes.
            lines.push(LineShape {
                start: start as u32,
                end: end as u32,
                trimmed_end: trimmed_end as u32,
                indent: indent as u32,
                tab_in_indent: bytes[start..start + indent].contains(&b'\t'),
                normal: normal_terminator && trimmed_end == end,
            });
        }
        ContentHasher { text, line_index, lines, first_line, normalised }
    }

    /// `content_hash(text, line_index, start, end)`.
    fn hash(&mut self, start: usize, end: usize) -> String {
        let bytes = self.text.as_bytes();
        let first = self.line_index.line_of(start);
        let last = if end > start { self.line_index.line_of(end) } else { first };
        let (Some(first_shape), Some(last_shape)) = (self.lines.get(first).map(|s| s.line()), self.lines.get(last).map(|s| s.line()))
        else {
            return content_hash(self.text, self.line_index, start, end);
        };
        // A range starting inside a line terminator, or ending in `\r` (possibly half of a
        // CRLF), splits lines differently from the text: the general path handles it.
        if start > first_shape.end || (end > start && bytes[end - 1] == b'\r') {
            return content_hash(self.text, self.line_index, start, end);
        }

        // The first line, taken as indented by its start column, trailing whitespace removed.
        let prefix = &bytes[first_shape.start..start];
        let first_end = if first == last { end } else { first_shape.end };
        let first_trimmed = trim_end(bytes, start, first_end.min(first_shape.trimmed_end.max(start)).max(start));
        self.first_line.clear();
        if first_trimmed > start {
            if prefix.iter().all(|&b| b == b' ' || b == b'\t') {
                self.first_line.extend_from_slice(prefix);
            } else {
                let columns = self.text[first_shape.start..start].chars().count();
                self.first_line.resize(columns, b' ');
            }
            self.first_line.extend_from_slice(&bytes[start..first_trimmed]);
        }
        // The other lines as (start, end without trailing whitespace, indentation length).
        let last_line = |shape: Line| {
            let line_end = trim_end(bytes, shape.start, end.min(shape.trimmed_end));
            (line_end, shape.indent.min(line_end - shape.start))
        };

        // The common indentation of non-blank lines (a byte prefix, like textwrap.dedent).
        let first_indent = indent_length(&self.first_line);
        let mut any_tab = self.first_line[..first_indent].contains(&b'\t');
        let mut common_length = if self.first_line.is_empty() { usize::MAX } else { first_indent };
        let mut all_normal = true;
        for shape in self.lines[first + 1..last.max(first + 1)].iter().map(|s| s.line()) {
            if shape.trimmed_end > shape.start {
                common_length = common_length.min(shape.indent);
                any_tab |= shape.tab_in_indent;
            }
            all_normal &= shape.normal;
        }
        let (last_end, last_indent) = last_line(last_shape);
        if last > first && last_end > last_shape.start {
            common_length = common_length.min(last_indent);
            any_tab |= last_shape.tab_in_indent;
        }
        if common_length == usize::MAX {
            common_length = 0;
        }
        if any_tab && common_length > 0 {
            common_length = self.common_indentation_bytes(first, last, last_end);
        }

        // Nothing to normalise: the text itself is the normalised text.
        let untouched = common_length == 0
            && prefix.is_empty()
            && if first == last { first_trimmed == end } else { first_shape.normal && all_normal && last_end == end };
        if untouched {
            return hex(&Sha256::digest(&bytes[start..end]));
        }
        // One contiguous buffer, one hash update: many small updates cost more than the copy.
        let buffer = &mut self.normalised;
        buffer.clear();
        buffer.extend_from_slice(self.first_line.get(common_length..).unwrap_or_default());
        for line in first + 1..=last {
            let shape = self.lines[line].line();
            let line_end = if line == last { last_end } else { shape.trimmed_end };
            buffer.push(b'\n');
            buffer.extend_from_slice(bytes.get(shape.start + common_length..line_end).unwrap_or_default());
        }
        hex(&Sha256::digest(&buffer[..]))
    }

    /// The common leading byte prefix of the indentation of non-blank lines `first..=last`
    /// (the first line as in `first_line`, the last ending at `last_end`).
    fn common_indentation_bytes(&self, first: usize, last: usize, last_end: usize) -> usize {
        let bytes = self.text.as_bytes();
        let mut common: Option<&[u8]> = None;
        let first_line = std::iter::once(&self.first_line[..]);
        let others = (first + 1..=last).map(|line| {
            let shape = self.lines[line].line();
            &bytes[shape.start..if line == last { last_end } else { shape.trimmed_end }]
        });
        for line in first_line.chain(others) {
            if line.is_empty() {
                continue;
            }
            let indent = &line[..indent_length(line)];
            common = Some(match common {
                None => indent,
                Some(current) => {
                    let shared = current.iter().zip(indent).take_while(|(a, b)| a == b).count();
                    &current[..shared]
                }
            });
        }
        common.map_or(0, <[u8]>::len)
    }
}

impl Drop for ContentHasher<'_> {
    fn drop(&mut self) {
        let buffers = (std::mem::take(&mut self.lines), std::mem::take(&mut self.first_line), std::mem::take(&mut self.normalised));
        HASHER_BUFFERS.with_borrow_mut(|kept| *kept = buffers);
    }
}

/// `end` moved back over trailing whitespace, not before `start`.
fn trim_end(bytes: &[u8], start: usize, mut end: usize) -> usize {
    while end > start && is_trailing_space(bytes[end - 1]) {
        end -= 1;
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn text_strategy() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just(" ".to_string()),
            Just("    ".to_string()),
            Just("\t".to_string()),
            Just("\n".to_string()),
            Just("\r\n".to_string()),
            Just("\r".to_string()),
            Just("\x0b".to_string()),
            Just("\x0c".to_string()),
            Just("x".to_string()),
            Just("def f():".to_string()),
            Just("é".to_string()),
            Just("日本".to_string()),
            Just("#".to_string()),
        ];
        proptest::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
    }

    fn chunks_of(text: &str) -> Vec<Chunk> {
        let document = crate::parse::Document::new(text.to_string());
        chunk_document("repo", "repo-id", "m.py", &document).0
    }

    #[test]
    fn a_class_defined_twice_keeps_its_methods_ids_apart() {
        // Found by cargo-fuzz (chunks): both `A.f` had disambiguator 0 under their own parent.
        let text = "import sys\nif sys.version_info > (3,):\n    class A:\n        def f(self):\n            pass\n\
                    else:\n    class A:\n        def f(self):\n            pass\n        def f(self):\n            pass\n";
        let chunks = chunks_of(text);
        let methods: Vec<&Chunk> = chunks.iter().filter(|chunk| chunk.kind == ChunkKind::Method).collect();
        assert_eq!(methods.len(), 3);
        let ids: std::collections::HashSet<&str> = chunks.iter().map(|chunk| chunk.id.as_str()).collect();
        assert_eq!(ids.len(), chunks.len(), "{chunks:#?}");
        // The first of each name keeps the id a single definition has.
        assert_eq!(methods[0].id, chunk_id("repo", "m.py", ChunkKind::Method, "m.A.f", 0));
        assert_eq!(methods[2].id, chunk_id("repo", "m.py", ChunkKind::Method, "m.A.f", 2));
    }

    #[test]
    fn a_backtick_string_is_a_docstring() {
        // tree-sitter-python reads Python 2 backtick repr as a string literal.
        let chunks = chunks_of("def f():\n    `doc`\n");
        assert_eq!(chunks[1].docstring.as_deref(), Some("doc"));
    }

    #[test]
    fn module_code_precedes_a_definition_starting_at_the_same_byte() {
        // The error swallows the class, so a module-code run and the class both start at 0.
        let text = "class A:\n    def m(self, s, **k):\n        \"\"\"Doc.\"\"\"\n        if s == \"x\":\n            self.d.pop(\"a\", None)\n            \
                    self.d.pop(\"b\", None)\n@dec\n\n        elif s == \"y\":\n            self.d.pop(\"c\", None)\n        \
                    elif s == \"z\":\n            self.d.pop(\"e\", None)\n";
        let chunks = chunks_of(text);
        let kinds: Vec<(ChunkKind, usize)> = chunks.iter().map(|chunk| (chunk.kind, chunk.start_byte)).collect();
        assert_eq!(&kinds[..3], &[(ChunkKind::Module, 0), (ChunkKind::ModuleCode, 0), (ChunkKind::Class, 0)]);
    }

    #[test]
    fn a_definition_parsed_inside_a_recovered_segment_is_one_chunk() {
        // `class Handle` lacks its colon: the top-level error holds `get`, parsed all the same,
        // and the segment re-parsed from `class` on to recover definitions holds it again.
        let text = "import os\nclass Handle\nx\n    \"\"\"Doc.\"\"\"\n    def get(self):\n        def inner():\n            pass\n";
        assert!(!crate::parse::Document::new(text.to_string()).recovered().is_empty(), "the case needs a recovered segment");
        let chunks: Vec<(ChunkKind, String)> = chunks_of(text).into_iter().map(|chunk| (chunk.kind, chunk.qualified_name)).collect();
        let expected = [
            (ChunkKind::Module, "m"),
            (ChunkKind::ModuleCode, "m.<module>"),
            (ChunkKind::Function, "m.get"),
            (ChunkKind::Function, "m.get.inner"),
        ];
        assert_eq!(chunks, expected.map(|(kind, name)| (kind, name.to_string())));
    }

    /// The character-by-character implementation `collapse_header` replaced.
    fn reference_collapse_header(header: &str) -> String {
        let mut out = String::with_capacity(header.len());
        let mut pending_space = false;
        let mut chars = header.chars().peekable();
        let push = |out: &mut String, pending: &mut bool, c: char| {
            if *pending && !out.is_empty() {
                out.push(' ');
            }
            *pending = false;
            out.push(c);
        };
        while let Some(c) = chars.next() {
            match c {
                '#' => {
                    while chars.peek().is_some_and(|&c| c != '\n' && c != '\r') {
                        chars.next();
                    }
                }
                '\\' if matches!(chars.peek(), Some('\n') | Some('\r')) => pending_space = true,
                c if c.is_whitespace() => pending_space = true,
                '"' | '\'' => {
                    // Copy a string literal verbatim (prefix letters were already copied).
                    push(&mut out, &mut pending_space, c);
                    let triple = {
                        let mut lookahead = chars.clone();
                        lookahead.next() == Some(c) && lookahead.next() == Some(c)
                    };
                    if triple {
                        out.push(chars.next().unwrap_or(c));
                        out.push(chars.next().unwrap_or(c));
                    }
                    let mut closing = 0;
                    while let Some(d) = chars.next() {
                        out.push(d);
                        if d == '\\' {
                            if let Some(escaped) = chars.next() {
                                out.push(escaped);
                            }
                            closing = 0;
                            continue;
                        }
                        if d == c {
                            closing += 1;
                            if !triple || closing == 3 {
                                break;
                            }
                        } else {
                            closing = 0;
                            if !triple && (d == '\n' || d == '\r') {
                                break;
                            }
                        }
                    }
                }
                c => push(&mut out, &mut pending_space, c),
            }
        }
        out
    }

    /// The line-copying implementation `cleandoc` replaced.
    fn reference_cleandoc(doc: &str) -> String {
        let expanded = expand_tabs(doc);
        let mut lines: Vec<&str> = expanded.split('\n').collect();
        let margin = lines
            .iter()
            .skip(1)
            .filter_map(|line| {
                let content = line.trim_start_matches(is_python_space);
                (!content.is_empty()).then(|| line.chars().count() - content.chars().count())
            })
            .min();
        let mut cleaned: Vec<String> = Vec::with_capacity(lines.len());
        if let Some(first) = lines.first_mut() {
            *first = first.trim_start_matches(is_python_space);
        }
        for (i, line) in lines.iter().enumerate() {
            match (i, margin) {
                (0, _) | (_, None) => cleaned.push(line.to_string()),
                (_, Some(margin)) => cleaned.push(line.chars().skip(margin).collect()),
            }
        }
        while cleaned.last().is_some_and(|line| line.is_empty()) {
            cleaned.pop();
        }
        let leading = cleaned.iter().take_while(|line| line.is_empty()).count();
        cleaned.drain(..leading);
        cleaned.join("\n")
    }

    fn header_strategy() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just(" "),
            Just("  "),
            Just("\t"),
            Just("\n"),
            Just("\r"),
            Just("\x0b"),
            Just("\x0c"),
            Just("\u{a0}"),
            Just("\u{3000}"),
            Just("\x1c"),
            Just("\\"),
            Just("\\\n"),
            Just("'"),
            Just("\""),
            Just("'''"),
            Just("\"\"\""),
            Just("#"),
            Just("def"),
            Just("f(a,"),
            Just("b=1)"),
            Just("->"),
            Just(":"),
            Just("é"),
            Just("日本"),
        ];
        proptest::collection::vec(piece, 0..30).prop_map(|pieces| pieces.concat())
    }

    fn doc_strategy() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just(" "),
            Just("    "),
            Just("\t"),
            Just("\n"),
            Just("\r"),
            Just("\x0b"),
            Just("\x1c"),
            Just("\u{a0}"),
            Just("text"),
            Just("é"),
            Just("日本"),
            Just("\n    "),
            Just("\n\t"),
        ];
        proptest::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]
        #[test]
        fn line_shapes_hash_like_the_general_path(text in text_strategy(), a in 0usize..200, b in 0usize..200) {
            let boundaries: Vec<usize> = (0..=text.len()).filter(|&i| text.is_char_boundary(i)).collect();
            let (a, b) = (boundaries[a % boundaries.len()], boundaries[b % boundaries.len()]);
            let (start, end) = (a.min(b), a.max(b));
            let line_index = LineIndex::new(&text);
            let mut hasher = ContentHasher::new(&text, &line_index);
            prop_assert_eq!(hasher.hash(start, end), content_hash(&text, &line_index, start, end));
        }

        #[test]
        fn collapse_header_like_the_reference(header in header_strategy()) {
            prop_assert_eq!(collapse_header(&header), reference_collapse_header(&header));
        }

        #[test]
        fn cleandoc_like_the_reference(doc in doc_strategy()) {
            prop_assert_eq!(cleandoc(&doc), reference_cleandoc(&doc));
        }
    }
}
