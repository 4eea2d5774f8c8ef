//! Control-flow graphs of Python scopes (a function body or a module body), from tree-sitter.
//!
//! A CFG node is one "step": a simple statement, or the header of a compound statement (an
//! `if`/`while` condition, a `for` target binding, a `with` item, an `except` clause, a
//! `match` subject or `case` pattern, a nested `def`/`class` binding its name). Edges out of a
//! condition carry the condition and the polarity under which they are taken, so analyses can
//! refine facts per branch (guards) and skip branches that constants rule out.
//!
//! Invariants:
//! - Node 0 is the entry, node 1 the exit; every other node has a syntax node.
//! - Building never fails: unknown or broken syntax becomes an opaque `Statement` step.
//! - Recursion follows statement nesting only, bounded by `MAX_STATEMENT_DEPTH`; deeper
//!   compound statements become opaque steps (their inner code is not analysed).
//! - Nested functions, lambdas, comprehensions and class bodies are not part of the enclosing
//!   scope's graph; a `def`/`class` is one `Definition` step binding its name.

use tree_sitter::Node;

use crate::chunks::MAX_STATEMENT_DEPTH;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepKind {
    Entry,
    Exit,
    /// A simple statement: expression, assignment, return, raise, assert, import, del, …
    Statement,
    /// The condition of an `if`, `elif` or `while`.
    Condition,
    /// `for target in iter`: binds the target from the iterable each iteration.
    ForTarget,
    /// One `with` item (`expr as target`).
    WithItem,
    /// An `except` clause header (binds its `as` name).
    ExceptHandler,
    /// A `match` subject.
    MatchSubject,
    /// A `case` pattern (binds capture names).
    CasePattern,
    /// A nested `def` or `class`: binds the name.
    Definition,
}

#[derive(Clone, Copy, Debug)]
pub struct Step<'t> {
    pub kind: StepKind,
    /// The syntax of the step: the statement, the condition expression, the clause, …
    pub node: Option<Node<'t>>,
}

/// How an edge is taken: unconditionally, or when a condition step evaluated to a polarity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Edge {
    pub to: usize,
    /// `Some((condition step, polarity))` for the two edges out of a condition.
    pub guard: Option<(usize, bool)>,
}

pub struct Cfg<'t> {
    pub steps: Vec<Step<'t>>,
    pub successors: Vec<Vec<Edge>>,
}

pub const ENTRY: usize = 0;
pub const EXIT: usize = 1;

impl<'t> Cfg<'t> {
    pub fn predecessors(&self) -> Vec<Vec<usize>> {
        let mut predecessors = vec![Vec::new(); self.steps.len()];
        for (from, edges) in self.successors.iter().enumerate() {
            for edge in edges {
                predecessors[edge.to].push(from);
            }
        }
        predecessors
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

    /// Steps reachable from the entry.
    pub fn reachable(&self) -> Vec<bool> {
        let mut seen = vec![false; self.steps.len()];
        let mut stack = vec![ENTRY];
        while let Some(step) = stack.pop() {
            if std::mem::replace(&mut seen[step], true) {
                continue;
            }
            stack.extend(self.successors[step].iter().map(|edge| edge.to));
        }
        seen
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

type Pending = Vec<(usize, Option<(usize, bool)>)>;

struct LoopContext {
    continue_to: usize,
    breaks: Pending,
}

struct Builder<'t, 'c> {
    steps: Vec<Step<'t>>,
    successors: Vec<Vec<Edge>>,
    loops: Vec<LoopContext>,
    /// Handler entry steps of the enclosing `try` statements, innermost last.
    handlers: Vec<Vec<usize>>,
    constants: &'c dyn ConstantConditions,
}

impl<'t, 'c> Builder<'t, 'c> {
    fn add(&mut self, kind: StepKind, node: Option<Node<'t>>) -> usize {
        self.steps.push(Step { kind, node });
        self.successors.push(Vec::new());
        self.steps.len() - 1
    }

    fn connect(&mut self, pending: &Pending, to: usize) {
        for &(from, guard) in pending {
            let edge = Edge { to, guard };
            if !self.successors[from].contains(&edge) {
                self.successors[from].push(edge);
            }
        }
    }

    /// Adds a step reached from `pending`; inside a `try`, the step may also raise into the
    /// handlers.
    fn step(&mut self, kind: StepKind, node: Node<'t>, pending: &Pending) -> usize {
        let step = self.add(kind, Some(node));
        self.connect(pending, step);
        if let Some(handlers) = self.handlers.last().cloned() {
            for handler in handlers {
                self.connect(&vec![(step, None)], handler);
            }
        }
        step
    }

    /// Edges out of condition `step`, with constant conditions pruning the impossible side.
    fn branches(&self, step: usize, condition: Node<'t>) -> (Pending, Pending) {
        match self.constants.evaluate(condition) {
            Some(true) => (vec![(step, Some((step, true)))], Vec::new()),
            Some(false) => (Vec::new(), vec![(step, Some((step, false)))]),
            None => (vec![(step, Some((step, true)))], vec![(step, Some((step, false)))]),
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

    fn statement(&mut self, node: Node<'t>, pending: Pending, depth: usize) -> Pending {
        if depth > MAX_STATEMENT_DEPTH {
            let step = self.step(StepKind::Statement, node, &pending);
            return vec![(step, None)];
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
                vec![(step, None)]
            }
            "return_statement" => {
                let step = self.step(StepKind::Statement, node, &pending);
                self.connect(&vec![(step, None)], EXIT);
                Vec::new()
            }
            "raise_statement" => {
                let step = self.step(StepKind::Statement, node, &pending);
                if self.handlers.is_empty() {
                    self.connect(&vec![(step, None)], EXIT);
                }
                Vec::new()
            }
            "break_statement" => {
                let step = self.step(StepKind::Statement, node, &pending);
                match self.loops.last_mut() {
                    Some(context) => context.breaks.push((step, None)),
                    None => return vec![(step, None)],
                }
                Vec::new()
            }
            "continue_statement" => {
                let step = self.step(StepKind::Statement, node, &pending);
                match self.loops.last().map(|context| context.continue_to) {
                    Some(header) => self.connect(&vec![(step, None)], header),
                    None => return vec![(step, None)],
                }
                Vec::new()
            }
            "assert_statement" => {
                let step = self.step(StepKind::Statement, node, &pending);
                match node.named_child(0) {
                    Some(condition) => {
                        let (holds, fails) = self.branches(step, condition);
                        if self.handlers.is_empty() {
                            self.connect(&fails, EXIT);
                        }
                        holds
                    }
                    None => vec![(step, None)],
                }
            }
            _ => {
                let step = self.step(StepKind::Statement, node, &pending);
                vec![(step, None)]
            }
        }
    }

    fn if_statement(&mut self, node: Node<'t>, pending: Pending, depth: usize) -> Pending {
        let Some(condition) = node.child_by_field_name("condition") else {
            let step = self.step(StepKind::Statement, node, &pending);
            return vec![(step, None)];
        };
        let test = self.step(StepKind::Condition, condition, &pending);
        let (taken, mut otherwise) = self.branches(test, condition);
        let mut exits = self.block(node.child_by_field_name("consequence"), taken, depth + 1);
        let mut cursor = node.walk();
        let alternatives: Vec<Node<'t>> = node.children_by_field_name("alternative", &mut cursor).collect();
        for alternative in alternatives {
            if alternative.kind() == "elif_clause" {
                let Some(condition) = alternative.child_by_field_name("condition") else { continue };
                let test = self.step(StepKind::Condition, condition, &otherwise);
                let (taken, rest) = self.branches(test, condition);
                exits.extend(self.block(alternative.child_by_field_name("consequence"), taken, depth + 1));
                otherwise = rest;
            } else {
                otherwise = self.block(alternative.child_by_field_name("body"), otherwise, depth + 1);
            }
        }
        exits.extend(otherwise);
        exits
    }

    fn while_statement(&mut self, node: Node<'t>, pending: Pending, depth: usize) -> Pending {
        let Some(condition) = node.child_by_field_name("condition") else {
            let step = self.step(StepKind::Statement, node, &pending);
            return vec![(step, None)];
        };
        let header = self.step(StepKind::Condition, condition, &pending);
        let (taken, done) = self.branches(header, condition);
        self.loops.push(LoopContext { continue_to: header, breaks: Vec::new() });
        let body_end = self.block(node.child_by_field_name("body"), taken, depth + 1);
        self.connect(&body_end, header);
        let context = self.loops.pop().expect("pushed above");
        let mut exits = match node.child_by_field_name("alternative") {
            Some(else_clause) => self.block(else_clause.child_by_field_name("body"), done, depth + 1),
            None => done,
        };
        exits.extend(context.breaks);
        exits
    }

    fn for_statement(&mut self, node: Node<'t>, pending: Pending, depth: usize) -> Pending {
        let header = self.step(StepKind::ForTarget, node, &pending);
        self.loops.push(LoopContext { continue_to: header, breaks: Vec::new() });
        let body_end = self.block(node.child_by_field_name("body"), vec![(header, None)], depth + 1);
        self.connect(&body_end, header);
        let context = self.loops.pop().expect("pushed above");
        let mut exits = match node.child_by_field_name("alternative") {
            Some(else_clause) => self.block(else_clause.child_by_field_name("body"), vec![(header, None)], depth + 1),
            None => vec![(header, None)],
        };
        exits.extend(context.breaks);
        exits
    }

    fn try_statement(&mut self, node: Node<'t>, pending: Pending, depth: usize) -> Pending {
        let mut cursor = node.walk();
        let clauses: Vec<Node<'t>> = node.named_children(&mut cursor).collect();
        let handlers: Vec<Node<'t>> =
            clauses.iter().copied().filter(|c| matches!(c.kind(), "except_clause" | "except_group_clause")).collect();
        // Handler steps exist before the body so body steps can raise into them.
        let handler_steps: Vec<usize> = handlers.iter().map(|&h| self.add(StepKind::ExceptHandler, Some(h))).collect();
        // Raising before the first body step also reaches the handlers.
        for &handler in &handler_steps {
            self.connect(&pending, handler);
        }
        if !handler_steps.is_empty() {
            self.handlers.push(handler_steps.clone());
        }
        let body_end = self.block(node.child_by_field_name("body"), pending, depth + 1);
        if !handler_steps.is_empty() {
            self.handlers.pop();
        }
        let mut exits = match clauses.iter().find(|c| c.kind() == "else_clause") {
            Some(else_clause) => self.block(else_clause.child_by_field_name("body"), body_end, depth + 1),
            None => body_end,
        };
        for (handler, &step) in handlers.iter().zip(&handler_steps) {
            let mut inner = handler.walk();
            let body = handler.named_children(&mut inner).find(|c| c.kind() == "block");
            exits.extend(self.block(body, vec![(step, None)], depth + 1));
        }
        match clauses.iter().find(|c| c.kind() == "finally_clause") {
            Some(finally) => {
                let mut inner = finally.walk();
                let body = finally.named_children(&mut inner).find(|c| c.kind() == "block");
                self.block(body, exits, depth + 1)
            }
            None => exits,
        }
    }

    fn with_statement(&mut self, node: Node<'t>, pending: Pending, depth: usize) -> Pending {
        let mut pending = pending;
        let mut cursor = node.walk();
        let clause = node.named_children(&mut cursor).find(|c| c.kind() == "with_clause");
        if let Some(clause) = clause {
            let mut inner = clause.walk();
            let items: Vec<Node<'t>> = clause.named_children(&mut inner).filter(|c| c.kind() == "with_item").collect();
            for item in items {
                let step = self.step(StepKind::WithItem, item, &pending);
                pending = vec![(step, None)];
            }
        }
        self.block(node.child_by_field_name("body"), pending, depth + 1)
    }

    fn match_statement(&mut self, node: Node<'t>, pending: Pending, depth: usize) -> Pending {
        let subject = self.step(StepKind::MatchSubject, node, &pending);
        let mut next = vec![(subject, None)];
        let mut exits = Vec::new();
        let body = node.child_by_field_name("body");
        let cases: Vec<Node<'t>> = match body {
            Some(body) => {
                let mut cursor = body.walk();
                body.named_children(&mut cursor).filter(|c| c.kind() == "case_clause").collect()
            }
            None => Vec::new(),
        };
        for case in cases {
            let pattern = self.step(StepKind::CasePattern, case, &next);
            exits.extend(self.block(case.child_by_field_name("consequence"), vec![(pattern, Some((pattern, true)))], depth + 1));
            next = vec![(pattern, Some((pattern, false)))];
        }
        exits.extend(next);
        exits
    }
}

/// The CFG of a scope's body: a function's `block`, or a `module` node.
pub fn build_cfg<'t>(body: Node<'t>, constants: &dyn ConstantConditions) -> Cfg<'t> {
    let mut builder = Builder { steps: Vec::new(), successors: Vec::new(), loops: Vec::new(), handlers: Vec::new(), constants };
    builder.add(StepKind::Entry, None);
    builder.add(StepKind::Exit, None);
    let end = builder.block(Some(body), vec![(ENTRY, None)], 0);
    builder.connect(&end, EXIT);
    Cfg { steps: builder.steps, successors: builder.successors }
}
