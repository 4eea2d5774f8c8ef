//! Module-level names bound once to an object made from an import: `logger =
//! logging.getLogger(__name__)`, `db = MongoClient().shop`, `tree = etree.parse("users.xml")`.
//! Each is recorded as an `InstanceChain` — the import it starts from and the calls, attribute
//! reads and subscripts applied to it — which the analyses turn into a type with the rule
//! packs' `[[type]]` models (`taint::types`). Nothing is evaluated here: the chain is syntax.
//!
//! Part of the program layer: it reads a module's syntax tree, its imports and aliases.

use rustc_hash::FxHashMap as HashMap;
use std::fmt;

use crate::syntax::tree::Node;

use super::{literal, text_of, Constant};
use crate::syntax::{field, FieldChild};

/// Steps longer than this are not recorded (a chain is a handful of steps in real code).
const MAX_STEPS: usize = 16;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum InstanceStep {
    /// `(…)`: the arguments do not matter to the type; a sole positional argument that is a
    /// string literal is kept (`re.compile(r"[a-z]+")`: what a compiled pattern matches).
    Call(Option<String>),
    /// `.name`
    Attribute(String),
    /// `[…]`
    Index,
}

/// `root` (a qualified reference, or a module-level name of the same module bound the same
/// way) followed by `steps`, in evaluation order.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct InstanceChain {
    pub root: ChainRoot,
    pub steps: Vec<InstanceStep>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ChainRoot {
    /// What an import or alias names (`pymongo.MongoClient`).
    Reference(String),
    /// Another module-level name of the module that is itself a chain (`db = client.shop`).
    Local(String),
}

impl fmt::Display for InstanceChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.root {
            ChainRoot::Reference(reference) => write!(f, "{reference}")?,
            ChainRoot::Local(name) => write!(f, "<local {name}>")?,
        }
        for step in &self.steps {
            match step {
                InstanceStep::Call(None) => write!(f, "()")?,
                InstanceStep::Call(Some(first)) => write!(f, "({first:?})")?,
                InstanceStep::Attribute(name) => write!(f, ".{name}")?,
                InstanceStep::Index => write!(f, "[]")?,
            }
        }
        Ok(())
    }
}

/// The chain `right` (a module-level assignment's right side that is neither a constant nor a
/// plain dotted reference to an import: those are constants and aliases) is, when it starts at
/// an import, an alias or a name in `chained` (the module's other names assigned once) and
/// applies at least one step.
pub fn chain_of(
    text: &str,
    right: Node<'_>,
    imports: &HashMap<String, String>,
    aliases: &HashMap<String, String>,
    chained: &dyn Fn(&str) -> bool,
) -> Option<InstanceChain> {
    let mut steps: Vec<InstanceStep> = Vec::new();
    let mut current = right;
    loop {
        if steps.len() > MAX_STEPS {
            return None;
        }
        match current.kind() {
            "call" => {
                let first = current
                    .field(&field::ARGUMENTS)
                    .filter(|arguments| arguments.named_child_count() == 1)
                    .and_then(|arguments| arguments.named_child(0))
                    .filter(|argument| argument.kind() != "keyword_argument")
                    .and_then(|argument| match literal(text, argument, &HashMap::default()) {
                        Some(Constant::Str(value)) => Some(value),
                        _ => None,
                    });
                steps.push(InstanceStep::Call(first));
                current = current.field(&field::FUNCTION)?;
            }
            "attribute" => {
                steps.push(InstanceStep::Attribute(text_of(text, current.field(&field::ATTRIBUTE)?).to_string()));
                current = current.field(&field::OBJECT)?;
            }
            "subscript" => {
                steps.push(InstanceStep::Index);
                current = current.field(&field::VALUE)?;
            }
            "parenthesized_expression" => current = current.named_child(0)?,
            "identifier" => break,
            _ => return None,
        }
    }
    steps.reverse();
    let name = text_of(text, current);
    let root = if let Some(qualified) = imports.get(name).or_else(|| aliases.get(name)) {
        ChainRoot::Reference(qualified.clone())
    } else if chained(name) {
        ChainRoot::Local(name.to_string())
    } else {
        return None;
    };
    if steps.is_empty() {
        return None;
    }
    Some(InstanceChain { root, steps })
}
