//! Tornado: methods of `tornado.web.RequestHandler` subclasses. HTTP methods receive the URL's
//! groups as positional arguments (sources); every method sees `self.request` (the
//! `HTTPServerRequest`, whose parts the rule pack makes sources); `self.get_argument(...)` and
//! the other accessors are inherited library members the pack names.

use super::{positional_after, EntryPoint, EntryPoints, Role, Shared, HTTP_METHODS};
use crate::program::Program;

pub(super) fn generate(program: &Program<'_>, entries: &mut EntryPoints, shared: &Shared<'_>) {
    let members = [("request".to_string(), Role::Reference("tornado.web.RequestHandler.request".to_string()))];
    for class in shared.classes_deriving(&["tornado.web.RequestHandler", "tornado.websocket.WebSocketHandler"]) {
        super::register_class(program, entries, &class, "tornado", &members, |name, scope| {
            (HTTP_METHODS.contains(&name) || name == "on_message" || name == "open").then(|| {
                let mut entry = EntryPoint::new("tornado");
                entry.html_response = false;
                for index in positional_after(program, scope, 0) {
                    entry.params.push((index, Role::Source));
                }
                entry
            })
        });
    }
}
