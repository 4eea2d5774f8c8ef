//! Tornado: methods of `tornado.web.RequestHandler` subclasses. HTTP methods receive the URL's
//! groups as positional (unnamed groups) or keyword (named groups) arguments: sources, unless
//! every route table entry naming the handler (`Application([(r"/user/([0-9]+)", UserHandler)])`,
//! `url(…)`, `URLSpec(…)`) matches that argument with a pattern that carries nothing harmful
//! (`rules::patterns`). Every method sees `self.request` (the
//! `HTTPServerRequest`, whose parts the rule pack makes sources); `self.get_argument(...)` and
//! the other accessors are inherited library members the pack names.
//!
//! What `self.write(...)`/`self.finish(...)` send is the page (`text/html`, Tornado's default),
//! unless the method's response is declared non-HTML: it, a method it calls on `self`, or the
//! class's `set_default_headers`/`prepare` (its own or inherited from a workspace base) set
//! `Content-Type` with `set_header`/`add_header`, only to constant non-HTML types
//! (`EntryPoint::non_html_body`, read by the pack's `html_only` sink). A dict written is JSON
//! (the pack's `dict_is_json`).

use crate::syntax::tree::Node;
use rustc_hash::FxHashMap;

use super::{
    call_arguments, clean_converter, method_of, modules_importing, positional_after, regex_groups, scope_at, scopes_of, string_at,
    target_of, Declared, EntryPoint, EntryPoints, Role, Shared, Target, HTTP_METHODS,
};
use crate::program::{text_of, Program};
use crate::syntax::{field, FieldChild, MAX_STATEMENT_DEPTH};
use crate::templates::Autoescape;

/// A route's groups: (name, pattern), in order.
type Groups = Vec<(Option<String>, String)>;

pub(super) fn generate(program: &Program<'_>, entries: &mut EntryPoints, shared: &Shared<'_, '_>) {
    let members = [("request".to_string(), Role::Reference("tornado.web.RequestHandler.request".to_string()))];
    let routes = route_tables(program);
    for class in shared.classes_deriving(&["tornado.web.RequestHandler", "tornado.websocket.WebSocketHandler"]) {
        super::register_class(program, entries, &class, "tornado", &members, |name, scope| {
            // Every method: a helper writing the page decides by the headers it sets too.
            let mut entry = EntryPoint::new("tornado");
            entry.non_html_body = non_html_body(program, &class, scope);
            if !(HTTP_METHODS.contains(&name) || name == "on_message" || name == "open") {
                return Some(entry);
            }
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
            Some(entry)
        });
    }
}

/// Methods Tornado runs before every HTTP method: the headers they set hold for its response
/// unless it sets its own.
const BEFORE: &[&str] = &["set_default_headers", "prepare"];

/// The methods setting a response header.
const HEADER_METHODS: &[&str] = &["set_header", "add_header"];

/// A method called on the receiver, with the keywords the call passes (`None`: any, through
/// `**kwargs`).
struct Called<'p> {
    name: &'p str,
    keywords: Option<Vec<&'p str>>,
}

/// The scope of method `name` as instances of `class` find it: the class's own, or the first
/// workspace ancestor's.
fn method_in(program: &Program<'_>, class: &str, name: &str) -> Option<usize> {
    program.ancestors(class).iter().find_map(|ancestor| program.class(ancestor)?.methods.get(name).copied())
}

/// The default of the keyword a name is bound to, once, in `scope`'s body: `ct =
/// kwargs.pop("set_content_type", "application/json")` (or `.get`) of the method's `**kwargs`
/// parameter. `(keyword, default)`.
fn keyword_default(program: &Program<'_>, scope: usize, name: &str) -> Option<(String, String)> {
    let info = &program.scopes[scope];
    let text = program.text(info.file);
    let mut bound = None;
    for node in super::own_nodes(info.body) {
        if node.kind() != "identifier" || text_of(text, node) != name {
            continue;
        }
        let Some(parent) = node.parent() else { continue };
        let is_field = |field: &str| parent.child_by_field_name(field).is_some_and(|f| f.id() == node.id());
        match parent.kind() {
            // Bound twice: unknown.
            "assignment" if is_field("left") && bound.replace(parent.child_by_field_name("right")?).is_some() => return None,
            "assignment" => {}
            // Bound another way ( by a loop, a pattern, `+=`, `:=`, `global`): unknown.
            "augmented_assignment" if is_field("left") => return None,
            "for_statement" | "for_in_clause" if is_field("left") => return None,
            "named_expression" if is_field("name") => return None,
            "pattern_list" | "tuple_pattern" | "list_pattern" | "as_pattern_target" | "global_statement" | "nonlocal_statement" => {
                return None
            }
            _ => {}
        }
    }
    let call = bound.filter(|value| value.kind() == "call")?;
    let (method, object) = call.child_by_field_name("function").and_then(|f| method_of(text, f))?;
    let keywords = info.params.iter().find(|p| p.variadic && text_of(text, object) == p.name)?;
    if !matches!(method, "pop" | "get") || object.kind() != "identifier" || text_of(text, object) != keywords.name {
        return None;
    }
    let (positional, named) = call_arguments(text, call);
    if positional.len() != 2 || !named.is_empty() {
        return None;
    }
    Some((string_at(program, info.module, positional[0])?, string_at(program, info.module, positional[1])?))
}

/// The `Content-Type` set by `set_header`/`add_header` calls on the receiver in `scope`'s own
/// body (nested definitions left out: they may not run), called with `passed` keywords (`None`:
/// any), and the other methods it calls on the receiver.
fn declared_in<'p>(program: &Program<'p>, scope: usize, passed: Option<&[&str]>) -> (Declared, Vec<Called<'p>>) {
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
        let (positional, keywords) = call_arguments(text, node);
        if !HEADER_METHODS.contains(&method) {
            let splat = node.field(&field::ARGUMENTS).is_some_and(|list| {
                let mut cursor = list.walk();
                let found = list.named_children(&mut cursor).any(|argument| argument.kind() == "dictionary_splat");
                found
            });
            called.push(Called { name: method, keywords: (!splat).then(|| keywords.iter().map(|(k, _)| *k).collect()) });
            continue;
        }
        let name = positional.first().copied().or_else(|| keywords.iter().find(|(k, _)| *k == "name").map(|(_, v)| *v));
        let value = positional.get(1).copied().or_else(|| keywords.iter().find(|(k, _)| *k == "value").map(|(_, v)| *v));
        let content_type = |value: Node<'_>| {
            string_at(program, info.module, value).or_else(|| {
                // A keyword's default, when the call passes no such keyword.
                let (keyword, default) =
                    (value.kind() == "identifier").then(|| keyword_default(program, scope, text_of(text, value)))??;
                passed.is_some_and(|passed| !passed.contains(&keyword.as_str())).then_some(default)
            })
        };
        let here = match name.and_then(|name| string_at(program, info.module, name)) {
            None => Declared::MaybeHtml,
            Some(name) if !name.eq_ignore_ascii_case("content-type") => continue,
            Some(_) => match value.and_then(content_type) {
                Some(content_type) if !super::is_html(&content_type) => Declared::NotHtml,
                _ => Declared::MaybeHtml,
            },
        };
        declared = declared.and(here);
    }
    (declared, called)
}

/// Whether the response of method `scope` of `class` is declared non-HTML. Tornado runs
/// `set_default_headers` and `prepare` before an HTTP method and `finish()` after it (when the
/// method did not): the last of these to set a `Content-Type` decides — the method's own (with
/// those of the methods it calls on `self`, one level) replace the defaults, a workspace
/// `finish` override replaces both — and it must be constant and not HTML.
fn non_html_body(program: &Program<'_>, class: &str, scope: usize) -> bool {
    let none: &[&str] = &[];
    let declared = |name: &str, passed: Option<&[&str]>| {
        method_in(program, class, name)
            .filter(|&callee| callee != scope)
            .map_or(Declared::Nothing, |callee| declared_in(program, callee, passed).0)
    };
    let before = BEFORE.iter().fold(Declared::Nothing, |sum, name| sum.and(declared(name, Some(none))));
    // Its own keyword defaults hold (`finish(self, **kwargs)` setting `kwargs.pop("type",
    // "application/json")`); a call on `self` passing that keyword decides in its caller.
    let (mut during, called) = declared_in(program, scope, Some(none));
    // Tornado's own `finish()`, when the method does not call it: no keywords.
    let mut after = declared("finish", Some(none));
    for call in &called {
        let passed = call.keywords.as_deref();
        if call.name == "finish" {
            after = after.and(declared("finish", passed));
        } else {
            during = during.and(declared(call.name, passed));
        }
    }
    before.then(during).then(after) == Declared::NotHtml
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

/// What a program stores under a key of a Tornado application's settings
/// (`setting_environment`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SettingValue {
    /// A Jinja2 environment (a call the packs name in `[[template_objects]] environments`, or of
    /// a workspace class deriving from one) with this autoescaping: of several, the least.
    Environment(Autoescape),
    /// Not known: stored nowhere the analysis sees, or a value it cannot tell (a parameter, an
    /// attribute, a workspace function's result).
    Unknown,
    /// Only values that are no environment (literals, instances of workspace classes deriving
    /// from none).
    Other,
}

/// Nesting levels followed from a stored value to the environment call it names (a name bound
/// to a name bound to the call).
const MAX_BINDINGS: usize = 4;

/// What the program stores under `key` of an application's settings, read from the modules
/// importing the packages of the packs' `application_settings` (Tornado): the keyword `key=` of
/// a call (`Application(handlers, key=env)`, `dict(key=env)` later passed as `**settings`), a
/// `"key": env` pair of a dict literal, and `x["key"] = env` (`settings`, `web_app.settings`).
/// Any such store counts, whichever mapping it goes into: the key names the environment, the
/// way the handlers read it. Read after the solver (`taint::findings`), like
/// `render::application_autoescape`, so no function's analysis depends on it.
pub(crate) fn setting_environment(program: &Program<'_>, rules: &crate::rules::RuleSet, key: &str) -> SettingValue {
    let mut packages: Vec<&str> =
        rules.template_objects.application_settings.iter().filter_map(|settings| settings.split('.').next()).collect();
    packages.sort_unstable();
    packages.dedup();
    let (mut environment, mut unknown, mut other) = (None, false, false);
    for module in modules_importing(program, &packages) {
        let file = program.modules[module].file;
        let text = program.text(file);
        if memchr::memmem::find(text.as_bytes(), key.as_bytes()).is_none() {
            continue;
        }
        let scopes: Vec<usize> = scopes_of(program, module).collect();
        let mut stack = vec![(program.files[file].document.root(), 0usize)];
        while let Some((node, depth)) = stack.pop() {
            let stored = match node.kind() {
                "keyword_argument" => node
                    .field(&field::NAME)
                    .filter(|name| text_of(text, *name) == key && node.parent().is_some_and(|list| list.kind() == "argument_list"))
                    .and_then(|_| node.field(&field::VALUE)),
                "pair" => node
                    .field(&field::KEY)
                    .filter(|k| string_at(program, module, *k).as_deref() == Some(key))
                    .and_then(|_| node.field(&field::VALUE)),
                "assignment" => node
                    .field(&field::LEFT)
                    .filter(|left| left.kind() == "subscript")
                    .and_then(|left| left.field(&field::SUBSCRIPT))
                    .filter(|k| string_at(program, module, *k).as_deref() == Some(key))
                    .and_then(|_| node.field(&field::RIGHT)),
                _ => None,
            };
            if let Some(value) = stored {
                let scope = scope_at(program, module, &scopes, node.start_byte());
                match stored_value(program, rules, module, scope, value, 0) {
                    SettingValue::Environment(autoescape) => {
                        environment = Some(environment.map_or(autoescape, |known| least_escaping(known, autoescape)))
                    }
                    SettingValue::Unknown => unknown = true,
                    SettingValue::Other => other = true,
                }
            }
            if depth < MAX_STATEMENT_DEPTH * 4 {
                let mut cursor = node.walk();
                stack.extend(node.named_children(&mut cursor).map(|child| (child, depth + 1)));
            }
        }
    }
    match environment {
        Some(autoescape) => SettingValue::Environment(autoescape),
        None if other && !unknown => SettingValue::Other,
        None => SettingValue::Unknown,
    }
}

/// The less escaping of two autoescapings (toward more findings).
fn least_escaping(a: Autoescape, b: Autoescape) -> Autoescape {
    match (a, b) {
        (Autoescape::Off | Autoescape::Application, _) | (_, Autoescape::Off | Autoescape::Application) => Autoescape::Off,
        (Autoescape::ByExtension, _) | (_, Autoescape::ByExtension) => Autoescape::ByExtension,
        _ => Autoescape::On,
    }
}

/// What a stored value is: an environment call, a name bound to one in its scope (or the
/// module's), a literal, or unknown.
fn stored_value(
    program: &Program<'_>,
    rules: &crate::rules::RuleSet,
    module: usize,
    scope: usize,
    value: Node<'_>,
    depth: usize,
) -> SettingValue {
    let text = program.text(program.modules[module].file);
    match value.kind() {
        "call" => {
            let Some(reference) = value.field(&field::FUNCTION).and_then(|callee| super::reference(program, module, callee)) else {
                return SettingValue::Unknown;
            };
            let environments = &rules.template_objects.environments;
            let environment = environments.contains(&reference)
                || (program.class(&reference).is_some() && program.ancestors(&reference).iter().any(|a| environments.contains(a)));
            if environment {
                return SettingValue::Environment(environment_autoescape(program, module, scope, value, depth));
            }
            // A workspace class's instance is no environment; a function's result (a factory,
            // the workspace's or a library's: a library class cannot be told from one) may be.
            if program.class(&reference).is_some() {
                SettingValue::Other
            } else {
                SettingValue::Unknown
            }
        }
        "identifier" if depth < MAX_BINDINGS => {
            let name = text_of(text, value);
            let module_scope = super::module_scope(program, module);
            for scope in [scope, module_scope] {
                let bound = bindings(program, scope, name);
                if !bound.is_empty() {
                    let mut values = bound.into_iter().map(|bound| stored_value(program, rules, module, scope, bound, depth + 1));
                    let first = values.next().unwrap_or(SettingValue::Unknown);
                    return values.fold(first, |sum, next| match (sum, next) {
                        (SettingValue::Environment(a), SettingValue::Environment(b)) => SettingValue::Environment(least_escaping(a, b)),
                        (SettingValue::Environment(a), _) | (_, SettingValue::Environment(a)) => SettingValue::Environment(a),
                        (SettingValue::Other, SettingValue::Other) => SettingValue::Other,
                        _ => SettingValue::Unknown,
                    });
                }
                if scope == module_scope {
                    break;
                }
            }
            SettingValue::Unknown
        }
        "string" | "concatenated_string" | "integer" | "float" | "true" | "false" | "none" | "list" | "tuple" | "set" | "dictionary" => {
            SettingValue::Other
        }
        _ => SettingValue::Unknown,
    }
}

/// The values `name = value` binds in `scope`'s own body (nested definitions left out).
fn bindings<'t>(program: &Program<'t>, scope: usize, name: &str) -> Vec<Node<'t>> {
    let info = &program.scopes[scope];
    let text = program.text(info.file);
    super::own_nodes(info.body)
        .filter(|node| node.kind() == "assignment")
        .filter(|node| node.field(&field::LEFT).is_some_and(|left| left.kind() == "identifier" && text_of(text, left) == name))
        .filter_map(|node| node.field(&field::RIGHT))
        .collect()
}

/// The autoescaping of an environment call: its `autoescape=`, else the `"autoescape"` entry
/// of a `**options` it passes (a name bound in its scope to `dict(autoescape=…)` or
/// `{"autoescape": …}`: jupyterhub's and jupyter_server's `**jinja_options`), else off
/// (Jinja's default; an entry the analysis cannot read counts as off too).
fn environment_autoescape(program: &Program<'_>, module: usize, scope: usize, call: Node<'_>, depth: usize) -> Autoescape {
    let text = program.text(program.modules[module].file);
    if let Some(asked) = crate::program::autoescape_keyword(text, call) {
        return asked;
    }
    let Some(arguments) = call.field(&field::ARGUMENTS) else { return Autoescape::Off };
    let mut cursor = arguments.walk();
    let splats: Vec<Node<'_>> = arguments.named_children(&mut cursor).filter(|a| a.kind() == "dictionary_splat").collect();
    let mut found = None;
    for splat in splats {
        let Some(inner) = splat.named_child(0) else { continue };
        let options = match inner.kind() {
            "identifier" if depth < MAX_BINDINGS => bindings(program, scope, text_of(text, inner)),
            "call" | "dictionary" => vec![inner],
            _ => Vec::new(),
        };
        for option in options {
            let entry = match option.kind() {
                "call" if option.field(&field::FUNCTION).is_some_and(|f| text_of(text, f) == "dict") => {
                    crate::program::autoescape_keyword(text, option)
                }
                "dictionary" => {
                    let mut cursor = option.walk();
                    let pairs: Vec<Node<'_>> = option.named_children(&mut cursor).filter(|p| p.kind() == "pair").collect();
                    pairs.into_iter().find_map(|pair| {
                        let key = pair.field(&field::KEY)?;
                        (string_at(program, module, key).as_deref() == Some("autoescape"))
                            .then(|| pair.field(&field::VALUE).map(|v| crate::program::autoescape_value(text, v)))
                            .flatten()
                    })
                }
                _ => None,
            };
            if let Some(entry) = entry {
                found = Some(found.map_or(entry, |known| least_escaping(known, entry)));
            }
        }
    }
    found.unwrap_or(Autoescape::Off)
}

#[cfg(test)]
mod tests {
    use super::{setting_environment, SettingValue};
    use crate::program::Program;
    use crate::rules::RuleSet;
    use crate::templates::Autoescape;

    fn stored(files: &[(&str, &str)], key: &str) -> SettingValue {
        let documents: Vec<(String, crate::parse::Document)> =
            files.iter().map(|(path, text)| (path.to_string(), crate::parse::Document::new(text.to_string()))).collect();
        let parts = crate::program::build_parts(documents.iter().map(|(path, document)| (path.clone(), document)).collect());
        let program = Program::from_parts(&parts);
        setting_environment(&program, &RuleSet::builtin(), key)
    }

    #[test]
    fn a_settings_key_holds_an_environment_something_else_or_what_the_analysis_cannot_tell() {
        let app = "import tornado.web\nfrom jinja2 import Environment, select_autoescape\nfrom envs import make_env, Plain\n\n\n\
                   def main(handlers, given):\n    options = {'autoescape': False}\n    plain = Environment(**options)\n    \
                   settings = {'plain_env': plain, 'ext_env': Environment(autoescape=select_autoescape()), 'title': 'Hub'}\n    \
                   settings['made_env'] = make_env()\n    settings['given_env'] = given\n    settings['plain'] = Plain()\n    \
                   settings['both_env'] = Environment(autoescape=True)\n    \
                   return tornado.web.Application(handlers, both_env=Environment(), **settings)\n";
        let envs =
            "from jinja2 import Environment\n\n\nclass Plain:\n    pass\n\n\ndef make_env():\n    return Environment(autoescape=True)\n";
        let files = [("app.py", app), ("envs.py", envs)];
        assert_eq!(stored(&files, "plain_env"), SettingValue::Environment(Autoescape::Off), "**options' autoescape");
        assert_eq!(stored(&files, "ext_env"), SettingValue::Environment(Autoescape::ByExtension));
        assert_eq!(stored(&files, "both_env"), SettingValue::Environment(Autoescape::Off), "of two, the least escaping");
        assert_eq!(stored(&files, "title"), SettingValue::Other);
        assert_eq!(stored(&files, "plain"), SettingValue::Other, "a workspace class's instance");
        assert_eq!(stored(&files, "made_env"), SettingValue::Unknown, "a factory's result");
        assert_eq!(stored(&files, "given_env"), SettingValue::Unknown, "a parameter");
        assert_eq!(stored(&files, "nowhere_env"), SettingValue::Unknown, "stored nowhere");
        let without_tornado = app.replace("import tornado.web\n", "");
        let untouched = [("app.py", without_tornado.as_str()), ("envs.py", envs)];
        assert_eq!(stored(&untouched, "plain_env"), SettingValue::Unknown, "only modules importing tornado store settings");
    }
}
