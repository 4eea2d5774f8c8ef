//! Lexical code search over chunks: a tantivy index held in memory, one document per chunk
//! (see `schema.rs` for the fields), with a code-aware tokenizer (`tokenizer.rs`), copied to
//! disk and reopened from there by `store.rs`.
//!
//! Invariants:
//! - The index answers for the texts it was last given: `Workspace` deletes the documents of
//!   removed and changed chunk ids (and of unchanged ones whose document changed all the same,
//!   `schema::stale_documents`) and adds those of added and changed ones after every update,
//!   and the next search commits first, so an edit is searchable at once. A commit is a RAM
//!   flush (no disk), made only when a search needs it or when many operations are pending.
//! - One long-lived `IndexReader`, reloaded by hand after each commit.
//! - Disk is never on the way of an edit or a search: the index lives in a RAM directory, and
//!   `store_job` copies a committed state out of it (shared bytes) for `store::StoreJob::write`
//!   to write without the index; an index reopened from disk (`open_stored`) is loaded into a
//!   RAM directory too.
//! - Errors of the index are errors of the index, never of the analysed code: a failed writer
//!   marks the index broken, and the owner rebuilds it from the chunks.
//! - An exact identifier wins: a query word equal to a chunk's whole (lowercased) name scores
//!   through the `name_key` field on top of the name's tokens, which any chunk merely sharing a
//!   part of the name lacks.

pub mod schema;
pub mod store;
pub mod tokenizer;

use tantivy::collector::TopDocs;
use tantivy::directory::{Directory, RamDirectory};
use tantivy::query::{BooleanQuery, BoostQuery, ConstScoreQuery, Occur, Query, TermQuery, TermSetQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::{
    DocAddress, DocId, Index, IndexReader, IndexSettings, IndexWriter, ReloadPolicy, Score, SegmentReader, TantivyDocument, Term,
};

use crate::chunks::ChunkKind;
use schema::{Fields, PathClass};
use tokenizer::code_tokens;

/// Pending writer operations that force a commit even without a search (bounds the memory of
/// uncommitted segments in a long session with no search).
const COMMIT_EVERY_OPERATIONS: usize = 10_000;

/// Memory each indexing thread may fill before it flushes a segment (tantivy's minimum).
const WRITER_MEMORY_BYTES: usize = 15_000_000;

/// Indexing threads of a bulk build, at most, and the fewest documents worth them.
const BULK_THREADS: usize = 4;
const BULK_MIN_DOCUMENTS: usize = 2_000;

/// Chunk kinds `workspace/symbol` lists.
pub const SYMBOL_KINDS: &[ChunkKind] = &[ChunkKind::Module, ChunkKind::Class, ChunkKind::Function, ChunkKind::Method];

/// Query words ignored when the query has other words: English glue of natural-language
/// queries. (Python keywords are left to BM25: `for`, `in` and `is` are rare in names.)
const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "can", "do", "does", "how", "i", "into", "it", "of", "on", "or", "that", "the",
    "this", "to", "we", "what", "when", "where", "which", "who", "why", "with",
];

/// Distinct terms of a free-text query used, at most (the first ones).
const MAX_QUERY_TERMS: usize = 64;

/// Field boosts of a free-text query. Chosen on docstring → function retrieval over the
/// standard library (natural-language queries: heavy name boosts pull up functions merely
/// named like one query word) against searches by a function's name and by its name's words
/// (where the name and its key decide); the exact-name key keeps identifiers first.
const NAME_BOOST: Score = 1.0;
const NAME_KEY_BOOST: Score = 3.0;
const QUALIFIED_BOOST: Score = 0.5;
const SIGNATURE_BOOST: Score = 0.5;
const DOC_BOOST: Score = 1.0;
const BODY_BOOST: Score = 1.0;
const PATH_BOOST: Score = 0.25;
/// Weight of an identifier's parts relative to the whole identifier.
const PART_WEIGHT: Score = 0.8;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SearchMode {
    /// Free text (identifiers, words, dotted names) over every field, BM25-ranked.
    Text,
    /// Names only, for `workspace/symbol`: exact, prefix, part prefix, substring, subsequence
    /// and typo (edit distance) matches, in that order; modules, classes and functions only.
    Symbols,
}

/// A matching chunk as the index knows it: id, path and score. Positions come from the live
/// chunk (`Workspace::search`).
#[derive(Clone, Debug, PartialEq)]
pub struct LexicalHit {
    pub chunk_id: String,
    pub path: String,
    pub score: Score,
}

pub struct LexicalIndex {
    index: Index,
    /// The directory the index lives in (shared with `index`): its files are what `store_job`
    /// copies.
    ram: RamDirectory,
    fields: Fields,
    /// Absent only while a bulk writer replaces it, or when a new one could not be made (then
    /// the index is broken).
    writer: Option<IndexWriter>,
    reader: IndexReader,
    /// Writer operations since the last commit.
    uncommitted: usize,
    /// Why the writer failed, if it did: the owner must rebuild the index.
    broken: Option<String>,
    /// Writer operations (adds and deletes) ever made on this index, and how many of them the
    /// last state written to disk held (None: never written, nor read from disk).
    operations: u64,
    stored: Option<u64>,
    /// Documents added to this index (by this process).
    added: u64,
}

impl LexicalIndex {
    /// An empty index in memory, with one indexing thread and one merge thread.
    pub fn new() -> tantivy::Result<LexicalIndex> {
        let (schema, fields) = schema::schema();
        let ram = RamDirectory::create();
        let index = Index::create(ram.clone(), schema, IndexSettings::default())?;
        LexicalIndex::over(index, ram, fields)
    }

    fn over(index: Index, ram: RamDirectory, fields: Fields) -> tantivy::Result<LexicalIndex> {
        schema::register_tokenizers(&index);
        let writer = writer(&index, 1)?;
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        Ok(LexicalIndex {
            index,
            ram,
            fields,
            writer: Some(writer),
            reader,
            uncommitted: 0,
            broken: None,
            operations: 0,
            stored: None,
            added: 0,
        })
    }

    /// The index stored in cache directory `cache` for `root` (see `store.rs`), in memory,
    /// with the sources its documents were made from; `Rejected` when it cannot be trusted.
    pub fn open_stored(cache: &std::path::Path, root: &std::path::Path) -> Result<(LexicalIndex, Vec<store::Source>), store::Rejected> {
        let loaded = store::load(cache, root)?;
        let failed = |error: tantivy::TantivyError| store::Rejected::Invalid(format!("cannot open: {error}"));
        let index = Index::open(loaded.directory.clone()).map_err(failed)?;
        let (schema, fields) = schema::schema();
        if index.schema() != schema {
            return Err(store::Rejected::Invalid("another schema".to_string()));
        }
        let mut opened = LexicalIndex::over(index, loaded.directory, fields).map_err(failed)?;
        opened.stored = Some(0);
        Ok((opened, loaded.sources))
    }

    /// A committed copy of the index (every operation so far) to be written to the store of
    /// cache directory `cache` for `root`, with the `sources` its documents were made from
    /// (sorted by key); None when the store holds this state already. Cheap: the files' bytes
    /// are shared, not copied. Call `stored` with the returned operation count once written.
    pub fn store_job(
        &mut self,
        cache: &std::path::Path,
        root: &std::path::Path,
        sources: impl FnOnce() -> Vec<store::Source>,
    ) -> Result<Option<(store::StoreJob, u64)>, String> {
        if self.stored == Some(self.operations) {
            return Ok(None);
        }
        self.commit()?;
        // Holding the meta keeps its segments' files from tantivy's garbage collection.
        let meta = self.index.load_metas().map_err(|error| error.to_string())?;
        let mut files = Vec::new();
        let mut names: Vec<std::path::PathBuf> = meta.list_segment_files().into_iter().collect();
        names.sort();
        for name in names {
            let slice = match self.ram.open_read(&name) {
                Ok(slice) => slice,
                Err(tantivy::directory::error::OpenReadError::FileDoesNotExist(_)) => continue, // a component this segment lacks
                Err(error) => return Err(error.to_string()),
            };
            let bytes = slice.read_bytes().map_err(|error| error.to_string())?;
            files.push((name.to_string_lossy().into_owned(), bytes));
        }
        let meta_json = serde_json::to_vec(&meta).map_err(|error| error.to_string())?;
        let job = store::StoreJob {
            directory: store::store_directory(cache),
            root: root.to_path_buf(),
            meta: meta_json,
            files,
            sources: sources(),
        };
        Ok(Some((job, self.operations)))
    }

    /// Notes that the state after `operations` operations is on disk (`store_job`).
    pub fn stored(&mut self, operations: u64) {
        self.stored = Some(operations);
    }

    /// Forgets that any state is on disk (the store moved).
    pub fn forget_stored(&mut self) {
        self.stored = None;
    }

    /// Documents added to this index by this process (not read from disk).
    pub fn added(&self) -> u64 {
        self.added
    }

    /// Adds many documents (a whole repository), batch by batch as `batches` makes them (so
    /// they are never all in memory at once), with one indexing thread per core up to
    /// BULK_THREADS when `expected` documents are worth it, and commits; later updates go
    /// through one thread again.
    pub fn add_bulk(&mut self, expected: usize, batches: impl IntoIterator<Item = Vec<TantivyDocument>>) {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(BULK_THREADS);
        if threads < 2 || expected < BULK_MIN_DOCUMENTS || self.broken.is_some() {
            for batch in batches {
                self.add(batch);
            }
            return;
        }
        if let Err(error) = self.commit() {
            self.broken.get_or_insert(error);
            return;
        }
        // One writer at a time per index: the single-threaded one steps aside.
        drop(self.writer.take());
        let bulk = (|| -> tantivy::Result<IndexWriter> {
            let mut bulk = writer(&self.index, threads)?;
            for batch in batches {
                for document in batch {
                    bulk.add_document(document)?;
                    self.added += 1;
                    self.operations += 1;
                }
            }
            bulk.commit()?;
            Ok(bulk)
        })();
        match bulk.and_then(|bulk| {
            drop(bulk);
            self.reader.reload()?;
            writer(&self.index, 1)
        }) {
            Ok(single) => self.writer = Some(single),
            Err(error) => {
                self.broken.get_or_insert(error.to_string());
            }
        }
    }

    pub fn fields(&self) -> &Fields {
        &self.fields
    }

    /// Why the index cannot be trusted any more (a writer failure), if it cannot.
    pub fn broken(&self) -> Option<&str> {
        self.broken.as_deref()
    }

    /// Removes the document of chunk `id` (if any).
    pub fn delete(&mut self, id: &str) {
        if let Some(writer) = &self.writer {
            writer.delete_term(Term::from_field_text(self.fields.id, id));
        }
        self.operation_done();
    }

    /// Removes the documents of the source file `path` (its key: every chunk's `path`).
    pub fn delete_path(&mut self, path: &str) {
        if let Some(writer) = &self.writer {
            writer.delete_term(Term::from_field_text(self.fields.path, path));
        }
        self.operation_done();
    }

    /// Adds documents made by `schema::documents`.
    pub fn add(&mut self, documents: Vec<TantivyDocument>) {
        for document in documents {
            let Some(writer) = &self.writer else { return };
            if let Err(error) = writer.add_document(document) {
                self.broken.get_or_insert_with(|| error.to_string());
                return;
            }
            self.added += 1;
            self.operation_done();
        }
    }

    fn operation_done(&mut self) {
        self.operations += 1;
        self.uncommitted += 1;
        if self.uncommitted >= COMMIT_EVERY_OPERATIONS {
            if let Err(error) = self.commit() {
                self.broken.get_or_insert(error);
            }
        }
    }

    /// Makes every operation so far visible to searches (a no-op when nothing is pending).
    pub fn commit(&mut self) -> Result<(), String> {
        if let Some(broken) = &self.broken {
            return Err(broken.clone());
        }
        if self.uncommitted == 0 {
            return Ok(());
        }
        let result = match self.writer.as_mut() {
            None => Err("the search index has no writer".to_string()),
            Some(writer) => writer.commit().and_then(|_| self.reader.reload()).map_err(|error| error.to_string()),
        };
        match result {
            Ok(()) => {
                self.uncommitted = 0;
                Ok(())
            }
            Err(error) => Err(self.broken.get_or_insert(error).clone()),
        }
    }

    /// Documents searchable now (after the last commit).
    pub fn documents(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// The best `limit` chunks for `query`, best first. Commits pending operations first.
    pub fn search(&mut self, query: &str, limit: usize, mode: SearchMode) -> Result<Vec<LexicalHit>, String> {
        self.commit()?;
        let searcher = self.reader.searcher();
        // No more than there are documents (the collector reserves room for `limit`).
        let limit = limit.min(usize::try_from(searcher.num_docs()).unwrap_or(usize::MAX));
        if limit == 0 {
            return Ok(Vec::new());
        }
        let query = match mode {
            SearchMode::Text => text_query(&self.fields, query),
            SearchMode::Symbols => symbol_query(&searcher, &self.fields, query).map_err(|error| error.to_string())?,
        };
        let Some(query) = query else { return Ok(Vec::new()) };
        let collector = TopDocs::with_limit(limit).tweak_score(move |segment: &SegmentReader| {
            let class = segment.fast_fields().u64("class").ok().map(|column| column.first_or_default_col(0));
            let length = segment.fast_fields().u64("name_length").ok().map(|column| column.first_or_default_col(0));
            move |doc: DocId, score: Score| {
                let class = class.as_ref().map_or(PathClass::Source, |class| PathClass::from_u64(class.get_val(doc)));
                match mode {
                    SearchMode::Text => score * class.weight(),
                    // Match kinds add up to scores at least 1 apart: below that, a test or
                    // generated file comes after a source file, then shorter names first.
                    SearchMode::Symbols => {
                        let length = length.as_ref().map_or(0, |length| length.get_val(doc)) as Score;
                        score - 0.5 * (1.0 - class.weight()) + 0.25 / (1.0 + length)
                    }
                }
            }
        });
        let top: Vec<(Score, DocAddress)> = searcher.search(&*query, &collector).map_err(|error| error.to_string())?;
        let mut hits = Vec::with_capacity(top.len());
        for (score, address) in top {
            let document: TantivyDocument = searcher.doc(address).map_err(|error| error.to_string())?;
            let (Some(id), Some(path)) = (schema::stored_text(&document, self.fields.id), schema::stored_text(&document, self.fields.path))
            else {
                continue;
            };
            hits.push(LexicalHit { chunk_id: id.to_string(), path: path.to_string(), score });
        }
        Ok(hits)
    }
}

/// A writer with `threads` indexing threads and one merge thread.
fn writer(index: &Index, threads: usize) -> tantivy::Result<IndexWriter> {
    let options = tantivy::indexer::IndexWriterOptions::builder()
        .memory_budget_per_thread(WRITER_MEMORY_BYTES)
        .num_worker_threads(threads)
        .num_merge_threads(1)
        .build();
    index.writer_with_options(options)
}

fn term_query(field: tantivy::schema::Field, text: &str, boost: Score) -> Box<dyn Query> {
    let query = TermQuery::new(Term::from_field_text(field, text), IndexRecordOption::WithFreqs);
    Box::new(BoostQuery::new(Box::new(query), boost))
}

/// A free-text query: every query token over every text field (BM25, boosted per field),
/// plus the exact-name key for each whole word and for the words joined (`chat controller`
/// finds `ChatController` and `chat_controller`). None when the query has no token.
fn text_query(fields: &Fields, text: &str) -> Option<Box<dyn Query>> {
    let tokens = code_tokens(text);
    // Whole words are the first token at each position; the rest are their parts.
    let mut weighted: Vec<(String, Score)> = Vec::new();
    let mut places: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut words: Vec<String> = Vec::new();
    let mut last_position = None;
    for (position, token) in tokens {
        let whole = last_position != Some(position);
        last_position = Some(position);
        let weight = if whole { 1.0 } else { PART_WEIGHT };
        match places.get(&token) {
            Some(&place) => weighted[place].1 = weighted[place].1.max(weight),
            None if weighted.len() < MAX_QUERY_TERMS => {
                places.insert(token.clone(), weighted.len());
                if whole {
                    words.push(token.clone());
                }
                weighted.push((token, weight));
            }
            None => break,
        }
    }
    if weighted.iter().any(|(token, _)| !STOP_WORDS.contains(&token.as_str())) {
        weighted.retain(|(token, _)| !STOP_WORDS.contains(&token.as_str()));
        words.retain(|word| !STOP_WORDS.contains(&word.as_str()));
    }
    if weighted.is_empty() {
        return None;
    }
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for (token, weight) in &weighted {
        for (field, boost) in [
            (fields.name, NAME_BOOST),
            (fields.qualified, QUALIFIED_BOOST),
            (fields.signature, SIGNATURE_BOOST),
            (fields.doc, DOC_BOOST),
            (fields.body, BODY_BOOST),
            (fields.path_text, PATH_BOOST),
        ] {
            clauses.push((Occur::Should, term_query(field, token, boost * weight)));
        }
    }
    // The query's words each as a whole name (their weight shared: in a query of several
    // words, one word naming a chunk must not outweigh chunks matching them all), and all of
    // them joined as one name at full weight.
    for word in &words {
        clauses.push((Occur::Should, term_query(fields.name_key, word, NAME_KEY_BOOST / words.len() as Score)));
    }
    if words.len() > 1 {
        for joined in [words.concat(), words.join("_")] {
            clauses.push((Occur::Should, term_query(fields.name_key, &joined, NAME_KEY_BOOST)));
        }
    }
    Some(Box::new(BooleanQuery::new(clauses)))
}

fn constant(query: impl Query, score: Score) -> Box<dyn Query> {
    Box::new(ConstScoreQuery::new(Box::new(query), score))
}

/// What each kind of name match adds to a symbol's score (an exact name is also a prefix, a
/// substring and a subsequence of itself). Sums of distinct sets differ by at least 1.
const EXACT: u32 = 32;
const PREFIX: u32 = 16;
const PART_PREFIX: u32 = 8;
const SUBSTRING: u32 = 4;
const SUBSEQUENCE: u32 = 2;
const TYPO: u32 = 1;

/// A names-only query for `workspace/symbol`. Names are matched by scanning the `name_key`
/// dictionary (one entry per distinct name) and the prefix range of the `name` dictionary
/// (identifier parts); the matching terms become one constant-score term set per score, so
/// an exact name beats a prefix, a prefix beats a part prefix, and so on down to a typo;
/// among equal matches, source files before tests and generated files, shorter names first
/// (see `search`). `a.b.Name` matches `Name` and prefers chunks whose qualified name holds
/// `a` and `b`. An empty query lists symbols, shortest names first. None: nothing matches.
fn symbol_query(searcher: &tantivy::Searcher, fields: &Fields, text: &str) -> tantivy::Result<Option<Box<dyn Query>>> {
    let text = text.trim();
    let (container, name) = match text.rsplit_once('.') {
        Some((container, name)) => (container, name),
        None => ("", text),
    };
    let key: String =
        name.chars().filter(|&c| c == '_' || c.is_alphanumeric()).flat_map(char::to_lowercase).take(tokenizer::MAX_WORD_BYTES).collect();
    let kinds = TermSetQuery::new(SYMBOL_KINDS.iter().map(|kind| Term::from_field_text(fields.kind, kind.as_str())));
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, constant(kinds, 0.0))];
    if key.is_empty() {
        return Ok(Some(Box::new(BooleanQuery::new(clauses))));
    }
    let matcher = NameMatcher::new(&key);
    let mut scores: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
    let mut parts: std::collections::HashSet<String> = std::collections::HashSet::new();
    for segment in searcher.segment_readers() {
        let names = segment.inverted_index(fields.name_key)?;
        let mut stream = names.terms().stream()?;
        while stream.advance() {
            let Ok(name) = std::str::from_utf8(stream.key()) else { continue };
            let score = matcher.score(name);
            if score > 0 {
                scores.insert(name.to_string(), score);
            }
        }
        let words = segment.inverted_index(fields.name)?;
        let mut stream = words.terms().range().ge(key.as_bytes()).into_stream()?;
        while stream.advance() && stream.key().starts_with(key.as_bytes()) {
            if let Ok(part) = std::str::from_utf8(stream.key()) {
                parts.insert(part.to_string());
            }
        }
    }
    let mut by_score: std::collections::BTreeMap<u32, Vec<Term>> = std::collections::BTreeMap::new();
    for (name, score) in scores {
        by_score.entry(score).or_default().push(Term::from_field_text(fields.name_key, &name));
    }
    let mut matches: Vec<Box<dyn Query>> =
        by_score.into_iter().map(|(score, terms)| constant(TermSetQuery::new(terms), score as Score)).collect();
    if !parts.is_empty() {
        let terms = parts.iter().map(|part| Term::from_field_text(fields.name, part));
        matches.push(constant(TermSetQuery::new(terms), PART_PREFIX as Score));
    }
    if matches.is_empty() {
        return Ok(None);
    }
    clauses.push((Occur::Must, Box::new(BooleanQuery::union(matches))));
    for (_, part) in code_tokens(container) {
        clauses
            .push((Occur::Should, constant(TermQuery::new(Term::from_field_text(fields.qualified, &part), IndexRecordOption::Basic), 0.1)));
    }
    Ok(Some(Box::new(BooleanQuery::new(clauses))))
}

/// Matches names (lowercased) against a symbol query key.
struct NameMatcher<'a> {
    key: &'a str,
    key_chars: Vec<char>,
    /// Edits allowed for a typo match: 0 (none) below 4 characters, 1 below 8, then 2.
    typos: usize,
}

impl<'a> NameMatcher<'a> {
    fn new(key: &'a str) -> NameMatcher<'a> {
        let key_chars: Vec<char> = key.chars().collect();
        let typos = match key_chars.len() {
            0..4 => 0,
            4..8 => 1,
            _ => 2,
        };
        NameMatcher { key, key_chars, typos }
    }

    /// The sum of the kinds of match `name` is (0: none).
    fn score(&self, name: &str) -> u32 {
        let mut score = 0;
        if name == self.key {
            score += EXACT;
        }
        if name.starts_with(self.key) {
            score += PREFIX;
        }
        if name.contains(self.key) {
            score += SUBSTRING;
        }
        let mut wanted = self.key_chars.iter().peekable();
        for c in name.chars() {
            if wanted.peek() == Some(&&c) {
                wanted.next();
            }
        }
        if wanted.peek().is_none() {
            score += SUBSEQUENCE;
        }
        if self.typos > 0 && within_edits(&self.key_chars, name, self.typos) {
            score += TYPO;
        }
        score
    }
}

/// Whether `name` is at most `limit` edits (insertions, deletions, substitutions, swaps of
/// neighbours) from `key`: the optimal-string-alignment distance, stopped once every cell of
/// a row is over the limit.
fn within_edits(key: &[char], name: &str, limit: usize) -> bool {
    let name: Vec<char> = name.chars().collect();
    if name.len().abs_diff(key.len()) > limit {
        return false;
    }
    let width = key.len() + 1;
    let mut before: Vec<usize> = Vec::new();
    let mut previous: Vec<usize> = (0..width).collect();
    let mut current = vec![0; width];
    for (i, &n) in name.iter().enumerate() {
        current[0] = i + 1;
        let mut best = current[0];
        for j in 1..width {
            let cost = usize::from(key[j - 1] != n);
            let mut value = (previous[j] + 1).min(current[j - 1] + 1).min(previous[j - 1] + cost);
            if i > 0 && j > 1 && key[j - 1] == name[i - 1] && key[j - 2] == n {
                value = value.min(before[j - 2] + 1);
            }
            current[j] = value;
            best = best.min(value);
        }
        if best > limit {
            return false;
        }
        before = std::mem::replace(&mut previous, std::mem::take(&mut current));
        current = vec![0; width];
    }
    previous[width - 1] <= limit
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunks::{chunk_document, Chunk};
    use crate::parse::Document;

    /// An index over `files` (path, text) and the chunks of each file.
    fn index(files: &[(&str, &str)]) -> (LexicalIndex, Vec<Chunk>) {
        let mut index = LexicalIndex::new().expect("an index in memory");
        let mut all = Vec::new();
        for (path, text) in files {
            let chunks = chunk_document("repo", "root", path, &Document::new(text.to_string())).0;
            let documents = schema::all_documents(index.fields(), &chunks, text);
            index.add(documents);
            all.extend(chunks);
        }
        (index, all)
    }

    fn names(index: &mut LexicalIndex, chunks: &[Chunk], query: &str, mode: SearchMode) -> Vec<String> {
        index
            .search(query, 10, mode)
            .expect("search")
            .into_iter()
            .map(|hit| chunks.iter().find(|c| c.id == hit.chunk_id).expect("a known chunk").qualified_name.clone())
            .collect()
    }

    const CONTROLLERS: &str = "\
class ChatControllerTests:
    def test_chat(self):
        controller = make_chat_controller()

class ChatController:
    \"\"\"Routes chat messages.\"\"\"

def chat_controller_factory():
    return ChatController()

class Controller:
    pass
";

    #[test]
    fn an_exact_identifier_wins() {
        let (mut index, chunks) = index(&[("app/chat.py", CONTROLLERS)]);
        for query in ["chatcontroller", "ChatController", "chatController"] {
            let found = names(&mut index, &chunks, query, SearchMode::Text);
            assert_eq!(found.first().map(String::as_str), Some("app.chat.ChatController"), "{query}: {found:?}");
        }
        let found = names(&mut index, &chunks, "Controller", SearchMode::Text);
        assert_eq!(found.first().map(String::as_str), Some("app.chat.Controller"), "{found:?}");
    }

    #[test]
    fn words_find_parts_of_identifiers() {
        let (mut index, chunks) = index(&[("app/chat.py", CONTROLLERS)]);
        let found = names(&mut index, &chunks, "chat controller factory", SearchMode::Text);
        assert_eq!(found.first().map(String::as_str), Some("app.chat.chat_controller_factory"), "{found:?}");
        let found = names(&mut index, &chunks, "routes messages", SearchMode::Text);
        assert_eq!(found.first().map(String::as_str), Some("app.chat.ChatController"), "docstring: {found:?}");
    }

    #[test]
    fn tests_are_down_weighted() {
        let text = "def parse_header(line):\n    return line\n";
        let (mut index, chunks) = index(&[("tests/test_http.py", text), ("http/headers.py", text)]);
        let hits = index.search("parse_header", 10, SearchMode::Text).expect("search");
        let paths: Vec<&str> = hits.iter().map(|hit| hit.path.as_str()).collect();
        assert_eq!(&paths[..2], ["http/headers.py", "tests/test_http.py"]);
        assert!(hits[0].score > hits[1].score);
        let _ = chunks;
    }

    #[test]
    fn symbols_rank_exact_then_prefix_then_fuzzy() {
        let (mut index, chunks) = index(&[("app/chat.py", CONTROLLERS)]);
        assert_eq!(
            names(&mut index, &chunks, "ChatController", SearchMode::Symbols)[..3],
            ["app.chat.ChatController", "app.chat.ChatControllerTests", "app.chat.chat_controller_factory"]
        );
        // Subsequence: c·h·a·t·c·t·r·l.
        let found = names(&mut index, &chunks, "chtctrl", SearchMode::Symbols);
        assert_eq!(found[0], "app.chat.ChatController", "{found:?}");
        // A typo.
        let found = names(&mut index, &chunks, "ChatControler", SearchMode::Symbols);
        assert_eq!(found[0], "app.chat.ChatController", "{found:?}");
        // A camel-case part's prefix.
        let found = names(&mut index, &chunks, "contr", SearchMode::Symbols);
        assert_eq!(found[0], "app.chat.Controller", "{found:?}");
        // Module code and unrelated names never match.
        assert!(names(&mut index, &chunks, "zzzz", SearchMode::Symbols).is_empty());
    }

    #[test]
    fn an_empty_symbol_query_lists_symbols() {
        let (mut index, chunks) = index(&[("app/chat.py", CONTROLLERS)]);
        let found = names(&mut index, &chunks, "", SearchMode::Symbols);
        assert_eq!(found.len(), 6, "{found:?}");
        assert!(names(&mut index, &chunks, "  ", SearchMode::Text).is_empty());
    }

    #[test]
    fn a_bulk_build_leaves_a_writer_for_updates() {
        let text: String = (0..BULK_MIN_DOCUMENTS).map(|i| format!("def handler_{i}(request):\n    return {i}\n")).collect();
        let chunks = chunk_document("repo", "root", "app/views.py", &Document::new(text.clone())).0;
        let mut index = LexicalIndex::new().expect("an index in memory");
        let documents = schema::all_documents(index.fields(), &chunks, &text);
        index.add_bulk(documents.len(), documents.chunks(100).map(<[TantivyDocument]>::to_vec));
        assert_eq!(index.documents(), BULK_MIN_DOCUMENTS as u64 + 1);
        assert_eq!(names(&mut index, &chunks, "handler_7", SearchMode::Text)[0], "app.views.handler_7");
        let target = chunks.iter().find(|c| c.qualified_name == "app.views.handler_7").expect("chunk");
        index.delete(&target.id);
        assert_ne!(names(&mut index, &chunks, "handler_7", SearchMode::Text).first(), Some(&target.qualified_name));
        assert!(index.broken().is_none());
    }

    #[test]
    fn a_huge_limit_is_the_number_of_documents() {
        let (mut index, chunks) = index(&[("app/chat.py", CONTROLLERS)]);
        assert_eq!(names(&mut index, &chunks, "", SearchMode::Symbols).len(), 6);
        assert_eq!(index.search("", usize::MAX, SearchMode::Symbols).expect("search").len(), 6);
        assert!(!index.search("chat", usize::MAX, SearchMode::Text).expect("search").is_empty());
    }

    #[test]
    fn huge_queries_are_cut_short() {
        let (mut index, chunks) = index(&[("app/chat.py", CONTROLLERS)]);
        let words: String = (0..20_000).map(|i| format!("w{i} ")).collect();
        let query = format!("Controller {words}");
        assert_eq!(names(&mut index, &chunks, &query, SearchMode::Text).first().map(String::as_str), Some("app.chat.Controller"));
        let long_name = "c".repeat(1 << 20);
        assert!(names(&mut index, &chunks, &long_name, SearchMode::Symbols).is_empty());
    }

    #[test]
    fn edit_distance_with_swaps() {
        let key: Vec<char> = "paginator".chars().collect();
        assert!(within_edits(&key, "paginator", 0));
        assert!(within_edits(&key, "paginatr", 1));
        assert!(within_edits(&key, "pagiantor", 1), "a swap is one edit");
        assert!(within_edits(&key, "pagnatr", 2));
        assert!(!within_edits(&key, "pagnatr", 1));
        assert!(!within_edits(&key, "paginatorsx", 1));
        assert!(!within_edits(&key, "calculator", 2));
    }

    #[test]
    fn deleted_documents_are_gone_after_the_next_search() {
        let (mut index, chunks) = index(&[("app/chat.py", CONTROLLERS)]);
        let target = chunks.iter().find(|c| c.qualified_name == "app.chat.Controller").expect("chunk");
        assert!(names(&mut index, &chunks, "Controller", SearchMode::Text).contains(&target.qualified_name));
        index.delete(&target.id);
        assert!(!names(&mut index, &chunks, "Controller", SearchMode::Text).contains(&target.qualified_name));
    }
}
