//! The keys of a taint state (`Values`): access paths (`x`, `self.x`, `d["k"]`) interned once
//! for the life of the process.
//!
//! Invariant: two `PathKey`s are equal exactly when they are the same pointer, since every key
//! is made by `PathKey::new` from the one process-wide table, which holds each text once. So
//! equality is a pointer comparison and the order (the text's) starts with one: the states'
//! merges walk two maps in lockstep, where most keys met are the same key. A key is a `Copy`
//! pointer: copying a node of a state's tree (every update of a shared state) copies keys
//! without touching reference counts, and dropping one frees nothing.
//!
//! What this costs: the texts are never freed. Their number is bounded by the distinct access
//! paths the analysed code spells (names, attributes, constant subscripts, cut to
//! `MAX_STORED_PROJECTIONS` where summaries compose them), not by the number of analyses or
//! states: a session re-analysing the same workspace adds nothing.
use std::borrow::Borrow;
use std::cell::RefCell;
use std::cmp::Ordering;
use std::fmt;
use std::sync::{Mutex, PoisonError};

use rustc_hash::FxHashSet;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Clone, Copy)]
pub(super) struct PathKey(KeyText<'static>);

/// A key's text as the state's map orders it and is searched by (`Values::get` and the rest
/// look a text up without interning it): the texts' byte order, compared eight bytes at a
/// time in line. A search compares the text with a node's keys, most of them different keys
/// (not the same pointer), so the comparison itself is the cost: `str`'s order called
/// `memcmp` for each, 5.9 % of sympy's scan samples.
#[derive(Clone, Copy)]
pub(super) struct KeyText<'a>(pub(super) &'a str);

/// `a`'s and `b`'s byte order (as `<[u8]>::cmp`): eight bytes at a time as big-endian words,
/// then the rest, then the lengths.
#[inline]
fn compare_texts(a: &[u8], b: &[u8]) -> Ordering {
    let common = a.len().min(b.len());
    let (mut words_a, mut words_b) = (a[..common].chunks_exact(8), b[..common].chunks_exact(8));
    for (x, y) in (&mut words_a).zip(&mut words_b) {
        let (x, y) = (u64::from_be_bytes(x.try_into().expect("8 bytes")), u64::from_be_bytes(y.try_into().expect("8 bytes")));
        if x != y {
            return x.cmp(&y);
        }
    }
    for (x, y) in words_a.remainder().iter().zip(words_b.remainder()) {
        if x != y {
            return x.cmp(y);
        }
    }
    a.len().cmp(&b.len())
}

impl Ord for KeyText<'_> {
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        if std::ptr::eq(self.0, other.0) {
            Ordering::Equal
        } else {
            compare_texts(self.0.as_bytes(), other.0.as_bytes())
        }
    }
}

impl PartialOrd for KeyText<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for KeyText<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for KeyText<'_> {}

/// Every key's text, once.
static TABLE: Mutex<FxHashSet<&'static str>> = Mutex::new(FxHashSet::with_hasher(rustc_hash::FxBuildHasher));

thread_local! {
    /// The keys this thread has made, in front of `TABLE` (a hit takes no lock).
    static SEEN: RefCell<FxHashSet<&'static str>> = RefCell::new(FxHashSet::default());
}

impl PathKey {
    /// The key of `path` (the table's text, added on first use).
    pub(super) fn new(path: &str) -> PathKey {
        if let Some(text) = SEEN.with(|seen| seen.borrow().get(path).copied()) {
            return PathKey(KeyText(text));
        }
        let text = {
            let mut table = TABLE.lock().unwrap_or_else(PoisonError::into_inner);
            match table.get(path) {
                Some(&text) => text,
                None => {
                    let text: &'static str = Box::leak(Box::from(path));
                    table.insert(text);
                    text
                }
            }
        };
        SEEN.with(|seen| seen.borrow_mut().insert(text));
        PathKey(KeyText(text))
    }

    pub(super) fn as_str(self) -> &'static str {
        self.0 .0
    }
}

impl PartialEq for PathKey {
    fn eq(&self, other: &PathKey) -> bool {
        std::ptr::eq(self.0 .0, other.0 .0)
    }
}

impl Eq for PathKey {}

/// The order of the texts (so a state's prefix ranges are contiguous), equal keys found by pointer.
impl Ord for PathKey {
    #[inline]
    fn cmp(&self, other: &PathKey) -> Ordering {
        self.0.cmp(&other.0)
    }
}

impl PartialOrd for PathKey {
    fn partial_cmp(&self, other: &PathKey) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Lookups by text: consistent with `Ord` (the same order), since equal texts are the same key.
impl<'a> Borrow<KeyText<'a>> for PathKey {
    fn borrow(&self) -> &KeyText<'a> {
        &self.0
    }
}

impl fmt::Debug for PathKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0 .0, f)
    }
}

/// As the text: the persisted form of a state is the one it had with `Arc<str>` keys.
impl Serialize for PathKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0 .0)
    }
}

impl<'de> Deserialize<'de> for PathKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<PathKey, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Ok(PathKey::new(&text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_texts_are_one_key_and_keys_order_as_their_texts() {
        let made = String::from("self.x");
        let a = PathKey::new(&made);
        let b = std::thread::spawn(|| PathKey::new("self.x")).join().unwrap();
        assert_eq!(a, b);
        assert!(std::ptr::eq(a.as_str(), b.as_str()));
        let mut keys: Vec<PathKey> = ["self.x", "self", "a[0]", "self[", "self.x.y", "a"].into_iter().map(PathKey::new).collect();
        keys.sort();
        let texts: Vec<&str> = keys.iter().map(|key| key.as_str()).collect();
        assert_eq!(texts, ["a", "a[0]", "self", "self.x", "self.x.y", "self["]);
        assert_ne!(PathKey::new("self"), PathKey::new("self.x"));
    }

    #[test]
    fn texts_compare_as_str_orders_them() {
        // Lengths around the eight-byte words, shared prefixes, bytes above 0x7f and NULs.
        let texts = [
            "",
            "a",
            "a\0",
            "a\0b",
            "ab",
            "self",
            "self.",
            "self.x",
            "self.xs",
            "self.x[0]",
            "self.abcdefgh",
            "self.abcdefgi",
            "self.abcdefg",
            "self.abcdefghijklmnop",
            "self.abcdefghijklmnoq",
            "élan",
            "e",
            "d[\"k\"]",
            "d[\"k\"].v",
            "zzzzzzzz",
            "zzzzzzzzz",
            "zzzzzzzy",
        ];
        for a in texts {
            for b in texts {
                assert_eq!(compare_texts(a.as_bytes(), b.as_bytes()), a.cmp(b), "{a:?} against {b:?}");
                assert_eq!(KeyText(a).cmp(&KeyText(b)), a.cmp(b), "{a:?} against {b:?}");
                assert_eq!(PathKey::new(a).cmp(&PathKey::new(b)), a.cmp(b), "{a:?} against {b:?}");
            }
        }
    }

    #[test]
    fn a_key_is_persisted_as_its_text() {
        let key = PathKey::new("d[\"k\"]");
        let json = serde_json::to_string(&key).unwrap();
        assert_eq!(json, serde_json::to_string("d[\"k\"]").unwrap());
        let back: PathKey = serde_json::from_str(&json).unwrap();
        assert_eq!(back, key);
    }
}
