//! The abstract values of the taint analysis: labels (where taint came from, what it was
//! sanitised for, the steps it took), values (labels plus an optional constant, qualified
//! reference and string shape), and states (access path → value), with their joins.
//!
//! Invariants:
//! - Bounded by design: a value holds at most `MAX_LABELS` labels with source places; past it,
//!   its source labels are keyed by kind (`Origin::Sources`), so no taint is lost. Joins stay
//!   commutative, associative and idempotent (proptests below).
//! - Of two labels with the same key the one with the shorter (then earlier) trace is kept: the
//!   choice does not depend on visiting order.
//! - A trace never exceeds `MAX_TRACE` steps; past it, its middle is one `elided` step, so it
//!   keeps its source and its latest steps. Every bound met is counted (`note_bound`).

use std::ops::Bound;
use std::sync::Arc;

use imbl::ordmap::DiffItem;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::program::Constant;
use crate::rules::SourceKind;

use super::path_key::{KeyText, PathKey};
use super::Incomplete;

/// Labels with source origins per value; past it, labels are merged (see `Value::add_label`).
pub(super) const MAX_LABELS: usize = 12;
/// Steps of a trace; past it, the middle steps are left out (see `Trace::push`).
pub(super) const MAX_TRACE: usize = 40;
/// Steps kept at the start of a trace whose middle is left out.
pub(super) const TRACE_HEAD: usize = 8;

thread_local! {
    /// Bounds met by the scope analysis running on this thread (one scope per thread at a time).
    pub(super) static BOUNDS_MET: std::cell::Cell<Incomplete> = const { std::cell::Cell::new(Incomplete::ZERO) };
}

pub(super) fn note_bound(record: impl FnOnce(&mut Incomplete)) {
    BOUNDS_MET.with(|cell| {
        let mut met = cell.get();
        record(&mut met);
        cell.set(met);
    });
}

/// One step of a taint path.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct TraceStep {
    pub file: usize,
    pub start: usize,
    pub end: usize,
    /// `source`, `assignment`, `call`, `argument`, `return`, `sink` (or `elided`): one of
    /// `STEP_KINDS`, stored as its name (an unknown name fails to load: the cache is rebuilt).
    pub kind: &'static str,
    /// Shared: a step is copied into every trace that passes it (callers' summaries included),
    /// so a copy costs a reference count, not an allocation.
    pub description: Arc<str>,
}

/// Every kind a step can have.
pub const STEP_KINDS: &[&str] = &["source", "assignment", "call", "argument", "return", "sink", "elided"];

/// A `TraceStep` as read from disk, its kind a name.
#[derive(Deserialize)]
struct StoredStep {
    file: usize,
    start: usize,
    end: usize,
    kind: String,
    description: String,
}

impl<'de> Deserialize<'de> for TraceStep {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<TraceStep, D::Error> {
        let step = StoredStep::deserialize(deserializer)?;
        let kind = STEP_KINDS
            .iter()
            .copied()
            .find(|kind| *kind == step.kind)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown step kind {:?}", step.kind)))?;
        Ok(TraceStep { file: step.file, start: step.start, end: step.end, kind, description: step.description.into() })
    }
}

#[derive(Debug)]
pub(super) struct TraceNode {
    pub(super) step: TraceStep,
    pub(super) previous: Option<Arc<TraceNode>>,
    pub(super) length: usize,
}

#[derive(Clone, Debug, Default)]
pub(super) struct Trace(Option<Arc<TraceNode>>);

/// The order `Label::merge` keeps the better of two traces by (`Trace::rank`): length, then
/// where the last step is.
pub(super) type TraceRank = (usize, Option<(usize, usize, usize)>);

/// A trace is stored as its steps, first to last (`Trace::from_steps` rebuilds it).
impl Serialize for Trace {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.steps().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Trace {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Trace, D::Error> {
        let steps = Vec::<TraceStep>::deserialize(deserializer)?;
        if steps.len() > MAX_TRACE {
            return Err(serde::de::Error::custom("trace longer than MAX_TRACE"));
        }
        Ok(Trace::from_steps(steps))
    }
}

impl Trace {
    /// The trace followed by `step`. A trace never exceeds `MAX_TRACE` steps: past it, the
    /// steps after the first `TRACE_HEAD` are replaced by one `elided` step, so a path always
    /// keeps its source and its latest steps (the sink among them).
    pub(super) fn push(&self, step: TraceStep) -> Trace {
        let length = self.0.as_ref().map_or(0, |node| node.length);
        if length < MAX_TRACE {
            return Trace(Some(Arc::new(TraceNode { step, previous: self.0.clone(), length: length + 1 })));
        }
        note_bound(|met| met.trace_elided += 1);
        match &self.0 {
            Some(last) if length == MAX_TRACE => Trace::pushed_past_the_bound(last, step),
            _ => {
                let mut steps = self.steps();
                steps.push(step);
                Trace::cut(steps)
            }
        }
    }

    /// `Trace::cut` of the `MAX_TRACE` steps ending in `last` followed by `step`, without
    /// copying the steps: the first `TRACE_HEAD` nodes are shared, the two steps after them
    /// become one `elided` step (counting what they stand for, at the first one's place), and
    /// the latest steps and `step` follow it. `push` past the bound meets this at every step
    /// (`trace_elided`); the proptest `a_push_past_the_bound_is_the_cut_of_the_steps` pins it
    /// to `cut`.
    fn pushed_past_the_bound(last: &Arc<TraceNode>, step: TraceStep) -> Trace {
        debug_assert_eq!(last.length, MAX_TRACE);
        // The nodes after the two left out, latest first.
        let mut tail: Vec<&TraceNode> = Vec::with_capacity(MAX_TRACE - TRACE_HEAD - 2);
        let mut current: &TraceNode = last;
        while current.length > TRACE_HEAD + 2 {
            tail.push(current);
            current = current.previous.as_deref().expect("a node's length counts its predecessors");
        }
        let second_left_out = current;
        let first_left_out = second_left_out.previous.as_deref().expect("a node's length counts its predecessors");
        let head = first_left_out.previous.clone();
        let count = |s: &TraceStep| if s.kind == "elided" { elided_count(s) } else { 1 };
        let left_out = count(&first_left_out.step) + count(&second_left_out.step);
        let marker = TraceStep {
            file: first_left_out.step.file,
            start: first_left_out.step.start,
            end: first_left_out.step.end,
            kind: "elided",
            description: format!("{left_out} steps not shown").into(),
        };
        let mut trace = Trace(Some(Arc::new(TraceNode { step: marker, previous: head, length: TRACE_HEAD + 1 })));
        let kept = tail.into_iter().rev().map(|node| node.step.clone()).chain(std::iter::once(step));
        for (index, kept) in kept.enumerate() {
            trace = Trace(Some(Arc::new(TraceNode { step: kept, previous: trace.0.clone(), length: TRACE_HEAD + 2 + index })));
        }
        trace
    }

    /// The empty trace, for a label whose steps nothing reads (a parameter's label stored
    /// into another scope's state: `Summary::param_exports` holds no steps), where `push`
    /// would have been: the bound that push would meet is counted (`trace_elided`) all the same.
    pub(super) fn stepless_push(&self) -> Trace {
        if self.0.as_ref().is_some_and(|node| node.length >= MAX_TRACE) {
            note_bound(|met| met.trace_elided += 1);
        }
        Trace::default()
    }

    /// A trace of `steps` as they are (already within `MAX_TRACE`: a trace's own steps).
    pub(super) fn from_steps(steps: Vec<TraceStep>) -> Trace {
        let mut trace = Trace::default();
        for (index, step) in steps.into_iter().enumerate() {
            trace = Trace(Some(Arc::new(TraceNode { step, previous: trace.0.clone(), length: index + 1 })));
        }
        trace
    }

    /// The trace followed by `steps`: as pushing them one by one would give, but a trace that
    /// outgrows `MAX_TRACE` is cut once, not at every step.
    pub(super) fn extend(&self, steps: &[TraceStep]) -> Trace {
        let length = self.0.as_ref().map_or(0, |node| node.length);
        if length + steps.len() <= MAX_TRACE + 1 {
            return steps.iter().fold(self.clone(), |trace, step| trace.push(step.clone()));
        }
        let mut all = self.steps();
        all.extend_from_slice(steps);
        note_bound(|met| met.trace_elided += 1);
        Trace::cut(all)
    }

    /// What `self.extend(steps).push(last)` would be ranked (`rank`), for `steps.len() == count`
    /// and `last` at `place`, and how many times building it would meet the `MAX_TRACE` bound
    /// (each noted as `trace_elided`), without building it. A trace under the bound grows by a
    /// step per step; one that outgrows it is cut to exactly `MAX_TRACE` steps, once in
    /// `extend` and once more in the `push` (only the `push` when `extend` just reaches it).
    pub(super) fn extended_rank(&self, count: usize, place: (usize, usize, usize)) -> (TraceRank, u32) {
        let total = self.0.as_ref().map_or(0, |node| node.length) + count + 1;
        let cuts = match total {
            _ if total <= MAX_TRACE => 0,
            _ if total == MAX_TRACE + 1 => 1,
            _ => 2,
        };
        ((total.min(MAX_TRACE), Some(place)), cuts)
    }

    /// A trace of `steps` (more than `MAX_TRACE`): the first `TRACE_HEAD`, one `elided` step
    /// counting what it stands for, and the latest steps.
    fn cut(steps: Vec<TraceStep>) -> Trace {
        let keep_tail = MAX_TRACE - TRACE_HEAD - 1;
        let cut = steps.len() - keep_tail;
        // An `elided` step among those left out (this trace's own, or one that came with a
        // callee's steps) stands for the steps it counts.
        let left_out: usize = steps[TRACE_HEAD..cut].iter().map(|s| if s.kind == "elided" { elided_count(s) } else { 1 }).sum();
        let first_left_out = &steps[TRACE_HEAD];
        let marker = TraceStep {
            file: first_left_out.file,
            start: first_left_out.start,
            end: first_left_out.end,
            kind: "elided",
            description: format!("{left_out} steps not shown").into(),
        };
        let mut trace = Trace::default();
        let mut steps = steps.into_iter();
        let head: Vec<TraceStep> = steps.by_ref().take(TRACE_HEAD).collect();
        let tail = steps.skip(cut - TRACE_HEAD);
        for (index, kept) in head.into_iter().chain(std::iter::once(marker)).chain(tail).enumerate() {
            trace = Trace(Some(Arc::new(TraceNode { step: kept, previous: trace.0.clone(), length: index + 1 })));
        }
        trace
    }

    pub(super) fn steps(&self) -> Vec<TraceStep> {
        let mut steps = Vec::new();
        let mut current = self.0.clone();
        while let Some(node) = current {
            steps.push(node.step.clone());
            current = node.previous.clone();
        }
        steps.reverse();
        steps
    }

    /// Whether any step's place satisfies `test` (latest step first; nothing allocated).
    pub(super) fn any_place(&self, test: &mut impl FnMut((usize, usize, usize)) -> bool) -> bool {
        let mut current = self.0.as_deref();
        while let Some(node) = current {
            if test((node.step.file, node.step.start, node.step.end)) {
                return true;
            }
            current = node.previous.as_deref();
        }
        false
    }

    /// An order on traces: length, then where the last step is.
    /// Whether both are the same trace in memory (or both empty).
    pub(super) fn ptr_eq(&self, other: &Trace) -> bool {
        match (&self.0, &other.0) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        }
    }

    pub(super) fn rank(&self) -> TraceRank {
        let length = self.0.as_ref().map_or(0, |node| node.length);
        (length, self.last_location())
    }

    pub(super) fn last_location(&self) -> Option<(usize, usize, usize)> {
        self.0.as_ref().map(|node| (node.step.file, node.step.start, node.step.end))
    }
}

/// How many steps an `elided` step stands for.
pub(super) fn elided_count(step: &TraceStep) -> usize {
    step.description.split(' ').next().and_then(|n| n.parse().ok()).unwrap_or(0)
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub(super) enum Origin {
    Source {
        kind: SourceKind,
        file: usize,
        start: usize,
        end: usize,
    },
    /// Every source of one kind a value holds, once it held more than `MAX_LABELS` source
    /// labels: the place is a witness (the source of the kept trace), not part of the key.
    Sources {
        kind: SourceKind,
        file: usize,
        start: usize,
        end: usize,
    },
    Param(usize),
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct Label {
    pub(super) origin: Origin,
    /// Sink kinds this value has been sanitised for.
    pub(super) cleared: u32,
    /// Passed through path normalisation (`realpath`): a prefix check then clears `FilePath`.
    pub(super) normalized: bool,
    pub(super) trace: Trace,
}

impl Label {
    pub(super) fn key(&self) -> (Origin, u32, bool) {
        let origin = match self.origin {
            Origin::Sources { kind, .. } => Origin::Sources { kind, file: 0, start: 0, end: 0 },
            ref other => other.clone(),
        };
        (origin, self.cleared, self.normalized)
    }

    /// Whether the origin's or any step's place satisfies `test`.
    pub(super) fn any_place(&self, test: &mut impl FnMut((usize, usize, usize)) -> bool) -> bool {
        match self.origin {
            Origin::Source { file, start, end, .. } | Origin::Sources { file, start, end, .. } if test((file, start, end)) => true,
            _ => self.trace.any_place(test),
        }
    }

    pub(super) fn is_source(&self) -> bool {
        matches!(self.origin, Origin::Source { .. } | Origin::Sources { .. })
    }

    /// Takes `other` (of the same key) if its trace is shorter, or as short and its witness
    /// place earlier: a total order, so the result does not depend on the order of merges.
    pub(super) fn merge(&mut self, other: Label) {
        if (other.trace.rank(), &other.origin) < (self.trace.rank(), &self.origin) {
            *self = other;
        }
    }

    /// This source label as one of a value's merged sources.
    pub(super) fn merged_source(mut self) -> Label {
        if let Origin::Source { kind, file, start, end } = self.origin {
            self.origin = Origin::Sources { kind, file, start, end };
        }
        self
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(super) struct Value {
    pub(super) labels: Vec<Label>,
    pub(super) constant: Option<Constant>,
    pub(super) reference: Option<Arc<str>>,
    pub(super) stringy: bool,
}

impl Value {
    pub(super) fn constant(constant: Constant) -> Value {
        let stringy = matches!(constant, Constant::Str(_));
        Value { constant: Some(constant), stringy, ..Value::default() }
    }

    pub(super) fn reference(reference: String) -> Value {
        Value { reference: Some(reference.into()), ..Value::default() }
    }

    /// Adds a label; of two with the same key the one with the shorter (then earlier-ending)
    /// trace is kept, so the choice does not depend on visiting order and fixpoints settle.
    ///
    /// Bounded by design: past `MAX_LABELS` source labels, a value's source labels are keyed by
    /// source kind (with what they are sanitised for) instead of by place, and stay so. No
    /// taint is lost — only which of several sources a finding names (`Origin::Sources`).
    /// Whether a value merges depends only on its set of labels, so joins stay commutative,
    /// associative and idempotent (proptests below).
    pub(super) fn add_label(&mut self, label: Label) {
        let merged = self.labels.iter().any(|l| matches!(l.origin, Origin::Sources { .. }));
        let label = if merged && label.is_source() {
            label.merged_source()
        } else if matches!(label.origin, Origin::Sources { .. })
            || (label.is_source()
                && !self.labels.iter().any(|existing| existing.key() == label.key())
                && self.labels.iter().filter(|l| l.is_source()).count() >= MAX_LABELS)
        {
            // A merged label arriving merges this value too; otherwise the bound was met here.
            if label.is_source() && !matches!(label.origin, Origin::Sources { .. }) {
                note_bound(|met| met.labels_merged += 1);
            }
            for existing in &mut self.labels {
                if existing.is_source() {
                    *existing = existing.clone().merged_source();
                }
            }
            self.dedupe_merging();
            label.merged_source()
        } else {
            label
        };
        match self.labels.iter_mut().find(|existing| existing.key() == label.key()) {
            Some(existing) => existing.merge(label),
            None => self.labels.push(label),
        }
    }

    /// Merges labels that became equal in key (after clearing or merging sources).
    pub(super) fn dedupe_merging(&mut self) {
        let mut kept: Vec<Label> = Vec::with_capacity(self.labels.len());
        for label in std::mem::take(&mut self.labels) {
            match kept.iter_mut().find(|k| k.key() == label.key()) {
                Some(existing) => existing.merge(label),
                None => kept.push(label),
            }
        }
        self.labels = kept;
    }

    /// Union of taint (constants and references are dropped: the result is computed).
    pub(super) fn absorb(&mut self, other: &Value) {
        for label in &other.labels {
            self.add_label(label.clone());
        }
        self.stringy |= other.stringy;
    }

    pub(super) fn join(&self, other: &Value) -> Value {
        let mut joined = self.clone();
        for label in &other.labels {
            joined.add_label(label.clone());
        }
        if joined.constant != other.constant {
            joined.constant = None;
        }
        if joined.reference != other.reference {
            // Either reference (`ir::resolve::join_references`: `r = A() if f else B()`).
            joined.reference = match (&joined.reference, &other.reference) {
                (Some(mine), Some(theirs)) => crate::ir::resolve::join_references(mine, theirs).map(Into::into),
                _ => None,
            };
        }
        joined.stringy |= other.stringy;
        joined
    }

    /// Whether absorbing `other` into any value that has absorbed `self` changes nothing: each
    /// of its labels has one of the same key here whose trace is preferred or equal (`merge`),
    /// and it is stringy only if this is. (Merged sources, keyed apart, are simply not covered.)
    pub(super) fn covers(&self, other: &Value) -> bool {
        (self.stringy || !other.stringy)
            && other.labels.iter().all(|label| {
                self.labels
                    .iter()
                    .any(|mine| mine.key() == label.key() && (mine.trace.rank(), &mine.origin) <= (label.trace.rank(), &label.origin))
            })
    }

    /// Whether `self.join(other)` is `self` again (same labels in the same order with the same
    /// traces, same constant, reference and shape): every label of `other` is covered by one
    /// of the same key that `merge` keeps, and neither value has merged sources (where
    /// `add_label` re-keys labels; such joins are simply done).
    pub(super) fn join_keeps(&self, other: &Value) -> bool {
        self.constant == other.constant
            && self.reference == other.reference
            && !self.labels.iter().chain(&other.labels).any(|label| matches!(label.origin, Origin::Sources { .. }))
            && self.covers(other)
    }

    /// Whether absorbing `other` (`absorb`, then the constant dropped, as a weak update does)
    /// leaves this value exactly as it is: no constant to drop, and `other` covered with
    /// neither side holding merged sources (where `add_label` re-keys labels).
    pub(super) fn absorbs_to_itself(&self, other: &Value) -> bool {
        self.constant.is_none()
            && !self.labels.iter().chain(&other.labels).any(|label| matches!(label.origin, Origin::Sources { .. }))
            && self.covers(other)
    }

    pub(super) fn same(&self, other: &Value) -> bool {
        self.constant == other.constant
            && self.reference == other.reference
            && self.stringy == other.stringy
            && self.labels.len() == other.labels.len()
            && self.labels.iter().all(|label| other.labels.iter().any(|o| o.key() == label.key()))
    }

    /// Whether both are the very same value: equal fields, labels in the same order with the
    /// same traces (by identity). Conservative — equal values with separately built traces are
    /// not identical — and used only where "not identical" costs a join, never a result.
    fn identical(&self, other: &Value) -> bool {
        self.constant == other.constant
            && self.reference == other.reference
            && self.stringy == other.stringy
            && self.labels.len() == other.labels.len()
            && self
                .labels
                .iter()
                .zip(&other.labels)
                .all(|(a, b)| a.origin == b.origin && a.cleared == b.cleared && a.normalized == b.normalized && a.trace.ptr_eq(&b.trace))
    }

    pub(super) fn is_tainted(&self) -> bool {
        !self.labels.is_empty()
    }

    /// The value with every label sanitised for `kinds`.
    pub(super) fn cleared(mut self, kinds: u32) -> Value {
        // Labels stay (with every kind cleared) so guards can tell a checked parameter apart.
        for label in &mut self.labels {
            label.cleared |= kinds;
        }
        self.dedupe_merging();
        self
    }

    pub(super) fn traced(mut self, step: &TraceStep) -> Value {
        for label in &mut self.labels {
            label.trace = label.trace.push(step.clone());
        }
        self
    }
}

/// The map a state is: access path → value, persistent (a clone shares the whole tree, an
/// update copies one path), so keeping a state per CFG step costs O(log n) per assignment, not
/// O(n). Keys and values are shared too (`Arc`): copying a node of the path copies pointers,
/// not strings and label lists; a value is copied when it is changed (`get_mut`).
/// Stored as a map in path order (imbl's serde), so equal states have equal bytes.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(super) struct Values(imbl::OrdMap<PathKey, Arc<Value>>);

impl Values {
    pub(super) fn get(&self, path: &str) -> Option<&Value> {
        self.0.get(&KeyText(path)).map(Arc::as_ref)
    }

    pub(super) fn contains_key(&self, path: &str) -> bool {
        self.0.contains_key(&KeyText(path))
    }

    pub(super) fn get_mut(&mut self, path: &str) -> Option<&mut Value> {
        self.0.get_mut(&KeyText(path)).map(Arc::make_mut)
    }

    pub(super) fn insert(&mut self, path: impl AsRef<str>, value: Value) {
        self.0.insert(PathKey::new(path.as_ref()), Arc::new(value));
    }

    pub(super) fn remove(&mut self, path: &str) -> Option<Value> {
        self.0.remove(&KeyText(path)).map(Arc::unwrap_or_clone)
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether both are the very same map (one root, as after a clone left unchanged): O(1).
    pub(super) fn ptr_eq(&self, other: &Values) -> bool {
        self.0.ptr_eq(&other.0)
    }

    /// In path order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0.iter().map(|(path, value)| (path.as_str(), value.as_ref()))
    }

    /// The paths from `from` on, in order.
    pub(super) fn from(&self, from: &str) -> impl Iterator<Item = (&str, &Value)> {
        self.0.range::<_, KeyText>((Bound::Included(KeyText(from)), Bound::Unbounded)).map(|(path, value)| (path.as_str(), value.as_ref()))
    }
}

impl<'a> IntoIterator for &'a Values {
    type Item = (&'a str, &'a Value);
    type IntoIter = Box<dyn Iterator<Item = (&'a str, &'a Value)> + 'a>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

impl IntoIterator for Values {
    type Item = (String, Value);
    type IntoIter = Box<dyn Iterator<Item = (String, Value)>>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.0.into_iter().map(|(path, value)| (path.as_str().to_string(), Arc::unwrap_or_clone(value))))
    }
}

impl FromIterator<(String, Value)> for Values {
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(entries: I) -> Values {
        Values(entries.into_iter().map(|(path, value)| (PathKey::new(&path), Arc::new(value))).collect())
    }
}

impl std::ops::Index<&str> for Values {
    type Output = Value;

    fn index(&self, path: &str) -> &Value {
        self.get(path).expect("path in state")
    }
}

/// Abstract state: access path (`x`, `self.x`, `d['k']`) → value.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(super) struct State {
    pub(super) values: Values,
}

/// `Values::diff` skips the subtrees two states share and the entries that are `identical`.
impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        // One value in memory is identical to itself unless its constant is a NaN (the only
        // field `identical` does not find equal to itself): the states' `Arc`s make that the
        // common case in a diff, where the tree nodes were copied but their values were not.
        (std::ptr::eq(self, other) && !matches!(self.constant, Some(Constant::Float(f)) if f.is_nan())) || self.identical(other)
    }
}

/// Projections a place a callee's summary stores into may have (`x[0].a["k"].b`: four). Summaries
/// of recursive functions compose their own suffixes (`keep(xs[1], ys)` storing into `ys[0]`,
/// then `xs[1][0]`, …): without this bound the places, and the fixpoint, would grow forever.
pub(super) const MAX_STORED_PROJECTIONS: usize = 4;

/// `path` cut to its first `MAX_STORED_PROJECTIONS` projections (`a.b[0]["x.y"]` has three:
/// dots and brackets inside quoted keys are not projections), and whether it was cut. Taint
/// stored into the prefix is seen by every read below it, so cutting errs toward more taint.
pub(super) fn shortened_path(path: &str) -> (&str, bool) {
    let mut projections = 0;
    let mut quoted = false;
    let mut escaped = false;
    for (offset, byte) in path.bytes().enumerate() {
        if quoted {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => quoted = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => quoted = true,
            b'.' | b'[' => {
                projections += 1;
                if projections > MAX_STORED_PROJECTIONS {
                    return (&path[..offset], true);
                }
            }
            _ => {}
        }
    }
    (path, false)
}

impl State {
    /// Pointwise join, a path unassigned on one side joined with the empty value (the taint
    /// stays, the constant goes). Starts from `self` and visits only what differs from
    /// `other` (a value joined with itself is itself), so joining states that share most of
    /// their tree costs what differs.
    pub(super) fn join(&self, other: &State) -> State {
        self.join_changing(other).0
    }

    /// `self.join(other)` when it is not the `same` state as `self`, `None` when it is (the
    /// worklist's question: does this edge bring anything new?). One pass over what differs,
    /// where `join_keeps`, then `join`, then `same` took three.
    ///
    /// Equivalent to `join` followed by `same`: the join differs from `self` only at the paths
    /// it inserts, so it is not `same` exactly when it adds a path (the lengths differ) or
    /// inserts a value that is not `same` as the one it replaces (a value identical to the one
    /// it replaces is `same` as it, so the diff `same` walks skipping it changes nothing).
    pub(super) fn join_if_changed(&self, other: &State) -> Option<State> {
        let (joined, changed) = self.join_changing(other);
        changed.then_some(joined)
    }

    /// `join`, and whether the result is not `same` as `self`.
    fn join_changing(&self, other: &State) -> (State, bool) {
        let mut values = self.values.clone();
        let mut changed = false;
        for item in self.values.0.diff(&other.values.0) {
            match item {
                DiffItem::Update { old: (path, mine), new: (_, theirs) } => {
                    // A value that would come out of the join as it is stays (its path in the
                    // tree is not copied).
                    if !mine.join_keeps(theirs) {
                        let joined = mine.join(theirs);
                        changed |= !joined.same(mine);
                        values.0.insert(*path, Arc::new(joined));
                    }
                }
                DiffItem::Remove(path, mine) => {
                    if mine.constant.is_some() || mine.reference.is_some() {
                        let joined = mine.join(&Value::default());
                        changed |= !joined.same(mine);
                        values.0.insert(*path, Arc::new(joined));
                    }
                }
                DiffItem::Add(path, theirs) => {
                    // Joined with the empty value, a value without constant or reference is
                    // itself: shared, not copied.
                    let joined = if theirs.constant.is_none() && theirs.reference.is_none() {
                        Arc::clone(theirs)
                    } else {
                        Arc::new(theirs.join(&Value::default()))
                    };
                    values.0.insert(*path, joined);
                    changed = true;
                }
            }
        }
        (State { values }, changed)
    }

    /// Whether both hold the same paths with `same` values (`join_if_changed` answers it for a
    /// join in the same pass).
    #[cfg(test)]
    pub(super) fn same(&self, other: &State) -> bool {
        self.values.len() == other.values.len()
            && self
                .values
                .0
                .diff(&other.values.0)
                .all(|item| matches!(item, DiffItem::Update { old: (_, mine), new: (_, theirs) } if mine.same(theirs)))
    }

    /// Strong update: `path` and everything below it are replaced.
    pub(super) fn assign(&mut self, path: &str, value: Value) {
        self.remove_below(path);
        self.values.insert(path, value);
    }

    /// Removes every path below `path` (`path.x`, `path[k]`): two contiguous key ranges.
    pub(super) fn remove_below(&mut self, path: &str) {
        for projection in ['.', '['] {
            for key in with_prefix(path, projection, |prefix| self.keys_starting_with(prefix)) {
                self.values.remove(key.as_str());
            }
        }
    }

    /// The keys that start with `prefix`: one contiguous range of the ordered map.
    fn keys_starting_with(&self, prefix: &str) -> Vec<PathKey> {
        self.values
            .0
            .range::<_, KeyText>((Bound::Included(KeyText(prefix)), Bound::Unbounded))
            .map(|(key, _)| key)
            .take_while(|key| key.as_str().starts_with(prefix))
            .copied()
            .collect()
    }

    /// Applies `change` to every value.
    pub(super) fn update_values(&mut self, mut change: impl FnMut(&mut Value)) {
        let keys: Vec<PathKey> = self.values.0.keys().copied().collect();
        for key in keys {
            if let Some(value) = self.values.get_mut(key.as_str()) {
                change(value);
            }
        }
    }

    /// Weak update of every element known under `path` (`path[k]` and below): a store by a
    /// key that is not known may have been into any of them (`d[key] = v` before `d["k"]`).
    pub(super) fn add_to_elements(&mut self, path: &str, value: &Value) {
        for key in with_prefix(path, '[', |prefix| self.keys_starting_with(prefix)) {
            self.add(key.as_str(), value);
        }
    }

    /// Weak update: `path` may now also hold `value`.
    pub(super) fn add(&mut self, path: &str, value: &Value) {
        // One insertion for a new path; for a known one, nothing copied when the value held
        // there already covers the new one (absorbing it would change nothing: `absorbs_to_itself`),
        // as a loop's fixpoint and a callee's stores into many places often find.
        match self.values.get(path) {
            None => {
                let mut entry = Value::default();
                entry.absorb(value);
                self.values.insert(path, entry);
            }
            Some(existing) if existing.absorbs_to_itself(value) => {}
            Some(_) => {
                let entry = self.values.get_mut(path).expect("present");
                entry.absorb(value);
                entry.constant = None;
            }
        }
    }

    /// Whether `self.join(other)` would hold exactly `self`'s values (`Value::join_keeps` for
    /// each value the other changes, no path only one side has, but one of `self`'s that the
    /// join with nothing keeps: no constant, no reference). The worklist asks
    /// `join_if_changed` instead; kept for the proptest that pins what `join` shares.
    #[cfg(test)]
    pub(super) fn join_keeps(&self, other: &State) -> bool {
        self.values.0.diff(&other.values.0).all(|item| match item {
            DiffItem::Update { old: (_, mine), new: (_, theirs) } => mine.join_keeps(theirs),
            DiffItem::Remove(_, mine) => mine.constant.is_none() && mine.reference.is_none(),
            DiffItem::Add(..) => false,
        })
    }

    /// The value at `path` including everything stored below it (a container read whole).
    pub(super) fn read_whole(&self, path: &str) -> Option<Value> {
        self.read_whole_from(path, self.values.get(path))
    }

    /// `read_whole` where the caller has already looked `path` up: `held` is `values.get(path)`.
    pub(super) fn read_whole_from(&self, path: &str, held: Option<&Value>) -> Option<Value> {
        let mut result: Option<Value> = held.cloned();
        // The keys that start with `path` are one contiguous range from `path` on (`path`
        // itself first); those below it go on with `.` or `[`.
        for (key, value) in self.values.from(path) {
            let Some(rest) = key.strip_prefix(path) else { break };
            if matches!(rest.as_bytes().first(), Some(b'.' | b'[')) {
                result.get_or_insert_with(Value::default).absorb(value);
            }
        }
        result
    }
}

thread_local! {
    /// The buffer `with_prefix` builds key prefixes in (taken while in use, so a nested call
    /// only allocates its own).
    static PREFIX: std::cell::Cell<String> = const { std::cell::Cell::new(String::new()) };
}

/// Runs `work` on `path` followed by `projection` (the prefix of the keys below `path` by that
/// projection), built in a reused buffer: an assignment does not allocate for it.
fn with_prefix<R>(path: &str, projection: char, work: impl FnOnce(&str) -> R) -> R {
    let mut prefix = PREFIX.with(std::cell::Cell::take);
    prefix.clear();
    prefix.push_str(path);
    prefix.push(projection);
    let result = work(&prefix);
    PREFIX.with(|cell| cell.set(prefix));
    result
}

/// Visits every (path, value) that some state of `states` holds, walking the steps from
/// `entry` along `successors`: the entry's state whole, every other state as its difference
/// from the state of the step it was first reached from (a value identical to one visited is
/// skipped). Steps' states are built from each other and share their trees, so this costs
/// what changed from step to step, not steps × paths (a module of 100k assignments).
pub(super) fn for_each_stored<'a, I: IntoIterator<Item = usize>>(
    states: &'a [Option<State>],
    entry: usize,
    successors: impl Fn(usize) -> I,
    mut visit: impl FnMut(&'a str, &'a Value),
) {
    let mut reached = vec![false; states.len()];
    let mut whole: Vec<usize> = vec![entry];
    let mut work: Vec<usize> = Vec::new();
    loop {
        // A state reached from no visited step (the entry, or one left over) is visited whole.
        let step = match work.pop() {
            Some(step) => step,
            None => match whole.pop().or_else(|| (0..states.len()).find(|&s| !reached[s] && states[s].is_some())) {
                Some(step) if !reached[step] => {
                    reached[step] = true;
                    if let Some(state) = &states[step] {
                        state.values.iter().for_each(|(path, value)| visit(path, value));
                    }
                    step
                }
                Some(_) => continue,
                None => return,
            },
        };
        let Some(from) = &states[step] else { continue };
        for next in successors(step) {
            if reached[next] {
                continue;
            }
            let Some(to) = &states[next] else { continue };
            reached[next] = true;
            for item in from.values.0.diff(&to.values.0) {
                match item {
                    DiffItem::Add(path, value) | DiffItem::Update { new: (path, value), .. } => visit(path.as_str(), value),
                    DiffItem::Remove(..) => {}
                }
            }
            work.push(next);
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn step(start: usize, kind: &'static str) -> TraceStep {
        TraceStep { file: 0, start, end: start + 1, kind, description: format!("step {start}").into() }
    }

    fn source(place: usize) -> Label {
        Label {
            origin: Origin::Source { kind: SourceKind::UserInput, file: 0, start: place, end: place + 1 },
            cleared: 0,
            normalized: false,
            trace: Trace::default(),
        }
    }

    fn tainted(place: usize) -> Value {
        let mut value = Value::default();
        value.add_label(source(place));
        value
    }

    #[test]
    fn a_stored_path_is_cut_after_its_fourth_projection_and_quoted_keys_are_one_projection() {
        assert_eq!(shortened_path("xs"), ("xs", false));
        assert_eq!(shortened_path("xs[0].a[\"k\"].b"), ("xs[0].a[\"k\"].b", false));
        assert_eq!(shortened_path("xs[0].a[\"k\"].b[1]"), ("xs[0].a[\"k\"].b", true));
        assert_eq!(shortened_path("d[\"a.b[c\"][\"\\\"].x\"][1][2][3]"), ("d[\"a.b[c\"][\"\\\"].x\"][1][2]", true));
    }

    #[test]
    fn a_long_trace_keeps_its_head_an_elided_marker_and_its_tail() {
        let trace = (0..MAX_TRACE + 5).fold(Trace::default(), |trace, i| trace.push(step(i, "call")));
        let steps = trace.steps();
        assert_eq!(steps.len(), MAX_TRACE);
        assert_eq!(steps[0].start, 0);
        assert_eq!(steps[TRACE_HEAD].kind, "elided");
        assert_eq!(&*steps[TRACE_HEAD].description, "6 steps not shown");
        assert_eq!(steps.last().unwrap().start, MAX_TRACE + 4);
        // Pushing again counts the steps already left out.
        let steps = trace.push(step(100, "sink")).steps();
        assert_eq!(&*steps[TRACE_HEAD].description, "7 steps not shown");
        assert_eq!(steps.last().unwrap().kind, "sink");
    }

    #[test]
    fn a_stepless_push_is_empty_and_counts_the_bound_as_a_push_does() {
        for length in [0, 1, MAX_TRACE - 1, MAX_TRACE] {
            let trace = Trace::from_steps((0..length).map(|index| step(index, "assignment")).collect());
            let count = |push: &dyn Fn(&Trace) -> Trace| {
                BOUNDS_MET.with(|cell| cell.set(Incomplete::ZERO));
                let pushed = push(&trace);
                (pushed, BOUNDS_MET.with(|cell| cell.replace(Incomplete::ZERO)).trace_elided)
            };
            let (pushed, pushed_met) = count(&|trace| trace.push(step(500, "call")));
            let (stepless, stepless_met) = count(&|trace| trace.stepless_push());
            assert_eq!(stepless_met, pushed_met, "length {length}");
            assert_eq!(pushed_met, u32::from(length == MAX_TRACE));
            assert!(stepless.steps().is_empty() && !pushed.steps().is_empty());
        }
    }

    #[test]
    fn extended_rank_is_the_rank_and_the_bounds_met_of_extending_then_pushing() {
        for length in [0, 1, 5, 30, MAX_TRACE - 2, MAX_TRACE - 1, MAX_TRACE] {
            for count in [0, 1, 2, 3, 12, MAX_TRACE + 3] {
                let trace = Trace::from_steps((0..length).map(|index| step(index, "assignment")).collect());
                let steps: Vec<TraceStep> = (0..count).map(|index| step(100 + index, "call")).collect();
                let last = step(500, "return");
                BOUNDS_MET.with(|cell| cell.set(Incomplete::ZERO));
                let built = trace.extend(&steps).push(last.clone());
                let met = BOUNDS_MET.with(|cell| cell.replace(Incomplete::ZERO));
                let (rank, cuts) = trace.extended_rank(count, (last.file, last.start, last.end));
                assert_eq!(rank, built.rank(), "length {length}, {count} steps");
                assert_eq!(cuts, met.trace_elided, "length {length}, {count} steps");
            }
        }
    }

    #[test]
    fn a_trace_extended_by_an_elided_trace_counts_every_step_left_out() {
        // A caller's trace followed by a callee's long (elided) steps, as summaries are applied.
        let total = |trace: &Trace| -> usize { trace.steps().iter().map(|s| if s.kind == "elided" { elided_count(s) } else { 1 }).sum() };
        let callee = (0..MAX_TRACE + 9).fold(Trace::default(), |trace, i| trace.push(step(100 + i, "call")));
        assert_eq!(total(&callee), MAX_TRACE + 9);
        let caller = (0..12).fold(Trace::default(), |trace, i| trace.push(step(i, "call")));
        let trace = caller.extend(&callee.steps());
        assert_eq!(trace.steps().len(), MAX_TRACE);
        assert_eq!(total(&trace), 12 + MAX_TRACE + 9);
        assert_eq!(trace.steps().iter().filter(|s| s.kind == "elided").count(), 1);
    }

    #[test]
    fn of_two_labels_with_one_key_the_shorter_trace_is_kept_whatever_the_order() {
        let mut long = source(1);
        long.trace = Trace::default().push(step(5, "assignment")).push(step(6, "assignment"));
        let mut short = source(1);
        short.trace = Trace::default().push(step(7, "assignment"));
        for labels in [[long.clone(), short.clone()], [short, long]] {
            let mut value = Value::default();
            for label in labels {
                value.add_label(label);
            }
            assert_eq!(value.labels.len(), 1);
            assert_eq!(value.labels[0].trace.steps().len(), 1);
        }
    }

    #[test]
    fn cleared_keeps_labels_and_merges_those_that_become_equal() {
        let mut value = tainted(1);
        let mut partly = source(1);
        partly.cleared = 0b01;
        value.add_label(partly);
        assert_eq!(value.labels.len(), 2);
        let cleared = value.cleared(0b11);
        assert!(cleared.is_tainted(), "a sanitised value keeps its labels");
        assert_eq!(cleared.labels.len(), 1);
        assert_eq!(cleared.labels[0].cleared, 0b11);
    }

    #[test]
    fn join_keeps_a_constant_only_where_both_agree() {
        let one = Value::constant(Constant::Int(1));
        assert_eq!(one.join(&Value::constant(Constant::Int(1))).constant, Some(Constant::Int(1)));
        assert_eq!(one.join(&Value::constant(Constant::Int(2))).constant, None);
        assert!(Value::constant(Constant::Str("x".into())).stringy);
    }

    #[test]
    fn assign_is_a_strong_update_of_the_path_and_everything_below_it() {
        let mut state = State::default();
        state.assign("d", tainted(1));
        state.assign("d['k']", tainted(2));
        state.assign("d.attr", tainted(3));
        state.assign("dx", tainted(4));
        state.assign("d", Value::constant(Constant::Int(0)));
        assert!(!state.values["d"].is_tainted());
        assert!(!state.values.contains_key("d['k']"));
        assert!(!state.values.contains_key("d.attr"));
        assert!(state.values["dx"].is_tainted(), "a longer name is not below `d`");
    }

    #[test]
    fn add_is_a_weak_update_that_forgets_the_constant() {
        let mut state = State::default();
        state.assign("x", Value::constant(Constant::Int(1)));
        state.add("x", &tainted(1));
        assert!(state.values["x"].is_tainted());
        assert_eq!(state.values["x"].constant, None);
    }

    #[test]
    fn read_whole_unites_a_container_with_what_is_stored_below_it() {
        let mut state = State::default();
        state.assign("d", Value::default());
        state.assign("d['a']", tainted(1));
        state.assign("d.b", tainted(2));
        state.assign("dd", tainted(3));
        state.assign("e['a']", tainted(4));
        let whole = state.read_whole("d").unwrap();
        let mut places: Vec<_> = whole.labels.iter().map(|l| l.origin.clone()).collect();
        places.sort();
        assert_eq!(places, vec![source(1).origin, source(2).origin]);
        assert!(state.read_whole("e").is_some(), "a container known only by its items");
        assert!(state.read_whole("f").is_none());
    }

    #[test]
    fn join_of_states_keeps_taint_assigned_on_one_side_only() {
        let mut left = State::default();
        left.assign("x", tainted(1));
        let mut right = State::default();
        right.assign("y", Value::constant(Constant::Int(2)));
        let joined = left.join(&right);
        assert!(joined.values["x"].is_tainted());
        assert_eq!(joined.values["y"].constant, None);
        assert!(joined.same(&right.join(&left)));
    }

    fn label_strategy() -> impl Strategy<Value = Label> {
        (0usize..3, 0usize..4, 0u32..8, any::<bool>()).prop_map(|(param_or_source, place, cleared, normalized)| Label {
            origin: if param_or_source == 0 {
                Origin::Param(place)
            } else {
                Origin::Source { kind: SourceKind::UserInput, file: 0, start: place, end: place + 1 }
            },
            cleared,
            normalized,
            trace: Trace::default(),
        })
    }

    fn value_strategy() -> impl Strategy<Value = Value> {
        proptest::collection::vec(label_strategy(), 0..20).prop_map(|labels| {
            let mut value = Value::default();
            for label in labels {
                value.add_label(label);
            }
            value
        })
    }

    /// Values whose labels carry traces of 0 to 2 steps (so `covers` compares traces too).
    fn traced_value_strategy() -> impl Strategy<Value = Value> {
        let traced = (label_strategy(), 0usize..3, 0usize..3).prop_map(|(mut label, length, place)| {
            label.trace = Trace::from_steps((0..length).map(|index| step(place + index, "assignment")).collect());
            label
        });
        (proptest::collection::vec(traced, 0..12), any::<bool>()).prop_map(|(labels, stringy)| {
            let mut value = Value { stringy, ..Value::default() };
            for label in labels {
                value.add_label(label);
            }
            value
        })
    }

    /// A value's labels by key, with the origin and trace rank `merge` keeps.
    #[allow(clippy::type_complexity)]
    fn witnesses(value: &Value) -> Vec<((Origin, u32, bool), Origin, (usize, Option<(usize, usize, usize)>))> {
        let mut witnesses: Vec<_> = value.labels.iter().map(|label| (label.key(), label.origin.clone(), label.trace.rank())).collect();
        witnesses.sort();
        witnesses
    }

    #[test]
    fn a_value_missing_a_label_or_with_a_longer_trace_does_not_cover() {
        let short = tainted(1);
        let mut long = tainted(1);
        long.labels[0].trace = long.labels[0].trace.push(step(5, "assignment"));
        assert!(short.covers(&long), "the shorter trace is kept: absorbing the longer changes nothing");
        assert!(!long.covers(&short), "absorbing the shorter trace replaces the longer one");
        assert!(!short.covers(&tainted(2)));
        assert!(!Value::default().covers(&Value { stringy: true, ..Value::default() }));
    }

    #[test]
    fn for_each_stored_visits_what_any_state_holds_once_per_change() {
        // 0 → 1 → 2, 0 → 3 (a branch), and 4 reached from nowhere visited.
        let mut first = State::default();
        first.assign("a", tainted(1));
        let mut second = first.clone();
        second.assign("b", tainted(2));
        let mut third = second.clone();
        third.assign("a", Value::constant(Constant::Int(1)));
        let mut branch = first.clone();
        branch.assign("c", tainted(3));
        let mut lone = State::default();
        lone.assign("d", tainted(4));
        let states = vec![Some(first), Some(second), Some(third), Some(branch), Some(lone)];
        let successors = [vec![1, 3], vec![2], vec![], vec![], vec![]];
        let mut visited: Vec<(String, bool)> = Vec::new();
        for_each_stored(&states, 0, |step| successors[step].clone(), |path, value| visited.push((path.to_string(), value.is_tainted())));
        visited.sort();
        let expected = [("a", false), ("a", true), ("b", true), ("c", true), ("d", true)];
        assert_eq!(visited, expected.map(|(path, tainted)| (path.to_string(), tainted)));
    }

    /// A value's labels by key, with their witness origin: equal values have equal witnesses.
    fn keys(value: &Value) -> Vec<((Origin, u32, bool), Origin)> {
        let mut keys: Vec<_> = value.labels.iter().map(|label| (label.key(), label.origin.clone())).collect();
        keys.sort();
        keys
    }

    /// A trace's steps: plain ones, and `elided` ones standing for `n` steps (a callee's
    /// elided steps passed on, or the trace's own marker).
    fn trace_steps_strategy() -> impl Strategy<Value = Vec<TraceStep>> {
        proptest::collection::vec((0usize..1000, proptest::option::weighted(0.2, 1usize..200)), 0..MAX_TRACE + 30).prop_map(|steps| {
            steps
                .into_iter()
                .map(|(start, elided)| match elided {
                    Some(count) => {
                        TraceStep { kind: "elided", description: format!("{count} steps not shown").into(), ..step(start, "call") }
                    }
                    None => step(start, "assignment"),
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn a_push_past_the_bound_is_the_cut_of_the_steps(steps in trace_steps_strategy(), pushes in 1usize..5) {
            // Built by pushes (cut at every push past the bound), then pushed further: each push
            // at the bound shares the head instead of cutting the copied steps.
            let mut trace = steps.iter().fold(Trace::default(), |trace, s| trace.push(s.clone()));
            for index in 0..pushes {
                let next = step(2000 + index, "call");
                let mut expected = trace.steps();
                expected.push(next.clone());
                let expected = if expected.len() > MAX_TRACE { Trace::cut(expected).steps() } else { expected };
                BOUNDS_MET.with(|cell| cell.set(Incomplete::ZERO));
                trace = trace.push(next);
                let met = BOUNDS_MET.with(|cell| cell.replace(Incomplete::ZERO));
                prop_assert_eq!(met.trace_elided, u32::from(steps.len() + index >= MAX_TRACE), "a push at the bound is counted");
                prop_assert_eq!(trace.steps(), expected);
                // Each node's length is its position.
                let mut lengths = Vec::new();
                let mut current = trace.0.as_deref();
                while let Some(node) = current {
                    lengths.push(node.length);
                    current = node.previous.as_deref();
                }
                lengths.reverse();
                prop_assert_eq!(lengths, (1..=trace.steps().len()).collect::<Vec<_>>());
            }
        }

        #[test]
        fn value_join_is_commutative_associative_and_idempotent(a in value_strategy(), b in value_strategy(), c in value_strategy()) {
            prop_assert_eq!(keys(&a.join(&b)), keys(&b.join(&a)));
            prop_assert_eq!(keys(&a.join(&b).join(&c)), keys(&a.join(&b.join(&c))));
            prop_assert_eq!(keys(&a.join(&a)), keys(&a));
        }

        #[test]
        fn absorbing_a_covered_value_changes_nothing(a in traced_value_strategy(), b in traced_value_strategy(), c in traced_value_strategy()) {
            prop_assert!(a.covers(&a));
            let mut stored = c.clone();
            stored.absorb(&a);
            let mut again = stored.clone();
            again.absorb(&b);
            if a.covers(&b) {
                prop_assert_eq!(witnesses(&again), witnesses(&stored));
                prop_assert_eq!(again.stringy, stored.stringy);
            }
            // What a value absorbed covers it.
            let merged = again.labels.iter().any(|l| matches!(l.origin, Origin::Sources { .. }));
            prop_assert!(again.covers(&b) || merged);
        }

        #[test]
        fn a_join_said_to_keep_a_value_gives_that_value(a in traced_value_strategy(), b in traced_value_strategy()) {
            // `b` absorbed into `a`'s labels: often covered, sometimes not.
            let mut wider = a.clone();
            wider.absorb(&b);
            for (mine, theirs) in [(&wider, &b), (&a, &b), (&wider, &a), (&a, &a)] {
                if mine.join_keeps(theirs) {
                    let joined = mine.join(theirs);
                    prop_assert!(joined.identical(mine), "a kept value comes out with the same labels and traces");
                }
            }
            let merged = a.labels.iter().any(|l| matches!(l.origin, Origin::Sources { .. }));
            prop_assert!(a.join_keeps(&a) || merged);
        }

        #[test]
        fn a_weak_update_skipped_as_covered_leaves_what_absorbing_would(a in traced_value_strategy(), b in traced_value_strategy(), constant in any::<bool>()) {
            let mut wider = a.clone();
            wider.absorb(&b);
            for (held, added) in [(&wider, &b), (&a, &b), (&wider, &a), (&a, &a)] {
                let mut held = held.clone();
                if constant {
                    held.constant = Some(Constant::Int(1));
                }
                let mut absorbed = held.clone();
                absorbed.absorb(added);
                absorbed.constant = None;
                if held.absorbs_to_itself(added) {
                    prop_assert!(absorbed.identical(&held), "a value said to absorb to itself is unchanged by absorbing");
                }
                let mut state = State::default();
                state.values.insert("x", held);
                state.add("x", added);
                prop_assert!(state.values["x"].identical(&absorbed), "`add` leaves what absorbing gives, skipped or not");
            }
        }

        #[test]
        fn a_state_join_said_to_keep_the_state_gives_that_state(
            mine in proptest::collection::vec((0usize..4, traced_value_strategy(), any::<bool>()), 0..4),
            theirs in proptest::collection::vec((0usize..4, traced_value_strategy(), any::<bool>()), 0..4),
        ) {
            let build = |entries: &[(usize, Value, bool)], base: Option<&State>| {
                let mut state = base.cloned().unwrap_or_default();
                for (key, value, constant) in entries {
                    let mut value = value.clone();
                    if *constant {
                        value.constant = Some(Constant::Int(1));
                    }
                    state.values.insert(["a", "b", "c", "d"][*key], value);
                }
                state
            };
            let mine = build(&mine, None);
            // The other side shares the first's tree (as a step's successors do) or is built apart.
            for theirs in [build(&theirs, Some(&mine)), build(&theirs, None), mine.clone()] {
                let joined = mine.join(&theirs);
                if mine.join_keeps(&theirs) {
                    prop_assert_eq!(joined.values.len(), mine.values.len());
                    for (path, value) in mine.values.iter() {
                        prop_assert!(joined.values[path].identical(value), "a kept state comes out with the same values");
                    }
                }
            }
            prop_assert!(mine.join_keeps(&mine), "a state joined with itself is kept");
        }

        #[test]
        fn a_state_join_if_changed_is_the_join_exactly_when_it_is_not_the_same_state(
            mine in proptest::collection::vec((0usize..4, traced_value_strategy(), 0u8..3), 0..4),
            theirs in proptest::collection::vec((0usize..4, traced_value_strategy(), 0u8..3), 0..4),
        ) {
            // Constants: none, an integer, a NaN (never equal to itself, so never `same`).
            let build = |entries: &[(usize, Value, u8)], base: Option<&State>| {
                let mut state = base.cloned().unwrap_or_default();
                for (key, value, constant) in entries {
                    let mut value = value.clone();
                    value.constant = match constant {
                        0 => None,
                        1 => Some(Constant::Int(1)),
                        _ => Some(Constant::Float(f64::NAN)),
                    };
                    state.values.insert(["a", "b", "c", "d"][*key], value);
                }
                state
            };
            let mine = build(&mine, None);
            for theirs in [build(&theirs, Some(&mine)), build(&theirs, None), mine.clone()] {
                let joined = mine.join(&theirs);
                match mine.join_if_changed(&theirs) {
                    None => prop_assert!(joined.same(&mine), "no join given: the join is the same state"),
                    Some(changed) => {
                        prop_assert!(!joined.same(&mine), "a join given: the join is not the same state");
                        prop_assert_eq!(changed.values.len(), joined.values.len());
                        for (path, value) in joined.values.iter() {
                            prop_assert!(changed.values[path].identical(value) || matches!(value.constant, Some(Constant::Float(f)) if f.is_nan()));
                        }
                    }
                }
            }
        }

        #[test]
        fn a_value_keeps_at_most_the_label_bound_of_sources_and_every_parameter(a in value_strategy()) {
            let places = a.labels.iter().filter(|l| matches!(l.origin, Origin::Source { .. })).count();
            prop_assert!(places <= MAX_LABELS);
            // Merged, a value holds one label per (kind, cleared kinds, normalised) at most.
            let merged = a.labels.iter().filter(|l| matches!(l.origin, Origin::Sources { .. })).count();
            prop_assert!(merged <= 8 * 2);
        }
    }
}
