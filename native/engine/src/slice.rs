//! Program slicing over the system dependence graph (SDG): per-scope PDGs linked at call sites.
//!
//! Inter-procedural slices follow Horwitz–Reps–Binkley's two phases, so a slice never leaves a
//! function through a call site other than the one it entered by:
//! - backward: phase 1 follows dependences and goes *up* to callers (parameter-in edges) but not
//!   *down* into callees; phase 2 goes down into callees (through their returns) but not up.
//! - forward: the mirror image (phase 1 may go up through returns, phase 2 only down).
//!
//! Nodes are statement-level steps, parameters of scopes, and each scope's return value.
//! Thin slices follow data dependences only.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use tree_sitter::Node;

use crate::cfg::{contains_yield, StepKind, ENTRY};
use crate::pdg::{access_path, base_of, extract_pdg, Definition, Pdg};
use crate::program::{dotted, text_of, Program, ScopeKind};
use crate::scopes::{symbol_tables, ScopeType, SymbolScope, SymbolTable};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SliceNode {
    Step(usize, usize),
    Param(usize, usize),
    Return(usize),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EdgeKind {
    Data,
    Control,
    /// Caller's call step → callee parameter (going down).
    ParameterIn,
    /// Callee return → caller's call step (going up).
    ParameterOut,
}

pub struct Sdg<'p, 't> {
    pub program: &'p Program<'t>,
    pub pdgs: Vec<Pdg<'t>>,
    /// Dependences: node → the nodes it depends on, with the edge kind.
    depends_on: HashMap<SliceNode, Vec<(SliceNode, EdgeKind)>>,
    /// Reverse of `depends_on`.
    dependents: HashMap<SliceNode, Vec<(SliceNode, EdgeKind)>>,
}

/// The scope a call resolves to, if it is a workspace function (syntactic resolution).
fn resolve_call(program: &Program<'_>, scope: usize, call: Node<'_>) -> Option<usize> {
    let info = &program.scopes[scope];
    let text = program.text(info.file);
    let function = call.child_by_field_name("function")?;
    let name = dotted(text, function)?;
    let head = name.split('.').next().unwrap_or("");
    let rest = &name[head.len()..];
    // `self.method()` / `cls.method()` inside a class.
    if let (Some(class), true) = (&info.class, head == "self" || head == "cls") {
        return program.method(class, rest.trim_start_matches('.'));
    }
    // A function nested in this one.
    if rest.is_empty() {
        if let Some(&nested) = program.functions.get(format!("{}.{head}", info.qualified_name).as_str()) {
            return Some(nested);
        }
    }
    let qualified = program.resolve_name(info.module, &name)?;
    if let Some(&target) = program.functions.get(qualified.as_str()) {
        return Some(target);
    }
    if program.classes.contains_key(qualified.as_str()) {
        return program.method(&qualified, "__init__");
    }
    None
}

/// What a call to a scope does besides returning: parameters whose objects it mutates
/// (positions among all parameters, the receiver included) and module globals it assigns
/// (`global g` then `g = …`), directly or through the scopes it calls.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Effects {
    mutated_parameters: Vec<usize>,
    written_globals: Vec<String>,
    /// Module globals whose value at the call the scope reads.
    read_globals: Vec<String>,
}

/// The receiver and argument expressions of a call, by parameter position of `callee` (the
/// receiver at 0 for a method called on an object).
fn call_arguments<'t>(program: &Program<'t>, callee: usize, call: Node<'t>, text: &str) -> Vec<(usize, Node<'t>)> {
    let info = &program.scopes[callee];
    let mut bound = Vec::new();
    let receiver = usize::from(info.implicit_receiver);
    if info.implicit_receiver {
        if let Some(object) = call.child_by_field_name("function").and_then(|f| f.child_by_field_name("object")) {
            bound.push((0, object));
        }
    }
    let Some(arguments) = call.child_by_field_name("arguments") else { return bound };
    let mut cursor = arguments.walk();
    let mut position = receiver;
    for argument in arguments.named_children(&mut cursor) {
        match argument.kind() {
            "keyword_argument" => {
                let name = argument.child_by_field_name("name").map(|n| text_of(text, n));
                let value = argument.child_by_field_name("value");
                if let (Some(name), Some(value)) = (name, value) {
                    if let Some(index) = info.params.iter().position(|p| p.name == name) {
                        bound.push((index, value));
                    }
                }
            }
            "list_splat" | "dictionary_splat" | "comment" => {}
            _ => {
                if position < info.params.len() && !info.params[position].variadic {
                    bound.push((position, argument));
                }
                position += 1;
            }
        }
    }
    bound
}

/// Names a scope declares `global`.
fn declared_globals(text: &str, pdg: &Pdg<'_>) -> Vec<String> {
    let mut names = Vec::new();
    for step in &pdg.cfg.steps {
        if let Some(node) = step.node.filter(|n| n.kind() == "global_statement") {
            let mut cursor = node.walk();
            names.extend(node.named_children(&mut cursor).map(|n| text_of(text, n).to_string()));
        }
    }
    names
}

impl<'p, 't> Sdg<'p, 't> {
    pub fn new(program: &'p Program<'t>) -> Sdg<'p, 't> {
        use rayon::prelude::*;
        let scope_count = program.scopes.len();
        let mut pdgs: Vec<Pdg<'t>> = (0..scope_count).into_par_iter().map(|scope| extract_pdg(program, scope)).collect();
        // Calls resolved once: per scope, (step, call, callee).
        let resolved: Vec<Vec<(usize, Node<'t>, usize)>> = (0..scope_count)
            .into_par_iter()
            .map(|scope| {
                let pdg = &pdgs[scope];
                let mut calls = Vec::new();
                for (step, step_calls) in pdg.calls.iter().enumerate() {
                    for &call in step_calls {
                        if let Some(callee) = resolve_call(program, scope, call) {
                            calls.push((step, call, callee));
                        }
                    }
                }
                calls
            })
            .collect();
        let globals: Vec<Vec<String>> =
            (0..scope_count).map(|scope| declared_globals(program.text(program.scopes[scope].file), &pdgs[scope])).collect();
        // Per module: the names its body defines or its functions assign as globals.
        let mut module_names: Vec<std::collections::HashSet<String>> = vec![Default::default(); program.modules.len()];
        for scope in 0..scope_count {
            let info = &program.scopes[scope];
            if info.kind == ScopeKind::Module {
                module_names[info.module].extend(pdgs[scope].definitions.iter().map(|d| base_of(&d.path).to_string()));
            }
            module_names[info.module].extend(globals[scope].iter().cloned());
        }
        // Direct effects, then through calls until nothing changes (effects only grow).
        let mut effects: Vec<Effects> = (0..scope_count)
            .map(|scope| {
                let info = &program.scopes[scope];
                let pdg = &pdgs[scope];
                let mut effect = Effects::default();
                for (position, param) in info.params.iter().enumerate() {
                    let mutated = pdg
                        .definitions
                        .iter()
                        .any(|d| d.step != ENTRY && base_of(&d.path) == param.name && !(d.strong && d.path == param.name));
                    if mutated {
                        effect.mutated_parameters.push(position);
                    }
                }
                for name in &globals[scope] {
                    if pdg.definitions.iter().any(|d| d.step != ENTRY && base_of(&d.path) == name) {
                        effect.written_globals.push(name.clone());
                    }
                }
                if info.kind == ScopeKind::Function {
                    let module_names = &module_names[info.module];
                    for used in pdg.uses.iter().flatten() {
                        let base = base_of(used);
                        let local = !globals[scope].iter().any(|g| g == base) && pdg.definitions.iter().any(|d| base_of(&d.path) == base);
                        if !local && module_names.contains(base) && !effect.read_globals.iter().any(|g| g == base) {
                            effect.read_globals.push(base.to_string());
                        }
                    }
                }
                effect
            })
            .collect();
        let mut changed = true;
        while changed {
            changed = false;
            for scope in 0..scope_count {
                let info = &program.scopes[scope];
                let text = program.text(info.file);
                let mut grown = effects[scope].clone();
                for &(_, call, callee) in &resolved[scope] {
                    for (position, argument) in call_arguments(program, callee, call, text) {
                        if !effects[callee].mutated_parameters.contains(&position) {
                            continue;
                        }
                        let Some(path) = access_path(text, argument) else { continue };
                        if let Some(own) = info.params.iter().position(|p| p.name == base_of(&path)) {
                            if !grown.mutated_parameters.contains(&own) {
                                grown.mutated_parameters.push(own);
                            }
                        }
                    }
                    if program.scopes[callee].module == info.module {
                        for name in &effects[callee].written_globals {
                            if !grown.written_globals.contains(name) {
                                grown.written_globals.push(name.clone());
                            }
                        }
                        for name in &effects[callee].read_globals {
                            let local = info.kind == ScopeKind::Function
                                && !globals[scope].contains(name)
                                && pdgs[scope].definitions.iter().any(|d| base_of(&d.path) == name);
                            if info.kind == ScopeKind::Function && !local && !grown.read_globals.contains(name) {
                                grown.read_globals.push(name.clone());
                            }
                        }
                    }
                }
                if grown != effects[scope] {
                    effects[scope] = grown;
                    changed = true;
                }
            }
        }
        // A call defines (weakly) what its callee mutates or assigns, and reads the globals
        // its callee reads.
        for scope in 0..scope_count {
            let info = &program.scopes[scope];
            let text = program.text(info.file);
            let mut added = Vec::new();
            let mut read: Vec<(usize, String)> = Vec::new();
            for &(step, call, callee) in &resolved[scope] {
                for (position, argument) in call_arguments(program, callee, call, text) {
                    if effects[callee].mutated_parameters.contains(&position) {
                        if let Some(path) = access_path(text, argument) {
                            added.push(Definition { step, path, strong: false, parameter: None });
                        }
                    }
                }
                if program.scopes[callee].module == info.module {
                    for name in &effects[callee].written_globals {
                        let local = info.kind == ScopeKind::Function
                            && !globals[scope].contains(name)
                            && pdgs[scope].definitions.iter().any(|d| base_of(&d.path) == name);
                        if !local {
                            added.push(Definition { step, path: name.clone(), strong: false, parameter: None });
                        }
                    }
                    for name in &effects[callee].read_globals {
                        let local = info.kind == ScopeKind::Function
                            && !globals[scope].contains(name)
                            && pdgs[scope].definitions.iter().any(|d| base_of(&d.path) == name);
                        if !local {
                            read.push((step, name.clone()));
                        }
                    }
                }
            }
            pdgs[scope].definitions.extend(added);
            for (step, name) in read {
                let uses = &mut pdgs[scope].uses[step];
                if !uses.contains(&name) {
                    uses.push(name);
                    uses.sort();
                }
            }
        }
        pdgs.par_iter_mut().for_each(|pdg| pdg.solve());
        let mut sdg = Sdg { program, pdgs, depends_on: HashMap::new(), dependents: HashMap::new() };
        for scope in 0..scope_count {
            sdg.link_scope(scope, &resolved[scope], &effects);
        }
        sdg.link_nonlocal_names();
        sdg
    }

    /// Names a function reads but does not bind: globals depend on the module body's
    /// definitions of that name, free variables on the enclosing function's (symtable rules).
    fn link_nonlocal_names(&mut self) {
        let program = self.program;
        let mut edges: Vec<(SliceNode, SliceNode)> = Vec::new();
        for file in 0..program.files.len() {
            let document = program.files[file].document;
            let tables = symbol_tables(document.text(), document.tree());
            let by_position: HashMap<(usize, &str), &SymbolTable> =
                tables.iter().filter(|t| t.kind == ScopeType::Function).map(|t| ((t.line, t.name.as_str()), t)).collect();
            let Some(module_scope) =
                (0..program.scopes.len()).find(|&s| program.scopes[s].file == file && program.scopes[s].kind == ScopeKind::Module)
            else {
                continue;
            };
            for scope in 0..program.scopes.len() {
                let info = &program.scopes[scope];
                if info.file != file || info.kind != ScopeKind::Function {
                    continue;
                }
                let name = info.qualified_name.rsplit('.').next().unwrap_or("");
                let Some(table) = by_position.get(&(info.node.start_position().row + 1, name)) else { continue };
                let enclosing = info.qualified_name.rsplit_once('.').and_then(|(parent, _)| program.functions.get(parent).copied());
                let pdg = &self.pdgs[scope];
                for step in 0..pdg.cfg.steps.len() {
                    for used in &pdg.uses[step] {
                        let head = used.split(['.', '[']).next().unwrap_or(used);
                        let target = match table.symbols.get(head) {
                            // A name the function never mentions (read by a callee at a call) is global.
                            Some(SymbolScope::GlobalImplicit | SymbolScope::GlobalExplicit) | None => module_scope,
                            Some(SymbolScope::Free) => match enclosing {
                                Some(enclosing) => enclosing,
                                None => continue,
                            },
                            _ => continue,
                        };
                        let target_pdg = &self.pdgs[target];
                        for definition in &target_pdg.definitions {
                            let head_matches = definition.path == head
                                || definition.path.starts_with(&format!("{head}."))
                                || definition.path.starts_with(&format!("{head}["));
                            if !head_matches {
                                continue;
                            }
                            let on = match (definition.step, definition.parameter) {
                                (ENTRY, Some(parameter)) => SliceNode::Param(target, parameter),
                                (ENTRY, None) => continue,
                                (other, _) => SliceNode::Step(target, other),
                            };
                            edges.push((SliceNode::Step(scope, step), on));
                        }
                    }
                }
            }
        }
        for (from, on) in edges {
            self.edge(from, on, EdgeKind::Data);
        }
    }

    fn edge(&mut self, from: SliceNode, on: SliceNode, kind: EdgeKind) {
        self.depends_on.entry(from).or_default().push((on, kind));
        self.dependents.entry(on).or_default().push((from, kind));
    }

    fn link_scope(&mut self, scope: usize, resolved: &[(usize, Node<'t>, usize)], effects: &[Effects]) {
        let program = self.program;
        let mut edges: Vec<(SliceNode, SliceNode, EdgeKind)> = Vec::new();
        {
            let pdg = &self.pdgs[scope];
            for step in 0..pdg.cfg.steps.len() {
                let here = SliceNode::Step(scope, step);
                for &definition in &pdg.data_dependences[step] {
                    let definition = &pdg.definitions[definition];
                    let on = match (definition.step, definition.parameter) {
                        (ENTRY, Some(parameter)) => SliceNode::Param(scope, parameter),
                        (ENTRY, None) => continue,
                        (other, _) => SliceNode::Step(scope, other),
                    };
                    edges.push((here, on, EdgeKind::Data));
                }
                for &controller in &pdg.control_dependences[step] {
                    edges.push((here, SliceNode::Step(scope, controller), EdgeKind::Control));
                }
                if let Some(node) = pdg.cfg.steps[step].node {
                    let returns = pdg.cfg.steps[step].kind == StepKind::Statement && node.kind() == "return_statement";
                    // A generator's values reach its caller through each `yield`.
                    let yields = pdg.cfg.steps[step].kind != StepKind::Definition && contains_yield(node);
                    if returns || yields {
                        edges.push((SliceNode::Return(scope), here, EdgeKind::Data));
                    }
                }
            }
            for &(step, call, callee) in resolved {
                let here = SliceNode::Step(scope, step);
                let callee_info = &program.scopes[callee];
                let explicit = callee_info.params.len() - usize::from(callee_info.implicit_receiver);
                for parameter in 0..explicit {
                    edges.push((SliceNode::Param(callee, parameter), here, EdgeKind::ParameterIn));
                }
                edges.push((here, SliceNode::Return(callee), EdgeKind::ParameterOut));
                // Effects: the callee's steps that mutate a parameter or assign a global.
                let callee_pdg = &self.pdgs[callee];
                let text = program.text(program.scopes[scope].file);
                let mutated: Vec<&str> = call_arguments(program, callee, call, text)
                    .into_iter()
                    .filter(|(position, _)| effects[callee].mutated_parameters.contains(position))
                    .map(|(position, _)| callee_info.params[position].name.as_str())
                    .collect();
                let same_module = callee_info.module == program.scopes[scope].module;
                for definition in &callee_pdg.definitions {
                    if definition.step == ENTRY {
                        continue;
                    }
                    let base = base_of(&definition.path);
                    let mutation = mutated.contains(&base) && !(definition.strong && definition.path == base);
                    let global = same_module && effects[callee].written_globals.iter().any(|g| g == base);
                    if mutation || global {
                        edges.push((here, SliceNode::Step(callee, definition.step), EdgeKind::ParameterOut));
                    }
                }
                // Globals the callee reads get their value at this call.
                if same_module && !effects[callee].read_globals.is_empty() {
                    for (callee_step, uses) in callee_pdg.uses.iter().enumerate() {
                        if uses.iter().any(|u| effects[callee].read_globals.iter().any(|g| g == base_of(u))) {
                            edges.push((SliceNode::Step(callee, callee_step), here, EdgeKind::ParameterIn));
                        }
                    }
                }
            }
        }
        for (from, on, kind) in edges {
            self.edge(from, on, kind);
        }
    }

    /// Two-phase slice from `criteria`.
    pub fn slice(&self, criteria: &[SliceNode], forward: bool, thin: bool) -> BTreeSet<SliceNode> {
        let graph = if forward { &self.dependents } else { &self.depends_on };
        // Backward: phase 1 avoids going down (ParameterOut), phase 2 avoids going up (ParameterIn).
        // Forward: dependents of a Return are callers (going up through ParameterOut);
        // dependents of a call step are callee parameters (going down through ParameterIn).
        let (phase_one_skip, phase_two_skip) =
            if forward { (EdgeKind::ParameterIn, EdgeKind::ParameterOut) } else { (EdgeKind::ParameterOut, EdgeKind::ParameterIn) };
        let mut reached: BTreeSet<SliceNode> = BTreeSet::new();
        let mut deferred: Vec<SliceNode> = Vec::new();
        let mut stack: Vec<SliceNode> = criteria.to_vec();
        reached.extend(criteria.iter().copied());
        while let Some(node) = stack.pop() {
            for &(next, kind) in graph.get(&node).map(Vec::as_slice).unwrap_or(&[]) {
                if thin && kind == EdgeKind::Control {
                    continue;
                }
                if kind == phase_one_skip {
                    deferred.push(next);
                    continue;
                }
                if reached.insert(next) {
                    stack.push(next);
                }
            }
        }
        let mut phase_two: HashSet<SliceNode> = HashSet::new();
        let mut stack: Vec<SliceNode> = reached.iter().copied().chain(deferred.iter().copied()).collect();
        for node in deferred {
            reached.insert(node);
        }
        while let Some(node) = stack.pop() {
            if !phase_two.insert(node) {
                continue;
            }
            for &(next, kind) in graph.get(&node).map(Vec::as_slice).unwrap_or(&[]) {
                if (thin && kind == EdgeKind::Control) || kind == phase_two_skip {
                    continue;
                }
                reached.insert(next);
                stack.push(next);
            }
        }
        reached
    }

    /// 1-based source lines of a slice node: (file index, lines).
    pub fn lines(&self, node: SliceNode) -> Option<(usize, Vec<usize>)> {
        let (scope, node) = match node {
            SliceNode::Step(scope, step) => {
                let step_data = &self.pdgs[scope].cfg.steps[step];
                let syntax = step_data.node?;
                let header = match step_data.kind {
                    StepKind::ForTarget => syntax.child_by_field_name("right").map(|r| (syntax.start_position().row, r.end_position().row)),
                    StepKind::ExceptHandler | StepKind::CasePattern => Some((syntax.start_position().row, syntax.start_position().row)),
                    StepKind::MatchSubject => {
                        let mut cursor = syntax.walk();
                        let last = syntax.children_by_field_name("subject", &mut cursor).last();
                        last.map(|s| (syntax.start_position().row, s.end_position().row))
                    }
                    StepKind::Definition => {
                        let definition = if syntax.kind() == "decorated_definition" {
                            syntax.child_by_field_name("definition").unwrap_or(syntax)
                        } else {
                            syntax
                        };
                        let end = definition
                            .child_by_field_name("body")
                            .map(|b| b.start_position().row.saturating_sub(1))
                            .unwrap_or(definition.start_position().row);
                        Some((syntax.start_position().row, end.max(definition.start_position().row)))
                    }
                    _ => None,
                };
                let (first, last) = header.unwrap_or((syntax.start_position().row, syntax.end_position().row));
                return Some((self.program.scopes[scope].file, (first + 1..=last.max(first) + 1).collect()));
            }
            SliceNode::Param(scope, parameter) => {
                let info = &self.program.scopes[scope];
                let param = info.params.get(parameter + usize::from(info.implicit_receiver))?;
                (scope, param.node)
            }
            SliceNode::Return(_) => return None,
        };
        let row = node.start_position().row + 1;
        Some((self.program.scopes[scope].file, vec![row]))
    }
}

/// The innermost scope of `file` containing byte `offset` (functions before the module).
pub fn scope_at(program: &Program<'_>, file: usize, offset: usize) -> Option<usize> {
    program
        .scopes
        .iter()
        .enumerate()
        .filter(|(_, scope)| scope.file == file && scope.body.start_byte() <= offset && offset <= scope.body.end_byte())
        .min_by_key(|(_, scope)| scope.body.end_byte() - scope.body.start_byte())
        .map(|(index, _)| index)
}

#[derive(Debug)]
pub struct SliceResult {
    /// Path → sorted 1-based lines.
    pub files: BTreeMap<String, Vec<usize>>,
    /// The steps the criterion resolved to, as 1-based lines of the criterion file.
    pub criterion_lines: Vec<usize>,
    pub nodes: usize,
}

/// Slices from (file path, 0-based line, optional byte column).
pub fn slice_at(
    program: &Program<'_>,
    path: &str,
    line: usize,
    column: Option<usize>,
    forward: bool,
    thin: bool,
) -> Result<SliceResult, String> {
    let file = program.files.iter().position(|f| f.path == path).ok_or_else(|| format!("{path} is not part of the analysed program"))?;
    let document = program.files[file].document;
    let text = document.text();
    let index = document.line_index();
    if line >= index.line_count() {
        return Err(format!("{path} has {} lines; line {} does not exist", index.line_count(), line + 1));
    }
    let line_start = index.line_start(line);
    let line_end = index.line_end(text, line);
    let first_code = text[line_start..line_end].find(|c: char| !c.is_whitespace()).map_or(line_start, |i| line_start + i);
    let offset = column.map_or(first_code, |c| (line_start + c).min(line_end));
    let scope = scope_at(program, file, offset).ok_or_else(|| format!("no code at {path}:{}", line + 1))?;
    let sdg = Sdg::new(program);
    let pdg = &sdg.pdgs[scope];
    // Steps on that line (the innermost ones): headers and statements.
    let mut criteria: Vec<SliceNode> = Vec::new();
    for (step, data) in pdg.cfg.steps.iter().enumerate() {
        if let Some((_, lines)) = sdg.lines(SliceNode::Step(scope, step)) {
            if lines.contains(&(line + 1)) && data.node.is_some_and(|n| n.start_byte() <= line_end && n.end_byte() >= line_start) {
                criteria.push(SliceNode::Step(scope, step));
            }
        }
    }
    // Parameters declared on that line are criteria too (slicing from a signature).
    let info = &program.scopes[scope];
    for (position, param) in info.params.iter().enumerate().skip(usize::from(info.implicit_receiver)) {
        if param.node.start_position().row == line {
            criteria.push(SliceNode::Param(scope, position - usize::from(info.implicit_receiver)));
        }
    }
    // Keep the innermost steps (a line inside a long statement belongs to that statement).
    let span = |node: &SliceNode| match node {
        SliceNode::Step(s, step) => sdg.pdgs[*s].cfg.steps[*step].node.map_or(usize::MAX, |n| n.end_byte() - n.start_byte()),
        _ => usize::MAX,
    };
    if let Some(smallest) = criteria.iter().filter(|n| matches!(n, SliceNode::Step(..))).map(span).min() {
        criteria.retain(|node| !matches!(node, SliceNode::Step(..)) || span(node) == smallest);
    }
    if criteria.is_empty() {
        return Err(format!("no statement at {path}:{}", line + 1));
    }
    // A variable under the cursor narrows a backward slice to the definitions of that variable.
    if let (Some(_), false) = (column, forward) {
        let node = document.root().descendant_for_byte_range(offset, offset);
        if let Some(identifier) = node.filter(|n| n.kind() == "identifier") {
            let name = text_of(text, identifier);
            let mut narrowed: Vec<SliceNode> = Vec::new();
            for criterion in &criteria {
                if let SliceNode::Step(s, step) = criterion {
                    for &definition in &sdg.pdgs[*s].data_dependences[*step] {
                        let definition_data = &sdg.pdgs[*s].definitions[definition];
                        if definition_data.path == name
                            || definition_data.path.starts_with(&format!("{name}."))
                            || definition_data.path.starts_with(&format!("{name}["))
                        {
                            narrowed.push(match (definition_data.step, definition_data.parameter) {
                                (ENTRY, Some(parameter)) => SliceNode::Param(*s, parameter),
                                (_, _) => SliceNode::Step(*s, definition_data.step),
                            });
                        }
                    }
                    // The statement itself stays, with its control dependences.
                    for &controller in &sdg.pdgs[*s].control_dependences[*step] {
                        if !thin {
                            narrowed.push(SliceNode::Step(*s, controller));
                        }
                    }
                }
            }
            let defines_here =
                sdg.pdgs[scope].definitions.iter().any(|d| d.path == name && criteria.contains(&SliceNode::Step(scope, d.step)));
            if !narrowed.is_empty() && !defines_here {
                let mut slice = sdg.slice(&narrowed, false, thin);
                slice.extend(criteria.iter().copied());
                return Ok(collect(&sdg, &slice, &criteria));
            }
        }
    }
    let slice = sdg.slice(&criteria, forward, thin);
    Ok(collect(&sdg, &slice, &criteria))
}

fn collect(sdg: &Sdg<'_, '_>, slice: &BTreeSet<SliceNode>, criteria: &[SliceNode]) -> SliceResult {
    let mut files: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
    for &node in slice {
        if let Some((file, lines)) = sdg.lines(node) {
            files.entry(sdg.program.files[file].path.clone()).or_default().extend(lines);
        }
    }
    let criterion_lines = criteria.iter().filter_map(|&n| sdg.lines(n)).flat_map(|(_, lines)| lines).collect();
    SliceResult {
        files: files.into_iter().map(|(path, lines)| (path, lines.into_iter().collect())).collect(),
        criterion_lines,
        nodes: slice.len(),
    }
}
