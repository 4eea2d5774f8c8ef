//! Python scopes as CPython's `symtable` sees them: which names of each function, class,
//! lambda and comprehension are parameters, locals, free (closures, `nonlocal`), explicitly
//! global or implicitly global. `tests/test_scopes.py` compares this with `symtable` on Django.
//!
//! Invariants:
//! - Collection walks the tree with an explicit stack; analysis runs over the scope tree in
//!   reverse creation order (children before parents), so nesting depth cannot overflow.
//! - The rules follow CPython 3.11's `analyze_block`/`analyze_name`: class scopes do not pass
//!   their names to nested functions (but pass `__class__`); comprehensions are function-like;
//!   an assignment expression in a comprehension binds in the enclosing function.
//! - `occurrences_at` answers "where else is this variable": every spelling of the name that
//!   resolves to the same binding (the scope that binds it, or the module for globals and
//!   builtins) by the same rules, each read, written or only named (`global x`).

use std::collections::{BTreeMap, HashSet};

use crate::syntax::tree::{Node, SyntaxTree};

use crate::program::text_of;
use crate::syntax::{field, FieldChild};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScopeType {
    Module,
    Class,
    Function,
    Lambda,
    Comprehension,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SymbolScope {
    Parameter,
    Local,
    Free,
    GlobalExplicit,
    GlobalImplicit,
}

impl SymbolScope {
    pub fn as_str(self) -> &'static str {
        match self {
            SymbolScope::Parameter => "parameter",
            SymbolScope::Local => "local",
            SymbolScope::Free => "free",
            SymbolScope::GlobalExplicit => "global_explicit",
            SymbolScope::GlobalImplicit => "global_implicit",
        }
    }
}

const USE: u8 = 1;
const BOUND: u8 = 2;
const PARAMETER: u8 = 4;
const GLOBAL: u8 = 8;
const NONLOCAL: u8 = 16;

#[derive(Debug)]
pub struct SymbolTable {
    pub kind: ScopeType,
    pub name: String,
    /// 1-based line of the `def`/`class`/`lambda` (or 0 for the module).
    pub line: usize,
    pub parent: Option<usize>,
    pub symbols: BTreeMap<String, SymbolScope>,
    flags: BTreeMap<String, u8>,
}

#[derive(Clone, Copy)]
enum Context {
    Load,
    Store,
}

/// How an occurrence of a name uses it, weakest first (one range used two ways, as the target
/// of `x += 1`, counts as its strongest use).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    /// Named without being read or bound: `global x`, `nonlocal x`.
    Text,
    Read,
    /// Bound or deleted: assignment targets, parameters, `def`/`class`/`import` names, `del`.
    Write,
}

impl Access {
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Text => "text",
            Access::Read => "read",
            Access::Write => "write",
        }
    }
}

/// One occurrence of a name: a byte range of the text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Occurrence {
    pub start: usize,
    pub end: usize,
    pub access: Access,
}

/// An identifier as the collector met it: where, in which scope, and how.
#[derive(Clone, Copy)]
struct Spelling {
    start: usize,
    end: usize,
    scope: usize,
    access: Access,
}

struct Collector<'a> {
    text: &'a str,
    tables: Vec<SymbolTable>,
    future_annotations: bool,
    /// Every identifier that names a variable, when asked for (`occurrences_at`).
    spellings: Option<Vec<Spelling>>,
}

impl<'a> Collector<'a> {
    fn new_scope(&mut self, kind: ScopeType, name: String, line: usize, parent: Option<usize>) -> usize {
        self.tables.push(SymbolTable { kind, name, line, parent, symbols: BTreeMap::new(), flags: BTreeMap::new() });
        self.tables.len() - 1
    }

    fn flag(&mut self, scope: usize, name: &str, flag: u8) {
        *self.tables[scope].flags.entry(name.to_string()).or_insert(0) |= flag;
    }

    fn spell(&mut self, node: Node<'_>, scope: usize, access: Access) {
        if let Some(spellings) = &mut self.spellings {
            spellings.push(Spelling { start: node.start_byte(), end: node.end_byte(), scope, access });
        }
    }

    /// The nearest enclosing scope that is not a comprehension (where `:=` binds).
    fn binding_scope(&self, mut scope: usize) -> usize {
        while self.tables[scope].kind == ScopeType::Comprehension {
            match self.tables[scope].parent {
                Some(parent) => scope = parent,
                None => break,
            }
        }
        scope
    }

    fn collect<'t>(&mut self, root: Node<'t>) {
        let module = self.new_scope(ScopeType::Module, "top".to_string(), 0, None);
        let mut stack: Vec<(Node<'t>, usize, Context)> = vec![(root, module, Context::Load)];
        while let Some((node, scope, context)) = stack.pop() {
            let push_children = |stack: &mut Vec<(Node<'t>, usize, Context)>, node: Node<'t>, context: Context| {
                let mut cursor = node.walk();
                let children: Vec<Node<'t>> = node.named_children(&mut cursor).collect();
                for child in children.into_iter().rev() {
                    stack.push((child, scope, context));
                }
            };
            match node.kind() {
                "comment" | "string_start" | "string_content" | "string_end" | "escape_sequence" | "integer" | "float" | "true"
                | "false" | "none" | "ellipsis" | "keyword_identifier" => {}
                "identifier" => {
                    let name = text_of(self.text, node);
                    match context {
                        Context::Load => {
                            self.flag(scope, name, USE);
                            if name == "super" {
                                self.flag(scope, "__class__", USE);
                            }
                            self.spell(node, scope, Access::Read);
                        }
                        Context::Store => {
                            self.flag(scope, name, BOUND);
                            self.spell(node, scope, Access::Write);
                        }
                    }
                }
                "attribute" => {
                    if let Some(object) = node.field(&field::OBJECT) {
                        stack.push((object, scope, Context::Load));
                    }
                }
                "subscript" => {
                    let mut cursor = node.walk();
                    let children: Vec<Node<'t>> = node.named_children(&mut cursor).collect();
                    for child in children {
                        stack.push((child, scope, Context::Load));
                    }
                }
                "keyword_argument" => {
                    if let Some(value) = node.field(&field::VALUE) {
                        stack.push((value, scope, Context::Load));
                    }
                }
                "assignment" => {
                    if let Some(right) = node.field(&field::RIGHT) {
                        stack.push((right, scope, Context::Load));
                    }
                    if let Some(annotation) = node.field(&field::TYPE) {
                        if !self.future_annotations {
                            stack.push((annotation, scope, Context::Load));
                        }
                    }
                    if let Some(left) = node.field(&field::LEFT) {
                        stack.push((left, scope, Context::Store));
                    }
                }
                "augmented_assignment" => {
                    if let Some(right) = node.field(&field::RIGHT) {
                        stack.push((right, scope, Context::Load));
                    }
                    if let Some(left) = node.field(&field::LEFT) {
                        stack.push((left, scope, Context::Store));
                        if left.kind() == "identifier" {
                            stack.push((left, scope, Context::Load));
                        }
                    }
                }
                "named_expression" => {
                    if let Some(value) = node.field(&field::VALUE) {
                        stack.push((value, scope, Context::Load));
                    }
                    if let Some(name) = node.field(&field::NAME) {
                        let target = self.binding_scope(scope);
                        let text = text_of(self.text, name).to_string();
                        if target != scope {
                            let flag = if self.tables[target].kind == ScopeType::Module { GLOBAL } else { NONLOCAL };
                            self.flag(scope, &text, flag);
                            self.flag(target, &text, BOUND);
                        } else {
                            self.flag(scope, &text, BOUND);
                        }
                        self.spell(name, target, Access::Write);
                    }
                }
                "for_statement" => {
                    for field in ["alternative", "body"] {
                        if let Some(child) = node.child_by_field_name(field) {
                            stack.push((child, scope, Context::Load));
                        }
                    }
                    if let Some(right) = node.field(&field::RIGHT) {
                        stack.push((right, scope, Context::Load));
                    }
                    if let Some(left) = node.field(&field::LEFT) {
                        stack.push((left, scope, Context::Store));
                    }
                }
                "as_pattern" => {
                    // `with x as y`, `except E as e`, `case p as q`.
                    // In `case p as q` the name has no `alias` field: it is the last child.
                    let alias = node.field(&field::ALIAS).or_else(|| {
                        (node.named_child_count() > 1).then(|| node.named_child((node.named_child_count() - 1) as u32)).flatten()
                    });
                    if let Some(alias) = alias {
                        stack.push((alias, scope, Context::Store));
                    }
                    if let Some(value) = node.named_child(0).filter(|value| Some(*value) != alias) {
                        stack.push((value, scope, Context::Load));
                    }
                }
                "as_pattern_target"
                | "pattern_list"
                | "tuple_pattern"
                | "list_pattern"
                | "list_splat_pattern"
                | "dictionary_splat_pattern" => {
                    push_children(&mut stack, node, context);
                }
                "tuple" | "list" | "parenthesized_expression" | "list_splat" if matches!(context, Context::Store) => {
                    push_children(&mut stack, node, context);
                }
                "import_statement" | "import_from_statement" | "future_import_statement" => {
                    let mut cursor = node.walk();
                    let names: Vec<Node<'t>> = node.children_by_field_name("name", &mut cursor).collect();
                    for name in names {
                        let bound = match name.kind() {
                            "aliased_import" => name.field(&field::ALIAS).map(|a| text_of(self.text, a).to_string()),
                            _ => text_of(self.text, name).split('.').next().map(|s| s.trim().to_string()),
                        };
                        if let Some(bound) = bound {
                            self.flag(scope, &bound, BOUND);
                        }
                        // The identifier that binds: the alias, or the first part of a dotted name.
                        let spelled = match name.kind() {
                            "aliased_import" => name.field(&field::ALIAS),
                            "dotted_name" => name.named_child(0),
                            _ => Some(name),
                        };
                        if let Some(spelled) = spelled.filter(|n| n.kind() == "identifier") {
                            self.spell(spelled, scope, Access::Write);
                        }
                    }
                }
                "global_statement" | "nonlocal_statement" => {
                    let flag = if node.kind() == "global_statement" { GLOBAL } else { NONLOCAL };
                    let mut cursor = node.walk();
                    let names: Vec<Node<'t>> = node.named_children(&mut cursor).filter(|n| n.kind() == "identifier").collect();
                    for name in names {
                        self.flag(scope, text_of(self.text, name), flag);
                        self.spell(name, scope, Access::Text);
                    }
                }
                "delete_statement" => push_children(&mut stack, node, Context::Store),
                "function_definition" => {
                    if let Some(name) = node.field(&field::NAME) {
                        self.flag(scope, text_of(self.text, name), BOUND);
                        self.spell(name, scope, Access::Write);
                    }
                    let line = node.start_position().row + 1;
                    let name = node.field(&field::NAME).map(|n| text_of(self.text, n).to_string()).unwrap_or_default();
                    let inner = self.new_scope(ScopeType::Function, name, line, Some(scope));
                    if let Some(body) = node.field(&field::BODY) {
                        stack.push((body, inner, Context::Load));
                    }
                    if let Some(returns) = node.field(&field::RETURN_TYPE) {
                        if !self.future_annotations {
                            stack.push((returns, scope, Context::Load));
                        }
                    }
                    if let Some(parameters) = node.field(&field::PARAMETERS) {
                        self.parameters(parameters, scope, inner, &mut stack);
                    }
                }
                "lambda" => {
                    let line = node.start_position().row + 1;
                    let inner = self.new_scope(ScopeType::Lambda, "lambda".to_string(), line, Some(scope));
                    if let Some(body) = node.field(&field::BODY) {
                        stack.push((body, inner, Context::Load));
                    }
                    if let Some(parameters) = node.field(&field::PARAMETERS) {
                        self.parameters(parameters, scope, inner, &mut stack);
                    }
                }
                "class_definition" => {
                    if let Some(name) = node.field(&field::NAME) {
                        self.flag(scope, text_of(self.text, name), BOUND);
                        self.spell(name, scope, Access::Write);
                    }
                    let line = node.start_position().row + 1;
                    let name = node.field(&field::NAME).map(|n| text_of(self.text, n).to_string()).unwrap_or_default();
                    let inner = self.new_scope(ScopeType::Class, name, line, Some(scope));
                    if let Some(body) = node.field(&field::BODY) {
                        stack.push((body, inner, Context::Load));
                    }
                    if let Some(superclasses) = node.field(&field::SUPERCLASSES) {
                        stack.push((superclasses, scope, Context::Load));
                    }
                }
                "list_comprehension" | "set_comprehension" | "dictionary_comprehension" | "generator_expression" => {
                    let line = node.start_position().row + 1;
                    let inner = self.new_scope(ScopeType::Comprehension, node.kind().to_string(), line, Some(scope));
                    let mut cursor = node.walk();
                    let children: Vec<Node<'t>> = node.named_children(&mut cursor).collect();
                    for child in children.into_iter().rev() {
                        if child.kind() != "for_in_clause" {
                            stack.push((child, inner, Context::Load));
                        }
                    }
                    let mut cursor = node.walk();
                    let clauses: Vec<Node<'t>> = node.named_children(&mut cursor).filter(|c| c.kind() == "for_in_clause").collect();
                    for (index, clause) in clauses.iter().enumerate() {
                        if let Some(right) = clause.field(&field::RIGHT) {
                            // The first iterable is evaluated in the enclosing scope.
                            stack.push((right, if index == 0 { scope } else { inner }, Context::Load));
                        }
                        if let Some(left) = clause.field(&field::LEFT) {
                            stack.push((left, inner, Context::Store));
                        }
                    }
                }
                "case_pattern" | "class_pattern" | "keyword_pattern" | "dict_pattern" | "splat_pattern" | "union_pattern" => {
                    let mut cursor = node.walk();
                    let children: Vec<Node<'t>> = node.named_children(&mut cursor).collect();
                    for child in children {
                        match child.kind() {
                            // A capture is a one-part dotted name; `Color.RED` reads `Color`.
                            "dotted_name" if child.named_child_count() == 1 && node.kind() != "class_pattern" => {
                                stack.push((child.named_child(0).unwrap_or(child), scope, Context::Store))
                            }
                            "dotted_name" => {
                                if let Some(first) = child.named_child(0) {
                                    stack.push((first, scope, Context::Load));
                                }
                            }
                            "identifier" if node.kind() == "keyword_pattern" && child.prev_named_sibling().is_none() => {}
                            "identifier" if node.kind() == "splat_pattern" || node.kind() == "dict_pattern" => {
                                stack.push((child, scope, Context::Store))
                            }
                            _ => stack.push((child, scope, Context::Load)),
                        }
                    }
                }
                "type" if self.future_annotations => {}
                _ => push_children(&mut stack, node, Context::Load),
            }
        }
    }

    /// Defaults and annotations are read in the enclosing scope; names are parameters inside.
    fn parameters<'t>(&mut self, parameters: Node<'t>, outer: usize, inner: usize, stack: &mut Vec<(Node<'t>, usize, Context)>) {
        let mut cursor = parameters.walk();
        let children: Vec<Node<'t>> = parameters.named_children(&mut cursor).collect();
        for parameter in children {
            let (name, annotation, default) = match parameter.kind() {
                "identifier" => (Some(parameter), None, None),
                "typed_parameter" => {
                    let inner_name =
                        parameter.named_child(0).map(|n| if n.kind() == "identifier" { n } else { n.named_child(0).unwrap_or(n) });
                    (inner_name, parameter.field(&field::TYPE), None)
                }
                "default_parameter" => (parameter.field(&field::NAME), None, parameter.field(&field::VALUE)),
                "typed_default_parameter" => (parameter.field(&field::NAME), parameter.field(&field::TYPE), parameter.field(&field::VALUE)),
                "list_splat_pattern" | "dictionary_splat_pattern" => (parameter.named_child(0), None, None),
                _ => (None, None, None),
            };
            if let Some(default) = default {
                stack.push((default, outer, Context::Load));
            }
            if let Some(annotation) = annotation {
                if !self.future_annotations {
                    stack.push((annotation, outer, Context::Load));
                }
            }
            if let Some(name) = name.filter(|n| n.kind() == "identifier") {
                let text = text_of(self.text, name).to_string();
                self.flag(inner, &text, PARAMETER | BOUND);
                self.spell(name, inner, Access::Write);
            }
        }
    }
}

/// The symbol tables of a module, module first, each scope before its nested scopes.
pub fn symbol_tables(text: &str, tree: &SyntaxTree) -> Vec<SymbolTable> {
    resolve(text, tree, false).0
}

/// Every occurrence, in document order, of the variable whose name is at byte `offset` (an
/// identifier that contains it, else one that ends there): the spellings of the same name
/// that resolve to the same binding. A local is found in its function (and in nested scopes
/// that read it as a free variable), a module name or builtin wherever the module's scopes
/// reach it as a global. Nothing when no variable is named there (an attribute, a keyword
/// argument, a string).
pub fn occurrences_at(text: &str, tree: &SyntaxTree, offset: usize) -> Vec<Occurrence> {
    let (tables, spellings) = resolve(text, tree, true);
    let name_of = |spelling: &Spelling| text.get(spelling.start..spelling.end).unwrap_or("");
    let at = spellings.iter().find(|s| s.start <= offset && offset < s.end).or_else(|| spellings.iter().find(|s| s.end == offset)).copied();
    let Some(at) = at else { return Vec::new() };
    let name = name_of(&at);
    let binding = binding_scope(&tables, at.scope, name);
    let mut found: Vec<Occurrence> = spellings
        .iter()
        .filter(|s| name_of(s) == name && binding_scope(&tables, s.scope, name) == binding)
        .map(|s| Occurrence { start: s.start, end: s.end, access: s.access })
        .collect();
    found.sort_by_key(|o| (o.start, std::cmp::Reverse(o.access)));
    found.dedup_by_key(|o| o.start);
    found
}

/// The scope whose binding `name` denotes when spelled in `scope`: the scope itself for its
/// parameters and locals, the nearest enclosing function-like scope binding it for a free
/// name (class bodies are skipped, as CPython does), else the module (globals, builtins).
fn binding_scope(tables: &[SymbolTable], scope: usize, name: &str) -> usize {
    match tables[scope].symbols.get(name) {
        Some(SymbolScope::Parameter | SymbolScope::Local) => scope,
        Some(SymbolScope::Free) => {
            let mut current = tables[scope].parent;
            while let Some(outer) = current {
                let table = &tables[outer];
                if table.kind != ScopeType::Class && matches!(table.symbols.get(name), Some(SymbolScope::Parameter | SymbolScope::Local)) {
                    return outer;
                }
                current = table.parent;
            }
            0
        }
        _ => 0,
    }
}

/// Collects (and, when `spell`, records every spelling of) the names of a module, then
/// resolves them.
fn resolve(text: &str, tree: &SyntaxTree, spell: bool) -> (Vec<SymbolTable>, Vec<Spelling>) {
    let root = tree.root_node();
    let future_annotations = {
        let mut cursor = root.walk();
        let found = root
            .named_children(&mut cursor)
            .any(|statement| statement.kind() == "future_import_statement" && text_of(text, statement).contains("annotations"));
        found
    };
    let mut collector = Collector { text, tables: Vec::new(), future_annotations, spellings: spell.then(Vec::new) };
    collector.collect(root);
    let mut tables = collector.tables;
    analyze(&mut tables);
    (tables, collector.spellings.unwrap_or_default())
}

/// CPython's analysis, bottom-up: resolves every name and adds free names passing through.
fn analyze(tables: &mut [SymbolTable]) {
    let count = tables.len();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); count];
    for (index, table) in tables.iter().enumerate() {
        if let Some(parent) = table.parent {
            children[parent].push(index);
        }
    }
    // Top-down: the `bound` and `global` sets each scope receives from its parent.
    let mut received: Vec<(HashSet<String>, HashSet<String>)> = vec![(HashSet::new(), HashSet::new()); count];
    let mut locals: Vec<HashSet<String>> = vec![HashSet::new(); count];
    for index in 0..count {
        let (bound, global) = received[index].clone();
        let (mut bound, mut global) = (bound, global);
        let mut local = HashSet::new();
        let kind = tables[index].kind;
        let mut resolved = BTreeMap::new();
        let mut passed_bound = HashSet::new();
        let mut passed_global = HashSet::new();
        if kind == ScopeType::Class {
            passed_global.extend(global.iter().cloned());
            passed_bound.extend(bound.iter().cloned());
        }
        for (name, &flags) in &tables[index].flags {
            let scope = if flags & GLOBAL != 0 {
                global.insert(name.clone());
                bound.remove(name);
                SymbolScope::GlobalExplicit
            } else if flags & NONLOCAL != 0 {
                SymbolScope::Free
            } else if flags & (BOUND | PARAMETER) != 0 {
                local.insert(name.clone());
                global.remove(name);
                if flags & PARAMETER != 0 {
                    SymbolScope::Parameter
                } else {
                    SymbolScope::Local
                }
            } else if bound.contains(name) {
                SymbolScope::Free
            } else {
                SymbolScope::GlobalImplicit
            };
            resolved.insert(name.clone(), scope);
        }
        if kind != ScopeType::Class {
            if kind != ScopeType::Module {
                passed_bound.extend(local.iter().cloned());
            }
            passed_bound.extend(bound.iter().cloned());
            passed_global.extend(global.iter().cloned());
        } else {
            passed_bound.insert("__class__".to_string());
        }
        for &child in &children[index] {
            received[child] = (passed_bound.clone(), passed_global.clone());
        }
        tables[index].symbols = resolved;
        locals[index] = local;
    }
    // Bottom-up: free names of children pass through scopes that do not bind them.
    let mut free: Vec<HashSet<String>> = vec![HashSet::new(); count];
    for index in (0..count).rev() {
        let mut new_free: HashSet<String> = HashSet::new();
        for &child in &children[index] {
            new_free.extend(free[child].iter().cloned());
        }
        let kind = tables[index].kind;
        match kind {
            ScopeType::Function | ScopeType::Lambda | ScopeType::Comprehension => {
                new_free.retain(|name| !locals[index].contains(name));
            }
            ScopeType::Class => {
                new_free.remove("__class__");
            }
            ScopeType::Module => {}
        }
        let bound = &received[index].0;
        for name in &new_free {
            if !tables[index].symbols.contains_key(name) && bound.contains(name) {
                tables[index].symbols.insert(name.clone(), SymbolScope::Free);
            }
        }
        for (name, scope) in &tables[index].symbols {
            if *scope == SymbolScope::Free {
                new_free.insert(name.clone());
            }
        }
        if kind == ScopeType::Module {
            new_free.clear();
        }
        free[index] = new_free;
    }
}

#[cfg(test)]
mod tests {
    //! `check` takes a fixture: Python with `$0` at the cursor, and under a line of code any
    //! number of annotation lines `^^^ read|write|text` whose carets sit under an occurrence
    //! (annotation lines are removed before parsing). The occurrences found at the cursor must
    //! be exactly the annotated ones.

    use super::*;
    use crate::parse::parse;

    fn check(fixture: &str) {
        let fixture = fixture.strip_prefix('\n').unwrap_or(fixture);
        let mut text = String::new();
        let mut cursor = None;
        let mut expected = Vec::new();
        let mut line_start = 0;
        for line in fixture.lines() {
            let trimmed = line.trim_start();
            if trimmed.starts_with('^') {
                let column = line.len() - trimmed.len();
                let carets = trimmed.chars().take_while(|&c| c == '^').count();
                let access = match trimmed[carets..].trim() {
                    "read" => Access::Read,
                    "write" => Access::Write,
                    "text" => Access::Text,
                    other => panic!("unknown access {other:?} in {line:?}"),
                };
                expected.push(Occurrence { start: line_start + column, end: line_start + column + carets, access });
                continue;
            }
            line_start = text.len();
            match line.find("$0") {
                Some(at) => {
                    cursor = Some(line_start + at);
                    text.push_str(&line.replacen("$0", "", 1));
                }
                None => text.push_str(line),
            }
            text.push('\n');
        }
        let cursor = cursor.expect("the fixture marks the cursor with $0");
        let tree = parse(&text);
        expected.sort_by_key(|o| o.start);
        let render = |found: &[Occurrence]| -> Vec<String> {
            found.iter().map(|o| format!("{:?} {} {}", &text[o.start..o.end], o.start, o.access.as_str())).collect()
        };
        assert_eq!(render(&occurrences_at(&text, &tree, cursor)), render(&expected), "in\n{text}");
    }

    #[test]
    fn a_local_is_found_in_its_function_only() {
        check(
            r#"
total = 0
def add(items):
    total = 0
    ^^^^^ write
    for item in items:
        total += item
        ^^^^^ write
    return tot$0al
           ^^^^^ read
def other():
    return total
"#,
        );
    }

    #[test]
    fn a_module_name_is_found_wherever_it_is_global() {
        check(
            r#"
import os
       ^^ write
def run(command):
    os$0.system(command)
    ^^ read
def shadow(os):
    return os
class Tool:
    os = None
    def method(self):
        return os.getcwd()
               ^^ read
"#,
        );
    }

    #[test]
    fn parameters_closures_and_nonlocal_reach_the_binding_function() {
        check(
            r#"
def outer(count):
          ^^^^^ write
    def inner():
        nonlocal count
                 ^^^^^ text
        count = count + 1
        ^^^^^ write
                ^^^^^ read
    class Inner:
        size = count
               ^^^^^ read
    return lambda: co$0unt
                   ^^^^^ read
"#,
        );
    }

    #[test]
    fn global_statements_definitions_and_comprehensions() {
        check(
            r#"
def helper():
    ^^^^^^ write
    global helper
           ^^^^^^ text
    helper = None
    ^^^^^^ write
values = [helper() for helper in range(3)]
print(help$0er)
      ^^^^^^ read
"#,
        );
    }

    #[test]
    fn the_cursor_at_the_end_of_a_name_and_aliases() {
        check(
            r#"
from os import path as p
                       ^ write
import os.path
def f():
    return p$0.join("a"), os.path
           ^ read
"#,
        );
        check(
            r#"
import os.path
       ^^ write
x = os$0.path
    ^^ read
"#,
        );
    }

    #[test]
    fn nothing_for_attributes_keywords_and_strings() {
        for fixture in ["x = obj.na$0me\n", "f(ke$0y=1)\n", "s = \"na$0me\"\n"] {
            let text = fixture.replace("$0", "");
            let tree = parse(&text);
            assert_eq!(occurrences_at(&text, &tree, fixture.find("$0").unwrap()), Vec::new(), "{fixture}");
        }
    }
}
