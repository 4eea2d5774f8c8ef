//! Field parameters kept few in a summary: entries a whole parameter's entry already covers are
//! dropped, and a parameter with too many field parameters has them collapsed into itself.
//!
//! Why it is sound (`calls::apply_summary`): a caller binds a parameter `p` to its argument
//! evaluated whole (its own value and everything stored below it, `State::read_whole`), and a
//! field parameter `p.f` to the part of that value under the attribute (`field_argument`): the
//! argument's own value (a parameter `q` of the caller passed on becomes `q.f`, with the
//! clearances `q` had) and what is stored below `.f`. Every label the field binding carries is
//! therefore in the whole binding, or is `q.f` where the whole binding carries `q` with the same
//! clearances — and the caller's own summary then holds `q`'s entry wherever it would hold
//! `q.f`'s, so the argument holds again one level up.
//!
//! Invariants:
//! - Subsumption is exact: a field entry is dropped only where the same entry (same target,
//!   clearances, normalisation) exists for its whole parameter; findings cannot change, only
//!   which of two equal paths is shown for one.
//! - Collapsing may add taint, never drop it: past `MAX_FIELDS_PER_PARAM` distinct fields of one
//!   parameter, every entry of those fields becomes the whole parameter's (an argument's other
//!   attributes then reach the targets too). Each parameter collapsed is counted
//!   (`Incomplete::fields_collapsed`).
//! - The receiver's fields are never collapsed nor subsumed: no entry names the receiver whole
//!   (`self` carries no parameter label), so there is nothing to cover them.

use rustc_hash::FxHashMap;
use rustc_hash::FxHashSet;

use super::summary::{field_of, ParamSink, Summary, RECEIVER};

/// Distinct field parameters of one parameter a summary keeps apart; past it they are collapsed
/// into the parameter (`collapse_fields`). Chosen from sympy and Django (see bench/README.md's
/// `scale` row): no Django summary reaches it.
pub(super) const MAX_FIELDS_PER_PARAM: usize = 16;

/// The whole parameter a field parameter belongs to, if it can stand for it (not the receiver).
fn whole_of(param: usize) -> Option<usize> {
    field_of(param).map(|(slot, _)| slot).filter(|&slot| slot != RECEIVER)
}

/// Collapses the fields of parameters with more than `MAX_FIELDS_PER_PARAM` of them, then drops
/// the field entries their whole parameter's entries cover. Returns the parameters collapsed.
pub(super) fn compact_fields(summary: &mut Summary) -> u32 {
    let collapsed = collapse_fields(summary, MAX_FIELDS_PER_PARAM);
    drop_subsumed_fields(summary);
    collapsed
}

/// The parameters of each entry that names one (the targets of flows are never field params).
fn named_params(summary: &Summary) -> impl Iterator<Item = usize> + '_ {
    let returns = summary.param_returns.iter().map(|entry| entry.0);
    let sinks = summary.param_sinks.iter().map(|sink| sink.param);
    let flows = summary.param_flows.iter().map(|flow| flow.2);
    let exports = summary.param_exports.iter().map(|export| export.0);
    returns.chain(sinks).chain(flows).chain(exports)
}

/// Rewrites every field parameter of a parameter with more than `limit` distinct ones into the
/// parameter itself (duplicates removed). Returns how many parameters were collapsed.
pub(super) fn collapse_fields(summary: &mut Summary, limit: usize) -> u32 {
    let mut fields: FxHashMap<usize, FxHashSet<usize>> = FxHashMap::default();
    for param in named_params(summary) {
        if let Some(whole) = whole_of(param) {
            fields.entry(whole).or_default().insert(param);
        }
    }
    fields.retain(|_, of| of.len() > limit);
    if fields.is_empty() {
        return 0;
    }
    let into = |param: usize| -> usize { whole_of(param).filter(|whole| fields.contains_key(whole)).unwrap_or(param) };
    for entry in &mut summary.param_returns {
        entry.0 = into(entry.0);
    }
    for sink in &mut summary.param_sinks {
        sink.param = into(sink.param);
    }
    for flow in &mut summary.param_flows {
        flow.2 = into(flow.2);
    }
    for flow in &mut summary.param_flow_steps {
        flow.2 = into(flow.2);
    }
    for export in &mut summary.param_exports {
        export.0 = into(export.0);
    }
    dedup_entries(summary);
    fields.len() as u32
}

/// Of entries equal but for their steps, keeps the one with the fewest steps (the first of
/// those), as `solver::widen` does; entries stay sorted as `Summary::sort_entries` leaves them.
fn dedup_entries(summary: &mut Summary) {
    summary.sort_entries();
    summary.param_returns.sort_by_key(|(param, cleared, normalized, steps)| (*param, *cleared, *normalized, steps.len()));
    summary.param_returns.dedup_by_key(|(param, cleared, normalized, _)| (*param, *cleared, *normalized));
    let sink_key = |s: &ParamSink| (s.param, s.kind, s.cwe, s.cleared, s.sink, s.render.clone());
    summary.param_sinks.sort_by(|a, b| sink_key(a).cmp(&sink_key(b)).then(a.steps.len().cmp(&b.steps.len())));
    summary.param_sinks.dedup_by(|later, earlier| sink_key(later) == sink_key(earlier));
    summary.param_flows.sort();
    summary.param_flows.dedup();
    summary.param_flow_steps.sort_by(|a, b| (a.0, &a.1, a.2, a.3.len()).cmp(&(b.0, &b.1, b.2, b.3.len())));
    summary.param_flow_steps.dedup_by(|later, earlier| (later.0, &later.1, later.2) == (earlier.0, &earlier.1, earlier.2));
    summary.param_exports.sort();
    summary.param_exports.dedup();
}

/// Drops every field parameter's entry whose whole parameter has the same entry (see the module
/// invariants). Returns the entries dropped.
pub(super) fn drop_subsumed_fields(summary: &mut Summary) -> usize {
    let before = entry_count(summary);
    let returns: FxHashSet<(usize, u32, bool)> = summary.param_returns.iter().map(|(p, c, n, _)| (*p, *c, *n)).collect();
    summary.param_returns.retain(|(p, c, n, _)| !whole_of(*p).is_some_and(|whole| returns.contains(&(whole, *c, *n))));
    let sink_key = |s: &ParamSink, param: usize| (param, s.kind, s.cwe, s.cleared, s.sink, s.render.clone());
    let sinks: FxHashSet<_> = summary.param_sinks.iter().map(|s| sink_key(s, s.param)).collect();
    summary.param_sinks.retain(|s| !whole_of(s.param).is_some_and(|whole| sinks.contains(&sink_key(s, whole))));
    let flows: FxHashSet<(usize, String, usize)> = summary.param_flows.iter().cloned().collect();
    let covered_flow = |target: usize, suffix: &String, source: usize| {
        whole_of(source).is_some_and(|whole| flows.contains(&(target, suffix.clone(), whole)))
    };
    summary.param_flow_steps.retain(|(target, suffix, source, _)| !covered_flow(*target, suffix, *source));
    summary.param_flows.retain(|(target, suffix, source)| !covered_flow(*target, suffix, *source));
    // Sorted (as `collect_exports` leaves them: then this costs one pass), the whole
    // parameter's entries are found by binary search.
    summary.param_exports.sort();
    summary.param_exports.dedup();
    let exports = &summary.param_exports;
    let covered: Vec<bool> = exports
        .iter()
        .map(|(p, c, n, owner, by_owner, path)| {
            whole_of(*p).is_some_and(|whole| {
                exports.binary_search_by(|e| (e.0, e.1, e.2, &e.3, e.4, &e.5).cmp(&(whole, *c, *n, owner, *by_owner, path))).is_ok()
            })
        })
        .collect();
    let mut index = 0;
    summary.param_exports.retain(|_| {
        index += 1;
        !covered[index - 1]
    });
    before - entry_count(summary)
}

fn entry_count(summary: &Summary) -> usize {
    summary.param_returns.len()
        + summary.param_sinks.len()
        + summary.param_flows.len()
        + summary.param_flow_steps.len()
        + summary.param_exports.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::taint::analyze_text;
    use crate::taint::summary::{attribute_hash, field_param};

    fn field(param: usize, attribute: &str) -> usize {
        field_param(param, attribute_hash(attribute)).expect("a slot")
    }

    fn export(param: usize, path: &str) -> (usize, u32, bool, std::sync::Arc<str>, bool, crate::taint::path_key::PathKey) {
        (param, 0, false, "app.f".into(), true, crate::taint::path_key::PathKey::new(path))
    }

    #[test]
    fn a_field_entry_the_whole_parameter_covers_is_dropped() {
        // `ctx.req` and `ctx` both returned: the caller's argument, passed whole, holds what is
        // under `.req` too, so the field's entry adds nothing.
        let text = "def f(ctx, flag):\n    if flag:\n        return ctx.req\n    return ctx\n";
        let (summaries, _) = analyze_text(text);
        let returned: Vec<usize> = summaries["app.f"].param_returns.iter().map(|entry| entry.0).collect();
        assert_eq!(returned, vec![0]);
        // Alone, the field keeps its entry (the object's other attributes do not reach it).
        let (summaries, _) = analyze_text("def f(ctx, flag):\n    return ctx.req\n");
        let returned: Vec<usize> = summaries["app.f"].param_returns.iter().map(|entry| entry.0).collect();
        assert_eq!(returned, vec![field(0, "req")]);
    }

    #[test]
    fn a_parameter_passed_on_passes_its_fields_with_the_clearances_it_has() {
        // `quoted` passes its parameter sanitised for commands: `run`'s `ctx.cmd` is bound to
        // the attribute of what `ctx` holds there, sanitised too (as `ctx` passed whole is), so
        // the field binding never carries more than the whole one.
        let text = "import os\nimport shlex\n\ndef run(ctx):\n    os.system(ctx.cmd)\n\ndef plain(ctx):\n    run(ctx)\n\ndef quoted(ctx):\n    ctx = shlex.quote(ctx)\n    run(ctx)\n";
        let (summaries, _) = analyze_text(text);
        let sinks = |name: &str| summaries[name].param_sinks.iter().map(|sink| sink.param).collect::<Vec<_>>();
        assert_eq!(sinks("app.run"), vec![field(0, "cmd")]);
        assert_eq!(sinks("app.plain"), vec![field(0, "cmd")]);
        assert_eq!(sinks("app.quoted"), Vec::<usize>::new());
    }

    #[test]
    fn subsumption_needs_the_same_target_and_clearances() {
        let mut summary = Summary {
            param_returns: vec![(0, 0, false, vec![]), (field(0, "a"), 0, false, vec![]), (field(0, "b"), 4, false, vec![])],
            param_exports: vec![export(0, "x"), export(field(0, "a"), "x"), export(field(0, "a"), "y"), export(field(1, "a"), "x")],
            param_flows: vec![(1, ".k".into(), 0), (1, ".k".into(), field(0, "a")), (RECEIVER, ".k".into(), field(0, "a"))],
            ..Summary::default()
        };
        summary.param_exports.sort();
        assert_eq!(drop_subsumed_fields(&mut summary), 3);
        // Other clearances, other places, another parameter, another flow target stay.
        assert_eq!(summary.param_returns.iter().map(|e| e.0).collect::<Vec<_>>(), vec![0, field(0, "b")]);
        let mut exports: Vec<(usize, &str)> = summary.param_exports.iter().map(|e| (e.0, e.5.as_str())).collect();
        exports.sort();
        assert_eq!(exports, vec![(0, "x"), (field(0, "a"), "y"), (field(1, "a"), "x")]);
        assert_eq!(summary.param_flows, vec![(1, ".k".into(), 0), (RECEIVER, ".k".into(), field(0, "a"))]);
    }

    #[test]
    fn the_receivers_fields_are_never_collapsed() {
        let fields: Vec<usize> = (0..40).map(|index| field_param(RECEIVER, index).expect("the receiver's slot")).collect();
        let mut summary = Summary { param_returns: fields.iter().map(|&param| (param, 0, false, vec![])).collect(), ..Summary::default() };
        assert_eq!(collapse_fields(&mut summary, 16), 0);
        assert_eq!(summary.param_returns.len(), 40);
    }

    #[test]
    fn past_the_bound_a_parameters_fields_become_the_parameter_keeping_the_shortest_steps() {
        let step = |start: usize| crate::taint::lattice::TraceStep { file: 0, start, end: start + 1, kind: "call", description: "".into() };
        let mut summary = Summary {
            param_returns: vec![(field(0, "a"), 0, false, vec![step(1), step(2)]), (field(0, "b"), 0, false, vec![step(3)])],
            param_sinks: vec![],
            param_exports: vec![
                export(field(0, "a"), "x"),
                export(field(0, "b"), "x"),
                export(field(0, "c"), "y"),
                export(field(1, "a"), "x"),
            ],
            ..Summary::default()
        };
        assert_eq!(collapse_fields(&mut summary, 3), 0, "three fields are within a bound of three");
        assert_eq!(collapse_fields(&mut summary, 2), 1);
        assert_eq!(summary.param_returns.len(), 1);
        assert_eq!(summary.param_returns[0].0, 0);
        assert_eq!(summary.param_returns[0].3, vec![step(3)]);
        let exports: Vec<(usize, &str)> = summary.param_exports.iter().map(|e| (e.0, e.5.as_str())).collect();
        assert_eq!(exports, vec![(0, "x"), (0, "y"), (field(1, "a"), "x")], "parameter 1 has one field: kept");
    }
}
