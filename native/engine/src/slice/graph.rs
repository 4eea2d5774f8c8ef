//! A scope's part of the SDG that its own text decides: steps, edges, definitions and uses,
//! call sites, returns, control dependences. Owned data (no syntax-tree borrows), so it is
//! kept across slices and across edits (`GraphCache`).
//!
//! Invariants:
//! - A `ScopeGraph` depends only on the scope's text as `Scope::text_hash` covers it (its
//!   definition with decorators, a method's class header, the parse where it holds syntax
//!   errors) and its module's constants (`ModuleInfo::names_hash`: conditions they decide
//!   prune branches). Byte ranges are relative to the scope body's start and rows to its
//!   first row, so a scope that moves keeps its graph.
//! - `GraphCache` keys a graph by the scope's identity (file, qualified name) and that
//!   content key; an edit rebuilds the graphs of the scopes whose content key changed, and
//!   nothing else.

use std::sync::{Arc, OnceLock};

use rustc_hash::{FxHashMap, FxHashSet};

use crate::cfg::ENTRY;
use crate::ir::bindings::Bindings;
use crate::ir::effects::Effects;
use crate::ir::lower::{CallSite, IrCache, ScopeIr, StepKind};
use crate::pdg::{control_dependences_of, executable_flow, extract_pdg_with, reaching_definitions, Definition};
use crate::program::{text_of, Program, ScopeKind};
use crate::syntax::tree::Node;
use crate::syntax::{field, FieldChild};

/// One step: its kind, its syntax's byte range relative to the scope body's start, and the
/// rows a slice shows for it (first, last), relative to the body's first row (`u32`: a file
/// is at most 4 GiB; the source reader's size limit is far below).
#[derive(Clone, Debug)]
pub struct StepInfo {
    pub kind: StepKind,
    range: Option<(u32, u32)>,
    rows: Option<(u32, u32)>,
}

impl StepInfo {
    pub fn range(&self) -> Option<(usize, usize)> {
        self.range.map(|(start, end)| (start as usize, end as usize))
    }

    pub fn rows(&self) -> Option<(usize, usize)> {
        self.rows.map(|(first, last)| (first as usize, last as usize))
    }
}

/// What a scope's own text decides of its PDG (see the module invariants).
pub struct ScopeGraph {
    pub steps: Vec<StepInfo>,
    /// Per step: its executable successors, and whether the edge is exceptional.
    pub flow: Vec<Vec<(u32, bool)>>,
    /// Parameters (at ENTRY) first, then each step's definitions.
    pub definitions: Arc<Vec<Definition>>,
    /// Per step: the place keys it reads (sorted).
    pub uses: Arc<Vec<Vec<String>>>,
    /// Per step: the steps it is control dependent on (augmented CFG).
    pub control_dependences: Vec<Vec<usize>>,
    /// Per step: what each call it makes passes (byte ranges relative to the body).
    pub call_sites: Vec<Vec<CallSite>>,
    /// The scope's lowered IR (place keys).
    pub ir: Arc<ScopeIr>,
    /// Steps that hand a value to the caller: `return`s, and statements holding a `yield`.
    pub returns: Vec<usize>,
    /// What a call to the scope does besides returning, by its own text (`ir::effects`).
    pub effects: Effects,
    /// The scope's local variables: its parameters and the names it binds and does not
    /// declare `global`/`nonlocal` (`ir::bindings::Bindings::binds`), sorted.
    pub bound: Vec<Box<str>>,
    /// The names the scope gives or updates a value of its own (`Bindings::assigns`), sorted:
    /// not what the module or an import makes them (`ir::resolve::reached`).
    pub assigned: Vec<Box<str>>,
    /// Every definition of a plain name, with the right side of its assignment (relative byte
    /// range) when it is a single-name one (`ir::resolve::local_references`' bindings).
    pub bindings: Vec<(String, Option<(usize, usize)>)>,
    /// Places cut by the depth bound (`ir::place::MAX_PROJECTIONS`).
    pub cut_places: usize,
    /// Comprehensions and lambdas nested past `cfg::MAX_NESTED_SCOPES`, each one step reading
    /// every name inside it (`Cfg::flattened_scopes`).
    pub flattened_scopes: usize,
    /// `finally` blocks given one shared copy for several completions (`Cfg::shared_finally_copies`).
    pub shared_finally_copies: usize,
    /// Reaching definitions over the graph's own definitions and uses (computed once).
    plain: OnceLock<Arc<Vec<Vec<usize>>>>,
}

impl ScopeGraph {
    /// Per step, the graph's own definitions reaching it that its uses overlap: the data
    /// dependences of a scope whose calls add no definitions or uses.
    pub fn plain_dependences(&self) -> Arc<Vec<Vec<usize>>> {
        self.plain.get_or_init(|| Arc::new(reaching_definitions(&self.flow, &self.definitions, &self.uses))).clone()
    }

    /// Whether variable `name` is the scope's own (a parameter, or a name it binds).
    pub fn binds(&self, name: &str) -> bool {
        self.bound.binary_search_by(|bound| (**bound).cmp(name)).is_ok()
    }

    /// Whether the scope gives or updates `name`'s value itself.
    pub fn assigns(&self, name: &str) -> bool {
        self.assigned.binary_search_by(|assigned| (**assigned).cmp(name)).is_ok()
    }
}

/// The content key of a scope: a function's text hash (`Scope::text_hash`: its text with
/// decorators and class header, and its parse where that holds syntax errors), a module
/// body's whole text (its steps' positions are the file's; `None` when the file has syntax
/// errors, whose parse can change with no change of text), and the module's names (constants).
pub fn content_key(program: &Program<'_>, scope: usize) -> Option<[u8; 32]> {
    use sha2::{Digest, Sha256};
    let info = &program.scopes[scope];
    let mut hasher = Sha256::new();
    match info.kind {
        ScopeKind::Function | ScopeKind::Lambda => hasher.update(info.text_hash),
        ScopeKind::Module => {
            if info.node.has_error() {
                return None;
            }
            hasher.update(program.text(info.file).as_bytes());
        }
    }
    hasher.update(program.modules[info.module].names_hash);
    Some(hasher.finalize().into())
}

/// Builds the graph of `scope` (its IR read from, or lowered into, `ir`).
pub fn build_graph(program: &Program<'_>, scope: usize, ir: &mut IrCache) -> ScopeGraph {
    let info = &program.scopes[scope];
    let text = program.text(info.file);
    let pdg = extract_pdg_with(program, scope, ir);
    let base = info.body.start_byte();
    let base_row = info.body.start_position().row;
    let steps = pdg
        .cfg
        .steps
        .iter()
        .map(|step| StepInfo {
            kind: step.kind,
            range: step.node.map(|node| ((node.start_byte() - base) as u32, (node.end_byte() - base) as u32)),
            rows: step.node.map(|node| {
                let (first, last) = shown_rows(step.kind, node);
                (first.saturating_sub(base_row) as u32, last.saturating_sub(base_row) as u32)
            }),
        })
        .collect();
    let returns = (0..pdg.cfg.steps.len()).filter(|&step| pdg.returns[step]).collect();
    let bindings = pdg
        .definitions
        .iter()
        .filter(|d| !d.path.contains(['.', '[']))
        .map(|definition| {
            let right = (definition.step != ENTRY)
                .then(|| pdg.cfg.steps[definition.step].node)
                .flatten()
                .and_then(|statement| statement.named_child(0).filter(|n| n.kind() == "assignment"))
                .filter(|assignment| {
                    assignment.field(&field::LEFT).is_some_and(|l| l.kind() == "identifier" && text_of(text, l) == definition.path)
                })
                .and_then(|assignment| assignment.field(&field::RIGHT))
                .map(|right| (right.start_byte() - base, right.end_byte() - base));
            (definition.path.clone(), right)
        })
        .collect();
    let names = Bindings::of_scope(text, info.body);
    let sorted = |names: &mut dyn Iterator<Item = &str>| {
        let mut sorted: Vec<Box<str>> = names.map(Box::from).collect();
        sorted.sort_unstable();
        sorted.dedup();
        sorted
    };
    let bound = sorted(&mut info.params.iter().map(|param| param.name.as_str()).chain(names.locals()));
    let assigned = sorted(&mut names.assigned());
    let mut control_dependences = control_dependences_of(&pdg.cfg);
    // A class body's steps run when the class statement does (`cfg::build_scope_cfg` inlines
    // the body after its `Definition` step): they depend on its header as on a condition.
    for (step, data) in pdg.cfg.steps.iter().enumerate() {
        if let Some(class) = data.class {
            let header = pdg.cfg.classes[class as usize].step;
            if !control_dependences[step].contains(&header) {
                control_dependences[step].push(header);
            }
        }
    }
    ScopeGraph {
        steps,
        flow: executable_flow(&pdg.cfg.successors),
        definitions: Arc::new(pdg.definitions),
        uses: Arc::new(pdg.uses),
        control_dependences,
        call_sites: pdg.call_sites,
        // Only the place keys (call sites' arguments name them); the lowered sites stay in
        // the `IrCache` that lowered them.
        ir: Arc::new(pdg.ir.places_only()),
        returns,
        effects: pdg.effects,
        bound,
        assigned,
        bindings,
        cut_places: pdg.cut_places,
        flattened_scopes: pdg.cfg.flattened_scopes,
        shared_finally_copies: pdg.cfg.shared_finally_copies,
        plain: OnceLock::new(),
    }
}

/// The rows (0-based, absolute) a slice shows for a step: a compound statement's header, a
/// simple statement whole.
fn shown_rows(kind: StepKind, syntax: Node<'_>) -> (usize, usize) {
    let header = match kind {
        StepKind::ForTarget => syntax.field(&field::RIGHT).map(|r| (syntax.start_position().row, r.end_position().row)),
        StepKind::ExceptHandler | StepKind::CasePattern => Some((syntax.start_position().row, syntax.start_position().row)),
        StepKind::MatchSubject => {
            let mut cursor = syntax.walk();
            let last = syntax.children_by_field_name("subject", &mut cursor).last();
            last.map(|s| (syntax.start_position().row, s.end_position().row))
        }
        StepKind::Definition => {
            let definition =
                if syntax.kind() == "decorated_definition" { syntax.field(&field::DEFINITION).unwrap_or(syntax) } else { syntax };
            let end =
                definition.field(&field::BODY).map(|b| b.start_position().row.saturating_sub(1)).unwrap_or(definition.start_position().row);
            Some((syntax.start_position().row, end.max(definition.start_position().row)))
        }
        _ => None,
    };
    let (first, last) = header.unwrap_or((syntax.start_position().row, syntax.end_position().row));
    (first, last.max(first))
}

/// A scope's identity: its file's path and its qualified name.
type Identity = (String, String);

/// The versions of one identity's graph, by content key.
type Versions = Vec<([u8; 32], Arc<ScopeGraph>)>;

/// Scope graphs by identity and content key, kept across edits.
#[derive(Default)]
pub struct GraphCache {
    graphs: FxHashMap<Identity, Versions>,
    /// Graphs built (not found in the cache) since the cache was made.
    pub built: usize,
}

/// Content versions kept per identity (two definitions of one name, an edit and its undo).
const VERSIONS_PER_SCOPE: usize = 4;

impl GraphCache {
    /// The graph of `scope`: the cached one when its identity and content key are known, else
    /// built now (and kept).
    pub fn graph(&mut self, program: &Program<'_>, scope: usize, ir: &mut IrCache) -> Arc<ScopeGraph> {
        if let Some(known) = self.cached(program, scope) {
            return known;
        }
        let graph = Arc::new(build_graph(program, scope, ir));
        self.insert(program, scope, graph.clone());
        graph
    }

    /// The cached graph of `scope`, if its identity and content key are known.
    pub fn cached(&self, program: &Program<'_>, scope: usize) -> Option<Arc<ScopeGraph>> {
        let info = &program.scopes[scope];
        let key = content_key(program, scope)?;
        let versions = self.graphs.get(&(program.files[info.file].path.clone(), info.qualified_name.clone()))?;
        versions.iter().find(|(k, _)| *k == key).map(|(_, graph)| graph.clone())
    }

    /// Keeps `graph`, just built for `scope` (the oldest version of that identity dropped past
    /// `VERSIONS_PER_SCOPE`; a scope without a content key is not kept).
    pub fn insert(&mut self, program: &Program<'_>, scope: usize, graph: Arc<ScopeGraph>) {
        self.built += 1;
        let info = &program.scopes[scope];
        let Some(key) = content_key(program, scope) else { return };
        let versions = self.graphs.entry((program.files[info.file].path.clone(), info.qualified_name.clone())).or_default();
        if versions.len() >= VERSIONS_PER_SCOPE {
            versions.remove(0);
        }
        versions.push((key, graph));
    }

    /// Forgets the graphs of files no longer in the program.
    pub fn retain_files(&mut self, files: &FxHashSet<&str>) {
        self.graphs.retain(|(path, _), _| files.contains(path.as_str()));
    }
}
