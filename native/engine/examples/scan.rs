//! `cargo run --example scan -- PATH...`: prints findings (a debugging aid for the engine).
fn main() {
    let paths: Vec<std::path::PathBuf> = std::env::args().skip(1).map(Into::into).collect();
    let rules = flowsight_engine::rules::RuleSet::builtin();
    let result = flowsight_engine::scan::scan_paths(&paths, None, &rules).expect("scan");
    for finding in &result.findings {
        println!("{}:{}: {} [{}] {}", finding.sink.path, finding.sink.start_line + 1, finding.cwe, finding.rule_id, finding.message);
        for step in &finding.steps {
            println!("    {}:{} {} {}", step.location.path, step.location.start_line + 1, step.kind, step.description);
        }
    }
    eprintln!(
        "{} files, {} scopes, {} findings, {} errors, parse {:.3}s analysis {:.3}s, {} batches in {} sweeps, {} analyses, {} widened, {} incomplete",
        result.files,
        result.functions,
        result.findings.len(),
        result.errors.len(),
        result.parse_seconds,
        result.analysis_seconds,
        result.stats.rounds,
        result.stats.sweeps,
        result.stats.analysed,
        result.stats.widened,
        result.stats.incomplete()
    );
}
