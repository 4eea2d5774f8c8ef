//! Pyramid: `@view_config(...)` views and `config.add_view(view, …)` registrations. A function
//! view takes `request` (or `context, request`); a view class gets the request in `__init__`
//! and reads `self.request`. The rule pack names the request's parts.

use super::{call_arguments, calls_named, modules_importing, reference, target_of, EntryPoint, EntryPoints, Role, Shared, Target};
use crate::program::Program;

const REQUEST: &str = "pyramid.request.Request";

fn function_entry(program: &Program<'_>, scope: usize) -> EntryPoint {
    let info = &program.scopes[scope];
    let mut entry = EntryPoint::new("pyramid");
    let explicit = usize::from(info.implicit_receiver);
    // `(request)` or `(context, request)`.
    let index = info.params.iter().position(|p| p.name == "request").unwrap_or(explicit);
    if index < info.params.len() && !info.params[index].variadic {
        entry.params.push((index, Role::Reference(REQUEST.to_string())));
    }
    entry
}

fn members() -> Vec<(String, Role)> {
    vec![("request".to_string(), Role::Reference(REQUEST.to_string()))]
}

fn register(program: &Program<'_>, entries: &mut EntryPoints, target: Option<Target>) {
    match target {
        Some(Target::Function(function)) if program.scopes[function].class.is_some() => {
            let class = program.scopes[function].class.clone().unwrap_or_default();
            super::register_class(program, entries, &class, "pyramid", &members(), |_, _| None);
        }
        Some(Target::Function(function)) => entries.add(function, function_entry(program, function)),
        Some(Target::Class(class)) => super::register_class(program, entries, &class, "pyramid", &members(), |_, _| None),
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
                register(program, entries, Some(Target::Function(index)));
            }
        }
        let text = program.text(program.modules[module].file);
        for (scope, call) in calls_named(program, module, &["add_view"]) {
            let (positional, keywords) = call_arguments(text, call);
            let view = positional.first().copied().or_else(|| keywords.iter().find(|(k, _)| *k == "view").map(|(_, v)| *v));
            register(program, entries, view.and_then(|view| target_of(program, scope, view)));
        }
    }
}
