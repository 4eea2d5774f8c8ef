//! Function summaries: what a function does with taint, as seen by its callers (parameter →
//! return/sink, sources returned, guards, clearances, flows between arguments, stores into the
//! `Env`).
//!
//! Invariants:
//! - Summaries are compared by content without traces (`Summary::signature`), so the fixpoint
//!   terminates; callers must also see a summary again when only its places move
//!   (`Summary::places`).

use std::sync::Arc;

use crate::templates::RenderSite;

use super::lattice::{Label, Origin, TraceStep, Value};

/// Source taint a scope stores into `path` of owner `owner` (see `Env`).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub(super) struct Export {
    pub(super) owner: Arc<str>,
    pub(super) by_owner: bool,
    pub(super) path: String,
    pub(super) value: Value,
}

/// What a function does with taint, as seen by its callers.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Summary {
    /// Parameter → return value, with the kinds cleared on the way and the steps inside.
    pub(super) param_returns: Vec<(usize, u32, bool, Vec<TraceStep>)>,
    /// Sources read inside and returned.
    pub(super) source_returns: Vec<Label>,
    /// Parameter → sink inside (or deeper): kind, CWE, cleared kinds, sink location, steps.
    pub(super) param_sinks: Vec<ParamSink>,
    pub(super) returns_stringy: bool,
    pub(super) returns_reference: Option<Arc<str>>,
    /// On a normal return, parameter `.0`'s path with suffix `.1` (`""` for the parameter
    /// itself, `["name"]` for a key) has been sanitised for kinds `.2`: a validating helper
    /// that raises otherwise, or one that cleans a container in place.
    pub(super) param_effects: Vec<(usize, String, u32)>,
    /// When the function returns true, parameter `.0` is safe for kinds `.1` (a boolean guard).
    pub(super) guards_when_true: Vec<(usize, u32)>,
    /// On return, parameter `.0`'s path with suffix `.1` holds taint of parameter `.2`
    /// (`items.append(value)`); `.0` is `RECEIVER` for the method's own receiver
    /// (`self.command = command`: `Argument[0] -> Argument[self].Field[command]`).
    pub(super) param_flows: Vec<(usize, String, usize)>,
    /// The steps inside the function of each of `param_flows` (where the argument is stored),
    /// shown on the paths through it.
    pub(super) param_flow_steps: Vec<(usize, String, usize, Vec<TraceStep>)>,
    /// Every workspace scope whose summary the analysis read (calls applied through a summary,
    /// `Role::Returns` dependencies, boolean guards), sorted: the call graph's edges, and all
    /// an analysis depends on besides what a sweep holds fixed (program, rules, entry points,
    /// `Env`).
    pub(super) resolved_callees: Vec<usize>,
    /// Source taint stored where other scopes read it (module-level names, closure variables).
    pub(super) exports: Vec<Export>,
    /// Parameter `.0` (with kinds `.1` cleared, normalised `.2`) is stored into path `.5` of
    /// env owner `(.3, .4)`: a caller stores its argument's taint there.
    pub(super) param_exports: Vec<(usize, u32, bool, Arc<str>, bool, super::path_key::PathKey)>,
    /// `place_hash` of every (owner, name) consulted in an `Env`: the scope is analysed again
    /// when an entry under one of them changes.
    pub(super) reads: Vec<u64>,
    /// `name_lookup_hash` of every name looked up while analysing the scope (sorted): the
    /// scope is analysed again when one of them appears, disappears or changes meaning.
    pub(super) lookups: Vec<u64>,
    /// The function never returns normally: every path from its entry ends in `raise` or in a
    /// call that never returns (`no_return.rs`). A statement calling it ends its branch.
    /// `false` (returns) is the default and the side every doubt takes.
    pub(super) never_returns: bool,
}

/// A `lookups` entry that matches every changed name.
pub(super) const ANY_NAME: u64 = u64::MAX;

/// The target of a `param_flows` entry that is the method's receiver (`self`), not a parameter:
/// the caller stores the argument's taint under the path of the object the method runs on (the
/// receiver of `obj.m(…)`, the target a constructor's result is assigned to).
pub(super) const RECEIVER: usize = usize::MAX;

/// The tag of a *field parameter*: the attribute `attr` of parameter `p` (or of the receiver),
/// read where the state holds nothing for it (`ctx.req`, `self.steps`). Its `Param` label keeps
/// the attribute apart from the object's other attributes, so a caller passes only what it
/// holds under that attribute (and the object's own taint): `run(ctx)` reading `ctx.config`
/// is not reached by the request stored in `ctx.req`. The index packs the tag, the parameter's
/// slot (`RECEIVER_SLOT` for the receiver) and a 32-bit hash of the attribute's name; two
/// attributes with one hash are one field (more taint, never less).
pub(super) const FIELD: usize = 1 << 62;
const RECEIVER_SLOT: usize = 0xFFFF;
const _: () = assert!(usize::BITS == 64, "field parameters pack 64 bits");

/// The 32-bit hash of an attribute name a field parameter carries.
pub(super) fn attribute_hash(attribute: &str) -> u32 {
    use std::hash::{Hash, Hasher};
    let mut hasher = rustc_hash::FxHasher::default();
    attribute.hash(&mut hasher);
    let hash = hasher.finish();
    (hash ^ (hash >> 32)) as u32
}

/// The field parameter for attribute `hash` of parameter `param` (`RECEIVER` for the
/// receiver); `None` for parameters past the slots a field parameter has (read whole).
pub(super) fn field_param(param: usize, hash: u32) -> Option<usize> {
    let slot = match param {
        RECEIVER => RECEIVER_SLOT,
        param if param < RECEIVER_SLOT => param,
        _ => return None,
    };
    Some(FIELD | (slot << 32) | hash as usize)
}

/// A field parameter's parameter (`RECEIVER` for the receiver) and attribute hash.
pub(super) fn field_of(param: usize) -> Option<(usize, u32)> {
    if param == RECEIVER || param & FIELD == 0 {
        return None;
    }
    let slot = (param >> 32) & 0xFFFF;
    Some((if slot == RECEIVER_SLOT { RECEIVER } else { slot }, param as u32))
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub(super) struct ParamSink {
    pub(super) param: usize,
    pub(super) kind: u32,
    pub(super) cwe: u32,
    pub(super) cleared: u32,
    pub(super) sink: (usize, usize, usize),
    pub(super) callee: String,
    pub(super) steps: Vec<TraceStep>,
    /// The sink is a template's output of this render site (see `RawFinding::render`).
    #[serde(default)]
    pub(super) render: Option<Arc<RenderSite>>,
}

pub(super) type SummarySignature = (
    Vec<(usize, u32, bool, Vec<(usize, usize)>)>,
    Vec<(Origin, u32, bool, Vec<(usize, usize)>)>,
    Vec<(usize, u32, u32, u32, (usize, usize, usize), Option<Arc<RenderSite>>, Vec<(usize, usize)>)>,
    bool,
    Option<Arc<str>>,
    Vec<(usize, String, u32)>,
    Vec<(usize, u32)>,
    Vec<(usize, String, usize)>,
    Vec<(usize, u32, bool, Arc<str>, bool, super::path_key::PathKey)>,
    bool,
);

/// The summary signature compares what flows where, not the paths shown for it: paths through
/// recursion could otherwise change forever. (Step places are left out: `Vec::new()`.)
pub(super) fn no_places(_steps: &[TraceStep]) -> Vec<(usize, usize)> {
    Vec::new()
}

impl Summary {
    /// Every place the summary's steps, sources and sinks point at, in order.
    pub(super) fn places(&self) -> Vec<(usize, usize, usize)> {
        let of = |steps: &[TraceStep]| steps.iter().map(|step| (step.file, step.start, step.end)).collect::<Vec<_>>();
        let mut places = Vec::new();
        for (_, _, _, steps) in &self.param_returns {
            places.extend(of(steps));
        }
        for label in &self.source_returns {
            if let Origin::Source { file, start, end, .. } | Origin::Sources { file, start, end, .. } = label.origin {
                places.push((file, start, end));
            }
            places.extend(of(&label.trace.steps()));
        }
        for sink in &self.param_sinks {
            places.push(sink.sink);
            places.extend(of(&sink.steps));
        }
        for (_, _, _, steps) in &self.param_flow_steps {
            places.extend(of(steps));
        }
        places
    }

    /// Whether any place of the summary (steps, sources, sinks, stored values) satisfies `test`.
    pub(super) fn any_place(&self, test: &mut impl FnMut((usize, usize, usize)) -> bool) -> bool {
        let steps = |steps: &[TraceStep], test: &mut dyn FnMut((usize, usize, usize)) -> bool| {
            steps.iter().any(|step| test((step.file, step.start, step.end)))
        };
        self.param_returns.iter().any(|(_, _, _, s)| steps(s, test))
            || self.source_returns.iter().any(|label| label.any_place(test))
            || self.param_sinks.iter().any(|sink| test(sink.sink) || steps(&sink.steps, test))
            || self.param_flow_steps.iter().any(|(_, _, _, s)| steps(s, test))
            || self.exports.iter().any(|export| export.value.labels.iter().any(|label| label.any_place(test)))
    }

    /// Orders the entries by what flows where (stable: equal flows keep their order), so that
    /// two analyses finding the same flows in another order give equal `places` — a recursive
    /// function swapping its arguments would otherwise alternate between two orders forever.
    pub(super) fn sort_entries(&mut self) {
        self.param_returns.sort_by_key(|(param, cleared, normalized, _)| (*param, *cleared, *normalized));
        self.source_returns.sort_by_key(|label| label.key());
        self.param_sinks.sort_by(|a, b| {
            (a.param, a.kind, a.cwe, a.cleared, a.sink, &a.render).cmp(&(b.param, b.kind, b.cwe, b.cleared, b.sink, &b.render))
        });
        self.param_flow_steps.sort_by(|a, b| (a.0, &a.1, a.2).cmp(&(b.0, &b.1, b.2)));
    }

    pub(super) fn signature(&self) -> SummarySignature {
        let mut returns: Vec<_> = self.param_returns.iter().map(|(p, c, n, steps)| (*p, *c, *n, no_places(steps))).collect();
        returns.sort();
        returns.dedup();
        let mut sources: Vec<_> = self
            .source_returns
            .iter()
            .map(|label| {
                let (origin, cleared, normalized) = label.key();
                (origin, cleared, normalized, no_places(&label.trace.steps()))
            })
            .collect();
        sources.sort();
        sources.dedup();
        let mut sinks: Vec<_> =
            self.param_sinks.iter().map(|s| (s.param, s.kind, s.cwe, s.cleared, s.sink, s.render.clone(), no_places(&s.steps))).collect();
        sinks.sort();
        sinks.dedup();
        let mut effects = self.param_effects.clone();
        effects.sort();
        let mut guards = self.guards_when_true.clone();
        guards.sort();
        let mut flows = self.param_flows.clone();
        flows.sort();
        flows.dedup();
        let mut exports = self.param_exports.clone();
        exports.sort_unstable();
        exports.dedup();
        (returns, sources, sinks, self.returns_stringy, self.returns_reference.clone(), effects, guards, flows, exports, self.never_returns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::SourceKind;
    use crate::taint::lattice::Trace;

    fn step(start: usize) -> TraceStep {
        TraceStep { file: 0, start, end: start + 1, kind: "assignment", description: "".into() }
    }

    fn returning(steps: Vec<TraceStep>) -> Summary {
        Summary { param_returns: vec![(0, 0, false, steps)], ..Summary::default() }
    }

    #[test]
    fn field_parameters_name_their_parameter_and_attribute() {
        let hash = attribute_hash("req");
        assert_ne!(hash, attribute_hash("config"));
        assert_eq!(field_of(field_param(0, hash).unwrap()), Some((0, hash)));
        assert_eq!(field_of(field_param(3, hash).unwrap()), Some((3, hash)));
        assert_eq!(field_of(field_param(RECEIVER, hash).unwrap()), Some((RECEIVER, hash)));
        assert_eq!(field_of(2), None, "a parameter is not a field");
        assert_eq!(field_of(RECEIVER), None);
        assert_eq!(field_param(0xFFFF, hash), None, "past the slots, a parameter is read whole");
    }

    #[test]
    fn signature_ignores_step_places_which_places_report() {
        let (here, there) = (returning(vec![step(10)]), returning(vec![step(20), step(30)]));
        assert_eq!(here.signature(), there.signature());
        assert_eq!(here.places(), vec![(0, 10, 11)]);
        assert_eq!(there.places(), vec![(0, 20, 21), (0, 30, 31)]);
        assert_ne!(returning(vec![]).signature(), Summary::default().signature(), "a flow is part of the signature");
    }

    #[test]
    fn signature_does_not_depend_on_the_order_or_repetition_of_flows() {
        let a = Summary {
            param_flows: vec![(0, String::new(), 1), (1, "[\"k\"]".into(), 0)],
            param_exports: vec![(0, 0, false, "m".into(), false, crate::taint::path_key::PathKey::new("X"))],
            ..Summary::default()
        };
        let b = Summary {
            param_flows: vec![(1, "[\"k\"]".into(), 0), (0, String::new(), 1), (0, String::new(), 1)],
            param_exports: vec![(0, 0, false, "m".into(), false, crate::taint::path_key::PathKey::new("X")); 2],
            ..Summary::default()
        };
        assert_eq!(a.signature(), b.signature());
    }

    #[test]
    fn places_include_returned_sources_and_sinks() {
        let source = Label {
            origin: Origin::Source { kind: SourceKind::UserInput, file: 1, start: 5, end: 9 },
            cleared: 0,
            normalized: false,
            trace: Trace::default().push(step(12)),
        };
        let sink = ParamSink {
            param: 0,
            kind: 1,
            cwe: 89,
            cleared: 0,
            sink: (2, 40, 50),
            callee: "execute".into(),
            steps: vec![step(30)],
            render: None,
        };
        let summary = Summary { source_returns: vec![source], param_sinks: vec![sink], ..Summary::default() };
        assert_eq!(summary.places(), vec![(1, 5, 9), (0, 12, 13), (2, 40, 50), (0, 30, 31)]);
    }
}
