//! The code tokenizer: identifiers as a programmer searches for them.
//!
//! A *word* is a maximal run of letters, digits and `_`. Each word yields, at one position,
//! the whole word lowercased and then its parts: pieces between underscores, split further at
//! lower→upper case changes, before the last capital of a run of capitals followed by a lower
//! case letter, and between letters and digits. So `parseHTTPResponse2` gives
//! `parsehttpresponse2`, `parse`, `http`, `response`, `2`, and `__init__` gives `__init__`,
//! `init`. A query for the whole identifier meets its whole token; a query for one of its
//! words meets a part.
//!
//! Tokens longer than [`MAX_TOKEN_BYTES`] are dropped (the parts of such a word are kept);
//! a word longer than [`MAX_WORD_BYTES`] is data (base64, hashes), not a name, and yields
//! nothing. A word without a letter or digit (`_`, `__`) yields nothing.

use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

/// The name the tokenizer is registered under in every index (see `schema::register_tokenizers`).
pub const CODE_TOKENIZER: &str = "code";

/// Longest token kept, in UTF-8 bytes.
pub const MAX_TOKEN_BYTES: usize = 64;

/// Longest word tokenized at all, in UTF-8 bytes.
pub const MAX_WORD_BYTES: usize = 256;

#[derive(Clone, Default)]
pub struct CodeTokenizer {
    token: Token,
    /// Byte ranges (in the text) of the current word's parts; reused between words.
    parts: Vec<(usize, usize)>,
}

pub struct CodeTokenStream<'a> {
    text: &'a str,
    /// Where the search for the next word starts.
    cursor: usize,
    token: &'a mut Token,
    parts: &'a mut Vec<(usize, usize)>,
    next_part: usize,
}

impl Tokenizer for CodeTokenizer {
    type TokenStream<'a> = CodeTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> CodeTokenStream<'a> {
        self.token.reset();
        self.parts.clear();
        CodeTokenStream { text, cursor: 0, token: &mut self.token, parts: &mut self.parts, next_part: 0 }
    }
}

fn is_word_char(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// The next word of `text` at or after `from`: its byte range.
fn next_word(text: &str, from: usize) -> Option<(usize, usize)> {
    let rest = &text[from..];
    let start = from + rest.find(is_word_char)?;
    let end = text[start..].find(|c: char| !is_word_char(c)).map_or(text.len(), |length| start + length);
    Some((start, end))
}

/// The parts of the word `text[start..end]` (see the module documentation), as byte ranges.
fn split_parts(text: &str, start: usize, end: usize, parts: &mut Vec<(usize, usize)>) {
    #[derive(Clone, Copy, PartialEq)]
    enum Class {
        Upper,
        Lower,
        Digit,
        Other,
    }
    fn class(c: char) -> Class {
        if c.is_uppercase() {
            Class::Upper
        } else if c.is_lowercase() {
            Class::Lower
        } else if c.is_numeric() {
            Class::Digit
        } else {
            Class::Other
        }
    }
    parts.clear();
    let mut part_start: Option<usize> = None;
    // The previous character of the current part: (its offset, its class).
    let mut previous: Option<(usize, Class)> = None;
    for (offset, c) in text[start..end].char_indices().map(|(offset, c)| (start + offset, c)) {
        if c == '_' {
            if let Some(from) = part_start.take() {
                parts.push((from, offset));
            }
            previous = None;
            continue;
        }
        let current = class(c);
        if let (Some(from), Some((previous_offset, previous_class))) = (part_start, previous) {
            let split_at = match (previous_class, current) {
                (Class::Lower | Class::Other, Class::Upper) => Some(offset),
                (Class::Digit, Class::Upper | Class::Lower | Class::Other) => Some(offset),
                (Class::Upper | Class::Lower | Class::Other, Class::Digit) => Some(offset),
                // `HTTPResponse`: the last capital of a run starts the next part.
                (Class::Upper, Class::Lower) if previous_offset > from => {
                    let upper_run = text[from..previous_offset].chars().all(char::is_uppercase);
                    upper_run.then_some(previous_offset)
                }
                _ => None,
            };
            if let Some(split) = split_at {
                parts.push((from, split));
                part_start = Some(split);
            }
        }
        if part_start.is_none() {
            part_start = Some(offset);
        }
        previous = Some((offset, current));
    }
    if let Some(from) = part_start {
        parts.push((from, end));
    }
}

impl CodeTokenStream<'_> {
    fn emit(&mut self, from: usize, to: usize) {
        let piece = &self.text[from..to];
        self.token.text.clear();
        if piece.is_ascii() {
            self.token.text.push_str(piece);
            self.token.text.make_ascii_lowercase();
        } else {
            self.token.text.extend(piece.chars().flat_map(char::to_lowercase));
        }
        self.token.offset_from = from;
        self.token.offset_to = to;
    }
}

impl TokenStream for CodeTokenStream<'_> {
    fn advance(&mut self) -> bool {
        loop {
            while let Some(&(from, to)) = self.parts.get(self.next_part) {
                self.next_part += 1;
                if to - from <= MAX_TOKEN_BYTES {
                    self.emit(from, to);
                    return true;
                }
            }
            let Some((start, end)) = next_word(self.text, self.cursor) else {
                return false;
            };
            self.cursor = end;
            if end - start > MAX_WORD_BYTES {
                continue;
            }
            split_parts(self.text, start, end, self.parts);
            self.next_part = 0;
            if self.parts.is_empty() {
                continue;
            }
            self.token.position = self.token.position.wrapping_add(1);
            // A word that is its one part is emitted once, as the whole.
            if self.parts.len() == 1 && self.parts[0] == (start, end) {
                self.next_part = 1;
            }
            if end - start <= MAX_TOKEN_BYTES {
                self.emit(start, end);
                return true;
            }
        }
    }

    fn token(&self) -> &Token {
        self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        self.token
    }
}

/// The tokens of `text` in order, as (position, text).
pub fn code_tokens(text: &str) -> Vec<(usize, String)> {
    let mut tokenizer = CodeTokenizer::default();
    let mut stream = tokenizer.token_stream(text);
    let mut tokens = Vec::new();
    while let Some(token) = stream.next() {
        tokens.push((token.position, token.text.clone()));
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        code_tokens(text).into_iter().map(|(_, text)| text).collect()
    }

    #[track_caller]
    fn check(text: &str, expected: &[&str]) {
        assert_eq!(words(text), expected, "tokens of {text:?}");
    }

    #[test]
    fn camel_case_with_an_acronym_and_a_digit() {
        check("parseHTTPResponse2", &["parsehttpresponse2", "parse", "http", "response", "2"]);
    }

    #[test]
    fn snake_case_and_dunder_names() {
        check("chat_controller", &["chat_controller", "chat", "controller"]);
        check("__init__", &["__init__", "init"]);
        check("_private", &["_private", "private"]);
        check("MAX_TOKEN_BYTES", &["max_token_bytes", "max", "token", "bytes"]);
    }

    #[test]
    fn a_plain_word_is_emitted_once() {
        check("request", &["request"]);
        check("Request", &["request"]);
        check("42", &["42"]);
    }

    #[test]
    fn parts_share_the_position_of_their_word() {
        let tokens = code_tokens("def getUserName(self):");
        let positions: Vec<(usize, &str)> = tokens.iter().map(|(p, t)| (*p, t.as_str())).collect();
        assert_eq!(positions, [(0, "def"), (1, "getusername"), (1, "get"), (1, "user"), (1, "name"), (2, "self")]);
    }

    #[test]
    fn punctuation_and_dots_separate_words() {
        check("django.db.models.Model(x=1)", &["django", "db", "models", "model", "x", "1"]);
        check("a-b c\td\ne", &["a", "b", "c", "d", "e"]);
    }

    #[test]
    fn capitals_runs_and_digits() {
        check("XMLHttpRequest", &["xmlhttprequest", "xml", "http", "request"]);
        check("sha256sum", &["sha256sum", "sha", "256", "sum"]);
        check("IOError", &["ioerror", "io", "error"]);
        check("ABC", &["abc"]);
    }

    #[test]
    fn non_ascii_identifiers_are_lowercased() {
        check("ÉtatCivil größe", &["étatcivil", "état", "civil", "größe"]);
    }

    #[test]
    fn underscores_alone_yield_nothing() {
        check("_ __ ___", &[]);
        check("", &[]);
    }

    #[test]
    fn long_tokens_are_dropped_and_blobs_ignored() {
        let long = format!("{}_name", "x".repeat(MAX_TOKEN_BYTES + 1));
        // The whole is too long; its parts are kept except the over-long one.
        check(&long, &["name"]);
        let blob = "Ab".repeat(MAX_WORD_BYTES);
        check(&format!("before {blob} after"), &["before", "after"]);
    }

    #[test]
    fn offsets_point_at_the_source_text() {
        let text = "x = fooBar";
        let mut tokenizer = CodeTokenizer::default();
        let mut stream = tokenizer.token_stream(text);
        let mut spans = Vec::new();
        while let Some(token) = stream.next() {
            spans.push(&text[token.offset_from..token.offset_to]);
        }
        assert_eq!(spans, ["x", "fooBar", "foo", "Bar"]);
    }
}
