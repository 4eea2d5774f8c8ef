//! connexion: handlers named by the `operationId`s of the OpenAPI (or Swagger 2) spec an app
//! loads with `app.add_api("spec.yaml")` (relative to the module's directory and the app's
//! `specification_dir`). The spec is read from the project (YAML or JSON, through `safe_open`
//! under the program's root; none read without a root). connexion passes path, query, header
//! and body values as keyword arguments named like the spec's parameters: sources, unless the
//! spec types them `integer`, `number` or `boolean`. `user` and `token_info` come from
//! security handlers, not the request.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{call_arguments, calls_named, keyword, modules_importing, string_at, EntryPoint, EntryPoints, Role, Shared};
use crate::program::Program;

/// The largest spec read.
const SPEC_LIMIT: u64 = 8 << 20;
const OPERATIONS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch", "trace"];

pub(super) fn generate(program: &Program<'_>, entries: &mut EntryPoints, _shared: &Shared<'_, '_>) {
    let Some(root) = &program.root else { return };
    for module in modules_importing(program, &["connexion"]) {
        let text = program.text(program.modules[module].file);
        let specification_dir = calls_named(program, module, &["App", "FlaskApp", "AsyncApp"])
            .into_iter()
            .find_map(|(_, call)| keyword(text, call, "specification_dir").and_then(|dir| string_at(program, module, dir)))
            .unwrap_or_default();
        let directory = Path::new(&program.files[program.modules[module].file].path).parent().map(Path::to_path_buf).unwrap_or_default();
        for (_, call) in calls_named(program, module, &["add_api"]) {
            let (positional, _) = call_arguments(text, call);
            let Some(spec) = positional.first().copied().or_else(|| keyword(text, call, "specification")) else { continue };
            let Some(spec) = string_at(program, module, spec) else { continue };
            let path = root.join(&directory).join(&specification_dir).join(&spec);
            let Some(document) = read_spec(&path, root) else { continue };
            for (operation, parameters) in operations(&document) {
                let Some(handler) = program.function(&operation) else { continue };
                entries.add(handler, handler_entry(program, handler, &parameters));
            }
        }
    }
}

/// The spec as JSON values (YAML converted), or None when it cannot be read or parsed.
fn read_spec(path: &Path, root: &Path) -> Option<Value> {
    let bytes = crate::safe_open::read_regular_file(path, &[PathBuf::from(root)], SPEC_LIMIT).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    if path.extension().is_some_and(|e| e == "json") {
        return serde_json::from_str(&text).ok();
    }
    let documents = yaml_rust2::YamlLoader::load_from_str(&text).ok()?;
    documents.into_iter().next().map(|yaml| json_of(&yaml, 0))
}

/// A YAML value as JSON (bounded depth; deeper values are null).
fn json_of(yaml: &yaml_rust2::Yaml, depth: usize) -> Value {
    use yaml_rust2::Yaml;
    if depth > 64 {
        return Value::Null;
    }
    match yaml {
        Yaml::String(s) | Yaml::Real(s) => Value::String(s.clone()),
        Yaml::Integer(i) => Value::from(*i),
        Yaml::Boolean(b) => Value::Bool(*b),
        Yaml::Array(items) => Value::Array(items.iter().map(|item| json_of(item, depth + 1)).collect()),
        Yaml::Hash(map) => Value::Object(
            map.iter()
                .filter_map(|(key, value)| {
                    let key = match key {
                        Yaml::String(s) | Yaml::Real(s) => s.clone(),
                        Yaml::Integer(i) => i.to_string(),
                        Yaml::Boolean(b) => b.to_string(),
                        _ => return None,
                    };
                    Some((key, json_of(value, depth + 1)))
                })
                .collect(),
        ),
        _ => Value::Null,
    }
}

/// (parameter name, whether the spec types it as a number or boolean).
type SpecParameter = (String, bool);

/// Each operation's handler (`x-openapi-router-controller` + `operationId`, or `operationId`)
/// with its parameters (the path item's and its own).
fn operations(document: &Value) -> Vec<(String, Vec<SpecParameter>)> {
    let mut found = Vec::new();
    let Some(paths) = document.get("paths").and_then(Value::as_object) else { return found };
    for item in paths.values() {
        let shared = parameters_of(item);
        for method in OPERATIONS {
            let Some(operation) = item.get(*method) else { continue };
            let Some(id) = operation.get("operationId").and_then(Value::as_str) else { continue };
            let controller = operation.get("x-openapi-router-controller").or_else(|| item.get("x-openapi-router-controller"));
            let handler = match controller.and_then(Value::as_str) {
                Some(controller) => format!("{controller}.{id}"),
                None => id.to_string(),
            };
            let mut parameters = shared.clone();
            parameters.extend(parameters_of(operation));
            found.push((handler, parameters));
        }
    }
    found
}

fn parameters_of(node: &Value) -> Vec<SpecParameter> {
    let Some(list) = node.get("parameters").and_then(Value::as_array) else { return Vec::new() };
    list.iter()
        .filter_map(|parameter| {
            let name = parameter.get("name")?.as_str()?;
            // OpenAPI 3 puts the type under `schema`; Swagger 2 on the parameter.
            let kind = parameter.get("schema").and_then(|schema| schema.get("type")).or_else(|| parameter.get("type"));
            let typed = kind.and_then(Value::as_str).is_some_and(|kind| matches!(kind, "integer" | "number" | "boolean"));
            Some((snake_case(name), typed))
        })
        .collect()
}

/// connexion's argument names: `petId` → `pet_id`, `X-Name` → `x_name`.
fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for (index, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if index > 0 && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if c == '-' || c == '.' {
            out.push('_');
        } else {
            out.push(c);
        }
    }
    out
}

fn handler_entry(program: &Program<'_>, scope: usize, parameters: &[SpecParameter]) -> EntryPoint {
    let info = &program.scopes[scope];
    let mut entry = EntryPoint::new("connexion");
    for (index, param) in info.params.iter().enumerate().skip(usize::from(info.implicit_receiver)) {
        if matches!(param.name.as_str(), "user" | "token_info") {
            continue;
        }
        let typed = parameters.iter().any(|(name, typed)| *typed && *name == param.name);
        entry.params.push((index, if typed { Role::Clean } else { Role::Source }));
    }
    entry
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_name_handlers_and_type_parameters() {
        let yaml = "paths:\n  /pets/{petId}:\n    parameters:\n      - name: petId\n        in: path\n        schema: {type: integer}\n    get:\n      operationId: api.pets.show\n      parameters:\n        - name: q\n          in: query\n          schema: {type: string}\n";
        let document = json_of(&yaml_rust2::YamlLoader::load_from_str(yaml).unwrap()[0], 0);
        assert_eq!(
            operations(&document),
            vec![("api.pets.show".to_string(), vec![("pet_id".to_string(), true), ("q".to_string(), false)])]
        );
    }
}
