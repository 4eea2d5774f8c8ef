//! Control-flow graphs of Python scopes (a function body or a module body), from tree-sitter,
//! following the way CPython runs the code.
//!
//! A CFG node is one "step": a simple statement, or the header of a compound statement (an
//! `if`/`while` condition, a `for` target binding, a `with` item, an `except` clause, a
//! `match` subject or `case` pattern, a nested `def`/`class` binding its name). Edges out of a
//! condition carry the condition and the polarity under which they are taken, so analyses can
//! refine facts per branch (guards) and skip branches that constants rule out.
//!
//! Edges come in three kinds:
//! - `Normal`: the step completed and control moves on.
//! - `Exceptional`: an exception propagates from the step (an explicit `raise`, a failed
//!   `assert`, or a step that may raise — it contains a call, `await`, subscript or import —
//!   inside a `try`, `with suppress(…)` or generator). Data along such an edge is the state
//!   after the step; analyses that kill definitions must not kill along it (see `pdg.rs`).
//! - `Virtual`: not executable; exists only so that control dependence is right. Each jump
//!   (`return`, `break`, `continue`, `raise`) is a pseudo-predicate with a virtual edge to the
//!   step that would follow it lexically (Ball–Horwitz); ENTRY has a virtual edge to EXIT; every
//!   loop that cannot reach EXIT gets a virtual edge from its header to EXIT, so post-dominance
//!   is defined everywhere.
//!
//! Abrupt completions are routed as CPython routes them: `return`, `break`, `continue` and a
//! propagating exception each pass through every enclosing `finally` (one copy of the finally
//! block per kind of completion that enters it, as CPython's compiler duplicates it) before
//! reaching their target; an exception goes to the innermost `try`'s first `except` clause,
//! from clause to clause while they do not match, and onward to outer handlers, `finally`
//! blocks and EXIT. A `yield` may not resume (the consumer stops): it is an exceptional exit
//! (`GeneratorExit`) through the enclosing `finally` blocks.
//!
//! Invariants:
//! - Node 0 is the entry, node 1 the exit; every other node has a syntax node.
//! - Building never fails: unknown or broken syntax becomes an opaque `Statement` step.
//! - Recursion follows statement nesting only, bounded by `MAX_STATEMENT_DEPTH`; deeper
//!   compound statements become opaque steps (their inner code is not analysed).
//! - Finally copies are bounded: past `MAX_FINALLY_COPY_DEPTH` nested copies, one shared copy
//!   serves every completion (more paths, never fewer), counted in `Cfg::shared_finally_copies`.
//! - One builder (`build_scope_cfg`), for slicing's `pdg.rs` and taint's `taint/mod.rs` alike.
//! - Nested functions are not part of the enclosing scope's graph; a `def` is one
//!   `Definition` step binding its name. A `class` is a `Definition` step followed by its body,
//!   inlined in the scope around it (a class body runs once, in order, where the class
//!   statement stands), each of its steps naming its class (`Step::class`, an index into
//!   `Cfg::classes`). The `Definition` step comes first so that it does not kill the class
//!   attributes the body defines (`ir::lower::ClassNames`: `C.attr`).
//! - Comprehensions and lambdas: each is a nested scope with its own region of steps,
//!   entered from the step holding it just before that step, as a call is: a comprehension's
//!   `for` clauses are `ForTarget` loop headers (the innermost one is re-entered after each
//!   element, an inner loop's exhaustion goes back to the loop around it, the outermost
//!   one's leaves the region), its `if` clauses `Condition`s (false: the next iteration),
//!   its element an `Element` step; a lambda is one `Element` step (its body, the value it
//!   returns). A step holding a nested scope that is re-evaluated (a `while` condition) is
//!   re-entered at its region. Nested scopes inside nested scopes get their regions the same
//!   way, at most `MAX_NESTED_SCOPES` deep (recursion is bounded by it); deeper ones are one
//!   `WholeNestedScope` step each, evaluating the whole nested scope (every name inside
//!   read), counted in `Cfg::flattened_scopes`.

use crate::syntax::tree::Node;

use crate::ir::lower::{any_in_own_scope, contains_yield, evaluated_parts, StepKind};
use crate::syntax::MAX_STATEMENT_DEPTH;
use crate::syntax::{field, FieldChild};

#[derive(Clone, Copy, Debug)]
pub struct Step<'t> {
    pub kind: StepKind,
    /// The syntax of the step: the statement, the condition expression, the clause, …
    pub node: Option<Node<'t>>,
    /// The innermost class body the step lies in (`Cfg::classes`).
    pub class: Option<u32>,
}

/// A class body inlined in the CFG of the scope around it.
#[derive(Clone, Debug)]
pub struct ClassBody<'t> {
    /// The `class_definition`.
    pub definition: Node<'t>,
    /// Its `Definition` step (the class statement's header).
    pub step: usize,
    /// The access path of the class object in the scope: its name, or `Outer.Inner` for a
    /// class defined in another class's body.
    pub prefix: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EdgeKind {
    Normal,
    Exceptional,
    /// Not executable: only for control dependence.
    Virtual,
}

/// How an edge is taken: unconditionally, or when a condition step evaluated to a polarity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Edge {
    pub to: usize,
    /// `Some((condition step, polarity))` for the two edges out of a condition.
    pub guard: Option<(usize, bool)>,
    pub kind: EdgeKind,
}

impl Edge {
    pub fn executable(&self) -> bool {
        self.kind != EdgeKind::Virtual
    }
}

#[derive(Clone)]
pub struct Cfg<'t> {
    pub steps: Vec<Step<'t>>,
    pub successors: Vec<Vec<Edge>>,
    /// Times a `finally` block got one shared copy for several completions (nesting too deep).
    pub shared_finally_copies: usize,
    /// Comprehensions and lambdas nested deeper than `MAX_NESTED_SCOPES`, evaluated whole by
    /// one `WholeNestedScope` step (every name inside read: more dependences, never fewer).
    pub flattened_scopes: usize,
    /// Class bodies inlined, outer ones before inner ones.
    pub classes: Vec<ClassBody<'t>>,
}

pub const ENTRY: usize = 0;
pub const EXIT: usize = 1;
/// Nested `finally` copies deeper than this share one copy per `try`.
pub const MAX_FINALLY_COPY_DEPTH: usize = 3;

impl<'t> Cfg<'t> {
    /// Executable predecessors (normal and exceptional edges).
    pub fn predecessors(&self) -> Vec<Vec<usize>> {
        let mut predecessors = vec![Vec::new(); self.steps.len()];
        for (from, edges) in self.successors.iter().enumerate() {
            for edge in edges.iter().filter(|e| e.executable()) {
                predecessors[edge.to].push(from);
            }
        }
        predecessors
    }

    /// Each step's position in a reverse postorder of the executable edges from ENTRY (steps
    /// ENTRY cannot reach come last): a worklist taking the lowest position first visits a
    /// step after the steps before it, except along loop back edges (walked iteratively).
    /// A comprehension's `for` clause has its edges walked last-added first: its edge into
    /// the region is added before its exit, so the region comes before the step holding the
    /// comprehension and a worklist settles the region before going on (walked the other way,
    /// everything after a comprehension was visited with the state of its first iteration,
    /// then again: +10 % CPU on Django). A `for` statement's edges are walked as added (its
    /// exit first), which keeps the paths findings show.
    pub fn reverse_postorder(&self) -> Vec<usize> {
        let count = self.steps.len();
        let mut visited = vec![false; count];
        let mut postorder = Vec::with_capacity(count);
        let mut stack: Vec<(usize, usize)> = vec![(ENTRY, 0)];
        visited[ENTRY] = true;
        while let Some((step, next_edge)) = stack.last_mut() {
            let step = *step;
            let edges = &self.successors[step];
            let region_header =
                self.steps[step].kind == StepKind::ForTarget && self.steps[step].node.is_some_and(|n| n.kind() == "for_in_clause");
            let last = edges.len().wrapping_sub(1);
            let in_order = (0..edges.len()).map(|i| &edges[if region_header { last - i } else { i }]);
            let mut executable = in_order.filter(|e| e.executable()).map(|e| e.to);
            match executable.nth(*next_edge) {
                Some(target) => {
                    *next_edge += 1;
                    if !std::mem::replace(&mut visited[target], true) {
                        stack.push((target, 0));
                    }
                }
                None => {
                    postorder.push(step);
                    stack.pop();
                }
            }
        }
        let mut position = vec![usize::MAX; count];
        for (index, &step) in postorder.iter().rev().enumerate() {
            position[step] = index;
        }
        for (unreached, slot) in (postorder.len()..).zip(position.iter_mut().filter(|p| **p == usize::MAX)) {
            *slot = unreached;
        }
        position
    }

    /// Successor lists of the augmented graph (every edge kind), for control dependence.
    pub fn augmented_successors(&self) -> Vec<Vec<usize>> {
        self.successors
            .iter()
            .map(|edges| {
                let mut targets: Vec<usize> = edges.iter().map(|e| e.to).collect();
                targets.sort_unstable();
                targets.dedup();
                targets
            })
            .collect()
    }

    /// The step whose syntax contains byte `offset` most tightly.
    pub fn step_at(&self, offset: usize) -> Option<usize> {
        self.steps
            .iter()
            .enumerate()
            .filter_map(|(i, step)| step.node.map(|node| (i, node)))
            .filter(|(_, node)| node.start_byte() <= offset && offset < node.end_byte().max(node.start_byte() + 1))
            .min_by_key(|(_, node)| node.end_byte() - node.start_byte())
            .map(|(i, _)| i)
    }

    /// Steps reachable from the entry along executable edges.
    pub fn reachable(&self) -> Vec<bool> {
        let mut seen = vec![false; self.steps.len()];
        let mut stack = vec![ENTRY];
        while let Some(step) = stack.pop() {
            if std::mem::replace(&mut seen[step], true) {
                continue;
            }
            stack.extend(self.successors[step].iter().filter(|e| e.executable()).map(|edge| edge.to));
        }
        seen
    }

    /// A readable rendering for snapshot tests: one line per step with its first source line and
    /// its successors (`!` exceptional, `~` virtual, `T`/`F` guard polarity).
    pub fn render(&self, text: &str) -> String {
        let mut out = String::new();
        for (index, step) in self.steps.iter().enumerate() {
            let label = match step.node {
                None => format!("{:?}", step.kind).to_uppercase(),
                Some(node) => {
                    let start = node.start_byte();
                    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
                    let shown = &text[start..line_end.min(node.end_byte().max(start))];
                    format!("{:?} `{}`", step.kind, shown.trim_end())
                }
            };
            let edges: Vec<String> = self.successors[index]
                .iter()
                .map(|edge| {
                    let marker = match edge.kind {
                        EdgeKind::Normal => "",
                        EdgeKind::Exceptional => "!",
                        EdgeKind::Virtual => "~",
                    };
                    let guard = match edge.guard {
                        Some((_, true)) => "T",
                        Some((_, false)) => "F",
                        None => "",
                    };
                    format!("{marker}{guard}{}", edge.to)
                })
                .collect();
            out.push_str(&format!("{index}: {label} -> {}\n", edges.join(" ")));
        }
        out
    }
}

/// Decides conditions known at analysis time (`if False:`, `if DEBUG:` with `DEBUG = False`);
/// branches a constant condition excludes get no edge.
pub trait ConstantConditions {
    fn evaluate(&self, condition: Node<'_>) -> Option<bool>;
}

/// No constant knowledge: every branch is possible.
pub struct NoConstants;

impl ConstantConditions for NoConstants {
    fn evaluate(&self, _condition: Node<'_>) -> Option<bool> {
        None
    }
}

/// One loose end: an edge from `from`, not yet connected to its target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Loose {
    from: usize,
    guard: Option<(usize, bool)>,
    kind: EdgeKind,
}

type Pending = Vec<Loose>;

fn normal(from: usize) -> Loose {
    Loose { from, guard: None, kind: EdgeKind::Normal }
}

fn virtual_from(from: usize) -> Loose {
    Loose { from, guard: None, kind: EdgeKind::Virtual }
}

/// How a statement completes abruptly (and the normal completion, for `finally` copies).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Completion {
    Normal = 0,
    Return = 1,
    Break = 2,
    Continue = 3,
    Raise = 4,
}

const COMPLETIONS: [Completion; 5] = [Completion::Normal, Completion::Return, Completion::Break, Completion::Continue, Completion::Raise];

/// What encloses the statement being built, innermost last.
enum Context {
    Loop {
        continue_to: usize,
        breaks: Pending,
    },
    /// Inside a `try` body with `except` clauses: exceptions go to the first clause.
    Handlers {
        first: usize,
    },
    /// Inside a `try` (body, clauses, else) with a `finally`: completions are collected here.
    Finally {
        collected: [Pending; 5],
    },
    /// Inside `with suppress(…)`: exceptions continue after the `with`.
    Suppress {
        caught: Pending,
    },
}

struct Builder<'a, 't> {
    text: &'a str,
    steps: Vec<Step<'t>>,
    successors: Vec<Vec<Edge>>,
    has_predecessor: Vec<bool>,
    contexts: Vec<Context>,
    constants: &'a dyn ConstantConditions,
    finally_copy_depth: usize,
    shared_finally_copies: usize,
    flattened_scopes: usize,
    /// Whether the scope's text holds `yield` at all (most do not: no walk for it then).
    may_yield: bool,
    /// Regions of nested scopes being built, innermost last (bounded by `MAX_NESTED_SCOPES`).
    nested_depth: usize,
    /// The first step the last `step` call added: its nested scopes' region, or the step.
    entered: usize,
    classes: Vec<ClassBody<'t>>,
    /// The class bodies being built, innermost last (indices into `classes`).
    class_stack: Vec<u32>,
}

/// Whether evaluating `node` may raise: it calls, awaits, subscripts, imports or yields
/// (nested scopes excluded). Plain arithmetic and attribute reads are taken not to raise.
fn may_raise(node: Node<'_>) -> bool {
    any_in_own_scope(node, |kind| {
        matches!(
            kind,
            "call"
                | "await"
                | "subscript"
                | "yield"
                | "import_statement"
                | "import_from_statement"
                | "raise_statement"
                | "assert_statement"
        )
    })
}

impl<'a, 't> Builder<'a, 't> {
    fn add(&mut self, kind: StepKind, node: Option<Node<'t>>) -> usize {
        self.steps.push(Step { kind, node, class: self.class_stack.last().copied() });
        self.successors.push(Vec::new());
        self.has_predecessor.push(false);
        self.steps.len() - 1
    }

    fn connect(&mut self, pending: &[Loose], to: usize) {
        if !pending.is_empty() {
            self.has_predecessor[to] = true;
        }
        for loose in pending {
            let edge = Edge { to, guard: loose.guard, kind: loose.kind };
            if !self.successors[loose.from].contains(&edge) {
                self.successors[loose.from].push(edge);
            }
        }
    }

    /// Whether an exception raised here is caught by something in this scope.
    fn exceptions_caught(&self) -> bool {
        self.contexts.iter().any(|c| !matches!(c, Context::Loop { .. }))
    }

    /// Adds a step reached from `pending`. A step that may raise gets an exceptional edge to
    /// where its exception goes when something in the scope catches it; a step holding a
    /// `yield` always gets one (the generator may be closed there).
    fn step(&mut self, kind: StepKind, node: Node<'t>, pending: &[Loose]) -> usize {
        let first = self.steps.len();
        let mut pending = pending.to_vec();
        // A nested scope's text holds `for` or `lambda`: most steps need no walk for one.
        let spelled = |word: &[u8]| memchr::memmem::find(&self.text.as_bytes()[node.byte_range()], word).is_some();
        if spelled(b"for") || spelled(b"lambda") {
            for nested in nested_scopes_in(kind, node) {
                if self.nested_depth >= MAX_NESTED_SCOPES {
                    // Too deep: one step evaluating the whole nested scope (its
                    // lowering reads everything inside it), counted.
                    self.flattened_scopes += 1;
                    let element = self.add(StepKind::WholeNestedScope, Some(nested));
                    self.connect(&pending, element);
                    pending = vec![normal(element)];
                    continue;
                }
                self.nested_depth += 1;
                pending = self.nested_scope(nested, pending);
                self.nested_depth -= 1;
            }
        }
        self.entered = first;
        let step = self.add(kind, Some(node));
        self.connect(&pending, step);
        let parts = evaluated_parts(kind, node);
        let raises = if self.exceptions_caught() {
            parts.iter().any(|&part| may_raise(part))
        } else {
            self.may_yield && parts.iter().any(|&part| contains_yield(part))
        };
        if raises {
            let loose = Loose { from: step, guard: None, kind: EdgeKind::Exceptional };
            self.jump(Completion::Raise, vec![loose]);
        }
        step
    }

    /// The region of a comprehension or lambda, entered from `pending`; returns its exits.
    fn nested_scope(&mut self, scope: Node<'t>, pending: Pending) -> Pending {
        let Some(body) = scope.field(&field::BODY) else { return pending };
        if scope.kind() == "lambda" {
            let element = self.step(StepKind::Element, body, &pending);
            return vec![normal(element)];
        }
        let mut cursor = scope.walk();
        let clauses: Vec<Node<'t>> =
            scope.named_children(&mut cursor).filter(|c| matches!(c.kind(), "for_in_clause" | "if_clause")).collect();
        let mut loops: Vec<usize> = Vec::new();
        let mut exits = Vec::new();
        let mut pending = pending;
        for clause in clauses {
            if clause.kind() == "for_in_clause" {
                let header = self.step(StepKind::ForTarget, clause, &pending);
                // Exhausted: back to the loop around it, or out of the region.
                match loops.last() {
                    Some(&outer) => self.connect(&[normal(header)], outer),
                    None => exits.push(normal(header)),
                }
                loops.push(header);
                pending = vec![normal(header)];
            } else if let Some(condition) = clause.named_child(0) {
                // The step is the clause (its syntax tells lowering it lies in the region).
                let test = self.step(StepKind::Condition, clause, &pending);
                let (taken, skipped) = self.branches(test, condition);
                match loops.last() {
                    Some(&innermost) => self.connect(&skipped, innermost),
                    None => exits.extend(skipped),
                }
                pending = taken;
            }
        }
        let element = self.step(StepKind::Element, body, &pending);
        match loops.last() {
            Some(&innermost) => self.connect(&[normal(element)], innermost),
            None => exits.push(normal(element)),
        }
        exits
    }

    /// Routes an abrupt completion outward through the enclosing contexts to its target.
    /// Returns the loose ends when nothing in the scope takes it (`break` outside a loop).
    fn jump(&mut self, completion: Completion, pending: Pending) -> Option<Pending> {
        let pending: Pending = pending
            .into_iter()
            .map(|loose| match (completion, loose.kind) {
                (_, EdgeKind::Virtual) => loose,
                (Completion::Raise, _) => Loose { kind: EdgeKind::Exceptional, ..loose },
                _ => Loose { kind: EdgeKind::Normal, ..loose },
            })
            .collect();
        for index in (0..self.contexts.len()).rev() {
            match (&mut self.contexts[index], completion) {
                (Context::Loop { breaks, .. }, Completion::Break) => {
                    breaks.extend(pending);
                    return None;
                }
                (Context::Loop { continue_to, .. }, Completion::Continue) => {
                    let target = *continue_to;
                    self.connect(&pending, target);
                    return None;
                }
                (Context::Handlers { first }, Completion::Raise) => {
                    let target = *first;
                    self.connect(&pending, target);
                    return None;
                }
                (Context::Suppress { caught }, Completion::Raise) => {
                    caught.extend(pending);
                    return None;
                }
                (Context::Finally { collected }, completion) => {
                    collected[completion as usize].extend(pending);
                    return None;
                }
                _ => {}
            }
        }
        match completion {
            Completion::Return | Completion::Raise => {
                self.connect(&pending, EXIT);
                None
            }
            Completion::Break | Completion::Continue | Completion::Normal => Some(pending),
        }
    }

    /// Edges out of condition `step`, with constant conditions pruning the impossible side.
    fn branches(&self, step: usize, condition: Node<'t>) -> (Pending, Pending) {
        let taken = Loose { from: step, guard: Some((step, true)), kind: EdgeKind::Normal };
        let not_taken = Loose { from: step, guard: Some((step, false)), kind: EdgeKind::Normal };
        match self.constants.evaluate(condition) {
            Some(true) => (vec![taken], Vec::new()),
            Some(false) => (Vec::new(), vec![not_taken]),
            None => (vec![taken], vec![not_taken]),
        }
    }

    fn block(&mut self, block: Option<Node<'t>>, pending: Pending, depth: usize) -> Pending {
        let Some(block) = block else { return pending };
        let mut cursor = block.walk();
        let statements: Vec<Node<'t>> = block.named_children(&mut cursor).filter(|n| n.kind() != "comment").collect();
        let mut pending = pending;
        for statement in statements {
            pending = self.statement(statement, pending, depth);
        }
        pending
    }

    /// A jump statement: a step whose real edge goes to its target and whose virtual edge
    /// falls through to the next step.
    fn jump_statement(&mut self, node: Node<'t>, pending: Pending, completion: Completion) -> Pending {
        let step = self.step(StepKind::Statement, node, &pending);
        match self.jump(completion, vec![normal(step)]) {
            // `break`/`continue` outside a loop (a syntax error): an ordinary statement.
            Some(unrouted) => unrouted,
            None => vec![virtual_from(step)],
        }
    }

    fn statement(&mut self, node: Node<'t>, pending: Pending, depth: usize) -> Pending {
        if depth > MAX_STATEMENT_DEPTH {
            let step = self.step(StepKind::Statement, node, &pending);
            return vec![normal(step)];
        }
        match node.kind() {
            "if_statement" => self.if_statement(node, pending, depth),
            "while_statement" => self.while_statement(node, pending, depth),
            "for_statement" => self.for_statement(node, pending, depth),
            "try_statement" => self.try_statement(node, pending, depth),
            "with_statement" => self.with_statement(node, pending, depth),
            "match_statement" => self.match_statement(node, pending, depth),
            "function_definition" | "class_definition" | "decorated_definition" => {
                let step = self.step(StepKind::Definition, node, &pending);
                let definition = if node.kind() == "decorated_definition" { node.field(&field::DEFINITION).unwrap_or(node) } else { node };
                match definition.field(&field::NAME).filter(|_| definition.kind() == "class_definition") {
                    Some(name) => self.class_body(definition, name, step, depth),
                    None => vec![normal(step)],
                }
            }
            "return_statement" => self.jump_statement(node, pending, Completion::Return),
            "break_statement" => self.jump_statement(node, pending, Completion::Break),
            "continue_statement" => self.jump_statement(node, pending, Completion::Continue),
            "raise_statement" => {
                // `step` already routed the exception (a raise always may raise).
                let step = self.add(StepKind::Statement, Some(node));
                self.connect(&pending, step);
                self.jump(Completion::Raise, vec![Loose { from: step, guard: None, kind: EdgeKind::Exceptional }]);
                vec![virtual_from(step)]
            }
            "assert_statement" => {
                let step = self.add(StepKind::Statement, Some(node));
                self.connect(&pending, step);
                match node.named_child(0) {
                    Some(condition) => {
                        let (holds, fails) = self.branches(step, condition);
                        // The message and the condition may raise as well.
                        if self.exceptions_caught() && may_raise(condition) {
                            self.jump(Completion::Raise, vec![Loose { from: step, guard: None, kind: EdgeKind::Exceptional }]);
                        }
                        self.jump(Completion::Raise, fails);
                        holds
                    }
                    None => vec![normal(step)],
                }
            }
            _ => {
                let step = self.step(StepKind::Statement, node, &pending);
                vec![normal(step)]
            }
        }
    }

    /// A class body inlined after its `Definition` step `step`.
    fn class_body(&mut self, definition: Node<'t>, name: Node<'t>, step: usize, depth: usize) -> Pending {
        let name = &self.text[name.byte_range()];
        let prefix = match self.class_stack.last() {
            Some(&outer) => format!("{}.{name}", self.classes[outer as usize].prefix),
            None => name.to_string(),
        };
        self.classes.push(ClassBody { definition, step, prefix });
        self.class_stack.push((self.classes.len() - 1) as u32);
        let end = self.block(definition.field(&field::BODY), vec![normal(step)], depth + 1);
        self.class_stack.pop();
        end
    }

    fn if_statement(&mut self, node: Node<'t>, pending: Pending, depth: usize) -> Pending {
        let Some(condition) = node.field(&field::CONDITION) else {
            let step = self.step(StepKind::Statement, node, &pending);
            return vec![normal(step)];
        };
        let test = self.step(StepKind::Condition, condition, &pending);
        let (taken, mut otherwise) = self.branches(test, condition);
        let mut exits = self.block(node.field(&field::CONSEQUENCE), taken, depth + 1);
        let mut cursor = node.walk();
        let alternatives: Vec<Node<'t>> = node.children_by_field_name("alternative", &mut cursor).collect();
        for alternative in alternatives {
            if alternative.kind() == "elif_clause" {
                let Some(condition) = alternative.field(&field::CONDITION) else { continue };
                let test = self.step(StepKind::Condition, condition, &otherwise);
                let (taken, rest) = self.branches(test, condition);
                exits.extend(self.block(alternative.field(&field::CONSEQUENCE), taken, depth + 1));
                otherwise = rest;
            } else {
                otherwise = self.block(alternative.field(&field::BODY), otherwise, depth + 1);
            }
        }
        exits.extend(otherwise);
        exits
    }

    fn while_statement(&mut self, node: Node<'t>, pending: Pending, depth: usize) -> Pending {
        let Some(condition) = node.field(&field::CONDITION) else {
            let step = self.step(StepKind::Statement, node, &pending);
            return vec![normal(step)];
        };
        let header = self.step(StepKind::Condition, condition, &pending);
        // The condition is evaluated again each iteration, its nested scopes' regions first.
        let reentry = self.entered;
        let (taken, done) = self.branches(header, condition);
        self.contexts.push(Context::Loop { continue_to: reentry, breaks: Vec::new() });
        let body_end = self.block(node.field(&field::BODY), taken, depth + 1);
        self.connect(&body_end, reentry);
        let Some(Context::Loop { breaks, .. }) = self.contexts.pop() else { unreachable!("pushed above") };
        let mut exits = match node.field(&field::ALTERNATIVE) {
            Some(else_clause) => self.block(else_clause.field(&field::BODY), done, depth + 1),
            None => done,
        };
        exits.extend(breaks);
        exits
    }

    fn for_statement(&mut self, node: Node<'t>, pending: Pending, depth: usize) -> Pending {
        let header = self.step(StepKind::ForTarget, node, &pending);
        self.contexts.push(Context::Loop { continue_to: header, breaks: Vec::new() });
        let body_end = self.block(node.field(&field::BODY), vec![normal(header)], depth + 1);
        self.connect(&body_end, header);
        let Some(Context::Loop { breaks, .. }) = self.contexts.pop() else { unreachable!("pushed above") };
        let mut exits = match node.field(&field::ALTERNATIVE) {
            Some(else_clause) => self.block(else_clause.field(&field::BODY), vec![normal(header)], depth + 1),
            None => vec![normal(header)],
        };
        exits.extend(breaks);
        exits
    }

    fn try_statement(&mut self, node: Node<'t>, pending: Pending, depth: usize) -> Pending {
        let mut cursor = node.walk();
        let clauses: Vec<Node<'t>> = node.named_children(&mut cursor).collect();
        let handlers: Vec<Node<'t>> =
            clauses.iter().copied().filter(|c| matches!(c.kind(), "except_clause" | "except_group_clause")).collect();
        let finally = clauses.iter().copied().find(|c| c.kind() == "finally_clause");
        if finally.is_some() {
            self.contexts.push(Context::Finally { collected: Default::default() });
        }
        // Handler steps exist before the body so body steps can raise into them.
        let handler_steps: Vec<usize> = handlers.iter().map(|&h| self.add(StepKind::ExceptHandler, Some(h))).collect();
        if let Some(&first) = handler_steps.first() {
            self.contexts.push(Context::Handlers { first });
        }
        let body_start = self.steps.len();
        let body_end = self.block(node.field(&field::BODY), pending, depth + 1);
        if let Some(&first) = handler_steps.first() {
            self.contexts.pop();
            // Handlers nothing was seen to raise into (the body only reads attributes, say):
            // every body step may raise, rather than the handlers being dead code.
            if !self.has_predecessor[first] {
                let body_steps: Pending = (body_start..self.steps.len())
                    .filter(|&step| self.steps[step].kind != StepKind::ExceptHandler)
                    .map(|from| Loose { from, guard: None, kind: EdgeKind::Exceptional })
                    .collect();
                self.connect(&body_steps, first);
            }
        }
        let mut exits = match clauses.iter().find(|c| c.kind() == "else_clause") {
            Some(else_clause) => self.block(else_clause.field(&field::BODY), body_end, depth + 1),
            None => body_end,
        };
        for (position, (handler, &step)) in handlers.iter().zip(&handler_steps).enumerate() {
            let mut inner = handler.walk();
            let body = handler.named_children(&mut inner).find(|c| c.kind() == "block");
            exits.extend(self.block(body, vec![normal(step)], depth + 1));
            // An exception the clause does not match goes to the next clause, or onward.
            let catches_everything = handler.kind() == "except_clause" && {
                let mut inner = handler.walk();
                let types: Vec<Node<'t>> = handler.named_children(&mut inner).filter(|c| c.kind() != "block").collect();
                types.is_empty() || types.iter().all(|t| matches!(&self.text[t.byte_range()], "BaseException" | "builtins.BaseException"))
            };
            if catches_everything {
                continue;
            }
            match handler_steps.get(position + 1) {
                Some(&next) => self.connect(&[normal(step)], next),
                None => {
                    self.jump(Completion::Raise, vec![Loose { from: step, guard: None, kind: EdgeKind::Exceptional }]);
                }
            }
        }
        let Some(finally) = finally else { return exits };
        let Some(Context::Finally { mut collected }) = self.contexts.pop() else { unreachable!("pushed above") };
        collected[Completion::Normal as usize] = exits;
        let mut inner = finally.walk();
        let body = finally.named_children(&mut inner).find(|c| c.kind() == "block");
        let mut result = Vec::new();
        let entered: Vec<Completion> = COMPLETIONS.iter().copied().filter(|&c| !collected[c as usize].is_empty()).collect();
        if self.finally_copy_depth >= MAX_FINALLY_COPY_DEPTH && entered.len() > 1 {
            // One shared copy: every completion may leave towards every target (more paths).
            self.shared_finally_copies += 1;
            let all: Pending = entered.iter().flat_map(|&c| collected[c as usize].iter().copied()).collect();
            self.finally_copy_depth += 1;
            let end = self.block(body, all, depth + 1);
            self.finally_copy_depth -= 1;
            for completion in entered {
                result.extend(self.leave_finally(completion, end.clone()));
            }
            return result;
        }
        for completion in entered {
            let pending = std::mem::take(&mut collected[completion as usize]);
            self.finally_copy_depth += 1;
            let end = self.block(body, pending, depth + 1);
            self.finally_copy_depth -= 1;
            result.extend(self.leave_finally(completion, end));
        }
        result
    }

    /// Continues a completion after its copy of a `finally` block; returns what falls through.
    fn leave_finally(&mut self, completion: Completion, end: Pending) -> Pending {
        match completion {
            Completion::Normal => end,
            other => self.jump(other, end).unwrap_or_default(),
        }
    }

    fn with_statement(&mut self, node: Node<'t>, pending: Pending, depth: usize) -> Pending {
        let mut pending = pending;
        let mut cursor = node.walk();
        let clause = node.named_children(&mut cursor).find(|c| c.kind() == "with_clause");
        let mut suppresses = false;
        if let Some(clause) = clause {
            let mut inner = clause.walk();
            let items: Vec<Node<'t>> = clause.named_children(&mut inner).filter(|c| c.kind() == "with_item").collect();
            for item in items {
                let step = self.step(StepKind::WithItem, item, &pending);
                pending = vec![normal(step)];
                suppresses |= self.is_suppress(item);
            }
        }
        if !suppresses {
            return self.block(node.field(&field::BODY), pending, depth + 1);
        }
        self.contexts.push(Context::Suppress { caught: Vec::new() });
        let mut exits = self.block(node.field(&field::BODY), pending, depth + 1);
        let Some(Context::Suppress { caught }) = self.contexts.pop() else { unreachable!("pushed above") };
        exits.extend(caught.into_iter().map(|loose| Loose { kind: EdgeKind::Exceptional, ..loose }));
        exits
    }

    /// `case _:` or `case name:` without a guard matches every subject.
    fn is_irrefutable(&self, case: Node<'t>) -> bool {
        let mut cursor = case.walk();
        let children: Vec<Node<'t>> = case.named_children(&mut cursor).filter(|c| c.kind() != "block" && c.kind() != "comment").collect();
        match children.as_slice() {
            [pattern] if pattern.kind() == "case_pattern" => {
                let text = self.text[pattern.byte_range()].trim();
                text == "_"
                    || (!text.is_empty()
                        && text.chars().all(|c| c.is_alphanumeric() || c == '_')
                        && !text.starts_with(|c: char| c.is_ascii_digit())
                        && !matches!(text, "None" | "True" | "False"))
            }
            _ => false,
        }
    }

    /// `with suppress(…)` / `with contextlib.suppress(…)`: exceptions end the block, not the scope.
    fn is_suppress(&self, item: Node<'t>) -> bool {
        let value = item.field(&field::VALUE);
        let call = value.map(|v| if v.kind() == "as_pattern" { v.named_child(0).unwrap_or(v) } else { v });
        let function = call.filter(|c| c.kind() == "call").and_then(|c| c.field(&field::FUNCTION));
        function.is_some_and(|f| matches!(&self.text[f.byte_range()], "suppress" | "contextlib.suppress"))
    }

    fn match_statement(&mut self, node: Node<'t>, pending: Pending, depth: usize) -> Pending {
        let subject = self.step(StepKind::MatchSubject, node, &pending);
        let mut next = vec![normal(subject)];
        let mut exits = Vec::new();
        let body = node.field(&field::BODY);
        let cases: Vec<Node<'t>> = match body {
            Some(body) => {
                let mut cursor = body.walk();
                body.named_children(&mut cursor).filter(|c| c.kind() == "case_clause").collect()
            }
            None => Vec::new(),
        };
        for case in cases {
            let pattern = self.step(StepKind::CasePattern, case, &next);
            let matched = Loose { from: pattern, guard: Some((pattern, true)), kind: EdgeKind::Normal };
            exits.extend(self.block(case.field(&field::CONSEQUENCE), vec![matched], depth + 1));
            next = if self.is_irrefutable(case) {
                Vec::new()
            } else {
                vec![Loose { from: pattern, guard: Some((pattern, false)), kind: EdgeKind::Normal }]
            };
        }
        exits.extend(next);
        exits
    }
}

/// Comprehensions and lambdas nested in each other deeper than this get no regions of their
/// own: each is one `WholeNestedScope` step evaluating it whole (`Cfg::flattened_scopes`).
pub const MAX_NESTED_SCOPES: usize = 32;

/// The comprehensions and lambdas a step evaluates (not those inside them), in document order.
fn nested_scopes_in<'t>(kind: StepKind, node: Node<'t>) -> Vec<Node<'t>> {
    let mut found = Vec::new();
    // What lowering reads of the step (`ir::lower`): its evaluated parts, a case's guard and
    // an except clause's types too.
    let mut parts = evaluated_parts(kind, node);
    if matches!(kind, StepKind::CasePattern | StepKind::ExceptHandler) {
        let mut cursor = node.walk();
        parts.extend(
            node.named_children(&mut cursor)
                .filter(|c| c.kind() != "block" && (kind == StepKind::ExceptHandler || c.kind() == "if_clause")),
        );
    }
    for part in parts {
        let mut stack = vec![part];
        while let Some(current) = stack.pop() {
            match current.kind() {
                "list_comprehension" | "set_comprehension" | "dictionary_comprehension" | "generator_expression" | "lambda" => {
                    found.push(current)
                }
                "function_definition" | "class_definition" | "string" | "comment" => {}
                _ => {
                    let mut cursor = current.walk();
                    let children: Vec<Node<'t>> = current.named_children(&mut cursor).collect();
                    stack.extend(children.into_iter().rev());
                }
            }
        }
    }
    found
}

/// Adds virtual edges so that every step reaches EXIT: ENTRY → EXIT, and from the first step
/// (in building order, i.e. the outermost loop header) of each region that cannot reach EXIT.
pub(crate) fn add_virtual_exits(successors: &mut [Vec<Edge>]) {
    let count = successors.len();
    let virtual_exit = Edge { to: EXIT, guard: None, kind: EdgeKind::Virtual };
    successors[ENTRY].push(virtual_exit);
    let mut predecessors = vec![Vec::new(); count];
    for (from, edges) in successors.iter().enumerate() {
        for edge in edges {
            predecessors[edge.to].push(from);
        }
    }
    let mut reaches_exit = vec![false; count];
    let mark = |start: usize, reaches_exit: &mut Vec<bool>, predecessors: &Vec<Vec<usize>>| {
        let mut stack = vec![start];
        while let Some(node) = stack.pop() {
            if std::mem::replace(&mut reaches_exit[node], true) {
                continue;
            }
            stack.extend(predecessors[node].iter().copied());
        }
    };
    mark(EXIT, &mut reaches_exit, &predecessors);
    for node in 2..count {
        if reaches_exit[node] {
            continue;
        }
        // Nothing reachable from `node` reaches EXIT; the earliest such step is the loop head.
        successors[node].push(virtual_exit);
        predecessors[EXIT].push(node);
        mark(node, &mut reaches_exit, &predecessors);
    }
}

/// The CFG of a scope's body (a function's `block`, or a `module` node; `text` is the file's
/// text), with a region of steps for each comprehension and lambda and each class body
/// inlined after its class statement's `Definition` step (see the module invariants): the one
/// CFG slicing and taint both analyse.
pub fn build_scope_cfg<'t>(text: &str, body: Node<'t>, constants: &dyn ConstantConditions) -> Cfg<'t> {
    let mut builder = Builder {
        classes: Vec::new(),
        class_stack: Vec::new(),
        nested_depth: 0,
        entered: 0,
        text,
        steps: Vec::new(),
        successors: Vec::new(),
        has_predecessor: Vec::new(),
        contexts: Vec::new(),
        constants,
        finally_copy_depth: 0,
        shared_finally_copies: 0,
        flattened_scopes: 0,
        may_yield: memchr::memmem::find(&text.as_bytes()[body.byte_range()], b"yield").is_some(),
    };
    builder.add(StepKind::Entry, None);
    builder.add(StepKind::Exit, None);
    let end = if matches!(body.kind(), "block" | "module") {
        builder.block(Some(body), vec![normal(ENTRY)], 0)
    } else {
        // A lambda's scope: its body is one expression, the value it returns.
        vec![normal(builder.step(StepKind::Statement, body, &[normal(ENTRY)]))]
    };
    builder.connect(&end, EXIT);
    let mut successors = builder.successors;
    add_virtual_exits(&mut successors);
    Cfg {
        steps: builder.steps,
        successors,
        shared_finally_copies: builder.shared_finally_copies,
        flattened_scopes: builder.flattened_scopes,
        classes: builder.classes,
    }
}

#[cfg(test)]
mod tests {
    use expect_test::{expect, Expect};

    use super::*;

    /// `True` and `False` literals decide conditions (as module constants do in the PDG).
    struct Literals;

    impl ConstantConditions for Literals {
        fn evaluate(&self, condition: Node<'_>) -> Option<bool> {
            match condition.kind() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            }
        }
    }

    /// Renders the CFG of `source` (a module body) in the `Cfg::render` format.
    fn check_cfg(source: &str, expected: Expect) {
        let tree = crate::parse::parse(source);
        let cfg = build_scope_cfg(source, tree.root_node(), &Literals);
        expected.assert_eq(&cfg.render(source));
    }

    /// `check_cfg` for sources with comprehensions and lambdas: nested scopes with regions of
    /// their own.
    fn check_scope_cfg(source: &str, expected: Expect) {
        check_cfg(source, expected);
    }

    #[test]
    fn a_list_comprehension_is_a_loop_region_before_its_statement() {
        check_scope_cfg(
            "xs = load()\nys = [f(x) for x in xs if p(x)]\nuse(ys)\n",
            expect![[r#"
                0: ENTRY -> 2 ~1
                1: EXIT -> 
                2: Statement `xs = load()` -> 3
                3: ForTarget `for x in xs` -> 4 6
                4: Condition `if p(x)` -> F3 T5
                5: Element `f(x)` -> 3
                6: Statement `ys = [f(x) for x in xs if p(x)]` -> 7
                7: Statement `use(ys)` -> 1
            "#]],
        );
    }

    #[test]
    fn set_dict_and_generator_comprehensions() {
        check_scope_cfg(
            "s = {a for a in xs}\nd = {k: v for k, v in items}\ng = sum(n * n for n in ns)\n",
            expect![[r#"
                0: ENTRY -> 2 ~1
                1: EXIT -> 
                2: ForTarget `for a in xs` -> 3 4
                3: Element `a` -> 2
                4: Statement `s = {a for a in xs}` -> 5
                5: ForTarget `for k, v in items` -> 6 7
                6: Element `k: v` -> 5
                7: Statement `d = {k: v for k, v in items}` -> 8
                8: ForTarget `for n in ns` -> 9 10
                9: Element `n * n` -> 8
                10: Statement `g = sum(n * n for n in ns)` -> 1
            "#]],
        );
    }

    #[test]
    fn nested_for_clauses_and_nested_comprehensions() {
        // The inner `for` is exhausted back into the outer one; the element's own
        // comprehension is a region inside the outer one's, entered before the element.
        check_scope_cfg(
            "m = [[c for c in row] for row in grid for y in row if y]\n",
            expect![[r#"
                0: ENTRY -> 2 ~1
                1: EXIT -> 
                2: ForTarget `for row in grid` -> 3 8
                3: ForTarget `for y in row` -> 2 4
                4: Condition `if y` -> F3 T5
                5: ForTarget `for c in row` -> 6 7
                6: Element `c` -> 5
                7: Element `[c for c in row]` -> 3
                8: Statement `m = [[c for c in row] for row in grid for y in row if y]` -> 1
            "#]],
        );
    }

    #[test]
    fn a_lambda_is_one_element_step_its_defaults_are_the_statements() {
        check_scope_cfg(
            "key = lambda item, d=default: item[d]\nitems.sort(key=key)\n",
            expect![[r#"
                0: ENTRY -> 2 ~1
                1: EXIT -> 
                2: Element `item[d]` -> 3
                3: Statement `key = lambda item, d=default: item[d]` -> 4
                4: Statement `items.sort(key=key)` -> 1
            "#]],
        );
    }

    #[test]
    fn a_while_condition_holding_a_comprehension_is_reentered_at_its_region() {
        check_scope_cfg(
            "while any([t.alive for t in ts]):\n    step()\n",
            expect![[r#"
                0: ENTRY -> 2 ~1
                1: EXIT -> 
                2: ForTarget `for t in ts` -> 3 4
                3: Element `t.alive` -> 2
                4: Condition `any([t.alive for t in ts])` -> T5 F1
                5: Statement `step()` -> 2
            "#]],
        );
    }

    #[test]
    fn reverse_postorder_puts_every_step_after_its_predecessors_except_along_back_edges() {
        let source = "a = 1\ntry:\n    while a:\n        if a > 2:\n            break\n        a = f(a)\nexcept E:\n    a = 0\nfinally:\n    g(a)\nreturn a\n";
        let tree = crate::parse::parse(source);
        let cfg = build_scope_cfg(source, tree.root_node(), &Literals);
        let order = cfg.reverse_postorder();
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..cfg.steps.len()).collect::<Vec<_>>(), "a permutation of the steps");
        assert_eq!(order[ENTRY], 0);
        // The only edges going to an earlier position are the loop's back edges, into its header.
        let header = cfg
            .steps
            .iter()
            .position(|s| {
                s.node.is_some_and(|n| n.parent().is_some_and(|p| p.kind() == "while_statement") && source[n.byte_range()] == *"a")
            })
            .expect("loop condition");
        for (from, edges) in cfg.successors.iter().enumerate() {
            for edge in edges.iter().filter(|e| e.executable()) {
                assert!(order[edge.to] > order[from] || edge.to == header, "{from} -> {}", edge.to);
            }
        }
    }

    /// The CFG runs a class body after its class statement's header, in the scope around it
    /// (a nested class's body after its own header), for slicing and taint alike.
    #[test]
    fn class_bodies_are_inlined_after_their_header() {
        let source = "class A(B):\n    x = 1\n    class C:\n        y = x\n    def m(self):\n        return self.x\nuse(A)\n";
        let tree = crate::parse::parse(source);
        let cfg = build_scope_cfg(source, tree.root_node(), &Literals);
        expect![[r#"
            0: ENTRY -> 2 ~1
            1: EXIT -> 
            2: Definition `class A(B):` -> 3
            3: Statement `x = 1` -> 4
            4: Definition `class C:` -> 5
            5: Statement `y = x` -> 6
            6: Definition `def m(self):` -> 7
            7: Statement `use(A)` -> 1
        "#]]
        .assert_eq(&cfg.render(source));
        let classes: Vec<(usize, &str)> = cfg.classes.iter().map(|class| (class.step, class.prefix.as_str())).collect();
        assert_eq!(classes, [(2, "A"), (4, "A.C")]);
        let owners: Vec<Option<u32>> = cfg.steps.iter().map(|step| step.class).collect();
        assert_eq!(owners, [None, None, None, Some(0), Some(0), Some(1), Some(0), None]);
    }

    #[test]
    fn straight_line_and_if() {
        check_cfg(
            "a = 1\nif a:\n    b = 2\nelse:\n    b = 3\nprint(b)\n",
            expect![[r#"
                0: ENTRY -> 2 ~1
                1: EXIT -> 
                2: Statement `a = 1` -> 3
                3: Condition `a` -> T4 F5
                4: Statement `b = 2` -> 6
                5: Statement `b = 3` -> 6
                6: Statement `print(b)` -> 1
            "#]],
        );
    }

    #[test]
    fn statement_before_try_is_not_a_branch() {
        check_cfg(
            "x = 1\ntry:\n    y = f(x)\nexcept ValueError:\n    y = 0\nprint(y)\n",
            expect![[r#"
                0: ENTRY -> 2 ~1
                1: EXIT -> 
                2: Statement `x = 1` -> 4
                3: ExceptHandler `except ValueError:` -> 5 !1
                4: Statement `y = f(x)` -> !3 6
                5: Statement `y = 0` -> 6
                6: Statement `print(y)` -> 1
            "#]],
        );
    }

    #[test]
    fn return_inside_try_finally_runs_the_finally() {
        check_cfg(
            "def g():\n    pass\ntry:\n    return 1\nfinally:\n    cleanup()\nafter()\n",
            expect![[r#"
                0: ENTRY -> 2 ~1
                1: EXIT -> 
                2: Definition `def g():` -> 3
                3: Statement `return 1` -> ~4 5
                4: Statement `cleanup()` -> 6
                5: Statement `cleanup()` -> 1
                6: Statement `after()` -> 1
            "#]],
        );
    }

    #[test]
    fn break_and_continue_inside_try_finally_in_a_loop() {
        check_cfg(
            "for x in xs:\n    try:\n        if x:\n            break\n        continue\n    finally:\n        log(x)\ndone()\n",
            expect![[r#"
                0: ENTRY -> 2 ~1
                1: EXIT -> 
                2: ForTarget `for x in xs:` -> 3 9
                3: Condition `x` -> T4 F5
                4: Statement `break` -> ~5 7
                5: Statement `continue` -> ~6 8
                6: Statement `log(x)` -> 2
                7: Statement `log(x)` -> 9
                8: Statement `log(x)` -> 2
                9: Statement `done()` -> 1
            "#]],
        );
    }

    #[test]
    fn finally_after_a_bare_raise_is_reachable() {
        check_cfg(
            "try:\n    raise ValueError()\nfinally:\n    sink(x)\n",
            expect![[r#"
            0: ENTRY -> 2 ~1
            1: EXIT -> 
            2: Statement `raise ValueError()` -> ~3 !4
            3: Statement `sink(x)` -> 1
            4: Statement `sink(x)` -> !1
        "#]],
        );
    }

    #[test]
    fn exceptions_go_from_clause_to_clause_and_to_outer_handlers() {
        check_cfg(
            "try:\n    try:\n        risky()\n    except KeyError:\n        a = 1\n    except ValueError:\n        a = 2\nexcept Exception:\n    a = 3\nuse(a)\n",
            expect![[r#"
                0: ENTRY -> 5 ~1
                1: EXIT -> 
                2: ExceptHandler `except Exception:` -> 8 !1
                3: ExceptHandler `except KeyError:` -> 6 4
                4: ExceptHandler `except ValueError:` -> 7 !2
                5: Statement `risky()` -> !3 9
                6: Statement `a = 1` -> 9
                7: Statement `a = 2` -> 9
                8: Statement `a = 3` -> 9
                9: Statement `use(a)` -> 1
            "#]],
        );
    }

    #[test]
    fn while_true_without_break_gets_a_virtual_exit() {
        check_cfg(
            "while True:\n    x = step(x)\n",
            expect![[r#"
            0: ENTRY -> 2 ~1
            1: EXIT -> 
            2: Condition `True` -> T3 ~1
            3: Statement `x = step(x)` -> 2
        "#]],
        );
    }

    #[test]
    fn while_true_with_break() {
        check_cfg(
            "while True:\n    if done():\n        break\n    x = 1\nprint(x)\n",
            expect![[r#"
            0: ENTRY -> 2 ~1
            1: EXIT -> 
            2: Condition `True` -> T3
            3: Condition `done()` -> T4 F5
            4: Statement `break` -> ~5 6
            5: Statement `x = 1` -> 2
            6: Statement `print(x)` -> 1
        "#]],
        );
    }

    #[test]
    fn with_suppress_continues_after_the_block() {
        check_cfg(
            "with suppress(KeyError):\n    v = d[k]\nprint(v)\n",
            expect![[r#"
            0: ENTRY -> 2 ~1
            1: EXIT -> 
            2: WithItem `suppress(KeyError)` -> 3
            3: Statement `v = d[k]` -> 4 !4
            4: Statement `print(v)` -> 1
        "#]],
        );
    }

    #[test]
    fn for_else_and_match() {
        check_cfg(
            "for x in xs:\n    if x:\n        break\nelse:\n    x = 0\nmatch x:\n    case 1:\n        y = 1\n    case _:\n        y = 2\n",
            expect![[r#"
                0: ENTRY -> 2 ~1
                1: EXIT -> 
                2: ForTarget `for x in xs:` -> 3 5
                3: Condition `x` -> T4 F2
                4: Statement `break` -> ~2 6
                5: Statement `x = 0` -> 6
                6: MatchSubject `match x:` -> 7
                7: CasePattern `case 1:` -> T8 F9
                8: Statement `y = 1` -> 1
                9: CasePattern `case _:` -> T10
                10: Statement `y = 2` -> 1
            "#]],
        );
    }

    #[test]
    fn yield_may_not_resume() {
        check_cfg(
            "a = 1\nyield a\nb = 2\n",
            expect![[r#"
            0: ENTRY -> 2 ~1
            1: EXIT -> 
            2: Statement `a = 1` -> 3
            3: Statement `yield a` -> !1 4
            4: Statement `b = 2` -> 1
        "#]],
        );
    }

    #[test]
    fn finally_copies_nested_in_finally_blocks_are_bounded() {
        // Each `finally` holds the next `try`: copies would multiply with every level.
        let depth = 10;
        let mut source = String::new();
        for level in 0..depth {
            let indent = "    ".repeat(level);
            source.push_str(&format!("{indent}try:\n{indent}    if a{level}():\n{indent}        return f()\n{indent}finally:\n"));
        }
        source.push_str(&format!("{}g()\n", "    ".repeat(depth)));
        let tree = crate::parse::parse(&source);
        let cfg = build_scope_cfg(&source, tree.root_node(), &NoConstants);
        assert!(cfg.shared_finally_copies > 0);
        assert!(cfg.steps.len() < 5_000, "{} steps", cfg.steps.len());
        // Every step still reaches EXIT on the augmented graph.
        let successors = cfg.augmented_successors();
        let ipdom = crate::pdg::immediate_postdominators(&successors, EXIT);
        assert!((0..cfg.steps.len()).all(|s| s == EXIT || ipdom[s].is_some()));
    }
}
