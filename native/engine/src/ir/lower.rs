//! Lowering: the syntax of each CFG step of a scope (a *site*) lowered once into the places
//! it defines (strongly or weakly) and uses and the calls it makes, over the scope's interned
//! places; cached by the scope's text (`IrCache`), so after an edit only the scopes whose text
//! changed are lowered again.
//!
//! Invariants:
//! - A lowered site depends only on its scope's text: places are `ir::place` keys, calls are
//!   byte ranges relative to the scope's body. Equal text, equal IR (a moved function reuses
//!   its IR); a file with syntax errors is never cached (its parse can change with no change
//!   of text).
//! - Expression walks use explicit stacks (no recursion on user-controlled depth).
//! - Comprehensions and lambdas are nested scopes (`cfg::build_scope_cfg` gives them regions):
//!   a site reads their result `$N` and does not look inside; their own names are `x@N`
//!   (`Naming`), N the nested scope's offset in the body; an `Element` step defines `$N`.
//! - A class body's steps (the CFG inlines them: `cfg::build_scope_cfg`) are lowered
//!   with their class's names (`ClassNames`): a name the body binds is the class attribute
//!   `C.name` where it is defined, and both `C.name` and the name around the class where it is
//!   read (before the body binds it, Python reads the global).

use std::sync::Arc;

use crate::syntax::tree::Node;
use rustc_hash::{FxHashMap, FxHashSet};

use crate::ir::place::{literal_key, place_of, projected, Cut, Place};
use crate::program::text_of;
use crate::syntax::{field, FieldChild};

/// A place interned in its scope's IR.
pub type PlaceId = u32;

/// What a step of a scope's CFG is: the one step kind, shared by lowering (which lowers each
/// step's syntax, a *site*) and the CFG (`cfg.rs`, built above this layer). `Entry` and `Exit`
/// are the CFG's boundaries: they have no syntax and nothing is lowered for them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StepKind {
    Entry,
    Exit,
    /// A simple statement: expression, assignment, return, raise, assert, import, del, …
    Statement,
    /// The condition of an `if`, `elif` or `while`.
    Condition,
    /// `for target in iter`: binds the target from the iterable each iteration.
    ForTarget,
    /// One `with` item (`expr as target`).
    WithItem,
    /// An `except` clause header (binds its `as` name).
    ExceptHandler,
    /// A `match` subject.
    MatchSubject,
    /// A `case` pattern (binds capture names).
    CasePattern,
    /// A nested `def` or `class`: binds the name.
    Definition,
    /// The value of a nested scope's region (`cfg::build_scope_cfg`): a comprehension's
    /// element (a dict comprehension's `key: value`) or a lambda's body (what it returns).
    /// Defines the nested scope's result place (`nested_result`), weakly: one per iteration.
    Element,
    /// A comprehension or lambda nested too deep for a region (`cfg::MAX_NESTED_SCOPES`):
    /// the whole nested scope evaluated as one step, every name inside it read; defines its
    /// result place.
    WholeNestedScope,
}

impl StepKind {
    /// Whether steps of this kind have syntax to lower (all but the boundaries).
    pub fn has_syntax(self) -> bool {
        !matches!(self, StepKind::Entry | StepKind::Exit)
    }
}

/// Whether `node` contains a `yield` of its own scope.
pub fn contains_yield(node: Node<'_>) -> bool {
    any_in_own_scope(node, |kind| kind == "yield")
}

/// Whether `node` or a node below it, outside nested scopes, strings and comments, has a
/// kind `hit` accepts (iteratively).
pub fn any_in_own_scope(node: Node<'_>, hit: impl Fn(&str) -> bool) -> bool {
    let mut stack = vec![node];
    while let Some(current) = stack.pop() {
        let kind = current.kind();
        if hit(kind) {
            return true;
        }
        if !matches!(
            kind,
            "lambda"
                | "function_definition"
                | "class_definition"
                | "list_comprehension"
                | "set_comprehension"
                | "dictionary_comprehension"
                | "generator_expression"
                | "string"
                | "comment"
        ) {
            let mut cursor = current.walk();
            stack.extend(current.named_children(&mut cursor));
        }
    }
    false
}

/// The parts of a step's syntax that it evaluates (a `for` step evaluates its iterable, not
/// its body).
pub fn evaluated_parts<'t>(kind: StepKind, node: Node<'t>) -> Vec<Node<'t>> {
    match kind {
        StepKind::ForTarget => node.field(&field::RIGHT).into_iter().collect(),
        StepKind::MatchSubject => {
            let mut cursor = node.walk();
            node.children_by_field_name("subject", &mut cursor).collect()
        }
        StepKind::ExceptHandler | StepKind::CasePattern | StepKind::Entry | StepKind::Exit => Vec::new(),
        StepKind::Definition => {
            let definition = if node.kind() == "decorated_definition" { node.field(&field::DEFINITION).unwrap_or(node) } else { node };
            let mut parts = Vec::new();
            let mut cursor = node.walk();
            parts.extend(node.named_children(&mut cursor).filter(|c| c.kind() == "decorator"));
            if let Some(parameters) = definition.field(&field::PARAMETERS) {
                let mut cursor = parameters.walk();
                parts.extend(parameters.named_children(&mut cursor).filter_map(|p| p.field(&field::VALUE)));
            }
            parts.extend(definition.field(&field::SUPERCLASSES));
            parts
        }
        StepKind::Statement | StepKind::Condition | StepKind::WithItem | StepKind::Element | StepKind::WholeNestedScope => {
            vec![node]
        }
    }
}

/// What a call passes: the argument's place, if it is one, and every place it reads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Argument {
    pub place: Option<PlaceId>,
    pub reads: Vec<PlaceId>,
}

/// One call: its byte range (relative to the scope's body start), the receiver of a method
/// call (`obj` in `obj.m(…)`), its positional arguments in order (`*xs` spreads among them,
/// marked `true`), its keyword arguments and `**d` spreads, and whether spreads (or a call
/// without an argument list) leave the mapping to parameters unknown. `ir::binding` binds
/// them to a callee's parameters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallSite {
    pub range: (usize, usize),
    pub receiver: Option<Argument>,
    pub positional: Vec<(bool, Argument)>,
    pub keywords: Vec<(Box<str>, Argument)>,
    pub keyword_spreads: Vec<Argument>,
    pub splat: bool,
}

/// One lowered site.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lowered {
    /// Places defined, and whether each definition replaces the old value (strong).
    pub definitions: Vec<(PlaceId, bool)>,
    /// Places read, sorted by key, distinct.
    pub uses: Vec<PlaceId>,
    /// Calls made, in the order found.
    pub calls: Vec<CallSite>,
    /// Places cut by the depth bound (`Cut::TooDeep`).
    pub cut: usize,
    /// A `return` statement: hands a value to the caller.
    pub returns: bool,
    /// A `raise` statement.
    pub raises: bool,
    /// The site's evaluated parts hold a `yield` of the scope (not of a nested one): it hands
    /// a value to the caller, and may not resume.
    pub yields: bool,
    /// Names declared `global` (or `nonlocal`) here.
    pub globals: Vec<Box<str>>,
    pub nonlocals: Vec<Box<str>>,
}

/// One scope lowered: its places and its sites.
#[derive(Clone, Debug, Default)]
pub struct ScopeIr {
    keys: Vec<Box<str>>,
    index: FxHashMap<Box<str>, PlaceId>,
    /// (step kind, start, end relative to the body start) → what the site does.
    sites: FxHashMap<(StepKind, usize, usize), Lowered>,
}

impl ScopeIr {
    /// The same places without the lowered sites (for holders that only read keys).
    pub fn places_only(&self) -> ScopeIr {
        ScopeIr { keys: self.keys.clone(), index: FxHashMap::default(), sites: FxHashMap::default() }
    }

    /// The key of an interned place (`self.items["k"]`).
    pub fn key(&self, place: PlaceId) -> &str {
        &self.keys[place as usize]
    }

    /// The lowered site of `node` (of kind `site`) in the scope whose body starts at `base`.
    pub fn site(&self, site: StepKind, node: Node<'_>, base: usize) -> Option<&Lowered> {
        self.sites.get(&(site, node.start_byte() - base, node.end_byte() - base))
    }

    fn argument<'t>(&mut self, naming: &Naming<'_, 't>, class: Option<&ClassNames>, node: Node<'t>) -> Argument {
        let place = naming.place(node).map(|(key, _)| self.intern(ClassNames::defined(class, key)));
        let mut extractor = Extractor::new(naming.clone());
        extractor.read(node);
        let mut keys = ClassNames::read(class, extractor.uses);
        keys.sort();
        keys.dedup();
        let reads = keys.into_iter().map(|key| self.intern(key)).collect();
        Argument { place, reads }
    }

    fn call_site<'t>(&mut self, naming: &Naming<'_, 't>, class: Option<&ClassNames>, call: Node<'t>) -> CallSite {
        let (text, base) = (naming.text, naming.base);
        let mut site = CallSite { range: (call.start_byte() - base, call.end_byte() - base), ..CallSite::default() };
        if let Some(object) = call.field(&field::FUNCTION).filter(|f| f.kind() == "attribute").and_then(|f| f.field(&field::OBJECT)) {
            site.receiver = Some(self.argument(naming, class, object));
        }
        let Some(arguments) = call.field(&field::ARGUMENTS) else {
            site.splat = true;
            return site;
        };
        let mut cursor = arguments.walk();
        for argument in arguments.named_children(&mut cursor) {
            match argument.kind() {
                "keyword_argument" => {
                    let name = argument.field(&field::NAME).map(|n| text_of(text, n));
                    if let (Some(name), Some(value)) = (name, argument.field(&field::VALUE)) {
                        let value = self.argument(naming, class, value);
                        site.keywords.push((name.into(), value));
                    }
                }
                "list_splat" => {
                    site.splat = true;
                    let value = self.argument(naming, class, argument);
                    site.positional.push((true, value));
                }
                "dictionary_splat" => {
                    site.splat = true;
                    let value = self.argument(naming, class, argument);
                    site.keyword_spreads.push(value);
                }
                "comment" => {}
                _ => {
                    let value = self.argument(naming, class, argument);
                    site.positional.push((false, value));
                }
            }
        }
        site
    }

    fn intern(&mut self, key: String) -> PlaceId {
        if let Some(&id) = self.index.get(key.as_str()) {
            return id;
        }
        let id = self.keys.len() as PlaceId;
        let key: Box<str> = key.into();
        self.keys.push(key.clone());
        self.index.insert(key, id);
        id
    }

    /// Lowers one site (once: a site already lowered is kept), in the body of `class` if any.
    pub fn lower_site<'t>(&mut self, text: &str, base: usize, site: StepKind, node: Node<'t>, class: Option<&ClassNames>) {
        let at = (site, node.start_byte() - base, node.end_byte() - base);
        if self.sites.contains_key(&at) {
            return;
        }
        let naming = Naming { text, base, nested: true, scopes: enclosing_scopes(site, node, base) };
        let mut extractor = Extractor::new(naming.clone());
        match site {
            StepKind::Entry | StepKind::Exit => {}
            StepKind::WholeNestedScope => {
                // A nested scope too deep for a region (`cfg::MAX_NESTED_SCOPES`): read whole.
                extractor.naming.nested = false;
                extractor.read(node);
                extractor.defs.push((nested_result(node.start_byte() - base), false));
            }
            StepKind::Element => {
                extractor.read(node);
                // The innermost nested scope the element lies in is the one it is the value of.
                if let Some(&(owner, _)) = naming.scopes.first() {
                    extractor.defs.push((nested_result(owner.start_byte() - base), false));
                }
            }
            StepKind::Statement => extractor.statement(node),
            StepKind::Condition => extractor.read(node),
            StepKind::ForTarget => {
                if let Some(right) = node.field(&field::RIGHT) {
                    extractor.read(right);
                }
                if let Some(left) = node.field(&field::LEFT) {
                    extractor.write(left, true);
                }
            }
            StepKind::WithItem => {
                if let Some(value) = node.field(&field::VALUE) {
                    if value.kind() == "as_pattern" {
                        if let Some(expression) = value.named_child(0) {
                            extractor.read(expression);
                        }
                        if let Some(alias) = value.field(&field::ALIAS) {
                            extractor.write(alias.named_child(0).unwrap_or(alias), true);
                        }
                    } else {
                        extractor.read(value);
                    }
                }
            }
            StepKind::ExceptHandler => {
                let mut cursor = node.walk();
                let children: Vec<Node<'t>> = node.named_children(&mut cursor).filter(|c| c.kind() != "block").collect();
                for child in children {
                    if child.kind() == "as_pattern" {
                        if let Some(expression) = child.named_child(0) {
                            extractor.read(expression);
                        }
                        if let Some(alias) = child.field(&field::ALIAS) {
                            extractor.write(alias.named_child(0).unwrap_or(alias), true);
                        }
                    } else {
                        extractor.read(child);
                    }
                }
            }
            StepKind::MatchSubject => {
                let mut cursor = node.walk();
                let subjects: Vec<Node<'t>> = node.children_by_field_name("subject", &mut cursor).collect();
                for subject in subjects {
                    extractor.read(subject);
                }
                extractor.defs.push(("$match".to_string(), true));
            }
            StepKind::CasePattern => {
                extractor.uses.push("$match".to_string());
                for capture in crate::ir::bindings::case_captures(node) {
                    extractor.defs.push((text_of(text, capture).to_string(), true));
                }
                // The guard, and the values a pattern compares with (`Color.RED`, a class).
                let mut stack = vec![node];
                while let Some(current) = stack.pop() {
                    let class_pattern = current.kind() == "class_pattern";
                    let mut cursor = current.walk();
                    for (index, child) in current.named_children(&mut cursor).enumerate() {
                        match child.kind() {
                            "block" => {}
                            "if_clause" => extractor.read(child),
                            "dotted_name" if class_pattern && index == 0 => extractor.uses.push(text_of(text, child).to_string()),
                            "dotted_name" if child.named_child_count() > 1 => extractor.uses.push(text_of(text, child).to_string()),
                            "dotted_name" | "identifier" => {}
                            _ => stack.push(child),
                        }
                    }
                }
            }
            StepKind::Definition => {
                let definition = if node.kind() == "decorated_definition" { node.field(&field::DEFINITION).unwrap_or(node) } else { node };
                if let Some(name) = definition.field(&field::NAME) {
                    extractor.defs.push((text_of(text, name).to_string(), true));
                }
                let mut cursor = node.walk();
                let decorators: Vec<Node<'t>> = node.named_children(&mut cursor).filter(|c| c.kind() == "decorator").collect();
                for decorator in decorators {
                    extractor.read(decorator);
                }
                if let Some(parameters) = definition.field(&field::PARAMETERS) {
                    let mut cursor = parameters.walk();
                    let defaults: Vec<Node<'t>> = parameters.named_children(&mut cursor).filter_map(|p| p.field(&field::VALUE)).collect();
                    for default in defaults {
                        extractor.read(default);
                    }
                }
                if let Some(superclasses) = definition.field(&field::SUPERCLASSES) {
                    extractor.read(superclasses);
                }
            }
        }
        let mut uses = ClassNames::read(class, extractor.uses);
        uses.sort();
        uses.dedup();
        let statement = if site == StepKind::Statement { node.kind() } else { "" };
        let declared = |kind: &str| -> Vec<Box<str>> {
            if statement != kind {
                return Vec::new();
            }
            declared_names(text, node).map(Into::into).collect()
        };
        let yields = memchr::memmem::find(&text.as_bytes()[node.byte_range()], b"yield").is_some()
            && evaluated_parts(site, node).into_iter().any(contains_yield);
        let lowered = Lowered {
            yields,
            returns: statement == "return_statement",
            raises: statement == "raise_statement",
            globals: declared("global_statement"),
            nonlocals: declared("nonlocal_statement"),
            definitions: extractor.defs.into_iter().map(|(key, strong)| (self.intern(ClassNames::defined(class, key)), strong)).collect(),
            uses: uses.into_iter().map(|key| self.intern(key)).collect(),
            calls: extractor.calls.iter().map(|&call| self.call_site(&naming, class, call)).collect(),
            cut: extractor.cut,
        };
        self.sites.insert(at, lowered);
    }
}

/// How a class body's steps name the class's attributes (`cfg::build_scope_cfg` inlines class
/// bodies in the scope around them): a name the body binds (`ir::bindings`) is the attribute
/// `prefix.name` of the class object (`prefix` its access path in that scope: `C`, or
/// `Outer.Inner`).
#[derive(Clone, Debug)]
pub struct ClassNames {
    pub prefix: String,
    pub binds: FxHashSet<String>,
}

impl ClassNames {
    /// The names of the class body of `definition` (a `class_definition`), whose access path
    /// in the scope around it is `prefix`.
    pub fn of_class(text: &str, definition: Node<'_>, prefix: String) -> ClassNames {
        let binds = match definition.field(&field::BODY) {
            Some(body) => crate::ir::bindings::Bindings::of_scope(text, body).locals().map(str::to_string).collect(),
            None => Default::default(),
        };
        ClassNames { prefix, binds }
    }

    /// Whether the variable of the place key `key` is one the class body binds (a class
    /// attribute there).
    pub fn owns(&self, key: &str) -> bool {
        let variable = key.split(['.', '[']).next().unwrap_or(key);
        self.binds.contains(variable)
    }

    /// The key a definition of `key` in the body defines: the class attribute when the class
    /// binds its variable.
    fn defined(class: Option<&ClassNames>, key: String) -> String {
        match class {
            Some(class) if class.owns(&key) => format!("{}.{key}", class.prefix),
            _ => key,
        }
    }

    /// The keys reads of `keys` in the body read: for a variable the class binds, both the
    /// class attribute and the variable around the class (read before the body binds it).
    fn read(class: Option<&ClassNames>, keys: Vec<String>) -> Vec<String> {
        let Some(class) = class else { return keys };
        let mut read = Vec::with_capacity(keys.len());
        for key in keys {
            if class.owns(&key) {
                read.push(format!("{}.{key}", class.prefix));
            }
            read.push(key);
        }
        read
    }
}

/// The names a `global` or `nonlocal` statement declares (its identifiers; a comment inside
/// the statement is none). Taint's transfer and the lowering both read declarations here.
pub fn declared_names<'t>(text: &'t str, statement: Node<'t>) -> impl Iterator<Item = &'t str> + 't {
    let mut cursor = statement.walk();
    let names: Vec<Node<'t>> = statement.named_children(&mut cursor).filter(|name| name.kind() == "identifier").collect();
    names.into_iter().map(move |name| text_of(text, name))
}

/// Lowered scopes by their text's hash (`scope_key`), kept across edits by whoever holds it.
#[derive(Default)]
pub struct IrCache {
    scopes: FxHashMap<[u8; 32], Arc<ScopeIr>>,
    /// Keys asked for since the last `sweep`.
    used: FxHashSet<[u8; 32]>,
    /// Scopes lowered (not found in the cache) since the cache was made.
    pub lowered: usize,
}

/// Scopes a cache keeps at most; past it, it starts over.
const MAX_CACHED_SCOPES: usize = 50_000;

/// The cache key of a scope body: the hash of its text, or `None` when the file has syntax
/// errors (not cached).
pub fn scope_key(text: &str, body: Node<'_>) -> Option<[u8; 32]> {
    use sha2::{Digest, Sha256};
    let mut root = body;
    while let Some(parent) = root.parent() {
        root = parent;
    }
    if root.has_error() {
        return None;
    }
    let mut hasher = Sha256::new();
    hasher.update(text.as_bytes().get(body.byte_range()).unwrap_or_default());
    Some(hasher.finalize().into())
}

impl IrCache {
    /// The IR of the scope whose body is `body`, with every one of `sites` lowered: from the
    /// cache when its text was lowered before, else lowered now.
    pub fn scope(&mut self, text: &str, body: Node<'_>, sites: &[(StepKind, Node<'_>)]) -> Arc<ScopeIr> {
        let sites: Vec<(StepKind, Node<'_>, Option<&ClassNames>)> = sites.iter().map(|&(kind, node)| (kind, node, None)).collect();
        self.scope_in_classes(text, body, &sites)
    }

    /// `scope`, with each site's class body (`ClassNames`) if it lies in one.
    pub fn scope_in_classes(&mut self, text: &str, body: Node<'_>, sites: &[(StepKind, Node<'_>, Option<&ClassNames>)]) -> Arc<ScopeIr> {
        let base = body.start_byte();
        let key = scope_key(text, body);
        let mut ir = match key.and_then(|key| self.scopes.get(&key)) {
            Some(known) => known.clone(),
            None => {
                self.lowered += 1;
                Arc::new(ScopeIr::default())
            }
        };
        if sites.iter().any(|&(site, node, _)| ir.site(site, node, base).is_none()) {
            let lowering = Arc::make_mut(&mut ir);
            for &(site, node, class) in sites {
                lowering.lower_site(text, base, site, node, class);
            }
        }
        if let Some(key) = key {
            if self.scopes.len() >= MAX_CACHED_SCOPES {
                self.scopes.clear();
            }
            self.scopes.insert(key, ir.clone());
            self.used.insert(key);
        }
        ir
    }

    /// Drops every scope not asked for since the last sweep: called once a pass over a whole
    /// program is done, it keeps the IR of texts that still exist and forgets the versions an
    /// edit left behind (one per keystroke in the scopes being typed into).
    pub fn sweep(&mut self) {
        let used = std::mem::take(&mut self.used);
        self.scopes.retain(|key, _| used.contains(key));
    }

    /// How many scopes the cache holds.
    pub fn len(&self) -> usize {
        self.scopes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.scopes.is_empty()
    }
}

/// The access paths an expression reads (sorted, distinct).
pub fn reads(text: &str, node: Node<'_>) -> Vec<String> {
    let mut extractor = Extractor::new(Naming { text, base: 0, nested: false, scopes: Vec::new() });
    extractor.read(node);
    let mut uses = extractor.uses;
    uses.sort();
    uses.dedup();
    uses
}

/// The key of the result of the comprehension or lambda starting `offset` bytes into its
/// scope's body: defined by its `Element` step, read by the step evaluating it.
pub fn nested_result(offset: usize) -> String {
    format!("${offset}")
}

/// Whether a place key's variable belongs to a nested scope (a comprehension's or lambda's
/// name, `x@12`, or a nested scope's result, `$12`): never a global or a free variable.
pub fn is_nested_name(name: &str) -> bool {
    name.starts_with('$') || name.contains('@')
}

const NESTED_SCOPES: &[&str] = &["list_comprehension", "set_comprehension", "dictionary_comprehension", "generator_expression", "lambda"];

/// The comprehensions and lambdas a step of a nested scope's region lies in, innermost
/// first, each with its first iterable's byte range (evaluated in the scope around it). Only
/// region steps (`cfg::build_scope_cfg`: an element, a `for` or `if` clause) lie in one: other
/// steps need no walk up the tree (tree-sitter finds a parent from the root down).
fn enclosing_scopes<'t>(kind: StepKind, node: Node<'t>, base: usize) -> Vec<(Node<'t>, Option<(usize, usize)>)> {
    let in_region = match kind {
        StepKind::Element | StepKind::WholeNestedScope => true,
        StepKind::ForTarget => node.kind() == "for_in_clause",
        StepKind::Condition => node.kind() == "if_clause",
        _ => false,
    };
    let mut scopes = Vec::new();
    if !in_region {
        return scopes;
    }
    let mut current = node;
    // Nodes starting before the scope's body are outside it (a lambda's scope: the lambda).
    while let Some(parent) = current.parent().filter(|parent| parent.start_byte() >= base) {
        match parent.kind() {
            "function_definition" | "class_definition" | "module" => break,
            "lambda" => scopes.push((parent, None)),
            kind if NESTED_SCOPES.contains(&kind) => {
                let mut cursor = parent.walk();
                let first = parent.named_children(&mut cursor).find(|c| c.kind() == "for_in_clause");
                scopes.push((
                    parent,
                    first.and_then(|clause| clause.field(&field::RIGHT)).map(|right| (right.start_byte(), right.end_byte())),
                ));
            }
            _ => {}
        }
        current = parent;
    }
    scopes
}

/// The names a comprehension's `for` clauses bind.
fn comprehension_binds(text: &str, comprehension: Node<'_>, name: &str) -> bool {
    let mut cursor = comprehension.walk();
    let clauses: Vec<Node<'_>> = comprehension.named_children(&mut cursor).filter(|c| c.kind() == "for_in_clause").collect();
    clauses.into_iter().filter_map(|clause| clause.field(&field::LEFT)).any(|left| {
        let mut stack = vec![left];
        while let Some(target) = stack.pop() {
            match target.kind() {
                "identifier" if text_of(text, target) == name => return true,
                "attribute" | "subscript" | "identifier" => {}
                _ => {
                    let mut cursor = target.walk();
                    stack.extend(target.named_children(&mut cursor));
                }
            }
        }
        false
    })
}

/// The parameter names of a lambda.
fn lambda_binds(text: &str, lambda: Node<'_>, name: &str) -> bool {
    let Some(parameters) = lambda.field(&field::PARAMETERS) else { return false };
    let mut cursor = parameters.walk();
    let found = parameters.named_children(&mut cursor).any(|parameter| {
        let named =
            if parameter.kind() == "identifier" { Some(parameter) } else { parameter.field(&field::NAME).or(parameter.named_child(0)) };
        named.is_some_and(|n| n.kind() == "identifier" && text_of(text, n) == name)
    });
    found
}

/// How a site's names become place keys: a name a comprehension or lambda binds is renamed
/// `name@offset` (the nested scope's start, relative to the scope body: equal text, equal
/// keys), so it is apart from the enclosing scope's variable of that name; free names and
/// `:=` targets stay the enclosing scope's.
#[derive(Clone)]
pub(crate) struct Naming<'a, 't> {
    text: &'a str,
    /// The scope body's start.
    base: usize,
    /// Comprehensions and lambdas have regions of their own (`cfg::build_scope_cfg`): reads
    /// stop at them and read their result (`nested_result`).
    nested: bool,
    /// The nested scopes the site lies in (`enclosing_scopes`): its names may be theirs.
    scopes: Vec<(Node<'t>, Option<(usize, usize)>)>,
}

impl<'a, 't> Naming<'a, 't> {
    /// How the syntax of a step of kind `kind` at `node` names its variables, in the scope
    /// whose body starts at `base`: `None` for a step that lies in no nested scope's region
    /// (every name is the scope's own). Taint reads its region steps through this, so both
    /// analyses key a comprehension's variables alike.
    pub(crate) fn of_region_step(text: &'a str, base: usize, kind: StepKind, node: Node<'t>) -> Option<Naming<'a, 't>> {
        let scopes = enclosing_scopes(kind, node, base);
        (!scopes.is_empty()).then_some(Naming { text, base, nested: true, scopes })
    }

    /// The nested scopes the step lies in, innermost first.
    pub(crate) fn scopes(&self) -> impl Iterator<Item = Node<'t>> + '_ {
        self.scopes.iter().map(|&(scope, _)| scope)
    }
}

impl Naming<'_, '_> {
    /// The key of the variable `identifier` names.
    pub(crate) fn name(&self, identifier: Node<'_>) -> String {
        let name = text_of(self.text, identifier);
        for &(scope, first_iterable) in &self.scopes {
            // The first iterable is evaluated in the enclosing scope.
            if first_iterable.is_some_and(|(start, end)| start <= identifier.start_byte() && identifier.end_byte() <= end) {
                continue;
            }
            let binds =
                if scope.kind() == "lambda" { lambda_binds(self.text, scope, name) } else { comprehension_binds(self.text, scope, name) };
            if binds {
                return format!("{name}@{}", scope.start_byte() - self.base);
            }
        }
        name.to_string()
    }

    /// `key`, the key of the place `node` denotes, with its variable renamed (`name`).
    pub(crate) fn renamed(&self, key: String, node: Node<'_>) -> String {
        if self.scopes.is_empty() {
            return key;
        }
        let mut base = node;
        loop {
            match base.kind() {
                "attribute" | "subscript" => match projected(base) {
                    Some(object) => base = object,
                    None => return key,
                },
                "parenthesized_expression" => match base.named_child(0) {
                    Some(inner) => base = inner,
                    None => return key,
                },
                _ => break,
            }
        }
        if base.kind() != "identifier" {
            return key;
        }
        let original = text_of(self.text, base);
        let name = self.name(base);
        if name == original || !key.starts_with(original) {
            key
        } else {
            format!("{name}{}", &key[original.len()..])
        }
    }

    /// The place `node` denotes, keyed with its variable renamed.
    fn place(&self, node: Node<'_>) -> Option<(String, Place)> {
        let place = place_of(self.text, node, &mut literal_key(self.text))?;
        Some((self.renamed(place.key(), node), place))
    }
}

pub(crate) struct Extractor<'a, 't> {
    naming: Naming<'a, 't>,
    text: &'a str,
    defs: Vec<(String, bool)>,
    uses: Vec<String>,
    calls: Vec<Node<'t>>,
    /// Places cut for depth (`Cut::TooDeep`): read or written as their prefix.
    cut: usize,
}

const MUTATORS: &[&str] =
    &["append", "extend", "insert", "add", "update", "setdefault", "pop", "remove", "clear", "discard", "sort", "reverse"];

impl<'a, 't> Extractor<'a, 't> {
    fn new(naming: Naming<'a, 't>) -> Extractor<'a, 't> {
        Extractor { text: naming.text, naming, defs: Vec::new(), uses: Vec::new(), calls: Vec::new(), cut: 0 }
    }

    /// The place an expression denotes (its key renamed, `Naming`), its cut for depth counted.
    fn place(&mut self, node: Node<'_>) -> Option<(String, Place)> {
        let (key, place) = self.naming.place(node)?;
        self.cut += usize::from(place.cut == Some(Cut::TooDeep));
        Some((key, place))
    }

    /// Records every read in an expression (iteratively).
    fn read(&mut self, root: Node<'t>) {
        let mut stack = vec![root];
        while let Some(node) = stack.pop() {
            match node.kind() {
                "identifier" => self.uses.push(self.naming.name(node)),
                kind if self.naming.nested && NESTED_SCOPES.contains(&kind) => {
                    // A nested scope: its region computes its result; only a lambda's
                    // default values are evaluated here.
                    self.uses.push(nested_result(node.start_byte() - self.naming.base));
                    if let Some(parameters) = node.field(&field::PARAMETERS) {
                        let mut cursor = parameters.walk();
                        stack.extend(parameters.named_children(&mut cursor).filter_map(|p| p.field(&field::VALUE)));
                    }
                }
                "attribute" | "subscript" => {
                    // Every link of the chain of projections down from `node` reads its own
                    // access path. The paths are built once from the inside out, so a chain
                    // like `a.b.b…` (any depth) is read in linear time; the same paths, in the
                    // same order of indices and objects, as reading each link on its own.
                    let mut chain = vec![node];
                    while let Some(object) = projected(chain[chain.len() - 1]).filter(|o| matches!(o.kind(), "attribute" | "subscript")) {
                        chain.push(object);
                    }
                    let innermost = chain[chain.len() - 1];
                    // What the chain projects from may contain further reads, e.g. calls.
                    if let Some(object) = projected(innermost) {
                        if !matches!(object.kind(), "identifier") {
                            stack.push(object);
                        }
                    }
                    let mut place = place_of(self.text, innermost, &mut literal_key(self.text));
                    for (index, &link) in chain.iter().rev().enumerate() {
                        if index > 0 {
                            place = place.and_then(|mut place| place.project(self.text, link, &mut literal_key(self.text)).map(|()| place));
                        }
                        if let Some(place) = &place {
                            self.uses.push(self.naming.renamed(place.key(), innermost));
                        }
                        if let Some(key) = link.field(&field::SUBSCRIPT) {
                            stack.push(key);
                        }
                    }
                    self.cut += usize::from(place.is_some_and(|place| place.cut == Some(Cut::TooDeep)));
                }
                "keyword_argument" => {
                    if let Some(value) = node.field(&field::VALUE) {
                        stack.push(value);
                    }
                }
                "call" => {
                    self.calls.push(node);
                    if let Some(function) = node.field(&field::FUNCTION) {
                        // `x.append(v)`: a weak definition of x.
                        if function.kind() == "attribute" {
                            let method = function.field(&field::ATTRIBUTE).map(|a| text_of(self.text, a)).unwrap_or("");
                            if MUTATORS.contains(&method) {
                                if let Some((key, _)) = function.field(&field::OBJECT).and_then(|o| self.place(o)) {
                                    self.defs.push((key, false));
                                }
                            }
                        }
                        stack.push(function);
                    }
                    if let Some(arguments) = node.field(&field::ARGUMENTS) {
                        stack.push(arguments);
                    }
                }
                "named_expression" => {
                    if let Some(name) = node.field(&field::NAME) {
                        self.defs.push((text_of(self.text, name).to_string(), true));
                    }
                    if let Some(value) = node.field(&field::VALUE) {
                        stack.push(value);
                    }
                }
                "string_content" | "string_start" | "string_end" | "comment" | "integer" | "float" | "true" | "false" | "none" => {}
                _ => {
                    let mut cursor = node.walk();
                    for child in node.named_children(&mut cursor) {
                        stack.push(child);
                    }
                }
            }
        }
    }

    /// Records the definitions of an assignment target (and reads inside it).
    fn write(&mut self, target: Node<'t>, strong: bool) {
        let mut stack = vec![target];
        while let Some(node) = stack.pop() {
            match node.kind() {
                "identifier" => self.defs.push((self.naming.name(node), strong)),
                "attribute" => {
                    if let Some((key, place)) = self.place(node) {
                        self.defs.push((key, strong && place.is_exact()));
                    }
                    if let Some(object) = node.field(&field::OBJECT) {
                        if object.kind() != "identifier" {
                            self.read(object);
                        }
                    }
                }
                "subscript" => {
                    // A subscript by an unknown key (or past the depth bound) updates its
                    // container weakly.
                    if let Some((key, place)) = self.place(node) {
                        self.defs.push((key, strong && place.is_exact()));
                    }
                    if let Some(index) = node.field(&field::SUBSCRIPT) {
                        self.read(index);
                    }
                    if let Some(value) = node.field(&field::VALUE) {
                        if value.kind() != "identifier" {
                            self.read(value);
                        }
                    }
                }
                "pattern_list"
                | "tuple_pattern"
                | "list_pattern"
                | "tuple"
                | "list"
                | "parenthesized_expression"
                | "list_splat_pattern" => {
                    let mut cursor = node.walk();
                    for child in node.named_children(&mut cursor) {
                        stack.push(child);
                    }
                }
                _ => self.read(node),
            }
        }
    }

    fn statement(&mut self, node: Node<'t>) {
        match node.kind() {
            "expression_statement" => {
                let mut cursor = node.walk();
                let children: Vec<Node<'t>> = node.named_children(&mut cursor).collect();
                for child in children {
                    self.expression_or_assignment(child);
                }
            }
            "import_statement" | "import_from_statement" | "future_import_statement" => {
                let mut cursor = node.walk();
                for name in node.children_by_field_name("name", &mut cursor) {
                    let bound = match name.kind() {
                        "aliased_import" => name.field(&field::ALIAS).map(|a| text_of(self.text, a).to_string()),
                        _ => text_of(self.text, name).split('.').next().map(str::to_string),
                    };
                    if let Some(bound) = bound {
                        self.defs.push((bound, true));
                    }
                }
            }
            "delete_statement" => {
                let mut cursor = node.walk();
                let children: Vec<Node<'t>> = node.named_children(&mut cursor).collect();
                for child in children {
                    self.write(child, false);
                }
            }
            "global_statement" | "nonlocal_statement" | "pass_statement" | "break_statement" | "continue_statement" => {}
            _ => {
                let mut cursor = node.walk();
                let children: Vec<Node<'t>> = node.named_children(&mut cursor).collect();
                for child in children {
                    self.expression_or_assignment(child);
                }
            }
        }
    }

    fn expression_or_assignment(&mut self, node: Node<'t>) {
        match node.kind() {
            "assignment" => {
                // `a = b = value` nests assignments on the right.
                let mut current = Some(node);
                while let Some(assignment) = current {
                    if let Some(left) = assignment.field(&field::LEFT) {
                        self.write(left, true);
                    }
                    if let Some(annotation) = assignment.field(&field::TYPE) {
                        let _ = annotation;
                    }
                    match assignment.field(&field::RIGHT) {
                        Some(right) if right.kind() == "assignment" => current = Some(right),
                        Some(right) => {
                            self.read(right);
                            current = None;
                        }
                        None => current = None,
                    }
                }
            }
            "augmented_assignment" => {
                if let Some(left) = node.field(&field::LEFT) {
                    self.read(left);
                    self.write(left, false);
                }
                if let Some(right) = node.field(&field::RIGHT) {
                    self.read(right);
                }
            }
            _ => self.read(node),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each statement of the function `f` in `source` lowered, one line per site: defined
    /// places (`!` strong), used places, and calls with their receiver and argument places.
    fn render(source: &str) -> String {
        let tree = crate::parse::parse(source);
        let function = tree.root_node().named_child(0).expect("a function");
        let body = function.field(&field::BODY).expect("a body");
        let mut cursor = body.walk();
        let statements: Vec<Node<'_>> = body.named_children(&mut cursor).collect();
        let sites: Vec<(StepKind, Node<'_>)> = statements.iter().map(|&s| (StepKind::Statement, s)).collect();
        let mut cache = IrCache::default();
        let ir = cache.scope(source, body, &sites);
        let argument = |a: &Argument| a.place.map_or_else(|| "_".to_string(), |p| ir.key(p).to_string());
        let mut lines = Vec::new();
        for statement in statements {
            let lowered = ir.site(StepKind::Statement, statement, body.start_byte()).expect("lowered");
            let definitions: Vec<String> =
                lowered.definitions.iter().map(|&(p, strong)| format!("{}{}", ir.key(p), if strong { "!" } else { "" })).collect();
            let uses: Vec<&str> = lowered.uses.iter().map(|&p| ir.key(p)).collect();
            let calls: Vec<String> = lowered
                .calls
                .iter()
                .map(|call| {
                    let mut parts: Vec<String> = call.receiver.iter().map(|r| format!("on {}", argument(r))).collect();
                    parts.extend(call.positional.iter().map(|(spread, a)| format!("{}{}", if *spread { "*" } else { "" }, argument(a))));
                    parts.extend(call.keywords.iter().map(|(name, a)| format!("{name}={}", argument(a))));
                    parts.extend(call.keyword_spreads.iter().map(|a| format!("**{}", argument(a))));
                    format!("call({}{})", parts.join(", "), if call.splat { ", *" } else { "" })
                })
                .collect();
            lines.push(format!(
                "{} | def {} | use {} | {}",
                text_of(source, statement).lines().next().unwrap_or(""),
                definitions.join(" "),
                uses.join(" "),
                calls.join(" ")
            ));
        }
        lines.join("\n")
    }

    #[test]
    fn statements_lower_to_places_and_call_sites() {
        let source = "def f(a, i, rows):\n    a.b[\"k\"] = g(a.c, key=rows[0])\n    rows.append(a)\n    a[i].x = 1\n    del a.b\n    import os.path as p\n    h(*rows)\n";
        assert_eq!(
            render(source),
            [
                "a.b[\"k\"] = g(a.c, key=rows[0]) | def a.b[\"k\"]! | use a.b a.c g rows[0] | call(a.c, key=rows[0])",
                "rows.append(a) | def rows | use a rows.append | call(on rows, a)",
                // An unknown index: a weak definition of the container, which is read too.
                "a[i].x = 1 | def a | use a i | ",
                "del a.b | def a.b | use  | ",
                "import os.path as p | def p! | use  | ",
                "h(*rows) | def  | use h rows | call(*_, *)",
            ]
            .join("\n")
        );
    }

    #[test]
    fn a_sweep_forgets_the_scopes_not_asked_for_since_the_last_one() {
        let lower = |cache: &mut IrCache, source: &str| {
            let tree = crate::parse::parse(source);
            let body = tree.root_node().named_child(0).and_then(|f| f.field(&field::BODY)).expect("a body");
            let mut cursor = body.walk();
            let statements: Vec<Node<'_>> = body.named_children(&mut cursor).collect();
            let sites: Vec<(StepKind, Node<'_>)> = statements.iter().map(|&s| (StepKind::Statement, s)).collect();
            cache.scope(source, body, &sites);
        };
        let mut cache = IrCache::default();
        lower(&mut cache, "def f(a):\n    return a\n");
        lower(&mut cache, "def f(a):\n    return a + 1\n");
        cache.sweep();
        assert_eq!(cache.len(), 2, "both were asked for since the cache was made");
        // An edit: only the new text is asked for; the old version goes at the next sweep.
        lower(&mut cache, "def f(a):\n    return a + 1\n");
        cache.sweep();
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.lowered, 2, "the text asked for again was not lowered again");
    }

    #[test]
    fn returns_raises_and_declarations_are_instructions_of_their_site() {
        let source = "def f(a):\n    global g, h\n    nonlocal n\n    raise ValueError(a)\n    return a\n";
        let tree = crate::parse::parse(source);
        let body = tree.root_node().named_child(0).and_then(|f| f.field(&field::BODY)).expect("a body");
        let mut cursor = body.walk();
        let statements: Vec<Node<'_>> = body.named_children(&mut cursor).collect();
        let sites: Vec<(StepKind, Node<'_>)> = statements.iter().map(|&s| (StepKind::Statement, s)).collect();
        let ir = IrCache::default().scope(source, body, &sites);
        let lowered: Vec<&Lowered> =
            statements.iter().map(|&s| ir.site(StepKind::Statement, s, body.start_byte()).expect("lowered")).collect();
        assert_eq!(lowered[0].globals, vec!["g".into(), "h".into()] as Vec<Box<str>>);
        assert_eq!(lowered[1].nonlocals, vec!["n".into()] as Vec<Box<str>>);
        assert!(lowered[2].raises && !lowered[2].returns);
        assert!(lowered[3].returns && !lowered[3].raises);
    }

    #[test]
    fn equal_text_is_lowered_once() {
        let source = "def f(x):\n    y = x + 1\n    return y\n";
        let mut cache = IrCache::default();
        for shifted in [source.to_string(), format!("\n\n# moved\n{source}")] {
            let tree = crate::parse::parse(&shifted);
            let body = tree
                .root_node()
                .named_children(&mut tree.root_node().walk())
                .find(|n| n.kind() == "function_definition")
                .and_then(|f| f.field(&field::BODY))
                .expect("a body");
            let statement = body.named_child(0).expect("a statement");
            let ir = cache.scope(&shifted, body, &[(StepKind::Statement, statement)]);
            let lowered = ir.site(StepKind::Statement, statement, body.start_byte()).expect("lowered");
            assert_eq!(lowered.definitions.iter().map(|&(p, _)| ir.key(p)).collect::<Vec<_>>(), vec!["y"]);
        }
        assert_eq!(cache.lowered, 1, "the moved function reuses its IR");
        let broken = "def f(x):\n    y = x +\n";
        let tree = crate::parse::parse(broken);
        assert_eq!(scope_key(broken, tree.root_node()), None, "a file with syntax errors is not cached");
    }
}
