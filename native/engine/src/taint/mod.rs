//! Inter-procedural taint analysis: a flow-sensitive dataflow over each scope's CFG, with
//! per-function summaries solved to a fixpoint, producing findings with full step paths.
//!
//! Values are abstract: a set of labels (where the taint came from — a source, or a parameter
//! of the function being summarised — which sink kinds it has been sanitised for, and the steps
//! it took), an optional constant (constant propagation, dead-branch pruning), an optional
//! qualified reference (what the expression names: `flask.request.args`, `pkg.db.query`), and
//! whether it is string-shaped (for views returning HTML).
//!
//! Here: one scope's analysis (`Analysis`: its initial state, the worklist over its CFG) and
//! the bounds report (`Incomplete`). The parts, in the order a value meets them:
//! - `lattice` — traces, labels, values, states and their joins;
//! - `transfer` — expressions and statements over a state;
//! - `calls` — callees, rule sources and sinks, summaries applied at a call;
//! - `types` — receiver types from the packs' `[[type]]` models;
//! - `guards` — refinement on branch edges, clearances recorded in summaries;
//! - `env` — module-level state and closure variables (`Env`);
//! - `summary` — what a function does with taint, as its callers see it;
//! - `fields` — field parameters kept few in a summary (covered ones dropped, many collapsed);
//! - `solver` — summaries solved over the call graph's components;
//! - `findings` — raw findings rendered, deduplicated, identified and suppressed;
//! - `incremental` — results cached per function and reused (`analyze_incrementally`);
//! - `export` — a repository's summaries, findings and external calls for the merge (`merge.rs`).
//!
//! Invariants:
//! - Never executes analysed code; never panics on user code (unknown syntax evaluates to a
//!   conservative value: the union of its operands). A panic of ours fails only its scope
//!   (`Incomplete::failed`).

mod busy;
mod calls;
mod checks;
mod env;
pub mod export;
mod fields;
mod findings;
mod formats;
mod guards;
mod incremental;
mod lattice;
mod no_return;
mod on_demand;
mod path_key;
mod rebase;
mod render;
mod response_type;
mod schedule;
mod solver;
mod summary;
mod template_model;
mod transfer;
mod types;

pub use env::Env;
pub use findings::{suppresses, Finding, FindingStep, Location};
pub use incremental::{analyze_incrementally, analyze_incrementally_after, analyze_incrementally_with, AnalysisCache, AnalysisStats};
pub use lattice::TraceStep;
pub use rebase::TextChange;
pub use summary::Summary;
use summary::ANY_NAME;

#[cfg(test)]
use std::collections::HashMap;
use std::sync::Arc;

use crate::syntax::tree::Node;
use rustc_hash::{FxHashMap, FxHashSet};

use crate::cfg::{build_scope_cfg, EdgeKind, NoConstants, ENTRY, EXIT};
use crate::frameworks::{self, EntryPoints, Role};
use crate::ir::bindings::Bindings;
use crate::ir::lower::{ClassNames, Naming, StepKind};
use crate::program::{dotted, text_of, Constant, Program, ScopeKind};
use crate::rules::{RuleSet, SourceKind, ALL_KINDS};

use env::{name_hash, EnvKey};
use findings::RawFinding;
use lattice::{Label, Origin, State, Trace, Value, BOUNDS_MET};

/// A sink hit: the label's origin, the sink kind, the sink's place, a render site's hash (0: none).
type SinkHit = (Origin, u32, (usize, usize, usize), u64);

/// Visits of one step after which its state is widened (every sanitisation dropped).
const MAX_VISITS_PER_STEP: usize = 40;

/// A call site as `Analysis::exported_through` tells them apart: its span and the callee scope.
type CallSite = (usize, usize, usize);
/// A group of a callee's `param_exports`: parameter, kinds cleared, normalised.
type ExportGroup = (usize, u32, bool);

struct Analysis<'p, 't> {
    program: &'p Program<'t>,
    rules: &'p RuleSet,
    summaries: on_demand::SummaryTable<'p, 't>,
    /// Request handlers and what their parameters are (`frameworks`).
    entries: &'p EntryPoints,
    scope: usize,
    file: usize,
    text: &'t str,
    module: usize,
    constants: &'p crate::program::ModuleConstants,
    // Outputs.
    summary: Summary,
    raw_findings: Vec<RawFinding>,
    /// Sink hits recorded (origin, kind, sink place, and for a render site its hash): a step
    /// visited again records nothing new.
    seen_hits: FxHashSet<SinkHit>,
    return_value: Option<Value>,
    /// Per return statement: kinds each parameter is safe for when the returned value is true.
    return_guards: Vec<Vec<(usize, u32)>>,
    /// The names the scope binds and declares (`ir::bindings`, computed before the walk):
    /// rebinding a parameter does not affect the caller.
    bindings: Bindings<'t>,
    /// The names the scope binds to classes only (`ir::resolve::class_locals`), read on the
    /// first method call that asks.
    class_locals: Option<Arc<FxHashMap<String, Vec<String>>>>,
    /// The dispatch tables the scope holds in locals (`ir::resolve::table_locals`), read on
    /// the first subscript of a name that asks.
    table_locals: Option<Arc<FxHashMap<String, crate::ir::resolve::TableEntries>>>,
    is_route: bool,
    /// What this method returns is the context of this template (`EntryPoint::context_template`).
    context_template: Option<crate::frameworks::ContextTemplate>,
    /// Sorted into `Summary::resolved_callees` at the end: its order never shows.
    callees: FxHashSet<usize>,
    /// Per callee scope, the descriptions of the `call` and `return` steps of a call through
    /// its summary (`through `f``, `returned from `f``): made once per analysis, shared by
    /// every step (a call is visited at every pass over its step).
    call_descriptions: FxHashMap<usize, [Arc<str>; 2]>,
    env: &'p Env,
    /// `name_hash` of the qualified names of functions that enclose another function.
    enclosing: &'p FxHashSet<u64>,
    /// Whether a nested function or lambda may read this scope's locals (decided in `run`).
    has_inner: bool,
    /// With `has_inner`: the names nested functions and lambdas mention (computed on first use).
    inner_names: Option<FxHashSet<&'t str>>,
    /// Enclosing functions, innermost first, then the module (computed on first use).
    homes: Option<Vec<Arc<str>>>,
    /// Parameters of the lambdas whose bodies are being evaluated, innermost last.
    lambda_params: Vec<Vec<String>>,
    /// Stores not visible in the CFG states: taint stored by callees (`param_exports`) and
    /// inside lambda bodies.
    extra_exports: FxHashMap<EnvKey, State>,
    /// What each call site (its span and callee scope) already stored into `extra_exports`
    /// through one group of the callee's `param_exports` (parameter, cleared, normalised): a
    /// visit of the call storing nothing it does not cover skips the group's places, since
    /// absorbing a covered value again changes nothing (`Value::covers`).
    exported_through: FxHashMap<(CallSite, ExportGroup), Value>,
    reads: FxHashSet<u64>,
    /// Root names already looked up in the env: whether it holds anything under them.
    consulted: FxHashMap<String, bool>,
    /// The fields of the instance the last constructor call made (`calls::Constructed`).
    constructed: Option<calls::Constructed>,
    /// How the step being visited names variables, when it lies in a comprehension's region
    /// (`cfg::build_scope_cfg`): the comprehension's own names are `x@N` (`ir::lower::Naming`),
    /// apart from this scope's `x`; free names and `:=` targets stay this scope's.
    naming: Option<Naming<'t, 't>>,
    /// The names of each class body the scope's CFG inlines (`cfg::Cfg::classes`): a name a
    /// class body binds is the class attribute `C.name` there (`ir::lower::ClassNames`).
    class_names: Vec<ClassNames>,
    /// The innermost class body the step being visited lies in (an index into `class_names`).
    class_body: Option<usize>,
    /// Per class read through `self`, `cls` or an instance: its family's `Env` places.
    family_places: FxHashMap<String, std::rc::Rc<env::FamilyPlaces>>,
    /// Start bytes of the comprehensions whose regions this scope's CFG analyses: the step
    /// holding one reads its result (`nested_result`) instead of evaluating it. Others (inside
    /// a lambda, or past `cfg::MAX_NESTED_SCOPES`) are evaluated inside the step holding them.
    regions: FxHashSet<usize>,
    /// Results of regions read by the step being visited: dropped from its state once it is
    /// done (nothing else reads them), so the region's next entry starts empty.
    results_read: Vec<String>,
    /// Calls of `[[no_return]]` callables evaluated in the step being visited (their node ids):
    /// a statement that is one of them has no normal successor (`ends_branch`).
    no_return_calls: Vec<usize>,
    /// The constant (or its absence) of the condition the step being visited tests (a
    /// `Condition` step, an `assert`), as its transfer evaluated it: its guarded edges use it
    /// (`run`) instead of evaluating the condition again.
    condition_constant: Option<Option<Constant>>,
    incomplete: Incomplete,
}

fn location_of(file: usize, node: Node<'_>) -> (usize, usize, usize) {
    (file, node.start_byte(), node.end_byte())
}

/// Whether a node of `kind` is a literal that holds no taint (a parameter's usual default).
fn is_plain_literal(kind: &str) -> bool {
    matches!(kind, "none" | "true" | "false" | "integer" | "float" | "ellipsis")
}

fn short(text: &str) -> String {
    let single: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if single.chars().count() > 60 {
        format!("{}…", single.chars().take(59).collect::<String>())
    } else {
        single
    }
}

impl<'p, 't> Analysis<'p, 't> {
    fn text_of(&self, node: Node<'_>) -> &'t str {
        text_of(self.text, node)
    }

    fn step(&self, node: Node<'_>, kind: &'static str, description: String) -> TraceStep {
        TraceStep { file: self.file, start: node.start_byte(), end: node.end_byte(), kind, description: description.into() }
    }

    /// A step whose description is shared with others (no allocation).
    fn shared_step(&self, node: Node<'_>, kind: &'static str, description: Arc<str>) -> TraceStep {
        TraceStep { file: self.file, start: node.start_byte(), end: node.end_byte(), kind, description }
    }

    fn annotation_reference(&self, annotation: Node<'_>) -> Option<String> {
        let name = dotted(self.text, annotation)?;
        Some(self.program.resolve_name(self.module, &name).unwrap_or(name))
    }

    /// The label of a source at an entry point's parameter.
    fn parameter_source(&self, param: Node<'_>, name: &str, framework: &str) -> Label {
        let step = self.step(param, "source", format!("{framework} request parameter `{name}`"));
        Label {
            origin: Origin::Source { kind: SourceKind::UserInput, file: self.file, start: param.start_byte(), end: param.end_byte() },
            cleared: 0,
            normalized: false,
            trace: Trace::default().push(step),
        }
    }

    /// Parameters bound: each its own `Param` label (for the summary); at an entry point
    /// (`frameworks`) also what the framework passes — request data (a source), a typed value
    /// (clean), the request object (a reference), a dependency's return value.
    fn initial_state(&mut self) -> State {
        let mut state = State::default();
        let scope = &self.program.scopes[self.scope];
        if scope.kind == ScopeKind::Module {
            return state;
        }
        let entry = self.entries.of(self.scope);
        self.is_route = entry.is_some_and(|entry| entry.html_response);
        self.context_template = entry.and_then(|entry| entry.context_template.clone());
        let explicit_start = usize::from(scope.implicit_receiver);
        let mut clean_paths: Vec<String> = Vec::new();
        for (index, param) in scope.params.iter().enumerate() {
            let mut value = Value::default();
            if index < explicit_start {
                // `self` / `cls`: refers to the class.
                if let Some(class) = &scope.class {
                    value.reference = Some(class.as_str().into());
                }
                state.assign(&param.name, value);
                continue;
            }
            let position = index - explicit_start;
            value.add_label(Label { origin: Origin::Param(position), cleared: 0, normalized: false, trace: Trace::default() });
            if let Some(default) = param.default.filter(|default| !is_plain_literal(default.kind())) {
                // What a call leaving the parameter out passes: the default, evaluated where the
                // function is defined (its names are the enclosing scope's, read as free names
                // are). Its source taint only: the enclosing scope's parameters are not ours.
                let mut scratch = State::default();
                let default_value = self.eval(default, &mut scratch, 0);
                for label in default_value.labels.into_iter().filter(Label::is_source) {
                    value.add_label(label);
                }
            }
            if let Some(reference) = param.annotation.and_then(|a| self.annotation_reference(a)) {
                value.reference = Some(reference.as_str().into());
            }
            match entry.and_then(|entry| Some((entry.framework, entry.param(index)?))) {
                Some((framework, Role::Source)) => value.add_label(self.parameter_source(param.node, &param.name, framework)),
                Some((framework, Role::Validated { clears })) => {
                    let mut label = self.parameter_source(param.node, &param.name, framework);
                    label.cleared |= clears;
                    value.add_label(label);
                }
                Some((_, Role::Clean)) => {}
                Some((_, Role::Reference(reference))) => value.reference = Some(reference.as_str().into()),
                Some((framework, Role::Model { clean_fields })) => {
                    value.add_label(self.parameter_source(param.node, &param.name, framework));
                    clean_paths.extend(clean_fields.iter().map(|field| format!("{}.{field}", param.name)));
                }
                Some((_, Role::Returns(dependency))) => {
                    // What the dependency returns (its summary, once solved), as a call would.
                    let dependency = *dependency;
                    self.callees.insert(dependency);
                    let name = self.program.scopes[dependency].qualified_name.rsplit('.').next().unwrap_or("").to_string();
                    if let Some(summary) = self.summaries.get(dependency) {
                        for label in &summary.source_returns {
                            let mut label = label.clone();
                            label.trace =
                                label.trace.push(self.step(param.node, "return", format!("returned from `{name}` (a dependency)")));
                            value.add_label(label);
                        }
                    }
                }
                None => {
                    if value.reference.is_none() {
                        if let Some(reference) = frameworks::parameter_reference(self.program, self.scope, index) {
                            value.reference = Some(reference.into());
                        }
                    }
                }
            }
            state.assign(&param.name, value);
            // Typed fields of a model parameter (after the parameter: assigning it clears below).
            for path in clean_paths.drain(..) {
                state.assign(&path, Value::default());
            }
        }
        state
    }

    /// Per step of `cfg`, how it names variables (`Analysis::naming`: steps of a
    /// comprehension's region), and whether it is skipped: the steps of a lambda's region
    /// (a lambda's body is evaluated where the lambda is and at calls of it in this scope,
    /// `transfer::eval_lambda`/`call_lambda`, comprehensions inside it with it) and
    /// `WholeNestedScope` steps (their comprehension is evaluated inside the step holding it).
    /// Records the comprehensions with regions (`Analysis::regions`).
    fn region_steps(&mut self, cfg: &crate::cfg::Cfg<'t>) -> (Vec<Option<Naming<'t, 't>>>, Vec<bool>) {
        let base = self.program.scopes[self.scope].body.start_byte();
        let mut namings = vec![None; cfg.steps.len()];
        let mut skipped = vec![false; cfg.steps.len()];
        for (index, step) in cfg.steps.iter().enumerate() {
            let Some(node) = step.node else { continue };
            let Some(naming) = Naming::of_region_step(self.text, base, step.kind, node) else { continue };
            if step.kind == StepKind::WholeNestedScope || naming.scopes().any(|scope| scope.kind() == "lambda") {
                skipped[index] = true;
                continue;
            }
            if step.kind == StepKind::Element {
                if let Some(owner) = naming.scopes().next() {
                    self.regions.insert(owner.start_byte());
                }
            }
            namings[index] = Some(naming);
        }
        (namings, skipped)
    }

    fn run(&mut self) {
        let scope = &self.program.scopes[self.scope];
        if scope.depth > crate::syntax::MAX_STATEMENT_DEPTH {
            return;
        }
        let cfg = build_scope_cfg(self.text, scope.body, &NoConstants);
        let (mut namings, skipped) = self.region_steps(&cfg);
        self.class_names =
            cfg.classes.iter().map(|class| ClassNames::of_class(self.text, class.definition, class.prefix.clone())).collect();
        self.incomplete.flattened_scopes += cfg.flattened_scopes as u32;
        self.has_inner = scope.kind != ScopeKind::Module
            && (self.enclosing.contains(&name_hash(&scope.qualified_name))
                || memchr::memmem::find(&self.text.as_bytes()[scope.body.byte_range()], b"lambda").is_some());
        let initial = self.initial_state();
        let mut states: Vec<Option<State>> = vec![None; cfg.steps.len()];
        let mut visits = vec![0usize; cfg.steps.len()];
        states[ENTRY] = Some(initial);
        // Lowest reverse-postorder position first: a step's predecessors settle before it.
        let order = cfg.reverse_postorder();
        let mut worklist: std::collections::BinaryHeap<std::cmp::Reverse<(usize, usize)>> =
            std::collections::BinaryHeap::from([std::cmp::Reverse((order[ENTRY], ENTRY))]);
        let mut queued = vec![false; cfg.steps.len()];
        queued[ENTRY] = true;
        let mut normal_exit: Option<State> = None;
        while let Some(std::cmp::Reverse((_, step))) = worklist.pop() {
            queued[step] = false;
            visits[step] += 1;
            if visits[step] == MAX_VISITS_PER_STEP + 1 {
                // Still changing: widen this step's state once (every sanitisation dropped,
                // constants forgotten), which errs toward more taint and lets it settle.
                self.incomplete.step_visits += 1;
                if let Some(state) = states[step].as_mut() {
                    state.update_values(|value| {
                        value.constant = None;
                        for label in &mut value.labels {
                            label.cleared = 0;
                        }
                        value.dedupe_merging();
                    });
                }
            }
            let Some(mut state) = states[step].clone() else { continue };
            // An exception may leave a step before its effects: handlers see both states. Steps
            // that can only add taint (conditions, returns, raises, imports) need no copy.
            let binds = match cfg.steps[step].kind {
                StepKind::Statement => cfg.steps[step].node.is_some_and(|n| {
                    n.kind() == "delete_statement"
                        || n.named_child(0).is_some_and(|first| {
                            matches!(first.kind(), "assignment" | "augmented_assignment" | "named_expression" | "call" | "await")
                        })
                }),
                StepKind::ForTarget | StepKind::WithItem => true,
                _ => false,
            };
            let before = (binds && cfg.successors[step].iter().any(|e| e.kind == EdgeKind::Exceptional)).then(|| state.clone());
            // Lent to the visit (the transfer, then the guards on its edges) and given back at its
            // end: a step is visited many times.
            self.naming = namings[step].take();
            self.class_body = cfg.steps[step].class.map(|class| class as usize);
            self.no_return_calls.clear();
            self.condition_constant = None;
            let depth_bounds_met = self.incomplete.expression_depth;
            if !skipped[step] {
                self.transfer(&cfg, step, &mut state);
            }
            // The transfer's constant of the condition is the one a second evaluation on the
            // state it leaves would give when that state is the very one it started from (the
            // condition stored nothing: no `:=`, no call storing into an argument, no region's
            // result read and dropped) and no depth bound was met (an `assert`'s condition is
            // evaluated one level down, as a part of the statement). Otherwise the edges
            // evaluate it again on that state, as they always did.
            let condition_constant = self.condition_constant.take().filter(|_| {
                self.results_read.is_empty()
                    && self.incomplete.expression_depth == depth_bounds_met
                    && states[step].as_ref().is_some_and(|start| start.values.ptr_eq(&state.values))
            });
            for result in self.results_read.drain(..) {
                state.values.remove(&result);
            }
            // `abort(400)`, `sys.exit(1)`: like `raise`, only the exceptional edges leave it.
            let ends_branch = cfg.steps[step].kind == StepKind::Statement && self.ends_branch(cfg.steps[step].node);
            let edges: Vec<_> =
                cfg.successors[step].iter().filter(|e| e.executable() && !(ends_branch && e.kind == EdgeKind::Normal)).collect();
            let edge_count = edges.len();
            // A guard's condition evaluated once per visit (its constant value, if any), not per
            // edge; none of the edges' when the transfer's constant stands.
            let mut guard_constant: Option<(usize, Option<Constant>)> = condition_constant.map(|constant| (step, constant));
            for (edge_index, edge) in edges.into_iter().enumerate() {
                // The last edge takes the state itself: most steps have one successor.
                let mut next = if edge_index + 1 == edge_count { std::mem::take(&mut state) } else { state.clone() };
                if edge.kind == EdgeKind::Exceptional {
                    if let Some(before) = &before {
                        next = next.join(before);
                    }
                }
                if let Some((condition_step, polarity)) = edge.guard.filter(|&(condition_step, _)| !skipped[condition_step]) {
                    if let Some(condition) = cfg.steps[condition_step].node {
                        let condition = if cfg.steps[condition_step].kind == StepKind::Statement || condition.kind() == "if_clause" {
                            // `assert`, a comprehension's `if` clause: the expression tested.
                            condition.named_child(0).unwrap_or(condition)
                        } else {
                            condition
                        };
                        if cfg.steps[condition_step].kind != StepKind::CasePattern {
                            let constant = match &guard_constant {
                                Some((evaluated_step, constant)) if *evaluated_step == condition_step => constant.clone(),
                                _ => {
                                    let mut probe = next.clone();
                                    let constant = self.eval(condition, &mut probe, 0).constant;
                                    guard_constant = Some((condition_step, constant.clone()));
                                    constant
                                }
                            };
                            if let Some(constant) = constant {
                                if constant.truthy() != polarity {
                                    continue;
                                }
                            }
                            self.refine(condition, polarity, &mut next);
                        }
                    }
                }
                // Normal returns reach the exit along normal edges; exceptions along exceptional ones.
                if edge.to == EXIT && edge.kind == EdgeKind::Normal {
                    normal_exit = Some(match normal_exit.take() {
                        Some(existing) => existing.join(&next),
                        None => next.clone(),
                    });
                }
                let merged = match &states[edge.to] {
                    // Nothing new along this edge (the join is the `same` state): not queued.
                    Some(existing) => match existing.join_if_changed(&next) {
                        Some(joined) => joined,
                        None => continue,
                    },
                    None => next,
                };
                states[edge.to] = Some(merged);
                if !queued[edge.to] {
                    queued[edge.to] = true;
                    worklist.push(std::cmp::Reverse((order[edge.to], edge.to)));
                }
            }
            namings[step] = self.naming.take();
        }
        self.summary.never_returns = normal_exit.is_none() && self.never_returns();
        // Effects on parameters visible after a normal return.
        if let Some(exit_state) = &normal_exit {
            let scope = &self.program.scopes[self.scope];
            let explicit = usize::from(scope.implicit_receiver);
            for (index, param) in scope.params.iter().enumerate().skip(explicit) {
                let position = index - explicit;
                for (path, value) in &exit_state.values {
                    let suffix = match path.strip_prefix(param.name.as_str()) {
                        Some("") if self.bindings.rebinds(&param.name) => continue,
                        Some(suffix) if suffix.is_empty() || suffix.starts_with(['.', '[']) => suffix,
                        _ => continue,
                    };
                    let own: Vec<&Label> = value.labels.iter().filter(|l| l.origin == Origin::Param(position)).collect();
                    let cleared = own.iter().fold(ALL_KINDS, |kinds, l| kinds & l.cleared);
                    if !own.is_empty() && cleared != 0 && value.labels.len() == own.len() {
                        self.summary.param_effects.push((position, suffix.to_string(), cleared));
                    }
                    // Other parameters' taint stored into this one's container.
                    if !(suffix.is_empty() && self.bindings.rebinds(&param.name)) {
                        for label in &value.labels {
                            if let Origin::Param(other) = label.origin {
                                if other != position && label.cleared == 0 {
                                    self.summary.param_flows.push((position, suffix.to_string(), other));
                                    self.summary.param_flow_steps.push((position, suffix.to_string(), other, label.trace.steps()));
                                }
                            }
                        }
                    }
                }
            }
        }
        // Parameters stored into the receiver's fields (`self.command = command`): the caller
        // stores its argument under the object's path (`summary::RECEIVER`). Source taint stored
        // there goes to the class's `Env` instead (`env::Analysis::receiver_owner`).
        if let (Some(exit_state), Some(receiver)) = (&normal_exit, self.receiver_name()) {
            for (path, value) in &exit_state.values {
                let Some(suffix) = path.strip_prefix(receiver).filter(|suffix| suffix.starts_with(['.', '['])) else { continue };
                for label in &value.labels {
                    if let Origin::Param(other) = label.origin {
                        if label.cleared == 0 {
                            self.summary.param_flows.push((summary::RECEIVER, suffix.to_string(), other));
                            self.summary.param_flow_steps.push((summary::RECEIVER, suffix.to_string(), other, label.trace.steps()));
                        }
                    }
                }
            }
        }
        // A boolean guard: every (non-false) return establishes the same clearance.
        if let Some((first, rest)) = self.return_guards.split_first() {
            let mut guards = rest.iter().fold(first.clone(), |common, these| guards::guards_in_common(common, these));
            guards.sort_unstable();
            self.summary.guards_when_true = guards;
        }
        // The summary's return part.
        if let Some(value) = self.return_value.take() {
            for label in &value.labels {
                match &label.origin {
                    Origin::Param(param) => self.summary.param_returns.push((*param, label.cleared, label.normalized, label.trace.steps())),
                    Origin::Source { .. } | Origin::Sources { .. } => self.summary.source_returns.push(label.clone()),
                }
            }
            self.summary.returns_stringy = value.stringy;
            self.summary.returns_reference = value.reference.clone();
        }
        self.summary.resolved_callees = self.callees.iter().copied().collect();
        self.summary.resolved_callees.sort_unstable();
        self.collect_exports(&states, &cfg.successors);
        self.summary.reads = self.reads.iter().copied().collect();
        self.summary.reads.sort_unstable();
        self.summary.sort_entries();
        let collapsed = fields::compact_fields(&mut self.summary);
        self.incomplete.fields_collapsed += collapsed;
    }
}

/// `FLOWSIGHT_DEBUG_ANALYSIS` set: timings and the scopes of each round go to stderr.
pub fn debug_analysis() -> bool {
    static ENABLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ENABLED.get_or_init(|| std::env::var_os("FLOWSIGHT_DEBUG_ANALYSIS").is_some())
}

/// Result of a whole-program taint analysis.
pub struct TaintResult {
    pub findings: Vec<Finding>,
    pub stats: AnalysisStats,
}

/// What a scope whose analysis failed (panicked) gets: no flows, counted as failed. Any name
/// may matter to it: it is analysed again whenever names change.
fn failed_analysis() -> (Summary, Vec<RawFinding>, Incomplete) {
    let summary = Summary { lookups: vec![ANY_NAME], ..Summary::default() };
    (summary, Vec::new(), Incomplete { failed: 1, ..Incomplete::default() })
}

fn analyze_scope<'p, 't>(
    program: &'p Program<'t>,
    rules: &'p RuleSet,
    summaries: on_demand::SummaryTable<'p, 't>,
    entries: &'p EntryPoints,
    env: &'p Env,
    enclosing: &'p FxHashSet<u64>,
    scope: usize,
) -> (Summary, Vec<RawFinding>, Incomplete) {
    let info = &program.scopes[scope];
    let mut analysis = Analysis {
        program,
        rules,
        summaries,
        entries,
        scope,
        file: info.file,
        text: program.text(info.file),
        module: info.module,
        constants: &program.modules[info.module].constants,
        summary: Summary::default(),
        raw_findings: Vec::new(),
        seen_hits: FxHashSet::default(),
        return_value: None,
        return_guards: Vec::new(),
        bindings: Bindings::of_scope(program.text(info.file), info.body),
        class_locals: None,
        table_locals: None,
        is_route: false,
        context_template: None,
        callees: FxHashSet::default(),
        call_descriptions: FxHashMap::default(),
        env,
        enclosing,
        has_inner: false,
        inner_names: None,
        homes: None,
        lambda_params: Vec::new(),
        extra_exports: FxHashMap::default(),
        exported_through: FxHashMap::default(),
        reads: FxHashSet::default(),
        consulted: FxHashMap::default(),
        constructed: None,
        naming: None,
        class_names: Vec::new(),
        class_body: None,
        family_places: FxHashMap::default(),
        regions: FxHashSet::default(),
        results_read: Vec::new(),
        no_return_calls: Vec::new(),
        condition_constant: None,
        incomplete: Incomplete::default(),
    };
    // An analysis may run nested in another's (`on_demand`): the outer one's bounds are kept.
    let outer_met = BOUNDS_MET.with(|cell| cell.replace(Incomplete::ZERO));
    let (outcome, lookups) = crate::program::record_name_lookups(|| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            analysis.run();
        }))
    });
    let met = BOUNDS_MET.with(|cell| cell.replace(outer_met));
    analysis.incomplete.add(&met);
    analysis.incomplete.callees_bounded += u32::from(crate::program::candidates_bounded(&lookups));
    analysis.summary.lookups = lookups;
    if outcome.is_err() {
        return failed_analysis();
    }
    (analysis.summary, analysis.raw_findings, analysis.incomplete)
}

/// Where a bound degraded one scope's analysis. Every bound but `templates_unresolved` and
/// `callees_bounded` (see there) errs toward more taint (labels
/// merged keep the least cleared kinds, too-deep expressions read every name inside them), is
/// counted here and reported (`AnalysisStats::incomplete`, the CLI's outputs, `flowsight/status`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Incomplete {
    /// Values whose labels exceeded `MAX_LABELS` and were merged.
    pub labels_merged: u32,
    /// Expressions nested deeper than `MAX_EVAL_DEPTH`, read as the union of their names.
    pub expression_depth: u32,
    /// Steps whose state was still changing after `MAX_VISITS_PER_STEP` visits, widened.
    pub step_visits: u32,
    /// Paths longer than `MAX_TRACE` steps shown with their middle left out.
    pub trace_elided: u32,
    /// Scopes whose analysis failed (a bug of ours): their findings may be missing.
    pub failed: u32,
    /// Access paths cut to their prefix by a depth bound, the one kind of bound slicing meets
    /// too (`slice::Slice::incomplete`): writes to places past `ir::place::MAX_PROJECTIONS`
    /// projections, and places a callee's summary stores into past `MAX_STORED_PROJECTIONS`
    /// (`x.a` passed where the callee stores into `p.b.c.d`); stored (weakly) at the prefix,
    /// which every read below it sees.
    pub places_cut: u32,
    /// Render sites not joined with templates, or joined in part: template name and context
    /// keys both unknown (matching every output of every template would be noise), or
    /// `extends`/`include` past `templates::MAX_TEMPLATE_DEPTH` (findings may be missing).
    #[serde(default)]
    pub templates_unresolved: u32,
    /// Parameters of a summary whose field parameters (`summary::FIELD`) were more than
    /// `fields::MAX_FIELDS_PER_PARAM` and were collapsed into the parameter itself: a caller's
    /// argument then reaches their targets whole (more taint, never less).
    #[serde(default)]
    pub fields_collapsed: u32,
    /// Comprehensions and lambdas nested deeper than `cfg::MAX_NESTED_SCOPES` in a scope's
    /// CFG (`Cfg::flattened_scopes`): evaluated inside the step holding them, their `if`
    /// clauses guarding nothing (more taint, never less).
    #[serde(default)]
    pub flattened_scopes: u32,
    /// Scopes that made a call whose callee candidates were past a bound
    /// (`program::MAX_CANDIDATES`; for `super()`, `ir::resolve::MAX_DESCENDANTS` and
    /// `MAX_COOPERATIVE_DESCENDANTS`): the call is an unknown callee's, its arguments flowing
    /// into its result, but the candidates' own sinks are not reached through it (findings may
    /// be missing, as for `templates_unresolved`).
    #[serde(default)]
    pub callees_bounded: u32,
}

impl Incomplete {
    const ZERO: Incomplete = Incomplete {
        labels_merged: 0,
        expression_depth: 0,
        step_visits: 0,
        trace_elided: 0,
        failed: 0,
        places_cut: 0,
        templates_unresolved: 0,
        fields_collapsed: 0,
        flattened_scopes: 0,
        callees_bounded: 0,
    };

    pub fn add(&mut self, other: &Incomplete) {
        self.labels_merged += other.labels_merged;
        self.expression_depth += other.expression_depth;
        self.step_visits += other.step_visits;
        self.trace_elided += other.trace_elided;
        self.failed += other.failed;
        self.places_cut += other.places_cut;
        self.templates_unresolved += other.templates_unresolved;
        self.fields_collapsed += other.fields_collapsed;
        self.flattened_scopes += other.flattened_scopes;
        self.callees_bounded += other.callees_bounded;
    }

    pub fn total(&self) -> u32 {
        self.labels_merged
            + self.expression_depth
            + self.step_visits
            + self.trace_elided
            + self.failed
            + self.places_cut
            + self.templates_unresolved
            + self.fields_collapsed
            + self.flattened_scopes
            + self.callees_bounded
    }
}

/// Runs the analysis over every scope: summaries to a fixpoint (re-analysing only callers of
/// changed summaries), then findings.
pub fn analyze(program: &Program<'_>, rules: &RuleSet) -> TaintResult {
    analyze_incrementally_with(program, rules, None, None).0
}

/// Summaries (by qualified name) and findings of `text` analysed as `app.py`.
#[cfg(test)]
fn analyze_text(text: &str) -> (HashMap<String, Summary>, Vec<Finding>) {
    analyze_text_with(text, &RuleSet::builtin())
}

/// `analyze_text` under `rules`.
#[cfg(test)]
fn analyze_text_with(text: &str, rules: &RuleSet) -> (HashMap<String, Summary>, Vec<Finding>) {
    let document = crate::parse::Document::new(text.to_string());
    let parts = crate::program::build_parts(vec![("app.py".to_string(), &document)]);
    let program = Program::from_parts(&parts);
    let (result, cache, _) = analyze_incrementally(&program, rules, None);
    let summaries = program.scopes.iter().map(|scope| scope.qualified_name.to_string()).zip(cache.summaries).collect();
    (summaries, result.findings)
}
