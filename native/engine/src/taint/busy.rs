//! How the pool's cores were used during a solve, for `FLOWSIGHT_DEBUG_ANALYSIS`: per batch
//! its scopes, wall time, the CPU time of its analyses (each on its worker thread's clock, so
//! the numbers do not depend on what else the machine runs) and the CPU the calling thread
//! spent on the batch's results (serial: one core alone).
//!
//! Two measures of idle cores per batch, with `threads` workers:
//! - `idle` = threads × wall − CPU: what the run lost, load included;
//! - `bound` = threads × max(CPU / threads, longest analysis) − CPU: what any schedule with a
//!   barrier after the batch must lose, whatever the load (its longest analysis runs alone).
//!
//! `idle` splits into where it went (the three parts sum to it):
//! - `preempted` = Σ (wall − CPU) of each analysis: its thread was runnable but off the core
//!   (other processes, page faults) — the load's part;
//! - `tail` = Σ over the workers of the wall from their last analysis to the batch's end (the
//!   whole batch for a worker that ran none): the barrier's wait, imbalance included;
//! - the rest: before a worker's first analysis and between two (waking, splitting, stealing).
//!
//! `imbalance` = threads × (CPU of the busiest worker) − CPU: what the batch's division among
//! the workers lost, on the threads' clocks — so whatever the machine's load.

/// CPU seconds the calling thread has used.
pub(super) fn thread_cpu() -> f64 {
    let time = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    time.tv_sec as f64 + time.tv_nsec as f64 * 1e-9
}

/// One batch's measures.
pub(super) struct Batch {
    pub sweep: usize,
    pub level: usize,
    pub iteration: usize,
    pub scopes: usize,
    pub wall: f64,
    pub cpu: f64,
    pub longest: f64,
    /// CPU seconds of the calling thread on the batch's results, after the batch.
    pub serial: f64,
    /// Σ (wall − CPU) over the batch's analyses.
    pub preempted: f64,
    /// Σ over the workers of the wall after their last analysis of the batch.
    pub tail: f64,
    /// threads × (CPU of the busiest worker) − CPU.
    pub imbalance: f64,
}

/// One analysis as its worker saw it: the worker, wall offsets from the batch's start, CPU.
#[derive(Clone, Copy)]
pub(super) struct Span {
    pub thread: usize,
    pub start: f64,
    pub end: f64,
    pub cpu: f64,
}

/// `preempted`, `tail` and `imbalance` of a batch of `wall` seconds on `threads` workers from
/// its spans.
pub(super) fn where_idle(spans: &[Span], threads: usize, wall: f64) -> (f64, f64, f64) {
    let preempted = spans.iter().map(|s| (s.end - s.start - s.cpu).max(0.0)).sum();
    let mut last = vec![0.0f64; threads.max(1)];
    let mut busy = vec![0.0f64; threads.max(1)];
    for span in spans {
        let slot = span.thread.min(last.len() - 1);
        last[slot] = last[slot].max(span.end);
        busy[slot] += span.cpu;
    }
    let tail = last.iter().map(|&end| (wall - end).max(0.0)).sum();
    let busiest = busy.iter().copied().fold(0.0, f64::max);
    let imbalance = (busy.len() as f64 * busiest - busy.iter().sum::<f64>()).max(0.0);
    (preempted, tail, imbalance)
}

impl Batch {
    /// Core-seconds the run lost in this batch: `threads` × wall − CPU.
    pub fn idle(&self, threads: usize) -> f64 {
        (threads as f64 * self.wall - self.cpu).max(0.0)
    }

    /// Core-seconds any schedule ending the batch with a barrier loses on `threads` cores:
    /// the batch takes at least its CPU spread evenly, and at least its longest analysis.
    pub fn barrier_bound(&self, threads: usize) -> f64 {
        let threads = threads as f64;
        (threads * (self.cpu / threads).max(self.longest) - self.cpu).max(0.0)
    }
}

/// The batches of one run.
#[derive(Default)]
pub(super) struct Log {
    pub batches: Vec<Batch>,
    /// Wall seconds of the calling thread between sweeps (levels, env changes).
    pub between: f64,
}

impl Log {
    /// Per sweep and over the run: wall, CPU, serial seconds and the idle measures; the
    /// batches whose division among the workers lost most.
    pub fn report(&self, threads: usize) {
        let idle = |b: &Batch| b.idle(threads);
        let bound = |b: &Batch| b.barrier_bound(threads);
        let sweeps = self.batches.iter().map(|b| b.sweep).max().unwrap_or(0);
        for sweep in 1..=sweeps {
            let batches: Vec<&Batch> = self.batches.iter().filter(|b| b.sweep == sweep).collect();
            let sum = |f: &dyn Fn(&Batch) -> f64| batches.iter().map(|b| f(b)).sum::<f64>();
            eprintln!(
                "sweep {sweep}: {} batches, {} analyses, wall {:.3}s, cpu {:.3}s, serial {:.3}s, idle {:.3} core-s (preempted {:.3}, tail {:.3}, gaps {:.3}), imbalance {:.3} core-s, barrier bound {:.3} core-s",
                batches.len(),
                batches.iter().map(|b| b.scopes).sum::<usize>(),
                sum(&|b| b.wall),
                sum(&|b| b.cpu),
                sum(&|b| b.serial),
                sum(&idle),
                sum(&|b| b.preempted),
                sum(&|b| b.tail),
                sum(&|b| (b.idle(threads) - b.preempted - b.tail).max(0.0)),
                sum(&|b| b.imbalance),
                sum(&bound),
            );
        }
        let mut worst: Vec<&Batch> = self.batches.iter().collect();
        worst.sort_by(|a, b| b.imbalance.total_cmp(&a.imbalance));
        for b in worst.iter().take(12) {
            eprintln!(
                "  sweep {} level {} iteration {}: {} scopes, wall {:.3}s, cpu {:.3}s, longest {:.3}s, bound {:.3} core-s, imbalance {:.3} core-s",
                b.sweep,
                b.level,
                b.iteration,
                b.scopes,
                b.wall,
                b.cpu,
                b.longest,
                bound(b),
                b.imbalance
            );
        }
        eprintln!("between sweeps {:.3}s", self.between);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(wall: f64, cpu: f64, longest: f64) -> Batch {
        Batch { sweep: 1, level: 0, iteration: 1, scopes: 3, wall, cpu, longest, serial: 0.0, preempted: 0.0, tail: 0.0, imbalance: 0.0 }
    }

    #[test]
    fn a_batch_whose_longest_analysis_is_most_of_it_leaves_a_core_idle() {
        // 1 s of CPU, 0.8 s of it one analysis: 2 cores need 0.8 s, 0.6 core-s idle.
        let b = batch(0.9, 1.0, 0.8);
        assert!((b.barrier_bound(2) - 0.6).abs() < 1e-9);
        assert!((b.idle(2) - 0.8).abs() < 1e-9);
    }

    #[test]
    fn a_batch_of_even_analyses_loses_nothing_to_its_barrier() {
        let b = batch(0.5, 1.0, 0.1);
        assert_eq!(b.barrier_bound(2), 0.0);
        assert_eq!(b.idle(2), 0.0);
        // One thread never waits at a barrier.
        assert_eq!(batch(1.0, 1.0, 0.8).barrier_bound(1), 0.0);
    }

    #[test]
    fn idle_splits_into_preemption_and_the_wait_after_each_workers_last_analysis() {
        // Worker 0: one analysis 0.0–0.5 s on 0.4 s of CPU; worker 1: 0.0–0.2 s and 0.25–1.0 s.
        let spans = [
            Span { thread: 0, start: 0.0, end: 0.5, cpu: 0.4 },
            Span { thread: 1, start: 0.0, end: 0.2, cpu: 0.2 },
            Span { thread: 1, start: 0.25, end: 1.0, cpu: 0.75 },
        ];
        let (preempted, tail, imbalance) = where_idle(&spans, 2, 1.0);
        assert!((preempted - 0.1).abs() < 1e-9);
        // Worker 0 waits 0.5 s for the batch's end, worker 1 not at all; its 0.05 s gap is the rest.
        assert!((tail - 0.5).abs() < 1e-9);
        // Worker 1 ran 0.95 s of CPU, worker 0 0.4 s: 2 × 0.95 − 1.35.
        assert!((imbalance - 0.55).abs() < 1e-9);
        // A worker that ran nothing waited the whole batch.
        assert!((where_idle(&spans[..1], 2, 1.0).1 - 1.5).abs() < 1e-9);
    }

    #[test]
    fn the_thread_clock_counts_this_threads_work() {
        let start = thread_cpu();
        let mut x = 0u64;
        for i in 0..2_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        assert!(thread_cpu() > start);
    }
}
