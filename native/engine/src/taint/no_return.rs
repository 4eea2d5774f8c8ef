//! Calls that never return normally (`[[no_return]]` in the packs: `sys.exit`, Flask's
//! `abort`): a statement that is such a call ends its branch as `raise` does, so a guard
//! `if name not in ALLOWED: abort(400)` holds after the `if`.
//!
//! Invariant: only a call that *is* the statement (`abort(400)`, `await fail()`) ends the
//! branch — one evaluated inside an expression (`x or abort()`, `f(abort())`) may not run, so
//! its statement keeps every edge (toward more taint).

use crate::syntax::tree::Node;

use super::Analysis;

impl<'p, 't> Analysis<'p, 't> {
    /// Whether the statement `node` just visited is a call of a `[[no_return]]` callable.
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
}
