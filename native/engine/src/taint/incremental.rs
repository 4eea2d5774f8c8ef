//! Incremental analysis: per-function results cached by (qualified name, file, text, place,
//! module names) and reused; only changed functions, functions whose looked-up names changed
//! meaning, callers of changed summaries and readers of changed `Env` entries are analysed again.
//!
//! Invariants:
//! - Equal to a from-scratch analysis (property-tested in `tests/incremental.rs`,
//!   `tests/taint_env.rs` and `tests/taint_solver.rs`).
//! - Cached places are moved with the text (`rebase`): an edit re-analyses the functions whose
//!   text it touched (and what depends on their results), not the functions it moved.
//! - Names are the only dependence across files besides summaries and the `Env`: a scope's
//!   result is reused only while every name it looked up (`Summary::lookups`) has the same
//!   facts (`program::name_facts`) — so adding, removing or renaming a function or file, or
//!   changing a class's bases, re-analyses the scopes that looked the names up, no others.

use std::collections::{HashMap, HashSet};

use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};

use crate::program::Program;
use crate::rules::RuleSet;

use super::env::{enclosing_functions, Env};
use super::findings::{finalize, Finding, RawFinding};
use super::rebase::{PlaceMap, TextChange};
use super::summary::{Summary, ANY_NAME};
use super::{debug_analysis, solver, Incomplete, TaintResult};

/// What a scope's cached analysis is valid for: same rules, same file list, same function
/// text at the same place, same module-level names (imports, constants, aliases).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(super) struct ScopeKey {
    pub(super) qualified_name: std::sync::Arc<str>,
    pub(super) path: std::sync::Arc<str>,
    pub(super) start: usize,
    pub(super) text_hash: [u8; 32],
    pub(super) module_hash: [u8; 32],
    /// What the scope's entry point says (`frameworks::EntryPoints::hash`; 0: not one): a
    /// registration in another file (a urls.py) changes it.
    pub(super) entry: u64,
}

/// The analysis of one run, kept to seed the next (`Workspace::analyze_taint`), and persisted
/// (`persist`). Serialised canonically: hash maps and sets as sorted lists, so equal caches
/// have equal bytes.
#[derive(Serialize, Deserialize)]
pub struct AnalysisCache {
    pub(super) rules: String,
    pub(super) files: Vec<String>,
    /// Keys of the scopes in program order.
    pub(super) keys: Vec<ScopeKey>,
    pub(super) summaries: Vec<Summary>,
    pub(super) raw: Vec<Vec<RawFinding>>,
    pub(super) incomplete: Vec<Incomplete>,
    #[serde(with = "sorted_sets")]
    pub(super) callers: Vec<HashSet<usize>>,
    /// Per file: what other files may look up by name there (`program::name_facts`).
    #[serde(with = "sorted_map")]
    pub(super) names: FxHashMap<String, Vec<(u64, u64)>>,
    /// The env the summaries were last computed against.
    pub(super) env: Env,
    /// The non-taint checks' findings per file (`checks`).
    pub(super) checks: super::checks::CheckCache,
    /// Per scope, the files (indices into `files`, sorted) its summary and findings hold places
    /// in, so an edit rebases only the results holding a place in a file that moved. Not
    /// persisted: a cache read from disk has none, and its first rebase finds them all.
    #[serde(skip)]
    pub(super) place_files: Vec<Box<[u32]>>,
}

/// The files `summary` and `raw` hold places in, sorted.
fn files_with_places(summary: &Summary, raw: &[RawFinding]) -> Box<[u32]> {
    let mut files: Vec<u32> = Vec::new();
    let mut note = |(file, _, _): (usize, usize, usize)| {
        files.push(file as u32);
        false
    };
    summary.any_place(&mut note);
    for finding in raw {
        note(finding.source);
        note(finding.sink);
        for step in &finding.steps {
            note((step.file, step.start, step.end));
        }
    }
    files.sort_unstable();
    files.dedup();
    files.into_boxed_slice()
}

/// Hash sets stored as sorted lists.
mod sorted_sets {
    use std::collections::HashSet;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(super) fn serialize<S: Serializer>(sets: &[HashSet<usize>], serializer: S) -> Result<S::Ok, S::Error> {
        let sorted: Vec<Vec<usize>> = sets
            .iter()
            .map(|set| {
                let mut items: Vec<usize> = set.iter().copied().collect();
                items.sort_unstable();
                items
            })
            .collect();
        sorted.serialize(serializer)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<HashSet<usize>>, D::Error> {
        Ok(Vec::<Vec<usize>>::deserialize(deserializer)?.into_iter().map(|items| items.into_iter().collect()).collect())
    }
}

/// A hash map stored as a list sorted by key.
pub(super) mod sorted_map {
    use std::hash::{BuildHasher, Hash};

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(in crate::taint) fn serialize<K, V, H, S>(map: &std::collections::HashMap<K, V, H>, serializer: S) -> Result<S::Ok, S::Error>
    where
        K: Serialize + Ord,
        V: Serialize,
        S: Serializer,
    {
        let mut entries: Vec<(&K, &V)> = map.iter().collect();
        entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
        entries.serialize(serializer)
    }

    pub(in crate::taint) fn deserialize<'de, K, V, H, D>(deserializer: D) -> Result<std::collections::HashMap<K, V, H>, D::Error>
    where
        K: Deserialize<'de> + Eq + Hash,
        V: Deserialize<'de>,
        H: BuildHasher + Default,
        D: Deserializer<'de>,
    {
        Ok(Vec::<(K, V)>::deserialize(deserializer)?.into_iter().collect())
    }
}

impl AnalysisCache {
    /// Whether the parts line up (one entry per scope, scope and file indices in range), so a
    /// cache read from disk cannot make the analysis index out of bounds.
    pub fn check(&self) -> Result<(), String> {
        let count = self.keys.len();
        if [self.summaries.len(), self.raw.len(), self.incomplete.len(), self.callers.len()].iter().any(|&len| len != count) {
            return Err("per-scope lists of different lengths".into());
        }
        let files = self.files.len();
        let mut out_of_range = |(file, start, end): (usize, usize, usize)| file >= files || start > end;
        for (summary, raw) in self.summaries.iter().zip(&self.raw) {
            if summary.resolved_callees.iter().any(|&callee| callee >= count) {
                return Err("callee out of range".into());
            }
            let bad_finding = raw.iter().any(|finding| {
                out_of_range(finding.source)
                    || out_of_range(finding.sink)
                    || finding.steps.iter().any(|step| out_of_range((step.file, step.start, step.end)))
            });
            if bad_finding || summary.any_place(&mut out_of_range) {
                return Err("place out of range".into());
            }
        }
        if self.callers.iter().flatten().any(|&caller| caller >= count) {
            return Err("caller out of range".into());
        }
        let env_places =
            self.env.states.values().flat_map(|state| state.values.iter().map(|(_, value)| value)).flat_map(|value| &value.labels);
        for label in env_places {
            if label.any_place(&mut out_of_range) {
                return Err("place out of range".into());
            }
        }
        Ok(())
    }

    /// The rules fingerprint the cache was computed with.
    pub fn rules(&self) -> &str {
        &self.rules
    }
}

/// Counts of the last incremental run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnalysisStats {
    pub scopes: usize,
    pub reused: usize,
    /// Scopes analysed (at least once) in this run; never more than `scopes`.
    pub analysed: usize,
    /// Scope analyses run (a scope whose callee changed is analysed again).
    pub analyses: usize,
    /// Parallel batches of scope analyses.
    pub rounds: usize,
    /// Passes of the solver over the call graph's levels.
    pub sweeps: usize,
    /// Summaries joined with their previous value so that recursion terminates.
    pub widened: usize,
    /// Bounds met by the current results (summed over every scope's latest analysis).
    pub limits: Incomplete,
    /// The solver stopped with scopes still dirty (never seen; reported if it happens).
    pub unfinished: bool,
    /// Previous results examined for places an edit moved: only those holding a place in a
    /// file that changed or was renumbered (an edit costs what refers to the edited file).
    pub rebase_examined: usize,
}

impl AnalysisStats {
    /// How many places of the results a bound made less precise (or, for failed scopes and an
    /// unfinished run, possibly incomplete).
    pub fn incomplete(&self) -> usize {
        self.limits.total() as usize + usize::from(self.unfinished)
    }
}

/// Keys of every scope; for files not in `changed` whose scopes line up with `previous`
/// (same names in the same places), the previous keys are taken instead of re-hashing.
pub(super) fn scope_keys_reusing(program: &Program<'_>, previous: Option<&AnalysisCache>, changed: Option<&[bool]>) -> Vec<ScopeKey> {
    let (Some(previous), Some(changed)) = (previous, changed) else { return scope_keys(program) };
    if previous.keys.len() != program.scopes.len() {
        return scope_keys(program);
    }
    let aligned = program
        .scopes
        .iter()
        .zip(&previous.keys)
        .all(|(scope, key)| *key.qualified_name == *scope.qualified_name && *key.path == *program.files[scope.file].path);
    if !aligned {
        return scope_keys(program);
    }
    let fresh = scope_keys_where(program, |scope| changed[scope.file]);
    fresh.into_iter().zip(&previous.keys).map(|(new, old)| new.unwrap_or_else(|| old.clone())).collect()
}

pub(super) fn scope_keys(program: &Program<'_>) -> Vec<ScopeKey> {
    scope_keys_where(program, |_| true).into_iter().map(|key| key.expect("every key computed")).collect()
}

pub(super) fn scope_keys_where(
    program: &Program<'_>,
    compute: impl Fn(&crate::program::Scope<'_>) -> bool + Sync,
) -> Vec<Option<ScopeKey>> {
    program
        .scopes
        .par_iter()
        .map(|scope| {
            if !compute(scope) {
                return None;
            }
            // A module scope is its whole file, wherever its first statement starts.
            let start = if scope.kind == crate::program::ScopeKind::Module { 0 } else { scope.node.start_byte() };
            let text_hash = scope.text_hash;
            Some(ScopeKey {
                qualified_name: scope.qualified_name.as_str().into(),
                path: program.files[scope.file].path.as_str().into(),
                start,
                text_hash,
                module_hash: program.modules[scope.module].names_hash,
                entry: 0,
            })
        })
        .collect()
}

/// `analyze`, reusing `previous` for scopes whose key is unchanged: only changed scopes, the
/// callers of scopes that changed or disappeared, and then callers of changed summaries are
/// analysed. Equal to a from-scratch analysis (property-tested).
pub fn analyze_incrementally(
    program: &Program<'_>,
    rules: &RuleSet,
    previous: Option<AnalysisCache>,
) -> (TaintResult, AnalysisCache, AnalysisStats) {
    analyze_incrementally_after(program, rules, previous, None, &HashMap::new())
}

/// `analyze_incrementally`, told which files changed since `previous` (their keys are the only
/// ones hashed again).
pub fn analyze_incrementally_with(
    program: &Program<'_>,
    rules: &RuleSet,
    previous: Option<AnalysisCache>,
    changed_files: Option<&HashSet<String>>,
) -> (TaintResult, AnalysisCache, AnalysisStats) {
    analyze_incrementally_after(program, rules, previous, changed_files, &HashMap::new())
}

/// Each file's scopes (a contiguous range of scope indices), by file index.
fn scope_ranges(program: &Program<'_>) -> Vec<std::ops::Range<usize>> {
    let mut ranges = vec![0..0; program.files.len()];
    for (index, scope) in program.scopes.iter().enumerate() {
        let range = &mut ranges[scope.file];
        if range.start == range.end {
            *range = index..index + 1;
        } else {
            range.end = index + 1;
        }
    }
    ranges
}

/// Moves the places of `cache` onto the current texts (see `rebase`). Returns, by old scope,
/// whether its results hold a place that is gone (they must be computed again), and how many
/// results were examined.
fn rebase_cache(
    cache: &mut AnalysisCache,
    files: &[String],
    changed_files: Option<&HashSet<String>>,
    changes: &HashMap<String, TextChange>,
) -> (Vec<bool>, usize) {
    // Without a list of changed files, places are taken to be where they were: a scope whose
    // text moved has another key, and callers holding its places see them change.
    let changed = changed_files.map(|changed| move |path: &str| changed.contains(path));
    let map = PlaceMap::new(&cache.files, files, changed.as_ref().map(|f| f as &dyn Fn(&str) -> bool), changes);
    if map.is_identity() {
        return (vec![false; cache.keys.len()], 0);
    }
    let old_file: FxHashMap<&str, usize> = cache.files.iter().enumerate().map(|(index, path)| (path.as_str(), index)).collect();
    for key in &mut cache.keys {
        if let Some(start) = old_file.get(&*key.path).and_then(|&file| map.byte(file, key.start)) {
            key.start = start;
        }
    }
    if cache.place_files.len() != cache.summaries.len() {
        cache.place_files = cache.summaries.par_iter().zip(&cache.raw).map(|(summary, raw)| files_with_places(summary, raw)).collect();
    }
    // Only results holding a place in a file that moved (renumbered, changed or gone) can hold
    // a place that moves.
    let moving: Vec<bool> = (0..cache.files.len()).map(|file| map.file_moves(file)).collect();
    let examined = cache.place_files.iter().filter(|files| files.iter().any(|&file| moving[file as usize])).count();
    let stale: Vec<bool> = cache
        .summaries
        .par_iter_mut()
        .zip(cache.raw.par_iter_mut())
        .zip(cache.place_files.par_iter_mut())
        .map(|((summary, raw), files)| {
            if !files.iter().any(|&file| moving[file as usize]) {
                return false;
            }
            let mut moves = |place| map.moves(place);
            let holds_moved = summary.any_place(&mut moves)
                || raw.iter().any(|finding| {
                    moves(finding.source)
                        || moves(finding.sink)
                        || finding.steps.iter().any(|step| moves((step.file, step.start, step.end)))
                });
            if !holds_moved {
                return false;
            }
            if map.loses_a_place(summary, raw) {
                return true;
            }
            map.move_summary(summary);
            map.move_findings(raw);
            *files = files_with_places(summary, raw);
            false
        })
        .collect();
    cache.env = map.env(&cache.env);
    cache.files = files.to_vec();
    (stale, examined)
}

/// `analyze_incrementally_with`, also told where each edited file changed (`changes`, by path):
/// results that only moved are reused with their places moved, so an edit re-analyses the
/// functions it touched, not the ones below it.
pub fn analyze_incrementally_after(
    program: &Program<'_>,
    rules: &RuleSet,
    previous: Option<AnalysisCache>,
    changed_files: Option<&HashSet<String>>,
    changes: &HashMap<String, TextChange>,
) -> (TaintResult, AnalysisCache, AnalysisStats) {
    let count = program.scopes.len();
    let timer = std::time::Instant::now();
    let files: Vec<String> = program.files.iter().map(|f| f.path.clone()).collect();
    let mut previous = previous.filter(|cache| cache.rules == rules.fingerprint);
    let previous_checks = previous.as_mut().map(|cache| std::mem::take(&mut cache.checks));
    // Places of the previous run moved onto the current texts; results that held a place of
    // changed text are stale.
    let (stale, rebase_examined) = previous.as_mut().map(|cache| rebase_cache(cache, &files, changed_files, changes)).unwrap_or_default();
    if debug_analysis() {
        eprintln!("rebased {:?}: {rebase_examined} results examined", timer.elapsed());
    }
    // Which files changed, by file index (None: treat every file as changed).
    let changed_files: Option<Vec<bool>> =
        changed_files.map(|changed| program.files.iter().map(|file| changed.contains(&file.path)).collect());
    let mut keys = scope_keys_reusing(program, previous.as_ref(), changed_files.as_deref());
    if debug_analysis() {
        eprintln!("scope keys {:?}", timer.elapsed());
    }
    // Entry points depend on every file (registrations): found afresh, part of every key.
    let entries = crate::frameworks::entry_points(program);
    for (scope, key) in keys.iter_mut().enumerate() {
        key.entry = entries.hash(program, scope);
    }
    if debug_analysis() {
        eprintln!("keys {:?}", timer.elapsed());
    }
    let mut summaries: Vec<Summary> = vec![Summary::default(); count];
    let mut raw: Vec<Vec<RawFinding>> = (0..count).map(|_| Vec::new()).collect();
    let mut incomplete: Vec<Incomplete> = vec![Incomplete::default(); count];
    let mut callers: Vec<HashSet<usize>> = vec![HashSet::new(); count];
    // Empty when not known for every scope (then the next rebase finds them all).
    let mut place_files: Vec<Box<[u32]>> = Vec::new();
    let mut dirty: Vec<usize> = (0..count).collect();
    let mut reused = 0;
    let enclosing = enclosing_functions(program);
    if debug_analysis() {
        eprintln!("allocated {:?}", timer.elapsed());
    }
    // Names other files may look up, per file: refreshed for changed files, compared with the
    // previous run's to find the names whose lookups changed meaning.
    let mut names = previous.as_mut().map(|cache| std::mem::take(&mut cache.names)).unwrap_or_default();
    let previous_env = previous.as_mut().map(|cache| std::mem::take(&mut cache.env)).unwrap_or_default();
    let ranges = scope_ranges(program);
    let mut changed_names: FxHashSet<u64> = FxHashSet::default();
    {
        let refresh: Vec<usize> = (0..program.files.len())
            .filter(|&file| {
                previous.is_none() || changed_files.as_ref().is_none_or(|changed| changed[file]) || !names.contains_key(&files[file])
            })
            .collect();
        let fresh: Vec<(usize, Vec<(u64, u64)>)> =
            refresh.par_iter().map(|&file| (file, crate::program::name_facts(program, file, ranges[file].clone()))).collect();
        let mut removed_files: Vec<String> = Vec::new();
        let present: FxHashSet<&str> = files.iter().map(String::as_str).collect();
        for path in names.keys() {
            if !present.contains(path.as_str()) {
                removed_files.push(path.clone());
            }
        }
        for path in removed_files {
            for (name, _) in names.remove(&path).unwrap_or_default() {
                changed_names.insert(name);
            }
        }
        for (file, facts) in fresh {
            let old = names.insert(files[file].clone(), facts).unwrap_or_default();
            let new = &names[&files[file]];
            // Names whose facts differ (symmetric difference of two sorted lists).
            let (mut i, mut j) = (0, 0);
            while i < old.len() || j < new.len() {
                match (old.get(i), new.get(j)) {
                    (Some(a), Some(b)) if a == b => (i, j) = (i + 1, j + 1),
                    (Some(a), Some(b)) if a < b => {
                        changed_names.insert(a.0);
                        i += 1;
                    }
                    (Some(_), Some(b)) | (None, Some(b)) => {
                        changed_names.insert(b.0);
                        j += 1;
                    }
                    (Some(a), None) => {
                        changed_names.insert(a.0);
                        i += 1;
                    }
                    (None, None) => unreachable!(),
                }
            }
        }
    }
    if debug_analysis() {
        eprintln!("names {:?}", timer.elapsed());
    }
    // Most edits change no name: then no scope's lookups are read at all.
    let looked_up_changed = |summary: &Summary| {
        !changed_names.is_empty() && summary.lookups.iter().any(|name| *name == ANY_NAME || changed_names.contains(name))
    };
    // Fast path: the same scopes in the same order (no function added, removed or renamed):
    // everything lines up by index, only changed keys are analysed.
    let previous = match previous {
        Some(mut cache)
            if cache.keys.len() == count
                && cache.keys.iter().zip(&keys).all(|(old, new)| old.qualified_name == new.qualified_name && old.path == new.path) =>
        {
            let changed: Vec<usize> =
                (0..count).filter(|&s| cache.keys[s] != keys[s] || stale[s] || looked_up_changed(&cache.summaries[s])).collect();
            summaries = std::mem::take(&mut cache.summaries);
            raw = std::mem::take(&mut cache.raw);
            incomplete = std::mem::take(&mut cache.incomplete);
            callers = std::mem::take(&mut cache.callers);
            place_files = std::mem::take(&mut cache.place_files);
            for &scope in &changed {
                raw[scope].clear();
                incomplete[scope] = Incomplete::default();
            }
            reused = count - changed.len();
            dirty = changed;
            None
        }
        other => other,
    };
    if let Some(mut cache) = previous {
        // Slow path: match scopes by key. A scope is reused when its key is unchanged, its
        // results hold no place that is gone and no name it looked up changed meaning.
        let cache_keys: FxHashMap<ScopeKey, usize> =
            std::mem::take(&mut cache.keys).into_iter().enumerate().map(|(index, key)| (key, index)).collect();
        let mut mapping: Vec<Option<usize>> = vec![None; count];
        for (scope, key) in keys.iter().enumerate() {
            mapping[scope] = cache_keys.get(key).copied().filter(|&old| !stale[old] && !looked_up_changed(&cache.summaries[old]));
        }
        let mut initial: HashSet<usize> = (0..count).filter(|&s| mapping[s].is_none()).collect();
        // Callers of functions that disappeared (e.g. methods reached through instances).
        let old_by_name: FxHashMap<&str, usize> = cache_keys.iter().map(|(key, &old)| (&*key.qualified_name, old)).collect();
        let new_by_name: FxHashMap<&str, usize> = keys.iter().enumerate().map(|(scope, key)| (&*key.qualified_name, scope)).collect();
        let old_name_of: FxHashMap<usize, &str> = cache_keys.iter().map(|(key, &old)| (old, &*key.qualified_name)).collect();
        for (key, &old) in &cache_keys {
            if new_by_name.contains_key(&*key.qualified_name) {
                continue;
            }
            for caller in &cache.callers[old] {
                if let Some(&new) = old_name_of.get(caller).and_then(|name| new_by_name.get(name)) {
                    initial.insert(new);
                }
            }
        }
        if cache.place_files.len() == cache.summaries.len() {
            // Scopes analysed in this run get theirs after it; the others keep their old ones.
            place_files = mapping.iter().map(|old| old.map(|old| cache.place_files[old].clone()).unwrap_or_default()).collect();
        }
        let mut previous_index: Vec<Option<usize>> = vec![None; count];
        for scope in 0..count {
            previous_index[scope] = mapping[scope].or_else(|| old_by_name.get(&*keys[scope].qualified_name).copied());
        }
        // Every scope of this run that takes an old scope's place: its own (same key) and any
        // matched by name (a twin defined beside it) — a callee's callers must reach them all.
        let mut new_by_old: FxHashMap<usize, Vec<usize>> = FxHashMap::default();
        for (new, old) in previous_index.iter().enumerate() {
            if let Some(old) = old {
                new_by_old.entry(*old).or_default().push(new);
            }
        }
        for (new, old) in previous_index.iter().enumerate() {
            let Some(old) = old else { continue };
            // The previous summary, so a re-analysis is compared against it (moved when the
            // scope is unchanged: no other new scope maps to the same old one then).
            summaries[new] =
                if mapping[new].is_some() { std::mem::take(&mut cache.summaries[*old]) } else { cache.summaries[*old].clone() };
            // Callee edges in the numbering of this run.
            summaries[new].resolved_callees =
                summaries[new].resolved_callees.iter().filter_map(|callee| new_by_old.get(callee)).flatten().copied().collect();
            if mapping[new].is_some() {
                raw[new] = std::mem::take(&mut cache.raw[*old]);
                incomplete[new] = cache.incomplete[*old];
            }
            for caller in &cache.callers[*old] {
                callers[new].extend(new_by_old.get(caller).into_iter().flatten().copied());
            }
        }
        // Changed scopes may call anything: their callee edges are rebuilt when analysed.
        reused = count - initial.len();
        dirty = initial.into_iter().collect();
        dirty.sort_unstable();
    }
    if debug_analysis() {
        eprintln!("reuse prepared {:?}: {} dirty, {} names changed", timer.elapsed(), dirty.len(), changed_names.len());
    }
    // Reused results were computed against the previous run's env; the env is checked against
    // the summaries before the first sweep, and after every sweep that changed what some scope stores.
    let env = if reused > 0 { previous_env } else { Env::default() };
    let mut solver = solver::Solver::new(program, rules, (&enclosing, &entries), &mut summaries, &mut raw, &mut incomplete, &mut callers);
    // From scratch no call edge is known: callees are analysed as their callers read them.
    solver.on_demand_first_sweep = reused == 0 && super::on_demand::enabled();
    let env = solver.solve(dirty, env, |summaries, env| {
        let current = Env::collect(summaries);
        let changed_roots = env.changed_roots(&current);
        let readers: Vec<usize> = if changed_roots.is_empty() {
            Vec::new()
        } else {
            (0..count).filter(|&scope| summaries[scope].reads.iter().any(|root| changed_roots.contains(root))).collect()
        };
        if debug_analysis() && !changed_roots.is_empty() {
            eprintln!("env: {} names changed, {} readers", changed_roots.len(), readers.len());
        }
        (current, readers)
    });
    let (analysed, rounds, sweeps, widened, unfinished) =
        (solver.distinct_analysed(), solver.batches, solver.sweeps, solver.widened, solver.unfinished);
    let analyses = solver.analysed;
    let analysed_scopes = solver.analysed_scopes();
    if debug_analysis() {
        solver.report_costliest(25);
        eprintln!("analysed {:?}", timer.elapsed());
    }
    // Unknown for some scope (a run from scratch, a cache read from disk): left for the next
    // rebase to find, so a scan pays nothing for it.
    if place_files.len() == count {
        let fresh: Vec<Box<[u32]>> = analysed_scopes.par_iter().map(|&scope| files_with_places(&summaries[scope], &raw[scope])).collect();
        for (scope, files) in analysed_scopes.into_iter().zip(fresh) {
            place_files[scope] = files;
        }
    } else {
        place_files.clear();
    }
    if debug_analysis() {
        eprintln!("place files {:?}", timer.elapsed());
    }
    let model = if program.templates.as_deref().is_some_and(|templates| !templates.is_empty()) {
        super::template_model::template_model(program, rules, (&summaries, &incomplete, unfinished))
    } else {
        crate::templates::TemplateModel::default()
    };
    if debug_analysis() {
        eprintln!("template model {:?}", timer.elapsed());
    }
    let (mut findings, templates_unresolved) = finalize(program, rules, &model, raw.iter().flatten());
    if debug_analysis() {
        eprintln!("findings {:?}", timer.elapsed());
    }
    // After the solver, not beside it: run beside it (`rayon::join`) they took the stretch
    // between `findings` and `finalize` (≈ 0.1 s of sympy's wall) off the timeline but cost
    // ≈ 2–3 % more CPU (sympy, 6 pairs at load 4–10; cause not analysed), more than they saved.
    let unchanged: Option<Vec<bool>> = changed_files.as_ref().map(|changed| changed.iter().map(|changed| !changed).collect());
    let (check_findings, checks) = super::checks::run(program, rules, previous_checks, unchanged.as_deref());
    if !check_findings.is_empty() {
        // A call a taint finding of the same CWE already reports (untrusted data into
        // `yaml.load`) gets that finding alone: it says the same and has the path.
        let reported: FxHashSet<(&str, usize, u32)> =
            findings.iter().map(|finding| (finding.sink.path.as_str(), finding.sink.start_line, finding.cwe)).collect();
        let check_findings: Vec<Finding> = check_findings
            .into_iter()
            .filter(|check| !reported.contains(&(check.sink.path.as_str(), check.sink.start_line, check.cwe)))
            .collect();
        findings.extend(check_findings);
        super::findings::sort_findings(&mut findings);
    }
    if debug_analysis() {
        eprintln!("finalize {:?}", timer.elapsed());
    }
    let mut limits = Incomplete::default();
    for scope in &incomplete {
        limits.add(scope);
    }
    limits.templates_unresolved += templates_unresolved;
    limits.failed += entries.failed;
    let stats = AnalysisStats { scopes: count, reused, analysed, analyses, rounds, sweeps, widened, limits, unfinished, rebase_examined };
    let cache = AnalysisCache {
        rules: rules.fingerprint.clone(),
        files,
        keys,
        summaries,
        raw,
        incomplete,
        callers,
        names,
        env,
        checks,
        place_files,
    };
    (TaintResult { findings, stats }, cache, stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::Document;
    use crate::program::build_parts;

    const APP: &str =
        "import os\nfrom flask import request\n\ndef run(cmd):\n    os.system(cmd)\n\ndef view():\n    run(request.args['c'])\n";

    fn with_program(text: &str, check: impl FnOnce(&Program<'_>)) {
        let document = Document::new(text.to_string());
        let parts = build_parts(vec![("app.py".to_string(), &document)]);
        check(&Program::from_parts(&parts));
    }

    #[test]
    fn a_second_run_over_the_same_program_reuses_every_scope() {
        with_program(APP, |program| {
            let rules = RuleSet::builtin();
            let (first, cache, stats) = analyze_incrementally(program, &rules, None);
            assert_eq!(stats.reused, 0);
            assert_eq!(stats.analysed, stats.scopes, "{stats:?}");
            assert!(stats.analyses >= stats.scopes, "{stats:?}");
            let (second, _, stats) = analyze_incrementally(program, &rules, Some(cache));
            assert_eq!((stats.reused, stats.analysed), (stats.scopes, 0));
            assert_eq!(first.findings, second.findings);
            assert_eq!(second.findings.len(), 1);
        });
    }

    #[test]
    fn keys_of_unchanged_files_come_from_the_previous_run() {
        with_program(APP, |program| {
            let (_, cache, _) = analyze_incrementally(program, &RuleSet::builtin(), None);
            assert_eq!(scope_keys_reusing(program, Some(&cache), Some(&[false])), cache.keys);
            assert_eq!(scope_keys_reusing(program, Some(&cache), Some(&[true])), cache.keys);
            assert_eq!(scope_keys_reusing(program, None, None), cache.keys);
        });
        // A key changes with the function's text, not with other functions' (of the same length).
        with_program(APP, |before| {
            with_program(&APP.replace("os.system(cmd)", "os.remove(cmd)"), |after| {
                let (old, new) = (scope_keys(before), scope_keys(after));
                let changed: Vec<&str> = old.iter().zip(&new).filter(|(a, b)| a != b).map(|(a, _)| &*a.qualified_name).collect();
                assert!(changed.contains(&"app.run"));
                assert!(!changed.contains(&"app.view"));
            });
        });
    }

    #[test]
    fn incomplete_counts_every_bound_met_and_an_unfinished_run() {
        let limits = Incomplete {
            labels_merged: 1,
            expression_depth: 2,
            step_visits: 3,
            trace_elided: 4,
            failed: 5,
            places_cut: 12,
            templates_unresolved: 2,
            fields_collapsed: 3,
            flattened_scopes: 1,
            callees_bounded: 2,
        };
        assert_eq!(AnalysisStats { limits, ..AnalysisStats::default() }.incomplete(), 35);
        assert_eq!(AnalysisStats { unfinished: true, ..AnalysisStats::default() }.incomplete(), 1);
    }
}
