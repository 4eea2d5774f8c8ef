//! The lexical index's schema, and chunks turned into its documents.
//!
//! WARNING: documents are keyed by the chunk id and must be a function of the chunk's identity
//! (repository, path, kind, qualified name), its content hash, signature and docstring, and the
//! layout of its own text (where the chunks inside it lie, relative to its start): a chunk none
//! of which changed is never re-indexed (see `ChunkDiff` and `stale_documents`). So nothing here
//! may depend on line numbers, on other chunks' text or on text outside the chunk, and what
//! comes from the text must be the same for any text of the same content hash (comments end at
//! a lone `\r` as at `\n`). Positions are never stored: a hit takes them from the live chunk.
//! Any change here or in `tokenizer.rs` must bump `store::STORE_VERSION` (indexes on disk).
//!
//! One document per chunk of kind module, class, function, method and module_code. Fragments
//! (the embedding budget's pieces) are not indexed: their text is their parent's own text,
//! so a hit on one would duplicate a hit on the parent. The repository chunk has no text.
//!
//! | field          | what                                                  | tokenizer | role |
//! |----------------|-------------------------------------------------------|-----------|------|
//! | `id`           | chunk id                                              | raw       | key (`STRING`, stored) |
//! | `path`         | path relative to the root (the workspace key)         | raw       | finds the live chunk; a file's documents deleted at once |
//! | `path_text`    | the path                                              | code      | low boost |
//! | `kind`         | chunk kind                                            | raw       | filter (symbols) |
//! | `name`         | the last part of the qualified name                   | code      | high boost |
//! | `name_key`     | the name lowercased, whole                            | raw       | exact-identifier boost, fuzzy matching |
//! | `qualified`    | qualified name                                        | code      | |
//! | `signature`    | `def f(a, b) -> int:`                                 | code      | |
//! | `doc`          | docstring and comments of the chunk's own text        | code      | |
//! | `body`         | the chunk's own text: its span minus the spans of the chunks it contains | code | |
//! | `class`        | [`PathClass`] of the path                             | fast u64  | down-weights tests and generated files |
//! | `name_length`  | characters of the name                                | fast u64  | shorter names first among equal matches |

use std::collections::HashSet;

use tantivy::schema::{Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions, Value, FAST, STORED, STRING};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{Index, TantivyDocument};

use super::tokenizer::{CodeTokenizer, CODE_TOKENIZER};
use crate::chunks::{Chunk, ChunkKind};

#[derive(Clone, Copy)]
pub struct Fields {
    pub id: Field,
    pub path: Field,
    pub path_text: Field,
    pub kind: Field,
    pub name: Field,
    pub name_key: Field,
    pub qualified: Field,
    pub signature: Field,
    pub doc: Field,
    pub body: Field,
    pub class: Field,
    pub name_length: Field,
}

/// The schema and its fields.
pub fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let code = TextOptions::default()
        .set_indexing_options(TextFieldIndexing::default().set_tokenizer(CODE_TOKENIZER).set_index_option(IndexRecordOption::WithFreqs));
    let fast = NumericOptions::from(FAST);
    let fields = Fields {
        id: builder.add_text_field("id", STRING | STORED),
        path: builder.add_text_field("path", STRING | STORED),
        path_text: builder.add_text_field("path_text", code.clone()),
        kind: builder.add_text_field("kind", STRING),
        name: builder.add_text_field("name", code.clone()),
        name_key: builder.add_text_field("name_key", STRING),
        qualified: builder.add_text_field("qualified", code.clone()),
        signature: builder.add_text_field("signature", code.clone()),
        doc: builder.add_text_field("doc", code.clone()),
        body: builder.add_text_field("body", code),
        class: builder.add_u64_field("class", fast.clone()),
        name_length: builder.add_u64_field("name_length", fast),
    };
    (builder.build(), fields)
}

/// Registers the code tokenizer. Must run on every index opened or created: tantivy does not
/// store tokenizers with the index, and a field naming an unregistered one fails to index.
pub fn register_tokenizers(index: &Index) {
    index.tokenizers().register(CODE_TOKENIZER, TextAnalyzer::from(CodeTokenizer::default()));
}

/// What kind of file a path names, for down-weighting. Decided from the path only (part of
/// every chunk's identity), never from the text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathClass {
    Source = 0,
    Test = 1,
    Generated = 2,
}

impl PathClass {
    pub fn of(path: &str) -> PathClass {
        let mut components: Vec<&str> = path.split('/').collect();
        let file = components.pop().unwrap_or("");
        let stem = file.strip_suffix(".pyi").or_else(|| file.strip_suffix(".py")).unwrap_or(file);
        let generated_directory = components.iter().any(|c| matches!(*c, "migrations" | "generated" | "_generated"));
        if generated_directory || stem.ends_with("_pb2") || stem.ends_with("_pb2_grpc") || stem.ends_with("_generated") {
            return PathClass::Generated;
        }
        let test_directory = components.iter().any(|c| matches!(*c, "tests" | "test"));
        if test_directory || stem.starts_with("test_") || stem.ends_with("_test") || stem == "conftest" || stem == "tests" {
            return PathClass::Test;
        }
        PathClass::Source
    }

    pub fn from_u64(value: u64) -> PathClass {
        match value {
            1 => PathClass::Test,
            2 => PathClass::Generated,
            _ => PathClass::Source,
        }
    }

    /// The factor a hit's score is multiplied by.
    pub fn weight(self) -> f32 {
        match self {
            PathClass::Source => 1.0,
            PathClass::Test => 0.8,
            PathClass::Generated => 0.5,
        }
    }
}

/// Whether chunks of `kind` get a document.
pub fn indexed(kind: ChunkKind) -> bool {
    !matches!(kind, ChunkKind::Repository | ChunkKind::Fragment)
}

/// The name a chunk is searched by: the last part of its qualified name for modules, classes
/// and functions; none for module code.
pub fn chunk_name(chunk: &Chunk) -> &str {
    match chunk.kind {
        ChunkKind::Module | ChunkKind::Class | ChunkKind::Function | ChunkKind::Method => {
            chunk.qualified_name.rsplit('.').next().unwrap_or(&chunk.qualified_name)
        }
        _ => "",
    }
}

/// The documents of the chunks of one file (`chunks` as the ChunkBuilder made them from
/// `text`) for which `wanted` holds. Chunks that are not indexed are skipped.
pub fn documents(fields: &Fields, chunks: &[Chunk], text: &str, wanted: impl Fn(&Chunk) -> bool) -> Vec<TantivyDocument> {
    let spans = OwnSpans::new(chunks);
    let mut documents = Vec::new();
    for (index, chunk) in chunks.iter().enumerate() {
        if !indexed(chunk.kind) || !wanted(chunk) {
            continue;
        }
        let mut body = String::new();
        for (start, end) in spans.own(index) {
            if let Some(piece) = text.get(start..end) {
                if !body.is_empty() {
                    body.push('\n');
                }
                body.push_str(piece);
            }
        }
        let mut doc = chunk.docstring.clone().unwrap_or_default();
        for comment in comments(&body) {
            doc.push('\n');
            doc.push_str(comment);
        }
        let name = chunk_name(chunk);
        let mut document = TantivyDocument::new();
        document.add_text(fields.id, &chunk.id);
        document.add_text(fields.path, &chunk.path);
        document.add_text(fields.path_text, &chunk.path);
        document.add_text(fields.kind, chunk.kind.as_str());
        document.add_text(fields.name, name);
        if !name.is_empty() {
            document.add_text(fields.name_key, name.to_lowercase());
        }
        document.add_text(fields.qualified, &chunk.qualified_name);
        document.add_text(fields.signature, &chunk.signature);
        document.add_text(fields.doc, &doc);
        document.add_text(fields.body, &body);
        document.add_u64(fields.class, PathClass::of(&chunk.path) as u64);
        document.add_u64(fields.name_length, name.chars().count() as u64);
        documents.push(document);
    }
    documents
}

/// The documents of every indexed chunk of one file.
pub fn all_documents(fields: &Fields, chunks: &[Chunk], text: &str) -> Vec<TantivyDocument> {
    documents(fields, chunks, text, |_| true)
}

/// The documents of the chunks of one file whose ids are in `ids`.
pub fn documents_for(fields: &Fields, chunks: &[Chunk], text: &str, ids: &HashSet<&str>) -> Vec<TantivyDocument> {
    documents(fields, chunks, text, |chunk| ids.contains(chunk.id.as_str()))
}

/// Ids of the indexed chunks of `after` that have the same id and content hash in `before`
/// but another document: a signature or docstring read differently from the tree, or an own
/// text cut differently (the chunks inside changed, relative to its start). A chunk's text does
/// not decide these: after a syntax error, tree-sitter's recovery depends on text outside it (an
/// edit at the end of a file can stop a `def` inside an unchanged module-code run being one).
pub fn stale_documents<'c>(before: &[Chunk], after: &'c [Chunk]) -> Vec<&'c str> {
    let old: std::collections::HashMap<&str, usize> =
        before.iter().enumerate().filter(|(_, chunk)| indexed(chunk.kind)).map(|(index, chunk)| (chunk.id.as_str(), index)).collect();
    if old.is_empty() {
        return Vec::new();
    }
    let (old_spans, new_spans) = (OwnSpans::new(before), OwnSpans::new(after));
    let relative = |chunk: &Chunk, ranges: Vec<(usize, usize)>| {
        let start = chunk.start_byte;
        ranges.into_iter().map(move |(from, to)| (from - start, to - start))
    };
    after
        .iter()
        .enumerate()
        .filter_map(|(index, chunk)| {
            let &previous = old.get(chunk.id.as_str())?;
            let was = &before[previous];
            let stale = was.content_hash == chunk.content_hash
                && (was.signature != chunk.signature
                    || was.docstring != chunk.docstring
                    || !relative(was, old_spans.own(previous)).eq(relative(chunk, new_spans.own(index))));
            stale.then_some(chunk.id.as_str())
        })
        .collect()
}

/// The stored string of `field` in a retrieved document.
pub fn stored_text(document: &TantivyDocument, field: Field) -> Option<&str> {
    document.get_first(field).and_then(|value| value.as_str())
}

/// Own text: each indexed chunk's span minus the spans of the indexed chunks inside it.
/// Chunk spans nest (a definition inside a top-level `if` lies inside a module-code run while
/// its parent is the module), so "inside" is decided by spans, not by parents.
struct OwnSpans<'a> {
    chunks: &'a [Chunk],
    /// Indexed chunks by (start, longer first, document order).
    order: Vec<usize>,
    /// Place of each chunk in `order` (usize::MAX: not indexed).
    place: Vec<usize>,
    /// For each place in `order`: the first later place whose chunk starts at or after this
    /// chunk's end (skips everything inside it).
    after: Vec<usize>,
}

impl<'a> OwnSpans<'a> {
    fn new(chunks: &'a [Chunk]) -> OwnSpans<'a> {
        let mut order: Vec<usize> = (0..chunks.len()).filter(|&i| indexed(chunks[i].kind)).collect();
        order.sort_by_key(|&i| (chunks[i].start_byte, std::cmp::Reverse(chunks[i].end_byte), i));
        let mut place = vec![usize::MAX; chunks.len()];
        for (at, &i) in order.iter().enumerate() {
            place[i] = at;
        }
        // after[p]: the next place q > p with start(q) >= end(p), found with a stack of places
        // still waiting for their end to be passed.
        let mut after = vec![order.len(); order.len()];
        let mut waiting: Vec<usize> = Vec::new();
        for (at, &i) in order.iter().enumerate() {
            let start = chunks[i].start_byte;
            waiting.retain(|&p| {
                if start >= chunks[order[p]].end_byte {
                    after[p] = at;
                    false
                } else {
                    true
                }
            });
            waiting.push(at);
        }
        OwnSpans { chunks, order, place, after }
    }

    /// The byte ranges of chunk `index`'s own text, in order.
    fn own(&self, index: usize) -> Vec<(usize, usize)> {
        let chunk = &self.chunks[index];
        let (start, end) = (chunk.start_byte, chunk.end_byte);
        let mut ranges = Vec::new();
        let mut cursor = start;
        let mut at = self.place[index].saturating_add(1);
        while at < self.order.len() {
            let inner = &self.chunks[self.order[at]];
            if inner.start_byte >= end {
                break;
            }
            if inner.start_byte > cursor {
                ranges.push((cursor, inner.start_byte));
            }
            cursor = cursor.max(inner.end_byte.min(end));
            at = self.after[at];
        }
        if cursor < end {
            ranges.push((cursor, end));
        }
        ranges
    }
}

/// The comments of Python source: the text after each `#` that is not inside a string
/// literal of its line, lines ending at `\n`, `\r\n` or a lone `\r` as in CPython (so texts of
/// one content hash have the same comments). (A `#` inside a multi-line string counts too: this
/// feeds a ranking signal, not an analysis.)
fn comments(text: &str) -> impl Iterator<Item = &str> {
    text.split(['\n', '\r']).filter_map(|line| {
        let mut quote: Option<u8> = None;
        let bytes = line.as_bytes();
        let mut index = 0;
        while index < bytes.len() {
            let byte = bytes[index];
            match quote {
                Some(_) if byte == b'\\' => index += 1,
                Some(open) if byte == open => quote = None,
                None if byte == b'"' || byte == b'\'' => quote = Some(byte),
                None if byte == b'#' => return Some(line[index + 1..].trim()).filter(|comment| !comment.is_empty()),
                _ => {}
            }
            index += 1;
        }
        None
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunks::chunk_document;
    use crate::parse::Document;

    fn chunks_of(path: &str, text: &str) -> Vec<Chunk> {
        chunk_document("repo", "root", path, &Document::new(text.to_string())).0
    }

    /// Every indexed chunk's own text, as `qualified name: text` lines.
    fn own_texts(text: &str) -> Vec<String> {
        let chunks = chunks_of("pkg/mod.py", text);
        let spans = OwnSpans::new(&chunks);
        (0..chunks.len())
            .filter(|&i| indexed(chunks[i].kind))
            .map(|i| {
                let pieces: Vec<&str> = spans.own(i).into_iter().map(|(s, e)| text[s..e].trim()).filter(|p| !p.is_empty()).collect();
                format!("{}: {}", chunks[i].qualified_name, pieces.join(" | "))
            })
            .collect()
    }

    #[test]
    fn own_text_leaves_out_contained_chunks() {
        let text = "import os\n\nclass A:\n    x = 1\n    def m(self):\n        def inner():\n            return 2\n        return inner\n\nif os:\n    def f():\n        pass\n";
        assert_eq!(
            own_texts(text),
            [
                "pkg.mod: ",
                "pkg.mod.<module>: import os",
                "pkg.mod.A: class A:\n    x = 1",
                "pkg.mod.A.m: def m(self): | return inner",
                "pkg.mod.A.m.inner: def inner():\n            return 2",
                "pkg.mod.<module>: if os:",
                "pkg.mod.f: def f():\n        pass",
            ]
        );
    }

    #[test]
    fn stale_documents_are_other_readings_of_the_same_text() {
        let text = "def\ndef handler(=1):\n    return helper\n";
        let before = chunks_of("m.py", text);
        assert!(stale_documents(&before, &chunks_of("m.py", &format!("\n\n{text}"))).is_empty(), "moved");
        // The comment makes the recovery end `handler` at its header (a new hash): the module
        // code around it keeps its text but now owns the return.
        let after = chunks_of("m.py", &format!("{text}# def"));
        let module_code = after.iter().find(|chunk| chunk.kind == ChunkKind::ModuleCode).expect("module code");
        assert_eq!(stale_documents(&before, &after), [module_code.id.as_str()]);
        // A class whose header the recovery reads up to another colon after a later edit.
        let text = "im#\n\n\nclass Handler:\n    \"\"\"Doc.\"\"\"\n    def get(self, request):\n        value\n    def    :\n\n\n\ndef helper():\n    return 1\n";
        let before = chunks_of("m.py", text);
        let after = chunks_of("m.py", &text.replacen("    :\n\n", "    :\n)def \n", 1));
        let class = |chunks: &[Chunk]| chunks.iter().find(|chunk| chunk.kind == ChunkKind::Class).cloned().expect("class");
        assert_eq!((class(&before).content_hash, class(&before).signature.as_str()), (class(&after).content_hash, "class Handler:"));
        assert_ne!(class(&after).signature, "class Handler:");
        assert_eq!(stale_documents(&before, &after), [class(&after).id.as_str()]);
    }

    #[test]
    fn comments_skip_hashes_in_strings() {
        let found: Vec<&str> = comments("x = 1  # one\ns = '#not' # two\n# three\nu = \"a\\\"#b\"\n").collect();
        assert_eq!(found, ["one", "two", "three"]);
    }

    #[test]
    fn a_comment_ends_at_a_lone_carriage_return() {
        let found: Vec<&str> = comments("x = 1  # one\ry = 2 # two\r\n# three").collect();
        assert_eq!(found, ["one", "two", "three"]);
    }

    #[test]
    fn path_classes() {
        assert_eq!(PathClass::of("pkg/views.py"), PathClass::Source);
        assert_eq!(PathClass::of("tests/test_views.py"), PathClass::Test);
        assert_eq!(PathClass::of("pkg/test_views.py"), PathClass::Test);
        assert_eq!(PathClass::of("pkg/views_test.py"), PathClass::Test);
        assert_eq!(PathClass::of("conftest.py"), PathClass::Test);
        assert_eq!(PathClass::of("app/migrations/0001_initial.py"), PathClass::Generated);
        assert_eq!(PathClass::of("proto/service_pb2.py"), PathClass::Generated);
        assert_eq!(PathClass::of("contest.py"), PathClass::Source);
    }

    #[test]
    fn fragments_and_the_repository_get_no_document() {
        let body: String = (0..200).map(|i| format!("    x{i} = {i}\n")).collect();
        let text = format!("def big():\n{body}");
        let chunks = chunks_of("m.py", &text);
        assert!(chunks.iter().any(|c| c.kind == ChunkKind::Fragment));
        let (_, fields) = schema();
        let documents = all_documents(&fields, &chunks, &text);
        assert_eq!(documents.len(), 2, "the module and `big`");
    }
}
