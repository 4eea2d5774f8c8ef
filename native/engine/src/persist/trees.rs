//! The scan's stored syntax trees: one file per text under `<cache>/trees/`, named by the
//! text's SHA-256 (hex), so that a cached scan builds an unchanged file's `Document` from its
//! stored tree instead of parsing it (`scan::parse_files`).
//!
//! A tree file is framed as every cache file (`framing`: magic, header, payload length, CRC-32,
//! payload); the header holds the schema and flowsight versions, the grammar's fingerprint
//! (`syntax::tree::grammar_fingerprint`), the text's SHA-256 and length and the node count; the
//! payload is `SyntaxTree::to_records` (byte planes), zstd-compressed. The header also names
//! the records' layout (`LAYOUT`).
//!
//! Invariants:
//! - Only trees without syntax errors are stored (`to_records`): a file with an `ERROR` or
//!   `MISSING` node (recovered definitions, error characters) is parsed on every run.
//! - A tree is used only when its header is exactly this build's and this text's, its checksum
//!   and length match and its records are a consistent tree over the text
//!   (`SyntaxTree::from_records`); otherwise the file is parsed and its tree written again.
//!   Reading never panics on any bytes (tested on truncated, random and foreign files). So
//!   the result of a scan never depends on the trees, only its time.
//! - Content-addressed: a tree file, once written, is never changed, so one file changed in a
//!   scan writes one tree and rewrites nothing. Written to a temporary file and renamed, without
//!   fsync: a crash may leave a temporary file (removed once old) or a damaged tree file, which
//!   a later scan rejects and replaces; `analysis.bin` never refers to a tree.
//! - Used by the scan and by the workspace (the server): `workspace::read_files` builds a file
//!   from its tree, `Workspace::persist_trees` stores the trees of a workspace's texts.
//! - A tree lives while runs use it: loading it (on the open handle) and storing it set its
//!   modification time (a loaded tree's only when it is over `REFRESH_AFTER` old, as Go's build
//!   cache does, so a run does not rewrite every inode); `remove_unused` removes the trees not
//!   used for `MAX_UNUSED_AGE` (30 days) that the run does not use. So a scan of one
//!   sub-directory keeps the trees of another's files (the same cache directory for the
//!   project), and a file deleted or changed has its old tree removed 30 days later. The server
//!   also removes at once the trees it wrote itself for texts it no longer has (an editor's
//!   intermediate texts).

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::parse::Document;
use crate::syntax::tree::{grammar_fingerprint, SyntaxTree, RECORD_BYTES};

/// The trees' directory inside the cache directory.
pub const TREES_DIR: &str = "trees";
const MAGIC: &[u8; 16] = b"flowsight-tree\0\0";
/// zstd's fastest level: decompression speed is what matters, and it does not depend on the
/// level; higher levels shrink Django's trees little for several times the write time.
const ZSTD_LEVEL: i32 = 1;
/// A stored tree may hold at most this many nodes per byte of text (plus a few), so a
/// damaged header never makes a reader allocate more than a real tree could need.
const MAX_NODES_PER_BYTE: usize = 8;

/// A stored tree that no run used (loaded or stored) for this long is removed by the next
/// `remove_unused` (the cache's age bound: a tree used again is kept, whatever the run).
pub const MAX_UNUSED_AGE: Duration = Duration::from_secs(30 * 24 * 60 * 60);
/// A loaded tree's modification time is set again only when it is older than this: the age
/// bound needs days, not seconds, and a run then does not write every tree's inode.
pub const REFRESH_AFTER: Duration = Duration::from_secs(60 * 60);

/// What was done with stored trees (`persist::trees`) by a cached scan or a workspace.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TreeCounts {
    /// Files built from their stored tree (not parsed).
    pub loaded: usize,
    /// Trees written (files parsed without syntax errors whose tree was not stored or not valid).
    pub written: usize,
    /// Trees removed (`remove_unused`, and a workspace's own trees of texts gone).
    pub removed: usize,
}

/// The layout of the records in a tree file, bumped when `SyntaxTree::to_records` changes (1:
/// whole records; 2: byte planes). Apart from `SCHEMA_VERSION` so that it does not invalidate
/// `analysis.bin`.
const LAYOUT: u32 = 2;

#[derive(Serialize, Deserialize, Debug, PartialEq, Eq)]
struct Header {
    schema: u32,
    layout: u32,
    version: String,
    grammar: u64,
    text: [u8; 32],
    text_len: u64,
    nodes: u64,
}

fn header(hash: &[u8; 32], text_len: usize, nodes: usize) -> Header {
    Header {
        schema: super::SCHEMA_VERSION,
        layout: LAYOUT,
        version: super::FLOWSIGHT_VERSION.to_string(),
        grammar: grammar_fingerprint(),
        text: *hash,
        text_len: text_len as u64,
        nodes: nodes as u64,
    }
}

fn max_nodes(text_len: usize) -> usize {
    text_len.saturating_mul(MAX_NODES_PER_BYTE).saturating_add(64)
}

/// The trees' directory of the cache directory `dir`.
pub fn trees_dir(dir: &Path) -> PathBuf {
    dir.join(TREES_DIR)
}

/// The file name of the tree of the text whose SHA-256 is `hash`.
pub fn hex(hash: &[u8; 32]) -> String {
    hash.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The bytes of the tree file of `tree`, parsed from a text of `text_len` bytes whose SHA-256
/// is `hash`; None for a tree with syntax errors (or too many nodes to be read back).
pub fn encode(tree: &SyntaxTree, hash: &[u8; 32], text_len: usize) -> Option<Vec<u8>> {
    if tree.node_count() > max_nodes(text_len) {
        return None;
    }
    let records = tree.to_records()?;
    let payload = zstd::bulk::compress(&records, ZSTD_LEVEL).ok()?;
    let header = postcard::to_stdvec(&header(hash, text_len, tree.node_count())).ok()?;
    Some(crate::framing::frame(MAGIC, &header, &payload))
}

/// The document of `text` (SHA-256 `hash`) from tree file bytes; `Err` gives the text back
/// with why the bytes were not used.
pub fn decode(bytes: &[u8], hash: &[u8; 32], text: String) -> Result<Document, (String, &'static str)> {
    let framed = match crate::framing::unframe(bytes, MAGIC) {
        Ok(framed) => framed,
        Err(problem) => return Err((text, problem)),
    };
    let Ok(found) = postcard::from_bytes::<Header>(framed.header) else { return Err((text, "corrupt header")) };
    let nodes = found.nodes as usize;
    if found != header(hash, text.len(), nodes) || nodes == 0 || nodes > max_nodes(text.len()) {
        return Err((text, "another text, grammar or version"));
    }
    let payload = match framed.payload {
        Ok(payload) => payload,
        Err(problem) => return Err((text, problem)),
    };
    let Ok(records) = zstd::bulk::decompress(payload, nodes * RECORD_BYTES) else { return Err((text, "corrupt payload")) };
    if records.len() != nodes * RECORD_BYTES {
        return Err((text, "node count"));
    }
    Document::from_records(text, &records).map_err(|text| (text, "inconsistent tree"))
}

/// The document of `text` (SHA-256 `hash`) from its stored tree in `trees` (a `trees_dir`), if
/// one is there and valid; else the text back. A tree used is marked used now (its
/// modification time, set on the open handle when over `REFRESH_AFTER` old; see `remove_unused`).
/// A tree file that does not check is removed (the caller parses; a later store writes it anew).
pub fn load(trees: &Path, hash: &[u8; 32], text: String) -> Result<Document, String> {
    let path = trees.join(hex(hash));
    let Ok(mut file) = std::fs::File::open(&path) else { return Err(text) };
    let Ok(metadata) = file.metadata() else { return Err(text) };
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
    if file.read_to_end(&mut bytes).is_err() {
        return Err(text);
    }
    let document = match decode(&bytes, hash, text) {
        Ok(document) => document,
        Err((text, _)) => {
            let _ = std::fs::remove_file(&path);
            return Err(text);
        }
    };
    let now = SystemTime::now();
    let stale = metadata.modified().ok().and_then(|modified| now.duration_since(modified).ok()).is_none_or(|age| age >= REFRESH_AFTER);
    if stale {
        // Best effort: a tree not refreshed is at worst removed and parsed again later.
        let _ = file.set_modified(now);
    }
    Ok(document)
}

/// Stores the tree of `document` (whose text's SHA-256 is `hash`) in `trees` (created by the
/// caller): a temporary file renamed to its name. Returns whether a tree was written (not for
/// a tree with syntax errors, nor when writing failed: the file is parsed next time).
pub fn store(trees: &Path, hash: &[u8; 32], document: &Document) -> bool {
    let Some(bytes) = encode(document.tree(), hash, document.text().len()) else { return false };
    super::replace_file(trees, &hex(hash), &bytes).is_ok()
}

/// The hashes of the trees stored in `trees` (by file name; nothing read).
pub fn stored(trees: &Path) -> HashSet<String> {
    let Ok(entries) = std::fs::read_dir(trees) else { return HashSet::new() };
    entries
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| !name.contains(super::TEMP_SUFFIX))
        .collect()
}

/// Removes the tree of the text whose SHA-256 is `hash`, if stored; whether it was.
pub fn remove(trees: &Path, hash: &[u8; 32]) -> bool {
    std::fs::remove_file(trees.join(hex(hash))).is_ok()
}

/// Removes from `trees` every tree not used for `MAX_UNUSED_AGE` (by its modification time)
/// whose text is not among `keep` (the hashes of a run's files: never removed), and temporary
/// files older than a few minutes (a concurrent writer's are left alone). Returns how many
/// files were removed.
pub fn remove_unused(trees: &Path, keep: &HashSet<[u8; 32]>) -> usize {
    let Ok(entries) = std::fs::read_dir(trees) else { return 0 };
    let kept: HashSet<String> = keep.iter().map(hex).collect();
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let age = || entry.metadata().and_then(|metadata| metadata.modified()).ok().and_then(|modified| modified.elapsed().ok());
        let remove = if name.contains(super::TEMP_SUFFIX) {
            age().is_some_and(|age| age.as_secs() >= super::STALE_TEMP_SECONDS)
        } else {
            !kept.contains(&name) && age().is_some_and(|age| age >= MAX_UNUSED_AGE)
        };
        if remove && std::fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "import os\n\n\ndef f(a, *b):\n    return os.path.join(a, b[0])\n";

    fn stored() -> (Vec<u8>, [u8; 32]) {
        let hash = super::super::text_hash(TEXT);
        (encode(Document::new(TEXT.to_string()).tree(), &hash, TEXT.len()).expect("no syntax errors"), hash)
    }

    #[test]
    fn a_tree_file_reads_back_and_every_truncation_or_flipped_byte_is_refused() {
        let (bytes, hash) = stored();
        let document = decode(&bytes, &hash, TEXT.to_string()).unwrap_or_else(|(_, why)| panic!("{why}"));
        assert_eq!(document.root().to_sexp(), Document::new(TEXT.to_string()).root().to_sexp());
        for length in 0..bytes.len() {
            assert!(decode(&bytes[..length], &hash, TEXT.to_string()).is_err(), "{length} bytes accepted");
        }
        for index in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[index] ^= 0x5a;
            assert!(decode(&flipped, &hash, TEXT.to_string()).is_err(), "byte {index} flipped accepted");
        }
    }

    #[test]
    fn a_tree_of_another_text_schema_or_grammar_is_refused() {
        let (bytes, hash) = stored();
        let other = super::super::text_hash("x = 1\n");
        assert_eq!(decode(&bytes, &other, TEXT.to_string()).err().map(|(_, why)| why), Some("another text, grammar or version"));
        let reframed = |header: Header| {
            let framed = crate::framing::unframe(&bytes, MAGIC).expect("framed");
            crate::framing::frame(MAGIC, &postcard::to_stdvec(&header).expect("encoded"), framed.payload.expect("payload"))
        };
        let nodes = Document::new(TEXT.to_string()).tree().node_count();
        assert!(decode(&reframed(header(&hash, TEXT.len(), nodes)), &hash, TEXT.to_string()).is_ok(), "the splice itself is sound");
        for foreign in [
            Header { schema: super::super::SCHEMA_VERSION + 1, ..header(&hash, TEXT.len(), nodes) },
            Header { version: "0.0.1-old".into(), ..header(&hash, TEXT.len(), nodes) },
            Header { layout: LAYOUT - 1, ..header(&hash, TEXT.len(), nodes) },
            Header { grammar: grammar_fingerprint() ^ 1, ..header(&hash, TEXT.len(), nodes) },
            Header { nodes: nodes as u64 + 1, ..header(&hash, TEXT.len(), nodes) },
            Header { nodes: u64::MAX, ..header(&hash, TEXT.len(), nodes) },
        ] {
            assert!(decode(&reframed(foreign), &hash, TEXT.to_string()).is_err());
        }
        // A text with syntax errors has no tree file.
        assert!(encode(Document::new("def f(:\n".to_string()).tree(), &hash, 8).is_none());
    }
}
