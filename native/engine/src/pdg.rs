//! Program dependence graphs per scope: definitions and uses of access paths per CFG step,
//! reaching definitions (data dependence), post-dominators (control dependence).
//!
//! Invariants:
//! - Access paths are the keys of `ir::place` places (`x`, `x.attr`, `x[key]`, at most
//!   `MAX_PROJECTIONS` projections; a cut place is its prefix, defined weakly). A use of `p`
//!   depends on a reaching definition of `q` when one is a prefix of the other (`x` vs `x.a`,
//!   weak updates for containers). Only a plain assignment to a name, or to an exact path, kills.
//! - Parameters are defined at the entry step; their definitions are reported separately so
//!   the SDG can link them to call sites.
//! - Expression walks use explicit stacks (no recursion on user-controlled depth).

use crate::syntax::tree::Node;

use crate::cfg::{build_scope_cfg, Cfg, ConstantConditions, Edge, EdgeKind, ENTRY, EXIT};
use crate::ir::bindings::ScopeConstants;
use crate::ir::effects::{scope_effects, Effects};
use crate::ir::lower::{CallSite, ClassNames, IrCache, ScopeIr, StepKind};
#[cfg(test)]
use crate::ir::place::{literal_key, place_of};
use crate::program::{literal, text_of, Constant, Program};
use crate::syntax::{field, FieldChild};

/// One definition: which step, which path, and whether it replaces older values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Definition {
    pub step: usize,
    pub path: String,
    pub strong: bool,
    /// For definitions at the entry step: the parameter index (explicit parameters only).
    pub parameter: Option<usize>,
}

#[derive(Clone)]
pub struct Pdg<'t> {
    pub cfg: Cfg<'t>,
    pub definitions: Vec<Definition>,
    /// Per step: the paths it reads.
    pub uses: Vec<Vec<String>>,
    /// Per step: definitions (indices into `definitions`) its uses depend on.
    pub data_dependences: Vec<Vec<usize>>,
    /// Per step: the steps it is control dependent on.
    pub control_dependences: Vec<Vec<usize>>,
    /// Per step: call expressions in it.
    pub calls: Vec<Vec<Node<'t>>>,
    /// Per step: what each of its calls passes (parallel to `calls`), over `ir`'s places.
    pub call_sites: Vec<Vec<CallSite>>,
    /// The scope's lowered IR (place keys).
    pub ir: std::sync::Arc<ScopeIr>,
    /// Per step: whether it hands a value to the caller — a `return`, or a site holding a
    /// `yield` (from the IR).
    pub returns: Vec<bool>,
    /// What a call to the scope does besides returning (`ir::effects`, its own sites only).
    pub effects: Effects,
    /// Places cut by the depth bound (`ir::place::MAX_PROJECTIONS`), read or defined as
    /// their prefix.
    pub cut_places: usize,
}

/// Whether one access path is the other or lies below it (`x` and `x.a`).
pub use crate::ir::lower::reads;
pub use crate::ir::place::keys_overlap as overlaps;

/// Immediate post-dominators of a graph given by successor lists, with `exit` as the root.
/// Nodes that cannot reach `exit` get `None`. (Cooper, Harvey, Kennedy on the reverse graph.)
pub fn immediate_postdominators(successors: &[Vec<usize>], exit: usize) -> Vec<Option<usize>> {
    let count = successors.len();
    let mut predecessors_in_reverse = vec![Vec::new(); count]; // reverse graph: successors → predecessors
    for (from, targets) in successors.iter().enumerate() {
        for &to in targets {
            predecessors_in_reverse[to].push(from);
        }
    }
    // Post-order of the reverse graph from `exit` (iterative DFS).
    let mut order = Vec::with_capacity(count);
    let mut visited = vec![false; count];
    let mut stack: Vec<(usize, usize)> = vec![(exit, 0)];
    visited[exit] = true;
    while let Some((node, next)) = stack.pop() {
        if next < predecessors_in_reverse[node].len() {
            stack.push((node, next + 1));
            let child = predecessors_in_reverse[node][next];
            if !visited[child] {
                visited[child] = true;
                stack.push((child, 0));
            }
        } else {
            order.push(node);
        }
    }
    let mut position = vec![usize::MAX; count];
    for (index, &node) in order.iter().enumerate() {
        position[node] = index;
    }
    let mut ipdom: Vec<Option<usize>> = vec![None; count];
    ipdom[exit] = Some(exit);
    let mut changed = true;
    while changed {
        changed = false;
        for &node in order.iter().rev() {
            if node == exit {
                continue;
            }
            // In the reverse graph, a node's predecessors are its successors in the CFG.
            let mut new: Option<usize> = None;
            for &successor in &successors[node] {
                if ipdom[successor].is_none() {
                    continue;
                }
                new = Some(match new {
                    None => successor,
                    Some(current) => {
                        let (mut a, mut b) = (current, successor);
                        while a != b {
                            while position[a] < position[b] {
                                a = ipdom[a].expect("processed");
                            }
                            while position[b] < position[a] {
                                b = ipdom[b].expect("processed");
                            }
                        }
                        a
                    }
                });
            }
            if new.is_some() && ipdom[node] != new {
                ipdom[node] = new;
                changed = true;
            }
        }
    }
    ipdom[exit] = None;
    ipdom
}

/// Control dependences (Ferrante et al.): `result[b]` lists the branch nodes `b` depends on.
pub fn control_dependences(successors: &[Vec<usize>], exit: usize) -> Vec<Vec<usize>> {
    let ipdom = immediate_postdominators(successors, exit);
    let mut result = vec![Vec::new(); successors.len()];
    for (a, targets) in successors.iter().enumerate() {
        for &b in targets {
            // Walk from b up the post-dominator tree to ipdom(a), exclusive.
            let stop = ipdom[a];
            let mut runner = Some(b);
            let mut guard = 0;
            while let Some(node) = runner {
                if Some(node) == stop || node == a && stop.is_none() {
                    break;
                }
                if node == a {
                    // A loop header controls itself.
                    if !result[node].contains(&a) {
                        result[node].push(a);
                    }
                    break;
                }
                if !result[node].contains(&a) {
                    result[node].push(a);
                }
                runner = ipdom[node];
                guard += 1;
                if guard > successors.len() {
                    break;
                }
            }
        }
    }
    result
}

/// Conditions decided by literals and module constants (`if False:`, `if DEBUG:`), a name the
/// function binds itself not one (`ir::bindings::ScopeConstants`: `def f(DEBUG): if DEBUG:`
/// prunes nothing).
pub struct ModuleConstants<'a, 't> {
    pub text: &'a str,
    pub constants: ScopeConstants<'a, 't>,
}

impl ConstantConditions for ModuleConstants<'_, '_> {
    fn evaluate(&self, condition: Node<'_>) -> Option<bool> {
        // `not` peeled iteratively (`not not … x` can nest arbitrarily deep).
        let mut negated = false;
        let mut condition = condition;
        while condition.kind() == "not_operator" {
            negated = !negated;
            condition = condition.field(&field::ARGUMENT)?;
        }
        Some(self.evaluate_operand(condition)? != negated)
    }
}

impl ModuleConstants<'_, '_> {
    fn evaluate_operand(&self, condition: Node<'_>) -> Option<bool> {
        match condition.kind() {
            "comparison_operator" => {
                let left = literal(self.text, condition.named_child(0)?, &self.constants)?;
                let right = literal(self.text, condition.named_child(1)?, &self.constants)?;
                let mut cursor = condition.walk();
                let operator = condition.children(&mut cursor).find(|c| !c.is_named()).map(|c| text_of(self.text, c))?;
                Constant::compare(operator, &left, &right)
            }
            "binary_operator" => None,
            _ => literal(self.text, condition, &self.constants).map(|c| c.truthy()),
        }
    }
}

/// Builds the PDG of scope `scope` of `program`.
pub fn build_pdg<'t>(program: &Program<'t>, scope: usize) -> Pdg<'t> {
    let mut pdg = extract_pdg(program, scope);
    pdg.solve();
    pdg
}

/// The CFG with each step's definitions, uses and calls; dependences not yet computed (the
/// SDG adds the definitions that calls make through their callees first, then `solve`s).
pub fn extract_pdg<'t>(program: &Program<'t>, scope: usize) -> Pdg<'t> {
    extract_pdg_with(program, scope, &mut IrCache::default())
}

/// `extract_pdg` reading the scope's IR from `cache` (lowering it there if its text is new).
pub fn extract_pdg_with<'t>(program: &Program<'t>, scope: usize, cache: &mut IrCache) -> Pdg<'t> {
    let info = &program.scopes[scope];
    let text = program.text(info.file);
    let cfg = build_scope_cfg(text, info.body, &ModuleConstants { text, constants: ScopeConstants::new(program, scope) });
    let base = info.body.start_byte();
    // Class bodies are inlined (`cfg::build_scope_cfg`): their names are the class's attributes.
    let classes: Vec<ClassNames> =
        cfg.classes.iter().map(|class| ClassNames::of_class(text, class.definition, class.prefix.clone())).collect();
    let sites: Vec<(StepKind, Node<'t>, Option<&ClassNames>)> =
        cfg.steps.iter().filter_map(|data| Some((data.kind, data.node?, data.class.map(|class| &classes[class as usize])))).collect();
    let ir = cache.scope_in_classes(text, info.body, &sites);
    let count = cfg.steps.len();
    let mut definitions: Vec<Definition> = Vec::new();
    let mut uses: Vec<Vec<String>> = vec![Vec::new(); count];
    let mut calls: Vec<Vec<Node<'t>>> = vec![Vec::new(); count];
    let mut call_sites: Vec<Vec<CallSite>> = vec![Vec::new(); count];
    let mut returns = vec![false; count];
    let mut cut_places = 0;
    let mut lowered_sites = Vec::with_capacity(count);
    let explicit_start = usize::from(info.implicit_receiver);
    for (index, param) in info.params.iter().enumerate() {
        definitions.push(Definition { step: ENTRY, path: param.name.clone(), strong: true, parameter: index.checked_sub(explicit_start) });
    }
    for (step, data) in cfg.steps.iter().enumerate() {
        let Some(node) = data.node else { continue };
        let Some(lowered) = ir.site(data.kind, node, base) else { continue };
        lowered_sites.push(lowered);
        returns[step] = lowered.returns || lowered.yields;
        for &(place, strong) in &lowered.definitions {
            definitions.push(Definition { step, path: ir.key(place).to_string(), strong, parameter: None });
        }
        uses[step] = lowered.uses.iter().map(|&place| ir.key(place).to_string()).collect();
        for site in &lowered.calls {
            if let Some(call) = call_at(info.body, base + site.range.0, base + site.range.1) {
                calls[step].push(call);
                call_sites[step].push(site.clone());
            }
        }
        cut_places += lowered.cut;
    }
    if memchr::memmem::find(&text.as_bytes()[info.body.byte_range()], b"lambda").is_some() {
        lambda_reads_at_calls(text, &cfg, &calls, &mut uses);
    }
    let parameters: Vec<&str> = info.params.iter().map(|param| param.name.as_str()).collect();
    let effects = scope_effects(&ir, &parameters, lowered_sites);
    Pdg {
        cfg,
        effects,
        definitions,
        uses,
        data_dependences: Vec::new(),
        control_dependences: Vec::new(),
        calls,
        call_sites,
        ir,
        returns,
        cut_places,
    }
}

/// A call of a local bound to a lambda (`g = lambda x: x * scale`, then `g(3)`) runs the
/// lambda's body there: the call step reads the lambda's free names too (the uses of the
/// lambda's region steps that are not its own names, `x@N`, or nested results), so a change
/// of them between the lambda's evaluation and the call reaches the call. The evaluation
/// still reads them (through its region's result) and its defaults: the lambda may also be
/// called where this scope cannot see (passed, returned, stored). Every lambda the name is
/// assigned in the scope counts, whichever the call runs.
fn lambda_reads_at_calls(text: &str, cfg: &Cfg<'_>, calls: &[Vec<Node<'_>>], uses: &mut [Vec<String>]) {
    let mut lambdas: Vec<(&str, Node<'_>)> = Vec::new();
    for step in cfg.steps.iter().filter(|step| step.kind == StepKind::Statement) {
        let Some(statement) = step.node.filter(|node| node.kind() == "expression_statement") else { continue };
        let mut assignment = statement.named_child(0).filter(|child| child.kind() == "assignment");
        // `f = g = lambda: …`: each name of the chain is bound to the lambda.
        let mut names = Vec::new();
        while let Some(current) = assignment {
            names.extend(current.field(&field::LEFT).filter(|left| left.kind() == "identifier"));
            let mut right = current.field(&field::RIGHT);
            while let Some(inner) = right.filter(|r| r.kind() == "parenthesized_expression") {
                right = inner.named_child(0);
            }
            match right {
                Some(right) if right.kind() == "assignment" => assignment = Some(right),
                Some(right) if right.kind() == "lambda" => {
                    lambdas.extend(names.drain(..).map(|name| (text_of(text, name), right)));
                    assignment = None;
                }
                _ => assignment = None,
            }
        }
    }
    if lambdas.is_empty() {
        return;
    }
    // Each lambda's free reads: its region steps' uses other than nested names.
    let free: Vec<(&str, Vec<String>)> = lambdas
        .into_iter()
        .map(|(name, lambda)| {
            let mut reads: Vec<String> = cfg
                .steps
                .iter()
                .enumerate()
                .filter(|(_, step)| {
                    matches!(step.kind, StepKind::Element | StepKind::ForTarget | StepKind::Condition | StepKind::WholeNestedScope)
                        && step.node.is_some_and(|node| lambda.start_byte() <= node.start_byte() && node.end_byte() <= lambda.end_byte())
                })
                .flat_map(|(index, _)| uses[index].iter())
                .filter(|used| !crate::ir::lower::is_nested_name(base_of(used)))
                .cloned()
                .collect();
            reads.sort_unstable();
            reads.dedup();
            (name, reads)
        })
        .collect();
    for (step, step_calls) in calls.iter().enumerate() {
        let mut added = false;
        for call in step_calls {
            let Some(callee) = call.field(&field::FUNCTION).filter(|f| f.kind() == "identifier") else { continue };
            let callee = text_of(text, callee);
            for (_, reads) in free.iter().filter(|(name, _)| *name == callee) {
                uses[step].extend(reads.iter().cloned());
                added = true;
            }
        }
        if added {
            uses[step].sort_unstable();
            uses[step].dedup();
        }
    }
}

/// The call expression spanning exactly `start..end` under `root`.
pub fn call_at(root: Node<'_>, start: usize, end: usize) -> Option<Node<'_>> {
    let mut node = root.descendant_for_byte_range(start, end)?;
    while !(node.kind() == "call" && node.start_byte() == start && node.end_byte() == end) {
        node = node.parent()?;
    }
    Some(node)
}

impl<'t> Pdg<'t> {
    /// What `call` (made at `step`) passes, from the IR.
    pub fn call_site(&self, step: usize, call: Node<'t>) -> Option<&CallSite> {
        let index = self.calls[step].iter().position(|&c| c == call)?;
        self.call_sites[step].get(index)
    }

    /// Computes data dependences (reaching definitions) and control dependences.
    pub fn solve(&mut self) {
        self.data_dependences = reaching_definitions(&executable_flow(&self.cfg.successors), &self.definitions, &self.uses);
        self.control_dependences = control_dependences_of(&self.cfg);
    }
}

/// Control dependences of a CFG's steps, on the augmented graph: jumps are pseudo-predicates
/// (Ball–Horwitz); ENTRY controls nothing.
pub fn control_dependences_of(cfg: &Cfg<'_>) -> Vec<Vec<usize>> {
    let mut control = control_dependences(&cfg.augmented_successors(), EXIT);
    for list in &mut control {
        list.retain(|&step| step != ENTRY);
    }
    control
}

/// The executable edges of a CFG (normal and exceptional) as (target, exceptional): all that
/// reaching definitions read of it.
pub fn executable_flow(successors: &[Vec<Edge>]) -> Vec<Vec<(u32, bool)>> {
    successors
        .iter()
        .map(|edges| edges.iter().filter(|e| e.executable()).map(|e| (e.to as u32, e.kind == EdgeKind::Exceptional)).collect())
        .collect()
}

pub use crate::ir::place::base_of;
use crate::ir::place::key_under as under;

/// Sorted-set union of `from` into `into`; whether `into` grew.
fn union_into(into: &mut Vec<u32>, from: impl IntoIterator<Item = u32>) -> bool {
    let before = into.len();
    into.extend(from);
    into.sort_unstable();
    into.dedup();
    into.len() != before
}

/// Per step, the definitions reaching it that its uses overlap.
///
/// Sparse, one variable at a time: for each variable some step reads, the dataflow runs only
/// over the steps from which a read can be reached without passing a step that redefines the
/// whole variable — linear in practice where a bit-vector over all definitions is quadratic.
/// Along an exceptional edge nothing is killed (the step may have raised before its own
/// assignment took effect); virtual edges carry no data.
pub fn reaching_definitions(flow: &[Vec<(u32, bool)>], definitions: &[Definition], uses: &[Vec<String>]) -> Vec<Vec<usize>> {
    use rustc_hash::FxHashMap;
    let count = flow.len();
    let mut predecessors: Vec<Vec<(usize, bool)>> = vec![Vec::new(); count];
    for (from, edges) in flow.iter().enumerate() {
        for &(to, exceptional) in edges {
            let entry = (from, exceptional);
            if !predecessors[to as usize].contains(&entry) {
                predecessors[to as usize].push(entry);
            }
        }
    }
    let mut definitions_by_base: FxHashMap<&str, Vec<usize>> = FxHashMap::default();
    for (index, definition) in definitions.iter().enumerate() {
        definitions_by_base.entry(base_of(&definition.path)).or_default().push(index);
    }
    let mut uses_by_base: FxHashMap<&str, Vec<(usize, &str)>> = FxHashMap::default();
    for (step, paths) in uses.iter().enumerate() {
        for path in paths {
            uses_by_base.entry(base_of(path)).or_default().push((step, path));
        }
    }
    let mut dependences = vec![Vec::new(); count];
    let mut bases: Vec<&str> = uses_by_base.keys().copied().collect();
    bases.sort_unstable();
    for base in bases {
        let Some(base_definitions) = definitions_by_base.get(base) else { continue };
        let reads = &uses_by_base[base];
        // Per step: the local ids it generates and the paths it strongly redefines.
        let mut generated: FxHashMap<usize, Vec<u32>> = FxHashMap::default();
        let mut strong: FxHashMap<usize, Vec<&str>> = FxHashMap::default();
        for (local, &index) in base_definitions.iter().enumerate() {
            let definition = &definitions[index];
            generated.entry(definition.step).or_default().push(local as u32);
            if definition.strong {
                strong.entry(definition.step).or_default().push(&definition.path);
            }
        }
        let kills_all = |step: usize| strong.get(&step).is_some_and(|paths| paths.contains(&base));
        // The region: steps whose incoming definitions matter. `expanded` steps need their
        // own incoming set; the others only generate (they redefine the whole variable).
        let mut region: FxHashMap<usize, bool> = FxHashMap::default();
        let mut stack: Vec<usize> = Vec::new();
        for &(step, _) in reads {
            if region.insert(step, true).is_none() {
                stack.push(step);
            }
        }
        while let Some(step) = stack.pop() {
            for &(predecessor, exceptional) in &predecessors[step] {
                let expand = exceptional || !kills_all(predecessor);
                match region.get(&predecessor) {
                    Some(true) => {}
                    Some(false) if !expand => {}
                    _ => {
                        region.insert(predecessor, expand);
                        if expand {
                            stack.push(predecessor);
                        }
                    }
                }
            }
        }
        let mut order: Vec<usize> = region.iter().filter(|(_, &expanded)| expanded).map(|(&step, _)| step).collect();
        order.sort_unstable();
        let mut incoming: FxHashMap<usize, Vec<u32>> = order.iter().map(|&step| (step, Vec::new())).collect();
        // What leaves `step` along an edge, pushed onto `out` (no set per edge: a 40,000-step
        // module allocated one per edge of every variable's region).
        let outgoing = |step: usize, exceptional: bool, incoming: &FxHashMap<usize, Vec<u32>>, out: &mut Vec<u32>| {
            out.extend(generated.get(&step).into_iter().flatten().copied());
            if let Some(reaching) = incoming.get(&step) {
                let killers = if exceptional { None } else { strong.get(&step) };
                out.extend(reaching.iter().copied().filter(|&local| {
                    let definition = &definitions[base_definitions[local as usize]];
                    definition.step == step || !killers.is_some_and(|paths| paths.iter().any(|p| under(&definition.path, p)))
                }));
            }
        };
        let mut gathered: Vec<u32> = Vec::new();
        let mut changed = true;
        while changed {
            changed = false;
            for &step in &order {
                gathered.clear();
                for &(predecessor, exceptional) in &predecessors[step] {
                    outgoing(predecessor, exceptional, &incoming, &mut gathered);
                }
                let current = incoming.get_mut(&step).expect("every ordered step has a set");
                changed |= union_into(current, gathered.iter().copied());
            }
        }
        for &(step, path) in reads {
            for &local in &incoming[&step] {
                let index = base_definitions[local as usize];
                if overlaps(path, &definitions[index].path) {
                    dependences[step].push(index);
                }
            }
        }
    }
    for list in &mut dependences {
        list.sort_unstable();
        list.dedup();
    }
    dependences
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Brute force: `d` post-dominates `n` iff every path from `n` to `exit` passes `d`,
    /// i.e. `exit` is unreachable from `n` once `d` is removed (and `n` reaches `exit`).
    fn brute_force_postdominates(successors: &[Vec<usize>], exit: usize, d: usize, n: usize) -> bool {
        if d == n {
            return true;
        }
        let mut seen = vec![false; successors.len()];
        let mut stack = vec![n];
        while let Some(node) = stack.pop() {
            if node == d || std::mem::replace(&mut seen[node], true) {
                continue;
            }
            if node == exit {
                return false;
            }
            stack.extend(&successors[node]);
        }
        true
    }

    fn reaches(successors: &[Vec<usize>], from: usize, to: usize) -> bool {
        let mut seen = vec![false; successors.len()];
        let mut stack = vec![from];
        while let Some(node) = stack.pop() {
            if node == to {
                return true;
            }
            if !std::mem::replace(&mut seen[node], true) {
                stack.extend(&successors[node]);
            }
        }
        false
    }

    fn graphs() -> impl Strategy<Value = Vec<Vec<usize>>> {
        (2usize..12).prop_flat_map(|n| proptest::collection::vec(proptest::collection::vec(0..n, 0..3), n))
    }

    fn path_of_expression(source: &str) -> Option<(String, bool)> {
        let tree = crate::parse::parse(source);
        let statement = tree.root_node().named_child(0)?;
        place_of(source, statement.named_child(0)?, &mut literal_key(source)).map(|place| (place.key(), place.is_exact()))
    }

    #[test]
    fn access_paths_are_place_keys() {
        assert_eq!(path_of_expression("a.b.c.d"), Some(("a.b.c.d".into(), true)));
        assert_eq!(path_of_expression("a.b.c.d.e"), Some(("a.b.c.d".into(), false)));
        assert_eq!(path_of_expression("a[0][\"k\"].x"), Some(("a[0][\"k\"].x".into(), true)));
        assert_eq!(path_of_expression("a[i].b"), Some(("a".into(), false)));
        assert_eq!(path_of_expression("f().x"), None);
    }

    /// A write past the bound, or through an unknown index, defines its prefix weakly, and a
    /// read past the bound reads the prefix: the cut errs toward more dependences, counted.
    #[test]
    fn cut_places_are_weak_definitions_of_their_prefix_and_counted() {
        let source = "def f(a, i, v):\n    a.b.c.d.e = v\n    a[i].x = v\n    return a.b.c.d.e.f\n";
        let document = crate::parse::Document::new(source.to_string());
        let parts = crate::program::build_parts(vec![("app.py".to_string(), &document)]);
        let program = Program::from_parts(&parts);
        let scope = program.functions["app.f"];
        let pdg = build_pdg(&program, scope);
        let defined: Vec<(&str, bool)> = pdg.definitions.iter().filter(|d| d.step != ENTRY).map(|d| (d.path.as_str(), d.strong)).collect();
        assert_eq!(defined, vec![("a.b.c.d", false), ("a", false)]);
        let returned = pdg.cfg.steps.iter().position(|s| s.node.is_some_and(|n| n.kind() == "return_statement")).expect("a return");
        assert!(pdg.uses[returned].contains(&"a.b.c.d".to_string()), "{:?}", pdg.uses[returned]);
        // Both writes reach the read (neither kills the other).
        let reaching: Vec<usize> = pdg.data_dependences[returned].iter().map(|&d| pdg.definitions[d].step).collect();
        assert!(reaching.len() >= 2, "{reaching:?}");
        assert_eq!(pdg.cut_places, 2, "one cut write, one cut read");
    }

    /// A condition on a name the function binds itself is not decided by the module's constant
    /// of that name (`ir::bindings::ScopeConstants`): `def f(DEBUG): if DEBUG:` keeps both
    /// branches; a function reading the module's `DEBUG` prunes the dead one.
    #[test]
    fn conditions_on_a_name_the_function_binds_are_not_the_modules_constant() {
        let source = "DEBUG = False\ndef f(DEBUG):\n    if DEBUG:\n        x = 1\n    return 0\ndef g():\n    if DEBUG:\n        x = 1\n    return 0\n";
        let document = crate::parse::Document::new(source.to_string());
        let parts = crate::program::build_parts(vec![("app.py".to_string(), &document)]);
        let program = Program::from_parts(&parts);
        let reached = |function: &str| {
            let pdg = build_pdg(&program, program.functions[function]);
            let body = pdg.cfg.steps.iter().position(|s| s.node.is_some_and(|n| &source[n.byte_range()] == "x = 1")).expect("x = 1");
            pdg.cfg.successors.iter().flatten().any(|edge| edge.to == body && edge.executable())
        };
        assert!(reached("app.f"), "the parameter's branch is kept");
        assert!(!reached("app.g"), "the module constant's dead branch is pruned");
    }

    /// Each step of function `f`'s PDG: its kind and first line, definitions (`!` strong) and uses.
    fn steps_of(source: &str) -> Vec<String> {
        let document = crate::parse::Document::new(source.to_string());
        let parts = crate::program::build_parts(vec![("app.py".to_string(), &document)]);
        let program = Program::from_parts(&parts);
        let pdg = build_pdg(&program, program.functions["app.f"]);
        (2..pdg.cfg.steps.len())
            .map(|step| {
                let node = pdg.cfg.steps[step].node.expect("syntax");
                let defined: Vec<String> = pdg
                    .definitions
                    .iter()
                    .filter(|d| d.step == step)
                    .map(|d| format!("{}{}", d.path, if d.strong { "!" } else { "" }))
                    .collect();
                format!(
                    "{:?} `{}` | def {} | use {}",
                    pdg.cfg.steps[step].kind,
                    source[node.byte_range()].lines().next().unwrap_or(""),
                    defined.join(" "),
                    pdg.uses[step].join(" ")
                )
            })
            .collect()
    }

    /// A comprehension's names are its own (`x@N`, N its offset in the body), apart from the
    /// function's `x`; the first iterable and free names are the function's; `:=` binds in the
    /// function; the statement reads the comprehension's result (`$N`), defined by its element.
    #[test]
    fn comprehensions_are_nested_scopes_with_their_own_names() {
        let source = "def f(x, xs, k):\n    ys = [(last := g(x)) for x in xs if x > k]\n    return ys, x, last\n";
        assert_eq!(
            steps_of(source),
            vec![
                "ForTarget `for x in xs` | def x@5! | use xs",
                "Condition `if x > k` | def  | use k x@5",
                "Element `(last := g(x))` | def last! $5 | use g x@5",
                "Statement `ys = [(last := g(x)) for x in xs if x > k]` | def ys! | use $5",
                "Statement `return ys, x, last` | def  | use last x ys",
            ]
        );
    }

    /// A lambda's parameters are its own; its default values are read where it is evaluated.
    /// A class body's names are the class's attributes (`ir::lower::ClassNames`): defined as
    /// `A.x`; read as both `A.x` and the name around the class. A nested class's body does not
    /// see the outer class's names (`z = x` reads the function's `x`), as in Python.
    #[test]
    fn class_bodies_define_and_read_their_attributes() {
        let source = "def f(base, x):\n    class A:\n        x = base\n        y = x + 1\n        class C:\n            z = x\n        def m(self):\n            return self.x\n    return A\n";
        assert_eq!(
            steps_of(source),
            vec![
                "Definition `class A:` | def A! | use ",
                "Statement `x = base` | def A.x! | use base",
                "Statement `y = x + 1` | def A.y! | use A.x x",
                "Definition `class C:` | def A.C! | use ",
                "Statement `z = x` | def A.C.z! | use x",
                "Definition `def m(self):` | def A.m! | use ",
                "Statement `return A` | def  | use A",
            ]
        );
    }

    #[test]
    fn lambdas_are_nested_scopes_whose_defaults_the_enclosing_step_reads() {
        let source = "def f(item, base):\n    key = lambda item, d=base: item[d] + item\n    return key\n";
        assert_eq!(
            steps_of(source),
            vec![
                "Element `item[d] + item` | def $6 | use d@6 item@6",
                "Statement `key = lambda item, d=base: item[d] + item` | def key! | use $6 base",
                "Statement `return key` | def  | use key",
            ]
        );
    }

    /// A `case` defines its captures (`ir::bindings::case_captures`) and reads the subject,
    /// its guard, the class it matches and dotted values; a keyword pattern's keyword is none.
    #[test]
    fn case_patterns_define_their_captures_and_read_what_they_compare_with() {
        let source = "def f(command, limit):\n    match command:\n        case Point(x=px) if px > limit:\n            return px\n        case Color.RED:\n            return 0\n";
        assert_eq!(
            steps_of(source),
            vec![
                "MatchSubject `match command:` | def $match! | use command",
                "CasePattern `case Point(x=px) if px > limit:` | def px! | use $match Point limit px",
                "Statement `return px` | def  | use px",
                "CasePattern `case Color.RED:` | def  | use $match Color.RED",
                "Statement `return 0` | def  | use ",
            ]
        );
    }

    /// A call of a local bound to a lambda reads the lambda's free names (not its parameters,
    /// nor the defaults, read where it is evaluated); a call of another name reads none.
    #[test]
    fn a_call_of_a_local_bound_to_a_lambda_reads_its_free_names() {
        let source = "def f(y, base):\n    g = h = lambda x, d=base: x * y.scale + d\n    y = base\n    other(y)\n    return g(3) + h(4)\n";
        assert_eq!(
            steps_of(source),
            vec![
                "Element `x * y.scale + d` | def $8 | use d@8 x@8 y.scale",
                "Statement `g = h = lambda x, d=base: x * y.scale + d` | def g! h! | use $8 base",
                "Statement `y = base` | def y! | use base",
                "Statement `other(y)` | def  | use other y",
                "Statement `return g(3) + h(4)` | def  | use g h y.scale",
            ]
        );
    }

    /// Lambdas nested past `cfg::MAX_NESTED_SCOPES` are flattened: the innermost region is
    /// one step reading every name inside it, so the parameter still reaches the statement.
    #[test]
    fn nested_scopes_past_the_bound_are_read_whole_and_counted() {
        let depth = crate::cfg::MAX_NESTED_SCOPES + 8;
        let source = format!("def f(v):\n    g = {}v\n    return g\n", "lambda: ".repeat(depth));
        let document = crate::parse::Document::new(source.clone());
        let parts = crate::program::build_parts(vec![("app.py".to_string(), &document)]);
        let program = Program::from_parts(&parts);
        let pdg = build_pdg(&program, program.functions["app.f"]);
        assert_eq!(pdg.cfg.flattened_scopes, 1);
        // From the return, data dependences lead back to the parameter `v`.
        let returned = pdg.cfg.steps.iter().position(|s| s.node.is_some_and(|n| n.kind() == "return_statement")).expect("a return");
        let mut stack = vec![returned];
        let mut seen = vec![false; pdg.cfg.steps.len()];
        let mut reaches_parameter = false;
        while let Some(step) = stack.pop() {
            if std::mem::replace(&mut seen[step], true) {
                continue;
            }
            for &definition in &pdg.data_dependences[step] {
                let definition = &pdg.definitions[definition];
                reaches_parameter |= definition.step == ENTRY && definition.path == "v";
                stack.push(definition.step);
            }
        }
        assert!(reaches_parameter);
    }

    #[test]
    fn dotted_names_of_very_long_chains_do_not_recurse() {
        let source = format!("a{}()\n", ".b".repeat(100_000));
        let name = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || {
                let tree = crate::parse::parse(&source);
                let call = tree.root_node().named_child(0).and_then(|s| s.named_child(0)).expect("a call");
                crate::program::dotted(&source, call.field(&field::FUNCTION).expect("callee")).map(|n| n.len())
            })
            .expect("thread starts")
            .join()
            .expect("no stack overflow");
        assert_eq!(name, Some(1 + 2 * 100_000));
    }

    #[test]
    fn literals_under_very_many_signs_and_parentheses_do_not_recurse() {
        let run = |source: String| {
            std::thread::Builder::new()
                .stack_size(256 * 1024)
                .spawn(move || {
                    let tree = crate::parse::parse(&source);
                    let expression = tree.root_node().named_child(0).and_then(|s| s.named_child(0)).expect("an expression");
                    literal(&source, expression, &std::collections::HashMap::new())
                })
                .expect("thread starts")
                .join()
                .expect("no stack overflow")
        };
        assert_eq!(run(format!("{}1\n", "-".repeat(100_001))), Some(Constant::Int(-1)));
        assert_eq!(run(format!("{}2{}\n", "(".repeat(50_000), ")".repeat(50_000))), Some(Constant::Int(2)));
        assert_eq!(run("-(-9223372036854775808)\n".to_string()), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 400, .. ProptestConfig::default() })]

        #[test]
        fn postdominators_agree_with_brute_force(successors in graphs()) {
            let exit = successors.len() - 1;
            let mut successors = successors;
            successors[exit].clear();
            let ipdom = immediate_postdominators(&successors, exit);
            for n in 0..successors.len() {
                if n == exit || !reaches(&successors, n, exit) {
                    prop_assert!(ipdom[n].is_none() || n == exit);
                    continue;
                }
                // The post-dominators of n are exactly the ipdom chain from n to exit.
                let mut chain = vec![n];
                let mut current = n;
                while let Some(next) = ipdom[current] {
                    chain.push(next);
                    current = next;
                    prop_assert!(chain.len() <= successors.len() + 1);
                }
                prop_assert_eq!(*chain.last().unwrap(), exit);
                for d in 0..successors.len() {
                    prop_assert_eq!(chain.contains(&d), brute_force_postdominates(&successors, exit, d, n), "d={} n={}", d, n);
                }
            }
        }

        #[test]
        fn control_dependence_agrees_with_definition(successors in graphs()) {
            // b is control dependent on a iff a has a successor s with b post-dominating s,
            // and b does not strictly post-dominate a.
            let exit = successors.len() - 1;
            let mut successors = successors;
            successors[exit].clear();
            let control = control_dependences(&successors, exit);
            for (b, controllers) in control.iter().enumerate() {
                for a in 0..successors.len() {
                    if !reaches(&successors, a, exit) || !reaches(&successors, b, exit) {
                        continue;
                    }
                    let expected = successors[a].iter().any(|&s| reaches(&successors, s, exit) && brute_force_postdominates(&successors, exit, b, s))
                        && !(a != b && brute_force_postdominates(&successors, exit, b, a));
                    prop_assert_eq!(controllers.contains(&a), expected, "b={} a={} {:?}", b, a, successors);
                }
            }
        }

        #[test]
        fn virtual_exits_give_every_node_a_postdominator(successors in graphs()) {
            // Graphs with nodes that cannot reach EXIT (infinite loops, dead ends): once the
            // CFG builder's virtual edges are added, every node reaches EXIT, has an immediate
            // post-dominator, and control dependence still agrees with brute force.
            let count = successors.len().max(2);
            let mut edges: Vec<Vec<crate::cfg::Edge>> = (0..count)
                .map(|from| {
                    successors.get(from).map_or(Vec::new(), |targets| {
                        targets
                            .iter()
                            .filter(|&&to| from != EXIT && to < count)
                            .map(|&to| crate::cfg::Edge { to, guard: None, kind: crate::cfg::EdgeKind::Normal })
                            .collect()
                    })
                })
                .collect();
            edges[EXIT].clear();
            crate::cfg::add_virtual_exits(&mut edges);
            let augmented: Vec<Vec<usize>> = edges.iter().map(|e| e.iter().map(|edge| edge.to).collect()).collect();
            let ipdom = immediate_postdominators(&augmented, EXIT);
            for (node, dominator) in ipdom.iter().enumerate() {
                prop_assert!(reaches(&augmented, node, EXIT), "{} {:?}", node, augmented);
                prop_assert!(node == EXIT || dominator.is_some());
            }
            let control = control_dependences(&augmented, EXIT);
            for (b, controllers) in control.iter().enumerate() {
                for a in 0..count {
                    let expected = augmented[a].iter().any(|&s| brute_force_postdominates(&augmented, EXIT, b, s))
                        && !(a != b && brute_force_postdominates(&augmented, EXIT, b, a));
                    prop_assert_eq!(controllers.contains(&a), expected, "b={} a={} {:?}", b, a, augmented);
                }
            }
        }
    }
}

/// A PDG as plain data (for the Python API and tests): steps with their kind and 1-based lines,
/// data edges (definition step → use step, path) and control edges (branch → dependent).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PdgSummary {
    pub qualified_name: String,
    pub path: String,
    pub steps: Vec<(String, usize, usize)>,
    pub data_edges: Vec<(usize, usize, String)>,
    pub control_edges: Vec<(usize, usize)>,
}

pub fn summarize_pdg(program: &Program<'_>, scope: usize) -> PdgSummary {
    let pdg = build_pdg(program, scope);
    let info = &program.scopes[scope];
    let steps = pdg
        .cfg
        .steps
        .iter()
        .map(|step| {
            let kind = format!("{:?}", step.kind).to_lowercase();
            match step.node {
                Some(node) => (kind, node.start_position().row + 1, node.end_position().row + 1),
                None => (kind, 0, 0),
            }
        })
        .collect();
    let mut data_edges = Vec::new();
    for (step, dependences) in pdg.data_dependences.iter().enumerate() {
        for &definition in dependences {
            let definition = &pdg.definitions[definition];
            data_edges.push((definition.step, step, definition.path.clone()));
        }
    }
    let mut control_edges = Vec::new();
    for (step, controllers) in pdg.control_dependences.iter().enumerate() {
        for &controller in controllers {
            control_edges.push((controller, step));
        }
    }
    PdgSummary {
        qualified_name: info.qualified_name.clone(),
        path: program.files[info.file].path.clone(),
        steps,
        data_edges,
        control_edges,
    }
}
