//! `cargo run --release --example slice_edits -- ROOT PACKAGE`: the slice bench's "first slice
//! after a one-line edit" (`bench/run.py` `worker_slice_latency`) without Python: every `.py`
//! file of ROOT/PACKAGE loaded, analysed, slices prepared, then in the 40 biggest files holding
//! a criterion a statement added above a `return` and the slice from it timed, then the same
//! slice again (warm), with the slice cache's counters (`resets`: the whole cache started over).
//! ROOT must be absolute (the workspace's keys are paths relative to it). `ROUNDS=n` makes the
//! 40 edits n times, for a profiler.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use std::time::Instant;

use flowsight_engine::line_index::Encoding;
use flowsight_engine::parse::PositionEdit;
use flowsight_engine::workspace::{read_files, Workspace};

fn main() {
    let mut args = std::env::args().skip(1);
    let root = std::path::PathBuf::from(args.next().expect("ROOT"));
    let package = args.next().expect("PACKAGE");
    let mut files: Vec<String> = Vec::new();
    let mut stack = vec![root.join(&package)];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read_dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "py") {
                files.push(path.strip_prefix(&root).expect("under root").to_string_lossy().into_owned());
            }
        }
    }
    files.sort();
    let mut workspace = Workspace::new(&root);
    workspace.store_read_files(read_files(&root, &files, &[], None), None);
    let started = Instant::now();
    workspace.analyze_taint(&flowsight_engine::rules::RuleSet::builtin());
    eprintln!("analysis {:?}", started.elapsed());
    let started = Instant::now();
    workspace.prepare_slices(usize::MAX);
    eprintln!("prepare {:?}", started.elapsed());
    let mut criteria: Vec<(String, usize, u64)> = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(root.join(file)).unwrap_or_default();
        for (number, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("return ") {
                criteria.push((file.clone(), number, text.len() as u64));
            }
        }
    }
    let stride = (criteria.len() / 200).max(1);
    let criteria: Vec<(String, usize, u64)> = criteria.into_iter().step_by(stride).take(200).collect();
    let _ = workspace.slice(&criteria[0].0, criteria[0].1, None, false, false);
    let mut warm = Vec::new();
    for (path, line, _) in &criteria {
        let started = Instant::now();
        let _ = workspace.slice(path, *line, None, false, false);
        warm.push(started.elapsed().as_secs_f64() * 1e3);
    }
    let mut by_size = criteria.clone();
    by_size.sort_by_key(|c| std::cmp::Reverse(c.2));
    let mut after = Vec::new();
    // With `ROUNDS=n`, the 40 edits are made n times (for a profiler: each round adds another
    // statement above the same `return`s).
    let rounds: i64 = std::env::var("ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(1);
    for round in 0..rounds {
        let mut edited = std::collections::HashSet::new();
        for (path, line, size) in by_size.iter().cloned() {
            if edited.contains(&path) || edited.len() == 40 {
                continue;
            }
            edited.insert(path.clone());
            let text = workspace.text(&path).expect("loaded").to_string();
            let indent: String = text.lines().nth(line).unwrap_or("").chars().take_while(|c| c.is_whitespace()).collect();
            if round == 0 {
                workspace.update_file(&path, text, Some(1));
            }
            let edit = PositionEdit { range: Some(((line, 0), (line, 0))), new_text: format!("{indent}_edited = 0\n") };
            workspace.apply_edits(&path, 2 + round, &[edit], Encoding::Utf8).expect("edit");
            let started = Instant::now();
            let result = workspace.slice(&path, line + 1, None, false, false);
            let ms = started.elapsed().as_secs_f64() * 1e3;
            let (stats, _) = workspace.slice_cache_stats();
            let started = Instant::now();
            let again = workspace.slice(&path, line + 1, None, false, false);
            let warm_ms = started.elapsed().as_secs_f64() * 1e3;
            let lines = again.map(|r| r.files.values().map(Vec::len).sum::<usize>()).unwrap_or(0);
            eprintln!(
                "{ms:7.2} ms (again {warm_ms:6.2} ms, {lines} lines) {size:7} B {path}:{} resets {} relinked {} effects_changed {} ok {}",
                line + 2,
                stats.resets,
                stats.relinked,
                stats.effects_changed,
                result.is_ok()
            );
            after.push(ms);
        }
    }
    let p = |v: &mut Vec<f64>, f: f64| {
        v.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
        (v[v.len() / 2], v[((f * v.len() as f64) as usize).min(v.len() - 1)])
    };
    let (w50, w95) = p(&mut warm, 0.95);
    let (a50, a95) = p(&mut after, 0.95);
    println!("warm p50 {w50:.2} ms p95 {w95:.2} ms; after edit p50 {a50:.2} ms p95 {a95:.2} ms ({} edits)", after.len());
}
