//! Template rendering: Flask `render_template`, Django `render`/`TemplateResponse`/
//! `render_to_string`/`get_template(...).render(...)`, Jinja2 `Environment(...).get_template(...)
//! .render(...)` and `Template(source).render(...)`.
//!
//! A render call records one *render site* per context value (`RenderSite`: template name,
//! variable, autoescaping) as a sink hit of kind XSS; whether the template writes the value
//! unescaped is decided after the solver, by joining the sites with the project's templates
//! (`findings::finalize`, `templates::TemplateSet::unescaped`). A site reached through a helper's
//! parameter becomes a parameter sink of the helper, like any sink. A template given as a
//! constant source (`jinja2.Template("…")`) is read here (its text is the scope's own): its
//! result is the page, holding the values it writes (escaped ones cleared for XSS), so where the
//! page goes decides.
//!
//! Jinja objects carry their configuration in their reference (as configured parsers do):
//! `jinja2.Environment[autoescape=on]`, `jinja2.Template[autoescape=ext;name=page.html]`,
//! `jinja2.Template[autoescape=off;source=…]`; `without_configuration` gives the library class
//! the call resolver needs. Jinja's own default is no autoescaping, Flask's (and
//! `select_autoescape`'s) is by extension, Django's is on. An `autoescape=` the analysis cannot
//! decide counts as off (toward more findings).
//!
//! A template that writes no markup (by its name's extension, `templates::writes_markup`:
//! `json.txt`, `mail.txt.j2`) rendered into text (`render_template`, `render_to_string`,
//! `Template.render`) is no render site: the text carries its context's taint to wherever it is
//! sent, an XSS sink only where that is an HTML response. A call making the response itself
//! (Django's `render`, `TemplateResponse`) serves any template as HTML: a render site still.
//!
//! Invariant: a markup template file's render call's result carries no taint of its context
//! (the page is the template's: what it writes unescaped is reported there).

use std::sync::Arc;

use crate::syntax::tree::Node;

use crate::program::Constant;
use crate::rules::sink_kind_bit;
use crate::syntax::{field, FieldChild};
use crate::templates::{syntax, Autoescape, RenderSite};

use super::lattice::{Origin, State, Value};
use super::Analysis;

/// A context argument: a variable's value (a keyword argument), or (`None`) a mapping of them.
type Context<'t> = (Option<String>, Node<'t>, Value);

/// A call as `eval_call` sees it.
pub(super) struct Call<'c, 't> {
    pub(super) node: Node<'t>,
    pub(super) reference: Option<&'c str>,
    pub(super) method: Option<&'c str>,
    pub(super) receiver: Option<(Node<'t>, &'c Value)>,
}

/// An argument by position or keyword.
#[derive(Clone, Copy)]
struct Parameter<'k> {
    position: Option<usize>,
    keyword: &'k str,
}

/// The packages of the application setups (`[[template_objects]] application_setups`) that the
/// module rendering a template imports: the frameworks whose application decides its
/// escaping (`application_autoescape`). Empty when it imports none (a helper module): every setup
/// decides.
pub(super) fn setup_packages_of<'r>(
    program: &crate::program::Program<'_>,
    rules: &'r crate::rules::RuleSet,
    module: usize,
) -> Vec<&'r str> {
    let mut packages: Vec<&str> = rules.template_objects.application_setups.iter().filter_map(|setup| setup.split('.').next()).collect();
    packages.sort_unstable();
    packages.dedup();
    packages.retain(|package| crate::frameworks::imports_any(program.modules[module], &[package]));
    packages
}

/// The autoescaping of the application's template environment: what the program's setup calls
/// (`[[template_objects]] application_setups`: aiohttp-jinja2's `setup`, Tornado's `Application`)
/// of the frameworks `only` (all when empty: `setup_packages_of`) ask for, the least escaping
/// one winning (toward more findings); on without any.
pub(super) fn application_autoescape(program: &crate::program::Program<'_>, rules: &crate::rules::RuleSet, only: &[&str]) -> Autoescape {
    let setups: Vec<&String> = rules
        .template_objects
        .application_setups
        .iter()
        .filter(|setup| only.is_empty() || setup.split('.').next().is_some_and(|package| only.contains(&package)))
        .collect();
    let mut result = Autoescape::On;
    if setups.is_empty() {
        return result;
    }
    let mut packages: Vec<&str> = setups.iter().filter_map(|setup| setup.split('.').next()).collect();
    let mut names: Vec<&str> = setups.iter().filter_map(|setup| setup.rsplit('.').next()).collect();
    packages.sort_unstable();
    packages.dedup();
    names.sort_unstable();
    names.dedup();
    for module in 0..program.modules.len() {
        if !crate::frameworks::imports_any(program.modules[module], &packages) {
            continue;
        }
        let text = program.text(program.modules[module].file);
        for (_, call) in crate::frameworks::calls_named(program, module, &names) {
            let Some(callee) = call.field(&field::FUNCTION) else { continue };
            let Some(reference) = crate::frameworks::reference(program, module, callee) else { continue };
            if !setups.iter().any(|setup| **setup == reference) {
                continue;
            }
            result = match (result, crate::program::autoescape_keyword(text, call).unwrap_or(Autoescape::On)) {
                (_, Autoescape::Off | Autoescape::Application) | (Autoescape::Off, _) => Autoescape::Off,
                (_, Autoescape::ByExtension) | (Autoescape::ByExtension, _) => Autoescape::ByExtension,
                _ => Autoescape::On,
            };
        }
    }
    result
}

/// The classes of the references a template object carries (with its configuration: see the
/// module's documentation): a Jinja template (made from its source or loaded from an
/// environment) and a Django one. Which calls and methods make, load and render them is the
/// packs' (`[[template_objects]]`).
const JINJA_TEMPLATE: &str = "jinja2.Template";
const DJANGO_TEMPLATE: &str = "django.template.Template";

/// The library class of a configured Jinja or Django template reference, or of an environment
/// a pack's call makes (`name[autoescape=…]`); the reference itself otherwise.
pub(super) fn without_configuration(reference: Arc<str>) -> Arc<str> {
    match reference.find('[') {
        Some(at)
            if reference.starts_with("jinja2.")
                || reference.starts_with("django.template.")
                || reference[at..].starts_with("[autoescape=") =>
        {
            reference[..at].into()
        }
        _ => reference,
    }
}

fn autoescape_name(autoescape: Autoescape) -> &'static str {
    match autoescape {
        Autoescape::On => "on",
        Autoescape::Off => "off",
        Autoescape::ByExtension => "ext",
        Autoescape::Application => "app",
    }
}

/// The key of an application's settings a reference reads (`tornado.web.RequestHandler.settings[setting=jinja2_env]`,
/// made by a constant-key subscript of a pack's `application_settings`), if it is one.
pub(super) fn application_setting<'r>(rules: &crate::rules::RuleSet, reference: &'r str) -> Option<&'r str> {
    let (base, inside) = reference.split_once('[')?;
    let key = inside.strip_prefix("setting=")?.strip_suffix(']')?;
    rules.template_objects.application_settings.contains(base).then_some(key)
}

/// The reference a constant key `key` of an application's settings (a reference the packs name
/// in `application_settings`) gives: the key carried for the environment it may hold. Keys with
/// characters the reference format uses are not followed.
pub(super) fn setting_reference(rules: &crate::rules::RuleSet, settings: &str, key: &str) -> Option<String> {
    let plain = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    (plain && rules.template_objects.application_settings.contains(settings)).then(|| format!("{settings}[setting={key}]"))
}

/// A configured reference's autoescaping, the application setting whose environment loaded it
/// (`setting=`) and template (`name=`, `param=`: the parameter of the loading function holding
/// the name, or `source=`).
struct Configuration<'r> {
    autoescape: Autoescape,
    setting: Option<&'r str>,
    name: Option<&'r str>,
    param: Option<usize>,
    source: Option<&'r str>,
}

fn configuration(reference: &str) -> Option<Configuration<'_>> {
    let inside = reference.split_once('[')?.1.strip_suffix(']')?;
    let (autoescape, rest) = inside.split_once(';').unwrap_or((inside, ""));
    let autoescape = match autoescape.strip_prefix("autoescape=")? {
        "on" => Autoescape::On,
        "ext" => Autoescape::ByExtension,
        "app" => Autoescape::Application,
        _ => Autoescape::Off,
    };
    let (setting, rest) = match rest.strip_prefix("setting=") {
        Some(setting) => {
            let (setting, rest) = setting.split_once(';').unwrap_or((setting, ""));
            (Some(setting), rest)
        }
        None => (None, rest),
    };
    let param = rest.strip_prefix("param=").and_then(|param| param.parse().ok());
    Some(Configuration { autoescape, setting, name: rest.strip_prefix("name="), param, source: rest.strip_prefix("source=") })
}

impl<'p, 't> Analysis<'p, 't> {
    /// The argument at `parameter`, if given.
    fn argument<'a>(
        &self,
        parameter: Parameter<'_>,
        positional: &'a [(Node<'t>, Value)],
        keywords: &'a [(String, Node<'t>, Value)],
    ) -> Option<(Node<'t>, &'a Value)> {
        let by_position = parameter.position.and_then(|at| positional.get(at)).filter(|(node, _)| !node.kind().ends_with("splat"));
        by_position
            .map(|(node, value)| (*node, value))
            .or_else(|| self.keyword_argument(keywords, parameter.keyword).map(|(_, node, value)| (*node, value)))
    }

    /// The autoescaping a Jinja `autoescape=` keyword asks for (absent: Jinja's default, off).
    fn autoescape_keyword(&self, keywords: &[(String, Node<'t>, Value)]) -> Autoescape {
        let Some((_, node, value)) = self.keyword_argument(keywords, "autoescape") else { return Autoescape::Off };
        match &value.constant {
            Some(Constant::Bool(true)) => Autoescape::On,
            Some(Constant::Str(name)) if !name.is_empty() => Autoescape::On,
            Some(Constant::Bool(false)) => Autoescape::Off,
            _ if node.kind() == "call" && node.field(&field::FUNCTION).is_some_and(|f| self.text_of(f).ends_with("select_autoescape")) => {
                Autoescape::ByExtension
            }
            _ => Autoescape::Off,
        }
    }

    /// Handles a call that renders a template or makes a Jinja environment or template: its
    /// value, or `None` for any other call.
    pub(super) fn template_call(
        &mut self,
        call: &Call<'_, 't>,
        positional: &[(Node<'t>, Value)],
        keywords: &[(String, Node<'t>, Value)],
        state: &mut State,
        depth: usize,
    ) -> Option<Value> {
        let reference = call.reference.unwrap_or("");
        // `[[render]]` in the packs: Flask's `render_template`, Django's `render`, ….
        let rules = self.rules;
        if let Some(function) = rules.render_calls.get(reference) {
            let name_parameter = Parameter { position: function.name.0, keyword: &function.name.1 };
            let name = template_name(self.argument(name_parameter, positional, keywords).map(|(_, value)| value));
            let mut contexts: Vec<Context<'t>> = Vec::new();
            match &function.context {
                Some((position, keyword)) => {
                    let parameter = Parameter { position: *position, keyword };
                    contexts.extend(self.argument(parameter, positional, keywords).map(|(n, v)| (None, n, v.clone())));
                }
                None => {
                    let name_position = name_parameter.position.unwrap_or(usize::MAX);
                    contexts.extend(
                        positional.iter().enumerate().filter(|(at, _)| *at != name_position).map(|(_, (n, v))| (None, *n, v.clone())),
                    );
                    contexts.extend(
                        keywords
                            .iter()
                            .filter(|(keyword, ..)| *keyword != name_parameter.keyword)
                            .map(|(k, n, v)| (Some(k.clone()), *n, v.clone())),
                    );
                }
            }
            if let Some(template) = name.0.as_deref().filter(|name| !function.responds && !crate::templates::writes_markup(name)) {
                return Some(self.rendered_text(call.node, template, &contexts, state, depth));
            }
            let call_name = reference.rsplit('.').next().unwrap_or(reference);
            self.render_sites(call.node, name, (function.autoescape, None), call_name, &contexts, state, depth);
            return Some(Value::default());
        }
        let objects = &rules.template_objects;
        if objects.environments.contains(reference) {
            let autoescape = self.autoescape_keyword(keywords);
            let configured = match autoescape {
                Autoescape::Off => reference.to_string(),
                other => format!("{reference}[autoescape={}]", autoescape_name(other)),
            };
            return Some(Value::reference(configured));
        }
        if objects.templates.contains(reference) {
            let autoescape = autoescape_name(self.autoescape_keyword(keywords));
            let source = self.argument(Parameter { position: Some(0), keyword: "source" }, positional, keywords);
            let configured = match source.and_then(|(_, value)| constant_string(value)) {
                Some(source) => format!("{JINJA_TEMPLATE}[autoescape={autoescape};source={source}]"),
                None => JINJA_TEMPLATE.to_string(),
            };
            return Some(Value::reference(configured));
        }
        let template_name = || self.argument(Parameter { position: Some(0), keyword: "name" }, positional, keywords);
        if objects.loaders.contains(reference) {
            let name = template_name().and_then(|(_, value)| constant_string(value));
            return Some(Value::reference(template_reference(DJANGO_TEMPLATE, Autoescape::On, None, (name, None))));
        }
        let method = call.method?;
        let (receiver_node, receiver) = call.receiver?;
        let receiver_reference = receiver.reference.as_deref()?;
        if objects.loader_methods.contains(method) {
            let base = without_configuration(receiver_reference.into());
            let mut setting = None;
            let autoescape = if receiver_reference.ends_with(".jinja_env") {
                Autoescape::ByExtension
            } else if objects.environments.contains(base.as_ref()) {
                // Made here (its reference says), or a module-level name (its module says).
                let module_level = (receiver_node.kind() == "identifier")
                    .then(|| self.program.modules[self.module].autoescape.get(self.text_of(receiver_node)))
                    .flatten();
                configuration(receiver_reference).map(|c| c.autoescape).or(module_level.copied()).unwrap_or(Autoescape::Off)
            } else if let Some(key) = application_setting(rules, receiver_reference) {
                // An application's settings key: the environment stored there decides, when the
                // sites are joined (`findings.rs`).
                setting = Some(key);
                Autoescape::Application
            } else {
                return None;
            };
            // A name the function's parameter holds: its callers' argument names it (`bound_template`).
            let name = template_name().map_or((None, None), |(_, value)| self::template_name(Some(value)));
            return Some(Value::reference(template_reference(JINJA_TEMPLATE, autoescape, setting, name)));
        }
        if objects.render_methods.contains(method) {
            let django = receiver_reference.starts_with(DJANGO_TEMPLATE);
            if !(django || receiver_reference.starts_with(JINJA_TEMPLATE)) {
                return None;
            }
            let configured = configuration(receiver_reference)?;
            let contexts: Vec<Context<'t>> = if django {
                // `render(context, request)`: a `Context(...)` or a dict.
                self.argument(Parameter { position: Some(0), keyword: "context" }, positional, keywords)
                    .map(|(n, v)| (None, n, v.clone()))
                    .into_iter()
                    .collect()
            } else {
                positional
                    .iter()
                    .map(|(n, v)| (None, *n, v.clone()))
                    .chain(keywords.iter().map(|(k, n, v)| (Some(k.clone()), *n, v.clone())))
                    .collect()
            };
            match configured.source {
                Some(source) => {
                    let source = source.to_string();
                    return Some(self.render_inline(call.node, &source, configured.autoescape, &contexts, state, depth));
                }
                None => {
                    if let Some(template) = configured.name.filter(|name| !crate::templates::writes_markup(name)) {
                        let template = template.to_string();
                        return Some(self.rendered_text(call.node, &template, &contexts, state, depth));
                    }
                    let name = (configured.name.map(str::to_string), configured.param);
                    let escaping = (configured.autoescape, configured.setting.map(str::to_string));
                    self.render_sites(call.node, name, escaping, "render", &contexts, state, depth);
                }
            }
            return Some(Value::default());
        }
        None
    }

    /// A value a method returns as the context of `template` (a Django class-based view's
    /// `get_context_data`: `frameworks::EntryPoint::context_template`): a render site per
    /// context value, at the `return`.
    pub(super) fn returned_context(
        &mut self,
        statement: Node<'t>,
        expression: Node<'t>,
        value: &Value,
        template: crate::frameworks::ContextTemplate,
        state: &State,
    ) {
        let contexts = [(None, expression, value.clone())];
        let escaping = (template.autoescape, None);
        self.render_sites(statement, (Some(template.name), None), escaping, template.renderer, &contexts, state, 0);
    }

    /// Records a render site per tainted context value; `setting`: the application settings key
    /// whose environment decides the (`Application`) autoescaping.
    #[allow(clippy::too_many_arguments)]
    fn render_sites(
        &mut self,
        call: Node<'t>,
        (template, template_param): (Option<String>, Option<usize>),
        (autoescape, setting): (Autoescape, Option<String>),
        call_name: &str,
        contexts: &[Context<'t>],
        state: &State,
        depth: usize,
    ) {
        let Some(kind) = sink_kind_bit("XSS") else { return };
        let Some(cwe) = self.rules.rule_for(kind).map(|rule| rule.cwe) else { return };
        for context in contexts {
            for (variable, argument, value) in self.context_entries(context, state, depth) {
                if !value.is_tainted() {
                    continue;
                }
                let form = self.form_value(&value);
                let site = RenderSite {
                    template: template.clone(),
                    template_param,
                    variable,
                    autoescape,
                    call: call_name.to_string(),
                    form,
                    setting: setting.clone(),
                };
                self.hit_with(kind, cwe, &value, argument, call, call_name, Some(Arc::new(site)));
            }
        }
    }

    /// A template that writes no markup (`json.txt`, `templates::writes_markup`) rendered into
    /// text here: no sink of its own, since what it writes is no page until it is sent as one.
    /// The text carries every tainted context value (the template's text is not read here), so
    /// a response or the view's return decides: `make_response(text)` with a JSON content type
    /// is no finding, the text returned by a view is one, on the view's line.
    fn rendered_text(&mut self, call: Node<'t>, template: &str, contexts: &[Context<'t>], state: &State, depth: usize) -> Value {
        let step = self.step(call, "call", format!("rendered into the text of `{template}`"));
        let mut text = Value::default();
        for context in contexts {
            for (_, _, value) in self.context_entries(context, state, depth) {
                if value.is_tainted() {
                    text.absorb(&value.traced(&step));
                }
            }
        }
        text.stringy = true;
        text
    }

    /// A constant template source rendered here: the result is the page, holding the context
    /// values its outputs write — unescaped ones as they are, escaped ones cleared for XSS — so
    /// a response or the view's return decides (`page = t.render(...)` left unused is no finding).
    fn render_inline(
        &mut self,
        call: Node<'t>,
        source: &str,
        autoescape: Autoescape,
        contexts: &[Context<'t>],
        state: &State,
        depth: usize,
    ) -> Value {
        let xss = sink_kind_bit("XSS").unwrap_or(0);
        let parsed = syntax::parse(source);
        let autoescape = autoescape == Autoescape::On;
        let step = self.step(call, "call", "rendered by `Template.render`".to_string());
        let mut page = Value::default();
        for context in contexts {
            for (variable, _, value) in self.context_entries(context, state, depth) {
                if !value.is_tainted() {
                    continue;
                }
                let reads = |output: &&syntax::Output| variable.as_ref().is_none_or(|variable| output.names.contains(variable));
                let written: Vec<&syntax::Output> = parsed.outputs.iter().filter(reads).collect();
                if written.iter().any(|output| output.unescaped(autoescape)) {
                    page.absorb(&value.traced(&step));
                } else if !written.is_empty() {
                    page.absorb(&value.cleared(xss).traced(&step));
                }
            }
        }
        page.stringy = true;
        page
    }

    /// The variables a context argument gives: (name — `None` when the keys are not known —,
    /// the node to show, the value). A keyword argument, a `**dict`, a dict literal, `dict(...)`,
    /// Django's `Context(dict)`, or a name whose keys the state knows (`ctx["k"] = v`).
    fn context_entries(&mut self, context: &Context<'t>, state: &State, depth: usize) -> Vec<(Option<String>, Node<'t>, Value)> {
        let (variable, node, value) = context;
        let (node, value) = (*node, value);
        if variable.is_some() {
            return vec![context.clone()];
        }
        let mut probe = state.clone();
        match node.kind() {
            "dictionary_splat" => match node.named_child(0) {
                Some(inner) => self.context_entries_of(inner, value, &mut probe, depth),
                None => vec![(None, node, value.clone())],
            },
            _ => self.context_entries_of(node, value, &mut probe, depth),
        }
    }

    fn context_entries_of(
        &mut self,
        node: Node<'t>,
        value: &Value,
        state: &mut State,
        depth: usize,
    ) -> Vec<(Option<String>, Node<'t>, Value)> {
        let mut entries = Vec::new();
        match node.kind() {
            "dictionary" => {
                let mut cursor = node.walk();
                let pairs: Vec<Node<'t>> = node.named_children(&mut cursor).collect();
                for pair in pairs {
                    let value = match pair.field(&field::VALUE) {
                        Some(value_node) if pair.kind() == "pair" => (value_node, self.eval(value_node, state, depth + 1)),
                        _ => (pair, self.eval(pair, state, depth + 1)),
                    };
                    let key = pair.field(&field::KEY).filter(|_| pair.kind() == "pair").and_then(|k| self.string_literal(k));
                    entries.push((key, value.0, value.1));
                }
                return entries;
            }
            "call" => {
                let function = node.field(&field::FUNCTION).map(|f| self.text_of(f)).unwrap_or("");
                let last = function.rsplit('.').next().unwrap_or("");
                if matches!(last, "dict" | "Context" | "RequestContext") {
                    let arguments: Vec<Node<'t>> = match node.field(&field::ARGUMENTS) {
                        Some(arguments) => {
                            let mut cursor = arguments.walk();
                            arguments.named_children(&mut cursor).filter(|a| a.kind() != "comment").collect()
                        }
                        None => Vec::new(),
                    };
                    // `RequestContext(request, dict)`: the request is no context value.
                    let skip = usize::from(last == "RequestContext");
                    for argument in arguments.into_iter().skip(skip) {
                        if argument.kind() == "keyword_argument" {
                            let name = argument.field(&field::NAME).map(|n| self.text_of(n).to_string());
                            let Some(value_node) = argument.field(&field::VALUE) else { continue };
                            let value = self.eval(value_node, state, depth + 1);
                            entries.push((name, value_node, value));
                        } else {
                            let inner =
                                if argument.kind() == "dictionary_splat" { argument.named_child(0).unwrap_or(argument) } else { argument };
                            let value = self.eval(inner, state, depth + 1);
                            entries.extend(self.context_entries_of(inner, &value, state, depth));
                        }
                    }
                    return entries;
                }
            }
            _ => {}
        }
        // A name whose keys the state knows: each key its own variable, the rest unknown.
        if let Some(path) = self.path_of(node, state) {
            let prefix = format!("{path}[\"");
            let mut keys: Vec<String> = Vec::new();
            for (key, _) in state.values.from(&prefix) {
                let Some(rest) = key.strip_prefix(prefix.as_str()) else { break };
                if let Some((name, _)) = rest.split_once("\"]") {
                    if !name.contains('\\') && keys.last().is_none_or(|last| last != name) {
                        keys.push(name.to_string());
                    }
                }
            }
            if !keys.is_empty() {
                for name in keys {
                    let value = state.read_whole(&format!("{prefix}{name}\"]")).unwrap_or_default();
                    entries.push((Some(name), node, value));
                }
                if let Some(base) = state.values.get(&path).filter(|base| base.is_tainted()) {
                    entries.push((None, node, base.clone()));
                }
                return entries;
            }
        }
        vec![(None, node, value.clone())]
    }

    /// A string literal's value (no interpolation).
    fn string_literal(&self, node: Node<'t>) -> Option<String> {
        match crate::program::literal(self.text, node, self) {
            Some(Constant::Str(value)) => Some(value),
            _ => None,
        }
    }
}

/// A template name argument: its constant, or the parameter of the rendering function that holds
/// it (every label of the value that parameter's), or neither.
fn template_name(value: Option<&Value>) -> (Option<String>, Option<usize>) {
    let Some(value) = value else { return (None, None) };
    if let Some(name) = constant_string(value) {
        return (Some(name), None);
    }
    let mut params = value.labels.iter().map(|label| match label.origin {
        Origin::Param(param) if super::summary::field_of(param).is_none() => Some(param),
        _ => None,
    });
    match params.next().flatten() {
        Some(first) if params.all(|other| other == Some(first)) => (None, Some(first)),
        _ => (None, None),
    }
}

/// A helper's render site seen from a call of it: a template name held by a parameter is the
/// argument's (a constant names it; a parameter of the caller passes it on).
pub(super) fn bound_site(site: &Arc<RenderSite>, argument: impl FnOnce(usize) -> Value) -> Arc<RenderSite> {
    let Some(param) = site.template_param else { return Arc::clone(site) };
    let (template, template_param) = template_name(Some(&argument(param)));
    Arc::new(RenderSite { template, template_param, ..RenderSite::clone(site) })
}

fn constant_string(value: &Value) -> Option<String> {
    match &value.constant {
        Some(Constant::Str(value)) => Some(value.clone()),
        _ => None,
    }
}

/// A loaded template's reference: its class, autoescaping, the application setting its
/// environment came from, and its name (a constant, or the loading function's parameter).
fn template_reference(
    class: &str,
    autoescape: Autoescape,
    setting: Option<&str>,
    (name, param): (Option<String>, Option<usize>),
) -> String {
    let mut reference = format!("{class}[autoescape={}", autoescape_name(autoescape));
    if let Some(setting) = setting {
        reference.push_str(";setting=");
        reference.push_str(setting);
    }
    match (name, param) {
        (Some(name), _) => {
            reference.push_str(";name=");
            reference.push_str(&name);
        }
        (None, Some(param)) => reference.push_str(&format!(";param={param}")),
        (None, None) => {}
    }
    reference.push(']');
    reference
}

/// A Jinja template a helper returns, seen from a call of it: a name its parameter holds
/// (`param=`) is the argument's — a constant names it, a parameter of the caller passes it on,
/// anything else leaves it unknown (as `bound_site` does for render sites).
pub(super) fn bound_template(reference: &Arc<str>, argument: impl FnOnce(usize) -> Value) -> Arc<str> {
    let Some(configured) = configuration(reference).filter(|_| reference.starts_with(JINJA_TEMPLATE)) else { return Arc::clone(reference) };
    let Some(param) = configured.param else { return Arc::clone(reference) };
    let name = template_name(Some(&argument(param)));
    template_reference(JINJA_TEMPLATE, configured.autoescape, configured.setting, name).into()
}

#[cfg(test)]
mod tests {
    use crate::rules::RuleSet;
    use crate::taint::{analyze_text, analyze_text_with};
    use crate::templates::Autoescape;

    #[test]
    fn an_environment_a_pack_names_is_followed_to_its_render_with_its_autoescape() {
        let text = "from shop_lib import make_env\n\n\
                    def page(q):\n    return make_env(autoescape=True).get_template('a.html').render(q=q)\n\n\
                    def raw(q):\n    return make_env().get_template('b.html').render(q=q)\n";
        let sites = |rules: &RuleSet| -> Vec<(String, Option<String>, Autoescape)> {
            let (summaries, _) = analyze_text_with(text, rules);
            let mut sites: Vec<_> = ["app.page", "app.raw"]
                .iter()
                .flat_map(|name| {
                    summaries[*name].param_sinks.iter().filter_map(move |sink| sink.render.clone().map(|site| (name.to_string(), site)))
                })
                .map(|(name, site)| (name, site.template.clone(), site.autoescape))
                .collect();
            sites.sort_by(|a, b| a.0.cmp(&b.0));
            sites
        };
        assert_eq!(sites(&RuleSet::builtin()), [], "not an environment the packs name");
        let pack = "[[template_objects]]\nenvironments = [\"shop_lib.make_env\"]\n";
        let rules = RuleSet::load(&[("mine.toml".into(), pack.into())], &[]).unwrap();
        assert_eq!(
            sites(&rules),
            [
                ("app.page".to_string(), Some("a.html".to_string()), Autoescape::On),
                ("app.raw".to_string(), Some("b.html".to_string()), Autoescape::Off)
            ]
        );
    }

    #[test]
    fn a_helper_rendering_the_template_its_caller_names_records_the_name_parameter() {
        let text = "from flask import render_template, request\n\ndef page(template, **context):\n    return render_template(template, **context)\n";
        let (summaries, _) = analyze_text(text);
        let sinks: Vec<_> = summaries["app.page"].param_sinks.iter().map(|sink| (sink.param, sink.render.clone())).collect();
        assert_eq!(sinks.len(), 1, "{sinks:?}");
        let site = sinks[0].1.as_ref().expect("a render site");
        assert_eq!((sinks[0].0, site.template.as_deref(), site.template_param, site.variable.as_deref()), (1, None, Some(0), None));
    }

    #[test]
    fn context_variables_come_from_keywords_dict_literals_dict_calls_and_known_keys() {
        let text = "from django.shortcuts import render\n\n\
                    def a(request, v):\n    return render(request, 'a.html', {'x': v, 'y': 'k'})\n\n\
                    def b(request, v):\n    ctx = {}\n    ctx['z'] = v\n    return render(request, 'b.html', ctx)\n\n\
                    def c(request, v):\n    return render(request, 'c.html', dict(w=v))\n\n\
                    def d(request, ctx):\n    return render(request, 'd.html', ctx)\n";
        let (summaries, _) = analyze_text(text);
        let sites = |name: &str| -> Vec<(usize, Option<String>, Option<String>)> {
            summaries[name]
                .param_sinks
                .iter()
                .filter_map(|sink| sink.render.as_ref().map(|site| (sink.param, site.template.clone(), site.variable.clone())))
                .collect()
        };
        assert_eq!(sites("app.a"), [(1, Some("a.html".into()), Some("x".into()))]);
        assert_eq!(sites("app.b"), [(1, Some("b.html".into()), Some("z".into()))]);
        assert_eq!(sites("app.c"), [(1, Some("c.html".into()), Some("w".into()))]);
        assert_eq!(sites("app.d"), [(1, Some("d.html".into()), None)], "keys not known: any variable");
    }

    #[test]
    fn an_inline_template_s_page_holds_what_it_writes_escaped_or_not() {
        let text = "from flask import Flask, request\nfrom jinja2 import Template\n\napp = Flask(__name__)\n\n\
                    @app.route('/a')\ndef a():\n    return Template('{{ q }}').render(q=request.args['q'])\n\n\
                    @app.route('/b')\ndef b():\n    return Template('{{ q }}', autoescape=True).render(q=request.args['q'])\n\n\
                    @app.route('/c')\ndef c():\n    page = Template('{{ q|safe }}').render(q=request.args['q'])\n    return 'done'\n";
        let (_, findings) = analyze_text(text);
        let lines: Vec<usize> = findings.iter().map(|f| f.sink.start_line).collect();
        assert_eq!(lines, [7], "{findings:#?}");
    }
}
