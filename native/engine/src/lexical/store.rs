//! The lexical index on disk: a copy of one committed state of the in-memory index, under the
//! cache directory (`<cache>/search/`), reopened by the next process instead of being rebuilt.
//!
//! Layout: tantivy's segment files, byte for byte as the in-memory index wrote them, and
//! `manifest.bin`, the commit point: `MAGIC`, the header length (u32 LE) and the header
//! (postcard: store version, flowsight version, tantivy version, project root), the payload
//! length (u64 LE), its CRC-32 (u32 LE) and the payload (postcard `Manifest`: tantivy's
//! `meta.json`, every segment file's name, length and CRC-32, and every source file's key and
//! SHA-256 — the texts the documents were made from).
//!
//! Invariants:
//! - The live index is the in-memory one; the store is written from it in the background (the
//!   caller decides when: never per edit). Tantivy's segment files are immutable (named by
//!   segment id; deletes by segment id and opstamp), so a write copies only files not on disk
//!   yet, each as a temporary file renamed into place (a file under its final name is whole),
//!   then renames a new manifest over the old one, then removes every file the new manifest
//!   does not name. Killed at any point, a write leaves the old manifest and all its files, or
//!   the new manifest and all its files.
//! - A store is used only when it is exactly this one's: magic, store version, flowsight and
//!   tantivy versions and root equal, the manifest's length and checksum right, every file it
//!   names present with its length and CRC-32, tantivy opens it and its schema is this
//!   schema. Anything else is `Rejected` with a one-line reason and the index is rebuilt from
//!   the chunks; reading never panics on any bytes.
//! - Writers and readers of one directory hold an advisory lock on `lock` (exclusive to write,
//!   shared to read), so two processes on one project never remove files the other needs.
//!
//! What the documents of a source file are follows from its key, its text and this flowsight
//! (see `schema.rs`), so a reopened index is brought up to date file by file: the documents of
//! a file whose text hash changed are replaced, those of a file gone are deleted (`Workspace`).

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tantivy::directory::{Directory, ManagedDirectory, OwnedBytes, RamDirectory};

/// The store's directory inside the cache directory.
pub const STORE_DIRECTORY: &str = "search";
/// Bumped whenever the schema, the tokenizer or what goes into a document changes (a change of
/// the flowsight version rejects a store as well).
pub const STORE_VERSION: u32 = 1;
const FLOWSIGHT_VERSION: &str = env!("CARGO_PKG_VERSION");
const MANIFEST: &str = "manifest.bin";
const LOCK: &str = "lock";
const TEMPORARY_SUFFIX: &str = ".tmp";
const MAGIC: &[u8; 16] = b"flowsight-index\0";
/// tantivy's file naming the segments; it lives in the manifest, never on disk by itself.
const META_FILE: &str = "meta.json";
/// How long a reader or writer waits for another process's lock before giving up.
const LOCK_WAIT: Duration = Duration::from_secs(5);

#[derive(Serialize, Deserialize, Debug, PartialEq, Eq)]
struct Header {
    store: u32,
    flowsight: String,
    tantivy: String,
    root: String,
}

#[derive(Serialize, Deserialize)]
struct Manifest {
    meta: Vec<u8>,
    files: Vec<StoredFile>,
    sources: Vec<Source>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
struct StoredFile {
    name: String,
    length: u64,
    crc: u32,
}

/// A source file the stored documents were made from: its workspace key and its text's SHA-256.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Source {
    pub key: String,
    pub hash: [u8; 32],
}

/// Why a store was not used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rejected {
    /// Nothing stored yet: nothing to say.
    Missing,
    /// Unreadable, damaged, another version, schema or root (one line, for a notice).
    Invalid(String),
}

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rejected::Missing => write!(f, "no search index stored yet"),
            Rejected::Invalid(reason) => write!(f, "{reason}"),
        }
    }
}

fn invalid(reason: impl Into<String>) -> Rejected {
    Rejected::Invalid(reason.into())
}

/// The SHA-256 of a source text.
pub fn text_hash(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

/// The store's directory of a cache directory.
pub fn store_directory(cache: &Path) -> PathBuf {
    cache.join(STORE_DIRECTORY)
}

fn header(root: &Path) -> Header {
    Header {
        store: STORE_VERSION,
        flowsight: FLOWSIGHT_VERSION.to_string(),
        tantivy: tantivy::version_string().to_string(),
        root: root.to_string_lossy().into_owned(),
    }
}

/// One committed state of an index, copied out of it (the bytes are shared, not copied), to be
/// written without holding the index (`write`).
pub struct StoreJob {
    pub(super) directory: PathBuf,
    pub(super) root: PathBuf,
    pub(super) meta: Vec<u8>,
    pub(super) files: Vec<(String, OwnedBytes)>,
    pub(super) sources: Vec<Source>,
}

/// What a write did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Written {
    /// Bytes written (new segment files and the manifest).
    pub bytes: u64,
    /// Segment files written (the others were on disk already).
    pub files: usize,
}

impl StoreJob {
    /// Writes the state: new segment files, then the manifest (atomically), then removes the
    /// files it does not name.
    pub fn write(self) -> Result<Written, String> {
        let directory = &self.directory;
        let context = |error: std::io::Error| format!("cannot write the search index in {}: {error}", directory.display());
        std::fs::create_dir_all(directory).map_err(context)?;
        if let Some(cache) = directory.parent() {
            let ignore = cache.join(".gitignore");
            if !ignore.exists() {
                // The cache directory ignores itself wherever it is (as `persist` does).
                let _ = std::fs::write(&ignore, "*\n");
            }
        }
        let _lock = lock(directory, true).map_err(context)?;
        let mut written = Written::default();
        for (name, bytes) in &self.files {
            let path = directory.join(name);
            if std::fs::metadata(&path).is_ok_and(|metadata| metadata.len() == bytes.len() as u64) {
                continue; // immutable: the same name is the same bytes
            }
            write_atomically(directory, name, bytes.as_slice(), false).map_err(context)?;
            written.bytes += bytes.len() as u64;
            written.files += 1;
        }
        let files = self
            .files
            .iter()
            .map(|(name, bytes)| StoredFile { name: name.clone(), length: bytes.len() as u64, crc: crc32fast::hash(bytes.as_slice()) })
            .collect();
        let manifest = Manifest { meta: self.meta, files, sources: self.sources };
        let encoded = encode(&manifest, &self.root)?;
        write_atomically(directory, MANIFEST, &encoded, true).map_err(context)?;
        written.bytes += encoded.len() as u64;
        // Under the lock, nothing but the manifest's files is needed (a temporary file is a
        // killed write's leftover).
        let named: HashSet<&str> = self.files.iter().map(|(name, _)| name.as_str()).collect();
        if let Ok(entries) = std::fs::read_dir(directory) {
            for entry in entries.flatten() {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                if name != MANIFEST && name != LOCK && !named.contains(name.as_ref()) {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        Ok(written)
    }
}

/// Writes `bytes` as `directory/name` through a temporary file (fsync, rename; with
/// `sync_directory`, the directory fsynced after the rename).
fn write_atomically(directory: &Path, name: &str, bytes: &[u8], sync_directory: bool) -> std::io::Result<()> {
    let temporary = directory.join(format!("{name}{TEMPORARY_SUFFIX}"));
    let result = (|| {
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&temporary, directory.join(name))?;
        if sync_directory {
            std::fs::File::open(directory)?.sync_all()?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result
}

/// An advisory lock on `directory/lock`, held while the file lives; waits at most LOCK_WAIT.
fn lock(directory: &Path, exclusive: bool) -> std::io::Result<std::fs::File> {
    use rustix::fs::{flock, FlockOperation};
    let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(directory.join(LOCK))?;
    let operation = if exclusive { FlockOperation::NonBlockingLockExclusive } else { FlockOperation::NonBlockingLockShared };
    let started = Instant::now();
    loop {
        match flock(&file, operation) {
            Ok(()) => return Ok(file),
            Err(error) if error == rustix::io::Errno::WOULDBLOCK && started.elapsed() < LOCK_WAIT => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(error) => return Err(error.into()),
        }
    }
}

fn encode(manifest: &Manifest, root: &Path) -> Result<Vec<u8>, String> {
    let header = postcard::to_stdvec(&header(root)).map_err(|error| error.to_string())?;
    let payload = postcard::to_stdvec(manifest).map_err(|error| error.to_string())?;
    Ok(crate::framing::frame(MAGIC, &header, &payload))
}

fn decode(bytes: &[u8], root: &Path) -> Result<Manifest, Rejected> {
    let framed = crate::framing::unframe(bytes, MAGIC).map_err(|problem| match problem {
        "wrong magic" => invalid("not a flowsight search index"),
        other => invalid(other),
    })?;
    let header_bytes = framed.header;
    let found: Header = postcard::from_bytes(header_bytes).map_err(|_| invalid("corrupt header"))?;
    let expected = header(root);
    if found.store != expected.store {
        return Err(invalid(format!("store version {} (this flowsight reads {})", found.store, expected.store)));
    }
    if found.flowsight != expected.flowsight || found.tantivy != expected.tantivy {
        return Err(invalid(format!("written by flowsight {} ({})", found.flowsight, found.tantivy)));
    }
    if found.root != expected.root {
        return Err(invalid("written for another project root"));
    }
    let payload = framed.payload.map_err(invalid)?;
    let manifest: Manifest = postcard::from_bytes(payload).map_err(|_| invalid("corrupt manifest"))?;
    for file in &manifest.files {
        // Plain names only: a manifest never points outside its directory.
        let plain = !file.name.is_empty()
            && !file.name.starts_with('.')
            && file.name != MANIFEST
            && file.name != META_FILE
            && file.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-');
        if !plain {
            return Err(invalid(format!("foreign file name {:?}", file.name)));
        }
    }
    Ok(manifest)
}

/// A stored state read back: a RAM directory holding its files (each registered with tantivy
/// as its own, so merges later collect them) and its `meta.json`, and the sources it was made
/// from (sorted by key).
pub struct Loaded {
    pub directory: RamDirectory,
    pub sources: Vec<Source>,
}

/// Reads the store of cache directory `cache` written for `root`, checking every byte.
pub fn load(cache: &Path, root: &Path) -> Result<Loaded, Rejected> {
    let directory = store_directory(cache);
    let manifest_path = directory.join(MANIFEST);
    if !manifest_path.exists() {
        return Err(Rejected::Missing);
    }
    let _lock = lock(&directory, false).map_err(|error| invalid(format!("cannot lock: {error}")))?;
    let bytes = std::fs::read(&manifest_path).map_err(|error| invalid(format!("cannot read: {error}")))?;
    let manifest = decode(&bytes, root)?;
    if !manifest.sources.windows(2).all(|pair| pair[0].key < pair[1].key) {
        return Err(invalid("sources out of order"));
    }
    let ram = RamDirectory::create();
    let managed = ManagedDirectory::wrap(Box::new(ram.clone())).map_err(|error| invalid(error.to_string()))?;
    for file in &manifest.files {
        let bytes = std::fs::read(directory.join(&file.name)).map_err(|error| invalid(format!("{}: {error}", file.name)))?;
        if bytes.len() as u64 != file.length || crc32fast::hash(&bytes) != file.crc {
            return Err(invalid(format!("{}: damaged", file.name)));
        }
        managed.atomic_write(Path::new(&file.name), &bytes).map_err(|error| invalid(error.to_string()))?;
    }
    managed.atomic_write(Path::new(META_FILE), &manifest.meta).map_err(|error| invalid(error.to_string()))?;
    Ok(Loaded { directory: ram, sources: manifest.sources })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        Manifest {
            meta: b"{}".to_vec(),
            files: vec![StoredFile { name: "abc.idx".into(), length: 3, crc: crc32fast::hash(b"abc") }],
            sources: vec![Source { key: "a.py".into(), hash: text_hash("x = 1\n") }],
        }
    }

    #[test]
    fn a_manifest_round_trips_and_its_header_is_checked() {
        let root = Path::new("/project");
        let bytes = encode(&manifest(), root).unwrap();
        let decoded = decode(&bytes, root).unwrap();
        assert_eq!((decoded.files, decoded.sources), (manifest().files, manifest().sources));
        assert_eq!(decode(&bytes, Path::new("/other")).err(), Some(invalid("written for another project root")));
    }

    #[test]
    fn another_store_version_is_rejected() {
        let root = Path::new("/project");
        let bytes = encode(&manifest(), root).unwrap();
        let old = postcard::to_stdvec(&Header { store: STORE_VERSION + 1, ..header(root) }).unwrap();
        let length = u32::from_le_bytes(bytes[16..20].try_into().unwrap()) as usize;
        let spliced = [&bytes[..16], &(old.len() as u32).to_le_bytes(), &old, &bytes[20 + length..]].concat();
        assert_eq!(
            decode(&spliced, root).err(),
            Some(invalid(format!("store version {} (this flowsight reads {STORE_VERSION})", STORE_VERSION + 1)))
        );
    }

    #[test]
    fn truncated_or_flipped_manifests_are_rejected_never_a_panic() {
        let root = Path::new("/project");
        let bytes = encode(&manifest(), root).unwrap();
        for length in 0..bytes.len() {
            assert!(decode(&bytes[..length], root).is_err(), "{length} bytes accepted");
        }
        for index in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[index] ^= 0x5a;
            assert!(decode(&flipped, root).is_err(), "byte {index} flipped accepted");
        }
    }

    #[test]
    fn a_manifest_naming_a_file_outside_its_directory_is_foreign() {
        let root = Path::new("/project");
        for name in ["../analysis.bin", "/etc/passwd", ".managed.json", "meta.json", "manifest.bin", ""] {
            let mut bad = manifest();
            bad.files[0].name = name.to_string();
            assert!(matches!(decode(&encode(&bad, root).unwrap(), root), Err(Rejected::Invalid(_))), "{name:?}");
        }
    }
}
