//! Places: what an expression denotes as storage — a base variable and projections from it
//! (`self.items["k"][0]`: base `self`, field `items`, key `"k"`, index `0`).
//!
//! The one access-path function of the engine: slicing's definitions and uses and taint's
//! state keys are both `place_of`, rendered by `Place::key`.
//!
//! Invariants:
//! - A place has at most `MAX_PROJECTIONS` precise projections. A longer chain is cut to its
//!   prefix (`Cut::TooDeep`), and a subscript whose key is not a known constant ends the place
//!   (`Cut::AnyIndex`): either way the place stands for *somewhere under* its prefix, so a read
//!   reads the prefix whole and a write is a weak update of it (more dependences, more taint,
//!   never fewer). Clients count the cuts they meet.
//! - Chains are walked iteratively: a 10^5-deep `a.b.b…` costs linear time and no stack.

use crate::syntax::tree::Node;

use crate::program::{text_of, Constant};
use crate::syntax::{field, FieldChild};

/// Precise projections a place keeps (`a.b.c.d`: three); past them a place is cut.
pub const MAX_PROJECTIONS: usize = 3;

/// One step from a value to a part of it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Projection {
    /// `.name`
    Field(Box<str>),
    /// `["k"]`
    Key(Box<str>),
    /// `[0]`
    Index(i64),
    /// `[i]` with `i` unknown: any element. Always the last projection of a place.
    AnyIndex,
}

/// Why a place stands for more than its precise projections say.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cut {
    /// A subscript by a key that is not a known constant.
    AnyIndex,
    /// More than `MAX_PROJECTIONS` projections: the rest was dropped.
    TooDeep,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Place {
    pub base: Box<str>,
    pub projections: Vec<Projection>,
    pub cut: Option<Cut>,
}

impl Place {
    pub fn variable(name: &str) -> Place {
        Place { base: name.into(), projections: Vec::new(), cut: None }
    }

    /// Whether the place denotes exactly what the expression does (no cut).
    pub fn is_exact(&self) -> bool {
        self.cut.is_none()
    }

    /// The string key of the place's precise prefix: `self.items["k"][0]`. A cut place's key
    /// is the prefix it stands under (`a[i].b` → `a`).
    pub fn key(&self) -> String {
        let mut key = self.base.to_string();
        for projection in &self.projections {
            match projection {
                Projection::Field(name) => {
                    key.push('.');
                    key.push_str(name);
                }
                Projection::Key(name) => key.push_str(&format!("[{name:?}]")),
                Projection::Index(index) => key.push_str(&format!("[{index}]")),
                Projection::AnyIndex => {}
            }
        }
        key
    }

    fn precise(&self) -> usize {
        self.projections.iter().filter(|p| !matches!(p, Projection::AnyIndex)).count()
    }

    /// Adds the next projection out (an `attribute` or `subscript` node whose object is this
    /// place). Once cut, a place stays as it is. `None`: the node projects nothing.
    pub fn project(&mut self, text: &str, projection: Node<'_>, key_of: &mut dyn FnMut(Node<'_>) -> Option<Constant>) -> Option<()> {
        if self.cut.is_some() {
            return Some(());
        }
        let next = match projection.kind() {
            "attribute" => Projection::Field(text_of(text, projection.field(&field::ATTRIBUTE)?).into()),
            "subscript" => match projection.field(&field::SUBSCRIPT).and_then(&mut *key_of) {
                Some(Constant::Str(key)) => Projection::Key(key.into()),
                Some(Constant::Int(index)) => Projection::Index(index),
                _ => {
                    self.projections.push(Projection::AnyIndex);
                    self.cut = Some(Cut::AnyIndex);
                    return Some(());
                }
            },
            _ => return None,
        };
        if self.precise() >= MAX_PROJECTIONS {
            self.cut = Some(Cut::TooDeep);
            return Some(());
        }
        self.projections.push(next);
        Some(())
    }
}

/// The object an attribute or subscript projects from.
pub fn projected(node: Node<'_>) -> Option<Node<'_>> {
    match node.kind() {
        "attribute" => node.field(&field::OBJECT),
        "subscript" => node.field(&field::VALUE),
        _ => None,
    }
}

/// The place an expression denotes (`x`, `self.a`, `d['k']`, through parentheses), or `None`
/// when it is no place (`f().x`, a literal). `key_of` gives the constant a subscript's key
/// evaluates to, if known.
pub fn place_of(text: &str, node: Node<'_>, key_of: &mut dyn FnMut(Node<'_>) -> Option<Constant>) -> Option<Place> {
    // Down to the base name, remembering the projections from the outside in.
    let mut projections: Vec<Node<'_>> = Vec::new();
    let mut current = node;
    loop {
        match current.kind() {
            "identifier" => break,
            "attribute" | "subscript" => {
                projections.push(current);
                current = projected(current)?;
            }
            "parenthesized_expression" => current = current.named_child(0)?,
            _ => return None,
        }
    }
    let mut place = Place::variable(text_of(text, current));
    for projection in projections.into_iter().rev() {
        place.project(text, projection, key_of)?;
        if place.cut.is_some() {
            break;
        }
    }
    Some(place)
}

/// `place_of` for callers that only use exact places: `None` unless the place is exact. Walks
/// at most `MAX_PROJECTIONS` + 1 links of the chain, so a very deep chain costs what a short
/// one does.
pub fn exact_place_of(text: &str, node: Node<'_>, key_of: &mut dyn FnMut(Node<'_>) -> Option<Constant>) -> Option<Place> {
    let mut links = 0;
    let mut current = node;
    loop {
        match current.kind() {
            "identifier" => break,
            "attribute" | "subscript" => {
                links += 1;
                if links > MAX_PROJECTIONS {
                    return None;
                }
                current = projected(current)?;
            }
            "parenthesized_expression" => current = current.named_child(0)?,
            _ => return None,
        }
    }
    place_of(text, node, key_of).filter(Place::is_exact)
}

/// The constant a key is written as (`d["k"]`, `d[0]`, `d[-1]`), module constants aside.
pub fn literal_key(text: &str) -> impl FnMut(Node<'_>) -> Option<Constant> + '_ {
    let no_constants = std::collections::HashMap::new();
    move |key| crate::program::literal(text, key, &no_constants)
}

/// Whether place key `path` is `prefix` or lies below it (`x.a` under `x`, `x["k"]` under `x`).
pub fn key_under(path: &str, prefix: &str) -> bool {
    path == prefix || path.len() > prefix.len() && path.starts_with(prefix) && matches!(path.as_bytes()[prefix.len()], b'.' | b'[')
}

/// Whether one place key is the other or lies below it (`x` and `x.a`).
pub fn keys_overlap(a: &str, b: &str) -> bool {
    key_under(a, b) || key_under(b, a)
}

/// The projections of a place key after its base, one slice each (`.a`, `["k"]`, `[0]`), with
/// quoted keys read whole (`["a.b"]` is one projection).
pub fn key_projections(key: &str) -> Vec<&str> {
    let bytes = key.as_bytes();
    let mut starts = Vec::new();
    let mut at = 0;
    let mut quoted = false;
    while at < bytes.len() {
        match bytes[at] {
            b'\\' if quoted => at += 1,
            b'"' => quoted = !quoted,
            b'.' | b'[' if !quoted => starts.push(at),
            _ => {}
        }
        at += 1;
    }
    starts.iter().enumerate().map(|(index, &start)| &key[start..starts.get(index + 1).copied().unwrap_or(key.len())]).collect()
}

/// Place key `key` extended by the projections `suffix` (a key's tail, as `key_projections`
/// splits it), cut to `MAX_PROJECTIONS` precise projections: the key and whether it was cut
/// (then it stands for somewhere under its prefix: a weak update, counted by the caller).
pub fn extend_key(key: &str, suffix: &str) -> (String, bool) {
    let room = MAX_PROJECTIONS.saturating_sub(key_projections(key).len());
    let added = key_projections(suffix);
    let kept = added.len().min(room);
    let mut extended = key.to_string();
    for projection in &added[..kept] {
        extended.push_str(projection);
    }
    (extended, kept < added.len())
}

/// The variable a place key starts from (`self` for `self.a.b`).
pub fn base_of(key: &str) -> &str {
    key.split(['.', '[']).next().unwrap_or(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(source: &str) -> Option<Place> {
        let tree = crate::parse::parse(source);
        let expression = tree.root_node().named_child(0)?.named_child(0)?;
        place_of(source, expression, &mut literal_key(source))
    }

    fn key(source: &str) -> Option<(String, Option<Cut>)> {
        place(source).map(|p| (p.key(), p.cut))
    }

    #[test]
    fn places_keep_three_projections_and_cut_to_the_prefix() {
        assert_eq!(key("a.b.c.d"), Some(("a.b.c.d".into(), None)));
        assert_eq!(key("a.b.c.d.e"), Some(("a.b.c.d".into(), Some(Cut::TooDeep))));
        assert_eq!(key("a[0][\"k\"].x"), Some(("a[0][\"k\"].x".into(), None)));
        assert_eq!(key("(a).b"), Some(("a.b".into(), None)));
        assert_eq!(key("f().x"), None);
    }

    #[test]
    fn an_unknown_index_ends_the_place_at_its_container() {
        let cut = place("a[i].b").expect("a place");
        assert_eq!((cut.key(), cut.cut), ("a".to_string(), Some(Cut::AnyIndex)));
        assert_eq!(cut.projections, vec![Projection::AnyIndex]);
        assert!(keys_overlap(&cut.key(), "a[0].b"), "the container covers every element");
    }

    #[test]
    fn exact_places_refuse_cut_ones() {
        let source = "a.b.c.d.e\n";
        let tree = crate::parse::parse(source);
        let expression = tree.root_node().named_child(0).and_then(|s| s.named_child(0)).expect("an expression");
        assert_eq!(exact_place_of(source, expression, &mut literal_key(source)), None);
        assert_eq!(
            exact_place_of(source, expression.named_child(0).expect("object"), &mut literal_key(source)).map(|p| p.key()),
            Some("a.b.c.d".into())
        );
    }

    #[test]
    fn places_of_very_deep_chains_do_not_recurse() {
        // Run on a small stack: a recursive walk would overflow it.
        let source = format!("a{}\n", ".b".repeat(100_000));
        let found = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || key(&source))
            .expect("thread starts")
            .join()
            .expect("no stack overflow");
        assert_eq!(found, Some(("a.b.b.b".into(), Some(Cut::TooDeep))));
    }

    #[test]
    fn keys_extend_by_projections_up_to_the_bound() {
        assert_eq!(key_projections("a.b[\"x.y[\"][0]"), vec![".b", "[\"x.y[\"]", "[0]"]);
        assert_eq!(extend_key("obj", ".f"), ("obj.f".to_string(), false));
        assert_eq!(extend_key("obj.a", "[\"k\"].g"), ("obj.a[\"k\"].g".to_string(), false));
        assert_eq!(extend_key("obj.a.b", ".c.d"), ("obj.a.b.c".to_string(), true), "cut to its prefix");
        assert_eq!(extend_key("obj", ""), ("obj".to_string(), false));
    }

    #[test]
    fn keys_overlap_along_projections_only() {
        assert!(keys_overlap("x", "x.a") && keys_overlap("x[\"k\"]", "x") && keys_overlap("x.a", "x.a"));
        assert!(!keys_overlap("x.a", "x.b") && !keys_overlap("xy", "x") && !keys_overlap("x.ab", "x.a"));
        assert_eq!(base_of("self.a[0]"), "self");
    }
}
