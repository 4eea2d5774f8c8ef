//! What an edit keeps of the slice cache (`SliceCache`), decided per scope.
//!
//! Invariants (`tests/slice_incremental.rs`: slices after random edits equal slices from
//! scratch):
//! - The per-scope parts (linked graphs, solved PDGs, effects, call sites) are indexed by
//!   scope and kept only while the program's *interface* is unchanged: the same files in the
//!   same order, and per file the same module names, imports, constants and aliases, the same
//!   scopes in order (kind, qualified name — a lambda's without its offset, which every edit
//!   above a module- or class-level lambda changes: `without_lambda_offsets` —, class,
//!   receiver, parameters, decorators) and the same classes (bases, methods). Then scope
//!   indices are the same, and a call in a scope whose text is unchanged resolves as before. Any other change starts over (scope graphs
//!   survive it: they are keyed by identity and content, `graph::GraphCache`).
//! - A scope whose text changed (`Scope::text_hash`), and the module body of every changed
//!   file (its steps hold absolute positions), is linked again: its call sites replace its
//!   old ones in every cached caller list, and its solved PDG is dropped.
//! - Effects are dropped for the changed scopes and every scope whose effects were computed
//!   from theirs (transitively); the changed scopes' effects are computed again at once, and
//!   when every recomputed effect equals the old one, the dropped ones are restored (their
//!   inputs are unchanged). Otherwise they stay dropped and so do the solved PDGs that used
//!   any of them. So a one-line edit keeps every PDG but the edited function's and its
//!   module body's.

use std::cell::OnceCell;

use rustc_hash::{FxHashMap, FxHashSet};
use sha2::{Digest, Sha256};

use crate::program::{text_of, Program, ScopeKind};

use super::{Effects, Sdg};

/// What the per-scope parts of a `SliceCache` were computed for.
#[derive(Default)]
pub struct Fingerprint {
    /// Per file: its path and interface hash (`interface_hash`).
    files: Vec<(String, [u8; 32])>,
    /// Per scope: its text hash.
    scopes: Vec<[u8; 32]>,
}

/// What the last refreshes did (tests and the bench read them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RefreshStats {
    /// Refreshes that started over (first use, or the program's interface changed).
    pub resets: usize,
    /// Refreshes that kept the per-scope parts and dropped only what the changes touched.
    pub kept: usize,
    /// Scopes linked again by the last refresh (their text changed, or a changed file's module body).
    pub relinked: usize,
    /// Whether the last refresh's recomputed effects differed (their readers' PDGs dropped).
    pub effects_changed: bool,
    /// Callees whose call-site lists the last refresh looked through for the relinked scopes'
    /// old sites (the callees their old links named, not every callee's list).
    pub call_lists_examined: usize,
    /// PDGs solved since the cache was made (`SliceCache::stats` fills it in).
    pub pdgs_solved: usize,
}

/// SHA-256 of what other scopes' linking reads of a file (see the module invariants).
pub fn interface_hash(program: &Program<'_>, file: usize, scopes: &[usize]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    let mut put = |bytes: &[u8]| {
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    };
    let module = &program.modules[file];
    put(module.name.as_bytes());
    put(&module.names_hash);
    put(format!("{:?} {}", module.search_paths, module.is_package).as_bytes());
    let text = program.text(file);
    for &scope in scopes {
        let info = &program.scopes[scope];
        put(&[u8::from(info.kind == ScopeKind::Module), u8::from(info.implicit_receiver)]);
        put(without_lambda_offsets(&info.qualified_name).as_bytes());
        put(info.class.as_deref().unwrap_or("").as_bytes());
        put(&info.depth.to_le_bytes());
        for param in &info.params {
            put(param.name.as_bytes());
            put(&[u8::from(param.variadic)]);
        }
        for &decorator in &info.decorators {
            put(text_of(text, decorator).as_bytes());
        }
    }
    let mut classes: Vec<(&String, &crate::program::ClassInfo)> = program.file_classes[file].iter().collect();
    classes.sort_unstable_by_key(|&(name, _)| name);
    for (name, class) in classes {
        put(name.as_bytes());
        for base in &class.bases {
            put(base.as_bytes());
        }
        let mut methods: Vec<(&String, &usize)> = class.methods.iter().collect();
        methods.sort_unstable();
        for (method, scope) in methods {
            put(method.as_bytes());
            put(&scope.to_le_bytes());
        }
    }
    hasher.finalize().into()
}

/// A qualified name with each lambda's offset left out (`m.<lambda@120>.<lambda@4>` →
/// `m.<lambda@>.<lambda@>`): a lambda is named by its offset in the body of the scope around
/// it (`program::lambda_name`), which for a lambda at module or class level (a default value,
/// `property(lambda self: …)`) is the file, so every edit above it renames it. The scopes are
/// hashed in order, so the interface still tells them apart; nothing that links an unchanged
/// scope reads the offset (a call reaches a lambda through a name bound in its own text, whose
/// offsets are relative to it, or through a module's alias or dispatch table, which the
/// module's `names_hash` holds with the offset).
fn without_lambda_offsets(qualified: &str) -> std::borrow::Cow<'_, str> {
    const MARK: &str = "<lambda@";
    if !qualified.contains(MARK) {
        return std::borrow::Cow::Borrowed(qualified);
    }
    let mut out = String::with_capacity(qualified.len());
    let mut rest = qualified;
    while let Some(at) = rest.find(MARK) {
        let after = at + MARK.len();
        out.push_str(&rest[..after]);
        rest = rest[after..].trim_start_matches(|c: char| c.is_ascii_digit());
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

fn cells<T>(count: usize) -> Vec<OnceCell<T>> {
    (0..count).map(|_| OnceCell::new()).collect()
}

impl Sdg<'_, '_> {
    /// Brings the cache up to date with the program: `changed` names the files whose text
    /// changed since it was last used (`None`: every file may have).
    pub(super) fn refresh(&mut self, changed: Option<&FxHashSet<String>>) {
        let program = self.program;
        let fingerprint = &self.cache.fingerprint;
        let same_files = fingerprint.files.len() == program.files.len()
            && fingerprint.scopes.len() == program.scopes.len()
            && fingerprint.files.iter().zip(&program.files).all(|((path, _), file)| *path == file.path);
        if !same_files {
            return self.reset();
        }
        let files: Vec<usize> =
            (0..program.files.len()).filter(|&file| changed.is_none_or(|c| c.contains(&program.files[file].path))).collect();
        if files.is_empty() {
            return;
        }
        let mut changed_scopes: Vec<usize> = Vec::new();
        for &file in &files {
            if interface_hash(program, file, &self.scopes_of_file[file]) != self.cache.fingerprint.files[file].1 {
                return self.reset();
            }
            for &scope in &self.scopes_of_file[file] {
                let info = &program.scopes[scope];
                if info.kind == ScopeKind::Module || info.text_hash != self.cache.fingerprint.scopes[scope] {
                    changed_scopes.push(scope);
                    self.cache.fingerprint.scopes[scope] = info.text_hash;
                }
            }
        }
        self.cache.stats.kept += 1;
        self.cache.stats.relinked = changed_scopes.len();
        self.cache.stats.effects_changed = false;
        let mut old_module_names = Vec::new();
        for &file in &files {
            self.cache.symbols[file] = OnceCell::new();
            self.cache.scopes_by_start[file] = OnceCell::new();
            let Some(&first) = self.scopes_of_file[file].first() else { continue };
            let module = program.scopes[first].module;
            if let Some(names) = self.cache.module_names[module].take() {
                old_module_names.push((module, names));
            }
        }
        // The attribute names the changed files may read from instances.
        for &file in &files {
            self.cache.instance_reads.get_mut().rescan(file, program.text(file));
        }
        // Which files may mention each name asked about: the changed files asked again.
        for files_here in self.cache.mentions.get_mut().iter_mut() {
            let (name, listed) = files_here;
            let mut updated: Vec<usize> = listed.iter().copied().filter(|file| !files.contains(file)).collect();
            updated.extend(files.iter().copied().filter(|&file| program.files[file].may_mention(name)));
            updated.sort_unstable();
            if updated != **listed {
                *listed = std::sync::Arc::new(updated);
            }
        }
        let changed_set: FxHashSet<usize> = changed_scopes.iter().copied().collect();
        // A caller's sites are listed only under the callees of its linked calls (the lists
        // are made from them, and a scope linked again has its old sites taken out here), so
        // the changed scopes' old sites are under the callees their old links name: those
        // lists are filtered, not every callee's.
        let mut old_callees: FxHashSet<usize> = FxHashSet::default();
        for &scope in &changed_scopes {
            if let Some(old) = self.cache.linked[scope].get() {
                old_callees.extend(old.calls.iter().map(|&(_, _, callee)| callee));
            }
            self.cache.linked[scope] = OnceCell::new();
            self.cache.solved[scope] = OnceCell::new();
        }
        // Call sites: the changed scopes' old ones out, their new ones in.
        self.cache.stats.call_lists_examined = old_callees.len();
        {
            let callers = self.cache.callers.get_mut();
            for callee in old_callees {
                let Some(sites) = callers.get_mut(&callee) else { continue };
                if sites.iter().any(|(caller, _, _)| changed_set.contains(caller)) {
                    *sites = std::sync::Arc::new(sites.iter().copied().filter(|(caller, _, _)| !changed_set.contains(caller)).collect());
                }
            }
        }
        let mut added: FxHashMap<usize, Vec<(usize, usize, usize)>> = FxHashMap::default();
        for &scope in &changed_scopes {
            for &(step, call, callee) in &self.extracted(scope).calls {
                if self.cache.callers.borrow().contains_key(&callee) {
                    added.entry(callee).or_default().push((scope, step, call));
                }
            }
        }
        {
            let callers = self.cache.callers.get_mut();
            for (callee, new_sites) in added {
                if let Some(sites) = callers.get_mut(&callee) {
                    let mut all: Vec<(usize, usize, usize)> = sites.iter().copied().chain(new_sites).collect();
                    all.sort_unstable();
                    all.dedup();
                    *sites = std::sync::Arc::new(all);
                }
            }
        }
        // Effects: seeds are the changed scopes, and every function of a module whose names changed.
        let mut seeds: Vec<usize> = changed_scopes.clone();
        for (module, old) in old_module_names {
            if *self.module_names(module) != old {
                let file = program.modules[module].file;
                seeds.extend(self.scopes_of_file[file].iter().copied().filter(|&s| program.scopes[s].kind == ScopeKind::Function));
            }
        }
        self.refresh_effects(&seeds);
    }

    /// Drops the effects of `seeds` and of every scope computed from them, recomputes the
    /// seeds', and restores the others when nothing recomputed differs (module invariants).
    fn refresh_effects(&mut self, seeds: &[usize]) {
        let mut dropped: FxHashMap<usize, Option<Effects>> = FxHashMap::default();
        {
            let effects = self.cache.effects.get_mut();
            let readers = self.cache.effect_readers.get_mut();
            let mut stack: Vec<usize> = seeds.to_vec();
            while let Some(scope) = stack.pop() {
                if dropped.contains_key(&scope) {
                    continue;
                }
                dropped.insert(scope, effects[scope].take());
                stack.extend(readers.get(&scope).into_iter().flatten().copied());
            }
        }
        let mut same = true;
        for &seed in seeds {
            if matches!(dropped.get(&seed), Some(Some(_))) {
                self.effects(seed);
            }
        }
        {
            let effects = self.cache.effects.get_mut();
            for (&scope, old) in &dropped {
                if let Some(new) = &effects[scope] {
                    if old.as_ref() != Some(new) {
                        same = false;
                    }
                }
            }
            if same {
                for (scope, old) in dropped {
                    if effects[scope].is_none() {
                        effects[scope] = old;
                    }
                }
                return;
            }
        }
        self.cache.stats.effects_changed = true;
        let readers = self.cache.solved_readers.get_mut();
        let mut solved_dropped = Vec::new();
        for scope in dropped.keys() {
            solved_dropped.extend(readers.get(scope).into_iter().flatten().copied());
        }
        for scope in solved_dropped {
            self.cache.solved[scope] = OnceCell::new();
        }
    }

    /// Starts the per-scope parts over for this program (scope graphs and lowered IR kept).
    fn reset(&mut self) {
        let program = self.program;
        let count = program.scopes.len();
        let cache = &mut self.cache;
        cache.linked = cells(count);
        cache.solved = cells(count);
        *cache.effects.get_mut() = vec![None; count];
        cache.effect_readers.get_mut().clear();
        cache.solved_readers.get_mut().clear();
        cache.callers.get_mut().clear();
        cache.mentions.get_mut().clear();
        *cache.instance_reads.get_mut() = Default::default();
        cache.bound_names = OnceCell::new();
        cache.module_names = cells(program.modules.len());
        cache.symbols = cells(program.files.len());
        cache.scopes_by_start = cells(program.files.len());
        cache.fingerprint = Fingerprint {
            files: (0..program.files.len())
                .map(|file| (program.files[file].path.clone(), interface_hash(program, file, &self.scopes_of_file[file])))
                .collect(),
            scopes: program.scopes.iter().map(|scope| scope.text_hash).collect(),
        };
        let paths: FxHashSet<&str> = program.files.iter().map(|file| file.path.as_str()).collect();
        cache.graphs.get_mut().retain_files(&paths);
        cache.stats.resets += 1;
        cache.stats.relinked = 0;
        cache.stats.effects_changed = false;
        cache.stats.call_lists_examined = 0;
    }
}
