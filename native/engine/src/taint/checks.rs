//! Security checks that are not taint (`[[check]]` in the rule packs): a call that is a
//! problem by itself (`yaml.unsafe_load`), by the constants of its arguments
//! (`requests.get(url, verify=False)`, `hashlib.md5(data)` without `usedforsecurity=False`), or
//! by where its result goes (`random.choice` reaching a name like `reset_token`).
//!
//! Arguments are decided by the constants the engine already propagates (literals, module
//! constants, names assigned once in the scope, references through imports and aliases); an
//! argument they do not decide (a parameter, a value from `**options`) satisfies no condition,
//! so an uncertain call is not reported. Where a result goes follows the expression it sits in
//! (operators, f-strings, comprehensions, calls such as `"".join(...)`) and local names it is
//! assigned to, up to `MAX_HOPS` assignments.
//!
//! Results depend only on the file's text and the rules, so they are cached per file, keyed by
//! a hash of the text (`CheckCache`), and rendered like taint findings: the same `Finding`
//! (sink = the call; source = the argument that decided it, or the call), ids and suppression
//! comments on the call's line.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use crate::syntax::tree::Node;
use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::program::{dotted, literal, text_of, Constant, Program};
use crate::rules::{CheckCall, Condition, ConditionTest, RuleSet};
use crate::syntax::{field, FieldChild};

use super::findings::{enclosing_scope_name, location, suppressed, Finding, FindingStep};
use super::short;

/// Local assignments followed from a random value to a name that says what it is.
const MAX_HOPS: usize = 4;
/// Names followed through single assignments when deciding an argument.
const MAX_RESOLVE_DEPTH: usize = 8;

/// Per file (path): the text hash the findings were computed from, and the findings.
#[derive(Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct CheckCache {
    #[serde(with = "super::incremental::sorted_map")]
    files: FxHashMap<String, ([u8; 32], Vec<Finding>)>,
}

/// The checks' findings for every file, reusing `previous` for files whose text is unchanged
/// (the caller drops the cache when the rules change). A file `unchanged` marks as not changed
/// since `previous` was computed keeps its entry without its text being hashed again.
pub(super) fn run(
    program: &Program<'_>,
    rules: &RuleSet,
    previous: Option<CheckCache>,
    unchanged: Option<&[bool]>,
) -> (Vec<Finding>, CheckCache) {
    let previous = previous.unwrap_or_default();
    if rules.checks.is_empty() {
        return (Vec::new(), CheckCache::default());
    }
    let results: Vec<(String, [u8; 32], Vec<Finding>)> = (0..program.files.len())
        .into_par_iter()
        .map(|file| {
            use sha2::{Digest, Sha256};
            let path = program.files[file].path.clone();
            if unchanged.is_some_and(|unchanged| unchanged[file]) {
                if let Some((old, findings)) = previous.files.get(&path) {
                    return (path, *old, findings.clone());
                }
            }
            let hash: [u8; 32] = Sha256::digest(program.text(file).as_bytes()).into();
            if let Some((old, findings)) = previous.files.get(&path) {
                if *old == hash {
                    return (path, hash, findings.clone());
                }
            }
            let findings = check_file(program, rules, file);
            (path, hash, findings)
        })
        .collect();
    let mut all = Vec::new();
    let mut cache = CheckCache::default();
    for (path, hash, findings) in results {
        all.extend(findings.iter().cloned());
        cache.files.insert(path, (hash, findings));
    }
    (all, cache)
}

/// Places of a check finding's path: (node, step kind, description).
type Path<'t> = Vec<(Node<'t>, &'static str, String)>;

/// A raw check finding: the check, the call (the finding's sink), and its path: the argument
/// that decided it and the call, or the call and the places its result reached, up to the one
/// whose name says it is a secret.
struct Hit<'t> {
    check: String,
    callee: String,
    call: Node<'t>,
    path: Path<'t>,
    /// Where the result went, for checks on where it goes.
    reaches: Option<String>,
}

fn check_file(program: &Program<'_>, rules: &RuleSet, file: usize) -> Vec<Finding> {
    let text = program.text(file);
    let root = program.files[file].document.tree().root_node();
    let checker = Checker { program, rules, file, text, module: file, function: Cell::new(None), bindings: RefCell::default() };
    let mut hits = Vec::new();
    // Every call of the file with its innermost enclosing function, iteratively (nesting can be
    // arbitrarily deep).
    let mut stack = vec![(root, None)];
    while let Some((node, function)) = stack.pop() {
        if node.kind() == "call" {
            checker.function.set(function);
            checker.check_call(node, &mut hits);
        }
        let inner = if node.kind() == "function_definition" { Some(node) } else { function };
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor).map(|child| (child, inner)));
    }
    render(program, rules, file, hits)
}

struct Checker<'p, 't> {
    program: &'p Program<'t>,
    rules: &'p RuleSet,
    file: usize,
    text: &'t str,
    module: usize,
    /// The innermost function definition holding the call being checked (every node an
    /// argument is decided from lies in it, or in the module when `None`).
    function: Cell<Option<Node<'t>>>,
    /// Per function definition (node id): how each name is bound in it (`function_bindings`).
    bindings: RefCell<FxHashMap<usize, Rc<Bindings<'t>>>>,
}

/// Name → (how many times it is bound, 2 for each binding constants do not decide; the value
/// of its plain assignment). Built in one walk of the function.
type Bindings<'t> = FxHashMap<&'t str, (usize, Option<Node<'t>>)>;

/// What an argument is known to be.
#[derive(Clone, Debug, PartialEq)]
enum Known {
    Constant(Constant),
    /// A qualified reference (`yaml.SafeLoader`), or an instance of the class it names.
    Reference(String),
    /// An absent argument's declared default.
    Default(toml::Value),
}

/// An argument as a call passes it.
enum Argument<'t> {
    Given(Node<'t>),
    /// Absent, and no `*args`/`**kwargs` could hold it.
    Absent,
    /// Absent unless a splat holds it.
    Unknown,
}

impl<'p, 't> Checker<'p, 't> {
    fn check_call(&self, call: Node<'t>, hits: &mut Vec<Hit<'t>>) {
        let Some(function) = call.field(&field::FUNCTION) else { return };
        let reference = self.reference(function, 0);
        let method = (function.kind() == "attribute")
            .then(|| function.field(&field::ATTRIBUTE))
            .flatten()
            .map(|attribute| text_of(self.text, attribute));
        let mut candidates: Vec<(&CheckCall, String)> = Vec::new();
        if let Some(found) = reference.as_deref().and_then(|r| self.rules.check_calls.get(r)) {
            candidates.extend(found.iter().map(|c| (c, reference.clone().unwrap_or_default())));
        }
        if let Some(found) = method.and_then(|m| self.rules.check_methods.get(m)) {
            let shown = reference.clone().or_else(|| dotted(self.text, function)).unwrap_or_else(|| method.unwrap_or("").to_string());
            candidates.extend(found.iter().map(|c| (c, shown.clone())));
        }
        let mut reported: Vec<&str> = Vec::new();
        for (candidate, callee) in candidates {
            if reported.contains(&candidate.check.as_str()) {
                continue;
            }
            let Some(deciding) = self.conditions_hold(call, &candidate.conditions) else { continue };
            let mut reaches = None;
            let path = if candidate.result_named.is_empty() {
                let mut path = Vec::new();
                if let Some(argument) = deciding.filter(|a| a.id() != call.id()) {
                    path.push((argument, "source", format!("argument `{}`", short(text_of(self.text, argument)))));
                }
                path.push((call, "sink", format!("call of `{callee}`")));
                path
            } else {
                match self.named_destination(call, &candidate.result_named) {
                    Some(path) => {
                        reaches = path.last().map(|(_, _, description)| description.clone());
                        path
                    }
                    None => continue,
                }
            };
            reported.push(&candidate.check);
            hits.push(Hit { check: candidate.check.clone(), callee, call, path, reaches });
        }
    }

    /// Whether every condition holds; `Some(the argument that decided the last one)`.
    fn conditions_hold(&self, call: Node<'t>, conditions: &[Condition]) -> Option<Option<Node<'t>>> {
        let arguments = call.field(&field::ARGUMENTS).filter(|a| a.kind() == "argument_list");
        let mut deciding = None;
        for condition in conditions {
            let argument = match arguments {
                Some(arguments) => find_argument(self.text, arguments, condition.arg, condition.keyword.as_deref()),
                None => Argument::Unknown,
            };
            let known = match &argument {
                Argument::Given(node) => {
                    deciding = Some(*node);
                    self.evaluate(*node, 0)
                }
                Argument::Absent => condition.default.clone().map(Known::Default),
                Argument::Unknown => None,
            };
            let holds = match &condition.test {
                ConditionTest::Missing(missing) => match argument {
                    Argument::Given(_) => !missing,
                    Argument::Absent => *missing,
                    Argument::Unknown => false,
                },
                ConditionTest::Equals(value) => known.as_ref().is_some_and(|k| self.matches(k, value) == Some(true)),
                ConditionTest::NotEquals(value) => known.as_ref().is_some_and(|k| self.matches(k, value) == Some(false)),
                ConditionTest::In(values) => known.as_ref().is_some_and(|k| values.iter().any(|v| self.matches(k, v) == Some(true))),
                ConditionTest::NotIn(values) => known.as_ref().is_some_and(|k| values.iter().all(|v| self.matches(k, v) == Some(false))),
            };
            if !holds {
                return None;
            }
        }
        Some(deciding)
    }

    /// Whether `known` is `value`; `None` when that is not decided (a workspace class may
    /// derive from the safe one named).
    fn matches(&self, known: &Known, value: &toml::Value) -> Option<bool> {
        Some(match (known, value) {
            (Known::Default(default), value) => default == value,
            (Known::Reference(reference), toml::Value::String(name)) => {
                if reference == name {
                    return Some(true);
                }
                if self.program.class(reference).is_some() {
                    return None;
                }
                false
            }
            (Known::Reference(_), _) => false,
            (Known::Constant(constant), value) => match (constant, value) {
                (Constant::Bool(a), toml::Value::Boolean(b)) => a == b,
                (Constant::Int(a), toml::Value::Integer(b)) => a == b,
                (Constant::Float(a), toml::Value::Float(b)) => a == b,
                (Constant::Str(a), toml::Value::String(b)) => a == b,
                // `False == 0` in Python; other kinds never equal.
                (Constant::Int(a), toml::Value::Boolean(b)) | (Constant::Bool(b), toml::Value::Integer(a)) => *a == i64::from(*b),
                _ => false,
            },
        })
    }

    /// How `name` is bound in `function`: `Ok(Some(value))` when assigned exactly once (and not
    /// a parameter or otherwise bound), `Ok(None)` when not bound there, `Err(())` when bound
    /// in a way constants do not decide.
    fn local_binding(&self, function: Node<'t>, name: &str) -> Result<Option<Node<'t>>, ()> {
        let bindings =
            Rc::clone(self.bindings.borrow_mut().entry(function.id()).or_insert_with(|| Rc::new(self.function_bindings(function))));
        match bindings.get(name) {
            None => Ok(None),
            Some(&(1, value)) => Ok(value),
            Some(_) => Err(()),
        }
    }

    /// Every name `function` binds (see `Bindings`): parameters, assignments, loop and `with`
    /// targets, walrus, imports, `global`/`nonlocal`, handlers' names, nested definitions (not
    /// entered).
    fn function_bindings(&self, function: Node<'t>) -> Bindings<'t> {
        let mut bindings: Bindings<'t> = FxHashMap::default();
        let text = self.text;
        let bind_all = |bindings: &mut Bindings<'t>, node: Node<'t>| {
            for identifier in identifiers(node) {
                bindings.entry(text_of(text, identifier)).or_default().0 += 2;
            }
        };
        if let Some(parameters) = function.field(&field::PARAMETERS) {
            let mut cursor = parameters.walk();
            for parameter in parameters.named_children(&mut cursor) {
                let identifier = match parameter.kind() {
                    "identifier" => Some(parameter),
                    "default_parameter" | "typed_default_parameter" => parameter.field(&field::NAME),
                    "typed_parameter" | "list_splat_pattern" | "dictionary_splat_pattern" => parameter.named_child(0),
                    _ => None,
                };
                if let Some(identifier) = identifier {
                    bind_all(&mut bindings, identifier);
                }
            }
        }
        let Some(body) = function.field(&field::BODY) else { return bindings };
        let mut stack = vec![body];
        while let Some(node) = stack.pop() {
            match node.kind() {
                "function_definition" | "class_definition" | "lambda" => {
                    if let Some(name) = node.field(&field::NAME) {
                        bindings.entry(text_of(text, name)).or_default().0 += 2;
                    }
                    continue;
                }
                "assignment" => {
                    if let Some(left) = node.field(&field::LEFT) {
                        if left.kind() == "identifier" {
                            let entry = bindings.entry(text_of(text, left)).or_default();
                            entry.0 += 1;
                            entry.1 = node.field(&field::RIGHT);
                        } else {
                            bind_all(&mut bindings, left);
                        }
                    }
                }
                "augmented_assignment"
                | "for_statement"
                | "as_pattern"
                | "global_statement"
                | "nonlocal_statement"
                | "named_expression"
                | "import_statement"
                | "import_from_statement"
                | "for_in_clause" => {
                    let target = match node.kind() {
                        "augmented_assignment" | "for_statement" | "for_in_clause" => node.field(&field::LEFT),
                        "named_expression" => node.field(&field::NAME),
                        "as_pattern" => node.field(&field::ALIAS),
                        _ => Some(node),
                    };
                    if let Some(target) = target {
                        bind_all(&mut bindings, target);
                    }
                }
                "except_clause" => {
                    let mut cursor = node.walk();
                    for child in node.named_children(&mut cursor).filter(|c| c.kind() == "identifier") {
                        bindings.entry(text_of(text, child)).or_default().0 += 2;
                    }
                }
                _ => {}
            }
            let mut cursor = node.walk();
            stack.extend(node.named_children(&mut cursor));
        }
        bindings
    }

    /// The value of `node` where constants decide it.
    fn evaluate(&self, node: Node<'t>, depth: usize) -> Option<Known> {
        if depth > MAX_RESOLVE_DEPTH {
            return None;
        }
        let mut node = node;
        while node.kind() == "parenthesized_expression" {
            node = node.named_child(0)?;
        }
        if node.kind() == "identifier" {
            let name = text_of(self.text, node);
            if let Some(function) = self.function.get() {
                match self.local_binding(function, name) {
                    Ok(Some(value)) => return self.evaluate(value, depth + 1),
                    Ok(None) => {}
                    Err(()) => return None,
                }
            }
            if let Some(constant) = self.program.modules[self.module].constants.get(name) {
                return Some(Known::Constant(constant.clone()));
            }
            return self.reference(node, depth).map(Known::Reference);
        }
        if let Some(constant) = literal(self.text, node, &HashMap::new()) {
            return Some(Known::Constant(constant));
        }
        self.reference(node, depth).map(Known::Reference)
    }

    /// The qualified reference `node` names: through local single assignments (an instance
    /// made by `Flask(__name__)` refers to `flask.Flask`), imports and module aliases.
    fn reference(&self, node: Node<'t>, depth: usize) -> Option<String> {
        if depth > MAX_RESOLVE_DEPTH {
            return None;
        }
        match node.kind() {
            "identifier" => {
                let name = text_of(self.text, node);
                if let Some(function) = self.function.get() {
                    match self.local_binding(function, name) {
                        Ok(Some(value)) => return self.bound_reference(value, depth + 1),
                        Ok(None) => {}
                        Err(()) => return None,
                    }
                }
                self.program.resolve_name(self.module, name)
            }
            "attribute" => {
                // Down the chain iteratively (it may be thousands deep), the name built once.
                let mut attributes = Vec::new();
                let mut object = node;
                while object.kind() == "attribute" {
                    attributes.push(text_of(self.text, object.field(&field::ATTRIBUTE)?));
                    object = object.field(&field::OBJECT)?;
                }
                let mut reference = self.reference(object, depth)?;
                for attribute in attributes.iter().rev() {
                    reference.push('.');
                    reference.push_str(attribute);
                }
                Some(reference)
            }
            _ => None,
        }
    }

    /// The reference a name assigned `value` has: the value's, or for `Class(...)` the class.
    fn bound_reference(&self, value: Node<'t>, depth: usize) -> Option<String> {
        if value.kind() == "call" {
            let callee = self.reference(value.field(&field::FUNCTION)?, depth)?;
            let last = callee.rsplit('.').next().unwrap_or("");
            return last.starts_with(|c: char| c.is_uppercase()).then_some(callee);
        }
        self.reference(value, depth)
    }

    /// Where the result of `call` goes, when it reaches a place named with one of `words`: the
    /// places from the call to that one.
    fn named_destination(&self, call: Node<'t>, words: &[String]) -> Option<Path<'t>> {
        let mut work: Vec<(Node<'t>, Path<'t>)> = vec![(call, vec![(call, "source", format!("`{}`", short(text_of(self.text, call))))])];
        let mut seen: Vec<usize> = Vec::new();
        while let Some((start, path)) = work.pop() {
            if seen.contains(&start.id()) || path.len() > MAX_HOPS + 1 {
                continue;
            }
            seen.push(start.id());
            let mut node = start;
            // Up through the expressions that carry the value (bounded: a statement is near).
            for _ in 0..256 {
                let Some(parent) = node.parent() else { break };
                let kind = parent.kind();
                let named = |target: Node<'t>, description: String| {
                    let mut path = path.clone();
                    path.push((target, "secret", description));
                    path
                };
                match kind {
                    "assignment" | "augmented_assignment" if parent.field(&field::RIGHT).map(|r| r.id()) == Some(node.id()) => {
                        let Some(left) = parent.field(&field::LEFT) else { break };
                        for target in targets(left) {
                            if let Some(name) = target_name(self.text, target) {
                                if name_matches(&name, words) {
                                    return Some(named(target, format!("assigned to `{}`", short(text_of(self.text, target)))));
                                }
                                if target.kind() == "identifier" {
                                    let mut next = path.clone();
                                    next.push((target, "assignment", format!("assigned to `{name}`")));
                                    for read in self.reads_after(target, &name) {
                                        work.push((read, next.clone()));
                                    }
                                }
                            }
                        }
                        break;
                    }
                    "keyword_argument" if parent.field(&field::VALUE).map(|v| v.id()) == Some(node.id()) => {
                        let name = parent.field(&field::NAME).map(|n| text_of(self.text, n)).unwrap_or("");
                        if name_matches(name, words) {
                            return Some(named(parent, format!("passed as `{name}`")));
                        }
                        break;
                    }
                    "pair" if parent.field(&field::VALUE).map(|v| v.id()) == Some(node.id()) => {
                        let key = parent.field(&field::KEY).and_then(|k| literal(self.text, k, &HashMap::new()));
                        if let Some(Constant::Str(key)) = key {
                            if name_matches(&key, words) {
                                return Some(named(parent, format!("stored under `{key}`")));
                            }
                        }
                        break;
                    }
                    "return_statement" => {
                        let function = self.function.get();
                        let name = function.and_then(|f| f.field(&field::NAME)).map(|n| text_of(self.text, n)).unwrap_or("");
                        if name_matches(name, words) {
                            return Some(named(parent, format!("returned by `{name}`")));
                        }
                        break;
                    }
                    // The value goes on inside these.
                    "binary_operator"
                    | "parenthesized_expression"
                    | "interpolation"
                    | "string"
                    | "concatenated_string"
                    | "generator_expression"
                    | "list_comprehension"
                    | "set_comprehension"
                    | "dictionary_comprehension"
                    | "list"
                    | "tuple"
                    | "set"
                    | "conditional_expression"
                    | "argument_list"
                    | "call"
                    | "attribute"
                    | "subscript"
                    | "for_in_clause"
                    | "expression_list"
                    | "format_expression"
                    | "await" => node = parent,
                    _ => break,
                }
            }
        }
        None
    }

    /// Reads of local `name` after its assignment `target`, in the same scope.
    fn reads_after(&self, target: Node<'t>, name: &str) -> Vec<Node<'t>> {
        let scope = self
            .function
            .get()
            .and_then(|f| f.field(&field::BODY))
            .unwrap_or_else(|| self.program.files[self.file].document.tree().root_node());
        let mut reads = Vec::new();
        let mut stack = vec![scope];
        while let Some(node) = stack.pop() {
            if matches!(node.kind(), "function_definition" | "class_definition" | "lambda") {
                continue;
            }
            if node.kind() == "identifier" && node.start_byte() > target.end_byte() && text_of(self.text, node) == name {
                let is_target = node.parent().is_some_and(|p| {
                    matches!(p.kind(), "assignment" | "augmented_assignment") && p.field(&field::LEFT).map(|l| l.id()) == Some(node.id())
                });
                let is_keyword = node.parent().is_some_and(|p| p.kind() == "keyword_argument");
                if !is_target && !is_keyword {
                    reads.push(node);
                }
                continue;
            }
            let mut cursor = node.walk();
            stack.extend(node.named_children(&mut cursor));
        }
        reads
    }
}

/// The identifiers in `node` (itself included).
fn identifiers(node: Node<'_>) -> Vec<Node<'_>> {
    let mut found = Vec::new();
    let mut stack = vec![node];
    while let Some(node) = stack.pop() {
        if node.kind() == "identifier" {
            found.push(node);
            continue;
        }
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
    }
    found
}

/// The argument a condition names: by keyword, else by position (positions count only
/// positional arguments).
fn find_argument<'t>(text: &str, arguments: Node<'t>, position: Option<usize>, keyword: Option<&str>) -> Argument<'t> {
    let mut positional = Vec::new();
    let mut splat = false;
    let mut cursor = arguments.walk();
    for argument in arguments.named_children(&mut cursor) {
        match argument.kind() {
            "keyword_argument" => {
                let name = argument.field(&field::NAME).map(|n| text_of(text, n));
                if keyword.is_some() && name == keyword {
                    if let Some(value) = argument.field(&field::VALUE) {
                        return Argument::Given(value);
                    }
                }
            }
            "list_splat" | "dictionary_splat" => splat = true,
            "comment" => {}
            _ => positional.push(argument),
        }
    }
    if let Some(found) = position.and_then(|p| positional.get(p)) {
        return Argument::Given(*found);
    }
    if splat {
        Argument::Unknown
    } else {
        Argument::Absent
    }
}

/// The assignment targets in a left-hand side (tuples and lists unpacked).
fn targets(left: Node<'_>) -> Vec<Node<'_>> {
    match left.kind() {
        "pattern_list" | "tuple_pattern" | "list_pattern" | "expression_list" | "tuple" | "list" => {
            let mut cursor = left.walk();
            left.named_children(&mut cursor).collect()
        }
        _ => vec![left],
    }
}

/// The name an assignment target gives a value: a variable, an attribute, a constant key.
fn target_name(text: &str, target: Node<'_>) -> Option<String> {
    match target.kind() {
        "identifier" => Some(text_of(text, target).to_string()),
        "attribute" => target.field(&field::ATTRIBUTE).map(|a| text_of(text, a).to_string()),
        "subscript" => match literal(text, target.field(&field::SUBSCRIPT)?, &HashMap::new())? {
            Constant::Str(key) => Some(key),
            _ => None,
        },
        _ => None,
    }
}

/// The words of an identifier, lower-case: `resetToken`, `RESET_TOKEN`, `reset-token` → reset, token.
fn words_of(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut previous_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            previous_lower = false;
            continue;
        }
        if c.is_uppercase() && previous_lower && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        previous_lower = c.is_lowercase() || c.is_ascii_digit();
        current.extend(c.to_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// Whether `name` contains one of `patterns` as consecutive words (the last one may be plural).
fn name_matches(name: &str, patterns: &[String]) -> bool {
    let words = words_of(name);
    patterns.iter().any(|pattern| {
        let wanted = words_of(pattern);
        !wanted.is_empty()
            && words.windows(wanted.len()).any(|window| {
                window.iter().zip(&wanted).enumerate().all(|(i, (have, want))| {
                    have == want || (i + 1 == wanted.len() && have.strip_suffix('s').is_some_and(|stem| stem == want))
                })
            })
    })
}

fn render(program: &Program<'_>, rules: &RuleSet, file: usize, hits: Vec<Hit<'_>>) -> Vec<Finding> {
    let text = program.text(file);
    let mut findings = Vec::new();
    let mut occurrences: FxHashMap<String, usize> = FxHashMap::default();
    for hit in hits {
        let Some(check) = rules.check(&hit.check) else { continue };
        let place = |node: Node<'_>| (file, node.start_byte(), node.end_byte());
        // The diagnostic sits on the call: that is what to change.
        let sink_node = hit.call;
        if suppressed(program, place(sink_node), &check.id, check.cwe) {
            continue;
        }
        let steps: Vec<FindingStep> = hit
            .path
            .iter()
            .map(|(node, kind, description)| FindingStep {
                location: location(program, place(*node)),
                kind: kind.to_string(),
                description: description.clone(),
            })
            .collect();
        let reaches = hit.reaches.as_ref().map(|description| format!(", {description},")).unwrap_or_default();
        let message = format!("`{}`{reaches}: {} ({}, CWE-{})", hit.callee, check.message, check.name, check.cwe);
        let identity = format!(
            "{}\0{}\0{}\0{}",
            check.id,
            program.files[file].path,
            enclosing_scope_name(program, place(hit.call)),
            short(text_of(text, hit.call))
        );
        let occurrence = occurrences.entry(identity.clone()).or_insert(0);
        let id = {
            use sha2::{Digest, Sha256};
            let digest = Sha256::digest(format!("{identity}\0{occurrence}").as_bytes());
            digest.iter().take(8).map(|b| format!("{b:02x}")).collect::<String>()
        };
        *occurrence += 1;
        findings.push(Finding {
            id,
            rule_id: check.id.clone(),
            rule_name: check.name.clone(),
            cwe: check.cwe,
            severity: check.severity.clone(),
            message,
            source: location(program, place(hit.path[0].0)),
            sink: location(program, place(sink_node)),
            steps,
            threat_model: None,
        });
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_by_words() {
        let patterns: Vec<String> = ["token", "api_key", "password"].iter().map(|s| s.to_string()).collect();
        for name in ["reset_token", "resetToken", "TOKENS", "user_api_key", "apiKey", "password"] {
            assert!(name_matches(name, &patterns), "{name}");
        }
        for name in ["tokenizer", "key", "api", "password_hint_x"] {
            assert_eq!(name_matches(name, &patterns), name == "password_hint_x", "{name}");
        }
        assert_eq!(words_of("HTTPSToken2fa"), vec!["httpstoken2fa"]);
        assert_eq!(words_of("resetToken"), vec!["reset", "token"]);
    }
}
