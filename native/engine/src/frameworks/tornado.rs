//! Tornado: methods of `tornado.web.RequestHandler` subclasses. HTTP methods receive the URL's
//! groups as positional (unnamed groups) or keyword (named groups) arguments: sources, unless
//! every route table entry naming the handler (`Application([(r"/user/([0-9]+)", UserHandler)])`,
//! `url(…)`, `URLSpec(…)`) matches that argument with a pattern that carries nothing harmful
//! (`rules::patterns`). Every method sees `self.request` (the
//! `HTTPServerRequest`, whose parts the rule pack makes sources); `self.get_argument(...)` and
//! the other accessors are inherited library members the pack names.

use crate::syntax::tree::Node;
use rustc_hash::FxHashMap;

use super::{
    call_arguments, clean_converter, modules_importing, positional_after, regex_groups, scope_at, scopes_of, string_at, target_of,
    EntryPoint, EntryPoints, Role, Shared, Target, HTTP_METHODS,
};
use crate::program::{text_of, Program};
use crate::syntax::{field, FieldChild, MAX_STATEMENT_DEPTH};

/// A route's groups: (name, pattern), in order.
type Groups = Vec<(Option<String>, String)>;

pub(super) fn generate(program: &Program<'_>, entries: &mut EntryPoints, shared: &Shared<'_, '_>) {
    let members = [("request".to_string(), Role::Reference("tornado.web.RequestHandler.request".to_string()))];
    let routes = route_tables(program);
    for class in shared.classes_deriving(&["tornado.web.RequestHandler", "tornado.websocket.WebSocketHandler"]) {
        super::register_class(program, entries, &class, "tornado", &members, |name, scope| {
            (HTTP_METHODS.contains(&name) || name == "on_message" || name == "open").then(|| {
                let mut entry = EntryPoint::new("tornado");
                entry.html_response = false;
                let routes = routes.get(class.as_str()).map(Vec::as_slice).unwrap_or_default();
                let info = &program.scopes[scope];
                for (position, index) in positional_after(program, scope, 0).into_iter().enumerate() {
                    let name = info.params[index].name.as_str();
                    // Clean only when every route passes it a clean group (a named group by
                    // its name, an unnamed one by its position).
                    let clean = !routes.is_empty()
                        && routes.iter().all(|groups| {
                            let named = groups.iter().any(|(group, _)| group.is_some());
                            let group =
                                if named { groups.iter().find(|(group, _)| group.as_deref() == Some(name)) } else { groups.get(position) };
                            group.is_some_and(|(_, pattern)| clean_converter(Some(&format!("re:{pattern}"))))
                        });
                    entry.params.push((index, if clean { Role::Clean } else { Role::Source }));
                }
                entry
            })
        });
    }
}

/// The groups of every route naming each handler class: `(pattern, Handler, …)` tuples and
/// `url(pattern, Handler, …)` / `URLSpec(…)` calls in modules importing tornado.
fn route_tables(program: &Program<'_>) -> FxHashMap<String, Vec<Groups>> {
    let mut routes: FxHashMap<String, Vec<Groups>> = FxHashMap::default();
    for module in modules_importing(program, &["tornado"]) {
        let file = program.modules[module].file;
        let text = program.text(file);
        let scopes: Vec<usize> = scopes_of(program, module).collect();
        let mut stack = vec![(program.files[file].document.root(), 0usize)];
        while let Some((node, depth)) = stack.pop() {
            let parts: Option<(Node<'_>, Node<'_>)> = match node.kind() {
                "tuple" => node.named_child(0).zip(node.named_child(1)),
                "call" => {
                    let callee = node.field(&field::FUNCTION);
                    let last = callee.map(|c| c.field(&field::ATTRIBUTE).map_or_else(|| text_of(text, c), |a| text_of(text, a)));
                    let (positional, _) = call_arguments(text, node);
                    (matches!(last, Some("url" | "URLSpec")) && positional.len() >= 2).then(|| (positional[0], positional[1]))
                }
                _ => None,
            };
            if let Some((pattern, handler)) = parts {
                let scope = scope_at(program, module, &scopes, node.start_byte());
                if let (Some(pattern), Some(Target::Class(class))) =
                    (string_at(program, module, pattern), target_of(program, scope, handler))
                {
                    routes.entry(class).or_default().push(regex_groups(&pattern));
                }
            }
            if depth < MAX_STATEMENT_DEPTH * 4 {
                let mut cursor = node.walk();
                stack.extend(node.named_children(&mut cursor).map(|child| (child, depth + 1)));
            }
        }
    }
    routes
}
