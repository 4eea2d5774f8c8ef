//! Call effects as facts of the IR: what a call to a scope does besides returning, as far as
//! the scope's own lowered sites say (its callees' effects are composed by the analyses), and
//! how a call site's lowered arguments bind to a callee's parameters.
//!
//! Invariants:
//! - A scope's effects depend only on its lowered sites and its parameters' names: equal text,
//!   equal effects.
//! - They err toward more effects: a parameter rebound (`xs = []`) and then mutated still
//!   counts as mutated, and a place cut by the depth bound stands for its prefix.

use crate::ir::binding::{bind, How, Passed, Receiver, Written};
use crate::ir::lower::{Argument, CallSite, Lowered, ScopeIr};
use crate::ir::place::{base_of, key_under};
use crate::program::Param;

/// What a call to a scope does besides returning (the scope's own sites only).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Effects {
    /// Places under parameters the scope writes, place-granular: (parameter position among
    /// all parameters, the receiver included; the written place's projections below the
    /// parameter as a key suffix — `""` for `xs.append(a)` or `xs[i] = a`, `.f` for
    /// `p.f = a`). Distinct, sorted.
    pub mutated: Vec<(usize, Box<str>)>,
    /// Module globals the scope assigns (declared `global` and defined). Distinct, sorted.
    pub written_globals: Vec<Box<str>>,
    /// Whether the scope yields (a generator: each `yield` hands a value to the caller).
    pub yields: bool,
}

impl Effects {
    /// Whether a call passing `position` lets the callee write under it.
    pub fn mutates(&self, position: usize) -> bool {
        self.mutated.iter().any(|&(at, _)| at == position)
    }
}

/// The effects of a scope whose lowered sites are `sites` (over `ir`'s places) and whose
/// parameters are named `parameters` (the receiver included).
pub fn scope_effects<'a>(ir: &ScopeIr, parameters: &[&str], sites: impl IntoIterator<Item = &'a Lowered>) -> Effects {
    let sites: Vec<&Lowered> = sites.into_iter().collect();
    let mut effects = Effects::default();
    let declared: Vec<&str> = sites.iter().flat_map(|site| site.globals.iter().map(|name| &**name)).collect();
    for site in &sites {
        effects.yields |= site.yields;
        for &(place, strong) in &site.definitions {
            let key = ir.key(place);
            let base = base_of(key);
            if let Some(position) = parameters.iter().position(|name| *name == base) {
                if !(strong && key == base) {
                    debug_assert!(key_under(key, base));
                    effects.mutated.push((position, key[base.len()..].into()));
                }
            }
            if declared.contains(&base) {
                effects.written_globals.push(base.into());
            }
        }
    }
    effects.mutated.sort();
    effects.mutated.dedup();
    effects.written_globals.sort();
    effects.written_globals.dedup();
    effects
}

/// What a lowered call site passes to a callee with parameters `params`, by parameter
/// position (the receiver at 0 for a method called on an object, `Receiver::Object`; the first
/// argument for a plain method read through its class, `Receiver::Explicit`), and how
/// (`ir::binding::bind`, the rule taint applies too). Sorted by position.
pub fn bind_arguments<'s>(site: &'s CallSite, receiver: Receiver, params: &[Param<'_>]) -> Vec<(usize, &'s Argument, How)> {
    let positional = site.positional.iter().map(|(spread, _)| if *spread { Written::Spread } else { Written::Positional });
    let keywords = site.keywords.iter().map(|(name, _)| Written::Keyword(name));
    let written = positional.chain(keywords).chain(site.keyword_spreads.iter().map(|_| Written::KeywordSpread));
    let arguments: Vec<&Argument> = site
        .positional
        .iter()
        .map(|(_, argument)| argument)
        .chain(site.keywords.iter().map(|(_, argument)| argument))
        .chain(&site.keyword_spreads)
        .collect();
    bind(params, receiver, written)
        .into_iter()
        .filter_map(|bound| {
            let argument = match bound.passed {
                Passed::Receiver => site.receiver.as_ref()?,
                Passed::Argument(index) => arguments[index],
            };
            Some((bound.parameter, argument, bound.how))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::lower::{IrCache, StepKind};
    use crate::syntax::tree::Node;
    use crate::syntax::{field, FieldChild};

    /// The effects of the first function of `source`, its body's statements lowered as sites.
    fn effects_of(source: &str) -> Effects {
        let tree = crate::parse::parse(source);
        let function = tree.root_node().named_child(0).expect("a function");
        let body = function.field(&field::BODY).expect("a body");
        let mut cursor = body.walk();
        let statements: Vec<Node<'_>> = body.named_children(&mut cursor).collect();
        let sites: Vec<(StepKind, Node<'_>)> = statements.iter().map(|&s| (StepKind::Statement, s)).collect();
        let ir = IrCache::default().scope(source, body, &sites);
        let parameters = function.field(&field::PARAMETERS).expect("parameters");
        let mut cursor = parameters.walk();
        let names: Vec<&str> = parameters.named_children(&mut cursor).map(|p| crate::program::text_of(source, p)).collect();
        let lowered = statements.iter().map(|&s| ir.site(StepKind::Statement, s, body.start_byte()).expect("lowered"));
        scope_effects(&ir, &names, lowered)
    }

    #[test]
    fn a_mutator_call_or_an_unknown_index_mutates_the_parameters_object() {
        let effects = effects_of("def f(xs, ys, i, a):\n    xs.append(a)\n    ys[i] = a\n");
        assert_eq!(effects.mutated, vec![(0, "".into()), (1, "".into())]);
        assert!(effects.mutates(0) && effects.mutates(1) && !effects.mutates(3));
    }

    #[test]
    fn a_field_or_constant_key_write_mutates_that_place_only() {
        let effects = effects_of("def f(p, d, a):\n    p.f = a\n    d[\"k\"] = a\n");
        assert_eq!(effects.mutated, vec![(0, ".f".into()), (1, "[\"k\"]".into())]);
    }

    #[test]
    fn rebinding_a_parameter_is_no_mutation_but_a_later_mutation_still_counts() {
        assert_eq!(effects_of("def f(xs):\n    xs = []\n    return xs\n").mutated, Vec::new());
        // Errs toward more effects: `xs` no longer names the caller's object.
        assert_eq!(effects_of("def f(xs):\n    xs = []\n    xs.append(1)\n").mutated, vec![(0, "".into())]);
    }

    #[test]
    fn globals_declared_and_assigned_are_written_globals() {
        let effects = effects_of("def f(a):\n    global g, h\n    g = a\n    local = h\n");
        assert_eq!(effects.written_globals, vec!["g".into()] as Vec<Box<str>>);
        assert!(effects.mutated.is_empty() && !effects.yields);
    }

    #[test]
    fn a_yield_of_the_scope_makes_it_yield_one_of_a_nested_scope_does_not() {
        assert!(effects_of("def f(a):\n    yield a\n").yields);
        assert!(effects_of("def f(a):\n    b = yield\n").yields);
        assert!(!effects_of("def f(a):\n    g = lambda: (yield)\n    s = \"yield\"\n").yields);
    }

    #[test]
    fn call_arguments_bind_to_parameters_by_position_keyword_and_receiver() {
        let source = "def m(self, a, b, *rest, key=None):\n    pass\n\nobj.m(x, y, z, key=k)\n";
        let document = crate::parse::Document::new(source.to_string());
        let parts = crate::program::build_parts(vec![("app.py".to_string(), &document)]);
        let program = crate::program::Program::from_parts(&parts);
        let callee = &program.scopes[program.functions["app.m"]];
        let module = program.scopes.iter().position(|s| s.kind == crate::program::ScopeKind::Module).expect("a module");
        let body = program.scopes[module].body;
        let statement = body.named_child(1).expect("the call statement");
        let ir = IrCache::default().scope(source, body, &[(StepKind::Statement, statement)]);
        let lowered = ir.site(StepKind::Statement, statement, body.start_byte()).expect("lowered");
        let place = |argument: &Argument| argument.place.map(|p| ir.key(p).to_string());
        let bound: Vec<(usize, Option<String>, How)> = bind_arguments(&lowered.calls[0], Receiver::Object, &callee.params)
            .into_iter()
            .map(|(at, argument, how)| (at, place(argument), how))
            .collect();
        // `self` ← obj, a ← x, b ← y; `z` is collected by `*rest`; key ← k.
        assert_eq!(
            bound,
            vec![
                (0, Some("obj".into()), How::Exactly),
                (1, Some("x".into()), How::Exactly),
                (2, Some("y".into()), How::Exactly),
                (3, Some("z".into()), How::Collected),
                (4, Some("k".into()), How::Exactly)
            ],
        );
    }
}
