//! `http.server`: methods of `BaseHTTPRequestHandler` subclasses (`do_GET`, `do_POST`, and the
//! helpers they call on `self`) read the request from `self.path`, `self.headers`,
//! `self.rfile`, `self.requestline` and `self.raw_requestline`: sources.

use super::{EntryPoints, Role, Shared};
use crate::program::Program;

const MEMBERS: &[&str] = &["path", "headers", "rfile", "requestline", "raw_requestline"];

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
        super::register_class(program, entries, &class, "http.server", &members, |_, _| None);
    }
}
