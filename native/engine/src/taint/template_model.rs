//! What the program's Python side says of its templates' expressions (`TemplateModel`), read
//! after the solver for the join of render sites with templates (`findings::finalize`):
//!
//! - the project's own Jinja/Django filters, each judged by its function's summary: a filter
//!   is *clean* when its first parameter (the filtered value) does not reach its return value
//!   uncleared for XSS (it returns constants, numbers or escaped text), so
//!   `{{ watch|format_time|safe }}` writes nothing of `watch`; when its other parameters reach
//!   the result, only a use without arguments is clean (`|ago`, not `|ago(unit)`); any other
//!   filter passes its input through, as before — also one registered under a built-in
//!   filter's name (`@app.template_filter("e")`, `env.filters["escape"] = f`, Django's
//!   `register.filter("escape", f)`), which is the project's filter, not the escaping one
//!   (`TemplateModel::project_filters`; a Django library's filters count in every template,
//!   loaded or not, toward findings) — but not the template libraries' own registrations
//!   (`django.template.defaultfilters`' `safe`, when Django itself is analysed: the built-ins);
//! - whether the program uses a form library whose fields render escaped markup when called
//!   (`[[template_markup]]` packages imported by some module).
//!
//! Invariants (toward findings):
//! - A filter name is clean only when every registration of it is a function whose analysis
//!   completed (no `failed` scope) and the solver finished; a filter registered as a lambda, a
//!   callable object or anything the registration's expression does not resolve to a workspace
//!   function passes its input through.
//! - Registrations: `@x.template_filter(name?)`, `@x.app_template_filter(name?)` (Flask,
//!   blueprints), `x.add_template_filter(f, name?)`, `x.add_app_template_filter(f, name?)`,
//!   `x.filters["name"] = f` (a Jinja environment's filter table), and in modules importing
//!   Django `@register.filter`, `@register.filter("name")`, `register.filter("name", f)`. A
//!   registration without a name registers the function's own name.

use rustc_hash::FxHashMap;

use super::summary::{field_of, Summary};
use super::Incomplete;
use crate::frameworks::{call_arguments, decorator_call, method_of, scope_at, scopes_of, string_at, target_of, Target};
use crate::program::{text_of, Program, ScopeKind};
use crate::rules::{sink_kind_bit, RuleSet};
use crate::syntax::tree::Node;
use crate::syntax::{field, FieldChild, MAX_STATEMENT_DEPTH};
use crate::templates::{FormValue, TemplateModel};

/// Packages whose own filter registrations define the built-in filters (`templates::syntax`).
const TEMPLATE_LIBRARIES: &[&str] = &["django", "jinja2", "flask", "quart"];

/// Decorator methods registering a Flask filter.
const FLASK_DECORATORS: &[&str] = &["template_filter", "app_template_filter"];
/// Methods registering a Flask filter by call: `(function, name?)`.
const FLASK_CALLS: &[&str] = &["add_template_filter", "add_app_template_filter"];

/// The model of `program`'s templates, from its solved `summaries`.
pub(super) fn template_model(
    program: &Program<'_>,
    rules: &RuleSet,
    (summaries, incomplete, unfinished): (&[Summary], &[Incomplete], bool),
) -> TemplateModel {
    let packages: Vec<&str> = rules.template_markup.iter().map(String::as_str).collect();
    let markup_calls =
        !packages.is_empty() && (0..program.modules.len()).any(|m| crate::frameworks::imports_any(program.modules[m], &packages));
    let found = registrations(program);
    // Every name registered is the project's filter, clean or not (a built-in name included),
    // unless the registration is the template library's own (`django.template.defaultfilters`
    // registering `safe` and `escape` when Django itself is analysed): those are the built-ins
    // the template lexer knows.
    let project_filters = found
        .iter()
        .filter(|(_, _, module)| {
            let top = program.modules[*module].name.split('.').next().unwrap_or_default();
            !TEMPLATE_LIBRARIES.contains(&top)
        })
        .map(|(name, _, _)| name.clone())
        .collect();
    let found: Vec<(String, Option<usize>)> = found.into_iter().map(|(name, scope, _)| (name, scope)).collect();
    let mut model = TemplateModel { markup_calls, project_filters, ..TemplateModel::default() };
    if unfinished {
        return model;
    }
    let xss = sink_kind_bit("XSS").unwrap_or(0);
    // Filter name → (its input reaches no result, its other parameters reach one).
    let mut by_name: FxHashMap<String, (bool, bool)> = FxHashMap::default();
    for (name, scope) in found {
        let (input_clean, arguments_pass) = match scope.filter(|&scope| incomplete.get(scope).is_some_and(|limits| limits.failed == 0)) {
            Some(scope) => {
                let returned: Vec<usize> = summaries
                    .get(scope)
                    .map(|summary| {
                        summary.param_returns.iter().filter(|(_, cleared, _, _)| cleared & xss == 0).map(|entry| entry.0).collect()
                    })
                    .unwrap_or_default();
                let slot = |param: usize| field_of(param).map_or(param, |(slot, _)| slot);
                (!returned.iter().any(|&param| slot(param) == 0), returned.iter().any(|&param| slot(param) != 0))
            }
            None => (false, true),
        };
        let entry = by_name.entry(name).or_insert((true, false));
        entry.0 &= input_clean;
        entry.1 |= arguments_pass;
    }
    model.clean_filters = by_name
        .into_iter()
        .filter(|(_, (input_clean, _))| *input_clean)
        .map(|(name, (_, arguments_pass))| (name, arguments_pass))
        .collect();
    model
}

/// The last component of a scope's qualified name (a function's own name).
fn own_name(program: &Program<'_>, scope: usize) -> String {
    let qualified = &program.scopes[scope].qualified_name;
    qualified.rsplit('.').next().unwrap_or(qualified).to_string()
}

/// Every filter registration of the program: (filter name, the function registered, `None`
/// when the registration names something that is not a workspace function; the module making
/// the registration).
pub(super) fn registrations(program: &Program<'_>) -> Vec<(String, Option<usize>, usize)> {
    let mut found = Vec::new();
    // Decorated functions.
    for (index, scope) in program.scopes.iter().enumerate() {
        if scope.decorators.is_empty() || scope.kind != ScopeKind::Function {
            continue;
        }
        let text = program.text(scope.file);
        let django = crate::frameworks::imports_any(program.modules[scope.module], &["django"]);
        for decorator in &scope.decorators {
            let (callee, call) = match decorator_call(*decorator) {
                Some((callee, call)) => (callee, Some(call)),
                None => match decorator.named_child(0) {
                    Some(callee) => (callee, None),
                    None => continue,
                },
            };
            let Some((method, _)) = method_of(text, callee) else { continue };
            if !(FLASK_DECORATORS.contains(&method) || (django && method == "filter")) {
                continue;
            }
            let named = call.and_then(|call| {
                let (positional, keywords) = call_arguments(text, call);
                let argument = positional.first().copied().or_else(|| keywords.iter().find(|(k, _)| *k == "name").map(|(_, v)| *v))?;
                string_at(program, scope.module, argument)
            });
            found.push((named.unwrap_or_else(|| own_name(program, index)), Some(index), scope.module));
        }
    }
    for module in 0..program.modules.len() {
        let text = program.text(program.modules[module].file);
        let django = crate::frameworks::imports_any(program.modules[module], &["django"]);
        // `app.add_template_filter(f, "name")`, Django's `register.filter("name", f)`.
        let names: &[&str] = if django { &["add_template_filter", "add_app_template_filter", "filter"] } else { FLASK_CALLS };
        for (scope, call) in crate::frameworks::calls_named(program, module, names) {
            let Some(callee) = call.field(&field::FUNCTION) else { continue };
            let Some((method, _)) = method_of(text, callee) else { continue };
            let (positional, keywords) = call_arguments(text, call);
            let (function, name) = if method == "filter" {
                // Django: `filter("name", f)` only (a query's `.filter(...)` names no string first).
                let ([first, second], true) = (positional.as_slice(), keywords.is_empty()) else { continue };
                let Some(name) = string_at(program, module, *first) else { continue };
                (*second, Some(name))
            } else {
                let Some(function) = positional.first().copied() else { continue };
                let name = positional.get(1).copied().or_else(|| keywords.iter().find(|(k, _)| *k == "name").map(|(_, v)| *v));
                (function, name.and_then(|name| string_at(program, module, name)))
            };
            let (name, function) = registered(program, scope, function, name);
            found.push((name, function, module));
        }
        // `env.filters["name"] = f`.
        if memchr::memmem::find(text.as_bytes(), b"filters").is_none() {
            continue;
        }
        let scopes: Vec<usize> = scopes_of(program, module).collect();
        let root = program.files[program.modules[module].file].document.root();
        let mut stack = vec![(root, 0usize)];
        while let Some((node, depth)) = stack.pop() {
            if node.kind() == "assignment" {
                if let Some((name, function)) = filter_table_store(program, module, &scopes, node) {
                    found.push((name, function, module));
                }
            }
            if depth > MAX_STATEMENT_DEPTH * 4 {
                continue;
            }
            let mut cursor = node.walk();
            for child in node.named_children(&mut cursor) {
                stack.push((child, depth + 1));
            }
        }
    }
    found
}

/// A registration of `function` (an expression in `scope`) under `name` (else its own name).
fn registered(program: &Program<'_>, scope: usize, function: Node<'_>, name: Option<String>) -> (String, Option<usize>) {
    let target = match target_of(program, scope, function) {
        Some(Target::Function(target)) => Some(target),
        _ => None,
    };
    let name = name.or_else(|| target.map(|target| own_name(program, target)));
    let text = program.text(program.scopes[scope].file);
    (name.unwrap_or_else(|| text_of(text, function).to_string()), target)
}

/// `x.filters["name"] = f` as a registration.
fn filter_table_store(program: &Program<'_>, module: usize, scopes: &[usize], assignment: Node<'_>) -> Option<(String, Option<usize>)> {
    let text = program.text(program.modules[module].file);
    let (left, right) = (assignment.field(&field::LEFT)?, assignment.field(&field::RIGHT)?);
    let (table, keys) = crate::frameworks::subscript_parts(left);
    let table = table.filter(|table| table.kind() == "attribute")?;
    if method_of(text, table)?.0 != "filters" {
        return None;
    }
    let name = string_at(program, module, *keys.first()?)?;
    let scope = scope_at(program, module, scopes, assignment.start_byte());
    Some(registered(program, scope, right, Some(name)))
}

impl super::Analysis<'_, '_> {
    /// What a context value handed to a template is to the `[[template_markup]]` form
    /// libraries, from its reference: an instance of a class deriving from one of their classes
    /// (`NoteForm(FlaskForm)`), or one of its fields (`form.text`, referring to a member of
    /// such a class), is a form; an instance of a workspace class deriving from none is not;
    /// anything else (no reference, a library value) is unknown.
    pub(super) fn form_value(&self, value: &super::lattice::Value) -> FormValue {
        let Some(reference) = value.reference.as_deref() else { return FormValue::Unknown };
        let packages = &self.rules.template_markup;
        if packages.is_empty() {
            return FormValue::Unknown;
        }
        let in_package =
            |name: &str| packages.iter().any(|package| name.strip_prefix(package.as_str()).is_some_and(|rest| rest.starts_with('.')));
        let is_form = |class: &str| self.program.ancestors(class).iter().any(|ancestor| in_package(ancestor));
        if in_package(reference) || is_form(reference) {
            return FormValue::Form;
        }
        if let Some((owner, _)) = reference.rsplit_once('.') {
            if self.program.class(owner).is_some() && is_form(owner) {
                return FormValue::Form;
            }
        }
        if self.program.class(reference).is_some() {
            return FormValue::Other;
        }
        FormValue::Unknown
    }
}
