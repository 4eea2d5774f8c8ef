//! Every bound the taint analysis still has errs toward more taint, is counted, and never
//! silences a finding: each input below meets one bound and still gives its finding.

use std::path::Path;

use flowsight_engine::rules::RuleSet;
use flowsight_engine::taint::{AnalysisStats, Finding};
use flowsight_engine::workspace::Workspace;

fn analyse(text: &str) -> (Vec<Finding>, AnalysisStats) {
    let mut workspace = Workspace::new(Path::new("/nonexistent-flowsight-root"));
    workspace.update_file("app.py", text.to_string(), Some(1));
    let findings = workspace.analyze_taint(&RuleSet::builtin());
    (findings, workspace.last_analysis())
}

const HEADER: &str =
    "import os\nimport shlex\nfrom flask import Flask, request\n\napp = Flask(__name__)\n\n\n@app.route('/r')\ndef view():\n";

#[test]
fn many_sanitised_inputs_do_not_hide_a_raw_one() {
    let mut text = HEADER.to_string();
    for index in 0..12 {
        text.push_str(&format!("    quoted_{index} = shlex.quote(request.args['q{index}'])\n"));
    }
    text.push_str("    raw = request.args['raw']\n");
    let terms: Vec<String> = (0..12).map(|index| format!("quoted_{index}")).chain(["raw".to_string()]).collect();
    text.push_str(&format!("    os.system({})\n", terms.join(" + ")));
    let (findings, stats) = analyse(&text);
    let sink_line = text.lines().count() - 1;
    assert_eq!(findings.iter().filter(|f| f.cwe == 78 && f.sink.start_line == sink_line).count(), 1, "{findings:#?}");
    assert!(stats.limits.labels_merged > 0);
    assert!(stats.incomplete() > 0);
}

#[test]
fn an_expression_nested_too_deep_is_read_as_all_of_its_parts() {
    let mut text = HEADER.to_string();
    text.push_str("    value = request.args['q']\n");
    let nested = format!("{}value{}", "(1 + ".repeat(250), ")".repeat(250));
    text.push_str(&format!("    os.system({nested})\n"));
    let (findings, stats) = analyse(&text);
    assert_eq!(findings.iter().filter(|f| f.cwe == 78).count(), 1, "{findings:#?}");
    assert!(stats.limits.expression_depth > 0);
}

#[test]
fn a_long_path_keeps_its_source_and_its_sink_with_the_middle_left_out() {
    let mut text = HEADER.to_string();
    text.push_str("    value_0 = request.args['q']\n");
    for index in 1..60 {
        text.push_str(&format!("    value_{index} = value_{}\n", index - 1));
    }
    text.push_str("    os.system(value_59)\n");
    let (findings, stats) = analyse(&text);
    assert_eq!(findings.len(), 1, "{findings:#?}");
    let steps = &findings[0].steps;
    assert_eq!(steps.first().map(|s| s.kind.as_str()), Some("source"));
    assert_eq!(steps.last().map(|s| s.kind.as_str()), Some("sink"));
    let elided: Vec<&str> = steps.iter().filter(|s| s.kind == "elided").map(|s| s.description.as_str()).collect();
    assert_eq!(elided.len(), 1, "{steps:#?}");
    // 1 source + 60 assignments + argument + sink = 63 steps: 39 shown, 24 behind the marker.
    assert_eq!(steps.len(), 40);
    assert_eq!(elided[0], "24 steps not shown");
    assert!(stats.limits.trace_elided > 0);
}

#[test]
fn a_call_chain_deeper_than_any_round_count_is_solved_in_few_sweeps() {
    let mut text = HEADER.replace("@app.route('/r')\ndef view():\n", "");
    text.push_str("def run_0(command):\n    os.system(command)\n\n\n");
    for index in 1..80 {
        text.push_str(&format!("def run_{index}(command):\n    run_{}(command)\n\n\n", index - 1));
    }
    text.push_str("@app.route('/r')\ndef view():\n    run_79(request.args['q'])\n");
    let (findings, stats) = analyse(&text);
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0].steps.last().map(|s| s.kind.as_str()), Some("sink"));
    // One sweep to find the calls, one to solve them callees first, one to confirm.
    assert!(stats.sweeps <= 3, "{stats:?}");
    // The path (two steps per call) is too long to show whole; nothing else was bounded.
    assert!(stats.limits.trace_elided > 0);
    assert_eq!(stats.incomplete(), stats.limits.trace_elided as usize, "{stats:?}");
}

#[test]
fn a_recursive_helper_composing_container_places_converges_and_keeps_its_flow() {
    // Each analysis of `keep` stores one projection deeper than the last (`ys[0]`, then
    // `xs[1][0]`, `ys[1][1][0]`, …): places are cut after four projections, so the summary
    // stops growing, and the taint stored into the cut place still reaches the sink.
    let mut text = HEADER.replace("@app.route('/r')\ndef view():\n", "");
    text.push_str("def keep(coeff, factors):\n    if coeff:\n        keep(factors[1], coeff)\n    factors[0] = coeff\n\n\n");
    text.push_str("@app.route('/r')\ndef view():\n    data = [None, None]\n");
    text.push_str("    keep(data, request.args['q'])\n    os.system(data[1][1][1][1][0])\n");
    let (findings, stats) = analyse(&text);
    assert_eq!(findings.iter().filter(|f| f.cwe == 78).count(), 1, "{findings:#?}");
    assert!(stats.analyses < 50, "{stats:?}");
    assert!(stats.limits.places_cut > 0, "{stats:?}");
}

#[test]
fn a_recursive_function_swapping_its_arguments_converges() {
    // sympy's `_keep_coeff`: each analysis finds the flows of both parameters in the other
    // order; summaries keep their entries sorted, so the places shown do not alternate forever.
    let mut text = HEADER.replace("@app.route('/r')\ndef view():\n", "");
    text.push_str("def keep(coeff, factors):\n    if coeff:\n        return [keep(c, coeff) for c in factors]\n");
    text.push_str("    margs = list(factors)\n    margs[0] *= coeff\n    return margs\n\n\n");
    text.push_str("@app.route('/r')\ndef view():\n    os.system(keep(request.args['q'], [1])[0])\n");
    let (findings, stats) = analyse(&text);
    assert_eq!(findings.iter().filter(|f| f.cwe == 78).count(), 1, "{findings:#?}");
    assert!(stats.analyses < 50, "{stats:?}");
}

#[test]
fn a_write_past_the_place_bound_taints_the_prefix_it_stands_under() {
    // `config.a.b.c.d` has four projections, one more than a place keeps: the write is a weak
    // update of `config.a.b.c`, so reading any part of it (here `config.a.b.c.e`, itself cut
    // to the same prefix) still carries the taint, and the cut is counted.
    let mut text = HEADER.to_string();
    text.push_str("    config = Config()\n    config.a.b.c.d = request.args['q']\n    os.system(config.a.b.c.e)\n");
    let (findings, stats) = analyse(&text);
    assert_eq!(findings.iter().filter(|f| f.cwe == 78).count(), 1, "{findings:#?}");
    assert!(stats.limits.places_cut > 0, "{stats:?}");
    assert!(stats.incomplete() > 0);
}

#[test]
fn a_parameter_read_in_too_many_attributes_is_read_whole() {
    // `run` reads 17 attributes of `ctx`, one more than a summary keeps apart per parameter
    // (`fields::MAX_FIELDS_PER_PARAM`): they are collapsed into `ctx` itself, so the request
    // stored in an attribute `run` never reads reaches its sink too — more taint, counted.
    let mut text = HEADER.replace("@app.route('/r')\ndef view():\n", "");
    let attributes: Vec<String> = (0..17).map(|index| format!("ctx.a{index}")).collect();
    text.push_str(&format!("def run(ctx):\n    os.system({})\n\n\n", attributes.join(" + ")));
    text.push_str("class Ctx:\n    pass\n\n\n");
    text.push_str("@app.route('/r')\ndef view():\n    ctx = Ctx()\n    ctx.unread = request.args['q']\n    run(ctx)\n");
    let (findings, stats) = analyse(&text);
    assert_eq!(findings.iter().filter(|f| f.cwe == 78).count(), 1, "{findings:#?}");
    assert_eq!(stats.limits.fields_collapsed, 1, "{stats:?}");
    assert!(stats.incomplete() >= 1);
    // Within the bound, the attributes stay apart: the unread one reaches nothing.
    let text = text.replace(" + ctx.a16", "");
    let (findings, stats) = analyse(&text);
    assert!(findings.iter().all(|f| f.cwe != 78), "{findings:#?}");
    assert_eq!(stats.limits.fields_collapsed, 0, "{stats:?}");
}

#[test]
fn a_field_entry_dropped_for_its_whole_parameter_still_reaches_the_caller() {
    // `run` sinks `ctx` and `ctx.cmd` at one place: only `ctx`'s entry is kept, and the
    // request stored in `ctx.cmd` by the caller reaches the sink through it.
    let mut text = HEADER.replace("@app.route('/r')\ndef view():\n", "");
    text.push_str("def run(ctx, flag):\n    os.system(ctx.cmd if flag else ctx)\n\n\n");
    text.push_str("class Ctx:\n    pass\n\n\n");
    text.push_str("@app.route('/r')\ndef view():\n    ctx = Ctx()\n    ctx.cmd = request.args['q']\n    run(ctx, True)\n");
    let (findings, stats) = analyse(&text);
    assert_eq!(findings.iter().filter(|f| f.cwe == 78).count(), 1, "{findings:#?}");
    assert_eq!(stats.incomplete(), 0, "{stats:?}");
}

#[test]
fn comprehensions_nested_past_the_cfg_bound_are_evaluated_whole_in_their_step() {
    // 40 nested comprehensions: the 32 outer ones get regions, the deeper ones are evaluated
    // inside the step holding them (`flattened_scopes`), and the input still reaches the sink.
    let mut text = HEADER.to_string();
    text.push_str("    value = request.args['q']\n");
    let nested = (0..40).fold("value".to_string(), |inner, level| format!("[{inner} for x{level} in [1]]"));
    text.push_str(&format!("    os.system(str({nested}))\n"));
    let (findings, stats) = analyse(&text);
    assert_eq!(findings.iter().filter(|f| f.cwe == 78).count(), 1, "{findings:#?}");
    assert!(stats.limits.flattened_scopes > 0, "{stats:?}");
    assert!(stats.incomplete() > 0);
    // Within the bound nothing is counted.
    let shallow = (0..3).fold("value".to_string(), |inner, level| format!("[{inner} for x{level} in [1]]"));
    let (findings, stats) = analyse(&format!("{HEADER}    value = request.args['q']\n    os.system(str({shallow}))\n"));
    assert_eq!(findings.iter().filter(|f| f.cwe == 78).count(), 1, "{findings:#?}");
    assert_eq!(stats.limits.flattened_scopes, 0, "{stats:?}");
}

#[test]
fn a_call_with_more_candidate_callees_than_the_bound_is_an_unknown_call_and_counted() {
    // A computed key over a dispatch table of 9 functions, one more than
    // `program::MAX_CANDIDATES`: the call is unknown — the argument flows into its result (the
    // sink after it is reached), the candidates' own sinks are not reached through it — and the
    // view is counted in `callees_bounded`.
    let handlers = |count: usize| -> String {
        let mut text = String::from("import os\nfrom flask import Flask, request\n\napp = Flask(__name__)\n\n\n");
        for index in 0..count {
            text.push_str(&format!("def handler_{index}(value):\n    os.system(value)\n    return value\n\n\n"));
        }
        let entries: Vec<String> = (0..count).map(|index| format!("'h{index}': handler_{index}")).collect();
        text.push_str(&format!("HANDLERS = {{{}}}\n\n\n", entries.join(", ")));
        text.push_str("@app.route('/r')\ndef view():\n    result = HANDLERS[request.args['k']](request.args['q'])\n    os.popen(result)\n");
        text
    };
    let text = handlers(9);
    let popen = text.lines().position(|line| line == "    os.popen(result)").unwrap();
    let (findings, stats) = analyse(&text);
    let sink_lines = |findings: &[Finding]| -> Vec<usize> {
        let mut lines: Vec<usize> = findings.iter().filter(|f| f.cwe == 78).map(|f| f.sink.start_line).collect();
        lines.sort_unstable();
        lines.dedup();
        lines
    };
    assert_eq!(sink_lines(&findings), vec![popen], "only the sink after the unknown call: {findings:#?}");
    assert_eq!(stats.limits.callees_bounded, 1, "{stats:?}");
    assert!(stats.incomplete() >= 1);
    // Within the bound every candidate is reached, nothing is counted.
    let (findings, stats) = analyse(&handlers(8));
    assert_eq!(sink_lines(&findings).len(), 9, "each handler's sink and the one after: {findings:#?}");
    assert_eq!(stats.limits.callees_bounded, 0, "{stats:?}");
}
