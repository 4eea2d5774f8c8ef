//! GraphQL resolvers: graphene (`resolve_<field>(root, info, **args)` and `mutate` of
//! `ObjectType`/`Mutation` subclasses), strawberry (`@strawberry.field` /
//! `@strawberry.mutation` methods: arguments typed by their annotations) and ariadne
//! (`@query.field("name")` on a `QueryType`/`ObjectType`/`MutationType`, or
//! `query.set_field("name", resolver)`: `(obj, info, **args)`).
//! Field arguments are sources; `root`/`obj`, `self` and `info` are not.

use super::{
    annotation_is_clean, call_arguments, calls_named, decorator_call, instance_class, method_of, modules_importing, reference, target_of,
    EntryPoint, EntryPoints, Role, Shared, Target,
};
use crate::program::{dotted, Program};

/// Arguments after `info` (or after the first `skip` explicit parameters when there is none).
fn argument_roles(program: &Program<'_>, scope: usize, skip: usize, typed: bool) -> EntryPoint {
    let info = &program.scopes[scope];
    let mut entry = EntryPoint::new("graphql");
    let explicit = usize::from(info.implicit_receiver);
    let start = info.params.iter().position(|p| p.name == "info").map_or(explicit + skip, |index| index + 1);
    for index in start..info.params.len() {
        let param = &info.params[index];
        let clean = typed && param.annotation.is_some_and(|a| annotation_is_clean(program, info.module, a));
        entry.params.push((index, if clean { Role::Clean } else { Role::Source }));
    }
    entry
}

pub(super) fn generate(program: &Program<'_>, entries: &mut EntryPoints, shared: &Shared<'_, '_>) {
    // graphene.
    for class in shared.classes_deriving(&["graphene.ObjectType", "graphene.Mutation", "graphene.types.objecttype.ObjectType"]) {
        for (name, scope) in super::own_methods(program, &class) {
            if name.starts_with("resolve_") || name == "mutate" {
                // `resolve_x(root, info, ...)` is often a staticmethod: `root` first.
                let skip = if program.scopes[scope].implicit_receiver { 1 } else { 2 };
                entries.add(scope, argument_roles(program, scope, skip, false));
            }
        }
    }
    // strawberry and ariadne decorators.
    for (index, scope) in program.scopes.iter().enumerate() {
        if scope.decorators.is_empty() {
            continue;
        }
        let text = program.text(scope.file);
        for decorator in &scope.decorators {
            let callee =
                decorator.named_child(0).map(|n| if n.kind() == "call" { n.child_by_field_name("function").unwrap_or(n) } else { n });
            let Some(callee) = callee else { continue };
            let resolved = reference(program, scope.module, callee).unwrap_or_default();
            if matches!(resolved.as_str(), "strawberry.field" | "strawberry.mutation" | "strawberry.subscription") {
                entries.add(index, argument_roles(program, index, 0, true));
                continue;
            }
            // ariadne: `@query.field("name")` on an instance of an ariadne type.
            let Some((_, call)) = decorator_call(*decorator) else { continue };
            let Some((method, object)) = method_of(text, call.child_by_field_name("function").unwrap_or(call)) else { continue };
            if method != "field" {
                continue;
            }
            let head = dotted(text, object).unwrap_or_default();
            if instance_class(program, scope.module, &head).is_some_and(|class| class.starts_with("ariadne.")) {
                entries.add(index, argument_roles(program, index, 2, false));
            }
        }
    }
    // ariadne: `query.set_field("name", resolver)` on an instance of an ariadne type.
    for module in modules_importing(program, &["ariadne"]) {
        let text = program.text(program.modules[module].file);
        for (scope, call) in calls_named(program, module, &["set_field"]) {
            let Some((_, object)) = call.child_by_field_name("function").and_then(|f| method_of(text, f)) else { continue };
            let head = dotted(text, object).unwrap_or_default();
            if !instance_class(program, module, &head).is_some_and(|class| class.starts_with("ariadne.")) {
                continue;
            }
            let (positional, keywords) = call_arguments(text, call);
            let resolver = positional.get(1).copied().or_else(|| keywords.iter().find(|(k, _)| *k == "resolver").map(|(_, v)| *v));
            if let Some(Target::Function(function)) = resolver.and_then(|resolver| target_of(program, scope, resolver)) {
                entries.add(function, argument_roles(program, function, 2, false));
            }
        }
    }
}
