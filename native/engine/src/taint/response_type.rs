//! A response whose content type is set after it is made: `response = make_response(body)`
//! followed, in the same block, by `response.headers["Content-Type"] = "application/json"`
//! (or `response.mimetype = …`, `response.content_type = …`, `response["Content-Type"] = …` as
//! Django spells it, `response.headers.set("Content-Type", …)`). The body is then not a page,
//! as if the type had been passed as a keyword (`content_type_keywords`).
//!
//! A constant non-HTML type given as a keyword or argument (`content_type_keywords`,
//! `content_type_args`) may also be a conditional between such types: `constant_non_html_type`.
//!
//! A headers literal given to the call (`make_response(body, 200, {"Content-Type": …})`,
//! `Response(body, headers=[("Content-Type", …)])`; `[[sink]] content_type_headers`) counts as
//! the keyword does: `header_content_type`. So does a name the function binds once to such a
//! literal (`headers = {"Content-Type": "text/plain"}` then `make_response(body, 200, headers)`)
//! and reads only as an argument of calls of the same callee: `headers_bound_once`. A name bound
//! twice, changed (`headers["Content-Type"] = …`, `headers.update(…)`), handed to another
//! function, a parameter, or a global keeps the sink.
//!
//! Invariants:
//! - Only a constant non-HTML type set by a statement of the block that holds the assignment,
//!   after it and with no statement between them that holds a `return`, `raise` or `yield`
//!   (nested definitions aside), counts:
//!   a type set in a branch, in a loop or after the response may have been handed on leaves the
//!   sink in place (toward more findings).
//! - Any statement of that block that sets a non-constant or HTML type keeps the sink.

use crate::program::{literal, Constant, ScopeKind};
use crate::syntax::tree::Node;

use super::Analysis;

/// Branches of nested conditionals read for a content type; past it, the type is unknown (the
/// sink stays).
const MAX_CONDITIONAL_TYPES: usize = 16;

/// Nodes of a function body read for the binding of a headers name; past it, the name's value is
/// unknown (the sink stays).
const MAX_HEADERS_SCAN_NODES: usize = 20_000;

impl<'p, 't> Analysis<'p, 't> {
    /// Whether the response made by `call` (the right side of `name = call`) gets a constant
    /// non-HTML content type later in the same block before it can leave the block.
    pub(super) fn content_type_set_after(&self, call: Node<'t>) -> bool {
        let Some(assignment) = call.parent().filter(|p| p.kind() == "assignment") else { return false };
        if assignment.child_by_field_name("right").map(|r| r.id()) != Some(call.id()) {
            return false;
        }
        let Some(name) = assignment.child_by_field_name("left").filter(|l| l.kind() == "identifier") else { return false };
        let name = self.text_of(name);
        let Some(statement) = assignment.parent().filter(|p| p.kind() == "expression_statement") else { return false };
        let mut typed = false;
        let mut next = statement.next_named_sibling();
        while let Some(sibling) = next {
            next = sibling.next_named_sibling();
            if sibling.kind() != "expression_statement" {
                if may_leave(sibling) {
                    break;
                }
                continue;
            }
            let Some(expression) = sibling.named_child(0) else { continue };
            if expression.kind() == "yield" {
                break;
            }
            match self.content_type_of(expression, name) {
                Some(Some(content_type)) if !crate::frameworks::is_html(&content_type) => typed = true,
                Some(_) => return false,
                None => {}
            }
        }
        typed
    }

    /// The content type `expression` sets on the response named `name`: `None` when it sets
    /// none, `Some(None)` when it sets one that is not a constant string.
    fn content_type_of(&self, expression: Node<'t>, name: &str) -> Option<Option<String>> {
        let constant = |node: Option<Node<'t>>| match node.and_then(|n| literal(self.text, n, self)) {
            Some(Constant::Str(value)) => Some(value),
            _ => None,
        };
        match expression.kind() {
            "assignment" => {
                let left = expression.child_by_field_name("left")?;
                let right = expression.child_by_field_name("right");
                let sets = match left.kind() {
                    // `response.mimetype = …`, `response.content_type = …`
                    "attribute" => {
                        self.is_name(left.child_by_field_name("object")?, name)
                            && matches!(self.text_of(left.child_by_field_name("attribute")?), "mimetype" | "content_type")
                    }
                    // `response.headers["Content-Type"] = …`, `response["Content-Type"] = …`
                    "subscript" => {
                        let object = left.child_by_field_name("value")?;
                        let on_response = self.is_name(object, name)
                            || (object.kind() == "attribute"
                                && object.child_by_field_name("object").is_some_and(|o| self.is_name(o, name))
                                && object.child_by_field_name("attribute").is_some_and(|a| self.text_of(a) == "headers"));
                        on_response
                            && constant(left.child_by_field_name("subscript")).is_some_and(|key| key.eq_ignore_ascii_case("content-type"))
                    }
                    _ => false,
                };
                sets.then(|| constant(right))
            }
            // `response.headers.set("Content-Type", …)` / `.add(…)` / `["…"]`-less spellings.
            "call" => {
                let function = expression.child_by_field_name("function").filter(|f| f.kind() == "attribute")?;
                if !matches!(self.text_of(function.child_by_field_name("attribute")?), "set" | "add" | "__setitem__") {
                    return None;
                }
                let headers = function.child_by_field_name("object").filter(|o| o.kind() == "attribute")?;
                if self.text_of(headers.child_by_field_name("attribute")?) != "headers"
                    || !self.is_name(headers.child_by_field_name("object")?, name)
                {
                    return None;
                }
                let arguments = expression.child_by_field_name("arguments")?;
                let key = constant(arguments.named_child(0))?;
                key.eq_ignore_ascii_case("content-type").then(|| constant(arguments.named_child(1)))
            }
            _ => None,
        }
    }

    /// Whether `node` is a constant content type that is not HTML, or a conditional between
    /// such (`"text/csv" if as_csv else "text/plain"`): every type it may give is one.
    pub(super) fn constant_non_html_type(&self, node: Node<'t>) -> bool {
        let mut stack = vec![node];
        let mut seen = 0;
        while let Some(node) = stack.pop() {
            seen += 1;
            if seen > MAX_CONDITIONAL_TYPES {
                return false;
            }
            match node.kind() {
                "conditional_expression" => {
                    // `a if condition else b`: the condition is the second named child.
                    let mut cursor = node.walk();
                    let parts: Vec<Node<'t>> = node.named_children(&mut cursor).filter(|n| n.kind() != "comment").collect();
                    let [when_true, _, when_false] = parts.as_slice() else { return false };
                    stack.extend([*when_true, *when_false]);
                }
                "parenthesized_expression" => stack.extend(node.named_child(0)),
                _ => match literal(self.text, node, self) {
                    Some(Constant::Str(content_type)) if !crate::frameworks::is_html(&content_type) => {}
                    _ => return false,
                },
            }
        }
        true
    }

    /// The content type a headers argument gives (`{"Content-Type": "application/json"}`, a list
    /// of `("Content-Type", …)` pairs): `None` when it is not such a literal, names no content
    /// type, may hold entries not written there (`**base`, a computed key) or gives a type that is
    /// not a constant; of several content-type entries, an HTML one if there is one.
    pub(super) fn header_content_type(&self, argument: Node<'t>) -> Option<String> {
        let argument = if argument.kind() == "identifier" { self.headers_bound_once(argument)? } else { argument };
        let mut entries: Vec<(Node<'t>, Option<Node<'t>>)> = Vec::new();
        let mut cursor = argument.walk();
        match argument.kind() {
            "dictionary" => {
                for entry in argument.named_children(&mut cursor) {
                    match entry.kind() {
                        "pair" => entries.push((entry.child_by_field_name("key")?, entry.child_by_field_name("value"))),
                        "comment" => {}
                        _ => return None,
                    }
                }
            }
            "list" | "tuple" => {
                for entry in argument.named_children(&mut cursor) {
                    if entry.kind() == "comment" {
                        continue;
                    }
                    if !matches!(entry.kind(), "tuple" | "list") || entry.named_child_count() != 2 {
                        return None;
                    }
                    entries.push((entry.named_child(0)?, entry.named_child(1)));
                }
            }
            _ => return None,
        }
        let mut found: Option<String> = None;
        for (key, value) in entries {
            let Constant::Str(key) = self.header_constant(key)? else { return None };
            if !key.eq_ignore_ascii_case("content-type") {
                continue;
            }
            let Some(Constant::Str(content_type)) = value.and_then(|v| self.header_constant(v)) else { return None };
            if found.as_deref().is_none_or(|known| !crate::frameworks::is_html(known)) {
                found = Some(content_type);
            }
        }
        found
    }

    /// A constant written in a headers literal: a literal, a module constant, or a constant
    /// another module defines and this one imports (`MIMETYPE_APP_JS`).
    fn header_constant(&self, node: Node<'t>) -> Option<Constant> {
        if let Some(constant) = literal(self.text, node, self) {
            return Some(constant);
        }
        let name = (node.kind() == "identifier").then(|| self.text_of(node))?;
        if self.binds_locally(name) {
            return None;
        }
        let reference = self.program.resolve_name(self.module, name)?;
        self.program.module_constant(&reference).cloned()
    }

    /// The literal a headers argument given as a name holds: the dict, list or tuple literal the
    /// function binds it to once, when every other place the name appears in the function is an
    /// argument of a call of the same callee as the call it is given to (two branches making the
    /// same response). `None` otherwise: a parameter, a global, a second binding, a change
    /// (`headers[k] = …`, `headers.update(…)`, `del`), a read by anything else (a helper may
    /// change it), or a body too large to read.
    fn headers_bound_once(&self, name_node: Node<'t>) -> Option<Node<'t>> {
        let scope = &self.program.scopes[self.scope];
        if scope.kind != ScopeKind::Function {
            return None;
        }
        let name = self.text_of(name_node);
        if self.bindings.declares(name) || self.bindings.augments(name) || scope.params.iter().any(|p| p.name == name) {
            return None;
        }
        let callee_of = |argument: Node<'t>| -> Option<&'t str> {
            let argument = match argument.parent()? {
                parent if parent.kind() == "keyword_argument" => parent,
                _ => argument,
            };
            let call = argument.parent().filter(|p| p.kind() == "argument_list")?.parent().filter(|c| c.kind() == "call")?;
            Some(self.text_of(call.child_by_field_name("function")?))
        };
        let callee = callee_of(name_node)?;
        let is_field =
            |parent: Node<'t>, field: &str, node: Node<'t>| parent.child_by_field_name(field).is_some_and(|f| f.id() == node.id());
        let mut bound: Option<Node<'t>> = None;
        let mut stack = vec![scope.body];
        let mut visited = 0;
        while let Some(node) = stack.pop() {
            visited += 1;
            if visited > MAX_HEADERS_SCAN_NODES {
                return None;
            }
            if node.kind() == "identifier" && self.text_of(node) == name {
                let parent = node.parent()?;
                match parent.kind() {
                    // `obj.headers`, `f(headers=…)`: another thing's name.
                    "attribute" if is_field(parent, "attribute", node) => {}
                    "keyword_argument" if is_field(parent, "name", node) => {}
                    "assignment" if is_field(parent, "left", node) => {
                        let value = parent.child_by_field_name("right").filter(|r| matches!(r.kind(), "dictionary" | "list" | "tuple"))?;
                        if bound.replace(value).is_some() {
                            return None;
                        }
                    }
                    "argument_list" | "keyword_argument" if callee_of(node) == Some(callee) => {}
                    _ => return None,
                }
            }
            let mut cursor = node.walk();
            stack.extend(node.named_children(&mut cursor));
        }
        bound
    }

    fn is_name(&self, node: Node<'t>, name: &str) -> bool {
        node.kind() == "identifier" && self.text_of(node) == name
    }
}

/// Whether `statement` holds a `return`, `raise` or `yield` of its own scope (nested function
/// and class bodies left out).
fn may_leave(statement: Node<'_>) -> bool {
    let mut stack = vec![statement];
    while let Some(node) = stack.pop() {
        match node.kind() {
            "return_statement" | "raise_statement" | "yield" => return true,
            "function_definition" | "class_definition" | "lambda" => continue,
            _ => {}
        }
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
    }
    false
}
