//! Bottle: `@route(path)`, `@get/@post…` and `@app.route(path)` views. Route parameters
//! (`<name>`, `<name:int>`) are keyword arguments: sources unless `int`/`float`-typed. The
//! request is the global `bottle.request` (named by the rule pack); a returned string is the
//! HTML response; under a literal route `request.path` is constant. A view decorated with
//! `@view(name)` (SimpleTemplate, escaping on) or `@jinja2_view(name)` (Bottle's Jinja2
//! environment, escaping off) returns the context of that template.

use super::{
    call_arguments, decorated_template, literal_route, route_param_roles, route_params, string_at, ContextTemplate, EntryPoint,
    EntryPoints, Shared,
};
use crate::program::Program;
use crate::templates::Autoescape;

pub(super) fn generate(program: &Program<'_>, entries: &mut EntryPoints, shared: &Shared<'_, '_>) {
    for (scope, _, call, package) in shared.routes().iter().copied() {
        if package != "bottle" {
            continue;
        }
        let module = program.scopes[scope].module;
        let text = program.text(program.scopes[scope].file);
        let (positional, _) = call_arguments(text, call);
        let route = positional.first().and_then(|&node| string_at(program, module, node)).unwrap_or_else(|| "<unknown>".to_string());
        let mut entry = EntryPoint::new("bottle");
        entry.html_response = true;
        route_param_roles(program, scope, &route_params(&route), &mut entry);
        entry.context_template =
            decorated_template(program, scope, &["bottle.view", "bottle.jinja2_view"]).map(|(name, decorator)| match decorator {
                "bottle.view" => ContextTemplate { name, autoescape: Autoescape::On, renderer: "@view" },
                _ => ContextTemplate { name, autoescape: Autoescape::Off, renderer: "@jinja2_view" },
            });
        if literal_route(&route) {
            entry.constant_parts = vec!["path"];
        }
        entries.add(scope, entry);
    }
}
