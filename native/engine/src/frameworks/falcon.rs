//! Falcon: resources are plain classes whose responders are `on_get(self, req, resp, **params)`,
//! `on_post`, … (also `on_get_<suffix>`), registered with `app.add_route(template, Resource())`
//! or found in a module importing falcon. `req` is the request (the rule pack names its
//! parts); URI template fields passed as further parameters are sources.

use super::{
    call_arguments, calls_named, modules_importing, positional_after, route_params, string_at, target_of, EntryPoint, EntryPoints, Role,
    Shared, Target,
};
use crate::program::Program;

fn responder_entry(program: &Program<'_>, scope: usize, route: Option<&str>, asgi: bool) -> EntryPoint {
    let info = &program.scopes[scope];
    let mut entry = EntryPoint::new("falcon");
    let request = usize::from(info.implicit_receiver);
    if request < info.params.len() {
        let class = if asgi { "falcon.asgi.Request" } else { "falcon.Request" };
        entry.params.push((request, Role::Reference(class.to_string())));
    }
    let params = route.map(route_params).unwrap_or_default();
    for index in positional_after(program, scope, 2) {
        let name = &info.params[index].name;
        let clean = params.iter().any(|(param, converter)| param == name && super::clean_converter(converter.as_deref()));
        entry.params.push((index, if clean { Role::Clean } else { Role::Source }));
    }
    entry
}

fn register(program: &Program<'_>, entries: &mut EntryPoints, class: &str, route: Option<&str>, asgi: bool) {
    super::register_class(program, entries, class, "falcon", &[], |name, scope| {
        name.starts_with("on_").then(|| responder_entry(program, scope, route, asgi))
    });
}

pub(super) fn generate(program: &Program<'_>, entries: &mut EntryPoints, _shared: &Shared<'_, '_>) {
    let mut registered: Vec<String> = Vec::new();
    for module in modules_importing(program, &["falcon"]) {
        let text = program.text(program.modules[module].file);
        let asgi = super::imports_any(program.modules[module], &["falcon.asgi"]);
        for (scope, call) in calls_named(program, module, &["add_route"]) {
            let (positional, _) = call_arguments(text, call);
            let route = positional.first().and_then(|&node| string_at(program, module, node));
            if let Some(Target::Class(class)) = positional.get(1).and_then(|&node| target_of(program, scope, node)) {
                register(program, entries, &class, route.as_deref(), asgi);
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
            register(program, entries, class, None, asgi);
        }
    }
}
