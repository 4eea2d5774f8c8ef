//! The transfer functions: expressions evaluated to abstract values over a state, and
//! statements (assignments, augmented assignments, returns, `for` targets) applied to it.
//!
//! Invariants:
//! - Never executes analysed code; unknown syntax evaluates to a conservative value (the union
//!   of its operands).
//! - Expressions nested deeper than `MAX_EVAL_DEPTH` degrade upward: the union of every name
//!   inside them, counted in `Incomplete::expression_depth`.

use crate::ir::binding::{self, Passed};
use crate::syntax::tree::Node;

use crate::cfg::Cfg;
use crate::frameworks::Role;
use crate::ir::lower::{is_nested_name, nested_result, StepKind};
use crate::ir::place::{exact_place_of, place_of, Cut, Place};
use crate::ir::resolve::member_reference;
use crate::program::{lambda_name, literal, Constant, ScopeKind};
use crate::rules::{sink_kind_bit, SourceKind};
use crate::syntax::{field, FieldChild};

use super::lattice::{Label, Origin, State, Trace, Value};
use super::summary::{attribute_hash, field_param, RECEIVER};
use super::{short, types, Analysis};

/// Expression nesting evaluated exactly; deeper, an expression is the union of its parts.
pub(super) const MAX_EVAL_DEPTH: usize = 200;
/// Expressions this short (in bytes) cannot nest deeper than `MAX_EVAL_DEPTH`.
pub(super) const SHALLOW_EXPRESSION_BYTES: usize = 150;
/// The reference of a lambda's value: `<lambda>:{file}:{start byte}`.
pub(super) const LAMBDA: &str = "<lambda>:";
/// Lambda bodies evaluated inside one another at calls; deeper, a call of a lambda propagates
/// its arguments as an unknown call does (so a lambda calling itself terminates).
const MAX_LAMBDA_NESTING: usize = 4;
/// The type of a set display or comprehension (`[[type]] builtins.set` types `set()`).
const SET_TYPE: &str = "builtins.set";

/// The module's constants as this scope reads them: a name the function binds itself is never
/// the module's constant of that name (`names_own_binding`, as `ir::bindings::ScopeConstants`).
impl crate::program::ConstantNames for Analysis<'_, '_> {
    fn constant_named(&self, name: &str, identifier: Node<'_>) -> Option<&Constant> {
        self.constants.get(name).filter(|_| !self.names_own_binding(identifier))
    }
}

impl<'p, 't> Analysis<'p, 't> {
    /// The access path an expression denotes exactly, if it is one (`x`, `self.x`, `d['k']`):
    /// the key of its `ir::place` place, keys known as constants here included.
    pub(super) fn path_of(&self, node: Node<'_>, state: &State) -> Option<String> {
        self.path_of_within(node, state, 0)
    }

    /// `path_of` with the nesting of subscript keys bounded by `MAX_EVAL_DEPTH` (a key nested
    /// deeper is not known, so the container is read whole; `eval` counts the same nesting as
    /// `Incomplete::expression_depth`). `exact_place_of` walks no further down an object chain
    /// than a place can reach, so a 10,000-deep `a.b.b…` costs what `a.b.b.b.b` does.
    fn path_of_within(&self, node: Node<'_>, state: &State, depth: usize) -> Option<String> {
        if depth > MAX_EVAL_DEPTH {
            return None;
        }
        exact_place_of(self.text, node, &mut |key| self.key_constant(key, state, depth)).map(|place| self.named_key(place.key(), node))
    }

    /// The place an expression denotes, exact or cut (`ir::place`), and its key (its variable
    /// renamed where it is a comprehension's, `named_key`).
    pub(super) fn place_of(&self, node: Node<'_>, state: &State) -> Option<(Place, String)> {
        place_of(self.text, node, &mut |key| self.key_constant(key, state, 0)).map(|place| {
            let key = self.named_key(place.key(), node);
            (place, key)
        })
    }

    /// `key`, the key of the place `node` denotes, its variable renamed when the step being
    /// visited lies in a comprehension's region that binds it (`Analysis::naming`).
    /// In a class body, a variable the body binds is the class attribute (`class_key`).
    fn named_key(&self, key: String, node: Node<'_>) -> String {
        let key = match &self.naming {
            Some(naming) => naming.renamed(key, node),
            None => key,
        };
        self.class_key(key)
    }

    /// `key` as the step being visited names it when it lies in a class body that binds its
    /// variable: the class attribute (`C.key`, `ir::lower::ClassNames`, as slicing names it).
    pub(super) fn class_key(&self, key: String) -> String {
        self.class_attribute(&key).unwrap_or(key)
    }

    /// `class_key` of `key` where it differs: the class attribute.
    pub(super) fn class_attribute(&self, key: &str) -> Option<String> {
        let class = &self.class_names[self.class_body?];
        class.owns(key).then(|| format!("{}.{key}", class.prefix))
    }

    /// The key of a comprehension's variable `identifier` names (`x@N`), if it names one.
    pub(super) fn nested_name(&self, identifier: Node<'_>) -> Option<String> {
        self.naming.as_ref().map(|naming| naming.name(identifier)).filter(|name| is_nested_name(name))
    }

    /// The constant a subscript key is: a literal, or a path holding a known constant.
    fn key_constant(&self, key: Node<'_>, state: &State, depth: usize) -> Option<Constant> {
        literal(self.text, key, self).or_else(|| {
            let path = self.path_of_within(key, state, depth + 1)?;
            state.values.get(&path)?.constant.clone()
        })
    }

    /// The label of a source the packs declare under `api` (an attribute, call or method
    /// name): born safe for the kinds its declaration says (`safe_for`).
    pub(super) fn declared_source_label(&self, kind: SourceKind, api: &str, node: Node<'_>, what: &str) -> Label {
        let mut label = self.source_label(kind, node, what);
        label.cleared |= self.rules.source_safe_for.get(api).copied().unwrap_or(0);
        label
    }

    pub(super) fn source_label(&self, kind: SourceKind, node: Node<'_>, what: &str) -> Label {
        let step = self.step(node, "source", format!("{} `{}`", kind.as_str(), short(what)));
        Label {
            origin: Origin::Source { kind, file: self.file, start: node.start_byte(), end: node.end_byte() },
            cleared: 0,
            normalized: false,
            trace: Trace::default().push(step),
        }
    }

    pub(super) fn eval(&mut self, node: Node<'t>, state: &mut State, depth: usize) -> Value {
        if depth > MAX_EVAL_DEPTH {
            return self.eval_too_deep(node, state);
        }
        match node.kind() {
            "identifier" => {
                let mut value = self.eval_identifier(node, state, true);
                if self.naming.is_some() && self.nested_name(node).is_some() {
                    // A comprehension's own variable: no other scope stores into it.
                    return value;
                }
                let name = self.text_of(node);
                if let Some(outside) = self.outside(name, node) {
                    value.absorb(&outside);
                    value.constant = None;
                }
                // A class attribute: what other scopes stored into `C.name` too.
                if let Some(key) = self.class_attribute(name) {
                    if let Some(outside) = self.outside(&key, node) {
                        value.absorb(&outside);
                        value.constant = None;
                    }
                }
                value
            }
            "true" | "false" | "none" | "integer" | "float" => literal(self.text, node, self).map(Value::constant).unwrap_or_default(),
            "string" | "concatenated_string" => {
                if let Some(constant) = literal(self.text, node, self) {
                    return Value::constant(constant);
                }
                self.eval_string(node, state, depth)
            }
            "attribute" => self.eval_attribute(node, state, depth),
            "subscript" => {
                // `handlers[key]` of a table the scope holds in a local: the entry a constant key
                // names, else any (`ir::resolve::local_table_reference`), as slicing reads it.
                let table = node.field(&field::VALUE).filter(|value| value.kind() == "identifier").and_then(|value| {
                    let entries = self.table_locals();
                    let entries = entries.get(self.text_of(value))?;
                    Some(crate::ir::resolve::local_table_reference(self.program, self.scope, node, entries))
                });
                let path = self.path_of(node, state);
                let mut outside = path.as_deref().and_then(|path| self.outside(path, node));
                if let Some(path) = path.as_deref().filter(|path| state.values.contains_key(path)) {
                    {
                        let mut value = state.values[path].clone();
                        add_labels_below(state, path, &mut value);
                        if let Some(outside) = &outside {
                            value.absorb(outside);
                            value.constant = None;
                        }
                        if let Some(reference) = table {
                            value.reference = reference.map(Into::into);
                        }
                        return value;
                    }
                }
                // With a known key, the container itself and what is stored under that key
                // (here or, through `outside` and `instance_stores`, in other scopes), not its
                // other keys.
                let object_node = node.field(&field::VALUE);
                let object = match object_node {
                    Some(object) if path.is_some() => self.eval_object(object, state, depth + 1),
                    Some(object) => self.eval(object, state, depth + 1),
                    None => Value::default(),
                };
                if let Some(stored) = path.as_deref().and_then(|path| self.instance_stores(path, node, state)) {
                    outside.get_or_insert_with(Value::default).absorb(&stored);
                }
                let key = node.field(&field::SUBSCRIPT).and_then(|index| match self.eval(index, state, depth + 1).constant {
                    Some(Constant::Str(key)) => Some(key),
                    _ => None,
                });
                let mut value = Value { labels: object.labels.clone(), stringy: false, ..Value::default() };
                // `client["shop"]` of a `pymongo.MongoClient` is a database (`[[type]] members_of`);
                // `globals()[name]` a function of the module (`ir::resolve::subscript_reference`).
                value.reference = object
                    .reference
                    .as_deref()
                    .and_then(|r| {
                        types::index_type(self.rules, r)
                            .map(str::to_string)
                            .or_else(|| crate::ir::resolve::subscript_reference(self.program, self.scope, node, r))
                    })
                    .map(Into::into);
                if let Some(reference) = table {
                    value.reference = reference.map(Into::into);
                }
                // `self.settings["jinja2_env"]` of a Tornado handler: the key carried, for the
                // environment the application stores there (`render.rs`).
                if value.reference.is_none() {
                    let settings = object.reference.as_deref().zip(key.as_deref());
                    value.reference = settings.and_then(|(r, key)| super::render::setting_reference(self.rules, r, key)).map(Into::into);
                }
                match &path {
                    Some(path) => add_labels_below(state, path, &mut value),
                    // A container read whole when its key is unknown.
                    None => {
                        if let Some(whole) = object_node.and_then(|o| self.path_of(o, state)).and_then(|path| state.read_whole(&path)) {
                            value.absorb(&whole);
                            value.stringy = false;
                        }
                    }
                }
                if let Some(outside) = &outside {
                    value.absorb(outside);
                }
                value
            }
            "call" => self.eval_call(node, state, depth),
            "binary_operator" => {
                let left = node.field(&field::LEFT).map(|n| self.eval(n, state, depth + 1)).unwrap_or_default();
                let right = node.field(&field::RIGHT).map(|n| self.eval(n, state, depth + 1)).unwrap_or_default();
                let operator = node.field(&field::OPERATOR).map(|o| self.text_of(o)).unwrap_or("");
                let constant = match (&left.constant, &right.constant, operator) {
                    (Some(Constant::Int(a)), Some(Constant::Int(b)), "+") => a.checked_add(*b).map(Constant::Int),
                    (Some(Constant::Int(a)), Some(Constant::Int(b)), "-") => a.checked_sub(*b).map(Constant::Int),
                    (Some(Constant::Int(a)), Some(Constant::Int(b)), "*") => a.checked_mul(*b).map(Constant::Int),
                    (Some(Constant::Str(a)), Some(Constant::Str(b)), "+") => Some(Constant::Str(format!("{a}{b}"))),
                    _ => None,
                };
                let mut value = Value::default();
                value.absorb(&left);
                // `"(%r)" % x`: what the format writes of `x` holds no line break (`formats`).
                match (&left.constant, operator) {
                    (Some(Constant::Str(format)), "%") if super::formats::percent_format_is_newline_free(format) => {
                        value.absorb(&right.clone().cleared(super::formats::newline_kinds()));
                    }
                    _ => value.absorb(&right),
                }
                value.stringy = left.stringy || right.stringy;
                value.constant = constant;
                // `base / name` joins paths: a `pathlib` path stays one.
                if operator == "/" {
                    value.reference =
                        [&left, &right].into_iter().find_map(|side| side.reference.clone().filter(|r| r.starts_with("pathlib.")));
                }
                value
            }
            "boolean_operator" => {
                let left = node.field(&field::LEFT).map(|n| self.eval(n, state, depth + 1)).unwrap_or_default();
                let right = node.field(&field::RIGHT).map(|n| self.eval(n, state, depth + 1)).unwrap_or_default();
                let operator = node.field(&field::OPERATOR).map(|o| self.text_of(o)).unwrap_or("");
                let constant = match (left.constant.as_ref().map(Constant::truthy), operator) {
                    (Some(false), "and") | (Some(true), "or") => left.constant.clone(),
                    (Some(true), "and") | (Some(false), "or") => right.constant.clone(),
                    _ => None,
                };
                let mut value = left.join(&right);
                value.constant = constant;
                value
            }
            "not_operator" => {
                let operand = node.field(&field::ARGUMENT).map(|n| self.eval(n, state, depth + 1)).unwrap_or_default();
                match operand.constant {
                    Some(constant) => Value::constant(Constant::Bool(!constant.truthy())),
                    None => Value::default(),
                }
            }
            "comparison_operator" => self.eval_comparison(node, state, depth),
            "unary_operator" => {
                let operand = node.field(&field::ARGUMENT).map(|n| self.eval(n, state, depth + 1)).unwrap_or_default();
                let mut value = Value { labels: operand.labels, ..Value::default() };
                value.constant = literal(self.text, node, self);
                value
            }
            "conditional_expression" => {
                let mut cursor = node.walk();
                let parts: Vec<Node<'t>> = node.named_children(&mut cursor).collect();
                if parts.len() == 3 {
                    let condition = self.eval(parts[1], state, depth + 1);
                    match condition.constant.as_ref().map(Constant::truthy) {
                        Some(true) => return self.eval(parts[0], state, depth + 1),
                        Some(false) => return self.eval(parts[2], state, depth + 1),
                        None => {
                            let a = self.eval(parts[0], state, depth + 1);
                            let b = self.eval(parts[2], state, depth + 1);
                            // `Runner if flag else Other`, `A() if flag else B()`: either
                            // (`one_of:`, the join of references), as slicing reads it
                            // (`ir::resolve::Syntactic::chosen`).
                            return a.join(&b);
                        }
                    }
                }
                self.union_of_children(node, state, depth)
            }
            "parenthesized_expression" => match node.named_child(0) {
                Some(inner) => self.eval(inner, state, depth + 1),
                None => Value::default(),
            },
            "await" => match node.named_child(0) {
                Some(inner) => self.eval(inner, state, depth + 1),
                None => Value::default(),
            },
            "named_expression" => {
                let value = node.field(&field::VALUE).map(|n| self.eval(n, state, depth + 1)).unwrap_or_default();
                if let Some(name) = node.field(&field::NAME) {
                    self.assign_target(name, value.clone(), state, depth);
                }
                value
            }
            "lambda" => {
                // A lambda with a scope of its own (`program::lambda_name`): a function value.
                let name = lambda_name(self.program.scopes[self.scope], node);
                if self.program.function(&name).is_some() {
                    return Value::reference(name);
                }
                self.eval_lambda(node, state, depth);
                // Named by file and place, so a call in this scope can follow it (`call_lambda`).
                Value { reference: Some(format!("{LAMBDA}{}:{}", self.file, node.start_byte()).into()), ..Value::default() }
            }
            // A generator hands each yielded value to its caller (who iterates the call's value);
            // what `send` passes back in is not known here.
            "yield" => {
                if let Some(expression) = node.named_child(0) {
                    let value = self.eval(expression, state, depth + 1);
                    let yielded =
                        if value.is_tainted() { value.traced(&self.step(expression, "return", "yielded".to_string())) } else { value };
                    self.return_value = Some(match &self.return_value {
                        Some(previous) => previous.join(&yielded),
                        None => yielded,
                    });
                }
                Value::default()
            }
            "list_comprehension" | "set_comprehension" | "generator_expression" | "dictionary_comprehension" => {
                let mut value = if self.regions.contains(&node.start_byte()) {
                    self.comprehension_result(node, state)
                } else {
                    self.eval_comprehension(node, state, depth)
                };
                if node.kind() == "set_comprehension" {
                    value.reference = Some(SET_TYPE.into());
                }
                value
            }
            // A set display is a `builtins.set` (its `add` copies taint in: a typed mutator).
            "set" => {
                let mut value = self.union_of_children(node, state, depth);
                value.constant = None;
                value.stringy = false;
                value.reference = Some(SET_TYPE.into());
                value
            }
            "keyword_argument" => match node.field(&field::VALUE) {
                Some(value) => self.eval(value, state, depth + 1),
                None => Value::default(),
            },
            _ => {
                let mut value = self.union_of_children(node, state, depth);
                value.constant = None;
                value.reference = None;
                value.stringy = false;
                value
            }
        }
    }

    /// A name's value in this scope alone (without what other scopes stored; see `outside`).
    /// An expression nested deeper than `MAX_EVAL_DEPTH`: the union of its largest parts short
    /// enough to evaluate exactly (which cannot nest that deep), found without recursion.
    pub(super) fn eval_too_deep(&mut self, node: Node<'t>, state: &mut State) -> Value {
        self.incomplete.expression_depth += 1;
        let mut value = Value::default();
        let mut stack = vec![node];
        while let Some(part) = stack.pop() {
            if part.byte_range().len() <= SHALLOW_EXPRESSION_BYTES {
                let evaluated = self.eval(part, state, 0);
                value.absorb(&evaluated);
                continue;
            }
            let mut cursor = part.walk();
            stack.extend(part.named_children(&mut cursor));
        }
        value
    }

    /// A name's value in this scope alone (without what other scopes stored; see `outside`):
    /// `whole`, read as a container, with what is stored under its keys and attributes; not
    /// `whole`, as the object of a read of one known key or attribute, without them (a store
    /// into `obj.a` or `d["a"]` is not read by `obj.b` or `d["b"]`).
    pub(super) fn eval_identifier(&mut self, node: Node<'t>, state: &mut State, whole: bool) -> Value {
        if let Some(nested) = self.nested_name(node) {
            // A comprehension's own variable: what its `for` clause bound, nothing else.
            let mut value = state.values.get(&nested).cloned().unwrap_or_default();
            if whole {
                add_labels_below(state, &nested, &mut value);
            }
            return value;
        }
        let name = self.text_of(node);
        if let Some(key) = self.class_attribute(name) {
            // In a class body that binds the name: the class attribute where the body bound it
            // and, where it may not have yet, the name around the class (a may-read of both,
            // as slicing reads it; the class body is no closure for the methods).
            let outer = self.eval_name(node, name, state, whole);
            let Some(mut value) = state.values.get(&key).cloned() else { return outer };
            if whole {
                add_labels_below(state, &key, &mut value);
            }
            if outer.is_tainted() {
                value.absorb(&outer);
                value.constant = None;
            }
            return value;
        }
        self.eval_name(node, name, state, whole)
    }

    /// A name read as the scope's own or around it (`eval_identifier` without class bodies).
    fn eval_name(&mut self, node: Node<'t>, name: &'t str, state: &mut State, whole: bool) -> Value {
        if let Some(held) = state.values.get(name) {
            // One lookup for the name, and `read_whole` starting from the value found.
            let mut value = held.clone();
            if whole {
                if let Some(whole) = state.read_whole_from(name, Some(held)) {
                    for label in whole.labels {
                        value.add_label(label);
                    }
                }
            }
            return value;
        }
        // A name the function binds itself that the state does not hold (a parameter holding
        // nothing known, a read before the binding) is never the module's constant of that name,
        // nor an imported one (`names_own_binding`; a function-local import is no own binding).
        if let Some(constant) = self.constants.get(name) {
            if self.names_own_binding(node) {
                return Value::default();
            }
            return Value::constant(constant.clone());
        }
        if let Some(reference) = self.program.resolve_name(self.module, name) {
            // `from app.constants import MIMETYPE_JS`: another module's constant.
            if let Some(constant) = self.program.module_constant(&reference) {
                if self.names_own_binding(node) {
                    return Value::default();
                }
                return Value::constant(constant.clone());
            }
            // `from app.db import mongo`: an object another module made (`program::instances`).
            if let Some((module, chain)) = self.program.instance_chain(&reference) {
                if let Some(typed) = types::chain_type(self.program, self.rules, module, chain) {
                    return Value::reference(typed);
                }
            }
            // `from mylib import client` where a pack declares the attribute `mylib.client` a
            // type: the same object as `mylib.client` read through the module.
            let typed = types::attribute_type(self.rules, &reference).map_or_else(|| reference.clone(), str::to_string);
            let mut value = Value::reference(typed);
            // `from flask import session`: the name itself is a source.
            if let Some(&kind) = self.rules.source_attributes.get(reference.as_str()) {
                value.add_label(self.declared_source_label(kind, &reference, node, name));
            }
            return value;
        }
        // `logger = logging.getLogger(__name__)` at module level: a typed object.
        if let Some(chain) = self.program.modules[self.module].instances.get(name) {
            if let Some(typed) = types::chain_type(self.program, self.rules, self.module, chain) {
                return Value::reference(typed);
            }
        }
        // Builtins keep their own name as a reference (`eval`, `open`, `input`).
        Value::reference(name.to_string())
    }

    /// A string with interpolations: the union of what is interpolated.
    pub(super) fn eval_string(&mut self, node: Node<'t>, state: &mut State, depth: usize) -> Value {
        let mut value = Value { stringy: true, ..Value::default() };
        let mut stack = vec![node];
        while let Some(current) = stack.pop() {
            let mut cursor = current.walk();
            for child in current.named_children(&mut cursor) {
                match child.kind() {
                    "interpolation" => {
                        if let Some(expression) = child.field(&field::EXPRESSION).or_else(|| child.named_child(0)) {
                            let inner = self.eval(expression, state, depth + 1);
                            // `f"{x!r}"`: `repr` holds no line break (`formats`).
                            let mut cursor = child.walk();
                            let repr = child.named_children(&mut cursor).any(|part| {
                                part.kind() == "type_conversion" && super::formats::conversion_is_newline_free(self.text_of(part))
                            });
                            if repr {
                                value.absorb(&inner.cleared(super::formats::newline_kinds()));
                            } else {
                                value.absorb(&inner);
                            }
                        }
                    }
                    "string" => stack.push(child),
                    _ => {}
                }
            }
        }
        value.stringy = true;
        value
    }

    /// A lambda's body, where it is defined: its parameters hold their defaults' taint, other
    /// names what they hold here and (through `outside`) whatever this scope ever stores into
    /// them, so a later assignment is seen too. Sinks in the body are this scope's findings.
    pub(super) fn eval_lambda(&mut self, node: Node<'t>, state: &mut State, depth: usize) {
        let Some(body) = node.field(&field::BODY) else { return };
        let mut inner = state.clone();
        let mut names = Vec::new();
        if let Some(parameters) = node.field(&field::PARAMETERS) {
            let mut cursor = parameters.walk();
            let children: Vec<Node<'t>> = parameters.named_children(&mut cursor).collect();
            for parameter in children {
                let (name, default) = match parameter.kind() {
                    "identifier" => (Some(parameter), None),
                    "default_parameter" => (parameter.field(&field::NAME), parameter.field(&field::VALUE)),
                    _ => (parameter.named_child(0).filter(|n| n.kind() == "identifier"), None),
                };
                let Some(name) = name else { continue };
                let value = default.map(|d| self.eval(d, state, depth + 1)).unwrap_or_default();
                let name = self.text_of(name).to_string();
                inner.assign(&name, value);
                names.push(name);
            }
        }
        self.lambda_params.push(names);
        let _ = self.eval(body, &mut inner, depth + 1);
        self.export_lambda_stores(state, &inner);
        self.lambda_params.pop();
    }

    /// A call of a lambda defined in this scope (a value named by `LAMBDA`): its body evaluated
    /// with the parameters bound to the arguments, the path showing the body as a return step.
    /// `None` (the caller propagates as for any unknown call) for a lambda of another scope or
    /// file, or lambdas calling lambdas more than a few deep.
    pub(super) fn call_lambda(
        &mut self,
        reference: &str,
        positional: &[(Node<'t>, Value)],
        keywords: &[(String, Node<'t>, Value)],
        state: &State,
        depth: usize,
    ) -> Option<Value> {
        let (file, start) = reference.strip_prefix(LAMBDA)?.split_once(':')?;
        let (file, start): (usize, usize) = (file.parse().ok()?, start.parse().ok()?);
        let body = self.program.scopes[self.scope].body;
        if file != self.file || !body.byte_range().contains(&start) || self.lambda_params.len() >= MAX_LAMBDA_NESTING {
            return None;
        }
        let mut lambda = body.descendant_for_byte_range(start, start)?;
        while !(lambda.kind() == "lambda" && lambda.is_named() && lambda.start_byte() == start) {
            lambda = lambda.parent().filter(|parent| parent.start_byte() == start)?;
        }
        let expression = lambda.field(&field::BODY)?;
        let mut inner = state.clone();
        let mut names = Vec::new();
        // Arguments bound by the rule every call follows (`ir::binding`); a parameter given
        // nothing holds its default.
        let params = crate::program::parameters(self.text, lambda);
        let written = super::calls::written_arguments(positional, keywords);
        let bindings = binding::bind(&params, binding::Receiver::Explicit, written);
        for (position, param) in params.iter().enumerate() {
            let mut value: Option<Value> = None;
            for bound in bindings.iter().filter(|bound| bound.parameter == position) {
                let Passed::Argument(index) = bound.passed else { continue };
                let argument = match positional.get(index) {
                    Some((_, argument)) => argument,
                    None => &keywords[index - positional.len()].2,
                };
                value.get_or_insert_with(Value::default).absorb(argument);
            }
            let value = match value {
                Some(value) => value,
                None => param.default.map(|d| self.eval(d, &mut inner, depth + 1)).unwrap_or_default(),
            };
            let name = self.text_of(param.node);
            inner.assign(name, value);
            names.push(name.to_string());
        }
        self.lambda_params.push(names);
        let value = self.eval(expression, &mut inner, depth + 1);
        self.lambda_params.pop();
        Some(if value.is_tainted() {
            value.traced(&self.step(expression, "return", "returned from the lambda".to_string()))
        } else {
            value
        })
    }

    pub(super) fn union_of_children(&mut self, node: Node<'t>, state: &mut State, depth: usize) -> Value {
        let mut value = Value::default();
        let mut cursor = node.walk();
        let children: Vec<Node<'t>> = node.named_children(&mut cursor).collect();
        for child in children {
            if child.kind() == "comment" {
                continue;
            }
            let inner = self.eval(child, state, depth + 1);
            value.absorb(&inner);
        }
        value
    }

    /// The value of a comprehension whose region this scope's CFG analyses: what its
    /// `Element` step joined into its result (`nested_result`), read once by the step holding
    /// it (dropped from the state after that step, `Analysis::results_read`).
    fn comprehension_result(&mut self, node: Node<'t>, state: &State) -> Value {
        let result = nested_result(node.start_byte() - self.program.scopes[self.scope].body.start_byte());
        let mut value = state.values.get(&result).cloned().unwrap_or_default();
        value.constant = None;
        value.reference = None;
        self.results_read.push(result);
        value
    }

    /// A comprehension's `Element` step (its element, a dict comprehension's `key: value`):
    /// the element's value joined into the comprehension's result (a weak update: one per
    /// iteration).
    fn element(&mut self, node: Node<'t>, state: &mut State) {
        let Some(owner) = self.naming.as_ref().and_then(|naming| naming.scopes().next()) else { return };
        let element = self.eval(node, state, 0);
        let result = nested_result(owner.start_byte() - self.program.scopes[self.scope].body.start_byte());
        state.add(&result, &Value { labels: element.labels, ..Value::default() });
    }

    /// A comprehension evaluated inside the step holding it (one with no region of its own:
    /// inside a lambda, or nested past `cfg::MAX_NESTED_SCOPES`): its targets bound in a copy
    /// of the state, its `if` clauses guarding nothing.
    pub(super) fn eval_comprehension(&mut self, node: Node<'t>, state: &mut State, depth: usize) -> Value {
        let mut inner_state = state.clone();
        let mut cursor = node.walk();
        let children: Vec<Node<'t>> = node.named_children(&mut cursor).collect();
        for clause in children.iter().filter(|c| c.kind() == "for_in_clause") {
            let iterable = clause.field(&field::RIGHT).map(|r| self.eval(r, &mut inner_state, depth + 1)).unwrap_or_default();
            if let Some(left) = clause.field(&field::LEFT) {
                let element = Value { labels: iterable.labels.clone(), ..Value::default() };
                self.assign_target(left, element, &mut inner_state, depth);
            }
        }
        let mut value = Value::default();
        if let Some(body) = node.field(&field::BODY) {
            let element = self.eval(body, &mut inner_state, depth + 1);
            value.absorb(&element);
        }
        value.stringy = false;
        value
    }

    pub(super) fn eval_comparison(&mut self, node: Node<'t>, state: &mut State, depth: usize) -> Value {
        let mut cursor = node.walk();
        let operands: Vec<Node<'t>> = node.named_children(&mut cursor).collect();
        let values: Vec<Value> = operands.iter().map(|&o| self.eval(o, state, depth + 1)).collect();
        let operators: Vec<&str> = {
            let mut cursor = node.walk();
            node.children(&mut cursor).filter(|c| !c.is_named()).map(|c| self.text_of(c)).collect()
        };
        if values.len() == 2 && operators.len() == 1 {
            if let (Some(a), Some(b)) = (&values[0].constant, &values[1].constant) {
                let result = Constant::compare(operators[0], a, b);
                if let Some(result) = result {
                    return Value::constant(Constant::Bool(result));
                }
            }
        }
        Value::default()
    }

    pub(super) fn eval_attribute(&mut self, node: Node<'t>, state: &mut State, depth: usize) -> Value {
        let path = self.path_of(node, state);
        let mut value = self.eval_attribute_here(node, path.as_deref(), state, depth, true);
        if let Some(path) = path {
            if let Some(outside) = self.outside(&path, node) {
                value.absorb(&outside);
                value.constant = None;
            }
            // `obj.a.b`: its object `obj.a` was read without what is below it (`eval_object`);
            // `obj.a` itself reads its instance's stores whole (`instance_read`).
            let deeper = node.field(&field::OBJECT).is_some_and(|object| object.kind() != "identifier");
            if deeper && !state.values.contains_key(path.as_str()) {
                if let Some(stored) = self.instance_stores(&path, node, state) {
                    value.absorb(&stored);
                    value.constant = None;
                }
            }
        }
        value
    }

    /// What the methods of a workspace class stored under `path` (`obj.data["k"]`,
    /// `obj.a.b`: a place at least two projections below a name holding an instance of the
    /// class, other than the receiver, whose stores `outside` reads), with what they stored
    /// below it: the longer read's part of the instance's stores, its object (`obj.data`) read
    /// without them (`eval_object`).
    pub(super) fn instance_stores(&mut self, path: &str, node: Node<'t>, state: &State) -> Option<Value> {
        let root = crate::ir::place::base_of(path);
        if path.len() == root.len() || self.receiver_name() == Some(root) {
            return None;
        }
        let class = state.values.get(root)?.reference.as_deref().filter(|r| self.program.class(r).is_some())?.to_string();
        self.instance_value(&class, path, node, true)
    }

    /// A constant-key read through a dictionary method (`d.get("k")`, `d.get("k", default)`,
    /// `d.setdefault("k", v)`, `d.pop("k")`) reads the key as `d["k"]` does: what is stored
    /// under it here and in other scopes, what was stored under keys not known (held by `d`
    /// itself) and `d`'s own taint — never a sibling key. `None` when the call is not one
    /// (another method, a key that is not a constant, a receiver that is no place, or a place
    /// with no room for the key: then the receiver is read whole).
    pub(super) fn keyed_method_read(
        &mut self,
        method: &str,
        receiver: Node<'t>,
        key: Option<&Value>,
        node: Node<'t>,
        state: &mut State,
        depth: usize,
    ) -> Option<Value> {
        if !matches!(method, "get" | "setdefault" | "pop") {
            return None;
        }
        let projection = match &key?.constant {
            Some(Constant::Str(key)) => format!("[{key:?}]"),
            Some(Constant::Int(index)) => format!("[{index}]"),
            _ => return None,
        };
        let object_path = self.path_of(receiver, state)?;
        let (path, cut) = crate::ir::place::extend_key(&object_path, &projection);
        if cut {
            return None;
        }
        let mut value = match state.values.get(path.as_str()) {
            Some(held) => held.clone(),
            None => {
                let object = self.eval_object(receiver, state, depth + 1);
                let mut value = Value { labels: object.labels, ..Value::default() };
                if let Some(stored) = self.instance_stores(&path, node, state) {
                    value.absorb(&stored);
                }
                value
            }
        };
        add_labels_below(state, &path, &mut value);
        if let Some(outside) = self.outside(&path, node) {
            value.absorb(&outside);
        }
        value.constant = None;
        value.stringy = false;
        value.reference = None;
        Some(value)
    }

    /// The object of a read of a known key or attribute (`obj` of `obj.a`, `d` of `d["a"]`), in
    /// this scope alone: the object itself, not what is stored under its other keys or
    /// attributes (the read's own place, here and in other scopes, is its caller's to add).
    fn eval_object(&mut self, node: Node<'t>, state: &mut State, depth: usize) -> Value {
        match node.kind() {
            "identifier" => self.eval_identifier(node, state, false),
            // What other scopes stored into the object as a whole, the caller's `outside` of the
            // longer place reads (its prefixes exactly, never their other attributes).
            "attribute" => {
                let path = self.path_of(node, state);
                self.eval_attribute_here(node, path.as_deref(), state, depth, false)
            }
            _ => self.eval(node, state, depth),
        }
    }

    /// An attribute's value in this scope alone (without what other scopes stored): `whole`,
    /// with what is stored under it (`obj.data` after `obj.data["k"] = v`); not `whole`, as the
    /// object of a longer read (see `eval_object`).
    pub(super) fn eval_attribute_here(
        &mut self,
        node: Node<'t>,
        path: Option<&str>,
        state: &mut State,
        depth: usize,
        whole: bool,
    ) -> Value {
        if let Some(path) = path.filter(|path| state.values.contains_key(path)) {
            let mut value = state.values[path].clone();
            if whole {
                add_labels_below(state, path, &mut value);
            }
            return value;
        }
        let Some(object_node) = node.field(&field::OBJECT) else { return Value::default() };
        let attribute = node.field(&field::ATTRIBUTE).map(|a| self.text_of(a)).unwrap_or("");
        let object = match path.and_then(|path| self.instance_read(object_node, path, node, state, whole)) {
            Some(object) => object,
            None if path.is_some() => self.eval_object(object_node, state, depth + 1),
            None => self.eval(object_node, state, depth + 1),
        };
        // An application's settings key (`render.rs`) has no known members.
        let known = object.reference.as_deref().filter(|r| super::render::application_setting(self.rules, r).is_none());
        let reference = known.map(|r| member_reference(self.program, r, attribute));
        // Declared for the object's type, or for the library member it inherits
        // (`Model.query` of a class based on Flask-SQLAlchemy's `db.Model`).
        let typed = object
            .reference
            .as_deref()
            .and_then(|r| types::member_type(self.rules, r, attribute))
            .or_else(|| reference.as_deref().and_then(|r| types::attribute_type(self.rules, r)));
        let mut value = Value { labels: object.labels.clone(), ..Value::default() };
        // A handler class's members (`self.request`, `self.kwargs`, `self.path`: `frameworks`).
        if object_node.kind() == "identifier" && self.text_of(object_node) == "self" {
            if let Some(role) = self.entries.of(self.scope).and_then(|entry| entry.member(attribute)) {
                match role {
                    Role::Reference(reference) => {
                        value.reference = Some(reference.as_str().into());
                        return value;
                    }
                    Role::Source | Role::Model { .. } | Role::Validated { .. } => {
                        value.add_label(self.source_label(SourceKind::UserInput, node, self.text_of(node)))
                    }
                    Role::Clean | Role::Returns(_) => {}
                }
            }
        }
        if let Some(reference) = &reference {
            if let Some(&kind) = self.rules.source_attributes.get(reference.as_str()) {
                if !self.constant_request_part(reference, attribute) {
                    value.add_label(self.declared_source_label(kind, reference, node, self.text_of(node)));
                }
            }
            value.reference = Some(typed.unwrap_or(reference.as_str()).into());
        }
        // Read whole: what is stored under it here (`obj.data["k"] = v` before `obj.data`).
        if let Some(path) = path.filter(|_| whole) {
            add_labels_below(state, path, &mut value);
        }
        value
    }

    /// `obj.attr` not held in the state, where `obj` is a name holding an instance of a
    /// workspace class: the instance's own value and what is stored below `obj.attr`, not its
    /// other fields (`job.owner` is not tainted by `job.command`; a field no store reached
    /// holds what the instance as a whole holds), and the source taint methods of its class
    /// stored in that attribute (`Analysis::instance_value`).
    fn instance_read(&mut self, object: Node<'t>, path: &str, node: Node<'t>, state: &State, whole: bool) -> Option<Value> {
        if object.kind() != "identifier" {
            return None;
        }
        let name = self.text_of(object);
        let attribute = path.strip_prefix(name).and_then(|rest| rest.strip_prefix('.'))?;
        let own = state.values.get(name)?;
        let class = own.reference.as_deref().filter(|r| self.program.class(r).is_some()).map(str::to_string);
        let parameter = self.own_parameter(name, own);
        if class.is_none() && parameter.is_none() {
            return None;
        }
        let mut value = own.clone();
        // A parameter's attribute is that attribute of what the caller passes (`summary::FIELD`).
        if let Some(field) = parameter.and_then(|param| field_param(param, attribute_hash(attribute)).map(|field| (param, field))) {
            let (param, field) = field;
            value.labels.retain(|label| label.origin != Origin::Param(param));
            value.add_label(Label { origin: Origin::Param(field), cleared: 0, normalized: false, trace: Trace::default() });
        }
        if whole {
            if let Some(below) = state.read_whole(path) {
                value.absorb(&below);
            }
        }
        if let Some(outside) = self.outside(name, object) {
            value.absorb(&outside);
        }
        // The receiver's attributes are read from the class's stores by `outside` (the path's).
        if let (Some(class), false) = (&class, self.receiver_name() == Some(name)) {
            if let Some(stored) = self.instance_value(class, path, node, whole) {
                value.absorb(&stored);
            }
        }
        Some(value)
    }

    /// The parameter `name` still holds, as a field parameter's slot: `RECEIVER` for the
    /// method's receiver, the position of an explicit parameter whose value (`own`) still
    /// carries its own label.
    pub(super) fn own_parameter(&self, name: &str, own: &Value) -> Option<usize> {
        if self.receiver_name() == Some(name) {
            return Some(RECEIVER);
        }
        let scope = &self.program.scopes[self.scope];
        let explicit = usize::from(scope.implicit_receiver);
        let position = scope.params.iter().skip(explicit).position(|param| param.name == name && !param.variadic)?;
        own.labels.iter().any(|label| label.origin == Origin::Param(position)).then_some(position)
    }

    /// Whether `reference` (`flask.request.path`) is a part of the request that is constant in
    /// this handler (its route is literal: `frameworks::EntryPoint::constant_parts`).
    fn constant_request_part(&self, reference: &str, attribute: &str) -> bool {
        let Some(entry) = self.entries.of(self.scope) else { return false };
        let object = reference.strip_suffix(attribute).and_then(|r| r.strip_suffix('.')).unwrap_or("");
        let object = object.rsplit('.').next().unwrap_or("");
        entry.constant_parts.contains(&attribute) && object.to_ascii_lowercase().ends_with("request")
    }

    /// A `case` pattern's capture name bound to (the elements of) the match subject: an
    /// assignment step of the path, as a `for` target is.
    fn capture(&mut self, name: Node<'t>, subject: &Value, state: &mut State) {
        let element = Value { labels: subject.labels.clone(), ..Value::default() };
        let element = if element.is_tainted() {
            element.traced(&self.step(name, "assignment", format!("bound to `{}`", short(self.text_of(name)))))
        } else {
            element
        };
        let key = self.class_key(self.text_of(name).to_string());
        state.assign(&key, element);
    }

    pub(super) fn assign_target(&mut self, target: Node<'t>, value: Value, state: &mut State, depth: usize) {
        match target.kind() {
            "identifier" | "attribute" | "subscript" => {
                match self.path_of(target, state) {
                    Some(path) => {
                        let traced = if value.is_tainted() {
                            value.clone().traced(&self.step(target, "assignment", format!("assigned to `{}`", short(self.text_of(target)))))
                        } else {
                            value.clone()
                        };
                        state.assign(&path, traced);
                    }
                    None => {
                        // Unknown key or a place past the bound: a weak update of the prefix
                        // the place stands under (`ir::place`), a cut for depth counted.
                        if let Some(base) = target.field(&field::VALUE).or_else(|| target.field(&field::OBJECT)) {
                            let _ = self.eval(base, state, depth + 1);
                        }
                        if let Some(index) = target.field(&field::SUBSCRIPT) {
                            let _ = self.eval(index, state, depth + 1);
                        }
                        if let Some((place, key)) = self.place_of(target, state) {
                            if place.cut == Some(Cut::TooDeep) {
                                self.incomplete.places_cut += 1;
                            }
                            if place.cut == Some(Cut::AnyIndex) && value.is_tainted() {
                                state.add_to_elements(&key, &value);
                            }
                            state.add(&key, &value);
                        }
                    }
                }
                // Writes into sinks by assignment: `[[sink]] assigned_to`, `resp.text = v`
                // (`falcon.Response.text`: the object's reference and the attribute), and
                // `stored_into` below.
                if target.kind() == "attribute" && value.is_tainted() && !self.rules.sink_assignments.is_empty() {
                    if let (Some(object), Some(attribute)) = (target.field(&field::OBJECT), target.field(&field::ATTRIBUTE)) {
                        let object_value = self.eval(object, state, depth + 1);
                        let sinks = object_value
                            .reference
                            .as_deref()
                            .and_then(|r| self.rules.sink_assignments.get(&format!("{r}.{}", self.text_of(attribute))))
                            .cloned()
                            .unwrap_or_default();
                        let target_text = short(self.text_of(target));
                        for sink in sinks {
                            if sink.html_declared && !self.entries.of(self.scope).is_some_and(|entry| entry.html_body) {
                                continue;
                            }
                            if let Some(rule) = self.rules.rule_for(sink.kind) {
                                let cwe = sink.cwe.unwrap_or(rule.cwe);
                                self.hit(sink.kind, cwe, &value, target, target, &target_text);
                            }
                        }
                    }
                }
                // `session[k] = v`, `response.headers[k] = v`: the object's reference decides,
                // never its text.
                if target.kind() == "subscript" && value.is_tainted() {
                    if let Some(base) = target.field(&field::VALUE) {
                        let base_value = self.eval(base, state, depth + 1);
                        let sinks =
                            base_value.reference.as_deref().and_then(|r| self.rules.sink_stores.get(r)).cloned().unwrap_or_default();
                        let base_text = short(self.text_of(base));
                        for sink in sinks {
                            if let Some(rule) = self.rules.rule_for(sink.kind) {
                                let cwe = sink.cwe.unwrap_or(rule.cwe);
                                self.hit(sink.kind, cwe, &value, target, target, &base_text);
                            }
                        }
                    }
                }
            }
            "pattern_list" | "tuple_pattern" | "list_pattern" | "tuple" | "list" => {
                let mut cursor = target.walk();
                let elements: Vec<Node<'t>> = target.named_children(&mut cursor).collect();
                for element in elements {
                    let element_value = Value { labels: value.labels.clone(), ..Value::default() };
                    self.assign_target(element, element_value, state, depth);
                }
            }
            "list_splat_pattern" | "parenthesized_expression" => {
                if let Some(inner) = target.named_child(0) {
                    self.assign_target(inner, value, state, depth);
                }
            }
            _ => {}
        }
    }

    pub(super) fn assignment(&mut self, node: Node<'t>, state: &mut State, depth: usize) {
        // `a = b = value`: the right side is itself an assignment. The chain is walked down
        // with a loop, then assigned from the innermost out, each level the value its inner
        // level's target holds (a chain 100,000 long overflowed the recursion).
        let mut chain = vec![node];
        while let Some(inner) = chain
            .last()
            .filter(|level| level.field(&field::LEFT).is_some())
            .and_then(|level| level.field(&field::RIGHT))
            .filter(|right| right.kind() == "assignment")
        {
            chain.push(inner);
        }
        let mut inner_value = None;
        for (index, &level) in chain.iter().enumerate().rev() {
            self.assign_one(level, inner_value.take(), state, depth);
            if index > 0 {
                inner_value = Some(level.field(&field::LEFT).map(|l| self.eval(l, state, depth + 1)).unwrap_or_default());
            }
        }
    }

    /// One assignment of a chain: `value` is what its right side holds when that side is an
    /// assignment itself (already made), else the right side is evaluated.
    fn assign_one(&mut self, node: Node<'t>, value: Option<Value>, state: &mut State, depth: usize) {
        let right = node.field(&field::RIGHT);
        let Some(left) = node.field(&field::LEFT) else {
            if let Some(right) = right {
                let _ = self.eval(right, state, depth + 1);
            }
            return;
        };
        let Some(right) = right else { return };
        let value = match value {
            Some(value) => value,
            None => self.eval(right, state, depth + 1),
        };
        // `job = Job(command)`: the instance's fields go below the target (`job.command`).
        let constructed = self.constructed.take().filter(|made| right.kind() == "call" && made.start == right.start_byte());
        if let (Some(made), Some(path)) = (constructed, self.path_of(left, state)) {
            self.assign_target(left, made.without, state, depth);
            for (suffix, field) in made.fields {
                let field = if field.is_tainted() {
                    field.traced(&self.step(left, "assignment", format!("assigned to `{}`", short(self.text_of(left)))))
                } else {
                    field
                };
                let place = format!("{path}{suffix}");
                let (place, shortened) = super::lattice::shortened_path(&place);
                if shortened {
                    super::lattice::note_bound(|met| met.places_cut += 1);
                }
                state.add(place, &field);
            }
            return;
        }
        // Literal containers assigned to a name: remember element paths (key/index sensitivity).
        if let Some(path) = self.path_of(left, state) {
            match right.kind() {
                "dictionary" => {
                    let mut base = Value::default();
                    let mut elements = Vec::new();
                    let mut cursor = right.walk();
                    let pairs: Vec<Node<'t>> = right.named_children(&mut cursor).collect();
                    for pair in pairs {
                        if pair.kind() != "pair" {
                            let v = self.eval(pair, state, depth + 1);
                            base.absorb(&v);
                            continue;
                        }
                        let key = pair.field(&field::KEY).and_then(|k| literal(self.text, k, self));
                        let v = pair.field(&field::VALUE).map(|n| self.eval(n, state, depth + 1)).unwrap_or_default();
                        match key {
                            Some(Constant::Str(k)) => elements.push((format!("{path}[{k:?}]"), v)),
                            Some(Constant::Int(i)) => elements.push((format!("{path}[{i}]"), v)),
                            _ => base.absorb(&v),
                        }
                    }
                    state.assign(&path, base);
                    for (element_path, v) in elements {
                        state.values.insert(element_path, v);
                    }
                    return;
                }
                "list" | "tuple" => {
                    let mut cursor = right.walk();
                    let items: Vec<Node<'t>> = right.named_children(&mut cursor).collect();
                    if items.iter().all(|i| !matches!(i.kind(), "list_splat" | "comment")) {
                        let values: Vec<Value> = items.iter().map(|&i| self.eval(i, state, depth + 1)).collect();
                        state.assign(&path, Value::default());
                        let length = values.len();
                        for (index, v) in values.into_iter().enumerate() {
                            state.values.insert(format!("{path}[{index}]"), v);
                        }
                        if right.kind() == "list" {
                            state.values.insert(format!("{path}.__len__"), Value::constant(Constant::Int(length as i64)));
                        }
                        return;
                    }
                }
                _ => {}
            }
        }
        self.assign_target(left, value, state, depth);
    }

    pub(super) fn augmented_assignment(&mut self, node: Node<'t>, state: &mut State, depth: usize) {
        let (Some(left), Some(right)) = (node.field(&field::LEFT), node.field(&field::RIGHT)) else { return };
        let old = self.eval(left, state, depth + 1);
        let new = self.eval(right, state, depth + 1);
        let mut value = old.clone();
        value.absorb(&new);
        value.constant = None;
        value.reference = None;
        if new.is_tainted() {
            let traced = new.traced(&self.step(left, "assignment", format!("appended to `{}`", short(self.text_of(left)))));
            let mut combined = old;
            combined.absorb(&traced);
            combined.constant = None;
            combined.reference = None;
            value = combined;
        }
        if let Some(path) = self.path_of(left, state) {
            state.values.insert(path, value);
        }
    }

    /// Executes one CFG step on `state`.
    pub(super) fn transfer(&mut self, cfg: &Cfg<'t>, step: usize, state: &mut State) {
        let Some(node) = cfg.steps[step].node else { return };
        match cfg.steps[step].kind {
            // A lambda's scope: its body, one expression, is what it returns.
            StepKind::Statement
                if self.program.scopes[self.scope].kind == ScopeKind::Lambda && node == self.program.scopes[self.scope].body =>
            {
                self.returned(node, Some(node), state)
            }
            StepKind::Statement => self.statement(node, state),
            StepKind::Condition => {
                // A comprehension's `if` clause: the expression it tests.
                let condition = if node.kind() == "if_clause" { node.named_child(0).unwrap_or(node) } else { node };
                self.condition_constant = Some(self.eval(condition, state, 0).constant);
            }
            StepKind::ForTarget => {
                let iterable = node.field(&field::RIGHT).map(|r| self.eval(r, state, 0)).unwrap_or_default();
                if let Some(left) = node.field(&field::LEFT) {
                    let element = Value { labels: iterable.labels.clone(), ..Value::default() };
                    self.assign_target(left, element, state, 0);
                }
            }
            StepKind::WithItem => {
                if let Some(value) = node.field(&field::VALUE) {
                    if value.kind() == "as_pattern" {
                        let expression = value.named_child(0);
                        let evaluated = expression.map(|e| self.eval(e, state, 0)).unwrap_or_default();
                        let alias = value.field(&field::ALIAS).and_then(|a| a.named_child(0).or(Some(a)));
                        if let Some(alias) = alias {
                            self.assign_target(alias, evaluated, state, 0);
                        }
                    } else {
                        let _ = self.eval(value, state, 0);
                    }
                }
            }
            StepKind::ExceptHandler => {
                let mut cursor = node.walk();
                let alias = node.named_children(&mut cursor).find(|c| c.kind() == "as_pattern");
                if let Some(alias) = alias.and_then(|a| a.field(&field::ALIAS)).and_then(|a| a.named_child(0).or(Some(a))) {
                    self.assign_target(alias, Value::default(), state, 0);
                }
            }
            StepKind::MatchSubject => {
                let subject = node.field(&field::SUBJECT).map(|s| self.eval(s, state, 0)).unwrap_or_default();
                state.assign("$match", subject);
            }
            StepKind::CasePattern => {
                let subject = state.values.get("$match").cloned().unwrap_or_default();
                for capture in crate::ir::bindings::case_captures(node) {
                    self.capture(capture, &subject, state);
                }
            }
            StepKind::Definition => {
                let definition = if node.kind() == "decorated_definition" { node.field(&field::DEFINITION).unwrap_or(node) } else { node };
                if let Some(name) = definition.field(&field::NAME) {
                    // In a class body, a method or nested class: the class attribute `C.name`,
                    // its qualified name under the class's.
                    let key = self.class_key(self.text_of(name).to_string());
                    let scope_name = &self.program.scopes[self.scope].qualified_name;
                    let qualified = format!("{scope_name}.{key}");
                    state.assign(&key, Value::reference(qualified));
                }
            }
            StepKind::Element => self.element(node, state),
            // Skipped (`Analysis::region_steps`): evaluated by the step holding it.
            StepKind::Entry | StepKind::Exit | StepKind::WholeNestedScope => {}
        }
    }

    /// A `return` (`node`, returning `expression`), or a lambda's body (both `node`): the value
    /// joins what the scope returns; a view's response, a template context and the guards a
    /// returning check makes are noted.
    fn returned(&mut self, node: Node<'t>, expression: Option<Node<'t>>, state: &mut State) {
        let value = match expression {
            Some(expression) => self.eval(expression, state, 0),
            None => Value::default(),
        };
        if let (Some(template), Some(expression)) = (self.context_template.clone(), expression) {
            self.returned_context(node, expression, &value, template, state);
        }
        if self.is_route && value.stringy && expression.is_some() {
            if let Some(kind) = sink_kind_bit("XSS") {
                self.hit(kind, 79, &value, node, node, "the view's HTML response");
            }
        }
        if let Some(expression) = expression {
            // Returning `False` says nothing; any other return is a candidate guard.
            if value.constant.as_ref().is_none_or(Constant::truthy) {
                let mut refined = state.clone();
                self.refine(expression, true, &mut refined);
                let guards = self.parameter_clearances(&refined);
                self.return_guards.push(guards);
            }
        }
        let returned = match expression {
            Some(expression) if value.is_tainted() => value.traced(&self.step(expression, "return", "returned".to_string())),
            _ => value,
        };
        self.return_value = Some(match &self.return_value {
            Some(previous) => previous.join(&returned),
            None => returned,
        });
    }

    pub(super) fn statement(&mut self, node: Node<'t>, state: &mut State) {
        match node.kind() {
            "expression_statement" => {
                let mut cursor = node.walk();
                let children: Vec<Node<'t>> = node.named_children(&mut cursor).collect();
                for child in children {
                    match child.kind() {
                        "assignment" => self.assignment(child, state, 0),
                        "augmented_assignment" => self.augmented_assignment(child, state, 0),
                        _ => {
                            let _ = self.eval(child, state, 0);
                        }
                    }
                }
            }
            "return_statement" => self.returned(node, node.named_child(0), state),
            "delete_statement" => {
                if let Some(target) = node.named_child(0) {
                    if let Some(path) = self.path_of(target, state) {
                        state.values.remove(&path);
                    }
                }
            }
            // Declarations hold for the whole scope (`ir::bindings`, read before the walk).
            "global_statement" | "nonlocal_statement" => {}
            "assert_statement" => {
                // `union_of_children`, keeping the constant of the condition (the first child).
                let mut cursor = node.walk();
                let children: Vec<Node<'t>> = node.named_children(&mut cursor).collect();
                for (index, child) in children.into_iter().enumerate() {
                    if child.kind() == "comment" {
                        continue;
                    }
                    let value = self.eval(child, state, 1);
                    if index == 0 {
                        self.condition_constant = Some(value.constant);
                    }
                }
            }
            "raise_statement" | "print_statement" | "exec_statement" => {
                let _ = self.union_of_children(node, state, 0);
            }
            _ => {}
        }
    }
}

/// Adds to `value` the labels of what is stored under `path` (`path.x`, `path[k]`): `path`
/// read whole, its own reference and constant kept.
fn add_labels_below(state: &State, path: &str, value: &mut Value) {
    if let Some(whole) = state.read_whole(path) {
        for label in whole.labels {
            value.add_label(label);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::taint::analyze_text;

    /// The parameters whose taint `function` returns.
    fn returned(text: &str, function: &str) -> Vec<usize> {
        let (summaries, _) = analyze_text(text);
        let mut params: Vec<usize> = summaries[function].param_returns.iter().map(|(param, ..)| *param).collect();
        params.sort_unstable();
        params.dedup();
        params
    }

    #[test]
    fn an_assignment_replaces_what_a_name_held() {
        assert_eq!(returned("def f(a, b):\n    x = a\n    x = b\n    return x\n", "app.f"), vec![1]);
        assert_eq!(returned("def f(a, b):\n    x = a\n    x += b\n    return x\n", "app.f"), vec![0, 1]);
    }

    #[test]
    fn dictionary_keys_are_kept_apart_until_the_dictionary_is_read_whole() {
        let text = "def f(a):\n    d = {}\n    d['k'] = a\n    d['j'] = 'x'\n    return d['j']\n";
        assert_eq!(returned(text, "app.f"), Vec::<usize>::new());
        assert_eq!(returned(&text.replace("return d['j']", "return d"), "app.f"), vec![0]);
    }

    #[test]
    fn formatting_carries_taint_and_makes_a_string() {
        let (summaries, _) = analyze_text("def f(a, b):\n    return f'<b>{a}</b>'\n");
        let summary = &summaries["app.f"];
        assert_eq!(summary.param_returns.iter().map(|(param, ..)| *param).collect::<Vec<_>>(), vec![0]);
        assert!(summary.returns_stringy);
    }

    #[test]
    fn a_lambda_is_a_function_whose_call_returns_what_its_body_returns() {
        let text = "def f(a, b):\n    pick = lambda x, y: y\n    return pick(a, b)\n";
        assert_eq!(returned(text, "app.f"), vec![1]);
        assert_eq!(returned(&text.replace("pick(a, b)", "pick(y=a, x=b)"), "app.f"), vec![0]);
        assert_eq!(returned(&text.replace("lambda x, y: y", "lambda x, y: 'fixed'"), "app.f"), Vec::<usize>::new());
        // The path goes through the lambda's scope, its body returning what the call returns.
        let (summaries, _) = analyze_text(text);
        let (_, _, _, steps) = &summaries["app.f"].param_returns[0];
        assert!(steps.iter().any(|step| step.kind == "return" && &*step.description == "returned from `<lambda>`"), "{steps:?}");
        assert!(summaries.contains_key("app.f.<lambda@7>"), "{:?}", summaries.keys().collect::<Vec<_>>());
        // A lambda calling itself ends (as an unknown call past a few levels).
        assert_eq!(returned("def f(a):\n    g = lambda x: g(x)\n    return g(a)\n", "app.f"), vec![0]);
    }

    #[test]
    fn a_branch_that_cannot_run_adds_nothing() {
        assert_eq!(returned("def f(a, b):\n    x = b\n    if False:\n        x = a\n    return x\n", "app.f"), vec![1]);
    }
}
