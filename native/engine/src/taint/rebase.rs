//! Places of a previous run carried onto the current texts, so that cached results stay valid
//! when only their positions moved (an edit above a function, a file added before it).
//!
//! Invariants:
//! - A place is `(file index, start byte, end byte)`. An edit of a file is known as one changed
//!   region (`TextChange`: bytes `start..old_end` of the old text became `start..new_end`).
//!   A place entirely before the region keeps its bytes, one entirely after it moves by the
//!   length difference, and one touching the inside of the region has no counterpart: a result
//!   holding it is not rebased (`None`) and must be computed again.
//! - Rebasing preserves the order of places (files keep their relative order, bytes on either
//!   side of a region keep theirs), so the choices the lattice made by place (shortest, then
//!   earliest trace) are the choices a run from scratch makes.

use std::collections::HashMap;

use super::env::Env;
use super::findings::RawFinding;
use super::lattice::{Label, Origin, State, Trace, TraceStep, Value};
use super::summary::Summary;

/// What an edit did to a file's text since the last analysis: bytes `start..old_end` of the old
/// text are now `start..new_end`. The text before `start` and from `old_end` on is unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TextChange {
    pub start: usize,
    pub old_end: usize,
    pub new_end: usize,
}

impl TextChange {
    /// The change from `old` to `new`: their common prefix and suffix are unchanged.
    pub fn between(old: &str, new: &str) -> TextChange {
        let (old, new) = (old.as_bytes(), new.as_bytes());
        let start = old.iter().zip(new).take_while(|(a, b)| a == b).count();
        let limit = old.len().min(new.len()) - start;
        let suffix = old.iter().rev().zip(new.iter().rev()).take(limit).take_while(|(a, b)| a == b).count();
        TextChange { start, old_end: old.len() - suffix, new_end: new.len() - suffix }
    }

    /// This change followed by `next` (whose bytes are in this change's new text), as one change
    /// of the original text.
    pub fn then(self, next: TextChange) -> TextChange {
        let growth = |change: TextChange| change.new_end as isize - change.old_end as isize;
        let start = self.start.min(next.start);
        let new_end = (self.new_end.max(next.old_end) as isize + growth(next)) as usize;
        let old_end = (new_end as isize - growth(self) - growth(next)) as usize;
        TextChange { start, old_end, new_end }
    }

    fn is_empty(&self) -> bool {
        self.start == self.old_end && self.start == self.new_end
    }
}

/// How one file of the previous run maps onto the current run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FileMap {
    /// The file is gone, or changed in a way not described by a `TextChange`.
    Lost,
    /// Now file `index`, with the text changed by `change` (if at all).
    Kept { index: usize, change: Option<TextChange> },
}

/// Maps places of the previous run onto the current texts.
#[derive(Clone, Debug)]
pub struct PlaceMap {
    files: Vec<FileMap>,
    identity: bool,
}

impl PlaceMap {
    /// Old files `old_files` onto `new_files` (both in program order): a file not in `changed` is
    /// unchanged; a changed one with an entry in `changes` moved by it; any other is lost.
    pub fn new(
        old_files: &[String],
        new_files: &[String],
        changed: Option<&dyn Fn(&str) -> bool>,
        changes: &HashMap<String, TextChange>,
    ) -> PlaceMap {
        let index_of: HashMap<&str, usize> = new_files.iter().enumerate().map(|(index, path)| (path.as_str(), index)).collect();
        let files: Vec<FileMap> = old_files
            .iter()
            .map(|path| match index_of.get(path.as_str()) {
                None => FileMap::Lost,
                Some(&index) => match changes.get(path) {
                    Some(change) if change.is_empty() => FileMap::Kept { index, change: None },
                    Some(change) => FileMap::Kept { index, change: Some(*change) },
                    None if changed.is_some_and(|changed| changed(path)) => FileMap::Lost,
                    None => FileMap::Kept { index, change: None },
                },
            })
            .collect();
        let identity = old_files.len() == new_files.len()
            && files.iter().enumerate().all(|(old, map)| *map == FileMap::Kept { index: old, change: None });
        PlaceMap { files, identity }
    }

    /// Whether every place maps onto itself.
    pub fn is_identity(&self) -> bool {
        self.identity
    }

    /// Where bytes `start..end` of old file `file` are now, if they are unchanged.
    pub fn place(&self, (file, start, end): (usize, usize, usize)) -> Option<(usize, usize, usize)> {
        match *self.files.get(file)? {
            FileMap::Lost => None,
            FileMap::Kept { index, change: None } => Some((index, start, end)),
            FileMap::Kept { index, change: Some(change) } => {
                if end <= change.start && start <= end {
                    Some((index, start, end))
                } else if start >= change.old_end {
                    let moved = |byte: usize| (byte as isize + change.new_end as isize - change.old_end as isize) as usize;
                    Some((index, moved(start), moved(end)))
                } else {
                    None
                }
            }
        }
    }

    /// Whether the place is not itself in the current run (moved, or gone).
    pub fn moves(&self, (file, _, end): (usize, usize, usize)) -> bool {
        match self.files.get(file) {
            None | Some(FileMap::Lost) => true,
            Some(&FileMap::Kept { index, change }) => index != file || change.is_some_and(|change| end > change.start),
        }
    }

    /// Whether some place of old file `file` may not be itself in the current run (the file is
    /// renumbered, changed or gone): `moves` is false for every place of any other file.
    pub fn file_moves(&self, file: usize) -> bool {
        match self.files.get(file) {
            None | Some(FileMap::Lost) => true,
            Some(&FileMap::Kept { index, change }) => index != file || change.is_some(),
        }
    }

    /// Where byte `byte` of old file `file` is now (a scope's start).
    pub fn byte(&self, file: usize, byte: usize) -> Option<usize> {
        self.place((file, byte, byte)).map(|(_, start, _)| start)
    }

    fn step(&self, step: &TraceStep) -> Option<TraceStep> {
        let (file, start, end) = self.place((step.file, step.start, step.end))?;
        Some(TraceStep { file, start, end, kind: step.kind, description: step.description.clone() })
    }

    fn steps(&self, steps: &[TraceStep]) -> Option<Vec<TraceStep>> {
        steps.iter().map(|step| self.step(step)).collect()
    }

    fn trace(&self, trace: &Trace) -> Option<Trace> {
        Some(Trace::from_steps(self.steps(&trace.steps())?))
    }

    fn origin(&self, origin: &Origin) -> Option<Origin> {
        Some(match *origin {
            Origin::Source { kind, file, start, end } => {
                let (file, start, end) = self.place((file, start, end))?;
                Origin::Source { kind, file, start, end }
            }
            Origin::Sources { kind, file, start, end } => {
                let (file, start, end) = self.place((file, start, end))?;
                Origin::Sources { kind, file, start, end }
            }
            Origin::Param(param) => Origin::Param(param),
        })
    }

    fn label(&self, label: &Label) -> Option<Label> {
        Some(Label { origin: self.origin(&label.origin)?, trace: self.trace(&label.trace)?, ..label.clone() })
    }

    fn value(&self, value: &Value) -> Option<Value> {
        let labels = value.labels.iter().map(|label| self.label(label)).collect::<Option<Vec<_>>>()?;
        Some(Value { labels, ..value.clone() })
    }

    fn state(&self, state: &State) -> Option<State> {
        let values = state.values.iter().map(|(path, value)| Some((path.to_string(), self.value(value)?))).collect::<Option<_>>()?;
        Some(State { values })
    }

    /// Whether some place of `summary` or `findings` is gone (it touched the inside of a
    /// changed region): then they are computed again, else `move_summary` and `move_findings`
    /// move them.
    pub(super) fn loses_a_place(&self, summary: &Summary, findings: &[RawFinding]) -> bool {
        let mut gone = |place| self.place(place).is_none();
        summary.any_place(&mut gone)
            || findings.iter().any(|finding| {
                gone(finding.source) || gone(finding.sink) || finding.steps.iter().any(|step| gone((step.file, step.start, step.end)))
            })
    }

    /// Moves `steps` in place; every place must have a counterpart (`place` is `Some`).
    fn move_steps(&self, steps: &mut [TraceStep]) {
        for step in steps {
            if let Some((file, start, end)) = self.place((step.file, step.start, step.end)) {
                (step.file, step.start, step.end) = (file, start, end);
            }
        }
    }

    /// A label whose places have counterparts, moved (rebuilt only if one of them moves).
    fn moved_label(&self, label: &mut Label) {
        if label.any_place(&mut |place| self.moves(place)) {
            if let Some(moved) = self.label(label) {
                *label = moved;
            }
        }
    }

    /// Moves `summary`'s places in place (none may be gone: `loses_a_place`). Step lists are
    /// moved where they are; a label is rebuilt only if one of its places moves (its trace is
    /// shared with other values).
    pub(super) fn move_summary(&self, summary: &mut Summary) {
        // Every field named (no `..`): a new field must be placed on one side or the other.
        let Summary {
            param_returns,
            source_returns,
            param_sinks,
            param_flow_steps,
            exports,
            // Without places:
            returns_stringy: _,
            returns_reference: _,
            param_effects: _,
            guards_when_true: _,
            param_flows: _,
            resolved_callees: _,
            param_exports: _,
            reads: _,
            lookups: _,
            never_returns: _,
        } = summary;
        for (_, _, _, steps) in param_returns {
            self.move_steps(steps);
        }
        for label in source_returns {
            self.moved_label(label);
        }
        for sink in param_sinks {
            sink.sink = self.place(sink.sink).unwrap_or(sink.sink);
            self.move_steps(&mut sink.steps);
        }
        for (_, _, _, steps) in param_flow_steps {
            self.move_steps(steps);
        }
        for export in exports {
            for label in &mut export.value.labels {
                self.moved_label(label);
            }
        }
    }

    /// Moves the places of `findings` in place (none may be gone: `loses_a_place`).
    pub(super) fn move_findings(&self, findings: &mut [RawFinding]) {
        for finding in findings {
            finding.source = self.place(finding.source).unwrap_or(finding.source);
            finding.sink = self.place(finding.sink).unwrap_or(finding.sink);
            self.move_steps(&mut finding.steps);
        }
    }

    /// `env` with its places moved; entries holding a place that is gone are left out (they
    /// then differ from the current env, so their readers are analysed again).
    pub(super) fn env(&self, env: &Env) -> Env {
        let holds_moved = |state: &State| {
            state.values.iter().any(|(_, value)| value.labels.iter().any(|label| label.any_place(&mut |place| self.moves(place))))
        };
        let moved = |state: &State| if holds_moved(state) { self.state(state) } else { Some(state.clone()) };
        let states = env.states.iter().filter_map(|(key, state)| Some((key.clone(), moved(state)?))).collect();
        Env { states, roots: env.roots.clone() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn change(old: &str, new: &str) -> TextChange {
        TextChange::between(old, new)
    }

    #[test]
    fn a_change_is_the_text_between_the_common_prefix_and_suffix() {
        assert_eq!(change("abcdef", "abXYef"), TextChange { start: 2, old_end: 4, new_end: 4 });
        assert_eq!(change("abc", "abc"), TextChange { start: 3, old_end: 3, new_end: 3 });
        assert_eq!(change("aaa", "aaaa"), TextChange { start: 3, old_end: 3, new_end: 4 });
        assert_eq!(change("", "x"), TextChange { start: 0, old_end: 0, new_end: 1 });
        assert_eq!(change("xyz", ""), TextChange { start: 0, old_end: 3, new_end: 0 });
    }

    fn map(change: TextChange) -> PlaceMap {
        let files = vec!["a.py".to_string()];
        PlaceMap::new(&files, &files, Some(&|_: &str| true), &HashMap::from([("a.py".to_string(), change)]))
    }

    #[test]
    fn places_before_the_change_stay_places_after_it_move_places_inside_it_are_gone() {
        // "def f(): pass\n" + "x" inserted at 14.
        let moved = map(TextChange { start: 14, old_end: 14, new_end: 15 });
        assert_eq!(moved.place((0, 0, 14)), Some((0, 0, 14)));
        assert_eq!(moved.place((0, 14, 20)), Some((0, 15, 21)));
        assert_eq!(moved.place((0, 10, 20)), None);
        let replaced = map(TextChange { start: 5, old_end: 9, new_end: 6 });
        assert_eq!(replaced.place((0, 9, 12)), Some((0, 6, 9)));
        assert_eq!(replaced.place((0, 6, 7)), None);
        assert_eq!(replaced.place((1, 0, 1)), None, "no such old file");
    }

    #[test]
    fn files_keep_their_places_under_new_indices_and_lost_files_lose_theirs() {
        let old = vec!["b.py".to_string(), "c.py".to_string()];
        let new = vec!["a.py".to_string(), "b.py".to_string()];
        let map = PlaceMap::new(&old, &new, None, &HashMap::new());
        assert!(!map.is_identity());
        assert_eq!(map.place((0, 3, 4)), Some((1, 3, 4)));
        assert_eq!(map.place((1, 3, 4)), None);
        assert!(PlaceMap::new(&old, &old, None, &HashMap::new()).is_identity());
        // Changed without a described change: lost.
        assert_eq!(PlaceMap::new(&old, &old, Some(&|path: &str| path == "c.py"), &HashMap::new()).place((1, 0, 1)), None);
    }

    fn apply(text: &str, change: (usize, usize, &str)) -> String {
        let (start, end, insert) = change;
        format!("{}{}{}", &text[..start], insert, &text[end..])
    }

    proptest! {
        /// Composed changes describe the composed edit: every byte outside the composed region
        /// maps to an equal byte.
        #[test]
        fn composed_changes_describe_the_composed_edit(
            text in "[ab]{0,12}",
            edits in proptest::collection::vec((0usize..16, 0usize..4, "[abc]{0,3}"), 1..5),
        ) {
            let mut current = text.clone();
            let mut total: Option<TextChange> = None;
            for (at, length, insert) in edits {
                let start = at.min(current.len());
                let end = (start + length).min(current.len());
                let next = apply(&current, (start, end, &insert));
                let step = TextChange { start, old_end: end, new_end: start + insert.len() };
                total = Some(total.map_or(step, |total| total.then(step)));
                current = next;
            }
            let total = total.unwrap();
            prop_assert!(total.start <= total.old_end && total.old_end <= text.len());
            prop_assert!(total.new_end <= current.len());
            prop_assert_eq!(&text[..total.start], &current[..total.start]);
            prop_assert_eq!(&text[total.old_end..], &current[total.new_end..]);
        }
    }
}
