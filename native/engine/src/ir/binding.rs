//! How a call's arguments bind to a callee's parameters: the one rule slicing (over lowered
//! `CallSite`s) and taint (over evaluated syntax) both apply. The rule sees only the shape of
//! each argument as written (`Written`), so each analysis keeps its own representation of an
//! argument and asks which parameters it reaches.
//!
//! Invariants:
//! - Parameters as declared: a keyword-only one (after `*args` or a bare `*`) is never filled
//!   by position, a positional-only one (before `/`) never by keyword (`name=` goes to
//!   `**kwargs`, as in Python).
//! - Python's binding where it is known: the receiver of a bound method call (or the instance
//!   a constructor makes, which is no argument) is the first parameter, unless the method is a
//!   plain function read through its class (`Runner.run(obj, x)`, `Base.__init__(self, a)`:
//!   `obj` is `self`, `Receiver::Explicit`); a classmethod read through its class or an
//!   instance gets the class, a staticmethod nothing either way; positional arguments
//!   fill the parameters before the first `*args`/`**kwargs` in order, the rest go to `*args`;
//!   a keyword argument is the parameter of its name, or goes to `**kwargs`.
//! - Where the call does not say (after a `*xs`, for a `**d`), every parameter the argument
//!   could reach is bound, as `Possibly`: the rule errs toward more bindings, never fewer.
//! - An argument a call cannot bind (too many positionals, an unknown keyword and no
//!   `**kwargs`: a `TypeError` when run) binds nothing.

use crate::ir::resolve::Reached;
use crate::program::{text_of, Param, Program};

/// What gives a callee its first parameter at a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Receiver {
    /// The arguments fill every parameter: a function, a staticmethod, or a plain method read
    /// through its class (`Runner.run(obj, x)`: `obj` is `self`).
    Explicit,
    /// The object the method is read from is the first parameter: `obj.m(x)`, a classmethod
    /// read through its class (`Runner.make(x)`: `cls` is `Runner`).
    Object,
    /// Python gives it, no argument does: a constructor's new instance, a bound method called
    /// by another name (`m = obj.m; m(x)`).
    Implicit,
}

/// Whether method `scope` gets its class as the first parameter: `@classmethod`, and the
/// methods Python makes classmethods implicitly (`__init_subclass__`, `__class_getitem__`).
pub fn is_classmethod(program: &Program<'_>, scope: usize) -> bool {
    let info = &program.scopes[scope];
    let text = program.text(info.file);
    matches!(info.qualified_name.rsplit('.').next().unwrap_or(""), "__init_subclass__" | "__class_getitem__")
        || info.decorators.iter().any(|d| text_of(text, *d).trim_start_matches('@').trim() == "classmethod")
}

/// Whether method `scope` is `__new__`, a staticmethod Python makes implicitly
/// (`super().__new__(cls)` passes the class itself).
fn is_implicit_staticmethod(program: &Program<'_>, scope: usize) -> bool {
    program.scopes[scope].qualified_name.rsplit('.').next() == Some("__new__")
}

/// What gives `callee` its first parameter when a call reaches it as `reached` says. A call on
/// `super()` (`Reached::own_receiver`) is a call on the caller's own receiver: `Object`.
pub fn receiver_of(program: &Program<'_>, callee: usize, reached: Reached) -> Receiver {
    if !program.scopes[callee].implicit_receiver || is_implicit_staticmethod(program, callee) {
        return Receiver::Explicit;
    }
    if reached.constructor {
        return Receiver::Implicit;
    }
    if !reached.method_call {
        return Receiver::Implicit;
    }
    if reached.through_class && !is_classmethod(program, callee) {
        return Receiver::Explicit;
    }
    Receiver::Object
}

/// The caller's parameter that is the object of a call on `super()` (`Reached::own_receiver`):
/// its first, `self` (or `cls` in a classmethod; a function nested in a method: its own first
/// parameter, `resolve::super_class`). Each analysis passes it as the receiver (taint
/// its value and path, slicing its place); the call's lowering, cached by body text, cannot.
pub fn own_receiver<'p, 't>(program: &'p Program<'t>, caller: usize, reached: Reached) -> Option<&'p Param<'t>> {
    reached.own_receiver.then(|| program.scopes[caller].params.first()).flatten()
}

/// One argument as written at a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Written<'a> {
    /// `f(x)`.
    Positional,
    /// `f(*xs)`: any number of positional arguments.
    Spread,
    /// `f(name=x)`.
    Keyword(&'a str),
    /// `f(**d)`: any number of keyword arguments.
    KeywordSpread,
}

/// What a parameter is bound to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Passed {
    /// The object a method is called on (`obj` in `obj.m(…)`).
    Receiver,
    /// The argument at this index among those written (`Written`'s order).
    Argument(usize),
}

/// How an argument reaches a parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum How {
    /// The parameter is the argument (its place is the argument's place).
    Exactly,
    /// The parameter may be the argument or one of its elements (a spread, or a positional
    /// argument after one): which one the call does not say.
    Possibly,
    /// The parameter collects it: an element of `*args`, a value of `**kwargs`.
    Collected,
}

/// One binding: parameter `parameter` (its position among all parameters, the implicit
/// receiver included) receives `passed`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Bound {
    pub parameter: usize,
    pub passed: Passed,
    pub how: How,
}

/// Whether `param` is a `**kwargs` parameter (`Param::variadic` covers both kinds).
pub fn collects_keywords(param: &Param<'_>) -> bool {
    param.variadic && param.node.parent().is_some_and(|parent| parent.kind() == "dictionary_splat_pattern")
}

/// Binds a call's `arguments` (in the order written) to `params`, a callee's parameters.
/// `receiver`: what gives the first parameter (`receiver_of`); unless `Explicit`, no argument
/// does. Sorted by parameter, then argument.
pub fn bind<'a>(params: &[Param<'_>], receiver: Receiver, arguments: impl IntoIterator<Item = Written<'a>>) -> Vec<Bound> {
    let first = usize::from(receiver != Receiver::Explicit).min(params.len());
    // Parameters a positional argument can fill: those before the first variadic or
    // keyword-only one.
    let positional_end = params.iter().skip(first).position(|p| p.variadic || p.keyword_only).map_or(params.len(), |at| first + at);
    // Parameters a keyword argument can name.
    let by_keyword = |p: &Param<'_>| !p.variadic && !p.positional_only;
    let star_args = params.iter().position(|p| p.variadic && !collects_keywords(p));
    let star_kwargs = params.iter().position(collects_keywords);
    let mut bound = Vec::new();
    if receiver == Receiver::Object && first == 1 {
        bound.push(Bound { parameter: 0, passed: Passed::Receiver, how: How::Exactly });
    }
    // Positional arguments certainly before the current one; whether a spread came before.
    let mut count = 0;
    let mut after_spread = false;
    for (index, written) in arguments.into_iter().enumerate() {
        let passed = Passed::Argument(index);
        let mut bind_to = |parameter: usize, how: How| bound.push(Bound { parameter, passed, how });
        match written {
            Written::Positional if !after_spread => {
                let at = first + count;
                if at < positional_end {
                    bind_to(at, How::Exactly);
                } else if let Some(at) = star_args {
                    bind_to(at, How::Collected);
                }
                count += 1;
            }
            Written::Positional | Written::Spread => {
                after_spread = true;
                for at in (first + count)..positional_end {
                    bind_to(at, How::Possibly);
                }
                if let Some(at) = star_args {
                    bind_to(at, How::Collected);
                }
                count += usize::from(written == Written::Positional);
            }
            Written::Keyword(name) => match params.iter().skip(first).position(|p| p.name == name && by_keyword(p)) {
                Some(at) => bind_to(first + at, How::Exactly),
                None => {
                    if let Some(at) = star_kwargs {
                        bind_to(at, How::Collected);
                    }
                }
            },
            Written::KeywordSpread => {
                for (at, param) in params.iter().enumerate().skip(first + count) {
                    if by_keyword(param) {
                        bind_to(at, How::Possibly);
                    }
                }
                if let Some(at) = star_kwargs {
                    bind_to(at, How::Collected);
                }
            }
        }
    }
    bound.sort();
    bound
}

#[cfg(test)]
mod tests {
    use super::*;
    use Written::*;

    /// The bindings of `arguments` to the parameters of the first function of `source`, as
    /// (parameter name, argument index or `None` for the receiver, how).
    fn bindings(source: &str, receiver: Receiver, arguments: &[Written<'_>]) -> Vec<(String, Option<usize>, How)> {
        let tree = crate::parse::parse(source);
        let function = tree.root_node().named_child(0).expect("a function");
        let params = crate::program::parameters(source, function);
        bind(&params, receiver, arguments.iter().copied())
            .into_iter()
            .map(|b| {
                let passed = match b.passed {
                    Passed::Receiver => None,
                    Passed::Argument(index) => Some(index),
                };
                (params[b.parameter].name.clone(), passed, b.how)
            })
            .collect()
    }

    fn row(name: &str, passed: Option<usize>, how: How) -> (String, Option<usize>, How) {
        (name.to_string(), passed, how)
    }

    #[test]
    fn positional_and_keyword_arguments_bind_by_position_and_name() {
        let found = bindings("def f(a, b, c=1):\n    pass\n", Receiver::Explicit, &[Positional, Keyword("c"), Keyword("b")]);
        assert_eq!(found, vec![row("a", Some(0), How::Exactly), row("b", Some(2), How::Exactly), row("c", Some(1), How::Exactly)]);
        // A default left alone binds nothing; an unknown keyword with no `**kwargs` neither.
        assert_eq!(
            bindings("def f(a, b=1):\n    pass\n", Receiver::Explicit, &[Positional, Keyword("z")]),
            vec![row("a", Some(0), How::Exactly)]
        );
    }

    #[test]
    fn extra_positionals_go_to_star_args_unknown_keywords_to_star_star_kwargs() {
        let source = "def f(a, *rest, key=None, **options):\n    pass\n";
        let found = bindings(source, Receiver::Explicit, &[Positional, Positional, Positional, Keyword("key"), Keyword("other")]);
        assert_eq!(
            found,
            vec![
                row("a", Some(0), How::Exactly),
                row("rest", Some(1), How::Collected),
                row("rest", Some(2), How::Collected),
                row("key", Some(3), How::Exactly),
                row("options", Some(4), How::Collected),
            ]
        );
        // A keyword named like a variadic parameter is a `**kwargs` entry, not that parameter.
        assert_eq!(bindings(source, Receiver::Explicit, &[Keyword("rest")]), vec![row("options", Some(0), How::Collected)]);
    }

    #[test]
    fn the_receiver_is_the_first_parameter_of_a_bound_method_and_no_argument_of_a_constructor() {
        let source = "def m(self, a, b=None):\n    pass\n";
        // `obj.m(x, b=y)`: self ← obj.
        let found = bindings(source, Receiver::Object, &[Positional, Keyword("b")]);
        assert_eq!(found, vec![row("self", None, How::Exactly), row("a", Some(0), How::Exactly), row("b", Some(1), How::Exactly)]);
        // `Class(x)` → `__init__(self, a)`: self is the new instance, `x` is `a`.
        assert_eq!(bindings(source, Receiver::Implicit, &[Positional]), vec![row("a", Some(0), How::Exactly)]);
        // A keyword never names the implicit receiver.
        assert_eq!(bindings(source, Receiver::Implicit, &[Keyword("self")]), Vec::new());
    }

    #[test]
    fn a_plain_method_read_through_its_class_takes_self_from_its_first_argument() {
        let source = "def m(self, a, b=None):\n    pass\n";
        // `Runner.m(obj, x, b=y)`: self ← obj, a ← x.
        let found = bindings(source, Receiver::Explicit, &[Positional, Positional, Keyword("b")]);
        assert_eq!(found, vec![row("self", Some(0), How::Exactly), row("a", Some(1), How::Exactly), row("b", Some(2), How::Exactly)]);
        // `Runner.m(self=obj, a=x)`: `self` is a parameter like any other then.
        let found = bindings(source, Receiver::Explicit, &[Keyword("self"), Keyword("a")]);
        assert_eq!(found, vec![row("self", Some(0), How::Exactly), row("a", Some(1), How::Exactly)]);
    }

    #[test]
    fn what_gives_the_first_parameter_depends_on_the_method_kind_and_how_the_call_reads_it() {
        let source = "class C:\n    def __init__(self, a):\n        pass\n\n    def run(self, a):\n        pass\n\n    @classmethod\n    def make(cls, a):\n        pass\n\n    @staticmethod\n    def tool(a):\n        pass\n\n    def __init_subclass__(cls):\n        pass\n\n    def __new__(cls, a):\n        pass\n\n\ndef plain(a):\n    pass\n";
        let document = crate::parse::Document::new(source.to_string());
        let parts = crate::program::build_parts(vec![("app.py".to_string(), &document)]);
        let program = crate::program::Program::from_parts(&parts);
        let scope = |name: &str| program.functions[name];
        let on_instance = Reached { method_call: true, ..Reached::default() };
        let on_class = Reached { method_call: true, through_class: true, ..Reached::default() };
        let by_name = Reached::default();
        let constructor = Reached { constructor: true, ..Reached::default() };
        // `super().m(…)`: on the caller's own receiver.
        let on_super = Reached { method_call: true, own_receiver: true, ..Reached::default() };
        let cases = [
            ("app.C.run", on_instance, Receiver::Object),
            ("app.C.run", on_class, Receiver::Explicit),
            ("app.C.run", by_name, Receiver::Implicit),
            ("app.C.make", on_instance, Receiver::Object),
            ("app.C.make", on_class, Receiver::Object),
            ("app.C.__init_subclass__", on_class, Receiver::Object),
            ("app.C.tool", on_instance, Receiver::Explicit),
            ("app.C.tool", on_class, Receiver::Explicit),
            ("app.C.__init__", constructor, Receiver::Implicit),
            ("app.C.__init__", on_class, Receiver::Explicit),
            ("app.plain", by_name, Receiver::Explicit),
            ("app.C.run", on_super, Receiver::Object),
            ("app.C.make", on_super, Receiver::Object),
            ("app.C.tool", on_super, Receiver::Explicit),
            // `__new__` is a staticmethod Python makes implicitly: `super().__new__(cls, a)`.
            ("app.C.__new__", on_super, Receiver::Explicit),
            ("app.C.__new__", on_class, Receiver::Explicit),
        ];
        for (name, reached, expected) in cases {
            assert_eq!(receiver_of(&program, scope(name), reached), expected, "{name} reached as {reached:?}");
        }
    }

    #[test]
    fn after_a_spread_positions_are_unknown_and_every_remaining_parameter_is_possible() {
        let source = "def f(a, b, c, *rest, **options):\n    pass\n";
        let found = bindings(source, Receiver::Explicit, &[Positional, Spread, Positional]);
        let mut expected = vec![row("a", Some(0), How::Exactly)];
        for argument in [1, 2] {
            expected.extend(["b", "c"].map(|name| row(name, Some(argument), How::Possibly)));
            expected.push(row("rest", Some(argument), How::Collected));
        }
        expected.sort_by_key(|(name, passed, _)| (["a", "b", "c", "rest"].iter().position(|n| n == name), *passed));
        assert_eq!(found, expected);
        // `**d` may be any parameter not filled by position, and is `**kwargs`'s.
        let found = bindings(source, Receiver::Explicit, &[Positional, KeywordSpread]);
        assert_eq!(
            found,
            vec![
                row("a", Some(0), How::Exactly),
                row("b", Some(1), How::Possibly),
                row("c", Some(1), How::Possibly),
                row("options", Some(1), How::Collected)
            ]
        );
    }

    #[test]
    fn a_bare_star_makes_the_parameters_after_it_keyword_only() {
        let source = "def f(a, *, b, c=None):\n    pass\n";
        // `f(x, y)`: `y` fills no parameter (a `TypeError` when run).
        assert_eq!(bindings(source, Receiver::Explicit, &[Positional, Positional]), vec![row("a", Some(0), How::Exactly)]);
        assert_eq!(
            bindings(source, Receiver::Explicit, &[Positional, Keyword("c"), Keyword("b")]),
            vec![row("a", Some(0), How::Exactly), row("b", Some(2), How::Exactly), row("c", Some(1), How::Exactly)]
        );
        // After a spread, only `a` may be filled by position; `**d` may be any keyword one.
        assert_eq!(bindings(source, Receiver::Explicit, &[Spread]), vec![row("a", Some(0), How::Possibly)]);
        let found = bindings(source, Receiver::Explicit, &[KeywordSpread]);
        assert_eq!(found, vec![row("a", Some(0), How::Possibly), row("b", Some(0), How::Possibly), row("c", Some(0), How::Possibly)]);
        // A method: the bare `*` is no parameter, and the receiver is still the first.
        let source = "def m(self, a, *, key):\n    pass\n";
        assert_eq!(
            bindings(source, Receiver::Object, &[Positional, Positional]),
            vec![row("self", None, How::Exactly), row("a", Some(0), How::Exactly)]
        );
        // Past `*rest`, extra positionals are collected, never the keyword-only `key`.
        let source = "def f(a, *rest, key):\n    pass\n";
        assert_eq!(
            bindings(source, Receiver::Explicit, &[Positional, Positional]),
            vec![row("a", Some(0), How::Exactly), row("rest", Some(1), How::Collected)]
        );
    }

    #[test]
    fn a_slash_makes_the_parameters_before_it_positional_only() {
        let source = "def f(a, /, b, **options):\n    pass\n";
        // `f(b=x, a=y)`: `a=` is no name for `a`: `**options` collects it.
        assert_eq!(
            bindings(source, Receiver::Explicit, &[Keyword("b"), Keyword("a")]),
            vec![row("b", Some(0), How::Exactly), row("options", Some(1), How::Collected)]
        );
        assert_eq!(
            bindings(source, Receiver::Explicit, &[Positional, Positional]),
            vec![row("a", Some(0), How::Exactly), row("b", Some(1), How::Exactly)]
        );
        // `**d` may fill `b`, never `a`; without `**options` an `a=` binds nothing.
        assert_eq!(
            bindings(source, Receiver::Explicit, &[KeywordSpread]),
            vec![row("b", Some(0), How::Possibly), row("options", Some(0), How::Collected)]
        );
        assert_eq!(bindings("def f(a, /):\n    pass\n", Receiver::Explicit, &[Keyword("a")]), Vec::new());
    }

    #[test]
    fn too_many_positionals_without_star_args_bind_nothing() {
        assert_eq!(bindings("def f(a):\n    pass\n", Receiver::Explicit, &[Positional, Positional]), vec![row("a", Some(0), How::Exactly)]);
        assert_eq!(bindings("def f():\n    pass\n", Receiver::Object, &[Positional]), Vec::new());
    }
}
