//! Guards: refining the state on a branch edge (sanitiser checks, allow-lists, comparisons,
//! validating helpers' summaries), and the clearances and parameter sinks a summary records.

use crate::syntax::tree::Node;

use crate::ir::resolve::{self, Syntactic};
use crate::program::{dotted, is_constant_collection, literal, Constant};
use crate::rules::{patterns, sink_kind_bit, Guard, ALL_KINDS};
use crate::syntax::{field, FieldChild};

use super::lattice::{Label, Origin, State};
use super::summary::ParamSink;
use super::{types, Analysis};

impl<'p, 't> Analysis<'p, 't> {
    /// Records a parameter → sink flow; of two for the same parameter, kind and sink the one
    /// with the shorter (then earlier) path is kept, so summaries do not depend on visiting order.
    pub(super) fn add_param_sink(&mut self, sink: ParamSink) {
        let rank = |s: &ParamSink| (s.steps.len(), s.cleared, s.steps.first().map(|step| (step.file, step.start)));
        match self.summary.param_sinks.iter_mut().find(|existing| {
            existing.param == sink.param && existing.kind == sink.kind && existing.sink == sink.sink && existing.render == sink.render
        }) {
            Some(existing) => {
                if rank(&sink) < rank(existing) {
                    *existing = sink;
                }
            }
            None => self.summary.param_sinks.push(sink),
        }
    }

    /// For each parameter, the kinds its own value is sanitised for in `state` (relative to the
    /// entry, where it carries a bare `Param` label).
    pub(super) fn parameter_clearances(&self, state: &State) -> Vec<(usize, u32)> {
        let scope = &self.program.scopes[self.scope];
        let explicit = usize::from(scope.implicit_receiver);
        let mut result = Vec::new();
        for (index, param) in scope.params.iter().enumerate().skip(explicit) {
            let position = index - explicit;
            if self.bindings.rebinds(&param.name) {
                continue;
            }
            let Some(value) = state.values.get(&param.name) else { continue };
            let own: Vec<&Label> = value.labels.iter().filter(|l| l.origin == Origin::Param(position)).collect();
            let cleared = own.iter().fold(ALL_KINDS, |kinds, l| kinds & l.cleared);
            if !own.is_empty() && cleared != 0 {
                result.push((position, cleared));
            }
        }
        result
    }

    /// Narrows `state` on the edge where `condition` evaluated to `polarity` (guards). `not`,
    /// parentheses and the sides of `and`/`or` are taken apart with a stack, left to right (a
    /// condition `not not … x` or `x and x and …` 100,000 deep overflowed the recursion).
    pub(super) fn refine(&mut self, condition: Node<'t>, polarity: bool, state: &mut State) {
        let mut pending = vec![(condition, polarity)];
        while let Some((condition, polarity)) = pending.pop() {
            match condition.kind() {
                "not_operator" => pending.extend(condition.field(&field::ARGUMENT).map(|argument| (argument, !polarity))),
                "parenthesized_expression" => pending.extend(condition.named_child(0).map(|inner| (inner, polarity))),
                "boolean_operator" => {
                    let operator = condition.field(&field::OPERATOR).map(|o| self.text_of(o)).unwrap_or("");
                    if (operator == "and" && polarity) || (operator == "or" && !polarity) {
                        // Right pushed first: the left side is refined first.
                        pending.extend(condition.field(&field::RIGHT).map(|right| (right, polarity)));
                        pending.extend(condition.field(&field::LEFT).map(|left| (left, polarity)));
                    }
                }
                _ => self.refine_one(condition, polarity, state),
            }
        }
    }

    /// `refine` for one condition that is not `not`, parentheses, `and` or `or`.
    fn refine_one(&mut self, condition: Node<'t>, polarity: bool, state: &mut State) {
        match condition.kind() {
            "comparison_operator" => {
                let mut cursor = condition.walk();
                let operands: Vec<Node<'t>> = condition.named_children(&mut cursor).collect();
                let operators: Vec<&str> = {
                    let mut cursor = condition.walk();
                    condition.children(&mut cursor).filter(|c| !c.is_named()).map(|c| self.text_of(c)).collect()
                };
                // `x == c` / `x in allowed` where it holds, `x != c` / `x not in allowed` where it
                // fails (the fall-through after `if x not in allowed: return`).
                let operator = operators.join(" ");
                let equality = match (operator.as_str(), polarity) {
                    ("==", true) | ("!=", false) => true,
                    ("in", true) | ("not in", false) => false,
                    _ => return,
                };
                if operands.len() == 2 {
                    let (left, right) = (operands[0], operands[1]);
                    // Equal to a constant, or in a collection of constants (an allow-list). A
                    // name the function binds itself (a parameter, an assignment) is its own
                    // value here, never the module's constant of that name: a constant only if
                    // that value is an untainted one.
                    let (right_is_constant, constant) = if self.names_own_binding(right) {
                        let value = self.eval_identifier(right, state, true);
                        let constant = value.constant.clone().filter(|_| !value.is_tainted());
                        (constant.is_some(), constant)
                    } else {
                        let constant = literal(self.text, right, self);
                        let collection = is_constant_collection(self.text, right, self)
                            || (right.kind() == "identifier" && self.names_constant_collection(self.text_of(right)));
                        (constant.is_some() || collection, constant)
                    };
                    if right_is_constant {
                        if let Some(path) = self.path_of(left, state) {
                            let mut value = state.values.get(&path).cloned().unwrap_or_default();
                            value = value.cleared(ALL_KINDS);
                            if equality {
                                value.constant = constant;
                            }
                            state.values.insert(path, value);
                        }
                    }
                }
            }
            "call" => {
                let Some(function) = condition.field(&field::FUNCTION) else { return };
                let arguments: Vec<Node<'t>> = condition
                    .field(&field::ARGUMENTS)
                    .map(|a| {
                        let mut cursor = a.walk();
                        a.named_children(&mut cursor).collect()
                    })
                    .unwrap_or_default();
                if function.kind() == "attribute" && polarity {
                    let method = function.field(&field::ATTRIBUTE).map(|a| self.text_of(a)).unwrap_or("");
                    let Some(object) = function.field(&field::OBJECT) else { return };
                    // `realpath(p).startswith(base)`: the check validates `p` itself.
                    if matches!(method, "startswith" | "is_relative_to") && object.kind() == "call" {
                        let normalizer = object
                            .field(&field::FUNCTION)
                            .and_then(|f| dotted(self.text, f))
                            .map(|name| self.program.resolve_name(self.module, &name).unwrap_or(name))
                            .and_then(|reference| self.rules.sanitizer_calls.get(&reference).map(|s| s.normalizes))
                            .unwrap_or(false);
                        let argument = object.field(&field::ARGUMENTS).and_then(|a| a.named_child(0));
                        if let (true, Some(path)) = (normalizer, argument.and_then(|a| self.path_of(a, state))) {
                            if let (Some(value), Some(kind)) = (state.values.get(&path).cloned(), sink_kind_bit("FilePath")) {
                                state.values.insert(path, value.cleared(kind));
                            }
                        }
                        return;
                    }
                    if matches!(method, "startswith" | "is_relative_to") {
                        let Some(path) = self.path_of(object, state) else { return };
                        let Some(mut value) = state.values.get(&path).cloned() else { return };
                        if let Some(kind) = sink_kind_bit("FilePath") {
                            if value.labels.iter().all(|l| l.normalized) {
                                value = value.cleared(kind);
                            }
                        }
                        state.values.insert(path, value);
                        return;
                    }
                    // A guard method of the checked value (`x.isdigit()`, `[[guard]] methods`).
                    if let Some(guard) = self.rules.guard_methods.get(method) {
                        if guard.arg.is_none() && guard.keyword.is_none() {
                            let kinds = self.guard_kinds(guard, &arguments, Some(object));
                            self.clear_checked(object, kinds, state);
                            return;
                        }
                    }
                    // A guard method of a typed object (`SLUG.fullmatch(x)` on a `re.Pattern`).
                    if object.kind() == "identifier" {
                        let receiver = self.eval_identifier(object, state, true).reference;
                        if let Some(guard) = receiver.and_then(|r| self.rules.guard_calls.get(&format!("{r}.{method}")).cloned()) {
                            if let Some(checked) = guard_argument(&guard, &arguments, |node| self.keyword_name(node)) {
                                let kinds = self.guard_kinds(&guard, &arguments, Some(object));
                                self.clear_checked(checked, kinds, state);
                            }
                            return;
                        }
                    }
                }
                // A name a function binds itself (a parameter, an assignment) is the function its
                // value refers to here, as for any call (`eval_call`), not the module's function
                // of that name: `def view(is_allowed=permissive): if is_allowed(x):` guards nothing.
                let local_reference = self
                    .names_own_binding(function)
                    .then(|| self.eval_identifier(function, state, true).reference.as_deref().map(str::to_string));
                let reference = match &local_reference {
                    Some(known) => known.clone(),
                    None => dotted(self.text, function).map(|name| self.program.resolve_name(self.module, &name).unwrap_or(name)),
                };
                // A workspace function that guards its parameters when it returns true.
                if polarity {
                    let resolved = match &local_reference {
                        Some(known) => resolve::resolve_call(self.program, self.scope, condition, &mut |_| known.clone()),
                        None => {
                            let syntactic = Syntactic { program: self.program, scope: self.scope, locals: None, tables: None };
                            resolve::resolve_call(self.program, self.scope, condition, &mut |n| syntactic.reference(n))
                        }
                    };
                    if !resolved.targets.is_empty() {
                        // The call may run any of its targets (`self.allowed(x)`: any override):
                        // it guards what every one of them guards.
                        let mut guards: Option<Vec<(usize, u32)>> = None;
                        for &callee in &resolved.targets {
                            // A summary read is a callee (`Summary::resolved_callees`): its change
                            // brings this scope back, and the solver orders it before this scope.
                            self.callees.insert(callee);
                            let summary = self.summaries.get(callee);
                            let these = summary.as_deref().map(|s| s.guards_when_true.as_slice()).unwrap_or_default();
                            guards = Some(match guards {
                                None => these.to_vec(),
                                Some(common) => guards_in_common(common, these),
                            });
                        }
                        for (param, kinds) in guards.unwrap_or_default() {
                            if let Some(path) = arguments.get(param).and_then(|a| self.path_of(*a, state)) {
                                if let Some(value) = state.values.get(&path).cloned() {
                                    state.values.insert(path, value.cleared(kinds));
                                }
                            }
                        }
                        return;
                    }
                }
                // Guard functions the packs declare (`url_has_allowed_host_and_scheme(url, …)`,
                // `re.fullmatch(pattern, x)`).
                if !polarity {
                    return;
                }
                let Some(guard) = reference.and_then(|r| self.rules.guard_calls.get(&r).cloned()) else { return };
                if let Some(checked) = guard_argument(&guard, &arguments, |node| self.keyword_name(node)) {
                    let kinds = self.guard_kinds(&guard, &arguments, None);
                    self.clear_checked(checked, kinds, state);
                }
            }
            _ => {}
        }
    }

    /// Whether `node` is a name the function binds itself (a parameter, an assignment, a
    /// comprehension's or lambda's variable; `ir::bindings::names_own_binding`): there it is its
    /// own value, never the module's function or constant of that name.
    pub(super) fn names_own_binding(&self, node: Node<'_>) -> bool {
        crate::ir::bindings::names_own_binding(self.program, self.scope, &self.bindings, self.text, node)
    }

    /// The name of a keyword argument node (`flags=re.M` → `flags`).
    fn keyword_name(&self, node: Node<'t>) -> Option<&'t str> {
        (node.kind() == "keyword_argument").then(|| node.field(&field::NAME).map(|n| self.text_of(n))).flatten()
    }

    /// Whether `name` read here is a module-level collection of constants (an allow-list), in
    /// this module or imported from another.
    fn names_constant_collection(&self, name: &str) -> bool {
        match self.program.resolve_name(self.module, name) {
            Some(reference) => self.program.is_constant_collection(&reference),
            None => self.program.modules[self.module].constant_collections.contains(name),
        }
    }

    /// The kinds `guard` clears when it holds: its `clears`, or what its pattern leaves harmless.
    fn guard_kinds(&self, guard: &Guard, arguments: &[Node<'t>], receiver: Option<Node<'t>>) -> u32 {
        let Some(pattern) = &guard.pattern else { return guard.clears };
        let source = if pattern.receiver {
            receiver.filter(|r| r.kind() == "identifier").and_then(|r| types::compiled_pattern(self.program, self.module, self.text_of(r)))
        } else {
            let spec = Guard { arg: pattern.arg, keyword: pattern.keyword.clone(), clears: 0, pattern: None };
            guard_argument(&spec, arguments, |node| self.keyword_name(node)).and_then(|node| match literal(self.text, node, self) {
                Some(Constant::Str(text)) => Some(text),
                _ => None,
            })
        };
        let Some(source) = source else { return 0 };
        let flags = pattern
            .flags_arg
            .and_then(|index| arguments.iter().filter(|a| a.kind() != "keyword_argument").nth(index).copied())
            .or_else(|| arguments.iter().find(|a| self.keyword_name(**a) == Some("flags")).and_then(|a| a.field(&field::VALUE)));
        let unreadable_flags = flags.is_some_and(|flags| {
            self.text_of(flags)
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .filter(|word| !word.is_empty() && *word != "re")
                .any(|word| !matches!(word, "I" | "IGNORECASE" | "A" | "ASCII" | "U" | "UNICODE"))
        });
        patterns::cleared_kinds(&source, pattern.anchors, unreadable_flags)
    }

    /// Clears `kinds` from the value of `checked` (a name or place) on this edge.
    fn clear_checked(&self, checked: Node<'t>, kinds: u32, state: &mut State) {
        if kinds == 0 {
            return;
        }
        let checked = if checked.kind() == "keyword_argument" { checked.field(&field::VALUE).unwrap_or(checked) } else { checked };
        if let Some(path) = self.path_of(checked, state) {
            if let Some(value) = state.values.get(&path).cloned() {
                state.values.insert(path, value.cleared(kinds));
            }
        }
    }
}

/// The argument node `guard` checks: its positional `arg` (keyword arguments not counted), or
/// its `keyword`.
fn guard_argument<'t>(guard: &Guard, arguments: &[Node<'t>], keyword_name: impl Fn(Node<'t>) -> Option<&'t str>) -> Option<Node<'t>> {
    let positional = guard.arg.and_then(|index| arguments.iter().filter(|a| keyword_name(**a).is_none()).nth(index).copied());
    positional.or_else(|| guard.keyword.as_deref().and_then(|name| arguments.iter().find(|a| keyword_name(**a) == Some(name)).copied()))
}

/// The clearances both `common` and `these` establish, per parameter (a guard every candidate,
/// or every return, shares), in `common`'s order.
pub(super) fn guards_in_common(common: Vec<(usize, u32)>, these: &[(usize, u32)]) -> Vec<(usize, u32)> {
    common
        .into_iter()
        .filter_map(|(param, kinds)| {
            let shared = these.iter().filter(|(p, _)| *p == param).fold(0, |acc, (_, k)| acc | k) & kinds;
            (shared != 0).then_some((param, shared))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::taint::analyze_text;

    /// Findings of `body` (indented as a function body, `c` a request parameter).
    fn findings(body: &str) -> usize {
        let text = format!("import os\nfrom flask import request\nALLOWED = ['a']\n\ndef safe(x):\n    return x.isdigit()\n\ndef view():\n    c = request.args['c']\n{body}");
        analyze_text(&text).1.len()
    }

    #[test]
    fn a_sink_on_the_checked_edge_of_a_guard_is_safe() {
        assert_eq!(findings("    os.system(c)\n"), 1);
        assert_eq!(findings("    if c.isdigit():\n        os.system(c)\n"), 0);
        assert_eq!(findings("    if c in ALLOWED:\n        os.system(c)\n"), 0);
        assert_eq!(findings("    if c not in ALLOWED:\n        os.system(c)\n"), 1);
        assert_eq!(findings("    if not c.isdigit():\n        return\n    os.system(c)\n"), 0);
        assert_eq!(findings("    if not c.isdigit():\n        os.system(c)\n"), 1);
        assert_eq!(findings("    if c.isdigit() or c:\n        os.system(c)\n"), 1);
    }

    #[test]
    fn a_helper_returning_a_check_guards_its_argument() {
        let (summaries, _) = analyze_text("def safe(x):\n    return x.isdigit()\n");
        assert_eq!(summaries["app.safe"].guards_when_true.iter().map(|(param, _)| *param).collect::<Vec<_>>(), vec![0]);
        assert_eq!(findings("    if safe(c):\n        os.system(c)\n"), 0);
    }

    #[test]
    fn a_helper_whose_guard_is_read_is_a_callee() {
        // `view` reads `safe`'s summary for the guard on the true edge (resolved on its own,
        // syntactically): `safe` is one of its callees, solved before it and bringing it back
        // when it changes (`Summary::resolved_callees`, which every summary read must enter).
        let text = "import os\nfrom flask import request\n\ndef safe(x):\n    return x.isdigit()\n\ndef view():\n    c = request.args['c']\n    if safe(c):\n        os.system(c)\n";
        let document = crate::parse::Document::new(text.to_string());
        let parts = crate::program::build_parts(vec![("app.py".to_string(), &document)]);
        let program = crate::program::Program::from_parts(&parts);
        let (_, cache, _) = crate::taint::analyze_incrementally(&program, &crate::rules::RuleSet::builtin(), None);
        let index = |name: &str| program.scopes.iter().position(|scope| &*scope.qualified_name == name).expect("a scope");
        assert!(cache.summaries[index("app.view")].resolved_callees.contains(&index("app.safe")));
    }
}
