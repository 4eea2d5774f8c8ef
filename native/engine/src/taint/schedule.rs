//! How a batch of analyses is divided among the pool's workers: its costliest analyses first,
//! then the rest in order, in chunks that shrink as the batch ends (guided self-scheduling).
//!
//! `par_iter` cuts a batch into a few contiguous runs and splits a run further only when a
//! worker steals it; the last run a worker takes is done alone while the others wait at the
//! batch's barrier. On sympy's recursive components (a few analyses of 20–50 ms among many
//! short ones) that lost 2 of 8 core-seconds. Here a worker takes the next chunk when it
//! finishes one, a chunk being 1/(2 × workers) of the expected cost left (by cost, not count:
//! the costly scopes of one file are neighbours), so the last chunks are single analyses; the
//! costliest (each at least 1/(16 × workers) of the batch's expected cost) go first, so none
//! of them is the one the others wait for. The rest keep their order: scopes
//! of one file are neighbours, and a worker analysing them in a row finds their trees in its
//! caches (sorting a whole batch by cost cost 14 % more CPU on sympy).
//!
//! Invariant: only the order in which items start depends on `cost`; the results come back in
//! `items`' order, so a caller whose tasks read only what was fixed before the batch gets the
//! same results whatever the costs and the timing.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

/// `task` of every item on the current rayon pool: the costliest (`start_order`) started first,
/// then the others in `items`' order, each worker taking the next chunk (`take_chunk`) when
/// it finishes one; the results in `items`' order.
pub(super) fn run_batch<I, T, C, F>(items: &[I], cost: C, task: F) -> Vec<T>
where
    I: Sync,
    T: Send,
    C: Fn(&I) -> f64,
    F: Fn(&I) -> T + Sync,
{
    let workers = rayon::current_num_threads().min(items.len());
    if workers <= 1 {
        return items.iter().map(task).collect();
    }
    let costs: Vec<f64> = items.iter().map(cost).collect();
    let order = start_order(&costs, workers);
    // Expected cost of the first i items of the start order.
    let before: Vec<f64> = std::iter::once(0.0)
        .chain(order.iter().scan(0.0, |sum, &position| {
            *sum += costs[position];
            Some(*sum)
        }))
        .collect();
    let next = AtomicUsize::new(0);
    let done: Mutex<Vec<(usize, T)>> = Mutex::new(Vec::with_capacity(items.len()));
    let work = || {
        let mut mine = Vec::new();
        while let Some(chunk) = take_chunk(&next, &before, workers) {
            for &position in &order[chunk] {
                mine.push((position, task(&items[position])));
            }
        }
        done.lock().unwrap_or_else(PoisonError::into_inner).extend(mine);
    };
    rayon::scope(|scope| {
        for _ in 1..workers {
            scope.spawn(|_| work());
        }
        work();
    });
    let mut done = done.into_inner().unwrap_or_else(PoisonError::into_inner);
    done.sort_unstable_by_key(|(position, _)| *position);
    done.into_iter().map(|(_, result)| result).collect()
}

/// The order items start in: those whose cost is at least 1/(16 × `workers`) of the total, by
/// decreasing cost, then the others in their order (equal costs keep their order).
fn start_order(costs: &[f64], workers: usize) -> Vec<usize> {
    let heavy = costs.iter().sum::<f64>() / (16 * workers) as f64;
    let (mut first, rest): (Vec<usize>, Vec<usize>) = (0..costs.len()).partition(|&i| costs[i] > 0.0 && costs[i] >= heavy);
    first.sort_by(|&a, &b| costs[b].total_cmp(&costs[a]));
    first.extend(rest);
    first
}

/// The next positions of the start order for a worker: at least one, and as many as make
/// 1/(2 × `workers`) of the expected cost left; `None` once all are taken. `before[i]` is the
/// expected cost of the first `i` positions (non-decreasing, one more entry than positions).
fn take_chunk(next: &AtomicUsize, before: &[f64], workers: usize) -> Option<std::ops::Range<usize>> {
    let len = before.len() - 1;
    let end = |start: usize| {
        let goal = before[start] + (before[len] - before[start]) / (2 * workers) as f64;
        before.partition_point(|&sum| sum < goal).clamp(start + 1, len)
    };
    let start = next.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |start| (start < len).then(|| end(start))).ok()?;
    Some(start..end(start))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(threads: usize) -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("a test pool")
    }

    #[test]
    fn results_come_back_in_the_items_order_whatever_the_costs() {
        let items: Vec<u64> = (0..500).collect();
        for threads in [1, 2, 4] {
            let squares = pool(threads).install(|| run_batch(&items, |&i| (i % 7) as f64, |&i| i * i));
            assert_eq!(squares, items.iter().map(|i| i * i).collect::<Vec<_>>());
        }
        assert!(pool(2).install(|| run_batch(&[] as &[u64], |_| 0.0, |&i| i)).is_empty());
    }

    #[test]
    fn the_costliest_items_start_first_and_the_others_keep_their_order() {
        // Total 40: on 2 workers an item of at least 40 / 32 = 1.25 goes first.
        let costs = [1.0, 9.0, 1.0, 1.0, 12.0, 1.0, 2.0, 1.0, 1.0, 11.0];
        assert_eq!(start_order(&costs, 2), vec![4, 9, 1, 6, 0, 2, 3, 5, 7, 8]);
        assert_eq!(start_order(&[0.0; 4], 2), vec![0, 1, 2, 3]);
        assert_eq!(start_order(&[1.0; 4], 2), vec![0, 1, 2, 3]);
    }

    #[test]
    fn chunks_cover_every_position_once_and_shrink_to_single_items() {
        let before: Vec<f64> = (0..=100).map(f64::from).collect();
        let next = AtomicUsize::new(0);
        let mut chunks = Vec::new();
        while let Some(chunk) = take_chunk(&next, &before, 2) {
            chunks.push(chunk);
        }
        assert_eq!(chunks.first(), Some(&(0..25)));
        assert!(chunks.windows(2).all(|w| w[0].end == w[1].start && w[0].len() >= w[1].len()));
        assert_eq!(chunks.last(), Some(&(99..100)));
        assert_eq!(take_chunk(&next, &before, 2), None);
    }

    #[test]
    fn a_chunk_holds_a_share_of_the_cost_not_of_the_count() {
        // Ten items of 10 then ninety of 0.1 (total 109): the first chunk is 1/4 of the cost.
        let costs: Vec<f64> = (0..100).map(|i| if i < 10 { 10.0 } else { 0.1 }).collect();
        let before: Vec<f64> = std::iter::once(0.0)
            .chain(costs.iter().scan(0.0, |sum, cost| {
                *sum += cost;
                Some(*sum)
            }))
            .collect();
        assert_eq!(take_chunk(&AtomicUsize::new(0), &before, 2), Some(0..3));
        // Costs of 0 still advance one item at a time.
        assert_eq!(take_chunk(&AtomicUsize::new(0), &[0.0; 4], 2), Some(0..1));
    }

    #[test]
    fn every_worker_takes_items_so_a_long_one_does_not_hold_up_the_rest() {
        // The costliest item blocks its worker until every other item ran on the other one.
        let items: Vec<usize> = (0..20).collect();
        let finished = AtomicUsize::new(0);
        let results = pool(2).install(|| {
            run_batch(
                &items,
                |&i| if i == 0 { 100.0 } else { 1.0 },
                |&i| {
                    if i == 0 {
                        while finished.load(Ordering::SeqCst) < items.len() - 1 {
                            std::thread::yield_now();
                        }
                    } else {
                        finished.fetch_add(1, Ordering::SeqCst);
                    }
                    i
                },
            )
        });
        assert_eq!(results, items);
    }
}
