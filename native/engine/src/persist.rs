//! The persistent cache: what a run learnt (file hashes and texts, the per-function analysis
//! cache, the last scan's findings), written to one file under a cache directory so that the
//! next run — a `flowsight scan` or a server restart — analyses only what changed.
//!
//! File layout (`analysis.bin`): `MAGIC`, then the header length (u32 LE) and the header
//! (postcard: schema version, flowsight version, project root, rules fingerprint), then the
//! payload length (u64 LE), its CRC-32 (u32 LE) and the payload (postcard `Snapshot`).
//!
//! Cache directory layout: `analysis.bin`; `published.bin` (a workspace's last published
//! findings, below); `trees/` (a scan's syntax trees, one file per text hash: `trees`, with
//! its own invariants — a tree is checked against its text and this build, and never changes a
//! result); `search/` (the search index, `lexical/store.rs`).
//!
//! Invariants:
//! - A cache is used only when its magic, schema version, flowsight version and project root
//!   are this run's, its length and checksum match and it decodes into a consistent
//!   `AnalysisCache` (`AnalysisCache::check`); anything else is a `Rejected` with a one-line
//!   reason and the run starts from scratch. Reading never panics on any bytes (tested on
//!   truncated, random and foreign files).
//! - Rules are part of the header: a cache written with other rules — other packs, disabled
//!   rules or threat models (all in `RuleSet::fingerprint`) — is rejected as a whole
//!   (`Rejected::RulesChanged`, without a notice: changing rules is ordinary).
//! - A scan of several repositories has one cache (its display root's): each program's
//!   analysis is stored under its repositories' identities and seeds only a program of exactly
//!   those repositories; the stored scan result is used only for the same repositories.
//! - Writes are atomic: a temporary file in the same directory, renamed over the old file. A
//!   process killed at any moment leaves the old cache, the new one, or a stale temporary file
//!   that is never read (and is removed by a later write once it is old). Nothing is fsynced
//!   (the cache is derived data): a crash of the machine may leave a torn file, which its length
//!   and checksum reject, and the run starts from scratch.
//! - A file's entry holds its text's SHA-256 and its text (zstd): an unchanged file is known by
//!   its hash, a changed one gets an exact `TextChange` against its old text, so cached places
//!   below the edit move instead of being recomputed.
//! - The stored trees (`trees/`) are independent of `analysis.bin`: neither names the other, a
//!   missing or damaged tree only costs a parse, and they are used whatever `analysis.bin` holds
//!   (another rules' cache too), since a tree depends only on its text and the grammar.

pub mod trees;

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::source::FileError;
use crate::taint::{AnalysisCache, AnalysisStats, Finding, TextChange};

/// Bumped whenever the layout or any persisted type changes, or what the analysis computes for
/// an unchanged function does (8: lambdas as scopes, parameter defaults, callbacks; 9: functions
/// that never return; 10: Tornado, Bottle and Pyramid render sites, a render site's settings key),
/// so a cache written by an older engine of the same release is rebuilt, not trusted.
pub const SCHEMA_VERSION: u32 = 10;
/// The version of flowsight that wrote a cache; another version's cache is rebuilt.
pub const FLOWSIGHT_VERSION: &str = env!("CARGO_PKG_VERSION");
/// The cache file inside the cache directory.
pub const CACHE_FILE: &str = "analysis.bin";
const MAGIC: &[u8; 16] = b"flowsight-cache\0";
/// What the last analysis published (`Published`), beside the cache file.
pub const PUBLISHED_FILE: &str = "published.bin";
const PUBLISHED_MAGIC: &[u8; 16] = b"flowsight-publ\0\0";
/// A temporary file is named after the file it replaces plus this and a unique suffix.
const TEMP_SUFFIX: &str = ".tmp.";
/// A temporary file older than this is a crashed write's leftover and may be removed.
const STALE_TEMP_SECONDS: u64 = 600;
const ZSTD_LEVEL: i32 = 3;

#[derive(Serialize, Deserialize, Debug, PartialEq, Eq)]
struct Header {
    schema: u32,
    version: String,
    root: String,
    rules: String,
}

/// One file as the cached run saw it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct FileEntry {
    pub path: String,
    /// SHA-256 of the text.
    pub hash: [u8; 32],
    /// The text, zstd-compressed.
    pub text: Vec<u8>,
    /// What parsing the text reported (syntax errors, too deep).
    pub parse_errors: Vec<FileError>,
}

/// The result of a scan, valid while the repositories and every file's path and hash are the
/// same.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct StoredScan {
    /// The identities (root paths) of the scan's repositories, in order.
    pub repositories: Vec<String>,
    pub findings: Vec<Finding>,
    pub functions: usize,
    pub stats: AnalysisStats,
}

/// The analysis of one program: a group of a scan's repositories analysed together
/// (`scan::analysis_groups`), or a workspace (one repository, its root).
#[derive(Serialize, Deserialize)]
pub struct StoredAnalysis {
    /// The identities (root paths) of the program's repositories, sorted.
    pub repositories: Vec<String>,
    pub analysis: AnalysisCache,
}

/// Everything persisted for one root (a scan's display root or a workspace's root).
#[derive(Serialize, Deserialize, Default)]
pub struct Snapshot {
    /// Sorted by path (relative to the root).
    pub files: Vec<FileEntry>,
    /// One per program; a program's files are keyed as in the program (relative to its
    /// repository's root when it is one repository, else to the root).
    pub analyses: Vec<StoredAnalysis>,
    pub scan: Option<StoredScan>,
}

/// Why a cache file was not used (one line, for a notice).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rejected {
    /// No cache yet: nothing to say.
    Missing,
    /// Written with other rules: rebuilt without a notice (changing rules is ordinary).
    RulesChanged,
    /// Unreadable, truncated, corrupt, another schema, version, root or rules.
    Invalid(String),
}

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rejected::Missing => write!(f, "no cache yet"),
            Rejected::RulesChanged => write!(f, "rules changed"),
            Rejected::Invalid(reason) => write!(f, "{reason}"),
        }
    }
}

pub fn text_hash(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

pub fn compress(text: &str) -> Vec<u8> {
    zstd::bulk::compress(text.as_bytes(), ZSTD_LEVEL).unwrap_or_default()
}

/// The text of an entry (None if it does not decompress to the text it was hashed from).
pub fn decompress(entry: &FileEntry) -> Option<String> {
    let bytes = zstd::stream::decode_all(entry.text.as_slice()).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    (text_hash(&text) == entry.hash).then_some(text)
}

impl Snapshot {
    /// The entry of `path`.
    pub fn file(&self, path: &str) -> Option<&FileEntry> {
        self.files.binary_search_by(|entry| entry.path.as_str().cmp(path)).ok().map(|index| &self.files[index])
    }

    /// Whether the snapshot saw exactly these (path, hash) pairs (sorted by path).
    pub fn same_files(&self, current: &[(&str, [u8; 32])]) -> bool {
        self.files.len() == current.len()
            && self.files.iter().zip(current).all(|(entry, (path, hash))| entry.path == *path && entry.hash == *hash)
    }

    /// Whether `path` (with `text`, whose hash is `hash`) changed since the snapshot: None if
    /// not; Some(the exact change of its text) if it did, Some(None) if the snapshot did not
    /// know it (or its stored text).
    pub fn change(&self, path: &str, text: &str, hash: [u8; 32]) -> Option<Option<TextChange>> {
        match self.file(path) {
            Some(entry) if entry.hash == hash => None,
            Some(entry) => Some(decompress(entry).map(|old| TextChange::between(&old, text))),
            None => Some(None),
        }
    }

    /// For the current texts: the files changed since the snapshot (new or with another hash)
    /// and, for changed files the snapshot knew, the exact change of their text.
    pub fn changes<'a>(
        &self,
        current: impl IntoIterator<Item = (&'a str, &'a str, [u8; 32])>,
    ) -> (HashSet<String>, HashMap<String, TextChange>) {
        let mut changed = HashSet::new();
        let mut changes = HashMap::new();
        for (path, text, hash) in current {
            if let Some(change) = self.change(path, text, hash) {
                changed.insert(path.to_string());
                if let Some(change) = change {
                    changes.insert(path.to_string(), change);
                }
            }
        }
        (changed, changes)
    }
}

/// The cache file of `dir`.
pub fn cache_file(dir: &Path) -> PathBuf {
    dir.join(CACHE_FILE)
}

fn header(root: &Path, rules: &str) -> Header {
    Header {
        schema: SCHEMA_VERSION,
        version: FLOWSIGHT_VERSION.to_string(),
        root: root.to_string_lossy().into_owned(),
        rules: rules.to_string(),
    }
}

/// Encodes `snapshot` as the bytes of a cache file.
pub fn encode(snapshot: &Snapshot, root: &Path, rules: &str) -> Result<Vec<u8>, String> {
    let header = postcard::to_stdvec(&header(root, rules)).map_err(|error| error.to_string())?;
    let payload = postcard::to_stdvec(snapshot).map_err(|error| error.to_string())?;
    Ok(crate::framing::frame(MAGIC, &header, &payload))
}

/// Decodes cache file bytes written for `root` and `rules`; anything else is `Rejected`.
pub fn decode(bytes: &[u8], root: &Path, rules: &str) -> Result<Snapshot, Rejected> {
    let invalid = |reason: &str| Rejected::Invalid(reason.to_string());
    let framed = crate::framing::unframe(bytes, MAGIC).map_err(|problem| match problem {
        "wrong magic" => invalid("not a flowsight cache"),
        other => invalid(other),
    })?;
    let header_bytes = framed.header;
    let found: Header = postcard::from_bytes(header_bytes).map_err(|_| invalid("corrupt header"))?;
    let expected = header(root, rules);
    if found.schema != expected.schema {
        return Err(Rejected::Invalid(format!("schema {} (this flowsight reads {})", found.schema, expected.schema)));
    }
    if found.version != expected.version {
        return Err(Rejected::Invalid(format!("written by flowsight {}", found.version)));
    }
    if found.root != expected.root {
        return Err(invalid("written for another project root"));
    }
    if found.rules != expected.rules {
        return Err(Rejected::RulesChanged);
    }
    let payload = framed.payload.map_err(invalid)?;
    let snapshot: Snapshot = postcard::from_bytes(payload).map_err(|_| invalid("corrupt payload"))?;
    if !snapshot.files.windows(2).all(|pair| pair[0].path < pair[1].path) {
        return Err(invalid("files out of order"));
    }
    for stored in &snapshot.analyses {
        stored.analysis.check().map_err(|reason| Rejected::Invalid(format!("inconsistent analysis: {reason}")))?;
    }
    Ok(snapshot)
}

/// Reads the cache of `dir` written for `root` and `rules`.
pub fn load(dir: &Path, root: &Path, rules: &str) -> Result<Snapshot, Rejected> {
    match std::fs::read(cache_file(dir)) {
        Ok(bytes) => decode(&bytes, root, rules),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Err(Rejected::Missing),
        Err(error) => Err(Rejected::Invalid(format!("cannot read: {error}"))),
    }
}

/// Writes `bytes` as the cache of `dir` atomically (see `write_named`).
pub fn write_bytes(dir: &Path, bytes: &[u8]) -> std::io::Result<u64> {
    write_named(dir, CACHE_FILE, bytes)
}

/// Writes `bytes` as the file `name` of `dir` atomically (temporary file, rename). Returns the
/// size written. No fsync: a process killed at any moment leaves the old file or the new one
/// whole (the page cache holds what was written); only a crash of the machine may leave a torn
/// file, which its length and checksum reject (the cache is rebuilt, never trusted). Syncing
/// cost 0.02–0.35 s of every cached scan (17 MB on Django), as the disk's other traffic decided.
pub fn write_named(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<u64> {
    std::fs::create_dir_all(dir)?;
    let ignore = dir.join(".gitignore");
    if !ignore.exists() {
        // The directory ignores itself wherever it is.
        let _ = std::fs::write(&ignore, "*\n");
    }
    remove_stale_temporaries(dir);
    replace_file(dir, name, bytes)?;
    Ok(bytes.len() as u64)
}

static NEXT_TEMPORARY: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Writes `bytes` as `dir/name` through a temporary file of its own (`name` + `TEMP_SUFFIX` +
/// process id + a counter: unique among concurrent writers) renamed over it; the temporary
/// file is removed when writing fails. No fsync (see `write_named`).
pub(crate) fn replace_file(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    let serial = NEXT_TEMPORARY.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let temporary = dir.join(format!("{name}{TEMP_SUFFIX}{}.{serial}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(&temporary)?;
        file.write_all(bytes)?;
        drop(file);
        std::fs::rename(&temporary, dir.join(name))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result
}

/// Encodes and writes `snapshot` (see `write_bytes`).
pub fn save(dir: &Path, snapshot: &Snapshot, root: &Path, rules: &str) -> Result<u64, String> {
    let bytes = encode(snapshot, root, rules)?;
    write_bytes(dir, &bytes).map_err(|error| format!("cannot write {}: {error}", dir.display()))
}

/// Removes temporary files left by writes that did not finish (older than a few minutes, so a
/// concurrent writer's file is left alone).
fn remove_stale_temporaries(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if ![CACHE_FILE, PUBLISHED_FILE].iter().any(|file| name.starts_with(&format!("{file}{TEMP_SUFFIX}"))) {
            continue;
        }
        let old = entry
            .metadata()
            .and_then(|metadata| metadata.modified())
            .ok()
            .and_then(|modified| modified.elapsed().ok())
            .is_some_and(|age| age.as_secs() >= STALE_TEMP_SECONDS);
        if old {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// One syntax error as published: 0-based lines, UTF-8 byte columns, the message.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct PublishedSyntaxError {
    pub start_line: usize,
    pub start_column: usize,
    pub end_line: usize,
    pub end_column: usize,
    pub message: String,
}

/// What a workspace's last analysis published, so a restarted server can publish it again
/// before it parses anything (`Workspace::published_again`). Valid only for exactly these files
/// with these texts (and the header's root, rules and flowsight version): a changed, added or
/// removed file makes it unused, never partly used.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct Published {
    /// The analysis identity (repository and source roots, `walk::analysis_identity`).
    pub identity: String,
    /// Every file of the analysis and the SHA-256 of its text, sorted by path.
    pub files: Vec<(String, [u8; 32])>,
    pub findings: Vec<Finding>,
    /// The syntax errors of each file that has any (at most `PUBLISHED_SYNTAX_ERRORS` each), by path.
    pub syntax: Vec<(String, Vec<PublishedSyntaxError>)>,
}

/// Syntax errors kept per file in `Published` (the server shows at most this many).
pub const PUBLISHED_SYNTAX_ERRORS: usize = 100;

/// Encodes and writes `published` beside the cache file of `dir` (atomically, see `write_named`).
pub fn save_published(dir: &Path, published: &Published, root: &Path, rules: &str) -> Result<u64, String> {
    let header = postcard::to_stdvec(&header(root, rules)).map_err(|error| error.to_string())?;
    let payload = postcard::to_stdvec(published).map_err(|error| error.to_string())?;
    let bytes = crate::framing::frame(PUBLISHED_MAGIC, &header, &payload);
    write_named(dir, PUBLISHED_FILE, &bytes).map_err(|error| format!("cannot write {}: {error}", dir.display()))
}

/// Reads what was published in `dir` for `root` and `rules`: None when missing, damaged,
/// foreign (another root, rules, schema or flowsight version) or inconsistent.
pub fn load_published(dir: &Path, root: &Path, rules: &str) -> Option<Published> {
    let bytes = std::fs::read(dir.join(PUBLISHED_FILE)).ok()?;
    let framed = crate::framing::unframe(&bytes, PUBLISHED_MAGIC).ok()?;
    let found: Header = postcard::from_bytes(framed.header).ok()?;
    if found != header(root, rules) {
        return None;
    }
    let published: Published = postcard::from_bytes(framed.payload.ok()?).ok()?;
    let sorted = published.files.windows(2).all(|pair| pair[0].0 < pair[1].0);
    sorted.then_some(published)
}

/// Entries for the current texts (sorted by path): an entry of `previous` with the same hash is
/// taken as it is (its compressed text reused), others are compressed now (in parallel).
pub fn entries(previous: Option<&Snapshot>, current: Vec<(String, &str, [u8; 32], Vec<FileError>)>) -> Vec<FileEntry> {
    use rayon::prelude::*;
    let mut entries: Vec<FileEntry> = current
        .into_par_iter()
        .map(|(path, text, hash, parse_errors)| {
            match previous.and_then(|snapshot| snapshot.file(&path)).filter(|entry| entry.hash == hash) {
                Some(entry) => FileEntry { path, hash, text: entry.text.clone(), parse_errors },
                None => FileEntry { text: compress(text), path, hash, parse_errors },
            }
        })
        .collect();
    entries.sort_unstable_by(|a, b| a.path.cmp(&b.path));
    entries.dedup_by(|a, b| a.path == b.path);
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot() -> Snapshot {
        let text = "def f(x):\n    return x\n";
        Snapshot { files: entries(None, vec![("a.py".into(), text, text_hash(text), Vec::new())]), analyses: Vec::new(), scan: None }
    }

    #[test]
    fn a_snapshot_round_trips_and_every_header_field_is_checked() {
        let root = Path::new("/project");
        let bytes = encode(&snapshot(), root, "rules").unwrap();
        let loaded = decode(&bytes, root, "rules").unwrap();
        assert_eq!(loaded.files, snapshot().files);
        assert_eq!(decompress(&loaded.files[0]).as_deref(), Some("def f(x):\n    return x\n"));
        assert_eq!(decode(&bytes, Path::new("/other"), "rules").err(), Some(Rejected::Invalid("written for another project root".into())));
        assert_eq!(decode(&bytes, root, "other").err(), Some(Rejected::RulesChanged));
    }

    #[test]
    fn another_schema_or_flowsight_version_is_rejected() {
        let root = Path::new("/project");
        let bytes = encode(&snapshot(), root, "rules").unwrap();
        let with_header = |header: Header| {
            let encoded = postcard::to_stdvec(&header).unwrap();
            let old_length = u32::from_le_bytes(bytes[16..20].try_into().unwrap()) as usize;
            [&bytes[..16], &(encoded.len() as u32).to_le_bytes(), &encoded, &bytes[20 + old_length..]].concat()
        };
        let other_schema = with_header(Header { schema: SCHEMA_VERSION + 1, ..super::header(root, "rules") });
        assert_eq!(
            decode(&other_schema, root, "rules").err(),
            Some(Rejected::Invalid(format!("schema {} (this flowsight reads {SCHEMA_VERSION})", SCHEMA_VERSION + 1)))
        );
        let other_version = with_header(Header { version: "0.0.1-old".into(), ..super::header(root, "rules") });
        assert_eq!(decode(&other_version, root, "rules").err(), Some(Rejected::Invalid("written by flowsight 0.0.1-old".into())));
        // The same header again: accepted (the splice itself is sound).
        assert!(decode(&with_header(super::header(root, "rules")), root, "rules").is_ok());
    }

    #[test]
    fn truncated_or_flipped_bytes_are_rejected_never_a_panic() {
        let root = Path::new("/project");
        let bytes = encode(&snapshot(), root, "rules").unwrap();
        for length in 0..bytes.len() {
            assert!(decode(&bytes[..length], root, "rules").is_err(), "{length} bytes accepted");
        }
        for index in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[index] ^= 0x5a;
            assert!(decode(&flipped, root, "rules").is_err(), "byte {index} flipped accepted");
        }
    }

    #[test]
    fn what_was_published_round_trips_and_anything_else_is_not_used() {
        let dir = std::env::temp_dir().join(format!("flowsight-published-{}-{}", std::process::id(), line!()));
        let root = Path::new("/project");
        let published = Published {
            identity: "/project".into(),
            files: vec![("a.py".into(), text_hash("a")), ("b.py".into(), text_hash("b"))],
            findings: Vec::new(),
            syntax: vec![(
                "b.py".into(),
                vec![PublishedSyntaxError { start_line: 1, start_column: 0, end_line: 1, end_column: 3, message: "invalid syntax".into() }],
            )],
        };
        save_published(&dir, &published, root, "rules").unwrap();
        assert_eq!(load_published(&dir, root, "rules"), Some(published.clone()));
        assert_eq!(load_published(&dir, Path::new("/other"), "rules"), None);
        assert_eq!(load_published(&dir, root, "other rules"), None);
        // A killed write's leftover is never read; damaged bytes are never trusted.
        std::fs::write(dir.join(format!("{PUBLISHED_FILE}{TEMP_SUFFIX}1.2")), b"partial").unwrap();
        assert_eq!(load_published(&dir, root, "rules"), Some(published));
        let bytes = std::fs::read(dir.join(PUBLISHED_FILE)).unwrap();
        for length in [0, 10, bytes.len() / 2, bytes.len() - 1] {
            std::fs::write(dir.join(PUBLISHED_FILE), &bytes[..length]).unwrap();
            assert_eq!(load_published(&dir, root, "rules"), None, "{length} bytes");
        }
        for index in (0..bytes.len()).step_by(7) {
            let mut flipped = bytes.clone();
            flipped[index] ^= 0x5a;
            std::fs::write(dir.join(PUBLISHED_FILE), &flipped).unwrap();
            assert_eq!(load_published(&dir, root, "rules"), None, "byte {index} flipped");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn changes_name_new_and_edited_files_with_exact_text_changes() {
        let old = snapshot();
        let new_text = "import os\ndef f(x):\n    return x\n";
        let (changed, changes) = old.changes([("a.py", new_text, text_hash(new_text)), ("b.py", "", text_hash(""))]);
        assert_eq!(changed, HashSet::from(["a.py".to_string(), "b.py".to_string()]));
        assert_eq!(changes.get("a.py"), Some(&TextChange { start: 0, old_end: 0, new_end: 10 }));
        assert!(!changes.contains_key("b.py"));
        let same = "def f(x):\n    return x\n";
        assert!(old.changes([("a.py", same, text_hash(same))]).0.is_empty());
    }
}
