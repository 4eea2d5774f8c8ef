//! Calls: the callee resolved by `ir::resolve` (from the values of the receiver or callee
//! expression), rule sinks and sources matched, and each resolved callee's `Summary` applied at
//! the call site.

use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::syntax::tree::Node;

use crate::ir::binding::{self, How, Passed, Receiver, Written};
use crate::ir::resolve::{self, Reached};
use crate::program::{literal, Constant};
use crate::rules::{sink_kind_bit, CallbackSpec, Sink, SourceKind};
use crate::syntax::{field, FieldChild};
use crate::templates::{FormValue, RenderSite};
use std::borrow::Cow;

use super::findings::RawFinding;
use super::lattice::{note_bound, shortened_path, Label, Origin, State, Trace, TraceStep, Value, Values};
use super::summary::{attribute_hash, field_of, field_param, ParamSink, Summary, RECEIVER};
use super::{location_of, short, types, Analysis};

impl<'p, 't> Analysis<'p, 't> {
    pub(super) fn keyword_argument<'a>(
        &self,
        keywords: &'a [(String, Node<'t>, Value)],
        name: &str,
    ) -> Option<&'a (String, Node<'t>, Value)> {
        keywords.iter().find(|(keyword, _, _)| keyword == name)
    }

    /// Whether keyword argument `name` is the constant `expected`.
    fn keyword_constant_equals(&self, keywords: &[(String, Node<'t>, Value)], name: &str, expected: &toml::Value) -> bool {
        self.keyword_argument(keywords, name).is_some_and(|(_, _, value)| match (&value.constant, expected) {
            (Some(Constant::Bool(a)), toml::Value::Boolean(b)) => a == b,
            (Some(Constant::Int(a)), toml::Value::Integer(b)) => a == b,
            (Some(Constant::Str(a)), toml::Value::String(b)) => a == b,
            _ => false,
        })
    }

    pub(super) fn sink_applies(&self, sink: &Sink, positional: &[(Node<'t>, Value)], keywords: &[(String, Node<'t>, Value)]) -> bool {
        let keyword_equals = |name: &str, expected: &toml::Value| self.keyword_constant_equals(keywords, name, expected);
        if let Some((name, expected)) = &sink.when {
            if !keyword_equals(name, expected) {
                return false;
            }
        }
        if let Some((name, expected)) = &sink.unless {
            if keyword_equals(name, expected) {
                return false;
            }
        }
        for (name, safe) in &sink.safe_keywords {
            if let Some((_, _, value)) = self.keyword_argument(keywords, name) {
                if value.reference.as_deref().is_some_and(|r| safe.iter().any(|s| s == r)) {
                    return false;
                }
            }
        }
        let not_html = |node: Node<'t>, value: &Value| match &value.constant {
            Some(Constant::Str(content_type)) => !crate::frameworks::is_html(content_type),
            _ => self.constant_non_html_type(node),
        };
        for name in &sink.content_type_keywords {
            if let Some((_, node, value)) = self.keyword_argument(keywords, name) {
                if not_html(*node, value) {
                    return false;
                }
            }
        }
        for &at in &sink.content_type_args {
            if let Some((node, value)) = positional.get(at) {
                if not_html(*node, value) {
                    return false;
                }
            }
        }
        let headers = &sink.content_type_headers;
        let given_headers = positional
            .iter()
            .enumerate()
            .filter(|(index, _)| headers.args.contains(index))
            .map(|(_, (node, _))| *node)
            .chain(keywords.iter().filter(|(name, _, _)| headers.keywords.contains(name)).map(|(_, node, _)| *node));
        for argument in given_headers {
            if self.header_content_type(argument).is_some_and(|content_type| !crate::frameworks::is_html(&content_type)) {
                return false;
            }
        }
        if sink.html_only && self.entries.of(self.scope).is_some_and(|entry| entry.non_html_body) {
            return false;
        }
        if sink.html_declared && !self.entries.of(self.scope).is_some_and(|entry| entry.html_body) {
            return false;
        }
        if sink.shell_argv {
            let Some((first, _)) = positional.first() else { return false };
            if first.kind() != "list" {
                return false;
            }
            let Some(program) = first.named_child(0).and_then(|p| literal(self.text, p, self)) else { return false };
            let Constant::Str(program) = program else { return false };
            let base = program.rsplit('/').next().unwrap_or(&program);
            if !matches!(base, "sh" | "bash" | "zsh" | "dash" | "cmd" | "cmd.exe" | "powershell" | "pwsh") {
                return false;
            }
        }
        if let Some((position, keyword, unsafe_references)) = &sink.configured_by {
            let argument = position
                .and_then(|at| positional.get(at).map(|(_, value)| value))
                .or_else(|| keyword.as_deref().and_then(|name| self.keyword_argument(keywords, name).map(|(_, _, value)| value)));
            let is_unsafe = argument.and_then(|value| value.reference.as_deref()).is_some_and(|r| unsafe_references.iter().any(|u| u == r));
            if !is_unsafe {
                return false;
            }
        }
        true
    }

    /// Whether `argument` is written as a dict: a dict display or comprehension, or a call of the
    /// builtin `dict` (not a local name `dict`). A name holding a dict is not read (toward
    /// findings).
    fn is_dict_expression(&self, argument: Node<'t>) -> bool {
        match argument.kind() {
            "dictionary" | "dictionary_comprehension" => true,
            "call" => argument.field(&field::FUNCTION).is_some_and(|function| {
                function.kind() == "identifier"
                    && self.text_of(function) == "dict"
                    && !self.binds_locally("dict")
                    && self.program.resolve_name(self.module, "dict").is_none_or(|r| r == "dict" || r == "builtins.dict")
            }),
            _ => false,
        }
    }

    /// Whether `call`'s result is only the receiver of a call of one of `methods`
    /// (`Markup(x).unescape()`): what the statement keeps is the method's plain-text result.
    fn made_plain(&self, call: Node<'t>, methods: &[String]) -> bool {
        let Some(attribute) = call.parent().filter(|p| p.kind() == "attribute") else { return false };
        if attribute.field(&field::OBJECT).map(|o| o.id()) != Some(call.id()) {
            return false;
        }
        let Some(method) = attribute.field(&field::ATTRIBUTE) else { return false };
        let called =
            attribute.parent().is_some_and(|p| p.kind() == "call" && p.field(&field::FUNCTION).map(|f| f.id()) == Some(attribute.id()));
        called && methods.iter().any(|m| m == self.text_of(method))
    }

    /// Records a sink hit: a finding for source labels, a summary entry for parameter labels.
    pub(super) fn hit(&mut self, sink_kind: u32, cwe: u32, value: &Value, argument: Node<'t>, call: Node<'t>, callee: &str) {
        self.hit_with(sink_kind, cwe, value, argument, call, callee, None);
    }

    /// `hit`, for a render site too: then the sink is a template output of the site (`render`).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn hit_with(
        &mut self,
        sink_kind: u32,
        cwe: u32,
        value: &Value,
        argument: Node<'t>,
        call: Node<'t>,
        callee: &str,
        render: Option<Arc<RenderSite>>,
    ) {
        let sink_location = location_of(self.file, call);
        let render_hash = render.as_deref().map_or(0, render_hash);
        for label in &value.labels {
            if label.cleared & sink_kind != 0 {
                continue;
            }
            if sink_kind == sink_kind_bit("FilePath").unwrap_or(0) && label.normalized && label.cleared & sink_kind != 0 {
                continue;
            }
            if label.is_source() && !self.seen_hits.insert((label.origin.clone(), sink_kind, sink_location, render_hash)) {
                continue;
            }
            let mut trace = label.trace.clone();
            // An argument step only when it says something new: not when the previous step
            // already points inside the argument (`request.args` in `request.args["q"]`).
            let inside_argument = trace
                .last_location()
                .is_some_and(|(file, start, end)| file == self.file && start >= argument.start_byte() && end <= argument.end_byte());
            if !inside_argument && argument != call {
                trace = trace.push(self.step(argument, "argument", format!("passed to `{callee}`")));
            }
            trace = trace.push(self.step(call, "sink", format!("`{callee}`")));
            match &label.origin {
                Origin::Source { kind, file, start, end } | Origin::Sources { kind, file, start, end } => {
                    self.raw_findings.push(RawFinding {
                        kind: sink_kind,
                        cwe,
                        source_kind: *kind,
                        source: (*file, *start, *end),
                        sink: sink_location,
                        callee: callee.to_string(),
                        steps: trace.steps(),
                        cleared: label.cleared,
                        render: render.clone(),
                    })
                }
                Origin::Param(param) => self.add_param_sink(ParamSink {
                    param: *param,
                    kind: sink_kind,
                    cwe,
                    cleared: label.cleared,
                    sink: sink_location,
                    callee: callee.to_string(),
                    steps: trace.steps(),
                    render: render.clone(),
                }),
            }
        }
    }

    /// A `[[callback]]` call: the summaries of the function it is given (a workspace function or
    /// lambda) applied with each parameter bound to what the model passes (the elements of its
    /// iterables, or the arguments after the function); returns what the function returns.
    fn called_back(
        &mut self,
        model: &CallbackSpec,
        node: Node<'t>,
        receiver: Option<&(Node<'t>, Value)>,
        positional: &[(Node<'t>, Value)],
        keywords: &[(String, Node<'t>, Value)],
        state: &mut State,
    ) -> Value {
        let function = match (model.function, &model.function_keyword) {
            (Some(position), _) => positional.get(position).map(|(_, value)| value),
            (None, Some(keyword)) => keywords.iter().find(|(name, _, _)| name == keyword).map(|(_, _, value)| value),
            (None, None) => None,
        };
        let Some(function) = function.and_then(|value| value.reference.clone()) else { return Value::default() };
        let scopes = resolve::targets(self.program, &function, false);
        if scopes.is_empty() {
            return Value::default();
        }
        // What each parameter receives: the elements (a container's labels) or the values.
        let mut passed: Option<(Node<'t>, Value)> = None;
        let mut pass = |argument: Node<'t>, value: &Value| {
            let (_, joined) = passed.get_or_insert_with(|| (argument, Value::default()));
            for label in &value.labels {
                joined.add_label(label.clone());
            }
        };
        for &position in &model.elements {
            if let Some((argument, value)) = positional.get(position) {
                pass(*argument, value);
            }
        }
        for keyword in &model.elements_keywords {
            if let Some((_, argument, value)) = keywords.iter().find(|(name, _, _)| name == keyword) {
                pass(*argument, value);
            }
        }
        if model.receiver_elements {
            if let Some((argument, value)) = receiver {
                pass(*argument, value);
            }
        }
        let whole: Vec<(Node<'t>, Value)> =
            model.arguments_from.map(|from| positional.iter().skip(from).cloned().collect()).unwrap_or_default();
        let mut returned = Value::default();
        for scope in scopes {
            let arity = self.program.scopes[scope].params.iter().skip(usize::from(self.program.scopes[scope].implicit_receiver)).count();
            let arguments: Vec<(Node<'t>, Value)> = match &passed {
                Some(element) => vec![element.clone(); arity.max(1)],
                None => whole.clone(),
            };
            let mut fields = Vec::new();
            let target = Target { scope, reached: Reached::default(), receiver: None, receiver_argument: None, fields: &mut fields };
            self.apply_summary(target, node, &arguments, &[], state, &mut returned);
        }
        returned
    }

    /// The names this scope binds to classes only (`ir::resolve::class_locals`), computed once.
    fn class_locals(&mut self) -> Arc<FxHashMap<String, Vec<String>>> {
        let (program, scope, bindings) = (self.program, self.scope, &self.bindings);
        self.class_locals.get_or_insert_with(|| Arc::new(resolve::class_locals(program, scope, bindings))).clone()
    }

    /// The dispatch tables this scope holds in locals (`ir::resolve::table_locals`), computed
    /// once.
    pub(super) fn table_locals(&mut self) -> Arc<FxHashMap<String, resolve::TableEntries>> {
        let (program, scope, bindings) = (self.program, self.scope, &self.bindings);
        self.table_locals.get_or_insert_with(|| Arc::new(resolve::table_locals(program, scope, bindings))).clone()
    }

    /// Whether `path` lies under a library module imported by name (`sys.stderr` after `import
    /// sys`): a library module's state is not modelled, so what is written there (a message to
    /// `sys.stderr`) is never read back — by `sys.getfilesystemencoding()` either.
    fn library_module_state(&self, path: &str) -> bool {
        let root = super::env::root_of(path);
        path.len() > root.len()
            && !self.binds_locally(root)
            && self
                .program
                .imported(self.module, root)
                .is_some_and(|qualified| qualified.split('.').next() == Some(root) && self.program.module_named(&qualified).is_none())
    }

    pub(super) fn eval_call(&mut self, node: Node<'t>, state: &mut State, depth: usize) -> Value {
        let Some(function) = node.field(&field::FUNCTION) else { return Value::default() };
        // The callee: the receiver for method calls, the callee's value otherwise; what it
        // refers to and which scopes it runs come from the one resolver (`ir::resolve`).
        let attribute = function.kind() == "attribute";
        let receiver = attribute.then(|| function.field(&field::OBJECT)).flatten().map(|o| (o, self.eval(o, state, depth + 1)));
        let method_name = attribute.then(|| function.field(&field::ATTRIBUTE)).flatten().map(|a| self.text_of(a).to_string());
        let known = match &receiver {
            Some((_, value)) => value.reference.clone(),
            None if attribute => None,
            None => self.eval(function, state, depth + 1).reference,
        };
        // Jinja environments and templates carry their configuration in their reference (`render`);
        // their methods resolve as the library class's.
        // An application's settings key (`self.settings["jinja2_env"]`) is no known class.
        let known = known.filter(|r| super::render::application_setting(self.rules, r).is_none()).map(super::render::without_configuration);
        let mut resolved = resolve::resolve_call(self.program, self.scope, node, &mut |_| known.as_deref().map(str::to_string));
        let reference: Option<String> = resolved.reference.clone();
        if let Some(reference) = reference.as_deref() {
            // `[[opaque]]`: the packs' model is the whole call, its body is not followed.
            if self.rules.opaque.contains(reference) {
                resolved.targets.clear();
            }
            if self.rules.no_return.contains(reference) {
                self.no_return_calls.push(node.id());
            }
        }
        // Arguments.
        let mut positional: Vec<(Node<'t>, Value)> = Vec::new();
        let mut keywords: Vec<(String, Node<'t>, Value)> = Vec::new();
        let mut spread = Value::default();
        if let Some(arguments) = node.field(&field::ARGUMENTS) {
            // `sum(int(x) for x in xs)`: a generator expression is the one argument.
            let children: Vec<Node<'t>> = if arguments.kind() == "generator_expression" {
                vec![arguments]
            } else {
                let mut cursor = arguments.walk();
                arguments.named_children(&mut cursor).collect()
            };
            for argument in children {
                match argument.kind() {
                    "keyword_argument" => {
                        let name = argument.field(&field::NAME).map(|n| self.text_of(n).to_string()).unwrap_or_default();
                        let value_node = argument.field(&field::VALUE).unwrap_or(argument);
                        let value = self.eval(value_node, state, depth + 1);
                        keywords.push((name, value_node, value));
                    }
                    "list_splat" | "dictionary_splat" => {
                        let value = self.eval(argument, state, depth + 1);
                        spread.absorb(&value);
                        positional.push((argument, value));
                    }
                    "comment" => {}
                    _ => {
                        let value = self.eval(argument, state, depth + 1);
                        positional.push((argument, value));
                    }
                }
            }
        }
        // The request object handed to a workspace class (`Ctx(request)`) is kept in the
        // instance, where its reference is lost to the methods and helpers reading it: from
        // here on it is user input as a whole.
        if resolved.constructor {
            for (argument, value) in positional.iter_mut().map(|(n, v)| (*n, v)).chain(keywords.iter_mut().map(|(_, n, v)| (*n, v))) {
                self.request_object_as_source(argument, value);
            }
        }
        // A lambda defined in this scope: its body, with the arguments.
        if let Some(value) = reference.as_deref().and_then(|r| self.call_lambda(r, &positional, &keywords, state, depth)) {
            return value;
        }
        // `re.search(...)` is a module function, not a method: method-name sinks do not apply.
        let receiver_is_module = receiver.as_ref().is_some_and(|(node, _)| {
            node.kind() == "identifier"
                && self.program.modules[self.module]
                    .imports
                    .get(self.text_of(*node))
                    .is_some_and(|q| !q.rsplit('.').next().unwrap_or("").starts_with(|c: char| c.is_uppercase()))
        });

        // Sinks: of the callee, or of either callee a conditional expression picks
        // (`(js2py.eval_js6 if es6 else js2py.eval_js)(script)`).
        let mut sinks: Vec<Sink> = Vec::new();
        let candidates = match &reference {
            Some(reference) => resolve::alternatives(reference).map(str::to_string).collect(),
            None => self.conditional_callees(function, state, depth),
        };
        for candidate in &candidates {
            if let Some(found) = self.rules.sink_calls.get(candidate.as_str()) {
                sinks.extend(found.iter().cloned());
            }
        }
        // A method name matches on a receiver of unknown type (toward findings), not on an
        // instance of a workspace class whose own method the call runs (`Fetcher().fetch(url)`,
        // an HTTP call): that method's body is analysed instead, and decides.
        // Of either of several objects (`one_of:`), when each one's method is the workspace's.
        let project_method = !resolved.constructor
            && !resolved.targets.is_empty()
            && reference.as_deref().is_some_and(|r| {
                !r.starts_with(resolve::GETATTR)
                    && (!r.starts_with(resolve::ONE_OF)
                        || (method_name.is_some()
                            && resolve::alternatives(r).all(|candidate| !resolve::targets(self.program, candidate, false).is_empty())))
            });
        if sinks.is_empty() && !receiver_is_module && !project_method {
            if let Some(name) = &method_name {
                if let Some(found) = self.rules.sink_methods.get(name.as_str()) {
                    sinks.extend(found.iter().cloned());
                }
            }
        }
        // The callee as findings name it: made only for a call with sinks (most calls have none).
        let callee_text = if sinks.is_empty() { String::new() } else { short(self.text_of(function)) };
        for sink in &sinks {
            if !self.sink_applies(sink, &positional, &keywords) {
                continue;
            }
            if !sink.content_type_keywords.is_empty() && self.content_type_set_after(node) {
                continue;
            }
            if !sink.plain_through.is_empty() && self.made_plain(node, &sink.plain_through) {
                continue;
            }
            let Some(rule) = self.rules.rule_for(sink.kind) else { continue };
            let cwe = sink.cwe.unwrap_or(rule.cwe);
            let mut checked: Vec<(Node<'t>, Value)> = Vec::new();
            for (index, (argument, value)) in positional.iter().enumerate() {
                if sink.all_args || sink.args.contains(&index) {
                    checked.push((*argument, value.clone()));
                }
            }
            for (name, argument, value) in &keywords {
                if sink.all_args || sink.keywords.contains(name) {
                    checked.push((*argument, value.clone()));
                }
            }
            if let (true, Some((receiver_node, receiver_value))) = (sink.receiver, &receiver) {
                checked.push((*receiver_node, receiver_value.clone()));
            }
            for (argument, value) in checked {
                if sink.dict_is_json && self.is_dict_expression(argument) {
                    continue;
                }
                let value = if Some(sink.kind) == sink_kind_bit("NoSQL") && argument.kind() == "dictionary" {
                    self.operator_values(argument, state, depth)
                } else {
                    value
                };
                self.hit(sink.kind, cwe, &value, argument, node, &callee_text);
            }
        }
        // A call into another repository's module (an export only): each argument's taint
        // recorded as a hit at the argument, named by its callee and place (`export`).
        // A sink matched by method name only (`execute`) may be another repository's method:
        // the call is recorded too, toward more findings.
        if let (true, Some(external), Some(reference)) = (resolved.targets.is_empty(), &self.rules.external_calls, reference.as_deref()) {
            // What the rules know of (a sink, a sanitiser, a clean call) is a library's, not a repository's.
            let known = self.rules.sink_calls.contains_key(reference)
                || self.rules.sanitizer_calls.contains_key(reference)
                || self.rules.clean_calls.contains(reference);
            if external.covers(reference) && !known {
                // Through the class or module itself (`Runner.go(obj, x)`, `lib.run(x)`) or no
                // receiver: positions count from the first parameter; on an instance, from the
                // first after the receiver.
                let named_receiver = receiver.as_ref().map(|(object, _)| {
                    object.kind() == "identifier" && self.program.modules[self.module].imports.contains_key(self.text_of(*object))
                });
                let bound = named_receiver == Some(false);
                let mut unknown_positions = false;
                for (index, (argument, value)) in positional.iter().enumerate() {
                    unknown_positions |= matches!(argument.kind(), "list_splat" | "dictionary_splat");
                    let at = match (unknown_positions, bound) {
                        (true, _) => "*".to_string(),
                        (false, true) => format!("p{index}"),
                        (false, false) => format!("c{index}"),
                    };
                    self.hit(external.kind, 0, value, *argument, *argument, &super::export::external_callee(reference, &at));
                }
                for (name, argument, value) in &keywords {
                    self.hit(
                        external.kind,
                        0,
                        value,
                        *argument,
                        *argument,
                        &super::export::external_callee(reference, &format!("k{name}")),
                    );
                }
                if let (true, Some((object, value))) = (bound, &receiver) {
                    self.hit(external.kind, 0, value, *object, *object, &super::export::external_callee(reference, "r"));
                }
            }
        }

        // Templates: a render call records render sites (its result is the page, which the
        // template decides); Jinja environments and templates made here carry their configuration.
        let receiver_part = receiver.as_ref().map(|(node, value)| (*node, value));
        let call = super::render::Call { node, reference: reference.as_deref(), method: method_name.as_deref(), receiver: receiver_part };
        if let Some(value) = self.template_call(&call, &positional, &keywords, state, depth) {
            return value;
        }

        // Sanitizers.
        let sanitizer = reference
            .as_deref()
            .and_then(|r| self.rules.sanitizer_calls.get(r))
            .or_else(|| method_name.as_deref().and_then(|m| self.rules.sanitizer_methods.get(m)))
            .cloned();
        let mut arguments_value = Value::default();
        for (_, value) in &positional {
            arguments_value.absorb(value);
        }
        for (_, _, value) in &keywords {
            arguments_value.absorb(value);
        }
        if let Some(sanitizer) = sanitizer {
            let mut value = arguments_value.clone();
            if let Some((_, receiver_value)) = &receiver {
                if positional.is_empty() {
                    value.absorb(receiver_value);
                }
            }
            let mut value = value.cleared(sanitizer.clears);
            if sanitizer.normalizes {
                for label in &mut value.labels {
                    label.normalized = true;
                }
                value.dedupe_merging();
            }
            value.constant = None;
            value.stringy = arguments_value.stringy || sanitizer.clears & sink_kind_bit("XSS").unwrap_or(0) != 0;
            // A declared type (`flask.jsonify` makes a `flask.Response`).
            value.reference = reference.as_deref().and_then(|r| types::returned_type(self.rules, r)).map(Into::into);
            if value.reference.is_some() {
                value.stringy = false;
            }
            return value;
        }
        if let Some(reference) = reference.as_deref().filter(|r| self.rules.clean_calls.contains(*r)) {
            // No taint, but a declared type (`logging.getLogger` makes a `logging.Logger`).
            return Value { reference: types::returned_type(self.rules, reference).map(Into::into), ..Value::default() };
        }

        // Sources.
        let mut result = Value::default();
        if let Some(reference) = &reference {
            if let Some(&kind) = self.rules.source_calls.get(reference.as_str()) {
                result.add_label(self.declared_source_label(kind, reference, node, self.text_of(node)));
            }
        }
        if let Some(name) = &method_name {
            if let Some(&kind) = self.rules.source_methods.get(name.as_str()) {
                result.add_label(self.declared_source_label(kind, name, node, self.text_of(node)));
            }
        }

        // A library call that calls a function it is given (`[[callback]]`: `map(f, xs)`,
        // `sorted(xs, key=f)`, `executor.submit(f, x)`): the function's summary applied here.
        if resolved.targets.is_empty() {
            let model = reference
                .as_deref()
                .and_then(|r| self.rules.callback_calls.get(r))
                .or_else(|| method_name.as_deref().filter(|_| receiver.is_some()).and_then(|m| self.rules.callback_methods.get(m)));
            if let Some(model) = model {
                let called = self.called_back(model, node, receiver.as_ref(), &positional, &keywords, state);
                if model.returns {
                    result.absorb(&called);
                }
            }
        }

        // User functions (every candidate of `self.m()` with overrides, of `getattr(obj, name)(…)`):
        // apply their summaries. A method's receiver is the call's (bound methods included).
        if !resolved.targets.is_empty() {
            let mut returned: Vec<Option<std::sync::Arc<str>>> = Vec::new();
            let class_locals = self.class_locals();
            let reached = resolve::reached(self.program, self.scope, node, &resolved, &|name| {
                resolve::Local::of(&class_locals, name, self.bindings.assigns(name))
            });
            // Where the callee's stores into its receiver land: the object's path for a method
            // called on an instance (`runner.add(x)`, `self.add(x)`, `cls.make(x)`); none for a
            // class named outright (`Runner.make(x)`, told apart by `ir::resolve` as slicing
            // does); for a constructor, the fields of the new instance (`Constructed`).
            // `super().m(…)`: the object is the caller's own receiver (`self`, `cls` in a
            // classmethod), named by its parameter: stores into `self` land on the caller's
            // `self`, reads of `self.x` see the caller's value.
            let own_receiver = binding::own_receiver(self.program, self.scope, reached).map(|param| param.node);
            let receiver_path = match &receiver {
                _ if own_receiver.is_some() => own_receiver.and_then(|own| self.path_of(own, state)),
                Some((object, _))
                    if !resolved.constructor
                        && (!reached.through_class
                            || object.kind() != "identifier"
                            || resolve::is_open_receiver(self.program, self.scope, *object)) =>
                {
                    self.path_of(*object, state)
                }
                _ => None,
            };
            let mut fields: Vec<(String, Value)> = Vec::new();
            let receiver_argument = match own_receiver {
                Some(own) => Some((own, self.eval_identifier(own, state, true))),
                None => receiver.as_ref().filter(|_| !resolved.constructor).map(|(object, value)| (*object, value.clone())),
            };
            if !resolved.constructor {
                self.note_project_no_return(node, &resolved.targets);
            }
            for &scope in &resolved.targets {
                let target = Target {
                    scope,
                    reached,
                    receiver: receiver_path.as_deref(),
                    receiver_argument: receiver_argument.clone(),
                    fields: &mut fields,
                };
                let (returns_stringy, returns_reference) = self.apply_summary(target, node, &positional, &keywords, state, &mut result);
                result.stringy |= returns_stringy;
                returned.push(returns_reference);
            }
            result.reference = if resolved.constructor {
                reference.as_deref().map(Into::into)
            } else {
                // What each target returns, joined (`join_references`).
                returned
                    .iter()
                    .try_fold(None::<String>, |joined, next| {
                        let next = next.as_deref()?;
                        Some(Some(match joined {
                            Some(joined) => resolve::join_references(&joined, next)?,
                            None => next.to_string(),
                        }))
                    })
                    .flatten()
                    .map(Into::into)
            };
            if resolved.constructor {
                return self.constructed(node, result, fields);
            }
            // Stores into a receiver with no path (`Query().where(x)`, a chained builder that
            // returns its receiver): the call's value carries them, toward more taint.
            for (_, value) in &fields {
                result.absorb(value);
            }
            return result;
        }

        // Lists with known elements stay index-sensitive through append/pop; configparser
        // sections and options stay key-sensitive through set/get.
        if let (Some(name), Some((receiver_node, receiver_value))) = (&method_name, &receiver) {
            if let Some(path) = self.path_of(*receiver_node, state) {
                let length_path = format!("{path}.__len__");
                let length = match state.values.get(&length_path).and_then(|v| v.constant.clone()) {
                    Some(Constant::Int(n)) if n >= 0 => Some(n as usize),
                    _ => None,
                };
                let is_config =
                    receiver_value.reference.as_deref().is_some_and(|r| r.starts_with("configparser.") && r.ends_with("ConfigParser"));
                let constant_at = |index: usize| {
                    positional.get(index).and_then(|(_, v)| match &v.constant {
                        Some(Constant::Str(s)) => Some(format!("{s:?}")),
                        Some(Constant::Int(i)) => Some(i.to_string()),
                        _ => None,
                    })
                };
                let stored = |value: &Value| stored_into(self, value, node, *receiver_node);
                match (name.as_str(), length) {
                    ("append", Some(n)) if positional.len() == 1 => {
                        state.values.insert(format!("{path}[{n}]"), stored(&positional[0].1));
                        state.values.insert(length_path, Value::constant(Constant::Int(n as i64 + 1)));
                        return Value::default();
                    }
                    ("pop", Some(n)) if positional.is_empty() && n > 0 => {
                        let last = state.values.remove(&format!("{path}[{}]", n - 1)).unwrap_or_default();
                        state.values.insert(length_path, Value::constant(Constant::Int(n as i64 - 1)));
                        return last;
                    }
                    ("pop" | "insert" | "remove" | "extend" | "sort" | "reverse" | "clear", Some(_)) => {
                        // Positions are no longer known: fold the elements into the list.
                        let whole = state.read_whole(&path).unwrap_or_default();
                        let mut merged = Value { labels: whole.labels, ..Value::default() };
                        merged.absorb(&stored(&arguments_value));
                        state.assign(&path, merged.clone());
                        if name == "pop" {
                            return Value { labels: merged.labels, ..Value::default() };
                        }
                        return Value::default();
                    }
                    ("set", _) if is_config && positional.len() == 3 => {
                        if let (Some(section), Some(option)) = (constant_at(0), constant_at(1)) {
                            state.values.insert(format!("{path}[{section}][{option}]"), positional[2].1.clone());
                            return Value::default();
                        }
                    }
                    ("get", _) if is_config && positional.len() >= 2 => {
                        if let (Some(section), Some(option)) = (constant_at(0), constant_at(1)) {
                            if let Some(value) = state.values.get(&format!("{path}[{section}][{option}]")) {
                                return value.clone();
                            }
                            // An option never set here carries what the parser as a whole carries.
                            return Value {
                                labels: state.values.get(&path).map(|v| v.labels.clone()).unwrap_or_default(),
                                ..Value::default()
                            };
                        }
                    }
                    _ => {}
                }
            }
        }

        // Mutating methods copy argument taint into their receiver.
        if let (Some(name), Some((receiver_node, receiver_value))) = (&method_name, &receiver) {
            let typed = |types: &Vec<String>| receiver_value.reference.as_deref().is_some_and(|r| types.iter().any(|t| t == r));
            let mutates = self.rules.mutators.contains(name.as_str()) || self.rules.typed_mutators.get(name.as_str()).is_some_and(typed);
            if mutates && arguments_value.is_tainted() {
                if let Some(path) = self.path_of(*receiver_node, state).filter(|path| !self.library_module_state(path)) {
                    state.add(&path, &stored_into(self, &arguments_value, node, *receiver_node));
                }
            }
        }

        // `getattr(obj, name)` and `importlib.import_module(name)`: what they return refers to
        // a member, candidate methods or a module (`ir::resolve::call_reference`).
        if !resolved.constructor {
            let mut argument_reference = |argument: Node<'t>| {
                positional.iter().find(|(node, _)| *node == argument).and_then(|(_, v)| v.reference.as_deref().map(str::to_string))
            };
            if let Some(dispatch) = resolve::call_reference(self.program, self.scope, node, reference.as_deref(), &mut argument_reference) {
                result.reference = Some(dispatch.into());
                result.absorb(&arguments_value);
                return result;
            }
        }

        // A lookup (an ORM query's filter or getter): its arguments choose among the rows the
        // receiver stands for, they are not in the result; the receiver's type stays (a query).
        if let Some(reference) = reference.as_deref().filter(|r| self.rules.lookups.contains(*r)) {
            if let Some((_, receiver_value)) = &receiver {
                result.absorb(receiver_value);
            }
            result.constant = None;
            result.stringy = false;
            result.reference = types::returned_type(self.rules, reference).map(Into::into);
            return result;
        }

        // A record class (a dataclass, a `NamedTuple`, a pydantic model: no `__init__` of its
        // own) keeps each keyword argument in the field it names; positional arguments (fields
        // in an order not known here) taint the instance as a whole.
        if let Some(class) = reference.as_deref().filter(|r| self.is_record_class(r)) {
            result.reference = Some(class.into());
            let mut fields: Vec<(String, Value)> = Vec::new();
            for (_, value) in &positional {
                result.absorb(value);
            }
            for (name, _, value) in &keywords {
                fields.push((format!(".{name}"), value.clone()));
            }
            return self.constructed(node, result, fields);
        }
        // Anything else propagates: the result depends on the receiver and the arguments.
        if reference.as_deref().is_some_and(|r| resolve::is_class_reference(self.program, r)) {
            result.reference = reference.as_deref().map(Into::into);
        } else if let Some(returned) = reference.as_deref().and_then(|r| types::returned_type(self.rules, r)) {
            // A type the packs declare (`logging.getLogger(…)` is a `logging.Logger`).
            result.reference = Some(returned.into());
        } else if let Some(reference) = &reference {
            // Instances of library classes keep the class as their reference
            // (`requests.Session()` → `requests.Session`), so their methods resolve.
            let last = reference.rsplit('.').next().unwrap_or("");
            if last.chars().next().is_some_and(char::is_uppercase) {
                result.reference = Some(reference.as_str().into());
                // Made unsafe by its configuration (`XMLParser(resolve_entities=True)`).
                for (keyword, unsafe_value, variant) in self.rules.configured_calls.get(reference.as_str()).into_iter().flatten() {
                    if self.keyword_constant_equals(&keywords, keyword, unsafe_value) {
                        result.reference = Some(variant.as_str().into());
                    }
                }
            } else if self.rules.same_type.contains(reference.as_str()) {
                // `base.joinpath(name)` is a `pathlib.Path` like `base`.
                result.reference = receiver.as_ref().and_then(|(_, value)| value.reference.clone());
            }
        }
        // A mapping's `get`/`pop` (a method nothing resolves or types) returns a value it holds
        // or the default, never the key it was asked for: `types.get(extension)` is not the
        // extension.
        // The receiver is data: it refers to nothing, to a name of this module no import binds
        // (`TYPES`), or to a name of a workspace module — not to a library module or class,
        // whose `get` may be anything (`requests.get(url)`).
        // Asked last: its lookups are recorded (incremental dependencies), so only for `get`/`pop`.
        let data_receiver = || {
            receiver.as_ref().is_some_and(|(_, value)| match value.reference.as_deref() {
                None => true,
                Some(referred) => match referred.split_once('.') {
                    None => self.program.imported(self.module, referred).is_none() && self.program.class(referred).is_none(),
                    Some((head, _)) => self.program.module_named(head).is_some() && self.program.function(referred).is_none(),
                },
            })
        };
        let mapping_lookup = resolved.targets.is_empty()
            && result.reference.is_none()
            && matches!(method_name.as_deref(), Some("get" | "pop"))
            && positional.first().is_some_and(|(argument, _)| argument.kind() != "list_splat")
            && data_receiver();
        if mapping_lookup {
            for (_, value) in positional.iter().skip(1) {
                result.absorb(value);
            }
            for (_, _, value) in &keywords {
                result.absorb(value);
            }
        } else {
            result.absorb(&arguments_value);
        }
        if let Some((receiver_node, receiver_value)) = &receiver {
            // `d.get("k", default)` reads one key of `d` (`keyed_method_read`), unless the packs
            // type what the call returns (then it is that library's method, not a mapping's).
            let keyed = match (&method_name, &result.reference) {
                (Some(method), None) => {
                    let key = positional.first().filter(|(argument, _)| argument.kind() != "list_splat").map(|(_, value)| value);
                    self.keyed_method_read(method, *receiver_node, key, node, state, depth)
                }
                _ => None,
            };
            result.absorb(keyed.as_ref().unwrap_or(receiver_value));
            let stringy_methods =
                ["format", "join", "replace", "strip", "lower", "upper", "lstrip", "rstrip", "title", "capitalize", "decode", "format_map"];
            result.stringy = receiver_value.stringy || method_name.as_deref().is_some_and(|m| stringy_methods.contains(&m));
        } else {
            result.stringy = reference.as_deref() == Some("str");
        }
        result
    }

    /// The references of the two callees a conditional expression picks between
    /// (`(a if flag else b)(x)`), when the callee is one.
    fn conditional_callees(&mut self, function: Node<'t>, state: &mut State, depth: usize) -> Vec<String> {
        let mut callee = function;
        while callee.kind() == "parenthesized_expression" {
            let Some(inner) = callee.named_child(0) else { return Vec::new() };
            callee = inner;
        }
        if callee.kind() != "conditional_expression" {
            return Vec::new();
        }
        let mut cursor = callee.walk();
        let parts: Vec<Node<'t>> = callee.named_children(&mut cursor).collect();
        if parts.len() != 3 {
            return Vec::new();
        }
        [parts[0], parts[2]].into_iter().filter_map(|branch| self.eval(branch, state, depth + 1).reference.map(|r| r.to_string())).collect()
    }

    /// Applies the summary of workspace function `scope` at call `node`: return taint, sinks
    /// reached inside (findings or this function's own summary), effects on arguments. Returns
    /// whether the callee returns a string and the template reference it returns.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn apply_summary(
        &mut self,
        target: Target<'_, 't>,
        node: Node<'t>,
        positional: &[(Node<'t>, Value)],
        keywords: &[(String, Node<'t>, Value)],
        state: &mut State,
        result: &mut Value,
    ) -> (bool, Option<Arc<str>>) {
        let Target { scope, reached, receiver, receiver_argument, fields } = target;
        self.callees.insert(scope);
        let callee_scope = &self.program.scopes[scope];
        // The arguments bound to the callee's parameters by the rule slicing applies too
        // (`ir::binding`): positional ones (spreads among them) in order, then keywords. A
        // summary names explicit parameters (the implicit receiver is `RECEIVER`).
        let written = written_arguments(positional, keywords);
        let receiver_mode = binding::receiver_of(self.program, scope, reached);
        let bindings = binding::bind(&callee_scope.params, receiver_mode, written);
        let first = usize::from(callee_scope.implicit_receiver);
        let argument_at = |index: usize| -> (Node<'t>, &Value) {
            match positional.get(index) {
                Some((node, value)) => (*node, value),
                None => {
                    let (_, node, value) = &keywords[index - positional.len()];
                    (*node, value)
                }
            }
        };
        // A plain method read through its class (`Runner.run(runner, x)`, `Base.__init__(self,
        // a)`): the argument that is `self` is the receiver, its path where stores into
        // `self` land. One that may be `self` (after a spread) is read, never stored into.
        let (receiver, receiver_argument): (Option<Cow<'_, str>>, _) = if receiver_mode == Receiver::Explicit && first == 1 {
            let mut given = bindings.iter().filter(|bound| bound.parameter == 0).filter_map(|bound| match bound.passed {
                Passed::Argument(index) => Some((index, bound.how)),
                Passed::Receiver => None,
            });
            match given.next() {
                Some((index, how)) => {
                    let (node, value) = argument_at(index);
                    let path = if how == How::Exactly { self.path_of(node, state).map(Cow::Owned) } else { None };
                    (path, Some((node, value.clone())))
                }
                None => (None, None),
            }
        } else {
            (receiver.map(Cow::Borrowed), receiver_argument)
        };
        // The arguments bound to explicit parameter `param`, and how.
        let bound_to = |param: usize| {
            bindings.iter().filter(move |bound| bound.parameter == param + first).filter_map(|bound| match bound.passed {
                Passed::Argument(index) => Some((index, bound.how)),
                Passed::Receiver => None,
            })
        };
        // The argument that is `param` (its place is the parameter's).
        let exactly = |param: usize| bound_to(param).find(|&(_, how)| how == How::Exactly).map(|(index, _)| argument_at(index));
        // Every argument `param` may hold or collect, joined.
        let plain_argument = |param: usize| -> Value {
            let mut value = Value::default();
            for (index, _) in bound_to(param) {
                value.absorb(argument_at(index).1);
            }
            value
        };
        // What the caller passes for each field parameter the summary names (`summary::FIELD`).
        static NO_SUMMARY: std::sync::LazyLock<Summary> = std::sync::LazyLock::new(Summary::default);
        let summary = self.summaries.get(scope);
        let summary: &Summary = summary.as_deref().unwrap_or(&NO_SUMMARY);
        let mut field_arguments: FxHashMap<usize, Value> = FxHashMap::default();
        let named = summary.param_returns.iter().map(|entry| entry.0);
        let named = named.chain(summary.param_sinks.iter().map(|sink| sink.param));
        let named = named.chain(summary.param_flows.iter().map(|flow| flow.2));
        let named = named.chain(summary.param_exports.iter().map(|export| export.0));
        for param in named {
            let Some((slot, hash)) = field_of(param) else { continue };
            if field_arguments.contains_key(&param) {
                continue;
            }
            let value = if slot == RECEIVER {
                match &receiver_argument {
                    Some((node, whole)) => self.field_argument(*node, whole, hash, state, None),
                    None => Value::default(),
                }
            } else {
                match exactly(slot) {
                    Some((node, whole)) => self.field_argument(node, whole, hash, state, Some((scope, slot))),
                    // Only possibly this parameter (after a spread) or collected by it: whole.
                    None => plain_argument(slot),
                }
            };
            field_arguments.insert(param, value);
        }
        let argument_for = |param: usize| -> Value { field_arguments.get(&param).cloned().unwrap_or_else(|| plain_argument(param)) };
        let [through, returned] = self
            .call_descriptions
            .entry(scope)
            .or_insert_with(|| {
                let callee_name = crate::program::shown_scope_name(&callee_scope.qualified_name);
                [format!("through `{callee_name}`").into(), format!("returned from `{callee_name}`").into()]
            })
            .clone();
        let call_step = self.shared_step(node, "call", through);
        // A path that already passes this call site would only repeat a cycle (recursion): the
        // cycle-free path is found anyway, and skipping keeps summaries finite.
        let call_place = (self.file, node.start_byte());
        let revisits = |steps: &[TraceStep]| steps.iter().any(|s| (s.file, s.start) == call_place);
        // One step for every value returned through this call (its description shared).
        let return_step = self.shared_step(node, "return", returned);
        let return_place = (return_step.file, return_step.start, return_step.end);
        for (param, cleared, normalized, steps) in &summary.param_returns {
            if revisits(steps) {
                continue;
            }
            let argument = argument_for(*param);
            for label in &argument.labels {
                // A parameter's label that `add_label` would drop for one of the same key with a
                // trace ranked no worse (`Label::merge`; a call visited again in a loop finds
                // every one so) is not built: only the bounds its trace would meet are counted.
                // (A source label may re-key the value, `add_label`: always added.)
                if let Origin::Param(_) = label.origin {
                    let key = (label.origin.clone(), label.cleared | cleared, label.normalized | normalized);
                    let (rank, cuts) = label.trace.extended_rank(steps.len(), return_place);
                    if result.labels.iter().find(|existing| existing.key() == key).is_some_and(|existing| existing.trace.rank() <= rank) {
                        if cuts > 0 {
                            note_bound(|met| met.trace_elided += cuts);
                        }
                        continue;
                    }
                }
                let mut label = label.clone();
                label.cleared |= cleared;
                label.normalized |= normalized;
                label.trace = label.trace.extend(steps).push(return_step.clone());
                result.add_label(label);
            }
        }
        for label in &summary.source_returns {
            if label.trace.any_place(&mut |(file, start, _)| (file, start) == call_place) {
                continue;
            }
            let mut label = label.clone();
            label.trace = label.trace.push(return_step.clone());
            result.add_label(label);
        }
        for sink in &summary.param_sinks {
            if revisits(&sink.steps) {
                continue;
            }
            let argument = argument_for(sink.param);
            // The template name a parameter holds: the argument as given (its constant kept).
            let given = |param: usize| -> Value { exactly(param).map(|(_, value)| value.clone()).unwrap_or_default() };
            let render = sink.render.as_ref().map(|site| super::render::bound_site(site, given));
            // A form the helper's parameter does not know it holds: the argument's type (as
            // given, the one that certainly is the parameter) says.
            let render = render.map(|site| {
                let form = match exactly(sink.param) {
                    Some((_, given)) if site.form == FormValue::Unknown => self.form_value(given),
                    _ => FormValue::Unknown,
                };
                if form == FormValue::Unknown {
                    return site;
                }
                Arc::new(RenderSite { form, ..RenderSite::clone(&site) })
            });
            for label in &argument.labels {
                if (label.cleared | sink.cleared) & sink.kind != 0 {
                    continue;
                }
                if !self.seen_hits.insert((label.origin.clone(), sink.kind, sink.sink, render.as_deref().map_or(0, render_hash))) {
                    continue;
                }
                let trace = label.trace.push(call_step.clone()).extend(&sink.steps);
                match &label.origin {
                    Origin::Source { kind, file, start, end } | Origin::Sources { kind, file, start, end } => {
                        self.raw_findings.push(RawFinding {
                            kind: sink.kind,
                            cwe: sink.cwe,
                            source_kind: *kind,
                            source: (*file, *start, *end),
                            sink: sink.sink,
                            callee: sink.callee.clone(),
                            steps: trace.steps(),
                            cleared: label.cleared | sink.cleared,
                            render: render.clone(),
                        })
                    }
                    Origin::Param(param) => self.add_param_sink(ParamSink {
                        param: *param,
                        kind: sink.kind,
                        cwe: sink.cwe,
                        cleared: label.cleared | sink.cleared,
                        sink: sink.sink,
                        callee: sink.callee.clone(),
                        steps: trace.steps(),
                        render: render.clone(),
                    }),
                }
            }
        }
        // Validation and in-place cleaning by the callee.
        for (param, suffix, kinds) in &summary.param_effects {
            // Only the argument that certainly is the parameter is cleaned.
            let Some((argument, _)) = exactly(*param) else { continue };
            let Some(path) = self.path_of(argument, state) else { continue };
            let target = format!("{path}{suffix}");
            let value =
                state.values.get(&target).cloned().or_else(|| (!suffix.is_empty()).then(|| state.values.get(&path).cloned()).flatten());
            if let Some(value) = value {
                state.values.insert(target, value.cleared(*kinds));
            }
        }
        // Taint the callee stores where other scopes read it, from the arguments given here.
        // Entries are sorted (`collect_exports`, `widen`), so those of one (parameter, cleared,
        // normalised) are adjacent: the value stored is built once for all their places (out of
        // order, it would only be built more often). A later visit of this call (a loop's
        // fixpoint) storing what an earlier one stored skips the group's places: `extra_exports`
        // only grows, and absorbing a covered value is a no-op.
        let call_key = (node.start_byte(), node.end_byte(), scope);
        let exports = &summary.param_exports;
        let mut start = 0;
        while start < exports.len() {
            let (param, cleared, normalized, ..) = &exports[start];
            let key = (*param, *cleared, *normalized);
            let end = exports[start..].iter().position(|e| (e.0, e.1, e.2) != key).map_or(exports.len(), |length| start + length);
            let group = &exports[start..end];
            start = end;
            let mut value = Value::default();
            for label in &argument_for(*param).labels {
                let mut label = label.clone();
                label.cleared |= cleared;
                label.normalized |= normalized;
                label.trace = match label.origin {
                    // Of a parameter's label stored here, the summary keeps the key alone
                    // (`collect_exports`: parameter, clearances, normalisation, place; no
                    // steps), so its steps are not built (the bound a push would meet is
                    // still counted).
                    Origin::Param(_) => label.trace.stepless_push(),
                    _ => label.trace.push(call_step.clone()),
                };
                value.add_label(label);
            }
            if !value.is_tainted() {
                continue;
            }
            let stored = self.exported_through.entry((call_key, key)).or_default();
            if stored.covers(&value) {
                continue;
            }
            stored.absorb(&value);
            // Sorted: the places of one owner are adjacent, its state found once for them all.
            let mut places = group.iter().peekable();
            while let Some((_, _, _, owner, by_owner, path)) = places.next() {
                let exported = self.extra_exports.entry((owner.clone(), *by_owner)).or_default();
                exported.add(path.as_str(), &value);
                while let Some((.., path)) =
                    places.next_if(|(.., next_owner, next_by_owner, _)| next_owner == owner && next_by_owner == by_owner)
                {
                    exported.add(path.as_str(), &value);
                }
            }
        }
        // Taint flowing into an argument's container (`def add(items, x): items.append(x)`).
        for (target, suffix, source) in &summary.param_flows {
            let incoming = argument_for(*source);
            if *target == RECEIVER {
                // Into the object the method runs on (`self.command = command`).
                if incoming.is_tainted() {
                    let traced = flow_traced(summary, (*target, suffix, *source), incoming, &call_step);
                    match &receiver {
                        Some(object) => {
                            let place = format!("{object}{suffix}");
                            let (place, shortened) = shortened_path(&place);
                            if shortened {
                                note_bound(|met| met.places_cut += 1);
                            }
                            state.add(place, &traced);
                        }
                        None => fields.push((suffix.clone(), traced)),
                    }
                }
                continue;
            }
            if !incoming.is_tainted() {
                continue;
            }
            // Into every argument that is or may be the target parameter (not one it
            // collects: the suffix is below the `*args` tuple, not below an element).
            let traced = flow_traced(summary, (*target, suffix, *source), incoming, &call_step);
            for (index, how) in bound_to(*target) {
                if how == How::Collected {
                    continue;
                }
                let Some(path) = self.path_of(argument_at(index).0, state) else { continue };
                let place = format!("{path}{suffix}");
                let (place, shortened) = shortened_path(&place);
                if shortened {
                    note_bound(|met| met.places_cut += 1);
                }
                state.add(place, &traced);
            }
        }
        // A template a helper loads by the name its parameter holds: the argument names it here.
        let returns_reference = summary.returns_reference.as_ref().map(|reference| {
            super::render::bound_template(reference, |param| exactly(param).map(|(_, value)| value.clone()).unwrap_or_default())
        });
        (summary.returns_stringy, returns_reference)
    }

    /// The value of a constructor call `node`: `result` (what the instance itself carries) with
    /// the taint of `fields` (suffix below the instance → value). An assignment of the call to
    /// a place takes the fields back apart (`Constructed`, `transfer::assign_one`), so
    /// `job.owner` is not tainted by `job.command`; anywhere else the instance is one value.
    pub(super) fn constructed(&mut self, node: Node<'t>, result: Value, fields: Vec<(String, Value)>) -> Value {
        if fields.iter().all(|(_, value)| !value.is_tainted()) {
            return result;
        }
        let mut whole = result.clone();
        for (_, value) in &fields {
            whole.absorb(value);
        }
        whole.constant = None;
        // An instance is not a string, whatever strings its fields hold.
        whole.stringy = result.stringy;
        self.constructed = Some(Constructed { start: node.start_byte(), without: result, fields });
        whole
    }

    /// What an argument (`node`, evaluated whole to `whole`) holds under the attribute whose
    /// name hashes to `hash`: its own value and what is stored below that attribute (and below
    /// any subscript of it), not its other attributes. A parameter of this scope passed on
    /// passes its own field parameter; an instance made by the argument itself
    /// (`Job(command).start()`) passes that field of what its constructor stored; an argument
    /// the state does not hold is passed whole.
    fn field_argument(&mut self, node: Node<'t>, whole: &Value, hash: u32, state: &State, parameter: Option<(usize, usize)>) -> Value {
        if let Some(made) = self.constructed.as_ref().filter(|made| node.kind() == "call" && made.start == node.start_byte()) {
            let mut value = made.without.clone();
            for (suffix, stored) in &made.fields {
                let attribute = suffix.strip_prefix('.').map(|rest| &rest[..rest.find(['.', '[']).unwrap_or(rest.len())]);
                if attribute.is_none_or(|attribute| attribute_hash(attribute) == hash) {
                    value.absorb(stored);
                }
            }
            return value;
        }
        let Some(path) = self.path_of(node, state) else { return whole.clone() };
        let Some(own) = state.values.get(&path) else { return self.stored_attribute(node, &path, whole, hash) };
        let mut value = own.clone();
        // A request parameter (no source itself) passed to an explicit parameter (`parameter`:
        // the callee and its position) that does not know its type: the attribute the callee
        // reads is that attribute of the request, a source when the packs make it one
        // (`req.query` of an `aiohttp.web.Request`).
        let untyped = parameter.is_some_and(|(scope, position)| !self.parameter_typed(scope, position));
        if untyped && own.labels.iter().all(|label| matches!(label.origin, Origin::Param(_))) {
            if let Some((attribute, kind)) = own.reference.as_deref().and_then(|reference| self.source_attribute(reference, hash)) {
                let what = format!("{}.{attribute}", self.text_of(node));
                value.add_label(self.source_label(kind, node, &what));
            }
        }
        if let Some(param) = self.own_parameter(&path, own) {
            if let Some(field) = field_param(param, hash) {
                // The attribute of what the parameter holds here, with its clearances: so the
                // field binding never carries more than the whole one (`fields`).
                // The receiver carries no label of its own (`own_parameter`): its field is
                // passed uncleared.
                let (own_labels, others): (Vec<Label>, Vec<Label>) =
                    std::mem::take(&mut value.labels).into_iter().partition(|label| label.origin == Origin::Param(param));
                value.labels = others;
                if own_labels.is_empty() {
                    value.add_label(Label { origin: Origin::Param(field), cleared: 0, normalized: false, trace: Trace::default() });
                }
                for label in own_labels {
                    let (cleared, normalized) = (label.cleared, label.normalized);
                    value.add_label(Label { origin: Origin::Param(field), cleared, normalized, trace: Trace::default() });
                }
            }
        }
        absorb_stored_under_attribute(&state.values, &path, hash, &mut value);
        value.constant = None;
        value
    }

    /// A name the state does not hold, whose whole value is what other scopes stored into it
    /// (`Env`): its attribute is what they stored under that attribute (`outside_attribute`).
    /// Kept whole when the value holds anything else (a source the name is, taint from
    /// elsewhere): only labels the stores gave are narrowed.
    fn stored_attribute(&mut self, node: Node<'t>, path: &str, whole: &Value, hash: u32) -> Value {
        let Some(attribute) = self.outside_attribute(path, hash) else { return whole.clone() };
        let Some(stored) = self.outside(path, node) else { return whole.clone() };
        let kinds = |value: &Value| {
            let mut kinds: Vec<(Origin, u32, bool)> = value.labels.iter().map(|l| (l.origin.clone(), l.cleared, l.normalized)).collect();
            kinds.sort();
            kinds.dedup();
            kinds
        };
        if kinds(whole) != kinds(&stored) {
            return whole.clone();
        }
        let mut value = whole.clone();
        value.labels =
            attribute.traced(&self.step(node, "assignment", format!("reads `{}` as stored elsewhere", crate::taint::short(path)))).labels;
        value.constant = None;
        value
    }

    /// Whether workspace class `class` builds its instances from keyword fields: no `__init__`
    /// in the workspace classes it derives from, and no library base other than a record base
    /// (`typing.NamedTuple`, pydantic's `BaseModel`); a plain class without `__init__` takes
    /// keywords only as a dataclass (or attrs class) does.
    fn is_record_class(&self, class: &str) -> bool {
        if self.program.class(class).is_none() {
            return false;
        }
        self.program.ancestors(class).iter().all(|ancestor| match self.program.class(ancestor) {
            Some(info) => !info.methods.contains_key("__init__") && !info.methods.contains_key("__new__"),
            None => RECORD_BASES.contains(&ancestor.as_str()),
        })
    }

    /// A request object (a value whose reference the packs give source attributes, such as
    /// `flask.request`) passed where its reference is lost becomes user input as a whole.
    fn request_object_as_source(&self, argument: Node<'t>, value: &mut Value) {
        if value.is_tainted() {
            return;
        }
        let Some(kind) = value.reference.as_deref().and_then(|reference| self.rules.source_object_kind(reference)) else { return };
        let label = self.source_label(kind, argument, self.text_of(argument));
        value.add_label(label);
    }

    /// Whether explicit parameter `position` of `scope` has a type of its own: an annotation,
    /// or the request the framework models give it.
    fn parameter_typed(&self, scope: usize, position: usize) -> bool {
        let info = &self.program.scopes[scope];
        let index = position + usize::from(info.implicit_receiver);
        let Some(param) = info.params.get(index).filter(|param| !param.variadic) else { return false };
        param.annotation.is_some() || crate::frameworks::parameter_reference(self.program, scope, index).is_some()
    }

    /// The source attribute of `reference` whose name hashes to `hash` (`summary::FIELD`), with
    /// its kind; of several, the first by name.
    fn source_attribute(&self, reference: &str, hash: u32) -> Option<(String, SourceKind)> {
        let prefix = format!("{reference}.");
        self.rules
            .source_attributes
            .iter()
            .filter_map(|(attribute, kind)| Some((attribute.strip_prefix(prefix.as_str())?, *kind)))
            .filter(|(attribute, _)| !attribute.contains('.') && attribute_hash(attribute) == hash)
            .min_by(|a, b| a.0.cmp(b.0))
            .map(|(attribute, kind)| (attribute.to_string(), kind))
    }

    /// A query document given as a dict literal: only values under operator keys (`$where`,
    /// `$function`, …) or unknown keys can inject; `{"name": value}` is an equality match.
    pub(super) fn operator_values(&mut self, dictionary: Node<'t>, state: &mut State, depth: usize) -> Value {
        let mut result = Value::default();
        let mut cursor = dictionary.walk();
        let pairs: Vec<Node<'t>> = dictionary.named_children(&mut cursor).collect();
        for pair in pairs {
            let key = pair.field(&field::KEY).and_then(|k| literal(self.text, k, self));
            let value = pair.field(&field::VALUE).map(|v| self.eval(v, state, depth + 1)).unwrap_or_default();
            match key {
                Some(Constant::Str(key)) if !key.starts_with('$') => {}
                _ => result.absorb(&value),
            }
        }
        result
    }
}

/// Library bases of record classes: their instances hold each keyword argument in a field.
const RECORD_BASES: &[&str] = &["typing.NamedTuple", "pydantic.BaseModel", "pydantic.main.BaseModel", "object"];

/// The callee a summary is applied for, with where its stores into its receiver go.
pub(super) struct Target<'a, 't> {
    pub(super) scope: usize,
    /// How the call reaches it (what gives its first parameter: `ir::binding::receiver_of`).
    pub(super) reached: Reached,
    /// The path of the object a method runs on, when it has one.
    pub(super) receiver: Option<&'a str>,
    /// The receiver of a method call as written and evaluated (what the receiver's field
    /// parameters read).
    pub(super) receiver_argument: Option<(Node<'t>, Value)>,
    /// Without `receiver`: the receiver's fields the call stores (a constructor's new instance).
    pub(super) fields: &'a mut Vec<(String, Value)>,
}

/// The fields a constructor call stored into the instance it made, until an assignment of
/// the call (the one at byte `start`) takes them to the target's fields.
pub(super) struct Constructed {
    pub(super) start: usize,
    /// The instance's value without its fields.
    pub(super) without: Value,
    pub(super) fields: Vec<(String, Value)>,
}

/// A render site's hash, telling its hits apart from the others at the same call.
/// `incoming` as a callee's `param_flows` entry `flow` (target, suffix, source) stores it: the
/// call's step, then the steps inside the callee where it is stored.
/// Absorbs into `value` what `values` hold below `path`'s attribute whose name hashes to
/// `hash` (`path.attr`, `path.attr.x`, `path.attr[k]`) and below any subscript of `path`
/// (`path[k]`), not below its other attributes.
pub(super) fn absorb_stored_under_attribute(values: &Values, path: &str, hash: u32, value: &mut Value) {
    let (dot, index) = (format!("{path}."), format!("{path}["));
    for (key, stored) in values.from(&dot) {
        let Some(rest) = key.strip_prefix(dot.as_str()) else { break };
        let attribute = &rest[..rest.find(['.', '[']).unwrap_or(rest.len())];
        if attribute_hash(attribute) == hash {
            value.absorb(stored);
        }
    }
    for (key, stored) in values.from(&index) {
        if !key.starts_with(index.as_str()) {
            break;
        }
        value.absorb(stored);
    }
}

/// How a call's evaluated arguments are written, for `ir::binding::bind`: positional ones
/// (`*xs` spreads among them) in order, then keywords (`**d` spreads among the positional list,
/// where the call's arguments put them).
pub(super) fn written_arguments<'a, 't>(
    positional: &'a [(Node<'t>, Value)],
    keywords: &'a [(String, Node<'t>, Value)],
) -> impl Iterator<Item = Written<'a>> + 'a {
    positional
        .iter()
        .map(|(node, _)| match node.kind() {
            "list_splat" => Written::Spread,
            "dictionary_splat" => Written::KeywordSpread,
            _ => Written::Positional,
        })
        .chain(keywords.iter().map(|(name, ..)| Written::Keyword(name)))
}

fn flow_traced(summary: &Summary, flow: (usize, &String, usize), incoming: Value, call_step: &TraceStep) -> Value {
    let mut traced = incoming.traced(call_step);
    let inside = summary.param_flow_steps.iter().find(|(t, s, f, _)| (*t, s, *f) == flow);
    if let Some((_, _, _, steps)) = inside {
        for label in &mut traced.labels {
            label.trace = label.trace.extend(steps);
        }
    }
    traced
}

fn render_hash(site: &RenderSite) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = rustc_hash::FxHasher::default();
    site.hash(&mut hasher);
    hasher.finish().max(1)
}

/// `value` stored into `receiver` by a mutating method call (`items.append(value)`): a step of
/// its path when it is tainted.
fn stored_into<'t>(analysis: &Analysis<'_, 't>, value: &Value, call: Node<'t>, receiver: Node<'t>) -> Value {
    if !value.is_tainted() {
        return value.clone();
    }
    value.clone().traced(&analysis.step(call, "assignment", format!("stored into `{}`", short(analysis.text_of(receiver)))))
}

#[cfg(test)]
mod tests {
    use crate::ir::resolve;
    use crate::taint::analyze_text;

    const RUN: &str = "import os\nfrom flask import request\n\ndef run(cmd, other):\n    os.system(cmd)\n\ndef ident(x):\n    return x\n";

    #[test]
    fn a_sink_inside_records_the_parameter_that_reaches_it() {
        let (summaries, _) = analyze_text(RUN);
        let sinks: Vec<(usize, u32)> = summaries["app.run"].param_sinks.iter().map(|sink| (sink.param, sink.cwe)).collect();
        assert_eq!(sinks, vec![(0, 78)]);
    }

    #[test]
    fn a_callee_summary_carries_taint_through_the_call() {
        let text = format!("{RUN}\ndef g(a, b):\n    return ident(a)\n\ndef h(a):\n    return ident('x')\n");
        let (summaries, _) = analyze_text(&text);
        let returns = &summaries["app.g"].param_returns;
        assert_eq!(returns.iter().map(|(param, ..)| *param).collect::<Vec<_>>(), vec![0]);
        assert!(summaries["app.h"].param_returns.is_empty());
        // A parameter passed on to a callee's sink is a sink of the caller too.
        let text = format!("{RUN}\ndef outer(p):\n    run(ident(p), None)\n");
        let (summaries, _) = analyze_text(&text);
        assert_eq!(summaries["app.outer"].param_sinks.iter().map(|sink| sink.param).collect::<Vec<_>>(), vec![0]);
    }

    #[test]
    fn a_source_reaching_a_callee_sink_is_a_finding_whose_path_goes_through_the_call() {
        let text = format!("{RUN}\ndef view():\n    run(request.args['c'], 1)\n    run('ls', request.args['d'])\n");
        let (_, findings) = analyze_text(&text);
        assert_eq!(findings.len(), 1, "{findings:#?}");
        let finding = &findings[0];
        assert_eq!((finding.cwe, finding.sink.start_line, finding.source.start_line), (78, 4, 10));
        assert!(finding.steps.iter().any(|step| step.kind == "argument" || step.kind == "call"), "{:#?}", finding.steps);
        assert_eq!(finding.steps.last().unwrap().kind, "sink");
    }

    #[test]
    fn what_a_callee_stores_into_module_state_is_exported_by_key_for_a_parameter_and_with_its_steps_for_a_source() {
        // A long way from `p` to the call (a trace past `MAX_TRACE`): the caller's entry is the
        // callee's, its key alone (`Summary::param_exports` holds no steps).
        let hops: String = (0..crate::taint::lattice::MAX_TRACE + 3).map(|i| format!("    p{} = p{i}\n", i + 1)).collect();
        let last = crate::taint::lattice::MAX_TRACE + 3;
        let text = format!(
            "import os\nfrom flask import request\n\ndef store(v):\n    global SAVED\n    SAVED = v\n\n\
             def relay(p0, q):\n{hops}    store(p{last})\n    store(q)\n\n\
             def view():\n    store(request.args['c'])\n\ndef use():\n    os.system(SAVED)\n"
        );
        let (summaries, findings) = analyze_text(&text);
        let keys = |name: &str| -> Vec<(usize, u32, bool, String, String)> {
            summaries[name]
                .param_exports
                .iter()
                .map(|(param, cleared, normalized, owner, _, path)| {
                    (*param, *cleared, *normalized, owner.to_string(), path.as_str().to_string())
                })
                .collect()
        };
        let stored = keys("app.store");
        assert_eq!(stored.len(), 1, "{stored:?}");
        let (_, _, _, owner, path) = stored[0].clone();
        assert_eq!(keys("app.relay"), vec![(0, 0, false, owner.clone(), path.clone()), (1, 0, false, owner, path)]);
        // Source taint stored through the call keeps its steps, the call among them.
        let export = summaries["app.view"].exports.iter().find(|export| export.path == "SAVED").expect("view's store");
        let steps: Vec<&str> = export.value.labels[0].trace.steps().iter().map(|step| step.kind).collect();
        assert_eq!(steps.first(), Some(&"source"), "{steps:?}");
        assert!(steps.contains(&"call"), "{steps:?}");
        let sink_line = text.lines().position(|line| line.contains("os.system")).unwrap();
        assert_eq!(findings.iter().map(|f| (f.cwe, f.sink.start_line)).collect::<Vec<_>>(), vec![(78, sink_line)]);
    }

    /// What reaches which parameter at the last statement of `caller` (one call of `callee`),
    /// as sorted (argument, parameter) pairs, both ways: by slicing's binding of the lowered call
    /// site (`ir::effects::bind_arguments`) and by taint's (a finding from the source assigned to
    /// argument `sN` on its own line at the sink `os.system(<parameter>)` of that parameter).
    fn bound_both_ways(source: &str, caller: &str, callee: &str) -> (Pairs, Pairs) {
        use crate::ir::effects::bind_arguments;
        use crate::ir::lower::{IrCache, StepKind};
        let document = crate::parse::Document::new(source.to_string());
        let parts = crate::program::build_parts(vec![("app.py".to_string(), &document)]);
        let program = crate::program::Program::from_parts(&parts);
        let callee_index = program.functions[callee];
        let callee = &program.scopes[callee_index];
        let caller = program.functions[caller];
        let body = program.scopes[caller].body;
        let statement = body.named_child(body.named_child_count() as u32 - 1).expect("the call, last in the caller");
        let ir = IrCache::default().scope(source, body, &[(StepKind::Statement, statement)]);
        let lowered = ir.site(StepKind::Statement, statement, body.start_byte()).expect("lowered");
        // An argument by its place, or a spread by the name it reads.
        let name =
            |argument: &crate::ir::lower::Argument| ir.key(argument.place.or(argument.reads.first().copied()).expect("named")).to_string();
        // How the call reaches the callee, as slicing links it (`ir::resolve::reached`).
        let call = statement.named_child(0).filter(|node| node.kind() == "call").expect("a call statement");
        // Locals bound one way, as slicing links them (`ir::resolve::local_references`).
        use crate::syntax::FieldChild;
        // Every assignment in the body (in branches too), not in nested definitions.
        let mut assignments = Vec::new();
        let mut stack = vec![body];
        while let Some(node) = stack.pop() {
            let mut cursor = node.walk();
            for child in node.named_children(&mut cursor) {
                match child.kind() {
                    "function_definition" | "class_definition" | "decorated_definition" => {}
                    "assignment" => assignments.push(child),
                    _ => stack.push(child),
                }
            }
        }
        assignments.sort_by_key(|assignment| assignment.start_byte());
        let bindings: Vec<(&str, Option<crate::syntax::tree::Node<'_>>)> = assignments
            .into_iter()
            .filter_map(|assignment| {
                let left = assignment.field(&crate::syntax::field::LEFT).filter(|left| left.kind() == "identifier")?;
                Some((&source[left.byte_range()], assignment.field(&crate::syntax::field::RIGHT)))
            })
            .collect();
        let scope_bindings = crate::ir::bindings::Bindings::of_scope(source, program.scopes[caller].body);
        let tables = resolve::table_locals(&program, caller, &scope_bindings);
        let locals = resolve::local_references(&program, caller, Some(&tables), bindings);
        let syntactic = resolve::Syntactic { program: &program, scope: caller, locals: Some(&locals), tables: Some(&tables) };
        let resolved = resolve::resolve_call(&program, caller, call, &mut |node| syntactic.reference(node));
        assert!(resolved.targets.contains(&callee_index), "the call resolves to the callee");
        let graph = crate::slice::graph::build_graph(&program, caller, &mut IrCache::default());
        let class_locals = resolve::class_locals(&program, caller, &scope_bindings);
        let local = |name: &str| resolve::Local::of(&class_locals, name, graph.assigns(name));
        let reached = resolve::reached(&program, caller, call, &resolved, &local);
        let receiver = crate::ir::binding::receiver_of(&program, callee_index, reached);
        // `super().m(…)`: the receiver is the caller's own, as slicing names it.
        let own = crate::ir::binding::own_receiver(&program, caller, reached).filter(|_| receiver == crate::ir::binding::Receiver::Object);
        let mut slicing: Vec<(String, String)> = bind_arguments(&lowered.calls[0], receiver, &callee.params)
            .into_iter()
            .map(|(at, argument, _)| match own.filter(|_| at == 0) {
                Some(own) => (own.name.clone(), callee.params[at].name.clone()),
                None => (name(argument), callee.params[at].name.clone()),
            })
            .collect();
        slicing.sort();
        // One source at a time (labels of one kind joined at a parameter may be merged into
        // one finding): the other arguments hold a constant.
        let lines: Vec<&str> = source.lines().collect();
        let parameter_on = |line: usize| {
            let sink = lines[line].trim().strip_prefix("os.system(").and_then(|rest| rest.strip_suffix(')'));
            sink.expect("a sink line").to_string()
        };
        let arguments: Vec<&str> =
            lines.iter().filter(|line| line.contains("= request.args[")).filter_map(|line| line.split_whitespace().next()).collect();
        let mut taint: Vec<(String, String)> = Vec::new();
        for argument in &arguments {
            let only: Vec<String> = lines
                .iter()
                .map(|line| match line.split_whitespace().next() {
                    Some(other) if line.contains("= request.args[") && other != *argument => {
                        format!("{}{other} = \"c\"", &line[..line.len() - line.trim_start().len()])
                    }
                    _ => line.to_string(),
                })
                .collect();
            let (_, findings) = analyze_text(&only.join("\n"));
            taint.extend(findings.iter().map(|finding| (argument.to_string(), parameter_on(finding.sink.start_line))));
        }
        taint.sort();
        taint.dedup();
        (slicing, taint)
    }

    /// (argument, parameter) pairs, sorted.
    type Pairs = Vec<(String, String)>;

    fn pairs(expected: &[(&str, &str)]) -> Pairs {
        let mut pairs: Vec<(String, String)> = expected.iter().map(|&(a, p)| (a.to_string(), p.to_string())).collect();
        pairs.sort();
        pairs
    }

    /// The sources `s0`, `s1`, … of a caller, one per line.
    fn sources(count: usize, indent: &str) -> String {
        (0..count).map(|i| format!("{indent}s{i} = request.args[\"{i}\"]\n")).collect()
    }

    const SINKS: &str = "import os\nfrom flask import request\n\n";

    #[test]
    fn taint_and_slicing_bind_keywords_defaults_and_variadics_alike() {
        let callee = "def f(a, b, *rest, key=None, **options):\n    os.system(a)\n    os.system(b)\n    os.system(rest)\n    os.system(key)\n    os.system(options)\n";
        let expected = pairs(&[("s0", "a"), ("s1", "b"), ("s2", "rest"), ("s3", "key"), ("s4", "options")]);
        let source = format!("{SINKS}{callee}\ndef view():\n{}    f(s0, s1, s2, key=s3, other=s4)\n", sources(5, "    "));
        assert_eq!(bound_both_ways(&source, "app.view", "app.f"), (expected.clone(), expected));
        // Keywords in any order; a default left out binds nothing.
        let expected = pairs(&[("s0", "b"), ("s1", "a")]);
        let source = format!("{SINKS}{callee}\ndef view():\n{}    f(b=s0, a=s1)\n", sources(2, "    "));
        assert_eq!(bound_both_ways(&source, "app.view", "app.f"), (expected.clone(), expected));
    }

    #[test]
    fn taint_and_slicing_bind_spreads_to_every_parameter_they_may_fill() {
        let callee = "def f(a, b, *rest, **options):\n    os.system(a)\n    os.system(b)\n    os.system(rest)\n    os.system(options)\n";
        let source = format!("{SINKS}{callee}\ndef view():\n{}    f(s0, *s1, **s2)\n", sources(3, "    "));
        let expected = pairs(&[("s0", "a"), ("s1", "b"), ("s1", "rest"), ("s2", "b"), ("s2", "options")]);
        assert_eq!(bound_both_ways(&source, "app.view", "app.f"), (expected.clone(), expected));
    }

    #[test]
    fn taint_and_slicing_bind_receivers_of_methods_classmethods_and_constructors_alike() {
        let class = "class C:\n    def __init__(self, a, b=None):\n        os.system(a)\n        os.system(b)\n\n    def run(self, a, key=None):\n        os.system(a)\n        os.system(key)\n\n    @classmethod\n    def make(cls, a):\n        os.system(a)\n";
        // `self.run(…)`: `self` is the receiver (slicing binds it; taint follows its fields).
        let source = format!("{SINKS}{class}\n    def go(self):\n{}        self.run(s0, key=s1)\n", sources(2, "        "));
        let (slicing, taint) = bound_both_ways(&source, "app.C.go", "app.C.run");
        assert_eq!(slicing, pairs(&[("s0", "a"), ("s1", "key"), ("self", "self")]));
        assert_eq!(taint, pairs(&[("s0", "a"), ("s1", "key")]));
        // `C.make(…)`: `cls` is the class.
        let source = format!("{SINKS}{class}\n\ndef view():\n{}    C.make(s0)\n", sources(1, "    "));
        let (slicing, taint) = bound_both_ways(&source, "app.view", "app.C.make");
        assert_eq!(slicing, pairs(&[("C", "cls"), ("s0", "a")]));
        assert_eq!(taint, pairs(&[("s0", "a")]));
        // `C(…)` runs `__init__` on the new instance: the first argument is `a`, not `self`.
        let source = format!("{SINKS}{class}\n\ndef view():\n{}    C(s0, b=s1)\n", sources(2, "    "));
        let expected = pairs(&[("s0", "a"), ("s1", "b")]);
        assert_eq!(bound_both_ways(&source, "app.view", "app.C.__init__"), (expected.clone(), expected));
    }

    #[test]
    fn taint_and_slicing_bind_a_method_read_through_its_class_alike() {
        let class = "class C:\n    def run(self, a, key=None):\n        os.system(a)\n        os.system(key)\n\n    @staticmethod\n    def tool(a):\n        os.system(a)\n";
        // `C.run(obj, …)`: `obj` is `self` (slicing binds it; taint follows its fields), the
        // next argument is `a`.
        let source = format!("{SINKS}{class}\n\ndef view(obj):\n{}    C.run(obj, s0, key=s1)\n", sources(2, "    "));
        let (slicing, taint) = bound_both_ways(&source, "app.view", "app.C.run");
        assert_eq!(slicing, pairs(&[("obj", "self"), ("s0", "a"), ("s1", "key")]));
        assert_eq!(taint, pairs(&[("s0", "a"), ("s1", "key")]));
        // Through a class the function imports itself: an import gives the name no value of
        // the function's (`ir::bindings::Bindings::assigns`; slicing once took the imported
        // name for a local, `obj` for `a`).
        let source = format!("{SINKS}{class}\n\ndef view(obj):\n    from app import C\n{}    C.run(obj, s0, key=s1)\n", sources(2, "    "));
        let (slicing, taint) = bound_both_ways(&source, "app.view", "app.C.run");
        assert_eq!(slicing, pairs(&[("obj", "self"), ("s0", "a"), ("s1", "key")]));
        assert_eq!(taint, pairs(&[("s0", "a"), ("s1", "key")]));
        // `Base.run(self, …)` in a subclass's method.
        let subclass = "\nclass D(C):\n    def run(self, a, key=None):\n        pass\n\n    def go(self):\n";
        let source = format!("{SINKS}{class}{subclass}{}        C.run(self, s0, s1)\n", sources(2, "        "));
        let (slicing, taint) = bound_both_ways(&source, "app.D.go", "app.C.run");
        assert_eq!(slicing, pairs(&[("s0", "a"), ("s1", "key"), ("self", "self")]));
        assert_eq!(taint, pairs(&[("s0", "a"), ("s1", "key")]));
        // A staticmethod has no receiver through its class either.
        let source = format!("{SINKS}{class}\n\ndef view():\n{}    C.tool(s0)\n", sources(1, "    "));
        let expected = pairs(&[("s0", "a")]);
        assert_eq!(bound_both_ways(&source, "app.view", "app.C.tool"), (expected.clone(), expected));
    }

    #[test]
    fn taint_and_slicing_bind_a_method_called_on_super_alike() {
        let base = "class Base:\n    def __init__(self, a, key=None):\n        os.system(a)\n        os.system(key)\n\n    def proxy(self, a):\n        os.system(a)\n\n    @classmethod\n    def create(cls, a):\n        os.system(a)\n\n\nclass Mid(Base):\n    pass\n";
        // `super().__init__(…)`: the caller's `self` is the receiver, the arguments the rest.
        let sub = "\n\nclass Handler(Mid):\n    def __init__(self, a):\n";
        let source = format!("{SINKS}{base}{sub}{}        super().__init__(s0, key=s1)\n", sources(2, "        "));
        let (slicing, taint) = bound_both_ways(&source, "app.Handler.__init__", "app.Base.__init__");
        assert_eq!(slicing, pairs(&[("s0", "a"), ("s1", "key"), ("self", "self")]));
        assert_eq!(taint, pairs(&[("s0", "a"), ("s1", "key")]));
        // `super(Handler, self).proxy(…)`, found past `Mid` in `Base`.
        let sub = "\n\nclass Handler(Mid):\n    def proxy(self, a):\n";
        let source = format!("{SINKS}{base}{sub}{}        super(Handler, self).proxy(s0)\n", sources(1, "        "));
        let (slicing, taint) = bound_both_ways(&source, "app.Handler.proxy", "app.Base.proxy");
        assert_eq!(slicing, pairs(&[("s0", "a"), ("self", "self")]));
        assert_eq!(taint, pairs(&[("s0", "a")]));
        // A classmethod's `super().create(…)`: `cls` is the caller's `cls`.
        let sub = "\n\nclass Handler(Mid):\n    @classmethod\n    def create(cls, a):\n";
        let source = format!("{SINKS}{base}{sub}{}        super().create(s0)\n", sources(1, "        "));
        let (slicing, taint) = bound_both_ways(&source, "app.Handler.create", "app.Base.create");
        assert_eq!(slicing, pairs(&[("cls", "cls"), ("s0", "a")]));
        assert_eq!(taint, pairs(&[("s0", "a")]));
    }

    #[test]
    fn taint_and_slicing_bind_a_method_read_through_a_local_holding_a_class_alike() {
        let class = "class C:\n    def __init__(self, a):\n        os.system(a)\n\n    def run(self, a, key=None):\n        os.system(a)\n        os.system(key)\n\n\nclass D(C):\n    pass\n";
        // `local = C; local.run(obj, …)`: `obj` is `self`, as through `C` itself.
        let source = format!("{SINKS}{class}\n\ndef view(obj):\n{}    local = C\n    local.run(obj, s0, key=s1)\n", sources(2, "    "));
        let (slicing, taint) = bound_both_ways(&source, "app.view", "app.C.run");
        assert_eq!(slicing, pairs(&[("obj", "self"), ("s0", "a"), ("s1", "key")]));
        assert_eq!(taint, pairs(&[("s0", "a"), ("s1", "key")]));
        // `either = C if flag else D`: a method read through it, or a constructor call of it.
        let source = format!(
            "{SINKS}{class}\n\ndef view(obj, flag):\n{}    either = C if flag else D\n    either.run(obj, s0)\n",
            sources(1, "    ")
        );
        let (slicing, taint) = bound_both_ways(&source, "app.view", "app.C.run");
        assert_eq!(slicing, pairs(&[("obj", "self"), ("s0", "a")]));
        assert_eq!(taint, pairs(&[("s0", "a")]));
        let source = format!("{SINKS}{class}\n\ndef view(flag):\n{}    either = C if flag else D\n    either(s0)\n", sources(1, "    "));
        let expected = pairs(&[("s0", "a")]);
        assert_eq!(bound_both_ways(&source, "app.view", "app.C.__init__"), (expected.clone(), expected));
    }

    #[test]
    fn taint_and_slicing_reach_the_methods_of_an_instance_of_either_class_alike() {
        let classes = "class C:\n    def run(self, a):\n        os.system(a)\n\n\nclass D:\n    def run(self, b):\n        os.system(b)\n\n\nclass E:\n    def run(self, c):\n        os.system(c)\n";
        // `either = C() if flag else D()`, and `C()` in one branch, `D()` in the other: both
        // methods run, with `either` as `self`; `E.run` does not.
        let conditional = "    either = C() if flag else D()\n";
        let branches = "    if flag:\n        either = C()\n    else:\n        either = D()\n";
        for binding in [conditional, branches] {
            let source = format!("{SINKS}{classes}\n\ndef view(flag):\n{}{binding}    either.run(s0)\n", sources(1, "    "));
            let (to_c, taint) = bound_both_ways(&source, "app.view", "app.C.run");
            let (to_d, _) = bound_both_ways(&source, "app.view", "app.D.run");
            assert_eq!(to_c, pairs(&[("either", "self"), ("s0", "a")]), "{binding}");
            assert_eq!(to_d, pairs(&[("either", "self"), ("s0", "b")]), "{binding}");
            assert_eq!(taint, pairs(&[("s0", "a"), ("s0", "b")]), "{binding}");
        }
    }

    #[test]
    fn taint_and_slicing_bind_through_a_module_level_name_bound_to_either_class_alike() {
        let classes = "class C:\n    def __init__(self, a):\n        os.system(a)\n\n    def run(self, a):\n        os.system(a)\n\n\nclass D:\n    def __init__(self, b):\n        os.system(b)\n\n    def run(self, b):\n        os.system(b)\n\n\nclass E:\n    def run(self, c):\n        os.system(c)\n";
        let conditional = "Impl = C if os.environ.get(\"F\") else D\n";
        let branches = "if os.environ.get(\"F\"):\n    Impl = C\nelse:\n    Impl = D\n";
        for binding in [conditional, branches] {
            // `Impl.run(obj, …)`: `obj` is `self` of either class's `run`.
            let source = format!("{SINKS}{classes}\n\n{binding}\n\ndef view(obj):\n{}    Impl.run(obj, s0)\n", sources(1, "    "));
            let (to_c, taint) = bound_both_ways(&source, "app.view", "app.C.run");
            let (to_d, _) = bound_both_ways(&source, "app.view", "app.D.run");
            assert_eq!(to_c, pairs(&[("obj", "self"), ("s0", "a")]), "{binding}");
            assert_eq!(to_d, pairs(&[("obj", "self"), ("s0", "b")]), "{binding}");
            assert_eq!(taint, pairs(&[("s0", "a"), ("s0", "b")]), "{binding}");
            // `Impl(…)` constructs either.
            let source = format!("{SINKS}{classes}\n\n{binding}\n\ndef view():\n{}    Impl(s0)\n", sources(1, "    "));
            let (to_c, taint) = bound_both_ways(&source, "app.view", "app.C.__init__");
            let (to_d, _) = bound_both_ways(&source, "app.view", "app.D.__init__");
            assert_eq!((to_c, to_d), (pairs(&[("s0", "a")]), pairs(&[("s0", "b")])), "{binding}");
            assert_eq!(taint, pairs(&[("s0", "a"), ("s0", "b")]), "{binding}");
        }
    }

    #[test]
    fn taint_and_slicing_find_a_method_in_pythons_method_resolution_order_alike() {
        // `D(B, C)`, `B(A)`: `A.run` comes before `C.run` (C3), breadth first it did not.
        let classes = "class A:\n    def run(self, a):\n        os.system(a)\n\n\nclass B(A):\n    pass\n\n\nclass C:\n    def run(self, c):\n        os.system(c)\n\n\nclass D(B, C):\n    pass\n";
        let source = format!("{SINKS}{classes}\n\ndef view():\n{}    D().run(s0)\n", sources(1, "    "));
        let (slicing, taint) = bound_both_ways(&source, "app.view", "app.A.run");
        assert_eq!(slicing, pairs(&[("D", "self"), ("s0", "a")]));
        assert_eq!(taint, pairs(&[("s0", "a")]));
    }

    #[test]
    fn taint_and_slicing_bind_super_in_a_function_nested_in_a_method_alike() {
        let base =
            "class Base:\n    def run(self, a, key=None):\n        os.system(a)\n        os.system(key)\n\n\nclass Mid(Base):\n    pass\n";
        // `super()` in `inner` is `super(Handler, obj)`: `obj`, the nested function's own first
        // parameter, is the receiver (`ir::resolve::super_class`), the arguments the rest.
        let sub = "\n\nclass Handler(Mid):\n    def run(self, a, key=None):\n        def inner(obj):\n";
        let source = format!("{SINKS}{base}{sub}{}            super().run(s0, key=s1)\n", sources(2, "            "));
        let (slicing, taint) = bound_both_ways(&source, "app.Handler.run.inner", "app.Base.run");
        assert_eq!(slicing, pairs(&[("obj", "self"), ("s0", "a"), ("s1", "key")]));
        assert_eq!(taint, pairs(&[("s0", "a"), ("s1", "key")]));
    }

    #[test]
    fn taint_and_slicing_bind_through_a_table_held_in_a_local_alike() {
        let callees = "def run(a, b=None):\n    os.system(a)\n    os.system(b)\n\n\ndef other(a, b=None):\n    os.system(a)\n";
        let expected = pairs(&[("s0", "a"), ("s1", "b")]);
        // A constant key: the entry it names (`ir::resolve::table_locals`).
        let source = format!(
            "{SINKS}{callees}\n\ndef view(k):\n{}    handlers = {{\"run\": run, \"other\": other}}\n    handlers[\"run\"](s0, b=s1)\n",
            sources(2, "    ")
        );
        assert_eq!(bound_both_ways(&source, "app.view", "app.run"), (expected.clone(), expected.clone()));
        // A computed key, a list: every entry.
        let source =
            format!("{SINKS}{callees}\n\ndef view(k):\n{}    handlers = [other, run]\n    handlers[k](s0, b=s1)\n", sources(2, "    "));
        assert_eq!(bound_both_ways(&source, "app.view", "app.run"), (expected.clone(), expected));
        // Read into a local first (`local_references` through the table).
        let source = format!(
            "{SINKS}{callees}\n\ndef view(k):\n{}    handlers = (other, run)\n    chosen = handlers[k]\n    chosen(s0)\n",
            sources(1, "    ")
        );
        let expected = pairs(&[("s0", "a")]);
        assert_eq!(bound_both_ways(&source, "app.view", "app.other"), (expected.clone(), expected));
    }

    #[test]
    fn taint_and_slicing_bind_keyword_only_and_positional_only_parameters_alike() {
        let callee =
            "def f(a, /, b, *, key=None, **options):\n    os.system(a)\n    os.system(b)\n    os.system(key)\n    os.system(options)\n";
        // `a=` names no positional-only `a`: `**options` collects it.
        let source = format!("{SINKS}{callee}\ndef view():\n{}    f(s0, s1, key=s2, a=s3)\n", sources(4, "    "));
        let expected = pairs(&[("s0", "a"), ("s1", "b"), ("s2", "key"), ("s3", "options")]);
        assert_eq!(bound_both_ways(&source, "app.view", "app.f"), (expected.clone(), expected));
        // A spread fills `a` and `b` at most, never the keyword-only `key`.
        let source = format!("{SINKS}{callee}\ndef view():\n{}    f(*s0)\n", sources(1, "    "));
        let expected = pairs(&[("s0", "a"), ("s0", "b")]);
        assert_eq!(bound_both_ways(&source, "app.view", "app.f"), (expected.clone(), expected));
    }

    #[test]
    fn a_constructor_read_through_a_module_stores_into_the_new_instance() {
        // `app.Job(x)`: the module is no receiver; `self.cmd = cmd` is the new instance's field.
        let text = "import os\nfrom flask import request\nimport app\n\nclass Job:\n    def __init__(self, cmd):\n        self.cmd = cmd\n\ndef view():\n    job = app.Job(request.args['c'])\n    os.system(job.cmd)\n";
        let (_, findings) = analyze_text(text);
        assert_eq!(findings.iter().map(|finding| (finding.cwe, finding.sink.start_line)).collect::<Vec<_>>(), vec![(78, 10)]);
    }

    #[test]
    fn a_source_read_inside_a_function_is_returned() {
        let (summaries, _) = analyze_text("from flask import request\n\ndef get():\n    return request.args['x']\n");
        assert_eq!(summaries["app.get"].source_returns.len(), 1);
    }
}
