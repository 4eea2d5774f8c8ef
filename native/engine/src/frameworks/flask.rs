//! Flask (and, through `generate_for`, Quart): `@app.route`/`@bp.route`/`.get/.post…`
//! decorators, `add_url_rule(rule, endpoint, view_func)`, `View`/`MethodView` subclasses
//! (registered with `as_view` or not). Route parameters are sources unless an `int`, `float`
//! or `uuid` converter types them; under a literal route `request.path` is constant. A string
//! a view returns is its HTML response.

use super::{
    call_arguments, calls_named, keyword, literal_route, modules_importing, positional_after, register_class, route_param_roles,
    route_params, string_at, target_of, EntryPoint, EntryPoints, Role, Shared, Target, HTTP_METHODS,
};
use crate::program::Program;

pub(super) fn generate(program: &Program<'_>, entries: &mut EntryPoints, shared: &Shared<'_, '_>) {
    generate_for(program, entries, shared, "flask");
}

/// The entry point of a view under `route` (None: the route is not known).
fn view_entry(program: &Program<'_>, scope: usize, framework: &'static str, route: Option<&str>) -> EntryPoint {
    let mut entry = EntryPoint::new(framework);
    entry.html_response = true;
    match route {
        Some(route) => {
            route_param_roles(program, scope, &route_params(route), &mut entry);
            if literal_route(route) {
                entry.constant_parts = vec!["path"];
            }
        }
        None => {
            // Unknown route: every positional parameter may be a route parameter.
            for index in positional_after(program, scope, 0) {
                entry.params.push((index, Role::Source));
            }
        }
    }
    entry
}

/// Registers the handlers of a class-based view (`dispatch_request` and the HTTP methods).
fn register_view_class(program: &Program<'_>, entries: &mut EntryPoints, class: &str, framework: &'static str, route: Option<&str>) {
    register_class(program, entries, class, framework, &[], |name, scope| {
        (HTTP_METHODS.contains(&name) || name == "dispatch_request").then(|| view_entry(program, scope, framework, route))
    });
}

pub(super) fn generate_for(program: &Program<'_>, entries: &mut EntryPoints, shared: &Shared<'_, '_>, framework: &'static str) {
    for (scope, _, call, package) in shared.routes().iter().copied() {
        if package != framework {
            continue;
        }
        let module = program.scopes[scope].module;
        let text = program.text(program.scopes[scope].file);
        let (positional, _) = call_arguments(text, call);
        let route = positional
            .first()
            .and_then(|&node| string_at(program, module, node))
            .or_else(|| keyword(text, call, "rule").and_then(|node| string_at(program, module, node)));
        entries.add(scope, view_entry(program, scope, framework, Some(route.as_deref().unwrap_or("<unknown>"))));
    }
    // `app.add_url_rule("/x", "name", view)` / `view_func=View.as_view("name")`.
    let mut registered: Vec<String> = Vec::new();
    for module in modules_importing(program, &[framework]) {
        let text = program.text(program.modules[module].file);
        for (scope, call) in calls_named(program, module, &["add_url_rule"]) {
            let (positional, _) = call_arguments(text, call);
            let route = positional.first().and_then(|&node| string_at(program, module, node));
            let Some(view) = keyword(text, call, "view_func").or_else(|| positional.get(2).copied()) else { continue };
            let route = route.as_deref().unwrap_or("<unknown>");
            match target_of(program, scope, view) {
                Some(Target::Function(function)) => entries.add(function, view_entry(program, function, framework, Some(route))),
                Some(Target::Class(class)) => {
                    register_view_class(program, entries, &class, framework, Some(route));
                    registered.push(class);
                }
                None => {}
            }
        }
    }
    // Class-based views not registered where we can see: their methods are still handlers.
    let bases = [format!("{framework}.views.View"), format!("{framework}.views.MethodView")];
    let bases: Vec<&str> = bases.iter().map(String::as_str).collect();
    for class in shared.classes_deriving(&bases).into_iter().filter(|class| !registered.contains(class)) {
        register_view_class(program, entries, &class, framework, None);
    }
}
