//! The first sweep of a run from scratch, callees on demand: an analysis that reads the summary
//! of a scope of the sweep not analysed yet analyses that scope first, on the same thread, so
//! callees settle before their callers with no call graph known in advance (the levels need
//! edges only analyses find: calls on what other calls return, functions passed around).
//!
//! Invariants:
//! - Every scope of the sweep is analysed exactly once: the thread that claims it.
//! - A read of a scope still being analysed — a call cycle on this thread's stack, another
//!   thread's analysis, or a nesting past `MAX_NESTING` — sees the empty summary (what the sweep
//!   of a run from scratch reads before a scope's first analysis) and makes the reader `stale`.
//!   Every other read sees the callee's summary of this sweep, which nothing changes later in
//!   the sweep. So an analysis that is not stale agrees with the summaries the sweep leaves, and
//!   the solver analyses the stale ones again in the next sweep, where their call edges are
//!   known: recursive components are solved there from empty summaries, as in every run.
//! - A scope that reads its own summary (it calls itself) and nothing stale is solved on the
//!   spot as the solver solves a recursive component of one member: first against the empty
//!   summary, then against its last summary until the signature stays, joined with the one
//!   before from the `solver::WIDEN_AFTER`-th round. Its callers then read the solved summary.
//!   Past `LOCAL_ROUNDS` it is left stale.
//! - Which reads are stale depends on the threads' timing; the summaries the solver reaches do
//!   not (the least fixpoint over the same edges), so results are the same on any pool.

use std::cell::Cell;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::OnceLock;

use rustc_hash::FxHashSet;

use super::{analyze_scope, Env, Incomplete, RawFinding, Summary};
use crate::frameworks::EntryPoints;
use crate::program::Program;
use crate::rules::RuleSet;

/// Analyses nested on one thread's stack (each holds its caller's analysis suspended); a read
/// past it is stale instead of nesting deeper. Worker stacks are `index::WORKER_STACK_BYTES`.
const MAX_NESTING: usize = 24;

/// Rounds of a scope that calls itself solved on the spot; past them the solver solves it.
const LOCAL_ROUNDS: usize = 8;

/// A scope's state in `OnDemand::claims`: not claimed, done, or the claiming thread's index + 1.
const UNCLAIMED: u32 = 0;
const DONE: u32 = u32::MAX;

thread_local! {
    /// Whether the analysis running on this thread read a summary still being analysed.
    static STALE: Cell<bool> = const { Cell::new(false) };
    /// On-demand analyses nested on this thread's stack.
    static NESTING: Cell<usize> = const { Cell::new(0) };
    /// Wall seconds of the analyses nested inside the one running on this thread.
    static NESTED_SECONDS: Cell<f64> = const { Cell::new(0.0) };
    /// The scope whose analysis runs on this thread (innermost) and its round.
    static CURRENT: Cell<Option<(usize, usize)>> = const { Cell::new(None) };
    /// Whether that analysis read its own summary.
    static READ_ITSELF: Cell<bool> = const { Cell::new(false) };
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
    pub fn get(self, scope: usize) -> Option<&'p Summary> {
        match self {
            SummaryTable::Settled(summaries) => summaries.get(scope),
            SummaryTable::OnDemand(table) => table.summary(scope),
        }
    }
}

/// One scope's analysis in the on-demand sweep.
pub(super) struct Done {
    pub summary: Summary,
    pub findings: Vec<RawFinding>,
    pub incomplete: Incomplete,
    /// Whether it read a summary still being analysed (`STALE`).
    pub stale: bool,
    /// Wall seconds of its own analyses, without the analyses nested in them.
    pub seconds: f64,
    /// Its analyses (rounds, for a scope that calls itself).
    pub analyses: u32,
    /// Whether its summary was joined with the one before (`solver::widen`).
    pub widened: bool,
}

/// One round of a scope's analysis.
struct Round {
    summary: Summary,
    findings: Vec<RawFinding>,
    incomplete: Incomplete,
    stale: bool,
    read_itself: bool,
    seconds: f64,
}

/// Why reads were stale, counted for `FLOWSIGHT_DEBUG_ANALYSIS`.
#[derive(Default)]
pub(super) struct StaleReads {
    /// The scope was being analysed on the reader's own stack (a call cycle).
    pub cycle: AtomicUsize,
    /// Another thread was analysing it.
    pub other_thread: AtomicUsize,
    /// Nesting it would have passed `MAX_NESTING`.
    pub too_deep: AtomicUsize,
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
    done: Vec<OnceLock<Done>>,
    /// The summaries of the rounds of a scope that calls itself, read by the next round.
    rounds: Vec<OnceLock<Box<[OnceLock<Summary>]>>>,
    pub stale_reads: StaleReads,
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
            done: (0..count).map(|_| OnceLock::new()).collect(),
            rounds: (0..count).map(|_| OnceLock::new()).collect(),
            stale_reads: StaleReads::default(),
        }
    }

    /// Analyses `scope` unless a thread claimed it already (as a callee read on demand).
    pub fn analyse_root(&'p self, scope: usize) {
        if self.claim(scope) {
            self.run(scope);
        }
    }

    /// Each scope of the sweep with its analysis, in the order of `sweep`.
    pub fn into_results(self, sweep: &[usize]) -> Vec<(usize, Done)> {
        let mut done = self.done;
        sweep
            .iter()
            .map(|&scope| (scope, done[scope].take().expect("every scope of the on-demand sweep is analysed before it ends")))
            .collect()
    }

    fn claim(&self, scope: usize) -> bool {
        let me = rayon::current_thread_index().map_or(1, |index| index as u32 + 1);
        self.claims[scope].compare_exchange(UNCLAIMED, me, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }

    fn summary(&'p self, scope: usize) -> Option<&'p Summary> {
        static EMPTY: std::sync::LazyLock<Summary> = std::sync::LazyLock::new(Summary::default);
        if !*self.in_sweep.get(scope)? {
            return self.settled.get(scope);
        }
        let claim = &self.claims[scope];
        if claim.load(Ordering::Acquire) == UNCLAIMED {
            if NESTING.with(Cell::get) >= MAX_NESTING {
                self.stale_reads.too_deep.fetch_add(1, Ordering::Relaxed);
                STALE.with(|stale| stale.set(true));
                return Some(&EMPTY);
            }
            if self.claim(scope) {
                self.run(scope);
            }
        }
        match claim.load(Ordering::Acquire) {
            DONE => self.done[scope].get().map(|done| &done.summary),
            _ if CURRENT.with(Cell::get).is_some_and(|(current, _)| current == scope) => {
                READ_ITSELF.with(|read| read.set(true));
                let round = CURRENT.with(Cell::get).map_or(0, |(_, round)| round);
                match round.checked_sub(1) {
                    Some(before) => self.rounds[scope].get().and_then(|rounds| rounds[before].get()),
                    None => Some(&EMPTY),
                }
            }
            owner => {
                let me = rayon::current_thread_index().map_or(1, |index| index as u32 + 1);
                let reason = if owner == me { &self.stale_reads.cycle } else { &self.stale_reads.other_thread };
                reason.fetch_add(1, Ordering::Relaxed);
                STALE.with(|stale| stale.set(true));
                Some(&EMPTY)
            }
        }
    }

    /// Analyses the claimed `scope` with its callees' summaries read from this table; a scope
    /// that reads itself round after round until its summary settles.
    fn run(&'p self, scope: usize) {
        let mut last = self.round(scope, 0);
        let (mut analyses, mut widened) = (1u32, false);
        let mut seconds = last.seconds;
        // Solved on the spot as a component of one member: the first round against the empty
        // summary, the next ones while the signature changes (`solver::Solver::sweep`).
        if last.read_itself && !last.stale && last.summary.signature() != Summary::default().signature() {
            let rounds = self.rounds[scope].get_or_init(|| (0..LOCAL_ROUNDS).map(|_| OnceLock::new()).collect());
            for round in 1.. {
                if round >= LOCAL_ROUNDS {
                    last.stale = true;
                    break;
                }
                let _ = rounds[round - 1].set(std::mem::take(&mut last.summary));
                let before = rounds[round - 1].get().expect("set above");
                let mut next = self.round(scope, round);
                analyses += 1;
                seconds += next.seconds;
                if next.stale {
                    last = next;
                    break;
                }
                if round + 1 > super::solver::WIDEN_AFTER {
                    next.summary = super::solver::widen(before, next.summary);
                    next.incomplete.fields_collapsed += super::fields::compact_fields(&mut next.summary);
                    widened = true;
                }
                let changed = next.summary.signature() != before.signature();
                last = next;
                if !changed {
                    break;
                }
            }
        }
        let Round { summary, findings, incomplete, stale, .. } = last;
        let _ = self.done[scope].set(Done { summary, findings, incomplete, stale, seconds, analyses, widened });
        self.claims[scope].store(DONE, Ordering::Release);
    }

    /// One analysis of `scope`, its reads of itself seeing round `round - 1`'s summary.
    fn round(&'p self, scope: usize, round: usize) -> Round {
        let outer_stale = STALE.with(|stale| stale.replace(false));
        let outer_read = READ_ITSELF.with(|read| read.replace(false));
        let outer_current = CURRENT.with(|current| current.replace(Some((scope, round))));
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
        let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("a pool of one thread");
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
    fn a_cycle_read_on_the_stack_is_analysed_again_in_the_next_sweep() {
        // `ping` → `pong` → `ping`: `pong` reads `ping` while `ping` is being analysed.
        let text = "import os\nfrom flask import request\n\n\ndef view():\n    ping(request.args.get(\"q\"), 3)\n\n\n\
                    def ping(command, depth):\n    if depth:\n        pong(command, depth - 1)\n\n\n\
                    def pong(command, depth):\n    os.system(command)\n    ping(command, depth)\n";
        let (stats, findings) = analysed(text, true);
        assert!(stats.sweeps >= 2, "{stats:?}");
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(findings, analysed(text, false).1);
    }
}
