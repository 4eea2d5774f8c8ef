//! Module-level state and closure variables. Names a scope does not bind (module-level state,
//! closures' free variables) are read flow-insensitively from an `Env`: the union of source
//! taint every scope stores under that name's owner (its module, or the enclosing function).
//!
//! Invariants:
//! - The `Env` is rebuilt from the summaries after every round; a scope is re-analysed whenever
//!   an env entry for a name it consulted changes (places included: `Env::changed_roots`).
//! - Every label an `Env` holds has a source origin (parameter taint travels to the callers
//!   through `Summary::param_exports` instead).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::syntax::tree::Node;
use rustc_hash::{FxHashMap, FxHashSet};

use crate::ir::lower::is_nested_name;
use crate::program::{Program, ScopeKind};
use crate::syntax::{field, FieldChild};

use super::lattice::{for_each_stored, Origin, State, Value};
use super::summary::{Export, Summary};
use super::{short, Analysis};

/// The part of an `Env` one owner holds: `(owner, written by the owner itself)`. The owner is
/// a module's name (its module-level names) or a function's qualified name (its locals, as
/// closures and lambdas see them).
pub(super) type EnvKey = (Arc<str>, bool);

/// Source taint stored into names that other scopes read, by owner; every label's origin is a
/// source (parameter taint travels through `Summary::param_exports` to the callers instead).
#[derive(Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Env {
    #[serde(with = "super::incremental::sorted_map")]
    pub(super) states: FxHashMap<EnvKey, State>,
    /// `place_hash` of every (owner, root name) with an entry.
    #[serde(serialize_with = "sorted_roots")]
    pub(super) roots: FxHashSet<u64>,
}

fn sorted_roots<S: serde::Serializer>(roots: &FxHashSet<u64>, serializer: S) -> Result<S::Ok, S::Error> {
    let mut sorted: Vec<u64> = roots.iter().copied().collect();
    sorted.sort_unstable();
    serde::Serialize::serialize(&sorted, serializer)
}

impl Env {
    pub(super) fn collect(summaries: &[Summary]) -> Env {
        let mut env = Env::default();
        for summary in summaries {
            for export in &summary.exports {
                env.states.entry((export.owner.clone(), export.by_owner)).or_default().add(&export.path, &export.value);
                env.roots.insert(place_hash(&export.owner, root_of(&export.path)));
            }
        }
        env
    }

    /// Per (owner, root name): everything stored under it, with the places of its steps.
    pub(super) fn signature(&self) -> BTreeMap<u64, Vec<EnvEntrySignature>> {
        let mut signature: BTreeMap<u64, Vec<EnvEntrySignature>> = BTreeMap::new();
        for ((owner, by_owner), state) in &self.states {
            for (path, value) in &state.values {
                let mut labels: Vec<_> = value
                    .labels
                    .iter()
                    .map(|label| {
                        let (origin, cleared, normalized) = label.key();
                        let places = label.trace.steps().iter().map(|step| (step.file, step.start, step.end)).collect();
                        (origin, cleared, normalized, places)
                    })
                    .collect();
                labels.sort();
                signature.entry(place_hash(owner, root_of(path))).or_default().push((
                    owner.to_string(),
                    *by_owner,
                    path.to_string(),
                    labels,
                ));
            }
        }
        for entries in signature.values_mut() {
            entries.sort();
        }
        signature
    }

    /// `place_hash`es of the (owner, root name)s whose entries differ between `self` and `other`.
    pub(super) fn changed_roots(&self, other: &Env) -> FxHashSet<u64> {
        let (old, new) = (self.signature(), other.signature());
        let mut changed: FxHashSet<u64> = FxHashSet::default();
        for (root, entries) in &old {
            if new.get(root) != Some(entries) {
                changed.insert(*root);
            }
        }
        for root in new.keys() {
            if !old.contains_key(root) {
                changed.insert(*root);
            }
        }
        changed
    }
}

/// The `Env` places of a class family (`Analysis::family_places`).
#[derive(Default)]
pub(super) struct FamilyPlaces {
    /// Per class of the family: the owner of its instances' attributes, `place_hash` of its root.
    pub(super) instances: Vec<(Arc<str>, u64)>,
    /// Per class of the family whose class statement's scope is known: that scope, the class's
    /// access path there, `place_hash` of its root.
    pub(super) class_homes: Vec<(Arc<str>, String, u64)>,
}

pub(super) type EnvEntrySignature = (String, bool, String, Vec<(Origin, u32, bool, Vec<(usize, usize, usize)>)>);

/// The prefix of an `Env` owner holding the attributes of a class's instances
/// (`instance:app.views.Handler`), apart from module and function owners.
pub(super) const INSTANCE: &str = "instance:";
/// The root name the attributes of an instance are stored under, whatever the receiver's name.
pub(super) const INSTANCE_ROOT: &str = "self";

/// The name an access path starts with (`SETTINGS` for `SETTINGS["cmd"]`).
pub(super) fn root_of(path: &str) -> &str {
    &path[..path.find(['.', '[']).unwrap_or(path.len())]
}

pub(super) fn name_hash(name: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = rustc_hash::FxHasher::default();
    name.hash(&mut hasher);
    hasher.finish()
}

/// A name in an env owner: what a scope's `Summary::reads` records.
pub(super) fn place_hash(owner: &str, name: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = rustc_hash::FxHasher::default();
    owner.hash(&mut hasher);
    name.hash(&mut hasher);
    hasher.finish()
}

/// `name_hash` of every function that encloses another function (directly or not).
pub(super) fn enclosing_functions(program: &Program<'_>) -> FxHashSet<u64> {
    program.enclosing_functions.iter().map(|name| name_hash(name)).collect()
}

impl<'p, 't> Analysis<'p, 't> {
    /// Whether `name` is bound in this scope (a parameter, assigned, defined) and not declared
    /// `global`/`nonlocal`. Every name of a module body is the module's own.
    pub(super) fn binds_locally(&self, name: &str) -> bool {
        if self.bindings.declares(name) {
            return false;
        }
        let scope = &self.program.scopes[self.scope];
        scope.kind == ScopeKind::Module || self.bindings.assigns(name) || scope.params.iter().any(|p| p.name == name)
    }

    /// The name of this method's receiver (`self`), when it is a method of a workspace class
    /// whose receiver is never rebound.
    pub(super) fn receiver_name(&self) -> Option<&'p str> {
        let program: &'p Program<'t> = self.program;
        let scope = &program.scopes[self.scope];
        if !scope.implicit_receiver || scope.class.is_none() {
            return None;
        }
        let name = scope.params.first()?.name.as_str();
        (!self.bindings.rebinds(name)).then_some(name)
    }

    /// The workspace classes an instance of `class` (or `class` itself, read through `cls`)
    /// may be, whose `Env` owners (`instance:{class}`) hold the attributes of instances of
    /// `class` (source taint a method stores into `self.<attr>`, read by every method and by
    /// `obj.<attr>` on an instance), and whose class attributes those reads read: the class,
    /// its ancestors (a base's `setup` stores what a subclass's handler reads) and its subclasses
    /// (a subclass's method stores what a base's method reads), bounded like
    /// `Program::ancestors`. Instances are not told apart: this is what a method's own source
    /// reads leave in the object, whichever object it is.
    pub(super) fn class_family(&self, class: &str) -> Vec<String> {
        let mut owners: Vec<String> = self.program.ancestors(class).to_vec();
        let mut next = 0;
        let mut order: Vec<String> = vec![class.to_string()];
        while next < order.len() && order.len() < 64 {
            for subclass in self.program.subclasses(&order[next]) {
                if !order.iter().any(|known| known == subclass) {
                    order.push(subclass.to_string());
                }
            }
            next += 1;
        }
        for subclass in order {
            if !owners.contains(&subclass) {
                owners.push(subclass);
            }
        }
        owners.retain(|owner| self.program.class(owner).is_some());
        owners
    }

    /// The `Env` places the class family of `class` keeps its instances' and its classes'
    /// attributes in (`class_family`, `class_home`), each with its hash, all recorded as read
    /// (`Summary::reads`): computed once per analysis and class (a method reads `self.x` at
    /// every visit of many steps).
    pub(super) fn family_places(&mut self, class: &str) -> std::rc::Rc<FamilyPlaces> {
        if let Some(known) = self.family_places.get(class) {
            return known.clone();
        }
        let mut places = FamilyPlaces::default();
        for member in self.class_family(class) {
            let owner: Arc<str> = format!("{INSTANCE}{member}").into();
            let hash = place_hash(&owner, INSTANCE_ROOT);
            places.instances.push((owner, hash));
            if let Some((owner, name)) = self.class_home(&member) {
                let hash = place_hash(&owner, root_of(&name));
                places.class_homes.push((owner, name, hash));
            }
        }
        self.reads.extend(places.instances.iter().map(|(_, hash)| *hash));
        self.reads.extend(places.class_homes.iter().map(|(_, _, hash)| *hash));
        let places = std::rc::Rc::new(places);
        self.family_places.insert(class.to_string(), places.clone());
        places
    }

    /// Where the attributes of the workspace class `class` (its qualified name) live in the
    /// `Env`: the module or function whose body holds the class statement (a class body's
    /// names are that scope's `C.name`, `cfg` inlining class bodies), and the class's access
    /// path there (`Config`, `Outer.Inner`).
    pub(super) fn class_home(&self, class: &str) -> Option<(Arc<str>, String)> {
        let mut prefix = class;
        while let Some((head, _)) = prefix.rsplit_once('.') {
            if self.program.function(head).is_some() || self.program.module_named(head).is_some() {
                return Some((head.into(), class[head.len() + 1..].to_string()));
            }
            prefix = head;
        }
        None
    }

    /// Source taint stored under the class attribute `path` names (`self.root`, `cls.root`,
    /// `obj.root["k"]`: its root an instance of `class`, or the class) in the class family
    /// (`class_family`): what each class's body binds and what any scope stores into `C.root`
    /// (`Config.root = x`), read where the class statement's scope keeps it (`class_home`). A
    /// may-read: an instance's own store may hide the class attribute, and a subclass's body
    /// may override it; both are read.
    pub(super) fn class_attribute_value(&mut self, class: &str, path: &str, node: Node<'_>, whole: bool) -> Option<Value> {
        let family = self.family_places(class);
        let places: Vec<(Arc<str>, bool, String)> = family
            .class_homes
            .iter()
            .filter(|(_, _, hash)| self.env.roots.contains(hash))
            .map(|(owner, name, _)| (owner.clone(), true, name.clone()))
            .collect();
        if places.is_empty() {
            return None;
        }
        let root = root_of(path);
        let normalized = format!("{INSTANCE_ROOT}{}", &path[root.len()..]);
        let value = self.env_value_within(&places, &normalized, whole)?;
        Some(value.traced(&self.step(node, "assignment", format!("reads `{}` as the class stores it", short(path)))))
    }

    /// Source taint stored under `path` (`self.data["cmd"]`, `obj.data`) of an instance of
    /// `class`, as the methods of its class family left it (see `class_family`): `whole`,
    /// with what is stored below `path`; not `whole`, as the object of a longer read (`obj.data`
    /// of `obj.data.get("k")`: stores into `path` and its prefixes only, the longer read adds
    /// its own place).
    pub(super) fn instance_value(&mut self, class: &str, path: &str, node: Node<'_>, whole: bool) -> Option<Value> {
        let attribute = self.class_attribute_value(class, path, node, whole);
        let family = self.family_places(class);
        if !family.instances.iter().any(|(_, hash)| self.env.roots.contains(hash)) {
            return attribute;
        }
        let root = root_of(path);
        let normalized = format!("{INSTANCE_ROOT}{}", &path[root.len()..]);
        let places: Vec<(Arc<str>, bool, String)> =
            family.instances.iter().map(|(owner, _)| (owner.clone(), true, INSTANCE_ROOT.to_string())).collect();
        let value = self
            .env_value_within(&places, &normalized, whole)
            .map(|value| value.traced(&self.step(node, "assignment", format!("reads `{}` as stored by a method", short(path)))));
        match (value, attribute) {
            (Some(mut value), Some(attribute)) => {
                value.absorb(&attribute);
                Some(value)
            }
            (value, attribute) => value.or(attribute),
        }
    }

    /// The enclosing functions (innermost first, classes skipped), then the module.
    pub(super) fn homes(&mut self) -> Vec<Arc<str>> {
        if let Some(homes) = &self.homes {
            return homes.clone();
        }
        let scope = &self.program.scopes[self.scope];
        let module_name = self.program.modules[self.module].name.as_str();
        let mut homes: Vec<Arc<str>> = Vec::new();
        if scope.kind != ScopeKind::Module {
            let mut prefix = scope.qualified_name.as_str();
            while let Some((head, _)) = prefix.rsplit_once('.') {
                if head.len() <= module_name.len() {
                    break;
                }
                if self.program.function(head).is_some() {
                    homes.push(head.into());
                }
                prefix = head;
            }
        }
        homes.push(module_name.into());
        self.homes = Some(homes.clone());
        homes
    }

    /// A name imported from a workspace module: (that module, the name there).
    pub(super) fn imported_home(&self, root: &str) -> Option<(Arc<str>, String)> {
        let qualified = self.program.imported(self.module, root)?;
        let (module, name) = qualified.rsplit_once('.')?;
        self.program.module_named(module).is_some().then(|| (module.into(), name.to_string()))
    }

    /// Where a name not bound here may live: each home with the name it has there.
    pub(super) fn outer_places(&mut self, root: &str) -> Vec<(Arc<str>, String)> {
        let homes = self.homes();
        let imported = self.imported_home(root);
        let module_name = self.program.modules[self.module].name.as_str();
        homes
            .into_iter()
            .map(|home| match &imported {
                Some((module, name)) if *home == *module_name => (module.clone(), name.clone()),
                _ => (home, root.to_string()),
            })
            .collect()
    }

    /// Taint other scopes stored under `path` that a read of `path` here may see (see `Env`):
    /// for a name bound here, what nested functions and lambdas stored into it; for a name not
    /// bound here, what any scope stored into it in the enclosing functions and the module; in
    /// a lambda body, also everything this scope stores into it. Key-sensitive: a stored key
    /// other than the one read is not seen, a store into the container as a whole is.
    pub(super) fn outside(&mut self, path: &str, node: Node<'_>) -> Option<Value> {
        let root = root_of(path);
        if is_nested_name(root) {
            // A comprehension's own variable (`x@N`) or result (`$N`): no other scope's.
            return None;
        }
        // `self.data`: what the methods of the class family stored in the attribute.
        if path.len() > root.len() && self.receiver_name() == Some(root) && self.lambda_params.is_empty() {
            let class = self.program.scopes[self.scope].class.clone()?;
            return self.instance_value(&class, path, node, true);
        }
        if self.lambda_params.iter().any(|params| params.iter().any(|p| p == root)) {
            return None;
        }
        let in_lambda = !self.lambda_params.is_empty();
        let local = self.binds_locally(root);
        if self.may_name_import(root) {
            if let Some((module, there)) = self.module_attribute(path) {
                let hash = place_hash(&module, root_of(&there));
                self.reads.insert(hash);
                if !self.env.roots.contains(&hash) {
                    return None;
                }
                let value = self.env_value(&[(module, true, root_of(&there).to_string())], &there);
                return value
                    .map(|value| value.traced(&self.step(node, "assignment", format!("reads `{}` as stored elsewhere", short(path)))));
            }
        }
        let is_module = self.program.scopes[self.scope].kind == ScopeKind::Module;
        if local && !in_lambda && !self.has_inner && !is_module {
            return None;
        }
        let stored = match self.consulted.get(root) {
            Some(&stored) => stored,
            None => {
                // Every place the name may be read from, whether it is bound here or not (that
                // can change as the dataflow proceeds).
                let mut stored = false;
                let own = self.program.scopes[self.scope].qualified_name.as_str();
                let mut places: Vec<(Arc<str>, String)> = self.outer_places(root);
                places.push((own.into(), root.to_string()));
                for (owner, name) in places {
                    let hash = place_hash(&owner, &name);
                    self.reads.insert(hash);
                    stored |= self.env.roots.contains(&hash);
                }
                self.consulted.insert(root.to_string(), stored);
                stored
            }
        };
        if !stored {
            return None;
        }
        let own: Arc<str> = self.program.scopes[self.scope].qualified_name.as_str().into();
        // (owner, whether the owner's own stores count, the name there)
        let mut places: Vec<(Arc<str>, bool, String)> = Vec::new();
        if in_lambda || local {
            places.push((own, in_lambda, root.to_string()));
        }
        if !local {
            places.extend(self.outer_places(root).into_iter().map(|(owner, name)| (owner, true, name)));
        }
        let value = self.env_value(&places, path)?;
        Some(value.traced(&self.step(node, "assignment", format!("reads `{}` as stored elsewhere", short(path)))))
    }

    /// For a name this scope does not bind (a module global, a name imported from a workspace
    /// module, a closure variable) that other scopes stored into: what they stored under its
    /// attribute whose name hashes to `hash` (and under any subscript of the name, and into the
    /// name or its prefixes as a whole), not under its other attributes: `db.get(x)` on a
    /// module-level `db` whose `config` a view stored request data into passes `get` a clean
    /// `db.session`. `None` where the name is not such a name, or nothing was stored into it
    /// (the caller then keeps the whole value). Reads only places `outside` already read for
    /// the same name (no new incremental dependency).
    pub(super) fn outside_attribute(&mut self, path: &str, hash: u32) -> Option<Value> {
        let root = root_of(path);
        if path != root || is_nested_name(root) || self.receiver_name() == Some(root) || !self.lambda_params.is_empty() {
            return None;
        }
        if self.binds_locally(root) || self.program.scopes[self.scope].kind == ScopeKind::Module {
            return None;
        }
        if !self.consulted.get(root).copied().unwrap_or(false) {
            return None;
        }
        let places: Vec<(Arc<str>, bool, String)> = self.outer_places(root).into_iter().map(|(owner, name)| (owner, true, name)).collect();
        let mut value = Value::default();
        for (owner, _, name) in &places {
            for by_owner in [false, true] {
                let Some(state) = self.env.states.get(&(owner.clone(), by_owner)) else { continue };
                if let Some(own) = state.values.get(name.as_str()) {
                    value.absorb(own);
                }
                super::calls::absorb_stored_under_attribute(&state.values, name, hash, &mut value);
            }
        }
        value.stringy = false;
        Some(value)
    }

    /// What the env holds for `path` at each place `(owner, whether the owner's own stores
    /// count, the name of `path`'s root there)`, if tainted.
    pub(super) fn env_value(&self, places: &[(Arc<str>, bool, String)], path: &str) -> Option<Value> {
        self.env_value_within(places, path, true)
    }

    /// `env_value`, with what is stored below `path` only when `whole`.
    fn env_value_within(&self, places: &[(Arc<str>, bool, String)], path: &str, whole: bool) -> Option<Value> {
        let root = root_of(path);
        let mut value = Value::default();
        for (owner, by_owner_too, name) in places {
            let owner_path = format!("{name}{}", &path[root.len()..]);
            for by_owner in [false, true] {
                if by_owner && !*by_owner_too {
                    continue;
                }
                let Some(state) = self.env.states.get(&(owner.clone(), by_owner)) else { continue };
                let own = if whole { state.read_whole(&owner_path) } else { state.values.get(owner_path.as_str()).cloned() };
                if let Some(own) = own {
                    value.absorb(&own);
                }
                let mut prefix = owner_path.as_str();
                while let Some(cut) = prefix.rfind(['.', '[']) {
                    prefix = &prefix[..cut];
                    if let Some(whole) = state.values.get(prefix) {
                        value.absorb(whole);
                    }
                }
            }
        }
        if !value.is_tainted() {
            return None;
        }
        value.stringy = false;
        Some(value)
    }

    /// Whether `root` may still denote what the module imports under that name (not assigned
    /// here, not a parameter).
    pub(super) fn may_name_import(&self, root: &str) -> bool {
        !self.bindings.rebinds(root) && !self.program.scopes[self.scope].params.iter().any(|p| p.name == root)
    }

    /// `m.NAME...` where `m` is an imported workspace module (`import pkg.state as m`): that
    /// module, and the path there (`NAME...`).
    pub(super) fn module_attribute(&self, path: &str) -> Option<(Arc<str>, String)> {
        let root = root_of(path);
        let rest = path[root.len()..].strip_prefix('.')?;
        let module = self.program.imported(self.module, root)?;
        self.program.module_named(&module).is_some().then(|| (module.as_ref().into(), rest.to_string()))
    }

    /// Where a store into `root` made here is visible to other scopes: (env key, name there).
    /// A function's local is exported only if a nested function or lambda may read it: only
    /// scopes nested in the function (and lambdas evaluated in it) read its own stores
    /// (`(function, true)`), through the same name (`outer_places`), so a name that appears in
    /// none of them is never read there. Leaving it out loses nothing and keeps summaries small:
    /// every caller of the function, transitively, would otherwise carry a `param_exports` entry
    /// per local holding parameter taint (sympy: over 6,000 per summary for one nested helper).
    pub(super) fn export_targets(&mut self, root: &str) -> Vec<(EnvKey, String)> {
        let program = self.program;
        let scope = &program.scopes[self.scope];
        if self.receiver_name() == Some(root) {
            if let Some(class) = &scope.class {
                return vec![((format!("{INSTANCE}{class}").into(), false), INSTANCE_ROOT.to_string())];
            }
        }
        if self.binds_locally(root) {
            // A class defined here: its methods read its attributes through `self`/`cls`
            // (`class_attribute_value`), whether or not they name it.
            let defines_class = || program.classes.contains_key(format!("{}.{root}", scope.qualified_name).as_str());
            if scope.kind == ScopeKind::Module || (self.has_inner && self.read_by_inner_scopes(root)) || defines_class() {
                return vec![((scope.qualified_name.as_str().into(), true), root.to_string())];
            }
            return Vec::new();
        }
        self.outer_places(root).into_iter().map(|(owner, name)| ((owner, false), name)).collect()
    }

    /// Whether `name` appears as an identifier inside a function or lambda nested in this
    /// scope's body (at any depth): the names its nested scopes may read from it.
    pub(super) fn read_by_inner_scopes(&mut self, name: &str) -> bool {
        if self.inner_names.is_none() {
            let body = self.program.scopes[self.scope].body;
            self.inner_names = Some(inner_scope_names(self.text, body));
        }
        self.inner_names.as_ref().is_some_and(|names| names.contains(name))
    }

    /// What a lambda body stored (mutations of containers it reads): seen by other scopes and,
    /// for this scope's own names, by this scope's later reads (as a store by another scope).
    pub(super) fn export_lambda_stores(&mut self, before: &State, after: &State) {
        for (path, value) in &after.values {
            if !value.is_tainted() || before.values.get(path).is_some_and(|old| old.same(value)) {
                continue;
            }
            let root = root_of(path);
            if root.starts_with('$') || self.lambda_params.iter().any(|params| params.iter().any(|p| p == root)) {
                continue;
            }
            let own: Arc<str> = self.program.scopes[self.scope].qualified_name.as_str().into();
            if self.may_name_import(root) {
                if let Some((module, there)) = self.module_attribute(path) {
                    self.extra_exports.entry((module, false)).or_default().add(&there, value);
                    continue;
                }
            }
            let targets = if self.binds_locally(root) {
                vec![((own, false), root.to_string())]
            } else {
                self.outer_places(root).into_iter().map(|(owner, name)| ((owner, false), name)).collect()
            };
            for (key, name) in targets {
                let owner_path = format!("{name}{}", &path[root.len()..]);
                self.extra_exports.entry(key).or_default().add(&owner_path, value);
            }
        }
    }

    /// Splits what this scope stores where others read it into source taint (`exports`) and
    /// parameter taint (`param_exports`), over every state the dataflow reached.
    pub(super) fn collect_exports(&mut self, states: &[Option<State>], successors: &[Vec<crate::cfg::Edge>]) {
        let mut stored: FxHashMap<EnvKey, State> = std::mem::take(&mut self.extra_exports);
        let this = &mut *self;
        let mut current: Option<(&str, Vec<(EnvKey, String)>)> = None;
        for_each_stored(
            states,
            crate::cfg::ENTRY,
            |step| successors[step].iter().map(|edge| edge.to),
            |path, value| {
                if !value.is_tainted() {
                    return;
                }
                let root = root_of(path);
                // `$match`, a comprehension's variables and results: never seen elsewhere.
                if is_nested_name(root) {
                    return;
                }
                if this.may_name_import(root) {
                    if let Some((module, there)) = this.module_attribute(path) {
                        stored.entry((module, false)).or_default().add(&there, value);
                        return;
                    }
                }
                if current.as_ref().is_none_or(|(previous, _)| *previous != root) {
                    current = Some((root, this.export_targets(root)));
                }
                let Some((_, targets)) = &current else { return };
                for (key, name) in targets {
                    let owner_path = format!("{name}{}", &path[root.len()..]);
                    stored.entry(key.clone()).or_default().add(&owner_path, value);
                }
            },
        );
        // Owners in order, each one's paths in order (a state iterates so): the entries below
        // come out sorted by (owner, by_owner, path), so sorting them by their leading
        // (parameter, cleared, normalised) with a stable sort orders them as sorting whole
        // tuples would, without comparing owner and path texts again (sympy's summaries hold
        // thousands of entries).
        let mut stored: Vec<(EnvKey, State)> = stored.into_iter().collect();
        stored.sort_unstable_by(|(a, _), (b, _)| a.cmp(b));
        for ((owner, by_owner), state) in stored {
            // An instance's attributes hold only source taint here: a parameter stored into the
            // receiver reaches the caller's object through `Summary::param_flows` (`RECEIVER`),
            // instance by instance; the receiver as a whole is not one of its attributes.
            let instance = owner.starts_with(INSTANCE);
            for (path, value) in state.values {
                if instance && path == INSTANCE_ROOT {
                    continue;
                }
                let mut sources = Value::default();
                // Interned: the place is shared by every entry naming it, across summaries.
                let mut key = None;
                for label in &value.labels {
                    match label.origin {
                        Origin::Source { .. } | Origin::Sources { .. } => sources.add_label(label.clone()),
                        Origin::Param(_) if instance => {}
                        Origin::Param(param) => {
                            let key = *key.get_or_insert_with(|| super::path_key::PathKey::new(&path));
                            self.summary.param_exports.push((param, label.cleared, label.normalized, owner.clone(), by_owner, key))
                        }
                    }
                }
                if sources.is_tainted() {
                    self.summary.exports.push(Export { owner: owner.clone(), by_owner, path, value: sources });
                }
            }
        }
        self.summary.exports.sort_by(|a, b| (&a.owner, a.by_owner, &a.path).cmp(&(&b.owner, b.by_owner, &b.path)));
        // Stable, by the leading fields only: the entries of one (parameter, cleared,
        // normalised) keep their (owner, by_owner, path) order, so the whole tuples end sorted
        // (equal ones adjacent, as `dedup` needs).
        self.summary.param_exports.sort_by_key(|(param, cleared, normalized, ..)| (*param, *cleared, *normalized));
        debug_assert!(self.summary.param_exports.is_sorted());
        self.summary.param_exports.dedup();
    }
}

/// The names nested scopes may read from the scope whose body is `body`: the identifiers inside
/// every function definition and lambda nested in it (any depth), except the parameters of the
/// innermost one around each (that scope binds them, so it never reads them from outside), their
/// names and their parameter lists (bound by the enclosing scope) other than the defaults (which
/// the nested scope evaluates for a call leaving the parameter out). Names a nested
/// scope assigns are kept (more names than needed only exports more). Iterative: bodies may be
/// deep.
pub(super) fn inner_scope_names<'t>(text: &'t str, body: Node<'t>) -> FxHashSet<&'t str> {
    let mut names = FxHashSet::default();
    // Parameters of each nested function or lambda met; a node carries the innermost one's index.
    let mut parameters: Vec<FxHashSet<&'t str>> = Vec::new();
    let mut stack: Vec<(Node<'t>, Option<usize>)> = vec![(body, None)];
    let mut cursor = body.walk();
    while let Some((node, inside)) = stack.pop() {
        match node.kind() {
            "function_definition" | "lambda" => {
                let list = node.field(&field::PARAMETERS);
                parameters.push(list.map(|list| parameter_names(text, list)).unwrap_or_default());
                let index = Some(parameters.len() - 1);
                // Its name is bound by the enclosing scope, its parameter list read by it; the
                // defaults in that list are read by the nested scope too (a call leaving a
                // parameter out passes its default, `Analysis::initial_state`).
                let skipped = [list, node.field(&field::NAME)].map(|child| child.map(|child| child.id()));
                stack.extend(node.children(&mut cursor).filter(|child| !skipped.contains(&Some(child.id()))).map(|child| (child, index)));
                if let Some(list) = list {
                    parameters.push(FxHashSet::default());
                    let defaults = Some(parameters.len() - 1);
                    let mut list_cursor = list.walk();
                    stack.extend(
                        list.named_children(&mut list_cursor).filter_map(|p| p.field(&field::VALUE)).map(|value| (value, defaults)),
                    );
                }
            }
            "identifier" => {
                if let (Some(index), Some(name)) = (inside, text.get(node.byte_range())) {
                    if !parameters[index].contains(name) {
                        names.insert(name);
                    }
                }
            }
            _ => stack.extend(node.children(&mut cursor).map(|child| (child, inside))),
        }
    }
    names
}

/// The names a parameter list binds (`a`, `b=1`, `c: int`, `*args`, `**kwargs`); a form not
/// recognised binds nothing here (which keeps more names).
fn parameter_names<'t>(text: &'t str, list: Node<'t>) -> FxHashSet<&'t str> {
    let mut cursor = list.walk();
    list.named_children(&mut cursor)
        .filter_map(|parameter| match parameter.kind() {
            "identifier" => Some(parameter),
            "default_parameter" | "typed_default_parameter" => parameter.field(&field::NAME),
            "typed_parameter" | "list_splat_pattern" | "dictionary_splat_pattern" => {
                let first = parameter.named_child(0)?;
                match first.kind() {
                    "identifier" => Some(first),
                    "list_splat_pattern" | "dictionary_splat_pattern" => first.named_child(0).filter(|n| n.kind() == "identifier"),
                    _ => None,
                }
            }
            _ => None,
        })
        .filter_map(|name| text.get(name.byte_range()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::SourceKind;
    use crate::taint::lattice::{Label, Trace, TraceStep};
    use crate::taint::summary::Export;

    fn tainted(place: usize) -> Value {
        let mut value = Value::default();
        value.add_label(Label {
            origin: Origin::Source { kind: SourceKind::UserInput, file: 0, start: place, end: place + 1 },
            cleared: 0,
            normalized: false,
            trace: Trace::default(),
        });
        value
    }

    fn storing(owner: &str, path: &str, value: Value) -> Summary {
        Summary { exports: vec![Export { owner: owner.into(), by_owner: false, path: path.into(), value }], ..Summary::default() }
    }

    #[test]
    fn root_of_is_the_name_a_path_starts_with() {
        assert_eq!(root_of("SETTINGS['cmd']"), "SETTINGS");
        assert_eq!(root_of("config.value.x"), "config");
        assert_eq!(root_of("plain"), "plain");
    }

    #[test]
    fn place_hash_tells_owners_apart() {
        assert_ne!(place_hash("app", "X"), place_hash("lib", "X"));
        assert_ne!(place_hash("app", "X"), place_hash("ap", "pX"));
        assert_eq!(place_hash("app", "X"), place_hash("app", "X"));
    }

    #[test]
    fn collect_unites_what_every_scope_stores_under_one_name() {
        let env = Env::collect(&[storing("app", "CACHE['a']", tainted(1)), storing("app", "CACHE['a']", tainted(2))]);
        let state = &env.states[&(Arc::from("app"), false)];
        assert_eq!(state.values["CACHE['a']"].labels.len(), 2);
        assert!(env.roots.contains(&place_hash("app", "CACHE")));
    }

    #[test]
    fn changed_roots_names_only_the_entries_that_differ_places_included() {
        let before = Env::collect(&[storing("app", "A", tainted(1)), storing("app", "B.x", tainted(2))]);
        assert!(before.changed_roots(&before.clone()).is_empty());
        let mut moved = tainted(2);
        moved.labels[0].trace = Trace::default().push(TraceStep { file: 0, start: 7, end: 8, kind: "assignment", description: "".into() });
        let after = Env::collect(&[storing("app", "A", tainted(1)), storing("app", "B.x", moved), storing("lib", "C", tainted(3))]);
        let changed = before.changed_roots(&after);
        let expected: FxHashSet<u64> = [place_hash("app", "B"), place_hash("lib", "C")].into_iter().collect();
        assert_eq!(changed, expected);
        // Removing an entry changes its root too.
        assert_eq!(after.changed_roots(&before), expected);
    }

    #[test]
    fn inner_scope_names_are_what_nested_scopes_mention_minus_their_own_parameters() {
        let text = "def f(a, b):\n    c = a\n    d = b\n    def g(x, y=c, *rest, z: int = 0, **kw):\n        return x + d + rest + kw\n    h = lambda q: q + e\n    class K:\n        def m(self):\n            return self.x + x\n    return g\n";
        let tree = crate::parse::parse(text);
        let function = tree.root_node().named_child(0).expect("def");
        let body = function.field(&field::BODY).expect("body");
        let mut names: Vec<&str> = inner_scope_names(text, body).into_iter().collect();
        names.sort_unstable();
        // `x`, `rest` and `kw` are g's parameters, `q` the lambda's, `self` m's; `c` is in a
        // default (what a call of `g` leaving `y` out passes); `x` inside `m` is not m's
        // parameter, so it may be `f`'s.
        assert_eq!(names, vec!["c", "d", "e", "x"]);
    }

    #[test]
    fn a_function_exports_only_the_locals_its_nested_scopes_mention() {
        let (summaries, _) = crate::taint::analyze_text(
            "def runner(command, other):\n    prefix = 'echo ' + other\n    joined = command + other\n    def run():\n        return prefix + command\n    return run\n\ndef caller(value):\n    return runner(value, value)\n",
        );
        for name in ["app.runner", "app.caller"] {
            let mut paths: Vec<&str> = summaries[name].param_exports.iter().map(|export| export.5.as_str()).collect();
            paths.sort_unstable();
            paths.dedup();
            assert_eq!(paths, vec!["command", "prefix"], "{name}");
        }
    }
}
