//! Calls that never return normally: a statement that is such a call ends its branch as
//! `raise` does, so a guard `if name not in ALLOWED: abort(400)` holds after the `if`. Two
//! kinds of callee never return:
//! - the packs' `[[no_return]]` callables (`sys.exit`, Flask's `abort`);
//! - a project function whose every path from its entry ends in `raise` or in a call that
//!   itself never returns (`Summary::never_returns`, found by its own analysis: no normal edge
//!   reaches its exit). It is a fact of the callee's summary, so the solver propagates it:
//!   editing the callee so that it can return changes its summary and re-analyses its callers.
//!
//! Invariants:
//! - Only a call that *is* the statement (`abort(400)`, `await fail()`) ends the branch — one
//!   evaluated inside an expression (`x or abort()`, `f(abort())`) may not run, so its
//!   statement keeps every edge (toward more taint).
//! - Every doubt says "returns" (more edges, more taint): a generator (its call only makes the
//!   generator), an abstract method (`raise NotImplementedError`, `@abstractmethod`: an
//!   override runs instead), an `async` function not awaited by the statement, a call with
//!   several targets not all of which never return, a summary not computed yet (the solver
//!   starts every scope from "returns"; widening keeps "returns" once either side says it).

use crate::program::ScopeKind;
use crate::syntax::tree::Node;

use super::Analysis;

impl<'p, 't> Analysis<'p, 't> {
    /// Whether the statement `node` just visited is a call that never returns.
    pub(super) fn ends_branch(&self, node: Option<Node<'t>>) -> bool {
        if self.no_return_calls.is_empty() {
            return false;
        }
        let Some(mut node) = node else { return false };
        if node.kind() == "expression_statement" {
            if node.named_child_count() != 1 {
                return false;
            }
            let Some(expression) = node.named_child(0) else { return false };
            node = expression;
        }
        if node.kind() == "await" {
            let Some(awaited) = node.named_child(0) else { return false };
            node = awaited;
        }
        node.kind() == "call" && self.no_return_calls.contains(&node.id())
    }

    /// Records `call` as never returning when every one of its workspace `targets` never
    /// returns (their summaries say so) and calling it runs the body: an `async` target only
    /// when the call is awaited.
    pub(super) fn note_project_no_return(&mut self, call: Node<'t>, targets: &[usize]) {
        if targets.is_empty() {
            return;
        }
        let awaited = call.parent().is_some_and(|parent| parent.kind() == "await");
        let never = targets.iter().all(|&scope| {
            self.summaries.get(scope).is_some_and(|summary| summary.never_returns)
                && (awaited || !is_async(self.program.scopes[scope].node))
        });
        if never {
            self.no_return_calls.push(call.id());
        }
    }

    /// Whether this scope, whose analysis found no normal edge into its exit, is one whose
    /// call never returns normally (see the module's invariants for what says "returns").
    pub(super) fn never_returns(&self) -> bool {
        let scope = &self.program.scopes[self.scope];
        if scope.kind != ScopeKind::Function {
            return false;
        }
        let body = self.text.as_bytes().get(scope.body.byte_range()).unwrap_or_default();
        let mentions = |word: &str| memchr::memmem::find(body, word.as_bytes()).is_some();
        if mentions("yield") || mentions("NotImplementedError") {
            return false;
        }
        !scope.decorators.iter().any(|decorator| self.text_of(*decorator).contains("abstractmethod"))
    }
}

/// Whether `function` (a `function_definition`) is `async def`.
fn is_async(function: Node<'_>) -> bool {
    function.kind() == "function_definition" && function.child(0).is_some_and(|first| first.kind() == "async")
}
