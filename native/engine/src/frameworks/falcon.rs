//! Falcon: resources are plain classes whose responders are `on_get(self, req, resp, **params)`,
//! `on_post`, … (also `on_get_<suffix>`), registered with `app.add_route(template, Resource())`
//! or found in a module importing falcon. `req` is the request (the rule pack names its
//! parts); URI template fields passed as further parameters are sources.
//!
//! `resp` is the response (`falcon.Response`). Its body (`resp.text`, `resp.data`) is sent with
//! the responder's `resp.content_type`, absent the app's default media type (JSON): a page
//! only where the responder declares an HTML type — `resp.content_type = falcon.MEDIA_HTML` (or
//! `"text/html"`), `resp.set_header("Content-Type", …)` — or one that is not constant
//! (`EntryPoint::html_body`, read by the pack's `html_declared` sink). An application whose
//! default media type may be HTML — `falcon.App(media_type=falcon.MEDIA_HTML)` (also `API`,
//! `falcon.asgi.App`) or `app.resp_options.default_media_type = …` anywhere in the program — makes
//! every responder's body a page.

use super::{
    call_arguments, calls_named, modules_importing, positional_after, route_params, string_at, target_of, EntryPoint, EntryPoints, Role,
    Shared, Target,
};
use crate::program::{text_of, Program};
use crate::syntax::tree::Node;

/// Calls making a Falcon application.
const APPLICATIONS: &[&str] = &["falcon.App", "falcon.API", "falcon.asgi.App"];

/// Whether some application of the program is made or configured with a default media type
/// that may be HTML (see the module doc).
fn default_media_type_may_be_html(program: &Program<'_>, modules: &[usize]) -> bool {
    modules.iter().any(|&module| {
        let text = program.text(program.modules[module].file);
        let made = calls_named(program, module, &["App", "API"]).into_iter().any(|(_, call)| {
            let Some(callee) = call.child_by_field_name("function") else { return false };
            if !super::reference(program, module, callee).is_some_and(|r| APPLICATIONS.contains(&r.as_str())) {
                return false;
            }
            let (_, keywords) = call_arguments(text, call);
            keywords.iter().any(|(keyword, value)| *keyword == "media_type" && may_be_html(program, module, *value))
        });
        // Walked only where the text names the option: entry points are found again on every
        // analysis (each edit).
        let configures = || memchr::memmem::find(text.as_bytes(), b"default_media_type").is_some();
        made || configures()
            && super::scopes_of(program, module).into_iter().any(|scope| {
                super::own_nodes(program.scopes[scope].body).any(|node| {
                    let Some(left) = node.child_by_field_name("left").filter(|l| node.kind() == "assignment" && l.kind() == "attribute")
                    else {
                        return false;
                    };
                    let attribute = left.child_by_field_name("attribute").map(|a| text_of(text, a));
                    let options = left.child_by_field_name("object").filter(|o| o.kind() == "attribute");
                    attribute == Some("default_media_type")
                        && options.and_then(|o| o.child_by_field_name("attribute")).is_some_and(|a| text_of(text, a) == "resp_options")
                        && node.child_by_field_name("right").is_none_or(|value| may_be_html(program, module, value))
                })
            })
    })
}

fn responder_entry(program: &Program<'_>, scope: usize, route: Option<&str>, asgi: bool, html_by_default: bool) -> EntryPoint {
    let info = &program.scopes[scope];
    let mut entry = EntryPoint::new("falcon");
    let request = usize::from(info.implicit_receiver);
    if request < info.params.len() {
        let class = if asgi { "falcon.asgi.Request" } else { "falcon.Request" };
        entry.params.push((request, Role::Reference(class.to_string())));
    }
    if let Some(response) = info.params.get(request + 1).filter(|param| !param.variadic) {
        let class = if asgi { "falcon.asgi.Response" } else { "falcon.Response" };
        entry.params.push((request + 1, Role::Reference(class.to_string())));
        entry.html_body = declared_html(program, scope, &response.name).unwrap_or(html_by_default);
    }
    let params = route.map(route_params).unwrap_or_default();
    for index in positional_after(program, scope, 2) {
        let name = &info.params[index].name;
        let clean = params.iter().any(|(param, converter)| param == name && super::clean_converter(converter.as_deref()));
        entry.params.push((index, if clean { Role::Clean } else { Role::Source }));
    }
    entry
}

/// Whether a media type set on the response may be HTML: a constant HTML type, Falcon's
/// `MEDIA_HTML`/`MEDIA_XML`, or anything that is not a constant (another `falcon.MEDIA_*` is not).
fn may_be_html(program: &Program<'_>, module: usize, value: Node<'_>) -> bool {
    if let Some(content_type) = string_at(program, module, value) {
        return super::is_html(&content_type);
    }
    match super::reference(program, module, value) {
        Some(reference) if reference.starts_with("falcon.") && reference.rsplit('.').next().is_some_and(|n| n.starts_with("MEDIA_")) => {
            matches!(reference.rsplit('.').next(), Some("MEDIA_HTML" | "MEDIA_XML"))
        }
        _ => true,
    }
}

/// What responder `scope` declares its response's type to be in its own body
/// (`response.content_type = …`, `response.set_header("Content-Type", …)`): `Some(true)` when
/// some declaration may be HTML (or is not constant), `Some(false)` when every one is another
/// type, `None` without one (the application's default media type).
fn declared_html(program: &Program<'_>, scope: usize, response: &str) -> Option<bool> {
    let info = &program.scopes[scope];
    let text = program.text(info.file);
    let mut declared = None;
    for node in super::own_nodes(info.body) {
        let on_response = |object: Option<Node<'_>>| object.is_some_and(|o| o.kind() == "identifier" && text_of(text, o) == response);
        match node.kind() {
            "assignment" => {
                let Some(left) = node.child_by_field_name("left").filter(|l| l.kind() == "attribute") else { continue };
                let attribute = left.child_by_field_name("attribute").map(|a| text_of(text, a));
                if attribute == Some("content_type") && on_response(left.child_by_field_name("object")) {
                    if node.child_by_field_name("right").is_none_or(|value| may_be_html(program, info.module, value)) {
                        return Some(true);
                    }
                    declared = Some(false);
                }
            }
            "call" => {
                let Some((method, object)) = node.child_by_field_name("function").and_then(|f| super::method_of(text, f)) else { continue };
                if !matches!(method, "set_header" | "append_header") || !on_response(Some(object)) {
                    continue;
                }
                let (positional, _) = call_arguments(text, node);
                let name = positional.first().and_then(|&n| string_at(program, info.module, n));
                match (name, positional.get(1)) {
                    (None, _) => return Some(true),
                    (Some(name), Some(&value)) if name.eq_ignore_ascii_case("content-type") => {
                        if may_be_html(program, info.module, value) {
                            return Some(true);
                        }
                        declared = Some(false);
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    declared
}

fn register(program: &Program<'_>, entries: &mut EntryPoints, class: &str, route: Option<&str>, (asgi, html_by_default): (bool, bool)) {
    super::register_class(program, entries, class, "falcon", &[], |name, scope| {
        name.starts_with("on_").then(|| responder_entry(program, scope, route, asgi, html_by_default))
    });
}

pub(super) fn generate(program: &Program<'_>, entries: &mut EntryPoints, _shared: &Shared<'_, '_>) {
    let mut registered: Vec<String> = Vec::new();
    let modules = modules_importing(program, &["falcon"]);
    let html_by_default = default_media_type_may_be_html(program, &modules);
    for module in modules {
        let text = program.text(program.modules[module].file);
        let asgi = super::imports_any(program.modules[module], &["falcon.asgi"]);
        for (scope, call) in calls_named(program, module, &["add_route"]) {
            let (positional, _) = call_arguments(text, call);
            let route = positional.first().and_then(|&node| string_at(program, module, node));
            if let Some(Target::Class(class)) = positional.get(1).and_then(|&node| target_of(program, scope, node)) {
                register(program, entries, &class, route.as_deref(), (asgi, html_by_default));
                registered.push(class);
            }
        }
        // Resources defined in a falcon module, registered elsewhere or not at all.
        let name = &program.modules[module].name;
        let mut classes: Vec<&str> = program
            .classes
            .iter()
            .filter(|(class, info)| info.module == module && class.starts_with(name.as_str()) && !registered.iter().any(|r| r == *class))
            .filter(|(_, info)| info.methods.keys().any(|method| method.starts_with("on_")))
            .map(|(class, _)| *class)
            .collect();
        classes.sort_unstable();
        for class in classes {
            register(program, entries, class, None, (asgi, html_by_default));
        }
    }
}
