//! Program slicing over the system dependence graph (SDG): per-scope PDGs linked at call sites.
//!
//! Inter-procedural slices follow Horwitz–Reps–Binkley's two phases, so a slice never leaves a
//! function through a call site other than the one it entered by:
//! - backward: phase 1 follows dependences and goes *up* to callers (parameter-in edges) but not
//!   *down* into callees; phase 2 goes down into callees (through their returns) but not up.
//! - forward: the mirror image (phase 1 may go up through returns, phase 2 only down).
//!
//! Nodes are statement-level steps, parameters of scopes, and each scope's return value (every
//! `return` and, for generators, every `yield`). A call is also a definition of what its callee
//! (transitively) mutates through its parameters or assigns as module globals, and a use of the
//! module globals its callee reads (in a function, through the callee's `Reads` node); those
//! edges lead into the callee's defining steps and the module's definitions.
//! Thin slices follow data dependences only.
//!
//! The SDG is demand-driven: a scope's PDG, its resolved calls, its effects and its callers are
//! computed the first time a slice reaches the scope, so a slice costs what it visits, not the
//! size of the program. Callers are found by the names a call to the scope can be spelt with
//! (its own name, and every import or alias bound to it) before calls are resolved, which finds
//! every call site `resolve_call` can resolve.

use std::cell::{OnceCell, RefCell};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use crate::syntax::tree::Node;
use rustc_hash::{FxHashMap, FxHashSet};

use std::sync::Arc;

use crate::cfg::ENTRY;
use crate::ir::binding::{self, How, Receiver};
use crate::ir::bindings::Bindings;
use crate::ir::effects::bind_arguments;
use crate::ir::lower::{is_nested_name, IrCache};
use crate::ir::place::extend_key;
use crate::ir::resolve::{self, Reached, Syntactic};
use crate::pdg::{base_of, overlaps, reaching_definitions, Definition};
use crate::program::{text_of, Program, ScopeKind};
use crate::scopes::{symbol_tables, ScopeType, SymbolScope};
use crate::syntax::{field, FieldChild};

mod cache;
pub mod graph;

pub use cache::RefreshStats;

use graph::{GraphCache, ScopeGraph};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SliceNode {
    Step(usize, usize),
    Param(usize, usize),
    Return(usize),
    /// (scope, call step, callee, explicit parameter): the argument a call passes for one
    /// parameter (HRB's actual-in). Going up from a parameter lands here, not on the whole
    /// call, so a slice never comes back down through that call's return.
    Argument(usize, usize, usize, usize),
    /// The module globals a scope reads, directly or through the calls it makes in its module:
    /// one node per scope, depending on the module's definitions of the names the scope reads
    /// itself and on the `Reads` of its callees. A call step depends on its callee's `Reads`
    /// instead of using every name the callee reads (through a call chain of N functions that
    /// was N names per call step, N² in all: a 20,000-function chain did not slice in 16 GB).
    Reads(usize),
}

impl SliceNode {
    /// The scope the node belongs to.
    pub fn scope(self) -> usize {
        match self {
            SliceNode::Step(scope, _)
            | SliceNode::Param(scope, _)
            | SliceNode::Return(scope)
            | SliceNode::Argument(scope, ..)
            | SliceNode::Reads(scope) => scope,
        }
    }
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

/// The scopes a call may run (`ir::resolve`, answering what names refer to from the syntax).
/// `locals` are the scope's `local_references`, `tables` its `table_locals`.
fn resolve_call<'t>(
    program: &Program<'_>,
    scope: usize,
    call: Node<'t>,
    locals: Option<&FxHashMap<String, String>>,
    tables: Option<&FxHashMap<String, resolve::TableEntries>>,
) -> Vec<usize> {
    let syntactic = Syntactic { program, scope, locals, tables };
    resolve::resolve_call(program, scope, call, &mut |node| syntactic.reference(node)).targets
}

/// For each of `ranges`, the outermost node below `within` spanning exactly that range. One
/// walk in document order that enters only nodes holding the next range, so finding every
/// binding of a 40,000-statement module body is linear (a `descendant_for_byte_range` from the
/// body per range scans its children each time: quadratic).
fn nodes_spanning<'t>(within: Node<'t>, ranges: &[(usize, usize)]) -> Vec<Option<Node<'t>>> {
    let mut order: Vec<usize> = (0..ranges.len()).collect();
    order.sort_by_key(|&index| (ranges[index].0, std::cmp::Reverse(ranges[index].1)));
    let mut found = vec![None; ranges.len()];
    let mut cursor = within.walk();
    let mut depth = 0usize;
    let mut next = 0;
    'ranges: while next < order.len() {
        let (start, end) = ranges[order[next]];
        let node = cursor.node();
        if depth > 0 && node.start_byte() == start && node.end_byte() == end {
            found[order[next]] = Some(node);
            next += 1;
        } else if node.start_byte() <= start && end <= node.end_byte() {
            if cursor.goto_first_child() {
                depth += 1;
            } else {
                next += 1;
            }
        } else if node.end_byte() <= start && depth > 0 {
            // The range lies after this node: on to its next sibling, or its parent's.
            loop {
                if cursor.goto_next_sibling() {
                    continue 'ranges;
                }
                if depth == 1 || !cursor.goto_parent() {
                    break 'ranges;
                }
                depth -= 1;
            }
        } else {
            next += 1;
        }
    }
    found
}

/// The call whose range is `node`'s (a call statement's expression statement holds it).
fn call_spanned_by(mut node: Node<'_>) -> Option<Node<'_>> {
    while node.kind() != "call" {
        node = node.named_child(0).filter(|child| child.byte_range() == node.byte_range())?;
    }
    Some(node)
}

/// What a call to a scope does besides returning, through the scopes it calls: the IR's
/// effects of each (`ir::effects`: places under parameters it mutates, module globals it
/// assigns) composed along calls, and the module globals whose value at the call it reads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Effects {
    /// (parameter position, the receiver included; key suffix below it), sorted, distinct.
    mutated: Vec<(usize, Box<str>)>,
    written_globals: Vec<Box<str>>,
    /// A persistent set: through a call chain it holds every function name the chain calls,
    /// and each function's set shares all but a path of nodes with its callee's (a 20,000-
    /// function chain: 200 million names as separate sets).
    read_globals: imbl::OrdSet<std::sync::Arc<str>>,
}

impl Effects {
    /// Whether a call passing `position` lets the callee (or its callees) write under it.
    fn mutates(&self, position: usize) -> bool {
        self.mutated.iter().any(|&(at, _)| at == position)
    }

    /// Whether `self` differs from `before`, which it extends (sets only grow in the fixpoint).
    fn grew_from(&self, before: &Effects) -> bool {
        self.mutated != before.mutated
            || self.written_globals != before.written_globals
            || self.read_globals.len() != before.read_globals.len()
    }
}

/// The attribute names each file may read from an instance, and in how many files each is:
/// built on first use, a changed file scanned again (`cache.rs`).
#[derive(Default)]
struct InstanceReads {
    per_file: Vec<Vec<Box<str>>>,
    files_reading: FxHashMap<Box<str>, u32>,
}

impl InstanceReads {
    /// Scans `file` (whose text is now `text`) again, if the names were built.
    fn rescan(&mut self, file: usize, text: &str) {
        let Some(old) = self.per_file.get_mut(file) else { return };
        for name in std::mem::take(old) {
            if let Some(files) = self.files_reading.get_mut(&name) {
                *files -= 1;
            }
        }
        let names = instance_read_names(text);
        for name in &names {
            *self.files_reading.entry(name.clone()).or_default() += 1;
        }
        self.per_file[file] = names;
    }
}

/// The attribute names `text` may read from an instance other than through a method's
/// receiver: `x.name` with `x` not `self`/`cls` (`obj.attr`, `make().attr`, `self.part.attr`,
/// `Config.attr`; a store `obj.attr = …` counts too), and a string spelling an identifier
/// (`getattr(obj, "attr")`). Comments and docstrings count: more names, never fewer.
/// `getattr` with a computed name is not modelled (as for `self`, `ARCHITECTURE.md`).
fn instance_read_names(text: &str) -> Vec<Box<str>> {
    let bytes = text.as_bytes();
    let is_identifier = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80;
    let blank = |b: u8| matches!(b, b' ' | b'\t' | b'\\' | b'\n' | b'\r');
    let mut names: Vec<Box<str>> = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let byte = bytes[at];
        if byte == b'.' {
            // The object before the dot, and the identifier after it.
            let mut end = at;
            while end > 0 && blank(bytes[end - 1]) {
                end -= 1;
            }
            let mut start = end;
            while start > 0 && is_identifier(bytes[start - 1]) {
                start -= 1;
            }
            let receiver = matches!(&bytes[start..end], b"self" | b"cls") && (start == 0 || bytes[start - 1] != b'.');
            let mut first = at + 1;
            while first < bytes.len() && blank(bytes[first]) {
                first += 1;
            }
            let mut last = first;
            while last < bytes.len() && is_identifier(bytes[last]) {
                last += 1;
            }
            if !receiver && last > first && !bytes[first].is_ascii_digit() {
                names.extend(text.get(first..last).map(Into::into));
            }
            at = last.max(at + 1);
        } else if byte == b'"' || byte == b'\'' {
            let mut last = at + 1;
            while last < bytes.len() && is_identifier(bytes[last]) {
                last += 1;
            }
            if last > at + 1 && bytes.get(last) == Some(&byte) && !bytes[at + 1].is_ascii_digit() {
                names.extend(text.get(at + 1..last).map(Into::into));
                at = last + 1;
            } else {
                at += 1;
            }
        } else {
            at += 1;
        }
    }
    names.sort_unstable();
    names.dedup();
    names
}

/// Byte offsets where `name` occurs as a whole identifier in `text`.
fn identifier_occurrences(text: &str, name: &str) -> Vec<usize> {
    let bytes = text.as_bytes();
    let is_identifier = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80;
    memchr::memmem::find_iter(bytes, name.as_bytes())
        .filter(|&at| {
            let before = at.checked_sub(1).map(|i| bytes[i]);
            let after = bytes.get(at + name.len()).copied();
            !before.is_some_and(is_identifier) && !after.is_some_and(is_identifier)
        })
        .collect()
}

/// Links `graph` (of `scope`) into the program: binds its locals and resolves its calls.
fn link_graph(program: &Program<'_>, scope: usize, graph: Arc<ScopeGraph>) -> Linked {
    let info = &program.scopes[scope];
    let base = info.body.start_byte();
    let rights: Vec<(usize, usize)> = graph.bindings.iter().filter_map(|(_, right)| *right).map(|(s, e)| (base + s, base + e)).collect();
    let mut right_nodes = nodes_spanning(info.body, &rights).into_iter();
    let bindings: Vec<(&str, Option<Node<'_>>)> =
        graph.bindings.iter().map(|(name, right)| (name.as_str(), right.and_then(|_| right_nodes.next().flatten()))).collect();
    let scope_bindings = Bindings::of_scope(program.text(info.file), info.body);
    let tables = resolve::table_locals(program, scope, &scope_bindings);
    let locals = resolve::local_references(program, scope, Some(&tables), bindings);
    let sites: Vec<(usize, usize, (usize, usize))> = graph
        .call_sites
        .iter()
        .enumerate()
        .flat_map(|(step, sites)| sites.iter().enumerate().map(move |(index, site)| (step, index, site.range)))
        .collect();
    let ranges: Vec<(usize, usize)> = sites.iter().map(|&(_, _, (s, e))| (base + s, base + e)).collect();
    let mut calls = Vec::new();
    let mut reached = FxHashMap::default();
    let class_locals = resolve::class_locals(program, scope, &scope_bindings);
    let local = |name: &str| resolve::Local::of(&class_locals, name, graph.assigns(name));
    for (&(step, index, _), node) in sites.iter().zip(nodes_spanning(info.body, &ranges)) {
        let Some(call) = node.and_then(call_spanned_by) else { continue };
        let syntactic = Syntactic { program, scope, locals: Some(&locals), tables: Some(&tables) };
        let resolved = resolve::resolve_call(program, scope, call, &mut |node| syntactic.reference(node));
        if resolved.targets.is_empty() {
            continue;
        }
        let how = resolve::reached(program, scope, call, &resolved, &local);
        if how != Reached::default() {
            reached.insert((step, index), how);
        }
        for callee in resolved.targets {
            calls.push((step, index, callee));
        }
    }
    Linked { graph, calls, reached, locals, tables }
}

/// A scope's graph linked into the program: its calls resolved, its locals bound.
struct Linked {
    graph: Arc<ScopeGraph>,
    /// (step, call index at the step, callee) for every call that resolves to a workspace
    /// scope, by step.
    calls: Vec<(usize, usize, usize)>,
    /// How the calls among `calls` reach their callees, by (step, call index at the step),
    /// where it is not `Reached::default()` (a plain call).
    reached: FxHashMap<(usize, usize), Reached>,
    /// Local names bound only one way, to what they refer to (`ir::resolve::local_references`).
    locals: FxHashMap<String, String>,
    /// Dispatch tables held in locals (`ir::resolve::table_locals`).
    tables: FxHashMap<String, resolve::TableEntries>,
}

impl Linked {
    /// The resolved calls made at `step`.
    fn calls_at(&self, step: usize) -> &[(usize, usize, usize)] {
        let start = self.calls.partition_point(|&(s, _, _)| s < step);
        let end = self.calls.partition_point(|&(s, _, _)| s <= step);
        &self.calls[start..end]
    }
}

/// A scope's PDG solved with what its calls do through their callees: the graph's definitions
/// plus those calls make (arguments a callee mutates, globals it assigns), the graph's uses
/// plus the globals calls read, and the reaching definitions over both.
struct Solved {
    graph: Arc<ScopeGraph>,
    definitions: Arc<Vec<Definition>>,
    uses: Arc<Vec<Vec<String>>>,
    data_dependences: Arc<Vec<Vec<usize>>>,
    /// Places cut by the depth bound: the graph's, and those of the definitions its calls make
    /// (an argument's place extended by what the callee writes under it).
    cut_places: usize,
    /// The definitions by the base name they define, in order.
    definitions_by_base: OnceCell<FxHashMap<String, Vec<usize>>>,
    /// Reverse dependences, for forward slices.
    dependents: OnceCell<Dependents>,
}

/// Reverse dependences inside one scope, for forward slices.
#[derive(Default)]
struct Dependents {
    /// Per step: steps whose data dependences include a definition made at it.
    data: Vec<Vec<usize>>,
    /// Per explicit parameter: steps that read it.
    parameters: Vec<Vec<usize>>,
    /// Per step: steps control dependent on it.
    control: Vec<Vec<usize>>,
}

/// Callee → its call sites: (caller scope, call step, call index at the step).
type CallSites = Arc<Vec<(usize, usize, usize)>>;

/// What slices share, kept across slices and edits (see `cache.rs` for what an edit keeps).
/// Per scope index (valid while the program's interface is unchanged): linked graphs, solved
/// PDGs, effects, call sites; per file: symbol tables, scopes by position; and, across any
/// change, scope graphs by identity and content (`GraphCache`).
#[derive(Default)]
pub struct SliceCache {
    linked: Vec<OnceCell<Linked>>,
    solved: Vec<OnceCell<Solved>>,
    effects: RefCell<Vec<Option<Effects>>>,
    /// Callee → scopes whose effects were computed from its effects.
    effect_readers: RefCell<FxHashMap<usize, FxHashSet<usize>>>,
    /// Callee → scopes whose solved PDG used its effects.
    solved_readers: RefCell<FxHashMap<usize, FxHashSet<usize>>>,
    callers: RefCell<FxHashMap<usize, CallSites>>,
    /// Per module: names its body defines or its code declares `global`.
    module_names: Vec<OnceCell<FxHashSet<String>>>,
    /// Per file: each function's symbol table resolution (name → scope kind).
    symbols: Vec<OnceCell<FxHashMap<usize, BTreeMap<String, SymbolScope>>>>,
    /// Per file: `scopes_by_start`.
    scopes_by_start: Vec<OnceCell<Vec<(usize, usize, usize)>>>,
    /// Qualified name → the local names imports and aliases bind to it, in any module.
    bound_names: OnceCell<FxHashMap<String, BTreeSet<String>>>,
    /// Name → files that may mention it (sorted).
    mentions: RefCell<FxHashMap<String, Arc<Vec<usize>>>>,
    /// The attribute names code may read from instances (`Sdg::read_from_instances`).
    instance_reads: RefCell<InstanceReads>,
    /// What the per-scope parts were computed for (`cache::Fingerprint`).
    fingerprint: cache::Fingerprint,
    graphs: RefCell<GraphCache>,
    /// PDGs solved (not found in `solved`) since the cache was made.
    pdgs_solved: std::cell::Cell<usize>,
    /// What `refresh` kept and dropped, for tests and the bench.
    pub stats: cache::RefreshStats,
}

impl SliceCache {
    /// What the refreshes did (with the PDGs solved since the cache was made), and how many
    /// scope graphs were built (not found by identity and content) since the cache was made.
    pub fn stats(&self) -> (RefreshStats, usize) {
        (RefreshStats { pdgs_solved: self.pdgs_solved.get(), ..self.stats }, self.graphs.borrow().built)
    }
}

pub struct Sdg<'p, 't> {
    pub program: &'p Program<'t>,
    cache: SliceCache,
    module_scope: Vec<Option<usize>>,
    /// Per file: its scopes.
    scopes_of_file: Vec<Vec<usize>>,
    /// Lowered scopes by text, kept across edits by whoever keeps the cache (`ir::lower`).
    ir: RefCell<IrCache>,
}

impl<'p, 't> Sdg<'p, 't> {
    pub fn new(program: &'p Program<'t>) -> Sdg<'p, 't> {
        Sdg::with_caches(program, SliceCache::default(), IrCache::default(), None)
    }

    /// An SDG reusing `cache` and `ir`. `changed` names the files whose text changed since
    /// `cache` was last used (`None`: unknown, every file is checked as changed); what the
    /// changes leave valid is kept (`SliceCache::refresh`).
    pub fn with_caches(program: &'p Program<'t>, cache: SliceCache, ir: IrCache, changed: Option<&FxHashSet<String>>) -> Sdg<'p, 't> {
        let mut module_scope = vec![None; program.modules.len()];
        // Sized first: one allocation per file (pushing into empty vectors regrew them on
        // every slice request).
        let mut per_file = vec![0usize; program.files.len()];
        for info in &program.scopes {
            per_file[info.file] += 1;
        }
        let mut scopes_of_file: Vec<Vec<usize>> = per_file.into_iter().map(Vec::with_capacity).collect();
        for (scope, info) in program.scopes.iter().enumerate() {
            if info.kind == ScopeKind::Module {
                module_scope[info.module] = Some(scope);
            }
            scopes_of_file[info.file].push(scope);
        }
        let mut sdg = Sdg { program, cache, module_scope, scopes_of_file, ir: RefCell::new(ir) };
        sdg.refresh(changed);
        sdg
    }

    /// The number of CFG steps of a scope (ENTRY and EXIT included).
    pub fn step_count(&self, scope: usize) -> usize {
        self.extracted(scope).graph.steps.len()
    }

    /// What slices of later programs may reuse, and the lowered scopes.
    pub fn into_caches(self) -> (SliceCache, IrCache) {
        (self.cache, self.ir.into_inner())
    }

    /// The indices of `scope`'s definitions of `base` (`base`, `base.x`, `base[0]`, …), in order.
    fn definitions_of(&self, scope: usize, base: &str) -> &[usize] {
        let solved = self.pdg(scope);
        let index = solved.definitions_by_base.get_or_init(|| {
            let mut index: FxHashMap<String, Vec<usize>> = FxHashMap::default();
            for (position, definition) in solved.definitions.iter().enumerate() {
                index.entry(base_of(&definition.path).to_string()).or_default().push(position);
            }
            index
        });
        index.get(base).map(Vec::as_slice).unwrap_or(&[])
    }

    /// What call `call` (index at `step` of `scope`) passes to `callee` by parameter position
    /// (`ir::binding`'s rule): each argument's place key, if it is a place and the parameter
    /// is that place (not an element of `*args`/`**kwargs` collecting it), and the keys it
    /// reads (`ir::lower::CallSite`).
    fn arguments(&self, scope: usize, step: usize, call: usize, callee: usize) -> Vec<(usize, Option<&str>, Vec<&str>)> {
        let graph = &self.extracted(scope).graph;
        let Some(site) = graph.call_sites[step].get(call) else { return Vec::new() };
        let info = &self.program.scopes[callee];
        let reached = self.extracted(scope).reached.get(&(step, call)).copied().unwrap_or_default();
        let receiver = binding::receiver_of(self.program, callee, reached);
        // `super().m(…)`: the receiver is the caller's own (`self`), which the lowered site (the
        // `super()` call, no place) does not name.
        let own_receiver =
            binding::own_receiver(self.program, scope, reached).filter(|_| receiver == Receiver::Object).map(|param| param.name.as_str());
        bind_arguments(site, receiver, &info.params)
            .into_iter()
            .map(|(position, argument, how)| {
                if let Some(own) = own_receiver.filter(|_| position == 0) {
                    return (position, Some(own), vec![own]);
                }
                let place = argument.place.filter(|_| how != How::Collected).map(|place| graph.ir.key(place));
                (position, place, argument.reads.iter().map(|&read| graph.ir.key(read)).collect())
            })
            .collect()
    }

    /// Whether `*args`/`**kwargs` at a call leave its mapping to parameters unknown.
    fn has_splats(&self, scope: usize, step: usize, call: usize) -> bool {
        self.extracted(scope).graph.call_sites[step].get(call).is_none_or(|site| site.splat)
    }

    /// A scope's graph (`GraphCache`) with its calls resolved and its locals bound.
    fn extracted(&self, scope: usize) -> &Linked {
        self.cache.linked[scope].get_or_init(|| self.link(scope))
    }

    fn link(&self, scope: usize) -> Linked {
        let graph = self.cache.graphs.borrow_mut().graph(self.program, scope, &mut self.ir.borrow_mut());
        link_graph(self.program, scope, graph)
    }

    /// Does up to `limit` scopes' worth of what slices would otherwise do on their first visit
    /// of each scope, in phases: scopes linked (graphs not in the cache built, and calls
    /// resolved, in parallel on the caller's rayon pool); once all are, every callee's call
    /// sites inverted from the linked calls (what the caller search finds,
    /// `tests::callers_found_by_spelling_equal_…`); then functions' effects; then solved PDGs.
    /// Returns how much is left (0: prepared), so a caller can stop between calls.
    pub fn prepare(&mut self, limit: usize) -> usize {
        use rayon::prelude::*;
        let program = self.program;
        let count = program.scopes.len();
        let mut budget = limit;
        let mut missing: Vec<usize> = (0..count).filter(|&scope| self.cache.linked[scope].get().is_none()).collect();
        if !missing.is_empty() {
            let remaining = missing.len().saturating_sub(limit);
            missing.truncate(limit);
            budget -= missing.len();
            let graphs = self.cache.graphs.get_mut();
            let known: Vec<Option<Arc<ScopeGraph>>> = missing.iter().map(|&scope| graphs.cached(program, scope)).collect();
            let linked: Vec<(bool, Linked)> = missing
                .par_iter()
                .zip(known.into_par_iter())
                .map(|(&scope, known)| {
                    let built = known.is_none();
                    let graph = known.unwrap_or_else(|| Arc::new(graph::build_graph(program, scope, &mut IrCache::default())));
                    (built, link_graph(program, scope, graph))
                })
                .collect();
            for (scope, (built, linked)) in missing.into_iter().zip(linked) {
                if built {
                    graphs.insert(program, scope, linked.graph.clone());
                }
                let _ = self.cache.linked[scope].set(linked);
            }
            if remaining > 0 {
                // The phases below follow on the next calls.
                return remaining + 2 * count;
            }
        }
        if self.cache.callers.get_mut().len() < count {
            let mut sites: FxHashMap<usize, Vec<(usize, usize, usize)>> = FxHashMap::default();
            for scope in 0..count {
                for &(step, call, callee) in &self.extracted(scope).calls {
                    sites.entry(callee).or_default().push((scope, step, call));
                }
            }
            let callers = self.cache.callers.get_mut();
            for callee in 0..count {
                callers.entry(callee).or_insert_with(|| Arc::new(sites.remove(&callee).unwrap_or_default()));
            }
        }
        let functions = (0..count).filter(|&scope| program.scopes[scope].kind == ScopeKind::Function);
        let without_effects: Vec<usize> = functions.filter(|&scope| self.cache.effects.get_mut()[scope].is_none()).collect();
        for &scope in without_effects.iter().take(budget) {
            self.effects(scope);
        }
        budget = budget.saturating_sub(without_effects.len());
        let unsolved: Vec<usize> = (0..count).filter(|&scope| self.cache.solved[scope].get().is_none()).collect();
        for &scope in unsolved.iter().take(budget) {
            self.pdg(scope);
        }
        let left = |cache: &mut SliceCache| {
            let effects = cache.effects.get_mut();
            (0..count).filter(|&scope| program.scopes[scope].kind == ScopeKind::Function && effects[scope].is_none()).count()
                + cache.solved.iter().filter(|solved| solved.get().is_none()).count()
        };
        left(&mut self.cache)
    }

    fn module_names(&self, module: usize) -> &FxHashSet<String> {
        self.cache.module_names[module].get_or_init(|| {
            let mut names = FxHashSet::default();
            if let Some(scope) = self.module_scope[module] {
                names.extend(self.extracted(scope).graph.definitions.iter().map(|d| base_of(&d.path).to_string()));
                // Names functions of the module declare `global` (assigned there, maybe only there).
                let file = self.program.modules[module].file;
                let text = self.program.text(file);
                for at in identifier_occurrences(text, "global") {
                    let line_end = text[at..].find('\n').map_or(text.len(), |i| at + i);
                    let rest = text[at + "global".len()..line_end].split('#').next().unwrap_or("");
                    names.extend(rest.split(',').map(str::trim).filter(|n| !n.is_empty()).map(str::to_string));
                }
            }
            names
        })
    }

    /// A function's own variable (a parameter, or a name it binds and does not declare
    /// `global`/`nonlocal`: `ir::bindings`): assignments to it stay local.
    fn is_local(&self, scope: usize, name: &str) -> bool {
        self.program.scopes[scope].kind == ScopeKind::Function && self.extracted(scope).graph.binds(name)
    }

    /// A scope's effects by its own text: the IR's (`ir::effects`), and the module globals it reads.
    fn direct_effects(&self, scope: usize) -> Effects {
        let info = &self.program.scopes[scope];
        let pdg = &self.extracted(scope).graph;
        let mut effect = Effects {
            mutated: pdg.effects.mutated.clone(),
            written_globals: pdg.effects.written_globals.clone(),
            read_globals: imbl::OrdSet::new(),
        };
        if info.kind == ScopeKind::Function {
            let module_names = self.module_names(info.module);
            for used in pdg.uses.iter().flatten() {
                let base = base_of(used);
                if !self.is_local(scope, base)
                    && !is_nested_name(base)
                    && module_names.contains(base)
                    && !effect.read_globals.contains(base)
                {
                    effect.read_globals.insert(base.into());
                }
            }
        }
        effect
    }

    /// A scope's effects, through its callees (fixpoint over the callees not yet known).
    fn effects(&self, scope: usize) -> Effects {
        if let Some(known) = self.cache.effects.borrow()[scope].clone() {
            return known;
        }
        let mut closure = vec![scope];
        let mut seen: FxHashSet<usize> = FxHashSet::from_iter([scope]);
        let mut next = 0;
        while next < closure.len() {
            let member = closure[next];
            next += 1;
            for &(_, _, callee) in &self.extracted(member).calls {
                if self.cache.effects.borrow()[callee].is_none() && seen.insert(callee) {
                    closure.push(callee);
                }
            }
        }
        let mut current: FxHashMap<usize, Effects> = closure.iter().map(|&s| (s, self.direct_effects(s))).collect();
        let known = |callee: usize, current: &FxHashMap<usize, Effects>| -> Effects {
            current.get(&callee).cloned().or_else(|| self.cache.effects.borrow()[callee].clone()).unwrap_or_default()
        };
        // Callers within the closure, to revisit a member's callers when it grows.
        let mut callers_in_closure: FxHashMap<usize, Vec<usize>> = FxHashMap::default();
        for &member in &closure {
            for &(_, _, callee) in &self.extracted(member).calls {
                if current.contains_key(&callee) {
                    callers_in_closure.entry(callee).or_default().push(member);
                }
            }
        }
        // Callees were found after their callers: visited first, an acyclic chain settles in
        // one visit per member; afterwards only the callers of a member that grew are visited.
        let mut queue: std::collections::VecDeque<usize> = closure.iter().rev().copied().collect();
        let mut queued: FxHashSet<usize> = closure.iter().copied().collect();
        while let Some(member) = queue.pop_front() {
            queued.remove(&member);
            let info = &self.program.scopes[member];
            let mut grown = current[&member].clone();
            let mut merged = false;
            for &(step, call, callee) in &self.extracted(member).calls {
                let callee_effects = known(callee, &current);
                for (position, place, _) in self.arguments(member, step, call, callee) {
                    // `fill(p.items)` where `fill` mutates `xs[0]`: this scope mutates `p.items[0]`.
                    let Some(path) = place else { continue };
                    let Some(own) = info.params.iter().position(|p| p.name == base_of(path)) else { continue };
                    for (_, suffix) in callee_effects.mutated.iter().filter(|&&(at, _)| at == position) {
                        let (written, _) = extend_key(path, suffix);
                        let mutation = (own, Box::from(&written[base_of(path).len()..]));
                        if let Err(at) = grown.mutated.binary_search(&mutation) {
                            grown.mutated.insert(at, mutation);
                        }
                    }
                }
                if self.program.scopes[callee].module != info.module {
                    continue;
                }
                for name in &callee_effects.written_globals {
                    if let Err(at) = grown.written_globals.binary_search(name) {
                        grown.written_globals.insert(at, name.clone());
                    }
                }
                if info.kind == ScopeKind::Function && !callee_effects.read_globals.is_empty() {
                    // The union walks the smaller set into the larger one (sharing the larger
                    // one's nodes); the names the member binds itself are dropped below.
                    merged = true;
                    let (mut larger, smaller) = if callee_effects.read_globals.len() > grown.read_globals.len() {
                        (callee_effects.read_globals, std::mem::take(&mut grown.read_globals))
                    } else {
                        (std::mem::take(&mut grown.read_globals), callee_effects.read_globals)
                    };
                    for name in smaller {
                        larger.insert(name);
                    }
                    grown.read_globals = larger;
                }
            }
            if merged {
                for name in &self.extracted(member).graph.bound {
                    if self.is_local(member, name) {
                        grown.read_globals.remove(&**name);
                    }
                }
            }
            if grown.grew_from(&current[&member]) {
                current.insert(member, grown);
                for &caller in callers_in_closure.get(&member).into_iter().flatten() {
                    if queued.insert(caller) {
                        queue.push_back(caller);
                    }
                }
            }
        }
        let mut readers = self.cache.effect_readers.borrow_mut();
        for &member in &closure {
            for &(_, _, callee) in &self.extracted(member).calls {
                readers.entry(callee).or_default().insert(member);
            }
        }
        let mut store = self.cache.effects.borrow_mut();
        for (member, effect) in current {
            store[member] = Some(effect);
        }
        store[scope].clone().unwrap_or_default()
    }

    /// The solved PDG of a scope, with the definitions and uses its calls make through callees.
    fn pdg(&self, scope: usize) -> &Solved {
        self.cache.solved[scope].get_or_init(|| self.solve(scope))
    }

    fn solve(&self, scope: usize) -> Solved {
        self.cache.pdgs_solved.set(self.cache.pdgs_solved.get() + 1);
        let program = self.program;
        let info = &program.scopes[scope];
        let extracted = self.extracted(scope);
        let graph = &extracted.graph;
        let mut added: Vec<Definition> = Vec::new();
        let mut cut_places = 0;
        // (call step, what its callee reads) for the calls into this module.
        let mut reading_calls = Vec::new();
        {
            let mut readers = self.cache.solved_readers.borrow_mut();
            for &(_, _, callee) in &extracted.calls {
                readers.entry(callee).or_default().insert(scope);
            }
        }
        let mut receiver_uses: Vec<(usize, String)> = Vec::new();
        for &(step, call, callee) in &extracted.calls {
            let effects = self.effects(callee);
            for (position, place, _) in self.arguments(scope, step, call, callee) {
                // A method reads through its receiver what the caller stored into the object
                // (`h.scale = v; h.scaled(1)` with `self.scale` read there): the call reads the
                // object it passes as `self`/`cls` whole.
                if let Some(path) = place.filter(|_| position == 0 && program.scopes[callee].implicit_receiver) {
                    if !graph.uses[step].iter().any(|used| used == path) {
                        receiver_uses.push((step, path.to_string()));
                    }
                }
                // Weak definitions of the places under the argument the callee writes (cut
                // to the depth bound: somewhere under the prefix).
                let Some(path) = place else { continue };
                for (_, suffix) in effects.mutated.iter().filter(|&&(at, _)| at == position) {
                    let (written, cut) = extend_key(path, suffix);
                    cut_places += usize::from(cut);
                    added.push(Definition { step, path: written, strong: false, parameter: None });
                }
            }
            if program.scopes[callee].module != info.module {
                continue;
            }
            for name in &effects.written_globals {
                if !self.is_local(scope, name) {
                    added.push(Definition { step, path: name.to_string(), strong: false, parameter: None });
                }
            }
            if !effects.read_globals.is_empty() {
                reading_calls.push((step, effects.read_globals));
            }
        }
        // A call uses the globals its callee reads. In the module body, all of them: their
        // definitions there reach the call or not. In a function, only those the function
        // defines itself (`global g` then `g = …`, or a call assigning `g`): the module's
        // definitions of the others are reached through the callee's `Reads` node.
        let defined_here: Option<FxHashSet<&str>> = (info.kind == ScopeKind::Function)
            .then(|| graph.definitions.iter().chain(&added).filter(|d| d.step != ENTRY).map(|d| base_of(&d.path)).collect());
        let mut added_uses: Vec<(usize, Vec<String>)> = receiver_uses.into_iter().map(|(step, path)| (step, vec![path])).collect();
        for (step, read_globals) in reading_calls {
            let present: FxHashSet<&str> = graph.uses[step].iter().map(String::as_str).collect();
            let candidates: Vec<&str> = match &defined_here {
                None => read_globals.iter().map(|name| &**name).collect(),
                Some(defined) => defined.iter().copied().filter(|name| read_globals.contains(*name)).collect(),
            };
            let read: Vec<String> =
                candidates.into_iter().filter(|name| !self.is_local(scope, name) && !present.contains(name)).map(str::to_string).collect();
            if !read.is_empty() {
                added_uses.push((step, read));
            }
        }
        if added.is_empty() && added_uses.is_empty() {
            // What the graph's own text decides, shared by every program it appears in.
            return Solved {
                graph: graph.clone(),
                definitions: graph.definitions.clone(),
                uses: graph.uses.clone(),
                data_dependences: graph.plain_dependences(),
                cut_places: graph.cut_places,
                definitions_by_base: OnceCell::new(),
                dependents: OnceCell::new(),
            };
        }
        let mut definitions: Vec<Definition> = graph.definitions.as_ref().clone();
        definitions.extend(added);
        let mut uses: Vec<Vec<String>> = graph.uses.as_ref().clone();
        for (step, read) in added_uses {
            // Added at once, then sorted (one sort, not one per name); a step may hold several
            // reading calls.
            uses[step].extend(read);
            uses[step].sort();
            uses[step].dedup();
        }
        let data_dependences = Arc::new(reaching_definitions(&graph.flow, &definitions, &uses));
        Solved {
            graph: graph.clone(),
            definitions: Arc::new(definitions),
            uses: Arc::new(uses),
            data_dependences,
            cut_places: graph.cut_places + cut_places,
            definitions_by_base: OnceCell::new(),
            dependents: OnceCell::new(),
        }
    }

    fn dependents_in(&self, scope: usize) -> &Dependents {
        let pdg = self.pdg(scope);
        pdg.dependents.get_or_init(|| {
            let count = pdg.graph.steps.len();
            let info = &self.program.scopes[scope];
            let explicit = info.params.len() - usize::from(info.implicit_receiver);
            let mut result =
                Dependents { data: vec![Vec::new(); count], parameters: vec![Vec::new(); explicit], control: vec![Vec::new(); count] };
            for step in 0..count {
                for &definition in &pdg.data_dependences[step] {
                    let definition = &pdg.definitions[definition];
                    match (definition.step, definition.parameter) {
                        (ENTRY, Some(parameter)) => result.parameters[parameter].push(step),
                        (ENTRY, None) => {}
                        (other, _) => result.data[other].push(step),
                    }
                }
                for &controller in &pdg.graph.control_dependences[step] {
                    result.control[controller].push(step);
                }
            }
            result
        })
    }

    /// The files whose text may mention identifier `name`, in file order.
    fn files_mentioning(&self, name: &str) -> Arc<Vec<usize>> {
        if let Some(known) = self.cache.mentions.borrow().get(name) {
            return known.clone();
        }
        let files: Vec<usize> = (0..self.program.files.len()).filter(|&file| self.program.files[file].may_mention(name)).collect();
        let files = Arc::new(files);
        self.cache.mentions.borrow_mut().insert(name.to_string(), files.clone());
        files
    }

    /// Whether some file may read attribute `attribute` of an instance other than through a
    /// method's receiver (`instance_read_names`). The receiver's reads (`self.attr`) find
    /// class-body definitions by `class_attribute_edges`; these are the reads a constructor
    /// call must answer for (`class_read_reaches`).
    fn read_from_instances(&self, attribute: &str) -> bool {
        let mut reads = self.cache.instance_reads.borrow_mut();
        if reads.per_file.is_empty() && !self.program.files.is_empty() {
            reads.per_file = vec![Vec::new(); self.program.files.len()];
            for file in 0..self.program.files.len() {
                reads.rescan(file, self.program.text(file));
            }
        }
        reads.files_reading.get(attribute).is_some_and(|&files| files > 0)
    }

    /// Whether `name`, read at step `step` of `scope`, is only called there (`Config(…)`, a
    /// constructor call): every occurrence of the identifier in the step's text is followed
    /// by an argument list or by an attribute (`Config.root`, a read of its own place) and not
    /// preceded by a dot. Anything else (`f(Config)`, `x = Config`, `isinstance(o, Config)`,
    /// a mention in a string) passes the class whole.
    fn only_called(&self, scope: usize, step: usize, name: &str) -> bool {
        let info = &self.program.scopes[scope];
        let Some((start, end)) = self.extracted(scope).graph.steps[step].range() else { return false };
        let body = info.body.start_byte();
        let Some(text) = self.program.text(info.file).get(body + start..body + end) else { return false };
        let bytes = text.as_bytes();
        let blank = |b: &u8| matches!(b, b' ' | b'\t' | b'\\' | b'\n' | b'\r');
        let occurrences = identifier_occurrences(text, name);
        !occurrences.is_empty()
            && occurrences.into_iter().all(|at| {
                let next = bytes[at + name.len()..].iter().find(|b| !blank(b));
                let previous = bytes[..at].iter().rev().find(|b| !blank(b));
                matches!(next, Some(b'(' | b'.')) && previous != Some(&b'.')
            })
    }

    /// Whether module body `module` defines class `name` (at its top level).
    fn module_class(&self, module: usize, name: &str) -> bool {
        let info = &self.program.scopes[module];
        if info.kind != ScopeKind::Module {
            return false;
        }
        let qualified = format!("{}.{name}", self.program.modules[info.module].name);
        self.program.classes.contains_key(qualified.as_str())
    }

    /// Whether a read of `used`, whose base names a class of the module, depends on the
    /// module's definition of `definition` (same base). `C.attr…` reads the definitions it
    /// overlaps: the class statement (which reads the bases), `C.attr` in the class body,
    /// module-level rebinding `C.attr = …`. `C` read whole reads every attribute, except
    /// when the step only calls it (`called`, a constructor call): then the class statement
    /// and rebinding of the name, the dunder attributes Python looks up implicitly
    /// (`__init__`, `__new__`, `__eq__`, …), and the attributes some code may read from an
    /// instance other than through a method's receiver (`read_from_instances`). What
    /// `__init__`/`__new__` read is reached through the call's callee; what methods read
    /// through `self`/`cls`, through `class_attribute_edges`.
    fn class_read_reaches(&self, used: &str, called: bool, definition: &str) -> bool {
        if used.len() != base_of(used).len() {
            return overlaps(used, definition);
        }
        if !called || definition == used {
            return true;
        }
        let rest = &definition[used.len()..];
        let Some(attribute) = rest.strip_prefix('.').map(base_of) else { return true };
        (attribute.starts_with("__") && attribute.ends_with("__")) || self.read_from_instances(attribute)
    }

    /// A file's scopes by body start, (start, end, scope): the innermost scope holding an offset
    /// is the last one starting before it that has not ended. Built once per file (per callee,
    /// it made slicing a 20,000-function chain quadratic).
    fn scopes_by_start(&self, file: usize) -> &[(usize, usize, usize)] {
        self.cache.scopes_by_start[file].get_or_init(|| {
            let program = self.program;
            let mut by_start: Vec<(usize, usize, usize)> = self.scopes_of_file[file]
                .iter()
                .map(|&s| (program.scopes[s].body.start_byte(), program.scopes[s].body.end_byte(), s))
                .collect();
            by_start.sort_unstable();
            by_start
        })
    }

    /// Every call site of `callee`: (caller scope, call step, call index at the step).
    fn callers(&self, callee: usize) -> CallSites {
        if let Some(known) = self.cache.callers.borrow().get(&callee) {
            return known.clone();
        }
        let program = self.program;
        let info = &program.scopes[callee];
        let simple = |qualified: &str| qualified.rsplit('.').next().unwrap_or(qualified).to_string();
        // How a call can spell its callee: a function by its name; `__init__` by its class's
        // name; any other method as `self.m()`/`cls.m()` in classes whose lookup of `m` finds
        // it, or `Class.m(…)`. Imports and aliases add the names they bind to either.
        let method = info.class.is_some() && !info.qualified_name.ends_with(".__init__");
        let own_name = simple(&info.qualified_name);
        // Classes whose lookup of the method's name finds it (subclasses that do not override),
        // and the classes it overrides a method of: `self.m()` there may dispatch to it; and
        // the classes before its class in a subclass's order: `super().m()` there may run it.
        let finding_classes: Vec<&str> = match &info.class {
            Some(own_class) => {
                // A class whose lookup finds the method has its class among its ancestors:
                // it is the class or one of its (transitive) subclasses.
                let mut finding: Vec<&str> = Vec::new();
                let mut seen: FxHashSet<&str> = FxHashSet::default();
                let mut stack: Vec<&str> = program.classes.get_key_value(own_class.as_str()).map(|(&c, _)| c).into_iter().collect();
                while let Some(class) = stack.pop() {
                    if !seen.insert(class) {
                        continue;
                    }
                    if program.method(class, &own_name) == Some(callee) {
                        finding.push(class);
                    }
                    // The classes before the method's in a subclass's order: a `super().m()`
                    // there may run it (a cooperative mixin, `resolve::super_method`).
                    let order = program.ancestors(class);
                    let before = order.iter().position(|ancestor| ancestor == own_class).unwrap_or(0);
                    finding.extend(order[..before].iter().filter_map(|a| program.classes.get_key_value(a.as_str())).map(|(&c, _)| c));
                    stack.extend(program.subclasses(class).iter().copied());
                }
                finding
                    .extend(program.ancestors(own_class).iter().filter_map(|a| program.classes.get_key_value(a.as_str())).map(|(&c, _)| c));
                finding.sort_unstable();
                finding.dedup();
                finding
            }
            None => Vec::new(),
        };
        // Names a call may use directly (a function's name, its classes' names for `__init__`),
        // and for other methods the names of those classes (a file mentioning one may call
        // `Class.m(…)`).
        let mut call_names: BTreeSet<String> = BTreeSet::new();
        let mut class_names: BTreeSet<String> = finding_classes.iter().map(|c| simple(c)).collect();
        let bound_to = self.cache.bound_names.get_or_init(|| {
            let mut index: FxHashMap<String, BTreeSet<String>> = FxHashMap::default();
            for module in &program.modules {
                for (local, qualified) in module.imports.iter().chain(module.aliases.iter()) {
                    // An alias of either of several classes (`Impl = A if X else B`) names each.
                    for candidate in crate::program::alternatives(qualified) {
                        index.entry(candidate.to_string()).or_default().insert(local.clone());
                    }
                }
            }
            index
        });
        call_names.extend(bound_to.get(&info.qualified_name).into_iter().flatten().cloned());
        for class in &finding_classes {
            if **class != *info.qualified_name {
                class_names.extend(bound_to.get(*class).into_iter().flatten().cloned());
            }
        }
        match &info.class {
            None => {
                call_names.insert(own_name.clone());
                // A dispatch table holding the function (`HANDLERS[kind](…)`), under every name
                // it is bound to.
                // Its entries are the literal's and those module-level stores add
                // (`Program::dispatch_table`; a table changed otherwise resolves no call).
                for module in &program.modules {
                    for table in module.dispatch_tables.keys() {
                        let qualified = format!("{}.{table}", module.name);
                        let entries = program.dispatch_table(&qualified).unwrap_or_default();
                        if entries.iter().any(|(_, value)| *value == info.qualified_name) {
                            call_names.insert(table.clone());
                            call_names.extend(bound_to.get(&qualified).into_iter().flatten().cloned());
                        }
                    }
                }
            }
            // `__init__` runs on `Class(…)` as well as on `Class.__init__(…)`.
            Some(_) if !method => call_names.extend(class_names.iter().cloned()),
            Some(_) => {}
        }
        let mut searched: BTreeMap<usize, Vec<&str>> = BTreeMap::new();
        for name in &call_names {
            for &file in self.files_mentioning(name).iter() {
                searched.entry(file).or_default().push(name);
            }
        }
        if info.class.is_none() && info.kind == crate::program::ScopeKind::Function {
            // `getattr(module, "action_" + name)(…)` and `globals()["cmd_" + name](…)` spell no
            // function name: files naming the module (or the module's own file) are searched.
            let module = program.modules[info.module];
            let import_name = simple(&module.name);
            for &file in self.files_mentioning("getattr").iter() {
                if file == module.file || program.files[file].may_mention(&import_name) {
                    searched.entry(file).or_default().push("getattr");
                }
            }
            if self.files_mentioning("globals").contains(&module.file) {
                searched.entry(module.file).or_default().push("globals");
            }
        }
        if info.class.is_some() {
            let class_files: FxHashSet<usize> =
                finding_classes.iter().map(|class| program.modules[program.classes[class].module].file).collect();
            for &file in self.files_mentioning(&own_name).iter() {
                if class_files.contains(&file) || class_names.iter().any(|name| program.files[file].may_mention(name)) {
                    searched.entry(file).or_default().push(&own_name);
                }
            }
            // `getattr(self, "do_" + action)(…)` spells no method name.
            for &file in self.files_mentioning("getattr").iter() {
                if class_files.contains(&file) || class_names.iter().any(|name| program.files[file].may_mention(name)) {
                    searched.entry(file).or_default().push("getattr");
                }
            }
        }
        let mut candidates: BTreeSet<usize> = BTreeSet::new();
        // A lambda held in a table of the function around it (`handlers = {"a": lambda v: …}`;
        // `ir::resolve::table_locals`) is called there, by no name: `handlers[key](…)`.
        if info.kind == ScopeKind::Lambda {
            let around = info.qualified_name.rsplit_once('.').and_then(|(around, _)| program.functions.get(around).copied());
            if let Some(around) = around.filter(|&around| !self.extracted(around).tables.is_empty()) {
                candidates.insert(around);
            }
        }
        for (file, names_here) in searched {
            let text = program.text(file);
            let root = program.files[file].document.root();
            let by_start = self.scopes_by_start(file);
            for name in names_here {
                for at in identifier_occurrences(text, name) {
                    let before = by_start.partition_point(|&(start, _, _)| start <= at);
                    let innermost = by_start[..before].iter().rev().find(|&&(_, end, _)| at < end).map(|&(_, _, s)| s);
                    // Descending from the innermost scope's definition, not the file's root.
                    let within = innermost.map_or(root, |scope| program.scopes[scope].node);
                    let Some(expression) = callee_expression_at(within, text, at, at + name.len()) else { continue };
                    let Some(call) = enclosing_call(expression) else {
                        // A value of a table the scope holds in a local (`{"echo": echo}`,
                        // `ir::resolve::table_locals`): its calls `handlers[key](…)` may run it.
                        if let Some(scope) = innermost.filter(|_| in_table_literal(expression)) {
                            if !self.extracted(scope).tables.is_empty() {
                                candidates.insert(scope);
                            }
                            continue;
                        }
                        // `f = helper`: calls of `f` in that scope may resolve here.
                        if let Some(scope) = innermost.filter(|_| assigned_whole(expression)) {
                            if self.extracted(scope).locals.values().any(|bound| resolve::targets(program, bound, false).contains(&callee))
                            {
                                candidates.insert(scope);
                            }
                        }
                        continue;
                    };
                    // A call in a lambda is a call of the lambda's scope and of each scope
                    // around it whose CFG holds the lambda's region (`cfg::build_scope_cfg`):
                    // up to the innermost function or module body (a class body's lambdas are
                    // its module's or function's, `cfg::build_scope_cfg`).
                    let mut chain: Vec<usize> = Vec::new();
                    for &(_, end, scope) in by_start[..before].iter().rev() {
                        if at < end {
                            chain.push(scope);
                            if program.scopes[scope].kind != ScopeKind::Lambda {
                                break;
                            }
                        }
                    }
                    for scope in chain {
                        if candidates.contains(&scope) {
                            continue;
                        }
                        // `r.m()` and `f()` may resolve through a local bound one way.
                        let through_local = || {
                            let function = call.field(&field::FUNCTION)?;
                            let head = match function.kind() {
                                "identifier" => function,
                                _ => function.field(&field::OBJECT).filter(|o| o.kind() == "identifier")?,
                            };
                            let linked = self.extracted(scope);
                            linked
                                .locals
                                .contains_key(text_of(text, head))
                                .then(|| resolve_call(program, scope, call, Some(&linked.locals), Some(&linked.tables)))
                        };
                        if resolve_call(program, scope, call, None, None).contains(&callee)
                            || through_local().is_some_and(|t| t.contains(&callee))
                        {
                            candidates.insert(scope);
                        }
                    }
                }
            }
        }
        let mut sites = Vec::new();
        for caller in candidates {
            for &(step, call, target) in &self.extracted(caller).calls {
                if target == callee {
                    sites.push((caller, step, call));
                }
            }
        }
        let sites = Arc::new(sites);
        self.cache.callers.borrow_mut().insert(callee, sites.clone());
        sites
    }

    /// How names used in a function resolve (CPython's symtable rules), by scope index.
    fn symbols(&self, scope: usize) -> Option<&BTreeMap<String, SymbolScope>> {
        let program = self.program;
        let info = &program.scopes[scope];
        let file = info.file;
        let tables = self.cache.symbols[file].get_or_init(|| {
            let document = program.files[file].document;
            let tables = symbol_tables(document.text(), document.tree());
            let by_position: HashMap<(usize, &str), usize> = tables
                .iter()
                .enumerate()
                .filter(|(_, t)| t.kind == ScopeType::Function)
                .map(|(index, t)| ((t.line, t.name.as_str()), index))
                .collect();
            let mut result = FxHashMap::default();
            for &s in &self.scopes_of_file[file] {
                let info = &program.scopes[s];
                if info.kind != ScopeKind::Function {
                    continue;
                }
                let name = info.qualified_name.rsplit('.').next().unwrap_or("");
                if let Some(&index) = by_position.get(&(info.node.start_position().row + 1, name)) {
                    result.insert(s, tables[index].symbols.clone());
                }
            }
            result
        });
        tables.get(&scope)
    }

    /// Where a name read in function `scope` is bound when it is not bound there: the module
    /// body for globals (and names the function never mentions, read by a callee at a call),
    /// the enclosing function for free variables.
    fn nonlocal_target(&self, scope: usize, head: &str) -> Option<usize> {
        let program = self.program;
        let info = &program.scopes[scope];
        if info.kind != ScopeKind::Function {
            return None;
        }
        let symbols = self.symbols(scope)?;
        match symbols.get(head) {
            Some(SymbolScope::GlobalImplicit | SymbolScope::GlobalExplicit) | None => self.module_scope[info.module],
            Some(SymbolScope::Free) => info.qualified_name.rsplit_once('.').and_then(|(parent, _)| program.functions.get(parent).copied()),
            _ => None,
        }
    }

    /// What `call` passes for explicit parameter `parameter` of `callee`.
    fn passed(&self, scope: usize, step: usize, callee: usize, call: usize, parameter: usize) -> Passed {
        if self.has_splats(scope, step, call) {
            return Passed::Unknown;
        }
        let position = parameter + usize::from(self.program.scopes[callee].implicit_receiver);
        let bound: Vec<Vec<&str>> =
            self.arguments(scope, step, call, callee).into_iter().filter(|&(at, _, _)| at == position).map(|(_, _, read)| read).collect();
        if bound.is_empty() {
            return Passed::Default;
        }
        Passed::Reads(bound.into_iter().flatten().map(str::to_string).collect())
    }

    /// The classes whose class attribute a read through the receiver of a method of `class`
    /// may find: the class, its bases (in MRO order, `Program::ancestors`) and its subclasses
    /// (the instance may be one), transitively, bounded like `Program::ancestors`.
    fn class_family(&self, class: &str) -> Vec<String> {
        let mut family: Vec<String> = self.program.ancestors(class).to_vec();
        let mut next = 0;
        let mut order = vec![class.to_string()];
        while next < order.len() && order.len() < 64 {
            for subclass in self.program.subclasses(&order[next]) {
                if !order.iter().any(|known| known == subclass) {
                    order.push(subclass.to_string());
                }
            }
            next += 1;
        }
        family.extend(order.into_iter().skip(1));
        family
    }

    /// The class body's definitions of attribute `attribute` of `class` (its module body's
    /// steps defining `C.attribute`, `cfg::build_scope_cfg` inlining class bodies), and the
    /// module scope holding them. A class defined in a function has none found here.
    fn class_attribute_definitions(&self, class: &str, attribute: &str) -> Vec<SliceNode> {
        let Some(info) = self.program.class(class) else { return Vec::new() };
        let Some(module) = self.module_scope[info.module] else { return Vec::new() };
        let Some(prefix) =
            info.qualified_name.strip_prefix(self.program.modules[info.module].name.as_str()).and_then(|p| p.strip_prefix('.'))
        else {
            return Vec::new();
        };
        let path = format!("{prefix}.{attribute}");
        let head = base_of(prefix);
        let definitions = &self.pdg(module).definitions;
        self.definitions_of(module, head)
            .iter()
            .map(|&index| &definitions[index])
            .filter(|definition| {
                definition.path.strip_prefix(path.as_str()).is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
            })
            .filter_map(|definition| Self::definition_node(module, definition))
            .collect()
    }

    /// The attribute a place key reads through the receiver of method `scope` (`self.attr…`,
    /// `cls.attr…`), if it is one.
    fn receiver_attribute<'k>(&self, scope: usize, key: &'k str) -> Option<&'k str> {
        let info = &self.program.scopes[scope];
        if info.kind != ScopeKind::Function || !info.implicit_receiver || info.class.is_none() {
            return None;
        }
        let receiver = info.params.first()?.name.as_str();
        let rest = key.strip_prefix(receiver)?.strip_prefix('.')?;
        Some(rest.split(['.', '[']).next().unwrap_or(rest)).filter(|attribute| !attribute.is_empty())
    }

    /// Data dependences of reads through a method's receiver (`self.attr`, `cls.attr`) on the
    /// class attributes the class family's bodies define (`class_family`): a read of an
    /// instance's attribute finds the class's when the instance has none of its own, so both
    /// the stores into the instance's field and the class body's definitions may reach it.
    fn class_attribute_edges(&self, scope: usize, paths: &[String], edges: &mut Vec<(SliceNode, EdgeKind)>) {
        let attributes: BTreeSet<&str> = paths.iter().filter_map(|path| self.receiver_attribute(scope, path)).collect();
        if attributes.is_empty() {
            return;
        }
        let Some(class) = self.program.scopes[scope].class.as_deref() else { return };
        for member in self.class_family(class) {
            for attribute in &attributes {
                edges.extend(self.class_attribute_definitions(&member, attribute).into_iter().map(|node| (node, EdgeKind::Data)));
            }
        }
    }

    /// The class attributes step `step` of module body `scope` defines, as (class qualified
    /// name, attribute): its definitions `C.attr…` where `C` is a class of the module.
    fn class_attributes_defined(&self, scope: usize, step: usize) -> Vec<(String, String)> {
        let info = &self.program.scopes[scope];
        if info.kind != ScopeKind::Module {
            return Vec::new();
        }
        let module = &self.program.modules[info.module].name;
        let mut found = Vec::new();
        for definition in self.pdg(scope).definitions.iter().filter(|d| d.step == step) {
            let path = definition.path.split('[').next().unwrap_or(&definition.path);
            let parts: Vec<&str> = path.split('.').collect();
            for split in 1..parts.len() {
                let class = format!("{module}.{}", parts[..split].join("."));
                if self.program.class(&class).is_some_and(|c| c.qualified_name == class) {
                    found.push((class, parts[split].to_string()));
                }
            }
        }
        found
    }

    /// Forward: the steps of the class family's methods reading `attribute` through their
    /// receiver (the mirror of `class_attribute_edges`).
    fn class_attribute_readers(&self, class: &str, attribute: &str, edges: &mut Vec<(SliceNode, EdgeKind)>) {
        for member in self.class_family(class) {
            let Some(info) = self.program.class(&member) else { continue };
            let mut methods: Vec<usize> = info.methods.values().copied().collect();
            methods.sort_unstable();
            for method in methods {
                let method_info = &self.program.scopes[method];
                let body = &self.program.text(method_info.file)[method_info.body.byte_range()];
                if identifier_occurrences(body, attribute).is_empty() {
                    continue;
                }
                let uses = &self.pdg(method).uses;
                for (step, used) in uses.iter().enumerate() {
                    let reading: Vec<String> =
                        used.iter().filter(|key| self.receiver_attribute(method, key) == Some(attribute)).cloned().collect();
                    if !reading.is_empty() {
                        edges.push((SliceNode::Step(method, step), EdgeKind::Data));
                        self.arguments_reading(method, step, &reading, edges);
                    }
                }
            }
        }
    }

    /// The slice node of a definition in `scope`: its step, or the parameter it binds.
    fn definition_node(scope: usize, definition: &Definition) -> Option<SliceNode> {
        match (definition.step, definition.parameter) {
            (ENTRY, Some(parameter)) => Some(SliceNode::Param(scope, parameter)),
            (ENTRY, None) => None,
            (other, _) => Some(SliceNode::Step(scope, other)),
        }
    }

    /// Data dependences of `step` on definitions that one of `paths` overlaps, and the
    /// definitions outside the scope of the names among them.
    fn data_edges_for<'a>(&'a self, scope: usize, step: usize, paths: &'a [String], edges: &mut Vec<(SliceNode, EdgeKind)>) {
        let pdg = self.pdg(scope);
        // Paths overlap only when their bases are equal: a step reading the names of a whole
        // call chain (2,000 functions) met every definition reaching it with every path.
        let mut by_base: FxHashMap<&str, Vec<&str>> = FxHashMap::default();
        for path in paths {
            by_base.entry(base_of(path)).or_default().push(path);
        }
        // Reads of the module's classes (`class_read_reaches`), each with whether the step only
        // calls the class.
        let mut classes: FxHashMap<&str, bool> = FxHashMap::default();
        let mut class_read = |module: usize, head: &'a str| -> Option<bool> {
            if let Some(&called) = classes.get(head) {
                return Some(called);
            }
            if !self.module_class(module, head) {
                return None;
            }
            let called = self.only_called(scope, step, head);
            classes.insert(head, called);
            Some(called)
        };
        let module_body = self.program.scopes[scope].kind == ScopeKind::Module;
        for &definition in &pdg.data_dependences[step] {
            let definition = &pdg.definitions[definition];
            let head = base_of(&definition.path);
            let Some(same_base) = by_base.get(head) else { continue };
            let reaches = match class_read(scope, head).filter(|_| module_body) {
                Some(called) => same_base.iter().any(|path| self.class_read_reaches(path, called, &definition.path)),
                None => same_base.iter().any(|path| overlaps(path, &definition.path)),
            };
            if reaches {
                edges.extend(Self::definition_node(scope, definition).map(|node| (node, EdgeKind::Data)));
            }
        }
        if self.program.scopes[scope].kind != ScopeKind::Function {
            return;
        }
        self.class_attribute_edges(scope, paths, edges);
        for used in paths {
            let head = base_of(used);
            // A comprehension's or lambda's own names are never bound outside the scope.
            if self.is_local(scope, head) || is_nested_name(head) {
                continue;
            }
            let Some(target) = self.nonlocal_target(scope, head) else { continue };
            let definitions = &self.pdg(target).definitions;
            let class = class_read(target, head);
            for &definition in self.definitions_of(target, head) {
                let definition = &definitions[definition];
                if class.is_none_or(|called| self.class_read_reaches(used, called, &definition.path)) {
                    edges.extend(Self::definition_node(target, definition).map(|node| (node, EdgeKind::Data)));
                }
            }
        }
    }

    /// Whether a call at `step` of function `scope` reads module globals through its callee
    /// (those calls depend on the callee's `Reads` rather than using the names).
    fn calls_reading_globals(&self, scope: usize, step: usize) -> Vec<usize> {
        let info = &self.program.scopes[scope];
        if info.kind != ScopeKind::Function {
            return Vec::new();
        }
        let calls = self.extracted(scope).calls_at(step).iter();
        calls
            .filter(|&&(_, _, callee)| self.program.scopes[callee].module == info.module && !self.effects(callee).read_globals.is_empty())
            .map(|&(_, _, callee)| callee)
            .collect()
    }

    /// Whether `step` of `scope` reads one of `names` (module globals), itself or through a call.
    fn reads_any_of(&self, scope: usize, step: usize, names: &imbl::OrdSet<std::sync::Arc<str>>) -> bool {
        !names.is_empty()
            && (self.pdg(scope).uses[step].iter().any(|u| names.contains(base_of(u)))
                || !self.calls_reading_globals(scope, step).is_empty())
    }

    /// The nodes `node` depends on.
    fn depends_on(&self, node: SliceNode) -> Vec<(SliceNode, EdgeKind)> {
        let program = self.program;
        let mut edges = Vec::new();
        match node {
            SliceNode::Step(scope, step) => {
                let pdg = self.pdg(scope);
                // Data: definitions in the scope and, for names bound outside it, there.
                self.data_edges_for(scope, step, &pdg.uses[step], &mut edges);
                for &controller in &pdg.graph.control_dependences[step] {
                    edges.push((SliceNode::Step(scope, controller), EdgeKind::Control));
                }
                // Module globals read through calls (see `SliceNode::Reads`).
                edges.extend(self.calls_reading_globals(scope, step).into_iter().map(|callee| (SliceNode::Reads(callee), EdgeKind::Data)));
                // Calls: the callee's return and the callee's steps that define what the call does.
                for &(_, call, callee) in self.extracted(scope).calls_at(step) {
                    edges.push((SliceNode::Return(callee), EdgeKind::ParameterOut));
                    let effects = self.effects(callee);
                    let callee_info = &program.scopes[callee];
                    let mut mutated: Vec<&str> = self
                        .arguments(scope, step, call, callee)
                        .into_iter()
                        .filter(|&(position, _, _)| effects.mutates(position))
                        .map(|(position, _, _)| callee_info.params[position].name.as_str())
                        .collect();
                    // A constructor's `__init__` stores into the new instance the call returns
                    // (no argument is its `self`): those stores define the call's value.
                    let reached = self.extracted(scope).reached.get(&(step, call)).copied().unwrap_or_default();
                    if reached.constructor && callee_info.implicit_receiver && effects.mutates(0) {
                        mutated.extend(callee_info.params.first().map(|param| param.name.as_str()));
                    }
                    let same_module = callee_info.module == program.scopes[scope].module;
                    if mutated.is_empty() && (!same_module || effects.written_globals.is_empty()) {
                        continue;
                    }
                    for definition in self.pdg(callee).definitions.iter() {
                        if definition.step == ENTRY {
                            continue;
                        }
                        let base = base_of(&definition.path);
                        let mutation = mutated.contains(&base) && !(definition.strong && definition.path == base);
                        let global = same_module && effects.written_globals.iter().any(|g| **g == *base);
                        if mutation || global {
                            edges.push((SliceNode::Step(callee, definition.step), EdgeKind::ParameterOut));
                        }
                    }
                }
                // Globals read here get their value at each call of this scope.
                let effects = self.effects(scope);
                if self.reads_any_of(scope, step, &effects.read_globals) {
                    for &(caller, call_step, _) in self.callers(scope).iter() {
                        if program.scopes[caller].module == program.scopes[scope].module {
                            edges.push((SliceNode::Step(caller, call_step), EdgeKind::ParameterIn));
                        }
                    }
                }
            }
            SliceNode::Param(scope, parameter) => {
                for &(caller, call_step, call) in self.callers(scope).iter() {
                    match self.passed(caller, call_step, scope, call, parameter) {
                        Passed::Unknown => edges.push((SliceNode::Step(caller, call_step), EdgeKind::ParameterIn)),
                        Passed::Default => {}
                        Passed::Reads(_) => edges.push((SliceNode::Argument(caller, call_step, scope, parameter), EdgeKind::ParameterIn)),
                    }
                }
            }
            SliceNode::Return(scope) => {
                edges.extend(self.extracted(scope).graph.returns.iter().map(|&step| (SliceNode::Step(scope, step), EdgeKind::Data)));
            }
            SliceNode::Reads(scope) => {
                let info = &program.scopes[scope];
                if let Some(module) = self.module_scope[info.module] {
                    let definitions = &self.pdg(module).definitions;
                    for name in &self.direct_effects(scope).read_globals {
                        // A class is read as its own steps read it (`class_read_reaches`).
                        let reads: Option<Vec<(&str, bool)>> = self.module_class(module, name).then(|| {
                            let uses = &self.extracted(scope).graph.uses;
                            let mut reads: Vec<(&str, bool)> = Vec::new();
                            for (step, used) in uses.iter().enumerate() {
                                for key in used.iter().filter(|key| base_of(key) == &**name) {
                                    let called = key.len() == name.len() && self.only_called(scope, step, name);
                                    if !reads.contains(&(key.as_str(), called)) {
                                        reads.push((key.as_str(), called));
                                    }
                                }
                            }
                            reads
                        });
                        for &definition in self.definitions_of(module, name) {
                            let definition = &definitions[definition];
                            let reached = reads.as_ref().is_none_or(|reads| {
                                reads.iter().any(|&(used, called)| self.class_read_reaches(used, called, &definition.path))
                            });
                            if reached {
                                edges.extend(Self::definition_node(module, definition).map(|node| (node, EdgeKind::Data)));
                            }
                        }
                    }
                }
                for &(_, _, callee) in &self.extracted(scope).calls {
                    if program.scopes[callee].module == info.module && !self.effects(callee).read_globals.is_empty() {
                        edges.push((SliceNode::Reads(callee), EdgeKind::Data));
                    }
                }
            }
            SliceNode::Argument(scope, step, callee, parameter) => {
                let pdg = self.pdg(scope);
                for &controller in &pdg.graph.control_dependences[step] {
                    edges.push((SliceNode::Step(scope, controller), EdgeKind::Control));
                }
                for &(_, call, target) in self.extracted(scope).calls_at(step) {
                    if target != callee {
                        continue;
                    }
                    let read = match self.passed(scope, step, callee, call, parameter) {
                        Passed::Unknown => pdg.uses[step].clone(),
                        Passed::Default => Vec::new(),
                        Passed::Reads(read) => read,
                    };
                    self.data_edges_for(scope, step, &read, &mut edges);
                }
            }
        }
        edges
    }

    /// The nodes that depend on `node`.
    fn dependents_of(&self, node: SliceNode) -> Vec<(SliceNode, EdgeKind)> {
        let program = self.program;
        let mut edges = Vec::new();
        match node {
            SliceNode::Step(scope, step) => {
                let pdg = self.pdg(scope);
                let local = self.dependents_in(scope);
                edges.extend(local.data[step].iter().map(|&s| (SliceNode::Step(scope, s), EdgeKind::Data)));
                let defined_paths: Vec<String> = pdg.definitions.iter().filter(|d| d.step == step).map(|d| d.path.clone()).collect();
                if !defined_paths.is_empty() {
                    for &dependent in &local.data[step] {
                        self.arguments_reading(scope, dependent, &defined_paths, &mut edges);
                    }
                }
                edges.extend(local.control[step].iter().map(|&s| (SliceNode::Step(scope, s), EdgeKind::Control)));
                if self.extracted(scope).graph.returns.binary_search(&step).is_ok() {
                    edges.push((SliceNode::Return(scope), EdgeKind::Data));
                }
                // A call step: the callee's parameters and the callee's reads of globals.
                for &(_, _, callee) in self.extracted(scope).calls_at(step) {
                    let callee_info = &program.scopes[callee];
                    let explicit = callee_info.params.len() - usize::from(callee_info.implicit_receiver);
                    // Parameters are reached through the arguments (below), except when splats
                    // leave the mapping unknown.
                    let splats = self
                        .extracted(scope)
                        .calls_at(step)
                        .iter()
                        .any(|&(_, call, target)| target == callee && self.has_splats(scope, step, call));
                    if splats {
                        edges.extend((0..explicit).map(|p| (SliceNode::Param(callee, p), EdgeKind::ParameterIn)));
                    }
                    let effects = self.effects(callee);
                    if callee_info.module == program.scopes[scope].module && !effects.read_globals.is_empty() {
                        for callee_step in 0..self.pdg(callee).uses.len() {
                            if self.reads_any_of(callee, callee_step, &effects.read_globals) {
                                edges.push((SliceNode::Step(callee, callee_step), EdgeKind::ParameterIn));
                            }
                        }
                    }
                }
                // Class attributes defined here, read through methods' receivers.
                for (class, attribute) in self.class_attributes_defined(scope, step) {
                    self.class_attribute_readers(&class, &attribute, &mut edges);
                }
                // Definitions here that a call makes visible to its caller, or other scopes read.
                let defined: Vec<&str> = pdg.definitions.iter().filter(|d| d.step == step).map(|d| base_of(&d.path)).collect();
                if defined.is_empty() {
                    return edges;
                }
                let info = &program.scopes[scope];
                let effects = self.effects(scope);
                let visible_to_callers = defined.iter().any(|base| {
                    effects.written_globals.iter().any(|g| **g == **base)
                        || effects.mutated.iter().any(|&(p, _)| info.params[p].name == *base)
                });
                if visible_to_callers {
                    for &(caller, call_step, _) in self.callers(scope).iter() {
                        edges.push((SliceNode::Step(caller, call_step), EdgeKind::ParameterOut));
                    }
                }
                // Functions of the same file reading these names as globals or free variables.
                let text = program.text(info.file);
                for &other in &self.scopes_of_file[info.file] {
                    let other_info = &program.scopes[other];
                    if other == scope || other_info.kind != ScopeKind::Function {
                        continue;
                    }
                    let body = &text[other_info.body.byte_range()];
                    let mentioned: Vec<&str> =
                        defined.iter().copied().filter(|name| !identifier_occurrences(body, name).is_empty()).collect();
                    if mentioned.is_empty() {
                        continue;
                    }
                    let other_pdg = self.pdg(other);
                    let module_body = info.kind == ScopeKind::Module;
                    for (other_step, uses) in other_pdg.uses.iter().enumerate() {
                        for used in uses {
                            let head = base_of(used);
                            if mentioned.contains(&head) && self.nonlocal_target(other, head) == Some(scope) {
                                edges.push((SliceNode::Step(other, other_step), EdgeKind::Data));
                                self.arguments_reading(other, other_step, std::slice::from_ref(used), &mut edges);
                                if module_body {
                                    edges.push((SliceNode::Reads(other), EdgeKind::Data));
                                }
                            }
                        }
                    }
                }
            }
            SliceNode::Param(scope, parameter) => {
                let local = self.dependents_in(scope);
                if let Some(steps) = local.parameters.get(parameter) {
                    let name = &program.scopes[scope].params[parameter + usize::from(program.scopes[scope].implicit_receiver)].name;
                    for &dependent in steps {
                        edges.push((SliceNode::Step(scope, dependent), EdgeKind::Data));
                        self.arguments_reading(scope, dependent, std::slice::from_ref(name), &mut edges);
                    }
                }
            }
            SliceNode::Return(scope) => {
                for &(caller, call_step, _) in self.callers(scope).iter() {
                    edges.push((SliceNode::Step(caller, call_step), EdgeKind::ParameterOut));
                }
            }
            SliceNode::Argument(_, _, callee, parameter) => {
                edges.push((SliceNode::Param(callee, parameter), EdgeKind::ParameterIn));
            }
            SliceNode::Reads(scope) => {
                // The calls of the same module's functions that read these globals through it.
                let module = program.scopes[scope].module;
                for &(caller, call_step, _) in self.callers(scope).iter() {
                    let caller_info = &program.scopes[caller];
                    if caller_info.module == module && caller_info.kind == ScopeKind::Function {
                        edges.push((SliceNode::Step(caller, call_step), EdgeKind::Data));
                        edges.push((SliceNode::Reads(caller), EdgeKind::Data));
                    }
                }
            }
        }
        edges
    }

    /// The argument nodes of calls at `step` whose argument reads one of `paths`.
    fn arguments_reading(&self, scope: usize, step: usize, paths: &[String], edges: &mut Vec<(SliceNode, EdgeKind)>) {
        for &(_, call, callee) in self.extracted(scope).calls_at(step) {
            let info = &self.program.scopes[callee];
            let explicit = info.params.len() - usize::from(info.implicit_receiver);
            for parameter in 0..explicit {
                let Passed::Reads(read) = self.passed(scope, step, callee, call, parameter) else { continue };
                if read.iter().any(|r| paths.iter().any(|p| overlaps(r, p))) {
                    edges.push((SliceNode::Argument(scope, step, callee, parameter), EdgeKind::Data));
                }
            }
        }
    }

    /// Two-phase slice from `criteria`.
    pub fn slice(&self, criteria: &[SliceNode], forward: bool, thin: bool) -> BTreeSet<SliceNode> {
        let next_of = |node: SliceNode| if forward { self.dependents_of(node) } else { self.depends_on(node) };
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
            for (next, kind) in next_of(node) {
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
            for (next, kind) in next_of(node) {
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
            SliceNode::Argument(scope, step, _, _) => return self.lines(SliceNode::Step(scope, step)),
            SliceNode::Step(scope, step) => {
                let (first, last) = self.extracted(scope).graph.steps[step].rows()?;
                let base_row = self.program.scopes[scope].body.start_position().row;
                return Some((self.program.scopes[scope].file, (base_row + first + 1..=base_row + last + 1).collect()));
            }
            SliceNode::Param(scope, parameter) => {
                let info = &self.program.scopes[scope];
                let param = info.params.get(parameter + usize::from(info.implicit_receiver))?;
                (scope, param.node)
            }
            SliceNode::Return(_) | SliceNode::Reads(_) => return None,
        };
        let row = node.start_position().row + 1;
        Some((self.program.scopes[scope].file, vec![row]))
    }
}

/// What a call passes for one parameter.
enum Passed {
    /// `*args`/`**kwargs` at the call leave the mapping unknown.
    Unknown,
    /// Nothing: the parameter takes its default.
    Default,
    /// The access paths its argument reads.
    Reads(Vec<String>),
}

/// The expression a call may have as its callee that the occurrence of a name at
/// `start..end` ends: the identifier, `a.name`, or the `getattr(…)` call naming it (the
/// `getattr` identifier itself, or a constant name argument, `getattr(obj, "name")`).
fn callee_expression_at<'t>(root: Node<'t>, text: &str, start: usize, end: usize) -> Option<Node<'t>> {
    let expression = named_expression_at(root, text, start, end)?;
    // `table[key]`, `globals()[name]`: the subscript is the callee.
    Some(expression.parent().filter(|p| p.kind() == "subscript" && p.field(&field::VALUE) == Some(expression)).unwrap_or(expression))
}

/// The expression the occurrence of a name at `start..end` ends (see `callee_expression_at`).
fn named_expression_at<'t>(root: Node<'t>, text: &str, start: usize, end: usize) -> Option<Node<'t>> {
    let node = root.descendant_for_byte_range(start, end)?;
    match node.kind() {
        "identifier" => {
            let parent = node.parent();
            // `a.name`: the identifier is the attribute of an attribute node.
            if let Some(attribute) = parent.filter(|p| p.kind() == "attribute" && p.field(&field::ATTRIBUTE) == Some(node)) {
                return Some(attribute);
            }
            if matches!(text_of(text, node), "getattr" | "globals") {
                if let Some(call) = parent.filter(|p| p.kind() == "call" && p.field(&field::FUNCTION) == Some(node)) {
                    return Some(call);
                }
            }
            Some(node)
        }
        "string_content" if node.start_byte() == start && node.end_byte() == end => {
            let string = node.parent().filter(|p| p.kind() == "string")?;
            let arguments = string.parent().filter(|p| p.kind() == "argument_list" && p.named_child(1) == Some(string))?;
            let call = arguments.parent().filter(|p| p.kind() == "call")?;
            call.field(&field::FUNCTION).is_some_and(|f| text_of(text, f) == "getattr").then_some(call)
        }
        _ => None,
    }
}

/// The call whose callee is `expression`, if any.
fn enclosing_call(expression: Node<'_>) -> Option<Node<'_>> {
    let call = expression.parent().filter(|p| p.kind() == "call")?;
    (call.field(&field::FUNCTION) == Some(expression)).then_some(call)
}

/// Whether `expression` is a value of a dict, list or tuple literal (an entry of a dispatch
/// table: `ir::resolve::table_locals`).
fn in_table_literal(expression: Node<'_>) -> bool {
    let Some(parent) = expression.parent() else { return false };
    match parent.kind() {
        "pair" => parent.field(&field::VALUE) == Some(expression),
        "list" | "tuple" => true,
        _ => false,
    }
}

/// Whether `expression` is the whole right side of an assignment (`f = helper`,
/// `f = module.helper`, `f = getattr(obj, "helper")`).
fn assigned_whole(expression: Node<'_>) -> bool {
    // Or one of the values a conditional assigned whole picks (`f = A if flag else B`, bound to
    // both classes: `ir::resolve::local_references`).
    let mut value = expression;
    while let Some(parent) = value.parent().filter(|p| matches!(p.kind(), "conditional_expression" | "parenthesized_expression")) {
        value = parent;
    }
    value.parent().is_some_and(|p| p.kind() == "assignment" && p.field(&field::RIGHT) == Some(value))
}

/// The innermost scope of `file` containing byte `offset` (functions before the module).
/// Lambdas are not among them: slicing analyses a lambda as a region of the scope around it
/// (`cfg::build_scope_cfg`), where its free names are that scope's variables.
pub fn scope_at(program: &Program<'_>, file: usize, offset: usize) -> Option<usize> {
    program
        .scopes
        .iter()
        .enumerate()
        .filter(|(_, scope)| scope.kind != ScopeKind::Lambda)
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
    /// Access paths cut to their prefix by the depth bound in the scopes the slice holds
    /// nodes of (read whole, defined weakly: more dependences, never fewer) — the bound taint
    /// counts as `Incomplete::places_cut`.
    pub places_cut: usize,
    /// Comprehensions and lambdas nested too deep for their own region in those scopes'
    /// CFGs, each evaluated whole by one step (every name inside read: more dependences,
    /// never fewer; `Cfg::flattened_scopes`).
    pub flattened_scopes: usize,
    /// `finally` blocks nested too deep for a copy per completion in those scopes' CFGs, one
    /// copy shared by several (more paths, never fewer; `Cfg::shared_finally_copies`).
    pub shared_finally_copies: usize,
}

pub fn slice_at(
    program: &Program<'_>,
    path: &str,
    line: usize,
    column: Option<usize>,
    forward: bool,
    thin: bool,
) -> Result<SliceResult, String> {
    slice_at_with_cache(program, path, line, column, forward, thin, &mut SliceCache::default(), &mut IrCache::default(), None)
}

/// `slice_at`, reusing (and extending) what earlier slices found (`cache`; `changed` names the
/// files whose text changed since it was last used, `None` if unknown) and the scopes lowered
/// by any earlier slice whose text is unchanged (`ir`).
#[allow(clippy::too_many_arguments)]
pub fn slice_at_with_cache(
    program: &Program<'_>,
    path: &str,
    line: usize,
    column: Option<usize>,
    forward: bool,
    thin: bool,
    cache: &mut SliceCache,
    ir: &mut IrCache,
    changed: Option<&FxHashSet<String>>,
) -> Result<SliceResult, String> {
    let sdg = Sdg::with_caches(program, std::mem::take(cache), std::mem::take(ir), changed);
    let result = slice_with(&sdg, path, line, column, forward, thin);
    (*cache, *ir) = sdg.into_caches();
    result
}

fn slice_with(sdg: &Sdg<'_, '_>, path: &str, line: usize, column: Option<usize>, forward: bool, thin: bool) -> Result<SliceResult, String> {
    let program = sdg.program;
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
    let graph = &sdg.extracted(scope).graph;
    let base = program.scopes[scope].body.start_byte();
    // Steps on that line (the innermost ones): headers and statements.
    let mut criteria: Vec<SliceNode> = Vec::new();
    for (step, data) in graph.steps.iter().enumerate() {
        if let Some((_, lines)) = sdg.lines(SliceNode::Step(scope, step)) {
            if lines.contains(&(line + 1)) && data.range().is_some_and(|(start, end)| base + start <= line_end && base + end >= line_start)
            {
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
        SliceNode::Step(s, step) => sdg.extracted(*s).graph.steps[*step].range().map_or(usize::MAX, |(start, end)| end - start),
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
                    for &definition in &sdg.pdg(*s).data_dependences[*step] {
                        let definition_data = &sdg.pdg(*s).definitions[definition];
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
                    for &controller in &sdg.pdg(*s).graph.control_dependences[*step] {
                        if !thin {
                            narrowed.push(SliceNode::Step(*s, controller));
                        }
                    }
                }
            }
            let defines_here =
                sdg.pdg(scope).definitions.iter().any(|d| d.path == name && criteria.contains(&SliceNode::Step(scope, d.step)));
            if !narrowed.is_empty() && !defines_here {
                let mut slice = sdg.slice(&narrowed, false, thin);
                slice.extend(criteria.iter().copied());
                return Ok(collect(sdg, &slice, &criteria));
            }
        }
    }
    let slice = sdg.slice(&criteria, forward, thin);
    Ok(collect(sdg, &slice, &criteria))
}

fn collect(sdg: &Sdg<'_, '_>, slice: &BTreeSet<SliceNode>, criteria: &[SliceNode]) -> SliceResult {
    let mut files: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
    for &node in slice {
        if let Some((file, lines)) = sdg.lines(node) {
            files.entry(sdg.program.files[file].path.clone()).or_default().extend(lines);
        }
    }
    let criterion_lines = criteria.iter().filter_map(|&n| sdg.lines(n)).flat_map(|(_, lines)| lines).collect();
    let scopes: BTreeSet<usize> = slice.iter().map(|&node| node.scope()).collect();
    SliceResult {
        files: files.into_iter().map(|(path, lines)| (path, lines.into_iter().collect())).collect(),
        criterion_lines,
        nodes: slice.len(),
        places_cut: scopes.iter().map(|&scope| sdg.pdg(scope).cut_places).sum(),
        flattened_scopes: scopes.iter().map(|&scope| sdg.pdg(scope).graph.flattened_scopes).sum(),
        shared_finally_copies: scopes.iter().map(|&scope| sdg.pdg(scope).graph.shared_finally_copies).sum(),
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::program::build_parts;
    use crate::scan::load_documents;

    /// The names a constructor call keeps (`Sdg::class_read_reaches`): attributes read off
    /// anything but a method's receiver, stored too, or named by a string; not `self.x`/`cls.x`.
    #[test]
    fn instance_read_names_are_those_read_off_other_objects_than_the_receiver() {
        let text = "v = obj.limit + self.scale + cls.offset + self.part.base\nc.depth = 1\ngetattr(o, \"title\") + Config .\\\n  root + 'a b' + x.2\n";
        let names = instance_read_names(text);
        assert_eq!(names.iter().map(|n| &**n).collect::<Vec<&str>>(), ["base", "depth", "limit", "root", "title"]);
    }

    /// Lowered scopes are kept across edits by their text: after an edit inside one method,
    /// slicing again lowers that method (and the module body, whose text holds it) and reuses
    /// the other method; the result equals a slice from scratch.
    #[test]
    fn an_edit_relowers_only_the_scopes_whose_text_changed() {
        let before = "class C:\n    def f(self, x):\n        y = self.g(x)\n        return y\n\n    def g(self, v):\n        w = v + 1\n        return w\n";
        let after = before.replace("w = v + 1", "w = v + 2\n        w = w * 3");
        let slice = |text: &str, ir: &mut IrCache| {
            let document = crate::parse::Document::new(text.to_string());
            let parts = build_parts(vec![("app.py".to_string(), &document)]);
            let program = Program::from_parts(&parts);
            slice_at_with_cache(&program, "app.py", 3, None, false, false, &mut SliceCache::default(), ir, None).expect("slices").files
        };
        let mut ir = IrCache::default();
        slice(before, &mut ir);
        // The module body (whose text holds the class), f and g.
        assert_eq!(ir.lowered, 3);
        let incremental = slice(&after, &mut ir);
        assert_eq!(ir.lowered, 5, "g and the module body holding it lowered again, f reused");
        assert_eq!(incremental, slice(&after, &mut IrCache::default()));
        // `self.g` reads the class attribute `g` (its `def`), whose class body runs with the
        // class statement (line 1).
        assert_eq!(incremental["app.py"], vec![1, 2, 3, 4, 6, 7, 8, 9]);
    }

    /// The demand-driven caller search finds exactly the call sites that resolving every call
    /// of every scope finds, on the shared fixture corpora (imports, aliases, methods, classes).
    #[test]
    fn callers_found_by_spelling_equal_callers_found_by_resolving_everything() {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures");
        // FLOWSIGHT_CALLERS_CORPUS=DIR checks a corpus of your own as well (e.g. Django).
        let extra = std::env::var_os("FLOWSIGHT_CALLERS_CORPUS").map(PathBuf::from);
        // `taint/crossfile` as a root of its own too: its packages import one another by the
        // package's name (`pkg_mixin.audit`), which resolves only there.
        let corpora: Vec<PathBuf> =
            [fixtures.join("slice"), fixtures.join("taint"), fixtures.join("taint/crossfile")].into_iter().chain(extra).collect();
        for root in corpora {
            let corpus = root.display().to_string();
            let (documents, _) = load_documents(std::slice::from_ref(&root), &root);
            let parts = build_parts(documents.iter().map(|(path, document)| (path.clone(), document)).collect());
            let program = Program::from_parts(&parts);
            let sdg = Sdg::new(&program);
            let mut expected: BTreeMap<usize, BTreeSet<(usize, usize)>> = BTreeMap::new();
            for scope in 0..program.scopes.len() {
                for &(step, _, callee) in &sdg.extracted(scope).calls {
                    expected.entry(callee).or_default().insert((scope, step));
                }
            }
            let mut checked = 0;
            for callee in 0..program.scopes.len() {
                let found: BTreeSet<(usize, usize)> = sdg.callers(callee).iter().map(|&(scope, step, _)| (scope, step)).collect();
                let wanted = expected.remove(&callee).unwrap_or_default();
                let missing: Vec<String> = wanted
                    .difference(&found)
                    .flat_map(|&(scope, step)| {
                        let text = program.text(program.scopes[scope].file);
                        let linked = sdg.extracted(scope);
                        let base = program.scopes[scope].body.start_byte();
                        linked
                            .calls_at(step)
                            .iter()
                            .filter(|&&(_, _, c)| c == callee)
                            .map(|&(_, call, _)| {
                                let (start, end) = linked.graph.call_sites[step][call].range;
                                format!("{}: {}", program.scopes[scope].qualified_name, &text[base + start..base + end])
                            })
                            .collect::<Vec<_>>()
                    })
                    .collect();
                assert_eq!(found, wanted, "{}: missing {missing:?}", program.scopes[callee].qualified_name);
                checked += usize::from(!found.is_empty());
            }
            assert!(checked > 3, "{corpus}: only {checked} scopes with callers");
        }
    }

    /// The CFG's bounds met in the scopes a slice holds are counted in its result: a lambda
    /// nested past `cfg::MAX_NESTED_SCOPES` (read whole, so the parameter stays in the slice)
    /// and `finally` blocks nested past `cfg::MAX_FINALLY_COPY_DEPTH` (one shared copy); a
    /// slice of a scope meeting neither counts none.
    #[test]
    fn slices_count_the_cfg_bounds_their_scopes_met() {
        let lambdas = "lambda: ".repeat(crate::cfg::MAX_NESTED_SCOPES + 4);
        let mut finally = String::from("def h(a):\n");
        for level in 0..6 {
            let indent = "    ".repeat(level + 1);
            finally.push_str(&format!("{indent}try:\n{indent}    if a():\n{indent}        return a\n{indent}finally:\n"));
        }
        finally.push_str(&format!("{}a = 1\n    return a\n", "    ".repeat(7)));
        let source = format!("def f(v):\n    g = {lambdas}v\n    return g\n\ndef plain(x):\n    y = x\n    return y\n\n{finally}");
        let document = crate::parse::Document::new(source.clone());
        let parts = build_parts(vec![("app.py".to_string(), &document)]);
        let program = Program::from_parts(&parts);
        let nested = slice_at(&program, "app.py", 2, None, false, false).expect("a slice");
        assert_eq!(nested.files["app.py"], vec![1, 2, 3]);
        assert_eq!((nested.flattened_scopes, nested.shared_finally_copies), (1, 0));
        let plain = slice_at(&program, "app.py", 6, None, false, false).expect("a slice");
        assert_eq!((plain.flattened_scopes, plain.shared_finally_copies, plain.places_cut), (0, 0, 0));
        let last = source.lines().count() - 1;
        let shared = slice_at(&program, "app.py", last, None, false, false).expect("a slice");
        assert!(shared.shared_finally_copies > 0, "{shared:?}");
        assert_eq!(shared.flattened_scopes, 0);
    }
}
