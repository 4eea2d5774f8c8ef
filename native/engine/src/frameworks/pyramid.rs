//! Pyramid: `@view_config(...)` views and `config.add_view(view, …)` registrations. A function
//! view takes `request` (or `context, request`); a view class gets the request in `__init__`
//! and reads `self.request`. The rule pack names the request's parts. A view whose
//! `renderer=` (of `@view_config` or `add_view`) names a Jinja2 template (pyramid_jinja2: `.jinja2`,
//! `.jinja`, `.j2`, `.html`; escaping on) returns the context of that template; an asset spec's
//! package (`shop:templates/x.jinja2`) is dropped. Other renderers (`json`, `string`, Chameleon's
//! `.pt`, Mako) are not read as templates.

use super::{
    call_arguments, calls_named, decorator_call, modules_importing, reference, string_at, target_of, ContextTemplate, EntryPoint,
    EntryPoints, Role, Shared, Target,
};
use crate::program::Program;
use crate::syntax::tree::Node;

const REQUEST: &str = "pyramid.request.Request";
/// Renderer names pyramid_jinja2 renders (`.html` once the application adds it).
const JINJA_RENDERERS: &[&str] = &[".jinja2", ".jinja", ".j2", ".html"];

/// The Jinja2 template a `renderer=` value names (see the module doc).
fn renderer_template(program: &Program<'_>, module: usize, renderer: Node<'_>, by: &'static str) -> Option<ContextTemplate> {
    let name = string_at(program, module, renderer)?;
    let path = name.rsplit_once(':').map_or(name.as_str(), |(_, path)| path);
    JINJA_RENDERERS.iter().any(|extension| path.ends_with(extension)).then(|| ContextTemplate {
        name: path.to_string(),
        autoescape: crate::templates::Autoescape::On,
        renderer: by,
    })
}

/// The template of `@view_config(renderer="…")` on `scope`.
fn decorated_renderer(program: &Program<'_>, scope: usize) -> Option<ContextTemplate> {
    let info = &program.scopes[scope];
    info.decorators.iter().find_map(|decorator| {
        let (callee, call) = decorator_call(*decorator)?;
        reference(program, info.module, callee)?.ends_with("view_config").then_some(())?;
        let (_, keywords) = call_arguments(program.text(info.file), call);
        let renderer = keywords.iter().find(|(keyword, _)| *keyword == "renderer")?.1;
        renderer_template(program, info.module, renderer, "@view_config")
    })
}

fn method_entry(program: &Program<'_>, scope: usize) -> Option<EntryPoint> {
    let context_template = decorated_renderer(program, scope)?;
    Some(EntryPoint { context_template: Some(context_template), ..EntryPoint::new("pyramid") })
}

fn function_entry(program: &Program<'_>, scope: usize) -> EntryPoint {
    let info = &program.scopes[scope];
    let mut entry = EntryPoint::new("pyramid");
    let explicit = usize::from(info.implicit_receiver);
    // `(request)` or `(context, request)`.
    let index = info.params.iter().position(|p| p.name == "request").unwrap_or(explicit);
    if index < info.params.len() && !info.params[index].variadic {
        entry.params.push((index, Role::Reference(REQUEST.to_string())));
    }
    entry.context_template = decorated_renderer(program, scope);
    entry
}

fn members() -> Vec<(String, Role)> {
    vec![("request".to_string(), Role::Reference(REQUEST.to_string()))]
}

/// Registers a view; `renderer` is the template `add_view(..., renderer=…)` names for it.
fn register(program: &Program<'_>, entries: &mut EntryPoints, target: Option<Target>, renderer: Option<ContextTemplate>) {
    match target {
        Some(Target::Function(function)) if program.scopes[function].class.is_some() => {
            let class = program.scopes[function].class.clone().unwrap_or_default();
            super::register_class(program, entries, &class, "pyramid", &members(), |_, scope| method_entry(program, scope));
        }
        Some(Target::Function(function)) => {
            let mut entry = function_entry(program, function);
            if renderer.is_some() {
                entry.context_template = renderer;
            }
            entries.add(function, entry);
        }
        Some(Target::Class(class)) => {
            super::register_class(program, entries, &class, "pyramid", &members(), |_, scope| method_entry(program, scope))
        }
        None => {}
    }
}

pub(super) fn generate(program: &Program<'_>, entries: &mut EntryPoints, _shared: &Shared<'_, '_>) {
    for module in modules_importing(program, &["pyramid"]) {
        for index in super::scopes_of(program, module) {
            let scope = &program.scopes[index];
            if scope.decorators.is_empty() {
                continue;
            }
            let decorated = scope.decorators.iter().any(|decorator| {
                let node =
                    decorator.named_child(0).map(|n| if n.kind() == "call" { n.child_by_field_name("function").unwrap_or(n) } else { n });
                node.and_then(|n| reference(program, module, n)).is_some_and(|r| r.ends_with("view_config") || r.ends_with("view_defaults"))
            });
            if decorated {
                register(program, entries, Some(Target::Function(index)), None);
            }
        }
        let text = program.text(program.modules[module].file);
        for (scope, call) in calls_named(program, module, &["add_view"]) {
            let (positional, keywords) = call_arguments(text, call);
            let view = positional.first().copied().or_else(|| keywords.iter().find(|(k, _)| *k == "view").map(|(_, v)| *v));
            let module = program.scopes[scope].module;
            let renderer =
                keywords.iter().find(|(k, _)| *k == "renderer").and_then(|(_, v)| renderer_template(program, module, *v, "add_view"));
            register(program, entries, view.and_then(|view| target_of(program, scope, view)), renderer);
        }
    }
}
