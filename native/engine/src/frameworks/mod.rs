//! Framework model generators: which functions are request handlers and what their
//! parameters (and `self.<attr>` members) are, found by querying the program — decorators,
//! registrations (`add_url_rule`, urls.py `path(...)`, `router.add_get`, …) and class bases.
//! One module per framework; the taint analysis starts each scope from its `EntryPoint`.
//!
//! What a framework's request *object* holds (`flask.request.args`, `HttpRequest.GET`) is data
//! in the rule packs (`rules/*.toml`); the generators only decide which scopes and parameters
//! are entry points and what each parameter refers to.
//!
//! Invariants:
//! - Syntactic and conservative: a registration whose target does not resolve registers
//!   nothing; a parameter is clean only when its type or converter says so.
//! - Cheap: a file is walked for registration calls only when its imports name a framework
//!   that registers by calls (`imports_any`); decorators and class bases come from the program.
//! - An entry point depends on other files (a urls.py naming a view): `EntryPoints::hash` of
//!   each scope is part of its analysis key, so a changed registration re-analyses its handler.

mod aiohttp;
mod bottle;
mod connexion;
mod django;
mod falcon;
mod fastapi;
mod flask;
mod graphql;
mod http_server;
pub(crate) use http_server::is_html;
mod pyramid;
mod quart;
pub(crate) mod tornado;
mod wsgi;

use std::cell::OnceCell;
use std::hash::{Hash, Hasher};

use crate::syntax::tree::Node;
use rustc_hash::{FxHashMap, FxHashSet, FxHasher};

use crate::program::{dotted, literal, text_of, Constant, ModuleInfo, Program, ScopeKind};
use crate::rules::{patterns, Anchors, ALL_KINDS};
use crate::syntax::{field, FieldChild, MAX_STATEMENT_DEPTH};

/// What an entry point's parameter or member is.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Untrusted request data (a route parameter, a query/body/header value, `environ`).
    Source,
    /// Typed by the framework (an `int` converter, an `int`/`UUID`/`Enum` annotation): no
    /// injection taint.
    Clean,
    /// A framework object (the request) whose attributes the rule packs make sources.
    Reference(String),
    /// FastAPI `Depends(f)`: the value `f` returns (scope index), analysed.
    Returns(usize),
    /// A model whose listed fields are typed (clean); the others are sources.
    Model { clean_fields: Vec<String> },
    /// Request data the framework validated before the handler runs (`Query(pattern=…)`): a
    /// source already safe for the sink kinds `clears` (`rules::patterns`).
    Validated { clears: u32 },
}

/// The template a scope's returned value is the context of (`EntryPoint::context_template`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ContextTemplate {
    pub name: String,
    pub autoescape: crate::templates::Autoescape,
    /// What renders it, as a path's step names it (`get_context_data`, `@view`).
    pub renderer: &'static str,
}

/// One request handler (or a method of a handler class).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct EntryPoint {
    /// The framework that registered it (`flask`, `django`, …), for the source's description.
    pub framework: &'static str,
    /// Roles by index into the scope's parameters (the receiver included).
    pub params: Vec<(usize, Role)>,
    /// `self.<attr>` roles (class-based views: `self.request`, `self.kwargs`, `self.path`).
    pub members: Vec<(String, Role)>,
    /// A string the handler returns is the HTML response body.
    pub html_response: bool,
    /// Attributes of the request that are constant here (`path` under the literal route
    /// `/about`): read from a `Reference` role, they carry no taint.
    pub constant_parts: Vec<&'static str>,
    /// The template the value this method returns is the context of (a Django class-based
    /// view's `get_context_data`, rendering the class's `template_name`; an aiohttp handler
    /// decorated with `@aiohttp_jinja2.template(name)`; a Bottle view decorated with `@view(name)`).
    pub context_template: Option<ContextTemplate>,
    /// The response this method writes is declared non-HTML (`http.server`: only constant
    /// non-HTML `Content-Type`s sent): `html_only` sinks are none here.
    pub non_html_body: bool,
    /// The response this method writes is declared HTML, or a type that is not constant
    /// (Falcon: `resp.content_type = falcon.MEDIA_HTML`): `html_declared` sinks are sinks only
    /// here.
    pub html_body: bool,
}

impl EntryPoint {
    fn new(framework: &'static str) -> EntryPoint {
        EntryPoint { framework, ..EntryPoint::default() }
    }

    /// The role of parameter `index` (into the scope's parameters).
    pub fn param(&self, index: usize) -> Option<&Role> {
        self.params.iter().find(|(i, _)| *i == index).map(|(_, role)| role)
    }

    /// The role of `self.<attribute>`.
    pub fn member(&self, attribute: &str) -> Option<&Role> {
        self.members.iter().find(|(name, _)| name == attribute).map(|(_, role)| role)
    }

    fn set_param(&mut self, index: usize, role: Role) {
        match self.params.iter_mut().find(|(i, _)| *i == index) {
            // Registered twice: the least clean role wins (a source anywhere is a source).
            Some((_, existing)) => {
                *existing = match (existing.clone(), role) {
                    (Role::Clean, role) => role,
                    (Role::Validated { clears: a }, Role::Validated { clears: b }) => Role::Validated { clears: a & b },
                    (Role::Validated { .. } | Role::Model { .. }, Role::Source) => Role::Source,
                    (existing, _) => existing,
                };
            }
            None => self.params.push((index, role)),
        }
    }

    /// Joins a second registration of the same scope.
    fn merge(&mut self, other: EntryPoint) {
        for (index, role) in other.params {
            self.set_param(index, role);
        }
        for (name, role) in other.members {
            if self.member(&name).is_none() {
                self.members.push((name, role));
            }
        }
        self.html_response |= other.html_response;
        // Non-HTML only when every registration says so.
        self.non_html_body &= other.non_html_body;
        self.html_body |= other.html_body;
        if other.context_template.is_some() {
            self.context_template = other.context_template;
        }
        // Constant only when constant under every route.
        self.constant_parts.retain(|part| other.constant_parts.contains(part));
    }
}

/// Every entry point of a program, by scope index.
#[derive(Default)]
pub struct EntryPoints {
    by_scope: FxHashMap<usize, EntryPoint>,
    /// Generators that failed on this program (a panic: a bug of flowsight's, never of the
    /// analysed code). The entry points they had not yet registered are missing, so the
    /// analysis counts each as a failure (`Incomplete::failed`) and reports it.
    pub failed: u32,
}

impl EntryPoints {
    pub fn of(&self, scope: usize) -> Option<&EntryPoint> {
        self.by_scope.get(&scope)
    }

    pub fn len(&self) -> usize {
        self.by_scope.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_scope.is_empty()
    }

    /// A hash of what the scope's entry point says (0 for none): part of its analysis key.
    /// `Returns` roles name scopes by index, which move as files are added: hashed by name.
    pub fn hash(&self, program: &Program<'_>, scope: usize) -> u64 {
        let Some(entry) = self.of(scope) else { return 0 };
        let mut hasher = FxHasher::default();
        entry.framework.hash(&mut hasher);
        for (index, role) in &entry.params {
            index.hash(&mut hasher);
            match role {
                Role::Returns(target) => program.scopes[*target].qualified_name.hash(&mut hasher),
                role => role.hash(&mut hasher),
            }
        }
        entry.members.hash(&mut hasher);
        entry.html_response.hash(&mut hasher);
        entry.constant_parts.hash(&mut hasher);
        entry.context_template.hash(&mut hasher);
        entry.non_html_body.hash(&mut hasher);
        entry.html_body.hash(&mut hasher);
        hasher.finish() | 1
    }

    fn add(&mut self, scope: usize, entry: EntryPoint) {
        match self.by_scope.get_mut(&scope) {
            Some(existing) => existing.merge(entry),
            None => {
                self.by_scope.insert(scope, entry);
            }
        }
    }
}

/// Runs every generator over the program.
pub fn entry_points(program: &Program<'_>) -> EntryPoints {
    let mut entries = EntryPoints::default();
    let shared = Shared::new(program);
    // Each generator with the packages it needs some module to import (none: it always runs,
    // a WSGI application imports nothing); one whose packages nobody imports finds nothing.
    let generators: [Generator<'_>; 13] = [
        (&["flask"], &|entries| flask::generate(program, entries, &shared)),
        (&["quart"], &|entries| quart::generate(program, entries, &shared)),
        (&["django", "rest_framework"], &|entries| django::generate(program, entries, &shared)),
        (&["fastapi", "starlette"], &|entries| fastapi::generate(program, entries, &shared)),
        (&["aiohttp"], &|entries| aiohttp::generate(program, entries, &shared)),
        (&["tornado"], &|entries| tornado::generate(program, entries, &shared)),
        (&["falcon"], &|entries| falcon::generate(program, entries, &shared)),
        (&["pyramid"], &|entries| pyramid::generate(program, entries, &shared)),
        (&["bottle"], &|entries| bottle::generate(program, entries, &shared)),
        (&["connexion"], &|entries| connexion::generate(program, entries, &shared)),
        (&["graphene", "strawberry", "ariadne"], &|entries| graphql::generate(program, entries, &shared)),
        (&["http", "socketserver"], &|entries| http_server::generate(program, entries, &shared)),
        (&[], &|entries| wsgi::generate(program, entries, &shared)),
    ];
    let imported = imported_packages(program);
    for (index, (packages, generate)) in generators.into_iter().enumerate() {
        if !packages.is_empty() && !packages.iter().any(|package| imported.contains(package)) {
            continue;
        }
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            #[cfg(test)]
            tests::fail_if_asked(index);
            let _ = index;
            generate(&mut entries)
        }));
        entries.failed += u32::from(run.is_err());
    }
    entries
}

/// A framework's generator, with the packages it needs some module to import.
type Generator<'g> = (&'g [&'g str], &'g dyn Fn(&mut EntryPoints));

/// The packages some module of the program imports from (the first name of each import's
/// qualified target: `django` for `from django.urls import path` and for a relative import
/// inside Django itself).
fn imported_packages<'p>(program: &Program<'p>) -> FxHashSet<&'p str> {
    let modules = program.modules.iter().copied();
    modules.flat_map(|module| module.imports.values()).map(|target| target.split('.').next().unwrap_or(target)).collect()
}

/// What a parameter refers to outside any entry point, by the framework its module uses: a
/// `request` parameter of a helper in a Django module is Django's request (typing only; it
/// does not make the function a handler).
pub fn parameter_reference(program: &Program<'_>, scope: usize, index: usize) -> Option<&'static str> {
    let scope = &program.scopes[scope];
    let param = scope.params.get(index)?;
    if param.name != "request" || param.annotation.is_some() {
        return None;
    }
    let module = program.modules[scope.module];
    if imports_any(module, &["rest_framework"]) {
        Some("rest_framework.request.Request")
    } else if imports_any(module, &["django"]) {
        Some("django.http.HttpRequest")
    } else if imports_any(module, &["aiohttp"]) {
        Some("aiohttp.web.Request")
    } else if imports_any(module, &["pyramid"]) {
        Some("pyramid.request.Request")
    } else if imports_any(module, &["starlette", "fastapi"]) {
        Some("starlette.requests.Request")
    } else {
        None
    }
}

// ---------------------------------------------------------------- shared queries

/// Whether the module imports one of these packages (or something inside them).
pub(crate) fn imports_any(module: &ModuleInfo, packages: &[&str]) -> bool {
    module.imports.values().any(|qualified| {
        packages.iter().any(|package| qualified.strip_prefix(package).is_some_and(|rest| rest.is_empty() || rest.starts_with('.')))
    })
}

/// Indices of the modules importing one of `packages`.
pub(crate) fn modules_importing(program: &Program<'_>, packages: &[&str]) -> Vec<usize> {
    (0..program.modules.len()).filter(|&module| imports_any(program.modules[module], packages)).collect()
}

/// A route's parameters: `<conv:name>` (Flask, Django, Bottle), `{name}` / `{name:conv}`
/// (FastAPI, Starlette, aiohttp, Falcon, Pyramid) and `(?P<name>pattern)` (Django `re_path`,
/// Tornado; the converter is `re:pattern`, judged by `rules::patterns`). `None` converters are
/// strings.
pub(crate) fn route_params(route: &str) -> Vec<(String, Option<String>)> {
    if route.contains("(?P<") {
        return regex_groups(route).into_iter().filter_map(|(name, pattern)| Some((name?, Some(format!("re:{pattern}"))))).collect();
    }
    let mut params = Vec::new();
    let mut rest = route;
    while let Some(open) = rest.find(['<', '{']) {
        let close_char = if rest.as_bytes()[open] == b'<' { '>' } else { '}' };
        let Some(close) = rest[open..].find(close_char) else { break };
        let inside = &rest[open + 1..open + close];
        let (converter, name) = match inside.split_once(':') {
            Some((a, b)) if close_char == '>' => (Some(a.trim().to_string()), b.trim().to_string()),
            Some((a, b)) => (Some(b.trim().to_string()), a.trim().to_string()),
            None => (None, inside.trim().to_string()),
        };
        // Bottle writes `<name:int>`: the converter after the name.
        let (converter, name) = match (converter, name) {
            (Some(first), second) if close_char == '>' && matches!(second.as_str(), "int" | "float" | "path" | "re") => {
                (Some(second), first)
            }
            pair => pair,
        };
        params.push((name, converter));
        rest = &rest[open + close + 1..];
    }
    params
}

/// The capturing groups of a route regex, in order: `(?P<name>pattern)` with its name,
/// `(pattern)` without (Tornado passes those positionally). Non-capturing groups, escapes and
/// character classes are skipped; a group's pattern runs to its matching parenthesis.
pub(crate) fn regex_groups(route: &str) -> Vec<(Option<String>, String)> {
    let characters: Vec<char> = route.chars().collect();
    let mut groups = Vec::new();
    let (mut index, mut in_class) = (0, false);
    while index < characters.len() {
        match characters[index] {
            '\\' => index += 1,
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            '(' if !in_class => {
                let rest: String = characters[index + 1..].iter().collect();
                let (name, start) = if let Some(named) = rest.strip_prefix("?P<") {
                    match named.find('>') {
                        Some(close) => (Some(named[..close].to_string()), index + 4 + named[..close].chars().count() + 1),
                        None => break,
                    }
                } else if rest.starts_with('?') {
                    index += 1;
                    continue;
                } else {
                    (None, index + 1)
                };
                let end = matching_parenthesis(&characters, start);
                groups.push((name, characters[start..end].iter().collect()));
            }
            _ => {}
        }
        index += 1;
    }
    groups
}

/// The index of the `)` closing a group whose pattern starts at `start` (the end of the text
/// when it is not closed).
fn matching_parenthesis(characters: &[char], start: usize) -> usize {
    let (mut depth, mut in_class, mut index) = (0usize, false, start);
    while index < characters.len() {
        match characters[index] {
            '\\' => index += 1,
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            '(' if !in_class => depth += 1,
            ')' if !in_class && depth == 0 => return index,
            ')' if !in_class => depth -= 1,
            _ => {}
        }
        index += 1;
    }
    characters.len()
}

/// Converters that type a route parameter (no injection taint): numbers and UUIDs, and
/// regex groups whose full match can carry nothing harmful to any sink kind.
pub(crate) fn clean_converter(converter: Option<&str>) -> bool {
    match converter {
        Some("int" | "float" | "uuid") => true,
        Some(converter) => {
            converter.strip_prefix("re:").is_some_and(|pattern| patterns::cleared_kinds(pattern, Anchors::Both, false) == ALL_KINDS)
        }
        None => false,
    }
}

/// Whether a route string has no parameters and no pattern: every request reaching the
/// handler has this path.
pub(crate) fn literal_route(route: &str) -> bool {
    !route.contains(['<', '{', '(', '[', '*', '+', '?', '\\', '|', '.', ':'])
}

/// The roles of a handler's parameters from its route string: route parameters are sources
/// unless a converter types them.
pub(crate) fn route_param_roles(program: &Program<'_>, scope: usize, route: &[(String, Option<String>)], entry: &mut EntryPoint) {
    let info = &program.scopes[scope];
    for (index, param) in info.params.iter().enumerate().skip(usize::from(info.implicit_receiver)) {
        if let Some((_, converter)) = route.iter().find(|(name, _)| *name == param.name) {
            entry.set_param(index, if clean_converter(converter.as_deref()) { Role::Clean } else { Role::Source });
        }
    }
}

/// A string constant (literal or module constant) at `node`.
pub(crate) fn string_at(program: &Program<'_>, module: usize, node: Node<'_>) -> Option<String> {
    let text = program.text(program.modules[module].file);
    match literal(text, node, &program.modules[module].constants) {
        Some(Constant::Str(value)) => Some(value),
        _ => None,
    }
}

/// What the `Content-Type` headers a handler method sets declare (`http_server`'s
/// `send_header`, Tornado's `set_header`/`add_header`), combined over the methods it runs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Declared {
    /// No `Content-Type` set.
    Nothing,
    /// Only constant types, none of them HTML.
    NotHtml,
    /// HTML, a type that is not constant, or a header name that is not constant.
    MaybeHtml,
}

impl Declared {
    /// Both may run (in one method, or two methods it calls).
    pub(crate) fn and(self, other: Declared) -> Declared {
        match (self, other) {
            (Declared::MaybeHtml, _) | (_, Declared::MaybeHtml) => Declared::MaybeHtml,
            (Declared::NotHtml, _) | (_, Declared::NotHtml) => Declared::NotHtml,
            _ => Declared::Nothing,
        }
    }

    /// `later` runs after this: a type it sets replaces this one.
    pub(crate) fn then(self, later: Declared) -> Declared {
        if later == Declared::Nothing {
            self
        } else {
            later
        }
    }
}

/// The nodes of a function's own body, depth first, leaving out nested `def`, `class` and
/// `lambda` (they may not run when the function does).
pub(crate) fn own_nodes<'t>(body: Node<'t>) -> impl Iterator<Item = Node<'t>> {
    let mut stack = vec![body];
    std::iter::from_fn(move || loop {
        let node = stack.pop()?;
        if matches!(node.kind(), "function_definition" | "class_definition" | "lambda") {
            continue;
        }
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
        return Some(node);
    })
}

/// Positional and keyword arguments of `call`.
pub(crate) fn call_arguments<'a, 't>(text: &'a str, call: Node<'t>) -> (Vec<Node<'t>>, Vec<(&'a str, Node<'t>)>) {
    let mut positional = Vec::new();
    let mut keywords = Vec::new();
    let Some(list) = call.field(&field::ARGUMENTS) else { return (positional, keywords) };
    let mut cursor = list.walk();
    for argument in list.named_children(&mut cursor) {
        match argument.kind() {
            "keyword_argument" => {
                if let (Some(name), Some(value)) = (argument.field(&field::NAME), argument.field(&field::VALUE)) {
                    keywords.push((text_of(text, name), value));
                }
            }
            "comment" | "list_splat" | "dictionary_splat" => {}
            _ => positional.push(argument),
        }
    }
    (positional, keywords)
}

/// What a dotted expression used in `module` refers to, qualified (imports, aliases, the
/// module's own definitions).
pub(crate) fn reference(program: &Program<'_>, module: usize, node: Node<'_>) -> Option<String> {
    let text = program.text(program.modules[module].file);
    let name = dotted(text, node)?;
    Some(program.resolve_name(module, &name).unwrap_or(name))
}

/// The class whose instance a module-level name holds (`app = Flask(__name__)` →
/// `flask.Flask`), following one import into a workspace module (`from .app import app`).
pub(crate) fn instance_class(program: &Program<'_>, module: usize, name: &str) -> Option<String> {
    let info = program.modules[module];
    if let Some(alias) = info.aliases.get(name) {
        return Some(alias.clone());
    }
    let imported = info.imports.get(name)?;
    let (owner, member) = imported.rsplit_once('.')?;
    let owner = program.module_named(owner)?;
    program.modules[owner].aliases.get(member).cloned()
}

/// The template a decorator on `scope` renders the scope's returned context with
/// (`@aiohttp_jinja2.template("name")`, Bottle's `@view("name")`): its name (the first argument or
/// `template_name=`) and which of `decorators` (qualified names) it is.
pub(crate) fn decorated_template<'d>(program: &Program<'_>, scope: usize, decorators: &[&'d str]) -> Option<(String, &'d str)> {
    let info = &program.scopes[scope];
    info.decorators.iter().find_map(|decorator| {
        let (callee, call) = decorator_call(*decorator)?;
        let found = reference(program, info.module, callee)?;
        let decorator = decorators.iter().find(|name| **name == found)?;
        let (positional, keywords) = call_arguments(program.text(info.file), call);
        let name = positional.first().copied().or_else(|| keywords.iter().find(|(k, _)| *k == "template_name").map(|(_, v)| *v))?;
        Some((string_at(program, info.module, name)?, *decorator))
    })
}

/// A decorator's call: (the callee expression, the call) for `@x.route(...)` / `@route(...)`.
pub(crate) fn decorator_call<'t>(decorator: Node<'t>) -> Option<(Node<'t>, Node<'t>)> {
    let call = decorator.named_child(0).filter(|n| n.kind() == "call")?;
    Some((call.field(&field::FUNCTION)?, call))
}

/// The method name of an attribute callee (`app.route` → `route`) with its object.
pub(crate) fn method_of<'a, 't>(text: &'a str, callee: Node<'t>) -> Option<(&'a str, Node<'t>)> {
    (callee.kind() == "attribute").then_some(())?;
    Some((text_of(text, callee.field(&field::ATTRIBUTE)?), callee.field(&field::OBJECT)?))
}

/// What a registration names as its handler: a function, or a class (`View.as_view()`, a
/// resource instance `Resource()`, a class itself).
#[derive(Clone, Debug)]
pub(crate) enum Target {
    Function(usize),
    Class(String),
}

/// Resolves a handler expression of a registration in `scope` (a module body or function):
/// `views.index`, `index`, a closure defined in the enclosing function, `View.as_view()`,
/// `Resource()`, `functools.partial(f, …)`.
pub(crate) fn target_of(program: &Program<'_>, scope: usize, node: Node<'_>) -> Option<Target> {
    let info = &program.scopes[scope];
    let module = info.module;
    let text = program.text(info.file);
    match node.kind() {
        "call" => {
            let callee = node.field(&field::FUNCTION)?;
            if let Some((method, object)) = method_of(text, callee) {
                if method == "as_view" || method == "as_viewset" {
                    return match target_of(program, scope, object)? {
                        Target::Class(class) => Some(Target::Class(class)),
                        Target::Function(_) => None,
                    };
                }
            }
            let resolved = reference(program, module, callee)?;
            if resolved == "functools.partial" {
                let (positional, _) = call_arguments(text, node);
                return target_of(program, scope, *positional.first()?);
            }
            // `Resource()`: an instance of a workspace class.
            program.class(&resolved).map(|_| Target::Class(resolved))
        }
        "identifier" | "attribute" => {
            let name = dotted(text, node)?;
            if info.kind == ScopeKind::Function && !name.contains('.') {
                // A closure defined in the registering function.
                let local = format!("{}.{name}", info.qualified_name);
                if let Some(function) = program.function(&local) {
                    return Some(Target::Function(function));
                }
            }
            let resolved = program.resolve_name(module, &name).unwrap_or_else(|| format!("{}.{name}", program.modules[module].name));
            if let Some(function) = program.function(&resolved) {
                return Some(Target::Function(function));
            }
            if program.class(&resolved).is_some() {
                return Some(Target::Class(resolved));
            }
            // `views.index` where `views` is a module imported whole (`from . import views`).
            let (owner, member) = resolved.rsplit_once('.')?;
            let owner_module = program.module_named(owner)?;
            let qualified = format!("{}.{member}", program.modules[owner_module].name);
            program.function(&qualified).map(Target::Function)
        }
        _ => None,
    }
}

/// The innermost scope (module body or function) of `module` enclosing byte `at`.
pub(crate) fn scope_at(program: &Program<'_>, module: usize, scopes: &[usize], at: usize) -> usize {
    scopes
        .iter()
        .copied()
        .filter(|&scope| {
            let node = program.scopes[scope].node;
            program.scopes[scope].kind == ScopeKind::Function && node.start_byte() <= at && at < node.end_byte()
        })
        .max_by_key(|&scope| program.scopes[scope].node.start_byte())
        .unwrap_or_else(|| module_scope(program, module))
}

/// The module body's scope index (a file's scopes are contiguous, its module body first).
pub(crate) fn module_scope(program: &Program<'_>, module: usize) -> usize {
    scopes_of(program, module).start
}

/// The scope indices of `module`'s file: parts are numbered consecutively, so a file's scopes
/// are one contiguous range, found by binary search.
pub(crate) fn scopes_of(program: &Program<'_>, module: usize) -> std::ops::Range<usize> {
    let file = program.modules[module].file;
    let start = program.scopes.partition_point(|scope| scope.file < file);
    let end = program.scopes.partition_point(|scope| scope.file <= file);
    start..end
}

/// Every call in a module whose callee's last name is one of `names`, with the scope it is
/// made in (iterative, bounded by `MAX_STATEMENT_DEPTH` levels of nesting per statement).
pub(crate) fn calls_named<'p>(program: &Program<'p>, module: usize, names: &[&str]) -> Vec<(usize, Node<'p>)> {
    let file = program.modules[module].file;
    let text = program.text(file);
    // Cheap pre-check: the file mentions one of the names.
    if !names.iter().any(|name| memchr::memmem::find(text.as_bytes(), name.as_bytes()).is_some()) {
        return Vec::new();
    }
    let root = program.files[file].document.root();
    let scopes: Vec<usize> = scopes_of(program, module).collect();
    let mut found = Vec::new();
    let mut stack = vec![(root, 0usize)];
    while let Some((node, depth)) = stack.pop() {
        if node.kind() == "call" {
            if let Some(callee) = node.field(&field::FUNCTION) {
                let last = match callee.kind() {
                    "attribute" => callee.field(&field::ATTRIBUTE).map(|a| text_of(text, a)),
                    "identifier" => Some(text_of(text, callee)),
                    _ => None,
                };
                if last.is_some_and(|last| names.contains(&last)) {
                    found.push((scope_at(program, module, &scopes, node.start_byte()), node));
                }
            }
        }
        if depth > MAX_STATEMENT_DEPTH * 4 {
            continue;
        }
        let mut cursor = node.walk();
        for child in node.named_children(&mut cursor) {
            stack.push((child, depth + 1));
        }
    }
    found.sort_by_key(|(_, node)| node.start_byte());
    found
}

/// The methods of `class` (its own), by name.
pub(crate) fn own_methods<'a>(program: &'a Program<'_>, class: &str) -> Vec<(&'a str, usize)> {
    let Some(info) = program.class(class) else { return Vec::new() };
    let mut methods: Vec<(&str, usize)> = info.methods.iter().map(|(name, &scope)| (name.as_str(), scope)).collect();
    methods.sort_unstable();
    methods
}

/// What several generators ask of the whole program, computed once per `entry_points`.
pub(crate) struct Shared<'a, 'p> {
    program: &'a Program<'p>,
    /// `route_decorators` of the program, found when first asked.
    routes: OnceCell<Vec<(usize, &'static str, Node<'p>, &'static str)>>,
    /// Every workspace class with its ancestors (itself excluded), sorted by name, found when
    /// first asked.
    classes: OnceCell<Vec<(&'p str, Vec<String>)>>,
}

impl<'a, 'p> Shared<'a, 'p> {
    fn new(program: &'a Program<'p>) -> Shared<'a, 'p> {
        Shared { program, routes: OnceCell::new(), classes: OnceCell::new() }
    }

    /// `route_decorators` of the program.
    pub(crate) fn routes(&self) -> &[(usize, &'static str, Node<'p>, &'static str)] {
        self.routes.get_or_init(|| route_decorators(self.program))
    }

    fn classes(&self) -> &[(&'p str, Vec<String>)] {
        self.classes.get_or_init(|| {
            let program = self.program;
            let mut classes: Vec<(&'p str, Vec<String>)> = program
                .classes
                .keys()
                .map(|&class| (class, program.ancestors(class).iter().skip(1).cloned().collect()))
                .filter(|(_, ancestors): &(&str, Vec<String>)| !ancestors.is_empty())
                .collect();
            classes.sort_unstable_by_key(|(class, _)| *class);
            classes
        })
    }

    /// Workspace classes deriving (transitively) from one of `bases` (qualified names).
    pub(crate) fn classes_deriving(&self, bases: &[&str]) -> Vec<String> {
        self.classes()
            .iter()
            .filter(|(_, ancestors)| ancestors.iter().any(|ancestor| bases.contains(&ancestor.as_str())))
            .map(|(class, _)| class.to_string())
            .collect()
    }

    /// Workspace classes with an ancestor `matches` accepts.
    pub(crate) fn classes_where(&self, matches: impl Fn(&str) -> bool) -> Vec<&'p str> {
        self.classes().iter().filter(|(_, ancestors)| ancestors.iter().any(|a| matches(a))).map(|(class, _)| *class).collect()
    }
}

/// The HTTP method names a class-based view dispatches to.
pub(crate) const HTTP_METHODS: &[&str] = &["get", "post", "put", "patch", "delete", "head", "options", "trace"];

/// Parameters after the receiver that are not variadic and have no default: positional URL
/// arguments of a view.
pub(crate) fn positional_after(program: &Program<'_>, scope: usize, skip: usize) -> Vec<usize> {
    let info = &program.scopes[scope];
    let start = usize::from(info.implicit_receiver) + skip;
    (start..info.params.len()).filter(|&index| !info.params[index].variadic && info.params[index].default.is_none()).collect()
}

/// The class definition `class` of the workspace (top-level or nested at most a few levels),
/// for reading its body (model fields).
pub(crate) fn class_node<'p>(program: &Program<'p>, class: &str) -> Option<Node<'p>> {
    // A re-exported name finds the class where it is defined (`Program::class`).
    let info = program.class(class)?;
    let module = info.module;
    let name = info.qualified_name.strip_prefix(&format!("{}.", program.modules[module].name))?;
    let text = program.text(program.modules[module].file);
    let mut container = program.files[program.modules[module].file].document.root();
    let mut found = None;
    for part in name.split('.') {
        let mut cursor = container.walk();
        let children: Vec<Node<'p>> = container.named_children(&mut cursor).collect();
        found = children.into_iter().find_map(|child| {
            let definition = if child.kind() == "decorated_definition" { child.field(&field::DEFINITION)? } else { child };
            (definition.kind() == "class_definition" && definition.field(&field::NAME).is_some_and(|n| text_of(text, n) == part))
                .then_some(definition)
        });
        container = found?.field(&field::BODY)?;
    }
    found
}

/// Annotated fields of a class body (`name: str`), with their annotations.
pub(crate) fn annotated_fields<'p>(program: &Program<'p>, class: &str) -> Vec<(String, Node<'p>)> {
    let Some(node) = class_node(program, class) else { return Vec::new() };
    let Some(body) = node.field(&field::BODY) else { return Vec::new() };
    let Some(module) = program.class(class).map(|info| info.module) else { return Vec::new() };
    let text = program.text(program.modules[module].file);
    let mut fields = Vec::new();
    let mut cursor = body.walk();
    for statement in body.named_children(&mut cursor) {
        let Some(assignment) = statement.named_child(0).filter(|n| statement.kind() == "expression_statement" && n.kind() == "assignment")
        else {
            continue;
        };
        if let (Some(left), Some(annotation)) = (assignment.field(&field::LEFT), assignment.field(&field::TYPE)) {
            if left.kind() == "identifier" {
                let annotation = if annotation.kind() == "type" { annotation.named_child(0).unwrap_or(annotation) } else { annotation };
                fields.push((text_of(text, left).to_string(), annotation));
            }
        }
    }
    fields
}

/// Annotations that carry no injection taint (numbers, booleans, UUIDs, dates, IP addresses).
const TYPED_ANNOTATIONS: &[&str] = &[
    "int",
    "float",
    "bool",
    "UUID",
    "datetime",
    "date",
    "time",
    "timedelta",
    "Decimal",
    "PositiveInt",
    "NegativeInt",
    "NonNegativeInt",
    "conint",
    "confloat",
    "condecimal",
    "StrictInt",
    "StrictFloat",
    "StrictBool",
    "IPv4Address",
    "IPv6Address",
    "IPvAnyAddress",
    "UUID4",
    "UUID1",
];

/// Whether an annotation types its value clean: a typed scalar, `Optional[...]`/`X | None`/
/// `list[...]`/`Annotated[...]` of one, an `Enum` subclass, a `Literal[...]` of constants.
pub(crate) fn annotation_is_clean(program: &Program<'_>, module: usize, annotation: Node<'_>) -> bool {
    let text = program.text(program.modules[module].file);
    let mut pending = vec![(annotation, 0usize)];
    let mut any = false;
    while let Some((node, depth)) = pending.pop() {
        if depth > 8 {
            return false;
        }
        match node.kind() {
            "none" => {}
            "binary_operator" => {
                pending.extend(node.field(&field::LEFT).map(|n| (n, depth + 1)));
                pending.extend(node.field(&field::RIGHT).map(|n| (n, depth + 1)));
            }
            "subscript" | "generic_type" => {
                let (head, parts) = subscript_parts(node);
                let head_name = head.and_then(|h| dotted(text, h)).unwrap_or_default();
                let last = head_name.rsplit('.').next().unwrap_or("");
                if last == "Literal" {
                    any = true;
                    continue;
                }
                if parts.is_empty() {
                    return false;
                }
                match last {
                    // Every member typed.
                    "Union" | "Tuple" | "tuple" => pending.extend(parts.into_iter().map(|n| (n, depth + 1))),
                    // The first is the type (`Annotated[int, Query()]`, `Optional[int]`, `list[int]`).
                    "Optional" | "Annotated" | "List" | "list" | "Set" | "set" | "FrozenSet" | "frozenset" | "Sequence" => {
                        pending.push((parts[0], depth + 1));
                    }
                    _ => return false,
                }
            }
            "type" => pending.extend(node.named_child(0).map(|n| (n, depth + 1))),
            "string" => {
                // A forward reference: not decided.
                return false;
            }
            _ => {
                let Some(name) = dotted(text, node) else { return false };
                if name == "None" {
                    continue;
                }
                let last = name.rsplit('.').next().unwrap_or(&name);
                if TYPED_ANNOTATIONS.contains(&last) {
                    any = true;
                    continue;
                }
                let resolved = program.resolve_name(module, &name).unwrap_or(name);
                if program.ancestors(&resolved).iter().skip(1).any(|base| base.ends_with("Enum") || base == "enum.IntEnum") {
                    any = true;
                    continue;
                }
                return false;
            }
        }
    }
    any
}

/// `X[a, b]` as an expression (`subscript`) or an annotation (`generic_type`): `X` and the
/// expressions inside.
pub(crate) fn subscript_parts(node: Node<'_>) -> (Option<Node<'_>>, Vec<Node<'_>>) {
    match node.kind() {
        "subscript" => {
            let mut cursor = node.walk();
            (node.field(&field::VALUE), node.children_by_field_name("subscript", &mut cursor).collect())
        }
        "generic_type" => {
            let parts = node
                .named_child(1)
                .map(|list| {
                    let mut cursor = list.walk();
                    list.named_children(&mut cursor)
                        .map(|part| if part.kind() == "type" { part.named_child(0).unwrap_or(part) } else { part })
                        .collect()
                })
                .unwrap_or_default();
            (node.named_child(0), parts)
        }
        _ => (None, Vec::new()),
    }
}

/// A workspace pydantic model (a class deriving from `pydantic.BaseModel`, or a dataclass-like
/// `SQLModel`) named by an annotation: its typed (clean) fields.
pub(crate) fn model_clean_fields(program: &Program<'_>, module: usize, annotation: Node<'_>) -> Option<Vec<String>> {
    let class = reference(program, module, annotation)?;
    program.class(&class)?;
    let is_model = program.ancestors(&class).iter().any(|base| base.starts_with("pydantic.") || base.starts_with("sqlmodel."));
    if !is_model {
        return None;
    }
    let mut clean = Vec::new();
    for ancestor in program.ancestors(&class).iter() {
        let Some(owner) = program.class(ancestor).map(|info| info.module) else { continue };
        for (name, annotation) in annotated_fields(program, ancestor) {
            if annotation_is_clean(program, owner, annotation) && !clean.contains(&name) {
                clean.push(name);
            }
        }
    }
    clean.sort();
    Some(clean)
}

/// Keyword argument `name` of `call`.
pub(crate) fn keyword<'t>(text: &str, call: Node<'t>, name: &str) -> Option<Node<'t>> {
    call_arguments(text, call).1.into_iter().find(|(k, _)| *k == name).map(|(_, v)| v)
}

/// Registers every method of `class` as an entry point with `members`; HTTP-method handlers
/// (`handler_methods`) also get `positional` roles for their parameters after the receiver.
pub(crate) fn register_class(
    program: &Program<'_>,
    entries: &mut EntryPoints,
    class: &str,
    framework: &'static str,
    members: &[(String, Role)],
    handler: impl Fn(&str, usize) -> Option<EntryPoint>,
) {
    for (name, scope) in own_methods(program, class) {
        let mut entry = handler(name, scope).unwrap_or_else(|| EntryPoint::new(framework));
        for (member, role) in members {
            if entry.member(member).is_none() {
                entry.members.push((member.clone(), role.clone()));
            }
        }
        entries.add(scope, entry);
    }
}

/// Method names of route decorators (`@app.route`, `@router.get`, `@routes.post`).
pub(crate) const ROUTE_DECORATORS: &[&str] =
    &["route", "get", "post", "put", "delete", "patch", "head", "options", "api_route", "websocket", "view", "trace"];

/// Route decorators of function scopes: (scope, method name, decorator call, the framework
/// package its receiver belongs to). The receiver's class decides (`app = Flask(...)`,
/// `router = APIRouter()`, through one import); else the module's imports, first of
/// `ROUTE_FRAMEWORKS`; else `flask` (a `.route(...)` decorator of an unknown object).
pub(crate) fn route_decorators<'p>(program: &Program<'p>) -> Vec<(usize, &'static str, Node<'p>, &'static str)> {
    let mut found = Vec::new();
    for (index, scope) in program.scopes.iter().enumerate() {
        if scope.decorators.is_empty() || scope.kind != ScopeKind::Function {
            continue;
        }
        let text = program.text(scope.file);
        for decorator in &scope.decorators {
            let Some((callee, call)) = decorator_call(*decorator) else { continue };
            let (method, object) = match callee.kind() {
                "attribute" => match method_of(text, callee) {
                    Some((method, object)) => (method, Some(object)),
                    None => continue,
                },
                "identifier" => (text_of(text, callee), None),
                _ => continue,
            };
            let Some(method) = ROUTE_DECORATORS.iter().find(|m| **m == method) else { continue };
            let framework = match object {
                Some(object) => receiver_framework(program, scope.module, object),
                None => {
                    // `@route("/x")` imported from bottle.
                    let resolved = reference(program, scope.module, callee).unwrap_or_default();
                    ROUTE_FRAMEWORKS.iter().copied().find(|package| resolved.starts_with(&format!("{package}.")))
                }
            };
            // `.view(...)` registers a class-based view only on an aiohttp `RouteTableDef`.
            if let Some(framework) = framework.filter(|framework| *method != "view" || *framework == "aiohttp") {
                found.push((index, *method, call, framework));
            }
        }
    }
    found
}

/// Packages whose objects register routes by decorators, in the order a module's imports
/// are consulted when the receiver's class is unknown.
const ROUTE_FRAMEWORKS: &[&str] = &["fastapi", "starlette", "quart", "flask", "bottle", "aiohttp", "sanic"];

/// The package of a decorator's receiver (see `route_decorators`).
fn receiver_framework(program: &Program<'_>, module: usize, object: Node<'_>) -> Option<&'static str> {
    let text = program.text(program.modules[module].file);
    let name = dotted(text, object);
    let class = name.as_deref().and_then(|name| {
        let head = name.split('.').next().unwrap_or(name);
        instance_class(program, module, head)
    });
    if let Some(class) = class {
        if let Some(package) = ROUTE_FRAMEWORKS.iter().copied().find(|package| class.starts_with(&format!("{package}."))) {
            return Some(package);
        }
    }
    let info = program.modules[module];
    Some(ROUTE_FRAMEWORKS.iter().copied().find(|package| imports_any(info, &[package])).unwrap_or("flask"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::Document;
    use crate::program::build_parts;

    thread_local! {
        /// The generator (by its place in `entry_points`) that panics on this thread.
        static FAILING: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
    }

    pub(super) fn fail_if_asked(index: usize) {
        if FAILING.with(|failing| failing.get()) == Some(index) {
            panic!("generator {index} fails as the test asks");
        }
    }

    #[test]
    fn a_failing_generator_is_counted_and_the_others_still_register() {
        let flask = "from flask import Flask, request\napp = Flask(__name__)\n\n@app.route('/a')\ndef a():\n    return request.args['x']\n";
        let django = "from django.urls import path\nfrom app import views\nurlpatterns = [path('b/', views.b)]\n";
        let documents: Vec<(String, Document)> =
            [("web.py", flask), ("app/urls.py", django), ("app/views.py", "def b(request):\n    pass\n")]
                .iter()
                .map(|(path, text)| (path.to_string(), Document::new(text.to_string())))
                .collect();
        let parts = build_parts(documents.iter().map(|(path, document)| (path.clone(), document)).collect());
        let program = Program::from_parts(&parts);
        let all = entry_points(&program);
        assert_eq!((all.len(), all.failed), (2, 0));
        // Django's generator (third) fails: Flask's route stays, the failure is counted.
        FAILING.with(|failing| failing.set(Some(2)));
        let partial = entry_points(&program);
        FAILING.with(|failing| failing.set(None));
        assert_eq!((partial.len(), partial.failed), (1, 1));
        assert!(partial.of(program.functions["web.a"]).is_some());
    }

    #[test]
    fn route_strings_name_their_parameters_and_converters() {
        assert_eq!(route_params("/a/<int:x>/<name>"), vec![("x".into(), Some("int".into())), ("name".into(), None)]);
        assert_eq!(route_params("/items/{item_id}/{p:path}"), vec![("item_id".into(), None), ("p".into(), Some("path".into()))]);
        let groups = route_params(r"^a/(?P<pk>\d+)/(?P<slug>[-\w]+)/(?P<any>[^/]+(?:/x)?)$");
        let expected: Vec<(String, Option<String>)> = vec![
            ("pk".into(), Some(r"re:\d+".into())),
            ("slug".into(), Some(r"re:[-\w]+".into())),
            ("any".into(), Some("re:[^/]+(?:/x)?".into())),
        ];
        assert_eq!(groups, expected);
        // Digits are clean; a slug may carry `--` (SQL) and a path segment anything.
        assert!(clean_converter(groups[0].1.as_deref()) && clean_converter(Some(r"re:[A-Za-z0-9_]{1,32}")));
        assert!(!clean_converter(groups[1].1.as_deref()) && !clean_converter(groups[2].1.as_deref()));
        let positional: Vec<(Option<String>, String)> = vec![(None, "[0-9]+".into()), (None, r"\w+".into()), (None, ".*".into())];
        assert_eq!(regex_groups(r"/user/([0-9]+)/(\w+)/(?:a|b)/(.*)"), positional);
        assert_eq!(route_params("/b/<id:int>"), vec![("id".into(), Some("int".into()))]);
        assert!(literal_route("/about") && literal_route("about/") && !literal_route("/a/<x>") && !literal_route(r"^a/\d+$"));
    }
}
