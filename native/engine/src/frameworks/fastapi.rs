//! FastAPI and Starlette. Path operations (`@app.get`, `@router.post`, `add_api_route`):
//! every parameter is request data (path, query, header, cookie, body: `Query(...)`,
//! `Header(...)`, … markers or none) unless its annotation types it (`int`, `UUID`, an `Enum`,
//! `Optional[int]`, …: clean; a pydantic model: its typed fields clean, the others sources);
//! `Request`/`WebSocket` parameters are the request object; `Depends(f)`/`Security(f)` (as a
//! default or inside `Annotated[...]`) carries what `f` returns — `f` is analysed as a
//! dependency, its own parameters request data by the same rules. A string a path operation
//! returns is JSON, not HTML, unless `response_class=HTMLResponse`. Starlette `Route(path,
//! endpoint)`: the endpoint's first parameter is the request.

use crate::syntax::tree::Node;

use super::{
    annotation_is_clean, call_arguments, calls_named, keyword, model_clean_fields, modules_importing, reference, target_of, EntryPoint,
    EntryPoints, Role, Shared, Target, HTTP_METHODS,
};
use crate::program::{dotted, Program};
use crate::rules::{patterns, Anchors, ALL_KINDS};

/// Annotations that are framework objects, not request data.
const PLAIN: &[&str] = &["Response", "BackgroundTasks", "SecurityScopes", "HTTPConnection"];
const REQUESTS: &[&str] = &["Request", "WebSocket"];

/// `Depends(f)` / `Security(f)`: the call and its dependency expression (None for `Depends()`).
fn dependency<'t>(program: &Program<'_>, module: usize, node: Node<'t>) -> Option<Option<Node<'t>>> {
    if node.kind() != "call" {
        return None;
    }
    let callee = reference(program, module, node.child_by_field_name("function")?)?;
    let last = callee.rsplit('.').next().unwrap_or(&callee);
    if !matches!(last, "Depends" | "Security") || !(callee.starts_with("fastapi") || callee == last) {
        return None;
    }
    let text = program.text(program.modules[module].file);
    let (positional, keywords) = call_arguments(text, node);
    Some(positional.first().copied().or_else(|| keywords.iter().find(|(k, _)| *k == "dependency").map(|(_, v)| *v)))
}

/// `Annotated[T, Depends(f)]`: the dependency inside, and `T`.
fn annotated_dependency<'t>(program: &Program<'_>, module: usize, annotation: Node<'t>) -> (Node<'t>, Option<Option<Node<'t>>>) {
    let text = program.text(program.modules[module].file);
    let (head, parts) = super::subscript_parts(annotation);
    let head = head.and_then(|h| dotted(text, h)).unwrap_or_default();
    if head.rsplit('.').next() == Some("Annotated") && !parts.is_empty() {
        let found = parts.iter().skip(1).find_map(|part| dependency(program, module, *part));
        return (parts[0], found);
    }
    (annotation, None)
}

/// The entry of a path operation or dependency `scope`; dependencies found are pushed on `pending`.
fn operation_entry(program: &Program<'_>, scope: usize, pending: &mut Vec<usize>) -> EntryPoint {
    let info = &program.scopes[scope];
    let module = info.module;
    let mut entry = EntryPoint::new("fastapi");
    for (index, param) in info.params.iter().enumerate().skip(usize::from(info.implicit_receiver)) {
        if param.variadic {
            continue;
        }
        let (annotation, mut depends) = match param.annotation {
            Some(annotation) => {
                let (inner, depends) = annotated_dependency(program, module, annotation);
                (Some(inner), depends)
            }
            None => (None, None),
        };
        if depends.is_none() {
            depends = param.default.and_then(|default| dependency(program, module, default));
        }
        if let Some(depends) = depends {
            // `Depends()` names its dependency by the annotation.
            let target = depends.or(annotation).and_then(|node| target_of(program, scope, node));
            let role = match target {
                Some(Target::Function(function)) => {
                    pending.push(function);
                    Role::Returns(function)
                }
                _ => Role::Clean,
            };
            entry.params.push((index, role));
            continue;
        }
        let resolved = annotation.and_then(|a| reference(program, module, a));
        let last = resolved.as_deref().map(|r| r.rsplit('.').next().unwrap_or(r)).unwrap_or("");
        let markers = param.default.into_iter().chain(param.annotation.map(|a| super::subscript_parts(a).1).unwrap_or_default());
        let validated =
            markers.into_iter().map(|marker| validated_by_pattern(program, module, marker)).fold(0, |kinds, clears| kinds | clears);
        let role = if REQUESTS.contains(&last) {
            Role::Reference(resolved.clone().unwrap_or_default())
        } else if validated == ALL_KINDS {
            Role::Clean
        } else if validated != 0 && annotation.is_none_or(|a| model_clean_fields(program, module, a).is_none()) {
            Role::Validated { clears: validated }
        } else if PLAIN.contains(&last) || annotation.is_some_and(|a| annotation_is_clean(program, module, a)) {
            Role::Clean
        } else if let Some(clean_fields) = annotation.and_then(|a| model_clean_fields(program, module, a)) {
            Role::Model { clean_fields }
        } else {
            Role::Source
        };
        entry.params.push((index, role));
    }
    entry
}

fn add_operation(program: &Program<'_>, entries: &mut EntryPoints, scope: usize, html: bool) {
    let mut pending = Vec::new();
    let mut entry = operation_entry(program, scope, &mut pending);
    entry.html_response = html;
    entries.add(scope, entry);
    // Dependencies, and theirs (each once).
    let mut seen: Vec<usize> = vec![scope];
    while let Some(dependency) = pending.pop() {
        if seen.contains(&dependency) {
            continue;
        }
        seen.push(dependency);
        let entry = operation_entry(program, dependency, &mut pending);
        entries.add(dependency, entry);
    }
}

/// Whether a route call or decorator asks for an HTML response (`response_class=HTMLResponse`).
fn html_response(program: &Program<'_>, module: usize, call: Node<'_>) -> bool {
    let text = program.text(program.modules[module].file);
    keyword(text, call, "response_class").and_then(|class| reference(program, module, class)).is_some_and(|r| r.ends_with("HTMLResponse"))
}

pub(super) fn generate(program: &Program<'_>, entries: &mut EntryPoints, shared: &Shared<'_, '_>) {
    for (scope, method, call, package) in shared.routes().iter().copied() {
        if package != "fastapi" && package != "starlette" {
            continue;
        }
        let module = program.scopes[scope].module;
        if package == "starlette" && method == "route" {
            starlette_endpoint(program, entries, scope);
            continue;
        }
        add_operation(program, entries, scope, html_response(program, module, call));
    }
    for module in modules_importing(program, &["fastapi", "starlette"]) {
        let text = program.text(program.modules[module].file);
        for (scope, call) in calls_named(program, module, &["add_api_route", "Route", "WebSocketRoute", "add_route"]) {
            let (positional, keywords) = call_arguments(text, call);
            let callee = call.child_by_field_name("function").and_then(|c| reference(program, module, c)).unwrap_or_default();
            let starlette = !callee.ends_with("add_api_route");
            let endpoint = positional.get(1).copied().or_else(|| keywords.iter().find(|(k, _)| *k == "endpoint").map(|(_, v)| *v));
            match endpoint.and_then(|endpoint| target_of(program, scope, endpoint)) {
                Some(Target::Function(function)) if starlette => starlette_endpoint(program, entries, function),
                Some(Target::Function(function)) => add_operation(program, entries, function, html_response(program, module, call)),
                Some(Target::Class(class)) => {
                    for (name, method) in super::own_methods(program, &class) {
                        if HTTP_METHODS.contains(&name) {
                            starlette_endpoint(program, entries, method);
                        }
                    }
                }
                None => {}
            }
        }
    }
}

/// A Starlette endpoint `endpoint(request)`: its first parameter is the request.
fn starlette_endpoint(program: &Program<'_>, entries: &mut EntryPoints, scope: usize) {
    let info = &program.scopes[scope];
    let mut entry = EntryPoint::new("starlette");
    let index = usize::from(info.implicit_receiver);
    if index < info.params.len() {
        entry.params.push((index, Role::Reference("starlette.requests.Request".to_string())));
    }
    entries.add(scope, entry);
}

/// The sink kinds a parameter marker's constant pattern (`Query(pattern=r"^[0-9]+$")`,
/// `Path(regex=…)`, …) makes its value safe for: FastAPI rejects other values before the
/// operation runs. pydantic matches with Rust's regex engine (not anchored, `$` the very end),
/// so the pattern must anchor both ends itself. 0 for anything else.
fn validated_by_pattern(program: &Program<'_>, module: usize, marker: Node<'_>) -> u32 {
    if marker.kind() != "call" {
        return 0;
    }
    let Some(callee) = marker.child_by_field_name("function").and_then(|f| reference(program, module, f)) else { return 0 };
    let last = callee.rsplit('.').next().unwrap_or(&callee);
    if !matches!(last, "Query" | "Path" | "Header" | "Cookie" | "Form" | "Body") {
        return 0;
    }
    let text = program.text(program.modules[module].file);
    let Some(pattern) =
        keyword(text, marker, "pattern").or_else(|| keyword(text, marker, "regex")).and_then(|p| super::string_at(program, module, p))
    else {
        return 0;
    };
    let strict_end = match pattern.strip_suffix('$') {
        Some(body) if !body.ends_with('\\') => format!("{body}\\Z"),
        _ => pattern,
    };
    patterns::cleared_kinds(&strict_end, Anchors::None, false)
}
