//! Django and Django REST framework. A function is a view when a urls.py `path`/`re_path`/
//! `url` names it (`include`d url modules are url modules like any other), when a view
//! decorator marks it (`@api_view`, `@require_http_methods`, …), or when it is a module-level
//! function of a `views` module taking `request` first. A class is a view when it derives from
//! `django.views.…` or `rest_framework.…` (its HTTP-method and DRF action methods are handlers;
//! every method sees `self.request`, `self.args` and `self.kwargs`), registered with
//! `as_view()` or a DRF router or not. Path converters `<int:pk>`/`<uuid:pk>` and regex
//! groups whose every match is harmless (`rules::patterns`) are clean; other URL arguments are sources. `request.path` is constant under a
//! literal route. Middleware classes (made with `get_response` alone) receive the request in
//! `__call__` and `process_view`.

use super::{
    call_arguments, calls_named, imports_any, literal_route, modules_importing, positional_after, reference, route_params, string_at,
    target_of, EntryPoint, EntryPoints, Role, Shared, Target, HTTP_METHODS,
};
use crate::program::{Program, ScopeKind};

/// The functions url modules register views with.
const URL_FUNCTIONS: &[&str] =
    &["django.urls.path", "django.urls.re_path", "django.conf.urls.url", "django.urls.conf.path", "django.urls.conf.re_path"];

/// DRF viewset actions dispatched like HTTP methods.
const ACTIONS: &[&str] = &["list", "create", "retrieve", "update", "partial_update", "destroy"];

/// Decorators that make a function a view.
const VIEW_DECORATORS: &[&str] = &[
    "rest_framework.decorators.api_view",
    "django.views.decorators.http.require_http_methods",
    "django.views.decorators.http.require_GET",
    "django.views.decorators.http.require_POST",
    "django.views.decorators.http.require_safe",
    "django.views.decorators.csrf.csrf_exempt",
    "django.contrib.auth.decorators.login_required",
    "django.contrib.auth.decorators.permission_required",
];

fn is_view_base(base: &str) -> bool {
    ["django.views.", "rest_framework.views.", "rest_framework.viewsets.", "rest_framework.generics."].iter().any(|p| base.starts_with(p))
}

fn request_reference(drf: bool) -> Role {
    Role::Reference(if drf { "rest_framework.request.Request" } else { "django.http.HttpRequest" }.to_string())
}

/// A view's entry: the request parameter (`request_index`), URL arguments from the route
/// (converters) or, without one, every positional parameter after the request.
fn view_entry(program: &Program<'_>, scope: usize, drf: bool, route: Option<&str>) -> EntryPoint {
    let info = &program.scopes[scope];
    let mut entry = EntryPoint::new("django");
    entry.html_response = true;
    let request_index = usize::from(info.implicit_receiver);
    if request_index < info.params.len() && !info.params[request_index].variadic {
        entry.params.push((request_index, request_reference(drf)));
    }
    let route_params = route.map(route_params).unwrap_or_default();
    for index in positional_after(program, scope, 1) {
        let name = &info.params[index].name;
        let role = match route_params.iter().find(|(param, _)| param == name) {
            Some((_, converter)) if super::clean_converter(converter.as_deref()) => Role::Clean,
            _ => Role::Source,
        };
        entry.params.push((index, role));
    }
    if route.is_some_and(literal_route) {
        entry.constant_parts = vec!["path", "path_info"];
    }
    entry
}

fn register_class(program: &Program<'_>, entries: &mut EntryPoints, class: &str, route: Option<&str>) {
    let drf = program.ancestors(class).iter().any(|base| base.starts_with("rest_framework."));
    let members =
        [("request".to_string(), request_reference(drf)), ("kwargs".to_string(), Role::Source), ("args".to_string(), Role::Source)];
    // DRF's `@action(detail=True)` (`rest_framework.decorators.action`), by reference.
    let decorated_action = |scope: usize| {
        program.scopes[scope].decorators.iter().any(|d| {
            let callee = d.named_child(0).map(|n| if n.kind() == "call" { n.child_by_field_name("function").unwrap_or(n) } else { n });
            callee.and_then(|c| reference(program, program.scopes[scope].module, c)).is_some_and(|r| {
                matches!(
                    r.as_str(),
                    "rest_framework.decorators.action"
                        | "rest_framework.decorators.link"
                        | "rest_framework.decorators.detail_route"
                        | "rest_framework.decorators.list_route"
                )
            })
        })
    };
    super::register_class(program, entries, class, "django", &members, |name, scope| {
        if name == "get_context_data" {
            // What it returns is the context of the class's template (`TemplateResponseMixin`).
            let template = template_name(program, class)?;
            let context_template =
                super::ContextTemplate { name: template, autoescape: crate::templates::Autoescape::On, renderer: "get_context_data" };
            return Some(EntryPoint { context_template: Some(context_template), ..EntryPoint::new("django") });
        }
        (HTTP_METHODS.contains(&name) || ACTIONS.contains(&name) || decorated_action(scope)).then(|| view_entry(program, scope, drf, route))
    });
}

/// The constant `template_name = "…"` a view class (or the first workspace ancestor that has
/// one) declares in its body.
fn template_name(program: &Program<'_>, class: &str) -> Option<String> {
    for ancestor in program.ancestors(class).iter() {
        let Some(info) = program.class(ancestor) else { continue };
        // The class's body, through any of its methods' definitions (a method's parent chain is
        // `function_definition` [`decorated_definition`] `block` `class_definition`).
        let Some(&method) = info.methods.values().min() else { continue };
        let mut node = program.scopes[method].node.parent();
        while let Some(current) = node.filter(|n| matches!(n.kind(), "decorated_definition" | "function_definition")) {
            node = current.parent();
        }
        let Some(body) = node.filter(|n| n.kind() == "block") else { continue };
        let text = program.text(program.scopes[method].file);
        let constants = &program.modules[info.module].constants;
        let mut cursor = body.walk();
        for statement in body.named_children(&mut cursor) {
            let Some(assignment) =
                statement.named_child(0).filter(|a| statement.kind() == "expression_statement" && a.kind() == "assignment")
            else {
                continue;
            };
            let left = assignment.child_by_field_name("left").map(|l| crate::program::text_of(text, l));
            let right = assignment.child_by_field_name("right");
            if let (Some("template_name"), Some(right)) = (left, right) {
                if let Some(crate::program::Constant::Str(name)) = crate::program::literal(text, right, constants) {
                    return Some(name);
                }
            }
        }
    }
    None
}

pub(super) fn generate(program: &Program<'_>, entries: &mut EntryPoints, shared: &Shared<'_, '_>) {
    let mut registered_functions: Vec<usize> = Vec::new();
    let mut registered_classes: Vec<String> = Vec::new();
    // urls.py: `path(route, view)`, `re_path(regex, view)`, `url(regex, view)`.
    // Url modules: those importing `path`, `re_path` or `url` themselves.
    let url_modules =
        (0..program.modules.len()).filter(|&module| program.modules[module].imports.values().any(|q| URL_FUNCTIONS.contains(&q.as_str())));
    for module in url_modules {
        let text = program.text(program.modules[module].file);
        for (scope, call) in calls_named(program, module, &["path", "re_path", "url"]) {
            let callee = call.child_by_field_name("function");
            let resolved = callee.and_then(|c| reference(program, module, c)).unwrap_or_default();
            if !URL_FUNCTIONS.contains(&resolved.as_str()) {
                continue;
            }
            let (positional, keywords) = call_arguments(text, call);
            let route = positional.first().and_then(|&node| string_at(program, module, node));
            let Some(view) = positional.get(1).copied().or_else(|| keywords.iter().find(|(k, _)| *k == "view").map(|(_, v)| *v)) else {
                continue;
            };
            let route = route.as_deref().unwrap_or("<unknown>");
            match target_of(program, scope, view) {
                Some(Target::Function(function)) => {
                    let drf = imports_any(program.modules[program.scopes[function].module], &["rest_framework"]);
                    entries.add(function, view_entry(program, function, drf, Some(route)));
                    registered_functions.push(function);
                }
                Some(Target::Class(class)) => {
                    register_class(program, entries, &class, Some(route));
                    registered_classes.push(class);
                }
                None => {}
            }
        }
    }
    // DRF routers: `router.register(r"items", ItemViewSet)`.
    for module in modules_importing(program, &["rest_framework"]) {
        let text = program.text(program.modules[module].file);
        for (scope, call) in calls_named(program, module, &["register"]) {
            let (positional, keywords) = call_arguments(text, call);
            let view = positional.get(1).copied().or_else(|| keywords.iter().find(|(k, _)| *k == "viewset").map(|(_, v)| *v));
            if let Some(Target::Class(class)) = view.and_then(|view| target_of(program, scope, view)) {
                if program.ancestors(&class).iter().skip(1).any(|base| is_view_base(base)) {
                    register_class(program, entries, &class, None);
                    registered_classes.push(class);
                }
            }
        }
    }
    // Class-based views wherever they are.
    let classes: Vec<&str> =
        shared.classes_where(is_view_base).into_iter().filter(|class| !registered_classes.iter().any(|r| r == class)).collect();
    for class in classes {
        register_class(program, entries, class, None);
    }
    // Function views marked by a decorator or by living in a views module (when no url module
    // names a function of it: then the url modules say which functions are views).
    let routed_modules: Vec<usize> = registered_functions.iter().map(|&function| program.scopes[function].module).collect();
    for module in modules_importing(program, &["django", "rest_framework"]) {
        let info = program.modules[module];
        let views_module =
            info.name == "views" || info.name.ends_with(".views") || info.name.contains(".views.") || info.name.starts_with("views.");
        let drf = imports_any(info, &["rest_framework"]);
        for index in super::scopes_of(program, module) {
            let scope = &program.scopes[index];
            if scope.kind != ScopeKind::Function || scope.class.is_some() || registered_functions.contains(&index) {
                continue;
            }
            let decorated = scope.decorators.iter().any(|decorator| {
                let node =
                    decorator.named_child(0).map(|n| if n.kind() == "call" { n.child_by_field_name("function").unwrap_or(n) } else { n });
                node.and_then(|n| reference(program, module, n)).is_some_and(|r| VIEW_DECORATORS.contains(&r.as_str()))
            });
            let by_module = views_module
                && !routed_modules.contains(&module)
                && scope.depth == 0
                && scope.params.first().is_some_and(|p| p.name == "request");
            if decorated || by_module {
                entries.add(index, view_entry(program, index, drf, None));
            }
        }
    }
    // Middleware (Django's protocol: a class made with `get_response` alone, whose instances
    // `settings.MIDDLEWARE` calls with each request before any view): `__call__` and
    // `process_view` receive the request, also in a module that does not import Django.
    let mut classes: Vec<&str> = program.classes.keys().copied().collect();
    classes.sort_unstable();
    for class in classes {
        let Some(info) = program.class(class) else { continue };
        let made_with_get_response = info.methods.get("__init__").is_some_and(|&init| {
            let scope = &program.scopes[init];
            let start = usize::from(scope.implicit_receiver);
            scope.params.len() == start + 1 && scope.params[start].name == "get_response"
        });
        if !made_with_get_response {
            continue;
        }
        for (name, scope) in super::own_methods(program, class) {
            let info = &program.scopes[scope];
            let request_index = usize::from(info.implicit_receiver);
            if matches!(name, "__call__" | "process_view") && request_index < info.params.len() && !info.params[request_index].variadic {
                let mut entry = EntryPoint::new("django");
                entry.params.push((request_index, request_reference(false)));
                entries.add(scope, entry);
            }
        }
    }
}
