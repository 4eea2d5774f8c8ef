//! The first sweep of a run from scratch, callees on demand: an analysis that reads the summary
//! of a scope of the sweep not analysed yet analyses that scope first, on the same thread, so
//! callees settle before their callers with no call graph known in advance (the levels need
//! edges only analyses find: calls on what other calls return, functions passed around).
//!
//! Invariants:
//! - Every scope of the sweep gets its first analysis from the thread that claims it. The
//!   nested first analyses of a thread are a depth-first search over the edges they read, and
//!   Tarjan's algorithm over it finds each recursive component when its first member's
//!   analysis ends (a read of a scope still on the thread's stack sees the summary it has so
//!   far: none, or its first analysis's).
//! - A recursive component found so is solved there as the solver solves a component (rounds
//!   from empty summaries, later rounds in `solver::component_stages`, widened past
//!   `solver::widening_due`); a component of one member that does not read itself keeps
//!   its first analysis. Its callers then read the solved summaries.
//! - A read the search cannot account for — another thread's scope still being analysed, a
//!   nesting past `MAX_NESTING`, a scope on the stack read outside a first analysis, past
//!   `LOCAL_ROUNDS` rounds — sees the empty summary (or the one so far) and makes the reader
//!   `stale` (and the whole component, for a member). Every other read sees a summary nothing
//!   changes later in the sweep, so a scope that is not stale agrees with the summaries the
//!   sweep leaves; the solver analyses the stale ones again in the next sweep, where their call
//!   edges are known (recursive components from empty summaries, as in every run).
//! - Which reads are stale depends on the threads' timing; the fixpoint the solver reaches does
//!   not, so flows and findings are the same on any pool.

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use rustc_hash::{FxHashMap, FxHashSet};

use super::{analyze_scope, solver, Env, Incomplete, RawFinding, Summary};
use crate::frameworks::EntryPoints;
use crate::program::Program;
use crate::rules::RuleSet;

/// Analyses nested on one thread's stack (each holds its caller's analysis suspended); a read
/// past it is stale instead of nesting deeper. On the engine's threads
/// (`parse::on_large_stack`: `index::WORKER_STACK_BYTES`); on others, `MAX_NESTING_SMALL_STACK`.
const MAX_NESTING: usize = 64;
const MAX_NESTING_SMALL_STACK: usize = 4;

/// Rounds of a recursive component solved on the spot; past them the solver solves it.
const LOCAL_ROUNDS: usize = 12;

/// A scope's state in `OnDemand::claims`: not claimed, done, or the claiming thread's index + 1
/// with `PENDING` (first analysis done, its component not yet found whole) or `SOLVING` (its
/// component being solved).
const UNCLAIMED: u32 = 0;
const DONE: u32 = u32::MAX;
const PENDING: u32 = 1 << 30;
const SOLVING: u32 = 1 << 29;

/// How the analysis running on a thread reads the scopes it calls.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// A scope's first analysis: a step of the depth-first search.
    First,
    /// A later round of a component of one member: reads of itself see its round before.
    OwnRounds,
    /// A round of a component's member: reads of members see `VISIBLE`.
    Component,
}

#[derive(Clone, Copy)]
struct Reader {
    scope: usize,
    round: usize,
    mode: Mode,
}

thread_local! {
    /// Whether the analysis running on this thread read a summary the search cannot account for.
    static STALE: Cell<bool> = const { Cell::new(false) };
    /// On-demand analyses nested on this thread's stack.
    static NESTING: Cell<usize> = const { Cell::new(0) };
    /// Wall seconds of the analyses nested inside the one running on this thread.
    static NESTED_SECONDS: Cell<f64> = const { Cell::new(0.0) };
    /// The analysis running on this thread (innermost).
    static CURRENT: Cell<Option<Reader>> = const { Cell::new(None) };
    /// Whether that analysis read its own summary.
    static READ_ITSELF: Cell<bool> = const { Cell::new(false) };
    /// Tarjan's numbering of this thread's first analyses.
    static NEXT_INDEX: Cell<u32> = const { Cell::new(0) };
    /// Tarjan's stack: this thread's scopes whose component is not found whole yet.
    static SEARCH_STACK: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
    /// First analyses of the scopes on `SEARCH_STACK` that ended, and their summaries (only
    /// this thread reads a scope on its stack).
    static FIRST_ROUNDS: RefCell<FxHashMap<usize, (Round, Arc<Summary>)>> = RefCell::new(FxHashMap::default());
    /// The summary of the round before of each component of one member in rounds on this thread.
    static OWN_ROUNDS: RefCell<FxHashMap<usize, Arc<Summary>>> = RefCell::new(FxHashMap::default());
    /// The component being solved on this thread: each member's summary of the round before
    /// (`None`: empty). Freed as rounds replace them.
    static VISIBLE: RefCell<FxHashMap<usize, Option<Arc<Summary>>>> = RefCell::new(FxHashMap::default());
}

#[cfg(test)]
thread_local! {
    /// Tests compare the on-demand first sweep with the level-ordered sweeps it replaces.
    pub(super) static DISABLED: Cell<bool> = const { Cell::new(false) };
}

/// Whether a run from scratch starts with the on-demand sweep.
pub(super) fn enabled() -> bool {
    #[cfg(test)]
    return !DISABLED.with(Cell::get);
    #[cfg(not(test))]
    true
}

/// This thread's own number (from 1; rayon's index is none outside a pool, and a batch runs
/// on its calling thread too).
fn this_thread() -> u32 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    thread_local! {
        // Below the state bits, never `UNCLAIMED`.
        static NUMBER: u32 = 1 + NEXT.fetch_add(1, Ordering::Relaxed) % (SOLVING - 1);
    }
    NUMBER.with(|number| *number)
}

/// Which thread waits for which (`OnDemand::wait_for`), changed under its lock only.
#[derive(Default)]
struct Waits {
    waiting_on: FxHashMap<u32, u32>,
}

static EMPTY: std::sync::LazyLock<Summary> = std::sync::LazyLock::new(Summary::default);

/// A summary as a table gives it: borrowed for the whole analysis, or shared with the on-demand
/// sweep's rounds (freed when the round after replaces it).
pub(super) enum SummaryRef<'p> {
    Borrowed(&'p Summary),
    Shared(Arc<Summary>),
}

impl std::ops::Deref for SummaryRef<'_> {
    type Target = Summary;
    fn deref(&self) -> &Summary {
        match self {
            SummaryRef::Borrowed(summary) => summary,
            SummaryRef::Shared(summary) => summary,
        }
    }
}

fn shared_or_empty<'p>(summary: Option<Arc<Summary>>) -> SummaryRef<'p> {
    summary.map_or(SummaryRef::Borrowed(&EMPTY), SummaryRef::Shared)
}

/// Where an analysis reads its callees' summaries.
#[derive(Clone, Copy)]
pub(super) enum SummaryTable<'p, 't> {
    /// Summaries fixed for the batch.
    Settled(&'p [Summary]),
    /// The first sweep's table: a scope of the sweep is analysed when first read.
    OnDemand(&'p OnDemand<'p, 't>),
}

impl<'p, 't> SummaryTable<'p, 't> {
    /// The summary of `scope` callers see (`None` for no scope of the program).
    pub fn get(self, scope: usize) -> Option<SummaryRef<'p>> {
        match self {
            SummaryTable::Settled(summaries) => summaries.get(scope).map(SummaryRef::Borrowed),
            SummaryTable::OnDemand(table) => table.summary(scope),
        }
    }
}

/// A scope's analyses in the on-demand sweep.
pub(super) struct Done {
    pub summary: Summary,
    pub findings: Vec<RawFinding>,
    pub incomplete: Incomplete,
    /// Whether the next sweep must analyse it again.
    pub stale: bool,
    /// Wall seconds of its own analyses, without the analyses nested in them.
    pub seconds: f64,
    pub analyses: u32,
    /// Its analyses whose summary was joined with the one before (`solver::widen`).
    pub widened: u32,
}

/// One analysis of a scope.
#[derive(Default)]
struct Round {
    summary: Summary,
    findings: Vec<RawFinding>,
    incomplete: Incomplete,
    stale: bool,
    read_itself: bool,
    seconds: f64,
}

/// What the sweep did, counted for `FLOWSIGHT_DEBUG_ANALYSIS`: why reads were stale, components, waits.
#[derive(Default)]
pub(super) struct Counts {
    /// A scope on the reader's own stack read outside a first analysis.
    pub own_stack: AtomicUsize,
    /// Another thread was analysing it.
    pub other_thread: AtomicUsize,
    /// Nesting it would have passed `MAX_NESTING`.
    pub too_deep: AtomicUsize,
    /// Components solved on the spot, and their members.
    pub components: AtomicUsize,
    pub members: AtomicUsize,
    /// Reads that waited for another thread's analysis, and how long in all.
    pub waits: AtomicUsize,
    pub waited_micros: AtomicUsize,
}

/// The on-demand sweep's table over the program's scopes.
pub(super) struct OnDemand<'p, 't> {
    program: &'p Program<'t>,
    rules: &'p RuleSet,
    entries: &'p EntryPoints,
    env: &'p Env,
    enclosing: &'p FxHashSet<u64>,
    /// Summaries of the scopes outside the sweep.
    settled: &'p [Summary],
    /// Whether a scope is one of the sweep's.
    in_sweep: Vec<bool>,
    claims: Vec<AtomicU32>,
    /// Tarjan's index and lowest index reached of each scope (written by its thread only).
    index: Vec<AtomicU32>,
    lowlink: Vec<AtomicU32>,
    done: Vec<OnceLock<Box<Done>>>,
    waits: std::sync::Mutex<Waits>,
    /// Signalled (under `waits`) when a scope is done while a thread waits.
    done_signal: std::sync::Condvar,
    waiting: AtomicUsize,
    pub counts: Counts,
}

impl<'p, 't> OnDemand<'p, 't> {
    pub fn new(
        program: &'p Program<'t>,
        rules: &'p RuleSet,
        (entries, env, enclosing): (&'p EntryPoints, &'p Env, &'p FxHashSet<u64>),
        settled: &'p [Summary],
        sweep: &[usize],
    ) -> Self {
        let count = settled.len();
        let mut in_sweep = vec![false; count];
        for &scope in sweep {
            in_sweep[scope] = true;
        }
        OnDemand {
            program,
            rules,
            entries,
            env,
            enclosing,
            settled,
            in_sweep,
            claims: (0..count).map(|_| AtomicU32::new(UNCLAIMED)).collect(),
            index: (0..count).map(|_| AtomicU32::new(0)).collect(),
            lowlink: (0..count).map(|_| AtomicU32::new(0)).collect(),
            done: (0..count).map(|_| OnceLock::new()).collect(),
            waits: std::sync::Mutex::new(Waits::default()),
            done_signal: std::sync::Condvar::new(),
            waiting: AtomicUsize::new(0),
            counts: Counts::default(),
        }
    }

    /// Analyses `scope` unless a thread claimed it already (as a callee read on demand).
    pub fn analyse_root(&'p self, scope: usize) {
        if self.claim(scope) {
            self.run(scope);
        }
    }

    /// Each scope's analyses, taken one at a time (`Done` boxed: none is copied whole).
    pub fn into_results(self) -> impl Iterator<Item = (usize, Box<Done>)> {
        self.done.into_iter().enumerate().filter_map(|(scope, done)| done.into_inner().map(|done| (scope, done)))
    }

    fn claim(&self, scope: usize) -> bool {
        self.claims[scope].compare_exchange(UNCLAIMED, this_thread(), Ordering::AcqRel, Ordering::Acquire).is_ok()
    }

    fn stale(&self, reason: &AtomicUsize) -> Option<SummaryRef<'p>> {
        reason.fetch_add(1, Ordering::Relaxed);
        STALE.with(|stale| stale.set(true));
        Some(SummaryRef::Borrowed(&EMPTY))
    }

    fn summary(&'p self, scope: usize) -> Option<SummaryRef<'p>> {
        if !*self.in_sweep.get(scope)? {
            return self.settled.get(scope).map(SummaryRef::Borrowed);
        }
        let reader = CURRENT.with(Cell::get);
        if let Some(reader) = reader {
            // A member of the component being solved reads the members' round before.
            if reader.mode == Mode::Component {
                if let Some(summary) = VISIBLE.with(|visible| visible.borrow().get(&scope).cloned()) {
                    return Some(shared_or_empty(summary));
                }
            } else if reader.scope == scope {
                READ_ITSELF.with(|read| read.set(true));
                let before = if reader.round == 0 { None } else { OWN_ROUNDS.with(|rounds| rounds.borrow().get(&scope).cloned()) };
                return Some(shared_or_empty(before));
            }
        }
        let mut state = self.claims[scope].load(Ordering::Acquire);
        let mut just_ran = false;
        if state == UNCLAIMED {
            let bound = if crate::parse::on_large_stack() { MAX_NESTING } else { MAX_NESTING_SMALL_STACK };
            if NESTING.with(Cell::get) >= bound {
                return self.stale(&self.counts.too_deep);
            }
            if self.claim(scope) {
                self.run(scope);
                just_ran = true;
            }
            state = self.claims[scope].load(Ordering::Acquire);
        }
        if state == DONE {
            return self.done[scope].get().map(|done| SummaryRef::Borrowed(&done.summary));
        }
        let (owner, solving) = (state & !(PENDING | SOLVING), state & SOLVING != 0);
        match reader {
            Some(reader) if owner == this_thread() && !solving && reader.mode == Mode::First => {
                // On this thread's search stack: the reader is in its component.
                let reached =
                    if just_ran { self.lowlink[scope].load(Ordering::Relaxed) } else { self.index[scope].load(Ordering::Relaxed) };
                self.lowlink[reader.scope].fetch_min(reached, Ordering::Relaxed);
                let first = FIRST_ROUNDS.with(|rounds| rounds.borrow().get(&scope).map(|(_, summary)| summary.clone()));
                Some(shared_or_empty(first))
            }
            _ if owner == this_thread() => self.stale(&self.counts.own_stack),
            _ if self.wait_for(scope, owner) => self.done[scope].get().map(|done| SummaryRef::Borrowed(&done.summary)),
            _ => self.stale(&self.counts.other_thread),
        }
    }

    /// Waits until another thread's `scope` is done, unless that thread waits (maybe through
    /// others) for this one: then no thread would go on. Returns whether it is done.
    fn wait_for(&self, scope: usize, owner: u32) -> bool {
        let me = this_thread();
        let mut waits = self.waits.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut thread = owner;
        for _ in 0..=waits.waiting_on.len() {
            if thread == me {
                return false;
            }
            match waits.waiting_on.get(&thread) {
                Some(&next) => thread = next,
                None => break,
            }
        }
        if thread == me {
            return false;
        }
        waits.waiting_on.insert(me, owner);
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let started = std::time::Instant::now();
        while self.claims[scope].load(Ordering::SeqCst) != DONE {
            waits = self.done_signal.wait(waits).unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        waits.waiting_on.remove(&me);
        self.counts.waits.fetch_add(1, Ordering::Relaxed);
        self.counts.waited_micros.fetch_add(started.elapsed().as_micros() as usize, Ordering::Relaxed);
        true
    }

    /// Marks `scope` done and wakes the threads waiting for one.
    fn finish(&self, scope: usize) {
        self.claims[scope].store(DONE, Ordering::SeqCst);
        if self.waiting.load(Ordering::SeqCst) > 0 {
            let _waits = self.waits.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            self.done_signal.notify_all();
        }
    }

    /// The claimed `scope`'s first analysis, a step of the search; when its component is
    /// found whole, the component solved.
    fn run(&'p self, scope: usize) {
        let index = NEXT_INDEX.with(|next| next.replace(next.get() + 1));
        self.index[scope].store(index, Ordering::Relaxed);
        self.lowlink[scope].store(index, Ordering::Relaxed);
        SEARCH_STACK.with(|stack| stack.borrow_mut().push(scope));
        let mut first = self.round(scope, 0, Mode::First);
        if self.lowlink[scope].load(Ordering::Relaxed) < index {
            // Part of a component whose first member is further down the stack.
            let summary = Arc::new(std::mem::take(&mut first.summary));
            FIRST_ROUNDS.with(|rounds| rounds.borrow_mut().insert(scope, (first, summary)));
            self.claims[scope].store(this_thread() | PENDING, Ordering::Release);
            return;
        }
        let mut members = SEARCH_STACK.with(|stack| {
            let mut stack = stack.borrow_mut();
            let at = stack.iter().rposition(|&member| member == scope).expect("a running scope is on the search stack");
            stack.split_off(at)
        });
        members.sort_unstable();
        // Every member ends done, even if solving it fails: a thread waiting for one would
        // otherwise wait forever.
        let solved = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            if members.len() == 1 {
                self.solve_alone(scope, first);
                return;
            }
            let mut firsts: FxHashMap<usize, (Round, Arc<Summary>)> = FIRST_ROUNDS.with(|rounds| {
                let mut rounds = rounds.borrow_mut();
                members.iter().filter_map(|member| rounds.remove(member).map(|round| (*member, round))).collect()
            });
            let summary = Arc::new(std::mem::take(&mut first.summary));
            firsts.insert(scope, (first, summary));
            self.solve_component(&members, firsts);
        }));
        if solved.is_err() {
            FIRST_ROUNDS.with(|rounds| {
                let mut rounds = rounds.borrow_mut();
                members.iter().for_each(|member| drop(rounds.remove(member)));
            });
            for &member in &members {
                if self.done[member].get().is_none() {
                    let (summary, findings, incomplete) = super::failed_analysis();
                    let done = Done { summary, findings, incomplete, stale: true, seconds: 0.0, analyses: 1, widened: 0 };
                    let _ = self.done[member].set(Box::new(done));
                }
                self.finish(member);
            }
        }
    }

    /// A component of one member: its first analysis, or, if it read itself, rounds until its
    /// signature stays (`solver::Solver::sweep` on a component of one).
    fn solve_alone(&'p self, scope: usize, mut last: Round) {
        let (mut analyses, mut widened) = (1u32, 0u32);
        let mut seconds = last.seconds;
        if last.read_itself && !last.stale && last.summary.signature() != Summary::default().signature() {
            for round in 1.. {
                if round >= LOCAL_ROUNDS {
                    last.stale = true;
                    break;
                }
                let before = Arc::new(std::mem::take(&mut last.summary));
                OWN_ROUNDS.with(|rounds| rounds.borrow_mut().insert(scope, before.clone()));
                let mut next = self.round(scope, round, Mode::OwnRounds);
                OWN_ROUNDS.with(|rounds| rounds.borrow_mut().remove(&scope));
                let before = Arc::try_unwrap(before).unwrap_or_else(|shared| (*shared).clone());
                let before = &before;
                analyses += 1;
                seconds += next.seconds;
                if next.stale {
                    last = next;
                    break;
                }
                if solver::widening_due(Some(round + 1), analyses) {
                    next.summary = solver::widened_summary(before, next.summary, &mut next.incomplete);
                    widened += 1;
                }
                let changed = next.summary.signature() != before.signature();
                last = next;
                if !changed {
                    break;
                }
            }
        }
        let Round { summary, findings, incomplete, stale, .. } = last;
        let _ = self.done[scope].set(Box::new(Done { summary, findings, incomplete, stale, seconds, analyses, widened }));
        self.finish(scope);
    }

    /// A recursive component of several `members` (sorted), solved as the solver solves one
    /// reset to empty summaries: a first round of every member against empty summaries, then
    /// rounds of the members a change reached, in stages, until no summary's signature changes.
    fn solve_component(&'p self, members: &[usize], firsts: FxHashMap<usize, (Round, Arc<Summary>)>) {
        self.counts.components.fetch_add(1, Ordering::Relaxed);
        self.counts.members.fetch_add(members.len(), Ordering::Relaxed);
        let me = this_thread();
        for &member in members {
            self.claims[member].store(me | SOLVING, Ordering::Release);
        }
        let is_member = |scope: &usize| members.binary_search(scope).is_ok();
        // Which members call each member, over every analysis of the run so far.
        let mut callers: FxHashMap<usize, FxHashSet<usize>> = FxHashMap::default();
        let note_calls = |caller: usize, summary: &Summary, callers: &mut FxHashMap<usize, FxHashSet<usize>>| {
            for callee in summary.resolved_callees.iter().filter(|callee| is_member(callee)) {
                callers.entry(*callee).or_default().insert(caller);
            }
        };
        let mut analyses: FxHashMap<usize, u32> = members.iter().map(|&member| (member, 1)).collect();
        let mut seconds: FxHashMap<usize, f64> = FxHashMap::default();
        for (&member, (round, summary)) in &firsts {
            seconds.insert(member, round.seconds);
            note_calls(member, summary, &mut callers);
        }
        drop(firsts);
        let mut widened: FxHashMap<usize, u32> = FxHashMap::default();
        let mut last: FxHashMap<usize, (Vec<RawFinding>, Incomplete)> = FxHashMap::default();
        let outer_visible =
            VISIBLE.with(|visible| std::mem::replace(&mut *visible.borrow_mut(), members.iter().map(|&m| (m, None)).collect()));
        let visible_summary =
            |member: usize| -> SummaryRef<'p> { shared_or_empty(VISIBLE.with(|visible| visible.borrow().get(&member).cloned().flatten())) };
        let mut stale = false;
        let mut work: Vec<usize> = members.to_vec();
        let mut iteration = 0;
        'rounds: while !work.is_empty() {
            iteration += 1;
            let mut again = Vec::new();
            let mut stage_of: FxHashMap<usize, usize> = FxHashMap::default();
            if iteration > 1 && solver::staged_rounds() {
                let summaries: FxHashMap<usize, SummaryRef<'p>> = members.iter().map(|&member| (member, visible_summary(member))).collect();
                solver::component_stages(members, |member| &summaries[&member].resolved_callees, &mut stage_of);
            }
            if iteration > LOCAL_ROUNDS {
                stale = true;
                break 'rounds;
            }
            let mut staged: Vec<Vec<usize>> = vec![Vec::new(); stage_of.values().max().map_or(1, |&top| top + 1)];
            for &member in &work {
                staged[stage_of.get(&member).copied().unwrap_or(0)].push(member);
            }
            let mut stage = 0;
            while stage < staged.len() {
                let mut batch = std::mem::take(&mut staged[stage]);
                batch.sort_unstable();
                batch.dedup();
                // Every member of the batch reads the summaries as they were before it.
                let results: Vec<(usize, Round)> = batch.iter().map(|&member| (member, self.round(member, 0, Mode::Component))).collect();
                for (member, round) in &results {
                    note_calls(*member, &round.summary, &mut callers);
                }
                let mut shown = Vec::with_capacity(results.len());
                for (member, round) in results {
                    let Round { summary, findings, mut incomplete, stale: read_stale, seconds: spent, .. } = round;
                    stale |= read_stale;
                    *seconds.entry(member).or_default() += spent;
                    let count = analyses.entry(member).or_default();
                    *count += 1;
                    let old = visible_summary(member);
                    let summary = if solver::widening_due(Some(iteration), *count) {
                        *widened.entry(member).or_default() += 1;
                        solver::widened_summary(&old, summary, &mut incomplete)
                    } else {
                        summary
                    };
                    let changed = summary.signature() != old.signature();
                    last.insert(member, (findings, incomplete));
                    drop(old);
                    shown.push((member, Arc::new(summary)));
                    if changed {
                        for &caller in callers.get(&member).into_iter().flatten() {
                            match stage_of.get(&caller) {
                                Some(&later) if later > stage => staged[later].push(caller),
                                _ => again.push(caller),
                            }
                        }
                    }
                }
                VISIBLE.with(|visible| {
                    let mut visible = visible.borrow_mut();
                    for (member, summary) in shown {
                        visible.insert(member, Some(summary));
                    }
                });
                stage += 1;
            }
            again.sort_unstable();
            again.dedup();
            work = again;
        }
        let mut finals = VISIBLE.with(|visible| std::mem::replace(&mut *visible.borrow_mut(), outer_visible));
        let finals: Vec<Summary> = members
            .iter()
            .map(|member| match finals.remove(member).flatten() {
                Some(summary) => Arc::try_unwrap(summary).unwrap_or_else(|shared| (*shared).clone()),
                None => Summary::default(),
            })
            .collect();
        for (&member, summary) in members.iter().zip(finals) {
            let (findings, incomplete) = last.remove(&member).unwrap_or_default();
            let done = Done {
                summary,
                findings,
                incomplete,
                stale,
                seconds: seconds.get(&member).copied().unwrap_or_default(),
                analyses: analyses[&member],
                widened: widened.get(&member).copied().unwrap_or_default(),
            };
            let _ = self.done[member].set(Box::new(done));
        }
        for &member in members {
            self.finish(member);
        }
    }

    /// One analysis of `scope` reading as `mode` says (`round`: its rounds before, alone).
    fn round(&'p self, scope: usize, round: usize, mode: Mode) -> Round {
        let outer_stale = STALE.with(|stale| stale.replace(false));
        let outer_read = READ_ITSELF.with(|read| read.replace(false));
        let outer_current = CURRENT.with(|current| current.replace(Some(Reader { scope, round, mode })));
        let outer_nested = NESTED_SECONDS.with(|seconds| seconds.replace(0.0));
        NESTING.with(|nesting| nesting.set(nesting.get() + 1));
        let clock = std::time::Instant::now();
        // `analyze_scope` catches what the analysis raises; this catches the rest, so that a
        // claimed scope always ends done.
        let (summary, findings, incomplete) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            analyze_scope(self.program, self.rules, SummaryTable::OnDemand(self), self.entries, self.env, self.enclosing, scope)
        }))
        .unwrap_or_else(|_| super::failed_analysis());
        let total = clock.elapsed().as_secs_f64();
        NESTING.with(|nesting| nesting.set(nesting.get() - 1));
        let seconds = (total - NESTED_SECONDS.with(|seconds| seconds.replace(outer_nested + total))).max(0.0);
        CURRENT.with(|current| current.set(outer_current));
        let read_itself = READ_ITSELF.with(|read| read.replace(outer_read));
        let stale = STALE.with(|stale| stale.replace(outer_stale));
        Round { summary, findings, incomplete, stale, read_itself, seconds }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::taint::incremental::{analyze_incrementally, AnalysisStats};
    use crate::taint::Finding;

    /// The run's counts and findings, on one thread: no analysis reads another thread's, so
    /// the counts do not depend on timing (the results never do).
    fn analysed(text: &str, on_demand: bool) -> (AnalysisStats, Vec<Finding>) {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .stack_size(crate::index::WORKER_STACK_BYTES)
            .start_handler(|_| crate::parse::mark_large_stack())
            .build()
            .expect("a pool of one thread");
        pool.install(|| {
            DISABLED.with(|disabled| disabled.set(!on_demand));
            let document = crate::parse::Document::new(text.to_string());
            let parts = crate::program::build_parts(vec![("app.py".to_string(), &document)]);
            let program = Program::from_parts(&parts);
            let (result, _, stats) = analyze_incrementally(&program, &RuleSet::builtin(), None);
            DISABLED.with(|disabled| disabled.set(false));
            (stats, result.findings)
        })
    }

    /// `view` feeds a source through `step_0` … `step_{depth - 1}` (each defined after its
    /// caller, so no order of the text puts callees first) into `os.system`.
    fn chain(depth: usize) -> String {
        let mut text = String::from("import os\nfrom flask import request\n\n\ndef view():\n    step_0(request.args.get(\"q\"))\n\n\n");
        for step in 0..depth {
            let next = if step + 1 == depth { "os.system(command)".to_string() } else { format!("step_{}(command)", step + 1) };
            text.push_str(&format!("def step_{step}(command):\n    {next}\n\n\n"));
        }
        text
    }

    #[test]
    fn a_call_chain_settles_in_one_sweep_from_scratch_each_scope_analysed_once() {
        let (stats, findings) = analysed(&chain(12), true);
        assert_eq!((stats.sweeps, stats.analyses), (1, stats.scopes), "{stats:?}");
        assert_eq!(findings.len(), 1, "{findings:?}");
        let (levels, level_findings) = analysed(&chain(12), false);
        assert!(levels.analyses > stats.analyses, "the level-ordered sweeps analyse callers again: {levels:?}");
        assert_eq!(findings, level_findings);
    }

    #[test]
    fn a_function_calling_itself_is_solved_where_it_is_first_read() {
        let text = "import os\nfrom flask import request\n\n\ndef view():\n    os.system(walk(1, request.args.get(\"q\")))\n\n\n\
                    def walk(depth, command):\n    if depth:\n        return walk(depth - 1, command)\n    return command\n";
        let (stats, findings) = analysed(text, true);
        // `walk` twice (against the empty summary, then its own), `view` and the module once.
        assert_eq!((stats.sweeps, stats.analyses, stats.scopes), (1, 4, 3), "{stats:?}");
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(findings, analysed(text, false).1);
    }

    #[test]
    fn a_recursive_component_is_solved_when_its_first_member_ends() {
        // `ping` → `pong` → `ping`: `pong` reads `ping` while `ping` is being analysed; the
        // component {ping, pong} is found whole when `ping`'s first analysis ends.
        let text = "import os\nfrom flask import request\n\n\ndef view():\n    ping(request.args.get(\"q\"), 3)\n\n\n\
                    def ping(command, depth):\n    if depth:\n        pong(command, depth - 1)\n\n\n\
                    def pong(command, depth):\n    os.system(command)\n    ping(command, depth)\n";
        let (stats, findings) = analysed(text, true);
        assert_eq!(stats.sweeps, 1, "{stats:?}");
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(findings, analysed(text, false).1);
    }

    #[test]
    fn past_the_nesting_bound_callers_are_left_to_the_next_sweep_with_the_same_findings() {
        // A thread without the engine's large stack nests `MAX_NESTING_SMALL_STACK` deep only.
        let text = chain(12);
        let (stats, findings) = std::thread::spawn(move || {
            DISABLED.with(|disabled| disabled.set(false));
            let document = crate::parse::Document::new(text);
            let parts = crate::program::build_parts(vec![("app.py".to_string(), &document)]);
            let program = Program::from_parts(&parts);
            let (result, _, stats) = analyze_incrementally(&program, &RuleSet::builtin(), None);
            (stats, result.findings)
        })
        .join()
        .expect("the analysis thread ends");
        assert!(stats.sweeps >= 2, "{stats:?}");
        assert_eq!(findings, analysed(&chain(12), true).1);
    }
}
