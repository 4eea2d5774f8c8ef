//! Which names a scope binds: computed once per scope from its text, before any analysis
//! walks it, so every question about a name gets the same answer at every step (taint once
//! filled these sets while its dataflow walked the CFG, and a read visited before the binding
//! statement — a loop body read above the assignment — saw the name as not bound).
//!
//! A scope binds a name by an assignment target (tuple, list and star targets included), a
//! `for` target, `with … as`, `except … as`, a `case` capture, `:=` (which binds in the
//! enclosing function when it is written in a comprehension, and in the lambda when written in
//! a lambda's body), an import, a `def` or `class`, an annotation without a value (`x: int`),
//! `del`, and an augmented assignment (`x += …`, kept apart: it updates what the name holds).
//! `global`/`nonlocal` declarations (`lower::declared_names`) make a bound name not the scope's
//! own (`binds`), whatever the order of the statements.
//!
//! Invariants:
//! - Depends only on the scope body's text; nested `def`/`class` bodies and lambda bodies are
//!   other scopes (their names, not their bindings, are this scope's). Walked with an explicit
//!   stack; expressions are entered only where the body holds a `:=`.
//! - The questions (`binds`, `rebinds`, `augments`, `declares`) are what the analyses ask:
//!   slicing's "is this name a local" (`slice::ScopeGraph::binds`), taint's "may this name
//!   still hold what the caller passed, the module defined or an import made" (`rebinds`),
//!   both analyses' "is this object a class read through its name" (`resolve::reached`).
//! - A name a function binds itself is never the module's constant of that name
//!   (`names_own_binding`, the one notion of it; `ScopeConstants` is the module's constants as
//!   a scope reads them, for `program::literal`): a parameter, an assignment, a `for`/`with`/
//!   `except` target, a `:=`, a comprehension's or lambda's variable around the read. An
//!   import is not (it binds what `Program::resolve_name` resolves, function-local imports
//!   included), nor a name declared `global`/`nonlocal`.

use rustc_hash::{FxHashMap, FxHashSet};

use crate::ir::lower::declared_names;
use crate::program::{text_of, Constant, ConstantNames, Program, ScopeKind};
use crate::syntax::tree::Node;
use crate::syntax::{field, FieldChild};

/// How a statement binds a name (bits: a name may be bound several ways).
const ASSIGNED: u8 = 1;
const DEFINED: u8 = 2;
const IMPORTED: u8 = 4;
const DELETED: u8 = 8;
const AUGMENTED: u8 = 16;
const ANNOTATED: u8 = 32;
/// Bound by a plain `name = value` (`values` keeps the value)…
const PLAIN: u8 = 64;
/// …or some other way (every binding but a plain assignment sets it).
const OTHERWISE: u8 = 128;

/// The names one scope binds, and those it declares `global` or `nonlocal` (see the module).
#[derive(Clone, Debug, Default)]
pub struct Bindings<'t> {
    names: FxHashMap<&'t str, u8>,
    globals: FxHashSet<&'t str>,
    nonlocals: FxHashSet<&'t str>,
    /// The value of every plain assignment `name = value`, in no order.
    values: FxHashMap<&'t str, Vec<Node<'t>>>,
}

impl<'t> Bindings<'t> {
    /// The bindings of the scope whose body is `body` (a block, or a lambda's body expression).
    pub fn of_scope(text: &'t str, body: Node<'t>) -> Bindings<'t> {
        let mut bindings = Bindings::default();
        let walrus = memchr::memmem::find(&text.as_bytes()[body.byte_range()], b":=").is_some();
        let mut stack = vec![body];
        while let Some(node) = stack.pop() {
            match node.kind() {
                "function_definition" | "class_definition" => {
                    if let Some(name) = node.field(&field::NAME) {
                        bindings.add(text_of(text, name), DEFINED);
                    }
                    if walrus {
                        // Defaults and base classes are evaluated here (a `:=` there is ours).
                        if let Some(parameters) = node.field(&field::PARAMETERS) {
                            let mut cursor = parameters.walk();
                            stack.extend(parameters.named_children(&mut cursor).filter_map(|p| p.field(&field::VALUE)));
                        }
                        stack.extend(node.field(&field::SUPERCLASSES));
                    }
                }
                // Only a lambda's defaults are evaluated here.
                "lambda" if walrus => {
                    if let Some(parameters) = node.field(&field::PARAMETERS) {
                        let mut cursor = parameters.walk();
                        stack.extend(parameters.named_children(&mut cursor).filter_map(|p| p.field(&field::VALUE)));
                    }
                }
                "lambda" => {}
                "assignment" => {
                    let (left, right) = (node.field(&field::LEFT), node.field(&field::RIGHT));
                    match (left, right) {
                        (Some(left), Some(right)) if left.kind() == "identifier" => {
                            let name = text_of(text, left);
                            bindings.add(name, ASSIGNED | PLAIN);
                            bindings.values.entry(name).or_default().push(right);
                        }
                        (Some(left), right) => {
                            let flag = if right.is_some() { ASSIGNED } else { ANNOTATED };
                            bindings.targets(text, left, flag, walrus.then_some(&mut stack));
                        }
                        (None, _) => {}
                    }
                    // `a = b = value`: the right side is an assignment itself.
                    stack.extend(node.field(&field::RIGHT).filter(|right| walrus || right.kind() == "assignment"));
                }
                "augmented_assignment" => {
                    if let Some(left) = node.field(&field::LEFT).filter(|left| left.kind() == "identifier") {
                        bindings.add(text_of(text, left), AUGMENTED);
                    }
                    if walrus {
                        stack.extend(node.field(&field::RIGHT));
                    }
                }
                "named_expression" => {
                    if let Some(name) = node.field(&field::NAME) {
                        bindings.add(text_of(text, name), ASSIGNED);
                    }
                    stack.extend(node.field(&field::VALUE));
                }
                "for_statement" => {
                    if let Some(left) = node.field(&field::LEFT) {
                        bindings.targets(text, left, ASSIGNED, walrus.then_some(&mut stack));
                    }
                    stack.extend(node.field(&field::BODY));
                    stack.extend(node.field(&field::ALTERNATIVE));
                    if walrus {
                        stack.extend(node.field(&field::RIGHT));
                    }
                }
                // `with x as y`, `except E as e` (a `case p as q` is a capture, below).
                "as_pattern" => {
                    if let Some(alias) = node.field(&field::ALIAS) {
                        bindings.targets(text, alias, ASSIGNED, walrus.then_some(&mut stack));
                    }
                    if walrus {
                        stack.extend(node.named_child(0));
                    }
                }
                "case_clause" => {
                    for capture in case_captures(node) {
                        bindings.add(text_of(text, capture), ASSIGNED);
                    }
                    let mut cursor = node.walk();
                    stack.extend(node.named_children(&mut cursor).filter(|c| c.kind() == "block" || (walrus && c.kind() == "if_clause")));
                }
                "import_statement" | "import_from_statement" | "future_import_statement" => {
                    let mut cursor = node.walk();
                    for name in node.children_by_field_name("name", &mut cursor) {
                        let bound = match name.kind() {
                            "aliased_import" => name.field(&field::ALIAS).map(|alias| text_of(text, alias)),
                            _ => text_of(text, name).split('.').next().map(str::trim),
                        };
                        if let Some(bound) = bound.filter(|bound| !bound.is_empty()) {
                            bindings.add(bound, IMPORTED);
                        }
                    }
                }
                "delete_statement" => {
                    let mut cursor = node.walk();
                    let targets: Vec<Node<'t>> = node.named_children(&mut cursor).collect();
                    for target in targets {
                        bindings.targets(text, target, DELETED, None);
                    }
                }
                "global_statement" => bindings.globals.extend(declared_names(text, node)),
                "nonlocal_statement" => bindings.nonlocals.extend(declared_names(text, node)),
                "comment" | "string" | "identifier" | "integer" | "float" | "true" | "false" | "none" => {}
                "module"
                | "block"
                | "expression_statement"
                | "if_statement"
                | "elif_clause"
                | "else_clause"
                | "while_statement"
                | "try_statement"
                | "except_clause"
                | "except_group_clause"
                | "finally_clause"
                | "with_statement"
                | "with_clause"
                | "with_item"
                | "match_statement"
                | "decorated_definition" => {
                    let mut cursor = node.walk();
                    stack.extend(node.named_children(&mut cursor).filter(|child| walrus || !is_expression_part(node, *child)));
                }
                // Any other node is an expression or a statement made of expressions: it binds
                // only by `:=`.
                _ if walrus => {
                    let mut cursor = node.walk();
                    stack.extend(node.named_children(&mut cursor));
                }
                _ => {}
            }
        }
        bindings
    }

    fn add(&mut self, name: &'t str, how: u8) {
        *self.names.entry(name).or_default() |= if how & PLAIN == 0 { how | OTHERWISE } else { how };
    }

    /// The names a target binds (`a`, `a, *b`, `[a, (b, c)]`; `a.x` and `a[i]` bind none),
    /// the parts of attributes and subscripts pushed to `expressions` for their `:=`.
    fn targets(&mut self, text: &'t str, target: Node<'t>, how: u8, mut expressions: Option<&mut Vec<Node<'t>>>) {
        let mut stack = vec![target];
        while let Some(node) = stack.pop() {
            match node.kind() {
                "identifier" => self.add(text_of(text, node), how),
                kind if is_target_group(kind) => {
                    let mut cursor = node.walk();
                    stack.extend(node.named_children(&mut cursor));
                }
                _ => {
                    if let Some(expressions) = expressions.as_deref_mut() {
                        expressions.push(node);
                    }
                }
            }
        }
    }

    /// Whether `name` is a local variable of the scope, as Python decides: bound in it in any
    /// way and not declared `global` or `nonlocal`. Parameters are the caller's to add.
    pub fn binds(&self, name: &str) -> bool {
        self.names.contains_key(name) && !self.declares(name)
    }

    /// Whether a statement of the scope replaces what `name` holds with a value of its own (an
    /// assignment, `:=`, a `for`/`with`/`except` target, a `case` capture, a `def` or
    /// `class`), declared `global` or not: not an import (it names what the module's imports
    /// resolve), an augmented assignment (it updates the value in place), `del` or a bare
    /// annotation.
    pub fn rebinds(&self, name: &str) -> bool {
        self.names.get(name).is_some_and(|how| how & (ASSIGNED | DEFINED) != 0)
    }

    /// Whether a statement of the scope gives `name` a value (`rebinds`) or updates it
    /// (`augments`): what the name holds is then not what the module or an import makes it.
    pub fn assigns(&self, name: &str) -> bool {
        self.names.get(name).is_some_and(|how| how & (ASSIGNED | DEFINED | AUGMENTED) != 0)
    }

    /// Whether the scope augments `name` (`name += …`).
    pub fn augments(&self, name: &str) -> bool {
        self.names.get(name).is_some_and(|how| how & AUGMENTED != 0)
    }

    /// Whether the scope declares `name` `global` or `nonlocal`.
    pub fn declares(&self, name: &str) -> bool {
        (!self.globals.is_empty() && self.globals.contains(name)) || (!self.nonlocals.is_empty() && self.nonlocals.contains(name))
    }

    /// The locals bound only by plain assignments (`name = value`: no other binding of any
    /// kind, no `global`/`nonlocal` declaration), with the values assigned, in no order.
    /// Parameters are the caller's to leave out.
    pub fn assigned_only_plainly(&self) -> impl Iterator<Item = (&'t str, &[Node<'t>])> + '_ {
        self.values
            .iter()
            .filter(|(name, _)| self.names.get(*name).is_some_and(|how| how & OTHERWISE == 0) && !self.declares(name))
            .map(|(name, values)| (*name, values.as_slice()))
    }

    /// The scope's local variables (`binds`), in no order.
    pub fn locals(&self) -> impl Iterator<Item = &'t str> + '_ {
        self.names.keys().copied().filter(|name| !self.declares(name))
    }

    /// The names the scope gives or updates a value of its own (`assigns`), in no order.
    pub fn assigned(&self) -> impl Iterator<Item = &'t str> + '_ {
        self.names.keys().copied().filter(|name| self.assigns(name))
    }
}

/// Whether the identifier `identifier`, read in the scope `scope` whose bindings are
/// `bindings`, holds a value the code around it gives it, not what the module binds the name
/// to: in a function (or lambda) a parameter or a name it assigns (`Bindings::assigns`), not
/// declared `global`/`nonlocal`; anywhere, a variable of a comprehension or lambda around the
/// read. An import is not (see the module). A module constant of that name is not what it
/// means there (`ScopeConstants`), nor is a module's guard helper or allow-list (taint's
/// `guards.rs`). A comprehension's variable counts in its whole comprehension, the first
/// iterable (evaluated outside) included: there the name is only not known as a constant.
pub fn names_own_binding(program: &Program<'_>, scope: usize, bindings: &Bindings<'_>, text: &str, identifier: Node<'_>) -> bool {
    if identifier.kind() != "identifier" {
        return false;
    }
    let name = text_of(text, identifier);
    let info = &program.scopes[scope];
    if info.kind != ScopeKind::Module
        && !bindings.declares(name)
        && (bindings.assigns(name) || info.params.iter().any(|param| param.name == name))
    {
        return true;
    }
    // Comprehensions and lambdas between the read and the scope's body.
    let body = info.body.id();
    let mut current = identifier;
    while let Some(parent) = current.parent() {
        if current.id() == body {
            break;
        }
        let binds = match parent.kind() {
            "list_comprehension" | "set_comprehension" | "dictionary_comprehension" | "generator_expression" => {
                let mut cursor = parent.walk();
                let clauses: Vec<Node<'_>> = parent.named_children(&mut cursor).filter(|c| c.kind() == "for_in_clause").collect();
                clauses.into_iter().filter_map(|clause| clause.field(&field::LEFT)).any(|target| target_binds(text, target, name))
            }
            "lambda" => parent.field(&field::PARAMETERS).is_some_and(|parameters| {
                let mut cursor = parameters.walk();
                let found = parameters.named_children(&mut cursor).any(|parameter| {
                    let bound = match parameter.kind() {
                        "identifier" => Some(parameter),
                        "default_parameter" | "typed_default_parameter" => parameter.field(&field::NAME),
                        _ => parameter.named_child(0),
                    };
                    bound.is_some_and(|bound| bound.kind() == "identifier" && text_of(text, bound) == name)
                });
                found
            }),
            _ => false,
        };
        if binds {
            return true;
        }
        current = parent;
    }
    false
}

/// Whether a node of kind `kind` in a target groups further targets (`a, *b`, `[a, (b, c)]`,
/// `with … as (a, b)`): the names inside it are bound, not read.
fn is_target_group(kind: &str) -> bool {
    matches!(
        kind,
        "pattern_list"
            | "tuple_pattern"
            | "list_pattern"
            | "tuple"
            | "list"
            | "expression_list"
            | "parenthesized_expression"
            | "list_splat_pattern"
            | "list_splat"
            | "as_pattern_target"
    )
}

/// Whether the target `target` (a name, or a tuple or list of targets) binds `name`.
fn target_binds(text: &str, target: Node<'_>, name: &str) -> bool {
    let mut stack = vec![target];
    while let Some(node) = stack.pop() {
        match node.kind() {
            "identifier" if text_of(text, node) == name => return true,
            kind if is_target_group(kind) => {
                let mut cursor = node.walk();
                stack.extend(node.named_children(&mut cursor));
            }
            _ => {}
        }
    }
    false
}

/// A module's constants as the scope `scope` reads them (`program::ConstantNames`): a name the
/// scope binds itself (`names_own_binding`) is no constant there. The scope's bindings are
/// computed on the first read of a module constant's name (reads of other names cost nothing).
pub struct ScopeConstants<'a, 't> {
    program: &'a Program<'t>,
    scope: usize,
    bindings: std::cell::OnceCell<Bindings<'t>>,
}

impl<'a, 't> ScopeConstants<'a, 't> {
    pub fn new(program: &'a Program<'t>, scope: usize) -> Self {
        ScopeConstants { program, scope, bindings: std::cell::OnceCell::new() }
    }
}

impl ConstantNames for ScopeConstants<'_, '_> {
    fn constant_named(&self, name: &str, identifier: Node<'_>) -> Option<&Constant> {
        let info = &self.program.scopes[self.scope];
        let constant = self.program.modules[info.module].constants.get(name)?;
        let text = self.program.text(info.file);
        // A module body's names are all the module's own: only comprehensions and lambdas.
        let bindings = self.bindings.get_or_init(|| match info.kind {
            ScopeKind::Module => Bindings::default(),
            _ => Bindings::of_scope(text, info.body),
        });
        (!names_own_binding(self.program, self.scope, bindings, text, identifier)).then_some(constant)
    }
}

/// Whether `child` of the statement `parent` is an expression it evaluates (a condition, a
/// `with` item's value, a match subject) rather than a block or clause holding statements.
fn is_expression_part(parent: Node<'_>, child: Node<'_>) -> bool {
    match parent.kind() {
        "if_statement" | "elif_clause" | "while_statement" => child.kind() != "block" && !child.kind().ends_with("_clause"),
        "match_statement" => child.kind() != "block" && child.kind() != "case_clause",
        "with_item" => child.kind() != "as_pattern",
        "except_clause" | "except_group_clause" => child.kind() != "block" && child.kind() != "as_pattern",
        "expression_statement" => !matches!(child.kind(), "assignment" | "augmented_assignment"),
        "decorated_definition" => child.kind() == "decorator",
        _ => false,
    }
}

/// The names a `case` clause's pattern captures (`case [x, *rest]`, `case Point(x=px)`,
/// `case {"k": v}`, `case p as q`): its identifiers and one-part dotted names outside its
/// guard and block, but for a class pattern's class and a keyword pattern's keyword (`Point`
/// and `x` in `Point(x=px)`) and dotted values (`Color.RED`). The lowering, taint's transfer
/// and the bindings read captures here.
pub fn case_captures<'t>(case: Node<'t>) -> Vec<Node<'t>> {
    let mut captures = Vec::new();
    let mut stack = vec![case];
    while let Some(current) = stack.pop() {
        let named = matches!(current.kind(), "class_pattern" | "keyword_pattern");
        let mut cursor = current.walk();
        for (index, child) in current.named_children(&mut cursor).enumerate() {
            if named && index == 0 {
                continue;
            }
            match child.kind() {
                "block" | "if_clause" => {}
                "dotted_name" if child.named_child_count() == 1 => captures.push(child),
                "dotted_name" => {}
                "identifier" => captures.push(child),
                _ => stack.push(child),
            }
        }
    }
    captures
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bindings of the first function in `source`, one word per name: `name` a local,
    /// `name!` also rebound (`rebinds`), `name+` augmented, `^name` declared outside.
    fn render(source: &str) -> String {
        let tree = crate::parse::parse(source);
        let function = tree.root_node().named_child(0).expect("a function");
        let body = function.field(&field::BODY).expect("a body");
        let bindings = Bindings::of_scope(source, body);
        let mut names: Vec<&str> = bindings.names.keys().copied().collect();
        names.sort_unstable();
        names
            .into_iter()
            .map(|name| {
                format!(
                    "{}{name}{}{}",
                    if bindings.declares(name) { "^" } else { "" },
                    if bindings.rebinds(name) { "!" } else { "" },
                    if bindings.augments(name) { "+" } else { "" },
                )
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Invariant (module docs): a name a function binds itself is never the module's constant
    /// of that name, wherever `program::literal` reads it (`ScopeConstants`); an import, a
    /// `global` declaration and a function binding nothing of that name keep the constant.
    #[test]
    fn a_name_the_function_binds_itself_is_never_the_modules_constant() {
        let source = "KEY = 'title'\nKEY\n[KEY for KEY in ()]\n\ndef module_constant():\n    return KEY\n\ndef parameter(KEY):\n    return KEY\n\ndef assigned():\n    KEY = 'title'\n    return KEY\n\ndef loop(keys):\n    for KEY in keys:\n        return KEY\n\ndef walrus(k):\n    (KEY := k)\n    return KEY\n\ndef comprehension(keys):\n    return [KEY for KEY in keys]\n\ndef lambda_parameter():\n    return lambda KEY: KEY\n\ndef declared_global():\n    global KEY\n    return KEY\n\ndef imported():\n    from conf import KEY\n    return KEY\n";
        let document = crate::parse::Document::new(source.to_string());
        let parts = crate::program::build_parts(vec![("app.py".to_string(), &document)]);
        let program = Program::from_parts(&parts);
        let mut found: Vec<String> = Vec::new();
        for (scope, info) in program.scopes.iter().enumerate().filter(|(_, info)| info.kind != ScopeKind::Lambda) {
            let constants = ScopeConstants::new(&program, scope);
            let mut stack = vec![info.body];
            while let Some(node) = stack.pop() {
                let parent = node.parent().map(|parent| parent.kind());
                let read = matches!(parent, Some("return_statement" | "expression_statement" | "list_comprehension" | "lambda"));
                if node.kind() == "identifier" && text_of(source, node) == "KEY" && read {
                    let constant = crate::program::literal(source, node, &constants);
                    found.push(format!("{}: {constant:?}", info.qualified_name));
                }
                let mut cursor = node.walk();
                stack.extend(node.named_children(&mut cursor).filter(|child| child.kind() != "function_definition"));
            }
        }
        found.sort();
        let title = "Some(Str(\"title\"))";
        let expected: Vec<String> = vec![
            "app.assigned: None".to_string(),
            "app.comprehension: None".to_string(),
            format!("app.declared_global: {title}"),
            format!("app.imported: {title}"),
            "app.lambda_parameter: None".to_string(),
            "app.loop: None".to_string(),
            format!("app.module_constant: {title}"),
            "app.parameter: None".to_string(),
            "app.walrus: None".to_string(),
            // The module body: a comprehension's variable, then the module's own read.
            "app: None".to_string(),
            format!("app: {title}"),
        ];
        assert_eq!(found, expected);
    }

    #[test]
    fn names_bound_only_by_plain_assignments_keep_their_values() {
        let source = "def f(p):\n    a = A\n    a = B if p else C\n    b = b2 = B\n    c = A\n    c, d = p\n    e = A\n    e += 1\n    g = A\n    global g\n    for h in p:\n        h = A\n    i = A\n    del i\n    j: int = A\n    k: int\n    k = A\n    def m():\n        n = A\n";
        let tree = crate::parse::parse(source);
        let body = tree.root_node().named_child(0).and_then(|f| f.field(&field::BODY)).expect("a body");
        let bindings = Bindings::of_scope(source, body);
        let mut found: Vec<(&str, Vec<&str>)> = bindings
            .assigned_only_plainly()
            .map(|(name, values)| {
                let mut values: Vec<&str> = values.iter().map(|value| text_of(source, *value)).collect();
                values.sort_unstable();
                (name, values)
            })
            .collect();
        found.sort_unstable();
        // `b`'s value is the chained assignment; `c`, `e`, `g`, `h`, `i`, `k` are bound some
        // other way too; `n` is the nested function's.
        assert_eq!(found, vec![("a", vec!["A", "B if p else C"]), ("b", vec!["b2 = B"]), ("b2", vec!["B"]), ("j", vec!["A"])]);
    }

    #[test]
    fn assignment_targets_bind_tuple_list_and_star_names_not_attributes_or_subscripts() {
        assert_eq!(
            render("def f(p):\n    a = b = p\n    c, (d, *e) = p\n    [g, h] = p\n    p.x = 1\n    p[0] = 2\n"),
            "a! b! c! d! e! g! h!"
        );
    }

    #[test]
    fn an_annotation_without_a_value_makes_a_local_that_is_not_rebound() {
        assert_eq!(render("def f():\n    x: int\n    y: int = 1\n"), "x y!");
    }

    #[test]
    fn for_with_and_except_targets_bind() {
        let source = "def f(xs):\n    for i, (j, k) in xs:\n        pass\n    else:\n        z = 1\n    with open(xs) as fh, lock:\n        pass\n    with g() as (u, v):\n        pass\n    try:\n        pass\n    except ValueError as error:\n        pass\n";
        assert_eq!(render(source), "error! fh! i! j! k! u! v! z!");
    }

    #[test]
    fn a_walrus_binds_here_from_a_comprehension_but_not_from_a_lambda_body() {
        let source = "def f(xs):\n    ys = [last := x for x in xs]\n    g = lambda: (inner := 1)\n    if (n := len(xs)) > 1:\n        pass\n    h = lambda d=(dflt := 2): d\n";
        assert_eq!(render(source), "dflt! g! h! last! n! ys!");
    }

    #[test]
    fn imports_definitions_and_del_bind_and_only_definitions_rebind() {
        let source = "def f():\n    import os.path\n    import json as j\n    from a import b as c, d\n    from e import *\n    def inner():\n        hidden = 1\n    class K:\n        attr = 1\n    del gone, (also)\n";
        assert_eq!(render(source), "K! also c d gone inner! j os");
    }

    #[test]
    fn an_augmented_assignment_binds_without_rebinding() {
        assert_eq!(render("def f(items, x):\n    items += [x]\n    total = 0\n    total += x\n"), "items+ total!+");
    }

    #[test]
    fn declarations_anywhere_make_bound_names_not_local() {
        // The declaration after the assignment (a `SyntaxWarning` in old Pythons) still applies
        // to the whole body, and so does one in a branch that never runs.
        let source = "def f():\n    g = 1\n    if False:\n        global g\n    nonlocal n\n    n += 1\n    local = 2\n";
        assert_eq!(render(source), "^g! local! ^n+");
        let tree = crate::parse::parse(source);
        let body = tree.root_node().named_child(0).and_then(|f| f.field(&field::BODY)).expect("a body");
        let bindings = Bindings::of_scope(source, body);
        assert!(!bindings.binds("g") && !bindings.binds("n") && bindings.binds("local"));
        let mut locals: Vec<&str> = bindings.locals().collect();
        locals.sort_unstable();
        assert_eq!(locals, vec!["local"]);
    }

    #[test]
    fn case_patterns_capture_names_but_not_dotted_values() {
        let source = "def f(command):\n    match command:\n        case [first, *rest]:\n            pass\n        case Point(x=px) if (seen := px):\n            pass\n        case Color.RED:\n            pass\n        case {\"k\": value} as whole:\n            pass\n";
        assert_eq!(render(source), "first! px! rest! seen! value! whole!");
    }

    #[test]
    fn a_binding_in_a_branch_that_never_runs_or_after_a_return_still_binds() {
        assert_eq!(render("def f(p):\n    return p\n    p = 1\n    while True:\n        break\n        q = 2\n"), "p! q!");
    }
}
