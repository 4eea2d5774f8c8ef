//! Receiver types from the rule packs' `[[type]]` models: what a library call returns
//! (`logging.getLogger` → `logging.Logger`), what an attribute read is (`flask_pymongo.PyMongo.db`),
//! what the members of a type are (any attribute or subscript of a `pymongo.MongoClient` is a
//! `pymongo.database.Database`), and what a module-level name bound once to such an expression
//! is (`program::instances`). A typed value carries its type as its reference, so a method
//! called on it is referenced `Type.method` and matches sinks declared `on` that type.
//!
//! Invariant: a type comes from declarations and the program's syntax only, never from the text
//! of a name (`feedback.find(q)` is not a database query because "db" is in "feedback").

use crate::program::{ChainRoot, InstanceChain, InstanceStep, Program};
use crate::rules::RuleSet;

/// Module-level names chained through other module-level names deeper than this are untyped.
const MAX_CHAINED_NAMES: usize = 8;

/// The type of the result of calling `reference` when a pack declares one.
pub(super) fn returned_type<'r>(rules: &'r RuleSet, reference: &str) -> Option<&'r str> {
    rules.type_returned_by.get(reference).map(String::as_str)
}

/// The type of `object.attribute` (`object` is a reference) when a pack declares one: the
/// attribute itself, or any member of `object`'s type.
pub(super) fn member_type<'r>(rules: &'r RuleSet, object: &str, attribute: &str) -> Option<&'r str> {
    rules.type_attributes.get(&format!("{object}.{attribute}")).or_else(|| rules.type_members.get(object)).map(String::as_str)
}

/// The type of the attribute referenced `reference` (`flask_sqlalchemy.SQLAlchemy.Model.query`)
/// when a pack declares one.
pub(super) fn attribute_type<'r>(rules: &'r RuleSet, reference: &str) -> Option<&'r str> {
    rules.type_attributes.get(reference).map(String::as_str)
}

/// The type of `object[…]` when a pack declares the members of `object`'s type.
pub(super) fn index_type<'r>(rules: &'r RuleSet, object: &str) -> Option<&'r str> {
    rules.type_members.get(object).map(String::as_str)
}

/// The reference a module-level name bound to `chain` in `module` has: the chain's steps
/// applied to its root with the type models; a call of a library class is an instance of it
/// (referenced by the class, as `calls` does for `requests.Session()`). `None` when a step
/// leaves what is known (a call of a function no pack types).
pub(super) fn chain_type(program: &Program<'_>, rules: &RuleSet, module: usize, chain: &InstanceChain) -> Option<String> {
    chain_type_within(program, rules, module, chain, 0)
}

fn chain_type_within(program: &Program<'_>, rules: &RuleSet, module: usize, chain: &InstanceChain, depth: usize) -> Option<String> {
    if depth >= MAX_CHAINED_NAMES {
        return None;
    }
    let mut current = match &chain.root {
        // An object another module made (`from store import client`), or an import.
        ChainRoot::Reference(reference) => match program.instance_chain(reference) {
            Some((there, inner)) if inner != chain => chain_type_within(program, rules, there, inner, depth + 1)?,
            // `from mylib import client` with `mylib.client` declared a type's attribute.
            _ => attribute_type(rules, reference).map_or_else(|| reference.clone(), str::to_string),
        },
        ChainRoot::Local(name) => {
            let inner = program.modules[module].instances.get(name)?;
            chain_type_within(program, rules, module, inner, depth + 1)?
        }
    };
    for step in &chain.steps {
        current = match step {
            InstanceStep::Call(_) => match returned_type(rules, &current) {
                Some(returned) => returned.to_string(),
                None if current.rsplit('.').next().is_some_and(|last| last.starts_with(|c: char| c.is_uppercase())) => current,
                None => return None,
            },
            InstanceStep::Attribute(attribute) => {
                member_type(rules, &current, attribute).map_or_else(|| format!("{current}.{attribute}"), str::to_string)
            }
            InstanceStep::Index => index_type(rules, &current)?.to_string(),
        };
    }
    Some(current)
}

/// The pattern module-level name `name` (read in `module`, or imported there) was compiled
/// from, when it is `re.compile` of one string literal and nothing else (`SLUG =
/// re.compile(r"[a-z-]+")`; flags could change what the pattern means).
pub(super) fn compiled_pattern(program: &Program<'_>, module: usize, name: &str) -> Option<String> {
    let chain = match program.resolve_name(module, name) {
        Some(reference) => program.instance_chain(&reference).map(|(_, chain)| chain),
        None => program.modules[module].instances.get(name),
    }?;
    let ChainRoot::Reference(root) = &chain.root else { return None };
    let (InstanceStep::Call(Some(pattern)), attributes) = chain.steps.split_last()? else { return None };
    let mut callee = root.clone();
    for step in attributes {
        let InstanceStep::Attribute(name) = step else { return None };
        callee = format!("{callee}.{name}");
    }
    (callee == "re.compile").then(|| pattern.clone())
}
