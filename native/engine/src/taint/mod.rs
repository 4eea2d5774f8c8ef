//! Inter-procedural taint analysis: a flow-sensitive dataflow over each scope's CFG, with
//! per-function summaries solved to a fixpoint, producing findings with full step paths.
//!
//! Values are abstract: a set of labels (where the taint came from — a source, or a parameter
//! of the function being summarised — which sink kinds it has been sanitised for, and the steps
//! it took), an optional constant (constant propagation, dead-branch pruning), an optional
//! qualified reference (what the expression names: `flask.request.args`, `pkg.db.query`), and
//! whether it is string-shaped (for views returning HTML).
//!
//! Invariants:
//! - Never executes analysed code; never panics on user code (unknown syntax evaluates to a
//!   conservative value: the union of its operands).
//! - Summaries are compared by content without traces, so the fixpoint terminates; after the
//!   first round only callers of functions whose summary changed are re-analysed.
//! - A finding's steps start at the source and end at the sink, in execution order.
//! - Names a scope does not bind (module-level state, closures' free variables) are read
//!   flow-insensitively from an `Env`: the union of source taint every scope stores under that
//!   name's owner (its module, or the enclosing function), rebuilt after every round; a scope is
//!   re-analysed whenever an env entry for a name it consulted changes (places included).

mod env;
mod findings;
mod incremental;
mod lattice;
mod solver;
mod summary;

pub use env::Env;
pub use findings::{Finding, FindingStep, Location};
pub use incremental::{analyze_incrementally, analyze_incrementally_with, AnalysisCache, AnalysisStats};
pub use lattice::TraceStep;
pub use summary::Summary;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHashSet};
use tree_sitter::Node;

use crate::cfg::{build_cfg, Cfg, EdgeKind, NoConstants, StepKind, ENTRY, EXIT};
use crate::program::{dotted, literal, text_of, Constant, Program, ScopeKind};
use crate::rules::{sink_kind_bit, RuleSet, Sink, SourceKind, ALL_KINDS};

use env::{name_hash, EnvKey};
use findings::RawFinding;
use lattice::{Label, Origin, State, Trace, Value, BOUNDS_MET};
use summary::ParamSink;

/// Visits of one step after which its state is widened (every sanitisation dropped).
const MAX_VISITS_PER_STEP: usize = 40;
/// Expression nesting evaluated exactly; deeper, an expression is the union of its parts.
const MAX_EVAL_DEPTH: usize = 200;
/// Expressions this short (in bytes) cannot nest deeper than `MAX_EVAL_DEPTH`.
const SHALLOW_EXPRESSION_BYTES: usize = 150;

struct Analysis<'p, 't> {
    program: &'p Program<'t>,
    rules: &'p RuleSet,
    summaries: &'p [Summary],
    scope: usize,
    file: usize,
    text: &'t str,
    module: usize,
    constants: &'p HashMap<String, Constant>,
    // Outputs.
    summary: Summary,
    raw_findings: Vec<RawFinding>,
    seen_hits: HashSet<(Origin, u32, (usize, usize, usize))>,
    return_value: Option<Value>,
    /// Per return statement: kinds each parameter is safe for when the returned value is true.
    return_guards: Vec<Vec<(usize, u32)>>,
    /// Names assigned anywhere in the scope: rebinding a parameter does not affect the caller.
    rebound: FxHashSet<&'t str>,
    is_route: bool,
    callees: HashSet<usize>,
    env: &'p Env,
    /// `name_hash` of the qualified names of functions that enclose another function.
    enclosing: &'p FxHashSet<u64>,
    /// Whether a nested function or lambda may read this scope's locals (decided in `run`).
    has_inner: bool,
    /// Names augmented-assigned here (`x += ...`).
    augmented: FxHashSet<&'t str>,
    /// Names declared `global` or `nonlocal` here.
    declared_outside: FxHashSet<&'t str>,
    /// Enclosing functions, innermost first, then the module (computed on first use).
    homes: Option<Vec<Arc<str>>>,
    /// Parameters of the lambdas whose bodies are being evaluated, innermost last.
    lambda_params: Vec<Vec<String>>,
    /// Stores not visible in the CFG states: taint stored by callees (`param_exports`) and
    /// inside lambda bodies.
    extra_exports: FxHashMap<EnvKey, State>,
    reads: FxHashSet<u64>,
    /// Root names already looked up in the env: whether it holds anything under them.
    consulted: FxHashMap<String, bool>,
    incomplete: Incomplete,
}

fn location_of(file: usize, node: Node<'_>) -> (usize, usize, usize) {
    (file, node.start_byte(), node.end_byte())
}

fn short(text: &str) -> String {
    let single: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if single.chars().count() > 60 {
        format!("{}…", single.chars().take(59).collect::<String>())
    } else {
        single
    }
}

/// Converters in Flask route strings that type a parameter (no injection taint).
const TYPED_CONVERTERS: &[&str] = &["int", "float", "uuid"];
/// Annotations of FastAPI parameters that carry no injection taint.
const TYPED_ANNOTATIONS: &[&str] = &[
    "int",
    "float",
    "bool",
    "UUID",
    "uuid.UUID",
    "datetime",
    "date",
    "time",
    "timedelta",
    "datetime.datetime",
    "datetime.date",
    "Decimal",
    "decimal.Decimal",
    "PositiveInt",
    "conint",
    "confloat",
    "StrictInt",
    "StrictBool",
    "IPv4Address",
];
const ROUTE_DECORATORS: &[&str] = &["route", "get", "post", "put", "delete", "patch", "head", "options", "api_route", "websocket"];

impl<'p, 't> Analysis<'p, 't> {
    fn text_of(&self, node: Node<'_>) -> &'t str {
        text_of(self.text, node)
    }

    fn step(&self, node: Node<'_>, kind: &'static str, description: String) -> TraceStep {
        TraceStep { file: self.file, start: node.start_byte(), end: node.end_byte(), kind, description }
    }

    /// Route information: the route string's parameters, if this scope is a route handler.
    fn route_parameters(&self) -> Option<Vec<(String, Option<String>)>> {
        let scope = &self.program.scopes[self.scope];
        for decorator in &scope.decorators {
            let Some(call) = decorator.named_child(0).filter(|n| n.kind() == "call") else { continue };
            let Some(function) = call.child_by_field_name("function") else { continue };
            let method = match function.kind() {
                "attribute" => function.child_by_field_name("attribute").map(|a| self.text_of(a)).unwrap_or(""),
                _ => continue,
            };
            if !ROUTE_DECORATORS.contains(&method) {
                continue;
            }
            let route = call
                .child_by_field_name("arguments")
                .and_then(|args| args.named_child(0))
                .and_then(|first| literal(self.text, first, &HashMap::new()));
            let route = match route {
                Some(Constant::Str(route)) => route,
                _ => String::new(),
            };
            // `<conv:name>` (Flask) and `{name}` / `{name:conv}` (FastAPI, Starlette).
            let mut params = Vec::new();
            let mut rest = route.as_str();
            while let Some(open) = rest.find(['<', '{']) {
                let close_char = if rest.as_bytes()[open] == b'<' { '>' } else { '}' };
                let Some(close) = rest[open..].find(close_char) else { break };
                let inside = &rest[open + 1..open + close];
                let (converter, name) = match inside.split_once(':') {
                    Some((a, b)) if close_char == '>' => (Some(a.trim().to_string()), b.trim().to_string()),
                    Some((a, b)) => (Some(b.trim().to_string()), a.trim().to_string()),
                    None => (None, inside.trim().to_string()),
                };
                params.push((name, converter));
                rest = &rest[open + close + 1..];
            }
            return Some(params);
        }
        None
    }

    fn annotation_reference(&self, annotation: Node<'_>) -> Option<String> {
        let name = dotted(self.text, annotation)?;
        Some(self.program.resolve_name(self.module, &name).unwrap_or(name))
    }

    fn initial_state(&mut self) -> State {
        let mut state = State::default();
        let scope = &self.program.scopes[self.scope];
        if scope.kind == ScopeKind::Module {
            return state;
        }
        let route = self.route_parameters();
        self.is_route = route.is_some();
        let frameworks = self.program.modules[self.module].frameworks;
        let is_django_view = frameworks.django || frameworks.rest_framework;
        let class_is_view = scope.class.as_deref().is_some_and(|class| {
            self.program.class_derives_from(class, &["View", "APIView", "ViewSet", "GenericAPIView", "RequestHandler", "ModelViewSet"])
        });
        if class_is_view && is_django_view {
            self.is_route = true;
        }
        let explicit_start = usize::from(scope.implicit_receiver);
        for (index, param) in scope.params.iter().enumerate() {
            let mut value = Value::default();
            if index < explicit_start {
                // `self` / `cls`: refers to the class.
                if let Some(class) = &scope.class {
                    value.reference = Some(class.as_str().into());
                }
                state.assign(&param.name, value);
                continue;
            }
            let position = index - explicit_start;
            value.add_label(Label { origin: Origin::Param(position), cleared: 0, normalized: false, trace: Trace::default() });
            let annotation = param.annotation.and_then(|a| self.annotation_reference(a));
            if let Some(reference) = &annotation {
                value.reference = Some(reference.as_str().into());
            }
            // What a `request` parameter is, from the framework the module uses.
            if param.name == "request" && annotation.is_none() {
                let reference = if frameworks.rest_framework {
                    Some("rest_framework.request.Request")
                } else if frameworks.django {
                    Some("django.http.HttpRequest")
                } else if frameworks.aiohttp {
                    Some("aiohttp.web.Request")
                } else {
                    None
                };
                if let Some(reference) = reference {
                    value.reference = Some(reference.into());
                    if reference != "aiohttp.web.Request" {
                        self.is_route = true;
                    }
                }
            }
            if let Some(reference) = &annotation {
                if reference.ends_with("HttpRequest") || reference.ends_with("rest_framework.request.Request") {
                    self.is_route = true;
                }
            }
            let source = if let Some(route) = &route {
                let annotated_typed = annotation.as_deref().is_some_and(|a| {
                    TYPED_ANNOTATIONS.iter().any(|t| a == *t || a.ends_with(&format!(".{t}")))
                        || self.program.classes.get(a).is_some_and(|c| c.bases.iter().any(|b| b.ends_with("Enum")))
                });
                let is_request_object = annotation
                    .as_deref()
                    .is_some_and(|a| a.ends_with("Request") || a.ends_with("Response") || a.ends_with("BackgroundTasks"));
                match route.iter().find(|(name, _)| *name == param.name) {
                    Some((_, Some(converter))) if TYPED_CONVERTERS.contains(&converter.as_str()) => false,
                    Some(_) => !annotated_typed,
                    // FastAPI: any other non-request parameter is a query/body/header parameter.
                    None => frameworks.fastapi && !annotated_typed && !is_request_object && param.name != "request",
                }
            } else {
                // Django function views (module-level functions whose first parameter is
                // `request`): positional URL arguments after it. Methods get theirs via self.kwargs.
                is_django_view
                    && scope.class.is_none()
                    && scope.params.first().is_some_and(|p| p.name == "request")
                    && position > 0
                    && !param.variadic
                    && param.default.is_none()
                    && annotation.is_none()
            };
            if source {
                let step = self.step(param.node, "source", format!("route parameter `{}`", param.name));
                value.add_label(Label {
                    origin: Origin::Source {
                        kind: SourceKind::UserInput,
                        file: self.file,
                        start: param.node.start_byte(),
                        end: param.node.end_byte(),
                    },
                    cleared: 0,
                    normalized: false,
                    trace: Trace::default().push(step),
                });
            }
            state.assign(&param.name, value);
        }
        state
    }

    /// The access path an expression denotes, if it is one (`x`, `self.x`, `d['k']`).
    fn path_of(&self, node: Node<'_>, state: &State) -> Option<String> {
        match node.kind() {
            "identifier" => Some(self.text_of(node).to_string()),
            "attribute" => {
                let object = self.path_of(node.child_by_field_name("object")?, state)?;
                if object.matches(['.', '[']).count() >= 3 {
                    return None;
                }
                Some(format!("{object}.{}", self.text_of(node.child_by_field_name("attribute")?)))
            }
            "subscript" => {
                let object = self.path_of(node.child_by_field_name("value")?, state)?;
                let index = node.child_by_field_name("subscript")?;
                let key = literal(self.text, index, self.constants).or_else(|| {
                    let path = self.path_of(index, state)?;
                    state.values.get(&path)?.constant.clone()
                })?;
                let key = match key {
                    Constant::Str(s) => format!("{s:?}"),
                    Constant::Int(i) => i.to_string(),
                    _ => return None,
                };
                if object.matches(['.', '[']).count() >= 3 {
                    return None;
                }
                Some(format!("{object}[{key}]"))
            }
            "parenthesized_expression" => self.path_of(node.named_child(0)?, state),
            _ => None,
        }
    }

    fn source_label(&self, kind: SourceKind, node: Node<'_>, what: &str) -> Label {
        let step = self.step(node, "source", format!("{} `{}`", kind.as_str(), short(what)));
        Label {
            origin: Origin::Source { kind, file: self.file, start: node.start_byte(), end: node.end_byte() },
            cleared: 0,
            normalized: false,
            trace: Trace::default().push(step),
        }
    }

    fn eval(&mut self, node: Node<'t>, state: &mut State, depth: usize) -> Value {
        if depth > MAX_EVAL_DEPTH {
            return self.eval_too_deep(node, state);
        }
        match node.kind() {
            "identifier" => {
                let mut value = self.eval_identifier(node, state);
                if let Some(outside) = self.outside(self.text_of(node), node) {
                    value.absorb(&outside);
                    value.constant = None;
                }
                value
            }
            "true" | "false" | "none" | "integer" | "float" => {
                literal(self.text, node, self.constants).map(Value::constant).unwrap_or_default()
            }
            "string" | "concatenated_string" => {
                if let Some(constant) = literal(self.text, node, self.constants) {
                    return Value::constant(constant);
                }
                self.eval_string(node, state, depth)
            }
            "attribute" => self.eval_attribute(node, state, depth),
            "subscript" => {
                let path = self.path_of(node, state);
                let outside = path.as_deref().and_then(|path| self.outside(path, node));
                if let Some(path) = &path {
                    if let Some(value) = state.values.get(path) {
                        let mut value = value.clone();
                        if let Some(outside) = &outside {
                            value.absorb(outside);
                            value.constant = None;
                        }
                        return value;
                    }
                }
                // With a known key, what other scopes stored is read under that key only.
                let object_node = node.child_by_field_name("value");
                let object = match object_node {
                    Some(object) if path.is_some() && object.kind() == "identifier" => self.eval_identifier(object, state),
                    Some(object) => self.eval(object, state, depth + 1),
                    None => Value::default(),
                };
                if let Some(index) = node.child_by_field_name("subscript") {
                    let _ = self.eval(index, state, depth + 1);
                }
                let mut value = Value { labels: object.labels.clone(), stringy: false, ..Value::default() };
                // A container read whole when its key is unknown.
                if let Some(path) = object_node.and_then(|o| self.path_of(o, state)) {
                    if let Some(whole) = state.read_whole(&path) {
                        value.absorb(&whole);
                        value.stringy = false;
                    }
                }
                if let Some(outside) = &outside {
                    value.absorb(outside);
                }
                value
            }
            "call" => self.eval_call(node, state, depth),
            "binary_operator" => {
                let left = node.child_by_field_name("left").map(|n| self.eval(n, state, depth + 1)).unwrap_or_default();
                let right = node.child_by_field_name("right").map(|n| self.eval(n, state, depth + 1)).unwrap_or_default();
                let operator = node.child_by_field_name("operator").map(|o| self.text_of(o)).unwrap_or("");
                let constant = match (&left.constant, &right.constant, operator) {
                    (Some(Constant::Int(a)), Some(Constant::Int(b)), "+") => a.checked_add(*b).map(Constant::Int),
                    (Some(Constant::Int(a)), Some(Constant::Int(b)), "-") => a.checked_sub(*b).map(Constant::Int),
                    (Some(Constant::Int(a)), Some(Constant::Int(b)), "*") => a.checked_mul(*b).map(Constant::Int),
                    (Some(Constant::Str(a)), Some(Constant::Str(b)), "+") => Some(Constant::Str(format!("{a}{b}"))),
                    _ => None,
                };
                let mut value = Value::default();
                value.absorb(&left);
                value.absorb(&right);
                value.stringy = left.stringy || right.stringy;
                value.constant = constant;
                value
            }
            "boolean_operator" => {
                let left = node.child_by_field_name("left").map(|n| self.eval(n, state, depth + 1)).unwrap_or_default();
                let right = node.child_by_field_name("right").map(|n| self.eval(n, state, depth + 1)).unwrap_or_default();
                let operator = node.child_by_field_name("operator").map(|o| self.text_of(o)).unwrap_or("");
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
                let operand = node.child_by_field_name("argument").map(|n| self.eval(n, state, depth + 1)).unwrap_or_default();
                match operand.constant {
                    Some(constant) => Value::constant(Constant::Bool(!constant.truthy())),
                    None => Value::default(),
                }
            }
            "comparison_operator" => self.eval_comparison(node, state, depth),
            "unary_operator" => {
                let operand = node.child_by_field_name("argument").map(|n| self.eval(n, state, depth + 1)).unwrap_or_default();
                let mut value = Value { labels: operand.labels, ..Value::default() };
                value.constant = literal(self.text, node, self.constants);
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
                let value = node.child_by_field_name("value").map(|n| self.eval(n, state, depth + 1)).unwrap_or_default();
                if let Some(name) = node.child_by_field_name("name") {
                    self.assign_target(name, value.clone(), state, depth);
                }
                value
            }
            "lambda" => {
                self.eval_lambda(node, state, depth);
                Value::default()
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
                self.eval_comprehension(node, state, depth)
            }
            "keyword_argument" => match node.child_by_field_name("value") {
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
    fn eval_too_deep(&mut self, node: Node<'t>, state: &mut State) -> Value {
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

    fn eval_identifier(&mut self, node: Node<'t>, state: &mut State) -> Value {
        let name = self.text_of(node);
        if state.values.contains_key(name) {
            // A container read whole includes what is stored under its keys.
            let mut value = state.values[name].clone();
            if let Some(whole) = state.read_whole(name) {
                for label in whole.labels {
                    value.add_label(label);
                }
            }
            return value;
        }
        if let Some(constant) = self.constants.get(name) {
            return Value::constant(constant.clone());
        }
        if let Some(reference) = self.program.resolve_name(self.module, name) {
            let mut value = Value::reference(reference.clone());
            // `from flask import session`: the name itself is a source.
            if let Some(&kind) = self.rules.source_attributes.get(reference.as_str()) {
                value.add_label(self.source_label(kind, node, name));
            }
            return value;
        }
        // Builtins keep their own name as a reference (`eval`, `open`, `input`).
        Value::reference(name.to_string())
    }

    /// A string with interpolations: the union of what is interpolated.
    fn eval_string(&mut self, node: Node<'t>, state: &mut State, depth: usize) -> Value {
        let mut value = Value { stringy: true, ..Value::default() };
        let mut stack = vec![node];
        while let Some(current) = stack.pop() {
            let mut cursor = current.walk();
            for child in current.named_children(&mut cursor) {
                match child.kind() {
                    "interpolation" => {
                        if let Some(expression) = child.child_by_field_name("expression").or_else(|| child.named_child(0)) {
                            let inner = self.eval(expression, state, depth + 1);
                            value.absorb(&inner);
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
    fn eval_lambda(&mut self, node: Node<'t>, state: &mut State, depth: usize) {
        let Some(body) = node.child_by_field_name("body") else { return };
        let mut inner = state.clone();
        let mut names = Vec::new();
        if let Some(parameters) = node.child_by_field_name("parameters") {
            let mut cursor = parameters.walk();
            let children: Vec<Node<'t>> = parameters.named_children(&mut cursor).collect();
            for parameter in children {
                let (name, default) = match parameter.kind() {
                    "identifier" => (Some(parameter), None),
                    "default_parameter" => (parameter.child_by_field_name("name"), parameter.child_by_field_name("value")),
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

    fn union_of_children(&mut self, node: Node<'t>, state: &mut State, depth: usize) -> Value {
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

    fn eval_comprehension(&mut self, node: Node<'t>, state: &mut State, depth: usize) -> Value {
        let mut inner_state = state.clone();
        let mut cursor = node.walk();
        let children: Vec<Node<'t>> = node.named_children(&mut cursor).collect();
        for clause in children.iter().filter(|c| c.kind() == "for_in_clause") {
            let iterable = clause.child_by_field_name("right").map(|r| self.eval(r, &mut inner_state, depth + 1)).unwrap_or_default();
            if let Some(left) = clause.child_by_field_name("left") {
                let element = Value { labels: iterable.labels.clone(), ..Value::default() };
                self.assign_target(left, element, &mut inner_state, depth);
            }
        }
        let mut value = Value::default();
        if let Some(body) = node.child_by_field_name("body") {
            let element = self.eval(body, &mut inner_state, depth + 1);
            value.absorb(&element);
        }
        value.stringy = false;
        value
    }

    fn eval_comparison(&mut self, node: Node<'t>, state: &mut State, depth: usize) -> Value {
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

    fn eval_attribute(&mut self, node: Node<'t>, state: &mut State, depth: usize) -> Value {
        let path = self.path_of(node, state);
        let mut value = self.eval_attribute_here(node, path.as_deref(), state, depth);
        if let Some(path) = path {
            if let Some(outside) = self.outside(&path, node) {
                value.absorb(&outside);
                value.constant = None;
            }
        }
        value
    }

    /// An attribute's value in this scope alone (without what other scopes stored).
    fn eval_attribute_here(&mut self, node: Node<'t>, path: Option<&str>, state: &mut State, depth: usize) -> Value {
        if let Some(path) = path {
            if let Some(value) = state.values.get(path) {
                return value.clone();
            }
        }
        let Some(object_node) = node.child_by_field_name("object") else { return Value::default() };
        let attribute = node.child_by_field_name("attribute").map(|a| self.text_of(a)).unwrap_or("");
        let object = self.eval(object_node, state, depth + 1);
        let reference = object.reference.as_ref().map(|r| format!("{r}.{attribute}"));
        let reference = reference.map(|r| self.program.library_member(&r).unwrap_or(r));
        let mut value = Value { labels: object.labels.clone(), ..Value::default() };
        if let Some(reference) = &reference {
            if let Some(&kind) = self.rules.source_attributes.get(reference.as_str()) {
                value.add_label(self.source_label(kind, node, self.text_of(node)));
            }
            // Class-based views: `self.request` is the request, `self.kwargs` the URL arguments.
            let frameworks = self.program.modules[self.module].frameworks;
            if attribute == "request" && object_node.kind() == "identifier" && self.text_of(object_node) == "self" {
                if frameworks.django || frameworks.rest_framework {
                    value.reference = Some("django.http.HttpRequest".into());
                    return value;
                }
                if frameworks.tornado {
                    value.reference = Some("tornado.web.RequestHandler.request".into());
                    return value;
                }
            }
            if attribute == "kwargs" && self.text_of(object_node) == "self" && (frameworks.django || frameworks.rest_framework) {
                value.add_label(self.source_label(SourceKind::UserInput, node, self.text_of(node)));
            }
            value.reference = Some(reference.as_str().into());
        }
        value
    }

    fn keyword_argument<'a>(&self, keywords: &'a [(String, Node<'t>, Value)], name: &str) -> Option<&'a (String, Node<'t>, Value)> {
        keywords.iter().find(|(keyword, _, _)| keyword == name)
    }

    fn sink_applies(
        &self,
        sink: &Sink,
        receiver_text: Option<&str>,
        positional: &[(Node<'t>, Value)],
        keywords: &[(String, Node<'t>, Value)],
    ) -> bool {
        let keyword_equals = |name: &str, expected: &toml::Value| {
            self.keyword_argument(keywords, name).is_some_and(|(_, _, value)| match (&value.constant, expected) {
                (Some(Constant::Bool(a)), toml::Value::Boolean(b)) => a == b,
                (Some(Constant::Int(a)), toml::Value::Integer(b)) => a == b,
                (Some(Constant::Str(a)), toml::Value::String(b)) => a == b,
                _ => false,
            })
        };
        if let Some((name, expected)) = &sink.when {
            if !keyword_equals(name, expected) {
                return false;
            }
        }
        if let Some((name, expected)) = &sink.unless {
            if keyword_equals(name, expected) {
                return false;
            }
        }
        for (name, safe) in &sink.safe_keywords {
            if let Some((_, _, value)) = self.keyword_argument(keywords, name) {
                if value.reference.as_deref().is_some_and(|r| safe.iter().any(|s| s == r)) {
                    return false;
                }
            }
        }
        if sink.shell_argv {
            let Some((first, _)) = positional.first() else { return false };
            if first.kind() != "list" {
                return false;
            }
            let Some(program) = first.named_child(0).and_then(|p| literal(self.text, p, self.constants)) else { return false };
            let Constant::Str(program) = program else { return false };
            let base = program.rsplit('/').next().unwrap_or(&program);
            if !matches!(base, "sh" | "bash" | "zsh" | "dash" | "cmd" | "cmd.exe" | "powershell" | "pwsh") {
                return false;
            }
        }
        if !sink.receiver_contains.is_empty() {
            let Some(receiver) = receiver_text else { return false };
            let receiver = receiver.to_ascii_lowercase();
            if !sink.receiver_contains.iter().any(|needle| receiver.contains(needle.as_str())) {
                return false;
            }
        }
        true
    }

    /// Records a sink hit: a finding for source labels, a summary entry for parameter labels.
    fn hit(&mut self, sink_kind: u32, cwe: u32, value: &Value, argument: Node<'t>, call: Node<'t>, callee: &str) {
        let sink_location = location_of(self.file, call);
        for label in &value.labels {
            if label.cleared & sink_kind != 0 {
                continue;
            }
            if sink_kind == sink_kind_bit("FilePath").unwrap_or(0) && label.normalized && label.cleared & sink_kind != 0 {
                continue;
            }
            if label.is_source() && !self.seen_hits.insert((label.origin.clone(), sink_kind, sink_location)) {
                continue;
            }
            let mut trace = label.trace.clone();
            // An argument step only when it says something new: not when the previous step
            // already points inside the argument (`request.args` in `request.args["q"]`).
            let inside_argument = trace
                .last_location()
                .is_some_and(|(file, start, end)| file == self.file && start >= argument.start_byte() && end <= argument.end_byte());
            if !inside_argument && argument != call {
                trace = trace.push(self.step(argument, "argument", format!("passed to `{callee}`")));
            }
            trace = trace.push(self.step(call, "sink", format!("`{callee}`")));
            match &label.origin {
                Origin::Source { kind, file, start, end } | Origin::Sources { kind, file, start, end } => {
                    self.raw_findings.push(RawFinding {
                        kind: sink_kind,
                        cwe,
                        source_kind: *kind,
                        source: (*file, *start, *end),
                        sink: sink_location,
                        callee: callee.to_string(),
                        steps: trace.steps(),
                    })
                }
                Origin::Param(param) => self.add_param_sink(ParamSink {
                    param: *param,
                    kind: sink_kind,
                    cwe,
                    cleared: label.cleared,
                    sink: sink_location,
                    callee: callee.to_string(),
                    steps: trace.steps(),
                }),
            }
        }
    }

    fn eval_call(&mut self, node: Node<'t>, state: &mut State, depth: usize) -> Value {
        let Some(function) = node.child_by_field_name("function") else { return Value::default() };
        // The callee: a reference, and the receiver for method calls.
        let (callee_value, receiver, method_name) = match function.kind() {
            "attribute" => {
                let object = function.child_by_field_name("object");
                let receiver = object.map(|o| (o, self.eval(o, state, depth + 1)));
                let name = function.child_by_field_name("attribute").map(|a| self.text_of(a).to_string());
                let reference =
                    receiver.as_ref().and_then(|(_, r)| r.reference.as_ref()).zip(name.as_ref()).map(|(r, n)| format!("{r}.{n}"));
                let reference = reference.map(|r| self.program.library_member(&r).unwrap_or(r));
                let value = Value { reference: reference.map(|r| r.into()), ..Value::default() };
                (value, receiver, name)
            }
            _ => (self.eval(function, state, depth + 1), None, None),
        };
        let reference: Option<String> = callee_value.reference.as_deref().map(str::to_string);
        // Arguments.
        let mut positional: Vec<(Node<'t>, Value)> = Vec::new();
        let mut keywords: Vec<(String, Node<'t>, Value)> = Vec::new();
        let mut spread = Value::default();
        if let Some(arguments) = node.child_by_field_name("arguments") {
            let mut cursor = arguments.walk();
            let children: Vec<Node<'t>> = arguments.named_children(&mut cursor).collect();
            for argument in children {
                match argument.kind() {
                    "keyword_argument" => {
                        let name = argument.child_by_field_name("name").map(|n| self.text_of(n).to_string()).unwrap_or_default();
                        let value_node = argument.child_by_field_name("value").unwrap_or(argument);
                        let value = self.eval(value_node, state, depth + 1);
                        keywords.push((name, value_node, value));
                    }
                    "list_splat" | "dictionary_splat" => {
                        let value = self.eval(argument, state, depth + 1);
                        spread.absorb(&value);
                        positional.push((argument, value));
                    }
                    "comment" => {}
                    _ => {
                        let value = self.eval(argument, state, depth + 1);
                        positional.push((argument, value));
                    }
                }
            }
        }
        let callee_text = short(self.text_of(function));
        // `re.search(...)` is a module function, not a method: method-name sinks do not apply.
        let receiver_is_module = receiver.as_ref().is_some_and(|(node, _)| {
            node.kind() == "identifier"
                && self.program.modules[self.module]
                    .imports
                    .get(self.text_of(*node))
                    .is_some_and(|q| !q.rsplit('.').next().unwrap_or("").starts_with(|c: char| c.is_uppercase()))
        });

        // Sinks.
        let mut sinks: Vec<Sink> = Vec::new();
        if let Some(reference) = &reference {
            if let Some(found) = self.rules.sink_calls.get(reference.as_str()) {
                sinks.extend(found.iter().cloned());
            }
        }
        if sinks.is_empty() && !receiver_is_module {
            if let Some(name) = &method_name {
                if let Some(found) = self.rules.sink_methods.get(name.as_str()) {
                    sinks.extend(found.iter().cloned());
                }
            }
        }
        let receiver_text = receiver.as_ref().map(|(n, _)| self.text_of(*n));
        for sink in &sinks {
            if !self.sink_applies(sink, receiver_text, &positional, &keywords) {
                continue;
            }
            let Some(rule) = self.rules.rule_for(sink.kind) else { continue };
            let cwe = sink.cwe.unwrap_or(rule.cwe);
            let mut checked: Vec<(Node<'t>, Value)> = Vec::new();
            for (index, (argument, value)) in positional.iter().enumerate() {
                if sink.all_args || sink.args.contains(&index) {
                    checked.push((*argument, value.clone()));
                }
            }
            for (name, argument, value) in &keywords {
                if sink.all_args || sink.keywords.contains(name) {
                    checked.push((*argument, value.clone()));
                }
            }
            for (argument, value) in checked {
                let value = if Some(sink.kind) == sink_kind_bit("NoSQL") && argument.kind() == "dictionary" {
                    self.operator_values(argument, state, depth)
                } else {
                    value
                };
                self.hit(sink.kind, cwe, &value, argument, node, &callee_text);
            }
        }

        // Sanitizers.
        let sanitizer = reference
            .as_deref()
            .and_then(|r| self.rules.sanitizer_calls.get(r))
            .or_else(|| method_name.as_deref().and_then(|m| self.rules.sanitizer_methods.get(m)))
            .cloned();
        let mut arguments_value = Value::default();
        for (_, value) in &positional {
            arguments_value.absorb(value);
        }
        for (_, _, value) in &keywords {
            arguments_value.absorb(value);
        }
        if let Some(sanitizer) = sanitizer {
            let mut value = arguments_value.clone();
            if let Some((_, receiver_value)) = &receiver {
                if positional.is_empty() {
                    value.absorb(receiver_value);
                }
            }
            let mut value = value.cleared(sanitizer.clears);
            if sanitizer.normalizes {
                for label in &mut value.labels {
                    label.normalized = true;
                }
                value.dedupe_merging();
            }
            value.constant = None;
            value.stringy = arguments_value.stringy || sanitizer.clears & sink_kind_bit("XSS").unwrap_or(0) != 0;
            return value;
        }
        if reference.as_deref().is_some_and(|r| self.rules.clean_calls.contains(r)) {
            return Value::default();
        }

        // Sources.
        let mut result = Value::default();
        if let Some(reference) = &reference {
            if let Some(&kind) = self.rules.source_calls.get(reference.as_str()) {
                result.add_label(self.source_label(kind, node, self.text_of(node)));
            }
        }
        if let Some(name) = &method_name {
            if let Some(&kind) = self.rules.source_methods.get(name.as_str()) {
                result.add_label(self.source_label(kind, node, self.text_of(node)));
            }
        }

        // User functions (and every candidate of `getattr(obj, name)(...)`): apply their summaries.
        let through_instance_of = |this: &Self, scope: usize| {
            receiver.is_some() && this.program.scopes[scope].implicit_receiver
                || reference.as_deref().is_some_and(|r| this.program.classes.contains_key(r))
        };
        if let Some(scope) = self.resolve_callee(reference.as_deref(), receiver.as_ref().map(|(_, v)| v)) {
            let through_instance = through_instance_of(self, scope);
            let summary = self.apply_summary(scope, node, through_instance, &positional, &keywords, state, &mut result);
            result.stringy = summary.returns_stringy;
            if reference.as_deref().is_some_and(|r| self.program.classes.contains_key(r)) {
                result.reference = reference.as_deref().map(Into::into);
            } else {
                result.reference = summary.returns_reference.clone();
            }
            return result;
        }
        let candidates = reference.as_deref().map(|r| self.getattr_candidates(r)).unwrap_or_default();
        if !candidates.is_empty() {
            for scope in candidates {
                let summary = self.apply_summary(scope, node, true, &positional, &keywords, state, &mut result);
                result.stringy |= summary.returns_stringy;
            }
            return result;
        }

        // Lists with known elements stay index-sensitive through append/pop; configparser
        // sections and options stay key-sensitive through set/get.
        if let (Some(name), Some((receiver_node, receiver_value))) = (&method_name, &receiver) {
            if let Some(path) = self.path_of(*receiver_node, state) {
                let length_path = format!("{path}.__len__");
                let length = match state.values.get(&length_path).and_then(|v| v.constant.clone()) {
                    Some(Constant::Int(n)) if n >= 0 => Some(n as usize),
                    _ => None,
                };
                let is_config =
                    receiver_value.reference.as_deref().is_some_and(|r| r.starts_with("configparser.") && r.ends_with("ConfigParser"));
                let constant_at = |index: usize| {
                    positional.get(index).and_then(|(_, v)| match &v.constant {
                        Some(Constant::Str(s)) => Some(format!("{s:?}")),
                        Some(Constant::Int(i)) => Some(i.to_string()),
                        _ => None,
                    })
                };
                match (name.as_str(), length) {
                    ("append", Some(n)) if positional.len() == 1 => {
                        state.values.insert(format!("{path}[{n}]"), positional[0].1.clone());
                        state.values.insert(length_path, Value::constant(Constant::Int(n as i64 + 1)));
                        return Value::default();
                    }
                    ("pop", Some(n)) if positional.is_empty() && n > 0 => {
                        let last = state.values.remove(&format!("{path}[{}]", n - 1)).unwrap_or_default();
                        state.values.insert(length_path, Value::constant(Constant::Int(n as i64 - 1)));
                        return last;
                    }
                    ("pop" | "insert" | "remove" | "extend" | "sort" | "reverse" | "clear", Some(_)) => {
                        // Positions are no longer known: fold the elements into the list.
                        let whole = state.read_whole(&path).unwrap_or_default();
                        let mut merged = Value { labels: whole.labels, ..Value::default() };
                        merged.absorb(&arguments_value);
                        state.assign(&path, merged.clone());
                        if name == "pop" {
                            return Value { labels: merged.labels, ..Value::default() };
                        }
                        return Value::default();
                    }
                    ("set", _) if is_config && positional.len() == 3 => {
                        if let (Some(section), Some(option)) = (constant_at(0), constant_at(1)) {
                            state.values.insert(format!("{path}[{section}][{option}]"), positional[2].1.clone());
                            return Value::default();
                        }
                    }
                    ("get", _) if is_config && positional.len() >= 2 => {
                        if let (Some(section), Some(option)) = (constant_at(0), constant_at(1)) {
                            if let Some(value) = state.values.get(&format!("{path}[{section}][{option}]")) {
                                return value.clone();
                            }
                            // An option never set here carries what the parser as a whole carries.
                            return Value {
                                labels: state.values.get(&path).map(|v| v.labels.clone()).unwrap_or_default(),
                                ..Value::default()
                            };
                        }
                    }
                    _ => {}
                }
            }
        }

        // Mutating methods copy argument taint into their receiver.
        if let (Some(name), Some((receiver_node, _))) = (&method_name, &receiver) {
            if self.rules.mutators.contains(name.as_str()) && arguments_value.is_tainted() {
                if let Some(path) = self.path_of(*receiver_node, state) {
                    state.add(&path, &arguments_value);
                }
            }
        }

        if reference.as_deref() == Some("getattr") {
            if let Some(dispatch) = self.getattr_reference(node, state, depth) {
                result.reference = Some(dispatch.into());
                result.absorb(&arguments_value);
                return result;
            }
        }

        // Anything else propagates: the result depends on the receiver and the arguments.
        if reference.as_deref().is_some_and(|r| self.program.classes.contains_key(r)) {
            result.reference = reference.as_deref().map(Into::into);
        } else if let Some(reference) = &reference {
            // Instances of library classes keep the class as their reference
            // (`requests.Session()` → `requests.Session`), so their methods resolve.
            let last = reference.rsplit('.').next().unwrap_or("");
            if last.chars().next().is_some_and(char::is_uppercase) {
                result.reference = Some(reference.as_str().into());
            }
        }
        result.absorb(&arguments_value);
        if let Some((_, receiver_value)) = &receiver {
            result.absorb(receiver_value);
            let stringy_methods =
                ["format", "join", "replace", "strip", "lower", "upper", "lstrip", "rstrip", "title", "capitalize", "decode", "format_map"];
            result.stringy = receiver_value.stringy || method_name.as_deref().is_some_and(|m| stringy_methods.contains(&m));
        } else {
            result.stringy = reference.as_deref() == Some("str");
        }
        result
    }

    /// Applies the summary of workspace function `scope` at call `node`: return taint, sinks
    /// reached inside (findings or this function's own summary), effects on arguments.
    #[allow(clippy::too_many_arguments)]
    fn apply_summary(
        &mut self,
        scope: usize,
        node: Node<'t>,
        through_instance: bool,
        positional: &[(Node<'t>, Value)],
        keywords: &[(String, Node<'t>, Value)],
        state: &mut State,
        result: &mut Value,
    ) -> Summary {
        self.callees.insert(scope);
        let callee_scope = &self.program.scopes[scope];
        let offset = usize::from(callee_scope.implicit_receiver && !through_instance);
        let explicit: Vec<&str> =
            callee_scope.params.iter().skip(usize::from(callee_scope.implicit_receiver)).map(|p| p.name.as_str()).collect();
        let variadic_index = callee_scope.params.iter().skip(usize::from(callee_scope.implicit_receiver)).position(|p| p.variadic);
        let argument_for = |param: usize| -> Value {
            let mut value = Value::default();
            if let Some(index) = param.checked_add(offset) {
                if let Some((_, v)) = positional.get(index) {
                    value.absorb(v);
                }
            }
            if variadic_index == Some(param) {
                for (_, v) in positional.iter().skip(param + offset) {
                    value.absorb(v);
                }
                for (_, _, v) in keywords {
                    value.absorb(v);
                }
            }
            if let Some(name) = explicit.get(param) {
                for (keyword, _, v) in keywords {
                    if keyword == name {
                        value.absorb(v);
                    }
                }
            }
            value
        };
        let summary = self.summaries.get(scope).cloned().unwrap_or_default();
        let callee_name = callee_scope.qualified_name.rsplit('.').next().unwrap_or("").to_string();
        let call_step = self.step(node, "call", format!("through `{callee_name}`"));
        // A path that already passes this call site would only repeat a cycle (recursion): the
        // cycle-free path is found anyway, and skipping keeps summaries finite.
        let call_place = (self.file, node.start_byte());
        let revisits = |steps: &[TraceStep]| steps.iter().any(|s| (s.file, s.start) == call_place);
        for (param, cleared, normalized, steps) in &summary.param_returns {
            if revisits(steps) {
                continue;
            }
            let argument = argument_for(*param);
            for label in &argument.labels {
                let mut label = label.clone();
                label.cleared |= cleared;
                label.normalized |= normalized;
                label.trace = label.trace.extend(steps).push(self.step(node, "return", format!("returned from `{callee_name}`")));
                result.add_label(label);
            }
        }
        for label in &summary.source_returns {
            if revisits(&label.trace.steps()) {
                continue;
            }
            let mut label = label.clone();
            label.trace = label.trace.push(self.step(node, "return", format!("returned from `{callee_name}`")));
            result.add_label(label);
        }
        for sink in &summary.param_sinks {
            if revisits(&sink.steps) {
                continue;
            }
            let argument = argument_for(sink.param);
            for label in &argument.labels {
                if (label.cleared | sink.cleared) & sink.kind != 0 {
                    continue;
                }
                if !self.seen_hits.insert((label.origin.clone(), sink.kind, sink.sink)) {
                    continue;
                }
                let trace = label.trace.push(call_step.clone()).extend(&sink.steps);
                match &label.origin {
                    Origin::Source { kind, file, start, end } | Origin::Sources { kind, file, start, end } => {
                        self.raw_findings.push(RawFinding {
                            kind: sink.kind,
                            cwe: sink.cwe,
                            source_kind: *kind,
                            source: (*file, *start, *end),
                            sink: sink.sink,
                            callee: sink.callee.clone(),
                            steps: trace.steps(),
                        })
                    }
                    Origin::Param(param) => self.add_param_sink(ParamSink {
                        param: *param,
                        kind: sink.kind,
                        cwe: sink.cwe,
                        cleared: label.cleared | sink.cleared,
                        sink: sink.sink,
                        callee: sink.callee.clone(),
                        steps: trace.steps(),
                    }),
                }
            }
        }
        // Validation and in-place cleaning by the callee.
        for (param, suffix, kinds) in &summary.param_effects {
            let Some(index) = param.checked_add(offset) else { continue };
            let Some((argument, _)) = positional.get(index) else { continue };
            let Some(path) = self.path_of(*argument, state) else { continue };
            let target = format!("{path}{suffix}");
            let value =
                state.values.get(&target).cloned().or_else(|| (!suffix.is_empty()).then(|| state.values.get(&path).cloned()).flatten());
            if let Some(value) = value {
                state.values.insert(target, value.cleared(*kinds));
            }
        }
        // Taint the callee stores where other scopes read it, from the arguments given here.
        for (param, cleared, normalized, owner, by_owner, path) in &summary.param_exports {
            let argument = argument_for(*param);
            if !argument.is_tainted() {
                continue;
            }
            let mut stored = Value::default();
            for label in &argument.labels {
                let mut label = label.clone();
                label.cleared |= cleared;
                label.normalized |= normalized;
                label.trace = label.trace.push(call_step.clone());
                stored.add_label(label);
            }
            self.extra_exports.entry((owner.clone(), *by_owner)).or_default().add(path, &stored);
        }
        // Taint flowing into an argument's container (`def add(items, x): items.append(x)`).
        for (target, suffix, source) in &summary.param_flows {
            let Some(index) = target.checked_add(offset) else { continue };
            let Some((argument, _)) = positional.get(index) else { continue };
            let Some(path) = self.path_of(*argument, state) else { continue };
            let incoming = argument_for(*source);
            if incoming.is_tainted() {
                let traced = incoming.traced(&call_step);
                state.add(&format!("{path}{suffix}"), &traced);
            }
        }
        summary
    }

    /// For `getattr(obj, name)` on an instance of a workspace class: a reference naming the
    /// methods `name` may denote, `getattr:{class}:{prefix}` (the constant prefix of a
    /// concatenation, or the whole constant, or empty: every method).
    fn getattr_reference(&mut self, call: Node<'t>, state: &mut State, depth: usize) -> Option<String> {
        let inner = call.child_by_field_name("function")?;
        if self.text_of(inner) != "getattr" {
            return None;
        }
        let arguments = call.child_by_field_name("arguments")?;
        let object = arguments.named_child(0)?;
        let name = arguments.named_child(1)?;
        let object_value = self.eval(object, state, depth + 1);
        let class = object_value.reference.as_deref().filter(|r| self.program.classes.contains_key(*r))?.to_string();
        let (exact, prefix) = match literal(self.text, name, self.constants) {
            Some(Constant::Str(exact)) => (true, exact),
            _ => {
                let prefix = (name.kind() == "binary_operator")
                    .then(|| name.child_by_field_name("left"))
                    .flatten()
                    .and_then(|l| literal(self.text, l, self.constants))
                    .and_then(|c| match c {
                        Constant::Str(s) => Some(s),
                        _ => None,
                    })
                    .unwrap_or_default();
                (false, prefix)
            }
        };
        Some(format!("getattr:{class}:{}{prefix}", if exact { "=" } else { "" }))
    }

    /// The methods a `getattr:` reference may denote.
    fn getattr_candidates(&self, reference: &str) -> Vec<usize> {
        let Some(rest) = reference.strip_prefix("getattr:") else { return Vec::new() };
        let Some((class, pattern)) = rest.split_once(':') else { return Vec::new() };
        if let Some(exact) = pattern.strip_prefix('=') {
            return self.program.method(class, exact).into_iter().collect();
        }
        let mut candidates: Vec<usize> = Vec::new();
        for ancestor in self.program.ancestors(class) {
            if let Some(info) = self.program.classes.get(ancestor.as_str()) {
                let mut methods: Vec<(&String, &usize)> = info.methods.iter().filter(|(n, _)| n.starts_with(pattern)).collect();
                methods.sort();
                candidates.extend(methods.into_iter().map(|(_, &scope)| scope));
            }
        }
        candidates.dedup();
        candidates
    }

    /// A query document given as a dict literal: only values under operator keys (`$where`,
    /// `$function`, …) or unknown keys can inject; `{"name": value}` is an equality match.
    fn operator_values(&mut self, dictionary: Node<'t>, state: &mut State, depth: usize) -> Value {
        let mut result = Value::default();
        let mut cursor = dictionary.walk();
        let pairs: Vec<Node<'t>> = dictionary.named_children(&mut cursor).collect();
        for pair in pairs {
            let key = pair.child_by_field_name("key").and_then(|k| literal(self.text, k, self.constants));
            let value = pair.child_by_field_name("value").map(|v| self.eval(v, state, depth + 1)).unwrap_or_default();
            match key {
                Some(Constant::Str(key)) if !key.starts_with('$') => {}
                _ => result.absorb(&value),
            }
        }
        result
    }

    fn resolve_callee(&self, reference: Option<&str>, receiver: Option<&Value>) -> Option<usize> {
        let reference = reference?;
        if let Some(&scope) = self.program.functions.get(reference) {
            return Some(scope);
        }
        // A class: its constructor.
        if self.program.classes.contains_key(reference) {
            return self.program.method(reference, "__init__");
        }
        // A method on an instance of a workspace class (or inherited).
        if let Some((class, method)) = reference.rsplit_once('.') {
            if self.program.classes.contains_key(class) {
                return self.program.method(class, method);
            }
        }
        let _ = receiver;
        None
    }

    fn assign_target(&mut self, target: Node<'t>, value: Value, state: &mut State, depth: usize) {
        match target.kind() {
            "identifier" | "attribute" | "subscript" => {
                if target.kind() == "identifier" {
                    self.rebound.insert(self.text_of(target));
                }
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
                        // Unknown key or deep path: a weak update of the container.
                        if let Some(base) = target.child_by_field_name("value").or_else(|| target.child_by_field_name("object")) {
                            let _ = self.eval(base, state, depth + 1);
                            if let Some(path) = self.path_of(base, state) {
                                state.add(&path, &value);
                            }
                        }
                        if let Some(index) = target.child_by_field_name("subscript") {
                            let _ = self.eval(index, state, depth + 1);
                        }
                    }
                }
                // Writes into sinks by assignment: `session[k] = v`, `response.headers[k] = v`.
                if target.kind() == "subscript" && value.is_tainted() {
                    if let Some(base) = target.child_by_field_name("value") {
                        let base_value = self.eval(base, state, depth + 1);
                        let base_reference = base_value.reference.as_deref().unwrap_or("").to_string();
                        let base_text = self.text_of(base).to_string();
                        if base_reference == "flask.session" || base_text.ends_with("request.session") {
                            if let Some(kind) = sink_kind_bit("TrustBoundary") {
                                self.hit(kind, 501, &value, target, target, &short(&base_text));
                            }
                        } else if base_text.ends_with(".headers") && !base_text.contains("request") {
                            if let Some(kind) = sink_kind_bit("HeaderInjection") {
                                self.hit(kind, 113, &value, target, target, &short(&base_text));
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

    fn assignment(&mut self, node: Node<'t>, state: &mut State, depth: usize) {
        let right = node.child_by_field_name("right");
        let Some(left) = node.child_by_field_name("left") else {
            if let Some(right) = right {
                let _ = self.eval(right, state, depth + 1);
            }
            return;
        };
        let Some(right) = right else { return };
        // `a = b = value`: the right side is itself an assignment.
        let value = if right.kind() == "assignment" {
            self.assignment(right, state, depth + 1);
            right.child_by_field_name("left").map(|l| self.eval(l, state, depth + 1)).unwrap_or_default()
        } else {
            self.eval(right, state, depth + 1)
        };
        if left.kind() == "identifier" {
            self.rebound.insert(self.text_of(left));
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
                        let key = pair.child_by_field_name("key").and_then(|k| literal(self.text, k, self.constants));
                        let v = pair.child_by_field_name("value").map(|n| self.eval(n, state, depth + 1)).unwrap_or_default();
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

    fn augmented_assignment(&mut self, node: Node<'t>, state: &mut State, depth: usize) {
        let (Some(left), Some(right)) = (node.child_by_field_name("left"), node.child_by_field_name("right")) else { return };
        // Local, though not rebound: `items += [x]` extends a list parameter in place.
        if left.kind() == "identifier" {
            self.augmented.insert(self.text_of(left));
        }
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
    fn transfer(&mut self, cfg: &Cfg<'t>, step: usize, state: &mut State) {
        let Some(node) = cfg.steps[step].node else { return };
        match cfg.steps[step].kind {
            StepKind::Statement => self.statement(node, state),
            StepKind::Condition => {
                let _ = self.eval(node, state, 0);
            }
            StepKind::ForTarget => {
                let iterable = node.child_by_field_name("right").map(|r| self.eval(r, state, 0)).unwrap_or_default();
                if let Some(left) = node.child_by_field_name("left") {
                    let element = Value { labels: iterable.labels.clone(), ..Value::default() };
                    self.assign_target(left, element, state, 0);
                }
            }
            StepKind::WithItem => {
                if let Some(value) = node.child_by_field_name("value") {
                    if value.kind() == "as_pattern" {
                        let expression = value.named_child(0);
                        let evaluated = expression.map(|e| self.eval(e, state, 0)).unwrap_or_default();
                        let alias = value.child_by_field_name("alias").and_then(|a| a.named_child(0).or(Some(a)));
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
                if let Some(alias) = alias.and_then(|a| a.child_by_field_name("alias")).and_then(|a| a.named_child(0).or(Some(a))) {
                    self.assign_target(alias, Value::default(), state, 0);
                }
            }
            StepKind::MatchSubject => {
                let subject = node.child_by_field_name("subject").map(|s| self.eval(s, state, 0)).unwrap_or_default();
                state.assign("$match", subject);
            }
            StepKind::CasePattern => {
                let subject = state.values.get("$match").cloned().unwrap_or_default();
                let mut stack = vec![node];
                while let Some(current) = stack.pop() {
                    let mut cursor = current.walk();
                    for child in current.named_children(&mut cursor) {
                        match child.kind() {
                            "block" | "if_clause" => {}
                            // A capture is a one-part dotted name (`case [x]`); `Color.RED` is a value.
                            "dotted_name" if child.named_child_count() == 1 => {
                                let element = Value { labels: subject.labels.clone(), ..Value::default() };
                                self.rebound.insert(self.text_of(child));
                                state.assign(self.text_of(child), element);
                            }
                            "dotted_name" => {}
                            "identifier" => {
                                let element = Value { labels: subject.labels.clone(), ..Value::default() };
                                self.rebound.insert(self.text_of(child));
                                state.assign(self.text_of(child), element);
                            }
                            _ => stack.push(child),
                        }
                    }
                }
            }
            StepKind::Definition => {
                let definition =
                    if node.kind() == "decorated_definition" { node.child_by_field_name("definition").unwrap_or(node) } else { node };
                if let Some(name) = definition.child_by_field_name("name") {
                    let scope_name = &self.program.scopes[self.scope].qualified_name;
                    let qualified = format!("{scope_name}.{}", self.text_of(name));
                    self.rebound.insert(self.text_of(name));
                    state.assign(self.text_of(name), Value::reference(qualified));
                }
            }
            StepKind::Entry | StepKind::Exit => {}
        }
    }

    fn statement(&mut self, node: Node<'t>, state: &mut State) {
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
            "return_statement" => {
                let value = match node.named_child(0) {
                    Some(expression) => self.eval(expression, state, 0),
                    None => Value::default(),
                };
                if self.is_route && value.stringy {
                    if let (Some(kind), Some(expression)) = (sink_kind_bit("XSS"), node.named_child(0)) {
                        let _ = expression;
                        self.hit(kind, 79, &value, node, node, "the view's HTML response");
                    }
                }
                if let Some(expression) = node.named_child(0) {
                    // Returning `False` says nothing; any other return is a candidate guard.
                    if value.constant.as_ref().is_none_or(Constant::truthy) {
                        let mut refined = state.clone();
                        self.refine(expression, true, &mut refined);
                        let guards = self.parameter_clearances(&refined);
                        self.return_guards.push(guards);
                    }
                }
                let returned = match node.named_child(0) {
                    Some(expression) if value.is_tainted() => value.traced(&self.step(expression, "return", "returned".to_string())),
                    _ => value,
                };
                self.return_value = Some(match &self.return_value {
                    Some(previous) => previous.join(&returned),
                    None => returned,
                });
            }
            "delete_statement" => {
                if let Some(target) = node.named_child(0) {
                    if let Some(path) = self.path_of(target, state) {
                        state.values.remove(&path);
                    }
                }
            }
            "global_statement" | "nonlocal_statement" => {
                let mut cursor = node.walk();
                let names: Vec<&'t str> =
                    node.named_children(&mut cursor).filter(|n| n.kind() == "identifier").map(|n| self.text_of(n)).collect();
                self.declared_outside.extend(names);
            }
            "raise_statement" | "assert_statement" | "print_statement" | "exec_statement" => {
                let _ = self.union_of_children(node, state, 0);
            }
            _ => {}
        }
    }

    /// Records a parameter → sink flow; of two for the same parameter, kind and sink the one
    /// with the shorter (then earlier) path is kept, so summaries do not depend on visiting order.
    fn add_param_sink(&mut self, sink: ParamSink) {
        let rank = |s: &ParamSink| (s.steps.len(), s.cleared, s.steps.first().map(|step| (step.file, step.start)));
        match self
            .summary
            .param_sinks
            .iter_mut()
            .find(|existing| existing.param == sink.param && existing.kind == sink.kind && existing.sink == sink.sink)
        {
            Some(existing) => {
                if rank(&sink) < rank(existing) {
                    *existing = sink;
                }
            }
            None => self.summary.param_sinks.push(sink),
        }
    }

    /// For each parameter, the kinds its own value is sanitised for in `state` (relative to the
    /// entry, where it carries a bare `Param` label).
    fn parameter_clearances(&self, state: &State) -> Vec<(usize, u32)> {
        let scope = &self.program.scopes[self.scope];
        let explicit = usize::from(scope.implicit_receiver);
        let mut result = Vec::new();
        for (index, param) in scope.params.iter().enumerate().skip(explicit) {
            let position = index - explicit;
            if self.rebound.contains(param.name.as_str()) {
                continue;
            }
            let Some(value) = state.values.get(&param.name) else { continue };
            let own: Vec<&Label> = value.labels.iter().filter(|l| l.origin == Origin::Param(position)).collect();
            let cleared = own.iter().fold(ALL_KINDS, |kinds, l| kinds & l.cleared);
            if !own.is_empty() && cleared != 0 {
                result.push((position, cleared));
            }
        }
        result
    }

    /// Narrows `state` on the edge where `condition` evaluated to `polarity` (guards).
    fn refine(&mut self, condition: Node<'t>, polarity: bool, state: &mut State) {
        match condition.kind() {
            "not_operator" => {
                if let Some(argument) = condition.child_by_field_name("argument") {
                    self.refine(argument, !polarity, state);
                }
            }
            "parenthesized_expression" => {
                if let Some(inner) = condition.named_child(0) {
                    self.refine(inner, polarity, state);
                }
            }
            "boolean_operator" => {
                let operator = condition.child_by_field_name("operator").map(|o| self.text_of(o)).unwrap_or("");
                if (operator == "and" && polarity) || (operator == "or" && !polarity) {
                    for side in ["left", "right"] {
                        if let Some(node) = condition.child_by_field_name(side) {
                            self.refine(node, polarity, state);
                        }
                    }
                }
            }
            "comparison_operator" if polarity => {
                let mut cursor = condition.walk();
                let operands: Vec<Node<'t>> = condition.named_children(&mut cursor).collect();
                let operators: Vec<&str> = {
                    let mut cursor = condition.walk();
                    condition.children(&mut cursor).filter(|c| !c.is_named()).map(|c| self.text_of(c)).collect()
                };
                if operands.len() == 2 && operators.len() == 1 {
                    let (left, right) = (operands[0], operands[1]);
                    let right_is_constant = literal(self.text, right, self.constants).is_some()
                        || matches!(right.kind(), "list" | "tuple" | "set" | "dictionary")
                        || (right.kind() == "identifier"
                            && self.text_of(right).chars().all(|c| c.is_uppercase() || c == '_' || c.is_ascii_digit()));
                    if matches!(operators[0], "==" | "in") && right_is_constant {
                        if let Some(path) = self.path_of(left, state) {
                            let mut value = state.values.get(&path).cloned().unwrap_or_default();
                            value = value.cleared(ALL_KINDS);
                            if operators[0] == "==" {
                                value.constant = literal(self.text, right, self.constants);
                            }
                            state.values.insert(path, value);
                        }
                    }
                }
            }
            "call" => {
                let Some(function) = condition.child_by_field_name("function") else { return };
                let arguments: Vec<Node<'t>> = condition
                    .child_by_field_name("arguments")
                    .map(|a| {
                        let mut cursor = a.walk();
                        a.named_children(&mut cursor).collect()
                    })
                    .unwrap_or_default();
                if function.kind() == "attribute" && polarity {
                    let method = function.child_by_field_name("attribute").map(|a| self.text_of(a)).unwrap_or("");
                    let Some(object) = function.child_by_field_name("object") else { return };
                    // `realpath(p).startswith(base)`: the check validates `p` itself.
                    if matches!(method, "startswith" | "is_relative_to") && object.kind() == "call" {
                        let normalizer = object
                            .child_by_field_name("function")
                            .and_then(|f| dotted(self.text, f))
                            .map(|name| self.program.resolve_name(self.module, &name).unwrap_or(name))
                            .and_then(|reference| self.rules.sanitizer_calls.get(&reference).map(|s| s.normalizes))
                            .unwrap_or(false);
                        let argument = object.child_by_field_name("arguments").and_then(|a| a.named_child(0));
                        if let (true, Some(path)) = (normalizer, argument.and_then(|a| self.path_of(a, state))) {
                            if let (Some(value), Some(kind)) = (state.values.get(&path).cloned(), sink_kind_bit("FilePath")) {
                                state.values.insert(path, value.cleared(kind));
                            }
                        }
                        return;
                    }
                    let Some(path) = self.path_of(object, state) else { return };
                    let Some(mut value) = state.values.get(&path).cloned() else { return };
                    match method {
                        "startswith" | "is_relative_to" => {
                            if let Some(kind) = sink_kind_bit("FilePath") {
                                if value.labels.iter().all(|l| l.normalized) {
                                    value = value.cleared(kind);
                                }
                            }
                        }
                        "isdigit" | "isdecimal" | "isnumeric" | "isalnum" | "isalpha" | "isidentifier" => value = value.cleared(ALL_KINDS),
                        _ => return,
                    }
                    state.values.insert(path, value);
                    return;
                }
                // Guard functions: `url_has_allowed_host_and_scheme(url, ...)`, `re.fullmatch(p, x)`.
                let reference = dotted(self.text, function).map(|name| self.program.resolve_name(self.module, &name).unwrap_or(name));
                // A workspace function that guards its parameters when it returns true.
                if polarity {
                    if let Some(callee) = self.resolve_callee(reference.as_deref(), None) {
                        let guards = self.summaries.get(callee).map(|s| s.guards_when_true.clone()).unwrap_or_default();
                        for (param, kinds) in guards {
                            if let Some(path) = arguments.get(param).and_then(|a| self.path_of(*a, state)) {
                                if let Some(value) = state.values.get(&path).cloned() {
                                    state.values.insert(path, value.cleared(kinds));
                                }
                            }
                        }
                        return;
                    }
                }
                let (kinds, argument_index) = match reference.as_deref() {
                    Some("django.utils.http.url_has_allowed_host_and_scheme" | "django.utils.http.is_safe_url") => {
                        (sink_kind_bit("Redirect").unwrap_or(0), 0)
                    }
                    Some("re.fullmatch" | "re.match") => (ALL_KINDS, 1),
                    Some("os.path.isfile" | "os.path.exists") => (0, 0),
                    _ => return,
                };
                if !polarity || kinds == 0 {
                    return;
                }
                if let Some(path) = arguments.get(argument_index).and_then(|a| self.path_of(*a, state)) {
                    if let Some(value) = state.values.get(&path).cloned() {
                        state.values.insert(path, value.cleared(kinds));
                    }
                }
            }
            _ => {}
        }
    }

    fn run(&mut self) {
        let scope = &self.program.scopes[self.scope];
        if scope.depth > crate::syntax::MAX_STATEMENT_DEPTH {
            return;
        }
        let cfg = build_cfg(self.text, scope.body, &NoConstants);
        self.has_inner = scope.kind == ScopeKind::Function
            && (self.enclosing.contains(&name_hash(&scope.qualified_name))
                || memchr::memmem::find(&self.text.as_bytes()[scope.body.byte_range()], b"lambda").is_some());
        let initial = self.initial_state();
        let mut states: Vec<Option<State>> = vec![None; cfg.steps.len()];
        let mut visits = vec![0usize; cfg.steps.len()];
        states[ENTRY] = Some(initial);
        let mut worklist: std::collections::VecDeque<usize> = std::collections::VecDeque::from([ENTRY]);
        let mut queued = vec![false; cfg.steps.len()];
        queued[ENTRY] = true;
        let mut normal_exit: Option<State> = None;
        while let Some(step) = worklist.pop_front() {
            queued[step] = false;
            visits[step] += 1;
            if visits[step] == MAX_VISITS_PER_STEP + 1 {
                // Still changing: widen this step's state once (every sanitisation dropped,
                // constants forgotten), which errs toward more taint and lets it settle.
                self.incomplete.step_visits += 1;
                if let Some(state) = states[step].as_mut() {
                    for value in state.values.values_mut() {
                        value.constant = None;
                        for label in &mut value.labels {
                            label.cleared = 0;
                        }
                        value.dedupe_merging();
                    }
                }
            }
            let Some(mut state) = states[step].clone() else { continue };
            // An exception may leave a step before its effects: handlers see both states. Steps
            // that can only add taint (conditions, returns, raises, imports) need no copy.
            let binds = match cfg.steps[step].kind {
                StepKind::Statement => cfg.steps[step].node.is_some_and(|n| {
                    n.kind() == "delete_statement"
                        || n.named_child(0).is_some_and(|first| {
                            matches!(first.kind(), "assignment" | "augmented_assignment" | "named_expression" | "call" | "await")
                        })
                }),
                StepKind::ForTarget | StepKind::WithItem => true,
                _ => false,
            };
            let before = (binds && cfg.successors[step].iter().any(|e| e.kind == EdgeKind::Exceptional)).then(|| state.clone());
            self.transfer(&cfg, step, &mut state);
            let edges: Vec<_> = cfg.successors[step].iter().filter(|e| e.executable()).collect();
            let edge_count = edges.len();
            for (edge_index, edge) in edges.into_iter().enumerate() {
                // The last edge takes the state itself: most steps have one successor.
                let mut next = if edge_index + 1 == edge_count { std::mem::take(&mut state) } else { state.clone() };
                if edge.kind == EdgeKind::Exceptional {
                    if let Some(before) = &before {
                        next = next.join(before);
                    }
                }
                if let Some((condition_step, polarity)) = edge.guard {
                    if let Some(condition) = cfg.steps[condition_step].node {
                        let condition = if cfg.steps[condition_step].kind == StepKind::Statement {
                            // `assert`: the asserted expression.
                            condition.named_child(0).unwrap_or(condition)
                        } else {
                            condition
                        };
                        if cfg.steps[condition_step].kind != StepKind::CasePattern {
                            let mut probe = next.clone();
                            let evaluated = self.eval(condition, &mut probe, 0);
                            if let Some(constant) = evaluated.constant {
                                if constant.truthy() != polarity {
                                    continue;
                                }
                            }
                            self.refine(condition, polarity, &mut next);
                        }
                    }
                }
                // Normal returns reach the exit along normal edges; exceptions along exceptional ones.
                if edge.to == EXIT && edge.kind == EdgeKind::Normal {
                    normal_exit = Some(match normal_exit.take() {
                        Some(existing) => existing.join(&next),
                        None => next.clone(),
                    });
                }
                let merged = match &states[edge.to] {
                    Some(existing) => {
                        let joined = existing.join(&next);
                        if joined.same(existing) {
                            continue;
                        }
                        joined
                    }
                    None => next,
                };
                states[edge.to] = Some(merged);
                if !queued[edge.to] {
                    queued[edge.to] = true;
                    worklist.push_back(edge.to);
                }
            }
        }
        // Effects on parameters visible after a normal return.
        if let Some(exit_state) = &normal_exit {
            let scope = &self.program.scopes[self.scope];
            let explicit = usize::from(scope.implicit_receiver);
            for (index, param) in scope.params.iter().enumerate().skip(explicit) {
                let position = index - explicit;
                for (path, value) in &exit_state.values {
                    let suffix = match path.strip_prefix(param.name.as_str()) {
                        Some("") if self.rebound.contains(param.name.as_str()) => continue,
                        Some(suffix) if suffix.is_empty() || suffix.starts_with(['.', '[']) => suffix,
                        _ => continue,
                    };
                    let own: Vec<&Label> = value.labels.iter().filter(|l| l.origin == Origin::Param(position)).collect();
                    let cleared = own.iter().fold(ALL_KINDS, |kinds, l| kinds & l.cleared);
                    if !own.is_empty() && cleared != 0 && value.labels.len() == own.len() {
                        self.summary.param_effects.push((position, suffix.to_string(), cleared));
                    }
                    // Other parameters' taint stored into this one's container.
                    if !(suffix.is_empty() && self.rebound.contains(param.name.as_str())) {
                        for label in &value.labels {
                            if let Origin::Param(other) = label.origin {
                                if other != position && label.cleared == 0 {
                                    self.summary.param_flows.push((position, suffix.to_string(), other));
                                }
                            }
                        }
                    }
                }
            }
        }
        // A boolean guard: every (non-false) return establishes the same clearance.
        if !self.return_guards.is_empty() {
            let mut common: HashMap<usize, u32> = self.return_guards[0].iter().copied().collect();
            for guards in &self.return_guards[1..] {
                let these: HashMap<usize, u32> = guards.iter().copied().collect();
                common.retain(|param, kinds| match these.get(param) {
                    Some(other) => {
                        *kinds &= other;
                        *kinds != 0
                    }
                    None => false,
                });
            }
            let mut guards: Vec<(usize, u32)> = common.into_iter().collect();
            guards.sort_unstable();
            self.summary.guards_when_true = guards;
        }
        // The summary's return part.
        if let Some(value) = self.return_value.take() {
            for label in &value.labels {
                match &label.origin {
                    Origin::Param(param) => self.summary.param_returns.push((*param, label.cleared, label.normalized, label.trace.steps())),
                    Origin::Source { .. } | Origin::Sources { .. } => self.summary.source_returns.push(label.clone()),
                }
            }
            self.summary.returns_stringy = value.stringy;
            self.summary.returns_reference = value.reference.clone();
        }
        self.summary.resolved_callees = self.callees.iter().copied().collect();
        self.summary.resolved_callees.sort_unstable();
        self.collect_exports(&states);
        self.summary.reads = self.reads.iter().copied().collect();
        self.summary.reads.sort_unstable();
    }
}

/// `FLOWSIGHT_DEBUG_ANALYSIS` set: timings and the scopes of each round go to stderr.
pub fn debug_analysis() -> bool {
    static ENABLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ENABLED.get_or_init(|| std::env::var_os("FLOWSIGHT_DEBUG_ANALYSIS").is_some())
}

/// Result of a whole-program taint analysis.
pub struct TaintResult {
    pub findings: Vec<Finding>,
    pub stats: AnalysisStats,
}

fn analyze_scope(
    program: &Program<'_>,
    rules: &RuleSet,
    summaries: &[Summary],
    env: &Env,
    enclosing: &FxHashSet<u64>,
    scope: usize,
) -> (Summary, Vec<RawFinding>, Incomplete) {
    let info = &program.scopes[scope];
    let mut analysis = Analysis {
        program,
        rules,
        summaries,
        scope,
        file: info.file,
        text: program.text(info.file),
        module: info.module,
        constants: &program.modules[info.module].constants,
        summary: Summary::default(),
        raw_findings: Vec::new(),
        seen_hits: HashSet::new(),
        return_value: None,
        return_guards: Vec::new(),
        rebound: FxHashSet::default(),
        is_route: false,
        callees: HashSet::new(),
        env,
        enclosing,
        has_inner: false,
        augmented: FxHashSet::default(),
        declared_outside: FxHashSet::default(),
        homes: None,
        lambda_params: Vec::new(),
        extra_exports: FxHashMap::default(),
        reads: FxHashSet::default(),
        consulted: FxHashMap::default(),
        incomplete: Incomplete::default(),
    };
    BOUNDS_MET.with(|cell| cell.set(Incomplete::ZERO));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        analysis.run();
    }));
    let met = BOUNDS_MET.with(|cell| cell.replace(Incomplete::ZERO));
    analysis.incomplete.add(&met);
    if outcome.is_err() {
        return (Summary::default(), Vec::new(), Incomplete { failed: 1, ..Incomplete::default() });
    }
    (analysis.summary, analysis.raw_findings, analysis.incomplete)
}

/// Where a bound degraded one scope's analysis. Every bound errs toward more taint (labels
/// merged keep the least cleared kinds, too-deep expressions read every name inside them), is
/// counted here and reported (`AnalysisStats::incomplete`, the CLI's outputs, `flowsight/status`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Incomplete {
    /// Values whose labels exceeded `MAX_LABELS` and were merged.
    pub labels_merged: u32,
    /// Expressions nested deeper than `MAX_EVAL_DEPTH`, read as the union of their names.
    pub expression_depth: u32,
    /// Steps whose state was still changing after `MAX_VISITS_PER_STEP` visits, widened.
    pub step_visits: u32,
    /// Paths longer than `MAX_TRACE` steps shown with their middle left out.
    pub trace_elided: u32,
    /// Scopes whose analysis failed (a bug of ours): their findings may be missing.
    pub failed: u32,
}

impl Incomplete {
    const ZERO: Incomplete = Incomplete { labels_merged: 0, expression_depth: 0, step_visits: 0, trace_elided: 0, failed: 0 };

    fn add(&mut self, other: &Incomplete) {
        self.labels_merged += other.labels_merged;
        self.expression_depth += other.expression_depth;
        self.step_visits += other.step_visits;
        self.trace_elided += other.trace_elided;
        self.failed += other.failed;
    }

    pub fn total(&self) -> u32 {
        self.labels_merged + self.expression_depth + self.step_visits + self.trace_elided + self.failed
    }
}

/// Runs the analysis over every scope: summaries to a fixpoint (re-analysing only callers of
/// changed summaries), then findings.
pub fn analyze(program: &Program<'_>, rules: &RuleSet) -> TaintResult {
    analyze_incrementally_with(program, rules, None, None).0
}
