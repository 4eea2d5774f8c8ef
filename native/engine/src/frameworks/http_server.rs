//! `http.server`: methods of `BaseHTTPRequestHandler` subclasses (`do_GET`, `do_POST`, and the
//! helpers they call on `self`) read the request from `self.path`, `self.headers`,
//! `self.rfile`, `self.requestline` and `self.raw_requestline`: sources.
//!
//! A method whose response is declared non-HTML — it (or a method of its class it calls on
//! `self`) sends `Content-Type` only with constant non-HTML types (`application/json`,
//! `text/plain`) — writes no page: `EntryPoint::non_html_body`, so the `html_only` sink
//! `self.wfile.write` is none there. A `Content-Type` that is HTML, not constant, or never sent
//! leaves the write a sink.

use super::{call_arguments, method_of, own_methods, string_at, Declared, EntryPoint, EntryPoints, Role, Shared};
use crate::program::{text_of, Program};

const MEMBERS: &[&str] = &["path", "headers", "rfile", "requestline", "raw_requestline"];

/// Whether a media type (`text/html; charset=utf-8`) is rendered as a page.
pub(crate) fn is_html(content_type: &str) -> bool {
    let media = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    matches!(media.as_str(), "text/html" | "application/xhtml+xml" | "image/svg+xml")
}

/// The `Content-Type` sent by `send_header` calls on the receiver in `scope`'s own body (nested
/// definitions left out: they may not run), and the names of the other methods it calls on the
/// receiver.
fn declared_in<'p>(program: &Program<'p>, scope: usize) -> (Declared, Vec<&'p str>) {
    let info = &program.scopes[scope];
    let text = program.text(info.file);
    let Some(receiver) = info.implicit_receiver.then(|| info.params.first()).flatten().map(|p| p.name.as_str()) else {
        return (Declared::Nothing, Vec::new());
    };
    let mut declared = Declared::Nothing;
    let mut called = Vec::new();
    for node in super::own_nodes(info.body) {
        if node.kind() != "call" {
            continue;
        }
        let Some((method, object)) = node.child_by_field_name("function").and_then(|f| method_of(text, f)) else { continue };
        if object.kind() != "identifier" || text_of(text, object) != receiver {
            continue;
        }
        if method != "send_header" {
            called.push(method);
            continue;
        }
        let (positional, keywords) = call_arguments(text, node);
        let name = positional.first().copied().or_else(|| keywords.iter().find(|(k, _)| *k == "keyword").map(|(_, v)| *v));
        let value = positional.get(1).copied().or_else(|| keywords.iter().find(|(k, _)| *k == "value").map(|(_, v)| *v));
        let here = match name.and_then(|name| string_at(program, info.module, name)) {
            None => Declared::MaybeHtml,
            Some(name) if !name.eq_ignore_ascii_case("content-type") => continue,
            Some(_) => match value.and_then(|value| string_at(program, info.module, value)) {
                Some(content_type) if !is_html(&content_type) => Declared::NotHtml,
                _ => Declared::MaybeHtml,
            },
        };
        declared = declared.and(here);
    }
    (declared, called)
}

/// Whether the method `scope` of `class` declares a non-HTML response: its own `send_header`
/// calls and those of the class's methods it calls on `self` (one level).
fn non_html_body(program: &Program<'_>, methods: &[(&str, usize)], scope: usize) -> bool {
    let (mut declared, called) = declared_in(program, scope);
    for name in called {
        if let Some(&(_, callee)) = methods.iter().find(|(method, _)| *method == name) {
            declared = declared.and(declared_in(program, callee).0);
        }
    }
    declared == Declared::NotHtml
}

pub(super) fn generate(program: &Program<'_>, entries: &mut EntryPoints, shared: &Shared<'_, '_>) {
    let members: Vec<(String, Role)> = MEMBERS.iter().map(|m| (m.to_string(), Role::Source)).collect();
    let bases = [
        "http.server.BaseHTTPRequestHandler",
        "http.server.SimpleHTTPRequestHandler",
        "http.server.CGIHTTPRequestHandler",
        "BaseHTTPServer.BaseHTTPRequestHandler",
        "SimpleHTTPServer.SimpleHTTPRequestHandler",
    ];
    for class in shared.classes_deriving(&bases) {
        let methods = own_methods(program, &class);
        super::register_class(program, entries, &class, "http.server", &members, |_, scope| {
            let mut entry = EntryPoint::new("http.server");
            entry.non_html_body = non_html_body(program, &methods, scope);
            Some(entry)
        });
    }
}
