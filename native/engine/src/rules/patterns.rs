//! Regular-expression guards: what a value that matched a constant pattern can still carry.
//! `re.fullmatch(r"[a-z0-9_]+", name)` holding means `name` has only those characters, so no
//! sink kind whose metacharacters it lacks can be exploited through it; `re.match(r"\w+", x)`
//! proves nothing about what follows the match, and Python's `$` lets a trailing newline
//! through (`re.match(r"^\w+$", "a\n")` holds), so header and log injection stay possible.
//!
//! Invariant: a pattern this module cannot read exactly (a syntax `regex_syntax` does not
//! share with Python's `re`, look-arounds, flags that change anchors, a pattern anchored only
//! on one side where both are needed) clears nothing.

use regex_syntax::hir::{Class, Hir, HirKind};

use crate::rules::{Anchors, DECLARED_KINDS, SINK_KINDS};

/// Characters (besides ASCII letters, digits and `_`) a value of each sink kind may hold
/// without being able to change what the sink does. A kind not listed allows none, nor does
/// a kind a pack declares (which, knowing nothing of it, a trailing newline may also reach).
const HARMLESS_PUNCTUATION: &[(&str, &str)] = &[
    ("Shell", "-._/:,+=@%"),
    ("FilePath", "-"),
    ("XSS", "-._/:,+@%#?! "),
    ("Redirect", "-"),
    ("SSRF", "-"),
    ("LDAP", "-._ @"),
    ("XPath", "-._ "),
    ("NoSQL", "-._ @"),
    ("HeaderInjection", " !\"#$%&'()*+,-./:;<=>?@[\\]^`{|}~"),
    ("LogInjection", " !\"#$%&'()*+,-./:;<=>?@[\\]^`{|}~"),
];

/// The characters a full match of `pattern` may consist of: ASCII as a bitmap; anything
/// beyond ASCII (`\w` matches Unicode letters) is harmless to every kind listed above.
struct Alphabet {
    ascii: [bool; 128],
}

impl Alphabet {
    fn add_range(&mut self, start: u32, end: u32) {
        for code in start..=end.min(127) {
            self.ascii[code as usize] = true;
        }
    }

    fn only(&self, allowed: &str) -> bool {
        (0..128u8).all(|code| {
            let c = code as char;
            !self.ascii[code as usize] || c.is_ascii_alphanumeric() || c == '_' || allowed.contains(c)
        })
    }
}

/// The sink kinds a value is safe for once `pattern` matched it through a call anchoring
/// `anchors`; `multiline_or_verbose` when the call passes flags that change what anchors or
/// whitespace mean (nothing is cleared then). 0 when the pattern proves nothing.
pub fn cleared_kinds(pattern: &str, anchors: Anchors, multiline_or_verbose: bool) -> u32 {
    if multiline_or_verbose {
        return 0;
    }
    let mut body = pattern;
    let mut anchored_start = anchors != Anchors::None;
    for prefix in ["^", "\\A"] {
        if let Some(rest) = body.strip_prefix(prefix) {
            body = rest;
            anchored_start = true;
        }
    }
    let mut anchored_end = anchors == Anchors::Both;
    let mut trailing_newline = false;
    if let Some(rest) = body.strip_suffix("\\Z").filter(|rest| !ends_escaped(rest)) {
        body = rest;
        anchored_end = true;
    } else if let Some(rest) = body.strip_suffix('$').filter(|rest| !ends_escaped(rest)) {
        body = rest;
        // Python's `$` also matches before a final newline.
        trailing_newline = anchors != Anchors::Both;
        anchored_end = true;
    }
    if !anchored_start || !anchored_end {
        return 0;
    }
    // `^a|b$` is `(^a)|(b$)`: with an anchor taken off, a top-level alternation is not read.
    if body.len() != pattern.len() && has_top_level_alternation(body) {
        return 0;
    }
    let Ok(hir) = regex_syntax::ParserBuilder::new().build().parse(body) else { return 0 };
    let mut alphabet = Alphabet { ascii: [false; 128] };
    if !collect(&hir, &mut alphabet) {
        return 0;
    }
    let mut cleared = 0;
    for (index, kind) in SINK_KINDS.iter().enumerate() {
        let harmless = HARMLESS_PUNCTUATION.iter().find(|(name, _)| name == kind).map_or("", |(_, chars)| chars);
        // One newline at the very end starts a second header or log line, and nothing else.
        let newline_matters = matches!(*kind, "HeaderInjection" | "LogInjection");
        if alphabet.only(harmless) && !(trailing_newline && newline_matters) {
            cleared |= 1 << index;
        }
    }
    if alphabet.only("") && !trailing_newline {
        cleared |= DECLARED_KINDS;
    }
    cleared
}

/// Whether `pattern` has a `|` outside every group and character class.
fn has_top_level_alternation(pattern: &str) -> bool {
    let (mut depth, mut in_class, mut escaped) = (0usize, false, false);
    for c in pattern.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            '(' if !in_class => depth += 1,
            ')' if !in_class => depth = depth.saturating_sub(1),
            '|' if !in_class && depth == 0 => return true,
            _ => {}
        }
    }
    false
}

fn ends_escaped(text: &str) -> bool {
    text.chars().rev().take_while(|c| *c == '\\').count() % 2 == 1
}

/// Adds every character a match of `hir` can contain; false when the pattern has a part
/// whose characters are not read exactly here (look-arounds other than the stripped anchors).
fn collect(hir: &Hir, alphabet: &mut Alphabet) -> bool {
    let mut stack = vec![hir];
    while let Some(hir) = stack.pop() {
        match hir.kind() {
            HirKind::Empty => {}
            HirKind::Literal(literal) => match std::str::from_utf8(&literal.0) {
                Ok(text) => text.chars().for_each(|c| alphabet.add_range(c as u32, c as u32)),
                Err(_) => return false,
            },
            HirKind::Class(Class::Unicode(class)) => {
                class.iter().for_each(|range| alphabet.add_range(range.start() as u32, range.end() as u32))
            }
            HirKind::Class(Class::Bytes(class)) => {
                class.iter().for_each(|range| alphabet.add_range(range.start().into(), range.end().into()))
            }
            HirKind::Look(_) => return false,
            HirKind::Repetition(repetition) => stack.push(&repetition.sub),
            HirKind::Capture(capture) => stack.push(&capture.sub),
            HirKind::Concat(parts) | HirKind::Alternation(parts) => stack.extend(parts.iter()),
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(mask: u32) -> Vec<&'static str> {
        SINK_KINDS.iter().enumerate().filter(|(i, _)| mask & (1 << i) != 0).map(|(_, k)| *k).collect()
    }

    #[test]
    fn a_full_match_of_word_characters_clears_every_kind() {
        assert_eq!(cleared_kinds(r"[A-Za-z0-9_]+", Anchors::Both, false), crate::rules::ALL_KINDS, "declared kinds too");
        assert_eq!(kinds(cleared_kinds(r"[A-Za-z0-9_]+", Anchors::Both, false)), SINK_KINDS.to_vec());
        assert_eq!(kinds(cleared_kinds(r"^\w+\Z", Anchors::None, false)), SINK_KINDS.to_vec());
        assert_eq!(kinds(cleared_kinds(r"(?P<id>\d{1,8})", Anchors::Both, false)), SINK_KINDS.to_vec());
    }

    #[test]
    fn an_unanchored_or_half_anchored_pattern_clears_nothing() {
        assert_eq!(cleared_kinds(r"\w+", Anchors::Start, false), 0);
        assert_eq!(cleared_kinds(r"^\w+", Anchors::None, false), 0);
        assert_eq!(cleared_kinds(r"\w+$", Anchors::None, false), 0);
        assert_eq!(cleared_kinds(r"^a|b$", Anchors::None, false), 0);
        assert_eq!(cleared_kinds(r"^.+$", Anchors::None, false), 0);
        assert_eq!(cleared_kinds(r"(?=x)\w+", Anchors::Both, false), 0);
        assert_eq!(cleared_kinds(r"[a-z]+", Anchors::Both, true), 0);
        assert_eq!(cleared_kinds(r"[a-z", Anchors::Both, false), 0);
    }

    #[test]
    fn a_dollar_lets_a_newline_through_so_headers_and_logs_stay_open() {
        let mask = cleared_kinds(r"^[a-z]+$", Anchors::Start, false);
        let cleared = kinds(mask);
        assert!(cleared.contains(&"SQL") && cleared.contains(&"Shell"), "{cleared:?}");
        assert!(!cleared.contains(&"HeaderInjection") && !cleared.contains(&"LogInjection"), "{cleared:?}");
        assert!(kinds(cleared_kinds(r"[a-z]+", Anchors::Both, false)).contains(&"LogInjection"));
        assert_eq!(mask & DECLARED_KINDS, 0, "a kind a pack declares may be reached by a newline");
    }

    #[test]
    fn punctuation_clears_only_the_kinds_it_is_harmless_to() {
        let cleared = kinds(cleared_kinds(r"[a-z0-9./-]+", Anchors::Both, false));
        assert!(cleared.contains(&"Shell") && cleared.contains(&"XSS"), "{cleared:?}");
        assert!(!cleared.contains(&"FilePath") && !cleared.contains(&"SQL") && !cleared.contains(&"Redirect"), "{cleared:?}");
        assert_eq!(
            cleared_kinds(r"[a-z0-9./-]+", Anchors::Both, false) & DECLARED_KINDS,
            0,
            "no punctuation is harmless to a declared kind"
        );
        let cleared = kinds(cleared_kinds(r"[^<>]+", Anchors::Both, false));
        assert!(!cleared.contains(&"XSS") && !cleared.contains(&"SQL"), "{cleared:?}");
    }
}
