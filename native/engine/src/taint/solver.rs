//! The summary solver: callee summaries before their callers, by level of the call graph's
//! condensation; fixpoint iteration only inside recursive components.
//!
//! Invariants:
//! - No round cap. A run is a sequence of sweeps; a sweep analyses its dirty scopes level by
//!   level (level 0: components that call nothing outside themselves), so a call chain of any
//!   depth settles in one sweep once its edges are known. A caller found through an edge the
//!   levels did not know yet (calls resolved through a callee's summary) waits for the next
//!   sweep, which recomputes the levels.
//! - Termination by construction: inside a recursive component, from its `WIDEN_AFTER`-th
//!   iteration on, and for any scope analysed more than `WIDEN_AFTER_ANALYSES` times in a run,
//!   a new summary is joined with the old one (`widen`): it can then only grow, and summaries
//!   are drawn from finite sets (parameters, sink kinds, cleared kinds, places of the program).
//!   Widening errs toward more taint (union of flows, intersection of clearances).
//! - A recursive component with a dirty member is solved again from empty summaries, so an
//!   incremental run reaches the same (least) fixpoint as a run from scratch. Its first round
//!   analyses every member at once; later rounds run in stages, callees first along the calls
//!   a depth-first search keeps (`stages`), so a change climbs a call chain in one round.

use std::collections::HashSet;

use petgraph::graph::{DiGraph, NodeIndex};
use rustc_hash::FxHashMap;

use super::lattice::TraceStep;
use super::on_demand::{OnDemand, SummaryTable};
use super::summary::ParamSink;
use super::{analyze_scope, Env, Incomplete, RawFinding, Summary};
use super::{busy, schedule};
use crate::program::Program;
use crate::rules::RuleSet;

/// Rounds of a recursive component after which its summaries only grow.
const WIDEN_AFTER: usize = 3;
/// Analyses of one scope in one run after which its summary only grows (edges found late).
const WIDEN_AFTER_ANALYSES: u32 = 8;
/// Expected seconds of a scope's first analysis per byte of its body (sympy: ≈ 80 µs for a
/// function of ≈ 600 bytes). Only the order in which a batch starts its analyses depends on it.
const SECONDS_PER_BYTE: f64 = 1.3e-7;
/// Sweeps are expected to be few (2–4 on Django); past this many the run stops and says so.
/// Never reached on any corpus measured; kept so that a bug cannot hang the server.
const MAX_SWEEPS: usize = 1000;

/// The call graph's strongly connected components (callee edges from the summaries) with
/// their levels.
pub(super) struct Levels {
    /// Component of each scope.
    pub component: Vec<usize>,
    /// Level of each scope: 0 if its component calls nothing outside itself, else one more
    /// than the highest level of a component it calls.
    pub level: Vec<usize>,
    /// Members of each component.
    pub members: Vec<Vec<usize>>,
    /// Whether a component is recursive (more than one member, or a member calling itself).
    pub recursive: Vec<bool>,
}

/// Levels of the call graph restricted to `region` (sorted scopes, closed under callers: every
/// caller of a member is a member, so a member's component lies inside it). Scopes outside the
/// region get no component (`usize::MAX`) and level 0; within it, a callee's level is below
/// its callers', as over the whole graph.
pub(super) fn call_graph_levels(summaries: &[Summary], region: &[usize]) -> Levels {
    let count = summaries.len();
    let mut node_of: FxHashMap<usize, usize> = FxHashMap::default();
    let mut graph: DiGraph<(), ()> = DiGraph::with_capacity(region.len(), 0);
    for (node, &scope) in region.iter().enumerate() {
        graph.add_node(());
        node_of.insert(scope, node);
    }
    let mut recursive_scope = vec![false; region.len()];
    for (node, &caller) in region.iter().enumerate() {
        for &callee in &summaries[caller].resolved_callees {
            if callee == caller {
                recursive_scope[node] = true;
            } else if let Some(&target) = node_of.get(&callee) {
                graph.add_edge(NodeIndex::new(node), NodeIndex::new(target), ());
            }
        }
    }
    // Tarjan's algorithm yields components callees first (reverse topological order).
    let components = petgraph::algo::tarjan_scc(&graph);
    let mut component = vec![usize::MAX; count];
    let mut members = Vec::with_capacity(components.len());
    let mut recursive = Vec::with_capacity(components.len());
    for (index, nodes) in components.iter().enumerate() {
        let scopes: Vec<usize> = nodes.iter().map(|node| region[node.index()]).collect();
        for &scope in &scopes {
            component[scope] = index;
        }
        recursive.push(scopes.len() > 1 || recursive_scope[nodes[0].index()]);
        members.push(scopes);
    }
    let mut component_level = vec![0usize; members.len()];
    for (index, scopes) in members.iter().enumerate() {
        let mut level = 0;
        for &scope in scopes {
            for &callee in &summaries[scope].resolved_callees {
                let callee_component = component.get(callee).copied().unwrap_or(usize::MAX);
                if callee_component != usize::MAX && callee_component != index {
                    level = level.max(component_level[callee_component] + 1);
                }
            }
        }
        component_level[index] = level;
    }
    let level = component.iter().map(|&c| if c == usize::MAX { 0 } else { component_level[c] }).collect();
    Levels { component, level, members, recursive }
}

/// Whether a scope's new summary is joined with its old one (`widen`): from round
/// `WIDEN_AFTER + 1` of a component solved from empty summaries (`component_round`), or past
/// `WIDEN_AFTER_ANALYSES` analyses of the scope in the run.
pub(super) fn widening_due(component_round: Option<usize>, analyses: u32) -> bool {
    component_round.is_some_and(|round| round > WIDEN_AFTER) || analyses > WIDEN_AFTER_ANALYSES
}

/// `widen(old, new)` with its fields compacted again (the union may hold a parameter's fields
/// past the bound again), counted in `incomplete`.
pub(super) fn widened_summary(old: &Summary, new: Summary, incomplete: &mut Incomplete) -> Summary {
    let mut summary = widen(old, new);
    incomplete.fields_collapsed += super::fields::compact_fields(&mut summary);
    summary
}

/// `old ⊔ new`: every flow of either, the clearances of both, the shorter trace of two equal
/// flows — the old one when they are as long, so that once widening starts, the places shown
/// (which `differs` compares) change only when a strictly shorter path appears: finitely often.
pub(super) fn widen(old: &Summary, mut new: Summary) -> Summary {
    for entry in &old.param_returns {
        match new.param_returns.iter_mut().find(|(p, c, n, _)| (*p, *c, *n) == (entry.0, entry.1, entry.2)) {
            Some(existing) => {
                if entry.3.len() <= existing.3.len() {
                    existing.3 = entry.3.clone();
                }
            }
            None => new.param_returns.push(entry.clone()),
        }
    }
    for label in &old.source_returns {
        match new.source_returns.iter_mut().find(|existing| existing.key() == label.key()) {
            Some(existing) => {
                if label.trace.rank() <= existing.trace.rank() {
                    *existing = label.clone();
                }
            }
            None => new.source_returns.push(label.clone()),
        }
    }
    for sink in &old.param_sinks {
        let same =
            |s: &ParamSink| (s.param, s.kind, s.cwe, s.cleared, s.sink) == (sink.param, sink.kind, sink.cwe, sink.cleared, sink.sink);
        match new.param_sinks.iter_mut().find(|existing| same(existing)) {
            Some(existing) => {
                if sink.steps.len() <= existing.steps.len() {
                    *existing = sink.clone();
                }
            }
            None => new.param_sinks.push(sink.clone()),
        }
    }
    new.returns_stringy |= old.returns_stringy;
    // Returning is the side with more edges (more taint): once either returns, both do.
    new.never_returns &= old.never_returns;
    if new.returns_reference != old.returns_reference {
        new.returns_reference = None;
    }
    // Clearances hold only where both summaries establish them.
    new.param_effects = new
        .param_effects
        .iter()
        .filter_map(|(param, suffix, kinds)| {
            let common = old.param_effects.iter().filter(|(p, s, _)| p == param && s == suffix).fold(0, |acc, (_, _, k)| acc | k) & kinds;
            (common != 0).then(|| (*param, suffix.clone(), common))
        })
        .collect();
    new.guards_when_true = new
        .guards_when_true
        .iter()
        .filter_map(|(param, kinds)| {
            let common = old.guards_when_true.iter().filter(|(p, _)| p == param).fold(0, |acc, (_, k)| acc | k) & kinds;
            (common != 0).then_some((*param, common))
        })
        .collect();
    for flow in &old.param_flows {
        if !new.param_flows.contains(flow) {
            new.param_flows.push(flow.clone());
        }
    }
    for entry in &old.param_flow_steps {
        let same = |e: &(usize, String, usize, Vec<TraceStep>)| (e.0, &e.1, e.2) == (entry.0, &entry.1, entry.2);
        match new.param_flow_steps.iter_mut().find(|existing| same(existing)) {
            Some(existing) => {
                if entry.3.len() <= existing.3.len() {
                    existing.3 = entry.3.clone();
                }
            }
            None => new.param_flow_steps.push(entry.clone()),
        }
    }
    // A set union (sorted, as `collect_exports` leaves them), not a search per entry.
    new.param_exports.extend(old.param_exports.iter().cloned());
    new.param_exports.sort_unstable();
    new.param_exports.dedup();
    for export in &old.exports {
        match new.exports.iter_mut().find(|e| e.owner == export.owner && e.by_owner == export.by_owner && e.path == export.path) {
            Some(existing) => existing.value.absorb(&export.value),
            None => new.exports.push(export.clone()),
        }
    }
    new.resolved_callees.extend(old.resolved_callees.iter().copied());
    new.resolved_callees.sort_unstable();
    new.resolved_callees.dedup();
    new.reads.extend(old.reads.iter().copied());
    new.reads.sort_unstable();
    new.reads.dedup();
    new.lookups.extend(old.lookups.iter().copied());
    new.lookups.sort_unstable();
    new.lookups.dedup();
    new.sort_entries();
    new
}

/// Whether callers must see `new` instead of `old`: what flows where, or the places shown.
fn differs(old: &Summary, new: &Summary) -> bool {
    old.signature() != new.signature() || old.places() != new.places()
}

#[cfg(test)]
thread_local! {
    /// Tests compare the staged rounds with rounds of one batch each (every member against the
    /// summaries of the round before): the same fixpoint.
    static ONE_BATCH_PER_ROUND: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether rounds after a component's first run their members in stages (`stages`).
pub(super) fn staged_rounds() -> bool {
    #[cfg(test)]
    return !ONE_BATCH_PER_ROUND.with(std::cell::Cell::get);
    #[cfg(not(test))]
    true
}

/// The solver's working state over one run.
pub(super) struct Solver<'a, 'p, 't> {
    pub program: &'a Program<'t>,
    pub rules: &'p RuleSet,
    pub enclosing: &'a rustc_hash::FxHashSet<u64>,
    pub entries: &'a crate::frameworks::EntryPoints,
    pub summaries: &'a mut [Summary],
    pub raw: &'a mut [Vec<RawFinding>],
    pub incomplete: &'a mut [Incomplete],
    pub callers: &'a mut [HashSet<usize>],
    /// Analyses of each scope in this run.
    analyses: Vec<u32>,
    /// Parallel batches of analyses run.
    pub batches: usize,
    pub sweeps: usize,
    /// Scope analyses run.
    pub analysed: usize,
    /// Summaries joined with their previous value to guarantee termination.
    pub widened: usize,
    /// Whether the run stopped at `MAX_SWEEPS` with scopes still dirty.
    pub unfinished: bool,
    /// Whether the first sweep analyses callees on demand (`on_demand`): a run from scratch,
    /// whose summaries are all empty and whose call edges are all unknown.
    pub on_demand_first_sweep: bool,
    /// With `FLOWSIGHT_DEBUG_ANALYSIS`: seconds spent analysing each scope in this run.
    seconds: Vec<f64>,
    /// Wall seconds of each scope's last analysis in this run (0: none yet): what a batch
    /// expects it to cost, to start the costliest first (`schedule`).
    last_cost: Vec<f32>,
    /// With `FLOWSIGHT_DEBUG_ANALYSIS`: how the pool's cores were used, per batch.
    log: busy::Log,
}

/// One scope's analysis in a batch, with what the solver decides from it computed beside it
/// on the pool (they read only the summaries as they were before the batch).
struct Analysed {
    scope: usize,
    summary: Summary,
    findings: Vec<RawFinding>,
    incomplete: Incomplete,
    /// Whether the summary was joined with its previous value (`widen`).
    widened: bool,
    /// Whether callers must see the new summary.
    changed: bool,
    /// Whether the old or the new summary stores into module state or closures.
    exports: bool,
    /// Thread CPU seconds of the analysis (with `FLOWSIGHT_DEBUG_ANALYSIS`, else 0).
    cpu: f64,
}

impl<'a, 'p, 't> Solver<'a, 'p, 't> {
    pub fn new(
        program: &'a Program<'t>,
        rules: &'p RuleSet,
        // Functions enclosing others (`env::enclosing_functions`) and the entry points.
        (enclosing, entries): (&'a rustc_hash::FxHashSet<u64>, &'a crate::frameworks::EntryPoints),
        summaries: &'a mut [Summary],
        raw: &'a mut [Vec<RawFinding>],
        incomplete: &'a mut [Incomplete],
        callers: &'a mut [HashSet<usize>],
    ) -> Self {
        let count = summaries.len();
        Solver {
            program,
            rules,
            enclosing,
            entries,
            summaries,
            raw,
            incomplete,
            callers,
            analyses: vec![0; count],
            batches: 0,
            sweeps: 0,
            analysed: 0,
            widened: 0,
            unfinished: false,
            on_demand_first_sweep: false,
            seconds: if super::debug_analysis() { vec![0.0; count] } else { Vec::new() },
            last_cost: vec![0.0; count],
            log: busy::Log::default(),
        }
    }

    /// With `FLOWSIGHT_DEBUG_ANALYSIS`: the scopes that took longest, with their analyses and
    /// summary sizes, to stderr.
    pub fn report_costliest(&self, count: usize) {
        let entries = |f: fn(&Summary) -> usize| self.summaries.iter().map(f).sum::<usize>();
        fn field(param: usize) -> bool {
            super::summary::field_of(param).is_some()
        }
        eprintln!(
            "summary entries: {} param returns ({} of fields), {} param sinks ({}), {} param exports ({}), {} exports, {} trace steps",
            entries(|s| s.param_returns.len()),
            entries(|s| s.param_returns.iter().filter(|r| field(r.0)).count()),
            entries(|s| s.param_sinks.len()),
            entries(|s| s.param_sinks.iter().filter(|r| field(r.param)).count()),
            entries(|s| s.param_exports.len()),
            entries(|s| s.param_exports.iter().filter(|r| field(r.0)).count()),
            entries(|s| s.exports.len()),
            entries(
                |s| s.param_returns.iter().map(|r| r.3.len()).sum::<usize>() + s.param_sinks.iter().map(|r| r.steps.len()).sum::<usize>()
            )
        );
        self.log.report(rayon::current_num_threads());
        let mut scopes: Vec<usize> = (0..self.seconds.len()).collect();
        scopes.sort_by(|&a, &b| self.seconds[b].total_cmp(&self.seconds[a]));
        for &scope in scopes.iter().take(count) {
            let summary = &self.summaries[scope];
            eprintln!(
                "{:8.3}s {:4} analyses {} (returns {}, sinks {}, flows {}, exports {}, param exports {})",
                self.seconds[scope],
                self.analyses[scope],
                self.program.scopes[scope].qualified_name,
                summary.param_returns.len() + summary.source_returns.len(),
                summary.param_sinks.len(),
                summary.param_flows.len(),
                summary.exports.len(),
                summary.param_exports.len()
            );
        }
    }

    /// Scopes analysed at least once in this run.
    /// The scopes analysed at least once (the only ones whose summaries and findings it wrote).
    pub fn analysed_scopes(&self) -> Vec<usize> {
        (0..self.analyses.len()).filter(|&scope| self.analyses[scope] > 0).collect()
    }

    pub fn distinct_analysed(&self) -> usize {
        self.analyses.iter().filter(|&&count| count > 0).count()
    }

    /// Solves until no scope is dirty. `env_changes` is asked after every sweep (and once
    /// before the first if `dirty` is empty) for the scopes that read env entries that changed.
    pub fn solve(
        &mut self,
        mut dirty: Vec<usize>,
        mut env: Env,
        mut env_changes: impl FnMut(&[Summary], &Env) -> (Env, Vec<usize>),
    ) -> Env {
        let mut check_env = true;
        loop {
            let mut next = Vec::new();
            if !dirty.is_empty() {
                if self.sweeps >= MAX_SWEEPS {
                    self.unfinished = true;
                    break;
                }
                self.sweeps += 1;
                next = if self.sweeps == 1 && self.on_demand_first_sweep {
                    self.sweep_on_demand(&env, dirty, &mut check_env)
                } else {
                    self.sweep(&env, dirty, &mut check_env)
                };
            }
            let between = std::time::Instant::now();
            if check_env {
                check_env = false;
                let (current, readers) = env_changes(self.summaries, &env);
                next.extend(readers);
                env = current;
            }
            next.sort_unstable();
            next.dedup();
            self.log.between += between.elapsed().as_secs_f64();
            if next.is_empty() {
                break;
            }
            dirty = next;
        }
        env
    }

    /// One pass over the levels; returns the scopes dirty for the next sweep.
    fn sweep(&mut self, env: &Env, dirty: Vec<usize>, check_env: &mut bool) -> Vec<usize> {
        let timer = std::time::Instant::now();
        // Only the dirty scopes and their callers, transitively, can be analysed in this sweep.
        let mut in_region = vec![false; self.summaries.len()];
        let mut region: Vec<usize> = Vec::new();
        let mut stack = dirty.clone();
        while let Some(scope) = stack.pop() {
            if !std::mem::replace(&mut in_region[scope], true) {
                region.push(scope);
                stack.extend(self.callers[scope].iter().copied());
            }
        }
        region.sort_unstable();
        let levels = call_graph_levels(self.summaries, &region);
        if super::debug_analysis() {
            eprintln!("levels of {} scopes: {:?}", region.len(), timer.elapsed());
            // The recursive components the levels hold: how many, their members, the largest.
            let mut sizes: Vec<usize> =
                (0..levels.members.len()).filter(|&c| levels.recursive[c]).map(|c| levels.members[c].len()).collect();
            sizes.sort_unstable_by(|a, b| b.cmp(a));
            eprintln!(
                "recursive components: {} ({} scopes), largest {:?}",
                sizes.len(),
                sizes.iter().sum::<usize>(),
                &sizes[..sizes.len().min(6)]
            );
            self.log.between += timer.elapsed().as_secs_f64();
        }
        let top = levels.level.iter().copied().max().unwrap_or(0);
        let mut pending: Vec<Vec<usize>> = vec![Vec::new(); top + 1];
        for scope in dirty {
            pending[levels.level[scope]].push(scope);
        }
        let mut next_sweep = Vec::new();
        for level in 0..=top {
            let mut work = std::mem::take(&mut pending[level]);
            if work.is_empty() {
                continue;
            }
            work.sort_unstable();
            work.dedup();
            // Recursive components with a dirty member start again from empty summaries.
            let mut before: FxHashMap<usize, Summary> = FxHashMap::default();
            let mut reset: HashSet<usize> = HashSet::new();
            for &scope in &work {
                let component = levels.component[scope];
                if levels.recursive[component] && reset.insert(component) {
                    for &member in &levels.members[component] {
                        before.insert(member, std::mem::take(&mut self.summaries[member]));
                    }
                }
            }
            for &component in &reset {
                work.extend(levels.members[component].iter().copied());
            }
            work.sort_unstable();
            work.dedup();
            let mut iteration = 0;
            while !work.is_empty() {
                iteration += 1;
                let mut again = Vec::new();
                // A round: the first analyses every member against empty summaries at once; a
                // later one runs its members in stages, each after the members it calls
                // (`stages`), so a change travels up a component's call chains in one round.
                let stage_of =
                    if iteration == 1 || !staged_rounds() { FxHashMap::default() } else { stages(&work, &levels, self.summaries) };
                let mut staged: Vec<Vec<usize>> = vec![Vec::new(); stage_of.values().max().map_or(1, |&top| top + 1)];
                for &scope in &work {
                    staged[stage_of.get(&scope).copied().unwrap_or(0)].push(scope);
                }
                let mut stage = 0;
                while stage < staged.len() {
                    let mut work = std::mem::take(&mut staged[stage]);
                    work.sort_unstable();
                    work.dedup();
                    if work.is_empty() {
                        stage += 1;
                        continue;
                    }
                    let timed = super::debug_analysis();
                    if timed {
                        eprintln!(
                            "batch {}: {:?}",
                            self.batches + 1,
                            work.iter().map(|&s| &self.program.scopes[s].qualified_name).collect::<Vec<_>>()
                        );
                    }
                    let started = std::time::Instant::now();
                    let (results, spans) = self.analyse(env, &work, &before, iteration, started);
                    let (analysed, serial_cpu) = (std::time::Instant::now(), timed.then(busy::thread_cpu));
                    // Every new call edge first: a callee's change reaches callers analysed with it.
                    for Analysed { scope, summary, .. } in &results {
                        for &callee in &summary.resolved_callees {
                            if callee < self.callers.len() {
                                self.callers[callee].insert(*scope);
                            }
                        }
                    }
                    let (scopes, mut cpu, mut longest) = (results.len(), 0.0f64, 0.0f64);
                    // What the batch replaced, freed on the pool while the next batch runs (large
                    // summaries took the calling thread's time between batches).
                    let mut retired = Vec::with_capacity(results.len());
                    for Analysed { scope, summary, findings, incomplete, widened, changed, exports, cpu: seconds } in results {
                        cpu += seconds;
                        longest = longest.max(seconds);
                        *check_env |= exports;
                        self.widened += usize::from(widened);
                        let component = levels.component[scope];
                        let in_reset = before.contains_key(&scope);
                        retired.push((
                            std::mem::replace(&mut self.summaries[scope], summary),
                            std::mem::replace(&mut self.raw[scope], findings),
                        ));
                        self.incomplete[scope] = incomplete;
                        if !changed {
                            continue;
                        }
                        for &caller in self.callers[scope].iter() {
                            if levels.component[caller] == component {
                                // A member whose stage is still to come in this round sees it there.
                                match stage_of.get(&caller) {
                                    Some(&later) if later > stage => staged[later].push(caller),
                                    _ => again.push(caller),
                                }
                            } else if !in_reset {
                                schedule(caller, level, &levels, &mut pending, &mut next_sweep);
                            }
                        }
                    }
                    rayon::spawn(move || drop(retired));
                    if timed {
                        let wall = analysed.duration_since(started).as_secs_f64();
                        let (preempted, tail, imbalance) = busy::where_idle(&spans, rayon::current_num_threads(), wall);
                        self.log.batches.push(busy::Batch {
                            sweep: self.sweeps,
                            level,
                            iteration,
                            scopes,
                            wall,
                            cpu,
                            longest,
                            serial: serial_cpu.map_or(0.0, |cpu| busy::thread_cpu() - cpu),
                            preempted,
                            tail,
                            imbalance,
                        });
                    }
                    stage += 1;
                }
                again.sort_unstable();
                again.dedup();
                work = again;
            }
            // A solved component's callers outside it see its summaries once they settled.
            let mut settled: Vec<(usize, Summary)> = before.into_iter().collect();
            settled.sort_unstable_by_key(|(scope, _)| *scope);
            for (scope, old) in settled {
                if differs(&old, &self.summaries[scope]) {
                    for &caller in self.callers[scope].iter() {
                        if levels.component[caller] != levels.component[scope] {
                            schedule(caller, level, &levels, &mut pending, &mut next_sweep);
                        }
                    }
                }
            }
        }
        next_sweep
    }

    /// The first sweep of a run from scratch: every scope of `work` analysed once, a callee
    /// before its caller where the caller reads it first (`on_demand`). Returns the scopes whose
    /// analysis read a summary still being analysed: the next sweep analyses them again.
    fn sweep_on_demand(&mut self, env: &Env, mut work: Vec<usize>, check_env: &mut bool) -> Vec<usize> {
        work.sort_unstable();
        work.dedup();
        let timed = super::debug_analysis();
        let started = std::time::Instant::now();
        self.batches += 1;
        self.analysed += work.len();
        let program = self.program;
        let table = OnDemand::new(program, self.rules, (self.entries, env, self.enclosing), self.summaries, &work);
        let expected = |&scope: &usize| {
            let body = program.scopes[scope].body;
            (body.end_byte() - body.start_byte()) as f64 * SECONDS_PER_BYTE
        };
        let spans: Vec<Option<busy::Span>> = schedule::run_batch(&work, expected, |&scope| {
            let begun = timed.then(|| (std::time::Instant::now(), busy::thread_cpu()));
            table.analyse_root(scope);
            begun.map(|(wall, cpu)| busy::Span {
                thread: rayon::current_thread_index().unwrap_or(0),
                start: wall.duration_since(started).as_secs_f64(),
                end: started.elapsed().as_secs_f64(),
                cpu: busy::thread_cpu() - cpu,
            })
        });
        if timed {
            let reads = &table.counts;
            let count = |counter: &std::sync::atomic::AtomicUsize| counter.load(std::sync::atomic::Ordering::Relaxed);
            eprintln!(
                "on-demand sweep: {} components solved ({} members); {} reads waited {} ms for other threads; stale reads: {} on the own stack, {} of other threads' analyses, {} too deep",
                count(&reads.components),
                count(&reads.members),
                count(&reads.waits),
                count(&reads.waited_micros) / 1000,
                count(&reads.own_stack),
                count(&reads.other_thread),
                count(&reads.too_deep)
            );
        }
        let wall = started.elapsed().as_secs_f64();
        let serial_started = timed.then(busy::thread_cpu);
        let mut next_sweep = Vec::new();
        let mut retired = Vec::with_capacity(work.len());
        let (mut cpu, mut longest) = (0.0f64, 0.0f64);
        for (scope, done) in table.into_results() {
            let done = *done;
            self.analyses[scope] += done.analyses;
            self.analysed += done.analyses as usize - 1;
            self.widened += done.widened as usize;
            // At least a nanosecond: 0 means "never analysed".
            self.last_cost[scope] = (done.seconds as f32).max(1e-9);
            if timed {
                self.seconds[scope] += done.seconds;
                cpu += done.seconds;
                longest = longest.max(done.seconds);
            }
            for &callee in &done.summary.resolved_callees {
                if callee < self.callers.len() {
                    self.callers[callee].insert(scope);
                }
            }
            *check_env |= !done.summary.exports.is_empty() || !self.summaries[scope].exports.is_empty();
            if done.stale {
                next_sweep.push(scope);
            }
            retired.push((
                std::mem::replace(&mut self.summaries[scope], done.summary),
                std::mem::replace(&mut self.raw[scope], done.findings),
            ));
            self.incomplete[scope] = done.incomplete;
        }
        rayon::spawn(move || drop(retired));
        // Every scope of the sweep ends done (`OnDemand::run`); one that did not would be
        // analysed in the next sweep rather than left with no summary.
        next_sweep.extend(work.iter().copied().filter(|&scope| self.analyses[scope] == 0));
        if timed {
            let spans: Vec<busy::Span> = spans.into_iter().flatten().collect();
            let (preempted, tail, imbalance) = busy::where_idle(&spans, rayon::current_num_threads(), wall);
            self.log.batches.push(busy::Batch {
                sweep: self.sweeps,
                level: 0,
                iteration: 1,
                scopes: work.len(),
                wall,
                cpu,
                longest,
                serial: serial_started.map_or(0.0, |cpu| busy::thread_cpu() - cpu),
                preempted,
                tail,
                imbalance,
            });
        }
        next_sweep
    }

    /// Analyses `work` on the pool; beside each analysis, its widening (`iteration` of the
    /// components reset in `before`, or past `WIDEN_AFTER_ANALYSES`) and whether it changed,
    /// against the summaries as they were before the batch (they are written after it).
    /// With `FLOWSIGHT_DEBUG_ANALYSIS`, also each analysis's span (offsets from `started`).
    fn analyse(
        &mut self,
        env: &Env,
        work: &[usize],
        before: &FxHashMap<usize, Summary>,
        iteration: usize,
        started: std::time::Instant,
    ) -> (Vec<Analysed>, Vec<busy::Span>) {
        self.batches += 1;
        self.analysed += work.len();
        for &scope in work {
            self.analyses[scope] += 1;
        }

        let (program, rules, enclosing, entries, summaries) = (self.program, self.rules, self.enclosing, self.entries, &*self.summaries);
        let (analyses, last_cost) = (&self.analyses, &self.last_cost);
        let timed = !self.seconds.is_empty();
        // Before its first analysis a scope is expected to cost in proportion to its text.
        let expected = |&scope: &usize| match last_cost[scope] {
            cost if cost > 0.0 => f64::from(cost),
            _ => {
                let body = program.scopes[scope].body;
                (body.end_byte() - body.start_byte()) as f64 * SECONDS_PER_BYTE
            }
        };
        let results: Vec<(Analysed, f32, Option<busy::Span>)> = schedule::run_batch(work, expected, |&scope| {
            let clock = std::time::Instant::now();
            let begun = timed.then(|| (clock, busy::thread_cpu()));
            let (summary, findings, mut incomplete) =
                analyze_scope(program, rules, SummaryTable::Settled(summaries), entries, env, enclosing, scope);
            let old = &summaries[scope];
            let exports = !summary.exports.is_empty() || !old.exports.is_empty();
            let in_reset = before.contains_key(&scope);
            let widened = widening_due(in_reset.then_some(iteration), analyses[scope]);
            let summary = if widened { widened_summary(old, summary, &mut incomplete) } else { summary };
            let changed = if in_reset { summary.signature() != old.signature() } else { differs(old, &summary) };
            let span = begun.map(|(wall, cpu)| busy::Span {
                thread: rayon::current_thread_index().unwrap_or(0),
                start: wall.duration_since(started).as_secs_f64(),
                end: started.elapsed().as_secs_f64(),
                cpu: busy::thread_cpu() - cpu,
            });
            let cpu = span.map_or(0.0, |span| span.cpu);
            // At least a nanosecond: 0 means "never analysed".
            let cost = clock.elapsed().as_secs_f32().max(1e-9);
            (Analysed { scope, summary, findings, incomplete, widened, changed, exports, cpu }, cost, span)
        });
        let mut spans = Vec::new();
        let analysed = results
            .into_iter()
            .map(|(analysed, cost, span)| {
                self.last_cost[analysed.scope] = cost;
                if let Some(span) = span {
                    self.seconds[analysed.scope] += span.end - span.start;
                    spans.push(span);
                }
                analysed
            })
            .collect();
        (analysed, spans)
    }
}

/// The stage of each member of the recursive components `work` touches, for one round after
/// the first: over the calls between members the summaries hold now, a depth-first search
/// from the lowest scope (callees in order) drops the edges back to a member on its stack, and
/// a member's stage is one more than the highest stage of a member it calls over the edges
/// kept (0 if none). A member thus runs after the members it calls but along those back
/// edges, and a change found in a stage reaches its callers later in the same round. The
/// stages depend only on the component's members and their summaries in this run, so an
/// incremental run iterates a component as a run from scratch does.
fn stages(work: &[usize], levels: &Levels, summaries: &[Summary]) -> FxHashMap<usize, usize> {
    let mut components: Vec<usize> =
        work.iter().map(|&scope| levels.component[scope]).filter(|&component| levels.recursive[component]).collect();
    components.sort_unstable();
    components.dedup();
    let mut stage_of: FxHashMap<usize, usize> = FxHashMap::default();
    for component in components {
        let mut members = levels.members[component].clone();
        members.sort_unstable();
        component_stages(&members, |member| &summaries[member].resolved_callees, &mut stage_of);
    }
    stage_of
}

/// `stages` of one component's `members` (sorted), each member's callees read by `callees`.
pub(super) fn component_stages<'s>(members: &[usize], callees: impl Fn(usize) -> &'s [usize], stage_of: &mut FxHashMap<usize, usize>) {
    // 0: not visited, 1: on the search's stack, 2: done.
    let mut state: FxHashMap<usize, u8> = members.iter().map(|&member| (member, 0)).collect();
    let callees_of = |member: usize| -> Vec<usize> {
        let mut callees: Vec<usize> =
            callees(member).iter().copied().filter(|&callee| callee != member && members.binary_search(&callee).is_ok()).collect();
        callees.sort_unstable();
        callees.dedup();
        callees
    };
    for &root in members {
        if state[&root] != 0 {
            continue;
        }
        state.insert(root, 1);
        let mut stack: Vec<(usize, Vec<usize>, usize)> = vec![(root, callees_of(root), 0)];
        while let Some((member, callees, next)) = stack.last_mut() {
            if let Some(&callee) = callees.get(*next) {
                *next += 1;
                if state[&callee] == 0 {
                    state.insert(callee, 1);
                    let callees = callees_of(callee);
                    stack.push((callee, callees, 0));
                }
                continue;
            }
            let member = *member;
            let stage = callees.iter().filter(|callee| state[callee] == 2).map(|callee| stage_of[callee] + 1).max().unwrap_or(0);
            stage_of.insert(member, stage);
            state.insert(member, 2);
            stack.pop();
        }
    }
}

/// Puts `caller` on the level it belongs to in this sweep, or in the next sweep if the levels
/// (computed before the edge to its callee was known) place it at or below the current one.
fn schedule(caller: usize, level: usize, levels: &Levels, pending: &mut [Vec<usize>], next_sweep: &mut Vec<usize>) {
    let caller_level = levels.level[caller];
    if caller_level > level {
        pending[caller_level].push(caller);
    } else {
        next_sweep.push(caller);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calls(edges: &[&[usize]]) -> Vec<Summary> {
        edges.iter().map(|callees| Summary { resolved_callees: callees.to_vec(), ..Summary::default() }).collect()
    }

    #[test]
    fn levels_put_callees_first_and_group_recursion() {
        // 0 → 1 → 2, 2 → 3 ⇄ 4, 5 → 5, 6 alone.
        let levels = call_graph_levels(&calls(&[&[1], &[2], &[3], &[4], &[3], &[5], &[]]), &[0, 1, 2, 3, 4, 5, 6]);
        assert_eq!(levels.level, vec![3, 2, 1, 0, 0, 0, 0]);
        assert_eq!(levels.component[3], levels.component[4]);
        assert!(levels.recursive[levels.component[3]]);
        assert!(levels.recursive[levels.component[5]]);
        assert!(!levels.recursive[levels.component[6]]);
        assert!(!levels.recursive[levels.component[0]]);
    }

    #[test]
    fn levels_over_a_region_order_its_members_and_leave_the_rest_out() {
        // The region {0, 1, 2} holds the callers of 2; 3 and 4 (its callees) stay outside.
        let levels = call_graph_levels(&calls(&[&[1], &[2], &[3], &[4], &[3]]), &[0, 1, 2]);
        assert_eq!(levels.level, vec![2, 1, 0, 0, 0]);
        assert_eq!(levels.component[3], usize::MAX);
        assert_eq!(levels.members.len(), 3);
    }

    #[test]
    fn stages_put_a_member_after_its_callees_but_along_back_edges() {
        // One component: 0 → 1 → 2 → 0 (back edge 2 → 0 from the search rooted at 0), 0 → 2,
        // 3 → 1 and 1 → 3 (back edge), 4 alone and not recursive.
        let summaries = calls(&[&[1, 2], &[2, 3], &[0], &[1], &[]]);
        let levels = call_graph_levels(&summaries, &[0, 1, 2, 3, 4]);
        assert!(levels.recursive[levels.component[0]]);
        let stage_of = stages(&[0, 3, 4], &levels, &summaries);
        // 2's only call goes back to 0; 3's back to 1; 1 calls 2 and 3; 0 calls 1 and 2.
        assert_eq!(stage_of.get(&2), Some(&0));
        assert_eq!(stage_of.get(&3), Some(&0));
        assert_eq!(stage_of.get(&1), Some(&1));
        assert_eq!(stage_of.get(&0), Some(&2));
        assert_eq!(stage_of.get(&4), None, "a scope outside recursive components has no stage");
    }

    /// A ring of `size` mutually recursive functions passing `command` around, each also
    /// calling `hops[i]` further members, one of them sanitising (`sanitiser`), the first sinking
    /// it, and a module-level caller feeding a source into member `entry`.
    fn ring(size: usize, hops: &[usize], sanitiser: Option<usize>, entry: usize) -> String {
        let mut text = String::from("import os\nimport shlex\nfrom flask import request\n\n\n");
        for member in 0..size {
            let passed = if sanitiser == Some(member) { "shlex.quote(command)" } else { "command" };
            text.push_str(&format!("def ring_{member}(command, depth):\n"));
            if member == 0 {
                text.push_str("    os.system(command)\n");
            }
            text.push_str(&format!("    if depth:\n        ring_{}({passed}, depth - 1)\n", (member + 1) % size));
            for hop in hops.iter().filter(|&&hop| hop % size != member) {
                text.push_str(&format!("    ring_{}(command + str(depth), depth)\n", hop % size));
            }
            text.push_str("    return command\n\n\n");
        }
        text.push_str(&format!("def view():\n    return ring_{entry}(request.args.get(\"q\"), 3)\n"));
        text
    }

    /// A finding without the path shown: rule, source and sink.
    type Found = (String, u32, crate::taint::Location, crate::taint::Location);

    /// Every scope's summary signature (what flows where) and the findings, paths left out:
    /// one order may reach a flow through a longer cycle first and keep showing that path.
    fn solved(text: &str, one_batch_per_round: bool) -> (Vec<(String, crate::taint::summary::SummarySignature)>, Vec<Found>) {
        // On the engine's pool, whose threads nest on-demand analyses deep.
        let disabled = super::super::on_demand::DISABLED.with(std::cell::Cell::get);
        let (summaries, findings) = crate::index::pool().install(|| {
            ONE_BATCH_PER_ROUND.with(|flag| flag.set(one_batch_per_round));
            super::super::on_demand::DISABLED.with(|flag| flag.set(disabled));
            let solved = super::super::analyze_text(text);
            ONE_BATCH_PER_ROUND.with(|flag| flag.set(false));
            super::super::on_demand::DISABLED.with(|flag| flag.set(false));
            solved
        });
        let mut signatures: Vec<_> = summaries.into_iter().map(|(name, summary)| (name, summary.signature())).collect();
        signatures.sort_by(|a, b| a.0.cmp(&b.0));
        let found = findings.into_iter().map(|finding| (finding.rule_id, finding.cwe, finding.source, finding.sink)).collect();
        (signatures, found)
    }

    /// Rings of 1–5 members (`ring`) with up to 4 further calls, maybe a sanitiser, any entry.
    fn rings() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::strategy::Strategy;
        (1usize..6, proptest::collection::vec(0usize..6, 0..4), proptest::option::of(0usize..6), 0usize..6)
            .prop_map(|(size, hops, sanitiser, entry)| ring(size, &hops, sanitiser.map(|s| s % size), entry % size))
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]
        #[test]
        fn staged_rounds_reach_the_fixpoint_one_batch_per_round_reaches(text in rings()) {
            proptest::prop_assert_eq!(solved(&text, false), solved(&text, true));
        }

        #[test]
        fn the_on_demand_first_sweep_reaches_the_fixpoint_the_level_sweeps_reach(text in rings()) {
            let on_demand = solved(&text, false);
            super::super::on_demand::DISABLED.with(|disabled| disabled.set(true));
            let levels = solved(&text, false);
            super::super::on_demand::DISABLED.with(|disabled| disabled.set(false));
            proptest::prop_assert_eq!(on_demand, levels);
        }
    }

    #[test]
    fn a_ring_is_solved_with_its_finding_in_either_order() {
        let text = ring(4, &[2], None, 3);
        let (staged, findings) = solved(&text, false);
        assert!(findings.iter().any(|(_, cwe, _, sink)| *cwe == 78 && sink.start_line == 6), "{findings:?}");
        assert_eq!((staged, findings), solved(&text, true));
        let sanitised = ring(4, &[], Some(3), 3);
        assert!(solved(&sanitised, false).1.is_empty(), "every way round the ring passes through ring_3's quote");
    }

    #[test]
    fn widening_keeps_every_flow_and_only_common_clearances() {
        let old = Summary {
            param_flows: vec![(0, String::new(), 1)],
            param_effects: vec![(0, String::new(), 0b011)],
            guards_when_true: vec![(1, 0b110)],
            returns_reference: Some("a.b".into()),
            ..Summary::default()
        };
        let new = Summary {
            param_flows: vec![(1, String::new(), 0)],
            param_effects: vec![(0, String::new(), 0b110)],
            guards_when_true: vec![(0, 0b1)],
            returns_reference: Some("a.c".into()),
            returns_stringy: true,
            ..Summary::default()
        };
        let widened = widen(&old, new);
        assert_eq!(widened.param_flows, vec![(1, String::new(), 0), (0, String::new(), 1)]);
        assert_eq!(widened.param_effects, vec![(0, String::new(), 0b010)]);
        assert!(widened.guards_when_true.is_empty());
        assert_eq!(widened.returns_reference, None);
        assert!(widened.returns_stringy);
        // Widening twice with the same input changes nothing more: it is a join.
        let again = widen(&widened, widened.clone());
        assert_eq!(again.signature(), widened.signature());
    }
}

#[cfg(test)]
mod widening_laws {
    use proptest::prelude::*;

    use super::*;

    fn summary_strategy() -> impl Strategy<Value = Summary> {
        (
            proptest::collection::vec((0usize..3, 0usize..3), 0..4),
            proptest::collection::vec((0usize..3, 1u32..8), 0..3),
            proptest::collection::vec((0usize..3, 1u32..8), 0..3),
            any::<bool>(),
            proptest::collection::vec(0usize..6, 0..4),
        )
            .prop_map(|(flows, effects, guards, stringy, callees)| Summary {
                param_flows: flows.into_iter().map(|(to, from)| (to, String::new(), from)).collect(),
                param_effects: effects.into_iter().map(|(p, k)| (p, String::new(), k)).collect(),
                guards_when_true: guards,
                returns_stringy: stringy,
                resolved_callees: callees,
                ..Summary::default()
            })
    }

    fn normalised(summary: &Summary) -> crate::taint::summary::SummarySignature {
        let mut signature = summary.signature();
        signature.5.sort();
        signature.5.dedup();
        signature.6.sort();
        signature.6.dedup();
        signature
    }

    proptest! {
        #[test]
        fn widening_is_an_upper_bound_and_reaches_a_fixed_point(start in summary_strategy(), inputs in proptest::collection::vec(summary_strategy(), 1..30)) {
            let mut current = start;
            let mut changes = 0;
            for input in &inputs {
                let next = widen(&current, input.clone());
                for flow in current.param_flows.iter().chain(&input.param_flows) {
                    prop_assert!(next.param_flows.contains(flow));
                }
                for callee in current.resolved_callees.iter().chain(&input.resolved_callees) {
                    prop_assert!(next.resolved_callees.contains(callee));
                }
                prop_assert!(next.returns_stringy >= current.returns_stringy);
                for (param, _, kinds) in &next.param_effects {
                    let before: u32 = current.param_effects.iter().filter(|(p, _, _)| p == param).fold(0, |acc, (_, _, k)| acc | k);
                    prop_assert_eq!(kinds & !before, 0, "a clearance grew");
                }
                if normalised(&next) != normalised(&current) {
                    changes += 1;
                }
                current = next;
            }
            // Each change adds a flow or callee, or removes a clearance bit: finitely many.
            let bound = 3 * 3 + 6 + 1 + 3 * 3 + 3 * 3;
            prop_assert!(changes <= bound);
            let again = widen(&current, current.clone());
            prop_assert_eq!(normalised(&again), normalised(&current));
        }
    }
}
