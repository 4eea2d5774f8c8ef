//! aiohttp: `router.add_get(path, handler)` and the other `add_*`, `add_route(method, path,
//! handler)`, `app.add_routes([web.get(path, handler), …])`, `RouteTableDef` decorators
//! (`@routes.get(path)`) and `web.View` subclasses. Handlers may be closures defined in the
//! function that registers them. A handler's first parameter (a view's `self.request`) is the
//! request, whose parts the rule pack makes sources. A handler decorated with
//! `@aiohttp_jinja2.template(name)` returns the context of that template, rendered by the
//! application's environment (`aiohttp_jinja2.setup`: `Autoescape::Application`).
//!
//! Middlewares see every request before its handler: `web.Application(middlewares=[m])`,
//! `app.middlewares.append(m)` / `.extend([m])` / `.insert(i, m)`, and functions decorated
//! `@web.middleware` (`async def m(request, handler)`): their first parameter is the request.

use super::{
    call_arguments, calls_named, decorated_template, method_of, modules_importing, reference, target_of, ContextTemplate, EntryPoint,
    EntryPoints, Role, Shared, Target,
};
use crate::program::Program;
use crate::syntax::tree::Node;
use crate::templates::Autoescape;

const REQUEST: &str = "aiohttp.web.Request";
const ADDERS: &[&str] = &["add_get", "add_post", "add_put", "add_patch", "add_delete", "add_head", "add_route", "add_view"];
const ROUTE_DEFS: &[&str] = &["get", "post", "put", "patch", "delete", "head", "route", "view"];

fn handler_entry(program: &Program<'_>, scope: usize) -> EntryPoint {
    let info = &program.scopes[scope];
    let mut entry = EntryPoint::new("aiohttp");
    let index = usize::from(info.implicit_receiver);
    if index < info.params.len() && !info.params[index].variadic {
        entry.params.push((index, Role::Reference(REQUEST.to_string())));
    }
    entry.context_template = decorated_template(program, scope, &["aiohttp_jinja2.template"]).map(|(name, _)| ContextTemplate {
        name,
        autoescape: Autoescape::Application,
        renderer: "@aiohttp_jinja2.template",
    });
    entry
}

fn register(program: &Program<'_>, entries: &mut EntryPoints, target: Option<Target>) {
    match target {
        Some(Target::Function(function)) => entries.add(function, handler_entry(program, function)),
        Some(Target::Class(class)) => register_view(program, entries, &class),
        None => {}
    }
}

fn register_view(program: &Program<'_>, entries: &mut EntryPoints, class: &str) {
    let members = [("request".to_string(), Role::Reference(REQUEST.to_string()))];
    super::register_class(program, entries, class, "aiohttp", &members, |_, _| None);
}

pub(super) fn generate(program: &Program<'_>, entries: &mut EntryPoints, shared: &Shared<'_, '_>) {
    for (scope, _, _, package) in shared.routes().iter().copied() {
        if package == "aiohttp" {
            entries.add(scope, handler_entry(program, scope));
        }
    }
    for module in modules_importing(program, &["aiohttp"]) {
        let text = program.text(program.modules[module].file);
        for (scope, call) in calls_named(program, module, ADDERS) {
            let (positional, keywords) = call_arguments(text, call);
            let method = call.child_by_field_name("function").and_then(|f| f.child_by_field_name("attribute"));
            let position = if method.is_some_and(|m| crate::program::text_of(text, m) == "add_route") { 2 } else { 1 };
            let handler = positional.get(position).copied().or_else(|| keywords.iter().find(|(k, _)| *k == "handler").map(|(_, v)| *v));
            register(program, entries, handler.and_then(|handler| target_of(program, scope, handler)));
        }
        for (scope, call) in calls_named(program, module, ROUTE_DEFS) {
            let Some(callee) = call.child_by_field_name("function").and_then(|f| reference(program, module, f)) else { continue };
            let Some(name) = callee.strip_prefix("aiohttp.web.") else { continue };
            if !ROUTE_DEFS.contains(&name) {
                continue;
            }
            let (positional, keywords) = call_arguments(text, call);
            let position = if name == "route" { 2 } else { 1 };
            let handler = positional.get(position).copied().or_else(|| keywords.iter().find(|(k, _)| *k == "handler").map(|(_, v)| *v));
            register(program, entries, handler.and_then(|handler| target_of(program, scope, handler)));
        }
    }
    for module in modules_importing(program, &["aiohttp"]) {
        middlewares(program, entries, module);
    }
    for class in shared.classes_deriving(&["aiohttp.web.View", "aiohttp.web_urldispatcher.View"]) {
        register_view(program, entries, &class);
    }
}

/// The middlewares a module registers or declares (see the module's documentation).
fn middlewares(program: &Program<'_>, entries: &mut EntryPoints, module: usize) {
    let text = program.text(program.modules[module].file);
    let mut named: Vec<(usize, Node<'_>)> = Vec::new();
    for (scope, call) in calls_named(program, module, &["Application"]) {
        let Some(callee) = call.child_by_field_name("function").and_then(|f| reference(program, module, f)) else { continue };
        if !matches!(callee.as_str(), "aiohttp.web.Application" | "aiohttp.web_app.Application") {
            continue;
        }
        let (_, keywords) = call_arguments(text, call);
        if let Some((_, list)) = keywords.iter().find(|(k, _)| *k == "middlewares") {
            named.extend(elements(*list).into_iter().map(|element| (scope, element)));
        }
    }
    for (scope, call) in calls_named(program, module, &["append", "extend", "insert"]) {
        let Some((method, object)) = call.child_by_field_name("function").and_then(|f| method_of(text, f)) else { continue };
        let is_middlewares = object.kind() == "attribute"
            && object.child_by_field_name("attribute").is_some_and(|a| crate::program::text_of(text, a) == "middlewares");
        if !is_middlewares {
            continue;
        }
        let (positional, _) = call_arguments(text, call);
        let argument = if method == "insert" { positional.get(1) } else { positional.first() };
        let Some(&argument) = argument else { continue };
        if method == "extend" {
            named.extend(elements(argument).into_iter().map(|element| (scope, element)));
        } else {
            named.push((scope, argument));
        }
    }
    for (scope, node) in named {
        if let Some(Target::Function(function)) = target_of(program, scope, node) {
            entries.add(function, handler_entry(program, function));
        }
    }
    for scope in crate::frameworks::scopes_of(program, module) {
        let info = &program.scopes[scope];
        let decorated = info.decorators.iter().any(|decorator| {
            decorator
                .named_child(0)
                .and_then(|expression| reference(program, module, expression))
                .is_some_and(|r| matches!(r.as_str(), "aiohttp.web.middleware" | "aiohttp.web_middlewares.middleware"))
        });
        if decorated {
            entries.add(scope, handler_entry(program, scope));
        }
    }
}

/// The elements of a list or tuple literal (`[m1, m2]`); nothing for another expression.
fn elements(node: Node<'_>) -> Vec<Node<'_>> {
    if !matches!(node.kind(), "list" | "tuple") {
        return Vec::new();
    }
    let mut cursor = node.walk();
    node.named_children(&mut cursor).filter(|child| child.kind() != "comment").collect()
}
